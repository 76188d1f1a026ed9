//! Moving an application's connection appointment (预约接入时间).

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::appointment::{AppointmentInput, move_appointment};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use onestop_domain::application::Application;
use serde::Deserialize;
use utoipa::ToSchema;

/// A new connection appointment.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"appointment_at": "2026-12-10T09:00:00+08:00"}))]
pub struct AppointmentRequest {
    /// RFC 3339 instant with offset: later than now, at most two years
    /// ahead, on a working day of the official calendar and within its
    /// working hours (default 08:30–12:00, 14:30–17:30); otherwise `422`
    /// with `not_in_future` or `out_of_range` on `appointment_at`.
    #[schema(format = DateTime)]
    pub appointment_at: String,
}

/// Move the connection appointment the application carries (the
/// enterprise, an `applications:write` key acting for it, or the clerk of
/// the hall it was filed at). The move is kept in the history, and every
/// order already in the connection stage is due again at the later of the
/// new appointment and the stage's limit (its `version` goes up). Orders
/// reaching the connection stage later take the appointment then.
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/appointment", params(("id" = String, Path)),
    request_body = AppointmentRequest,
    responses(
        (status = 200, body = Application, description = "the application with its new appointment and deadlines"),
        (status = 409, body = ErrorBody, description = "invalid_transition (every order finished or cancelled), stale_version (an order moved meanwhile)")
    )
)]
pub async fn post_appointment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<Application>, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let input = AppointmentInput::from_json(&state, &body.value)?;
    Ok(Json(move_appointment(&state, &caller, id, input).await?))
}
