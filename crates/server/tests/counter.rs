//! The one window (一窗受理) on SQLite and PostgreSQL with the clock set by
//! hand: a consultation's follow-up warns and falls overdue at its exact
//! instants (once each, with the unit and the supervisors told) and is
//! answered by the unit; queue tickets are numbered per hall and day with
//! their waiting and service times; a bad rating of a completed
//! application opens the unit's follow-up, whose answer the enterprise
//! reads; and nobody else's hall or unit is seen (`404`).

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use serde_json::{Value, json};

on_both_databases!(
    a_consultations_follow_up_warns_falls_overdue_and_is_answered,
    queue_tickets_are_numbered_per_hall_and_day_with_their_times,
    a_bad_rating_opens_a_follow_up_the_unit_answers,
    good_ratings_open_nothing_and_ratings_are_checked,
    other_halls_and_units_see_nothing,
    a_calendar_import_recounts_open_follow_ups,
    the_window_pages_work_and_keep_what_was_typed,
);

/// Tuesday 10:00: one working day (6.5 h) ends on Wednesday at 10:00, the
/// warning (75 %) comes on Tuesday at 17:22:30.
const TUESDAY: &str = "2026-12-01T10:00:00+08:00";

/// Who got a message of `kind`, by username (each once per line).
async fn told(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    let kind = kind.to_owned();
    app.read(move |c| {
        c.query(
            "SELECT a.username, n.title FROM notifications n
             JOIN accounts a ON a.id = n.account_id
             WHERE n.kind = $1 ORDER BY a.username, n.id",
            onestop_store::params![&kind],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?.to_owned(), r.text(1)?.to_owned())))
        .collect()
    })
    .await
}

fn usernames(lines: &[(String, String)]) -> Vec<&str> {
    lines.iter().map(|(u, _)| u.as_str()).collect()
}

/// The window's history of one record, by kind.
async fn history(app: &TestApp, kind: &str, id: &str) -> Vec<String> {
    let (kind, id) = (kind.to_owned(), id.to_owned());
    app.read(move |c| onestop_store::follow_ups::events(c, &kind, &id))
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn consultation(unit: Option<&str>) -> Value {
    let mut body = json!({
        "services": ["power", "water"],
        "topic": "新建厂房用水用电如何报装",
        "answer": "可在窗口一表申请水电气网暖，材料只需一份申请表。",
        "customer": {"name": "随州市示例商贸有限公司", "phone": "13800001111", "uscc": USCC}
    });
    if let Some(u) = unit {
        body["follow_up"] = json!({"unit": u});
    }
    body
}

async fn a_consultations_follow_up_warns_falls_overdue_and_is_answered(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let clerk = app.signed_in("clerk.zhou", &["clerk:zd-zwzx"]).await;
    app.account("water.op", &["operator:sz-water"]).await;
    app.account("water.op2", &["operator:sz-water"]).await;
    app.account("power.op", &["operator:sz-power"]).await;
    app.account("lead.sup", &["supervisor"]).await;

    let res = app
        .as_session(&clerk)
        .idempotency_key("k-1")
        .post("/api/v1/consultations", consultation(Some("sz-water")))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let k = res.json();
    let id = id_of(&k);
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/consultations/{id}").as_str())
    );
    assert_eq!(k["hall"], "zd-zwzx");
    assert_eq!(k["services"], json!(["water", "power"]));
    let f = &k["follow_up"];
    assert_eq!(f["unit"]["code"], "sz-water");
    assert_eq!(f["status"], "open");
    assert_eq!(f["level"], "normal");
    assert_eq!(f["warn_at"], "2026-12-01T17:22:30+08:00");
    assert_eq!(f["due_at"], "2026-12-02T10:00:00+08:00");
    let fid = id_of(f);
    // The same key and body answer the same; another body is a conflict.
    let again = app
        .as_session(&clerk)
        .idempotency_key("k-1")
        .post("/api/v1/consultations", consultation(Some("sz-water")))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.json()["id"], k["id"]);
    let other = app
        .as_session(&clerk)
        .idempotency_key("k-1")
        .post("/api/v1/consultations", consultation(None))
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.json()["error"]["code"], "idempotency_conflict");
    let n: i64 = app
        .read(|c| {
            c.query_opt("SELECT COUNT(*) FROM consultations", &[])?
                .unwrap()
                .int(0)
        })
        .await;
    assert_eq!(n, 1, "a repeat logs nothing more");
    // The unit's operators are told at once, nobody else.
    let arrived = told(&app, "follow_up_new").await;
    assert_eq!(usernames(&arrived), ["water.op", "water.op2"]);
    assert_eq!(arrived[0].1, "咨询待回复：随州市水务集团");

    // The warning: not a second early, exactly at 17:22:30, once.
    // (Sessions end after 30 idle minutes: sign in again after each jump.)
    app.set_time("2026-12-01T17:22:29+08:00");
    let mut water = app.login("water.op", PASSWORD).await;
    app.sweep().await;
    assert_eq!(
        app.get_as(&water, &format!("/api/v1/follow-ups/{fid}"))
            .await
            .json()["level"],
        "normal"
    );
    app.set_time("2026-12-01T17:22:30+08:00");
    app.sweep().await;
    app.sweep().await;
    let f = app
        .get_as(&water, &format!("/api/v1/follow-ups/{fid}"))
        .await
        .json();
    assert_eq!(f["level"], "warning");
    let warned = told(&app, "follow_up_level_warning").await;
    assert_eq!(usernames(&warned), ["water.op", "water.op2"]);
    assert_eq!(warned[0].1, "咨询回复预警：随州市水务集团");
    // Overdue exactly at the deadline, over the night: the unit and the
    // supervisors are told, once.
    app.set_time("2026-12-02T09:59:59+08:00");
    app.sweep().await;
    assert!(told(&app, "follow_up_level_overdue").await.is_empty());
    app.set_time("2026-12-02T10:00:00+08:00");
    app.sweep().await;
    app.set_time("2026-12-02T11:00:00+08:00");
    app.sweep().await;
    water = app.login("water.op", PASSWORD).await;
    let clerk = app.login("clerk.zhou", PASSWORD).await;
    let overdue = told(&app, "follow_up_level_overdue").await;
    assert_eq!(usernames(&overdue), ["lead.sup", "water.op", "water.op2"]);
    assert_eq!(
        history(&app, "follow_up", &fid).await,
        ["follow_up_opened", "level_warning", "level_overdue"]
    );
    // The inbox lists it, with the time it fell due.
    let inbox = app
        .get_as(&water, "/api/v1/follow-ups?status=open")
        .await
        .json();
    assert_eq!(item_ids(&inbox), std::slice::from_ref(&fid));
    let page = app.ok_page_as(&water, "/follow-ups").await;
    assert_has(&page, &["新建厂房用水用电如何报装", "已超期"]);

    // The unit answers at the version it read; a stale one is refused.
    let path = format!("/api/v1/follow-ups/{fid}/response");
    let stale = app
        .as_session(&water)
        .post(&path, json!({"response": "已电话联系客户", "version": 0}))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["error"]["code"], "stale_version");
    let blank = app
        .as_session(&water)
        .post(&path, json!({"response": " ", "version": f["version"]}))
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(&blank, &[("response", "required")]);
    let done = app
        .as_session(&water)
        .post(
            &path,
            json!({"response": "已电话联系客户，约定明日上门踏勘。", "version": f["version"]}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let done = done.json();
    assert_eq!(done["status"], "answered");
    assert_eq!(done["late"], true);
    assert_eq!(done["answered_at"], "2026-12-02T11:00:00+08:00");
    let twice = app
        .as_session(&water)
        .post(
            &path,
            json!({"response": "再答", "version": done["version"]}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.json()["error"]["code"], "invalid_transition");
    // The clerk who logged it is told, and reads the answer.
    let back = told(&app, "follow_up_answered").await;
    assert_eq!(usernames(&back), ["clerk.zhou"]);
    let read = app
        .get_as(&clerk, &format!("/api/v1/consultations/{id}"))
        .await
        .json();
    assert_eq!(
        read["follow_up"]["response"],
        "已电话联系客户，约定明日上门踏勘。"
    );
    // No further level change once answered.
    app.set_time("2026-12-09T10:00:00+08:00");
    assert!(app.sweep_moved().await.is_empty());
    assert_eq!(
        history(&app, "follow_up", &fid).await,
        [
            "follow_up_opened",
            "level_warning",
            "level_overdue",
            "follow_up_answered"
        ]
    );
}

async fn queue_tickets_are_numbered_per_hall_and_day_with_their_times(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T09:00:00+08:00").await;
    let one = app.signed_in("clerk.one", &["clerk:zd-zwzx"]).await;
    let two = app.signed_in("clerk.two", &["clerk:zd-jtdd"]).await;
    let take = |s: &Session, hall: &str, kind: &str| {
        let (s, path, kind) = (
            s.clone(),
            format!("/api/v1/halls/{hall}/tickets"),
            kind.to_owned(),
        );
        let app = &app;
        async move {
            let res = app
                .as_session(&s)
                .post(&path, json!({ "kind": kind }))
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
            res.json()
        }
    };
    let a = take(&one, "zd-zwzx", "consult").await;
    let b = take(&one, "zd-zwzx", "apply").await;
    let c = take(&one, "zd-zwzx", "pay").await;
    let d = take(&two, "zd-jtdd", "pay").await;
    let labels: Vec<&Value> = [&a, &b, &c, &d].iter().map(|t| &t["label"]).collect();
    assert_eq!(labels, ["C001", "A002", "B003", "B001"]);
    assert_eq!(a["status"], "waiting");
    assert_eq!(a["day"], "2026-12-01");

    let call = |s: &Session, body: Value| {
        let s = s.clone();
        let app = &app;
        async move {
            let res = app
                .as_session(&s)
                .post("/api/v1/halls/zd-zwzx/queue/call", body)
                .await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text());
            res.json()
        }
    };
    app.set_time("2026-12-01T09:10:00+08:00");
    let first = call(&one, json!({"counter": 3})).await;
    assert_eq!(first["called"]["label"], "C001");
    assert_eq!(first["called"]["counter"], 3);
    assert_eq!(first["called"]["waited_minutes"], 10);
    assert_eq!(first["served"], json!([]));
    // Counter 3 calls again five minutes later: C001 is served, the next
    // waiting ticket of the kind asked for is called.
    app.set_time("2026-12-01T09:15:00+08:00");
    let text = app
        .as_session(&one)
        .post("/api/v1/halls/zd-zwzx/queue/call", json!({"counter": "3"}))
        .await;
    assert_fields_include(&text, &[("counter", "invalid_format")]);
    let second = call(&one, json!({"counter": 3, "kind": "pay"})).await;
    assert_eq!(second["served"][0]["label"], "C001");
    assert_eq!(second["served"][0]["service_minutes"], 5);
    assert_eq!(second["called"]["label"], "B003");
    assert_eq!(second["called"]["waited_minutes"], 15);
    let bad = app
        .as_session(&one)
        .post(
            "/api/v1/halls/zd-zwzx/queue/call",
            json!({"counter": 100, "kind": "dance"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(
        &bad,
        &[("counter", "out_of_range"), ("kind", "unknown_value")],
    );
    app.set_time("2026-12-01T09:20:00+08:00");
    let q = app.get_as(&one, "/api/v1/halls/zd-zwzx/queue").await.json();
    assert_eq!(q["taken"], 3);
    assert_eq!(q["served"], 1);
    assert_eq!(q["waiting"][0]["label"], "A002");
    assert_eq!(q["waiting"][0]["waited_minutes"], 20);
    assert_eq!(q["serving"][0]["label"], "B003");
    assert_eq!(q["average_wait_minutes"], 12);
    assert_eq!(q["average_service_minutes"], 5);
    // A ticket not there is missed; an ended one cannot end again.
    let path = format!("/api/v1/tickets/{}/finish", id_of(&b));
    let missed = app
        .as_session(&one)
        .post(&path, json!({"outcome": "missed"}))
        .await;
    assert_eq!(missed.json()["status"], "missed");
    let again = app
        .as_session(&one)
        .post(&path, json!({"outcome": "served"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // Another hall's clerk sees nothing of this hall.
    for res in [
        app.get_as(&two, "/api/v1/halls/zd-zwzx/queue").await,
        app.as_session(&two)
            .post(&path, json!({"outcome": "missed"}))
            .await,
        app.as_session(&two)
            .post("/api/v1/halls/zd-zwzx/tickets", json!({"kind": "pay"}))
            .await,
    ] {
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    }
    // The next day starts at 1 again.
    app.set_time("2026-12-02T08:30:00+08:00");
    let one = app.login("clerk.one", PASSWORD).await;
    assert_eq!(take(&one, "zd-zwzx", "query").await["label"], "D001");
    let times = app
        .read(|c| onestop_store::queue::daily_times(c, "2026-12-01", "2026-12-02"))
        .await;
    let first_day = times
        .iter()
        .find(|t| t.day == "2026-12-01" && t.hall == "zd-zwzx")
        .unwrap();
    assert_eq!(
        (
            first_day.taken,
            first_day.called,
            first_day.served,
            first_day.missed
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(first_day.wait_seconds, 25 * 60);
    assert_eq!(first_day.service_seconds, 5 * 60);
}

/// Every order of the application finished (`done`), as after connection.
async fn complete(app: &TestApp, application: &str) {
    let id = application.to_owned();
    app.write(move |c| {
        c.execute(
            "UPDATE work_orders SET stage = 'closed', status = 'done', next_level_at = NULL
             WHERE application_id = $1",
            onestop_store::params![&id],
        )?;
        c.execute(
            "UPDATE applications SET status = 'completed' WHERE id = $1",
            onestop_store::params![&id],
        )
    })
    .await;
}

/// Water and power for the enterprise, through an integration key.
async fn filed(app: &TestApp) -> Value {
    app.submit_created(&a_la_carte(
        ["随州市示例商贸有限公司", USCC],
        ["421303", "交通大道100号"],
        ["张三", "13800001111"],
        "api",
        json!({
            "water": {"business_type": "new_account", "demand_tons_per_day": 50},
            "power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0}
        }),
    ))
    .await
}

async fn a_bad_rating_opens_a_follow_up_the_unit_answers(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let ent = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    app.account("water.op", &["operator:sz-water"]).await;
    let power = app.signed_in("power.op", &["operator:sz-power"]).await;
    let filed = filed(&app).await;
    let id = id_of(&filed);
    let rate = |level: &str, unit: Option<&str>| {
        let mut body = json!({
            "subject_kind": "application", "subject_id": id, "level": level,
            "comment": "接入时间比约定晚了两天。"
        });
        if let Some(u) = unit {
            body["unit"] = json!(u);
        }
        body
    };
    // Not before every order is done.
    let early = app
        .as_session(&ent)
        .post("/api/v1/ratings", rate("dissatisfied", Some("sz-water")))
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.json()["error"]["code"], "not_completed");
    complete(&app, &id).await;
    // A bad rating names the unit it concerns (two units here).
    let unnamed = app
        .as_session(&ent)
        .post("/api/v1/ratings", rate("dissatisfied", None))
        .await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(&unnamed, &[("unit", "required")]);
    let foreign = app
        .as_session(&ent)
        .post("/api/v1/ratings", rate("dissatisfied", Some("sz-gas")))
        .await;
    assert_fields_include(&foreign, &[("unit", "unknown_value")]);
    let res = app
        .as_session(&ent)
        .post("/api/v1/ratings", rate("dissatisfied", Some("sz-water")))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let r = res.json();
    assert_eq!(r["level"], "dissatisfied");
    assert_eq!(r["score"], 2);
    assert_eq!(r["unit"]["code"], "sz-water");
    let f = &r["follow_up"];
    assert_eq!(f["kind"], "rating");
    assert_eq!(f["application_id"], id.as_str());
    // Two working days from Tuesday 10:00: Thursday 10:00, warning at 75 %.
    assert_eq!(f["due_at"], "2026-12-03T10:00:00+08:00");
    assert_eq!(f["warn_at"], "2026-12-02T15:45:00+08:00");
    let fid = id_of(f);
    let arrived = told(&app, "follow_up_new").await;
    assert_eq!(usernames(&arrived), ["water.op"]);
    assert_eq!(arrived[0].1, "差评待整改：随州市水务集团");
    // Once per unit and rater.
    let twice = app
        .as_session(&ent)
        .post(
            "/api/v1/ratings",
            rate("very_dissatisfied", Some("sz-water")),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.json()["error"]["code"], "already_rated");
    // The application's history records it.
    let kinds: Vec<String> = app.events(&id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"rated".to_owned()), "{kinds:?}");

    // Another unit may read the application but not answer; the unit does.
    let path = format!("/api/v1/follow-ups/{fid}/response");
    let body = json!({"response": "已向企业致歉，并调整了接入排期流程。", "version": f["version"]});
    let res = app.as_session(&power).post(&path, &body).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    app.set_time("2026-12-02T09:00:00+08:00");
    let water = app.login("water.op", PASSWORD).await;
    let ent = app.login("ent.a", PASSWORD).await;
    let res = app.as_session(&water).post(&path, &body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["late"], false);
    let back = told(&app, "follow_up_answered").await;
    assert_eq!(back, [("ent.a".to_owned(), "您的评价已有回复".to_owned())]);
    // The enterprise reads the answer with its rating, on its page too.
    let read = app
        .get_as(&ent, &format!("/api/v1/ratings/{}", id_of(&r)))
        .await
        .json();
    assert_eq!(
        read["follow_up"]["response"],
        "已向企业致歉，并调整了接入排期流程。"
    );
    let page = app.ok_page_as(&ent, &format!("/applications/{id}")).await;
    assert_has(
        &page,
        &[
            "不满意",
            "接入时间比约定晚了两天",
            "已向企业致歉，并调整了接入排期流程",
        ],
    );
    let kinds: Vec<String> = app.events(&id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"rating_answered".to_owned()), "{kinds:?}");
    // The satisfaction figures count it for the unit.
    let by_unit = app
        .read(|c| onestop_store::ratings::satisfaction_by_unit(c, "2026-12-01", "2026-12-31"))
        .await;
    let w = by_unit.iter().find(|s| s.code == "sz-water").unwrap();
    assert_eq!((w.total(), w.bad(), w.rate()), (1, 1, Some(0.0)));
    // The board and its export: per unit, its ratings and its follow-ups
    // answered on time.
    let sup = app.signed_in("lead.sup", &["supervisor"]).await;
    let q = "from=2026-12-01&to=2026-12-02";
    let board = app.get_as(&sup, &format!("/api/v1/board?{q}")).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    let board = board.json();
    let water = board["window"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["code"] == "sz-water")
        .unwrap()
        .clone();
    assert_eq!(water["ratings"], 1);
    assert_eq!(water["bad"], 1);
    assert_eq!(water["satisfaction_rate"], 0.0);
    assert_eq!(water["follow_ups_answered"], 1);
    assert_eq!(water["follow_ups_late"], 0);
    assert_eq!(water["follow_ups_on_time_rate"], 1.0);
    assert_eq!(board["window"]["satisfaction"]["ratings"], 1);
    let page = app.ok_page_as(&sup, &format!("/board?{q}")).await;
    assert_has(&page, &["一窗受理与服务评价", "按时回复率", "0.0%"]);
    let export = app.get_as(&sup, &format!("/board/export.xlsx?{q}")).await;
    assert_eq!(export.status, StatusCode::OK);
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(export.body.to_vec())).expect("a workbook");
    let mut strings = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/sharedStrings.xml").unwrap(),
        &mut strings,
    )
    .unwrap();
    assert_has(
        &strings,
        &["一窗受理与好差评", "按时回复率", "随州市水务集团"],
    );
}

async fn good_ratings_open_nothing_and_ratings_are_checked(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let clerk = app.signed_in("clerk.zhou", &["clerk:zd-zwzx"]).await;
    let other = app.signed_in("clerk.wu", &["clerk:zd-jtdd"]).await;
    app.account("water.op", &["operator:sz-water"]).await;
    let k = app
        .as_session(&clerk)
        .post("/api/v1/consultations", consultation(None))
        .await
        .json();
    // A rating given at the window for the consultation: good, nothing opens.
    let good = app
        .as_session(&clerk)
        .post(
            "/api/v1/ratings",
            json!({"subject_kind": "consultation", "subject_id": k["id"], "level": "very_satisfied"}),
        )
        .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.text());
    assert_eq!(good.json()["follow_up"], Value::Null);
    assert_eq!(good.json()["channel"], "window");
    // A visit rated 非常不满意 at the window names the unit concerned.
    let visit = |s: &Session, hall: &str, unit: Option<&str>| {
        let mut body = json!({"subject_kind": "window_visit", "subject_id": hall,
                              "level": "very_dissatisfied", "comment": "排队太久"});
        if let Some(u) = unit {
            body["unit"] = json!(u);
        }
        let s = s.clone();
        let app = &app;
        async move { app.as_session(&s).post("/api/v1/ratings", body).await }
    };
    let res = visit(&clerk, "zd-zwzx", None).await;
    assert_fields_include(&res, &[("unit", "required")]);
    let res = visit(&clerk, "zd-zwzx", Some("sz-water")).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["follow_up"]["unit"]["code"], "sz-water");
    // Two visits are two ratings.
    let res = visit(&clerk, "zd-zwzx", Some("sz-water")).await;
    assert_eq!(res.status, StatusCode::CREATED);
    // Another hall's clerk can neither rate this hall nor its consultation.
    assert_eq!(
        visit(&other, "zd-zwzx", Some("sz-water")).await.status,
        StatusCode::NOT_FOUND
    );
    let res = app
        .as_session(&other)
        .post(
            "/api/v1/ratings",
            json!({"subject_kind": "consultation", "subject_id": k["id"], "level": "satisfied"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Every problem of a body at once.
    let res = app
        .as_session(&clerk)
        .post(
            "/api/v1/ratings",
            json!({"subject_kind": "shop", "level": 5, "comment": "好".repeat(501)}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(
        &res,
        &[
            ("subject_kind", "unknown_value"),
            ("subject_id", "required"),
            ("level", "invalid_format"),
            ("comment", "too_long"),
        ],
    );
    // Consultations are checked field by field, too.
    let res = app
        .as_session(&clerk)
        .post(
            "/api/v1/consultations",
            json!({"services": ["water", 3], "topic": "", "answer": "答",
                   "customer": {"phone": "123", "uscc": "91421300MA49ABCD18"},
                   "follow_up": {"unit": "sz-zrzy"}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(
        &res,
        &[
            ("services.1", "invalid_format"),
            ("topic", "required"),
            ("customer.phone", "invalid_format"),
            ("customer.uscc", "uscc_checksum"),
            ("follow_up.unit", "unknown_value"),
        ],
    );
    let by_hall = app
        .read(|c| onestop_store::ratings::satisfaction_by_hall(c, "2026-12-01", "2026-12-01"))
        .await;
    let h = by_hall.iter().find(|s| s.code == "zd-zwzx").unwrap();
    assert_eq!((h.total(), h.satisfied(), h.bad()), (3, 1, 2));
    assert_eq!(h.average(), Some((5.0 + 1.0 + 1.0) / 3.0));
}

async fn other_halls_and_units_see_nothing(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let clerk = app.signed_in("clerk.zhou", &["clerk:zd-zwzx"]).await;
    let other = app.signed_in("clerk.wu", &["clerk:zd-jtdd"]).await;
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let gas = app.signed_in("gas.op", &["operator:sz-gas"]).await;
    let sup = app.signed_in("lead.sup", &["supervisor"]).await;
    let k = app
        .as_session(&clerk)
        .post("/api/v1/consultations", consultation(Some("sz-water")))
        .await
        .json();
    let (kid, fid) = (id_of(&k), id_of(&k["follow_up"]));
    let consultation_path = format!("/api/v1/consultations/{kid}");
    let follow_up_path = format!("/api/v1/follow-ups/{fid}");
    for (who, s) in [("another hall", &other), ("another unit", &gas)] {
        for path in [&consultation_path, &follow_up_path] {
            let res = app.get_as(s, path).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{who} {path}");
        }
        let page = app.get_as(s, &format!("/follow-ups/{fid}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{who}");
        let list = app.get_as(s, "/api/v1/follow-ups").await.json();
        assert_eq!(list["items"], json!([]), "{who}");
    }
    // The unit it concerns, the hall and the supervisors see it.
    for s in [&water, &clerk, &sup] {
        assert_eq!(app.get_as(s, &follow_up_path).await.status, StatusCode::OK);
        assert_eq!(
            app.get_as(s, &consultation_path).await.status,
            StatusCode::OK
        );
    }
    // A supervisor may read but not answer; nor may the hall.
    for s in [&sup, &clerk] {
        let res = app
            .as_session(s)
            .post(
                &format!("{follow_up_path}/response"),
                json!({"response": "代答", "version": 1}),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    }
    // An operator has no window: the clerk's pages and calls are refused.
    assert_eq!(
        app.as_session(&water)
            .post("/api/v1/consultations", consultation(None))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_as(&water, "/counter").await.status,
        StatusCode::FORBIDDEN
    );
    // Another hall's list of today is its own.
    let list = app.get_as(&other, "/api/v1/consultations").await.json();
    assert_eq!(list["items"], json!([]));
    let res = app
        .get_as(&other, "/api/v1/consultations?hall=zd-zwzx")
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

async fn a_calendar_import_recounts_open_follow_ups(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let clerk = app.signed_in("clerk.zhou", &["clerk:zd-zwzx"]).await;
    let k = app
        .as_session(&clerk)
        .post("/api/v1/consultations", consultation(Some("sz-water")))
        .await
        .json();
    let fid = id_of(&k["follow_up"]);
    // Wednesday 2 December becomes a holiday: the deadline moves to Thursday.
    let overrides = "[[days]]\ndate = \"2026-12-02\"\nkind = \"holiday\"\nname = \"测试假日\"\n";
    onestop_server::app::calendar::import(&app.state, "system:test", overrides.to_owned())
        .await
        .expect("import");
    let f = app
        .read(move |c| onestop_store::follow_ups::get(c, &fid))
        .await
        .unwrap();
    assert_eq!(f.due_at_ms, ms("2026-12-03T10:00:00+08:00"));
    assert_eq!(f.warn_at_ms, ms("2026-12-01T17:22:30+08:00"));
    assert_eq!(
        history(&app, "follow_up", &f.id).await,
        ["follow_up_opened", "deadline_recomputed"]
    );
}

async fn the_window_pages_work_and_keep_what_was_typed(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let clerk = app.signed_in("clerk.zhou", &["clerk:zd-zwzx"]).await;
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app.ok_page_as(&clerk, "/counter").await;
    assert_has(
        &page,
        &[
            "一窗受理",
            "咨询登记",
            "排队叫号",
            "/apply",
            "/counter/billing",
        ],
    );
    // A refused consultation comes back with each field's problem and
    // what was typed.
    let refused = app
        .refused_form_as(
            &clerk,
            "/counter",
            &[
                ("form", "consultation"),
                ("services", "water"),
                ("topic", "问"),
                ("answer", "已答复"),
                ("customer.phone", "12345"),
                ("follow_up", "yes"),
                ("follow_up.unit", ""),
            ],
        )
        .await;
    assert_has(
        &refused,
        &[
            "咨询事项至少需要2个字",
            "联系电话应为11位手机号",
            "请选择负责回复的单位",
            "value=\"12345\"",
            "已答复",
        ],
    );
    let res = app
        .post_form_as(
            &clerk,
            "/counter",
            &[
                ("form", "consultation"),
                ("services", "water"),
                ("services", "gas"),
                ("topic", "燃气表更换需要多久"),
                ("answer", "已告知一般三个工作日。"),
                ("customer.phone", "13800001111"),
                ("follow_up", "yes"),
                ("follow_up.unit", "sz-water"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.ok_page_as(&clerk, "/counter?done=consultation").await;
    assert_has(
        &page,
        &[
            "燃气表更换需要多久",
            "138****1111",
            "剩余",
            "随州市水务集团",
        ],
    );
    assert!(!page.contains("13800001111"), "the list masks the phone");
    // The queue from the page: take, call, see who waits.
    let res = app
        .post_form_as(&clerk, "/counter", &[("form", "ticket"), ("kind", "pay")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app
        .post_form_as(&clerk, "/counter", &[("form", "ticket"), ("kind", "apply")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app
        .post_form_as(&clerk, "/counter", &[("form", "call"), ("counter", "2")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.ok_page_as(&clerk, "/counter").await;
    assert_has(&page, &["B001", "A002", "2号窗口"]);
    // The unit answers from its inbox page.
    let list = app.get_as(&water, "/api/v1/follow-ups").await.json();
    let f = &list["items"][0];
    let path = format!("/follow-ups/{}", id_of(f));
    let page = app.ok_page_as(&water, &path).await;
    assert_has(&page, &["燃气表更换需要多久", "13800001111", "剩余"]);
    let refused = app
        .refused_form_as(&water, &path, &[("response", ""), ("version", "1")])
        .await;
    assert_has(&refused, &["请填写回复内容"]);
    let res = app
        .post_form_as(
            &water,
            &path,
            &[("response", "已回电，三个工作日内完成。"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.ok_page_as(&clerk, "/counter").await;
    assert_has(&page, &["已回电，三个工作日内完成"]);
    // Every page of the window speaks to people: no raw instant, no login,
    // no code of a record.
    let fid = id_of(f);
    for (who, path) in [
        (&clerk, "/counter".to_owned()),
        (&water, "/follow-ups".to_owned()),
        (&water, format!("/follow-ups/{fid}")),
        (&water, "/workbench".to_owned()),
    ] {
        let page = app.ok_page_as(who, &path).await;
        reads_for_people(&page, &path);
    }
}

/// What a page shows in its main part, without tags, for a reader.
fn reads_for_people(html: &str, path: &str) {
    let main = html
        .split_once("<main")
        .and_then(|(_, m)| m.split_once('>'))
        .map_or(html, |(_, m)| m);
    let tags = regex::Regex::new(r"(?s)<script.*?</script>|<[^>]*>").unwrap();
    let text = tags.replace_all(main, "");
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}").unwrap();
    assert!(!iso.is_match(&text), "{path}: a raw instant: {text}");
    // (Test accounts are named 测试<login>: a name, not a login.)
    for raw in [
        "account:",
        "system:",
        "sz-water",
        "follow_up",
        "consultation",
        "。。",
    ] {
        assert!(!text.contains(raw), "{path} shows {raw:?}: {text}");
    }
}
