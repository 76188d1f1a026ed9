//! The hash-chained audit log on both databases: appending, listing,
//! verifying, tampering of every kind being detected, retention, and
//! concurrent appends.

use onestop_store::audit::{
    self, AuditFilter, AuditRecord, Broken, GENESIS_HASH, NewAuditRecord, VerifyReport,
};
use onestop_store::db::{Conn, Value};
use onestop_store::testing::{Backend, TestDb};
use onestop_store::{Store, StoreError, StoreOptions};
use sm3::{Digest, Sm3};

async fn open_with(backend: Backend, options: Option<StoreOptions>) -> (Store, TestDb) {
    let db = TestDb::new(backend);
    let target = db.target.clone();
    let store = tokio::task::spawn_blocking(move || {
        let options = options.unwrap_or(StoreOptions {
            readers: 2,
            writers: 1,
        });
        Store::open(target, options)
    })
    .await
    .unwrap()
    .unwrap();
    (store, db)
}

async fn open(backend: Backend) -> (Store, TestDb) {
    open_with(backend, None).await
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
        .write(move |c| audit::append(c, &records))
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

async fn verify(store: &Store) -> VerifyReport {
    store.read(audit::verify).await.unwrap()
}

async fn broken(store: &Store) -> Broken {
    let report = verify(store).await;
    match report.broken {
        Some(b) => b,
        None => panic!("the chain verified: {report:?}"),
    }
}

async fn list(store: &Store, filter: AuditFilter) -> Vec<AuditRecord> {
    store.read(move |c| audit::list(c, &filter)).await.unwrap()
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

fn head(c: &mut dyn Conn) -> Result<(i64, String, i64, String), StoreError> {
    let r = c
        .query_opt(
            "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_head WHERE id = 1",
            &[],
        )?
        .unwrap();
    Ok((
        r.int(0)?,
        r.text(1)?.to_owned(),
        r.int(2)?,
        r.text(3)?.to_owned(),
    ))
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

fn ok(checked: i64, first_seq: i64, last_seq: i64) -> VerifyReport {
    VerifyReport {
        checked,
        first_seq,
        last_seq,
        broken: None,
    }
}

// ───────────────────────────── the hash ─────────────────────────────

#[test]
fn record_hash_is_sm3_over_length_prefixed_fields() {
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

#[test]
fn every_field_and_every_boundary_changes_the_hash() {
    let base = rec(1);
    let h = audit::record_hash(GENESIS_HASH, 1, &base);
    assert_ne!(audit::record_hash(GENESIS_HASH, 2, &base), h, "seq");
    assert_ne!(
        audit::record_hash(&"1".repeat(64), 1, &base),
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
        assert_ne!(audit::record_hash(GENESIS_HASH, 1, &r), h, "field {i}");
    }
    // Moving a character across a field boundary changes the hash too.
    let mut a = base.clone();
    a.actor_id = "ab".into();
    a.actor_name = "c".into();
    let mut b = base.clone();
    b.actor_id = "a".into();
    b.actor_name = "bc".into();
    assert_ne!(
        audit::record_hash(GENESIS_HASH, 1, &a),
        audit::record_hash(GENESIS_HASH, 1, &b)
    );
}

// ─────────────────────────── append and list ───────────────────────────

async fn append_chains_records_and_keeps_them_as_given(backend: Backend) {
    let (store, _db) = open(backend).await;
    assert_eq!(verify(&store).await, ok(0, 1, 0), "an empty log verifies");
    assert_eq!(append(&store, vec![]).await, Vec::<i64>::new());
    assert_eq!(count(&store).await, 0);

    assert_eq!(
        append(&store, (0..3).map(rec).collect()).await,
        vec![1, 2, 3]
    );
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
        assert_eq!(r.hash, audit::record_hash(&prev, r.seq, &as_new(r)));
        prev = r.hash.clone();
    }
    let (head_seq, head_hash, anchor_seq, anchor_hash) = store.read(head).await.unwrap();
    assert_eq!((head_seq, head_hash.as_str()), (6, prev.as_str()));
    assert_eq!((anchor_seq, anchor_hash.as_str()), (0, GENESIS_HASH));
    assert_eq!(verify(&store).await, ok(6, 1, 6));

    // Several appends in ONE transaction continue each other's chain.
    let seqs = store
        .write(|c| {
            let a = audit::append(c, &[rec(6)])?;
            let b = audit::append(c, &[rec(7), rec(8)])?;
            Ok((a, b))
        })
        .await
        .unwrap();
    assert_eq!(seqs, (vec![7], vec![8, 9]));
    // A transaction that fails leaves no record and no gap behind.
    let failed = store
        .write(|c| {
            audit::append(c, &[rec(9)])?;
            Err::<(), _>(StoreError::Database("the caller's work failed".into()))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(append(&store, vec![rec(9)]).await, vec![10]);
    assert_eq!(verify(&store).await, ok(10, 1, 10));
}

async fn list_filters_and_pages(backend: Backend) {
    let (store, _db) = open(backend).await;
    append_range(&store, 0, 100, 30).await;
    let seqs = |v: &[AuditRecord]| v.iter().map(|r| r.seq).collect::<Vec<_>>();
    // rec(i) is record seq i + 1.
    let expect = |keep: &dyn Fn(i64) -> bool| -> Vec<i64> {
        (0..100).rev().filter(|&i| keep(i)).map(|i| i + 1).collect()
    };
    let all = |f: AuditFilter| AuditFilter { limit: 1000, ..f };

    // actor: by id, by name, never by a prefix.
    let by_id = list(
        &store,
        all(AuditFilter {
            actor: Some("acc-3".into()),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(seqs(&by_id), expect(&|i| i % 7 == 3));
    assert!(by_id.iter().all(|r| r.actor_id == "acc-3"));
    let by_name = list(
        &store,
        all(AuditFilter {
            actor: Some("张三3".into()),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(by_name, by_id);
    let prefix = list(
        &store,
        all(AuditFilter {
            actor: Some("acc-".into()),
            ..Default::default()
        }),
    )
    .await;
    assert!(prefix.is_empty());

    let logins = list(
        &store,
        all(AuditFilter {
            action: Some("login".into()),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(seqs(&logins), expect(&|i| i % 3 == 0));
    let target = list(
        &store,
        all(AuditFilter {
            target_id: Some("app-2".into()),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(seqs(&target), expect(&|i| i % 5 == 2));

    // from inclusive, to exclusive.
    let t = |i: i64| rec(i).at_ms;
    let window = list(
        &store,
        all(AuditFilter {
            from_ms: Some(t(10)),
            to_ms: Some(t(20)),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(seqs(&window), expect(&|i| (10..20).contains(&i)));
    let from = list(
        &store,
        all(AuditFilter {
            from_ms: Some(t(95)),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(seqs(&from), vec![100, 99, 98, 97, 96]);
    let to = list(
        &store,
        all(AuditFilter {
            to_ms: Some(t(3)),
            ..Default::default()
        }),
    )
    .await;
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
    assert_eq!(
        seqs(
            &list(
                &store,
                AuditFilter {
                    limit: 3,
                    ..Default::default()
                }
            )
            .await
        ),
        vec![100, 99, 98]
    );

    // Keyset paging: pages of 7 with a filter collect every match once, in order.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = list(
            &store,
            AuditFilter {
                action: Some("application_read".into()),
                before_seq: before,
                limit: 7,
                ..Default::default()
            },
        )
        .await;
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        before = Some(last.seq);
        paged.extend(seqs(&page));
    }
    assert_eq!(paged, expect(&|i| i % 3 != 0));
    let before_10 = list(
        &store,
        AuditFilter {
            before_seq: Some(10),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs(&before_10), (1..10).rev().collect::<Vec<_>>());
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
    assert_eq!(verify(&store).await, ok(7_000, 1, 7_000));
    assert_eq!(as_new(&get(&store, 7_000).await), rec(6_999));
    assert_eq!(as_new(&get(&store, 3_000).await), rec(2_999));
}

/// A chain of 40 records, verified intact.
async fn chain_of_40(backend: Backend) -> (Store, TestDb) {
    let (store, db) = open(backend).await;
    append_range(&store, 0, 40, 9).await;
    assert_eq!(verify(&store).await, ok(40, 1, 40));
    (store, db)
}

/// Changes one byte of one field of a middle record, then puts it back.
async fn one_changed_byte_is_found(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    let original = get(&store, 17).await;
    // "张三" → "张丁": U+4E09 → U+4E01, E4 B8 89 → E4 B8 81.
    let name = original.actor_name.replace('三', "丁");
    let detail = original.detail.replacen("\"n\":16", "\"n\":17", 1);
    let ip = "10.0.0.6".to_owned();
    let prev = format!(
        "{}{}",
        &original.prev_hash[..63],
        if original.prev_hash.ends_with('0') {
            "1"
        } else {
            "0"
        }
    );
    let hash = format!(
        "{}{}",
        &original.hash[..63],
        if original.hash.ends_with('0') {
            "1"
        } else {
            "0"
        }
    );
    let differing = |a: &str, b: &str| {
        assert_eq!(a.len(), b.len());
        a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count()
    };
    assert_eq!(differing(&original.actor_name, &name), 1);
    assert_eq!(differing(&original.detail, &detail), 1);
    assert_eq!(differing(&original.ip, &ip), 1);

    let cases: Vec<(&'static str, &'static str, Value, Value, &str)> = vec![
        (
            "actor_name",
            "UPDATE audit_log SET actor_name = $1 WHERE seq = $2",
            name.into(),
            original.actor_name.clone().into(),
            "hash does not match the record's content",
        ),
        (
            "detail",
            "UPDATE audit_log SET detail = $1 WHERE seq = $2",
            detail.into(),
            original.detail.clone().into(),
            "hash does not match the record's content",
        ),
        (
            "ip",
            "UPDATE audit_log SET ip = $1 WHERE seq = $2",
            ip.into(),
            original.ip.clone().into(),
            "hash does not match the record's content",
        ),
        (
            "at",
            "UPDATE audit_log SET at = $1 WHERE seq = $2",
            (original.at_ms + 1).into(),
            original.at_ms.into(),
            "hash does not match the record's content",
        ),
        (
            "hash",
            "UPDATE audit_log SET hash = $1 WHERE seq = $2",
            hash.into(),
            original.hash.clone().into(),
            "hash does not match the record's content",
        ),
        (
            "prev_hash",
            "UPDATE audit_log SET prev_hash = $1 WHERE seq = $2",
            prev.into(),
            original.prev_hash.clone().into(),
            "prev_hash does not match the previous record",
        ),
    ];
    for (field, update, changed, back, reason) in cases {
        assert_eq!(sql(&store, update, vec![changed, 17.into()]).await, 1);
        let report = verify(&store).await;
        assert_eq!(
            report,
            VerifyReport {
                checked: 16,
                first_seq: 1,
                last_seq: 16,
                broken: Some(Broken {
                    seq: 17,
                    reason: reason.into()
                }),
            },
            "{field}"
        );
        assert_eq!(sql(&store, update, vec![back, 17.into()]).await, 1);
        assert_eq!(verify(&store).await, ok(40, 1, 40), "{field} restored");
    }

    // Two tampered records: the first one is named.
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
    assert_eq!(broken(&store).await.seq, 12);
}

async fn deleted_records_are_found(backend: Backend) {
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
    assert_eq!(
        verify(&store).await,
        VerifyReport {
            checked: 22,
            first_seq: 1,
            last_seq: 22,
            broken: Some(Broken {
                seq: 23,
                reason: "record 23 is missing".into()
            }),
        }
    );

    let (store, _db) = chain_of_40(backend).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![1.into()],
    )
    .await;
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 1,
            reason: "record 1 is missing".into()
        }
    );

    // Several in a row: the first gap is named.
    let (store, _db) = chain_of_40(backend).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq BETWEEN $1 AND $2",
        vec![5.into(), 9.into()],
    )
    .await;
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 5,
            reason: "record 5 is missing".into()
        }
    );
}

async fn a_deleted_head_is_found(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![40.into()],
    )
    .await;
    assert_eq!(
        verify(&store).await,
        VerifyReport {
            checked: 39,
            first_seq: 1,
            last_seq: 39,
            broken: Some(Broken {
                seq: 40,
                reason: "head says 40 but the last record is 39".into()
            }),
        }
    );
    // The last three gone.
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq >= $1",
        vec![38.into()],
    )
    .await;
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 38,
            reason: "head says 40 but the last record is 37".into()
        }
    );
    // Everything gone.
    sql(&store, "DELETE FROM audit_log", vec![]).await;
    assert_eq!(broken(&store).await.seq, 1);
}

/// Edits a record and recomputes its hash as an attacker who knows the
/// algorithm would: the next record's prev_hash no longer matches.
async fn an_edit_with_a_recomputed_hash_is_found(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    let original = get(&store, 20).await;
    let mut forged = as_new(&original);
    forged.outcome = "denied".into();
    forged.actor_name = "李四".into();
    let hash = audit::record_hash(&original.prev_hash, 20, &forged);
    sql(
        &store,
        "UPDATE audit_log SET outcome = $1, actor_name = $2, hash = $3 WHERE seq = $4",
        vec![
            forged.outcome.clone().into(),
            forged.actor_name.clone().into(),
            hash.into(),
            20.into(),
        ],
    )
    .await;
    assert_eq!(
        verify(&store).await,
        VerifyReport {
            checked: 20,
            first_seq: 1,
            last_seq: 20,
            broken: Some(Broken {
                seq: 21,
                reason: "prev_hash does not match the previous record".into()
            }),
        }
    );

    // The same on the newest record: the head's hash gives it away.
    let (store, _db) = chain_of_40(backend).await;
    let original = get(&store, 40).await;
    let mut forged = as_new(&original);
    forged.detail = "{}".into();
    let hash = audit::record_hash(&original.prev_hash, 40, &forged);
    sql(
        &store,
        "UPDATE audit_log SET detail = $1, hash = $2 WHERE seq = $3",
        vec!["{}".into(), hash.into(), 40.into()],
    )
    .await;
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 40,
            reason: "the head's hash does not match record 40".into()
        }
    );

    // A deleted record replaced by a forged one with a correct prev_hash and hash.
    let (store, _db) = chain_of_40(backend).await;
    let original = get(&store, 33).await;
    let mut forged = as_new(&original);
    forged.action = "logout".into();
    let hash = audit::record_hash(&original.prev_hash, 33, &forged);
    sql(
        &store,
        "UPDATE audit_log SET action = $1, hash = $2 WHERE seq = $3",
        vec!["logout".into(), hash.into(), 33.into()],
    )
    .await;
    assert_eq!(broken(&store).await.seq, 34);
}

/// Records slipped in past the head or before the anchor are outside the
/// chain and reported.
async fn inserted_records_are_found(backend: Backend) {
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
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 41,
            reason: "record 41 is beyond the head (40)".into()
        }
    );
    // Retention stops at the head: the anchor does not adopt the forgery.
    assert_eq!(
        store.write(|c| audit::prune(c, i64::MAX)).await.unwrap(),
        40
    );
    let (_, head_hash, anchor_seq, anchor_hash) = store.read(head).await.unwrap();
    assert_eq!((anchor_seq, anchor_hash), (40, head_hash));
    assert_eq!(broken(&store).await.seq, 41);

    // Before the anchor (after a retention run).
    let (store, _db) = chain_of_40(backend).await;
    let cut = rec(10).at_ms;
    assert_eq!(
        store.write(move |c| audit::prune(c, cut)).await.unwrap(),
        10
    );
    assert_eq!(verify(&store).await, ok(30, 11, 40));
    sql(&store, insert, values(4, GENESIS_HASH, GENESIS_HASH)).await;
    let b = broken(&store).await;
    assert_eq!(b.seq, 4);
    assert!(b.reason.contains("before the anchor"), "{b:?}");
}

// ───────────────────────────── retention ─────────────────────────────

async fn prune_moves_the_anchor(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    let prune = |before: i64| {
        let store = store.clone();
        async move { store.write(move |c| audit::prune(c, before)).await.unwrap() }
    };
    assert_eq!(
        prune(rec(0).at_ms).await,
        0,
        "nothing is older than the first record"
    );
    assert_eq!(verify(&store).await, ok(40, 1, 40));

    // Records 1..=15 (rec(0..15)) are older than rec(15).
    let removed_hash = get(&store, 15).await.hash;
    assert_eq!(prune(rec(15).at_ms).await, 15);
    assert_eq!(count(&store).await, 25);
    let (head_seq, _, anchor_seq, anchor_hash) = store.read(head).await.unwrap();
    assert_eq!((head_seq, anchor_seq, anchor_hash), (40, 15, removed_hash));
    assert_eq!(verify(&store).await, ok(25, 16, 40));
    let oldest = list(
        &store,
        AuditFilter {
            limit: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(oldest.last().unwrap().seq, 16);

    // The caller records the purge; the chain goes on.
    assert_eq!(append(&store, vec![rec(40)]).await, vec![41]);
    assert_eq!(verify(&store).await, ok(26, 16, 41));
    // Pruning again at the same time removes nothing more.
    assert_eq!(prune(rec(15).at_ms).await, 0);

    // Only a prefix goes: a late record with an early time stays, and so
    // does everything after the first record at or after the cut.
    let mut early = rec(41);
    early.at_ms = rec(0).at_ms;
    assert_eq!(append(&store, vec![early]).await, vec![42]);
    assert_eq!(prune(rec(20).at_ms).await, 5, "records 16..=20");
    assert_eq!(verify(&store).await, ok(22, 21, 42));
    assert_eq!(get(&store, 42).await.at_ms, rec(0).at_ms);

    // Everything older than the cut: the whole log goes, the anchor becomes
    // the head, and appends continue from it.
    assert_eq!(prune(i64::MAX).await, 22);
    assert_eq!(count(&store).await, 0);
    let (head_seq, head_hash, anchor_seq, anchor_hash) = store.read(head).await.unwrap();
    assert_eq!((anchor_seq, &anchor_hash), (head_seq, &head_hash));
    assert_eq!(verify(&store).await, ok(0, 43, 42));
    assert_eq!(append(&store, vec![rec(50), rec(51)]).await, vec![43, 44]);
    assert_eq!(verify(&store).await, ok(2, 43, 44));
    assert_eq!(get(&store, 43).await.prev_hash, head_hash);
}

async fn tampering_after_prune_is_found(backend: Backend) {
    let (store, _db) = chain_of_40(backend).await;
    let cut = rec(10).at_ms;
    assert_eq!(
        store.write(move |c| audit::prune(c, cut)).await.unwrap(),
        10
    );
    assert_eq!(verify(&store).await, ok(30, 11, 40));

    // A middle record edited.
    sql(
        &store,
        "UPDATE audit_log SET actor_id = 'acc-9' WHERE seq = $1",
        vec![25.into()],
    )
    .await;
    assert_eq!(
        verify(&store).await,
        VerifyReport {
            checked: 14,
            first_seq: 11,
            last_seq: 24,
            broken: Some(Broken {
                seq: 25,
                reason: "hash does not match the record's content".into()
            }),
        }
    );

    // The first record after the anchor deleted.
    let (store, _db) = chain_of_40(backend).await;
    store.write(move |c| audit::prune(c, cut)).await.unwrap();
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![11.into()],
    )
    .await;
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 11,
            reason: "record 11 is missing".into()
        }
    );

    // The anchor moved by hand to hide a deletion: its hash gives it away.
    let (store, _db) = chain_of_40(backend).await;
    store.write(move |c| audit::prune(c, cut)).await.unwrap();
    sql(
        &store,
        "DELETE FROM audit_log WHERE seq = $1",
        vec![11.into()],
    )
    .await;
    sql(
        &store,
        "UPDATE audit_head SET anchor_seq = 11 WHERE id = 1",
        vec![],
    )
    .await;
    assert_eq!(
        broken(&store).await,
        Broken {
            seq: 12,
            reason: "prev_hash does not match the previous record".into()
        }
    );
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
                    let seqs = audit::append(c, &records)?;
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
    assert_eq!(verify(&store).await, ok(total, 1, total));
}

/// Verifying while appends go on reports no false break.
async fn verify_during_appends(backend: Backend) {
    let (store, _db) = open(backend).await;
    append_range(&store, 0, 200, 50).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                append(&store, vec![rec(200 + i)]).await;
            }
        })
    };
    let mut reports = Vec::new();
    while !writer.is_finished() {
        reports.push(verify(&store).await);
    }
    writer.await.unwrap();
    reports.push(verify(&store).await);
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].last_seq <= w[1].last_seq));
    assert_eq!(reports.last().unwrap(), &ok(300, 1, 300));
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
                let removed = store.write(move |c| audit::prune(c, cut)).await.unwrap();
                assert_eq!(removed, 250);
            }
        })
    };
    let mut reports = Vec::new();
    while !pruner.is_finished() {
        reports.push(verify(&store).await);
    }
    pruner.await.unwrap();
    reports.push(verify(&store).await);
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    assert_eq!(reports.last().unwrap(), &ok(2_000, 10_001, 12_000));
}

macro_rules! both {
    ($($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name(onestop_store::testing::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name(onestop_store::testing::Backend::Postgres).await }
        }
    )*};
}

both!(
    append_chains_records_and_keeps_them_as_given,
    list_filters_and_pages,
    a_chain_of_thousands_verifies,
    one_changed_byte_is_found,
    deleted_records_are_found,
    a_deleted_head_is_found,
    an_edit_with_a_recomputed_hash_is_found,
    inserted_records_are_found,
    prune_moves_the_anchor,
    tampering_after_prune_is_found,
    concurrent_appends_make_one_chain,
    verify_during_appends,
    verify_during_prune
);
