#!/usr/bin/env bash
# The mutation table: builds crucible with its planted broker bugs (-DCRUCIBLE_MUTATIONS, in a scratch directory
# of its own so the normal build is untouched), runs every scenario that expects a valid history with each
# mutation switched on, N runs each (default 3), and prints which scenarios caught which bug, in how many runs.
#   Scripts/mutations.sh [--runs N] [--time-limit SECONDS] [--output DIR] [--mutation NAME]... [SCENARIO.yaml...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
time_limit=25
output="Reports/mutations-$(date -u +%Y%m%d-%H%M%S)"
mutations=()
scenarios=()
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --time-limit) time_limit=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --mutation) mutations+=("$2"); shift 2 ;;
    -*) echo "mutations.sh: unknown argument $1" >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
((${#scenarios[@]})) || scenarios=(Workloads/verify/safe-*.yaml Workloads/verify/clean-election-keeps-writes.yaml)
swift build -c release --product crucible -Xswiftc -DCRUCIBLE_MUTATIONS --scratch-path .build-mutations 2>&1 \
  | { grep -E "error|Build" || true; }
swift build -c release --product CrucibleDiskFault --scratch-path .build-mutations 2>&1 | { grep -E "error|Build" || true; }
binary=.build-mutations/release/crucible
if ((${#mutations[@]} == 0)); then
  # The names, from the binary itself (its refusal of a bad name lists them).
  names=$({ "$binary" verify --mutation list Workloads/verify/safe-kill.yaml 2>&1 || true; } | sed -n 's/.*one of //p' | tr -d ',')
  read -r -a mutations <<<"$names"
fi
mkdir -p "$output"
for mutation in "${mutations[@]}"; do
  echo "== $mutation" >&2
  "$binary" verify "${scenarios[@]}" --mutation "$mutation" --runs "$runs" --seed 1 --time-limit "$time_limit" \
    --output "$output/$mutation" >/dev/null || true   # exit 1 is the point: a run not as expected caught the bug
done
python3 - "$output" "${mutations[@]}" <<'PY' | tee "$output/mutations.md"
import json, sys, pathlib
out, names = pathlib.Path(sys.argv[1]), sys.argv[2:]
print("| mutation | caught by (runs caught / runs) | caught |")
print("|---|---|---|")
caught_total = 0
for name in names:
    summary = out / name / "summary.json"
    runs = json.loads(summary.read_text())["runs"] if summary.exists() else []
    per = {}
    for run in runs:
        hit, total = per.get(run["scenario"], (0, 0))
        per[run["scenario"]] = (hit + (not run["expectationMet"]), total + 1)
    cells = ", ".join(f"{s} {h}/{t}" for s, (h, t) in sorted(per.items()) if h) or "none"
    caught = any(h for h, _ in per.values())
    caught_total += caught
    print(f"| {name} | {cells} | {'yes' if caught else 'no'} |")
print(f"\n{caught_total} of {len(names)} mutations caught ({100 * caught_total // max(1, len(names))}%).")
PY
echo "results: $output" >&2
