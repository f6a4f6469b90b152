//! The API's resources, one module each with its own `router()`; this module only merges them
//! and holds the types they share.

pub mod auth;
pub mod docs;
pub mod export;
pub mod health;
pub mod jobs;
pub mod preview;
pub mod results;
pub mod schedules;
pub mod users;
pub mod webhooks;
pub mod ws;

use grandma_store::Paging;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every `/api/v1` resource.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(jobs::router())
        .merge(results::router())
        .merge(export::router())
        .merge(preview::router())
        .merge(health::router())
        .merge(webhooks::router())
        .merge(schedules::router())
        .merge(ws::router())
}

/// Default page size of listings.
pub const DEFAULT_LIMIT: i64 = 50;

/// `limit` and `offset` of a listing.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1..1000 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
}

impl PageQuery {
    pub fn paging(self) -> Paging {
        Paging::new(
            self.limit.unwrap_or(DEFAULT_LIMIT),
            self.offset.unwrap_or(0),
        )
    }
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

/// A status message (`{"detail": "…"}`) for actions without a resource to return.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub detail: String,
}
