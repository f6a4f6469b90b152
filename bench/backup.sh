#!/usr/bin/env bash
# Backup benchmark: time and peak RSS of `grandma backup create` and `grandma backup restore`
# on a database holding one run of ITEMS (default 1,000,000) items, on SQLite and PostgreSQL:
#   1. SQLite source  → create (SQLite)          → restore into an empty SQLite file
#   2. that archive   → restore into PostgreSQL  → create (PostgreSQL)
#   bench/backup.sh                                   # release build, PG at 127.0.0.1:5432
#   GRANDMA_BIN=target/debug/grandma bench/backup.sh  # an already built binary
#   PG_URL=postgres://postgres@127.0.0.1:5432 bench/backup.sh   # server without a database name
# Prints one line per step: seconds, peak RSS (KiB), archive size.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
items="${ITEMS:-1000000}"
pg="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
cd "$repo"
bin="${GRANDMA_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release -p grandma-cli
  bin="${CARGO_TARGET_DIR:-target}/release/grandma"
fi
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
work="$(mktemp -d)"
db="gs_bench_backup_$$"
cleanup() { psql -q "$pg/postgres" -c "drop database if exists $db" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
src="sqlite://$work/src.db?mode=rwc"
"$bin" db upgrade head --database-url "$src" >/dev/null
# One user, one job, one completed run, then the items in one statement (random text so that
# compression has real work to do).
sqlite3 "$work/src.db" <<SQL
pragma foreign_keys = on;
insert into app_user (user_id, email, password_hash, created_at, updated_at)
  values (randomblob(16), 'bench@example.com', 'x', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00');
insert into job (job_id, owner_id, name, config, created_at, updated_at)
  select randomblob(16), user_id, 'books', '{"name":"books","fields":[{"name":"title"},{"name":"url"},{"name":"price"}]}',
         '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00' from app_user;
-- This sqlite3 may answer json_valid(NULL) with 0, not NULL: the JSON columns get values.
insert into result (result_id, run_id, job_id, owner_id, status, columns, total_items, error_details,
                    checkpoint, created_at)
  select randomblob(16), randomblob(16), job_id, owner_id, 'completed', '["title","url","price"]', $items,
         '{}', '{}',
         '2026-01-01T00:00:00+00:00' from job;
with recursive n(i) as (select 0 union all select i + 1 from n where i < $items - 1)
insert into item (result_id, seq, page, data)
  select (select result_id from result), i, i / 1000,
         json_array('Book ' || i || ' ' || lower(hex(randomblob(8))), 'https://example.com/book/' || i, (i % 5000) / 100.0)
  from n;
SQL
echo "source: $items items, $(du -h "$work/src.db" | cut -f1) SQLite file"
measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r secs rss <"$work/time"
  printf '%-34s %8s s  %8s KiB peak RSS\n' "$label" "$secs" "$rss"
}
measure "create (SQLite)" "$bin" backup create --to "$work/a" --database-url "$src"
archive="$(ls "$work"/a/grandma-backup-*.tar)"
echo "archive: $(du -h "$archive" | cut -f1)"
measure "restore into SQLite" "$bin" backup restore "$archive" --database "sqlite://$work/dst.db?mode=rwc"
psql -q "$pg/postgres" -c "create database $db" >/dev/null
measure "restore into PostgreSQL" "$bin" backup restore "$archive" --database "$pg/$db"
measure "create (PostgreSQL)" "$bin" backup create --to "$work/b" --database-url "$pg/$db"
echo "archive: $(du -h "$work"/b/grandma-backup-*.tar | cut -f1)"
