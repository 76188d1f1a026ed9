//! The group-commit writer on both databases: batches share one commit, a
//! failing or panicking job is rolled back alone, answers come after commit.

use onestop_store::db::Conn;
use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb};
use onestop_store::{Store, StoreError, StoreOptions, params};
use std::time::Duration;

async fn open(backend: Backend) -> (Store, TestDb) {
    let db = TestDb::new(backend);
    let options = StoreOptions {
        readers: 2,
        writers: 1,
    };
    (db.open_store_with(options).await, db)
}

fn put(conn: &mut dyn Conn, name: &str) -> Result<u64, StoreError> {
    conn.execute(
        "INSERT INTO counters (name, value) VALUES ($1, 1)",
        params![name],
    )
}

async fn count(store: &Store, prefix: &'static str) -> i64 {
    store
        .read(move |c| {
            c.query_opt(
                "SELECT COUNT(*) FROM counters WHERE name LIKE $1",
                params![format!("{prefix}%")],
            )?
            .unwrap()
            .int(0)
        })
        .await
        .unwrap()
}

async fn a_failing_job_is_rolled_back_alone(backend: Backend) {
    let (store, _db) = open(backend).await;
    store.write(|c| put(c, "t-dup")).await.unwrap();
    // Hold the writer so that the next jobs queue up into one batch.
    let hold = store.write(|_| {
        std::thread::sleep(Duration::from_millis(150));
        Ok(())
    });
    let a = store.write(|c| put(c, "t-a"));
    let dup = store.write(|c| put(c, "t-dup"));
    let boom = store.write(|c| -> Result<u64, StoreError> {
        put(c, "t-boom")?;
        panic!("a bug in a job")
    });
    let b = store.write(|c| put(c, "t-b"));
    let (hold, a, dup, boom, b) = tokio::join!(hold, a, dup, boom, b);
    hold.unwrap();
    assert_eq!(a.unwrap(), 1);
    assert!(matches!(&dup, Err(e) if e.is_unique_violation()), "{dup:?}");
    assert!(boom.is_err());
    assert_eq!(b.unwrap(), 1);
    assert_eq!(count(&store, "t-").await, 3, "dup, a, b — not boom");
}

async fn many_writers_share_commits(backend: Backend) {
    let (store, _db) = open(backend).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.write(move |c| put(c, &format!("m-{i}"))).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(count(&store, "m-").await, 200);
}

use onestop_store::on_both_databases as both;

both!(
    a_failing_job_is_rolled_back_alone,
    many_writers_share_commits
);
