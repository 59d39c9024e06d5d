#!/usr/bin/env bash
# bench/record.sh: runs one benchmark command and keeps its output in bench/results/, headed
# by what a reader needs to trust or repeat it: the date, the commit (and whether the tree
# had uncommitted changes), the machine (nproc, memory, CPU model, load at start and at
# end) and the command.
#   bench/record.sh replay bench/replay_bench.sh 1000000
#   bench/record.sh advance build/bench/paydist_advance_bench --accounts 1000000 --due 10000
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/record.sh NAME COMMAND [ARGS...]" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="$1"
shift
out="$root/bench/results/$name-$(date -u +%Y%m%dT%H%M%SZ).txt"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
{
  echo "# date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# commit:  $commit"
  echo "# machine: nproc=$(nproc) mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
    "cpu=\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\""
  echo "# load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
  env_used=""
  for v in ACCOUNTS DAYS HISTORY SEED DUE REPEAT PARTITIONS RATE ADVANCE_ACCOUNTS INSTANCES CHANGELOG NO_BUILD BUILD_DIR; do [ -n "${!v:-}" ] && env_used+="$v=${!v} "; done
  echo "# command: ${env_used}$*"
  echo
} >"$out"
status=0
"$@" 2>&1 | tee -a "$out" || status=$?
# The load at the end too: on a shared machine, what ran beside the benchmark moves its figures.
{
  echo
  echo "# load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end; exit status $status"
} >>"$out"
echo "bench: kept in ${out#"$root"/}" >&2
exit "$status"
