# shellcheck shell=bash
# bench/lib.sh: what the benchmark scripts share (sourced, not run): statistics over runs,
# stopping a process they started, starting paydistd and reading its /metrics.
#   source "$root/bench/lib.sh"

# "median min max" of the numbers given (one a word).
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
# NAME VALUES...: one figure's line, "NAME median=M min=L max=H (n=N: VALUES)".
report() {
  local name="$1"; shift
  local med lo hi
  read -r med lo hi <<<"$(stats "$@")"
  printf '%-24s median=%s min=%s max=%s (n=%s: %s)\n' "$name" "$med" "$lo" "$hi" "$#" "$*"
}
median() { stats "$@" | cut -d' ' -f1; }
# KEY: the value of the last KEY=N on stdin.
field() { sed -nE "s/.*[ :]$1=([0-9.]+).*/\1/p" | tail -1; }

# Stops a process this script started: SIGTERM, then SIGKILL after 10 s (never a pid <= 0,
# never by name).
stop_process() {
  local pid="$1"
  [ -n "$pid" ] && [ "$pid" -gt 0 ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# PAYDISTD DIR: starts PAYDISTD on DIR/paydistd.toml (log: DIR/paydistd.log) and waits for
# its HTTP port; sets started_pid and started_port, or prints the log and exits.
start_paydistd() {
  "$1" --config "$2/paydistd.toml" 2>"$2/paydistd.log" >/dev/null &
  started_pid=$!
  started_port=""
  for _ in $(seq 200); do
    started_port=$(sed -nE 's/.*on port ([0-9]+).*/\1/p' "$2/paydistd.log" | head -1)
    [ -n "$started_port" ] && break
    kill -0 "$started_pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$started_port" ] || { cat "$2/paydistd.log" >&2; exit 1; }
}

# PORT: from paydistd's /metrics, "IN_TOTAL PARTITIONS LAG_SUM OUTBOX_DEPTH" (messages applied,
# input partitions held, their lag, outputs not yet acknowledged; -1 when unreadable).
scrape() {
  curl -sf "http://127.0.0.1:$1/metrics" | awk '
    /^paydist_messages_in_total/ { n += $NF }
    /^paydist_consumer_lag/      { parts++; lag += $NF }
    /^paydist_outbox_depth/      { outbox = $NF }
    END { printf "%d %d %d %d\n", n, parts, lag, (outbox == "" ? -1 : outbox) }'
}
