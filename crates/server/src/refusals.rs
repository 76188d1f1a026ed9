//! Every refusal audited (等保2.0: denied attempts are recorded): a request
//! answered 401, 403, 429, a 404 for a record that exists but is hidden
//! from the caller, a failed CSRF check, a rate-limit hit, or a protected
//! page's redirect to the login page leaves an `access_refused` record with
//! the caller, the route, the reason and the address.
//!
//! One mechanism, at the access-check layer: [`track`] (a middleware around
//! every route) puts a [`Mark`] in the request; resolving the [`Caller`]
//! (auth.rs) writes who is calling into it; the access checks that hide a
//! row mark it ([`Mark::hidden`]); after the answer, [`classify`] decides
//! whether it was a refusal and why.
//!
//! A flood cannot drown the log or the writer: refusals are aggregated in
//! memory per (caller, address, method, route, reason) and minute of the
//! clock. The first of each key in a minute is recorded at once (so a crash
//! cannot lose the fact of a refusal), the rest of that minute as one
//! record with their count when the minute is over (or the server stops).
//! At most [`MAX_KEYS`] keys are held per minute; beyond that refusals are
//! counted per (method, route, reason) only and recorded at the minute's
//! end. So a minute costs the writer at most about 2 × [`MAX_KEYS`] + a few
//! records, however many requests are refused.
//!
//! [`Caller`]: crate::auth::Caller

use crate::AppState;
use crate::app::audit::AuditSink;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use onestop_store::audit::NewAuditRecord;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The audit action of a refusal.
pub const ACTION: &str = "access_refused";
/// Refusals are aggregated per minute of the clock.
pub const WINDOW_MS: i64 = 60_000;
/// Callers × routes × reasons held one by one per minute.
pub const MAX_KEYS: usize = 10_000;
/// (method, route, reason) counted beyond [`MAX_KEYS`]; past this, per
/// reason only.
const MAX_OVERFLOW_KEYS: usize = 1_000;
/// Distinct hidden records named in one summary.
const MAX_TARGETS: usize = 10;

/// Why a request was refused: stable English codes (the audit page shows
/// them in Chinese).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No (valid) credentials: `401`, or a protected page's redirect to
    /// the login page.
    Unauthenticated,
    /// A signed-in caller without the right: `403`.
    Forbidden,
    /// An API key without the scope: `403`.
    Scope,
    /// A record that exists but is not the caller's to see: `404`.
    Hidden,
    /// A state-changing request without a valid CSRF token or origin.
    Csrf,
    /// Too many attempts: `429`.
    RateLimited,
    /// An account that must change its password first (API `403`).
    PasswordChangeRequired,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::Unauthenticated,
        Reason::Forbidden,
        Reason::Scope,
        Reason::Hidden,
        Reason::Csrf,
        Reason::RateLimited,
        Reason::PasswordChangeRequired,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::Unauthenticated => "unauthenticated",
            Reason::Forbidden => "forbidden",
            Reason::Scope => "scope",
            Reason::Hidden => "hidden",
            Reason::Csrf => "csrf",
            Reason::RateLimited => "rate_limited",
            Reason::PasswordChangeRequired => "password_change_required",
        }
    }

    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

// ───────────────────────────── the mark ─────────────────────────────

/// What the request's handling learnt about a possible refusal.
#[derive(Default)]
struct Slot {
    actor_kind: &'static str,
    actor_id: String,
    actor_name: String,
    ip: Option<String>,
    request_id: String,
    /// Why presented credentials were not accepted (`session_ended`, …).
    problem: Option<&'static str>,
    /// A record the access check hid: (kind, id).
    hidden: Option<(&'static str, String)>,
    /// More facts for the record (e.g. the capability missing).
    detail: serde_json::Map<String, serde_json::Value>,
    /// The handler recorded this refusal itself (a failed login).
    audited: bool,
}

/// A handle on the request's refusal slot, carried by the `Caller`; cheap
/// to clone. Outside a request (the command line, background work) it is
/// empty and every call does nothing.
#[derive(Clone, Default)]
pub struct Mark(Option<Arc<Mutex<Slot>>>);

impl std::fmt::Debug for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mark")
    }
}

impl Mark {
    fn new() -> Mark {
        Mark(Some(Arc::new(Mutex::new(Slot::default()))))
    }

    fn with(&self, f: impl FnOnce(&mut Slot)) {
        if let Some(s) = &self.0 {
            f(&mut s.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// Who is calling (set once the caller is resolved).
    pub fn caller(
        &self,
        identity: (&'static str, &str, &str),
        ip: &str,
        request_id: &str,
        problem: Option<&'static str>,
    ) {
        self.with(|s| {
            s.actor_kind = identity.0;
            s.actor_id = identity.1.to_owned();
            s.actor_name = identity.2.to_owned();
            s.ip = Some(ip.to_owned());
            s.request_id = request_id.to_owned();
            s.problem = problem;
        });
    }

    /// The access check hid an existing record of `kind` from the caller
    /// (who is answered `404`, as for an unknown id).
    pub fn hidden(&self, kind: &'static str, id: &str) {
        self.with(|s| s.hidden = Some((kind, id.chars().take(64).collect())));
    }

    /// A fact to add to the refusal's record.
    pub fn detail(&self, key: &str, value: serde_json::Value) {
        self.with(|s| {
            s.detail.insert(key.to_owned(), value);
        });
    }

    /// This refusal was recorded by the handler (a failed login): no
    /// second record.
    pub fn audited(&self) {
        self.with(|s| s.audited = true);
    }
}

/// On a response: the refusal it is, when its status does not say.
#[derive(Debug, Clone, Copy)]
pub struct Refused(pub Reason);

/// On a response: recorded by the handler already; not a refusal record.
#[derive(Debug, Clone, Copy)]
pub struct Audited;

/// Marks a response as a refusal for `reason`.
pub fn refused(mut res: Response, reason: Reason) -> Response {
    res.extensions_mut().insert(Refused(reason));
    res
}

/// Marks a response as already audited by its handler.
pub fn audited(mut res: Response) -> Response {
    res.extensions_mut().insert(Audited);
    res
}

/// Whether an answer is a refusal, and why. `actor_kind` is the caller's
/// (an API key's `403` is a scope refusal).
pub fn classify(res: &Response, actor_kind: &str, hidden: bool) -> Option<Reason> {
    if res.extensions().get::<Audited>().is_some() {
        return None;
    }
    if let Some(Refused(r)) = res.extensions().get::<Refused>() {
        return Some(*r);
    }
    if let Some(code) = res.extensions().get::<crate::error::ErrorCode>() {
        match code.0 {
            "csrf_failed" => return Some(Reason::Csrf),
            "rate_limited" => return Some(Reason::RateLimited),
            "password_change_required" => return Some(Reason::PasswordChangeRequired),
            // Recorded as a failed login, with its reason.
            "login_failed" => return None,
            _ => {}
        }
    }
    if hidden {
        return Some(Reason::Hidden);
    }
    match res.status() {
        StatusCode::UNAUTHORIZED => Some(Reason::Unauthenticated),
        StatusCode::FORBIDDEN if actor_kind == "api_key" => Some(Reason::Scope),
        StatusCode::FORBIDDEN => Some(Reason::Forbidden),
        StatusCode::TOO_MANY_REQUESTS => Some(Reason::RateLimited),
        s if s.is_redirection()
            && res
                .headers()
                .get(header::LOCATION)
                .is_some_and(|l| l.as_bytes().starts_with(b"/login?next=")) =>
        {
            Some(Reason::Unauthenticated)
        }
        _ => None,
    }
}

// ───────────────────────────── the middleware ─────────────────────────────

/// Around every route: gives the request a [`Mark`] and, when the answer
/// is a refusal, hands it to the aggregator.
pub async fn track(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mark = Mark::new();
    req.extensions_mut().insert(mark.clone());
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = if state.config.security.trust_forwarded_for {
        req.headers().get("x-forwarded-for").cloned()
    } else {
        None
    };
    let request_id = req.headers().get(&crate::middleware::X_REQUEST_ID).cloned();
    let res = next.run(req).await;
    if res.status().is_success() && !has_hidden(&mark) {
        return res;
    }
    let Some(slot) = mark.0.as_ref() else {
        return res;
    };
    let refusal = {
        let s = slot.lock().unwrap_or_else(|e| e.into_inner());
        if s.audited {
            return res;
        }
        let actor_kind = if s.actor_kind.is_empty() {
            "anonymous"
        } else {
            s.actor_kind
        };
        let Some(reason) = classify(&res, actor_kind, s.hidden.is_some()) else {
            return res;
        };
        let mut detail = s.detail.clone();
        if let Some(p) = s.problem {
            detail.insert("credentials".into(), p.into());
        }
        Refusal {
            at_ms: state.now_ms(),
            reason,
            method: method.as_str().to_owned(),
            route: route
                .as_ref()
                .map_or_else(|| "(no route)".to_owned(), |r| r.as_str().to_owned()),
            status: res.status().as_u16(),
            actor_kind,
            actor_id: s.actor_id.clone(),
            actor_name: s.actor_name.clone(),
            ip: s
                .ip
                .clone()
                .unwrap_or_else(|| crate::auth::client_address(forwarded.as_ref(), peer)),
            request_id: if s.request_id.is_empty() {
                header_text(request_id.as_ref())
            } else {
                s.request_id.clone()
            },
            target: s.hidden.clone(),
            detail,
        }
    };
    let records = state.refusals.note(refusal);
    send(&state.audit, records).await;
    res
}

fn has_hidden(mark: &Mark) -> bool {
    mark.0
        .as_ref()
        .is_some_and(|s| s.lock().unwrap_or_else(|e| e.into_inner()).hidden.is_some())
}

fn header_text(v: Option<&HeaderValue>) -> String {
    v.and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(64).collect())
        .unwrap_or_default()
}

async fn send(sink: &AuditSink, records: Vec<NewAuditRecord>) {
    for r in records {
        if sink.record(r).await.is_err() {
            tracing::error!("audit sink stopped; a refusal record is lost");
            return;
        }
    }
}

// ───────────────────────────── the aggregator ─────────────────────────────

/// One refused request.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub at_ms: i64,
    pub reason: Reason,
    pub method: String,
    /// The matched route template (`/api/v1/work-orders/{id}`), never the
    /// path itself (it may hold personal data).
    pub route: String,
    pub status: u16,
    pub actor_kind: &'static str,
    pub actor_id: String,
    pub actor_name: String,
    pub ip: String,
    pub request_id: String,
    /// The hidden record, if that was the reason.
    pub target: Option<(&'static str, String)>,
    pub detail: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    actor_kind: &'static str,
    actor_id: String,
    ip: String,
    method: String,
    route: String,
    reason: Reason,
}

/// The later refusals of a key in the current minute.
struct Entry {
    first: Refusal,
    more: u64,
    more_first: i64,
    more_last: i64,
    targets: Vec<String>,
}

/// Refusals beyond [`MAX_KEYS`], per (method, route, reason).
struct Overflow {
    count: u64,
    first: i64,
    last: i64,
    status: u16,
}

#[derive(Default)]
struct Window {
    minute: i64,
    entries: HashMap<Key, Entry>,
    overflow: HashMap<(String, String, Reason), Overflow>,
}

impl Window {
    /// The summary records of everything held, emptying the window.
    fn drain(&mut self) -> Vec<NewAuditRecord> {
        let mut out = Vec::new();
        for (_, e) in self.entries.drain() {
            if e.more > 0 {
                let mut detail =
                    summary_detail(&e.first, e.more, e.more_first, e.more_last, "rest");
                if !e.targets.is_empty() {
                    detail.insert("targets".into(), json!(e.targets));
                }
                out.push(record(&e.first, e.more_last, detail));
            }
        }
        for ((method, route, reason), o) in self.overflow.drain() {
            let detail = json!({
                "reason": reason.code(),
                "method": method,
                "route": route,
                "status": o.status,
                "count": o.count,
                "first_at": o.first,
                "last_at": o.last,
                "part": "overflow",
                "callers_over": MAX_KEYS,
            });
            out.push(NewAuditRecord {
                at_ms: o.last,
                actor_kind: "many".into(),
                action: ACTION.into(),
                outcome: "denied".into(),
                detail: detail.to_string(),
                ..Default::default()
            });
        }
        // A stable order (by time, then route) for the chain and for tests.
        out.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.detail.cmp(&b.detail)));
        out
    }
}

fn summary_detail(
    r: &Refusal,
    count: u64,
    first: i64,
    last: i64,
    part: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let mut d = r.detail.clone();
    d.insert("reason".into(), r.reason.code().into());
    d.insert("method".into(), r.method.clone().into());
    d.insert("route".into(), r.route.clone().into());
    d.insert("status".into(), r.status.into());
    d.insert("count".into(), count.into());
    d.insert("first_at".into(), first.into());
    d.insert("last_at".into(), last.into());
    d.insert("part".into(), part.into());
    d
}

fn record(
    r: &Refusal,
    at_ms: i64,
    detail: serde_json::Map<String, serde_json::Value>,
) -> NewAuditRecord {
    let (target_kind, target_id) = r
        .target
        .as_ref()
        .map_or(("", ""), |(k, id)| (*k, id.as_str()));
    NewAuditRecord {
        at_ms,
        actor_kind: r.actor_kind.to_owned(),
        actor_id: r.actor_id.clone(),
        actor_name: r.actor_name.clone(),
        action: ACTION.into(),
        outcome: "denied".into(),
        target_kind: target_kind.to_owned(),
        target_id: target_id.to_owned(),
        detail: serde_json::Value::Object(detail).to_string(),
        ip: r.ip.clone(),
        request_id: r.request_id.clone(),
    }
}

/// Refusals of the current minute, in memory (see the module's comment).
pub struct Refusals {
    window: Mutex<Window>,
    capacity: AtomicUsize,
}

impl Default for Refusals {
    fn default() -> Self {
        Refusals {
            window: Mutex::new(Window::default()),
            capacity: AtomicUsize::new(MAX_KEYS),
        }
    }
}

impl Refusals {
    /// Changes how many keys a minute holds one by one (tests of the
    /// bound use a small one).
    pub fn set_capacity(&self, n: usize) {
        self.capacity.store(n, Ordering::Relaxed);
    }

    /// Counts one refusal; returns the records to write now: its own when
    /// it is the first of its key this minute, and the summaries of the
    /// minute before when this one starts a new minute.
    pub fn note(&self, r: Refusal) -> Vec<NewAuditRecord> {
        let minute = r.at_ms.div_euclid(WINDOW_MS);
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        if minute != w.minute {
            out = w.drain();
            w.minute = minute;
        }
        let key = Key {
            actor_kind: r.actor_kind,
            actor_id: r.actor_id.clone(),
            ip: r.ip.clone(),
            method: r.method.clone(),
            route: r.route.clone(),
            reason: r.reason,
        };
        if let Some(e) = w.entries.get_mut(&key) {
            if e.more == 0 {
                e.more_first = r.at_ms;
            }
            e.more += 1;
            e.more_last = r.at_ms;
            if let Some((_, id)) = &r.target
                && e.targets.len() < MAX_TARGETS
                && !e.targets.contains(id)
            {
                e.targets.push(id.clone());
            }
            return out;
        }
        if w.entries.len() < self.capacity.load(Ordering::Relaxed) {
            let detail = summary_detail(&r, 1, r.at_ms, r.at_ms, "first");
            out.push(record(&r, r.at_ms, detail));
            let targets = r.target.iter().map(|(_, id)| id.clone()).collect();
            w.entries.insert(
                key,
                Entry {
                    first: r,
                    more: 0,
                    more_first: 0,
                    more_last: 0,
                    targets,
                },
            );
            return out;
        }
        let mut okey = (r.method, r.route, r.reason);
        if !w.overflow.contains_key(&okey) && w.overflow.len() >= MAX_OVERFLOW_KEYS {
            okey = ("*".into(), "*".into(), r.reason);
        }
        let o = w.overflow.entry(okey).or_insert(Overflow {
            count: 0,
            first: r.at_ms,
            last: r.at_ms,
            status: r.status,
        });
        o.count += 1;
        o.last = r.at_ms;
        out
    }

    /// The summaries of a minute that has ended by `now_ms`.
    pub fn ended(&self, now_ms: i64) -> Vec<NewAuditRecord> {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if w.minute < now_ms.div_euclid(WINDOW_MS) {
            w.drain()
        } else {
            Vec::new()
        }
    }

    /// Every summary held, the current minute's too (shutdown).
    pub fn take_all(&self) -> Vec<NewAuditRecord> {
        self.window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
    }

    /// Queues every summary held to the audit sink (at shutdown, before
    /// the sink is flushed; tests).
    pub async fn flush(&self, sink: &AuditSink) {
        send(sink, self.take_all()).await;
    }

    /// Queues the summaries of a minute over by `now_ms`.
    pub async fn flush_ended(&self, sink: &AuditSink, now_ms: i64) {
        send(sink, self.ended(now_ms)).await;
    }
}

/// Writes the summaries of each minute once it is over, even when no
/// further refusal comes to start the next one.
pub fn start(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state
                .refusals
                .flush_ended(&state.audit, state.now_ms())
                .await;
        }
    })
}
