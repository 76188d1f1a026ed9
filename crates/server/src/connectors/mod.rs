//! Connections to systems outside the platform that are not messages:
//! external identity providers.
//!
//! - [`oidc`]: the provincial portal's legal-person login (法人登录) over
//!   OpenID Connect, which verifies an account's claim to an enterprise.

pub mod oidc;
