//! The command line an operator uses: accounts, API keys and the audit log,
//! including a tampered audit record found by `onestop audit verify`. On
//! SQLite and on PostgreSQL.

use onestop_store::db::Role;
use onestop_store::params;
use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb};
use std::process::Command;

onestop_store::on_both_databases_blocking!(accounts_keys_and_a_tampered_audit_log);

fn cli(db: &TestDb, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onestop"));
    cmd.args(args)
        .env("ONESTOP_DATA_DIR", &db.dir)
        .env("RUST_LOG", "warn")
        .env("USER", "ops")
        .env_remove("ONESTOP_CONFIG");
    match db.database_url() {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let out = if let Some(input) = stdin {
        use std::io::Write;
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Written, then closed: the command reads to the end.
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
        drop(pipe);
        child.wait_with_output().unwrap()
    } else {
        cmd.output().unwrap()
    };
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

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

fn accounts_keys_and_a_tampered_audit_log(backend: Backend) {
    let db = TestDb::new(backend);
    // The first administrator, with a generated temporary password.
    let (code, out, err) = cli(
        &db,
        &words("user create --username admin --name 系统管理员 --role admin"),
        None,
    );
    assert_eq!(code, 0, "{err}");
    let password = last_line(&out);
    assert!(
        onestop_domain::access::check_password(password, "admin").is_ok(),
        "{out}"
    );
    assert!(out.contains("must be changed at first login"));
    // Refused input is named, with the field.
    let (code, _, err) = cli(
        &db,
        &words("user create --username x --name 某 --role operator:sz-nowhere"),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("username") && err.contains("roles.0"), "{err}");
    let (code, _, err) = cli(
        &db,
        &words("user create --username admin --name again --role admin"),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("already_exists"), "{err}");
    // A chosen password from standard input, checked against the rules.
    let water_operator =
        "user create --username op.water --name 水务经办 --role operator:sz-water --password-stdin";
    let (code, _, err) = cli(&db, &words(water_operator), Some("weak\n"));
    assert_eq!(code, 1);
    assert!(err.contains("weak_password"), "{err}");
    let (code, out, err) = cli(&db, &words(water_operator), Some("Water-2026-op\n"));
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("Water-2026-op"),
        "a chosen password is never echoed"
    );
    let (_, out, _) = cli(&db, &["user", "list"], None);
    assert!(
        out.contains("admin") && out.contains("operator:sz-water"),
        "{out}"
    );
    let (code, _, _) = cli(&db, &["user", "disable", "--username", "op.water"], None);
    assert_eq!(code, 0);
    let (_, out, _) = cli(&db, &["user", "list"], None);
    assert!(
        out.lines()
            .any(|l| l.starts_with("op.water") && l.contains("disabled")),
        "{out}"
    );
    let (code, out, _) = cli(
        &db,
        &["user", "reset-password", "--username", "op.water"],
        None,
    );
    assert_eq!(code, 0);
    assert!(onestop_domain::access::check_password(last_line(&out), "op.water").is_ok());

    // API keys: shown once, alone on the last line; listed by prefix only.
    let key_for_the_portal =
        words("apikey create --name 政务服务网 --scopes applications:read,applications:write");
    let (code, out, err) = cli(&db, &key_for_the_portal, None);
    assert_eq!(code, 0, "{err}");
    let key = last_line(&out).to_owned();
    assert!(key.starts_with("osk_") && key.len() == 68, "{out}");
    let (_, list, _) = cli(&db, &["apikey", "list"], None);
    assert!(!list.contains(&key) && list.contains(&key[..12]), "{list}");
    let id = list.split('\t').next().unwrap().to_owned();
    let (code, _, err) = cli(&db, &words("apikey create --name x --scopes root"), None);
    assert_eq!(code, 1);
    assert!(err.contains("scopes"), "{err}");
    assert_eq!(cli(&db, &["apikey", "revoke", "--id", &id], None).0, 0);
    assert_eq!(
        cli(&db, &["apikey", "revoke", "--id", &id], None).0,
        1,
        "already revoked"
    );

    // The audit log verifies, then one changed byte is found and named.
    let (code, out, _) = cli(&db, &["audit", "verify"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact"), "{out}");
    let target = db.target.clone();
    let (seq, name) = onestop_store::testing::off_runtime(move || {
        let mut c = target.connect(Role::Writer).unwrap();
        let row = c
            .query_opt(
                "SELECT seq, actor_name FROM audit_log WHERE action = 'account_created' ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .unwrap()
            .unwrap();
        (row.int(0).unwrap(), row.text(1).unwrap().to_owned())
    });
    assert_eq!(name, "cli:ops", "the operator is named");
    let target = db.target.clone();
    onestop_store::testing::off_runtime(move || {
        let mut c = target.connect(Role::Writer).unwrap();
        // cli:ops → cli:opt — one byte.
        c.execute(
            "UPDATE audit_log SET actor_name = $1 WHERE seq = $2",
            params!["cli:opt", seq],
        )
        .unwrap();
    });
    let (code, out, _) = cli(&db, &["audit", "verify"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit log NOT intact: 1 problems"), "{out}");
    assert!(
        out.contains(&format!(
            "  - record {seq}: changed — the content does not match its hash"
        )),
        "names record {seq}: {out}"
    );
    // Pruning keeps at least 180 days: nothing this young goes.
    let (code, out, _) = cli(&db, &["audit", "prune"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("no audit record is older than 180 days; nothing removed"),
        "{out}"
    );
}
