//! Pre-registration (一口登记早服务), on SQLite and PostgreSQL: a project is
//! registered at land transfer through the API (with the scope; 403
//! without) or by the planning department; its field problems are all
//! reported; the utilities concerned see it in their inbox and are told,
//! the others cannot see it or record on it; a utility's network plan
//! covering the survey lets its later work order skip the survey, while an
//! unplanned unit's order cannot; a later application with the same
//! project code is linked and the form is prefilled for the enterprise the
//! registration names only; the board counts it all. A concerned utility's
//! network plan file is stored once, seen by the utilities concerned only,
//! and becomes a material of the application linked later, downloaded by
//! its water and power utilities as it was uploaded.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use serde_json::{Value, json};

on_both_databases!(
    a_project_is_registered_with_the_scope_only,
    every_field_problem_is_reported,
    the_concerned_utilities_see_it_and_are_told,
    a_planned_survey_may_be_skipped_by_its_unit_only,
    the_prefill_is_the_named_enterprises_only,
    the_board_counts_registrations_applications_and_skips,
    the_planning_department_registers_on_its_page,
    a_plan_file_is_shared_with_the_application_that_follows,
    the_utilities_add_plan_files_on_the_page,
    a_registrations_files_are_bounded,
);

/// Monday 09:00.
const MONDAY: &str = "2026-12-07T09:00:00+08:00";
const CODE: &str = "2612-421303-04-01-654321";

fn registration() -> Value {
    json!({
        "project_code": CODE,
        "land_parcel": "曾都区2026-15号地块",
        "enterprise": {"name": "随州市某某水产有限公司", "uscc": USCC},
        "location": {"district_code": "421321", "detail": "厉山镇工业园1号", "lng": 113.37, "lat": 31.70},
        "services": {
            "water": {"business_type": "new_account", "demand_tons_per_day": 80},
            "power": {"main_capacity_kva": 630}
        },
        "expected_date": "2027-06-30"
    })
}

async fn register(app: &TestApp, body: &Value) -> Value {
    let key = app
        .key("pre_registrations:write,pre_registrations:read")
        .await;
    let res = app
        .as_key(&key)
        .post("/api/v1/pre-registrations", body)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()
}

/// Water and power, with the same project code as the registration.
fn application_of_project(uscc: &str) -> Value {
    let mut body = water_only(uscc);
    body["project_code"] = json!(CODE);
    body["services"]["power"] =
        json!({"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0});
    body
}

async fn a_project_is_registered_with_the_scope_only(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    // Without the scope: forbidden.
    let reader = app.key("applications:read,applications:write").await;
    let res = app
        .as_key(&reader)
        .post("/api/v1/pre-registrations", registration())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "forbidden");
    let res = app.as_key(&reader).get("/api/v1/pre-registrations").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // With it: created, with the units concerned, once per idempotency key.
    let key = app
        .key("pre_registrations:write,pre_registrations:read")
        .await;
    let first = app
        .as_key(&key)
        .idempotency_key("land-1")
        .post("/api/v1/pre-registrations", registration())
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let created = first.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/pre-registrations/{id}").as_str())
    );
    assert_eq!(created["status"], "open");
    assert_eq!(created["project_code"], CODE);
    assert_eq!(created["enterprise"]["uscc"], USCC);
    assert_eq!(created["services"]["power"]["main_capacity_kva"], 630.0);
    let units: Vec<&str> = created["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(units, vec!["sz-water", "sz-power"]);
    let again = app
        .as_key(&key)
        .idempotency_key("land-1")
        .post("/api/v1/pre-registrations", registration())
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], id.as_str());
    let mut other = registration();
    other["land_parcel"] = json!("另一地块");
    let conflict = app
        .as_key(&key)
        .idempotency_key("land-1")
        .post("/api/v1/pre-registrations", other)
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.json()["error"]["code"], "idempotency_conflict");
    // The project code is taken while the registration is open.
    let dup = app
        .as_key(&key)
        .post("/api/v1/pre-registrations", registration())
        .await;
    assert_eq!(
        dup.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        dup.text()
    );
    assert_eq!(
        dup.field_codes(),
        fields(&[("project_code", "already_exists")])
    );
    // Refused with a key, the same key sent again is refused the same way
    // (not answered from a half-kept key), and stays free for a new code.
    for _ in 0..2 {
        let dup = app
            .as_key(&key)
            .idempotency_key("land-2")
            .post("/api/v1/pre-registrations", registration())
            .await;
        assert_eq!(
            dup.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            dup.text()
        );
    }
    let mut fresh = registration();
    fresh["project_code"] = json!("2611-421303-04-01-654321");
    let fresh = app
        .as_key(&key)
        .idempotency_key("land-2")
        .post("/api/v1/pre-registrations", fresh)
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text());
    assert_eq!(fresh.header("idempotent-replayed"), None);

    // Listed and read, filtered by project code.
    let list = app
        .as_key(&key)
        .get(&format!("/api/v1/pre-registrations?project_code={CODE}"))
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let none = app
        .as_key(&key)
        .get("/api/v1/pre-registrations?project_code=2612-421303-04-01-000000")
        .await
        .json();
    assert!(none["items"].as_array().unwrap().is_empty());
    let one = app
        .as_key(&key)
        .get(&format!("/api/v1/pre-registrations/{id}"))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["land_parcel"], "曾都区2026-15号地块");
    let missing = app.as_key(&key).get("/api/v1/pre-registrations/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");

    // The planning department registers too; another department may not.
    let zrzy = app.signed_in("zrzy.a", &["approver:sz-zrzy"]).await;
    let mut body = registration();
    body["project_code"] = json!("2612-421303-04-01-111111");
    let res = app
        .as_session(&zrzy)
        .post("/api/v1/pre-registrations", &body)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let jj = app.signed_in("jj.a", &["approver:sz-jj"]).await;
    body["project_code"] = json!("2612-421303-04-01-222222");
    let res = app
        .as_session(&jj)
        .post("/api/v1/pre-registrations", &body)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

async fn every_field_problem_is_reported(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let key = app.key("pre_registrations:write").await;
    let body = json!({
        "project_code": "2612-4213",
        "enterprise": {"uscc": "91421300MA49ABCD18"},
        "location": {"district_code": "999999", "detail": "某处", "lng": 113.37},
        "services": {
            "water": {"business_type": "swimming_pool", "demand_tons_per_day": 0},
            "gas": {"equipment": [{"name": "燃气灶", "quantity": 0, "pressure": "2kPa"}]},
            "steam": {}
        },
        "expected_date": "2026-01-01"
    });
    let res = app
        .as_key(&key)
        .post("/api/v1/pre-registrations", body)
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_eq!(res.json()["error"]["code"], "validation_failed");
    assert_fields_include(
        &res,
        &[
            ("project_code", "invalid_format"),
            ("land_parcel", "required"),
            ("enterprise.uscc", "uscc_checksum"),
            ("location.district_code", "unknown_value"),
            ("location.lat", "required"),
            ("services.water.business_type", "unknown_value"),
            ("services.water.demand_tons_per_day", "out_of_range"),
            ("services.gas.equipment.0.quantity", "out_of_range"),
            ("services.steam", "unknown_value"),
            ("expected_date", "not_in_future"),
        ],
    );
    let res = app
        .as_key(&key)
        .post("/api/v1/pre-registrations", json!({}))
        .await;
    assert_fields_include(
        &res,
        &[
            ("project_code", "required"),
            ("land_parcel", "required"),
            ("location", "required"),
            ("expected_date", "required"),
        ],
    );
}

async fn the_concerned_utilities_see_it_and_are_told(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    app.account("gas.op", &["operator:sz-gas"]).await;
    let created = register(&app, &registration()).await;
    let id = created["id"].as_str().unwrap().to_owned();

    // The water company's operator is told, the gas company's is not.
    let told = app
        .read(|c| {
            c.query(
                "SELECT a.username, n.title, n.link FROM notifications n
                 JOIN accounts a ON a.id = n.account_id
                 WHERE n.kind = 'pre_registration' ORDER BY a.username",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok((
                    r.text(0)?.to_owned(),
                    r.text(1)?.to_owned(),
                    r.opt_text(2)?.unwrap_or_default().to_owned(),
                ))
            })
            .collect::<Result<Vec<_>, onestop_store::StoreError>>()
        })
        .await;
    assert_eq!(
        told,
        vec![(
            "water.op".to_owned(),
            "项目预登记：曾都区2026-15号地块".to_owned(),
            format!("/pre-registrations/{id}")
        )]
    );
    // In the water company's inbox (API and page).
    let inbox = app.get_as(&water, "/api/v1/pre-registrations").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    assert_eq!(inbox.json()["items"][0]["id"], id.as_str());
    let page = app.ok_page_as(&water, "/pre-registrations").await;
    assert_has(&page, &["项目预登记", "曾都区2026-15号地块", "待报装"]);
    let menu = app.ok_page_as(&water, "/workbench").await;
    assert_has(&menu, &["href=\"/pre-registrations\""]);

    // The gas company sees nothing and records nothing.
    let gas = app.login("gas.op", PASSWORD).await;
    let list = app.get_as(&gas, "/api/v1/pre-registrations").await.json();
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    let one = app
        .get_as(&gas, &format!("/api/v1/pre-registrations/{id}"))
        .await;
    assert_eq!(one.status, StatusCode::NOT_FOUND);
    let visit = json!({"date": "2026-12-04", "notes": "现场对接"});
    let res = app
        .as_session(&gas)
        .post(&format!("/api/v1/pre-registrations/{id}/visits"), &visit)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "not_found");
    let plan = json!({"planned_date": "2027-01-15", "notes": "预埋管道", "covers_survey": true});
    let gas_key = app.key("workorders:write:sz-gas").await;
    let res = app
        .as_key(&gas_key)
        .post(&format!("/api/v1/pre-registrations/{id}/plans"), &plan)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // The water company records its visit; a visit in the future is refused.
    let res = app
        .as_session(&water)
        .post(
            &format!("/api/v1/pre-registrations/{id}/visits"),
            json!({"date": "2026-12-20"}),
        )
        .await;
    assert_eq!(
        res.field_codes(),
        fields(&[("date", "in_future"), ("notes", "required")])
    );
    let res = app
        .as_session(&water)
        .post(&format!("/api/v1/pre-registrations/{id}/visits"), &visit)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    assert_eq!(v["visits"][0]["unit"]["code"], "sz-water");
    assert_eq!(v["visits"][0]["date"], "2026-12-04");
    // The detail page shows it in Chinese.
    let page = app
        .ok_page_as(&water, &format!("/pre-registrations/{id}"))
        .await;
    assert_has(&page, &["随州市水务集团", "2026年12月04日", "现场对接"]);
    assert!(!page.contains("2026-12-04"), "no raw dates");
}

async fn a_planned_survey_may_be_skipped_by_its_unit_only(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = register(&app, &registration()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let water_key = app.key("workorders:write:sz-water").await;
    let power_key = app.key("workorders:write:sz-power").await;
    // Power plans without covering the survey; water covers it.
    let plan = json!({"planned_date": "2027-01-15", "notes": "沿路预留电缆通道"});
    let res = app
        .as_key(&power_key)
        .post(&format!("/api/v1/pre-registrations/{id}/plans"), &plan)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let plan = json!({"planned_date": "2027-01-10", "notes": "沿交通大道预埋DN200供水管",
                      "covers_survey": true});
    let res = app
        .as_key(&water_key)
        .idempotency_key("plan-1")
        .post(&format!("/api/v1/pre-registrations/{id}/plans"), &plan)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    // Sent again with its key: the first answer, no second plan.
    let again = app
        .as_key(&water_key)
        .idempotency_key("plan-1")
        .post(&format!("/api/v1/pre-registrations/{id}/plans"), &plan)
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["plans"].as_array().unwrap().len(), 2);
    let plans = res.json()["plans"].clone();
    assert_eq!(plans[1]["unit"]["code"], "sz-water");
    assert_eq!(plans[1]["covers_survey"], true);

    // Another enterprise's application with the project's code is not
    // linked, and its water order cannot skip the survey.
    let theirs = app
        .submit_created(&application_of_project(OTHER_USCC))
        .await;
    let (order, mut v) = order_of(&theirs, "sz-water");
    app.as_key(&water_key)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let skip = json!({"action": "skip_survey", "version": v, "reason": "前期已踏勘"});
    let res = app.as_key(&water_key).act(&order, skip).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    // The application of the same project and enterprise is linked.
    let application = app.submit_created(&application_of_project(USCC)).await;
    let app_id = application["id"].as_str().unwrap().to_owned();
    let key = app.key("pre_registrations:read").await;
    let reg = app
        .as_key(&key)
        .get(&format!("/api/v1/pre-registrations/{id}"))
        .await
        .json();
    assert_eq!(reg["status"], "applied");
    assert_eq!(reg["applications"][0]["id"], app_id.as_str());
    let stored = app
        .read(move |c| {
            c.query_opt(
                "SELECT pre_registration_id FROM applications WHERE id = $1",
                onestop_store::params![&app_id],
            )
            .map(|r| r.and_then(|r| r.opt_text(0).ok().flatten().map(str::to_owned)))
        })
        .await;
    assert_eq!(stored.as_deref(), Some(id.as_str()));

    // Water skips the survey; power, which planned no survey, cannot.
    let (order, mut v) = order_of(&application, "sz-water");
    let water = app.as_key(&water_key);
    water
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let skip = json!({"action": "skip_survey", "reason": "预登记阶段已联合踏勘并完成管网预布局"});
    let skipped = app.as_key(&water_key).step(&order, &mut v, skip).await;
    assert_eq!(skipped["stage"], "design");
    let (order, mut v) = order_of(&application, "sz-power");
    app.as_key(&power_key)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let skip = json!({"action": "skip_survey", "version": v, "reason": "前期已踏勘"});
    let res = app.as_key(&power_key).act(&order, skip).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    let allowed: Vec<String> =
        serde_json::from_value(res.json()["error"]["allowed"].clone()).unwrap();
    assert!(!allowed.contains(&"skip_survey".to_owned()), "{allowed:?}");
    assert!(allowed.contains(&"record_survey".to_owned()), "{allowed:?}");
}

async fn the_prefill_is_the_named_enterprises_only(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    register(&app, &registration()).await;
    let mut anonymous = registration();
    anonymous["project_code"] = json!("2612-421303-04-01-999999");
    anonymous["enterprise"] = Value::Null;
    register(&app, &anonymous).await;
    let mine = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    let other = app
        .signed_in("ent.b", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    // The enterprise the registration names gets its values.
    let page = app
        .ok_page_as(&mine, &format!("/apply?project={CODE}"))
        .await;
    assert_has(
        &page,
        &[
            "已按项目预登记信息预填，请逐项核对",
            "随州市某某水产有限公司",
            "厉山镇工业园1号",
            "value=\"80\"",
            "value=\"630\"",
        ],
    );
    // Another enterprise gets a blank form, no hint of the project.
    let page = app
        .ok_page_as(&other, &format!("/apply?project={CODE}"))
        .await;
    assert!(!page.contains("已按项目预登记信息预填"), "{page}");
    assert!(!page.contains("厉山镇工业园1号"));
    assert!(!page.contains("随州市某某水产有限公司"));
    // A registration naming no enterprise: only its impersonal part.
    let page = app
        .ok_page_as(&other, "/apply?project=2612-421303-04-01-999999")
        .await;
    assert_has(&page, &["已按项目预登记信息预填", "厉山镇工业园1号"]);
    assert!(!page.contains("随州市某某水产有限公司"));
    // Staff and visitors get nothing.
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app
        .get_as(&water, &format!("/apply?project={CODE}"))
        .await
        .text();
    assert!(!page.contains("厉山镇工业园1号"));
    let page = app.get(&format!("/apply?project={CODE}")).await.text();
    assert!(!page.contains("厉山镇工业园1号"));
}

async fn the_board_counts_registrations_applications_and_skips(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = register(&app, &registration()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut second = registration();
    second["project_code"] = json!("2612-421303-04-01-999999");
    register(&app, &second).await;
    let mut third = registration();
    third["project_code"] = json!("2612-421303-04-01-888888");
    register(&app, &third).await;
    let water_key = app.key("workorders:write:sz-water").await;
    let plan = json!({"planned_date": "2027-01-10", "notes": "预埋", "covers_survey": true});
    app.as_key(&water_key)
        .post(&format!("/api/v1/pre-registrations/{id}/plans"), &plan)
        .await;
    let application = app.submit_created(&application_of_project(USCC)).await;
    let mut body = water_only(USCC);
    body["project_code"] = json!("2612-421303-04-01-999999");
    app.submit_created(&body).await;
    let (order, mut v) = order_of(&application, "sz-water");
    let water = app.as_key(&water_key);
    water
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let skip = json!({"action": "skip_survey", "reason": "已预布局"});
    app.as_key(&water_key).step(&order, &mut v, skip).await;

    let sup = app.signed_in("zjj.a", &["supervisor:sz-zjj"]).await;
    let board = app
        .get_as(&sup, "/api/v1/board?from=2026-12-01&to=2026-12-31")
        .await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    let pre = &board.json()["pre_registrations"];
    assert_eq!(pre["registered"], 3, "{pre}");
    assert_eq!(pre["applied"], 2, "{pre}");
    assert_eq!(pre["skipped"], 1, "{pre}");
    let page = app
        .ok_page_as(&sup, "/board?from=2026-12-01&to=2026-12-31")
        .await;
    assert_has(&page, &["项目预登记", "转入报装", "免于踏勘"]);
}

async fn the_planning_department_registers_on_its_page(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let zrzy = app.signed_in("zrzy.a", &["approver:sz-zrzy"]).await;
    let inbox = app.ok_page_as(&zrzy, "/approvals").await;
    assert_has(&inbox, &["href=\"/pre-registrations\""]);
    let list = app.ok_page_as(&zrzy, "/pre-registrations").await;
    assert_has(&list, &["href=\"/pre-registrations/new\""]);
    app.ok_page_as(&zrzy, "/pre-registrations/new").await;
    // Refused with the problems beside their fields, what was typed kept.
    let page = app
        .refused_form_as(
            &zrzy,
            "/pre-registrations/new",
            &[
                ("project_code", CODE),
                ("land_parcel", "曾都区2026-15号地块"),
                ("enterprise.uscc", "91421300MA49ABCD18"),
                ("location.district_code", "421321"),
                ("expected_date", "2027-06-30"),
                ("services", "water"),
                ("services.water.demand_tons_per_day", "八十"),
            ],
        )
        .await;
    assert_has(
        &page,
        &[
            "统一社会信用代码校验位错误",
            "请填写详细地址",
            "value=\"曾都区2026-15号地块\"",
            "value=\"91421300MA49ABCD18\"",
            "value=\"八十\"",
        ],
    );
    // Corrected: registered, and shown with its needs in words.
    let res = app
        .post_form_as(
            &zrzy,
            "/pre-registrations/new",
            &[
                ("project_code", CODE),
                ("land_parcel", "曾都区2026-15号地块"),
                ("enterprise.uscc", USCC),
                ("location.district_code", "421321"),
                ("location.detail", "厉山镇工业园1号"),
                ("expected_date", "2027-06-30"),
                ("services", "water"),
                ("services.water.demand_tons_per_day", "80"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let to = res.header("location").unwrap().to_owned();
    let page = app.ok_page_as(&zrzy, &to).await;
    assert_has(
        &page,
        &[
            "项目已预登记",
            "80吨/日",
            "随州市水务集团",
            "2027年06月30日",
            "尚未提交报装申请",
        ],
    );
    // Nobody signed in is sent to sign in first.
    let res = app
        .post_form("/pre-registrations/new", &[("project_code", CODE)])
        .await;
    assert!(
        res.header("location")
            .is_some_and(|l| l.starts_with("/login")),
        "{:?} {}",
        res.status,
        res.text()
    );
    // Another department may not register.
    let jj = app.signed_in("jj.a", &["approver:sz-jj"]).await;
    let res = app.get_as(&jj, "/pre-registrations/new").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // The water company records its plan on the page; the application
    // is shown linked once submitted.
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let id = to
        .trim_start_matches("/pre-registrations/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let res = app
        .post_form_as(
            &water,
            &format!("/pre-registrations/{id}/plans"),
            &[
                ("planned_date", "2027-01-10"),
                ("notes", "预埋供水管"),
                ("covers_survey", "true"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let created = app.submit_created(&application_of_project(USCC)).await;
    let page = app
        .ok_page_as(&water, &format!("/pre-registrations/{id}"))
        .await;
    let number = created["number"].as_str().unwrap();
    assert_has(
        &page,
        &[
            "已完成现场踏勘",
            "预埋供水管",
            "2027年01月10日",
            "已转入报装",
            number,
        ],
    );
}

/// A network plan as a PDF.
fn network_plan() -> Vec<u8> {
    let mut pdf = "%PDF-1.4\n% 管网预布局方案 厉山镇工业园1号\n"
        .as_bytes()
        .to_vec();
    pdf.extend(std::iter::repeat_n(b'p', 30_000));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

/// A file sent to a registration through the API (with a session).
async fn upload(
    app: &TestApp,
    s: &Session,
    registration: &str,
    file_name: &str,
    bytes: &[u8],
    kind: &str,
) -> Answer {
    app.post_multipart_as(
        s,
        &format!("/api/v1/pre-registrations/{registration}/materials"),
        &[
            Part::Text("kind", kind),
            Part::File("file", file_name, bytes),
        ],
    )
    .await
}

async fn a_plan_file_is_shared_with_the_application_that_follows(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = register(&app, &registration()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["materials"], json!([]));
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let power = app.signed_in("power.op", &["operator:sz-power"]).await;
    let plan = network_plan();

    // The water company adds its network plan.
    let res = upload(&app, &water, &id, "../管网预布局.pdf", &plan, "design").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let m = res.json();
    let sha = m["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    assert_eq!(m["file_name"], "管网预布局.pdf");
    assert_eq!(m["kind"], "design");
    assert_eq!(m["kind_label"], "设计方案");
    assert_eq!(m["media_type"], "application/pdf");
    assert_eq!(m["size"], plan.len());
    assert!(
        m["uploaded_by"]
            .as_str()
            .unwrap()
            .ends_with("water.op（随州市水务集团）"),
        "{m}"
    );
    let download = format!("/api/v1/pre-registrations/{id}/materials/{sha}");
    assert_eq!(m["download"], download.as_str());
    assert_eq!(res.header("location"), Some(download.as_str()));
    // In the registration, and downloaded by the power company as it was.
    let reg = app
        .get_as(&power, &format!("/api/v1/pre-registrations/{id}"))
        .await
        .json();
    assert_eq!(reg["materials"][0]["sha256"], sha.as_str());
    let got = app.get_as(&power, &download).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body.as_ref(), plan.as_slice());
    assert_eq!(got.header("content-type"), Some("application/pdf"));
    // The same content again: the file already there, stored once.
    let again = upload(&app, &power, &id, "副本.pdf", &plan, "other").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["sha256"], sha.as_str());
    assert_eq!(again.json()["file_name"], "管网预布局.pdf");
    let (blobs, bytes) = app.read(|c| onestop_store::materials::blob_totals(c)).await;
    assert_eq!((blobs, bytes), (1, plan.len() as i64));

    // A unit not concerned: as if it did not exist; one who sees it but is
    // no party: refused.
    let gas = app.signed_in("gas.op", &["operator:sz-gas"]).await;
    for res in [
        upload(&app, &gas, &id, "x.pdf", b"%PDF-1.4 gas", "design").await,
        app.get_as(&gas, &download).await,
    ] {
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    }
    let sup = app.signed_in("zjj.a", &["supervisor:sz-zjj"]).await;
    let res = upload(&app, &sup, &id, "s.pdf", b"%PDF-1.4 sup", "design").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "forbidden");
    let wrong = upload(&app, &water, &id, "x.pdf", b"MZ\x90\x00", "design").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The registering department adds the site plan.
    let zrzy = app.signed_in("zrzy.a", &["approver:sz-zrzy"]).await;
    let site = b"%PDF-1.4\n% land parcel red line\n%%EOF\n".to_vec();
    let res = upload(&app, &zrzy, &id, "用地红线图.pdf", &site, "site_plan").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let site_sha = res.json()["sha256"].as_str().unwrap().to_owned();

    // The enterprise applies with the project code: the registration's
    // files are the application's materials, for its water and power
    // utilities alike, byte for byte.
    let application = app.submit_created(&application_of_project(USCC)).await;
    let app_id = application["id"].as_str().unwrap().to_owned();
    for s in [&water, &power] {
        let list = app
            .get_as(s, &format!("/api/v1/applications/{app_id}/materials"))
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        let items = list.json()["items"].clone();
        assert_eq!(items.as_array().unwrap().len(), 2, "{items}");
        assert_eq!(items[0]["sha256"], sha.as_str());
        assert_eq!(items[0]["kind"], "design");
        assert_eq!(items[0]["file_name"], "管网预布局.pdf");
        assert!(
            items[0]["uploaded_by"]
                .as_str()
                .unwrap()
                .ends_with("water.op（随州市水务集团）"),
            "{items}"
        );
        assert_eq!(items[1]["sha256"], site_sha.as_str());
        let got = app
            .get_as(s, &format!("/api/v1/applications/{app_id}/materials/{sha}"))
            .await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body.as_ref(), plan.as_slice());
    }
    // Documented with the rest of the API.
    let doc = app.get("/api/v1/openapi.json").await.json();
    let upload_doc = &doc["paths"]["/api/v1/pre-registrations/{id}/materials"]["post"];
    assert!(
        upload_doc["requestBody"]["content"]
            .get("multipart/form-data")
            .is_some(),
        "{upload_doc}"
    );
    assert!(
        doc["paths"]
            .get("/api/v1/pre-registrations/{id}/materials/{sha256}")
            .is_some()
    );
    // The registration shows its files (beside the flattened form).
    let view = doc["components"]["schemas"]["PreRegistrationView"].to_string();
    assert!(view.contains("\"materials\""), "{view}");
    // A file added after the application is linked is its material too.
    let drawing = b"%PDF-1.4\n% cable duct drawing\n%%EOF\n".to_vec();
    let res = upload(&app, &power, &id, "电缆通道.pdf", &drawing, "design").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let list = app
        .get_as(&water, &format!("/api/v1/applications/{app_id}/materials"))
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    assert_eq!(list["items"][2]["file_name"], "电缆通道.pdf");
    // Each content stored once, whoever holds it.
    let (blobs, _) = app.read(|c| onestop_store::materials::blob_totals(c)).await;
    assert_eq!(blobs, 3);
    // Audited: every addition and every download.
    let added = app.audit_records("material_added").await;
    assert_eq!(
        added
            .iter()
            .filter(|r| r.target_kind == "pre_registration")
            .count(),
        3
    );
    assert_eq!(
        added
            .iter()
            .filter(|r| r.target_kind == "application" && r.target_id == app_id)
            .count(),
        3
    );
    let downloads = app.audit_records("material_downloaded").await;
    assert_eq!(downloads.len(), 3);
}

async fn the_utilities_add_plan_files_on_the_page(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    let created = register(&app, &registration()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app
        .ok_page_as(&water, &format!("/pre-registrations/{id}"))
        .await;
    assert_has(
        &page,
        &[
            "方案图纸与材料",
            "id=\"no-materials\"",
            "id=\"upload-form\"",
            "enctype=\"multipart/form-data\"",
            &format!("action=\"/pre-registrations/{id}/materials\""),
            "设计方案",
        ],
    );
    // The page's form: multipart, the CSRF token its first part.
    let plan = network_plan();
    let cookie = water.cookie_header();
    let send = |parts: Vec<Part<'_>>| {
        let (content_type, body) = multipart_body(&parts);
        let (app, cookie, id) = (&app, cookie.clone(), id.clone());
        async move {
            app.request(
                Method::POST,
                &format!("/pre-registrations/{id}/materials"),
                &[("content-type", &content_type), ("cookie", &cookie)],
                body,
            )
            .await
        }
    };
    let res = send(vec![
        Part::Text("csrf_token", &water.csrf),
        Part::Text("kind", "design"),
        Part::File("file", "供水管网预布局.pdf", &plan),
    ])
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let back = res.header("location").unwrap().to_owned();
    assert_eq!(
        back,
        format!("/pre-registrations/{id}?done=material_added#papers")
    );
    let page = app.ok_page_as(&water, &back).await;
    assert_has(
        &page,
        &[
            "材料已上传",
            "供水管网预布局.pdf",
            "设计方案",
            "30 KB",
            "water.op（随州市水务集团）",
            "2026年12月07日",
        ],
    );
    let sha = {
        let reg = app
            .get_as(&water, &format!("/api/v1/pre-registrations/{id}"))
            .await
            .json();
        reg["materials"][0]["sha256"].as_str().unwrap().to_owned()
    };
    assert!(page.contains(&format!("/pre-registrations/{id}/materials/{sha}")));
    for code in [">design<", ">application/pdf<", "30062"] {
        assert!(!page.contains(code), "no codes or raw sizes: {code}");
    }
    // Downloaded from the page's link.
    let got = app
        .get_as(&water, &format!("/pre-registrations/{id}/materials/{sha}"))
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body.as_ref(), plan.as_slice());
    // The same file again: told it is there already.
    let res = send(vec![
        Part::Text("csrf_token", &water.csrf),
        Part::File("file", "again.pdf", &plan),
    ])
    .await;
    let back = res.header("location").unwrap().to_owned();
    assert!(back.contains("done=material_known"), "{back}");
    // Without the token: refused, nothing kept.
    let res = send(vec![Part::File("file", "x.pdf", b"%PDF-1.4 forged")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // A wrong type comes back to the page with the reason.
    let res = send(vec![
        Part::Text("csrf_token", &water.csrf),
        Part::File("file", "x.pdf", b"MZ\x90\x00"),
    ])
    .await;
    let back = res.header("location").unwrap().to_owned();
    let page = app.ok_page_as(&water, &back).await;
    assert_has(
        &page,
        &["id=\"material-error\"", "只能上传 PDF、PNG 或 JPEG 文件"],
    );
    let count: i64 = app
        .read(|c| c.query("SELECT COUNT(*) FROM pre_registration_materials", &[])?[0].int(0))
        .await;
    assert_eq!(count, 1);
    // A supervisor sees the list, with no upload form; a unit not
    // concerned sees nothing.
    let sup = app.signed_in("zjj.a", &["supervisor:sz-zjj"]).await;
    let page = app
        .ok_page_as(&sup, &format!("/pre-registrations/{id}"))
        .await;
    assert_has(&page, &["供水管网预布局.pdf"]);
    assert!(!page.contains("id=\"upload-form\""));
    let gas = app.signed_in("gas.op", &["operator:sz-gas"]).await;
    let res = app
        .get_as(&gas, &format!("/pre-registrations/{id}/materials/{sha}"))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // The planning department that registers projects has the form.
    let zrzy = app.signed_in("zrzy.a", &["approver:sz-zrzy"]).await;
    let page = app
        .ok_page_as(&zrzy, &format!("/pre-registrations/{id}"))
        .await;
    assert_has(&page, &["id=\"upload-form\""]);
}

async fn a_registrations_files_are_bounded(backend: Backend) {
    let app = TestApp::with_config_at(backend, MONDAY, |c| {
        c.materials.max_file_mb = 1;
        c.materials.max_application_files = 2;
    })
    .await;
    let created = register(&app, &registration()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    // Past the file limit: refused as it arrives.
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize((1 << 20) + 1, b'x');
    let res = upload(&app, &water, &id, "big.pdf", &big, "design").await;
    assert_eq!(res.field_codes(), fields(&[("file", "too_long")]));
    // Two files, then no more for this registration.
    for body in [b"%PDF-1.4 one".as_slice(), b"\xFF\xD8\xFF\xE0 two"] {
        let res = upload(&app, &water, &id, "f", body, "design").await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    }
    let res = upload(&app, &water, &id, "f", b"%PDF-1.4 three", "design").await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_eq!(res.json()["error"]["code"], "too_many_materials");
    assert_eq!(
        res.json()["error"]["message"],
        "每个项目预登记最多上传 2 个文件"
    );
    // The JPEG kept its content's extension.
    let reg = app
        .get_as(&water, &format!("/api/v1/pre-registrations/{id}"))
        .await
        .json();
    assert_eq!(reg["materials"][1]["media_type"], "image/jpeg");
}
