//! A clerk pays a water bill at the window in a real (headless) Chromium,
//! against the real binaries: `onestop serve` and the reference billing
//! service `onestop billing-sim`, each its own process. The simulator
//! records the payment and holds its answer; the test kills the server
//! (SIGKILL) while the payment is on its way and starts it again: the bill
//! is paid exactly once at the simulator, and the payment's page, reloading
//! itself, goes from 缴费处理中 to 已缴费 with the receipt — at phone width
//! and at desk width, each page without a serious or critical accessibility
//! problem (axe-core). On SQLite and on PostgreSQL.

use onestop_e2e::{Browser, DbBackend as Backend, browser};
use onestop_store::testing::TestDb;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

onestop_e2e::on_both_databases!(a_clerk_pays_a_water_bill_once_across_a_crash);

const TOKEN: &str = "e2e-sim-token";
const CLERK: (&str, &str, &str) = ("window.li", "李窗口", "Hall-2026-ok");
/// Seeded water account 2: one open bill of ¥456.00.
const ACCOUNT: &str = "10000002";

/// The `onestop` binary next to this test's folder (`cargo test
/// --workspace` builds it), or `ONESTOP_BIN`.
fn onestop_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("ONESTOP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("onestop"))
        .expect("the target folder");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p onestop) or set ONESTOP_BIN",
        bin.display()
    );
    bin
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A child process killed (SIGKILL) and reaped when dropped.
struct Proc(Child);

impl Proc {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal HTTP/1.1 exchange (Connection: close): status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn wait_until_ready(addr: SocketAddr, path: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited early with {status}");
        }
        if let Some((200, _)) = http(addr, "GET", path, None) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{addr}{path} did not answer 200");
}

/// `onestop billing-sim` on `addr`, its state in `db`.
fn start_simulator(addr: SocketAddr, db: &Path) -> Proc {
    let mut child = Command::new(onestop_bin())
        .args(["billing-sim", "--listen", &addr.to_string(), "--db"])
        .arg(db)
        .env("ONESTOP_BILLING_SIM_TOKEN", TOKEN)
        .env("RUST_LOG", "error")
        .env_remove("ONESTOP_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the billing simulator");
    wait_until_ready(addr, "/healthz", &mut child);
    Proc(child)
}

/// The default city with water and power paid through the simulator: a
/// short time limit, quick retries.
fn config_file(dir: &Path, sim: SocketAddr) -> PathBuf {
    let mut text = onestop_domain::config::DEFAULT_CONFIG_TOML.to_owned();
    for unit in ["sz-water", "sz-power"] {
        text.push_str(&format!(
            "\n[[billing]]\nunit = \"{unit}\"\nbase_url = \"http://{sim}/{unit}\"\n\
             allow_plain_http = true\ntoken_env = \"ONESTOP_BILLING_SIM_TOKEN\"\n\
             timeout_seconds = 5\nretry_base_seconds = 1\nretry_max_seconds = 2\nsandbox = true\n"
        ));
    }
    let path = dir.join("city-with-billing.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `onestop serve` on `addr` over the test database.
fn start_server(db: &TestDb, addr: SocketAddr, config: &Path) -> Proc {
    let overrides = db.dir.join("calendar-fixture.toml");
    std::fs::write(&overrides, onestop_store::testing::TEST_OVERRIDES).unwrap();
    let mut cmd = Command::new(onestop_bin());
    cmd.args(["serve", "--listen", &addr.to_string()])
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("ONESTOP_CONFIG", config)
        .env("ONESTOP_CALENDAR_OVERRIDES", &overrides)
        .env("ONESTOP_BILLING_SIM_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("start onestop");
    wait_until_ready(addr, "/readyz", &mut child);
    Proc(child)
}

/// The clerk's account, made with the command line (which keys the audit
/// log), its first-login password change marked done.
async fn create_clerk(db: &TestDb) {
    let (username, name, password) = CLERK;
    let mut cmd = Command::new(onestop_bin());
    cmd.args([
        "user",
        "create",
        "--username",
        username,
        "--name",
        name,
        "--role",
        "clerk:zd-jtdd",
        "--password-stdin",
    ])
    .env("ONESTOP_DATA_DIR", &db.dir)
    .env("RUST_LOG", "error")
    .env_remove("ONESTOP_CONFIG")
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("onestop user create");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = db.open_store().await;
    store
        .write(move |c| {
            let a =
                onestop_store::accounts::by_username(c, username)?.expect("the clerk's account");
            onestop_store::accounts::set_password(
                c,
                &a.id,
                &a.password_hash,
                false,
                onestop_store::now_ms(),
            )
        })
        .await
        .unwrap();
}

/// The payment's status and attempts as stored.
async fn stored(db: &TestDb, id: &str) -> (String, i64) {
    let store = db.open_store().await;
    let id = id.to_owned();
    let p = store
        .read(move |c| onestop_store::payments::get(c, &id))
        .await
        .unwrap()
        .expect("the payment is stored");
    (p.status, p.attempts)
}

/// The simulator's payments of the water account.
fn at_simulator(sim: SocketAddr) -> Vec<Value> {
    let (status, body) = http(
        sim,
        "GET",
        &format!("/_sim/sz-water/payments?account_no={ACCOUNT}"),
        None,
    )
    .expect("the simulator answers");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["payments"].as_array().unwrap().clone()
}

/// axe-core finds no serious or critical problem on the page shown, and
/// it is no wider than the window.
async fn accessible(b: &Browser, width: u64, what: &str) {
    let problems: Vec<String> = b
        .axe()
        .await
        .into_iter()
        .filter(|v| v.impact == "serious" || v.impact == "critical")
        .map(|v| format!("{} ({}): {} {:?}", v.rule, v.impact, v.help, v.nodes))
        .collect();
    b.check(
        problems.is_empty(),
        format!("{what} at {width} px:\n{}", problems.join("\n")),
    )
    .await;
    let shown = b
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await;
    b.check(
        shown.as_u64() <= Some(width),
        format!("{what} fits {width} px: {shown}"),
    )
    .await;
}

async fn a_clerk_pays_a_water_bill_once_across_a_crash(backend: Backend) {
    let db = TestDb::new(backend);
    create_clerk(&db).await;
    let (sim_addr, addr) = (free_addr(), free_addr());
    let _sim = start_simulator(sim_addr, &db.dir.join("billing-sim.sqlite3"));
    let config = config_file(&db.dir, sim_addr);
    let mut server = start_server(&db, addr, &config);
    let url = |p: &str| format!("http://{addr}{p}");

    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    b.goto(&url("/login")).await;
    b.fill("#f-username", CLERK.0).await;
    b.fill("#f-password", CLERK.2).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;

    // The window: find the customer by account number, open the bills.
    b.goto(&url("/counter/billing")).await;
    let sandbox = b.text("#sandbox").await;
    b.check(sandbox.contains("模拟缴费系统"), "the sandbox is said")
        .await;
    accessible(&b, 390, "the lookup").await;
    b.fill("#f-q", ACCOUNT).await;
    b.click_to_next_page("form.lookup button[type=submit]")
        .await;
    accessible(&b, 390, "the accounts found").await;
    let accounts = b.text("#accounts").await;
    b.check(
        accounts.contains("随州市水务集团") && accounts.contains("随州市示例食品有限公司"),
        "the water account is found",
    )
    .await;
    b.click_to_next_page("#accounts a.button").await;
    let bills = b.text("#bills").await;
    b.check(bills.contains("¥456.00"), "the bill in yuan").await;
    accessible(&b, 390, "the bills").await;
    b.click_to_next_page("#to-confirm").await;
    accessible(&b, 390, "the confirmation").await;
    let amount = b.text("#amount").await;
    b.check(amount == "¥456.00", format!("the sum to collect: {amount}"))
        .await;

    // The simulator will record the payment and then hold its answer.
    let (status, _) = http(
        sim_addr,
        "POST",
        "/_sim/faults",
        Some(&json!({"delay_next": 1, "delay_ms": 20000})),
    )
    .unwrap();
    assert_eq!(status, 200);
    b.click_to_next_page("#confirm-payment").await;
    let path = b.wait_for_path("/counter/billing/payments/").await;
    let id = path.rsplit('/').next().unwrap().to_owned();
    let shown = b.text("#payment-status").await;
    b.check(shown == "缴费处理中", format!("pending first: {shown}"))
        .await;
    accessible(&b, 390, "the pending payment").await;

    // As soon as the utility has it, the server dies mid-payment.
    let deadline = Instant::now() + Duration::from_secs(20);
    while at_simulator(sim_addr).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the payment never reached the simulator"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill();
    let (status, attempts) = stored(&db, &id).await;
    assert_eq!(
        (status.as_str(), attempts),
        ("pending", 1),
        "killed before the answer"
    );

    // Restarted, it sends the payment again under the same key; the
    // simulator answers with the first receipt.
    let _server = start_server(&db, addr, &config);
    b.goto(&url(&path)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = b.text("#payment-status").await;
        if shown == "已缴费" {
            break;
        }
        if Instant::now() > deadline {
            b.fail(format!("still {shown} a minute after the restart"))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let receipt = b.text("#receipt-no").await;
    b.check(
        receipt.starts_with("SJ"),
        format!("the receipt number: {receipt}"),
    )
    .await;
    let receipt_text = b.text("#receipt").await;
    b.check(
        receipt_text.contains("¥456.00") && receipt_text.contains("李窗口"),
        "the receipt names the sum and the clerk",
    )
    .await;
    accessible(&b, 390, "the receipt").await;

    // Exactly once at the utility, under the payment's id; the bill is paid.
    let paid = at_simulator(sim_addr);
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["reference"], id.as_str());
    assert_eq!(paid[0]["amount_fen"], 45_600);
    assert_eq!(paid[0]["receipt_no"], receipt.as_str());
    let (_, bills) = http(
        sim_addr,
        "GET",
        &format!("/sz-water/accounts/{ACCOUNT}/bills"),
        None,
    )
    .unwrap();
    assert!(bills.contains("\"bills\":[]"), "{bills}");
    assert_eq!(stored(&db, &id).await, ("paid".to_owned(), 2));

    // At desk width the receipt has its print button.
    b.set_window_size(1280, 900).await;
    b.goto(&url(&path)).await;
    b.check(b.is_displayed("#print").await, "the print button")
        .await;
    accessible(&b, 1280, "the receipt").await;
    b.goto(&url("/counter/billing/payments")).await;
    let totals = b.text("#day-totals").await;
    b.check(
        totals.contains("收款 1 笔，合计 ¥456.00"),
        format!("the day's totals: {totals}"),
    )
    .await;
    accessible(&b, 1280, "the day's payments").await;
    b.goto(&url(&format!(
        "/counter/billing/accounts/sz-water/{ACCOUNT}"
    )))
    .await;
    let none = b.text("#no-bills").await;
    b.check(none.contains("没有待缴账单"), "nothing left to pay")
        .await;
    accessible(&b, 1280, "an account without bills").await;
    b.close().await;
}
