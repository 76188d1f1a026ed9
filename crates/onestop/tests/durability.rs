//! The real binary: nothing accepted is lost when the process is killed
//! (SIGKILL) right after answering `201`, or stopped with SIGTERM while
//! requests are in flight; two servers sweeping one database move (and
//! tell of) each overdue order once; a server killed between a level change
//! and its email sends the email after restart, once, even with two servers
//! delivering. On SQLite and on PostgreSQL.

#[path = "../../server/tests/common/smtp.rs"]
mod smtp;
#[path = "../../server/tests/common/tls.rs"]
mod tls;

use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

onestop_store::on_both_databases_blocking!(
    killed_right_after_201,
    sigterm_finishes_in_flight_requests,
    two_servers_sweep_each_change_once,
    killed_between_level_change_and_email,
);

struct Server {
    child: Child,
}

/// Runs the binary's command line against the test database.
fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onestop"));
    cmd.args(args)
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("RUST_LOG", "warn")
        .env_remove("ONESTOP_CONFIG");
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    cmd.output().expect("run onestop")
}

/// A new API key (the last line `onestop apikey create` prints).
fn api_key(db: &TestDb) -> String {
    let out = cli(
        db,
        &[
            "apikey",
            "create",
            "--name",
            "durability",
            "--scopes",
            "applications:read,applications:write",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start(db: &TestDb, addr: SocketAddr) -> Server {
    start_with(db, addr, None)
}

/// Starts the server with a configuration file (`None`: the built-in city).
/// The mail relay's password, in the servers' environment.
const SMTP_PASSWORD: &str = "relay-s3cret";

fn start_with(db: &TestDb, addr: SocketAddr, config: Option<&std::path::Path>) -> Server {
    let overrides = db.dir.join("calendar-fixture.toml");
    std::fs::write(&overrides, onestop_store::testing::TEST_OVERRIDES).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onestop"));
    cmd.args(["serve", "--listen", &addr.to_string()])
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("ONESTOP_CALENDAR_OVERRIDES", &overrides)
        .env("RUST_LOG", "warn")
        .env("ONESTOP_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
        .env_remove("ONESTOP_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(c) = config {
        cmd.env("ONESTOP_CONFIG", c);
    }
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let child = cmd.spawn().expect("start onestop");
    let server = Server { child };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(addr, "", "GET", "/readyz", None, None) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not become ready");
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A minimal HTTP/1.1 exchange (Connection: close).
fn http(
    addr: SocketAddr,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    let key = key
        .map(|k| format!("Idempotency-Key: {k}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Authorization: Bearer {auth}\r\n\
         Content-Type: application/json\r\n{key}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn application(n: usize) -> String {
    onestop_store::testing::example_application(&format!("随州市持久性测试{n}号有限公司"))
        .to_string()
}

/// Submits application `n` with the key; the status and body.
fn submit(addr: SocketAddr, key: &str, n: usize) -> (u16, String) {
    let body = application(n);
    http(addr, key, "POST", "/api/v1/applications", Some(&body), None).unwrap()
}

/// Reads an application back with the key; the status and body.
fn read_back(addr: SocketAddr, key: &str, id: &str) -> (u16, String) {
    let path = format!("/api/v1/applications/{id}");
    http(addr, key, "GET", &path, None, None).unwrap()
}

/// The one number a `SELECT COUNT(*) …` answers.
fn count(conn: &mut Box<dyn onestop_store::db::Conn>, sql: &str) -> i64 {
    conn.query_opt(sql, &[]).unwrap().unwrap().int(0).unwrap()
}

/// Waits, 20 s at the most, until the count `sql` reaches `at_least`;
/// `what` says what did not happen in time.
fn wait_for_count(
    conn: &mut Box<dyn onestop_store::db::Conn>,
    sql: &str,
    at_least: i64,
    what: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(conn, sql) < at_least {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn killed_right_after_201(backend: Backend) {
    let db = TestDb::new(backend);
    let addr = free_addr();
    let server = start(&db, addr);
    let key = api_key(&db);
    let (status, body) = submit(addr, &key, 1);
    assert_eq!(status, 201, "{body}");
    signal(&server.child, "-KILL");
    drop(server);
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap();

    let _server = start(&db, addr);
    let (status, body) = read_back(addr, &key, id);
    assert_eq!(status, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found, created, "the whole application survived");
    assert_eq!(found["work_orders"].as_array().unwrap().len(), 6);
}

/// Sends a POST's head with `Expect: 100-continue` and waits for the
/// server's `100 Continue`: the request has then passed the server's checks
/// and its handler is reading the body, which is not sent yet.
fn begin(addr: SocketAddr, auth: &str, path: &str, body_len: usize, key: &str) -> TcpStream {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Authorization: Bearer {auth}\r\nContent-Type: application/json\r\n\
         Idempotency-Key: {key}\r\nExpect: 100-continue\r\n\
         Content-Length: {body_len}\r\n\r\n"
    )
    .unwrap();
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut got = vec![0u8; interim.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(interim),
        "the server asks for the body"
    );
    s
}

/// Sends the body of a request [`begin`] started; returns the status, the
/// declared `Content-Length` and the body as received to the end.
fn finish(mut s: TcpStream, body: &str) -> std::io::Result<(u16, Option<usize>, String)> {
    s.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8(raw).map_err(std::io::Error::other)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text:?}")))?;
    let status = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text:?}")))?;
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    });
    Ok((status, length, body.to_owned()))
}

/// Whether a new connection is refused, or accepted by the kernel and then
/// closed without an answer.
fn turned_away(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return true;
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if write!(
        s,
        "GET /readyz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return true;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    !raw.starts_with(b"HTTP/1.1 ")
}

/// Requests whose handlers are running when SIGTERM arrives finish with
/// their full answers; new connections are turned away meanwhile; the
/// process then exits cleanly and everything it answered `201` to is there
/// after a restart.
fn sigterm_finishes_in_flight_requests(backend: Backend) {
    let db = TestDb::new(backend);
    let addr = free_addr();
    let mut server = start(&db, addr);
    let key = api_key(&db);
    let bodies: Vec<String> = (0..8).map(application).collect();
    let in_flight: Vec<TcpStream> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            begin(
                addr,
                &key,
                "/api/v1/applications",
                body.len(),
                &format!("term-{n}"),
            )
        })
        .collect();
    signal(&server.child, "-TERM");
    // The listener closes while those requests are still open.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !turned_away(addr) {
        assert!(
            Instant::now() < deadline,
            "new connections still answered after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A connection caught while the listener was closing may still have
    // been accepted and dropped; soon after, the port refuses outright.
    while TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "a connection after the listener closed is refused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the process waits for its requests"
    );
    let mut answered = Vec::new();
    for (n, (s, body)) in in_flight.into_iter().zip(&bodies).enumerate() {
        let (status, length, text) =
            finish(s, body).unwrap_or_else(|e| panic!("request {n} cut off by the shutdown: {e}"));
        assert_eq!(status, 201, "request {n}: {text}");
        assert_eq!(length, Some(text.len()), "request {n}: the whole body");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("request {n}: not JSON ({e}): {text}"));
        assert_eq!(v["work_orders"].as_array().unwrap().len(), 6, "{text}");
        answered.push(v);
    }
    assert_eq!(answered.len(), bodies.len());
    let mut child = server;
    let status = child.child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status}");
    drop(child);

    let _server = start(&db, addr);
    for created in answered {
        let id = created["id"].as_str().unwrap();
        let (status, body) = read_back(addr, &key, id);
        assert_eq!(status, 200, "{id} survived the shutdown");
        let found: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(found, created, "the whole application survived");
    }
}

/// Creates accounts through the command line: `(username, role, email)`.
fn create_users(db: &TestDb, users: &[(&str, &str, Option<&str>)]) {
    for (name, role, email) in users {
        let mut args = vec![
            "user",
            "create",
            "--username",
            name,
            "--name",
            name,
            "--role",
            role,
        ];
        if let Some(e) = email {
            args.extend(["--email", e]);
        }
        let out = cli(db, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every work order's warning and deadline pass at once; returns a writer
/// connection to the database.
fn all_orders_fall_due(db: &TestDb) -> Box<dyn onestop_store::db::Conn> {
    let mut conn = db
        .target
        .connect(onestop_store::db::Role::Writer)
        .expect("database");
    let now = onestop_store::now_ms();
    conn.execute(
        "UPDATE work_orders SET warn_at = $1, due_at = $2, next_level_at = $1",
        onestop_store::params![now - 2_000, now - 1_000],
    )
    .unwrap();
    conn
}

/// Two servers on one database, both sweeping every second: every order
/// that falls due is moved once, with one history event and one message per
/// recipient — not one per server.
fn two_servers_sweep_each_change_once(backend: Backend) {
    let db = TestDb::new(backend);
    let (a1, a2) = (free_addr(), free_addr());
    let first = start(&db, a1);
    let second = start(&db, a2);
    let key = api_key(&db);
    create_users(
        &db,
        &[
            ("water.op", "operator:sz-water", None),
            ("sup", "supervisor", None),
        ],
    );
    let apps = 10;
    for n in 0..apps {
        let addr = if n % 2 == 0 { a1 } else { a2 };
        let (status, body) = submit(addr, &key, n);
        assert_eq!(status, 201, "{body}");
    }
    // Every order's deadline passes at once.
    let mut conn = all_orders_fall_due(&db);
    let orders = count(&mut conn, "SELECT COUNT(*) FROM work_orders");
    assert_eq!(orders, apps as i64 * 6);
    let overdue = "SELECT COUNT(*) FROM work_orders WHERE level = 'overdue'";
    let why = "the sweepers did not move every order";
    wait_for_count(&mut conn, overdue, orders, why);
    // Let both sweepers run a few more times.
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM history_events WHERE kind = 'level_overdue'"
        ),
        orders,
        "one history event per order"
    );
    let told = |conn: &mut Box<dyn onestop_store::db::Conn>, username: &str, kind: &str| {
        let sql = format!(
            "SELECT COUNT(*) FROM notifications n JOIN accounts a ON a.id = n.account_id
             WHERE a.username = '{username}' AND n.kind = '{kind}'"
        );
        count(conn, &sql)
    };
    let why = "the supervisor is told of each order once";
    assert_eq!(told(&mut conn, "sup", "level_overdue"), orders, "{why}");
    let why = "the water company of its own orders, once each";
    assert_eq!(
        told(&mut conn, "water.op", "level_overdue"),
        apps as i64,
        "{why}"
    );
    let why = "the water company heard of each new order once, on arrival";
    assert_eq!(
        told(&mut conn, "water.op", "order_new"),
        apps as i64,
        "{why}"
    );
    drop(first);
    drop(second);
}

/// Email for every overdue order: the relay is down when the orders fall
/// due, so the server queues and attempts the messages but cannot send them;
/// it is killed (SIGKILL); the relay comes up; two servers start on the same
/// database and deliver every message exactly once — over STARTTLS, logged
/// in with the password from their environment, trusting the relay's
/// certificate through a `ca_file` beside the configuration.
fn killed_between_level_change_and_email(backend: Backend) {
    let db = TestDb::new(backend);
    let smtp_port = smtp::free_port();
    let cert = tls::TestCert::new();
    std::fs::write(db.dir.join("relay-ca.pem"), &cert.cert_pem).unwrap();
    let config = db.dir.join("onestop-mail.toml");
    let text = onestop_domain::config::DEFAULT_CONFIG_TOML
        .replace("retry_base_seconds = 30", "retry_base_seconds = 1")
        .replace("retry_max_seconds = 3600", "retry_max_seconds = 2");
    std::fs::write(
        &config,
        format!(
            "{text}\n[notify.email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\n\
             tls = \"starttls\"\nusername = \"onestop\"\npassword_env = \"ONESTOP_TEST_SMTP_PASSWORD\"\n\
             ca_file = \"relay-ca.pem\"\n\
             from = \"noreply@onestop.example.gov.cn\"\ntimeout_seconds = 2\n"
        ),
    )
    .unwrap();
    create_users(
        &db,
        &[
            ("water.op", "operator:sz-water", Some("op@water.example.cn")),
            ("sup", "supervisor", Some("sup@zjj.example.cn")),
        ],
    );
    let addr = free_addr();
    let first = start_with(&db, addr, Some(&config));
    let key = api_key(&db);
    let apps = 3;
    for n in 0..apps {
        let (status, body) = submit(addr, &key, n);
        assert_eq!(status, 201, "{body}");
    }
    let mut conn = all_orders_fall_due(&db);
    let orders = count(&mut conn, "SELECT COUNT(*) FROM work_orders");
    // The supervisor of every order, the water company of its own; and the
    // water company of each new order, queued when it arrived.
    let expected = orders + 2 * apps as i64;
    let attempted =
        "SELECT COUNT(*) FROM deliveries WHERE attempts >= 1 AND last_error IS NOT NULL";
    let why = "the messages were not queued and attempted";
    wait_for_count(&mut conn, attempted, expected, why);
    signal(&first.child, "-KILL");
    drop(first);
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"
        ),
        0
    );
    let relay = smtp::SmtpServer::start_relay(
        smtp::Relay::tls(smtp_port, smtp::Mode::Starttls, &cert.cert, &cert.key)
            .login("onestop", SMTP_PASSWORD),
    );
    let a = start_with(&db, free_addr(), Some(&config));
    let b = start_with(&db, free_addr(), Some(&config));
    let got = relay.wait_for(expected as usize, 30);
    assert_eq!(
        got.len() as i64,
        expected,
        "every message after the restart"
    );
    // Both servers keep delivering for a while: nothing comes twice.
    std::thread::sleep(Duration::from_millis(3_000));
    let got = relay.received();
    assert_eq!(got.len() as i64, expected, "nothing twice");
    let mut ids: Vec<String> = got.iter().map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len() as i64, expected);
    let to_water = got.iter().filter(|m| m.to == "op@water.example.cn").count();
    assert_eq!(to_water, 2 * apps);
    let subjects = |prefix: &str| got.iter().filter(|m| m.subject.starts_with(prefix)).count();
    assert_eq!(subjects("工单超期") as i64, orders + apps as i64);
    assert_eq!(subjects("新工单"), apps);
    assert!(
        got.iter()
            .all(|m| m.tls.starts_with("TLSv1.") && m.auth == "onestop"),
        "{got:?}"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"
        ),
        expected
    );
    drop(a);
    drop(b);
}

/// Runs `onestop serve` with `config` (written beside a scratch data folder)
/// and returns what it printed when it refused to start.
fn refused_start(name: &str, config: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "onestop-refused-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("{}\n{config}", onestop_domain::config::DEFAULT_CONFIG_TOML),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onestop"));
    cmd.args(["serve", "--listen", &free_addr().to_string()])
        .env("ONESTOP_DATA_DIR", dir.join("data"))
        .env("ONESTOP_CONFIG", &path)
        .env("RUST_LOG", "warn");
    // No database, and none of the secrets the configurations name.
    for unset in [
        "DATABASE_URL",
        "ONESTOP_TEST_MISSING_PASSWORD",
        "ONESTOP_TEST_MISSING_TOKEN",
    ] {
        cmd.env_remove(unset);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start onestop");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: the server started");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "{name}: {err}");
    assert!(
        !dir.join("data").join("onestop.sqlite3").exists(),
        "{name}: refused before opening the database"
    );
    let _ = std::fs::remove_dir_all(&dir);
    err
}

/// A server does not start when mail or texts would cross the network
/// unencrypted, nor when a password, token or certificate file it is told
/// to use is missing; it names every reason at once.
#[test]
fn unsafe_or_incomplete_transports_stop_start_up() {
    let err = refused_start(
        "plain",
        "[notify.email]\nsmtp_host = \"mail.example.gov.cn\"\ntls = \"none\"\n\
         from = \"noreply@onestop.example.gov.cn\"\n\
         [notify.sms]\nendpoint = \"http://sms.example.cn/send\"\nallow_plain_http = true\n",
    );
    assert!(
        err.contains("notify.email.tls = \"none\"") && err.contains("mail.example.gov.cn"),
        "{err}"
    );
    assert!(
        err.contains("notify.sms.endpoint") && err.contains("another machine"),
        "{err}"
    );
    let err = refused_start(
        "missing",
        "[notify.email]\nsmtp_host = \"mail.example.gov.cn\"\nusername = \"onestop\"\n\
         password_env = \"ONESTOP_TEST_MISSING_PASSWORD\"\nca_file = \"no-such-ca.pem\"\n\
         from = \"noreply@onestop.example.gov.cn\"\n\
         [notify.sms]\nendpoint = \"https://sms.example.cn/send\"\n\
         token_env = \"ONESTOP_TEST_MISSING_TOKEN\"\n",
    );
    for want in [
        "ONESTOP_TEST_MISSING_PASSWORD",
        "no-such-ca.pem cannot be read",
        "ONESTOP_TEST_MISSING_TOKEN",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
}
