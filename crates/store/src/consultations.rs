//! Consultations logged at a window (咨询登记), and the daily figures of
//! them per hall and service.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;
use onestop_domain::counter::Customer;

/// One consultation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub id: String,
    pub hall: String,
    pub at_ms: i64,
    /// Its local date (`YYYY-MM-DD`).
    pub day: String,
    /// Who logged it (`account:…`) and their account.
    pub clerk: String,
    pub clerk_account: Option<String>,
    /// Service codes, in configuration order.
    pub services: Vec<String>,
    pub topic: String,
    pub answer: String,
    pub customer: Customer,
    pub follow_up_id: Option<String>,
}

const COLUMNS: &str = "id, hall, at, day, clerk, clerk_account, topic, answer, customer_name, \
     customer_phone, customer_uscc, application_number, account_number, follow_up_id";

fn from_row(r: &Row, services: Vec<String>) -> Result<Consultation, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    Ok(Consultation {
        id: r.text(0)?.to_owned(),
        hall: r.text(1)?.to_owned(),
        at_ms: r.int(2)?,
        day: r.text(3)?.to_owned(),
        clerk: r.text(4)?.to_owned(),
        clerk_account: owned(5)?,
        topic: r.text(6)?.to_owned(),
        answer: r.text(7)?.to_owned(),
        customer: Customer {
            name: owned(8)?,
            phone: owned(9)?,
            uscc: owned(10)?,
            application_number: owned(11)?,
            account_number: owned(12)?,
        },
        follow_up_id: owned(13)?,
        services,
    })
}

/// A new consultation and its services (inside the caller's transaction).
pub fn insert(conn: &mut dyn Conn, c: &Consultation) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO consultations ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        params![
            &c.id,
            &c.hall,
            c.at_ms,
            &c.day,
            &c.clerk,
            c.clerk_account.as_deref(),
            &c.topic,
            &c.answer,
            c.customer.name.as_deref(),
            c.customer.phone.as_deref(),
            c.customer.uscc.as_deref(),
            c.customer.application_number.as_deref(),
            c.customer.account_number.as_deref(),
            c.follow_up_id.as_deref()
        ],
    )?;
    for s in &c.services {
        conn.execute(
            "INSERT INTO consultation_services (consultation_id, service, hall, day)
             VALUES ($1, $2, $3, $4)",
            params![&c.id, s, &c.hall, &c.day],
        )?;
    }
    Ok(())
}

fn services_of(conn: &mut dyn Conn, id: &str) -> Result<Vec<String>, StoreError> {
    conn.query(
        "SELECT service FROM consultation_services WHERE consultation_id = $1 ORDER BY service",
        params![id],
    )?
    .iter()
    .map(|r| r.text(0).map(str::to_owned))
    .collect()
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Consultation>, StoreError> {
    let Some(r) = conn.query_opt(
        &format!("SELECT {COLUMNS} FROM consultations WHERE id = $1"),
        params![id],
    )?
    else {
        return Ok(None);
    };
    let services = services_of(conn, id)?;
    from_row(&r, services).map(Some)
}

/// A hall's consultations of one day, the latest first (at most `limit`).
pub fn of_hall_day(
    conn: &mut dyn Conn,
    hall: &str,
    day: &str,
    limit: u32,
) -> Result<Vec<Consultation>, StoreError> {
    let rows = conn.query(
        &format!(
            "SELECT {COLUMNS} FROM consultations WHERE hall = $1 AND day = $2
             ORDER BY at DESC, id DESC LIMIT $3"
        ),
        params![hall, day, i64::from(limit)],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let services = services_of(conn, r.text(0)?)?;
        out.push(from_row(r, services)?);
    }
    Ok(out)
}

/// One day's consultations at one hall about one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    pub day: String,
    pub hall: String,
    pub service: String,
    pub count: i64,
}

/// Consultations per day, hall and service from `from_day` to `to_day`
/// (inclusive, `YYYY-MM-DD`), of these halls (`None`: all) and this
/// service (`None`: all).
pub fn daily_by_service(
    conn: &mut dyn Conn,
    from_day: &str,
    to_day: &str,
    service: Option<&str>,
) -> Result<Vec<DayCount>, StoreError> {
    conn.query(
        "SELECT day, hall, service, COUNT(*) FROM consultation_services
         WHERE day >= $1 AND day <= $2 AND ($3 = '' OR service = $3)
         GROUP BY day, hall, service ORDER BY day, hall, service",
        params![from_day, to_day, service.unwrap_or("")],
    )?
    .iter()
    .map(|r| {
        Ok(DayCount {
            day: r.text(0)?.to_owned(),
            hall: r.text(1)?.to_owned(),
            service: r.text(2)?.to_owned(),
            count: r.int(3)?,
        })
    })
    .collect()
}
