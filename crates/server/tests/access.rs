//! The access matrix: every route, for every role (and anonymous, and API
//! keys of each kind), is allowed or refused exactly as intended — on SQLite
//! and on PostgreSQL. A record the caller may not see is `404`, like an
//! unknown id, so ids leak nothing.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(every_route_for_every_subject);

/// Who calls, in the order of the expectation columns.
const SUBJECTS: [&str; 12] = [
    "anonymous",
    "applicant A",
    "applicant B",
    "clerk zd-zwzx",
    "operator water",
    "operator power",
    "approver",
    "supervisor",
    "admin",
    "key applications:read",
    "key applications:write",
    "key workorders:read:sz-power",
];

enum Cred {
    None,
    Session(Session),
    Key(String),
}

/// `0` in an expectation: not asked (API keys on the browser pages).
const SKIP: u16 = 0;

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    expect: [u16; 12],
}

fn row(method: Method, path: impl Into<String>, expect: [u16; 12]) -> Row {
    Row {
        method,
        path: path.into(),
        body: None,
        expect,
    }
}

async fn call(app: &TestApp, cred: &Cred, r: &Row) -> (StatusCode, String) {
    let cookie;
    let auth;
    let mut headers: Vec<(&str, &str)> = Vec::new();
    match cred {
        Cred::None => {}
        Cred::Session(s) => {
            cookie = s.cookie_header();
            headers.push(("cookie", &cookie));
            if r.method != Method::GET {
                headers.push(("x-csrf-token", &s.csrf));
            }
        }
        Cred::Key(k) => {
            auth = format!("Bearer {k}");
            headers.push(("authorization", &auth));
        }
    }
    let body = match &r.body {
        Some(v) => {
            headers.push(("content-type", "application/json"));
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let a = app.request(r.method.clone(), &r.path, &headers, body).await;
    (a.status, a.text())
}

fn window_application() -> Value {
    let mut body = a_la_carte(
        ["随州市窗口代办有限公司", OTHER_USCC],
        ["421303", "擂鼓墩大道1号"],
        ["王五", "13700001111"],
        "window",
        json!({"water": {"business_type": "new_account", "demand_tons_per_day": 3}}),
    );
    body["hall_id"] = json!("zd-zwzx");
    body
}

async fn every_route_for_every_subject(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Three applications: all five services for enterprise A; water only
    // for enterprise B; water for B at zd-zwzx's window.
    let a1 = app.submit(&five_services()).await;
    assert_eq!(a1["applicant"]["uscc"], USCC);
    let a2 = app.submit(&water_only(OTHER_USCC)).await;
    let a3 = app.submit_created(&window_application()).await;
    let (id1, id2, id3) = (id_of(&a1), id_of(&a2), id_of(&a3));
    let (water1, _) = order_of(&a1, "sz-water");
    let (power1, _) = order_of(&a1, "sz-power");

    let mut creds = vec![Cred::None];
    for (name, grants) in [
        ("applicant.a", vec![format!("applicant:{USCC}")]),
        ("applicant.b", vec![format!("applicant:{OTHER_USCC}")]),
        ("clerk.one", vec!["clerk:zd-zwzx".to_owned()]),
        ("op.water", vec!["operator:sz-water".to_owned()]),
        ("op.power", vec!["operator:sz-power".to_owned()]),
        ("approver.zrzy", vec!["approver:sz-zrzy".to_owned()]),
        ("super.zjj", vec!["supervisor:sz-zjj".to_owned()]),
        ("admin.one", vec!["admin".to_owned()]),
    ] {
        let g: Vec<&str> = grants.iter().map(String::as_str).collect();
        app.account(name, &g).await;
        creds.push(Cred::Session(app.login(name, PASSWORD).await));
    }
    for scopes in [
        "applications:read",
        "applications:write",
        "workorders:read:sz-power",
    ] {
        creds.push(Cred::Key(app.key(scopes).await));
    }
    assert_eq!(creds.len(), SUBJECTS.len());

    // A victim account and key for the administrative writes at the end.
    let victim = app.account("victim.user", &["operator:sz-gas"]).await;
    let (victim_key_row, _) = onestop_server::app::accounts::create_api_key(
        &app.state,
        &onestop_server::app::accounts::system_caller("test"),
        "victim",
        "applications:read",
    )
    .await
    .unwrap();

    use Method as M;
    const ALL_OK: [u16; 12] = [200; 12];
    let authed = [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200];
    let mut rows = vec![
        //                                              anon app_a app_b clerk op_w op_p appr sup adm  k_r k_w k_wop
        row(M::GET, "/healthz", ALL_OK),
        row(M::GET, "/readyz", ALL_OK),
        row(M::GET, "/api/v1/openapi.json", ALL_OK),
        row(M::GET, "/api/v1/calendar/days/2026-02-14", authed),
        row(
            M::GET,
            "/api/v1/calendar/deadline?from=2026-11-27T16:00:00%2B08:00&working_days=1",
            authed,
        ),
        row(
            M::GET,
            "/api/v1/applications",
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 200],
        ),
        row(
            M::GET,
            format!("/api/v1/applications/{id1}"),
            [401, 200, 404, 404, 200, 200, 404, 200, 200, 200, 403, 200],
        ),
        row(
            M::GET,
            format!("/api/v1/applications/{id2}"),
            [401, 404, 200, 404, 200, 404, 404, 200, 200, 200, 403, 404],
        ),
        row(
            M::GET,
            format!("/api/v1/applications/{id3}"),
            [401, 404, 200, 200, 200, 404, 404, 200, 200, 200, 403, 404],
        ),
        row(
            M::GET,
            "/api/v1/work-orders",
            [401, 200, 200, 200, 200, 200, 403, 200, 200, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/board",
            [401, 403, 403, 403, 403, 403, 403, 200, 200, 403, 403, 403],
        ),
        row(
            M::GET,
            format!("/api/v1/work-orders/{water1}"),
            [401, 200, 404, 404, 200, 404, 403, 200, 200, 200, 403, 404],
        ),
        row(
            M::GET,
            format!("/api/v1/work-orders/{power1}"),
            [401, 200, 404, 404, 404, 200, 403, 200, 200, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/fee-exceptions",
            [401, 403, 403, 403, 403, 403, 403, 200, 200, 403, 403, 403],
        ),
        row(
            M::GET,
            "/api/v1/notifications",
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403],
        ),
        row(
            M::GET,
            "/api/v1/account/notification-settings",
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403],
        ),
        row(
            M::GET,
            "/api/v1/approval-items",
            [401, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403],
        ),
        row(
            M::GET,
            "/api/v1/approval-cases/no-such-case",
            [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        ),
        Row {
            body: Some(water_only(USCC)),
            ..row(
                M::POST,
                "/api/v1/applications",
                [401, 201, 422, 201, 403, 403, 403, 403, 403, 403, 201, 403],
            )
        },
        // Pages (API keys are for the API; not asked here).
        row(
            M::GET,
            "/",
            [
                200, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/apply",
            [
                200, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/status",
            [
                200, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/receipt/{id1}"),
            [
                200, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/account",
            [
                303, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/applications",
            [
                303, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/applications/{id1}"),
            [
                303, 200, 404, 404, 200, 200, 404, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/applications/{id2}"),
            [
                303, 404, 200, 404, 200, 404, 404, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/applications/{id3}"),
            [
                303, 404, 200, 200, 200, 404, 404, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/workbench",
            [
                303, 200, 200, 200, 200, 200, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/work-orders/{water1}"),
            [
                303, 200, 404, 404, 200, 404, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/work-orders/{power1}"),
            [
                303, 200, 404, 404, 404, 200, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/supervision",
            [
                303, 403, 403, 403, 403, 403, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/board",
            [
                303, 403, 403, 403, 403, 403, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/board/live",
            [
                303, 403, 403, 403, 403, 403, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/board/export.xlsx",
            [
                303, 403, 403, 403, 403, 403, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/notifications",
            [
                303, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/approvals",
            [
                303, 403, 403, 403, 403, 403, 200, 403, 403, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/applications/{id1}/approval-case"),
            [
                303, 403, 404, 404, 403, 403, 403, 403, 403, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/admin/accounts",
            [
                303, 403, 403, 403, 403, 403, 403, 403, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/admin/accounts/new",
            [
                303, 403, 403, 403, 403, 403, 403, 403, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            format!("/admin/accounts/{victim}"),
            [
                303, 403, 403, 403, 403, 403, 403, 403, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/admin/apikeys",
            [
                303, 403, 403, 403, 403, 403, 403, 403, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/account/notifications",
            [
                303, 200, 200, 200, 200, 200, 200, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/admin/calendar",
            [
                303, 403, 403, 403, 403, 403, 403, 403, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/admin/deliveries",
            [
                303, 403, 403, 403, 403, 403, 403, 403, 200, SKIP, SKIP, SKIP,
            ],
        ),
        row(
            M::GET,
            "/admin/audit",
            [
                303, 403, 403, 403, 403, 403, 403, 200, 200, SKIP, SKIP, SKIP,
            ],
        ),
    ];
    // Administrative writes last (they change what they act on). Anonymous
    // callers are sent to sign in; others are forbidden; the admin succeeds.
    let admin_writes = [
        format!("/admin/accounts/{victim}/disable"),
        format!("/admin/accounts/{victim}/enable"),
        format!("/admin/accounts/{victim}/reset-password"),
        format!("/admin/apikeys/{}/revoke", victim_key_row.id),
    ];
    let mut failures = Vec::new();
    for r in rows.drain(..) {
        check_row(&app, &creds, &r, &mut failures).await;
    }
    for path in admin_writes {
        let r = row(
            M::POST,
            path,
            [
                303, 403, 403, 403, 403, 403, 403, 403, SKIP, SKIP, SKIP, SKIP,
            ],
        );
        check_row(&app, &creds, &r, &mut failures).await;
        // The admin: a form post with the session's token succeeds.
        let Cred::Session(s) = &creds[8] else {
            unreachable!()
        };
        let res = app.post_form_as(s, &r.path, &[]).await;
        if !(res.status.is_success() || res.status == StatusCode::SEE_OTHER) {
            failures.push(format!("admin POST {} → {}", r.path, res.status));
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix:\n{}",
        failures.join("\n")
    );
    // Signed-in callers' refused administrative attempts are on record:
    // once each (one caller, route and reason per minute), with what was
    // missing.
    app.state.audit.flush().await;
    let denied = app
        .read(|c| {
            onestop_store::audit::list(
                c,
                &onestop_store::audit::AuditFilter {
                    action: Some("access_refused".into()),
                    limit: 1000,
                    ..Default::default()
                },
            )
        })
        .await;
    let admin_posts: Vec<_> = denied
        .iter()
        .filter(|r| {
            let d: serde_json::Value = serde_json::from_str(&r.detail).unwrap();
            d["method"] == "POST"
                && d["route"].as_str().unwrap().starts_with("/admin/")
                && d["reason"] == "forbidden"
        })
        .collect();
    // Seven signed-in non-administrators × four administrative writes.
    assert_eq!(admin_posts.len(), 7 * 4, "{admin_posts:#?}");
    assert!(admin_posts.iter().all(|r| r.outcome == "denied"
        && r.actor_kind == "account"
        && r.detail.contains("\"capability\":")));
}

async fn check_row(app: &TestApp, creds: &[Cred], r: &Row, failures: &mut Vec<String>) {
    for (i, cred) in creds.iter().enumerate() {
        let want = r.expect[i];
        if want == SKIP {
            continue;
        }
        // Page POSTs carry the CSRF token as a form field.
        let (got, body) = if r.method == Method::POST && r.path.starts_with("/admin/") {
            match cred {
                Cred::Session(s) => {
                    let a = app.post_form_as(s, &r.path, &[]).await;
                    (a.status, a.text())
                }
                _ => {
                    let a = app.post_form(&r.path, &[]).await;
                    (a.status, a.text())
                }
            }
        } else {
            call(app, cred, r).await
        };
        if got.as_u16() != want {
            failures.push(format!(
                "{} {} as {}: got {}, want {want} ({})",
                r.method,
                r.path,
                SUBJECTS[i],
                got.as_u16(),
                body.chars().take(160).collect::<String>()
            ));
        }
        // Refusals of records say nothing about them: a hidden record's 404
        // is the unknown id's 404.
        if got == StatusCode::NOT_FOUND && r.path.starts_with("/api/") {
            let unknown = Row {
                path: format!("{}/{}", r.path.rsplit_once('/').unwrap().0, "0".repeat(32)),
                ..row(r.method.clone(), "", r.expect)
            };
            let (_, unknown_body) = call(app, cred, &unknown).await;
            if unknown_body != body {
                failures.push(format!(
                    "{} as {}: hidden 404 differs from unknown 404",
                    r.path, SUBJECTS[i]
                ));
            }
        }
    }
}
