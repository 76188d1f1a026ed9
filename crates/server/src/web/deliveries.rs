//! Outgoing email and SMS for administrators (`/admin/deliveries`): how many
//! wait, were sent or were given up; the given-up ones with their last error,
//! each of which can be sent again. Addresses are shown masked.

use crate::AppState;
use crate::auth::Caller;
use crate::texts::deliveries as t;
use crate::web::admin::refused;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onestop_domain::access::{Capability, mask_phone};
use onestop_store::outbox;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/deliveries", get(page))
        .route("/admin/deliveries/{id}/retry", post(retry))
}

fn gate(caller: &Caller) -> Option<Response> {
    crate::web::admin::gate(caller, Capability::ManageDeliveries, "/admin/deliveries")
}

/// `zhang.san@example.cn` → `z***@example.cn`; phones as everywhere else.
fn mask(channel: &str, address: &str) -> String {
    match (channel, address.split_once('@')) {
        ("email", Some((local, domain))) => {
            format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
        }
        _ => mask_phone(address),
    }
}

struct Line {
    id: i64,
    channel: &'static str,
    address: String,
    title: String,
    status: &'static str,
    failed: bool,
    attempts: i64,
    error: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin_deliveries.html")]
struct Page {
    nav: Nav,
    csrf: String,
    pending: i64,
    sent: i64,
    failed: i64,
    filter: String,
    lines: Vec<Line>,
    notice: Option<&'static str>,
    /// Why a message was not sent again (`?refused=`).
    refused: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&caller) {
        return r;
    }
    let filter = match q.get("status").map(String::as_str) {
        Some("pending") => "pending",
        Some("sent") => "sent",
        Some("all") => "all",
        _ => "failed",
    };
    let status = (filter != "all").then_some(filter);
    let loaded = state
        .store
        .read(move |c| Ok((outbox::counts(c)?, outbox::list(c, status, 100)?)))
        .await;
    let ((pending, sent, failed), rows) = match loaded {
        Ok(r) => r,
        Err(e) => return refused::store_failed_as(&caller, e),
    };
    let lines = rows
        .into_iter()
        .map(|d| Line {
            id: d.id,
            channel: if d.channel == "email" {
                t::EMAIL
            } else {
                t::SMS
            },
            address: mask(&d.channel, &d.address),
            title: d.title,
            status: match d.status.as_str() {
                "sent" => t::SENT,
                "failed" => t::FAILED,
                _ => t::PENDING,
            },
            failed: d.status == "failed",
            attempts: d.attempts,
            error: d.last_error.unwrap_or_default(),
            created: crate::web::staff::when_ms(&state, d.created_at_ms),
        })
        .collect();
    render(&caller, StatusCode::OK, |nav, csrf| Page {
        nav,
        csrf,
        pending,
        sent,
        failed,
        filter: filter.to_owned(),
        lines,
        notice: q.contains_key("requeued").then_some(t::REQUEUED),
        refused: q
            .get("refused")
            .and_then(|why| refused_reason(why))
            .map(|why| refused::because(crate::texts::admin_forms::RETRY_DELIVERY, why)),
    })
}

/// The retry button: only its token.
struct RetryFields;

impl PageFields for RetryFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new()
    }
}

async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    _form: PageForm<RetryFields>,
) -> Response {
    if let Some(r) = gate(&caller) {
        return r;
    }
    let now_ms = state.now_ms();
    let rec = caller.audit(
        now_ms,
        "delivery_requeued",
        "success",
        "delivery",
        &id.to_string(),
        serde_json::json!({}),
    );
    let audit_key = state.audit_key.clone();
    let done = state
        .store
        .write(move |c| {
            let done = outbox::requeue(c, id, now_ms)?;
            if done {
                onestop_store::audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            }
            Ok(done)
        })
        .await;
    // Back to the page either way, saying what became of the message.
    let to = match done {
        Ok(true) => "/admin/deliveries?requeued=1",
        Ok(false) => "/admin/deliveries?refused=not_failed",
        Err(e) => {
            tracing::warn!(error = %e, delivery = id, "a delivery could not be queued again");
            "/admin/deliveries?refused=busy"
        }
    };
    Redirect::to(to).into_response()
}

/// Why a message was not sent again, by the code its redirect carries.
fn refused_reason(code: &str) -> Option<&'static str> {
    match code {
        "not_failed" => Some(t::NOT_FAILED),
        "busy" => Some(crate::texts::admin_forms::RETRY_LATER),
        _ => None,
    }
}
