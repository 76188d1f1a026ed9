//! Who is calling: sessions (browsers), API keys (integration clients),
//! password hashing, CSRF tokens and rate limits.
//!
//! Every handler that reads or writes business data takes a [`Caller`] (pages)
//! or an [`ApiCaller`] (the JSON API) and asks `onestop_domain::access` what
//! it may do. Secrets are handled here only: session tokens and API keys are
//! stored as SM3 digests, passwords as Argon2id hashes.

use crate::AppState;
use crate::error::ApiError;
use crate::texts::auth as t;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::access::{AccountSubject, ApiKeySubject, Grant, Role, Scope, Subject};
use onestop_store::accounts::{self, Account};
use onestop_store::audit::NewAuditRecord;
use sm3::{Digest, Sm3};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Semaphore;

pub const SESSION_COOKIE: &str = "onestop_session";
pub const CSRF_COOKIE: &str = "onestop_csrf";
/// The header a browser script sends the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of every API key (`osk_` + 64 hex digits).
pub const API_KEY_PREFIX: &str = "osk_";
/// A session's `last_seen_at` is written at most once a minute, and at
/// least four times per idle timeout, so that an active session never
/// ends for idleness: `min(60 s, timeout / 4)`.
pub fn touch_every_ms(idle_timeout_minutes: u32) -> i64 {
    (i64::from(idle_timeout_minutes) * 60_000 / 4).min(60_000)
}

/// `n` random bytes from the operating system, as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).expect("the operating system's random source");
    hex::encode(buf)
}

/// SM3 of a token, lower-case hex: what is stored instead of the token.
pub fn token_hash(token: &str) -> String {
    let mut h = Sm3::new();
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Compares secrets in time independent of where they differ.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new API key: (the key, shown once; its digest; its display prefix).
pub fn new_api_key() -> (String, String, String) {
    let key = format!("{API_KEY_PREFIX}{}", random_hex(32));
    let hash = token_hash(&key);
    let prefix = key[..API_KEY_PREFIX.len() + 8].to_owned();
    (key, hash, prefix)
}

// ───────────────────────────── passwords ─────────────────────────────

/// Argon2id cost. Production follows the OWASP recommendation (19 MiB, two
/// passes); tests use a labelled cheap setting so that suites stay fast.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl PasswordCost {
    pub const PRODUCTION: PasswordCost = PasswordCost {
        memory_kib: 19 * 1024,
        passes: 2,
    };
    /// For tests only: far too cheap for real passwords.
    pub const TEST_ONLY: PasswordCost = PasswordCost {
        memory_kib: 256,
        passes: 1,
    };
}

/// Hashes and verifies passwords on the blocking pool, at most `permits` at a
/// time, so that a burst of logins cannot take every core from other requests.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    cost: PasswordCost,
    dummy: Arc<OnceLock<String>>,
}

impl Passwords {
    pub fn new(cost: PasswordCost) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Passwords {
            permits: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
            cost,
            dummy: Arc::new(OnceLock::new()),
        }
    }

    fn argon(cost: PasswordCost) -> Argon2<'static> {
        let params =
            Params::new(cost.memory_kib, cost.passes, 1, None).expect("valid Argon2 parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    fn hash_now(cost: PasswordCost, password: &str) -> String {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).expect("the operating system's random source");
        let salt = SaltString::encode_b64(&salt).expect("16-byte salt");
        Self::argon(cost)
            .hash_password(password.as_bytes(), &salt)
            .expect("Argon2 hashing")
            .to_string()
    }

    fn verify_now(password: &str, hash: &str) -> bool {
        match PasswordHash::new(hash) {
            // The stored string carries its own parameters.
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// The PHC string (`$argon2id$v=19$m=…`) of a new password.
    pub async fn hash(&self, password: String) -> Result<String, crate::app::error::Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| crate::app::error::Error::Internal("the password hasher stopped"))?;
        let cost = self.cost;
        tokio::task::spawn_blocking(move || Self::hash_now(cost, &password))
            .await
            .map_err(|_| crate::app::error::Error::Internal("the password hasher stopped"))
    }

    /// Checks a password. With no stored hash (no such account) the same work
    /// is done against a throw-away hash, so that timing tells nothing.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let cost = self.cost;
        let dummy = self.dummy.clone();
        tokio::task::spawn_blocking(move || match hash {
            Some(h) => Self::verify_now(&password, &h),
            None => {
                let d = dummy.get_or_init(|| Self::hash_now(cost, &random_hex(16)));
                let _ = Self::verify_now(&password, d);
                false
            }
        })
        .await
        .unwrap_or(false)
    }
}

// ───────────────────────────── password checks in flight ─────────────────────────────

/// Password checks in progress, per (login name, address): one at a time,
/// so that a burst of attempts from one address cannot all be checked
/// before the first failure is counted (the lockout's waits would not hold).
/// In memory, per process.
#[derive(Default)]
pub struct PasswordChecks(Mutex<std::collections::HashSet<(String, String)>>);

/// Holds one check; leaving it (drop) lets the next one in.
pub struct PasswordCheck {
    checks: Arc<PasswordChecks>,
    key: (String, String),
}

impl PasswordChecks {
    /// Starts a check for `name` from `address`, unless one is in progress.
    pub fn enter(self: &Arc<Self>, name: &str, address: &str) -> Option<PasswordCheck> {
        let key = (name.to_owned(), address.to_owned());
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(key.clone()).then(|| PasswordCheck {
            checks: self.clone(),
            key,
        })
    }
}

impl Drop for PasswordCheck {
    fn drop(&mut self) {
        self.checks
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

// ───────────────────────────── rate limits ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Login,
    Register,
    /// Public status lookups, per client address.
    Lookup,
    /// Failed public status lookups, per application number.
    LookupNumber,
}

/// Fixed-window counters per (limit, client address), in memory. Several
/// processes each count their own share, which errs on the lenient side.
#[derive(Default)]
pub struct RateLimiter {
    /// (limit, key) → (end of the current window in Unix ms, attempts in it).
    windows: Mutex<HashMap<(Limit, String), (i64, u32)>>,
}

impl RateLimiter {
    /// Counts one attempt; false when `max` attempts were already made in the
    /// current window of `window_ms`.
    pub fn allow(&self, limit: Limit, key: &str, max: u32, window_ms: i64, now_ms: i64) -> bool {
        let end = (now_ms.div_euclid(window_ms) + 1) * window_ms;
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() > 50_000 {
            w.retain(|_, (until, _)| *until > now_ms);
        }
        let entry = w.entry((limit, key.to_owned())).or_insert((end, 0));
        if entry.0 != end {
            *entry = (end, 0);
        }
        if entry.1 >= max {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Whether `max` attempts were counted already in the current window
    /// (counts nothing).
    pub fn exhausted(
        &self,
        limit: Limit,
        key: &str,
        max: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> bool {
        let end = (now_ms.div_euclid(window_ms) + 1) * window_ms;
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.get(&(limit, key.to_owned()))
            .is_some_and(|(until, n)| *until == end && *n >= max)
    }

    /// Counts one attempt (a failure) in the current window.
    pub fn record(&self, limit: Limit, key: &str, window_ms: i64, now_ms: i64) {
        self.allow(limit, key, u32::MAX, window_ms, now_ms);
    }
}

pub fn rate_limited() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        t::RATE_LIMITED,
    )
}

// ───────────────────────────── credential cache ─────────────────────────────

/// How long a resolved credential is reused without asking the database.
/// Changes made in this process (logout, revocation, disabling, a new
/// password or new roles) take effect at once; changes made by another
/// process sharing the database, within this time.
pub const CREDENTIAL_CACHE_MS: i64 = 2_000;

#[derive(Clone)]
enum Cached {
    Key(ApiKeySubject),
    Session {
        session: Box<accounts::Session>,
        account: Box<Account>,
    },
    /// Known not to be a usable credential.
    Rejected,
}

/// Recently resolved credentials, by token digest.
#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<String, (i64, Cached)>>,
    /// Token → its SM3 digest, so that a busy client's every request does
    /// not hash its token again.
    digests: Mutex<HashMap<String, String>>,
}

impl CredentialCache {
    /// The token's digest ([`token_hash`]), remembered for the next request.
    pub fn digest(&self, token: &str) -> String {
        let mut d = self.digests.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = d.get(token) {
            return h.clone();
        }
        if d.len() >= 20_000 {
            d.clear();
        }
        let h = token_hash(token);
        d.insert(token.to_owned(), h.clone());
        h
    }

    fn get(&self, hash: &str, now_ms: i64) -> Option<Cached> {
        let e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        e.get(hash)
            .filter(|(at, _)| now_ms - at < CREDENTIAL_CACHE_MS)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, hash: String, now_ms: i64, c: Cached) {
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if e.len() >= 20_000 {
            e.retain(|_, (at, _)| now_ms - *at < CREDENTIAL_CACHE_MS);
            if e.len() >= 20_000 {
                e.clear();
            }
        }
        e.insert(hash, (now_ms, c));
    }

    /// Forgets everything (as if the cache time had passed), e.g. after the
    /// database was changed by hand.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Forgets one token (logout).
    pub fn forget_token(&self, hash: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(hash);
    }

    /// Forgets every session of an account (disabled, new password, new roles).
    pub fn forget_account(&self, account_id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (_, c)| !matches!(c, Cached::Session { account, .. } if account.id == account_id));
    }

    /// Forgets an API key (revoked).
    pub fn forget_key(&self, key_id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (_, c)| !matches!(c, Cached::Key(k) if k.id == key_id));
    }
}

// ───────────────────────────── the caller ─────────────────────────────

/// The session behind a browser request.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub token_hash: String,
    pub csrf_token: String,
}

/// Why presented credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialProblem {
    /// The cookie names no live session (logged out, idle, expired, forged,
    /// or the account was disabled).
    SessionEnded,
    /// The API key is unknown or revoked.
    KeyRejected,
    /// An `Authorization` header that is not `Bearer <key>`.
    MalformedAuthorization,
}

/// Who is calling, resolved once per request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: Subject,
    pub session: Option<SessionInfo>,
    pub problem: Option<CredentialProblem>,
    /// The client's address (for the audit log and rate limits).
    pub ip: String,
    pub request_id: String,
    pub user_agent: String,
    /// The request arrived over TLS (directly or per the proxy).
    pub https: bool,
    /// The anonymous CSRF cookie's value, if any.
    pub csrf_cookie: Option<String>,
    /// Unread in-app messages of a signed-in account (pages only).
    pub unread: Option<i64>,
    /// For an administrator's pages: the year whose official holiday notice
    /// is due to be imported (see `app::calendar::notice_due`).
    pub notice_due: Option<i32>,
    /// For the pages' menu: the account registers projects at land
    /// transfer (一口登记; the planning department's approvers).
    pub registers_projects: bool,
    /// The request's refusal slot (`refusals`): the access checks that
    /// hide a record say so through it.
    pub mark: crate::refusals::Mark,
    /// The path asked for (the pages mark it in their menu).
    pub path: String,
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

fn client_ip(parts: &Parts, trust_forwarded: bool) -> String {
    client_address(
        parts
            .headers
            .get("x-forwarded-for")
            .filter(|_| trust_forwarded),
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
    )
}

/// The client's address: with `forwarded` (an `X-Forwarded-For` the server
/// was told to trust, `security.trust_forwarded_for`), its **last** entry —
/// the address the one trusted proxy in front of the server saw; the entries
/// before it are whatever the client chose to send. Otherwise the peer.
pub fn client_address(
    forwarded: Option<&axum::http::HeaderValue>,
    peer: Option<std::net::IpAddr>,
) -> String {
    if let Some(ip) = forwarded
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .and_then(|v| v.parse::<std::net::IpAddr>().ok())
    {
        return ip.to_string();
    }
    peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
}

/// Builds the subject of a stored account.
pub fn account_subject(a: &Account) -> AccountSubject {
    let mut grants: Vec<Grant> = a
        .grants
        .iter()
        .filter_map(|(r, s)| {
            Role::parse(r).map(|role| Grant {
                role,
                scope: s.clone(),
            })
        })
        .collect();
    grants.sort();
    AccountSubject {
        id: a.id.clone(),
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        grants,
        must_change_password: a.must_change_password,
    }
}

/// Is this stored session usable now?
pub fn session_live(s: &accounts::Session, a: &Account, now_ms: i64, state: &AppState) -> bool {
    let idle_ms = i64::from(state.config.security.idle_timeout_minutes) * 60_000;
    s.ended_at.is_none()
        && !a.disabled
        && now_ms < s.expires_at
        && now_ms - s.last_seen_at < idle_ms
}

impl Caller {
    async fn resolve(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
        let headers = &parts.headers;
        let now_ms = state.now_ms();
        let https = parts.uri.scheme_str() == Some("https")
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"));
        let mut caller = Caller {
            subject: Subject::Anonymous,
            session: None,
            problem: None,
            ip: client_ip(parts, state.config.security.trust_forwarded_for),
            request_id: headers
                .get(&crate::middleware::X_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect())
                .unwrap_or_default(),
            https,
            csrf_cookie: cookie(headers, CSRF_COOKIE).map(str::to_owned),
            unread: None,
            notice_due: None,
            registers_projects: false,
            mark: parts
                .extensions
                .get::<crate::refusals::Mark>()
                .cloned()
                .unwrap_or_default(),
            path: parts.uri.path().chars().take(200).collect(),
        };
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let key = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|k| k.starts_with(API_KEY_PREFIX) && k.len() <= 100);
            let Some(key) = key else {
                caller.problem = Some(CredentialProblem::MalformedAuthorization);
                return Ok(caller);
            };
            let hash = state.credentials.digest(key);
            let cached = match state.credentials.get(&hash, now_ms) {
                Some(c) => c,
                None => {
                    let h = hash.clone();
                    let found = state
                        .store
                        .read(move |c| accounts::api_key_by_hash(c, &h))
                        .await?;
                    let c = match found {
                        Some(k) if k.revoked_at.is_none() => Cached::Key(ApiKeySubject {
                            scopes: k
                                .scopes
                                .split(',')
                                .filter_map(|s| Scope::parse(s, &state.config).ok())
                                .collect(),
                            id: k.id,
                            name: k.name,
                        }),
                        _ => Cached::Rejected,
                    };
                    state.credentials.put(hash, now_ms, c.clone());
                    c
                }
            };
            match cached {
                Cached::Key(k) => {
                    state.touch_api_key(&k.id, now_ms);
                    caller.subject = Subject::ApiKey(k);
                }
                _ => caller.problem = Some(CredentialProblem::KeyRejected),
            }
            return Ok(caller);
        }
        if let Some(token) = cookie(headers, SESSION_COOKIE) {
            let hash = state.credentials.digest(token);
            let found = match state.credentials.get(&hash, now_ms) {
                Some(Cached::Session { session, account }) => Some((*session, *account)),
                Some(_) => None,
                None => {
                    let h = hash.clone();
                    let found = state
                        .store
                        .read(move |c| accounts::session_with_account(c, &h))
                        .await?;
                    let c = match &found {
                        Some((session, account)) => Cached::Session {
                            session: Box::new(session.clone()),
                            account: Box::new(account.clone()),
                        },
                        None => Cached::Rejected,
                    };
                    state.credentials.put(hash.clone(), now_ms, c);
                    found
                }
            };
            match found {
                Some((s, a)) if session_live(&s, &a, now_ms, state) => {
                    let every = touch_every_ms(state.config.security.idle_timeout_minutes);
                    if now_ms - s.last_seen_at >= every {
                        state.touch_session(hash.clone(), now_ms);
                        // The cached copy carries the new activity too.
                        let mut s = s.clone();
                        s.last_seen_at = now_ms;
                        state.credentials.put(
                            hash.clone(),
                            now_ms,
                            Cached::Session {
                                session: Box::new(s),
                                account: Box::new(a.clone()),
                            },
                        );
                    }
                    caller.session = Some(SessionInfo {
                        token_hash: hash,
                        csrf_token: s.csrf_token,
                    });
                    caller.subject = Subject::Account(account_subject(&a));
                    caller.registers_projects = caller.subject.may_register_projects(&state.config);
                    // The pages' message bell (the API has its own endpoint),
                    // and for administrators the holiday notice still to import.
                    if !parts.uri.path().starts_with("/api/") && !a.must_change_password {
                        if a.grants.iter().any(|(r, _)| r == "admin") {
                            caller.notice_due = crate::app::calendar::notice_due(
                                &state.clock.get(),
                                state.now().date(),
                            );
                        }
                        let id = a.id.clone();
                        caller.unread = Some(
                            state
                                .store
                                .read(move |c| onestop_store::notifications::unread_count(c, &id))
                                .await?,
                        );
                    }
                }
                _ => caller.problem = Some(CredentialProblem::SessionEnded),
            }
        }
        Ok(caller)
    }

    pub fn account(&self) -> Option<&AccountSubject> {
        self.subject.account()
    }

    /// The access check hides an existing record of `kind` from this
    /// caller (answered `404`, as for an unknown id): audited as a refusal.
    pub fn hidden(&self, kind: &'static str, id: &str) {
        self.mark.hidden(kind, id);
    }

    /// An audit record about this caller.
    pub fn audit(
        &self,
        at_ms: i64,
        action: &str,
        outcome: &str,
        target_kind: &str,
        target_id: &str,
        detail: serde_json::Value,
    ) -> NewAuditRecord {
        let (kind, id, name) = self.subject.audit_identity();
        NewAuditRecord {
            at_ms,
            actor_kind: kind.to_owned(),
            actor_id: id.to_owned(),
            actor_name: name.to_owned(),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            target_kind: target_kind.to_owned(),
            target_id: target_id.to_owned(),
            detail: detail.to_string(),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }

    /// The CSRF token forms must carry: the session's when signed in, else
    /// the anonymous cookie's (a new one when there is none yet, to be set
    /// with [`Caller::csrf_cookie_header`]).
    pub fn csrf_token(&self) -> String {
        match (&self.session, &self.csrf_cookie) {
            (Some(s), _) => s.csrf_token.clone(),
            (None, Some(c)) if c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                c.clone()
            }
            _ => random_hex(16),
        }
    }

    /// `Set-Cookie` for the anonymous CSRF cookie when `token` is new.
    pub fn csrf_cookie_header(&self, token: &str) -> Option<String> {
        if self.session.is_some() || self.csrf_cookie.as_deref() == Some(token) {
            return None;
        }
        Some(format!(
            "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
            if self.https { "; Secure" } else { "" }
        ))
    }

    /// Does a submitted form's token match?
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        let Some(submitted) = submitted.filter(|s| !s.is_empty()) else {
            return false;
        };
        match (&self.session, &self.csrf_cookie) {
            (Some(s), _) => ct_eq(&s.csrf_token, submitted),
            (None, Some(c)) => ct_eq(c, submitted),
            (None, None) => false,
        }
    }

    /// Same-origin check for state-changing requests: an `Origin` header, when
    /// sent, must name this host.
    pub fn origin_ok(parts_headers: &HeaderMap) -> bool {
        let Some(origin) = parts_headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        else {
            return true;
        };
        let host = parts_headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .split_once("://")
            .map_or("", |(_, rest)| rest.trim_end_matches('/'));
        !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        match Caller::resolve(parts, state).await {
            Ok(c) => {
                let problem = c.problem.map(|p| match p {
                    CredentialProblem::SessionEnded => "session_ended",
                    CredentialProblem::KeyRejected => "key_rejected",
                    CredentialProblem::MalformedAuthorization => "malformed_authorization",
                });
                c.mark
                    .caller(c.subject.audit_identity(), &c.ip, &c.request_id, problem);
                parts.extensions.insert(c.clone());
                Ok(c)
            }
            Err(e) if parts.uri.path().starts_with("/api/") => Err(e.into_response()),
            // Plain text: the rejections layer answers it as the Chinese page.
            Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        }
    }
}

/// An authenticated API caller: a valid API key, or a live session (whose
/// state-changing requests must carry the `X-CSRF-Token` header).
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

impl std::ops::Deref for ApiCaller {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

pub fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

pub fn forbidden() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", t::FORBIDDEN)
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let www = |e: ApiError| {
            let mut r = e.into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"onestop\""),
            );
            r
        };
        match caller.problem {
            Some(CredentialProblem::KeyRejected) => {
                return Err(www(unauthenticated(t::KEY_REJECTED)));
            }
            Some(CredentialProblem::MalformedAuthorization) => {
                return Err(www(unauthenticated(t::MALFORMED_AUTHORIZATION)));
            }
            Some(CredentialProblem::SessionEnded) => {
                return Err(www(unauthenticated(t::SESSION_ENDED)));
            }
            None => {}
        }
        match &caller.subject {
            Subject::Anonymous => Err(www(unauthenticated(t::ANONYMOUS))),
            Subject::Account(a) if a.must_change_password => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                t::PASSWORD_CHANGE_REQUIRED,
            )
            .into_response()),
            Subject::Account(_) => {
                let unsafe_method =
                    !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                let token = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if unsafe_method && !caller.csrf_ok(token) {
                    return Err(csrf_failed().into_response());
                }
                Ok(ApiCaller(caller))
            }
            Subject::ApiKey(_) | Subject::System(_) => Ok(ApiCaller(caller)),
        }
    }
}

pub fn csrf_failed() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", t::CSRF_FAILED)
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(
    token: &str,
    https: bool,
    secure: onestop_domain::config::CookieSecure,
    max_age_s: i64,
) -> String {
    use onestop_domain::config::CookieSecure;
    let secure = match secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => https,
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
