//! Imported working-day calendars, and the recomputation of every open work
//! order's deadline, warning instant and level when the calendar changes.

use crate::StoreError;
use crate::db::Conn;
use crate::db::Sql as _;
use crate::params;
use onestop_domain::application::{Level, OrderStatus};
use onestop_domain::calendar::Clock;
use onestop_domain::clock::StageClock;

/// Who the history names for a deadline moved by a calendar import.
pub const CALENDAR_ACTOR: &str = "system:calendar";

/// The newest import: its id and overrides text.
pub fn latest(conn: &mut dyn Conn) -> Result<Option<(i64, String)>, StoreError> {
    conn.query_opt(
        "SELECT id, overrides FROM calendar_imports ORDER BY id DESC LIMIT 1",
        &[],
    )?
    .map(|r| Ok((r.int(0)?, r.text(1)?.to_owned())))
    .transpose()
}

/// The newest import's id (0: none).
pub fn latest_id(conn: &mut dyn Conn) -> Result<i64, StoreError> {
    conn.query_opt("SELECT MAX(id) FROM calendar_imports", &[])?
        .map_or(Ok(0), |r| Ok(r.opt_int(0)?.unwrap_or(0)))
}

/// One earlier import, for the administrators' page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub id: i64,
    pub imported_at_ms: i64,
    pub imported_by: String,
    pub orders_moved: i64,
}

pub fn imports(conn: &mut dyn Conn, limit: u32) -> Result<Vec<Import>, StoreError> {
    conn.query(
        "SELECT id, imported_at, imported_by, orders_moved FROM calendar_imports
         ORDER BY id DESC LIMIT $1",
        params![i64::from(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(Import {
            id: r.int(0)?,
            imported_at_ms: r.int(1)?,
            imported_by: r.text(2)?.to_owned(),
            orders_moved: r.int(3)?,
        })
    })
    .collect()
}

/// An order whose deadline the new calendar moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub order_id: String,
    pub old_due_ms: i64,
    pub new_due_ms: i64,
    pub level: Level,
}

/// Stores `overrides` as the calendar in use and recomputes, with `clock`
/// (built from it), the deadline, warning instant and level of every open
/// or returned work order and every pending approval item, each moved one
/// with a history event — all in the caller's transaction. Returns the
/// import's id and the orders moved.
pub fn import(
    conn: &mut dyn Conn,
    overrides: &str,
    clock: &Clock,
    warning_share: f64,
    approval_budget_seconds: i64,
    actor: &str,
    now_ms: i64,
) -> Result<(i64, Vec<Moved>), StoreError> {
    let moved = recompute(conn, clock, warning_share, now_ms)?;
    recompute_items(
        conn,
        clock,
        approval_budget_seconds,
        warning_share,
        now_ms,
        false,
    )?;
    crate::follow_ups::recompute(conn, clock, warning_share, now_ms, CALENDAR_ACTOR)?;
    let row = conn
        .query_opt(
            "INSERT INTO calendar_imports (overrides, imported_at, imported_by, orders_moved)
             VALUES ($1, $2, $3, $4) RETURNING id",
            params![overrides, now_ms, actor, moved.len() as i64],
        )?
        .ok_or_else(|| StoreError::Internal("calendar import not stored".into()))?;
    Ok((row.int(0)?, moved))
}

fn recompute(
    conn: &mut dyn Conn,
    clock: &Clock,
    share: f64,
    now_ms: i64,
) -> Result<Vec<Moved>, StoreError> {
    let cal = StoreError::Calendar;
    let mut moved = Vec::new();
    let mut after = String::new();
    loop {
        let rows = conn.query(
            "SELECT id, application_id, status, stage_started_at, budget_seconds,
                    suspended_seconds, suspended_at, due_at, warn_at, level, due_not_before
             FROM work_orders
             WHERE status IN ('open', 'returned') AND id > $1
             ORDER BY id LIMIT 2000",
            params![&after],
        )?;
        let Some(last) = rows.last() else {
            return Ok(moved);
        };
        after = last.text(0)?.to_owned();
        for r in &rows {
            let stage = StageClock::from_ledger(
                clock,
                r.int(3)?,
                r.int(4)?,
                r.int(5)?,
                r.opt_int(6)?,
                r.opt_int(10)?,
                share,
            )
            .map_err(cal)?;
            let (warn, due) = (stage.instants.warn_at_ms, stage.instants.due_at_ms);
            let old_due = r.opt_int(7)?.unwrap_or(0);
            if due == old_due && r.opt_int(8)? == Some(warn) {
                continue;
            }
            let running = r.text(2)? == OrderStatus::Open.as_str() && stage.is_running();
            let old_level = Level::parse(r.text(9)?).unwrap_or(Level::Normal);
            // A stopped clock keeps its level until it runs again.
            let level = if running {
                stage.instants.level_at(now_ms)
            } else {
                old_level
            };
            let next = if running {
                stage.next_change(level)
            } else {
                None
            };
            let id = r.text(0)?;
            conn.execute(
                "UPDATE work_orders SET due_at = $2, warn_at = $3, level = $4, next_level_at = $5
                 WHERE id = $1",
                params![id, due, warn, level.as_str(), next],
            )?;
            crate::applications::history(
                conn,
                r.text(1)?,
                Some(id),
                now_ms,
                CALENDAR_ACTOR,
                "deadline_recomputed",
                &serde_json::json!({
                    "reason": "calendar_import",
                    "from_due_at_ms": old_due,
                    "due_at_ms": due,
                    "from_level": old_level.as_str(),
                    "level": level.as_str(),
                }),
            )?;
            moved.push(Moved {
                order_id: id.to_owned(),
                old_due_ms: old_due,
                new_due_ms: due,
                level,
            });
        }
    }
}

/// Recomputes the deadline, warning instant and level of pending approval
/// items from the start of their round (the case raised, or the revision
/// that opened the round) and the approval budget; with `only_missing`,
/// only items without a warning instant (from before levels existed), and
/// without history events. Returns how many items changed.
pub fn recompute_items(
    conn: &mut dyn Conn,
    clock: &Clock,
    budget_seconds: i64,
    share: f64,
    now_ms: i64,
    only_missing: bool,
) -> Result<usize, StoreError> {
    let cal = StoreError::Calendar;
    let rows = conn.query(
        &format!(
            "SELECT i.id, c.application_id, i.case_id, i.department_code, c.created_at,
                    r.revised_at, i.due_at, i.warn_at, i.level
             FROM approval_items i
             JOIN approval_cases c ON c.id = i.case_id
             LEFT JOIN approval_revisions r ON r.case_id = i.case_id AND r.round = i.round
             WHERE i.status = 'pending'{}",
            if only_missing {
                " AND i.warn_at IS NULL"
            } else {
                ""
            }
        ),
        &[],
    )?;
    let mut changed = 0;
    let mut cases = Vec::new();
    for r in &rows {
        // An item's clock runs from the start of its round, never stopped.
        let started = r.opt_int(5)?.unwrap_or(r.int(4)?);
        let item = StageClock::start(clock, started, budget_seconds, share).map_err(cal)?;
        let (warn, due) = (item.instants.warn_at_ms, item.instants.due_at_ms);
        let old_due = r.int(6)?;
        if due == old_due && r.opt_int(7)? == Some(warn) {
            continue;
        }
        let old_level = Level::parse(r.text(8)?).unwrap_or(Level::Normal);
        let level = item.level_at(now_ms);
        conn.execute(
            "UPDATE approval_items SET due_at = $2, warn_at = $3, level = $4, next_level_at = $5
             WHERE id = $1",
            params![
                r.text(0)?,
                due,
                warn,
                level.as_str(),
                item.next_change(level)
            ],
        )?;
        if !only_missing {
            crate::applications::history(
                conn,
                r.text(1)?,
                None,
                now_ms,
                CALENDAR_ACTOR,
                "approval_deadline_recomputed",
                &serde_json::json!({
                    "reason": "calendar_import",
                    "item": r.text(0)?,
                    "department": r.text(3)?,
                    "from_due_at_ms": old_due,
                    "due_at_ms": due,
                    "from_level": old_level.as_str(),
                    "level": level.as_str(),
                }),
            )?;
        }
        cases.push(r.text(2)?.to_owned());
        changed += 1;
    }
    cases.sort();
    cases.dedup();
    for c in cases {
        conn.execute(
            "UPDATE approval_cases SET due_at = COALESCE(
                 (SELECT MAX(due_at) FROM approval_items
                  WHERE case_id = $1 AND round = approval_cases.round), due_at)
             WHERE id = $1",
            params![&c],
        )?;
    }
    Ok(changed)
}
