#!/usr/bin/env bash
# The full forms of the verification scenarios: every scenario in Workloads/verify, N runs each (default 20),
# on a release build; results and summary.md in Reports/verify-<time>/ (or --output DIR).
#   Scripts/verify.sh [--runs N] [--time-limit SECONDS] [--output DIR] [SCENARIO.yaml...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20
output="Reports/verify-$(date -u +%Y%m%d-%H%M%S)"
extra=()
scenarios=()
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --time-limit) extra+=(--time-limit "$2"); shift 2 ;;
    -*) echo "verify.sh: unknown argument $1" >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
((${#scenarios[@]})) || scenarios=(Workloads/verify/*.yaml)
# The disk-fault preload library is built beside the executable (safe-disk's nodes run with it).
swift build -c release --product crucible 2>&1 | { grep -E "error|Build" || true; }
swift build -c release --product CrucibleDiskFault 2>&1 | { grep -E "error|Build" || true; }
status=0
for scenario in "${scenarios[@]}"; do
  name=$(basename "$scenario" .yaml)
  .build/release/crucible verify "$scenario" --runs "$runs" "${extra[@]}" --output "$output/$name" || status=1
done
cat "$output"/*/summary.md
echo "results: $output"
exit "$status"
