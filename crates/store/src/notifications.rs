//! In-app messages: written with the change that causes them, read by their
//! account, marked read.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Value};
use crate::paging::{KeyKind, Order, Page, PageAt, Paged};
use crate::params;

/// A message to send: the same to every recipient of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Names the event: an account gets at most one message per key.
    pub event_key: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub at_ms: i64,
}

/// One message as its account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

/// The enabled accounts holding `role` for `scope` (any scope when `None`).
pub fn holders(
    conn: &mut dyn Conn,
    role: &str,
    scope: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let rows = match scope {
        Some(s) => conn.query(
            "SELECT DISTINCT r.account_id FROM account_roles r
             JOIN accounts a ON a.id = r.account_id
             WHERE r.role = $1 AND r.scope = $2 AND a.disabled = 0",
            params![role, s],
        )?,
        None => conn.query(
            "SELECT DISTINCT r.account_id FROM account_roles r
             JOIN accounts a ON a.id = r.account_id
             WHERE r.role = $1 AND a.disabled = 0",
            params![role],
        )?,
    };
    rows.iter().map(|r| r.text(0).map(str::to_owned)).collect()
}

/// The outward channels a server has configured (`[notify.email]`,
/// `[notify.sms]`): a message is queued for those only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outward {
    pub email: bool,
    pub sms: bool,
}

/// Most recipients named in one statement (the databases bound how many
/// parameters a statement takes); an event with more takes a few.
const RECIPIENTS_PER_STATEMENT: usize = 500;

/// Gives `message` to each account (inside the caller's transaction): in the
/// app, and queued in the outbox for email and SMS, each as the account's
/// switches allow and where it has an address. An account that already has
/// this event's message on a channel does not get it again. Returns how many
/// in-app messages were written.
///
/// Set-based: one statement writes the in-app messages of every recipient,
/// one more queues every outward message (email and SMS together), however
/// many recipients there are.
pub fn send(
    conn: &mut dyn Conn,
    accounts: &[String],
    m: &Message,
    outward: Outward,
) -> Result<u64, StoreError> {
    let mut written = 0;
    for chunk in accounts.chunks(RECIPIENTS_PER_STATEMENT) {
        written += send_to(conn, chunk, m, outward)?;
    }
    Ok(written)
}

fn send_to(
    conn: &mut dyn Conn,
    accounts: &[String],
    m: &Message,
    outward: Outward,
) -> Result<u64, StoreError> {
    if accounts.is_empty() {
        return Ok(0);
    }
    // $1..$6: the message; $7..: the recipients.
    let mut args: Vec<Value> = vec![
        m.event_key.as_str().into(),
        m.kind.as_str().into(),
        m.title.as_str().into(),
        m.body.as_str().into(),
        m.link.as_deref().into(),
        m.at_ms.into(),
    ];
    let ids = crate::applications::marks(accounts, &mut args);
    let written = conn.execute(
        &format!(
            "INSERT INTO notifications (account_id, event_key, kind, title, body, link, created_at)
             SELECT id, $1, $2, $3, $4, $5, $6 FROM accounts
             WHERE id IN ({ids}) AND notify_in_app = 1
             ON CONFLICT (account_id, event_key) DO NOTHING"
        ),
        &args,
    )?;
    let selects: Vec<String> = [
        (outward.email, "email", "email", "notify_email"),
        (outward.sms, "sms", "phone", "notify_sms"),
    ]
    .into_iter()
    .filter(|(on, ..)| *on)
    .map(|(_, channel, address, switch)| {
        format!(
            // The instant is cast: a parameter in a UNION has no column
            // to take its type from.
            "SELECT id, $1, '{channel}', {address}, $2, $3, $4, $5, 'pending', 0,
                    CAST($6 AS BIGINT), CAST($6 AS BIGINT)
             FROM accounts
             WHERE id IN ({ids}) AND {switch} = 1 AND {address} IS NOT NULL AND {address} <> ''"
        )
    })
    .collect();
    if !selects.is_empty() {
        conn.execute(
            &format!(
                "INSERT INTO deliveries (account_id, event_key, channel, address, kind, title,
                     body, link, status, attempts, next_attempt_at, created_at)
                 {}
                 ON CONFLICT (account_id, event_key, channel) DO NOTHING",
                selects.join(" UNION ALL ")
            ),
            &args,
        )?;
    }
    Ok(written)
}

pub fn unread_count(conn: &mut dyn Conn, account_id: &str) -> Result<i64, StoreError> {
    conn.query_opt(
        "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL",
        params![account_id],
    )?
    .map_or(Ok(0), |r| r.int(0))
}

/// The order of [`list`]: newest first.
pub const ORDER: Order = Order {
    name: "notifications",
    keys: &[("id", KeyKind::Int)],
    descending: true,
};

/// A page of an account's messages, newest first.
pub fn list(
    conn: &mut dyn Conn,
    account_id: &str,
    at: &PageAt,
    per_page: u32,
) -> Result<Page<Notification>, StoreError> {
    let mut args = vec![Value::from(account_id)];
    let mut clauses = vec!["account_id = $1".to_owned()];
    let paged = Paged::new(&ORDER, at, per_page);
    paged.filter(&mut clauses, &mut args)?;
    let sql = format!(
        "SELECT id, kind, title, body, link, created_at, read_at{} FROM notifications
         WHERE {}{}",
        ORDER.select(),
        clauses.join(" AND "),
        paged.tail(&mut args)
    );
    let rows = conn.query(&sql, &args)?;
    paged.page(&rows, |r| {
        Ok(Notification {
            id: r.int(0)?,
            kind: r.text(1)?.to_owned(),
            title: r.text(2)?.to_owned(),
            body: r.text(3)?.to_owned(),
            link: r.opt_text(4)?.map(str::to_owned),
            created_at_ms: r.int(5)?,
            read_at_ms: r.opt_int(6)?,
        })
    })
}

/// Marks one of the account's messages read (`Some(id)`), or all of them.
/// Returns how many changed.
pub fn mark_read(
    conn: &mut dyn Conn,
    account_id: &str,
    id: Option<i64>,
    at_ms: i64,
) -> Result<u64, StoreError> {
    match id {
        Some(id) => conn.execute(
            "UPDATE notifications SET read_at = $3
             WHERE account_id = $1 AND id = $2 AND read_at IS NULL",
            params![account_id, id, at_ms],
        ),
        None => conn.execute(
            "UPDATE notifications SET read_at = $2 WHERE account_id = $1 AND read_at IS NULL",
            params![account_id, at_ms],
        ),
    }
}
