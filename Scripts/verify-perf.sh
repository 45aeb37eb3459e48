#!/usr/bin/env bash
# Reproduces the figures in docs/PERFORMANCE.md: every shared history checked (one process each, then all in one
# process), beside Porcupine's test binary on the same histories when given one (--porcupine BIN: a `go test -c`
# build made in a checkout of Porcupine's public repository, outside this one; it runs from that checkout, where
# its test data is), and a generated Kafka-queue history of 1,000,000 operations (invoke/completion pairs)
# checked, with wall time and peak memory (GNU time's maximum resident set size). Release build.
# The six KV histories are also timed warmed, each read once and checked many times in one process, beside
# Porcupine's benchmark of the same history (ratio: Porcupine's time over Crucible's; above 1, Crucible is faster).
#   Scripts/verify-perf.sh [--porcupine BIN] [OPERATIONS]
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/histories"
porcupine=""
ops=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --porcupine) porcupine="$(realpath "$2")"; shift 2 ;;
    *) ops="$1"; shift ;;
  esac
done
[ -z "$porcupine" ] || [ -x "$porcupine" ] || { echo "verify-perf.sh: --porcupine $porcupine: not an executable" >&2; exit 2; }
cd "$root"
swift build -c release --product crucible >/dev/null
bin="$(swift build -c release --show-bin-path)/crucible"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== all histories in verdicts.tsv, one process each"
start=$(date +%s.%N)
tail -n +2 "$shared/verdicts.tsv" | cut -f1 | while read -r f; do "$bin" check "$shared/$f" >/dev/null || [ $? -le 1 ]; done
echo "total wall time: $(echo "$(date +%s.%N) - $start" | bc) s"
/usr/bin/time -f "largest (porcupine-kv/c50-bad.txt): %e s, peak RSS %M KB" "$bin" check "$shared/porcupine-kv/c50-bad.txt" >/dev/null || true

echo "== every shared history in one process (per history: seconds after each verdict)"
/usr/bin/time -f "one process: %e s wall, peak RSS %M KB" "$bin" check "$shared" || true
if [ -n "$porcupine" ]; then
  echo "== Porcupine's test binary on the same histories (its tests of the 102 etcd logs and 6 KV histories)"
  (cd "$(dirname "$porcupine")" && /usr/bin/time -f "porcupine: %e s wall, peak RSS %M KB" "$porcupine" -test.v -test.count 1 \
    -test.run '^(TestEtcdJepsen[0-9]+|TestKv[0-9]+Clients?(Ok|Bad))$' \
    | grep -E "^(--- |ok|PASS|FAIL)" || true)
fi

echo "== the six KV histories warmed: mean time per check after one read (Crucible: check --repeat-check;"
echo "   Porcupine: its BenchmarkKv... of CheckEvents on parsed events, the same number of iterations)"
printf "%-8s %6s %14s %14s %8s\n" history checks "crucible ms" "porcupine ms" ratio
for name in c01-ok c01-bad c10-ok c10-bad c50-ok c50-bad; do
  case "$name" in c50-*) times=20 ;; *) times=200 ;; esac
  ours=$("$bin" check "$shared/porcupine-kv/$name.txt" --repeat-check "$times" | sed -E 's/.*mean ([0-9.]+) ms.*/\1/' || true)
  theirs="-"; ratio="-"
  if [ -n "$porcupine" ]; then
    clients=$((10#${name:1:2})); plural=""; verdict=Bad
    if [ "$clients" -gt 1 ]; then plural=s; fi
    if [ "${name#*-}" = ok ]; then verdict=Ok; fi
    bench="BenchmarkKv${clients}Client${plural}${verdict}"
    ns=$(cd "$(dirname "$porcupine")" && "$porcupine" -test.run '^$' -test.bench "^${bench}\$" -test.benchtime "${times}x" \
      | awk -v b="$bench" '$1 ~ "^"b"(-[0-9]+)?$" { print $3 }')
    theirs=$(printf "%.4f" "$(echo "$ns / 1000000" | bc -l)"); ratio=$(printf "%.2f" "$(echo "$theirs / $ours" | bc -l)")
  fi
  printf "%-8s %6s %14s %14s %8s\n" "$name" "$times" "$ours" "$theirs" "$ratio"
done

echo "== generated Kafka history, $ops operations"
/usr/bin/time -f "generate: %e s, peak RSS %M KB" "$bin" check "$tmp/big.jsonl" --generate-kafka-operations "$ops" --seed 1
echo "history: $(wc -l <"$tmp/big.jsonl") lines, $(du -m "$tmp/big.jsonl" | cut -f1) MB"
/usr/bin/time -f "check: %e s wall, %U s user, peak RSS %M KB" "$bin" check "$tmp/big.jsonl" --output "$tmp/analysis.json"
