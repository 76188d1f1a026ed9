//! The parallel approval pages, on SQLite and PostgreSQL: a utility raises
//! the case from its order (a wrong commitment named beside its field), a
//! department rejects from its inbox, the utility revises and resubmits,
//! the departments approve, and the works move on; the opinion sheet keeps
//! every round, and the applicant follows it all on the progress timeline.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::json;

on_both_databases!(
    raise_reject_resubmit_approve_through_the_pages,
    order_forms_come_back_at_the_page_naming_the_action,
    menus_follow_the_role_and_mark_the_page,
);

fn location(a: &Answer) -> String {
    a.header("location").unwrap_or_default().to_owned()
}

/// The decision form of a case page, posted as `who` on `item` at `version`.
async fn decide_on_page(
    app: &TestApp,
    who: &Session,
    path: &str,
    (item, version): (&str, &str),
    decision: &str,
    opinion: &str,
) -> Answer {
    // Disagreeing is confirmed with a tick.
    let confirm = if decision == "reject" { "yes" } else { "" };
    let form = [
        ("item_id", item),
        ("version", version),
        ("decision", decision),
        ("opinion", opinion),
        ("confirm", confirm),
    ];
    app.post_form_as(who, path, &form).await
}

async fn raise_reject_resubmit_approve_through_the_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    // The heat order's survey finds 800 m of external works.
    let heat_key = app.key("workorders:write:sz-heat").await;
    let (heat, v) = order_of(&created, "sz-heat");
    let o = app
        .as_key(&heat_key)
        .act_ok(&heat, json!({"action": "accept", "version": v}))
        .await;
    let o = app
        .as_key(&heat_key)
        .act_ok(
            &heat,
            json!({"action": "record_survey", "version": o["version"], "external_works_m": 800, "route": "沿交通大道"}),
        )
        .await;
    assert_eq!(o["stage"], "approval");

    let op = app.signed_in("heat.op", &["operator:sz-heat"]).await;
    let page = app.page_as(&op, &format!("/work-orders/{heat}")).await;
    assert!(page.contains("id=\"raise-case\""), "{page}");
    assert!(
        page.contains("外线工程 800 米，沿交通大道"),
        "the history shows the survey"
    );
    let form = app
        .get_as(&op, &format!("/applications/{id}/approval-case"))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains(onestop_domain::approval::CONFIRMATION));
    // Another utility cannot raise it.
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    assert_eq!(
        app.get_as(&water, &format!("/applications/{id}/approval-case"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let from = &appointment()[..10];
    let path = format!("/applications/{id}/approval-case");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("works", &heat),
        ("place", "交通大道（擂鼓墩大道至烈山大道段）"),
        ("from", from),
        ("to", from),
    ];
    // The form ticks the departments the works concern.
    pairs.push(("departments", "involved"));
    for d in ["sz-zrzy", "sz-jj"] {
        pairs.push(("involved", d));
    }
    // None ticked: the form says so, at its own address, naming the action.
    let none: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| *k != "involved")
        .copied()
        .collect();
    let res = app.post_form_as(&op, &path, &none).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(
        html.contains("“发起并联审批”未办理：请至少勾选一个涉及的审批部门。"),
        "{html}"
    );
    // Signing with the wrong words: the field says so, the rest is kept.
    let mut signed = pairs.clone();
    signed.extend([
        ("sign", "1"),
        ("commitment.signed_by", "王工"),
        ("commitment.unit", "随州市某建设有限公司"),
        ("commitment.signed_at", "2026-11-01"),
        ("commitment.confirmation", "同意"),
    ]);
    let res = app.post_form_as(&op, &path, &signed).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("id=\"e-c-confirmation\""), "{html}");
    assert!(html.contains("value=\"王工\""), "what was typed stays");
    // Without a commitment: every remaining department decides.
    let res = app.post_form_as(&op, &path, &pairs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let case_url = location(&res);
    assert!(case_url.starts_with("/approval-cases/"), "{case_url}");
    let case_page = case_url.split('?').next().unwrap().to_owned();
    let case_id = case_page.trim_start_matches("/approval-cases/").to_owned();

    // The natural resources department's inbox has it; it rejects.
    let zrzy = app.signed_in("zrzy.op", &["approver:sz-zrzy"]).await;
    let inbox = app.page_as(&zrzy, "/approvals").await;
    assert!(inbox.contains(&case_page), "{inbox}");
    assert!(inbox.contains("交通大道"));
    let case = app
        .get_as(&zrzy, &format!("/api/v1/approval-cases/{case_id}"))
        .await
        .json();
    let z = item(&case, "sz-zrzy");
    let zid = z["id"].as_str().unwrap().to_owned();
    let html = app.page_as(&zrzy, &case_page).await;
    assert!(html.contains(&format!("id=\"decide-{zid}\"")), "{html}");
    // The page opens with the works and a jump to the decision.
    let summary = html.split("id=\"case-summary\"").nth(1).expect("a summary");
    let summary = &summary[..summary.find("</dl>").unwrap()];
    assert!(summary.contains("长度 800 米"), "{summary}");
    assert!(summary.contains("路由：沿交通大道"), "{summary}");
    assert!(summary.contains("交通大道（擂鼓墩大道至烈山大道段）"));
    assert!(html.find(&format!("href=\"#decide-{zid}\"")) < html.find("id=\"opinion-sheet\""));
    // Only the departments ticked are asked.
    assert_eq!(item(&case, "sz-cgzf")["status"], "not_applicable");
    assert_eq!(item(&case, "sz-jj")["status"], "pending");
    // Disagreeing without the tick: refused at the page's own address,
    // naming the action, the opinion kept.
    let unconfirmed = [
        ("form", "decide"),
        ("item_id", zid.as_str()),
        ("version", "1"),
        ("decision", "reject"),
        ("opinion", "路由需调整"),
    ];
    let res = app.post_form_as(&zrzy, &case_page, &unconfirmed).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(
        html.contains("“签署审批意见”未办理：请勾选确认后再办理。"),
        "{html}"
    );
    assert!(html.contains(&format!("id=\"e-confirm-{zid}\"")));
    assert!(
        html.contains(">路由需调整</textarea>"),
        "the opinion is kept"
    );
    let decision = format!("{case_page}/decision");
    let first = (zid.as_str(), "1");
    let res = decide_on_page(&app, &zrzy, &decision, first, "reject", "").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains(&format!("id=\"e-opinion-{zid}\"")));
    let opinion = "路由穿越规划绿地，请调整";
    let res = decide_on_page(&app, &zrzy, &decision, first, "reject", opinion).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // The traffic police cannot decide another department's item.
    let jj = app.signed_in("jj.op", &["approver:sz-jj"]).await;
    let second = (zid.as_str(), "2");
    let res = decide_on_page(&app, &jj, &decision, second, "approve", "同意").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // The utility sees the rejection and resubmits with a revised route.
    let html = app.page_as(&op, &case_page).await;
    assert!(html.contains("id=\"resubmit\""), "{html}");
    assert!(html.contains("路由穿越规划绿地"));
    let version = app
        .get_as(&op, &format!("/api/v1/approval-cases/{case_id}"))
        .await
        .json()["version"]
        .to_string();
    let resubmit = format!("{case_page}/resubmission");
    let res = app
        .post_form_as(&op, &resubmit, &[("version", &version), ("note", "")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("id=\"e-r-note\""));
    let res = app
        .post_form_as(
            &op,
            &resubmit,
            &[
                ("version", &version),
                ("note", "改走沿河大道北侧人行道"),
                ("place", "沿河大道北侧"),
                ("from", from),
                ("to", from),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());

    // Both departments approve from their pages.
    let case = app
        .get_as(&zrzy, &format!("/api/v1/approval-cases/{case_id}"))
        .await
        .json();
    assert_eq!(case["round"], 2);
    for (who, dept) in [(&zrzy, "sz-zrzy"), (&jj, "sz-jj")] {
        let i = item(&case, dept);
        let version = i["version"].to_string();
        let at = (i["id"].as_str().unwrap(), version.as_str());
        let res = decide_on_page(&app, who, &decision, at, "approve", "同意").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    }
    let html = app.page_as(&jj, &case_page).await;
    assert!(html.contains("id=\"case-status\">已通过"), "{html}");
    assert!(html.contains("id=\"opinion-history\""));
    assert_eq!(
        html.matches("<td data-label=\"轮次\">").count(),
        3,
        "the rejection and both approvals"
    );
    let o = app.work_order(&heat).await;
    assert_eq!(o["stage"], "construction");

    // The applicant follows it on the application's page.
    let ent = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    let html = app.page_as(&ent, &format!("/applications/{id}")).await;
    assert!(html.contains("办理进度"), "{html}");
    assert!(html.contains(&format!("id=\"progress-{heat}\"")));
    assert!(html.contains("并联审批通过"));
    assert!(html.contains("修改后重新提交审批"));
    assert!(
        html.contains("chip chip-current\" aria-current=\"step\">外线施工"),
        "{html}"
    );
    // The inbox is for approvers only.
    assert_eq!(
        app.get_as(&ent, "/approvals").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The order page's forms post to the page itself: a refusal comes back
/// there with what was typed and the action named; returning for
/// correction asks for a ticked confirmation and looks destructive.
async fn order_forms_come_back_at_the_page_naming_the_action(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    let (water, v) = order_of(&created, "sz-water");
    let v = v.to_string();
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let path = format!("/work-orders/{water}");
    let html = app.page_as(&op, &path).await;
    let form = html
        .split("data-action=\"return_for_correction\"")
        .nth(1)
        .expect("the return form");
    let form = &form[..form.find("</form>").unwrap()];
    assert!(
        form.contains("name=\"confirm\" value=\"yes\" required"),
        "{form}"
    );
    assert!(form.contains("class=\"button danger solid\""), "{form}");
    assert!(
        html.contains(&format!("action=\"{path}\"")),
        "forms post to the page"
    );
    let accept = html
        .split("data-action=\"accept\"")
        .nth(1)
        .expect("the accept form");
    let accept = &accept[..accept.find("</form>").unwrap()];
    assert!(
        !accept.contains("name=\"confirm\""),
        "受理 needs no confirmation"
    );

    let unticked = [
        ("form", "action"),
        ("action", "return_for_correction"),
        ("version", v.as_str()),
        ("reason", "缺少用水需求说明"),
    ];
    let html = app.refused_form_as(&op, &path, &unticked).await;
    assert!(
        html.contains("“退回补正”未办理：请勾选确认后再办理。"),
        "{html}"
    );
    assert!(
        html.contains("value=\"缺少用水需求说明\""),
        "the reason is kept"
    );
    assert!(!html.contains("申请内容有误"));
    let no_reason = [
        ("form", "action"),
        ("action", "return_for_correction"),
        ("version", v.as_str()),
        ("confirm", "yes"),
    ];
    let html = app.refused_form_as(&op, &path, &no_reason).await;
    assert!(
        html.contains("“退回补正”未办理：请填写退回原因。"),
        "{html}"
    );
    let ticked = [
        ("form", "action"),
        ("action", "return_for_correction"),
        ("version", v.as_str()),
        ("reason", "缺少用水需求说明"),
        ("confirm", "yes"),
    ];
    let res = app.post_form_as(&op, &path, &ticked).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(location(&res), format!("{path}?done=return_for_correction"));
    assert_eq!(app.work_order(&water).await["status"], "returned");
    // A reminder without a note, from the same page, says which form.
    let sup = app.signed_in("sup", &["supervisor"]).await;
    let html = app
        .refused_form_as(&sup, &path, &[("form", "remind"), ("note", "")])
        .await;
    assert!(html.contains("“督办”未办理："), "{html}");
}

/// Each role's menu starts with its own work and marks the page shown;
/// the supervisor lands on the board.
async fn menus_follow_the_role_and_mark_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let nav = |html: &str| {
        let n = html
            .split("<nav aria-label=\"主菜单\">")
            .nth(1)
            .expect("a menu");
        n[..n.find("</nav>").unwrap()].to_owned()
    };
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let menu = nav(&app.page_as(&op, "/workbench").await);
    assert!(
        menu.trim_start()
            .starts_with("<a href=\"/workbench\" aria-current=\"page\">工单</a>"),
        "{menu}"
    );
    assert!(!menu.contains("我要报装"), "{menu}");
    let admin = app.signed_in("root", &["admin"]).await;
    let menu = nav(&app.page_as(&admin, "/admin/calendar").await);
    assert!(
        menu.trim_start()
            .starts_with("<a href=\"/admin/accounts\">账户</a>"),
        "{menu}"
    );
    assert!(
        menu.contains("<a href=\"/admin/calendar\" aria-current=\"page\">"),
        "{menu}"
    );
    assert!(!menu.contains("/apply"), "{menu}");
    let ent = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    let menu = nav(&app.page_as(&ent, "/applications").await);
    assert!(
        menu.trim_start()
            .starts_with("<a href=\"/apply\">我要报装</a>"),
        "{menu}"
    );
    assert!(menu.contains("<a href=\"/applications\" aria-current=\"page\">我的申请</a>"));
    let page = app.page_as(&ent, "/").await;
    assert!(
        page.contains("<a class=\"skip-link\" href=\"#main\">"),
        "a skip link"
    );
    assert!(page.contains("<main id=\"main\""));
    // The supervisor signs in and lands on the board.
    app.account("sup.a", &["supervisor"]).await;
    let res = app.try_login("sup.a", PASSWORD).await;
    assert_eq!(location(&res), "/board", "{}", res.text());
}
