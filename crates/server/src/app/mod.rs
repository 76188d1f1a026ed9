//! Use cases: what a caller may do and what it changes, called by the JSON
//! API, the pages, the jobs and the command line alike.

pub mod accounts;
pub mod actors;
pub mod announce;
pub mod applications;
pub mod appointment;
pub mod approvals;
pub mod audit;
pub mod audit_chain;
pub mod billing;
pub mod board;
pub mod calendar;
pub mod corrections;
pub mod counter;
pub mod deadlines;
pub mod documents;
pub mod drafts;
pub mod error;
pub mod facts;
pub mod fees;
pub mod follow_ups;
pub mod halls;
pub mod identity;
pub mod materials;
pub mod messages;
pub mod notifications;
pub mod pre_registrations;
pub mod ratings;
pub mod reminders;
pub mod settings;
pub mod workorders;
