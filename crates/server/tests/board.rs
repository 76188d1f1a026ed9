//! The supervisor's board on SQLite and PostgreSQL, with the clock standing
//! still and moved by hand: exact counts by stage, unit and level, the
//! overdue list oldest first, on-time rate and average working time per
//! unit and stage, the daily trend, the filters, who may see it, the live
//! fragment and the Excel export.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::testing::Backend;
use serde_json::{Value, json};
use std::io::Read;

on_both_databases!(
    figures_filters_and_trend,
    who_may_see_the_board,
    the_page_fragment_and_export,
);

fn power_only(uscc: &str) -> Value {
    a_la_carte(
        ["随州市某某机械有限公司", uscc],
        ["421303", "交通大道8号"],
        ["赵六", "13900001111"],
        "api",
        json!({"power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0}}),
    )
}

/// Submits an application; returns its one order's id.
async fn submit(app: &TestApp, body: &Value) -> String {
    let res = app.post_json("/api/v1/applications", body, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["work_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Three orders on a plain week of November 2026 (no holidays): water W1
/// and W2 in 随县, power P1 in 曾都区, all submitted Monday 09:00, so each
/// acceptance (half a working day, 11,700 s) is due Monday 14:45.
/// W1 is accepted at 10:00 (on time, 3,600 working seconds), W2 at 16:00
/// (late: 09:00–12:00 and 14:30–16:00 are 16,200 s); P1 is never accepted.
struct Scene {
    app: TestApp,
    supervisor: Session,
    w1: String,
    w2: String,
    p1: String,
}

async fn scene(backend: Backend) -> Scene {
    let app = TestApp::at_time(backend, "2026-11-16T09:00:00+08:00").await;
    let w1 = submit(&app, &water_only(USCC)).await;
    let w2 = submit(&app, &water_only(OTHER_USCC)).await;
    let p1 = submit(&app, &power_only(USCC)).await;
    let water = app.key("workorders:write:sz-water").await;
    app.set_time("2026-11-16T10:00:00+08:00");
    app.as_key(&water).accept(&w1).await;
    app.set_time("2026-11-16T15:00:00+08:00");
    app.sweep().await;
    app.set_time("2026-11-16T16:00:00+08:00");
    app.as_key(&water).accept(&w2).await;
    // Tuesday 09:00: W1's survey (from Monday 10:00, due Tuesday 10:00)
    // warned at Monday 17:22:30; W2's (from 16:00, due Tuesday 16:00) warns
    // at 11:52:30; P1 is overdue since Monday 14:45.
    app.set_time("2026-11-17T09:00:00+08:00");
    app.sweep().await;
    let supervisor = app.signed_in("super.zjj", &["supervisor:sz-zjj"]).await;
    Scene {
        app,
        supervisor,
        w1,
        w2,
        p1,
    }
}

async fn board(s: &Scene, query: &str) -> Value {
    let res = s
        .app
        .get_as(&s.supervisor, &format!("/api/v1/board{query}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

fn counts(v: &Value) -> [i64; 4] {
    ["total", "normal", "warning", "overdue"].map(|k| v[k].as_i64().unwrap())
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == value || x[key]["code"] == value)
        .unwrap_or_else(|| panic!("{key} = {value} not in {list}"))
}

async fn figures_filters_and_trend(backend: Backend) {
    let s = scene(backend).await;
    let b = board(&s, "").await;
    assert_eq!(
        b["period"],
        json!({"from": "2026-10-19", "to": "2026-11-17", "days": 30})
    );
    assert_eq!(b["generated_at"], "2026-11-17T09:00:00+08:00");
    // Open now: by level, stage and unit.
    assert_eq!(counts(&b["open"]["all"]), [3, 1, 1, 1]);
    let by_stage = &b["open"]["by_stage"];
    assert_eq!(by_stage.as_array().unwrap().len(), 6, "every working stage");
    assert_eq!(counts(find(by_stage, "stage", "acceptance")), [1, 0, 0, 1]);
    assert_eq!(counts(find(by_stage, "stage", "survey")), [2, 1, 1, 0]);
    assert_eq!(counts(find(by_stage, "stage", "design")), [0, 0, 0, 0]);
    let by_unit = &b["open"]["by_unit"];
    assert_eq!(counts(find(by_unit, "unit", "sz-water")), [2, 1, 1, 0]);
    assert_eq!(counts(find(by_unit, "unit", "sz-power")), [1, 0, 0, 1]);
    assert_eq!(counts(find(by_unit, "unit", "sz-gas")), [0, 0, 0, 0]);
    // The overdue list.
    let overdue = b["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["id"], s.p1.as_str());
    assert_eq!(overdue[0]["due_at"], "2026-11-16T14:45:00+08:00");
    assert_eq!(overdue[0]["unit"]["name"], "国网随州供电公司");
    // Monday 14:45–17:30 is 2:45 of working time; Tuesday 08:30–09:00 is 0:30.
    assert_eq!(overdue[0]["overdue_working_seconds"], 3 * 3600 + 15 * 60);
    // The period: two acceptances finished by the water group, one late.
    let water = find(&b["units"], "unit", "sz-water");
    assert_eq!(water["finished"], 2);
    assert_eq!(water["on_time"], 1);
    assert_eq!(water["on_time_rate"], 0.5);
    assert_eq!(water["average_working_seconds"], (3600 + 16200) / 2);
    let acceptance = find(&water["stages"], "stage", "acceptance");
    assert_eq!(
        (
            acceptance["finished"].as_i64(),
            acceptance["on_time"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(acceptance["average_working_seconds"], 9900);
    assert_eq!(
        find(&water["stages"], "stage", "survey")["average_working_seconds"],
        Value::Null
    );
    assert_eq!(
        (water["open"].as_i64(), water["overdue"].as_i64()),
        (Some(2), Some(0))
    );
    let power = find(&b["units"], "unit", "sz-power");
    assert_eq!(power["finished"], 0);
    assert_eq!(power["on_time_rate"], Value::Null);
    assert_eq!(power["overdue"], 1);
    // The trend: one point a day; Monday: two stages finished, and two
    // deadlines passed unfinished (W2, finished late since, and P1).
    let trend = b["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 30);
    assert_eq!(trend[0]["date"], "2026-10-19");
    assert_eq!(
        trend[28],
        json!({"date": "2026-11-16", "finished": 2, "overdue": 2})
    );
    assert_eq!(
        trend[29],
        json!({"date": "2026-11-17", "finished": 0, "overdue": 0})
    );
    assert!(
        trend[..28]
            .iter()
            .all(|p| p["finished"] == 0 && p["overdue"] == 0)
    );

    // Filters: 随县 has the water orders only; power only P1.
    let county = board(&s, "?district=421321").await;
    assert_eq!(counts(&county["open"]["all"]), [2, 1, 1, 0]);
    assert!(county["overdue"].as_array().unwrap().is_empty());
    assert_eq!(
        county["filters"],
        json!({"district": "421321", "service": null})
    );
    let power = board(&s, "?service=power").await;
    assert_eq!(counts(&power["open"]["all"]), [1, 0, 0, 1]);
    let units: Vec<&str> = power["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["sz-power"], "only the units serving the service");
    let none = board(&s, "?district=421303&service=water").await;
    assert_eq!(counts(&none["open"]["all"]), [0, 0, 0, 0]);
    assert_eq!(find(&none["units"], "unit", "sz-water")["finished"], 0);
    // The period's bounds are local days: Tuesday alone holds no finished stage.
    let tuesday = board(&s, "?from=2026-11-17&to=2026-11-17").await;
    assert_eq!(find(&tuesday["units"], "unit", "sz-water")["finished"], 0);
    assert_eq!(tuesday["trend"].as_array().unwrap().len(), 1);
    let monday = board(&s, "?from=2026-11-16&to=2026-11-16").await;
    assert_eq!(find(&monday["units"], "unit", "sz-water")["finished"], 2);

    // Wednesday 09:00: both water surveys passed their deadlines (Tuesday
    // 10:00 and 16:00): the list is the longest overdue first.
    s.app.set_time("2026-11-18T09:00:00+08:00");
    s.app.sweep().await;
    // A day later the session has timed out: sign in again.
    let s = Scene {
        supervisor: s.app.login("super.zjj", PASSWORD).await,
        ..s
    };
    let b = board(&s, "").await;
    let ids: Vec<&str> = b["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [s.p1.as_str(), s.w1.as_str(), s.w2.as_str()]);
    assert_eq!(counts(&b["open"]["all"]), [3, 0, 0, 3]);
    let trend = b["trend"].as_array().unwrap();
    assert_eq!(
        trend[29],
        json!({"date": "2026-11-18", "finished": 0, "overdue": 0})
    );
    assert_eq!(
        trend[28],
        json!({"date": "2026-11-17", "finished": 0, "overdue": 2})
    );

    // Bad filters: every field named, 422.
    let res = s
        .app
        .get_as(
            &s.supervisor,
            "/api/v1/board?district=999999&service=coal&from=2026-13-01&to=2026-11-31",
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["error"]["code"], "validation_failed");
    let mut fields = res.field_codes();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("district".to_owned(), "unknown_value".to_owned()),
            ("from".to_owned(), "invalid_format".to_owned()),
            ("service".to_owned(), "unknown_value".to_owned()),
            ("to".to_owned(), "invalid_format".to_owned()),
        ]
    );
    let res = s
        .app
        .get_as(&s.supervisor, "/api/v1/board?from=2026-11-18&to=2026-11-01")
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.field_codes(),
        [("from".to_owned(), "out_of_range".to_owned())]
    );
    // The OpenAPI document lists the endpoint.
    let doc = s.app.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/board"]["get"].is_object());

    // Counted live (no background count yet): the count is of now.
    assert_eq!(b["open_counted_at"], b["generated_at"]);
    // The server's background count: the board reads it while it is at
    // most 2 minutes old, with the instant it was taken, then counts itself.
    onestop_server::app::board::refresh_open_counts(&s.app.state)
        .await
        .unwrap();
    let counted = board(&s, "").await;
    assert_eq!(counted["open"], b["open"]);
    let total = b["open"]["all"]["total"].as_i64().unwrap();
    submit(&s.app, &water_only(OTHER_USCC)).await;
    s.app.state.time.set_ms(s.app.state.now_ms() + 120_000);
    let stale = board(&s, "").await;
    assert_eq!(
        stale["open"]["all"]["total"], total,
        "the count of 2 minutes ago"
    );
    assert_eq!(stale["open_counted_at"], counted["generated_at"]);
    let water = board(&s, "?service=water").await;
    assert_eq!(water["open_counted_at"], counted["generated_at"]);
    s.app.state.time.set_ms(s.app.state.now_ms() + 1);
    let fresh = board(&s, "").await;
    assert_eq!(fresh["open"]["all"]["total"], total + 1);
    assert_eq!(fresh["open_counted_at"], fresh["generated_at"]);
}

async fn who_may_see_the_board(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.account("op.water", &["operator:sz-water"]).await;
    app.account("applicant.a", &[&format!("applicant:{USCC}")])
        .await;
    app.account("admin.one", &["admin"]).await;
    app.account("super.zjj", &["supervisor:sz-zjj"]).await;
    for path in ["/board", "/board/live", "/board/export.xlsx"] {
        let anon = app.get(&format!("{path}?service=water")).await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            anon.header("location"),
            Some(format!("/login?next={}%3Fservice%3Dwater", path).as_str())
        );
        for who in ["op.water", "applicant.a"] {
            let s = app.login(who, PASSWORD).await;
            assert_eq!(
                app.get_as(&s, path).await.status,
                StatusCode::FORBIDDEN,
                "{who} {path}"
            );
        }
        for who in ["super.zjj", "admin.one"] {
            let s = app.login(who, PASSWORD).await;
            assert_eq!(
                app.get_as(&s, path).await.status,
                StatusCode::OK,
                "{who} {path}"
            );
        }
    }
    // The API: a session of a supervisor or an administrator; keys have no
    // scope for it.
    let anon = app.as_nobody().get("/api/v1/board").await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/board").await.status, StatusCode::FORBIDDEN);
    let op = app.login("op.water", PASSWORD).await;
    assert_eq!(
        app.get_as(&op, "/api/v1/board").await.status,
        StatusCode::FORBIDDEN
    );
    let admin = app.login("admin.one", PASSWORD).await;
    assert_eq!(
        app.get_as(&admin, "/api/v1/board").await.status,
        StatusCode::OK
    );
    // The link in the header: supervisors and administrators only.
    let page = app.page_as(&op, "/workbench").await;
    assert!(!page.contains("href=\"/board\""));
    let page = app.page_as(&admin, "/board").await;
    assert!(page.contains("href=\"/board\""));
}

/// The files of a zip archive, by name.
fn unzip(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut files = std::collections::HashMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().map(|n| n.to_string()).unwrap_or_default();
        let mut text = String::new();
        if f.read_to_string(&mut text).is_ok() {
            files.insert(name, text);
        }
    }
    files
}

async fn the_page_fragment_and_export(backend: Backend) {
    let s = scene(backend).await;
    let page = s.app.get_as(&s.supervisor, "/board?service=").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("监督看板"));
    assert!(html.contains("更新于 <span id=\"board-updated\">09:00:00</span>"));
    assert!(html.contains(&format!("href=\"/work-orders/{}\"", s.p1)));
    assert!(
        html.contains("<td data-label=\"已超期\">3.2</td>"),
        "3 h 15 min overdue"
    );
    assert!(html.contains("<strong id=\"kpi-rate\">50.0%</strong>"));
    assert!(html.contains("按期率 = 期内办结环节中未超过办理时限的比例"));
    assert!(
        html.contains("data-src=\"/board/live?from=2026-10-19&#38;to=2026-11-17\""),
        "{}",
        &html[html.find("data-src").unwrap()..][..120]
    );
    assert!(html.contains("<svg id=\"board-trend\""));
    assert_eq!(html.matches("class=\"bar-finished\"").count(), 30);
    assert!(html.contains("<title>2026-11-16：办结 2 个环节</title>"));
    assert!(html.contains("<title>2026-11-16：新增超期 2 个</title>"));
    // The water group's row: 2 finished, 1 on time, 50 %, 2.75 working hours.
    assert!(html.contains(
        "<tr><th scope=\"row\">随州市水务集团</th><td data-label=\"办结环节\">2</td><td data-label=\"按期办结\">1</td><td data-label=\"按期率\">50.0%</td><td data-label=\"平均用时\">2.8</td><td data-label=\"受理\">2.8</td>"
    ), "{html}");
    // The filters stay in the refresh address; a bad one is shown, 422.
    let filtered = s
        .app
        .get_as(
            &s.supervisor,
            "/board?district=421321&service=water&from=2026-11-01&to=2026-11-17",
        )
        .await
        .text();
    assert!(filtered.contains("data-src=\"/board/live?district=421321&#38;service=water&#38;from=2026-11-01&#38;to=2026-11-17\""));
    assert!(filtered.contains("区县：随县；业务：用水"));
    let bad = s.app.get_as(&s.supervisor, "/board?from=11/01/2026").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("日期格式应为 YYYY-MM-DD"));

    // The fragment: the live part alone, marked for the script.
    s.app.set_time("2026-11-17T09:00:30+08:00");
    let live = s
        .app
        .get_as(
            &s.supervisor,
            "/board/live?district=421321&from=2026-11-01&to=2026-11-17",
        )
        .await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.header("x-board-fragment"), Some("1"));
    let text = live.text();
    assert!(!text.contains("<html"), "a fragment, not a page");
    assert!(text.contains("更新于 <span id=\"board-updated\">09:00:30</span>"));
    assert!(text.contains("<strong id=\"kpi-open\">2</strong>"));
    assert!(text.contains("区县：随县"));

    // The export: a workbook with the same per-unit figures.
    let res = s
        .app
        .get_as(
            &s.supervisor,
            "/board/export.xlsx?from=2026-11-01&to=2026-11-17",
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let disposition = res.header("content-disposition").unwrap();
    assert!(disposition.starts_with(
        "attachment; filename=\"board-2026-11-01_2026-11-17.xlsx\"; filename*=UTF-8''"
    ));
    assert!(
        disposition.contains("%E8%80%83%E6%A0%B8"),
        "考核 in the name"
    );
    let files = unzip(&res.body);
    let strings = &files["xl/sharedStrings.xml"];
    for text in [
        "随州市水务集团",
        "国网随州供电公司",
        "按期率",
        "统计期间：2026-11-01 至 2026-11-17",
    ] {
        assert!(strings.contains(text), "{text} in {strings}");
    }
    let sheet = &files["xl/worksheets/sheet1.xml"];
    // Row 5 is the water group's: 2 finished, 1 on time, 0.5, 2.75 h;
    // acceptance 2.75 h; 2 open, 0 overdue.
    let row5 = &sheet[sheet.find("<row r=\"5\"").unwrap()..];
    let row5 = &row5[..row5.find("</row>").unwrap()];
    for cell in [
        "<c r=\"B5\"><v>2</v></c>",
        "<c r=\"C5\"><v>1</v></c>",
        "<v>0.5</v>",
        "<v>2.75</v>",
        "<c r=\"L5\"><v>2</v></c>",
        "<c r=\"M5\"><v>0</v></c>",
    ] {
        assert!(row5.contains(cell), "{cell} in {row5}");
    }
    let row6 = &sheet[sheet.find("<row r=\"6\"").unwrap()..];
    assert!(
        row6[..row6.find("</row>").unwrap()].contains("<c r=\"M6\"><v>1</v></c>"),
        "power: 1 overdue"
    );
}
