//! Accounts, their role grants, login sessions and API keys.
//!
//! Plain functions over a [`Conn`]; writes run inside the caller's
//! transaction (the group-commit writer), so a state change and its audit
//! record commit together.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row, Value};
use crate::params;
use onestop_domain::lockout::Failures;

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: String,
    /// Already normalised (lower-case).
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub uscc: Option<String>,
    pub enterprise_name: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub created_by: String,
    /// `(role, scope)` pairs.
    pub grants: Vec<(String, String)>,
    pub at_ms: i64,
}

/// A grant as written: `role`, or `role:scope`.
pub fn grant_code((role, scope): &(String, String)) -> String {
    if scope.is_empty() {
        role.clone()
    } else {
        format!("{role}:{scope}")
    }
}

/// A stored account. `Debug` leaves the password hash out.
#[derive(Clone)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub uscc: Option<String>,
    pub enterprise_name: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub password_changed_at: i64,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub version: i64,
    /// `(role, scope)` pairs, sorted.
    pub grants: Vec<(String, String)>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("disabled", &self.disabled)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, phone, uscc, enterprise_name, \
     password_hash, must_change_password, disabled, \
     password_changed_at, last_login_at, created_at, created_by, updated_at, version";
const ACCOUNT_WIDTH: usize = 15;

fn account_from(row: &Row, at: usize) -> Result<Account, StoreError> {
    let t = |i: usize| row.text(at + i).map(str::to_owned);
    let ot = |i: usize| row.opt_text(at + i).map(|v| v.map(str::to_owned));
    Ok(Account {
        id: t(0)?,
        username: t(1)?,
        display_name: t(2)?,
        phone: ot(3)?,
        uscc: ot(4)?,
        enterprise_name: ot(5)?,
        password_hash: t(6)?,
        must_change_password: row.int(at + 7)? != 0,
        disabled: row.int(at + 8)? != 0,
        password_changed_at: row.int(at + 9)?,
        last_login_at: row.opt_int(at + 10)?,
        created_at: row.int(at + 11)?,
        created_by: t(12)?,
        updated_at: row.int(at + 13)?,
        version: row.int(at + 14)?,
        grants: Vec::new(),
    })
}

fn load_grants(conn: &mut dyn Conn, account: &mut Account) -> Result<(), StoreError> {
    account.grants = conn
        .query(
            "SELECT role, scope FROM account_roles WHERE account_id = $1 ORDER BY role, scope",
            params![&account.id],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?.to_owned(), r.text(1)?.to_owned())))
        .collect::<Result<_, StoreError>>()?;
    Ok(())
}

/// Creates an account; a taken username is a [`crate::ErrorKind::UniqueViolation`].
pub fn insert(conn: &mut dyn Conn, a: &NewAccount) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}, failed_logins) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, NULL, $9, $10, $9, 1, 0)"
        ),
        params![
            &a.id,
            &a.username,
            &a.display_name,
            a.phone.as_deref(),
            a.uscc.as_deref(),
            a.enterprise_name.as_deref(),
            &a.password_hash,
            a.must_change_password,
            a.at_ms,
            &a.created_by
        ],
    )?;
    put_grants(conn, &a.id, &a.grants)
}

fn put_grants(
    conn: &mut dyn Conn,
    account_id: &str,
    grants: &[(String, String)],
) -> Result<(), StoreError> {
    for (role, scope) in grants {
        conn.execute(
            "INSERT INTO account_roles (account_id, role, scope) VALUES ($1, $2, $3)",
            params![account_id, role, scope],
        )?;
    }
    Ok(())
}

fn one(conn: &mut dyn Conn, where_sql: &str, arg: &str) -> Result<Option<Account>, StoreError> {
    let row = conn.query_opt(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {where_sql}"),
        params![arg],
    )?;
    match row {
        None => Ok(None),
        Some(row) => {
            let mut a = account_from(&row, 0)?;
            load_grants(conn, &mut a)?;
            Ok(Some(a))
        }
    }
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Account>, StoreError> {
    one(conn, "id = $1", id)
}

/// By login name (give it normalised).
pub fn by_username(conn: &mut dyn Conn, username: &str) -> Result<Option<Account>, StoreError> {
    one(conn, "username = $1", username)
}

#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Part of the username or display name.
    pub text: Option<String>,
    pub role: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// Accounts by username, filtered.
pub fn list(conn: &mut dyn Conn, f: &AccountFilter) -> Result<Vec<Account>, StoreError> {
    let mut sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(t) = &f.text {
        // `%` and `_` typed by the user are matched literally.
        let escaped = t
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(format!("%{escaped}%").into());
        let n = args.len();
        sql.push_str(&format!(
            " AND (username LIKE ${n} ESCAPE '\\' OR LOWER(display_name) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(r) = &f.role {
        args.push(r.into());
        sql.push_str(&format!(
            " AND id IN (SELECT account_id FROM account_roles WHERE role = ${})",
            args.len()
        ));
    }
    args.push(i64::from(f.limit.max(1)).into());
    args.push(i64::from(f.offset).into());
    sql.push_str(&format!(
        " ORDER BY username LIMIT ${} OFFSET ${}",
        args.len() - 1,
        args.len()
    ));
    let rows = conn.query(&sql, &args)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut a = account_from(row, 0)?;
        load_grants(conn, &mut a)?;
        out.push(a);
    }
    Ok(out)
}

pub fn count(conn: &mut dyn Conn) -> Result<i64, StoreError> {
    conn.query_opt("SELECT COUNT(*) FROM accounts", &[])?
        .map_or(Ok(0), |r| r.int(0))
}

/// The failures of one account from one address (`onestop_domain::lockout`).
pub fn login_failures(
    conn: &mut dyn Conn,
    account_id: &str,
    address: &str,
) -> Result<Option<Failures>, StoreError> {
    conn.query_opt(
        "SELECT failures, last_failure_at, blocked_until FROM login_failures \
         WHERE account_id = $1 AND address = $2",
        params![account_id, address],
    )?
    .map(|r| failures_from(&r, 0))
    .transpose()
}

/// [`login_failures`] for an update in the caller's transaction: on
/// PostgreSQL the row is locked, so that failures counted at once by several
/// writers or servers all count (SQLite's write transaction holds the
/// database already).
pub fn login_failures_for_update(
    conn: &mut dyn Conn,
    account_id: &str,
    address: &str,
) -> Result<Option<Failures>, StoreError> {
    let sql = match conn.dialect() {
        crate::db::Dialect::Postgres => {
            "SELECT failures, last_failure_at, blocked_until FROM login_failures \
             WHERE account_id = $1 AND address = $2 FOR UPDATE"
        }
        crate::db::Dialect::Sqlite => {
            "SELECT failures, last_failure_at, blocked_until FROM login_failures \
             WHERE account_id = $1 AND address = $2"
        }
    };
    conn.query_opt(sql, params![account_id, address])?
        .map(|r| failures_from(&r, 0))
        .transpose()
}

fn failures_from(r: &Row, at: usize) -> Result<Failures, StoreError> {
    Ok(Failures {
        count: u32::try_from(r.int(at)?).unwrap_or(u32::MAX),
        last_ms: r.int(at + 1)?,
        blocked_until_ms: r.int(at + 2)?,
    })
}

/// Stores the failures of one account from one address, and forgets that
/// account's failures from any address that have not counted since `stale_before_ms`.
pub fn put_login_failures(
    conn: &mut dyn Conn,
    account_id: &str,
    address: &str,
    f: &Failures,
    stale_before_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM login_failures WHERE account_id = $1 AND address <> $2 \
         AND last_failure_at < $3 AND blocked_until < $3",
        params![account_id, address, stale_before_ms],
    )?;
    conn.execute(
        "INSERT INTO login_failures (account_id, address, failures, last_failure_at, blocked_until) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, address) DO UPDATE SET failures = $3, \
         last_failure_at = $4, blocked_until = $5",
        params![
            account_id,
            address,
            i64::from(f.count),
            f.last_ms,
            f.blocked_until_ms
        ],
    )?;
    Ok(())
}

/// Forgets the failures of one account from one address (a success there).
pub fn clear_login_failures(
    conn: &mut dyn Conn,
    account_id: &str,
    address: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM login_failures WHERE account_id = $1 AND address = $2",
        params![account_id, address],
    )?;
    Ok(())
}

/// An account's failures by address, the most recent first (at most `limit`).
pub fn login_failures_of(
    conn: &mut dyn Conn,
    account_id: &str,
    limit: u32,
) -> Result<Vec<(String, Failures)>, StoreError> {
    conn.query(
        "SELECT address, failures, last_failure_at, blocked_until FROM login_failures \
         WHERE account_id = $1 ORDER BY last_failure_at DESC LIMIT $2",
        params![account_id, i64::from(limit)],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?.to_owned(), failures_from(r, 1)?)))
    .collect()
}

/// A successful login: when it happened.
pub fn record_success(conn: &mut dyn Conn, id: &str, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE accounts SET last_login_at = $2, updated_at = $2 WHERE id = $1",
        params![id, at_ms],
    )?;
    Ok(())
}

/// A new password hash; forgets every failed login. `must_change` is set
/// when an administrator resets it. Returns false when the account does not exist.
pub fn set_password(
    conn: &mut dyn Conn,
    id: &str,
    hash: &str,
    must_change: bool,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE accounts SET password_hash = $2, must_change_password = $3, \
         password_changed_at = $4, updated_at = $4, version = version + 1 WHERE id = $1",
        params![id, hash, must_change, at_ms],
    )? == 1;
    conn.execute(
        "DELETE FROM login_failures WHERE account_id = $1",
        params![id],
    )?;
    Ok(changed)
}

pub fn set_disabled(
    conn: &mut dyn Conn,
    id: &str,
    disabled: bool,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE accounts SET disabled = $2, updated_at = $3, version = version + 1 WHERE id = $1",
        params![id, disabled, at_ms],
    )? == 1)
}

/// Replaces every grant of an account.
pub fn set_grants(
    conn: &mut dyn Conn,
    id: &str,
    grants: &[(String, String)],
    at_ms: i64,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE accounts SET updated_at = $2, version = version + 1 WHERE id = $1",
        params![id, at_ms],
    )?;
    if n != 1 {
        return Ok(false);
    }
    conn.execute(
        "DELETE FROM account_roles WHERE account_id = $1",
        params![id],
    )?;
    put_grants(conn, id, grants)?;
    Ok(true)
}

// ───────────────────────────── sessions ─────────────────────────────

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SM3 of the cookie's token; the token itself is never stored.
    pub token_hash: String,
    pub account_id: String,
    pub csrf_token: String,
    pub at_ms: i64,
    pub expires_at_ms: i64,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Clone)]
pub struct Session {
    pub token_hash: String,
    pub account_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("account_id", &self.account_id)
            .field("last_seen_at", &self.last_seen_at)
            .field("ended_at", &self.ended_at)
            .finish_non_exhaustive()
    }
}

pub fn create_session(conn: &mut dyn Conn, s: &NewSession) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, last_seen_at, \
         expires_at, ended_at, ip, user_agent) VALUES ($1, $2, $3, $4, $4, $5, NULL, $6, $7)",
        params![
            &s.token_hash,
            &s.account_id,
            &s.csrf_token,
            s.at_ms,
            s.expires_at_ms,
            &s.ip,
            &s.user_agent
        ],
    )?;
    Ok(())
}

/// A session and its account, in one query (plus the grants).
pub fn session_with_account(
    conn: &mut dyn Conn,
    token_hash: &str,
) -> Result<Option<(Session, Account)>, StoreError> {
    let cols = ACCOUNT_COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = conn.query_opt(
        &format!(
            "SELECT s.token_hash, s.account_id, s.csrf_token, s.created_at, s.last_seen_at, \
             s.expires_at, s.ended_at, {cols} FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1"
        ),
        params![token_hash],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let session = Session {
        token_hash: row.text(0)?.to_owned(),
        account_id: row.text(1)?.to_owned(),
        csrf_token: row.text(2)?.to_owned(),
        created_at: row.int(3)?,
        last_seen_at: row.int(4)?,
        expires_at: row.int(5)?,
        ended_at: row.opt_int(6)?,
    };
    debug_assert_eq!(row.0.len(), 7 + ACCOUNT_WIDTH);
    let mut account = account_from(&row, 7)?;
    load_grants(conn, &mut account)?;
    Ok(Some((session, account)))
}

/// Records activity (for the idle timeout).
pub fn touch_session(conn: &mut dyn Conn, token_hash: &str, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2",
        params![token_hash, at_ms],
    )?;
    Ok(())
}

/// Ends one session (logout); false when it had already ended.
pub fn end_session(conn: &mut dyn Conn, token_hash: &str, at_ms: i64) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE sessions SET ended_at = $2 WHERE token_hash = $1 AND ended_at IS NULL",
        params![token_hash, at_ms],
    )? == 1)
}

/// Ends every open session of an account (disabled, password changed or reset).
pub fn end_sessions_of(
    conn: &mut dyn Conn,
    account_id: &str,
    at_ms: i64,
) -> Result<u64, StoreError> {
    conn.execute(
        "UPDATE sessions SET ended_at = $2 WHERE account_id = $1 AND ended_at IS NULL",
        params![account_id, at_ms],
    )
}

// ───────────────────────────── API keys ─────────────────────────────

#[derive(Clone)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    /// Comma-separated scope codes.
    pub scopes: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("scopes", &self.scopes)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

const KEY_COLUMNS: &str = "id, name, prefix, secret_hash, scopes, created_at, created_by, \
                           revoked_at, revoked_by, last_used_at";

fn key_from(row: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.text(0)?.to_owned(),
        name: row.text(1)?.to_owned(),
        prefix: row.text(2)?.to_owned(),
        secret_hash: row.text(3)?.to_owned(),
        scopes: row.text(4)?.to_owned(),
        created_at: row.int(5)?,
        created_by: row.text(6)?.to_owned(),
        revoked_at: row.opt_int(7)?,
        revoked_by: row.opt_text(8)?.map(str::to_owned),
        last_used_at: row.opt_int(9)?,
    })
}

pub fn insert_api_key(conn: &mut dyn Conn, k: &ApiKey) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL)"
        ),
        params![
            &k.id,
            &k.name,
            &k.prefix,
            &k.secret_hash,
            &k.scopes,
            k.created_at,
            &k.created_by
        ],
    )?;
    Ok(())
}

pub fn api_key_by_hash(conn: &mut dyn Conn, hash: &str) -> Result<Option<ApiKey>, StoreError> {
    conn.query_opt(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1"),
        params![hash],
    )?
    .as_ref()
    .map(key_from)
    .transpose()
}

pub fn api_key(conn: &mut dyn Conn, id: &str) -> Result<Option<ApiKey>, StoreError> {
    conn.query_opt(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(key_from)
    .transpose()
}

/// Every key, newest first.
pub fn list_api_keys(conn: &mut dyn Conn) -> Result<Vec<ApiKey>, StoreError> {
    conn.query(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC"),
        &[],
    )?
    .iter()
    .map(key_from)
    .collect()
}

/// Revokes a key; false when it does not exist or was already revoked.
pub fn revoke_api_key(
    conn: &mut dyn Conn,
    id: &str,
    by: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE api_keys SET revoked_at = $3, revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL",
        params![id, by, at_ms],
    )? == 1)
}

pub fn touch_api_key(conn: &mut dyn Conn, id: &str, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
        params![id, at_ms],
    )?;
    Ok(())
}

/// Where and how an account is told (its notification settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub in_app: bool,
    pub email_on: bool,
    pub sms_on: bool,
}

pub fn contact(conn: &mut dyn Conn, id: &str) -> Result<Option<Contact>, StoreError> {
    conn.query_opt(
        "SELECT email, phone, notify_in_app, notify_email, notify_sms FROM accounts WHERE id = $1",
        params![id],
    )?
    .map(|r| {
        Ok(Contact {
            email: r.opt_text(0)?.map(str::to_owned),
            phone: r.opt_text(1)?.map(str::to_owned),
            in_app: r.int(2)? != 0,
            email_on: r.int(3)? != 0,
            sms_on: r.int(4)? != 0,
        })
    })
    .transpose()
}

/// Sets the email address and the channel switches (the phone number is
/// changed elsewhere). Returns false when there is no such account.
pub fn set_contact(
    conn: &mut dyn Conn,
    id: &str,
    c: &Contact,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE accounts SET email = $2, notify_in_app = $3, notify_email = $4, notify_sms = $5,
             updated_at = $6, version = version + 1
         WHERE id = $1",
        params![
            id,
            c.email.as_deref(),
            i64::from(c.in_app),
            i64::from(c.email_on),
            i64::from(c.sms_on),
            at_ms
        ],
    )? == 1)
}
