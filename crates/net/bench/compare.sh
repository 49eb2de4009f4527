#!/usr/bin/env bash
# Throughput of `safecare net scan` (all detections on) beside ndpiReader and tshark,
# on the same generated capture, one core each.
#
#   crates/net/bench/compare.sh [SIZE_MIB] [FILE]
#
# Needs: Debian packages libndpi-bin (ndpiReader), tshark, time (GNU time).
set -euo pipefail

size_mib=${1:-1024}
file=${2:-/tmp/safecare-bench-${size_mib}.pcap}
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"

cargo build --release -q -p safecare-net --example netbench
bench=target/release/examples/netbench
[ -f "$file" ] || "$bench" generate "$file" "$size_mib"
bytes=$(stat -c %s "$file")
packets=$(capinfos -c -M "$file" 2>/dev/null | awk '/Number of packets/ {print $NF}')
echo "capture: $file, $((bytes / 1048576)) MiB, $packets packets"

# Prints wall seconds and peak RSS (MiB) of a command pinned to one core.
measure() {
    local name=$1; shift
    local log
    log=$(mktemp)
    /usr/bin/time -f "%e %M" -o "$log" taskset -c 0 "$@" > /dev/null 2>&1 || true
    read -r secs kib < "$log"
    rm -f "$log"
    awk -v n="$name" -v s="$secs" -v k="$kib" -v p="$packets" -v b="$bytes" 'BEGIN {
        printf "%-22s %8.2f s %12.0f packets/s %9.1f Mbit/s %8.1f MiB peak RSS\n",
            n, s, p / s, b * 8 / 1e6 / s, k / 1024 }'
}

measure "safecare net scan" "$bench" scan "$file"
measure "ndpiReader" ndpiReader -q -i "$file"
measure "tshark -z conv,tcp" tshark -n -q -z conv,tcp -r "$file"
