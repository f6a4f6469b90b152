-- Politeness that holds across workers: each site's next request slot and each origin's
-- robots.txt, read and written by every worker process instead of kept in each one's memory.

-- One row per host a worker has sent a request to.
create table host_slot (
    -- The host as in the URL (lowercase, without the port).
    host text not null primary key,
    -- When the next request to the host may be sent, in Unix milliseconds by the database's
    -- clock (PostgreSQL) or the single process's (SQLite); moved on atomically by each
    -- reservation: max(now, next_free_ms) + the job's delay.
    next_free_ms bigint not null
);

-- robots.txt as one worker fetched it, for the others.
create table robots_cache (
    -- scheme://host[:port], as the URL's origin.
    origin text not null primary key,
    -- The file's first 500 KiB (as text); null: no rules (the site answered 4xx).
    body text,
    -- Unix milliseconds after which the file is fetched again.
    expires_ms bigint not null
);
