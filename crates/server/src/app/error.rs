//! The use cases' one error type. The JSON API turns it into the error
//! body (`crate::error::ApiError`), the pages into the Chinese error page.

use crate::texts;
use onestop_domain::calendar::CalendarError;
use onestop_domain::form::FieldError;
use onestop_store::StoreError;

/// Why a use case refused, as the caller should understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request cannot be read (`400`).
    Malformed,
    /// Who is calling is not known (`401`).
    SignInNeeded,
    /// The caller may not do this (`403`).
    Forbidden,
    /// The record's state does not allow it now (`409`).
    Conflict,
    /// Understood but not acceptable as a whole (`422`).
    Unacceptable,
    /// Too many attempts for now (`429`).
    TooMany,
    /// Not possible at the moment (`503`).
    Unavailable,
    /// A system we rely on failed to answer properly (`502`).
    Upstream,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Field problems, each naming its field (`validation_failed`).
    #[error("{} field problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Field problems under a message of the form's own.
    #[error("{0}: {n} field problem(s)", n = .1.len())]
    InvalidAs(&'static str, Vec<FieldError>),
    /// No such record, or none the caller may know of.
    #[error("not found")]
    NotFound,
    /// Refused with a stable code and a Chinese message; with
    /// `invalid_transition`, the actions the record accepts now.
    #[error("refused ({code}): {message}")]
    Refused {
        why: Refusal,
        code: &'static str,
        message: String,
        allowed: Option<Vec<String>>,
    },
    /// A fault of ours (logged, never shown).
    #[error("internal: {0}")]
    Internal(&'static str),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // A year the calendar has no data for, met while writing: the
            // calendar's answer (`calendar_year_missing`), not a store fault.
            StoreError::Calendar(c) => Error::Calendar(c),
            e => Error::Store(e),
        }
    }
}

impl Error {
    pub fn refused(why: Refusal, code: &'static str, message: impl Into<String>) -> Self {
        Error::Refused {
            why,
            code,
            message: message.into(),
            allowed: None,
        }
    }

    pub fn forbidden() -> Self {
        Self::refused(Refusal::Forbidden, "forbidden", texts::auth::FORBIDDEN)
    }

    pub fn unauthenticated(message: &str) -> Self {
        Self::refused(Refusal::SignInNeeded, "unauthenticated", message)
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::refused(Refusal::Malformed, "malformed_body", message)
    }

    /// The record changed since the caller read it.
    pub fn stale_version() -> Self {
        Self::refused(
            Refusal::Conflict,
            "stale_version",
            texts::errors::STALE_VERSION,
        )
    }

    /// Names the actions the record accepts now.
    pub fn set_allowed(&mut self, actions: Vec<String>) {
        if let Error::Refused { allowed, .. } = self {
            *allowed = Some(actions);
        }
    }

    /// The stable code a client sees.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) | Error::InvalidAs(..) => "validation_failed",
            Error::NotFound => "not_found",
            Error::Refused { code, .. } => code,
            Error::Internal(_) => "internal_error",
            Error::Calendar(e) => e.code(),
            Error::Store(StoreError::Conflict(_)) => "stale_version",
            Error::Store(StoreError::Closed) => "shutting_down",
            Error::Store(_) => "internal_error",
        }
    }

    /// A lasting answer to the request (the caller must change something),
    /// rather than a passing failure a retry may get past: a fault of ours,
    /// or a calendar year not loaded yet.
    pub fn is_lasting(&self) -> bool {
        match self {
            Error::Invalid(_) | Error::InvalidAs(..) | Error::NotFound => true,
            Error::Refused { why, .. } => *why != Refusal::Unavailable,
            Error::Calendar(CalendarError::InvalidDuration(_)) => true,
            Error::Store(StoreError::Conflict(_)) => true,
            Error::Internal(_) | Error::Calendar(_) | Error::Store(_) => false,
        }
    }
}
