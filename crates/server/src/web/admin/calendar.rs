//! The administrators' calendar page (`/admin/calendar`): the years loaded,
//! the imports made, and a form to import a new one.

use crate::AppState;
use crate::app::calendar::*;
use crate::auth::Caller;
use crate::texts;
use crate::web::Failure;
use crate::web::admin::refused;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, respond};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::calendar::CoverageSource;
use onestop_store::calendar as store_calendar;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/calendar", get(page).post(submit))
}

struct YearLine {
    year: i32,
    source: String,
    first: String,
    last: String,
}

struct ImportLine {
    id: i64,
    at: String,
    by: String,
    moved: i64,
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
struct Page {
    nav: Nav,
    csrf: String,
    years: Vec<YearLine>,
    imports: Vec<ImportLine>,
    text: String,
    problems: Vec<String>,
    notice: Option<String>,
    /// Why the calendar was not imported, when not for the file's content.
    failure: Option<String>,
    /// The days counted on the statutory rules, for people.
    provisional: Option<String>,
}

/// What the page shows beside the calendar: the file as typed, its
/// problems, a notice of what was done, or why it was not.
#[derive(Default)]
struct Shown {
    text: String,
    problems: Vec<String>,
    notice: Option<String>,
    failure: Option<String>,
}

fn gate(caller: &Caller) -> Option<Response> {
    crate::web::admin::gate(caller, Capability::ManageCalendar, "/admin/calendar")
}

async fn render(state: &AppState, caller: &Caller, status: StatusCode, shown: Shown) -> Response {
    let imports = match state.store.read(|c| store_calendar::imports(c, 20)).await {
        Ok(i) => i,
        Err(e) => return refused::store_failed_as(caller, e),
    };
    let csrf = caller.csrf_token();
    let years = state
        .clock
        .get()
        .calendar()
        .coverage()
        .into_iter()
        .map(|y| YearLine {
            year: y.year,
            source: match y.source {
                CoverageSource::Builtin => texts::calendar::SOURCE_BUILTIN,
                CoverageSource::Override => texts::calendar::SOURCE_IMPORTED,
                CoverageSource::BuiltinOverride => texts::calendar::SOURCE_BOTH,
            }
            .to_owned(),
            first: crate::web::date_zh(y.first),
            last: crate::web::date_zh(y.last),
        })
        .collect();
    let provisional = state
        .clock
        .get()
        .calendar()
        .provisional_range()
        .map(|(first, last)| {
            texts::fill(
                texts::calendar::PROVISIONAL_RANGE,
                &[
                    ("first", &crate::web::date_zh(first)),
                    ("last", &crate::web::date_zh(last)),
                ],
            )
        });
    let actors = match crate::app::actors::Actors::read(
        state,
        imports.iter().map(|i| i.imported_by.clone()).collect(),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return refused::failure_page_as(caller, &e),
    };
    let imports = imports
        .into_iter()
        .map(|i| ImportLine {
            id: i.id,
            at: crate::web::staff::when_ms(state, i.imported_at_ms),
            by: actors.who(&state.config, &i.imported_by, None).text,
            moved: i.orders_moved,
        })
        .collect();
    respond(
        caller,
        &csrf,
        status,
        &Page {
            nav: Nav::for_caller(caller, &csrf),
            csrf: csrf.clone(),
            years,
            imports,
            text: shown.text,
            problems: shown.problems,
            notice: shown.notice,
            failure: shown.failure,
            provisional,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&caller) {
        return r;
    }
    let notice = q
        .get("moved")
        .and_then(|m| m.parse::<usize>().ok())
        .map(|m| texts::fill(texts::admin::CALENDAR_IMPORTED, &[("moved", &m)]));
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    render(&state, &caller, StatusCode::OK, shown).await
}

/// The pasted calendar file (up to the body limit).
struct ImportFields;

impl PageFields for ImportFields {
    fn spec(state: &AppState) -> Spec {
        Spec::new().long("overrides", state.body_limit)
    }
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    f: PageForm<ImportFields>,
) -> Response {
    if let Some(r) = gate(&caller) {
        return r;
    }
    let text = f.text("overrides");
    let actor = caller.subject.actor();
    match import(&state, &actor, text.clone()).await {
        Ok(done) => {
            let rec = caller.audit(
                state.now_ms(),
                "calendar_imported",
                "success",
                "calendar",
                &done.id.to_string(),
                serde_json::json!({"orders_moved": done.orders_moved}),
            );
            if let Err(e) = state.audit.record(rec).await {
                return refused::failure_page_as(&caller, &e);
            }
            Redirect::to(&format!("/admin/calendar?moved={}", done.orders_moved)).into_response()
        }
        Err(e) if refused::is_access(&e) => refused::failure_page_as(&caller, &e),
        // The page again with the file as pasted: its problems beside it,
        // or why it could not be imported now.
        Err(e) => {
            let shown = if e.code() == "validation_failed" {
                Shown {
                    problems: e.fields().into_iter().map(|f| f.message).collect(),
                    ..Shown::default()
                }
            } else {
                Shown {
                    failure: Some(refused::action_note(
                        texts::admin_forms::IMPORT_CALENDAR,
                        &e,
                    )),
                    ..Shown::default()
                }
            };
            let shown = Shown { text, ..shown };
            render(&state, &caller, refused::status_of(&e), shown).await
        }
    }
}
