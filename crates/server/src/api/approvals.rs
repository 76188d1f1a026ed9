//! Parallel approval over the API: cases, department items, decisions and
//! resubmissions (`spec/API.md`).

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::approvals::*;
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use onestop_domain::approval::ItemStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Raising an application's approval case (附表4).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CaseRequest {
    /// The application's work orders in the approval stage whose external
    /// works need approval.
    #[schema(schema_with = work_ids)]
    pub works: Vec<String>,
    /// Where the works are done (施工地点).
    #[schema(min_length = 1, max_length = 200)]
    pub place: String,
    /// First day of the works, `YYYY-MM-DD`, not before today.
    #[schema(format = Date)]
    pub from: String,
    /// Last day of the works, `YYYY-MM-DD`, not before `from`.
    #[schema(format = Date)]
    pub to: String,
    /// Configured approval departments the works do not concern.
    pub not_applicable: Option<Vec<String>>,
    /// The signed commitment (附表3): departments that accept commitments
    /// approve at once.
    pub commitment: Option<CommitmentInput>,
}

fn work_ids() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64)),
        )
        .min_items(Some(1))
        .max_items(Some(onestop_domain::approval::MAX_CASE_WORKS))
        .description(Some(
            "The application's work orders in the approval stage whose external works need approval.",
        ))
        .build()
}

/// The signed commitment (告知承诺书, 附表3).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommitmentInput {
    #[schema(min_length = 1, max_length = 50)]
    pub signed_by: String,
    /// The committing unit (承诺单位).
    #[schema(min_length = 1, max_length = 100)]
    pub unit: String,
    /// `YYYY-MM-DD`, not after today.
    #[schema(format = Date)]
    pub signed_at: String,
    /// The commitment's sentence, typed out.
    #[schema(schema_with = confirmation)]
    pub confirmation: String,
}

fn confirmation() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([onestop_domain::approval::CONFIRMATION]))
        .description(Some(
            "The commitment's sentence, typed out word for word; spaces and punctuation \
             around it (a closing `。`, quotes) are ignored.",
        ))
        .build()
}

/// A department's decision on its item.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"decision": "approve", "opinion": "同意按方案施工", "version": 1}))]
pub struct DecisionRequest {
    pub decision: Decision,
    /// The department's opinion (审批意见).
    #[schema(min_length = 1, max_length = 1000)]
    pub opinion: String,
    /// The item's version as the caller saw it.
    #[schema(minimum = 1)]
    pub version: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// A rejected case, revised and put to the departments again.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResubmissionRequest {
    /// The case's version as the caller saw it.
    #[schema(minimum = 1)]
    pub version: i64,
    /// What was changed in answer to the opinions (修改说明).
    #[schema(min_length = 1, max_length = 1000)]
    pub note: String,
    /// A new place of works; absent keeps the case's.
    #[schema(min_length = 1, max_length = 200)]
    pub place: Option<String>,
    /// New first day of the works (`YYYY-MM-DD`, not before today); absent keeps the case's.
    #[schema(format = Date)]
    pub from: Option<String>,
    /// New last day (`YYYY-MM-DD`, not before `from`); absent keeps the case's.
    #[schema(format = Date)]
    pub to: Option<String>,
}

/// One approval case with its consolidated opinion sheet (附表4).
#[utoipa::path(
    get, path = "/api/v1/approval-cases/{id}", params(("id" = String, Path)),
    responses(
        (status = 200, body = CaseView)
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
    request_body = ResubmissionRequest,
    responses(
        (status = 200, body = CaseView),
        (status = 409, body = ErrorBody, description = "invalid_transition, stale_version")
    )
)]
pub async fn post_resubmission(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<CaseView>, ApiError> {
    let input = RevisionInput::from_json(&body.value)?;
    Ok(Json(resubmit(&state, &caller, id, input).await?))
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
    /// All but not-applicable and withdrawn items by default (`withdrawn`:
    /// pending items of an application cancelled since, asked for by name).
    #[param(value_type = Option<ItemStatus>)]
    pub status: Option<String>,
    /// 1-based page number, at most 100; deeper pages are read by `cursor`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub page: Option<String>,
    /// Items per page, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
    /// The `next_cursor` of the previous page (instead of `page`).
    #[param(max_length = 1024, pattern = r"^[0-9A-Fa-f]+$")]
    pub cursor: Option<String>,
}

/// The approval items of the caller's departments (an approver, or a key
/// with `approvals:write:<department>`).
#[utoipa::path(
    get, path = "/api/v1/approval-items", params(InboxQuery),
    responses(
        (status = 200, body = InboxList)
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
    request_body = CaseRequest,
    responses(
        (status = 201, body = CaseView),
        (status = 409, body = ErrorBody, description = "case_exists")
    )
)]
pub async fn post_case(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let today = state.now().date();
    let input = onestop_domain::approval::check_case(&body.into_value(), &state.config, today)
        .map_err(ApiError::validation)?;
    Ok((
        StatusCode::CREATED,
        Json(raise(&state, &caller, id, input).await?),
    ))
}

/// A department's decision on its item: `{"decision": "approve" | "reject", "opinion", "version"}`.
#[utoipa::path(
    post, path = "/api/v1/approval-items/{id}/decision", params(("id" = String, Path)),
    request_body = DecisionRequest,
    responses(
        (status = 200, body = CaseView),
        (status = 409, body = ErrorBody, description = "invalid_transition, stale_version")
    )
)]
pub async fn post_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Json<CaseView>, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let input = DecisionInput::from_json(&body.value)?;
    Ok(Json(decide(&state, &caller, id, input).await?))
}
