//! A local HTTP receiver standing in for an SMS gateway: records every
//! request and answers with the statuses it is told to, then 200.

#![allow(dead_code)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request the gateway received.
#[derive(Debug, Clone)]
pub struct Texted {
    pub to: String,
    pub text: String,
    pub id: String,
    pub idempotency_key: String,
    pub authorization: String,
}

#[derive(Clone, Default)]
struct Inner {
    got: Arc<Mutex<Vec<Texted>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

pub struct Gateway {
    pub addr: SocketAddr,
    inner: Inner,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Listens on a free port, inside the current Tokio runtime.
    pub async fn start() -> Gateway {
        let inner = Inner::default();
        let app = Router::new()
            .route("/sms", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Gateway { addr, inner, task }
    }

    /// The endpoint for `[notify.sms]`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/sms", self.addr)
    }

    /// The next requests are answered with these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.inner
            .answers
            .lock()
            .unwrap()
            .extend(statuses.iter().copied());
    }

    /// Every request so far, including refused ones.
    pub fn received(&self) -> Vec<Texted> {
        self.inner.got.lock().unwrap().clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(inner): State<Inner>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    inner.got.lock().unwrap().push(Texted {
        to: v["to"].as_str().unwrap_or_default().to_owned(),
        text: v["text"].as_str().unwrap_or_default().to_owned(),
        id: v["id"].as_str().unwrap_or_default().to_owned(),
        idempotency_key: h("idempotency-key"),
        authorization: h("authorization"),
    });
    let status = inner.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
