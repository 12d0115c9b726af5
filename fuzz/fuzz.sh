#!/bin/sh
# Runs one fuzz target for SECONDS (default 1800) at low priority, on the seed corpus and the
# corpus the earlier runs grew. Crashes, timeouts and out-of-memory inputs are saved under
# artifacts/TARGET/ and the run goes on (libFuzzer's -fork mode).
#
#   fuzz/fuzz.sh loader|partial|summary [SECONDS] [SANITIZER]
#
# The toolchain may be stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly flags.
# SANITIZER is cargo-fuzz's -s (default address; none is faster).
set -eu
cd "$(dirname "$0")"
target=${1:?usage: fuzz.sh loader|partial|summary [SECONDS] [SANITIZER]}
seconds=${2:-1800}
sanitizer=${3:-address}
case $target in
    loader) max_len=65536; dict=toml; seeds="seeds/loader ../scenarios ../tests/fixtures ../tests/bad_scenarios" ;;
    partial) max_len=400000; dict=json; seeds="seeds/partial" ;;
    summary) max_len=250000; dict=json; seeds="seeds/summary" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
max_len=${MAX_LEN:-$max_len}
seeds=${SEEDS:-$seeds}
mkdir -p "corpus/$target" "artifacts/$target"
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s "$sanitizer" "$target"
# shellcheck disable=SC2086
exec nice -n 19 "target/x86_64-unknown-linux-gnu/release/$target" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 -dict="dict/$dict.dict" \
    ${FUZZ_FLAGS:-} "corpus/$target" $seeds
