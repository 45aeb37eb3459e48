#!/usr/bin/env bash
# Checks `crucible check` exit codes end to end: 0 valid, 1 invalid, 2 bad input (one line on stderr
# naming file and line), 3 unknown. Run from the package root; ../shared must exist beside it.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/histories"
cd "$root"
swift build --product crucible >/dev/null || exit 1
bin="$(swift build --show-bin-path)/crucible"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() {  # expect CODE DESCRIPTION -- ARGS...
    local want=$1 what=$2; shift 3
    "$bin" check "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" = "$want" ]; then echo "ok   exit $got: $what"; else echo "FAIL exit $got (wanted $want): $what"; failures=$((failures + 1)); fi
}

expect 0 "linearizable etcd history" -- "$shared/porcupine-etcd/etcd_002.log"
expect 1 "non-linearizable etcd history" -- "$shared/porcupine-etcd/etcd_000.log"
expect 0 "linearizable KV history" -- "$shared/porcupine-kv/c10-ok.txt" --format porcupine-kv
expect 1 "non-linearizable KV history, analysis.json and HTML written" -- "$shared/porcupine-kv/c10-bad.txt" \
    --output "$tmp/analysis.json" --html "$tmp/view.html"
[ -s "$tmp/analysis.json" ] && [ -s "$tmp/view.html" ] || { echo "FAIL analysis.json/HTML not written"; failures=$((failures + 1)); }
expect 3 "search budget exhausted" -- "$shared/porcupine-etcd/etcd_002.log" --max-steps 10

"$bin" check "$tmp/good.jsonl" --generate-kafka-operations 200 --seed 9
expect 0 "generated correct Kafka history" -- "$tmp/good.jsonl"
"$bin" check "$tmp/lost.jsonl" --generate-kafka-operations 200 --seed 9 --plant-fault lost-write
expect 1 "generated Kafka history with a lost write" -- "$tmp/lost.jsonl"

printf '{"index":0,"process":0,"type":"invoke","f":"send","value":[["send",0,1]]}\n{"index":1,"process":0,"type":\n' >"$tmp/bad.jsonl"
expect 2 "malformed JSONL line" -- "$tmp/bad.jsonl"
if [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "bad.jsonl:2: expected" "$tmp/err"; then
    echo "ok   stderr names file and line: $(cat "$tmp/err")"
else
    echo "FAIL stderr: $(cat "$tmp/err")"; failures=$((failures + 1))
fi
expect 2 "missing file" -- "$tmp/nope.jsonl"
expect 2 "unknown --workload" -- "$shared/porcupine-etcd/etcd_002.log" --workload queue

[ "$failures" = 0 ] && echo "all exit codes as the contract says" || { echo "$failures failures"; exit 1; }
