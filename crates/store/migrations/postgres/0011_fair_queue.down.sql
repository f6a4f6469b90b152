-- Reverts 0011_fair_queue.
drop index idx_result_leased;
drop index idx_result_queue;
alter table organization drop column last_claimed_at;
