//! Notification settings (通知设置): the account's email address and one
//! switch per channel — in the app, email, SMS — on a page and over the API.
//! Every change is audited with the old and new switches (never the address).

use crate::AppState;
use crate::app::settings::*;
use crate::auth::Caller;
use crate::web::admin::refused;
use crate::web::auth::login_redirect;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::collections::{BTreeMap, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new().route("/account/notifications", get(page).post(submit))
}

#[derive(Template)]
#[template(path = "account_notifications.html")]
struct Page {
    nav: Nav,
    csrf: String,
    s: NotificationSettings,
    errors: BTreeMap<String, String>,
    saved: bool,
    /// Why the settings were not saved, when not for a field.
    failure: Option<String>,
}

impl Page {
    fn err(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = account_id(&caller) else {
        if caller.account().is_some() {
            return Redirect::to("/account/password").into_response();
        }
        return login_redirect(&caller, "/account/notifications");
    };
    let contact = match load(&state, id).await {
        Ok(c) => c,
        Err(e) => return refused::failure_page_as(&caller, &e),
    };
    render(&caller, StatusCode::OK, |nav, csrf| Page {
        nav,
        csrf,
        s: view(&state, contact),
        errors: BTreeMap::new(),
        saved: q.contains_key("saved"),
        failure: None,
    })
}

/// The account's email address and channel switches.
struct SettingsFields;

impl PageFields for SettingsFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["email", "in_app", "email_enabled", "sms_enabled"])
    }
    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        account_id(caller)
            .is_none()
            .then(|| login_redirect(caller, "/account/notifications"))
    }
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    f: PageForm<SettingsFields>,
) -> Response {
    let Some(id) = account_id(&caller) else {
        return login_redirect(&caller, "/account/notifications");
    };
    let f = f.map();
    let on = |k: &str| {
        f.get(k)
            .is_some_and(|v| v == "on" || v == "1" || v == "true")
    };
    let email = f.get("email").cloned();
    match save(
        &state,
        &caller,
        id.clone(),
        email.clone(),
        on("in_app"),
        on("email_enabled"),
        on("sms_enabled"),
    )
    .await
    {
        Ok(_) => Redirect::to("/account/notifications?saved=1").into_response(),
        Err(e) if refused::is_access(&e) => refused::failure_page_as(&caller, &e),
        Err(e) => {
            // The page again with the switches and address as sent.
            let contact = match load(&state, id).await {
                Ok(c) => c,
                Err(e) => return refused::failure_page_as(&caller, &e),
            };
            let mut s = view(&state, contact);
            s.email = email;
            s.in_app = on("in_app");
            s.email_enabled = on("email_enabled");
            s.sms_enabled = on("sms_enabled");
            let errors = crate::web::form::errors_of(&e);
            let failure = errors
                .is_empty()
                .then(|| refused::action_note(crate::texts::admin_forms::SAVE_SETTINGS, &e));
            render(&caller, refused::status_of(&e), |nav, csrf| Page {
                nav,
                csrf,
                s,
                errors,
                saved: false,
                failure,
            })
        }
    }
}
