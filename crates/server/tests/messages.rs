//! Messages on arrival and on every change that needs someone, on SQLite
//! and PostgreSQL with the clock set by hand: a new work order (and one
//! back after a correction) to its unit's operators; an approval item to
//! its department's approvers, again on a resubmission; a rejection to the
//! utility with works in the case; the joint survey's appointment and its
//! move to the enterprise; and a cancelled application's pending approval
//! items withdrawn — out of the inbox, never warned or overdue — with their
//! departments told, by email too where the account wants it. Each message
//! reaches exactly the accounts it is for, with its exact title.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_domain::config::{EmailConfig, SmtpTls};
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use serde_json::{Value, json};

on_both_databases!(
    a_new_order_reaches_its_units_operators,
    approval_items_reach_their_departments_and_a_rejection_the_utility,
    the_enterprise_hears_of_the_survey_and_its_move,
    cancelling_withdraws_pending_items_and_tells_the_departments,
);

/// Friday 16:30 before the make-up working Sunday 2026-09-20.
const FRIDAY: &str = "2026-09-18T16:30:00+08:00";
/// Monday 08:00, before the day's first working period.
const MONDAY: &str = "2026-09-21T08:00:00+08:00";

/// Who got a message of `kind`, and its title and body: one line per
/// account, by username.
async fn told(app: &TestApp, kind: &str) -> Vec<(String, String, String)> {
    let kind = kind.to_owned();
    app.read(move |c| {
        c.query(
            "SELECT a.username, n.title, n.body FROM notifications n
             JOIN accounts a ON a.id = n.account_id
             WHERE n.kind = $1 ORDER BY a.username, n.id",
            onestop_store::params![&kind],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.text(0)?.to_owned(),
                r.text(1)?.to_owned(),
                r.text(2)?.to_owned(),
            ))
        })
        .collect()
    })
    .await
}

/// The usernames and titles of [`told`].
async fn titles(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    told(app, kind)
        .await
        .into_iter()
        .map(|(who, title, _)| (who, title))
        .collect()
}

fn to(names: &[&str], title: &str) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), title.to_owned()))
        .collect()
}

/// A message text ends with one full stop, never two.
#[track_caller]
fn one_full_stop(body: &str) {
    assert!(body.ends_with('。'), "{body}");
    assert!(!body.contains("。。"), "{body}");
}

async fn a_new_order_reaches_its_units_operators(backend: Backend) {
    let app = TestApp::at_time(backend, FRIDAY).await;
    app.account("water.op", &["operator:sz-water"]).await;
    app.account("water.op2", &["operator:sz-water"]).await;
    app.account("power.op", &["operator:sz-power"]).await;
    app.account("zrzy.a", &["approver:sz-zrzy"]).await;
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    let created = app.submit_created(&water_only(USCC)).await;
    let number = created["number"].as_str().unwrap().to_owned();
    let oid = first_order(&created);
    assert_eq!(
        created["work_orders"][0]["due_at"],
        "2026-09-20T10:45:00+08:00"
    );
    // The water company's operators, and nobody else.
    let title = format!("新工单：{number} 用水");
    assert_eq!(
        titles(&app, "order_new").await,
        to(&["water.op", "water.op2"], &title)
    );
    let (_, _, body) = &told(&app, "order_new").await[0];
    assert_eq!(
        body,
        &format!(
            "随州市某某水产有限公司提交了用水报装申请（申请 {number}），由随州市水务集团承办，\
             请于 2026年09月20日 10:45 前受理或退回补正。"
        )
    );
    one_full_stop(body);
    // The link leads to the order.
    let op = app.login("water.op", PASSWORD).await;
    let inbox = app.get_as(&op, "/api/v1/notifications").await.json();
    assert_eq!(inbox["items"][0]["link"], format!("/work-orders/{oid}"));
    assert_eq!(inbox["items"][0]["title"], title.as_str());

    // Returned for correction ten minutes later; back on the make-up Sunday.
    let key = app.key("workorders:write:sz-water").await;
    app.set_time("2026-09-18T16:40:00+08:00");
    let ret = json!({"action": "return_for_correction", "version": 1, "reason": "缺少用水量说明"});
    app.as_key(&key).act_ok(&oid, ret).await;
    assert!(titles(&app, "order_resubmitted").await.is_empty());
    app.set_time("2026-09-20T09:00:00+08:00");
    let back = app
        .as_key(&app.api_key)
        .act_ok(&oid, json!({"action": "resubmit", "version": 2}))
        .await;
    // The 80 working minutes the order waited are added to its deadline.
    assert_eq!(back["due_at"], "2026-09-20T14:35:00+08:00");
    let title = format!("补正后重新提交：{number} 用水");
    assert_eq!(
        titles(&app, "order_resubmitted").await,
        to(&["water.op", "water.op2"], &title)
    );
    let (_, _, body) = &told(&app, "order_resubmitted").await[0];
    assert_eq!(
        body,
        &format!(
            "随州市某某水产有限公司已按退回原因补正用水报装申请（申请 {number}），\
             工单回到随州市水务集团，请于 2026年09月20日 14:35 前受理。"
        )
    );
    // Acting on the order again tells its unit nothing new.
    app.as_key(&key).accept(&oid).await;
    assert_eq!(titles(&app, "order_new").await.len(), 2);
    assert_eq!(titles(&app, "order_resubmitted").await.len(), 2);

    // A five-service application: each order to its own unit only.
    let five = app.submit_created(&five_services()).await;
    let number5 = five["number"].as_str().unwrap();
    let new = titles(&app, "order_new").await;
    assert_eq!(
        new.iter()
            .filter(|(_, t)| t.contains(number5))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            ("power.op".to_owned(), format!("新工单：{number5} 用电")),
            ("water.op".to_owned(), format!("新工单：{number5} 用水")),
            ("water.op2".to_owned(), format!("新工单：{number5} 用水")),
        ]
    );
    for nobody in ["zrzy.a", "ent.a"] {
        assert!(!new.iter().any(|(who, _)| who == nobody), "{nobody}");
    }
}

/// A five-service application on Monday whose heating works (800 m) wait
/// in the approval stage; the case raised at 09:00 with the natural
/// resources bureau and the traffic police involved. Returns the
/// application, the heat order and the case.
async fn case_raised(app: &TestApp) -> (Value, String, Value) {
    let created = app.submit_created(&five_services()).await;
    let id = id_of(&created);
    let (heat, _) = order_of(&created, "sz-heat");
    let key = app.key("workorders:write:sz-heat").await;
    let utility = app.as_key(&key);
    utility
        .act_ok(&heat, json!({"action": "accept", "version": 1}))
        .await;
    let survey = json!({"action": "record_survey", "version": 2, "external_works_m": 800, "route": "沿交通大道"});
    utility.act_ok(&heat, survey).await;
    app.set_time("2026-09-21T09:00:00+08:00");
    let body = json!({"works": [heat], "place": "交通大道。", "from": "2026-09-25", "to": "2026-09-26",
                      "not_applicable": ["sz-cgzf", "sz-jtj", "sz-zsj", "sz-jxj"]});
    let res = utility.raise_case(&id, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case = res.json();
    assert_eq!(
        item(&case, "sz-zrzy")["due_at"],
        "2026-09-23T09:00:00+08:00"
    );
    (created, heat, case)
}

async fn approval_items_reach_their_departments_and_a_rejection_the_utility(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    app.account("zrzy.a", &["approver:sz-zrzy"]).await;
    app.account("jj.a", &["approver:sz-jj"]).await;
    app.account("cgzf.a", &["approver:sz-cgzf"]).await;
    app.account("heat.op", &["operator:sz-heat"]).await;
    app.account("water.op", &["operator:sz-water"]).await;
    let (created, heat, case) = case_raised(&app).await;
    let number = created["number"].as_str().unwrap().to_owned();
    let case_id = id_of(&case);

    // The two departments involved; not the one marked not involved.
    let title = format!("新审批事项：{number}");
    assert_eq!(
        titles(&app, "approval_item_new").await,
        to(&["jj.a", "zrzy.a"], &title)
    );
    let new = told(&app, "approval_item_new").await;
    assert_eq!(
        new[1].2,
        format!(
            "随州市集中供热单位为申请 {number}（随州市示例商贸有限公司）的外线工程发起并联审批，\
             施工地点为交通大道，施工日期为 2026年09月25日至2026年09月26日。\
             随州市自然资源和规划局的审批事项请于 2026年09月23日 09:00 前签署意见。"
        )
    );
    one_full_stop(&new[1].2);
    let zrzy = app.login("zrzy.a", PASSWORD).await;
    let inbox = app.get_as(&zrzy, "/api/v1/notifications").await.json();
    assert_eq!(
        inbox["items"][0]["link"],
        format!("/approval-cases/{case_id}")
    );
    assert!(titles(&app, "approval_rejected").await.is_empty());

    // The traffic police reject at 10:00: the heating company is told.
    app.set_time("2026-09-21T10:00:00+08:00");
    let jj = app.login("jj.a", PASSWORD).await;
    let res = app
        .decide_as(
            &jj,
            &item(&case, "sz-jj"),
            "reject",
            "交通组织方案不完整，请补充夜间施工安排。",
            1,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["status"], "rejected");
    let heat_due = app.work_order(&heat).await["due_at"].clone();
    assert_eq!(heat_due, "2026-09-22T17:30:00+08:00");
    assert_eq!(
        titles(&app, "approval_rejected").await,
        to(&["heat.op"], &format!("并联审批未通过：{number} 用暖"))
    );
    let (_, _, body) = &told(&app, "approval_rejected").await[0];
    assert_eq!(
        body,
        &format!(
            "随州市公安局交通警察支队对申请 {number}的外线工程（交通大道）签署了不同意意见：\
             交通组织方案不完整，请补充夜间施工安排。请随州市集中供热单位按审批意见修改方案后，\
             在审批案件页重新提交；用暖工单本环节的办理时限为 2026年09月22日 17:30。"
        )
    );
    one_full_stop(body);

    // The heating company revises at 11:00: both departments decide again.
    app.set_time("2026-09-21T11:00:00+08:00");
    let key = app.key("workorders:write:sz-heat").await;
    let seen = app
        .as_key(&key)
        .get(&format!("/api/v1/approval-cases/{case_id}"))
        .await
        .json();
    let revised = json!({"version": seen["version"], "note": "已补充夜间施工安排。"});
    let res = app
        .as_key(&key)
        .post(
            &format!("/api/v1/approval-cases/{case_id}/resubmission"),
            revised,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let title = format!("审批事项重新提交：{number}");
    assert_eq!(
        titles(&app, "approval_item_resubmitted").await,
        to(&["jj.a", "zrzy.a"], &title)
    );
    let again = told(&app, "approval_item_resubmitted").await;
    assert_eq!(
        again[0].2,
        format!(
            "随州市集中供热单位已按审批意见修改申请 {number}（随州市示例商贸有限公司）的外线工程并重新提交，\
             现为第 2 轮审批。修改说明：已补充夜间施工安排。施工地点为交通大道，\
             施工日期为 2026年09月25日至2026年09月26日。\
             随州市公安局交通警察支队的审批事项请于 2026年09月23日 11:00 前签署意见。"
        )
    );
    one_full_stop(&again[0].2);
    // Nothing for the department not involved, nor for a utility without works in the case.
    for kind in [
        "approval_item_new",
        "approval_item_resubmitted",
        "approval_rejected",
    ] {
        let all = titles(&app, kind).await;
        for nobody in ["cgzf.a", "water.op"] {
            assert!(!all.iter().any(|(who, _)| who == nobody), "{kind} {nobody}");
        }
    }
}

async fn the_enterprise_hears_of_the_survey_and_its_move(backend: Backend) {
    let app = TestApp::at_time(backend, FRIDAY).await;
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    app.account("ent.b", &[&format!("applicant:{USCC}")]).await;
    app.account("other.a", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    app.account("water.op", &["operator:sz-water"]).await;
    let created = app.submit_created(&water_only(USCC)).await;
    let (id, number) = (id_of(&created), created["number"].as_str().unwrap());
    let key = app.key("workorders:write:sz-water").await;
    let water = app.as_key(&key);
    water.accept(&first_order(&created)).await;
    let survey = format!("/api/v1/applications/{id}/survey");
    let res = water
        .post(&survey, json!({"at": "2026-09-21T09:00:00+08:00"}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let title = format!("联合踏勘时间：{number}");
    assert_eq!(
        titles(&app, "survey_appointed").await,
        to(&["ent.a", "ent.b"], &title)
    );
    let (_, _, body) = &told(&app, "survey_appointed").await[0];
    assert_eq!(
        body,
        &format!(
            "随州市水务集团约定于 2026年09月21日 09:00 到随县厉山镇工业园1号，\
             对您的报装申请（申请 {number}）进行联合踏勘。请安排熟悉现场的人员届时到场。"
        )
    );
    one_full_stop(body);
    let ent = app.login("ent.a", PASSWORD).await;
    let inbox = app.get_as(&ent, "/api/v1/notifications").await.json();
    assert_eq!(inbox["items"][0]["link"], format!("/applications/{id}"));

    // Moved: told again, with the time it replaces.
    let res = water
        .post(
            &survey,
            json!({"at": "2026-09-22T14:30:00+08:00", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let title = format!("联合踏勘改期：{number}");
    assert_eq!(
        titles(&app, "survey_moved").await,
        to(&["ent.a", "ent.b"], &title)
    );
    let (_, _, body) = &told(&app, "survey_moved").await[0];
    assert_eq!(
        body,
        &format!(
            "您的报装申请（申请 {number}）的联合踏勘由 2026年09月21日 09:00 改到 \
             2026年09月22日 14:30，地点为随县厉山镇工业园1号，由随州市水务集团牵头。\
             请安排熟悉现场的人员届时到场。"
        )
    );
    // A refused move (stale version) tells nobody.
    let res = water
        .post(
            &survey,
            json!({"at": "2026-09-23T09:00:00+08:00", "version": 1}),
        )
        .await;
    assert_eq!(res.json()["error"]["code"], "stale_version");
    assert_eq!(titles(&app, "survey_moved").await.len(), 2);
    for kind in ["survey_appointed", "survey_moved"] {
        let all = titles(&app, kind).await;
        for nobody in ["other.a", "water.op"] {
            assert!(!all.iter().any(|(who, _)| who == nobody), "{kind} {nobody}");
        }
    }
}

/// A relay the server would send email through (nothing is sent here:
/// the outbox is read).
fn email_on(c: &mut onestop_domain::config::CityConfig) {
    c.notify.email = Some(EmailConfig {
        smtp_host: "127.0.0.1".into(),
        smtp_port: Some(2525),
        tls: SmtpTls::Starttls,
        username: None,
        password_env: None,
        ca_file: None,
        from: "noreply@onestop.example.gov.cn".into(),
        from_name: "联合报装".into(),
        helo: None,
        timeout_seconds: 5,
    });
}

async fn cancelling_withdraws_pending_items_and_tells_the_departments(backend: Backend) {
    let app = TestApp::with_config_at(backend, MONDAY, email_on).await;
    let zrzy_id = app.account("zrzy.a", &["approver:sz-zrzy"]).await;
    app.account("jj.a", &["approver:sz-jj"]).await;
    app.account("jj.b", &["approver:sz-jj"]).await;
    app.account("cgzf.a", &["approver:sz-cgzf"]).await;
    app.account("heat.op", &["operator:sz-heat"]).await;
    app.write(|c| {
        c.execute(
            "UPDATE accounts SET email = 'zrzy@zrzy.example.cn' WHERE username = 'zrzy.a'",
            &[],
        )
    })
    .await;
    // One approver has an address but wants no email.
    let jj = app.login("jj.a", PASSWORD).await;
    let res = app
        .as_session(&jj)
        .put(
            "/api/v1/account/notification-settings",
            json!({"email": "jj@jj.example.cn", "in_app": true, "email_enabled": false, "sms_enabled": false}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (created, heat, case) = case_raised(&app).await;
    let (id, number) = (id_of(&created), created["number"].as_str().unwrap());
    let case_path = format!("/api/v1/approval-cases/{}", id_of(&case));

    // The enterprise cancels at 10:00.
    app.set_time("2026-09-21T10:00:00+08:00");
    let res = app.as_key(&app.api_key).cancel(&id, "项目暂缓。").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(app.work_order(&heat).await["status"], "cancelled");
    let zrzy = app.login("zrzy.a", PASSWORD).await;
    let seen = app.get_as(&zrzy, &case_path).await.json();
    for dept in ["sz-zrzy", "sz-jj"] {
        let i = item(&seen, dept);
        assert_eq!(i["status"], "withdrawn", "{i}");
        assert_eq!(i["level"], "normal", "{i}");
        assert_eq!(i["version"], 2, "{i}");
    }
    assert_eq!(item(&seen, "sz-cgzf")["status"], "not_applicable");
    // Each department is told; the one not involved is not.
    let title = format!("审批事项已撤回：{number}");
    assert_eq!(
        titles(&app, "approval_withdrawn").await,
        to(&["jj.a", "jj.b", "zrzy.a"], &title)
    );
    let withdrawn = told(&app, "approval_withdrawn").await;
    assert_eq!(
        withdrawn[2].2,
        format!(
            "申请 {number}（随州市示例商贸有限公司）已撤销，随州市自然资源和规划局的并联审批事项随之撤回，\
             无需再签署意见。撤销原因：项目暂缓。"
        )
    );
    one_full_stop(&withdrawn[2].2);
    // By email to the approver who has it on; not to the one who switched it off.
    let mails: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|d| d.kind == "approval_withdrawn")
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        (
            mails[0].account_id.as_str(),
            mails[0].channel.as_str(),
            mails[0].address.as_str(),
            mails[0].title.as_str(),
            mails[0].body.as_str(),
        ),
        (
            zrzy_id.as_str(),
            "email",
            "zrzy@zrzy.example.cn",
            title.as_str(),
            withdrawn[2].2.as_str(),
        )
    );
    // The history says so once.
    let events: Vec<_> = app
        .events(&id)
        .await
        .into_iter()
        .filter(|e| e.kind == "approval_items_withdrawn")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].at_ms, ms("2026-09-21T10:00:00+08:00"));

    // Out of the department's inbox (asked for by status, still there).
    let inbox = app.get_as(&zrzy, "/api/v1/approval-items").await.json();
    assert_eq!(inbox["items"], json!([]), "{inbox}");
    let asked = app
        .get_as(&zrzy, "/api/v1/approval-items?status=withdrawn")
        .await
        .json();
    assert_eq!(item_ids(&asked), vec![id_of(&item(&case, "sz-zrzy"))]);
    let page = app.ok_page_as(&zrzy, "/approvals").await;
    assert!(!page.contains(number), "{page}");
    // Nobody can decide it any more.
    let res = app
        .decide_as(&zrzy, &item(&seen, "sz-zrzy"), "approve", "同意", 2)
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    assert_eq!(
        res.json()["error"]["message"],
        "申请已撤销，该审批事项已撤回，无需签署意见"
    );

    // Past the warning (Tuesday 14:45) and the deadline (Wednesday 09:00):
    // no level, no message, no history event.
    for at in ["2026-09-22T14:45:00+08:00", "2026-09-23T09:00:00+08:00"] {
        app.set_time(at);
        app.sweep().await;
    }
    app.set_time("2026-09-24T09:00:00+08:00");
    app.sweep().await;
    // Signed in again: the clock moved days on.
    let zrzy = app.login("zrzy.a", PASSWORD).await;
    let seen = app.get_as(&zrzy, &case_path).await.json();
    assert_eq!(item(&seen, "sz-zrzy")["level"], "normal");
    assert_eq!(item(&seen, "sz-jj")["level"], "normal");
    assert_eq!(seen["level"], "normal");
    for kind in ["approval_level_warning", "approval_level_overdue"] {
        assert!(titles(&app, kind).await.is_empty(), "{kind}");
    }
    assert!(
        !app.events(&id)
            .await
            .iter()
            .any(|e| e.kind.starts_with("approval_level_")),
        "no level events"
    );
    let pending = app
        .read(|c| {
            c.query(
                "SELECT COUNT(*) FROM approval_items WHERE next_level_at IS NOT NULL",
                &[],
            )?[0]
                .int(0)
        })
        .await;
    assert_eq!(pending, 0);
}
