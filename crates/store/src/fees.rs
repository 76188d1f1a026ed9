//! Fees of work orders (费用明细) and the documented exceptions to the
//! zero-investment rule (migration 25). Amounts are integer fen.

use crate::StoreError;
use crate::board::{BoardFilter, Period};
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;
use onestop_domain::fees::Payer;

/// One cost item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCost {
    pub id: String,
    pub work_order_id: String,
    pub application_id: String,
    pub unit_code: String,
    pub item: String,
    pub amount_fen: i64,
    pub payer: Payer,
    pub outside_red_line: bool,
    /// The exception that allowed a user-paid item outside the red line.
    pub exception_id: Option<String>,
    pub created_at_ms: i64,
    pub created_by: String,
    pub created_by_account: Option<String>,
    pub withdrawn_at_ms: Option<i64>,
    pub withdrawn_by: Option<String>,
}

/// One documented exception as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeException {
    pub id: String,
    pub work_order_id: String,
    pub application_id: String,
    pub unit_code: String,
    pub reason: String,
    pub document: String,
    pub recorded_at_ms: i64,
    pub recorded_by: String,
    pub recorded_by_account: Option<String>,
}

const COST_COLUMNS: &str = "id, work_order_id, application_id, unit_code, item, amount_fen, payer, \
     outside_red_line, exception_id, created_at, created_by, created_by_account, withdrawn_at, \
     withdrawn_by";

const EXCEPTION_COLUMNS: &str = "id, work_order_id, application_id, unit_code, reason, document, \
     recorded_at, recorded_by, recorded_by_account";

fn cost_from_row(r: &Row) -> Result<OrderCost, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    let payer = r.text(6)?;
    Ok(OrderCost {
        id: r.text(0)?.to_owned(),
        work_order_id: r.text(1)?.to_owned(),
        application_id: r.text(2)?.to_owned(),
        unit_code: r.text(3)?.to_owned(),
        item: r.text(4)?.to_owned(),
        amount_fen: r.int(5)?,
        payer: Payer::parse(payer).ok_or_else(|| StoreError::Decode(format!("payer {payer:?}")))?,
        outside_red_line: r.int(7)? != 0,
        exception_id: owned(8)?,
        created_at_ms: r.int(9)?,
        created_by: r.text(10)?.to_owned(),
        created_by_account: owned(11)?,
        withdrawn_at_ms: r.opt_int(12)?,
        withdrawn_by: owned(13)?,
    })
}

fn exception_from_row(r: &Row) -> Result<FeeException, StoreError> {
    Ok(FeeException {
        id: r.text(0)?.to_owned(),
        work_order_id: r.text(1)?.to_owned(),
        application_id: r.text(2)?.to_owned(),
        unit_code: r.text(3)?.to_owned(),
        reason: r.text(4)?.to_owned(),
        document: r.text(5)?.to_owned(),
        recorded_at_ms: r.int(6)?,
        recorded_by: r.text(7)?.to_owned(),
        recorded_by_account: r.opt_text(8)?.map(str::to_owned),
    })
}

/// Adds a cost item (inside the caller's transaction).
pub fn insert_cost(conn: &mut dyn Conn, c: &OrderCost) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO order_costs ({COST_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        params![
            &c.id,
            &c.work_order_id,
            &c.application_id,
            &c.unit_code,
            &c.item,
            c.amount_fen,
            c.payer.as_str(),
            i64::from(c.outside_red_line),
            c.exception_id.as_deref(),
            c.created_at_ms,
            &c.created_by,
            c.created_by_account.as_deref(),
            c.withdrawn_at_ms,
            c.withdrawn_by.as_deref()
        ],
    )?;
    Ok(())
}

/// One cost item.
pub fn get_cost(conn: &mut dyn Conn, id: &str) -> Result<Option<OrderCost>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COST_COLUMNS} FROM order_costs WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(cost_from_row)
    .transpose()
}

/// The items of an order still standing (not withdrawn), oldest first.
pub fn costs_of_order(conn: &mut dyn Conn, order_id: &str) -> Result<Vec<OrderCost>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COST_COLUMNS} FROM order_costs
             WHERE work_order_id = $1 AND withdrawn_at IS NULL ORDER BY created_at, id"
        ),
        params![order_id],
    )?
    .iter()
    .map(cost_from_row)
    .collect()
}

/// How many items an order carries (not withdrawn).
pub fn count_of_order(conn: &mut dyn Conn, order_id: &str) -> Result<i64, StoreError> {
    conn.query_opt(
        "SELECT COUNT(*) FROM order_costs WHERE work_order_id = $1 AND withdrawn_at IS NULL",
        params![order_id],
    )?
    .map_or(Ok(0), |r| r.int(0))
}

/// The standing items of every order of an application, by order, oldest first.
pub fn costs_of_application(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<OrderCost>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COST_COLUMNS} FROM order_costs
             WHERE application_id = $1 AND withdrawn_at IS NULL
             ORDER BY work_order_id, created_at, id"
        ),
        params![application_id],
    )?
    .iter()
    .map(cost_from_row)
    .collect()
}

/// Withdraws a standing item of `order_id`; `false` when there is none.
/// The row stays (with who withdrew it and when).
pub fn withdraw_cost(
    conn: &mut dyn Conn,
    order_id: &str,
    id: &str,
    by: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE order_costs SET withdrawn_at = $3, withdrawn_by = $4
         WHERE id = $1 AND work_order_id = $2 AND withdrawn_at IS NULL",
        params![id, order_id, at_ms, by],
    )? == 1)
}

/// Records an exception (inside the caller's transaction).
pub fn insert_exception(conn: &mut dyn Conn, x: &FeeException) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO fee_exceptions ({EXCEPTION_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        params![
            &x.id,
            &x.work_order_id,
            &x.application_id,
            &x.unit_code,
            &x.reason,
            &x.document,
            x.recorded_at_ms,
            &x.recorded_by,
            x.recorded_by_account.as_deref()
        ],
    )?;
    Ok(())
}

/// The latest exception recorded for an order, if any.
pub fn exception_of_order(
    conn: &mut dyn Conn,
    order_id: &str,
) -> Result<Option<FeeException>, StoreError> {
    conn.query_opt(
        &format!(
            "SELECT {EXCEPTION_COLUMNS} FROM fee_exceptions WHERE work_order_id = $1
             ORDER BY recorded_at DESC, id DESC LIMIT 1"
        ),
        params![order_id],
    )?
    .as_ref()
    .map(exception_from_row)
    .transpose()
}

/// Exceptions of an application's orders, oldest first.
pub fn exceptions_of_application(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<FeeException>, StoreError> {
    conn.query(
        &format!(
            "SELECT {EXCEPTION_COLUMNS} FROM fee_exceptions WHERE application_id = $1
             ORDER BY recorded_at, id"
        ),
        params![application_id],
    )?
    .iter()
    .map(exception_from_row)
    .collect()
}

/// Most exceptions one list returns.
pub const MAX_LIST: u32 = 200;

/// Exceptions, the latest first (at most `limit`, capped at [`MAX_LIST`]).
pub fn list_exceptions(conn: &mut dyn Conn, limit: u32) -> Result<Vec<FeeException>, StoreError> {
    conn.query(
        &format!(
            "SELECT {EXCEPTION_COLUMNS} FROM fee_exceptions
             ORDER BY recorded_at DESC, id DESC LIMIT $1"
        ),
        params![i64::from(limit.clamp(1, MAX_LIST))],
    )?
    .iter()
    .map(exception_from_row)
    .collect()
}

/// One unit's fees over a period, in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFees {
    pub unit_code: String,
    /// Borne by the utility outside the red line (its zero investment).
    pub utility_outside_fen: i64,
    /// Paid by the user outside the red line under an exception.
    pub user_outside_fen: i64,
    /// Paid by the user inside the red line.
    pub user_inside_fen: i64,
    /// Exceptions recorded for the unit's orders.
    pub exceptions: i64,
}

/// Per unit: standing items added in `period` (by payer and red line) and
/// exceptions recorded in it, of the orders the filter keeps.
pub fn by_unit(
    conn: &mut dyn Conn,
    f: &BoardFilter,
    period: Period,
) -> Result<Vec<UnitFees>, StoreError> {
    let mut args = vec![period.from_ms.into(), period.to_ms.into()];
    let filters = f.clauses("w.", &mut args);
    let sums = conn.query(
        &format!(
            "SELECT c.unit_code,
                    CAST(SUM(CASE WHEN c.payer = 'utility' AND c.outside_red_line = 1
                                  THEN c.amount_fen ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN c.payer = 'user' AND c.outside_red_line = 1
                                  THEN c.amount_fen ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN c.payer = 'user' AND c.outside_red_line = 0
                                  THEN c.amount_fen ELSE 0 END) AS BIGINT)
             FROM order_costs c JOIN work_orders w ON w.id = c.work_order_id
             WHERE c.withdrawn_at IS NULL AND c.created_at >= $1 AND c.created_at < $2{filters}
             GROUP BY c.unit_code ORDER BY c.unit_code"
        ),
        &args,
    )?;
    let mut out: Vec<UnitFees> = Vec::new();
    for r in &sums {
        out.push(UnitFees {
            unit_code: r.text(0)?.to_owned(),
            utility_outside_fen: r.int(1)?,
            user_outside_fen: r.int(2)?,
            user_inside_fen: r.int(3)?,
            exceptions: 0,
        });
    }
    let mut args = vec![period.from_ms.into(), period.to_ms.into()];
    let filters = f.clauses("w.", &mut args);
    let counts = conn.query(
        &format!(
            "SELECT x.unit_code, COUNT(*)
             FROM fee_exceptions x JOIN work_orders w ON w.id = x.work_order_id
             WHERE x.recorded_at >= $1 AND x.recorded_at < $2{filters}
             GROUP BY x.unit_code ORDER BY x.unit_code"
        ),
        &args,
    )?;
    for r in &counts {
        let unit = r.text(0)?;
        let n = r.int(1)?;
        match out.iter_mut().find(|u| u.unit_code == unit) {
            Some(u) => u.exceptions = n,
            None => out.push(UnitFees {
                unit_code: unit.to_owned(),
                exceptions: n,
                ..UnitFees::default()
            }),
        }
    }
    Ok(out)
}
