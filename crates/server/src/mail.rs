//! Email over SMTP (RFC 5321): one conversation per message with the city's
//! relay — `EHLO`, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT` — with a time limit
//! on every step. The message is UTF-8 plain text, base64-encoded, with the
//! subject and sender name encoded as RFC 2047 words, so no Chinese text and
//! no line of the body ever reaches the wire unencoded.

use crate::delivery::SendError;
use onestop_domain::config::EmailConfig;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One email to send.
#[derive(Debug, Clone)]
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// Stays the same for every attempt at the same message, so that a
    /// receiver can recognise a repeat.
    pub message_id: &'a str,
    pub date: time::OffsetDateTime,
}

/// Sends `mail` through the relay. A 4xx answer or a broken connection is
/// [`SendError::Transient`]; a 5xx answer is [`SendError::Permanent`].
pub async fn send(cfg: &EmailConfig, mail: &Mail<'_>) -> Result<(), SendError> {
    let limit = Duration::from_secs(u64::from(cfg.timeout_seconds));
    let stream = tokio::time::timeout(
        limit,
        TcpStream::connect((cfg.smtp_host.as_str(), cfg.smtp_port)),
    )
    .await
    .map_err(|_| SendError::Transient("邮件服务器连接超时".into()))?
    .map_err(|e| SendError::Transient(format!("无法连接邮件服务器：{e}")))?;
    let mut s = Session {
        io: BufReader::new(stream),
        limit,
    };
    s.expect("greeting", None, 220).await?;
    let helo = cfg.helo.clone().unwrap_or_else(|| {
        cfg.from
            .split_once('@')
            .map_or("localhost", |(_, d)| d)
            .to_owned()
    });
    s.expect("EHLO", Some(format!("EHLO {helo}")), 250).await?;
    s.expect("MAIL FROM", Some(format!("MAIL FROM:<{}>", cfg.from)), 250)
        .await?;
    s.expect("RCPT TO", Some(format!("RCPT TO:<{}>", mail.to)), 250)
        .await?;
    s.expect("DATA", Some("DATA".into()), 354).await?;
    let data = message(cfg, mail);
    s.expect("message", Some(data), 250).await?;
    // The message is accepted; a failed goodbye changes nothing.
    let _ = s.expect("QUIT", Some("QUIT".into()), 221).await;
    Ok(())
}

struct Session {
    io: BufReader<TcpStream>,
    limit: Duration,
}

impl Session {
    /// Sends `line` (if any, CRLF added) and reads the reply, which must
    /// have code `want` (251 passes for 250).
    async fn expect(
        &mut self,
        step: &str,
        line: Option<String>,
        want: u16,
    ) -> Result<(), SendError> {
        let limit = self.limit;
        let fut = async {
            if let Some(l) = line {
                self.io.get_mut().write_all(l.as_bytes()).await?;
                self.io.get_mut().write_all(b"\r\n").await?;
                self.io.get_mut().flush().await?;
            }
            read_reply(&mut self.io).await
        };
        let (code, text) = tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| SendError::Transient(format!("邮件服务器在 {step} 步骤超时")))?
            .map_err(|e| SendError::Transient(format!("邮件服务器连接中断（{step}）：{e}")))?;
        if code == want || (want == 250 && code == 251) {
            return Ok(());
        }
        let said = format!("邮件服务器拒绝 {step}：{code} {}", text.trim());
        if (400..500).contains(&code) {
            Err(SendError::Transient(said))
        } else {
            Err(SendError::Permanent(said))
        }
    }
}

/// Reads one (possibly multi-line) reply: its code and its last line's text.
async fn read_reply(io: &mut BufReader<TcpStream>) -> std::io::Result<(u16, String)> {
    let mut line = String::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let bytes = line.as_bytes();
        if bytes.len() < 4 || !bytes[..3].iter().all(u8::is_ascii_digit) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not an SMTP reply",
            ));
        }
        if bytes[3] != b'-' {
            let code = line[..3].parse().unwrap_or(0);
            return Ok((code, line[4..].to_owned()));
        }
    }
}

/// The message as sent after `DATA`, ending with the lone dot.
fn message(cfg: &EmailConfig, mail: &Mail<'_>) -> String {
    let date = mail
        .date
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut out = String::new();
    out.push_str(&format!(
        "From: {} <{}>\r\n",
        encoded_word(&cfg.from_name),
        cfg.from
    ));
    out.push_str(&format!("To: <{}>\r\n", mail.to));
    out.push_str(&format!("Subject: {}\r\n", encoded_word(mail.subject)));
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("Message-ID: <{}>\r\n", mail.message_id));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    let body = base64(
        mail.text
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    for chunk in body.as_bytes().chunks(76) {
        // Base64 never starts a line with '.', so no dot-stuffing is needed.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out.push('.');
    out
}

/// `=?utf-8?B?…?=` words for a header, split so that each stays short.
fn encoded_word(text: &str) -> String {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for ch in text.chars() {
        if chunk.len() + ch.len_utf8() > 45 {
            words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(ch);
    }
    if !chunk.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(TABLE[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn chinese_subjects_are_encoded_words_of_whole_characters() {
        let s = "工单预警：SZ-20261130-000001 供电，受理环节办理时限已用去大半";
        let e = encoded_word(s);
        assert!(e.starts_with("=?utf-8?B?"));
        assert!(e.lines().all(|l| l.len() <= 76), "{e}");
        assert_eq!(encoded_word("plain"), "plain");
    }
}
