#!/usr/bin/env bash
# Builds librdkafka's rdkafka_performance from the example Debian's librdkafka-dev ships, into $1.
set -euo pipefail
out=${1:?output directory}
here=$(cd "$(dirname "$0")" && pwd)
example=/usr/share/doc/librdkafka-dev/examples/rdkafka_performance.c
[ -f "$example" ] || example="$example.gz"
[ -f "$example" ] || { echo "librdkafka-dev's rdkafka_performance example is missing" >&2; exit 2; }
mkdir -p "$out/src" "$out/examples"
cp "$here/rd.h" "$out/src/rd.h"
: > "$out/src/rdtime.h"
case "$example" in
  *.gz) gunzip -c "$example" > "$out/examples/rdkafka_performance.c" ;;
  *) cp "$example" "$out/examples/rdkafka_performance.c" ;;
esac
cc -O2 -D_GNU_SOURCE -I/usr/include/librdkafka -I"$out/src" "$out/examples/rdkafka_performance.c" \
   -o "$out/rdkafka_performance" -lrdkafka -lpthread -lm
echo "$out/rdkafka_performance"
