//! Use cases: what a caller may do and what it changes, called by the JSON
//! API, the pages, the jobs and the command line alike.

pub mod accounts;
pub mod actors;
pub mod applications;
pub mod approvals;
pub mod audit;
pub mod audit_chain;
pub mod board;
pub mod calendar;
pub mod deadlines;
pub mod error;
pub mod identity;
pub mod messages;
pub mod notifications;
pub mod reminders;
pub mod settings;
pub mod workorders;
