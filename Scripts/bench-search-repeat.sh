#!/usr/bin/env bash
# Does the maximum-rate search settle? Runs the single-node 1 KiB acks=1 max-rate workload N times (default 3),
# each on a fresh local node, and prints every rate found and the spread (max - min) / median.
#   Scripts/bench-search-repeat.sh [--runs N] [--output DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
output="Reports/search-repeat-$(date -u +%Y%m%d-%H%M%S)"
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    *) echo "bench-search-repeat.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
swift build -c release --product crucible 2>&1 | { grep -E "error|Build" || true; }
for i in $(seq 1 "$runs"); do
  .build/release/crucible bench Workloads/single-node.yaml --nodes 1 --skip-calibration --output "$output/run-$i" \
    2>&1 | grep -E "maximum sustainable rate|result:" || true
done
python3 - "$output" <<'PY'
import glob, json, statistics, sys
rates = []
for path in sorted(glob.glob(f"{sys.argv[1]}/run-*/*.json")):
    if path.endswith("summary.json"):
        continue
    rates.append(json.load(open(path))["crucible"]["maxSustainableRate"])
median = statistics.median(rates)
spread = (max(rates) - min(rates)) / median
line = f"max sustainable rates: {', '.join(f'{r:,.0f}' for r in rates)} msg/s; spread (max-min)/median {spread:.1%}"
print(line)
open(f"{sys.argv[1]}/search-repeat.txt", "w").write(line + "\n")
PY
