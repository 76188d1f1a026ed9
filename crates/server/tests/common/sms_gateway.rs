//! A local receiver standing in for an SMS gateway, over HTTPS (rustls, with
//! a test certificate) or plain HTTP: records every request and answers with
//! the statuses it is told to, then 200.

#![allow(dead_code)]

use super::listener::{TlsListener, serve_in_background};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// One request the gateway received.
#[derive(Debug, Clone)]
pub struct Texted {
    pub to: String,
    pub text: String,
    pub id: String,
    pub idempotency_key: String,
    pub authorization: String,
    pub content_type: String,
}

#[derive(Clone, Default)]
struct Inner {
    got: Arc<Mutex<Vec<Texted>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    refused_handshakes: Arc<Mutex<usize>>,
}

fn app(inner: &Inner) -> Router {
    Router::new()
        .route("/sms", post(receive))
        .with_state(inner.clone())
}

pub struct Gateway {
    pub addr: SocketAddr,
    https: bool,
    inner: Inner,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Plain HTTP on a free port, inside the current Tokio runtime.
    pub async fn start() -> Gateway {
        let inner = Inner::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Gateway::serve(listener, addr, false, inner)
    }

    /// HTTPS on a free port, presenting `cert_pem` (with `key_pem`).
    pub async fn start_https(cert_pem: &str, key_pem: &str) -> Gateway {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let inner = Inner::default();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            refused: inner.refused_handshakes.clone(),
            patience: None,
        };
        Gateway::serve(listener, addr, true, inner)
    }

    /// Serves the gateway's routes on `listener` (at `addr`).
    fn serve<L>(listener: L, addr: SocketAddr, https: bool, inner: Inner) -> Gateway
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let task = serve_in_background(listener, app(&inner));
        Gateway {
            addr,
            https,
            inner,
            task,
        }
    }

    /// The endpoint for `[notify.sms]`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/sms", self.addr)
    }

    /// TLS handshakes that failed (e.g. a client that does not trust the
    /// certificate).
    pub fn refused_handshakes(&self) -> usize {
        *self.inner.refused_handshakes.lock().unwrap()
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
        content_type: h("content-type"),
    });
    let status = inner.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
