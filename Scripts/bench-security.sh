#!/usr/bin/env bash
# Throughput over SSL and SASL_SSL beside plaintext, in one run: for each security mode a local 3-node cluster
# (`cluster up --security MODE`), the same OMB workload and Kafka driver with the cluster's client settings added
# to the driver's commonConfig, then one line per mode with the result's publish rate and its ratio to plaintext.
# Usage: Scripts/bench-security.sh [WORKLOAD.yaml] [DRIVER.yaml]   (MINUTES=1 by default; CRUCIBLE_BIN to choose)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CRUCIBLE_BIN:-.build/release/crucible}
WORKLOAD=${1:-../shared/omb-workloads/workloads/max-rate-1-topic-1-partition-1p-1c-1kb.yaml}
DRIVER=${2:-../shared/omb-workloads/driver-kafka/kafka-throughput.yaml}
MINUTES=${MINUTES:-1}
OUT=${OUT:-Reports/bench-security-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
for mode in plaintext ssl sasl_ssl; do
  dir=$(mktemp -d)
  trap '"$BIN" cluster down --dir "$dir" >/dev/null 2>&1 || true' EXIT
  bootstrap=$("$BIN" cluster up --dir "$dir" --security "$mode" --base-port 31092 2>/dev/null | tail -1)
  # The driver file, unchanged but for its name and the cluster's client properties in commonConfig.
  python3 - "$DRIVER" "$dir/client.properties" "$mode" > "$OUT/driver-$mode.yaml" <<'PY'
import sys, os, yaml
driver = yaml.safe_load(open(sys.argv[1]))
extra = open(sys.argv[2]).read() if os.path.exists(sys.argv[2]) else ""
driver["name"] = f"{driver['name']}-{sys.argv[3]}"
driver["commonConfig"] = driver.get("commonConfig", "") + extra
print(yaml.safe_dump(driver, sort_keys=False))
PY
  calibration=(--skip-calibration); [ "$mode" = plaintext ] && calibration=()
  "$BIN" bench "$WORKLOAD" --driver "$OUT/driver-$mode.yaml" --bootstrap-server "$bootstrap" --output "$OUT/$mode" \
    --test-minutes "$MINUTES" --warmup-minutes 0.5 "${calibration[@]}" >&2
  "$BIN" cluster down --dir "$dir" >/dev/null
  trap - EXIT
done
python3 - "$OUT" <<'PY'
import glob, json, sys
rates = {}
for mode in ("plaintext", "ssl", "sasl_ssl"):
    result = json.load(open(sorted(glob.glob(f"{sys.argv[1]}/{mode}/*.json"))[0]))
    rates[mode] = sum(result["publishRate"]) / len(result["publishRate"])
    p99 = sorted(result["publishLatency99pct"])[len(result["publishLatency99pct"]) // 2]
    print(f"{mode:10s} {rates[mode]:12,.0f} msg/s  ratio to plaintext {rates[mode] / rates['plaintext']:.2f}  median p99 publish latency {p99:.1f} ms")
PY
