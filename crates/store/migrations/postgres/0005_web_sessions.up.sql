-- Server-side sessions of the web app. The browser holds a random token in an HttpOnly cookie;
-- only its SHA-256 is stored, so a copy of the database signs nobody in. Signing out deletes
-- the row; an expired row authenticates nobody and is purged when its user signs in again.
create table web_session (
    session_id uuid primary key,              -- UUID v7
    user_id uuid not null
        references app_user (user_id) on delete cascade, -- the signed-in user
    token_hash text not null,                 -- hex SHA-256 of the cookie's token
    csrf_token text not null,                 -- random; state-changing requests made with the cookie must echo it
    created_at timestamptz not null,          -- when the user signed in
    expires_at timestamptz not null           -- the session ends at this time
);
create unique index web_session_token_hash_key on web_session (token_hash);
create index idx_web_session_user on web_session (user_id);
create index idx_web_session_expires on web_session (expires_at);
