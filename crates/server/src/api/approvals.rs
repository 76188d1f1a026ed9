//! Parallel approval over the API: cases, department items, decisions and
//! resubmissions (`spec/API.md`).

use crate::AppState;
use crate::app::approvals::*;
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use onestop_domain::approval::ItemStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// One approval case with its consolidated opinion sheet (附表4).
#[utoipa::path(
    get, path = "/api/v1/approval-cases/{id}", params(("id" = String, Path)),
    responses(
        (status = 200, body = CaseView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub async fn get_case(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let (_, full) = read_case(&state, &caller, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(view(&state, full)))
}

/// Revise a rejected case and put it to the departments again:
/// `{"version", "note", "place"?, "from"?, "to"?}`.
#[utoipa::path(
    post, path = "/api/v1/approval-cases/{id}/resubmission", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 200, body = CaseView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition, stale_version"), (status = 422, body = ErrorBody)
    )
)]
pub async fn post_resubmission(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<Json<CaseView>, ApiError> {
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    Ok(Json(resubmit(&state, &caller, id, &value).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxList {
    pub items: Vec<InboxItem>,
    /// The next page's number while it is at most 100, else null.
    pub next_page: Option<u32>,
    /// Where the next page starts (pass it as `cursor`); null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `pending` | `approved` | `rejected`; all but not-applicable by default.
    pub status: Option<String>,
    /// 1-based page number, at most 100; deeper pages are read by `cursor`.
    pub page: Option<String>,
    /// 1–100, default 20.
    pub per_page: Option<String>,
    /// The `next_cursor` of the previous page (instead of `page`).
    pub cursor: Option<String>,
}

/// The approval items of the caller's departments (an approver, or a key
/// with `approvals:write:<department>`).
#[utoipa::path(
    get, path = "/api/v1/approval-items", params(InboxQuery),
    responses(
        (status = 200, body = InboxList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
pub async fn list_items(
    State(state): State<AppState>,
    caller: ApiCaller,
    axum::extract::Query(q): axum::extract::Query<InboxQuery>,
) -> Result<Json<InboxList>, ApiError> {
    if departments(&caller.subject).is_empty() {
        return Err(forbidden());
    }
    let mut errors = Vec::new();
    let status = crate::api::query::parse_code(
        "status",
        q.status.as_deref(),
        ItemStatus::parse,
        &mut errors,
    );
    let at = crate::api::query::page_at(
        q.page.as_deref(),
        q.cursor.as_deref(),
        &onestop_store::approvals::INBOX_ORDER,
        &mut errors,
    );
    let per_page =
        crate::api::query::parse_page("per_page", q.per_page.as_deref(), 20, 100, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let page = inbox(&state, &caller, status, at, per_page).await?;
    Ok(Json(InboxList {
        items: page.items,
        next_page: page.next_page,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// Raise the application's approval case (附表4), optionally with the signed
/// commitment (附表3).
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/approval-case", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 201, body = CaseView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "case_exists"), (status = 422, body = ErrorBody)
    )
)]
pub async fn post_case(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    Ok((
        StatusCode::CREATED,
        Json(raise(&state, &caller, id, &value).await?),
    ))
}

/// A department's decision on its item: `{"decision": "approve" | "reject", "opinion", "version"}`.
#[utoipa::path(
    post, path = "/api/v1/approval-items/{id}/decision", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 200, body = CaseView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition, stale_version"), (status = 422, body = ErrorBody)
    )
)]
pub async fn post_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<Json<CaseView>, ApiError> {
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    Ok(Json(decide(&state, &caller, id, &value).await?))
}
