#!/usr/bin/env bash
# scripts/run-demo.sh: installs the Debian 12 packages, builds the `paydist` binary (Release,
# build/), replays the bundled sample stream docs/sample-events.jsonl into a fresh
# ./demo-state and ./demo-out, and shows what came out. Safe to run again: it starts over.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${PAYDIST_JOBS:-2}"
sample=docs/sample-events.jsonl
state=demo-state
out=demo-out
build="${PAYDIST_BUILD_DIR:-build}"
paydist="$build/daemon/paydist"

section() { printf '\n==== %s ====\n' "$*"; }

# Pretty-prints JSON when python3 is around; prints it as it is otherwise.
show_json() {
  if command -v python3 >/dev/null 2>&1; then python3 -m json.tool; else cat; fi
}

section "setup: Debian 12 packages"
bash scripts/setup-debian.sh

section "build: Release, target paydist"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs" --target paydist

section "replay: $sample ($(grep -c . "$sample") messages) into ./$state and ./$out"
rm -rf "$state" "$out"
"$paydist" replay --state "$state" --out "$out" "$sample"

section "outputs (one JSON object a line)"
for file in activities distributions rejects; do
  path="$out/$file.jsonl"
  count=0
  [ -f "$path" ] && count=$(grep -c . "$path" || true)
  printf '%-30s %4s lines\n' "$path" "$count"
done
echo
echo "activities by type:"
if [ -f "$out/activities.jsonl" ]; then
  grep -o '"type":"[A-Z_]*"' "$out/activities.jsonl" | sort | uniq -c | sed 's/"type"://'
fi
echo
echo "first activity, distribution and reject:"
for file in activities distributions rejects; do
  [ -f "$out/$file.jsonl" ] && head -n 1 "$out/$file.jsonl" | cut -c1-300
done

for account in ACC5 ACC8; do
  section "inspect: account $account"
  "$paydist" inspect --state "$state" account "$account" | show_json
done

section "explain: account ACC5 (what happened, and which rule fired)"
"$paydist" explain --state "$state" account ACC5

section "again: replaying the same file adds nothing"
"$paydist" replay --state "$state" --out "$out" "$sample"
wc -l "$out"/*.jsonl

echo
echo "Done. Try: $paydist inspect --state $state account ACC1"
echo "     and: $paydist explain --state $state account ACC1"
