#!/usr/bin/env bash
# The browser benchmark, in one run on one machine:
#   1. `grandma scrape` (fetcher_type: browser, 4 pages at once) and a Playwright script driving
#      the same Chromium (4 pages at once; once as usually written, once blocking images, media
#      and fonts like GrandmaScraper does) on the same 200 JS-rendered pages, interleaved;
#   2. what `auto` costs on 200 pages that need no browser: `requests` beside `auto`.
# Reports pages/s, CPU seconds per page (the whole process tree: browser included) and peak memory
# (PSS summed over the tree), median of --runs runs (default 3). Only ratios within one run count.
#
#   bench/browser/run.sh [--runs N] [--pages N] [--binary PATH]
#   (--binary: an already built `grandma` instead of building the release one)
#
# Needs: cargo, python3 (venv), Debian's chromium. Playwright comes from PyPI into
# $BENCH_WORK/browser/venv; it never downloads a browser (it is pointed at /usr/bin/chromium).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/bench/browser"
work="${BENCH_WORK:-$repo/bench-work}/browser"
runs=3
pages=200
tabs=4
grandma=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --pages) pages=$2; shift 2 ;;
    --binary) grandma=$(realpath "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
cd "$repo"
if [[ -z "$grandma" ]]; then
  cargo build --release -p grandma-cli
  grandma="${CARGO_TARGET_DIR:-$repo/target}/release/grandma"
fi
if [[ ! -x "$work/venv/bin/python" ]]; then
  python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install -q "playwright==1.65.2"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$here/site.py" "$port" > "$work/site.log" 2>&1 &
site_pid=$!
trap 'kill "$site_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1]).read()" \
    "http://127.0.0.1:$port/js/page-1.html" 2>/dev/null && break
  sleep 0.1
done
base="http://127.0.0.1:$port"

job() { # job NAME KIND FETCHER
  cat > "$work/$1.yaml" <<JOB
name: bench $1
start_url: $base/$2/page-1.html
item_selector: li.product
fields:
  - {name: name, selector: .name}
  - {name: price, selector: .price}
  - {name: url, selector: a.link, attribute: href}
  - {name: image, selector: img.thumb, attribute: src}
pagination: {type: url_pattern, url_pattern: "$base/$2/page-{page}.html"}
max_pages: $pages
concurrent_requests: $tabs
fetcher_type: $3
min_delay_ms: 0
max_delay_ms: 0
respect_robots_txt: false
JOB
}
job browser js browser
job requests html requests
job auto html auto

measure() { # measure LABEL OUT.csv COMMAND...
  local label=$1 out=$2
  shift 2
  local figures
  figures=$(python3 "$here/measure.py" -- "$@")
  local rows
  rows=$(($(wc -l < "$out") - 1))
  echo "{\"label\": \"$label\", \"rows\": $rows, \"figures\": $figures}" >> "$work/results.jsonl"
  echo "$label: $figures rows=$rows"
}

rm -f "$work/results.jsonl"
for run in $(seq "$runs"); do
  echo "--- run $run of $runs"
  measure grandma "$work/grandma.csv" "$grandma" scrape -q "$work/browser.yaml" -o "$work/grandma.csv"
  measure playwright "$work/pw.csv" "$work/venv/bin/python" "$here/playwright_ref.py" "$base" "$pages" "$tabs" "$work/pw.csv"
  measure playwright-blocking "$work/pwb.csv" "$work/venv/bin/python" "$here/playwright_ref.py" "$base" "$pages" "$tabs" "$work/pwb.csv" --block-media
  measure requests "$work/requests.csv" "$grandma" scrape -q "$work/requests.yaml" -o "$work/requests.csv"
  measure auto "$work/auto.csv" "$grandma" scrape -q "$work/auto.yaml" -o "$work/auto.csv"
done

python3 - "$work/results.jsonl" "$pages" <<'PY'
import json, statistics, sys
pages = int(sys.argv[2])
results = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in results:
    assert r["rows"] == pages * 20, f"{r['label']} gave {r['rows']} rows, not {pages * 20}"
    by.setdefault(r["label"], []).append(r["figures"])
summary = {}
for label, runs in by.items():
    summary[label] = {
        "pages_per_s": statistics.median(pages / f["wall"] for f in runs),
        "cpu_ms_per_page": statistics.median(1000 * f["cpu"] / pages for f in runs),
        "peak_pss_mib": max(f["peak_pss_mib"] for f in runs),
    }
print(f"\n{'':22}{'pages/s':>10}{'CPU ms/page':>14}{'peak PSS MiB':>14}")
for label, s in summary.items():
    print(f"{label:22}{s['pages_per_s']:10.1f}{s['cpu_ms_per_page']:14.1f}{s['peak_pss_mib']:14.0f}")
g, p, pb = summary["grandma"], summary["playwright"], summary["playwright-blocking"]
print(f"\ngrandma / playwright:          {g['pages_per_s'] / p['pages_per_s']:.2f}x pages/s, "
      f"{g['cpu_ms_per_page'] / p['cpu_ms_per_page']:.2f}x CPU per page")
print(f"grandma / playwright-blocking: {g['pages_per_s'] / pb['pages_per_s']:.2f}x pages/s, "
      f"{g['cpu_ms_per_page'] / pb['cpu_ms_per_page']:.2f}x CPU per page")
a, r = summary["auto"], summary["requests"]
print(f"auto / requests (no browser needed): {a['pages_per_s'] / r['pages_per_s']:.2f}x pages/s, "
      f"{a['cpu_ms_per_page'] / r['cpu_ms_per_page']:.2f}x CPU per page")
PY
