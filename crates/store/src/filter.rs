//! Listing queries with optional filters.
//!
//! `where ($1 is null or owner_id = $1)` would keep the SQL static but stops SQLite (and
//! PostgreSQL's generic plans) from using the indexes the filters exist for, so listings are
//! assembled from static fragments instead: only the placeholders are numbered at run time and
//! every value is bound, never spliced.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A value bound to a placeholder of a [`Filter`].
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Bool(bool),
    Text(String),
    I64(i64),
    Time(DateTime<Utc>),
}

/// A `where` clause under construction plus its arguments, in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    clause: String,
    pub(crate) args: Vec<Arg>,
}

impl Filter {
    pub(crate) fn new() -> Self {
        Filter::default()
    }

    /// Adds the next placeholder (`$n`) for `arg` and returns its text.
    pub(crate) fn placeholder(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds `<condition> $n`, e.g. `and("owner_id =", Arg::Uuid(id))`.
    pub(crate) fn and(&mut self, condition: &'static str, arg: Arg) -> &mut Self {
        let placeholder = self.placeholder(arg);
        self.push_condition(&format!("{condition} {placeholder}"));
        self
    }

    /// Adds `<expression> like $n escape '\'` when a pattern is present (SQLite has no default
    /// escape character; PostgreSQL's is the same backslash).
    pub(crate) fn and_like(
        &mut self,
        expression: &'static str,
        pattern: Option<String>,
    ) -> &mut Self {
        if let Some(pattern) = pattern {
            let placeholder = self.placeholder(Arg::Text(pattern));
            self.push_condition(&format!("{expression} like {placeholder} escape '\\'"));
        }
        self
    }

    /// Adds the condition when the value is present.
    pub(crate) fn and_opt<T>(
        &mut self,
        condition: &'static str,
        value: Option<T>,
        arg: impl FnOnce(T) -> Arg,
    ) -> &mut Self {
        if let Some(value) = value {
            self.and(condition, arg(value));
        }
        self
    }

    /// Keeps the rows `scope` may see: those of the member's organizations, of the one
    /// organization it is narrowed to, or all.
    pub(crate) fn and_scope(&mut self, scope: crate::types::Scope) -> &mut Self {
        if let Some(user_id) = scope.member_of() {
            let placeholder = self.placeholder(Arg::Uuid(user_id));
            self.push_condition(&format!(
                "org_id in (select org_id from org_member where user_id = {placeholder})"
            ));
        }
        if let Some(org_id) = scope.only_org() {
            self.and("org_id =", Arg::Uuid(org_id));
        }
        self
    }

    fn push_condition(&mut self, condition: &str) {
        self.clause.push_str(if self.clause.is_empty() {
            " where "
        } else {
            " and "
        });
        self.clause.push_str(condition);
    }

    /// `select count(*) from <table><where>`.
    pub(crate) fn count_sql(&self, table: &'static str) -> String {
        format!("select count(*) from {table}{}", self.clause)
    }

    /// `select * from <table><where> order by <order> limit $n offset $m`; consumes the paging
    /// arguments, so call [`Filter::count_sql`] (and clone the args) first.
    pub(crate) fn page_sql(
        &mut self,
        table: &'static str,
        order: &'static str,
        limit: i64,
        offset: i64,
    ) -> String {
        let limit = self.placeholder(Arg::I64(limit));
        let offset = self.placeholder(Arg::I64(offset));
        format!(
            "select * from {table}{} order by {order} limit {limit} offset {offset}",
            self.clause
        )
    }
}

impl crate::db::Store {
    /// One page of `table`'s rows matching `filter`, in `order`, with the total count: the
    /// shape every paged listing of the store shares.
    pub(crate) async fn fetch_page<T>(
        &self,
        table: &'static str,
        order: &'static str,
        mut filter: Filter,
        paging: crate::types::Paging,
    ) -> crate::error::Result<crate::types::Page<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let count_sql = filter.count_sql(table);
        let count_args = filter.args.clone();
        let page_sql = filter.page_sql(table, order, paging.limit, paging.offset);
        let (items, total) = dispatch!(self, |pool, dialect| {
            let items: Vec<T> =
                bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql)), filter.args)
                    .fetch_all(pool)
                    .await?;
            let total: i64 = bind_args!(
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)),
                count_args
            )
            .fetch_one(pool)
            .await?;
            (items, total)
        });
        Ok(crate::types::Page { items, total })
    }
}

/// `%text%` for `like … escape '\'`, lowercased, with the pattern characters escaped so that a
/// user searching for `50%` finds it literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut f = Filter::new();
        f.and("owner_id =", Arg::Uuid(Uuid::nil()))
            .and_opt("enabled =", Some(true), Arg::Bool)
            .and_opt("name like", None::<String>, Arg::Text);
        assert_eq!(
            f.count_sql("job"),
            "select count(*) from job where owner_id = $1 and enabled = $2"
        );
        let sql = f.page_sql("job", "created_at desc", 10, 0);
        assert!(
            sql.ends_with("order by created_at desc limit $3 offset $4"),
            "{sql}"
        );
        assert_eq!(f.args.len(), 4);
    }

    #[test]
    fn like_conditions_name_their_escape() {
        let mut f = Filter::new();
        f.and_like("lower(name)", Some("%x%".into()));
        assert_eq!(
            f.count_sql("job"),
            "select count(*) from job where lower(name) like $1 escape '\\'"
        );
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(contains_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }
}
