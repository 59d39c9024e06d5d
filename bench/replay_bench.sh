#!/usr/bin/env bash
# bench/replay_bench.sh: measures `paydist replay` on generated input. Builds Release, writes
# 250k, 500k and 1M lines with paydist_gen_events, replays each into a fresh state and prints
# lines/s and peak RSS, so that a reader can see both the speed and that memory stays flat
# as the input grows.
#   bench/replay_bench.sh                # 250000 500000 1000000 lines
#   bench/replay_bench.sh 100000         # just one size
#   BUILD_DIR=/tmp/b SEED=7 bench/replay_bench.sh
#   ACCOUNTS=100000 bench/replay_bench.sh  # the same accounts at every size (default: lines/10)
#   HISTORY="64 0" bench/replay_bench.sh  # [history] entries_per_account values to compare
#                                         # (default: 64, the default, and 0, none kept)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
seed="${SEED:-1}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(250000 500000 1000000)
work="$(mktemp -d "${TMPDIR:-/tmp}/paydist-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "bench: building Release in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPAYDIST_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target paydist paydist_gen_events >/dev/null
paydist="$build/daemon/paydist"
gen="$build/bench/paydist_gen_events"

# Runs a command and prints "PEAK_RSS_KIB PEAK_ANON_KIB" on fd 3. The peak RSS comes from
# /usr/bin/time -v when installed, else from VmHWM in /proc. RSS counts the pages of the LMDB
# map that the process touched, which grow with the state file; the anonymous part (heap,
# buffers) is what must stay flat, so it is sampled from /proc/PID/status (RssAnon) too.
run_measured() {
  local timed=0
  if [ -x /usr/bin/time ]; then
    timed=1
    /usr/bin/time -v -o "$work/time.txt" "$@" &
  else
    "$@" &
  fi
  local pid=$! target="" hwm=0 anon=0 v
  target=$pid
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$timed" = 1 ] && [ "$target" = "$pid" ]; then
      target=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null | awk '{print $1}')
      [ -n "$target" ] || target=$pid
    fi
    v=$(awk '/^VmHWM/ {print $2}' "/proc/$target/status" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
    v=$(awk '/^RssAnon/ {print $2}' "/proc/$target/status" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt "$anon" ] && anon=$v
    sleep 0.1
  done
  wait "$pid"
  if [ "$timed" = 1 ]; then
    hwm=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  fi
  echo "$hwm $anon" >&3
}

read -r -a histories <<<"${HISTORY:-64 0}"
printf '%-10s %8s %9s %12s %12s %13s %10s %10s\n' lines history seconds lines_per_s max_rss_kib max_anon_kib input_mib state_mib
for n in "${sizes[@]}"; do
  input="$work/events-$n.jsonl"
  "$gen" --lines "$n" --seed "$seed" ${ACCOUNTS:+--accounts "$ACCOUNTS"} --out "$input"
  for history in "${histories[@]}"; do
    printf '[history]\nentries_per_account = %s\n' "$history" >"$work/config.toml"
    rm -rf "$work/state" "$work/out"
    measured=$(run_measured "$paydist" replay --config "$work/config.toml" --state "$work/state" --out "$work/out" "$input" 3>&1 2>"$work/replay.err" >/dev/null) || {
      cat "$work/replay.err" >&2
      exit 1
    }
    summary=$(grep '^replay: lines=' "$work/replay.err" | tail -1)
    seconds=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$summary")
    rate=$(sed -E 's/.* lines_per_s=([0-9]+).*/\1/' <<<"$summary")
    mib=$(( $(stat -c %s "$input") / 1048576 ))
    # The pages the state uses (mdb_stat): data.mdb is as large as the map, reserved ahead.
    state_mib=$(mdb_stat -e "$work/state" | awk '/Page size:/ {p = $3} /Number of pages used:/ {n = $5} END {printf "%d", p * n / 1048576}')
    read -r rss anon <<<"$measured"
    printf '%-10s %8s %9s %12s %12s %13s %10s %10s\n' "$n" "$history" "$seconds" "$rate" "$rss" "$anon" "$mib" "$state_mib"
    echo "  $summary"
  done
done
