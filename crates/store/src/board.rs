//! The supervisor's board: open work orders counted by their dimensions, the
//! overdue list, and a period's finished stages (`stage_times`).
//!
//! Every query reads an index made for it (migration 13): open orders from
//! the partial index of open orders, overdue ones from the partial index of
//! overdue ones, finished stages from `stage_times` clustered by their end.
//! Day numbers are local days: `(instant_ms + offset_ms) / 86 400 000`.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Value};
use onestop_domain::application::{Level, OrderStatus, Stage};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Which orders the board counts: all, or one district's, or one service's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    pub district: Option<String>,
    pub service: Option<String>,
}

impl BoardFilter {
    /// `AND col = $n` for each filter set, its values appended to `args`.
    pub(crate) fn clauses(&self, prefix: &str, args: &mut Vec<Value>) -> String {
        let mut sql = String::new();
        for (col, v) in [
            ("district_code", &self.district),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                args.push(v.into());
                sql.push_str(&format!(" AND {prefix}{col} = ${}", args.len()));
            }
        }
        sql
    }
}

/// How many open orders share one service, unit, stage and level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    pub service: String,
    pub unit_code: String,
    pub stage: Stage,
    pub level: Level,
    pub count: i64,
}

/// Open orders (status `open` or `returned`) counted by service, unit,
/// stage and level, counted now (a pass over the work orders; the board uses
/// it only while the server has no recent background count).
pub fn open_counts(conn: &mut dyn Conn, f: &BoardFilter) -> Result<Vec<OpenCount>, StoreError> {
    let mut args = Vec::new();
    let filters = f.clauses("", &mut args);
    let sql = format!(
        "SELECT service, unit_code, stage, level, COUNT(*) FROM work_orders
         WHERE status IN ('open', 'returned'){filters}
         GROUP BY district_code, service, unit_code, stage, level"
    );
    let mut out: Vec<OpenCount> = Vec::new();
    for r in conn.query(&sql, &args)? {
        let stage = decode(r.text(2)?, Stage::parse)?;
        let level = decode(r.text(3)?, Level::parse)?;
        let (service, unit) = (r.text(0)?, r.text(1)?);
        let n = r.int(4)?;
        match out.iter_mut().find(|c| {
            c.service == service && c.unit_code == unit && c.stage == stage && c.level == level
        }) {
            Some(c) => c.count += n,
            None => out.push(OpenCount {
                service: service.to_owned(),
                unit_code: unit.to_owned(),
                stage,
                level,
                count: n,
            }),
        }
    }
    Ok(out)
}

/// Every open order counted by district, service, unit, stage and level
/// (one pass over the work orders): what the server's background count
/// keeps, filtered by [`merge_counts`].
pub fn open_counts_by_district(
    conn: &mut dyn Conn,
) -> Result<Vec<(String, OpenCount)>, StoreError> {
    let sql = "SELECT district_code, service, unit_code, stage, level, COUNT(*) FROM work_orders
         WHERE status IN ('open', 'returned')
         GROUP BY district_code, service, unit_code, stage, level";
    conn.query(sql, &[])?
        .iter()
        .map(|r| {
            Ok((
                r.text(0)?.to_owned(),
                OpenCount {
                    service: r.text(1)?.to_owned(),
                    unit_code: r.text(2)?.to_owned(),
                    stage: decode(r.text(3)?, Stage::parse)?,
                    level: decode(r.text(4)?, Level::parse)?,
                    count: r.int(5)?,
                },
            ))
        })
        .collect()
}

/// [`open_counts`] from rows of [`open_counts_by_district`]: those the
/// filter keeps, merged over districts, in first-seen order.
pub fn merge_counts(rows: &[(String, OpenCount)], f: &BoardFilter) -> Vec<OpenCount> {
    let mut out: Vec<OpenCount> = Vec::new();
    for (district, c) in rows {
        if f.district.as_ref().is_some_and(|d| d != district)
            || f.service.as_ref().is_some_and(|s| *s != c.service)
        {
            continue;
        }
        match out.iter_mut().find(|o| {
            o.service == c.service
                && o.unit_code == c.unit_code
                && o.stage == c.stage
                && o.level == c.level
        }) {
            Some(o) => o.count += c.count,
            None => out.push(c.clone()),
        }
    }
    out
}

/// One overdue order on the board's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueOrder {
    pub id: String,
    pub application_id: String,
    pub application_number: String,
    pub applicant_name: String,
    pub district_code: String,
    pub service: String,
    pub unit_code: String,
    pub stage: Stage,
    pub status: OrderStatus,
    pub due_at_ms: i64,
}

/// Overdue orders, the longest overdue (earliest deadline) first, at most `limit`.
pub fn overdue(
    conn: &mut dyn Conn,
    f: &BoardFilter,
    limit: u32,
) -> Result<Vec<OverdueOrder>, StoreError> {
    let mut args = Vec::new();
    let filters = f.clauses("w.", &mut args);
    args.push(i64::from(limit).into());
    let sql = format!(
        "SELECT w.id, w.application_id, a.number, a.applicant_name, w.district_code, w.service,
                w.unit_code, w.stage, w.status, w.due_at
         FROM work_orders w JOIN applications a ON a.id = w.application_id
         WHERE w.level = 'overdue'{filters}
         ORDER BY w.due_at, w.id LIMIT ${}",
        args.len()
    );
    conn.query(&sql, &args)?
        .iter()
        .map(|r| {
            Ok(OverdueOrder {
                id: r.text(0)?.to_owned(),
                application_id: r.text(1)?.to_owned(),
                application_number: r.text(2)?.to_owned(),
                applicant_name: r.text(3)?.to_owned(),
                district_code: r.text(4)?.to_owned(),
                service: r.text(5)?.to_owned(),
                unit_code: r.text(6)?.to_owned(),
                stage: decode(r.text(7)?, Stage::parse)?,
                status: decode(r.text(8)?, OrderStatus::parse)?,
                due_at_ms: r.int(9)?,
            })
        })
        .collect()
}

/// A period: `[from_ms, to_ms)`, and the city's offset from UTC for days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from_ms: i64,
    pub to_ms: i64,
    pub offset_ms: i64,
}

impl Period {
    /// The local day number of an instant.
    pub fn day_of(&self, ms: i64) -> i64 {
        (ms + self.offset_ms).div_euclid(DAY_MS)
    }
}

/// Finished stages of one unit and stage on one local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDay {
    pub unit_code: String,
    pub stage: Stage,
    /// Local day number of the end (see [`Period::day_of`]).
    pub day: i64,
    pub finished: i64,
    pub late: i64,
    pub working_seconds: i64,
}

/// Stages finished in the period, by unit, stage and local day of their end.
pub fn finished_stages(
    conn: &mut dyn Conn,
    f: &BoardFilter,
    p: Period,
) -> Result<Vec<StageDay>, StoreError> {
    let mut args: Vec<Value> = vec![p.offset_ms.into(), p.from_ms.into(), p.to_ms.into()];
    let filters = f.clauses("", &mut args);
    let sql = format!(
        "SELECT unit_code, stage, (ended_at + $1) / {DAY_MS}, COUNT(*),
                CAST(SUM(late) AS BIGINT), CAST(SUM(working_seconds) AS BIGINT)
         FROM stage_times
         WHERE ended_at >= $2 AND ended_at < $3{filters}
         GROUP BY 1, 2, 3"
    );
    conn.query(&sql, &args)?
        .iter()
        .map(|r| {
            Ok(StageDay {
                unit_code: r.text(0)?.to_owned(),
                stage: decode(r.text(1)?, Stage::parse)?,
                day: r.int(2)?,
                finished: r.int(3)?,
                late: r.int(4)?,
                working_seconds: r.int(5)?,
            })
        })
        .collect()
}

/// How many stages reached their deadline unfinished on each local day of
/// the period: those that ended late, and the open orders overdue now.
/// Returns `(day, count)` pairs (days without any are absent).
pub fn overdue_by_day(
    conn: &mut dyn Conn,
    f: &BoardFilter,
    p: Period,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut args: Vec<Value> = vec![p.offset_ms.into(), p.from_ms.into(), p.to_ms.into()];
    let filters = f.clauses("", &mut args);
    // A stage that ended late with its deadline in the period ended after
    // the period began: the range on `ended_at` keeps the scan short.
    let ended = format!(
        "SELECT (due_at + $1) / {DAY_MS}, COUNT(*) FROM stage_times
         WHERE ended_at >= $2 AND late = 1 AND due_at >= $2 AND due_at < $3{filters}
         GROUP BY 1"
    );
    let open = format!(
        "SELECT (due_at + $1) / {DAY_MS}, COUNT(*) FROM work_orders
         WHERE level = 'overdue' AND due_at >= $2 AND due_at < $3{filters}
         GROUP BY 1"
    );
    let mut days: Vec<(i64, i64)> = Vec::new();
    for sql in [ended, open] {
        for r in conn.query(&sql, &args)? {
            let (day, n) = (r.int(0)?, r.int(1)?);
            match days.iter_mut().find(|(d, _)| *d == day) {
                Some((_, c)) => *c += n,
                None => days.push((day, n)),
            }
        }
    }
    days.sort_unstable();
    Ok(days)
}

/// Applications filed at a hall's window on one local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallFilings {
    pub hall_code: String,
    /// Local day number (see [`Period::day_of`]).
    pub day: i64,
    pub filed: i64,
}

/// Applications filed at windows in the period, per hall and local day of
/// submission; with `service`, only those asking for it.
pub fn window_filings(
    conn: &mut dyn Conn,
    service: Option<&str>,
    p: Period,
) -> Result<Vec<HallFilings>, StoreError> {
    let mut args: Vec<Value> = vec![p.offset_ms.into(), p.from_ms.into(), p.to_ms.into()];
    let mut sql = format!(
        "SELECT a.hall_id, (a.submitted_at + $1) / {DAY_MS}, COUNT(*) FROM applications a
         WHERE a.submitted_at >= $2 AND a.submitted_at < $3 AND a.hall_id IS NOT NULL"
    );
    if let Some(s) = service {
        args.push(s.into());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM work_orders w
                          WHERE w.application_id = a.id AND w.service = ${})",
            args.len()
        ));
    }
    sql.push_str(" GROUP BY 1, 2 ORDER BY 2, 1");
    conn.query(&sql, &args)?
        .iter()
        .map(|r| {
            Ok(HallFilings {
                hall_code: r.text(0)?.to_owned(),
                day: r.int(1)?,
                filed: r.int(2)?,
            })
        })
        .collect()
}

fn decode<T>(code: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(code).ok_or_else(|| StoreError::Decode(format!("unknown code {code:?}")))
}
