//! Shared service halls in the pages: the public directory (`/halls`), a
//! hall's sign (`/halls/{code}`), the 15-minute circle (`/halls/nearby`),
//! and the administrators' registry (`/admin/halls`) with the coverage
//! figure (`/admin/halls/coverage`). The map is drawn by the server as SVG
//! from the halls' coordinates (no external tiles).

use crate::AppState;
use crate::app::error::Error;
use crate::app::halls::{self, Entry, Listed};
use crate::auth::Caller;
use crate::texts::{self, halls as t};
use crate::web::admin::refused;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Failure, Nav, failure_page, not_found_page, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::config::Bounds;
use onestop_domain::hall::{
    self, Business, DAY_KEYS, DAY_NAMES, Hall, HallChannel, HallKind, Mode, OpenState,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/halls", get(directory))
        .route("/halls/nearby", get(nearby))
        .route("/halls/{code}", get(one))
        .route("/admin/halls", get(admin_list))
        .route("/admin/halls/coverage", get(coverage))
        .route("/admin/halls/new", get(new_form).post(create))
        .route("/admin/halls/{code}/edit", get(edit_form).post(update))
}

// ── Views ────────────────────────────────────────────────────────────────

/// A hall as a card of the directory (the unified signage data).
pub struct Card {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub district: String,
    pub address: String,
    pub example: bool,
    pub phone: String,
    pub open: bool,
    pub open_text: String,
    pub channels: Vec<&'static str>,
    /// (service name, business offered, units acted for)
    pub services: Vec<(String, String, String)>,
    pub hours: Vec<(String, String)>,
    pub closed_on_holidays: bool,
    pub active: bool,
    /// Minutes away (the circle), rounded up, and metres.
    pub minutes: Option<u32>,
    pub distance: Option<String>,
}

fn hhmm(t: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// "营业中，12:00 暂停" / "休息中，明天 08:30 开门" for a hall at `now_ms`.
pub fn open_text(state: &AppState, open: OpenState, now_ms: i64) -> (bool, String) {
    let now = onestop_domain::timefmt::from_ms(now_ms, state.offset);
    let local = |s: i64| hall::local(s, state.offset);
    match open {
        OpenState::Open { until } => {
            let u = local(until);
            let text = match u {
                Some(u) if u.date() != now.date() && u.hour() == 0 && u.minute() == 0 => {
                    t::OPEN_ALL_DAY.to_owned()
                }
                Some(u) => texts::fill(t::OPEN_UNTIL, &[("time", &hhmm(u))]),
                None => t::OPEN_ALL_DAY.to_owned(),
            };
            (true, text)
        }
        OpenState::Closed { next: Some(n) } => {
            let Some(n) = local(n) else {
                return (false, t::CLOSED.to_owned());
            };
            let day = match hall::days_between(now.date(), n.date()) {
                0 => t::TODAY.to_owned(),
                1 => t::TOMORROW.to_owned(),
                2 => t::DAY_AFTER.to_owned(),
                _ => texts::fill(
                    t::ON_DATE,
                    &[
                        ("month", &(n.month() as u8)),
                        ("day", &n.day()),
                        (
                            "weekday",
                            &DAY_NAMES[n.weekday().number_days_from_monday() as usize],
                        ),
                    ],
                ),
            };
            (
                false,
                texts::fill(t::CLOSED_UNTIL, &[("day", &day), ("time", &hhmm(n))]),
            )
        }
        OpenState::Closed { next: None } => (false, t::CLOSED.to_owned()),
    }
}

fn unit_names(state: &AppState, units: &[String]) -> String {
    units
        .iter()
        .map(|u| {
            state
                .config
                .unit(u)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| u.clone())
        })
        .collect::<Vec<_>>()
        .join("、")
}

pub fn card(state: &AppState, l: &Listed, now_ms: i64) -> Card {
    let h = &l.entry.hall;
    let (open, open_text) = open_text(state, l.open, now_ms);
    Card {
        code: h.code.clone(),
        name: h.name.clone(),
        kind: h.kind.label_zh(),
        district: state
            .config
            .district(&h.district_code)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        address: h.address.clone(),
        example: h.example,
        phone: h.phone.clone(),
        open,
        open_text,
        channels: h.channels.iter().map(|c| c.label_zh()).collect(),
        services: h
            .services
            .iter()
            .map(|s| {
                (
                    state
                        .config
                        .service(&s.service)
                        .map(|x| x.name.clone())
                        .unwrap_or_else(|| s.service.clone()),
                    s.business
                        .iter()
                        .map(|b| b.label_zh())
                        .collect::<Vec<_>>()
                        .join("、"),
                    unit_names(state, &s.units),
                )
            })
            .collect(),
        hours: h.hours.sign_lines(),
        closed_on_holidays: h.closed_on_holidays,
        active: l.entry.active,
        minutes: None,
        distance: None,
    }
}

/// A point of the map.
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub href: String,
    pub label: String,
    pub open: bool,
}

/// The server-drawn map: the city's frame, the districts' names at their
/// centres, the halls, and optionally "you are here" with the circle's
/// reach, or the coverage gaps.
pub struct MapView {
    pub width: f64,
    pub height: f64,
    pub districts: Vec<(f64, f64, String)>,
    pub dots: Vec<Dot>,
    pub here: Option<(f64, f64, f64)>,
    pub gaps: Vec<(f64, f64)>,
    pub label: String,
}

/// Equirectangular projection of the city's bounds onto a 1000-wide box.
struct Projection {
    b: Bounds,
    sx: f64,
    sy: f64,
}

impl Projection {
    fn new(b: Bounds) -> Projection {
        let mid = ((b.min_lat + b.max_lat) / 2.0).to_radians().cos();
        let w = (b.max_lng - b.min_lng).max(1e-6) * mid;
        let h = (b.max_lat - b.min_lat).max(1e-6);
        let sx = 1000.0 / w * mid;
        let sy = 1000.0 / w;
        let _ = h;
        Projection { b, sx, sy }
    }
    fn width(&self) -> f64 {
        1000.0
    }
    fn height(&self) -> f64 {
        ((self.b.max_lat - self.b.min_lat) * self.sy).round()
    }
    fn xy(&self, lat: f64, lng: f64) -> (f64, f64) {
        (
            ((lng - self.b.min_lng) * self.sx * 10.0).round() / 10.0,
            ((self.b.max_lat - lat) * self.sy * 10.0).round() / 10.0,
        )
    }
    /// Metres to map units (at the city's middle latitude).
    fn metres(&self, m: f64) -> f64 {
        (m / 111_195.0 * self.sy * 10.0).round() / 10.0
    }
}

fn map(state: &AppState, halls: &[(&Hall, bool)], label: String) -> (MapView, Projection) {
    let p = Projection::new(state.config.city.bounds);
    let view = MapView {
        width: p.width(),
        height: p.height(),
        districts: state
            .config
            .districts
            .iter()
            .map(|d| {
                let e = state.config.district_extent(&d.code);
                let (x, y) = p.xy((e.min_lat + e.max_lat) / 2.0, (e.min_lng + e.max_lng) / 2.0);
                (x, y, d.name.clone())
            })
            .collect(),
        dots: halls
            .iter()
            .map(|(h, open)| {
                let (x, y) = p.xy(h.lat, h.lng);
                Dot {
                    x,
                    y,
                    href: format!("/halls/{}", h.code),
                    label: h.name.clone(),
                    open: *open,
                }
            })
            .collect(),
        here: None,
        gaps: Vec::new(),
        label,
    };
    (view, p)
}

struct Choice {
    code: String,
    name: String,
}

fn districts(state: &AppState) -> Vec<Choice> {
    state
        .config
        .districts
        .iter()
        .map(|d| Choice {
            code: d.code.clone(),
            name: d.name.clone(),
        })
        .collect()
}

fn services(state: &AppState) -> Vec<Choice> {
    state
        .config
        .services
        .iter()
        .map(|s| Choice {
            code: s.code.clone(),
            name: s.name.clone(),
        })
        .collect()
}

fn businesses() -> Vec<Choice> {
    Business::ALL
        .iter()
        .map(|b| Choice {
            code: b.as_str().to_owned(),
            name: b.label_zh().to_owned(),
        })
        .collect()
}

fn q<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 40)
}

// ── The public directory ─────────────────────────────────────────────────

#[derive(Template)]
#[template(path = "halls.html")]
struct DirectoryPage {
    nav: Nav,
    cards: Vec<Card>,
    map: MapView,
    districts: Vec<Choice>,
    services: Vec<Choice>,
    businesses: Vec<Choice>,
    district: String,
    service: String,
    business: String,
    problem: Option<String>,
}

async fn directory(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut problem = None;
    let district = q(&query, "district").filter(|d| state.config.district(d).is_some());
    let service = q(&query, "service").filter(|s| state.config.service(s).is_some());
    let business = q(&query, "business").and_then(Business::parse);
    if (q(&query, "district").is_some() && district.is_none())
        || (q(&query, "service").is_some() && service.is_none())
        || (q(&query, "business").is_some() && business.is_none())
    {
        problem = Some(t::FILTER_UNKNOWN.to_owned());
    }
    let filter = halls::Filter {
        district: district.map(str::to_owned),
        service: service.map(str::to_owned),
        business,
    };
    let listed = match halls::directory(&state, &filter).await {
        Ok(l) => l,
        Err(e) => return failure_page(e),
    };
    let now = state.now_ms();
    let (map, _) = map(
        &state,
        &listed
            .iter()
            .map(|l| (&l.entry.hall, matches!(l.open, OpenState::Open { .. })))
            .collect::<Vec<_>>(),
        texts::fill(t::MAP_LABEL, &[("count", &listed.len())]),
    );
    let csrf = caller.csrf_token();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &DirectoryPage {
            nav: Nav::for_caller(&caller, &csrf),
            cards: listed.iter().map(|l| card(&state, l, now)).collect(),
            map,
            districts: districts(&state),
            services: services(&state),
            businesses: businesses(),
            district: district.unwrap_or("").to_owned(),
            service: service.unwrap_or("").to_owned(),
            business: business.map(|b| b.as_str()).unwrap_or("").to_owned(),
            problem,
        },
    )
}

#[derive(Template)]
#[template(path = "hall.html")]
struct HallPage {
    nav: Nav,
    card: Card,
    map: MapView,
    manage: bool,
}

async fn one(State(state): State<AppState>, caller: Caller, Path(code): Path<String>) -> Response {
    if !hall::code_is_valid(&code) {
        return not_found_page();
    }
    let l = match halls::one(&state, &caller, &code).await {
        Ok(l) => l,
        Err(Error::NotFound) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let now = state.now_ms();
    let open = matches!(l.open, OpenState::Open { .. });
    let (map, _) = map(&state, &[(&l.entry.hall, open)], l.entry.hall.name.clone());
    let csrf = caller.csrf_token();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &HallPage {
            nav: Nav::for_caller(&caller, &csrf),
            card: card(&state, &l, now),
            map,
            manage: caller.subject.may(Capability::ManageHalls),
        },
    )
}

// ── The 15-minute circle ─────────────────────────────────────────────────

#[derive(Template)]
#[template(path = "halls_nearby.html")]
struct NearbyPage {
    nav: Nav,
    districts: Vec<Choice>,
    services: Vec<Choice>,
    businesses: Vec<Choice>,
    values: HashMap<String, String>,
    errors: BTreeMap<String, String>,
    asked: bool,
    minutes: f64,
    mode_label: &'static str,
    within: Vec<Card>,
    nearest: Vec<(String, Option<Card>, bool)>,
    estimate: String,
    map: Option<MapView>,
}

impl NearbyPage {
    fn v(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
    fn err(&self, k: &str) -> Option<&str> {
        self.errors.get(k).map(String::as_str)
    }
}

fn reached_card(state: &AppState, r: &halls::Reached, now: i64) -> Card {
    let mut c = card(state, &r.listed, now);
    c.minutes = Some(r.minutes.ceil().max(1.0) as u32);
    c.distance = Some(if r.distance_m < 1000.0 {
        texts::fill(t::METRES, &[("m", &((r.distance_m / 10.0).round() * 10.0))])
    } else {
        texts::fill(
            t::KILOMETRES,
            &[("km", &format!("{:.1}", r.distance_m / 1000.0))],
        )
    });
    c
}

async fn nearby(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let values: HashMap<String, String> = ["lat", "lng", "district", "service", "business", "mode"]
        .iter()
        .filter_map(|k| {
            query
                .get(*k)
                .map(|v| ((*k).to_owned(), v.chars().take(40).collect::<String>()))
        })
        .collect();
    let asked = values.values().any(|v| !v.trim().is_empty()) && query.contains_key("mode");
    let mut page = NearbyPage {
        nav: Nav::default(),
        districts: districts(&state),
        services: services(&state),
        businesses: businesses(),
        errors: BTreeMap::new(),
        asked: false,
        minutes: state.config.service_circle.minutes,
        mode_label: Mode::Walk.label_zh(),
        within: Vec::new(),
        nearest: Vec::new(),
        estimate: String::new(),
        map: None,
        values,
    };
    let mut status = StatusCode::OK;
    if asked {
        let v = |k: &str| page.values.get(k).map(String::as_str);
        let parsed = halls::nearby_query(
            &state,
            v("lat"),
            v("lng"),
            v("district"),
            v("service"),
            v("business"),
            v("mode"),
        );
        match parsed {
            Ok(nq) => match halls::nearby(&state, nq).await {
                Ok(a) => {
                    let now = state.now_ms();
                    page.asked = true;
                    page.mode_label = a.query.mode.label_zh();
                    page.estimate = halls::estimate_text(&state, a.query.mode);
                    page.within = a
                        .within
                        .iter()
                        .map(|r| reached_card(&state, r, now))
                        .collect();
                    page.nearest = a
                        .nearest
                        .iter()
                        .map(|(s, r)| {
                            (
                                state
                                    .config
                                    .service(s)
                                    .map(|x| x.name.clone())
                                    .unwrap_or_default(),
                                r.as_ref().map(|r| reached_card(&state, r, now)),
                                r.as_ref().is_some_and(|r| r.minutes <= a.circle_minutes),
                            )
                        })
                        .collect();
                    let shown: Vec<(&Hall, bool)> = a
                        .within
                        .iter()
                        .map(|r| {
                            (
                                &r.listed.entry.hall,
                                matches!(r.listed.open, OpenState::Open { .. }),
                            )
                        })
                        .collect();
                    let (mut m, p) = map(
                        &state,
                        &shown,
                        texts::fill(t::NEARBY_MAP_LABEL, &[("count", &a.within.len())]),
                    );
                    let (x, y) = p.xy(a.query.lat, a.query.lng);
                    m.here = Some((
                        x,
                        y,
                        p.metres(state.config.service_circle.reach_m(a.query.mode)),
                    ));
                    page.map = Some(m);
                }
                Err(e) => return failure_page(e),
            },
            Err(e) => {
                status = StatusCode::UNPROCESSABLE_ENTITY;
                for f in e.fields() {
                    page.errors.entry(f.field.clone()).or_insert(f.message);
                }
            }
        }
    }
    let csrf = caller.csrf_token();
    page.nav = Nav::for_caller(&caller, &csrf);
    respond(&caller, &csrf, status, &page)
}

// ── Administrators ───────────────────────────────────────────────────────

fn gate(caller: &Caller, path: &str) -> Option<Response> {
    crate::web::admin::gate(caller, Capability::ManageHalls, path)
}

struct AdminLine {
    code: String,
    name: String,
    kind: &'static str,
    district: String,
    active: bool,
    example: bool,
    services: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "admin_halls.html")]
struct AdminListPage {
    nav: Nav,
    lines: Vec<AdminLine>,
    notice: Option<String>,
}

async fn admin_list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&caller, "/admin/halls") {
        return r;
    }
    let r = match halls::registry(&state).await {
        Ok(r) => r,
        Err(e) => return refused::failure_page_as(&caller, &e),
    };
    let notice = q(&query, "saved")
        .and_then(|c| r.get(c))
        .map(|e| texts::fill(t::SAVED, &[("name", &e.hall.name)]));
    let mut entries: Vec<&Entry> = r.entries.iter().collect();
    let pos = |c: &str| state.config.districts.iter().position(|d| d.code == c);
    entries.sort_by(|a, b| {
        (!a.active, pos(&a.hall.district_code), &a.hall.code).cmp(&(
            !b.active,
            pos(&b.hall.district_code),
            &b.hall.code,
        ))
    });
    let lines = entries
        .into_iter()
        .map(|e| AdminLine {
            code: e.hall.code.clone(),
            name: e.hall.name.clone(),
            kind: e.hall.kind.label_zh(),
            district: state
                .config
                .district(&e.hall.district_code)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            active: e.active,
            example: e.hall.example,
            services: e
                .hall
                .services
                .iter()
                .filter_map(|s| state.config.service(&s.service).map(|x| x.name.clone()))
                .collect::<Vec<_>>()
                .join("、"),
            updated: crate::web::staff::when_ms(&state, e.updated_at_ms),
        })
        .collect();
    let csrf = caller.csrf_token();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &AdminListPage {
            nav: Nav::for_caller(&caller, &csrf),
            lines,
            notice,
        },
    )
}

/// The hall form's fields.
struct HallFields;

const FORM_FIELDS: &[&str] = &[
    "code",
    "name",
    "kind",
    "district_code",
    "address",
    "example",
    "lng",
    "lat",
    "phone",
    "closed_on_holidays",
    "active",
    "version",
    "hours_mon",
    "hours_tue",
    "hours_wed",
    "hours_thu",
    "hours_fri",
    "hours_sat",
    "hours_sun",
];

impl PageFields for HallFields {
    fn spec(state: &AppState) -> Spec {
        let _ = state;
        // `business` values are `<service>:<business>`.
        Spec::new()
            .fields(FORM_FIELDS)
            .many("channels", 6)
            .many("business", 128)
    }

    fn gate(caller: &Caller, _uri: &axum::http::Uri) -> Option<Response> {
        gate(caller, "/admin/halls")
    }
}

struct ServiceRow {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin_hall_form.html")]
struct FormPage {
    nav: Nav,
    csrf: String,
    editing: Option<String>,
    active: bool,
    version: i64,
    values: HashMap<String, String>,
    ticked: Vec<String>,
    errors: BTreeMap<String, String>,
    kinds: Vec<(&'static str, &'static str)>,
    districts: Vec<Choice>,
    channels: Vec<(&'static str, &'static str)>,
    services: Vec<ServiceRow>,
    businesses: Vec<(&'static str, &'static str)>,
    days: Vec<(String, &'static str)>,
    changes: Vec<(String, String, &'static str)>,
    /// Why the form was not saved, when not for its fields.
    failure: Option<String>,
}

impl FormPage {
    fn v(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
    fn err(&self, k: &str) -> Option<&str> {
        self.errors.get(k).map(String::as_str)
    }
    fn ticked(&self, name: &str, value: &str) -> bool {
        self.ticked.iter().any(|t| *t == format!("{name}={value}"))
    }
}

fn form_page(state: &AppState, caller: &Caller, editing: Option<&Entry>) -> FormPage {
    let csrf = caller.csrf_token();
    let mut values = HashMap::new();
    let mut ticked = Vec::new();
    if let Some(e) = editing {
        let h = &e.hall;
        for (k, v) in [
            ("code", h.code.clone()),
            ("name", h.name.clone()),
            ("kind", h.kind.as_str().to_owned()),
            ("district_code", h.district_code.clone()),
            ("address", h.address.clone()),
            ("lng", h.lng.to_string()),
            ("lat", h.lat.to_string()),
            ("phone", h.phone.clone()),
        ] {
            values.insert(k.to_owned(), v);
        }
        for (i, key) in DAY_KEYS.iter().enumerate() {
            values.insert(format!("hours_{key}"), h.hours.day_text(i));
        }
        if h.example {
            ticked.push("example=yes".to_owned());
        }
        if h.closed_on_holidays {
            ticked.push("closed_on_holidays=yes".to_owned());
        }
        for c in &h.channels {
            ticked.push(format!("channels={}", c.as_str()));
        }
        for s in &h.services {
            for b in &s.business {
                ticked.push(format!("business={}:{}", s.service, b.as_str()));
            }
        }
    } else {
        ticked.push("closed_on_holidays=yes".to_owned());
        ticked.push("channels=staffed".to_owned());
        values.insert("hours_mon".into(), "08:30-12:00,14:30-17:30".into());
        for d in ["tue", "wed", "thu", "fri"] {
            values.insert(format!("hours_{d}"), "08:30-12:00,14:30-17:30".into());
        }
    }
    FormPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf,
        editing: editing.map(|e| e.hall.code.clone()),
        active: editing.is_none_or(|e| e.active),
        version: editing.map(|e| e.version).unwrap_or(0),
        values,
        ticked,
        errors: BTreeMap::new(),
        kinds: HallKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label_zh()))
            .collect(),
        districts: districts(state),
        channels: HallChannel::ALL
            .iter()
            .map(|c| (c.as_str(), c.label_zh()))
            .collect(),
        services: state
            .config
            .services
            .iter()
            .map(|s| ServiceRow {
                code: s.code.clone(),
                name: s.name.clone(),
            })
            .collect(),
        businesses: Business::ALL
            .iter()
            .map(|b| (b.as_str(), b.label_zh()))
            .collect(),
        days: DAY_KEYS
            .iter()
            .zip(DAY_NAMES)
            .map(|(k, n)| (format!("hours_{k}"), n))
            .collect(),
        changes: Vec::new(),
        failure: None,
    }
}

async fn new_form(State(state): State<AppState>, caller: Caller) -> Response {
    if let Some(r) = gate(&caller, "/admin/halls/new") {
        return r;
    }
    let p = form_page(&state, &caller, None);
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::OK, &p)
}

async fn load(state: &AppState, code: &str) -> Result<Option<Entry>, Error> {
    if !hall::code_is_valid(code) {
        return Ok(None);
    }
    Ok(halls::registry(state).await?.get(code).cloned())
}

fn change_kind(kind: &str) -> &'static str {
    match kind {
        "seeded" => t::CHANGE_SEEDED,
        "created" => t::CHANGE_CREATED,
        "withdrawn" => t::CHANGE_WITHDRAWN,
        "restored" => t::CHANGE_RESTORED,
        _ => t::CHANGE_UPDATED,
    }
}

async fn edit_page(state: &AppState, caller: &Caller, e: &Entry) -> Result<FormPage, Error> {
    let mut p = form_page(state, caller, Some(e));
    let changes = halls::changes(state, caller, &e.hall.code).await?;
    let actors =
        crate::app::actors::Actors::read(state, changes.iter().map(|c| c.actor.clone()).collect())
            .await?;
    p.changes = changes
        .iter()
        .map(|c| {
            (
                crate::web::staff::when_ms(state, c.at_ms),
                if c.actor == onestop_store::halls::SEEDER {
                    t::BY_CONFIGURATION.to_owned()
                } else {
                    actors.who(&state.config, &c.actor, None).text
                },
                change_kind(&c.kind),
            )
        })
        .collect();
    Ok(p)
}

async fn edit_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Response {
    if let Some(r) = gate(&caller, "/admin/halls") {
        return r;
    }
    let e = match load(&state, &code).await {
        Ok(Some(e)) => e,
        Ok(None) => return refused::not_found_page_as(&caller),
        Err(e) => return refused::failure_page_as(&caller, &e),
    };
    match edit_page(&state, &caller, &e).await {
        Ok(p) => {
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, StatusCode::OK, &p)
        }
        Err(e) => refused::failure_page_as(&caller, &e),
    }
}

/// The posted form as the hall's JSON (what `parse_hall` reads); a
/// service's units kept from the hall as it was.
fn posted_hall(
    state: &AppState,
    f: &crate::web::form::Decoded,
    before: Option<&Hall>,
) -> Map<String, Value> {
    let mut hours = Map::new();
    for key in DAY_KEYS {
        hours.insert(
            key.to_owned(),
            Value::String(f.text(&format!("hours_{key}"))),
        );
    }
    let mut services = Vec::new();
    let ticked = f.all("business");
    for s in &state.config.services {
        let business: Vec<&str> = ticked
            .iter()
            .filter_map(|v| v.split_once(':'))
            .filter(|(svc, _)| *svc == s.code)
            .map(|(_, b)| b)
            .collect();
        if business.is_empty() {
            continue;
        }
        let mut svc = json!({"service": s.code, "business": business});
        if let Some(units) = before
            .and_then(|h| h.services.iter().find(|x| x.service == s.code))
            .map(|x| x.units.clone())
        {
            svc["units"] = json!(units);
        }
        services.push(svc);
    }
    let mut m = Map::new();
    for k in ["code", "name", "kind", "district_code", "address", "phone"] {
        m.insert(k.to_owned(), Value::String(f.text(k)));
    }
    m.insert("lng".into(), Value::String(f.text("lng")));
    m.insert("lat".into(), Value::String(f.text("lat")));
    m.insert("example".into(), Value::Bool(f.get("example").is_some()));
    m.insert(
        "closed_on_holidays".into(),
        Value::Bool(f.get("closed_on_holidays").is_some()),
    );
    m.insert("hours".into(), Value::Object(hours));
    m.insert("channels".into(), json!(f.all("channels")));
    m.insert("services".into(), Value::Array(services));
    m
}

/// Field errors placed at the form's fields.
fn place_errors(
    state: &AppState,
    e: &impl Failure,
    posted: &Map<String, Value>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let service_of = |i: usize| {
        posted["services"]
            .get(i)
            .and_then(|s| s["service"].as_str())
            .map(str::to_owned)
    };
    for f in e.fields() {
        let parts: Vec<&str> = f.field.split('.').collect();
        let key = match parts.as_slice() {
            ["hours", day] => format!("hours_{day}"),
            ["hours"] => "hours_mon".to_owned(),
            ["channels", ..] => "channels".to_owned(),
            ["services", i, ..] => match i.parse::<usize>().ok().and_then(service_of) {
                Some(s) => format!("business_{s}"),
                None => "services".to_owned(),
            },
            ["services"] => "services".to_owned(),
            [one] => (*one).to_owned(),
            _ => f.field.clone(),
        };
        let _ = state;
        out.entry(key).or_insert(f.message);
    }
    out
}

fn refill(p: &mut FormPage, f: &crate::web::form::Decoded) {
    p.values = FORM_FIELDS
        .iter()
        .map(|k| ((*k).to_owned(), f.text(k).chars().take(200).collect()))
        .collect();
    p.ticked = f
        .pairs()
        .iter()
        .filter(|(k, _)| {
            ["example", "closed_on_holidays", "channels", "business"].contains(&k.as_str())
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
}

/// Why the hall was not saved, when not for its fields: a hall changed
/// by someone else meanwhile, or anything else, in words for people.
fn save_refused(e: &Error) -> String {
    if e.code() == "stale_version" {
        refused::because(
            texts::admin_forms::SAVE_HALL,
            texts::admin_forms::HALL_CHANGED,
        )
    } else {
        refused::action_note(texts::admin_forms::SAVE_HALL, e)
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    f: PageForm<HallFields>,
) -> Response {
    let posted = posted_hall(&state, &f, None);
    match halls::create(&state, &caller, posted.clone()).await {
        Ok(e) => Redirect::to(&format!("/admin/halls?saved={}", e.hall.code)).into_response(),
        Err(e) if refused::is_access(&e) => refused::failure_page_as(&caller, &e),
        Err(e) => {
            // The form again as typed: each field's problem beside it, or
            // why the hall could not be saved now.
            let mut p = form_page(&state, &caller, None);
            refill(&mut p, &f);
            p.errors = place_errors(&state, &e, &posted);
            if p.errors.is_empty() {
                p.failure = Some(save_refused(&e));
            }
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, refused::status_of(&e), &p)
        }
    }
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    f: PageForm<HallFields>,
) -> Response {
    let before = match load(&state, &code).await {
        Ok(Some(e)) => e,
        Ok(None) => return refused::not_found_page_as(&caller),
        Err(e) => return refused::failure_page_as(&caller, &e),
    };
    let mut posted = posted_hall(&state, &f, Some(&before.hall));
    posted.insert("code".into(), Value::String(code.clone()));
    let version = f.text("version").trim().parse::<i64>().unwrap_or(0);
    let active = f.get("active").is_some();
    match halls::update(&state, &caller, &code, version, active, posted.clone()).await {
        Ok(e) => Redirect::to(&format!("/admin/halls?saved={}", e.hall.code)).into_response(),
        Err(e) if refused::is_access(&e) => refused::failure_page_as(&caller, &e),
        Err(Error::NotFound) => refused::not_found_page_as(&caller),
        Err(e) => {
            // The hall as it is now (its version, its changes), with the
            // form as typed over it.
            let now = match load(&state, &code).await {
                Ok(Some(now)) => now,
                Ok(None) => return refused::not_found_page_as(&caller),
                Err(e) => return refused::failure_page_as(&caller, &e),
            };
            let mut p = match edit_page(&state, &caller, &now).await {
                Ok(p) => p,
                Err(e) => return refused::failure_page_as(&caller, &e),
            };
            refill(&mut p, &f);
            p.active = active;
            p.errors = place_errors(&state, &e, &posted);
            if p.errors.is_empty() {
                p.failure = Some(save_refused(&e));
            }
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, refused::status_of(&e), &p)
        }
    }
}

// ── Coverage ─────────────────────────────────────────────────────────────

struct CoverageRow {
    district: String,
    points: usize,
    /// (service name, covered share text, per mille, gaps)
    cells: Vec<(String, String, u32, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "admin_halls_coverage.html")]
struct CoveragePage {
    nav: Nav,
    rows: Vec<CoverageRow>,
    mode: &'static str,
    business: String,
    businesses: Vec<Choice>,
    minutes: f64,
    step: f64,
    estimate: String,
    map: MapView,
    gap_service: String,
}

async fn coverage(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !(caller.subject.may(Capability::ManageHalls) || caller.subject.may(Capability::Supervise)) {
        return crate::web::gate(&caller, Capability::Supervise, "/admin/halls/coverage")
            .unwrap_or_else(|| {
                refused::error_page_as(&caller, StatusCode::FORBIDDEN, texts::auth::FORBIDDEN)
            });
    }
    let mode = q(&query, "mode")
        .and_then(Mode::parse)
        .unwrap_or(Mode::Walk);
    let business = q(&query, "business").and_then(Business::parse);
    let list = match halls::coverage(&state, &caller, mode, business).await {
        Ok(l) => l,
        Err(e) => return refused::failure_page_as(&caller, &e),
    };
    let r = match halls::registry(&state).await {
        Ok(r) => r,
        Err(e) => return refused::failure_page_as(&caller, &e),
    };
    let gap_service = state
        .config
        .services
        .first()
        .map(|s| s.code.clone())
        .unwrap_or_default();
    let now = state.now_ms();
    let shown: Vec<(&Hall, bool)> = r
        .active()
        .map(|e| {
            (
                &e.hall,
                matches!(
                    halls::open_state(&state, &e.hall, now),
                    OpenState::Open { .. }
                ),
            )
        })
        .collect();
    let (mut m, p) = map(&state, &shown, t::COVERAGE_MAP_LABEL.to_owned());
    let name_of = |s: &str| {
        state
            .config
            .service(s)
            .map(|x| x.name.clone())
            .unwrap_or_default()
    };
    let rows = list
        .iter()
        .map(|d| {
            for (s, _, gaps) in &d.services {
                if *s == gap_service {
                    m.gaps.extend(gaps.iter().map(|g| p.xy(g.lat, g.lng)));
                }
            }
            CoverageRow {
                district: state
                    .config
                    .district(&d.district)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                points: d.points,
                cells: d
                    .services
                    .iter()
                    .map(|(s, covered, gaps)| {
                        let pm = onestop_domain::hall::permille(*covered, d.points);
                        (
                            name_of(s),
                            format!("{}.{}%", pm / 10, pm % 10),
                            pm,
                            gaps.iter()
                                .take(3)
                                .map(|g| match g.minutes {
                                    Some(mins) => texts::fill(
                                        t::GAP,
                                        &[
                                            ("lng", &format!("{:.3}", g.lng)),
                                            ("lat", &format!("{:.3}", g.lat)),
                                            ("minutes", &(mins.ceil() as u32)),
                                        ],
                                    ),
                                    None => texts::fill(
                                        t::GAP_NONE,
                                        &[
                                            ("lng", &format!("{:.3}", g.lng)),
                                            ("lat", &format!("{:.3}", g.lat)),
                                        ],
                                    ),
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let csrf = caller.csrf_token();
    respond(
        &caller,
        &csrf,
        StatusCode::OK,
        &CoveragePage {
            nav: Nav::for_caller(&caller, &csrf),
            rows,
            mode: mode.as_str(),
            business: business.map(|b| b.as_str()).unwrap_or("").to_owned(),
            businesses: businesses(),
            minutes: state.config.service_circle.minutes,
            step: state.config.service_circle.grid_step_m,
            estimate: halls::estimate_text(&state, mode),
            map: m,
            gap_service: name_of(&gap_service),
        },
    )
}
