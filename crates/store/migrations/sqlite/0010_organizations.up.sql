-- Organizations own jobs, runs, schedules, webhooks and API tokens; people belong to them with a
-- role. Every account has a personal organization whose id is the account's own id, so the
-- existing rows move into it by copying owner_id. owner_id stays on every row and now means
-- "created by".

create table organization (
    org_id blob not null primary key,         -- UUID; a personal organization's is its user's user_id
    name text not null check (length(name) between 1 and 100), -- shown to members
    personal_of blob
        references app_user (user_id) on delete cascade, -- the account whose personal organization this is; null for shared ones
    max_jobs integer check (max_jobs > 0),    -- quota overrides set by an instance admin;
    max_runs_per_day integer check (max_runs_per_day > 0), -- null means the instance default
    max_concurrent_runs integer check (max_concurrent_runs > 0),
    max_stored_items integer check (max_stored_items > 0),
    max_schedules integer check (max_schedules > 0),
    created_at text not null check (created_at like '____-__-__T%'), -- when the organization was created
    updated_at text not null check (updated_at like '____-__-__T%') -- last change of any column
) strict;

-- One personal organization per account.
create unique index organization_personal_of_key on organization (personal_of);

create table org_member (
    org_id blob not null
        references organization (org_id) on delete cascade, -- the organization
    user_id blob not null
        references app_user (user_id) on delete cascade, -- the member
    role text not null check (role in ('owner', 'editor', 'viewer')), -- what the member may do in it
    created_at text not null check (created_at like '____-__-__T%'), -- when they joined
    primary key (org_id, user_id)
) strict;
-- Every request looks up the caller's organizations.
create index idx_org_member_user on org_member (user_id, org_id);

create table org_invitation (
    invitation_id blob not null primary key,  -- UUID v7
    org_id blob not null
        references organization (org_id) on delete cascade, -- the organization to join
    email text not null,                      -- who may accept it, lowercased
    role text not null check (role in ('owner', 'editor', 'viewer')), -- the role it grants
    token_hash text not null,                 -- hex SHA-256 of the link's secret; the secret is never stored
    invited_by blob
        references app_user (user_id) on delete set null, -- who sent it
    expires_at text not null check (expires_at like '____-__-__T%'), -- refused after this time
    accepted_at text check (accepted_at like '____-__-__T%'), -- set once accepted; an invitation works once
    accepted_by blob
        references app_user (user_id) on delete set null, -- the account that accepted it
    created_at text not null check (created_at like '____-__-__T%') -- when it was sent
) strict;
create unique index org_invitation_token_hash_key on org_invitation (token_hash);
create index idx_org_invitation_org on org_invitation (org_id, created_at);

insert into organization (org_id, name, personal_of, created_at, updated_at)
select user_id, coalesce(username, email), user_id, created_at, created_at from app_user;
insert into org_member (org_id, user_id, role, created_at)
select user_id, user_id, 'owner', created_at from app_user;

-- SQLite adds a column with a foreign key only when it may be null, so "not null" is enforced
-- by the triggers below, as PostgreSQL's constraint does.
alter table job add column org_id blob references organization (org_id) on delete cascade; -- the organization that owns the job
alter table result add column org_id blob references organization (org_id) on delete cascade; -- the job's organization, copied for scoping and fair claiming
alter table schedule add column org_id blob references organization (org_id) on delete cascade; -- the job's organization, copied for scoping
alter table webhook add column org_id blob references organization (org_id) on delete cascade; -- the organization whose runs it announces
alter table api_token add column org_id blob references organization (org_id) on delete cascade; -- the one organization the token acts in
alter table api_token add column scopes text not null default '[]' check (json_valid(scopes)); -- JSON array of the scope names it grants
alter table api_token add column expires_at text check (expires_at like '____-__-__T%'); -- refused after this time; null never expires

update job set org_id = owner_id;
update result set org_id = owner_id;
update schedule set org_id = owner_id;
update webhook set org_id = owner_id;
update api_token set org_id = user_id,
    scopes = '["jobs:read","jobs:write","runs:write","results:read","schedules:read","schedules:write","webhooks:read","webhooks:write","org:read","org:write","admin"]';

create index idx_job_org_enabled on job (org_id, enabled);
create index idx_result_org_created on result (org_id, created_at);
create index idx_schedule_org on schedule (org_id);
create index idx_webhook_org_enabled on webhook (org_id, enabled);
create index idx_api_token_org on api_token (org_id);

create trigger job_org_required_insert before insert on job when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: job.org_id'); end;
create trigger job_org_required_update before update of org_id on job when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: job.org_id'); end;
create trigger result_org_required_insert before insert on result when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: result.org_id'); end;
create trigger result_org_required_update before update of org_id on result when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: result.org_id'); end;
create trigger schedule_org_required_insert before insert on schedule when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: schedule.org_id'); end;
create trigger schedule_org_required_update before update of org_id on schedule when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: schedule.org_id'); end;
create trigger webhook_org_required_insert before insert on webhook when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: webhook.org_id'); end;
create trigger webhook_org_required_update before update of org_id on webhook when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: webhook.org_id'); end;
create trigger api_token_org_required_insert before insert on api_token when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: api_token.org_id'); end;
create trigger api_token_org_required_update before update of org_id on api_token when new.org_id is null
begin select raise(abort, 'NOT NULL constraint failed: api_token.org_id'); end;
