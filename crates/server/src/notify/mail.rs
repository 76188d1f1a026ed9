//! Email through the city's SMTP relay, with `lettre`: one transport per
//! server (its connections are pooled and reused), TLS as configured —
//! `STARTTLS` that the relay must offer (no fallback to plain text), TLS from
//! the first byte, or none for a relay on this machine only — and `AUTH`
//! over that TLS when an account is configured. The message is UTF-8 plain
//! text, base64-encoded, with the subject and sender name as RFC 2047 words,
//! and a `Message-ID` that stays the same for every attempt at one message.

use crate::notify::{SendError, load_ca_file, scrub};
use crate::texts::{self, certificates, mail as t};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MessageBuilder, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onestop_domain::config::{EmailConfig, SmtpTls};
use std::time::Duration;

/// One email to send.
#[derive(Debug, Clone)]
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// Stays the same for every attempt at the same message, so that a
    /// receiver can recognise a repeat (without the angle brackets).
    pub message_id: &'a str,
    pub date: time::OffsetDateTime,
}

/// The relay, as this server reaches it. Built once; cheap to share.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The sender's domain, for `Message-ID`s.
    domain: String,
    /// Longest an attempt may take, every step included.
    limit: Duration,
}

impl Mailer {
    /// The transport `cfg` describes. `secret` looks up environment
    /// variables (the password named by `password_env`). Every problem is
    /// named: a missing password, an unreadable `ca_file`.
    pub fn new(
        cfg: &EmailConfig,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Mailer, Vec<String>> {
        let mut problems = Vec::new();
        let from_addr: Option<Address> = cfg.from.parse().ok();
        if from_addr.is_none() {
            problems.push(format!(
                "notify.email.from {:?} is not an email address",
                cfg.from
            ));
        }
        let host = cfg.smtp_host.trim();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.port())
            .timeout(Some(Duration::from_secs(u64::from(
                cfg.timeout_seconds.max(1),
            ))))
            .hello_name(ClientId::Domain(cfg.helo.clone().unwrap_or_else(|| {
                cfg.from
                    .split_once('@')
                    .map_or("localhost", |(_, d)| d)
                    .to_owned()
            })))
            .pool_config(PoolConfig::new().max_size(8));
        if cfg.tls != SmtpTls::None {
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(path) = &cfg.ca_file {
                match load_ca_file(path) {
                    Ok(certs) => {
                        for der in certs {
                            match Certificate::from_der(der.to_vec()) {
                                Ok(c) => params = params.add_root_certificate(c),
                                Err(e) => problems.push(format!(
                                    "notify.email.ca_file {path}: a certificate cannot be used: {e}"
                                )),
                            }
                        }
                    }
                    Err(e) => problems.push(format!("notify.email.ca_file: {e}")),
                }
            }
            match params.build() {
                Ok(p) => {
                    builder = builder.tls(match cfg.tls {
                        SmtpTls::Implicit => Tls::Wrapper(p),
                        _ => Tls::Required(p),
                    });
                }
                Err(e) => problems.push(format!("notify.email: TLS cannot be set up: {e}")),
            }
        } else {
            builder = builder.tls(Tls::None);
        }
        if let (Some(user), Some(var)) = (&cfg.username, &cfg.password_env) {
            match secret(var).filter(|p| !p.is_empty()) {
                Some(password) => {
                    builder = builder.credentials(Credentials::new(user.clone(), password));
                }
                None => problems.push(format!(
                    "notify.email.password_env: the environment variable {var} holding the relay's password is not set"
                )),
            }
        }
        match (problems.is_empty(), from_addr) {
            (true, Some(addr)) => Ok(Mailer {
                transport: builder.build(),
                from: Mailbox::new(Some(cfg.from_name.clone()), addr),
                domain: cfg
                    .from
                    .split_once('@')
                    .map_or("localhost", |(_, d)| d)
                    .to_owned(),
                // Connection, TLS, AUTH and the five commands of one message.
                limit: Duration::from_secs(u64::from(cfg.timeout_seconds.max(1)) * 8),
            }),
            _ => Err(problems),
        }
    }

    /// The `Message-ID` (without brackets) for a message created at
    /// `created_at_ms` as delivery row `id`.
    pub fn message_id(&self, id: i64, created_at_ms: i64) -> String {
        format!("onestop-{id}-{created_at_ms}@{}", self.domain)
    }

    /// Sends `mail`. A permanent (5xx) refusal of the message is
    /// [`SendError::Permanent`]; everything else — 4xx, no connection, a
    /// failed or untrusted TLS handshake, a relay without `STARTTLS`, a
    /// refused login, a time-out — is [`SendError::Transient`]. The error
    /// text never holds the recipient's address nor the password.
    pub async fn send(&self, mail: &Mail<'_>) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match tokio::time::timeout(self.limit, self.transport.send(message)).await {
            Err(_) => Err(SendError::Transient(t::TIMEOUT.into())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e, mail.to)),
        }
    }

    fn message(&self, mail: &Mail<'_>) -> Result<Message, SendError> {
        let to: Address = mail
            .to
            .parse()
            .map_err(|_| SendError::Permanent(t::BAD_ADDRESS.into()))?;
        let text = mail.text.replace("\r\n", "\n").replace('\n', "\r\n");
        MessageBuilder::new()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(mail.subject)
            .date(std::time::SystemTime::from(mail.date))
            .message_id(Some(format!("<{}>", mail.message_id)))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::Base64)
                    .body(text),
            )
            .map_err(|e| {
                let detail = scrub(&e.to_string(), mail.to);
                SendError::Permanent(texts::fill(t::UNBUILDABLE, &[("detail", &detail)]))
            })
    }
}

/// SMTP reply codes that refuse the login rather than the message: the
/// relay's account needs fixing, and the message can go once it is.
const LOGIN_REFUSED: [u16; 4] = [530, 534, 535, 538];

/// What a failed attempt means, in words for the administrators' page.
fn classify(e: &smtp::Error, to: &str) -> SendError {
    let detail = scrub(&chain(e), to);
    let with_detail = |text: &str| texts::fill(text, &[("detail", &detail)]);
    if let Some(code) = e.status() {
        if LOGIN_REFUSED.contains(&u16::from(code)) {
            return SendError::Transient(with_detail(t::LOGIN_REFUSED));
        }
        if e.is_permanent() {
            return SendError::Permanent(with_detail(t::REFUSED));
        }
        return SendError::Transient(with_detail(t::REFUSED_FOR_NOW));
    }
    if let Some(reason) = certificate_problem(e) {
        return SendError::Transient(texts::fill(t::UNTRUSTED, &[("reason", &reason)]));
    }
    if detail.contains("STARTTLS") {
        return SendError::Transient(t::NO_STARTTLS.into());
    }
    if e.is_timeout() {
        return SendError::Transient(t::TIMEOUT.into());
    }
    if e.is_tls() || tls_problem(e) {
        return SendError::Transient(with_detail(t::TLS_FAILED));
    }
    SendError::Transient(with_detail(t::UNREACHABLE))
}

/// The error and its causes, in one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        source = s.source();
    }
    out
}

/// The rustls error somewhere in `e`'s causes (also inside I/O errors,
/// whose `source` skips what they wrap).
pub(crate) fn rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        && let Some(r) = rustls_error(inner)
    {
        return Some(r);
    }
    e.source().and_then(rustls_error)
}

/// Why the peer's certificate was refused, if it was.
pub(crate) fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use rustls::CertificateError as C;
    match rustls_error(e)? {
        rustls::Error::InvalidCertificate(c) => Some(match c {
            C::UnknownIssuer => certificates::UNKNOWN_ISSUER.into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                certificates::NOT_VALID_FOR_NAME.into()
            }
            C::Expired | C::ExpiredContext { .. } => certificates::EXPIRED.into(),
            C::NotValidYet | C::NotValidYetContext { .. } => certificates::NOT_VALID_YET.into(),
            C::Revoked => certificates::REVOKED.into(),
            C::BadSignature => certificates::BAD_SIGNATURE.into(),
            other => format!("{other:?}"),
        }),
        _ => None,
    }
}

fn tls_problem(e: &smtp::Error) -> bool {
    rustls_error(e).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onestop_domain::config::EmailConfig;

    fn decode64(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        };
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
        for c in s.bytes().filter_map(val) {
            acc = (acc << 6) | u32::from(c);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[tokio::test]
    async fn messages_are_utf8_base64_with_encoded_words_and_the_given_id() {
        let cfg = EmailConfig {
            smtp_host: "127.0.0.1".into(),
            smtp_port: Some(2525),
            tls: SmtpTls::None,
            username: None,
            password_env: None,
            ca_file: None,
            from: "noreply@onestop.example.gov.cn".into(),
            from_name: "水电气暖网联合报装".into(),
            helo: None,
            timeout_seconds: 5,
        };
        let mailer = Mailer::new(&cfg, &|_| None).unwrap();
        let id = mailer.message_id(42, 1_790_000_000_000);
        assert_eq!(id, "onestop-42-1790000000000@onestop.example.gov.cn");
        let subject = "工单预警：SZ-20261130-000001 供电，受理环节办理时限已用去大半";
        let text = "第一行\n第二行：https://onestop.example.gov.cn/work-orders/x\n";
        let date = time::macros::datetime!(2026-09-20 09:56:15 +08:00);
        let m = mailer
            .message(&Mail {
                to: "op@water.example.cn",
                subject,
                text,
                message_id: &id,
                date,
            })
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.is_ascii(), "{raw}");
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let head = head.replace("\r\n ", " ");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_else(|| panic!("{name} in {head}"))
                .to_owned()
        };
        assert_eq!(header("MIME-Version"), "1.0");
        assert_eq!(header("Content-Type"), "text/plain; charset=utf-8");
        assert_eq!(header("Content-Transfer-Encoding"), "base64");
        assert_eq!(
            header("Message-ID"),
            "<onestop-42-1790000000000@onestop.example.gov.cn>"
        );
        assert_eq!(header("Date"), "Sun, 20 Sep 2026 01:56:15 +0000");
        assert_eq!(header("To"), "op@water.example.cn");
        let words = |v: String| -> String {
            v.split_whitespace()
                .map(|w| {
                    let inner = w
                        .strip_prefix("=?utf-8?b?")
                        .and_then(|w| w.strip_suffix("?="))
                        .unwrap_or_else(|| panic!("an encoded word: {w}"));
                    String::from_utf8(decode64(inner)).unwrap()
                })
                .collect()
        };
        assert_eq!(words(header("Subject")), subject);
        let from = header("From");
        let (name, addr) = from.rsplit_once(' ').unwrap();
        assert_eq!(words(name.to_owned()), "水电气暖网联合报装");
        assert_eq!(addr, "<noreply@onestop.example.gov.cn>");
        assert!(body.lines().all(|l| l.len() <= 76), "{body}");
        let decoded = String::from_utf8(decode64(&body.replace("\r\n", ""))).unwrap();
        assert_eq!(decoded, text.replace('\n', "\r\n"));
    }
}
