//! Following an application up, on SQLite and PostgreSQL: a returned order
//! corrected on its own section (API and pages) with the old revision
//! kept and the change shown to the utility; the window clerk filing for
//! an enterprise, finding applications of every channel, correcting and
//! cancelling after a confirmation.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    a_resubmission_carries_the_corrected_section,
    the_window_clerk_files_and_follows_up,
    a_half_filled_form_is_saved_and_restored,
);

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn a_resubmission_carries_the_corrected_section(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-11-19T16:00:00+08:00").await;
    let mut body = water_only(USCC);
    body["services"]["power"] =
        json!({"business_type": "new", "main_capacity_kva": 200, "backup_capacity_kva": 0});
    let created = app.submit_created(&body).await;
    let id = id_of(&created);
    let (order, mut v) = order_of(&created, "sz-water");
    let water_key = app.key("workorders:write:sz-water").await;
    let ret = json!({"action": "return_for_correction", "reason": "用水量与用途不符"});
    app.as_key(&water_key).step(&order, &mut v, ret).await;

    let applicant = app.key("applications:read,applications:write").await;
    let who = app.as_key(&applicant);
    // Only the returned service may change, and it is read like the form.
    let other = json!({"action": "resubmit", "version": v,
        "services": {"power": {"business_type": "new", "main_capacity_kva": 400, "backup_capacity_kva": 0}}});
    let res = who.act(&order, other).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_eq!(
        res.field_codes(),
        fields(&[("services.power", "not_allowed")])
    );
    let words = json!({"action": "resubmit", "version": v,
        "services": {"water": {"business_type": "temporary", "demand_tons_per_day": "六百"}}});
    let res = who.act(&order, words).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_eq!(res.field_codes()[0].0, "services.water.demand_tons_per_day");
    // Nothing was written by the refusals.
    assert_eq!(app.work_order(&order).await["status"], "returned");

    app.set_time("2026-11-20T10:00:00+08:00");
    let corrected = json!({"action": "resubmit", "version": v,
        "services": {"water": {"business_type": "temporary", "demand_tons_per_day": 6}},
        "contact": {"name": "王五", "phone": "13800001111"}});
    let res = who.act(&order, corrected).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["status"], "open");
    let now = app.application(&id).await;
    assert_eq!(
        now["services"]["water"]["demand_tons_per_day"], 6.0,
        "{now}"
    );
    assert_eq!(now["contact"]["name"], "王五");
    // The power section as filed is untouched.
    assert_eq!(now["services"]["power"]["main_capacity_kva"], 200.0);
    // The old revision is kept; the history says what changed.
    let kept = app
        .read({
            let id = id.clone();
            move |c| onestop_store::applications::revisions(c, &id)
        })
        .await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].0, 1);
    assert_eq!(
        kept[0]
            .1
            .services
            .water
            .as_ref()
            .unwrap()
            .demand_tons_per_day,
        2.5
    );
    assert_eq!(kept[0].2, ms("2026-11-20T10:00:00+08:00"));
    let events = app.events(&id).await;
    let resubmitted = events.iter().find(|e| e.kind == "resubmit").unwrap();
    let revision = &resubmitted.data["revision"];
    assert_eq!(revision["number"], 2);
    assert_eq!(
        revision["before"]["services"]["water"]["demand_tons_per_day"],
        2.5
    );
    assert_eq!(
        revision["after"]["services"]["water"]["demand_tons_per_day"],
        6.0
    );
    assert_eq!(revision["before"]["contact"]["phone"], "0722-3334444");
    // The utility reads the change on its order's page, phones masked.
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let html = app.ok_page_as(&op, &format!("/work-orders/{order}")).await;
    assert!(
        html.contains("补正修改了 用水量：2.5 吨/日 → 6 吨/日，联系人：李四 → 王五，联系电话：********4444 → 138****1111"),
        "{html}"
    );
}

async fn the_window_clerk_files_and_follows_up(backend: Backend) {
    let app = TestApp::new(backend).await;
    // An enterprise filed online before: the window finds it by its USCC.
    let online = app.submit_created(&water_only(USCC)).await;
    let clerk = app.signed_in("window.clerk", &["clerk:zd-zwzx"]).await;
    let form = app.ok_page_as(&clerk, "/apply").await;
    assert!(form.contains("id=\"on-behalf\""), "{form}");
    let found = app
        .ok_page_as(
            &clerk,
            &format!("/apply?applicant.uscc={}", USCC.to_lowercase()),
        )
        .await;
    assert!(
        found.contains("value=\"随州市某某水产有限公司\""),
        "{found}"
    );
    assert!(found.contains("id=\"lookup-result\""), "{found}");
    assert_eq!(app.audit_records("enterprise_lookup").await.len(), 1);

    let fields = [
        ("submission_token", "clerk-filing-1"),
        ("mode", "a_la_carte"),
        ("services", "water"),
        ("applicant.name", "随州市某某水产有限公司"),
        ("applicant.uscc", USCC),
        ("address.district_code", "421321"),
        ("address.detail", "厉山镇工业园2号"),
        ("contact.name", "李四"),
        ("contact.phone", "13912345678"),
        ("services.water.business_type", "new_account"),
        ("services.water.demand_tons_per_day", "3"),
    ];
    let res = app.post_form_as(&clerk, "/apply", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let receipt = res.header("location").unwrap().to_owned();
    let id = receipt.rsplit('/').next().unwrap().to_owned();
    let filed = app.application(&id).await;
    assert_eq!(
        (filed["channel"].as_str(), filed["hall_id"].as_str()),
        (Some("window"), Some("zd-zwzx"))
    );
    let page = app.ok_page_as(&clerk, &receipt).await;
    assert!(page.contains("data-print"), "{page}");
    assert!(!page.contains("登录后可查看完整申请"), "{page}");

    // The hall's list has it; the online one is found only by a search,
    // as a status without personal data.
    let list = app.ok_page_as(&clerk, "/applications").await;
    assert!(list.contains(&format!("/applications/{id}")), "{list}");
    assert!(!list.contains(&id_of(&online)), "{list}");
    let search = app.ok_page_as(&clerk, "/applications?q=0722-3334444").await;
    assert!(search.contains("id=\"elsewhere\""), "{search}");
    assert!(
        search.contains(&format!("/receipt/{}", id_of(&online))),
        "{search}"
    );
    let found = &search[search.find("id=\"elsewhere\"").unwrap()..];
    let found = &found[..found.find("</div>").unwrap()];
    assert!(
        !found.contains("李四") && !found.contains("厉山镇"),
        "{found}"
    );
    let seen = app
        .get_as(&clerk, &format!("/applications/{}", id_of(&online)))
        .await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    assert_eq!(app.audit_records("counter_lookup").await.len(), 1);

    // Returned: the clerk corrects it at the window.
    let (order, mut v) = order_of(&filed, "sz-water");
    let water_key = app.key("workorders:write:sz-water").await;
    let ret = json!({"action": "return_for_correction", "reason": "请核实日用水量"});
    app.as_key(&water_key).step(&order, &mut v, ret).await;
    let detail = app.ok_page_as(&clerk, &format!("/applications/{id}")).await;
    assert!(detail.contains("请核实日用水量"), "{detail}");
    assert!(
        detail.contains(&format!("/work-orders/{order}/correction")),
        "{detail}"
    );
    let correction = app
        .ok_page_as(&clerk, &format!("/work-orders/{order}/correction"))
        .await;
    assert!(correction.contains("value=\"3\""), "{correction}");
    assert!(
        !correction.contains("id=\"f-applicant-name\""),
        "{correction}"
    );
    let fix = |demand: &'static str| {
        vec![
            ("services.water.business_type", "new_account"),
            ("services.water.demand_tons_per_day", demand),
            ("contact.name", "李四"),
            ("contact.phone", "13912345678"),
        ]
    };
    let refused = app
        .refused_form_as(
            &clerk,
            &format!("/work-orders/{order}/correction"),
            &fix("六百"),
        )
        .await;
    assert!(refused.contains("value=\"六百\""), "{refused}");
    let res = app
        .post_form_as(
            &clerk,
            &format!("/work-orders/{order}/correction"),
            &fix("8"),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some(format!("/applications/{id}?done=corrected").as_str())
    );
    assert_eq!(app.work_order(&order).await["status"], "open");
    assert_eq!(
        app.application(&id).await["services"]["water"]["demand_tons_per_day"],
        8.0
    );

    // Cancelling asks for a reason and a confirmation, keeping what was typed.
    let cancel = format!("/applications/{id}/cancel");
    let page = app.ok_page_as(&clerk, &cancel).await;
    assert!(page.contains("id=\"confirm-cancel\""), "{page}");
    let refused = app
        .refused_form_as(&clerk, &cancel, &[("reason", "企业暂缓建设")])
        .await;
    assert!(refused.contains("企业暂缓建设"), "{refused}");
    assert!(refused.contains("请勾选确认撤销"), "{refused}");
    assert_eq!(app.application(&id).await["status"], "submitted");
    let res = app
        .post_form_as(
            &clerk,
            &cancel,
            &[("reason", "企业暂缓建设"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(app.application(&id).await["status"], "cancelled");
}

/// A signed-in enterprise saves the long form half-filled and finds it
/// again; submitting it removes the draft. Nobody else sees it.
async fn a_half_filled_form_is_saved_and_restored(backend: Backend) {
    let app = TestApp::new(backend).await;
    let grant = format!("applicant:{USCC}");
    let ent = app.signed_in("ent.draft", &[grant.as_str()]).await;
    let half = [
        ("submission_token", "draft-1"),
        ("mode", "a_la_carte"),
        ("services", "water"),
        ("applicant.name", "随州市草稿测试有限公司"),
        ("applicant.uscc", USCC),
        ("address.detail", "交通大道300号"),
        ("services.water.demand_tons_per_day", "六百"),
        ("action", "draft"),
    ];
    let res = app.post_form_as(&ent, "/apply", &half).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.header("location"), Some("/apply?draft=saved"));
    let page = app.ok_page_as(&ent, "/apply?draft=saved").await;
    assert!(page.contains("id=\"draft-notice\""), "{page}");
    assert!(page.contains("草稿已保存"), "{page}");
    assert!(page.contains("value=\"交通大道300号\""), "{page}");
    // What was typed comes back as typed, even what would not validate.
    assert!(page.contains("value=\"六百\""), "{page}");
    let again = app.ok_page_as(&ent, "/apply").await;
    assert!(again.contains("已恢复您"), "{again}");
    // Another account has no draft.
    let other = app
        .signed_in("ent.other", &["applicant:91350100M000100Y43"])
        .await;
    assert!(
        !app.ok_page_as(&other, "/apply")
            .await
            .contains("交通大道300号")
    );
    // Submitting the finished form removes the draft.
    let full = [
        ("submission_token", "draft-2"),
        ("mode", "a_la_carte"),
        ("services", "water"),
        ("applicant.name", "随州市草稿测试有限公司"),
        ("applicant.uscc", USCC),
        ("address.district_code", "421303"),
        ("address.detail", "交通大道300号"),
        ("contact.name", "赵六"),
        ("contact.phone", "13912345678"),
        ("services.water.business_type", "new_account"),
        ("services.water.demand_tons_per_day", "6"),
        ("action", "submit"),
    ];
    let res = app.post_form_as(&ent, "/apply", &full).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert!(res.header("location").unwrap().starts_with("/receipt/"));
    let fresh = app.ok_page_as(&ent, "/apply").await;
    assert!(!fresh.contains("交通大道300号"), "{fresh}");
    assert!(!fresh.contains("draft-notice"), "{fresh}");
}
