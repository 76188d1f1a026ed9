//! Enterprise identity use cases (企业认证): an account's claims, their
//! verification at a hall window, by the enterprise's own administrator, by
//! a one-time SMS code, or by the provincial portal's legal-person login,
//! and their refusal or revocation. The rules are in
//! `onestop_domain::identity`; every decision commits with its role change,
//! its audit record and the claimant's message, in one transaction.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::messages;
use crate::auth::{Caller, ct_eq, token_hash};
use crate::texts::{self, identity as t};
use askama::Template;
use onestop_domain::access::{Role, mask_phone};
use onestop_domain::identity::{
    self as rules, ClaimDecision, ClaimStatus, ClaimVia, Decider, DecisionError,
};
use onestop_store::StoreError;
use onestop_store::audit::{self, NewAuditRecord};
use onestop_store::claims::{self, Claim};
use onestop_store::db::Conn;
use onestop_store::notifications::{self, Message};

/// Claims listed for one enterprise at most.
const ENTERPRISE_LIST: u32 = 200;

/// The SMS code that lets an enterprise's contact vouch for a claimant.
#[derive(Template)]
#[template(path = "messages/identity_code.txt")]
struct IdentityCode<'a> {
    code: &'a str,
    minutes: i64,
    enterprise: &'a str,
}

fn not_found() -> Error {
    Error::NotFound
}

fn conflict(code: &'static str, message: &str) -> Error {
    Error::refused(Refusal::Conflict, code, message)
}

fn stale() -> Error {
    conflict("stale_version", t::STALE)
}

/// The caller's own claims, the newest first.
pub async fn my_claims(state: &AppState, caller: &Caller) -> Result<Vec<Claim>, Error> {
    let Some(me) = caller.account() else {
        return Err(Error::unauthenticated(texts::accounts::SIGN_IN));
    };
    let id = me.id.clone();
    Ok(state
        .store
        .read(move |c| claims::of_account(c, &id))
        .await?)
}

/// The enterprises the caller administers (verified owner of).
pub async fn owned_enterprises(state: &AppState, caller: &Caller) -> Result<Vec<String>, Error> {
    Ok(my_claims(state, caller)
        .await?
        .into_iter()
        .filter(|c| c.owner && c.status == ClaimStatus::Verified)
        .map(|c| c.uscc)
        .collect())
}

/// Whether the caller decides claims as a clerk or administrator (any
/// enterprise's).
fn staff_decider(caller: &Caller) -> Option<Decider> {
    let a = caller.account()?;
    if a.must_change_password {
        return None;
    }
    let has = |r: Role| a.grants.iter().any(|g| g.role == r);
    if has(Role::Admin) {
        Some(Decider::Admin)
    } else if has(Role::Clerk) {
        Some(Decider::Clerk)
    } else {
        None
    }
}

/// Who the caller is towards the claims of enterprise `uscc`, if anyone.
async fn decider_for(
    state: &AppState,
    caller: &Caller,
    uscc: &str,
) -> Result<Option<Decider>, Error> {
    if let Some(d) = staff_decider(caller) {
        return Ok(Some(d));
    }
    let Some(me) = caller.account().filter(|a| !a.must_change_password) else {
        return Ok(None);
    };
    let (id, uscc) = (me.id.clone(), uscc.to_owned());
    let owner = state
        .store
        .read(move |c| claims::is_owner(c, &id, &uscc))
        .await?;
    Ok(owner.then_some(Decider::Owner))
}

/// The claims of one enterprise, for its owners, clerks and administrators.
/// `None` when the caller may not see them.
pub async fn enterprise_claims(
    state: &AppState,
    caller: &Caller,
    uscc: &str,
) -> Result<Option<Vec<Claim>>, Error> {
    if decider_for(state, caller, uscc).await?.is_none() {
        return Ok(None);
    }
    let uscc = uscc.to_owned();
    let list = state
        .store
        .read(move |c| claims::of_enterprise(c, &uscc, ENTERPRISE_LIST))
        .await?;
    if !list.is_empty() {
        state
            .audit
            .record(caller.audit(
                state.now_ms(),
                "enterprise_claims_read",
                "success",
                "enterprise",
                &list[0].uscc,
                serde_json::json!({"claims": list.len()}),
            ))
            .await?;
    }
    Ok(Some(list))
}

/// The audit action of a decision.
fn action_of(decision: ClaimDecision) -> &'static str {
    match decision {
        ClaimDecision::Verify { .. } => "enterprise_claim_verified",
        ClaimDecision::Reject => "enterprise_claim_rejected",
        ClaimDecision::Revoke => "enterprise_claim_revoked",
        ClaimDecision::MakeOwner => "enterprise_owner_set",
    }
}

/// The claimant's message about a decision.
fn message_of(
    claim: &Claim,
    status: ClaimStatus,
    owner: bool,
    note: Option<&str>,
    at_ms: i64,
    version: i64,
) -> Message {
    let text = messages::fill(&messages::IdentityDecided {
        status: match status {
            ClaimStatus::Verified => "verified",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Revoked | ClaimStatus::Pending => "revoked",
        },
        owner,
        name: &claim.enterprise_name,
        note,
    });
    Message {
        event_key: format!("claim:{}:{version}", claim.id),
        kind: "identity".into(),
        title: text.title,
        body: text.body,
        link: Some("/account/enterprise".into()),
        at_ms,
    }
}

/// A checked decision, ready to apply.
struct Decided {
    decider: Decider,
    decision: ClaimDecision,
    /// Who decided, as stored with the claim.
    by: String,
    note: Option<String>,
    /// The audit record (its detail gets the decision's facts added).
    rec: NewAuditRecord,
    audit_key: onestop_store::audit::AuditKey,
    outward: notifications::Outward,
    now: i64,
}

/// Applies a checked decision in the caller's transaction: the claim, the
/// account's enterprise role, its own submissions, the audit record and the
/// claimant's message. `None` when the claim moved on meanwhile.
fn apply(c: &mut dyn Conn, claim: &Claim, d: &Decided) -> Result<Option<Claim>, StoreError> {
    let (decider, decision, now) = (d.decider, d.decision, d.now);
    let via = decider.via();
    let (status, owner) = match decision {
        ClaimDecision::Verify { owner } => {
            let has_owner = claims::has_owner(c, &claim.uscc)?;
            (
                ClaimStatus::Verified,
                rules::owner_on_verify(via, owner, has_owner),
            )
        }
        ClaimDecision::Reject => (ClaimStatus::Rejected, false),
        ClaimDecision::Revoke => (ClaimStatus::Revoked, false),
        ClaimDecision::MakeOwner => (ClaimStatus::Verified, true),
    };
    if !claims::decide(
        c,
        &claim.id,
        claim.version,
        status,
        owner,
        Some(via),
        &d.by,
        d.note.as_deref(),
        now,
    )? {
        return Ok(None);
    }
    claims::set_enterprise_role(c, &claim.account_id, &claim.uscc, status)?;
    let verified_submissions = if status == ClaimStatus::Verified {
        claims::verify_own_submissions(c, &claim.account_id, &claim.uscc)?
    } else {
        0
    };
    // The decision's facts, beside whatever the caller put in the record.
    let mut detail: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&d.rec.detail).unwrap_or_default();
    for (k, v) in [
        ("claim", serde_json::json!(claim.id)),
        ("account", serde_json::json!(claim.account_id)),
        ("uscc", serde_json::json!(claim.uscc)),
        ("via", serde_json::json!(via.as_str())),
        ("owner", serde_json::json!(owner)),
        (
            "submissions_verified",
            serde_json::json!(verified_submissions),
        ),
        ("note", serde_json::json!(d.note)),
        // At a window a verification needs the clerk's tick that the
        // licence and the person were checked.
        (
            "papers_checked",
            serde_json::json!(
                decider == Decider::Clerk && matches!(decision, ClaimDecision::Verify { .. })
            ),
        ),
    ] {
        detail.insert(k.to_owned(), v);
    }
    let rec = NewAuditRecord {
        detail: serde_json::Value::Object(detail).to_string(),
        ..d.rec.clone()
    };
    audit::append(c, &d.audit_key, std::slice::from_ref(&rec))?;
    let m = message_of(
        claim,
        status,
        owner,
        d.note.as_deref(),
        now,
        claim.version + 1,
    );
    notifications::send(c, std::slice::from_ref(&claim.account_id), &m, d.outward)?;
    claims::get(c, &claim.id)
}

/// Commits a checked decision on `claim`; the claimant's cached sessions
/// pick up the new role at once.
async fn commit(state: &AppState, claim: Claim, d: Decided) -> Result<Claim, Error> {
    let account = claim.account_id.clone();
    let done = state
        .store
        .write(move |c| apply(c, &claim, &d))
        .await?
        .ok_or_else(stale)?;
    state.credentials.forget_account(&account);
    Ok(done)
}

/// Tells the verified owners of an enterprise that someone claims it (in
/// the caller's transaction).
pub fn tell_owners_of_new_claim(
    c: &mut dyn Conn,
    uscc: &str,
    claimant_name: &str,
    now: i64,
) -> Result<(), StoreError> {
    let owners: Vec<String> = claims::of_enterprise(c, uscc, ENTERPRISE_LIST)?
        .into_iter()
        .filter(|x| x.owner && x.status == ClaimStatus::Verified)
        .map(|x| x.account_id)
        .collect();
    if owners.is_empty() {
        return Ok(());
    }
    let text = messages::fill(&messages::ClaimRequested {
        claimant: claimant_name,
    });
    let m = Message {
        event_key: format!("claim_new:{uscc}:{now}"),
        kind: "identity".into(),
        title: text.title,
        body: text.body,
        link: Some("/account/enterprise".into()),
        at_ms: now,
    };
    notifications::send(c, &owners, &m, notifications::Outward::default())?;
    Ok(())
}

/// A decision on a claim by a clerk, an administrator or the enterprise's
/// owner. A claim the caller may not decide is answered as absent.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    claim_id: &str,
    version: i64,
    decision: ClaimDecision,
    note: Option<String>,
) -> Result<Claim, Error> {
    let id = claim_id.to_owned();
    let Some(claim) = state.store.read(move |c| claims::get(c, &id)).await? else {
        return Err(not_found());
    };
    let Some(decider) = decider_for(state, caller, &claim.uscc).await? else {
        caller.hidden("enterprise_claim", &claim.id);
        return Err(not_found());
    };
    let own = caller.account().is_some_and(|a| a.id == claim.account_id);
    let facts = rules::ClaimFacts {
        status: claim.status,
        owner: claim.owner,
        via: claim.via,
        own,
    };
    match rules::check_decision(decider, decision, facts) {
        Ok(()) => {}
        Err(DecisionError::NotAllowed) => {
            return Err(Error::forbidden());
        }
        Err(DecisionError::WrongStatus) => {
            return Err(conflict("invalid_transition", t::WRONG_STATUS));
        }
    }
    if claim.version != version {
        return Err(stale());
    }
    let note = match note {
        Some(n) => onestop_domain::text::check_field(
            "note",
            t::NOTE,
            onestop_domain::text::TextKind::ShortNote,
            Some(&n),
            false,
        )
        .map_err(|e| Error::Invalid(vec![e]))?,
        None => None,
    };
    let now = state.now_ms();
    let rec = caller.audit(
        now,
        action_of(decision),
        "success",
        "enterprise_claim",
        &claim.id,
        serde_json::json!({}),
    );
    let (_, by_id, by_name) = caller.subject.audit_identity();
    let by = if by_id.is_empty() { by_name } else { by_id }.to_owned();
    let d = Decided {
        decider,
        decision,
        by,
        note,
        rec,
        audit_key: state.audit_key.clone(),
        outward: crate::jobs::delivery::outward(&state.config),
        now,
    };
    commit(state, claim, d).await
}

/// The caller's own pending claim, or absent.
async fn own_pending(state: &AppState, caller: &Caller, claim_id: &str) -> Result<Claim, Error> {
    let Some(me) = caller.account().filter(|a| !a.must_change_password) else {
        return Err(Error::unauthenticated(texts::accounts::SIGN_IN));
    };
    let id = claim_id.to_owned();
    let claim = state
        .store
        .read(move |c| claims::get(c, &id))
        .await?
        .ok_or_else(not_found)?;
    if claim.account_id != me.id {
        caller.hidden("enterprise_claim", &claim.id);
        return Err(not_found());
    }
    if claim.status != ClaimStatus::Pending {
        return Err(conflict("invalid_transition", t::ALREADY_DECIDED));
    }
    Ok(claim)
}

/// Where an SMS code for this enterprise would go: the contact phone of its
/// latest application filed through a verified channel, if any, shown to the
/// claimant by its first three digits only (the last four are what the
/// public status lookup asks for).
pub async fn code_destination(state: &AppState, uscc: &str) -> Result<Option<String>, Error> {
    let uscc = uscc.to_owned();
    Ok(state
        .store
        .read(move |c| claims::verified_contact(c, &uscc))
        .await?
        .map(|(p, _)| {
            let head: String = p.chars().take(3).collect();
            format!("{head}{}", "*".repeat(p.chars().count().saturating_sub(3)))
        }))
}

/// A code went out.
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub expires_at_ms: i64,
}

fn code_digest(claim_id: &str, code: &str) -> String {
    token_hash(&format!("claim-code:{claim_id}:{code}"))
}

/// Why a code was not sent (checked in the sending transaction).
enum NotSent {
    NoContact,
    TooSoon(i64),
    ClaimUsedUp,
    EnterpriseBusy,
    Moved,
}

/// Sends a one-time code for the caller's pending claim to the contact phone
/// of the enterprise's latest application filed through a verified channel.
/// Bounded per claim (codes, wrong tries) and per enterprise (claims sent a
/// code a day): see `onestop_domain::identity`.
pub async fn send_code(
    state: &AppState,
    caller: &Caller,
    claim_id: &str,
) -> Result<CodeSent, Error> {
    let claim = own_pending(state, caller, claim_id).await?;
    if state.config.notify.sms.is_none() {
        return Err(conflict("sms_unavailable", t::SMS_UNAVAILABLE));
    }
    let now = state.now_ms();
    let code: String = {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).expect("the operating system's random source");
        let n = u64::from_le_bytes(bytes) % 10u64.pow(rules::CODE_DIGITS as u32);
        format!("{n:0width$}", width = rules::CODE_DIGITS)
    };
    let expires = now + rules::CODE_TTL_MS;
    let digest = code_digest(&claim.id, &code);
    let rec = caller.audit(
        now,
        "enterprise_claim_code_sent",
        "success",
        "enterprise_claim",
        &claim.id,
        serde_json::json!({"uscc": claim.uscc}),
    );
    let audit_key = state.audit_key.clone();
    let outcome = state
        .store
        .write(move |c| {
            // Read again here: two sends at once count once.
            let Some(now_claim) =
                claims::get(c, &claim.id)?.filter(|x| x.status == ClaimStatus::Pending)
            else {
                return Ok(Err(NotSent::Moved));
            };
            if let Some(sent) = now_claim.code_sent_at_ms
                && now - sent < rules::CODE_RESEND_MS
            {
                return Ok(Err(NotSent::TooSoon(rules::CODE_RESEND_MS - (now - sent))));
            }
            if now_claim.codes_sent >= rules::CODES_PER_CLAIM
                || now_claim.code_attempts >= rules::CODE_MAX_ATTEMPTS
            {
                return Ok(Err(NotSent::ClaimUsedUp));
            }
            let day_ago = now - 24 * 3_600_000;
            let recent = now_claim.code_sent_at_ms.is_some_and(|t| t >= day_ago);
            if !recent
                && claims::claims_sent_codes_since(c, &claim.uscc, day_ago)?
                    >= rules::CODES_PER_ENTERPRISE_PER_DAY
            {
                return Ok(Err(NotSent::EnterpriseBusy));
            }
            let Some((phone, enterprise)) = claims::verified_contact(c, &claim.uscc)? else {
                return Ok(Err(NotSent::NoContact));
            };
            if !claims::put_code(
                c,
                &claim.id,
                now_claim.codes_sent,
                &digest,
                &phone,
                now,
                expires,
            )? {
                return Ok(Err(NotSent::Moved));
            }
            // The enterprise's own name from its verified filing, never what
            // the claimant typed.
            let text = messages::fill(&IdentityCode {
                code: &code,
                minutes: rules::CODE_TTL_MS / 60_000,
                enterprise: &enterprise,
            });
            let m = Message {
                event_key: format!("claim_code:{}:{now}", claim.id),
                kind: "identity_code".into(),
                title: text.title,
                body: text.body,
                link: None,
                at_ms: now,
            };
            onestop_store::outbox::queue_sms(c, &claim.account_id, &phone, &m)?;
            let rec = NewAuditRecord {
                detail: serde_json::json!({"uscc": claim.uscc, "to": mask_phone(&phone)})
                    .to_string(),
                ..rec.clone()
            };
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(Ok(()))
        })
        .await?;
    match outcome {
        Ok(()) => Ok(CodeSent {
            expires_at_ms: expires,
        }),
        Err(NotSent::NoContact) => Err(conflict("no_verified_contact", t::NO_CONTACT)),
        Err(NotSent::TooSoon(wait_ms)) => Err(Error::refused(
            Refusal::TooMany,
            "rate_limited",
            texts::fill(t::TOO_SOON, &[("seconds", &((wait_ms + 999) / 1000))]),
        )),
        Err(NotSent::ClaimUsedUp) => Err(conflict("codes_used_up", t::CODES_USED_UP)),
        Err(NotSent::EnterpriseBusy) => Err(Error::refused(
            Refusal::TooMany,
            "rate_limited",
            t::ENTERPRISE_BUSY,
        )),
        Err(NotSent::Moved) => Err(stale()),
    }
}

/// The caller types the code: a right one verifies the claim. Every try
/// counts against the claim's [`rules::CODE_MAX_ATTEMPTS`] (a right one is
/// given back), counted before the code is looked at, so tries at once
/// cannot exceed it.
pub async fn confirm_code(
    state: &AppState,
    caller: &Caller,
    claim_id: &str,
    code: &str,
) -> Result<Claim, Error> {
    let claim = own_pending(state, caller, claim_id).await?;
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(16)
        .collect();
    let code_error = |m: String| {
        Error::Invalid(vec![onestop_domain::form::FieldError::new(
            "code",
            onestop_domain::form::FieldCode::Mismatch,
            m,
        )])
    };
    if code.len() != rules::CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_error(texts::fill(
            t::CODE_FORMAT,
            &[("digits", &rules::CODE_DIGITS)],
        )));
    }
    let now = state.now_ms();
    let digest = code_digest(&claim.id, &code);
    let rec = caller.audit(
        now,
        action_of(ClaimDecision::Verify { owner: false }),
        "success",
        "enterprise_claim",
        &claim.id,
        serde_json::json!({}),
    );
    let failed = caller.audit(
        now,
        "enterprise_claim_code_failed",
        "failure",
        "enterprise_claim",
        &claim.id,
        serde_json::json!({"uscc": claim.uscc}),
    );
    let d = Decided {
        decider: Decider::Claimant(ClaimVia::Sms),
        decision: ClaimDecision::Verify { owner: false },
        by: claim.account_id.clone(),
        note: None,
        rec,
        audit_key: state.audit_key.clone(),
        outward: crate::jobs::delivery::outward(&state.config),
        now,
    };
    let account = claim.account_id.clone();
    enum Outcome {
        Done(Option<Box<Claim>>),
        NoCode,
        Expired,
        UsedUp,
        Wrong(i64),
    }
    let outcome = state
        .store
        .write(move |c| {
            let Some((hash, expires, attempts)) = claims::code_of(c, &claim.id)? else {
                return Ok(Outcome::NoCode);
            };
            if now >= expires {
                return Ok(Outcome::Expired);
            }
            if !claims::code_try(c, &claim.id, rules::CODE_MAX_ATTEMPTS)? {
                return Ok(Outcome::UsedUp);
            }
            if !ct_eq(&hash, &digest) {
                audit::append(c, &d.audit_key, std::slice::from_ref(&failed))?;
                return Ok(Outcome::Wrong(rules::CODE_MAX_ATTEMPTS - attempts - 1));
            }
            claims::code_try_was_right(c, &claim.id)?;
            Ok(Outcome::Done(apply(c, &claim, &d)?.map(Box::new)))
        })
        .await?;
    match outcome {
        Outcome::Done(Some(c)) => {
            state.credentials.forget_account(&account);
            Ok(*c)
        }
        Outcome::Done(None) => Err(stale()),
        Outcome::NoCode => Err(code_error(t::NO_CODE.into())),
        Outcome::Expired => Err(code_error(t::CODE_EXPIRED.into())),
        Outcome::UsedUp | Outcome::Wrong(0) => Err(code_error(t::CODE_USED_UP.into())),
        Outcome::Wrong(left) => Err(code_error(texts::fill(t::CODE_WRONG, &[("left", &left)]))),
    }
}

// ───────────────────────────── legal-person login ─────────────────────────────

/// How long a legal-person login may take from start to callback.
const LOGIN_TTL_MS: i64 = 10 * 60_000;

/// The provincial portal's legal-person login, if this city has one: its label.
pub fn legal_person_login(state: &AppState) -> Option<&str> {
    state.oidc.as_deref().map(|o| o.name())
}

fn oidc_failed(e: &crate::connectors::oidc::OidcError) -> Error {
    use crate::connectors::oidc::OidcError as E;
    tracing::warn!(error = %e, "legal-person login failed");
    let (status, code, message) = match e {
        E::Config(_) => (
            Refusal::Unavailable,
            "login_unavailable",
            t::LOGIN_UNAVAILABLE,
        ),
        E::Unreachable(_) => (
            Refusal::Upstream,
            "provider_unreachable",
            t::PROVIDER_UNREACHABLE,
        ),
        E::Refused(_) => (Refusal::Conflict, "login_refused", t::LOGIN_REFUSED),
        E::TokenInvalid { .. } => (Refusal::Conflict, "login_invalid", t::LOGIN_INVALID),
        E::NoUscc { .. } => (
            Refusal::Conflict,
            "login_without_uscc",
            t::LOGIN_WITHOUT_USCC,
        ),
        E::InvalidUscc { .. } => (
            Refusal::Conflict,
            "login_invalid_uscc",
            t::LOGIN_INVALID_USCC,
        ),
    };
    Error::refused(status, code, message)
}

/// Starts the legal-person login for the caller's pending claim: the
/// provider's address to send the browser to. The login's state, nonce and
/// PKCE verifier stay on the server, under the state's digest, for
/// [`finish_legal_person_login`].
pub async fn begin_legal_person_login(
    state: &AppState,
    caller: &Caller,
    claim_id: &str,
) -> Result<String, Error> {
    let Some(oidc) = state.oidc.clone() else {
        return Err(not_found());
    };
    let claim = own_pending(state, caller, claim_id).await?;
    let start = oidc.begin().await.map_err(|e| oidc_failed(&e))?;
    let now = state.now_ms();
    let login = claims::OidcLogin {
        account_id: claim.account_id,
        claim_id: claim.id,
        nonce: start.nonce,
        verifier: start.pkce_verifier,
        created_at_ms: now,
    };
    let digest = token_hash(&start.state);
    state
        .store
        .write(move |c| claims::put_oidc_login(c, &digest, &login, now - LOGIN_TTL_MS))
        .await?;
    Ok(start.authorize_url)
}

/// The provider sent the browser back with `code` and `state`: the login is
/// finished, and when the legal person's enterprise is the one claimed, the
/// claim is verified (and its account made the enterprise's owner).
pub async fn finish_legal_person_login(
    state: &AppState,
    caller: &Caller,
    login_state: &str,
    code: &str,
) -> Result<Claim, Error> {
    let Some(oidc) = state.oidc.clone() else {
        return Err(not_found());
    };
    let Some(me) = caller.account().filter(|a| !a.must_change_password) else {
        return Err(Error::unauthenticated(texts::accounts::SIGN_IN));
    };
    let expired = || conflict("login_expired", t::LOGIN_EXPIRED);
    if login_state.is_empty() || login_state.len() > 512 || code.is_empty() || code.len() > 2048 {
        return Err(expired());
    }
    let digest = token_hash(login_state);
    let login = state
        .store
        .write(move |c| claims::take_oidc_login(c, &digest))
        .await?
        .ok_or_else(expired)?;
    let now = state.now_ms();
    if login.account_id != me.id || now - login.created_at_ms > LOGIN_TTL_MS {
        return Err(expired());
    }
    let person = oidc
        .finish(code, &login.verifier, &login.nonce)
        .await
        .map_err(|e| oidc_failed(&e))?;
    let id = login.claim_id.clone();
    let claim = state
        .store
        .read(move |c| claims::get(c, &id))
        .await?
        .filter(|c| c.account_id == me.id && c.status == ClaimStatus::Pending)
        .ok_or_else(expired)?;
    if person.uscc != claim.uscc {
        let rec = caller.audit(
            now,
            "enterprise_claim_login_mismatch",
            "failure",
            "enterprise_claim",
            &claim.id,
            serde_json::json!({"claimed": claim.uscc, "logged_in": person.uscc, "issuer": person.issuer}),
        );
        let audit_key = state.audit_key.clone();
        state
            .store
            .write(move |c| audit::append(c, &audit_key, std::slice::from_ref(&rec)).map(|_| ()))
            .await?;
        return Err(conflict("uscc_mismatch", t::USCC_MISMATCH));
    }
    // Who vouched: the provider and its identifier of the person.
    let rec = caller.audit(
        now,
        action_of(ClaimDecision::Verify { owner: true }),
        "success",
        "enterprise_claim",
        &claim.id,
        serde_json::json!({"issuer": person.issuer, "subject": person.subject}),
    );
    let d = Decided {
        decider: Decider::Claimant(ClaimVia::Oidc),
        decision: ClaimDecision::Verify { owner: true },
        by: format!("oidc:{}", person.issuer),
        note: None,
        rec,
        audit_key: state.audit_key.clone(),
        outward: crate::jobs::delivery::outward(&state.config),
        now,
    };
    commit(state, claim, d).await
}
