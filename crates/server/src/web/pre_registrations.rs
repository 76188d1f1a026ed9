//! Pre-registration pages (一口登记): the list (`/pre-registrations`, a
//! utility's inbox of the projects that concern it, every project for the
//! planning department, supervisors and administrators), the registration
//! form for the planning department (`/pre-registrations/new`, its field
//! errors beside the fields, what was typed kept), and one registration's
//! page with its units, joint visits, network plans and linked
//! applications, where a concerned utility records its visit and plan
//! and adds the files that go with them (as the registering department
//! may too).

use crate::AppState;
use crate::api::documents::{file_response, receive};
use crate::app::pre_registrations::{self as app, PreRegistrationView};
use crate::auth::Caller;
use crate::texts::pre_registrations as t;
use crate::web::documents::{MaterialRow, back, first_message, plain_id};
use crate::web::form::{PageFields, PageForm, Refused, Spec};
use crate::web::staff::{query_map, service_name, unit_name};
use crate::web::{Nav, done_note, failure_page, not_found_page, render, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Subject;
use onestop_domain::materials::MaterialKind;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pre-registrations", get(list_page))
        .route("/pre-registrations/new", get(new_page).post(new_posted))
        .route("/pre-registrations/{id}", get(one_page))
        .route(
            "/pre-registrations/{id}/visits",
            axum::routing::post(visit_posted),
        )
        .route(
            "/pre-registrations/{id}/plans",
            axum::routing::post(plan_posted),
        )
        .route(
            "/pre-registrations/{id}/materials",
            axum::routing::post(material_posted)
                // The upload bounds itself as it arrives (`[materials]`).
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/pre-registrations/{id}/materials/{sha256}",
            get(material_download),
        )
}

/// Signed in, and someone who reads pre-registrations (or registers them).
fn gate(state: &AppState, caller: &Caller, uri: &Uri) -> Option<Response> {
    let back = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    match &caller.subject {
        Subject::Anonymous => Some(crate::web::auth::login_redirect(caller, &back)),
        Subject::Account(a) if a.must_change_password => {
            Some(Redirect::to("/account/password").into_response())
        }
        s if !s.pre_registrations(&state.config).is_nothing()
            || s.may_register_projects(&state.config) =>
        {
            None
        }
        _ => Some(crate::web::error_page(
            StatusCode::FORBIDDEN,
            crate::texts::page::FORBIDDEN,
        )),
    }
}

/// The forms' own gate, before their body is read: signed in (what the
/// account may do is checked by the use case).
fn signed_in(caller: &Caller, uri: &Uri) -> Option<Response> {
    match &caller.subject {
        Subject::Anonymous => Some(crate::web::auth::login_redirect(caller, uri.path())),
        Subject::Account(a) if a.must_change_password => {
            Some(Redirect::to("/account/password").into_response())
        }
        _ => None,
    }
}

fn date_zh(ymd: &str) -> String {
    crate::app::messages::date_zh(ymd)
}

fn services_of(state: &AppState, v: &PreRegistrationView) -> String {
    let named = v.form.services.named();
    if named.is_empty() {
        t::NO_SERVICES.to_owned()
    } else {
        crate::web::list(named.iter().map(|s| service_name(state, s)))
    }
}

fn status_label(status: &str) -> &'static str {
    if status == "open" {
        t::STATUS_OPEN
    } else {
        t::STATUS_APPLIED
    }
}

struct Row {
    id: String,
    land_parcel: String,
    project_code: String,
    place: String,
    services: String,
    expected: String,
    status: &'static str,
    registered: String,
}

#[derive(Template)]
#[template(path = "pre_registrations.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    may_register: bool,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

fn place(state: &AppState, v: &PreRegistrationView) -> String {
    let district = state
        .config
        .district(&v.form.location.district_code)
        .map_or_else(String::new, |d| d.name.clone());
    format!("{district}{}", v.form.location.detail)
}

async fn list_page(State(state): State<AppState>, caller: Caller, uri: Uri) -> Response {
    if let Some(r) = gate(&state, &caller, &uri) {
        return r;
    }
    let may_register = caller.subject.may_register_projects(&state.config);
    let items = if caller.subject.pre_registrations(&state.config).is_nothing() {
        Vec::new()
    } else {
        match app::list(&state, &caller, None).await {
            Ok(i) => i,
            Err(e) => return failure_page(e),
        }
    };
    let rows = items
        .iter()
        .map(|v| Row {
            id: v.id.clone(),
            land_parcel: v.form.land_parcel.clone(),
            project_code: v.form.project_code.clone(),
            place: place(&state, v),
            services: services_of(&state, v),
            expected: onestop_domain::timefmt::date_zh(v.form.expected_date),
            status: status_label(&v.status),
            registered: crate::web::staff::when_ms(
                &state,
                onestop_domain::timefmt::parse(&v.registered_at)
                    .map(onestop_domain::timefmt::to_ms)
                    .unwrap_or(0),
            ),
        })
        .collect();
    render(&caller, StatusCode::OK, |nav, _| ListPage {
        nav,
        rows,
        may_register,
        page: 1,
        prev: None,
        next: None,
    })
}

struct VisitLine {
    unit: String,
    date: String,
    notes: String,
}

struct PlanLine {
    unit: String,
    date: String,
    notes: String,
    covers: String,
}

#[derive(Template)]
#[template(path = "pre_registration.html")]
struct OnePage {
    nav: Nav,
    csrf: String,
    id: String,
    v: PreRegistrationView,
    status: &'static str,
    place: String,
    enterprise: Option<String>,
    expected: String,
    registered: String,
    needs: Vec<(String, String)>,
    units: String,
    visits: Vec<VisitLine>,
    plans: Vec<PlanLine>,
    /// The caller records for a concerned unit.
    may_record: bool,
    materials: Vec<MaterialRow>,
    /// The caller may add files (the upload form is shown).
    may_upload: bool,
    kinds: Vec<(&'static str, &'static str)>,
    max_mb: u64,
    refused: Refused,
    done: Option<String>,
}

fn num(v: Option<f64>, unit: &str) -> Option<String> {
    v.map(|x| format!("{}{unit}", crate::web::trim_number(x)))
}

/// The expected needs per service, in words.
fn needs(state: &AppState, v: &PreRegistrationView) -> Vec<(String, String)> {
    let s = &v.form.services;
    let mut out = Vec::new();
    let mut add = |code: &str, parts: Vec<Option<String>>| {
        let parts: Vec<String> = parts.into_iter().flatten().collect();
        let text = if parts.is_empty() {
            "需求待定".to_owned()
        } else {
            parts.join("，")
        };
        out.push((service_name(state, code), text));
    };
    if let Some(w) = &s.water {
        add(
            "water",
            vec![
                w.business_type.map(|b| b.label_zh().to_owned()),
                num(w.demand_tons_per_day, "吨/日"),
            ],
        );
    }
    if let Some(p) = &s.power {
        add(
            "power",
            vec![
                p.business_type.map(|b| b.label_zh().to_owned()),
                num(p.main_capacity_kva, "kVA（主供）"),
                num(p.backup_capacity_kva, "kVA（备用）"),
            ],
        );
    }
    if let Some(g) = &s.gas {
        let mut parts = vec![g.category.map(|b| b.label_zh().to_owned())];
        parts.extend(
            g.equipment
                .iter()
                .map(|e| Some(format!("{}×{}（{}）", e.name, e.quantity, e.pressure))),
        );
        add("gas", parts);
    }
    if let Some(h) = &s.heat {
        add(
            "heat",
            vec![
                h.category.map(|b| b.label_zh().to_owned()),
                num(h.heating_area_m2, "平方米"),
            ],
        );
    }
    if let Some(n) = &s.network {
        let carriers = (!n.carriers.is_empty()).then(|| {
            crate::web::list(n.carriers.iter().map(|c| {
                state
                    .config
                    .carriers()
                    .find(|x| &x.code == c)
                    .map_or_else(|| c.clone(), |x| x.name.clone())
            }))
        });
        add(
            "network",
            vec![
                num(n.building_area_m2, "平方米"),
                num(n.building_height_m, "米高"),
                n.buildings.map(|b| format!("{b}栋")),
                n.delivery_date
                    .map(|d| format!("{}交付", onestop_domain::timefmt::date_zh(d))),
                carriers,
            ],
        );
    }
    out
}

async fn one_page(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&state, &caller, &uri) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let done = done_note(
        q.get("done").map(String::as_str),
        &[
            ("registered", t::REGISTERED),
            ("visit", t::VISIT_RECORDED),
            ("plan", t::PLAN_RECORDED),
            ("material_added", t::MATERIAL_ADDED),
            ("material_known", t::MATERIAL_KNOWN),
        ],
    );
    let refused = match q.get("material_error") {
        Some(e) => crate::web::documents::refused_upload(Some(e)),
        None => Refused::default(),
    };
    show(&state, &caller, id, refused, done).await
}

async fn show(
    state: &AppState,
    caller: &Caller,
    id: String,
    refused: Refused,
    done: Option<String>,
) -> Response {
    let v = match app::get(state, caller, id).await {
        Ok(v) => v,
        Err(crate::app::error::Error::NotFound) => return not_found_page(),
        Err(crate::app::error::Error::Refused { .. }) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let at = |s: &str| {
        crate::web::staff::when_ms(
            state,
            onestop_domain::timefmt::parse(s)
                .map(onestop_domain::timefmt::to_ms)
                .unwrap_or(0),
        )
    };
    let e = &v.form.enterprise;
    let enterprise = match (&e.name, &e.uscc) {
        (Some(n), Some(u)) => Some(format!("{n}（{u}）")),
        (Some(n), None) => Some(n.clone()),
        (None, Some(u)) => Some(u.clone()),
        (None, None) => None,
    };
    let csrf = caller.csrf_token();
    let p = OnePage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        id: v.id.clone(),
        status: status_label(&v.status),
        place: place(state, &v),
        enterprise,
        expected: onestop_domain::timefmt::date_zh(v.form.expected_date),
        registered: at(&v.registered_at),
        needs: needs(state, &v),
        units: crate::web::list(v.units.iter().map(|u| u.name.clone())),
        visits: v
            .visits
            .iter()
            .map(|x| VisitLine {
                unit: unit_name(state, &x.unit.code),
                date: date_zh(&x.date),
                notes: x.notes.clone(),
            })
            .collect(),
        plans: v
            .plans
            .iter()
            .map(|x| PlanLine {
                unit: unit_name(state, &x.unit.code),
                date: date_zh(&x.planned_date),
                notes: x.notes.clone(),
                covers: match (x.covers_survey, x.covers_design) {
                    (false, false) => t::COVERS_NOTHING.to_owned(),
                    (s, d) => crate::web::list(
                        [(s, t::COVERS_SURVEY), (d, t::COVERS_DESIGN)]
                            .into_iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, l)| l.to_owned()),
                    ),
                },
            })
            .collect(),
        may_record: v.units.iter().any(|u| caller.subject.operates(&u.code))
            && !matches!(caller.subject, Subject::System(_)),
        materials: v
            .materials
            .iter()
            .map(|m| {
                let href = m
                    .sha256
                    .as_ref()
                    .map(|s| format!("/pre-registrations/{}/materials/{s}", v.id));
                crate::web::documents::material_row(state, m.clone(), href)
            })
            .collect(),
        may_upload: app::may_add_material(state, caller, &v),
        kinds: MaterialKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        max_mb: state.config.materials.max_file_mb,
        v,
        refused,
        done,
    };
    respond(caller, &csrf, p.refused.status, &p)
}

pub(crate) struct VisitFields;

impl PageFields for VisitFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["date", "notes"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        signed_in(caller, uri)
    }
}

pub(crate) struct PlanFields;

impl PageFields for PlanFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["planned_date", "notes", "covers_survey", "covers_design"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        signed_in(caller, uri)
    }
}

fn object_of(pairs: &[(&str, Option<&str>)], booleans: &[&str]) -> Map<String, Value> {
    let mut o = Map::new();
    for (k, v) in pairs {
        if booleans.contains(k) {
            o.insert((*k).to_owned(), Value::Bool(v.is_some_and(|v| v == "true")));
        } else if let Some(v) = v {
            o.insert((*k).to_owned(), Value::String((*v).to_owned()));
        }
    }
    o
}

async fn visit_posted(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm<VisitFields>,
) -> Response {
    if let Some(r) = gate(&state, &caller, &uri) {
        return r;
    }
    let o = object_of(
        &[("date", form.get("date")), ("notes", form.get("notes"))],
        &[],
    );
    match app::record_visit(&state, &caller, &id, &o, None).await {
        Ok(_) => Redirect::to(&format!("/pre-registrations/{id}?done=visit")).into_response(),
        Err(crate::app::error::Error::NotFound) => not_found_page(),
        Err(e) => {
            let typed = form.map();
            let refused = Refused::of_action("visit", "记录上门对接", typed, &e);
            show(&state, &caller, id, refused, None).await
        }
    }
}

async fn plan_posted(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm<PlanFields>,
) -> Response {
    if let Some(r) = gate(&state, &caller, &uri) {
        return r;
    }
    let o = object_of(
        &[
            ("planned_date", form.get("planned_date")),
            ("notes", form.get("notes")),
            ("covers_survey", form.get("covers_survey")),
            ("covers_design", form.get("covers_design")),
        ],
        &["covers_survey", "covers_design"],
    );
    match app::record_plan(&state, &caller, &id, &o, None).await {
        Ok(_) => Redirect::to(&format!("/pre-registrations/{id}?done=plan")).into_response(),
        Err(crate::app::error::Error::NotFound) => not_found_page(),
        Err(e) => {
            let typed = form.map();
            let refused = Refused::of_action("plan", "记录管网预布局", typed, &e);
            show(&state, &caller, id, refused, None).await
        }
    }
}

/// The upload form's target: back to the registration's page with the
/// outcome (or the reason it was refused) in the address.
async fn material_posted(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    if let Some(r) = signed_in(&caller, &uri) {
        return r;
    }
    if !plain_id(&id) {
        return not_found_page();
    }
    let page = format!("/pre-registrations/{id}");
    let received = match receive(&state, multipart).await {
        Ok(r) => r,
        Err(e) => return back(&page, Err(first_message(&e))),
    };
    if !Caller::origin_ok(&headers) || !caller.csrf_ok(received.csrf.as_deref()) {
        return crate::web::csrf_failed_page();
    }
    match app::add_material(&state, &caller, &id, received.input, received.spooled).await {
        Ok((_, new)) => back(&page, Ok(new)),
        Err(crate::app::error::Error::NotFound) => not_found_page(),
        Err(e) => back(&page, Err(first_message(&e.into()))),
    }
}

async fn material_download(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path((id, sha)): Path<(String, String)>,
) -> Response {
    if let Some(r) = gate(&state, &caller, &uri) {
        return r;
    }
    match app::download_material(&state, &caller, &id, &sha).await {
        Ok(d) => file_response(&d.media_type, false, &d.file_name, d.bytes),
        Err(crate::app::error::Error::NotFound | crate::app::error::Error::Refused { .. }) => {
            not_found_page()
        }
        Err(e) => failure_page(e),
    }
}

// ─────────────────────────── the registration form ───────────────────────────

/// The registration form's fields: named by their paths in the API body,
/// so that a field error stands beside its field.
const FIELDS: &[&str] = &[
    "project_code",
    "land_parcel",
    "enterprise.name",
    "enterprise.uscc",
    "location.district_code",
    "location.detail",
    "location.lng",
    "location.lat",
    "expected_date",
    "services.water.business_type",
    "services.water.demand_tons_per_day",
    "services.power.business_type",
    "services.power.main_capacity_kva",
    "services.power.backup_capacity_kva",
    "services.gas.category",
    "services.heat.category",
    "services.heat.heating_area_m2",
    "services.network.building_area_m2",
    "services.network.building_height_m",
    "services.network.buildings",
    "services.network.delivery_date",
];

/// Numbers are sent as JSON numbers (a text that is not one is sent as
/// text, for the validator to refuse).
const NUMBERS: &[&str] = &[
    "location.lng",
    "location.lat",
    "services.water.demand_tons_per_day",
    "services.power.main_capacity_kva",
    "services.power.backup_capacity_kva",
    "services.heat.heating_area_m2",
    "services.network.building_area_m2",
    "services.network.building_height_m",
    "services.network.buildings",
];

pub(crate) struct NewFields;

impl PageFields for NewFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new()
            .fields(FIELDS)
            .many("services", 5)
            .many("services.network.carriers", 20)
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        signed_in(caller, uri)
    }
}

#[derive(Template)]
#[template(path = "pre_registration_new.html")]
struct NewPage {
    nav: Nav,
    csrf: String,
    districts: Vec<(String, String)>,
    services: Vec<(String, String)>,
    carriers: Vec<(String, String)>,
    values: HashMap<String, String>,
    multi: HashMap<String, Vec<String>>,
    refused: Refused,
}

impl NewPage {
    fn v(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }
    fn err(&self, name: &str) -> Option<&str> {
        self.refused.errors.get(name).map(String::as_str)
    }
    fn has(&self, name: &str, value: &str) -> bool {
        self.multi
            .get(name)
            .is_some_and(|v| v.iter().any(|x| x == value))
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
}

fn new_form(
    state: &AppState,
    caller: &Caller,
    values: HashMap<String, String>,
    multi: HashMap<String, Vec<String>>,
    refused: Refused,
) -> Response {
    let csrf = caller.csrf_token();
    let p = NewPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        districts: state
            .config
            .districts
            .iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
        services: state
            .config
            .services
            .iter()
            .map(|s| (s.code.clone(), s.name.clone()))
            .collect(),
        carriers: state
            .config
            .carriers()
            .map(|c| (c.code.clone(), c.name.clone()))
            .collect(),
        values,
        multi,
        refused,
    };
    respond(caller, &csrf, p.refused.status, &p)
}

fn registrar_gate(state: &AppState, caller: &Caller, uri: &Uri) -> Option<Response> {
    if let Some(r) = gate(state, caller, uri) {
        return Some(r);
    }
    (!caller.subject.may_register_projects(&state.config))
        .then(|| crate::web::error_page(StatusCode::FORBIDDEN, t::NOT_A_REGISTRAR))
}

async fn new_page(State(state): State<AppState>, caller: Caller, uri: Uri) -> Response {
    if let Some(r) = registrar_gate(&state, &caller, &uri) {
        return r;
    }
    new_form(
        &state,
        &caller,
        HashMap::new(),
        HashMap::new(),
        Refused::default(),
    )
}

/// Sets `value` at the dotted `path` of `root`.
fn put(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut node = root;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            node.insert(p.to_owned(), value);
            return;
        }
        let next = node
            .entry(p.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(m) = next else {
            return;
        };
        node = m;
    }
}

/// The API body the form stands for.
fn body_of(values: &HashMap<String, String>, multi: &HashMap<String, Vec<String>>) -> Value {
    let mut root = Map::new();
    let chosen = multi.get("services").cloned().unwrap_or_default();
    for s in &chosen {
        put(
            &mut root,
            &format!("services.{s}"),
            Value::Object(Map::new()),
        );
    }
    for name in FIELDS {
        let Some(v) = values
            .get(*name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let value = if NUMBERS.contains(name) {
            v.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(v.to_owned()), Value::Number)
        } else {
            Value::String(v.to_owned())
        };
        put(&mut root, name, value);
    }
    if let Some(c) = multi
        .get("services.network.carriers")
        .filter(|c| !c.is_empty())
    {
        put(
            &mut root,
            "services.network.carriers",
            Value::Array(c.iter().cloned().map(Value::String).collect()),
        );
    }
    Value::Object(root)
}

async fn new_posted(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    form: PageForm<NewFields>,
) -> Response {
    if let Some(r) = registrar_gate(&state, &caller, &uri) {
        return r;
    }
    let mut values = HashMap::new();
    for name in FIELDS {
        if let Some(v) = form.get(name) {
            values.insert((*name).to_owned(), v.to_owned());
        }
    }
    let mut multi = HashMap::new();
    multi.insert("services".to_owned(), form.all("services"));
    multi.insert(
        "services.network.carriers".to_owned(),
        form.all("services.network.carriers"),
    );
    let body = body_of(&values, &multi);
    let outcome = match app::validate(&state, &body) {
        Ok(f) => app::register(&state, &caller, f, None).await,
        Err(fields) => Err(crate::app::error::Error::Invalid(fields)),
    };
    match outcome {
        Ok(app::Registered::Created(v)) => {
            Redirect::to(&format!("/pre-registrations/{}?done=registered", v.id)).into_response()
        }
        Ok(app::Registered::Replayed(_)) => Redirect::to("/pre-registrations").into_response(),
        Err(e) => {
            let refused = Refused::new("register", HashMap::new(), &e);
            new_form(&state, &caller, values, multi, refused)
        }
    }
}
