//! The parallel approval pages (并联审批): a department's inbox, one case
//! with its consolidated opinion sheet (附表4) and the forms on it (decide an
//! item; revise and resubmit a rejected case), and the form a utility raises
//! a case with, optionally signing the notification-commitment (附表3).
//!
//! Each form calls the same use case as the API (`crate::app::approvals`), so
//! the pages can never allow what the API refuses.

use crate::AppState;
use crate::app::actors::Actors;
use crate::app::approvals::{self, FullCase};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::texts;
use crate::web::Failure;
use crate::web::deadline::TimeView;
use crate::web::form::{PageFields, PageForm, Refused, Spec, typed_back};
use crate::web::staff::{
    DoneQuery, Opt, PER_PAGE, Pager, district_name, gate, iso, options, order_service, parse_opt,
    query_map, unit_name, when, when_ms as at,
};
use crate::web::{
    Nav, done_note, error_page, failure_page, filters_notice, list, not_found_page, render, respond,
};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::{Capability, Role};
use onestop_domain::application::{Application, OrderStatus, Stage};
use onestop_domain::approval::{COMMITMENTS, CONFIRMATION, ItemStatus};
use onestop_domain::config::{CityConfig, UnitKind};
use onestop_domain::timefmt;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(inbox))
        .route("/approval-cases/{id}", get(case_page).post(case_post))
        .route(
            "/approval-cases/{id}/decision",
            axum::routing::post(post_decision),
        )
        .route(
            "/approval-cases/{id}/resubmission",
            axum::routing::post(post_resubmission),
        )
        .route(
            "/applications/{id}/approval-case",
            get(raise_page).post(post_raise),
        )
}

fn at_iso(state: &AppState, ms: i64) -> String {
    iso(state, timefmt::from_ms(ms, state.offset))
}

/// Who signed, by name (never the login): the department is beside it on
/// the sheet; the commitment's automatic approval reads as such.
fn signer(config: &CityConfig, actors: &Actors, by: &str) -> String {
    if by == "system:commitment" {
        return texts::approvals::COMMITMENT_SIGNER.to_owned();
    }
    actors.who(config, by, None).name
}

/// `2026-11-23` → `2026年11月23日` (a stored date for people; anything
/// else as it is).
fn date_text(d: &str) -> String {
    timefmt::parse_date(d).map_or_else(|| d.to_owned(), crate::web::date_zh)
}

/// A case's works dates for people: one day, or a range.
fn dates_text(from: &str, to: &str) -> String {
    if from == to {
        date_text(from)
    } else {
        texts::fill(
            texts::common::DATE_RANGE,
            &[("from", &date_text(from)), ("to", &date_text(to))],
        )
    }
}

/// A department's decision on one item of a case (`confirm` ticked to
/// reject).
struct DecisionFields;

impl PageFields for DecisionFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["item_id", "decision", "opinion", "version", "confirm"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::DecideApprovals)
    }
}

/// The works utility's resubmission after a rejection.
struct ResubmissionFields;

impl PageFields for ResubmissionFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["note", "place", "from", "to", "version"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::ReadWorkOrders)
    }
}

/// Both forms of the case page, posted to the page itself (`form` says
/// which: `decide` or `resubmit`), so that a refused form comes back at the
/// page's own address.
struct CaseFields;

impl PageFields for CaseFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&[
            "form", "item_id", "decision", "opinion", "version", "confirm", "note", "place",
            "from", "to",
        ])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::ReadApplications)
    }
}

async fn case_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<CaseFields>,
) -> Response {
    let form = form.map();
    match form.get("form").map(String::as_str) {
        Some("resubmit") => resubmission_posted(&state, &caller, id, form).await,
        _ => decision_posted(&state, &caller, id, form).await,
    }
}

/// Raising a case: the works (one box per waiting order), the departments
/// concerned (one box per configured department, `involved`; the former
/// form's `not_applicable` boxes are still read), and the commitment.
struct RaiseFields;

impl PageFields for RaiseFields {
    fn spec(state: &AppState) -> Spec {
        let departments = state
            .config
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Department)
            .count();
        Spec::new()
            .many("works", MAX_CASE_WORKS)
            .many("not_applicable", departments)
            .many("involved", departments)
            .fields(&[
                "departments",
                "place",
                "from",
                "to",
                "sign",
                "commitment.signed_by",
                "commitment.unit",
                "commitment.signed_at",
                "commitment.confirmation",
            ])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri, Capability::ReadWorkOrders)
    }
}

/// Works one case may list (the validator's own limit).
const MAX_CASE_WORKS: usize = 20;

// ───────────────────────────── the inbox ─────────────────────────────

struct InboxRowView {
    case_id: String,
    application_number: String,
    enterprise: String,
    district: String,
    department: String,
    place: String,
    dates: String,
    round: i64,
    status_code: &'static str,
    status: &'static str,
    commitment: bool,
    /// The deadline (pending) or the signed time (decided).
    time: String,
    time_iso: String,
    pending: bool,
    overdue: bool,
    /// A pending item's time left or overdue.
    left: Option<TimeView>,
}

#[derive(Template)]
#[template(path = "approvals_inbox.html")]
struct InboxPage {
    nav: Nav,
    departments: String,
    rows: Vec<InboxRowView>,
    statuses: Vec<Opt>,
    filtered: bool,
    notice: Option<String>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::DecideApprovals) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let status = parse_opt(&q, "status", ItemStatus::parse, &mut invalid);
    let pager = Pager::parse(&q, &onestop_store::approvals::INBOX_ORDER, &mut invalid);
    let found = match approvals::inbox(&state, &caller, status, pager.at.clone(), PER_PAGE).await {
        Ok(r) => r,
        Err(e) => return failure_page(e),
    };
    let now = state.now();
    let code = status.map_or("", |s| s.as_str());
    let next = pager.next("/approvals", &[("status", code)], &found);
    let rows = found
        .items
        .into_iter()
        .map(|r| {
            let pending = r.item.status == ItemStatus::Pending;
            let time = if pending {
                Some(r.item.due_at.clone())
            } else {
                r.item.decided_at.clone()
            };
            let t = time.as_deref().and_then(timefmt::parse);
            InboxRowView {
                case_id: r.case_id,
                application_number: r.application_number,
                enterprise: r.applicant_name,
                district: district_name(&state, &r.district_code),
                department: r.item.department.name.clone(),
                place: r.place,
                dates: dates_text(&r.from, &r.to),
                round: r.item.round,
                status_code: r.item.status.as_str(),
                status: r.item.status.label_zh(),
                commitment: r.commitment,
                time: t.map(|t| when(&state, t)).unwrap_or_default(),
                time_iso: t.map(|t| iso(&state, t)).unwrap_or_default(),
                pending,
                overdue: pending && t.is_some_and(|t| t < now),
                left: t
                    .filter(|_| pending)
                    .and_then(|t| crate::web::deadline::approval(&state, timefmt::to_ms(t))),
            }
        })
        .collect();
    let csrf = caller.csrf_token();
    let mine = approvals::departments(&caller.subject);
    let p = InboxPage {
        nav: Nav::for_caller(&caller, &csrf),
        departments: list(mine.iter().map(|d| unit_name(&state, d))),
        rows,
        statuses: options(
            [
                ItemStatus::Pending,
                ItemStatus::Approved,
                ItemStatus::Rejected,
            ]
            .iter()
            .map(|s| (s.as_str(), s.label_zh())),
            code,
        ),
        filtered: status.is_some(),
        notice: filters_notice(invalid),
        page: pager.page,
        prev: pager.prev("/approvals", &[("status", code)]),
        next,
    };
    respond(&caller, &csrf, StatusCode::OK, &p)
}

// ───────────────────────────── one case ─────────────────────────────

struct SheetLine {
    department: String,
    required: bool,
    status_code: &'static str,
    status: &'static str,
    automatic: bool,
    opinion: String,
    signer: String,
    signed: String,
    signed_iso: String,
    due: String,
    /// A pending item's time left or overdue.
    left: Option<TimeView>,
}

struct HistoryLine {
    round: i64,
    department: String,
    decision_code: &'static str,
    decision: &'static str,
    opinion: String,
    signer: String,
    signed: String,
    signed_iso: String,
}

struct RevisionLine {
    round: i64,
    note: String,
    by: String,
    at: String,
}

struct WorkLine {
    id: String,
    service: String,
    unit: String,
    /// Where the order stands (待审批, 待施工, …).
    state: &'static str,
    /// What the survey or design found: the works' length, route, design.
    length: Option<String>,
    route: Option<String>,
    design: Option<String>,
}

/// The last survey or design of an order that measured its external works:
/// (length, route, design).
fn works_found(
    events: &[onestop_store::applications::Event],
    order: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    let text = |d: &serde_json::Value, k: &str| {
        d.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    events
        .iter()
        .rev()
        .filter(|e| e.work_order_id.as_deref() == Some(order))
        .map(|e| e.data.get("data").unwrap_or(&e.data))
        .find_map(|d| {
            let m = d
                .get("external_works_m")
                .and_then(serde_json::Value::as_f64)?;
            Some((
                Some(texts::fill(
                    texts::approvals::WORKS_LENGTH,
                    &[("m", &crate::web::trim_number(m))],
                )),
                text(d, "route"),
                text(d, "design"),
            ))
        })
        .unwrap_or((None, None, None))
}

/// A decision form for one of the caller's pending items.
struct DecideForm {
    item_id: String,
    department: String,
    version: i64,
}

struct CommitmentView {
    signed_by: String,
    unit: String,
    signed_at: String,
}

#[derive(Template)]
#[template(path = "approval_case.html")]
struct CasePage {
    nav: Nav,
    csrf: String,
    id: String,
    application_id: String,
    application_number: String,
    enterprise: String,
    district: String,
    place: String,
    /// The works' dates for people.
    dates: String,
    /// The works' dates as stored (the resubmission form's values).
    from: String,
    to: String,
    raised_by: String,
    status_code: &'static str,
    status: &'static str,
    round: i64,
    due: String,
    due_iso: String,
    level_code: &'static str,
    level: &'static str,
    /// While the case is pending: its time left or overdue.
    left: Option<TimeView>,
    version: i64,
    commitment: Option<CommitmentView>,
    commitments: [&'static str; 4],
    works: Vec<WorkLine>,
    sheet: Vec<SheetLine>,
    history: Vec<HistoryLine>,
    revisions: Vec<RevisionLine>,
    decide: Vec<DecideForm>,
    resubmit: bool,
    /// The form that was refused (`decide:<item>` or `resubmit`).
    refused: Refused,
    done: Option<String>,
    /// The sentence ticked to disagree.
    reject_confirm: &'static str,
    /// The application's documents and materials, with the case's PDFs.
    papers: crate::web::documents::PapersView,
}

impl CasePage {
    /// For the resubmission form: what was typed, else the case's value.
    fn typed_or<'a>(&'a self, field: &str, current: &'a str) -> &'a str {
        if self.refused.form == "resubmit" {
            self.refused.typed("resubmit", field)
        } else {
            current
        }
    }
    fn chose(&self, form: &str, value: &str) -> bool {
        self.refused.form == form && self.refused.typed(form, "decision") == value
    }
}

async fn case_page(
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
            ("decision", texts::approvals::DECISION_DONE),
            ("resubmission", texts::approvals::RESUBMISSION_DONE),
            ("raised", texts::approvals::RAISED_DONE),
            crate::web::documents::DONE[0],
            crate::web::documents::DONE[1],
        ],
    );
    let refused = match q.material_error.as_deref() {
        Some(e) => crate::web::documents::refused_upload(Some(e)),
        None => Refused::default(),
    };
    render_case(&state, &caller, id, refused, done).await
}

async fn render_case(
    state: &AppState,
    caller: &Caller,
    id: String,
    refused: Refused,
    done: Option<String>,
) -> Response {
    let (app, full) = match approvals::read_case(state, caller, id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let resubmit = approvals::may_resubmit(caller, &app, &full.case);
    let events = match crate::web::progress::load(state, &app).await {
        Ok(p) => p.events,
        Err(e) => return failure_page(e),
    };
    let mine = approvals::departments(&caller.subject);
    let papers = crate::web::documents::papers(
        state,
        caller,
        &app,
        Some((&full.case.id, full.case.commitment.is_some())),
    )
    .await;
    let FullCase {
        case,
        decisions,
        revisions,
    } = full;
    let named: Vec<String> = case
        .items
        .iter()
        .filter_map(|i| i.decided_by.clone())
        .chain(decisions.iter().map(|d| d.decided_by.clone()))
        .chain(revisions.iter().map(|r| r.revised_by.clone()))
        .collect();
    let actors = match Actors::read(state, named).await {
        Ok(a) => a,
        Err(e) => return failure_page(e),
    };
    let commitment = case
        .commitment
        .as_deref()
        .and_then(|c| serde_json::from_str::<onestop_domain::approval::Commitment>(c).ok())
        .map(|c| CommitmentView {
            signed_by: c.signed_by,
            unit: c.unit,
            signed_at: date_text(&c.signed_at),
        });
    let works = app
        .work_orders
        .iter()
        .filter(|o| case.works.contains(&o.id))
        .map(|o| {
            let (length, route, design) = works_found(&events, &o.id);
            WorkLine {
                id: o.id.clone(),
                service: order_service(state, &o.service, o.carrier.as_deref()),
                unit: o.unit.name.clone(),
                state: onestop_domain::application::order_state_zh(o.stage, o.status),
                length,
                route,
                design,
            }
        })
        .collect();
    let decide = case
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Pending && mine.contains(&i.department))
        .map(|i| DecideForm {
            item_id: i.id.clone(),
            department: unit_name(state, &i.department),
            version: i.version,
        })
        .collect();
    let sheet = case
        .items
        .iter()
        .map(|i| SheetLine {
            department: unit_name(state, &i.department),
            required: i.required,
            status_code: i.status.as_str(),
            status: i.status.label_zh(),
            automatic: i.automatic,
            opinion: i.opinion.clone().unwrap_or_default(),
            signer: match (i.decided_by.as_deref(), &commitment) {
                (Some("system:commitment"), Some(c)) => texts::fill(
                    texts::approvals::COMMITMENT_SIGNED_BY,
                    &[("name", &c.signed_by), ("unit", &c.unit)],
                ),
                (by, _) => by
                    .map(|b| signer(&state.config, &actors, b))
                    .unwrap_or_default(),
            },
            signed: i.decided_at_ms.map(|t| at(state, t)).unwrap_or_default(),
            signed_iso: i
                .decided_at_ms
                .map(|t| at_iso(state, t))
                .unwrap_or_default(),
            due: if crate::app::approvals::provisional_item(state, i.status, i.due_at_ms) {
                format!(
                    "{}{}",
                    at(state, i.due_at_ms),
                    texts::calendar::PROVISIONAL_DUE
                )
            } else {
                at(state, i.due_at_ms)
            },
            left: (i.required && i.status == ItemStatus::Pending)
                .then(|| crate::web::deadline::approval(state, i.due_at_ms))
                .flatten(),
        })
        .collect();
    let history = decisions
        .iter()
        .map(|d| HistoryLine {
            round: d.round,
            department: unit_name(state, &d.department),
            decision_code: d.status.as_str(),
            decision: d.status.label_zh(),
            opinion: d.opinion.clone(),
            signer: signer(&state.config, &actors, &d.decided_by),
            signed: at(state, d.decided_at_ms),
            signed_iso: at_iso(state, d.decided_at_ms),
        })
        .collect();
    let revisions = revisions
        .iter()
        .map(|r| RevisionLine {
            round: r.round,
            note: r.note.clone(),
            by: actors.who(&state.config, &r.revised_by, None).text,
            at: at(state, r.revised_at_ms),
        })
        .collect();
    render(caller, refused.status, |nav, csrf| CasePage {
        nav,
        csrf,
        id: case.id.clone(),
        application_id: app.id.clone(),
        application_number: app.number.clone(),
        enterprise: app.form.applicant.name.clone(),
        district: district_name(state, &app.form.address.district_code),
        place: case.place.clone(),
        dates: dates_text(&case.from_date, &case.to_date),
        from: case.from_date.clone(),
        to: case.to_date.clone(),
        raised_by: unit_name(state, &case.raised_by_unit),
        status_code: case.status.as_str(),
        status: case.status.label_zh(),
        round: case.round,
        due: at(state, case.due_at_ms),
        due_iso: at_iso(state, case.due_at_ms),
        level_code: crate::app::approvals::case_level(&case.items).as_str(),
        level: crate::app::approvals::case_level(&case.items).label_zh(),
        left: (case.status == onestop_domain::approval::CaseStatus::Pending)
            .then(|| crate::web::deadline::approval(state, case.due_at_ms))
            .flatten(),
        version: case.version,
        commitment,
        commitments: COMMITMENTS,
        works,
        sheet,
        history,
        revisions,
        decide,
        resubmit,
        refused,
        done,
        reject_confirm: texts::confirm::REJECT_APPROVAL,
        papers,
    })
}

/// The case page again, with a refused form's errors, what was typed, and
/// a message naming the action (`label`) that was not taken.
async fn refused(
    state: &AppState,
    caller: &Caller,
    id: String,
    form_name: String,
    label: &str,
    form: &HashMap<String, String>,
    e: crate::app::error::Error,
) -> Response {
    let typed = typed_back(form.iter().filter(|(k, _)| k.as_str() != "confirm"), 2000);
    let refused = Refused::of_action(form_name, label, typed, &e);
    render_case(state, caller, id, refused, None).await
}

async fn post_decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<DecisionFields>,
) -> Response {
    decision_posted(&state, &caller, id, form.map()).await
}

/// A refusal of the page's own (`field`: the problem beside it).
fn field_refusal(field: &str, message: &str) -> crate::app::error::Error {
    crate::app::error::Error::Invalid(vec![onestop_domain::form::FieldError {
        field: field.into(),
        code: onestop_domain::form::FieldCode::Required,
        message: message.into(),
    }])
}

async fn decision_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: HashMap<String, String>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let item = form.get("item_id").cloned().unwrap_or_default();
    if item.len() > 64 || id.len() > 64 {
        return not_found_page();
    }
    let mut body = serde_json::Map::new();
    if let Some(d) = form.get("decision").filter(|d| !d.is_empty()) {
        body.insert("decision".into(), d.clone().into());
    }
    if let Some(o) = form.get("opinion") {
        body.insert("opinion".into(), o.clone().into());
    }
    if let Some(v) = form.get("version").and_then(|v| v.parse::<i64>().ok()) {
        body.insert("version".into(), v.into());
    }
    // Not agreeing sends the works back: taken only once its box is ticked.
    let rejecting = form.get("decision").is_some_and(|d| d == "reject");
    let confirmed = form.get("confirm").is_some_and(|c| c == "yes");
    let outcome = match approvals::DecisionInput::from_json(&body) {
        Ok(_) if rejecting && !confirmed => {
            Err(field_refusal("confirm", texts::order::CONFIRM_MISSING))
        }
        Ok(input) => approvals::decide(&state, &caller, item.clone(), input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/approval-cases/{id}?done=decision")).into_response(),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let name = format!("decide:{item}");
            refused(
                &state,
                &caller,
                id,
                name,
                texts::approvals::DECIDE_FORM,
                &form,
                e,
            )
            .await
        }
    }
}

async fn post_resubmission(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<ResubmissionFields>,
) -> Response {
    resubmission_posted(&state, &caller, id, form.map()).await
}

async fn resubmission_posted(
    state: &AppState,
    caller: &Caller,
    id: String,
    form: HashMap<String, String>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let mut body = serde_json::Map::new();
    for name in ["note", "place", "from", "to"] {
        if let Some(v) = form.get(name) {
            body.insert(name.into(), v.clone().into());
        }
    }
    if let Some(v) = form.get("version").and_then(|v| v.parse::<i64>().ok()) {
        body.insert("version".into(), v.into());
    }
    let outcome = match approvals::RevisionInput::from_json(&body) {
        Ok(input) => approvals::resubmit(&state, &caller, id.clone(), input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/approval-cases/{id}?done=resubmission")).into_response(),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let label = texts::approvals::RESUBMIT_FORM;
            refused(&state, &caller, id, "resubmit".into(), label, &form, e).await
        }
    }
}

// ───────────────────────────── raising a case ─────────────────────────────

struct WorkChoice {
    id: String,
    label: String,
    checked: bool,
}

struct DepartmentChoice {
    code: String,
    name: String,
    accepts_commitment: bool,
    /// Ticked: the works concern this department.
    involved: bool,
}

#[derive(Template)]
#[template(path = "approval_raise.html")]
struct RaisePage {
    nav: Nav,
    csrf: String,
    application_id: String,
    application_number: String,
    enterprise: String,
    works: Vec<WorkChoice>,
    departments: Vec<DepartmentChoice>,
    commitments: [&'static str; 4],
    confirmation: &'static str,
    today: String,
    sign: bool,
    /// The raise just refused (the page's one form, `raise`).
    refused: Refused,
}

impl RaisePage {
    fn err(&self, field: &str) -> Option<&str> {
        self.refused.err("raise", field)
    }
    fn typed(&self, field: &str) -> &str {
        self.refused.typed("raise", field)
    }
    /// The first error among the works (`works`, `works.0`, …).
    fn works_err(&self) -> Option<&str> {
        self.refused
            .errors
            .iter()
            .find(|(k, _)| *k == "works" || k.starts_with("works."))
            .map(|(_, v)| v.as_str())
    }
    fn departments_err(&self) -> Option<&str> {
        self.refused
            .errors
            .iter()
            .find(|(k, _)| k.starts_with("not_applicable") || k.starts_with("involved"))
            .map(|(_, v)| v.as_str())
    }
}

/// The application's orders waiting on a case, and whether the caller runs
/// one of them; `None` when it has a case already.
async fn raise_context(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<Option<(Application, Option<String>)>, ApiError> {
    let Some(app) = crate::app::applications::read_application(state, caller, id).await? else {
        return Ok(None);
    };
    let app_id = app.id.clone();
    let existing = state
        .store
        .read(move |c| onestop_store::approvals::by_application(c, &app_id))
        .await?
        .map(|c| c.id);
    Ok(Some((app, existing)))
}

fn waiting(app: &Application) -> impl Iterator<Item = &onestop_domain::application::WorkOrder> {
    app.work_orders
        .iter()
        .filter(|o| o.stage == Stage::Approval && o.status == OrderStatus::Open)
}

fn raise_view(
    state: &AppState,
    caller: &Caller,
    app: &Application,
    chosen: Option<(&[String], &[String], bool)>,
    refused: Refused,
) -> RaisePage {
    let csrf = caller.csrf_token();
    RaisePage {
        nav: Nav::for_caller(caller, &csrf),
        csrf,
        application_id: app.id.clone(),
        application_number: app.number.clone(),
        enterprise: app.form.applicant.name.clone(),
        works: waiting(app)
            .map(|o| WorkChoice {
                id: o.id.clone(),
                label: texts::fill(
                    texts::approvals::WORK_CHOICE,
                    &[
                        (
                            "service",
                            &order_service(state, &o.service, o.carrier.as_deref()),
                        ),
                        ("unit", &o.unit.name),
                    ],
                ),
                checked: chosen.is_none_or(|(w, _, _)| w.contains(&o.id)),
            })
            .collect(),
        departments: state
            .config
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Department)
            .map(|u| DepartmentChoice {
                code: u.code.clone(),
                name: u.name.clone(),
                accepts_commitment: u.accepts_commitment,
                involved: chosen.is_some_and(|(_, n, _)| !n.contains(&u.code)),
            })
            .collect(),
        commitments: COMMITMENTS,
        confirmation: CONFIRMATION,
        today: state.now().date().to_string(),
        sign: chosen.is_some_and(|(_, _, s)| s),
        refused,
    }
}

fn operator_of_any(caller: &Caller, app: &Application) -> bool {
    let own = caller.subject.scopes_of(Role::Operator);
    waiting(app).any(|o| own.contains(&o.unit.code.as_str()))
}

async fn raise_page(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::ReadWorkOrders) {
        return r;
    }
    if id.len() > 64 {
        return not_found_page();
    }
    let (app, existing) = match raise_context(&state, &caller, id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    if let Some(case) = existing {
        return Redirect::to(&format!("/approval-cases/{case}")).into_response();
    }
    if !operator_of_any(&caller, &app) {
        return error_page(StatusCode::FORBIDDEN, texts::approvals::RAISE_FORBIDDEN);
    }
    let p = raise_view(&state, &caller, &app, None, Refused::default());
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::OK, &p)
}

async fn post_raise(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<RaiseFields>,
) -> Response {
    let pairs = form.pairs();
    let one = |name: &str| form.get(name).map(|v| v.trim().to_owned());
    if id.len() > 64 {
        return not_found_page();
    }
    let many = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let works = many("works");
    // The departments concerned are ticked; the others are not concerned.
    let by_involved = one("departments").is_some_and(|d| d == "involved");
    let involved = many("involved");
    let not_applicable: Vec<String> = if by_involved {
        state
            .config
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Department && !involved.contains(&u.code))
            .map(|u| u.code.clone())
            .collect()
    } else {
        many("not_applicable")
    };
    let sign = one("sign").is_some();
    let mut body = serde_json::json!({
        "works": works,
        "not_applicable": not_applicable,
        "place": one("place").unwrap_or_default(),
        "from": one("from").unwrap_or_default(),
        "to": one("to").unwrap_or_default(),
    });
    if sign {
        body["commitment"] = serde_json::json!({
            "signed_by": one("commitment.signed_by").unwrap_or_default(),
            "unit": one("commitment.unit").unwrap_or_default(),
            "signed_at": one("commitment.signed_at").unwrap_or_default(),
            "confirmation": one("commitment.confirmation").unwrap_or_default(),
        });
    }
    let today = state.now().date();
    let outcome = match onestop_domain::approval::check_case(&body, &state.config, today) {
        Ok(_) if by_involved && involved.is_empty() => {
            Err(field_refusal("involved", texts::approvals::NONE_INVOLVED))
        }
        Ok(input) => approvals::raise(&state, &caller, id.clone(), input).await,
        Err(fields) => Err(crate::app::error::Error::Invalid(fields)),
    };
    match outcome {
        Ok(case) => {
            Redirect::to(&format!("/approval-cases/{}?done=raised", case.id)).into_response()
        }
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(),
        Err(e) => {
            let (app, existing) = match raise_context(&state, &caller, id).await {
                Ok(Some(found)) => found,
                Ok(None) => return not_found_page(),
                Err(e) => return failure_page(e),
            };
            if let Some(case) = existing {
                return Redirect::to(&format!("/approval-cases/{case}")).into_response();
            }
            let typed = typed_back(
                pairs
                    .iter()
                    .filter(|(k, _)| k != "works" && k != "not_applicable" && k != "involved")
                    .map(|(k, v)| (k, v)),
                1000,
            );
            let p = raise_view(
                &state,
                &caller,
                &app,
                Some((&works, &not_applicable, sign)),
                Refused::of_action("raise", texts::approvals::RAISE_FORM, typed, &e),
            );
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, e.status(), &p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_read_as_names_never_logins() {
        let config = CityConfig::default_city();
        let none = Actors::default();
        assert_eq!(signer(&config, &none, "account:jj1"), "平台用户");
        assert_eq!(
            signer(&config, &none, "api_key:交警系统"),
            "交警系统（系统接口）"
        );
        assert_eq!(
            signer(&config, &none, "system:commitment"),
            "告知承诺制自动办结"
        );
    }

    #[test]
    fn works_dates_read_for_people() {
        assert_eq!(dates_text("2026-11-23", "2026-11-23"), "2026年11月23日");
        assert_eq!(
            dates_text("2026-11-23", "2026-11-27"),
            "2026年11月23日 至 2026年11月27日"
        );
        assert_eq!(date_text("不是日期"), "不是日期");
    }

    #[test]
    fn statuses_of_cases_have_labels() {
        use onestop_domain::approval::CaseStatus;
        assert_eq!(CaseStatus::Rejected.label_zh(), "未通过");
    }
}
