//! The JSON API end to end, on SQLite and on PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    submit_fans_out_with_deadlines,
    submission_is_one_transaction_with_history,
    validation_reports_every_problem,
    malformed_bodies_are_400,
    oversized_bodies_are_413,
    idempotency_replays_and_conflicts,
    idempotency_races_create_one_application,
    list_filters_and_pages,
    lists_page_by_cursor,
    unknown_ids_are_404,
    hostile_text_is_stored_as_text,
    calendar_endpoints,
    health_and_openapi,
    empty_filters_are_absent,
    unit_filter_outside_the_callers_units_is_refused,
    wrong_methods_answer_the_error_body,
    bodies_that_are_not_json_are_415,
);

async fn get_with(app: &TestApp, key: &str, uri: impl AsRef<str>) -> Answer {
    let auth = format!("Bearer {key}");
    app.request(
        Method::GET,
        uri.as_ref(),
        &[("authorization", &auth)],
        Body::empty(),
    )
    .await
}

async fn submit_fans_out_with_deadlines(backend: Backend) {
    let app = TestApp::new(backend).await;
    let res = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/applications/{id}").as_str())
    );
    let number = body["number"].as_str().unwrap();
    assert!(number.starts_with("LB") && number.len() >= 14, "{number}");
    assert_eq!(body["status"], "submitted");
    assert_eq!(body["applicant"]["uscc"], USCC);
    assert!(body["submitted_at"].as_str().unwrap().ends_with("+08:00"));

    let orders = body["work_orders"].as_array().unwrap();
    // Each order as `service → unit`, in order.
    let routed: Vec<String> = orders
        .iter()
        .map(|o| {
            let unit = o["unit"]["code"].as_str().unwrap();
            format!("{} → {unit}", o["service"].as_str().unwrap())
        })
        .collect();
    let expected = [
        "water → sz-water",
        "power → sz-power",
        "gas → sz-gas",
        "heat → sz-heat",
        "network → sz-telecom",
        "network → sz-mobile",
    ];
    assert_eq!(routed, expected);
    assert_eq!(orders[4]["carrier"], "telecom");
    assert_eq!(orders[1]["unit"]["name"], "国网随州供电公司");
    // Every order: acceptance, open, normal, and due 0.5 working day after submission.
    let submitted = onestop_domain::timefmt::parse(body["submitted_at"].as_str().unwrap()).unwrap();
    let budget = app.state.clock.get().budget_for_days(0.5).unwrap();
    let due = app
        .state
        .clock
        .get()
        .add_working_seconds(submitted.unix_timestamp(), budget)
        .unwrap();
    for o in orders {
        assert_eq!(o["stage"], "acceptance");
        assert_eq!(o["status"], "open");
        assert_eq!(o["level"], "normal");
        assert_eq!(o["version"], 1);
        let due_at = onestop_domain::timefmt::parse(o["due_at"].as_str().unwrap()).unwrap();
        assert!(o["due_at"].as_str().unwrap().ends_with("+08:00"));
        assert!((due_at.unix_timestamp() - due).abs() <= 1, "{o}");
        assert!(due_at > submitted);
    }

    let got = app.get(&format!("/api/v1/applications/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json(), body, "GET returns what POST answered");
}

async fn submission_is_one_transaction_with_history(backend: Backend) {
    let app = TestApp::new(backend).await;
    let res = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let count = app
        .read(move |c| onestop_store::applications::history_count(c, &id))
        .await;
    // One "submitted" event and one per work order.
    assert_eq!(count, 7);
}

async fn validation_reports_every_problem(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut body = five_services();
    body["applicant"]["uscc"] = json!("91421300MA49ABCD18");
    body["contact"]["phone"] = json!("12345");
    body["address"]["district_code"] = json!("110101");
    body["services"]["gas"]["equipment"][0]["quantity"] = json!(0);
    body["services"]["network"]["carriers"] = json!(["unicom"]);
    body["appointment_at"] = json!("2020-01-01T09:00:00+08:00");
    let res = app.post_json("/api/v1/applications", &body, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let json = res.json();
    assert_eq!(json["error"]["code"], "validation_failed");
    let codes = res.field_codes();
    for expected in [
        ("applicant.uscc", "uscc_checksum"),
        ("contact.phone", "invalid_format"),
        ("address.district_code", "unknown_value"),
        ("services.gas.equipment.0.quantity", "out_of_range"),
        ("services.network.carriers.0", "unknown_value"),
        ("appointment_at", "not_in_future"),
    ] {
        assert!(
            codes.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "missing {expected:?} in {codes:?}"
        );
    }
    for f in json["error"]["fields"].as_array().unwrap() {
        let msg = f["message"].as_str().unwrap();
        assert!(
            msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "Chinese: {msg}"
        );
    }
    // Nothing was written.
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // A section for a service not offered, and a missing section.
    let mut body = water_only(USCC);
    body["services"]["electricity"] = json!({});
    body["services"]["gas"] = Value::Null;
    let res = app.post_json("/api/v1/applications", &body, None).await;
    let codes = res.field_codes();
    assert!(
        codes.contains(&("services.electricity".into(), "unknown_value".into())),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("services.gas".into(), "service_details_missing".into())),
        "{codes:?}"
    );
}

/// A POST of `body` as it stands to the applications, with the test client's key.
async fn post_raw(app: &TestApp, body: impl Into<Body>) -> Answer {
    let auth = format!("Bearer {}", app.api_key);
    let headers = [("authorization", auth.as_str())];
    app.request(Method::POST, "/api/v1/applications", &headers, body)
        .await
}

async fn malformed_bodies_are_400(backend: Backend) {
    let app = TestApp::new(backend).await;
    for body in ["", "{", "[1,2]", "\"text\"", "null", "{\"a\":1,}", "\u{0}"] {
        let res = post_raw(&app, body.to_owned()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "body {body:?}");
        assert_eq!(res.json()["error"]["code"], "malformed_body");
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = "[".repeat(100_000);
    let res = post_raw(&app, deep).await;
    assert!(res.status.is_client_error());
}

async fn oversized_bodies_are_413(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut body = five_services();
    body["address"]["detail"] = json!("长".repeat(300_000));
    let res = app.post_json("/api/v1/applications", &body, None).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json()["error"]["code"], "payload_too_large");
    // Without a Content-Length (streamed), the limit holds too.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..100).map(|_| Ok("x".repeat(10_000))).collect();
    let stream = Body::from_stream(futures_stream(chunks));
    let res = post_raw(&app, stream).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A long string under the limit is a field error, not a 413.
    let mut body = five_services();
    body["address"]["detail"] = json!("路".repeat(5_000));
    let res = app.post_json("/api/v1/applications", &body, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.field_codes()
            .contains(&("address.detail".into(), "too_long".into()))
    );
}

fn futures_stream(
    items: Vec<Result<String, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<String, std::io::Error>> + Send + 'static {
    struct Iter(std::vec::IntoIter<Result<String, std::io::Error>>);
    impl futures_core::Stream for Iter {
        type Item = Result<String, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items.into_iter())
}

async fn idempotency_replays_and_conflicts(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = five_services();
    let first = app
        .post_json("/api/v1/applications", &body, Some("order-42"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app
        .post_json("/api/v1/applications", &body, Some("order-42"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.json(), first.json(), "the original response again");
    assert_eq!(again.header("location"), first.header("location"));

    let mut other = body.clone();
    other["contact"]["name"] = json!("王五");
    let conflict = app
        .post_json("/api/v1/applications", &other, Some("order-42"))
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.json()["error"]["code"], "idempotency_conflict");

    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let long = "k".repeat(201);
    let res = app
        .post_json("/api/v1/applications", &body, Some(&long))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

async fn idempotency_races_create_one_application(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = five_services();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let router = app.router.clone();
        let body = body.to_string();
        let auth = format!("Bearer {}", app.api_key);
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post("/api/v1/applications")
                .header("idempotency-key", "race-1")
                .header("authorization", auth)
                .body(Body::from(body))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, json) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{json}");
        ids.insert(json["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every racer sees the same application");
    names_are_refused_or_cleaned(&app).await;
}

/// A name with a direction override is refused beside its field; one with
/// invisible characters is stored without them. Then two applications are listed.
async fn names_are_refused_or_cleaned(app: &TestApp) {
    let mut body = water_only(USCC);
    body["applicant"]["name"] = json!("\u{202e}\u{200b}司公限有ABC");
    let res = app.post_json("/api/v1/applications", &body, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.field_codes(),
        fields(&[("applicant.name", "invalid_format")])
    );
    // Invisible characters are removed, not stored.
    let mut body = water_only(USCC);
    body["applicant"]["name"] = json!("\u{feff}随州\u{200b}示例\u{200d}公司");
    let res = app.post_json("/api/v1/applications", &body, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["applicant"]["name"], "随州示例公司");
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

/// How many items a list answers.
async fn listed(app: &TestApp, uri: &str) -> usize {
    app.get(uri).await.json()["items"].as_array().unwrap().len()
}

async fn list_filters_and_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    for _ in 0..3 {
        app.submit_created(&water_only(USCC)).await;
    }
    app.submit_created(&water_only(OTHER_USCC)).await;

    let page1 = app
        .get(&format!(
            "/api/v1/applications?uscc={}&per_page=2",
            USCC.to_lowercase()
        ))
        .await
        .json();
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    assert_eq!(page1["next_page"], 2);
    assert_eq!(
        page1["items"][0]["work_orders"].as_array().unwrap().len(),
        1
    );
    let page2 = app
        .get(&format!(
            "/api/v1/applications?uscc={USCC}&per_page=2&page=2"
        ))
        .await
        .json();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_eq!(page2["next_page"], Value::Null);
    // Newest first, no overlap.
    let n = |v: &Value| v["number"].as_str().unwrap().to_owned();
    assert!(n(&page1["items"][0]) > n(&page1["items"][1]));
    assert!(n(&page1["items"][1]) > n(&page2["items"][0]));

    let submitted = listed(&app, "/api/v1/applications?status=submitted").await;
    assert_eq!(submitted, 4);
    let completed = listed(&app, "/api/v1/applications?status=completed").await;
    assert_eq!(completed, 0);
    let in_district = listed(&app, "/api/v1/applications?district_code=421321").await;
    assert_eq!(in_district, 4);

    let bad = app
        .get("/api/v1/applications?status=done&page=0&per_page=1000")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = [
        ("status", "unknown_value"),
        ("page", "out_of_range"),
        ("per_page", "out_of_range"),
    ];
    assert_fields_include(&bad, &expected);
}

/// Every list reads its first pages by number and any page by the cursor
/// the previous one gave; on a clock standing still, every application and
/// order shares one instant, so only the id orders them.
async fn lists_page_by_cursor(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-11-27T10:00:00+08:00").await;
    for _ in 0..7 {
        let r = app
            .post_json("/api/v1/applications", &water_only(USCC), None)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let apps = app.api_key.clone();
    let orders = app.key("workorders:read:sz-water").await;
    let items = app.key("approvals:write:sz-zrzy").await;
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for (list, key) in [
        ("/api/v1/applications?", &apps),
        ("/api/v1/work-orders?sort=newest&", &orders),
    ] {
        let get = |uri: String| get_with(&app, key, format!("{list}{uri}"));
        let all = get("per_page=100".into()).await.json();
        assert_eq!(ids(&all).len(), 7, "{list}");
        assert_eq!(all["next_page"], Value::Null);
        assert_eq!(all["next_cursor"], Value::Null);
        let first = get("per_page=3".into()).await.json();
        assert_eq!(first["next_page"], 2, "{list}");
        let by_number = get("per_page=3&page=2".into()).await.json();
        let (mut walked, mut next) = (ids(&first), first["next_cursor"].clone());
        let mut pages = 1;
        while let Some(c) = next.as_str() {
            let page = get(format!("per_page=3&cursor={c}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let page = page.json();
            if pages == 1 {
                assert_eq!(ids(&page), ids(&by_number), "{list}: page 2 either way");
            }
            assert_eq!(
                page["next_page"],
                Value::Null,
                "a page by cursor has no number"
            );
            walked.extend(ids(&page));
            next = page["next_cursor"].clone();
            pages += 1;
        }
        assert_eq!(pages, 3, "{list}");
        assert_eq!(walked, ids(&all), "{list}: every row once, in order");
    }

    // Deep pages by number are refused and point to the cursor.
    let last = app.get("/api/v1/applications?page=100").await;
    assert_eq!(last.status, StatusCode::OK);
    for (list, key) in [
        ("/api/v1/applications", &apps),
        ("/api/v1/work-orders", &orders),
        ("/api/v1/approval-items", &items),
    ] {
        let ok = get_with(&app, key, &format!("{list}?per_page=1")).await;
        assert_eq!(ok.status, StatusCode::OK, "{list}: {}", ok.text());
        let deep = get_with(&app, key, &format!("{list}?page=101")).await;
        assert_eq!(deep.status, StatusCode::UNPROCESSABLE_ENTITY, "{list}");
        assert_eq!(deep.field_codes(), fields(&[("page", "out_of_range")]));
        let message = deep.json()["error"]["fields"][0]["message"].clone();
        assert!(
            message.as_str().unwrap().contains("next_cursor"),
            "{message}"
        );
        for bad in ["zz", "00", "7b7d"] {
            let r = get_with(&app, key, &format!("{list}?cursor={bad}")).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{list} {bad}");
            assert_eq!(r.field_codes(), fields(&[("cursor", "invalid_format")]));
        }
    }
    // A cursor fits only the list and order that gave it, and never beside `page`.
    let first = app.get("/api/v1/applications?per_page=1").await.json();
    let c = first["next_cursor"].as_str().unwrap().to_owned();
    let due = get_with(&app, &orders, "/api/v1/work-orders?per_page=1")
        .await
        .json()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for (key, uri) in [
        (&orders, format!("/api/v1/work-orders?cursor={c}")),
        (
            &orders,
            format!("/api/v1/work-orders?sort=oldest&cursor={due}"),
        ),
        (&apps, format!("/api/v1/applications?page=1&cursor={c}")),
    ] {
        let r = get_with(&app, key, &uri).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        assert_eq!(r.field_codes(), fields(&[("cursor", "invalid_format")]));
    }

    // An account's messages: the same parameters.
    let s = app.signed_in("reader", &["supervisor:sz-zjj"]).await;
    let mine = app.get_as(&s, "/api/v1/notifications").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    assert_eq!(mine.json()["next_cursor"], Value::Null);
    for (uri, field) in [
        ("/api/v1/notifications?page=-1", "page"),
        ("/api/v1/notifications?page=101", "page"),
        ("/api/v1/notifications?cursor=nope", "cursor"),
    ] {
        let r = app.get_as(&s, uri).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        assert_eq!(r.field_codes()[0].0, field, "{uri}");
    }
}

async fn unknown_ids_are_404(backend: Backend) {
    let app = TestApp::new(backend).await;
    for id in ["nope", "01a21e5aea08713fb9cce066a9140143", "' OR 1=1 --"] {
        let res = app
            .get(&format!("/api/v1/applications/{}", urlencode(id)))
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(res.json()["error"]["code"], "not_found");
    }
    let res = app.get("/api/v1/nothing-here").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["error"]["code"], "not_found");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn hostile_text_is_stored_as_text(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut body = water_only(USCC);
    let name = "<script>alert('x')</script>'; DROP TABLE applications; --";
    body["applicant"]["name"] = json!(name);
    body["address"]["detail"] = json!("\"引号\" & <b>粗体</b> 路");
    let res = app.post_json("/api/v1/applications", &body, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let json = res.json();
    assert_eq!(json["applicant"]["name"], name);
    let id = json["id"].as_str().unwrap();
    let page = app.get(&format!("/receipt/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(!html.contains("<script>alert"), "rendered escaped");
    assert!(
        html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<b>粗体</b>"));

    // Control characters, wrong types, unknown fields: 422, never 500.
    let cases = [
        json!({"applicant": {"name": "a\u{0}b", "uscc": USCC}}),
        json!({"applicant": "text", "services": []}),
        json!({"services": {"water": {"business_type": 5, "demand_tons_per_day": "50"}}}),
        json!({"mode": {"x": 1}, "channel": ["api"], "surprise": true}),
        json!({"applicant": {"name": 1e308, "uscc": -1}, "address": {"lng": "east"}}),
        json!({"applicant": {"name": "\u{202e}\u{200b}司公限有ABC", "uscc": USCC}}),
        json!({"contact": {"name": "张\r\n三", "phone": "13800000000"}}),
    ];
    for case in cases {
        let res = app.post_json("/api/v1/applications", &case, None).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{case}: {}",
            res.text()
        );
        assert!(!res.field_codes().is_empty());
    }
    names_are_refused_or_cleaned(&app).await;
}

async fn calendar_endpoints(backend: Backend) {
    let app = TestApp::new(backend).await;
    let day = app.get("/api/v1/calendar/days/2026-02-14").await;
    assert_eq!(day.status, StatusCode::OK);
    assert_eq!(
        day.json(),
        json!({"date": "2026-02-14", "working": true, "kind": "makeup_workday", "name": "春节"})
    );
    let holiday = app.get("/api/v1/calendar/days/2025-10-03").await.json();
    assert_eq!(holiday["kind"], "holiday");
    assert_eq!(holiday["working"], false);
    let weekend = app.get("/api/v1/calendar/days/2026-11-28").await.json();
    assert_eq!(weekend["kind"], "weekend");
    assert!(weekend.get("name").is_none());
    let missing = app.get("/api/v1/calendar/days/2031-05-01").await;
    assert_eq!(missing.status, StatusCode::CONFLICT);
    assert_eq!(missing.json()["error"]["code"], "calendar_year_missing");
    let bad = app.get("/api/v1/calendar/days/2026-02-30").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let dl = app
        .get("/api/v1/calendar/deadline?from=2026-11-27T16:00:00%2B08:00&working_days=1")
        .await;
    assert_eq!(dl.status, StatusCode::OK, "{}", dl.text());
    assert_eq!(
        dl.json(),
        json!({"from": "2026-11-27T16:00:00+08:00", "working_days": 1.0,
               "due_at": "2026-11-30T16:00:00+08:00"})
    );
    // Counted from UTC input, answered in +08:00; through the National Day holiday.
    let dl = app
        .get("/api/v1/calendar/deadline?from=2025-09-30T08:00:00Z&working_days=1")
        .await
        .json();
    assert_eq!(dl["due_at"], "2025-10-09T16:00:00+08:00");
    let bad = app
        .get("/api/v1/calendar/deadline?from=yesterday&working_days=-1")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(
        &bad,
        &[("from", "invalid_format"), ("working_days", "out_of_range")],
    );
    let missing = app
        .get("/api/v1/calendar/deadline?from=2030-12-30T09:00:00%2B08:00&working_days=3")
        .await;
    assert_eq!(missing.status, StatusCode::CONFLICT);
    assert_eq!(missing.json()["error"]["code"], "calendar_year_missing");
}

async fn health_and_openapi(backend: Backend) {
    let app = TestApp::new(backend).await;
    let h = app.get("/healthz").await;
    assert_eq!(h.json(), json!({"status": "ok"}));
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/applications",
        "/api/v1/applications/{id}",
        "/api/v1/calendar/days/{date}",
        "/api/v1/calendar/deadline",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(doc["components"]["schemas"].get("Application").is_some());
    assert!(
        doc["components"]["schemas"]
            .get("ApplicationForm")
            .is_some()
    );
    // The served document carries the city's process: the action codes.
    let actions = &doc["components"]["schemas"]["WorkOrderAction"]["properties"]["action"];
    assert!(
        actions["enum"]
            .as_array()
            .is_some_and(|codes| codes.contains(&json!("accept"))),
        "{actions}"
    );
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
    let create = &doc["paths"]["/api/v1/applications"]["post"];
    for status in ["400", "401", "403", "413", "422"] {
        assert!(create["responses"].get(status).is_some(), "{status}");
    }
    let h = app.get("/healthz").await;
    assert!(h.header("x-request-id").is_some());
    assert_eq!(h.header("x-content-type-options"), Some("nosniff"));
}

/// An empty query value is an absent filter, on every filter alike; an
/// over-long one is refused rather than ignored.
async fn empty_filters_are_absent(backend: Backend) {
    let app = TestApp::new(backend).await;
    for uscc in [USCC, OTHER_USCC] {
        let r = app
            .post_json("/api/v1/applications", &water_only(uscc), None)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let all = app
        .get(
            "/api/v1/applications?uscc=&status=&district_code=&project_code=\
             &submitted_from=&submitted_to=%20&page=&per_page=",
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    assert_eq!(all.json()["items"].as_array().unwrap().len(), 2);
    let long = "9".repeat(65);
    let res = app
        .get(&format!(
            "/api/v1/applications?uscc={long}&district_code={long}"
        ))
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_eq!(
        res.field_codes(),
        fields(&[("uscc", "too_long"), ("district_code", "too_long")])
    );
    let orders = app
        .get("/api/v1/work-orders?unit=&stage=&status=&level=&sort=&page=&per_page=")
        .await;
    assert_eq!(orders.status, StatusCode::OK, "{}", orders.text());
    assert_eq!(orders.json()["items"].as_array().unwrap().len(), 2);
}

/// `?unit=` names a configured unit whose orders the caller may see:
/// another unit is `403`, a code that is no unit `422` on `unit`.
async fn unit_filter_outside_the_callers_units_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.submit_created(&five_services()).await;
    let water = app.key("workorders:read:sz-water").await;
    let as_water = app.as_key(&water);
    let own = as_water.get("/api/v1/work-orders?unit=sz-water").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    assert_eq!(own.json()["items"].as_array().unwrap().len(), 1);
    let other = as_water.get("/api/v1/work-orders?unit=sz-power").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text());
    assert_eq!(other.json()["error"]["code"], "forbidden");
    let unknown = as_water.get("/api/v1/work-orders?unit=sz-nowhere").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.field_codes(), fields(&[("unit", "unknown_value")]));
    // A reader of all applications sees every unit's orders.
    let reader = app.key("applications:read").await;
    let as_reader = app.as_key(&reader);
    let power = as_reader.get("/api/v1/work-orders?unit=sz-power").await;
    assert_eq!(power.status, StatusCode::OK, "{}", power.text());
    assert_eq!(power.json()["items"].as_array().unwrap().len(), 1);
}

/// A method a path does not take is `405` with the API's error body and
/// `Allow`, whatever the method.
async fn wrong_methods_answer_the_error_body(backend: Backend) {
    let app = TestApp::new(backend).await;
    let key = app.key("applications:read").await;
    for (method, path, allow) in [
        (Method::PATCH, "/api/v1/work-orders", "GET"),
        (Method::PUT, "/api/v1/applications/x", "GET"),
        (Method::DELETE, "/api/v1/work-orders/x/actions", "POST"),
        (Method::TRACE, "/api/v1/calendar/deadline", "GET"),
        (Method::POST, "/readyz", "GET"),
        (Method::DELETE, "/api/v1/openapi.json", "GET"),
    ] {
        let res = app.as_key(&key).send(method.clone(), path, None).await;
        assert_eq!(
            res.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "{method} {path}"
        );
        assert_eq!(
            res.json()["error"]["code"],
            "method_not_allowed",
            "{method} {path}"
        );
        assert!(
            res.header("allow").is_some_and(|a| a.contains(allow)),
            "{method} {path}: {:?}",
            res.header("allow")
        );
    }
}

/// Every JSON body goes through one reader: a `Content-Type` that is not
/// JSON is refused before anything is read or written, on every kind of
/// write; JSON types with parameters, `+json` types and none at all are read.
async fn bodies_that_are_not_json_are_415(backend: Backend) {
    let app = TestApp::new(backend).await;
    let auth = format!("Bearer {}", app.api_key);
    let body = five_services().to_string();
    let paths = [
        "/api/v1/applications",
        "/api/v1/work-orders/actions",
        "/api/v1/work-orders/WO-X/actions",
        "/api/v1/applications/X/cancel",
        "/api/v1/applications/X/approval-case",
    ];
    for path in paths {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let res = app
                .request(
                    Method::POST,
                    path,
                    &[("authorization", &auth), ("content-type", ct)],
                    body.clone(),
                )
                .await;
            assert_eq!(
                res.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{path} {ct}"
            );
            assert_eq!(res.json()["error"]["code"], "unsupported_media_type");
        }
    }
    let listed = app.as_key(&app.api_key).get("/api/v1/applications").await;
    assert_eq!(listed.json()["items"], json!([]), "nothing was written");
    for ct in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let res = app
            .request(
                Method::POST,
                "/api/v1/applications",
                &[("authorization", &auth), ("content-type", ct)],
                body.clone(),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{ct}: {}", res.text());
    }
    let res = app
        .request(
            Method::POST,
            "/api/v1/applications",
            &[("authorization", &auth)],
            body,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "no Content-Type: {}",
        res.text()
    );
}
