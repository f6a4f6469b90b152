-- Reverts 0009_conditional_requests.
drop table run_page;
alter table result drop column revisit_base_id;
alter table result drop column pages_not_modified;
alter table result drop column spec_hash;
