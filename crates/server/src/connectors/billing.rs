//! Utilities' billing systems (缴费系统): the [`BillingSystem`] trait is the
//! plug, one per utility unit; `http_json` is the adapter this build has. It
//! speaks the contract in `docs/billing-connector.md`:
//!
//! - `GET {base}/accounts?number=…` or `?uscc=…` → `{"accounts": [...]}`
//! - `GET {base}/accounts/{account_no}/bills?status=open` → `{"bills": [...]}`
//! - `POST {base}/payments` with `Idempotency-Key: <reference>` → the receipt
//! - `GET {base}/payments/{payment_id}` → the receipt
//! - `GET {base}/reconciliation?date=YYYY-MM-DD[&page=n]` → a day's payments
//!
//! over HTTPS (`reqwest` with rustls, one client per utility, connections
//! reused, no redirects; `http://` only on a loopback address when the
//! configuration allows it), with `Authorization: Bearer <token>` from the
//! environment variable the configuration names. Every request has a time
//! limit (`timeout_seconds`, connecting included); every answer is read up
//! to [`MAX_RESPONSE_BYTES`] and checked before use (amounts integer fen
//! within bounds, ids of the allowed shape, lists cut to their limits, texts
//! cut and stripped of control characters).
//!
//! Errors say what happened without any secret: the token is never logged
//! nor shown (`Debug` redacts it), nor are request URLs (they hold account
//! numbers).

use crate::notify::load_ca_file;
use crate::notify::mail::{certificate_problem, chain};
use crate::texts::{self, billing as t};
use onestop_domain::billing::{
    BillingConfig, Lookup, MAX_ACCOUNTS_PER_LOOKUP, MAX_OPEN_BILLS, MAX_RECONCILIATION_ITEMS,
    MAX_RESPONSE_BYTES, MAX_TEXT_CHARS, bill_id_ok, clean_account_no,
};
use onestop_domain::config::CityConfig;
use onestop_domain::money::MAX_FEN;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// A customer's account at a utility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_no: String,
    pub name: String,
    pub uscc: Option<String>,
    pub address: String,
    /// `active`, `suspended`, `closed` (as the utility says).
    pub status: String,
}

/// One bill of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub bill_id: String,
    pub period: String,
    pub description: String,
    pub amount_fen: i64,
    pub due_date: Option<time::Date>,
    /// `open` or `paid`.
    pub status: String,
}

/// What the platform asks a utility to record.
#[derive(Debug, Clone)]
pub struct PayRequest<'a> {
    /// The platform's payment id: the idempotency key.
    pub reference: &'a str,
    pub account_no: &'a str,
    pub bill_ids: &'a [String],
    pub amount_fen: i64,
    pub hall: &'a str,
    pub method: &'a str,
    pub taken_at: OffsetDateTime,
}

/// A utility's receipt of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub payment_id: String,
    pub receipt_no: String,
    /// The idempotency key it was recorded under (the platform's payment id).
    pub reference: String,
    pub account_no: String,
    pub bill_ids: Vec<String>,
    pub amount_fen: i64,
    pub paid_at: OffsetDateTime,
}

/// Why a call did not give an answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingError {
    /// Nothing definite: no connection, an untrusted certificate, a
    /// time-out, 401/403/408/429/5xx, an answer that is unreadable or too
    /// large. A payment is tried again (its idempotency key makes that safe).
    Unavailable(String),
    /// The account or payment asked for does not exist (404).
    NotFound,
    /// The utility refused for good (a 4xx with its code and message):
    /// the bill is not open, the amount does not match, …
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

impl std::fmt::Display for BillingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BillingError::Unavailable(e) => write!(f, "unavailable: {e}"),
            BillingError::NotFound => f.write_str("not found"),
            BillingError::Refused {
                status,
                code,
                message,
            } => write!(f, "refused {status} {code}: {message}"),
        }
    }
}

pub type BillingFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BillingError>> + Send + 'a>>;

/// A utility's billing system.
pub trait BillingSystem: Send + Sync {
    /// Accounts by number or by the enterprise's USCC (at most
    /// [`MAX_ACCOUNTS_PER_LOOKUP`]; none found is an empty list).
    fn find_accounts<'a>(&'a self, by: &'a Lookup) -> BillingFuture<'a, Vec<Account>>;
    /// An account's open bills (at most [`MAX_OPEN_BILLS`]); `NotFound` for
    /// an unknown account.
    fn open_bills<'a>(&'a self, account_no: &'a str) -> BillingFuture<'a, Vec<Bill>>;
    /// Records a payment once per `reference`: the same request again
    /// answers the first receipt.
    fn pay<'a>(&'a self, req: &'a PayRequest<'a>) -> BillingFuture<'a, Receipt>;
    /// One payment by the utility's id.
    fn payment<'a>(&'a self, payment_id: &'a str) -> BillingFuture<'a, Receipt>;
    /// Every payment the utility recorded from the platform on `day`
    /// (at most [`MAX_RECONCILIATION_ITEMS`]; more is an error).
    fn reconciliation<'a>(&'a self, day: time::Date) -> BillingFuture<'a, Vec<Receipt>>;
}

/// The billing systems of this server, by utility unit, and the bell that
/// wakes the payment worker when a payment is taken.
#[derive(Clone, Default)]
pub struct Billing {
    systems: BTreeMap<String, Arc<dyn BillingSystem>>,
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("units", &self.systems.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The billing systems could not be set up: every reason (a token missing
/// from the environment, an unreadable `ca_file`, a malformed URL).
#[derive(Debug, thiserror::Error)]
#[error("billing systems:\n  - {}", .0.join("\n  - "))]
pub struct BillingSetupError(pub Vec<String>);

impl Billing {
    /// No billing system (window payments off).
    pub fn none() -> Self {
        Billing::default()
    }

    /// The systems `config` describes, with tokens from the process
    /// environment.
    pub fn new(config: &CityConfig) -> Result<Self, BillingSetupError> {
        Self::with_secrets(config, &|var| std::env::var(var).ok())
    }

    /// As [`Billing::new`], with tokens (`token_env`) looked up by `secret`.
    pub fn with_secrets(
        config: &CityConfig,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, BillingSetupError> {
        let mut problems = Vec::new();
        let mut systems: BTreeMap<String, Arc<dyn BillingSystem>> = BTreeMap::new();
        for b in &config.billing {
            match b.adapter.as_str() {
                "http_json" => match HttpJson::new(b, secret) {
                    Ok(s) => {
                        systems.insert(b.unit.clone(), Arc::new(s));
                    }
                    Err(p) => problems.extend(p),
                },
                other => problems.push(format!(
                    "billing ({}): adapter {other:?} is unknown",
                    b.unit
                )),
            }
        }
        if !problems.is_empty() {
            return Err(BillingSetupError(problems));
        }
        Ok(Billing {
            systems,
            wake: Arc::default(),
        })
    }

    /// Puts `system` in place for `unit` (tests, other adapters).
    pub fn with_system(mut self, unit: &str, system: Arc<dyn BillingSystem>) -> Self {
        self.systems.insert(unit.to_owned(), system);
        self
    }

    /// The system of a utility unit.
    pub fn system(&self, unit: &str) -> Option<Arc<dyn BillingSystem>> {
        self.systems.get(unit).cloned()
    }

    /// The units that have a billing system, in code order.
    pub fn units(&self) -> impl Iterator<Item = &str> {
        self.systems.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }

    /// Wakes the payment worker (a payment was just taken).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Billing::wake`] is called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// The bearer token: never printed.
#[derive(Clone)]
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The `http_json` adapter of one utility.
pub struct HttpJson {
    unit: String,
    client: reqwest::Client,
    base: reqwest::Url,
    token: Option<Token>,
}

impl std::fmt::Debug for HttpJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpJson")
            .field("unit", &self.unit)
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .finish()
    }
}

impl HttpJson {
    pub fn new(
        config: &BillingConfig,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<String>> {
        let p = format!("billing ({})", config.unit);
        let mut problems = Vec::new();
        let base = reqwest::Url::parse(config.base())
            .map_err(|e| problems.push(format!("{p}: base_url: {e}")))
            .ok()
            .filter(|u| {
                let ok = !u.cannot_be_a_base();
                if !ok {
                    problems.push(format!("{p}: base_url cannot have paths below it"));
                }
                ok
            });
        let token = match &config.token_env {
            Some(var) => match secret(var).filter(|t| !t.trim().is_empty()) {
                Some(t) => Some(Token(t.trim().to_owned())),
                None => {
                    problems.push(format!(
                        "{p}: token_env: the environment variable {var} holding the billing system's token is not set"
                    ));
                    None
                }
            },
            None => None,
        };
        let limit = Duration::from_secs(u64::from(config.timeout_seconds.max(1)));
        let plain_ok =
            config.allow_plain_http && base.as_ref().is_some_and(|u| u.scheme() == "http");
        let mut builder = reqwest::Client::builder()
            .https_only(!plain_ok)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limit.min(Duration::from_secs(5)))
            .timeout(limit)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent("onestop-billing/1");
        if let Some(path) = &config.ca_file {
            match load_ca_file(path) {
                Ok(certs) => {
                    for der in certs {
                        match reqwest::Certificate::from_der(&der) {
                            Ok(c) => builder = builder.add_root_certificate(c),
                            Err(e) => problems.push(format!(
                                "{p}: ca_file {path}: a certificate cannot be used: {e}"
                            )),
                        }
                    }
                }
                Err(e) => problems.push(format!("{p}: ca_file: {e}")),
            }
        }
        let client = builder
            .build()
            .map_err(|e| problems.push(format!("{p}: the HTTPS client cannot be set up: {e}")))
            .ok();
        match (problems.is_empty(), client, base) {
            (true, Some(client), Some(base)) => Ok(HttpJson {
                unit: config.unit.clone(),
                client,
                base,
                token,
            }),
            _ => Err(problems),
        }
    }

    /// `{base}/{segments…}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn request(&self, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
        let mut req = self
            .client
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(Token(t)) = &self.token {
            req = req.bearer_auth(t);
        }
        req
    }

    /// Sends, reads the answer (bounded) and sorts out its status: the
    /// body of a 2xx, or the error.
    async fn exchange(
        &self,
        req: reqwest::RequestBuilder,
        definitive: &[u16],
    ) -> Result<Vec<u8>, BillingError> {
        let mut res = req.send().await.map_err(|e| classify(&e))?;
        let status = res.status();
        let mut body = Vec::new();
        let read = loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        break Err(BillingError::Unavailable(texts::fill(
                            t::TOO_LARGE,
                            &[("kib", &(MAX_RESPONSE_BYTES / 1024))],
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(classify(&e)),
            }
        };
        if status.is_success() {
            read?;
            return Ok(body);
        }
        let (code, message) = error_of(&body);
        if status.as_u16() == 404 && !definitive.contains(&404) {
            return Err(BillingError::NotFound);
        }
        if definitive.contains(&status.as_u16()) {
            return Err(BillingError::Refused {
                status: status.as_u16(),
                code,
                message,
            });
        }
        Err(BillingError::Unavailable(texts::fill(
            t::ANSWERED,
            &[("status", &status.as_u16()), ("code", &code)],
        )))
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: reqwest::Url,
    ) -> Result<T, BillingError> {
        let body = self
            .exchange(self.request(reqwest::Method::GET, url), &[400, 422])
            .await?;
        parse(&body)
    }

    async fn find(&self, by: &Lookup) -> Result<Vec<Account>, BillingError> {
        let mut url = self.url(&["accounts"]);
        match by {
            Lookup::Number(n) => url.query_pairs_mut().append_pair("number", n),
            Lookup::Uscc(u) => url.query_pairs_mut().append_pair("uscc", u),
        };
        let answer: AccountsAnswer = self.get_json(url).await?;
        let mut out = Vec::new();
        for a in answer.accounts.into_iter().take(MAX_ACCOUNTS_PER_LOOKUP) {
            out.push(account_of(a)?);
        }
        Ok(out)
    }

    async fn bills(&self, account_no: &str) -> Result<Vec<Bill>, BillingError> {
        let mut url = self.url(&["accounts", account_no, "bills"]);
        url.query_pairs_mut().append_pair("status", "open");
        let answer: BillsAnswer = self.get_json(url).await?;
        let mut out = Vec::new();
        for b in answer.bills.into_iter().take(MAX_OPEN_BILLS) {
            let bill = bill_of(b)?;
            if bill.status == "open" {
                out.push(bill);
            }
        }
        Ok(out)
    }

    async fn post_payment(&self, p: &PayRequest<'_>) -> Result<Receipt, BillingError> {
        let body = serde_json::json!({
            "account_no": p.account_no,
            "bill_ids": p.bill_ids,
            "amount_fen": p.amount_fen,
            "channel": "onestop",
            "hall": p.hall,
            "method": p.method,
            "taken_at": onestop_domain::timefmt::format(p.taken_at),
        });
        let req = self
            .request(reqwest::Method::POST, self.url(&["payments"]))
            .header("idempotency-key", p.reference)
            .json(&body);
        // A refusal about the payment itself is final; anything else (a
        // token the utility does not take, a 5xx, a time-out) may pass.
        let answer = self.exchange(req, &[400, 404, 409, 410, 422]).await?;
        let r = receipt_of(parse(&answer)?)?;
        if r.reference != p.reference || r.amount_fen != p.amount_fen {
            tracing::warn!(
                unit = %self.unit,
                reference = %p.reference,
                receipt_reference = %r.reference,
                asked_fen = p.amount_fen,
                receipt_fen = r.amount_fen,
                "billing receipt differs from the payment sent"
            );
        }
        Ok(r)
    }

    async fn get_payment(&self, payment_id: &str) -> Result<Receipt, BillingError> {
        receipt_of(self.get_json(self.url(&["payments", payment_id])).await?)
    }

    async fn day(&self, day: time::Date) -> Result<Vec<Receipt>, BillingError> {
        let mut out = Vec::new();
        let mut page: u32 = 1;
        loop {
            let mut url = self.url(&["reconciliation"]);
            url.query_pairs_mut()
                .append_pair("date", &day.to_string())
                .append_pair("page", &page.to_string());
            let answer: DayAnswer = self.get_json(url).await?;
            for r in answer.payments {
                if out.len() >= MAX_RECONCILIATION_ITEMS {
                    return Err(BillingError::Unavailable(texts::fill(
                        t::TOO_MANY,
                        &[("n", &MAX_RECONCILIATION_ITEMS)],
                    )));
                }
                out.push(receipt_of(r)?);
            }
            match answer.next_page {
                Some(n) if n > page && n <= 10_000 => page = n,
                _ => return Ok(out),
            }
        }
    }
}

impl BillingSystem for HttpJson {
    fn find_accounts<'a>(&'a self, by: &'a Lookup) -> BillingFuture<'a, Vec<Account>> {
        Box::pin(self.find(by))
    }
    fn open_bills<'a>(&'a self, account_no: &'a str) -> BillingFuture<'a, Vec<Bill>> {
        Box::pin(self.bills(account_no))
    }
    fn pay<'a>(&'a self, req: &'a PayRequest<'a>) -> BillingFuture<'a, Receipt> {
        Box::pin(self.post_payment(req))
    }
    fn payment<'a>(&'a self, payment_id: &'a str) -> BillingFuture<'a, Receipt> {
        Box::pin(self.get_payment(payment_id))
    }
    fn reconciliation<'a>(&'a self, day: time::Date) -> BillingFuture<'a, Vec<Receipt>> {
        Box::pin(self.day(day))
    }
}

/// A request that got no (whole) answer: always worth another attempt.
fn classify(e: &reqwest::Error) -> BillingError {
    if e.is_timeout() {
        return BillingError::Unavailable(t::TIMEOUT.into());
    }
    if let Some(reason) = certificate_problem(e) {
        return BillingError::Unavailable(texts::fill(t::UNTRUSTED, &[("reason", &reason)]));
    }
    // The causes only: the top error repeats the URL (which holds account numbers).
    let detail = match std::error::Error::source(e) {
        Some(cause) => chain(cause),
        None => e.to_string(),
    };
    let text = if e.is_connect() {
        t::UNREACHABLE
    } else {
        t::INTERRUPTED
    };
    BillingError::Unavailable(texts::fill(text, &[("detail", &detail)]))
}

/// A text from a utility, fit to keep and show: control and invisible
/// characters dropped, blanks trimmed, cut to [`MAX_TEXT_CHARS`].
fn tidy(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_control()
                && !onestop_domain::text::is_invisible(*c)
                && !onestop_domain::text::is_forbidden(*c)
        })
        .take(MAX_TEXT_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The utility's error code and message from an error body, if it has one.
fn error_of(body: &[u8]) -> (String, String) {
    #[derive(Deserialize)]
    struct Body {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => (
            b.error
                .code
                .map(|c| tidy(&c).chars().take(64).collect())
                .unwrap_or_default(),
            b.error.message.map(|m| tidy(&m)).unwrap_or_default(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, BillingError> {
    serde_json::from_slice(body).map_err(|e| {
        BillingError::Unavailable(texts::fill(
            t::UNREADABLE,
            &[("detail", &tidy(&e.to_string()))],
        ))
    })
}

fn unreadable(what: &str) -> BillingError {
    BillingError::Unavailable(texts::fill(t::UNREADABLE, &[("detail", &what)]))
}

#[derive(Deserialize)]
struct AccountsAnswer {
    accounts: Vec<AccountWire>,
}

#[derive(Deserialize)]
struct AccountWire {
    account_no: String,
    name: String,
    #[serde(default)]
    uscc: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

fn account_of(a: AccountWire) -> Result<Account, BillingError> {
    let account_no = clean_account_no(&a.account_no)
        .filter(|n| *n == a.account_no)
        .ok_or_else(|| unreadable("account_no"))?;
    Ok(Account {
        account_no,
        name: tidy(&a.name),
        uscc: a
            .uscc
            .map(|u| tidy(&u).to_uppercase())
            .filter(|u| onestop_domain::form::uscc_is_valid(u)),
        address: a.address.map(|s| tidy(&s)).unwrap_or_default(),
        status: a
            .status
            .map(|s| tidy(&s).chars().take(16).collect())
            .unwrap_or_else(|| "active".into()),
    })
}

#[derive(Deserialize)]
struct BillsAnswer {
    bills: Vec<BillWire>,
}

#[derive(Deserialize)]
struct BillWire {
    bill_id: String,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    description: Option<String>,
    amount_fen: i64,
    #[serde(default)]
    due_date: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

fn fen_ok(fen: i64) -> bool {
    (0..=MAX_FEN).contains(&fen)
}

fn bill_of(b: BillWire) -> Result<Bill, BillingError> {
    if !bill_id_ok(&b.bill_id) {
        return Err(unreadable("bill_id"));
    }
    if !fen_ok(b.amount_fen) {
        return Err(unreadable("amount_fen"));
    }
    Ok(Bill {
        bill_id: b.bill_id,
        period: b
            .period
            .map(|p| tidy(&p).chars().take(32).collect())
            .unwrap_or_default(),
        description: b.description.map(|d| tidy(&d)).unwrap_or_default(),
        amount_fen: b.amount_fen,
        due_date: b
            .due_date
            .as_deref()
            .and_then(onestop_domain::timefmt::parse_date),
        status: b.status.unwrap_or_else(|| "open".into()),
    })
}

#[derive(Deserialize)]
struct ReceiptWire {
    payment_id: String,
    receipt_no: String,
    reference: String,
    account_no: String,
    #[serde(default)]
    bill_ids: Vec<String>,
    amount_fen: i64,
    paid_at: String,
}

fn receipt_of(r: ReceiptWire) -> Result<Receipt, BillingError> {
    let id_ok = |s: &str| bill_id_ok(s);
    if !id_ok(&r.payment_id) || !id_ok(&r.receipt_no) || r.reference.len() > 200 {
        return Err(unreadable("payment_id, receipt_no, reference"));
    }
    if !fen_ok(r.amount_fen) {
        return Err(unreadable("amount_fen"));
    }
    let paid_at =
        onestop_domain::timefmt::parse(&r.paid_at).ok_or_else(|| unreadable("paid_at"))?;
    Ok(Receipt {
        payment_id: r.payment_id,
        receipt_no: r.receipt_no,
        reference: tidy(&r.reference),
        account_no: tidy(&r.account_no).chars().take(64).collect(),
        bill_ids: r
            .bill_ids
            .into_iter()
            .filter(|b| bill_id_ok(b))
            .take(onestop_domain::billing::MAX_BILLS_PER_PAYMENT)
            .collect(),
        amount_fen: r.amount_fen,
        paid_at,
    })
}

#[derive(Deserialize)]
struct DayAnswer {
    payments: Vec<ReceiptWire>,
    #[serde(default)]
    next_page: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(token_env: Option<&str>) -> BillingConfig {
        BillingConfig {
            unit: "sz-water".into(),
            adapter: "http_json".into(),
            base_url: "https://billing.example.cn/onestop/v1/".into(),
            allow_plain_http: false,
            ca_file: None,
            token_env: token_env.map(Into::into),
            timeout_seconds: 10,
            retry_base_seconds: 5,
            retry_max_seconds: 300,
            sandbox: false,
        }
    }

    #[test]
    fn the_token_never_shows() {
        let c = config(Some("T"));
        let s = HttpJson::new(&c, &|_| Some("s3cret-token".into())).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("[redacted]"));
        let missing = HttpJson::new(&c, &|_| None).unwrap_err().join("\n");
        assert!(missing.contains("environment variable T"), "{missing}");
    }

    #[test]
    fn paths_are_built_below_the_base_and_encoded() {
        let s = HttpJson::new(&config(None), &|_| None).unwrap();
        assert_eq!(
            s.url(&["accounts", "1000 0001/x", "bills"]).as_str(),
            "https://billing.example.cn/onestop/v1/accounts/1000%200001%2Fx/bills"
        );
    }

    #[test]
    fn answers_are_checked() {
        let bad_amount = ReceiptWire {
            payment_id: "P1".into(),
            receipt_no: "R1".into(),
            reference: "x".into(),
            account_no: "1".into(),
            bill_ids: vec![],
            amount_fen: -1,
            paid_at: "2026-11-02T10:00:00+08:00".into(),
        };
        assert!(matches!(
            receipt_of(bad_amount),
            Err(BillingError::Unavailable(_))
        ));
        assert_eq!(tidy("  张\u{202e}三\u{0007}  "), "张三");
        let (code, message) =
            error_of(r#"{"error":{"code":"bill_not_open","message":"\u0000已缴清"}}"#.as_bytes());
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("bill_not_open", "已缴清")
        );
    }
}
