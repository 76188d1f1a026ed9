//! onestop's domain: pure Rust, no I/O.
//!
//! - [`access`]: roles, API-key scopes and every access decision.
//! - [`config`]: the city's configuration (districts, units, services, limits, working time).
//! - [`calendar`]: the official working-day calendar and the working-time clock.
//! - [`clock`]: a stage's clock: its budget, suspensions, deadline and warning.
//! - [`form`]: the joint application form (附表2), its normalisation and validation.
//! - [`approval`]: parallel approval (附表4) and the commitment fast path (附表3).
//! - [`workflow`]: the connection process as data, and every transition.
//! - [`plausible`]: what is recorded fits the time (surveys, connections, appointments).
//! - [`application`]: fan-out of a valid form into work orders, ids and numbers.
//! - [`text`]: the one text-cleaning rule and the table of text lengths.
//! - [`hall`]: shared service halls: the registry's rules, opening hours, the 15-minute circle.
//! - [`lockout`]: login throttling per account and client address.
//! - [`identity`]: enterprise claims (企业认证) and who decides them.
//! - [`counter`]: the one window: consultations, queue tickets, ratings (好差评).
//! - [`billing`]: window payments of utilities' bills and their reconciliation.
//! - [`money`]: amounts as integer fen, parsed from and written for people.
//! - [`fees`]: a work order's itemised costs and the zero-investment rule (红线外用户零投资).
//!
//! The `openapi` feature derives the OpenAPI schemas (utoipa) of the types the
//! API answers with; without it the domain depends on no API library.
#![forbid(unsafe_code)]

pub mod access;
pub mod application;
pub mod approval;
pub mod billing;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod contact;
pub mod counter;
pub mod documents;
pub mod fees;
pub mod form;
pub mod hall;
pub mod identity;
pub mod lockout;
pub mod materials;
pub mod money;
pub mod plausible;
pub mod pre_registration;
pub mod text;
pub mod timefmt;
pub mod workflow;
