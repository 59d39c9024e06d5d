#!/usr/bin/env bash
# bench/scale_bench.sh: throughput of 1, 2 and 3 paydistd instances in one consumer group
# (issue 8), side by side in one run. Builds Release (build-bench), generates a stream, starts a
# local `paydist broker`; then for each instance count and repetition: starts the instances
# (each with its own state directory, `[kafka] changelog = true` as several instances need)
# on an empty input topic of their own, waits until the group has settled (every partition
# held, each instance holding some), feeds the stream (zstd) and times from the start of the
# feed to the first poll where, summed over the instances, every message is applied, every lag
# is 0 and every output acknowledged. Prints per count median, min and max, and one line:
#   scale: instances=1 e2e_per_s=N instances=2 e2e_per_s=N instances=3 e2e_per_s=N
# Every instance shares this machine's cores (nproc is printed): more instances on one machine
# measure what the group's split costs, not what more machines would give.
#   bench/scale_bench.sh
#   ACCOUNTS=30000 DAYS=90 PARTITIONS=16 REPEAT=3 INSTANCES="1 2 3" bench/scale_bench.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/bench/lib.sh"
build="${BUILD_DIR:-$root/build-bench}"
accounts="${ACCOUNTS:-30000}"
days="${DAYS:-90}"
partitions="${PARTITIONS:-16}"
seed="${SEED:-7}"
repeat="${REPEAT:-3}"
counts="${INSTANCES:-1 2 3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/paydist-scale.XXXXXX")"
broker_pid=""
pids=()
ports=()
cleanup() {
  for pid in "${pids[@]}"; do stop_process "$pid"; done
  stop_process "$broker_pid"
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "scale-bench: $*" >&2; }

if [ "${NO_BUILD:-0}" != 1 ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPAYDIST_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target paydist paydistd >/dev/null
fi
paydist="$build/daemon/paydist"
paydistd="$build/daemon/paydistd"

"$paydist" generate --seed "$seed" --accounts "$accounts" --days "$days" --out "$work/events.jsonl" 2>"$work/generate.err"
say "$(cat "$work/generate.err")"
# Each run: an input topic and a changelog topic of its own (a changelog is one group's state).
topics=()
for n in $counts; do
  for r in $(seq "$repeat"); do topics+=(--topic "scale.$n.$r.events" --topic "scale.$n.$r.changelog"); done
done
"$paydist" broker --partitions "$partitions" --brokers-file "$work/brokers" "${topics[@]}" >/dev/null 2>"$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/brokers" ] && break; sleep 0.1; done
[ -s "$work/brokers" ] || { cat "$work/broker.err" >&2; exit 1; }
brokers="$(cat "$work/brokers")"

# "IN PARTITIONS LAG OUTBOX MIN_PARTITIONS" summed over the running instances (MIN_PARTITIONS:
# the fewest partitions one instance holds).
scrape_all() {
  local n=0 parts=0 lag=0 outbox=0 fewest=1000000 a b c d
  for port in "${ports[@]}"; do
    read -r a b c d <<<"$(scrape "$port" || echo "0 0 0 -1")"
    n=$((n + a)); parts=$((parts + b)); lag=$((lag + c))
    [ "$d" -lt 0 ] && outbox=1000000 || outbox=$((outbox + d))
    [ "$b" -lt "$fewest" ] && fewest=$b
  done
  echo "$n $parts $lag $outbox $fewest"
}

declare -A rates
for count in $counts; do
  for r in $(seq "$repeat"); do
    run="scale.$count.$r"
    pids=(); ports=()
    for i in $(seq "$count"); do
      dir="$work/$run/i$i"; mkdir -p "$dir"
      cat >"$dir/paydistd.toml" <<EOF
[state]
dir = "$dir/state"
[kafka]
brokers = "$brokers"
group_id = "$run"
changelog = true
[kafka.topics]
events = "$run.events"
changelog = "$run.changelog"
[http]
listen = "127.0.0.1:0"
EOF
      start_paydistd "$paydistd" "$dir"
      pids+=("$started_pid"); ports+=("$started_port")
    done
    # The group settles: every partition held, by every instance (a rebalance moves nothing
    # while the topic is empty, but must be over before the clock starts).
    settled=0
    for _ in $(seq 600); do
      read -r n parts lag outbox fewest <<<"$(scrape_all)"
      if [ "$parts" -eq "$partitions" ] && [ "$fewest" -ge 1 ]; then settled=1; break; fi
      sleep 0.1
    done
    [ "$settled" = 1 ] || { say "$run: the group did not settle ($parts partitions held, fewest $fewest)"; exit 1; }
    sleep 1
    t0=$(date +%s.%N)
    "$paydist" feed --brokers "$brokers" --topic "$run.events" --compression zstd "$work/events.jsonl" \
      2>"$work/$run.feed.err" || { cat "$work/$run.feed.err" >&2; exit 1; }
    t_fed=$(date +%s.%N)
    messages=$(field acknowledged <"$work/$run.feed.err")
    deadline=$((SECONDS + 1800))
    while :; do
      [ "$SECONDS" -lt "$deadline" ] || { say "$run: not caught up in 30 min"; exit 1; }
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { say "$run: an instance stopped"; cat "$work/$run"/i*/paydistd.log >&2; exit 1; }; done
      now=$(date +%s.%N)
      read -r n parts lag outbox fewest <<<"$(scrape_all)"
      [ "$n" -ge "$messages" ] && [ "$parts" -eq "$partitions" ] && [ "$lag" -eq 0 ] && [ "$outbox" -eq 0 ] && break
      sleep 0.05
    done
    for pid in "${pids[@]}"; do stop_process "$pid"; done
    pids=(); ports=()
    rate=$(awk -v m="$messages" -v s="$t0" -v e="$now" 'BEGIN { printf "%.0f", m / (e - s) }')
    rates[$count]="${rates[$count]:-} $rate"
    moved=$(cat "$work/$run"/i*/paydistd.log | awk '/restoring it from/ { s++ } END { print s + 0 }')
    say "$run: $count instance(s), $messages messages in $(awk -v s="$t0" -v e="$now" 'BEGIN { printf "%.2f", e - s }') s" \
      "(feed $(awk -v s="$t0" -v e="$t_fed" 'BEGIN { printf "%.2f", e - s }') s): $rate messages/s;" \
      "restores during the run: $moved"
    rm -rf "${work:?}/$run"
  done
done

echo "input: accounts=$accounts days=$days seed=$seed messages=$messages partitions=$partitions repeat=$repeat nproc=$(nproc)"
line="scale:"
for count in $counts; do
  # shellcheck disable=SC2086
  report "instances=$count e2e_per_s" ${rates[$count]}
  # shellcheck disable=SC2086
  line+=" instances=$count e2e_per_s=$(median ${rates[$count]})"
done
echo "$line"
