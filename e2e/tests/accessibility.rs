//! Keyboard and screen readers, in a real (headless) Chromium: axe-core
//! checks the main pages of every kind of user at a phone's width (390 px)
//! and a desk's (1280 px) and finds no serious or critical problem; on the
//! one form, Enter in a text field submits it and a refused submission puts
//! the focus on the error summary, whose links all lead to something.
//!
//! axe-core comes from npm (`e2e/axe`, pinned by its lockfile; `test.sh`
//! runs `npm ci` there when it is missing). Accessibility does not depend on
//! the database: these run on SQLite.

use onestop_e2e::{Browser, DbBackend as Backend, RunningServer, browser, start_server};

const USCC: &str = "91421300MA49ABCD17";
const ENTERPRISE: (&str, &str, &str) = ("ent.a", "示例商贸", "Shop-2026-ok");

/// A staff account: login name, display name, its one role, password.
type Staff<'a> = (&'a str, &'a str, &'a str, &'a str);

const HEAT: Staff = ("heat.op", "供热经办", "operator:sz-heat", "Heat-2026-op");
const ZRZY: Staff = ("zrzy.op", "规划审批", "approver:sz-zrzy", "Appr-2026-ok");
const SUPERVISOR: Staff = ("super.zjj", "督办员", "supervisor:sz-zjj", "Super-2026-ok");
const ADMIN: Staff = ("admin.li", "李管理", "admin", "Admin-2026-ok");
const CLERK: Staff = ("window.zhou", "周窗口", "clerk:zd-zwzx", "Hall-2026-ok");

/// An account with one role, its first-login change done.
async fn account(server: &RunningServer, (username, name, grant, password): Staff<'_>) {
    use onestop_server::app::accounts::{NewAccountInput, create_account, system_caller};
    let input = NewAccountInput {
        username: username.into(),
        display_name: name.into(),
        phone: None,
        grants: vec![grant.into()],
        password: Some(password.into()),
    };
    let created = create_account(&server.state, &system_caller("e2e"), input)
        .await
        .expect("account");
    let (id, hash) = (created.account.id, created.account.password_hash);
    server
        .state
        .store
        .write(move |c| {
            onestop_store::accounts::set_password(c, &id, &hash, false, onestop_store::now_ms())
        })
        .await
        .expect("first-login change");
}

/// An application for [`USCC`] with water and heat, filed as a window would
/// (verified); its id.
async fn application(server: &RunningServer) -> String {
    let body = serde_json::json!({
        "applicant": {"name": "随州市示例商贸有限公司", "uscc": USCC},
        "address": {"district_code": "421303", "detail": "交通大道100号"},
        "contact": {"name": "张三", "phone": "13800000000"},
        "mode": "a_la_carte",
        "channel": "api",
        "services": {
            "water": {"business_type": "new_account", "demand_tons_per_day": 50},
            "heat": {"category": "residential_collective", "heating_area_m2": 12000}
        }
    });
    let form = onestop_server::app::applications::validate(&server.state, &body).expect("valid");
    let system = onestop_server::app::accounts::system_caller("e2e");
    match onestop_server::app::applications::submit(&server.state, form, &system, None)
        .await
        .expect("submitted")
    {
        onestop_server::app::applications::Submitted::Created { application, .. } => application.id,
        onestop_server::app::applications::Submitted::Replayed(_) => unreachable!(),
    }
}

async fn sign_in(b: &Browser, server: &RunningServer, username: &str, password: &str) {
    b.goto(&server.url("/login")).await;
    b.fill("#f-username", username).await;
    b.fill("#f-password", password).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
}

async fn sign_out(b: &Browser) {
    b.click("form[action='/logout'] button[type=submit]").await;
    b.wait_for_path("/login").await;
}

/// What axe found, page by page.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    /// Checks the page shown at a desk's width and a phone's (and leaves
    /// the window at the desk's width).
    async fn check(&mut self, b: &Browser, page: &str) {
        for (w, h) in [(1280, 900), (390, 844)] {
            b.set_window_size(w, h).await;
            for v in b.axe().await {
                if v.impact == "serious" || v.impact == "critical" {
                    self.0.push(format!(
                        "{page} at {w} px: {} ({}) {}\n    {}",
                        v.rule,
                        v.impact,
                        v.help,
                        v.nodes.join("\n    ")
                    ));
                }
            }
        }
        b.set_window_size(1280, 900).await;
    }

    /// Opens `path` and checks it.
    async fn page(&mut self, b: &Browser, server: &RunningServer, path: &str) {
        b.goto(&server.url(path)).await;
        b.find("main").await;
        self.check(b, path).await;
    }
}

#[tokio::test]
async fn the_main_pages_have_no_serious_accessibility_problems() {
    let server = start_server(Backend::Sqlite).await;
    let applicant = format!("applicant:{USCC}");
    let (user, name, password) = ENTERPRISE;
    account(&server, (user, name, &applicant, password)).await;
    for who in [HEAT, ZRZY, SUPERVISOR, ADMIN, CLERK] {
        account(&server, who).await;
    }
    let id = application(&server).await;
    let app = server.application_json(&id).await;
    let heat = app["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["unit"]["code"] == "sz-heat")
        .and_then(|o| o["id"].as_str())
        .unwrap()
        .to_owned();
    let b = browser(true).await;
    b.set_window_size(1280, 900).await;
    let mut found = Findings::default();

    // The check bites: an unlabelled field added to a page is caught.
    b.goto(&server.url("/")).await;
    b.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', \
         '<input id=\"unlabelled\" type=\"text\">');",
        vec![],
    )
    .await;
    let caught = b
        .axe()
        .await
        .iter()
        .any(|v| v.rule == "label" && (v.impact == "serious" || v.impact == "critical"));
    b.check(caught, "axe did not catch an unlabelled field")
        .await;

    // Anyone.
    for path in [
        "/",
        "/apply",
        "/status",
        "/login",
        "/process",
        "/halls",
        "/halls/zd-jtdd",
        "/halls/nearby?district=421303&mode=walk",
    ] {
        found.page(&b, &server, path).await;
    }
    found.page(&b, &server, &format!("/receipt/{id}")).await;
    b.goto(&server.url("/apply")).await;
    b.click_to_next_page("#submit-application").await;
    b.wait_displayed("#error-summary", true).await;
    found.check(&b, "/apply (refused)").await;

    // The enterprise: its applications and one of them.
    sign_in(&b, &server, user, password).await;
    found.page(&b, &server, "/applications").await;
    found
        .page(&b, &server, &format!("/applications/{id}"))
        .await;
    sign_out(&b).await;

    // The window clerk: the one window, empty and with a consultation
    // passed on to the heat company, and a refused form.
    sign_in(&b, &server, CLERK.0, CLERK.3).await;
    found.page(&b, &server, "/counter").await;
    b.tick("#consultation-form input[name=services][value=heat]")
        .await;
    b.fill("#f-c-topic", "供暖开通时间").await;
    b.click_to_next_page("#consultation-form button[type=submit]")
        .await;
    found.check(&b, "/counter (refused)").await;
    b.fill("#f-c-answer", "已告知供暖季开通安排。").await;
    b.tick("#f-c-follow").await;
    b.select("#f-c-unit", "sz-heat").await;
    b.click_to_next_page("#consultation-form button[type=submit]")
        .await;
    found.check(&b, "/counter (a consultation)").await;
    sign_out(&b).await;

    // The heat company: its workbench and order; it accepts, records 800 m
    // of external works and raises the approval case.
    sign_in(&b, &server, HEAT.0, HEAT.3).await;
    found.page(&b, &server, "/workbench").await;
    found.page(&b, &server, "/follow-ups").await;
    b.click_to_next_page("#follow-ups a.staff-number").await;
    found.check(&b, "/follow-ups/…").await;
    let order = format!("/work-orders/{heat}");
    found.page(&b, &server, &order).await;
    b.click_to_next_page("form[data-action='accept'] button[type=submit]")
        .await;
    b.fill("#f-record_survey-external_works_m", "800").await;
    b.fill("#f-record_survey-route", "沿交通大道").await;
    b.click_to_next_page("form[data-action='record_survey'] button[type=submit]")
        .await;
    b.click_to_next_page("#raise-case").await;
    found.check(&b, "/applications/…/approval-case").await;
    let today = server.state.now().date();
    let day = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        today.month() as u8,
        today.day()
    );
    b.fill("#place", "交通大道（擂鼓墩大道至烈山大道段）").await;
    b.type_date("#from", &day).await;
    b.type_date("#to", &day).await;
    b.tick("input[name=involved][value=sz-zrzy]").await;
    b.click_to_next_page("#raise button[type=submit]").await;
    let case = b.wait_for_path("/approval-cases/").await;
    sign_out(&b).await;

    // The department: its inbox and the case.
    sign_in(&b, &server, ZRZY.0, ZRZY.3).await;
    found.page(&b, &server, "/approvals").await;
    found.page(&b, &server, &case).await;
    sign_out(&b).await;

    // The supervisor.
    sign_in(&b, &server, SUPERVISOR.0, SUPERVISOR.3).await;
    for path in [
        "/board",
        "/supervision",
        "/admin/audit",
        "/admin/halls/coverage",
    ] {
        found.page(&b, &server, path).await;
    }
    sign_out(&b).await;

    // The administrator.
    sign_in(&b, &server, ADMIN.0, ADMIN.3).await;
    for path in [
        "/admin/accounts",
        "/admin/accounts/new",
        "/admin/calendar",
        "/admin/halls",
        "/admin/halls/new",
        "/admin/halls/zd-jtdd/edit",
    ] {
        found.page(&b, &server, path).await;
    }

    let problems = found.0;
    b.check(
        problems.is_empty(),
        format_args!(
            "{} serious or critical accessibility problems:\n{}",
            problems.len(),
            problems.join("\n")
        ),
    )
    .await;
    b.close().await;
    server.stop().await;
}

/// Enter in a text field of the one form submits it (not the hidden
/// "next" button of the page without scripts); the refusal puts the focus
/// on the error summary, and each of its links leads to an element.
#[tokio::test]
async fn enter_submits_the_form_and_the_refusal_takes_the_focus() {
    let server = start_server(Backend::Sqlite).await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    b.goto(&server.url("/apply")).await;
    b.tick("input[name=services][value=water]").await;
    b.wait_displayed("#sec-water", true).await;
    b.fill("#f-applicant-name", "随州市示例商贸有限公司").await;
    b.execute("document.documentElement.dataset.e2eOld = '1';", vec![])
        .await;
    let field = b.find("#f-applicant-name").await;
    if let Err(e) = field.send_keys("\u{E007}").await {
        b.fail(format_args!("cannot press Enter: {e}")).await;
    }
    b.wait_displayed("#error-summary", true).await;
    b.check(
        !b.exists("html[data-e2e-old]").await,
        "Enter did not load a new page",
    )
    .await;
    // Submitted: what was typed is kept, and the fields say what is missing.
    b.check(
        b.value("#f-applicant-name").await == "随州市示例商贸有限公司",
        "the typed name is kept",
    )
    .await;
    let focused = b
        .execute(
            "return document.activeElement && document.activeElement.id;",
            vec![],
        )
        .await;
    b.check(
        focused.as_str() == Some("error-summary"),
        format_args!("the focus is on {focused}, not the error summary"),
    )
    .await;
    let broken = b
        .execute(
            "return Array.from(document.querySelectorAll('#error-summary a'))\
               .map(function (a) { return a.getAttribute('href'); })\
               .filter(function (h) { return !document.getElementById(h.slice(1)); });",
            vec![],
        )
        .await;
    b.check(
        broken.as_array().is_some_and(|a| a.is_empty()),
        format_args!("error summary links lead nowhere: {broken}"),
    )
    .await;
    for id in [
        "f-address-district_code",
        "f-address-detail",
        "f-contact-phone",
    ] {
        b.check(
            b.attr(&format!("#{id}"), "aria-invalid").await.as_deref() == Some("true"),
            format_args!("#{id} is not marked invalid"),
        )
        .await;
        b.check(
            b.exists(&format!("#{id}-err")).await,
            format_args!("#{id} has no message"),
        )
        .await;
    }
    // The water section's choice is a group named by its legend.
    b.check(
        b.exists("fieldset#f-services-water-business_type > legend")
            .await,
        "the business type's radio group has no legend",
    )
    .await;
    b.close().await;
    server.stop().await;
}

/// The board at a phone's width: headline figures first, each under its
/// label; the count tables' figures labelled; no JSON button.
#[tokio::test]
async fn the_board_reads_on_a_phone() {
    let server = start_server(Backend::Sqlite).await;
    application(&server).await;
    account(&server, SUPERVISOR).await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    sign_in(&b, &server, SUPERVISOR.0, SUPERVISOR.3).await;
    b.wait_for_path("/board").await;
    let kpis = b.text("#board-kpis").await;
    for label in ["在办工单", "预警", "超期", "期内办结环节", "期内按期率"] {
        b.check(kpis.contains(label), format_args!("{label} not on: {kpis}"))
            .await;
    }
    // The figures come before the tables, high on the page.
    let top = b
        .execute(
            "return document.getElementById('board-kpis').getBoundingClientRect().top;",
            vec![],
        )
        .await;
    b.check(
        top.as_f64().is_some_and(|t| t < 844.0),
        format_args!("the headline figures start at {top} px, below the first screen"),
    )
    .await;
    let unlabelled = b
        .execute(
            "return document.querySelectorAll('.board-counts td:not([data-label]), .board-units td:not([data-label])').length;",
            vec![],
        )
        .await;
    b.check(
        unlabelled.as_i64() == Some(0),
        format_args!("{unlabelled} figures without a label"),
    )
    .await;
    // Each figure shows its label above it (the cell's `data-label`).
    let shown = b
        .execute(
            "return Array.from(document.querySelectorAll('#open-by-unit tbody tr:first-child td'))\
               .map(function (td) { return getComputedStyle(td, '::before').content; }).join(' ');",
            vec![],
        )
        .await;
    b.check(
        shown.as_str() == Some("\"合计\" \"正常\" \"预警\" \"超期\""),
        format_args!("a unit's card does not name its figures: {shown}"),
    )
    .await;
    b.check(
        !b.text("main").await.contains("JSON"),
        "the board offers JSON",
    )
    .await;
    let width = b
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await;
    b.check(
        width.as_i64().is_some_and(|w| w <= 390),
        format_args!("the board is {width} px wide at 390 px"),
    )
    .await;
    b.close().await;
    server.stop().await;
}
