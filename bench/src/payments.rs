//! (13) A payment's path: `--only payments`.
//!
//! The release server with water connected to the reference billing service
//! (`onestop billing-sim`, its own process, loopback HTTP, its own SQLite
//! file with `synchronous=FULL`), on SQLite and on PostgreSQL. A clerk's
//! session takes payments through `POST /api/v1/billing/payments` (each
//! reads the account and its bills from the utility, then writes the
//! payment, its job and its audit record in one transaction, `202`) and the
//! worker sends each to the utility with its idempotency key and records
//! the receipt. Measured:
//!
//! - one payment at a time (200): the clerk's wait for `202` (缴费处理中), and
//!   from the click to `paid` as the API reads it (polled every 2 ms);
//! - the utility's own answer to the same payment request, called directly
//!   (200 sequential), for comparison;
//! - a closed loop of C clerks' connections for N seconds: payments taken
//!   per second, then the time until every one is paid.

use crate::{Conn, TestDb, cpu_seconds, ms, print_table};
use onestop_store::db::Role;
use onestop_store::testing::{Backend, Sql as _};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-sim-token";
const CLERK: &str = "bench.clerk";
const CLERK_PASSWORD: &str = "Bench-2026-clerk";
/// Generated accounts per unit at the simulator (one open bill of ¥10.00 each).
const ACCOUNTS: u32 = 40_000;
const SEQUENTIAL: u32 = 200;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn wait_ready(addr: SocketAddr, path: &str) {
    let started = Instant::now();
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::{Read, Write};
            let _ = write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
            );
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{path} not ready"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cli(bin: &str, db: &TestDb, args: &[&str], stdin: &str) {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("run onestop");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "onestop {args:?} failed");
}

fn account(n: u32) -> String {
    format!("19{n:06}")
}

fn payment_body(n: u32) -> String {
    let a = account(n);
    format!(
        "{{\"unit\":\"sz-water\",\"account_no\":\"{a}\",\"bill_ids\":[\"B{a}-202610\"],\"amount_fen\":1000,\"method\":\"cash\"}}"
    )
}

fn post(path: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n").into_bytes()
}

/// Signs the clerk in: the session cookie and its CSRF token, as headers.
async fn clerk_headers(addr: SocketAddr) -> String {
    let mut conn = Conn::open(addr).await;
    let token = "0123456789abcdef0123456789abcdef";
    let body = format!("username={CLERK}&password={CLERK_PASSWORD}&csrf_token={token}");
    let login = format!(
        "POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Cookie: onestop_csrf={token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, _) = conn.exchange(login.as_bytes()).await;
    assert_eq!(status, 303, "the clerk's login");
    let cookie = conn.last_set_cookie.clone().expect("a session cookie");
    let (status, page) = conn
        .exchange(&get("/counter/billing", &format!("Cookie: {cookie}\r\n")))
        .await;
    assert_eq!(status, 200);
    let page = String::from_utf8_lossy(&page);
    let at = page
        .find("name=\"csrf_token\" value=\"")
        .expect("a CSRF token")
        + 25;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    format!("Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n")
}

fn id_of(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON answer");
    v["id"].as_str().expect("a payment id").to_owned()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn paid_count(db: &TestDb) -> i64 {
    let mut c = db.target.connect(Role::Reader).unwrap();
    c.query("SELECT COUNT(*) FROM payments WHERE status = 'paid'", &[])
        .unwrap()[0]
        .int(0)
        .unwrap()
}

pub fn scenario(bin: &str, secs: u64, connections: usize, skip_postgres: bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("\n## 13. A payment's path (window payment → utility → paid)");
    let mut backends = vec![(Backend::Sqlite, "SQLite")];
    if !skip_postgres {
        backends.push((Backend::Postgres, "PostgreSQL"));
    }
    let connections = connections.clamp(1, 32);
    for (backend, name) in backends {
        let db = TestDb::new(backend);
        // The simulator: its own process and file.
        let sim_addr = free_addr();
        let seeding = Instant::now();
        let sim = Proc(
            Command::new(bin)
                .args(["billing-sim", "--listen", &sim_addr.to_string(), "--db"])
                .arg(db.dir.join("billing-sim.sqlite3"))
                .args(["--extra-accounts", &ACCOUNTS.to_string()])
                .env("ONESTOP_BILLING_SIM_TOKEN", TOKEN)
                .env("RUST_LOG", "error")
                .env_remove("ONESTOP_CONFIG")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the billing simulator"),
        );
        wait_ready(sim_addr, "/healthz");
        let seeded = seeding.elapsed();
        // The server, water paid through the simulator.
        let mut config = onestop_domain::config::DEFAULT_CONFIG_TOML
            .replace("login_per_minute = 20", "login_per_minute = 1000000");
        config.push_str(&format!(
            "\n[[billing]]\nunit = \"sz-water\"\nbase_url = \"http://{sim_addr}/sz-water\"\n\
             allow_plain_http = true\ntoken_env = \"ONESTOP_BILLING_SIM_TOKEN\"\n\
             timeout_seconds = 10\nretry_base_seconds = 1\nretry_max_seconds = 5\nsandbox = true\n"
        ));
        let config_path = db.dir.join("bench-billing.toml");
        std::fs::write(&config_path, config).unwrap();
        cli(
            bin,
            &db,
            &[
                "user",
                "create",
                "--username",
                CLERK,
                "--name",
                "压测窗口",
                "--role",
                "clerk:zd-jtdd",
                "--password-stdin",
            ],
            &format!("{CLERK_PASSWORD}\n"),
        );
        {
            let mut c = db.target.connect(Role::Writer).unwrap();
            c.execute("UPDATE accounts SET must_change_password = 0", &[])
                .unwrap();
        }
        let addr = free_addr();
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", &addr.to_string(), "--config"])
            .arg(&config_path)
            .env("ONESTOP_DATA_DIR", &db.dir)
            .env("ONESTOP_BILLING_SIM_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        match db.database_url() {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        let server = Proc(cmd.spawn().expect("start onestop"));
        wait_ready(addr, "/readyz");
        let pid = server.0.id();

        let (one, direct, load) = rt.block_on(async {
            let headers = clerk_headers(addr).await;
            let one = sequential(addr, &headers).await;
            let direct = direct_to_utility(sim_addr).await;
            let load = closed_loop(addr, &headers, connections, secs, pid).await;
            (one, direct, load)
        });
        // Every payment taken is paid in the end.
        let drain_started = Instant::now();
        let expected = i64::from(SEQUENTIAL) + load.taken as i64;
        while paid_count(&db) < expected {
            assert!(
                drain_started.elapsed() < Duration::from_secs(300),
                "payments not paid"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let drained = drain_started.elapsed();
        let (accept, paid) = one;
        println!(
            "\n### {name} (simulator seeded with {} accounts in {:.1} s)",
            ACCOUNTS * 6,
            seeded.as_secs_f64()
        );
        print_table(
            &[
                "one payment at a time",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
            ],
            [
                row(
                    "clerk's click → 202 (缴费处理中): bills checked with the utility, payment + job + audit committed",
                    &accept,
                ),
                row("clerk's click → paid (receipt recorded)", &paid),
                row(
                    "the utility alone: POST /payments straight to the simulator",
                    &direct,
                ),
            ],
        );
        println!(
            "\nclosed loop, {connections} connections, {secs} s: {} payments taken ({:.0}/s, {} refused), \
             every one paid {:.2} s after the load stopped ({:.0} paid/s over the whole run); \
             server {:.2} cores busy, {:.2} ms CPU per payment",
            load.taken,
            load.taken as f64 / load.elapsed.as_secs_f64(),
            load.errors,
            drained.as_secs_f64(),
            load.taken as f64 / (load.elapsed + drained).as_secs_f64(),
            load.cpu / load.elapsed.as_secs_f64(),
            if load.taken > 0 {
                load.cpu / load.taken as f64 * 1e3
            } else {
                0.0
            },
        );
        drop(server);
        drop(sim);
    }
}

fn row(what: &str, d: &[Duration]) -> Vec<String> {
    vec![
        what.to_owned(),
        format!("{:.1}", ms(quantile(d, 0.5))),
        format!("{:.1}", ms(quantile(d, 0.9))),
        format!("{:.1}", ms(quantile(d, 0.99))),
        format!("{:.1}", ms(quantile(d, 1.0))),
    ]
}

/// 20 payments to warm up, then [`SEQUENTIAL`] one at a time: the wait for
/// `202`, and for `paid`.
async fn sequential(addr: SocketAddr, headers: &str) -> (Vec<Duration>, Vec<Duration>) {
    let mut conn = Conn::open(addr).await;
    let mut poll = Conn::open(addr).await;
    let (mut accept, mut paid) = (Vec::new(), Vec::new());
    for n in 1..=SEQUENTIAL + 20 {
        let started = Instant::now();
        let (status, body) = conn
            .exchange(&post("/api/v1/billing/payments", headers, &payment_body(n)))
            .await;
        assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
        let accepted = started.elapsed();
        let id = id_of(&body);
        let path = format!("/api/v1/billing/payments/{id}");
        loop {
            let (status, body) = poll.exchange(&get(&path, headers)).await;
            assert_eq!(status, 200);
            if body.windows(15).any(|w| w == b"\"status\":\"paid\"") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if n > 20 {
            accept.push(accepted);
            paid.push(started.elapsed());
        }
    }
    accept.sort();
    paid.sort();
    (accept, paid)
}

/// The simulator's own answer to a payment request, straight to it.
async fn direct_to_utility(sim: SocketAddr) -> Vec<Duration> {
    let mut conn = Conn::open(sim).await;
    let mut out = Vec::new();
    for n in 0..SEQUENTIAL {
        let a = account(ACCOUNTS - n);
        let body = format!(
            "{{\"account_no\":\"{a}\",\"bill_ids\":[\"B{a}-202610\"],\"amount_fen\":1000,\"channel\":\"bench\"}}"
        );
        let headers = format!("Authorization: Bearer {TOKEN}\r\nIdempotency-Key: direct-{n}\r\n");
        let started = Instant::now();
        let (status, _) = conn
            .exchange(&post("/sz-water/payments", &headers, &body))
            .await;
        assert_eq!(status, 201);
        out.push(started.elapsed());
    }
    out.sort();
    out
}

struct Load {
    taken: u64,
    errors: u64,
    elapsed: Duration,
    cpu: f64,
}

async fn closed_loop(
    addr: SocketAddr,
    headers: &str,
    connections: usize,
    secs: u64,
    pid: u32,
) -> Load {
    let headers: Arc<str> = Arc::from(headers);
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU32::new(SEQUENTIAL + 21));
    let taken = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (stop, next, taken, errors, headers) = (
            stop.clone(),
            next.clone(),
            taken.clone(),
            errors.clone(),
            headers.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n > ACCOUNTS - SEQUENTIAL {
                    break;
                }
                let (status, _) = conn
                    .exchange(&post(
                        "/api/v1/billing/payments",
                        &headers,
                        &payment_body(n),
                    ))
                    .await;
                if status == 202 {
                    taken.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    Load {
        taken: taken.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        cpu: cpu_seconds(pid) - cpu_before,
    }
}
