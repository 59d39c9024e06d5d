#!/usr/bin/env bash
# bench/restore_bench.sh: how fast a paydistd rebuilds partitions from the state changelog
# (issue 8). Builds Release (build-bench), generates a stream, feeds it (zstd) to a local
# `paydist broker`, lets paydistd A apply it with `[kafka] changelog = true` and stops it, then
# starts paydistd B in the same group with an empty state directory: B restores every
# partition from the changelog before consuming. Prints, from B's log and state:
#   restore: partitions=P rows=N accounts=A seconds=S rows_per_s=R accounts_per_s=X
# The local broker keeps only 5 MiB of each partition (and does not compact): the changelog
# of the whole stream must fit, or B refuses to restore from a log whose start was deleted.
#   bench/restore_bench.sh
#   ACCOUNTS=4000 DAYS=60 PARTITIONS=16 bench/restore_bench.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
accounts="${ACCOUNTS:-4000}"
days="${DAYS:-60}"
partitions="${PARTITIONS:-16}"
seed="${SEED:-5}"
work="$(mktemp -d "${TMPDIR:-/tmp}/paydist-restore.XXXXXX")"
broker_pid=""; daemon_pid=""
cleanup() {
  for pid in $daemon_pid $broker_pid; do
    [ -n "$pid" ] && [ "$pid" -gt 0 ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "restore-bench: $*" >&2; }
source "$root/bench/lib.sh"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPAYDIST_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target paydist paydistd >/dev/null
paydist="$build/daemon/paydist"
paydistd="$build/daemon/paydistd"

"$paydist" generate --seed "$seed" --accounts "$accounts" --days "$days" --out "$work/events.jsonl" 2>"$work/generate.err"
say "$(cat "$work/generate.err")"
"$paydist" broker --partitions "$partitions" --brokers-file "$work/brokers" --topic paydist.state-changelog \
  >/dev/null 2>"$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/brokers" ] && break; sleep 0.1; done
[ -s "$work/brokers" ] || { cat "$work/broker.err" >&2; exit 1; }
brokers="$(cat "$work/brokers")"
"$paydist" feed --brokers "$brokers" --compression zstd "$work/events.jsonl" 2>"$work/feed.err"
messages=$(sed -nE 's/.*acknowledged=([0-9]+).*/\1/p' "$work/feed.err" | tail -1)
say "fed $messages messages into $partitions partitions"

# $1: the instance's directory. Writes its config and starts it; sets daemon_pid and port.
start_daemon() {
  mkdir -p "$1"
  cat >"$1/paydistd.toml" <<EOF
[state]
dir = "$1/state"
[kafka]
brokers = "$brokers"
group_id = "restore-bench"
changelog = true
[http]
listen = "127.0.0.1:0"
EOF
  start_paydistd "$paydistd" "$1"
  daemon_pid=$started_pid; port=$started_port
}
# $1: the instance's directory, $2: the messages it must have applied itself. Waits until
# every partition is held and applied to its end and every output delivered.
wait_caught_up() {
  local deadline=$((SECONDS + 1800))
  while :; do
    kill -0 "$daemon_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] || { cat "$1/paydistd.log" >&2; exit 1; }
    read -r n parts lag outbox <<<"$(scrape "$port" || echo "0 0 0 -1")"
    [ "$n" -ge "$2" ] && [ "$parts" -eq "$partitions" ] && [ "$lag" -eq 0 ] && [ "$outbox" -eq 0 ] && return
    sleep 0.1
  done
}

start_daemon "$work/a"
wait_caught_up "$work/a" "$messages"
kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
state_kib=$(mdb_stat -e "$work/a/state" | awk '/Page size:/ {p = $3} /Number of pages used:/ {n = $5} END {printf "%d", p * n / 1024}')
say "instance A applied the stream and stopped (its state uses $state_kib KiB)"

# B holds no state: it applies nothing itself, it restores every partition and resumes at its end.
start_daemon "$work/b"
wait_caught_up "$work/b" 0
kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
log="$work/b/paydistd.log"
restored=$(grep -c 'restored from paydist.state-changelog' "$log" || true)
[ "$restored" = "$partitions" ] || { say "B restored $restored of $partitions partitions"; cat "$log" >&2; exit 1; }
rows=$(sed -nE 's/.*restored from paydist.state-changelog: ([0-9]+) rows.*/\1/p' "$log" | awk '{ s += $1 } END { print s }')
# From B's first "restoring it" line to its last "restored" line (log timestamps).
t0=$(grep -m1 'no state here: restoring' "$log" | cut -d' ' -f1)
t1=$(grep 'restored from paydist.state-changelog' "$log" | tail -1 | cut -d' ' -f1)
seconds=$(awk -v s="$(date -d "$t0" +%s.%N)" -v e="$(date -d "$t1" +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
accounts_restored=$("$paydist" inspect --state "$work/b/state" accounts | wc -l)
printf 'restore: partitions=%s rows=%s accounts=%s seconds=%s rows_per_s=%.0f accounts_per_s=%.0f\n' \
  "$partitions" "$rows" "$accounts_restored" "$seconds" \
  "$(awk -v r="$rows" -v s="$seconds" 'BEGIN { print (s > 0 ? r / s : 0) }')" \
  "$(awk -v a="$accounts_restored" -v s="$seconds" 'BEGIN { print (s > 0 ? a / s : 0) }')"
