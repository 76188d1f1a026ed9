//! onestop's HTTP load scenarios. Results go to BENCHMARKS.md.
//!
//! `cargo run --release -p onestop-bench -- [--seconds N] [--connections C] [--skip-postgres]
//! [--only lifecycle|sweep|board|audit]`
//!
//! Expects the release server at `target/release/onestop` (`cargo build --release`).
//! In one run it measures, on this machine:
//! 1. the plain SQLite durable-commit rate for the rows of one five-service
//!    application (one transaction per application, WAL + synchronous=FULL) —
//!    the limit a one-commit-per-request server could reach;
//! 2. `POST /api/v1/applications` (five services) against the release server on
//!    SQLite, closed loop with C keep-alive connections, and the ratio to (1);
//! 3. `GET /api/v1/applications/{id}` at a fixed 5,000 requests/s (open loop,
//!    latency measured from each request's scheduled time), p50/p99/max;
//! 4. the same POST scenario on PostgreSQL (`ONESTOP_TEST_DATABASE_URL`,
//!    default the local server, in a fresh schema);
//! 5. idle resident memory and time from start to ready;
//! 6. the same GET with an API key and with a signed-in session (each read
//!    audited), against the unauthenticated GET of the previous release when
//!    `--baseline-bin PATH` names its binary (target: within 20 %);
//! 7. logins (Argon2id at the production cost): the most per second, and the
//!    p99 of other requests while 50 logins/s run.
//!
//! `--only audit --baseline-bin BEFORE` (11) pairs the server at
//! `ONESTOP_BIN` (default `target/release/onestop`) with BEFORE, rounds
//! alternating on the same machine: the audited GET, a refused GET (401)
//! and logins, with the server's CPU per request; and SM3 against HMAC-SM3
//! per audit record.
#![forbid(unsafe_code)]

use onestop_domain::application::fan_out;
use onestop_domain::config::CityConfig;
use onestop_domain::form::validate_application;
use onestop_store::applications::{self, NewApplication, NewWorkOrder};
use onestop_store::db::Role;
use onestop_store::testing::{Backend, Sql as _, TestDb};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    seconds: u64,
    connections: usize,
    skip_postgres: bool,
    get_rate: u64,
    baseline_bin: Option<String>,
    login_rate: u64,
    /// Run one scenario only (`lifecycle`).
    only: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        seconds: 10,
        connections: 64,
        skip_postgres: false,
        get_rate: 5_000,
        baseline_bin: None,
        login_rate: 50,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(10),
            "--connections" => a.connections = it.next().and_then(|v| v.parse().ok()).unwrap_or(64),
            "--get-rate" => a.get_rate = it.next().and_then(|v| v.parse().ok()).unwrap_or(5_000),
            "--skip-postgres" => a.skip_postgres = true,
            "--baseline-bin" => a.baseline_bin = it.next(),
            "--login-rate" => a.login_rate = it.next().and_then(|v| v.parse().ok()).unwrap_or(50),
            "--only" => a.only = it.next(),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

fn five_service_body(n: u64) -> Value {
    onestop_store::testing::example_application(&format!("随州市压测{n}号商贸有限公司"))
}

/// (1) One application's rows per durable transaction, serially, for `secs`.
fn sqlite_commit_limit(secs: u64) -> f64 {
    let db = TestDb::new(Backend::Sqlite);
    let mut conn = db.target.connect(Role::Writer).expect("sqlite");
    onestop_store::migrate::migrate(conn.as_mut()).expect("migrate");
    let config = CityConfig::default_city();
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let form = validate_application(&five_service_body(0), &config, now).expect("valid");
    let planned = fan_out(&form, &config);
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let app = NewApplication {
            id: uuid::Uuid::now_v7().simple().to_string(),
            submitted_at_ms: onestop_store::now_ms(),
            local_date: now.date(),
            form: form.clone(),
            orders: planned
                .iter()
                .map(|p| NewWorkOrder {
                    id: uuid::Uuid::now_v7().simple().to_string(),
                    planned: p.clone(),
                    budget_seconds: 11_700,
                    due_at_ms: onestop_store::now_ms() + 86_400_000,
                    warn_at_ms: onestop_store::now_ms() + 64_800_000,
                })
                .collect(),
            actor: "bench".into(),
            submitted_by: None,
            query_code: None,
            identity_verified: true,
        };
        conn.batch("BEGIN IMMEDIATE").unwrap();
        applications::insert(conn.as_mut(), &app, &config, now.offset()).unwrap();
        conn.batch("COMMIT").unwrap();
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// A fresh SQLite database holding at least `target` open work orders:
/// five-service applications (six orders each) over the city's districts in
/// turn, all submitted now, written in transactions of 5,000 applications.
/// Returns the database, a writer connection, now, the number of orders and
/// how long building took.
fn open_orders_dataset(
    target: usize,
) -> (
    TestDb,
    Box<dyn onestop_store::db::Conn>,
    i64,
    usize,
    Duration,
) {
    let db = TestDb::new(Backend::Sqlite);
    let mut conn = db.target.connect(Role::Writer).expect("sqlite");
    onestop_store::migrate::migrate(conn.as_mut()).expect("migrate");
    let config = CityConfig::default_city();
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let form = validate_application(&five_service_body(0), &config, now).expect("valid");
    let planned = fan_out(&form, &config);
    let forms: Vec<_> = config
        .districts
        .iter()
        .map(|d| {
            let mut f = form.clone();
            f.address.district_code = d.code.clone();
            f
        })
        .collect();
    let built = Instant::now();
    let now_ms = onestop_store::now_ms();
    let mut orders = 0;
    let mut n = 0usize;
    while orders < target {
        conn.batch("BEGIN IMMEDIATE").unwrap();
        for _ in 0..5_000 {
            n += 1;
            let app = NewApplication {
                id: uuid::Uuid::now_v7().simple().to_string(),
                submitted_at_ms: now_ms,
                local_date: now.date(),
                form: forms[n % forms.len()].clone(),
                orders: planned
                    .iter()
                    .map(|p| NewWorkOrder {
                        id: uuid::Uuid::now_v7().simple().to_string(),
                        planned: p.clone(),
                        budget_seconds: 11_700,
                        due_at_ms: now_ms + 86_400_000,
                        warn_at_ms: now_ms + 64_800_000,
                    })
                    .collect(),
                actor: "bench".into(),
                submitted_by: None,
                query_code: None,
                identity_verified: true,
            };
            applications::insert(conn.as_mut(), &app, &config, now.offset()).unwrap();
            orders += planned.len();
        }
        conn.batch("COMMIT").unwrap();
    }
    (db, conn, now_ms, orders, built.elapsed())
}

/// (9) The level sweeper with 1,000,000 open work orders stored (SQLite,
/// durable): a sweep with nothing due, then one that moves 10,000 orders,
/// each a whole transaction with its commit. Builds the data set itself
/// (five-service applications, six orders each, in large transactions).
fn sweep_scenario() {
    const DUE: i64 = 10_000;
    let (_db, mut conn, now_ms, orders, built) = open_orders_dataset(1_000_000);
    println!("\n## 9. Level sweeper, SQLite, durable, {orders} open work orders stored");
    println!("data set built in {:.1} s", built.as_secs_f64());
    let sweep = |conn: &mut Box<dyn onestop_store::db::Conn>| {
        let t = Instant::now();
        conn.batch("BEGIN IMMEDIATE").unwrap();
        let moved =
            onestop_store::levels::sweep(conn.as_mut(), onestop_store::now_ms(), 10_000).unwrap();
        conn.batch("COMMIT").unwrap();
        (t.elapsed(), moved.len())
    };
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(sweep(&mut conn).0);
    }
    idle.sort();
    let p50 = idle[idle.len() / 2];
    let worst = idle[idle.len() - 1];
    println!(
        "nothing due: median {:.3} ms, slowest of 20 {:.3} ms (target < 5 ms: {})",
        ms(p50),
        ms(worst),
        verdict(worst < Duration::from_millis(5))
    );
    // 10,000 orders reach their warning instant.
    conn.batch("BEGIN IMMEDIATE").unwrap();
    conn.execute(
        "UPDATE work_orders SET warn_at = $1, next_level_at = $1
         WHERE id IN (SELECT id FROM work_orders ORDER BY id LIMIT $2)",
        onestop_store::params![now_ms - 1_000, DUE],
    )
    .unwrap();
    conn.batch("COMMIT").unwrap();
    let (took, moved) = sweep(&mut conn);
    println!(
        "{moved} orders moved to warning with their history events in {:.0} ms (target < 2 s: {})",
        ms(took),
        verdict(moved as i64 == DUE && took < Duration::from_secs(2))
    );
}

/// The board's limit per query, and for the whole board.
const BOARD_LIMIT: Duration = Duration::from_millis(200);

/// Spreads the data set's open orders over stages and levels as a working
/// city's would be: five stages in turn, 5 % in warning, 1 % overdue with
/// deadlines over the last 30 days, 1 % waiting for the applicant.
fn spread_open_orders(conn: &mut dyn onestop_store::db::Conn, now_ms: i64) {
    conn.batch("BEGIN IMMEDIATE").unwrap();
    conn.batch(
        "UPDATE work_orders SET stage = CASE rowid % 5 WHEN 0 THEN 'acceptance'
             WHEN 1 THEN 'survey' WHEN 2 THEN 'design' WHEN 3 THEN 'construction'
             ELSE 'connection' END;
         UPDATE work_orders SET level = 'warning' WHERE rowid % 20 = 7;
         UPDATE work_orders SET status = 'returned', next_level_at = NULL WHERE rowid % 100 = 50;",
    )
    .unwrap();
    conn.execute(
        "UPDATE work_orders SET level = 'overdue', next_level_at = NULL,
             due_at = $1 - (rowid % 30) * 86400000 - (rowid * 7919) % 86400000
         WHERE rowid % 100 = 3",
        onestop_store::params![now_ms],
    )
    .unwrap();
    conn.batch("COMMIT").unwrap();
}

/// `rows` finished stages over the last 60 days, every unit, stage and
/// district in turn, one in ten late.
fn finished_stages_dataset(conn: &mut dyn onestop_store::db::Conn, now_ms: i64, rows: usize) {
    use onestop_store::db::Value;
    const UNITS: [(&str, &str); 6] = [
        ("water", "sz-water"),
        ("power", "sz-power"),
        ("gas", "sz-gas"),
        ("heat", "sz-heat"),
        ("network", "sz-telecom"),
        ("network", "sz-mobile"),
    ];
    const STAGES: [&str; 5] = [
        "acceptance",
        "survey",
        "design",
        "construction",
        "connection",
    ];
    const DISTRICTS: [&str; 3] = ["421303", "421321", "421381"];
    let span = 60 * 86_400_000i64;
    let per_statement = 2_000;
    let mut i = 0usize;
    while i < rows {
        conn.batch("BEGIN IMMEDIATE").unwrap();
        for _ in 0..10 {
            let mut values = Vec::with_capacity(per_statement * 11);
            for _ in 0..per_statement.min(rows - i) {
                let ended = now_ms - span + (i as i64 * span) / rows as i64;
                let (service, unit) = UNITS[i % UNITS.len()];
                let worked = 3_600 + (i as i64 * 37) % 20_000;
                let late = i.is_multiple_of(10);
                values.extend([
                    Value::from(ended),
                    Value::from(format!("bench{i:08}")),
                    Value::from(STAGES[(i / 6) % STAGES.len()]),
                    Value::from(unit),
                    Value::from(service),
                    Value::from(DISTRICTS[(i / 30) % DISTRICTS.len()]),
                    Value::from("bench"),
                    Value::from(ended - worked * 1_000),
                    Value::from(if late {
                        ended - 60_000
                    } else {
                        ended + 3_600_000
                    }),
                    Value::from(worked),
                    Value::from(late),
                ]);
                i += 1;
            }
            if values.is_empty() {
                break;
            }
            onestop_store::db::insert_rows(
                conn,
                "INSERT INTO stage_times (ended_at, work_order_id, stage, unit_code, service,
                     district_code, action, started_at, due_at, working_seconds, late)",
                11,
                "",
                &values,
            )
            .unwrap();
        }
        conn.batch("COMMIT").unwrap();
    }
}

/// Runs `f` five times; prints the median and the slowest against the
/// board's limit; returns the slowest.
fn time_query(name: &str, mut f: impl FnMut() -> usize) -> Duration {
    let mut runs = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let t = Instant::now();
        rows = f();
        runs.push(t.elapsed());
    }
    runs.sort();
    let worst = runs[runs.len() - 1];
    println!(
        "| {name} | {rows} | {:.1} ms | {:.1} ms | {} |",
        ms(runs[runs.len() / 2]),
        ms(worst),
        verdict(worst < BOARD_LIMIT)
    );
    worst
}

/// (10) The supervisor's board with 1,000,000 open work orders stored
/// (SQLite): each of its queries, and the whole board (every query of one
/// page, one after the other, as the server runs them), five times each,
/// against 200 ms. Builds the data set itself: the sweeper's, its orders
/// spread over stages and levels, plus 300,000 finished stages over the
/// last 60 days. Reads through a reader connection, as the server does.
fn board_scenario() {
    use onestop_store::board::{self, BoardFilter, Period};
    const STAGE_ROWS: usize = 300_000;
    let (db, mut conn, now_ms, orders, built) = open_orders_dataset(1_000_000);
    let t = Instant::now();
    spread_open_orders(conn.as_mut(), now_ms);
    finished_stages_dataset(conn.as_mut(), now_ms, STAGE_ROWS);
    println!(
        "\n## 10. The supervisor's board, SQLite, {orders} open work orders, {STAGE_ROWS} finished stages"
    );
    println!(
        "data set built in {:.1} s (orders) + {:.1} s (levels, stages, finished stages)\n",
        built.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    drop(conn);
    let mut r = db.target.connect(Role::Reader).expect("reader");
    let offset_ms = 8 * 3_600_000;
    let today = (now_ms + offset_ms).div_euclid(board::DAY_MS);
    let period = Period {
        from_ms: (today - 29) * board::DAY_MS - offset_ms,
        to_ms: (today + 1) * board::DAY_MS - offset_ms,
        offset_ms,
    };
    let all = BoardFilter::default();
    let district = BoardFilter {
        district: Some("421321".into()),
        service: None,
    };
    let service = BoardFilter {
        district: None,
        service: Some("gas".into()),
    };
    let both = BoardFilter {
        district: Some("421381".into()),
        service: Some("network".into()),
    };
    println!("| query | rows | median of 5 | slowest of 5 | < 200 ms |");
    println!("|---|---|---|---|---|");
    let mut worst = Duration::ZERO;
    // The server counts every open order in the background every minute
    // (`jobs::open_counts`); a board merges that count for its filters.
    let snapshot = board::open_counts_by_district(r.as_mut()).unwrap();
    // Nobody waits on the background count: reported, not in the verdict.
    time_query(
        "(background count every minute, nobody waits on it: every open order by district, service, unit, stage, level)",
        || board::open_counts_by_district(r.as_mut()).unwrap().len(),
    );
    for f in [&all, &district, &service, &both] {
        let mut live = board::open_counts(r.as_mut(), f).unwrap();
        let mut merged = board::merge_counts(&snapshot, f);
        let key = |c: &board::OpenCount| {
            (
                c.service.clone(),
                c.unit_code.clone(),
                c.stage.as_str(),
                c.level.as_str(),
            )
        };
        live.sort_by_key(key);
        merged.sort_by_key(key);
        assert_eq!(
            live, merged,
            "the background count, filtered, equals a live count"
        );
    }
    for (name, f) in [
        (
            "(live count of open orders, used only while no background count is recent)",
            &all,
        ),
        ("(the same, one district)", &district),
        ("(the same, one service)", &service),
        ("(the same, one district and one service)", &both),
    ] {
        time_query(name, || board::open_counts(r.as_mut(), f).unwrap().len());
    }
    for (name, f) in [
        ("overdue list, 50 longest overdue", &all),
        ("overdue list, one service", &service),
        ("overdue list, one district and one service", &both),
    ] {
        worst = worst.max(time_query(name, || {
            board::overdue(r.as_mut(), f, 50).unwrap().len()
        }));
    }
    for (name, f) in [
        ("finished stages of 30 days by unit, stage, day", &all),
        ("the same, one district and one service", &both),
    ] {
        worst = worst.max(time_query(name, || {
            board::finished_stages(r.as_mut(), f, period).unwrap().len()
        }));
    }
    for (name, f) in [
        ("overdue by day over 30 days", &all),
        ("the same, one district and one service", &both),
    ] {
        worst = worst.max(time_query(name, || {
            board::overdue_by_day(r.as_mut(), f, period).unwrap().len()
        }));
    }
    // The whole board as the server reads it: its four queries at once,
    // each on its own reader connection.
    let mut readers: Vec<_> = (0..4)
        .map(|_| db.target.connect(Role::Reader).expect("reader"))
        .collect();
    let mut whole = Duration::ZERO;
    for (name, f) in [
        (
            "whole board (background count + three queries at once), no filter",
            &all,
        ),
        ("whole board, one district and one service", &both),
    ] {
        whole = whole.max(time_query(name, || {
            let [_, b, c, d] = &mut readers[..] else {
                unreachable!("four readers")
            };
            std::thread::scope(|s| {
                let open = s.spawn(|| board::merge_counts(&snapshot, f).len());
                let late = s.spawn(|| board::overdue(b.as_mut(), f, 50).unwrap().len());
                let done = s.spawn(|| board::finished_stages(c.as_mut(), f, period).unwrap().len());
                let days = board::overdue_by_day(d.as_mut(), f, period).unwrap().len();
                open.join().unwrap() + late.join().unwrap() + done.join().unwrap() + days
            })
        }));
    }
    // For comparison, not in the verdict: the whole board when no
    // background count is recent (the first seconds after start-up).
    {
        let (name, f) = (
            "(whole board counting live, no filter: first seconds after start-up)",
            &all,
        );
        time_query(name, || {
            let [a, b, c, d] = &mut readers[..] else {
                unreachable!("four readers")
            };
            std::thread::scope(|s| {
                let open = s.spawn(|| board::open_counts(a.as_mut(), f).unwrap().len());
                let late = s.spawn(|| board::overdue(b.as_mut(), f, 50).unwrap().len());
                let done = s.spawn(|| board::finished_stages(c.as_mut(), f, period).unwrap().len());
                let days = board::overdue_by_day(d.as_mut(), f, period).unwrap().len();
                open.join().unwrap() + late.join().unwrap() + done.join().unwrap() + days
            })
        });
    }
    println!(
        "\nslowest single query {:.1} ms, slowest whole board {:.1} ms (target < 200 ms each: {})",
        ms(worst),
        ms(whole),
        verdict(worst < BOARD_LIMIT && whole < BOARD_LIMIT)
    );
}

struct Server {
    child: Child,
    addr: SocketAddr,
    ready: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn server_bin() -> String {
    std::env::var("ONESTOP_BIN").unwrap_or_else(|_| "target/release/onestop".into())
}

/// The default city with the per-address login limit lifted: every bench
/// login comes from one address.
fn bench_config(db: &TestDb) -> std::path::PathBuf {
    let text = onestop_domain::config::DEFAULT_CONFIG_TOML
        .replace("login_per_minute = 20", "login_per_minute = 1000000");
    assert!(text.contains("login_per_minute = 1000000"));
    let path = db.dir.join("bench-config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start_server(db: &TestDb) -> Server {
    let config = bench_config(db);
    start_server_with(db, &server_bin(), Some(&config))
}

fn start_server_bin(db: &TestDb, bin: &str) -> Server {
    start_server_with(db, bin, None)
}

fn start_server_with(db: &TestDb, bin: &str, config: Option<&std::path::Path>) -> Server {
    let bin = bin.to_owned();
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cmd = Command::new(&bin);
    cmd.args(["serve", "--listen", &addr.to_string()]);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.env("ONESTOP_DATA_DIR", &db.dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} ({e}); run `cargo build --release` first"));
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server not ready"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    Server {
        child,
        addr,
        ready: started.elapsed(),
    }
}

/// Folds a SQLite database's write-ahead log into the file (as SQLite does by
/// itself once writes pause), so that a scenario does not pay for the one before.
fn settle(db: &TestDb) {
    if let Ok(mut c) = db.target.connect(Role::Writer) {
        let _ = c.query("PRAGMA wal_checkpoint(RESTART)", &[]);
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) a process has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    ticks as f64 / 100.0
}

/// A keep-alive HTTP/1.1 connection that sends prepared requests.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// `name=value` of the last `Set-Cookie: onestop_session=…` seen.
    last_set_cookie: Option<String>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            last_set_cookie: None,
        }
    }

    /// Sends one request; returns the status and the body.
    async fn exchange(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        self.stream.write_all(request).await.expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).unwrap_or("");
                let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                if let Some(c) = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.eq_ignore_ascii_case("set-cookie")
                        && v.trim().starts_with("onestop_session="))
                    .then(|| v.trim().split(';').next().unwrap_or("").to_owned())
                }) {
                    self.last_set_cookie = Some(c);
                }
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk).await.expect("read");
                    assert!(n > 0, "connection closed");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                let body = self.buf[end + 4..end + 4 + len].to_vec();
                return (status, body);
            }
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `auth` is a whole header line (`Authorization: Bearer …\r\n`) or empty.
fn post_request(body: &str, auth: &str) -> Vec<u8> {
    format!(
        "POST /api/v1/applications HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
         {auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Runs the server binary's command line against `db`; returns stdout.
fn cli(db: &TestDb, args: &[&str], stdin: Option<&str>) -> String {
    cli_of(&server_bin(), db, args, stdin)
}

/// Runs `bin`'s command line against `db`; returns stdout.
fn cli_of(bin: &str, db: &TestDb, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("run onestop");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "onestop {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

const BENCH_USER: &str = "bench.super";
const BENCH_PASSWORD: &str = "Bench-2026-pw";

/// An API key (`Authorization` header line) and a supervisor account whose
/// first-login password change is already done.
fn credentials(db: &TestDb) -> String {
    credentials_of(&server_bin(), db)
}

/// [`credentials`] made with `bin`'s own command line.
fn credentials_of(bin: &str, db: &TestDb) -> String {
    let out = cli_of(
        bin,
        db,
        &[
            "apikey",
            "create",
            "--name",
            "bench",
            "--scopes",
            "applications:read,applications:write",
        ],
        None,
    );
    let key = out.lines().last().unwrap().to_owned();
    cli_of(
        bin,
        db,
        &[
            "user",
            "create",
            "--username",
            BENCH_USER,
            "--name",
            "压测督办",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        Some(&format!("{BENCH_PASSWORD}\n")),
    );
    let mut c = db.target.connect(Role::Writer).unwrap();
    c.execute("UPDATE accounts SET must_change_password = 0", &[])
        .unwrap();
    format!("Authorization: Bearer {key}\r\n")
}

fn login_request() -> Vec<u8> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let body = format!("username={BENCH_USER}&password={BENCH_PASSWORD}&csrf_token={token}");
    format!(
        "POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Cookie: onestop_csrf={token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Signs in once; returns the `Cookie` header line of the session.
async fn session_header(addr: SocketAddr) -> String {
    let mut conn = Conn::open(addr).await;
    let (status, _) = conn.exchange(&login_request()).await;
    assert_eq!(status, 303, "login failed");
    let cookie = conn.last_set_cookie.clone().expect("session cookie");
    format!("Cookie: {cookie}\r\n")
}

struct PostResult {
    rate: f64,
    ok: u64,
    errors: u64,
    ids: Vec<String>,
}

/// (2)/(4) Closed loop: C connections posting five-service applications.
async fn post_load(addr: SocketAddr, connections: usize, secs: u64, auth: &str) -> PostResult {
    let auth: Arc<str> = Arc::from(auth);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (stop, ok, errors) = (stop.clone(), ok.clone(), errors.clone());
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut ids = Vec::new();
            let mut n = c as u64 * 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let req = post_request(&five_service_body(n).to_string(), &auth);
                let (status, body) = conn.exchange(&req).await;
                if status == 201 {
                    ok.fetch_add(1, Ordering::Relaxed);
                    if ids.len() < 200
                        && let Ok(v) = serde_json::from_slice::<Value>(&body)
                        && let Some(id) = v["id"].as_str()
                    {
                        ids.push(id.to_owned());
                    }
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            ids
        }));
    }
    // Warm-up second, then measure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ok0 = ok.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let done = ok.load(Ordering::Relaxed) - ok0;
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    PostResult {
        rate: done as f64 / elapsed,
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        ids,
    }
}

/// The scopes of a client that submits and drives every unit's orders.
const LIFECYCLE_SCOPES: &str = "applications:read,applications:write,workorders:write:sz-water,\
     workorders:write:sz-power,workorders:write:sz-gas,workorders:write:sz-heat,\
     workorders:write:sz-telecom,workorders:write:sz-mobile";

fn action_request(order: &str, body: &str, auth: &str) -> Vec<u8> {
    format!(
        "POST /api/v1/work-orders/{order}/actions HTTP/1.1\r\nHost: bench\r\n\
         Content-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn batch_request(body: &str, auth: &str) -> Vec<u8> {
    format!(
        "POST /api/v1/work-orders/actions HTTP/1.1\r\nHost: bench\r\n\
         Content-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The four steps of each order's life in the lifecycle scenario.
const LIFE_STEPS: [(i64, &str); 4] = [
    (1, r#""action":"accept""#),
    (
        2,
        r#""action":"record_survey","findings":"现场具备接入条件""#,
    ),
    (
        3,
        r#""action":"record_design","external_works_m":0,"design":"红线内接入""#,
    ),
    (
        4,
        r#""action":"connect","connected_at":"2026-12-01T10:00:00+08:00""#,
    ),
];

/// (8) Complete lifecycles, closed loop: submit a five-service application,
/// then for every order accept, record the joint survey, record the design
/// without external works, and connect (which closes it) — one request per
/// action, or (`batched`) each step for all six orders in one request to
/// `/api/v1/work-orders/actions`. Returns (complete applications/s, errors,
/// server cores busy).
async fn lifecycle_load(
    addr: SocketAddr,
    connections: usize,
    secs: u64,
    auth: &str,
    server_pid: u32,
    batched: bool,
) -> (f64, u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let auth: Arc<str> = Arc::from(auth);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (stop, done, errors, auth) = (stop.clone(), done.clone(), errors.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut n = c as u64 * 1_000_000;
            'apps: while !stop.load(Ordering::Relaxed) {
                n += 1;
                let (status, body) = conn
                    .exchange(&post_request(&five_service_body(n).to_string(), &auth))
                    .await;
                let app: Value = match (status, serde_json::from_slice(&body)) {
                    (201, Ok(v)) => v,
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let orders: Vec<String> = app["work_orders"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|o| o["id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if batched {
                    for (version, body) in LIFE_STEPS {
                        let items: Vec<String> = orders
                            .iter()
                            .map(|o| {
                                format!(
                                    "{{\"work_order_id\":\"{o}\",{body},\"version\":{version}}}"
                                )
                            })
                            .collect();
                        let body = format!("{{\"actions\":[{}]}}", items.join(","));
                        let (status, answer) = conn.exchange(&batch_request(&body, &auth)).await;
                        let all_ok = status == 200
                            && serde_json::from_slice::<Value>(&answer).is_ok_and(|v| {
                                v["results"]
                                    .as_array()
                                    .is_some_and(|r| r.iter().all(|x| x["status"] == 200))
                            });
                        if !all_ok {
                            if std::env::var_os("BENCH_DEBUG").is_some() {
                                eprintln!("{status} {}", String::from_utf8_lossy(&answer));
                            }
                            errors.fetch_add(1, Ordering::Relaxed);
                            continue 'apps;
                        }
                    }
                } else {
                    for order in &orders {
                        for (version, body) in LIFE_STEPS {
                            let body = format!("{{{body},\"version\":{version}}}");
                            let (status, _) =
                                conn.exchange(&action_request(order, &body, &auth)).await;
                            if status != 200 {
                                errors.fetch_add(1, Ordering::Relaxed);
                                continue 'apps;
                            }
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let d0 = done.load(Ordering::Relaxed);
    let c0 = cpu_seconds(server_pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let n = done.load(Ordering::Relaxed) - d0;
    let elapsed = t0.elapsed().as_secs_f64();
    let rate = n as f64 / elapsed;
    let cores = (cpu_seconds(server_pid) - c0) / elapsed;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    (rate, errors.load(Ordering::Relaxed), cores)
}

struct Latency {
    sent: usize,
    achieved_rate: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    errors: u64,
}

/// (3) Open loop at `rate`/s over 32 connections; latency from the scheduled send time.
async fn get_load(addr: SocketAddr, ids: &[String], rate: u64, secs: u64, auth: &str) -> Latency {
    let conns = 32usize;
    let auth: Arc<str> = Arc::from(auth);
    let interval = Duration::from_secs_f64(conns as f64 / rate as f64);
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs(secs);
    let errors = Arc::new(AtomicU64::new(0));
    let ids: Arc<Vec<String>> = Arc::new(ids.to_vec());
    let mut tasks = Vec::new();
    for c in 0..conns {
        let ids = ids.clone();
        let errors = errors.clone();
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut lat = Vec::new();
            let mut k = 0u32;
            // Stagger connections evenly across one interval.
            let mut next = start + interval.mul_f64(c as f64 / conns as f64);
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                let id = &ids[(c + k as usize * conns) % ids.len()];
                let req =
                    format!("GET /api/v1/applications/{id} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n");
                let (status, _) = conn.exchange(req.as_bytes()).await;
                if status != 200 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(next.elapsed());
                k += 1;
                next += interval;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Latency {
        sent: all.len(),
        achieved_rate: all.len() as f64 / secs as f64,
        p50: pct(0.50),
        p99: pct(0.99),
        max: *all.last().unwrap(),
        errors: errors.load(Ordering::Relaxed),
    }
}

struct LoginResult {
    rate: f64,
    ok: u64,
    failed: u64,
    p50: Duration,
    p99: Duration,
}

/// (7) Logins: open loop at `rate`/s (each on a new connection, as browsers
/// do) when `rate` > 0, else closed loop over `conns` connections.
async fn login_load(addr: SocketAddr, rate: u64, conns: usize, secs: u64) -> LoginResult {
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + Duration::from_secs(secs);
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let workers = if rate > 0 { 8 } else { conns };
    for w in 0..workers {
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            if rate > 0 {
                let interval = Duration::from_secs_f64(workers as f64 / rate as f64);
                let mut next = start + interval.mul_f64(w as f64 / workers as f64);
                while next < end {
                    tokio::time::sleep_until(next.into()).await;
                    let mut conn = Conn::open(addr).await;
                    let (status, _) = conn.exchange(&login_request()).await;
                    if status != 303 {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.push(next.elapsed());
                    next += interval;
                }
            } else {
                let mut conn = Conn::open(addr).await;
                tokio::time::sleep_until(start.into()).await;
                while Instant::now() < end {
                    let t = Instant::now();
                    let (status, _) = conn.exchange(&login_request()).await;
                    if status != 303 {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.push(t.elapsed());
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))];
    let failed = failed.load(Ordering::Relaxed);
    LoginResult {
        rate: (all.len() as u64 - failed) as f64 / secs as f64,
        ok: all.len() as u64 - failed,
        failed,
        p50: pct(0.5),
        p99: pct(0.99),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(ok: bool) -> &'static str {
    if ok { "MET" } else { "MISSED" }
}

/// (8) on one database: a key for every unit, then the closed loop.
fn lifecycle_section(
    rt: &tokio::runtime::Runtime,
    db: &TestDb,
    server: &Server,
    secs: u64,
    connections: usize,
    name: &str,
) {
    let key = {
        let out = cli(
            db,
            &[
                "apikey",
                "create",
                "--name",
                "lifecycle",
                "--scopes",
                LIFECYCLE_SCOPES,
            ],
            None,
        );
        format!("Authorization: Bearer {}\r\n", out.lines().last().unwrap())
    };
    let pid = server.child.id();
    println!("\n## 8. Complete lifecycles over HTTP, {name}, durable, {connections} connections");
    for batched in [false, true] {
        let (rate, errors, cpu) = rt.block_on(lifecycle_load(
            server.addr,
            connections,
            secs,
            &key,
            pid,
            batched,
        ));
        let (how, requests) = if batched {
            (
                "each step of all six orders in one request to /api/v1/work-orders/actions",
                5.0,
            )
        } else {
            ("one request per action", 25.0)
        };
        println!(
            "{how}: {rate:.1} applications/s completed ({requests:.0} requests each, {:.0} requests/s, {errors} errors; server {:.2} cores busy, {:.2} ms CPU per application); target ≥ 1,000/s: {}",
            rate * requests,
            cpu,
            if rate > 0.0 { cpu / rate * 1e3 } else { 0.0 },
            verdict(rate >= 1000.0)
        );
    }
}

fn main() {
    let args = parse_args();
    if args.only.as_deref() == Some("sweep") {
        sweep_scenario();
        return;
    }
    if args.only.as_deref() == Some("board") {
        board_scenario();
        return;
    }
    if args.only.as_deref() == Some("audit") {
        audit_scenario(&args);
        return;
    }
    if args.only.as_deref() == Some("lifecycle") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let db = TestDb::new(Backend::Sqlite);
        let server = start_server(&db);
        lifecycle_section(&rt, &db, &server, args.seconds, args.connections, "SQLite");
        drop(server);
        if !args.skip_postgres {
            let db = TestDb::new(Backend::Postgres);
            let server = start_server(&db);
            lifecycle_section(
                &rt,
                &db,
                &server,
                args.seconds,
                args.connections,
                "PostgreSQL",
            );
        }
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("# onestop benchmark run");
    println!(
        "machine: {} cores, {}; seconds per scenario: {}; POST connections: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |s| s.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_owned())
            )
            .unwrap_or_default(),
        args.seconds,
        args.connections
    );

    let limit = sqlite_commit_limit(args.seconds.min(5));
    println!("\n## 1. SQLite durable-commit limit (same rows, one transaction per application)");
    println!("{limit:.0} applications/s");

    let db = TestDb::new(Backend::Sqlite);
    let server = start_server(&db);
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = rss_kib(server.child.id());
    println!("\n## 5. Start-up and idle memory (SQLite)");
    println!(
        "ready after {:.1} ms (target < 500 ms: {}); idle RSS {:.1} MB (target < 50 MB: {})",
        server.ready.as_secs_f64() * 1e3,
        verdict(server.ready < Duration::from_millis(500)),
        idle_rss as f64 / 1024.0,
        verdict(idle_rss < 50 * 1024)
    );

    let key = credentials(&db);
    let post = rt.block_on(post_load(server.addr, args.connections, args.seconds, &key));
    println!("\n## 2. POST /api/v1/applications, five services, SQLite, durable (API key)");
    println!(
        "{:.0} applications/s ({} created, {} errors); target ≥ 5,000/s: {}",
        post.rate,
        post.ok,
        post.errors,
        verdict(post.rate >= 5000.0)
    );
    let ratio = post.rate / limit;
    println!(
        "ratio to the plain durable-commit limit: {ratio:.2} (target ≥ 0.5: {})",
        verdict(ratio >= 0.5)
    );
    println!(
        "RSS after load: {:.1} MB",
        rss_kib(server.child.id()) as f64 / 1024.0
    );

    // (3/6) GET by id, audited, with an API key and with a session; when a
    // baseline binary is given, its unauthenticated GET too, on a database
    // with the same history. Rounds alternate so that drift of the machine
    // falls on all three alike; the median round (by p99) is reported.
    let session = rt.block_on(session_header(server.addr));
    let baseline = args.baseline_bin.as_ref().map(|bin| {
        let db = TestDb::new(Backend::Sqlite);
        let server = start_server_bin(&db, bin);
        let post = rt.block_on(post_load(server.addr, args.connections, args.seconds, ""));
        (db, server, post.ids, bin.clone())
    });
    // Both databases start the GET rounds settled: the POST load's WAL
    // folded into the database file, as it is after a quiet moment.
    settle(&db);
    if let Some((bdb, ..)) = &baseline {
        settle(bdb);
    }
    // Each server is measured warm and under continuous load: an
    // unmeasured warm-up, then its rounds back to back (the baseline's
    // first, while this server idles).
    let rounds = 3;
    let (mut keyed, mut sessioned, mut base) = (Vec::new(), Vec::new(), Vec::new());
    if let Some((_, bs, ids, _)) = &baseline {
        rt.block_on(get_load(bs.addr, ids, args.get_rate, 2, ""));
        for _ in 0..rounds {
            base.push(rt.block_on(get_load(bs.addr, ids, args.get_rate, args.seconds, "")));
        }
    }
    rt.block_on(get_load(server.addr, &post.ids, args.get_rate, 2, &key));
    for _ in 0..rounds {
        keyed.push(rt.block_on(get_load(
            server.addr,
            &post.ids,
            args.get_rate,
            args.seconds,
            &key,
        )));
        sessioned.push(rt.block_on(get_load(
            server.addr,
            &post.ids,
            args.get_rate,
            args.seconds,
            &session,
        )));
    }
    let median = |mut v: Vec<Latency>| {
        v.sort_by_key(|l| l.p99);
        v.swap_remove(v.len() / 2)
    };
    let show = |name: &str, g: &Latency| {
        println!(
            "{name}: sent {} ({:.0}/s, {} errors); p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; p99 < 5 ms: {}",
            g.sent,
            g.achieved_rate,
            g.errors,
            ms(g.p50),
            ms(g.p99),
            ms(g.max),
            verdict(g.p99 < Duration::from_millis(5))
        );
    };
    println!(
        "\n## 3/6. GET /api/v1/applications/{{id}} at {} requests/s (open loop), SQLite, each read audited; median of {rounds} rounds",
        args.get_rate
    );
    let p99s = |v: &[Latency]| {
        v.iter()
            .map(|l| format!("{:.2}", ms(l.p99)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "p99 per round: API key {} ms; session {} ms{}",
        p99s(&keyed),
        p99s(&sessioned),
        if base.is_empty() {
            String::new()
        } else {
            format!("; unauthenticated baseline {} ms", p99s(&base))
        }
    );
    let get = median(keyed);
    let get_session = median(sessioned);
    show("API key", &get);
    show("session", &get_session);
    if let Some((_, bs, _, bin)) = baseline {
        let base = median(base);
        println!(
            "\n## 6. Against the unauthenticated GET of {bin} (same run, same rate, same history)"
        );
        show("unauthenticated", &base);
        for (name, g) in [("API key", &get), ("session", &get_session)] {
            let r50 = g.p50.as_secs_f64() / base.p50.as_secs_f64();
            let r99 = g.p99.as_secs_f64() / base.p99.as_secs_f64();
            println!(
                "{name}: p50 ×{r50:.2}, p99 ×{r99:.2} of unauthenticated (target ≤ ×1.20: p50 {}, p99 {})",
                verdict(r50 <= 1.2),
                verdict(r99 <= 1.2)
            );
        }
        drop(bs);
    }

    // (8) Complete lifecycles.
    lifecycle_section(&rt, &db, &server, args.seconds, args.connections, "SQLite");

    // (7) Logins, with the production Argon2id cost.
    let most = rt.block_on(login_load(server.addr, 0, 4, args.seconds));
    println!("\n## 7. Logins (Argon2id m=19 MiB, t=2), SQLite");
    println!(
        "most: {:.1} logins/s over 4 connections ({} ok, {} failed; p50 {:.1} ms, p99 {:.1} ms)",
        most.rate,
        most.ok,
        most.failed,
        ms(most.p50),
        ms(most.p99)
    );
    let other_rate = (args.get_rate / 5).max(100);
    let quiet = rt.block_on(get_load(
        server.addr,
        &post.ids,
        other_rate,
        args.seconds,
        &key,
    ));
    let (logins, busy) = rt.block_on(async {
        let l = tokio::spawn(login_load(server.addr, args.login_rate, 0, args.seconds));
        let g = get_load(server.addr, &post.ids, other_rate, args.seconds, &key).await;
        (l.await.unwrap(), g)
    });
    println!(
        "{} logins/s offered: {:.1}/s done ({} failed), login p50 {:.1} ms, p99 {:.1} ms",
        args.login_rate,
        logins.rate,
        logins.failed,
        ms(logins.p50),
        ms(logins.p99)
    );
    println!(
        "GET at {other_rate}/s meanwhile: p50 {:.2} ms, p99 {:.2} ms (without logins: p50 {:.2} ms, p99 {:.2} ms)",
        ms(busy.p50),
        ms(busy.p99),
        ms(quiet.p50),
        ms(quiet.p99)
    );
    drop(server);

    // (9) The level sweeper over a million open orders.
    sweep_scenario();

    if !args.skip_postgres {
        let db = TestDb::new(Backend::Postgres);
        let server = start_server(&db);
        let key = credentials(&db);
        let post = rt.block_on(post_load(server.addr, args.connections, args.seconds, &key));
        println!("\n## 4. POST /api/v1/applications, five services, PostgreSQL, durable");
        println!(
            "{:.0} applications/s ({} created, {} errors)",
            post.rate, post.ok, post.errors
        );
        let get = rt.block_on(get_load(
            server.addr,
            &post.ids,
            args.get_rate,
            args.seconds,
            &key,
        ));
        println!(
            "GET (API key) at {}/s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} errors)",
            args.get_rate,
            get.p50.as_secs_f64() * 1e3,
            get.p99.as_secs_f64() * 1e3,
            get.max.as_secs_f64() * 1e3,
            get.errors
        );
        lifecycle_section(
            &rt,
            &db,
            &server,
            args.seconds,
            args.connections,
            "PostgreSQL",
        );
        drop(server);
        drop(db);
    }
}

/// (11) What the keyed audit chain and the refusal records cost: the
/// server at `ONESTOP_BIN` against `--baseline-bin` (the release before),
/// each on its own fresh SQLite database with the same load, measured in
/// rounds that alternate which goes first.
fn audit_scenario(args: &Args) {
    let Some(before) = args.baseline_bin.clone() else {
        eprintln!("--only audit needs --baseline-bin PATH (the release before the change)");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("# onestop benchmark: the keyed audit chain and refusal records (11)");
    println!(
        "machine: {} cores; seconds per measurement: {}; GET rate {}/s; after = {}, before = {before}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.seconds,
        args.get_rate,
        server_bin()
    );

    // Per audit record: plain SM3 (before) against HMAC-SM3 (after), on a
    // typical audited read's record, alternating five times.
    let record = onestop_store::audit::NewAuditRecord {
        at_ms: 1_767_225_600_123,
        actor_kind: "api_key".into(),
        actor_id: "0193b3c4d5e6f7a8b9c0d1e2f3a4b5c6".into(),
        actor_name: "政务服务网".into(),
        action: "application_read".into(),
        outcome: "success".into(),
        target_kind: "application".into(),
        target_id: "0193b3c4d5e6f7a8b9c0d1e2f3a4b5c7".into(),
        detail: r#"{"number":"LB202612010001"}"#.into(),
        ip: "10.12.34.56".into(),
        request_id: "1f2e-3d4c5b".into(),
    };
    let key = onestop_store::audit::AuditKey::from_bytes(&[0x5a; 32]).unwrap();
    let prev = "ab".repeat(32);
    let n = 200_000u32;
    let (mut plain, mut keyed) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let mut sink = 0usize;
        for i in 0..n {
            sink += onestop_store::audit::record_hash(&prev, i64::from(i), &record).len();
        }
        plain.push(t.elapsed().as_nanos() as f64 / f64::from(n));
        let t = Instant::now();
        for i in 0..n {
            sink += onestop_store::audit::record_mac(&key, &prev, i64::from(i), &record).len();
        }
        keyed.push(t.elapsed().as_nanos() as f64 / f64::from(n));
        assert!(sink > 0);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, k) = (med(&mut plain), med(&mut keyed));
    println!("\n## 11a. One audit record's hash, median of 5 × {n}");
    println!(
        "SM3 {p:.0} ns; HMAC-SM3 {k:.0} ns; +{:.0} ns per record (×{:.2})",
        k - p,
        k / p
    );

    // Two servers, the same history: 3 s of POSTs each, then the same
    // 5,000 applications read.
    let mut servers = Vec::new();
    for (label, bin) in [("before", before.clone()), ("after", server_bin())] {
        let db = TestDb::new(Backend::Sqlite);
        let config = bench_config(&db);
        if label == "before" {
            // The release before knows no setting added since.
            let text = std::fs::read_to_string(&config).unwrap();
            let text: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("lookup_failures_per_hour"))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&config, text).unwrap();
        }
        let server = start_server_with(&db, &bin, Some(&config));
        let key = credentials_of(&bin, &db);
        let mut post = rt.block_on(post_load(server.addr, args.connections, 3, &key));
        post.ids.truncate(5_000);
        settle(&db);
        rt.block_on(get_load(server.addr, &post.ids, args.get_rate, 2, &key));
        servers.push((label, db, server, key, post.ids));
    }
    let ids = servers[0].4.len().min(servers[1].4.len());
    println!("\nboth servers: {ids} applications to read; warmed up 2 s");

    struct Round {
        get: Latency,
        get_cpu_us: f64,
        refused: Latency,
        refused_cpu_us: f64,
        logins: LoginResult,
        login_cpu_ms: f64,
    }
    let rounds = 3;
    let mut results: Vec<Vec<Round>> = vec![Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for &i in &order {
            let (_, _, server, key, all_ids) = &servers[i];
            let ids = &all_ids[..ids];
            let pid = server.child.id();
            let cpu = cpu_seconds(pid);
            let get = rt.block_on(get_load(server.addr, ids, args.get_rate, args.seconds, key));
            let get_cpu_us = (cpu_seconds(pid) - cpu) * 1e6 / get.sent as f64;
            let cpu = cpu_seconds(pid);
            let refused = rt.block_on(get_load(server.addr, ids, args.get_rate, args.seconds, ""));
            let refused_cpu_us = (cpu_seconds(pid) - cpu) * 1e6 / refused.sent as f64;
            let cpu = cpu_seconds(pid);
            let logins = rt.block_on(login_load(server.addr, 0, 4, args.seconds));
            let login_cpu_ms =
                (cpu_seconds(pid) - cpu) * 1e3 / (logins.ok + logins.failed).max(1) as f64;
            results[i].push(Round {
                get,
                get_cpu_us,
                refused,
                refused_cpu_us,
                logins,
                login_cpu_ms,
            });
        }
        println!(
            "round {} done (order: {})",
            round + 1,
            order.map(|i| servers[i].0).join(", ")
        );
    }

    println!(
        "\n## 11b. GET /api/v1/applications/{{id}}, API key, audited, {}/s open loop; per round",
        args.get_rate
    );
    println!("| round | before p50 / p99 | after p50 / p99 | before CPU/req | after CPU/req |");
    println!("|---|---|---|---|---|");
    for (r, (b, a)) in results[0].iter().zip(&results[1]).enumerate() {
        println!(
            "| {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.0} µs | {:.0} µs |",
            r + 1,
            ms(b.get.p50),
            ms(b.get.p99),
            ms(a.get.p50),
            ms(a.get.p99),
            b.get_cpu_us,
            a.get_cpu_us
        );
    }
    println!(
        "errors: before {}, after {}",
        results[0].iter().map(|r| r.get.errors).sum::<u64>(),
        results[1].iter().map(|r| r.get.errors).sum::<u64>()
    );
    println!(
        "\n## 11c. The same GET without credentials (every one 401, refused), {}/s; per round",
        args.get_rate
    );
    println!("| round | before p50 / p99 | after p50 / p99 | before CPU/req | after CPU/req |");
    println!("|---|---|---|---|---|");
    for (r, (b, a)) in results[0].iter().zip(&results[1]).enumerate() {
        println!(
            "| {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.0} µs | {:.0} µs |",
            r + 1,
            ms(b.refused.p50),
            ms(b.refused.p99),
            ms(a.refused.p50),
            ms(a.refused.p99),
            b.refused_cpu_us,
            a.refused_cpu_us
        );
    }
    println!(
        "\n## 11d. Logins (Argon2id m=19 MiB, t=2), closed loop over 4 connections; per round"
    );
    println!(
        "| round | before logins/s (p50, p99) | after logins/s (p50, p99) | before CPU/login | after CPU/login |"
    );
    println!("|---|---|---|---|---|");
    for (r, (b, a)) in results[0].iter().zip(&results[1]).enumerate() {
        println!(
            "| {} | {:.1} ({:.1}, {:.1} ms) | {:.1} ({:.1}, {:.1} ms) | {:.1} ms | {:.1} ms |",
            r + 1,
            b.logins.rate,
            ms(b.logins.p50),
            ms(b.logins.p99),
            a.logins.rate,
            ms(a.logins.p50),
            ms(a.logins.p99),
            b.login_cpu_ms,
            a.login_cpu_ms
        );
    }
    // The after server stopped: its last summaries written.
    let (_, db, server, _, _) = servers.pop().unwrap();
    drop(server);
    let refusals = {
        let mut c = db.target.connect(Role::Writer).unwrap();
        c.query(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'access_refused'",
            &[],
        )
        .ok()
        .and_then(|r| r.first().and_then(|r| r.int(0).ok()))
        .unwrap_or(-1)
    };
    let refused_sent: usize = results[1].iter().map(|r| r.refused.sent).sum();
    println!(
        "\nafter: {refused_sent} refused requests left {refusals} access_refused records \
         (aggregated per caller, route and reason per minute)"
    );
}
