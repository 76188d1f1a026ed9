//! Background work in the serving process: the deadline sweeper and the
//! outbox delivery.

pub mod delivery;
pub mod sweeper;
