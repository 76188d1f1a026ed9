//! Login throttling per account and client address, on a hand-set clock:
//! growing waits up to the lock, no way for one address to keep another out,
//! the count starting again after a success or an expired lock, and wrong
//! current passwords on the password page counting too — on SQLite and on
//! PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_domain::lockout::Failures;
use onestop_store::audit;
use onestop_store::testing::Backend;

on_both_databases!(
    waits_grow_per_address_and_another_address_is_never_refused,
    wrong_current_passwords_count_too,
    one_check_at_a_time_and_the_proxys_address_counts,
);

const T0: &str = "2026-12-01T10:00:00+08:00";
const MINUTE: i64 = 60_000;
const A: &str = "10.0.0.7";
const B: &str = "10.0.0.8";

async fn login_from(app: &TestApp, username: &str, password: &str, peer: &str) -> Answer {
    app.try_login_with(username, password, &[("x-test-peer", peer)])
        .await
}

fn error_text(a: &Answer) -> String {
    let t = a.text();
    let i = t.find("id=\"login-error\">").expect("error shown");
    t[i..i + t[i..].find("</p>").unwrap()].to_owned()
}

async fn failures(app: &TestApp, id: &str, address: &str) -> Option<Failures> {
    let (id, address) = (id.to_owned(), address.to_owned());
    app.read(move |c| onestop_store::accounts::login_failures(c, &id, &address))
        .await
}

async fn records(app: &TestApp, action: &str) -> Vec<audit::AuditRecord> {
    app.audit_records(action).await
}

async fn waits_grow_per_address_and_another_address_is_never_refused(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let id = app.account("li.operator", &["operator:sz-water"]).await;
    let t0 = app.state.now_ms();
    let nobody = error_text(&login_from(&app, "nobody.here", "Wrong-pass1", A).await);

    // Two free failures from A.
    for n in 1..=2 {
        let res = login_from(&app, "li.operator", "Wrong-pass1", A).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {n}");
        assert_eq!(
            error_text(&res),
            nobody,
            "the same answer as for no account"
        );
        assert!(
            res.header("set-cookie")
                .is_none_or(|c| !c.contains("onestop_session="))
        );
    }
    let f = failures(&app, &id, A).await.unwrap();
    assert_eq!((f.count, f.blocked_until_ms), (2, t0));

    // The third makes A wait a quarter of the lock: 3¾ minutes.
    login_from(&app, "li.operator", "Wrong-pass1", A).await;
    let wait3 = t0 + 15 * MINUTE / 4;
    assert_eq!(
        failures(&app, &id, A).await,
        Some(Failures {
            count: 3,
            last_ms: t0,
            blocked_until_ms: wait3
        })
    );
    // Meanwhile A is refused even with the right password, with the same answer,
    // and the refusal does not count.
    app.state.time.set_ms(wait3 - 1);
    let refused = login_from(&app, "li.operator", PASSWORD, A).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_text(&refused), nobody);
    assert_eq!(failures(&app, &id, A).await.unwrap().count, 3);
    // B has not failed: the right password works at once, and A still waits.
    let ok = login_from(&app, "li.operator", PASSWORD, B).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(failures(&app, &id, A).await.unwrap().count, 3);

    // At the end of the wait A may try again: the 4th failure waits 7½ minutes,
    // the 5th the whole lock, 15 minutes.
    app.state.time.set_ms(wait3);
    login_from(&app, "li.operator", "Wrong-pass1", A).await;
    let wait4 = wait3 + 15 * MINUTE / 2;
    assert_eq!(
        failures(&app, &id, A).await.unwrap().blocked_until_ms,
        wait4
    );
    app.state.time.set_ms(wait4);
    login_from(&app, "li.operator", "Wrong-pass1", A).await;
    let lock = wait4 + 15 * MINUTE;
    assert_eq!(
        failures(&app, &id, A).await,
        Some(Failures {
            count: 5,
            last_ms: wait4,
            blocked_until_ms: lock
        })
    );
    let locked = records(&app, "account_locked").await;
    assert_eq!(locked.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&locked[0].detail).unwrap();
    assert_eq!(detail["address"], A);
    assert_eq!(detail["locked_until_ms"], lock);
    assert_eq!(locked[0].actor_id, id);
    // B is still never refused.
    app.state.time.set_ms(lock - 1);
    assert_eq!(
        login_from(&app, "li.operator", PASSWORD, B).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        login_from(&app, "li.operator", PASSWORD, A).await.status,
        StatusCode::UNAUTHORIZED
    );

    // When the lock runs out the count starts again: one wrong password does
    // not lock A again (one failure every 15 minutes cannot hold the account).
    app.state.time.set_ms(lock);
    login_from(&app, "li.operator", "Wrong-pass1", A).await;
    assert_eq!(
        failures(&app, &id, A).await,
        Some(Failures {
            count: 1,
            last_ms: lock,
            blocked_until_ms: lock
        })
    );
    assert_eq!(
        login_from(&app, "li.operator", PASSWORD, A).await.status,
        StatusCode::SEE_OTHER
    );
    // A success forgets that address's failures.
    assert_eq!(failures(&app, &id, A).await, None);

    let logins = records(&app, "login").await;
    let failed = logins.iter().filter(|r| r.outcome == "failure").count();
    // 1 unknown + 5 wrong + 2 refused while waiting + 1 after the lock.
    assert_eq!(failed, 9);
    assert_eq!(
        logins
            .iter()
            .filter(|r| r.detail.contains("\"reason\":\"locked\""))
            .count(),
        2
    );
}

async fn wrong_current_passwords_count_too(backend: Backend) {
    let app = TestApp::at_time(backend, T0).await;
    let id = app.account("wang.operator", &["operator:sz-gas"]).await;
    let t0 = app.state.now_ms();
    let s = app.login("wang.operator", PASSWORD).await;
    let change = |current: &'static str| {
        let s = s.clone();
        let app = &app;
        async move {
            app.post_form_as(
                &s,
                "/account/password",
                &[
                    ("current_password", current),
                    ("new_password", "Another-pass-9"),
                    ("new_password_confirm", "Another-pass-9"),
                ],
            )
            .await
        }
    };
    for _ in 0..3 {
        let res = change("Wrong-pass1").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The sign-in address (the test's 127.0.0.1) now waits 3¾ minutes, for
    // the password page and the login page alike.
    let until = t0 + 15 * MINUTE / 4;
    assert_eq!(
        failures(&app, &id, "127.0.0.1")
            .await
            .unwrap()
            .blocked_until_ms,
        until
    );
    let res = change(PASSWORD).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().contains("2026年12月01日 10:03 后再试"),
        "{}",
        res.text()
    );
    assert_eq!(
        app.try_login("wang.operator", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // After the wait the right current password changes it.
    app.state.time.set_ms(until);
    let res = change(PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(failures(&app, &id, "127.0.0.1").await, None);
    let failed: Vec<_> = records(&app, "password_changed")
        .await
        .into_iter()
        .filter(|r| r.outcome == "failure")
        .collect();
    assert_eq!(failed.len(), 3);
}

async fn one_check_at_a_time_and_the_proxys_address_counts(backend: Backend) {
    let app = TestApp::with_config_at(backend, T0, |c| c.security.trust_forwarded_for = true).await;
    let id = app.account("li.operator", &["operator:sz-water"]).await;
    // While a check for this name and address is in progress, another
    // attempt from there is refused unchecked (and not counted).
    let held = app.state.password_checks.enter("li.operator", A).unwrap();
    let refused = login_from(&app, "li.operator", PASSWORD, A).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login_from(&app, "li.operator", PASSWORD, B).await.status,
        StatusCode::SEE_OTHER,
        "another address is not held up"
    );
    drop(held);
    assert_eq!(
        login_from(&app, "li.operator", PASSWORD, A).await.status,
        StatusCode::SEE_OTHER
    );
    let concurrent = records(&app, "login")
        .await
        .into_iter()
        .filter(|r| r.detail.contains("concurrent_attempt"))
        .count();
    assert_eq!(concurrent, 1);

    // Behind the proxy, the address is the last hop of X-Forwarded-For (what
    // the proxy saw), not what the client wrote before it.
    let (cookie, token) = TestApp::anon_csrf();
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let body = serde_urlencoded::to_string([
            ("username", "li.operator"),
            ("password", "Wrong-pass1"),
            ("csrf_token", token.as_str()),
        ])
        .unwrap();
        let forwarded = format!("{forged}, 10.0.0.9");
        let headers = [("cookie", cookie.as_str()), ("x-forwarded-for", &forwarded)];
        app.post_urlencoded("/login", &headers, body).await;
    }
    assert_eq!(failures(&app, &id, "10.0.0.9").await.unwrap().count, 3);
    assert_eq!(failures(&app, &id, "1.1.1.1").await, None);
}
