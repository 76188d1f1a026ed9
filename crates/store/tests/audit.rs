//! The keyed audit chain on both databases: appending, listing, verifying,
//! every attack of issue 11 being named (a changed record, a removed one,
//! records cut off the end, a wiped log, a moved anchor, a chain recomputed
//! without the key, a moved boundary, forged checkpoints), records from
//! before the key, retention, and concurrent appends.

use hmac::{Hmac, Mac};
use onestop_store::audit::{
    self, AuditFilter, AuditKey, AuditRecord, Checkpoint, GENESIS_HASH, NewAuditRecord,
    ProblemKind, Pruned, SourcedCheckpoint, VerifyOptions, VerifyReport,
};
use onestop_store::db::Value;
use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb};
use onestop_store::{Store, StoreError, StoreOptions};
use sm3::{Digest, Sm3};

const DAY: i64 = 86_400_000;

async fn open_with(backend: Backend, options: Option<StoreOptions>) -> (Store, TestDb) {
    let db = TestDb::new(backend);
    let options = options.unwrap_or(StoreOptions {
        readers: 2,
        writers: 1,
    });
    (db.open_store_with(options).await, db)
}

async fn open(backend: Backend) -> (Store, TestDb) {
    open_with(backend, None).await
}

const KEY_BYTES: [u8; 32] = *b"test key: not for real use 12345";

fn key() -> AuditKey {
    AuditKey::from_bytes(&KEY_BYTES).unwrap()
}

/// Record `i`: Chinese text, quotes, backslashes and JSON in the fields.
fn rec(i: i64) -> NewAuditRecord {
    NewAuditRecord {
        at_ms: 1_767_225_600_000 + i * 1_000,
        actor_kind: "account".into(),
        actor_id: format!("acc-{}", i % 7),
        actor_name: format!("张三{}", i % 7),
        action: if i % 3 == 0 {
            "login"
        } else {
            "application_read"
        }
        .into(),
        outcome: "success".into(),
        target_kind: "application".into(),
        target_id: format!("app-{}", i % 5),
        detail: format!(r#"{{"n":{i},"note":"O'Brien \"引号\" \\ 反斜杠"}}"#),
        ip: "10.0.0.5".into(),
        request_id: format!("req-{i}"),
    }
}

async fn append(store: &Store, records: Vec<NewAuditRecord>) -> Vec<i64> {
    store
        .write(move |c| audit::append(c, &key(), &records))
        .await
        .unwrap()
}

/// Appends `n` records numbered from `from`, in batches of `batch`.
async fn append_range(store: &Store, from: i64, n: i64, batch: i64) {
    let mut i = from;
    while i < from + n {
        let end = (i + batch).min(from + n);
        let seqs = append(store, (i..end).map(rec).collect()).await;
        assert_eq!(seqs.len() as i64, end - i);
        i = end;
    }
}

/// Verification on a clock standing in 2100 (every test record is old).
const LATER: i64 = 4_102_444_800_000;

async fn verify_at(store: &Store, now_ms: i64, outside: Vec<SourcedCheckpoint>) -> VerifyReport {
    store
        .read(move |c| {
            audit::verify(
                c,
                VerifyOptions {
                    key: &key(),
                    checkpoints: &outside,
                    now_ms,
                },
            )
        })
        .await
        .unwrap()
}

async fn verify_with(store: &Store, outside: Vec<SourcedCheckpoint>) -> VerifyReport {
    verify_at(store, LATER, outside).await
}

async fn verify(store: &Store) -> VerifyReport {
    verify_with(store, Vec::new()).await
}

/// The problems of a report as (kind, first seq, last seq).
fn kinds(r: &VerifyReport) -> Vec<(ProblemKind, i64, i64)> {
    r.problems
        .iter()
        .map(|p| (p.kind, p.first_seq, p.last_seq))
        .collect()
}

/// Asserts an intact report over `first..=last` with `checked` records.
#[track_caller]
fn assert_intact(r: &VerifyReport, checked: i64, first: i64, last: i64) {
    assert!(r.intact(), "not intact: {:#?}", r.problems);
    assert_eq!(
        (r.checked, r.first_seq, r.last_seq),
        (checked, first, last),
        "{r:?}"
    );
}

async fn list(store: &Store, filter: AuditFilter) -> Vec<AuditRecord> {
    store.read(move |c| audit::list(c, &filter)).await.unwrap()
}

/// At most 1000 records of the filter `pick` sets.
async fn listed(store: &Store, pick: impl FnOnce(&mut AuditFilter)) -> Vec<AuditRecord> {
    let mut filter = AuditFilter {
        limit: 1000,
        ..Default::default()
    };
    pick(&mut filter);
    list(store, filter).await
}

async fn count(store: &Store) -> i64 {
    store.read(audit::count).await.unwrap()
}

/// Runs raw SQL through the writer (the tampering an attacker with database
/// access could do); returns the rows changed.
async fn sql(store: &Store, sql: &'static str, values: Vec<Value>) -> u64 {
    store.write(move |c| c.execute(sql, &values)).await.unwrap()
}

async fn get(store: &Store, seq: i64) -> AuditRecord {
    let all = list(
        store,
        AuditFilter {
            before_seq: Some(seq + 1),
            limit: 1,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all[0].seq, seq, "record {seq} is not there");
    all[0].clone()
}

async fn head(store: &Store) -> audit::Head {
    store.read(|c| audit::read_head(c, false)).await.unwrap()
}

fn as_new(r: &AuditRecord) -> NewAuditRecord {
    NewAuditRecord {
        at_ms: r.at_ms,
        actor_kind: r.actor_kind.clone(),
        actor_id: r.actor_id.clone(),
        actor_name: r.actor_name.clone(),
        action: r.action.clone(),
        outcome: r.outcome.clone(),
        target_kind: r.target_kind.clone(),
        target_id: r.target_id.clone(),
        detail: r.detail.clone(),
        ip: r.ip.clone(),
        request_id: r.request_id.clone(),
    }
}

/// Retention as `onestop audit prune` runs it, on a clock standing
/// `retention_days` after `cut`: removes the prefix older than `cut`.
async fn prune_before(store: &Store, cut: i64) -> Pruned {
    store
        .write(move |c| audit::prune(c, &key(), cut + 180 * DAY, 180))
        .await
        .unwrap()
}

fn removed(p: Pruned) -> u64 {
    match p {
        Pruned::Removed { count, .. } => count,
        Pruned::Nothing => 0,
        Pruned::Refused(r) => panic!("prune refused: {r}"),
    }
}

/// A checkpoint of the current head, signed now (as the server's job makes
/// it), kept in the database and returned as a file line would carry it.
async fn checkpoint(store: &Store, at_ms: i64) -> SourcedCheckpoint {
    let c = store
        .write(move |c| {
            let cp = audit::checkpoint(c, &key(), at_ms)?;
            audit::save_checkpoint(c, &cp)?;
            Ok(cp)
        })
        .await
        .unwrap();
    SourcedCheckpoint {
        source: format!("checkpoint file line {}", c.seq),
        checkpoint: c,
    }
}

/// Rewrites records `from..=to` with `edit` applied to record `from`,
/// recomputing every hash with plain SM3 and moving the head: what someone
/// with write access to the database but without the key can do.
async fn recompute_without_key(store: &Store, from: i64, to: i64, edit: fn(&mut NewAuditRecord)) {
    let mut prev = get(store, from).await.prev_hash;
    for seq in from..=to {
        let mut r = as_new(&get(store, seq).await);
        if seq == from {
            edit(&mut r);
        }
        let hash = audit::record_hash(&prev, seq, &r);
        let values: Vec<Value> = vec![
            r.outcome.clone().into(),
            r.actor_name.clone().into(),
            r.detail.clone().into(),
            prev.clone().into(),
            hash.clone().into(),
            seq.into(),
        ];
        sql(
            store,
            "UPDATE audit_log SET outcome = $1, actor_name = $2, detail = $3, prev_hash = $4, \
             hash = $5 WHERE seq = $6",
            values,
        )
        .await;
        prev = hash;
    }
    sql(
        store,
        "UPDATE audit_head SET hash = $1 WHERE id = 1",
        vec![prev.into()],
    )
    .await;
}

// ───────────────────────────── the hashes ─────────────────────────────

fn encoded_example() -> (NewAuditRecord, String) {
    let r = NewAuditRecord {
        at_ms: 1_767_225_600_123,
        actor_kind: "account".into(),
        actor_id: "acc-1".into(),
        actor_name: "张三".into(),
        action: "login".into(),
        outcome: "success".into(),
        target_kind: "".into(),
        target_id: "".into(),
        detail: "{}".into(),
        ip: "10.0.0.5".into(),
        request_id: "req-1".into(),
    };
    let encoded = format!(
        "64:{GENESIS_HASH}1:713:1767225600123\
         7:account5:acc-16:张三5:login7:success0:0:2:{{}}8:10.0.0.55:req-1"
    );
    (r, encoded)
}

#[test]
fn record_hash_is_sm3_over_length_prefixed_fields() {
    let (r, encoded) = encoded_example();
    let expected = hex::encode(Sm3::digest(encoded.as_bytes()));
    assert_eq!(audit::record_hash(GENESIS_HASH, 7, &r), expected);
    assert_eq!(expected.len(), 64);
    assert!(
        expected
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // The SM3 implementation itself: GB/T 32905-2016's example "abc".
    assert_eq!(
        hex::encode(Sm3::digest(b"abc")),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
}

/// HMAC (RFC 2104) with SM3 written out by hand: SM3((K ⊕ opad) ‖
/// SM3((K ⊕ ipad) ‖ m)), block size 64.
fn hmac_sm3_by_hand(key: &[u8], message: &[u8]) -> String {
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let mut inner = Sm3::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sm3::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    hex::encode(outer.finalize())
}

#[test]
fn record_mac_is_hmac_sm3_over_the_same_encoding() {
    let (r, encoded) = encoded_example();
    let expected = hmac_sm3_by_hand(&KEY_BYTES, encoded.as_bytes());
    assert_eq!(audit::record_mac(&key(), GENESIS_HASH, 7, &r), expected);
    // The crate agrees with the construction by hand.
    let mut m = <Hmac<Sm3> as Mac>::new_from_slice(&KEY_BYTES).unwrap();
    m.update(encoded.as_bytes());
    assert_eq!(hex::encode(m.finalize().into_bytes()), expected);
    // Another key, another MAC; the plain hash is neither.
    let other = AuditKey::from_bytes(&[7u8; 32]).unwrap();
    assert_ne!(audit::record_mac(&other, GENESIS_HASH, 7, &r), expected);
    assert_ne!(audit::record_hash(GENESIS_HASH, 7, &r), expected);
    // Short keys are refused; Debug shows a fingerprint, never the key.
    assert!(AuditKey::from_bytes(&[1u8; 15]).is_err());
    let debug = format!("{:?}", key());
    assert_eq!(debug, format!("AuditKey(id {})", key().id()));
    assert_eq!(key().id().len(), 16);
    assert!(!debug.contains("test key"));
    assert_ne!(key().id(), other.id());
}

#[test]
fn every_field_and_every_boundary_changes_the_mac() {
    let k = key();
    let base = rec(1);
    let h = audit::record_mac(&k, GENESIS_HASH, 1, &base);
    assert_ne!(audit::record_mac(&k, GENESIS_HASH, 2, &base), h, "seq");
    assert_ne!(
        audit::record_mac(&k, &"1".repeat(64), 1, &base),
        h,
        "prev_hash"
    );
    let edits: Vec<fn(&mut NewAuditRecord)> = vec![
        |r| r.at_ms += 1,
        |r| r.actor_kind.push('x'),
        |r| r.actor_id.push('x'),
        |r| r.actor_name.push('x'),
        |r| r.action.push('x'),
        |r| r.outcome.push('x'),
        |r| r.target_kind.push('x'),
        |r| r.target_id.push('x'),
        |r| r.detail.push('x'),
        |r| r.ip.push('x'),
        |r| r.request_id.push('x'),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut r = base.clone();
        edit(&mut r);
        assert_ne!(audit::record_mac(&k, GENESIS_HASH, 1, &r), h, "field {i}");
        assert_ne!(
            audit::record_hash(GENESIS_HASH, 1, &r),
            audit::record_hash(GENESIS_HASH, 1, &base),
            "field {i}"
        );
    }
    // Moving a character across a field boundary changes the MAC too.
    let mut a = base.clone();
    a.actor_id = "ab".into();
    a.actor_name = "c".into();
    let mut b = base.clone();
    b.actor_id = "a".into();
    b.actor_name = "bc".into();
    assert_ne!(
        audit::record_mac(&k, GENESIS_HASH, 1, &a),
        audit::record_mac(&k, GENESIS_HASH, 1, &b)
    );
}

#[test]
fn checkpoints_are_signed() {
    let k = key();
    let c = Checkpoint::new(&k, 40, &"ab".repeat(32), 1_767_225_600_000, 1);
    assert!(c.mac_ok(&k));
    let encoded = format!(
        "27:onestop-audit-checkpoint-v12:4064:{}13:17672256000001:1",
        "ab".repeat(32)
    );
    assert_eq!(c.mac, hmac_sm3_by_hand(&KEY_BYTES, encoded.as_bytes()));
    let other = AuditKey::from_bytes(&[7u8; 32]).unwrap();
    assert!(!c.mac_ok(&other));
    for edit in [
        |c: &mut Checkpoint| c.seq += 1,
        |c: &mut Checkpoint| c.hash = "cd".repeat(32),
        |c: &mut Checkpoint| c.at_ms += 1,
        |c: &mut Checkpoint| c.keyed_from += 1,
        |c: &mut Checkpoint| c.mac = "0".repeat(64),
    ] {
        let mut d = c.clone();
        edit(&mut d);
        assert!(!d.mac_ok(&k), "{d:?}");
    }
    // The file's line format.
    let line = serde_json::to_string(&c).unwrap();
    assert_eq!(
        line,
        format!(
            r#"{{"seq":40,"hash":"{}","at":1767225600000,"keyed_from":1,"mac":"{}"}}"#,
            "ab".repeat(32),
            c.mac
        )
    );
}

// ─────────────────────────── append and list ───────────────────────────

async fn append_chains_records_and_keeps_them_as_given(backend: Backend) {
    let (store, _db) = open(backend).await;
    assert_intact(&verify(&store).await, 0, 1, 0);
    let fresh = head(&store).await;
    assert_eq!(
        (fresh.seq, fresh.keyed_from, fresh.seal.as_str()),
        (0, 1, "")
    );
    assert_eq!(append(&store, vec![]).await, Vec::<i64>::new());
    assert_eq!(count(&store).await, 0);

    assert_eq!(
        append(&store, (0..3).map(rec).collect()).await,
        vec![1, 2, 3]
    );
    // The first keyed append seals the boundary and the anchor.
    assert_eq!(head(&store).await.seal.len(), 64);
    assert_eq!(append(&store, vec![rec(3)]).await, vec![4]);
    assert_eq!(append(&store, (4..6).map(rec).collect()).await, vec![5, 6]);
    assert_eq!(count(&store).await, 6);

    let mut all = list(&store, AuditFilter::default()).await;
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![6, 5, 4, 3, 2, 1],
        "newest first"
    );
    all.reverse();
    let mut prev = GENESIS_HASH.to_owned();
    for (i, r) in all.iter().enumerate() {
        assert_eq!(as_new(r), rec(i as i64), "fields round-trip unchanged");
        assert_eq!(r.prev_hash, prev);
        assert_eq!(r.hash, audit::record_mac(&key(), &prev, r.seq, &as_new(r)));
        prev = r.hash.clone();
    }
    let h = head(&store).await;
    assert_eq!((h.seq, h.hash.as_str()), (6, prev.as_str()));
    assert_eq!((h.anchor_seq, h.anchor_hash.as_str()), (0, GENESIS_HASH));
    let report = verify(&store).await;
    assert_intact(&report, 6, 1, 6);
    assert_eq!(report.keyed_from, 1);

    // Several appends in ONE transaction continue each other's chain.
    let seqs = store
        .write(|c| {
            let a = audit::append(c, &key(), &[rec(6)])?;
            let b = audit::append(c, &key(), &[rec(7), rec(8)])?;
            Ok((a, b))
        })
        .await
        .unwrap();
    assert_eq!(seqs, (vec![7], vec![8, 9]));
    // A transaction that fails leaves no record and no gap behind.
    let failed = store
        .write(|c| {
            audit::append(c, &key(), &[rec(9)])?;
            Err::<(), _>(StoreError::Internal("the caller's work failed".into()))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(append(&store, vec![rec(9)]).await, vec![10]);
    assert_intact(&verify(&store).await, 10, 1, 10);

    // Verified with another key, every record is "changed".
    let other = store
        .read(|c| {
            audit::verify(
                c,
                VerifyOptions {
                    key: &AuditKey::from_bytes(&[7u8; 32]).unwrap(),
                    checkpoints: &[],
                    now_ms: LATER,
                },
            )
        })
        .await
        .unwrap();
    assert_eq!(
        kinds(&other),
        vec![
            (ProblemKind::SealBroken, 0, 0),
            (ProblemKind::Changed, 1, 10)
        ]
    );
}

async fn list_filters_and_pages(backend: Backend) {
    let (store, _db) = open(backend).await;
    append_range(&store, 0, 100, 30).await;
    let seqs = |v: &[AuditRecord]| v.iter().map(|r| r.seq).collect::<Vec<_>>();
    // rec(i) is record seq i + 1.
    let expect = |keep: &dyn Fn(i64) -> bool| -> Vec<i64> {
        (0..100).rev().filter(|&i| keep(i)).map(|i| i + 1).collect()
    };

    // actor: by id, by name, never by a prefix.
    let by_id = listed(&store, |f| f.actor = Some("acc-3".into())).await;
    assert_eq!(seqs(&by_id), expect(&|i| i % 7 == 3));
    assert!(by_id.iter().all(|r| r.actor_id == "acc-3"));
    let by_name = listed(&store, |f| f.actor = Some("张三3".into())).await;
    assert_eq!(by_name, by_id);
    let prefix = listed(&store, |f| f.actor = Some("acc-".into())).await;
    assert!(prefix.is_empty());

    let logins = listed(&store, |f| f.action = Some("login".into())).await;
    assert_eq!(seqs(&logins), expect(&|i| i % 3 == 0));
    let target = listed(&store, |f| f.target_id = Some("app-2".into())).await;
    assert_eq!(seqs(&target), expect(&|i| i % 5 == 2));

    // from inclusive, to exclusive.
    let t = |i: i64| rec(i).at_ms;
    let window = listed(&store, |f| {
        f.from_ms = Some(t(10));
        f.to_ms = Some(t(20));
    })
    .await;
    assert_eq!(seqs(&window), expect(&|i| (10..20).contains(&i)));
    let from = listed(&store, |f| f.from_ms = Some(t(95))).await;
    assert_eq!(seqs(&from), vec![100, 99, 98, 97, 96]);
    let to = listed(&store, |f| f.to_ms = Some(t(3))).await;
    assert_eq!(seqs(&to), vec![3, 2, 1]);

    // Everything together: acc-0 logins are i = 0, 21, 42, 63, 84.
    let mut both = AuditFilter {
        actor: Some("acc-0".into()),
        action: Some("login".into()),
        target_id: None,
        from_ms: Some(t(1)),
        to_ms: Some(t(84)),
        before_seq: None,
        limit: 0,
    };
    assert_eq!(seqs(&list(&store, both.clone()).await), vec![64, 43, 22]);
    both.target_id = Some("app-2".into());
    assert_eq!(seqs(&list(&store, both.clone()).await), vec![43]);
    both.before_seq = Some(43);
    assert!(list(&store, both).await.is_empty());

    // Limits: 0 means the default, and the page size is respected.
    assert_eq!(list(&store, AuditFilter::default()).await.len(), 100);
    let three = listed(&store, |f| f.limit = 3).await;
    assert_eq!(seqs(&three), vec![100, 99, 98]);

    // Keyset paging: pages of 7 with a filter collect every match once, in order.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = listed(&store, |f| {
            f.action = Some("application_read".into());
            f.before_seq = before;
            f.limit = 7;
        })
        .await;
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        before = Some(last.seq);
        paged.extend(seqs(&page));
    }
    assert_eq!(paged, expect(&|i| i % 3 != 0));
}

// ───────────────────────────── verification ─────────────────────────────

async fn a_chain_of_thousands_verifies(backend: Backend) {
    let (store, _db) = open(backend).await;
    // Batches of 1, 250, 5,000 (more rows than one statement takes on either
    // database) and 1,749; the verifier reads 5,000 records per page.
    append_range(&store, 0, 1, 1).await;
    append_range(&store, 1, 250, 250).await;
    append_range(&store, 251, 5_000, 5_000).await;
    append_range(&store, 5_251, 1_749, 1_749).await;
    assert_eq!(count(&store).await, 7_000);
    assert_intact(&verify(&store).await, 7_000, 1, 7_000);
    assert_eq!(as_new(&get(&store, 7_000).await), rec(6_999));
    assert_eq!(as_new(&get(&store, 3_000).await), rec(2_999));
}

/// A chain of 40 records, verified intact.
async fn chain_of_40(backend: Backend) -> (Store, TestDb) {
    let (store, db) = open(backend).await;
    append_range(&store, 0, 40, 9).await;
    assert_intact(&verify(&store).await, 40, 1, 40);
    (store, db)
}

/// (field, the UPDATE, the changed value, the original, the problems).
type Case = (
    &'static str,
    &'static str,
    Value,
    Value,
    Vec<(ProblemKind, i64, i64)>,
);

/// Changes one byte of one field of a middle record, then puts it back.
async fn one_changed_byte_is_found(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    let original = get(&store, 17).await;
    // "张三" → "张丁": U+4E09 → U+4E01, E4 B8 89 → E4 B8 81.
    let name = original.actor_name.replace('三', "丁");
    let detail = original.detail.replacen("\"n\":16", "\"n\":17", 1);
    let ip = "10.0.0.6".to_owned();
    let flip = |h: &str| format!("{}{}", &h[..63], if h.ends_with('0') { "1" } else { "0" });
    let prev = flip(&original.prev_hash);
    let hash = flip(&original.hash);

    use ProblemKind::*;
    let cases: Vec<Case> = vec![
        (
            "actor_name",
            "UPDATE audit_log SET actor_name = $1 WHERE seq = $2",
            name.into(),
            original.actor_name.clone().into(),
            vec![(Changed, 17, 17)],
        ),
        (
            "detail",
            "UPDATE audit_log SET detail = $1 WHERE seq = $2",
            detail.into(),
            original.detail.clone().into(),
            vec![(Changed, 17, 17)],
        ),
        (
            "ip",
            "UPDATE audit_log SET ip = $1 WHERE seq = $2",
            ip.into(),
            original.ip.clone().into(),
            vec![(Changed, 17, 17)],
        ),
        (
            "at",
            "UPDATE audit_log SET at = $1 WHERE seq = $2",
            (original.at_ms + 1).into(),
            original.at_ms.into(),
            vec![(Changed, 17, 17)],
        ),
        (
            "hash",
            "UPDATE audit_log SET hash = $1 WHERE seq = $2",
            hash.into(),
            original.hash.clone().into(),
            vec![(Changed, 17, 17), (Relinked, 18, 18)],
        ),
        (
            "prev_hash",
            "UPDATE audit_log SET prev_hash = $1 WHERE seq = $2",
            prev.into(),
            original.prev_hash.clone().into(),
            vec![(Relinked, 17, 17), (Changed, 17, 17)],
        ),
    ];
    for (field, update, changed, back, expected) in cases {
        assert_eq!(sql(&store, update, vec![changed, 17.into()]).await, 1);
        let report = verify(&store).await;
        assert_eq!(kinds(&report), expected, "{field}: {report:#?}");
        assert_eq!(report.checked, 40, "{field}: the walk goes on to the end");
        assert_eq!(sql(&store, update, vec![back, 17.into()]).await, 1);
        assert_intact(&verify(&store).await, 40, 1, 40);
    }
    let report = {
        sql(
            &store,
            "UPDATE audit_log SET actor_id = 'acc-9' WHERE seq = $1",
            vec![17.into()],
        )
        .await;
        verify(&store).await
    };
    assert_eq!(
        report.problems[0].message,
        "record 17: changed — the content does not match its hash"
    );

    // Two tampered records: both are named, in order.
    sql(
        &store,
        "UPDATE audit_log SET detail = detail || ' ' WHERE seq = $1",
        vec![30.into()],
    )
    .await;
    sql(
        &store,
        "UPDATE audit_log SET outcome = 'failure' WHERE seq = $1",
        vec![12.into()],
    )
    .await;
    assert_eq!(
        kinds(&verify(&store).await),
        vec![(Changed, 12, 12), (Changed, 17, 17), (Changed, 30, 30)]
    );
}

async fn deleted_records_are_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    assert_eq!(
        sql(
            &store,
            "DELETE FROM audit_log WHERE seq = $1",
            vec![23.into()]
        )
        .await,
        1
    );
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Removed, 23, 23)]);
    assert_eq!(
        report.problems[0].message,
        "record 23: removed — missing from the chain"
    );
    assert_eq!((report.checked, report.last_seq), (39, 40));

    let (store, _db) = chain_of_40(backend).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![1.into()],
    )
    .await;
    assert_eq!(kinds(&verify(&store).await), vec![(Removed, 1, 1)]);

    // Several in a row, and another stretch: each is named once.
    let (store, _db) = chain_of_40(backend).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE (seq BETWEEN $1 AND $2) OR seq = $3",
        vec![5.into(), 9.into(), 31.into()],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Removed, 5, 9), (Removed, 31, 31)]);
    assert_eq!(
        report.problems[0].message,
        "records 5–9 (5 records): removed — missing from the chain"
    );
}

async fn a_deleted_head_is_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![40.into()],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Truncated, 40, 40)]);
    assert_eq!(
        report.problems[0].message,
        "record 40: missing at the end — the head says 40 but the last record is 39"
    );
    // The last three gone.
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq >= $1",
        vec![38.into()],
    )
    .await;
    assert_eq!(kinds(&verify(&store).await), vec![(Truncated, 38, 40)]);
    // Everything gone.
    sql(&store, "DELETE FROM audit_log", vec![]).await;
    assert_eq!(kinds(&verify(&store).await), vec![(Wiped, 1, 40)]);
}

/// Issue 11: "the last 10 records deleted and audit_head moved back". The
/// database alone cannot tell (its records and head agree); the checkpoints
/// can, whether kept in the database or — when those rows are deleted too —
/// in the file outside it.
async fn truncation_with_the_head_moved_back_is_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    let file = checkpoint(&store, rec(40).at_ms).await;
    assert_eq!(file.checkpoint.seq, 40);
    let report = verify_with(&store, vec![file.clone()]).await;
    assert_intact(&report, 40, 1, 40);
    assert_eq!(report.checkpoints, 1, "the file's line and the row are one");

    let h30 = get(&store, 30).await.hash;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq > $1",
        vec![30.into()],
    )
    .await;
    sql(
        &store,
        "UPDATE audit_head SET seq = 30, hash = $1 WHERE id = 1",
        vec![h30.into()],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Truncated, 31, 40)]);
    assert!(
        report.problems[0].message.starts_with(
            "records 31–40 (10 records): missing at the end — the database's checkpoint of"
        ),
        "{}",
        report.problems[0].message
    );

    // The checkpoint rows deleted as well: the file still knows.
    sql(&store, "DELETE FROM audit_checkpoints", vec![]).await;
    assert!(
        verify(&store).await.intact(),
        "without a checkpoint, a cut-off end cannot be seen"
    );
    let report = verify_with(&store, vec![file.clone()]).await;
    assert_eq!(kinds(&report), vec![(Truncated, 31, 40)]);
    assert!(
        report.problems[0]
            .message
            .contains("checkpoint file line 40 (2026-01-01T00:00:40Z) saw record 40, but the log ends at record 30"),
        "{}",
        report.problems[0].message
    );

    // Appends since do not hide it.
    append(&store, vec![rec(100)]).await;
    let report = verify_with(&store, vec![file]).await;
    assert_eq!(kinds(&report), vec![(Truncated, 32, 40)]);
}

/// Issue 11: "everything wiped and the head reset".
async fn a_wiped_log_is_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    let file = checkpoint(&store, rec(40).at_ms).await;
    sql(&store, "DELETE FROM audit_log", vec![]).await;
    sql(&store, "DELETE FROM audit_checkpoints", vec![]).await;
    sql(
        &store,
        "UPDATE audit_head SET seq = 0, hash = $1, anchor_seq = 0, anchor_hash = $1, \
         keyed_from = 1, seal = '' WHERE id = 1",
        vec![GENESIS_HASH.into()],
    )
    .await;
    assert!(
        verify(&store).await.intact(),
        "a reset log looks new to the database alone"
    );
    let report = verify_with(&store, vec![file.clone()]).await;
    assert_eq!(kinds(&report), vec![(Wiped, 1, 40)]);
    assert!(
        report.problems[0]
            .message
            .starts_with("the log was wiped: no record is left after the anchor (record 0), but checkpoint file line 40"),
        "{}",
        report.problems[0].message
    );
    // New records after the wipe do not hide it.
    append_range(&store, 0, 5, 5).await;
    let report = verify_with(&store, vec![file]).await;
    assert_eq!(kinds(&report), vec![(Truncated, 6, 40)], "{report:#?}");
}

/// Issue 11: "a record edited and the chain recomputed with plain SM3".
async fn a_chain_recomputed_without_the_key_is_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    recompute_without_key(&store, 20, 40, |r| {
        r.outcome = "denied".into();
        r.actor_name = "李四".into();
    })
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(RecomputedWithoutKey, 20, 40)]);
    assert!(
        report.problems[0]
            .message
            .starts_with("records 20–40 (21 records): the chain was recomputed without the key"),
        "{}",
        report.problems[0].message
    );

    // One record only, its hash recomputed: the next link gives it away too.
    let (store, _db) = chain_of_40(backend).await;
    recompute_without_key(&store, 33, 33, |r| r.detail = "{}".into()).await;
    sql(
        &store,
        "UPDATE audit_head SET hash = $1 WHERE id = 1",
        vec![get(&store, 40).await.hash.into()],
    )
    .await;
    assert_eq!(
        kinds(&verify(&store).await),
        vec![(RecomputedWithoutKey, 33, 33), (Relinked, 34, 34)]
    );

    // The newest record: the head's hash was moved with it; the MAC tells.
    let (store, _db) = chain_of_40(backend).await;
    let file = checkpoint(&store, rec(40).at_ms).await;
    recompute_without_key(&store, 40, 40, |r| r.detail = "{}".into()).await;
    let report = verify_with(&store, vec![file]).await;
    assert_eq!(
        kinds(&report),
        vec![(RecomputedWithoutKey, 40, 40), (CheckpointMismatch, 40, 40)]
    );
}

/// Records slipped in past the head or before the anchor are outside the
/// chain and reported.
async fn inserted_records_are_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    let last = get(&store, 40).await;
    let forged = rec(40);
    let hash = audit::record_hash(&last.hash, 41, &forged);
    let insert = "INSERT INTO audit_log (seq, at, actor_kind, actor_id, actor_name, action, outcome, \
                  target_kind, target_id, detail, ip, request_id, prev_hash, hash) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    let values = |seq: i64, prev: &str, hash: &str| -> Vec<Value> {
        vec![
            seq.into(),
            forged.at_ms.into(),
            forged.actor_kind.clone().into(),
            forged.actor_id.clone().into(),
            forged.actor_name.clone().into(),
            forged.action.clone().into(),
            forged.outcome.clone().into(),
            forged.target_kind.clone().into(),
            forged.target_id.clone().into(),
            forged.detail.clone().into(),
            forged.ip.clone().into(),
            forged.request_id.clone().into(),
            prev.into(),
            hash.into(),
        ]
    };
    sql(&store, insert, values(41, &last.hash, &hash)).await;
    assert_eq!(kinds(&verify(&store).await), vec![(Inserted, 41, 41)]);
    // Moving the head onto it: its hash is plain SM3.
    sql(
        &store,
        "UPDATE audit_head SET seq = 41, hash = $1 WHERE id = 1",
        vec![hash.clone().into()],
    )
    .await;
    assert_eq!(
        kinds(&verify(&store).await),
        vec![(RecomputedWithoutKey, 41, 41)]
    );
    sql(
        &store,
        "UPDATE audit_head SET seq = 40, hash = $1 WHERE id = 1",
        vec![last.hash.clone().into()],
    )
    .await;

    // Retention stops at the head: the anchor does not adopt the forgery.
    assert_eq!(removed(prune_before(&store, i64::MAX / 2).await), 40);
    let h = head(&store).await;
    assert_eq!((h.anchor_seq, &h.anchor_hash), (40, &h.hash));
    assert_eq!(kinds(&verify(&store).await), vec![(Inserted, 41, 41)]);

    // Before the anchor (after a retention run).
    let (store, _db) = chain_of_40(backend).await;
    assert_eq!(removed(prune_before(&store, rec(10).at_ms).await), 10);
    assert_intact(&verify(&store).await, 30, 11, 40);
    sql(&store, insert, values(4, GENESIS_HASH, GENESIS_HASH)).await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Inserted, 4, 4)]);
    assert!(report.problems[0].message.contains("before the anchor"));
}

/// Forged checkpoints are named and are no evidence.
async fn forged_checkpoints_are_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    let other = AuditKey::from_bytes(&[7u8; 32]).unwrap();
    let h = head(&store).await;
    let mut tampered = checkpoint(&store, rec(40).at_ms).await;
    tampered.checkpoint.seq = 45;
    tampered.source = "checkpoint file line 9".into();
    let foreign = SourcedCheckpoint {
        checkpoint: Checkpoint::new(&other, 60, &h.hash, rec(40).at_ms, 1),
        source: "checkpoint file line 10".into(),
    };
    let report = verify_with(&store, vec![tampered, foreign]).await;
    assert_eq!(
        kinds(&report),
        vec![(CheckpointForged, 45, 45), (CheckpointForged, 60, 60)]
    );
    assert_eq!(report.checkpoints, 1, "only the database's own counts");
    assert!(
        report.problems[1]
            .message
            .contains("checkpoint file line 10 (record 60, 2026-01-01T00:00:40Z) has a wrong MAC"),
        "{}",
        report.problems[1].message
    );
    // A forged row in the database too.
    sql(&store, "UPDATE audit_checkpoints SET seq = 50", vec![]).await;
    assert_eq!(
        kinds(&verify(&store).await),
        vec![(CheckpointForged, 50, 50)]
    );
}

/// The database's checkpoints are read along the walk, a page of records
/// at a time: each is compared with its record, on every page.
async fn checkpoints_are_checked_page_by_page(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = open(backend).await;
    for k in 0..12 {
        append_range(&store, k * 1_000, 1_000, 1_000).await;
        checkpoint(&store, rec(k * 1_000 + 999).at_ms).await;
    }
    let report = verify(&store).await;
    assert_intact(&report, 12_000, 1, 12_000);
    assert_eq!(report.checkpoints, 12);
    // The hash of record 9,000 (on the second page) replaced; and a forged
    // row among the checkpoints of the third.
    sql(
        &store,
        "UPDATE audit_log SET hash = $1 WHERE seq = 9000",
        vec!["ab".repeat(32).into()],
    )
    .await;
    sql(
        &store,
        "UPDATE audit_checkpoints SET at = at + 1 WHERE seq = 11000",
        vec![],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(
        kinds(&report),
        vec![
            (Changed, 9_000, 9_000),
            (Relinked, 9_001, 9_001),
            (CheckpointMismatch, 9_000, 9_000),
            (CheckpointForged, 11_000, 11_000),
        ],
        "{report:#?}"
    );
    assert_eq!(report.checkpoints, 11);
}

// ─────────────────────── records from before the key ───────────────────────

/// A log as it was before migration 15 (plain SM3 records 1..=n), then
/// migrated: `keyed_from` is n + 1 and the head unsealed.
async fn legacy_log(backend: Backend, n: i64) -> (Store, TestDb) {
    let (store, db) = open(backend).await;
    let mut prev = GENESIS_HASH.to_owned();
    for i in 0..n {
        let seq = i + 1;
        let r = rec(i);
        let hash = audit::record_hash(&prev, seq, &r);
        let texts = [
            r.actor_kind,
            r.actor_id,
            r.actor_name,
            r.action,
            r.outcome,
            r.target_kind,
            r.target_id,
            r.detail,
            r.ip,
            r.request_id,
        ];
        let mut values: Vec<Value> = vec![seq.into(), r.at_ms.into()];
        values.extend(texts.map(Value::from));
        values.extend([prev.clone().into(), hash.clone().into()]);
        sql(
            &store,
            "INSERT INTO audit_log (seq, at, actor_kind, actor_id, actor_name, action, outcome, \
             target_kind, target_id, detail, ip, request_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            values,
        )
        .await;
        prev = hash;
    }
    sql(
        &store,
        "UPDATE audit_head SET seq = $1, hash = $2, keyed_from = $3 WHERE id = 1",
        vec![n.into(), prev.into(), (n + 1).into()],
    )
    .await;
    (store, db)
}

async fn records_from_before_the_key_stay_verifiable(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = legacy_log(backend, 10).await;
    let report = verify(&store).await;
    assert_intact(&report, 10, 1, 10);
    assert_eq!(report.keyed_from, 11);

    // The first keyed record chains onto the last plain hash and seals.
    let h10 = get(&store, 10).await.hash;
    assert_eq!(
        append(&store, (10..15).map(rec).collect()).await,
        vec![11, 12, 13, 14, 15]
    );
    let r11 = get(&store, 11).await;
    assert_eq!(r11.prev_hash, h10);
    assert_eq!(r11.hash, audit::record_mac(&key(), &h10, 11, &rec(10)));
    let h = head(&store).await;
    assert_eq!((h.keyed_from, h.seal.len()), (11, 64));
    let file = checkpoint(&store, rec(15).at_ms).await;
    assert_intact(&verify_with(&store, vec![file.clone()]).await, 15, 1, 15);

    // A plain record changed: named as such.
    sql(
        &store,
        "UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = $1",
        vec![3.into()],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Changed, 3, 3)]);
    assert!(
        report.problems[0]
            .message
            .contains("before the keyed chain")
    );
    sql(
        &store,
        "UPDATE audit_log SET ip = '10.0.0.5' WHERE seq = $1",
        vec![3.into()],
    )
    .await;

    // The plain part rewritten to the end: the first keyed record's MAC
    // covers the last plain hash, so the seam gives it away.
    let (store, _db) = legacy_log(backend, 10).await;
    append(&store, (10..15).map(rec).collect()).await;
    recompute_without_key(&store, 4, 10, |r| r.outcome = "denied".into()).await;
    sql(
        &store,
        "UPDATE audit_head SET hash = $1 WHERE id = 1",
        vec![get(&store, 15).await.hash.into()],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Relinked, 11, 11)]);
    assert_eq!(
        report.problems[0].message,
        "record 11: its prev_hash does not match record 10's hash: the records before the keyed \
         chain (plain SM3, up to record 10) were rewritten"
    );

    // The boundary moved up so that keyed records pass as plain ones: the
    // seal covers the boundary.
    let (store, _db) = legacy_log(backend, 10).await;
    append(&store, (10..15).map(rec).collect()).await;
    let file = checkpoint(&store, rec(15).at_ms).await;
    sql(
        &store,
        "UPDATE audit_head SET keyed_from = 16 WHERE id = 1",
        vec![],
    )
    .await;
    let report = verify(&store).await;
    assert!(report.has(SealBroken), "{report:#?}");
    assert!(report.has(BoundaryMoved), "{report:#?}");
    // …and with the seal removed and the records recomputed in plain SM3,
    // the database looks like a log never keyed; the checkpoints tell.
    recompute_without_key(&store, 11, 15, |r| r.outcome = "denied".into()).await;
    sql(&store, "UPDATE audit_head SET seal = ''", vec![]).await;
    sql(&store, "DELETE FROM audit_checkpoints", vec![]).await;
    assert!(verify(&store).await.intact());
    let report = verify_with(&store, vec![file]).await;
    assert_eq!(
        kinds(&report),
        vec![(BoundaryMoved, 16, 16), (CheckpointMismatch, 15, 15)]
    );
    assert!(
        report.problems[0]
            .message
            .contains("the keyed chain starts at record 16, but checkpoint file line 15 saw it start at record 11"),
        "{}",
        report.problems[0].message
    );

    // A seal removed while keyed records exist is named.
    let (store, _db) = chain_of_40(backend).await;
    sql(&store, "UPDATE audit_head SET seal = ''", vec![]).await;
    assert_eq!(kinds(&verify(&store).await), vec![(SealMissing, 1, 1)]);
}

// ───────────────────────────── retention ─────────────────────────────

async fn prune_moves_the_anchor(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    assert_eq!(
        prune_before(&store, rec(0).at_ms).await,
        Pruned::Nothing,
        "nothing is older than the first record"
    );
    assert_intact(&verify(&store).await, 40, 1, 40);

    // Records 1..=15 (rec(0..15)) are older than rec(15).
    let removed_hash = get(&store, 15).await.hash;
    assert_eq!(
        prune_before(&store, rec(15).at_ms).await,
        Pruned::Removed {
            count: 15,
            first_seq: 1,
            last_seq: 15,
            anchor_at: rec(14).at_ms
        }
    );
    assert_eq!(count(&store).await, 25);
    let h = head(&store).await;
    assert_eq!(
        (h.seq, h.anchor_seq, &h.anchor_hash, h.anchor_at),
        (40, 15, &removed_hash, rec(14).at_ms)
    );
    assert_eq!(
        (h.pruned_at, h.retention_days),
        (rec(15).at_ms + 180 * DAY, 180)
    );
    assert_intact(&verify(&store).await, 25, 16, 40);

    // The caller records the removal; the chain goes on.
    assert_eq!(append(&store, vec![rec(40)]).await, vec![41]);
    assert_intact(&verify(&store).await, 26, 16, 41);
    // Pruning again at the same time removes nothing more.
    assert_eq!(prune_before(&store, rec(15).at_ms).await, Pruned::Nothing);

    // Only a prefix goes: a late record with an early time stays, and so
    // does everything after the first record at or after the cut.
    let mut early = rec(41);
    early.at_ms = rec(0).at_ms;
    assert_eq!(append(&store, vec![early]).await, vec![42]);
    assert_eq!(removed(prune_before(&store, rec(20).at_ms).await), 5);
    assert_intact(&verify(&store).await, 22, 21, 42);
    assert_eq!(get(&store, 42).await.at_ms, rec(0).at_ms);

    // Everything older than the cut: the whole log goes, the anchor becomes
    // the head, and appends continue from it.
    assert_eq!(removed(prune_before(&store, i64::MAX / 2).await), 22);
    assert_eq!(count(&store).await, 0);
    let h = head(&store).await;
    assert_eq!((h.anchor_seq, &h.anchor_hash), (h.seq, &h.hash));
    assert_intact(&verify(&store).await, 0, 43, 42);
    assert_eq!(append(&store, vec![rec(50), rec(51)]).await, vec![43, 44]);
    assert_intact(&verify(&store).await, 2, 43, 44);
    assert_eq!(get(&store, 43).await.prev_hash, h.hash);
}

/// Retention never removes records younger than its period, whatever the
/// caller asks; and refuses to run over a head whose seal is broken.
async fn prune_keeps_records_inside_retention(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    // A clock 179 days after the last record, retention asked as 30 days:
    // 180 days hold, nothing goes.
    let now = rec(39).at_ms + 179 * DAY;
    assert_eq!(
        store
            .write(move |c| audit::prune(c, &key(), now, 30))
            .await
            .unwrap(),
        Pruned::Nothing
    );
    assert_eq!(count(&store).await, 40);
    // Exactly 180 days after record 20: records 1..=20 go (strictly older).
    let now = rec(20).at_ms + 180 * DAY;
    assert_eq!(
        removed(
            store
                .write(move |c| audit::prune(c, &key(), now, 30))
                .await
                .unwrap()
        ),
        20
    );
    assert_eq!(head(&store).await.retention_days, 180);

    // The anchor moved by hand: prune refuses and removes nothing.
    sql(
        &store,
        "UPDATE audit_head SET anchor_at = 0 WHERE id = 1",
        vec![],
    )
    .await;
    let refused = prune_before(&store, i64::MAX / 2).await;
    assert!(matches!(refused, Pruned::Refused(_)), "{refused:?}");
    assert_eq!(count(&store).await, 20);
}

/// Issue 11: "the first 100 records (5 minutes old, retention 180 days)
/// deleted and the prune anchor moved".
async fn an_anchor_moved_inside_retention_is_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = open(backend).await;
    append_range(&store, 0, 50, 50).await;
    let early = checkpoint(&store, rec(50).at_ms).await;
    append_range(&store, 50, 150, 50).await;
    let late = checkpoint(&store, rec(200).at_ms).await;
    assert_intact(&verify(&store).await, 200, 1, 200);

    let r100 = get(&store, 100).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq <= $1",
        vec![100.into()],
    )
    .await;
    // Five minutes later, the anchor moved as prune would have moved it,
    // its times made to look old — without the key.
    let now = rec(200).at_ms + 300_000;
    sql(
        &store,
        "UPDATE audit_head SET anchor_seq = 100, anchor_hash = $1, anchor_at = $2, \
         pruned_at = $3, retention_days = 180 WHERE id = 1",
        vec![
            r100.hash.clone().into(),
            (now - 200 * DAY).into(),
            now.into(),
        ],
    )
    .await;
    let report = verify_at(&store, now, vec![early.clone(), late.clone()]).await;
    assert_eq!(
        kinds(&report),
        vec![(SealBroken, 100, 100), (AnchorInsideRetention, 100, 100)],
        "{report:#?}"
    );
    assert_eq!((report.checked, report.first_seq), (100, 101));
    assert_eq!(
        report.problems[1].message,
        "the anchor removed records up to record 100, but checkpoint file line 50 shows the log \
         was at record 50 then, so record 100 was written after 2026-01-01T00:00:50Z: less than \
         180 days ago"
    );
    // With the anchor record's true time, its own claim gives it away too.
    sql(
        &store,
        "UPDATE audit_head SET anchor_at = $1 WHERE id = 1",
        vec![r100.at_ms.into()],
    )
    .await;
    let report = verify_at(&store, now, vec![]).await;
    assert_eq!(
        kinds(&report),
        vec![
            (SealBroken, 100, 100),
            (AnchorInsideRetention, 100, 100),
            (AnchorInsideRetention, 100, 100)
        ],
        "{report:#?}"
    );
    // Half a year on, the anchor still says it was pruned when its record
    // was five minutes old.
    let report = verify_at(&store, now + 181 * DAY, vec![]).await;
    assert_eq!(
        kinds(&report),
        vec![(SealBroken, 100, 100), (AnchorInsideRetention, 100, 100)],
        "{report:#?}"
    );
    assert!(report.problems[1].message.starts_with("the anchor removed records up to record 100 (of 2026-01-01T00:01:39Z), pruned 2026-01-01T00:08:20Z under a retention of 180 days"), "{}", report.problems[1].message);
}

async fn tampering_after_prune_is_found(backend: Backend) {
    use ProblemKind::*;
    let (store, _db) = chain_of_40(backend).await;
    assert_eq!(removed(prune_before(&store, rec(10).at_ms).await), 10);
    assert_intact(&verify(&store).await, 30, 11, 40);

    // A middle record edited.
    sql(
        &store,
        "UPDATE audit_log SET actor_id = 'acc-9' WHERE seq = $1",
        vec![25.into()],
    )
    .await;
    let report = verify(&store).await;
    assert_eq!(kinds(&report), vec![(Changed, 25, 25)]);
    assert_eq!(
        (report.checked, report.first_seq, report.last_seq),
        (30, 11, 40)
    );

    // The first record after the anchor deleted.
    let (store, _db) = chain_of_40(backend).await;
    prune_before(&store, rec(10).at_ms).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![11.into()],
    )
    .await;
    assert_eq!(kinds(&verify(&store).await), vec![(Removed, 11, 11)]);

    // The anchor moved by hand to hide that: the seal gives it away.
    let h11 = get(&store, 12).await.prev_hash;
    sql(
        &store,
        "UPDATE audit_head SET anchor_seq = 11, anchor_hash = $1 WHERE id = 1",
        vec![h11.into()],
    )
    .await;
    assert_eq!(kinds(&verify(&store).await), vec![(SealBroken, 11, 11)]);
}

// ───────────────────────────── concurrency ─────────────────────────────

async fn concurrent_appends_make_one_chain(backend: Backend) {
    let options = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(StoreOptions {
            readers: 2,
            writers: 4,
        }),
    };
    let (store, _db) = open_with(backend, options).await;
    let mut tasks = Vec::new();
    for t in 0..50i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let n = 1 + t % 3;
            let records: Vec<_> = (0..n).map(|k| rec(t * 10 + k)).collect();
            store
                .write(move |c| {
                    let seqs = audit::append(c, &key(), &records)?;
                    // Hold the head's lock a little, so that writers overlap.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    Ok(seqs)
                })
                .await
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap().unwrap();
        // One call's records are consecutive.
        assert!(mine.windows(2).all(|w| w[1] == w[0] + 1), "{mine:?}");
        seqs.extend(mine);
    }
    let total: i64 = (0..50).map(|t| 1 + t % 3).sum();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "gap-free, no seq twice"
    );
    assert_eq!(count(&store).await, total);
    assert_intact(&verify(&store).await, total, 1, total);
}

/// Verifying while appends and checkpoints go on reports no false break.
async fn verify_during_appends(backend: Backend) {
    let (store, _db) = open(backend).await;
    append_range(&store, 0, 200, 50).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                append(&store, vec![rec(200 + i)]).await;
                if i % 10 == 0 {
                    checkpoint(&store, rec(200 + i).at_ms).await;
                }
            }
        })
    };
    let mut reports = Vec::new();
    while !writer.is_finished() {
        reports.push(verify(&store).await);
    }
    writer.await.unwrap();
    reports.push(verify(&store).await);
    assert!(reports.iter().all(|r| r.intact()), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].last_seq <= w[1].last_seq));
    assert_intact(reports.last().unwrap(), 300, 1, 300);
}

/// Verifying while retention runs reports no false break either: a walk
/// overtaken by a moved anchor starts again.
async fn verify_during_prune(backend: Backend) {
    let (store, _db) = open(backend).await;
    append_range(&store, 0, 12_000, 4_000).await;
    let pruner = {
        let store = store.clone();
        tokio::spawn(async move {
            for k in 1..=40 {
                let cut = rec(k * 250).at_ms;
                assert_eq!(removed(prune_before(&store, cut).await), 250);
            }
        })
    };
    let mut reports = Vec::new();
    while !pruner.is_finished() {
        reports.push(verify(&store).await);
    }
    pruner.await.unwrap();
    reports.push(verify(&store).await);
    assert!(reports.iter().all(|r| r.intact()), "{reports:?}");
    assert_intact(reports.last().unwrap(), 2_000, 10_001, 12_000);
}

use onestop_store::on_both_databases as both;

both!(
    append_chains_records_and_keeps_them_as_given,
    list_filters_and_pages,
    a_chain_of_thousands_verifies,
    one_changed_byte_is_found,
    deleted_records_are_found,
    a_deleted_head_is_found,
    truncation_with_the_head_moved_back_is_found,
    a_wiped_log_is_found,
    a_chain_recomputed_without_the_key_is_found,
    inserted_records_are_found,
    forged_checkpoints_are_found,
    checkpoints_are_checked_page_by_page,
    records_from_before_the_key_stay_verifiable,
    prune_moves_the_anchor,
    prune_keeps_records_inside_retention,
    an_anchor_moved_inside_retention_is_found,
    tampering_after_prune_is_found,
    concurrent_appends_make_one_chain,
    verify_during_appends,
    verify_during_prune
);
