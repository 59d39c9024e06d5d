#!/usr/bin/env bash
# bench/generate_bench.sh: measures `paydist generate` (issue 5: 10 million lines in under a
# minute). Builds Release, finds how many accounts give about LINES lines over DAYS days (from
# a small run of the same generator), then times one run into a file and one into /dev/null
# and prints lines, seconds and lines/s.
#   bench/generate_bench.sh                    # 10,000,000 lines over 90 days
#   LINES=1000000 DAYS=365 bench/generate_bench.sh
#   BUILD_DIR=/tmp/b SEED=7 bench/generate_bench.sh   # an existing build tree is used as it is
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
seed="${SEED:-1}"
lines="${LINES:-10000000}"
days="${DAYS:-90}"
sample_accounts=20000
work="$(mktemp -d "${TMPDIR:-/tmp}/paydist-generate-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "bench: building Release in $build"
if [ -f "$build/CMakeCache.txt" ]; then
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" || {
    echo "bench: $build is not a Release build" >&2
    exit 2
  }
  cmake -S "$root" -B "$build" >/dev/null
else
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPAYDIST_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target paydist >/dev/null
paydist="$build/daemon/paydist"

# Lines per account depend on the stories, not on the number of accounts: measure, then scale.
sample=$("$paydist" generate --seed "$seed" --accounts "$sample_accounts" --days "$days" 2>&1 >/dev/null |
  sed -nE 's/^generate: lines=([0-9]+) .*/\1/p')
accounts=$(( lines * sample_accounts / sample ))
echo "bench: $sample lines for $sample_accounts accounts over $days days; $accounts accounts for about $lines lines"

# Runs `paydist generate` with its output to $1; prints one row of the table.
run() {
  local out="$1" start end
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/rss" "$paydist" generate --seed "$seed" --accounts "$accounts" --days "$days" \
      --out "$out" 2>"$work/err"
  else
    "$paydist" generate --seed "$seed" --accounts "$accounts" --days "$days" --out "$out" 2>"$work/err"
    echo "-" >"$work/rss"
  fi
  end=$(date +%s.%N)
  local made seconds rss mib=0
  made=$(sed -nE 's/^generate: lines=([0-9]+) .*/\1/p' "$work/err")
  seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
  rss=$(cat "$work/rss")
  [ "$rss" != "-" ] && rss=$(( rss / 1024 ))
  [ -f "$out" ] && mib=$(( $(stat -c %s "$out") / 1048576 ))
  printf '%-10s %9s %5s %10s %8s %12s %10s %11s\n' "$2" "$accounts" "$days" "$made" "$seconds" \
    "$(awk -v n="$made" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')" "$mib" "$rss"
  grep '^generate: mix' "$work/err" | sed 's/^/  /'
}

printf '%-10s %9s %5s %10s %8s %12s %10s %11s\n' output accounts days lines seconds lines_per_s output_mib max_rss_mib
run "$work/events.jsonl" file
rm -f "$work/events.jsonl"
run /dev/null /dev/null
