-- What changed between runs of a job. Each item carries two 64-bit hashes computed by the worker
-- when it saves the page (key: the job's item_key fields; content: every value), so that two runs
-- are compared with set operations on the hashes, in the database, never by loading items. Items
-- stored before this migration have no hashes and are never compared.
alter table item add column key_hash integer;      -- hash of the item's key fields; null before this migration
alter table item add column content_hash integer;  -- hash of all its values; null before this migration
-- Serves the diff (is this key in that run? the first item of a key) and duplicate counting.
create index idx_item_result_key on item (result_id, key_hash, seq);

alter table result add column duplicate_keys integer;  -- items whose key an earlier item of the run already had; null until the run completed
alter table result add column diff_base_id blob;       -- the previous completed run of the job it was compared with; null: first run, or not compared
alter table result add column new_items integer;       -- keys absent from the base run; null until compared
alter table result add column changed_items integer;   -- keys in both runs whose content differs
alter table result add column removed_items integer;   -- keys of the base run absent from this one
alter table result add column unchanged_items integer; -- keys in both runs with the same content
alter table result add column quality text check (json_valid(quality)); -- per-field fill rates and per-page item counts of a completed run (JSON object)
alter table result add column items_pruned integer not null default 0 check (items_pruned in (0, 1)); -- the items were deleted by retention; the counts stay

-- One row per item that is new, changed or removed in a run compared with its base run. Rows of
-- changed and removed items keep the base run's values, so a change can be shown after the base
-- run's items were pruned.
create table item_change (
    result_id blob not null
        references result (result_id) on delete cascade, -- the run the change belongs to
    kind text not null check (kind in ('new', 'changed', 'removed')), -- what happened to the item
    seq integer not null,                     -- the item's position in this run (new, changed) or in the base run (removed)
    old_data text check (json_valid(old_data)), -- the base run's values (changed, removed), aligned with the base run's columns
    primary key (result_id, kind, seq)
) strict;
-- Serves exports of only the new or changed items, in item order.
create index idx_item_change_seq on item_change (result_id, seq);
