//! The unit's follow-ups (回复事项: 咨询回复、差评整改): the inbox
//! (`/follow-ups`), open ones first with the working time left, and one
//! follow-up's page (`/follow-ups/{id}`) with what is to be answered, its
//! history, and the unit's written answer (posted to the page itself).

use crate::AppState;
use crate::app::follow_ups::{self, AnswerInput};
use crate::auth::Caller;
use crate::texts;
use crate::texts::counter_page as t;
use crate::web::counter::{FollowUpLine, follow_up_line};
use crate::web::form::{PageFields, PageForm, Refused, Spec};
use crate::web::staff::{Opt, options, page_link, query_map, service_name, unit_name, when_ms};
use crate::web::{
    Nav, done_note, failure_page, filters_notice, list, not_found_page, render, respond,
};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::counter::{FollowUpKind, FollowUpStatus};
use onestop_store::follow_ups::FollowUp;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/follow-ups", get(inbox))
        .route("/follow-ups/{id}", get(one).post(answer_posted))
}

fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
    crate::web::staff::gate(caller, uri, Capability::FollowUps)
}

/// Where a follow-up came from, for people: the hall, or the application.
fn origin(state: &AppState, f: &FollowUp) -> String {
    match (&f.hall, f.kind) {
        (Some(h), FollowUpKind::Consultation) => texts::fill(
            texts::counter::ORIGIN_HALL,
            &[("hall", &crate::app::counter::hall_name(state, h))],
        ),
        (_, FollowUpKind::Rating) if f.application_id.is_some() => t::ORIGIN_ONLINE.to_owned(),
        (Some(h), _) => texts::fill(
            texts::counter::ORIGIN_HALL,
            &[("hall", &crate::app::counter::hall_name(state, h))],
        ),
        (None, _) => String::new(),
    }
}

struct Row {
    id: String,
    kind: &'static str,
    summary: String,
    origin: String,
    line: FollowUpLine,
}

#[derive(Template)]
#[template(path = "follow_ups.html")]
struct InboxPage {
    nav: Nav,
    rows: Vec<Row>,
    statuses: Vec<Opt>,
    kinds: Vec<Opt>,
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
    if let Some(r) = gate(&caller, &uri) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let mut invalid = false;
    let status = crate::web::staff::parse_opt(&q, "status", FollowUpStatus::parse, &mut invalid);
    let kind = crate::web::staff::parse_opt(&q, "kind", FollowUpKind::parse, &mut invalid);
    let mut page = crate::web::staff::parse_page(&q, &mut invalid);
    if page > onestop_store::follow_ups::MAX_PAGE {
        invalid = true;
        page = 1;
    }
    let (found, more) = match follow_ups::list(&state, &caller, status, kind, page, 20).await {
        Ok(f) => f,
        Err(e) => return failure_page(e),
    };
    let status_code = status.map_or("", |s| s.as_str());
    let kind_code = kind.map_or("", |k| k.as_str());
    let filters = [("status", status_code), ("kind", kind_code)];
    let rows = found
        .iter()
        .map(|f| Row {
            id: f.id.clone(),
            kind: f.kind.label_zh(),
            summary: f.summary.clone(),
            origin: origin(&state, f),
            line: follow_up_line(&state, f),
        })
        .collect();
    render(&caller, StatusCode::OK, |nav, _| InboxPage {
        nav,
        rows,
        statuses: options(
            FollowUpStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.label_zh())),
            status_code,
        ),
        kinds: options(
            FollowUpKind::ALL.iter().map(|k| (k.as_str(), k.label_zh())),
            kind_code,
        ),
        filtered: status.is_some() || kind.is_some(),
        notice: filters_notice(invalid),
        page,
        prev: (page > 1).then(|| page_link("/follow-ups", &filters, page - 1)),
        next: (more && page < onestop_store::follow_ups::MAX_PAGE)
            .then(|| page_link("/follow-ups", &filters, page + 1)),
    })
}

/// What the follow-up answers, as its page shows it.
enum Subject {
    Consultation {
        topic: String,
        services: String,
        answer: String,
        customer: Vec<(&'static str, String)>,
        logged: String,
    },
    Rating {
        level: &'static str,
        comment: Option<String>,
        application: Option<(String, String)>,
        rated: String,
    },
    Missing,
}

/// A line of the follow-up's history, in words.
struct Step {
    at: String,
    label: String,
}

#[derive(Template)]
#[template(path = "follow_up.html")]
struct FollowUpPage {
    nav: Nav,
    csrf: String,
    id: String,
    kind: &'static str,
    unit: String,
    origin: String,
    created: String,
    line: FollowUpLine,
    subject: Subject,
    history: Vec<Step>,
    /// The caller's unit owes the answer and it is open.
    may_answer: bool,
    version: i64,
    refused: Refused,
    done: Option<String>,
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri) {
        return r;
    }
    let q = query_map(raw.as_deref());
    let done = done_note(
        q.get("done").map(String::as_str),
        &[("answered", t::DONE_ANSWERED)],
    );
    follow_up_page(&state, &caller, id, Refused::default(), done).await
}

async fn follow_up_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    refused: Refused,
    done: Option<String>,
) -> Response {
    let f = match follow_ups::visible(state, caller, id).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let subject = match f.kind {
        FollowUpKind::Consultation => {
            match crate::app::counter::consultation(state, caller, f.subject_id.clone()).await {
                Ok((k, _)) => {
                    let c = &k.customer;
                    let customer = [
                        (t::CUSTOMER_NAME, c.name.clone()),
                        (t::CUSTOMER_PHONE, c.phone.clone()),
                        (t::CUSTOMER_USCC, c.uscc.clone()),
                        (t::CUSTOMER_NUMBER, c.application_number.clone()),
                        (t::CUSTOMER_ACCOUNT, c.account_number.clone()),
                    ]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect();
                    Subject::Consultation {
                        topic: k.topic.clone(),
                        services: list(k.services.iter().map(|s| service_name(state, s))),
                        answer: k.answer.clone(),
                        customer,
                        logged: when_ms(state, k.at_ms),
                    }
                }
                Err(_) => Subject::Missing,
            }
        }
        FollowUpKind::Rating => {
            let rid = f.subject_id.clone();
            let rating = match state
                .store
                .read(move |c| onestop_store::ratings::get(c, &rid))
                .await
            {
                Ok(r) => r,
                Err(e) => return failure_page(crate::app::error::Error::from(e)),
            };
            let application = match rating.as_ref().and_then(|r| r.application_id.clone()) {
                Some(app) => match crate::app::applications::get_unchecked(state, app).await {
                    Ok(Some(a)) => Some((a.id, format!("{} {}", a.number, a.form.applicant.name))),
                    Ok(None) => None,
                    Err(e) => return failure_page(e),
                },
                None => None,
            };
            match rating {
                Some(r) => Subject::Rating {
                    level: r.level.label_zh(),
                    comment: r.comment,
                    application,
                    rated: when_ms(state, r.at_ms),
                },
                None => Subject::Missing,
            }
        }
    };
    let fid = f.id.clone();
    let events = match state
        .store
        .read(move |c| onestop_store::follow_ups::events(c, "follow_up", &fid))
        .await
    {
        Ok(e) => e,
        Err(e) => return failure_page(crate::app::error::Error::from(e)),
    };
    let actors = match crate::app::actors::Actors::read(
        state,
        events.iter().map(|e| e.actor.clone()).collect(),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return failure_page(e),
    };
    let history = events
        .iter()
        .map(|e| {
            let who = actors.who(&state.config, &e.actor, Some(&f.unit_code)).text;
            let what = texts::counter_events::get(&e.kind).unwrap_or(texts::counter_events::OTHER);
            Step {
                at: when_ms(state, e.at_ms),
                label: texts::fill(t::HISTORY_LINE, &[("who", &who), ("what", &what)]),
            }
        })
        .collect();
    let csrf = caller.csrf_token();
    let p = FollowUpPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        id: f.id.clone(),
        kind: f.kind.label_zh(),
        unit: unit_name(state, &f.unit_code),
        origin: origin(state, &f),
        created: when_ms(state, f.created_at_ms),
        line: follow_up_line(state, &f),
        subject,
        history,
        may_answer: f.status == FollowUpStatus::Open && caller.subject.operates(&f.unit_code),
        version: f.version,
        refused,
        done,
    };
    respond(caller, &csrf, p.refused.status, &p)
}

/// The answer's form: the text and the version it answers.
pub(crate) struct AnswerFields;

impl PageFields for AnswerFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["response", "version"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        gate(caller, uri)
    }
}

async fn answer_posted(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<AnswerFields>,
) -> Response {
    let response = form.get("response");
    let version = form
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let outcome = match AnswerInput::parse(response, version) {
        Ok(input) => follow_ups::answer(&state, &caller, id.clone(), input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(f) => Redirect::to(&format!("/follow-ups/{}?done=answered", f.id)).into_response(),
        Err(crate::app::error::Error::NotFound) => not_found_page(),
        Err(e) => {
            let typed: HashMap<String, String> = HashMap::from([(
                "response".to_owned(),
                response.unwrap_or("").chars().take(1000).collect(),
            )]);
            let refused = Refused::of_action("answer", t::FORM_ANSWER, typed, &e);
            follow_up_page(&state, &caller, id, refused, None).await
        }
    }
}
