//! Window payments over the API (`/api/v1/billing/…`), for signed-in
//! clerks (accounts, bills, payments of their halls) and administrators
//! (every hall's payments, reconciliation). Thin: the use cases are in
//! `crate::app::billing`. Money is always integer fen.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::api::saved_response;
use crate::app::billing::*;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::texts::billing as t;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::billing::{Lookup, MAX_BILLS_PER_PAYMENT, PaymentMethod};
use onestop_domain::form::{FieldCode, FieldError};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The billing operations and their schemas, added to the API's document
/// (before its conventions are applied: see [`Paths`]).
#[derive(OpenApi)]
#[openapi(
    paths(
        get_accounts,
        get_bills,
        post_payment,
        get_payments,
        get_payment,
        post_reconciliation,
        get_reconciliations,
        get_reconciliation
    ),
    components(schemas(
        AccountList,
        AccountView,
        UnitRef,
        AccountBills,
        BillView,
        PaymentRequest,
        PaymentView,
        PaidBillView,
        ReceiptView,
        FailureView,
        DayPayments,
        ReconciliationRequest,
        RunView,
        RunList,
        Tally,
        DifferenceView,
        onestop_domain::billing::PaymentMethod,
        onestop_domain::billing::PaymentStatus,
        onestop_domain::billing::DifferenceKind,
        onestop_domain::billing::RunStatus
    ))
)]
pub struct BillingDoc;

/// Adds [`BillingDoc`] to the document it modifies.
pub struct Paths;

impl utoipa::Modify for Paths {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.merge(BillingDoc::openapi());
    }
}

fn date_param(value: Option<&str>, name: &str, state: &AppState) -> Result<time::Date, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(today(state)),
        Some(v) => onestop_domain::timefmt::parse_date(v).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                name,
                FieldCode::InvalidFormat,
                t::DATE_FORMAT,
            )])
        }),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// The account number (户号) at the utility; or give `uscc`.
    #[param(max_length = 32)]
    number: Option<String>,
    /// The enterprise's unified social credit code; or give `number`.
    #[param(max_length = 32)]
    uscc: Option<String>,
    /// Ask this utility only (a unit with a billing system).
    #[param(max_length = 32)]
    unit: Option<String>,
}

/// A customer's accounts at every utility with a billing system, by account
/// number or USCC (a clerk's session). Utilities that did not answer in
/// time are listed in `unavailable`.
#[utoipa::path(
    get, path = "/api/v1/billing/accounts", params(AccountQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = AccountList),
        (status = 422, body = ErrorBody, description = "`validation_failed`: neither or both of `number` and `uscc`, a malformed one, an unknown `unit`")
    )
)]
pub async fn get_accounts(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<AccountQuery>,
) -> Result<Json<AccountList>, ApiError> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (number, uscc, unit) = (given(&q.number), given(&q.uscc), given(&q.unit));
    // Sign-in and capability before anything is read.
    if !caller
        .subject
        .may(onestop_domain::access::Capability::TakePayments)
    {
        return Err(crate::auth::forbidden());
    }
    let by = match (number, uscc) {
        (Some(n), None) => onestop_domain::billing::clean_account_no(&n)
            .map(Lookup::Number)
            .ok_or(("number", t::ACCOUNT_NO_FORMAT)),
        (None, Some(u)) => match Lookup::parse(&u) {
            Some(l @ Lookup::Uscc(_)) => Ok(l),
            _ => Err(("uscc", crate::texts::claims::USCC_INVALID)),
        },
        _ => Err(("number", t::LOOKUP_INVALID)),
    };
    let by = by.map_err(|(f, m)| {
        ApiError::validation(vec![FieldError::new(f, FieldCode::InvalidFormat, m)])
    })?;
    Ok(Json(lookup(&state, &caller, &by, unit.as_deref()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountPath {
    /// The utility unit.
    #[param(max_length = 32)]
    unit: String,
    /// The account number.
    #[param(max_length = 32)]
    account_no: String,
}

/// An account and its open bills, read from the utility now (a clerk's
/// session).
#[utoipa::path(
    get, path = "/api/v1/billing/accounts/{unit}/{account_no}/bills", params(AccountPath),
    security(("session" = [])),
    responses(
        (status = 200, body = AccountBills),
        (status = 404, body = ErrorBody, description = "`not_found`: no such account at that utility, or a unit without a billing system"),
        (status = 502, body = ErrorBody, description = "`billing_unavailable`: the utility's billing system did not answer")
    )
)]
pub async fn get_bills(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(p): Path<AccountPath>,
) -> Result<Json<AccountBills>, ApiError> {
    Ok(Json(
        account_bills(&state, &caller, &p.unit, &p.account_no).await?,
    ))
}

/// A payment to take at the window.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentRequest {
    /// The hall (required when the clerk works at several).
    #[schema(max_length = 32)]
    pub hall: Option<String>,
    /// The utility unit.
    #[schema(max_length = 32)]
    pub unit: String,
    #[schema(min_length = 1, max_length = 32, pattern = "^[0-9A-Za-z_-]+$")]
    pub account_no: String,
    /// The open bills paid, 1 to 24, each once.
    #[schema(min_items = 1, max_items = 24)]
    pub bill_ids: Vec<String>,
    /// Their sum as the clerk confirmed it, integer fen; the bills are
    /// checked with the utility first (`409 bills_changed` when it differs).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub amount_fen: i64,
    pub method: PaymentMethod,
    /// Cash handed over (method `cash` only), at least `amount_fen`.
    #[schema(minimum = 1, maximum = 10_000_000_000_i64)]
    pub received_fen: Option<i64>,
}

/// The body's fields as far as they have the right types, and the fields
/// that do not (the rules are checked by the use case, and every problem
/// is answered at once).
fn payment_input(body: &JsonObject) -> (PaymentInput, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut text = |name: &str, required: bool| -> Option<String> {
        match body.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 64 => {
                Some(s.trim().to_owned())
            }
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::Required,
                    t::FIELD_REQUIRED,
                ));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::InvalidFormat,
                    t::FIELD_FORMAT,
                ));
                None
            }
        }
    };
    let hall = text("hall", false);
    let unit = text("unit", true);
    let account_no = text("account_no", true);
    let mut bill_ids = Vec::new();
    match body.get("bill_ids") {
        Some(Value::Array(a)) if a.len() <= MAX_BILLS_PER_PAYMENT => {
            for (i, v) in a.iter().enumerate() {
                match v.as_str() {
                    Some(s) => bill_ids.push(s.to_owned()),
                    None => errors.push(FieldError::new(
                        format!("bill_ids.{i}"),
                        FieldCode::InvalidFormat,
                        t::BILL_ID_FORMAT,
                    )),
                }
            }
        }
        Some(Value::Array(_)) => errors.push(FieldError::new(
            "bill_ids",
            FieldCode::OutOfRange,
            crate::texts::fill(t::BILLS_TOO_MANY, &[("n", &MAX_BILLS_PER_PAYMENT)]),
        )),
        None | Some(Value::Null) => errors.push(FieldError::new(
            "bill_ids",
            FieldCode::Required,
            t::BILLS_REQUIRED,
        )),
        Some(_) => errors.push(FieldError::new(
            "bill_ids",
            FieldCode::InvalidFormat,
            t::BILLS_REQUIRED,
        )),
    }
    let fen = |name: &str, required: bool, errors: &mut Vec<FieldError>| -> Option<i64> {
        match body.get(name) {
            Some(v) if v.is_i64() || v.is_u64() => match v.as_i64() {
                Some(n) => Some(n),
                None => {
                    errors.push(FieldError::new(
                        name,
                        FieldCode::OutOfRange,
                        t::FIELD_FORMAT,
                    ));
                    None
                }
            },
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::Required,
                    t::FIELD_REQUIRED,
                ));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::InvalidFormat,
                    t::FEN_FORMAT,
                ));
                None
            }
        }
    };
    let amount_fen = fen("amount_fen", true, &mut errors);
    let received_fen = fen("received_fen", false, &mut errors);
    let method = match body.get("method") {
        Some(Value::String(s)) => PaymentMethod::parse(s).or_else(|| {
            errors.push(FieldError::new(
                "method",
                FieldCode::UnknownValue,
                t::METHOD_UNKNOWN,
            ));
            None
        }),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "method",
                FieldCode::Required,
                t::METHOD_UNKNOWN,
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "method",
                FieldCode::InvalidFormat,
                t::METHOD_UNKNOWN,
            ));
            None
        }
    };
    let input = PaymentInput {
        hall,
        unit: unit.unwrap_or_default(),
        account_no: account_no.unwrap_or_default(),
        bill_ids,
        amount_fen: amount_fen.unwrap_or(0),
        method: method.unwrap_or(PaymentMethod::Cash),
        received_fen,
        form_key: None,
    };
    (input, errors)
}

/// Take a payment at the window (a clerk's session): the bills are checked
/// with the utility, then the payment is recorded and sent to the utility
/// in the background — `202` with the payment `pending`; read it again
/// (`Location`) until `paid` (with the utility's receipt) or `failed`.
/// With the same `Idempotency-Key` and body, the first answer again.
#[utoipa::path(
    post, path = "/api/v1/billing/payments",
    request_body = PaymentRequest,
    params(crate::api::doc::IdempotencyHeader),
    security(("session" = [])),
    responses(
        (status = 202, body = PaymentView, headers(("Location" = String))),
        (status = 409, body = ErrorBody, description = "`bills_changed` (a bill is no longer open, or the sum differs: nothing taken), `idempotency_conflict`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: each refused field (`hall`, `unit`, `account_no`, `bill_ids`, `amount_fen`, `method`, `received_fen`)"),
        (status = 502, body = ErrorBody, description = "`billing_unavailable`: the utility's billing system did not answer (nothing taken)")
    )
)]
pub async fn post_payment(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if !caller
        .subject
        .may(onestop_domain::access::Capability::TakePayments)
    {
        return Err(crate::auth::forbidden());
    }
    let key = body.idempotency_key()?;
    let (input, mut errors) = payment_input(&body);
    if !errors.is_empty() {
        // The rules' problems too, for the fields that had the right type.
        for e in field_problems(&state, &caller, &input).1 {
            let typed_wrong = errors
                .iter()
                .any(|t| e.field == t.field || e.field.starts_with(&format!("{}.", t.field)));
            if !typed_wrong {
                errors.push(e);
            }
        }
        return Err(ApiError::validation(errors));
    }
    match take_payment(&state, &caller, input, key).await? {
        Taken::New { payment, body } => Ok(accepted(&payment.id, body)),
        Taken::Again(p) => Ok(accepted(
            &p.id,
            serde_json::to_string(&p).map_err(|_| ApiError::internal())?,
        )),
        Taken::Replayed(saved) => Ok(saved_response(saved)),
    }
}

fn accepted(id: &str, body: String) -> Response {
    let mut res = (StatusCode::ACCEPTED, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(loc) = HeaderValue::from_str(&location_of(id)) {
        h.insert(header::LOCATION, loc);
    }
    res
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The day (city time); today when absent.
    #[param(format = Date, max_length = 10)]
    date: Option<String>,
    /// One hall (the caller's, or any for administrators and supervisors).
    #[param(max_length = 32)]
    hall: Option<String>,
}

/// A day's window payments of the caller's halls (every hall's for
/// administrators and supervisors), newest first, with the day's totals.
#[utoipa::path(
    get, path = "/api/v1/billing/payments", params(DayQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = DayPayments),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a malformed `date`, a hall not the caller's (or over 32 characters)")
    )
)]
pub async fn get_payments(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<DayQuery>,
) -> Result<Json<DayPayments>, ApiError> {
    if !caller
        .subject
        .may(onestop_domain::access::Capability::ReadPayments)
    {
        return Err(crate::auth::forbidden());
    }
    let day = date_param(q.date.as_deref(), "date", &state)?;
    let hall = q.hall.as_deref().map(str::trim).filter(|h| !h.is_empty());
    if hall.is_some_and(|h| h.chars().count() > 32) {
        return Err(ApiError::validation(vec![FieldError::new(
            "hall",
            FieldCode::TooLong,
            t::HALL_NOT_YOURS,
        )]));
    }
    Ok(Json(payments_of_day(&state, &caller, day, hall).await?))
}

/// One window payment: `pending`, `paid` with the utility's receipt, or
/// `failed` with its reason.
#[utoipa::path(
    get, path = "/api/v1/billing/payments/{id}", params(("id" = String, Path, max_length = 64)),
    security(("session" = [])),
    responses((status = 200, body = PaymentView))
)]
pub async fn get_payment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    payment(&state, &caller, &id)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// A reconciliation to run.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReconciliationRequest {
    /// The utility unit.
    #[schema(max_length = 32)]
    pub unit: String,
    /// The day (city time), not after today.
    #[schema(format = Date, max_length = 10)]
    pub date: String,
}

/// Reconcile one utility's day (administrators): the platform's payments
/// against the utility's list; every difference is recorded with the run.
#[utoipa::path(
    post, path = "/api/v1/billing/reconciliations",
    request_body = ReconciliationRequest,
    security(("session" = [])),
    responses(
        (status = 201, body = RunView),
        (status = 422, body = ErrorBody, description = "`validation_failed`: `unit` without a billing system, a malformed or future `date`"),
        (status = 502, body = ErrorBody, description = "`billing_unavailable`: the utility's list could not be read")
    )
)]
pub async fn post_reconciliation(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    if !caller
        .subject
        .may(onestop_domain::access::Capability::ReconcilePayments)
    {
        return Err(crate::auth::forbidden());
    }
    let mut errors = Vec::new();
    let unit = match body.get("unit") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 32 => {
            Some(s.trim().to_owned())
        }
        _ => {
            errors.push(FieldError::new(
                "unit",
                FieldCode::Required,
                t::UNIT_UNKNOWN,
            ));
            None
        }
    };
    let day = match body.get("date") {
        Some(Value::String(s)) => onestop_domain::timefmt::parse_date(s.trim()).or_else(|| {
            errors.push(FieldError::new(
                "date",
                FieldCode::InvalidFormat,
                t::DATE_FORMAT,
            ));
            None
        }),
        _ => {
            errors.push(FieldError::new("date", FieldCode::Required, t::DATE_FORMAT));
            None
        }
    };
    let (Some(unit), Some(day)) = (unit, day) else {
        return Err(ApiError::validation(errors));
    };
    match reconcile(&state, &caller, &unit, day, false).await? {
        Some(run) => Ok((StatusCode::CREATED, Json(run))),
        None => Err(ApiError::internal()),
    }
}

/// Reconciliation runs.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct RunList {
    /// Newest first, without their differences (read one run for them).
    pub items: Vec<RunView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Runs of this day only.
    #[param(format = Date, max_length = 10)]
    date: Option<String>,
    /// Runs of this utility only.
    #[param(max_length = 32)]
    unit: Option<String>,
}

/// Reconciliation runs (administrators), newest first, at most 100.
#[utoipa::path(
    get, path = "/api/v1/billing/reconciliations", params(RunsQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = RunList),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a malformed `date`, a `unit` over 32 characters")
    )
)]
pub async fn get_reconciliations(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<RunsQuery>,
) -> Result<Json<RunList>, ApiError> {
    if !caller
        .subject
        .may(onestop_domain::access::Capability::ReconcilePayments)
    {
        return Err(crate::auth::forbidden());
    }
    let day = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(date_param(Some(d), "date", &state)?),
    };
    let unit = q.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if unit.is_some_and(|u| u.chars().count() > 32) {
        return Err(ApiError::validation(vec![FieldError::new(
            "unit",
            FieldCode::TooLong,
            t::UNIT_UNKNOWN,
        )]));
    }
    Ok(Json(RunList {
        items: runs(&state, &caller, day, unit).await?,
    }))
}

/// One reconciliation run with every difference it found.
#[utoipa::path(
    get, path = "/api/v1/billing/reconciliations/{id}", params(("id" = String, Path, max_length = 64)),
    security(("session" = [])),
    responses((status = 200, body = RunView))
)]
pub async fn get_reconciliation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    run(&state, &caller, &id)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}
