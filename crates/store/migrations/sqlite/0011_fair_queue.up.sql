-- Fair queueing: workers take turns between organizations instead of draining the oldest run
-- first, so one organization's thousand queued runs do not hold back another's single run, and
-- an organization never has more runs crawled at once than its concurrent-run limit.
alter table organization add column last_claimed_at text
    check (last_claimed_at like '____-__-__T%'); -- when a worker last claimed one of its runs; the organization served least recently (never first) goes next

-- The queue proper (pending and running runs only, so it stays small however many finished runs
-- there are), ordered as a claim reads it: the organizations that have queued runs, then each
-- organization's oldest run.
create index idx_result_queue on result (org_id, created_at, result_id)
    where status in ('pending', 'running');
-- Leased runs by organization and lease end: those still leased count against the
-- organization's concurrent-run limit. A run has a lease only while it is running (the claim
-- sets it; finishing or releasing the run clears it), so "leased" is "running"; the condition
-- is on the lease rather than the status so that no plan can count through the status index,
-- which would walk every organization's running runs for each organization.
create index idx_result_leased on result (org_id, lease_expires_at)
    where lease_expires_at is not null;
