//! The board's background count of open orders.

use crate::AppState;

/// How often the server counts every open order for the board.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Counts every open order every [`EVERY`] (the first time at start-up), so
/// that a board reads a hundred counted rows instead of counting a million
/// orders while someone waits. The count is a pass over the work orders
/// (about 1.4 s with a million open ones on SQLite, some 2 % of one core):
/// an index that made it cheaper would change with every action and cost
/// the write path a fifth of its throughput.
pub fn start(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::app::board::refresh_open_counts(&state).await {
                tracing::warn!(error = %e, "open orders not counted");
            }
        }
    })
}
