#!/usr/bin/env bash
# Reproduces the figures in docs/PERFORMANCE.md: every shared history checked, and a generated
# Kafka-queue history of 1,000,000 operations (invoke/completion pairs) checked, with wall time and peak
# memory (GNU time's maximum resident set size). Release build. Usage: Scripts/verify-perf.sh [OPERATIONS]
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/histories"
ops="${1:-1000000}"
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

echo "== generated Kafka history, $ops operations"
/usr/bin/time -f "generate: %e s, peak RSS %M KB" "$bin" check "$tmp/big.jsonl" --generate-kafka-operations "$ops" --seed 1
echo "history: $(wc -l <"$tmp/big.jsonl") lines, $(du -m "$tmp/big.jsonl" | cut -f1) MB"
/usr/bin/time -f "check: %e s wall, %U s user, peak RSS %M KB" "$bin" check "$tmp/big.jsonl" --output "$tmp/analysis.json"
