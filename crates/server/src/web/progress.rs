//! Progress as people read it: each utility's order as a timeline of what
//! happened (from the history events), where it stands now and by when, and
//! the stages it passed, skipped or has ahead. Shown on the application's
//! page (to the applicant too) and on each order's page.

use crate::AppState;
use crate::app::actors::Actors;
use crate::app::deadlines::OrderTime;
use crate::error::ApiError;
use crate::texts;
use crate::web::staff::{iso, order_service, when};
use onestop_domain::application::{Application, OrderStatus, Stage, WorkOrder, order_state_zh};
use onestop_domain::text::without_final_stop;
use onestop_domain::timefmt;
use onestop_store::applications::Event;
use serde_json::Value;
use std::collections::HashMap;

/// One thing that happened: `{by} {label}：{note}` for a person or an
/// integration (`随州市水务集团 张三 受理`), `系统：{label}` for the platform.
pub struct Step {
    pub label: String,
    pub at: String,
    pub at_iso: String,
    /// Who did it, for people (never a login or a code).
    pub by: String,
    /// Done by the platform itself.
    pub system: bool,
    pub note: String,
    /// The deadline the step set for the next stage, if it set one.
    pub due: Option<String>,
}

/// A stage chip: `done`, `current`, `skipped` or `ahead`.
pub struct StageChip {
    pub label: &'static str,
    pub state: &'static str,
}

/// One order's progress.
pub struct OrderTimeline {
    pub id: String,
    pub service: String,
    pub unit: String,
    pub stage: &'static str,
    /// Where it stands in one word (待受理, 待补正, 已办结, …).
    pub state: &'static str,
    /// The time left or overdue, or how it finished.
    pub time: crate::web::deadline::TimeView,
    pub status_code: &'static str,
    pub status: &'static str,
    pub level_code: &'static str,
    pub level: &'static str,
    pub due: String,
    pub due_iso: String,
    /// Still moving (open or returned), so the deadline means something.
    pub running: bool,
    pub returned: bool,
    pub chips: Vec<StageChip>,
    pub steps: Vec<Step>,
}

/// What an application's page needs besides the application.
pub struct Progress {
    pub events: Vec<Event>,
    pub survey: Option<onestop_domain::application::Survey>,
    pub case_id: Option<String>,
    /// The orders whose works are in the approval case.
    pub case_works: Vec<String>,
    /// The people and integrations who acted, to name them.
    pub actors: Actors,
    /// Each order's time against its limit, by id.
    pub times: HashMap<String, OrderTime>,
}

impl Progress {
    /// Whether `order`'s works are in the application's approval case.
    pub fn in_case(&self, order: &str) -> bool {
        self.case_works.iter().any(|w| w == order)
    }

    /// The case, for an order whose works are in it.
    pub fn case_of(&self, order: &str) -> Option<&String> {
        self.case_id.as_ref().filter(|_| self.in_case(order))
    }
}

/// The history, the survey, the approval case and the names of those who
/// acted, for `app`'s pages.
pub async fn load(state: &AppState, app: &Application) -> Result<Progress, ApiError> {
    let config = state.config.clone();
    let offset = state.offset;
    let application_id = app.id.clone();
    let (events, survey, case, mut actors) = state
        .store
        .read(move |c| {
            let events = onestop_store::applications::events(c, &application_id)?;
            let actors = Actors::load(c, events.iter().map(|e| e.actor.as_str()))?;
            Ok((
                events,
                onestop_store::surveys::get(c, &application_id, &config, offset)?,
                onestop_store::approvals::by_application(c, &application_id)?,
                actors,
            ))
        })
        .await?;
    actors.applicant = Some(app.form.applicant.name.clone());
    let times = crate::app::deadlines::of_orders(state, &app.work_orders).await?;
    Ok(Progress {
        events,
        survey,
        case_id: case.as_ref().map(|k| k.id.clone()),
        case_works: case.map(|k| k.works).unwrap_or_default(),
        actors,
        times,
    })
}

fn at_ms(state: &AppState, ms: i64) -> (String, String) {
    let t = timefmt::from_ms(ms, state.offset);
    (when(state, t), iso(state, t))
}

/// A text of the data, without a final full stop (the note adds its own
/// punctuation).
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(without_final_stop)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn unit_name(state: &AppState, code: &str) -> String {
    state
        .config
        .unit(code)
        .map_or_else(|| code.to_owned(), |u| u.name.clone())
}

/// The notes worth showing from an action's data; `by` is who the line
/// names (a department's decision names the department only when `by`
/// does not already).
fn note_of(state: &AppState, kind: &str, data: &Value, by: &str) -> String {
    use texts::progress as t;
    let d = data.get("data").unwrap_or(data);
    let mut parts = Vec::new();
    for (key, note) in [
        ("reason", t::REASON),
        ("findings", t::FINDINGS),
        ("design", t::DESIGN),
    ] {
        if let Some(v) = text(d, key) {
            parts.push(texts::fill(note, &[("text", &v)]));
        }
    }
    if let Some(m) = d.get("external_works_m").and_then(Value::as_f64) {
        if m == 0.0 {
            parts.push(t::NO_EXTERNAL_WORKS.to_owned());
        } else {
            let route = text(d, "route")
                .map_or_else(String::new, |r| texts::fill(t::ROUTE, &[("route", &r)]));
            parts.push(texts::fill(
                t::EXTERNAL_WORKS,
                &[("m", &m), ("route", &route)],
            ));
        }
    }
    if let Some(at) = text(d, "connected_at").and_then(|s| timefmt::parse(&s)) {
        parts.push(texts::fill(t::CONNECTED_AT, &[("at", &when(state, at))]));
    }
    if kind == "approval_item_decided" {
        let dept = text(data, "department")
            .and_then(|c| state.config.unit(&c).map(|u| u.name.clone()))
            .unwrap_or_default();
        let decision = match data.get("decision").and_then(Value::as_str) {
            Some("approved") => t::APPROVED,
            Some("rejected") => t::REJECTED,
            _ => "",
        };
        let opinion = text(data, "opinion").unwrap_or_default();
        let decision = if dept.is_empty() || by.starts_with(&dept) {
            decision.to_owned()
        } else {
            texts::fill(
                t::DECISION_OF,
                &[("department", &dept), ("decision", &decision)],
            )
        };
        parts.push(if opinion.is_empty() {
            decision
        } else {
            texts::fill(
                t::DECISION,
                &[("decision", &decision), ("opinion", &opinion)],
            )
        });
    }
    if matches!(kind, "survey_proposed" | "survey_moved")
        && let Some(at) = data.get("at").and_then(Value::as_i64)
    {
        parts.push(texts::fill(t::SURVEY_AT, &[("at", &at_ms(state, at).0)]));
    }
    if kind == "reminder_sent"
        && let Some(n) = text(data, "note")
    {
        parts.push(n);
    }
    if kind == "reminder_acknowledged"
        && let Some(r) = text(data, "reply")
    {
        parts.push(texts::fill(t::REPLY, &[("text", &r)]));
    }
    if kind == "approval_case_resubmitted"
        && let Some(n) = text(data, "note")
    {
        parts.push(texts::fill(t::REVISION, &[("note", &n)]));
    }
    if let Some(changes) = data.get("revision").map(|r| correction_note(state, r)) {
        parts.push(changes);
    }
    if kind == "appointment_moved"
        && let Some(ms) = data.get("to").and_then(Value::as_i64)
    {
        let at = when(state, timefmt::from_ms(ms, state.offset));
        parts.push(texts::fill(t::APPOINTMENT, &[("at", &at)]));
    }
    if (kind.starts_with("approval_level_") || kind == "approval_deadline_recomputed")
        && let Some(d) = text(data, "department")
    {
        parts.push(unit_name(state, &d));
    }
    if kind.ends_with("deadline_recomputed")
        && let (Some(from), Some(to)) = (
            data.get("from_due_at_ms").and_then(Value::as_i64),
            data.get("due_at_ms").and_then(Value::as_i64),
        )
    {
        parts.push(texts::fill(
            t::DUE_MOVED,
            &[("from", &at_ms(state, from).0), ("to", &at_ms(state, to).0)],
        ));
    }
    parts.join(t::SEPARATOR)
}

/// What a correction (补正) changed, field by field as the application page
/// labels them: `用水量：10 吨/日 → 20 吨/日`; phones masked.
fn correction_note(state: &AppState, revision: &Value) -> String {
    use texts::progress as t;
    let services = |side: &str| {
        serde_json::from_value::<onestop_domain::form::Services>(revision[side]["services"].clone())
            .map(|s| crate::web::staff::service_blocks(state, &s))
            .unwrap_or_default()
    };
    let (before, after) = (services("before"), services("after"));
    let mut changes = Vec::new();
    for (old, new) in before.iter().zip(after.iter()) {
        for ((label, a), (_, b)) in old.facts.iter().zip(new.facts.iter()) {
            if a != b {
                changes.push(texts::fill(
                    t::CHANGED,
                    &[("field", label), ("from", a), ("to", b)],
                ));
            }
        }
        if old.equipment != new.equipment {
            changes.push(t::EQUIPMENT_CHANGED.to_owned());
        }
    }
    let contact = |side: &str, key: &str| {
        revision[side]["contact"][key]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_default()
    };
    if revision["after"].get("contact").is_some() {
        for (key, label) in [("name", t::CONTACT_NAME), ("phone", t::CONTACT_PHONE)] {
            let (a, b) = (contact("before", key), contact("after", key));
            if a != b {
                let show = |v: &str| match key {
                    "phone" => onestop_domain::access::mask_phone(v),
                    _ => v.to_owned(),
                };
                changes.push(texts::fill(
                    t::CHANGED,
                    &[("field", &label), ("from", &show(&a)), ("to", &show(&b))],
                ));
            }
        }
    }
    if changes.is_empty() {
        t::UNCHANGED.to_owned()
    } else {
        texts::fill(t::CHANGES, &[("list", &changes.join(t::LIST_SEPARATOR))])
    }
}

fn label_of(state: &AppState, kind: &str) -> String {
    match texts::events::get(kind) {
        Some(label) => label.to_owned(),
        None => state
            .config
            .process
            .action(kind)
            .map_or_else(|| texts::events::OTHER.to_owned(), |a| a.label.clone()),
    }
}

/// One event as a line; `unit` is the unit the line is about (the
/// order's), named first for a person who belongs to it.
fn step(state: &AppState, e: &Event, actors: &Actors, unit: Option<&str>) -> Step {
    let unit = unit.or_else(|| e.data.get("department").and_then(Value::as_str));
    let who = actors.who(&state.config, &e.actor, unit);
    let (at, at_iso) = at_ms(state, e.at_ms);
    let due = e
        .data
        .get("due_at")
        .and_then(Value::as_i64)
        .filter(|_| {
            // Only where the step opened a stage with a clock.
            e.kind == "work_order_created"
                || e.data
                    .get("to")
                    .and_then(|t| t.get("status"))
                    .and_then(Value::as_str)
                    == Some("open")
        })
        .map(|ms| at_ms(state, ms).0);
    Step {
        label: label_of(state, &e.kind),
        at,
        at_iso,
        note: note_of(state, &e.kind, &e.data, &who.text),
        by: who.text,
        system: who.system,
        due,
    }
}

/// The stages an order passed (left by a transition), by the history.
fn passed(order: &WorkOrder, events: &[Event]) -> Vec<Stage> {
    events
        .iter()
        .filter(|e| e.work_order_id.as_deref() == Some(order.id.as_str()))
        // A stage left by skipping it was not passed through.
        .filter(|e| !e.kind.starts_with("skip_"))
        .filter_map(|e| {
            e.data
                .get("from")
                .and_then(|f| f.get("stage"))
                .and_then(Value::as_str)
                .and_then(Stage::parse)
        })
        .collect()
}

fn chips(order: &WorkOrder, events: &[Event]) -> Vec<StageChip> {
    let passed = passed(order, events);
    let current = Stage::ALL.iter().position(|s| *s == order.stage);
    Stage::ALL
        .iter()
        .enumerate()
        .filter(|(_, s)| **s != Stage::Closed)
        .map(|(i, s)| StageChip {
            label: s.label_zh(),
            state: if *s == order.stage {
                "current"
            } else if passed.contains(s) {
                "done"
            } else if current.is_some_and(|c| i < c) {
                "skipped"
            } else {
                "ahead"
            },
        })
        .collect()
}

pub fn order_timeline(state: &AppState, order: &WorkOrder, progress: &Progress) -> OrderTimeline {
    let running = matches!(order.status, OrderStatus::Open | OrderStatus::Returned);
    let events = &progress.events;
    OrderTimeline {
        id: order.id.clone(),
        service: order_service(state, &order.service, order.carrier.as_deref()),
        unit: order.unit.name.clone(),
        stage: order.stage.label_zh(),
        state: order_state_zh(order.stage, order.status),
        time: crate::web::deadline::order(
            state,
            progress.times.get(&order.id),
            order.level.as_str(),
        ),
        status_code: order.status.as_str(),
        status: order.status.label_zh(),
        level_code: order.level.as_str(),
        level: order.level.label_zh(),
        due: crate::web::staff::due_text(state, order),
        due_iso: iso(state, order.due_at),
        running,
        returned: order.status == OrderStatus::Returned,
        chips: chips(order, events),
        steps: chronological(
            events
                .iter()
                .filter(|e| e.work_order_id.as_deref() == Some(order.id.as_str())),
        )
        .map(|e| step(state, e, &progress.actors, Some(&order.unit.code)))
        .collect(),
    }
}

pub fn timelines(state: &AppState, app: &Application, progress: &Progress) -> Vec<OrderTimeline> {
    app.work_orders
        .iter()
        .map(|o| order_timeline(state, o, progress))
        .collect()
}

/// Events by the instant they happened (a level change is recorded when
/// the sweeper notices it, with the instant it happened), in the order
/// recorded among equals.
fn chronological<'a>(events: impl Iterator<Item = &'a Event>) -> std::vec::IntoIter<&'a Event> {
    let mut v: Vec<&Event> = events.collect();
    v.sort_by_key(|e| e.at_ms);
    v.into_iter()
}

/// Whether an event of the whole application is about its approval case.
fn of_case(e: &Event) -> bool {
    e.kind.starts_with("approval_")
}

/// What happened to the application as a whole (the joint survey, the
/// approval case), oldest first.
pub fn shared_steps(state: &AppState, progress: &Progress) -> Vec<Step> {
    chronological(
        progress
            .events
            .iter()
            .filter(|e| e.work_order_id.is_none() && e.kind != "submitted"),
    )
    .map(|e| step(state, e, &progress.actors, None))
    .collect()
}

/// Everything that happened to `order`, in the order it happened: its own
/// steps and what happened to the application as a whole that concerns
/// it (the joint survey; the approval case only when the order's works are
/// in it).
pub fn order_history(state: &AppState, progress: &Progress, order: &WorkOrder) -> Vec<Step> {
    let in_case = progress.in_case(&order.id);
    chronological(
        progress
            .events
            .iter()
            .filter(|e| match e.work_order_id.as_deref() {
                Some(w) => w == order.id,
                None => e.kind != "submitted" && (in_case || !of_case(e)),
            }),
    )
    .map(|e| step(state, e, &progress.actors, Some(&order.unit.code)))
    .collect()
}
