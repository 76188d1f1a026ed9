//! Notification settings over the API (session only).

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::settings::*;
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use onestop_domain::form::FieldCode;
use onestop_domain::form::FieldError;
use serde::Deserialize;
use utoipa::ToSchema;

/// The signed-in account's email address and channel switches, all given.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsUpdate {
    /// Where email goes (surrounding blanks are trimmed); `null` or blank
    /// for none.
    #[schema(pattern = r"^\s*([^@\s]+@[^@\s]+\.[^@\s]+)?\s*$")]
    pub email: Option<String>,
    pub in_app: bool,
    pub email_enabled: bool,
    pub sms_enabled: bool,
}

/// The signed-in account's notification settings.
#[utoipa::path(
    get, path = "/api/v1/account/notification-settings",
    security(("session" = [])),
    responses(
        (status = 200, body = NotificationSettings),
        (status = 403, body = ErrorBody, description = "not an account")
    )
)]
pub async fn get_api(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<NotificationSettings>, ApiError> {
    let id = account_id(&caller).ok_or_else(forbidden)?;
    Ok(Json(view(&state, load(&state, id).await?)))
}

/// Replaces the signed-in account's email address and channel switches.
#[utoipa::path(
    put, path = "/api/v1/account/notification-settings",
    request_body = SettingsUpdate,
    security(("session" = [])),
    responses(
        (status = 200, body = NotificationSettings),
        (status = 422, body = ErrorBody, description = "email is not an address")
    )
)]
pub async fn put_api(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Json<NotificationSettings>, ApiError> {
    let id = account_id(&caller).ok_or_else(forbidden)?;
    let value = body.value;
    let mut problems = Vec::new();
    let flag = |k: &str, problems: &mut Vec<_>| match value.get(k) {
        Some(serde_json::Value::Bool(b)) => *b,
        _ => {
            problems.push(FieldError::new(
                k,
                FieldCode::InvalidFormat,
                crate::texts::api::FLAG,
            ));
            false
        }
    };
    let in_app = flag("in_app", &mut problems);
    let email_on = flag("email_enabled", &mut problems);
    let sms_on = flag("sms_enabled", &mut problems);
    let email = match value.get("email") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(FieldError::new(
                "email",
                FieldCode::InvalidFormat,
                crate::texts::api::EMAIL_TYPE,
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let saved = save(&state, &caller, id, email, in_app, email_on, sms_on).await?;
    Ok(Json(view(&state, saved)))
}
