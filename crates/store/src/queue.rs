//! Queue tickets (取号) of a hall: numbered per hall and day from 1, taken,
//! called to a counter, served or missed; and the waiting and service
//! times per hall and day.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;
use onestop_domain::counter::{BusinessKind, TicketStatus};

/// One ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub hall: String,
    pub day: String,
    pub number: i64,
    pub kind: BusinessKind,
    pub status: TicketStatus,
    pub taken_at_ms: i64,
    pub taken_by: String,
    pub called_at_ms: Option<i64>,
    pub called_by: Option<String>,
    pub counter: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub finished_by: Option<String>,
    pub version: i64,
}

const COLUMNS: &str = "id, hall, day, number, kind, status, taken_at, taken_by, called_at, \
     called_by, counter, finished_at, finished_by, version";

fn from_row(r: &Row) -> Result<Ticket, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    let kind = r.text(4)?;
    let status = r.text(5)?;
    Ok(Ticket {
        id: r.text(0)?.to_owned(),
        hall: r.text(1)?.to_owned(),
        day: r.text(2)?.to_owned(),
        number: r.int(3)?,
        kind: BusinessKind::parse(kind)
            .ok_or_else(|| StoreError::Decode(format!("business kind {kind:?}")))?,
        status: TicketStatus::parse(status)
            .ok_or_else(|| StoreError::Decode(format!("ticket status {status:?}")))?,
        taken_at_ms: r.int(6)?,
        taken_by: r.text(7)?.to_owned(),
        called_at_ms: r.opt_int(8)?,
        called_by: owned(9)?,
        counter: r.opt_int(10)?,
        finished_at_ms: r.opt_int(11)?,
        finished_by: owned(12)?,
        version: r.int(13)?,
    })
}

/// A new ticket for `kind` at `hall` on `day` (inside the caller's
/// transaction): the day's next number at that hall. The hall's row of
/// the day is locked by the increment, so concurrent takes are numbered
/// one after the other.
pub fn take(
    conn: &mut dyn Conn,
    id: &str,
    hall: &str,
    day: &str,
    kind: BusinessKind,
    by: &str,
    at_ms: i64,
) -> Result<Ticket, StoreError> {
    let number = conn
        .query_opt(
            "INSERT INTO queue_days (hall, day, last_number) VALUES ($1, $2, 1)
             ON CONFLICT (hall, day) DO UPDATE SET last_number = queue_days.last_number + 1
             RETURNING last_number",
            params![hall, day],
        )?
        .ok_or_else(|| StoreError::Internal("no ticket number".into()))?
        .int(0)?;
    conn.execute(
        "INSERT INTO queue_tickets (id, hall, day, number, kind, status, taken_at, taken_by, version)
         VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, 1)",
        params![id, hall, day, number, kind.as_str(), at_ms, by],
    )?;
    get(conn, id)?.ok_or_else(|| StoreError::Internal("ticket not written".into()))
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Ticket>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM queue_tickets WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// A hall's tickets of one day, by number (at most `limit`).
pub fn of_day(
    conn: &mut dyn Conn,
    hall: &str,
    day: &str,
    limit: u32,
) -> Result<Vec<Ticket>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM queue_tickets WHERE hall = $1 AND day = $2
             ORDER BY number LIMIT $3"
        ),
        params![hall, day, i64::from(limit)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Ends a called (or waiting, when `missed`) ticket; `None` when it was in
/// another state (someone ended it first).
pub fn finish(
    conn: &mut dyn Conn,
    id: &str,
    outcome: TicketStatus,
    by: &str,
    at_ms: i64,
) -> Result<Option<Ticket>, StoreError> {
    let from: &[&str] = match outcome {
        TicketStatus::Served => &["called"],
        TicketStatus::Missed => &["called", "waiting"],
        _ => return Ok(None),
    };
    let n = conn.execute(
        "UPDATE queue_tickets SET status = $2, finished_at = $3, finished_by = $4,
                version = version + 1
         WHERE id = $1 AND status IN ($5, $6)",
        params![
            id,
            outcome.as_str(),
            at_ms,
            by,
            from[0],
            from[from.len() - 1]
        ],
    )?;
    if n == 1 { get(conn, id) } else { Ok(None) }
}

/// Calls the next ticket to `counter` (inside the caller's transaction):
/// the ticket that counter was serving is served now, then the waiting
/// ticket with the lowest number (of `kind`, when given) is called.
/// Returns the ticket served and the one called (`None`: nobody waits).
#[allow(clippy::too_many_arguments)]
pub fn call_next(
    conn: &mut dyn Conn,
    hall: &str,
    day: &str,
    counter: i64,
    kind: Option<BusinessKind>,
    by: &str,
    at_ms: i64,
) -> Result<(Vec<Ticket>, Option<Ticket>), StoreError> {
    let serving: Vec<String> = conn
        .query(
            "SELECT id FROM queue_tickets
             WHERE hall = $1 AND day = $2 AND status = 'called' AND counter = $3",
            params![hall, day, counter],
        )?
        .iter()
        .map(|r| r.text(0).map(str::to_owned))
        .collect::<Result<_, _>>()?;
    let mut served = Vec::new();
    for id in serving {
        if let Some(t) = finish(conn, &id, TicketStatus::Served, by, at_ms)? {
            served.push(t);
        }
    }
    // Another counter may call the same ticket at the same moment: the
    // conditional update decides, and the loser tries the next one.
    for _ in 0..8 {
        let next = conn.query_opt(
            "SELECT id FROM queue_tickets
             WHERE hall = $1 AND day = $2 AND status = 'waiting' AND ($3 = '' OR kind = $3)
             ORDER BY number LIMIT 1",
            params![hall, day, kind.map_or("", |k| k.as_str())],
        )?;
        let Some(next) = next else {
            return Ok((served, None));
        };
        let id = next.text(0)?.to_owned();
        let n = conn.execute(
            "UPDATE queue_tickets SET status = 'called', called_at = $2, called_by = $3,
                    counter = $4, version = version + 1
             WHERE id = $1 AND status = 'waiting'",
            params![&id, at_ms, by, counter],
        )?;
        if n == 1 {
            return Ok((served, get(conn, &id)?));
        }
    }
    Ok((served, None))
}

/// One day's queue figures at one hall: tickets taken, called (and how
/// long they waited, in seconds), served (and how long the service took).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTimes {
    pub day: String,
    pub hall: String,
    pub taken: i64,
    pub called: i64,
    pub wait_seconds: i64,
    pub served: i64,
    pub service_seconds: i64,
    pub missed: i64,
}

/// Queue figures per day and hall from `from_day` to `to_day` (inclusive).
pub fn daily_times(
    conn: &mut dyn Conn,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<DayTimes>, StoreError> {
    conn.query(
        "SELECT day, hall, COUNT(*),
                CAST(SUM(CASE WHEN called_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN called_at IS NOT NULL
                              THEN (called_at - taken_at) / 1000 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'served' AND called_at IS NOT NULL
                              THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'served' AND called_at IS NOT NULL
                              THEN (finished_at - called_at) / 1000 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'missed' THEN 1 ELSE 0 END) AS BIGINT)
         FROM queue_tickets WHERE day >= $1 AND day <= $2
         GROUP BY day, hall ORDER BY day, hall",
        params![from_day, to_day],
    )?
    .iter()
    .map(|r| {
        Ok(DayTimes {
            day: r.text(0)?.to_owned(),
            hall: r.text(1)?.to_owned(),
            taken: r.int(2)?,
            called: r.int(3)?,
            wait_seconds: r.int(4)?,
            served: r.int(5)?,
            service_seconds: r.int(6)?,
            missed: r.int(7)?,
        })
    })
    .collect()
}
