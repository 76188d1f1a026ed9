//! Connections to systems outside the platform that are not messages:
//! external identity providers and utilities' billing systems.
//!
//! - [`oidc`]: the provincial portal's legal-person login (法人登录) over
//!   OpenID Connect, which verifies an account's claim to an enterprise.
//! - [`billing`]: each utility's billing system (accounts, bills, payments
//!   with an idempotency key, receipts, the daily reconciliation list).

pub mod billing;
pub mod oidc;
