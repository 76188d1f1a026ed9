//! Window payments' sending jobs on both databases: a payment and its job
//! are written together; claims lease the due jobs once (concurrent
//! claimers never share one); only the lease holder records the outcome;
//! a lease that ran out lets another worker claim the job again.

use onestop_store::payments::{self, NewPayment, PaidBill, Receipt};
use onestop_store::testing::{Backend, TestDb, insert_account};
use onestop_store::{ErrorKind, Store};
use std::collections::BTreeSet;

const T0: i64 = 1_790_000_000_000;
const LEASE: i64 = 15_000;

fn payment(i: usize, at_ms: i64) -> NewPayment {
    NewPayment {
        id: format!("p{i:03}"),
        hall_code: "hall-01".into(),
        clerk_id: "clerk".into(),
        clerk_name: "窗口".into(),
        unit_code: "sz-water".into(),
        account_no: format!("1{i:07}"),
        account_name: "示例".into(),
        bills: vec![PaidBill {
            id: format!("B{i}"),
            period: "2026-10".into(),
            amount_fen: 1_000 + i as i64,
        }],
        amount_fen: 1_000 + i as i64,
        method: "cash".into(),
        received_fen: None,
        form_key: Some(format!("k{i}")),
        at_ms,
    }
}

async fn taken(store: &Store, n: usize) {
    store
        .write(move |c| {
            insert_account(c, "clerk", None, T0)?;
            for i in 0..n {
                payments::insert(c, &payment(i, T0 + i as i64))?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

async fn claims_lease_each_job_once(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    taken(&store, 40).await;
    // Eight claimers at once, five each: every job exactly once.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |c| payments::claim(c, &format!("w{w}"), T0 + 100, LEASE, 5))
                .await
                .unwrap()
        }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        for job in t.await.unwrap() {
            assert_eq!(job.attempts, 1);
            assert!(
                seen.insert(job.payment_id.clone()),
                "{} twice",
                job.payment_id
            );
        }
    }
    assert_eq!(seen.len(), 40);
    // Nothing is due while the leases run.
    let again = store
        .write(|c| payments::claim(c, "w9", T0 + 100 + LEASE - 1, LEASE, 100))
        .await
        .unwrap();
    assert!(again.is_empty());
    // w0's lease is over: another worker takes its jobs, and w0 can no
    // longer record an outcome for them.
    let later = T0 + 100 + LEASE;
    let retaken = store
        .write(move |c| payments::claim(c, "w9", later, LEASE, 100))
        .await
        .unwrap();
    assert_eq!(retaken.len(), 40);
    assert!(retaken.iter().all(|j| j.attempts == 2));
    let receipt = Receipt {
        receipt_no: "SJ1".into(),
        utility_payment_id: "PAY1".into(),
        amount_fen: 1_000,
        paid_at_ms: later,
    };
    let r = receipt.clone();
    let stale = store
        .write(move |c| payments::settle_paid(c, "p000", "w0", &r, later))
        .await
        .unwrap();
    assert!(!stale, "a lost lease records nothing");
    let r = receipt.clone();
    assert!(
        store
            .write(move |c| payments::settle_paid(c, "p000", "w9", &r, later))
            .await
            .unwrap()
    );
    let p = store
        .read(|c| payments::get(c, "p000"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, "paid");
    assert_eq!(p.receipt_no.as_deref(), Some("SJ1"));
    assert_eq!(p.attempts, 2);
    // A retry waits; a refusal is final; neither is due again until told.
    assert!(
        store
            .write(move |c| payments::retry_later(c, "p001", "w9", "超时", later + 5_000))
            .await
            .unwrap()
    );
    assert!(
        store
            .write(move |c| payments::settle_failed(
                c,
                "p002",
                "w9",
                "bill_not_open",
                "已缴清",
                later
            ))
            .await
            .unwrap()
    );
    let next = store.read(payments::next_due).await.unwrap();
    assert_eq!(next, Some(later + 5_000));
    let p2 = store
        .read(|c| payments::get(c, "p002"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p2.status.as_str(), p2.failure_code.as_deref()),
        ("failed", Some("bill_not_open"))
    );
    let (pending, oldest) = store.read(payments::pending).await.unwrap();
    assert_eq!((pending, oldest), (38, Some(T0 + 1)));
}

async fn one_payment_per_form(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    taken(&store, 1).await;
    let mut again = payment(1, T0);
    again.form_key = Some("k0".into());
    let e = store
        .write(move |c| payments::insert(c, &again))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    let found = store
        .read(|c| payments::by_form_key(c, "clerk", "k0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "p000");
    assert_eq!(found.bills[0].amount_fen, 1_000);
    // Payments without a form key (the API's) never collide.
    let (mut a, mut b) = (payment(2, T0), payment(3, T0));
    a.form_key = None;
    b.form_key = None;
    store
        .write(move |c| {
            payments::insert(c, &a)?;
            payments::insert(c, &b)
        })
        .await
        .unwrap();
}

onestop_store::on_both_databases!(claims_lease_each_job_once, one_payment_per_form);
