#!/usr/bin/env bash
# Installs what Crucible needs on a fresh Debian machine: the codec and client libraries from Debian, the
# Python Kafka clients the tests drive the broker with, and the tools the benchmark measures against.
set -euo pipefail

debian_packages=(
  zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev   # record batch codecs
  librdkafka-dev kcat                               # librdkafka clients: rdkafka_performance is built from its example
  libjemalloc-dev                                   # allocator for the benchmark build
  iperf3 procps time python3-pip                    # loopback calibration, process and CPU accounting
  iproute2 nftables                                 # verify: network namespaces and partitions between nodes
  libfaketime                                       # verify: clock faults (a node's wall clock moved by the nemesis)
  valgrind binutils                                 # gate: instruction counts (callgrind) of a debug-stripped copy
  chromium fonts-dejavu-core                        # report: the HTML report rendered headless in a test
)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -r "$(dirname "$0")/requirements.txt" 2>&1 \
  | grep -v "Running pip as the 'root' user" || true
command -v swift >/dev/null || { echo "setup: swift (6.x) must be on PATH" >&2; exit 2; }
