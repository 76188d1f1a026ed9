//! Outbound messages: mail over SMTP and SMS through the gateway.

pub mod mail;
pub mod sms;
