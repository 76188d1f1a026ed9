//! The API error body (`spec/API.md`): `{"error": {"code", "message", "fields"?}}`.

use crate::texts::{self, errors as t};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onestop_domain::calendar::CalendarError;
use onestop_domain::form::FieldError;
use onestop_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// Chinese, for people.
    pub message: String,
    /// With `validation_failed`: every refused field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// With `invalid_transition`: the actions the order accepts now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub allowed: Option<Vec<String>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            allowed: None,
        }
    }

    /// Field problems (`422`): at most `MAX_ERRORS` of them, however many
    /// a validator found, so that no body can make a large answer.
    pub fn validation(mut fields: Vec<FieldError>) -> Self {
        fields.truncate(onestop_domain::form::MAX_ERRORS);
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message: t::VALIDATION_FAILED.into(),
            fields,
            allowed: None,
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_body", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", t::NOT_FOUND)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            texts::fill(t::PAYLOAD_TOO_LARGE, &[("kb", &(limit / 1024))]),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            t::INTERNAL,
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
                fields: self.fields.clone(),
                allowed: self.allowed.clone(),
            },
        }
    }
}

/// On an answer made from an [`ApiError`]: its code, for the middleware
/// that audits refusals (`refusals::classify`).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body())).into_response();
        res.extensions_mut().insert(ErrorCode(self.code));
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => return crate::app::error::Error::stale_version().into(),
            // A year the calendar has no data for: the administrator's to
            // import, not a failure of the server.
            StoreError::Calendar(e) => return e.into(),
            _ => {}
        }
        tracing::error!(error = %e, "storage error");
        match e {
            StoreError::Closed => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                t::SHUTTING_DOWN,
            ),
            _ => Self::internal(),
        }
    }
}

/// The Chinese message answered for a use case's error (a fault's details
/// are never shown).
pub fn message_of(e: &crate::app::error::Error) -> String {
    use crate::app::error::Error;
    match e {
        Error::Invalid(_) => t::VALIDATION_FAILED.into(),
        Error::InvalidAs(message, _) => (*message).into(),
        Error::NotFound => t::NOT_FOUND.into(),
        Error::Refused { message, .. } => message.clone(),
        Error::Calendar(e) if !calendar_status(e).is_server_error() => e.to_string(),
        Error::Store(StoreError::Conflict(_)) => match Error::stale_version() {
            Error::Refused { message, .. } => message,
            _ => t::INTERNAL.into(),
        },
        Error::Store(StoreError::Closed) => t::SHUTTING_DOWN.into(),
        Error::Internal(_) | Error::Calendar(_) | Error::Store(_) => t::INTERNAL.into(),
    }
}

/// The whole answer for a use case's error, without consuming it (an
/// action's answer kept for its `Idempotency-Key`, a batch's results).
pub fn answer_of(e: &crate::app::error::Error) -> (StatusCode, ErrorBody) {
    use crate::app::error::Error;
    let mut fields = match e {
        Error::Invalid(f) | Error::InvalidAs(_, f) => f.clone(),
        _ => Vec::new(),
    };
    fields.truncate(onestop_domain::form::MAX_ERRORS);
    let allowed = match e {
        Error::Refused { allowed, .. } => allowed.clone(),
        _ => None,
    };
    (
        status_of(e),
        ErrorBody {
            error: ErrorDetail {
                code: e.code().to_owned(),
                message: message_of(e),
                fields,
                allowed,
            },
        },
    )
}

/// The answer's status for a use case's error.
pub fn status_of(e: &crate::app::error::Error) -> StatusCode {
    use crate::app::error::{Error, Refusal};
    match e {
        Error::Invalid(_) | Error::InvalidAs(..) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Refused { why, .. } => match why {
            Refusal::Malformed => StatusCode::BAD_REQUEST,
            Refusal::SignInNeeded => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden => StatusCode::FORBIDDEN,
            Refusal::Conflict => StatusCode::CONFLICT,
            Refusal::Unacceptable => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::TooMany => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Upstream => StatusCode::BAD_GATEWAY,
        },
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Calendar(e) => calendar_status(e),
        Error::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
        Error::Store(StoreError::Closed) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn calendar_status(e: &CalendarError) -> StatusCode {
    match e {
        CalendarError::YearMissing { .. } => StatusCode::CONFLICT,
        CalendarError::InvalidDuration(_) => StatusCode::BAD_REQUEST,
        CalendarError::InvalidOverrides { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<crate::app::error::Error> for ApiError {
    fn from(e: crate::app::error::Error) -> Self {
        use crate::app::error::Error;
        match e {
            Error::Invalid(fields) => Self::validation(fields),
            Error::InvalidAs(message, fields) => {
                let mut out = Self::validation(fields);
                out.message = message.into();
                out
            }
            Error::NotFound => Self::not_found(),
            Error::Refused {
                why,
                code,
                message,
                allowed,
            } => {
                let status = status_of(&Error::Refused {
                    why,
                    code,
                    message: String::new(),
                    allowed: None,
                });
                let mut out = Self::new(status, code, message);
                out.allowed = allowed;
                out
            }
            Error::Internal(what) => {
                tracing::error!(what, "internal error");
                Self::internal()
            }
            Error::Calendar(e) => e.into(),
            Error::Store(e) => e.into(),
        }
    }
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        Self::new(calendar_status(&e), e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_calendar_year_from_the_store_is_calendar_year_missing() {
        let date = time::macros::date!(2031 - 03 - 02);
        let e = ApiError::from(StoreError::from(CalendarError::YearMissing {
            year: 2031,
            date,
        }));
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(e.code, "calendar_year_missing");
        assert!(e.message.contains("2031"), "{}", e.message);
    }

    #[test]
    fn a_use_case_meeting_a_missing_year_in_the_store_says_so() {
        let date = time::macros::date!(2031 - 03 - 02);
        let e = crate::app::error::Error::from(StoreError::from(CalendarError::YearMissing {
            year: 2031,
            date,
        }));
        assert_eq!(e.code(), "calendar_year_missing");
        let e = ApiError::from(e);
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(e.code, "calendar_year_missing");
    }

    #[test]
    fn other_store_failures_stay_internal() {
        let e = ApiError::from(StoreError::Internal("x".into()));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code, "internal_error");
    }
}
