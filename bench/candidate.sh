#!/bin/sh
# The benchmark candidate: `grandma scrape` on the fixture site, in the runner's two modes.
#   candidate.sh fanout|chain   (BENCH_BASE, BENCH_PAGES, BENCH_OUT come from the runner)
# It writes a job file and execs the release binary; keep it cheap, it is inside the timed run.
set -eu
mode=$1
job=$(mktemp "${TMPDIR:-/tmp}/grandma-bench-XXXXXX.yaml")
if [ "$mode" = fanout ]; then
  pagination="pagination: {type: url_pattern, url_pattern: 'page-{page}.html'}
max_pages: $BENCH_PAGES
concurrent_requests: 16"
else
  pagination="pagination: {type: next_button, next_button_selector: 'li.next a'}
max_pages: $BENCH_PAGES
concurrent_requests: 1"
fi
cat > "$job" <<JOB
name: bench-$mode
start_url: $BENCH_BASE/catalogue/page-1.html
item_selector: article.product_pod
fields:
  - {name: title, selector: h3 a, attribute: custom, custom_attribute: title}
  - {name: price, selector: p.price_color}
  - {name: availability, selector: p.availability}
  - {name: rating, selector: "substring-after(.//p[contains(@class, 'star-rating')]/@class, 'star-rating ')", selector_type: xpath}
  - {name: image, selector: img, attribute: src}
  - {name: url, selector: h3 a, attribute: href}
$pagination
min_delay_ms: 0
max_delay_ms: 0
respect_robots_txt: false
JOB
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/target/release/grandma" scrape "$job" -o "$BENCH_OUT" --format jsonl --quiet
status=$?
rm -f "$job"
exit $status
