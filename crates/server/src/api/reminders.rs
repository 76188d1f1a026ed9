//! Reminders over the API: a supervisor's note on an open order and the
//! handling unit's acknowledgement.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::reminders::*;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

/// A supervisor's reminder (督办意见).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReminderRequest {
    #[schema(min_length = 1, max_length = 500)]
    pub note: String,
}

/// The handling unit's acknowledgement of a reminder.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcknowledgementRequest {
    /// An optional reply.
    #[schema(min_length = 1, max_length = 500)]
    pub reply: Option<String>,
}

/// Remind the handling unit of an open order (supervisors): `{"note"}`.
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/reminders", params(("id" = String, Path)),
    request_body = ReminderRequest,
    security(("session" = [])),
    responses(
        (status = 201, body = ReminderView),
        (status = 409, body = ErrorBody, description = "invalid_transition")
    )
)]
pub async fn post_reminder(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<(StatusCode, Json<ReminderView>), ApiError> {
    let note = body.get("note").and_then(|v| v.as_str());
    let input = ReminderInput::parse(note)?;
    Ok((
        StatusCode::CREATED,
        Json(send(&state, &caller, id, input).await?),
    ))
}

/// A work order's reminders.
#[utoipa::path(
    get, path = "/api/v1/work-orders/{id}/reminders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ReminderView>))
)]
pub async fn get_reminders(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReminderView>>, ApiError> {
    Ok(Json(of_order(&state, &caller, id).await?))
}

/// The handling unit confirms it has the reminder: `{"reply"?}`.
#[utoipa::path(
    post, path = "/api/v1/reminders/{id}/acknowledgement", params(("id" = i64, Path)),
    request_body = AcknowledgementRequest,
    responses(
        (status = 200, body = ReminderView),
        (status = 409, body = ErrorBody, description = "invalid_transition")
    )
)]
pub async fn post_acknowledgement(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<ReminderView>, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found());
    };
    let reply = body.get("reply").and_then(|v| v.as_str());
    let input = AcknowledgementInput::parse(reply)?;
    Ok(Json(acknowledge(&state, &caller, id, input).await?))
}
