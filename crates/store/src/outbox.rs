//! The durable outbox for email and SMS: rows are queued with the change that
//! causes them (see [`crate::notifications::send`]); a delivery worker claims
//! the due ones, sends them, and records the outcome here.
//!
//! Claiming moves a row's `next_attempt_at` forward by a lease and counts the
//! attempt, conditionally on the row still being due, so two workers (two
//! server processes on one PostgreSQL) never hold the same row at once. A
//! worker that dies mid-send leaves the row to be claimed again when the
//! lease ends; its outcome is recorded only by the worker that holds it.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;

/// One queued message on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub account_id: String,
    pub event_key: String,
    /// `email` or `sms`.
    pub channel: String,
    /// The email address or mobile number.
    pub address: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// `pending`, `sent` or `failed` (given up).
    pub status: String,
    /// Attempts made, counting the one in progress.
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, account_id, event_key, channel, address, kind, title, body, link, \
     status, attempts, next_attempt_at, last_error, created_at, sent_at";

fn from_row(r: &Row) -> Result<Delivery, StoreError> {
    let t = |i: usize| r.text(i).map(str::to_owned);
    Ok(Delivery {
        id: r.int(0)?,
        account_id: t(1)?,
        event_key: t(2)?,
        channel: t(3)?,
        address: t(4)?,
        kind: t(5)?,
        title: t(6)?,
        body: t(7)?,
        link: r.opt_text(8)?.map(str::to_owned),
        status: t(9)?,
        attempts: r.int(10)?,
        next_attempt_at_ms: r.int(11)?,
        last_error: r.opt_text(12)?.map(str::to_owned),
        created_at_ms: r.int(13)?,
        sent_at_ms: r.opt_int(14)?,
    })
}

/// Claims up to `limit` due rows for `worker` until `now_ms + lease_ms`,
/// counting an attempt on each; returns the rows claimed (the oldest due are
/// chosen first; returned by id).
///
/// One statement: the due rows are chosen and leased together. On
/// PostgreSQL the choice skips rows another transaction holds (`FOR UPDATE
/// SKIP LOCKED`), so concurrent claimers never wait on, nor share, a row;
/// SQLite has a single writer, so nothing can hold them. The choice is a
/// materialized CTE so that it runs once: as a plain `id IN (SELECT … LIMIT
/// n FOR UPDATE SKIP LOCKED)`, PostgreSQL may rescan the subquery for each
/// row of a nested-loop semi-join, and every rescan skips the rows already
/// taken and locks more, claiming more than `limit`.
pub fn claim(
    conn: &mut dyn Conn,
    worker: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "WITH due AS MATERIALIZED (
             SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, id LIMIT $2{}
         )
         UPDATE deliveries SET next_attempt_at = $3, attempts = attempts + 1, claimed_by = $4
         WHERE id IN (SELECT id FROM due) AND status = 'pending' AND next_attempt_at <= $1
         RETURNING {COLUMNS}",
        conn.dialect().skip_locked()
    );
    let rows = conn.query(
        &sql,
        params![now_ms, i64::from(limit), now_ms + lease_ms, worker],
    )?;
    let mut claimed = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|d| d.id);
    Ok(claimed)
}

/// Records that `worker` sent the row. False when the worker no longer held
/// it (its lease ended and another took it).
pub fn mark_sent(
    conn: &mut dyn Conn,
    id: i64,
    worker: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = $3, claimed_by = NULL, last_error = NULL
         WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
        params![id, worker, at_ms],
    )? == 1)
}

/// Records a failed attempt: the row waits until `retry_at_ms`, or, with
/// `None`, is given up for good. `error` must not hold the address.
pub fn mark_failed(
    conn: &mut dyn Conn,
    id: i64,
    worker: &str,
    error: &str,
    retry_at_ms: Option<i64>,
) -> Result<bool, StoreError> {
    let n = match retry_at_ms {
        Some(at) => conn.execute(
            "UPDATE deliveries SET next_attempt_at = $3, last_error = $4, claimed_by = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
            params![id, worker, at, error],
        )?,
        None => conn.execute(
            "UPDATE deliveries SET status = 'failed', last_error = $3, claimed_by = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
            params![id, worker, error],
        )?,
    };
    Ok(n == 1)
}

/// Puts a given-up row back in the queue (an administrator's retry).
pub fn requeue(conn: &mut dyn Conn, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2
         WHERE id = $1 AND status = 'failed'",
        params![id, now_ms],
    )? == 1)
}

/// The earliest instant a pending row falls due, if any.
pub fn next_due(conn: &mut dyn Conn) -> Result<Option<i64>, StoreError> {
    conn.query_opt(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
        &[],
    )?
    .map_or(Ok(None), |r| r.opt_int(0))
}

/// Rows by status (`None`: all), newest first, `limit` at most.
pub fn list(
    conn: &mut dyn Conn,
    status: Option<&str>,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let rows = match status {
        Some(s) => conn.query(
            &format!(
                "SELECT {COLUMNS} FROM deliveries WHERE status = $1 ORDER BY id DESC LIMIT $2"
            ),
            params![s, i64::from(limit)],
        )?,
        None => conn.query(
            &format!("SELECT {COLUMNS} FROM deliveries ORDER BY id DESC LIMIT $1"),
            params![i64::from(limit)],
        )?,
    };
    rows.iter().map(from_row).collect()
}

/// How many rows are in each status: (pending, sent, failed).
pub fn counts(conn: &mut dyn Conn) -> Result<(i64, i64, i64), StoreError> {
    let rows = conn.query(
        "SELECT status, COUNT(*) FROM deliveries GROUP BY status",
        &[],
    )?;
    let (mut p, mut s, mut f) = (0, 0, 0);
    for r in &rows {
        let n = r.int(1)?;
        match r.text(0)? {
            "pending" => p = n,
            "sent" => s = n,
            "failed" => f = n,
            _ => {}
        }
    }
    Ok((p, s, f))
}

/// Queues one SMS of `m` to `phone` for `account_id` regardless of the
/// account's notification switches: what a person must hear about their own
/// identity (a registration, a verification code). Once per account and event.
pub fn queue_sms(
    conn: &mut dyn Conn,
    account_id: &str,
    phone: &str,
    m: &crate::notifications::Message,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO deliveries (account_id, event_key, channel, address, kind, title, body,
             link, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, 'sms', $3, $4, $5, $6, $7, 'pending', 0, $8, $8)
         ON CONFLICT (account_id, event_key, channel) DO NOTHING",
        params![
            account_id,
            &m.event_key,
            phone,
            &m.kind,
            &m.title,
            &m.body,
            m.link.as_deref(),
            m.at_ms
        ],
    )?;
    Ok(())
}
