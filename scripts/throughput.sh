#!/usr/bin/env bash
# Runs per second of a scenario at 1 and 2 threads, and peak memory at growing run counts.
#
# Usage: scripts/throughput.sh [SCENARIO] [RUN COUNTS...]
#   SCENARIO    a scenario file; "" (or nothing) for the built-in default scenario
#   RUN COUNTS  default: 100000 1000000
# Examples:
#   scripts/throughput.sh "" 100000 1000000 10000000
#   scripts/throughput.sh benches/heavy.toml 100000 1000000
#
# Each measurement is one `alliance-sim run` (summary.json included: the figures are end to end,
# process start and scenario loading included) with `--no-runs-csv --no-charts`: per-run rows
# are the one output that grows with the run count, so they are off at every count. Wall time
# comes from the shell clock (nanoseconds), peak resident memory from `/usr/bin/time -v`.
#
# With CHARTS_RUNS=N (default 1000000; 0 skips it) the script also times one `run` with charts
# and report included, at N runs on all cores (issue 7's "10^6 runs, charts included" target).
# With CSV_RUNS=N (default 0: skipped) it also times one `run` that writes runs.csv, at N runs on
# all cores, to show that memory stays flat with per-run rows too.
# EXTRA="--no-timeline" (or any other `run` options) is passed to every measurement: with
# --no-timeline the figures are for end-of-run results only, without the per-step timeline.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/alliance-sim
scenario=${1:-}
shift || true
counts=${*:-"100000 1000000"}
charts_runs=${CHARTS_RUNS:-1000000}
csv_runs=${CSV_RUNS:-0}
read -r -a extra <<<"${EXTRA:-}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
scenario_args=()
if [ -n "$scenario" ]; then
  scenario_args=("$scenario")
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "scenario: ${scenario:-default (built in)}"
echo "options: --no-runs-csv --no-charts ${EXTRA:-}"

# measure RUNS THREADS [extra args...]: sets $secs and $rss_mb.
measure() {
  local n=$1 t=$2
  shift 2
  local start end
  start=$(date +%s%N)
  /usr/bin/time -v "$bin" run "${scenario_args[@]}" --runs "$n" --threads "$t" -q \
    --out "$out" "${extra[@]}" "$@" >/dev/null 2>"$out/time.txt" || {
    cat "$out/time.txt" >&2
    exit 1
  }
  end=$(date +%s%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  rss_mb=$(awk '/Maximum resident/ { printf "%.1f", $NF / 1024 }' "$out/time.txt")
}

for n in $counts; do
  rate1=""
  for t in 1 2; do
    measure "$n" "$t" --no-runs-csv --no-charts
    rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    speedup=""
    if [ "$t" = 1 ]; then
      rate1=$rate
    else
      speedup=$(awk -v a="$rate" -v b="$rate1" 'BEGIN { printf "  speed-up=%.2fx", (b > 0 ? a / b : 0) }')
    fi
    printf "runs=%-9s threads=%s  wall=%7.3fs  runs/s=%-9s  peak RSS=%6.1f MB%s\n" \
      "$n" "$t" "$secs" "$rate" "$rss_mb" "$speedup"
  done
done

if [ "$charts_runs" != 0 ]; then
  measure "$charts_runs" "$(nproc)" --no-runs-csv
  printf "runs=%-9s threads=%s  wall=%7.3fs  with charts and report.html (no runs.csv)  peak RSS=%6.1f MB\n" \
    "$charts_runs" "$(nproc)" "$secs" "$rss_mb"
fi

if [ "$csv_runs" != 0 ]; then
  measure "$csv_runs" "$(nproc)" --no-charts --runs-format csv
  printf "runs=%-9s threads=%s  wall=%7.3fs  with runs.csv (%s MB)  peak RSS=%6.1f MB\n" \
    "$csv_runs" "$(nproc)" "$secs" "$(du -m "$out"/*/runs.csv | cut -f1)" "$rss_mb"
fi
