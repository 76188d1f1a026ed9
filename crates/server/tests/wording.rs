//! What the pages say, on SQLite and PostgreSQL with a hand-set clock: the
//! working time left or overdue beside every deadline (exact values), how
//! a finished order finished, stages as states, history lines that name a
//! person and their unit or the system (never a login or a code; phones
//! masked; one date format), approval-case lines only on the orders in the
//! case, and the audit log's details as sentences. The history lines'
//! wording is held in `tests/snapshots/wording_*.snap`.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    history_lines_name_people_and_units,
    time_left_and_overdue_in_working_time,
    finished_orders_say_how_they_finished,
    approval_items_show_their_time,
    audit_details_read_as_sentences,
    every_page_reads_for_people,
);

/// Monday of a plain week of November 2026 (no holidays); working hours
/// 08:30–12:00 and 14:30–17:30, so a working day is 6.5 h.
const MONDAY: &str = "2026-11-16T09:00:00+08:00";

/// The API.md example with an appointment on the Thursday.
fn application() -> Value {
    let mut body = onestop_store::testing::example_application("随州市示例商贸有限公司");
    body["appointment_at"] = json!("2026-11-19T09:00:00+08:00");
    body
}

/// An account people know as `name`, holding `grants`, with [`PASSWORD`].
async fn person(app: &TestApp, login: &str, name: &str, grants: &[&str]) {
    use onestop_server::app::accounts::{NewAccountInput, create_account, system_caller};
    let created = create_account(
        &app.state,
        &system_caller("test"),
        NewAccountInput {
            username: login.into(),
            display_name: name.into(),
            phone: None,
            grants: grants.iter().map(|g| g.to_string()).collect(),
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create {login}: {e:?}"));
    let (id, hash) = (created.account.id, created.account.password_hash);
    app.write(move |c| {
        onestop_store::accounts::set_password(c, &id, &hash, false, onestop_store::now_ms())
    })
    .await;
}

/// Signs `login` in (sessions end after 30 idle minutes of the hand-set
/// clock, so each step signs in afresh).
async fn signed(app: &TestApp, login: &str) -> Session {
    app.login(login, PASSWORD).await
}

/// The text a reader sees: no tags, no attributes, no scripts.
fn visible(html: &str) -> String {
    let scripts = regex::Regex::new(r"(?s)<script.*?</script>|<style.*?</style>").unwrap();
    let tags = regex::Regex::new(r"<[^>]*>").unwrap();
    tags.replace_all(&scripts.replace_all(html, ""), "")
        .into_owned()
}

/// Every `<ol class="timeline"…>…</ol>` and progress line of a page, one
/// per line: the history as people read it.
fn history(html: &str) -> String {
    let lists = regex::Regex::new(
        r#"(?s)<ol class="timeline"[^>]*>.*?</ol>|<p class="progress-now">.*?</p>|<ul class="messages" id="reminders">.*?</ul>"#,
    )
    .unwrap();
    let tidy = regex::Regex::new(r"\s*\n\s*").unwrap();
    lists
        .find_iter(html)
        .map(|m| tidy.replace_all(m.as_str(), "").replace("<li", "\n  <li"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a page speaks to people: no raw ISO instant, no login or job
/// name, no doubled full stop in what it shows.
#[track_caller]
fn reads_for_people(html: &str, logins: &[&str]) {
    // The page's own content (the header names the signed-in user).
    let main = html
        .split_once("<main")
        .and_then(|(_, m)| m.split_once('>'))
        .map_or(html, |(_, m)| m);
    let text = visible(main);
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}").unwrap();
    assert!(!iso.is_match(&text), "a raw instant is shown: {text}");
    assert!(!text.contains("。。"), "a doubled full stop: {text}");
    for login in logins {
        assert!(!text.contains(login), "login {login:?} is shown: {text}");
    }
}

macro_rules! assert_history {
    ($name:expr, $html:expr) => {{
        insta::with_settings!({
            filters => vec![(r"\b[0-9a-f]{32}\b", "[id]"), (r"\bLB\d{12}\b", "[number]")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, history($html));
        });
    }};
}

async fn version(app: &TestApp, order: &str) -> i64 {
    app.work_order(order).await["version"].as_i64().unwrap()
}

async fn history_lines_name_people_and_units(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    person(&app, "water1", "张三", &["operator:sz-water"]).await;
    person(&app, "heat1", "李四", &["operator:sz-heat"]).await;
    person(&app, "zrzy1", "王五", &["approver:sz-zrzy"]).await;
    person(&app, "zjj1", "赵六", &["supervisor:sz-zjj"]).await;
    // An enterprise member registered with a mobile number as both login
    // and name: the history never shows it in full.
    let applicant = format!("applicant:{USCC}");
    person(&app, "13800001111", "13800001111", &[&applicant]).await;
    let logins = ["water1", "heat1", "zrzy1", "zjj1", "13800001111", "clock"];

    let ent = signed(&app, "13800001111").await;
    let res = app
        .as_session(&ent)
        .post("/api/v1/applications", application())
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let created = res.json();
    let id = id_of(&created);
    let (water, _) = order_of(&created, "sz-water");
    let (heat, _) = order_of(&created, "sz-heat");

    // Monday 10:00: both utilities accept; the heat company proposes the
    // joint survey for 10:20 and at 10:30 records 800 m of works.
    app.set_time("2026-11-16T10:00:00+08:00");
    let w = signed(&app, "water1").await;
    let mut wv = version(&app, &water).await;
    app.as_session(&w)
        .step(&water, &mut wv, json!({"action": "accept"}))
        .await;
    let h = signed(&app, "heat1").await;
    let mut hv = version(&app, &heat).await;
    app.as_session(&h)
        .step(&heat, &mut hv, json!({"action": "accept"}))
        .await;
    app.set_time("2026-11-16T10:05:00+08:00");
    let res = app
        .as_session(&h)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": "2026-11-16T10:20:00+08:00"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    app.set_time("2026-11-16T10:30:00+08:00");
    let h = signed(&app, "heat1").await;
    app.as_session(&h)
        .step(
            &heat,
            &mut hv,
            json!({"action": "record_survey", "external_works_m": 800, "route": "沿交通大道敷设。"}),
        )
        .await;
    // 11:00: the heat company raises the case for its works alone; only
    // the natural resources department is concerned.
    app.set_time("2026-11-16T11:00:00+08:00");
    let h = signed(&app, "heat1").await;
    let res = app
        .as_session(&h)
        .raise_case(
            &id,
            json!({"works": [heat], "place": "交通大道（擂鼓墩大道至烈山大道段）",
                   "from": "2026-11-23", "to": "2026-11-27",
                   "not_applicable": ["sz-cgzf", "sz-jtj", "sz-jj", "sz-zsj", "sz-jxj"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case = res.json();
    let case_id = id_of(&case);
    // 14:30: the department approves, with an opinion ending in its own
    // full stop.
    app.set_time("2026-11-16T14:30:00+08:00");
    let z = signed(&app, "zrzy1").await;
    let zrzy_item = item(&case, "sz-zrzy");
    let res = app
        .as_session(&z)
        .decide_item(
            &zrzy_item,
            "approve",
            "同意按方案施工。",
            zrzy_item["version"].clone(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // Tuesday 09:00: the water order went to warning overnight; the
    // supervisor reminds the water company, which acknowledges.
    app.set_time("2026-11-17T09:00:00+08:00");
    app.sweep().await;
    let s = signed(&app, "zjj1").await;
    let res = app
        .as_session(&s)
        .post(
            &format!("/api/v1/work-orders/{water}/reminders"),
            json!({"note": "请尽快完成踏勘。"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let reminder = res.json()["id"].as_i64().unwrap();
    app.set_time("2026-11-17T09:10:00+08:00");
    let w = signed(&app, "water1").await;
    let res = app
        .as_session(&w)
        .post(
            &format!("/api/v1/reminders/{reminder}/acknowledgement"),
            json!({"reply": "已安排。"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    app.set_time("2026-11-17T09:15:00+08:00");
    // The water order: its own steps, the survey shared by all, the
    // reminder; nothing of a case it is not in.
    let w = signed(&app, "water1").await;
    let page = app.ok_page_as(&w, &format!("/work-orders/{water}")).await;
    reads_for_people(&page, &logins);
    assert_has(
        &page,
        &[
            "<span class=\"who\">随州市水务集团 张三</span> <strong>受理</strong>",
            "<span class=\"who\">系统</span>：<strong>进入预警</strong>",
            "<span class=\"who\">随州市示例商贸有限公司 138****1111</span> <strong>提交申请，工单同步推送承办单位</strong>",
            "随州市住房和城乡建设局 赵六 于 2026年11月17日 09:00 督办",
            "<strong>督办</strong>：请尽快完成踏勘</li>",
        ],
    );
    assert!(!page.contains("发起并联审批"), "{page}");
    assert!(!page.contains("id=\"case-link\""), "{page}");
    assert_history!("wording_water_order", &page);

    // The heat order: the case's lines and its link.
    let h = signed(&app, "heat1").await;
    let page = app.ok_page_as(&h, &format!("/work-orders/{heat}")).await;
    reads_for_people(&page, &logins);
    assert_has(
        &page,
        &[
            &format!("href=\"/approval-cases/{case_id}\" id=\"case-link\""),
            "<span class=\"who\">随州市集中供热单位 李四</span> <strong>发起并联审批</strong>",
            "<span class=\"who\">随州市自然资源和规划局 王五</span> <strong>部门审批</strong>：同意。同意按方案施工</li>",
        ],
    );
    assert_history!("wording_heat_order", &page);

    // The enterprise's application page: every order's progress, by state.
    let ent = signed(&app, "13800001111").await;
    let page = app.ok_page_as(&ent, &format!("/applications/{id}")).await;
    reads_for_people(&page, &logins);
    assert!(!page.contains("（办理中）"), "{page}");
    assert_history!("wording_application", &page);

    // The case page names who signed, not their login.
    let z = signed(&app, "zrzy1").await;
    let page = app
        .ok_page_as(&z, &format!("/approval-cases/{case_id}"))
        .await;
    reads_for_people(&page, &logins);
    assert_has(
        &page,
        &[
            "<td data-label=\"签署人\">王五</td>",
            "2026年11月23日 至 2026年11月27日",
        ],
    );
}

async fn time_left_and_overdue_in_working_time(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    person(&app, "water1", "张三", &["operator:sz-water"]).await;
    let created = app.submit_created(&application()).await;
    let (water, _) = order_of(&created, "sz-water");
    let row = |html: &str| -> String {
        let rows = regex::Regex::new(r#"(?s)<tr class="order[^"]*">.*?</tr>"#).unwrap();
        rows.find_iter(html)
            .map(|m| m.as_str().to_owned())
            .find(|r| r.contains(&format!("/work-orders/{water}")))
            .unwrap_or_else(|| panic!("no row of {water}: {html}"))
    };
    // Acceptance has half a working day (3.25 h) from 09:00: due 14:45.
    // At 10:45, 1.25 h before noon and 0.25 h after the break are left.
    app.set_time("2026-11-16T10:45:00+08:00");
    let w = signed(&app, "water1").await;
    let list = app.ok_page_as(&w, "/workbench").await;
    let r = row(&list);
    assert_has(
        &r,
        &[
            "2026年11月16日 14:45</time> 前",
            "<span class=\"clock-bar clock-used-5\" aria-hidden=\"true\"><span></span></span> 剩余 1.5 工作小时",
            "data-label=\"办理状态\">待受理<",
        ],
    );
    let page = app.ok_page_as(&w, &format!("/work-orders/{water}")).await;
    assert_has(
        &page,
        &[
            "剩余 1.5 工作小时",
            "<span id=\"order-stage\">待受理</span>",
        ],
    );
    reads_for_people(&page, &["water1"]);
    // The list of applications shows each one's most pressing deadline.
    let apps = app.ok_page_as(&w, "/applications").await;
    assert_has(
        &apps,
        &[
            "<td data-label=\"最近时限\">用水 <time",
            "剩余 1.5 工作小时",
        ],
    );

    // Tuesday 09:39, still not accepted: 14:45–17:30 on Monday and
    // 08:30–09:39 on Tuesday, 3.9 h, are 0.6 of a working day.
    app.set_time("2026-11-17T09:39:00+08:00");
    app.sweep().await;
    let w = signed(&app, "water1").await;
    let r = row(&app.ok_page_as(&w, "/workbench").await);
    assert_has(
        &r,
        &[
            "time-overdue",
            "clock-used-10",
            "已超期 0.6 个工作日",
            "staff-level-overdue",
        ],
    );
    let s = {
        person(&app, "zjj1", "赵六", &["supervisor:sz-zjj"]).await;
        signed(&app, "zjj1").await
    };
    let overdue = app.ok_page_as(&s, "/supervision").await;
    assert!(overdue.contains("已超期 0.6 个工作日"), "{overdue}");

    // Returned to the applicant at 10:00, the clock stands still: what was
    // left when it stopped stays, whatever the time.
    let mut v = version(&app, &water).await;
    app.set_time("2026-11-17T10:00:00+08:00");
    let w = signed(&app, "water1").await;
    app.as_session(&w)
        .step(
            &water,
            &mut v,
            json!({"action": "return_for_correction", "reason": "门牌号不完整。"}),
        )
        .await;
    app.set_time("2026-11-18T16:00:00+08:00");
    let w = signed(&app, "water1").await;
    let r = row(&app.ok_page_as(&w, "/workbench").await);
    assert_has(
        &r,
        &[
            "data-label=\"办理状态\">待补正<",
            "time-waiting",
            "补正期间暂停计时，已超期 0.7 个工作日",
        ],
    );
}

async fn finished_orders_say_how_they_finished(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    person(&app, "water1", "张三", &["operator:sz-water"]).await;
    person(&app, "power1", "钱七", &["operator:sz-power"]).await;
    let applicant = format!("applicant:{USCC}");
    person(&app, "ent1", "孙八", &[&applicant]).await;
    let created = app.submit_created(&application()).await;
    let id = id_of(&created);
    let (water, _) = order_of(&created, "sz-water");
    let (power, _) = order_of(&created, "sz-power");
    // Water: accepted at 10:00, surveyed (no works) at 11:00, connected at
    // 15:00: 1 h + 1 h + 1.5 h of working time, each within its limit.
    app.set_time("2026-11-16T10:00:00+08:00");
    let w = signed(&app, "water1").await;
    let mut v = version(&app, &water).await;
    app.as_session(&w)
        .step(&water, &mut v, json!({"action": "accept"}))
        .await;
    app.set_time("2026-11-16T11:00:00+08:00");
    let w = signed(&app, "water1").await;
    app.as_session(&w)
        .step(
            &water,
            &mut v,
            json!({"action": "record_survey", "external_works_m": 0}),
        )
        .await;
    app.set_time("2026-11-16T15:00:00+08:00");
    let w = signed(&app, "water1").await;
    app.as_session(&w)
        .step(
            &water,
            &mut v,
            json!({"action": "connect", "connected_at": "2026-11-16T14:50:00+08:00"}),
        )
        .await;
    // Power: refused on Tuesday at 10:00, 7.5 h after submission, past
    // its half day.
    app.set_time("2026-11-17T10:00:00+08:00");
    let p = signed(&app, "power1").await;
    let mut pv = version(&app, &power).await;
    app.as_session(&p)
        .step(
            &power,
            &mut pv,
            json!({"action": "reject", "reason": "该地址不在供电营业区。"}),
        )
        .await;

    let w = signed(&app, "water1").await;
    let page = app.ok_page_as(&w, &format!("/work-orders/{water}")).await;
    let done = "2026年11月16日 15:00 办结，用时 0.5 个工作日，未超时限";
    assert_has(
        &page,
        &[
            &format!("<dt>办理结果</dt><dd id=\"order-outcome\">{done}</dd>"),
            "<span id=\"order-stage\">已办结</span>",
        ],
    );
    assert!(!page.contains("<dt>办理时限</dt>"), "{page}");
    assert!(!page.contains("正常"), "a closed order is not 正常: {page}");
    let list = app.ok_page_as(&w, "/workbench?status=done").await;
    let row = regex::Regex::new(r#"(?s)<tr class="order[^"]*">.*?</tr>"#)
        .unwrap()
        .find(&list)
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| panic!("no row: {list}"));
    assert!(row.contains(done), "{row}");
    assert!(
        !row.contains("正常") && !row.contains("</time> 前"),
        "{row}"
    );

    let ent = signed(&app, "ent1").await;
    let page = app.ok_page_as(&ent, &format!("/applications/{id}")).await;
    assert_has(
        &page,
        &[
            done,
            "2026年11月17日 10:00 不予受理，用时 1.2 个工作日，1 个环节超过时限",
            "<p class=\"progress-now\">2026年11月17日 10:00 不予受理，",
        ],
    );
    reads_for_people(&page, &["water1", "power1", "ent1"]);
}

async fn approval_items_show_their_time(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    person(&app, "zrzy1", "王五", &["approver:sz-zrzy"]).await;
    let created = app.submit_created(&application()).await;
    let id = id_of(&created);
    let key = app.key("workorders:write:sz-heat").await;
    let (heat, mut v) = order_of(&created, "sz-heat");
    app.as_key(&key)
        .step(&heat, &mut v, json!({"action": "accept"}))
        .await;
    app.as_key(&key)
        .step(
            &heat,
            &mut v,
            json!({"action": "record_survey", "external_works_m": 800, "route": "沿交通大道"}),
        )
        .await;
    // Raised on Monday at 11:00 with two working days: due Wednesday 11:00.
    app.set_time("2026-11-16T11:00:00+08:00");
    let res = app
        .as_key(&key)
        .raise_case(
            &id,
            json!({"works": [heat], "place": "交通大道", "from": "2026-11-23", "to": "2026-11-23",
                   "not_applicable": ["sz-cgzf", "sz-jtj", "sz-jj", "sz-zsj", "sz-jxj"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case_id = id_of(&res.json());
    // Tuesday 09:00: 3 h + 3 h on Tuesday and 2.5 h on Wednesday are
    // left, 1.3 working days; a third of the budget used.
    app.set_time("2026-11-17T09:00:00+08:00");
    let z = signed(&app, "zrzy1").await;
    let inbox = app.ok_page_as(&z, "/approvals").await;
    assert_has(
        &inbox,
        &[
            "2026年11月18日 11:00</time> 前",
            "clock-used-3",
            "剩余 1.3 个工作日",
            "2026年11月23日",
        ],
    );
    reads_for_people(&inbox, &["zrzy1"]);
    let page = app
        .ok_page_as(&z, &format!("/approval-cases/{case_id}"))
        .await;
    assert!(page.contains("剩余 1.3 个工作日"), "{page}");
    // Thursday 09:00: overdue by Wednesday 11:00–12:00 and 14:30–17:30
    // and Thursday 08:30–09:00, 4.5 h, 0.7 of a working day.
    app.set_time("2026-11-19T09:00:00+08:00");
    let z = signed(&app, "zrzy1").await;
    let inbox = app.ok_page_as(&z, "/approvals").await;
    assert!(inbox.contains("已超期 0.7 个工作日"), "{inbox}");
}

async fn audit_details_read_as_sentences(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    person(&app, "admin1", "周九", &["admin"]).await;
    let a = signed(&app, "admin1").await;
    // A failed login and an account created with a role.
    let failed = app.try_login("admin1", "Wrong-password-1").await;
    assert_ne!(failed.status, StatusCode::SEE_OTHER);
    person(&app, "water1", "张三", &["operator:sz-water"]).await;
    app.state.audit.flush().await;
    let page = app.ok_page_as(&a, "/admin/audit").await;
    let details = regex::Regex::new(r#"(?s)<td data-label="详情">(.*?)</td>"#).unwrap();
    let texts: Vec<String> = details
        .captures_iter(&page)
        .map(|c| visible(&c[1]))
        .filter(|t| !t.is_empty())
        .collect();
    assert!(!texts.is_empty(), "{page}");
    for t in &texts {
        assert!(
            !t.contains('{') && !t.contains("\":"),
            "a detail is raw JSON: {t}"
        );
        assert!(t.ends_with('。'), "a detail is a sentence: {t}");
    }
    assert!(
        texts.iter().any(|t| t.contains("原因：密码错误")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("角色：公用事业单位经办人 · 随州市水务集团")),
        "{texts:?}"
    );
    reads_for_people(&page, &[]);
}

async fn every_page_reads_for_people(backend: Backend) {
    let app = TestApp::at_time(backend, MONDAY).await;
    person(&app, "admin1", "周九", &["admin"]).await;
    person(&app, "water1", "张三", &["operator:sz-water"]).await;
    person(&app, "zjj1", "赵六", &["supervisor:sz-zjj"]).await;
    person(&app, "hall1", "吴十", &["clerk:zd-jtdd"]).await;
    let applicant = format!("applicant:{USCC}");
    person(&app, "ent1", "孙八", &[&applicant]).await;
    let created = app.submit_created(&application()).await;
    let id = id_of(&created);
    let (water, _) = order_of(&created, "sz-water");
    // A day later: the order is overdue, reminded, returned with a reason
    // typed with its own full stop; messages went out.
    app.set_time("2026-11-17T10:00:00+08:00");
    app.sweep().await;
    let s = signed(&app, "zjj1").await;
    let res = app
        .as_session(&s)
        .post(
            &format!("/api/v1/work-orders/{water}/reminders"),
            json!({"note": "请尽快受理。"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let w = signed(&app, "water1").await;
    let mut v = version(&app, &water).await;
    app.as_session(&w)
        .step(
            &water,
            &mut v,
            json!({"action": "return_for_correction", "reason": "门牌号不完整。"}),
        )
        .await;
    let pages: Vec<(&str, Vec<&str>)> = vec![
        (
            "water1",
            vec!["/workbench", "/applications", "/notifications", "/account"],
        ),
        (
            "zjj1",
            vec![
                "/supervision",
                "/workbench?status=returned",
                "/notifications",
            ],
        ),
        (
            "ent1",
            vec!["/applications", "/notifications", "/account/notifications"],
        ),
        ("hall1", vec!["/hall/claims"]),
        (
            "admin1",
            vec!["/admin/accounts", "/admin/apikeys", "/admin/calendar"],
        ),
        ("admin1", vec!["/admin/deliveries", "/admin/audit"]),
    ];
    for (login, paths) in pages {
        let who = signed(&app, login).await;
        for path in paths {
            let page = app.ok_page_as(&who, path).await;
            reads_for_people(&page, &[]);
        }
    }
    // The messages: the reason typed with its own full stop is not
    // doubled; the reminder names who sent it, not their login.
    let ent = signed(&app, "ent1").await;
    let inbox = app.ok_page_as(&ent, "/notifications").await;
    assert!(
        inbox.contains("原因：门牌号不完整。请按退回原因"),
        "{inbox}"
    );
    let w = signed(&app, "water1").await;
    let inbox = app.ok_page_as(&w, "/notifications").await;
    assert!(
        inbox.contains("随州市住房和城乡建设局 赵六：请尽快受理。"),
        "{inbox}"
    );
    let w = signed(&app, "water1").await;
    for path in [
        format!("/work-orders/{water}"),
        format!("/applications/{id}"),
    ] {
        let page = app.ok_page_as(&w, &path).await;
        reads_for_people(&page, &["water1", "zjj1"]);
    }
}
