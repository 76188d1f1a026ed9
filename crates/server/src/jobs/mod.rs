//! Background work in the serving process: the deadline sweeper, the
//! outbox delivery and the board's count of open orders.

pub mod billing;
pub mod delivery;
pub mod open_counts;
pub mod sweeper;
