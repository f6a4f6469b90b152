-- Repeat runs that ask before they download: each run records, per delivered page, the page's
-- validators and what the crawl found on it, so the next run of the same job document sends
-- If-None-Match / If-Modified-Since and, on 304, copies that page's stored items and follows the
-- links recorded here instead of downloading and extracting the page again.
alter table result add column spec_hash text;  -- digest of the job document the run crawled with; items are reused only between runs with the same one
alter table result add column pages_not_modified integer not null default 0; -- pages answered 304 whose items were copied from the earlier run
alter table result add column revisit_base_id blob;  -- the earlier run whose pages this one asks for conditionally; retention keeps that run's items while this one is pending or running

-- One row per page a run delivered.
create table run_page (
    result_id blob not null
        references result (result_id) on delete cascade, -- the run
    page integer not null,               -- page number in the run (item.page)
    url text not null,                   -- the URL asked for; the next run looks pages up by it
    final_url text not null,             -- where redirects ended; the validators belong to it
    etag text,                           -- the ETag answered; null with last_modified null: never asked conditionally (browser, page cut short)
    last_modified text,                  -- the Last-Modified answered
    next_url text,                       -- the next page's link found on the page (next_button)
    matched integer not null,            -- elements the item selector matched (0 ends pagination)
    first_seq integer not null,           -- item.seq of the page's first item (its items are consecutive); a replay copies them by this range
    items integer not null,              -- items stored for the page
    dropped integer not null,            -- items dropped for a missing required field
    not_modified integer not null default 0 check (not_modified in (0, 1)), -- answered 304: its items were copied
    primary key (result_id, page)
) strict;
