-- Reverts 0007_item_changes.
drop index idx_item_change_seq;
drop table item_change;
alter table result drop column items_pruned;
alter table result drop column quality;
alter table result drop column unchanged_items;
alter table result drop column removed_items;
alter table result drop column changed_items;
alter table result drop column new_items;
alter table result drop column diff_base_id;
alter table result drop column duplicate_keys;
drop index idx_item_result_key;
alter table item drop column content_hash;
alter table item drop column key_hash;
