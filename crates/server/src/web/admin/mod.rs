//! The administrator's pages: accounts, API keys and the audit log.
//!
//! Server-rendered, no JavaScript. Every page checks who is calling first:
//! anonymous callers are sent to the login page (with the path only, never
//! a query, in `next`), sessions that must change their password to the
//! password page, and everyone else without the capability gets `403`.
//! Every form posts a CSRF token; the use cases in [`crate::app::accounts`] check
//! the capability again and write the audit record with the change.
//!
//! Secrets (a temporary password, a new API key) are shown once, on the
//! answer to the POST that made them, and are never stored in clear.

pub mod calendar;
pub mod refused;

use crate::AppState;
use crate::app::accounts::{self as uc, NewAccountInput};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::texts::{self, admin as t, admin_forms as t_forms};
use crate::web::Failure;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::staff::unit_name;
use crate::web::{Nav, render, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onestop_domain::access::{Capability, Role, mask_phone};
use onestop_domain::config::UnitKind;
use onestop_domain::lockout::Failures;
use onestop_store::accounts::{self, Account, AccountFilter, ApiKey};
use onestop_store::audit::{self, AuditFilter, AuditRecord, ProblemKind, VerifyReport};
use refused::{action_note, button_note, failure_page_as, not_found_page_as};
use std::collections::{BTreeMap, HashMap};
use time::UtcOffset;

/// Accounts per page of the list.
const PAGE_SIZE: u32 = 50;
/// Audit records per page.
const AUDIT_PAGE: u32 = 50;
/// Longest id accepted in a path.
const MAX_ID: usize = 64;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", get(accounts_list).post(account_create))
        .route("/admin/accounts/new", get(account_new).post(account_create))
        .route(
            "/admin/accounts/{id}",
            get(account_detail).post(account_form),
        )
        .route("/admin/accounts/{id}/roles", post(account_roles))
        .route("/admin/accounts/{id}/disable", post(account_disable))
        .route("/admin/accounts/{id}/enable", post(account_enable))
        .route("/admin/accounts/{id}/reset-password", post(account_reset))
        .route("/admin/apikeys", get(apikeys_list).post(apikey_create))
        .route("/admin/apikeys/{id}/revoke", post(apikey_revoke))
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit/verify", post(audit_verify))
}

// ───────────────────────────── access ─────────────────────────────

/// A `303 See Other` to a path of this site (falls back to the accounts list
/// should the path not be a valid header value).
fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location)
        .unwrap_or_else(|_| HeaderValue::from_static("/admin/accounts"));
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(header::LOCATION, value);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Percent-encodes one path segment (ids come from the path, so may hold anything).
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The one page gate (`crate::web::gate`), returning to `path` (never a
/// query: an administrator's filters may hold personal data).
pub(crate) fn gate(caller: &Caller, cap: Capability, path: &str) -> Option<Response> {
    crate::web::gate(caller, cap, path)
}

/// The account form (`/admin/accounts`).
struct NewAccountFields;

impl PageFields for NewAccountFields {
    fn spec(state: &AppState) -> Spec {
        grant_fields(
            state,
            Spec::new().fields(&["username", "display_name", "phone", "password", "roles"]),
        )
    }
}

/// The roles form of an account.
struct RolesFields;

impl PageFields for RolesFields {
    fn spec(state: &AppState) -> Spec {
        grant_fields(state, Spec::new().fields(&["roles"]))
    }
}

/// Buttons that post only their token (disable, enable, reset, revoke).
struct TokenOnly;

impl PageFields for TokenOnly {
    fn spec(_state: &AppState) -> Spec {
        Spec::new()
    }
}

/// The forms of the API keys page, posted to the page: a new key (`name`,
/// `scopes`), or a key to revoke (`revoke`, its id).
struct ApiKeyFields;

impl PageFields for ApiKeyFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["name", "scopes", "revoke"])
    }
}

/// The audit chain check, with the filters the page had.
struct VerifyFields;

impl PageFields for VerifyFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["actor", "action", "target", "from", "to"])
    }
}

fn query_pairs(q: Option<&str>) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q.unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// A trimmed value cut to `max` characters; None when empty.
fn clean(v: Option<&String>, max: usize) -> Option<String> {
    let v: String = v?.trim().chars().take(max).collect();
    (!v.is_empty()).then_some(v)
}

fn store_failed(caller: &Caller, e: onestop_store::StoreError) -> Response {
    refused::store_failed_as(caller, e)
}

// ───────────────────────────── display helpers ─────────────────────────────

/// Unix milliseconds in city time, in the pages' one format.
fn when(ms: i64, offset: UtcOffset) -> String {
    crate::web::staff::when_at(onestop_domain::timefmt::from_ms(ms, offset), offset)
}

fn when_opt(ms: Option<i64>, offset: UtcOffset, none: &str) -> String {
    ms.map_or_else(|| none.to_owned(), |m| when(m, offset))
}

/// `公用事业单位经办人 · 随州市水务集团`.
fn grant_label(state: &AppState, role: &str, scope: &str) -> String {
    let Some(r) = Role::parse(role) else {
        return if scope.is_empty() {
            role.to_owned()
        } else {
            format!("{role} · {scope}")
        };
    };
    if scope.is_empty() {
        return r.label_zh().to_owned();
    }
    let what = match r {
        Role::Operator | Role::Approver | Role::Supervisor => unit_name(state, scope),
        Role::Clerk => hall_choices(state)
            .into_iter()
            .find(|(code, _)| code == scope)
            .map(|(_, name)| name)
            .unwrap_or_else(|| texts::fill(t::HALL_SCOPE, &[("hall", &scope)])),
        Role::Applicant | Role::Claimant | Role::Admin => scope.to_owned(),
    };
    format!("{} · {what}", r.label_zh())
}

/// An account as the pages show it.
#[derive(Clone)]
pub struct AccountView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: String,
    pub roles: Vec<String>,
    pub status: String,
    /// `ok` | `off` | `locked` (for the style).
    pub status_class: &'static str,
    pub must_change_password: bool,
    pub disabled: bool,
    pub last_login: String,
    pub uscc: String,
    pub enterprise_name: String,
    pub created: String,
    pub created_by: String,
    pub password_changed: String,
    /// Addresses whose recent failed logins count, the most recent first.
    pub failures: Vec<FailureView>,
    /// One `role:scope` per line, for the roles form.
    pub role_codes: String,
}

/// Failed logins of an account from one address.
#[derive(Clone)]
pub struct FailureView {
    pub address: String,
    pub count: u32,
    pub last: String,
    /// "限制登录至 …" (`texts::admin::BLOCKED_UNTIL`) while that address
    /// must wait, else empty.
    pub blocked: String,
}

fn account_view(
    state: &AppState,
    a: &Account,
    failures: &[(String, Failures)],
    now_ms: i64,
) -> AccountView {
    let off = state.offset;
    let policy = crate::app::accounts::lockout_policy(state);
    let failures: Vec<FailureView> = failures
        .iter()
        .filter_map(|(address, f)| {
            let f = policy.current(Some(*f), now_ms)?;
            Some(FailureView {
                address: address.clone(),
                count: f.count,
                last: when(f.last_ms, off),
                blocked: policy
                    .blocked_until(Some(f), now_ms)
                    .map(|at| texts::fill(t::BLOCKED_UNTIL, &[("at", &when(at, off))]))
                    .unwrap_or_default(),
            })
        })
        .collect();
    let (status, status_class) = if a.disabled {
        (t::DISABLED.to_owned(), "off")
    } else if failures.iter().any(|f| !f.blocked.is_empty()) {
        (t::LOCKED.to_owned(), "locked")
    } else {
        (t::ACTIVE.to_owned(), "ok")
    };
    AccountView {
        id: a.id.clone(),
        // Applicants sign in with their mobile number: masked like any phone.
        username: onestop_domain::access::mask_phones_in(&a.username),
        display_name: a.display_name.clone(),
        phone: a
            .phone
            .as_deref()
            .filter(|p| !p.is_empty())
            .map_or_else(|| "—".to_owned(), mask_phone),
        roles: a
            .grants
            .iter()
            .map(|(r, s)| grant_label(state, r, s))
            .collect(),
        status,
        status_class,
        must_change_password: a.must_change_password,
        disabled: a.disabled,
        last_login: when_opt(a.last_login_at, off, t::NEVER_LOGGED_IN),
        uscc: a.uscc.clone().unwrap_or_default(),
        enterprise_name: a.enterprise_name.clone().unwrap_or_default(),
        created: when(a.created_at, off),
        created_by: a.created_by.clone(),
        password_changed: when(a.password_changed_at, off),
        failures,
        role_codes: a
            .grants
            .iter()
            .map(onestop_store::accounts::grant_code)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The valid forms of a role grant and the configured units, shown beside
/// every roles and scopes field (the scopes' own table is in
/// `admin_apikeys.html`).
pub struct Help {
    /// (form, meaning, scope).
    pub roles: Vec<(String, String, String)>,
    /// (kind label, [(code, name)]).
    pub units: Vec<(&'static str, Vec<(String, String)>)>,
}

fn help(state: &AppState) -> Help {
    let roles = Role::ALL
        .iter()
        .map(|r| {
            let form = match r {
                Role::Applicant => t::GRANT_APPLICANT,
                Role::Claimant => t::GRANT_CLAIMANT,
                Role::Clerk => t::GRANT_CLERK,
                Role::Operator => t::GRANT_OPERATOR,
                Role::Approver => t::GRANT_APPROVER,
                Role::Supervisor => t::GRANT_SUPERVISOR,
                Role::Admin => "admin",
            };
            (
                form.to_owned(),
                r.label_zh().to_owned(),
                r.scope_label_zh().to_owned(),
            )
        })
        .collect();
    let units = [
        (UnitKind::Utility, t::UNITS_UTILITY),
        (UnitKind::Department, t::UNITS_DEPARTMENT),
        (UnitKind::Supervisor, t::UNITS_SUPERVISOR),
    ]
    .into_iter()
    .map(|(kind, label)| {
        (
            label,
            state
                .config
                .units
                .iter()
                .filter(|u| u.kind == kind)
                .map(|u| (u.code.clone(), u.name.clone()))
                .collect(),
        )
    })
    .collect();
    Help { roles, units }
}

/// The roles chosen from lists (`grants=lists`): a box for the
/// administrator, a box per configured utility, department and supervising
/// unit, and the hall, enterprise or claimed enterprise typed where no list
/// can hold them. The former `roles` textarea (one `role:scope` a line) is
/// still read when the lists are not sent.
fn grant_fields(state: &AppState, spec: Spec) -> Spec {
    let count = |kind: UnitKind| state.config.units.iter().filter(|u| u.kind == kind).count();
    spec.fields(&[
        "grants",
        "grant_admin",
        "grant_clerk",
        "grant_applicant",
        "grant_claimant",
    ])
    .many("grant_operator", count(UnitKind::Utility))
    .many("grant_approver", count(UnitKind::Department))
    .many("grant_supervisor", count(UnitKind::Supervisor) + 1)
}

/// The value of the supervisor box without a unit (the whole city).
const ANY_UNIT: &str = "all";

/// The roles a posted form asks for, one `role:scope` a line, and whether
/// they came from the lists.
fn posted_roles(form: &crate::web::form::Decoded) -> (String, bool) {
    if form.get("grants") != Some("lists") {
        return (form.text("roles"), false);
    }
    let mut lines: Vec<String> = Vec::new();
    if form.get("grant_admin").is_some() {
        lines.push("admin".into());
    }
    for u in form.all("grant_operator") {
        lines.push(format!("operator:{u}"));
    }
    for u in form.all("grant_approver") {
        lines.push(format!("approver:{u}"));
    }
    for u in form.all("grant_supervisor") {
        lines.push(if u == ANY_UNIT {
            "supervisor".into()
        } else {
            format!("supervisor:{u}")
        });
    }
    for hall in form.all("grant_clerk") {
        for v in hall
            .split([',', '，', '、', ';', '；', ' ', '\n'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            lines.push(format!("clerk:{v}"));
        }
    }
    for (field, role) in [
        ("grant_applicant", "applicant"),
        ("grant_claimant", "claimant"),
    ] {
        let typed = form.text(field);
        for v in typed
            .split([',', '，', '、', ';', '；', ' ', '\n'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            lines.push(format!("{role}:{v}"));
        }
    }
    (lines.join("\n"), true)
}

/// One box of a list of roles.
pub struct GrantBox {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

/// The roles lists of the account forms, ticked as `roles` says.
pub struct GrantChoices {
    pub admin: bool,
    pub operators: Vec<GrantBox>,
    pub approvers: Vec<GrantBox>,
    pub supervisors: Vec<GrantBox>,
    /// The registered halls (a clerk's role names one).
    pub clerk: Vec<GrantBox>,
    pub applicant: String,
    pub claimant: String,
}

/// The registered halls, (code, name), as this server last loaded them (the
/// configuration's halls before the first load).
fn hall_choices(state: &AppState) -> Vec<(String, String)> {
    match state.halls.snapshot() {
        Some(r) => r
            .entries
            .iter()
            .map(|e| (e.hall.code.clone(), e.hall.name.clone()))
            .collect(),
        None => state
            .config
            .seed_halls()
            .into_iter()
            .map(|h| (h.code, h.name))
            .collect(),
    }
}

fn grant_choices(state: &AppState, roles: &str) -> GrantChoices {
    let held: Vec<(String, String)> = role_lines(roles)
        .iter()
        .map(|l| {
            let (r, s) = l.split_once(':').unwrap_or((l.as_str(), ""));
            (r.trim().to_owned(), s.trim().to_owned())
        })
        .collect();
    let has = |role: &str, scope: &str| held.iter().any(|(r, s)| *r == role && *s == scope);
    let boxes = |kind: UnitKind, role: &str| -> Vec<GrantBox> {
        state
            .config
            .units
            .iter()
            .filter(|u| u.kind == kind)
            .map(|u| GrantBox {
                code: u.code.clone(),
                name: u.name.clone(),
                checked: has(role, &u.code),
            })
            .collect()
    };
    let typed = |role: &str| {
        held.iter()
            .filter(|(r, _)| r == role)
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join("、")
    };
    let mut supervisors = vec![GrantBox {
        code: ANY_UNIT.into(),
        name: t::ANY_SUPERVISING_UNIT.into(),
        checked: has("supervisor", ""),
    }];
    supervisors.extend(boxes(UnitKind::Supervisor, "supervisor"));
    GrantChoices {
        admin: has("admin", ""),
        operators: boxes(UnitKind::Utility, "operator"),
        approvers: boxes(UnitKind::Department, "approver"),
        supervisors,
        clerk: {
            let mut halls: Vec<GrantBox> = hall_choices(state)
                .into_iter()
                .map(|(code, name)| GrantBox {
                    checked: has("clerk", &code),
                    code,
                    name,
                })
                .collect();
            // A role naming a hall no longer registered stays visible.
            for (r, s) in &held {
                if r == "clerk" && !s.is_empty() && !halls.iter().any(|b| b.code == *s) {
                    halls.push(GrantBox {
                        code: s.clone(),
                        name: format!("{s}（未登记的营业厅）"),
                        checked: true,
                    });
                }
            }
            halls
        },
        applicant: typed("applicant"),
        claimant: typed("claimant"),
    }
}

/// The refused roles of the lists, each named in Chinese
/// (“窗口人员”：须填写营业厅编号…).
fn list_errors(
    state: &AppState,
    e: &impl Failure,
    roles_text: &str,
) -> (BTreeMap<String, String>, Vec<String>) {
    let lines = role_lines(roles_text);
    let mut fields = BTreeMap::new();
    let mut role_errors = Vec::new();
    for f in &e.fields() {
        if let Some(n) = f.field.strip_prefix("roles.") {
            let label = n.parse::<usize>().ok().and_then(|n| lines.get(n)).map(|l| {
                let (r, s) = l.split_once(':').unwrap_or((l.as_str(), ""));
                grant_label(state, r.trim(), s.trim())
            });
            role_errors.push(match label {
                Some(label) => {
                    texts::fill(t::ROLE_ERROR, &[("role", &label), ("message", &f.message)])
                }
                None => f.message.clone(),
            });
        } else if f.field == "roles" {
            role_errors.push(f.message.clone());
        } else {
            fields
                .entry(f.field.clone())
                .or_insert_with(|| f.message.clone());
        }
    }
    (fields, role_errors)
}

/// Splits the roles textarea into its lines, as the use case takes them.
fn role_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Field errors → (field → message), with `roles.N` turned into one line
/// each under `roles` ("第 3 行 “…”：…", counting the lines as typed).
fn split_errors(e: &impl Failure, roles_text: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let typed: Vec<(usize, &str)> = roles_text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.trim()))
        .collect();
    let mut fields = BTreeMap::new();
    let mut role_errors = Vec::new();
    for f in &e.fields() {
        if let Some(n) = f.field.strip_prefix("roles.") {
            let line = n.parse::<usize>().ok().and_then(|n| typed.get(n));
            role_errors.push(match line {
                Some((no, text)) => texts::fill(
                    t::ROLE_LINE_ERROR,
                    &[("line", no), ("text", text), ("message", &f.message)],
                ),
                None => f.message.clone(),
            });
        } else if f.field == "roles" {
            role_errors.push(f.message.clone());
        } else {
            fields
                .entry(f.field.clone())
                .or_insert_with(|| f.message.clone());
        }
    }
    (fields, role_errors)
}

// ───────────────────────────── account list ─────────────────────────────

#[derive(Template)]
#[template(path = "admin_accounts.html")]
struct AccountsPage {
    nav: Nav,
    accounts: Vec<AccountView>,
    q: String,
    role: String,
    roles: Vec<(&'static str, &'static str)>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
    total: i64,
}

fn list_href(q: &str, role: &str, page: u32) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        pairs.push(("q", q.to_owned()));
    }
    if !role.is_empty() {
        pairs.push(("role", role.to_owned()));
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if qs.is_empty() {
        "/admin/accounts".into()
    } else {
        format!("/admin/accounts?{qs}")
    }
}

async fn accounts_list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ManageAccounts, "/admin/accounts") {
        return r;
    }
    let q = query_pairs(raw.as_deref());
    let text = clean(q.get("q"), 64);
    let role = clean(q.get("role"), 32).filter(|r| Role::parse(r).is_some());
    let page = q
        .get("page")
        .and_then(|p| p.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let filter = AccountFilter {
        text: text.clone(),
        role: role.clone(),
        limit: PAGE_SIZE + 1,
        offset: (page - 1).saturating_mul(PAGE_SIZE),
    };
    let found = state
        .store
        .read(move |c| Ok((accounts::list(c, &filter)?, accounts::count(c)?)))
        .await;
    let (mut list, total) = match found {
        Ok(v) => v,
        Err(e) => return store_failed(&caller, e),
    };
    let more = list.len() > PAGE_SIZE as usize;
    list.truncate(PAGE_SIZE as usize);
    let now = state.now_ms();
    let (q, role) = (text.unwrap_or_default(), role.unwrap_or_default());
    render(&caller, StatusCode::OK, |nav, _| AccountsPage {
        nav,
        accounts: list
            .iter()
            .map(|a| account_view(&state, a, &[], now))
            .collect(),
        prev: (page > 1).then(|| list_href(&q, &role, page - 1)),
        next: more.then(|| list_href(&q, &role, page + 1)),
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), r.label_zh()))
            .collect(),
        q,
        role,
        page,
        total,
    })
}

// ───────────────────────────── create ─────────────────────────────

#[derive(Template)]
#[template(path = "admin_account_new.html")]
struct NewAccountPage {
    nav: Nav,
    csrf: String,
    username: String,
    display_name: String,
    phone: String,
    roles: String,
    errors: BTreeMap<String, String>,
    role_errors: Vec<String>,
    grants: GrantChoices,
    /// Why the account was not created, when it was not for its fields.
    failure: Option<String>,
}

impl NewAccountPage {
    fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }
    fn error_count(&self) -> usize {
        self.errors.len() + self.role_errors.len()
    }
}

fn new_account_page(state: &AppState, caller: &Caller) -> NewAccountPage {
    let csrf = caller.csrf_token();
    NewAccountPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf,
        username: String::new(),
        display_name: String::new(),
        phone: String::new(),
        roles: String::new(),
        errors: BTreeMap::new(),
        role_errors: Vec::new(),
        grants: grant_choices(state, ""),
        failure: None,
    }
}

async fn account_new(State(state): State<AppState>, caller: Caller) -> Response {
    if let Some(r) = gate(&caller, Capability::ManageAccounts, "/admin/accounts/new") {
        return r;
    }
    let p = new_account_page(&state, &caller);
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::OK, &p)
}

/// The answer that shows a temporary password once.
#[derive(Template)]
#[template(path = "admin_password_once.html")]
struct PasswordOncePage {
    nav: Nav,
    /// A new account's (else a reset password's).
    created: bool,
    account: AccountView,
    password: Option<String>,
}

async fn account_create(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<NewAccountFields>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ManageAccounts, "/admin/accounts/new") {
        return r;
    }
    let (roles_text, from_lists) = posted_roles(&form);
    let input = NewAccountInput {
        username: form.text("username"),
        display_name: form.text("display_name"),
        phone: form.get("phone").map(str::to_owned),
        grants: role_lines(&roles_text),
        password: form.get("password").map(str::to_owned),
    };
    match uc::create_account(&state, &caller, input).await {
        Ok(created) => render(&caller, StatusCode::CREATED, |nav, _| PasswordOncePage {
            nav,
            created: true,
            account: account_view(&state, &created.account, &[], state.now_ms()),
            password: created.temporary_password,
        }),
        Err(e) if refused::is_access(&e) => failure_page_as(&caller, &e),
        Err(e) => {
            // The form again, as typed (never the password).
            let mut p = new_account_page(&state, &caller);
            if e.code() == "validation_failed" {
                let (errors, role_errors) = if from_lists {
                    list_errors(&state, &e, &roles_text)
                } else {
                    split_errors(&e, &roles_text)
                };
                p.errors = errors;
                p.role_errors = role_errors;
            } else {
                p.failure = Some(action_note(t_forms::CREATE_ACCOUNT, &e));
            }
            p.username = form.text("username").trim().chars().take(64).collect();
            p.display_name = form.text("display_name").trim().chars().take(60).collect();
            p.phone = form.text("phone").trim().chars().take(20).collect();
            p.roles = roles_text.chars().take(2_000).collect();
            p.grants = grant_choices(&state, &p.roles);
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, refused::status_of(&e), &p)
        }
    }
}

// ───────────────────────────── detail and its forms ─────────────────────────────

#[derive(Template)]
#[template(path = "admin_account.html")]
struct AccountPage {
    nav: Nav,
    csrf: String,
    a: AccountView,
    /// The roles field as typed (or as stored).
    roles: String,
    role_errors: Vec<String>,
    /// (is it good news, text).
    message: Option<(bool, String)>,
    is_self: bool,
    grants: GrantChoices,
}

/// An account with its recent failed logins by address.
struct Loaded {
    account: Account,
    failures: Vec<(String, Failures)>,
}

async fn load_account(state: &AppState, caller: &Caller, id: &str) -> Result<Loaded, Response> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(not_found_page_as(caller));
    }
    let id = id.to_owned();
    let found = state
        .store
        .read(move |c| {
            let Some(account) = accounts::get(c, &id)? else {
                return Ok(None);
            };
            let failures = accounts::login_failures_of(c, &id, 20)?;
            Ok(Some(Loaded { account, failures }))
        })
        .await;
    match found {
        Ok(Some(l)) => Ok(l),
        Ok(None) => Err(not_found_page_as(caller)),
        Err(e) => Err(store_failed(caller, e)),
    }
}

fn account_page(
    state: &AppState,
    caller: &Caller,
    loaded: &Loaded,
    status: StatusCode,
    message: Option<(bool, String)>,
) -> (AccountPage, StatusCode) {
    let csrf = caller.csrf_token();
    let a = &loaded.account;
    let view = account_view(state, a, &loaded.failures, state.now_ms());
    let grants = grant_choices(state, &view.role_codes);
    (
        AccountPage {
            nav: Nav::for_caller(caller, &csrf),
            csrf,
            roles: view.role_codes.clone(),
            a: view,
            role_errors: Vec::new(),
            message,
            is_self: caller.account().is_some_and(|me| me.id == a.id),
            grants,
        },
        status,
    )
}

fn render_account(caller: &Caller, (p, status): (AccountPage, StatusCode)) -> Response {
    let csrf = p.csrf.clone();
    respond(caller, &csrf, status, &p)
}

fn account_path(id: &str) -> String {
    format!("/admin/accounts/{}", seg(id))
}

async fn account_detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if id.len() > MAX_ID {
        return not_found_page_as(&caller);
    }
    if let Some(r) = gate(&caller, Capability::ManageAccounts, &account_path(&id)) {
        return r;
    }
    let a = match load_account(&state, &caller, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = query_pairs(raw.as_deref());
    let message = crate::web::done_note(
        q.get("ok").map(String::as_str),
        &[
            ("roles", t::ROLES_UPDATED),
            ("disabled", t::ACCOUNT_DISABLED),
            ("enabled", t::ACCOUNT_ENABLED),
        ],
    )
    .map(|m| (true, m));
    render_account(
        &caller,
        account_page(&state, &caller, &a, StatusCode::OK, message),
    )
}

/// Checks a POST under `/admin/accounts/{id}` (its form already read).
fn account_post(caller: &Caller, id: &str) -> Option<Response> {
    if id.len() > MAX_ID {
        return Some(not_found_page_as(caller));
    }
    gate(caller, Capability::ManageAccounts, &account_path(id))
}

/// The forms of an account's page, posted to the page itself: `form`
/// names which (`roles`, `disable`, `enable`, `reset-password`), so that a
/// refusal shows the page again at its own address.
struct AccountFormFields;

impl PageFields for AccountFormFields {
    fn spec(state: &AppState) -> Spec {
        grant_fields(state, Spec::new().fields(&["form", "roles"]))
    }
}

async fn account_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<AccountFormFields>,
) -> Response {
    match form.get("form") {
        Some("roles") => save_roles(&state, &caller, &id, &form).await,
        Some("disable") => set_disabled(&state, &caller, &id, true).await,
        Some("enable") => set_disabled(&state, &caller, &id, false).await,
        Some("reset-password") => reset(&state, &caller, &id).await,
        _ => {
            if let Some(r) = account_post(&caller, &id) {
                return r;
            }
            refused::error_page_as(&caller, StatusCode::BAD_REQUEST, texts::page::UNRECOGNISED)
        }
    }
}

/// An action of the account's page refused: the page again with why, or
/// the `404` page when the account is not there.
async fn account_refused(
    state: &AppState,
    caller: &Caller,
    id: &str,
    note: impl FnOnce(&crate::app::error::Error) -> String,
    e: &crate::app::error::Error,
) -> Result<(AccountPage, StatusCode), Response> {
    if refused::is_access(e) {
        return Err(failure_page_as(caller, e));
    }
    if e.status() == StatusCode::NOT_FOUND {
        return Err(not_found_page_as(caller));
    }
    let a = load_account(state, caller, id).await?;
    Ok(account_page(
        state,
        caller,
        &a,
        refused::status_of(e),
        Some((false, note(e))),
    ))
}

async fn account_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<RolesFields>,
) -> Response {
    save_roles(&state, &caller, &id, &form).await
}

async fn save_roles(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &crate::web::form::Decoded,
) -> Response {
    if let Some(r) = account_post(caller, id) {
        return r;
    }
    let (roles_text, from_lists) = posted_roles(form);
    match uc::set_grants(state, caller, id, &role_lines(&roles_text)).await {
        Ok(a) => see_other(&format!("{}?ok=roles", account_path(&a.id))),
        Err(e) => {
            let (mut p, status) = match account_refused(
                state,
                caller,
                id,
                |e| action_note(t_forms::SAVE_ROLES, e),
                &e,
            )
            .await
            {
                Ok(p) => p,
                Err(r) => return r,
            };
            // The roles as ticked (or typed) stay, each refused one named.
            p.role_errors = if from_lists {
                list_errors(state, &e, &roles_text).1
            } else {
                split_errors(&e, &roles_text).1
            };
            p.roles = roles_text.chars().take(2_000).collect();
            p.grants = grant_choices(state, &p.roles);
            render_account(caller, (p, status))
        }
    }
}

async fn set_disabled(state: &AppState, caller: &Caller, id: &str, disabled: bool) -> Response {
    if let Some(r) = account_post(caller, id) {
        return r;
    }
    match uc::set_disabled(state, caller, id, disabled).await {
        Ok(a) => see_other(&format!(
            "{}?ok={}",
            account_path(&a.id),
            if disabled { "disabled" } else { "enabled" }
        )),
        Err(e) => {
            let action = if disabled {
                t_forms::DISABLE_ACCOUNT
            } else {
                t_forms::ENABLE_ACCOUNT
            };
            match account_refused(state, caller, id, |e| button_note(action, e), &e).await {
                Ok(p) => render_account(caller, p),
                Err(r) => r,
            }
        }
    }
}

async fn account_disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _form: PageForm<TokenOnly>,
) -> Response {
    set_disabled(&state, &caller, &id, true).await
}

async fn account_enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _form: PageForm<TokenOnly>,
) -> Response {
    set_disabled(&state, &caller, &id, false).await
}

async fn account_reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _form: PageForm<TokenOnly>,
) -> Response {
    reset(&state, &caller, &id).await
}

async fn reset(state: &AppState, caller: &Caller, id: &str) -> Response {
    if let Some(r) = account_post(caller, id) {
        return r;
    }
    match uc::reset_password(state, caller, id).await {
        Ok(done) => render(caller, StatusCode::OK, |nav, _| PasswordOncePage {
            nav,
            created: false,
            account: account_view(state, &done.account, &[], state.now_ms()),
            password: done.temporary_password,
        }),
        Err(e) => match account_refused(
            state,
            caller,
            id,
            |e| button_note(t_forms::RESET_PASSWORD, e),
            &e,
        )
        .await
        {
            Ok(p) => render_account(caller, p),
            Err(r) => r,
        },
    }
}

// ───────────────────────────── API keys ─────────────────────────────

pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    /// (code, meaning).
    pub scopes: Vec<(String, String)>,
    pub created: String,
    pub created_by: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

fn scope_meaning(state: &AppState, code: &str) -> String {
    let of_unit = |text: &str, u: &str| texts::fill(text, &[("unit", &unit_name(state, u))]);
    if let Some(u) = code.strip_prefix("workorders:read:") {
        of_unit(t::SCOPE_READ_ORDERS, u)
    } else if let Some(u) = code.strip_prefix("workorders:write:") {
        of_unit(t::SCOPE_WRITE_ORDERS, u)
    } else if let Some(u) = code.strip_prefix("approvals:write:") {
        of_unit(t::SCOPE_WRITE_APPROVALS, u)
    } else {
        match code {
            "applications:read" => t::SCOPE_READ_APPLICATIONS.into(),
            "applications:write" => t::SCOPE_WRITE_APPLICATIONS.into(),
            other => other.to_owned(),
        }
    }
}

fn key_view(state: &AppState, k: &ApiKey, names: &HashMap<String, String>) -> KeyView {
    let off = state.offset;
    KeyView {
        id: k.id.clone(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        scopes: k
            .scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| (s.to_owned(), scope_meaning(state, s)))
            .collect(),
        created: when(k.created_at, off),
        created_by: names
            .get(&k.created_by)
            .cloned()
            .unwrap_or_else(|| k.created_by.clone()),
        last_used: when_opt(k.last_used_at, off, t::NEVER_USED),
        revoked: k.revoked_at.map(|t| when(t, off)),
    }
}

#[derive(Template)]
#[template(path = "admin_apikeys.html")]
struct ApiKeysPage {
    nav: Nav,
    csrf: String,
    keys: Vec<KeyView>,
    name: String,
    scopes: String,
    errors: BTreeMap<String, String>,
    /// (name, key): a key just created, shown this once.
    new_key: Option<(String, String)>,
    message: Option<String>,
    /// Why a form of the page was not done.
    failure: Option<String>,
    help: Help,
}

impl ApiKeysPage {
    fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }
}

async fn apikeys_page(state: &AppState, caller: &Caller) -> Result<ApiKeysPage, Response> {
    let keys = state
        .store
        .read(|c| {
            let keys = accounts::list_api_keys(c)?;
            let mut names = HashMap::new();
            for k in &keys {
                if !names.contains_key(&k.created_by)
                    && k.created_by.len() <= MAX_ID
                    && let Some(a) = accounts::get(c, &k.created_by)?
                {
                    names.insert(
                        k.created_by.clone(),
                        onestop_domain::access::mask_phones_in(&a.username),
                    );
                }
            }
            Ok((keys, names))
        })
        .await;
    let (keys, names) = keys.map_err(|e| store_failed(caller, e))?;
    let csrf = caller.csrf_token();
    Ok(ApiKeysPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf,
        keys: keys.iter().map(|k| key_view(state, k, &names)).collect(),
        name: String::new(),
        scopes: String::new(),
        errors: BTreeMap::new(),
        new_key: None,
        message: None,
        failure: None,
        help: help(state),
    })
}

async fn apikeys_list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ManageApiKeys, "/admin/apikeys") {
        return r;
    }
    let mut p = match apikeys_page(&state, &caller).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if query_pairs(raw.as_deref())
        .get("ok")
        .is_some_and(|v| v == "revoked")
    {
        p.message = Some(t::KEY_REVOKED.into());
    }
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::OK, &p)
}

async fn apikey_create(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<ApiKeyFields>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ManageApiKeys, "/admin/apikeys") {
        return r;
    }
    if let Some(id) = form.get("revoke") {
        return revoke(&state, &caller, id).await;
    }
    let (name, scopes) = (form.text("name"), form.text("scopes"));
    let result = uc::create_api_key(&state, &caller, &name, &scopes).await;
    let mut p = match apikeys_page(&state, &caller).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let status = match result {
        Ok((row, key)) => {
            p.new_key = Some((row.name, key));
            StatusCode::CREATED
        }
        Err(e) if refused::is_access(&e) => return failure_page_as(&caller, &e),
        Err(e) => {
            if e.code() == "validation_failed" {
                p.errors = e
                    .fields()
                    .iter()
                    .map(|f| (f.field.clone(), f.message.clone()))
                    .collect();
            } else {
                p.failure = Some(action_note(t_forms::CREATE_KEY, &e));
            }
            p.name = name.trim().chars().take(100).collect();
            p.scopes = scopes.trim().chars().take(1_000).collect();
            refused::status_of(&e)
        }
    };
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, status, &p)
}

async fn apikey_revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _form: PageForm<TokenOnly>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ManageApiKeys, "/admin/apikeys") {
        return r;
    }
    revoke(&state, &caller, &id).await
}

async fn revoke(state: &AppState, caller: &Caller, id: &str) -> Response {
    if id.is_empty() || id.len() > MAX_ID {
        return not_found_page_as(caller);
    }
    let e = match uc::revoke_api_key(state, caller, id).await {
        Ok(true) => return see_other("/admin/apikeys?ok=revoked"),
        Ok(false) => {
            let i = id.to_owned();
            match state.store.read(move |c| accounts::api_key(c, &i)).await {
                // Revoked already (another administrator, or a second click).
                Ok(Some(_)) => return see_other("/admin/apikeys"),
                Ok(None) => return not_found_page_as(caller),
                Err(e) => ApiError::from(e),
            }
        }
        Err(e) if refused::is_access(&e) => return failure_page_as(caller, &e),
        Err(e) => ApiError::from(e),
    };
    let mut p = match apikeys_page(state, caller).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    p.failure = Some(button_note(t_forms::REVOKE_KEY, &e));
    let csrf = p.csrf.clone();
    respond(caller, &csrf, refused::status_of(&e), &p)
}

// ───────────────────────────── audit log ─────────────────────────────

/// Names the audit page shows for stored codes (`templates/labels.json`):
/// the actions it knows, in the order its filter lists them, and the
/// reasons of refused requests.
#[derive(serde::Deserialize)]
struct Labels {
    audit_actions: Vec<(String, String)>,
    refusal_reasons: HashMap<String, String>,
}

static LABELS: std::sync::LazyLock<Labels> = std::sync::LazyLock::new(|| {
    serde_json::from_str(include_str!("../../../templates/labels.json"))
        .expect("templates/labels.json is valid")
});

/// The reasons of `access_refused` records (`refusals::Reason` codes).
fn refusal_reason_label(code: &str) -> &str {
    LABELS
        .refusal_reasons
        .get(code)
        .map_or(code, String::as_str)
}

/// An `access_refused` record's detail, readable: reason, request, count
/// and times (the JSON stays in the title for the curious).
fn refusal_text(detail: &str, offset: UtcOffset) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(detail).ok()?;
    let reason = refusal_reason_label(v.get("reason")?.as_str()?);
    let method = v.get("method").and_then(|m| m.as_str()).unwrap_or("");
    let route = v.get("route").and_then(|m| m.as_str()).unwrap_or("");
    let count = v
        .get("count")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1);
    let first = v.get("first_at").and_then(serde_json::Value::as_i64);
    let last = v.get("last_at").and_then(serde_json::Value::as_i64);
    let clock = |ms: i64| {
        let t = onestop_domain::timefmt::from_ms(ms, offset);
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    };
    use texts::refusals as r;
    let mut out = texts::fill(
        r::REQUEST,
        &[("reason", &reason), ("method", &method), ("route", &route)],
    );
    let count_text = match v.get("part").and_then(|p| p.as_str()) {
        Some("rest") => Some(r::REST),
        Some("overflow") => Some(r::OVERFLOW),
        _ if count > 1 => Some(r::COUNT),
        _ => None,
    };
    if let Some(text) = count_text {
        out.push_str(&texts::fill(text, &[("count", &count)]));
    }
    if let (Some(a), Some(b)) = (first, last)
        && count > 1
    {
        out.push_str(&texts::fill(
            r::SPAN,
            &[("first", &clock(a)), ("last", &clock(b))],
        ));
    }
    if let Some(cap) = v.get("capability").and_then(|c| c.as_str()) {
        out.push_str(&texts::fill(r::CAPABILITY, &[("capability", &cap)]));
    }
    if let Some(t) = v.get("targets").and_then(|t| t.as_array())
        && !t.is_empty()
    {
        let ids = crate::web::list(t.iter().filter_map(|x| x.as_str()));
        out.push_str(&texts::fill(r::TARGETS, &[("ids", &ids)]));
    }
    Some(out)
}

fn action_label(code: &str) -> String {
    LABELS
        .audit_actions
        .iter()
        .find(|(c, _)| c == code)
        .map_or_else(|| code.to_owned(), |(_, l)| l.clone())
}

fn outcome_label(code: &str) -> (&'static str, &'static str) {
    let class = match code {
        "success" => "ok",
        "failure" | "denied" => "bad",
        _ => "",
    };
    (texts::audit_outcomes::get(code).unwrap_or(t::OTHER), class)
}

fn actor_kind_label(kind: &str) -> &'static str {
    texts::audit_actors::get(kind).unwrap_or(t::OTHER)
}

fn target_kind_label(kind: &str) -> &'static str {
    match kind {
        "" => "",
        _ => texts::audit_targets::get(kind).unwrap_or(t::OTHER_TARGET),
    }
}

pub struct AuditRow {
    pub seq: i64,
    pub when: String,
    pub actor: String,
    pub actor_kind: &'static str,
    pub actor_id: String,
    pub action: String,
    pub action_code: String,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    /// A link to the target's page, when there is one this caller may open.
    pub target_link: Option<String>,
    pub ip: String,
    pub detail: String,
    pub hash: String,
    pub hash_short: String,
}

/// One value of an audit record's detail, for people.
fn detail_value(state: &AppState, key: &str, v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let grants = |v: &Value| -> Option<String> {
        let items = v.as_array()?;
        Some(crate::web::list(items.iter().filter_map(|g| {
            let g = g.as_str()?;
            let (role, scope) = g.split_once(':').unwrap_or((g, ""));
            Some(grant_label(state, role, scope))
        })))
    };
    match (key, v) {
        (_, Value::Null) => None,
        (_, Value::Bool(b)) => Some(
            if *b {
                texts::common::YES
            } else {
                texts::common::NO
            }
            .to_owned(),
        ),
        ("roles" | "before" | "after", v) => grants(v),
        ("scopes", Value::String(text)) => Some(crate::web::list(
            text.split([',', ' '])
                .filter(|c| !c.trim().is_empty())
                .map(|c| scope_meaning(state, c.trim())),
        )),
        ("reason" | "refused", Value::String(code)) => {
            Some(texts::audit_reasons::get(code).map_or_else(|| code.clone(), str::to_owned))
        }
        ("via", Value::String(code)) => Some(
            onestop_domain::identity::ClaimVia::parse(code)
                .map_or_else(|| code.clone(), |v| v.label_zh().to_owned()),
        ),
        ("ids", Value::Array(items)) => Some(items.len().to_string()),
        (k, Value::Number(n)) if k.ends_with("_ms") || k.ends_with("_at") => {
            n.as_i64().map(|ms| when(ms, state.offset))
        }
        (_, Value::Number(n)) => Some(n.to_string()),
        (_, Value::String(text)) if text.trim().is_empty() => None,
        (_, Value::String(text)) => Some(onestop_domain::access::mask_phones_in(text)),
        (_, Value::Array(items)) => Some(crate::web::list(items.iter().map(|i| match i {
            Value::String(s) => onestop_domain::access::mask_phones_in(s),
            other => other.to_string(),
        }))),
        (_, Value::Object(_)) => None,
    }
}

/// An audit record's detail as sentences: each fact it records named in
/// Chinese (`原因：密码错误；连续失败次数：3。`), never the raw JSON.
fn detail_text(state: &AppState, detail: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(detail)
    else {
        return onestop_domain::access::mask_phones_in(detail);
    };
    // Who and what first, then why, then the rest as recorded.
    const FIRST: [&str; 8] = [
        "username", "name", "number", "uscc", "reason", "refused", "before", "after",
    ];
    let mut facts: Vec<(&String, &serde_json::Value)> = map.iter().collect();
    facts.sort_by_key(|(k, _)| FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()));
    let parts: Vec<String> = facts
        .into_iter()
        .filter_map(|(k, v)| {
            let value = detail_value(state, k, v)?;
            let label = texts::audit_details::get(k).unwrap_or(t::OTHER);
            Some(texts::fill(
                texts::audit_details::FACT,
                &[("label", &label), ("value", &value)],
            ))
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!("{}。", parts.join(texts::audit_details::SEPARATOR))
}

fn audit_row(state: &AppState, r: &AuditRecord, offset: UtcOffset, can_manage: bool) -> AuditRow {
    let (outcome, outcome_class) = outcome_label(&r.outcome);
    AuditRow {
        seq: r.seq,
        when: when(r.at_ms, offset),
        actor: if r.actor_name.is_empty() {
            "—".into()
        } else {
            onestop_domain::access::mask_phones_in(&r.actor_name)
        },
        actor_kind: actor_kind_label(&r.actor_kind),
        actor_id: r.actor_id.clone(),
        action: action_label(&r.action),
        action_code: r.action.clone(),
        outcome,
        outcome_class,
        target_kind: target_kind_label(&r.target_kind),
        target_id: r.target_id.clone(),
        target_link: (can_manage
            && r.target_kind == "account"
            && !r.target_id.is_empty()
            && r.target_id.len() <= MAX_ID)
            .then(|| account_path(&r.target_id)),
        ip: r.ip.clone(),
        detail: if r.detail == "{}" {
            String::new()
        } else if r.action == crate::refusals::ACTION
            && let Some(text) = refusal_text(&r.detail, offset)
        {
            text
        } else {
            detail_text(state, &r.detail)
        },
        hash_short: r.hash.chars().take(12).collect(),
        hash: r.hash.clone(),
    }
}

/// What the audit filters hold, as typed.
#[derive(Default, Clone)]
pub struct AuditForm {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    nav: Nav,
    csrf: String,
    f: AuditForm,
    actions: Vec<(String, String)>,
    rows: Vec<AuditRow>,
    errors: BTreeMap<String, String>,
    /// Link to the next (older) page.
    next: Option<String>,
    /// Link back to the newest page, when paging.
    newest: Option<String>,
    total: i64,
    /// (intact, text): the result of checking the hash chain.
    verify: Option<(bool, String)>,
}

impl AuditPage {
    fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }
}

/// `2026-11-27` → midnight in city time, as Unix milliseconds.
fn day_start_ms(text: &str, offset: UtcOffset, days_after: i64) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(text, &fmt).ok()?;
    let d = d.checked_add(time::Duration::days(days_after))?;
    Some(onestop_domain::timefmt::to_ms(
        d.midnight().assume_offset(offset),
    ))
}

fn audit_href(f: &AuditForm, before: Option<i64>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("actor", &f.actor),
        ("action", &f.action),
        ("target", &f.target),
        ("from", &f.from),
        ("to", &f.to),
    ] {
        if !v.is_empty() {
            pairs.push((k, v.clone()));
        }
    }
    if let Some(b) = before {
        pairs.push(("before", b.to_string()));
    }
    let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if qs.is_empty() {
        "/admin/audit".into()
    } else {
        format!("/admin/audit?{qs}")
    }
}

async fn audit_view(
    state: &AppState,
    caller: &Caller,
    q: &HashMap<String, String>,
    verify: Option<(bool, String)>,
) -> Response {
    let off = state.offset;
    let f = AuditForm {
        actor: clean(q.get("actor"), 64).unwrap_or_default(),
        action: clean(q.get("action"), 64)
            .filter(|a| a.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .unwrap_or_default(),
        target: clean(q.get("target"), 64).unwrap_or_default(),
        from: clean(q.get("from"), 10).unwrap_or_default(),
        to: clean(q.get("to"), 10).unwrap_or_default(),
    };
    let mut errors = BTreeMap::new();
    let from_ms = if f.from.is_empty() {
        None
    } else {
        let v = day_start_ms(&f.from, off, 0);
        if v.is_none() {
            errors.insert("from".to_owned(), t::FROM_INVALID.to_owned());
        }
        v
    };
    let to_ms = if f.to.is_empty() {
        None
    } else {
        let v = day_start_ms(&f.to, off, 1);
        if v.is_none() {
            errors.insert("to".to_owned(), t::TO_INVALID.to_owned());
        }
        v
    };
    if let (Some(a), Some(b)) = (from_ms, to_ms)
        && a >= b
    {
        errors.insert("to".to_owned(), t::TO_BEFORE_FROM.to_owned());
    }
    let before = q
        .get("before")
        .and_then(|b| b.trim().parse::<i64>().ok())
        .filter(|b| *b > 0);
    let filter = AuditFilter {
        actor: (!f.actor.is_empty()).then(|| f.actor.clone()),
        action: (!f.action.is_empty()).then(|| f.action.clone()),
        target_id: (!f.target.is_empty()).then(|| f.target.clone()),
        from_ms,
        to_ms,
        before_seq: before,
        limit: AUDIT_PAGE + 1,
    };
    let run = errors.is_empty();
    let found = state
        .store
        .read(move |c| {
            let rows = if run {
                audit::list(c, &filter)?
            } else {
                Vec::new()
            };
            Ok((rows, audit::count(c)?))
        })
        .await;
    let (mut records, total) = match found {
        Ok(v) => v,
        Err(e) => return store_failed(caller, e),
    };
    let more = records.len() > AUDIT_PAGE as usize;
    records.truncate(AUDIT_PAGE as usize);
    let can_manage = caller.subject.may(Capability::ManageAccounts);
    let mut actions: Vec<(String, String)> = LABELS.audit_actions.clone();
    if !f.action.is_empty() && !actions.iter().any(|(c, _)| *c == f.action) {
        actions.push((f.action.clone(), f.action.clone()));
    }
    let csrf = caller.csrf_token();
    let page = AuditPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        rows: records
            .iter()
            .map(|r| audit_row(state, r, off, can_manage))
            .collect(),
        next: if more {
            records.last().map(|r| audit_href(&f, Some(r.seq)))
        } else {
            None
        },
        newest: before.map(|_| audit_href(&f, None)),
        actions,
        f,
        errors,
        total,
        verify,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    respond(caller, &csrf, status, &page)
}

async fn audit_page(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ReadAudit, "/admin/audit") {
        return r;
    }
    audit_view(&state, &caller, &query_pairs(raw.as_deref()), None).await
}

fn verify_text(r: &VerifyReport) -> (bool, String) {
    use texts::audit_chain as c;
    if r.intact() {
        let checkpoints = if r.checkpoints > 0 {
            texts::fill(c::CHECKPOINTS, &[("n", &r.checkpoints)])
        } else {
            String::new()
        };
        return if r.checked == 0 {
            (
                true,
                texts::fill(c::INTACT_EMPTY, &[("checkpoints", &checkpoints)]),
            )
        } else {
            (
                true,
                texts::fill(
                    c::INTACT,
                    &[
                        ("checked", &r.checked),
                        ("first", &r.first_seq),
                        ("last", &r.last_seq),
                        ("checkpoints", &checkpoints),
                    ],
                ),
            )
        };
    }
    let total = r.problems.len() as i64 + r.more_problems;
    let items: Vec<String> = r
        .problems
        .iter()
        .map(|p| {
            let at = if p.first_seq == p.last_seq {
                texts::fill(c::AT_SEQ, &[("seq", &p.first_seq)])
            } else {
                texts::fill(
                    c::AT_SEQS,
                    &[("first", &p.first_seq), ("last", &p.last_seq)],
                )
            };
            texts::fill(
                c::PROBLEM,
                &[
                    ("at", &at),
                    ("kind", &problem_zh(p.kind)),
                    ("message", &p.message),
                ],
            )
        })
        .collect();
    (
        false,
        texts::fill(
            c::BROKEN,
            &[
                ("total", &total),
                ("checked", &r.checked),
                ("problems", &items.join(c::SEPARATOR)),
            ],
        ),
    )
}

/// Each kind of problem, in Chinese (the store's English follows in
/// brackets for the operator).
fn problem_zh(kind: ProblemKind) -> &'static str {
    use texts::audit_problems as p;
    match kind {
        ProblemKind::Changed => p::CHANGED,
        ProblemKind::RecomputedWithoutKey => p::RECOMPUTED_WITHOUT_KEY,
        ProblemKind::Relinked => p::RELINKED,
        ProblemKind::Removed => p::REMOVED,
        ProblemKind::Truncated => p::TRUNCATED,
        ProblemKind::Wiped => p::WIPED,
        ProblemKind::Inserted => p::INSERTED,
        ProblemKind::HeadMismatch => p::HEAD_MISMATCH,
        ProblemKind::SealBroken => p::SEAL_BROKEN,
        ProblemKind::SealMissing => p::SEAL_MISSING,
        ProblemKind::AnchorInsideRetention => p::ANCHOR_INSIDE_RETENTION,
        ProblemKind::BoundaryMoved => p::BOUNDARY_MOVED,
        ProblemKind::CheckpointForged => p::CHECKPOINT_FORGED,
        ProblemKind::CheckpointMismatch => p::CHECKPOINT_MISMATCH,
        ProblemKind::Unreadable => p::UNREADABLE,
    }
}

async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<VerifyFields>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ReadAudit, "/admin/audit") {
        return r;
    }
    let report = match crate::app::audit_chain::verify(&state, Vec::new()).await {
        Ok(r) => r,
        Err(e) => return store_failed(&caller, e),
    };
    // The filters the page had, carried in hidden fields, stay applied.
    let q: HashMap<String, String> = form.map();
    audit_view(&state, &caller, &q, Some(verify_text(&report))).await
}
