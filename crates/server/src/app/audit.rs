//! The audit sink: records of reads are handed to a background task that
//! appends them to the hash-chained log in batches (one transaction per
//! batch). Records of state changes (logins, role changes, keys) are instead
//! appended inside the same transaction as the change, with
//! `onestop_store::audit::append`.

use crate::app::error::Error;
use onestop_store::Store;
use onestop_store::audit::{self, AuditKey, NewAuditRecord};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Largest batch written in one transaction.
const MAX_BATCH: usize = 2_000;
/// How long the first record of a batch waits for company. A crash can lose
/// the read records of at most this long (never a state change's record,
/// which commits with the change).
pub const LINGER: Duration = Duration::from_millis(5);

enum Msg {
    Record(Box<NewAuditRecord>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
}

impl AuditSink {
    /// Starts the writer task on the current Tokio runtime; records are
    /// chained with `key`.
    pub fn start(store: Store, key: AuditKey) -> AuditSink {
        let (tx, rx) = mpsc::channel(65_536);
        tokio::spawn(run(store, key, rx));
        AuditSink { tx }
    }

    /// Queues a record. Waits only when the queue is full; fails when the
    /// sink has stopped (then the caller must not hand out the data).
    pub async fn record(&self, r: NewAuditRecord) -> Result<(), Error> {
        self.tx.send(Msg::Record(Box::new(r))).await.map_err(|_| {
            tracing::error!("audit sink stopped; refusing the read");
            Error::Internal("the audit writer stopped")
        })
    }

    /// Resolves once every record queued before it is committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(store: Store, key: AuditKey, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::new();
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        // Gather for up to LINGER after the first record (or until a batch
        // is full, or someone asks for a flush): one commit then carries
        // hundreds of records, so audited reads cost the writer little.
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Msg::Record(r)) => batch.push(*r),
                Some(Msg::Flush(w)) => {
                    waiters.push(w);
                    break;
                }
                None => {}
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => next = Some(m),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let records = Arc::new(std::mem::take(&mut batch));
            let mut delay = Duration::from_millis(50);
            for attempt in 1.. {
                let (r, key) = (records.clone(), key.clone());
                match store.write(move |c| audit::append(c, &key, &r)).await {
                    Ok(_) => break,
                    Err(onestop_store::StoreError::Closed) => {
                        tracing::error!(
                            lost = records.len(),
                            "audit records not written: store closed"
                        );
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, attempt, "audit append failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}
