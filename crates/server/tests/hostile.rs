//! Property: whatever keys, depths, indexes, values and field counts are
//! posted to any page form (with a valid CSRF token, so that the decoder is
//! reached, and without), whatever multipart body reaches the forms that
//! take files (parts of any name, files of any content, the token early,
//! late or missing, the body cut short), and whatever JSON is posted to the
//! API's write routes (deep nesting, huge arrays, wrong types), the answer
//! is 2xx, 3xx or 4xx — never 5xx — with a body under 1 MB, no spooled file
//! is left behind, and the server still answers `/healthz`. On both
//! databases.
//!
//! `HOSTILE_CASES` sets the number of cases (default 48: the suite runs
//! on two cores).

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

const MAX_BODY: usize = 1024 * 1024;

fn cases() -> u32 {
    std::env::var("HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// A runner of [`cases`] cases that keeps no failure file.
fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Field names the forms declare, to mix with hostile ones.
const KNOWN: &[&str] = &[
    "services",
    "mode",
    "action",
    "submission_token",
    "applicant.name",
    "applicant.uscc",
    "contact.phone",
    "services.gas.category",
    "services.network.carriers",
    "number",
    "check",
    "phone_last4",
    "username",
    "password",
    "next",
    "uscc",
    "roles",
    "name",
    "scopes",
    "overrides",
    "version",
    "reason",
    "at",
    "note",
    "reply",
    "works",
    "not_applicable",
    "sign",
    "commitment.confirmation",
    "decision",
    "opinion",
    "item_id",
    "id",
    "go",
    "email",
    "in_app",
];

fn index() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..300).prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|i| i.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        Just("1000000".to_owned()),
        Just("00".to_owned()),
        Just("-0".to_owned()),
        Just("1e9".to_owned()),
        "[a-z]{0,4}",
        "\\PC{0,4}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KNOWN).prop_map(str::to_owned),
        2 => (index(), prop::sample::select(&["name", "quantity", "pressure", "x", ""][..]))
            .prop_map(|(i, leaf)| format!("services.gas.equipment.{i}.{leaf}")),
        1 => (1usize..20_000).prop_map(|n| vec!["a"; n].join(".")),
        1 => (1usize..50, prop::sample::select(KNOWN))
            .prop_map(|(n, k)| format!("{k}{}", ".x".repeat(n))),
        1 => (100usize..6_000).prop_map(|n| "k".repeat(n)),
        2 => "\\PC{0,40}",
        1 => "[\\x00-\\x1f.\\[\\]%&=+\u{202e}\u{200b}]{0,30}",
        1 => any::<String>(),
    ]
}

/// Keys of a few dozen bytes at most, for bodies of many fields.
fn short_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KNOWN).prop_map(str::to_owned),
        (
            0u32..400,
            prop::sample::select(&["name", "quantity", "pressure"][..])
        )
            .prop_map(|(i, leaf)| format!("services.gas.equipment.{i}.{leaf}")),
        "\\PC{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(
            &["gas", "water", "network", "bundle", "choose", "submit", "1", "-1", "true", "telecom", ""][..]
        )
        .prop_map(str::to_owned),
        3 => "\\PC{0,60}",
        1 => any::<String>(),
        1 => (0usize..20_000).prop_map(|n| "x".repeat(n)),
        1 => (0usize..3_000).prop_map(|n| "汉".repeat(n)),
    ]
}

/// A posted body: some pairs, possibly repeated many times, or raw bytes.
#[derive(Debug, Clone)]
enum FormBody {
    Pairs(Vec<(String, String)>, usize),
    Raw(Vec<u8>),
}

impl FormBody {
    fn encode(&self, csrf: Option<&str>) -> Vec<u8> {
        match self {
            FormBody::Pairs(pairs, times) => {
                let mut all: Vec<(String, String)> = Vec::new();
                if let Some(t) = csrf {
                    all.push(("csrf_token".into(), t.into()));
                }
                for _ in 0..*times {
                    all.extend(pairs.iter().cloned());
                }
                serde_urlencoded::to_string(&all).unwrap().into_bytes()
            }
            FormBody::Raw(bytes) => {
                let mut b = match csrf {
                    Some(t) => format!("csrf_token={t}&").into_bytes(),
                    None => Vec::new(),
                };
                b.extend_from_slice(bytes);
                b
            }
        }
    }
}

fn form_body() -> impl Strategy<Value = FormBody> {
    prop_oneof![
        6 => (prop::collection::vec((key(), value()), 0..40), 1usize..4)
            .prop_map(|(p, t)| FormBody::Pairs(p, t)),
        // Many fields: short pairs repeated (up to about 300 KB).
        1 => (prop::collection::vec((short_key(), "\\PC{0,8}"), 1..4), 100usize..3_000)
            .prop_map(|(p, t)| FormBody::Pairs(p, t)),
        1 => prop::collection::vec(any::<u8>(), 0..2_000).prop_map(FormBody::Raw),
        1 => "[a-z.=&%0-9]{0,3000}".prop_map(|s| FormBody::Raw(s.into_bytes())),
    ]
}

/// A multipart body: parts (name, file name for a file, content), the
/// CSRF token's part at some place or missing, and maybe cut short.
#[derive(Debug, Clone)]
struct MultipartBody {
    parts: Vec<(String, Option<String>, Vec<u8>)>,
    csrf_at: Option<usize>,
    cut: Option<usize>,
}

impl MultipartBody {
    const BOUNDARY: &'static str = "hostile-boundary-41f7";

    fn encode(&self, csrf: &str) -> Vec<u8> {
        let b = Self::BOUNDARY;
        let mut parts = self.parts.clone();
        if let Some(at) = self.csrf_at {
            let at = at.min(parts.len());
            parts.insert(at, ("csrf_token".into(), None, csrf.as_bytes().to_vec()));
        }
        let mut body = Vec::new();
        for (name, file, content) in &parts {
            let head = match file {
                Some(f) => format!(
                    "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ),
                None => format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
            };
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        if let Some(cut) = self.cut {
            body.truncate(cut % (body.len() + 1));
        }
        body
    }
}

fn file_content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (0usize..60_000).prop_map(|n| {
            let mut v = b"%PDF-1.4\n".to_vec();
            v.resize(n.max(v.len()), b'x');
            v
        }),
        1 => Just(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..2_000),
    ]
}

fn multipart_part() -> impl Strategy<Value = (String, Option<String>, Vec<u8>)> {
    let file_key = prop_oneof![
        3 => (0u64..5).prop_map(|i| format!("material.{i}.file")),
        1 => index().prop_map(|i| format!("material.{i}.file")),
        1 => key(),
    ];
    prop_oneof![
        3 => (key(), value()).prop_map(|(k, v)| (k, None, v.into_bytes())),
        1 => (index(), prop::sample::select(&["site_plan", "other", "x", ""][..]))
            .prop_map(|(i, k)| (format!("material.{i}.kind"), None, k.as_bytes().to_vec())),
        3 => (file_key, "\\PC{0,20}", file_content()).prop_map(|(k, f, c)| (k, Some(f), c)),
    ]
}

fn multipart_body() -> impl Strategy<Value = MultipartBody> {
    (
        prop::collection::vec(multipart_part(), 0..12),
        prop_oneof![1 => Just(None), 3 => Just(Some(0)), 1 => (0usize..12).prop_map(Some)],
        prop_oneof![4 => Just(None), 1 => any::<usize>().prop_map(Some)],
    )
        .prop_map(|(parts, csrf_at, cut)| MultipartBody {
            parts,
            csrf_at,
            cut,
        })
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::String),
        prop::sample::select(&["gas", "accept", "approved", "telecom", "2027-01-01"][..])
            .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(6, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "\\PC{0,12}",
                        prop::sample::select(KNOWN).prop_map(str::to_owned)
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A JSON body: random, a valid application with one part replaced, a huge
/// array in a known list, or deep nesting.
#[derive(Debug, Clone)]
enum JsonBody {
    Value(Value),
    Mutated(Vec<String>, Value),
    HugeArray(&'static str, usize),
    Deep(usize),
}

impl JsonBody {
    fn encode(&self) -> String {
        match self {
            JsonBody::Value(v) => v.to_string(),
            JsonBody::Mutated(path, v) => {
                let mut body = five_services();
                let mut cur = &mut body;
                for (i, p) in path.iter().enumerate() {
                    if i + 1 == path.len() {
                        if let Some(o) = cur.as_object_mut() {
                            o.insert(p.clone(), v.clone());
                        }
                        break;
                    }
                    let Some(next) = cur.get_mut(p.as_str()) else {
                        break;
                    };
                    cur = next;
                }
                body.to_string()
            }
            JsonBody::HugeArray(which, n) => {
                let item = match *which {
                    "equipment" => json!({"name": "灶", "quantity": 1, "pressure": "2kPa"}),
                    "actions" => json!({"work_order_id": "x", "action": "accept", "version": 1}),
                    _ => json!(1),
                };
                let list = Value::Array(vec![item; *n]);
                let mut body = five_services();
                match *which {
                    "equipment" => body["services"]["gas"]["equipment"] = list,
                    "carriers" => body["services"]["network"]["carriers"] = list,
                    other => body[other] = list,
                }
                body.to_string()
            }
            JsonBody::Deep(n) => format!("{}{}", "[".repeat(*n), "]".repeat(*n)),
        }
    }
}

fn json_body() -> impl Strategy<Value = JsonBody> {
    let paths: Vec<Vec<String>> = [
        "applicant",
        "applicant.name",
        "address",
        "address.lng",
        "services",
        "services.gas",
        "services.gas.equipment",
        "services.network.carriers",
        "services.water.demand_tons_per_day",
        "mode",
        "works",
        "not_applicable",
        "actions",
        "decision",
        "version",
        "note",
        "at",
        "reason",
    ]
    .iter()
    .map(|p| p.split('.').map(str::to_owned).collect())
    .collect();
    prop_oneof![
        3 => json_value().prop_map(JsonBody::Value),
        3 => (prop::sample::select(paths), json_value())
            .prop_map(|(p, v)| JsonBody::Mutated(p, v)),
        1 => (
            prop::sample::select(
                &["equipment", "carriers", "works", "not_applicable", "actions", "services"][..]
            ),
            0usize..60_000,
        )
            .prop_map(|(w, n)| JsonBody::HugeArray(w, n)),
        1 => (1usize..200_000).prop_map(JsonBody::Deep),
    ]
}

struct World {
    app: TestApp,
    staff: Session,
    pw: Session,
    key: String,
    application: String,
    order: String,
}

async fn world(backend: Backend) -> World {
    let app = TestApp::new(backend).await;
    app.account(
        "everyone",
        &[
            "admin",
            "supervisor",
            "operator:sz-gas",
            "approver:sz-zrzy",
            &format!("applicant:{USCC}"),
        ],
    )
    .await;
    app.account("pw.owner", &["supervisor"]).await;
    let staff = app.login("everyone", PASSWORD).await;
    let pw = app.login("pw.owner", PASSWORD).await;
    let key = app
        .key("applications:read,applications:write,workorders:read:sz-gas,workorders:write:sz-gas,approvals:write:sz-zrzy")
        .await;
    let created = app
        .post_json("/api/v1/applications", &five_services(), None)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let order = created["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["unit"]["code"] == "sz-gas")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        staff,
        pw,
        key,
        application: created["id"].as_str().unwrap().to_owned(),
        order,
    }
}

/// Who posts a page form.
#[derive(Clone, Copy, PartialEq)]
enum As {
    Anonymous,
    Staff,
    PasswordOwner,
}

fn page_routes(w: &World) -> Vec<(As, String)> {
    let (a, o) = (&w.application, &w.order);
    let mut v: Vec<(As, String)> = ["/apply", "/status", "/login", "/register", "/logout"]
        .iter()
        .map(|p| (As::Anonymous, (*p).to_owned()))
        .collect();
    v.push((As::PasswordOwner, "/account/password".into()));
    for p in [
        "/apply".to_owned(),
        "/account/notifications".into(),
        "/notifications/read".into(),
        "/admin/accounts".into(),
        "/admin/accounts/nope/roles".into(),
        "/admin/accounts/nope/disable".into(),
        "/admin/accounts/nope/enable".into(),
        "/admin/accounts/nope/reset-password".into(),
        "/admin/apikeys".into(),
        "/admin/apikeys/nope/revoke".into(),
        "/admin/audit/verify".into(),
        "/admin/calendar".into(),
        "/admin/deliveries/1/retry".into(),
        "/admin/deliveries/x/retry".into(),
        format!("/work-orders/{o}"),
        format!("/work-orders/{o}/actions"),
        format!("/work-orders/{o}/survey"),
        format!("/work-orders/{o}/reminders"),
        format!("/work-orders/{o}/reminders/1/acknowledgement"),
        "/approval-cases/nope".into(),
        "/approval-cases/nope/decision".into(),
        "/approval-cases/nope/resubmission".into(),
        format!("/applications/{a}/approval-case"),
        "/account/enterprise/nope/code".into(),
        "/account/enterprise/nope/confirm".into(),
        "/account/enterprise/nope/legal-person".into(),
        "/enterprise-claims/nope/decision".into(),
    ] {
        v.push((As::Staff, p));
    }
    v
}

fn api_routes(w: &World) -> Vec<(Method, String, bool)> {
    let (a, o) = (&w.application, &w.order);
    let mut v: Vec<(Method, String, bool)> = [
        "/api/v1/applications".to_owned(),
        format!("/api/v1/applications/{a}/cancel"),
        format!("/api/v1/applications/{a}/survey"),
        format!("/api/v1/applications/{a}/approval-case"),
        "/api/v1/approval-cases/nope/resubmission".into(),
        "/api/v1/approval-items/nope/decision".into(),
        "/api/v1/work-orders/actions".into(),
        format!("/api/v1/work-orders/{o}/reminders"),
        "/api/v1/reminders/1/acknowledgement".into(),
        format!("/api/v1/work-orders/{o}/actions"),
    ]
    .into_iter()
    .map(|p| (Method::POST, p, false))
    .collect();
    v.push((Method::POST, "/api/v1/notifications/read".into(), true));
    v.push((
        Method::PUT,
        "/api/v1/account/notification-settings".into(),
        true,
    ));
    v
}

/// Requests sent and the largest answer, for the record (`--nocapture`).
#[derive(Default)]
struct Tally {
    sent: std::cell::Cell<usize>,
    largest: std::cell::Cell<usize>,
}

impl Tally {
    fn print(&self, what: &str) {
        eprintln!(
            "{what}: {} hostile requests, largest answer {} KB",
            self.sent.get(),
            self.largest.get().div_ceil(1024)
        );
    }
}

fn check(t: &Tally, what: &str, a: &Answer) -> Result<(), TestCaseError> {
    t.sent.set(t.sent.get() + 1);
    t.largest.set(t.largest.get().max(a.body.len()));
    prop_assert!(
        !a.status.is_server_error() && !a.status.is_informational(),
        "{what}: {} {}",
        a.status,
        String::from_utf8_lossy(&a.body[..a.body.len().min(500)])
    );
    prop_assert!(a.body.len() < MAX_BODY, "{what}: {} bytes", a.body.len());
    Ok(())
}

async fn still_serving(app: &TestApp) -> Result<(), TestCaseError> {
    let h = app.get("/healthz").await;
    prop_assert_eq!(h.status, StatusCode::OK);
    Ok(())
}

fn page_forms(backend: Backend) {
    let rt = runtime();
    let w = rt.block_on(world(backend));
    let routes = page_routes(&w);
    let mut runner = runner();
    let n = std::cell::Cell::new(0u32);
    let tally = Tally::default();
    runner
        .run(&(form_body(), 1u8..=254), |(body, peer)| {
            rt.block_on(async {
                n.set(n.get() + 1);
                let (anon_cookie, anon_token) = TestApp::anon_csrf();
                let peer = format!("10.9.{}.{peer}", n.get() % 250);
                for (who, path) in &routes {
                    let (cookie, token) = match who {
                        As::Anonymous => (anon_cookie.clone(), anon_token.clone()),
                        As::Staff => (w.staff.cookie_header(), w.staff.csrf.clone()),
                        As::PasswordOwner => (w.pw.cookie_header(), w.pw.csrf.clone()),
                    };
                    for csrf in [Some(token.as_str()), None] {
                        let a = w
                            .app
                            .request(
                                Method::POST,
                                path,
                                &[
                                    ("content-type", "application/x-www-form-urlencoded"),
                                    ("cookie", &cookie),
                                    ("x-test-peer", &peer),
                                ],
                                body.encode(csrf),
                            )
                            .await;
                        check(
                            &tally,
                            &format!("POST {path} (token: {})", csrf.is_some()),
                            &a,
                        )?;
                    }
                }
                still_serving(&w.app).await
            })
        })
        .unwrap();
    tally.print("page forms");
    // The signed-in sessions survived it all (nothing above signs them out).
    rt.block_on(async {
        assert_eq!(
            w.app.get_as(&w.staff, "/workbench").await.status,
            StatusCode::OK
        );
    });
}

/// Whatever multipart body reaches the forms that take files (the
/// application form, the page's upload), the answer is never 5xx, no
/// spooled file is left behind, and the server still answers.
fn multipart_forms(backend: Backend) {
    let rt = runtime();
    let w = rt.block_on(world(backend));
    let mut runner = runner();
    let tally = Tally::default();
    let upload = format!("/applications/{}/materials", w.application);
    let content_type = format!("multipart/form-data; boundary={}", MultipartBody::BOUNDARY);
    runner
        .run(&multipart_body(), |body| {
            rt.block_on(async {
                let (anon_cookie, anon_token) = TestApp::anon_csrf();
                for (path, cookie, token) in [
                    ("/apply", anon_cookie.clone(), anon_token.clone()),
                    ("/apply", w.staff.cookie_header(), w.staff.csrf.clone()),
                    (
                        upload.as_str(),
                        w.staff.cookie_header(),
                        w.staff.csrf.clone(),
                    ),
                ] {
                    let a = w
                        .app
                        .request(
                            Method::POST,
                            path,
                            &[("content-type", &content_type), ("cookie", &cookie)],
                            body.encode(&token),
                        )
                        .await;
                    check(&tally, &format!("multipart POST {path}"), &a)?;
                    let left = std::fs::read_dir(w.app.state.blobs.spool_dir())
                        .map(|d| d.count())
                        .unwrap_or(0);
                    prop_assert_eq!(left, 0, "spooled files left after {}", path);
                }
                still_serving(&w.app).await
            })
        })
        .unwrap();
    tally.print("multipart forms");
}

fn api_bodies(backend: Backend) {
    let rt = runtime();
    let w = rt.block_on(world(backend));
    let routes = api_routes(&w);
    let mut runner = runner();
    let auth = format!("Bearer {}", w.key);
    let tally = Tally::default();
    runner
        .run(&json_body(), |body| {
            rt.block_on(async {
                let text = body.encode();
                for (method, path, session) in &routes {
                    let cookie = w.staff.cookie_header();
                    let headers: Vec<(&str, &str)> = if *session {
                        vec![
                            ("content-type", "application/json"),
                            ("cookie", &cookie),
                            ("x-csrf-token", &w.staff.csrf),
                        ]
                    } else {
                        vec![
                            ("content-type", "application/json"),
                            ("authorization", &auth),
                        ]
                    };
                    let a = w
                        .app
                        .request(method.clone(), path, &headers, text.clone())
                        .await;
                    check(&tally, &format!("{method} {path}"), &a)?;
                }
                still_serving(&w.app).await
            })
        })
        .unwrap();
    tally.print("API bodies");
}

#[test]
fn hostile_page_forms_sqlite() {
    page_forms(Backend::Sqlite)
}

#[test]
fn hostile_page_forms_postgres() {
    page_forms(Backend::Postgres)
}

#[test]
fn hostile_multipart_forms_sqlite() {
    multipart_forms(Backend::Sqlite)
}

#[test]
fn hostile_multipart_forms_postgres() {
    multipart_forms(Backend::Postgres)
}

#[test]
fn hostile_api_bodies_sqlite() {
    api_bodies(Backend::Sqlite)
}

#[test]
fn hostile_api_bodies_postgres() {
    api_bodies(Backend::Postgres)
}
