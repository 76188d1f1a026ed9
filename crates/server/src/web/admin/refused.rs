//! How the administrators' forms (and the account's own settings) answer a
//! refusal: the form's page again, with what was typed, and a sentence that
//! names the action and says why (“新建账户”未办理：…。); and, where no
//! page can be shown, an error page that keeps the signed-in menu.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::texts::{self, admin_forms as t};
use crate::web::{Failure, Nav, render};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

/// The error page (`error.html`) with the caller's menu.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Nav,
    title: String,
    message: String,
}

/// An error page for this caller: their menu stays in the header.
pub fn error_page_as(caller: &Caller, status: StatusCode, message: &str) -> Response {
    let title = if status.is_server_error() {
        texts::page::BUSY
    } else {
        texts::page::REFUSED
    };
    render(caller, status, |nav, _| ErrorPage {
        nav,
        title: title.to_owned(),
        message: message.to_owned(),
    })
}

/// A failure as an error page for this caller, in words for people (a
/// fault of ours is never described).
pub fn failure_page_as(caller: &Caller, e: &impl Failure) -> Response {
    let status = e.status();
    if status == StatusCode::NOT_FOUND {
        return not_found_page_as(caller);
    }
    let message = if status.is_server_error() {
        t::RETRY_LATER.to_owned()
    } else {
        e.message()
    };
    error_page_as(caller, status, &message)
}

/// A store's failure as an error page for this caller.
pub fn store_failed_as(caller: &Caller, e: onestop_store::StoreError) -> Response {
    failure_page_as(caller, &ApiError::from(e))
}

/// The `404` page for this caller.
pub fn not_found_page_as(caller: &Caller) -> Response {
    render(caller, StatusCode::NOT_FOUND, |nav, _| ErrorPage {
        nav,
        title: texts::page::NOT_FOUND_TITLE.to_owned(),
        message: texts::page::NOT_FOUND.to_owned(),
    })
}

/// Why the action of a form with input was not taken, for people: a fault
/// of ours as “try again later, what you typed is kept”, anything else as
/// its own message (or its one field's problem).
pub fn action_note(action: &str, e: &impl Failure) -> String {
    if e.status().is_server_error() {
        return because(action, t::BUSY);
    }
    crate::web::form::action_message(action, e)
}

/// Why the action of a button (nothing typed) was not taken, for people.
pub fn button_note(action: &str, e: &impl Failure) -> String {
    if e.status().is_server_error() {
        return because(action, t::RETRY_LATER);
    }
    crate::web::form::action_message(action, e)
}

/// `“{action}”未办理：{reason}。`
pub fn because(action: &str, reason: &str) -> String {
    texts::fill(
        texts::page::ACTION_REFUSED,
        &[
            ("action", &action),
            ("reason", &reason.trim_end_matches(['。', '.', ' '])),
        ],
    )
}

/// The status a refused form is shown again with: the failure's own, but
/// never `200` or a redirect.
pub fn status_of(e: &impl Failure) -> StatusCode {
    let s = e.status();
    if s.is_client_error() || s.is_server_error() {
        s
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Whether a refusal is about who is asking (signed out, not allowed), so
/// that no form is shown again.
pub fn is_access(e: &impl Failure) -> bool {
    matches!(e.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}
