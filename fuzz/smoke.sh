#!/usr/bin/env bash
# A short run of every fuzz target, for CI: seconds each, enough to catch a target that no longer
# builds or a parser change that panics on the seeds or on what the fuzzer finds at once.
# Safe Rust needs no address sanitizer here, and without it a build and a run take far less.
# Long runs are done by hand: `cargo +nightly fuzz run -s none TARGET corpus/TARGET seeds/TARGET
# -- -runs=1000000`.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-5}
for target in $(cargo +nightly fuzz list); do
    corpus=corpus/$target
    mkdir -p "$corpus"
    echo "fuzz: $target for ${seconds}s"
    cargo +nightly fuzz run --sanitizer none "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
done
