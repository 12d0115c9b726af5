#!/usr/bin/env bash
# Draws every chart and report.html from real studies into one folder, for a person to look at
# after changing how charts are drawn: tests check sizes, text and layout rules, not whether a
# chart reads well.
#
# Usage: scripts/chart_gallery.sh [DIR]     (default: target/chart-gallery)
#   ALLIANCE_SIM=path/to/binary uses that build instead of building the release one.
#
# What each subfolder shows:
#   default/     the default scenario at its own run count: every summary chart and report.html
#   few_runs/    250 runs: wide intervals
#   replications/ 5,000 parameter sets of 20 runs: the replications chart and its section
#   heavy/       benches/heavy.toml: many rules and metrics, crowded charts
#   compare/     the default scenario against two variants (paired differences)
#   sweep_line/  one swept parameter; sweep_heatmap/ two swept parameters
#   tornado/     one-at-a-time swings; sobol/ Sobol indices of the Ishigami example
# Each command writes its own folder, so the gallery can be redrawn in place.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${ALLIANCE_SIM:-} ]]; then
    cargo build --release --quiet
fi
bin=${ALLIANCE_SIM:-target/release/alliance-sim}
dir=${1:-target/chart-gallery}
mkdir -p "$dir"

# Each command prints its tables and the files it wrote; only the final list is kept.
draw() { "$bin" "$@" -q >/dev/null; }

draw run --no-runs-csv --out "$dir/default"
draw run --no-runs-csv --runs 250 --out "$dir/few_runs"
draw run --no-runs-csv --runs 100000 --replications 20 --out "$dir/replications"
draw run --no-runs-csv --runs 20000 --out "$dir/heavy" benches/heavy.toml
draw compare --runs 20000 --out "$dir/compare" scenarios/gsomia_2019.toml \
    scenarios/gsomia_2019_no_cost_demand.toml scenarios/gsomia_2019_strong_lobbying.toml
draw sweep --param us_cost_share_demand_busd=0.9:6:18 --runs 5000 \
    --main-outcome terminated --out "$dir/sweep_line"
draw sweep --param japan_export_controls=0:1:10 \
    --param us_lobbying_intensity=0:1:10 --runs 2000 --out "$dir/sweep_heatmap"
draw sensitivity --method tornado --target terminated --runs 4000 \
    --out "$dir/tornado"
draw sensitivity --method sobol --target y --runs 4096 --out "$dir/sobol" \
    scenarios/examples/ishigami.toml

find "$dir" \( -name '*.png' -o -name '*.svg' -o -name '*.html' \) | sort
