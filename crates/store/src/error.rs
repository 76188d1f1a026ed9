//! The store's error: what went wrong, of which [`ErrorKind`], with the
//! database driver's own error (and PostgreSQL's SQLSTATE) kept as its source.

use onestop_domain::calendar::CalendarError;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// What kind of failure a [`StoreError`] is, for callers that decide on it
/// (answer "taken", retry, say "not found") without reading messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A unique or primary-key constraint refused the row.
    UniqueViolation,
    /// A foreign-key constraint refused the row.
    ForeignKeyViolation,
    /// Another constraint (check, not-null) refused the row.
    ConstraintViolation,
    /// PostgreSQL could not serialize the transaction (SQLSTATE 40001):
    /// running it again may succeed.
    SerializationFailure,
    /// PostgreSQL broke a deadlock by aborting this transaction (40P01).
    Deadlock,
    /// The database was locked or busy past the wait (SQLite's BUSY/LOCKED,
    /// PostgreSQL's lock timeout 55P03).
    Busy,
    /// The database could not be reached, or the connection broke.
    Unavailable,
    /// A row the work needed was not there.
    NotFound,
    /// A row was changed by someone else since it was read.
    Conflict,
    /// The working-time calendar could not answer (see [`StoreError::Calendar`]).
    Calendar,
    /// Stored data could not be read, or a value could not be written.
    Decode,
    /// The database or the store is set up wrongly (configuration, migrations).
    Config,
    /// The store is shut down.
    Closed,
    /// Anything else: a failed statement, a bug.
    Other,
}

impl ErrorKind {
    /// Running the same work again, unchanged, may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::SerializationFailure | ErrorKind::Deadlock | ErrorKind::Busy
        )
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A statement failed in the database or its driver.
    #[error(transparent)]
    Database(DbError),
    #[error("stored data could not be read: {0}")]
    Decode(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Migration(String),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("the store is shut down")]
    Closed,
    /// A row was changed by someone else since it was read (optimistic
    /// concurrency); the transaction was rolled back.
    #[error("changed concurrently: {0}")]
    Conflict(String),
    /// A row the work needed was not there.
    #[error("not found: {0}")]
    NotFound(String),
    /// The working-time calendar could not answer: a year not imported
    /// (`calendar_year_missing`), an invalid duration.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The store's own machinery failed (a job panicked, a task died).
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Database(e) => e.kind(),
            StoreError::Decode(_) => ErrorKind::Decode,
            StoreError::Config(_) | StoreError::Migration(_) => ErrorKind::Config,
            StoreError::Pool(_) => ErrorKind::Unavailable,
            StoreError::Closed => ErrorKind::Closed,
            StoreError::Conflict(_) => ErrorKind::Conflict,
            StoreError::NotFound(_) => ErrorKind::NotFound,
            StoreError::Calendar(_) => ErrorKind::Calendar,
            StoreError::Internal(_) => ErrorKind::Other,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        self.kind() == ErrorKind::UniqueViolation
    }

    /// Running the same work again, unchanged, may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    /// PostgreSQL's SQLSTATE of a failed statement (`23505`, `40001`, …).
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            StoreError::Database(e) => e.sqlstate(),
            _ => None,
        }
    }
}

/// A failed statement: its kind, PostgreSQL's SQLSTATE when there is one,
/// and the driver's error as the source (`rusqlite::Error` or
/// `postgres::Error`, reachable with `source()` and `downcast_ref`).
#[derive(Clone)]
pub struct DbError {
    kind: ErrorKind,
    sqlstate: Option<String>,
    source: Arc<dyn StdError + Send + Sync + 'static>,
}

impl DbError {
    pub fn new(
        kind: ErrorKind,
        sqlstate: Option<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> DbError {
        DbError {
            kind,
            sqlstate,
            source: Arc::new(source),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn sqlstate(&self) -> Option<&str> {
        self.sqlstate.as_deref()
    }
}

impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbError")
            .field("kind", &self.kind)
            .field("sqlstate", &self.sqlstate)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database error")?;
        if let Some(s) = &self.sqlstate {
            write!(f, " {s}")?;
        }
        // PostgreSQL's `db error` hides the server's message in Display;
        // its own text is what tells an operator what happened.
        match self.source.downcast_ref::<postgres::Error>() {
            Some(pg) => match pg.as_db_error() {
                Some(db) => write!(f, ": {}", db.message())?,
                None => write!(f, ": {pg}")?,
            },
            None => write!(f, ": {}", self.source)?,
        }
        Ok(())
    }
}

impl StdError for DbError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError::Database(e)
    }
}

/// The kind of a SQLite failure (extended result codes).
pub(crate) fn sqlite_kind(e: &rusqlite::Error) -> ErrorKind {
    use rusqlite::ffi;
    let rusqlite::Error::SqliteFailure(f, _) = e else {
        return ErrorKind::Other;
    };
    match f.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            ErrorKind::UniqueViolation
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
        _ => match f.code {
            rusqlite::ErrorCode::ConstraintViolation => ErrorKind::ConstraintViolation,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                ErrorKind::Busy
            }
            rusqlite::ErrorCode::CannotOpen => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        },
    }
}

/// The kind of a PostgreSQL SQLSTATE.
pub(crate) fn sqlstate_kind(code: &str) -> ErrorKind {
    match code {
        "23505" => ErrorKind::UniqueViolation,
        "23503" => ErrorKind::ForeignKeyViolation,
        c if c.starts_with("23") => ErrorKind::ConstraintViolation,
        "40001" => ErrorKind::SerializationFailure,
        "40P01" => ErrorKind::Deadlock,
        "55P03" => ErrorKind::Busy,
        // Connection exceptions, operator intervention (shutdown), and
        // insufficient resources (too many connections).
        c if c.starts_with("08") || c.starts_with("57") || c.starts_with("53") => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_have_kinds() {
        assert_eq!(sqlstate_kind("23505"), ErrorKind::UniqueViolation);
        assert_eq!(sqlstate_kind("23503"), ErrorKind::ForeignKeyViolation);
        assert_eq!(sqlstate_kind("23502"), ErrorKind::ConstraintViolation);
        assert_eq!(sqlstate_kind("40001"), ErrorKind::SerializationFailure);
        assert_eq!(sqlstate_kind("40P01"), ErrorKind::Deadlock);
        assert_eq!(sqlstate_kind("08006"), ErrorKind::Unavailable);
        assert_eq!(sqlstate_kind("42601"), ErrorKind::Other);
        assert!(sqlstate_kind("40001").is_retryable());
        assert!(sqlstate_kind("40P01").is_retryable());
        assert!(!sqlstate_kind("23505").is_retryable());
    }

    #[test]
    fn a_calendar_error_keeps_its_kind_and_code() {
        let date = time::macros::date!(2031 - 03 - 02);
        let e = StoreError::from(CalendarError::YearMissing { year: 2031, date });
        assert_eq!(e.kind(), ErrorKind::Calendar);
        let StoreError::Calendar(inner) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(inner.code(), "calendar_year_missing");
    }
}
