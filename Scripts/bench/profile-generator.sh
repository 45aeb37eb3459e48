#!/usr/bin/env bash
# Where the time goes when crucible bench sends as fast as it can: the generator check's workload (1 KiB,
# acks=1, one partition, no consumers) against one local node, with `perf record` sampling the bench process
# and the broker for 10 seconds of the test phase. Writes the top symbols by self time (Swift names demangled)
# and by inclusive time to OUT (default Reports/profile-<time>/).
#   Scripts/bench/profile-generator.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-Reports/profile-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
swift build -c release --product crucible 2>&1 | { grep -E "error|Build" || true; }
crucible="$PWD/.build/release/crucible"
cluster="$(mktemp -d "${TMPDIR:-/tmp}/crucible-profile-XXXXXX")"
trap '"$crucible" cluster down --dir "$cluster" >/dev/null 2>&1 || true; rm -rf "$cluster"' EXIT
bootstrap=$("$crucible" cluster up --dir "$cluster" --nodes 1 --base-port 29292 | tail -1)
"$crucible" bench Workloads/workloads/1kb-produce-saturate.yaml --driver Workloads/drivers/acks-1-rf-1.yaml \
  --bootstrap-server "$bootstrap" --skip-calibration --output "$out/bench" 2> "$out/bench.log" &
bench=$!
# The test phase starts after topic creation and a 3 s warm-up; its first progress line says so.
until grep -q "] test" "$out/bench.log" 2>/dev/null; do
  kill -0 "$bench" 2>/dev/null || { echo "crucible bench ended before its test phase: $out/bench.log" >&2; exit 1; }
  sleep 0.5
done
broker=$(pgrep -f "crucible broker --config $cluster" | head -1)
perf record -F 499 -g -o "$out/generator.data" -p "$bench" -- sleep 10 2> /dev/null &
perf record -F 499 -g -o "$out/broker.data" -p "$broker" -- sleep 10 2> /dev/null
wait "$bench"
for who in generator broker; do
  perf report -i "$out/$who.data" --no-children --sort dso,symbol --stdio 2> /dev/null | grep -v "^$" \
    | swift demangle --simplified | head -80 > "$out/$who-self.txt"
  perf report -i "$out/$who.data" --children --sort symbol --stdio -g none 2> /dev/null | grep -v "^$" \
    | swift demangle --simplified | head -80 > "$out/$who-inclusive.txt"
done
grep -E "test .*msg/s" "$out/bench.log" | tail -3
echo "profiles: $out/generator-self.txt $out/broker-self.txt (and *-inclusive.txt)"
