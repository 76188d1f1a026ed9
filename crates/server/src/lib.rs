//! onestop over HTTP: the JSON API (`api`), the Chinese pages (`web`), the
//! use cases both call (`app`), background work (`jobs`) and outbound
//! messages (`notify`). Handlers translate HTTP to use cases; rules live in
//! the domain crate, rows in the store crate. `auth` resolves who is
//! calling; `onestop_domain::access` decides what they may do;
//! `app::audit` records it.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod connectors;
pub mod error;
pub mod jobs;
pub mod middleware;
pub mod notify;
pub mod refusals;
pub mod texts;
pub mod web;

use auth::{CredentialCache, PasswordCost, Passwords, RateLimiter};
use axum::Router;
use onestop_domain::calendar::Clock;
use onestop_domain::config::CityConfig;
use onestop_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::UtcOffset;

/// Largest request body accepted (a five-service form is a few KB).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// The working-time clock in use, with the calendar import it was built
/// from (0: the file or built-in data). Every server swaps it when an
/// administrator imports a calendar (see `app::calendar`).
#[derive(Clone)]
pub struct SharedClock(Arc<std::sync::RwLock<(Arc<Clock>, i64)>>);

impl SharedClock {
    pub fn new(clock: Arc<Clock>) -> Self {
        SharedClock(Arc::new(std::sync::RwLock::new((clock, 0))))
    }

    /// The clock to use now.
    pub fn get(&self) -> Arc<Clock> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// The calendar import the clock was built from.
    pub fn import_id(&self) -> i64 {
        self.0.read().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Puts a clock built from import `id` in use.
    pub fn set(&self, clock: Arc<Clock>, id: i64) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = (clock, id);
    }
}

/// Where "now" comes from: the system clock, or a clock set by hand (tests
/// that walk deadlines across weekends and holidays, a labelled demo).
#[derive(Clone, Default)]
pub struct TimeSource {
    manual: Option<Arc<std::sync::atomic::AtomicI64>>,
}

impl TimeSource {
    /// The system clock.
    pub fn system() -> Self {
        TimeSource { manual: None }
    }

    /// A clock standing at `at_ms` (Unix milliseconds) until moved.
    pub fn manual(at_ms: i64) -> Self {
        TimeSource {
            manual: Some(Arc::new(std::sync::atomic::AtomicI64::new(at_ms))),
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(std::sync::atomic::Ordering::SeqCst),
            None => onestop_store::now_ms(),
        }
    }

    /// Moves a hand-set clock to `at_ms` (the system clock ignores it).
    pub fn set_ms(&self, at_ms: i64) {
        if let Some(t) = &self.manual {
            t.store(at_ms, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Moves a hand-set clock on by `ms`.
    pub fn advance_ms(&self, ms: i64) {
        if let Some(t) = &self.manual {
            t.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<CityConfig>,
    /// The working-time clock; replaced whole when the calendar is imported.
    pub clock: SharedClock,
    pub store: Store,
    /// The city's offset from UTC (the API answers in it).
    pub offset: UtcOffset,
    pub body_limit: usize,
    pub passwords: Passwords,
    pub limiter: Arc<RateLimiter>,
    /// Password checks in progress per (login name, address).
    pub password_checks: Arc<auth::PasswordChecks>,
    pub audit: app::audit::AuditSink,
    /// The key the audit chain is MAC'd with (see `audit_chain` for where
    /// it comes from). Never logged.
    pub audit_key: onestop_store::audit::AuditKey,
    /// Refused requests of the current minute, aggregated (`refusals`).
    pub refusals: Arc<refusals::Refusals>,
    /// Recently resolved sessions and API keys (see `auth::CREDENTIAL_CACHE_MS`).
    pub credentials: Arc<CredentialCache>,
    /// When each API key's `last_used_at` was last written (throttling).
    key_touches: Arc<Mutex<HashMap<String, i64>>>,
    /// Where "now" comes from (the system clock unless set otherwise).
    pub time: TimeSource,
    /// The latest background count of open orders for the board.
    pub open_counts: Arc<std::sync::RwLock<Option<Arc<app::board::OpenSnapshot>>>>,
    /// The provincial portal's legal-person login (`[identity.oidc]`), if configured.
    pub oidc: Option<Arc<connectors::oidc::OidcConnector>>,
    /// The shared service halls' registry as this server holds it.
    pub halls: app::halls::HallCache,
    /// The utilities' billing systems (`[[billing]]`), for window payments.
    pub billing: connectors::billing::Billing,
    /// The typesetter of the official PDFs (loaded on first use).
    pub documents: app::documents::Typesetter,
    /// Where uploaded materials' contents are kept.
    pub blobs: Arc<dyn onestop_store::blobs::BlobStore>,
}

/// A folder of this process's own for materials until `with_blobs_in`
/// names the real one (the binary always does; tests need not).
fn scratch_blobs() -> onestop_store::blobs::FsBlobs {
    let dir = std::env::temp_dir().join(format!(
        "onestop-blobs-{}-{}",
        std::process::id(),
        hex::encode(rand_bytes(6))
    ));
    onestop_store::blobs::FsBlobs::new(dir).expect("a scratch folder for materials")
}

impl AppState {
    /// Must be called inside a Tokio runtime (it starts the audit writer).
    pub fn new(config: Arc<CityConfig>, clock: Arc<Clock>, store: Store) -> Self {
        Self::with_password_cost(config, clock, store, PasswordCost::PRODUCTION)
    }

    pub fn with_password_cost(
        config: Arc<CityConfig>,
        clock: Arc<Clock>,
        store: Store,
        cost: PasswordCost,
    ) -> Self {
        let offset = UtcOffset::from_whole_seconds(config.working_time.utc_offset_minutes * 60)
            .unwrap_or(UtcOffset::UTC);
        // A key of this process only, until `with_audit_key` gives the real
        // one (the binary always does; tests may not need to).
        let audit_key = onestop_store::audit::AuditKey::from_bytes(&rand_bytes(32))
            .expect("32 random bytes make a key");
        AppState {
            config,
            clock: SharedClock::new(clock),
            audit: app::audit::AuditSink::start(store.clone(), audit_key.clone()),
            audit_key,
            refusals: Arc::new(refusals::Refusals::default()),
            store,
            offset,
            body_limit: DEFAULT_BODY_LIMIT,
            passwords: Passwords::new(cost),
            limiter: Arc::new(RateLimiter::default()),
            password_checks: Arc::new(auth::PasswordChecks::default()),
            credentials: Arc::new(CredentialCache::default()),
            key_touches: Arc::new(Mutex::new(HashMap::new())),
            open_counts: Arc::new(std::sync::RwLock::new(None)),
            time: TimeSource::system(),
            oidc: None,
            halls: app::halls::HallCache::default(),
            billing: connectors::billing::Billing::none(),
            documents: app::documents::Typesetter::default(),
            blobs: Arc::new(scratch_blobs()),
        }
    }

    /// Keeps uploaded materials under `dir` (the binary: `<data>/blobs`).
    pub fn with_blobs_in(mut self, dir: &std::path::Path) -> std::io::Result<Self> {
        self.blobs = Arc::new(onestop_store::blobs::FsBlobs::new(dir)?);
        Ok(self)
    }

    /// Keeps uploaded materials in `blobs` (e.g. an object store, `[blobs]`).
    pub fn with_blobs(mut self, blobs: Arc<dyn onestop_store::blobs::BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }

    /// Chains the audit log with `key` from now on (restarts the audit
    /// sink with it). Call before serving.
    pub fn with_audit_key(mut self, key: onestop_store::audit::AuditKey) -> Self {
        self.audit = app::audit::AuditSink::start(self.store.clone(), key.clone());
        self.audit_key = key;
        self
    }

    /// Now, at the city's offset.
    pub fn now(&self) -> time::OffsetDateTime {
        onestop_domain::timefmt::from_ms(self.now_ms(), self.offset)
    }

    pub fn now_ms(&self) -> i64 {
        self.time.now_ms()
    }

    /// Records session activity in the background (the idle timeout).
    pub fn touch_session(&self, token_hash: String, now_ms: i64) {
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store
                .write(move |c| onestop_store::accounts::touch_session(c, &token_hash, now_ms))
                .await
            {
                tracing::warn!(error = %e, "session activity not recorded");
            }
        });
    }

    /// Records an API key's use, at most once a minute per key.
    pub fn touch_api_key(&self, id: &str, now_ms: i64) {
        {
            let mut t = self.key_touches.lock().unwrap_or_else(|e| e.into_inner());
            match t.get(id) {
                Some(last) if now_ms - last < 60_000 => return,
                _ => {
                    t.insert(id.to_owned(), now_ms);
                }
            }
        }
        let store = self.store.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = store
                .write(move |c| onestop_store::accounts::touch_api_key(c, &id, now_ms))
                .await
            {
                tracing::warn!(error = %e, "API key use not recorded");
            }
        });
    }
}

fn rand_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("the operating system's random source");
    b
}

/// An unknown path: the API's error body under `/api/`, the Chinese page
/// elsewhere.
async fn no_such_path(uri: axum::http::Uri) -> axum::response::Response {
    if middleware::is_api_path(uri.path()) {
        api::no_such_path()
    } else {
        web::not_found_page()
    }
}

/// The whole application: API, pages, health checks, static assets.
pub fn router(state: AppState) -> Router {
    let refusals = axum::middleware::from_fn_with_state(state.clone(), refusals::track);
    Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .merge(web::auth::routes())
        .merge(web::staff::routes())
        .merge(web::pre_registrations::routes())
        .merge(web::correction::routes())
        .merge(web::admin::routes())
        .merge(web::approvals::routes())
        .merge(web::notifications::routes())
        .merge(web::settings::routes())
        .merge(web::admin::calendar::routes())
        .merge(web::deliveries::routes())
        .merge(web::board::routes())
        .merge(web::identity::routes())
        .merge(web::halls::routes())
        .merge(web::counter::routes())
        .merge(web::follow_ups::routes())
        .merge(web::ratings::routes())
        .merge(web::billing::routes())
        .merge(web::documents::routes())
        .merge(web::fees::routes())
        .fallback(no_such_path)
        .with_state(state)
        .layer(axum::middleware::from_fn(|req, next| {
            middleware::framework_rejections(web::ERROR_PAGES, req, next)
        }))
        .layer(refusals)
        .layer(axum::middleware::from_fn(middleware::request_log))
}
