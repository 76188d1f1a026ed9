//! The clock fits the works, and what is recorded fits the time, through
//! the API and the pages, on SQLite and PostgreSQL, with a hand-set clock:
//! construction after approval runs from the approved works' start (or is
//! marked when it cannot), connection honours the appointment the
//! enterprise may move, a survey is not recorded before its appointment, a
//! connection time lies between the stage's start and now, number fields
//! refuse text, and the commitment sentence may end with a full stop.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    construction_after_approval_follows_the_approved_works,
    an_approval_that_cannot_follow_the_works_is_marked,
    connection_honours_the_appointment_and_the_enterprise_may_move_it,
    the_appointment_is_moved_from_the_application_page,
    a_survey_is_not_recorded_before_its_appointment,
    number_fields_refuse_text,
    the_commitment_sentence_may_end_with_a_full_stop,
);

/// Tuesday morning; the weeks after it have no holiday.
const T0: &str = "2026-12-01T10:00:00+08:00";

/// Every approval department but the natural resources one.
const NOT_APPLICABLE: [&str; 5] = ["sz-cgzf", "sz-jtj", "sz-jj", "sz-zsj", "sz-jxj"];

/// A water-only application filed at `T0`, its water order accepted and
/// surveyed with `works_m` metres of external works: the application, the
/// order, its version and the water company's key.
async fn surveyed(app: &TestApp, works_m: i64) -> (Value, String, i64, String) {
    let created = app.submit_created(&water_only(USCC)).await;
    let key = app.key("workorders:write:sz-water").await;
    let (order, mut v) = order_of(&created, "sz-water");
    let water = app.as_key(&key);
    water
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let survey =
        json!({"action": "record_survey", "external_works_m": works_m, "route": "沿交通大道北侧"});
    water.step(&order, &mut v, survey).await;
    (created, order, v, key)
}

/// Raises the case for `order` with the works' period `from`..`to` (only
/// the natural resources department concerned) and has it approved at
/// `approved_at`; the order as it then stands.
async fn approved(
    app: &TestApp,
    key: &str,
    application: &str,
    order: &str,
    (from, to): (&str, &str),
    approved_at: &str,
) -> Value {
    let case = json!({"works": [order], "place": "交通大道（擂鼓墩大道至烈山大道段）",
                      "from": from, "to": to, "not_applicable": NOT_APPLICABLE});
    let res = app.as_key(key).raise_case(application, case).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    app.set_time(approved_at);
    let zrzy = app.signed_in("zrzy.approver", &["approver:sz-zrzy"]).await;
    let res = app
        .decide_as(
            &zrzy,
            &item(&res.json(), "sz-zrzy"),
            "approve",
            "同意",
            json!(1),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["status"], "approved");
    app.work_order(order).await
}

async fn construction_after_approval_follows_the_approved_works(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let (created, order, _, key) = surveyed(&app, 800).await;
    let id = id_of(&created);
    // Approved on Tuesday at 15:00 for works from Monday 12-07 to
    // Wednesday 12-09: not due on Wednesday 12-02 (a working day from the
    // approval), nor on Monday at 17:30 (a working day from the works'
    // start), but when the approved works' last day closes.
    let works = ("2026-12-07", "2026-12-09");
    let o = approved(&app, &key, &id, &order, works, "2026-12-01T15:00:00+08:00").await;
    assert_eq!(o["stage"], "construction");
    assert_eq!(o["due_at"], "2026-12-09T17:30:00+08:00");
    assert_eq!(o["level"], "normal");
    assert!(o.get("works_start_unknown").is_none(), "{o}");
    // It warns at 75 % of the three working days, on Wednesday at 10:07:30.
    app.set_time("2026-12-09T10:07:29+08:00");
    assert!(app.sweep_moved().await.is_empty());
    app.set_time("2026-12-09T10:07:30+08:00");
    let moved = app.sweep_moved().await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(app.work_order(&order).await["level"], "warning");

    // Construction completed at 16:20:40: the connection time may not be
    // before that minute, nor after now.
    app.set_time("2026-12-09T16:20:40+08:00");
    let mut v = app.work_order(&order).await["version"].as_i64().unwrap();
    let water = app.as_key(&key);
    let built = water
        .step(&order, &mut v, json!({"action": "complete_construction"}))
        .await;
    assert_eq!(built["stage"], "connection");
    assert_eq!(built["due_at"], "2026-12-10T16:20:40+08:00");
    let connect = |at: &str| json!({"action": "connect", "version": v, "connected_at": at});
    for (at, code) in [
        ("2026-12-09T16:19:59+08:00", "too_early"),
        ("2026-12-01T10:00:00+08:00", "too_early"),
        ("2026-12-09T16:21:00+08:00", "in_future"),
        ("2026-12-10T09:00:00+08:00", "in_future"),
    ] {
        let res = water.act(&order, connect(at)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{at}");
        assert_eq!(res.field_codes(), fields(&[("connected_at", code)]), "{at}");
    }
    let res = water
        .act(&order, connect("2026-12-09T16:00:00+08:00"))
        .await;
    let message = res.json()["error"]["fields"][0]["message"].clone();
    assert_eq!(
        message,
        "接入时间不能早于本工单进入接入环节的时间（2026年12月09日 16:20，外线施工完成或确认无需外线工程之时）"
    );
    // Refused, nothing written.
    assert_eq!(app.work_order(&order).await["version"], v);
    let done = water
        .act_ok(&order, connect("2026-12-09T16:20:00+08:00"))
        .await;
    assert_eq!(done["status"], "done");
}

async fn an_approval_that_cannot_follow_the_works_is_marked(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let (created, order, _, key) = surveyed(&app, 800).await;
    let id = id_of(&created);
    // Works planned in a year no calendar covers yet: the budget runs
    // from the approval, and the order says so.
    let works = ("2031-03-03", "2031-03-05");
    let o = approved(&app, &key, &id, &order, works, "2026-12-01T15:00:00+08:00").await;
    assert_eq!(o["stage"], "construction");
    assert_eq!(o["works_start_unknown"], true, "{o}");
    assert_eq!(o["due_at"], "2026-12-02T15:00:00+08:00");
    let listed = app
        .as_key(&key)
        .get("/api/v1/work-orders?stage=construction")
        .await
        .json();
    assert_eq!(listed["items"][0]["works_start_unknown"], true, "{listed}");
    let on_application = app.application(&id).await;
    assert_eq!(
        on_application["work_orders"][0]["works_start_unknown"],
        true
    );
    // The staff see it beside the deadline.
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app.ok_page_as(&op, &format!("/work-orders/{order}")).await;
    assert_has(&page, &["（施工开始日期无法确定，自审批通过起计时）"]);
    // Once construction is over, the mark goes with its clock.
    let mut v = o["version"].as_i64().unwrap();
    let built = app
        .as_key(&key)
        .step(&order, &mut v, json!({"action": "complete_construction"}))
        .await;
    assert!(built.get("works_start_unknown").is_none(), "{built}");
    let page = app.ok_page_as(&op, &format!("/work-orders/{order}")).await;
    assert!(!page.contains("施工开始日期无法确定"));
}

/// `POST /api/v1/applications/{id}/appointment` with the test client's key.
async fn move_to(app: &TestApp, id: &str, at: &str) -> Answer {
    app.post_json(
        &format!("/api/v1/applications/{id}/appointment"),
        &json!({"appointment_at": at}),
        None,
    )
    .await
}

async fn connection_honours_the_appointment_and_the_enterprise_may_move_it(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let mut body = water_only(USCC);
    body["appointment_at"] = json!("2026-12-10T09:00:00+08:00");
    body["services"]["power"] =
        json!({"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0});
    let created = app.submit_created(&body).await;
    let id = id_of(&created);
    let key = app.key("workorders:write:sz-water").await;
    let water = app.as_key(&key);
    let (order, mut v) = order_of(&created, "sz-water");
    water
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let no_works = json!({"action": "record_survey", "external_works_m": 0});
    let o = water.step(&order, &mut v, no_works).await;
    // One working day would end on Wednesday at 10:00; the enterprise asked
    // for Thursday of the next week at 09:00.
    assert_eq!(o["stage"], "connection");
    assert_eq!(o["due_at"], "2026-12-10T09:00:00+08:00");

    // A calendar import recounts the clock and keeps the appointment.
    let holiday = format!(
        "{}[[days]]\ndate = \"2026-12-04\"\nkind = \"holiday\"\nname = \"测试假日\"\n",
        onestop_store::testing::TEST_OVERRIDES
    );
    onestop_server::app::calendar::import(&app.state, "test", holiday)
        .await
        .expect("import");
    assert_eq!(
        app.work_order(&order).await["due_at"],
        "2026-12-10T09:00:00+08:00"
    );

    // Refused moves name the field.
    for (at, code) in [
        (json!("2026-12-01T09:00:00+08:00"), "not_in_future"),
        (json!("2026-12-05T10:00:00+08:00"), "out_of_range"),
        (json!("2026-12-04T10:00:00+08:00"), "out_of_range"),
        (json!("2026-12-03T12:30:00+08:00"), "out_of_range"),
        (json!("2026-12-03T18:00:00+08:00"), "out_of_range"),
        (json!("2029-12-03T10:00:00+08:00"), "out_of_range"),
        (json!("下周四上午"), "invalid_format"),
        (json!(20261210), "invalid_format"),
        (Value::Null, "required"),
    ] {
        let res = app
            .post_json(
                &format!("/api/v1/applications/{id}/appointment"),
                &json!({"appointment_at": at}),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{at}");
        assert_eq!(
            res.field_codes(),
            fields(&[("appointment_at", code)]),
            "{at}"
        );
    }
    let saturday = move_to(&app, &id, "2026-12-05T10:00:00+08:00").await;
    assert_eq!(
        saturday.json()["error"]["fields"][0]["message"],
        "2026年12月5日是周末，请选择工作日的工作时间（08:30–12:00、14:30–17:30）"
    );
    // A utility may not move it; another enterprise does not see it.
    let res = water
        .post(
            &format!("/api/v1/applications/{id}/appointment"),
            json!({"appointment_at": "2026-12-03T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let other = app
        .signed_in("other.ent", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    let res = app
        .as_session(&other)
        .post(
            &format!("/api/v1/applications/{id}/appointment"),
            json!({"appointment_at": "2026-12-03T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Moved earlier, to Thursday 12-03 at 10:00: the order in connection
    // is due then, at a new version; the power order waits in acceptance.
    let res = move_to(&app, &id, "2026-12-03T02:00:00Z").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let moved = res.json();
    assert_eq!(moved["appointment_at"], "2026-12-03T10:00:00+08:00");
    let (_, water_v) = order_of(&moved, "sz-water");
    assert_eq!(water_v, v + 1);
    let o = app.work_order(&order).await;
    assert_eq!(o["due_at"], "2026-12-03T10:00:00+08:00");
    let (power, power_v) = order_of(&moved, "sz-power");
    assert_eq!(power_v, 1);
    // Moved to this afternoon, earlier than the stage's limit: the limit.
    let res = move_to(&app, &id, "2026-12-01T15:00:00+08:00").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        app.work_order(&order).await["due_at"],
        "2026-12-02T10:00:00+08:00"
    );
    // Each move is in the history, with the deadlines it recounted.
    let events = app.events(&id).await;
    let kinds = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(kinds("appointment_moved"), 2);
    let last = events
        .iter()
        .rfind(|e| e.kind == "appointment_moved")
        .unwrap();
    assert_eq!(last.data["from"], ms("2026-12-03T10:00:00+08:00"));
    assert_eq!(last.data["to"], ms("2026-12-01T15:00:00+08:00"));
    let recounted: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "deadline_recomputed" && e.data["reason"] == "appointment_moved")
        .collect();
    assert_eq!(recounted.len(), 2);
    assert_eq!(recounted[1].work_order_id.as_deref(), Some(order.as_str()));
    assert_eq!(
        recounted[1].data["due_at_ms"],
        ms("2026-12-02T10:00:00+08:00")
    );

    // An order reaching connection later takes the appointment then.
    let res = move_to(&app, &id, "2026-12-11T14:30:00+08:00").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let power_key = app.key("workorders:write:sz-power").await;
    let mut pv = power_v;
    let p = app.as_key(&power_key);
    p.step(&power, &mut pv, json!({"action": "accept"})).await;
    let o = p
        .step(
            &power,
            &mut pv,
            json!({"action": "record_survey", "external_works_m": 0}),
        )
        .await;
    assert_eq!(o["due_at"], "2026-12-11T14:30:00+08:00");

    // Once every order is done, there is nothing to move.
    let now = app.now_minute();
    let mut wv = app.work_order(&order).await["version"].as_i64().unwrap();
    water
        .step(
            &order,
            &mut wv,
            json!({"action": "connect", "connected_at": now}),
        )
        .await;
    p.step(
        &power,
        &mut pv,
        json!({"action": "connect", "connected_at": now}),
    )
    .await;
    let res = move_to(&app, &id, "2026-12-14T10:00:00+08:00").await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
}

async fn the_appointment_is_moved_from_the_application_page(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let mut body = water_only(USCC);
    body["appointment_at"] = json!("2026-12-10T09:00:00+08:00");
    let created = app.submit_created(&body).await;
    let id = id_of(&created);
    let path = format!("/applications/{id}");
    let ent = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    let page = app.ok_page_as(&ent, &path).await;
    assert_has(
        &page,
        &[
            "id=\"move-appointment\"",
            "name=\"appointment_at\" type=\"datetime-local\" value=\"2026-12-10T09:00\"",
        ],
    );
    // A Saturday: refused beside the field, what was typed kept.
    let form = format!("{path}/appointment");
    let res = app
        .post_form_as(&ent, &form, &[("appointment_at", "2026-12-05T10:00")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert_has(
        &html,
        &[
            "id=\"e-appointment-at\"",
            "2026年12月5日是周末",
            "value=\"2026-12-05T10:00\"",
            "aria-invalid=\"true\"",
        ],
    );
    // Friday at 10:00: done, and the page says so.
    let res = app
        .post_form_as(&ent, &form, &[("appointment_at", "2026-12-04T10:00")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let back = res.header("location").unwrap().to_owned();
    assert_eq!(back, format!("{path}?done=appointment"));
    let page = app.ok_page_as(&ent, &back).await;
    assert_has(
        &page,
        &[
            "id=\"done-notice\"",
            "value=\"2026-12-04T10:00\"",
            "预约接入时间改为",
        ],
    );
    assert_eq!(
        app.application(&id).await["appointment_at"],
        "2026-12-04T10:00:00+08:00"
    );
    // The utility's staff see the appointment but no form to move it.
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app.ok_page_as(&op, &path).await;
    assert!(!page.contains("move-appointment"));
    let res = app
        .post_form_as(&op, &form, &[("appointment_at", "2026-12-07T10:00")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

async fn a_survey_is_not_recorded_before_its_appointment(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let created = app.submit_created(&water_only(USCC)).await;
    let id = id_of(&created);
    let key = app.key("workorders:write:sz-water").await;
    let water = app.as_key(&key);
    let (order, mut v) = order_of(&created, "sz-water");
    water
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let res = water
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": "2026-12-03T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let survey = json!({"action": "record_survey", "version": v, "external_works_m": 0});
    let res = water.act(&order, &survey).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.field_codes(), fields(&[("action", "too_early")]));
    assert_eq!(
        res.json()["error"]["fields"][0]["message"],
        "联合踏勘约定在2026年12月03日 10:00，请到场踏勘后再记录踏勘结果"
    );
    // From the order page: the reason under the form.
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    let res = app
        .post_form_as(
            &op,
            &format!("/work-orders/{order}/actions"),
            &[
                ("action", "record_survey"),
                ("version", &v.to_string()),
                ("external_works_m", "0"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(
        &res.text(),
        &[
            "id=\"e-record_survey-action\"",
            "联合踏勘约定在2026年12月03日 10:00",
        ],
    );
    let o = app.work_order(&order).await;
    assert_eq!(
        (o["stage"].as_str(), o["version"].as_i64()),
        (Some("survey"), Some(v))
    );
    // At the appointment, it is recorded.
    app.set_time("2026-12-03T10:00:00+08:00");
    let o = water.act_ok(&order, &survey).await;
    assert_eq!(o["stage"], "connection");
}

async fn number_fields_refuse_text(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let created = app.submit_created(&water_only(USCC)).await;
    let key = app.key("workorders:write:sz-water").await;
    let (order, mut v) = order_of(&created, "sz-water");
    app.as_key(&key)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let op = app.signed_in("water.op", &["operator:sz-water"]).await;
    // The length is typed as text, with a numeric keyboard.
    let page = app.ok_page_as(&op, &format!("/work-orders/{order}")).await;
    assert_has(
        &page,
        &[
            "id=\"f-record_survey-external_works_m\" name=\"external_works_m\" type=\"text\" inputmode=\"decimal\"",
        ],
    );
    let version = v.to_string();
    let post = |length: &'static str| {
        let version = version.clone();
        let (app, op, order) = (&app, &op, &order);
        async move {
            app.post_form_as(
                op,
                &format!("/work-orders/{order}/actions"),
                &[
                    ("action", "record_survey"),
                    ("version", &version),
                    ("findings", "需新建管线"),
                    ("external_works_m", length),
                    ("route", "沿交通大道北侧"),
                ],
            )
            .await
        }
    };
    // "六百" is refused beside the field, kept as typed; the order stays
    // in the survey (it does not go on to design as if no length was given).
    let res = post("六百").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(
        &res.text(),
        &[
            "id=\"e-record_survey-external_works_m\"",
            "外线工程长度（米）须填写阿拉伯数字，例如 600，不带单位",
            "value=\"六百\"",
        ],
    );
    for typed in ["600米", "NaN"] {
        assert_eq!(
            post(typed).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}"
        );
    }
    assert_eq!(app.work_order(&order).await["stage"], "survey");
    // Over the API, text is a field error too.
    for typed in [json!("六百"), json!("600")] {
        let res = app
            .as_key(&key)
            .act(
                &order,
                json!({"action": "record_survey", "version": v, "external_works_m": typed, "route": "沿交通大道"}),
            )
            .await;
        assert_eq!(
            res.field_codes(),
            fields(&[("external_works_m", "invalid_format")]),
            "{typed}"
        );
    }
    // Full-width digits are digits: 600 m goes to approval.
    let res = post("６００").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(app.work_order(&order).await["stage"], "approval");
}

async fn the_commitment_sentence_may_end_with_a_full_stop(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let (created, order, _, key) = surveyed(&app, 800).await;
    let id = id_of(&created);
    let sentence = format!(" {}。", onestop_domain::approval::CONFIRMATION);
    let case = json!({"works": [order], "place": "交通大道", "from": "2026-12-07", "to": "2026-12-09",
                      "not_applicable": ["sz-cgzf", "sz-jtj", "sz-zsj", "sz-jxj"],
                      "commitment": {"signed_by": "王工", "unit": "随州市某建设有限公司",
                                     "signed_at": "2026-12-01", "confirmation": sentence}});
    let res = app.as_key(&key).raise_case(&id, case).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let raised = res.json();
    assert_eq!(item(&raised, "sz-zrzy")["status"], "approved");
    assert_eq!(item(&raised, "sz-zrzy")["automatic"], true);
    assert_eq!(
        raised["commitment"]["confirmation"],
        onestop_domain::approval::CONFIRMATION,
        "stored as the sentence itself"
    );
}
