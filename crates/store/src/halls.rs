//! The hall registry (共享营业厅): rows and their append-only change log.

use crate::StoreError;
use crate::db::Conn;
use crate::db::Sql as _;
use crate::params;

/// Who the change log names for a seeded hall.
pub const SEEDER: &str = "system:seed";

/// A hall as stored: its JSON (`detail`, the domain's [`onestop_domain::hall::Hall`]
/// as served) and its registry state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallRow {
    pub code: String,
    pub name: String,
    pub district_code: String,
    pub kind: String,
    pub active: bool,
    pub version: i64,
    pub detail: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What is written for a hall: the columns lists filter on and its JSON.
#[derive(Debug, Clone, Copy)]
pub struct HallWrite<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub district_code: &'a str,
    pub kind: &'a str,
    pub detail: &'a str,
}

/// One entry of a hall's change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallChange {
    pub version: i64,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

const COLUMNS: &str =
    "code, name, district_code, kind, active, version, detail, created_at, updated_at";

fn row(r: &crate::db::Row) -> Result<HallRow, StoreError> {
    Ok(HallRow {
        code: r.text(0)?.to_owned(),
        name: r.text(1)?.to_owned(),
        district_code: r.text(2)?.to_owned(),
        kind: r.text(3)?.to_owned(),
        active: r.int(4)? != 0,
        version: r.int(5)?,
        detail: r.text(6)?.to_owned(),
        created_at_ms: r.int(7)?,
        updated_at_ms: r.int(8)?,
    })
}

fn log(
    conn: &mut dyn Conn,
    code: &str,
    version: i64,
    at_ms: i64,
    actor: &str,
    kind: &str,
    detail: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO hall_changes (code, version, at, actor, kind, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![code, version, at_ms, actor, kind, detail],
    )?;
    Ok(())
}

/// Adds the configured halls the registry does not hold yet (a seed never
/// overwrites an administrator's edit); returns the codes added.
pub fn seed(
    conn: &mut dyn Conn,
    halls: &[HallWrite<'_>],
    at_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let mut added = Vec::new();
    for h in halls {
        let n = conn.execute(
            "INSERT INTO halls (code, name, district_code, kind, active, version, detail, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, 1, $5, $6, $6) ON CONFLICT (code) DO NOTHING",
            params![h.code, h.name, h.district_code, h.kind, h.detail, at_ms],
        )?;
        if n == 1 {
            log(conn, h.code, 1, at_ms, SEEDER, "seeded", h.detail)?;
            added.push(h.code.to_owned());
        }
    }
    Ok(added)
}

/// Every hall (withdrawn ones too when `with_withdrawn`), by code.
pub fn list(conn: &mut dyn Conn, with_withdrawn: bool) -> Result<Vec<HallRow>, StoreError> {
    let sql = if with_withdrawn {
        format!("SELECT {COLUMNS} FROM halls ORDER BY code")
    } else {
        format!("SELECT {COLUMNS} FROM halls WHERE active = 1 ORDER BY code")
    };
    conn.query(&sql, params![])?.iter().map(row).collect()
}

/// One hall by code (withdrawn or not).
pub fn get(conn: &mut dyn Conn, code: &str) -> Result<Option<HallRow>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM halls WHERE code = $1"),
        params![code],
    )?
    .map(|r| row(&r))
    .transpose()
}

/// Which of `codes` name a registered hall (withdrawn or not).
pub fn existing(conn: &mut dyn Conn, codes: &[&str]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for c in codes {
        if conn
            .query_opt("SELECT code FROM halls WHERE code = $1", params![*c])?
            .is_some()
        {
            out.push((*c).to_owned());
        }
    }
    Ok(out)
}

/// A stamp that changes whenever the registry does (for caches shared by
/// several servers): the number of halls and the latest change.
pub fn stamp(conn: &mut dyn Conn) -> Result<(i64, i64), StoreError> {
    let r = conn
        .query_opt(
            "SELECT COUNT(*), COALESCE(MAX(updated_at), 0), COALESCE(SUM(version), 0) FROM halls",
            params![],
        )?
        .ok_or_else(|| StoreError::Decode("no count".into()))?;
    Ok((r.int(0)? * 1_000_003 + r.int(2)?, r.int(1)?))
}

/// Registers a new hall; a taken code is a unique violation.
pub fn create(
    conn: &mut dyn Conn,
    h: HallWrite<'_>,
    actor: &str,
    at_ms: i64,
) -> Result<HallRow, StoreError> {
    conn.execute(
        "INSERT INTO halls (code, name, district_code, kind, active, version, detail, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, 1, $5, $6, $6)",
        params![h.code, h.name, h.district_code, h.kind, h.detail, at_ms],
    )?;
    log(conn, h.code, 1, at_ms, actor, "created", h.detail)?;
    get(conn, h.code)?.ok_or_else(|| StoreError::NotFound(h.code.to_owned()))
}

/// Changes a hall seen at `version` (its details, and whether it is in the
/// directory); `Conflict` when someone changed it first, `NotFound` when
/// there is no such hall.
pub fn update(
    conn: &mut dyn Conn,
    h: HallWrite<'_>,
    active: bool,
    version: i64,
    actor: &str,
    at_ms: i64,
) -> Result<HallRow, StoreError> {
    let Some(before) = get(conn, h.code)? else {
        return Err(StoreError::NotFound(h.code.to_owned()));
    };
    let n = conn.execute(
        "UPDATE halls SET name = $1, district_code = $2, kind = $3, active = $4, detail = $5,
                version = version + 1, updated_at = $6
         WHERE code = $7 AND version = $8",
        params![
            h.name,
            h.district_code,
            h.kind,
            i64::from(active),
            h.detail,
            at_ms,
            h.code,
            version
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(h.code.to_owned()));
    }
    let kind = match (before.active, active) {
        (true, false) => "withdrawn",
        (false, true) => "restored",
        _ => "updated",
    };
    log(conn, h.code, version + 1, at_ms, actor, kind, h.detail)?;
    get(conn, h.code)?.ok_or_else(|| StoreError::NotFound(h.code.to_owned()))
}

/// A hall's change log, newest first (at most `limit`).
pub fn changes(conn: &mut dyn Conn, code: &str, limit: u32) -> Result<Vec<HallChange>, StoreError> {
    conn.query(
        "SELECT version, at, actor, kind, detail FROM hall_changes WHERE code = $1
         ORDER BY version DESC LIMIT $2",
        params![code, i64::from(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(HallChange {
            version: r.int(0)?,
            at_ms: r.int(1)?,
            actor: r.text(2)?.to_owned(),
            kind: r.text(3)?.to_owned(),
            detail: r.text(4)?.to_owned(),
        })
    })
    .collect()
}
