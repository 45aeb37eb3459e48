#!/usr/bin/env bash
# Failover time and replicated produce throughput on a 3-node local cluster (default timeouts), measured in one
# run. Writes DIR/cluster-bench.{json,md} (default DIR: Reports/cluster-bench-<time>).
#   Scripts/bench-cluster.sh [--failovers N] [--messages N] [--output DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
output="Reports/cluster-bench-$(date -u +%Y%m%dT%H%M%SZ)"
args=()
while (($#)); do
  case "$1" in
    --output) output=$2; shift 2 ;;
    --failovers|--messages) args+=("$1" "$2"); shift 2 ;;
    *) echo "bench-cluster.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
swift build -c release --product crucible 2>&1 | { grep -E "error|Build" || true; }
perf=$(Scripts/bench/build-rdkafka-performance.sh "$PWD/.build/bench-tools" 2>/dev/null | tail -1)
CRUCIBLE_BIN="$PWD/.build/release/crucible" python3 Scripts/bench/cluster_bench.py --perf "$perf" --output "$output" "${args[@]}"
