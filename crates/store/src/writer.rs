//! Group commit: write jobs queue up while the previous commit is being made
//! durable, then run together in ONE transaction with one fsync.
//!
//! A batch first runs every job straight through. If one fails (a constraint,
//! a conflict, even a panic), the transaction is rolled back and the batch is
//! run again with each job in its own savepoint, so the failing job is rolled
//! back alone and the others still commit. Jobs are therefore `Fn`: they may
//! run twice, and only the run that commits counts.
//! A job's caller is answered only after the commit returned: a success means
//! the rows are on disk. SQLite gets one writer thread (it has one writer
//! anyway); PostgreSQL gets several, each batching on its own connection.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, DbTarget, Role};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Most jobs in one transaction.
const MAX_BATCH: usize = 512;

trait Job: Send {
    /// Runs inside the batch transaction, within the job's savepoint.
    fn run(&mut self, conn: &mut dyn Conn) -> Result<(), StoreError>;
    /// Called once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

struct FnJob<T, F> {
    work: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for FnJob<T, F>
where
    T: Send + 'static,
    F: Fn(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
{
    fn run(&mut self, conn: &mut dyn Conn) -> Result<(), StoreError> {
        let work = &self.work;
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("write job panicked".into())));
        let failed = outcome.is_err();
        let err = outcome.as_ref().err().cloned();
        self.result = Some(outcome);
        match (failed, err) {
            (true, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let answer = match committed {
            Ok(()) => self
                .result
                .unwrap_or_else(|| Err(StoreError::Internal("job did not run".into()))),
            Err(e) => Err(e),
        };
        // The caller may have gone away (client disconnected): the data is
        // committed all the same.
        let _ = self.reply.send(answer);
    }
}

pub struct Writer {
    tx: Option<flume::Sender<Box<dyn Job>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Writer {
    /// Starts `threads` writer threads, each with its own connection.
    pub fn start(target: &DbTarget, threads: usize) -> Result<Writer, StoreError> {
        let (tx, rx) = flume::unbounded::<Box<dyn Job>>();
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let conn = target.connect(Role::Writer)?;
            let rx = rx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("onestop-writer-{i}"))
                .spawn(move || writer_loop(conn, rx))
                .map_err(|e| StoreError::Internal(format!("cannot start writer: {e}")))?;
            handles.push(handle);
        }
        Ok(Writer {
            tx: Some(tx),
            threads: handles,
        })
    }

    /// Runs `work` in the next batch; resolves after the commit. `work` may
    /// be run more than once (see the module documentation).
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(FnJob {
            work,
            result: None,
            reply,
        });
        self.tx
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(job)
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops accepting jobs, lets the threads finish every queued job, and waits.
    pub fn close(&mut self) {
        self.tx.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(mut conn: Box<dyn Conn>, rx: flume::Receiver<Box<dyn Job>>) {
    let begin = conn.dialect().begin_write();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = run_batch(conn.as_mut(), begin, &mut batch);
        if committed.is_err() {
            tracing::error!(error = ?committed, jobs = batch.len(), "write batch failed");
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}

fn run_batch(
    conn: &mut dyn Conn,
    begin: &str,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StoreError> {
    // Fast path: every job straight through, one commit.
    conn.batch(begin)?;
    let mut failed = false;
    for job in batch.iter_mut() {
        if job.run(conn).is_err() {
            failed = true;
            break;
        }
    }
    if !failed {
        return commit(conn);
    }
    conn.batch("ROLLBACK")?;
    if batch.len() == 1 {
        // Its own error is its answer; nothing was written.
        return Ok(());
    }
    // Slow path: each job in a savepoint of its own.
    conn.batch(begin)?;
    for job in batch.iter_mut() {
        let step = (|| {
            conn.batch("SAVEPOINT job")?;
            match job.run(conn) {
                Ok(()) => conn.batch("RELEASE SAVEPOINT job"),
                Err(_) => conn.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job"),
            }
        })();
        if let Err(e) = step {
            let _ = conn.batch("ROLLBACK");
            return Err(e);
        }
    }
    commit(conn)
}

fn commit(conn: &mut dyn Conn) -> Result<(), StoreError> {
    if let Err(e) = conn.batch("COMMIT") {
        let _ = conn.batch("ROLLBACK");
        return Err(e);
    }
    Ok(())
}
