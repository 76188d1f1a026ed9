//! Approval cases and their department items.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::paging::{KeyKind, Order, Page, PageAt, Paged};
use crate::params;
use onestop_domain::application::Level;
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
    /// The case round this item was last put to its department in.
    pub round: i64,
    /// The level of a pending item's clock, and its warning instant.
    pub level: Level,
    pub warn_at_ms: Option<i64>,
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
    /// 1, then one more for each resubmission after a rejection.
    pub round: i64,
    pub works: Vec<String>,
    pub items: Vec<Item>,
}

/// One decision on one item in one round (a line of the opinion sheet).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub item_id: String,
    pub round: i64,
    pub department: String,
    pub status: ItemStatus,
    pub automatic: bool,
    pub opinion: String,
    pub decided_by: String,
    pub decided_at_ms: i64,
}

/// What a utility revised before resubmitting a rejected case.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub round: i64,
    pub note: String,
    pub revised_by: String,
    pub revised_at_ms: i64,
}

const ITEM_COLUMNS: &str = "id, case_id, department_code, required, status, automatic, opinion, \
                            decided_by, decided_at, due_at, version, round, level, warn_at";

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
        round: r.int(11)?,
        level: Level::parse(r.text(12)?).ok_or_else(|| StoreError::Decode("item level".into()))?,
        warn_at_ms: r.opt_int(13)?,
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
            &format!("INSERT INTO approval_items ({ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, 1, 'normal', $11)"),
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
                i.due_at_ms,
                i.warn_at_ms
            ],
        )?;
        if i.status == ItemStatus::Pending {
            conn.execute(
                "UPDATE approval_items SET next_level_at = warn_at WHERE id = $1",
                params![&i.id],
            )?;
        }
        if let (Some(by), Some(at), Some(opinion)) = (&i.decided_by, i.decided_at_ms, &i.opinion) {
            record_decision(
                conn,
                &Decision {
                    item_id: i.id.clone(),
                    round: 1,
                    department: i.department.clone(),
                    status: i.status,
                    automatic: i.automatic,
                    opinion: opinion.clone(),
                    decided_by: by.clone(),
                    decided_at_ms: at,
                },
                &c.id,
            )?;
        }
    }
    Ok(())
}

fn record_decision(conn: &mut dyn Conn, d: &Decision, case_id: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO approval_decisions (item_id, round, case_id, department_code, status,
             automatic, opinion, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            &d.item_id,
            d.round,
            case_id,
            &d.department,
            d.status.as_str(),
            d.automatic,
            &d.opinion,
            &d.decided_by,
            d.decided_at_ms
        ],
    )?;
    Ok(())
}

/// Every decision of a case, in every round, oldest first.
pub fn decisions(conn: &mut dyn Conn, case_id: &str) -> Result<Vec<Decision>, StoreError> {
    conn.query(
        "SELECT item_id, round, department_code, status, automatic, opinion, decided_by, decided_at
         FROM approval_decisions WHERE case_id = $1 ORDER BY decided_at, department_code",
        params![case_id],
    )?
    .iter()
    .map(|r| {
        Ok(Decision {
            item_id: r.text(0)?.to_owned(),
            round: r.int(1)?,
            department: r.text(2)?.to_owned(),
            status: ItemStatus::parse(r.text(3)?)
                .ok_or_else(|| StoreError::Decode("decision status".into()))?,
            automatic: r.int(4)? != 0,
            opinion: r.text(5)?.to_owned(),
            decided_by: r.text(6)?.to_owned(),
            decided_at_ms: r.int(7)?,
        })
    })
    .collect()
}

/// The revisions of a case's resubmissions, oldest first.
pub fn revisions(conn: &mut dyn Conn, case_id: &str) -> Result<Vec<Revision>, StoreError> {
    conn.query(
        "SELECT round, note, revised_by, revised_at FROM approval_revisions
         WHERE case_id = $1 ORDER BY round",
        params![case_id],
    )?
    .iter()
    .map(|r| {
        Ok(Revision {
            round: r.int(0)?,
            note: r.text(1)?.to_owned(),
            revised_by: r.text(2)?.to_owned(),
            revised_at_ms: r.int(3)?,
        })
    })
    .collect()
}

/// A rejected case, revised: what changed and the new construction details.
#[derive(Debug, Clone)]
pub struct Resubmission {
    pub case_id: String,
    /// The case version the utility saw.
    pub version: i64,
    pub place: String,
    pub from_date: String,
    pub to_date: String,
    pub note: String,
    pub by: String,
    pub at_ms: i64,
    /// The new deadline of the items decided again, and its warning instant.
    pub due_at_ms: i64,
    pub warn_at_ms: i64,
}

/// Puts a rejected case to its departments again (inside the caller's
/// transaction): a new round, the rejected (and still pending) items
/// pending in it with a new deadline, earlier decisions kept. False, writing nothing, unless the case
/// is rejected and still at the version seen.
pub fn resubmit(conn: &mut dyn Conn, r: &Resubmission) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE approval_cases SET status = 'pending', round = round + 1, place = $3,
             from_date = $4, to_date = $5, updated_at = $6, due_at = $7, version = version + 1
         WHERE id = $1 AND version = $2 AND status = 'rejected'",
        params![
            &r.case_id,
            r.version,
            &r.place,
            &r.from_date,
            &r.to_date,
            r.at_ms,
            r.due_at_ms
        ],
    )?;
    if n != 1 {
        return Ok(false);
    }
    let round = conn
        .query_opt(
            "SELECT round FROM approval_cases WHERE id = $1",
            params![&r.case_id],
        )?
        .ok_or_else(|| StoreError::Decode("case vanished".into()))?
        .int(0)?;
    // Rejected items are decided again; those still pending decide on the
    // revised plan: both are in the new round, with its deadline.
    conn.execute(
        "UPDATE approval_items SET status = 'pending', opinion = NULL, decided_by = NULL,
             decided_at = NULL, round = $2, due_at = $3, level = 'normal', warn_at = $4,
             next_level_at = $4, version = version + 1
         WHERE case_id = $1 AND status IN ('rejected', 'pending')",
        params![&r.case_id, round, r.due_at_ms, r.warn_at_ms],
    )?;
    conn.execute(
        "INSERT INTO approval_revisions (case_id, round, note, revised_by, revised_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![&r.case_id, round, &r.note, &r.by, r.at_ms],
    )?;
    Ok(true)
}

fn case_by(conn: &mut dyn Conn, column: &str, value: &str) -> Result<Option<Case>, StoreError> {
    let Some(r) = conn.query_opt(
        &format!(
            "SELECT id, application_id, status, place, from_date, to_date, commitment,
                    raised_by_unit, created_at, due_at, version, round
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
        round: r.int(11)?,
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

/// Records a department's decision, with its line on the opinion sheet, if
/// the item is still pending at `version`.
pub fn decide(
    conn: &mut dyn Conn,
    item: &Item,
    version: i64,
    status: ItemStatus,
    opinion: &str,
    by: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    if conn.execute(
        "UPDATE approval_items SET status = $3, opinion = $4, decided_by = $5, decided_at = $6,
             next_level_at = NULL, version = version + 1
         WHERE id = $1 AND version = $2 AND status = 'pending'",
        params![&item.id, version, status.as_str(), opinion, by, at_ms],
    )? != 1
    {
        return Ok(false);
    }
    record_decision(
        conn,
        &Decision {
            item_id: item.id.clone(),
            round: item.round,
            department: item.department.clone(),
            status,
            automatic: false,
            opinion: opinion.to_owned(),
            decided_by: by.to_owned(),
            decided_at_ms: at_ms,
        },
        &item.case_id,
    )?;
    Ok(true)
}

/// One line of a department's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    pub item: Item,
    pub application_id: String,
    pub application_number: String,
    pub applicant_name: String,
    pub district_code: String,
    pub place: String,
    pub from_date: String,
    pub to_date: String,
    pub case_status: CaseStatus,
    pub commitment: bool,
}

/// The order of [`inbox`]: pending first and soonest due first, then the
/// most recently decided.
pub const INBOX_ORDER: Order = Order {
    name: "approval_items",
    keys: &[
        (
            "CASE WHEN i.status = 'pending' THEN 0 ELSE 1 END",
            KeyKind::Int,
        ),
        (
            "CASE WHEN i.status = 'pending' THEN i.due_at ELSE -COALESCE(i.decided_at, 0) END",
            KeyKind::Int,
        ),
        ("i.id", KeyKind::Text),
    ],
    descending: false,
};

/// Items of the given departments, in [`INBOX_ORDER`]; `status` narrows to
/// one item status.
pub fn inbox(
    conn: &mut dyn Conn,
    departments: &[String],
    status: Option<ItemStatus>,
    at: &PageAt,
    per_page: u32,
) -> Result<Page<InboxRow>, StoreError> {
    if departments.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page: None,
            next_cursor: None,
        });
    }
    let mut args: Vec<crate::db::Value> = Vec::new();
    let mut marks = Vec::new();
    for d in departments {
        args.push(d.as_str().into());
        marks.push(format!("${}", args.len()));
    }
    let mut clauses = vec![format!("i.department_code IN ({})", marks.join(", "))];
    if let Some(s) = status {
        args.push(s.as_str().into());
        clauses.push(format!("i.status = ${}", args.len()));
    } else {
        // Nothing for the department to do or to look back on: items of
        // works it is not involved in, and those withdrawn with a cancelled
        // application (asked for by their status only).
        clauses.push("i.status NOT IN ('not_applicable', 'withdrawn')".into());
    }
    let paged = Paged::new(&INBOX_ORDER, at, per_page);
    paged.filter(&mut clauses, &mut args)?;
    let sql = format!(
        "SELECT i.id, i.case_id, i.department_code, i.required, i.status, i.automatic, i.opinion,
                i.decided_by, i.decided_at, i.due_at, i.version, i.round, i.level, i.warn_at,
                a.id, a.number, a.applicant_name, a.district_code,
                c.place, c.from_date, c.to_date, c.status,
                CASE WHEN c.commitment IS NULL THEN 0 ELSE 1 END{}
         FROM approval_items i
         JOIN approval_cases c ON c.id = i.case_id
         JOIN applications a ON a.id = c.application_id
         WHERE {}{}",
        INBOX_ORDER.select(),
        clauses.join(" AND "),
        paged.tail(&mut args)
    );
    let rows = conn.query(&sql, &args)?;
    paged.page(&rows, |r| {
        Ok(InboxRow {
            item: item_from(r)?,
            application_id: r.text(14)?.to_owned(),
            application_number: r.text(15)?.to_owned(),
            applicant_name: r.text(16)?.to_owned(),
            district_code: r.text(17)?.to_owned(),
            place: r.text(18)?.to_owned(),
            from_date: r.text(19)?.to_owned(),
            to_date: r.text(20)?.to_owned(),
            case_status: CaseStatus::parse(r.text(21)?)
                .ok_or_else(|| StoreError::Decode("case status".into()))?,
            commitment: r.int(22)? != 0,
        })
    })
}

/// Withdraws the pending items of an application's case (the application
/// was cancelled), inside the caller's transaction: each is `withdrawn`, with
/// its level back to normal and no next level change, so the sweeper leaves
/// it and the departments' inboxes drop it; the case moves on a version.
/// Returns the case as it was, with the items withdrawn now (none: no case,
/// or nothing pending).
pub fn withdraw_pending(
    conn: &mut dyn Conn,
    application_id: &str,
    at_ms: i64,
) -> Result<Option<(Case, Vec<Item>)>, StoreError> {
    let Some(case) = by_application(conn, application_id)? else {
        return Ok(None);
    };
    let pending: Vec<Item> = case
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Pending)
        .cloned()
        .collect();
    if pending.is_empty() {
        return Ok(None);
    }
    conn.execute(
        "UPDATE approval_items SET status = 'withdrawn', level = 'normal', next_level_at = NULL,
             version = version + 1
         WHERE case_id = $1 AND status = 'pending'",
        params![&case.id],
    )?;
    conn.execute(
        "UPDATE approval_cases SET updated_at = $2, version = version + 1 WHERE id = $1",
        params![&case.id, at_ms],
    )?;
    Ok(Some((case, pending)))
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
