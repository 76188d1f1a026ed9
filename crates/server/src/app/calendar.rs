//! Importing the working-day calendar (for example, next year's holidays
//! once the State Council publishes them), from the administrators' page
//! `/admin/calendar` or `onestop calendar import FILE`. The import is
//! checked whole (every problem named), stored in the database, and in the
//! same transaction every open work order's deadline, warning instant and
//! level is recomputed with a history event. Each server then swaps its
//! clock; the others notice the new import within a second (see
//! [`reload_if_changed`], called by the sweeper).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, error_page, respond};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::calendar::{Calendar, CalendarError, CalendarOverrides, Clock};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_store::calendar as store_calendar;
use std::collections::HashMap;
use std::sync::Arc;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub id: i64,
    pub orders_moved: usize,
}

/// Builds the clock `overrides` describe, with this server's working hours.
fn clock_from(state: &AppState, overrides: &str) -> Result<Clock, ApiError> {
    let problems = |e: CalendarError| match e {
        CalendarError::InvalidOverrides { problems } => problems,
        other => vec![other.to_string()],
    };
    let parsed = CalendarOverrides::from_toml(overrides).map_err(|e| invalid(problems(e)))?;
    let calendar = Calendar::new(Some(&parsed)).map_err(|e| invalid(problems(e)))?;
    Ok(Clock::new(calendar, state.clock.get().hours().clone()))
}

fn invalid(problems: Vec<String>) -> ApiError {
    let mut e = ApiError::validation(
        problems
            .into_iter()
            .map(|p| FieldError {
                field: "overrides".into(),
                code: FieldCode::InvalidFormat,
                message: p,
            })
            .collect(),
    );
    e.message = "日历文件有误，请按提示修改后重新导入".into();
    e
}

/// Checks, stores and applies a calendar; recomputes open deadlines.
pub async fn import(
    state: &AppState,
    actor: &str,
    overrides: String,
) -> Result<Imported, ApiError> {
    let clock = Arc::new(clock_from(state, &overrides)?);
    let now_ms = state.now_ms();
    let share = state.config.limits.warning_share;
    let budget = clock.budget_for_days(state.config.limits.approval_days)?;
    let (c2, actor) = (clock.clone(), actor.to_owned());
    let (id, moved) = state
        .store
        .write(move |c| store_calendar::import(c, &overrides, &c2, share, budget, &actor, now_ms))
        .await?;
    state.clock.set(clock, id);
    Ok(Imported {
        id,
        orders_moved: moved.len(),
    })
}

/// Puts the newest stored calendar in use when another server imported it.
pub async fn reload_if_changed(state: &AppState) -> Result<bool, ApiError> {
    let id = state.store.read(store_calendar::latest_id).await?;
    if id == 0 || id == state.clock.import_id() {
        return Ok(false);
    }
    let Some((id, text)) = state.store.read(store_calendar::latest).await? else {
        return Ok(false);
    };
    let clock = clock_from(state, &text)?;
    state.clock.set(Arc::new(clock), id);
    tracing::info!(import = id, "calendar changed; the new one is in use");
    Ok(true)
}

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
}

fn gate(caller: &Caller) -> Option<Response> {
    crate::web::admin::gate(caller, Capability::ManageCalendar, "/admin/calendar")
}

async fn render(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    text: String,
    problems: Vec<String>,
    notice: Option<String>,
) -> Response {
    let imports = match state.store.read(|c| store_calendar::imports(c, 20)).await {
        Ok(i) => i,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
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
            source: format!("{:?}", y.source),
            first: y.first.to_string(),
            last: y.last.to_string(),
        })
        .collect();
    let imports = imports
        .into_iter()
        .map(|i| ImportLine {
            id: i.id,
            at: crate::web::staff::when(
                state,
                onestop_domain::timefmt::from_ms(i.imported_at_ms, state.offset),
            ),
            by: crate::web::progress::who(&i.imported_by),
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
            text,
            problems,
            notice,
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
        .map(|m| format!("日历已导入并启用；{m} 个在办工单的办理时限已按新日历重新计算。"));
    render(
        &state,
        &caller,
        StatusCode::OK,
        String::new(),
        Vec::new(),
        notice,
    )
    .await
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
    let actor = {
        let (kind, _, name) = caller.subject.audit_identity();
        format!("{kind}:{name}")
    };
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
                return error_page(e.status, &e.message);
            }
            Redirect::to(&format!("/admin/calendar?moved={}", done.orders_moved)).into_response()
        }
        Err(e) if e.code == "validation_failed" => {
            let problems = e.fields.into_iter().map(|f| f.message).collect();
            render(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                text,
                problems,
                None,
            )
            .await
        }
        Err(e) => error_page(e.status, &e.message),
    }
}
