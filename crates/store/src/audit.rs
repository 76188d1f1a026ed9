//! The chained security audit log (等保2.0 level 3): one record per login,
//! logout, permission change, refused request and read of personal data,
//! append-only.
//!
//! Every record carries a MAC of its own fields and of the previous record's
//! hash: HMAC-SM3 under a key that lives outside the database ([`AuditKey`],
//! read from a file by the server), so that someone with write access to
//! the database cannot recompute the chain after changing it. Records
//! written before the key existed (migration 15) keep their plain SM3 hashes
//! ([`record_hash`]); the chain is keyed from `keyed_from` on, and the
//! first keyed record's MAC covers the last plain hash, which seals the
//! older part too.
//!
//! The row `audit_head` (id 1) holds the newest record's seq and hash —
//! appends lock it, which serialises the chain across writers and
//! processes — and the anchor: the last record removed by retention
//! ([`prune`]), from which verification starts, with that record's time,
//! when it was pruned and under which retention. The anchor and the keyed
//! boundary are sealed with the key (`seal`), so neither can be moved
//! without it.
//!
//! What the database alone cannot prove is that nothing was cut off the
//! end, or that the whole log was not replaced by an empty one. For that the
//! server writes signed checkpoints ([`Checkpoint`]: seq, hash, time, keyed
//! boundary) every minute to `audit_checkpoints`, to an append-only file
//! and to its log; [`verify`] checks the chain against them.
//!
//! Like every repository these are plain functions over a [`Conn`], run
//! inside a transaction the caller owns (the writer's, for writes). No file
//! is read or written here: the caller passes the key and the checkpoints.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Dialect, Row, Value, insert_rows};
use crate::params;
use hmac::{Hmac, Mac};
use sm3::{Digest, Sm3};

/// The previous hash of the very first record (and the initial anchor).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Records are kept at least this long, whatever the configuration says.
pub const MIN_RETENTION_DAYS: u32 = 180;

const DAY_MS: i64 = 86_400_000;

/// How long a record may take from its time (`at`) to its commit; a
/// checkpoint's time minus this is a safe lower bound for the time of any
/// record after it.
const COMMIT_SLACK_MS: i64 = 300_000;

/// How many records [`verify`] reads per query.
const VERIFY_PAGE: i64 = 5_000;

/// Most problems [`verify`] describes one by one (the rest are counted).
pub const MAX_PROBLEMS: usize = 200;

/// [`list`]'s page size when the filter's limit is 0, and its largest page.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
pub const MAX_LIST_LIMIT: u32 = 1_000;

/// Every column of `audit_log`, in the order [`decode`] reads them.
const COLUMNS: &str = "seq, at, actor_kind, actor_id, actor_name, action, outcome, \
                       target_kind, target_id, detail, ip, request_id, prev_hash, hash";
const WIDTH: usize = 14;

const HEAD_COLUMNS: &str =
    "seq, hash, anchor_seq, anchor_hash, anchor_at, pruned_at, retention_days, keyed_from, seal";

/// Most bound parameters in one statement: SQLite's default
/// SQLITE_MAX_VARIABLE_NUMBER (since 3.32) and PostgreSQL's protocol limit.
fn max_params(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Sqlite => 32_766,
        Dialect::Postgres => 65_535,
    }
}

// ───────────────────────────── the key ─────────────────────────────

/// The secret the chain is keyed with (HMAC-SM3). It never leaves the
/// process: not in the database, not in logs, not in `Debug` (which shows
/// only [`AuditKey::id`]).
#[derive(Clone)]
pub struct AuditKey {
    /// The HMAC state with the key already absorbed; cloned per MAC.
    mac: Hmac<Sm3>,
    id: String,
}

impl AuditKey {
    /// Shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    pub fn from_bytes(key: &[u8]) -> Result<AuditKey, StoreError> {
        if key.len() < Self::MIN_LEN {
            return Err(StoreError::Config(format!(
                "the audit key must have at least {} bytes",
                Self::MIN_LEN
            )));
        }
        let mac = <Hmac<Sm3> as Mac>::new_from_slice(key)
            .map_err(|_| StoreError::Config("the audit key cannot be used".into()))?;
        let mut k = AuditKey {
            mac,
            id: String::new(),
        };
        let mut m = k.mac.clone();
        Mac::update(&mut m, b"onestop audit key id");
        k.id = hex::encode(m.finalize().into_bytes())[..16].to_owned();
        Ok(k)
    }

    /// A fingerprint (16 hex digits of a MAC of a fixed text), to tell keys
    /// apart in logs without revealing them.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac_hex(&self, feed: impl FnOnce(&mut dyn FnMut(&[u8]))) -> String {
        let mut m = self.mac.clone();
        feed(&mut |b| Mac::update(&mut m, b));
        hex::encode(m.finalize().into_bytes())
    }

    /// Constant-time comparison of a stored hex MAC with the expected one.
    fn check(&self, stored: &str, feed: impl FnOnce(&mut dyn FnMut(&[u8]))) -> bool {
        let expected = self.mac_hex(feed);
        let (a, b) = (expected.as_bytes(), stored.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey(id {})", self.id)
    }
}

// ───────────────────────────── records ─────────────────────────────

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
    fn texts(&self) -> [&str; 10] {
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
        ]
    }
}

impl NewAuditRecord {
    fn texts(&self) -> [&str; 10] {
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
        ]
    }
}

/// Feeds `len:bytes` (the length in decimal) to `feed`.
fn field(feed: &mut dyn FnMut(&[u8]), bytes: &[u8]) {
    decimal(feed, bytes.len() as i64);
    feed(b":");
    feed(bytes);
}

/// Feeds `n` in decimal, without allocating.
fn decimal(feed: &mut dyn FnMut(&[u8]), n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    feed(&buf[i..]);
}

fn number(feed: &mut dyn FnMut(&[u8]), n: i64) {
    let mut buf = Vec::with_capacity(20);
    decimal(&mut |b| buf.extend_from_slice(b), n);
    field(feed, &buf);
}

/// The canonical encoding of one record: `len:bytes` of each of prev_hash,
/// seq, at_ms (both in decimal), actor_kind, actor_id, actor_name, action,
/// outcome, target_kind, target_id, detail, ip and request_id, in that
/// order. Changing it invalidates every stored chain.
fn encode_record(
    feed: &mut dyn FnMut(&[u8]),
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    texts: [&str; 10],
) {
    field(feed, prev_hash.as_bytes());
    number(feed, seq);
    number(feed, at_ms);
    for t in texts {
        field(feed, t.as_bytes());
    }
}

fn plain_hash(prev_hash: &str, seq: i64, at_ms: i64, texts: [&str; 10]) -> String {
    let mut h = Sm3::new();
    encode_record(&mut |b| h.update(b), prev_hash, seq, at_ms, texts);
    hex::encode(h.finalize())
}

/// The plain (unkeyed) hash of a record: SM3, lower-case hex, of the
/// canonical encoding. Records before the keyed boundary carry it; anyone
/// can compute it, which is why later records carry [`record_mac`].
pub fn record_hash(prev_hash: &str, seq: i64, r: &NewAuditRecord) -> String {
    plain_hash(prev_hash, seq, r.at_ms, r.texts())
}

/// The keyed hash of a record: HMAC-SM3 under `key`, lower-case hex, of the
/// same canonical encoding as [`record_hash`].
pub fn record_mac(key: &AuditKey, prev_hash: &str, seq: i64, r: &NewAuditRecord) -> String {
    key.mac_hex(|feed| encode_record(feed, prev_hash, seq, r.at_ms, r.texts()))
}

// ───────────────────────────── the head ─────────────────────────────

/// The head row: the newest record, the anchor (the last record removed by
/// retention) and the keyed boundary, with the seal over the last two.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub anchor_seq: i64,
    pub anchor_hash: String,
    /// The anchor record's time (0: nothing pruned, or pruned before the
    /// keyed chain).
    pub anchor_at: i64,
    /// When the anchor was set (0: never, or before the keyed chain).
    pub pruned_at: i64,
    /// The retention the anchor was set under.
    pub retention_days: i64,
    /// The first record chained with the key.
    pub keyed_from: i64,
    /// HMAC of the anchor and the boundary ('' until the first keyed append).
    pub seal: String,
}

impl Head {
    fn encode_seal(&self, feed: &mut dyn FnMut(&[u8])) {
        field(feed, b"onestop-audit-seal-v1");
        number(feed, self.keyed_from);
        number(feed, self.anchor_seq);
        field(feed, self.anchor_hash.as_bytes());
        number(feed, self.anchor_at);
        number(feed, self.pruned_at);
        number(feed, self.retention_days);
    }

    fn seal_with(&self, key: &AuditKey) -> String {
        key.mac_hex(|feed| self.encode_seal(feed))
    }

    fn seal_ok(&self, key: &AuditKey) -> bool {
        key.check(&self.seal, |feed| self.encode_seal(feed))
    }

    /// No keyed record exists yet and nothing has been sealed: a freshly
    /// migrated log, which the first keyed append seals.
    fn unsealed_fresh(&self) -> bool {
        self.seal.is_empty() && self.keyed_from == self.seq + 1
    }
}

/// Reads the head row; `lock` takes its row lock on PostgreSQL (on SQLite the
/// caller's `BEGIN IMMEDIATE` already holds the database's write lock).
pub fn read_head(conn: &mut dyn Conn, lock: bool) -> Result<Head, StoreError> {
    let sql = if lock && conn.dialect() == Dialect::Postgres {
        format!("SELECT {HEAD_COLUMNS} FROM audit_head WHERE id = 1 FOR UPDATE")
    } else {
        format!("SELECT {HEAD_COLUMNS} FROM audit_head WHERE id = 1")
    };
    let row = conn
        .query_opt(&sql, &[])?
        .ok_or_else(|| StoreError::Decode("audit_head has no row 1".into()))?;
    Ok(Head {
        seq: row.int(0)?,
        hash: row.text(1)?.to_owned(),
        anchor_seq: row.int(2)?,
        anchor_hash: row.text(3)?.to_owned(),
        anchor_at: row.int(4)?,
        pruned_at: row.int(5)?,
        retention_days: row.int(6)?,
        keyed_from: row.int(7)?,
        seal: row.text(8)?.to_owned(),
    })
}

/// Whether the log is sealed with `key` (None: nothing sealed yet). A
/// server given another key than the one its database was chained with
/// would write records no verification can check.
pub fn key_matches(conn: &mut dyn Conn, key: &AuditKey) -> Result<Option<bool>, StoreError> {
    let head = read_head(conn, false)?;
    if head.seal.is_empty() {
        return Ok(None);
    }
    Ok(Some(head.seal_ok(key)))
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

/// Appends `records` in order, continuing the chain with MACs under `key`;
/// returns the seqs assigned (head.seq + 1, + 2, …). Locks the head row
/// first (held until the caller's transaction ends) and inserts the records
/// with one statement per chunk of as many rows as the database takes
/// parameters for (2,340 on SQLite, 4,681 on PostgreSQL). The first keyed
/// append of a log seals its boundary and anchor.
pub fn append(
    conn: &mut dyn Conn,
    key: &AuditKey,
    records: &[NewAuditRecord],
) -> Result<Vec<i64>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let head = read_head(conn, true)?;
    // Statements of a few fixed sizes (powers of two up to 512 rows), so
    // that the connections' statement caches hold at most ten of them.
    let cap = (max_params(conn.dialect()) / WIDTH).min(512);
    let mut seqs = Vec::with_capacity(records.len());
    let mut prev = head.hash.clone();
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
            let hash = record_mac(key, &prev, seq, r);
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
    if head.unsealed_fresh() {
        conn.execute(
            "UPDATE audit_head SET seq = $1, hash = $2, seal = $3 WHERE id = 1",
            params![seq, prev, head.seal_with(key)],
        )?;
    } else {
        conn.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            params![seq, prev],
        )?;
    }
    Ok(seqs)
}

// ───────────────────────────── listing ─────────────────────────────

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

/// How many records the log holds.
pub fn count(conn: &mut dyn Conn) -> Result<i64, StoreError> {
    conn.query_opt("SELECT COUNT(*) FROM audit_log", &[])?
        .ok_or_else(|| StoreError::Decode("COUNT(*) returned no row".into()))?
        .int(0)
}

// ───────────────────────────── checkpoints ─────────────────────────────

/// A signed statement that the log reached record `seq`, whose hash was
/// `hash`, at `at_ms`, keyed from `keyed_from`. Kept in the database, in an
/// append-only file and in the server's log; `mac` is HMAC-SM3 under the
/// audit key of the canonical encoding (see [`Checkpoint::new`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    #[serde(rename = "at")]
    pub at_ms: i64,
    pub keyed_from: i64,
    pub mac: String,
}

impl Checkpoint {
    /// A checkpoint signed with `key`: the MAC covers `len:bytes` of
    /// "onestop-audit-checkpoint-v1", seq, hash, at_ms and keyed_from.
    pub fn new(key: &AuditKey, seq: i64, hash: &str, at_ms: i64, keyed_from: i64) -> Checkpoint {
        let mut c = Checkpoint {
            seq,
            hash: hash.to_owned(),
            at_ms,
            keyed_from,
            mac: String::new(),
        };
        c.mac = key.mac_hex(|feed| c.encode(feed));
        c
    }

    fn encode(&self, feed: &mut dyn FnMut(&[u8])) {
        field(feed, b"onestop-audit-checkpoint-v1");
        number(feed, self.seq);
        field(feed, self.hash.as_bytes());
        number(feed, self.at_ms);
        number(feed, self.keyed_from);
    }

    /// Was this checkpoint signed with `key`, as it stands?
    pub fn mac_ok(&self, key: &AuditKey) -> bool {
        key.check(&self.mac, |feed| self.encode(feed))
    }
}

/// A checkpoint signed now for the current head (read without a lock).
pub fn checkpoint(
    conn: &mut dyn Conn,
    key: &AuditKey,
    now_ms: i64,
) -> Result<Checkpoint, StoreError> {
    let head = read_head(conn, false)?;
    Ok(Checkpoint::new(
        key,
        head.seq,
        &head.hash,
        now_ms,
        head.keyed_from,
    ))
}

/// Keeps a checkpoint in `audit_checkpoints` (several servers may store the
/// same seq; that is harmless).
pub fn save_checkpoint(conn: &mut dyn Conn, c: &Checkpoint) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit_checkpoints (seq, hash, at, keyed_from, mac) VALUES ($1, $2, $3, $4, $5)",
        params![c.seq, c.hash.as_str(), c.at_ms, c.keyed_from, c.mac.as_str()],
    )?;
    Ok(())
}

/// Every checkpoint kept in the database, oldest first.
pub fn stored_checkpoints(conn: &mut dyn Conn) -> Result<Vec<Checkpoint>, StoreError> {
    conn.query(
        "SELECT seq, hash, at, keyed_from, mac FROM audit_checkpoints ORDER BY at, seq",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Checkpoint {
            seq: r.int(0)?,
            hash: r.text(1)?.to_owned(),
            at_ms: r.int(2)?,
            keyed_from: r.int(3)?,
            mac: r.text(4)?.to_owned(),
        })
    })
    .collect()
}

/// A checkpoint from outside the database, with where it came from
/// ("audit-checkpoints.log line 12"), for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedCheckpoint {
    pub checkpoint: Checkpoint,
    pub source: String,
}

// ───────────────────────────── verification ─────────────────────────────

/// What [`verify`] needs besides the database.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    pub key: &'a AuditKey,
    /// Checkpoints from the files and logs kept outside the database
    /// (those in `audit_checkpoints` are read by [`verify`] itself). Read
    /// them before calling, so that none is newer than the head it reads.
    pub checkpoints: &'a [SourcedCheckpoint],
    /// Now (Unix milliseconds): a record younger than the retention period
    /// today cannot have been pruned lawfully, whatever the anchor claims.
    pub now_ms: i64,
}

/// What kind of problem [`verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A record's content does not match its MAC (or, before the keyed
    /// boundary, its SM3 hash).
    Changed,
    /// A keyed record carries the plain SM3 hash of its content: the chain
    /// was recomputed by someone without the key.
    RecomputedWithoutKey,
    /// A record's prev_hash is not the previous record's hash.
    Relinked,
    /// Records are missing from the middle of the chain.
    Removed,
    /// Records are missing at the end (the head, or a checkpoint, names
    /// records the log no longer has).
    Truncated,
    /// No record is left, though the head or the checkpoints show there
    /// were some.
    Wiped,
    /// A record outside the chain (beyond the head, or before the anchor).
    Inserted,
    /// The head's hash is not the last record's.
    HeadMismatch,
    /// The seal over the anchor and the keyed boundary does not match: one
    /// of them was moved without the key.
    SealBroken,
    /// The seal was removed although keyed records exist.
    SealMissing,
    /// The anchor removed records younger than the retention period.
    AnchorInsideRetention,
    /// The keyed boundary differs from the one the checkpoints saw.
    BoundaryMoved,
    /// A checkpoint's MAC is wrong: forged, or made with another key.
    CheckpointForged,
    /// The record at a checkpoint's seq has another hash than the
    /// checkpoint saw: it was rewritten since.
    CheckpointMismatch,
    /// A record cannot be decoded.
    Unreadable,
}

/// One problem found, about records `first_seq..=last_seq` (one record
/// when equal), described in English for the operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub first_seq: i64,
    pub last_seq: i64,
    pub message: String,
}

/// The outcome of [`verify`]. `first_seq..=last_seq` is the stretch that
/// was walked (`checked` records; `first_seq` is the anchor's seq + 1, so
/// an empty stretch has `last_seq == first_seq - 1`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub checked: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub keyed_from: i64,
    /// Checkpoints whose MAC verified and that were compared with the log.
    pub checkpoints: i64,
    pub problems: Vec<Problem>,
    /// Problems beyond [`MAX_PROBLEMS`], only counted.
    pub more_problems: i64,
}

impl VerifyReport {
    pub fn intact(&self) -> bool {
        self.problems.is_empty() && self.more_problems == 0
    }

    /// The first problem's kind, if any.
    pub fn first_kind(&self) -> Option<ProblemKind> {
        self.problems.first().map(|p| p.kind)
    }

    pub fn has(&self, kind: ProblemKind) -> bool {
        self.problems.iter().any(|p| p.kind == kind)
    }
}

/// An instant as `2026-12-01T13:01:32Z`.
pub fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.replace_nanosecond(0)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn span(first: i64, last: i64) -> String {
    if first == last {
        format!("record {first}")
    } else {
        format!("records {first}–{last} ({} records)", last - first + 1)
    }
}

/// Collects problems, merging a run of the same kind on consecutive
/// records into one.
struct Problems {
    list: Vec<(ProblemKind, i64, i64, String)>,
    more: i64,
}

impl Problems {
    fn new() -> Self {
        Problems {
            list: Vec::new(),
            more: 0,
        }
    }

    /// A problem about records `first..=last`; `note` is added to the
    /// message (empty for the kind's standard wording).
    fn add(&mut self, kind: ProblemKind, first: i64, last: i64, note: String) {
        if let Some(p) = self.list.last_mut()
            && p.0 == kind
            && p.2 + 1 == first
            && note.is_empty()
            && p.3.is_empty()
            && matches!(
                kind,
                ProblemKind::Changed
                    | ProblemKind::RecomputedWithoutKey
                    | ProblemKind::Relinked
                    | ProblemKind::Unreadable
            )
        {
            p.2 = last;
            return;
        }
        if self.list.len() >= MAX_PROBLEMS {
            self.more += 1;
            return;
        }
        self.list.push((kind, first, last, note));
    }

    fn finish(self) -> (Vec<Problem>, i64) {
        let list = self
            .list
            .into_iter()
            .map(|(kind, first, last, note)| {
                let s = span(first, last);
                let message = match kind {
                    ProblemKind::Changed => format!(
                        "{s}: changed — the content does not match its hash{}",
                        if note.is_empty() {
                            String::new()
                        } else {
                            format!(" ({note})")
                        }
                    ),
                    ProblemKind::RecomputedWithoutKey => format!(
                        "{s}: the chain was recomputed without the key — the hash is plain SM3 of \
                         the content, not its HMAC (the content, or the link to the record \
                         before, was changed and the hashes forged)"
                    ),
                    ProblemKind::Relinked if !note.is_empty() => format!("{s}: {note}"),
                    ProblemKind::Relinked => format!(
                        "{s}: prev_hash does not match the previous record's hash (a record \
                         was inserted, replaced or its hash changed)"
                    ),
                    ProblemKind::Removed => format!("{s}: removed — missing from the chain"),
                    ProblemKind::Unreadable => format!("{s}: cannot be read ({note})"),
                    _ => note,
                };
                Problem {
                    kind,
                    first_seq: first,
                    last_seq: last,
                    message,
                }
            })
            .collect();
        (list, self.more)
    }
}

/// Checks the whole log against the key and the checkpoints and names
/// every problem found (see [`ProblemKind`]): records changed, removed,
/// inserted or recomputed without the key, records missing at the end, a
/// wiped log, an anchor or boundary moved, an anchor inside retention,
/// forged checkpoints.
///
/// Walks the chain from the anchor to the head in seq order, a page at a
/// time. Walking stops at the head read at the start, so appends made
/// meanwhile are not mistaken for tampering. Run it in a read transaction
/// for one consistent view; without one, a break that retention explains
/// (the anchor has since moved past it: the records were pruned under the
/// walk) is not reported, and the walk goes on from the new anchor.
pub fn verify(conn: &mut dyn Conn, options: VerifyOptions<'_>) -> Result<VerifyReport, StoreError> {
    let mut head = read_head(conn, false)?;
    // Every retry starts past a strictly later anchor, so this ends; the
    // bound only caps the work under a retention run that never stops.
    for _ in 0..1_000 {
        let report = verify_from(conn, options, &head)?;
        let Some(first) = report.problems.first() else {
            return Ok(report);
        };
        let now = read_head(conn, false)?;
        if now.anchor_seq <= head.anchor_seq || now.anchor_seq < first.first_seq {
            return Ok(report);
        }
        head = now;
    }
    verify_from(conn, options, &head)
}

const CHECKPOINT_COLUMNS: &str = "seq, hash, at, keyed_from, mac";

fn decode_checkpoint(r: &Row) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        seq: r.int(0)?,
        hash: r.text(1)?.to_owned(),
        at_ms: r.int(2)?,
        keyed_from: r.int(3)?,
        mac: r.text(4)?.to_owned(),
    })
}

fn db_source(c: &Checkpoint) -> String {
    format!("the database's checkpoint of {}", utc(c.at_ms))
}

/// What the checkpoints prove, gathered as they are read: the database's a
/// page at a time (their table grows by one row a minute per server), the
/// files' from memory.
struct Evidence<'a> {
    key: &'a AuditKey,
    head: &'a Head,
    /// MACs of the valid outside checkpoints (a database row with the same
    /// MAC is the same checkpoint, counted once).
    outside: std::collections::HashSet<&'a str>,
    counted: i64,
    /// The valid checkpoint with the highest seq.
    latest: Option<(Checkpoint, String)>,
    /// The valid checkpoint with the highest seq before the anchor's.
    before_anchor: Option<(Checkpoint, String)>,
    /// A valid checkpoint that saw another keyed boundary.
    boundary: Option<(Checkpoint, String)>,
    /// A valid checkpoint of the anchor's record with another hash.
    anchor: Option<(Checkpoint, String)>,
}

impl<'a> Evidence<'a> {
    /// Checks one checkpoint's MAC and takes note of what it proves; false
    /// when it is forged (and reported).
    fn consider(
        &mut self,
        c: &Checkpoint,
        source: impl FnOnce() -> String,
        from_db: bool,
        problems: &mut Problems,
    ) -> bool {
        if !c.mac_ok(self.key) {
            problems.add(
                ProblemKind::CheckpointForged,
                c.seq,
                c.seq,
                format!(
                    "{} (record {}, {}) has a wrong MAC: forged, or made with another key",
                    source(),
                    c.seq,
                    utc(c.at_ms)
                ),
            );
            return false;
        }
        if !(from_db && self.outside.contains(c.mac.as_str())) {
            self.counted += 1;
        }
        let later = |best: &Option<(Checkpoint, String)>| {
            best.as_ref()
                .is_none_or(|(b, _)| (c.seq, c.at_ms) > (b.seq, b.at_ms))
        };
        let wanted = [
            later(&self.latest),
            c.seq < self.head.anchor_seq && later(&self.before_anchor),
            c.keyed_from != self.head.keyed_from && self.boundary.is_none(),
            c.seq == self.head.anchor_seq
                && c.hash != self.head.anchor_hash
                && self.anchor.is_none(),
        ];
        if wanted.iter().any(|w| *w) {
            let s = source();
            if wanted[0] {
                self.latest = Some((c.clone(), s.clone()));
            }
            if wanted[1] {
                self.before_anchor = Some((c.clone(), s.clone()));
            }
            if wanted[2] {
                self.boundary = Some((c.clone(), s.clone()));
            }
            if wanted[3] {
                self.anchor = Some((c.clone(), s));
            }
        }
        true
    }
}

fn verify_from(
    conn: &mut dyn Conn,
    options: VerifyOptions<'_>,
    head: &Head,
) -> Result<VerifyReport, StoreError> {
    let key = options.key;
    let mut problems = Problems::new();
    let first_seq = head.anchor_seq + 1;
    let retention_ms = i64::from(MIN_RETENTION_DAYS) * DAY_MS;
    let mut evidence = Evidence {
        key,
        head,
        outside: std::collections::HashSet::new(),
        counted: 0,
        latest: None,
        before_anchor: None,
        boundary: None,
        anchor: None,
    };

    // The checkpoints from outside, and those of the database that bear on
    // the anchor and the boundary; the rest are read along the walk.
    let mut outside_at: std::collections::BTreeMap<i64, Vec<&SourcedCheckpoint>> =
        std::collections::BTreeMap::new();
    for c in options.checkpoints {
        let cp = &c.checkpoint;
        if evidence.consider(cp, || c.source.clone(), false, &mut problems) {
            evidence.outside.insert(cp.mac.as_str());
            if cp.seq > head.anchor_seq && cp.seq <= head.seq {
                outside_at.entry(cp.seq).or_default().push(c);
            }
        }
    }
    // (Retention removes the rows of pruned records older than its cut:
    // few are left at or before the anchor.)
    for r in conn.query(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE seq <= $1 ORDER BY seq"),
        params![head.anchor_seq],
    )? {
        let c = decode_checkpoint(&r)?;
        evidence.consider(&c, || db_source(&c), true, &mut problems);
    }
    for r in conn.query(
        &format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints \
             WHERE keyed_from <> $1 AND seq > $2 ORDER BY seq"
        ),
        params![head.keyed_from, head.anchor_seq],
    )? {
        let c = decode_checkpoint(&r)?;
        evidence.consider(&c, || db_source(&c), true, &mut problems);
    }

    // The seal over the anchor and the keyed boundary.
    if head.seal.is_empty() {
        if !head.unsealed_fresh() {
            problems.add(
                ProblemKind::SealMissing,
                head.keyed_from,
                head.keyed_from,
                format!(
                    "the head's seal was removed although keyed records exist (keyed from record \
                     {}, anchor at record {}): the anchor or the boundary may have been moved",
                    head.keyed_from, head.anchor_seq
                ),
            );
        }
    } else if !head.seal_ok(key) {
        problems.add(
            ProblemKind::SealBroken,
            head.anchor_seq,
            head.anchor_seq,
            format!(
                "the head's seal does not match its anchor (record {}) and keyed boundary \
                 (record {}): one of them was moved without the key",
                head.anchor_seq, head.keyed_from
            ),
        );
    }
    if let Some((c, source)) = &evidence.boundary {
        problems.add(
            ProblemKind::BoundaryMoved,
            head.keyed_from,
            head.keyed_from,
            format!(
                "the keyed chain starts at record {}, but {source} saw it start at record {}",
                head.keyed_from, c.keyed_from
            ),
        );
    }

    // The anchor: nothing younger than the retention may have gone. Its
    // own claims first (sealed, unless the seal is broken)…
    if head.anchor_seq > 0 && head.pruned_at > 0 {
        let days = head.retention_days;
        let cut = head.pruned_at - days.max(i64::from(MIN_RETENTION_DAYS)) * DAY_MS;
        if days < i64::from(MIN_RETENTION_DAYS)
            || head.anchor_at >= cut
            || head.anchor_at > options.now_ms - retention_ms
        {
            problems.add(
                ProblemKind::AnchorInsideRetention,
                head.anchor_seq,
                head.anchor_seq,
                format!(
                    "the anchor removed records up to record {} (of {}), pruned {} under a \
                     retention of {days} days: inside the retention period (at least {} days)",
                    head.anchor_seq,
                    utc(head.anchor_at),
                    utc(head.pruned_at),
                    MIN_RETENTION_DAYS
                ),
            );
        }
    }
    if head.anchor_seq > 0 {
        // …then the evidence: a checkpoint before the anchor's record proves
        // that record was written after the checkpoint's time; if that is
        // less than the retention period ago, it cannot have gone lawfully.
        if let Some((c, source)) = &evidence.before_anchor
            && c.at_ms - COMMIT_SLACK_MS > options.now_ms - retention_ms
        {
            problems.add(
                ProblemKind::AnchorInsideRetention,
                head.anchor_seq,
                head.anchor_seq,
                format!(
                    "the anchor removed records up to record {}, but {source} shows the log was \
                     at record {} then, so record {} was written after {}: less than {} days ago",
                    head.anchor_seq,
                    c.seq,
                    head.anchor_seq,
                    utc(c.at_ms),
                    MIN_RETENTION_DAYS
                ),
            );
        }
        if let Some((_, source)) = &evidence.anchor {
            problems.add(
                ProblemKind::CheckpointMismatch,
                head.anchor_seq,
                head.anchor_seq,
                format!(
                    "the anchor's hash for record {} differs from {source}",
                    head.anchor_seq
                ),
            );
        }
    }

    // Retention removes everything up to the anchor: a record there was put
    // back or forged, outside the chain.
    if let Some(row) = conn.query_opt(
        "SELECT seq FROM audit_log WHERE seq <= $1 ORDER BY seq LIMIT 1",
        params![head.anchor_seq],
    )? {
        let seq = row.int(0)?;
        problems.add(
            ProblemKind::Inserted,
            seq,
            seq,
            format!(
                "record {seq} is at or before the anchor ({}), where no record should be left: \
                 put back or forged",
                head.anchor_seq
            ),
        );
    }

    // The walk, a page of records at a time, each page's checkpoints after it.
    let mut last_seq = head.anchor_seq;
    let mut prev = head.anchor_hash.clone();
    let mut checked = 0;
    let mut compared_to = head.anchor_seq;
    loop {
        let rows = conn.query(
            &format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2 \
                 ORDER BY seq LIMIT $3"
            ),
            params![last_seq, head.seq, VERIFY_PAGE],
        )?;
        let done = (rows.len() as i64) < VERIFY_PAGE;
        let mut hashes: Vec<(i64, String)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let expected = last_seq + 1;
            let record = match decode(row) {
                Ok(r) => r,
                Err(e) => {
                    let seq = row.int(0).unwrap_or(expected);
                    problems.add(ProblemKind::Unreadable, seq, seq, e.to_string());
                    last_seq = seq.max(expected);
                    prev = row.text(13).unwrap_or("").to_owned();
                    continue;
                }
            };
            checked += 1;
            if record.seq != expected {
                problems.add(
                    ProblemKind::Removed,
                    expected,
                    record.seq - 1,
                    String::new(),
                );
            } else if record.prev_hash != prev {
                // The first keyed record's MAC covers the last plain hash.
                let note = if record.seq == head.keyed_from && record.seq > 1 {
                    format!(
                        "its prev_hash does not match record {}'s hash: the records before the \
                         keyed chain (plain SM3, up to record {}) were rewritten",
                        record.seq - 1,
                        record.seq - 1
                    )
                } else {
                    String::new()
                };
                problems.add(ProblemKind::Relinked, record.seq, record.seq, note);
            }
            let texts = record.texts();
            if record.seq >= head.keyed_from {
                let ok = key.check(&record.hash, |feed| {
                    encode_record(feed, &record.prev_hash, record.seq, record.at_ms, texts)
                });
                if !ok {
                    let plain = plain_hash(&record.prev_hash, record.seq, record.at_ms, texts);
                    let kind = if plain == record.hash {
                        ProblemKind::RecomputedWithoutKey
                    } else {
                        ProblemKind::Changed
                    };
                    problems.add(kind, record.seq, record.seq, String::new());
                }
            } else if plain_hash(&record.prev_hash, record.seq, record.at_ms, texts) != record.hash
            {
                problems.add(
                    ProblemKind::Changed,
                    record.seq,
                    record.seq,
                    "a record from before the keyed chain, hashed with plain SM3".into(),
                );
            }
            hashes.push((record.seq, record.hash.clone()));
            prev = record.hash;
            last_seq = record.seq;
        }
        // The checkpoints of the stretch just walked (to the head at the end).
        let upto = if done { head.seq } else { last_seq };
        let page = conn.query(
            &format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints \
                 WHERE seq > $1 AND seq <= $2 AND keyed_from = $3 ORDER BY seq"
            ),
            params![compared_to, upto, head.keyed_from],
        )?;
        let mut mismatched = std::collections::HashSet::new();
        let mut compare = |c: &Checkpoint, source: &dyn Fn() -> String, problems: &mut Problems| {
            let Ok(i) = hashes.binary_search_by_key(&c.seq, |(s, _)| *s) else {
                return; // a missing record, reported as such
            };
            if hashes[i].1 != c.hash && mismatched.insert(c.seq) {
                problems.add(
                    ProblemKind::CheckpointMismatch,
                    c.seq,
                    c.seq,
                    format!(
                        "record {} has another hash than {} saw: it was rewritten since",
                        c.seq,
                        source()
                    ),
                );
            }
        };
        if upto > compared_to {
            for cs in outside_at.range((compared_to + 1)..=upto).map(|(_, cs)| cs) {
                for c in cs {
                    compare(&c.checkpoint, &|| c.source.clone(), &mut problems);
                }
            }
        }
        for r in &page {
            let c = decode_checkpoint(r)?;
            if evidence.consider(&c, || db_source(&c), true, &mut problems) {
                compare(&c, &|| db_source(&c), &mut problems);
            }
        }
        compared_to = upto;
        if done || rows.is_empty() {
            break;
        }
    }

    // Checkpoints beyond the head (the database's; the outside ones are
    // already in).
    for r in conn.query(
        &format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints \
             WHERE seq > $1 AND keyed_from = $2 ORDER BY seq"
        ),
        params![head.seq, head.keyed_from],
    )? {
        let c = decode_checkpoint(&r)?;
        evidence.consider(&c, || db_source(&c), true, &mut problems);
    }

    // The end of the log. A checkpoint beyond the head is explained by
    // appends since the head was read only if the head has moved past it.
    let beyond = match evidence.latest.as_ref().filter(|(c, _)| c.seq > head.seq) {
        Some(l) if read_head(conn, false)?.seq < l.0.seq => Some(l),
        _ => None,
    };
    if checked == 0 && (head.seq > head.anchor_seq || beyond.is_some()) {
        let (seq, what) = match beyond {
            Some((c, source)) => (
                c.seq,
                format!("{source} ({}) saw record {}", utc(c.at_ms), c.seq),
            ),
            None => (head.seq, format!("the head says {}", head.seq)),
        };
        problems.add(
            ProblemKind::Wiped,
            head.anchor_seq + 1,
            seq,
            format!(
                "the log was wiped: no record is left after the anchor (record {}), but {what}",
                head.anchor_seq
            ),
        );
    } else {
        if last_seq < head.seq {
            problems.add(
                ProblemKind::Truncated,
                last_seq + 1,
                head.seq,
                format!(
                    "{}: missing at the end — the head says {} but the last record is {last_seq}",
                    span(last_seq + 1, head.seq),
                    head.seq
                ),
            );
        } else if prev != head.hash {
            problems.add(
                ProblemKind::HeadMismatch,
                head.seq,
                head.seq,
                format!("the head's hash does not match record {}", head.seq),
            );
        }
        if let Some((c, source)) = beyond {
            problems.add(
                ProblemKind::Truncated,
                head.seq + 1,
                c.seq,
                format!(
                    "{}: missing at the end — {source} ({}) saw record {}, but the log ends at \
                     record {} (records were cut off and the head moved back)",
                    span(head.seq + 1, c.seq),
                    utc(c.at_ms),
                    c.seq,
                    head.seq
                ),
            );
        }
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
            problems.add(
                ProblemKind::Inserted,
                seq,
                seq,
                format!("record {seq} is beyond the head ({}): forged", head.seq),
            );
        }
    }
    let counted = evidence.counted;
    let (problems, more_problems) = problems.finish();
    Ok(VerifyReport {
        checked,
        first_seq,
        last_seq,
        keyed_from: head.keyed_from,
        checkpoints: counted,
        problems,
        more_problems,
    })
}

// ───────────────────────────── retention ─────────────────────────────

/// What [`prune`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Pruned {
    /// Records `first_seq..=last_seq` were removed; the anchor is now
    /// `last_seq`, whose time was `anchor_at`.
    Removed {
        count: u64,
        first_seq: i64,
        last_seq: i64,
        anchor_at: i64,
    },
    /// No record is older than the retention period.
    Nothing,
    /// The head's seal does not verify: nothing was removed (the reason,
    /// in English).
    Refused(String),
}

/// Retention: removes the records older than `retention_days` (never fewer
/// than [`MIN_RETENTION_DAYS`]) before `now_ms` — only a prefix of the
/// chain, stopping at the first record at or after the cut — and moves the
/// anchor to the last record removed, sealed with the key, so that the rest
/// still verifies. Refuses when the head's seal does not verify (someone
/// moved the anchor or boundary). The records removed are not verified
/// first; the caller appends a record about the removal in the same
/// transaction.
pub fn prune(
    conn: &mut dyn Conn,
    key: &AuditKey,
    now_ms: i64,
    retention_days: u32,
) -> Result<Pruned, StoreError> {
    let days = retention_days.max(MIN_RETENTION_DAYS);
    let before_ms = now_ms - i64::from(days) * DAY_MS;
    let head = read_head(conn, true)?;
    if !head.unsealed_fresh() && !head.seal_ok(key) {
        return Ok(Pruned::Refused(
            "the audit head's seal does not verify (or is missing); run `onestop audit verify`"
                .into(),
        ));
    }
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
        "SELECT seq, hash, at FROM audit_log WHERE seq > $1 AND seq < $2 \
         ORDER BY seq DESC LIMIT 1",
        params![head.anchor_seq, end],
    )?;
    let Some(last) = last else {
        return Ok(Pruned::Nothing);
    };
    let anchored = Head {
        anchor_seq: last.int(0)?,
        anchor_hash: last.text(1)?.to_owned(),
        anchor_at: last.int(2)?,
        pruned_at: now_ms,
        retention_days: i64::from(days),
        ..head.clone()
    };
    let count = conn.execute(
        "DELETE FROM audit_log WHERE seq <= $1",
        params![anchored.anchor_seq],
    )?;
    conn.execute(
        "DELETE FROM audit_checkpoints WHERE seq <= $1 AND at < $2",
        params![anchored.anchor_seq, before_ms],
    )?;
    conn.execute(
        "UPDATE audit_head SET anchor_seq = $1, anchor_hash = $2, anchor_at = $3, \
         pruned_at = $4, retention_days = $5, seal = $6 WHERE id = 1",
        params![
            anchored.anchor_seq,
            anchored.anchor_hash.as_str(),
            anchored.anchor_at,
            anchored.pruned_at,
            anchored.retention_days,
            anchored.seal_with(key)
        ],
    )?;
    Ok(Pruned::Removed {
        count,
        first_seq: head.anchor_seq + 1,
        last_seq: anchored.anchor_seq,
        anchor_at: anchored.anchor_at,
    })
}
