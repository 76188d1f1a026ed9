//! The clerk's one-window workspace (`/counter`, 一窗受理), at phone and
//! desk width: find a customer (application number, USCC, contact phone,
//! utility account number), log a consultation and pass it on for a
//! follow-up, record a rating given at the window, run the hall's queue,
//! and go on to file (`/apply`), follow up (`/applications`) or take a
//! payment (`/counter/billing`); and the printable answer to a status
//! query (`/counter/status/{id}`).
//!
//! Every form posts to `/counter` itself (`form` says which); a refused one
//! comes back with each field's problem beside it and what was typed, a
//! taken one redirects (POST-redirect-GET) with a confirmation.

use crate::AppState;
use crate::app::counter::{self as counter, CounterSearch, TicketView};
use crate::app::error::Error;
use crate::auth::Caller;
use crate::texts;
use crate::texts::counter_page as t;
use crate::web::deadline::TimeView;
use crate::web::form::{PageFields, PageForm, Refused, Spec, typed_back};
use crate::web::staff::{Opt, encode_next, query_map, service_name, unit_name, when_ms};
use crate::web::{Nav, done_note, failure_page, list, not_found_page, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::application::OrderStatus;
use onestop_domain::config::UnitKind;
use onestop_domain::counter::{
    BusinessKind, ConsultationDraft, FollowUpStatus, RatingDraft, RatingLevel, RatingSubject,
    TicketStatus, validate_consultation, validate_counter,
};
use onestop_domain::form::{FieldCode, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/counter", get(workspace).post(workspace_post))
        .route("/counter/status/{id}", get(status_answer))
}

/// The page gate: a hall's clerks only.
fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
    crate::web::staff::gate(caller, uri, Capability::WorkCounter)
}

/// Time of day in city time, for today's lists: `09:05`.
fn clock_time(state: &AppState, ms: i64) -> String {
    let t = onestop_domain::timefmt::from_ms(ms, state.offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// One of today's consultations, as the workspace lists it.
struct ConsultationRow {
    id: String,
    at: String,
    services: String,
    topic: String,
    answer: String,
    /// Who asked, as far as they said (the phone masked).
    customer: String,
    follow_up: Option<FollowUpLine>,
    /// The rating given at the window for it, if any.
    rated: Option<&'static str>,
    /// Its rating form was the one refused: open, with the problem.
    rate_open: bool,
    rate_error: Option<String>,
}

/// A follow-up as a list shows it: who owes it, its time or its answer.
pub(crate) struct FollowUpLine {
    pub(crate) unit: String,
    pub(crate) status: &'static str,
    pub(crate) open: bool,
    pub(crate) due: String,
    pub(crate) level_code: &'static str,
    pub(crate) time: TimeView,
    pub(crate) response: Option<String>,
    pub(crate) answered: Option<String>,
}

/// A follow-up for the pages: while open, its deadline and the working
/// time left or overdue; once answered, when (late or not) and the answer.
pub(crate) fn follow_up_line(
    state: &AppState,
    f: &onestop_store::follow_ups::FollowUp,
) -> FollowUpLine {
    let open = f.status == FollowUpStatus::Open;
    let time = match crate::app::follow_ups::standing(state, f) {
        Some(s) => crate::web::deadline::running(
            s,
            f.level.as_str(),
            crate::app::deadlines::day_seconds(state),
        ),
        None => TimeView {
            text: String::new(),
            bar: None,
            class: f.level.as_str(),
            running: open,
        },
    };
    FollowUpLine {
        unit: unit_name(state, &f.unit_code),
        status: f.status.label_zh(),
        open,
        due: when_ms(state, f.due_at_ms),
        level_code: f.level.as_str(),
        time,
        response: f.response.clone(),
        answered: f.answered_at_ms.map(|at| {
            let when = when_ms(state, at);
            if f.late == Some(true) {
                texts::fill(t::ANSWERED_LATE, &[("at", &when)])
            } else {
                texts::fill(t::ANSWERED, &[("at", &when)])
            }
        }),
    }
}

/// An application a search found, as a status (no personal data).
struct FoundRow {
    id: String,
    number: String,
    enterprise: String,
    channel: &'static str,
    status: &'static str,
    submitted: String,
    /// Filed at this hall: its page is open to the clerk.
    ours: bool,
}

/// A ticket on the workspace.
struct TicketRow {
    id: String,
    label: String,
    kind: &'static str,
    waited: String,
    counter: Option<i64>,
}

fn ticket_row(v: &TicketView) -> TicketRow {
    TicketRow {
        id: v.id.clone(),
        label: v.label.clone(),
        kind: v.kind.label_zh(),
        waited: texts::fill(t::MINUTES, &[("n", &v.waited_minutes)]),
        counter: v.counter,
    }
}

#[derive(Template)]
#[template(path = "counter.html")]
struct WorkspacePage {
    nav: Nav,
    csrf: String,
    hall: String,
    hall_name: String,
    /// The clerk's halls when there are several (to switch).
    halls: Vec<Opt>,
    /// The search as typed, and what it found.
    term: String,
    searched: bool,
    search_note: Option<String>,
    found: Vec<FoundRow>,
    /// An account number searched: its holders (the billing connector's).
    account: Option<String>,
    accounts: Vec<counter::AccountHit>,
    /// The consultation form's choices.
    services: Vec<Opt>,
    units: Vec<Opt>,
    kinds: Vec<Opt>,
    levels: Vec<Opt>,
    /// Today's consultations, the latest first.
    consultations: Vec<ConsultationRow>,
    /// The queue now.
    waiting: Vec<TicketRow>,
    serving: Vec<TicketRow>,
    taken: i64,
    served: i64,
    average_wait: Option<String>,
    average_service: Option<String>,
    refused: Refused,
    done: Option<String>,
    /// Services chosen on a refused consultation form.
    chosen: Vec<String>,
    follow_up_asked: bool,
}

impl WorkspacePage {
    fn chose(&self, service: &str) -> bool {
        self.chosen.iter().any(|s| s == service)
    }
}

/// The workspace's confirmations (`?done=…`).
const DONE: &[(&str, &str)] = &[
    ("consultation", t::DONE_CONSULTATION),
    ("follow_up", t::DONE_FOLLOW_UP),
    ("ticket", t::DONE_TICKET),
    ("called", t::DONE_CALLED),
    ("nobody", t::DONE_NOBODY),
    ("served", t::DONE_SERVED),
    ("missed", t::DONE_MISSED),
    ("rated", t::DONE_RATED),
    ("rated_follow_up", t::DONE_RATED_FOLLOW_UP),
];

/// The hall of this request: the one asked for if it is the clerk's, else
/// their first.
fn hall_of(caller: &Caller, asked: Option<&str>) -> Option<String> {
    let halls = counter::halls_of(caller);
    match asked.filter(|h| halls.iter().any(|x| x == h)) {
        Some(h) => Some(h.to_owned()),
        None => halls.into_iter().next(),
    }
}

async fn workspace(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let Some(hall) = hall_of(&caller, q.get("hall").map(String::as_str)) else {
        return not_found_page();
    };
    let term: String = q
        .get("q")
        .map(|t| t.chars().take(40).collect())
        .unwrap_or_default();
    let done = done_note(q.get("done").map(String::as_str), DONE);
    page(&state, &caller, hall, term, Refused::default(), done).await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    hall: String,
    term: String,
    refused: Refused,
    done: Option<String>,
) -> Response {
    let mut search_note = None;
    let mut found = Vec::new();
    let mut account = None;
    let mut accounts = Vec::new();
    let searched = !term.trim().is_empty();
    if searched {
        match CounterSearch::parse(&term) {
            None => search_note = Some(t::SEARCH_UNREADABLE.to_owned()),
            Some(s) => match counter::search(state, caller, &s).await {
                Ok(f) => {
                    found = f
                        .applications
                        .iter()
                        .map(|a| FoundRow {
                            id: a.id.clone(),
                            number: a.number.clone(),
                            enterprise: a.form.applicant.name.clone(),
                            channel: a.form.channel.label_zh(),
                            status: a.status.label_zh(),
                            submitted: crate::web::staff::when(state, a.submitted_at),
                            ours: a.form.hall_id.as_deref() == Some(hall.as_str()),
                        })
                        .collect();
                    accounts = f.accounts;
                    if let CounterSearch::Account(n) = &s {
                        account = Some(n.clone());
                    }
                }
                Err(e) => return failure_page(e),
            },
        }
    }
    let today = match counter::today(state, hall.clone()).await {
        Ok(t) => t,
        Err(e) => return failure_page(e),
    };
    let rated = match crate::app::ratings::window_today(state, hall.clone()).await {
        Ok(r) => r,
        Err(e) => return failure_page(e),
    };
    let consultations = today
        .iter()
        .map(|(k, f)| {
            let c = counter::masked(&k.customer);
            let customer: Vec<String> = [c.name, c.phone, c.uscc, c.account_number]
                .into_iter()
                .flatten()
                .collect();
            ConsultationRow {
                id: k.id.clone(),
                at: clock_time(state, k.at_ms),
                services: list(k.services.iter().map(|s| service_name(state, s))),
                topic: k.topic.clone(),
                answer: k.answer.clone(),
                customer: customer.join(" · "),
                follow_up: f.as_ref().map(|f| follow_up_line(state, f)),
                rate_open: refused.form == format!("rate-{}", k.id),
                rate_error: (refused.form == format!("rate-{}", k.id))
                    .then(|| refused.message.clone())
                    .flatten(),
                rated: rated
                    .iter()
                    .find(|r| r.subject_kind == RatingSubject::Consultation && r.subject_id == k.id)
                    .map(|r| r.level.label_zh()),
            }
        })
        .collect();
    let queue = match counter::queue(state, caller, Some(&hall)).await {
        Ok(q) => q,
        Err(e) => return failure_page(e),
    };
    let minutes = |n: i64| texts::fill(t::MINUTES, &[("n", &n)]);
    let halls = counter::halls_of(caller);
    let csrf = caller.csrf_token();
    let chosen = refused
        .typed
        .get("services")
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let follow_up_asked = refused.typed.get("follow_up").is_some_and(|v| v == "yes");
    let p = WorkspacePage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        hall_name: counter::hall_name(state, &hall),
        halls: if halls.len() > 1 {
            halls
                .iter()
                .map(|h| Opt {
                    code: h.clone(),
                    label: counter::hall_name(state, h),
                    selected: *h == hall,
                })
                .collect()
        } else {
            Vec::new()
        },
        hall,
        term,
        searched,
        search_note,
        found,
        account,
        accounts,
        services: state
            .config
            .services
            .iter()
            .map(|s| Opt {
                code: s.code.clone(),
                label: s.name.clone(),
                selected: false,
            })
            .collect(),
        units: state
            .config
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Utility)
            .map(|u| Opt {
                code: u.code.clone(),
                label: u.name.clone(),
                selected: refused.typed.get("follow_up.unit") == Some(&u.code)
                    || refused.typed.get("unit") == Some(&u.code),
            })
            .collect(),
        kinds: BusinessKind::ALL
            .iter()
            .map(|k| Opt {
                code: k.as_str().to_owned(),
                label: k.label_zh().to_owned(),
                selected: false,
            })
            .collect(),
        levels: RatingLevel::ALL
            .iter()
            .map(|l| Opt {
                code: l.as_str().to_owned(),
                label: l.label_zh().to_owned(),
                selected: refused.typed.get("level").map(String::as_str) == Some(l.as_str()),
            })
            .collect(),
        consultations,
        waiting: queue.waiting.iter().map(ticket_row).collect(),
        serving: queue.serving.iter().map(ticket_row).collect(),
        taken: queue.taken,
        served: queue.served,
        average_wait: queue.average_wait_minutes.map(minutes),
        average_service: queue.average_service_minutes.map(minutes),
        refused,
        done,
        chosen,
        follow_up_asked,
    };
    respond(caller, &csrf, p.refused.status, &p)
}

/// Every form of the workspace, posted to `/counter` (`form` says which).
pub(crate) struct WorkspaceFields;

/// The workspace's fields: every form's, each once (services repeated).
fn workspace_spec() -> Spec {
    Spec::new()
        .fields(&[
            "form",
            "hall",
            "topic",
            "answer",
            "customer.name",
            "customer.phone",
            "customer.uscc",
            "customer.application_number",
            "customer.account_number",
            "follow_up",
            "follow_up.unit",
            "kind",
            "counter",
            "ticket",
            "outcome",
            "subject_kind",
            "subject_id",
            "level",
            "comment",
            "unit",
        ])
        .many("services", onestop_domain::counter::MAX_SERVICES)
}

impl PageFields for WorkspaceFields {
    fn spec(_state: &AppState) -> Spec {
        workspace_spec()
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri)
    }
}

/// Where the workspace goes after a form was taken.
fn back(hall: &str, done: &str, anchor: &str) -> Response {
    Redirect::to(&format!(
        "/counter?hall={}&done={done}#{anchor}",
        encode_next(hall)
    ))
    .into_response()
}

async fn workspace_post(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<WorkspaceFields>,
) -> Response {
    let Some(hall) = hall_of(&caller, form.get("hall")) else {
        return not_found_page();
    };
    let which = form.text("form");
    let outcome: Result<Response, (String, Error)> = match which.as_str() {
        "consultation" => consultation_posted(&state, &caller, &hall, &form).await,
        "ticket" => {
            let kind = BusinessKind::parse(form.get("kind").unwrap_or("").trim());
            match kind {
                Some(k) => counter::take_ticket(&state, &caller, Some(&hall), k)
                    .await
                    .map(|_| back(&hall, "ticket", "queue")),
                None => Err(Error::Invalid(vec![FieldError::new(
                    "kind",
                    FieldCode::Required,
                    texts::counter::KIND_MISSING,
                )])),
            }
            .map_err(|e| ("ticket".to_owned(), e))
        }
        "call" => {
            let kind = BusinessKind::parse(form.get("kind").unwrap_or("").trim());
            match validate_counter(form.get("counter")) {
                Ok(n) => counter::call_next(&state, &caller, Some(&hall), n, kind)
                    .await
                    .map(|c| {
                        back(
                            &hall,
                            if c.called.is_some() {
                                "called"
                            } else {
                                "nobody"
                            },
                            "queue",
                        )
                    }),
                Err(e) => Err(Error::Invalid(e)),
            }
            .map_err(|e| ("call".to_owned(), e))
        }
        "finish" => {
            let outcome = match form.get("outcome") {
                Some("missed") => TicketStatus::Missed,
                _ => TicketStatus::Served,
            };
            let ticket = form.text("ticket");
            counter::finish_ticket(&state, &caller, ticket.clone(), outcome)
                .await
                .map(|_| {
                    let done = if outcome == TicketStatus::Missed {
                        "missed"
                    } else {
                        "served"
                    };
                    back(&hall, done, "queue")
                })
                .map_err(|e| (format!("finish-{ticket}"), e))
        }
        "rate" => rate_posted(&state, &caller, &hall, &form).await,
        _ => return crate::web::form::unrecognised_page(),
    };
    match outcome {
        Ok(r) => r,
        Err((_, e)) if e.status_is_not_found() => not_found_page(),
        Err((name, e)) => {
            let mut typed = typed_back(form.pairs().iter().map(|(k, v)| (k, v)), 1000);
            typed.insert("services".into(), form.all("services").join(","));
            let label = match which.as_str() {
                "consultation" => t::FORM_CONSULTATION,
                "ticket" => t::FORM_TICKET,
                "call" => t::FORM_CALL,
                "rate" => t::FORM_RATE,
                _ => t::FORM_FINISH,
            };
            let refused = Refused::of_action(name, label, typed, &e);
            page(&state, &caller, hall, String::new(), refused, None).await
        }
    }
}

trait NotFound {
    fn status_is_not_found(&self) -> bool;
}

impl NotFound for Error {
    fn status_is_not_found(&self) -> bool {
        matches!(self, Error::NotFound)
    }
}

/// A consultation from the form: the same rules and use case as the API.
async fn consultation_posted(
    state: &AppState,
    caller: &Caller,
    hall: &str,
    form: &crate::web::form::Decoded,
) -> Result<Response, (String, Error)> {
    let services = form.all("services");
    let asked = form.get("follow_up") == Some("yes");
    let draft = ConsultationDraft {
        services: services.iter().map(String::as_str).collect(),
        topic: form.get("topic"),
        answer: form.get("answer"),
        customer_name: form.get("customer.name"),
        customer_phone: form.get("customer.phone"),
        customer_uscc: form.get("customer.uscc"),
        application_number: form.get("customer.application_number"),
        account_number: form.get("customer.account_number"),
        follow_up_unit: asked.then(|| form.get("follow_up.unit").unwrap_or("")),
    };
    let err = |e: Error| ("consultation".to_owned(), e);
    let input = validate_consultation(&draft, &state.config).map_err(|e| err(Error::Invalid(e)))?;
    let follow_up = input.follow_up_unit.is_some();
    counter::log_consultation(state, caller, Some(hall), input, None)
        .await
        .map_err(err)?;
    Ok(back(
        hall,
        if follow_up {
            "follow_up"
        } else {
            "consultation"
        },
        "consultations",
    ))
}

/// A rating given at the window (a consultation's, or the visit's).
async fn rate_posted(
    state: &AppState,
    caller: &Caller,
    hall: &str,
    form: &crate::web::form::Decoded,
) -> Result<Response, (String, Error)> {
    let kind = form.text("subject_kind");
    let subject = match kind.as_str() {
        "consultation" => form.text("subject_id"),
        _ => hall.to_owned(),
    };
    let name = if kind == "consultation" {
        format!("rate-{subject}")
    } else {
        "rate-visit".to_owned()
    };
    let request = crate::app::ratings::RatingRequest::parse(
        state,
        Some(if kind == "consultation" {
            "consultation"
        } else {
            "window_visit"
        }),
        Some(&subject),
        RatingDraft {
            level: form.get("level"),
            comment: form.get("comment"),
            unit: form.get("unit"),
        },
    )
    .map_err(|e| (name.clone(), e))?;
    match crate::app::ratings::rate(state, caller, request, None).await {
        Ok(crate::app::ratings::Given::Created(v)) => Ok(back(
            hall,
            if v.follow_up.is_some() {
                "rated_follow_up"
            } else {
                "rated"
            },
            "ratings",
        )),
        Ok(crate::app::ratings::Given::Replayed(_)) => Ok(back(hall, "rated", "ratings")),
        Err(e) => Err((name, e)),
    }
}

// ───────────────────────────── the status answer ─────────────────────────────

struct StatusOrder {
    service: String,
    unit: String,
    state: &'static str,
    time: TimeView,
    due: Option<String>,
}

#[derive(Template)]
#[template(path = "counter_status.html")]
struct StatusPage {
    nav: Nav,
    hall_name: String,
    answered_at: String,
    number: String,
    enterprise: String,
    services: String,
    status: &'static str,
    submitted: String,
    orders: Vec<StatusOrder>,
}

/// The answer to a status query at the window, to print for the customer:
/// the application's status and each order's, with the time left — no
/// personal data. Any channel's application (the window answers for all);
/// audited.
async fn status_answer(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&caller, &uri) {
        return r;
    }
    if id.len() > 64 {
        return not_found_page();
    }
    let app = match crate::app::applications::get_unchecked(&state, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    if let Err(e) = state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "counter_status",
            "success",
            "application",
            &app.id,
            serde_json::json!({"number": app.number}),
        ))
        .await
    {
        return failure_page(e);
    }
    let times = match crate::app::deadlines::of_orders(&state, app.work_orders.iter()).await {
        Ok(t) => t,
        Err(e) => return failure_page(e),
    };
    let hall = counter::halls_of(&caller)
        .into_iter()
        .next()
        .unwrap_or_default();
    let orders = app
        .work_orders
        .iter()
        .map(|o| {
            let time = crate::web::deadline::order(&state, times.get(&o.id), o.level.as_str());
            StatusOrder {
                service: crate::web::staff::order_service(&state, &o.service, o.carrier.as_deref()),
                unit: o.unit.name.clone(),
                state: onestop_domain::application::order_state_zh(o.stage, o.status),
                due: (time.running && matches!(o.status, OrderStatus::Open))
                    .then(|| crate::web::staff::due_text(&state, o)),
                time,
            }
        })
        .collect();
    let csrf = caller.csrf_token();
    let p = StatusPage {
        nav: Nav::for_caller(&caller, &csrf),
        hall_name: counter::hall_name(&state, &hall),
        answered_at: when_ms(&state, state.now_ms()),
        number: app.number.clone(),
        enterprise: app.form.applicant.name.clone(),
        services: list(
            app.form
                .services
                .chosen()
                .iter()
                .map(|s| service_name(&state, s)),
        ),
        status: app.status.label_zh(),
        submitted: crate::web::staff::when(&state, app.submitted_at),
        orders,
    };
    respond(&caller, &csrf, StatusCode::OK, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_form_takes_every_field_it_shows_and_no_more() {
        let spec = workspace_spec();
        for key in [
            "form",
            "hall",
            "services",
            "topic",
            "answer",
            "customer.phone",
            "follow_up",
            "follow_up.unit",
            "kind",
            "counter",
            "ticket",
            "outcome",
            "subject_kind",
            "subject_id",
            "level",
            "comment",
            "unit",
        ] {
            let d = spec.decode(format!("{key}=x").as_bytes());
            assert!(!d.unrecognised, "{key}");
        }
        assert!(spec.decode(b"customer.password=x").unrecognised);
        let eleven: Vec<String> = (0..11).map(|i| format!("services=s{i}")).collect();
        let d = spec.decode(eleven.join("&").as_bytes());
        assert!(d.unrecognised, "at most ten services");
        assert_eq!(d.all("services").len(), 10);
    }
}
