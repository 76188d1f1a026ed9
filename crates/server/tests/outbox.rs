//! Email and SMS through the durable outbox, on SQLite and PostgreSQL, with a
//! real SMTP server (aiosmtpd, over STARTTLS or TLS with a certificate made
//! for the test) and a local HTTPS receiver as the SMS gateway: who is told
//! on which channel, once; the account's switches; retries with backoff and
//! the give-up limit; a dead relay never slowing a user's action; nothing
//! sent to a relay or gateway that is not trusted or does not encrypt.

mod common;

use axum::http::StatusCode;
use common::sms_gateway::Gateway;
use common::smtp::{Mode, Relay, SmtpServer, free_port};
use common::tls::TestCert;
use common::*;
use onestop_domain::config::{CityConfig, EmailConfig, SmsConfig, SmtpTls};
use onestop_server::jobs::delivery::{Deliverer, Report, deliver_once};
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use serde_json::json;

const FRIDAY: &str = "2026-09-18T16:30:00+08:00";

/// The relay's account, and the password the environment holds for it.
const SMTP_USER: &str = "onestop";
const SMTP_PASSWORD: &str = "relay-s3cret";
const SMS_TOKEN: &str = "gw-t0ken";

on_both_databases!(
    warnings_reach_email_and_sms_once,
    failed_attempts_back_off_then_give_up,
    settings_switch_channels,
    mail_over_implicit_tls,
    untrusted_or_unencrypted_peers_get_nothing,
);

/// The process environment, as far as these tests need it.
fn secrets(var: &str) -> Option<String> {
    match var {
        "TEST_SMTP_PASSWORD" => Some(SMTP_PASSWORD.into()),
        "TEST_SMS_TOKEN" => Some(SMS_TOKEN.into()),
        _ => None,
    }
}

fn deliverer(config: &CityConfig) -> Deliverer {
    Deliverer::with_secrets(config, &secrets).expect("the transports")
}

/// A relay on this machine: `tls`, logging in when `login`, trusting `ca`.
fn email(port: u16, tls: SmtpTls, ca: Option<String>, login: bool) -> EmailConfig {
    EmailConfig {
        smtp_host: "127.0.0.1".into(),
        smtp_port: Some(port),
        tls,
        username: login.then(|| SMTP_USER.into()),
        password_env: login.then(|| "TEST_SMTP_PASSWORD".into()),
        ca_file: ca,
        from: "noreply@onestop.example.gov.cn".into(),
        from_name: "联合报装".into(),
        helo: None,
        timeout_seconds: 5,
    }
}

/// The gateway at `endpoint` (plain http:// allowed, it being local),
/// trusting `ca`, with the bearer token.
fn sms(endpoint: &str, ca: Option<String>) -> SmsConfig {
    SmsConfig {
        gateway: "http_json".into(),
        endpoint: endpoint.into(),
        allow_plain_http: endpoint.starts_with("http://"),
        ca_file: ca,
        token_env: Some("TEST_SMS_TOKEN".into()),
        sign: "联合报装".into(),
        template: "【{sign}】{title}。{body}".into(),
        timeout_seconds: 5,
    }
}

fn notify(c: &mut CityConfig, mail: EmailConfig, sms: SmsConfig) {
    c.notify.max_attempts = 3;
    c.notify.retry_base_seconds = 30;
    c.notify.retry_max_seconds = 3_600;
    c.notify.public_url = Some("https://onestop.example.gov.cn".into());
    c.notify.email = Some(mail);
    c.notify.sms = Some(sms);
}

/// Gives an account an email address and a mobile number.
async fn reach(app: &TestApp, username: &str, email: Option<&str>, phone: Option<&str>) {
    let (u, e, p) = (
        username.to_owned(),
        email.map(str::to_owned),
        phone.map(str::to_owned),
    );
    app.write(move |c| {
        c.execute(
            "UPDATE accounts SET email = $2, phone = $3 WHERE username = $1",
            onestop_store::params![&u, e.as_deref(), p.as_deref()],
        )
    })
    .await;
}

async fn deliver(app: &TestApp, d: &Deliverer) -> Report {
    deliver_once(&app.state, d).await.expect("a delivery round")
}

async fn rows(app: &TestApp) -> Vec<onestop_store::outbox::Delivery> {
    app.read(|c| onestop_store::outbox::list(c, None, 1_000))
        .await
}

/// The handler's operator by email and SMS on warning; the operator and the
/// supervisor on overdue; the enterprise on acceptance; each message once
/// however often the worker runs, and nobody who switched the channel off.
async fn warnings_reach_email_and_sms_once(backend: Backend) {
    let cert = TestCert::new();
    let smtp = SmtpServer::start_relay(
        Relay::tls(free_port(), Mode::Starttls, &cert.cert, &cert.key)
            .login(SMTP_USER, SMTP_PASSWORD),
    );
    let gateway = Gateway::start_https(&cert.cert_pem, &cert.key_pem).await;
    let endpoint = gateway.endpoint();
    assert!(endpoint.starts_with("https://"));
    let port = smtp.addr.port();
    let app = TestApp::with_config_at(backend, FRIDAY, |c| {
        notify(
            c,
            email(port, SmtpTls::Starttls, cert.ca_file(), true),
            sms(&endpoint, cert.ca_file()),
        )
    })
    .await;
    app.state.config.validate().expect("a valid configuration");
    app.account("water.op", &["operator:sz-water"]).await;
    app.account("water.quiet", &["operator:sz-water"]).await;
    app.account("sup", &["supervisor:sz-zjj"]).await;
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    reach(
        &app,
        "water.op",
        Some("op@water.example.cn"),
        Some("13800000001"),
    )
    .await;
    reach(
        &app,
        "water.quiet",
        Some("quiet@water.example.cn"),
        Some("13800000002"),
    )
    .await;
    reach(&app, "sup", Some("sup@zjj.example.cn"), None).await;
    reach(
        &app,
        "ent.a",
        Some("boss@ent.example.cn"),
        Some("13800000004"),
    )
    .await;
    // One operator wants neither email nor SMS.
    let quiet = app.login("water.quiet", PASSWORD).await;
    let res = app
        .as_session(&quiet)
        .put(
            "/api/v1/account/notification-settings",
            json!({"email": "quiet@water.example.cn", "in_app": true, "email_enabled": false, "sms_enabled": false}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let d = deliverer(&app.state.config);

    let created = app.submit(&water_only(USCC)).await;
    let number = created["number"].as_str().unwrap().to_owned();
    let oid = first_order(&created);
    // The new order reaches the operator by email and SMS at once.
    assert_eq!(
        deliver(&app, &d).await,
        Report {
            sent: 2,
            retrying: 0,
            given_up: 0
        }
    );
    let mail = smtp.wait_for(1, 10);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].to, "op@water.example.cn");
    assert!(
        mail[0].subject.starts_with(&format!("新工单：{number}")),
        "{:?}",
        mail[0]
    );
    assert!(
        mail[0]
            .text
            .contains("请于 2026年09月20日 10:45 前受理或退回补正"),
        "{}",
        mail[0].text
    );
    // Warning at Sunday 09:56:15 (the make-up working day).
    app.set_time("2026-09-20T09:56:15+08:00");
    app.sweep().await;
    assert_eq!(
        deliver(&app, &d).await,
        Report {
            sent: 2,
            retrying: 0,
            given_up: 0
        }
    );
    assert_eq!(deliver(&app, &d).await, Report::default(), "nothing twice");
    let mail = smtp.wait_for(2, 10);
    assert_eq!(mail.len(), 2, "{mail:?}");
    // (The relay keeps no order.)
    let warning = mail
        .iter()
        .find(|m| m.subject.starts_with(&format!("工单预警：{number}")))
        .unwrap_or_else(|| panic!("no warning: {mail:?}"));
    assert_eq!(warning.to, "op@water.example.cn");
    // Over TLS (after STARTTLS), logged in with the password from the
    // environment.
    assert!(warning.tls.starts_with("TLSv1."), "{warning:?}");
    assert_eq!(warning.auth, SMTP_USER);
    assert_eq!(smtp.logins(), vec![(SMTP_USER.to_owned(), true)]);
    assert!(
        warning.text.contains("请于 2026年09月20日 10:45 前办结"),
        "{}",
        warning.text
    );
    assert!(
        warning
            .text
            .contains(&format!("https://onestop.example.gov.cn/work-orders/{oid}")),
        "{}",
        warning.text
    );
    let texts = gateway.received();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts[1].to, "13800000001");
    assert!(
        texts[0].text.starts_with("【联合报装】新工单："),
        "{}",
        texts[0].text
    );
    assert!(
        texts[1].text.starts_with("【联合报装】工单预警："),
        "{}",
        texts[1].text
    );
    assert_eq!(texts[1].id, texts[1].idempotency_key);
    assert!(texts[1].id.starts_with("onestop-"), "{:?}", texts[1]);
    assert_eq!(texts[1].authorization, format!("Bearer {SMS_TOKEN}"));
    assert_eq!(texts[1].content_type, "application/json");

    // Overdue on Monday: the operator and the supervisor (who has no phone).
    app.set_time("2026-09-21T08:00:00+08:00");
    app.sweep().await;
    app.sweep().await;
    let (a, b) = tokio::join!(deliver_once(&app.state, &d), deliver_once(&app.state, &d));
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 3, "two emails, one SMS");
    let mail = smtp.wait_for(4, 10);
    let mut to: Vec<(String, bool)> = mail
        .iter()
        .map(|m| (m.to.clone(), m.subject.starts_with("工单超期")))
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            ("op@water.example.cn".to_owned(), false),
            ("op@water.example.cn".to_owned(), false),
            ("op@water.example.cn".to_owned(), true),
            ("sup@zjj.example.cn".to_owned(), true),
        ]
    );
    assert_eq!(gateway.received().len(), 3);
    // The quiet operator still has all three messages in the app.
    let s = app.login("water.quiet", PASSWORD).await;
    let inbox = app.get_as(&s, "/api/v1/notifications").await.json();
    assert_eq!(inbox["items"].as_array().unwrap().len(), 3);

    // The enterprise hears of the acceptance by every channel.
    let key = app.key("workorders:write:sz-water").await;
    app.as_key(&key).accept(&oid).await;
    assert_eq!(deliver(&app, &d).await.sent, 2);
    let mail = smtp.wait_for(5, 10);
    let ent: Vec<_> = mail
        .iter()
        .filter(|m| m.to == "boss@ent.example.cn")
        .collect();
    assert_eq!(ent.len(), 1);
    assert!(ent[0].subject.starts_with("申请进度："), "{:?}", ent[0]);
    assert!(ent[0].text.contains("受理"), "{}", ent[0].text);
    let texts = gateway.received();
    assert_eq!(texts.last().unwrap().to, "13800000004");
    // Every message id is distinct; every row is sent, once.
    let mut ids: Vec<String> = mail.iter().map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    let all = rows(&app).await;
    assert_eq!(all.len(), 9);
    assert!(
        all.iter().all(|r| r.status == "sent" && r.attempts == 1),
        "{all:?}"
    );
    assert!(
        mail.iter()
            .all(|m| m.tls.starts_with("TLSv1.") && m.auth == SMTP_USER),
        "{mail:?}"
    );
    // Each email's Message-ID is its row's, the same for every attempt.
    let mut from_rows: Vec<String> = all
        .iter()
        .filter(|r| r.channel == "email")
        .map(|r| {
            format!(
                "<onestop-{}-{}@onestop.example.gov.cn>",
                r.id, r.created_at_ms
            )
        })
        .collect();
    from_rows.sort();
    assert_eq!(ids, from_rows);
}

/// A refusing gateway is tried again after 30 s and 60 s; an unreachable
/// relay is given up after three attempts and the error kept; the action
/// that queued the messages never waits for either.
async fn failed_attempts_back_off_then_give_up(backend: Backend) {
    let gateway = Gateway::start().await;
    let endpoint = gateway.endpoint();
    let dead = free_port();
    let app = TestApp::with_config_at(backend, FRIDAY, |c| {
        notify(
            c,
            email(dead, SmtpTls::None, None, false),
            sms(&endpoint, None),
        )
    })
    .await;
    app.state
        .config
        .validate()
        .expect("plain to this machine, allowed");
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    reach(
        &app,
        "ent.a",
        Some("boss@ent.example.cn"),
        Some("13800000004"),
    )
    .await;
    let d = deliverer(&app.state.config);
    let created = app.submit(&water_only(USCC)).await;
    let oid = first_order(&created);
    let key = app.key("workorders:write:sz-water").await;
    let started = std::time::Instant::now();
    app.as_key(&key).accept(&oid).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));

    gateway.answer(&[503, 429]);
    assert_eq!(
        deliver(&app, &d).await,
        Report {
            sent: 0,
            retrying: 2,
            given_up: 0
        }
    );
    let by = |rows: &[onestop_store::outbox::Delivery], ch: &str| {
        rows.iter().find(|r| r.channel == ch).cloned().unwrap()
    };
    let now = app.state.now_ms();
    let r = rows(&app).await;
    assert_eq!(by(&r, "sms").next_attempt_at_ms, now + 30_000);
    assert!(
        by(&r, "email")
            .last_error
            .as_deref()
            .unwrap()
            .contains("无法连接邮件服务器")
    );
    assert!(
        !by(&r, "email").last_error.unwrap().contains("boss@"),
        "no address in errors"
    );
    // Not before its time.
    app.state.time.advance_ms(29_999);
    assert_eq!(deliver(&app, &d).await, Report::default());
    app.state.time.advance_ms(1);
    assert_eq!(
        deliver(&app, &d).await,
        Report {
            sent: 0,
            retrying: 2,
            given_up: 0
        }
    );
    assert_eq!(
        by(&rows(&app).await, "sms").next_attempt_at_ms,
        app.state.now_ms() + 60_000
    );
    app.state.time.advance_ms(60_000);
    assert_eq!(
        deliver(&app, &d).await,
        Report {
            sent: 1,
            retrying: 0,
            given_up: 1
        }
    );
    let r = rows(&app).await;
    let (sms, email) = (by(&r, "sms"), by(&r, "email"));
    assert_eq!((sms.status.as_str(), sms.attempts), ("sent", 3));
    assert_eq!((email.status.as_str(), email.attempts), ("failed", 3));
    assert!(email.last_error.is_some());
    let texts = gateway.received();
    assert_eq!(texts.len(), 3);
    assert!(
        texts
            .iter()
            .all(|t| t.idempotency_key == texts[0].idempotency_key)
    );
    // Given up is final.
    app.state.time.advance_ms(86_400_000);
    assert_eq!(deliver(&app, &d).await, Report::default());

    // A gateway's refusal of the request itself is not retried.
    gateway.answer(&[400]);
    let created = app.submit(&water_only(USCC)).await;
    let oid = first_order(&created);
    app.as_key(&key).accept(&oid).await;
    let report = deliver(&app, &d).await;
    assert_eq!(report.sent, 0);
    assert_eq!(report.given_up, 1, "{report:?}");
    assert_eq!(report.retrying, 1, "the email waits for its relay");

    // Administrators see what was given up, masked, and can send it again.
    let admin = app.signed_in("admin", &["admin"]).await;
    let page = app.get_as(&admin, "/admin/deliveries").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("已放弃 2 条"), "{html}");
    assert!(html.contains("b***@ent.example.cn"), "{html}");
    assert!(
        !html.contains("boss@ent.example.cn"),
        "addresses are masked"
    );
    assert!(html.contains("无法连接邮件服务器"), "{html}");
    let given_up = rows(&app)
        .await
        .into_iter()
        .find(|r| r.channel == "email" && r.status == "failed")
        .unwrap()
        .id;
    let res = app
        .post_form_as(&admin, &format!("/admin/deliveries/{given_up}/retry"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let again = rows(&app)
        .await
        .into_iter()
        .find(|r| r.id == given_up)
        .unwrap();
    assert_eq!((again.status.as_str(), again.attempts), ("pending", 0));
    let twice = app
        .post_form_as(&admin, &format!("/admin/deliveries/{given_up}/retry"), &[])
        .await;
    // Refused (it is pending again): back to the list, which says why.
    assert_eq!(twice.status, StatusCode::SEE_OTHER);
    assert_eq!(
        twice.header("location"),
        Some("/admin/deliveries?refused=not_failed")
    );
    let ent = app.login("ent.a", PASSWORD).await;
    assert_eq!(
        app.get_as(&ent, "/admin/deliveries").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The settings page and API: defaults, a bad address named beside its
/// field, switches stored, in-app messages switched off.
async fn settings_switch_channels(backend: Backend) {
    let app = TestApp::with_config_at(backend, FRIDAY, |c| {
        notify(
            c,
            email(free_port(), SmtpTls::Starttls, None, false),
            sms("http://127.0.0.1:9/sms", None),
        )
    })
    .await;
    let s = app
        .signed_in("ent.a", &[&format!("applicant:{USCC}")])
        .await;
    let got = app
        .get_as(&s, "/api/v1/account/notification-settings")
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.json(),
        json!({"email": null, "phone": null, "in_app": true, "email_enabled": true,
               "sms_enabled": true, "email_available": true, "sms_available": true})
    );
    let bad = app
        .as_session(&s)
        .put(
            "/api/v1/account/notification-settings",
            json!({"email": "boss@ent", "in_app": true, "email_enabled": "yes", "sms_enabled": true}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.field_codes(),
        fields(&[("email_enabled", "invalid_format")])
    );
    let bad = app
        .as_session(&s)
        .put(
            "/api/v1/account/notification-settings",
            json!({"email": "boss@ent", "in_app": true, "email_enabled": true, "sms_enabled": true}),
        )
        .await;
    assert_eq!(bad.field_codes(), fields(&[("email", "invalid_format")]));
    // The page names the field too, and keeps what was typed.
    let page = app
        .post_form_as(
            &s,
            "/account/notifications",
            &[("email", "boss at ent"), ("email_enabled", "on")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = page.text();
    assert!(html.contains("id=\"e-email\""), "{html}");
    assert!(html.contains("value=\"boss at ent\""));
    let ok = app
        .post_form_as(
            &s,
            "/account/notifications",
            &[("email", " Boss@Ent.Example.CN "), ("email_enabled", "on")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let got = app
        .get_as(&s, "/api/v1/account/notification-settings")
        .await
        .json();
    assert_eq!(got["email"], "boss@ent.example.cn");
    assert_eq!(
        (
            got["in_app"].clone(),
            got["email_enabled"].clone(),
            got["sms_enabled"].clone()
        ),
        (json!(false), json!(true), json!(false))
    );
    let page = app.page_as(&s, "/account/notifications?saved=1").await;
    assert!(page.contains("通知设置已保存"));
    // With in-app off, progress comes by email only.
    let created = app.submit(&water_only(USCC)).await;
    let oid = first_order(&created);
    let key = app.key("workorders:write:sz-water").await;
    app.as_key(&key).accept(&oid).await;
    let inbox = app.get_as(&s, "/api/v1/notifications").await.json();
    assert!(inbox["items"].as_array().unwrap().is_empty(), "{inbox}");
    let r = rows(&app).await;
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].channel.as_str(), r[0].address.as_str()),
        ("email", "boss@ent.example.cn")
    );
    // Only accounts have settings; the change is audited.
    let key = app.get("/api/v1/account/notification-settings").await;
    assert_eq!(
        key.status,
        StatusCode::FORBIDDEN,
        "an API key is not an account"
    );
    let anon = app
        .as_nobody()
        .get("/api/v1/account/notification-settings")
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let audited = app
        .read(|c| {
            c.query_opt(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'notification_settings_changed'",
                &[],
            )
        })
        .await
        .unwrap()
        .int(0)
        .unwrap();
    assert_eq!(audited, 1);
}

/// TLS from the first byte (SMTPS), logging in over it.
async fn mail_over_implicit_tls(backend: Backend) {
    let cert = TestCert::new();
    let smtp = SmtpServer::start_relay(
        Relay::tls(free_port(), Mode::Implicit, &cert.cert, &cert.key)
            .login(SMTP_USER, SMTP_PASSWORD),
    );
    let port = smtp.addr.port();
    let app = TestApp::with_config_at(backend, FRIDAY, |c| {
        notify(
            c,
            email(port, SmtpTls::Implicit, cert.ca_file(), true),
            sms("http://127.0.0.1:9/sms", None),
        );
        c.notify.sms = None;
    })
    .await;
    app.state.config.validate().expect("a valid configuration");
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    reach(&app, "ent.a", Some("boss@ent.example.cn"), None).await;
    let d = deliverer(&app.state.config);
    let key = app.key("workorders:write:sz-water").await;
    for _ in 0..2 {
        let created = app.submit(&water_only(USCC)).await;
        let oid = first_order(&created);
        app.as_key(&key).accept(&oid).await;
        assert_eq!(deliver(&app, &d).await.sent, 1);
    }
    let mail = smtp.wait_for(2, 10);
    assert_eq!(mail.len(), 2, "{mail:?}");
    for m in &mail {
        assert_eq!(m.to, "boss@ent.example.cn");
        assert!(m.tls.starts_with("TLSv1."), "{m:?}");
        assert_eq!(m.auth, SMTP_USER);
        assert!(m.subject.starts_with("申请进度："), "{m:?}");
    }
    assert_ne!(mail[0].message_id, mail[1].message_id);
    // The second message went over the pooled connection: one login.
    assert_eq!(smtp.logins(), vec![(SMTP_USER.to_owned(), true)]);
}

/// A relay that offers no STARTTLS, a relay or gateway whose certificate is
/// not trusted, and a refused password: nothing is sent, each attempt is
/// recorded with an error that says why (and holds neither the address nor
/// the password), and the messages wait for another attempt — which
/// succeeds once the relay and gateway can be trusted.
async fn untrusted_or_unencrypted_peers_get_nothing(backend: Backend) {
    let (cert, stranger) = (TestCert::new(), TestCert::new());
    let good = SmtpServer::start_relay(
        Relay::tls(free_port(), Mode::Starttls, &cert.cert, &cert.key)
            .login(SMTP_USER, SMTP_PASSWORD),
    );
    let plain = SmtpServer::start();
    let impostor = SmtpServer::start_relay(
        Relay::tls(free_port(), Mode::Starttls, &stranger.cert, &stranger.key)
            .login(SMTP_USER, SMTP_PASSWORD),
    );
    let gateway = Gateway::start_https(&cert.cert_pem, &cert.key_pem).await;
    let fake_gateway = Gateway::start_https(&stranger.cert_pem, &stranger.key_pem).await;
    let (good_port, endpoint) = (good.addr.port(), gateway.endpoint());
    let app = TestApp::with_config_at(backend, FRIDAY, |c| {
        notify(
            c,
            email(good_port, SmtpTls::Starttls, cert.ca_file(), true),
            sms(&endpoint, cert.ca_file()),
        )
    })
    .await;
    app.account("ent.a", &[&format!("applicant:{USCC}")]).await;
    reach(
        &app,
        "ent.a",
        Some("boss@ent.example.cn"),
        Some("13800000004"),
    )
    .await;
    let key = app.key("workorders:write:sz-water").await;
    // 1. A relay without STARTTLS: no fallback to plain text.
    let plain_port = plain.addr.port();
    let (report, mail, _) = attempt_with(&app, &key, |c| {
        c.notify.email.as_mut().unwrap().smtp_port = Some(plain_port);
    })
    .await;
    assert_eq!(report, SENT_AND_RETRYING, "the SMS goes");
    assert_eq!((mail.status.as_str(), mail.attempts), ("pending", 1));
    let error = mail.last_error.unwrap();
    assert!(error.contains("未提供 STARTTLS"), "{error}");
    assert!(plain.received().is_empty());

    // 2. A relay presenting a certificate nobody vouched for.
    let impostor_port = impostor.addr.port();
    let (report, mail, _) = attempt_with(&app, &key, |c| {
        c.notify.email.as_mut().unwrap().smtp_port = Some(impostor_port);
    })
    .await;
    assert_eq!(report, SENT_AND_RETRYING, "the SMS goes");
    let error = mail.last_error.unwrap();
    assert!(error.contains("证书不受信任"), "{error}");
    assert!(impostor.received().is_empty());
    assert!(impostor.logins().is_empty(), "no password to an impostor");

    // 3. A refused password.
    let (report, mail, _) = attempt_with(&app, &key, |c| {
        c.notify.email.as_mut().unwrap().password_env = Some("TEST_SMS_TOKEN".into());
    })
    .await;
    assert_eq!(report, SENT_AND_RETRYING, "the SMS goes");
    let error = mail.last_error.unwrap();
    assert!(error.contains("拒绝登录"), "{error}");
    assert_eq!(good.logins(), vec![(SMTP_USER.to_owned(), false)]);
    assert!(good.received().is_empty());

    // 4. A gateway presenting a certificate nobody vouched for.
    let fake = fake_gateway.endpoint();
    let (report, _, text) = attempt_with(&app, &key, |c| {
        c.notify.sms.as_mut().unwrap().endpoint = fake.clone();
    })
    .await;
    assert_eq!(report, SENT_AND_RETRYING, "the email goes");
    let error = text.last_error.unwrap();
    assert!(error.contains("证书不受信任"), "{error}");
    assert!(fake_gateway.received().is_empty());
    assert!(fake_gateway.refused_handshakes() >= 1);

    // No error holds an address, a number or a secret.
    for r in rows(&app).await {
        let e = r.last_error.unwrap_or_default();
        for secret in ["boss@", "13800000004", SMTP_PASSWORD, SMS_TOKEN] {
            assert!(!e.contains(secret), "{e}");
        }
    }

    // With the configured (trusted) transports, everything goes, over TLS.
    app.state.time.advance_ms(30_000);
    let report = deliver(&app, &deliverer(&app.state.config)).await;
    assert_eq!(
        report,
        Report {
            sent: 4,
            retrying: 0,
            given_up: 0
        }
    );
    let mail = good.wait_for(4, 10);
    assert_eq!(mail.len(), 4, "{mail:?}");
    assert!(
        mail.iter()
            .all(|m| m.tls.starts_with("TLSv1.") && m.auth == SMTP_USER)
    );
    assert_eq!(gateway.received().len(), 4);
}

const SENT_AND_RETRYING: Report = Report {
    sent: 1,
    retrying: 1,
    given_up: 0,
};

/// A new message (email and SMS) for `ent.a`, attempted by a server whose
/// transports are the configuration's after `change`; the report and the
/// newest email and SMS rows.
async fn attempt_with(
    app: &TestApp,
    key: &str,
    change: impl FnOnce(&mut CityConfig),
) -> (
    Report,
    onestop_store::outbox::Delivery,
    onestop_store::outbox::Delivery,
) {
    let created = app.submit(&water_only(USCC)).await;
    let oid = first_order(&created);
    app.as_key(key).accept(&oid).await;
    let mut config = (*app.state.config).clone();
    change(&mut config);
    let report = deliver(app, &deliverer(&config)).await;
    let all = rows(app).await;
    let newest = |ch: &str| {
        all.iter()
            .filter(|r| r.channel == ch)
            .max_by_key(|r| r.id)
            .cloned()
            .unwrap()
    };
    (report, newest("email"), newest("sms"))
}
