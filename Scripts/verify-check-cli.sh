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
expect 2 "--repeat-check below 1" -- "$shared/porcupine-kv/c01-ok.txt" --repeat-check 0
grep -q -- "--repeat-check" "$tmp/err" || { echo "FAIL --repeat-check 0 not named: $(cat "$tmp/err")"; failures=$((failures + 1)); }
expect 2 "--repeat-check with two histories" -- "$shared/porcupine-kv/c01-ok.txt" "$shared/porcupine-kv/c01-bad.txt" --repeat-check 2
grep -q -- "--repeat-check" "$tmp/err" || { echo "FAIL --repeat-check with two histories not named: $(cat "$tmp/err")"; failures=$((failures + 1)); }

# Several histories in one process: a verdict line each, a summary, and the exit code of the worst.
expect 1 "two histories, one invalid" -- "$shared/porcupine-etcd/etcd_002.log" "$shared/porcupine-etcd/etcd_000.log"
expect 2 "three histories, one unreadable: the other two still checked" -- \
    "$shared/porcupine-etcd/etcd_002.log" "$tmp/bad.jsonl" "$shared/porcupine-etcd/etcd_000.log"
if grep -q "etcd_002.log: VALID" "$tmp/out" && grep -q "etcd_000.log: INVALID nonlinearizable" "$tmp/out" \
    && grep -q "3 histories checked in .* 1 valid, 1 invalid, 0 unknown, 1 unreadable" "$tmp/out" \
    && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "bad.jsonl:2: expected" "$tmp/err"; then
    echo "ok   verdict lines, summary and the unreadable one named"
else
    echo "FAIL several histories: $(cat "$tmp/out" "$tmp/err")"; failures=$((failures + 1))
fi
expect 3 "two histories, both undecided within the budget" -- "$shared/porcupine-etcd/etcd_002.log" \
    "$shared/porcupine-etcd/etcd_002.log" --max-steps 10
# A Jepsen store: only the history files count, not the results, logs and test maps beside them.
mkdir -p "$tmp/store/queue/20261205T000000" "$tmp/store/queue/20261205T000100"
cp "$tmp/good.jsonl" "$tmp/store/queue/20261205T000000/history.jsonl"
cp "$tmp/good.jsonl" "$tmp/store/queue/20261205T000100/history.jsonl"
echo "{:valid? true}" >"$tmp/store/queue/20261205T000000/results.edn"
echo "INFO jepsen.core - Run complete" >"$tmp/store/queue/20261205T000000/jepsen.log"
expect 0 "a Jepsen store directory" -- "$tmp/store" --output "$tmp/many.json"
if grep -q "^2 histories checked" "$tmp/out" && grep -q '"history"' "$tmp/many.json"; then
    echo "ok   two histories found in the store, analyses written"
else
    echo "FAIL store: $(cat "$tmp/out" "$tmp/err")"; failures=$((failures + 1))
fi
# Every shared history in one process, each verdict as the shared table gives it (the one empty file unreadable).
expect 2 "every shared history at once" -- "$shared"
mismatches=0
while IFS=$'\t' read -r file _ linearizable; do
    [ "$file" = file ] && continue
    want=$([ "$linearizable" = true ] && echo VALID || echo INVALID)
    grep -q "$file: $want" "$tmp/out" || { echo "FAIL $file: not $want"; mismatches=$((mismatches + 1)); }
done <"$shared/verdicts.tsv"
[ "$mismatches" = 0 ] && echo "ok   every shared verdict as listed" || failures=$((failures + 1))
expect 2 "--html with several histories" -- "$shared/porcupine-etcd/etcd_002.log" "$shared/porcupine-etcd/etcd_000.log" --html "$tmp/x.html"
grep -q -- "--html" "$tmp/err" || { echo "FAIL --html refusal does not name the flag: $(cat "$tmp/err")"; failures=$((failures + 1)); }

[ "$failures" = 0 ] && echo "all exit codes as the contract says" || { echo "$failures failures"; exit 1; }
