#!/usr/bin/env bash
# Validates the monitoring pack without Docker: promtool on the Prometheus config and rules,
# JSON sanity of the dashboards. (That every metric a dashboard queries exists in a real
# /metrics scrape is checked by crates/server/tests/observability.rs.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v promtool >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
promtool check rules prometheus/alerts.yml
# The config names a credentials file that only exists in the container: check a copy without it.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed -e '/credentials_file/d' -e '/authorization:/d' -e '/type: Bearer/d' \
    -e "s#/etc/prometheus/alerts.yml#$PWD/prometheus/alerts.yml#" \
    prometheus/prometheus.yml > "$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml"
for f in grafana/dashboards/*.json; do
  python3 - "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["uid"] and d["title"] and d["panels"], sys.argv[1]
for p in d["panels"]:
    assert p["targets"] and all(t["expr"] for t in p["targets"]), p["title"]
print(f"{sys.argv[1]}: {len(d['panels'])} panels ok")
PY
done
echo "deploy pack ok"
