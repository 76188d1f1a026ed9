//! Signing in and out, self-registration of enterprises, and the password
//! page. Every form carries a CSRF token; every answer to a failed login is
//! the same, so that nothing tells whether an account exists.

use crate::AppState;
use crate::app::accounts::{self, Registration};
use crate::auth::{Caller, CredentialProblem, Limit, clear_session_cookie, session_cookie};
use crate::texts;
use crate::web::Failure;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, error_page, failure_page, render, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onestop_domain::access::{Role, mask_phone};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/register", get(register_form).post(register_submit))
        .route("/account", get(account_page))
        .route(
            "/account/password",
            get(password_form).post(password_submit),
        )
}

/// A `next` target that stays on this site: a path, never `//host` or a URL.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    (n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && n.len() <= 200
        && !n.chars().any(char::is_control))
    .then(|| n.to_owned())
}

/// Where to send someone to sign in before they may see `path`.
pub fn login_redirect(caller: &Caller, path: &str) -> Response {
    let expired = caller.problem == Some(CredentialProblem::SessionEnded);
    let mut url = format!("/login?next={}", crate::web::staff::encode_next(path));
    if expired {
        url.push_str("&notice=expired");
    }
    let mut res = Redirect::to(&url).into_response();
    if expired && let Ok(v) = HeaderValue::from_str(&clear_session_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The answer to a new session: its cookie, and a redirect to `to`.
fn signed_in(state: &AppState, caller: &Caller, token: &str, to: &str) -> Response {
    let sec = &state.config.security;
    let max_age = i64::from(sec.session_max_hours) * 3600;
    let cookie = session_cookie(token, caller.https, sec.cookie_secure, max_age);
    let mut res = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The page a role lands on after signing in.
fn landing(grants: &[onestop_domain::access::Grant]) -> &'static str {
    let has = |r: Role| grants.iter().any(|g| g.role == r);
    if has(Role::Admin) {
        "/admin/accounts"
    } else if has(Role::Operator) {
        "/workbench"
    } else if has(Role::Approver) {
        "/approvals"
    } else if has(Role::Supervisor) {
        "/board"
    } else if grants.is_empty() {
        "/"
    } else {
        "/applications"
    }
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    texts::login_notices::get(code?)
}

// ───────────────────────────── login ─────────────────────────────

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    username: String,
    next: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

async fn login_form(caller: Caller, Query(q): Query<LoginQuery>) -> Response {
    if let Some(a) = caller.account() {
        let to = safe_next(q.next.as_deref()).unwrap_or_else(|| landing(&a.grants).to_owned());
        return Redirect::to(&to).into_response();
    }
    let mut res = render(&caller, StatusCode::OK, |nav, csrf| LoginPage {
        nav,
        csrf,
        username: String::new(),
        next: safe_next(q.next.as_deref()).unwrap_or_default(),
        notice: notice_text(q.notice.as_deref()),
        error: None,
    });
    if caller.problem == Some(CredentialProblem::SessionEnded)
        && let Ok(v) = HeaderValue::from_str(&clear_session_cookie())
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

struct LoginFields;

impl PageFields for LoginFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["username", "password", "next"])
    }
}

async fn login_submit(
    State(state): State<AppState>,
    caller: Caller,
    f: PageForm<LoginFields>,
) -> Response {
    let username: String = f.text("username").trim().chars().take(64).collect();
    let next = safe_next(f.get("next"));
    let again = |status: StatusCode, error: String| {
        render(&caller, status, |nav, csrf| LoginPage {
            nav,
            csrf,
            username: username.clone(),
            next: next.clone().unwrap_or_default(),
            notice: None,
            error: Some(error),
        })
    };
    let sec = &state.config.security;
    if !state.limiter.allow(
        Limit::Login,
        &caller.ip,
        sec.login_per_minute,
        60_000,
        state.now_ms(),
    ) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            texts::login::TOO_FREQUENT.into(),
        );
    }
    let password = f.text("password");
    if username.is_empty() || password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            texts::login::MISSING.into(),
        );
    }
    match accounts::login(&state, &caller, &username, password).await {
        Ok(done) => {
            let to = if done.account.must_change_password {
                "/account/password".to_owned()
            } else {
                let grants = crate::auth::account_subject(&done.account).grants;
                next.unwrap_or_else(|| landing(&grants).to_owned())
            };
            signed_in(&state, &caller, &done.token, &to)
        }
        // Recorded as a failed login already: not a second refusal record.
        Err(e) if e.code() == "login_failed" => {
            crate::refusals::audited(again(StatusCode::UNAUTHORIZED, e.message()))
        }
        Err(e) => failure_page(e),
    }
}

/// Only the token; checked when there is a session to end.
struct LogoutFields;

impl PageFields for LogoutFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new()
    }
    fn needs_csrf(caller: &Caller) -> bool {
        caller.session.is_some()
    }
}

async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    _form: PageForm<LogoutFields>,
) -> Response {
    if caller.session.is_some()
        && let Err(e) = accounts::logout(&state, &caller).await
    {
        return failure_page(e);
    }
    let mut res = Redirect::to("/login?notice=logged_out").into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_session_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ───────────────────────────── registration ─────────────────────────────

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    nav: Nav,
    csrf: String,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    message: Option<String>,
}

impl RegisterPage {
    fn v(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }
    fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }
}

async fn register_form(caller: Caller) -> Response {
    render(&caller, StatusCode::OK, |nav, csrf| RegisterPage {
        nav,
        csrf,
        values: BTreeMap::new(),
        errors: BTreeMap::new(),
        message: None,
    })
}

struct RegisterFields;

impl PageFields for RegisterFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&[
            "uscc",
            "enterprise_name",
            "contact_name",
            "phone",
            "password",
            "password_confirm",
        ])
    }
}

async fn register_submit(
    State(state): State<AppState>,
    caller: Caller,
    f: PageForm<RegisterFields>,
) -> Response {
    let mut values = BTreeMap::new();
    for k in ["uscc", "enterprise_name", "contact_name", "phone"] {
        values.insert(k.to_owned(), f.text(k).chars().take(200).collect());
    }
    let again = |status: StatusCode, errors: BTreeMap<String, String>, message: Option<String>| {
        render(&caller, status, |nav, csrf| RegisterPage {
            nav,
            csrf,
            values: values.clone(),
            errors,
            message,
        })
    };
    if !state.limiter.allow(
        Limit::Register,
        &caller.ip,
        state.config.security.register_per_hour,
        3_600_000,
        state.now_ms(),
    ) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            BTreeMap::new(),
            Some(texts::login::REGISTER_TOO_FREQUENT.into()),
        );
    }
    let r = Registration {
        uscc: f.text("uscc"),
        enterprise_name: f.text("enterprise_name"),
        contact_name: f.text("contact_name"),
        phone: f.text("phone"),
        password: f.text("password"),
        password_confirm: f.text("password_confirm"),
    };
    match accounts::register(&state, &caller, r).await {
        Ok(_) => Redirect::to("/login?notice=registered").into_response(),
        Err(e) if e.code() == "validation_failed" => {
            let mut errors = BTreeMap::new();
            for fe in e.fields() {
                // A taken login name is the phone number on this form.
                let name = if fe.field == "username" {
                    "phone".to_owned()
                } else {
                    fe.field
                };
                errors.entry(name).or_insert(fe.message);
            }
            again(
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                Some(texts::login::REGISTER_INVALID.into()),
            )
        }
        Err(e) => failure_page(e),
    }
}

// ───────────────────────────── my account ─────────────────────────────

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    username: String,
    display_name: String,
    phone: String,
    enterprise: String,
    roles: Vec<String>,
    last_login: String,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

fn role_text(state: &AppState, role: &str, scope: &str) -> String {
    let label = Role::parse(role).map_or(role, |r| r.label_zh());
    if scope.is_empty() {
        return label.to_owned();
    }
    format!("{label} · {}", crate::web::staff::unit_name(state, scope))
}

async fn account_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let Some(me) = caller.account() else {
        return login_redirect(&caller, "/account");
    };
    if me.must_change_password {
        return Redirect::to("/account/password").into_response();
    }
    let id = me.id.clone();
    let account = match state
        .store
        .read(move |c| onestop_store::accounts::get(c, &id))
        .await
    {
        Ok(Some(a)) => a,
        Ok(None) => return login_redirect(&caller, "/account"),
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let csrf = caller.csrf_token();
    let last_login = account
        .last_login_at
        .map(|t| crate::web::staff::when_ms(&state, t))
        .unwrap_or_default();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &AccountPage {
            nav: Nav::for_caller(&caller, &csrf),
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            phone: account.phone.as_deref().map(mask_phone).unwrap_or_default(),
            enterprise: match (&account.enterprise_name, &account.uscc) {
                (Some(n), Some(u)) => {
                    texts::fill(texts::common::NAME_WITH_CODE, &[("name", n), ("code", u)])
                }
                (None, Some(u)) => u.clone(),
                _ => String::new(),
            },
            roles: account
                .grants
                .iter()
                .map(|(r, s)| role_text(&state, r, s))
                .collect(),
            last_login,
            notice: notice_text(q.notice.as_deref()),
        },
    )
}

// ───────────────────────────── password ─────────────────────────────

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    nav: Nav,
    csrf: String,
    forced: bool,
    errors: BTreeMap<String, String>,
}

impl PasswordPage {
    fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }
}

async fn password_form(caller: Caller) -> Response {
    let Some(me) = caller.account() else {
        return login_redirect(&caller, "/account/password");
    };
    render(&caller, StatusCode::OK, |nav, csrf| PasswordPage {
        nav,
        csrf,
        forced: me.must_change_password,
        errors: BTreeMap::new(),
    })
}

/// The password form; signed-in callers only.
struct PasswordFields;

impl PageFields for PasswordFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["current_password", "new_password", "new_password_confirm"])
    }
    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        caller
            .account()
            .is_none()
            .then(|| login_redirect(caller, "/account/password"))
    }
}

async fn password_submit(
    State(state): State<AppState>,
    caller: Caller,
    f: PageForm<PasswordFields>,
) -> Response {
    let Some(me) = caller.account() else {
        return login_redirect(&caller, "/account/password");
    };
    let forced = me.must_change_password;
    match accounts::change_password(
        &state,
        &caller,
        f.text("current_password"),
        f.text("new_password"),
        f.text("new_password_confirm"),
    )
    .await
    {
        Ok(done) => {
            let grants = crate::auth::account_subject(&done.account).grants;
            let to = if forced {
                landing(&grants).to_owned()
            } else {
                "/account?notice=password_changed".to_owned()
            };
            signed_in(&state, &caller, &done.token, &to)
        }
        Err(e) if e.code() == "validation_failed" => {
            let csrf = caller.csrf_token();
            let mut errors = BTreeMap::new();
            for fe in e.fields() {
                errors.entry(fe.field).or_insert(fe.message);
            }
            respond(
                &caller,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                &PasswordPage {
                    nav: Nav::for_caller(&caller, &csrf),
                    csrf: csrf.clone(),
                    forced,
                    errors,
                },
            )
        }
        Err(e) => failure_page(e),
    }
}
