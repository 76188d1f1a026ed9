//! The API error body (`spec/API.md`): `{"error": {"code", "message", "fields"?}}`.

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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
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
            message: "申请内容有误，请按提示修改后重新提交".into(),
            fields,
            allowed: None,
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_body", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "未找到该记录")
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("请求内容过大（上限 {} KB）", limit / 1024),
        )
    }

    /// The record changed since the caller read it.
    pub fn stale_version() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "stale_version",
            "该工单已被他人处理，请刷新后按最新状态重新操作",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "系统繁忙，请稍后重试；已提交成功的申请不会丢失",
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
            StoreError::Conflict(_) => return ApiError::stale_version(),
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
                "服务正在重启，请稍后重试",
            ),
            _ => Self::internal(),
        }
    }
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        let status = match e {
            CalendarError::YearMissing { .. } => StatusCode::CONFLICT,
            CalendarError::InvalidDuration(_) => StatusCode::BAD_REQUEST,
            CalendarError::InvalidOverrides { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.code(), e.to_string())
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
    fn other_store_failures_stay_internal() {
        let e = ApiError::from(StoreError::Internal("x".into()));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code, "internal_error");
    }
}
