#!/usr/bin/env bash
# scripts/test.sh: the whole check, as CI runs it (.ci/run). Installs the Debian 12 packages,
# builds Release in build/ and runs every test, then builds the Asan type (AddressSanitizer +
# UndefinedBehaviorSanitizer) in build-asan/ and runs every test again. Exits non-zero
# unless both pass. From a clean tree: about 17 CPU-minutes, so about 10 minutes on an idle
# 2-core machine (22 minutes measured on a 2-core machine shared with other builds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${PAYDIST_JOBS:-2}"
build="${PAYDIST_BUILD_DIR:-build}"            # overridable so a developer can keep their own
build_asan="${PAYDIST_ASAN_BUILD_DIR:-build-asan}"
started=$(date +%s)

section() {
  printf '\n==== %s (%ss) ====\n' "$*" "$(( $(date +%s) - started ))"
}

section "setup: Debian 12 packages"
bash scripts/setup-debian.sh

section "Release: configure and build in $build/"
# The fault points (connectors/fault_point.h) are compiled in here for the crash campaign.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPAYDIST_FAULT_INJECTION=ON
cmake --build "$build" -j"$jobs"

section "Release: tests"
release_status=0
ctest --test-dir "$build" --output-on-failure -j"$jobs" || release_status=$?

section "Asan: configure and build in $build_asan/"
# Benchmarks are not built here: their numbers under sanitizers mean nothing.
cmake -S . -B "$build_asan" -DCMAKE_BUILD_TYPE=Asan -DPAYDIST_BUILD_BENCH=OFF
cmake --build "$build_asan" -j"$jobs"

section "Asan: tests"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
asan_status=0
ctest --test-dir "$build_asan" --output-on-failure -j"$jobs" || asan_status=$?

section "summary"
# The crash campaign's tally (tests/crash/), from the Release run's log.
grep -h '^crash-campaign:' "$build"/Testing/Temporary/LastTest*.log 2>/dev/null | tail -1 || true
verdict() { [ "$1" -eq 0 ] && echo "passed" || echo "FAILED (ctest exit $1)"; }
echo "Release tests: $(verdict "$release_status")"
echo "Asan tests:    $(verdict "$asan_status")"
echo "total time:    $(( $(date +%s) - started ))s"
[ "$release_status" -eq 0 ] && [ "$asan_status" -eq 0 ]
