//! Snapshots of the main API bodies and of the key pages as rendered, on
//! SQLite and PostgreSQL against the same files in `tests/snapshots/`. The
//! clock is hand-set, so instants are exact; ids, CSRF tokens and query
//! codes are redacted (application numbers too, in bodies and pages). A body
//! or page that changes fails here until its snapshot is reviewed and
//! committed again: `INSTA_UPDATE=always cargo test -p onestop-server --test
//! snapshots sqlite` rewrites the files, `git diff` shows what changed.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

/// Monday of a plain week of November 2026 (no holidays).
const MONDAY: &str = "2026-11-16T09:00:00+08:00";

on_both_databases!(
    application_bodies,
    work_order_body,
    approval_case_body,
    error_bodies,
    public_pages,
    staff_pages,
);

/// The API.md example with an appointment on the Thursday.
fn five_services_on_thursday() -> Value {
    let mut body = onestop_store::testing::example_application("随州市示例商贸有限公司");
    body["appointment_at"] = json!("2026-11-19T09:00:00+08:00");
    body
}

macro_rules! assert_page {
    ($name:expr, $html:expr) => {{
        insta::with_settings!({
            filters => vec![
                (r#"name="csrf_token" value="[0-9a-f]{32}""#, r#"name="csrf_token" value="[csrf]""#),
                (r#"data-csrf="[0-9a-f]{32}""#, r#"data-csrf="[csrf]""#),
                (r"\b[0-9a-f]{32}\b", "[id]"),
                (r"\bLB\d{12}\b", "[number]"),
                (r#"id="query-code">[2-9A-HJ-NP-Z]{8}<"#, r#"id="query-code">[query-code]<"#),
            ],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $html);
        });
    }};
}

macro_rules! assert_body {
    ($name:expr, $value:expr) => {{
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!($name, $value, {
                ".**.id" => "[id]",
                ".**.application_id" => "[id]",
                ".**.work_order_id" => "[id]",
                ".**.case_id" => "[id]",
                ".**.works[]" => "[id]",
                ".**.number" => "[number]",
                ".**.application_number" => "[number]",
                ".**.query_code" => "[query-code]",
            });
        });
    }};
}

async fn submit(app: &TestApp) -> Value {
    let res = app
        .post_json("/api/v1/applications", &five_services_on_thursday(), None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()
}

async fn application_bodies(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = submit(&app).await;
    assert_body!("application", &created);
    // Read back, the application is the body its creation answered.
    let id = created["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/applications/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), created);
}

async fn work_order_body(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = submit(&app).await;
    let (order, _) = order_of(&created, "sz-water");
    let water = app.key("workorders:write:sz-water").await;
    app.set_time("2026-11-16T10:00:00+08:00");
    let accepted = app.as_key(&water).accept(&order).await;
    assert_body!("work_order", &accepted);
    let read = app
        .as_key(&water)
        .get(&format!("/api/v1/work-orders/{order}"))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), accepted);
}

async fn approval_case_body(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = submit(&app).await;
    let id = created["id"].as_str().unwrap();
    let mut works = Vec::new();
    for unit in ["sz-heat", "sz-telecom"] {
        let key = app.key(&format!("workorders:write:{unit}")).await;
        let (order, mut v) = order_of(&created, unit);
        app.as_key(&key)
            .step(&order, &mut v, json!({"action": "accept"}))
            .await;
        app.as_key(&key)
            .step(
                &order,
                &mut v,
                json!({"action": "record_survey", "external_works_m": 800, "route": "沿交通大道敷设"}),
            )
            .await;
        works.push(order);
    }
    app.set_time("2026-11-16T11:00:00+08:00");
    let heat = app.key("workorders:write:sz-heat").await;
    let res = app
        .as_key(&heat)
        .post(
            &format!("/api/v1/applications/{id}/approval-case"),
            json!({"works": works, "place": "交通大道（擂鼓墩大道至烈山大道段）",
                   "from": "2026-11-23", "to": "2026-11-27", "not_applicable": ["sz-jxj"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let raised = res.json();
    assert_body!("approval_case", &raised);
    let case = raised["id"].as_str().unwrap();
    let zrzy = app.signed_in("zrzy.approver", &["approver:sz-zrzy"]).await;
    let read = app
        .as_session(&zrzy)
        .get(&format!("/api/v1/approval-cases/{case}"))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(read.json(), raised);
}

async fn error_bodies(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let mut bad = five_services_on_thursday();
    bad["contact"]["phone"] = json!("12");
    bad["address"]["district_code"] = json!("000000");
    bad["services"]["water"]["demand_tons_per_day"] = json!(-1);
    let res = app.post_json("/api/v1/applications", &bad, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_body!("error_422_validation", res.json());
    let res = app.as_nobody().get("/api/v1/applications").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_body!("error_401", res.json());
    let reader = app.key("applications:read").await;
    let res = app
        .as_key(&reader)
        .post("/api/v1/applications", five_services_on_thursday())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_body!("error_403", res.json());
    let res = app
        .get("/api/v1/applications/0190aaaabbbbccccddddeeeeffff0000")
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_body!("error_404", res.json());
}

async fn public_pages(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let form = app.get("/apply").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_page!("page_apply_form", form.text());
    let created = submit(&app).await;
    let id = created["id"].as_str().unwrap();
    let receipt = app.get(&format!("/receipt/{id}")).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert_page!("page_receipt_public", receipt.text());
    // The applicant, signed in, sees it in full, with its query code.
    let ent = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    let receipt = app.get_as(&ent, &format!("/receipt/{id}")).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(
        receipt
            .text()
            .contains(created["query_code"].as_str().unwrap())
    );
    assert_page!("page_receipt_applicant", receipt.text());
}

async fn staff_pages(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = submit(&app).await;
    let (order, _) = order_of(&created, "sz-water");
    app.set_time("2026-11-16T10:00:00+08:00");
    let water = app.key("workorders:write:sz-water").await;
    app.as_key(&water).accept(&order).await;
    app.set_time("2026-11-17T09:00:00+08:00");
    app.sweep().await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app.get_as(&op, &format!("/work-orders/{order}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_page!("page_work_order_operator", page.text());
    let sup = app.signed_in("super.zjj", &["supervisor:sz-zjj"]).await;
    let board = app.get_as(&sup, "/board").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    assert_page!("page_board", board.text());
}
