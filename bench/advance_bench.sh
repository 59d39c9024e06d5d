#!/usr/bin/env bash
# bench/advance_bench.sh: one business-date advance with 10,000 deadlines due, over 100k and
# 1M accounts (so a reader sees the cost follow the deadlines, not the accounts), with the
# audit history kept and not. Builds Release in build-bench; prints paydist_advance_bench's
# summary line per case (median, min, max over 7 advances; apply and synced commit apart).
#   bench/advance_bench.sh
#   ACCOUNTS="100000 1000000 3000000" DUE=10000 bench/advance_bench.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
state="$(mktemp -d "${TMPDIR:-/tmp}/paydist-advance.XXXXXX")"
trap 'rm -rf "$state"' EXIT
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPAYDIST_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target paydist_advance_bench >/dev/null
for history in on off; do
  for accounts in ${ACCOUNTS:-100000 1000000}; do
    "$build/bench/paydist_advance_bench" --accounts "$accounts" --due "${DUE:-10000}" --advances 7 \
      --history "$history" --state "$state/s" | tail -1 | sed "s/^/history=$history /"
  done
done
