//! Progress as people read it: each utility's order as a timeline of what
//! happened (from the history events), where it stands now and by when, and
//! the stages it passed, skipped or has ahead. Shown on the application's
//! page (to the applicant too) and on each order's page.

use crate::AppState;
use crate::error::ApiError;
use crate::texts;
use crate::web::staff::{iso, order_service, when};
use onestop_domain::application::{Application, OrderStatus, Stage, WorkOrder};
use onestop_domain::timefmt;
use onestop_store::applications::Event;
use serde_json::Value;

/// One thing that happened.
pub struct Step {
    pub label: String,
    pub at: String,
    pub at_iso: String,
    pub by: String,
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
}

pub async fn load(state: &AppState, application_id: String) -> Result<Progress, ApiError> {
    let config = state.config.clone();
    let offset = state.offset;
    Ok(state
        .store
        .read(move |c| {
            Ok(Progress {
                events: onestop_store::applications::events(c, &application_id)?,
                survey: onestop_store::surveys::get(c, &application_id, &config, offset)?,
                case_id: onestop_store::approvals::by_application(c, &application_id)?
                    .map(|k| k.id),
            })
        })
        .await?)
}

pub use onestop_domain::access::actor_label as who;

fn at_ms(state: &AppState, ms: i64) -> (String, String) {
    let t = timefmt::from_ms(ms, state.offset);
    (when(state, t), iso(state, t))
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The notes worth showing from an action's data.
fn note_of(state: &AppState, kind: &str, data: &Value) -> String {
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
        parts.push(texts::fill(
            t::DECISION,
            &[
                ("department", &dept),
                ("decision", &decision),
                ("opinion", &opinion),
            ],
        ));
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
    if kind == "deadline_recomputed"
        && let Some(ms) = data.get("due_at_ms").and_then(Value::as_i64)
    {
        let at = when(state, timefmt::from_ms(ms, state.offset));
        parts.push(texts::fill(t::DUE, &[("at", &at)]));
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
            .map_or_else(|| kind.to_owned(), |a| a.label.clone()),
    }
}

fn step(state: &AppState, e: &Event) -> Step {
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
        by: who(&e.actor),
        note: note_of(state, &e.kind, &e.data),
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

pub fn order_timeline(state: &AppState, order: &WorkOrder, events: &[Event]) -> OrderTimeline {
    let running = matches!(order.status, OrderStatus::Open | OrderStatus::Returned);
    OrderTimeline {
        id: order.id.clone(),
        service: order_service(state, &order.service, order.carrier.as_deref()),
        unit: order.unit.name.clone(),
        stage: order.stage.label_zh(),
        status_code: order.status.as_str(),
        status: order.status.label_zh(),
        level_code: order.level.as_str(),
        level: order.level.label_zh(),
        due: crate::web::staff::due_text(state, order),
        due_iso: iso(state, order.due_at),
        running,
        returned: order.status == OrderStatus::Returned,
        chips: chips(order, events),
        steps: events
            .iter()
            .filter(|e| e.work_order_id.as_deref() == Some(order.id.as_str()))
            .map(|e| step(state, e))
            .collect(),
    }
}

pub fn timelines(state: &AppState, app: &Application, events: &[Event]) -> Vec<OrderTimeline> {
    app.work_orders
        .iter()
        .map(|o| order_timeline(state, o, events))
        .collect()
}

/// What happened to the application as a whole (the joint survey, the
/// approval case), oldest first.
pub fn shared_steps(state: &AppState, events: &[Event]) -> Vec<Step> {
    events
        .iter()
        .filter(|e| e.work_order_id.is_none() && e.kind != "submitted")
        .map(|e| step(state, e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_as_names() {
        assert_eq!(who("account:李四"), "李四");
        assert_eq!(who("system:commitment"), "告知承诺制");
        assert_eq!(who("plain"), "plain");
    }
}
