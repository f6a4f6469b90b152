-- Organizations own jobs, runs, schedules, webhooks and API tokens; people belong to them with a
-- role. Every account has a personal organization whose id is the account's own id, so the
-- existing rows move into it by copying owner_id. owner_id stays on every row and now means
-- "created by".

create table organization (
    org_id uuid primary key,                  -- a personal organization's is its user's user_id
    name text not null check (char_length(name) between 1 and 100), -- shown to members
    personal_of uuid
        references app_user (user_id) on delete cascade, -- the account whose personal organization this is; null for shared ones
    max_jobs integer check (max_jobs > 0),    -- quota overrides set by an instance admin;
    max_runs_per_day integer check (max_runs_per_day > 0), -- null means the instance default
    max_concurrent_runs integer check (max_concurrent_runs > 0),
    max_stored_items bigint check (max_stored_items > 0),
    max_schedules integer check (max_schedules > 0),
    created_at timestamptz not null,          -- when the organization was created
    updated_at timestamptz not null           -- last change of any column
);

-- One personal organization per account.
create unique index organization_personal_of_key on organization (personal_of);

create table org_member (
    org_id uuid not null
        references organization (org_id) on delete cascade, -- the organization
    user_id uuid not null
        references app_user (user_id) on delete cascade, -- the member
    role text not null check (role in ('owner', 'editor', 'viewer')), -- what the member may do in it
    created_at timestamptz not null,          -- when they joined
    primary key (org_id, user_id)
);
-- Every request looks up the caller's organizations.
create index idx_org_member_user on org_member (user_id, org_id);

create table org_invitation (
    invitation_id uuid primary key,           -- UUID v7
    org_id uuid not null
        references organization (org_id) on delete cascade, -- the organization to join
    email text not null,                      -- who may accept it, lowercased
    role text not null check (role in ('owner', 'editor', 'viewer')), -- the role it grants
    token_hash text not null,                 -- hex SHA-256 of the link's secret; the secret is never stored
    invited_by uuid
        references app_user (user_id) on delete set null, -- who sent it
    expires_at timestamptz not null,          -- refused after this time
    accepted_at timestamptz,                  -- set once accepted; an invitation works once
    accepted_by uuid
        references app_user (user_id) on delete set null, -- the account that accepted it
    created_at timestamptz not null           -- when it was sent
);
create unique index org_invitation_token_hash_key on org_invitation (token_hash);
create index idx_org_invitation_org on org_invitation (org_id, created_at);

insert into organization (org_id, name, personal_of, created_at, updated_at)
select user_id, coalesce(username, email), user_id, created_at, created_at from app_user;
insert into org_member (org_id, user_id, role, created_at)
select user_id, user_id, 'owner', created_at from app_user;

alter table job add column org_id uuid references organization (org_id) on delete cascade; -- the organization that owns the job
alter table result add column org_id uuid references organization (org_id) on delete cascade; -- the job's organization, copied for scoping and fair claiming
alter table schedule add column org_id uuid references organization (org_id) on delete cascade; -- the job's organization, copied for scoping
alter table webhook add column org_id uuid references organization (org_id) on delete cascade; -- the organization whose runs it announces
alter table api_token add column org_id uuid references organization (org_id) on delete cascade; -- the one organization the token acts in
alter table api_token add column scopes jsonb not null default '[]'; -- JSON array of the scope names it grants
alter table api_token add column expires_at timestamptz; -- refused after this time; null never expires

update job set org_id = owner_id;
update result set org_id = owner_id;
update schedule set org_id = owner_id;
update webhook set org_id = owner_id;
update api_token set org_id = user_id,
    scopes = '["jobs:read","jobs:write","runs:write","results:read","schedules:read","schedules:write","webhooks:read","webhooks:write","org:read","org:write","admin"]';

alter table job alter column org_id set not null;
alter table result alter column org_id set not null;
alter table schedule alter column org_id set not null;
alter table webhook alter column org_id set not null;
alter table api_token alter column org_id set not null;

create index idx_job_org_enabled on job (org_id, enabled);
create index idx_result_org_created on result (org_id, created_at);
create index idx_schedule_org on schedule (org_id);
create index idx_webhook_org_enabled on webhook (org_id, enabled);
create index idx_api_token_org on api_token (org_id);
