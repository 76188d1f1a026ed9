//! Account use cases shared by the pages, the API and the command line:
//! login and logout, registration, password changes, administration of
//! accounts and API keys. Each state change commits together with its audit
//! record, in one transaction.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::messages;
use crate::auth::{Caller, random_hex, token_hash};
use crate::texts::{self, accounts as t};
use askama::Template;
use onestop_domain::access::{
    Capability, Grant, Role, Scope, Subject, check_password, normalize_username,
};
use onestop_domain::form::{FieldCode, FieldError, uscc_is_valid};
use onestop_domain::lockout::{Failures, LockoutPolicy};
use onestop_domain::text::TextKind;
use onestop_store::StoreError;
use onestop_store::accounts::{self, Account, ApiKey, NewAccount, NewSession};
use onestop_store::audit::{self, NewAuditRecord};

/// Told by SMS to the owner of a number someone registers again.
#[derive(Template)]
#[template(path = "messages/registration_repeated.txt")]
struct RegistrationRepeated<'a> {
    city: &'a str,
}

/// Told by SMS to a newly registered account.
#[derive(Template)]
#[template(path = "messages/registration_opened.txt")]
struct RegistrationOpened<'a> {
    city: &'a str,
}

fn field(name: &str, code: FieldCode, message: &str) -> FieldError {
    FieldError::new(name, code, message)
}

fn validation(errors: Vec<FieldError>) -> Error {
    Error::InvalidAs(t::INVALID, errors)
}

/// Checks a capability. A refusal is audited (等保: denied attempts at
/// administrative actions are recorded) by the one refusal mechanism
/// (`refusals`), which this tells what was missing.
async fn require(
    _state: &AppState,
    caller: &Caller,
    cap: Capability,
    action: &str,
) -> Result<(), Error> {
    if caller.subject.may(cap) {
        return Ok(());
    }
    caller.mark.detail("capability", format!("{cap:?}").into());
    caller.mark.detail("attempted", action.into());
    Err(Error::forbidden())
}

/// A password that satisfies the rules, for accounts an administrator
/// creates or resets (the holder must change it at first login).
pub fn temporary_password() -> String {
    // Four groups of four from an alphabet without look-alikes (about 90
    // bits), plus a fixed tail that guarantees every character class.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    let mut out = String::with_capacity(24);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
    }
    out.push_str("-Aa9");
    out
}

/// The Chinese phone check used for registration: an 11-digit mobile number.
fn phone_ok(p: &str) -> bool {
    onestop_domain::contact::is_mobile(p)
}

// ───────────────────────────── login ─────────────────────────────

/// A successful login: the new session's cookie token (shown to the browser
/// once) and its CSRF token.
pub struct LoggedIn {
    pub token: String,
    pub csrf_token: String,
    pub account: Account,
}

/// A new session for an account: the cookie's token (never stored), its
/// CSRF token, and the row to store.
fn new_session(
    state: &AppState,
    caller: &Caller,
    account_id: &str,
    now: i64,
) -> (String, String, NewSession) {
    let token = random_hex(32);
    let csrf = random_hex(16);
    let session = NewSession {
        token_hash: token_hash(&token),
        account_id: account_id.to_owned(),
        csrf_token: csrf.clone(),
        at_ms: now,
        expires_at_ms: now + i64::from(state.config.security.session_max_hours) * 3_600_000,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
    };
    (token, csrf, session)
}

/// The one answer to every failed login: it never says whether the account
/// exists, is locked or is disabled.
pub fn login_failed(state: &AppState) -> Error {
    let s = &state.config.security;
    Error::refused(
        Refusal::SignInNeeded,
        "login_failed",
        texts::fill(t::LOGIN_FAILED, &[("minutes", &s.lockout_minutes)]),
    )
}

/// The lockout policy of this city's configuration.
pub fn lockout_policy(state: &AppState) -> LockoutPolicy {
    let s = &state.config.security;
    LockoutPolicy::new(s.lockout_failures, s.lockout_minutes)
}

/// Counts one failed password of `account` from the caller's address, in the
/// caller's transaction: the address's new failure state, its audit detail,
/// and an `account_locked` record when the failure reaches the lock.
fn count_failure(
    c: &mut dyn onestop_store::db::Conn,
    audit_key: &onestop_store::audit::AuditKey,
    policy: LockoutPolicy,
    account_id: &str,
    base: &NewAuditRecord,
    now: i64,
) -> Result<Failures, StoreError> {
    let address = onestop_domain::lockout::address_key(&base.ip);
    let before = accounts::login_failures_for_update(c, account_id, &address)?;
    let after = policy.after_failure(before, now);
    accounts::put_login_failures(c, account_id, &address, &after, now - policy.lock_ms)?;
    if policy.is_lock(&after) {
        let rec = NewAuditRecord {
            action: "account_locked".into(),
            outcome: "denied".into(),
            detail: serde_json::json!({
                "address": address,
                "failures_in_a_row": after.count,
                "locked_until_ms": after.blocked_until_ms,
            })
            .to_string(),
            ..base.clone()
        };
        audit::append(c, audit_key, std::slice::from_ref(&rec))?;
    }
    Ok(after)
}

pub async fn login(
    state: &AppState,
    caller: &Caller,
    username: &str,
    password: String,
) -> Result<LoggedIn, Error> {
    let now = state.now_ms();
    let policy = lockout_policy(state);
    let name = normalize_username(username);
    let ip = onestop_domain::lockout::address_key(&caller.ip);
    // One check at a time per login name and address, taken before the
    // failures are read: a burst cannot outrun the count.
    let check_key = name
        .clone()
        .unwrap_or_else(|| username.trim().to_lowercase());
    let Some(_check) = state.password_checks.enter(&check_key, &ip) else {
        let rec = caller.audit(
            now,
            "login",
            "failure",
            "account",
            "",
            serde_json::json!({"reason": "concurrent_attempt"}),
        );
        state.audit.record(rec).await?;
        return Err(login_failed(state));
    };
    let found = match &name {
        Some(n) => {
            let n = n.clone();
            state
                .store
                .read(move |c| {
                    let Some(a) = accounts::by_username(c, &n)? else {
                        return Ok(None);
                    };
                    let f = accounts::login_failures(c, &a.id, &ip)?;
                    Ok(Some((a, f)))
                })
                .await?
        }
        None => None,
    };
    let blocked = found
        .as_ref()
        .and_then(|(_, f)| policy.blocked_until(*f, now));
    // Always one Argon2 verification, whatever the account's state.
    let hash = found
        .as_ref()
        .filter(|_| blocked.is_none())
        .map(|(a, _)| a.password_hash.clone());
    let ok = state.passwords.verify(password, hash).await;
    let attempted: String = username.trim().chars().take(64).collect();
    let Some((account, _)) = found else {
        let rec = NewAuditRecord {
            actor_kind: "anonymous".into(),
            actor_name: attempted,
            ..caller.audit(
                now,
                "login",
                "failure",
                "account",
                "",
                serde_json::json!({"reason": "unknown_account"}),
            )
        };
        let audit_key = state.audit_key.clone();
        state
            .store
            .write(move |c| audit::append(c, &audit_key, std::slice::from_ref(&rec)))
            .await?;
        return Err(login_failed(state));
    };
    let base = NewAuditRecord {
        actor_kind: "account".into(),
        actor_id: account.id.clone(),
        actor_name: account.username.clone(),
        ..caller.audit(
            now,
            "login",
            "failure",
            "account",
            &account.id,
            serde_json::json!({}),
        )
    };
    if ok && !account.disabled && blocked.is_none() {
        let (token, csrf, session) = new_session(state, caller, &account.id, now);
        let rec = NewAuditRecord {
            outcome: "success".into(),
            ..base
        };
        let id = account.id.clone();
        let ip = onestop_domain::lockout::address_key(&caller.ip);
        let audit_key = state.audit_key.clone();
        state
            .store
            .write(move |c| {
                accounts::record_success(c, &id, now)?;
                accounts::clear_login_failures(c, &id, &ip)?;
                accounts::create_session(c, &session)?;
                audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
                Ok(())
            })
            .await?;
        return Ok(LoggedIn {
            token,
            csrf_token: csrf,
            account,
        });
    }
    let reason = if blocked.is_some() {
        "locked"
    } else if account.disabled {
        "disabled"
    } else {
        "wrong_password"
    };
    let id = account.id.clone();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            let mut detail = serde_json::json!({"reason": reason});
            if let Some(until) = blocked {
                detail["blocked_until_ms"] = until.into();
            }
            // Only a wrong password counts; an address that must wait is
            // refused unchecked, and a disabled account is not guessed at.
            if reason == "wrong_password" {
                let f = count_failure(c, &audit_key, policy, &id, &base, now)?;
                detail["failures_in_a_row"] = f.count.into();
                if f.blocked_until_ms > now {
                    detail["blocked_until_ms"] = f.blocked_until_ms.into();
                }
            }
            let rec = NewAuditRecord {
                detail: detail.to_string(),
                ..base.clone()
            };
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(())
        })
        .await?;
    Err(login_failed(state))
}

/// Ends the caller's session (idempotent).
pub async fn logout(state: &AppState, caller: &Caller) -> Result<(), Error> {
    let Some(session) = &caller.session else {
        return Ok(());
    };
    let now = state.now_ms();
    let hash = session.token_hash.clone();
    let id = caller.account().map(|a| a.id.clone()).unwrap_or_default();
    let rec = caller.audit(
        now,
        "logout",
        "success",
        "account",
        &id,
        serde_json::json!({}),
    );
    let token = hash.clone();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            if accounts::end_session(c, &hash, now)? {
                audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            }
            Ok(())
        })
        .await?;
    state.credentials.forget_token(&token);
    Ok(())
}

// ───────────────────────────── registration ─────────────────────────────

#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub uscc: String,
    pub enterprise_name: String,
    pub contact_name: String,
    pub phone: String,
    pub password: String,
    pub password_confirm: String,
}

/// What a registration did. The page answers both the same, so that nobody
/// learns whether a phone number is registered; the SMS to that phone says
/// which it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// A new account, holding a pending claim on the enterprise.
    Created(String),
    /// The phone already had an account: nothing was created.
    AlreadyRegistered,
}

/// An enterprise registers itself: the login name is the contact's mobile
/// number; the account claims the enterprise (`claimant:<USCC>`) until the
/// claim is verified (`crate::app::identity`). Whether or not the number was
/// registered before, the same work is done and the same answer given; an
/// SMS (when the city has an SMS gateway) tells the phone's owner what
/// happened.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    r: Registration,
) -> Result<Registered, Error> {
    let mut errors = Vec::new();
    let uscc = r.uscc.trim().to_uppercase();
    if uscc.is_empty() {
        errors.push(field("uscc", FieldCode::Required, t::USCC_MISSING));
    } else if uscc.chars().count() != 18 {
        errors.push(field("uscc", FieldCode::InvalidFormat, t::USCC_LENGTH));
    } else if !uscc_is_valid(&uscc) {
        errors.push(field("uscc", FieldCode::UsccChecksum, t::USCC_CHECKSUM));
    }
    let mut text = |name: &str, label: &str, kind: TextKind, raw: &str| {
        onestop_domain::text::check_field(name, label, kind, Some(raw), true)
            .unwrap_or_else(|e| {
                errors.push(e);
                None
            })
            .unwrap_or_default()
    };
    let enterprise = text(
        "enterprise_name",
        t::ENTERPRISE_NAME,
        TextKind::EnterpriseName,
        &r.enterprise_name,
    );
    let contact = text(
        "contact_name",
        t::CONTACT_NAME,
        TextKind::PersonName,
        &r.contact_name,
    );
    let phone = r.phone.trim().to_owned();
    if phone.is_empty() {
        errors.push(field("phone", FieldCode::Required, t::PHONE_MISSING));
    } else if !phone_ok(&phone) {
        errors.push(field("phone", FieldCode::InvalidFormat, t::PHONE_INVALID));
    }
    if r.password.is_empty() {
        errors.push(field("password", FieldCode::Required, t::PASSWORD_MISSING));
    } else if let Err(m) = check_password(&r.password, &phone) {
        errors.push(field("password", FieldCode::WeakPassword, m));
    } else if r.password != r.password_confirm {
        errors.push(field(
            "password_confirm",
            FieldCode::Mismatch,
            t::PASSWORD_MISMATCH,
        ));
    }
    if !errors.is_empty() {
        return Err(validation(errors));
    }
    // Hashed whether or not the number is taken: the answer takes as long.
    let hash = state.passwords.hash(r.password).await?;
    let now = state.now_ms();
    let new = NewAccount {
        id: crate::app::applications::new_id(),
        username: phone.clone(),
        display_name: contact,
        phone: Some(phone.clone()),
        uscc: Some(uscc.clone()),
        enterprise_name: Some(enterprise.clone()),
        password_hash: hash,
        must_change_password: false,
        created_by: "self".into(),
        grants: vec![(Role::Claimant.as_str().into(), uscc.clone())],
        at_ms: now,
    };
    let rec = NewAuditRecord {
        actor_kind: "account".into(),
        actor_id: new.id.clone(),
        actor_name: new.username.clone(),
        ..caller.audit(
            now,
            "account_registered",
            "success",
            "account",
            &new.id,
            serde_json::json!({"roles": [format!("claimant:{uscc}")]}),
        )
    };
    let repeated = caller.audit(
        now,
        "account_registered",
        "failure",
        "account",
        "",
        serde_json::json!({"reason": "phone_registered"}),
    );
    let sms = state.config.notify.sms.is_some();
    let city = &state.config.city.name;
    let repeated_text = messages::fill(&RegistrationRepeated { city });
    let opened_text = messages::fill(&RegistrationOpened { city });
    let id = new.id.clone();
    let audit_key = state.audit_key.clone();
    let outcome = state
        .store
        .write(move |c| {
            let existing = accounts::by_username(c, &new.username)?;
            let inserted = match existing {
                Some(_) => false,
                None => match accounts::insert(c, &new) {
                    Ok(()) => true,
                    Err(e) if e.is_unique_violation() => false,
                    Err(e) => return Err(e),
                },
            };
            if !inserted {
                // The number is taken: nothing changes but the record and
                // the SMS to the number's own account.
                let existing = match existing {
                    Some(a) => Some(a),
                    None => accounts::by_username(c, &new.username)?,
                };
                let target = existing.as_ref().map_or(String::new(), |a| a.id.clone());
                let rec = NewAuditRecord {
                    target_id: target.clone(),
                    ..repeated.clone()
                };
                audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
                if sms && let Some(a) = existing {
                    let m = onestop_store::notifications::Message {
                        event_key: format!("register_repeat:{now}"),
                        kind: "registration".into(),
                        title: repeated_text.title.clone(),
                        body: repeated_text.body.clone(),
                        link: None,
                        at_ms: now,
                    };
                    onestop_store::outbox::queue_sms(c, &a.id, &new.username, &m)?;
                }
                return Ok(false);
            }
            onestop_store::claims::sync_with_roles(
                c,
                &new.id,
                new.enterprise_name.as_deref().unwrap_or(""),
                &[],
                std::slice::from_ref(&uscc),
                "self",
                now,
            )?;
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            if sms {
                let m = onestop_store::notifications::Message {
                    event_key: "registered".into(),
                    kind: "registration".into(),
                    title: opened_text.title.clone(),
                    body: opened_text.body.clone(),
                    link: Some("/account/enterprise".into()),
                    at_ms: now,
                };
                onestop_store::outbox::queue_sms(c, &new.id, &new.username, &m)?;
            }
            crate::app::identity::tell_owners_of_new_claim(c, &uscc, &new.display_name, now)?;
            Ok(true)
        })
        .await?;
    Ok(if outcome {
        Registered::Created(id)
    } else {
        Registered::AlreadyRegistered
    })
}

/// The enterprise roles among `grants`: (verified, pending) USCCs.
fn enterprise_roles(grants: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let of = |role: Role| {
        grants
            .iter()
            .filter(|(r, _)| r == role.as_str())
            .map(|(_, s)| s.clone())
            .collect::<Vec<_>>()
    };
    (of(Role::Applicant), of(Role::Claimant))
}

async fn insert_account(
    state: &AppState,
    new: NewAccount,
    rec: NewAuditRecord,
) -> Result<Account, Error> {
    let id = new.id.clone();
    let audit_key = state.audit_key.clone();
    let outcome = state
        .store
        .write(move |c| {
            match accounts::insert(c, &new) {
                Ok(()) => {}
                Err(e) if e.is_unique_violation() => return Ok(false),
                Err(e) => return Err(e),
            }
            let (verified, pending) = enterprise_roles(&new.grants);
            onestop_store::claims::sync_with_roles(
                c,
                &new.id,
                new.enterprise_name.as_deref().unwrap_or(""),
                &verified,
                &pending,
                &new.created_by,
                new.at_ms,
            )?;
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(true)
        })
        .await?;
    if !outcome {
        return Err(validation(vec![field(
            "username",
            FieldCode::AlreadyExists,
            t::USERNAME_TAKEN,
        )]));
    }
    state
        .store
        .read(move |c| accounts::get(c, &id))
        .await?
        .ok_or(Error::Internal(
            "a record written in this transaction is missing",
        ))
}

// ───────────────────────────── passwords ─────────────────────────────

/// The caller changes their own password; every session of the account ends
/// and a new one is returned for this browser.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: String,
    new_password: String,
    confirm: String,
) -> Result<LoggedIn, Error> {
    let Some(me) = caller.account() else {
        return Err(Error::unauthenticated(t::SIGN_IN));
    };
    let id = me.id.clone();
    let account = state
        .store
        .read(move |c| accounts::get(c, &id))
        .await?
        .ok_or_else(|| Error::unauthenticated(t::SIGN_IN))?;
    let now = state.now_ms();
    let policy = lockout_policy(state);
    // Wrong current passwords count like failed logins, per address.
    let address = onestop_domain::lockout::address_key(&caller.ip);
    let Some(_check) = state.password_checks.enter(&account.username, &address) else {
        return Err(validation(vec![field(
            "current_password",
            FieldCode::Mismatch,
            t::PASSWORD_BUSY,
        )]));
    };
    let (id, ip) = (account.id.clone(), address.clone());
    let failures = state
        .store
        .read(move |c| accounts::login_failures(c, &id, &ip))
        .await?;
    if let Some(until) = policy.blocked_until(failures, now) {
        return Err(validation(vec![field(
            "current_password",
            FieldCode::Mismatch,
            &texts::fill(
                t::PASSWORD_BLOCKED,
                &[(
                    "until",
                    &onestop_domain::timefmt::when_zh(
                        onestop_domain::timefmt::from_ms(until, state.offset),
                        state.offset,
                    ),
                )],
            ),
        )]));
    }
    let mut errors = Vec::new();
    if let Err(m) = check_password(&new_password, &account.username) {
        errors.push(field("new_password", FieldCode::WeakPassword, m));
    } else if new_password != confirm {
        errors.push(field(
            "new_password_confirm",
            FieldCode::Mismatch,
            t::NEW_PASSWORD_MISMATCH,
        ));
    } else if new_password == current {
        errors.push(field(
            "new_password",
            FieldCode::WeakPassword,
            t::NEW_PASSWORD_SAME,
        ));
    }
    let ok = state
        .passwords
        .verify(current, Some(account.password_hash.clone()))
        .await;
    if !ok {
        let base = caller.audit(
            now,
            "password_changed",
            "failure",
            "account",
            &account.id,
            serde_json::json!({}),
        );
        let id = account.id.clone();
        let audit_key = state.audit_key.clone();
        let f = state
            .store
            .write(move |c| {
                let f = count_failure(c, &audit_key, policy, &id, &base, now)?;
                let rec = NewAuditRecord {
                    detail: serde_json::json!({
                        "reason": "wrong_current_password",
                        "failures_in_a_row": f.count,
                    })
                    .to_string(),
                    ..base.clone()
                };
                audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
                Ok(f)
            })
            .await?;
        let message = if f.blocked_until_ms > now {
            texts::fill(
                t::PASSWORD_WRONG_BLOCKED,
                &[(
                    "until",
                    &onestop_domain::timefmt::when_zh(
                        onestop_domain::timefmt::from_ms(f.blocked_until_ms, state.offset),
                        state.offset,
                    ),
                )],
            )
        } else {
            t::PASSWORD_WRONG.to_owned()
        };
        errors.insert(0, field("current_password", FieldCode::Mismatch, &message));
    }
    if !errors.is_empty() {
        return Err(validation(errors));
    }
    let hash = state.passwords.hash(new_password).await?;
    let (token, csrf, session) = new_session(state, caller, &account.id, now);
    let rec = caller.audit(
        now,
        "password_changed",
        "success",
        "account",
        &account.id,
        serde_json::json!({}),
    );
    let id = account.id.clone();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            accounts::set_password(c, &id, &hash, false, now)?;
            accounts::end_sessions_of(c, &id, now)?;
            accounts::create_session(c, &session)?;
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(())
        })
        .await?;
    state.credentials.forget_account(&account.id);
    Ok(LoggedIn {
        token,
        csrf_token: csrf,
        account,
    })
}

// ───────────────────────────── administration ─────────────────────────────

#[derive(Debug, Clone, Default)]
pub struct NewAccountInput {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// `role` or `role:scope` texts.
    pub grants: Vec<String>,
    /// None: a temporary password is generated.
    pub password: Option<String>,
}

/// What creating or resetting an account hands back once.
pub struct Created {
    pub account: Account,
    /// The temporary password, when one was generated.
    pub temporary_password: Option<String>,
}

async fn parse_grants(
    state: &AppState,
    texts: &[String],
) -> Result<Result<Vec<Grant>, Vec<FieldError>>, Error> {
    let halls = crate::app::halls::registry(state).await?;
    let mut grants = Vec::new();
    let mut errors = Vec::new();
    for (i, t) in texts.iter().filter(|t| !t.trim().is_empty()).enumerate() {
        match Grant::parse(t, &state.config) {
            // A clerk's role names a registered hall.
            Ok(g) if g.role == Role::Clerk && halls.get(&g.scope).is_none() => errors.push(field(
                &format!("roles.{i}"),
                FieldCode::UnknownValue,
                t::CLERK_HALL_UNKNOWN,
            )),
            Ok(g) if !grants.contains(&g) => grants.push(g),
            Ok(_) => {}
            Err(e) => errors.push(field(
                &format!("roles.{i}"),
                FieldCode::UnknownValue,
                &e.message,
            )),
        }
    }
    if grants.is_empty() && errors.is_empty() {
        errors.push(field("roles", FieldCode::Required, t::NO_ROLE));
    }
    if errors.is_empty() {
        Ok(Ok(grants))
    } else {
        Ok(Err(errors))
    }
}

fn grant_pairs(grants: &[Grant]) -> Vec<(String, String)> {
    grants
        .iter()
        .map(|g| (g.role.as_str().to_owned(), g.scope.clone()))
        .collect()
}

fn grant_codes(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(Grant::code).collect()
}

/// An administrator (or the command line) creates an account. Without a
/// password a temporary one is generated; either way the holder must change
/// it at first login.
pub async fn create_account(
    state: &AppState,
    caller: &Caller,
    input: NewAccountInput,
) -> Result<Created, Error> {
    require(state, caller, Capability::ManageAccounts, "account_created").await?;
    let mut errors = Vec::new();
    let username = normalize_username(&input.username);
    if username.is_none() {
        errors.push(field(
            "username",
            FieldCode::InvalidFormat,
            t::USERNAME_INVALID,
        ));
    }
    let display = onestop_domain::text::check_field(
        "display_name",
        t::DISPLAY_NAME,
        TextKind::DisplayName,
        Some(&input.display_name),
        true,
    )
    .unwrap_or_else(|e| {
        errors.push(e);
        None
    })
    .unwrap_or_default();
    let phone = input
        .phone
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    if let Some(p) = &phone
        && !phone_ok(p)
    {
        errors.push(field("phone", FieldCode::InvalidFormat, t::PHONE_INVALID));
    }
    let grants = match parse_grants(state, &input.grants).await? {
        Ok(g) => g,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    let (password, generated) = match input.password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (temporary_password(), true),
    };
    if let Some(u) = &username
        && let Err(m) = check_password(&password, u)
    {
        errors.push(field("password", FieldCode::WeakPassword, m));
    }
    if !errors.is_empty() {
        return Err(validation(errors));
    }
    let username = username.unwrap_or_default();
    let uscc = grants
        .iter()
        .find(|g| g.role == Role::Applicant)
        .map(|g| g.scope.clone());
    let hash = state.passwords.hash(password.clone()).await?;
    let now = state.now_ms();
    let (_, creator_id, creator_name) = caller.subject.audit_identity();
    let new = NewAccount {
        id: crate::app::applications::new_id(),
        username,
        display_name: display,
        phone,
        uscc,
        enterprise_name: None,
        password_hash: hash,
        must_change_password: true,
        created_by: if creator_id.is_empty() {
            creator_name.to_owned()
        } else {
            creator_id.to_owned()
        },
        grants: grant_pairs(&grants),
        at_ms: now,
    };
    let rec = caller.audit(
        now,
        "account_created",
        "success",
        "account",
        &new.id,
        serde_json::json!({"username": new.username, "roles": grant_codes(&grants)}),
    );
    let account = insert_account(state, new, rec).await?;
    Ok(Created {
        account,
        temporary_password: generated.then_some(password),
    })
}

async fn existing(state: &AppState, id: &str) -> Result<Account, Error> {
    let id = id.to_owned();
    state
        .store
        .read(move |c| accounts::get(c, &id))
        .await?
        .ok_or(Error::NotFound)
}

/// Disables (ending every session) or re-enables an account.
pub async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    id: &str,
    disabled: bool,
) -> Result<Account, Error> {
    let action = if disabled {
        "account_disabled"
    } else {
        "account_enabled"
    };
    require(state, caller, Capability::ManageAccounts, action).await?;
    let account = existing(state, id).await?;
    if disabled && caller.account().is_some_and(|me| me.id == account.id) {
        return Err(Error::refused(
            Refusal::Conflict,
            "cannot_disable_self",
            t::CANNOT_DISABLE_SELF,
        ));
    }
    let now = state.now_ms();
    let rec = caller.audit(
        now,
        if disabled {
            "account_disabled"
        } else {
            "account_enabled"
        },
        "success",
        "account",
        &account.id,
        serde_json::json!({"username": account.username}),
    );
    let aid = account.id.clone();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            accounts::set_disabled(c, &aid, disabled, now)?;
            if disabled {
                accounts::end_sessions_of(c, &aid, now)?;
            }
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(())
        })
        .await?;
    state.credentials.forget_account(id);
    existing(state, id).await
}

/// Resets a password to a new temporary one (shown once), ends every
/// session, clears a lockout; the holder must change it at next login.
pub async fn reset_password(state: &AppState, caller: &Caller, id: &str) -> Result<Created, Error> {
    require(state, caller, Capability::ManageAccounts, "password_reset").await?;
    let account = existing(state, id).await?;
    let password = temporary_password();
    let hash = state.passwords.hash(password.clone()).await?;
    let now = state.now_ms();
    let rec = caller.audit(
        now,
        "password_reset",
        "success",
        "account",
        &account.id,
        serde_json::json!({"username": account.username}),
    );
    let aid = account.id.clone();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            accounts::set_password(c, &aid, &hash, true, now)?;
            accounts::end_sessions_of(c, &aid, now)?;
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(())
        })
        .await?;
    state.credentials.forget_account(id);
    Ok(Created {
        account: existing(state, id).await?,
        temporary_password: Some(password),
    })
}

/// Replaces an account's roles (a permission change, audited with before and after).
pub async fn set_grants(
    state: &AppState,
    caller: &Caller,
    id: &str,
    texts: &[String],
) -> Result<Account, Error> {
    require(state, caller, Capability::ManageAccounts, "roles_changed").await?;
    let account = existing(state, id).await?;
    let grants = parse_grants(state, texts).await?.map_err(validation)?;
    if caller.account().is_some_and(|me| me.id == account.id)
        && !grants.iter().any(|g| g.role == Role::Admin)
    {
        return Err(Error::refused(
            Refusal::Conflict,
            "cannot_demote_self",
            t::CANNOT_DEMOTE_SELF,
        ));
    }
    let before: Vec<String> = account
        .grants
        .iter()
        .map(onestop_store::accounts::grant_code)
        .collect();
    let now = state.now_ms();
    let rec = caller.audit(
        now,
        "roles_changed",
        "success",
        "account",
        &account.id,
        serde_json::json!({"username": account.username, "before": before, "after": grant_codes(&grants)}),
    );
    let pairs = grant_pairs(&grants);
    let aid = account.id.clone();
    let enterprise = account.enterprise_name.clone().unwrap_or_default();
    let (_, by_id, by_name) = caller.subject.audit_identity();
    let by = if by_id.is_empty() { by_name } else { by_id }.to_owned();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            accounts::set_grants(c, &aid, &pairs, now)?;
            let (verified, pending) = enterprise_roles(&pairs);
            onestop_store::claims::sync_with_roles(
                c,
                &aid,
                &enterprise,
                &verified,
                &pending,
                &by,
                now,
            )?;
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(())
        })
        .await?;
    state.credentials.forget_account(id);
    existing(state, id).await
}

/// A new API key: the key is returned once and stored only as its digest.
pub async fn create_api_key(
    state: &AppState,
    caller: &Caller,
    name: &str,
    scopes: &str,
) -> Result<(ApiKey, String), Error> {
    require(state, caller, Capability::ManageApiKeys, "apikey_created").await?;
    let mut errors = Vec::new();
    let name =
        onestop_domain::text::check_field("name", t::KEY_NAME, TextKind::KeyName, Some(name), true)
            .unwrap_or_else(|e| {
                errors.push(e);
                None
            })
            .unwrap_or_default();
    let scopes = match Scope::parse_list(scopes, &state.config) {
        Ok(s) => s,
        Err(e) => {
            errors.push(field("scopes", FieldCode::UnknownValue, &e.message));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(validation(errors));
    }
    let (key, hash, prefix) = crate::auth::new_api_key();
    let now = state.now_ms();
    let (_, creator_id, creator_name) = caller.subject.audit_identity();
    let row = ApiKey {
        id: crate::app::applications::new_id(),
        name,
        prefix,
        secret_hash: hash,
        scopes: scopes.iter().map(Scope::code).collect::<Vec<_>>().join(","),
        created_at: now,
        created_by: if creator_id.is_empty() {
            creator_name.to_owned()
        } else {
            creator_id.to_owned()
        },
        revoked_at: None,
        revoked_by: None,
        last_used_at: None,
    };
    let rec = caller.audit(
        now,
        "apikey_created",
        "success",
        "api_key",
        &row.id,
        serde_json::json!({"name": row.name, "scopes": row.scopes, "prefix": row.prefix}),
    );
    let r = row.clone();
    let audit_key = state.audit_key.clone();
    state
        .store
        .write(move |c| {
            accounts::insert_api_key(c, &r)?;
            audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(())
        })
        .await?;
    Ok((row, key))
}

/// Revokes a key at once; false when it does not exist or was revoked already.
pub async fn revoke_api_key(state: &AppState, caller: &Caller, id: &str) -> Result<bool, Error> {
    require(state, caller, Capability::ManageApiKeys, "apikey_revoked").await?;
    let now = state.now_ms();
    let (_, by_id, by_name) = caller.subject.audit_identity();
    let by = if by_id.is_empty() { by_name } else { by_id }.to_owned();
    let rec = caller.audit(
        now,
        "apikey_revoked",
        "success",
        "api_key",
        id,
        serde_json::json!({}),
    );
    let key_id = id.to_owned();
    let audit_key = state.audit_key.clone();
    let done = state
        .store
        .write(move |c| {
            let done = accounts::revoke_api_key(c, &key_id, &by, now)?;
            if done {
                audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            }
            Ok(done)
        })
        .await?;
    state.credentials.forget_key(id);
    Ok(done)
}

/// A caller for the command line: the operator at the server, as `system`.
pub fn system_caller(name: &str) -> Caller {
    Caller {
        subject: Subject::System(name.to_owned()),
        session: None,
        problem: None,
        ip: "local".into(),
        request_id: String::new(),
        user_agent: String::new(),
        https: false,
        csrf_cookie: None,
        unread: None,
        notice_due: None,
        registers_projects: true,
        mark: Default::default(),
        path: String::new(),
    }
}
