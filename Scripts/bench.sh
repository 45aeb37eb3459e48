#!/usr/bin/env bash
# The main job on the embedded default: a release build, then `crucible bench Workloads/default.yaml` on a local
# 3-node cluster it starts itself (latency per acks level, maximum rates, compression ratios, failover gaps,
# beside this machine's limits), then on one node: 1 KiB acks=1 at the maximum rate, and the generator check
# (crucible bench against rdkafka_performance on the same node). Everything goes to DIR.
#   Scripts/bench.sh [--output DIR] [--quick]     (--quick: the default set only)
set -euo pipefail
cd "$(dirname "$0")/.."
output="Reports/bench-$(date -u +%Y%m%d-%H%M%S)"
quick=false
while (($#)); do
  case "$1" in
    --output) output=$2; shift 2 ;;
    --quick) quick=true; shift ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
echo "== building (release)"
swift build -c release --product crucible 2>&1 | { grep -E "error|Compiling|Build" || true; }
crucible="$PWD/.build/release/crucible"

echo "== the default set on a local 3-node cluster"
"$crucible" bench Workloads/default.yaml --output "$output/default"
$quick && { echo "results: $output"; exit 0; }

echo "== one node: 1 KiB acks=1 at the maximum rate"
"$crucible" bench Workloads/single-node.yaml --nodes 1 --output "$output/single-node"

echo "== the generator check: crucible bench and rdkafka_performance against the same node"
perf=$(Scripts/bench/build-rdkafka-performance.sh "$PWD/.build/bench-tools" | tail -1)
cluster="$(mktemp -d "${TMPDIR:-/tmp}/crucible-gen-XXXXXX")"
trap '"$crucible" cluster down --dir "$cluster" >/dev/null 2>&1 || true; rm -rf "$cluster"' EXIT
bootstrap=$("$crucible" cluster up --dir "$cluster" --nodes 1 --base-port 29092 | tail -1)
"$crucible" topics --bootstrap-server "$bootstrap" --create --topic generator-check --partitions 1 --replication-factor 1
"$perf" -P -t generator-check -b "$bootstrap" -s 1024 -c 2000000 -a 1 -X linger.ms=1 -X batch.size=1048576 \
  > "$output/rdkafka_performance.txt" 2>&1
python3 Scripts/bench/parse_rdkafka_performance.py produce 1024 < "$output/rdkafka_performance.txt" \
  > "$output/rdkafka_performance.json"
"$crucible" bench Workloads/workloads/1kb-produce-saturate.yaml --driver Workloads/drivers/acks-1-rf-1.yaml \
  --bootstrap-server "$bootstrap" --output "$output/generator-check"
python3 - "$output" <<'PY'
import glob, json, sys
out = sys.argv[1]
perf = json.loads(open(f"{out}/rdkafka_performance.json").read().splitlines()[-1])
result = json.load(open(next(f for f in glob.glob(f"{out}/generator-check/*.json") if not f.endswith("summary.json"))))
ours = result["crucible"]["publishRate"]
line = f"generator check: crucible bench {ours:,.0f} msg/s, rdkafka_performance {perf['msgs_per_s']:,} msg/s: {ours / perf['msgs_per_s']:.2f}"
print(line)
open(f"{out}/generator-check.txt", "w").write(line + "\n")
PY
echo "results: $output"
