#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind): repeatable where wall-clock time on a shared
# machine is not. Prints
#   1. instructions per run of the engine, of floor (a) and floor (b), and per evaluation of the
#      utility expression, from the bench binary in its fixed-count mode (ENGINE_BENCH_FIXED);
#   2. instructions per run of a whole study (`alliance-sim run`, 1 thread, no runs.csv, no
#      charts, timeline and summary included) as the difference between N and 2N runs, for the
#      default and the heavy scenario;
#   3. the top functions (exclusive instructions) of `run` on each scenario.
# The profiles stay in target/callgrind/.
# Usage: scripts/callgrind.sh [N]   (default N = 20000; the heavy scenario uses N / 4)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
nh=$((n / 4))
# Profiles are kept for a closer look (callgrind_annotate, kcachegrind).
out=target/callgrind
mkdir -p "$out"
cargo build --release --quiet
bench=$(cargo bench --bench engine --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
bin=target/release/alliance-sim

ir_total() { # callgrind output file -> total instructions
  callgrind_annotate "$1" 2>/dev/null | awk '/PROG(RAM)? TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
}

echo "== 1. bench workloads (instructions per iteration; $n iterations, heavy $nh) =="
ENGINE_BENCH_FIXED=$n valgrind --tool=callgrind --callgrind-out-file="$out/bench.cg" "$bench" \
  >/dev/null 2>&1
callgrind_annotate --inclusive=yes "$out/bench.cg" 2>/dev/null | grep -E 'engine::fixed_' |
  awk -v n="$n" -v nh="$nh" '{
    ir = $1; gsub(",", "", ir)
    name = $0; sub(/.*engine::/, "", name); sub(/ .*/, "", name)
    if (!(name in best) || ir + 0 > best[name] + 0) best[name] = ir
  }
  END {
    for (name in best) {
      k = (name ~ /heavy/) ? nh : n
      printf "%-24s %12.0f instructions per iteration\n", name, best[name] / k
    }
  }' | sort
echo
echo "== 2. whole study, instructions per run (1 thread, N=$n vs 2N) =="
for s in default heavy; do
  args=()
  k=$n
  if [ "$s" = heavy ]; then
    args=(benches/heavy.toml)
    k=$nh
  fi
  for m in 1 2; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$s-$m.cg" "$bin" run "${args[@]}" \
      --runs $((k * m)) --threads 1 --no-runs-csv --no-charts -q --out "$out/o" >/dev/null 2>&1
  done
  a=$(ir_total "$out/$s-1.cg")
  b=$(ir_total "$out/$s-2.cg")
  awk -v s="$s" -v a="$a" -v b="$b" -v k="$k" \
    'BEGIN { printf "%-8s %12.0f instructions per run (%d runs: %.0f, %d runs: %.0f)\n", s, (b - a) / k, k, a, 2 * k, b }'
done

echo
for s in default heavy; do
  echo "== 3. top functions (exclusive), run of the $s scenario =="
  # Inlined code is listed under the file it came from; sum each function over its files.
  callgrind_annotate --inclusive=no --threshold=100 --auto=no "$out/$s-2.cg" 2>/dev/null |
    awk '/^ *[0-9,]+ \(/ && !/TOTALS/ {
      ir = $1; gsub(",", "", ir)
      line = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line)
      sub(/ \[[^]]*\] *$/, "", line); sub(/^[^:]*:/, "", line)
      sum[line] += ir; total += ir
    }
    END { for (f in sum) printf "%15.0f %6.2f%%  %s\n", sum[f], 100 * sum[f] / total, f }' |
    sort -rn | awk 'NR <= 12'
  echo
done
