#!/usr/bin/env bash
# Remakes fuzz/seeds/ with a binary (default: target/release/alliance-sim), as fuzz/README.md
# says: needed after a change to the default scenario or to the partial or summary format,
# which tests/fuzz_regressions.rs `the_fuzzers_seeds_are_accepted` would otherwise refuse.
set -euo pipefail
cd "$(dirname "$0")/.."
sim=${1:-target/release/alliance-sim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for k in 1 2; do
  "$sim" run --runs 2000 --shard "$k/2" -q --out "$tmp/seeds"
  "$sim" run --runs 2000 --shard "$k/2" --no-timeline -q --out "$tmp/seeds-nt"
  cp "$tmp/seeds/gsomia_2019/partial-$k-of-2.json" "fuzz/seeds/partial/partial-$k-of-2.json"
  cp "$tmp/seeds-nt/gsomia_2019/partial-$k-of-2.json" \
    "fuzz/seeds/partial/no-timeline-partial-$k-of-2.json"
done
"$sim" run --runs 2000 --no-charts --no-runs-csv -q --out "$tmp/full"
"$sim" run --runs 2000 --no-timeline --no-charts --no-runs-csv -q --out "$tmp/full-nt"
"$sim" run scenarios/examples/ishigami.toml --runs 500 --no-charts --no-runs-csv -q --out "$tmp/ish"
cp "$tmp/full/gsomia_2019/summary.json" fuzz/seeds/summary/gsomia_2019.json
cp "$tmp/full-nt/gsomia_2019/summary.json" fuzz/seeds/summary/gsomia_2019-no-timeline.json
cp "$tmp/ish/ishigami/summary.json" fuzz/seeds/summary/ishigami.json
echo "remade fuzz/seeds/ with $sim"
