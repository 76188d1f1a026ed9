//! Reminders over the API: a supervisor's note on an open order and the
//! handling unit's acknowledgement.

use crate::AppState;
use crate::app::reminders::*;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

/// Remind the handling unit of an open order (supervisors): `{"note"}`.
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/reminders", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 201, body = ReminderView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition"), (status = 422, body = ErrorBody)
    )
)]
pub async fn post_reminder(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<ReminderView>), ApiError> {
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(send(&state, &caller, id, &value).await?),
    ))
}

/// A work order's reminders.
#[utoipa::path(
    get, path = "/api/v1/work-orders/{id}/reminders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ReminderView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
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
    request_body = Object,
    responses(
        (status = 200, body = ReminderView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition")
    )
)]
pub async fn post_acknowledgement(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<Json<ReminderView>, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found());
    };
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    Ok(Json(acknowledge(&state, &caller, id, &value).await?))
}
