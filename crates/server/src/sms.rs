//! SMS through a gateway: the [`SmsGateway`] trait is the plug; `http_json`
//! is the adapter this build has. It posts
//! `{"to": "13800000000", "text": "【联合报装】…", "id": "…"}` to the configured
//! endpoint with `Idempotency-Key: id` (the same for every attempt at one
//! message) and an optional bearer token from the environment. 2xx is sent;
//! 429, 5xx and broken connections are tried again; any other answer is a
//! refusal that no retry would change.

use crate::delivery::SendError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use onestop_domain::config::SmsConfig;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpStream;

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

/// The gateway `config` names, if this build has it.
pub fn gateway(config: &SmsConfig) -> Option<Box<dyn SmsGateway>> {
    match config.gateway.as_str() {
        "http_json" => HttpJson::new(config).map(|g| Box::new(g) as Box<dyn SmsGateway>),
        _ => None,
    }
}

/// POSTs JSON to an HTTP endpoint.
pub struct HttpJson {
    host: String,
    port: u16,
    path: String,
    token: Option<String>,
    limit: Duration,
}

impl HttpJson {
    pub fn new(config: &SmsConfig) -> Option<Self> {
        let rest = config.endpoint.strip_prefix("http://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, 80),
        };
        Some(HttpJson {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            token: config
                .token_env
                .as_deref()
                .and_then(|v| std::env::var(v).ok()),
            limit: Duration::from_secs(u64::from(config.timeout_seconds.max(1))),
        })
    }

    async fn post(&self, sms: &Sms<'_>) -> Result<(), SendError> {
        let body = serde_json::json!({"to": sms.to, "text": sms.text, "id": sms.id}).to_string();
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SendError::Transient(format!("无法连接短信网关：{e}")))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| SendError::Transient(format!("短信网关握手失败：{e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::post(self.path.as_str())
            .header("host", format!("{}:{}", self.host, self.port))
            .header("content-type", "application/json; charset=utf-8")
            .header("idempotency-key", sms.id);
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SendError::Permanent(format!("短信请求无法构造：{e}")))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| SendError::Transient(format!("短信网关连接中断：{e}")))?;
        let status = res.status();
        let text = res
            .into_body()
            .collect()
            .await
            .map(|b| {
                String::from_utf8_lossy(&b.to_bytes())
                    .chars()
                    .take(200)
                    .collect::<String>()
            })
            .unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Transient(format!(
                "短信网关暂不可用：{status} {text}"
            )))
        } else {
            Err(SendError::Permanent(format!(
                "短信网关拒绝：{status} {text}"
            )))
        }
    }
}

impl SmsGateway for HttpJson {
    fn send<'a>(&'a self, sms: &'a Sms<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            tokio::time::timeout(self.limit, self.post(sms))
                .await
                .map_err(|_| SendError::Transient("短信网关超时".into()))?
        })
    }
}
