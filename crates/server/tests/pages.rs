//! The Chinese pages without JavaScript: form posts, field errors beside
//! their fields with the input kept, the receipt, the status lookup.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;

on_both_databases!(
    the_flowchart_is_drawn_from_the_configured_process,
    home_and_form_render,
    form_submits_and_shows_receipt,
    form_errors_keep_input,
    double_submission_is_one_application,
    choosing_services_without_javascript,
    status_lookup,
    a_form_that_cannot_be_submitted_now_is_kept,
);

fn filled(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("submission_token", token.to_owned()),
        ("mode", "a_la_carte".into()),
        ("services", "water".into()),
        ("services", "gas".into()),
        ("services", "network".into()),
        ("applicant.name", "随州市页面测试有限公司".into()),
        ("applicant.uscc", USCC.to_lowercase()),
        ("address.district_code", "421381".into()),
        ("address.detail", "广水市应山街道1号".into()),
        ("appointment_at", appointment()[..16].to_owned()),
        ("contact.name", "赵六".into()),
        ("contact.phone", "13912345678".into()),
        ("services.water.business_type", "expansion".into()),
        ("services.water.demand_tons_per_day", "12.5".into()),
        ("services.gas.category", "large_commercial".into()),
        ("services.gas.equipment.0.name", "".into()),
        ("services.gas.equipment.1.name", "锅炉".into()),
        ("services.gas.equipment.1.quantity", "2".into()),
        ("services.gas.equipment.1.pressure", "0.4MPa".into()),
        ("services.network.building_area_m2", "8000".into()),
        ("services.network.building_height_m", "24".into()),
        ("services.network.delivery_date", "2027-03-01".into()),
        ("services.network.buildings", "2".into()),
        ("services.network.basement_coverage", "false".into()),
        ("services.network.elevator_coverage", "true".into()),
        ("services.network.carriers", "mobile".into()),
        // A section for a service that was unticked is ignored.
        ("services.heat.heating_area_m2", "100".into()),
        ("action", "submit".into()),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn home_and_form_render(backend: Backend) {
    let app = TestApp::new(backend).await;
    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let html = home.text();
    assert!(html.contains("联动报装"));
    assert!(html.contains("随州市水务集团"));
    assert!(html.contains("lang=\"zh-CN\""));
    assert!(html.contains("width=device-width"));

    let form = app.get("/apply?mode=bundle").await.text();
    for s in ["water", "power", "gas", "heat", "network"] {
        assert!(
            form.contains(&format!("id=\"sec-{s}\" data-service=\"{s}\">")),
            "{s} shown"
        );
    }
    let form = app.get("/apply").await.text();
    assert!(form.contains("id=\"sec-gas\" data-service=\"gas\" hidden disabled"));
    assert!(form.contains("name=\"submission_token\""));
    assert_eq!(app.get("/static/app.css").await.status, StatusCode::OK);
    assert_eq!(app.get("/static/app.js").await.status, StatusCode::OK);
    let missing = app.get("/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("页面不存在"));
}

async fn form_submits_and_shows_receipt(backend: Backend) {
    let app = TestApp::new(backend).await;
    let fields = filled("tok-1");
    let res = app.post_form("/apply", &pairs(&fields)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let location = res.header("location").unwrap().to_owned();
    assert!(location.starts_with("/receipt/"));
    let receipt = app.get(&location).await;
    assert_eq!(receipt.status, StatusCode::OK);
    let html = receipt.text();
    assert!(html.contains("申请已提交"));
    assert!(html.contains("application-number"));
    assert!(html.contains("随州市水务集团"));
    assert!(html.contains("随州中燃公司"));
    assert!(html.contains("中国移动随州分公司"));
    assert!(
        !html.contains("中国电信随州分公司"),
        "only the chosen carrier"
    );
    assert!(!html.contains("随州市集中供热单位"), "heat was not chosen");
    assert!(
        !html.contains("5678") && html.contains("为保护个人信息"),
        "the public receipt shows no phone at all"
    );
    assert_eq!(html.matches("class=\"order level-normal\"").count(), 3);

    let id = location.trim_start_matches("/receipt/");
    let app_json = app.get(&format!("/api/v1/applications/{id}")).await.json();
    assert_eq!(app_json["channel"], "web");
    assert_eq!(app_json["applicant"]["uscc"], USCC);
    assert_eq!(app_json["services"]["gas"]["equipment"][0]["name"], "锅炉");
    assert!(app_json["services"].get("heat").is_none());
    assert_eq!(app_json["services"]["network"]["basement_coverage"], false);
}

async fn form_errors_keep_input(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut fields = filled("tok-2");
    for (k, v) in fields.iter_mut() {
        match *k {
            "applicant.uscc" => *v = "91421300MA49ABCD18".into(),
            "contact.phone" => *v = "1234".into(),
            "services.gas.equipment.1.quantity" => *v = "两台".into(),
            "applicant.name" => *v = "<i>保留的名称</i>".into(),
            _ => {}
        }
    }
    let res = app.post_form("/apply", &pairs(&fields)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("error-summary"));
    // Errors beside their fields.
    assert!(
        html.contains("id=\"f-applicant-uscc-err\""),
        "uscc error beside field"
    );
    assert!(html.contains("id=\"f-contact-phone-err\""));
    assert!(html.contains("校验"), "checksum message");
    // The equipment error is on the row the applicant filled (row 1), not row 0.
    let row1 = html
        .find("name=\"services.gas.equipment.1.quantity\"")
        .unwrap();
    let after = &html[row1..row1 + 600];
    assert!(after.contains("class=\"error\""), "{after}");
    // Input kept, escaped.
    assert!(html.contains("value=\"91421300MA49ABCD18\""));
    assert!(html.contains("&lt;i&gt;保留的名称&lt;/i&gt;") || html.contains("&#60;i&#62;"));
    assert!(html.contains("value=\"两台\""));
    assert!(html.contains("value=\"tok-2\""), "same submission token");
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // Nothing chosen: one clear error.
    let res = app
        .post_form(
            "/apply",
            &[("action", "submit"), ("applicant.name", "某公司")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("请至少选择一项报装业务"));
}

async fn double_submission_is_one_application(backend: Backend) {
    let app = TestApp::new(backend).await;
    let fields = filled("tok-3");
    let a = app.post_form("/apply", &pairs(&fields)).await;
    let b = app.post_form("/apply", &pairs(&fields)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(b.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), b.header("location"));
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn choosing_services_without_javascript(backend: Backend) {
    let app = TestApp::new(backend).await;
    let res = app
        .post_form(
            "/apply",
            &[
                ("action", "choose"),
                ("mode", "a_la_carte"),
                ("services", "heat"),
                ("applicant.name", "已填写的单位"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    assert!(html.contains("id=\"sec-heat\" data-service=\"heat\">"));
    assert!(html.contains("id=\"sec-water\" data-service=\"water\" hidden disabled"));
    assert!(html.contains("value=\"已填写的单位\""));
    assert!(
        !html.contains("error-summary"),
        "choosing is not submitting"
    );
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

async fn status_lookup(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let number = created["number"].as_str().unwrap();
    let page = app.get("/status").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("申请编号"));
    let lower = number.to_lowercase();
    let found = app
        .post_form("/status", &[("number", &lower), ("phone_last4", "4444")])
        .await;
    assert_eq!(found.status, StatusCode::OK);
    let html = found.text();
    assert!(html.contains(number));
    assert!(html.contains("申请进度"));
    let missing = app
        .post_form(
            "/status",
            &[("number", "LB209901010001"), ("phone_last4", "4444")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("未找到"));
    let incomplete = app.post_form("/status", &[("number", number)]).await;
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(incomplete.text().contains("后四位"));
}

async fn the_flowchart_is_drawn_from_the_configured_process(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        c.limits.external_works_threshold_m = 200.0;
    })
    .await;
    let res = app.get("/process").await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    assert!(html.contains("<svg") && html.contains("</svg>"));
    assert!(
        html.contains("外线 ≥ 200 米"),
        "the configured threshold is drawn"
    );
    for a in &app.state.config.process.actions {
        assert!(html.contains(&a.label), "{} listed", a.label);
    }
    // In Chinese only: no action's code is shown.
    assert!(!html.contains("return_for_correction") && !html.contains(">accept<"));
    assert!(html.contains("class=\"flowchart-wrap\" tabindex=\"0\" role=\"region\" aria-label="));
}

/// A valid form the server cannot take at this moment (here: a hand-set
/// clock in 2030, beyond every calendar the city has, official or
/// provisional) comes back with everything typed and a reason for the
/// public, not an error page; nothing is submitted.
async fn a_form_that_cannot_be_submitted_now_is_kept(backend: Backend) {
    let app = TestApp::at_time(backend, "2030-06-03T10:00:00+08:00").await;
    let mut fields = filled("tok-2030");
    for (k, v) in fields.iter_mut() {
        match *k {
            "appointment_at" => *v = "2030-06-20T09:00".into(),
            "services.network.delivery_date" => *v = "2030-09-01".into(),
            _ => {}
        }
    }
    let res = app.post_form("/apply", &pairs(&fields)).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    let html = res.text();
    assert!(
        html.contains(
            "申请尚未提交：系统暂时无法计算办理时限（节假日安排待更新）。您填写的内容已保留"
        ),
        "{html}"
    );
    assert!(!html.contains("。。"), "{html}");
    assert!(
        !html.contains("2030年节假日"),
        "no internal wording: {html}"
    );
    for kept in [
        "随州市页面测试有限公司",
        "广水市应山街道1号",
        "13912345678",
        "锅炉",
        "tok-2030",
    ] {
        assert!(html.contains(kept), "{kept} kept");
    }
    let listed = app.as_key(&app.api_key).get("/api/v1/applications").await;
    assert_eq!(listed.json()["items"], serde_json::json!([]));
}
