//! The one window (一窗受理) in a real (headless) Chromium, on both
//! databases, at phone (390 px) and desk (1280 px) width: a clerk logs a
//! consultation that needs a utility's written answer, the utility answers
//! it from its inbox and the clerk reads the answer; an enterprise rates
//! its completed application 不满意, the unit concerned answers the
//! follow-up, and the enterprise reads the answer on its application page.

use onestop_e2e::{
    Browser, DbBackend as Backend, RunningServer, Staff, account, browser, sign_in_as,
    sign_out_from, start_server_at,
};
use onestop_store::testing::Sql as _;

onestop_e2e::on_both_databases!(
    a_clerk_logs_a_consultation_the_unit_answers,
    an_enterprise_rates_an_application_dissatisfied_and_reads_the_answer,
);

/// Tuesday 10:00: the follow-ups' deadlines fall within the working week.
const TUESDAY: &str = "2026-12-01T10:00:00+08:00";
const USCC: &str = "91421300MA49ABCD17";

const CLERK: Staff = ("window.zhou", "周窗口", "clerk:zd-zwzx", "Hall-2026-ok");
const WATER: Staff = ("water.op", "供水经办", "operator:sz-water", "Water-2026-op");

/// Follows the header's menu entry named `label`.
async fn menu(b: &Browser, href: &str) {
    b.click_to_next_page(&format!("header nav a[href='{href}']"))
        .await;
}

/// The page fits the window: nothing wider than the screen.
async fn fits(b: &Browser, what: &str) {
    let wide = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await;
    b.check(
        wide == serde_json::Value::Bool(false),
        format_args!("{what} is wider than the window"),
    )
    .await;
}

async fn a_clerk_logs_a_consultation_the_unit_answers(backend: Backend) {
    let server = start_server_at(backend, TUESDAY).await;
    account(&server, CLERK).await;
    account(&server, WATER).await;
    let b = browser(true).await;

    // The clerk, on a phone at the window.
    b.set_window_size(390, 844).await;
    sign_in_as(&b, &server, CLERK).await;
    menu(&b, "/counter").await;
    b.check(
        b.text("h1").await == "一窗受理",
        "the clerk's menu does not lead to the one window",
    )
    .await;
    fits(&b, "the one window at 390 px").await;
    b.tick("#consultation-form input[name=services][value=water]")
        .await;
    b.fill("#f-c-topic", "新建厂房临时用水如何办理").await;
    b.fill(
        "#f-c-answer",
        "已说明临时用水可一表申请；水压问题需水务集团答复。",
    )
    .await;
    b.click("#consultation-form details summary").await;
    b.fill("#f-c-name", "随州市示例商贸有限公司").await;
    b.fill("#f-c-phone", "13800001111").await;
    b.tick("#f-c-follow").await;
    // Without the unit, the form says which field and keeps what was typed.
    b.click_to_next_page("#consultation-form button[type=submit]")
        .await;
    b.check(
        b.text("#e-c-unit").await.contains("请选择负责回复的单位")
            && b.value("#f-c-topic").await == "新建厂房临时用水如何办理",
        "the missing unit is not named beside its field, or the input is lost",
    )
    .await;
    b.select("#f-c-unit", "sz-water").await;
    b.click_to_next_page("#consultation-form button[type=submit]")
        .await;
    b.check(
        b.text("#done-notice")
            .await
            .contains("已转负责单位限时回复"),
        "no confirmation of the consultation",
    )
    .await;
    let today = b.text("#today-consultations").await;
    b.check(
        today.contains("新建厂房临时用水如何办理")
            && today.contains("随州市水务集团")
            && today.contains("剩余")
            && today.contains("138****1111")
            && !today.contains("13800001111"),
        format_args!("today's consultations do not show it with its time: {today}"),
    )
    .await;
    fits(&b, "the one window with a consultation at 390 px").await;
    sign_out_from(&b).await;

    // The water company, at a desk: its inbox, the item, the answer.
    b.set_window_size(1280, 900).await;
    sign_in_as(&b, &server, WATER).await;
    menu(&b, "/follow-ups").await;
    let inbox = b.text("#follow-ups").await;
    b.check(
        inbox.contains("新建厂房临时用水如何办理") && inbox.contains("剩余"),
        format_args!("the inbox does not list the follow-up with its time: {inbox}"),
    )
    .await;
    b.click_to_next_page("#follow-ups a.staff-number").await;
    let subject = b.text("#subject").await;
    b.check(
        subject.contains("13800001111"),
        format_args!("the unit cannot reach the customer: {subject}"),
    )
    .await;
    b.fill("#f-response", "已电话联系客户，水压满足要求，可直接申请。")
        .await;
    b.click_to_next_page("#answer button[type=submit]").await;
    b.check(
        b.text("#done-notice").await.contains("回复已提交"),
        "no confirmation of the answer",
    )
    .await;
    b.check(
        b.text("#history").await.contains("书面回复"),
        "the history does not record the answer",
    )
    .await;
    sign_out_from(&b).await;

    // The clerk reads the answer.
    b.set_window_size(390, 844).await;
    sign_in_as(&b, &server, CLERK).await;
    b.goto(&server.url("/counter")).await;
    let today = b.text("#today-consultations").await;
    b.check(
        today.contains("已电话联系客户，水压满足要求，可直接申请。"),
        format_args!("the clerk does not see the answer: {today}"),
    )
    .await;
    b.close().await;
    server.stop().await;
}

/// Water and power for the enterprise through a verified channel, every
/// order then finished (as after connection).
async fn completed_application(server: &RunningServer) -> String {
    let body = serde_json::json!({
        "applicant": {"name": "随州市示例商贸有限公司", "uscc": USCC},
        "address": {"district_code": "421303", "detail": "交通大道100号"},
        "contact": {"name": "张三", "phone": "13800001111"},
        "mode": "a_la_carte",
        "channel": "api",
        "services": {
            "water": {"business_type": "new_account", "demand_tons_per_day": 50},
            "power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0}
        }
    });
    let form = onestop_server::app::applications::validate(&server.state, &body).expect("valid");
    let system = onestop_server::app::accounts::system_caller("e2e");
    let id = match onestop_server::app::applications::submit(&server.state, form, &system, None)
        .await
        .expect("submitted")
    {
        onestop_server::app::applications::Submitted::Created { application, .. } => application.id,
        onestop_server::app::applications::Submitted::Replayed(_) => unreachable!(),
    };
    let i = id.clone();
    server
        .state
        .store
        .write(move |c| {
            c.execute(
                "UPDATE work_orders SET stage = 'closed', status = 'done', next_level_at = NULL
                 WHERE application_id = $1",
                onestop_store::params![&i],
            )?;
            c.execute(
                "UPDATE applications SET status = 'completed' WHERE id = $1",
                onestop_store::params![&i],
            )
        })
        .await
        .expect("completed");
    id
}

async fn an_enterprise_rates_an_application_dissatisfied_and_reads_the_answer(backend: Backend) {
    let server = start_server_at(backend, TUESDAY).await;
    let applicant = format!("applicant:{USCC}");
    let enterprise: Staff = ("ent.a", "示例商贸", &applicant, "Shop-2026-ok");
    account(&server, enterprise).await;
    account(&server, WATER).await;
    let id = completed_application(&server).await;
    let b = browser(true).await;

    // The enterprise, on a phone: 不满意, about the water company.
    b.set_window_size(390, 844).await;
    sign_in_as(&b, &server, enterprise).await;
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    fits(&b, "the application page at 390 px").await;
    b.tick("#rate input[name=level][value=dissatisfied]").await;
    b.fill("#f-rating-comment", "接入比约定晚了两天，也没有提前告知。")
        .await;
    // Without the unit, the form names the field and keeps the comment.
    b.click_to_next_page("#rate button[type=submit]").await;
    b.check(
        b.text("#e-rating-unit")
            .await
            .contains("请选择不满意所针对的单位")
            && b.value("#f-rating-comment").await == "接入比约定晚了两天，也没有提前告知。",
        "the missing unit is not named beside its field, or the comment is lost",
    )
    .await;
    b.tick("#rate input[name=level][value=dissatisfied]").await;
    b.select("#f-rating-unit", "sz-water").await;
    b.click_to_next_page("#rate button[type=submit]").await;
    b.check(
        b.text("#done-notice").await.contains("限时整改回复"),
        "no confirmation that the unit must answer",
    )
    .await;
    let ratings = b.text("#rating-list").await;
    b.check(
        ratings.contains("不满意") && ratings.contains("整改回复中") && ratings.contains("剩余"),
        format_args!("the rating does not show the unit's time to answer: {ratings}"),
    )
    .await;
    sign_out_from(&b).await;

    // The water company answers at its desk.
    b.set_window_size(1280, 900).await;
    sign_in_as(&b, &server, WATER).await;
    b.goto(&server.url("/workbench")).await;
    b.click_to_next_page("#follow-ups-waiting a").await;
    b.click_to_next_page("#follow-ups a.staff-number").await;
    let subject = b.text("#subject").await;
    b.check(
        subject.contains("不满意") && subject.contains("接入比约定晚了两天"),
        format_args!("the unit does not see the rating: {subject}"),
    )
    .await;
    fits(&b, "the follow-up at 1280 px").await;
    b.fill(
        "#f-response",
        "已核实，因管材到货延误；已向贵单位致歉并完善提前告知流程。",
    )
    .await;
    b.click_to_next_page("#answer button[type=submit]").await;
    b.check(
        b.text("#follow-up-response")
            .await
            .contains("已向贵单位致歉"),
        "the answer is not shown on the follow-up",
    )
    .await;
    sign_out_from(&b).await;

    // The enterprise reads the answer on its application.
    b.set_window_size(390, 844).await;
    sign_in_as(&b, &server, enterprise).await;
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    let ratings = b.text("#rating-list").await;
    b.check(
        ratings.contains("已核实，因管材到货延误；已向贵单位致歉并完善提前告知流程。")
            && ratings.contains("随州市水务集团"),
        format_args!("the enterprise does not read the unit's answer: {ratings}"),
    )
    .await;
    b.close().await;
    server.stop().await;
}
