//! The real binary survives the two anonymous form requests: a key
//! of 16,000 dotted segments (it used to overflow the stack and kill the
//! process) and an equipment row numbered 1,000,000 (it used to render a
//! 767 MB page). Both are answered with a small 4xx page, the process stays
//! up and small, and `/healthz` answers.

use onestop_store::testing::{Backend, TestDb};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// One HTTP/1.1 exchange (Connection: close); the whole answer as sent.
fn http(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &[u8]) -> Reply {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    Reply {
        status: head[9..12].parse().unwrap(),
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn start(db: &TestDb, addr: SocketAddr) -> Server {
    let overrides = db.dir.join("calendar-fixture.toml");
    std::fs::write(&overrides, onestop_store::testing::TEST_OVERRIDES).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_onestop"))
        .args(["serve", "--listen", &addr.to_string()])
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("ONESTOP_CALENDAR_OVERRIDES", &overrides)
        .env("RUST_LOG", "warn")
        .env_remove("ONESTOP_CONFIG")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start onestop");
    let server = Server { child };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            && http(addr, "GET", "/readyz", "", b"").status == 200
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not become ready");
}

/// The process's resident memory, in KB (`VmRSS` of /proc).
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn alive(server: &mut Server, addr: SocketAddr) {
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server process died"
    );
    assert_eq!(http(addr, "GET", "/healthz", "", b"").status, 200);
}

#[test]
fn the_binary_survives_the_hostile_form_requests() {
    let db = TestDb::new(Backend::Sqlite);
    let addr = free_addr();
    let mut server = start(&db, addr);
    let pid = server.child.id();

    // An anonymous browser's CSRF cookie and token, from the form page.
    let page = http(addr, "GET", "/apply", "", b"");
    assert_eq!(page.status, 200);
    let cookie = page
        .head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find_map(|c| c.split(';').next()?.strip_prefix("onestop_csrf="))
        .expect("the CSRF cookie")
        .to_owned();
    let html = String::from_utf8_lossy(&page.body);
    let at = html.find("name=\"csrf_token\" value=\"").unwrap() + 25;
    let token = &html[at..at + html[at..].find('"').unwrap()];
    let headers = format!(
        "Content-Type: application/x-www-form-urlencoded\r\nCookie: onestop_csrf={cookie}\r\n"
    );

    let deep = format!(
        "csrf_token={token}&services=water&{}=1",
        vec!["a"; 16_000].join(".")
    );
    assert!(deep.len() > 32_000, "a 32 KB key");
    let wide = format!("csrf_token={token}&services=gas&services.gas.equipment.1000000.name=x");
    assert!(wide.len() < 140);
    for (what, body) in [("16,000 segments", deep), ("row 1,000,000", wide)] {
        let started = Instant::now();
        let reply = http(addr, "POST", "/apply", &headers, body.as_bytes());
        let took = started.elapsed();
        assert!(
            (400..500).contains(&reply.status),
            "{what}: {}",
            reply.status
        );
        assert!(
            reply.body.len() < 200 * 1024,
            "{what}: {} bytes",
            reply.body.len()
        );
        assert!(took < Duration::from_secs(5), "{what}: {took:?}");
        let page = String::from_utf8_lossy(&reply.body);
        assert!(page.contains("unrecognised-notice"), "{what}");
        alive(&mut server, addr);
        let rss = rss_kb(pid);
        assert!(rss < 200 * 1024, "{what}: RSS {rss} KB");
    }
    // Many times over, still small and serving.
    for _ in 0..20 {
        let body = format!(
            "csrf_token={token}&services=gas&services.gas.equipment.1000000.name=x&{}=1",
            vec!["a"; 16_000].join(".")
        );
        let reply = http(addr, "POST", "/apply", &headers, body.as_bytes());
        assert_eq!(reply.status, 422);
    }
    alive(&mut server, addr);
    let rss = rss_kb(pid);
    assert!(rss < 200 * 1024, "RSS {rss} KB");
}
