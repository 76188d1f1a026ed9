//! Enterprise identity (企业认证), on SQLite and on PostgreSQL: a registered
//! account claims an enterprise and sees nothing of it until the claim is
//! verified — at a hall window, by the enterprise's owner, or by an SMS code
//! to the latest verified contact — and registration says the same whether
//! or not a number is known.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_domain::config::SmsConfig;
use onestop_store::testing::Backend;
use serde_json::json;

on_both_databases!(
    a_claimant_sees_and_acts_on_nothing_of_the_enterprise,
    a_clerk_verifies_at_the_window,
    the_owner_approves_and_revokes_colleagues,
    an_sms_code_to_the_verified_contact_verifies,
    registration_answers_the_same_for_a_known_number,
    the_legal_person_login_verifies_the_same_enterprise_only,
    sms_codes_are_bounded_and_cannot_be_steered,
);

fn with_sms(c: &mut onestop_domain::config::CityConfig) {
    // Messages are only queued here (no worker runs in these tests).
    c.notify.sms = Some(SmsConfig {
        gateway: "http_json".into(),
        endpoint: "http://127.0.0.1:9/sms".into(),
        allow_plain_http: true,
        ca_file: None,
        token_env: None,
        sign: "联合报装".into(),
        template: "【{sign}】{title}。{body}".into(),
        timeout_seconds: 5,
    });
}

const T0: &str = "2026-12-01T10:00:00+08:00";
const PASSWORD_E: &str = "Shop-2026-ok";

async fn register(app: &TestApp, uscc: &str, name: &str, phone: &str) -> Answer {
    app.post_form(
        "/register",
        &[
            ("uscc", uscc),
            ("enterprise_name", "随州市示例商贸有限公司"),
            ("contact_name", name),
            ("phone", phone),
            ("password", PASSWORD_E),
            ("password_confirm", PASSWORD_E),
        ],
    )
    .await
}

/// The claim ids on a page, in order (`id="claim-…"`).
fn claim_ids(html: &str) -> Vec<String> {
    html.match_indices("id=\"claim-")
        .filter_map(|(i, _)| {
            let rest = &html[i + 10..];
            let end = rest.find('"')?;
            let id = &rest[..end];
            (id != "status").then(|| id.to_owned())
        })
        .collect()
}

fn version_after(html: &str, claim: &str) -> String {
    let i = html
        .find(&format!("/enterprise-claims/{claim}/decision"))
        .expect("a decision form");
    let rest = &html[i..];
    let v = rest.find("name=\"version\" value=\"").unwrap() + 22;
    rest[v..v + rest[v..].find('"').unwrap()].to_owned()
}

/// A clerk's decision on the first claim of `uscc` at the window page,
/// with the form's other fields.
async fn at_window(
    app: &TestApp,
    clerk: &Session,
    uscc: &str,
    decision: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let html = app
        .page_as(clerk, &format!("/hall/claims?uscc={uscc}"))
        .await;
    let claim = claim_ids(&html).remove(0);
    let v = version_after(&html, &claim);
    let mut fields = vec![("decision", decision), ("version", &v), ("from_hall", uscc)];
    fields.extend_from_slice(extra);
    app.post_form_as(
        clerk,
        &format!("/enterprise-claims/{claim}/decision"),
        &fields,
    )
    .await
}

/// A clerk's decision form at the window for [`USCC`].
fn at_hall<'a>(decision: &'a str, version: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("decision", decision),
        ("version", version),
        ("from_hall", USCC),
    ]
}

async fn roles_of(app: &TestApp, username: &str) -> Vec<(String, String)> {
    app.stored_account(username).await.grants
}

/// Exactly one grant: `role` over `scope`.
fn only(role: &str, scope: &str) -> Vec<(String, String)> {
    vec![(role.to_owned(), scope.to_owned())]
}

async fn a_claimant_sees_and_acts_on_nothing_of_the_enterprise(backend: Backend) {
    let app = TestApp::new(backend).await;
    // The enterprise's application, filed through an integration key.
    let theirs = app.submit(&water_only(USCC)).await;
    let theirs_id = theirs["id"].as_str().unwrap().to_owned();
    assert_eq!(theirs["identity_verified"], true);

    // Someone registers with the enterprise's USCC (it is printed on its licence).
    assert_eq!(
        register(&app, USCC, "冒名者", "13900001111").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(roles_of(&app, "13900001111").await, only("claimant", USCC));
    let s = app.login("13900001111", PASSWORD_E).await;
    let list = app.as_session(&s).get("/api/v1/applications").await.json();
    assert!(item_ids(&list).is_empty(), "{list}");
    for uri in [
        format!("/api/v1/applications/{theirs_id}"),
        format!("/applications/{theirs_id}"),
    ] {
        assert_eq!(
            app.as_session(&s).get(&uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let cancel = app.as_session(&s).cancel(&theirs_id, "不需要了").await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    let page = app.page_as(&s, "/applications").await;
    assert!(!page.contains(theirs["number"].as_str().unwrap()));

    // What it submits itself: visible to it alone, 未认证 to staff.
    let own = app
        .as_session(&s)
        .post("/api/v1/applications", water_only(USCC))
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text());
    let own = own.json();
    assert_eq!(own["identity_verified"], false);
    let own_id = own["id"].as_str().unwrap().to_owned();
    assert_eq!(
        item_ids(&app.as_session(&s).get("/api/v1/applications").await.json()),
        vec![own_id.clone()]
    );
    // The enterprise's verified member does not see the stranger's filing.
    let m = app
        .signed_in("member.verified", &[&format!("applicant:{USCC}")])
        .await;
    let seen = item_ids(&app.as_session(&m).get("/api/v1/applications").await.json());
    assert_eq!(seen, vec![theirs_id.clone()]);
    // Staff see the mark.
    let sup = app.signed_in("clerk.one", &["supervisor"]).await;
    let staff = app.page_as(&sup, &format!("/applications/{own_id}")).await;
    assert!(staff.contains("未认证"), "{staff}");
    let staff = app
        .page_as(&sup, &format!("/applications/{theirs_id}"))
        .await;
    assert!(!staff.contains("未认证"));
    // The claimant may cancel its own.
    let cancel = app.as_session(&s).cancel(&own_id, "填错了").await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text());
}

async fn a_clerk_verifies_at_the_window(backend: Backend) {
    let app = TestApp::new(backend).await;
    let theirs = app.submit(&water_only(USCC)).await;
    register(&app, USCC, "王经办", "13900002222").await;
    let s = app.login("13900002222", PASSWORD_E).await;
    let own = app
        .as_session(&s)
        .post("/api/v1/applications", water_only(USCC))
        .await
        .json();
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(
        page.contains("待认证") && page.contains("营业厅窗口核验"),
        "{page}"
    );

    let clerk = app.signed_in("window.clerk", &["clerk:zd-zwzx"]).await;
    let bad = app.get_as(&clerk, "/hall/claims?uscc=12345").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("请填写 18 位统一社会信用代码"));
    let found = app
        .get_as(
            &clerk,
            &format!("/hall/claims?uscc={}", USCC.to_lowercase()),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK);
    let html = found.text();
    assert!(
        html.contains("王经办") && html.contains("139****2222"),
        "{html}"
    );
    let claim = claim_ids(&html).remove(0);
    let version = version_after(&html, &claim);
    let uri = format!("/enterprise-claims/{claim}/decision");
    // Without ticking that the papers were checked: refused, with the reason.
    let verify = at_hall("verify", &version);
    let unchecked = app.post_form_as(&clerk, &uri, &verify).await;
    assert_eq!(unchecked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unchecked.text().contains("请先核验营业执照原件"));
    let checked = [&verify[..], &[("checked", "on"), ("owner", "on")]].concat();
    let ok = app.post_form_as(&clerk, &uri, &checked).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(roles_of(&app, "13900002222").await, only("applicant", USCC));
    // A second decision on the old version is refused.
    let revoke = at_hall("revoke", &version);
    let again = app.post_form_as(&clerk, &uri, &revoke).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // Now the account sees the enterprise's applications, and its own
    // earlier submission counts as verified.
    let mut seen = item_ids(&app.as_session(&s).get("/api/v1/applications").await.json());
    seen.sort();
    let mut expected = vec![
        theirs["id"].as_str().unwrap().to_owned(),
        own["id"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let own_now = app
        .get(&format!(
            "/api/v1/applications/{}",
            own["id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(own_now["identity_verified"], true);
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(page.contains("已认证 · 企业管理员"), "{page}");
    assert!(page.contains("营业厅窗口核验"));
    // Recorded, and the account was told.
    let records = app.audit_records("enterprise_claim_verified").await;
    assert_eq!(records.len(), 1);
    assert!(
        records[0].detail.contains("\"via\":\"window\""),
        "{}",
        records[0].detail
    );
    let notes = app.page_as(&s, "/notifications").await;
    assert!(notes.contains("企业认证已通过"));
    // A plain enterprise account may not open the window page.
    assert_eq!(
        app.get_as(&s, "/hall/claims").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn the_owner_approves_and_revokes_colleagues(backend: Backend) {
    let app = TestApp::new(backend).await;
    let theirs = app.submit(&water_only(USCC)).await;
    let theirs_id = theirs["id"].as_str().unwrap().to_owned();
    // The owner: the first member an administrator verifies becomes owner;
    // making it owner again at the window is accepted too.
    app.account("boss", &[&format!("applicant:{USCC}")]).await;
    let clerk = app.signed_in("window.clerk", &["clerk:zd-zwzx"]).await;
    let html = app
        .page_as(&clerk, &format!("/hall/claims?uscc={USCC}"))
        .await;
    let boss_claim = claim_ids(&html).remove(0);
    let v = version_after(&html, &boss_claim);
    let made = app
        .post_form_as(
            &clerk,
            &format!("/enterprise-claims/{boss_claim}/decision"),
            &[
                ("decision", "make_owner"),
                ("version", &v),
                ("from_hall", USCC),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text());
    let boss = app.login("boss", PASSWORD).await;

    // A colleague registers; the owner is told and approves.
    register(&app, USCC, "李同事", "13900003333").await;
    let colleague = app.login("13900003333", PASSWORD_E).await;
    assert!(
        app.page_as(&boss, "/notifications")
            .await
            .contains("有同事申请加入本企业")
    );
    let page = app.page_as(&boss, "/account/enterprise").await;
    assert!(
        page.contains("待审核（1）") && page.contains("李同事"),
        "{page}"
    );
    let pending = page
        .split("id=\"pending-")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let v = version_after(&page, &pending);
    let uri = format!("/enterprise-claims/{pending}/decision");
    // The colleague cannot approve itself.
    let verify = [("decision", "verify"), ("version", v.as_str())];
    let own = app.post_form_as(&colleague, &uri, &verify).await;
    assert_eq!(own.status, StatusCode::NOT_FOUND);
    let ok = app.post_form_as(&boss, &uri, &verify).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let theirs = format!("/api/v1/applications/{theirs_id}");
    let seen = app.as_session(&colleague).get(&theirs).await;
    assert_eq!(seen.status, StatusCode::OK);
    // Not made owner by the owner's approval.
    let page = app.page_as(&colleague, "/account/enterprise").await;
    assert!(
        page.contains("企业管理员审核") && !page.contains("已认证 · 企业管理员"),
        "{page}"
    );
    // Revoked: the colleague sees nothing of the enterprise again.
    let page = app.page_as(&boss, "/account/enterprise").await;
    let v = version_after(&page, &pending);
    let revoke = [("decision", "revoke"), ("version", v.as_str())];
    let revoked = app.post_form_as(&boss, &uri, &revoke).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text());
    // It keeps what any claimant has: its own submissions and its page,
    // where it reads that the claim was revoked.
    let seen = app.as_session(&colleague).get(&theirs).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    assert_eq!(roles_of(&app, "13900003333").await, only("claimant", USCC));
    let page = app.page_as(&colleague, "/account/enterprise").await;
    assert!(page.contains("已撤销"), "{page}");
    // The owner cannot revoke itself (no form is offered, and a forged one is refused).
    let page = app.page_as(&boss, "/account/enterprise").await;
    let v = version_after(&html, &boss_claim);
    assert!(!page.contains(&format!("/enterprise-claims/{boss_claim}/decision")));
    let forged = app
        .post_form_as(
            &boss,
            &format!("/enterprise-claims/{boss_claim}/decision"),
            &[("decision", "revoke"), ("version", &v)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

/// The code in the newest SMS queued to `phone`.
async fn sms_code(app: &TestApp, phone: &str) -> String {
    let rows = app.outbox().await;
    let row = rows
        .iter()
        .find(|d| d.address == phone && d.kind == "identity_code")
        .expect("a code SMS");
    let i = row.body.find("验证码 ").unwrap() + "验证码 ".len();
    row.body[i..i + 6].to_owned()
}

async fn an_sms_code_to_the_verified_contact_verifies(backend: Backend) {
    let app = TestApp::with_config_at(backend, T0, with_sms).await;
    register(&app, USCC, "赵经办", "13900004444").await;
    let s = app.login("13900004444", PASSWORD_E).await;
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(page.contains("还没有经认证渠道提交过申请"), "{page}");
    let claim = claim_ids(&page).remove(0);
    let send = format!("/account/enterprise/{claim}/code");
    let none = app.post_form_as(&s, &send, &[]).await;
    assert_eq!(none.status, StatusCode::CONFLICT);

    // The enterprise files at a window (verified): its contact gets the code.
    let mut body = water_only(USCC);
    body["contact"]["phone"] = json!("13712345678");
    app.post_json("/api/v1/applications", &body, None).await;
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(page.contains("137********"), "{page}");
    assert!(
        !page.contains("5678"),
        "the last four digits are the status lookup's secret"
    );
    let sent = app.post_form_as(&s, &send, &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    // Not again within a minute.
    let soon = app.post_form_as(&s, &send, &[]).await;
    assert_eq!(soon.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(soon.text().contains("60 秒后"), "{}", soon.text());
    let code = sms_code(&app, "13712345678").await;
    let confirm = format!("/account/enterprise/{claim}/confirm");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = app.post_form_as(&s, &confirm, &[("code", wrong)]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("还可以再试 9 次"), "{}", res.text());
    // After ten minutes the code is gone.
    app.state.time.advance_ms(10 * 60_000);
    let res = app.post_form_as(&s, &confirm, &[("code", &code)]).await;
    assert!(res.text().contains("验证码已过期"), "{}", res.text());
    // A new code, typed right, verifies — as a member: an SMS code proves
    // the contact agreed, not who the person is, so it never makes an owner.
    assert_eq!(
        app.post_form_as(&s, &send, &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let code = sms_code(&app, "13712345678").await;
    let res = app.post_form_as(&s, &confirm, &[("code", &code)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(
        page.contains("已认证") && !page.contains("企业管理员") && page.contains("短信验证码"),
        "{page}"
    );
    assert_eq!(roles_of(&app, "13900004444").await, only("applicant", USCC));
}

async fn sms_codes_are_bounded_and_cannot_be_steered(backend: Backend) {
    let app = TestApp::with_config_at(backend, T0, with_sms).await;
    // The enterprise's contact, from a window filing.
    let mut body = water_only(USCC);
    body["contact"]["phone"] = json!("13712345678");
    app.post_json("/api/v1/applications", &body, None).await;
    // A member, verified by an administrator, files later with its own
    // phone, and is then revoked at the window.
    let former = app
        .signed_in("former.member", &[&format!("applicant:{USCC}")])
        .await;
    let mut body = water_only(USCC);
    body["contact"]["phone"] = json!("13600000000");
    let own = app
        .as_session(&former)
        .post("/api/v1/applications", body)
        .await;
    assert_eq!(own.json()["identity_verified"], true);
    let clerk = app.signed_in("window.clerk", &["clerk:zd-zwzx"]).await;
    let revoked = at_window(&app, &clerk, USCC, "revoke", &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text());

    // A new claimant's code goes to the enterprise's contact, not to the
    // revoked member's phone, and names the enterprise as filed.
    register(&app, USCC, "冒名者", "13900008888").await;
    let s = app.login("13900008888", PASSWORD_E).await;
    let page = app.page_as(&s, "/account/enterprise").await;
    let mine = claim_ids(&page).remove(0);
    let send = format!("/account/enterprise/{mine}/code");
    assert_eq!(
        app.post_form_as(&s, &send, &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let rows = app.outbox().await;
    let codes: Vec<_> = rows.iter().filter(|d| d.kind == "identity_code").collect();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].address, "13712345678");
    assert!(!codes[0].body.contains("冒名者"), "{}", codes[0].body);
    // Three codes per claim, ten wrong tries in all.
    let confirm = format!("/account/enterprise/{mine}/confirm");
    for n in 1..=2 {
        app.state.time.advance_ms(61_000);
        assert_eq!(
            app.post_form_as(&s, &send, &[]).await.status,
            StatusCode::SEE_OTHER,
            "code {}",
            n + 1
        );
    }
    app.state.time.advance_ms(61_000);
    let fourth = app.post_form_as(&s, &send, &[]).await;
    assert_eq!(fourth.status, StatusCode::CONFLICT);
    assert!(fourth.text().contains("次数已用完"), "{}", fourth.text());
    let code = sms_code(&app, "13712345678").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..10 {
        app.post_form_as(&s, &confirm, &[("code", wrong)]).await;
    }
    let right = app.post_form_as(&s, &confirm, &[("code", &code)]).await;
    assert_eq!(right.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        right.text().contains("错误次数已达上限"),
        "{}",
        right.text()
    );
    // Five claims a day may be sent codes for one enterprise.
    for n in 0..5 {
        let phone = format!("1390000910{n}");
        register(&app, USCC, "某人", &phone).await;
        let s = app.login(&phone, PASSWORD_E).await;
        let page = app.page_as(&s, "/account/enterprise").await;
        let c = claim_ids(&page).remove(0);
        let res = app
            .post_form_as(&s, &format!("/account/enterprise/{c}/code"), &[])
            .await;
        let expected = if n < 4 {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status, expected, "claim {n}: {}", res.text());
    }
}

async fn registration_answers_the_same_for_a_known_number(backend: Backend) {
    let app = TestApp::with_config_at(backend, T0, with_sms).await;
    let first = register(&app, USCC, "张三", "13900005555").await;
    let second = app
        .post_form(
            "/register",
            &[
                ("uscc", OTHER_USCC),
                ("enterprise_name", "另一家公司"),
                ("contact_name", "李四"),
                ("phone", "13900005555"),
                ("password", "Other-2026-pw"),
                ("password_confirm", "Other-2026-pw"),
            ],
        )
        .await;
    assert_eq!(first.status, second.status);
    assert_eq!(first.header("location"), second.header("location"));
    assert_eq!(first.text(), second.text());
    // The number's owner hears what happened each time; nothing else changed.
    let rows = app.outbox().await;
    let mut titles: Vec<&str> = rows
        .iter()
        .filter(|d| d.address == "13900005555")
        .map(|d| d.title.as_str())
        .collect();
    titles.sort();
    assert_eq!(titles, vec!["注册提醒", "账户已开通"]);
    assert_eq!(roles_of(&app, "13900005555").await, only("claimant", USCC));
    // The second registration's password does not open the account.
    assert_eq!(
        app.try_login("13900005555", "Other-2026-pw").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login("13900005555", PASSWORD_E).await.status,
        StatusCode::SEE_OTHER
    );
    // Invisible and direction characters in names: cleaned or refused.
    let bad = app
        .post_form(
            "/register",
            &[
                ("uscc", USCC),
                ("enterprise_name", "\u{202e}司公限有ABC"),
                ("contact_name", "王\u{200b}五"),
                ("phone", "13900006666"),
                ("password", PASSWORD_E),
                ("password_confirm", PASSWORD_E),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("文字方向控制符"));
}

async fn the_legal_person_login_verifies_the_same_enterprise_only(backend: Backend) {
    use common::idp::{CLIENT_SECRET, Idp, TestPerson};
    use onestop_server::connectors::oidc::OidcConnector;
    let idp = Idp::start().await;
    let mut app = TestApp::new(backend).await;
    let config = idp.config("https://onestop.example.gov.cn/identity/oidc/callback");
    app.state.oidc = Some(std::sync::Arc::new(
        OidcConnector::with_client_secret(&config, None, Some(CLIENT_SECRET.into())).unwrap(),
    ));
    app.router = onestop_server::router(app.state.clone());
    let legal = TestPerson::default();
    register(&app, &legal.uscc, "钱法人", "13900007777").await;
    let s = app.login("13900007777", PASSWORD_E).await;
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(page.contains("测试政务服务网法人登录"), "{page}");
    let claim = claim_ids(&page).remove(0);
    let start = format!("/account/enterprise/{claim}/legal-person");

    // Logged in as another enterprise's legal person: refused, nothing changes.
    idp.set(|k| k.person.uscc = OTHER_USCC.into());
    let go = app.post_form_as(&s, &start, &[]).await;
    assert_eq!(go.status, StatusCode::SEE_OTHER, "{}", go.text());
    let back = idp.authorize(go.header("location").unwrap()).await;
    let uri = |b: &common::idp::Callback| {
        format!(
            "/identity/oidc/callback?code={}&state={}",
            urlencode(&b.code),
            urlencode(&b.state)
        )
    };
    let res = app.get_as(&s, &uri(&back)).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text().contains("不是同一家"), "{}", res.text());
    assert_eq!(
        roles_of(&app, "13900007777").await,
        vec![("claimant".to_owned(), legal.uscc.clone())]
    );
    // A state works once.
    let again = app.get_as(&s, &uri(&back)).await;
    assert!(again.text().contains("已失效"), "{}", again.text());

    // The right enterprise: verified, and owner.
    idp.set(|k| k.person = TestPerson::default());
    let go = app.post_form_as(&s, &start, &[]).await;
    let back = idp.authorize(go.header("location").unwrap()).await;
    // Another signed-in account cannot finish this login.
    let other = app
        .signed_in("someone.else", &[&format!("claimant:{}", legal.uscc)])
        .await;
    let stolen = app.get_as(&other, &uri(&back)).await;
    assert!(stolen.text().contains("已失效"));
    // (The state was used up by that attempt: start again.)
    let go = app.post_form_as(&s, &start, &[]).await;
    let back = idp.authorize(go.header("location").unwrap()).await;
    let res = app.get_as(&s, &uri(&back)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.page_as(&s, "/account/enterprise").await;
    assert!(
        page.contains("已认证 · 企业管理员") && page.contains("法人登录"),
        "{page}"
    );
    assert_eq!(
        roles_of(&app, "13900007777").await,
        vec![("applicant".to_owned(), legal.uscc.clone())]
    );
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_owned()
}
