#!/usr/bin/env bash
# End-to-end benchmark: `grandma scrape` beside the Scrapy reference, in the same run.
#   bench/run.sh [--runs N] [extra run_ref.sh args]
# Builds the release binary, sets up the shared bench (nginx, Scrapy venv, fixture site) under
# $BENCH_WORK (default: ./bench-work), and runs both modes interleaved with Scrapy (A B A B).
# Only the ratios it prints count: the machine is shared and noisy.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${GRANDMA_BENCH_DIR:-$repo/../shared/bench}"
export BENCH_WORK="${BENCH_WORK:-$repo/bench-work}"
mkdir -p "$BENCH_WORK"
chmod o+rx "$BENCH_WORK"   # nginx workers run as nobody when we are root
cd "$repo"
cargo build --release -p grandma-cli
"$bench/setup.sh"
"$bench/serve.sh" start
trap '"$bench/serve.sh" stop' EXIT
"$bench/run_ref.sh" --candidate-absolute \
  --candidate-fanout "$repo/bench/candidate.sh fanout {out}" \
  --candidate-chain "$repo/bench/candidate.sh chain {out}" \
  "$@"
