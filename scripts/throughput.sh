#!/usr/bin/env bash
# Runs per second of a scenario at 1 and 2 threads, and peak memory at growing run counts.
# Usage: scripts/throughput.sh [SCENARIO] [RUN COUNTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/alliance-sim
scenario=${1:-}
shift || true
counts=${*:-"100000 1000000"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in $counts; do
  for t in 1 2; do
    /usr/bin/time -v "$bin" run $scenario --runs "$n" --threads "$t" --no-runs-csv --no-charts -q \
      --out "$out" >/dev/null 2>"$out/time.txt"
    wall=$(grep 'Elapsed (wall clock)' "$out/time.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident' "$out/time.txt" | awk '{print $NF}')
    secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    printf "runs=%-9s threads=%s  wall=%6.2fs  runs/s=%-9s  peak RSS=%6.1f MB\n" \
      "$n" "$t" "$secs" "$rate" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
  done
done
