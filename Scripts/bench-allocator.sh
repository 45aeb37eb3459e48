#!/usr/bin/env bash
# jemalloc against glibc's allocator, and what scraping /metrics every second costs, measured in one run on this
# machine (docs/PERFORMANCE.md):
#   1. two release builds, the default (jemalloc linked) and CRUCIBLE_ALLOCATOR=glibc (in .build-glibc);
#   2. for each, `crucible bench` of the same OMB workload and driver on its own local 3-node cluster: publish
#      rate, broker CPU per message and the brokers' peak RSS, from the result;
#   3. with the jemalloc build, a cluster of `cluster up` benchmarked twice over, alternately with its three nodes'
#      /metrics scraped every second (--metrics-url, --period-seconds 1) and without;
#   4. the CPU one scrape costs a node (200 scrapes back to back, the node's CPU time before and after).
# Usage: Scripts/bench-allocator.sh [WORKLOAD.yaml] [DRIVER.yaml]   (MINUTES=1 by default; SKIP_BUILD=1 to reuse builds)
set -euo pipefail
cd "$(dirname "$0")/.."
WORKLOAD=${1:-../shared/omb-workloads/workloads/max-rate-1-topic-1-partition-1p-1c-1kb.yaml}
DRIVER=${2:-../shared/omb-workloads/driver-kafka/kafka-throughput.yaml}
MINUTES=${MINUTES:-1}
OUT=${OUT:-Reports/bench-allocator-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
if [ -z "${SKIP_BUILD:-}" ]; then
  swift build -c release --product crucible >&2
  CRUCIBLE_ALLOCATOR=glibc swift build -c release --product crucible --scratch-path .build-glibc >&2
fi
JEMALLOC=.build/release/crucible
GLIBC=${GLIBC_BIN:-.build-glibc/release/crucible}  # GLIBC_BIN: a glibc build made elsewhere
ldd "$JEMALLOC" | grep -q jemalloc || { echo "$JEMALLOC does not link jemalloc" >&2; exit 1; }
! ldd "$GLIBC" | grep -q jemalloc || { echo "$GLIBC links jemalloc" >&2; exit 1; }

for allocator in jemalloc glibc; do
  bin=$JEMALLOC; [ "$allocator" = glibc ] && bin=$GLIBC
  calibration=(--skip-calibration); [ "$allocator" = jemalloc ] && calibration=()
  "$bin" bench "$WORKLOAD" --driver "$DRIVER" --output "$OUT/$allocator" --test-minutes "$MINUTES" \
    --warmup-minutes 0.5 "${calibration[@]}" >&2
done

# Scraping: one cluster, runs alternating with and without the three nodes' /metrics scraped every second.
dir=$(mktemp -d)
trap '"$JEMALLOC" cluster down --dir "$dir" >/dev/null 2>&1 || true' EXIT
bootstrap=$("$JEMALLOC" cluster up --dir "$dir" --base-port 31092 2>/dev/null | tail -1)
urls=$("$JEMALLOC" cluster status --dir "$dir" --json | python3 -c 'import json,sys; print(" ".join(n["metricsUrl"] for n in json.load(sys.stdin)["nodes"]))')
scrape=(); for url in $urls; do scrape+=(--metrics-url "$url"); done
for round in 1 2; do
  for mode in unscraped scraped; do
    extra=(); [ "$mode" = scraped ] && extra=("${scrape[@]}")
    "$JEMALLOC" bench "$WORKLOAD" --driver "$DRIVER" --bootstrap-server "$bootstrap" --output "$OUT/$mode-$round" \
      --test-minutes "$MINUTES" --warmup-minutes 0.5 --period-seconds 1 --skip-calibration "${extra[@]}" >&2
  done
done
# The CPU one scrape costs: node 1's CPU time across 200 scrapes.
pid=$("$JEMALLOC" cluster status --dir "$dir" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0]["pid"])')
first=${urls%% *}
python3 - "$pid" "$first" > "$OUT/scrape-cost.json" <<'PY'
import json, os, sys, time, urllib.request
pid, url = sys.argv[1], sys.argv[2]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
size, before, started = 0, cpu(), time.monotonic()
for _ in range(200):
    size = len(urllib.request.urlopen(url, timeout=10).read())
print(json.dumps({"scrapes": 200, "cpuSecondsPerScrape": (cpu() - before) / 200,
                  "wallSecondsPerScrape": (time.monotonic() - started) / 200, "bytes": size}))
PY
"$JEMALLOC" cluster down --dir "$dir" >/dev/null
trap - EXIT

python3 - "$OUT" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
def result(name):
    return json.load(open(sorted(glob.glob(f"{out}/{name}/*.json"))[0]))
def rate(r):
    return sum(r["publishRate"]) / len(r["publishRate"])
print("allocator  publish msg/s   broker CPU µs/msg   brokers' peak RSS MiB")
rows = {}
for allocator in ("jemalloc", "glibc"):
    r = result(allocator)
    usage = r["crucible"].get("usage") or {}
    cores = sum((usage.get("brokerCores") or {}).values())  # broker cores busy over the test
    rss = sum((usage.get("brokerPeakRSSMB") or {}).values())
    rows[allocator] = rate(r)
    print(f"{allocator:10s} {rate(r):13,.0f}   {cores / max(rate(r), 1) * 1e6:17.2f}   {rss:21,.0f}")
print(f"glibc / jemalloc throughput: {rows['glibc'] / rows['jemalloc']:.3f}")
scraped = [rate(result(f"scraped-{i}")) for i in (1, 2)]
unscraped = [rate(result(f"unscraped-{i}")) for i in (1, 2)]
print(f"scraped every second: {statistics.mean(scraped):,.0f} msg/s; unscraped: {statistics.mean(unscraped):,.0f} msg/s; "
      f"cost {(1 - statistics.mean(scraped) / statistics.mean(unscraped)) * 100:+.2f}% (runs: {scraped} vs {unscraped})")
cost = json.load(open(f"{out}/scrape-cost.json"))
print(f"one scrape: {cost['cpuSecondsPerScrape'] * 1e3:.2f} ms of a node's CPU, {cost['bytes']:,} bytes")
PY
