//! SMS through a gateway: the [`SmsGateway`] trait is the plug; `http_json`
//! is the adapter this build has. It posts
//! `{"to": "13800000000", "text": "【联合报装】…", "id": "…"}` to the configured
//! endpoint over HTTPS (`reqwest` with rustls; one client per server, its
//! connections reused) with `Idempotency-Key: id` (the same for every attempt
//! at one message) and an optional bearer token from the environment. 2xx is
//! sent; 429, 5xx, time-outs, broken connections and failed TLS handshakes are
//! tried again; any other answer is a refusal that no retry would change.

use crate::notify::mail::{certificate_problem, chain};
use crate::notify::{SendError, load_ca_file, scrub};
use crate::texts::{self, sms as t};
use onestop_domain::config::SmsConfig;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One text message to send.
#[derive(Debug, Clone)]
pub struct Sms<'a> {
    pub to: &'a str,
    pub text: &'a str,
    /// The same for every attempt at the same message.
    pub id: &'a str,
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// An SMS gateway adapter.
pub trait SmsGateway: Send + Sync {
    fn send<'a>(&'a self, sms: &'a Sms<'a>) -> SendFuture<'a>;
}

/// The gateway `config` names. `secret` looks up environment variables (the
/// token named by `token_env`). Every problem is named.
pub fn gateway(
    config: &SmsConfig,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn SmsGateway>, Vec<String>> {
    match config.gateway.as_str() {
        "http_json" => HttpJson::new(config, secret).map(|g| Box::new(g) as Box<dyn SmsGateway>),
        other => Err(vec![format!("notify.sms.gateway {other:?} is unknown")]),
    }
}

/// POSTs JSON to an HTTPS endpoint.
pub struct HttpJson {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    token: Option<String>,
}

impl HttpJson {
    pub fn new(
        config: &SmsConfig,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let endpoint = reqwest::Url::parse(&config.endpoint)
            .map_err(|e| problems.push(format!("notify.sms.endpoint: {e}")))
            .ok();
        let token = match &config.token_env {
            Some(var) => match secret(var).filter(|t| !t.is_empty()) {
                Some(t) => Some(t),
                None => {
                    problems.push(format!(
                        "notify.sms.token_env: the environment variable {var} holding the gateway's token is not set"
                    ));
                    None
                }
            },
            None => None,
        };
        let limit = Duration::from_secs(u64::from(config.timeout_seconds.max(1)));
        // Plain http:// only where the configuration check allowed it (a
        // loopback address, explicitly); never a redirect elsewhere.
        let plain_ok =
            config.allow_plain_http && endpoint.as_ref().is_some_and(|u| u.scheme() == "http");
        let mut builder = reqwest::Client::builder()
            .https_only(!plain_ok)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limit)
            .timeout(limit)
            .pool_idle_timeout(Duration::from_secs(60));
        if let Some(path) = &config.ca_file {
            match load_ca_file(path) {
                Ok(certs) => {
                    for der in certs {
                        match reqwest::Certificate::from_der(&der) {
                            Ok(c) => builder = builder.add_root_certificate(c),
                            Err(e) => problems.push(format!(
                                "notify.sms.ca_file {path}: a certificate cannot be used: {e}"
                            )),
                        }
                    }
                }
                Err(e) => problems.push(format!("notify.sms.ca_file: {e}")),
            }
        }
        let client = builder
            .build()
            .map_err(|e| {
                problems.push(format!(
                    "notify.sms: the HTTPS client cannot be set up: {e}"
                ))
            })
            .ok();
        match (problems.is_empty(), client, endpoint) {
            (true, Some(client), Some(endpoint)) => Ok(HttpJson {
                client,
                endpoint,
                token,
            }),
            _ => Err(problems),
        }
    }

    async fn post(&self, sms: &Sms<'_>) -> Result<(), SendError> {
        let mut req = self
            .client
            .post(self.endpoint.clone())
            .header("idempotency-key", sms.id)
            .json(&serde_json::json!({"to": sms.to, "text": sms.text, "id": sms.id}));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.map_err(|e| classify(&e, sms.to))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let text: String = res
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let text = scrub(&text, sms.to);
        let answer = |says: &str| texts::fill(says, &[("status", &status), ("text", &text)]);
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Transient(answer(t::UNAVAILABLE)))
        } else {
            Err(SendError::Permanent(answer(t::REFUSED)))
        }
    }
}

/// A request that got no answer: always worth another attempt.
fn classify(e: &reqwest::Error, to: &str) -> SendError {
    if e.is_timeout() {
        return SendError::Transient(t::TIMEOUT.into());
    }
    if let Some(reason) = certificate_problem(e) {
        return SendError::Transient(texts::fill(t::UNTRUSTED, &[("reason", &reason)]));
    }
    // The causes only: the top error repeats the endpoint's address.
    let detail = match std::error::Error::source(e) {
        Some(cause) => chain(cause),
        None => e.to_string(),
    };
    let detail = scrub(&detail, to);
    let text = if e.is_connect() {
        t::UNREACHABLE
    } else {
        t::INTERRUPTED
    };
    SendError::Transient(texts::fill(text, &[("detail", &detail)]))
}

impl SmsGateway for HttpJson {
    fn send<'a>(&'a self, sms: &'a Sms<'a>) -> SendFuture<'a> {
        Box::pin(self.post(sms))
    }
}
