//! onestop over HTTP: the JSON API (`api`), the Chinese pages (`web`), and
//! the middleware around them. Handlers translate HTTP to domain calls
//! (`service`); rules live in the domain crate, rows in the store crate.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod middleware;
pub mod service;
pub mod web;

use axum::Router;
use onestop_domain::calendar::Clock;
use onestop_domain::config::CityConfig;
use onestop_store::Store;
use std::sync::Arc;
use time::UtcOffset;

/// Largest request body accepted (a five-service form is a few KB).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<CityConfig>,
    pub clock: Arc<Clock>,
    pub store: Store,
    /// The city's offset from UTC (the API answers in it).
    pub offset: UtcOffset,
    pub body_limit: usize,
}

impl AppState {
    pub fn new(config: Arc<CityConfig>, clock: Arc<Clock>, store: Store) -> Self {
        let offset = UtcOffset::from_whole_seconds(config.working_time.utc_offset_minutes * 60)
            .unwrap_or(UtcOffset::UTC);
        AppState {
            config,
            clock,
            store,
            offset,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Now, at the city's offset.
    pub fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc().to_offset(self.offset)
    }
}

/// The whole application: API, pages, health checks, static assets.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(middleware::request_log))
}
