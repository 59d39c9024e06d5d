#!/usr/bin/env bash
# scripts/setup-debian.sh: installs everything paydist builds, tests and runs with,
# from Debian 12 packages only. Idempotent: safe to run again on a ready machine.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libfmt-dev libspdlog-dev
  libsimdjson-dev libtomlplusplus-dev libcli11-dev
  liblmdb-dev lmdb-utils
  librdkafka-dev
  libboost-dev libboost-system-dev
  libsystemd-dev systemd
  libssl-dev
  libjemalloc-dev            # the allocator of paydist and paydistd (PAYDIST_JEMALLOC)
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev   # clang 14 and its libFuzzer/sanitizer runtimes (tests/fuzz, -fsanitize=fuzzer)
  time
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup-debian: installing ${missing[*]}"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
