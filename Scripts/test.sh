#!/usr/bin/env bash
# The whole test suite: generated protocol code is current, unit and simulation tests (XCTest), then the
# integration tests that drive real brokers with kcat, confluent-kafka, kafka-python and aiokafka.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build"
swift build --build-tests 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; }

echo "== generated protocol code matches the schemas"
swift run --skip-build crucible-protocol-gen --check

echo "== unit and simulation tests"
# Two test processes at once: the seeded simulations are most of this step, and each is single-threaded.
status=0
swift test --skip-build --parallel --num-workers 2 > .build/xctest.log 2>&1 || status=$?
grep -E "error:|failed|Test run with" .build/xctest.log | tail -20
echo "$(grep -c '^\[[0-9]*/[0-9]*\] Testing' .build/xctest.log) test cases run"
[ "$status" -eq 0 ] || { echo "unit tests failed (full log: .build/xctest.log)" >&2; exit "$status"; }

echo "== integration tests against running brokers"
export CRUCIBLE_BIN="$PWD/.build/debug/crucible"
python3 -m pytest Tests/integration -q -p no:cacheprovider --timeout=600 --durations=30 -W ignore::DeprecationWarning "$@"
