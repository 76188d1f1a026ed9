//! Early warning and overdue: the sweeper's side in the store.
//!
//! Every open work order carries the instant its level changes next
//! (`next_level_at`: the warning instant while normal, the deadline while in
//! warning, none once overdue or while its clock is stopped). A sweep moves
//! the orders whose instant has passed, each with its history event, in the
//! caller's transaction. The move is conditional on the instant the sweep
//! read, so when several processes sweep one database at once each change
//! happens — and is recorded — exactly once.

use crate::StoreError;
use crate::db::Conn;
use crate::db::Sql as _;
use crate::params;
use onestop_domain::application::{Level, OrderStatus, Stage};
use onestop_domain::calendar::Clock;
use onestop_domain::clock::{LevelInstants, StageClock};

/// Who the history names for a level change.
pub const SWEEPER: &str = "system:clock";

/// One order whose level changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub order_id: String,
    pub application_id: String,
    pub application_number: String,
    pub service: String,
    pub unit_code: String,
    pub stage: Stage,
    pub from: Level,
    pub to: Level,
    /// The instant the level changed (the warning instant or the deadline).
    pub at_ms: i64,
    pub due_at_ms: i64,
}

/// The history event kind of a move to `level`.
pub fn event_kind(level: Level) -> &'static str {
    match level {
        Level::Normal => "level_normal",
        Level::Warning => "level_warning",
        Level::Overdue => "level_overdue",
    }
}

/// One swept row's level change: reads its level columns (`cols`: level,
/// warning instant, deadline, the next-change instant read) and moves it,
/// unless another sweeper moved it first. `None`: nothing to tell (moved by
/// another, or the level stays).
fn step(
    conn: &mut dyn Conn,
    table: &str,
    r: &crate::db::Row,
    cols: [usize; 4],
    now_ms: i64,
) -> Result<Option<(Level, Level, LevelInstants)>, StoreError> {
    let [level, warn, due, seen] = cols;
    let from = Level::parse(r.text(level)?)
        .ok_or_else(|| StoreError::Decode(format!("level {:?}", r.text(level))))?;
    let due = r.int(due)?;
    let at = LevelInstants {
        warn_at_ms: r.opt_int(warn)?.unwrap_or(due),
        due_at_ms: due,
    };
    let seen = r.int(seen)?;
    let to = at.level_at(now_ms);
    let next = at.next_change(to);
    let n = conn.execute(
        &format!(
            "UPDATE {table} SET level = $2, next_level_at = $3
             WHERE id = $1 AND next_level_at = $4"
        ),
        params![r.text(0)?, to.as_str(), next, seen],
    )?;
    Ok((n == 1 && to != from).then_some((from, to, at)))
}

/// Moves at most `limit` orders whose next level change is due at `now_ms`,
/// oldest first. Returns what moved (an order another sweeper moved first
/// is not in it).
pub fn sweep(conn: &mut dyn Conn, now_ms: i64, limit: u32) -> Result<Vec<Moved>, StoreError> {
    let rows = conn.query(
        "SELECT w.id, w.application_id, w.unit_code, w.stage, w.level, w.warn_at, w.due_at,
                w.next_level_at, a.number, w.service
         FROM work_orders w JOIN applications a ON a.id = w.application_id
         WHERE w.next_level_at IS NOT NULL AND w.next_level_at <= $1
         ORDER BY w.next_level_at LIMIT $2",
        params![now_ms, i64::from(limit)],
    )?;
    let mut moved = Vec::new();
    for r in &rows {
        let id = r.text(0)?;
        let Some((from, to, at)) = step(conn, "work_orders", r, [4, 5, 6, 7], now_ms)? else {
            continue;
        };
        let due = at.due_at_ms;
        let m = Moved {
            order_id: id.to_owned(),
            application_id: r.text(1)?.to_owned(),
            application_number: r.text(8)?.to_owned(),
            service: r.text(9)?.to_owned(),
            unit_code: r.text(2)?.to_owned(),
            stage: Stage::parse(r.text(3)?)
                .ok_or_else(|| StoreError::Decode(format!("stage {:?}", r.text(3))))?,
            from,
            to,
            at_ms: if to == Level::Overdue {
                due
            } else {
                at.warn_at_ms
            },
            due_at_ms: due,
        };
        let data = serde_json::json!({
            "from": m.from.as_str(),
            "to": m.to.as_str(),
            "stage": m.stage.as_str(),
            "due_at": m.due_at_ms,
        });
        conn.execute(
            "INSERT INTO history_events (application_id, work_order_id, at, actor, kind, data)
             VALUES ($1, $2, $3, $4, $5, $6)",
            params![
                &m.application_id,
                &m.order_id,
                m.at_ms,
                SWEEPER,
                event_kind(m.to),
                data.to_string()
            ],
        )?;
        moved.push(m);
    }
    Ok(moved)
}

/// Gives open orders from before levels existed their warning instant,
/// level and next change (at most `limit` per call; returns how many).
pub fn backfill(
    conn: &mut dyn Conn,
    clock: &Clock,
    warning_share: f64,
    now_ms: i64,
    limit: u32,
) -> Result<usize, StoreError> {
    let rows = conn.query(
        "SELECT id, status, stage_started_at, budget_seconds, suspended_seconds, suspended_at,
                due_not_before
         FROM work_orders
         WHERE warn_at IS NULL AND status IN ('open', 'returned')
         LIMIT $1",
        params![i64::from(limit)],
    )?;
    let cal = StoreError::Calendar;
    for r in &rows {
        let stage = StageClock::from_ledger(
            clock,
            r.int(2)?,
            r.int(3)?,
            r.int(4)?,
            r.opt_int(5)?,
            r.opt_int(6)?,
            warning_share,
        )
        .map_err(cal)?;
        // A stopped clock keeps the level it had when it stopped.
        let level = stage.level_at(now_ms);
        let next = if r.text(1)? == OrderStatus::Open.as_str() {
            stage.next_change(level)
        } else {
            None
        };
        conn.execute(
            "UPDATE work_orders SET warn_at = $2, level = $3, next_level_at = $4 WHERE id = $1",
            params![r.text(0)?, stage.instants.warn_at_ms, level.as_str(), next],
        )?;
    }
    Ok(rows.len())
}

/// One approval item whose level changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedItem {
    pub item_id: String,
    pub case_id: String,
    pub application_id: String,
    pub application_number: String,
    pub department: String,
    pub from: Level,
    pub to: Level,
    pub at_ms: i64,
    pub due_at_ms: i64,
}

/// [`sweep`] for pending approval items: the same rules, the history event
/// on the application.
pub fn sweep_items(
    conn: &mut dyn Conn,
    now_ms: i64,
    limit: u32,
) -> Result<Vec<MovedItem>, StoreError> {
    let rows = conn.query(
        "SELECT i.id, i.case_id, c.application_id, a.number, i.department_code, i.level,
                i.warn_at, i.due_at, i.next_level_at
         FROM approval_items i
         JOIN approval_cases c ON c.id = i.case_id
         JOIN applications a ON a.id = c.application_id
         WHERE i.next_level_at IS NOT NULL AND i.next_level_at <= $1 AND i.status = 'pending'
         ORDER BY i.next_level_at LIMIT $2",
        params![now_ms, i64::from(limit)],
    )?;
    let mut moved = Vec::new();
    for r in &rows {
        let id = r.text(0)?;
        let Some((from, to, at)) = step(conn, "approval_items", r, [5, 6, 7, 8], now_ms)? else {
            continue;
        };
        let due = at.due_at_ms;
        let m = MovedItem {
            item_id: id.to_owned(),
            case_id: r.text(1)?.to_owned(),
            application_id: r.text(2)?.to_owned(),
            application_number: r.text(3)?.to_owned(),
            department: r.text(4)?.to_owned(),
            from,
            to,
            at_ms: if to == Level::Overdue {
                due
            } else {
                at.warn_at_ms
            },
            due_at_ms: due,
        };
        let data = serde_json::json!({
            "item": m.item_id,
            "case": m.case_id,
            "department": m.department,
            "from": m.from.as_str(),
            "to": m.to.as_str(),
            "due_at": m.due_at_ms,
        });
        conn.execute(
            "INSERT INTO history_events (application_id, work_order_id, at, actor, kind, data)
             VALUES ($1, NULL, $2, $3, $4, $5)",
            params![
                &m.application_id,
                m.at_ms,
                SWEEPER,
                format!("approval_{}", event_kind(m.to)),
                data.to_string()
            ],
        )?;
        moved.push(m);
    }
    Ok(moved)
}

/// One follow-up (咨询回复、差评整改) whose level changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedFollowUp {
    pub follow_up_id: String,
    pub kind: String,
    pub unit_code: String,
    pub hall: Option<String>,
    pub summary: String,
    pub from: Level,
    pub to: Level,
    pub at_ms: i64,
    pub due_at_ms: i64,
}

/// [`sweep`] for open follow-ups: the same rules, the history record in
/// the window's history (`counter_events`).
pub fn sweep_follow_ups(
    conn: &mut dyn Conn,
    now_ms: i64,
    limit: u32,
) -> Result<Vec<MovedFollowUp>, StoreError> {
    let rows = conn.query(
        "SELECT id, kind, unit_code, hall, summary, level, warn_at, due_at, next_level_at
         FROM follow_ups
         WHERE next_level_at IS NOT NULL AND next_level_at <= $1 AND status = 'open'
         ORDER BY next_level_at LIMIT $2",
        params![now_ms, i64::from(limit)],
    )?;
    let mut moved = Vec::new();
    for r in &rows {
        let Some((from, to, at)) = step(conn, "follow_ups", r, [5, 6, 7, 8], now_ms)? else {
            continue;
        };
        let m = MovedFollowUp {
            follow_up_id: r.text(0)?.to_owned(),
            kind: r.text(1)?.to_owned(),
            unit_code: r.text(2)?.to_owned(),
            hall: r.opt_text(3)?.map(str::to_owned),
            summary: r.text(4)?.to_owned(),
            from,
            to,
            at_ms: if to == Level::Overdue {
                at.due_at_ms
            } else {
                at.warn_at_ms
            },
            due_at_ms: at.due_at_ms,
        };
        crate::follow_ups::event(
            conn,
            "follow_up",
            &m.follow_up_id,
            m.hall.as_deref(),
            Some(&m.unit_code),
            m.at_ms,
            SWEEPER,
            event_kind(m.to),
            &serde_json::json!({
                "from": m.from.as_str(),
                "to": m.to.as_str(),
                "due_at": m.due_at_ms,
            }),
        )?;
        moved.push(m);
    }
    Ok(moved)
}
