//! The sweeper: moves work orders to early warning and overdue when their
//! instant passes, with the history event (see `onestop_store::levels`).
//! Runs every second in the server; any number of servers may share one
//! PostgreSQL — each change happens once.

use crate::AppState;
use crate::error::ApiError;
use onestop_store::levels::{self, Moved};
use std::time::Duration;

/// How often the server sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Most orders moved in one transaction.
pub const SWEEP_BATCH: u32 = 10_000;

/// Moves everything due now; returns what moved.
pub async fn sweep_once(state: &AppState) -> Result<Vec<Moved>, ApiError> {
    let mut all = Vec::new();
    loop {
        let now_ms = state.now_ms();
        let moved = state
            .store
            .write(move |c| levels::sweep(c, now_ms, SWEEP_BATCH))
            .await?;
        let more = moved.len() as u32 >= SWEEP_BATCH;
        all.extend(moved);
        if !more {
            return Ok(all);
        }
    }
}

/// Gives orders from before levels existed their warning instant and level.
pub async fn backfill(state: &AppState) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let (clock, share, now_ms) = (
            state.clock.clone(),
            state.config.limits.warning_share,
            state.now_ms(),
        );
        let n = state
            .store
            .write(move |c| levels::backfill(c, &clock, share, now_ms, 1_000))
            .await?;
        total += n;
        if n < 1_000 {
            return Ok(total);
        }
    }
}

/// Sweeps every [`SWEEP_EVERY`] until the runtime stops.
pub fn start(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match backfill(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "levels given to earlier open orders"),
            Err(e) => tracing::warn!(error = %e.message, "levels not given to earlier orders"),
        }
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep_once(&state).await {
                Ok(moved) if !moved.is_empty() => {
                    tracing::info!(orders = moved.len(), "levels moved");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.message, "sweep failed"),
            }
        }
    })
}
