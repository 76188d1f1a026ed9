//! Keyset paging of the lists on both databases: walking a list page by page
//! with cursors gives every row once, in the list's order, ties broken by id,
//! and rows written meanwhile neither repeat nor push rows off a page.

use onestop_domain::access::Visibility;
use onestop_domain::application::fan_out;
use onestop_domain::config::CityConfig;
use onestop_domain::form::validate_application;
use onestop_store::applications::{self, ListFilter, NewApplication, NewWorkOrder};
use onestop_store::db::Conn;
use onestop_store::notifications::{self, Message, Outward};
use onestop_store::paging::{Cursor, Page, PageAt};
use onestop_store::testing::{Backend, TestDb, insert_account};
use onestop_store::work_orders::{self, OrderFilter, OrderSort};
use onestop_store::{Store, StoreError};
use time::UtcOffset;

const T0: i64 = 1_790_000_000_000;

fn offset() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap()
}

/// Writes `n` five-service applications; application `i` is submitted at
/// `T0 + submitted(i)` and its orders fall due at `T0 + due(i, j)`. Few
/// distinct instants, so that the order has ties for the id to break.
async fn applications(
    store: &Store,
    from: usize,
    n: usize,
    submitted: fn(usize) -> i64,
    due: fn(usize, usize) -> i64,
) {
    let config = CityConfig::default_city();
    let now = time::OffsetDateTime::from_unix_timestamp(T0 / 1000)
        .unwrap()
        .to_offset(offset());
    let body = onestop_store::testing::example_application("随州市分页测试商贸有限公司");
    let form = validate_application(&body, &config, now).expect("valid");
    let planned = fan_out(&form, &config);
    store
        .write(move |c| {
            for i in from..from + n {
                let app = NewApplication {
                    id: uuid::Uuid::new_v4().simple().to_string(),
                    submitted_at_ms: T0 + submitted(i),
                    local_date: now.date(),
                    form: form.clone(),
                    orders: planned
                        .iter()
                        .enumerate()
                        .map(|(j, p)| NewWorkOrder {
                            id: uuid::Uuid::new_v4().simple().to_string(),
                            planned: p.clone(),
                            budget_seconds: 11_700,
                            due_at_ms: T0 + due(i, j),
                            warn_at_ms: T0 + due(i, j) - 1,
                        })
                        .collect(),
                    actor: "test".into(),
                    submitted_by: None,
                    query_code: None,
                    identity_verified: true,
                };
                applications::insert(c, &app, &config, offset())?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// A caller who may see every record.
fn everything() -> Visibility {
    Visibility {
        all: true,
        ..Visibility::default()
    }
}

fn app_page(c: &mut dyn Conn, at: PageAt, per_page: u32) -> Result<Page<String>, StoreError> {
    let filter = ListFilter {
        at,
        per_page,
        visibility: everything(),
        ..ListFilter::default()
    };
    Ok(applications::list(c, &filter, &CityConfig::default_city(), offset())?.map(|a| a.id))
}

fn order_page(
    c: &mut dyn Conn,
    sort: OrderSort,
    at: PageAt,
    per_page: u32,
) -> Result<Page<String>, StoreError> {
    let filter = OrderFilter {
        at,
        per_page,
        sort,
        visibility: everything(),
        ..OrderFilter::default()
    };
    Ok(
        work_orders::list(c, &filter, &CityConfig::default_city(), offset())?
            .map(|r| r.item.order.id),
    )
}

/// Every page from the first, by cursor: the ids in order, and the pages'
/// sizes.
async fn walk<F>(store: &Store, per_page: u32, read: F) -> (Vec<String>, Vec<usize>)
where
    F: Fn(&mut dyn Conn, PageAt, u32) -> Result<Page<String>, StoreError> + Clone + Send + 'static,
{
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut at = PageAt::Number(1);
    loop {
        let read = read.clone();
        let here = at.clone();
        let page = store.read(move |c| read(c, here, per_page)).await.unwrap();
        assert!(page.items.len() <= per_page as usize);
        if matches!(at, PageAt::After(_)) {
            assert_eq!(page.next_page, None, "a page by cursor has no number");
        }
        sizes.push(page.items.len());
        ids.extend(page.items);
        match page.next_cursor {
            Some(c) => at = PageAt::After(c),
            None => return (ids, sizes),
        }
    }
}

async fn every_row_once_in_order(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    // 12 applications at 3 instants; 72 orders with due instants in 4 values.
    applications(
        &store,
        0,
        12,
        |i| (i % 3) as i64 * 1_000,
        |i, j| ((i + j) % 4) as i64 * 60_000,
    )
    .await;

    let all = store
        .read(|c| app_page(c, PageAt::Number(1), 100))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 12);
    assert_eq!((all.next_page, all.next_cursor.is_none()), (None, true));
    let (walked, sizes) = walk(&store, 5, app_page).await;
    assert_eq!(
        walked, all.items,
        "by cursor, the same rows in the same order"
    );
    assert_eq!(sizes, vec![5, 5, 2]);
    let second = store
        .read(|c| app_page(c, PageAt::Number(2), 5))
        .await
        .unwrap();
    assert_eq!(second.items, all.items[5..10]);
    assert_eq!(second.next_page, Some(3));

    for sort in OrderSort::ALL {
        let read = move |c: &mut dyn Conn, at: PageAt, n: u32| order_page(c, sort, at, n);
        let all = store
            .read(move |c| read(c, PageAt::Number(1), 100))
            .await
            .unwrap();
        assert_eq!(all.items.len(), 72, "{sort:?}");
        let (walked, sizes) = walk(&store, 7, read).await;
        assert_eq!(walked, all.items, "{sort:?}");
        assert_eq!(sizes.len(), 11, "{sort:?}: ten full pages and two rows");
    }
}

/// Rows written between two pages: by cursor, the next page goes on from
/// the last row shown (a page by number would shift and repeat a row).
async fn rows_written_meanwhile_do_not_shift_pages(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    applications(&store, 0, 6, |i| i as i64 * 1_000, |_, _| 0).await;
    let first = store
        .read(|c| app_page(c, PageAt::Number(1), 3))
        .await
        .unwrap();
    // Two newer applications arrive.
    applications(&store, 6, 2, |i| i as i64 * 1_000, |_, _| 0).await;
    let cursor = first.next_cursor.clone().unwrap();
    let next = store
        .read(move |c| app_page(c, PageAt::After(cursor), 3))
        .await
        .unwrap();
    let by_number = store
        .read(|c| app_page(c, PageAt::Number(2), 3))
        .await
        .unwrap();
    let everything = store
        .read(|c| app_page(c, PageAt::Number(1), 100))
        .await
        .unwrap()
        .items;
    // Newest first: the two new ones, then the six in the order first saw.
    assert_eq!(first.items, everything[2..5]);
    assert_eq!(
        next.items,
        everything[5..8],
        "the three after the first page"
    );
    assert_eq!(next.next_cursor, None);
    assert_eq!(
        by_number.items[0], first.items[1],
        "by number a row repeats"
    );
}

async fn notifications_page_by_cursor(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    store
        .write(|c| {
            insert_account(c, "acct", None, T0)?;
            for i in 0..25 {
                let m = Message {
                    event_key: format!("e{i:02}"),
                    kind: "k".into(),
                    title: format!("t{i:02}"),
                    body: "b".into(),
                    link: None,
                    at_ms: T0,
                };
                notifications::send(c, &["acct".to_owned()], &m, Outward::default())?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let read = |c: &mut dyn Conn, at: PageAt, n: u32| -> Result<Page<String>, StoreError> {
        Ok(notifications::list(c, "acct", &at, n)?.map(|n| n.title))
    };
    let (walked, sizes) = walk(&store, 10, read).await;
    let expected: Vec<String> = (0..25).rev().map(|i| format!("t{i:02}")).collect();
    assert_eq!(walked, expected, "newest first");
    assert_eq!(sizes, vec![10, 10, 5]);
    // Another account's cursor order does not fit this list.
    let first = store
        .read(move |c| read(c, PageAt::Number(1), 10))
        .await
        .unwrap();
    let text = first.next_cursor.unwrap().encode();
    assert!(Cursor::decode(&text, &notifications::ORDER).is_some());
    assert!(Cursor::decode(&text, &applications::ORDER).is_none());
    assert!(Cursor::decode(&text, OrderSort::Due.order()).is_none());
}

use onestop_store::on_both_databases as both;

both!(
    every_row_once_in_order,
    rows_written_meanwhile_do_not_shift_pages,
    notifications_page_by_cursor,
);
