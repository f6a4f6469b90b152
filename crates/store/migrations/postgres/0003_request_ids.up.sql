-- The ID of the API request that queued a run, carried to the run's logs and to the
-- X-Request-ID header of the webhook deliveries it causes (null for scheduled runs).
alter table result add column request_id text;
alter table webhook_delivery add column request_id text;
