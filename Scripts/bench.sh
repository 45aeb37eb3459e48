#!/usr/bin/env bash
# The main job on the embedded default: a release build, then `crucible bench Workloads/default.yaml` on a local
# 3-node cluster it starts itself (latency per acks level, maximum rates, compression ratios, failover gaps,
# beside this machine's limits), then on one node: 1 KiB acks=1 at the maximum rate, and the generator check
# (crucible bench against rdkafka_performance, each on a fresh node). Everything goes to DIR.
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

echo "== the generator check: crucible bench and rdkafka_performance, each against a fresh node"
# Each client gets a node of its own, started fresh, for about the same few seconds: a node's ingest rate drops
# by several times once the page cache stops absorbing writes, so back-to-back runs on one node compare states of
# the page cache, not clients. Besides throughput, CPU per message (user + system of the client process).
perf=$(Scripts/bench/build-rdkafka-performance.sh "$PWD/.build/bench-tools" | tail -1)
fresh_node() {
  cluster="$(mktemp -d "${TMPDIR:-/tmp}/crucible-gen-XXXXXX")"
  bootstrap=$("$crucible" cluster up --dir "$cluster" --nodes 1 --base-port 29092 | tail -1)
  "$crucible" topics --bootstrap-server "$bootstrap" --create --topic generator-check --partitions 1 \
    --replication-factor 1 > /dev/null
}
drop_node() { "$crucible" cluster down --dir "$cluster" > /dev/null 2>&1 || true; rm -rf "$cluster"; }
trap drop_node EXIT
fresh_node
/usr/bin/time -f "client_cpu_ms %e %U %S" -o "$output/rdkafka_performance.time" \
  "$perf" -P -t generator-check -b "$bootstrap" -s 1024 -c 3000000 -a 1 -X linger.ms=1 -X batch.size=1048576 \
  > "$output/rdkafka_performance.txt" 2>&1
python3 Scripts/bench/parse_rdkafka_performance.py produce 1024 --client-time "$output/rdkafka_performance.time" \
  < "$output/rdkafka_performance.txt" > "$output/rdkafka_performance.json"
drop_node
fresh_node
"$crucible" bench Workloads/workloads/1kb-produce-saturate.yaml --driver Workloads/drivers/acks-1-rf-1.yaml \
  --bootstrap-server "$bootstrap" --warmup-minutes 0.02 --test-minutes 0.05 --skip-calibration \
  --output "$output/generator-check"
drop_node
python3 - "$output" <<'PY'
import glob, json, sys
out = sys.argv[1]
perf = json.loads(open(f"{out}/rdkafka_performance.json").read().splitlines()[-1])
result = json.load(open(next(f for f in glob.glob(f"{out}/generator-check/*.json") if not f.endswith("summary.json"))))
ours = result["crucible"]["publishRate"]
ours_cpu = result["crucible"]["usage"]["clientCores"] * 1e6 / max(ours, 1)
theirs_cpu = perf["client_cpu_ms"] * 1000 / max(perf["messages"], 1)
line = (f"generator check: crucible bench {ours:,.0f} msg/s, rdkafka_performance {perf['msgs_per_s']:,} msg/s: "
        f"{ours / perf['msgs_per_s']:.2f}; client CPU per message {ours_cpu:.2f} us against {theirs_cpu:.2f} us")
print(line)
open(f"{out}/generator-check.txt", "w").write(line + "\n")
PY
echo "results: $output"
