//! The supervisor's board figures over the API.

use crate::AppState;
use crate::app::board::*;
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Query, State};
use onestop_domain::access::Capability;

/// The supervisor's board: open items by stage, unit and level, the overdue
/// list, per-unit on-time rate and average working time per stage for the
/// period, and the daily trend. Filters by district and service. For
/// supervisors and administrators (a session).
#[utoipa::path(
    get, path = "/api/v1/board", params(BoardQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = Board),
        (status = 422, body = ErrorBody, description = "bad date, unknown district or service, from after to")
    )
)]
pub async fn get_board(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<BoardQuery>,
) -> Result<Json<Board>, ApiError> {
    if !caller.subject.may(Capability::Supervise) {
        return Err(forbidden());
    }
    let p = params(&q, &state.config, state.now().date()).map_err(ApiError::validation)?;
    Ok(load(&state, &p).await.map(Json)?)
}
