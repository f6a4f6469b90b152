#!/usr/bin/env bash
# Claim latency with a long queue: 100 organizations x 1,000 pending runs, on SQLite (a
# temporary file) and PostgreSQL (a fresh database on GRANDMA_TEST_PG_URL's server, dropped
# afterwards). Prints p50 and p99 of 500 fair claims (organizations take turns) against 500
# claims of the single-queue pick it replaced, alternating, on the same queue.
#   bench/claim.sh
#   GRANDMA_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test bench/claim.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export GRANDMA_TEST_PG_URL="${GRANDMA_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo test ${CARGO_PROFILE:+--profile "$CARGO_PROFILE"} -p grandma-store --test it claim_bench \
  -- --ignored --nocapture --test-threads 1 2>&1 | grep -E '^(FIGURES|Sqlite|Postgres|test result)'
