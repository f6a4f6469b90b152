//! Paging of listings: the `limit`/`offset` query and the `{items, total, limit, offset}`
//! answer every listing shares.

use grandma_store::Paging;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};

/// Default page size of listings.
pub const DEFAULT_LIMIT: i64 = 50;

/// `limit` and `offset` of a listing.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1..1000 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl PageQuery {
    pub fn paging(self) -> ApiResult<Paging> {
        paging(self.limit, self.offset)
    }
}

/// The paging of every listing: `limit` is clamped to 1..1000 (default 50); a negative
/// `offset` is a 422, as in exports.
pub fn paging(limit: Option<i64>, offset: Option<i64>) -> ApiResult<Paging> {
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid("query.offset", "must be 0 or more"));
    }
    Ok(Paging::new(limit.unwrap_or(DEFAULT_LIMIT), offset))
}

/// Declares a page type `{items, total, limit, offset}` for one item type (named types document
/// better in OpenAPI than a generic one).
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Rows matching the filters, over all pages.
            pub total: i64,
            pub limit: i64,
            pub offset: i64,
        }

        impl $name {
            pub fn new(page: grandma_store::Page<$item>, paging: grandma_store::Paging) -> Self {
                $name {
                    items: page.items,
                    total: page.total,
                    limit: paging.limit,
                    offset: paging.offset,
                }
            }
        }
    };
}
pub(crate) use page_type;
