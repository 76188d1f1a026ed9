//! The one form in a real (headless) Chromium, on both databases: filling it
//! with and without JavaScript, a field error shown beside its field, the
//! receipt on a phone-sized screen.

use onestop_e2e::{
    Browser, DbBackend as Backend, RunningServer, browser, start_server, start_server_at,
};
use serde_json::Value;
use std::time::{Duration, Instant};

onestop_e2e::on_both_databases!(
    fills_the_form_and_sees_the_receipt,
    sees_a_field_error_beside_the_field,
    works_without_javascript,
    each_sees_only_their_own,
    one_lifecycle_through_the_pages,
    a_supervisor_sees_an_overdue_order_on_the_board_and_reminds,
    an_enterprise_is_verified_at_the_window,
    a_clerk_files_for_an_enterprise_and_follows_it_up,
    an_enterprise_corrects_a_returned_order,
    a_deadline_in_an_unannounced_year_is_provisional_until_the_import,
);

/// A valid USCC (GB 32100 check character computed), and the same with a
/// wrong check character.
const USCC: &str = "91421300MA49ABCD17";
const OTHER_USCC: &str = "91350100M000100Y43";
const BAD_USCC: &str = "91421300MA49ABCD18";
const APPLICANT: &str = "随州市示例商贸有限公司";
const PHONE: &str = "13800000000";
const SERVICES: [&str; 5] = ["water", "power", "gas", "heat", "network"];

fn service_box(code: &str) -> String {
    format!("input[name=services][value={code}]")
}

fn choice(name: &str, value: &str) -> String {
    format!("input[name='{name}'][value='{value}']")
}

/// Three days from the server's today at 09:00, as a `datetime-local` value.
fn appointment(server: &RunningServer) -> String {
    let day = server
        .state
        .now()
        .date()
        .next_day()
        .and_then(|d| d.next_day())
        .and_then(|d| d.next_day())
        .expect("a date three days on");
    format!(
        "{:04}-{:02}-{:02}T09:00",
        day.year(),
        day.month() as u8,
        day.day()
    )
}

/// The applicant, address, appointment and contact blocks.
async fn fill_common(b: &Browser, server: &RunningServer, uscc: &str, phone: &str) {
    b.fill("#f-applicant-name", APPLICANT).await;
    b.fill("#f-applicant-uscc", uscc).await;
    b.fill("#f-project_code", "2611-421303-04-01-123456").await;
    b.select("#f-address-district_code", "421303").await;
    b.fill("#f-address-detail", "交通大道100号").await;
    b.fill("#f-address-lng", "113.37").await;
    b.fill("#f-address-lat", "31.70").await;
    b.type_datetime("#f-appointment_at", &appointment(server))
        .await;
    b.fill("#f-contact-name", "张三").await;
    b.fill("#f-contact-phone", phone).await;
}

async fn fill_water(b: &Browser) {
    b.tick(&choice("services.water.business_type", "new_account"))
        .await;
    b.fill("#f-services-water-demand_tons_per_day", "50").await;
}

/// Fills each text field with its value, in order.
async fn fill_all(b: &Browser, fields: &[(&str, &str)]) {
    for (css, value) in fields {
        b.fill(css, value).await;
    }
}

async fn fill_power(b: &Browser) {
    b.tick(&choice("services.power.business_type", "new")).await;
    b.fill("#f-services-power-main_capacity_kva", "630").await;
    b.fill("#f-services-power-backup_capacity_kva", "0").await;
}

/// The one line of gas equipment: name, quantity, pressure.
const GAS_EQUIPMENT: [(&str, &str); 3] = [
    ("#f-services-gas-equipment-0-name", "燃气灶"),
    ("#f-services-gas-equipment-0-quantity", "4"),
    ("#f-services-gas-equipment-0-pressure", "2kPa"),
];

async fn fill_gas(b: &Browser) {
    b.tick(&choice("services.gas.category", "small_commercial"))
        .await;
    fill_all(b, &GAS_EQUIPMENT).await;
}

async fn fill_heat(b: &Browser) {
    b.tick(&choice("services.heat.category", "residential_collective"))
        .await;
    b.fill("#f-services-heat-heating_area_m2", "12000").await;
}

async fn fill_network(b: &Browser, carriers: &[&str]) {
    b.fill("#f-services-network-building_area_m2", "20000")
        .await;
    b.fill("#f-services-network-building_height_m", "45").await;
    b.type_date("#f-services-network-delivery_date", "2027-06-30")
        .await;
    b.fill("#f-services-network-buildings", "3").await;
    b.tick(&choice("services.network.basement_coverage", "true"))
        .await;
    b.tick(&choice("services.network.elevator_coverage", "false"))
        .await;
    for c in carriers {
        b.tick(&choice("services.network.carriers", c)).await;
    }
}

/// Closes the browser, then stops the server.
async fn finish(b: Browser, server: RunningServer) {
    b.close().await;
    server.stop().await;
}

/// No service's section shows before a service is chosen.
async fn no_section_shown(b: &Browser) {
    for s in SERVICES {
        let shown = b.is_displayed(&format!("#sec-{s}")).await;
        b.check(
            !shown,
            format_args!("sec-{s} shown before anything was chosen"),
        )
        .await;
    }
}

/// Registers [`USCC`] with [`PHONE`] through the registration form.
async fn register(b: &Browser, server: &RunningServer) {
    b.goto(&server.url("/register")).await;
    let form = [
        ("#f-uscc", USCC),
        ("#f-enterprise_name", APPLICANT),
        ("#f-contact_name", "张三"),
        ("#f-phone", PHONE),
        ("#f-password", "Shop-2026-ok"),
        ("#f-password_confirm", "Shop-2026-ok"),
    ];
    fill_all(b, &form).await;
    b.click_to_next_page("form[action='/register'] button[type=submit]")
        .await;
}

/// On the open form, chooses `services` (the last one's section must
/// show), fills the common blocks for [`USCC`] and [`PHONE`] and each
/// service's block, and submits; the new application's id and number.
async fn apply_for(b: &Browser, server: &RunningServer, services: &[&str]) -> (String, String) {
    for s in services {
        b.tick(&service_box(s)).await;
    }
    let last = services.last().expect("a service");
    b.wait_displayed(&format!("#sec-{last}"), true).await;
    fill_common(b, server, USCC, PHONE).await;
    for s in services {
        match *s {
            "water" => fill_water(b).await,
            "power" => fill_power(b).await,
            "gas" => fill_gas(b).await,
            "heat" => fill_heat(b).await,
            other => panic!("no filling for {other}"),
        }
    }
    let id = submit_and_land_on_receipt(b).await;
    (id, b.text("#application-number").await)
}

/// No code or English word of [`leaks`] is on the page.
async fn no_leaks(b: &Browser, page: &str) {
    let leaked = leaks(page);
    b.check(leaked.is_none(), format_args!("{leaked:?} shown: {page}"))
        .await;
}

/// Submits the form and waits for the receipt; returns the application id.
async fn submit_and_land_on_receipt(b: &Browser) -> String {
    b.click("#submit-application").await;
    let path = b.wait_for_path("/receipt/").await;
    path.trim_start_matches("/receipt/").to_owned()
}

/// The receipt: an `LB…` number, one work order row per unit named, each
/// with a deadline. Returns the application number.
async fn assert_receipt(b: &Browser, units: &[&str]) -> String {
    let number = b.text("#application-number").await;
    b.check(
        number.starts_with("LB")
            && number.len() > 2
            && number[2..].chars().all(|c| c.is_ascii_digit()),
        format_args!("application number {number:?} is not LB followed by digits"),
    )
    .await;
    let status = b.text("#application-status").await;
    b.check(!status.trim().is_empty(), "no status on the receipt")
        .await;
    let body = b.text("main").await;
    b.check(body.contains(APPLICANT), "applicant name missing")
        .await;
    // The receipt is public to its holder: no phone, no contact name.
    b.check(
        !body.contains("0000") && body.contains("为保护个人信息"),
        "the public receipt shows personal data",
    )
    .await;

    let rows = b.find_all("tr.order").await;
    let mut texts = Vec::new();
    for row in &rows {
        let text = b.text_of(row).await;
        let time = b.find_in(row, "time").await;
        let iso = b.attr_of(&time, "datetime").await.unwrap_or_default();
        let shown = b.text_of(&time).await;
        b.check(
            iso.starts_with("20") && iso.ends_with("+08:00"),
            format_args!("row {text:?}: deadline datetime {iso:?}"),
        )
        .await;
        b.check(
            shown.contains('年') && shown.contains('月') && shown.contains('日'),
            format_args!("row {text:?}: deadline shown as {shown:?}"),
        )
        .await;
        texts.push(text);
    }
    b.check(
        rows.len() == units.len(),
        format_args!(
            "{} work order rows, expected {} ({units:?}): {texts:#?}",
            rows.len(),
            units.len()
        ),
    )
    .await;
    for unit in units {
        let n = texts.iter().filter(|t| t.contains(unit)).count();
        b.check(
            n == 1,
            format_args!("{unit} named in {n} rows, expected one: {texts:#?}"),
        )
        .await;
    }
    number
}

/// Whether the page's own script ran (it marks `<html class="js">`).
async fn page_script_ran(b: &Browser) -> bool {
    b.attr("html", "class")
        .await
        .is_some_and(|c| c.split_whitespace().any(|c| c == "js"))
}

// ───────────────────────────── the tests ─────────────────────────────

async fn fills_the_form_and_sees_the_receipt(backend: Backend) {
    let server = start_server(backend).await;
    let b = browser(true).await;
    b.goto(&server.url("/apply")).await;
    b.check(page_script_ran(&b).await, "app.js did not run")
        .await;
    // With JavaScript the chooser's "next" button is not needed.
    b.check(
        !b.is_displayed("button[name=action][value=choose]").await,
        "the no-JavaScript button is shown while JavaScript runs",
    )
    .await;
    no_section_shown(&b).await;

    // Ticking a service shows its section at once, and only its section.
    for s in ["water", "power", "gas", "network"] {
        b.tick(&service_box(s)).await;
        b.wait_displayed(&format!("#sec-{s}"), true).await;
        b.check(
            b.attr(&format!("#sec-{s}"), "hidden").await.is_none(),
            format_args!("sec-{s} still has the hidden attribute"),
        )
        .await;
    }
    b.check(!b.is_displayed("#sec-heat").await, "heat shown unticked")
        .await;
    b.check(
        b.is_selected(&choice("mode", "a_la_carte")).await,
        "mode is not 点单式 with four of five services",
    )
    .await;
    // 套餐式 takes all five.
    b.tick(&choice("mode", "bundle")).await;
    b.wait_displayed("#sec-heat", true).await;
    for s in SERVICES {
        b.check(
            b.is_selected(&service_box(s)).await,
            format_args!("{s} not ticked by 套餐式"),
        )
        .await;
    }

    fill_common(&b, &server, USCC, PHONE).await;
    fill_water(&b).await;
    fill_power(&b).await;
    fill_gas(&b).await;
    // A fourth equipment row, added by the page's script.
    b.click("#f-services-gas-equipment > button[type=button]")
        .await;
    b.fill("#f-services-gas-equipment-3-name", "锅炉").await;
    b.fill("#f-services-gas-equipment-3-quantity", "1").await;
    b.fill("#f-services-gas-equipment-3-pressure", "0.4MPa")
        .await;
    fill_heat(&b).await;
    fill_network(&b, &["telecom", "mobile"]).await;

    let id = submit_and_land_on_receipt(&b).await;
    let number = assert_receipt(
        &b,
        &[
            "随州市水务集团",
            "国网随州供电公司",
            "随州中燃公司",
            "随州市集中供热单位",
            "中国电信随州分公司",
            "中国移动随州分公司",
        ],
    )
    .await;

    // Readable on a phone: nothing wider than the screen.
    b.set_window_size(390, 844).await;
    let start = Instant::now();
    let widths = loop {
        let w = b
            .execute(
                "const d = document.documentElement; \
                 return [window.innerWidth, d.clientWidth, d.scrollWidth];",
                vec![],
            )
            .await;
        let w: Vec<u64> = w
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        if w.first().is_some_and(|&inner| inner <= 390) || start.elapsed() > Duration::from_secs(5)
        {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let [inner, client, scroll] = widths[..] else {
        b.fail(format_args!("widths not read: {widths:?}")).await;
    };
    b.check(
        inner <= 390 && scroll <= 390 && scroll <= client,
        format_args!(
            "receipt wider than a 390px phone: innerWidth {inner}, clientWidth {client}, \
             scrollWidth {scroll}"
        ),
    )
    .await;
    // The phone layout: table rows become cards, header row hidden.
    b.check(
        !b.is_displayed(".orders thead").await,
        "table header shown at phone width",
    )
    .await;
    b.check(
        b.is_displayed("#application-number").await,
        "number not visible at phone width",
    )
    .await;

    // What the browser sent arrived whole (read back from the store).
    let app = server.application_json(&id).await;
    let summary = app.to_string();
    b.check(app["number"] == number.as_str(), format_args!("{summary}"))
        .await;
    b.check(app["channel"] == "web", format_args!("{summary}"))
        .await;
    b.check(app["mode"] == "bundle", format_args!("{summary}"))
        .await;
    b.check(app["applicant"]["uscc"] == USCC, format_args!("{summary}"))
        .await;
    let equipment = &app["services"]["gas"]["equipment"];
    b.check(
        equipment.as_array().map(Vec::len) == Some(2)
            && equipment[1]["name"] == "锅炉"
            && equipment[1]["quantity"] == 1,
        format_args!("gas equipment: {equipment}"),
    )
    .await;
    b.check(
        app["services"]["network"]["delivery_date"] == "2027-06-30",
        format_args!("{summary}"),
    )
    .await;
    b.check(
        app["appointment_at"]
            .as_str()
            .is_some_and(|a| a.starts_with(&appointment(&server))),
        format_args!("appointment: {}", app["appointment_at"]),
    )
    .await;

    finish(b, server).await;
}

async fn sees_a_field_error_beside_the_field(backend: Backend) {
    let server = start_server(backend).await;
    let b = browser(true).await;
    b.goto(&server.url("/apply")).await;
    b.tick(&service_box("water")).await;
    b.wait_displayed("#sec-water", true).await;
    fill_common(&b, &server, BAD_USCC, "1234").await;
    fill_water(&b).await;
    b.click("#submit-application").await;

    b.find("#error-summary").await;
    b.check(
        b.current_path().await == "/apply",
        "left the form on an error",
    )
    .await;
    let uscc_err = b.text("#f-applicant-uscc-err").await;
    b.check(
        uscc_err.contains("校验"),
        format_args!("USCC error {uscc_err:?} does not mention the check character (校验)"),
    )
    .await;
    let phone_err = b.text("#f-contact-phone-err").await;
    b.check(!phone_err.trim().is_empty(), "empty phone error")
        .await;
    // Beside the field: in the same block, after the input, and tied to it.
    for field in ["f-applicant-uscc", "f-contact-phone"] {
        b.check(
            b.exists(&format!(".field.invalid > #{field} ~ #{field}-err"))
                .await,
            format_args!("#{field}-err is not beside #{field}"),
        )
        .await;
        b.check(
            b.attr(&format!("#{field}"), "aria-describedby").await == Some(format!("{field}-err")),
            format_args!("#{field} not described by its error"),
        )
        .await;
        b.check(
            b.exists(&format!("#error-summary a[href='#{field}']"))
                .await,
            format_args!("the summary does not link to #{field}"),
        )
        .await;
    }
    // What was typed is still there.
    for (css, typed) in [
        ("#f-applicant-uscc", BAD_USCC),
        ("#f-contact-phone", "1234"),
        ("#f-applicant-name", APPLICANT),
        ("#f-address-detail", "交通大道100号"),
        ("#f-services-water-demand_tons_per_day", "50"),
    ] {
        let got = b.value(css).await;
        b.check(
            got == typed,
            format_args!("{css} holds {got:?} after the error, typed {typed:?}"),
        )
        .await;
    }
    let district = b.value("#f-address-district_code").await;
    b.check(district == "421303", "district choice lost").await;
    b.check(
        b.is_selected(&choice("services.water.business_type", "new_account"))
            .await,
        "water business type lost",
    )
    .await;
    b.check(b.is_displayed("#sec-water").await, "water section gone")
        .await;
    b.check(!b.is_displayed("#sec-gas").await, "gas section shown")
        .await;

    // Corrected, the same form goes through.
    b.fill("#f-applicant-uscc", USCC).await;
    b.fill("#f-contact-phone", PHONE).await;
    submit_and_land_on_receipt(&b).await;
    assert_receipt(&b, &["随州市水务集团"]).await;

    finish(b, server).await;
}

async fn works_without_javascript(backend: Backend) {
    let server = start_server(backend).await;
    let b = browser(false).await;
    b.goto(&server.url("/apply")).await;
    b.check(!page_script_ran(&b).await, "app.js ran with JavaScript off")
        .await;
    let choose = "button[name=action][value=choose]";
    b.check(
        b.is_displayed(choose).await,
        "no 下一步 button without JavaScript",
    )
    .await;
    no_section_shown(&b).await;

    // Typed before choosing, kept after.
    b.fill("#f-applicant-name", APPLICANT).await;
    for s in ["water", "power", "network"] {
        b.tick(&service_box(s)).await;
    }
    // Without JavaScript ticking shows nothing yet.
    b.check(
        !b.is_displayed("#sec-water").await,
        "section shown by a tick",
    )
    .await;
    b.click(choose).await;
    b.wait_displayed("#sec-water", true).await;
    for (s, shown) in [
        ("water", true),
        ("power", true),
        ("network", true),
        ("gas", false),
        ("heat", false),
    ] {
        b.check(
            b.is_displayed(&format!("#sec-{s}")).await == shown,
            format_args!("sec-{s} shown: expected {shown}"),
        )
        .await;
    }
    b.check(
        b.value("#f-applicant-name").await == APPLICANT,
        "applicant name lost by choosing services",
    )
    .await;
    let label = b.text(choose).await;
    b.check(
        label.contains("更新所选业务"),
        format_args!("the chooser button reads {label:?} after choosing"),
    )
    .await;

    fill_common(&b, &server, USCC, PHONE).await;
    fill_water(&b).await;
    fill_power(&b).await;
    fill_network(&b, &["mobile"]).await;
    submit_and_land_on_receipt(&b).await;
    assert_receipt(
        &b,
        &["随州市水务集团", "国网随州供电公司", "中国移动随州分公司"],
    )
    .await;
    b.check(!page_script_ran(&b).await, "app.js ran on the receipt")
        .await;

    finish(b, server).await;
}

/// Files an application for another enterprise directly (as a window clerk
/// would), so that there is something the browser's users must not see.
async fn other_enterprise_application(server: &RunningServer) -> String {
    verified_application(server, OTHER_USCC).await
}

/// Files an application for `uscc` through a verified channel (as a window
/// clerk would); its number.
async fn verified_application(server: &RunningServer, uscc: &str) -> String {
    let body = serde_json::json!({
        "applicant": {"name": "随州市另一家有限公司", "uscc": uscc},
        "address": {"district_code": "421321", "detail": "厉山镇工业园1号"},
        "contact": {"name": "李四", "phone": "13900009999"},
        "mode": "a_la_carte",
        "channel": "api",
        "services": {"water": {"business_type": "temporary", "demand_tons_per_day": 2.5}}
    });
    let form = onestop_server::app::applications::validate(&server.state, &body).expect("valid");
    let system = onestop_server::app::accounts::system_caller("e2e");
    match onestop_server::app::applications::submit(&server.state, form, &system, None)
        .await
        .expect("submitted")
    {
        onestop_server::app::applications::Submitted::Created { application, .. } => {
            application.number
        }
        onestop_server::app::applications::Submitted::Replayed(_) => unreachable!(),
    }
}

/// A staff account: login name, display name, its one role, password.
type Staff<'a> = (&'a str, &'a str, &'a str, &'a str);

const GAS_OPERATOR: Staff = ("gas.op", "燃气经办", "operator:sz-gas", "Gas-2026-op");
const POWER_OPERATOR: Staff = ("power.op", "供电经办", "operator:sz-power", "Power-2026-op");
const HEAT_OPERATOR: Staff = ("heat.op", "供热经办", "operator:sz-heat", "Heat-2026-op");
const ZRZY_APPROVER: Staff = ("zrzy.op", "规划审批", "approver:sz-zrzy", "Appr-2026-ok");
const JJ_APPROVER: Staff = ("jj.op", "交警审批", "approver:sz-jj", "Appr-2026-ok");
const SUPERVISOR: Staff = (
    "super.zjj",
    "住建局督办员",
    "supervisor:sz-zjj",
    "Super-2026-ok",
);
const WATER_OPERATOR: Staff = ("water.op", "供水经办", "operator:sz-water", "Water-2026-op");
const WINDOW_CLERK: Staff = ("window.zhou", "周窗口", "clerk:zd-zwzx", "Hall-2026-ok");

/// A staff account with one role, its first-login change done.
async fn staff(server: &RunningServer, (username, name, grant, password): Staff<'_>) {
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

async fn sign_in(b: &Browser, server: &RunningServer, username: &str, password: &str) {
    b.goto(&server.url("/login")).await;
    b.fill("#f-username", username).await;
    b.fill("#f-password", password).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
}

/// An enterprise registers, signs in, submits, and sees only its own
/// applications; the gas company's operator sees only the gas orders.
async fn each_sees_only_their_own(backend: Backend) {
    let server = start_server(backend).await;
    let other_number = other_enterprise_application(&server).await;
    staff(&server, GAS_OPERATOR).await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;

    register(&b, &server).await;
    b.wait_for_path("/login").await;
    b.check(
        b.text("main").await.contains("已受理注册"),
        "no confirmation after registering",
    )
    .await;
    sign_in(&b, &server, PHONE, "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;

    // The form starts with the enterprise and its contact.
    b.goto(&server.url("/apply")).await;
    b.check(
        b.value("#f-applicant-uscc").await == USCC,
        "USCC not prefilled for the signed-in enterprise",
    )
    .await;
    let (id, number) = apply_for(&b, &server, &["water", "gas"]).await;
    // Signed in with access: the full receipt, contact included.
    b.check(
        b.text("main").await.contains("张三"),
        "the enterprise's own receipt lacks its contact",
    )
    .await;

    b.goto(&server.url("/applications")).await;
    let mine = b.text("main").await;
    b.check(
        mine.contains(&number),
        format_args!("{number} not listed: {mine}"),
    )
    .await;
    b.check(
        !mine.contains(&other_number) && !mine.contains("随州市另一家有限公司"),
        "another enterprise's application is listed",
    )
    .await;
    b.check(!mine.contains(PHONE), "the list shows a full phone number")
        .await;
    b.click("form[action='/logout'] button[type=submit]").await;
    b.wait_for_path("/login").await;

    sign_in(&b, &server, "gas.op", "Gas-2026-op").await;
    b.wait_for_path("/workbench").await;
    let inbox = b.text("main").await;
    let missing = format!("the gas order of {number} is missing: {inbox}");
    b.check(inbox.contains(&number), missing).await;
    b.check(
        !inbox.contains(&other_number),
        "a water-only application reached the gas inbox",
    )
    .await;
    b.check(
        b.find_all("main tbody tr").await.len() == 1,
        "the gas inbox should hold exactly the one gas order",
    )
    .await;
    // Another enterprise's application, by id, is simply not there.
    let app = server.application_json(&id).await;
    let water_order = app["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["unit"]["code"] == "sz-water")
        .and_then(|o| o["id"].as_str())
        .unwrap()
        .to_owned();
    b.goto(&server.url(&format!("/work-orders/{water_order}")))
        .await;
    b.check(
        b.text("main").await.contains("页面不存在"),
        "the gas operator opened a water order",
    )
    .await;
    finish(b, server).await;
}

async fn sign_out(b: &Browser) {
    b.click("form[action='/logout'] button[type=submit]").await;
    b.wait_for_path("/login").await;
}

/// The id of `unit`'s order in the application.
async fn order_id(server: &RunningServer, app_id: &str, unit: &str) -> String {
    let app = server.application_json(app_id).await;
    app["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["unit"]["code"] == unit)
        .and_then(|o| o["id"].as_str())
        .unwrap_or_else(|| panic!("no {unit} order in {app}"))
        .to_owned()
}

/// Takes an action from the order page and waits for the confirmation.
async fn take(b: &Browser, action: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let css = format!("#f-{action}-{name}");
        if b.attr(&css, "type").await.as_deref() == Some("datetime-local") {
            b.type_datetime(&css, value).await;
        } else {
            b.fill(&css, value).await;
        }
    }
    // Actions that cannot be undone ask for a ticked confirmation.
    let confirm = format!("#f-{action}-confirm");
    if b.exists(&confirm).await {
        b.tick(&confirm).await;
    }
    b.click_to_next_page(&format!("form[data-action='{action}'] button[type=submit]"))
        .await;
    b.wait_displayed("#action-done", true).await;
}

/// Signs in as the heat company's operator and opens `path`.
async fn at_heat_desk(b: &Browser, server: &RunningServer, path: &str) {
    sign_in(b, server, "heat.op", "Heat-2026-op").await;
    b.wait_for_path("/workbench").await;
    b.goto(&server.url(path)).await;
}

/// Signs in as an approver and decides its department's item on the case.
async fn decide_on_page(
    b: &Browser,
    server: &RunningServer,
    case_path: &str,
    (who, decision, opinion): (&str, &str, &str),
) {
    sign_in(b, server, who, "Appr-2026-ok").await;
    b.wait_for_path("/approvals").await;
    b.wait_displayed(&format!("a[href='{case_path}']"), true)
        .await;
    b.click_to_next_page(&format!("a[href='{case_path}']"))
        .await;
    let form = b.find("form[data-item]").await;
    let item = b.attr_of(&form, "data-item").await.expect("item id");
    b.tick(&format!(
        "#decide-{item} input[name=decision][value={decision}]"
    ))
    .await;
    b.fill(&format!("#opinion-{item}"), opinion).await;
    if decision == "reject" {
        b.tick(&format!("#confirm-{item}")).await;
    }
    b.click_to_next_page(&format!("#decide-{item} button[type=submit]"))
        .await;
    b.wait_displayed("#case-done", true).await;
    sign_out(b).await;
}

/// One application through the pages: the enterprise submits power and
/// heat; the power company accepts, proposes the one joint survey and
/// connects; the heat company finds 800 m of external works and raises the
/// approval case; the natural resources department rejects, the heat
/// company resubmits, both departments approve, the heat company builds and
/// connects; the enterprise follows each utility on its timeline.
async fn one_lifecycle_through_the_pages(backend: Backend) {
    // Monday 23 November 2026, 09:00; the survey and the appointment are on
    // Thursday at 09:00, and the clock moves there before what is found on
    // site is recorded (nothing is recorded before it happened).
    let server = start_server_at(backend, "2026-11-23T09:00:00+08:00").await;
    let applicant = format!("applicant:{USCC}");
    staff(&server, ("ent.a", "示例商贸", &applicant, "Shop-2026-ok")).await;
    for who in [POWER_OPERATOR, HEAT_OPERATOR, ZRZY_APPROVER, JJ_APPROVER] {
        staff(&server, who).await;
    }
    let b = browser(true).await;
    b.set_window_size(1280, 900).await;
    let day = appointment(&server);
    let date = &day[..10];
    let on_site = format!("{date}T10:00");
    let on_site_ms = onestop_domain::timefmt::to_ms(
        onestop_domain::timefmt::parse(&format!("{on_site}:00+08:00")).expect("an instant"),
    );

    // The enterprise submits power and heat on one form.
    sign_in(&b, &server, "ent.a", "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;
    b.goto(&server.url("/apply")).await;
    let (id, number) = apply_for(&b, &server, &["power", "heat"]).await;
    sign_out(&b).await;
    let power = order_id(&server, &id, "sz-power").await;
    let heat = order_id(&server, &id, "sz-heat").await;

    // The power company: accept, propose the joint survey, no external works, connect.
    sign_in(&b, &server, "power.op", "Power-2026-op").await;
    b.wait_for_path("/workbench").await;
    b.check(
        b.text("main").await.contains(&number),
        "the power order is not on the workbench",
    )
    .await;
    b.goto(&server.url(&format!("/work-orders/{power}"))).await;
    take(&b, "accept", &[]).await;
    b.type_datetime("#f-survey-at", &day).await;
    b.click_to_next_page("#propose-survey button[type=submit]")
        .await;
    b.check(
        b.text("#survey").await.contains("国网随州供电公司")
            || b.text("#survey").await.contains("供电"),
        format_args!("the survey is not shown: {}", b.text("#survey").await),
    )
    .await;
    // Thursday, on site: three days on, the session has lapsed.
    server.state.time.set_ms(on_site_ms);
    sign_in(&b, &server, "power.op", "Power-2026-op").await;
    b.wait_for_path("/workbench").await;
    b.goto(&server.url(&format!("/work-orders/{power}"))).await;
    take(
        &b,
        "record_survey",
        &[("findings", "现场具备接入条件"), ("external_works_m", "0")],
    )
    .await;
    b.check(
        b.text("#order-stage").await.contains("接入"),
        format_args!(
            "no works: straight to connection, not {}",
            b.text("#order-stage").await
        ),
    )
    .await;
    take(&b, "connect", &[("connected_at", &on_site)]).await;
    b.check(
        b.text("#order-status").await.contains("已办结"),
        format_args!("power not done: {}", b.text("#order-status").await),
    )
    .await;
    sign_out(&b).await;

    // The heat company sees the same survey, finds 800 m and raises the case.
    at_heat_desk(&b, &server, &format!("/work-orders/{heat}")).await;
    take(&b, "accept", &[]).await;
    b.check(
        !b.text("#survey").await.contains("尚未约定"),
        "the heat company does not see the joint survey",
    )
    .await;
    take(
        &b,
        "record_survey",
        &[
            ("findings", "需新建供热管线"),
            ("external_works_m", "800"),
            ("route", "沿交通大道"),
        ],
    )
    .await;
    b.click("#raise-case").await;
    b.wait_for_path(&format!("/applications/{id}/approval-case"))
        .await;
    b.fill("#place", "交通大道（擂鼓墩大道至烈山大道段）").await;
    b.type_date("#from", date).await;
    b.type_date("#to", date).await;
    // The departments concerned are ticked; the others are not involved.
    for d in ["sz-zrzy", "sz-jj"] {
        b.tick(&format!("input[name=involved][value={d}]")).await;
    }
    b.click("#raise button[type=submit]").await;
    let case_path = b.wait_for_path("/approval-cases/").await;
    b.check(
        b.text("#case-status").await.contains("审批中"),
        "the case is not pending",
    )
    .await;
    sign_out(&b).await;

    // The natural resources department hears of its new item at once, on
    // its messages page, before any warning.
    sign_in(&b, &server, "zrzy.op", "Appr-2026-ok").await;
    b.wait_for_path("/approvals").await;
    b.check(
        b.text("#bell").await.contains('1'),
        format_args!("no unread message: {}", b.text("#bell").await),
    )
    .await;
    b.click_to_next_page("#bell").await;
    let told = b.text("#messages").await;
    b.check(
        told.contains("新审批事项") && told.contains(&number),
        format_args!("the department is not told of its new item: {told}"),
    )
    .await;
    no_leaks(&b, &told).await;
    sign_out(&b).await;

    // Natural resources rejects; the heat company revises and resubmits.
    let reject = ("zrzy.op", "reject", "路由穿越规划绿地，请调整");
    decide_on_page(&b, &server, &case_path, reject).await;
    at_heat_desk(&b, &server, &case_path).await;
    b.check(
        b.text("#opinion-sheet").await.contains("路由穿越规划绿地"),
        "the rejection's opinion is not on the sheet",
    )
    .await;
    b.fill("#r-note", "改走沿河大道北侧人行道，避开规划绿地")
        .await;
    b.fill("#r-place", "沿河大道北侧").await;
    b.click_to_next_page("#resubmit button[type=submit]").await;
    b.wait_displayed("#case-done", true).await;
    sign_out(&b).await;

    // Both departments approve: the case is approved, the works move on.
    let zrzy = ("zrzy.op", "approve", "同意");
    decide_on_page(&b, &server, &case_path, zrzy).await;
    let jj = ("jj.op", "approve", "同意，按交通组织方案施工");
    decide_on_page(&b, &server, &case_path, jj).await;
    at_heat_desk(&b, &server, &case_path).await;
    b.check(
        b.text("#case-status").await.contains("已通过"),
        format_args!("the case is not approved: {}", b.text("main").await),
    )
    .await;
    b.goto(&server.url(&format!("/work-orders/{heat}"))).await;
    take(&b, "complete_construction", &[]).await;
    take(&b, "connect", &[("connected_at", &on_site)]).await;
    sign_out(&b).await;

    // The enterprise sees both utilities done, each with its timeline.
    sign_in(&b, &server, "ent.a", "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    let status = b.text("#application-status").await;
    b.check(
        status.contains("已办结"),
        format_args!("application: {status}"),
    )
    .await;
    let heat_line = b.text(&format!("#progress-{heat}")).await;
    for step in [
        "受理",
        "联合踏勘",
        "发起并联审批",
        "并联审批通过",
        "外线施工完成",
        "接入",
    ] {
        b.check(
            heat_line.contains(step) || b.text("main").await.contains(step),
            format_args!("the heat timeline lacks {step}: {heat_line}"),
        )
        .await;
    }
    let power_line = b.text(&format!("#progress-{power}")).await;
    b.check(
        power_line.contains("无需"),
        format_args!("the power timeline should show skipped stages: {power_line}"),
    )
    .await;
    finish(b, server).await;
}

/// The clock stands on Monday 16 November 2026, 09:00; a power order's
/// acceptance (half a working day) is due at 14:45. On Tuesday at 09:00 it
/// is overdue: the supervisor opens the board from the header, sees it on
/// the overdue list, follows it to the order page and sends a reminder
/// (督办) with a note, which the order's history then shows.
async fn a_supervisor_sees_an_overdue_order_on_the_board_and_reminds(backend: Backend) {
    let server = start_server_at(backend, "2026-11-16T09:00:00+08:00").await;
    let body = serde_json::json!({
        "applicant": {"name": "随州市某某机械有限公司", "uscc": USCC},
        "address": {"district_code": "421303", "detail": "交通大道8号"},
        "contact": {"name": "赵六", "phone": "13900001111"},
        "mode": "a_la_carte", "channel": "api",
        "services": {"power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0}}
    });
    let form = onestop_server::app::applications::validate(&server.state, &body).expect("valid");
    let system = onestop_server::app::accounts::system_caller("e2e");
    let (number, order) =
        match onestop_server::app::applications::submit(&server.state, form, &system, None)
            .await
            .expect("submitted")
        {
            onestop_server::app::applications::Submitted::Created { application, .. } => (
                application.number.clone(),
                application.work_orders[0].id.clone(),
            ),
            onestop_server::app::applications::Submitted::Replayed(_) => unreachable!(),
        };
    let tuesday = onestop_domain::timefmt::parse("2026-11-17T09:00:00+08:00").unwrap();
    server
        .state
        .time
        .set_ms(onestop_domain::timefmt::to_ms(tuesday));
    let moved = onestop_server::jobs::sweeper::sweep_once(&server.state)
        .await
        .expect("sweep");
    assert_eq!(moved.len(), 1, "the order went overdue");
    staff(&server, SUPERVISOR).await;

    let b = browser(true).await;
    b.set_window_size(1280, 900).await;
    sign_in(&b, &server, "super.zjj", "Super-2026-ok").await;
    b.wait_displayed("a[href='/board']", true).await;
    b.click_to_next_page("header a[href='/board']").await;
    b.wait_for_path("/board").await;
    b.check(
        b.text("#kpi-overdue").await == "1",
        "one overdue order on the board",
    )
    .await;
    b.check(
        b.text("#board-updated").await == "09:00:00",
        "the time of the figures",
    )
    .await;
    b.check(
        b.text("#open-by-unit").await.contains("国网随州供电公司"),
        "the power company among the units",
    )
    .await;
    let row = b.text("#board-overdue tbody tr").await;
    b.check(
        row.contains(&number) && row.contains("受理"),
        format!("the overdue order on the list: {row}"),
    )
    .await;
    // The live part comes from the fragment the script fetches.
    b.check(
        b.attr("#board-live", "data-src").await.as_deref()
            == Some("/board/live?from=2026-10-19&to=2026-11-17"),
        "the refresh keeps the filters",
    )
    .await;

    b.click_to_next_page(&format!("#board-overdue a[href='/work-orders/{order}']"))
        .await;
    b.wait_for_path(&format!("/work-orders/{order}")).await;
    b.fill("#f-remind-note", "已超期，请今日内完成受理并回复。")
        .await;
    b.click_to_next_page("#remind button[type=submit]").await;
    b.wait_displayed("#reminders", true).await;
    let history = b.text("#history").await;
    b.check(
        history.contains("2026年11月17日 09:00 随州市住房和城乡建设局 住建局督办员 督办")
            && !history.contains("super.zjj"),
        format!("the reminder in the history: {history}"),
    )
    .await;
    let reminders = b.text("#reminders").await;
    b.check(
        reminders.contains("已超期，请今日内完成受理并回复。")
            && reminders.contains("待承办单位确认"),
        format!("the reminder's note, awaiting acknowledgement: {reminders}"),
    )
    .await;
    finish(b, server).await;
}

/// Words that must never reach a person on these pages: codes and English.
fn leaks(text: &str) -> Option<&'static str> {
    [
        "claimant",
        "applicant",
        "pending",
        "verified",
        "window",
        "owner",
        "sms",
        "oidc",
        "null",
    ]
    .into_iter()
    .find(|w| text.to_lowercase().contains(w))
}

/// An enterprise registers on a phone and sees nothing of its enterprise
/// until a window clerk, at a desk, checks its papers and verifies it.
async fn an_enterprise_is_verified_at_the_window(backend: Backend) {
    let server = start_server(backend).await;
    let filed = verified_application(&server, USCC).await;
    staff(&server, WINDOW_CLERK).await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    register(&b, &server).await;
    sign_in(&b, &server, PHONE, "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;
    let list = b.text("main").await;
    b.check(
        !list.contains(&filed),
        "an unverified account sees the enterprise's application",
    )
    .await;
    b.goto(&server.url("/account/enterprise")).await;
    let page = b.text("main").await;
    b.check(
        page.contains("待认证") && page.contains("营业厅窗口核验") && page.contains(USCC),
        format_args!("the enterprise page does not say how to verify: {page}"),
    )
    .await;
    no_leaks(&b, &page).await;
    sign_out(&b).await;

    // The clerk, at a desk.
    b.set_window_size(1280, 900).await;
    sign_in(&b, &server, "window.zhou", "Hall-2026-ok").await;
    b.goto(&server.url("/hall/claims")).await;
    b.fill("#f-uscc", &USCC.to_lowercase()).await;
    b.click_to_next_page("form[action='/hall/claims'] button[type=submit]")
        .await;
    let found = b.text("main").await;
    b.check(
        found.contains("张三") && found.contains("138****0000") && !found.contains(PHONE),
        format_args!("the claim is not shown as expected: {found}"),
    )
    .await;
    // Passing without ticking that the papers were checked says what to do.
    b.click_to_next_page("button[name=decision][value=verify]")
        .await;
    b.check(
        b.text("#message").await.contains("请先核验营业执照原件"),
        "no reason given for the refused verification",
    )
    .await;
    b.tick("input[name=checked]").await;
    b.click_to_next_page("button[name=decision][value=verify]")
        .await;
    let done = b.text("main").await;
    b.check(
        done.contains("已认证") && done.contains("营业厅窗口核验"),
        format_args!("not verified: {done}"),
    )
    .await;
    no_leaks(&b, &done).await;
    sign_out(&b).await;

    // Back on the phone: the enterprise's application is there now.
    b.set_window_size(390, 844).await;
    sign_in(&b, &server, PHONE, "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;
    b.check(
        b.text("main").await.contains(&filed),
        "the verified account does not see its enterprise's application",
    )
    .await;
    b.goto(&server.url("/account/enterprise")).await;
    b.check(
        b.text("main").await.contains("已认证 · 企业管理员"),
        "the enterprise page does not show the verification",
    )
    .await;
    finish(b, server).await;
}

/// The water company's operator returns `order` for correction from its page.
async fn return_for_correction(b: &Browser, server: &RunningServer, order: &str, reason: &str) {
    sign_in(b, server, "water.op", "Water-2026-op").await;
    b.wait_for_path("/workbench").await;
    b.goto(&server.url(&format!("/work-orders/{order}"))).await;
    take(b, "return_for_correction", &[("reason", reason)]).await;
    sign_out(b).await;
}

/// The water company's operator reads `order`'s page: the text of its main part.
async fn water_reads(b: &Browser, server: &RunningServer, order: &str) -> String {
    sign_in(b, server, "water.op", "Water-2026-op").await;
    b.wait_for_path("/workbench").await;
    b.goto(&server.url(&format!("/work-orders/{order}"))).await;
    let page = b.text("main").await;
    sign_out(b).await;
    page
}

/// On a returned application's page: the banner names the reason; the
/// correction opens the service's section as filed; the demand is changed
/// and resubmitted, back on the application page with what was done.
async fn correct_demand(b: &Browser, app_id: &str, order: &str, reason: &str, demand: &str) {
    let banner = b.text(&format!("#returned-{order}")).await;
    b.check(
        banner.contains("待补正") && banner.contains(reason),
        format_args!("no correction banner with the reason: {banner}"),
    )
    .await;
    b.click_to_next_page(&format!("#correct-{order}")).await;
    b.wait_for_path(&format!("/work-orders/{order}/correction"))
        .await;
    b.check(
        b.text("#correction-reason").await.contains(reason)
            && b.value("#f-services-water-demand_tons_per_day").await == "50"
            && !b.exists("#f-applicant-name").await,
        "the correction does not open the water section as filed",
    )
    .await;
    b.fill("#f-services-water-demand_tons_per_day", demand)
        .await;
    b.click("#submit-application").await;
    b.wait_for_path(&format!("/applications/{app_id}")).await;
    b.check(
        b.text("#done-notice").await.contains("补正已重新提交"),
        "no word that the correction was resubmitted",
    )
    .await;
}

/// A window clerk files for an enterprise found by its USCC, has the
/// receipt to print, finds applications of every channel by phone, and
/// corrects the returned application at the window; the water company sees
/// what changed.
async fn a_clerk_files_for_an_enterprise_and_follows_it_up(backend: Backend) {
    let server = start_server(backend).await;
    let online = verified_application(&server, USCC).await;
    staff(&server, WINDOW_CLERK).await;
    staff(&server, WATER_OPERATOR).await;
    let b = browser(true).await;
    b.set_window_size(1280, 900).await;
    sign_in(&b, &server, "window.zhou", "Hall-2026-ok").await;
    b.goto(&server.url("/apply")).await;
    b.check(
        b.text("#on-behalf").await.contains("窗口代办"),
        "the form does not say the clerk files on behalf",
    )
    .await;
    b.fill("#lookup-uscc", &USCC.to_lowercase()).await;
    b.click_to_next_page("#enterprise-lookup button[type=submit]")
        .await;
    b.check(
        b.value("#f-applicant-name").await == "随州市另一家有限公司"
            && b.text("#lookup-result")
                .await
                .contains("已按最近一次申请填入"),
        "the enterprise on file is not filled in",
    )
    .await;
    b.tick(&service_box("water")).await;
    b.wait_displayed("#sec-water", true).await;
    b.select("#f-address-district_code", "421303").await;
    b.fill("#f-address-detail", "交通大道200号").await;
    fill_water(&b).await;
    let id = submit_and_land_on_receipt(&b).await;
    let receipt = b.text("main").await;
    b.check(
        b.is_displayed("#print").await && !receipt.contains("登录后可查看"),
        format_args!("the clerk's receipt is not the full, printable one: {receipt}"),
    )
    .await;
    let filed = server.application_json(&id).await;
    b.check(
        filed["channel"] == "window" && filed["hall_id"] == "zd-zwzx",
        format_args!("not filed at the window: {filed}"),
    )
    .await;
    let number = b.text("#application-number").await;
    b.goto(&server.url("/applications")).await;
    b.check(
        b.text("main").await.contains(&number),
        "the hall's list does not have the clerk's filing",
    )
    .await;
    b.fill("#f-q", "13900009999").await;
    b.click_to_next_page("form[role=search] button[type=submit]")
        .await;
    let found = b.text("#elsewhere").await;
    b.check(
        found.contains(&online) && !found.contains("李四"),
        format_args!("the online application is not found as a status: {found}"),
    )
    .await;
    sign_out(&b).await;

    let order = order_id(&server, &id, "sz-water").await;
    return_for_correction(&b, &server, &order, "请核实日用水量").await;
    sign_in(&b, &server, "window.zhou", "Hall-2026-ok").await;
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    correct_demand(&b, &id, &order, "请核实日用水量", "60").await;
    no_leaks(&b, &b.text("main").await).await;
    sign_out(&b).await;
    let seen = water_reads(&b, &server, &order).await;
    b.check(
        seen.contains("用水量：50 吨/日 → 60 吨/日"),
        format_args!("the water company does not see what changed: {seen}"),
    )
    .await;
    finish(b, server).await;
}

/// On a phone, an enterprise corrects the water order its utility returned;
/// the utility sees the changed value.
async fn an_enterprise_corrects_a_returned_order(backend: Backend) {
    let server = start_server(backend).await;
    let applicant = format!("applicant:{USCC}");
    staff(&server, ("ent.a", "示例商贸", &applicant, "Shop-2026-ok")).await;
    staff(&server, WATER_OPERATOR).await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    sign_in(&b, &server, "ent.a", "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;
    b.goto(&server.url("/apply")).await;
    let (id, _) = apply_for(&b, &server, &["water"]).await;
    sign_out(&b).await;
    let order = order_id(&server, &id, "sz-water").await;
    return_for_correction(&b, &server, &order, "用水量与经营规模不符").await;

    sign_in(&b, &server, "ent.a", "Shop-2026-ok").await;
    b.wait_for_path("/applications").await;
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    correct_demand(&b, &id, &order, "用水量与经营规模不符", "35").await;
    let page = b.text("main").await;
    no_leaks(&b, &page).await;
    b.check(
        page.contains("补正修改了 用水量：50 吨/日 → 35 吨/日"),
        format_args!("the history does not show the correction: {page}"),
    )
    .await;
    sign_out(&b).await;
    let seen = water_reads(&b, &server, &order).await;
    b.check(
        seen.contains("用水量：50 吨/日 → 35 吨/日"),
        format_args!("the water company does not see what changed: {seen}"),
    )
    .await;
    let stored = server.application_json(&id).await;
    b.check(
        stored["services"]["water"]["demand_tons_per_day"] == 35.0,
        format_args!("the correction is not stored: {stored}"),
    )
    .await;
    finish(b, server).await;
}

/// On 2026-12-28, with no 2027 schedule published, an enterprise's deadline
/// is counted on the statutory rules and marked provisional on the receipt;
/// the administrator is asked for the schedule on every page, imports it,
/// and the deadline is recomputed without the mark.
async fn a_deadline_in_an_unannounced_year_is_provisional_until_the_import(backend: Backend) {
    use onestop_domain::calendar::{Calendar, Clock};
    let server = start_server_at(backend, "2026-12-28T10:00:00+08:00").await;
    // The built-in official data only, as the city will have it.
    let hours = server.state.clock.get().hours().clone();
    server.state.clock.set(
        std::sync::Arc::new(Clock::new(Calendar::builtin().with_provisional(), hours)),
        0,
    );
    staff(
        &server,
        ("city.admin", "系统管理员", "admin", "Admin-2026-ok"),
    )
    .await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    b.goto(&server.url("/apply")).await;
    b.tick(&service_box("water")).await;
    b.wait_displayed("#sec-water", true).await;
    fill_common(&b, &server, USCC, PHONE).await;
    fill_water(&b).await;
    let id = submit_and_land_on_receipt(&b).await;
    let row = b.text("tr.order").await;
    b.check(
        row.contains("2026年12月28日 15:45") && row.contains("暂按法定节假日推算"),
        format_args!("the deadline is not marked provisional: {row}"),
    )
    .await;

    b.set_window_size(1280, 900).await;
    sign_in(&b, &server, "city.admin", "Admin-2026-ok").await;
    b.goto(&server.url("/admin/calendar")).await;
    b.check(
        b.text("#notice-due")
            .await
            .contains("2027年国家法定节假日安排尚未导入"),
        "no notice to import on the administrator's pages",
    )
    .await;
    // The official schedule, as published: 12-28 turns out to be a holiday.
    let schedule = "[[years]]\nyear = 2027\n[[days]]\ndate = \"2026-12-28\"\nkind = \"holiday\"\nname = \"元旦\"\n";
    b.fill("#f-overrides", schedule).await;
    b.click_to_next_page("#import-calendar").await;
    b.check(
        !b.exists("#notice-due").await,
        "the notice stays after the import",
    )
    .await;
    let order = server.application_json(&id).await["work_orders"][0].clone();
    b.check(
        order["due_at"] != "2026-12-28T15:45:00+08:00",
        format_args!("the deadline was not recomputed: {order}"),
    )
    .await;
    b.goto(&server.url(&format!("/receipt/{id}"))).await;
    b.check(
        !b.text("tr.order").await.contains("暂按法定节假日推算"),
        "the receipt still marks the deadline provisional",
    )
    .await;
    finish(b, server).await;
}
