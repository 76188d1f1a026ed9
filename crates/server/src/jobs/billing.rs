//! The payment worker: takes due payments from their durable jobs
//! ([`onestop_store::payments`]) and sends each to its utility
//! (`app::billing::send_payment`), each attempt on its own task within the
//! utility's time limit, so that a slow or dead billing system delays
//! payments and never a clerk's page. A failed attempt waits with doubling
//! backoff (`retry_base_seconds` … `retry_max_seconds`) and is tried again
//! until the utility answers for good: a payment is never given up, since
//! the customer has paid at the window.
//!
//! Exactly once at the utility: a job is claimed under a lease longer than
//! an attempt can take, and the payment's id goes with every attempt as its
//! idempotency key. A server killed before, during or after an attempt
//! leaves the job to be claimed again when the lease ends; the utility
//! answers the repeat with the first receipt.
//!
//! The same task also makes the daily reconciliation: once per utility and
//! day, after [`DAILY_AFTER_MINUTES`] of the next day (city time), the day
//! before is reconciled (the runs are shared by every server: one of them
//! records it).

use crate::AppState;
use crate::app::billing::{self, Attempt};
use crate::app::error::Error;
use onestop_store::payments;
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for due payments without being woken.
pub const SEND_EVERY: Duration = Duration::from_secs(1);
/// Payments claimed at once (sent concurrently).
const BATCH: u32 = 16;
/// The daily reconciliation of yesterday runs from this minute of the day on.
pub const DAILY_AFTER_MINUTES: i64 = 60;
/// How often the daily reconciliation is looked at.
const DAILY_EVERY: Duration = Duration::from_secs(300);

/// What one round of sending did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub paid: usize,
    pub failed: usize,
    pub retrying: usize,
}

/// The worker's identity (one per server process).
#[derive(Clone)]
pub struct PaymentWorker {
    id: Arc<str>,
}

impl Default for PaymentWorker {
    fn default() -> Self {
        PaymentWorker {
            id: format!("billing-{}", uuid::Uuid::new_v4().simple()).into(),
        }
    }
}

impl PaymentWorker {
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The lease of a claimed job: the longest attempt of any configured
/// utility, and a margin.
fn lease_ms(state: &AppState) -> i64 {
    state
        .config
        .billing
        .iter()
        .map(|b| b.lease_ms())
        .max()
        .unwrap_or(15_000)
}

/// Sends every payment due now (in rounds of [`BATCH`]).
pub async fn send_once(state: &AppState, w: &PaymentWorker) -> Result<Report, Error> {
    let mut report = Report::default();
    loop {
        let (worker, now_ms, lease) = (w.id.clone(), state.now_ms(), lease_ms(state));
        let claimed = state
            .store
            .write(move |c| payments::claim(c, &worker, now_ms, lease, BATCH))
            .await?;
        let n = claimed.len();
        let mut tasks = tokio::task::JoinSet::new();
        for job in claimed {
            let (state, worker) = (state.clone(), w.id.clone());
            tasks.spawn(async move { billing::send_payment(&state, &worker, &job).await });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(Attempt::Paid)) => report.paid += 1,
                Ok(Ok(Attempt::Failed)) => report.failed += 1,
                Ok(Ok(Attempt::Retrying)) => report.retrying += 1,
                Ok(Ok(Attempt::NotMine)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "payment outcome not recorded"),
                Err(e) => tracing::warn!(error = %e, "payment task failed"),
            }
        }
        if n < BATCH as usize {
            return Ok(report);
        }
    }
}

/// Makes yesterday's daily reconciliation of every utility that has none
/// yet, once the day is [`DAILY_AFTER_MINUTES`] old. Returns how many runs
/// it recorded.
pub async fn daily_once(state: &AppState) -> Result<usize, Error> {
    let now = state.now();
    if i64::from(now.hour()) * 60 + i64::from(now.minute()) < DAILY_AFTER_MINUTES {
        return Ok(0);
    }
    let Some(day) = now.date().previous_day() else {
        return Ok(0);
    };
    let system = crate::app::accounts::system_caller("billing");
    let mut made = 0;
    for unit in billing::billing_units(state) {
        let (u, d) = (unit.code.clone(), day.to_string());
        if state
            .store
            .read(move |c| payments::daily_run_exists(c, &u, &d))
            .await?
        {
            continue;
        }
        match billing::reconcile(state, &system, &unit.code, day, true).await {
            Ok(Some(run)) => {
                made += 1;
                if run.difference_count > 0 {
                    tracing::warn!(unit = %unit.code, %day, differences = run.difference_count, "daily reconciliation found differences");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(unit = %unit.code, %day, error = %e, "daily reconciliation failed")
            }
        }
    }
    Ok(made)
}

/// Sends payments when woken by a new one, and every [`SEND_EVERY`], and
/// makes the daily reconciliations, until the runtime stops. Nothing runs
/// when no billing system is configured.
pub fn start(state: AppState, w: PaymentWorker) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if state.billing.is_empty() {
            return;
        }
        let mut last_daily = tokio::time::Instant::now() - DAILY_EVERY;
        loop {
            match send_once(&state, &w).await {
                Ok(r) if r != Report::default() => tracing::info!(
                    paid = r.paid,
                    failed = r.failed,
                    retrying = r.retrying,
                    "window payments"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "payment round failed"),
            }
            if last_daily.elapsed() >= DAILY_EVERY {
                last_daily = tokio::time::Instant::now();
                if let Err(e) = daily_once(&state).await {
                    tracing::warn!(error = %e, "daily reconciliation round failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(SEND_EVERY) => {}
                _ = state.billing.woken() => {}
            }
        }
    })
}
