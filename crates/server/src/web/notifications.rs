//! In-app messages (站内消息): the page behind the bell, and the same over
//! the API for a signed-in browser. Each account sees its own messages only.

use crate::AppState;
use crate::app::notifications::*;
use crate::auth::Caller;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::staff::{Pager, encode_next, query_map, when};
use crate::web::{Nav, failure_page, respond};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read", post(read_form))
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
    let pager = Pager::parse(&q, &onestop_store::notifications::ORDER, &mut invalid);
    let (found, unread) = match load(&state, account, pager.at.clone()).await {
        Ok(r) => r,
        Err(e) => return failure_page(e),
    };
    let next = pager.next("/notifications", &[], &found);
    let csrf = caller.csrf_token();
    let mut caller = caller;
    caller.unread = Some(unread);
    let lines = found
        .items
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
        page: pager.page,
        prev: pager.prev("/notifications", &[]),
        next,
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
        Err(e) => failure_page(e),
    }
}
