#!/usr/bin/env bash
# Criterion benchmark of extraction on one fixture page (target: ≤ 1.7 ms per page).
# Generates the fixture site with the shared bench's generator if it is not there yet.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${GRANDMA_BENCH_DIR:-$repo/../shared/bench}"
export BENCH_WORK="${BENCH_WORK:-$repo/bench-work}"
if [ ! -f "$BENCH_WORK/site/catalogue/page-1.html" ]; then
  mkdir -p "$BENCH_WORK"
  python3 "$bench/gen_site.py"
fi
export GRANDMA_BENCH_PAGE="$BENCH_WORK/site/catalogue/page-1.html"
cd "$repo"
exec cargo bench -p grandma-engine --bench extract -- "$@"
