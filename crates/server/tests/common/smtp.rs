//! A real SMTP server for tests: Debian's `python3-aiosmtpd`, started on a
//! free port with the Maildir handler, and the messages it received, read
//! back from the Maildir. Stopped when dropped.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    child: Option<Child>,
    pub addr: SocketAddr,
    dir: PathBuf,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpServer {
    /// Starts a server on a free port.
    pub fn start() -> SmtpServer {
        Self::start_on(free_port(), None)
    }

    /// Starts a server on `port`, keeping its mail in `dir` (a new temporary
    /// folder when `None`; pass the same folder to keep earlier mail).
    pub fn start_on(port: u16, dir: Option<PathBuf>) -> SmtpServer {
        let dir = dir.unwrap_or_else(|| {
            let d = std::env::temp_dir().join(format!(
                "onestop-smtp-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&d).expect("maildir");
            d
        });
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "python3-aiosmtpd is needed for the mail tests (apt-get install python3-aiosmtpd)",
            );
        let server = SmtpServer {
            child: Some(child),
            addr,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The Maildir folder (to restart a server on the same mail).
    pub fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    /// Stops the server now.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message received so far, in no set order.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join("mail").join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                if let Ok(raw) = std::fs::read_to_string(e.path()) {
                    out.push(parse(&raw));
                }
            }
        }
        out
    }

    /// Waits until at least `n` messages arrived (or `secs` passed).
    pub fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn parse(raw: &str) -> Received {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    // Unfold continuation lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let subject = header("Subject")
        .split_whitespace()
        .map(|w| {
            w.strip_prefix("=?utf-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .map_or_else(
                    || w.to_owned(),
                    |b| String::from_utf8(decode64(b)).unwrap_or_default(),
                )
        })
        .collect::<String>();
    let text = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("base64") {
        String::from_utf8(decode64(&body.replace('\n', ""))).unwrap_or_default()
    } else {
        body.to_owned()
    };
    Received {
        to: header("To")
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
        subject,
        message_id: header("Message-ID"),
        text,
    }
}

fn decode64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
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
