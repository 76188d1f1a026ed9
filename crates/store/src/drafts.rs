//! The application form saved half-filled (草稿), one per account.

use crate::StoreError;
use crate::db::Conn;
use crate::db::Sql as _;
use crate::params;

/// Saves (or replaces) the account's draft: the form's fields as typed, as JSON.
pub fn save(
    conn: &mut dyn Conn,
    account_id: &str,
    fields: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO form_drafts (account_id, saved_at, fields) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET saved_at = $2, fields = $3",
        params![account_id, at_ms, fields],
    )?;
    Ok(())
}

/// The account's draft: its fields (JSON) and when it was saved.
pub fn get(conn: &mut dyn Conn, account_id: &str) -> Result<Option<(String, i64)>, StoreError> {
    conn.query_opt(
        "SELECT fields, saved_at FROM form_drafts WHERE account_id = $1",
        params![account_id],
    )?
    .map(|r| Ok((r.text(0)?.to_owned(), r.int(1)?)))
    .transpose()
}

/// Removes the account's draft (after a submission, or when discarded).
pub fn discard(conn: &mut dyn Conn, account_id: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM form_drafts WHERE account_id = $1",
        params![account_id],
    )?;
    Ok(())
}
