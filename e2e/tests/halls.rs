//! The shared service halls in a real (headless) Chromium, on both
//! databases: a citizen on a phone lets the browser give their location,
//! finds the nearest hall offering gas payment within 15 minutes' walk, sees
//! that it is open now, opens its sign, and later sees it closed with the
//! time it opens again; the same at desk width, with the map.

use onestop_e2e::{Browser, DbBackend as Backend, RunningServer, browser, start_server_at};

onestop_e2e::on_both_databases!(
    a_citizen_finds_the_nearest_hall_for_gas_payment_and_whether_it_is_open,
);

/// Tuesday 2026-12-01 10:00, Beijing time.
const TUESDAY_MORNING: &str = "2026-12-01T10:00:00+08:00";
/// 300 m south of the 交通大道 shared hall.
const HERE: (f64, f64) = (31.7133, 113.3790);
const HALL: &str = "水电气网暖共享营业厅（交通大道）";

async fn find_from_my_location(b: &Browser, server: &RunningServer) {
    b.goto(&server.url("/halls")).await;
    b.check(
        b.text("main").await.contains(HALL),
        "the directory lists the hall",
    )
    .await;
    b.click_to_next_page("a[href='/halls/nearby']").await;
    b.wait_for_path("/halls/nearby").await;
    b.select("#f-service", "gas").await;
    b.select("#f-business", "pay").await;
    b.wait_displayed("#use-location", true).await;
    b.click("#use-location").await;
    b.find("#within-heading").await;
}

async fn a_citizen_finds_the_nearest_hall_for_gas_payment_and_whether_it_is_open(backend: Backend) {
    let server = start_server_at(backend, TUESDAY_MORNING).await;
    let b = browser(true).await;
    b.set_window_size(390, 844).await;
    b.set_location(&server.base_url, HERE.0, HERE.1).await;
    find_from_my_location(&b, &server).await;

    // The place the browser gave, and the answer: one hall within a walk.
    let heading = b.text("#within-heading").await;
    b.check(
        heading.contains("步行 15 分钟内：1 处"),
        format!("heading: {heading}"),
    )
    .await;
    let card = b.text("#within").await;
    b.check(card.contains(HALL), format!("the hall: {card}"))
        .await;
    b.check(
        card.contains("营业中，12:00 暂停营业"),
        format!("open now: {card}"),
    )
    .await;
    b.check(card.contains("约 6 分钟"), format!("minutes: {card}"))
        .await;
    let nearest = b.text("#nearest").await;
    b.check(
        nearest.contains("用气") && nearest.contains(HALL),
        format!("nearest: {nearest}"),
    )
    .await;
    // Nothing wider than the phone.
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await;
    b.check(
        overflow.as_i64().unwrap_or(1) <= 0,
        format!("the page is wider than the phone by {overflow}"),
    )
    .await;
    for leak in ["zd-jtdd", "utility_outlet", "walk", "gas", "pay"] {
        let text = b.text("main").await;
        b.check(!text.contains(leak), format!("{leak} shown")).await;
    }

    // Its sign.
    b.click_to_next_page("#within a[href='/halls/zd-jtdd']")
        .await;
    b.wait_for_path("/halls/zd-jtdd").await;
    b.check(
        b.text("#open-now").await == "营业中，12:00 暂停营业",
        "open on its page",
    )
    .await;

    // At lunchtime it is closed and says when it opens again.
    server.state.time.set_ms(onestop_domain::timefmt::to_ms(
        onestop_domain::timefmt::parse("2026-12-01T12:30:00+08:00").unwrap(),
    ));
    b.goto(&server.url("/halls/zd-jtdd")).await;
    let state = b.text("#open-now").await;
    b.check(
        state == "休息中，今天 14:30 开门",
        format!("closed: {state}"),
    )
    .await;

    // At desk width, the same search shows the map with "you are here".
    b.set_window_size(1280, 900).await;
    server.state.time.set_ms(onestop_domain::timefmt::to_ms(
        onestop_domain::timefmt::parse(TUESDAY_MORNING).unwrap(),
    ));
    find_from_my_location(&b, &server).await;
    b.check(
        b.exists(".hall-map svg .map-here").await,
        "the map marks the place",
    )
    .await;
    b.check(
        b.exists(".hall-map svg .map-hall.open").await,
        "the open hall on the map",
    )
    .await;
    b.close().await;
    server.stop().await;
}
