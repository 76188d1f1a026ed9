//! The signed-in pages: applications (list and detail), the workbench and
//! one work order, each scoped to what the caller may see, with masked
//! personal data in lists and an audit record for every detail read.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use onestop_server::app::accounts::{
    NewAccountInput, create_account, create_api_key, system_caller,
};
use onestop_server::auth::{random_hex, token_hash};
use onestop_store::accounts::NewSession;
use onestop_store::audit::AuditFilter;
use onestop_store::testing::{Backend, example_application};
use serde_json::{Value, json};

on_both_databases!(
    applicant_sees_only_their_enterprise,
    water_operator_workbench_is_scoped,
    gas_operator_sees_joint_applications_only,
    lists_mask_personal_data,
    supervisor_sees_everything,
    signed_out_and_unprivileged_are_turned_away,
    detail_view_is_audited,
    filters_and_pages,
);

// ───────────────────────────── helpers ─────────────────────────────

const PASSWORD: &str = "Passw0rd!x";

/// A second valid USCC (another enterprise), by trying check characters.
fn second_uscc() -> String {
    let base = "91421300MA4AQRWT2";
    onestop_domain::form::USCC_ALPHABET
        .chars()
        .map(|c| format!("{base}{c}"))
        .find(|s| onestop_domain::form::uscc_is_valid(s))
        .expect("some check character fits")
}

/// An API key that may submit and read applications.
async fn api_key(app: &TestApp) -> String {
    let (_, key) = create_api_key(
        &app.state,
        &system_caller("test"),
        "test",
        "applications:write,applications:read",
    )
    .await
    .unwrap_or_else(|e| panic!("api key: {e:?}"));
    key
}

struct Submitted {
    id: String,
    number: String,
    /// (order id, unit code)
    orders: Vec<(String, String)>,
}

impl Submitted {
    fn order_of(&self, unit: &str) -> &str {
        self.orders
            .iter()
            .find(|(_, u)| u == unit)
            .map(|(id, _)| id.as_str())
            .unwrap_or_else(|| panic!("no {unit} order"))
    }
}

async fn submit(app: &TestApp, key: &str, body: &Value) -> Submitted {
    let res = app.as_key(key).post("/api/v1/applications", body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    Submitted {
        id: v["id"].as_str().unwrap().to_owned(),
        number: v["number"].as_str().unwrap().to_owned(),
        orders: v["work_orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["id"].as_str().unwrap().to_owned(),
                    o["unit"]["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    }
}

/// Five services (six orders, two carriers) for `uscc`.
fn five_for(uscc: &str, name: &str) -> Value {
    let mut b = example_application(name);
    b["applicant"]["uscc"] = json!(uscc);
    b
}

/// Water and gas only.
fn water_and_gas(uscc: &str, name: &str) -> Value {
    let mut b = five_for(uscc, name);
    b["mode"] = json!("a_la_carte");
    b["services"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k == "water" || k == "gas");
    b
}

/// A signed-in session: `(cookie header, account id)`. With `ready`, the
/// forced password change is cleared as if it had been done.
async fn session(app: &TestApp, username: &str, grants: &[&str], ready: bool) -> (String, String) {
    let created = create_account(
        &app.state,
        &system_caller("test"),
        NewAccountInput {
            username: username.into(),
            display_name: format!("测试{username}"),
            phone: None,
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("account {username}: {e:?}"));
    let account = created.account;
    let now = onestop_store::now_ms();
    if ready {
        let (id, hash) = (account.id.clone(), account.password_hash.clone());
        app.write(move |c| onestop_store::accounts::set_password(c, &id, &hash, false, now))
            .await;
    }
    let token = random_hex(32);
    let s = NewSession {
        token_hash: token_hash(&token),
        account_id: account.id.clone(),
        csrf_token: random_hex(16),
        at_ms: now,
        expires_at_ms: now + 3_600_000,
        ip: "127.0.0.1".into(),
        user_agent: "test".into(),
    };
    app.write(move |c| onestop_store::accounts::create_session(c, &s))
        .await;
    (format!("onestop_session={token}"), account.id)
}

async fn get_as(app: &TestApp, uri: &str, cookie: &str) -> Answer {
    app.request(Method::GET, uri, &[("cookie", cookie)], Body::empty())
        .await
}

/// GET that must answer 200; returns the HTML.
async fn page(app: &TestApp, uri: &str, cookie: &str) -> String {
    let res = get_as(app, uri, cookie).await;
    assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
    res.text()
}

/// The `application_read` audit records about one application, once every
/// queued record is written.
async fn reads(app: &TestApp, target: &str) -> Vec<onestop_store::audit::AuditRecord> {
    app.state.audit.flush().await;
    let target = target.to_owned();
    app.read(move |c| {
        onestop_store::audit::list(
            c,
            &AuditFilter {
                action: Some("application_read".into()),
                target_id: Some(target.clone()),
                limit: 50,
                ..Default::default()
            },
        )
    })
    .await
}

// ───────────────────────────── tests ─────────────────────────────

async fn applicant_sees_only_their_enterprise(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let other = second_uscc();
    assert_ne!(other, USCC);
    let mine = submit(&app, &key, &five_for(USCC, "随州市本企业有限公司")).await;
    let theirs = submit(&app, &key, &water_only(&other)).await;
    let (cookie, _) = session(&app, "applicant1", &[&format!("applicant:{USCC}")], true).await;

    let list = page(&app, "/applications", &cookie).await;
    assert!(list.contains("我的申请"), "an applicant's title");
    assert!(list.contains(&mine.number));
    assert!(list.contains(&format!("href=\"/applications/{}\"", mine.id)));
    assert!(list.contains("随州市本企业有限公司"));
    assert!(list.contains("曾都区"), "district by name");
    assert!(
        list.contains("用水、用电、用气、用暖、用网"),
        "services by name"
    );
    assert!(list.contains("已提交"), "status label");
    assert!(
        !list.contains(&theirs.number),
        "another enterprise's number"
    );
    assert!(!list.contains("随州市某某水产有限公司"));

    let detail = page(&app, &format!("/applications/{}", mine.id), &cookie).await;
    assert!(detail.contains(&mine.number));
    assert!(
        detail.contains("交通大道100号"),
        "full address on the record"
    );
    assert!(detail.contains("张三"), "full contact name on the record");
    assert!(detail.contains("燃气灶"), "service details");
    assert!(detail.contains("中国电信") && detail.contains("中国移动"));
    assert!(detail.contains("随州市水务集团") && detail.contains("中国移动随州分公司"));

    let hidden = get_as(&app, &format!("/applications/{}", theirs.id), &cookie).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.text().contains(&theirs.number));
    let unknown = get_as(
        &app,
        "/applications/0000000000000000000000000000dead",
        &cookie,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.text(), unknown.text(), "a hidden id looks unknown");
    let long = get_as(&app, &format!("/applications/{}", "a".repeat(100)), &cookie).await;
    assert_eq!(long.status, StatusCode::NOT_FOUND);

    // The applicant may open their own enterprise's order, not another's.
    let own_order = page(
        &app,
        &format!("/work-orders/{}", mine.order_of("sz-water")),
        &cookie,
    )
    .await;
    assert!(own_order.contains(&mine.number));
    let other_order = get_as(
        &app,
        &format!("/work-orders/{}", theirs.order_of("sz-water")),
        &cookie,
    )
    .await;
    assert_eq!(other_order.status, StatusCode::NOT_FOUND);
}

async fn water_operator_workbench_is_scoped(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let a = submit(&app, &key, &five_for(USCC, "随州市五项报装有限公司")).await;
    let gas_only = {
        let mut b = water_and_gas(&second_uscc(), "随州市只报燃气有限公司");
        b["services"].as_object_mut().unwrap().remove("water");
        submit(&app, &key, &b).await
    };
    let (cookie, _) = session(&app, "water-op", &["operator:sz-water"], true).await;

    let html = page(&app, "/workbench", &cookie).await;
    assert!(html.contains("本单位：随州市水务集团"));
    let water = a.order_of("sz-water");
    assert!(
        html.contains(&format!("/work-orders/{water}")),
        "own order listed"
    );
    for (id, unit) in a.orders.iter().chain(gas_only.orders.iter()) {
        if unit != "sz-water" {
            assert!(
                !html.contains(id.as_str()),
                "{unit} order must not be listed"
            );
        }
    }
    assert!(!html.contains("随州中燃公司"), "no other unit's rows");
    assert!(!html.contains(&gas_only.number));
    assert_eq!(html.matches("href=\"/work-orders/").count(), 1);
    assert!(
        html.contains("data-label=\"办理状态\">待受理<"),
        "the stage as a state"
    );
    assert!(html.contains("staff-level-normal"), "level badge");
    assert!(html.contains("随州市五项报装有限公司"));

    // Filters: nothing is past acceptance yet; everything is normal and open.
    let later = page(&app, "/workbench?stage=survey", &cookie).await;
    assert!(!later.contains(water), "stage filter applied");
    assert!(later.contains("没有符合条件的工单"));
    let normal = page(&app, "/workbench?level=normal&status=open", &cookie).await;
    assert!(normal.contains(water));
    assert!(
        normal.contains("<option value=\"normal\" selected>"),
        "filter kept"
    );
    let overdue = page(&app, "/workbench?level=overdue", &cookie).await;
    assert!(!overdue.contains(water));
    let junk = page(&app, "/workbench?stage=nope", &cookie).await;
    assert!(junk.contains(water), "an unknown value is ignored");
    assert!(junk.contains("筛选条件无效"));

    let own = page(&app, &format!("/work-orders/{water}"), &cookie).await;
    assert!(own.contains(&a.number));
    assert!(
        own.contains(&format!("href=\"/applications/{}\"", a.id)),
        "link to the application"
    );
    assert!(own.contains("aria-current=\"step\">受理"), "current stage");
    assert!(own.contains("<time datetime="), "deadline");
    let gas = get_as(
        &app,
        &format!("/work-orders/{}", a.order_of("sz-gas")),
        &cookie,
    )
    .await;
    assert_eq!(gas.status, StatusCode::NOT_FOUND);
    let unknown = get_as(&app, "/work-orders/nope", &cookie).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(gas.text(), unknown.text());

    // The application of an own order is readable, with the own order marked.
    let detail = page(&app, &format!("/applications/{}", a.id), &cookie).await;
    assert_eq!(
        detail.matches("staff-mine").count(),
        1,
        "one own order highlighted"
    );
    assert!(detail.contains(&format!("id=\"order-{water}\"")));
    assert!(detail.contains(&format!("href=\"/work-orders/{water}\"")));
    assert!(
        !detail.contains(&format!("href=\"/work-orders/{}\"", a.order_of("sz-gas"))),
        "no link to another unit's order"
    );
}

async fn gas_operator_sees_joint_applications_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let joint = submit(&app, &key, &water_and_gas(USCC, "随州市水气联办有限公司")).await;
    assert_eq!(joint.orders.len(), 2);
    let water = submit(&app, &key, &water_only(&second_uscc())).await;
    let (gas_cookie, _) = session(&app, "gas-op", &["operator:sz-gas"], true).await;

    let list = page(&app, "/applications", &gas_cookie).await;
    assert!(list.contains("<h1>申请</h1>"), "not an applicant's title");
    assert!(list.contains(&joint.number));
    assert!(!list.contains(&water.number));
    assert_eq!(
        get_as(&app, &format!("/applications/{}", water.id), &gas_cookie)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let detail = page(&app, &format!("/applications/{}", joint.id), &gas_cookie).await;
    assert!(detail.contains(&format!("id=\"order-{}\"", joint.order_of("sz-water"))));
    assert!(detail.contains("本单位（随州中燃公司）"));
    assert_eq!(detail.matches("staff-mine").count(), 1);

    let (water_cookie, _) = session(&app, "water-op", &["operator:sz-water"], true).await;
    let list = page(&app, "/applications", &water_cookie).await;
    assert!(list.contains(&joint.number) && list.contains(&water.number));
}

async fn lists_mask_personal_data(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let a = submit(&app, &key, &five_for(USCC, "随州市隐私保护有限公司")).await;
    let b = submit(&app, &key, &water_only(&second_uscc())).await;
    let (cookie, _) = session(&app, "super1", &["supervisor"], true).await;

    let list = page(&app, "/applications", &cookie).await;
    assert!(list.contains(&a.number) && list.contains(&b.number));
    assert!(
        !list.contains("13800000000"),
        "no full mobile number in a list"
    );
    assert!(list.contains("138****0000"));
    assert!(
        !list.contains("0722-3334444"),
        "no full landline number in a list"
    );
    assert!(list.contains("********4444"));
    assert!(
        !list.contains("张三") && list.contains("张*"),
        "names masked"
    );
    assert!(!list.contains("李四") && list.contains("李*"));
    assert!(
        !list.contains("交通大道100号"),
        "no street address in a list"
    );
    assert_eq!(
        get_as(&app, "/applications", &cookie)
            .await
            .header("cache-control"),
        Some("no-store")
    );

    let detail = page(&app, &format!("/applications/{}", a.id), &cookie).await;
    assert!(
        !detail.contains("13800000000"),
        "phone masked on the record too"
    );
    assert!(detail.contains("138****0000"));
    assert!(detail.contains("最小必要"), "with a note why");

    let wb = page(&app, "/workbench", &cookie).await;
    assert!(!wb.contains("13800000000") && !wb.contains("张三"));
}

async fn supervisor_sees_everything(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let a = submit(&app, &key, &five_for(USCC, "随州市甲公司")).await;
    let b = submit(&app, &key, &water_only(&second_uscc())).await;
    let (cookie, _) = session(&app, "super2", &["supervisor"], true).await;

    let list = page(&app, "/applications", &cookie).await;
    assert!(list.contains(&a.number) && list.contains(&b.number));
    for s in [&a, &b] {
        page(&app, &format!("/applications/{}", s.id), &cookie).await;
    }
    let wb = page(&app, "/workbench", &cookie).await;
    for (id, _) in a.orders.iter().chain(b.orders.iter()) {
        assert!(wb.contains(id.as_str()), "order {id} listed");
    }
    assert_eq!(wb.matches("href=\"/work-orders/").count(), 7);
    page(
        &app,
        &format!("/work-orders/{}", a.order_of("sz-mobile")),
        &cookie,
    )
    .await;
}

async fn signed_out_and_unprivileged_are_turned_away(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let a = submit(&app, &key, &water_only(USCC)).await;

    for (uri, next) in [
        ("/applications", "/login?next=/applications"),
        ("/workbench", "/login?next=/workbench"),
        (
            "/workbench?stage=survey",
            "/login?next=/workbench%3Fstage%3Dsurvey",
        ),
    ] {
        let res = app.get(uri).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(res.header("location"), Some(next), "{uri}");
    }
    let detail = app.get(&format!("/applications/{}", a.id)).await;
    assert_eq!(detail.status, StatusCode::SEE_OTHER);
    assert!(!detail.text().contains(&a.number));
    let order = app.get(&format!("/work-orders/{}", a.orders[0].0)).await;
    assert_eq!(order.status, StatusCode::SEE_OTHER);

    // An unknown or ended session is turned away like none, told that its
    // session ended.
    let res = get_as(&app, "/applications", "onestop_session=deadbeef").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header("location"),
        Some("/login?next=/applications&notice=expired")
    );

    // A session that must change its password goes there first.
    let (fresh, _) = session(&app, "fresh-op", &["operator:sz-water"], false).await;
    for uri in [
        "/applications",
        "/workbench",
        &format!("/applications/{}", a.id),
    ] {
        let res = get_as(&app, uri, &fresh).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(res.header("location"), Some("/account/password"), "{uri}");
    }

    // An approver sees no application yet (an empty list; records are
    // absent) and no work order at all.
    let (approver, _) = session(&app, "approver1", &["approver:sz-zrzy"], true).await;
    let list = page(&app, "/applications", &approver).await;
    assert!(!list.contains(&a.number));
    assert!(list.contains("暂无申请"));
    let res = get_as(&app, &format!("/applications/{}", a.id), &approver).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    for uri in [
        "/workbench".to_owned(),
        format!("/work-orders/{}", a.orders[0].0),
    ] {
        let res = get_as(&app, &uri, &approver).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(!res.text().contains(&a.number));
    }

    // An account left without any role may see nothing: 403 everywhere.
    let (bare, bare_id) = session(&app, "bare1", &["approver:sz-zrzy"], true).await;
    let now = onestop_store::now_ms();
    app.write(move |c| onestop_store::accounts::set_grants(c, &bare_id, &[], now))
        .await;
    for uri in [
        "/applications".to_owned(),
        "/workbench".to_owned(),
        format!("/applications/{}", a.id),
        format!("/work-orders/{}", a.orders[0].0),
    ] {
        let res = get_as(&app, &uri, &bare).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(!res.text().contains(&a.number));
    }

    // An administrator reads everything.
    let (admin, _) = session(&app, "admin1", &["admin"], true).await;
    assert!(
        page(&app, "/applications", &admin)
            .await
            .contains(&a.number)
    );
}

async fn detail_view_is_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    let a = submit(&app, &key, &water_and_gas(USCC, "随州市审计留痕有限公司")).await;
    let hidden = submit(&app, &key, &water_only(&second_uscc())).await;
    let (cookie, account_id) = session(&app, "gas-auditee", &["operator:sz-gas"], true).await;

    assert!(reads(&app, &a.id).await.is_empty(), "nothing read yet");

    page(&app, &format!("/applications/{}", a.id), &cookie).await;
    let records = reads(&app, &a.id).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r.actor_kind, "account");
    assert_eq!(r.actor_id, account_id);
    assert_eq!(r.outcome, "success");
    assert_eq!(r.target_kind, "application");
    assert!(r.detail.contains(&a.number));

    // A refused read is not a read.
    let res = get_as(&app, &format!("/applications/{}", hidden.id), &cookie).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(reads(&app, &hidden.id).await.is_empty());
}

async fn filters_and_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = api_key(&app).await;
    // 21 applications in 随县 plus one in 曾都区.
    let mut numbers = Vec::new();
    for _ in 0..21 {
        numbers.push(submit(&app, &key, &water_only(USCC)).await.number);
    }
    let zengdu = submit(&app, &key, &five_for(USCC, "随州市曾都区有限公司")).await;
    let (cookie, _) = session(&app, "water-op2", &["operator:sz-water"], true).await;

    let rows = |html: &str| html.matches("class=\"staff-number\"").count();
    let first = page(&app, "/applications", &cookie).await;
    assert_eq!(rows(&first), 20);
    assert!(first.contains(&zengdu.number), "newest first");
    assert!(!first.contains(&numbers[0]), "the oldest is on page 2");
    assert!(first.contains("href=\"/applications?page=2\""));
    assert!(!first.contains("rel=\"prev\""));
    let second = page(&app, "/applications?page=2", &cookie).await;
    assert_eq!(rows(&second), 2);
    assert!(second.contains(&numbers[0]));
    assert!(second.contains("href=\"/applications\" rel=\"prev\""));
    assert!(!second.contains("rel=\"next\""));

    let suixian = page(&app, "/applications?district_code=421321", &cookie).await;
    assert_eq!(rows(&suixian), 20);
    assert!(!suixian.contains(&zengdu.number));
    // The next page keeps the filter (askama escapes `&` as `&#38;`).
    assert!(
        suixian.contains("href=\"/applications?district_code=421321&#38;page=2\" rel=\"next\"")
    );
    let zd = page(&app, "/applications?district_code=421303", &cookie).await;
    assert_eq!(rows(&zd), 1);
    assert!(zd.contains(&zengdu.number));

    assert_eq!(
        rows(&page(&app, "/applications?status=submitted&page=2", &cookie).await),
        2
    );
    let done = page(&app, "/applications?status=completed", &cookie).await;
    assert_eq!(rows(&done), 0);
    assert!(done.contains("没有符合条件的申请"));
    let junk = page(&app, "/applications?status=nope&page=zero", &cookie).await;
    assert_eq!(rows(&junk), 20, "unknown values are ignored");
    assert!(junk.contains("筛选条件无效"));

    // Past the pages read by number, a page is read after the cursor of
    // the one before it (the API's cursor marks the same place).
    let deep = page(&app, "/applications?page=101", &cookie).await;
    assert_eq!(rows(&deep), 20, "no page 101 by number: page 1");
    assert!(deep.contains("筛选条件无效"));
    let after_20 = app.get("/api/v1/applications?per_page=20").await.json()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_cursor = page(
        &app,
        &format!("/applications?page=101&cursor={after_20}"),
        &cookie,
    )
    .await;
    assert_eq!(rows(&by_cursor), 2);
    assert!(by_cursor.contains(&numbers[0]));
    assert!(by_cursor.contains("第 101 页"));
    assert!(by_cursor.contains("href=\"/applications?page=100\" rel=\"prev\""));
    assert!(!by_cursor.contains("rel=\"next\""));
    let junk = page(&app, "/applications?cursor=zz", &cookie).await;
    assert_eq!(rows(&junk), 20);
    assert!(junk.contains("筛选条件无效"));

    // The workbench pages the same way: 22 water orders.
    let wb = page(&app, "/workbench", &cookie).await;
    assert_eq!(rows(&wb), 20);
    assert!(wb.contains("href=\"/workbench?page=2\""));
    let wb2 = page(&app, "/workbench?page=2", &cookie).await;
    assert_eq!(rows(&wb2), 2);
}
