//! Work orders over the API, scoped to the caller (`spec/API.md`): an
//! operator or a `workorders:*:<unit>` key sees its unit's orders only.

use crate::AppState;
use crate::api::field_error;
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use onestop_domain::access::Capability;
use onestop_domain::application::{Level, OrderStatus, Stage, WorkOrderItem};
use onestop_domain::form::FieldCode;
use onestop_store::work_orders::{self, OrderFilter, OrderRow};
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
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkOrderList {
    items: Vec<WorkOrderItem>,
    next_page: Option<u32>,
}

fn parse_code<T>(
    name: &str,
    v: Option<&str>,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<onestop_domain::form::FieldError>,
) -> Option<T> {
    let v = v.map(str::trim).filter(|s| !s.is_empty())?;
    let parsed = parse(v);
    if parsed.is_none() {
        errors.push(field_error(name, FieldCode::UnknownValue, "取值无效"));
    }
    parsed
}

fn parse_page(
    name: &str,
    v: Option<&str>,
    default: u32,
    max: u32,
    errors: &mut Vec<onestop_domain::form::FieldError>,
) -> u32 {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => default,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.push(field_error(
                    name,
                    FieldCode::OutOfRange,
                    &format!("须为 1 到 {max} 之间的整数"),
                ));
                default
            }
        },
    }
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
        page: parse_page("page", q.page.as_deref(), 1, 1_000_000, &mut errors),
        per_page: parse_page("per_page", q.per_page.as_deref(), 20, 100, &mut errors),
        visibility: caller.subject.work_orders(),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let config = state.config.clone();
    let offset = state.offset;
    let (rows, next_page) = state
        .store
        .read(move |c| work_orders::list(c, &filter, &config, offset))
        .await?;
    Ok(Json(WorkOrderList {
        items: rows.into_iter().map(|r| r.item).collect(),
        next_page,
    }))
}

/// One work order the caller may see; others are `404`, as if absent.
pub async fn visible_order(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: String,
) -> Result<Option<OrderRow>, ApiError> {
    let visibility = caller.subject.work_orders();
    if visibility.is_nothing() || id.len() > 64 {
        return Ok(None);
    }
    let config = state.config.clone();
    let offset = state.offset;
    Ok(state
        .store
        .read(move |c| work_orders::get(c, &id, &config, offset))
        .await?
        .filter(|r| visibility.admits_order(&r.facts())))
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
