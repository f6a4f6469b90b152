-- Fair queueing: workers take turns between organizations instead of draining the oldest run
-- first, so one organization's thousand queued runs do not hold back another's single run, and
-- an organization never has more runs crawled at once than its concurrent-run limit.
alter table organization add column last_claimed_at timestamptz; -- when a worker last claimed one of its runs; the organization served least recently (never first) goes next

-- The queue proper (pending and running runs only, so it stays small however many finished runs
-- there are), ordered as a claim reads it: the organizations that have queued runs, then each
-- organization's oldest run.
create index idx_result_queue on result (org_id, created_at, result_id)
    where status in ('pending', 'running');
-- An organization's running runs by lease end: those still leased count against its
-- concurrent-run limit, the expired ones are a dead worker's, to be taken over.
create index idx_result_running on result (org_id, lease_expires_at)
    where status = 'running';
