//! Work orders over the API, scoped to the caller (`spec/API.md`): an
//! operator or a `workorders:*:<unit>` key sees its unit's orders only.

use crate::AppState;
use crate::api::query::{page_at, parse_code, parse_page};
use crate::app::workorders::*;
use crate::auth::{ApiCaller, Caller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use onestop_domain::access::Capability;
use onestop_domain::application::{Level, OrderStatus, Stage, WorkOrderItem};
use onestop_domain::form::FieldCode;
use onestop_domain::form::FieldError;
use onestop_store::work_orders::{self, OrderFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Unit code (must be one the caller may see).
    unit: Option<String>,
    /// `acceptance` | `survey` | `design` | `approval` | `construction` | `connection` | `closed`.
    stage: Option<String>,
    /// `open` | `returned` | `done` | `cancelled` | `rejected`.
    status: Option<String>,
    /// `normal` | `warning` | `overdue`.
    level: Option<String>,
    /// `due` (open first, nearest deadline first; the default) | `newest` | `oldest`.
    sort: Option<String>,
    /// 1-based page number, at most 100; deeper pages are read by `cursor`.
    page: Option<String>,
    /// 1–100, default 20.
    per_page: Option<String>,
    /// The `next_cursor` of the previous page (instead of `page`).
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkOrderList {
    items: Vec<WorkOrderItem>,
    /// The next page's number while it is at most 100, else null.
    next_page: Option<u32>,
    /// Where the next page starts (pass it as `cursor`); null on the last page.
    next_cursor: Option<String>,
}

/// Work orders the caller may see, open first, most urgent first.
#[utoipa::path(
    get, path = "/api/v1/work-orders", params(OrderQuery),
    responses(
        (status = 200, body = WorkOrderList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)
    )
)]
pub async fn list_work_orders(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<OrderQuery>,
) -> Result<Json<WorkOrderList>, ApiError> {
    if !caller.subject.may(Capability::ReadWorkOrders) {
        return Err(forbidden());
    }
    let mut errors = Vec::new();
    let sort = parse_code(
        "sort",
        q.sort.as_deref(),
        work_orders::OrderSort::parse,
        &mut errors,
    )
    .unwrap_or_default();
    let filter = OrderFilter {
        unit: q
            .unit
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty() && u.len() <= 64),
        stage: parse_code("stage", q.stage.as_deref(), Stage::parse, &mut errors),
        status: parse_code(
            "status",
            q.status.as_deref(),
            OrderStatus::parse,
            &mut errors,
        ),
        level: parse_code("level", q.level.as_deref(), Level::parse, &mut errors),
        at: page_at(
            q.page.as_deref(),
            q.cursor.as_deref(),
            sort.order(),
            &mut errors,
        ),
        per_page: parse_page("per_page", q.per_page.as_deref(), 20, 100, &mut errors),
        visibility: caller.subject.work_orders(),
        sort,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let config = state.config.clone();
    let offset = state.offset;
    let page = state
        .store
        .read(move |c| work_orders::list(c, &filter, &config, offset))
        .await?;
    Ok(Json(WorkOrderList {
        items: page.items.into_iter().map(|r| r.item).collect(),
        next_page: page.next_page,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// One work order.
#[utoipa::path(
    get, path = "/api/v1/work-orders/{id}", params(("id" = String, Path)),
    responses(
        (status = 200, body = WorkOrderItem),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
pub async fn get_work_order(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<WorkOrderItem>, ApiError> {
    if !caller.subject.may(Capability::ReadWorkOrders) {
        return Err(forbidden());
    }
    visible_order(&state, &caller, id)
        .await?
        .map(|r| Json(r.item))
        .ok_or_else(ApiError::not_found)
}

/// Take several actions at once, each on its own work order, for systems
/// that drive many orders: `{"actions": [{"work_order_id", "action",
/// "version", …data}, …]}` (1–100). Each action is checked and applied on
/// its own, exactly as `POST /api/v1/work-orders/{id}/actions` would, and
/// answered in `results` in the same order with the status it alone would
/// have had; one refused action does not stop the others.
#[utoipa::path(
    post, path = "/api/v1/work-orders/actions",
    request_body = Object,
    responses(
        (status = 200, body = BatchResults),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "actions missing, empty or more than 100")
    )
)]
pub async fn post_actions(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let key = idempotency(&caller, &headers, "/api/v1/work-orders/actions", &bytes)?;
    let value = crate::api::parse_object(&bytes)?;
    let items = match value.get("actions").and_then(|a| a.as_array()) {
        Some(a) if !a.is_empty() && a.len() <= MAX_BATCH_ACTIONS => a,
        _ => {
            return Err(ApiError::validation(vec![FieldError::new(
                "actions",
                FieldCode::Required,
                format!("actions 须为 1–{MAX_BATCH_ACTIONS} 项操作的列表"),
            )]));
        }
    };
    Ok(match act_many(&state, &caller, items, key).await? {
        Batch::Done(results) => Json(BatchResults { results }).into_response(),
        Batch::Replayed(saved) => crate::api::saved_response(saved),
    })
}

/// Take an action on a work order (`accept`, `return_for_correction`, `reject`,
/// `record_survey`, `record_design`, `complete_construction`, `connect`, …):
/// `{"action": …, "version": n, …data}`.
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/actions", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 200, body = WorkOrderItem),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition (with `allowed`), stale_version"),
        (status = 422, body = ErrorBody)
    )
)]
pub async fn post_action(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let key = idempotency(
        &caller,
        &headers,
        &format!("/api/v1/work-orders/{id}/actions"),
        &bytes,
    )?;
    let value = crate::api::parse_object(&bytes)?;
    let (action, version) = action_and_version(&value, "").map_err(ApiError::validation)?;
    Ok(
        match act_once(&state, &caller, id, &action, version, &value, key).await? {
            Acted::Done(item) => Json(item).into_response(),
            Acted::Replayed(saved) => crate::api::saved_response(saved),
        },
    )
}

/// The request's `Idempotency-Key`, scoped to the client (two clients may
/// use the same key text).
fn idempotency(
    caller: &Caller,
    headers: &axum::http::HeaderMap,
    path: &str,
    bytes: &[u8],
) -> Result<Option<onestop_store::idempotency::IdempotencyKey>, ApiError> {
    let (kind, who, _) = caller.subject.audit_identity();
    crate::api::idempotency_key(headers, &format!("api:{kind}:{who}"), || {
        crate::app::applications::request_hash("POST", path, bytes)
    })
}

/// Cancel an application before connection: its open orders are cancelled with it.
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/cancel", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 200, body = onestop_domain::application::Application),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition, stale_version"),
        (status = 422, body = ErrorBody)
    )
)]
pub async fn post_cancel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<Json<onestop_domain::application::Application>, ApiError> {
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    Ok(cancel_application(&state, &caller, id, &value)
        .await
        .map(Json)?)
}

/// Propose (or move, with `version`) the one joint survey appointment:
/// `{"at": RFC 3339, "version"?: n}`.
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/survey", params(("id" = String, Path)),
    request_body = Object,
    responses(
        (status = 201, body = onestop_domain::application::Survey, description = "proposed"),
        (status = 200, body = onestop_domain::application::Survey, description = "moved"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "survey_exists, stale_version"),
        (status = 422, body = ErrorBody)
    )
)]
pub async fn post_survey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<onestop_domain::application::Survey>), ApiError> {
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let (created, survey) = propose_survey(&state, &caller, id, &value).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(survey)))
}
