#!/usr/bin/env bash
# Single-node produce/consume throughput, measured with librdkafka's rdkafka_performance against a broker this
# script starts itself, beside the limits of this machine measured in the same run: loopback bandwidth (iperf3)
# and disk write bandwidth (dd). Writes DIR/bench.json and DIR/bench.md (default DIR: Reports/bench-<time>).
#   Scripts/bench.sh [--messages-100b N] [--messages-1kb N] [--output DIR] [--profile]
# --profile records the broker with `perf record` during each phase and writes the top symbols to DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
messages_100=3000000
messages_1k=1000000
output="Reports/bench-$(date -u +%Y%m%dT%H%M%SZ)"
profile=false
while (($#)); do
  case "$1" in
    --messages-100b) messages_100=$2; shift 2 ;;
    --messages-1kb) messages_1k=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --profile) profile=true; shift ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$output"
work=$(mktemp -d "${TMPDIR:-/tmp}/crucible-bench-XXXXXX")
broker_pid=""
iperf_pid=""
cleanup() {
  if [ -n "$broker_pid" ]; then kill -9 "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; fi || true
  [ -n "$iperf_pid" ] && kill "$iperf_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building (release)"
swift build -c release --product crucible 2>&1 | { grep -E "error|Build" || true; }
crucible="$root/.build/release/crucible"
[ -x "$crucible" ] || { echo "bench.sh: release build failed" >&2; exit 1; }
perf=$(Scripts/bench/build-rdkafka-performance.sh "$root/.build/bench-tools" 2>/dev/null | tail -1)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== calibrating: loopback bandwidth (iperf3, 5 s)"
iperf_port=$(free_port)
iperf3 -s -p "$iperf_port" -1 >/dev/null 2>&1 & iperf_pid=$!
sleep 0.5
loopback_bps=$(iperf3 -c 127.0.0.1 -p "$iperf_port" -t 5 -J | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
iperf_pid=""
loopback_mbs=$(python3 -c "print(round($loopback_bps/8/1e6, 1))")
echo "   loopback: $loopback_mbs MB/s"

echo "== calibrating: disk write bandwidth (dd, 1 GiB, fdatasync)"
dd_mbs=$(dd if=/dev/zero of="$work/dd.bin" bs=1M count=1024 conv=fdatasync 2>&1 | tail -1 \
  | python3 -c 'import re,sys; t=sys.stdin.read(); m=re.search(r"(\d+) bytes.*copied, ([\d.]+) s", t); print(round(int(m[1])/float(m[2])/1e6,1))')
rm -f "$work/dd.bin"
echo "   disk: $dd_mbs MB/s"

echo "== starting a node"
port=$(free_port)
cat > "$work/server.properties" <<PROPS
node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$work/data
num.partitions=1
PROPS
preload=""
for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2; do
  [ -f "$lib" ] && preload=$lib
done
LD_PRELOAD=$preload "$crucible" broker --config "$work/server.properties" --standalone > "$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
# Peak resident memory of the broker, sampled every 100 ms for the whole run.
( peak=0; while kill -0 "$broker_pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$broker_pid/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo "$peak" > "$work/rss_peak_kb"
    sleep 0.1; done ) &

broker_cpu_ms() {  # user+system CPU the broker has used so far, in ms
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$broker_pid/stat"
}

measure() {  # direction size file -- command...: runs it, appends a JSON line with broker and client CPU
  local direction=$1 size=$2 file=$3; shift 4
  local before after
  before=$(broker_cpu_ms)
  local perf_pid=""
  if $profile; then
    perf record -F 999 -g -p "$broker_pid" -o "$work/$direction-$size.perf" >/dev/null 2>&1 & perf_pid=$!
    sleep 0.3
  fi
  /usr/bin/env time -f "client_cpu_ms %e %U %S" -o "$file.time" "$@" > "$file" 2>&1
  after=$(broker_cpu_ms)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    perf report -i "$work/$direction-$size.perf" --stdio --no-children --sort dso,symbol 2>/dev/null \
      | grep -E "^ +[0-9]" | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | head -25 \
      > "$output/profile-$direction-$size.txt" || true
  fi
  python3 Scripts/bench/parse_rdkafka_performance.py "$direction" "$size" \
    --broker-cpu-ms $((after - before)) --client-time "$file.time" < "$file" >> "$work/results.jsonl"
  tail -1 "$work/results.jsonl"
}

run_pair() {  # size count
  local size=$1 count=$2 topic="bench-$1"
  echo "== produce $count x $size B, acks=1"
  measure produce "$size" "$work/produce-$size.txt" -- "$perf" -P -t "$topic" -b "127.0.0.1:$port" -s "$size" \
    -c "$count" -a 1 -X linger.ms=5 -X batch.size=1000000
  echo "== consume $count x $size B"
  measure consume "$size" "$work/consume-$size.txt" -- "$perf" -C -t "$topic" -p 0 -b "127.0.0.1:$port" \
    -o beginning -c "$count" -X fetch.max.bytes=52428800
}
: > "$work/results.jsonl"
run_pair 100 "$messages_100"
run_pair 1024 "$messages_1k"

rss_peak_kb=$(cat "$work/rss_peak_kb" 2>/dev/null || echo 0)
python3 Scripts/bench/report.py --results "$work/results.jsonl" --loopback-mbs "$loopback_mbs" --disk-mbs "$dd_mbs" \
  --rss-peak-kb "$rss_peak_kb" --output "$output"
