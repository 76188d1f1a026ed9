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

/// Takes a fresh five-service application's heat and telecom orders to the
/// approval stage; returns the application and the two order ids.
async fn two_long_works(app: &TestApp) -> (Value, String, String) {
    let created = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await
        .json();
    let mut ids = Vec::new();
    for unit in ["sz-heat", "sz-telecom"] {
        let key = app.key(&format!("workorders:write:{unit}")).await;
        let (order, mut v) = order_of(&created, unit);
        app.as_key(&key)
            .step(&order, &mut v, json!({"action": "accept"}))
            .await;
        let after = app
            .as_key(&key)
            .step(
                &order,
                &mut v,
                json!({"action": "record_survey", "external_works_m": 800, "route": "沿交通大道敷设"}),
            )
            .await;
        assert_eq!(after["stage"], "approval");
        ids.push(order);
    }
    (created, ids.remove(0), ids.remove(0))
}

async fn at_or_above_500_m_with_commitment_and_with_a_rejection(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (created, heat, telecom) = two_long_works(&app).await;
    let id = created["id"].as_str().unwrap();
    let heat_key = app.key("workorders:write:sz-heat").await;
    let from = &appointment()[..10];
    let case = |commitment: Value| {
        json!({"works": [heat, telecom], "place": "交通大道（擂鼓墩大道至烈山大道段）",
               "from": from, "to": from, "not_applicable": ["sz-jxj"], "commitment": commitment})
    };
    let path = format!("/api/v1/applications/{id}/approval-case");
    // Before a case, an approval department does not see the application.
    app.account("jj.approver", &["approver:sz-jj"]).await;
    let jj = app.login("jj.approver", PASSWORD).await;
    let seen = app.get_as(&jj, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    // A bad commitment is named field by field.
    let res = app.as_key(&heat_key).post(&path, case(json!({"signed_by": "王工", "unit": "某建设公司", "signed_at": "2026-11-01", "confirmation": "好"}))).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.field_codes(),
        vec![("commitment.confirmation".to_owned(), "mismatch".to_owned())]
    );
    // With the commitment: the accepting departments approve at once.
    let commitment = json!({"signed_by": "王工", "unit": "随州市某建设有限公司", "signed_at": "2026-11-01",
                            "confirmation": onestop_domain::approval::CONFIRMATION});
    let res = app
        .as_key(&heat_key)
        .post(&path, case(commitment.clone()))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let raised = res.json();
    assert_eq!(raised["status"], "pending");
    let item = |v: &Value, d: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["department"]["code"] == d)
            .unwrap()
            .clone()
    };
    assert_eq!(item(&raised, "sz-zrzy")["status"], "approved");
    assert_eq!(item(&raised, "sz-zrzy")["automatic"], true);
    assert_eq!(item(&raised, "sz-jxj")["status"], "not_applicable");
    let police = item(&raised, "sz-jj");
    assert_eq!(
        police["status"], "pending",
        "the traffic police review the plan"
    );
    assert_eq!(
        app.as_key(&heat_key)
            .post(&path, case(commitment))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // The traffic police's approver decides; others cannot even see the item.
    // With its item on the case, it does (the application's data its item needs).
    let seen = app.get_as(&jj, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    let listed = app.get_as(&jj, "/api/v1/applications").await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    app.account("zrzy.approver", &["approver:sz-zrzy"]).await;
    let zrzy = app.login("zrzy.approver", PASSWORD).await;
    let pid = police["id"].as_str().unwrap();
    let res = app
        .as_session(&zrzy)
        .decide(
            pid,
            json!({"decision": "approve", "opinion": "同意", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app
        .as_session(&jj)
        .decide(pid, json!({"decision": "approve", "version": 1}))
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("opinion".to_owned(), "required".to_owned())]
    );
    let res = app
        .as_session(&jj)
        .decide(
            pid,
            json!({"decision": "approve", "opinion": "同意，请按交通组织方案施工", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let decided = res.json();
    assert_eq!(decided["status"], "approved");
    assert!(item(&decided, "sz-jj")["decided_at"].is_string());
    // Approved: both works go on to construction.
    for order in [&heat, &telecom] {
        let o = app
            .get(&format!("/api/v1/work-orders/{order}"))
            .await
            .json();
        assert_eq!(o["stage"], "construction", "{o}");
    }

    // Without a commitment, one rejection rejects the case; the works wait.
    let (created, heat, telecom) = two_long_works(&app).await;
    let id = created["id"].as_str().unwrap();
    let res = app
        .as_key(&heat_key)
        .post(
            &format!("/api/v1/applications/{id}/approval-case"),
            json!({"works": [heat, telecom], "place": "沿河大道", "from": from, "to": from}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let raised = res.json();
    assert!(
        raised["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "pending")
    );
    let zid = item(&raised, "sz-zrzy")["id"].as_str().unwrap().to_owned();
    let res = app
        .as_session(&zrzy)
        .decide(
            &zid,
            json!({"decision": "reject", "opinion": "路由穿越规划绿地，请调整", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["status"], "rejected");
    let res = app
        .as_session(&zrzy)
        .decide(
            &zid,
            json!({"decision": "approve", "opinion": "改", "version": 2}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    let o = app.get(&format!("/api/v1/work-orders/{heat}")).await.json();
    assert_eq!(o["stage"], "approval");

    // The traffic police's inbox lists the pending item; the natural
    // resources department's lists its rejection.
    let inbox = app
        .get_as(&jj, "/api/v1/approval-items?status=pending")
        .await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    let inbox = inbox.json();
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["case_id"] == raised["id"] && i["department"]["code"] == "sz-jj"),
        "{inbox}"
    );
    let mine = app
        .get_as(&zrzy, "/api/v1/approval-items?status=rejected")
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(
        app.get_as(&zrzy, "/api/v1/approval-items?status=maybe")
            .await
            .field_codes(),
        vec![("status".to_owned(), "unknown_value".to_owned())]
    );
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
    let res = app
        .as_key(&heat_key)
        .post(&resubmit, json!({"version": v}))
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("note".to_owned(), "required".to_owned())]
    );
    let res = app
        .as_key(&heat_key)
        .post(&resubmit, json!({"version": v - 1, "note": "改线"}))
        .await;
    assert_eq!(res.json()["error"]["code"], "stale_version");
    let gas_key = app.key("workorders:write:sz-gas").await;
    let res = app
        .as_key(&gas_key)
        .post(&resubmit, json!({"version": v, "note": "改线"}))
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "gas has no works in the case"
    );
    let res = app
        .as_key(&heat_key)
        .post(
            &resubmit,
            json!({"version": v, "note": "路由改走沿河大道北侧人行道，避开规划绿地", "place": "沿河大道北侧"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let again = res.json();
    assert_eq!(again["status"], "pending");
    assert_eq!(again["round"], 2);
    assert_eq!(again["place"], "沿河大道北侧");
    let z = item(&again, "sz-zrzy");
    assert_eq!(z["status"], "pending");
    assert_eq!(z["round"], 2);
    assert_eq!(
        item(&again, "sz-jj")["round"],
        2,
        "a department yet to decide decides on the revised plan"
    );
    assert_eq!(again["revisions"][0]["round"], 2);
    let res = app
        .as_key(&heat_key)
        .post(
            &resubmit,
            json!({"version": again["version"], "note": "再改"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    // Every department now approves; the case is approved and the works move on.
    let mut last = Value::Null;
    for (who, dept) in [(&zrzy, "sz-zrzy"), (&jj, "sz-jj")] {
        let i = item(&again, dept);
        let res = app
            .as_session(who)
            .decide(
                i["id"].as_str().unwrap(),
                json!({"decision": "approve", "opinion": "同意", "version": i["version"]}),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        last = res.json();
    }
    let pending: Vec<String> = item_codes(&last, "pending");
    for dept in pending {
        let name = format!("{dept}.approver");
        app.account(&name, &[&format!("approver:{dept}")]).await;
        let s = app.login(&name, PASSWORD).await;
        let i = item(&last, &dept);
        let res = app
            .as_session(&s)
            .decide(
                i["id"].as_str().unwrap(),
                json!({"decision": "approve", "opinion": "同意", "version": i["version"]}),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        last = res.json();
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
    let heat_key2 = heat_key.clone();
    for order in [&heat, &telecom] {
        let o = app
            .get(&format!("/api/v1/work-orders/{order}"))
            .await
            .json();
        assert_eq!(o["stage"], "construction", "{o}");
    }
    // On to connection and done.
    let mut v = app.get(&format!("/api/v1/work-orders/{heat}")).await.json()["version"]
        .as_i64()
        .unwrap();
    app.as_key(&heat_key2)
        .step(&heat, &mut v, json!({"action": "complete_construction"}))
        .await;
    let done = app
        .as_key(&heat_key2)
        .step(
            &heat,
            &mut v,
            json!({"action": "connect", "connected_at": "2026-12-01T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(done["status"], "done");
    // Another enterprise cannot open the case.
    app.account("other.ent", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    let other = app.login("other.ent", PASSWORD).await;
    assert_eq!(
        app.get_as(&other, &format!("/api/v1/approval-cases/{case_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
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

async fn operators_act_from_the_order_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await
        .json();
    let (order, _) = order_of(&created, "sz-water");
    app.account("op.water", &["operator:sz-water"]).await;
    app.account("sup.view", &["supervisor"]).await;
    let op = app.login("op.water", PASSWORD).await;
    let page = app
        .get_as(&op, &format!("/work-orders/{order}"))
        .await
        .text();
    for code in ["accept", "return_for_correction", "reject"] {
        assert!(
            page.contains(&format!("data-action=\"{code}\"")),
            "{code} offered"
        );
    }
    assert!(
        !page.contains("data-action=\"connect\""),
        "only this stage's actions"
    );
    // A supervisor sees the order but is offered no action.
    let sup = app.login("sup.view", PASSWORD).await;
    let seen = app
        .get_as(&sup, &format!("/work-orders/{order}"))
        .await
        .text();
    assert!(!seen.contains("data-action="), "read-only");
    // Refused: a field error beside the field, what was typed kept.
    let res = app
        .post_form_as(
            &op,
            &format!("/work-orders/{order}/actions"),
            &[("action", "reject"), ("version", "1"), ("reason", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().contains("id=\"e-reject-reason\""),
        "{}",
        res.text()
    );
    // Accepted from the page; the survey stage's form comes next.
    let res = app
        .post_form_as(
            &op,
            &format!("/work-orders/{order}/actions"),
            &[("action", "accept"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app
        .get_as(&op, res.header("location").unwrap())
        .await
        .text();
    assert!(page.contains("已办理：受理"));
    assert!(page.contains("data-action=\"record_survey\""));
    // A stale page: the version it carried has moved on.
    let res = app
        .post_form_as(
            &op,
            &format!("/work-orders/{order}/actions"),
            &[
                ("action", "record_survey"),
                ("version", "1"),
                ("external_works_m", "0"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text().contains("已被他人处理"));
    let res = app
        .post_form_as(
            &op,
            &format!("/work-orders/{order}/actions"),
            &[
                ("action", "record_survey"),
                ("version", "2"),
                ("external_works_m", "0"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app
        .post_form_as(
            &op,
            &format!("/work-orders/{order}/actions"),
            &[
                ("action", "connect"),
                ("version", "3"),
                ("connected_at", "2026-12-01T10:00"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let stored = app
        .get(&format!("/api/v1/work-orders/{order}"))
        .await
        .json();
    assert_eq!(
        (stored["stage"].as_str(), stored["status"].as_str()),
        (Some("closed"), Some("done"))
    );
}

async fn one_joint_survey_per_application(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await
        .json();
    let id = created["id"].as_str().unwrap();
    let water = app.key("workorders:write:sz-water").await;
    let gas = app.key("workorders:write:sz-gas").await;
    let at = appointment();
    // Refused input, each with its field.
    let res = app
        .as_key(&water)
        .post(&format!("/api/v1/applications/{id}/survey"), json!({}))
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("at".to_owned(), "required".to_owned())]
    );
    let res = app
        .as_key(&water)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": "2020-01-01T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("at".to_owned(), "not_in_future".to_owned())]
    );
    // The first utility proposes; everyone sees the one appointment.
    let res = app
        .as_key(&water)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": at}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let proposed = res.json();
    assert_eq!(proposed["proposed_by"]["code"], "sz-water");
    assert_eq!(proposed["version"], 1);
    let seen = app.get(&format!("/api/v1/applications/{id}")).await.json();
    assert_eq!(seen["survey"], proposed);
    // A second proposal is not a second survey; moving it needs the version.
    let res = app
        .as_key(&gas)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": at}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "survey_exists");
    let res = app
        .as_key(&gas)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": at, "version": 7}),
        )
        .await;
    assert_eq!(res.json()["error"]["code"], "stale_version");
    let res = app
        .as_key(&gas)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": at, "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["proposed_by"]["code"], "sz-gas");
    assert_eq!(res.json()["version"], 2);
    // Not a utility of this application: refused; a reader may not propose.
    let other = app
        .post_json("/api/v1/applications", &water_only(OTHER_USCC), None)
        .await
        .json();
    let res = app
        .as_key(&gas)
        .post(
            &format!(
                "/api/v1/applications/{}/survey",
                other["id"].as_str().unwrap()
            ),
            json!({"at": at}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let reader = app.key("applications:read").await;
    let res = app
        .as_key(&reader)
        .post(
            &format!("/api/v1/applications/{id}/survey"),
            json!({"at": at}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

async fn cancellation_midway_cancels_every_open_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await
        .json();
    let id = created["id"].as_str().unwrap();
    // Midway: water accepted and surveyed, power returned for correction.
    let water = app.key("workorders:write:sz-water").await;
    let (o, mut v) = order_of(&created, "sz-water");
    app.as_key(&water)
        .step(&o, &mut v, json!({"action": "accept"}))
        .await;
    app.as_key(&water)
        .step(
            &o,
            &mut v,
            json!({"action": "record_survey", "external_works_m": 0}),
        )
        .await;
    let power = app.key("workorders:write:sz-power").await;
    let (o, mut v) = order_of(&created, "sz-power");
    app.as_key(&power)
        .step(
            &o,
            &mut v,
            json!({"action": "return_for_correction", "reason": "容量需核实"}),
        )
        .await;

    // Only the applicant's side may cancel; an operator may not, and
    // another enterprise does not see it.
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    app.account("ent.b", &[&format!("applicant:{OTHER_USCC}")])
        .await;
    app.account("op.gas", &["operator:sz-gas"]).await;
    let a = app.login("ent.a", PASSWORD).await;
    let b = app.login("ent.b", PASSWORD).await;
    let op = app.login("op.gas", PASSWORD).await;
    let cancel = format!("/api/v1/applications/{id}/cancel");
    let res = app
        .as_session(&b)
        .post(&cancel, json!({"reason": "x"}))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app
        .as_session(&op)
        .post(&cancel, json!({"reason": "x"}))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app.as_session(&a).post(&cancel, json!({})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.field_codes(),
        vec![("reason".to_owned(), "required".to_owned())]
    );
    let res = app
        .as_session(&a)
        .post(&cancel, json!({"reason": "项目暂缓"}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["status"], "cancelled");
    for o in body["work_orders"].as_array().unwrap() {
        assert_eq!(
            (o["stage"].as_str(), o["status"].as_str()),
            (Some("closed"), Some("cancelled")),
            "{o}"
        );
    }
    // Nothing left to cancel; no order takes actions any more.
    let res = app
        .as_session(&a)
        .post(&cancel, json!({"reason": "再次"}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    let (o, _) = order_of(&body, "sz-gas");
    let gas = app.key("workorders:write:sz-gas").await;
    let res = app
        .as_key(&gas)
        .act(&o, json!({"action": "accept", "version": 2}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

async fn no_external_works_to_connection(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await
        .json();
    let id = created["id"].as_str().unwrap();
    let water = app.key("workorders:write:sz-water").await;
    let (order, mut v) = order_of(&created, "sz-water");
    let accepted = app
        .as_key(&water)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    assert_eq!(accepted["stage"], "survey");
    assert_eq!(accepted["status"], "open");
    assert_eq!(app.application(id).await["status"], "in_progress");
    // The survey stage has its own deadline on the working-time clock.
    let due = onestop_domain::timefmt::parse(accepted["due_at"].as_str().unwrap()).unwrap();
    assert!(
        due > onestop_domain::timefmt::parse(created["work_orders"][0]["due_at"].as_str().unwrap())
            .unwrap()
    );
    let surveyed = app
        .as_key(&water)
        .step(
            &order,
            &mut v,
            json!({"action": "record_survey", "external_works_m": 0, "findings": "红线内已具备接入条件"}),
        )
        .await;
    assert_eq!(surveyed["stage"], "connection");
    // What an action answers is what is stored.
    let stored = app
        .get(&format!("/api/v1/work-orders/{order}"))
        .await
        .json();
    assert_eq!(stored, surveyed);
    let done = app
        .as_key(&water)
        .step(
            &order,
            &mut v,
            json!({"action": "connect", "connected_at": "2026-12-01T10:00:00+08:00", "details": {"meter": "DN50-0001"}}),
        )
        .await;
    assert_eq!(
        (done["stage"].as_str(), done["status"].as_str()),
        (Some("closed"), Some("done"))
    );
    assert_eq!(app.application(id).await["status"], "completed");
    let i = id.to_owned();
    let history = app
        .state
        .store
        .read(move |c| onestop_store::applications::history_count(c, &i))
        .await
        .unwrap();
    assert_eq!(
        history,
        2 + 3,
        "submitted, order created, then one event per action"
    );
}

async fn the_500_m_rule_routes_each_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await
        .json();
    for (unit, metres, stage) in [
        ("sz-water", 0.0, "connection"),
        ("sz-power", 120.0, "construction"),
        ("sz-gas", 499.0, "construction"),
        ("sz-heat", 500.0, "approval"),
        ("sz-telecom", 1200.0, "approval"),
    ] {
        let key = app.key(&format!("workorders:write:{unit}")).await;
        let (order, mut v) = order_of(&created, unit);
        app.as_key(&key)
            .step(&order, &mut v, json!({"action": "accept"}))
            .await;
        let after = app
            .as_key(&key)
            .step(
                &order,
                &mut v,
                json!({"action": "record_survey", "external_works_m": metres, "route": "交通大道北侧"}),
            )
            .await;
        assert_eq!(after["stage"], stage, "{unit} with {metres} m");
    }
    // Below the threshold: construction, then connection.
    let power = app.key("workorders:write:sz-power").await;
    let (order, _) = order_of(&created, "sz-power");
    let mut v = app.get(&format!("/api/v1/work-orders/{order}")).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text());
    let mut version = v.json()["version"].as_i64().unwrap();
    let after = app
        .as_key(&power)
        .step(
            &order,
            &mut version,
            json!({"action": "complete_construction"}),
        )
        .await;
    assert_eq!(after["stage"], "connection");
    // Through design: the length decides there.
    let mobile = app.key("workorders:write:sz-mobile").await;
    let (order, mut v2) = order_of(&created, "sz-mobile");
    app.as_key(&mobile)
        .step(&order, &mut v2, json!({"action": "accept"}))
        .await;
    let d = app
        .as_key(&mobile)
        .step(
            &order,
            &mut v2,
            json!({"action": "record_survey", "findings": "需设计"}),
        )
        .await;
    assert_eq!(d["stage"], "design");
    let missing_route = app
        .as_key(&mobile)
        .act(
            &order,
            json!({"action": "record_design", "version": v2, "external_works_m": 80}),
        )
        .await;
    assert_eq!(missing_route.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        missing_route.field_codes(),
        vec![("route".to_owned(), "required".to_owned())]
    );
    let d = app
        .as_key(&mobile)
        .step(
            &order,
            &mut v2,
            json!({"action": "record_design", "external_works_m": 80, "route": "沿烈山大道"}),
        )
        .await;
    assert_eq!(d["stage"], "construction");
    v = app
        .get(&format!(
            "/api/v1/applications/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(v.json()["status"], "in_progress");
}

async fn wrong_actions_and_races_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await
        .json();
    let (order, v) = order_of(&created, "sz-water");
    let water = app.key("workorders:write:sz-water").await;
    let gas = app.key("workorders:write:sz-gas").await;
    // Another unit's order does not exist for this key.
    let res = app
        .as_key(&gas)
        .act(&order, json!({"action": "accept", "version": v}))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Not an action of this stage: 409 with what is allowed.
    let res = app
        .as_key(&water)
        .act(
            &order,
            json!({"action": "connect", "version": v, "connected_at": "2026-12-01T10:00:00+08:00"}),
        )
        .await;
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
    let res = app
        .as_key(&reader)
        .act(&order, json!({"action": "accept", "version": v}))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Missing data: field errors.
    let res = app
        .as_key(&water)
        .act(&order, json!({"version": "x"}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.field_codes(),
        vec![
            ("action".to_owned(), "required".to_owned()),
            ("version".to_owned(), "invalid_format".to_owned())
        ]
    );
    let res = app
        .as_key(&water)
        .act(&order, json!({"action": "reject", "version": v}))
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("reason".to_owned(), "required".to_owned())]
    );
    // Two operators at once: exactly one wins.
    let (a, b) = tokio::join!(
        app.as_key(&water)
            .act(&order, json!({"action": "accept", "version": v})),
        app.as_key(&water).act(
            &order,
            json!({"action": "reject", "version": v, "reason": "重复申请"})
        ),
    );
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
    let res = app
        .as_key(&water)
        .act(&order, json!({"action": "accept", "version": v}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
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
    let created = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let id = created["id"].as_str().unwrap();
    let (order, mut v) = order_of(&created, "sz-water");
    assert_eq!(
        created["work_orders"][0]["due_at"],
        "2026-11-20T10:15:00+08:00"
    );
    let clock = |order: &str| {
        let o = order.to_owned();
        let store = app.state.store.clone();
        async move {
            store
                .read(move |c| onestop_store::work_orders::clock(c, &o))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let before = clock(&order).await;
    assert_eq!(
        (
            before.stage_started_at_ms,
            before.budget_seconds,
            before.due_at_ms,
            before.warn_at_ms
        ),
        (
            ms("2026-11-19T16:00:00+08:00"),
            11_700,
            ms("2026-11-20T10:15:00+08:00"),
            Some(ms("2026-11-20T09:26:15+08:00"))
        )
    );

    // Friday 09:00: returned; the clock stops there.
    app.set_time("2026-11-20T09:00:00+08:00");
    let water = app.key("workorders:write:sz-water").await;
    let returned = app
        .as_key(&water)
        .step(
            &order,
            &mut v,
            json!({"action": "return_for_correction", "reason": "门牌号不完整"}),
        )
        .await;
    assert_eq!(
        (returned["stage"].as_str(), returned["status"].as_str()),
        (Some("acceptance"), Some("returned"))
    );
    assert_eq!(app.application(id).await["status"], "returned");
    let waiting = clock(&order).await;
    assert_eq!(
        (waiting.suspended_at_ms, waiting.suspended_seconds),
        (Some(ms("2026-11-20T09:00:00+08:00")), 0)
    );
    assert_eq!(waiting.due_at_ms, before.due_at_ms);
    // While returned, the operator can do nothing; the applicant resubmits.
    let res = app
        .as_key(&water)
        .act(&order, json!({"action": "accept", "version": v}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["allowed"], json!([]));

    // Tuesday 09:00: resubmitted; two working days were spent waiting.
    app.set_time("2026-11-24T09:00:00+08:00");
    let applicant = app.key("applications:read,applications:write").await;
    let resumed = app
        .as_key(&applicant)
        .step(&order, &mut v, json!({"action": "resubmit"}))
        .await;
    assert_eq!(resumed["status"], "open");
    assert_eq!(app.application(id).await["status"], "submitted");
    let two_working_days = 2 * 23_400;
    let after = clock(&order).await;
    assert_eq!(after.suspended_at_ms, None);
    assert_eq!(after.suspended_seconds, two_working_days);
    assert_eq!(after.stage_started_at_ms, before.stage_started_at_ms);
    assert_eq!(after.budget_seconds, before.budget_seconds);
    // Friday 10:15 plus two working days is Tuesday 10:15; the warning
    // likewise moves from Friday 09:26:15 to Tuesday 09:26:15.
    assert_eq!(resumed["due_at"], "2026-11-24T10:15:00+08:00");
    assert_eq!(after.due_at_ms, ms("2026-11-24T10:15:00+08:00"));
    assert_eq!(after.warn_at_ms, Some(ms("2026-11-24T09:26:15+08:00")));
    assert_eq!(
        app.get(&format!("/api/v1/work-orders/{order}"))
            .await
            .json()["due_at"],
        "2026-11-24T10:15:00+08:00"
    );
}

/// A utility's system sends many actions at once: each is checked and
/// applied on its own, answered in order with the status it alone would
/// have had; the refused ones write nothing and stop nothing.
async fn many_actions_in_one_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("workorders:write:sz-water").await;
    let mut orders = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = app
            .post_json("/api/v1/applications", &water_only(USCC), None)
            .await
            .json();
        ids.push(created["id"].as_str().unwrap().to_owned());
        orders.push(order_of(&created, "sz-water").0);
    }
    let power_app = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await
        .json();
    let (power, _) = order_of(&power_app, "sz-power");
    let path = "/api/v1/work-orders/actions";
    // The whole body is checked first.
    for bad in [
        json!({}),
        json!({"actions": []}),
        json!({"actions": "accept"}),
    ] {
        let res = app.as_key(&key).post(path, bad).await;
        assert_eq!(
            res.field_codes(),
            vec![("actions".to_owned(), "required".to_owned())]
        );
    }
    let res = app
        .as_key(&key)
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
    assert_eq!(
        results[3]["error"]["allowed"],
        json!(["accept", "return_for_correction", "reject"])
    );
    assert_eq!(
        results[4]["error"]["code"], "not_found",
        "another unit's order"
    );
    assert_eq!(
        results[5]["error"]["fields"][0]["field"],
        "actions.5.version"
    );
    assert_eq!(
        results[6]["error"]["fields"][0]["field"],
        "actions.6.work_order_id"
    );
    // What was refused wrote nothing.
    for o in [&orders[1], &orders[2]] {
        let stored = app.get(&format!("/api/v1/work-orders/{o}")).await.json();
        assert_eq!(stored["version"], 1, "{stored}");
    }
    let stored = app
        .get(&format!("/api/v1/work-orders/{power}"))
        .await
        .json();
    assert_eq!(stored["stage"], "acceptance");
    // The rest of the first order's life in one more request.
    let res = app
        .as_key(&key)
        .post(
            path,
            json!({"actions": [
                {"work_order_id": orders[0], "action": "record_design", "version": 3, "external_works_m": 0},
                {"work_order_id": orders[0], "action": "connect", "version": 4, "connected_at": "2026-12-01T10:00:00+08:00"},
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
    let res = app
        .as_key(&key)
        .post(path, json!({ "actions": many }))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The unit's list, newest first or oldest first.
    let reader = app.key("workorders:read:sz-water").await;
    let list = |sort: &'static str| {
        let reader = app.as_key(&reader);
        async move {
            reader
                .get(&format!("/api/v1/work-orders?sort={sort}"))
                .await
        }
    };
    let ids_of = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest = ids_of(list("newest").await.json());
    let oldest = ids_of(list("oldest").await.json());
    assert_eq!(
        newest.len(),
        4,
        "three water-only and one five-service water order"
    );
    assert_eq!(oldest[0], orders[0]);
    let mut reversed = newest.clone();
    reversed.reverse();
    assert_eq!(reversed, oldest);
    assert_eq!(
        list("sideways").await.field_codes(),
        vec![("sort".to_owned(), "unknown_value".to_owned())]
    );
    let stored = app
        .get(&format!("/api/v1/work-orders/{}", orders[1]))
        .await
        .json();
    assert_eq!(stored["version"], 1);
}

/// A utility's system that retries after a lost answer gets the first
/// answer again, and the order moves once.
async fn repeated_actions_with_an_idempotency_key(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("workorders:write:sz-water").await;
    let created = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await
        .json();
    let (order, _) = order_of(&created, "sz-water");
    let path = format!("/api/v1/work-orders/{order}/actions");
    let first = app
        .as_key(&key)
        .idempotency_key("sync-0001")
        .post(&path, json!({"action": "accept", "version": 1}))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = app
        .as_key(&key)
        .idempotency_key("sync-0001")
        .post(&path, json!({"action": "accept", "version": 1}))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    let stored = app
        .get(&format!("/api/v1/work-orders/{order}"))
        .await
        .json();
    assert_eq!(stored["version"], 2, "moved once");
    // The same key with another request is a conflict, not a replay.
    let other = app
        .as_key(&key)
        .idempotency_key("sync-0001")
        .post(
            &path,
            json!({"action": "reject", "version": 2, "reason": "x"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.json()["error"]["code"], "idempotency_conflict");
    // A refusal is an answer too: replayed as it was.
    let refused = app
        .as_key(&key)
        .idempotency_key("sync-0002")
        .post(&path, json!({"action": "connect", "version": 2}))
        .await;
    assert_eq!(refused.json()["error"]["code"], "invalid_transition");
    let again = app
        .as_key(&key)
        .idempotency_key("sync-0002")
        .post(&path, json!({"action": "connect", "version": 2}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // Another client's key of the same text is its own.
    let gas = app.key("workorders:write:sz-water").await;
    let theirs = app
        .as_key(&gas)
        .idempotency_key("sync-0001")
        .post(
            &path,
            json!({"action": "record_survey", "version": 2, "findings": "可接入"}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.text());
    // Batches too.
    let batch = json!({"actions": [{"work_order_id": order, "action": "record_design", "version": 3, "external_works_m": 0}]});
    let first = app
        .as_key(&key)
        .idempotency_key("batch-1")
        .post("/api/v1/work-orders/actions", batch.clone())
        .await;
    assert_eq!(
        first.json()["results"][0]["status"],
        200,
        "{}",
        first.text()
    );
    let again = app
        .as_key(&key)
        .idempotency_key("batch-1")
        .post("/api/v1/work-orders/actions", batch)
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    let stored = app
        .get(&format!("/api/v1/work-orders/{order}"))
        .await
        .json();
    assert_eq!(stored["version"], 4);
    assert_eq!(stored["stage"], "connection");
}

/// With a project code (a registered project), the utility may skip the
/// joint survey, saying why; without one, the action is not offered.
async fn registered_projects_may_skip_the_survey(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("workorders:write:sz-water").await;
    let plain = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await
        .json();
    let (order, mut v) = order_of(&plain, "sz-water");
    app.as_key(&key)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let res = app
        .as_key(&key)
        .act(
            &order,
            json!({"action": "skip_survey", "version": v, "reason": "前期已踏勘"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let allowed: Vec<String> =
        serde_json::from_value(res.json()["error"]["allowed"].clone()).unwrap();
    assert!(!allowed.contains(&"skip_survey".to_owned()), "{allowed:?}");

    let mut body = water_only(USCC);
    body["project_code"] = json!("2611-421303-04-01-123456");
    let registered = app
        .post_json("/api/v1/applications", &body, None)
        .await
        .json();
    let (order, mut v) = order_of(&registered, "sz-water");
    app.as_key(&key)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    let res = app
        .as_key(&key)
        .act(&order, json!({"action": "skip_survey", "version": v}))
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("reason".to_owned(), "required".to_owned())]
    );
    let skipped = app
        .as_key(&key)
        .step(
            &order,
            &mut v,
            json!({"action": "skip_survey", "reason": "项目已预登记，前期已完成现场踏勘"}),
        )
        .await;
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
    let res = app
        .as_key(&heat_key)
        .post(
            &format!("/api/v1/applications/{id}/approval-case"),
            json!({"works": [heat, telecom], "place": "沿河大道", "from": from, "to": from}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let case = res.json();
    let dept_item = |d: &str| {
        case["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["department"]["code"] == d)
            .unwrap()
            .clone()
    };
    app.account("zrzy.x", &["approver:sz-zrzy"]).await;
    let zrzy = app.login("zrzy.x", PASSWORD).await;
    let z = dept_item("sz-zrzy");
    let res = app
        .as_session(&zrzy)
        .decide(
            z["id"].as_str().unwrap(),
            json!({"decision": "reject", "opinion": "请调整路由", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let writer = app.key("applications:read,applications:write").await;
    let res = app
        .as_key(&writer)
        .post(
            &format!("/api/v1/applications/{id}/cancel"),
            json!({"reason": "项目暂缓"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let case_path = format!("/api/v1/approval-cases/{}", case["id"].as_str().unwrap());
    let v = app.get_as(&zrzy, &case_path).await.json()["version"].clone();
    let res = app
        .as_key(&heat_key)
        .post(
            &format!("{case_path}/resubmission"),
            json!({"version": v, "note": "改线"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
    app.account("jj.x", &["approver:sz-jj"]).await;
    let jj = app.login("jj.x", PASSWORD).await;
    let j = dept_item("sz-jj");
    let res = app
        .as_session(&jj)
        .decide(
            j["id"].as_str().unwrap(),
            json!({"decision": "approve", "opinion": "同意", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "invalid_transition");
}

/// With the clock standing on a Friday afternoon before the make-up Sunday
/// of 2026-09-20, each stage's deadline is the exact working-time instant.
async fn deadlines_follow_the_working_time_clock(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-09-18T16:30:00+08:00").await;
    let created = app
        .post_json("/api/v1/applications", &water_only(USCC), None)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    // Acceptance: half a working day = 11,700 s. One hour on Friday, none
    // on Saturday, the rest on the make-up Sunday morning.
    assert_eq!(
        created["work_orders"][0]["due_at"],
        "2026-09-20T10:45:00+08:00"
    );
    assert_eq!(created["submitted_at"], "2026-09-18T16:30:00+08:00");
    // Accepted on Sunday at 09:00: the survey's working day runs to Monday 09:00.
    app.set_time("2026-09-20T09:00:00+08:00");
    let key = app.key("workorders:write:sz-water").await;
    let (order, mut v) = order_of(&created, "sz-water");
    let accepted = app
        .as_key(&key)
        .step(&order, &mut v, json!({"action": "accept"}))
        .await;
    assert_eq!(accepted["due_at"], "2026-09-21T09:00:00+08:00");
}
