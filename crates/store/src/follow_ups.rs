//! Follow-ups (咨询回复、差评整改): what a unit owes in writing after a
//! consultation the window passed on, or after a bad rating; with the
//! history of the window's records (`counter_events`, append-only).
//!
//! A follow-up's clock is kept as a work order's is (start, budget,
//! suspended time, earliest deadline) so that a calendar import recounts
//! it exactly ([`recompute`]); the sweeper moves its level
//! (`crate::levels::sweep_follow_ups`).

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row, Value};
use crate::params;
use onestop_domain::application::Level;
use onestop_domain::calendar::Clock;
use onestop_domain::clock::StageClock;
use onestop_domain::counter::{FollowUpKind, FollowUpStatus};

/// One follow-up as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub id: String,
    pub kind: FollowUpKind,
    /// The consultation's or the rating's id.
    pub subject_id: String,
    pub unit_code: String,
    /// The hall it arose at, if any.
    pub hall: Option<String>,
    /// The application a rating was about, if any.
    pub application_id: Option<String>,
    /// What is to be answered: a consultation's topic, a rating's comment.
    pub summary: String,
    pub status: FollowUpStatus,
    pub created_at_ms: i64,
    pub created_by: String,
    pub created_by_account: Option<String>,
    /// Its clock: started, budget, suspended time, earliest deadline.
    pub started_at_ms: i64,
    pub budget_seconds: i64,
    pub suspended_seconds: i64,
    pub due_not_before_ms: Option<i64>,
    pub warn_at_ms: i64,
    pub due_at_ms: i64,
    pub level: Level,
    pub next_level_at_ms: Option<i64>,
    pub response: Option<String>,
    pub answered_at_ms: Option<i64>,
    pub answered_by: Option<String>,
    pub answered_by_account: Option<String>,
    /// Answered after its deadline.
    pub late: Option<bool>,
    pub version: i64,
}

impl FollowUp {
    /// Its clock as the domain counts it.
    pub fn clock(&self) -> StageClock {
        StageClock {
            started_at_ms: self.started_at_ms,
            budget_seconds: self.budget_seconds,
            suspended_seconds: self.suspended_seconds,
            suspended_at_ms: None,
            not_before_ms: self.due_not_before_ms,
            instants: onestop_domain::clock::LevelInstants {
                warn_at_ms: self.warn_at_ms,
                due_at_ms: self.due_at_ms,
            },
        }
    }
}

const COLUMNS: &str = "id, kind, subject_id, unit_code, hall, application_id, summary, status, \
     created_at, created_by, created_by_account, started_at, budget_seconds, suspended_seconds, \
     due_not_before, warn_at, due_at, level, next_level_at, response, answered_at, answered_by, \
     answered_by_account, late, version";

fn decode<T>(what: &str, v: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(v).ok_or_else(|| StoreError::Decode(format!("{what} {v:?}")))
}

fn from_row(r: &Row) -> Result<FollowUp, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    Ok(FollowUp {
        id: r.text(0)?.to_owned(),
        kind: decode("follow-up kind", r.text(1)?, FollowUpKind::parse)?,
        subject_id: r.text(2)?.to_owned(),
        unit_code: r.text(3)?.to_owned(),
        hall: owned(4)?,
        application_id: owned(5)?,
        summary: r.text(6)?.to_owned(),
        status: decode("follow-up status", r.text(7)?, FollowUpStatus::parse)?,
        created_at_ms: r.int(8)?,
        created_by: r.text(9)?.to_owned(),
        created_by_account: owned(10)?,
        started_at_ms: r.int(11)?,
        budget_seconds: r.int(12)?,
        suspended_seconds: r.int(13)?,
        due_not_before_ms: r.opt_int(14)?,
        warn_at_ms: r.int(15)?,
        due_at_ms: r.int(16)?,
        level: decode("level", r.text(17)?, Level::parse)?,
        next_level_at_ms: r.opt_int(18)?,
        response: owned(19)?,
        answered_at_ms: r.opt_int(20)?,
        answered_by: owned(21)?,
        answered_by_account: owned(22)?,
        late: r.opt_int(23)?.map(|v| v != 0),
        version: r.int(24)?,
    })
}

/// A new follow-up (inside the caller's transaction), its clock started.
pub fn insert(conn: &mut dyn Conn, f: &FollowUp) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO follow_ups ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                     $18, $19, $20, $21, $22, $23, $24, $25)"
        ),
        params![
            &f.id,
            f.kind.as_str(),
            &f.subject_id,
            &f.unit_code,
            f.hall.as_deref(),
            f.application_id.as_deref(),
            &f.summary,
            f.status.as_str(),
            f.created_at_ms,
            &f.created_by,
            f.created_by_account.as_deref(),
            f.started_at_ms,
            f.budget_seconds,
            f.suspended_seconds,
            f.due_not_before_ms,
            f.warn_at_ms,
            f.due_at_ms,
            f.level.as_str(),
            f.next_level_at_ms,
            f.response.as_deref(),
            f.answered_at_ms,
            f.answered_by.as_deref(),
            f.answered_by_account.as_deref(),
            f.late,
            f.version
        ],
    )?;
    Ok(())
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<FollowUp>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM follow_ups WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The follow-ups of an application's ratings, oldest first.
pub fn of_application(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<FollowUp>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM follow_ups WHERE application_id = $1
             ORDER BY created_at, id"
        ),
        params![application_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Which follow-ups a list shows.
#[derive(Debug, Clone, Default)]
pub struct FollowUpFilter {
    /// Only these units' and those arisen at `halls` (`None`: every one).
    pub units: Option<Vec<String>>,
    /// With `units`: also those arisen at these halls.
    pub halls: Vec<String>,
    pub status: Option<FollowUpStatus>,
    pub kind: Option<FollowUpKind>,
    /// 1-based page of `per_page`.
    pub page: u32,
    pub per_page: u32,
}

/// Most pages a list is read by number.
pub const MAX_PAGE: u32 = 100;

/// Follow-ups as a unit's inbox shows them: open ones first, the earliest
/// deadline first; then answered ones, the latest answer first. Returns
/// the page and whether another follows.
pub fn list(conn: &mut dyn Conn, f: &FollowUpFilter) -> Result<(Vec<FollowUp>, bool), StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM follow_ups WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    fn marks(values: &[String], args: &mut Vec<Value>) -> String {
        let marks: Vec<String> = values
            .iter()
            .map(|v| {
                args.push(v.as_str().into());
                format!("${}", args.len())
            })
            .collect();
        marks.join(", ")
    }
    if let Some(units) = &f.units {
        let mut any = Vec::new();
        if !units.is_empty() {
            any.push(format!("unit_code IN ({})", marks(units, &mut args)));
        }
        if !f.halls.is_empty() {
            any.push(format!("hall IN ({})", marks(&f.halls, &mut args)));
        }
        if any.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
    }
    if let Some(s) = f.status {
        args.push(s.as_str().into());
        sql.push_str(&format!(" AND status = ${}", args.len()));
    }
    if let Some(k) = f.kind {
        args.push(k.as_str().into());
        sql.push_str(&format!(" AND kind = ${}", args.len()));
    }
    let per_page = i64::from(f.per_page.clamp(1, 100));
    let page = i64::from(f.page.clamp(1, MAX_PAGE));
    args.push((per_page + 1).into());
    let limit = args.len();
    args.push(((page - 1) * per_page).into());
    let offset = args.len();
    sql.push_str(&format!(
        " ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END,
                   CASE WHEN status = 'open' THEN due_at ELSE -answered_at END, id
          LIMIT ${limit} OFFSET ${offset}"
    ));
    let mut items: Vec<FollowUp> = conn
        .query(&sql, &args)?
        .iter()
        .map(from_row)
        .collect::<Result<_, _>>()?;
    let more = items.len() as i64 > per_page;
    items.truncate(per_page as usize);
    Ok((items, more))
}

/// Open follow-ups of these units (every unit's when `None`), counted.
pub fn open_count(conn: &mut dyn Conn, units: Option<&[String]>) -> Result<i64, StoreError> {
    let row = match units {
        None => conn.query_opt("SELECT COUNT(*) FROM follow_ups WHERE status = 'open'", &[])?,
        Some([]) => return Ok(0),
        Some(units) => {
            let args: Vec<Value> = units.iter().map(|u| u.as_str().into()).collect();
            let marks: Vec<String> = (1..=units.len()).map(|i| format!("${i}")).collect();
            conn.query_opt(
                &format!(
                    "SELECT COUNT(*) FROM follow_ups WHERE status = 'open'
                     AND unit_code IN ({})",
                    marks.join(", ")
                ),
                &args,
            )?
        }
    };
    row.map_or(Ok(0), |r| r.int(0))
}

/// Records the unit's answer to an open follow-up at `version`: its clock
/// stops (no further level change), and whether it was late is kept.
/// `false` when it is no longer open at that version.
pub fn answer(
    conn: &mut dyn Conn,
    id: &str,
    version: i64,
    response: &str,
    by: &str,
    by_account: Option<&str>,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE follow_ups SET status = 'answered', response = $3, answered_by = $4,
                answered_by_account = $5, answered_at = $6,
                late = CASE WHEN $6 > due_at THEN 1 ELSE 0 END,
                next_level_at = NULL, version = version + 1
         WHERE id = $1 AND version = $2 AND status = 'open'",
        params![id, version, response, by, by_account, at_ms],
    )? == 1)
}

/// One record of the window's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterEvent {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: String,
    pub hall: Option<String>,
    pub unit_code: Option<String>,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub data: serde_json::Value,
}

/// Appends one record to the window's history (inside the caller's
/// transaction); the history is never changed.
#[allow(clippy::too_many_arguments)]
pub fn event(
    conn: &mut dyn Conn,
    subject_kind: &str,
    subject_id: &str,
    hall: Option<&str>,
    unit_code: Option<&str>,
    at_ms: i64,
    actor: &str,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO counter_events (subject_kind, subject_id, hall, unit_code, at, actor, kind, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            subject_kind,
            subject_id,
            hall,
            unit_code,
            at_ms,
            actor,
            kind,
            data.to_string()
        ],
    )?;
    Ok(())
}

/// The history of one record, oldest first.
pub fn events(
    conn: &mut dyn Conn,
    subject_kind: &str,
    subject_id: &str,
) -> Result<Vec<CounterEvent>, StoreError> {
    conn.query(
        "SELECT id, subject_kind, subject_id, hall, unit_code, at, actor, kind, data
         FROM counter_events WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id",
        params![subject_kind, subject_id],
    )?
    .iter()
    .map(|r| {
        Ok(CounterEvent {
            id: r.int(0)?,
            subject_kind: r.text(1)?.to_owned(),
            subject_id: r.text(2)?.to_owned(),
            hall: r.opt_text(3)?.map(str::to_owned),
            unit_code: r.opt_text(4)?.map(str::to_owned),
            at_ms: r.int(5)?,
            actor: r.text(6)?.to_owned(),
            kind: r.text(7)?.to_owned(),
            data: serde_json::from_str(r.text(8)?).unwrap_or(serde_json::Value::Null),
        })
    })
    .collect()
}

/// Recounts every open follow-up's warning instant, deadline and level on
/// `clock` (a calendar import), each moved one with a history record.
/// Returns how many moved.
pub fn recompute(
    conn: &mut dyn Conn,
    clock: &Clock,
    share: f64,
    now_ms: i64,
    actor: &str,
) -> Result<usize, StoreError> {
    let rows = conn.query(
        &format!("SELECT {COLUMNS} FROM follow_ups WHERE status = 'open' ORDER BY id"),
        &[],
    )?;
    let mut moved = 0;
    for r in &rows {
        let f = from_row(r)?;
        let stage = f
            .clock()
            .recompute(clock, share)
            .map_err(StoreError::Calendar)?;
        let (warn, due) = (stage.instants.warn_at_ms, stage.instants.due_at_ms);
        if warn == f.warn_at_ms && due == f.due_at_ms {
            continue;
        }
        let level = stage.level_at(now_ms);
        conn.execute(
            "UPDATE follow_ups SET warn_at = $2, due_at = $3, level = $4, next_level_at = $5
             WHERE id = $1",
            params![&f.id, warn, due, level.as_str(), stage.next_change(level)],
        )?;
        event(
            conn,
            "follow_up",
            &f.id,
            f.hall.as_deref(),
            Some(&f.unit_code),
            now_ms,
            actor,
            "deadline_recomputed",
            &serde_json::json!({
                "reason": "calendar_import",
                "from_due_at_ms": f.due_at_ms,
                "due_at_ms": due,
                "from_level": f.level.as_str(),
                "level": level.as_str(),
            }),
        )?;
        moved += 1;
    }
    Ok(moved)
}

/// One unit's follow-ups of one kind over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnTime {
    pub unit_code: String,
    pub kind: String,
    /// Answered in the period, and how many of them after the deadline.
    pub answered: i64,
    pub late: i64,
    /// Due in the period and still open past the deadline at `now`.
    pub overdue_open: i64,
}

/// Per unit and kind: follow-ups answered between `from_ms` and `to_ms`
/// (and how many late), and those due in it still open past their
/// deadline at `now_ms`.
pub fn on_time_by_unit(
    conn: &mut dyn Conn,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<Vec<OnTime>, StoreError> {
    let rows = conn.query(
        "SELECT unit_code, kind,
                CAST(SUM(CASE WHEN status = 'answered' AND answered_at >= $1 AND answered_at < $2
                              THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'answered' AND answered_at >= $1 AND answered_at < $2
                              AND late = 1 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'open' AND due_at >= $1 AND due_at < $2
                              AND due_at <= $3 THEN 1 ELSE 0 END) AS BIGINT)
         FROM follow_ups
         WHERE (answered_at >= $1 AND answered_at < $2) OR (due_at >= $1 AND due_at < $2)
         GROUP BY unit_code, kind ORDER BY unit_code, kind",
        params![from_ms, to_ms, now_ms],
    )?;
    rows.iter()
        .map(|r| {
            Ok(OnTime {
                unit_code: r.text(0)?.to_owned(),
                kind: r.text(1)?.to_owned(),
                answered: r.int(2)?,
                late: r.int(3)?,
                overdue_open: r.int(4)?,
            })
        })
        .collect()
}
