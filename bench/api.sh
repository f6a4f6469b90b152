#!/usr/bin/env bash
# API benchmark: wrk against GET /api/v1/jobs (authenticated, 100 jobs) and
# GET /api/v1/results/{id}/items, then the server's peak RSS while it exports a run of
# ITEMS (default 1,000,000) items as CSV, JSON Lines, JSON and XLSX.
#   bench/api.sh                      # SQLite in a temporary data dir
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/gs_bench bench/api.sh   # an empty PG database
# Prints req/s and p99 for each endpoint and the peak RSS (VmHWM) after each export.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
items="${ITEMS:-1000000}"
port="${PORT:-18181}"
base="http://127.0.0.1:$port"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cd "$repo"
cargo build --release -p grandma-cli -p grandma-store --example seed_run
work="$(mktemp -d)"
export GRANDMA_DATA_DIR="$work" GRANDMA_BIND="127.0.0.1:$port"
export GRANDMA_ADMIN_EMAIL=bench@example.com GRANDMA_ADMIN_PASSWORD=bench-password-1
# This measures the endpoints, not the rate limiter (60 requests a minute per client by default).
export GRANDMA_RATE_LIMIT_ENABLED="${GRANDMA_RATE_LIMIT_ENABLED:-false}"
db="${DATABASE_URL:-sqlite://$work/grandma.db?mode=rwc}"
export DATABASE_URL="$db"
server=
start_server() {
  target/release/grandma serve --no-worker >>"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fs "$base/liveness" >/dev/null && return; sleep 0.2; done
  echo "the server did not start; see $work/serve.log" >&2; exit 1
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$work"' EXIT
start_server

json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
token=$(curl -fs -d "username=$GRANDMA_ADMIN_EMAIL&password=$GRANDMA_ADMIN_PASSWORD" "$base/api/v1/auth/token" | json "['access_token']")
auth="Authorization: Bearer $token"
config=$(python3 - <<'PY'
import json
# Six fields, like the books catalogue; the start URL is never fetched (no worker runs).
print(json.dumps({
  "name": "bench", "start_url": "http://shop.example/catalogue/page-1.html",
  "item_selector": "article.product_pod",
  "fields": [{"name": n, "selector": "h3 a"} for n in ["title", "price", "availability", "rating", "image", "url"]],
}))
PY
)
for i in $(seq 100); do
  body=$(python3 -c "import json,sys; c=json.loads(sys.argv[1]); c['name']='bench job %s'%sys.argv[2]; print(json.dumps({'config': c}))" "$config" "$i")
  curl -fs -o /dev/null -H "$auth" -H 'content-type: application/json' -d "$body" "$base/api/v1/jobs/"
done
job_id=$(curl -fs -H "$auth" "$base/api/v1/jobs/?limit=1" | json "['items'][0]['id']")
echo "seeding $items items into one run of job $job_id ..."
result_id=$(target/release/examples/seed_run "$db" "$job_id" "$items")

echo "== GET /api/v1/jobs/?limit=100 (100 jobs)"
wrk -t2 -c16 -d10s --latency -H "$auth" "$base/api/v1/jobs/?limit=100" | grep -E "Requests/sec|99%|Non-2xx"
echo "== GET /api/v1/results/$result_id/items?limit=100&offset=500000"
wrk -t2 -c16 -d10s --latency -H "$auth" "$base/api/v1/results/$result_id/items?limit=100&offset=$((items / 2))" | grep -E "Requests/sec|99%|Non-2xx"

# A fresh server, so its peak RSS below is the exports' and not the load test's.
stop_server
start_server
token=$(curl -fs -d "username=$GRANDMA_ADMIN_EMAIL&password=$GRANDMA_ADMIN_PASSWORD" "$base/api/v1/auth/token" | json "['access_token']")
auth="Authorization: Bearer $token"
rss() { grep VmHWM "/proc/$server/status" | awk '{printf "%.1f MiB", $2/1024}'; }
echo "== peak RSS of a fresh server before exports: $(rss)"
for fmt in csv jsonl json xlsx; do
  start=$(date +%s.%N)
  bytes=$(curl -fs -H "$auth" -o /dev/null -w '%{size_download}' "$base/api/v1/results/$result_id/export/$fmt")
  end=$(date +%s.%N)
  printf "export %-5s %12s bytes in %6.1f s; server peak RSS so far: %s\n" "$fmt" "$bytes" "$(echo "$end - $start" | bc)" "$(rss)"
done
