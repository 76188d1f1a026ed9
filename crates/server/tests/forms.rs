//! Hostile page forms and framework rejections get clean answers; the
//! receipt's query code and the status lookup's limits; sessions hold to
//! their idle timeout.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::params;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;

on_both_databases!(
    the_two_hostile_requests_get_clean_answers,
    apply_keeps_valid_input_and_renumbers_rows,
    small_forms_refuse_what_they_do_not_declare,
    framework_rejections_are_answered_in_house_style,
    receipts_print_the_query_code_to_those_who_may_see_it,
    the_status_lookup_takes_phone_digits_or_the_query_code,
    the_status_lookup_is_limited_per_number,
    older_applications_without_a_code_keep_working,
    an_active_session_outlives_a_short_idle_timeout,
);

/// An anonymous browser: its CSRF cookie and the token of the form page.
async fn browser(app: &TestApp) -> (String, String) {
    let page = app.get("/apply").await;
    let token = csrf_in(&page.text()).expect("token on the form");
    let cookie = set_cookie(&page, "onestop_csrf").expect("CSRF cookie");
    (format!("onestop_csrf={cookie}"), token)
}

async fn post_raw(app: &TestApp, cookie: &str, path: &str, body: String) -> Answer {
    app.request(
        Method::POST,
        path,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", cookie),
        ],
        body,
    )
    .await
}

/// The two requests of the issue: a key of 16,000 dotted segments, and an
/// equipment row numbered 1,000,000. Both are a small 422 page that says
/// part of the form was not recognised; the server goes on serving.
async fn the_two_hostile_requests_get_clean_answers(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (cookie, token) = browser(&app).await;
    let deep = format!(
        "csrf_token={token}&services=water&{}=1",
        vec!["a"; 16_000].join(".")
    );
    assert!(deep.len() > 32_000);
    let res = post_raw(&app, &cookie, "/apply", deep).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.len() < 200_000, "{} bytes", res.body.len());
    let html = res.text();
    assert!(html.contains("id=\"unrecognised-notice\""));
    assert!(html.contains("id=\"sec-water\" data-service=\"water\">"));

    let wide = format!("csrf_token={token}&services=gas&services.gas.equipment.1000000.name=x");
    let res = post_raw(&app, &cookie, "/apply", wide).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.len() < 200_000, "{} bytes", res.body.len());
    let html = res.text();
    assert!(html.contains("id=\"unrecognised-notice\""));
    assert_eq!(html.matches("class=\"eq-row\"").count(), 3, "three rows");
    assert!(!html.contains("equipment.1000000"));

    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

fn gas_form(token: &str, rows: &[(usize, &str, &str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("csrf_token", token),
        ("submission_token", "tok-rows"),
        ("mode", "a_la_carte"),
        ("services", "gas"),
        ("applicant.name", "随州市燃气设备测试有限公司"),
        ("applicant.uscc", USCC),
        ("address.district_code", "421303"),
        ("address.detail", "交通大道8号"),
        ("contact.name", "钱七"),
        ("contact.phone", "13912340000"),
        ("services.gas.category", "small_commercial"),
        ("action", "submit"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (i, name, quantity, pressure) in rows {
        v.push((format!("services.gas.equipment.{i}.name"), name.to_string()));
        v.push((
            format!("services.gas.equipment.{i}.quantity"),
            quantity.to_string(),
        ));
        v.push((
            format!("services.gas.equipment.{i}.pressure"),
            pressure.to_string(),
        ));
    }
    v
}

async fn apply_keeps_valid_input_and_renumbers_rows(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (cookie, token) = browser(&app).await;
    // Rows 7 and 199 (the last the validator takes), an unknown key, and a
    // row beyond the limit: the form comes back with the two rows as rows
    // 0 and 1, everything valid kept, and nothing submitted.
    let mut fields = gas_form(
        &token,
        &[(7, "燃气灶", "4", "2kPa"), (199, "锅炉", "1", "0.4MPa")],
    );
    fields.push((
        "services.gas.equipment.200.name".into(),
        "第二百零一行".into(),
    ));
    fields.push(("applicant.extra.deep".into(), "x".into()));
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let res = post_raw(&app, &cookie, "/apply", body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("id=\"unrecognised-notice\""));
    assert!(html.contains("value=\"随州市燃气设备测试有限公司\""));
    assert!(html.contains("value=\"13912340000\""));
    assert_eq!(html.matches("class=\"eq-row\"").count(), 3);
    assert!(html.contains("name=\"services.gas.equipment.0.name\" value=\"燃气灶\""));
    assert!(html.contains("name=\"services.gas.equipment.1.name\" value=\"锅炉\""));
    assert!(!html.contains("第二百零一行"));
    assert!(!html.contains("equipment.199"));
    let list = app.get("/api/v1/applications").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // The same rows alone submit, in their order.
    let fields = gas_form(
        &token,
        &[(7, "燃气灶", "4", "2kPa"), (199, "锅炉", "1", "0.4MPa")],
    );
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let res = post_raw(&app, &cookie, "/apply", body).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let id = res
        .header("location")
        .unwrap()
        .trim_start_matches("/receipt/")
        .to_owned();
    let stored = app.get(&format!("/api/v1/applications/{id}")).await.json();
    let eq = &stored["services"]["gas"]["equipment"];
    assert_eq!(eq.as_array().unwrap().len(), 2, "{eq}");
    assert_eq!(eq[0]["name"], "燃气灶");
    assert_eq!(eq[1]["name"], "锅炉");

    // An error on the second row lands beside the second row shown.
    let (cookie, token) = browser(&app).await;
    let mut fields = gas_form(
        &token,
        &[(3, "燃气灶", "4", "2kPa"), (50, "锅炉", "两台", "0.4MPa")],
    );
    fields.retain(|(k, _)| k != "submission_token");
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let res = post_raw(&app, &cookie, "/apply", body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(!html.contains("id=\"unrecognised-notice\""));
    let row1 = html
        .find("name=\"services.gas.equipment.1.quantity\"")
        .unwrap();
    assert!(html[row1..row1 + 600].contains("class=\"error\""));
    assert!(html.contains("value=\"两台\""));
}

async fn small_forms_refuse_what_they_do_not_declare(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (cookie, token) = browser(&app).await;
    let long_key = "k".repeat(5_000);
    for (path, body) in [
        (
            "/login",
            format!("csrf_token={token}&username=a&password=b&evil=1"),
        ),
        (
            "/status",
            format!("csrf_token={token}&number=LB1&check=1234&{long_key}=1"),
        ),
        ("/register", format!("csrf_token={token}&uscc=x&uscc.a.b=1")),
        (
            "/status",
            format!("csrf_token={token}&number=LB1&check={}", "9".repeat(20_000)),
        ),
        (
            "/logout",
            format!("csrf_token={token}{}", "&x=1".repeat(10_000)),
        ),
    ] {
        let res = post_raw(&app, &cookie, path, body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(res.text().contains("无法识别"), "{path}");
        assert!(
            res.header("content-type").unwrap().starts_with("text/html"),
            "{path}"
        );
    }
    // Without the token: the CSRF page, whatever the content.
    let res = post_raw(&app, &cookie, "/login", "username=a&evil=1".into()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.text().contains("页面已过期"));
    // The declared fields still work.
    let res = post_raw(
        &app,
        &cookie,
        "/login",
        format!("csrf_token={token}&username=nobody&password=wrong"),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // A staff form: the configured action fields pass, others do not.
    let s = app.signed_in("ops", &["operator:sz-water"]).await;
    let res = app
        .post_form_as(
            &s,
            "/work-orders/nope/actions",
            &[
                ("action", "return_for_correction"),
                ("version", "1"),
                ("reason", "好"),
            ],
        )
        .await;
    assert_ne!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    let res = app
        .post_form_as(
            &s,
            "/work-orders/nope/actions",
            &[("action", "accept"), ("version", "1"), ("x.y.z", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

async fn framework_rejections_are_answered_in_house_style(backend: Backend) {
    let app = TestApp::new(backend).await;
    let auth = format!("Bearer {}", app.api_key);
    let api = |method: Method, path: &'static str| {
        let auth = auth.clone();
        let app = &app;
        async move {
            app.request(
                method,
                path,
                &[("authorization", auth.as_str())],
                Body::empty(),
            )
            .await
        }
    };
    for (method, path, status, code) in [
        (
            Method::DELETE,
            "/api/v1/applications",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/api/v1/applications?page=1&page=2",
            StatusCode::BAD_REQUEST,
            "malformed_query",
        ),
        (
            Method::GET,
            "/api/v1/applications/%FF",
            StatusCode::BAD_REQUEST,
            "malformed_path",
        ),
        (
            Method::GET,
            "/api/v1/calendar/deadline?from=a&from=b",
            StatusCode::BAD_REQUEST,
            "malformed_query",
        ),
        (
            Method::GET,
            "/api/v1/no-such-thing",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PUT,
            "/healthz",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ] {
        let res = api(method.clone(), path).await;
        assert_eq!(res.status, status, "{method} {path}: {}", res.text());
        assert_eq!(res.json()["error"]["code"], code, "{method} {path}");
        let message = res.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(!message.is_ascii(), "Chinese: {message}");
    }
    let res = api(Method::DELETE, "/api/v1/applications").await;
    assert!(res.header("allow").is_some_and(|a| a.contains("POST")));

    // Pages: the Chinese error page, never the framework's plain text.
    let (cookie, token) = browser(&app).await;
    for (method, path, status) in [
        (
            Method::POST,
            "/admin/deliveries/x/retry",
            StatusCode::BAD_REQUEST,
        ),
        (Method::DELETE, "/apply", StatusCode::METHOD_NOT_ALLOWED),
        (Method::PUT, "/status", StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/login?next=a&next=b", StatusCode::BAD_REQUEST),
        (Method::GET, "/no/such/page", StatusCode::NOT_FOUND),
    ] {
        let res = app
            .request(
                method.clone(),
                path,
                &[
                    ("cookie", cookie.as_str()),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                format!("csrf_token={token}"),
            )
            .await;
        assert_eq!(res.status, status, "{method} {path}");
        assert!(
            res.header("content-type").unwrap().starts_with("text/html"),
            "{method} {path}"
        );
        let html = res.text();
        assert!(html.contains("lang=\"zh-CN\""), "{method} {path}: {html}");
        assert!(
            !html.contains("Invalid URL") && !html.contains("Failed to"),
            "{method} {path}"
        );
    }
}

/// Submits the gas form from an anonymous browser; the answer.
async fn submit_from_browser(app: &TestApp) -> Answer {
    let (cookie, token) = browser(app).await;
    let fields = gas_form(&token, &[(0, "燃气灶", "4", "2kPa")]);
    post_raw(
        app,
        &cookie,
        "/apply",
        serde_urlencoded::to_string(&fields).unwrap(),
    )
    .await
}

async fn receipts_print_the_query_code_to_those_who_may_see_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let res = submit_from_browser(&app).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let location = res.header("location").unwrap().to_owned();
    let id = location.trim_start_matches("/receipt/").to_owned();
    let held = set_cookie(&res, "onestop_receipt").expect("the receipt cookie");
    let set = set_cookie_line(&res, "onestop_receipt").unwrap();
    assert!(set.contains(&format!("Path=/receipt/{id}")), "{set}");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));

    // The API resource carries it for a reader of the whole application.
    let stored = app.get(&format!("/api/v1/applications/{id}")).await.json();
    let code = stored["query_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    assert!(
        code.bytes()
            .all(|b| b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(&b))
    );
    assert_eq!(held, code);

    // The browser that submitted sees it on its receipt; nobody else does.
    let mine = app
        .request(
            Method::GET,
            &location,
            &[("cookie", &format!("onestop_receipt={held}"))],
            Body::empty(),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.header("cache-control"), Some("no-store"));
    assert!(mine.text().contains(&format!("id=\"query-code\">{code}<")));
    let public = app.get(&location).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.header("cache-control"), Some("no-store"));
    assert!(!public.text().contains(&code));
    assert!(!public.text().contains("query-code"));
    let forged = app
        .request(
            Method::GET,
            &location,
            &[("cookie", "onestop_receipt=AAAAAAAA")],
            Body::empty(),
        )
        .await;
    assert!(!forged.text().contains(&code));

    // Someone who may read the application in full sees it (an anonymous
    // web submission is not the enterprise's verified filing: staff here).
    let s = app.signed_in("reader", &["supervisor"]).await;
    let full = app.get_as(&s, &location).await;
    assert!(full.text().contains(&format!("id=\"query-code\">{code}<")));
    assert_eq!(full.header("cache-control"), Some("no-store"));
    // Work-order lists (no personal data) never carry it.
    let key = app.key("workorders:read:sz-gas").await;
    let orders = app.as_key(&key).get("/api/v1/work-orders").await;
    assert_eq!(orders.status, StatusCode::OK);
    assert!(!orders.text().contains(&code));
    // A missing receipt is not cached either.
    let missing = app.get("/receipt/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("cache-control"), Some("no-store"));
}

async fn lookup(app: &TestApp, number: &str, check: &str, peer: &str) -> Answer {
    let (cookie, token) = TestApp::anon_csrf();
    let body =
        serde_urlencoded::to_string([("number", number), ("check", check), ("csrf_token", &token)])
            .unwrap();
    app.request(
        Method::POST,
        "/status",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &cookie),
            ("x-test-peer", peer),
        ],
        body,
    )
    .await
}

async fn the_status_lookup_takes_phone_digits_or_the_query_code(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let number = created["number"].as_str().unwrap();
    let code = created["query_code"].as_str().unwrap();
    // Typed loosely: lower case, a space in the middle.
    let typed = format!("{} {}", &code[..4], &code[4..]).to_lowercase();
    for check in [typed.as_str(), code, "4444"] {
        let res = lookup(&app, number, check, "10.1.0.1").await;
        assert_eq!(res.status, StatusCode::OK, "{check}");
        assert_eq!(res.header("cache-control"), Some("no-store"));
        let html = res.text();
        assert!(html.contains(number));
        assert!(!html.contains(code), "the result does not repeat the code");
    }
    let wrong_code: String = code
        .chars()
        .map(|c| if c == '2' { '3' } else { '2' })
        .collect();
    for check in [wrong_code.as_str(), "5555"] {
        let res = lookup(&app, number, check, "10.1.0.1").await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{check}");
        assert_eq!(res.header("cache-control"), Some("no-store"));
        assert!(res.text().contains("未找到匹配的申请"));
    }
    let res = lookup(&app, number, "12345", "10.1.0.1").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("查询码"));
    // The form asks for either, in one field.
    let form = app.get("/status").await.text();
    assert!(form.contains("联系电话后四位或查询码"));
    assert!(form.contains("name=\"check\""));
}

async fn the_status_lookup_is_limited_per_number(backend: Backend) {
    let app = TestApp::with_config_at(backend, "2026-11-27T10:00:00+08:00", |c| {
        c.security.lookup_failures_per_hour = 3;
        c.security.lookup_per_minute = 1000;
    })
    .await;
    let created = app.submit(&water_only(USCC)).await;
    let number = created["number"].as_str().unwrap();
    let code = created["query_code"].as_str().unwrap();
    // Three wrong guesses, each from another address.
    for i in 0..3 {
        let res = lookup(
            &app,
            number,
            &format!("{:04}", 1000 + i),
            &format!("10.2.0.{i}"),
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
    // Now the number takes no phone digits, not even the right ones…
    let res = lookup(&app, number, "4444", "10.2.1.1").await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().contains("查询码"));
    // …but its query code works, and another number is not affected.
    assert_eq!(
        lookup(&app, number, code, "10.2.1.1").await.status,
        StatusCode::OK
    );
    let other = app.submit(&water_only(OTHER_USCC)).await;
    assert_eq!(
        lookup(&app, other["number"].as_str().unwrap(), "4444", "10.2.1.1")
            .await
            .status,
        StatusCode::OK
    );
    // The hour over (10:00 → 11:00), the digits work again.
    app.state.time.advance_ms(59 * 60_000 + 59_999);
    assert_eq!(
        lookup(&app, number, "4444", "10.2.1.2").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "10:59:59.999 is still the same hour"
    );
    app.state.time.advance_ms(1);
    assert_eq!(
        lookup(&app, number, "4444", "10.2.1.2").await.status,
        StatusCode::OK
    );
}

async fn older_applications_without_a_code_keep_working(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&water_only(USCC)).await;
    let number = created["number"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let code = created["query_code"].as_str().unwrap().to_owned();
    let i = id.clone();
    app.write(move |c| {
        c.execute(
            "UPDATE applications SET query_code = NULL WHERE id = $1",
            params![&i],
        )
    })
    .await;
    assert_eq!(
        lookup(&app, &number, "4444", "10.3.0.1").await.status,
        StatusCode::OK
    );
    assert_eq!(
        lookup(&app, &number, &code, "10.3.0.1").await.status,
        StatusCode::NOT_FOUND
    );
    let stored = app.get(&format!("/api/v1/applications/{id}")).await.json();
    assert!(stored.get("query_code").is_none(), "{stored}");
    let receipt = app
        .request(
            Method::GET,
            &format!("/receipt/{id}"),
            &[("cookie", &format!("onestop_receipt={code}"))],
            Body::empty(),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(!receipt.text().contains("query-code"));
}

/// The session's `last_seen_at` as stored.
async fn last_seen(app: &TestApp, s: &Session) -> i64 {
    let hash = onestop_server::auth::token_hash(&s.cookie);
    app.read(move |c| onestop_store::accounts::session_with_account(c, &hash))
        .await
        .expect("the session")
        .0
        .last_seen_at
}

/// Waits until the background touch of a request has been written.
async fn touched(app: &TestApp, s: &Session, at_ms: i64) {
    for _ in 0..500 {
        if last_seen(app, s).await == at_ms {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("last_seen_at never reached {at_ms}");
}

/// With a one-minute idle timeout, a session used every 20 s stays signed
/// in (it is touched every 15 s at most, a quarter of the timeout), and an
/// unused one ends exactly one minute after its last request.
async fn an_active_session_outlives_a_short_idle_timeout(backend: Backend) {
    let app = TestApp::with_config_at(backend, "2026-11-27T10:00:00+08:00", |c| {
        c.security.idle_timeout_minutes = 1;
    })
    .await;
    assert_eq!(onestop_server::auth::touch_every_ms(1), 15_000);
    assert_eq!(onestop_server::auth::touch_every_ms(30), 60_000);
    app.account("busy", &["supervisor"]).await;
    app.account("idle", &["supervisor"]).await;
    let t0 = app.state.now_ms();
    let busy = app.login("busy", PASSWORD).await;
    let idle_a = app.login("idle", PASSWORD).await;
    let idle_b = app.login("idle", PASSWORD).await;
    assert_eq!(last_seen(&app, &busy).await, t0);
    // Ten requests, 20 s apart: 200 s, more than three timeouts.
    for n in 1..=10 {
        app.state.time.advance_ms(20_000);
        let page = app.get_as(&busy, "/account").await;
        assert_eq!(page.status, StatusCode::OK, "request {n} at +{}s", n * 20);
        touched(&app, &busy, t0 + n * 20_000).await;
    }
    let last = t0 + 200_000;
    // One minute after its last request, less a millisecond: still signed in.
    app.state.time.set_ms(last + 59_999);
    assert_eq!(app.get_as(&busy, "/account").await.status, StatusCode::OK);

    // The sessions used only at login: alive at t0 + 59.999 s, out at t0 + 60 s.
    app.state.time.set_ms(t0 + 59_999);
    assert_eq!(app.get_as(&idle_a, "/account").await.status, StatusCode::OK);
    app.state.time.set_ms(t0 + 60_000);
    let out = app.get_as(&idle_b, "/account").await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("location").unwrap().contains("notice=expired"));
}
