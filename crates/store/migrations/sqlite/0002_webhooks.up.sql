-- Webhooks (seed §5): endpoints, one delivery per event and endpoint (an outbox written with the
-- run's final status), and every HTTP attempt of a delivery.

create table webhook (
    webhook_id blob not null primary key,     -- UUID v7
    owner_id blob not null
        references app_user (user_id) on delete cascade, -- the user who owns the endpoint
    name text not null,                       -- display name
    url text not null,                        -- target URL (checked by the network guard)
    enabled integer not null default 1 check (enabled in (0, 1)), -- disabled webhooks get no deliveries
    events text not null check (json_valid(events)), -- JSON array of event names (job.completed, ...)
    job_id blob
        references job (job_id) on delete cascade, -- only this job's runs; null for all jobs
    secret text,                              -- HMAC-SHA256 key for X-Webhook-Signature
    headers text not null default '{}' check (json_valid(headers)), -- extra request headers (JSON object)
    retry_on_failure integer not null default 1 check (retry_on_failure in (0, 1)), -- retry failed deliveries with backoff
    max_retries integer not null default 5,   -- retries after the first attempt
    consecutive_failures integer not null default 0, -- finally failed deliveries in a row
    disabled_reason text,                     -- why the system disabled the webhook, if it did
    created_at text not null check (created_at like '____-__-__T%'), -- when the webhook was created
    updated_at text not null check (updated_at like '____-__-__T%') -- last change of any column
) strict;
create index idx_webhook_owner_enabled on webhook (owner_id, enabled);
create index idx_webhook_job on webhook (job_id);

create table webhook_delivery (
    delivery_id blob not null primary key,    -- UUID v7
    webhook_id blob not null
        references webhook (webhook_id) on delete cascade, -- the endpoint
    result_id blob
        references result (result_id) on delete set null, -- the run, kept null once deleted
    event_type text not null,                 -- event name, e.g. job.completed
    status text not null default 'pending'
        check (status in ('pending', 'delivered', 'failed', 'retrying')), -- delivery state
    payload text not null check (json_valid(payload)), -- the JSON body sent
    response_status integer,                  -- HTTP status of the latest attempt
    response_body text,                       -- start of the latest response body (truncated)
    attempts integer not null default 0,      -- HTTP attempts made
    next_retry text check (next_retry like '____-__-__T%'), -- not before this time; null once final
    delivered_at text check (delivered_at like '____-__-__T%'), -- when a 2xx was received
    lease_owner text,                         -- dispatcher holding the delivery
    lease_expires_at text check (lease_expires_at like '____-__-__T%'), -- end of that dispatcher's lease
    created_at text not null check (created_at like '____-__-__T%') -- when the event happened
) strict;
create index idx_delivery_webhook_status on webhook_delivery (webhook_id, status);
create index idx_delivery_status_next_retry on webhook_delivery (status, next_retry);
create index idx_delivery_result on webhook_delivery (result_id);

create table webhook_attempt (
    attempt_id blob not null primary key,     -- UUID v7
    delivery_id blob not null
        references webhook_delivery (delivery_id) on delete cascade, -- the delivery tried
    attempted_at text not null check (attempted_at like '____-__-__T%'), -- when the request was sent
    response_status integer,                  -- HTTP status, null when no response
    error text,                               -- transport error or non-2xx summary
    duration_ms integer not null              -- request duration in milliseconds
) strict;
create index idx_attempt_delivery on webhook_attempt (delivery_id, attempted_at);
