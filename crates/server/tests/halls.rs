//! The shared service halls' registry, directory and 15-minute circle over
//! the API, on SQLite and PostgreSQL with the clock set by hand: the seeded
//! directory with whether each hall is open now (official holidays too), the
//! filters, the nearby search and its field errors, the coverage figure, and
//! administrators' edits — versioned, audited, kept in the change log, and
//! seen at once by the directory — with clerks' roles naming registered halls.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};

on_both_databases!(
    the_directory_lists_the_seeded_halls_and_whether_they_are_open,
    the_circle_finds_the_nearest_halls_and_names_bad_places,
    administrators_register_change_and_withdraw_halls,
    the_coverage_figure_is_for_planners,
    the_pages_show_the_directory_the_circle_and_the_registry,
);

/// Tuesday 2026-12-01 10:00: a working morning.
const TUESDAY: &str = "2026-12-01T10:00:00+08:00";

fn codes(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h["code"]
                .as_str()
                .or(h["hall"]["code"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn the_directory_lists_the_seeded_halls_and_whether_they_are_open(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let res = app.as_nobody().get("/api/v1/halls").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("public, max-age=60"));
    let all = res.json();
    assert_eq!(
        codes(&all),
        vec![
            "zd-dongcheng-zz",
            "zd-jtdd",
            "zd-zwzx",
            "sx-lishan",
            "gs-guangshui-sq",
            "gs-yingshan"
        ]
    );
    let jtdd = &all["items"][1];
    assert_eq!(jtdd["district_name"], "曾都区");
    assert_eq!(jtdd["open_now"], true);
    assert_eq!(jtdd["open_until"], "2026-12-01T12:00:00+08:00");
    assert_eq!(jtdd["hours"]["mon"], "08:30-12:00,14:30-17:30");
    assert_eq!(jtdd["hours"]["sun"], "");
    assert_eq!(jtdd["example"], true);
    assert_eq!(jtdd["services"][0]["units"], json!(["sz-water"]));

    // Filters: gas payment in 曾都区.
    let gas = app
        .as_nobody()
        .get("/api/v1/halls?district=421303&service=gas&business=pay")
        .await
        .json();
    assert_eq!(codes(&gas), vec!["zd-dongcheng-zz", "zd-jtdd"]);
    let bad = app
        .as_nobody()
        .get("/api/v1/halls?district=999999&service=oil&business=steal")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.field_codes(),
        vec![("business".into(), "unknown_value".into())]
    );
    let bad = app
        .as_nobody()
        .get("/api/v1/halls?district=999999&service=oil")
        .await;
    assert_eq!(
        bad.field_codes(),
        vec![
            ("district".into(), "unknown_value".into()),
            ("service".into(), "unknown_value".into())
        ]
    );

    // One hall; on National Day (a holiday) closed until the next working day.
    app.set_time("2026-10-01T10:00:00+08:00");
    let one = app.as_nobody().get("/api/v1/halls/zd-zwzx").await;
    assert_eq!(one.status, StatusCode::OK);
    let one = one.json();
    assert_eq!(one["open_now"], false);
    assert!(one.get("open_until").is_none());
    // The holiday runs 10-01 to 10-07: the next opening is Thursday 10-08.
    assert_eq!(one["next_open_at"], "2026-10-08T08:30:00+08:00");
    // The kiosk serves through holidays.
    let kiosk = app
        .as_nobody()
        .get("/api/v1/halls/zd-dongcheng-zz")
        .await
        .json();
    assert_eq!(kiosk["open_now"], true);
    assert_eq!(
        app.as_nobody().get("/api/v1/halls/no-such").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.as_nobody().get("/api/v1/halls/BAD%20CODE").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_circle_finds_the_nearest_halls_and_names_bad_places(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    // 300 m south of the 交通大道 hall: it is within a walk; gas payment too.
    let res = app
        .as_nobody()
        .get("/api/v1/halls/nearby?lat=31.7133&lng=113.3790&service=gas&business=pay")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let a = res.json();
    assert_eq!(a["mode"], "walk");
    assert_eq!(a["minutes"], 15.0);
    assert_eq!(codes(&a), vec!["zd-jtdd"]);
    let first = &a["items"][0];
    assert_eq!(first["distance_m"], 300);
    // 300 m × 1.3 at 4.5 km/h = 5.2 minutes, rounded up.
    assert_eq!(first["minutes"], 6);
    assert_eq!(first["hall"]["open_now"], true);
    assert_eq!(a["nearest"].as_array().unwrap().len(), 1);
    assert_eq!(a["nearest"][0]["service"], "gas");
    assert_eq!(a["nearest"][0]["within"], true);
    assert!(a["estimate"].as_str().unwrap().contains("仅供参考"));

    // Far out in 随县 on foot: nothing within 15 minutes, but a nearest per service.
    let far = app
        .as_nobody()
        .get("/api/v1/halls/nearby?lat=32.2&lng=113.0")
        .await
        .json();
    assert_eq!(codes(&far), Vec::<String>::new());
    let nearest: Vec<(&str, bool)> = far["nearest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["service"].as_str().unwrap(),
                n["within"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        nearest,
        vec![
            ("water", false),
            ("power", false),
            ("gas", false),
            ("heat", false),
            ("network", false)
        ]
    );
    assert_eq!(far["nearest"][0]["nearest"]["hall"]["code"], "sx-lishan");

    // A district's centre instead of coordinates, by car.
    let d = app
        .as_nobody()
        .get("/api/v1/halls/nearby?district=421381&mode=drive")
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text());
    assert_eq!(d.json()["mode"], "drive");

    for (q, want) in [
        ("", vec![("lat", "required")]),
        ("lat=31.7", vec![("lng", "required")]),
        ("lat=40&lng=113.3", vec![("lat", "out_of_range")]),
        ("lat=abc&lng=113.3", vec![("lat", "invalid_format")]),
        ("lat=NaN&lng=113.3", vec![("lat", "invalid_format")]),
        (
            "lat=31.7&lng=113.3&mode=fly&service=oil",
            vec![("service", "unknown_value"), ("mode", "unknown_value")],
        ),
    ] {
        let res = app
            .as_nobody()
            .get(&format!("/api/v1/halls/nearby?{q}"))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        let got = res.field_codes();
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(got, want, "{q}");
    }
}

fn new_hall() -> Value {
    json!({
        "code": "zd-nanguan", "name": "南关社区便民服务点", "kind": "community_point",
        "district_code": "421303", "address": "曾都区南关街道", "lng": 113.37, "lat": 31.70,
        "phone": "0722-3200009", "hours": {"workdays": "08:30-12:00,14:30-17:30"},
        "channels": ["staffed"], "services": [{"service": "water", "business": ["consult", "pay"]}]
    })
}

async fn administrators_register_change_and_withdraw_halls(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let admin = app.signed_in("admin1", &["admin"]).await;
    let clerk_admin = app.signed_in("ops", &["operator:sz-water"]).await;

    // Only administrators edit.
    let res = app
        .as_session(&clerk_admin)
        .post("/api/v1/halls", &new_hall())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app.as_nobody().post("/api/v1/halls", &new_hall()).await;
    assert!(
        matches!(res.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
        "{}",
        res.status
    );

    let res = app
        .as_session(&admin)
        .post("/api/v1/halls", &new_hall())
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.header("location"), Some("/api/v1/halls/zd-nanguan"));
    let created = res.json();
    assert_eq!(created["version"], 1);
    assert_eq!(created["example"], false);
    // The directory shows it at once.
    let listed = app
        .as_nobody()
        .get("/api/v1/halls?district=421303")
        .await
        .json();
    assert!(codes(&listed).contains(&"zd-nanguan".to_owned()));

    // A taken code; every problem of a bad body at once.
    let again = app
        .as_session(&admin)
        .post("/api/v1/halls", &new_hall())
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        again.field_codes(),
        vec![("code".into(), "already_exists".into())]
    );
    let mut bad = new_hall();
    bad["code"] = json!("zd-x2");
    bad["lng"] = json!(150.0);
    bad["hours"] = json!({"mon": "18:00-08:00"});
    bad["services"] = json!([{"service": "water", "units": ["sz-gas"], "business": ["pay"]}]);
    let res = app.as_session(&admin).post("/api/v1/halls", &bad).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.field_codes(),
        vec![
            ("lng".into(), "out_of_range".into()),
            ("hours.mon".into(), "invalid_format".into()),
            ("services.0.units.0".into(), "not_allowed".into()),
        ]
    );

    // A change at the version read; a stale one is refused.
    let mut change = new_hall();
    change["version"] = json!(1);
    change["hours"] = json!({"workdays": "09:00-17:00"});
    let res = app
        .as_session(&admin)
        .put("/api/v1/halls/zd-nanguan", &change)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["version"], 2);
    assert_eq!(res.json()["hours"]["tue"], "09:00-17:00");
    let res = app
        .as_session(&admin)
        .put("/api/v1/halls/zd-nanguan", &change)
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "stale_version");
    let mut renamed = change.clone();
    renamed["version"] = json!(2);
    renamed["code"] = json!("zd-other");
    let res = app
        .as_session(&admin)
        .put("/api/v1/halls/zd-nanguan", &renamed)
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("code".into(), "not_allowed".into())]
    );

    // Withdrawn: gone from the directory and a 404 to the public, still
    // there for administrators.
    let mut withdraw = change.clone();
    withdraw["version"] = json!(2);
    withdraw["active"] = json!(false);
    let res = app
        .as_session(&admin)
        .put("/api/v1/halls/zd-nanguan", &withdraw)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["active"], false);
    let listed = app.as_nobody().get("/api/v1/halls").await.json();
    assert!(!codes(&listed).contains(&"zd-nanguan".to_owned()));
    assert_eq!(
        app.as_nobody().get("/api/v1/halls/zd-nanguan").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.as_session(&admin)
            .get("/api/v1/halls/zd-nanguan")
            .await
            .status,
        StatusCode::OK
    );

    // Every change audited and in the change log.
    let actions: Vec<String> = app
        .stored_audit()
        .await
        .into_iter()
        .filter(|r| r.target_kind == "hall")
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        vec!["hall_withdrawn", "hall_updated", "hall_created"]
    );
    let log: Vec<(i64, String)> = app
        .read(|c| {
            onestop_store::halls::changes(c, "zd-nanguan", 10)
                .map(|v| v.into_iter().map(|x| (x.version, x.kind)).collect())
        })
        .await;
    assert_eq!(
        log,
        vec![
            (3, "withdrawn".into()),
            (2, "updated".into()),
            (1, "created".into())
        ]
    );
}

async fn the_coverage_figure_is_for_planners(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    let sup = app.signed_in("sup1", &["supervisor:sz-zjj"]).await;
    let op = app.signed_in("op1", &["operator:sz-water"]).await;
    assert_eq!(
        app.as_session(&op)
            .get("/api/v1/halls/coverage")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let res = app
        .as_session(&sup)
        .get("/api/v1/halls/coverage?mode=drive")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let c = res.json();
    let districts = c["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 3);
    let zd = &districts[0];
    assert_eq!(zd["district_name"], "曾都区");
    assert!(zd["points"].as_u64().unwrap() > 100);
    let water = &zd["services"][0];
    assert_eq!(water["service"], "water");
    let permille = water["covered_permille"].as_u64().unwrap();
    assert!(permille > 0 && permille < 1000, "{permille}");
    // Heat: no hall in 随县 offers it; the gaps name the minutes to the
    // nearest hall elsewhere.
    let sx_heat = &districts[1]["services"][3];
    assert_eq!(sx_heat["service"], "heat");
    assert!(!sx_heat["gaps"].as_array().unwrap().is_empty());
    assert!(sx_heat["gaps"][0]["minutes"].as_u64().unwrap() > 15);
}

/// The visible text of a page: tags and scripts dropped.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn the_pages_show_the_directory_the_circle_and_the_registry(backend: Backend) {
    let app = TestApp::at_time(backend, TUESDAY).await;
    // The public directory, filtered: names, open now, the map.
    let res = app.as_nobody().get("/halls?service=gas&business=pay").await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    let text = visible(&html);
    assert!(
        text.contains("水电气网暖共享营业厅（交通大道） 示例 营业中，12:00 暂停营业"),
        "{text}"
    );
    assert!(text.contains("共 4 处营业厅"), "{text}");
    assert!(html.contains("<svg viewBox=\"0 0 1000 "), "a map");
    assert!(html.contains("href=\"/halls/zd-jtdd\""));
    for leak in ["utility_outlet", "staffed", "consult", "421303"] {
        assert!(!text.contains(leak), "{leak} shown: {text}");
    }
    // A hall's sign on a holiday.
    app.set_time("2026-10-01T10:00:00+08:00");
    let text = visible(&app.as_nobody().get("/halls/zd-zwzx").await.text());
    assert!(
        text.contains("休息中，10月8日（周四） 08:30 开门"),
        "{text}"
    );
    assert!(
        text.contains("周一至周五 08:30–12:00，14:30–17:30"),
        "{text}"
    );
    assert!(text.contains("法定节假日休息"), "{text}");
    assert_eq!(
        app.as_nobody().get("/halls/nowhere").await.status,
        StatusCode::NOT_FOUND
    );
    app.set_time(TUESDAY);

    // The circle from a place; without one, the page says what to do.
    let res = app
        .as_nobody()
        .get("/halls/nearby?lat=31.7133&lng=113.3790&district=&service=gas&business=pay&mode=walk")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let text = visible(&res.text());
    assert!(text.contains("步行 15 分钟内：1 处"), "{text}");
    assert!(
        text.contains("营业中，12:00 暂停营业 · 约 6 分钟 （直线 300 米）"),
        "{text}"
    );
    assert!(text.contains("仅供参考"), "{text}");
    let res = app
        .as_nobody()
        .get("/halls/nearby?lat=&lng=&district=&mode=walk")
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(visible(&res.text()).contains("请允许使用您的位置，或选择所在区县"));
    // Opening the page asks nothing yet.
    let res = app.as_nobody().get("/halls/nearby").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.text().contains("error-summary"));

    // Registering a hall on the page: the errors name the fields and keep
    // the input; then it is saved and listed.
    let admin = app.signed_in("admin1", &["admin"]).await;
    let list = visible(&app.ok_page_as(&admin, "/admin/halls").await);
    assert!(list.contains("市政务服务中心水电气网暖共享窗口"), "{list}");
    let form = [
        ("code", "zd-nanguan"),
        ("name", "南关社区便民服务点"),
        ("kind", "community_point"),
        ("district_code", "421303"),
        ("address", "曾都区南关街道"),
        ("lng", "六百"),
        ("lat", "31.70"),
        ("phone", "0722-3200009"),
        ("hours_mon", "08:30-12:00,14:30-17:30"),
        ("hours_sat", "12:00-09:00"),
        ("closed_on_holidays", "yes"),
        ("channels", "staffed"),
        ("business", "water:consult"),
        ("business", "water:pay"),
        ("version", "0"),
    ];
    let html = app.refused_form_as(&admin, "/admin/halls/new", &form).await;
    let text = visible(&html);
    assert!(text.contains("经度请填写数字"), "{text}");
    assert!(text.contains("营业时段的结束时间应晚于开始时间"), "{text}");
    assert!(html.contains("value=\"南关社区便民服务点\""), "input kept");
    assert!(html.contains("value=\"water:pay\" checked"), "ticks kept");
    let mut good = form.to_vec();
    for (k, v) in good.iter_mut() {
        if *k == "lng" {
            *v = "113.37";
        }
        if *k == "hours_sat" {
            *v = "";
        }
    }
    let res = app.post_form_as(&admin, "/admin/halls/new", &good).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some("/admin/halls?saved=zd-nanguan")
    );
    let list = visible(
        &app.ok_page_as(&admin, "/admin/halls?saved=zd-nanguan")
            .await,
    );
    assert!(list.contains("已保存：南关社区便民服务点"), "{list}");
    let edit = app.ok_page_as(&admin, "/admin/halls/zd-nanguan/edit").await;
    assert!(visible(&edit).contains("登记"), "the change log");
    // Public again at once.
    let text = visible(&app.as_nobody().get("/halls/zd-nanguan").await.text());
    assert!(text.contains("南关社区便民服务点"), "{text}");
    // Not for others.
    let op = app.signed_in("op1", &["operator:sz-water"]).await;
    assert_ne!(app.get_as(&op, "/admin/halls").await.status, StatusCode::OK);
}
