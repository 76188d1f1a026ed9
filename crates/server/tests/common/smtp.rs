//! A real SMTP server for tests: Debian's `python3-aiosmtpd`, started on a
//! free port with a Maildir handler — plain, with required `STARTTLS`, or
//! with TLS from the first byte, and with `AUTH` required when given an
//! account — and the messages it received, read back from the Maildir, each
//! with the TLS version of its session and the account that logged in.
//! Stopped when dropped.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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
    /// The session's TLS version (`TLSv1.3`), or `none`.
    pub tls: String,
    /// The account that logged in (empty without `AUTH`).
    pub auth: String,
}

/// How the relay talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No TLS at all (and no `STARTTLS` offered).
    Plain,
    /// `STARTTLS` offered and required before `MAIL`.
    Starttls,
    /// TLS from the first byte.
    Implicit,
}

/// A relay to start.
#[derive(Debug, Clone)]
pub struct Relay {
    pub port: u16,
    /// Where its Maildir lives (a new temporary folder when `None`; the same
    /// folder keeps earlier mail).
    pub dir: Option<PathBuf>,
    pub mode: Mode,
    /// Certificate and key (PEM files) for the TLS modes.
    pub cert: Option<(PathBuf, PathBuf)>,
    /// The only account it accepts; `AUTH` is then required.
    pub login: Option<(String, String)>,
}

impl Relay {
    pub fn plain(port: u16) -> Relay {
        Relay {
            port,
            dir: None,
            mode: Mode::Plain,
            cert: None,
            login: None,
        }
    }

    pub fn tls(port: u16, mode: Mode, cert: &Path, key: &Path) -> Relay {
        Relay {
            port,
            dir: None,
            mode,
            cert: Some((cert.to_path_buf(), key.to_path_buf())),
            login: None,
        }
    }

    pub fn login(mut self, user: &str, password: &str) -> Relay {
        self.login = Some((user.to_owned(), password.to_owned()));
        self
    }
}

/// The relay: aiosmtpd's SMTP class on an asyncio server, its Maildir
/// handler adding the session's TLS version and login as headers.
const RELAY_PY: &str = r#"
import asyncio, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult
from aiosmtpd.handlers import Mailbox

host, port, maildir, mode, cert, key, user, password, log = sys.argv[1:10]

class Box(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        obj = server.transport.get_extra_info('ssl_object')
        self.tls = obj.version() if obj is not None else 'none'
        self.auth = session.auth_data if session.authenticated else ''
        return await super().handle_DATA(server, session, envelope)

    def prepare_message(self, session, envelope):
        message = super().prepare_message(session, envelope)
        message['X-Test-TLS'] = self.tls
        message['X-Test-Auth'] = self.auth
        return message

def authenticator(server, session, envelope, mechanism, data):
    login = data.login.decode()
    ok = login == user and data.password.decode() == password
    with open(log, 'a') as f:
        f.write(f"{login} {'ok' if ok else 'refused'}\n")
    # handled=False: aiosmtpd answers a refusal with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

ctx = None
if mode != 'plain':
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
kw = {'hostname': 'relay.test'}
if mode == 'starttls':
    kw.update(tls_context=ctx, require_starttls=True)
if user:
    # Over implicit TLS the whole session is encrypted, which aiosmtpd's own
    # check (made for STARTTLS) does not see.
    kw.update(authenticator=authenticator, auth_required=True,
              auth_require_tls=(mode != 'implicit'))
handler = Box(maildir)
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
server = loop.run_until_complete(loop.create_server(
    lambda: SMTP(handler, **kw), host, int(port),
    ssl=ctx if mode == 'implicit' else None))
loop.run_forever()
"#;

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpServer {
    /// Starts a plain server on a free port.
    pub fn start() -> SmtpServer {
        Self::start_on(free_port(), None)
    }

    /// Starts a plain server on `port`, keeping its mail in `dir` (a new
    /// temporary folder when `None`; pass the same folder to keep earlier
    /// mail).
    pub fn start_on(port: u16, dir: Option<PathBuf>) -> SmtpServer {
        Self::start_relay(Relay {
            dir,
            ..Relay::plain(port)
        })
    }

    /// Starts the relay `r` describes.
    pub fn start_relay(r: Relay) -> SmtpServer {
        let dir = r.dir.clone().unwrap_or_else(|| {
            let d = std::env::temp_dir().join(format!(
                "onestop-smtp-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&d).expect("maildir");
            d
        });
        let addr: SocketAddr = format!("127.0.0.1:{}", r.port).parse().unwrap();
        let mode = match r.mode {
            Mode::Plain => "plain",
            Mode::Starttls => "starttls",
            Mode::Implicit => "implicit",
        };
        let (cert, key) = r.cert.clone().unwrap_or_default();
        let (user, password) = r.login.clone().unwrap_or_default();
        let child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(RELAY_PY)
            .arg("127.0.0.1")
            .arg(r.port.to_string())
            .arg(dir.join("mail"))
            .arg(mode)
            .arg(cert)
            .arg(key)
            .arg(user)
            .arg(password)
            .arg(dir.join("auth.log"))
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("relay.log"))
                    .map_or_else(|_| Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect(
                "python3-aiosmtpd is needed for the mail tests (apt-get install python3-aiosmtpd)",
            );
        let mut server = SmtpServer {
            child: Some(child),
            addr,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Some(Ok(Some(status))) = server.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(server.dir.join("relay.log")).unwrap_or_default();
                panic!("the SMTP server exited ({status}); is python3-aiosmtpd installed?\n{log}");
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Every login attempt so far: `(account, accepted)`.
    pub fn logins(&self) -> Vec<(String, bool)> {
        std::fs::read_to_string(self.dir.join("auth.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(u, r)| (u.to_owned(), r == "ok"))
            .collect()
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
            let lower = w.to_ascii_lowercase();
            if lower.starts_with("=?utf-8?b?") && lower.ends_with("?=") {
                String::from_utf8(decode64(&w[10..w.len() - 2])).unwrap_or_default()
            } else {
                w.to_owned()
            }
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
        tls: header("X-Test-TLS"),
        auth: header("X-Test-Auth"),
    }
}

/// Standard base64, padding and line breaks skipped.
fn decode64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> = s
        .bytes()
        .filter_map(|c| ALPHABET.iter().position(|&a| a == c))
        .map(|v| v as u32)
        .collect();
    let mut out = Vec::new();
    // Four sextets are three bytes; a last group of two or three, one or two.
    for group in sextets.chunks(4) {
        let bits = group.iter().fold(0, |acc, &v| (acc << 6) | v) << (6 * (4 - group.len()));
        out.extend_from_slice(&bits.to_be_bytes()[1..group.len()]);
    }
    out
}
