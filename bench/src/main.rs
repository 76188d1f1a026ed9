//! onestop's HTTP load scenarios. Results go to BENCHMARKS.md.
//!
//! `cargo run --release -p onestop-bench -- [--seconds N] [--connections C] [--skip-postgres]
//! [--only lifecycle|sweep|board|audit|pairs|halls|payments] [--baseline-bin BEFORE]`
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
//!
//! `--only pairs --baseline-bin BEFORE` (12) pairs the same two servers,
//! three rounds alternating which goes first, each on its own fresh
//! database: submit, the audited GET at a fixed rate and the lifecycle on
//! SQLite, the lifecycle on PostgreSQL; each round, the medians and the
//! ratio this/before against the rounds' own spread. Then it counts each
//! binary's PostgreSQL round trips per submit and per action through a
//! relay between the server and the database, in a fixed pass of its own.
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
    /// Run one scenario only (`lifecycle`, `sweep`, `board`, `audit`, `pairs`,
    /// `halls`, `payments`).
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
    spawn_server(db, bin, config, db.database_url())
}

/// Starts `bin` on `db`'s data folder, its database at `database_url`
/// (None: SQLite in the folder), and waits until it is ready.
fn spawn_server(
    db: &TestDb,
    bin: &str,
    config: Option<&std::path::Path>,
    database_url: Option<String>,
) -> Server {
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
    match database_url {
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
    (4, r#""action":"connect","connected_at":"{now}""#),
];

/// A step's body with `{now}` filled in: the current minute in Beijing
/// time (a connection time is neither before the stage started nor in the
/// future).
fn life_step(body: &str) -> String {
    if !body.contains("{now}") {
        return body.to_owned();
    }
    let t = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let now = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:00+08:00",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute()
    );
    body.replace("{now}", &now)
}

/// Submits one five-service application (`n` names it); returns its work
/// orders' ids, or None when the submit was refused.
async fn submit_for_orders(conn: &mut Conn, n: u64, auth: &str) -> Option<Vec<String>> {
    let (status, body) = conn
        .exchange(&post_request(&five_service_body(n).to_string(), auth))
        .await;
    let app: Value = match (status, serde_json::from_slice(&body)) {
        (201, Ok(v)) => v,
        _ => return None,
    };
    Some(
        app["work_orders"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Takes `orders` through [`LIFE_STEPS`] to the end: one request per action,
/// or (`batched`) each step for all of them in one request to
/// `/api/v1/work-orders/actions`. False at the first refusal.
async fn drive_orders(conn: &mut Conn, orders: &[String], auth: &str, batched: bool) -> bool {
    if batched {
        for (version, body) in LIFE_STEPS {
            let body = life_step(body);
            let items: Vec<String> = orders
                .iter()
                .map(|o| format!("{{\"work_order_id\":\"{o}\",{body},\"version\":{version}}}"))
                .collect();
            let body = format!("{{\"actions\":[{}]}}", items.join(","));
            let (status, answer) = conn.exchange(&batch_request(&body, auth)).await;
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
                return false;
            }
        }
    } else {
        for order in orders {
            for (version, body) in LIFE_STEPS {
                let body = format!("{{{},\"version\":{version}}}", life_step(body));
                let (status, _) = conn.exchange(&action_request(order, &body, auth)).await;
                if status != 200 {
                    return false;
                }
            }
        }
    }
    true
}

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
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let completed = match submit_for_orders(&mut conn, n, &auth).await {
                    Some(orders) => drive_orders(&mut conn, &orders, &auth, batched).await,
                    None => false,
                };
                if completed {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
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
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/applications/{id}"))
        .collect();
    paths_load(addr, &paths, rate, secs, auth).await
}

/// GETs of `paths` (in turn) in an open loop at `rate`/s over 32
/// connections; latency from the scheduled send time.
async fn paths_load(
    addr: SocketAddr,
    paths: &[String],
    rate: u64,
    secs: u64,
    auth: &str,
) -> Latency {
    let ids = paths;
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
                let req = format!("GET {id} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n");
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

/// Prints a Markdown table: the header, then each row's cells.
fn print_table(head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    println!("| {} |", head.join(" | "));
    println!("|{}", "---|".repeat(head.len()));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(ok: bool) -> &'static str {
    if ok { "MET" } else { "MISSED" }
}

/// An API key (`Authorization` header line) that submits and drives every
/// unit's orders, made with `bin`'s own command line.
fn lifecycle_key(bin: &str, db: &TestDb) -> String {
    let out = cli_of(
        bin,
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
    let key = lifecycle_key(&server_bin(), db);
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

mod payments;

fn main() {
    let args = parse_args();
    if args.only.as_deref() == Some("payments") {
        payments::scenario(
            &server_bin(),
            args.seconds,
            args.connections,
            args.skip_postgres,
        );
        return;
    }
    if args.only.as_deref() == Some("sweep") {
        sweep_scenario();
        return;
    }
    if args.only.as_deref() == Some("board") {
        board_scenario();
        return;
    }
    if args.only.as_deref() == Some("pairs") {
        pairs_scenario(&args);
        return;
    }
    if args.only.as_deref() == Some("audit") {
        audit_scenario(&args);
        return;
    }
    if args.only.as_deref() == Some("halls") {
        halls_scenario(&args);
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
    let (p, k) = (median(&plain), median(&keyed));
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

    let latency_table = |title: String, pick: fn(&Round) -> (&Latency, f64)| {
        println!("\n## {title}; per round");
        let rows = results[0]
            .iter()
            .zip(&results[1])
            .enumerate()
            .map(|(r, (b, a))| {
                let ((b, b_cpu), (a, a_cpu)) = (pick(b), pick(a));
                vec![
                    (r + 1).to_string(),
                    format!("{:.2} / {:.2} ms", ms(b.p50), ms(b.p99)),
                    format!("{:.2} / {:.2} ms", ms(a.p50), ms(a.p99)),
                    format!("{b_cpu:.0} µs"),
                    format!("{a_cpu:.0} µs"),
                ]
            });
        print_table(
            &[
                "round",
                "before p50 / p99",
                "after p50 / p99",
                "before CPU/req",
                "after CPU/req",
            ],
            rows,
        );
    };
    latency_table(
        format!(
            "11b. GET /api/v1/applications/{{id}}, API key, audited, {}/s open loop",
            args.get_rate
        ),
        |r| (&r.get, r.get_cpu_us),
    );
    println!(
        "errors: before {}, after {}",
        results[0].iter().map(|r| r.get.errors).sum::<u64>(),
        results[1].iter().map(|r| r.get.errors).sum::<u64>()
    );
    latency_table(
        format!(
            "11c. The same GET without credentials (every one 401, refused), {}/s",
            args.get_rate
        ),
        |r| (&r.refused, r.refused_cpu_us),
    );
    println!(
        "\n## 11d. Logins (Argon2id m=19 MiB, t=2), closed loop over 4 connections; per round"
    );
    let login = |l: &LoginResult| format!("{:.1} ({:.1}, {:.1} ms)", l.rate, ms(l.p50), ms(l.p99));
    print_table(
        &[
            "round",
            "before logins/s (p50, p99)",
            "after logins/s (p50, p99)",
            "before CPU/login",
            "after CPU/login",
        ],
        results[0]
            .iter()
            .zip(&results[1])
            .enumerate()
            .map(|(r, (b, a))| {
                vec![
                    (r + 1).to_string(),
                    login(&b.logins),
                    login(&a.logins),
                    format!("{:.1} ms", b.login_cpu_ms),
                    format!("{:.1} ms", a.login_cpu_ms),
                ]
            }),
    );
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

/// The median of `v` (the upper one of an even count).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A TCP relay between a server and PostgreSQL that counts round trips: one
/// each time, on a connection, the client sends again after the database
/// has answered (every client burst that follows a reply).
struct CountingProxy {
    addr: SocketAddr,
    round_trips: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Listens on a free local port, on a thread of its own, and relays
    /// every connection to `upstream` (`host:port`).
    fn start(upstream: String) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let round_trips = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (trips, opened) = (round_trips.clone(), connections.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    opened.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(relay(client, upstream.clone(), trips.clone()));
                }
            });
        });
        CountingProxy {
            addr,
            round_trips,
            connections,
        }
    }

    fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

/// Relays one connection both ways, counting into `round_trips`.
async fn relay(client: TcpStream, upstream: String, round_trips: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    // Whether the database spoke last on this connection.
    let answered = Arc::new(AtomicBool::new(false));
    let replied = answered.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
            if answered.swap(false, Ordering::AcqRel) {
                round_trips.fetch_add(1, Ordering::Relaxed);
            }
            if server_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_tx.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
            // Marked before it is relayed: the client's next burst answers it.
            replied.store(true, Ordering::Release);
            if client_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_tx.shutdown().await;
    };
    tokio::join!(up, down);
}

/// A PostgreSQL URL cut around its `host[:port]`: (before, host, after).
fn split_pg_host(url: &str) -> (&str, &str, &str) {
    let scheme = url.find("://").expect("a postgres:// URL") + 3;
    let rest = &url[scheme..];
    let authority = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = rest[..authority].rfind('@').map_or(0, |i| i + 1);
    (
        &url[..scheme + host],
        &rest[host..authority],
        &rest[authority..],
    )
}

/// The `host:port` a PostgreSQL URL connects to (one TCP host).
fn pg_upstream(url: &str) -> String {
    let (_, host, _) = split_pg_host(url);
    assert!(
        !host.is_empty() && !host.contains(','),
        "round trips are counted for one TCP host, not {url}"
    );
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// The same URL, connecting to `addr` instead.
fn pg_through(url: &str, addr: SocketAddr) -> String {
    let (before, _, after) = split_pg_host(url);
    format!("{before}{addr}{after}")
}

/// Requests of one kind in the counting pass: how many, their round trips
/// and the time they took.
#[derive(Default)]
struct Counted {
    requests: u64,
    trips: u64,
    took: Duration,
}

/// One binary's PostgreSQL round trips over a counting pass.
#[derive(Default)]
struct RoundTrips {
    submits: Counted,
    /// One request per action.
    actions: Counted,
    /// Batched requests (one step of an application's orders each) and
    /// the actions in them.
    batches: Counted,
    batched_actions: u64,
    /// The background jobs' own round trips per second while nothing is asked.
    idle_per_s: f64,
    connections_opened: u64,
}

impl RoundTrips {
    /// Round trips per `per` (per request by default); `net`: less the
    /// background jobs' share over the time the requests took (their idle
    /// rate), which the relay cannot tell apart.
    fn per(&self, c: &Counted, per: Option<u64>, net: bool) -> f64 {
        let background = if net {
            self.idle_per_s * c.took.as_secs_f64()
        } else {
            0.0
        };
        (c.trips as f64 - background) / per.unwrap_or(c.requests) as f64
    }
}

/// A round-trip figure: its name, and how it is read (`true`: net of the
/// background jobs).
type TripFigure = (&'static str, fn(&RoundTrips, bool) -> f64);

/// Applications in each half of the counting pass.
const COUNTED_APPS: u64 = 20;

/// Starts `bin` on a fresh PostgreSQL schema with its database URL pointing
/// at a [`CountingProxy`], lets it idle 3 s (the background jobs' own round
/// trips), warms it up with 6 lifecycles, then takes [`COUNTED_APPS`]
/// applications through their whole lifecycle with one request per action
/// and as many again in the batched form — over one connection, one request
/// at a time, so that no two requests share a transaction — counting the
/// submits and the actions apart.
fn count_round_trips(rt: &tokio::runtime::Runtime, bin: &str) -> RoundTrips {
    let db = TestDb::new(Backend::Postgres);
    let config = bench_config(&db);
    let url = db.database_url().expect("a PostgreSQL URL");
    let proxy = CountingProxy::start(pg_upstream(&url));
    let server = spawn_server(&db, bin, Some(&config), Some(pg_through(&url, proxy.addr)));
    let key = lifecycle_key(bin, &db);
    std::thread::sleep(Duration::from_secs(1));
    let (idle0, t) = (proxy.round_trips(), Instant::now());
    std::thread::sleep(Duration::from_secs(3));
    let idle_per_s = (proxy.round_trips() - idle0) as f64 / t.elapsed().as_secs_f64();
    rt.block_on(async {
        let mut conn = Conn::open(server.addr).await;
        let mut n = 0u64;
        let mut submit = async |conn: &mut Conn| {
            n += 1;
            submit_for_orders(conn, n, &key).await.expect("submit")
        };
        for batched in [false, true, false, true, false, true] {
            let orders = submit(&mut conn).await;
            assert!(drive_orders(&mut conn, &orders, &key, batched).await);
        }
        let connections = proxy.connections();
        let mut trips = RoundTrips {
            idle_per_s,
            ..RoundTrips::default()
        };
        // Round trips and time of the requests sent between the two.
        let start = || (proxy.round_trips(), Instant::now());
        let stop = |c: &mut Counted, (c0, t): (u64, Instant)| {
            c.trips += proxy.round_trips() - c0;
            c.took += t.elapsed();
        };
        for batched in [false, true] {
            let mark = start();
            let mut apps = Vec::new();
            for _ in 0..COUNTED_APPS {
                apps.push(submit(&mut conn).await);
            }
            stop(&mut trips.submits, mark);
            trips.submits.requests += COUNTED_APPS;
            let mark = start();
            for orders in &apps {
                assert!(drive_orders(&mut conn, orders, &key, batched).await);
            }
            let actions = apps.iter().map(Vec::len).sum::<usize>() as u64 * LIFE_STEPS.len() as u64;
            if batched {
                stop(&mut trips.batches, mark);
                trips.batches.requests = COUNTED_APPS * LIFE_STEPS.len() as u64;
                trips.batched_actions = actions;
            } else {
                stop(&mut trips.actions, mark);
                trips.actions.requests = actions;
            }
        }
        trips.connections_opened = proxy.connections() - connections;
        trips
    })
}

/// One binary's figures in one round of `--only pairs`.
#[derive(Clone, Default)]
struct PairRound {
    submit_rate: f64,
    submit_cpu_us: f64,
    get_p50_ms: f64,
    get_p99_ms: f64,
    get_cpu_us: f64,
    /// Complete applications/s and CPU ms per application: [one request
    /// per action, batched], on SQLite and on PostgreSQL.
    life: [f64; 2],
    life_cpu_ms: [f64; 2],
    pg_life: [f64; 2],
    pg_life_cpu_ms: [f64; 2],
    errors: u64,
}

/// A figure of [`PairRound`]: its name, whether higher is better, and how
/// it is read.
type PairMetric = (&'static str, bool, fn(&PairRound) -> f64);

const SQLITE_METRICS: [PairMetric; 9] = [
    ("(a) submit: applications/s", true, |r| r.submit_rate),
    ("(a) submit: CPU µs per request", false, |r| {
        r.submit_cpu_us
    }),
    ("(b) audited GET: p50 ms", false, |r| r.get_p50_ms),
    ("(b) audited GET: p99 ms", false, |r| r.get_p99_ms),
    ("(b) audited GET: CPU µs per request", false, |r| {
        r.get_cpu_us
    }),
    (
        "(c) lifecycle, one request per action: applications/s",
        true,
        |r| r.life[0],
    ),
    (
        "(c) lifecycle, one request per action: CPU ms per application",
        false,
        |r| r.life_cpu_ms[0],
    ),
    ("(c) lifecycle, batched: applications/s", true, |r| {
        r.life[1]
    }),
    (
        "(c) lifecycle, batched: CPU ms per application",
        false,
        |r| r.life_cpu_ms[1],
    ),
];

const PG_METRICS: [PairMetric; 4] = [
    (
        "(d) lifecycle, one request per action: applications/s",
        true,
        |r| r.pg_life[0],
    ),
    (
        "(d) lifecycle, one request per action: CPU ms per application",
        false,
        |r| r.pg_life_cpu_ms[0],
    ),
    ("(d) lifecycle, batched: applications/s", true, |r| {
        r.pg_life[1]
    }),
    (
        "(d) lifecycle, batched: CPU ms per application",
        false,
        |r| r.pg_life_cpu_ms[1],
    ),
];

/// The ratio this/before of the medians, the noise band and the verdict.
/// The noise band is the larger relative spread ((max − min) / median) of
/// either binary's own rounds; a difference counts only when the ratio of
/// the medians is further from 1 than that band and every round's pair
/// points the same way.
fn judge(before: &[f64], this: &[f64], higher_is_better: bool) -> (f64, f64, &'static str) {
    let ratio = median(this) / median(before);
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(*x), hi.max(*x))
            });
        (hi - lo) / median(v)
    };
    let noise = spread(before).max(spread(this));
    let up = this.iter().zip(before).all(|(t, b)| t > b);
    let down = this.iter().zip(before).all(|(t, b)| t < b);
    let verdict = if !ratio.is_finite() || !noise.is_finite() {
        "no figure"
    } else if (ratio - 1.0).abs() <= noise || !(up || down) {
        "within noise"
    } else if (ratio > 1.0) == higher_is_better {
        "better, beyond noise"
    } else {
        "WORSE, beyond noise"
    };
    (ratio, noise, verdict)
}

/// A figure with the digits it deserves.
fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Every round of both binaries and the verdict, one row per figure.
fn print_pairs(rounds: &[[PairRound; 2]], metrics: &[PairMetric]) {
    let n = rounds.len();
    let mut head = vec!["figure".to_owned()];
    for r in 0..n {
        let first = if r.is_multiple_of(2) {
            "before"
        } else {
            "this"
        };
        head.push(format!("round {} ({first} first): before → this", r + 1));
    }
    head.extend(
        [
            "median before",
            "median this",
            "this/before",
            "noise (round spread)",
            "verdict",
        ]
        .map(String::from),
    );
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    print_table(
        &head,
        metrics.iter().map(|(name, higher_is_better, pick)| {
            let b: Vec<f64> = rounds.iter().map(|r| pick(&r[0])).collect();
            let t: Vec<f64> = rounds.iter().map(|r| pick(&r[1])).collect();
            let (ratio, noise, verdict) = judge(&b, &t, *higher_is_better);
            let mut row = vec![(*name).to_owned()];
            row.extend(
                b.iter()
                    .zip(&t)
                    .map(|(b, t)| format!("{} → {}", figure(*b), figure(*t))),
            );
            row.extend([
                figure(median(&b)),
                figure(median(&t)),
                format!("×{ratio:.3}"),
                format!("±{:.1} %", noise * 100.0),
                verdict.to_owned(),
            ]);
            row
        }),
    );
}

/// One binary's server in `--only pairs`, warmed up.
struct PairSide {
    label: &'static str,
    server: Server,
    db: TestDb,
    /// An API key for submits and reads; one that drives every unit's orders.
    key: String,
    life_key: String,
    /// Applications to read (SQLite only).
    ids: Vec<String>,
}

/// Starts `bin` on a fresh database and warms it up: on SQLite 2 s of
/// submits (the applications read later) and 2 s of reads; on both, 1 s of
/// each lifecycle form (after the load's own warm-up second).
fn pair_side(
    rt: &tokio::runtime::Runtime,
    label: &'static str,
    bin: &str,
    backend: Backend,
    args: &Args,
) -> PairSide {
    let db = TestDb::new(backend);
    let config = bench_config(&db);
    let server = start_server_with(&db, bin, Some(&config));
    let key = credentials_of(bin, &db);
    let life_key = lifecycle_key(bin, &db);
    let mut ids = Vec::new();
    if backend == Backend::Sqlite {
        ids = rt
            .block_on(post_load(server.addr, args.connections, 2, &key))
            .ids;
        ids.truncate(5_000);
        settle(&db);
        rt.block_on(get_load(server.addr, &ids, args.get_rate, 2, &key));
    }
    for batched in [false, true] {
        rt.block_on(lifecycle_load(
            server.addr,
            args.connections,
            1,
            &life_key,
            server.child.id(),
            batched,
        ));
    }
    PairSide {
        label,
        server,
        db,
        key,
        life_key,
        ids,
    }
}

/// Runs one lifecycle load on `side`; returns (applications/s, CPU ms per
/// application) and adds its errors to `round`.
fn pair_lifecycle(
    rt: &tokio::runtime::Runtime,
    side: &PairSide,
    args: &Args,
    batched: bool,
    round: &mut PairRound,
    tag: &str,
) -> (f64, f64) {
    let (rate, errors, cores) = rt.block_on(lifecycle_load(
        side.server.addr,
        args.connections,
        args.seconds,
        &side.life_key,
        side.server.child.id(),
        batched,
    ));
    let cpu_ms = if rate > 0.0 { cores / rate * 1e3 } else { 0.0 };
    round.errors += errors;
    println!(
        "{tag} · {} · lifecycle {}: {rate:.1} applications/s, {cpu_ms:.2} ms CPU per application, {errors} errors",
        side.label,
        if batched { "batched" } else { "per action" },
    );
    (rate, cpu_ms)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `--only pairs`: the server at `ONESTOP_BIN` ("this") against
/// `--baseline-bin` ("before"), each on its own fresh database with the
/// same load, in rounds that alternate which goes first: (a) submit,
/// (b) the audited GET at a fixed rate, (c) the lifecycle on SQLite,
/// (d) the lifecycle on PostgreSQL — then each binary's PostgreSQL round
/// trips per submit and per action, counted through a relay in a separate
/// fixed pass.
fn pairs_scenario(args: &Args) {
    const ROUNDS: usize = 3;
    let Some(before) = args.baseline_bin.clone() else {
        eprintln!("--only pairs needs --baseline-bin PATH (the release before the change)");
        std::process::exit(2);
    };
    let bins = [("before", before), ("this", server_bin())];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("# onestop benchmark: this release against the release before, paired");
    println!(
        "machine: {} cores; load average {}; seconds per measurement: {}; connections: {}; GET rate {}/s; {ROUNDS} rounds",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        args.seconds,
        args.connections,
        args.get_rate,
    );
    println!("before = {}\nthis   = {}", bins[0].1, bins[1].1);
    let order = |r: usize| if r.is_multiple_of(2) { [0, 1] } else { [1, 0] };
    // Each round's figures: [before, this].
    let mut rounds = vec![[PairRound::default(), PairRound::default()]; ROUNDS];

    // (a)–(c) on SQLite.
    let sides: Vec<PairSide> = bins
        .iter()
        .map(|(label, bin)| pair_side(&rt, label, bin, Backend::Sqlite, args))
        .collect();
    let reads = sides[0].ids.len().min(sides[1].ids.len());
    println!("\nSQLite: both servers warmed up; {reads} applications to read\n");
    for (r, pair) in rounds.iter_mut().enumerate() {
        let tag = format!("round {}", r + 1);
        for i in order(r) {
            let (side, round) = (&sides[i], &mut pair[i]);
            let pid = side.server.child.id();
            let cpu = cpu_seconds(pid);
            let post = rt.block_on(post_load(
                side.server.addr,
                args.connections,
                args.seconds,
                &side.key,
            ));
            round.submit_rate = post.rate;
            round.submit_cpu_us =
                (cpu_seconds(pid) - cpu) * 1e6 / (post.ok + post.errors).max(1) as f64;
            round.errors += post.errors;
            println!(
                "{tag} · {} · submit: {:.0} applications/s, {:.0} µs CPU per request, {} errors",
                side.label, post.rate, round.submit_cpu_us, post.errors
            );
        }
        for i in order(r) {
            let (side, round) = (&sides[i], &mut pair[i]);
            let pid = side.server.child.id();
            settle(&side.db);
            let cpu = cpu_seconds(pid);
            let get = rt.block_on(get_load(
                side.server.addr,
                &side.ids[..reads],
                args.get_rate,
                args.seconds,
                &side.key,
            ));
            round.get_cpu_us = (cpu_seconds(pid) - cpu) * 1e6 / get.sent.max(1) as f64;
            round.get_p50_ms = ms(get.p50);
            round.get_p99_ms = ms(get.p99);
            round.errors += get.errors;
            println!(
                "{tag} · {} · audited GET: p50 {:.2} ms, p99 {:.2} ms, {:.0} µs CPU per request, {} errors",
                side.label, round.get_p50_ms, round.get_p99_ms, round.get_cpu_us, get.errors
            );
        }
        for batched in [false, true] {
            for i in order(r) {
                let round = &mut pair[i];
                let (rate, cpu) = pair_lifecycle(&rt, &sides[i], args, batched, round, &tag);
                round.life[usize::from(batched)] = rate;
                round.life_cpu_ms[usize::from(batched)] = cpu;
            }
        }
    }
    drop(sides);

    // (d) the lifecycle on PostgreSQL, then the round trips.
    let trips = if args.skip_postgres {
        None
    } else {
        let sides: Vec<PairSide> = bins
            .iter()
            .map(|(label, bin)| pair_side(&rt, label, bin, Backend::Postgres, args))
            .collect();
        println!("\nPostgreSQL: both servers warmed up\n");
        for (r, pair) in rounds.iter_mut().enumerate() {
            let tag = format!("round {}", r + 1);
            for batched in [false, true] {
                for i in order(r) {
                    let round = &mut pair[i];
                    let (rate, cpu) = pair_lifecycle(&rt, &sides[i], args, batched, round, &tag);
                    round.pg_life[usize::from(batched)] = rate;
                    round.pg_life_cpu_ms[usize::from(batched)] = cpu;
                }
            }
        }
        drop(sides);
        Some(bins.clone().map(|(_, bin)| count_round_trips(&rt, &bin)))
    };

    println!(
        "\n## Pairs (a)–(c). SQLite, durable: submit ({} connections, closed loop), audited GET with an API key ({}/s, open loop), lifecycle ({} connections); {ROUNDS} rounds",
        args.connections, args.get_rate, args.connections
    );
    print_pairs(&rounds, &SQLITE_METRICS);
    if trips.is_some() {
        println!(
            "\n## Pairs (d). Lifecycle on PostgreSQL ({} connections); {ROUNDS} rounds",
            args.connections
        );
        print_pairs(&rounds, &PG_METRICS);
    }
    let errors = |i: usize| {
        rounds
            .iter()
            .map(|r| r[i].errors.to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "\nerrors per round: before {}; this {}",
        errors(0),
        errors(1)
    );
    if let Some([b, t]) = trips {
        println!(
            "\n## Pairs (d′). PostgreSQL round trips, counted through a relay: {COUNTED_APPS} applications per form, one request at a time"
        );
        let rows: [TripFigure; 6] = [
            ("per submit (five services)", |x, net| {
                x.per(&x.submits, None, net)
            }),
            ("per action, one request per action", |x, net| {
                x.per(&x.actions, None, net)
            }),
            ("per batched request (one step of six orders)", |x, net| {
                x.per(&x.batches, None, net)
            }),
            ("per action, batched form", |x, net| {
                x.per(&x.batches, Some(x.batched_actions), net)
            }),
            (
                "per complete application, one request per action",
                |x, net| x.per(&x.submits, None, net) + x.per(&x.actions, Some(COUNTED_APPS), net),
            ),
            ("per complete application, batched", |x, net| {
                x.per(&x.submits, None, net) + x.per(&x.batches, Some(COUNTED_APPS), net)
            }),
        ];
        print_table(
            &["round trips", "before (raw)", "this (raw)", "this/before"],
            rows.iter().map(|(name, f)| {
                vec![
                    (*name).to_owned(),
                    format!("{:.2} ({:.2})", f(&b, true), f(&b, false)),
                    format!("{:.2} ({:.2})", f(&t, true), f(&t, false)),
                    format!("×{:.3}", f(&t, true) / f(&b, true)),
                ]
            }),
        );
        for (label, x) in [("before", &b), ("this", &t)] {
            let took = x.submits.took + x.actions.took + x.batches.took;
            println!(
                "{label}: {} submits ({} round trips), {} actions one per request ({}), {} batched requests ({}) in {:.1} s; \
                 idle background {:.1} round trips/s (≈{:.0} of the pass's, taken off the first figures); {} connections opened during the pass",
                x.submits.requests,
                x.submits.trips,
                x.actions.requests,
                x.actions.trips,
                x.batches.requests,
                x.batches.trips,
                took.as_secs_f64(),
                x.idle_per_s,
                x.idle_per_s * took.as_secs_f64(),
                x.connections_opened
            );
        }
    }
    println!("\nload average at the end: {}", load_average());
}

/// (13) `--only halls`: the shared service halls' public reads under load on
/// SQLite — the directory page (`/halls`, six halls with the server-drawn
/// map), the directory as JSON and the 15-minute circle from varied places —
/// each in an open loop at 500, 1,000 and 2,000 requests/s.
fn halls_scenario(args: &Args) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = TestDb::new(Backend::Sqlite);
    let server = start_server(&db);
    println!(
        "machine: {} cores, {}; seconds per step: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_average(),
        args.seconds
    );
    let mut places = Vec::new();
    for k in 0..200u32 {
        let lat = 31.60 + f64::from(k % 20) * 0.01;
        let lng = 113.30 + f64::from(k / 20) * 0.02;
        places.push(format!(
            "/api/v1/halls/nearby?lat={lat:.4}&lng={lng:.4}&service=gas&business=pay&mode=walk"
        ));
    }
    let sets: [(&str, Vec<String>); 3] = [
        ("GET /halls (page)", vec!["/halls".to_owned()]),
        ("GET /api/v1/halls", vec!["/api/v1/halls".to_owned()]),
        ("GET /api/v1/halls/nearby", places),
    ];
    let mut rows = Vec::new();
    rt.block_on(async {
        // Warm-up: the registry loaded, connections open.
        let _ = paths_load(server.addr, &sets[0].1, 200, 1, "").await;
        for (name, paths) in &sets {
            for rate in [500u64, 1_000, 2_000] {
                let l = paths_load(server.addr, paths, rate, args.seconds, "").await;
                rows.push(vec![
                    (*name).to_owned(),
                    format!("{rate}/s"),
                    format!("{:.0}/s", l.achieved_rate),
                    format!("{:.2}", ms(l.p50)),
                    format!("{:.2}", ms(l.p99)),
                    format!("{:.2}", ms(l.max)),
                    l.errors.to_string(),
                ]);
            }
        }
    });
    print_table(
        &[
            "read", "offered", "done", "p50 ms", "p99 ms", "max ms", "errors",
        ],
        rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_pointed_at_the_relay() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres?options=-c%20search_path%3Dt_1";
        assert_eq!(pg_upstream(url), "127.0.0.1:5432");
        let relay: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        assert_eq!(
            pg_through(url, relay),
            "postgres://postgres@127.0.0.1:40001/postgres?options=-c%20search_path%3Dt_1"
        );
        assert_eq!(pg_upstream("postgres://db.local/x"), "db.local:5432");
        assert_eq!(pg_upstream("postgresql://u:p@[::1]/x"), "[::1]:5432");
        assert_eq!(
            pg_through("postgresql://u:p@[::1]:6432", relay),
            "postgresql://u:p@127.0.0.1:40001"
        );
    }

    #[test]
    fn a_difference_counts_only_beyond_the_rounds_spread_and_in_every_round() {
        let before = [100.0, 104.0, 98.0];
        // 6 % of spread; 3 % apart: within.
        assert_eq!(
            judge(&before, &[103.0, 106.0, 101.0], true).2,
            "within noise"
        );
        // 20 % fewer in every round: worse when higher is better.
        let (ratio, noise, verdict) = judge(&before, &[80.0, 83.0, 79.0], true);
        assert!((ratio - 0.8).abs() < 1e-9 && (noise - 0.06).abs() < 1e-9);
        assert_eq!(verdict, "WORSE, beyond noise");
        assert_eq!(
            judge(&before, &[80.0, 83.0, 79.0], false).2,
            "better, beyond noise"
        );
        // Far apart at the median but one round the other way: within.
        assert_eq!(judge(&before, &[80.0, 120.0, 79.0], true).2, "within noise");
    }

    #[test]
    fn the_relay_counts_each_client_burst_after_a_reply() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // An echo server stands in for the database.
            let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let upstream = echo.local_addr().unwrap().to_string();
            tokio::spawn(async move {
                let (mut s, _) = echo.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    s.write_all(&buf[..n]).await.unwrap();
                }
            });
            let proxy = CountingProxy::start(upstream);
            let mut c = TcpStream::connect(proxy.addr).await.unwrap();
            let mut buf = [0u8; 1024];
            for _ in 0..5 {
                c.write_all(b"ping").await.unwrap();
                let mut got = 0;
                while got < 4 {
                    got += c.read(&mut buf).await.unwrap();
                }
            }
            // The first burst follows no reply: four round trips after it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(proxy.round_trips(), 4);
            assert_eq!(proxy.connections(), 1);
        });
    }
}
