//! Idempotency keys: the first response to a key is stored with the write it
//! answers, in the same transaction, and replayed for every repeat.

use crate::StoreError;
use crate::db::Conn;
use crate::db::Sql as _;
use crate::params;

/// A response kept for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResponse {
    pub request_hash: String,
    pub status_code: u16,
    pub location: Option<String>,
    pub body: String,
}

/// The key of one client's request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// Whose key it is (the client or route), so clients cannot collide.
    pub scope: String,
    pub key: String,
    /// Digest of the request (method, path and body).
    pub request_hash: String,
}

pub fn find(
    conn: &mut dyn Conn,
    scope: &str,
    key: &str,
) -> Result<Option<SavedResponse>, StoreError> {
    let row = conn.query_opt(
        "SELECT request_hash, status_code, location, body FROM idempotency_keys
         WHERE scope = $1 AND idem_key = $2",
        params![scope, key],
    )?;
    row.map(|r| {
        Ok(SavedResponse {
            request_hash: r.text(0)?.to_owned(),
            status_code: r.int(1)? as u16,
            location: r.opt_text(2)?.map(str::to_owned),
            body: r.text(3)?.to_owned(),
        })
    })
    .transpose()
}

/// Claims `key` inside the current transaction. `Ok(None)` means the key is
/// ours now (call [`complete`] before the transaction ends); `Ok(Some(saved))`
/// means an earlier request holds it (on PostgreSQL this waits for a
/// concurrent holder to commit or roll back first).
pub fn claim(
    conn: &mut dyn Conn,
    key: &IdempotencyKey,
    now_ms: i64,
) -> Result<Option<SavedResponse>, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status_code, location, body, created_at)
         VALUES ($1, $2, $3, 0, NULL, '', $4)
         ON CONFLICT (scope, idem_key) DO NOTHING",
        params![&key.scope, &key.key, &key.request_hash, now_ms],
    )?;
    if inserted == 1 {
        return Ok(None);
    }
    find(conn, &key.scope, &key.key)?
        .map(Some)
        .ok_or_else(|| StoreError::NotFound("idempotency key vanished".into()))
}

/// Stores the response of a claimed key.
pub fn complete(
    conn: &mut dyn Conn,
    key: &IdempotencyKey,
    status_code: u16,
    location: Option<&str>,
    body: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE idempotency_keys SET status_code = $1, location = $2, body = $3
         WHERE scope = $4 AND idem_key = $5",
        params![status_code as i64, location, body, &key.scope, &key.key],
    )?;
    Ok(())
}

/// Gives a claimed key back (inside the claiming transaction): the answer
/// was a passing failure (say, a calendar year not yet loaded), so a retry
/// must be tried afresh rather than told the same.
pub fn release(conn: &mut dyn Conn, key: &IdempotencyKey) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
        params![&key.scope, &key.key],
    )?;
    Ok(())
}
