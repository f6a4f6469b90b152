-- Page snapshots: sanitized copies of pages that a person picks items on in the web app. Each
-- belongs to one user and expires; the store keeps each user's count and bytes bounded.

create table page_snapshot (
    snapshot_id blob not null primary key,    -- UUID v7
    owner_id blob not null
        references app_user (user_id) on delete cascade, -- the user who asked for it
    url text not null,                        -- the address asked for
    final_url text not null,                  -- the address after redirects; links resolve against it
    title text,                               -- the page's <title>
    fetcher_type text not null,               -- auto, requests or browser, as asked
    html text not null,                       -- the sanitized page, every element numbered
    size_bytes integer not null,              -- bytes of html
    created_at text not null check (created_at like '____-__-__T%'), -- when it was taken
    expires_at text not null check (expires_at like '____-__-__T%') -- not served after this time
) strict;
create index idx_snapshot_owner_created on page_snapshot (owner_id, created_at);
create index idx_snapshot_expires on page_snapshot (expires_at);
