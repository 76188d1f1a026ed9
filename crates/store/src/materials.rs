//! Materials of applications, the contents they point to (by SHA-256) and
//! enterprises' electronic licences (migration 0024). The contents
//! themselves are in a [`crate::blobs::BlobStore`].

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;

/// One material of an application: an uploaded file, or a licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub id: String,
    pub application_id: String,
    pub work_order_id: Option<String>,
    pub case_id: Option<String>,
    /// The content's SHA-256 (hex); `None` for a licence.
    pub sha256: Option<String>,
    pub licence: Option<Licence>,
    pub kind: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub uploaded_by: Option<String>,
    pub uploader_name: String,
    pub uploader_unit: Option<String>,
    pub created_at_ms: i64,
}

/// An enterprise's electronic licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub id: String,
    pub uscc: String,
    pub kind: String,
    pub issuer: String,
    pub number: String,
    pub holder: String,
    pub level: String,
    pub created_at_ms: i64,
}

const COLUMNS: &str = "m.id, m.application_id, m.work_order_id, m.case_id, m.sha256, m.kind, \
     m.file_name, m.media_type, m.size, m.uploaded_by, m.uploader_name, m.uploader_unit, \
     m.created_at, l.id, l.uscc, l.kind, l.issuer, l.number, l.holder, l.level, l.created_at";

const FROM: &str = "FROM materials m LEFT JOIN licences l ON l.id = m.licence_id";

fn from_row(r: &Row) -> Result<Material, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    let licence = match owned(13)? {
        None => None,
        Some(id) => Some(Licence {
            id,
            uscc: r.text(14)?.to_owned(),
            kind: r.text(15)?.to_owned(),
            issuer: r.text(16)?.to_owned(),
            number: r.text(17)?.to_owned(),
            holder: r.text(18)?.to_owned(),
            level: r.text(19)?.to_owned(),
            created_at_ms: r.int(20)?,
        }),
    };
    Ok(Material {
        id: r.text(0)?.to_owned(),
        application_id: r.text(1)?.to_owned(),
        work_order_id: owned(2)?,
        case_id: owned(3)?,
        sha256: owned(4)?,
        kind: r.text(5)?.to_owned(),
        file_name: r.text(6)?.to_owned(),
        media_type: r.text(7)?.to_owned(),
        size: r.int(8)?,
        uploaded_by: owned(9)?,
        uploader_name: r.text(10)?.to_owned(),
        uploader_unit: owned(11)?,
        created_at_ms: r.int(12)?,
        licence,
    })
}

/// Records a stored content (once: a content already known is left as it is).
pub fn record_blob(
    conn: &mut dyn Conn,
    sha256: &str,
    size: i64,
    media_type: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO blobs (sha256, size, media_type, stored_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sha256) DO NOTHING",
        params![sha256, size, media_type, now_ms],
    )?;
    Ok(())
}

/// How many contents are stored, and their bytes (each content once).
pub fn blob_totals(conn: &mut dyn Conn) -> Result<(i64, i64), StoreError> {
    let r = conn
        .query_opt(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs",
            params![],
        )?
        .ok_or_else(|| StoreError::Decode("no row".into()))?;
    Ok((r.int(0)?, r.int(1)?))
}

/// Adds a material; when the application already has this content (or
/// this licence) the one it has is answered instead, with `false`.
pub fn add(conn: &mut dyn Conn, m: &Material) -> Result<(Material, bool), StoreError> {
    let existing = match (&m.sha256, &m.licence) {
        (Some(sha), _) => find(conn, &m.application_id, "m.sha256", sha)?,
        (None, Some(l)) => find(conn, &m.application_id, "m.licence_id", &l.id)?,
        (None, None) => return Err(StoreError::Decode("a material without content".into())),
    };
    if let Some(e) = existing {
        return Ok((e, false));
    }
    conn.execute(
        "INSERT INTO materials (id, application_id, work_order_id, case_id, sha256, licence_id,
             kind, file_name, media_type, size, uploaded_by, uploader_name, uploader_unit,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        params![
            &m.id,
            &m.application_id,
            m.work_order_id.as_deref(),
            m.case_id.as_deref(),
            m.sha256.as_deref(),
            m.licence.as_ref().map(|l| l.id.as_str()),
            &m.kind,
            &m.file_name,
            &m.media_type,
            m.size,
            m.uploaded_by.as_deref(),
            &m.uploader_name,
            m.uploader_unit.as_deref(),
            m.created_at_ms
        ],
    )?;
    Ok((m.clone(), true))
}

fn find(
    conn: &mut dyn Conn,
    application_id: &str,
    column: &str,
    value: &str,
) -> Result<Option<Material>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE m.application_id = $1 AND {column} = $2");
    conn.query_opt(&sql, params![application_id, value])?
        .map(|r| from_row(&r))
        .transpose()
}

/// An application's materials, oldest first.
pub fn of_application(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<Material>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} {FROM} WHERE m.application_id = $1 ORDER BY m.created_at, m.id");
    conn.query(&sql, params![application_id])?
        .iter()
        .map(from_row)
        .collect()
}

/// An application's material of this content.
pub fn by_content(
    conn: &mut dyn Conn,
    application_id: &str,
    sha256: &str,
) -> Result<Option<Material>, StoreError> {
    find(conn, application_id, "m.sha256", sha256)
}

/// The files and bytes an application holds.
pub fn usage(conn: &mut dyn Conn, application_id: &str) -> Result<(i64, i64), StoreError> {
    let r = conn
        .query_opt(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM materials
             WHERE application_id = $1 AND sha256 IS NOT NULL",
            params![application_id],
        )?
        .ok_or_else(|| StoreError::Decode("no row".into()))?;
    Ok((r.int(0)?, r.int(1)?))
}

/// The licence of this enterprise, issuer and number: as entered before
/// (its other fields as they were then), or entered now.
pub fn licence(conn: &mut dyn Conn, l: &Licence) -> Result<Licence, StoreError> {
    conn.execute(
        "INSERT INTO licences (id, uscc, kind, issuer, number, holder, level, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (uscc, issuer, number) DO NOTHING",
        params![
            &l.id,
            &l.uscc,
            &l.kind,
            &l.issuer,
            &l.number,
            &l.holder,
            &l.level,
            l.created_at_ms
        ],
    )?;
    let r = conn
        .query_opt(
            "SELECT id, uscc, kind, issuer, number, holder, level, created_at FROM licences
             WHERE uscc = $1 AND issuer = $2 AND number = $3",
            params![&l.uscc, &l.issuer, &l.number],
        )?
        .ok_or_else(|| StoreError::Decode("the licence just entered".into()))?;
    licence_row(&r)
}

fn licence_row(r: &Row) -> Result<Licence, StoreError> {
    Ok(Licence {
        id: r.text(0)?.to_owned(),
        uscc: r.text(1)?.to_owned(),
        kind: r.text(2)?.to_owned(),
        issuer: r.text(3)?.to_owned(),
        number: r.text(4)?.to_owned(),
        holder: r.text(5)?.to_owned(),
        level: r.text(6)?.to_owned(),
        created_at_ms: r.int(7)?,
    })
}

/// An enterprise's licences, newest first.
pub fn licences_of(conn: &mut dyn Conn, uscc: &str) -> Result<Vec<Licence>, StoreError> {
    conn.query(
        "SELECT id, uscc, kind, issuer, number, holder, level, created_at FROM licences
         WHERE uscc = $1 ORDER BY created_at DESC, id LIMIT 100",
        params![uscc],
    )?
    .iter()
    .map(licence_row)
    .collect()
}

/// One licence by id.
pub fn licence_by_id(conn: &mut dyn Conn, id: &str) -> Result<Option<Licence>, StoreError> {
    conn.query_opt(
        "SELECT id, uscc, kind, issuer, number, holder, level, created_at FROM licences
         WHERE id = $1",
        params![id],
    )?
    .map(|r| licence_row(&r))
    .transpose()
}

/// A file added on the application form, not yet part of an application
/// (migration 0027).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub id: String,
    /// `account:<id>`, or `form:<submission token>` when nobody is signed in.
    pub holder: String,
    pub sha256: String,
    pub kind: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub created_at_ms: i64,
}

const STAGED: &str = "SELECT id, holder, sha256, kind, file_name, media_type, size, created_at FROM staged_materials";

fn staged_row(r: &Row) -> Result<Staged, StoreError> {
    Ok(Staged {
        id: r.text(0)?.to_owned(),
        holder: r.text(1)?.to_owned(),
        sha256: r.text(2)?.to_owned(),
        kind: r.text(3)?.to_owned(),
        file_name: r.text(4)?.to_owned(),
        media_type: r.text(5)?.to_owned(),
        size: r.int(6)?,
        created_at_ms: r.int(7)?,
    })
}

/// Keeps a file for its holder (its content recorded first, see
/// [`record_blob`]); the same content kept before is answered instead,
/// with `false`.
pub fn stage(conn: &mut dyn Conn, s: &Staged) -> Result<(Staged, bool), StoreError> {
    let sql = format!("{STAGED} WHERE holder = $1 AND sha256 = $2");
    if let Some(r) = conn.query_opt(&sql, params![&s.holder, &s.sha256])? {
        return Ok((staged_row(&r)?, false));
    }
    conn.execute(
        "INSERT INTO staged_materials (id, holder, sha256, kind, file_name, media_type, size,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            &s.id,
            &s.holder,
            &s.sha256,
            &s.kind,
            &s.file_name,
            &s.media_type,
            s.size,
            s.created_at_ms
        ],
    )?;
    Ok((s.clone(), true))
}

/// What a holder has kept, oldest first.
pub fn staged_of(conn: &mut dyn Conn, holder: &str) -> Result<Vec<Staged>, StoreError> {
    let sql = format!("{STAGED} WHERE holder = $1 ORDER BY created_at, id LIMIT 1000");
    conn.query(&sql, params![holder])?
        .iter()
        .map(staged_row)
        .collect()
}

/// Removes one of a holder's kept files (nothing when it is not theirs).
pub fn unstage(conn: &mut dyn Conn, holder: &str, id: &str) -> Result<bool, StoreError> {
    let n = conn.execute(
        "DELETE FROM staged_materials WHERE holder = $1 AND id = $2",
        params![holder, id],
    )?;
    Ok(n > 0)
}

/// Makes each of a holder's kept files a material of the application just
/// filed (`template` gives the uploader and the time; each gets the id
/// `new_id()` gives) and forgets them, in the caller's transaction. The
/// materials added, in the order they were kept.
pub fn attach_staged(
    conn: &mut dyn Conn,
    holder: &str,
    template: &Material,
    mut new_id: impl FnMut() -> String,
) -> Result<Vec<Material>, StoreError> {
    let mut added = Vec::new();
    for s in staged_of(conn, holder)? {
        let m = Material {
            id: new_id(),
            sha256: Some(s.sha256.clone()),
            licence: None,
            kind: s.kind.clone(),
            file_name: s.file_name.clone(),
            media_type: s.media_type.clone(),
            size: s.size,
            ..template.clone()
        };
        let (m, new) = add(conn, &m)?;
        if new {
            added.push(m);
        }
    }
    conn.execute(
        "DELETE FROM staged_materials WHERE holder = $1",
        params![holder],
    )?;
    Ok(added)
}

/// Forgets files kept before `cutoff_ms` that were never filed; how many.
pub fn drop_staged_before(conn: &mut dyn Conn, cutoff_ms: i64) -> Result<u64, StoreError> {
    conn.execute(
        "DELETE FROM staged_materials WHERE created_at < $1",
        params![cutoff_ms],
    )
}
