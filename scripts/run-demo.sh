#!/usr/bin/env bash
# scripts/run-demo.sh: the main job on one command (issue 5, item 6). Installs the Debian 12
# packages, builds Release (build/), generates a stream of 10,000 accounts over 90 days,
# starts paydistd on its embedded broker (state in ./demo-state), feeds the stream into the
# input topic, waits until paydistd has applied all of it, and shows what came out:
# activities by type, two broken arrangements explained, /metrics. Then stops paydistd
# (SIGTERM) unless DEMO_KEEP_RUNNING=1. Safe to run again: it starts over.
#   bash scripts/run-demo.sh
#   DEMO_ACCOUNTS=2000 DEMO_DAYS=30 bash scripts/run-demo.sh   # a smaller run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${PAYDIST_JOBS:-2}"
build="${PAYDIST_BUILD_DIR:-build}"
accounts="${DEMO_ACCOUNTS:-10000}"
days="${DEMO_DAYS:-90}"
port="${DEMO_HTTP_PORT:-9464}"
state=demo-state
work=demo-out
paydist="$build/daemon/paydist"
paydistd="$build/daemon/paydistd"

section() { printf '\n==== %s ====\n' "$*"; }

# GET http://127.0.0.1:$port$1 with bash alone (no curl on a fresh machine): the body.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$1" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}
# The sum of a metric's samples.
metric() { http_get /metrics | awk -v name="$1" '$1 == name || index($1, name "{") == 1 { s += $2 } END { print s + 0 }'; }

section "setup: Debian 12 packages"
bash scripts/setup-debian.sh

section "build: Release, targets paydist and paydistd"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs" --target paydist paydistd

section "generate: $accounts accounts over $days days"
rm -rf "$state" "$work"
mkdir -p "$state" "$work"
"$paydist" generate --seed 2026 --accounts "$accounts" --days "$days" --out "$work/events.jsonl"

section "start: paydistd on its embedded broker (state in ./$state, http on 127.0.0.1:$port)"
cat >"$work/paydist.toml" <<EOF
# The demo's configuration: config/paydist.example.toml documents every key.
[state]
dir = "$state"
[kafka]
brokers = "embedded"
[http]
listen = "127.0.0.1:$port"
EOF
"$paydistd" --config "$work/paydist.toml" 2>"$work/paydistd.log" &
daemon=$!
stop_daemon() { kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true; }
trap stop_daemon EXIT
for _ in $(seq 100); do
  [ -s "$state/embedded-brokers" ] && http_get /healthz >/dev/null 2>&1 && break
  kill -0 "$daemon" 2>/dev/null || { cat "$work/paydistd.log"; exit 1; }
  sleep 0.2
done
brokers=$(cat "$state/embedded-brokers")
echo "paydistd pid $daemon, embedded broker at $brokers (log: $work/paydistd.log)"

section "feed: $(wc -l <"$work/events.jsonl") lines into paydist.events"
"$paydist" feed --brokers "$brokers" "$work/events.jsonl"

section "wait: until paydistd has applied everything and the broker has its outputs"
fed=$(grep -c . "$work/events.jsonl")
while :; do
  applied=$(metric paydist_messages_in_total)
  lag=$(metric paydist_consumer_lag)
  depth=$(metric paydist_outbox_depth)
  partitions=$(http_get /metrics | grep -c '^paydist_consumer_lag{' || true)
  printf '\rapplied=%s lag=%s outbox=%s   ' "$applied" "$lag" "$depth"
  [ "$partitions" -gt 0 ] && [ "$lag" = 0 ] && [ "$depth" = 0 ] && [ "$applied" -ge "$fed" ] && break
  kill -0 "$daemon" 2>/dev/null || { echo; cat "$work/paydistd.log"; exit 1; }
  sleep 0.5
done
echo

section "outputs, as the downstream systems receive them"
for topic in wlm.activities paydist.distributions paydist.rejects; do
  "$paydist" tail --brokers "$brokers" --topic "$topic" --until-end >"$work/$topic.jsonl"
  printf '%-24s %7s messages\n' "$topic" "$(grep -c . "$work/$topic.jsonl" || true)"
done
echo
echo "activities by type:"
grep -o '"type":"[A-Z_]*"' "$work/wlm.activities.jsonl" | sort | uniq -c | sort -rn | sed 's/"type"://'

for account in $(grep '"BROKEN_ARRANGEMENT"' "$work/wlm.activities.jsonl" | grep -o '"account_id":"[^"]*"' |
                 cut -d'"' -f4 | sort -u | head -n 2); do
  section "why was an arrangement of $account broken? (paydist explain, last entries)"
  "$paydist" explain --state "$state" account "$account" | tail -n 25
done

section "metrics: http://127.0.0.1:$port/metrics (a few lines)"
http_get /metrics | grep -E '^paydist_(messages_in_total|outputs_total|consumer_lag|commit_seconds_(sum|count))' | head -n 16

if [ "${DEMO_KEEP_RUNNING:-0}" = 1 ]; then
  trap - EXIT
  echo
  echo "paydistd keeps running (pid $daemon): http://127.0.0.1:$port/metrics; stop it with: kill $daemon"
else
  section "stop: SIGTERM (commits, flushes, exits 0)"
  stop_daemon
  trap - EXIT
  echo "stopped. State kept in ./$state: try  $paydist inspect --state $state account <ID>"
fi
