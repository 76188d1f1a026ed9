//! In-app messages over the API (session only).

use crate::AppState;
use crate::api::body::JsonObject;
use crate::api::query::{PageQuery, page_at};
use crate::app::notifications::*;
use crate::auth::ApiCaller;
use crate::auth::forbidden;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Query, State};
use onestop_domain::form::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which messages to mark read.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// One message; absent or `null`: all of them.
    pub id: Option<i64>,
}

/// How many messages were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// The signed-in account's messages, newest first, with the unread count.
#[utoipa::path(
    get, path = "/api/v1/notifications",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = NotificationList),
        (status = 403, body = ErrorBody, description = "not an account")
    )
)]
pub async fn list_api(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<PageQuery>,
) -> Result<Json<NotificationList>, ApiError> {
    let account = account_id(&caller).ok_or_else(forbidden)?;
    let mut errors = Vec::new();
    let at = page_at(
        q.page.as_deref(),
        q.cursor.as_deref(),
        &onestop_store::notifications::ORDER,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (found, unread) = load(&state, account, at).await?;
    let t = |ms: i64| {
        onestop_domain::timefmt::format(onestop_domain::timefmt::from_ms(ms, state.offset))
    };
    Ok(Json(NotificationList {
        items: found
            .items
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                title: n.title,
                body: n.body,
                link: n.link,
                created_at: t(n.created_at_ms),
                read_at: n.read_at_ms.map(t),
            })
            .collect(),
        unread,
        next_page: found.next_page,
        next_cursor: found.next_cursor.map(|c| c.encode()),
    }))
}

/// Marks one message read (`{"id": n}`), or all of them (`{}`).
#[utoipa::path(
    post, path = "/api/v1/notifications/read",
    request_body = ReadRequest,
    security(("session" = [])),
    responses(
        (status = 200, body = Marked),
        (status = 403, body = ErrorBody, description = "not an account"),
        (status = 422, body = ErrorBody, description = "`id` is not an integer")
    )
)]
pub async fn read_api(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Json<Marked>, ApiError> {
    let account = account_id(&caller).ok_or_else(forbidden)?;
    let value = body.value;
    let id = match value.get("id") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "id",
                onestop_domain::form::FieldCode::InvalidFormat,
                crate::texts::api::NOTIFICATION_ID,
            )])
        })?),
    };
    let marked = mark(&state, account, id).await?;
    Ok(Json(Marked { marked }))
}
