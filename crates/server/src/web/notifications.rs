//! In-app messages (站内消息): the page behind the bell, and the same over
//! the API for a signed-in browser. Each account sees its own messages only.

use crate::AppState;
use crate::auth::{ApiCaller, Caller, forbidden};
use crate::error::{ApiError, ErrorBody};
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::staff::{PER_PAGE, encode_next, parse_page, query_map, when};
use crate::web::{Nav, error_page, respond};
use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onestop_store::notifications::{self, Notification};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read", post(read_form))
        .route("/api/v1/notifications", get(list_api))
        .route("/api/v1/notifications/read", post(read_api))
}

/// The signed-in account behind a request, or why not.
fn account_id(caller: &Caller) -> Option<String> {
    caller
        .account()
        .filter(|a| !a.must_change_password)
        .map(|a| a.id.clone())
}

async fn load(
    state: &AppState,
    account: String,
    page: u32,
) -> Result<(Vec<Notification>, Option<u32>, i64), ApiError> {
    Ok(state
        .store
        .read(move |c| {
            let (items, next) = notifications::list(c, &account, page, PER_PAGE)?;
            Ok((items, next, notifications::unread_count(c, &account)?))
        })
        .await?)
}

async fn mark(state: &AppState, account: String, id: Option<i64>) -> Result<u64, ApiError> {
    let now_ms = state.now_ms();
    Ok(state
        .store
        .write(move |c| notifications::mark_read(c, &account, id, now_ms))
        .await?)
}

struct Line {
    id: i64,
    title: String,
    body: String,
    link: Option<String>,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct Page {
    nav: Nav,
    csrf: String,
    lines: Vec<Line>,
    unread: i64,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(account) = account_id(&caller) else {
        if caller.account().is_some() {
            return Redirect::to("/account/password").into_response();
        }
        let next = uri
            .path_and_query()
            .map_or("/notifications", |p| p.as_str());
        return Redirect::to(&format!("/login?next={}", encode_next(next))).into_response();
    };
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let page = parse_page(&q, &mut invalid);
    let (items, next_page, unread) = match load(&state, account, page).await {
        Ok(r) => r,
        Err(e) => return error_page(e.status, &e.message),
    };
    let csrf = caller.csrf_token();
    let mut caller = caller;
    caller.unread = Some(unread);
    let lines = items
        .into_iter()
        .map(|n| Line {
            id: n.id,
            title: n.title,
            body: n.body,
            link: n.link,
            at: when(
                &state,
                onestop_domain::timefmt::from_ms(n.created_at_ms, state.offset),
            ),
            unread: n.read_at_ms.is_none(),
        })
        .collect();
    let p = Page {
        nav: Nav::for_caller(&caller, &csrf),
        csrf: csrf.clone(),
        lines,
        unread,
        page,
        prev: (page > 1).then(|| format!("/notifications?page={}", page - 1)),
        next: next_page.map(|n| format!("/notifications?page={n}")),
    };
    respond(&caller, &csrf, StatusCode::OK, &p)
}

/// Marking one message (`id`, then going to `go`) or all as read.
struct ReadFields;

impl PageFields for ReadFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["id", "go"])
    }
    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        account_id(caller)
            .is_none()
            .then(|| Redirect::to("/login?next=/notifications").into_response())
    }
}

async fn read_form(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<ReadFields>,
) -> Response {
    let Some(account) = account_id(&caller) else {
        return Redirect::to("/login?next=/notifications").into_response();
    };
    let form = form.map();
    let id = form.get("id").and_then(|v| v.parse::<i64>().ok());
    match mark(&state, account, id).await {
        Ok(_) => {
            let to = form
                .get("go")
                .filter(|g| g.starts_with('/') && !g.starts_with("//"))
                .cloned()
                .unwrap_or_else(|| "/notifications".to_owned());
            Redirect::to(&to).into_response()
        }
        Err(e) => error_page(e.status, &e.message),
    }
}

/// One in-app message.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub unread: i64,
    pub next_page: Option<u32>,
}

/// The signed-in account's messages, newest first, with the unread count.
#[utoipa::path(
    get, path = "/api/v1/notifications",
    params(("page" = Option<u32>, Query)),
    responses(
        (status = 200, body = NotificationList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "not an account")
    )
)]
pub async fn list_api(
    State(state): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Json<NotificationList>, ApiError> {
    let account = account_id(&caller).ok_or_else(forbidden)?;
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let page = parse_page(&q, &mut invalid);
    let (items, next_page, unread) = load(&state, account, page).await?;
    let t = |ms: i64| {
        onestop_domain::timefmt::format(onestop_domain::timefmt::from_ms(ms, state.offset))
    };
    Ok(Json(NotificationList {
        items: items
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
        next_page,
    }))
}

/// Marks one message read (`{"id": n}`), or all of them (`{}`).
#[utoipa::path(
    post, path = "/api/v1/notifications/read",
    request_body = Object,
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub async fn read_api(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: axum::body::Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let account = account_id(&caller).ok_or_else(forbidden)?;
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    let id = match value.get("id") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::validation(vec![crate::api::field_error(
                "id",
                onestop_domain::form::FieldCode::InvalidFormat,
                "id 须为消息编号（整数）",
            )])
        })?),
    };
    let marked = mark(&state, account, id).await?;
    Ok(Json(serde_json::json!({ "marked": marked })))
}
