-- Reverts 0006_page_snapshots.
drop table page_snapshot;
