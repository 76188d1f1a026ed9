//! Work orders over the API, scoped to the caller (`spec/API.md`): an
//! operator or a `workorders:*:<unit>` key sees its unit's orders only.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::api::query::{page_at, parse_code, parse_page};
use crate::app::workorders::*;
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use crate::texts;
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
    /// A configured unit's code (`422` otherwise), one whose orders the
    /// caller may see (`403` otherwise).
    #[param(max_length = 64)]
    unit: Option<String>,
    #[param(value_type = Option<Stage>)]
    stage: Option<String>,
    #[param(value_type = Option<OrderStatus>)]
    status: Option<String>,
    #[param(value_type = Option<Level>)]
    level: Option<String>,
    /// `due` (open first, nearest deadline first; the default) | `newest` | `oldest`.
    #[param(schema_with = sorts)]
    sort: Option<String>,
    /// 1-based page number, at most 100; deeper pages are read by `cursor`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page: Option<String>,
    /// Items per page, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
    /// The `next_cursor` of the previous page (instead of `page`).
    #[param(max_length = 1024, pattern = r"^[0-9A-Fa-f]+$")]
    cursor: Option<String>,
}

/// The orders a list can be sorted in (`OrderSort::parse` reads them).
const SORTS: [&str; 3] = ["due", "newest", "oldest"];

fn sorts() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(SORTS))
        .build()
}

/// An action on a work order: its code and the order's `version` the
/// caller saw, with the action's data. The served document lists the codes
/// and data fields of the city's process definition (`[[process.actions]]`):
/// text (1–1000 characters), numbers (0–1000000, JSON numbers: text such
/// as `"六百"` is `invalid_format`), RFC 3339 instants, objects. Other
/// fields are ignored. What is recorded must fit the time: `record_survey`
/// before the joint survey's appointment is `422` on `action` (`too_early`);
/// a `connected_at` before the order entered the connection stage or after
/// now (to the minute) is `422` `too_early` / `in_future`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"action": "return_for_correction", "version": 1, "reason": "营业执照复印件不清晰"}))]
pub struct WorkOrderAction {
    /// An action of the process definition, e.g. `accept`.
    #[schema(min_length = 1)]
    pub action: String,
    /// The order's version as the caller saw it.
    #[schema(minimum = 1)]
    pub version: i64,
    /// `resubmit` only (补正): the corrected section of the returned order's
    /// service, keyed by the service code as in the form
    /// (`{"water": {"business_type": …, "demand_tons_per_day": …}}`). It is
    /// validated like the form's section and replaces it; the form as it
    /// was is kept as an earlier revision and the change is in the history.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub services: Option<serde_json::Value>,
    /// `resubmit` only: the corrected contact (`{"name", "phone"}`), validated like the form's.
    #[serde(default)]
    pub contact: Option<onestop_domain::form::Contact>,
}

/// One action of a batch: a [`WorkOrderAction`] naming its order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchAction {
    #[schema(min_length = 1, max_length = 64)]
    pub work_order_id: String,
    /// An action of the process definition, e.g. `accept`.
    #[schema(min_length = 1)]
    pub action: String,
    #[schema(minimum = 1)]
    pub version: i64,
}

/// Several actions, each on its own order. An action that cannot be read
/// is answered in its own result (with the status it alone would have had),
/// not by refusing the batch.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub actions: Vec<BatchAction>,
}

/// Cancelling an application: the data of the process's `cancel` action
/// (the served document lists its fields, e.g. `reason`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "项目取消"}))]
pub struct CancelRequest {}

/// Proposing or moving the joint survey appointment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SurveyRequest {
    /// RFC 3339 instant with offset, later than now.
    #[schema(format = DateTime)]
    pub at: String,
    /// The survey's version as the caller saw it: moves the appointment.
    /// Absent: proposes it (once per application).
    #[schema(minimum = 1)]
    pub version: Option<i64>,
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
        (status = 200, body = WorkOrderList)
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
    let visibility = caller.subject.work_orders();
    let unit = match q.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) if state.config.unit(u).is_none() => {
            errors.push(FieldError::new(
                "unit",
                FieldCode::UnknownValue,
                texts::api::UNIT_UNKNOWN,
            ));
            None
        }
        Some(u) if !visibility.may_see_unit(u) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                texts::api::UNIT_FORBIDDEN,
            ));
        }
        Some(u) => Some(u.to_owned()),
    };
    let sort = parse_code(
        "sort",
        q.sort.as_deref(),
        work_orders::OrderSort::parse,
        &mut errors,
    )
    .unwrap_or_default();
    let filter = OrderFilter {
        unit,
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
        visibility,
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
    let clock = state.clock.get();
    let mut items: Vec<WorkOrderItem> = page.items.into_iter().map(|r| r.item).collect();
    crate::app::calendar::mark_provisional(&clock, items.iter_mut().map(|i| &mut i.order));
    Ok(Json(WorkOrderList {
        items,
        next_page: page.next_page,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// One work order.
#[utoipa::path(
    get, path = "/api/v1/work-orders/{id}", params(("id" = String, Path)),
    responses(
        (status = 200, body = WorkOrderItem)
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
    request_body = BatchRequest,
    params(crate::api::doc::IdempotencyHeader),
    responses(
        (status = 200, body = BatchResults),
        (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "actions missing, empty or more than 100")
    )
)]
pub async fn post_actions(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let key = body.idempotency_key()?;
    let items = match body.get("actions").and_then(|a| a.as_array()) {
        Some(a) if !a.is_empty() && a.len() <= MAX_BATCH_ACTIONS => a
            .iter()
            .enumerate()
            .map(|(i, item)| BatchItem::from_json(i, item))
            .collect(),
        _ => {
            return Err(ApiError::validation(vec![FieldError::new(
                "actions",
                FieldCode::Required,
                texts::fill(texts::api::BATCH_SIZE, &[("max", &MAX_BATCH_ACTIONS)]),
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
    post, path = "/api/v1/work-orders/{id}/actions",
    params(("id" = String, Path), crate::api::doc::IdempotencyHeader),
    request_body = WorkOrderAction,
    responses(
        (status = 200, body = WorkOrderItem),
        (status = 409, body = ErrorBody, description = "invalid_transition (with `allowed`), stale_version")
    )
)]
pub async fn post_action(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let key = body.idempotency_key()?;
    let request = ActionInput::from_json(&body.value, "")?;
    Ok(match act_once(&state, &caller, id, request, key).await? {
        Acted::Done(item) => Json(item).into_response(),
        Acted::Replayed(saved) => crate::api::saved_response(saved),
    })
}

/// Cancel an application before connection: its open orders are cancelled with it.
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/cancel", params(("id" = String, Path)),
    request_body = CancelRequest,
    responses(
        (status = 200, body = onestop_domain::application::Application),
        (status = 409, body = ErrorBody, description = "invalid_transition, stale_version")
    )
)]
pub async fn post_cancel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<onestop_domain::application::Application>, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let data = ActionData::from_json(&body.value);
    Ok(cancel_application(&state, &caller, id, &data)
        .await
        .map(Json)?)
}

/// Propose (or move, with `version`) the one joint survey appointment:
/// `{"at": RFC 3339, "version"?: n}`.
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/survey", params(("id" = String, Path)),
    request_body = SurveyRequest,
    responses(
        (status = 201, body = onestop_domain::application::Survey, description = "proposed"),
        (status = 200, body = onestop_domain::application::Survey, description = "moved"),
        (status = 409, body = ErrorBody, description = "survey_exists, stale_version")
    )
)]
pub async fn post_survey(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<(StatusCode, Json<onestop_domain::application::Survey>), ApiError> {
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let input = SurveyInput::from_json(&body.value, state.now())?;
    let (created, survey) = propose_survey(&state, &caller, id, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(survey)))
}
