//! The administrator's pages: accounts, API keys and the audit log, driven
//! as a browser would (session cookie, CSRF token in every form).

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;

on_both_databases!(
    admin_creates_account_and_sees_password_once,
    validation_errors_are_shown_beside_fields,
    disabled_account_cannot_log_in,
    reset_password_shows_a_new_temporary_password,
    role_change_appears_in_the_audit_log,
    api_key_is_shown_once_and_can_be_revoked,
    only_administrators_manage_accounts,
    anonymous_and_must_change_are_redirected,
    posts_without_csrf_token_are_refused,
    audit_page_filters,
    verify_reports_the_chain,
    account_forms_come_back_at_the_page_naming_the_action,
    new_account_and_key_forms_come_back_at_their_pages,
    a_stale_hall_form_comes_back_with_what_was_typed,
    a_refused_retry_comes_back_to_the_deliveries_page,
);

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let rest = &html[i..];
    Some(&rest[..rest.find(end)?])
}

/// An administrator, signed in.
async fn admin(app: &TestApp) -> (String, Session) {
    let id = app.account("root.admin", &["admin"]).await;
    let s = app.login("root.admin", PASSWORD).await;
    (id, s)
}

async fn audit_count(app: &TestApp) -> i64 {
    app.read(onestop_store::audit::count).await
}

async fn account_by_username(app: &TestApp, name: &str) -> onestop_store::accounts::Account {
    app.stored_account(name).await
}

/// The account form of the administrator's pages, posted as `s`.
async fn new_account(app: &TestApp, s: &Session, form: &[(&str, &str)]) -> Answer {
    app.post_form_as(s, "/admin/accounts", form).await
}

/// A button of an account's page (`disable`, `enable`, `reset-password`), pressed as `s`.
async fn press(app: &TestApp, s: &Session, account: &str, button: &str) -> Answer {
    let path = format!("/admin/accounts/{account}/{button}");
    app.post_form_as(s, &path, &[]).await
}

/// The API key form, posted as `s`.
async fn new_key(app: &TestApp, s: &Session, name: &str, scopes: &str) -> Answer {
    let form = [("name", name), ("scopes", scopes)];
    app.post_form_as(s, "/admin/apikeys", &form).await
}

async fn admin_creates_account_and_sees_password_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;

    let form = app.get_as(&s, "/admin/accounts/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let html = form.text();
    // Roles are chosen from lists of the configured units, not typed as codes.
    assert!(!html.contains("name=\"roles\""), "no roles textarea");
    assert!(
        html.contains("name=\"grant_operator\" value=\"sz-water\"> 随州市水务集团"),
        "utilities listed"
    );
    assert!(
        html.contains("name=\"grant_approver\" value=\"sz-zrzy\"> 随州市自然资源和规划局"),
        "departments listed"
    );
    assert!(!html.contains("operator:"), "no role codes shown");
    let from_lists = [
        ("username", "zhao.op"),
        ("display_name", "赵经办"),
        ("grants", "lists"),
        ("grant_operator", "sz-gas"),
        ("grant_supervisor", "all"),
        ("grant_clerk", ""),
        ("password", ""),
    ];
    let res = new_account(&app, &s, &from_lists).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert!(res.text().contains("公用事业单位经办人 · 随州中燃公司"));
    // A hall typed wrongly is named in Chinese, the lists kept as ticked.
    let wrong = [
        ("username", "qian.op"),
        ("display_name", "钱窗口"),
        ("grants", "lists"),
        ("grant_approver", "sz-jj"),
        ("grant_clerk", "大厅 一"),
        ("password", ""),
    ];
    let res = new_account(&app, &s, &wrong).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("“窗口人员 · 营业厅 大厅”："), "{html}");
    assert!(html.contains("name=\"grant_approver\" value=\"sz-jj\" checked"));
    assert!(
        html.contains("name=\"grant_clerk\" value=\"大厅\" checked"),
        "{html}"
    );
    // A hall from the registry's list.
    let clerk = [
        ("username", "sun.clerk"),
        ("display_name", "孙窗口"),
        ("grants", "lists"),
        ("grant_clerk", "zd-zwzx"),
        ("password", ""),
    ];
    let res = new_account(&app, &s, &clerk).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert!(
        res.text()
            .contains("窗口人员 · 市政务服务中心水电气网暖共享窗口"),
        "{}",
        res.text()
    );
    // A well-formed code of no registered hall is refused.
    let unknown = [
        ("username", "li.clerk"),
        ("display_name", "李窗口"),
        ("grants", "lists"),
        ("grant_clerk", "zd-nowhere"),
        ("password", ""),
    ];
    let res = new_account(&app, &s, &unknown).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("营业厅尚未登记"), "{}", res.text());
    assert_eq!(form.header("cache-control"), Some("no-store"));

    let form = [
        ("username", "Wang.Op"),
        ("display_name", "王经办"),
        ("phone", "13812341234"),
        ("roles", "operator:sz-water\r\n\r\nsupervisor\r\n"),
        ("password", ""),
    ];
    let res = new_account(&app, &s, &form).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let html = res.text();
    let password = between(&html, "<code id=\"temporary-password\">", "</code>")
        .expect("temporary password shown")
        .to_owned();
    assert!(password.len() >= 12, "{password}");
    assert!(html.contains("只显示这一次"));
    assert!(html.contains("首次登录时必须修改密码"));
    assert!(html.contains("公用事业单位经办人 · 随州市水务集团"));
    assert_eq!(res.header("cache-control"), Some("no-store"));

    let created = account_by_username(&app, "wang.op").await;
    assert!(created.must_change_password);
    assert_eq!(created.grants.len(), 2);

    // The list: masked phone, roles in Chinese with the unit's name.
    let list = app.get_as(&s, "/admin/accounts").await;
    assert_eq!(list.status, StatusCode::OK);
    let html = list.text();
    assert!(html.contains("wang.op") && html.contains("王经办"));
    assert!(html.contains("138****1234"));
    assert!(
        !html.contains("13812341234"),
        "phones are masked in the list"
    );
    assert!(html.contains("公用事业单位经办人 · 随州市水务集团"));
    assert!(html.contains("待修改初始密码"));
    assert!(
        !html.contains(&password),
        "the password is never shown again"
    );

    // The detail page does not show it either.
    let detail = app
        .get_as(&s, &format!("/admin/accounts/{}", created.id))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(!detail.text().contains(&password));
    assert!(detail.text().contains("138****1234"));

    // Filters: by text and by role.
    let found = app.page_as(&s, "/admin/accounts?q=%E7%8E%8B").await;
    assert!(found.contains("wang.op") && !found.contains(">root.admin<"));
    let ops = app.page_as(&s, "/admin/accounts?role=admin").await;
    assert!(ops.contains(">root.admin<") && !ops.contains("wang.op"));

    // The holder can sign in with it (and must change it first).
    let login = app.try_login("wang.op", &password).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text());

    // The same login name twice is refused beside the field.
    let twice = [
        ("username", "wang.op"),
        ("display_name", "另一个"),
        ("roles", "admin"),
    ];
    let html = app.refused_form_as(&s, "/admin/accounts", &twice).await;
    assert!(html.contains("id=\"f-username-err\">该账号已被注册"));
}

async fn validation_errors_are_shown_beside_fields(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let before = audit_count(&app).await;
    let form = [
        ("username", "a"),
        ("display_name", "   "),
        ("phone", "12345"),
        ("roles", "operator:sz-nowhere\n\nadmin\nadmin:x"),
        ("password", ""),
    ];
    let html = app.refused_form_as(&s, "/admin/accounts", &form).await;
    assert_has(&html, &["id=\"f-username-err\">登录名须为 3–32 位"]);
    assert!(html.contains("id=\"f-display_name-err\">请填写姓名"));
    assert!(html.contains("id=\"f-phone-err\">请填写 11 位手机号码"));
    // Role errors name the line as typed (blank lines counted).
    assert!(html.contains("第 1 行 “operator:sz-nowhere”"), "{html}");
    assert!(html.contains("第 4 行 “admin:x”：系统管理员角色没有范围"));
    assert!(html.contains("请修改以下 5 处"));
    // What was typed is kept.
    assert!(html.contains("value=\"a\""));
    assert!(html.contains("value=\"12345\""));
    assert!(
        html.contains("name=\"grant_admin\" value=\"yes\" checked"),
        "the roles that fit the lists stay ticked"
    );

    // No role at all; a weak password, which is never echoed back.
    let form = [
        ("username", "li.si"),
        ("display_name", "李四"),
        ("roles", "\n  \n"),
        ("password", "weakpass"),
    ];
    let html = app.refused_form_as(&s, "/admin/accounts", &form).await;
    assert!(html.contains("至少授予一个角色"));
    assert!(html.contains("id=\"f-password-err\">密码须包含"), "{html}");
    assert!(!html.contains("weakpass"), "the password is not kept");
    assert!(html.contains("value=\"li.si\"") && html.contains("value=\"李四\""));
    assert_eq!(audit_count(&app).await, before, "nothing was created");
}

async fn disabled_account_cannot_log_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin_id, s) = admin(&app).await;
    let op = app.account("op.water", &["operator:sz-water"]).await;
    let op_session = app.login("op.water", PASSWORD).await;
    let home = app.get_as(&op_session, "/").await;
    assert!(
        home.text().contains("class=\"who\">测试op.water<"),
        "signed in"
    );

    let res = press(&app, &s, &op, "disable").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header("location"),
        Some(format!("/admin/accounts/{op}?ok=disabled").as_str())
    );
    let detail = app
        .get_as(&s, &format!("/admin/accounts/{op}?ok=disabled"))
        .await;
    let html = detail.text();
    assert!(html.contains("账户已停用"));
    assert!(
        between(&html, "id=\"account-status\">", "</dd>")
            .unwrap()
            .contains("已停用")
    );
    assert!(
        html.contains("name=\"form\" value=\"enable\""),
        "the enable button is offered"
    );

    // Cannot sign in, and the open session has ended.
    let login = app.try_login("op.water", PASSWORD).await;
    assert_ne!(login.status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&login, "onestop_session").is_none());
    let old = app.get_as(&op_session, "/").await;
    assert!(
        !old.text().contains("class=\"who\">测试op.water<"),
        "the disabled account's session no longer signs it in"
    );

    // Enabled again, it can.
    let res = press(&app, &s, &op, "enable").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.try_login("op.water", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // An administrator cannot disable themself: the message is on the page.
    let res = press(&app, &s, &admin_id, "disable").await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text().contains("不能停用自己的账户"));
    assert!(!account_by_username(&app, "root.admin").await.disabled);

    // Unknown and overlong ids.
    let res = press(&app, &s, "nobody", "disable").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let long = "x".repeat(65);
    assert_eq!(
        app.get_as(&s, &format!("/admin/accounts/{long}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn reset_password_shows_a_new_temporary_password(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let op = app.account("op.gas", &["operator:sz-gas"]).await;
    let res = press(&app, &s, &op, "reset-password").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let html = res.text();
    assert!(html.contains("密码已重置"));
    let password = between(&html, "<code id=\"temporary-password\">", "</code>")
        .expect("new temporary password")
        .to_owned();
    assert_ne!(password, PASSWORD);
    assert!(html.contains("只显示这一次"));
    assert!(
        account_by_username(&app, "op.gas")
            .await
            .must_change_password
    );

    assert_ne!(
        app.try_login("op.gas", PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "the old password no longer works"
    );
    assert_eq!(
        app.try_login("op.gas", &password).await.status,
        StatusCode::SEE_OTHER
    );
    // Not shown again on the account's page.
    let detail = app.get_as(&s, &format!("/admin/accounts/{op}")).await;
    assert!(!detail.text().contains(&password));
}

async fn role_change_appears_in_the_audit_log(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let op = app.account("op.change", &["operator:sz-water"]).await;

    let roles_form = format!("/admin/accounts/{op}/roles");
    let changed = [("roles", "operator:sz-gas\napprover:sz-zrzy\n")];
    let res = app.post_form_as(&s, &roles_form, &changed).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let detail = app.get_as(&s, res.header("location").unwrap()).await.text();
    assert!(detail.contains("角色已更新"));
    let roles = between(&detail, "<dt>角色</dt><dd>", "</dd>").expect("roles shown");
    assert!(
        roles.contains("公用事业单位经办人 · 随州中燃公司"),
        "{roles}"
    );
    assert!(roles.contains("审批部门 · 随州市自然资源和规划局"));
    assert!(!roles.contains("随州市水务集团"), "the old role is gone");

    // A wrong line is shown beside the field, with what was typed kept.
    let wrong = [("roles", "operator:sz-gas\nclerk")];
    let html = app.refused_form_as(&s, &roles_form, &wrong).await;
    assert_has(&html, &["第 2 行 “clerk”：窗口人员角色须填写营业厅编号"]);
    assert!(html.contains("name=\"grant_operator\" value=\"sz-gas\" checked"));

    // An administrator cannot take their own administrator role away.
    let me = account_by_username(&app, "root.admin").await.id;
    let res = app
        .post_form_as(
            &s,
            &format!("/admin/accounts/{me}/roles"),
            &[("roles", "supervisor")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text().contains("不能移除自己的系统管理员角色"));
    assert!(
        res.text()
            .contains("name=\"grant_supervisor\" value=\"all\" checked"),
        "input kept"
    );
    assert_eq!(
        account_by_username(&app, "root.admin").await.grants,
        vec![("admin".to_owned(), String::new())]
    );

    let audit = app.get_as(&s, "/admin/audit?action=roles_changed").await;
    assert_eq!(audit.status, StatusCode::OK);
    let html = audit.text();
    assert_eq!(html.matches("class=\"audit-row\"").count(), 1, "{html}");
    assert!(html.contains("变更角色"));
    assert!(
        html.contains(&format!("/admin/accounts/{op}")),
        "target linked"
    );
    assert!(html.contains("root.admin"), "the actor");
    // The detail is a sentence with the roles named, not JSON.
    assert!(
        html.contains(
            "登录名：op.change；原角色：公用事业单位经办人 · 随州市水务集团；\
             新角色：公用事业单位经办人 · 随州中燃公司、审批部门 · 随州市自然资源和规划局。"
        ),
        "{html}"
    );
    assert!(!html.contains("&#34;before&#34;"), "{html}");
}

async fn api_key_is_shown_once_and_can_be_revoked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;

    let html = app.ok_page_as(&s, "/admin/apikeys").await;
    assert!(html.contains("workorders:read:&#60;公用事业单位代码&#62;"));
    assert!(html.contains("随州中燃公司"));

    let scopes = "workorders:read:sz-water applications:write";
    let res = new_key(&app, &s, "政务服务网", scopes).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let html = res.text();
    let key = between(&html, "<code id=\"new-api-key\">", "</code>")
        .expect("the key, once")
        .to_owned();
    assert!(key.starts_with("osk_") && key.len() == 68, "{key}");
    assert!(html.contains("只显示这一次"));

    // The list shows the prefix only.
    let list = app.page_as(&s, "/admin/apikeys").await;
    assert!(list.contains(&format!("<code>{}…</code>", &key[..12])));
    assert!(!list.contains(&key));
    assert!(list.contains("读取随州市水务集团的工单"));

    // The key works, until it is revoked.
    let api = app.as_key(&key).get("/api/v1/work-orders").await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text());

    let keys = app.read(onestop_store::accounts::list_api_keys).await;
    let id = keys
        .iter()
        .find(|k| k.name == "政务服务网")
        .unwrap()
        .id
        .clone();
    let res = app
        .post_form_as(&s, &format!("/admin/apikeys/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = app.get_as(&s, res.header("location").unwrap()).await.text();
    assert!(list.contains("密钥已吊销"));
    let row = between(&list, "政务服务网</td>", "</tr>").unwrap();
    assert!(row.contains("已吊销"), "{row}");
    assert!(!row.contains("name=\"revoke\""), "no second revoke button");
    let api = app.as_key(&key).get("/api/v1/work-orders").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);

    // Unknown scopes are refused beside the field, with the input kept.
    let res = new_key(&app, &s, "某系统", "everything").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("id=\"f-scopes-err\">未知权限"));
    assert!(html.contains("value=\"everything\"") && html.contains("value=\"某系统\""));
    assert!(!html.contains("id=\"new-api-key\""));

    // An unknown key.
    let res = app
        .post_form_as(&s, "/admin/apikeys/nokey/revoke", &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

async fn only_administrators_manage_accounts(backend: Backend) {
    let app = TestApp::new(backend).await;
    let op = app.signed_in("op.water", &["operator:sz-water"]).await;
    for path in [
        "/admin/accounts",
        "/admin/accounts/new",
        "/admin/apikeys",
        "/admin/audit",
    ] {
        let res = app.get_as(&op, path).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        assert!(res.text().contains("无权访问此页面"), "{path}");
    }
    let sneaky = [
        ("username", "sneaky"),
        ("display_name", "x"),
        ("roles", "admin"),
    ];
    let res = new_account(&app, &op, &sneaky).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let sneaky = app
        .read(|c| onestop_store::accounts::by_username(c, "sneaky"))
        .await;
    assert!(sneaky.is_none(), "nothing created");

    // A supervisor reads the audit log, and nothing else here.
    let sup = app.signed_in("sup", &["supervisor"]).await;
    let res = app.get_as(&sup, "/admin/audit").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.text()
            .contains("<a href=\"/admin/audit\" aria-current=\"page\">审计日志</a>"),
        "in the navigation, marked as the page shown"
    );
    assert_eq!(
        app.get_as(&sup, "/admin/accounts").await.status,
        StatusCode::FORBIDDEN
    );
    // An administrator's page shows the links.
    let (_, s) = admin(&app).await;
    let html = app.page_as(&s, "/admin/audit").await;
    assert!(html.contains("<a href=\"/admin/apikeys\">API 密钥</a>"));
}

async fn anonymous_and_must_change_are_redirected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let res = app.get("/admin/accounts?q=%E5%BC%A0%E4%B8%89").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let to = res.header("location").unwrap();
    assert!(to.starts_with("/login?next=/admin/accounts"), "{to}");
    assert!(
        !to.contains("q=") && !to.contains("%E5%BC%A0"),
        "no query in next: {to}"
    );
    for path in ["/admin/audit", "/admin/apikeys", "/admin/accounts/new"] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            res.header("location")
                .unwrap()
                .starts_with("/login?next=/admin/")
        );
    }

    // A new administrator who has not yet changed the initial password.
    let system = onestop_server::app::accounts::system_caller("test");
    onestop_server::app::accounts::create_account(
        &app.state,
        &system,
        onestop_server::app::accounts::NewAccountInput {
            username: "fresh.admin".into(),
            display_name: "新管理员".into(),
            phone: None,
            grants: vec!["admin".into()],
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .unwrap();
    let s = app.login("fresh.admin", PASSWORD).await;
    for path in ["/admin/accounts", "/admin/audit"] {
        let res = app.get_as(&s, path).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.header("location"), Some("/account/password"));
    }
    let res = new_key(&app, &s, "x", "applications:read").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), Some("/account/password"));
}

async fn posts_without_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let op = app.account("op.water", &["operator:sz-water"]).await;
    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap();
    let cookie = s.cookie_header();
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", cookie.as_str()),
    ];

    let res = app
        .request(
            Method::POST,
            "/admin/accounts",
            &headers,
            form(&[
                ("username", "nocsrf"),
                ("display_name", "x"),
                ("roles", "admin"),
            ]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.text().contains("页面已过期"));
    let n = app
        .read(|c| onestop_store::accounts::by_username(c, "nocsrf"))
        .await;
    assert!(n.is_none());

    // A wrong token, and the right token from another site.
    let res = app
        .request(
            Method::POST,
            &format!("/admin/accounts/{op}/disable"),
            &headers,
            form(&[("csrf_token", "0123456789abcdef0123456789abcdef")]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let mut cross = headers.to_vec();
    cross.push(("origin", "https://evil.example"));
    cross.push(("host", "onestop.example"));
    let res = app
        .request(
            Method::POST,
            &format!("/admin/accounts/{op}/disable"),
            &cross,
            form(&[("csrf_token", &s.csrf)]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!account_by_username(&app, "op.water").await.disabled);

    let res = app
        .request(Method::POST, "/admin/audit/verify", &headers, form(&[]))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

async fn audit_page_filters(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let op = app.account("op.audit", &["operator:sz-water"]).await;
    press(&app, &s, &op, "reset-password").await;

    let before = audit_count(&app).await;
    let all = app.get_as(&s, "/admin/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    let html = all.text();
    assert!(html.contains("data-action=\"login\""));
    assert!(html.contains("data-action=\"password_reset\""));
    assert!(html.contains("登录") && html.contains("成功"));
    assert!(html.contains("<option value=\"apikey_revoked\">吊销 API 密钥</option>"));
    assert_eq!(audit_count(&app).await, before, "viewing is not audited");

    let reset = app.page_as(&s, "/admin/audit?action=password_reset").await;
    assert_eq!(reset.matches("class=\"audit-row\"").count(), 1, "{reset}");
    assert!(reset.contains("重置密码"));
    assert!(!reset.contains("data-action=\"login\""));
    assert!(reset.contains("<option value=\"password_reset\" selected>"));

    let logins = app
        .page_as(&s, "/admin/audit?action=login&actor=root.admin")
        .await;
    assert!(logins.matches("data-action=\"login\"").count() >= 1);
    assert!(!logins.contains("data-action=\"password_reset\""));

    let by_target = app.page_as(&s, &format!("/admin/audit?target={op}")).await;
    assert!(by_target.contains("data-action=\"account_created\""));
    assert!(by_target.contains("data-action=\"password_reset\""));
    assert!(!by_target.contains("data-action=\"login\""));

    // Dates in city time: today holds the records, tomorrow none.
    let today = app.state.now().date();
    let tomorrow = today.next_day().unwrap();
    let d = |t: time::Date| format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day());
    let only_today = format!("/admin/audit?from={}&to={}", d(today), d(today));
    let html = app.page_as(&s, &only_today).await;
    assert!(html.contains("data-action=\"password_reset\""));
    let from_tomorrow = format!("/admin/audit?from={}", d(tomorrow));
    let html = app.page_as(&s, &from_tomorrow).await;
    assert!(html.contains("没有符合条件的记录"));
    let bad = app.get_as(&s, "/admin/audit?from=27.11.2026").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("id=\"f-from-err\">请按 年-月-日 填写"));

    // Keyset paging: more than a page of records, then the older ones.
    let system = onestop_server::app::accounts::system_caller("test");
    for i in 0..55 {
        onestop_server::app::accounts::set_disabled(&app.state, &system, &op, i % 2 == 0)
            .await
            .unwrap();
    }
    let first = app.page_as(&s, "/admin/audit").await;
    assert_eq!(first.matches("class=\"audit-row\"").count(), 50);
    let next = between(&first, "<a class=\"button\" href=\"", "\">更早的记录")
        .expect("a link to older records")
        .replace("&amp;", "&");
    assert!(next.starts_with("/admin/audit?before="), "{next}");
    let older = app.page_as(&s, &next).await;
    let n = older.matches("class=\"audit-row\"").count();
    assert!(n > 0 && n <= 50);
    assert!(older.contains("回到最新"));
    let first_seq_older: i64 = between(
        &older,
        "<td data-label=\"序号\" class=\"admin-nowrap\">",
        "</td>",
    )
    .unwrap()
    .parse()
    .unwrap();
    let before_seq: i64 = next["/admin/audit?before=".len()..].parse().unwrap();
    assert_eq!(first_seq_older, before_seq - 1);
}

async fn verify_reports_the_chain(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let page = app.page_as(&s, "/admin/audit").await;
    assert!(page.contains("action=\"/admin/audit/verify\""));

    let res = app.post_form_as(&s, "/admin/audit/verify", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let n = audit_count(&app).await;
    let html = res.text();
    let result = between(&html, "id=\"verify-result\">", "</p>").expect("a result");
    assert!(result.contains("哈希链完整"), "{result}");
    assert!(result.contains(&format!("已校验 {n} 条记录")), "{result}");

    // A supervisor may verify too; a changed record is found.
    let sup = app.signed_in("sup", &["supervisor"]).await;
    app.write(|c| {
        c.execute(
            "UPDATE audit_log SET detail = '{\"tampered\":true}' WHERE seq = 2",
            &[],
        )
    })
    .await;
    let res = app
        .post_form_as(&sup, "/admin/audit/verify", &[("action", "login")])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    let result = between(&html, "id=\"verify-result\">", "</p>").expect("a result");
    assert!(result.contains("哈希链已断裂"), "{result}");
    assert!(result.contains("序号为 2"), "{result}");
    assert!(result.contains("内容与其哈希不符"), "{result}");
    // The filters of the page stay applied.
    assert!(html.contains("<option value=\"login\" selected>"));
}

/// The header's menu of a page.
fn menu(html: &str) -> &str {
    between(html, "<nav aria-label=\"主菜单\">", "</nav>").expect("the menu")
}

/// A page answered to a signed-in administrator: their menu, never the
/// sign-in links.
fn assert_admin_menu(html: &str) {
    let menu = menu(html);
    assert!(menu.contains("href=\"/admin/accounts\""), "{menu}");
    assert!(menu.contains("class=\"who\""), "{menu}");
    assert!(!menu.contains("登录") && !menu.contains("注册"), "{menu}");
}

/// A refusal for people: Chinese, naming the action, no code or English.
fn assert_public(message: &str, action: &str) {
    assert!(
        message.starts_with(&format!("“{action}”未办理：")),
        "{message}"
    );
    assert!(
        message.ends_with('。') && !message.ends_with("。。"),
        "{message}"
    );
    assert!(
        !message
            .bytes()
            .any(|b| b.is_ascii_alphabetic() || b == b'_'),
        "{message}"
    );
}

/// The page's alert with `id`, as text.
fn alert<'a>(html: &'a str, id: &str) -> &'a str {
    between(html, &format!("id=\"{id}\">"), "</p>").unwrap_or_else(|| panic!("#{id} in {html}"))
}

/// Every form of an account's page posts to the page, so a refused one is
/// answered there: the page with the administrator's menu, what was ticked,
/// and why, naming the action.
async fn account_forms_come_back_at_the_page_naming_the_action(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (me, s) = admin(&app).await;
    let op = app.account("op.forms", &["operator:sz-water"]).await;
    let page = format!("/admin/accounts/{me}");
    let html = app.ok_page_as(&s, &page).await;
    assert_eq!(
        html.matches(&format!("<form method=\"post\" action=\"{page}\""))
            .count(),
        2,
        "the roles form and the password button post to the page"
    );
    let html = app.ok_page_as(&s, &format!("/admin/accounts/{op}")).await;
    assert!(html.contains("name=\"form\" value=\"disable\""), "{html}");

    // Disabling oneself.
    let res = app.post_form_as(&s, &page, &[("form", "disable")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    let html = res.text();
    assert!(
        html.contains("<h1>测试root.admin（root.admin）</h1>"),
        "{html}"
    );
    assert_admin_menu(&html);
    let message = alert(&html, "message");
    assert_public(message, "停用账户");
    assert!(message.contains("不能停用自己的账户"), "{message}");
    assert!(!account_by_username(&app, "root.admin").await.disabled);

    // Taking one's own administrator role away: the ticks stay as sent.
    let form = [
        ("form", "roles"),
        ("grants", "lists"),
        ("grant_supervisor", "all"),
        ("grant_operator", "sz-gas"),
    ];
    let res = app.post_form_as(&s, &page, &form).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    let html = res.text();
    assert_admin_menu(&html);
    let message = alert(&html, "message");
    assert_public(message, "保存角色");
    assert!(
        message.contains("不能移除自己的系统管理员角色"),
        "{message}"
    );
    assert!(html.contains("name=\"grant_supervisor\" value=\"all\" checked"));
    assert!(html.contains("name=\"grant_operator\" value=\"sz-gas\" checked"));
    assert!(!html.contains("name=\"grant_admin\" value=\"yes\" checked"));

    // A role refused for its field names the action too, the rest kept.
    let form = [
        ("form", "roles"),
        ("grants", "lists"),
        ("grant_admin", "yes"),
        ("grant_clerk", "zd-nowhere"),
    ];
    let res = app.post_form_as(&s, &page, &form).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(alert(&html, "message").starts_with("“保存角色”未办理："));
    assert!(html.contains("营业厅尚未登记"), "{html}");
    assert!(html.contains("name=\"grant_admin\" value=\"yes\" checked"));

    // Done from the page, back at the page with what was done.
    let res = app
        .post_form_as(&s, &format!("/admin/accounts/{op}"), &[("form", "disable")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header("location"),
        Some(format!("/admin/accounts/{op}?ok=disabled").as_str())
    );

    // An account that is not there: the 404 page, with the menu.
    let res = app
        .post_form_as(&s, "/admin/accounts/nobody", &[("form", "enable")])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_admin_menu(&res.text());
}

/// The new-account form posts to its own page and comes back there with
/// the menu and what was typed; the API keys page takes its revoke buttons
/// itself.
async fn new_account_and_key_forms_come_back_at_their_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let html = app.ok_page_as(&s, "/admin/accounts/new").await;
    assert!(html.contains("action=\"/admin/accounts/new\""), "{html}");
    app.account("taken.name", &["supervisor"]).await;
    let form = [
        ("username", "taken.name"),
        ("display_name", "重名的人"),
        ("phone", "13800001111"),
        ("grants", "lists"),
        ("grant_approver", "sz-zrzy"),
        ("password", ""),
    ];
    let html = app.refused_form_as(&s, "/admin/accounts/new", &form).await;
    assert!(html.contains("<h1>新建账户</h1>"));
    assert_admin_menu(&html);
    assert!(
        html.contains("id=\"f-username-err\">该账号已被注册"),
        "{html}"
    );
    assert!(html.contains("value=\"重名的人\"") && html.contains("value=\"13800001111\""));
    assert!(html.contains("name=\"grant_approver\" value=\"sz-zrzy\" checked"));

    // Revoking from the list posts to the list.
    let res = new_key(&app, &s, "对接系统", "applications:read").await;
    assert_eq!(res.status, StatusCode::CREATED);
    let keys = app.read(onestop_store::accounts::list_api_keys).await;
    let id = keys[0].id.clone();
    let list = app.ok_page_as(&s, "/admin/apikeys").await;
    assert!(
        list.contains(&format!("name=\"revoke\" value=\"{id}\"")),
        "{list}"
    );
    let res = app
        .post_form_as(&s, "/admin/apikeys", &[("revoke", id.as_str())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), Some("/admin/apikeys?ok=revoked"));
    let res = app
        .post_form_as(&s, "/admin/apikeys", &[("revoke", "nokey")])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_admin_menu(&res.text());
}

/// A hall saved over someone else's change comes back with what was
/// typed, the latest version to save against, and why, naming the action.
async fn a_stale_hall_form_comes_back_with_what_was_typed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let mut form = vec![
        ("code", "zd-xiguan"),
        ("name", "西关社区便民服务点"),
        ("kind", "community_point"),
        ("district_code", "421303"),
        ("address", "曾都区西关街道"),
        ("lng", "113.37"),
        ("lat", "31.70"),
        ("phone", "0722-3200010"),
        ("hours_mon", "08:30-12:00,14:30-17:30"),
        ("channels", "staffed"),
        ("business", "water:pay"),
        ("version", "0"),
    ];
    let res = app.post_form_as(&s, "/admin/halls/new", &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let edit = "/admin/halls/zd-xiguan/edit";
    let html = app.ok_page_as(&s, edit).await;
    assert!(html.contains("name=\"version\" value=\"1\""), "{html}");
    // Someone else saves first.
    form.retain(|(k, _)| *k != "version");
    let mut theirs = form.clone();
    theirs.extend([("version", "1"), ("active", "yes")]);
    let res = app.post_form_as(&s, edit, &theirs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // Then this form, read at version 1.
    let mut mine = form.clone();
    for (k, v) in mine.iter_mut() {
        if *k == "name" {
            *v = "西关便民服务点（新址）";
        }
        if *k == "address" {
            *v = "曾都区西关街道新址";
        }
    }
    mine.extend([("version", "1"), ("active", "yes")]);
    let res = app.post_form_as(&s, edit, &mine).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    let html = res.text();
    assert!(html.contains("<h1>修改营业厅</h1>"), "{html}");
    assert_admin_menu(&html);
    let message = alert(&html, "form-failure");
    assert_public(message, "保存营业厅");
    assert!(message.contains("刚被其他人修改过"), "{message}");
    assert!(
        html.contains("value=\"西关便民服务点（新址）\""),
        "the name typed"
    );
    assert!(
        html.contains("value=\"曾都区西关街道新址\""),
        "the address typed"
    );
    assert!(
        html.contains("name=\"version\" value=\"2\""),
        "the latest version"
    );
    // Saved again from there, it is taken.
    let mut again = form.clone();
    for (k, v) in again.iter_mut() {
        if *k == "name" {
            *v = "西关便民服务点（新址）";
        }
    }
    again.extend([("version", "2"), ("active", "yes")]);
    let res = app.post_form_as(&s, edit, &again).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
}

/// A message that cannot be sent again: back to the deliveries page (POST,
/// redirect, GET), told why in words, with the menu.
async fn a_refused_retry_comes_back_to_the_deliveries_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, s) = admin(&app).await;
    let res = app
        .post_form_as(&s, "/admin/deliveries/987654/retry", &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let to = res.header("location").expect("back to the page").to_owned();
    assert_eq!(to, "/admin/deliveries?refused=not_failed");
    let html = app.ok_page_as(&s, &to).await;
    assert!(html.contains("<h1>邮件与短信</h1>"));
    assert_admin_menu(&html);
    let message = alert(&html, "delivery-refused");
    assert_public(message, "重新发送");
    assert!(message.contains("不是已放弃状态"), "{message}");
    // An unknown code says nothing.
    let html = app.ok_page_as(&s, "/admin/deliveries?refused=x").await;
    assert!(!html.contains("delivery-refused"));
}
