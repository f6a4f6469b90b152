//! `run_page`: what each run found on each page it delivered (validators, links, counts), so
//! that the next run of the same job document asks for the page conditionally and, when it is
//! answered 304, copies the page's items in the database instead of extracting them again
//! ([`grandma_engine::revisit`]). Rows are written with the page's items, in
//! [`Store::save_crawled_page`](crate::Store::save_crawled_page).

use uuid::Uuid;

use crate::db::Store;
use crate::error::Result;

/// One page of an earlier run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunPage {
    pub page: i32,
    pub url: String,
    pub final_url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_url: Option<String>,
    pub matched: i32,
    pub items: i32,
    pub dropped: i32,
    pub not_modified: bool,
}

/// The pages of the run a new run may reuse, and which run that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReusablePages {
    pub result_id: Uuid,
    /// Only pages with validators.
    pub pages: Vec<RunPage>,
}

/// A page answered 304: copy these stored items of `from_run` into the run being saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopiedItems {
    pub from_run: Uuid,
    pub from_page: i32,
    /// The first this many of the page's items, in order.
    pub items: i64,
}

/// The newest completed run of job `$1` other than `$2` that crawled with job document `$3`
/// and still has its items.
const SQL_REUSABLE_RUN: &str = "select result_id from result where job_id = $1 \
     and result_id <> $2 and status = 'completed' and items_pruned = $4 and spec_hash = $3 \
     order by completed_at desc, result_id desc limit 1";

/// Copies the first `$6` items of page `$4` of run `$3` into run `$1` as page `$5`, numbered
/// from `$2`, keeping their values and hashes (so the comparison sees them as unchanged). A
/// page's items have consecutive numbers from its recorded `first_seq` (each page is stored by
/// one save), so this is a range of the item table's primary key.
pub(crate) const SQL_COPY_ITEMS: &str = "insert into item \
     (result_id, seq, page, data, key_hash, content_hash) \
     select $1, $2 + (p.seq - b.first_seq), $5, p.data, p.key_hash, p.content_hash \
     from run_page b join item p on p.result_id = b.result_id \
         and p.seq >= b.first_seq and p.seq < b.first_seq + $6 \
     where b.result_id = $3 and b.page = $4";

/// Records a delivered page. `$1` run, `$2` page, `$3` URL, `$4` final URL, `$5` ETag, `$6`
/// Last-Modified, `$7` next URL, `$8` matched, `$9` items, `$10` dropped, `$11` answered 304,
/// `$12` first item's seq.
pub(crate) const SQL_INSERT_PAGE: &str = "insert into run_page (result_id, page, url, \
     final_url, etag, last_modified, next_url, matched, items, dropped, not_modified, \
     first_seq) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     on conflict (result_id, page) do nothing";

impl Store {
    /// Records the job document run `result_id` crawls with (its digest), while `worker_id`
    /// holds the run; `LeaseLost` otherwise.
    pub async fn set_run_spec(
        &self,
        result_id: Uuid,
        worker_id: &str,
        spec_hash: &str,
    ) -> Result<()> {
        let done = dispatch!(self, |pool, dialect| {
            sqlx::query(
                "update result set spec_hash = $3 \
                 where result_id = $1 and lease_owner = $2 and status = 'running'",
            )
            .bind(result_id)
            .bind(worker_id)
            .bind(spec_hash)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done == 0 {
            return Err(crate::StoreError::LeaseLost);
        }
        Ok(())
    }

    /// The pages with validators of the newest completed run of `job_id` (other than
    /// `result_id`) that crawled with the same job document and whose items were not pruned;
    /// `None` when there is no such run. The run `worker_id` holds (`result_id`) records which
    /// one it is (`revisit_base_id`), so that retention keeps that run's items until this one
    /// ends; `LeaseLost` when the worker does not hold it.
    pub async fn reusable_pages(
        &self,
        job_id: Uuid,
        result_id: Uuid,
        worker_id: &str,
        spec_hash: &str,
    ) -> Result<Option<ReusablePages>> {
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let run: Option<Uuid> = sqlx::query_scalar(SQL_REUSABLE_RUN)
                .bind(job_id)
                .bind(result_id)
                .bind(spec_hash)
                .bind(false)
                .fetch_optional(&mut *tx)
                .await?;
            let held = sqlx::query(
                "update result set revisit_base_id = $3 \
                 where result_id = $1 and lease_owner = $2 and status = 'running'",
            )
            .bind(result_id)
            .bind(worker_id)
            .bind(run)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if held == 0 {
                return Err(crate::StoreError::LeaseLost);
            }
            let found = match run {
                None => None,
                Some(run) => {
                    let pages: Vec<RunPage> = sqlx::query_as(
                        "select page, url, final_url, etag, last_modified, next_url, matched, \
                         items, dropped, not_modified from run_page where result_id = $1 \
                         and (etag is not null or last_modified is not null) order by page",
                    )
                    .bind(run)
                    .fetch_all(&mut *tx)
                    .await?;
                    Some(ReusablePages {
                        result_id: run,
                        pages,
                    })
                }
            };
            tx.commit().await?;
            found
        }))
    }

    /// The pages run `result_id` recorded, in page order.
    pub async fn run_pages(&self, result_id: Uuid) -> Result<Vec<RunPage>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select page, url, final_url, etag, last_modified, next_url, matched, items, \
                 dropped, not_modified from run_page where result_id = $1 order by page",
            )
            .bind(result_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
