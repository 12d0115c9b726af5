#!/usr/bin/env bash
# What a recurring decision costs per step against ordinary ones (issue 15's bound): the same
# model twice, one decision taken at each of 52 weekly steps (benches/recurring/recurring.toml)
# and 52 dated decisions, one a step (benches/recurring/ordinary.toml). Prints the instructions
# per run of each (valgrind --tool=callgrind, repeatable where wall time on a shared machine is
# not), as the difference between N and 2N runs so that loading and writing drop out, and their
# ratio. One thread, no per-run file, no charts.
# Usage: scripts/recurring_cost.sh [N]   (default N = 4000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4000}
cargo build --release --quiet
bin=target/release/alliance-sim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ir() { # scenario runs -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bin" run "$1" --runs "$2" \
    --threads 1 -q --no-charts --runs-format none --out "$work/out" >/dev/null 2>&1
  callgrind_annotate "$work/cg" 2>/dev/null | awk '/PROG(RAM)? TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
  rm -rf "$work/out" "$work/cg"
}

declare -A per_run
for name in recurring ordinary; do
  file=benches/recurring/$name.toml
  one=$(ir "$file" "$n")
  two=$(ir "$file" $((2 * n)))
  per_run[$name]=$(((two - one) / n))
  printf '%-10s %10d instructions per run (52 steps)\n' "$name" "${per_run[$name]}"
done
awk -v r="${per_run[recurring]}" -v o="${per_run[ordinary]}" \
  'BEGIN { printf "recurring / ordinary: %.3f\n", r / o }'
