//! Approval cases and their department items.

use crate::StoreError;
use crate::db::{Conn, Row};
use crate::params;
use onestop_domain::approval::{CaseStatus, ItemStatus};

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub case_id: String,
    pub department: String,
    pub required: bool,
    pub status: ItemStatus,
    pub automatic: bool,
    pub opinion: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub due_at_ms: i64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub application_id: String,
    pub status: CaseStatus,
    pub place: String,
    pub from_date: String,
    pub to_date: String,
    pub commitment: Option<String>,
    pub raised_by_unit: String,
    pub created_at_ms: i64,
    pub due_at_ms: i64,
    pub version: i64,
    pub works: Vec<String>,
    pub items: Vec<Item>,
}

const ITEM_COLUMNS: &str = "id, case_id, department_code, required, status, automatic, opinion, \
                            decided_by, decided_at, due_at, version";

fn item_from(r: &Row) -> Result<Item, StoreError> {
    Ok(Item {
        id: r.text(0)?.to_owned(),
        case_id: r.text(1)?.to_owned(),
        department: r.text(2)?.to_owned(),
        required: r.int(3)? != 0,
        status: ItemStatus::parse(r.text(4)?)
            .ok_or_else(|| StoreError::Decode("item status".into()))?,
        automatic: r.int(5)? != 0,
        opinion: r.opt_text(6)?.map(str::to_owned),
        decided_by: r.opt_text(7)?.map(str::to_owned),
        decided_at_ms: r.opt_int(8)?,
        due_at_ms: r.int(9)?,
        version: r.int(10)?,
    })
}

/// Writes a new case with its orders and items (inside the caller's transaction).
pub fn insert(conn: &mut dyn Conn, c: &Case, raised_by: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO approval_cases (id, application_id, status, place, from_date, to_date,
             commitment, raised_by_unit, raised_by, created_at, updated_at, due_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, 1)",
        params![
            &c.id,
            &c.application_id,
            c.status.as_str(),
            &c.place,
            &c.from_date,
            &c.to_date,
            c.commitment.as_deref(),
            &c.raised_by_unit,
            raised_by,
            c.created_at_ms,
            c.due_at_ms
        ],
    )?;
    for w in &c.works {
        conn.execute(
            "INSERT INTO approval_case_orders (case_id, work_order_id) VALUES ($1, $2)",
            params![&c.id, w],
        )?;
    }
    for i in &c.items {
        conn.execute(
            &format!("INSERT INTO approval_items ({ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)"),
            params![
                &i.id,
                &c.id,
                &i.department,
                i.required,
                i.status.as_str(),
                i.automatic,
                i.opinion.as_deref(),
                i.decided_by.as_deref(),
                i.decided_at_ms,
                i.due_at_ms
            ],
        )?;
    }
    Ok(())
}

fn case_by(conn: &mut dyn Conn, column: &str, value: &str) -> Result<Option<Case>, StoreError> {
    let Some(r) = conn.query_opt(
        &format!(
            "SELECT id, application_id, status, place, from_date, to_date, commitment,
                    raised_by_unit, created_at, due_at, version
             FROM approval_cases WHERE {column} = $1"
        ),
        params![value],
    )?
    else {
        return Ok(None);
    };
    let id = r.text(0)?.to_owned();
    let works = conn
        .query(
            "SELECT work_order_id FROM approval_case_orders WHERE case_id = $1 ORDER BY work_order_id",
            params![&id],
        )?
        .iter()
        .map(|w| w.text(0).map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    let items = conn
        .query(
            &format!("SELECT {ITEM_COLUMNS} FROM approval_items WHERE case_id = $1 ORDER BY department_code"),
            params![&id],
        )?
        .iter()
        .map(item_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Case {
        id,
        application_id: r.text(1)?.to_owned(),
        status: CaseStatus::parse(r.text(2)?)
            .ok_or_else(|| StoreError::Decode("case status".into()))?,
        place: r.text(3)?.to_owned(),
        from_date: r.text(4)?.to_owned(),
        to_date: r.text(5)?.to_owned(),
        commitment: r.opt_text(6)?.map(str::to_owned),
        raised_by_unit: r.text(7)?.to_owned(),
        created_at_ms: r.int(8)?,
        due_at_ms: r.int(9)?,
        version: r.int(10)?,
        works,
        items,
    }))
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Case>, StoreError> {
    case_by(conn, "id", id)
}

pub fn by_application(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Option<Case>, StoreError> {
    case_by(conn, "application_id", application_id)
}

pub fn item(conn: &mut dyn Conn, id: &str) -> Result<Option<Item>, StoreError> {
    conn.query_opt(
        &format!("SELECT {ITEM_COLUMNS} FROM approval_items WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(item_from)
    .transpose()
}

/// Records a department's decision if the item is still at `version`.
pub fn decide(
    conn: &mut dyn Conn,
    item_id: &str,
    version: i64,
    status: ItemStatus,
    opinion: &str,
    by: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE approval_items SET status = $3, opinion = $4, decided_by = $5, decided_at = $6,
             version = version + 1
         WHERE id = $1 AND version = $2 AND status = 'pending'",
        params![item_id, version, status.as_str(), opinion, by, at_ms],
    )? == 1)
}

/// Sets a case's status (after an item changed).
pub fn set_status(
    conn: &mut dyn Conn,
    case_id: &str,
    status: CaseStatus,
    at_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE approval_cases SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1",
        params![case_id, status.as_str(), at_ms],
    )?;
    Ok(())
}

/// The departments with an item on an application's case.
pub fn departments_of(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<String>, StoreError> {
    conn.query(
        "SELECT DISTINCT i.department_code FROM approval_cases c
         JOIN approval_items i ON i.case_id = c.id WHERE c.application_id = $1",
        params![application_id],
    )?
    .iter()
    .map(|r| r.text(0).map(str::to_owned))
    .collect()
}
