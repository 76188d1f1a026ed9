//! TLS over a TCP listener, for `axum::serve`: the test identity provider
//! and the HTTPS SMS gateway present their certificates through it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Serves `app` on `listener` until the task is aborted.
pub fn serve_in_background<L>(listener: L, app: axum::Router) -> JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}
use tokio_rustls::TlsAcceptor;

/// Accepts TCP connections and completes the TLS handshake on each. A
/// handshake that fails (or, with `patience`, takes longer than that) is
/// counted in `refused` and its connection dropped.
pub struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
    pub refused: Arc<Mutex<usize>>,
    pub patience: Option<Duration>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(tcp);
            let done = match self.patience {
                Some(limit) => tokio::time::timeout(limit, handshake).await.ok(),
                None => Some(handshake.await),
            };
            match done {
                Some(Ok(tls)) => return (tls, addr),
                _ => *self.refused.lock().unwrap() += 1,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
