//! The audit chain's keeping outside the database: the key file, the
//! checkpoints (table, append-only file, log line), every attack of issue
//! 11 named by verification against a real checkpoint file (with the
//! database's own checkpoints deleted by the attacker), and retention that
//! refuses young records and records itself. On both databases.

mod common;

use common::TestApp;
use onestop_server::app::audit_chain::{
    self, Checkpointer, KeyFileError, load_or_create_key, parse_checkpoint, read_checkpoints,
    read_key,
};
use onestop_store::audit::{
    self, AuditFilter, Checkpoint, NewAuditRecord, ProblemKind, Pruned, VerifyReport,
};
use onestop_store::db::Value;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const DAY: i64 = 86_400_000;

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "onestop-audit-{}",
        onestop_server::auth::random_hex(8)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// ───────────────────────────── the key file ─────────────────────────────

#[test]
#[cfg(unix)]
fn the_key_file_is_made_once_for_its_owner_only() {
    let dir = temp_dir();
    let path = dir.join("data").join("audit.key");
    let (key, created) = load_or_create_key(&path).unwrap();
    assert!(created);
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 65, "64 hex digits and a newline: {text:?}");
    assert!(text.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    // The key never shows in Debug; its fingerprint does.
    let debug = format!("{key:?}");
    assert!(!debug.contains(text.trim()) && debug.contains(key.id()));
    // Read again: the same key, not made anew.
    let (again, created) = load_or_create_key(&path).unwrap();
    assert!(!created);
    assert_eq!(again.id(), key.id());

    // Readable by the group: refused, with what to do.
    chmod(&path, 0o640);
    let e = read_key(&path).unwrap_err();
    assert!(
        matches!(e, KeyFileError::Permissions { mode: 0o640, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("chmod 600"), "{e}");
    assert!(load_or_create_key(&path).is_err());
    chmod(&path, 0o600);
    // Not a key.
    let bad = dir.join("bad.key");
    std::fs::write(&bad, "not hex\n").unwrap();
    chmod(&bad, 0o600);
    assert!(matches!(
        read_key(&bad),
        Err(KeyFileError::Malformed { .. })
    ));
    std::fs::write(&bad, format!("{}\n", "ab".repeat(8))).unwrap();
    assert!(
        matches!(read_key(&bad), Err(KeyFileError::Malformed { .. })),
        "too short"
    );
    assert!(matches!(
        read_key(&dir.join("none.key")),
        Err(KeyFileError::Io { .. })
    ));

    // Eight servers starting at once on one shared folder: one key.
    let race = dir.join("race.key");
    let made: Vec<(String, bool)> = (0..8)
        .map(|_| {
            let race = race.clone();
            std::thread::spawn(move || {
                let (k, created) = load_or_create_key(&race).unwrap();
                (k.id().to_owned(), created)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(made.iter().all(|(id, _)| *id == made[0].0), "{made:?}");
    assert_eq!(made.iter().filter(|(_, c)| *c).count(), 1, "{made:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("new-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ───────────────────────────── log lines ─────────────────────────────

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[test]
fn checkpoint_log_lines_read_back_in_text_and_json() {
    let key = audit::AuditKey::from_bytes(&[9u8; 32]).unwrap();
    let c = Checkpoint::new(&key, 1234, &"ab".repeat(32), 1_767_225_600_000, 1);
    let json = Buffer::default();
    let text = Buffer::default();
    tracing::subscriber::with_default(
        tracing_subscriber::fmt()
            .json()
            .with_writer(json.clone())
            .finish(),
        || {
            tracing::info!(target: "onestop::request", status = 200, "request");
            audit_chain::log_checkpoint(&c);
        },
    );
    tracing::subscriber::with_default(
        tracing_subscriber::fmt()
            .with_ansi(true)
            .with_writer(text.clone())
            .finish(),
        || {
            tracing::info!(target: "onestop::request", status = 200, "request");
            audit_chain::log_checkpoint(&c);
        },
    );
    for (name, buf) in [("json", json), ("text", text)] {
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{name}: {out}");
        assert_eq!(parse_checkpoint(lines[0]), None, "{name}: not a checkpoint");
        let back = parse_checkpoint(lines[1]).unwrap_or_else(|| panic!("{name}: {}", lines[1]));
        assert_eq!(back, c, "{name}");
        assert!(back.mac_ok(&key));
        assert!(lines[1].contains(audit_chain::CHECKPOINT_TARGET), "{name}");
        // A log file given to `audit verify --checkpoints`: the other
        // lines are skipped; as the checkpoint file, they are not.
        let dir = temp_dir();
        let log = dir.join("server.log");
        std::fs::write(&log, &out).unwrap();
        let (found, bad) = read_checkpoints(&log, false).unwrap();
        assert_eq!((found.len(), bad.len()), (1, 0), "{name}");
        assert_eq!(found[0].checkpoint, c);
        assert_eq!(found[0].source, format!("{} line 2", log.display()));
        let (found, bad) = read_checkpoints(&log, true).unwrap();
        assert_eq!(
            (found.len(), bad),
            (1, vec![format!("{} line 1", log.display())])
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

// ───────────────────────────── checkpoints ─────────────────────────────

/// Record `i`, `age_s` seconds before the app's clock.
fn rec(app: &TestApp, i: i64, age_s: i64) -> NewAuditRecord {
    NewAuditRecord {
        at_ms: app.state.now_ms() - age_s * 1_000,
        actor_kind: "account".into(),
        actor_id: format!("acc-{}", i % 7),
        actor_name: format!("张三{}", i % 7),
        action: "application_read".into(),
        outcome: "success".into(),
        target_kind: "application".into(),
        target_id: format!("app-{i}"),
        detail: "{}".into(),
        ip: "10.0.0.5".into(),
        request_id: format!("req-{i}"),
    }
}

async fn append(app: &TestApp, records: Vec<NewAuditRecord>) {
    let key = app.state.audit_key.clone();
    app.write(move |c| audit::append(c, &key, &records)).await;
}

async fn sql(app: &TestApp, sql: &'static str, values: Vec<Value>) -> u64 {
    app.write(move |c| c.execute(sql, &values)).await
}

async fn table_rows(app: &TestApp) -> i64 {
    app.read(|c| Ok(audit::stored_checkpoints(c)?.len() as i64))
        .await
}

async fn checkpoints_go_to_the_table_the_file_and_the_log(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    let file = app.db.dir.join("logs").join("audit-checkpoints.log");
    let cp = Checkpointer::new(Some(file.clone()));
    append(&app, (0..5).map(|i| rec(&app, i, 0)).collect()).await;
    let first = cp
        .run_once(&app.state, false)
        .await
        .unwrap()
        .expect("a checkpoint");
    let head = app.read(|c| audit::read_head(c, false)).await;
    assert_eq!(
        (first.seq, &first.hash, first.at_ms, first.keyed_from),
        (head.seq, &head.hash, app.state.now_ms(), 1)
    );
    assert!(first.mac_ok(&app.state.audit_key));
    // Nothing new: no checkpoint.
    app.state.time.advance_ms(60_000);
    assert_eq!(cp.run_once(&app.state, false).await.unwrap(), None);
    append(&app, vec![rec(&app, 5, 0)]).await;
    let second = cp.run_once(&app.state, false).await.unwrap().unwrap();
    assert_eq!(second.seq, first.seq + 1);

    let (found, bad) = read_checkpoints(&file, true).unwrap();
    assert!(bad.is_empty());
    assert_eq!(
        found
            .iter()
            .map(|f| f.checkpoint.clone())
            .collect::<Vec<_>>(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(found[1].source, format!("{} line 2", file.display()));
    assert_eq!(table_rows(&app).await, 2);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        audit_chain::checkpoint_line(&first)
    );
    // Verified against the file and the table: intact, both counted once.
    let report = audit_chain::verify(&app.state, found).await.unwrap();
    assert!(report.intact(), "{report:#?}");
    assert_eq!(report.checkpoints, 2);
}

// ───────────────────────────── the attacks ─────────────────────────────

/// 200 records over the last five minutes after the test client's key was
/// made (record 1), checkpointed into a file after record 51 and after
/// record 201 — then the attacker deletes the
/// database's checkpoints to cover their tracks.
async fn logged(backend: Backend) -> (TestApp, PathBuf) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    let file = app.db.dir.join("audit-checkpoints.log");
    let cp = Checkpointer::new(Some(file.clone()));
    append(&app, (0..50).map(|i| rec(&app, i, 300)).collect()).await;
    cp.run_once(&app.state, false).await.unwrap().unwrap();
    append(&app, (50..200).map(|i| rec(&app, i, 200)).collect()).await;
    cp.run_once(&app.state, false).await.unwrap().unwrap();
    sql(&app, "DELETE FROM audit_checkpoints", vec![]).await;
    (app, file)
}

async fn verify_with_file(app: &TestApp, file: &Path) -> VerifyReport {
    let (found, bad) = read_checkpoints(file, true).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    audit_chain::verify(&app.state, found).await.unwrap()
}

fn kinds(r: &VerifyReport) -> Vec<(ProblemKind, i64, i64)> {
    r.problems
        .iter()
        .map(|p| (p.kind, p.first_seq, p.last_seq))
        .collect()
}

async fn hash_of(app: &TestApp, seq: i64) -> String {
    app.read(move |c| {
        audit::list(
            c,
            &AuditFilter {
                before_seq: Some(seq + 1),
                limit: 1,
                ..Default::default()
            },
        )
    })
    .await[0]
        .hash
        .clone()
}

async fn every_attack_of_issue_11_is_named(backend: Backend) {
    use ProblemKind::*;
    let (app, file) = logged(backend).await;
    assert!(verify_with_file(&app, &file).await.intact());

    // "the last 10 records deleted and audit_head moved back"
    let h191 = hash_of(&app, 191).await;
    sql(&app, "DELETE FROM audit_log WHERE seq > 191", vec![]).await;
    let head_back = "UPDATE audit_head SET seq = 191, hash = $1 WHERE id = 1";
    sql(&app, head_back, vec![h191.into()]).await;
    let report = verify_with_file(&app, &file).await;
    assert_eq!(kinds(&report), vec![(Truncated, 192, 201)]);
    assert!(
        report.problems[0].message.contains(&format!(
            "{} line 2 (2026-12-01T02:00:00Z) saw record 201, but the log ends at record 191",
            file.display()
        )),
        "{}",
        report.problems[0].message
    );

    // "the first 100 records (5 minutes old, retention 180 days) deleted
    // and the prune anchor moved"
    let (app, file) = logged(backend).await;
    let h100 = hash_of(&app, 100).await;
    sql(&app, "DELETE FROM audit_log WHERE seq <= 100", vec![]).await;
    sql(
        &app,
        "UPDATE audit_head SET anchor_seq = 100, anchor_hash = $1, anchor_at = $2, \
         pruned_at = $3, retention_days = 180 WHERE id = 1",
        vec![
            h100.into(),
            (app.state.now_ms() - 200 * DAY).into(),
            app.state.now_ms().into(),
        ],
    )
    .await;
    let report = verify_with_file(&app, &file).await;
    assert_eq!(
        kinds(&report),
        vec![(SealBroken, 100, 100), (AnchorInsideRetention, 100, 100)]
    );

    // "everything wiped and the head reset"
    let (app, file) = logged(backend).await;
    sql(&app, "DELETE FROM audit_log", vec![]).await;
    sql(
        &app,
        "UPDATE audit_head SET seq = 0, hash = $1, anchor_seq = 0, anchor_hash = $1, seal = '' \
         WHERE id = 1",
        vec![audit::GENESIS_HASH.into()],
    )
    .await;
    let report = verify_with_file(&app, &file).await;
    assert_eq!(kinds(&report), vec![(Wiped, 1, 201)]);
    assert!(report.problems[0].message.starts_with("the log was wiped"));

    // "a record edited and the chain recomputed with plain SM3"
    let (app, file) = logged(backend).await;
    let rows = app.stored_audit().await;
    let mut prev = rows
        .iter()
        .find(|r| r.seq == 120)
        .unwrap()
        .prev_hash
        .clone();
    for r in rows.iter().rev().filter(|r| r.seq >= 120) {
        let outcome = if r.seq == 120 {
            "denied"
        } else {
            r.outcome.as_str()
        };
        let new = NewAuditRecord {
            at_ms: r.at_ms,
            actor_kind: r.actor_kind.clone(),
            actor_id: r.actor_id.clone(),
            actor_name: r.actor_name.clone(),
            action: r.action.clone(),
            outcome: outcome.into(),
            target_kind: r.target_kind.clone(),
            target_id: r.target_id.clone(),
            detail: r.detail.clone(),
            ip: r.ip.clone(),
            request_id: r.request_id.clone(),
        };
        let hash = audit::record_hash(&prev, r.seq, &new);
        sql(
            &app,
            "UPDATE audit_log SET outcome = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            vec![
                outcome.into(),
                prev.clone().into(),
                hash.clone().into(),
                r.seq.into(),
            ],
        )
        .await;
        prev = hash;
    }
    let head_to = "UPDATE audit_head SET hash = $1 WHERE id = 1";
    sql(&app, head_to, vec![prev.into()]).await;
    let report = verify_with_file(&app, &file).await;
    assert_eq!(
        kinds(&report),
        vec![
            (RecomputedWithoutKey, 120, 201),
            (CheckpointMismatch, 201, 201)
        ]
    );

    // The file edited to match: its MAC gives the edit away.
    let (app, file) = logged(backend).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replace("\"seq\":201,", "\"seq\":191,");
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let report = verify_with_file(&app, &file).await;
    assert_eq!(kinds(&report), vec![(CheckpointForged, 191, 191)]);
}

// ───────────────────────────── retention ─────────────────────────────

async fn prune_refuses_young_records_and_records_itself(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    append(&app, (0..30).map(|i| rec(&app, i, 60)).collect()).await;
    let before = app.read(audit::count).await;
    let me = onestop_server::app::accounts::system_caller("cli:ops");
    assert_eq!(
        audit_chain::prune(&app.state, &me).await.unwrap(),
        Pruned::Nothing
    );
    let pruned = |app: &TestApp| {
        let store = app.state.store.clone();
        async move {
            store
                .read(|c| {
                    audit::list(
                        c,
                        &AuditFilter {
                            action: Some("audit_pruned".into()),
                            limit: 10,
                            ..Default::default()
                        },
                    )
                })
                .await
                .unwrap()
        }
    };
    let runs = pruned(&app).await;
    assert_eq!(runs.len(), 1);
    let d: serde_json::Value = serde_json::from_str(&runs[0].detail).unwrap();
    assert_eq!(
        (d["removed"].as_i64(), d["retention_days"].as_i64()),
        (Some(0), Some(180))
    );
    assert_eq!(runs[0].actor_name, "cli:ops");

    // Half a year and a day later, everything before goes, the run itself
    // on record with the range, and the rest verifies.
    app.state.time.advance_ms(181 * DAY);
    let done = audit_chain::prune(&app.state, &me).await.unwrap();
    let total = before + 1;
    assert!(
        matches!(done, Pruned::Removed { count, first_seq: 1, last_seq, .. }
            if count as i64 == total && last_seq == total),
        "{done:?}"
    );
    let runs = pruned(&app).await;
    assert_eq!(runs.len(), 1, "the first run's record went with the rest");
    let d: serde_json::Value = serde_json::from_str(&runs[0].detail).unwrap();
    assert_eq!(
        (
            d["removed"].as_i64(),
            d["first_seq"].as_i64(),
            d["last_seq"].as_i64()
        ),
        (Some(total), Some(1), Some(total))
    );
    assert_eq!(runs[0].seq, total + 1);
    let report = audit_chain::verify(&app.state, Vec::new()).await.unwrap();
    assert!(report.intact(), "{report:#?}");
    assert_eq!((report.first_seq, report.checked), (total + 1, 1));

    // A moved anchor: prune refuses, and says so in the log.
    sql(
        &app,
        "UPDATE audit_head SET anchor_at = 1 WHERE id = 1",
        vec![],
    )
    .await;
    app.state.time.advance_ms(200 * DAY);
    let done = audit_chain::prune(&app.state, &me).await.unwrap();
    assert!(matches!(done, Pruned::Refused(_)), "{done:?}");
    let runs = pruned(&app).await;
    assert_eq!(runs[0].outcome, "failure");
    assert!(runs[0].detail.contains("refused"));
}

on_both_databases!(
    checkpoints_go_to_the_table_the_file_and_the_log,
    every_attack_of_issue_11_is_named,
    prune_refuses_young_records_and_records_itself
);
