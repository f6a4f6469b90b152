#!/usr/bin/env bash
# Comparison benchmark: stores a run of ITEMS items (default 1,000,000) and a second one with
# about 10% differences (4% changed, 3% removed, 3% new, order shuffled), then times the
# completion of the second run, which compares the two inside the database, and prints the
# counts, the time and the peak RSS of the process during it. Once on SQLite (a temporary
# file), once on PostgreSQL (a fresh database on PG_URL's server, dropped afterwards).
#   bench/diff.sh
#   ITEMS=100000 PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/diff.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
items="${ITEMS:-1000000}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cd "$repo"
cargo build --release -p grandma-store --example diff_bench
bin="${CARGO_TARGET_DIR:-target}/release/examples/diff_bench"
work="$(mktemp -d)"
db="gs_diff_bench_$$"
cleanup() {
  rm -rf "$work"
  psql "$pg_url" -qc "drop database if exists $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== SQLite"
"$bin" "sqlite://$work/bench.db?mode=rwc" "$items"
echo "== PostgreSQL"
psql "$pg_url" -qc "create database $db" >/dev/null
"$bin" "${pg_url%/*}/$db" "$items"
