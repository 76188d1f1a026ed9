//! Signing in and out, sessions, lockout, registration, CSRF, API keys, rate
//! limits and the audit trail of it all — on SQLite and on PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::audit;
use onestop_store::params;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;

on_both_databases!(
    login_logout_and_replayed_cookies,
    forged_idle_and_expired_sessions_are_refused,
    disabled_accounts_and_revoked_keys,
    csrf_is_required_on_every_state_change,
    first_login_forces_a_password_change,
    enterprises_register_and_submit_for_themselves_only,
    logins_registrations_and_lookups_are_rate_limited,
    status_lookup_needs_the_phone_digits,
    the_audit_log_records_logins_and_reads,
    phones_are_masked_in_administrator_lists,
);

async fn audit_actions(app: &TestApp, action: &str) -> Vec<audit::AuditRecord> {
    app.audit_records(action).await
}

async fn get_with(app: &TestApp, auth: &str) -> Answer {
    app.request(
        Method::GET,
        "/api/v1/applications",
        &[("authorization", auth)],
        Body::empty(),
    )
    .await
}

async fn post_as(
    app: &TestApp,
    s: &Session,
    csrf: Option<&str>,
    body: serde_json::Value,
) -> Answer {
    let cookie = s.cookie_header();
    let mut h = vec![
        ("content-type", "application/json"),
        ("cookie", cookie.as_str()),
    ];
    if let Some(t) = csrf {
        h.push(("x-csrf-token", t));
    }
    app.request(Method::POST, "/api/v1/applications", &h, body.to_string())
        .await
}

async fn login_from(app: &TestApp, peer: &str) -> Answer {
    app.try_login_with("someone", "x", &[("x-test-peer", peer)])
        .await
}

async fn set_session(app: &TestApp, s: &Session, column: &'static str, value: i64) {
    let hash = onestop_server::auth::token_hash(&s.cookie);
    app.write(move |c| {
        c.execute(
            &format!("UPDATE sessions SET {column} = $2 WHERE token_hash = $1"),
            params![&hash, value],
        )
    })
    .await;
    // Changed behind the server's back: let the credential cache time pass.
    app.state.credentials.clear();
}

async fn phones_are_masked_in_administrator_lists(backend: Backend) {
    let app = TestApp::new(backend).await;
    let form = [
        ("uscc", USCC),
        ("enterprise_name", "随州市示例商贸有限公司"),
        ("contact_name", "张三"),
        ("phone", "13812345678"),
        ("password", "Shop-2026-ok"),
        ("password_confirm", "Shop-2026-ok"),
    ];
    assert_eq!(
        app.post_form("/register", &form).await.status,
        StatusCode::SEE_OTHER
    );
    app.login("13812345678", "Shop-2026-ok").await;
    let admin = app.signed_in("he.admin", &["admin"]).await;
    app.state.audit.flush().await;
    for page in ["/admin/accounts", "/admin/audit"] {
        let html = app.page_as(&admin, page).await;
        assert!(
            !html.contains("13812345678"),
            "{page} shows a full phone number"
        );
        assert!(html.contains("138****5678"), "{page}: {html}");
    }
}

async fn login_logout_and_replayed_cookies(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.account("wang.admin", &["admin"]).await;
    let res = app.try_login("Wang.Admin", PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.header("location"), Some("/admin/accounts"));
    let raw = set_cookie_line(&res, "onestop_session").unwrap();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Lax"),
        "{raw}"
    );
    assert!(!raw.contains("Secure"), "plain HTTP: no Secure flag: {raw}");
    // Over TLS (as the proxy reports it) the cookie is Secure.
    let https = [("x-forwarded-proto", "https")];
    let tls = app.try_login_with("wang.admin", PASSWORD, &https).await;
    assert!(
        tls.header("set-cookie").unwrap_or("").contains("Secure"),
        "{:?}",
        tls.headers
    );

    let s = app.login("wang.admin", PASSWORD).await;
    let me = app.get_as(&s, "/account").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.text().contains("wang.admin"));
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert_eq!(
        app.as_session(&s).get("/api/v1/applications").await.status,
        StatusCode::OK
    );

    let out = app.post_form_as(&s, "/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The old cookie, replayed, opens nothing.
    let again = app.get_as(&s, "/account").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        again
            .header("location")
            .unwrap()
            .starts_with("/login?next=/account")
    );
    let api = app.as_session(&s).get("/api/v1/applications").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.json()["error"]["code"], "unauthenticated");
}

async fn forged_idle_and_expired_sessions_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.account("zhao.super", &["supervisor"]).await;
    // A forged cookie is no session.
    let forged = Session {
        cookie: onestop_server::auth::random_hex(32),
        csrf: "x".into(),
    };
    let res = app.as_session(&forged).get("/api/v1/applications").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.header("www-authenticate").is_some());
    // Idle for 31 minutes: ended.
    let s = app.login("zhao.super", PASSWORD).await;
    assert_eq!(
        app.as_session(&s).get("/api/v1/applications").await.status,
        StatusCode::OK
    );
    let idle_31_minutes = onestop_store::now_ms() - 31 * 60_000;
    set_session(&app, &s, "last_seen_at", idle_31_minutes).await;
    let idle = app.as_session(&s).get("/api/v1/applications").await;
    assert_eq!(idle.status, StatusCode::UNAUTHORIZED);
    assert_eq!(idle.json()["error"]["message"], "登录已失效，请重新登录");
    let page = app.get_as(&s, "/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.header("location").unwrap().contains("notice=expired"));
    // Idle for 29 minutes: still alive; past its absolute lifetime: ended.
    let s = app.login("zhao.super", PASSWORD).await;
    let idle_29_minutes = onestop_store::now_ms() - 29 * 60_000;
    set_session(&app, &s, "last_seen_at", idle_29_minutes).await;
    assert_eq!(
        app.as_session(&s).get("/api/v1/applications").await.status,
        StatusCode::OK
    );
    set_session(&app, &s, "expires_at", onestop_store::now_ms() - 1).await;
    assert_eq!(
        app.as_session(&s).get("/api/v1/applications").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn disabled_accounts_and_revoked_keys(backend: Backend) {
    let app = TestApp::new(backend).await;
    let id = app.account("sun.clerk", &["clerk:zd-zwzx"]).await;
    let s = app.login("sun.clerk", PASSWORD).await;
    let system = onestop_server::app::accounts::system_caller("test");
    onestop_server::app::accounts::set_disabled(&app.state, &system, &id, true)
        .await
        .unwrap();
    assert_eq!(
        app.get_as(&s, "/account").await.status,
        StatusCode::SEE_OTHER
    );
    let again = app.try_login("sun.clerk", PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    onestop_server::app::accounts::set_disabled(&app.state, &system, &id, false)
        .await
        .unwrap();
    assert_eq!(
        app.try_login("sun.clerk", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let key = app.key("applications:read").await;
    let auth = format!("Bearer {key}");
    assert_eq!(get_with(&app, &auth).await.status, StatusCode::OK);
    let keys = app.read(onestop_store::accounts::list_api_keys).await;
    let row = keys
        .iter()
        .find(|k| key.starts_with(&k.prefix) && k.scopes == "applications:read")
        .unwrap();
    assert!(!key.contains(&row.secret_hash), "stored hashed");
    assert!(
        onestop_server::app::accounts::revoke_api_key(&app.state, &system, &row.id)
            .await
            .unwrap()
    );
    let revoked = get_with(&app, &auth).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.json()["error"]["message"], "API 密钥无效或已被吊销");
    let unknown = get_with(&app, &format!("Bearer osk_{}", "0".repeat(64))).await;
    assert_eq!(
        unknown.json(),
        revoked.json(),
        "unknown and revoked look alike"
    );
    let malformed = get_with(&app, "Basic dXNlcjpwYXNz").await;
    assert_eq!(malformed.status, StatusCode::UNAUTHORIZED);
    let none = app
        .request(Method::GET, "/api/v1/applications", &[], Body::empty())
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json()["error"]["code"], "unauthenticated");
}

async fn csrf_is_required_on_every_state_change(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Anonymous form without a token, or with a token that is not the cookie's.
    let body = "services=water&action=choose";
    let none = app.post_urlencoded("/apply", &[], body).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    let (cookie, _) = TestApp::anon_csrf();
    let other = onestop_server::auth::random_hex(16);
    let forged = format!("{body}&csrf_token={other}");
    let wrong = app
        .post_urlencoded("/apply", &[("cookie", &cookie)], forged)
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.text().contains("页面已过期"));
    assert_eq!(
        app.post_form("/apply", &[("services", "water"), ("action", "choose")])
            .await
            .status,
        StatusCode::OK
    );
    // Another site's page posting here is refused even with the right token.
    let (cookie, token) = TestApp::anon_csrf();
    let elsewhere = [
        ("cookie", cookie.as_str()),
        ("origin", "https://evil.example"),
        ("host", "onestop.example"),
    ];
    let with_token = format!("{body}&csrf_token={token}");
    let cross = app.post_urlencoded("/apply", &elsewhere, with_token).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // Signed in: the session's token, not the anonymous one.
    let s = app
        .signed_in("qian.admin", &["admin", &format!("applicant:{USCC}")])
        .await;
    let logout = app.post_raw_as(&s, "/logout", "csrf_token=").await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_as(&s, "/account").await.status,
        StatusCode::OK,
        "still signed in"
    );
    // The API with a session cookie needs X-CSRF-Token on writes.
    let res = post_as(&app, &s, None, water_only(USCC)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["error"]["code"], "csrf_failed");
    let res = post_as(&app, &s, Some(&s.csrf), water_only(USCC)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

async fn first_login_forces_a_password_change(backend: Backend) {
    let app = TestApp::new(backend).await;
    let system = onestop_server::app::accounts::system_caller("test");
    let created = onestop_server::app::accounts::create_account(
        &app.state,
        &system,
        onestop_server::app::accounts::NewAccountInput {
            username: "zhou.approver".into(),
            display_name: "周审批".into(),
            phone: Some("13900001111".into()),
            grants: vec!["approver:sz-zrzy".into()],
            password: None,
        },
    )
    .await
    .unwrap();
    let temporary = created.temporary_password.expect("generated");
    assert!(onestop_domain::access::check_password(&temporary, "zhou.approver").is_ok());
    let res = app.try_login("zhou.approver", &temporary).await;
    assert_eq!(res.header("location"), Some("/account/password"));
    let s = app.login("zhou.approver", &temporary).await;
    let api = app.as_session(&s).get("/api/v1/applications").await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert_eq!(api.json()["error"]["code"], "password_change_required");
    assert_eq!(
        app.get_as(&s, "/account").await.header("location"),
        Some("/account/password")
    );
    // Weak, mismatched, or a wrong current password: field errors, nothing changes.
    let weak = change_password(&app, &s, "wrong", "short").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(&weak.text(), &["当前密码不正确", "密码至少 8 位"]);
    let ok = change_password(&app, &s, &temporary, "Zhou-2026-new").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let fresh = Session {
        cookie: set_cookie(&ok, "onestop_session").expect("a new session"),
        csrf: String::new(),
    };
    assert_eq!(app.get_as(&fresh, "/account").await.status, StatusCode::OK);
    assert_eq!(
        app.get_as(&s, "/account").await.status,
        StatusCode::SEE_OTHER,
        "old session ended"
    );
    assert_eq!(
        app.try_login("zhou.approver", &temporary).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login("zhou.approver", "Zhou-2026-new").await.status,
        StatusCode::SEE_OTHER
    );
    // The wrong current password is recorded as a failure, the change as a success.
    let changes = audit_actions(&app, "password_changed").await;
    let outcomes: Vec<&str> = changes.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, vec!["success", "failure"]);
}

/// The password form: the current password and the new one, twice.
async fn change_password(app: &TestApp, s: &Session, current: &str, new: &str) -> Answer {
    let form = [
        ("current_password", current),
        ("new_password", new),
        ("new_password_confirm", new),
    ];
    app.post_form_as(s, "/account/password", &form).await
}

async fn enterprises_register_and_submit_for_themselves_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let wrong = [
        ("uscc", "91421300MA49ABCD18"),
        ("enterprise_name", ""),
        ("contact_name", "张三"),
        ("phone", "1380000"),
        ("password", "abcdefgh"),
        ("password_confirm", "abcdefgh"),
    ];
    let bad = app.post_form("/register", &wrong).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    for expected in [
        "e-uscc",
        "e-enterprise_name",
        "e-phone",
        "e-password",
        "统一社会信用代码校验位错误",
        "大写字母、小写字母、数字、符号中的至少三类",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(html.contains("value=\"张三\""), "typed values kept");
    let form = [
        ("uscc", USCC),
        ("enterprise_name", "随州市示例商贸有限公司"),
        ("contact_name", "张三"),
        ("phone", "13800001234"),
        ("password", "Shop-2026-ok"),
        ("password_confirm", "Shop-2026-ok"),
    ];
    let ok = app.post_form("/register", &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(ok.header("location"), Some("/login?notice=registered"));
    // The same number again gets the same answer, and nothing is created.
    let again = app.post_form("/register", &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.header("location"), Some("/login?notice=registered"));

    let s = app.login("13800001234", "Shop-2026-ok").await;
    let own = post_as(&app, &s, Some(&s.csrf), water_only(USCC)).await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text());
    assert_eq!(own.json()["identity_verified"], false, "claim not verified");
    let other = post_as(&app, &s, Some(&s.csrf), water_only(OTHER_USCC)).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.field_codes(),
        fields(&[("applicant.uscc", "not_allowed")])
    );
    // Until its claim is verified the account sees what it submitted
    // itself, not what was filed for the enterprise through a verified
    // channel (here: the test client's integration key).
    let earlier = app.submit(&water_only(USCC)).await;
    assert_eq!(earlier["identity_verified"], true);
    let list = app.as_session(&s).get("/api/v1/applications").await.json();
    let ids = item_ids(&list);
    assert_eq!(ids, vec![id_of(&own.json())], "{list}");
    let earlier_id = earlier["id"].as_str().unwrap();
    let guess = app
        .as_session(&s)
        .get(&format!("/api/v1/applications/{earlier_id}"))
        .await;
    assert_eq!(guess.status, StatusCode::NOT_FOUND, "404, not 403");
    assert_eq!(guess.json()["error"]["code"], "not_found");
    let registered = audit_actions(&app, "account_registered").await;
    let outcomes: Vec<&str> = registered.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, vec!["failure", "success"]);
}

async fn logins_registrations_and_lookups_are_rate_limited(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        c.security.login_per_minute = 3;
        c.security.register_per_hour = 2;
        c.security.lookup_per_minute = 2;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, "10.0.0.1").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = login_from(&app, "10.0.0.1").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.text().contains("过于频繁"));
    assert_eq!(
        login_from(&app, "10.0.0.2").await.status,
        StatusCode::UNAUTHORIZED,
        "per address"
    );
    for expected in [
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        assert_eq!(
            app.post_form("/register", &[("uscc", "x")]).await.status,
            expected
        );
    }
    for expected in [
        StatusCode::NOT_FOUND,
        StatusCode::NOT_FOUND,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let res = app
            .post_form(
                "/status",
                &[("number", "LB202611270001"), ("phone_last4", "1234")],
            )
            .await;
        assert_eq!(res.status, expected);
    }
}

async fn status_lookup_needs_the_phone_digits(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    let number = created["number"].as_str().unwrap();
    let phone = created["contact"]["phone"].as_str().unwrap();
    let last4 = &phone[phone.len() - 4..];
    let contact = created["contact"]["name"].as_str().unwrap();
    let form = app.get(&format!("/status?number={number}")).await;
    assert!(form.text().contains(number), "number prefilled");
    let ok = app
        .post_form("/status", &[("number", number), ("phone_last4", last4)])
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let html = ok.text();
    assert!(html.contains(number));
    assert!(!html.contains(contact), "public view has no contact name");
    assert!(
        !html.contains(phone) && !html.contains(&phone[..7]),
        "nor phone"
    );
    let wrong_digits = app
        .post_form(
            "/status",
            &[
                ("number", number),
                ("phone_last4", if last4 == "9999" { "1111" } else { "9999" }),
            ],
        )
        .await;
    let no_number = app
        .post_form(
            "/status",
            &[("number", "LB209901010001"), ("phone_last4", last4)],
        )
        .await;
    assert_eq!(wrong_digits.status, StatusCode::NOT_FOUND);
    assert_eq!(no_number.status, StatusCode::NOT_FOUND);
    let msg = |a: &Answer| a.text().contains("未找到匹配的申请");
    assert!(msg(&wrong_digits) && msg(&no_number), "one answer for both");
    // The receipt without access is the public view too.
    let id = created["id"].as_str().unwrap();
    let receipt = app.get(&format!("/receipt/{id}")).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(!receipt.text().contains(contact));
    // With access it is the full record, and the read is audited.
    let s = app.signed_in("wu.super", &["supervisor"]).await;
    let full = app.get_as(&s, &format!("/receipt/{id}")).await;
    assert!(full.text().contains(contact));
    let reads = audit_actions(&app, "application_read").await;
    assert!(
        reads
            .iter()
            .any(|r| r.target_id == id && r.actor_name == "wu.super")
    );
}

async fn the_audit_log_records_logins_and_reads(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let id = created["id"].as_str().unwrap();
    let s = app.signed_in("feng.admin", &["admin"]).await;
    let _ = app.try_login("feng.admin", "Wrong-pass1").await;
    let got = app
        .request(
            Method::GET,
            &format!("/api/v1/applications/{id}"),
            &[
                ("cookie", &s.cookie_header()),
                ("x-test-peer", "10.1.2.3"),
                ("x-request-id", "req-audit-1"),
            ],
            Body::empty(),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    let _ = app.get(&format!("/api/v1/applications/{id}")).await;
    app.post_form_as(&s, "/logout", &[]).await;

    let logins = audit_actions(&app, "login").await;
    assert_eq!(logins.iter().filter(|r| r.outcome == "success").count(), 1);
    assert_eq!(logins.iter().filter(|r| r.outcome == "failure").count(), 1);
    let reads = audit_actions(&app, "application_read").await;
    let by_admin = reads
        .iter()
        .find(|r| r.actor_name == "feng.admin")
        .expect("the admin's read");
    assert_eq!(by_admin.target_id, id);
    assert_eq!(by_admin.ip, "10.1.2.3");
    assert_eq!(by_admin.request_id, "req-audit-1");
    assert!(
        reads.iter().any(|r| r.actor_kind == "api_key"),
        "key reads too"
    );
    assert_eq!(audit_actions(&app, "logout").await.len(), 1);
    let report = onestop_server::app::audit_chain::verify(&app.state, Vec::new())
        .await
        .unwrap();
    assert!(report.intact(), "{report:?}");
    assert!(report.checked >= 6);
    // No password, token or key ever reaches the log.
    let all = app.stored_audit().await;
    for r in &all {
        let text = format!("{r:?}");
        assert!(!text.contains(PASSWORD) && !text.contains("Wrong-pass1"));
        assert!(!text.contains(&s.cookie) && !text.contains(&app.api_key));
    }
}
