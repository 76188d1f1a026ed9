//! Work orders through the process definition over the API, on SQLite and
//! PostgreSQL: stage by stage with the 500 m rule, the allowed actions when
//! an action does not fit, optimistic concurrency, return for correction
//! with the clock stopped, and units kept apart.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    no_external_works_to_connection,
    the_500_m_rule_routes_each_order,
    wrong_actions_and_races_are_refused,
    return_for_correction_stops_the_clock,
    cancellation_midway_cancels_every_open_order,
    one_joint_survey_per_application,
    operators_act_from_the_order_page,
    at_or_above_500_m_with_commitment_and_with_a_rejection,
    many_actions_in_one_request,
    repeated_actions_with_an_idempotency_key,
    registered_projects_may_skip_the_survey,
    a_cancelled_application_closes_its_case,
    deadlines_follow_the_working_time_clock,
);

/// Accepts an order at `v` and records `survey` on it (both must succeed);
/// the order as the survey answers.
async fn accept_and_survey(utility: As<'_>, order: &str, v: &mut i64, survey: Value) -> Value {
    utility.step(order, v, json!({"action": "accept"})).await;
    utility.step(order, v, survey).await
}

/// Takes a fresh five-service application's heat and telecom orders to the
/// approval stage; returns the application and the two order ids.
async fn two_long_works(app: &TestApp) -> (Value, String, String) {
    let created = app.submit(&five_services()).await;
    let mut ids = Vec::new();
    for unit in ["sz-heat", "sz-telecom"] {
        let key = app.key(&format!("workorders:write:{unit}")).await;
        let (order, mut v) = order_of(&created, unit);
        let survey =
            json!({"action": "record_survey", "external_works_m": 800, "route": "沿交通大道敷设"});
        let after = accept_and_survey(app.as_key(&key), &order, &mut v, survey).await;
        assert_eq!(after["stage"], "approval");
        ids.push(order);
    }
    (created, ids.remove(0), ids.remove(0))
}

/// `who` approves its department's item of `case` at the item's version;
/// the case as the decision answers.
async fn approve(app: &TestApp, who: &Session, case: &Value, dept: &str) -> Value {
    let i = item(case, dept);
    let version = i["version"].clone();
    let res = app.decide_as(who, &i, "approve", "同意", version).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

/// Both works of a case are at `stage`.
async fn assert_stage(app: &TestApp, orders: [&str; 2], stage: &str) {
    for order in orders {
        let o = app.work_order(order).await;
        assert_eq!(o["stage"], stage, "{o}");
    }
}

async fn at_or_above_500_m_with_commitment_and_with_a_rejection(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (created, heat, telecom) = two_long_works(&app).await;
    let id = created["id"].as_str().unwrap();
    let heat_key = app.key("workorders:write:sz-heat").await;
    let utility = app.as_key(&heat_key);
    let from = &appointment()[..10];
    let case = |commitment: Value| {
        json!({"works": [heat, telecom], "place": "交通大道（擂鼓墩大道至烈山大道段）",
               "from": from, "to": from, "not_applicable": ["sz-jxj"], "commitment": commitment})
    };
    // Before a case, an approval department does not see the application.
    let jj = app.signed_in("jj.approver", &["approver:sz-jj"]).await;
    let seen = app.get_as(&jj, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    // A bad commitment is named field by field.
    let bad = json!({"signed_by": "王工", "unit": "某建设公司", "signed_at": "2026-11-01", "confirmation": "好"});
    let res = utility.raise_case(id, case(bad)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mismatch = fields(&[("commitment.confirmation", "mismatch")]);
    assert_eq!(res.field_codes(), mismatch);
    // With the commitment: the accepting departments approve at once.
    let commitment = json!({"signed_by": "王工", "unit": "随州市某建设有限公司", "signed_at": "2026-11-01",
                            "confirmation": onestop_domain::approval::CONFIRMATION});
    let res = utility.raise_case(id, case(commitment.clone())).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let raised = res.json();
    assert_eq!(raised["status"], "pending");
    assert_eq!(item(&raised, "sz-zrzy")["status"], "approved");
    assert_eq!(item(&raised, "sz-zrzy")["automatic"], true);
    assert_eq!(item(&raised, "sz-jxj")["status"], "not_applicable");
    let police = item(&raised, "sz-jj");
    let review = "the traffic police review the plan";
    assert_eq!(police["status"], "pending", "{review}");
    let again = utility.raise_case(id, case(commitment)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // The traffic police's approver decides; others cannot even see the item.
    // With its item on the case, it does (the application's data its item needs).
    let seen = app.get_as(&jj, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    let listed = app.get_as(&jj, "/api/v1/applications").await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let zrzy = app.signed_in("zrzy.approver", &["approver:sz-zrzy"]).await;
    let pid = police["id"].as_str().unwrap();
    let res = app.decide_as(&zrzy, &police, "approve", "同意", 1).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let no_opinion = json!({"decision": "approve", "version": 1});
    let res = app.as_session(&jj).decide(pid, no_opinion).await;
    assert_eq!(res.field_codes(), fields(&[("opinion", "required")]));
    let opinion = "同意，请按交通组织方案施工";
    let res = app.decide_as(&jj, &police, "approve", opinion, 1).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let decided = res.json();
    assert_eq!(decided["status"], "approved");
    assert!(item(&decided, "sz-jj")["decided_at"].is_string());
    // Approved: both works go on to construction.
    assert_stage(&app, [&heat, &telecom], "construction").await;

    // Without a commitment, one rejection rejects the case; the works wait.
    let (created, heat, telecom) = two_long_works(&app).await;
    let id = created["id"].as_str().unwrap();
    let plain = json!({"works": [heat, telecom], "place": "沿河大道", "from": from, "to": from});
    let res = utility.raise_case(id, plain).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let raised = res.json();
    let items = raised["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["status"] == "pending"));
    let z = item(&raised, "sz-zrzy");
    let reason = "路由穿越规划绿地，请调整";
    let res = app.decide_as(&zrzy, &z, "reject", reason, 1).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["status"], "rejected");
    let res = app.decide_as(&zrzy, &z, "approve", "改", 2).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    let o = app.work_order(&heat).await;
    assert_eq!(o["stage"], "approval");

    // The traffic police's inbox lists the pending item; the natural
    // resources department's lists its rejection.
    let inbox = app
        .get_as(&jj, "/api/v1/approval-items?status=pending")
        .await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    let inbox = inbox.json();
    let listed = inbox["items"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|i| i["case_id"] == raised["id"] && i["department"]["code"] == "sz-jj"),
        "{inbox}"
    );
    let mine = app
        .get_as(&zrzy, "/api/v1/approval-items?status=rejected")
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    let maybe = app
        .get_as(&zrzy, "/api/v1/approval-items?status=maybe")
        .await;
    assert_eq!(maybe.field_codes(), fields(&[("status", "unknown_value")]));
    assert_eq!(
        app.get("/api/v1/approval-items").await.status,
        StatusCode::FORBIDDEN,
        "a key without approval scopes has no inbox"
    );

    // The utility revises and resubmits: a new round, the rejected item pending again.
    let case_id = raised["id"].as_str().unwrap().to_owned();
    let case_path = format!("/api/v1/approval-cases/{case_id}");
    let resubmit = format!("{case_path}/resubmission");
    let seen = app.get_as(&zrzy, &case_path).await.json();
    assert_eq!(seen["status"], "rejected");
    let v = seen["version"].as_i64().unwrap();
    let res = utility.post(&resubmit, json!({"version": v})).await;
    assert_eq!(res.field_codes(), fields(&[("note", "required")]));
    let stale = json!({"version": v - 1, "note": "改线"});
    let res = utility.post(&resubmit, stale).await;
    assert_eq!(res.json()["error"]["code"], "stale_version");
    let gas_key = app.key("workorders:write:sz-gas").await;
    let res = app
        .as_key(&gas_key)
        .post(&resubmit, json!({"version": v, "note": "改线"}))
        .await;
    let why = "gas has no works in the case";
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{why}");
    let revised = json!({"version": v, "note": "路由改走沿河大道北侧人行道，避开规划绿地", "place": "沿河大道北侧"});
    let res = utility.post(&resubmit, revised).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let again = res.json();
    assert_eq!(again["status"], "pending");
    assert_eq!(again["round"], 2);
    assert_eq!(again["place"], "沿河大道北侧");
    let z = item(&again, "sz-zrzy");
    assert_eq!(z["status"], "pending");
    assert_eq!(z["round"], 2);
    let why = "a department yet to decide decides on the revised plan";
    assert_eq!(item(&again, "sz-jj")["round"], 2, "{why}");
    assert_eq!(again["revisions"][0]["round"], 2);
    let twice = json!({"version": again["version"], "note": "再改"});
    let res = utility.post(&resubmit, twice).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    // Every department now approves; the case is approved and the works move on.
    let mut last = Value::Null;
    for (who, dept) in [(&zrzy, "sz-zrzy"), (&jj, "sz-jj")] {
        last = approve(&app, who, &again, dept).await;
    }
    let pending: Vec<String> = item_codes(&last, "pending");
    for dept in pending {
        let name = format!("{dept}.approver");
        let s = app.signed_in(&name, &[&format!("approver:{dept}")]).await;
        last = approve(&app, &s, &last, &dept).await;
    }
    assert_eq!(last["status"], "approved", "{last}");
    // The opinion sheet keeps both of the natural resources department's
    // decisions, each with its round and signed time.
    let sheet = app.get_as(&jj, &case_path).await.json();
    let zrzy_lines: Vec<&Value> = sheet["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["department"]["code"] == "sz-zrzy")
        .collect();
    assert_eq!(zrzy_lines.len(), 2, "{sheet}");
    assert_eq!(zrzy_lines[0]["decision"], "rejected");
    assert_eq!(zrzy_lines[0]["round"], 1);
    assert_eq!(zrzy_lines[1]["decision"], "approved");
    assert_eq!(zrzy_lines[1]["round"], 2);
    assert!(zrzy_lines[1]["decided_at"].is_string());
    assert_stage(&app, [&heat, &telecom], "construction").await;
    // On to connection and done.
    let mut v = app.work_order(&heat).await["version"].as_i64().unwrap();
    let built = json!({"action": "complete_construction"});
    utility.step(&heat, &mut v, built).await;
    let connect = json!({"action": "connect", "connected_at": app.now_minute()});
    let done = utility.step(&heat, &mut v, connect).await;
    assert_eq!(done["status"], "done");
    // Another enterprise cannot open the case.
    let other = app
        .signed_in("other.ent", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    let opened = app.get_as(&other, &case_path).await;
    assert_eq!(opened.status, StatusCode::NOT_FOUND);
}

fn item_codes(case: &Value, status: &str) -> Vec<String> {
    case["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == status)
        .map(|i| i["department"]["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The action form of `order`'s page, posted as `s`.
async fn act_on_page(app: &TestApp, s: &Session, order: &str, form: &[(&str, &str)]) -> Answer {
    let path = format!("/work-orders/{order}/actions");
    app.post_form_as(s, &path, form).await
}

async fn operators_act_from_the_order_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let (order, _) = order_of(&created, "sz-water");
    app.account("op.water", &["operator:sz-water"]).await;
    app.account("sup.view", &["supervisor"]).await;
    let op = app.login("op.water", PASSWORD).await;
    let page = app.page_as(&op, &format!("/work-orders/{order}")).await;
    for code in ["accept", "return_for_correction", "reject"] {
        let offered = page.contains(&format!("data-action=\"{code}\""));
        assert!(offered, "{code} offered");
    }
    let connect = page.contains("data-action=\"connect\"");
    assert!(!connect, "only this stage's actions");
    // A supervisor sees the order but is offered no action.
    let sup = app.login("sup.view", PASSWORD).await;
    let seen = app.page_as(&sup, &format!("/work-orders/{order}")).await;
    assert!(!seen.contains("data-action="), "read-only");
    // Refused: a field error beside the field, what was typed kept.
    let reject = [
        ("action", "reject"),
        ("version", "1"),
        ("reason", ""),
        ("confirm", "yes"),
    ];
    let res = act_on_page(&app, &op, &order, &reject).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("id=\"e-reject-reason\""), "{html}");
    // Accepted from the page; the survey stage's form comes next.
    let accept = [("action", "accept"), ("version", "1")];
    let res = act_on_page(&app, &op, &order, &accept).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.page_as(&op, res.header("location").unwrap()).await;
    assert!(page.contains("已办理：受理"));
    assert!(page.contains("data-action=\"record_survey\""));
    // A stale page: the version it carried has moved on.
    let survey = |version| {
        [
            ("action", "record_survey"),
            ("version", version),
            ("external_works_m", "0"),
        ]
    };
    let res = act_on_page(&app, &op, &order, &survey("1")).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text().contains("已被他人处理"));
    let res = act_on_page(&app, &op, &order, &survey("2")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let now = app.now_typed();
    let connect = [
        ("action", "connect"),
        ("version", "3"),
        ("connected_at", now.as_str()),
    ];
    let res = act_on_page(&app, &op, &order, &connect).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let stored = app.work_order(&order).await;
    let (stage, status) = (stored["stage"].as_str(), stored["status"].as_str());
    assert_eq!((stage, status), (Some("closed"), Some("done")));
}

async fn one_joint_survey_per_application(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    let id = created["id"].as_str().unwrap();
    let water_key = app.key("workorders:write:sz-water").await;
    let gas_key = app.key("workorders:write:sz-gas").await;
    let (water, gas) = (app.as_key(&water_key), app.as_key(&gas_key));
    let at = appointment();
    let survey = format!("/api/v1/applications/{id}/survey");
    // Refused input, each with its field.
    let res = water.post(&survey, json!({})).await;
    assert_eq!(res.field_codes(), fields(&[("at", "required")]));
    let past = json!({"at": "2020-01-01T09:00:00+08:00"});
    let res = water.post(&survey, past).await;
    assert_eq!(res.field_codes(), fields(&[("at", "not_in_future")]));
    // The first utility proposes; everyone sees the one appointment.
    let res = water.post(&survey, json!({"at": at})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let proposed = res.json();
    assert_eq!(proposed["proposed_by"]["code"], "sz-water");
    assert_eq!(proposed["version"], 1);
    let seen = app.application(id).await;
    assert_eq!(seen["survey"], proposed);
    // A second proposal is not a second survey; moving it needs the version.
    let res = gas.post(&survey, json!({"at": at})).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "survey_exists");
    let res = gas.post(&survey, json!({"at": at, "version": 7})).await;
    assert_eq!(res.json()["error"]["code"], "stale_version");
    let res = gas.post(&survey, json!({"at": at, "version": 1})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["proposed_by"]["code"], "sz-gas");
    assert_eq!(res.json()["version"], 2);
    // Not a utility of this application: refused; a reader may not propose.
    let other = app.submit(&water_only(OTHER_USCC)).await;
    let theirs = format!("/api/v1/applications/{}/survey", id_of(&other));
    let res = gas.post(&theirs, json!({"at": at})).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let reader = app.key("applications:read").await;
    let res = app.as_key(&reader).post(&survey, json!({"at": at})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

async fn cancellation_midway_cancels_every_open_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    let id = created["id"].as_str().unwrap();
    // Midway: water accepted and surveyed, power returned for correction.
    let water = app.key("workorders:write:sz-water").await;
    let (o, mut v) = order_of(&created, "sz-water");
    let survey = json!({"action": "record_survey", "external_works_m": 0});
    accept_and_survey(app.as_key(&water), &o, &mut v, survey).await;
    let power = app.key("workorders:write:sz-power").await;
    let (o, mut v) = order_of(&created, "sz-power");
    let ret = json!({"action": "return_for_correction", "reason": "容量需核实"});
    app.as_key(&power).step(&o, &mut v, ret).await;

    // Only the applicant's side may cancel; an operator may not, and
    // another enterprise does not see it.
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    app.account("ent.b", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    app.account("op.gas", &["operator:sz-gas"]).await;
    let a = app.login("ent.a", PASSWORD).await;
    let b = app.login("ent.b", PASSWORD).await;
    let op = app.login("op.gas", PASSWORD).await;
    let res = app.as_session(&b).cancel(id, "x").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app.as_session(&op).cancel(id, "x").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let cancel = format!("/api/v1/applications/{id}/cancel");
    let res = app.as_session(&a).post(&cancel, json!({})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.field_codes(), fields(&[("reason", "required")]));
    let res = app.as_session(&a).cancel(id, "项目暂缓").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["status"], "cancelled");
    for o in body["work_orders"].as_array().unwrap() {
        let (stage, status) = (o["stage"].as_str(), o["status"].as_str());
        assert_eq!((stage, status), (Some("closed"), Some("cancelled")), "{o}");
    }
    // Nothing left to cancel; no order takes actions any more.
    let res = app.as_session(&a).cancel(id, "再次").await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    let (o, _) = order_of(&body, "sz-gas");
    let gas = app.key("workorders:write:sz-gas").await;
    let accept = json!({"action": "accept", "version": 2});
    let res = app.as_key(&gas).act(&o, accept).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

async fn no_external_works_to_connection(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let id = created["id"].as_str().unwrap();
    let water_key = app.key("workorders:write:sz-water").await;
    let water = app.as_key(&water_key);
    let (order, mut v) = order_of(&created, "sz-water");
    let accepted = water
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    assert_eq!(accepted["stage"], "survey");
    assert_eq!(accepted["status"], "open");
    assert_eq!(app.application(id).await["status"], "in_progress");
    // The survey stage has its own deadline on the working-time clock.
    let due = |o: &Value| onestop_domain::timefmt::parse(o["due_at"].as_str().unwrap()).unwrap();
    assert!(due(&accepted) > due(&created["work_orders"][0]));
    let survey = json!({"action": "record_survey", "external_works_m": 0, "findings": "红线内已具备接入条件"});
    let surveyed = water.step(&order, &mut v, survey).await;
    assert_eq!(surveyed["stage"], "connection");
    // What an action answers is what is stored.
    let stored = app.work_order(&order).await;
    assert_eq!(stored, surveyed);
    let connect = json!({"action": "connect", "connected_at": app.now_minute(), "details": {"meter": "DN50-0001"}});
    let done = water.step(&order, &mut v, connect).await;
    let (stage, status) = (done["stage"].as_str(), done["status"].as_str());
    assert_eq!((stage, status), (Some("closed"), Some("done")));
    assert_eq!(app.application(id).await["status"], "completed");
    let i = id.to_owned();
    let history = app
        .read(move |c| onestop_store::applications::history_count(c, &i))
        .await;
    let why = "submitted, order created, then one event per action";
    assert_eq!(history, 2 + 3, "{why}");
}

async fn the_500_m_rule_routes_each_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    for (unit, metres, stage) in [
        ("sz-water", 0.0, "connection"),
        ("sz-power", 120.0, "construction"),
        ("sz-gas", 499.0, "construction"),
        ("sz-heat", 500.0, "approval"),
        ("sz-telecom", 1200.0, "approval"),
    ] {
        let key = app.key(&format!("workorders:write:{unit}")).await;
        let (order, mut v) = order_of(&created, unit);
        let survey =
            json!({"action": "record_survey", "external_works_m": metres, "route": "交通大道北侧"});
        let after = accept_and_survey(app.as_key(&key), &order, &mut v, survey).await;
        assert_eq!(after["stage"], stage, "{unit} with {metres} m");
    }
    // Below the threshold: construction, then connection.
    let power = app.key("workorders:write:sz-power").await;
    let (order, _) = order_of(&created, "sz-power");
    let res = app.get(&format!("/api/v1/work-orders/{order}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let mut version = res.json()["version"].as_i64().unwrap();
    let built = json!({"action": "complete_construction"});
    let after = app.as_key(&power).step(&order, &mut version, built).await;
    assert_eq!(after["stage"], "connection");
    // Through design: the length decides there.
    let mobile_key = app.key("workorders:write:sz-mobile").await;
    let mobile = app.as_key(&mobile_key);
    let (order, mut v2) = order_of(&created, "sz-mobile");
    let survey = json!({"action": "record_survey", "findings": "需设计"});
    let d = accept_and_survey(mobile, &order, &mut v2, survey).await;
    assert_eq!(d["stage"], "design");
    let design = json!({"action": "record_design", "version": v2, "external_works_m": 80});
    let missing_route = mobile.act(&order, design).await;
    assert_eq!(missing_route.status, StatusCode::UNPROCESSABLE_ENTITY);
    let route_required = fields(&[("route", "required")]);
    assert_eq!(missing_route.field_codes(), route_required);
    let design = json!({"action": "record_design", "external_works_m": 80, "route": "沿烈山大道"});
    let d = mobile.step(&order, &mut v2, design).await;
    assert_eq!(d["stage"], "construction");
    let res = app
        .get(&format!("/api/v1/applications/{}", id_of(&created)))
        .await;
    assert_eq!(res.json()["status"], "in_progress");
}

async fn wrong_actions_and_races_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let (order, v) = order_of(&created, "sz-water");
    let water_key = app.key("workorders:write:sz-water").await;
    let water = app.as_key(&water_key);
    let gas = app.key("workorders:write:sz-gas").await;
    let accept = json!({"action": "accept", "version": v});
    // Another unit's order does not exist for this key.
    let res = app.as_key(&gas).act(&order, &accept).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Not an action of this stage: 409 with what is allowed.
    let connect =
        json!({"action": "connect", "version": v, "connected_at": "2026-12-01T10:00:00+08:00"});
    let res = water.act(&order, connect).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let body = res.json();
    assert_eq!(body["error"]["code"], "invalid_transition");
    let allowed: Vec<&str> = body["error"]["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(allowed, vec!["accept", "return_for_correction", "reject"]);
    // An action of the stage that this caller may not take.
    let reader = app.key("workorders:read:sz-water").await;
    let res = app.as_key(&reader).act(&order, &accept).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Missing data: field errors.
    let res = water.act(&order, json!({"version": "x"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = fields(&[("action", "required"), ("version", "invalid_format")]);
    assert_eq!(res.field_codes(), expected);
    let reject = json!({"action": "reject", "version": v});
    let res = water.act(&order, reject).await;
    assert_eq!(res.field_codes(), fields(&[("reason", "required")]));
    // Two operators at once: exactly one wins.
    let reject = json!({"action": "reject", "version": v, "reason": "重复申请"});
    let (a, b) = tokio::join!(water.act(&order, &accept), water.act(&order, reject));
    let mut codes = vec![a.status.as_u16(), b.status.as_u16()];
    codes.sort();
    assert_eq!(codes, vec![200, 409], "{} / {}", a.text(), b.text());
    let loser = if a.status == StatusCode::CONFLICT {
        a
    } else {
        b
    };
    assert_eq!(loser.json()["error"]["code"], "stale_version");
    // An old version is refused afterwards too.
    let res = water.act(&order, &accept).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

/// The store's clock of a work order.
async fn clock_of(app: &TestApp, order: &str) -> onestop_store::work_orders::OrderClock {
    let o = order.to_owned();
    app.read(move |c| onestop_store::work_orders::clock(c, &o))
        .await
        .unwrap()
}

/// On a plain week of November 2026 (no holidays; working time 08:30–12:00
/// and 14:30–17:30, 23,400 s a day): submitted Thursday 16:00, so the
/// acceptance (half a working day, 11,700 s) is due Friday 10:15 and warns
/// at 75 % (8,775 s) on Friday 09:26:15. Returned on Friday 09:00 and
/// resubmitted on Tuesday 09:00, the order waited exactly two working days
/// (Friday 09:00–17:30, Monday, Tuesday 08:30–09:00: 46,800 s) across the
/// weekend, and its deadline and warning move by exactly that.
async fn return_for_correction_stops_the_clock(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-11-19T16:00:00+08:00").await;
    let created = app.submit_created(&water_only(USCC)).await;
    let id = created["id"].as_str().unwrap();
    let (order, mut v) = order_of(&created, "sz-water");
    let due = &created["work_orders"][0]["due_at"];
    assert_eq!(due, "2026-11-20T10:15:00+08:00");
    let before = clock_of(&app, &order).await;
    let started = (before.stage_started_at_ms, before.budget_seconds);
    assert_eq!(started, (ms("2026-11-19T16:00:00+08:00"), 11_700));
    let instants = (before.due_at_ms, before.warn_at_ms);
    let expected = (
        ms("2026-11-20T10:15:00+08:00"),
        Some(ms("2026-11-20T09:26:15+08:00")),
    );
    assert_eq!(instants, expected);

    // Friday 09:00: returned; the clock stops there.
    app.set_time("2026-11-20T09:00:00+08:00");
    let water_key = app.key("workorders:write:sz-water").await;
    let water = app.as_key(&water_key);
    let ret = json!({"action": "return_for_correction", "reason": "门牌号不完整"});
    let returned = water.step(&order, &mut v, ret).await;
    let (stage, status) = (returned["stage"].as_str(), returned["status"].as_str());
    assert_eq!((stage, status), (Some("acceptance"), Some("returned")));
    assert_eq!(app.application(id).await["status"], "returned");
    let waiting = clock_of(&app, &order).await;
    let suspended = (waiting.suspended_at_ms, waiting.suspended_seconds);
    assert_eq!(suspended, (Some(ms("2026-11-20T09:00:00+08:00")), 0));
    assert_eq!(waiting.due_at_ms, before.due_at_ms);
    // While returned, the operator can do nothing; the applicant resubmits.
    let res = water
        .act(&order, json!({"action": "accept", "version": v}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["allowed"], json!([]));

    // Tuesday 09:00: resubmitted; two working days were spent waiting.
    app.set_time("2026-11-24T09:00:00+08:00");
    let applicant = app.key("applications:read,applications:write").await;
    let resubmit = json!({"action": "resubmit"});
    let resumed = app.as_key(&applicant).step(&order, &mut v, resubmit).await;
    assert_eq!(resumed["status"], "open");
    assert_eq!(app.application(id).await["status"], "submitted");
    let two_working_days = 2 * 23_400;
    let after = clock_of(&app, &order).await;
    assert_eq!(after.suspended_at_ms, None);
    assert_eq!(after.suspended_seconds, two_working_days);
    assert_eq!(after.stage_started_at_ms, before.stage_started_at_ms);
    assert_eq!(after.budget_seconds, before.budget_seconds);
    // Friday 10:15 plus two working days is Tuesday 10:15; the warning
    // likewise moves from Friday 09:26:15 to Tuesday 09:26:15.
    assert_eq!(resumed["due_at"], "2026-11-24T10:15:00+08:00");
    assert_eq!(after.due_at_ms, ms("2026-11-24T10:15:00+08:00"));
    assert_eq!(after.warn_at_ms, Some(ms("2026-11-24T09:26:15+08:00")));
    let stored = app.work_order(&order).await;
    assert_eq!(stored["due_at"], "2026-11-24T10:15:00+08:00");
}

/// A utility's system sends many actions at once: each is checked and
/// applied on its own, answered in order with the status it alone would
/// have had; the refused ones write nothing and stop nothing.
async fn many_actions_in_one_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("workorders:write:sz-water").await;
    let utility = app.as_key(&key);
    let mut orders = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = app.submit(&water_only(USCC)).await;
        ids.push(id_of(&created));
        orders.push(order_of(&created, "sz-water").0);
    }
    let power_app = app.submit(&five_services()).await;
    let (power, _) = order_of(&power_app, "sz-power");
    let path = "/api/v1/work-orders/actions";
    // The whole body is checked first.
    for bad in [
        json!({}),
        json!({"actions": []}),
        json!({"actions": "accept"}),
    ] {
        let res = utility.post(path, bad).await;
        assert_eq!(res.field_codes(), fields(&[("actions", "required")]));
    }
    let res = utility
        .post(
            path,
            json!({"actions": [
                {"work_order_id": orders[0], "action": "accept", "version": 1},
                {"work_order_id": orders[0], "action": "record_survey", "version": 2, "findings": "具备条件"},
                {"work_order_id": orders[1], "action": "accept", "version": 5},
                {"work_order_id": orders[2], "action": "connect", "version": 1},
                {"work_order_id": power, "action": "accept", "version": 1},
                {"work_order_id": orders[2], "action": "accept"},
                {"action": "accept", "version": 1},
            ]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let results = res.json()["results"].as_array().unwrap().clone();
    let statuses: Vec<i64> = results
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 200, 409, 409, 404, 422, 422]);
    assert_eq!(results[0]["work_order"]["stage"], "survey");
    assert_eq!(results[1]["work_order"]["stage"], "design");
    assert_eq!(results[1]["work_order"]["version"], 3);
    assert_eq!(results[2]["error"]["code"], "stale_version");
    assert_eq!(results[3]["error"]["code"], "invalid_transition");
    let allowed = json!(["accept", "return_for_correction", "reject"]);
    assert_eq!(results[3]["error"]["allowed"], allowed);
    let why = "another unit's order";
    assert_eq!(results[4]["error"]["code"], "not_found", "{why}");
    let field = |n: usize| results[n]["error"]["fields"][0]["field"].clone();
    assert_eq!(field(5), "actions.5.version");
    assert_eq!(field(6), "actions.6.work_order_id");
    // What was refused wrote nothing.
    for o in [&orders[1], &orders[2]] {
        let stored = app.work_order(o).await;
        assert_eq!(stored["version"], 1, "{stored}");
    }
    let stored = app.work_order(&power).await;
    assert_eq!(stored["stage"], "acceptance");
    // The rest of the first order's life in one more request.
    let res = utility
        .post(
            path,
            json!({"actions": [
                {"work_order_id": orders[0], "action": "record_design", "version": 3, "external_works_m": 0},
                {"work_order_id": orders[0], "action": "connect", "version": 4, "connected_at": app.now_minute()},
            ]}),
        )
        .await;
    let results = res.json()["results"].clone();
    assert_eq!(results[1]["status"], 200, "{results}");
    assert_eq!(results[1]["work_order"]["status"], "done");
    assert_eq!(app.application(&ids[0]).await["status"], "completed");
    // More than a hundred at once is refused whole.
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"work_order_id": orders[1], "action": "accept", "version": 1}))
        .collect();
    let res = utility.post(path, json!({ "actions": many })).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The unit's list, newest first or oldest first.
    let reader_key = app.key("workorders:read:sz-water").await;
    let reader = app.as_key(&reader_key);
    let list = |sort: &'static str| async move {
        reader
            .get(&format!("/api/v1/work-orders?sort={sort}"))
            .await
    };
    let newest = item_ids(&list("newest").await.json());
    let oldest = item_ids(&list("oldest").await.json());
    let why = "three water-only and one five-service water order";
    assert_eq!(newest.len(), 4, "{why}");
    assert_eq!(oldest[0], orders[0]);
    let mut reversed = newest.clone();
    reversed.reverse();
    assert_eq!(reversed, oldest);
    let sideways = list("sideways").await.field_codes();
    assert_eq!(sideways, fields(&[("sort", "unknown_value")]));
    let stored = app.work_order(&orders[1]).await;
    assert_eq!(stored["version"], 1);
}

/// A utility's system that retries after a lost answer gets the first
/// answer again, and the order moves once.
async fn repeated_actions_with_an_idempotency_key(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("workorders:write:sz-water").await;
    let created = app.submit(&water_only(USCC)).await;
    let (order, _) = order_of(&created, "sz-water");
    let path = format!("/api/v1/work-orders/{order}/actions");
    let once = |k: &'static str| app.as_key(&key).idempotency_key(k);
    let accept = json!({"action": "accept", "version": 1});
    let first = once("sync-0001").post(&path, &accept).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = once("sync-0001").post(&path, &accept).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    let stored = app.work_order(&order).await;
    assert_eq!(stored["version"], 2, "moved once");
    // The same key with another request is a conflict, not a replay.
    let reject = json!({"action": "reject", "version": 2, "reason": "x"});
    let other = once("sync-0001").post(&path, reject).await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.json()["error"]["code"], "idempotency_conflict");
    // A refusal is an answer too: replayed as it was.
    let connect = json!({"action": "connect", "version": 2});
    let refused = once("sync-0002").post(&path, &connect).await;
    assert_eq!(refused.json()["error"]["code"], "invalid_transition");
    let again = once("sync-0002").post(&path, &connect).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // Another client's key of the same text is its own.
    let gas = app.key("workorders:write:sz-water").await;
    let survey = json!({"action": "record_survey", "version": 2, "findings": "可接入"});
    let theirs = app
        .as_key(&gas)
        .idempotency_key("sync-0001")
        .post(&path, survey)
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.text());
    // Batches too.
    let batch = json!({"actions": [{"work_order_id": order, "action": "record_design", "version": 3, "external_works_m": 0}]});
    let batches = "/api/v1/work-orders/actions";
    let first = once("batch-1").post(batches, &batch).await;
    let status = &first.json()["results"][0]["status"];
    assert_eq!(status, 200, "{}", first.text());
    let again = once("batch-1").post(batches, batch).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    let stored = app.work_order(&order).await;
    assert_eq!(stored["version"], 4);
    assert_eq!(stored["stage"], "connection");
}

/// A project code alone no longer lets the utility skip the joint survey:
/// only an application linked to its project's pre-registration (一口登记),
/// whose unit recorded a network plan covering the survey, may skip it,
/// saying why.
async fn registered_projects_may_skip_the_survey(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("workorders:write:sz-water").await;
    let utility = app.as_key(&key);
    let mut body = water_only(USCC);
    body["project_code"] = json!("2611-421303-04-01-123456");
    let unplanned = app.submit(&body).await;
    let (order, mut v) = order_of(&unplanned, "sz-water");
    utility
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let skip = json!({"action": "skip_survey", "version": v, "reason": "前期已踏勘"});
    let res = utility.act(&order, skip).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let allowed: Vec<String> =
        serde_json::from_value(res.json()["error"]["allowed"].clone()).unwrap();
    assert!(!allowed.contains(&"skip_survey".to_owned()), "{allowed:?}");

    // Pre-registered at land transfer; the water company planned ahead,
    // its survey included.
    let registrar = app.key("pre_registrations:write").await;
    let code = "2611-421303-04-01-654321";
    let res = app
        .as_key(&registrar)
        .post(
            "/api/v1/pre-registrations",
            json!({"project_code": code, "land_parcel": "曾都区2026-15号地块",
                   "location": {"district_code": "421303", "detail": "交通大道100号"},
                   "services": {"water": {}}, "expected_date": "2099-06-30"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let pre = res.json()["id"].as_str().unwrap().to_owned();
    let plan = json!({"planned_date": "2099-01-10", "notes": "预埋供水管", "covers_survey": true});
    let res = app
        .as_key(&key)
        .post(&format!("/api/v1/pre-registrations/{pre}/plans"), plan)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    body["project_code"] = json!(code);
    let registered = app.submit(&body).await;
    let (order, mut v) = order_of(&registered, "sz-water");
    utility
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let skip = json!({"action": "skip_survey", "version": v});
    let res = utility.act(&order, skip).await;
    assert_eq!(res.field_codes(), fields(&[("reason", "required")]));
    let skip = json!({"action": "skip_survey", "reason": "项目已预登记，前期已完成现场踏勘"});
    let skipped = utility.step(&order, &mut v, skip).await;
    assert_eq!(skipped["stage"], "design");
}

/// Once the application is cancelled, its case cannot be decided or
/// resubmitted any more.
async fn a_cancelled_application_closes_its_case(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (created, heat, telecom) = two_long_works(&app).await;
    let id = created["id"].as_str().unwrap();
    let heat_key = app.key("workorders:write:sz-heat").await;
    let from = &appointment()[..10];
    let body = json!({"works": [heat, telecom], "place": "沿河大道", "from": from, "to": from});
    let res = app.as_key(&heat_key).raise_case(id, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case = res.json();
    let zrzy = app.signed_in("zrzy.x", &["approver:sz-zrzy"]).await;
    let z = item(&case, "sz-zrzy");
    let res = app.decide_as(&zrzy, &z, "reject", "请调整路由", 1).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let writer = app.key("applications:read,applications:write").await;
    let res = app.as_key(&writer).cancel(id, "项目暂缓").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let case_path = format!("/api/v1/approval-cases/{}", id_of(&case));
    let v = app.get_as(&zrzy, &case_path).await.json()["version"].clone();
    let resubmit = json!({"version": v, "note": "改线"});
    let res = app
        .as_key(&heat_key)
        .post(&format!("{case_path}/resubmission"), resubmit)
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    let jj = app.signed_in("jj.x", &["approver:sz-jj"]).await;
    let j = item(&case, "sz-jj");
    let res = app.decide_as(&jj, &j, "approve", "同意", 1).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
}

/// With the clock standing on a Friday afternoon before the make-up Sunday
/// of 2026-09-20, each stage's deadline is the exact working-time instant.
async fn deadlines_follow_the_working_time_clock(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    let created = app.submit_created(&water_only(USCC)).await;
    // Acceptance: half a working day = 11,700 s. One hour on Friday, none
    // on Saturday, the rest on the make-up Sunday morning.
    let due = &created["work_orders"][0]["due_at"];
    assert_eq!(due, "2026-09-20T10:45:00+08:00");
    assert_eq!(created["submitted_at"], "2026-09-18T16:30:00+08:00");
    // Accepted on Sunday at 09:00: the survey's working day runs to Monday 09:00.
    app.set_time("2026-09-20T09:00:00+08:00");
    let key = app.key("workorders:write:sz-water").await;
    let (order, mut v) = order_of(&created, "sz-water");
    let accept = json!({"action": "accept"});
    let accepted = app.as_key(&key).step(&order, &mut v, accept).await;
    assert_eq!(accepted["due_at"], "2026-09-21T09:00:00+08:00");
}
