#!/usr/bin/env bash
# Screenshots of parts of a `crucible report` page, one PNG per section id, rendered by headless Chromium:
#   Scripts/report-screenshots.sh REPORT.html OUT_DIR SECTION_ID[=HEIGHT]...
# Each shot shows only that section (a style hides the rest of the page), top first, 1280 px wide.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 REPORT.html OUT_DIR SECTION_ID[=HEIGHT]..." >&2; exit 2; }
report=$1; out=$2; shift 2
[ -r "$report" ] || { echo "$report: no such file" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is not installed (Scripts/setup.sh installs it)" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for spec in "$@"; do
  id=${spec%%=*}; height=1400; [[ $spec == *=* ]] && height=${spec#*=}
  grep -q "id=\"$id\"" "$report" || { echo "$report: no section $id" >&2; exit 2; }
  # Hide every section that neither is nor holds the chosen one, and the loose content of those that hold it.
  style="<style>main>:not(section),main section:not(#$id):not(:has(#$id)):not(#$id section),section:has(#$id)>:not(section){display:none!important}</style>"
  sed "s|</head>|$style</head>|" "$report" > "$work/page.html"
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1280,$height" \
    --screenshot="$out/report-$id.png" "file://$work/page.html" >/dev/null 2>&1
  [ -s "$out/report-$id.png" ] || { echo "chromium wrote no screenshot of $id" >&2; exit 1; }
  echo "$out/report-$id.png"
done
