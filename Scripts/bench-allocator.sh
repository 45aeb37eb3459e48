#!/usr/bin/env bash
# jemalloc against glibc's allocator, and what scraping /metrics every second costs, measured in one run on this
# machine (docs/PERFORMANCE.md):
#   1. two release builds, the default (jemalloc linked) and CRUCIBLE_ALLOCATOR=glibc (in .build-glibc);
#   2. for each, `crucible bench` of the same OMB workload and driver on its own local 3-node cluster: publish
#      rate, broker CPU per message and the brokers' peak RSS, from the result;
#   3. with the jemalloc build, a cluster of `cluster up` benchmarked ROUNDS times over, alternately with its three
#      nodes' /metrics scraped every second (--metrics-url, --period-seconds 1) and without: the publish rate, and
#      the nodes' CPU per message published (their CPU time from /proc across each run), of SCRAPE_WORKLOAD (by
#      default a fixed 50,000 msg/s on 16 partitions, which the cluster sustains either way, so CPU is what moves);
#   4. the CPU one scrape costs a node (200 scrapes back to back, the node's CPU time before and after).
# Usage: Scripts/bench-allocator.sh [WORKLOAD.yaml] [DRIVER.yaml]
#   MINUTES=1, ROUNDS=3 by default; SKIP_BUILD=1 reuses the builds, GLIBC_BIN names a glibc build made elsewhere,
#   SKIP_ALLOCATORS=1 measures the scraping only, SKIP_SCRAPING=1 the allocators only.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKLOAD=${1:-../shared/omb-workloads/workloads/max-rate-1-topic-1-partition-1p-1c-1kb.yaml}
DRIVER=${2:-../shared/omb-workloads/driver-kafka/kafka-throughput.yaml}
MINUTES=${MINUTES:-1}
ROUNDS=${ROUNDS:-3}
SCRAPE_WORKLOAD=${SCRAPE_WORKLOAD:-../shared/omb-workloads/workloads/1-topic-16-partitions-1kb.yaml}
OUT=${OUT:-Reports/bench-allocator-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
if [ -z "${SKIP_BUILD:-}" ]; then
  swift build -c release --product crucible >&2
  CRUCIBLE_ALLOCATOR=glibc swift build -c release --product crucible --scratch-path .build-glibc >&2
fi
JEMALLOC=.build/release/crucible
GLIBC=${GLIBC_BIN:-.build-glibc/release/crucible}  # GLIBC_BIN: a glibc build made elsewhere
ldd "$JEMALLOC" | grep -q jemalloc || { echo "$JEMALLOC does not link jemalloc" >&2; exit 1; }
[ -n "${SKIP_ALLOCATORS:-}" ] || ! ldd "$GLIBC" | grep -q jemalloc || { echo "$GLIBC links jemalloc" >&2; exit 1; }

for allocator in jemalloc glibc; do
  [ -z "${SKIP_ALLOCATORS:-}" ] || break
  bin=$JEMALLOC; [ "$allocator" = glibc ] && bin=$GLIBC
  calibration=(--skip-calibration); [ "$allocator" = jemalloc ] && calibration=()
  "$bin" bench "$WORKLOAD" --driver "$DRIVER" --output "$OUT/$allocator" --test-minutes "$MINUTES" \
    --warmup-minutes 0.5 "${calibration[@]}" >&2
done

# Scraping: one cluster, runs alternating with and without the three nodes' /metrics scraped every second.
if [ -z "${SKIP_SCRAPING:-}" ]; then
dir=$(mktemp -d)
trap '"$JEMALLOC" cluster down --dir "$dir" >/dev/null 2>&1 || true' EXIT
bootstrap=$("$JEMALLOC" cluster up --dir "$dir" --base-port 31092 2>/dev/null | tail -1)
urls=$("$JEMALLOC" cluster status --dir "$dir" --json | python3 -c 'import json,sys; print(" ".join(n["metricsUrl"] for n in json.load(sys.stdin)["nodes"]))')
scrape=(); for url in $urls; do scrape+=(--metrics-url "$url"); done
pids=$("$JEMALLOC" cluster status --dir "$dir" --json | python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(sys.stdin)["nodes"]))')
cpu_seconds() {  # user + system CPU of the cluster's nodes so far
  for pid in $pids; do cut -d')' -f2 "/proc/$pid/stat"; done | awk -v tick="$(getconf CLK_TCK)" '{ sum += $12 + $13 } END { print sum / tick }'
}
for round in $(seq 1 "$ROUNDS"); do
  for mode in unscraped scraped; do
    extra=(); [ "$mode" = scraped ] && extra=("${scrape[@]}")
    before=$(cpu_seconds)
    "$JEMALLOC" bench "$SCRAPE_WORKLOAD" --driver "$DRIVER" --bootstrap-server "$bootstrap" --output "$OUT/$mode-$round" \
      --test-minutes "$MINUTES" --warmup-minutes 0.5 --period-seconds 1 --skip-calibration "${extra[@]}" >&2
    awk -v now="$(cpu_seconds)" -v before="$before" 'BEGIN { printf "{\"nodeCpuSeconds\": %.3f}\n", now - before }' \
      > "$OUT/$mode-$round/cpu.json.txt"
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
fi

python3 - "$OUT" "$MINUTES" "$ROUNDS" "${SKIP_ALLOCATORS:-}" "${SKIP_SCRAPING:-}" <<'PY'
import glob, json, statistics, sys
out, minutes, rounds, skip_allocators, skip_scraping = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def result(name):
    return json.load(open(sorted(glob.glob(f"{out}/{name}/*.json"))[0]))
def rate(r):
    return sum(r["publishRate"]) / len(r["publishRate"])
if not skip_allocators:
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
if skip_scraping:
    sys.exit(0)
# Scraping: per round, the publish rate and the nodes' CPU per message (warm-up and test, at the measured rate).
seconds = (minutes + 0.5) * 60
def round_figures(mode, i):
    r = result(f"{mode}-{i}")
    cpu = json.load(open(f"{out}/{mode}-{i}/cpu.json.txt"))["nodeCpuSeconds"]
    return rate(r), cpu / (rate(r) * seconds) * 1e6
for mode in ("unscraped", "scraped"):
    figures = [round_figures(mode, i) for i in range(1, rounds + 1)]
    print(f"{mode:9s}: publish {', '.join(f'{f[0]:,.0f}' for f in figures)} msg/s (median {statistics.median(f[0] for f in figures):,.0f}); "
          f"nodes' CPU {', '.join(f'{f[1]:.2f}' for f in figures)} µs/msg (median {statistics.median(f[1] for f in figures):.2f})")
scraped = [round_figures("scraped", i) for i in range(1, rounds + 1)]
unscraped = [round_figures("unscraped", i) for i in range(1, rounds + 1)]
print(f"scraping every second: throughput {(statistics.median(s[0] for s in scraped) / statistics.median(u[0] for u in unscraped) - 1) * 100:+.2f}%, "
      f"CPU per message {(statistics.median(s[1] for s in scraped) / statistics.median(u[1] for u in unscraped) - 1) * 100:+.2f}% (medians)")
cost = json.load(open(f"{out}/scrape-cost.json"))
print(f"one scrape: {cost['cpuSecondsPerScrape'] * 1e3:.2f} ms of a node's CPU, {cost['bytes']:,} bytes")
PY
