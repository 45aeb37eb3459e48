#!/usr/bin/env bash
# The gate's false-alarm rate on this machine: measure the unchanged build N times (default 20) and gate each
# measurement against the committed baseline; prints how many passed. Deterministic tier (callgrind), debug build.
#   Scripts/gate-repeat.sh [N] [BASELINE]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
baseline=${2:-Baselines/gate-debug.json}
swift build --product crucible 2>&1 | { grep -E "error|Build" || true; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
for i in $(seq 1 "$runs"); do
  .build/debug/crucible gate --measure "$scratch/candidate-$i.json" --repetitions 1 2>/dev/null >/dev/null
  if .build/debug/crucible gate --baseline "$baseline" --candidate "$scratch/candidate-$i.json" > "$scratch/gate-$i.md" 2>&1; then
    passed=$((passed + 1)); verdict=pass
  else
    verdict=FAIL
  fi
  echo "run $i: $verdict $(grep -o '[+-][0-9.]*%' "$scratch/gate-$i.md" | tr '\n' ' ')"
done
echo "$passed of $runs runs passed against $baseline"
