//! The real binary keeps its audit chain honest outside the database: the
//! key made at first start (mode 0600), a signed checkpoint in the file
//! and the log at shutdown, `onestop audit verify` intact — and, after the
//! last records are cut off and the head moved back, naming that from the
//! checkpoint file, or from the server's log alone. On SQLite and on
//! PostgreSQL.

use onestop_store::db::Role;
use onestop_store::params;
use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb, off_runtime};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

onestop_store::on_both_databases_blocking!(the_binary_checkpoints_and_verify_finds_a_cut_off_end);

fn command(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onestop"));
    cmd.env("ONESTOP_DATA_DIR", &db.dir)
        .env("USER", "ops")
        .env_remove("ONESTOP_CONFIG")
        .env_remove("ONESTOP_AUDIT_KEY_FILE")
        .env_remove("ONESTOP_AUDIT_CHECKPOINT_FILE")
        .env_remove("ONESTOP_LOG_FORMAT");
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    cmd
}

fn cli(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = command(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The words of a command line.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A GET over a fresh connection; the status (0: no connection).
fn get(addr: SocketAddr, path: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw)
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn head(db: &TestDb) -> (i64, String) {
    let target = db.target.clone();
    off_runtime(move || {
        let mut c = target.connect(Role::Writer).unwrap();
        let r = c
            .query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .unwrap()
            .unwrap();
        (r.int(0).unwrap(), r.text(1).unwrap().to_owned())
    })
}

fn the_binary_checkpoints_and_verify_finds_a_cut_off_end(backend: Backend) {
    let db = TestDb::new(backend);
    // The first command makes the key, for its owner only.
    let (code, _, err) = cli(
        &db,
        &words("user create --username admin --name 管理员 --role admin"),
    );
    assert_eq!(code, 0, "{err}");
    let key_file = db.dir.join("audit.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let key_text = std::fs::read_to_string(&key_file).unwrap();

    // A server: refused requests, then SIGTERM.
    let addr = free_addr();
    let mut server = command(&db)
        .args(["serve", "--listen", &addr.to_string()])
        .env("RUST_LOG", "warn,onestop::audit::checkpoint=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(addr, "/readyz") != 200 {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..5 {
        assert_eq!(get(addr, "/api/v1/applications"), 401);
    }
    assert_eq!(get(addr, "/admin/accounts"), 303);
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(server.wait().unwrap().success(), "{log}");
    assert!(
        !log.contains(key_text.trim()),
        "the key never reaches the log"
    );

    // The last checkpoint (at shutdown, after every queued record) names
    // the head, in the file and in the log.
    let (head_seq, head_hash) = head(&db);
    let file = db.dir.join("audit-checkpoints.log");
    let text = std::fs::read_to_string(&file).unwrap();
    let last = onestop_server::app::audit_chain::parse_checkpoint(text.lines().last().unwrap())
        .expect("a checkpoint line");
    assert_eq!((last.seq, &last.hash), (head_seq, &head_hash));
    let logged: Vec<_> = log
        .lines()
        .filter_map(onestop_server::app::audit_chain::parse_checkpoint)
        .collect();
    assert_eq!(logged.last(), Some(&last), "{log}");
    // The refusals are on record: five API calls, the page's redirect.
    let target = db.target.clone();
    let counts: Vec<String> = off_runtime(move || {
        let mut c = target.connect(Role::Writer).unwrap();
        c.query(
            "SELECT detail FROM audit_log WHERE action = 'access_refused' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.text(0).unwrap().to_owned())
        .collect()
    });
    let total = |route: &str| -> u64 {
        counts
            .iter()
            .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap())
            .filter(|d| d["route"] == route)
            .map(|d| d["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(total("/api/v1/applications"), 5, "{counts:?}");
    assert_eq!(total("/admin/accounts"), 1, "{counts:?}");

    let (code, out, err) = cli(&db, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit log intact"), "{out}");
    assert!(out.contains("checkpoints checked"), "{out}");

    // An insider cuts off the last two records and moves the head back.
    let target = db.target.clone();
    let cut = head_seq - 2;
    off_runtime(move || {
        let mut c = target.connect(Role::Writer).unwrap();
        let h = c
            .query_opt("SELECT hash FROM audit_log WHERE seq = $1", params![cut])
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap()
            .to_owned();
        c.execute("DELETE FROM audit_log WHERE seq > $1", params![cut])
            .unwrap();
        c.execute("DELETE FROM audit_checkpoints", &[]).unwrap();
        c.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            params![cut, h],
        )
        .unwrap();
    });
    let (code, out, _) = cli(&db, &["audit", "verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit log NOT intact"), "{out}");
    assert!(
        out.contains(&format!(
            "records {}–{head_seq} (2 records): missing at the end — {} line",
            cut + 1,
            file.display()
        )),
        "{out}"
    );
    // The checkpoint file gone too: the server's log still tells.
    std::fs::remove_file(&file).unwrap();
    let (code, out, err) = cli(&db, &["audit", "verify"]);
    assert_eq!(
        code, 0,
        "without any checkpoint the cut cannot be seen: {out}"
    );
    assert!(err.contains("no checkpoint file"), "{err}");
    let saved = db.dir.join("server.log");
    std::fs::write(&saved, &log).unwrap();
    let (code, out, _) = cli(
        &db,
        &["audit", "verify", "--checkpoints", saved.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing at the end"), "{out}");
    assert!(out.contains("server.log line"), "{out}");
}
