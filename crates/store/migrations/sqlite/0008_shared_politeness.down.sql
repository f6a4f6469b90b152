-- Reverts 0008_shared_politeness.
drop table robots_cache;
drop table host_slot;
