//! The Chinese pages: home, the one form, the receipt, the status lookup.
//!
//! Server-rendered with auto-escaping templates; every page works without
//! JavaScript (`static/app.js` only shows and hides sections as the applicant
//! picks services, and adds equipment rows).

pub mod admin;
pub mod approvals;
pub mod auth;
pub mod billing;
pub mod board;
pub mod correction;
pub mod counter;
pub mod deadline;
pub mod deliveries;
pub mod documents;
pub mod fees;
pub mod flowchart;
pub mod follow_ups;
pub mod form;
pub mod form_materials;
pub mod halls;
pub mod identity;
pub mod notifications;
pub mod pre_registrations;
pub mod progress;
pub mod ratings;
pub mod settings;
pub mod staff;

use crate::AppState;
use crate::app::applications;
use crate::auth::{Caller, Limit};
use crate::error::ApiError;
use crate::texts;
use crate::web::form::{Decoded, PageFields, PageForm, Spec};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::{Capability, Role, mask_phone as mask_phone_number};
use onestop_domain::application::Application;
use onestop_domain::form::FieldError;
use onestop_domain::form::limits as form_limits;
use onestop_domain::timefmt;
use onestop_store::idempotency::IdempotencyKey;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        // The form's own bounds apply (web::form), files included.
        .route(
            "/apply",
            get(apply_form)
                .post(apply_submit)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/receipt/{id}", get(receipt))
        .route("/status", get(status_form).post(status_lookup))
        .route("/process", get(process_page))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
}

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

async fn css() -> Response {
    static_asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    static_asset(JS, "text/javascript; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

pub fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                texts::page::RENDER_FAILED,
            )
                .into_response()
        }
    }
}

/// The header's navigation: who is signed in, the menu of their role (the
/// page they are on marked), the token of the logout form. Every page
/// template has one.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub user: Option<String>,
    pub csrf: String,
    pub links: Vec<(&'static str, &'static str)>,
    /// Unread messages (the bell), for a signed-in account.
    pub unread: Option<i64>,
    /// For an administrator: the notice to import, as a banner.
    pub notice: Option<String>,
    /// The path of the page shown (its menu entry is marked).
    pub current: String,
}

impl Nav {
    pub fn for_caller(caller: &Caller, csrf: &str) -> Nav {
        let current = caller.path.clone();
        let Some(a) = caller.account() else {
            return Nav {
                user: None,
                csrf: csrf.to_owned(),
                links: vec![
                    ("/apply", texts::nav::APPLY),
                    ("/status", texts::nav::STATUS),
                    ("/process", texts::nav::PROCESS),
                    ("/halls", texts::nav::HALLS),
                ],
                unread: None,
                notice: None,
                current,
            };
        };
        let mut links = if a.must_change_password {
            Vec::new()
        } else {
            menu(caller, &a.grants)
        };
        links.push(("/account", texts::nav::MY_ACCOUNT));
        Nav {
            user: Some(a.display_name.clone()),
            csrf: csrf.to_owned(),
            links,
            unread: if a.must_change_password {
                None
            } else {
                Some(caller.unread.unwrap_or(0))
            },
            notice: caller.notice_due.map(|year| {
                crate::texts::fill(crate::texts::calendar::NOTICE_DUE, &[("year", &year)])
            }),
            current,
        }
    }

    /// `aria-current` for a menu entry: `page` on its own page, `true` on
    /// the pages under it (an application under the list), else nothing.
    pub fn current_of(&self, href: &str) -> Option<&'static str> {
        if self.current == href {
            Some("page")
        } else if href != "/"
            && self
                .current
                .strip_prefix(href)
                .is_some_and(|rest| rest.starts_with('/'))
        {
            Some("true")
        } else {
            None
        }
    }
}

/// The menu of a signed-in account, its own work first: an enterprise's
/// form and applications; a clerk's desk; a utility's orders; a
/// department's approvals; a supervisor's board; an administrator's
/// accounts. An account with several roles gets each role's entries once.
fn menu(
    caller: &Caller,
    grants: &[onestop_domain::access::Grant],
) -> Vec<(&'static str, &'static str)> {
    let has = |r: Role| grants.iter().any(|g| g.role == r);
    let may = |c: Capability| caller.subject.may(c);
    let enterprise_only = !grants.is_empty()
        && grants
            .iter()
            .all(|g| matches!(g.role, Role::Applicant | Role::Claimant));
    let mut links: Vec<(&'static str, &'static str)> = Vec::new();
    let mut add = |href: &'static str, label: &'static str| {
        if !links.iter().any(|(h, _)| *h == href) {
            links.push((href, label));
        }
    };
    if enterprise_only {
        add("/apply", texts::nav::APPLY);
        if may(Capability::ReadApplications) {
            add("/applications", texts::nav::MY_APPLICATIONS);
        }
        if may(Capability::ClaimEnterprise) {
            add("/account/enterprise", texts::nav::ENTERPRISE);
        }
        return links;
    }
    if has(Role::Admin) {
        add("/admin/accounts", texts::nav::ACCOUNTS);
        add("/pre-registrations", texts::nav::PRE_REGISTRATIONS);
        add("/admin/calendar", texts::nav::CALENDAR);
        add("/admin/apikeys", texts::nav::API_KEYS);
        add("/admin/deliveries", texts::nav::DELIVERIES);
        add("/admin/halls", texts::nav::HALL_ADMIN);
        add("/admin/fee-exceptions", texts::nav::FEE_EXCEPTIONS);
    }
    if has(Role::Supervisor) {
        add("/board", texts::nav::BOARD);
        add("/supervision", texts::nav::SUPERVISION);
        add("/admin/halls/coverage", texts::nav::HALL_COVERAGE);
        add("/pre-registrations", texts::nav::PRE_REGISTRATIONS);
    }
    if has(Role::Operator) {
        add("/workbench", texts::nav::WORKBENCH);
        add("/follow-ups", texts::nav::FOLLOW_UPS);
        add("/pre-registrations", texts::nav::PRE_REGISTRATIONS);
    }
    if may(Capability::DecideApprovals) {
        add("/approvals", texts::nav::APPROVALS);
    }
    if caller.registers_projects {
        add("/pre-registrations", texts::nav::PRE_REGISTRATIONS);
    }
    if has(Role::Clerk) {
        add("/counter", texts::nav::COUNTER);
        add("/applications", texts::nav::APPLICATIONS);
        add("/apply", texts::nav::APPLY_FOR);
    }
    if may(Capability::VerifyEnterprises) {
        add("/hall/claims", texts::nav::HALL_CLAIMS);
    }
    if may(Capability::ReadApplications) {
        add("/applications", texts::nav::APPLICATIONS);
    }
    if may(Capability::Supervise) {
        add("/board", texts::nav::BOARD);
        add("/supervision", texts::nav::SUPERVISION);
    }
    if may(Capability::ReadFeeExceptions) {
        add("/admin/fee-exceptions", texts::nav::FEE_EXCEPTIONS);
    }
    if may(Capability::ReadAudit) {
        add("/admin/audit", texts::nav::AUDIT);
    }
    if has(Role::Applicant) || has(Role::Claimant) {
        add("/apply", texts::nav::APPLY);
    }
    if may(Capability::ClaimEnterprise) {
        add("/account/enterprise", texts::nav::ENTERPRISE);
    }
    if may(Capability::TakePayments) {
        add("/counter/billing", texts::billing::NAV_COUNTER);
    }
    if may(Capability::ReconcilePayments) {
        add("/admin/reconciliation", texts::billing::NAV_RECONCILIATION);
    }
    links
}

/// A page for this caller, built from the header's navigation and the CSRF
/// token its forms carry (see [`respond`]).
pub fn render<T: Template>(
    caller: &Caller,
    status: StatusCode,
    build: impl FnOnce(Nav, String) -> T,
) -> Response {
    let csrf = caller.csrf_token();
    let page = build(Nav::for_caller(caller, &csrf), csrf.clone());
    respond(caller, &csrf, status, &page)
}

/// A rendered page for this caller: sets the anonymous CSRF cookie when the
/// page handed out a new token, and keeps personal pages out of caches.
pub fn respond(caller: &Caller, csrf: &str, status: StatusCode, t: &impl Template) -> Response {
    let mut res = page(status, t);
    if let Some(c) = caller.csrf_cookie_header(csrf)
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    if caller.account().is_some() {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Service names for display, in configuration order.
#[derive(Clone)]
pub struct ServiceView {
    pub code: String,
    pub name: String,
    pub unit_names: String,
}

/// The configured districts, (code, name).
fn district_pairs(state: &AppState) -> Vec<(String, String)> {
    state
        .config
        .districts
        .iter()
        .map(|d| (d.code.clone(), d.name.clone()))
        .collect()
}

fn service_views(state: &AppState) -> Vec<ServiceView> {
    state
        .config
        .services
        .iter()
        .map(|s| {
            let units: Vec<String> = match &s.provider {
                Some(p) => vec![
                    state
                        .config
                        .unit(p)
                        .map(|u| u.name.clone())
                        .unwrap_or_default(),
                ],
                None => s.carriers.iter().map(|c| c.name.clone()).collect(),
            };
            ServiceView {
                code: s.code.clone(),
                name: s.name.clone(),
                unit_names: list(units),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
    city: String,
    services: Vec<ServiceView>,
    acceptance_hours: String,
    threshold_m: String,
}

async fn home(State(state): State<AppState>, caller: Caller) -> Response {
    let l = &state.config.limits;
    let hours = l.acceptance_days * state.clock.get().hours().day_seconds() as f64 / 3600.0;
    render(&caller, StatusCode::OK, |nav, _| HomePage {
        nav,
        city: state.config.city.name.clone(),
        services: service_views(&state),
        acceptance_hours: trim_number(hours),
        threshold_m: trim_number(l.external_works_threshold_m),
    })
}

/// The note over a list whose query had filters it could not use.
pub(crate) fn filters_notice(invalid: bool) -> Option<String> {
    invalid.then(|| texts::common::FILTERS_IGNORED.to_owned())
}

/// The confirmation a page shows after one of its forms was taken
/// (`?done=…`), from the page's own list of them.
pub(crate) fn done_note(done: Option<&str>, notes: &[(&str, &str)]) -> Option<String> {
    let done = done?;
    notes
        .iter()
        .find(|(code, _)| *code == done)
        .map(|(_, note)| (*note).to_owned())
}

/// `50`, `12.5`: numbers without trailing zeros.
pub use crate::app::facts::list;
pub(crate) use crate::app::facts::{date_zh, trim_number};

// ───────────────────────────── the one form ─────────────────────────────

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    nav: Nav,
    csrf: String,
    city: String,
    districts: Vec<(String, String)>,
    services: Vec<ServiceView>,
    carriers: Vec<(String, String)>,
    /// Single values by field path, as the applicant typed them.
    values: HashMap<String, String>,
    /// Multi-valued fields (`services`, `services.network.carriers`).
    multi: HashMap<String, Vec<String>>,
    /// Field path → message.
    errors: BTreeMap<String, String>,
    /// Whether a selection was made (otherwise the chooser is shown first).
    chosen: bool,
    token: String,
    equipment_rows: usize,
    min_appointment: String,
    /// Part of what was posted was not recognised and was left out.
    unrecognised: bool,
    /// Why a valid form could not be submitted now (said for the public);
    /// what was typed is kept.
    failure: Option<String>,
    /// A window clerk files on behalf of an enterprise (代办): the halls
    /// the clerk works at (the form carries one of them).
    window: Option<WindowView>,
    /// Correcting a returned order (补正) rather than filing.
    correction: Option<correction::CorrectionView>,
    /// A signed-in enterprise may save the form half-filled (草稿).
    may_draft: bool,
    /// What became of the draft: saved now, or restored from an earlier save.
    draft: Option<String>,
    /// A signed-in enterprise may have the form prefilled from its
    /// project's pre-registration (一口登记).
    may_prefill: bool,
    /// The form was prefilled from a pre-registration: to be checked.
    prefilled: bool,
    /// Files sent with the form, kept until it is filed.
    materials: form_materials::FormMaterials,
}

/// What the form shows a window clerk filing on behalf of an enterprise.
#[derive(Debug, Clone, Default)]
struct WindowView {
    /// The clerk's halls, the one filed at first.
    halls: Vec<String>,
    /// The enterprise was found on file by its USCC (name and contact filled in).
    found: Option<bool>,
    /// The halls' names from the registry, as last loaded (code, name).
    names: Vec<(String, String)>,
}

impl WindowView {
    /// A hall's name (its code when the registry is not loaded yet).
    fn hall_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.names
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.as_str())
            .unwrap_or(code)
    }
}

/// A window clerk's halls, if the caller is one.
fn window_of(state: &AppState, caller: &Caller) -> Option<WindowView> {
    let halls = crate::app::halls::clerk_halls(caller);
    let names = state
        .halls
        .snapshot()
        .map(|r| {
            halls
                .iter()
                .filter_map(|h| r.get(h).map(|e| (h.clone(), e.hall.name.clone())))
                .collect()
        })
        .unwrap_or_default();
    (!halls.is_empty()).then_some(WindowView {
        halls,
        found: None,
        names,
    })
}

/// The hall a clerk files at: the one chosen on the form if it is theirs,
/// else their first.
fn filing_hall(window: &WindowView, values: &HashMap<String, String>) -> String {
    values
        .get("hall_id")
        .filter(|h| window.halls.contains(h))
        .or(window.halls.first())
        .cloned()
        .unwrap_or_default()
}

impl ApplyPage {
    fn v(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }
    /// The error beside a field: its own, or for a required field of a
    /// block that is missing as a whole (`address`), the block's.
    fn err(&self, name: &str) -> Option<&str> {
        const REQUIRED: &[&str] = &[
            "applicant.name",
            "applicant.uscc",
            "address.district_code",
            "address.detail",
            "contact.name",
            "contact.phone",
        ];
        self.errors
            .get(name)
            .or_else(|| {
                let (block, _) = name.split_once('.')?;
                REQUIRED
                    .contains(&name)
                    .then(|| self.errors.get(block))
                    .flatten()
            })
            .map(String::as_str)
    }
    fn has(&self, name: &str, value: &str) -> bool {
        self.multi
            .get(name)
            .is_some_and(|v| v.iter().any(|x| x == value))
    }
    fn selected(&self, service: &str) -> bool {
        self.has("services", service)
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
    fn eq_field(&self, row: &usize, leaf: &str) -> String {
        format!("services.gas.equipment.{row}.{leaf}")
    }
    fn ev(&self, row: &usize, leaf: &str) -> &str {
        self.v(&self.eq_field(row, leaf))
    }
    fn eerr(&self, row: &usize, leaf: &str) -> Option<&str> {
        self.err(&self.eq_field(row, leaf))
    }
    fn rows(&self) -> std::ops::Range<usize> {
        0..self.equipment_rows
    }
    /// The element id of a field (`applicant.name` → `f-applicant-name`).
    fn fid(&self, name: impl AsRef<str>) -> String {
        format!("f-{}", name.as_ref().replace('.', "-"))
    }
    /// Where the error summary's link for `field` leads: the field's own
    /// element, else the nearest block around it that the page has (a
    /// service's section, the address block, the form).
    fn anchor(&self, field: impl AsRef<str>) -> String {
        let mut path = field.as_ref();
        loop {
            let parts: Vec<&str> = path.split('.').collect();
            if let ["services", service] = parts[..]
                && self.services.iter().any(|s| s.code == service)
            {
                return format!("sec-{service}");
            }
            let id = self.fid(path);
            if self.has_element(path) {
                return id;
            }
            match path.rsplit_once('.') {
                Some((up, _)) => path = up,
                None => return "apply-form".to_owned(),
            }
        }
    }
    /// Whether the page has an element for this field path.
    fn has_element(&self, path: &str) -> bool {
        const BLOCKS: &[&str] = &[
            "mode",
            "services",
            "applicant",
            "address",
            "contact",
            "services.gas.equipment",
            "services.network.carriers",
        ];
        if BLOCKS.contains(&path) || APPLY_FIELDS.iter().any(|(p, _)| *p == path) {
            return true;
        }
        form::split_row(path, EQUIPMENT).is_some_and(|(row, leaf)| {
            row < self.equipment_rows && EQUIPMENT_LEAVES.contains(&leaf)
        }) || form::split_row(path, "material")
            .is_some_and(|(row, leaf)| row < self.materials.rows && leaf == "file")
    }
    /// The problem with the file of material row `row`.
    fn file_err(&self, row: &usize) -> Option<&str> {
        self.errors
            .get(&format!("material.{row}.file"))
            .map(String::as_str)
    }
}

impl ApplyPage {
    fn new(state: &AppState, caller: &Caller) -> Self {
        let now = state.now();
        let csrf = caller.csrf_token();
        ApplyPage {
            nav: Nav::for_caller(caller, &csrf),
            csrf,
            city: state.config.city.name.clone(),
            districts: district_pairs(state),
            services: service_views(state),
            carriers: state
                .config
                .carriers()
                .map(|c| (c.code.clone(), c.name.clone()))
                .collect(),
            values: HashMap::new(),
            multi: HashMap::new(),
            errors: BTreeMap::new(),
            chosen: false,
            token: applications::new_id(),
            equipment_rows: MIN_EQUIPMENT_ROWS,
            unrecognised: false,
            failure: None,
            window: window_of(state, caller),
            correction: None,
            may_draft: caller.account().is_some() && window_of(state, caller).is_none(),
            draft: None,
            may_prefill: !caller
                .subject
                .scopes_of(onestop_domain::access::Role::Applicant)
                .is_empty(),
            prefilled: false,
            materials: form_materials::FormMaterials::default(),
            min_appointment: format!(
                "{:04}-{:02}-{:02}T{:02}:00",
                now.year(),
                now.month() as u8,
                now.day(),
                now.hour()
            ),
        }
    }
}

/// Equipment rows the form shows at least.
const MIN_EQUIPMENT_ROWS: usize = 3;
const EQUIPMENT: &str = "services.gas.equipment";
const EQUIPMENT_LEAVES: &[&str] = &["name", "quantity", "pressure"];
/// The fields of the form that repeat: the services chosen, the carriers.
const MULTI: &[&str] = &["services", "services.network.carriers"];

/// How a single-valued field of the form becomes the API body's JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Boolean,
    /// `<input type="datetime-local">`, at the city's offset.
    LocalDateTime,
}

/// Every single-valued field of the form (by its path in the API body);
/// the page's JSON is built from these paths and no others.
const APPLY_FIELDS: &[(&str, Kind)] = &[
    ("mode", Kind::Text),
    ("applicant.name", Kind::Text),
    ("applicant.uscc", Kind::Text),
    ("address.district_code", Kind::Text),
    ("address.detail", Kind::Text),
    ("address.lng", Kind::Number),
    ("address.lat", Kind::Number),
    ("appointment_at", Kind::LocalDateTime),
    ("contact.name", Kind::Text),
    ("contact.phone", Kind::Text),
    ("project_code", Kind::Text),
    ("services.water.business_type", Kind::Text),
    ("services.water.demand_tons_per_day", Kind::Number),
    ("services.power.business_type", Kind::Text),
    ("services.power.main_capacity_kva", Kind::Number),
    ("services.power.backup_capacity_kva", Kind::Number),
    ("services.gas.category", Kind::Text),
    ("services.heat.category", Kind::Text),
    ("services.heat.heating_area_m2", Kind::Number),
    ("services.network.building_area_m2", Kind::Number),
    ("services.network.building_height_m", Kind::Number),
    ("services.network.delivery_date", Kind::Text),
    ("services.network.basement_coverage", Kind::Boolean),
    ("services.network.buildings", Kind::Number),
    ("services.network.elevator_coverage", Kind::Boolean),
];

/// The form's declared fields: its single fields, its two controls, the
/// repeated choices, and equipment rows up to the validator's own limit.
struct ApplyFields;

impl PageFields for ApplyFields {
    const KEEPS_PARTIAL: bool = true;

    fn spec(state: &AppState) -> Spec {
        let mut spec = Spec::new().fields(&["action", "submission_token", "hall_id", "draft"]);
        for (name, _) in APPLY_FIELDS {
            spec = spec.field(*name);
        }
        spec = form_materials::declare(spec, state);
        spec.many("services", onestop_domain::config::KNOWN_SERVICES.len())
            .many(
                "services.network.carriers",
                form_limits::MAX_NETWORK_CARRIERS,
            )
            .rows(
                EQUIPMENT,
                form_limits::MAX_GAS_EQUIPMENT_LINES,
                EQUIPMENT_LEAVES,
            )
    }
}

/// Form pairs → (single values, multi values).
fn split_pairs(
    pairs: Vec<(String, String)>,
) -> (HashMap<String, String>, HashMap<String, Vec<String>>) {
    let mut single = HashMap::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        if MULTI.contains(&k.as_str()) {
            multi.entry(k).or_default().push(v);
        } else {
            single.entry(k).or_insert(v);
        }
    }
    (single, multi)
}

/// Renumbers the equipment rows that were sent `0, 1, …` in the order of
/// their numbers, so that the page shows the rows actually sent (no more
/// than the validator's limit: the decoder admits no others). Returns the
/// number of rows to show.
fn compact_rows(values: &mut HashMap<String, String>) -> usize {
    let mut numbers: Vec<usize> = values
        .keys()
        .filter_map(|k| form::split_row(k, EQUIPMENT).map(|(i, _)| i))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.iter().enumerate().any(|(pos, n)| pos != *n) {
        let keys: Vec<String> = values
            .keys()
            .filter(|k| form::split_row(k, EQUIPMENT).is_some())
            .cloned()
            .collect();
        let moved: Vec<(String, String)> =
            keys.iter().filter_map(|k| values.remove_entry(k)).collect();
        for (k, v) in moved {
            if let Some((i, leaf)) = form::split_row(&k, EQUIPMENT)
                && let Ok(pos) = numbers.binary_search(&i)
            {
                values.insert(format!("{EQUIPMENT}.{pos}.{leaf}"), v);
            }
        }
    }
    numbers.len().max(MIN_EQUIPMENT_ROWS)
}

async fn apply_form(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Response {
    // `?mode=bundle` and `?services=…` preselect; nothing else is read.
    let query = ApplyFields::spec(&state).decode(q.as_deref().unwrap_or("").as_bytes());
    let (values, mut multi) = split_pairs(query.into_pairs());
    multi.retain(|k, _| k == "services");
    let mut p = ApplyPage::new(&state, &caller);
    // Files kept for a signed-in caller from an earlier visit.
    let holder = crate::app::materials::form_holder(&caller, None);
    p.materials = form_materials::for_form(&state, holder.as_deref()).await;
    // `?project=CODE`: the project's pre-registration, for its enterprise.
    let project = crate::web::staff::query_map(q.as_deref())
        .remove("project")
        .filter(|c| !c.is_empty());
    if p.window.is_none()
        && let Some(code) = project
    {
        if let Ok(Some(pre)) = crate::app::pre_registrations::prefill(&state, &caller, &code).await
        {
            prefill_applicant(&state, &caller, &mut p).await;
            prefill_from_registration(&pre, &mut p);
            let csrf = p.csrf.clone();
            return respond(&caller, &csrf, StatusCode::OK, &p);
        }
        p.values
            .insert("project_code".into(), code.chars().take(64).collect());
    }
    if p.window.is_some() {
        prefill_on_behalf(&state, &caller, &values, &mut p).await;
    } else if p.may_draft
        && let Ok(Some(d)) = crate::app::drafts::load(&state, &caller).await
    {
        let (mut saved, saved_multi) = split_pairs(d.pairs);
        p.equipment_rows = compact_rows(&mut saved);
        p.chosen = saved_multi.get("services").is_some_and(|s| !s.is_empty());
        p.values = saved;
        p.draft = Some(texts::fill(
            if values.get("draft").is_some_and(|v| v == "saved") {
                texts::apply::DRAFT_SAVED
            } else {
                texts::apply::DRAFT_RESTORED
            },
            &[("at", &crate::web::staff::when_ms(&state, d.saved_at_ms))],
        ));
        p.multi = saved_multi;
        let csrf = p.csrf.clone();
        return respond(&caller, &csrf, StatusCode::OK, &p);
    } else {
        prefill_applicant(&state, &caller, &mut p).await;
    }
    let bundle = choose_bundle(&state, &values, &mut multi);
    p.chosen = multi.get("services").is_some_and(|s| !s.is_empty());
    p.values.insert(
        "mode".into(),
        if bundle { "bundle" } else { "a_la_carte" }.into(),
    );
    p.multi = multi;
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::OK, &p)
}

/// The form filled in from a project's pre-registration (一口登记): the
/// project code, the location, the expected needs and, when the
/// registration names the caller's enterprise, its name; the enterprise
/// checks and confirms or changes each value.
fn prefill_from_registration(pre: &crate::app::pre_registrations::Prefill, p: &mut ApplyPage) {
    let f = &pre.form;
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            p.values.insert(k.to_owned(), v);
        }
    };
    let num = |v: Option<f64>| v.map(trim_number);
    put("project_code", Some(f.project_code.clone()));
    put(
        "address.district_code",
        Some(f.location.district_code.clone()),
    );
    put("address.detail", Some(f.location.detail.clone()));
    put("address.lng", f.location.lng.map(|v| v.to_string()));
    put("address.lat", f.location.lat.map(|v| v.to_string()));
    if pre.scope == onestop_domain::pre_registration::PrefillScope::Full {
        put("applicant.name", f.enterprise.name.clone());
        put("applicant.uscc", f.enterprise.uscc.clone());
    }
    let s = &f.services;
    if let Some(w) = &s.water {
        put(
            "services.water.business_type",
            w.business_type.map(|b| b.as_str().to_owned()),
        );
        put(
            "services.water.demand_tons_per_day",
            num(w.demand_tons_per_day),
        );
    }
    if let Some(w) = &s.power {
        put(
            "services.power.business_type",
            w.business_type.map(|b| b.as_str().to_owned()),
        );
        put("services.power.main_capacity_kva", num(w.main_capacity_kva));
        put(
            "services.power.backup_capacity_kva",
            num(w.backup_capacity_kva),
        );
    }
    if let Some(g) = &s.gas {
        put(
            "services.gas.category",
            g.category.map(|b| b.as_str().to_owned()),
        );
        for (i, e) in g.equipment.iter().enumerate() {
            put(&format!("{EQUIPMENT}.{i}.name"), Some(e.name.clone()));
            put(
                &format!("{EQUIPMENT}.{i}.quantity"),
                Some(e.quantity.to_string()),
            );
            put(
                &format!("{EQUIPMENT}.{i}.pressure"),
                Some(e.pressure.clone()),
            );
        }
        p.equipment_rows = p.equipment_rows.max(g.equipment.len());
    }
    if let Some(h) = &s.heat {
        put(
            "services.heat.category",
            h.category.map(|b| b.as_str().to_owned()),
        );
        put("services.heat.heating_area_m2", num(h.heating_area_m2));
    }
    if let Some(n) = &s.network {
        put("services.network.building_area_m2", num(n.building_area_m2));
        put(
            "services.network.building_height_m",
            num(n.building_height_m),
        );
        put(
            "services.network.delivery_date",
            n.delivery_date.map(timefmt::format_date),
        );
        put(
            "services.network.buildings",
            n.buildings.map(|b| b.to_string()),
        );
        put(
            "services.network.basement_coverage",
            n.basement_coverage.map(|b| b.to_string()),
        );
        put(
            "services.network.elevator_coverage",
            n.elevator_coverage.map(|b| b.to_string()),
        );
        if !n.carriers.is_empty() {
            p.multi
                .insert("services.network.carriers".into(), n.carriers.clone());
        }
    }
    let named: Vec<String> = s.named().iter().map(|c| (*c).to_owned()).collect();
    p.chosen = !named.is_empty();
    p.multi.insert("services".into(), named);
    p.values.insert("mode".into(), "a_la_carte".into());
    p.prefilled = true;
}

/// A signed-in applicant's form starts with their enterprise and contact.
async fn prefill_applicant(state: &AppState, caller: &Caller, p: &mut ApplyPage) {
    let Some(me) = caller.account() else {
        return;
    };
    let id = me.id.clone();
    let Ok(Some(a)) = state
        .store
        .read(move |c| onestop_store::accounts::get(c, &id))
        .await
    else {
        return;
    };
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            p.values.entry(k.to_owned()).or_insert(v);
        }
    };
    put("applicant.uscc", a.uscc.clone());
    put("applicant.name", a.enterprise_name.clone());
    if a.uscc.is_some() {
        put("contact.name", Some(a.display_name.clone()));
        put("contact.phone", a.phone.clone());
    }
}

/// A clerk's form for an enterprise looked up by its USCC (`?applicant.uscc=`):
/// the name and contact of its latest application are filled in; an
/// enterprise not on file is typed in by the clerk.
async fn prefill_on_behalf(
    state: &AppState,
    caller: &Caller,
    query: &HashMap<String, String>,
    p: &mut ApplyPage,
) {
    let Some(window) = p.window.as_mut() else {
        return;
    };
    if let Some(h) = query.get("hall_id").filter(|h| window.halls.contains(h)) {
        p.values.insert("hall_id".into(), h.clone());
    }
    let Some(uscc) = query
        .get("applicant.uscc")
        .map(|u| u.trim().to_ascii_uppercase())
        .filter(|u| !u.is_empty())
    else {
        return;
    };
    p.values.insert("applicant.uscc".into(), uscc.clone());
    let found = applications::enterprise_on_file(state, caller, uscc)
        .await
        .ok()
        .flatten();
    window.found = Some(found.is_some());
    if let Some(e) = found {
        p.values.insert("applicant.name".into(), e.name);
        p.values.insert("contact.name".into(), e.contact_name);
        p.values.insert("contact.phone".into(), e.contact_phone);
    }
}

/// 套餐式: every configured service is chosen. Returns whether it applied.
fn choose_bundle(
    state: &AppState,
    values: &HashMap<String, String>,
    multi: &mut HashMap<String, Vec<String>>,
) -> bool {
    let bundle = values.get("mode").is_some_and(|m| m == "bundle");
    if bundle {
        let all = state.config.services.iter().map(|s| s.code.clone());
        multi.insert("services".into(), all.collect());
    }
    bundle
}

/// Sets a value at one of the form's own paths (at most three levels:
/// `services.network.buildings`); called with declared paths only.
fn set_path(root: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for p in parents {
        let next = cur
            .entry((*p).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Some(obj) = next.as_object_mut() else {
            return;
        };
        cur = obj;
    }
    cur.insert((*last).to_owned(), value);
}

/// Builds the API's JSON body from the page's fields, so that the page and
/// the API share one validator. Only the form's own paths are read
/// ([`APPLY_FIELDS`], the repeated choices, the equipment rows). Returns
/// the body and, for gas equipment rows that were left empty and dropped,
/// the map from new index to row number.
fn form_to_json(
    state: &AppState,
    values: &HashMap<String, String>,
    multi: &HashMap<String, Vec<String>>,
    equipment_rows: usize,
    channel: &str,
) -> (Value, Vec<usize>) {
    let mut root = Map::new();
    let selected = multi.get("services").cloned().unwrap_or_default();
    let chosen = |service: &str| selected.iter().any(|s| s == service);
    // Sections of the chosen services always exist, so that an untouched
    // section reports its required fields one by one.
    for s in &selected {
        if state.config.service(s).is_some() {
            set_path(&mut root, &["services", s], Value::Object(Map::new()));
        }
    }
    for (path, kind) in APPLY_FIELDS {
        let Some(v) = values
            .get(*path)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let parts: Vec<&str> = path.split('.').collect();
        // Sections of services not chosen are dropped: the applicant unticked them.
        if parts[0] == "services" && !chosen(parts[1]) {
            continue;
        }
        let value = match kind {
            Kind::Text => Value::String(v.to_owned()),
            Kind::Number => number_or_text(v),
            Kind::Boolean => match v {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => Value::String(other.to_owned()),
            },
            Kind::LocalDateTime => Value::String(local_datetime_to_rfc3339(v, state)),
        };
        set_path(&mut root, &parts, value);
    }
    if let Some(carriers) = multi
        .get("services.network.carriers")
        .filter(|_| chosen("network"))
    {
        set_path(
            &mut root,
            &["services", "network", "carriers"],
            Value::Array(carriers.iter().cloned().map(Value::String).collect()),
        );
    }
    let mut rows: Vec<usize> = Vec::new();
    let mut equipment: Vec<Value> = Vec::new();
    for row in 0..equipment_rows {
        let mut line = Map::new();
        for leaf in EQUIPMENT_LEAVES {
            let Some(v) = values
                .get(&format!("{EQUIPMENT}.{row}.{leaf}"))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let v = if *leaf == "quantity" {
                number_or_text(v)
            } else {
                Value::String(v.to_owned())
            };
            line.insert((*leaf).to_owned(), v);
        }
        if !line.is_empty() {
            rows.push(row);
            equipment.push(Value::Object(line));
        }
    }
    if chosen("gas") {
        set_path(
            &mut root,
            &["services", "gas", "equipment"],
            Value::Array(equipment),
        );
    }
    root.insert("channel".into(), Value::String(channel.to_owned()));
    if !root.contains_key("mode") {
        root.insert("mode".into(), Value::String("a_la_carte".into()));
    }
    (Value::Object(root), rows)
}

fn number_or_text(v: &str) -> Value {
    v.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(|n| {
            // Whole numbers stay integers so integer fields validate.
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15)
            {
                Value::from(n.as_f64().unwrap_or_default() as i64)
            } else {
                Value::Number(n)
            }
        })
        .unwrap_or_else(|| Value::String(v.to_owned()))
}

/// `2026-12-01T09:00` (an `<input type="datetime-local">`) → RFC 3339 at the city's offset.
fn local_datetime_to_rfc3339(v: &str, state: &AppState) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    match time::PrimitiveDateTime::parse(v, &fmt) {
        Ok(t) => timefmt::format(t.assume_offset(state.offset)),
        Err(_) => v.to_owned(),
    }
}

fn is_mobile(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("Mobile") || ua.contains("MicroMessenger"))
}

async fn apply_submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    form: PageForm<ApplyFields>,
) -> Response {
    let mut decoded = form.form;
    let unrecognised = decoded.unrecognised;
    let files = std::mem::take(&mut decoded.files);
    let mut pairs = decoded.into_pairs();
    // The files first: kept whatever becomes of the rest of the form.
    let holder = form_materials::holder(&caller, &pairs);
    let file_errors = form_materials::take(&state, holder.as_deref(), &mut pairs, files).await;
    let kept = form_materials::for_form(&state, holder.as_deref()).await;
    let action = pairs
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if (action == "draft" || action == "discard") && window_of(&state, &caller).is_none() {
        let outcome = if action == "draft" {
            let keep: Vec<(String, String)> = pairs
                .iter()
                .filter(|(k, _)| k != "action" && k != "submission_token")
                .cloned()
                .collect();
            crate::app::drafts::save(&state, &caller, &keep)
                .await
                .map(|_| "/apply?draft=saved")
        } else {
            crate::app::drafts::discard(&state, &caller)
                .await
                .map(|_| "/apply")
        };
        return match outcome {
            Ok(to) if caller.account().is_some() => Redirect::to(to).into_response(),
            Ok(_) => Redirect::to("/login?next=/apply").into_response(),
            Err(e) => failure_page(e),
        };
    }
    let (mut values, mut multi) = split_pairs(pairs);
    let equipment_rows = compact_rows(&mut values);
    if values.get("action").is_some_and(|a| a == "choose") {
        // The no-JavaScript path: show the sections of the services just chosen.
        choose_bundle(&state, &values, &mut multi);
        let mut p = ApplyPage::new(&state, &caller);
        p.materials = kept;
        for f in &file_errors {
            p.errors.entry(f.field.clone()).or_insert(f.message.clone());
        }
        p.chosen = multi.get("services").is_some_and(|s| !s.is_empty());
        if let Some(t) = values.get("submission_token") {
            p.token = t.chars().take(64).collect();
        }
        p.values = values;
        p.multi = multi;
        p.equipment_rows = equipment_rows;
        p.unrecognised = unrecognised;
        let csrf = p.csrf.clone();
        let status = if unrecognised {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return respond(&caller, &csrf, status, &p);
    }
    let window = window_of(&state, &caller);
    let channel = match &window {
        Some(_) => "window",
        None if is_mobile(&headers) => "h5",
        None => "web",
    };
    let (mut json, rows) = form_to_json(&state, &values, &multi, equipment_rows, channel);
    if let (Some(w), Some(root)) = (&window, json.as_object_mut()) {
        root.insert("hall_id".into(), Value::String(filing_hall(w, &values)));
    }
    let selected = multi.get("services").cloned().unwrap_or_default();
    let mut errors: Vec<FieldError> = file_errors;
    if selected.is_empty() {
        errors.push(FieldError {
            field: "services".into(),
            code: onestop_domain::form::FieldCode::Required,
            message: texts::apply::NO_SERVICE.into(),
        });
    }
    let token = values
        .get("submission_token")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 64);
    let result = match applications::validate(&state, &json) {
        // Nothing is submitted while part of the form was not recognised.
        Ok(_) if unrecognised => Err(crate::app::error::Error::Invalid(std::mem::take(
            &mut errors,
        ))),
        Ok(form) if errors.is_empty() => {
            let key = token.as_ref().map(|t| IdempotencyKey {
                scope: "web".into(),
                key: t.clone(),
                request_hash: applications::request_hash(
                    "POST",
                    "/apply",
                    json.to_string().as_bytes(),
                ),
            });
            match applications::check_submitter(&caller.subject, &form) {
                Ok(()) => applications::submit(&state, form, &caller, key).await,
                Err(fields) => Err(crate::app::error::Error::Invalid(fields)),
            }
        }
        Ok(_) => Err(crate::app::error::Error::Invalid(std::mem::take(
            &mut errors,
        ))),
        Err(mut field_errors) => {
            errors.append(&mut field_errors);
            Err(crate::app::error::Error::Invalid(std::mem::take(
                &mut errors,
            )))
        }
    };
    match result {
        Ok(submitted) => match submitted.id() {
            Some(id) => {
                // Filed: the draft it was finished from is done with, and
                // the files kept with the form are the application's.
                if let Err(e) = crate::app::drafts::discard(&state, &caller).await {
                    tracing::warn!(error = %e, "a submitted form's draft was not removed");
                }
                if let (applications::Submitted::Created { application, .. }, Some(h)) =
                    (&submitted, &holder)
                    && let Err(e) =
                        crate::app::materials::attach_staged(&state, &caller, h, application).await
                {
                    // Still kept for the holder, listed on the form.
                    tracing::error!(error = %e, "the form's files were not attached");
                }
                submitted_receipt(&caller, &id, &submitted)
            }
            None => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                texts::apply::RECEIPT_UNREADABLE,
            ),
        },
        Err(e) if e.code() == "idempotency_conflict" => {
            error_page(StatusCode::CONFLICT, texts::apply::ALREADY_SUBMITTED)
        }
        // Back to the form with everything kept: field errors beside their
        // fields, any other failure as a reason written for the public.
        Err(e) => {
            let mut p = ApplyPage::new(&state, &caller);
            p.materials = kept;
            let status = if e.code() == "validation_failed" {
                for f in e.fields() {
                    let field = remap_equipment_row(&f.field, &rows);
                    p.errors.entry(field).or_insert(f.message);
                }
                p.unrecognised = unrecognised;
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                let reason = if e.code() == "calendar_year_missing" {
                    texts::apply::CALENDAR_PENDING.to_owned()
                } else {
                    crate::error::message_of(&e)
                };
                let reason = reason.trim_end_matches(['。', '.']);
                p.failure = Some(texts::fill(
                    texts::apply::NOT_SUBMITTED,
                    &[("reason", &reason)],
                ));
                e.status()
            };
            p.equipment_rows = equipment_rows;
            p.values = values;
            p.multi = multi;
            p.chosen = true;
            if let Some(t) = token {
                p.token = t;
            }
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, status, &p)
        }
    }
}

/// `services.gas.equipment.1.x` (index among non-empty rows) → the row's number on the page.
fn remap_equipment_row(field: &str, rows: &[usize]) -> String {
    if let Some(rest) = field.strip_prefix("services.gas.equipment.") {
        let mut it = rest.splitn(2, '.');
        if let (Some(i), tail) = (it.next().and_then(|i| i.parse::<usize>().ok()), it.next())
            && let Some(row) = rows.get(i)
        {
            return match tail {
                Some(t) => format!("services.gas.equipment.{row}.{t}"),
                None => format!("services.gas.equipment.{row}"),
            };
        }
    }
    field.to_owned()
}

// ───────────────────────────── receipt and status ─────────────────────────────

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    nav: Nav,
    /// Personal data (contact, exact address) is shown only to those who may
    /// read the application; the public view has none.
    full: bool,
    app: Application,
    services: Vec<ServiceView>,
    districts: Vec<(String, String)>,
    just_submitted: bool,
    /// The query code, for those who may read the application and for the
    /// browser that has just submitted it.
    query_code: Option<String>,
}

impl ReceiptPage {
    /// Where an order stands, as a state (待受理, 待踏勘, …, 已办结).
    fn state(&self, o: &onestop_domain::application::WorkOrder) -> &'static str {
        onestop_domain::application::order_state_zh(o.stage, o.status)
    }
    fn service_name(&self, code: &str) -> String {
        self.services
            .iter()
            .find(|s| s.code == code)
            .map_or_else(|| code.to_owned(), |s| s.name.clone())
    }
    fn district_name(&self) -> String {
        let code = &self.app.form.address.district_code;
        self.districts
            .iter()
            .find(|d| &d.0 == code)
            .map_or_else(|| code.clone(), |d| d.1.clone())
    }
    fn when(&self, t: &time::OffsetDateTime) -> String {
        timefmt::when_zh(*t, t.offset())
    }
    fn iso(&self, t: &time::OffsetDateTime) -> String {
        timefmt::format(*t)
    }
    fn submitted(&self) -> String {
        self.when(&self.app.submitted_at)
    }
    fn appointment(&self) -> String {
        self.app
            .form
            .appointment_at
            .map_or_else(|| texts::common::SOONEST.to_owned(), |t| self.when(&t))
    }
    fn masked_phone(&self) -> String {
        mask_phone(&self.app.form.contact.phone)
    }
}

/// `13812345678` → `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    mask_phone_number(phone)
}

fn receipt_page(
    state: &AppState,
    nav: Nav,
    full: bool,
    app: Application,
    just_submitted: bool,
) -> ReceiptPage {
    ReceiptPage {
        nav,
        full,
        app,
        services: service_views(state),
        districts: district_pairs(state),
        just_submitted,
        query_code: None,
    }
}

/// The cookie that lets the browser which has just submitted an
/// application see its query code on the receipt (an hour, that receipt only).
const RECEIPT_COOKIE: &str = "onestop_receipt";

/// Marks an answer as not to be kept by any cache (receipts, lookups).
fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The answer to a submission: its receipt, with the cookie that shows the
/// query code there to this browser.
fn submitted_receipt(caller: &Caller, id: &str, submitted: &applications::Submitted) -> Response {
    let code = match submitted {
        applications::Submitted::Created { application, .. } => application.query_code.clone(),
        applications::Submitted::Replayed(saved) => serde_json::from_str::<Value>(&saved.body)
            .ok()
            .and_then(|v| v.get("query_code")?.as_str().map(str::to_owned)),
    };
    let mut res = Redirect::to(&format!("/receipt/{id}")).into_response();
    let id_ok = id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if let Some(code) = code.filter(|_| id_ok) {
        let cookie = format!(
            "{RECEIPT_COOKIE}={code}; Path=/receipt/{id}; Max-Age=3600; HttpOnly; SameSite=Strict{}",
            if caller.https { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    no_store(res)
}

async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if id.len() > 64 {
        return no_store(not_found_page());
    }
    let csrf = caller.csrf_token();
    let nav = Nav::for_caller(&caller, &csrf);
    // Those who may read the application get it in full (and audited);
    // everyone else the public view, without personal data.
    let full = match applications::read_application(&state, &caller, id.clone()).await {
        Ok(found) => found,
        Err(e) => return no_store(failure_page(e)),
    };
    let (app, full_view) = match full {
        Some(app) => (Some(app), true),
        None => match applications::get_unchecked(&state, id).await {
            Ok(app) => (app, false),
            Err(e) => return no_store(failure_page(e)),
        },
    };
    let Some(app) = app else {
        return no_store(not_found_page());
    };
    // The browser that has just submitted it holds its code in a cookie.
    let just_submitted_here = crate::auth::cookie(&headers, RECEIPT_COOKIE)
        .zip(app.query_code.as_deref())
        .is_some_and(|(held, code)| crate::auth::ct_eq(held, code));
    let query_code = (full_view || just_submitted_here)
        .then(|| app.query_code.clone())
        .flatten();
    let mut p = receipt_page(&state, nav, full_view, app, true);
    p.query_code = query_code;
    no_store(respond(&caller, &csrf, StatusCode::OK, &p))
}

#[derive(Deserialize)]
struct StatusQuery {
    number: Option<String>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    nav: Nav,
    csrf: String,
    number: String,
    message: Option<String>,
}

fn status_page(
    caller: &Caller,
    status: StatusCode,
    number: String,
    message: Option<String>,
) -> Response {
    render(caller, status, |nav, csrf| StatusPage {
        nav,
        csrf,
        number,
        message,
    })
}

fn clean_number(v: &str) -> String {
    v.trim().to_uppercase().chars().take(32).collect()
}

/// The lookup form; `?number=` only fills it in (numbers are not personal data).
async fn status_form(caller: Caller, Query(q): Query<StatusQuery>) -> Response {
    let number = clean_number(q.number.as_deref().unwrap_or(""));
    status_page(&caller, StatusCode::OK, number, None)
}

/// The lookup form: the number, and in `check` either the last four digits
/// of the contact's phone or the receipt's query code (`phone_last4`, the
/// field's former name, is read too).
struct StatusFields;

impl PageFields for StatusFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["number", "check", "phone_last4"])
    }
}

/// What proves the asker knows the application.
enum Proof {
    /// The last four digits of the contact's phone.
    PhoneDigits(String),
    /// The receipt's query code.
    QueryCode(String),
}

impl Proof {
    fn read(typed: &str) -> Option<Proof> {
        let typed = typed.trim();
        if typed.len() == 4 && typed.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Proof::PhoneDigits(typed.to_owned()));
        }
        onestop_domain::application::query_code::normalise(typed).map(Proof::QueryCode)
    }

    /// Compared in constant time.
    fn matches(&self, app: &Application) -> bool {
        use crate::auth::ct_eq;
        match self {
            Proof::PhoneDigits(d) => {
                let phone = &app.form.contact.phone;
                phone
                    .get(phone.len().saturating_sub(4)..)
                    .is_some_and(|tail| ct_eq(tail, d))
            }
            Proof::QueryCode(c) => app.query_code.as_deref().is_some_and(|q| ct_eq(q, c)),
        }
    }
}

/// By number and the last four digits of the contact's phone or the
/// receipt's query code, posted so that neither appears in a URL; answers
/// the public view, never personal data, and is never cached. Limited per
/// client address (`lookup_per_minute`) and per application number: after
/// `lookup_failures_per_hour` failed lookups of a number in an hour, it
/// answers no lookup by phone digits until the hour is over (its query code,
/// 40 random bits, still works).
async fn status_lookup(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<StatusFields>,
) -> Response {
    no_store(lookup(&state, &caller, &form).await)
}

async fn lookup(state: &AppState, caller: &Caller, form: &Decoded) -> Response {
    let number = clean_number(form.get("number").unwrap_or(""));
    let typed: String = form
        .get("check")
        .filter(|v| !v.trim().is_empty())
        .or(form.get("phone_last4"))
        .unwrap_or("")
        .chars()
        .take(32)
        .collect();
    let proof = Proof::read(&typed);
    let Some(proof) = proof.filter(|_| !number.is_empty()) else {
        return status_page(
            caller,
            StatusCode::UNPROCESSABLE_ENTITY,
            number,
            Some(texts::status::MISSING.into()),
        );
    };
    let sec = &state.config.security;
    let now_ms = state.now_ms();
    if !state.limiter.allow(
        Limit::Lookup,
        &caller.ip,
        sec.lookup_per_minute,
        60_000,
        now_ms,
    ) {
        return status_page(
            caller,
            StatusCode::TOO_MANY_REQUESTS,
            number,
            Some(texts::status::TOO_FREQUENT.into()),
        );
    }
    const HOUR_MS: i64 = 3_600_000;
    let per_number = sec.lookup_failures_per_hour;
    if matches!(proof, Proof::PhoneDigits(_))
        && state
            .limiter
            .exhausted(Limit::LookupNumber, &number, per_number, HOUR_MS, now_ms)
    {
        return status_page(
            caller,
            StatusCode::TOO_MANY_REQUESTS,
            number,
            Some(texts::status::NUMBER_LOCKED.into()),
        );
    }
    match applications::get_by_number(state, number.clone()).await {
        Ok(Some(app)) if proof.matches(&app) => {
            let csrf = caller.csrf_token();
            let nav = Nav::for_caller(caller, &csrf);
            respond(
                caller,
                &csrf,
                StatusCode::OK,
                &receipt_page(state, nav, false, app, false),
            )
        }
        found @ Ok(_) => {
            // Failures are counted for numbers that exist (the only ones
            // whose phone digits can be guessed).
            if let Ok(Some(app)) = found {
                state
                    .limiter
                    .record(Limit::LookupNumber, &app.number, HOUR_MS, now_ms);
            }
            status_page(
                caller,
                StatusCode::NOT_FOUND,
                number,
                Some(texts::status::NOT_FOUND.into()),
            )
        }
        Err(e) => failure_page(e),
    }
}

/// A state-changing form arrived without a valid CSRF token.
pub fn csrf_failed_page() -> Response {
    crate::refusals::refused(
        error_page(StatusCode::FORBIDDEN, texts::page::CSRF_FAILED),
        crate::refusals::Reason::Csrf,
    )
}

/// One action of the process, for the table under the flowchart.
pub struct ActionRow {
    pub label: String,
    pub code: String,
    pub from: String,
    pub roles: String,
    pub fields: String,
}

#[derive(Template)]
#[template(path = "process.html")]
struct ProcessPage {
    nav: Nav,
    svg: String,
    actions: Vec<ActionRow>,
    threshold_m: String,
}

/// The process flowchart (附1), drawn from the configured definition.
async fn process_page(State(state): State<AppState>, caller: Caller) -> Response {
    let csrf = caller.csrf_token();
    let stage_name = |c: &str| {
        onestop_domain::application::Stage::parse(c)
            .map_or_else(|| c.to_owned(), |s| s.label_zh().to_owned())
    };
    let role_name = |r: &str| {
        if r == onestop_domain::workflow::SYSTEM_ROLE {
            texts::process::SYSTEM_ROLE.to_owned()
        } else {
            Role::parse(r).map_or_else(|| r.to_owned(), |r| r.label_zh().to_owned())
        }
    };
    let actions = state
        .config
        .process
        .actions
        .iter()
        .map(|a| ActionRow {
            label: a.label.clone(),
            code: a.code.clone(),
            from: list(a.from.iter().map(|f| stage_name(f))),
            roles: list(a.roles.iter().map(|r| role_name(r))),
            fields: list(a.fields.iter().map(|f| {
                if f.required {
                    texts::fill(texts::process::REQUIRED_FIELD, &[("label", &f.label)])
                } else {
                    f.label.clone()
                }
            })),
        })
        .collect();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &ProcessPage {
            nav: Nav::for_caller(&caller, &csrf),
            svg: crate::web::flowchart::svg(&state.config),
            actions,
            threshold_m: trim_number(state.config.limits.external_works_threshold_m),
        },
    )
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Nav,
    title: String,
    message: String,
}

/// The pages' answers to failures, for the layers shared with the API.
pub const ERROR_PAGES: crate::middleware::ErrorPages = crate::middleware::ErrorPages {
    error: error_page,
    not_found: not_found_page,
};

/// Who may open a signed-in page: the anonymous are sent to sign in (and
/// back to `back_to` afterwards; after an ended session, told so), an
/// account that must change its password to do so first, an account
/// without `cap` gets `403` (audited as a refusal with what was missing).
/// `None`: come in.
pub fn gate(caller: &Caller, cap: Capability, back_to: &str) -> Option<Response> {
    match &caller.subject {
        onestop_domain::access::Subject::Anonymous => Some(auth::login_redirect(caller, back_to)),
        onestop_domain::access::Subject::Account(a) if a.must_change_password => {
            Some(Redirect::to("/account/password").into_response())
        }
        s if s.may(cap) => None,
        _ => {
            caller.mark.detail("capability", format!("{cap:?}").into());
            Some(error_page(StatusCode::FORBIDDEN, texts::page::FORBIDDEN))
        }
    }
}

/// What a page shows of a use case's refusal or of an API error: the same
/// status, code, message and field problems the API answers.
pub trait Failure {
    fn status(&self) -> StatusCode;
    fn code(&self) -> &str;
    fn message(&self) -> String;
    fn fields(&self) -> Vec<FieldError>;
}

impl Failure for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }
    fn code(&self) -> &str {
        self.code
    }
    fn message(&self) -> String {
        self.message.clone()
    }
    fn fields(&self) -> Vec<FieldError> {
        self.fields.clone()
    }
}

impl Failure for crate::app::error::Error {
    fn status(&self) -> StatusCode {
        crate::error::status_of(self)
    }
    fn code(&self) -> &str {
        crate::app::error::Error::code(self)
    }
    fn message(&self) -> String {
        crate::error::message_of(self)
    }
    fn fields(&self) -> Vec<FieldError> {
        match self {
            crate::app::error::Error::Invalid(f) | crate::app::error::Error::InvalidAs(_, f) => {
                f.clone()
            }
            _ => Vec::new(),
        }
    }
}

/// The Chinese error page for a refusal or a fault (a fault's details are
/// logged, never shown).
pub fn failure_page(e: impl Into<ApiError>) -> Response {
    let e: ApiError = e.into();
    error_page(e.status, &e.message)
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        &ErrorPage {
            nav: Nav::default(),
            title: if status.is_server_error() {
                texts::page::BUSY.into()
            } else {
                texts::page::REFUSED.into()
            },
            message: message.to_owned(),
        },
    )
}

pub fn not_found_page() -> Response {
    page(
        StatusCode::NOT_FOUND,
        &ErrorPage {
            nav: Nav::default(),
            title: texts::page::NOT_FOUND_TITLE.into(),
            message: texts::page::NOT_FOUND.into(),
        },
    )
}
