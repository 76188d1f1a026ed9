//! Early warning and overdue with the clock standing still and moved by
//! hand, on SQLite and PostgreSQL: the exact instants across a weekend with
//! a make-up working day, one history event per change however often (and
//! however concurrently) the sweeper runs, a stopped clock while waiting for
//! the applicant, and a new stage starting from normal again.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use serde_json::{Value, json};

on_both_databases!(
    warning_then_overdue_at_the_exact_instants,
    a_waiting_clock_does_not_move,
    the_right_people_are_told_once,
    a_supervisor_reminds_and_the_unit_acknowledges,
    approval_items_warn_their_department,
    a_calendar_import_moves_open_deadlines,
    a_deadline_past_the_last_notice_is_provisional_until_the_import,
);

async fn level_events(app: &TestApp, application: &str) -> Vec<(String, i64)> {
    app.events(application)
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("level_"))
        .map(|e| (e.kind, e.at_ms))
        .collect()
}

async fn warning_then_overdue_at_the_exact_instants(backend: Backend) {
    // Friday 16:30 before the make-up Sunday 2026-09-20.
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    let created = app.submit(&water_only(USCC)).await;
    let (app_id, oid) = (id_of(&created), first_order(&created));
    // Acceptance: 11,700 working seconds; 75 % of it is 8,775 s: one hour
    // on Friday, nothing on Saturday, then Sunday from 08:30 → 09:56:15.
    let due = &created["work_orders"][0]["due_at"];
    assert_eq!(due, "2026-09-20T10:45:00+08:00");
    app.set_time("2026-09-20T09:56:14+08:00");
    let moved = app.sweep_moved().await;
    assert!(moved.is_empty(), "{moved:?}");
    assert_eq!(app.work_order(&oid).await["level"], "normal");
    app.set_time("2026-09-20T09:56:15+08:00");
    let moved = app.sweep_moved().await;
    assert_eq!(moved.len(), 1);
    assert_eq!(app.work_order(&oid).await["level"], "warning");
    // Sweeping again, or two sweepers at once, changes nothing more.
    let (a, b) = tokio::join!(app.sweep_moved(), app.sweep_moved());
    assert!(a.is_empty() && b.is_empty());
    // A second before the deadline it is still a warning; at it, overdue.
    app.set_time("2026-09-20T10:44:59+08:00");
    assert!(app.sweep_moved().await.is_empty());
    app.set_time("2026-09-21T08:00:00+08:00");
    let (a, b) = tokio::join!(app.sweep_moved(), app.sweep_moved());
    assert_eq!(a.len() + b.len(), 1, "moved exactly once");
    assert_eq!(app.work_order(&oid).await["level"], "overdue");
    let warn = ms("2026-09-20T09:56:15+08:00");
    let due = ms("2026-09-20T10:45:00+08:00");
    assert_eq!(
        level_events(&app, &app_id).await,
        vec![
            ("level_warning".to_owned(), warn),
            ("level_overdue".to_owned(), due)
        ],
        "one event per change, at the instant it happened"
    );
    // The overdue order on the workbench's filter.
    let key = app.key("workorders:write:sz-water").await;
    let list = app
        .as_key(&key)
        .get("/api/v1/work-orders?level=overdue")
        .await
        .json();
    assert_eq!(list["items"][0]["id"], oid.as_str(), "{list}");
    // Accepting it starts the survey's clock: normal again, with its own instants.
    let accepted = app.as_key(&key).accept(&oid).await;
    assert_eq!(accepted["level"], "normal");
    assert_eq!(accepted["due_at"], "2026-09-21T17:30:00+08:00");
    assert_eq!(app.work_order(&oid).await["level"], "normal");
    app.set_time("2026-09-21T16:30:00+08:00");
    let moved = app.sweep_moved().await;
    assert_eq!(moved.len(), 1, "75 % of the survey's day has passed");
    assert_eq!(app.work_order(&oid).await["level"], "warning");
}

async fn a_waiting_clock_does_not_move(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    let created = app.submit(&water_only(USCC)).await;
    let oid = first_order(&created);
    let key = app.key("workorders:write:sz-water").await;
    app.as_key(&key)
        .act_ok(
            &oid,
            json!({"action": "return_for_correction", "version": 1, "reason": "缺少用水量说明"}),
        )
        .await;
    // Long past the deadline, the order waiting for the applicant stays as it was.
    app.set_time("2026-09-25T08:00:00+08:00");
    assert!(app.sweep_moved().await.is_empty());
    assert_eq!(app.work_order(&oid).await["level"], "normal");
}

/// The account's messages, signed in now (the clock moves days between).
async fn inbox(app: &TestApp, who: &str) -> Value {
    let s = app.login(who, PASSWORD).await;
    let res = app.get_as(&s, "/api/v1/notifications").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

fn kinds(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The handler on warning; the handler and the supervisors on overdue; the
/// applicant on its order's progress — each once, however often the
/// sweeper runs; nobody else.
async fn the_right_people_are_told_once(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    app.account("water.op", &["operator:sz-water"]).await;
    app.account("gas.op", &["operator:sz-gas"]).await;
    app.account("sup", &["supervisor:sz-zjj"]).await;
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    let (water, gas, sup, ent) = ("water.op", "gas.op", "sup", "ent.a");
    let created = app.submit(&water_only(USCC)).await;
    let oid = first_order(&created);
    // The unit hears of the new order at once.
    assert_eq!(kinds(&inbox(&app, water).await), vec!["order_new"]);
    app.set_time("2026-09-20T09:56:15+08:00");
    app.sweep().await;
    app.sweep().await;
    assert_eq!(
        kinds(&inbox(&app, water).await),
        vec!["level_warning", "order_new"]
    );
    assert!(kinds(&inbox(&app, sup).await).is_empty());
    app.set_time("2026-09-21T08:00:00+08:00");
    tokio::join!(app.sweep_moved(), app.sweep_moved());
    let told = inbox(&app, water).await;
    assert_eq!(
        kinds(&told),
        vec!["level_overdue", "level_warning", "order_new"]
    );
    assert_eq!(told["unread"], 3);
    assert!(
        told["items"][0]["title"]
            .as_str()
            .unwrap()
            .contains("工单超期")
    );
    assert_eq!(told["items"][0]["link"], format!("/work-orders/{oid}"));
    assert_eq!(kinds(&inbox(&app, sup).await), vec!["level_overdue"]);
    assert!(kinds(&inbox(&app, gas).await).is_empty(), "another unit");
    assert!(kinds(&inbox(&app, ent).await).is_empty());
    // The enterprise hears of its order's acceptance.
    let key = app.key("workorders:write:sz-water").await;
    app.as_key(&key).accept(&oid).await;
    let heard = inbox(&app, ent).await;
    assert_eq!(kinds(&heard), vec!["order_progress"]);
    assert!(
        heard["items"][0]["body"].as_str().unwrap().contains("受理"),
        "{heard}"
    );
    // The bell on the pages, and reading.
    let session = app.login(water, PASSWORD).await;
    let page = app.page_as(&session, "/notifications").await;
    assert!(page.contains("bell-count\">3<"), "{page}");
    let res = app.post_form_as(&session, "/notifications/read", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(inbox(&app, water).await["unread"], 0);
    // API keys have no inbox.
    assert_eq!(
        app.get("/api/v1/notifications").await.status,
        StatusCode::FORBIDDEN
    );
}

/// An overdue order on the supervisor's list; a reminder (督办) from the
/// order page reaches the handling unit, which acknowledges it; all of it
/// in the history and the messages.
async fn a_supervisor_reminds_and_the_unit_acknowledges(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    app.account("water.op", &["operator:sz-water"]).await;
    app.account("sup", &["supervisor:sz-zjj"]).await;
    let created = app.submit(&water_only(USCC)).await;
    let (app_id, oid) = (id_of(&created), first_order(&created));
    app.set_time("2026-09-21T08:00:00+08:00");
    app.sweep().await;
    let sup = app.login("sup", PASSWORD).await;
    let list = app.get_as(&sup, "/supervision").await;
    assert_eq!(list.status, StatusCode::OK);
    let html = list.text();
    assert!(html.contains(&format!("/work-orders/{oid}")), "{html}");
    let path = format!("/work-orders/{oid}/reminders");
    let res = app.post_form_as(&sup, &path, &[("note", " ")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("id=\"e-remind-note\""));
    let res = app
        .post_form_as(&sup, &path, &[("note", "请今日内完成受理")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let told = inbox(&app, "water.op").await;
    assert_eq!(kinds(&told)[0], "reminder");
    assert!(
        told["items"][0]["body"]
            .as_str()
            .unwrap()
            .contains("请今日内完成受理")
    );
    // Operators do not send reminders; another unit cannot acknowledge.
    let water_key = app.key("workorders:write:sz-water").await;
    let gas_key = app.key("workorders:write:sz-gas").await;
    let water = app.as_key(&water_key);
    let reminders = format!("/api/v1/work-orders/{oid}/reminders");
    let res = water.post(&reminders, json!({"note": "x"})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let listed = water.get(&reminders).await.json();
    let rid = listed[0]["id"].as_i64().unwrap();
    assert!(listed[0]["acknowledged_at"].is_null());
    let ack = format!("/api/v1/reminders/{rid}/acknowledgement");
    assert_eq!(
        app.as_key(&gas_key).post(&ack, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    let res = water.post(&ack, json!({"reply": "已安排今日受理"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.json()["acknowledged_at"].is_string());
    let again = water.post(&ack, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(kinds(&inbox(&app, "sup").await)[0], "reminder_acknowledged");
    let events: Vec<String> = app
        .events(&app_id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("reminder"))
        .collect();
    assert_eq!(events, vec!["reminder_sent", "reminder_acknowledged"]);
    // The order page shows it to both.
    let op = app.login("water.op", PASSWORD).await;
    let page = app.page_as(&op, &format!("/work-orders/{oid}")).await;
    assert!(page.contains("已安排今日受理"), "{page}");
}

/// A pending approval item warns its department at 75 % of the two working
/// days and goes overdue at the deadline; a decided one stops.
async fn approval_items_warn_their_department(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-21T08:00:00+08:00").await;
    app.account("zrzy.a", &["approver:sz-zrzy"]).await;
    app.account("jj.a", &["approver:sz-jj"]).await;
    let created = app.submit(&five_services()).await;
    let id = id_of(&created);
    let (heat, _) = order_of(&created, "sz-heat");
    let key = app.key("workorders:write:sz-heat").await;
    let utility = app.as_key(&key);
    let accept = json!({"action": "accept", "version": 1});
    utility.act_ok(&heat, accept).await;
    let survey = json!({"action": "record_survey", "version": 2, "external_works_m": 800, "route": "沿交通大道"});
    utility.act_ok(&heat, survey).await;
    app.set_time("2026-09-21T09:00:00+08:00");
    let body = json!({"works": [heat], "place": "交通大道", "from": "2026-09-25", "to": "2026-09-25",
                      "not_applicable": ["sz-cgzf", "sz-jtj", "sz-zsj", "sz-jxj"]});
    let res = utility.raise_case(&id, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case = res.json();
    assert_eq!(case["items"][0]["due_at"], "2026-09-23T09:00:00+08:00");
    // Items from before levels existed (no warning instant) get the same
    // instants from the start of their round at start-up.
    let stored = |app: &TestApp| {
        let store = app.state.store.clone();
        async move {
            store
                .read(|c| {
                    c.query(
                        "SELECT id, due_at, warn_at, next_level_at, level FROM approval_items
                         ORDER BY id",
                        &[],
                    )
                    .map(|rows| {
                        rows.iter()
                            .map(|r| {
                                (
                                    r.text(0).unwrap().to_owned(),
                                    r.int(1).unwrap(),
                                    r.opt_int(2).unwrap(),
                                    r.opt_int(3).unwrap(),
                                    r.text(4).unwrap().to_owned(),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .await
                .unwrap()
        }
    };
    let before = stored(&app).await;
    app.write(|c| {
        c.execute(
            "UPDATE approval_items SET warn_at = NULL, next_level_at = NULL
                 WHERE status = 'pending'",
            &[],
        )
    })
    .await;
    let backfilled = onestop_server::jobs::sweeper::backfill(&app.state).await;
    assert!(backfilled.unwrap() > 0);
    assert_eq!(stored(&app).await, before);
    // The traffic police decide before the warning; natural resources do not.
    let jj = app.login("jj.a", PASSWORD).await;
    let j = item(&case, "sz-jj");
    let res = app.decide_as(&jj, &j, "approve", "同意", 1).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Each department heard of its item when the case was raised.
    app.set_time("2026-09-22T14:44:59+08:00");
    app.sweep().await;
    assert_eq!(
        kinds(&inbox(&app, "zrzy.a").await),
        vec!["approval_item_new"]
    );
    app.set_time("2026-09-22T14:45:00+08:00");
    app.sweep().await;
    assert_eq!(
        kinds(&inbox(&app, "zrzy.a").await),
        vec!["approval_level_warning", "approval_item_new"]
    );
    app.set_time("2026-09-23T09:00:00+08:00");
    app.sweep().await;
    app.sweep().await;
    assert_eq!(
        kinds(&inbox(&app, "zrzy.a").await),
        vec![
            "approval_level_overdue",
            "approval_level_warning",
            "approval_item_new"
        ]
    );
    assert_eq!(
        kinds(&inbox(&app, "jj.a").await),
        vec!["approval_item_new"],
        "decided in time: no level"
    );
    let case_path = format!("/api/v1/approval-cases/{}", id_of(&case));
    let zrzy = app.login("zrzy.a", PASSWORD).await;
    let seen = app.get_as(&zrzy, &case_path).await.json();
    assert_eq!(item(&seen, "sz-zrzy")["level"], "overdue");
    assert_eq!(item(&seen, "sz-jj")["level"], "normal");
    assert_eq!(
        seen["level"], "overdue",
        "the case is as late as its latest pending item"
    );
    let zrzy = app.login("zrzy.a", PASSWORD).await;
    let page = app
        .page_as(&zrzy, &format!("/approval-cases/{}", id_of(&case)))
        .await;
    assert!(page.contains("id=\"case-level\">超期<"), "{page}");
    // A calendar import that makes Tuesday a holiday moves the pending
    // item's deadline (and the case's) a working day on, with a history event.
    let done = onestop_server::app::calendar::import(
        &app.state,
        "account:admin",
        "[[days]]\ndate = \"2026-09-22\"\nkind = \"holiday\"\nname = \"临时调整\"\n".into(),
    )
    .await
    .unwrap();
    assert!(done.id > 0);
    let zrzy = app.login("zrzy.a", PASSWORD).await;
    let moved = app.get_as(&zrzy, &case_path).await.json();
    assert_eq!(
        item(&moved, "sz-zrzy")["due_at"],
        "2026-09-24T09:00:00+08:00"
    );
    assert_eq!(moved["due_at"], "2026-09-24T09:00:00+08:00");
    assert_eq!(
        item(&moved, "sz-jj")["due_at"],
        item(&seen, "sz-jj")["due_at"],
        "decided: unchanged"
    );
    let events = app.events(moved["application_id"].as_str().unwrap()).await;
    let recomputed = events
        .iter()
        .filter(|e| e.kind == "approval_deadline_recomputed");
    assert_eq!(recomputed.count(), 1);
}

/// An administrator corrects the calendar (the make-up Sunday is a day off
/// after all): the open order's deadline and warning move to Monday with a
/// history event, the sweeper follows the new instants, and orders made
/// afterwards use the new calendar. A wrong file is refused, every problem
/// named, and changes nothing.
async fn a_calendar_import_moves_open_deadlines(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    app.account("admin", &["admin"]).await;
    app.account("water.op", &["operator:sz-water"]).await;
    let created = app.submit(&water_only(USCC)).await;
    let app_id = id_of(&created);
    let oid = first_order(&created);
    assert_eq!(
        app.work_order(&oid).await["due_at"],
        "2026-09-20T10:45:00+08:00"
    );
    let op = app.login("water.op", PASSWORD).await;
    assert_eq!(
        app.get_as(&op, "/admin/calendar").await.status,
        StatusCode::FORBIDDEN
    );
    let admin = app.login("admin", PASSWORD).await;
    let page = app.get_as(&admin, "/admin/calendar").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("2026"), "{}", page.text());
    // Two mistakes, both named; nothing changes.
    let bad = app
        .post_form_as(
            &admin,
            "/admin/calendar",
            &[(
                "overrides",
                "[[days]]\ndate = \"2026-09-21\"\nkind = \"makeup_workday\"\n[[days]]\ndate = \"2026-13-01\"\nkind = \"holiday\"\nname = \"x\"\n",
            )],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    assert!(
        html.contains("调休上班日（makeup_workday）只能是星期六或星期日"),
        "{html}"
    );
    assert!(html.contains("2026-13-01"), "{html}");
    assert_eq!(
        app.work_order(&oid).await["due_at"],
        "2026-09-20T10:45:00+08:00"
    );
    let ok = app
        .post_form_as(
            &admin,
            "/admin/calendar",
            &[(
                "overrides",
                "[[days]]\ndate = \"2026-09-20\"\nkind = \"weekend\"\n",
            )],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(ok.header("location"), Some("/admin/calendar?moved=1"));
    let o = app.work_order(&oid).await;
    assert_eq!(o["due_at"], "2026-09-21T10:45:00+08:00");
    assert_eq!(o["level"], "normal");
    let events = app.events(&app_id).await;
    let moved: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "deadline_recomputed")
        .collect();
    assert_eq!(moved.len(), 1);
    // Sunday is no longer a working day: the warning comes on Monday.
    app.set_time("2026-09-20T12:00:00+08:00");
    assert!(app.sweep_moved().await.is_empty());
    app.set_time("2026-09-21T09:56:14+08:00");
    assert!(app.sweep_moved().await.is_empty());
    app.set_time("2026-09-21T09:56:15+08:00");
    assert_eq!(app.sweep_moved().await.len(), 1);
    assert_eq!(
        level_events(&app, &app_id).await,
        vec![("level_warning".to_owned(), ms("2026-09-21T09:56:15+08:00"))]
    );
    // New orders use the new calendar; the stored import is the one in use.
    app.set_time("2026-09-18T16:30:00+08:00");
    let later = app.submit(&water_only(OTHER_USCC)).await;
    assert_eq!(
        later["work_orders"][0]["due_at"],
        "2026-09-21T10:45:00+08:00"
    );
    assert!(
        !onestop_server::app::calendar::reload_if_changed(&app.state)
            .await
            .unwrap()
    );
    let page = app.page_as(&admin, "/admin/calendar?moved=1").await;
    assert!(
        page.contains("1 个在办工单的办理时限已按新日历重新计算"),
        "{page}"
    );
}

/// From 2026-12-26 no official notice covers the days (the built-in data
/// ends on 2026-12-25). A submission on a hand-set Monday 2026-12-28 still
/// gets its deadline, counted on the statutory rules and marked provisional
/// in the API and on the pages, and so do the departments' deadlines when
/// the order goes on to parallel approval; administrators are asked for the
/// notice. Importing the 2027 notice (which here makes that Monday a
/// holiday) recounts every open deadline on the official days and clears
/// the marks and the request.
async fn a_deadline_past_the_last_notice_is_provisional_until_the_import(backend: Backend) {
    use onestop_domain::calendar::{Calendar, Clock};
    let app = TestApp::at_time(backend, "2026-12-28T10:00:00+08:00").await;
    // The built-in official data only, without the tests' 2027 fixture.
    let hours = app.state.clock.get().hours().clone();
    app.state.clock.set(
        std::sync::Arc::new(Clock::new(Calendar::builtin().with_provisional(), hours)),
        0,
    );
    app.account("admin", &["admin"]).await;
    let created = app.submit_created(&water_only(USCC)).await;
    let oid = first_order(&created);
    // Half a working day from 10:00: 12:00, then 14:30 + 1 h 15 min.
    assert_eq!(
        created["work_orders"][0]["due_at"],
        "2026-12-28T15:45:00+08:00"
    );
    assert_eq!(created["work_orders"][0]["provisional"], true);
    assert_eq!(app.work_order(&oid).await["provisional"], true);
    let day = app.get("/api/v1/calendar/days/2026-12-28").await.json();
    assert_eq!(
        day,
        json!({"date": "2026-12-28", "working": true, "kind": "workday", "provisional": true})
    );
    let admin = app.login("admin", PASSWORD).await;
    let mark = "暂按法定节假日推算";
    let page = app.page_as(&admin, &format!("/work-orders/{oid}")).await;
    assert!(
        page.contains(&format!("2026年12月28日 15:45（{mark}")),
        "{page}"
    );
    // Administrators are asked for the notice on every page until it is in;
    // nobody else is.
    let banner = "2027年国家法定节假日安排尚未导入";
    assert!(page.contains(banner), "{page}");
    app.account("enterprise", &["applicant:91421300MA49ABCD17"])
        .await;
    let enterprise = app.login("enterprise", PASSWORD).await;
    assert!(
        !app.page_as(&enterprise, "/applications")
            .await
            .contains(banner)
    );
    let calendar = app.page_as(&admin, "/admin/calendar").await;
    assert!(
        calendar.contains("2026年12月26日至2028年12月31日尚无国家放假安排，暂按法定节假日推算"),
        "{calendar}"
    );
    assert!(calendar.contains("<td>内置数据</td>"), "{calendar}");
    assert!(!calendar.contains("Builtin"), "{calendar}");

    // The order goes on to parallel approval: the departments' deadlines
    // are provisional too.
    let key = app.key("workorders:write:sz-water").await;
    let utility = app.as_key(&key);
    utility
        .act_ok(&oid, json!({"action": "accept", "version": 1}))
        .await;
    let survey = json!({"action": "record_survey", "version": 2, "external_works_m": 800, "route": "沿交通大道"});
    utility.act_ok(&oid, survey).await;
    let body = json!({"works": [oid], "place": "交通大道", "from": "2027-01-11", "to": "2027-01-12",
                      "not_applicable": ["sz-cgzf", "sz-jtj", "sz-zsj", "sz-jxj"]});
    let res = utility.raise_case(&id_of(&created), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case = res.json();
    let case_path = format!("/api/v1/approval-cases/{}", id_of(&case));
    let pending = |case: &Value| -> Vec<Value> {
        case["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["status"] == "pending")
            .cloned()
            .collect()
    };
    assert!(!pending(&case).is_empty(), "{case}");
    for i in pending(&case) {
        assert_eq!(i["provisional"], true, "{i}");
    }
    let before = app.work_order(&oid).await;
    assert_eq!(before["provisional"], true, "{before}");

    onestop_server::app::calendar::import(
        &app.state,
        "account:admin",
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2026-12-28\"\nkind = \"holiday\"\nname = \"元旦\"\n"
            .into(),
    )
    .await
    .unwrap();
    // The stage started on what is now a holiday: its working time runs
    // from Tuesday's opening, so the deadline moves later.
    let after = app.work_order(&oid).await;
    assert!(after.get("provisional").is_none(), "{after}");
    let due = |o: &Value| onestop_domain::timefmt::parse(o["due_at"].as_str().unwrap()).unwrap();
    assert!(due(&after) > due(&before), "{before} → {after}");
    let case = app.as_key(&key).get(&case_path).await.json();
    for i in pending(&case) {
        assert!(i.get("provisional").is_none(), "{i}");
    }
    let page = app.page_as(&admin, &format!("/work-orders/{oid}")).await;
    assert!(!page.contains(mark), "{page}");
    assert!(!page.contains(banner), "{page}");
    let calendar = app.page_as(&admin, "/admin/calendar").await;
    assert!(
        calendar.contains("2028年01月01日至2029年12月31日尚无国家放假安排"),
        "{calendar}"
    );
}
