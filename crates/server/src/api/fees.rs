//! Fees of work orders (费用明细) and exceptions to the zero-investment
//! rule over the API. Money is always integer fen.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::fees::{self, CostInput, CostView, ExceptionInput, ExceptionView, OrderCosts};
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onestop_domain::access::Capability;
use onestop_domain::fees::{AmountInput, CostDraft};
use onestop_domain::form::{FieldCode, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// The fee operations and their schemas, added to the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_costs, post_cost, delete_cost, post_exception, list_exceptions),
    components(schemas(
        CostRequest,
        FeeExceptionRequest,
        CostView,
        OrderCosts,
        ExceptionView,
        ExceptionList,
        crate::app::fees::CostTotalsView,
        onestop_domain::fees::Payer
    ))
)]
pub struct FeesDoc;

/// Adds [`FeesDoc`] to the document it modifies.
pub struct Paths;

impl utoipa::Modify for Paths {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.merge(FeesDoc::openapi());
    }
}

/// A cost item of a work order. Works outside the building's red line
/// are the utility's investment: `payer: user` with `outside_red_line:
/// true` is refused (`422`, field `payer` code `policy_violation`) unless
/// an administrator recorded an exception for the order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CostRequest {
    /// What it is (费用项目).
    #[schema(min_length = 1, max_length = 60)]
    pub item: String,
    /// Integer fen, at least 1.
    #[schema(minimum = 1)]
    pub amount_fen: i64,
    pub payer: onestop_domain::fees::Payer,
    /// The works lie outside the building's red line (建筑红线外).
    pub outside_red_line: bool,
}

/// A documented exception to the zero-investment rule for one order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FeeExceptionRequest {
    /// Why the user pays for works outside the red line.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
    /// The document that allows it (文号).
    #[schema(min_length = 1, max_length = 100)]
    pub document: String,
}

/// Exceptions, the latest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionList {
    pub items: Vec<ExceptionView>,
}

/// The costs of a work order the caller may see.
#[utoipa::path(
    get, path = "/api/v1/work-orders/{id}/costs", params(("id" = String, Path)),
    responses(
        (status = 200, body = OrderCosts),
        (status = 404, body = ErrorBody, description = "not_found"),
    )
)]
pub async fn get_costs(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<OrderCosts>, ApiError> {
    if !caller.subject.may(Capability::ReadWorkOrders) {
        return Err(forbidden());
    }
    Ok(Json(fees::of_order(&state, &caller, id).await?))
}

/// Add a cost item to a work order (its own utility's operators or keys).
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/costs",
    params(("id" = String, Path), crate::api::doc::IdempotencyHeader),
    request_body = CostRequest,
    responses(
        (status = 201, body = CostView),
        (status = 403, body = ErrorBody, description = "forbidden: the caller does not handle the order"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "order_closed, too_many_items, idempotency_conflict"),
        (status = 422, body = ErrorBody, description = "validation_failed; `payer` `policy_violation` for a user-paid item outside the red line without an exception"),
    )
)]
pub async fn post_cost(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if !caller.subject.may(Capability::ReadWorkOrders) {
        return Err(forbidden());
    }
    let key = body.idempotency_key()?;
    let mut errors = Vec::new();
    let item = body.text("item", &mut errors);
    let payer = body.text("payer", &mut errors);
    let amount = match body.get("amount_fen") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(AmountInput::Fen(n)),
            None => {
                errors.push(FieldError::new(
                    "amount_fen",
                    FieldCode::InvalidFormat,
                    crate::texts::fees::AMOUNT_NOT_FEN,
                ));
                Some(AmountInput::Fen(1))
            }
        },
    };
    let outside = match body.get("outside_red_line") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new(
                "outside_red_line",
                FieldCode::InvalidFormat,
                crate::texts::fees::NOT_BOOL,
            ));
            Some(false)
        }
    };
    let draft = CostDraft {
        item,
        amount,
        payer,
        outside_red_line: outside,
    };
    let input = match CostInput::parse(&draft) {
        Ok(i) if errors.is_empty() => i,
        Ok(_) => return Err(ApiError::validation(errors)),
        Err(e) => return Err(fees::merge(errors, e).into()),
    };
    Ok(match fees::add(&state, &caller, id, input, key).await? {
        fees::Added::Created(v) => (StatusCode::CREATED, Json(v)).into_response(),
        fees::Added::Replayed(saved) => crate::api::saved_response(saved),
    })
}

/// Withdraw a cost item (its unit, while the order is open).
#[utoipa::path(
    delete, path = "/api/v1/work-orders/{id}/costs/{cost_id}",
    params(("id" = String, Path), ("cost_id" = String, Path)),
    responses(
        (status = 204),
        (status = 403, body = ErrorBody, description = "forbidden"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "order_closed"),
    )
)]
pub async fn delete_cost(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, cost_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if !caller.subject.may(Capability::ReadWorkOrders) {
        return Err(forbidden());
    }
    fees::withdraw(&state, &caller, id, cost_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record a documented exception to the zero-investment rule for a work
/// order (administrators). Audited.
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/fee-exceptions", params(("id" = String, Path)),
    request_body = FeeExceptionRequest,
    responses(
        (status = 201, body = ExceptionView),
        (status = 403, body = ErrorBody, description = "forbidden"),
        (status = 404, body = ErrorBody, description = "not_found"),
    )
)]
pub async fn post_exception(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if !caller.subject.may(Capability::ManageFeeExceptions) {
        return Err(forbidden());
    }
    let mut errors = Vec::new();
    let reason = body.text("reason", &mut errors);
    let document = body.text("document", &mut errors);
    let input = match ExceptionInput::parse(reason, document) {
        Ok(i) if errors.is_empty() => i,
        Ok(_) => return Err(ApiError::validation(errors)),
        Err(e) => return Err(fees::merge(errors, e).into()),
    };
    let v = fees::record_exception(&state, &caller, id, input).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Exceptions to the zero-investment rule, the latest first
/// (administrators and supervisors).
#[utoipa::path(
    get, path = "/api/v1/fee-exceptions",
    responses(
        (status = 200, body = ExceptionList),
        (status = 403, body = ErrorBody, description = "forbidden"),
    )
)]
pub async fn list_exceptions(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<ExceptionList>, ApiError> {
    Ok(Json(ExceptionList {
        items: fees::list_exceptions(&state, &caller).await?,
    }))
}
