//! The outbox's claim on both databases: one statement chooses and leases
//! the due rows; on PostgreSQL concurrent claimers pass over each other's
//! rows instead of waiting for them or sharing them.

use onestop_store::db::{Conn, DbTarget, Role};
use onestop_store::notifications::Message;
use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb, insert_account, off_runtime};
use onestop_store::{Store, StoreError, outbox, params};
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

const T0: i64 = 1_790_000_000_000;
const LEASE: i64 = 60_000;

fn account(conn: &mut dyn Conn, id: &str) -> Result<(), StoreError> {
    insert_account(conn, id, Some("13800000000"), T0)
}

/// `n` pending SMS rows for one account, row `i` due at `T0 + due(i)`.
async fn queue(store: &Store, n: usize, due: fn(usize) -> i64) -> Vec<i64> {
    store
        .write(move |c| {
            account(c, "acct")?;
            for i in 0..n {
                let m = Message {
                    event_key: format!("e{i}"),
                    kind: "k".into(),
                    title: "t".into(),
                    body: "b".into(),
                    link: None,
                    at_ms: T0 + due(i),
                };
                outbox::queue_sms(c, "acct", "13800000000", &m)?;
            }
            c.query("SELECT id FROM deliveries ORDER BY id", &[])?
                .iter()
                .map(|r| r.int(0))
                .collect()
        })
        .await
        .unwrap()
}

async fn claims_the_oldest_due_once_within_the_limit(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    // Rows 0..6 due in reverse order of insertion; row 6 due only after the
    // leases below have been renewed once.
    let ids = queue(&store, 7, |i| match i {
        6 => 1_000 + LEASE + 500,
        _ => 100 - i as i64,
    })
    .await;
    let claim = |now: i64, limit: u32| {
        let store = store.clone();
        async move {
            store
                .write(move |c| outbox::claim(c, "w1", now, LEASE, limit))
                .await
                .unwrap()
        }
    };
    let first = claim(T0 + 1_000, 4).await;
    let got: Vec<i64> = first.iter().map(|d| d.id).collect();
    // The four due the longest: rows 5, 4, 3, 2 (returned by id).
    assert_eq!(got, vec![ids[2], ids[3], ids[4], ids[5]]);
    for d in &first {
        assert_eq!(d.attempts, 1);
        assert_eq!(d.next_attempt_at_ms, T0 + 1_000 + LEASE);
        assert_eq!(d.status, "pending");
    }
    let second = claim(T0 + 1_000, 10).await;
    let got: Vec<i64> = second.iter().map(|d| d.id).collect();
    assert_eq!(
        got,
        vec![ids[0], ids[1]],
        "leased rows are not claimed again"
    );
    assert!(claim(T0 + 1_000, 10).await.is_empty());
    // When the lease ends the rows are due again, with a second attempt.
    let again = claim(T0 + 1_000 + LEASE, 10).await;
    assert_eq!(again.len(), 6);
    assert!(again.iter().all(|d| d.attempts == 2));
    // Row 6 falls due later, on its own, while the others are leased.
    let late = claim(T0 + 1_000 + LEASE + 500, 10).await;
    assert_eq!(late.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[6]]);
}

async fn claims_nothing_sent_or_given_up(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    let ids = queue(&store, 3, |_| 0).await;
    let (a, b) = (ids[0], ids[1]);
    store
        .write(move |c| {
            let claimed = outbox::claim(c, "w1", T0, LEASE, 2)?;
            assert_eq!(claimed.len(), 2);
            assert!(outbox::mark_sent(c, a, "w1", T0)?);
            assert!(outbox::mark_failed(c, b, "w1", "refused", None)?);
            Ok(())
        })
        .await
        .unwrap();
    let later = store
        .write(|c| outbox::claim(c, "w2", T0 + 10 * LEASE, LEASE, 10))
        .await
        .unwrap();
    assert_eq!(later.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[2]]);
}

/// A connection of its own, in a transaction, that gives up on a row lock
/// after a few seconds instead of waiting for ever.
fn claimer(target: &DbTarget) -> Box<dyn Conn> {
    let mut c = target.connect(Role::Writer).expect("connect");
    c.batch("SET lock_timeout = '5s'; SET statement_timeout = '10s'; BEGIN")
        .expect("begin");
    c
}

/// Two transactions claim at once and both hold their rows until both have
/// claimed: neither gets a row of the other, neither waits, and between them
/// they get every due row (each limit alone is too small for all of them).
async fn concurrent_claimers_share_nothing_and_miss_nothing() {
    let db = TestDb::new(Backend::Postgres);
    let store = db.open_store().await;
    const N: usize = 40;
    const LIMIT: u32 = 25;
    let ids = queue(&store, N, |i| i as i64).await;
    for round in 0..5 {
        let now = T0 + 1_000 + round * 2 * LEASE;
        let both = Arc::new(Barrier::new(2));
        let run = |worker: &'static str| {
            let (target, both) = (db.target.clone(), both.clone());
            std::thread::spawn(move || {
                let mut c = claimer(&target);
                both.wait();
                let got = outbox::claim(c.as_mut(), worker, now, LEASE, LIMIT);
                // Hold the rows until the other has claimed too.
                both.wait();
                c.batch("COMMIT").expect("commit");
                got.expect("claim")
            })
        };
        let (a, b) = (run("a"), run("b"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let set = |v: &[outbox::Delivery]| v.iter().map(|d| d.id).collect::<BTreeSet<i64>>();
        let (sa, sb) = (set(&a), set(&b));
        assert_eq!(sa.len(), a.len(), "round {round}: a row twice in one claim");
        assert!(sa.is_disjoint(&sb), "round {round}: {sa:?} ∩ {sb:?}");
        assert!(!a.is_empty() && !b.is_empty(), "round {round}: {a:?} {b:?}");
        assert!(a.len() <= LIMIT as usize && b.len() <= LIMIT as usize);
        let all: BTreeSet<i64> = sa.union(&sb).copied().collect();
        assert_eq!(all, ids.iter().copied().collect(), "round {round}");
        assert!(a.iter().all(|d| d.attempts == round + 1));
        assert!(b.iter().all(|d| d.attempts == round + 1));
        let a_ids: Vec<i64> = sa.into_iter().collect();
        let held = off_runtime({
            let target = db.target.clone();
            move || -> Result<i64, StoreError> {
                let mut c = target.connect(Role::Reader)?;
                let mut n = 0;
                for id in a_ids {
                    let r = c
                        .query_opt(
                            "SELECT claimed_by FROM deliveries WHERE id = $1",
                            params![id],
                        )?
                        .unwrap();
                    n += i64::from(r.text(0)? == "a");
                }
                Ok(n)
            }
        })
        .unwrap();
        assert_eq!(held, a.len() as i64, "the rows a claimed are held by a");
    }
}

use onestop_store::on_both_databases as both;

both!(
    claims_the_oldest_due_once_within_the_limit,
    claims_nothing_sent_or_given_up,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_claimers_share_nothing_and_miss_nothing() {
    concurrent_claimers_share_nothing_and_miss_nothing().await
}
