//! Ratings (好差评) and follow-ups (咨询回复、差评整改) over the API.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::follow_ups::{self, AnswerInput, FollowUpView};
use crate::app::ratings::{self, Given, RatingRequest, RatingView};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::texts;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::counter::{
    FollowUpKind, FollowUpStatus, RatingDraft, RatingLevel, RatingSubject,
};
use onestop_domain::form::{FieldCode, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A rating (好差评): of a completed application or a finished work order
/// (the enterprise), of a consultation or a visit at a window (the hall's
/// clerk, as the customer gave it). 不满意 or worse opens a follow-up for
/// the unit concerned (`counter.rating_follow_up_days`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RatingRequestBody {
    pub subject_kind: RatingSubject,
    /// The application's, work order's or consultation's id; for a
    /// `window_visit`, the hall's code.
    #[schema(min_length = 1, max_length = 64)]
    pub subject_id: String,
    pub level: RatingLevel,
    #[schema(min_length = 1, max_length = 500)]
    pub comment: Option<String>,
    /// The utility unit it concerns: one of the application's; required
    /// with a bad rating unless the subject has one unit (or a
    /// consultation's follow-up names one).
    #[schema(min_length = 1, max_length = 64)]
    pub unit: Option<String>,
}

/// The unit's written answer to a follow-up.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResponseRequest {
    #[schema(min_length = 1, max_length = 1000)]
    pub response: String,
    /// The follow-up's `version` as read.
    pub version: i64,
}

/// Rate an application, a work order, a consultation or a window visit.
#[utoipa::path(
    post, path = "/api/v1/ratings",
    request_body = RatingRequestBody,
    params(crate::api::doc::IdempotencyHeader),
    responses(
        (status = 201, body = RatingView, headers(("Location" = String))),
        (status = 404, body = ErrorBody, description = "not_found: no such subject, or one the caller may not see"),
        (status = 409, body = ErrorBody, description = "already_rated, not_completed, idempotency_conflict, calendar_year_missing"),
    )
)]
pub async fn post_rating(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let key = body.idempotency_key()?;
    let mut errors = Vec::new();
    let kind = body.text("subject_kind", &mut errors);
    let id = body.text("subject_id", &mut errors);
    let draft = RatingDraft {
        level: body.text("level", &mut errors),
        comment: body.text("comment", &mut errors),
        unit: body.text("unit", &mut errors),
    };
    let request = RatingRequest::parse(&state, kind, id, draft);
    let request = match request {
        Ok(r) if errors.is_empty() => r,
        Ok(_) => return Err(ApiError::validation(errors)),
        Err(crate::app::error::Error::Invalid(more)) => {
            errors.extend(more);
            return Err(ApiError::validation(errors));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match ratings::rate(&state, &caller, request, key).await? {
        Given::Created(v) => {
            let mut res = (StatusCode::CREATED, Json(&*v)).into_response();
            if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/ratings/{}", v.id)) {
                res.headers_mut().insert(header::LOCATION, l);
            }
            res
        }
        Given::Replayed(saved) => crate::api::saved_response(saved),
    })
}

/// One rating, with the follow-up a bad one opened (and the unit's answer).
#[utoipa::path(
    get, path = "/api/v1/ratings/{id}", params(("id" = String, Path)),
    responses((status = 200, body = RatingView))
)]
pub async fn get_rating(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RatingView>, ApiError> {
    Ok(Json(ratings::read(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowUpQuery {
    #[param(value_type = Option<FollowUpStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<FollowUpKind>)]
    pub kind: Option<String>,
    /// 1-based page number, at most 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub page: Option<String>,
}

/// A page of follow-ups.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpList {
    pub items: Vec<FollowUpView>,
    /// The next page's number, or null on the last.
    pub next_page: Option<u32>,
}

/// Follow-ups the caller may see (a unit's operators: their unit's; a
/// hall's clerks: those arisen there; supervisors: all): open ones first,
/// the earliest deadline first.
#[utoipa::path(
    get, path = "/api/v1/follow-ups", params(FollowUpQuery),
    responses((status = 200, body = FollowUpList))
)]
pub async fn list_follow_ups(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<FollowUpQuery>,
) -> Result<Json<FollowUpList>, ApiError> {
    let mut errors = Vec::new();
    let status = crate::api::query::parse_code(
        "status",
        q.status.as_deref(),
        FollowUpStatus::parse,
        &mut errors,
    );
    let kind =
        crate::api::query::parse_code("kind", q.kind.as_deref(), FollowUpKind::parse, &mut errors);
    let page = crate::api::query::parse_page(
        "page",
        q.page.as_deref(),
        1,
        onestop_store::follow_ups::MAX_PAGE,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (items, more) = follow_ups::list(&state, &caller, status, kind, page, 20).await?;
    Ok(Json(FollowUpList {
        items: items.iter().map(|f| follow_ups::view(&state, f)).collect(),
        next_page: (more && page < onestop_store::follow_ups::MAX_PAGE).then_some(page + 1),
    }))
}

/// One follow-up.
#[utoipa::path(
    get, path = "/api/v1/follow-ups/{id}", params(("id" = String, Path)),
    responses((status = 200, body = FollowUpView))
)]
pub async fn get_follow_up(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<FollowUpView>, ApiError> {
    match follow_ups::visible(&state, &caller, id).await? {
        Some(f) => Ok(Json(follow_ups::view(&state, &f))),
        None => Err(ApiError::not_found()),
    }
}

/// The unit answers a follow-up in writing: `{"response", "version"}`.
#[utoipa::path(
    post, path = "/api/v1/follow-ups/{id}/response", params(("id" = String, Path)),
    request_body = ResponseRequest,
    responses(
        (status = 200, body = FollowUpView),
        (status = 409, body = ErrorBody, description = "invalid_transition (answered already), stale_version"),
    )
)]
pub async fn post_response(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<FollowUpView>, ApiError> {
    let mut errors = Vec::new();
    let response = body.text("response", &mut errors);
    let version = match body.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(n),
            None => {
                errors.push(FieldError::new(
                    "version",
                    FieldCode::InvalidFormat,
                    texts::counter::VERSION_NOT_NUMBER,
                ));
                Some(0)
            }
        },
    };
    let input = AnswerInput::parse(response, version);
    let input = match input {
        Ok(i) if errors.is_empty() => i,
        Ok(_) => return Err(ApiError::validation(errors)),
        Err(crate::app::error::Error::Invalid(more)) => {
            errors.extend(more);
            return Err(ApiError::validation(errors));
        }
        Err(e) => return Err(e.into()),
    };
    let f = follow_ups::answer(&state, &caller, id, input).await?;
    Ok(Json(follow_ups::view(&state, &f)))
}
