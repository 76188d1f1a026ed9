//! onestop's persistence: one repository API over SQLite and PostgreSQL.
//!
//! - [`db`]: the connection interface both databases implement.
//! - [`migrate`]: schema migrations.
//! - [`writer`]: the group-commit writer every write goes through.
//! - [`paging`]: lists read a page at a time, by keyset.
//! - [`applications`], [`idempotency`]: repositories (plain functions over a [`db::Conn`]).
#![forbid(unsafe_code)]

pub mod accounts;
pub mod applications;
pub mod approvals;
pub mod audit;
pub mod blobs;
pub mod board;
pub mod calendar;
pub mod claims;
pub mod consultations;
pub mod db;
pub mod documents;
pub mod drafts;
mod error;
pub mod fees;
pub mod follow_ups;
pub mod halls;
pub mod idempotency;
pub mod levels;
pub mod materials;
pub mod migrate;
pub mod notifications;
pub mod outbox;
pub mod paging;
pub mod payments;
pub mod pre_registrations;
pub mod queue;
pub mod ratings;
pub mod reminders;
pub mod surveys;
#[cfg(feature = "testing")]
pub mod testing;
pub mod work_orders;
pub mod writer;

pub use error::{DbError, ErrorKind, StoreError};

use crate::db::Sql as _;
use db::{Conn, DbTarget, Dialect, Role};
use std::sync::Arc;
use std::time::Duration;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as i64
}

struct Manager(DbTarget);

impl r2d2::ManageConnection for Manager {
    type Connection = Box<dyn Conn>;
    type Error = StoreError;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        self.0.connect(Role::Reader)
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        conn.query("SELECT 1", &[]).map(|_| ())
    }

    fn has_broken(&self, _conn: &mut Self::Connection) -> bool {
        false
    }
}

impl std::fmt::Display for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub readers: u32,
    pub writers: usize,
}

impl StoreOptions {
    pub fn for_target(target: &DbTarget) -> Self {
        match target.dialect() {
            Dialect::Sqlite => StoreOptions {
                readers: 4,
                writers: 1,
            },
            Dialect::Postgres => StoreOptions {
                readers: 8,
                writers: 4,
            },
        }
    }
}

struct Inner {
    target: DbTarget,
    readers: r2d2::Pool<Manager>,
    writer: writer::Writer,
}

/// The database: a pool of readers and the group-commit writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens the database, applies pending migrations, and starts the writer.
    pub fn open(target: DbTarget, options: StoreOptions) -> Result<Store, StoreError> {
        {
            let mut conn = target.connect(Role::Writer)?;
            migrate::migrate(conn.as_mut())?;
        }
        let readers = r2d2::Pool::builder()
            .max_size(options.readers)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(Manager(target.clone()))
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let writer = writer::Writer::start(&target, options.writers)?;
        Ok(Store {
            inner: Arc::new(Inner {
                target,
                readers,
                writer,
            }),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.inner.target.dialect()
    }

    pub fn target(&self) -> &DbTarget {
        &self.inner.target
    }

    /// Runs `work` on a reader connection, on a blocking thread.
    pub async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .readers
                .get()
                .map_err(|e| StoreError::Pool(e.to_string()))?;
            work(conn.as_mut())
        })
        .await
        .map_err(|_| StoreError::Internal("read task failed".into()))?
    }

    /// Runs `work` in the writer's next transaction; resolves once committed.
    /// `work` may run more than once; only the run that commits counts.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(work).await
    }

    /// Answers when the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query("SELECT 1", &[]).map(|_| ())).await
    }
}
