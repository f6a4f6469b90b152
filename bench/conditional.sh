#!/usr/bin/env bash
# Conditional requests on repeat runs: a fixture site of 200 pages (20 products each, about
# 12 KB a page) on 127.0.0.1 that honours If-None-Match / If-Modified-Since. Two twin jobs crawl
# it once; 20 pages (10%) then change; run 2 of one job asks with the last run's validators
# ([worker] conditional_requests = true), run 2 of the other fetches everything (false). Prints
# for both: the site's full answers and 304s, body bytes sent, time the site spent answering,
# the runs' wall time and the test process's CPU time, and their ratios. Once on SQLite, once
# on PostgreSQL (a fresh database on GRANDMA_TEST_PG_URL's server, dropped afterwards).
#   bench/conditional.sh
#   PROFILE=release bench/conditional.sh    # an optimised build (builds every crate again)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export GRANDMA_TEST_PG_URL="${GRANDMA_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
profile=()
if [ "${PROFILE:-}" = release ]; then profile=(--release); fi
cargo test "${profile[@]}" --workspace --test conditional -- --ignored --nocapture \
  --test-threads 1 conditional_figures
