//! Enterprise claims (企业认证, `onestop_domain::identity`): an account's
//! claim to act for an enterprise, its decision, the one-time SMS code in
//! flight, and legal-person logins in flight.
//!
//! The role that gives access lives in `account_roles` (`claimant:<USCC>`
//! while pending, `applicant:<USCC>` once verified); a decision changes the
//! claim and the role in the caller's transaction.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;
use onestop_domain::identity::{ClaimStatus, ClaimVia};

/// A stored claim, with its account's name and phone for the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    pub account_id: String,
    pub uscc: String,
    pub enterprise_name: String,
    pub status: ClaimStatus,
    pub owner: bool,
    pub via: Option<ClaimVia>,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub note: Option<String>,
    pub code_sent_to: Option<String>,
    pub code_sent_at_ms: Option<i64>,
    pub code_expires_at_ms: Option<i64>,
    /// Codes this claim was sent, and wrong codes typed for it, in all.
    pub codes_sent: i64,
    pub code_attempts: i64,
    pub created_at_ms: i64,
    pub version: i64,
    /// The claiming account's display name and mobile number.
    pub account_name: String,
    pub account_phone: Option<String>,
}

/// A claim to create (pending).
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub id: String,
    pub account_id: String,
    pub uscc: String,
    pub enterprise_name: String,
    pub at_ms: i64,
}

const COLUMNS: &str = "c.id, c.account_id, c.uscc, c.enterprise_name, c.status, c.owner, c.via, \
     c.decided_by, c.decided_at, c.note, c.code_sent_to, c.code_sent_at, c.code_expires_at, \
     c.code_attempts, c.created_at, c.version, a.display_name, a.phone, c.codes_sent";

fn select(filter: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM enterprise_claims c JOIN accounts a ON a.id = c.account_id {filter}"
    )
}

fn decode(r: &Row) -> Result<Claim, StoreError> {
    let t = |i: usize| r.text(i).map(str::to_owned);
    let ot = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    Ok(Claim {
        id: t(0)?,
        account_id: t(1)?,
        uscc: t(2)?,
        enterprise_name: t(3)?,
        status: ClaimStatus::parse(r.text(4)?).ok_or_else(|| {
            StoreError::Decode(format!("claim status {}", r.text(4).unwrap_or("")))
        })?,
        owner: r.int(5)? != 0,
        via: r.opt_text(6)?.and_then(ClaimVia::parse),
        decided_by: ot(7)?,
        decided_at_ms: r.opt_int(8)?,
        note: ot(9)?,
        code_sent_to: ot(10)?,
        code_sent_at_ms: r.opt_int(11)?,
        code_expires_at_ms: r.opt_int(12)?,
        code_attempts: r.int(13)?,
        created_at_ms: r.int(14)?,
        version: r.int(15)?,
        account_name: t(16)?,
        account_phone: ot(17)?,
        codes_sent: r.int(18)?,
    })
}

/// Records a new pending claim (the caller gives the account its
/// `claimant` role in the same transaction, [`set_enterprise_role`]).
pub fn insert(conn: &mut dyn Conn, c: &NewClaim) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO enterprise_claims (id, account_id, uscc, enterprise_name, status, owner,
             codes_sent, code_attempts, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, 'pending', 0, 0, 0, $5, $5, 1)",
        params![&c.id, &c.account_id, &c.uscc, &c.enterprise_name, c.at_ms],
    )?;
    Ok(())
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Claim>, StoreError> {
    conn.query_opt(&select("WHERE c.id = $1"), params![id])?
        .map(|r| decode(&r))
        .transpose()
}

/// An account's claims, the newest first.
pub fn of_account(conn: &mut dyn Conn, account_id: &str) -> Result<Vec<Claim>, StoreError> {
    conn.query(
        &select("WHERE c.account_id = $1 ORDER BY c.created_at DESC, c.id"),
        params![account_id],
    )?
    .iter()
    .map(decode)
    .collect()
}

/// An enterprise's claims: pending first, then verified, then the others;
/// the newest first within each; at most `limit`.
pub fn of_enterprise(
    conn: &mut dyn Conn,
    uscc: &str,
    limit: u32,
) -> Result<Vec<Claim>, StoreError> {
    conn.query(
        &select(
            "WHERE c.uscc = $1 ORDER BY CASE c.status WHEN 'pending' THEN 0 \
             WHEN 'verified' THEN 1 ELSE 2 END, c.updated_at DESC, c.id LIMIT $2",
        ),
        params![uscc, i64::from(limit)],
    )?
    .iter()
    .map(decode)
    .collect()
}

/// Whether the enterprise has a verified owner.
pub fn has_owner(conn: &mut dyn Conn, uscc: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM enterprise_claims WHERE uscc = $1 AND status = 'verified' AND owner = 1 \
             LIMIT 1",
            params![uscc],
        )?
        .is_some())
}

/// Whether `account_id` is a verified owner of the enterprise.
pub fn is_owner(conn: &mut dyn Conn, account_id: &str, uscc: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM enterprise_claims WHERE account_id = $1 AND uscc = $2 \
             AND status = 'verified' AND owner = 1",
            params![account_id, uscc],
        )?
        .is_some())
}

/// A decision: the claim's new status, owner flag and how it was decided,
/// if it is still at `version`. Clears any code in flight. Returns false
/// when someone decided first.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &mut dyn Conn,
    id: &str,
    version: i64,
    status: ClaimStatus,
    owner: bool,
    via: Option<ClaimVia>,
    decided_by: &str,
    note: Option<&str>,
    at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE enterprise_claims SET status = $3, owner = $4, via = $5, decided_by = $6,
             note = $7, decided_at = $8, updated_at = $8, version = version + 1,
             code_hash = NULL, code_expires_at = NULL, code_attempts = 0
         WHERE id = $1 AND version = $2",
        params![
            id,
            version,
            status.as_str(),
            owner,
            via.map(|v| v.as_str()),
            decided_by,
            note,
            at_ms
        ],
    )? == 1)
}

/// Gives the account the enterprise role that matches its claim:
/// `applicant:<USCC>` when verified, `claimant:<USCC>` otherwise.
pub fn set_enterprise_role(
    conn: &mut dyn Conn,
    account_id: &str,
    uscc: &str,
    status: ClaimStatus,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM account_roles WHERE account_id = $1 AND scope = $2 \
         AND role IN ('applicant', 'claimant')",
        params![account_id, uscc],
    )?;
    // A refused or revoked account keeps what any claimant has: what it
    // submitted itself, and its enterprise page (where it reads why).
    let role = match status {
        ClaimStatus::Verified => "applicant",
        ClaimStatus::Pending | ClaimStatus::Rejected | ClaimStatus::Revoked => "claimant",
    };
    conn.execute(
        "INSERT INTO account_roles (account_id, role, scope) VALUES ($1, $2, $3)",
        params![account_id, role, uscc],
    )?;
    Ok(())
}

/// What the account submitted itself for the enterprise counts as filed
/// through a verified channel once its claim is verified. Returns how many
/// applications changed.
pub fn verify_own_submissions(
    conn: &mut dyn Conn,
    account_id: &str,
    uscc: &str,
) -> Result<u64, StoreError> {
    conn.execute(
        "UPDATE applications SET identity_verified = 1 \
         WHERE submitted_by = $1 AND uscc = $2 AND identity_verified = 0",
        params![account_id, uscc],
    )
}

/// Keeps the claims in step with roles an administrator set: an
/// `applicant:<USCC>` is a claim verified by the administrator, a
/// `claimant:<USCC>` a pending one; a claim whose role was removed is
/// revoked (verified) or rejected (pending).
pub fn sync_with_roles(
    conn: &mut dyn Conn,
    account_id: &str,
    enterprise_name: &str,
    verified: &[String],
    pending: &[String],
    by: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let claims = of_account(conn, account_id)?;
    for c in &claims {
        let status = if verified.contains(&c.uscc) {
            ClaimStatus::Verified
        } else if pending.contains(&c.uscc) {
            ClaimStatus::Pending
        } else if c.status == ClaimStatus::Verified {
            ClaimStatus::Revoked
        } else if c.status == ClaimStatus::Pending {
            ClaimStatus::Rejected
        } else {
            continue;
        };
        if status == c.status {
            continue;
        }
        let verifying = status == ClaimStatus::Verified;
        let owner = verifying && (c.owner || !has_owner(conn, &c.uscc)?);
        decide(
            conn,
            &c.id,
            c.version,
            status,
            owner,
            Some(ClaimVia::Admin),
            by,
            None,
            at_ms,
        )?;
        if verifying {
            verify_own_submissions(conn, account_id, &c.uscc)?;
        }
    }
    for (uscc, status) in verified
        .iter()
        .map(|u| (u, ClaimStatus::Verified))
        .chain(pending.iter().map(|u| (u, ClaimStatus::Pending)))
    {
        if claims.iter().any(|c| &c.uscc == uscc) {
            continue;
        }
        let decided = status == ClaimStatus::Verified;
        let owner = decided && !has_owner(conn, uscc)?;
        conn.execute(
            "INSERT INTO enterprise_claims (id, account_id, uscc, enterprise_name, status,
                 owner, via, decided_by, decided_at, codes_sent, code_attempts, created_at,
                 updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10, $10, 1)",
            params![
                format!("{account_id}:{uscc}"),
                account_id,
                uscc,
                enterprise_name,
                status.as_str(),
                owner,
                decided.then_some("admin"),
                decided.then_some(by),
                decided.then_some(at_ms),
                at_ms
            ],
        )?;
        if decided {
            verify_own_submissions(conn, account_id, uscc)?;
        }
    }
    Ok(())
}

// ───────────────────────────── SMS codes ─────────────────────────────

/// The enterprise's contact for SMS codes: the contact phone and the
/// enterprise's name on its most recent application filed through a
/// verified channel — leaving out what accounts submitted whose own claim
/// on the enterprise is not verified (now), so that a revoked or refused
/// member cannot steer the code to itself.
pub fn verified_contact(
    conn: &mut dyn Conn,
    uscc: &str,
) -> Result<Option<(String, String)>, StoreError> {
    conn.query_opt(
        "SELECT contact_phone, applicant_name FROM applications
         WHERE uscc = $1 AND identity_verified = 1
           AND (submitted_by IS NULL OR submitted_by NOT IN (
                SELECT account_id FROM enterprise_claims WHERE uscc = $1 AND status <> 'verified'))
         ORDER BY submitted_at DESC, id DESC LIMIT 1",
        params![uscc],
    )?
    .map(|r| Ok((r.text(0)?.to_owned(), r.text(1)?.to_owned())))
    .transpose()
}

/// How many of the enterprise's claims were sent a code since `since_ms`.
pub fn claims_sent_codes_since(
    conn: &mut dyn Conn,
    uscc: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    conn.query_opt(
        "SELECT COUNT(*) FROM enterprise_claims WHERE uscc = $1 AND code_sent_at >= $2",
        params![uscc, since_ms],
    )?
    .map_or(Ok(0), |r| r.int(0))
}

/// Puts a new code in flight (its digest), replacing any earlier one, and
/// counts it; only while the claim is pending and at `version`'s code count
/// (two sends racing count once). Returns whether it was put.
pub fn put_code(
    conn: &mut dyn Conn,
    id: &str,
    codes_sent: i64,
    code_hash: &str,
    sent_to: &str,
    at_ms: i64,
    expires_at_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE enterprise_claims SET code_hash = $3, code_sent_to = $4, code_sent_at = $5,
             code_expires_at = $6, codes_sent = codes_sent + 1, updated_at = $5
         WHERE id = $1 AND status = 'pending' AND codes_sent = $2",
        params![id, codes_sent, code_hash, sent_to, at_ms, expires_at_ms],
    )? == 1)
}

/// The code in flight: its digest, expiry and the claim's wrong tries so far.
pub fn code_of(conn: &mut dyn Conn, id: &str) -> Result<Option<(String, i64, i64)>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT code_hash, code_expires_at, code_attempts FROM enterprise_claims \
         WHERE id = $1 AND code_hash IS NOT NULL",
        params![id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((r.text(0)?.to_owned(), r.int(1)?, r.int(2)?)))
}

/// Counts one try of a code, if the claim has fewer than `max` tries;
/// false when it has used them all (then the try is not looked at).
pub fn code_try(conn: &mut dyn Conn, id: &str, max: i64) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE enterprise_claims SET code_attempts = code_attempts + 1
         WHERE id = $1 AND code_attempts < $2",
        params![id, max],
    )? == 1)
}

/// Gives back the try a right code counted (a right code is not a wrong try).
pub fn code_try_was_right(conn: &mut dyn Conn, id: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE enterprise_claims SET code_attempts = code_attempts - 1 WHERE id = $1",
        params![id],
    )?;
    Ok(())
}

// ───────────────────────────── legal-person logins ─────────────────────────────

/// A legal-person login in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    pub account_id: String,
    pub claim_id: String,
    pub nonce: String,
    pub verifier: String,
    pub created_at_ms: i64,
}

/// Remembers a login in flight under its state's digest; forgets the ones
/// older than `stale_before_ms`.
pub fn put_oidc_login(
    conn: &mut dyn Conn,
    state_hash: &str,
    l: &OidcLogin,
    stale_before_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM oidc_logins WHERE created_at < $1",
        params![stale_before_ms],
    )?;
    conn.execute(
        "INSERT INTO oidc_logins (state_hash, account_id, claim_id, nonce, verifier, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            state_hash,
            &l.account_id,
            &l.claim_id,
            &l.nonce,
            &l.verifier,
            l.created_at_ms
        ],
    )?;
    Ok(())
}

/// Takes (reads and forgets) the login in flight with this state's digest:
/// a state works once.
pub fn take_oidc_login(
    conn: &mut dyn Conn,
    state_hash: &str,
) -> Result<Option<OidcLogin>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT account_id, claim_id, nonce, verifier, created_at FROM oidc_logins \
         WHERE state_hash = $1",
        params![state_hash],
    )?
    else {
        return Ok(None);
    };
    let login = OidcLogin {
        account_id: r.text(0)?.to_owned(),
        claim_id: r.text(1)?.to_owned(),
        nonce: r.text(2)?.to_owned(),
        verifier: r.text(3)?.to_owned(),
        created_at_ms: r.int(4)?,
    };
    let taken = conn.execute(
        "DELETE FROM oidc_logins WHERE state_hash = $1",
        params![state_hash],
    )?;
    Ok((taken == 1).then_some(login))
}
