//! The hash-chained security audit log (等保2.0 level 3): one record per
//! login, logout, permission change and read of personal data, append-only.
//!
//! Every record carries the SM3 hash of its own fields and of the previous
//! record's hash ([`record_hash`]), so an edited, inserted or deleted record
//! breaks the chain, and [`verify`] names the first broken record. The row
//! `audit_head` (id 1) holds the newest record's seq and hash — appends lock
//! it, which serialises the chain across writers and processes — and the
//! anchor: the last record removed by retention ([`prune`]), from which
//! verification starts.
//!
//! The chain proves that nobody changed the log *without also rewriting every
//! later record and the head*. Someone with full write access to the database
//! can do that; keeping a copy of the head's hash elsewhere (exported,
//! signed, printed in an external log) closes that gap.
//!
//! Like every repository these are plain functions over a [`Conn`], run
//! inside a transaction the caller owns (the writer's, for writes).

use crate::StoreError;
use crate::db::{Conn, Dialect, Row, Value, insert_rows};
use crate::params;
use sm3::{Digest, Sm3};

/// The previous hash of the very first record (and the initial anchor).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many records [`verify`] reads per query.
const VERIFY_PAGE: i64 = 5_000;

/// [`list`]'s page size when the filter's limit is 0, and its largest page.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
pub const MAX_LIST_LIMIT: u32 = 1_000;

/// Every column of `audit_log`, in the order [`decode`] reads them.
const COLUMNS: &str = "seq, at, actor_kind, actor_id, actor_name, action, outcome, \
                       target_kind, target_id, detail, ip, request_id, prev_hash, hash";
const WIDTH: usize = 14;

/// Most bound parameters in one statement: SQLite's default
/// SQLITE_MAX_VARIABLE_NUMBER (since 3.32) and PostgreSQL's protocol limit.
fn max_params(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Sqlite => 32_766,
        Dialect::Postgres => 65_535,
    }
}

/// A record to append (fields are free text; they are kept as given).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewAuditRecord {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// "account" | "api_key" | "anonymous" | "system".
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    /// E.g. "login", "logout", "application_read", "roles_changed".
    pub action: String,
    /// "success" | "failure" | "denied".
    pub outcome: String,
    pub target_kind: String,
    pub target_id: String,
    /// JSON text.
    pub detail: String,
    pub ip: String,
    pub request_id: String,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub outcome: String,
    pub target_kind: String,
    pub target_id: String,
    pub detail: String,
    pub ip: String,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The hash this record's content and prev_hash call for.
    fn expected_hash(&self) -> String {
        hash_fields(
            &self.prev_hash,
            self.seq,
            self.at_ms,
            [
                &self.actor_kind,
                &self.actor_id,
                &self.actor_name,
                &self.action,
                &self.outcome,
                &self.target_kind,
                &self.target_id,
                &self.detail,
                &self.ip,
                &self.request_id,
            ],
        )
    }
}

/// The hash of one record given the previous record's hash: SM3, lower-case
/// hex, over `len:bytes` of each of prev_hash, seq, at_ms (both in decimal),
/// actor_kind, actor_id, actor_name, action, outcome, target_kind, target_id,
/// detail, ip and request_id, in that order (`len` is the byte length in
/// decimal). Changing this encoding invalidates every stored chain.
pub fn record_hash(prev_hash: &str, seq: i64, r: &NewAuditRecord) -> String {
    hash_fields(
        prev_hash,
        seq,
        r.at_ms,
        [
            &r.actor_kind,
            &r.actor_id,
            &r.actor_name,
            &r.action,
            &r.outcome,
            &r.target_kind,
            &r.target_id,
            &r.detail,
            &r.ip,
            &r.request_id,
        ],
    )
}

fn hash_fields(prev_hash: &str, seq: i64, at_ms: i64, texts: [&str; 10]) -> String {
    fn field(h: &mut Sm3, bytes: &[u8]) {
        h.update(bytes.len().to_string().as_bytes());
        h.update(b":");
        h.update(bytes);
    }
    let mut h = Sm3::new();
    field(&mut h, prev_hash.as_bytes());
    field(&mut h, seq.to_string().as_bytes());
    field(&mut h, at_ms.to_string().as_bytes());
    for t in texts {
        field(&mut h, t.as_bytes());
    }
    hex::encode(h.finalize())
}

struct Head {
    seq: i64,
    hash: String,
    anchor_seq: i64,
    anchor_hash: String,
}

/// Reads the head row; `lock` takes its row lock on PostgreSQL (on SQLite the
/// caller's `BEGIN IMMEDIATE` already holds the database's write lock).
fn read_head(conn: &mut dyn Conn, lock: bool) -> Result<Head, StoreError> {
    let sql = if lock && conn.dialect() == Dialect::Postgres {
        "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_head WHERE id = 1"
    };
    let row = conn
        .query_opt(sql, &[])?
        .ok_or_else(|| StoreError::Decode("audit_head has no row 1".into()))?;
    Ok(Head {
        seq: row.int(0)?,
        hash: row.text(1)?.to_owned(),
        anchor_seq: row.int(2)?,
        anchor_hash: row.text(3)?.to_owned(),
    })
}

fn decode(row: &Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: row.int(0)?,
        at_ms: row.int(1)?,
        actor_kind: row.text(2)?.to_owned(),
        actor_id: row.text(3)?.to_owned(),
        actor_name: row.text(4)?.to_owned(),
        action: row.text(5)?.to_owned(),
        outcome: row.text(6)?.to_owned(),
        target_kind: row.text(7)?.to_owned(),
        target_id: row.text(8)?.to_owned(),
        detail: row.text(9)?.to_owned(),
        ip: row.text(10)?.to_owned(),
        request_id: row.text(11)?.to_owned(),
        prev_hash: row.text(12)?.to_owned(),
        hash: row.text(13)?.to_owned(),
    })
}

/// Appends `records` in order, continuing the chain; returns the seqs
/// assigned (head.seq + 1, + 2, …). Locks the head row first (held until the
/// caller's transaction ends) and inserts the records with one statement per
/// chunk of as many rows as the database takes parameters for (2,340 on
/// SQLite, 4,681 on PostgreSQL).
pub fn append(conn: &mut dyn Conn, records: &[NewAuditRecord]) -> Result<Vec<i64>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let head = read_head(conn, true)?;
    // Statements of a few fixed sizes (powers of two up to 512 rows), so
    // that the connections' statement caches hold at most ten of them.
    let cap = (max_params(conn.dialect()) / WIDTH).min(512);
    let mut seqs = Vec::with_capacity(records.len());
    let mut prev = head.hash;
    let mut seq = head.seq;
    let mut rest = records;
    while !rest.is_empty() {
        let n = rest.len().min(cap);
        let size = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut values = Vec::with_capacity(chunk.len() * WIDTH);
        for r in chunk {
            seq += 1;
            let hash = record_hash(&prev, seq, r);
            values.extend([
                Value::Int(seq),
                Value::Int(r.at_ms),
                Value::from(&r.actor_kind),
                Value::from(&r.actor_id),
                Value::from(&r.actor_name),
                Value::from(&r.action),
                Value::from(&r.outcome),
                Value::from(&r.target_kind),
                Value::from(&r.target_id),
                Value::from(&r.detail),
                Value::from(&r.ip),
                Value::from(&r.request_id),
                Value::Text(prev),
                Value::Text(hash.clone()),
            ]);
            prev = hash;
            seqs.push(seq);
        }
        insert_rows(
            conn,
            &format!("INSERT INTO audit_log ({COLUMNS})"),
            WIDTH,
            "",
            &values,
        )?;
    }
    conn.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        params![seq, prev],
    )?;
    Ok(seqs)
}

/// Which records [`list`] returns; every field given must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Matches actor_id or actor_name exactly.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    /// Inclusive, Unix milliseconds.
    pub from_ms: Option<i64>,
    /// Exclusive, Unix milliseconds.
    pub to_ms: Option<i64>,
    /// Keyset paging: only records with a smaller seq (pass the last seq of
    /// the previous page).
    pub before_seq: Option<i64>,
    /// Page size; 0 means [`DEFAULT_LIST_LIMIT`], at most [`MAX_LIST_LIMIT`].
    pub limit: u32,
}

/// The records matching `filter`, newest (highest seq) first.
pub fn list(conn: &mut dyn Conn, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |sql: &mut String, cond: &str, v: Value| {
        values.push(v);
        sql.push_str(" AND ");
        sql.push_str(&cond.replace("$?", &format!("${}", values.len())));
    };
    if let Some(actor) = &filter.actor {
        bind(&mut sql, "(actor_id = $? OR actor_name = $?)", actor.into());
    }
    if let Some(action) = &filter.action {
        bind(&mut sql, "action = $?", action.into());
    }
    if let Some(target) = &filter.target_id {
        bind(&mut sql, "target_id = $?", target.into());
    }
    if let Some(from) = filter.from_ms {
        bind(&mut sql, "at >= $?", from.into());
    }
    if let Some(to) = filter.to_ms {
        bind(&mut sql, "at < $?", to.into());
    }
    if let Some(before) = filter.before_seq {
        bind(&mut sql, "seq < $?", before.into());
    }
    let limit = match filter.limit {
        0 => DEFAULT_LIST_LIMIT,
        n => n.min(MAX_LIST_LIMIT),
    };
    values.push(Value::from(limit));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", values.len()));
    conn.query(&sql, &values)?.iter().map(decode).collect()
}

/// The outcome of [`verify`]. `first_seq..=last_seq` is the stretch that
/// verified (`checked` records; `first_seq` is the anchor's seq + 1, so an
/// empty stretch has `last_seq == first_seq - 1`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub checked: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub broken: Option<Broken>,
}

/// The first record at which the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Broken {
    pub seq: i64,
    /// English, for the operator.
    pub reason: String,
}

/// Walks the chain from the anchor to the head in seq order, a page at a
/// time, recomputing every hash; names the first broken record.
///
/// Walking stops at the head read at the start, so appends made meanwhile
/// are not mistaken for tampering. Run it in a read transaction for one
/// consistent view; without one, a break that retention explains (the anchor
/// has since moved past it: the records were pruned under the walk) is not
/// reported, and the walk goes on from the new anchor.
pub fn verify(conn: &mut dyn Conn) -> Result<VerifyReport, StoreError> {
    let mut head = read_head(conn, false)?;
    // Every retry starts past a strictly later anchor, so this ends; the
    // bound only caps the work under a retention run that never stops.
    for _ in 0..1_000 {
        let report = verify_from(conn, &head)?;
        let Some(broken) = &report.broken else {
            return Ok(report);
        };
        let now = read_head(conn, false)?;
        if now.anchor_seq <= head.anchor_seq || now.anchor_seq < broken.seq {
            return Ok(report);
        }
        head = now;
    }
    verify_from(conn, &head)
}

fn verify_from(conn: &mut dyn Conn, head: &Head) -> Result<VerifyReport, StoreError> {
    let first_seq = head.anchor_seq + 1;
    let mut last_seq = head.anchor_seq;
    let mut prev = head.anchor_hash.clone();
    let mut checked = 0;
    let report = |checked, last_seq, seq, reason: String| -> Result<VerifyReport, StoreError> {
        Ok(VerifyReport {
            checked,
            first_seq,
            last_seq,
            broken: Some(Broken { seq, reason }),
        })
    };

    // Retention removes everything up to the anchor: a record there was put
    // back or forged, outside the chain.
    if let Some(row) = conn.query_opt(
        "SELECT seq FROM audit_log WHERE seq <= $1 ORDER BY seq LIMIT 1",
        params![head.anchor_seq],
    )? {
        let seq = row.int(0)?;
        return report(
            0,
            last_seq,
            seq,
            format!(
                "record {seq} is at or before the anchor ({}), where no record should be left",
                head.anchor_seq
            ),
        );
    }

    loop {
        let rows = conn.query(
            &format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2 \
                 ORDER BY seq LIMIT $3"
            ),
            params![last_seq, head.seq, VERIFY_PAGE],
        )?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let expected = last_seq + 1;
            let record = match decode(row) {
                Ok(r) => r,
                Err(e) => {
                    let seq = row.int(0).unwrap_or(expected);
                    return report(
                        checked,
                        last_seq,
                        seq,
                        format!("record cannot be read: {e}"),
                    );
                }
            };
            if record.seq != expected {
                return report(
                    checked,
                    last_seq,
                    expected,
                    format!("record {expected} is missing"),
                );
            }
            if record.prev_hash != prev {
                return report(
                    checked,
                    last_seq,
                    record.seq,
                    "prev_hash does not match the previous record".into(),
                );
            }
            if record.expected_hash() != record.hash {
                return report(
                    checked,
                    last_seq,
                    record.seq,
                    "hash does not match the record's content".into(),
                );
            }
            prev = record.hash;
            last_seq = record.seq;
            checked += 1;
        }
    }

    if last_seq != head.seq {
        let reason = if last_seq == head.anchor_seq {
            format!(
                "head says {} but no record follows the anchor ({last_seq})",
                head.seq
            )
        } else {
            format!("head says {} but the last record is {last_seq}", head.seq)
        };
        return report(checked, last_seq, last_seq + 1, reason);
    }
    if prev != head.hash {
        return report(
            checked,
            last_seq,
            head.seq,
            format!("the head's hash does not match record {}", head.seq),
        );
    }
    // A record past the head is outside the chain: forged, or left behind by
    // a deleted head. (Without a snapshot it may be an append committed since
    // the head was read: then the head has moved past it by now.)
    if let Some(row) = conn.query_opt(
        "SELECT seq FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1",
        params![head.seq],
    )? {
        let seq = row.int(0)?;
        if read_head(conn, false)?.seq < seq {
            return report(
                checked,
                last_seq,
                seq,
                format!("record {seq} is beyond the head ({})", head.seq),
            );
        }
    }
    Ok(VerifyReport {
        checked,
        first_seq,
        last_seq,
        broken: None,
    })
}

/// Retention: deletes the records older than `before_ms` — only a prefix of
/// the chain, stopping at the first record at or after `before_ms` — and
/// moves the anchor to the last record deleted, so the rest still verifies.
/// Returns how many records were removed. The records removed are not
/// verified first (run [`verify`] before, if that matters); the caller
/// appends a record about the purge itself.
pub fn prune(conn: &mut dyn Conn, before_ms: i64) -> Result<u64, StoreError> {
    let head = read_head(conn, true)?;
    // The first record to keep; without one, every record goes.
    let keep = conn
        .query_opt(
            "SELECT seq FROM audit_log WHERE at >= $1 AND seq > $2 ORDER BY seq LIMIT 1",
            params![before_ms, head.anchor_seq],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    // The last record to delete, the new anchor: never past the head.
    let end = keep.map_or(head.seq + 1, |k| k.min(head.seq + 1));
    let last = conn.query_opt(
        "SELECT seq, hash FROM audit_log WHERE seq > $1 AND seq < $2 \
         ORDER BY seq DESC LIMIT 1",
        params![head.anchor_seq, end],
    )?;
    let Some(last) = last else {
        return Ok(0);
    };
    let (anchor_seq, anchor_hash) = (last.int(0)?, last.text(1)?.to_owned());
    let removed = conn.execute("DELETE FROM audit_log WHERE seq <= $1", params![anchor_seq])?;
    conn.execute(
        "UPDATE audit_head SET anchor_seq = $1, anchor_hash = $2 WHERE id = 1",
        params![anchor_seq, anchor_hash],
    )?;
    Ok(removed)
}

/// How many records the log holds.
pub fn count(conn: &mut dyn Conn) -> Result<i64, StoreError> {
    conn.query_opt("SELECT COUNT(*) FROM audit_log", &[])?
        .ok_or_else(|| StoreError::Decode("COUNT(*) returned no row".into()))?
        .int(0)
}
