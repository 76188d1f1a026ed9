//! The signed-in pages: the applications a caller may see (list and
//! detail), the operator's work-order inbox (工单) and one work order.
//!
//! Every read goes through the same visibility checks as the API
//! (`applications::list`, `applications::read_application`, `workorders::visible_order`);
//! application reads are audited there. Rows the caller may not see answer
//! `404`, exactly as unknown ids do. Lists never show full personal data:
//! contact names and phones are masked.

use crate::AppState;
use crate::app::applications;
use crate::app::deadlines::OrderTime;
use crate::app::workorders::visible_order;
use crate::auth::Caller;
use crate::texts;
use crate::web::Failure;
use crate::web::deadline::TimeView;
use crate::web::form::{PageFields, PageForm, Refused, Spec, typed_back};
use crate::web::{
    Nav, done_note, failure_page, filters_notice, list, not_found_page, render, respond,
};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::{Capability, OrderFacts, Role, mask_name, mask_phone};
use onestop_domain::application::{
    Application, ApplicationStatus, Level, OrderStatus, Stage, WorkOrder, order_state_zh,
};
use onestop_domain::form::Services;
use onestop_domain::timefmt;
use onestop_store::applications::ListFilter;
use onestop_store::paging::{self, PageAt};
use onestop_store::work_orders::{self, OrderFilter};
use std::collections::HashMap;
use time::OffsetDateTime;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications", get(applications))
        .route("/applications/{id}", get(application_detail))
        .route(
            "/applications/{id}/appointment",
            axum::routing::post(appointment_submit),
        )
        .route("/workbench", get(workbench))
        .route("/work-orders/{id}", get(work_order).post(work_order_post))
        .route(
            "/work-orders/{id}/actions",
            axum::routing::post(work_order_action),
        )
        .route(
            "/work-orders/{id}/survey",
            axum::routing::post(work_order_survey),
        )
        .route(
            "/work-orders/{id}/reminders",
            axum::routing::post(work_order_remind),
        )
        .route(
            "/work-orders/{id}/reminders/{rid}/acknowledgement",
            axum::routing::post(work_order_acknowledge),
        )
        .route("/supervision", get(supervision))
}

/// Rows per page of the lists.
pub(crate) const PER_PAGE: u32 = 20;
/// Highest page number accepted from a query.
const MAX_PAGE: u32 = 1_000_000;

// ───────────────────────────── shared helpers ─────────────────────────────

/// The one page gate (`crate::web::gate`), returning here afterwards with
/// the filters kept.
pub(crate) fn gate(caller: &Caller, uri: &Uri, cap: Capability) -> Option<Response> {
    let back = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    crate::web::gate(caller, cap, &back)
}

/// Percent-encodes a local path for the `next` parameter, keeping `/` (and
/// the other unreserved characters) readable.
pub(crate) fn encode_next(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query's pairs; the first value of a repeated name wins.
pub(crate) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let mut map = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_insert_with(|| v.trim().to_owned());
    }
    map
}

/// A filter value: `None` when absent or blank; an unknown code also gives
/// `None` and sets `invalid`.
pub(crate) fn parse_opt<T>(
    q: &HashMap<String, String>,
    name: &str,
    parse: fn(&str) -> Option<T>,
    invalid: &mut bool,
) -> Option<T> {
    let v = q.get(name).map(String::as_str).filter(|v| !v.is_empty())?;
    let parsed = parse(v);
    *invalid |= parsed.is_none();
    parsed
}

/// The page number, 1 when absent; a number out of range also gives 1 and
/// sets `invalid`.
pub(crate) fn parse_page(q: &HashMap<String, String>, invalid: &mut bool) -> u32 {
    match q.get("page").map(String::as_str).filter(|v| !v.is_empty()) {
        None => 1,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                *invalid = true;
                1
            }
        },
    }
}

/// Where a listing page starts: `page` (up to the deepest page read by
/// number) or, past it, the `cursor` of a "next" link (which carries `page`
/// along, to show the number). An unusable value sets `invalid` and starts
/// at page 1.
pub(crate) struct Pager {
    pub(crate) page: u32,
    pub(crate) at: PageAt,
}

impl Pager {
    pub(crate) fn parse(
        q: &HashMap<String, String>,
        order: &paging::Order,
        invalid: &mut bool,
    ) -> Pager {
        let page = parse_page(q, invalid);
        let first = Pager {
            page: 1,
            at: PageAt::default(),
        };
        match q.get("cursor").filter(|c| !c.is_empty()) {
            Some(c) => match paging::Cursor::decode(c, order) {
                Some(c) => Pager {
                    page,
                    at: PageAt::After(c),
                },
                None => {
                    *invalid = true;
                    first
                }
            },
            None if page > paging::MAX_PAGE => {
                *invalid = true;
                first
            }
            None => Pager {
                page,
                at: PageAt::Number(page),
            },
        }
    }

    /// The previous page's link, while it can be read by number.
    pub(crate) fn prev(&self, path: &str, filters: &[(&str, &str)]) -> Option<String> {
        (self.page > 1 && self.page - 1 <= paging::MAX_PAGE)
            .then(|| page_link(path, filters, self.page - 1))
    }

    /// The next page's link: by number while the list gives one, then by cursor.
    pub(crate) fn next<T>(
        &self,
        path: &str,
        filters: &[(&str, &str)],
        p: &paging::Page<T>,
    ) -> Option<String> {
        if let Some(n) = p.next_page {
            return Some(page_link(path, filters, n));
        }
        let cursor = p.next_cursor.as_ref()?.encode();
        let link = page_link(path, filters, self.page.saturating_add(1));
        let sep = if link.contains('?') { '&' } else { '?' };
        Some(format!("{link}{sep}cursor={cursor}"))
    }
}

/// `path?name=value&…` for the non-empty values, plus `page` when above 1.
pub(crate) fn page_link(path: &str, filters: &[(&str, &str)], page: u32) -> String {
    let mut pairs: Vec<(&str, String)> = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    if pairs.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// One `<option>` of a filter.
pub(crate) struct Opt {
    pub(crate) code: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

pub(crate) fn options<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
    chosen: &str,
) -> Vec<Opt> {
    items
        .map(|(code, label)| Opt {
            code: code.to_owned(),
            label: label.to_owned(),
            selected: code == chosen,
        })
        .collect()
}

/// City time, for people: `2026年11月27日 09:00`.
pub(crate) fn when(state: &AppState, t: OffsetDateTime) -> String {
    when_at(t, state.offset)
}

/// Unix milliseconds in city time, for people: `2026年11月27日 09:00`.
pub(crate) fn when_ms(state: &AppState, ms: i64) -> String {
    when(state, timefmt::from_ms(ms, state.offset))
}

/// `t` at `offset`, for people: `2026年11月27日 09:00` (the pages' one
/// format for an instant).
pub(crate) fn when_at(t: OffsetDateTime, offset: time::UtcOffset) -> String {
    onestop_domain::timefmt::when_zh(t, offset)
}

/// City time, for `<time datetime>`.
pub(crate) fn iso(state: &AppState, t: OffsetDateTime) -> String {
    timefmt::format(t.to_offset(state.offset))
}

pub(crate) fn district_name(state: &AppState, code: &str) -> String {
    state
        .config
        .district(code)
        .map_or_else(|| code.to_owned(), |d| d.name.clone())
}

pub(crate) fn unit_name(state: &AppState, code: &str) -> String {
    state
        .config
        .unit(code)
        .map_or_else(|| code.to_owned(), |u| u.name.clone())
}

use crate::app::facts::carrier_name;
pub(crate) use crate::app::facts::service_name;

/// `用水`, or `用网（中国电信）` for an order routed per carrier.
pub(crate) fn order_service(state: &AppState, service: &str, carrier: Option<&str>) -> String {
    match carrier {
        Some(c) => texts::fill(
            texts::common::SERVICE_OF_CARRIER,
            &[
                ("service", &service_name(state, service)),
                ("carrier", &carrier_name(state, c)),
            ],
        ),
        None => service_name(state, service),
    }
}

fn chosen_services(state: &AppState, services: &Services) -> String {
    list(services.chosen().iter().map(|s| service_name(state, s)))
}

/// When the applicant wants to be connected: the time asked for, or "as
/// soon as possible".
pub(crate) fn appointment(state: &AppState, at: Option<OffsetDateTime>) -> String {
    at.map_or_else(|| texts::common::SOONEST.to_owned(), |t| when(state, t))
}

/// Only applicants (one enterprise, nothing else) see "my" applications.
fn applicant_only(caller: &Caller) -> bool {
    caller
        .account()
        .is_some_and(|a| a.grants.len() == 1 && a.grants[0].role == Role::Applicant)
}

/// The names of the caller's own units (operators), for the page headers.
fn own_unit_names(state: &AppState, caller: &Caller) -> Vec<String> {
    caller
        .subject
        .scopes_of(Role::Operator)
        .into_iter()
        .map(|u| {
            state
                .config
                .unit(u)
                .map_or_else(|| u.to_owned(), |x| x.name.clone())
        })
        .collect()
}

// ───────────────────────────── the list of applications ─────────────────────────────

/// An application found at the window that was filed elsewhere: its
/// status, without personal data.
struct CounterRow {
    id: String,
    number: String,
    enterprise: String,
    channel: &'static str,
    status: &'static str,
    submitted: String,
}

struct AppRow {
    id: String,
    number: String,
    enterprise: String,
    /// Filed by an unverified account or anonymously (未认证).
    unverified: bool,
    district: String,
    services: String,
    status_code: &'static str,
    status: &'static str,
    submitted: String,
    submitted_iso: String,
    contact: String,
    phone: String,
    /// The most pressing of its running orders' deadlines.
    next: Option<NextDue>,
}

/// One running order's deadline on a list of applications.
struct NextDue {
    service: String,
    due: String,
    due_iso: String,
    time: TimeView,
}

/// How pressing a running order is: the most overdue first, then the
/// least time left; those waiting for the applicant last.
fn urgency(t: Option<&OrderTime>) -> (bool, i64) {
    use onestop_domain::clock::Standing;
    match t {
        Some(OrderTime::Running {
            standing: Some(s),
            waiting,
        }) => (
            *waiting,
            match s {
                Standing::Overdue { seconds } => -seconds,
                Standing::Left { seconds, .. } => *seconds,
            },
        ),
        _ => (true, i64::MAX),
    }
}

/// The most pressing running order of `app`, if any runs.
fn next_due(
    state: &AppState,
    app: &Application,
    times: &HashMap<String, OrderTime>,
) -> Option<NextDue> {
    let o = app
        .work_orders
        .iter()
        .filter(|o| matches!(o.status, OrderStatus::Open | OrderStatus::Returned))
        .min_by_key(|o| urgency(times.get(&o.id)))?;
    Some(NextDue {
        service: order_service(state, &o.service, o.carrier.as_deref()),
        due: due_text(state, o),
        due_iso: iso(state, o.due_at),
        time: crate::web::deadline::order(state, times.get(&o.id), o.level.as_str()),
    })
}

#[derive(Template)]
#[template(path = "staff_applications.html")]
struct ApplicationsPage {
    nav: Nav,
    /// The search term as typed (application number, USCC or phone).
    term: String,
    searched: bool,
    /// A window clerk: the list is the hall's, the search reaches every channel.
    clerk: bool,
    /// A clerk's search: matches filed elsewhere, shown as a status query.
    elsewhere: Vec<CounterRow>,
    /// An applicant's own list ("my applications").
    applicant_only: bool,
    rows: Vec<AppRow>,
    statuses: Vec<Opt>,
    districts: Vec<Opt>,
    filtered: bool,
    notice: Option<String>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

async fn applications(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::ReadApplications) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let status = parse_opt(&q, "status", ApplicationStatus::parse, &mut invalid);
    let district = q
        .get("district_code")
        .filter(|d| !d.is_empty())
        .and_then(|d| {
            let known = state.config.district(d).is_some();
            if !known {
                invalid = true;
            }
            known.then(|| d.clone())
        });
    let pager = Pager::parse(&q, &onestop_store::applications::ORDER, &mut invalid);
    let term: String = q
        .get("q")
        .map(|t| t.trim().chars().take(40).collect())
        .unwrap_or_default();
    let lookup = onestop_domain::form::Lookup::parse(&term);
    if !term.is_empty() && lookup.is_none() {
        invalid = true;
    }
    let mut filter = ListFilter {
        status,
        district_code: district.clone(),
        at: pager.at.clone(),
        per_page: PER_PAGE,
        ..ListFilter::default()
    };
    if let Some(l) = &lookup {
        applications::narrow(&mut filter, l);
    }
    let result = match applications::list(&state, &caller, filter).await {
        Ok(p) => p,
        Err(e) => return failure_page(e),
    };
    // At a window, a status query finds applications of every channel.
    let elsewhere: Vec<CounterRow> = match &lookup {
        Some(l) => match applications::counter_lookup(&state, &caller, l).await {
            Ok(found) => found
                .iter()
                .filter(|a| !result.items.iter().any(|r| r.id == a.id))
                .map(|a| CounterRow {
                    id: a.id.clone(),
                    number: a.number.clone(),
                    enterprise: a.form.applicant.name.clone(),
                    channel: a.form.channel.label_zh(),
                    status: a.status.label_zh(),
                    submitted: when(&state, a.submitted_at),
                })
                .collect(),
            Err(e) => return failure_page(e),
        },
        None => Vec::new(),
    };
    let status_code = status.map_or("", |s| s.as_str());
    let district_code = district.as_deref().unwrap_or("");
    let term_kept = if lookup.is_some() { term.as_str() } else { "" };
    let filters = [
        ("status", status_code),
        ("district_code", district_code),
        ("q", term_kept),
    ];
    let running = result
        .items
        .iter()
        .flat_map(|a| a.work_orders.iter())
        .filter(|o| matches!(o.status, OrderStatus::Open | OrderStatus::Returned));
    let times = match crate::app::deadlines::of_orders(&state, running).await {
        Ok(t) => t,
        Err(e) => return failure_page(e),
    };
    let rows = result
        .items
        .iter()
        .map(|a| AppRow {
            next: next_due(&state, a, &times),
            id: a.id.clone(),
            number: a.number.clone(),
            enterprise: a.form.applicant.name.clone(),
            unverified: !a.identity_verified,
            district: district_name(&state, &a.form.address.district_code),
            services: chosen_services(&state, &a.form.services),
            status_code: a.status.as_str(),
            status: a.status.label_zh(),
            submitted: when(&state, a.submitted_at),
            submitted_iso: iso(&state, a.submitted_at),
            contact: mask_name(&a.form.contact.name),
            phone: mask_phone(&a.form.contact.phone),
        })
        .collect();
    render(&caller, StatusCode::OK, |nav, _| ApplicationsPage {
        nav,
        applicant_only: applicant_only(&caller),
        rows,
        statuses: options(
            ApplicationStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.label_zh())),
            status_code,
        ),
        districts: options(
            state
                .config
                .districts
                .iter()
                .map(|d| (d.code.as_str(), d.name.as_str())),
            district_code,
        ),
        filtered: status.is_some() || district.is_some() || lookup.is_some(),
        term: term.clone(),
        searched: lookup.is_some(),
        clerk: !caller.subject.scopes_of(Role::Clerk).is_empty(),
        elsewhere,
        notice: filters_notice(invalid),
        page: pager.page,
        prev: pager.prev("/applications", &filters),
        next: pager.next("/applications", &filters, &result),
    })
}

// ───────────────────────────── one application ─────────────────────────────

/// A chosen service and its details, as label–value pairs.
pub(crate) use crate::app::facts::ServiceFacts as ServiceBlock;

struct OrderView {
    id: String,
    service: String,
    unit: String,
    /// Where it stands in one word (待受理, 待补正, 已办结, …).
    state: &'static str,
    level_code: &'static str,
    level: &'static str,
    due: String,
    due_iso: String,
    /// The time left or overdue, or how it finished.
    time: TimeView,
    /// One of the caller's own units (an operator's).
    mine: bool,
    /// The caller may open the order's page.
    link: bool,
}

#[derive(Template)]
#[template(path = "staff_application.html")]
struct ApplicationPage {
    nav: Nav,
    id: String,
    number: String,
    status: &'static str,
    enterprise: String,
    unverified: bool,
    uscc: String,
    project_code: Option<String>,
    district: String,
    address: String,
    coordinates: Option<String>,
    appointment: String,
    contact: String,
    phone: String,
    mode: &'static str,
    channel: &'static str,
    hall: Option<String>,
    submitted: String,
    submitted_iso: String,
    services: Vec<ServiceBlock>,
    orders: Vec<OrderView>,
    /// The caller is an operator (their units' orders are highlighted).
    operator: bool,
    own_units: String,
    /// An applicant's page (back to "my applications").
    applicant_only: bool,
    /// Each order's progress, and what happened to the whole application.
    timelines: Vec<crate::web::progress::OrderTimeline>,
    shared: Vec<crate::web::progress::Step>,
    survey: Option<SurveyView>,
    case_id: Option<String>,
    /// The caller's utility may raise the approval case now.
    may_raise: bool,
    csrf: String,
    /// The caller may move the connection appointment (the enterprise, the
    /// hall's clerk), with the value its form starts from.
    may_move_appointment: bool,
    appointment_value: String,
    /// The form just refused (`appointment`), and what was just done.
    refused: Refused,
    done: Option<String>,
    /// Returned orders the caller may correct, and whether they may cancel.
    returned: Vec<ReturnedView>,
    may_cancel: bool,
    /// The caller may print the receipt (they filed or follow up the application).
    receipt: bool,
    /// Its ratings (好差评) with the units' answers, and the enterprise's form.
    ratings: crate::web::ratings::RatingsBlock,
    /// Its documents (PDF) and materials.
    papers: crate::web::documents::PapersView,
    /// Its orders' costs (费用明细), read-only; orders without items left out.
    costs: Vec<crate::web::fees::CostSection>,
}

/// A returned order, as its correction banner shows it.
struct ReturnedView {
    order_id: String,
    service: String,
    unit: String,
    reason: Option<String>,
}

/// The joint survey appointment, for the pages.
pub(crate) struct SurveyView {
    at: String,
    at_iso: String,
    unit: String,
}

fn survey_view(state: &AppState, s: &onestop_domain::application::Survey) -> SurveyView {
    SurveyView {
        at: when(state, s.at),
        at_iso: iso(state, s.at),
        unit: s.proposed_by.name.clone(),
    }
}

/// Whether one of the caller's units has an order waiting on an approval
/// case that does not exist yet.
fn may_raise(caller: &Caller, app: &Application, case_id: Option<&String>) -> bool {
    let own = caller.subject.scopes_of(Role::Operator);
    case_id.is_none()
        && app.work_orders.iter().any(|o| {
            o.stage == Stage::Approval
                && o.status == OrderStatus::Open
                && own.contains(&o.unit.code.as_str())
        })
}

pub(crate) fn service_blocks(state: &AppState, s: &Services) -> Vec<ServiceBlock> {
    crate::app::facts::service_facts(state, s)
}

fn order_views(
    state: &AppState,
    caller: &Caller,
    app: &Application,
    times: &HashMap<String, OrderTime>,
) -> Vec<OrderView> {
    let own = caller.subject.scopes_of(Role::Operator);
    let visible = caller.subject.work_orders();
    app.work_orders
        .iter()
        .map(|o: &WorkOrder| OrderView {
            id: o.id.clone(),
            service: order_service(state, &o.service, o.carrier.as_deref()),
            unit: o.unit.name.clone(),
            state: order_state_zh(o.stage, o.status),
            level_code: o.level.as_str(),
            level: o.level.label_zh(),
            due: due_text(state, o),
            due_iso: iso(state, o.due_at),
            time: crate::web::deadline::order(state, times.get(&o.id), o.level.as_str()),
            mine: own.contains(&o.unit.code.as_str()),
            link: visible.admits_order(&OrderFacts {
                unit: &o.unit.code,
                uscc: &app.form.applicant.uscc,
                hall_id: app.form.hall_id.as_deref(),
                verified: app.identity_verified,
                submitted_by: app.submitted_by.as_deref(),
            }),
        })
        .collect()
}

async fn application_detail(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::ReadApplications) {
        return r;
    }
    let done = done_note(
        q.done.as_deref(),
        &[
            ("appointment", texts::appointment::DONE),
            ("corrected", texts::follow_up::CORRECTED),
            ("cancelled", texts::follow_up::CANCELLED),
            ("rated", texts::counter_page::DONE_RATED),
            ("rated_follow_up", texts::counter_page::DONE_RATED_FOLLOW_UP),
            crate::web::documents::DONE[0],
            crate::web::documents::DONE[1],
        ],
    );
    let refused = match q.material_error.as_deref() {
        Some(e) => crate::web::documents::refused_upload(Some(e)),
        None => Refused::default(),
    };
    application_page(&state, &caller, id, refused, done).await
}

/// The form that moves the connection appointment, on the application page.
pub(crate) struct AppointmentFields;

impl PageFields for AppointmentFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["appointment_at"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::ReadApplications)
    }
}

/// The enterprise (or the hall's clerk) moves the connection appointment:
/// the same use case as the API.
async fn appointment_submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<AppointmentFields>,
) -> Response {
    use crate::app::appointment::{AppointmentInput, move_appointment};
    let form = form.map();
    let typed = form
        .get("appointment_at")
        .map(|v| v.trim())
        .unwrap_or("")
        .to_owned();
    let outcome = match AppointmentInput::from_form(&state, &typed) {
        Ok(input) => move_appointment(&state, &caller, id.clone(), input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/applications/{id}?done=appointment")).into_response(),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let kept = HashMap::from([(
                "appointment_at".to_owned(),
                typed.chars().take(40).collect(),
            )]);
            let refused = Refused::new("appointment", kept, &e);
            application_page(&state, &caller, id, refused, None).await
        }
    }
}

/// An application's page, with a refused form's errors or what was done.
pub(crate) async fn application_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    refused: Refused,
    done: Option<String>,
) -> Response {
    if id.len() > 64 {
        return not_found_page();
    }
    let app = match applications::read_application(state, caller, id).await {
        Ok(Some(app)) => app,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let progress = match crate::web::progress::load(state, &app).await {
        Ok(p) => p,
        Err(e) => return failure_page(e),
    };
    let f = &app.form;
    let own_units = own_unit_names(state, caller);
    let csrf = caller.csrf_token();
    let follow = crate::app::corrections::follow_up(state, caller, &app, &progress.events);
    let returned = follow
        .returned
        .iter()
        .filter_map(|(id, reason)| {
            let o = app.work_orders.iter().find(|o| &o.id == id)?;
            Some(ReturnedView {
                order_id: id.clone(),
                service: order_service(state, &o.service, o.carrier.as_deref()),
                unit: o.unit.name.clone(),
                reason: reason.clone(),
            })
        })
        .collect();
    let appointment_value = match refused.typed.get("appointment_at") {
        Some(typed) => typed.clone(),
        None => f.appointment_at.map_or_else(String::new, |t| {
            let t = t.to_offset(state.offset);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        }),
    };
    let ratings = match crate::web::ratings::block(state, caller, &app, &refused).await {
        Ok(r) => r,
        Err(e) => return failure_page(e),
    };
    let costs = match crate::web::fees::of_application(state, app.id.clone()).await {
        Ok(c) => c,
        Err(e) => return failure_page(e),
    };
    let papers = crate::web::documents::papers(state, caller, &app, None).await;
    let p = ApplicationPage {
        papers,
        costs,
        ratings,
        returned,
        may_cancel: follow.may_cancel,
        receipt: follow.may_cancel || !follow.returned.is_empty() || applicant_only(caller),
        may_move_appointment: crate::app::appointment::may_move(caller, &app),
        appointment_value,
        refused,
        done,
        csrf: csrf.clone(),
        timelines: crate::web::progress::timelines(state, &app, &progress),
        shared: crate::web::progress::shared_steps(state, &progress),
        orders: order_views(state, caller, &app, &progress.times),
        survey: progress.survey.as_ref().map(|s| survey_view(state, s)),
        may_raise: may_raise(caller, &app, progress.case_id.as_ref()),
        case_id: progress.case_id,
        id: app.id.clone(),
        nav: Nav::for_caller(caller, &csrf),
        number: app.number.clone(),
        status: app.status.label_zh(),
        enterprise: f.applicant.name.clone(),
        unverified: !app.identity_verified,
        uscc: f.applicant.uscc.clone(),
        project_code: f.project_code.clone(),
        district: district_name(state, &f.address.district_code),
        address: f.address.detail.clone(),
        coordinates: match (f.address.lng, f.address.lat) {
            (Some(lng), Some(lat)) => Some(texts::fill(
                texts::facts::COORDINATES,
                &[("lng", &format!("{lng:.5}")), ("lat", &format!("{lat:.5}"))],
            )),
            _ => None,
        },
        appointment: appointment(state, f.appointment_at),
        contact: f.contact.name.clone(),
        phone: mask_phone(&f.contact.phone),
        mode: f.mode.label_zh(),
        channel: f.channel.label_zh(),
        hall: f.hall_id.clone(),
        submitted: when(state, app.submitted_at),
        submitted_iso: iso(state, app.submitted_at),
        services: service_blocks(state, &f.services),
        operator: !own_units.is_empty(),
        own_units: list(&own_units),
        applicant_only: applicant_only(caller),
    };
    respond(caller, &csrf, p.refused.status, &p)
}

// ───────────────────────────── the workbench ─────────────────────────────

struct OrderRowView {
    id: String,
    application_id: String,
    application_number: String,
    enterprise: String,
    unverified: bool,
    district: String,
    service: String,
    unit: String,
    /// Where it stands in one word (待受理, 待补正, 已办结, …).
    state: &'static str,
    status_code: &'static str,
    level_code: &'static str,
    level: &'static str,
    due: String,
    due_iso: String,
    /// The time left or overdue, or how it finished.
    time: TimeView,
}

/// A page of the orders `filter` selects, as the lists show them (or the
/// error page).
async fn order_rows(
    state: &AppState,
    filter: OrderFilter,
) -> Result<paging::Page<OrderRowView>, Response> {
    let (config, offset) = (state.config.clone(), state.offset);
    let found = state
        .store
        .read(move |c| work_orders::list(c, &filter, &config, offset))
        .await
        .map_err(|e| {
            let e = crate::error::ApiError::from(e);
            failure_page(e)
        })?;
    let times = crate::app::deadlines::of_orders(state, found.items.iter().map(|r| &r.item.order))
        .await
        .map_err(failure_page)?;
    Ok(found.map(|r| order_row_view(state, &r, times.get(&r.item.order.id))))
}

/// An order's deadline for people, marked when it was counted on the
/// statutory rules because the official notice is not imported yet.
/// Marked too when construction's clock runs from the approval because
/// the approved works' start date could not be used.
pub(crate) fn due_text(state: &AppState, o: &onestop_domain::application::WorkOrder) -> String {
    let mut text = when(state, o.due_at);
    if crate::app::calendar::provisional_due(&state.clock.get(), o) {
        text.push_str(crate::texts::calendar::PROVISIONAL_DUE);
    }
    if o.works_start_unknown && matches!(o.status, OrderStatus::Open | OrderStatus::Returned) {
        text.push_str(crate::texts::order::WORKS_START_UNKNOWN);
    }
    text
}

/// One order as the lists and the order page show it, with its time.
fn order_row_view(
    state: &AppState,
    r: &work_orders::OrderRow,
    time: Option<&OrderTime>,
) -> OrderRowView {
    let o = &r.item.order;
    OrderRowView {
        id: o.id.clone(),
        application_id: r.item.application_id.clone(),
        application_number: r.item.application_number.clone(),
        enterprise: r.item.applicant_name.clone(),
        unverified: !r.identity_verified,
        district: district_name(state, &r.item.district_code),
        service: order_service(state, &o.service, o.carrier.as_deref()),
        unit: o.unit.name.clone(),
        state: order_state_zh(o.stage, o.status),
        status_code: o.status.as_str(),
        level_code: o.level.as_str(),
        level: o.level.label_zh(),
        due: due_text(state, o),
        due_iso: iso(state, o.due_at),
        time: crate::web::deadline::order(state, time, o.level.as_str()),
    }
}

#[derive(Template)]
#[template(path = "staff_workbench.html")]
struct WorkbenchPage {
    nav: Nav,
    own_units: String,
    /// The unit's follow-ups waiting for an answer (回复事项).
    follow_ups: i64,
    rows: Vec<OrderRowView>,
    stages: Vec<Opt>,
    levels: Vec<Opt>,
    statuses: Vec<Opt>,
    sorts: Vec<Opt>,
    filtered: bool,
    notice: Option<String>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

async fn workbench(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::ReadWorkOrders) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let stage = parse_opt(&q, "stage", Stage::parse, &mut invalid);
    let level = parse_opt(&q, "level", Level::parse, &mut invalid);
    let status = parse_opt(&q, "status", OrderStatus::parse, &mut invalid);
    let sort = parse_opt(&q, "sort", work_orders::OrderSort::parse, &mut invalid);
    let pager = Pager::parse(&q, sort.unwrap_or_default().order(), &mut invalid);
    let filter = OrderFilter {
        unit: None,
        stage,
        status,
        level,
        at: pager.at.clone(),
        per_page: PER_PAGE,
        visibility: caller.subject.work_orders(),
        sort: sort.unwrap_or_default(),
    };
    let found = match order_rows(&state, filter).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let stage_code = stage.map_or("", |s| s.as_str());
    let level_code = level.map_or("", |s| s.as_str());
    let status_code = status.map_or("", |s| s.as_str());
    let sort_code = sort.map_or("", |s| s.as_str());
    let filters = [
        ("stage", stage_code),
        ("level", level_code),
        ("status", status_code),
        ("sort", sort_code),
    ];
    let own = own_unit_names(&state, &caller);
    let follow_ups = match crate::app::follow_ups::open_for_units(&state, &caller).await {
        Ok(n) => n,
        Err(e) => return failure_page(e),
    };
    render(&caller, StatusCode::OK, |nav, _| WorkbenchPage {
        nav,
        follow_ups,
        own_units: list(&own),
        next: pager.next("/workbench", &filters, &found),
        rows: found.items,
        stages: options(
            Stage::ALL.iter().map(|s| (s.as_str(), s.label_zh())),
            stage_code,
        ),
        levels: options(
            Level::ALL.iter().map(|s| (s.as_str(), s.label_zh())),
            level_code,
        ),
        statuses: options(
            OrderStatus::ALL.iter().map(|s| (s.as_str(), s.label_zh())),
            status_code,
        ),
        sorts: options(
            work_orders::OrderSort::ALL
                .iter()
                .map(|s| (s.as_str(), s.label_zh())),
            sort_code,
        ),
        filtered: stage.is_some() || level.is_some() || status.is_some() || sort.is_some(),
        notice: filters_notice(invalid),
        page: pager.page,
        prev: pager.prev("/workbench", &filters),
    })
}

// ───────────────────────────── one work order ─────────────────────────────

#[derive(Template)]
#[template(path = "staff_work_order.html")]
struct WorkOrderPage {
    nav: Nav,
    row: OrderRowView,
    mine: bool,
    csrf: String,
    version: i64,
    /// The actions this caller may take now, from the process definition.
    actions: Vec<ActionForm>,
    /// The form just refused (an action's code, `survey`, `remind`, `ack-<id>`).
    refused: Refused,
    done: Option<String>,
    /// The application behind the order (address, contact, this service).
    address: String,
    appointment: String,
    contact: String,
    phone: String,
    project_code: Option<String>,
    service_facts: Vec<ServiceBlock>,
    survey: Option<SurveyView>,
    /// The caller's unit may propose the joint survey now (none yet).
    may_propose: bool,
    case_id: Option<String>,
    may_raise: bool,
    history: Vec<crate::web::progress::Step>,
    chips: Vec<crate::web::progress::StageChip>,
    reminders: Vec<ReminderLine>,
    /// A supervisor may remind the unit (the order is still open).
    may_remind: bool,
    /// The caller handles the unit's orders (acknowledges reminders).
    may_ack: bool,
    /// The order's costs (费用明细), and whether the caller's unit may add
    /// and withdraw items now.
    costs: crate::web::fees::CostSection,
    may_add_cost: bool,
    /// An administrator may record an exception to the zero-investment rule.
    may_except: bool,
    /// The application's documents and materials (uploads name this order).
    papers: crate::web::documents::PapersView,
}

/// A reminder on the order page: who sent and acknowledged it, by name
/// and unit, and when, for people.
pub(crate) struct ReminderLine {
    id: i64,
    note: String,
    sent_by: String,
    sent_at: String,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<String>,
    reply: Option<String>,
}

fn reminder_line(
    state: &AppState,
    actors: &crate::app::actors::Actors,
    r: onestop_store::reminders::Reminder,
) -> ReminderLine {
    let who = |a: &str| actors.who(&state.config, a, Some(&r.unit_code)).text;
    ReminderLine {
        id: r.id,
        sent_by: who(&r.sent_by),
        sent_at: when_ms(state, r.sent_at_ms),
        acknowledged_by: r.acknowledged_by.as_deref().map(who),
        acknowledged_at: r.acknowledged_at_ms.map(|t| when_ms(state, t)),
        note: r.note,
        reply: r.reply,
    }
}

/// One action's form on the order page.
pub struct ActionForm {
    pub code: String,
    pub label: String,
    pub fields: Vec<ActionField>,
    /// For an action that cannot be undone: the sentence to tick before
    /// it is taken (its button looks destructive).
    pub confirm: Option<&'static str>,
}

pub struct ActionField {
    pub name: String,
    pub label: String,
    /// `text` or `datetime-local` (the input type).
    pub input: &'static str,
    /// A number: typed as text with a numeric keyboard (`inputmode`).
    pub numeric: bool,
    pub required: bool,
}

fn action_forms(
    state: &AppState,
    caller: &Caller,
    row: &onestop_store::work_orders::OrderRow,
) -> Vec<ActionForm> {
    use onestop_domain::workflow::FieldKind;
    let roles = crate::app::workorders::order_roles(&caller.subject, row);
    let o = &row.item.order;
    state
        .config
        .process
        .allowed_with(o.stage, o.status, &roles, &row.process_facts())
        .into_iter()
        .map(|a| ActionForm {
            code: a.code.clone(),
            label: a.label.clone(),
            fields: a
                .fields
                .iter()
                .map(|f| ActionField {
                    name: f.name.clone(),
                    label: f.label.clone(),
                    // A number is typed as text (with a numeric keyboard):
                    // a browser's number field would send nothing for
                    // "六百", where the server names the problem instead.
                    input: match f.kind {
                        FieldKind::Datetime => "datetime-local",
                        FieldKind::Number | FieldKind::Text | FieldKind::Object => "text",
                    },
                    numeric: f.kind == FieldKind::Number,
                    required: f.required,
                })
                .collect(),
            confirm: texts::confirm::get(&a.code),
        })
        .collect()
}

/// `?done=…`: what the page confirms after a form was taken.
#[derive(serde::Deserialize)]
pub(crate) struct DoneQuery {
    pub(crate) done: Option<String>,
    /// Why an upload of a material was refused (web::documents).
    pub(crate) material_error: Option<String>,
}

async fn work_order(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::ReadWorkOrders) {
        return r;
    }
    let done = done_note(
        q.done.as_deref(),
        &[
            ("survey", texts::order::SURVEY_DONE),
            ("reminder", texts::order::REMINDER_DONE),
            ("acknowledged", texts::order::ACKNOWLEDGED_DONE),
            ("cost", texts::fees::ADDED),
            ("cost_withdrawn", texts::fees::WITHDRAWN),
            crate::web::documents::DONE[0],
            crate::web::documents::DONE[1],
        ],
    )
    .or_else(|| {
        q.done
            .as_deref()
            .and_then(|d| state.config.process.action(d))
            .map(|a| texts::fill(texts::order::ACTION_DONE, &[("action", &a.label)]))
    });
    let refused = match q.material_error.as_deref() {
        Some(e) => crate::web::documents::refused_upload(Some(e)),
        None => Refused::default(),
    };
    order_page(&state, &caller, id, refused, done).await
}

async fn order_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    refused: Refused,
    done: Option<String>,
) -> Response {
    let found = match visible_order(state, caller, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let o = &found.item.order;
    let mine = caller
        .subject
        .scopes_of(Role::Operator)
        .contains(&o.unit.code.as_str());
    let csrf = caller.csrf_token();
    let actions = action_forms(state, caller, &found);
    let app = match applications::read_application(state, caller, found.item.application_id.clone())
        .await
    {
        Ok(Some(app)) => app,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let progress = match crate::web::progress::load(state, &app).await {
        Ok(p) => p,
        Err(e) => return failure_page(e),
    };
    let row = order_row_view(state, &found, progress.times.get(&o.id));
    let order = app.work_orders.iter().find(|w| w.id == o.id);
    let timeline = order.map(|w| crate::web::progress::order_timeline(state, w, &progress));
    let service = state.config.service(&o.service).map(|sv| sv.name.clone());
    let f = &app.form;
    let open_early =
        matches!(o.stage, Stage::Acceptance | Stage::Survey) && o.status == OrderStatus::Open;
    let oid = o.id.clone();
    let reminders = match state
        .store
        .read(move |c| onestop_store::reminders::of_order(c, &oid))
        .await
    {
        Ok(r) => r
            .into_iter()
            .map(|r| reminder_line(state, &progress.actors, r))
            .collect(),
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            return failure_page(e);
        }
    };
    let may_remind = caller.subject.may(Capability::Supervise)
        && matches!(o.status, OrderStatus::Open | OrderStatus::Returned);
    let may_ack = crate::app::reminders::handles(&caller.subject, &o.unit.code);
    let costs = match crate::web::fees::of_order(state, caller, o.id.clone()).await {
        Ok(c) => c,
        Err(e) => return failure_page(e),
    };
    let may_add_cost = caller.subject.operates(&o.unit.code)
        && matches!(o.status, OrderStatus::Open | OrderStatus::Returned);
    let mut papers = crate::web::documents::papers(state, caller, &app, None).await;
    papers.work_order_id = Some(o.id.clone());
    let p = WorkOrderPage {
        papers,
        may_except: caller.subject.may(Capability::ManageFeeExceptions),
        costs,
        may_add_cost,
        nav: Nav::for_caller(caller, &csrf),
        address: format!(
            "{} {}",
            district_name(state, &f.address.district_code),
            f.address.detail
        ),
        appointment: appointment(state, f.appointment_at),
        contact: mask_name(&f.contact.name),
        phone: mask_phone(&f.contact.phone),
        project_code: f.project_code.clone(),
        service_facts: service_blocks(state, &f.services)
            .into_iter()
            .filter(|b| Some(&b.name) == service.as_ref())
            .collect(),
        survey: progress.survey.as_ref().map(|s| survey_view(state, s)),
        may_propose: mine && open_early && progress.survey.is_none(),
        may_raise: mine && may_raise(caller, &app, progress.case_id.as_ref()),
        case_id: progress.case_of(&o.id).cloned(),
        chips: timeline.as_ref().map_or_else(Vec::new, |t| {
            t.chips
                .iter()
                .map(|c| crate::web::progress::StageChip {
                    label: c.label,
                    state: c.state,
                })
                .collect()
        }),
        history: order.map_or_else(Vec::new, |w| {
            crate::web::progress::order_history(state, &progress, w)
        }),
        reminders,
        may_remind,
        may_ack,
        row,
        mine,
        csrf: csrf.clone(),
        version: o.version,
        actions,
        refused,
        done,
    };
    respond(caller, &csrf, p.refused.status, &p)
}

/// The forms of the order page (staff only): the process's actions (their
/// fields come from the configured process), the survey appointment, a
/// reminder and its acknowledgement.
pub(crate) struct ActionFields;

impl PageFields for ActionFields {
    fn spec(state: &AppState) -> Spec {
        let mut spec = Spec::new().fields(&["action", "version", "confirm"]);
        let mut names: Vec<&str> = Vec::new();
        for a in &state.config.process.actions {
            for f in &a.fields {
                if !names.contains(&f.name.as_str())
                    && !["action", "version", "confirm"].contains(&f.name.as_str())
                {
                    names.push(&f.name);
                }
            }
        }
        for n in names {
            spec = spec.field(n.to_owned());
        }
        spec
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::ReadWorkOrders)
    }
}

/// Every form of the order page, posted to the page itself (`form` says
/// which: `survey`, `remind`, `ack` with its `reminder`, else the action
/// named in `action`), so that a refused form comes back at the page's own
/// address with what was typed.
pub(crate) struct OrderPageFields;

impl PageFields for OrderPageFields {
    fn spec(state: &AppState) -> Spec {
        ActionFields::spec(state).fields(&[
            "form",
            "at",
            "note",
            "reply",
            "reminder",
            "item",
            "amount",
            "payer",
            "outside_red_line",
            "cost",
        ])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::ReadWorkOrders)
    }
}

async fn work_order_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<OrderPageFields>,
) -> Response {
    let form = form.map();
    match form.get("form").map(String::as_str) {
        Some("survey") => survey_posted(&state, &caller, id, &form).await,
        Some("remind") => remind_posted(&state, &caller, id, &form).await,
        Some("ack") => {
            let rid = form.get("reminder").cloned().unwrap_or_default();
            acknowledge_posted(&state, &caller, id, rid, &form).await
        }
        Some("cost") => cost_posted(&state, &caller, id, &form).await,
        Some("withdraw_cost") => cost_withdrawn(&state, &caller, id, &form).await,
        _ => action_posted(&state, &caller, id, &form).await,
    }
}

/// A cost item added from the order page (the unit's operators): the
/// amount typed in yuan; `outside_red_line` is `yes` or `no`.
async fn cost_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: &HashMap<String, String>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str);
    let outside = match get("outside_red_line").map(str::trim) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    let draft = onestop_domain::fees::CostDraft {
        item: get("item"),
        amount: Some(onestop_domain::fees::AmountInput::Yuan(
            get("amount").unwrap_or(""),
        )),
        payer: get("payer"),
        outside_red_line: outside,
    };
    let outcome = match crate::app::fees::CostInput::parse(&draft) {
        Ok(input) => crate::app::fees::add(state, caller, id.clone(), input, None)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Redirect::to(&format!("/work-orders/{id}?done=cost#costs")).into_response(),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let label = texts::fees::ADD_FORM;
            refused(state, caller, id, "cost", label, form, e).await
        }
    }
}

/// A cost item withdrawn from the order page (the unit's operators).
async fn cost_withdrawn(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: &HashMap<String, String>,
) -> Response {
    let cost = form.get("cost").cloned().unwrap_or_default();
    match crate::app::fees::withdraw(state, caller, id.clone(), cost).await {
        Ok(()) => {
            Redirect::to(&format!("/work-orders/{id}?done=cost_withdrawn#costs")).into_response()
        }
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let label = texts::fees::WITHDRAW_FORM;
            refused(state, caller, id, "withdraw_cost", label, form, e).await
        }
    }
}

/// A one-field form of the order page, for those who read work orders.
macro_rules! order_form {
    ($name:ident, $field:literal) => {
        pub(crate) struct $name;

        impl PageFields for $name {
            fn spec(_state: &AppState) -> Spec {
                Spec::new().fields(&[$field])
            }
            fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
                gate(caller, uri, Capability::ReadWorkOrders)
            }
        }
    };
}

order_form!(SurveyFields, "at");
order_form!(RemindFields, "note");
order_form!(AcknowledgeFields, "reply");

/// The joint survey appointment proposed from an order page: the same use
/// case as the API, for the order's application.
async fn work_order_survey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<SurveyFields>,
) -> Response {
    survey_posted(&state, &caller, id, &form.map()).await
}

async fn survey_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: &HashMap<String, String>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let found = match visible_order(&state, &caller, id.clone()).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let typed = form.get("at").map(|v| v.trim()).unwrap_or("");
    let outcome =
        match crate::app::workorders::SurveyInput::from_form(typed, state.offset, state.now()) {
            Ok(input) => {
                crate::app::workorders::propose_survey(
                    &state,
                    &caller,
                    found.item.application_id,
                    input,
                )
                .await
            }
            Err(e) => Err(e),
        };
    match outcome {
        Ok(_) => Redirect::to(&format!("/work-orders/{id}?done=survey")).into_response(),
        Err(e) => {
            let kept = HashMap::from([("at".to_owned(), typed.chars().take(40).collect())]);
            let refused = Refused::of_action("survey", texts::order::SURVEY_FORM, kept, &e);
            order_page(&state, &caller, id, refused, None).await
        }
    }
}

/// A reminder sent from the order page (supervisors).
async fn work_order_remind(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<RemindFields>,
) -> Response {
    remind_posted(&state, &caller, id, &form.map()).await
}

async fn remind_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: &HashMap<String, String>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let note = form.get("note").map(String::as_str).unwrap_or_default();
    let outcome = match crate::app::reminders::ReminderInput::parse(Some(note)) {
        Ok(input) => crate::app::reminders::send(&state, &caller, id.clone(), input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/work-orders/{id}?done=reminder")).into_response(),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            refused(
                &state,
                &caller,
                id,
                "remind",
                texts::order::REMIND_FORM,
                form,
                e,
            )
            .await
        }
    }
}

/// A reminder acknowledged from the order page (the handling unit).
async fn work_order_acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, rid)): Path<(String, String)>,
    form: PageForm<AcknowledgeFields>,
) -> Response {
    acknowledge_posted(&state, &caller, id, rid, &form.map()).await
}

async fn acknowledge_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    rid: String,
    form: &HashMap<String, String>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let Ok(rid) = rid.parse::<i64>() else {
        return not_found_page();
    };
    let reply = form.get("reply").map(String::as_str).unwrap_or_default();
    let outcome = match crate::app::reminders::AcknowledgementInput::parse(Some(reply)) {
        Ok(input) => crate::app::reminders::acknowledge(&state, &caller, rid, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(r) => Redirect::to(&format!(
            "/work-orders/{}?done=acknowledged",
            r.work_order_id
        ))
        .into_response(),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let name = format!("ack-{rid}");
            let label = texts::order::ACKNOWLEDGE_FORM;
            refused(&state, &caller, id, &name, label, form, e).await
        }
    }
}

/// The order page again, with a refused form's errors, what was typed, and
/// a message naming the action (`label`) that was not taken.
async fn refused(
    state: &AppState,
    caller: &Caller,
    id: String,
    form_name: &str,
    label: &str,
    form: &HashMap<String, String>,
    e: crate::app::error::Error,
) -> Response {
    let typed = typed_back(form.iter().filter(|(k, _)| k.as_str() != "confirm"), 1000);
    let refused = Refused::of_action(form_name, label, typed, &e);
    order_page(state, caller, id, refused, None).await
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct SupervisionPage {
    nav: Nav,
    rows: Vec<OrderRowView>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

/// The supervisor's overdue list: every overdue order, the longest overdue first.
async fn supervision(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::Supervise) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let pager = Pager::parse(&q, work_orders::OrderSort::Due.order(), &mut invalid);
    let filter = OrderFilter {
        unit: None,
        stage: None,
        status: None,
        level: Some(Level::Overdue),
        at: pager.at.clone(),
        per_page: PER_PAGE,
        visibility: caller.subject.work_orders(),
        sort: work_orders::OrderSort::Due,
    };
    let found = match order_rows(&state, filter).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    render(&caller, StatusCode::OK, |nav, _| SupervisionPage {
        nav,
        next: pager.next("/supervision", &[], &found),
        rows: found.items,
        page: pager.page,
        prev: pager.prev("/supervision", &[]),
    })
}

/// An action taken from the order page: the same use case as the API.
async fn work_order_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<ActionFields>,
) -> Response {
    action_posted(&state, &caller, id, &form.map()).await
}

async fn action_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: &HashMap<String, String>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let action = form.get("action").cloned().unwrap_or_default();
    let label = state
        .config
        .process
        .action(&action)
        .map_or_else(|| action.clone(), |a| a.label.clone());
    // An action that cannot be undone is taken only once its box is ticked.
    if texts::confirm::get(&action).is_some() && form.get("confirm").is_none_or(|c| c != "yes") {
        let e = crate::app::error::Error::Invalid(vec![onestop_domain::form::FieldError {
            field: "confirm".into(),
            code: onestop_domain::form::FieldCode::Required,
            message: texts::order::CONFIRM_MISSING.into(),
        }]);
        return refused(&state, &caller, id, &action, &label, form, e).await;
    }
    let version = form
        .get("version")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let request = crate::app::workorders::ActionInput {
        data: crate::app::workorders::ActionData::from_form(
            state.config.process.action(&action),
            form,
            state.offset,
        ),
        action: action.clone(),
        version,
    };
    match crate::app::workorders::act(&state, &caller, id.clone(), request).await {
        Ok(_) => axum::response::Redirect::to(&format!("/work-orders/{id}?done={action}"))
            .into_response(),
        Err(e) => refused(&state, &caller, id, &action, &label, form, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::trim_number;

    #[test]
    fn next_keeps_slashes_and_encodes_the_rest() {
        assert_eq!(encode_next("/applications"), "/applications");
        assert_eq!(
            encode_next("/workbench?stage=survey&page=2"),
            "/workbench%3Fstage%3Dsurvey%26page%3D2"
        );
    }

    #[test]
    fn page_links_carry_the_filters() {
        assert_eq!(
            page_link("/workbench", &[("stage", ""), ("level", "")], 1),
            "/workbench"
        );
        assert_eq!(
            page_link(
                "/applications",
                &[("status", "submitted"), ("district_code", "")],
                3
            ),
            "/applications?status=submitted&page=3"
        );
    }

    #[test]
    fn numbers_lose_trailing_zeros() {
        assert_eq!(trim_number(50.0), "50");
        assert_eq!(trim_number(12.5), "12.5");
    }

    fn cursor(order: &paging::Order, keys: &str) -> paging::Cursor {
        let text = hex::encode(format!("[\"{}\",{keys}]", order.name));
        paging::Cursor::decode(&text, order).expect("a cursor")
    }

    #[test]
    fn past_the_pages_by_number_links_go_by_cursor() {
        let order = &onestop_store::notifications::ORDER;
        let q = |pairs: &[(&str, String)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        let mut invalid = false;
        let last = Pager::parse(&q(&[("page", "100".into())]), order, &mut invalid);
        assert!(!invalid);
        assert_eq!(last.at, PageAt::Number(100));
        let page = paging::Page::<()> {
            items: Vec::new(),
            next_page: None,
            next_cursor: Some(cursor(order, "[41]")),
        };
        let next = last.next("/x", &[("s", "a")], &page).expect("a next link");
        let text = cursor(order, "[41]").encode();
        assert_eq!(next, format!("/x?s=a&page=101&cursor={text}"));
        let deeper = Pager::parse(
            &q(&[("page", "101".into()), ("cursor", text.clone())]),
            order,
            &mut invalid,
        );
        assert!(!invalid);
        assert_eq!(deeper.page, 101);
        assert_eq!(deeper.at, PageAt::After(cursor(order, "[41]")));
        assert_eq!(deeper.prev("/x", &[]).as_deref(), Some("/x?page=100"));
        let further = Pager::parse(
            &q(&[("page", "102".into()), ("cursor", text)]),
            order,
            &mut invalid,
        );
        assert_eq!(further.prev("/x", &[]), None);
        let refused = Pager::parse(&q(&[("page", "101".into())]), order, &mut invalid);
        assert!(invalid);
        assert_eq!((refused.page, refused.at), (1, PageAt::Number(1)));
    }
}
