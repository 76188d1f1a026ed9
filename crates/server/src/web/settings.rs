//! Notification settings (通知设置): the account's email address and one
//! switch per channel — in the app, email, SMS — on a page and over the API.
//! Every change is audited with the old and new switches (never the address).

use crate::AppState;
use crate::api::field_error;
use crate::auth::{ApiCaller, Caller, forbidden};
use crate::error::{ApiError, ErrorBody};
use crate::web::auth::login_redirect;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, error_page, respond};
use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::mask_phone;
use onestop_domain::form::FieldCode;
use onestop_store::accounts::{self, Contact};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/notifications", get(page).post(submit))
        .route(
            "/api/v1/account/notification-settings",
            get(get_api).put(put_api),
        )
}

/// The settings as the API shows them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationSettings {
    /// Where email goes; `null` for none.
    pub email: Option<String>,
    /// The account's mobile number, masked (read only).
    #[serde(default, skip_deserializing)]
    pub phone: Option<String>,
    pub in_app: bool,
    pub email_enabled: bool,
    pub sms_enabled: bool,
    /// Whether this server sends email / SMS at all (read only).
    #[serde(default, skip_deserializing)]
    pub email_available: bool,
    #[serde(default, skip_deserializing)]
    pub sms_available: bool,
}

fn view(state: &AppState, c: Contact) -> NotificationSettings {
    let out = crate::jobs::delivery::outward(&state.config);
    NotificationSettings {
        email: c.email,
        phone: c.phone.as_deref().map(mask_phone),
        in_app: c.in_app,
        email_enabled: c.email_on,
        sms_enabled: c.sms_on,
        email_available: out.email,
        sms_available: out.sms,
    }
}

fn account_id(caller: &Caller) -> Option<String> {
    caller
        .account()
        .filter(|a| !a.must_change_password)
        .map(|a| a.id.clone())
}

async fn load(state: &AppState, id: String) -> Result<Contact, ApiError> {
    state
        .store
        .read(move |c| accounts::contact(c, &id))
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Checks and stores new settings; returns them as stored.
async fn save(
    state: &AppState,
    caller: &Caller,
    id: String,
    email: Option<String>,
    in_app: bool,
    email_on: bool,
    sms_on: bool,
) -> Result<Contact, ApiError> {
    let email = email
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty());
    if let Some(e) = &email
        && !onestop_domain::contact::is_email(e)
    {
        return Err(ApiError::validation(vec![field_error(
            "email",
            FieldCode::InvalidFormat,
            "请输入有效的电子邮箱地址，例如 zhang.san@example.com",
        )]));
    }
    let now_ms = state.now_ms();
    let old = load(state, id.clone()).await?;
    let new = Contact {
        email,
        phone: old.phone.clone(),
        in_app,
        email_on,
        sms_on,
    };
    let rec = caller.audit(
        now_ms,
        "notification_settings_changed",
        "success",
        "account",
        &id,
        serde_json::json!({
            "email_changed": old.email != new.email,
            "in_app": new.in_app, "email": new.email_on, "sms": new.sms_on,
        }),
    );
    let stored = new.clone();
    let audit_key = state.audit_key.clone();
    let found = state
        .store
        .write(move |c| {
            if !accounts::set_contact(c, &id, &stored, now_ms)? {
                return Ok(false);
            }
            onestop_store::audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err(ApiError::not_found());
    }
    Ok(new)
}

#[derive(Template)]
#[template(path = "account_notifications.html")]
struct Page {
    nav: Nav,
    csrf: String,
    s: NotificationSettings,
    errors: BTreeMap<String, String>,
    saved: bool,
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
        Err(e) => return error_page(e.status, &e.message),
    };
    let csrf = caller.csrf_token();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &Page {
            nav: Nav::for_caller(&caller, &csrf),
            csrf: csrf.clone(),
            s: view(&state, contact),
            errors: BTreeMap::new(),
            saved: q.contains_key("saved"),
        },
    )
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
        Err(e) if e.code == "validation_failed" => {
            let contact = match load(&state, id).await {
                Ok(c) => c,
                Err(e) => return error_page(e.status, &e.message),
            };
            let mut s = view(&state, contact);
            s.email = email;
            s.in_app = on("in_app");
            s.email_enabled = on("email_enabled");
            s.sms_enabled = on("sms_enabled");
            let csrf = caller.csrf_token();
            respond(
                &caller,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                &Page {
                    nav: Nav::for_caller(&caller, &csrf),
                    csrf: csrf.clone(),
                    s,
                    errors: crate::web::approvals::errors_of(&e),
                    saved: false,
                },
            )
        }
        Err(e) => error_page(e.status, &e.message),
    }
}

/// The signed-in account's notification settings.
#[utoipa::path(
    get, path = "/api/v1/account/notification-settings",
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "not an account")
    )
)]
pub async fn get_api(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<NotificationSettings>, ApiError> {
    let id = account_id(&caller).ok_or_else(forbidden)?;
    Ok(Json(view(&state, load(&state, id).await?)))
}

/// Replaces the signed-in account's email address and channel switches.
#[utoipa::path(
    put, path = "/api/v1/account/notification-settings",
    request_body = NotificationSettings,
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "email is not an address")
    )
)]
pub async fn put_api(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: axum::body::Body,
) -> Result<Json<NotificationSettings>, ApiError> {
    let id = account_id(&caller).ok_or_else(forbidden)?;
    let bytes = crate::middleware::read_body(body, state.body_limit).await?;
    let value = crate::api::parse_object(&bytes)?;
    let mut problems = Vec::new();
    let flag = |k: &str, problems: &mut Vec<_>| match value.get(k) {
        Some(serde_json::Value::Bool(b)) => *b,
        _ => {
            problems.push(field_error(
                k,
                FieldCode::InvalidFormat,
                "须为 true 或 false",
            ));
            false
        }
    };
    let in_app = flag("in_app", &mut problems);
    let email_on = flag("email_enabled", &mut problems);
    let sms_on = flag("sms_enabled", &mut problems);
    let email = match value.get("email") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(field_error(
                "email",
                FieldCode::InvalidFormat,
                "email 须为邮箱地址字符串或 null",
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let saved = save(&state, &caller, id, email, in_app, email_on, sms_on).await?;
    Ok(Json(view(&state, saved)))
}
