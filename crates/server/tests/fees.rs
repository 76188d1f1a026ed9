//! Fees outside the red line (外线接入工程企业零投资) on SQLite and
//! PostgreSQL: a utility's operators itemise an order's costs; a user-paid
//! item outside the building's red line is refused with the policy named
//! unless an administrator recorded a documented exception (audited), and
//! then it is accepted and flagged; other utilities see nothing (`404`);
//! the board counts each unit's investment outside the red line and its
//! exceptions; the pages show and take the costs.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    items_are_accepted_and_a_user_paid_item_outside_the_red_line_is_refused,
    an_exception_lets_the_item_through_flagged_and_is_audited,
    other_units_and_parties_may_not_add_costs,
    field_problems_are_reported_per_field,
    the_board_counts_investment_outside_the_red_line_and_exceptions,
    the_pages_show_and_take_costs,
);

fn cost(item: &str, fen: i64, payer: &str, outside: bool) -> Value {
    json!({"item": item, "amount_fen": fen, "payer": payer, "outside_red_line": outside})
}

/// A water-only application (its one order is `sz-water`'s).
async fn water_order(app: &TestApp) -> (String, String) {
    let a = app.submit_created(&water_only(USCC)).await;
    let (order, _) = order_of(&a, "sz-water");
    (id_of(&a), order)
}

async fn items_are_accepted_and_a_user_paid_item_outside_the_red_line_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let (application, order) = water_order(&app).await;
    let uri = format!("/api/v1/work-orders/{order}/costs");

    let res = app
        .as_session(&op)
        .post(&uri, cost("红线外给水管道敷设", 1_250_000, "utility", true))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    assert_eq!(v["item"], "红线外给水管道敷设");
    assert_eq!(v["amount_fen"], 1_250_000);
    assert_eq!(v["payer"], "utility");
    assert_eq!(v["outside_red_line"], true);
    assert_eq!(v["flagged"], false);

    let res = app
        .as_session(&op)
        .post(&uri, cost("红线内水表箱", 80_000, "user", false))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());

    let res = app
        .as_session(&op)
        .post(&uri, cost("红线外开挖修复", 30_000, "user", true))
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let body = res.json();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_fields_include(&res, &[("payer", "policy_violation")]);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("建筑红线外的外线接入工程由公用事业单位投资，用户不需缴纳任何费用"),
        "{message}"
    );
    assert!(
        body["error"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("用户不需缴纳任何费用")
    );

    let list = app.as_session(&op).get(&uri).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let list = list.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["totals"]["utility_outside_red_line_fen"], 1_250_000);
    assert_eq!(list["totals"]["user_fen"], 80_000);
    assert_eq!(list["totals"]["user_outside_red_line_fen"], 0);
    assert_eq!(list["exception"], Value::Null);
    // The integration client that filed the application reads them too.
    let seen = app.get(&uri).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text());
    assert_eq!(seen.json()["items"].as_array().unwrap().len(), 2);

    // An Idempotency-Key answers a repeat with the first answer, once.
    let body = cost("红线外阀门井", 45_000, "utility", true);
    let first = app
        .as_session(&op)
        .idempotency_key("cost-1")
        .post(&uri, body.clone())
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = app
        .as_session(&op)
        .idempotency_key("cost-1")
        .post(&uri, body)
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.json()["id"], first.json()["id"]);
    let other = app
        .as_session(&op)
        .idempotency_key("cost-1")
        .post(&uri, cost("另一项", 1, "utility", true))
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.json()["error"]["code"], "idempotency_conflict");
    let list = app.as_session(&op).get(&uri).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let removed = app
        .as_session(&op)
        .delete(&format!("{uri}/{}", id_of(&first.json())))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    // The unit withdraws an item while the order is open.
    let first = id_of(&list["items"][1]);
    let res = app.as_session(&op).delete(&format!("{uri}/{first}")).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let list = app.as_session(&op).get(&uri).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["totals"]["user_fen"], 0);
    // Withdrawn once: a second time there is nothing to withdraw.
    let res = app.as_session(&op).delete(&format!("{uri}/{first}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Each change is in the application's history.
    let kinds: Vec<String> = app
        .events(&application)
        .await
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("cost_"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "cost_added",
            "cost_added",
            "cost_added",
            "cost_withdrawn",
            "cost_withdrawn"
        ]
    );
}

async fn an_exception_lets_the_item_through_flagged_and_is_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let admin = app.signed_in("admin.li", &["admin"]).await;
    let sup = app.signed_in("lead.sup", &["supervisor"]).await;
    let (_, order) = water_order(&app).await;
    let costs = format!("/api/v1/work-orders/{order}/costs");
    let exceptions = format!("/api/v1/work-orders/{order}/fee-exceptions");
    let body = json!({"reason": "用户要求双电源专线，超出标准接入方案部分由用户承担", "document": "随政办发〔2023〕7号"});

    // Only an administrator records one.
    let res = app.as_session(&op).post(&exceptions, body.clone()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let res = app.as_session(&sup).post(&exceptions, body.clone()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let res = app
        .as_session(&admin)
        .post("/api/v1/work-orders/nope/fee-exceptions", body.clone())
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    let res = app
        .as_session(&admin)
        .post(&exceptions, json!({"reason": " "}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(&res, &[("reason", "required"), ("document", "required")]);

    let res = app.as_session(&admin).post(&exceptions, body.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let x = res.json();
    assert_eq!(x["document"], "随政办发〔2023〕7号");
    assert_eq!(x["unit"]["code"], "sz-water");
    let xid = id_of(&x);

    let res = app
        .as_session(&op)
        .post(&costs, cost("红线外专线延伸", 300_000, "user", true))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    assert_eq!(v["flagged"], true);
    assert_eq!(v["exception_id"], xid.as_str());
    let list = app.as_session(&op).get(&costs).await.json();
    assert_eq!(list["totals"]["user_outside_red_line_fen"], 300_000);
    assert_eq!(list["exception"]["id"], xid.as_str());

    // In the audit log, with the document.
    let records = app.audit_records("fee_exception_recorded").await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].target_id, order);
    assert_eq!(records[0].actor_name, "admin.li");
    assert!(records[0].detail.contains("随政办发〔2023〕7号"));

    // Administrators and supervisors list them; operators may not.
    for s in [&admin, &sup] {
        let res = app.as_session(s).get("/api/v1/fee-exceptions").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(item_ids(&res.json()), vec![xid.clone()]);
    }
    let res = app.as_session(&op).get("/api/v1/fee-exceptions").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // A supervisor reads the page (linked from the menu) but has no form;
    // an operator may not open it; the order page flags the item.
    let page = app.ok_page_as(&sup, "/admin/fee-exceptions").await;
    assert_has(
        &page,
        &["href=\"/admin/fee-exceptions\"", "随政办发〔2023〕7号"],
    );
    assert!(!page.contains("id=\"exception-form\""));
    let res = app.get_as(&op, "/admin/fee-exceptions").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let page = app.ok_page_as(&op, &format!("/work-orders/{order}")).await;
    assert_has(
        &page,
        &[
            "cost-flagged",
            "⚑ 例外",
            "零投资例外：随政办发〔2023〕7号（",
        ],
    );
}

async fn other_units_and_parties_may_not_add_costs(backend: Backend) {
    let app = TestApp::new(backend).await;
    let power = app.signed_in("power.op", &["operator:sz-power"]).await;
    let applicant = app
        .signed_in("ent.zhang", &[&format!("applicant:{USCC}")])
        .await;
    let (_, order) = water_order(&app).await;
    let uri = format!("/api/v1/work-orders/{order}/costs");
    let body = cost("红线外给水管道敷设", 100, "utility", true);

    let res = app.as_session(&power).post(&uri, body.clone()).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "not_found");
    let res = app.as_session(&power).get(&uri).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // A hidden order's 404 says nothing: it is an unknown order's.
    let unknown = format!("/api/v1/work-orders/{}/costs", "0".repeat(32));
    let other = app.as_session(&power).get(&unknown).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.text(), res.text());
    let other = app.as_session(&power).post(&unknown, body.clone()).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // The enterprise sees its order's costs but does not add any.
    let res = app.as_session(&applicant).get(&uri).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.as_session(&applicant).post(&uri, body.clone()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let res = app.as_nobody().post(&uri, body.clone()).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    // A cancelled application's order takes no more costs.
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let application = application_of(&app, &order).await;
    let res = app
        .as_session(&applicant)
        .cancel(&application, "项目暂缓")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.as_session(&op).post(&uri, body).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "order_closed");
}

/// The application an order belongs to.
async fn application_of(app: &TestApp, order: &str) -> String {
    app.work_order(order).await["application_id"]
        .as_str()
        .expect("the order's application")
        .to_owned()
}

async fn field_problems_are_reported_per_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let (_, order) = water_order(&app).await;
    let uri = format!("/api/v1/work-orders/{order}/costs");
    for (body, expected) in [
        (
            json!({"item": "管道", "amount_fen": 0, "payer": "utility", "outside_red_line": true}),
            vec![("amount_fen", "out_of_range")],
        ),
        (
            json!({"item": "管道", "amount_fen": -100, "payer": "utility", "outside_red_line": true}),
            vec![("amount_fen", "out_of_range")],
        ),
        (
            json!({"item": "管道", "amount_fen": 100, "outside_red_line": false}),
            vec![("payer", "required")],
        ),
        (
            json!({"item": "  ", "amount_fen": 12.5, "payer": "them", "outside_red_line": "yes"}),
            vec![
                ("item", "required"),
                ("amount_fen", "invalid_format"),
                ("payer", "unknown_value"),
                ("outside_red_line", "invalid_format"),
            ],
        ),
        (
            json!({"item": "费".repeat(61), "amount_fen": 100, "payer": "user", "outside_red_line": false}),
            vec![("item", "too_long")],
        ),
        (
            json!({"item": "管\u{202E}道", "amount_fen": 100, "payer": "user", "outside_red_line": false}),
            vec![("item", "invalid_format")],
        ),
    ] {
        let res = app.as_session(&op).post(&uri, body.clone()).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.text()
        );
        assert_eq!(res.json()["error"]["code"], "validation_failed");
        assert_fields_include(&res, &expected);
    }
    let list = app.as_session(&op).get(&uri).await.json();
    assert_eq!(list["items"], json!([]));
}

async fn the_board_counts_investment_outside_the_red_line_and_exceptions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let admin = app.signed_in("admin.li", &["admin"]).await;
    let sup = app.signed_in("lead.sup", &["supervisor"]).await;
    let (_, order) = water_order(&app).await;
    let (_, second) = water_order(&app).await;
    let post = |o: &str, body: Value| {
        let uri = format!("/api/v1/work-orders/{o}/costs");
        let op = op.clone();
        let app = &app;
        async move { app.as_session(&op).post(&uri, body).await }
    };
    assert_eq!(
        post(&order, cost("管道", 1_000_000, "utility", true))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&second, cost("阀门井", 250_050, "utility", true))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&order, cost("水表", 9_900, "utility", false))
            .await
            .status,
        StatusCode::CREATED
    );
    let res = app
        .as_session(&admin)
        .post(
            &format!("/api/v1/work-orders/{second}/fee-exceptions"),
            json!({"reason": "用户自愿承担景观改造费用", "document": "随住建函〔2026〕12号"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(
        post(&second, cost("景观恢复", 5_000, "user", true))
            .await
            .status,
        StatusCode::CREATED
    );

    let res = app.as_session(&sup).get("/api/v1/board").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let board = res.json();
    let water = board["fees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["code"] == "sz-water")
        .unwrap_or_else(|| panic!("no fees of sz-water: {board}"))
        .clone();
    assert_eq!(water["utility_outside_red_line_fen"], 1_250_050);
    assert_eq!(water["user_outside_red_line_fen"], 5_000);
    assert_eq!(water["exceptions"], 1);
    let power = board["fees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["code"] == "sz-power")
        .cloned()
        .unwrap_or_default();
    assert_eq!(power["exceptions"].as_i64().unwrap_or(0), 0);
    // The board's filters apply: power's orders alone, or a period before.
    let power_only = app
        .as_session(&sup)
        .get("/api/v1/board?service=power")
        .await;
    assert_eq!(power_only.status, StatusCode::OK, "{}", power_only.text());
    let fees = power_only.json()["fees"].clone();
    assert!(
        fees.as_array()
            .unwrap()
            .iter()
            .all(|u| u["unit"]["code"] != "sz-water"),
        "{fees}"
    );
    let before = app
        .as_session(&sup)
        .get("/api/v1/board?from=2020-01-01&to=2020-01-31")
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text());
    assert!(
        before.json()["fees"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["utility_outside_red_line_fen"] == 0 && u["exceptions"] == 0)
    );

    // The live board shows it in yuan, the exception flagged.
    let page = app.ok_page_as(&sup, "/board").await;
    assert_has(&page, &["红线外投资", "¥12,500.50", "fee-exceptions-flag"]);

    // The Excel export has a sheet of its own: yuan, and the count.
    let export = app.get_as(&sup, "/board/export.xlsx").await;
    assert_eq!(export.status, StatusCode::OK);
    let files = unzip(&export.body);
    let strings = &files["xl/sharedStrings.xml"];
    assert!(strings.contains("红线外投资"), "{strings}");
    let sheet = files
        .iter()
        .filter(|(name, _)| name.starts_with("xl/worksheets/"))
        .map(|(_, text)| text)
        .find(|text| text.contains("<v>12500.5</v>"))
        .expect("a sheet with the water group's investment in yuan");
    assert!(sheet.contains("<v>50</v>"), "user outside: ¥50.00");
}

/// The files of a zip archive, by name.
fn unzip(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut files = std::collections::HashMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().map(|n| n.to_string()).unwrap_or_default();
        let mut text = String::new();
        if f.read_to_string(&mut text).is_ok() {
            files.insert(name, text);
        }
    }
    files
}

async fn the_pages_show_and_take_costs(backend: Backend) {
    let app = TestApp::new(backend).await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let admin = app.signed_in("admin.li", &["admin"]).await;
    let applicant = app
        .signed_in("ent.zhang", &[&format!("applicant:{USCC}")])
        .await;
    let (application, order) = water_order(&app).await;
    let page_uri = format!("/work-orders/{order}");

    let page = app.ok_page_as(&op, &page_uri).await;
    assert_has(&page, &["费用明细", "id=\"cost-form\"", "尚无费用项目"]);

    // The operator adds an item through the form.
    let res = app
        .post_form_as(
            &op,
            &page_uri,
            &[
                ("form", "cost"),
                ("item", "红线外给水管道敷设"),
                ("amount", "12,500.5"),
                ("payer", "utility"),
                ("outside_red_line", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.ok_page_as(&op, &format!("{page_uri}?done=cost")).await;
    assert_has(
        &page,
        &[
            "红线外给水管道敷设",
            "¥12,500.50",
            "公用事业单位",
            "红线外",
            "费用项目已添加",
        ],
    );

    // A refused form keeps its input and names the policy.
    let html = app
        .refused_form_as(
            &op,
            &page_uri,
            &[
                ("form", "cost"),
                ("item", "红线外路面修复"),
                ("amount", "300"),
                ("payer", "user"),
                ("outside_red_line", "yes"),
            ],
        )
        .await;
    assert_has(
        &html,
        &[
            "value=\"红线外路面修复\"",
            "value=\"300\"",
            "用户不需缴纳任何费用",
        ],
    );
    let html = app
        .refused_form_as(
            &op,
            &page_uri,
            &[
                ("form", "cost"),
                ("item", "水表箱"),
                ("amount", "0"),
                ("payer", "user"),
                ("outside_red_line", "no"),
            ],
        )
        .await;
    assert_has(&html, &["value=\"水表箱\"", "金额应大于 0"]);

    // The administrator records an exception on the admin page, reached
    // from the order's page with the order named.
    let on_order = app.ok_page_as(&admin, &page_uri).await;
    let link = format!("/admin/fee-exceptions?order={order}");
    assert_has(&on_order, &[&link]);
    assert!(
        !on_order.contains("id=\"cost-form\""),
        "an admin adds no items"
    );
    let page = app.ok_page_as(&admin, &link).await;
    assert_has(
        &page,
        &[
            "零投资例外",
            "id=\"exception-form\"",
            &format!("value=\"{order}\""),
        ],
    );
    let refused = app
        .refused_form_as(
            &admin,
            "/admin/fee-exceptions",
            &[
                ("order", &order),
                ("reason", ""),
                ("document", "随政办发〔2023〕7号"),
            ],
        )
        .await;
    assert_has(
        &refused,
        &["value=\"随政办发〔2023〕7号\"", "请填写例外原因"],
    );
    let res = app
        .post_form_as(
            &admin,
            "/admin/fee-exceptions",
            &[
                ("order", &order),
                ("reason", "用户要求超标准接入"),
                ("document", "随政办发〔2023〕7号"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.ok_page_as(&admin, "/admin/fee-exceptions").await;
    assert_has(&page, &["随政办发〔2023〕7号", "用户要求超标准接入"]);
    let menu = app.ok_page_as(&admin, "/admin/accounts").await;
    assert_has(&menu, &["href=\"/admin/fee-exceptions\""]);

    // Now the user-paid item outside the red line goes in, flagged.
    let res = app
        .post_form_as(
            &op,
            &page_uri,
            &[
                ("form", "cost"),
                ("item", "红线外路面修复"),
                ("amount", "300"),
                ("payer", "user"),
                ("outside_red_line", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.ok_page_as(&op, &page_uri).await;
    assert_has(&page, &["红线外路面修复", "¥300.00", "cost-flagged"]);

    // The enterprise reads its orders' costs on its application, no form.
    let page = app
        .ok_page_as(&applicant, &format!("/applications/{application}"))
        .await;
    assert_has(
        &page,
        &[
            "费用明细",
            "红线外给水管道敷设",
            "¥12,500.50",
            "建筑红线外的外线接入工程由公用事业单位投资，用户不需缴纳任何费用",
        ],
    );
    assert!(!page.contains("id=\"cost-form\""));
    let order_page = app.get_as(&applicant, &page_uri).await;
    if order_page.status == StatusCode::OK {
        assert!(!order_page.text().contains("id=\"cost-form\""));
    }
}
