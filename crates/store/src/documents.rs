//! The register of issued documents: which number a document of one kind
//! and subject with one content carries (see migration 0024).

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;

/// One issued document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub number: String,
    pub kind: String,
    pub subject_id: String,
    pub application_id: String,
    pub revision: i64,
    pub content_hash: String,
    pub issued_at_ms: i64,
}

const COLUMNS: &str = "number, kind, subject_id, application_id, revision, content_hash, issued_at";

fn from_row(r: &Row) -> Result<Issued, StoreError> {
    Ok(Issued {
        number: r.text(0)?.to_owned(),
        kind: r.text(1)?.to_owned(),
        subject_id: r.text(2)?.to_owned(),
        application_id: r.text(3)?.to_owned(),
        revision: r.int(4)?,
        content_hash: r.text(5)?.to_owned(),
        issued_at_ms: r.int(6)?,
    })
}

/// What is being issued.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub kind: &'a str,
    pub subject_id: &'a str,
    pub application_id: &'a str,
    pub content_hash: &'a str,
    pub now_ms: i64,
}

/// The document of this kind, subject and content: as issued before, or
/// issued now as the subject's next revision of the kind, numbered by
/// `number(revision)`. Run it in a write (it reads, then inserts).
pub fn issue(
    conn: &mut dyn Conn,
    doc: &Issue<'_>,
    number: &dyn Fn(i64) -> String,
) -> Result<Issued, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM documents WHERE subject_id = $1 AND kind = $2 AND content_hash = $3"
    );
    if let Some(r) = conn.query_opt(&sql, params![doc.subject_id, doc.kind, doc.content_hash])? {
        return from_row(&r);
    }
    let last = conn
        .query_opt(
            "SELECT MAX(revision) FROM documents WHERE subject_id = $1 AND kind = $2",
            params![doc.subject_id, doc.kind],
        )?
        .map(|r| r.opt_int(0))
        .transpose()?
        .flatten()
        .unwrap_or(0);
    let issued = Issued {
        number: number(last + 1),
        kind: doc.kind.to_owned(),
        subject_id: doc.subject_id.to_owned(),
        application_id: doc.application_id.to_owned(),
        revision: last + 1,
        content_hash: doc.content_hash.to_owned(),
        issued_at_ms: doc.now_ms,
    };
    conn.execute(
        &format!("INSERT INTO documents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        params![
            &issued.number,
            &issued.kind,
            &issued.subject_id,
            &issued.application_id,
            issued.revision,
            &issued.content_hash,
            issued.issued_at_ms
        ],
    )?;
    Ok(issued)
}

/// A document by its number.
pub fn get(conn: &mut dyn Conn, number: &str) -> Result<Option<Issued>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM documents WHERE number = $1");
    conn.query_opt(&sql, params![number])?
        .map(|r| from_row(&r))
        .transpose()
}

/// The latest revision of a kind of document of a subject.
pub fn latest(
    conn: &mut dyn Conn,
    subject_id: &str,
    kind: &str,
) -> Result<Option<Issued>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM documents WHERE subject_id = $1 AND kind = $2
         ORDER BY revision DESC LIMIT 1"
    );
    conn.query_opt(&sql, params![subject_id, kind])?
        .map(|r| from_row(&r))
        .transpose()
}

/// An application's number by its id.
pub fn application_number(conn: &mut dyn Conn, id: &str) -> Result<Option<String>, StoreError> {
    conn.query_opt("SELECT number FROM applications WHERE id = $1", params![id])?
        .map(|r| r.text(0).map(str::to_owned))
        .transpose()
}
