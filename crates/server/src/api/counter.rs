//! The one window over the API (a hall's clerks, with a signed-in
//! session): consultations (咨询登记) and the hall's queue (取号、叫号).

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::counter::*;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::texts;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::counter::{
    BusinessKind, ConsultationDraft, MAX_SERVICES, TicketStatus, validate_consultation,
    validate_counter,
};
use onestop_domain::form::{FieldCode, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Who came to the window, as far as they said (every part optional).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerInput {
    /// A person's or an enterprise's name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Mobile `1[3-9]` + 9 digits, or a landline with its area code.
    #[schema(max_length = 20)]
    pub phone: Option<String>,
    #[schema(max_length = 18)]
    pub uscc: Option<String>,
    /// `LB` and digits.
    #[schema(max_length = 20)]
    pub application_number: Option<String>,
    /// A utility account number (户号): letters, digits and `-`.
    #[schema(max_length = 32)]
    pub account_number: Option<String>,
}

/// The follow-up a consultation passes on to a utility.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FollowUpInput {
    /// The utility unit's code that owes the answer.
    #[schema(min_length = 1, max_length = 64)]
    pub unit: String,
}

/// A consultation logged at a window (咨询登记).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsultationRequest {
    /// The hall (a clerk of several halls names it; else their own).
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]+$")]
    pub hall: Option<String>,
    /// Service codes the consultation was about (`water`, `power`, …).
    #[schema(min_items = 1, max_items = 10)]
    pub services: Vec<String>,
    #[schema(min_length = 2, max_length = 100)]
    pub topic: String,
    /// What the window answered (multi-line).
    #[schema(min_length = 1, max_length = 1000)]
    pub answer: String,
    pub customer: Option<CustomerInput>,
    /// Present when a utility must answer in writing (its limit:
    /// `counter.consultation_follow_up_days`).
    pub follow_up: Option<FollowUpInput>,
}

use crate::api::body::text_field as text;

/// An object field: absent or `null` is `None`; another type is an error.
fn object<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a serde_json::Map<String, Value>> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(_) => {
            errors.push(FieldError::new(
                name,
                FieldCode::InvalidFormat,
                texts::counter::NOT_OBJECT,
            ));
            None
        }
    }
}

fn created(location: String, body: &impl Serialize) -> Response {
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Log a consultation at the caller's hall; with `follow_up`, the unit's
/// follow-up opens with its deadline and the unit is told.
#[utoipa::path(
    post, path = "/api/v1/consultations",
    request_body = ConsultationRequest,
    params(crate::api::doc::IdempotencyHeader),
    security(("session" = [])),
    responses(
        (status = 201, body = ConsultationView, headers(("Location" = String))),
        (status = 404, body = ErrorBody, description = "not_found: `hall` is not one of the caller's"),
        (status = 409, body = ErrorBody, description = "idempotency_conflict, calendar_year_missing"),
    )
)]
pub async fn post_consultation(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let key = body.idempotency_key()?;
    let o = &body.value;
    let mut errors = Vec::new();
    let hall = text(o, "hall", "hall", &mut errors);
    let services: Vec<&str> = match o.get("services") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_SERVICES => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) => out.push(s),
                    None => errors.push(FieldError::new(
                        format!("services.{i}"),
                        FieldCode::InvalidFormat,
                        texts::counter::NOT_TEXT,
                    )),
                }
            }
            out
        }
        Some(Value::Array(_)) => {
            errors.push(FieldError::new(
                "services",
                FieldCode::OutOfRange,
                texts::fill(texts::counter::SERVICES_MAX, &[("max", &MAX_SERVICES)]),
            ));
            Vec::new()
        }
        Some(_) => {
            errors.push(FieldError::new(
                "services",
                FieldCode::InvalidFormat,
                texts::counter::NOT_LIST,
            ));
            Vec::new()
        }
    };
    let empty = serde_json::Map::new();
    let customer = object(o, "customer", &mut errors).unwrap_or(&empty);
    let follow_up = object(o, "follow_up", &mut errors);
    let draft = ConsultationDraft {
        services,
        topic: text(o, "topic", "topic", &mut errors),
        answer: text(o, "answer", "answer", &mut errors),
        customer_name: text(customer, "name", "customer.name", &mut errors),
        customer_phone: text(customer, "phone", "customer.phone", &mut errors),
        customer_uscc: text(customer, "uscc", "customer.uscc", &mut errors),
        application_number: text(
            customer,
            "application_number",
            "customer.application_number",
            &mut errors,
        ),
        account_number: text(
            customer,
            "account_number",
            "customer.account_number",
            &mut errors,
        ),
        follow_up_unit: follow_up
            .map(|f| text(f, "unit", "follow_up.unit", &mut errors).unwrap_or("")),
    };
    let input = validate_consultation(&draft, &state.config);
    let input = match input {
        Ok(i) if errors.is_empty() => i,
        Ok(_) => return Err(ApiError::validation(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(ApiError::validation(errors));
        }
    };
    let hall = hall.map(str::to_owned);
    Ok(
        match log_consultation(&state, &caller, hall.as_deref(), input, key).await? {
            Logged::Created(v) => created(format!("/api/v1/consultations/{}", v.id), &v),
            Logged::Replayed(saved) => crate::api::saved_response(saved),
        },
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HallQuery {
    /// The hall (a clerk of several halls names it; else their own).
    #[param(max_length = 32)]
    pub hall: Option<String>,
}

/// A hall's consultations of today.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationList {
    pub items: Vec<ConsultationView>,
}

/// The caller's hall's consultations of today, the latest first.
#[utoipa::path(
    get, path = "/api/v1/consultations", params(HallQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = ConsultationList),
        (status = 404, body = ErrorBody, description = "not_found: `hall` is not one of the caller's"),
    )
)]
pub async fn list_consultations(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<HallQuery>,
) -> Result<Json<ConsultationList>, ApiError> {
    let hall = clerk_hall(&caller, q.hall.as_deref())?;
    let found = today(&state, hall).await?;
    Ok(Json(ConsultationList {
        items: found
            .iter()
            .map(|(k, f)| view(&state, k, f.as_ref()))
            .collect(),
    }))
}

/// One consultation with its follow-up (its hall's clerks, the unit it was
/// passed on to, supervisors).
#[utoipa::path(
    get, path = "/api/v1/consultations/{id}", params(("id" = String, Path)),
    security(("session" = [])),
    responses((status = 200, body = ConsultationView))
)]
pub async fn get_consultation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ConsultationView>, ApiError> {
    let (k, f) = consultation(&state, &caller, id).await?;
    Ok(Json(view(&state, &k, f.as_ref())))
}

/// A ticket taken for a kind of business.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TicketRequest {
    pub kind: BusinessKind,
}

/// A counter calls the next ticket.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CallRequest {
    /// The counter (窗口) number.
    #[schema(minimum = 1, maximum = 99)]
    pub counter: i64,
    /// Only tickets of this kind (absent: any).
    pub kind: Option<BusinessKind>,
}

/// How a ticket ends.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FinishRequest {
    /// `served` (办结) or `missed` (过号).
    pub outcome: TicketOutcome,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketOutcome {
    Served,
    Missed,
}

/// A business kind's code from a body field, or its error.
fn kind_of(
    o: &serde_json::Map<String, Value>,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<BusinessKind> {
    match text(o, "kind", "kind", errors) {
        None if required => {
            errors.push(FieldError::new(
                "kind",
                FieldCode::Required,
                texts::counter::KIND_MISSING,
            ));
            None
        }
        None => None,
        Some(k) => {
            let parsed = BusinessKind::parse(k.trim());
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "kind",
                    FieldCode::UnknownValue,
                    texts::counter::KIND_UNKNOWN,
                ));
            }
            parsed
        }
    }
}

/// Take a queue ticket at the hall (取号): the day's next number there.
#[utoipa::path(
    post, path = "/api/v1/halls/{hall}/tickets", params(("hall" = String, Path)),
    request_body = TicketRequest,
    security(("session" = [])),
    responses(
        (status = 201, body = TicketView),
        (status = 404, body = ErrorBody, description = "not_found: not a hall of the caller"),
    )
)]
pub async fn post_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(hall): Path<String>,
    body: JsonObject,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    let mut errors = Vec::new();
    let kind = kind_of(&body.value, true, &mut errors);
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    Ok((
        StatusCode::CREATED,
        Json(take_ticket(&state, &caller, Some(&hall), kind).await?),
    ))
}

/// The hall's queue now: who waits, who is at a counter, today's times.
#[utoipa::path(
    get, path = "/api/v1/halls/{hall}/queue", params(("hall" = String, Path)),
    security(("session" = [])),
    responses(
        (status = 200, body = QueueView),
        (status = 404, body = ErrorBody, description = "not_found: not a hall of the caller"),
    )
)]
pub async fn get_queue(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(hall): Path<String>,
) -> Result<Json<QueueView>, ApiError> {
    Ok(Json(queue(&state, &caller, Some(&hall)).await?))
}

/// A counter calls the next ticket (of `kind`, or any): the ticket it was
/// serving is served.
#[utoipa::path(
    post, path = "/api/v1/halls/{hall}/queue/call", params(("hall" = String, Path)),
    request_body = CallRequest,
    security(("session" = [])),
    responses(
        (status = 200, body = CallView),
        (status = 404, body = ErrorBody, description = "not_found: not a hall of the caller"),
    )
)]
pub async fn post_call(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(hall): Path<String>,
    body: JsonObject,
) -> Result<Json<CallView>, ApiError> {
    let mut errors = Vec::new();
    // A JSON number, as documented (text is the pages' business).
    let counter = match body.get("counter") {
        None | Some(Value::Null) => validate_counter(None),
        Some(Value::Number(n)) => validate_counter(Some(&n.to_string())),
        Some(_) => validate_counter(Some("?")),
    }
    .map_err(|e| errors.extend(e))
    .ok();
    let kind = kind_of(&body.value, false, &mut errors);
    let Some(counter) = counter.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    Ok(Json(
        call_next(&state, &caller, Some(&hall), counter, kind).await?,
    ))
}

/// A ticket at the counter is served (办结), or one not there is missed (过号).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/finish", params(("id" = String, Path)),
    request_body = FinishRequest,
    security(("session" = [])),
    responses(
        (status = 200, body = TicketView),
        (status = 409, body = ErrorBody, description = "invalid_transition: already ended"),
    )
)]
pub async fn post_finish(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<TicketView>, ApiError> {
    let mut errors = Vec::new();
    let outcome = match text(&body.value, "outcome", "outcome", &mut errors) {
        Some("served") => Some(TicketStatus::Served),
        Some("missed") => Some(TicketStatus::Missed),
        Some(_) => {
            errors.push(FieldError::new(
                "outcome",
                FieldCode::UnknownValue,
                texts::counter::OUTCOME_UNKNOWN,
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "outcome",
                FieldCode::Required,
                texts::counter::OUTCOME_UNKNOWN,
            ));
            None
        }
    };
    let Some(outcome) = outcome.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    Ok(Json(finish_ticket(&state, &caller, id, outcome).await?))
}
