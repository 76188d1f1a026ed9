//! Every refusal audited, on both databases: 401, 403 (pages, API, scope),
//! a protected page's redirect to the login page, 404 for a record that
//! exists but is hidden, CSRF failures and rate-limit hits each leave
//! exactly the `access_refused` records expected — one per caller, route
//! and reason per minute, with a count — and a flood stays bounded.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{
    OTHER_USCC, PASSWORD, Session, TestApp, USCC, five_services, id_of, order_of, water_only,
};
use onestop_store::audit::{AuditFilter, AuditRecord};
use serde_json::Value;

/// The refusal records so far, oldest first, each with its detail. With
/// `all`, the summaries of the current minute are written first.
async fn refusals(app: &TestApp, all: bool) -> Vec<(AuditRecord, Value)> {
    if all {
        app.state.refusals.flush(&app.state.audit).await;
    }
    app.state.audit.flush().await;
    let mut rows = app
        .read(|c| {
            onestop_store::audit::list(
                c,
                &AuditFilter {
                    action: Some("access_refused".into()),
                    limit: 1000,
                    ..Default::default()
                },
            )
        })
        .await;
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            let d: Value = serde_json::from_str(&r.detail).unwrap();
            (r, d)
        })
        .collect()
}

/// (method, route, reason, count, part) of each record.
fn summary(rows: &[(AuditRecord, Value)]) -> Vec<(String, String, String, u64, String)> {
    rows.iter()
        .map(|(_, d)| {
            (
                d["method"].as_str().unwrap().to_owned(),
                d["route"].as_str().unwrap().to_owned(),
                d["reason"].as_str().unwrap().to_owned(),
                d["count"].as_u64().unwrap(),
                d["part"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(
    m: &str,
    route: &str,
    reason: &str,
    count: u64,
    part: &str,
) -> (String, String, String, u64, String) {
    (m.into(), route.into(), reason.into(), count, part.into())
}

async fn get_with(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> common::Answer {
    app.request(Method::GET, uri, headers, Body::empty()).await
}

async fn signed_in(app: &TestApp, name: &str, grants: &[&str]) -> (String, Session) {
    let id = app.account(name, grants).await;
    let s = app.login(name, PASSWORD).await;
    (id, s)
}

async fn forbidden_unauthenticated_and_scope_refusals(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    let (op_id, op) = signed_in(&app, "op.water", &["operator:sz-water"]).await;
    assert!(refusals(&app, true).await.is_empty(), "nothing refused yet");

    // A signed-in operator on the administrators', supervisors' pages.
    for uri in ["/admin/accounts", "/board", "/supervision"] {
        assert_eq!(
            app.get_as(&op, uri).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    let rows = refusals(&app, false).await;
    assert_eq!(
        summary(&rows),
        vec![
            row("GET", "/admin/accounts", "forbidden", 1, "first"),
            row("GET", "/board", "forbidden", 1, "first"),
            row("GET", "/supervision", "forbidden", 1, "first"),
        ]
    );
    let (r, d) = &rows[0];
    assert_eq!(
        (
            r.actor_kind.as_str(),
            r.actor_id.as_str(),
            r.actor_name.as_str()
        ),
        ("account", op_id.as_str(), "op.water")
    );
    assert_eq!((r.outcome.as_str(), r.ip.as_str()), ("denied", "127.0.0.1"));
    assert_eq!(d["status"], 403);
    assert_eq!(d["capability"], "ManageAccounts");
    assert!(!r.request_id.is_empty());

    // Three more tries in the same minute: counted, written as one record
    // when the minute is over.
    for _ in 0..3 {
        app.get_as(&op, "/admin/accounts").await;
    }
    assert_eq!(refusals(&app, false).await.len(), 3, "not yet");
    let rows = refusals(&app, true).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(
        summary(&rows[3..]),
        vec![row("GET", "/admin/accounts", "forbidden", 3, "rest")]
    );

    // The anonymous: sent to the login page from a page, 401 from the API
    // (no key, a revoked or unknown key).
    let before = rows.len();
    let res = get_with(&app, "/admin/accounts", &[("x-test-peer", "10.0.0.9")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = get_with(&app, "/api/v1/applications", &[("x-test-peer", "10.0.0.9")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let fake = format!("Bearer osk_{}", "0".repeat(64));
    let res = get_with(
        &app,
        "/api/v1/applications",
        &[("x-test-peer", "10.0.0.8"), ("authorization", &fake)],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // An API key without the scope.
    let reader = app.key("applications:read").await;
    let res = app
        .as_key(&reader)
        .post("/api/v1/applications", five_services())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    // Not refusals: a success, a validation error, an unknown page.
    assert_eq!(app.get("/api/v1/applications").await.status, StatusCode::OK);
    let bad = app
        .post_json("/api/v1/applications", &serde_json::json!({}), None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/no-such-page").await.status, StatusCode::NOT_FOUND);

    let rows = refusals(&app, true).await;
    assert_eq!(
        summary(&rows[before..]),
        vec![
            row("GET", "/admin/accounts", "unauthenticated", 1, "first"),
            row("GET", "/api/v1/applications", "unauthenticated", 1, "first"),
            row("GET", "/api/v1/applications", "unauthenticated", 1, "first"),
            row("POST", "/api/v1/applications", "scope", 1, "first"),
        ]
    );
    let anon = &rows[before..];
    assert_eq!(
        (anon[0].0.actor_kind.as_str(), anon[0].0.ip.as_str()),
        ("anonymous", "10.0.0.9")
    );
    assert_eq!(anon[1].0.ip, "10.0.0.9");
    assert_eq!(
        (anon[2].0.ip.as_str(), &anon[2].1["credentials"]),
        ("10.0.0.8", &Value::from("key_rejected"))
    );
    assert_eq!(anon[3].0.actor_kind, "api_key");
    assert_eq!(anon[3].1["status"], 403);

    // The audit page shows them readably.
    let (_, admin) = signed_in(&app, "admin.a", &["admin"]).await;
    let page = app
        .page_as(&admin, "/admin/audit?action=access_refused")
        .await;
    assert!(page.contains("访问被拒绝"), "{page}");
    assert!(
        page.contains("原因：无权限；请求：GET /admin/accounts；所需权限：ManageAccounts"),
        "{page}"
    );
    assert!(
        page.contains(
            "原因：无权限；请求：GET /admin/accounts；本分钟内此后又 3 次（10:00:00–10:00:00）"
        ),
        "{page}"
    );
    assert!(
        page.contains("原因：未登录；请求：GET /api/v1/applications"),
        "{page}"
    );
    assert!(
        page.contains("原因：密钥权限范围不足；请求：POST /api/v1/applications"),
        "{page}"
    );
}

async fn hidden_records_are_refusals(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    let a1 = app.submit(&five_services()).await;
    let a2 = app.submit(&water_only(OTHER_USCC)).await;
    let id1 = id_of(&a1);
    let (power1, _) = order_of(&a1, "sz-power");
    let (water2, _) = order_of(&a2, "sz-water");
    let (_, op) = signed_in(&app, "op.water", &["operator:sz-water"]).await;
    let (_, other) = signed_in(&app, "applicant.b", &[&format!("applicant:{OTHER_USCC}")]).await;
    assert_eq!(a1["applicant"]["uscc"], USCC);

    // Another unit's order: through the API (a session may read) and the page.
    let cookie = op.cookie_header();
    let res = get_with(
        &app,
        &format!("/api/v1/work-orders/{power1}"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        res.json()["error"]["code"],
        "not_found",
        "answered as if absent"
    );
    let res = app.get_as(&op, &format!("/work-orders/{power1}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // …and acting on it.
    let res = app
        .as_session(&op)
        .act(
            &power1,
            serde_json::json!({"action": "accept", "version": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    // Its own unit's order is no refusal; an unknown id is none either.
    assert_eq!(
        app.get_as(&op, &format!("/work-orders/{water2}"))
            .await
            .status,
        StatusCode::OK
    );
    let res = get_with(
        &app,
        "/api/v1/work-orders/no-such-order",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Another enterprise's application.
    let res = get_with(
        &app,
        &format!("/api/v1/applications/{id1}"),
        &[("cookie", &other.cookie_header())],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app.get_as(&other, &format!("/applications/{id1}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let rows = refusals(&app, true).await;
    let got: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|(r, d)| {
            (
                d["method"].as_str().unwrap().to_owned(),
                d["route"].as_str().unwrap().to_owned(),
                d["reason"].as_str().unwrap().to_owned(),
                r.target_kind.clone(),
                r.target_id.clone(),
            )
        })
        .collect();
    let want = |m: &str, route: &str, kind: &str, id: &str| {
        (
            m.to_owned(),
            route.to_owned(),
            "hidden".to_owned(),
            kind.to_owned(),
            id.to_owned(),
        )
    };
    assert_eq!(
        got,
        vec![
            want("GET", "/api/v1/work-orders/{id}", "work_order", &power1),
            want("GET", "/work-orders/{id}", "work_order", &power1),
            want(
                "POST",
                "/api/v1/work-orders/{id}/actions",
                "work_order",
                &power1
            ),
            want("GET", "/api/v1/applications/{id}", "application", &id1),
            want("GET", "/applications/{id}", "application", &id1),
        ]
    );
    assert!(
        rows.iter()
            .all(|(_, d)| d["status"] == 404 && d["count"] == 1)
    );
}

async fn csrf_failures_are_refusals(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    let (_, admin) = signed_in(&app, "admin.a", &["admin"]).await;
    // A login form without its token; an admin form with a wrong one; an
    // API write by a browser session without the header.
    let peer = [("x-test-peer", "10.0.0.5")];
    let res = app
        .post_urlencoded("/login", &peer, "username=a&password=b")
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let verify = "/admin/audit/verify";
    let res = app.post_raw_as(&admin, verify, "csrf_token=wrong").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app
        .request(
            Method::POST,
            "/api/v1/applications",
            &[
                ("cookie", &admin.cookie_header()),
                ("content-type", "application/json"),
            ],
            five_services().to_string(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["error"]["code"], "csrf_failed");

    let rows = refusals(&app, true).await;
    assert_eq!(
        summary(&rows),
        vec![
            row("POST", "/login", "csrf", 1, "first"),
            row("POST", "/admin/audit/verify", "csrf", 1, "first"),
            row("POST", "/api/v1/applications", "csrf", 1, "first"),
        ]
    );
    assert_eq!(
        (rows[0].0.actor_kind.as_str(), rows[0].0.ip.as_str()),
        ("anonymous", "10.0.0.5")
    );
    assert_eq!(rows[1].0.actor_name, "admin.a");
}

/// Issue 11: "rate-limited logins (15 of a 25-attempt burst got 429, none
/// recorded)".
async fn rate_limited_logins_are_counted(backend: Backend) {
    let app = TestApp::with_config_at(backend, "2026-12-01T10:00:00+08:00", |c| {
        c.security.login_per_minute = 10;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let (cookie, token) = TestApp::anon_csrf();
        let body = serde_urlencoded::to_string([
            ("username", "nobody"),
            ("password", "wrong-Passw0rd"),
            ("csrf_token", token.as_str()),
        ])
        .unwrap();
        let res = app
            .request(
                Method::POST,
                "/login",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("cookie", &cookie),
                    ("x-test-peer", "10.9.8.7"),
                ],
                body,
            )
            .await;
        statuses.push(res.status.as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15);
    // The first refusal is on record at once; the other 14 with the minute.
    let rows = refusals(&app, false).await;
    assert_eq!(
        summary(&rows),
        vec![row("POST", "/login", "rate_limited", 1, "first")]
    );
    let rows = refusals(&app, true).await;
    assert_eq!(
        summary(&rows),
        vec![
            row("POST", "/login", "rate_limited", 1, "first"),
            row("POST", "/login", "rate_limited", 14, "rest"),
        ]
    );
    assert!(
        rows.iter()
            .all(|(r, d)| r.ip == "10.9.8.7" && d["status"] == 429)
    );
    // The ten wrong passwords are failed logins, not refusals as well.
    let logins = app
        .read(|c| {
            onestop_store::audit::list(
                c,
                &AuditFilter {
                    action: Some("login".into()),
                    limit: 100,
                    ..Default::default()
                },
            )
        })
        .await;
    assert_eq!(logins.iter().filter(|r| r.outcome == "failure").count(), 10);
}

/// A flood of 10,000 refused requests costs a bounded number of records.
async fn a_flood_is_bounded(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:00+08:00").await;
    // From one address: one record now, one with the count.
    for _ in 0..10_000 {
        let res = get_with(&app, "/api/v1/applications", &[("x-test-peer", "10.1.1.1")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let rows = refusals(&app, true).await;
    assert_eq!(
        summary(&rows),
        vec![
            row("GET", "/api/v1/applications", "unauthenticated", 1, "first"),
            row(
                "GET",
                "/api/v1/applications",
                "unauthenticated",
                9_999,
                "rest"
            ),
        ]
    );

    // From 10,000 addresses, with room for 100 callers a minute: 100 of
    // them one by one, the rest counted together.
    app.state.refusals.set_capacity(100);
    app.state.time.advance_ms(60_000);
    for i in 0..10_000u32 {
        let ip = format!("10.2.{}.{}", i / 250, i % 250);
        let res = get_with(&app, "/api/v1/applications", &[("x-test-peer", &ip)]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let rows = refusals(&app, true).await;
    let flood = &rows[2..];
    assert_eq!(flood.len(), 101, "100 callers and one summary of the rest");
    let counts: u64 = flood
        .iter()
        .map(|(_, d)| d["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counts, 10_000, "every refusal is counted");
    let (over, d) = flood.last().unwrap();
    assert_eq!(
        (over.actor_kind.as_str(), &d["part"], &d["count"]),
        ("many", &Value::from("overflow"), &Value::from(9_900))
    );
    assert!(
        flood[..100]
            .iter()
            .all(|(_, d)| d["count"] == 1 && d["part"] == "first")
    );
}

/// With a hand-set clock: a minute's summary is cut at the minute boundary.
async fn aggregation_cuts_at_the_minute(backend: Backend) {
    let app = TestApp::at_time(backend, "2026-12-01T10:00:59+08:00").await;
    let t0 = app.state.now_ms();
    let refuse = || get_with(&app, "/api/v1/applications", &[("x-test-peer", "10.3.3.3")]);
    for _ in 0..3 {
        refuse().await;
    }
    app.state.time.advance_ms(999); // 10:00:59.999
    refuse().await;
    app.state.time.advance_ms(1); // 10:01:00.000: a new minute
    refuse().await;
    refuse().await;
    let rows = refusals(&app, false).await;
    let at: Vec<(i64, u64, String)> = rows
        .iter()
        .map(|(r, d)| {
            (
                r.at_ms - t0,
                d["count"].as_u64().unwrap(),
                d["part"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        at,
        vec![
            (0, 1, "first".into()),
            (999, 3, "rest".into()),
            (1_000, 1, "first".into()),
        ]
    );
    assert_eq!(
        (
            rows[1].1["first_at"].as_i64(),
            rows[1].1["last_at"].as_i64()
        ),
        (Some(t0), Some(t0 + 999))
    );
    // The next minute's rest waits until that minute is over…
    app.state.time.set_ms(t0 + 60_999);
    app.state
        .refusals
        .flush_ended(&app.state.audit, app.state.now_ms())
        .await;
    assert_eq!(refusals(&app, false).await.len(), 3);
    app.state.time.set_ms(t0 + 61_000); // 10:02:00.000
    app.state
        .refusals
        .flush_ended(&app.state.audit, app.state.now_ms())
        .await;
    let rows = refusals(&app, false).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(
        (
            rows[3].0.at_ms - t0,
            &rows[3].1["count"],
            &rows[3].1["part"]
        ),
        (1_000, &Value::from(1), &Value::from("rest"))
    );
}

use onestop_store::testing::Backend;

on_both_databases!(
    forbidden_unauthenticated_and_scope_refusals,
    hidden_records_are_refusals,
    csrf_failures_are_refusals,
    rate_limited_logins_are_counted,
    a_flood_is_bounded,
    aggregation_cuts_at_the_minute
);
