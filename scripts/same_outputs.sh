#!/usr/bin/env bash
# Checks that two builds give byte-identical results: summary.json, runs.csv and every analysis
# JSON, on every shipped scenario, the heavy benchmark scenario and each command that simulates.
#
# Usage: scripts/same_outputs.sh OLD_BINARY NEW_BINARY
#   e.g. git worktree add /tmp/main-old main && (cd /tmp/main-old && cargo build --release)
#        scripts/same_outputs.sh /tmp/main-old/target/release/alliance-sim target/release/alliance-sim
#
# Charts and report.html are left out (they are drawn from summary.json, and their bytes carry
# font rasterisation, which is not what this checks); manifest.json lists the files written.
# Prints one line per comparison and exits 1 if any differs.
set -uo pipefail
cd "$(dirname "$0")/.."
old=$1
new=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
runs=${RUNS:-3000}

# Runs one command with both binaries (the output folder is the last argument, as `--out DIR`
# after `$@`) and compares the result files and what it printed.
check() {
  local name=$1
  shift
  for side in old new; do
    local bin=$old
    [ "$side" = new ] && bin=$new
    # The folder's name and the elapsed time are the only things allowed to differ in print.
    "$bin" "$@" --quiet --out "$work/$side/$name" 2>&1 |
      sed -e "s|$work/$side|OUT|g" -e 's/[0-9.]* \(s\|ms\|µs\)\b/TIME/g' >"$work/$side.$name.stdout"
    echo "${PIPESTATUS[0]}" >"$work/$side.$name.rc"
  done
  if ! cmp -s "$work/old.$name.rc" "$work/new.$name.rc"; then
    echo "DIFFERS  $name: exit $(cat "$work/old.$name.rc") vs $(cat "$work/new.$name.rc")"
    failed=1
    return
  fi
  local differs=""
  while IFS= read -r -d '' file; do
    local rel=${file#"$work/old/$name/"}
    case "$rel" in *.png | *.svg | *.html | manifest.json) continue ;; esac
    cmp -s "$file" "$work/new/$name/$rel" || differs="$differs $rel"
  done < <(find "$work/old/$name" -type f -print0 2>/dev/null)
  cmp -s "$work/old.$name.stdout" "$work/new.$name.stdout" || differs="$differs (stdout)"
  if [ -n "$differs" ]; then
    echo "DIFFERS  $name:$differs"
    failed=1
  else
    echo "same     $name ($(find "$work/old/$name" -type f 2>/dev/null | wc -l) files, exit $(cat "$work/old.$name.rc"))"
  fi
}

scenarios=(scenarios/*.toml scenarios/examples/*.toml scenarios/history/*.toml benches/heavy.toml)
for s in "${scenarios[@]}"; do
  id=$(basename "$s" .toml)
  check "run-$id" run "$s" --runs "$runs" --seed 11 --threads 2 --no-charts
  check "run-lhs-$id" run "$s" --runs 1000 --seed 5 --sampling lhs --threads 1 --no-charts
done
check "run-default-notimeline" run --runs "$runs" --no-timeline --no-charts
check "run-shard" run --runs "$runs" --shard 2/3 --no-charts
check compare compare scenarios/gsomia_2019.toml scenarios/gsomia_2019_no_cost_demand.toml \
  scenarios/gsomia_2019_no_trade_war.toml scenarios/gsomia_2019_strong_lobbying.toml --runs "$runs" --no-charts
check sweep sweep --param us_cost_share_demand_busd=0.9:6:7 --param japan_export_controls=0:1:3 --runs 500 --no-charts
check tornado sensitivity --method tornado --runs "$runs" --no-charts
check sobol sensitivity --method sobol --runs 2048 --target terminated --no-charts
check sobol-ishigami sensitivity scenarios/examples/ishigami.toml --method sobol --runs 1024 --no-charts
check backtest backtest scenarios/history --runs "$runs"
exit $failed
