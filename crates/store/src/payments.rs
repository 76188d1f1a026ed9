//! Window payments (缴费) and their durable sending job, and the daily
//! reconciliation runs with the differences they found.
//!
//! A payment is written together with its job ([`insert`]) in the caller's
//! transaction: once the clerk is told "缴费处理中", the payment reaches the
//! utility however the server stops. A worker claims due jobs ([`claim`]:
//! one statement, `FOR UPDATE SKIP LOCKED` on PostgreSQL, the lease moved
//! forward), sends the payment with its id as the idempotency key, and
//! records the outcome with the payment's ([`settle_paid`],
//! [`settle_failed`], [`retry_later`]) — only while it still holds the
//! lease. A worker that dies mid-send leaves the job to be claimed again
//! when the lease ends; the utility answers the repeat with the first
//! receipt, so the payment is made once.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row, Value};
use crate::params;
use serde::{Deserialize, Serialize};

/// One bill of a payment, as the clerk confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidBill {
    pub id: String,
    /// The billing period as the utility names it (`2026-09`).
    pub period: String,
    pub amount_fen: i64,
}

/// A payment taken at a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub hall_code: String,
    pub clerk_id: String,
    pub clerk_name: String,
    pub unit_code: String,
    pub account_no: String,
    pub account_name: String,
    pub bills: Vec<PaidBill>,
    pub amount_fen: i64,
    /// `cash`, `card` or `mobile`.
    pub method: String,
    pub received_fen: Option<i64>,
    pub form_key: Option<String>,
    /// `pending`, `paid` or `failed`.
    pub status: String,
    pub receipt_no: Option<String>,
    pub utility_payment_id: Option<String>,
    pub receipt_fen: Option<i64>,
    pub paid_at_ms: Option<i64>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at_ms: i64,
    pub settled_at_ms: Option<i64>,
    /// Attempts made at sending it so far, and the last one's error.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at_ms: Option<i64>,
}

const COLUMNS: &str = "p.id, p.hall_code, p.clerk_id, p.clerk_name, p.unit_code, p.account_no, \
     p.account_name, p.bills, p.amount_fen, p.method, p.received_fen, p.form_key, p.status, \
     p.receipt_no, p.utility_payment_id, p.receipt_fen, p.paid_at, p.failure_code, \
     p.failure_message, p.created_at, p.settled_at, j.attempts, j.last_error, j.next_attempt_at";

const FROM: &str = "payments p LEFT JOIN payment_jobs j ON j.payment_id = p.id";

fn from_row(r: &Row) -> Result<Payment, StoreError> {
    let t = |i: usize| r.text(i).map(str::to_owned);
    let ot = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    let bills: Vec<PaidBill> = serde_json::from_str(r.text(7)?)
        .map_err(|e| StoreError::Decode(format!("payment bills: {e}")))?;
    Ok(Payment {
        id: t(0)?,
        hall_code: t(1)?,
        clerk_id: t(2)?,
        clerk_name: t(3)?,
        unit_code: t(4)?,
        account_no: t(5)?,
        account_name: t(6)?,
        bills,
        amount_fen: r.int(8)?,
        method: t(9)?,
        received_fen: r.opt_int(10)?,
        form_key: ot(11)?,
        status: t(12)?,
        receipt_no: ot(13)?,
        utility_payment_id: ot(14)?,
        receipt_fen: r.opt_int(15)?,
        paid_at_ms: r.opt_int(16)?,
        failure_code: ot(17)?,
        failure_message: ot(18)?,
        created_at_ms: r.int(19)?,
        settled_at_ms: r.opt_int(20)?,
        attempts: r.opt_int(21)?.unwrap_or(0),
        last_error: ot(22)?,
        next_attempt_at_ms: r.opt_int(23)?,
    })
}

/// A payment to record (with its job).
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: String,
    pub hall_code: String,
    pub clerk_id: String,
    pub clerk_name: String,
    pub unit_code: String,
    pub account_no: String,
    pub account_name: String,
    pub bills: Vec<PaidBill>,
    pub amount_fen: i64,
    pub method: String,
    pub received_fen: Option<i64>,
    pub form_key: Option<String>,
    pub at_ms: i64,
}

/// Records a pending payment and its sending job, due at once (inside the
/// caller's transaction, which commits both or neither). A second payment
/// with the same clerk and form key is refused by the database (unique
/// violation); see [`by_form_key`].
pub fn insert(conn: &mut dyn Conn, p: &NewPayment) -> Result<(), StoreError> {
    let bills = serde_json::to_string(&p.bills)
        .map_err(|e| StoreError::Decode(format!("payment bills: {e}")))?;
    conn.execute(
        "INSERT INTO payments (id, hall_code, clerk_id, clerk_name, unit_code, account_no,
             account_name, bills, amount_fen, method, received_fen, form_key, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13)",
        params![
            &p.id,
            &p.hall_code,
            &p.clerk_id,
            &p.clerk_name,
            &p.unit_code,
            &p.account_no,
            &p.account_name,
            bills,
            p.amount_fen,
            &p.method,
            p.received_fen,
            p.form_key.as_deref(),
            p.at_ms
        ],
    )?;
    conn.execute(
        "INSERT INTO payment_jobs (payment_id, unit_code, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, 'pending', 0, $3, $3)",
        params![&p.id, &p.unit_code, p.at_ms],
    )?;
    Ok(())
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Payment>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The payment a clerk's confirm form (by its one-time key) already made.
pub fn by_form_key(
    conn: &mut dyn Conn,
    clerk_id: &str,
    form_key: &str,
) -> Result<Option<Payment>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE p.clerk_id = $1 AND p.form_key = $2"),
        params![clerk_id, form_key],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Payments by id (at most 500 ids read; unknown ids are left out).
pub fn by_ids(conn: &mut dyn Conn, ids: &[String]) -> Result<Vec<Payment>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(100).take(5) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let values: Vec<Value> = chunk.iter().map(Value::from).collect();
        let rows = conn.query(
            &format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE p.id IN ({})",
                marks.join(", ")
            ),
            &values,
        )?;
        for r in &rows {
            out.push(from_row(r)?);
        }
    }
    Ok(out)
}

/// Which payments a list shows.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    /// Only these halls' (`None`: every hall's).
    pub halls: Option<Vec<String>>,
    pub unit: Option<String>,
    /// Taken in `[from_ms, to_ms)`.
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: u32,
}

/// Payments taken in a period, newest first.
pub fn list(conn: &mut dyn Conn, f: &PaymentFilter) -> Result<Vec<Payment>, StoreError> {
    let mut sql =
        format!("SELECT {COLUMNS} FROM {FROM} WHERE p.created_at >= $1 AND p.created_at < $2");
    let mut values = vec![Value::Int(f.from_ms), Value::Int(f.to_ms)];
    if let Some(unit) = &f.unit {
        values.push(Value::from(unit));
        sql.push_str(&format!(" AND p.unit_code = ${}", values.len()));
    }
    if let Some(halls) = &f.halls {
        if halls.is_empty() {
            return Ok(Vec::new());
        }
        let mut marks = Vec::new();
        for h in halls.iter().take(50) {
            values.push(Value::from(h));
            marks.push(format!("${}", values.len()));
        }
        sql.push_str(&format!(" AND p.hall_code IN ({})", marks.join(", ")));
    }
    values.push(Value::Int(i64::from(f.limit.clamp(1, 1000))));
    sql.push_str(&format!(
        " ORDER BY p.created_at DESC, p.id DESC LIMIT ${}",
        values.len()
    ));
    conn.query(&sql, &values)?.iter().map(from_row).collect()
}

/// One hall's window payments of one day (for the board).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallDay {
    pub hall_code: String,
    /// The utility paid.
    pub unit_code: String,
    /// Days since 1970-01-01 in the city's time (add the offset).
    pub day: i64,
    /// Payments taken that day that were not refused (pending or paid).
    pub payments: i64,
    pub amount_fen: i64,
    /// Of those, paid.
    pub paid: i64,
    pub paid_fen: i64,
}

/// Per hall, day and utility, the payments taken in `[from_ms, to_ms)` that the
/// utility did not refuse: count and amount, and how many are paid. The
/// day is the city's (`offset_ms` east of UTC).
pub fn per_hall_day(
    conn: &mut dyn Conn,
    from_ms: i64,
    to_ms: i64,
    offset_ms: i64,
) -> Result<Vec<HallDay>, StoreError> {
    let rows = conn.query(
        "SELECT hall_code, unit_code, (created_at + $3) / 86400000, COUNT(*),
             CAST(SUM(amount_fen) AS BIGINT),
             CAST(SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) AS BIGINT),
             CAST(SUM(CASE WHEN status = 'paid' THEN amount_fen ELSE 0 END) AS BIGINT)
         FROM payments
         WHERE created_at >= $1 AND created_at < $2 AND status <> 'failed'
         GROUP BY 1, 2, 3
         ORDER BY 3, 1, 2",
        params![from_ms, to_ms, offset_ms],
    )?;
    rows.iter()
        .map(|r| {
            Ok(HallDay {
                hall_code: r.text(0)?.to_owned(),
                unit_code: r.text(1)?.to_owned(),
                day: r.int(2)?,
                payments: r.int(3)?,
                amount_fen: r.opt_int(4)?.unwrap_or(0),
                paid: r.opt_int(5)?.unwrap_or(0),
                paid_fen: r.opt_int(6)?.unwrap_or(0),
            })
        })
        .collect()
}

/// A claimed sending job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub payment_id: String,
    pub unit_code: String,
    /// Attempts made, counting the one now claimed.
    pub attempts: i64,
}

/// Claims up to `limit` due jobs for `worker` until `now_ms + lease_ms`,
/// counting an attempt on each (the oldest due first). One statement: on
/// PostgreSQL the choice skips rows another transaction holds, so two
/// workers never claim the same job at once (see `outbox::claim` for why
/// the choice is a materialized CTE).
pub fn claim(
    conn: &mut dyn Conn,
    worker: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<Job>, StoreError> {
    let sql = format!(
        "WITH due AS MATERIALIZED (
             SELECT payment_id FROM payment_jobs WHERE status = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, payment_id LIMIT $2{}
         )
         UPDATE payment_jobs SET next_attempt_at = $3, attempts = attempts + 1, claimed_by = $4
         WHERE payment_id IN (SELECT payment_id FROM due) AND status = 'pending'
             AND next_attempt_at <= $1
         RETURNING payment_id, unit_code, attempts",
        conn.dialect().skip_locked()
    );
    let rows = conn.query(
        &sql,
        params![now_ms, i64::from(limit), now_ms + lease_ms, worker],
    )?;
    let mut jobs = rows
        .iter()
        .map(|r| {
            Ok(Job {
                payment_id: r.text(0)?.to_owned(),
                unit_code: r.text(1)?.to_owned(),
                attempts: r.int(2)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    jobs.sort_by(|a, b| a.payment_id.cmp(&b.payment_id));
    Ok(jobs)
}

/// Ends `worker`'s job when it still holds it: `true` if it did (then the
/// caller records the payment's outcome in the same transaction).
fn finish_job(
    conn: &mut dyn Conn,
    id: &str,
    worker: &str,
    error: Option<&str>,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE payment_jobs SET status = 'done', done_at = $3, claimed_by = NULL, last_error = $4
         WHERE payment_id = $1 AND claimed_by = $2 AND status = 'pending'",
        params![id, worker, at_ms, error],
    )? == 1)
}

/// The utility's receipt of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub receipt_no: String,
    pub utility_payment_id: String,
    pub amount_fen: i64,
    pub paid_at_ms: i64,
}

/// Records that the utility took the payment (its receipt), when `worker`
/// still holds the job. False otherwise (nothing changed).
pub fn settle_paid(
    conn: &mut dyn Conn,
    id: &str,
    worker: &str,
    receipt: &Receipt,
    at_ms: i64,
) -> Result<bool, StoreError> {
    if !finish_job(conn, id, worker, None, at_ms)? {
        return Ok(false);
    }
    conn.execute(
        "UPDATE payments SET status = 'paid', receipt_no = $2, utility_payment_id = $3,
             receipt_fen = $4, paid_at = $5, settled_at = $6
         WHERE id = $1 AND status = 'pending'",
        params![
            id,
            &receipt.receipt_no,
            &receipt.utility_payment_id,
            receipt.amount_fen,
            receipt.paid_at_ms,
            at_ms
        ],
    )?;
    Ok(true)
}

/// Records that the utility refused the payment for good (`code`, and its
/// message for people), when `worker` still holds the job.
pub fn settle_failed(
    conn: &mut dyn Conn,
    id: &str,
    worker: &str,
    code: &str,
    message: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    if !finish_job(conn, id, worker, Some(message), at_ms)? {
        return Ok(false);
    }
    conn.execute(
        "UPDATE payments SET status = 'failed', failure_code = $2, failure_message = $3,
             settled_at = $4
         WHERE id = $1 AND status = 'pending'",
        params![id, code, message, at_ms],
    )?;
    Ok(true)
}

/// Records a failed attempt: the job waits until `retry_at_ms`. False when
/// `worker` no longer holds it.
pub fn retry_later(
    conn: &mut dyn Conn,
    id: &str,
    worker: &str,
    error: &str,
    retry_at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE payment_jobs SET next_attempt_at = $3, last_error = $4, claimed_by = NULL
         WHERE payment_id = $1 AND claimed_by = $2 AND status = 'pending'",
        params![id, worker, retry_at_ms, error],
    )? == 1)
}

/// The earliest instant a pending job falls due, if any.
pub fn next_due(conn: &mut dyn Conn) -> Result<Option<i64>, StoreError> {
    conn.query_opt(
        "SELECT MIN(next_attempt_at) FROM payment_jobs WHERE status = 'pending'",
        &[],
    )?
    .map_or(Ok(None), |r| r.opt_int(0))
}

/// How many payments are still being sent, and the oldest one's taking time.
pub fn pending(conn: &mut dyn Conn) -> Result<(i64, Option<i64>), StoreError> {
    let r = conn.query_opt(
        "SELECT COUNT(*), MIN(created_at) FROM payments WHERE status = 'pending'",
        &[],
    )?;
    match r {
        Some(r) => Ok((r.int(0)?, r.opt_int(1)?)),
        None => Ok((0, None)),
    }
}

/// The platform's payments of a utility's day, for reconciliation: those
/// paid in `[from_ms, to_ms)` (the utility's time of payment), and those
/// not paid that were taken then. At most `limit`.
pub fn of_day(
    conn: &mut dyn Conn,
    unit: &str,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> Result<Vec<Payment>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE p.unit_code = $1 AND (
                 (p.status = 'paid' AND p.paid_at >= $2 AND p.paid_at < $3)
                 OR (p.status <> 'paid' AND p.created_at >= $2 AND p.created_at < $3))
             ORDER BY p.id LIMIT $4"
        ),
        params![unit, from_ms, to_ms, i64::from(limit)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

// ───────────────────────────── reconciliation ─────────────────────────────

/// One reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    pub unit_code: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `manual` or `daily`.
    pub run_kind: String,
    /// The account that ran it, or `system`.
    pub run_by: String,
    pub run_at_ms: i64,
    /// `balanced` or `differences`.
    pub status: String,
    pub our_count: i64,
    pub our_fen: i64,
    pub their_count: i64,
    pub their_fen: i64,
    pub matched: i64,
    pub differences: i64,
}

/// One difference of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifferenceRow {
    pub kind: String,
    pub reference: String,
    pub payment_id: Option<String>,
    pub account_no: String,
    pub our_fen: Option<i64>,
    pub their_fen: Option<i64>,
    pub our_status: Option<String>,
    pub utility_payment_id: Option<String>,
}

const RUN_COLUMNS: &str = "id, unit_code, day, run_kind, run_by, run_at, status, our_count, \
     our_fen, their_count, their_fen, matched, differences";

fn run_from_row(r: &Row) -> Result<Run, StoreError> {
    let t = |i: usize| r.text(i).map(str::to_owned);
    Ok(Run {
        id: t(0)?,
        unit_code: t(1)?,
        day: t(2)?,
        run_kind: t(3)?,
        run_by: t(4)?,
        run_at_ms: r.int(5)?,
        status: t(6)?,
        our_count: r.int(7)?,
        our_fen: r.int(8)?,
        their_count: r.int(9)?,
        their_fen: r.int(10)?,
        matched: r.int(11)?,
        differences: r.int(12)?,
    })
}

/// Records a run and its differences (inside the caller's transaction).
/// A second `daily` run of the same unit and day is not recorded: `false`.
pub fn insert_run(
    conn: &mut dyn Conn,
    run: &Run,
    differences: &[DifferenceRow],
) -> Result<bool, StoreError> {
    let n = conn.execute(
        &format!(
            "INSERT INTO reconciliation_runs ({RUN_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT DO NOTHING"
        ),
        params![
            &run.id,
            &run.unit_code,
            &run.day,
            &run.run_kind,
            &run.run_by,
            run.run_at_ms,
            &run.status,
            run.our_count,
            run.our_fen,
            run.their_count,
            run.their_fen,
            run.matched,
            run.differences
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    for chunk in differences.chunks(200).enumerate() {
        let (c, rows) = chunk;
        let mut values = Vec::with_capacity(rows.len() * 10);
        for (i, d) in rows.iter().enumerate() {
            values.extend([
                Value::from(&run.id),
                Value::Int((c * 200 + i) as i64),
                Value::from(&d.kind),
                Value::from(&d.reference),
                Value::from(d.payment_id.as_deref()),
                Value::from(&d.account_no),
                Value::from(d.our_fen),
                Value::from(d.their_fen),
                Value::from(d.our_status.as_deref()),
                Value::from(d.utility_payment_id.as_deref()),
            ]);
        }
        crate::db::insert_rows(
            conn,
            "INSERT INTO reconciliation_differences (run_id, seq, kind, reference, payment_id,
                 account_no, our_fen, their_fen, our_status, utility_payment_id)",
            10,
            "",
            &values,
        )?;
    }
    Ok(true)
}

/// Whether the daily run of a unit's day was made.
pub fn daily_run_exists(conn: &mut dyn Conn, unit: &str, day: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM reconciliation_runs WHERE unit_code = $1 AND day = $2 AND run_kind = 'daily'",
            params![unit, day],
        )?
        .is_some())
}

/// Runs of a day (or of every day, newest first), at most `limit`.
pub fn runs(
    conn: &mut dyn Conn,
    day: Option<&str>,
    unit: Option<&str>,
    limit: u32,
) -> Result<Vec<Run>, StoreError> {
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM reconciliation_runs WHERE 1 = 1");
    let mut values = Vec::new();
    if let Some(d) = day {
        values.push(Value::from(d));
        sql.push_str(&format!(" AND day = ${}", values.len()));
    }
    if let Some(u) = unit {
        values.push(Value::from(u));
        sql.push_str(&format!(" AND unit_code = ${}", values.len()));
    }
    values.push(Value::Int(i64::from(limit.clamp(1, 500))));
    sql.push_str(&format!(
        " ORDER BY run_at DESC, id DESC LIMIT ${}",
        values.len()
    ));
    conn.query(&sql, &values)?
        .iter()
        .map(run_from_row)
        .collect()
}

/// A run and its differences.
pub fn run(conn: &mut dyn Conn, id: &str) -> Result<Option<(Run, Vec<DifferenceRow>)>, StoreError> {
    let Some(run) = conn
        .query_opt(
            &format!("SELECT {RUN_COLUMNS} FROM reconciliation_runs WHERE id = $1"),
            params![id],
        )?
        .as_ref()
        .map(run_from_row)
        .transpose()?
    else {
        return Ok(None);
    };
    let rows = conn.query(
        "SELECT kind, reference, payment_id, account_no, our_fen, their_fen, our_status,
             utility_payment_id
         FROM reconciliation_differences WHERE run_id = $1 ORDER BY seq",
        params![id],
    )?;
    let diffs = rows
        .iter()
        .map(|r| {
            Ok(DifferenceRow {
                kind: r.text(0)?.to_owned(),
                reference: r.text(1)?.to_owned(),
                payment_id: r.opt_text(2)?.map(str::to_owned),
                account_no: r.text(3)?.to_owned(),
                our_fen: r.opt_int(4)?,
                their_fen: r.opt_int(5)?,
                our_status: r.opt_text(6)?.map(str::to_owned),
                utility_payment_id: r.opt_text(7)?.map(str::to_owned),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some((run, diffs)))
}
