//! Reminders (督办) on work orders and their acknowledgement.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub id: i64,
    pub work_order_id: String,
    pub application_id: String,
    pub unit_code: String,
    pub note: String,
    pub sent_by: String,
    pub sent_by_account: Option<String>,
    pub sent_at_ms: i64,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at_ms: Option<i64>,
    pub reply: Option<String>,
}

const COLUMNS: &str = "id, work_order_id, application_id, unit_code, note, sent_by, \
                       sent_by_account, sent_at, acknowledged_by, acknowledged_at, reply";

fn from_row(r: &Row) -> Result<Reminder, StoreError> {
    Ok(Reminder {
        id: r.int(0)?,
        work_order_id: r.text(1)?.to_owned(),
        application_id: r.text(2)?.to_owned(),
        unit_code: r.text(3)?.to_owned(),
        note: r.text(4)?.to_owned(),
        sent_by: r.text(5)?.to_owned(),
        sent_by_account: r.opt_text(6)?.map(str::to_owned),
        sent_at_ms: r.int(7)?,
        acknowledged_by: r.opt_text(8)?.map(str::to_owned),
        acknowledged_at_ms: r.opt_int(9)?,
        reply: r.opt_text(10)?.map(str::to_owned),
    })
}

/// A new reminder (inside the caller's transaction); returns its id.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut dyn Conn,
    work_order_id: &str,
    application_id: &str,
    unit_code: &str,
    note: &str,
    sent_by: &str,
    sent_by_account: Option<&str>,
    at_ms: i64,
) -> Result<i64, StoreError> {
    let r = conn
        .query_opt(
            "INSERT INTO reminders (work_order_id, application_id, unit_code, note, sent_by,
                 sent_by_account, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![
                work_order_id,
                application_id,
                unit_code,
                note,
                sent_by,
                sent_by_account,
                at_ms
            ],
        )?
        .ok_or_else(|| StoreError::Internal("reminder not written".into()))?;
    r.int(0)
}

pub fn get(conn: &mut dyn Conn, id: i64) -> Result<Option<Reminder>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM reminders WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// An order's reminders, oldest first.
pub fn of_order(conn: &mut dyn Conn, work_order_id: &str) -> Result<Vec<Reminder>, StoreError> {
    conn.query(
        &format!("SELECT {COLUMNS} FROM reminders WHERE work_order_id = $1 ORDER BY id"),
        params![work_order_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Acknowledges a reminder not yet acknowledged; false when it already was.
pub fn acknowledge(
    conn: &mut dyn Conn,
    id: i64,
    by: &str,
    reply: Option<&str>,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE reminders SET acknowledged_by = $2, acknowledged_at = $3, reply = $4
         WHERE id = $1 AND acknowledged_at IS NULL",
        params![id, by, at_ms, reply],
    )? == 1)
}
