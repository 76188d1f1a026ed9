//! Window payments against the reference billing service (the simulator,
//! `onestop-billing-sim`) over real HTTP, on SQLite and PostgreSQL: a clerk
//! finds a customer's accounts at every utility, reads the open bills and
//! takes a payment, which the worker sends to the utility with its id as
//! the idempotency key — paid exactly once however often the answer is
//! lost, late or refused for a while (with backoff), failed when the
//! utility refuses for good, and never taken while the utility cannot be
//! reached. Reconciliation finds each kind of difference; the pages show
//! the money as ¥ with two decimals; every input is bounded; access is by
//! role and hall; TLS with a private CA.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_billing_sim::{Faults, Sim, SimConfig};
use onestop_domain::billing::BillingConfig;
use onestop_domain::config::CityConfig;
use onestop_server::connectors::billing::Billing;
use onestop_server::jobs::billing::{PaymentWorker, Report, daily_once, send_once};
use onestop_server::{AppState, TimeSource};
use onestop_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_databases!(
    finds_accounts_and_pays_a_bill_once,
    the_window_pages_take_a_payment,
    a_dropped_answer_is_sent_again_and_paid_once,
    time_limits_and_retries_back_off_until_the_utility_answers,
    a_refusal_fails_the_payment_and_a_dead_system_takes_nothing,
    reconciliation_names_each_difference,
    who_may_do_what,
    inputs_are_bounded,
    payments_per_hall_and_day_reach_the_board,
    over_https_with_a_private_ca,
);

const TOKEN: &str = "sim-test-token";
const WATER: &str = "sz-water";
const POWER: &str = "sz-power";
const GAS: &str = "sz-gas";
/// The seeded enterprise (every unit has an account of it).
const ENTERPRISE: &str = "91421300MA49ABCD17";
/// Seeded water accounts (unit 1): two open bills (¥123.45 + ¥87.60), one
/// (¥456.00), three (¥32.10 + ¥29.80 + ¥31.05).
const W1: &str = "10000001";
const W2: &str = "10000002";
const W3: &str = "10000003";

// ───────────────────────────── the simulator ─────────────────────────────

/// The reference billing service on a loopback port of this process, with
/// its own SQLite file.
struct Simulator {
    base: String,
    sim: Sim,
    task: tokio::task::JoinHandle<()>,
    dir: std::path::PathBuf,
    http: reqwest::Client,
}

impl Simulator {
    async fn start() -> Simulator {
        let dir = std::env::temp_dir().join(format!(
            "onestop-billing-sim-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let config = SimConfig::for_city(
            &CityConfig::default_city(),
            dir.join("billing-sim.sqlite3"),
            TOKEN.into(),
        );
        let sim = tokio::task::spawn_blocking(move || Sim::open(&config))
            .await
            .unwrap()
            .expect("the simulator opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = sim.clone();
        let task = tokio::spawn(async move {
            let _ = onestop_billing_sim::serve(listener, s, std::future::pending()).await;
        });
        Simulator {
            base: format!("http://{addr}"),
            sim,
            task,
            dir,
            http: reqwest::Client::new(),
        }
    }

    /// The same over HTTPS, presenting `cert` (trusted through `ca_file`).
    async fn start_https(cert: &common::tls::TestCert) -> Simulator {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls;
        let dir = std::env::temp_dir().join(format!(
            "onestop-billing-sim-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let config = SimConfig::for_city(
            &CityConfig::default_city(),
            dir.join("billing-sim.sqlite3"),
            TOKEN.into(),
        );
        let sim = tokio::task::spawn_blocking(move || Sim::open(&config))
            .await
            .unwrap()
            .expect("the simulator opens");
        let certs = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = common::listener::TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
            refused: Default::default(),
            patience: Some(std::time::Duration::from_secs(5)),
        };
        let task = common::listener::serve_in_background(listener, sim.router());
        Simulator {
            base: format!("https://localhost:{}", addr.port()),
            sim,
            task,
            dir,
            http: reqwest::Client::new(),
        }
    }

    fn faults(&self, f: Faults) {
        self.sim.set_faults(f);
    }

    /// The simulator's payments of a unit (by reference, when given).
    async fn payments(&self, unit: &str, reference: Option<&str>) -> Vec<Value> {
        let mut url = format!("{}/_sim/{unit}/payments", self.base);
        if let Some(r) = reference {
            url.push_str(&format!("?reference={r}"));
        }
        let v: Value = self
            .http
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["payments"].as_array().unwrap().clone()
    }

    async fn post(&self, path: &str, body: Value) -> u16 {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A payment made at the utility directly (another channel), with its
    /// own idempotency key.
    async fn pay_elsewhere(&self, unit: &str, account: &str, bills: &[&str], fen: i64) -> u16 {
        self.http
            .post(format!("{}/{unit}/payments", self.base))
            .bearer_auth(TOKEN)
            .header("idempotency-key", uuid::Uuid::new_v4().simple().to_string())
            .json(&json!({"account_no": account, "bill_ids": bills, "amount_fen": fen, "channel": "counter"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn billing_config(unit: &str, base: &str) -> BillingConfig {
    BillingConfig {
        unit: unit.into(),
        adapter: "http_json".into(),
        base_url: format!("{base}/{unit}"),
        allow_plain_http: true,
        ca_file: None,
        token_env: Some("ONESTOP_TEST_BILLING_TOKEN".into()),
        timeout_seconds: 2,
        retry_base_seconds: 5,
        retry_max_seconds: 60,
        sandbox: true,
    }
}

/// The app with water, power and gas connected to `base` (the simulator),
/// its clock as given.
async fn app_at(
    backend: Backend,
    base: &str,
    time: TimeSource,
    change: impl FnOnce(&mut CityConfig),
) -> TestApp {
    let db = TestDb::new(backend);
    let mut config = CityConfig::default_city();
    config.billing = [WATER, POWER, GAS]
        .iter()
        .map(|u| billing_config(u, base))
        .collect();
    change(&mut config);
    config.validate().expect("a valid configuration");
    let config = Arc::new(config);
    let clock = Arc::new(test_clock(&config));
    let store = db.open_store().await;
    let mut state = AppState::with_password_cost(
        config.clone(),
        clock,
        store,
        onestop_server::auth::PasswordCost::TEST_ONLY,
    );
    state.time = time;
    state.billing = Billing::with_secrets(&config, &|var| {
        (var == "ONESTOP_TEST_BILLING_TOKEN").then(|| TOKEN.to_owned())
    })
    .expect("billing systems");
    let system = onestop_server::app::accounts::system_caller("test");
    let (_, api_key) = onestop_server::app::accounts::create_api_key(
        &state,
        &system,
        "test client",
        "applications:read,applications:write",
    )
    .await
    .unwrap();
    TestApp {
        router: onestop_server::router(state.clone()),
        state,
        db,
        api_key,
    }
}

async fn app(backend: Backend, sim: &Simulator) -> TestApp {
    app_at(backend, &sim.base, TimeSource::system(), |_| {}).await
}

/// An app whose clock stands at the present until the test moves it.
async fn app_by_hand(backend: Backend, sim: &Simulator) -> TestApp {
    app_at(
        backend,
        &sim.base,
        TimeSource::manual(onestop_store::now_ms()),
        |_| {},
    )
    .await
}

async fn send(app: &TestApp) -> Report {
    send_once(&app.state, &PaymentWorker::default())
        .await
        .expect("a round of sending")
}

/// Takes a payment of `bills` (ids) of water account `account` for `fen`
/// through the API as `s`; the answer.
async fn pay(app: &TestApp, s: &Session, account: &str, bills: &[&str], fen: i64) -> Answer {
    app.as_session(s)
        .post(
            "/api/v1/billing/payments",
            json!({"unit": WATER, "account_no": account, "bill_ids": bills,
                   "amount_fen": fen, "method": "cash"}),
        )
        .await
}

async fn pay_ok(app: &TestApp, s: &Session, account: &str, bills: &[&str], fen: i64) -> Value {
    let res = pay(app, s, account, bills, fen).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    res.json()
}

async fn payment(app: &TestApp, s: &Session, id: &str) -> Value {
    let res = app
        .as_session(s)
        .get(&format!("/api/v1/billing/payments/{id}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

fn bill(account: &str, period: &str) -> String {
    onestop_billing_sim::bill_id(account, period)
}

/// The payment's job row: (attempts, next_attempt_at, last_error).
async fn job(app: &TestApp, id: &str) -> (i64, i64, Option<String>) {
    let id = id.to_owned();
    let p = app
        .read(move |c| onestop_store::payments::get(c, &id))
        .await
        .expect("the payment");
    (p.attempts, p.next_attempt_at_ms.unwrap_or(0), p.last_error)
}

// ───────────────────────────── the tests ─────────────────────────────

async fn finds_accounts_and_pays_a_bill_once(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let clerk = app.signed_in("clerk.a", &["clerk:zd-jtdd"]).await;
    let api = app.as_session(&clerk);

    // By USCC: the enterprise's account at each connected utility.
    let found = api
        .get(&format!(
            "/api/v1/billing/accounts?uscc={}",
            ENTERPRISE.to_lowercase()
        ))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    let found = found.json();
    let units: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["unit"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(units, [WATER, POWER, GAS]);
    assert_eq!(found["unavailable"], json!([]));
    assert_eq!(found["items"][0]["account_no"], W1);
    assert_eq!(found["items"][0]["sandbox"], true);
    assert!(found["items"][0]["name"].as_str().unwrap().contains("示例"));
    // By number: that account only.
    let by_number = api
        .get(&format!("/api/v1/billing/accounts?number={W2}"))
        .await
        .json();
    assert_eq!(by_number["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_number["items"][0]["unit"]["name"], "随州市水务集团");
    // The lookup is audited.
    let audited = app.audit_records("billing_lookup").await;
    assert_eq!(audited.len(), 2);
    assert!(audited.iter().all(|r| r.outcome == "success"));

    // The open bills, in fen.
    let bills = api
        .get(&format!("/api/v1/billing/accounts/{WATER}/{W1}/bills"))
        .await;
    assert_eq!(bills.status, StatusCode::OK, "{}", bills.text());
    let bills = bills.json();
    assert_eq!(bills["total_fen"], 12_345 + 8_760);
    assert_eq!(bills["bills"].as_array().unwrap().len(), 2);
    assert_eq!(bills["bills"][0]["amount_fen"], 12_345);

    // Paying both: accepted, pending, at the clerk's hall.
    let both = [bill(W1, "2026-09"), bill(W1, "2026-10")];
    let ids: Vec<&str> = both.iter().map(String::as_str).collect();
    let res = api
        .idempotency_key("pay-w1")
        .post(
            "/api/v1/billing/payments",
            json!({"unit": WATER, "account_no": W1, "bill_ids": ids,
                   "amount_fen": 21_105, "method": "cash", "received_fen": 30_000}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let location = res.header("location").unwrap().to_owned();
    let p = res.json();
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/billing/payments/{id}"));
    assert_eq!(p["status"], "pending");
    assert_eq!(p["hall"], "zd-jtdd");
    assert_eq!(p["change_fen"], 30_000 - 21_105);
    assert_eq!(p["receipt"], Value::Null);
    assert_eq!(app.audit_records("payment_taken").await.len(), 1);

    // The same request again: the first answer, no second payment.
    let again = api
        .idempotency_key("pay-w1")
        .post(
            "/api/v1/billing/payments",
            json!({"unit": WATER, "account_no": W1, "bill_ids": ids,
                   "amount_fen": 21_105, "method": "cash", "received_fen": 30_000}),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], id.as_str());
    // The same key with another body is refused.
    let other = api
        .idempotency_key("pay-w1")
        .post(
            "/api/v1/billing/payments",
            json!({"unit": WATER, "account_no": W1, "bill_ids": [ids[0]],
                   "amount_fen": 12_345, "method": "cash"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.json()["error"]["code"], "idempotency_conflict");

    // The worker sends it: paid, with the utility's receipt.
    assert_eq!(
        send(&app).await,
        Report {
            paid: 1,
            failed: 0,
            retrying: 0
        }
    );
    let p = payment(&app, &clerk, &id).await;
    assert_eq!(p["status"], "paid");
    assert_eq!(p["attempts"], 1);
    assert_eq!(p["receipt"]["amount_fen"], 21_105);
    assert!(
        p["receipt"]["receipt_no"]
            .as_str()
            .unwrap()
            .starts_with("SJ")
    );
    assert_eq!(app.audit_records("payment_paid").await.len(), 1);
    // Reading a payment (it names the customer) is audited too.
    assert!(!app.audit_records("payment_read").await.is_empty());
    // Exactly once at the utility, under the payment's id; nothing left to send.
    let at_sim = sim.payments(WATER, Some(&id)).await;
    assert_eq!(at_sim.len(), 1);
    assert_eq!(at_sim[0]["amount_fen"], 21_105);
    assert_eq!(sim.payments(WATER, None).await.len(), 1);
    assert_eq!(send(&app).await, Report::default());
    // The bills are no longer open.
    let after = api
        .get(&format!("/api/v1/billing/accounts/{WATER}/{W1}/bills"))
        .await
        .json();
    assert_eq!(after["bills"], json!([]));
    // The day's list of the hall.
    let day = api.get("/api/v1/billing/payments").await.json();
    assert_eq!(day["count"], 1);
    assert_eq!(day["paid_fen"], 21_105);
    assert_eq!(day["items"][0]["id"], id.as_str());
}

async fn the_window_pages_take_a_payment(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let clerk = app.signed_in("clerk.p", &["clerk:zd-jtdd"]).await;

    // The menu leads to the window's payments; the sandbox is said.
    let home = app.ok_page_as(&clerk, "/counter/billing").await;
    assert_has(
        &home,
        &[
            "href=\"/counter/billing\"",
            "演示环境",
            "户号或统一社会信用代码",
        ],
    );
    // Found by USCC: one row per utility, named, linked to its bills.
    let found = app
        .ok_page_as(&clerk, &format!("/counter/billing?q={ENTERPRISE}"))
        .await;
    assert_has(
        &found,
        &[
            "随州市水务集团",
            "国网随州供电公司",
            "随州中燃公司",
            &format!("/counter/billing/accounts/{WATER}/{W1}"),
        ],
    );
    // A search that is neither: the box keeps it, with the reason.
    let bad = app
        .get_as(&clerk, "/counter/billing?q=%E5%BC%A0%E4%B8%89")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(&bad.text(), &["value=\"张三\"", "18 位统一社会信用代码"]);

    // The bills of resident account 3, in yuan, all ticked.
    let page = app
        .ok_page_as(&clerk, &format!("/counter/billing/accounts/{WATER}/{W3}"))
        .await;
    assert_has(
        &page,
        &["¥32.10", "¥29.80", "¥31.05", "合计待缴 ¥92.95", "checked"],
    );
    assert!(!page.contains(">3210<"), "{page}");
    // Nothing chosen: the bills page again, with the reason, nothing taken.
    let none = app
        .get_as(
            &clerk,
            &format!("/counter/billing/accounts/{WATER}/{W3}/confirm?method=cash"),
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(&none.text(), &["请至少选择一笔账单"]);
    // Cash typed in a form the clerk may write it: ¥100 for two bills.
    let (b1, b2) = (bill(W3, "2026-08"), bill(W3, "2026-09"));
    let confirm_uri = format!(
        "/counter/billing/accounts/{WATER}/{W3}/confirm?bill={b1}&bill={b2}&method=cash&received=%EF%BF%A5100"
    );
    let confirm = app.ok_page_as(&clerk, &confirm_uri).await;
    assert_has(
        &confirm,
        &[
            "应收金额",
            "¥61.90",
            "¥100.00",
            "应找零",
            "¥38.10",
            "确认收款",
        ],
    );
    // A third decimal is refused, the typed text kept.
    let precise = app
        .get_as(
            &clerk,
            &format!("/counter/billing/accounts/{WATER}/{W3}/confirm?bill={b1}&method=cash&received=1.234"),
        )
        .await;
    assert_eq!(precise.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(&precise.text(), &["value=\"1.234\"", "两位小数"]);

    // Confirming takes it and shows the payment (POST-redirect-GET).
    let key = extract(&confirm, "name=\"key\" value=\"");
    let form = [
        ("key", key.as_str()),
        ("amount_fen", "6190"),
        ("method", "cash"),
        ("received_fen", "10000"),
        ("hall", "zd-jtdd"),
        ("bill", b1.as_str()),
        ("bill", b2.as_str()),
    ];
    let action = format!("/counter/billing/accounts/{WATER}/{W3}/payments");
    let res = app.post_form_as(&clerk, &action, &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let to = res.header("location").unwrap().to_owned();
    assert!(to.starts_with("/counter/billing/payments/"), "{to}");
    let pending = app.ok_page_as(&clerk, &to).await;
    assert_has(&pending, &["缴费处理中", "data-refresh", "¥61.90"]);
    // The same form sent twice (a double click): the same payment.
    let twice = app.post_form_as(&clerk, &action, &form).await;
    assert_eq!(twice.header("location"), Some(to.as_str()));
    send(&app).await;
    let paid = app.ok_page_as(&clerk, &to).await;
    assert_has(
        &paid,
        &[
            "已缴费",
            "缴费凭证",
            "收据号",
            "SJ",
            "打印缴费凭证",
            "¥38.10",
            "测试clerk.p",
        ],
    );
    assert!(!paid.contains("data-refresh"), "no more refreshing");
    assert_eq!(sim.payments(WATER, None).await.len(), 1);
    // The day's list.
    let day = app.ok_page_as(&clerk, "/counter/billing/payments").await;
    assert_has(&day, &["收款 1 笔，合计 ¥61.90", "已入账 1 笔"]);

    // A bill paid elsewhere meanwhile: the confirmation comes back with
    // the reason, and nothing is taken.
    let b3 = bill(W3, "2026-10");
    let confirm = app
        .ok_page_as(
            &clerk,
            &format!("/counter/billing/accounts/{WATER}/{W3}/confirm?bill={b3}&method=card"),
        )
        .await;
    assert_eq!(sim.pay_elsewhere(WATER, W3, &[&b3], 3_105).await, 201);
    let key = extract(&confirm, "name=\"key\" value=\"");
    let late = app
        .post_form_as(
            &clerk,
            &action,
            &[
                ("key", key.as_str()),
                ("amount_fen", "3105"),
                ("method", "card"),
                ("hall", "zd-jtdd"),
                ("bill", b3.as_str()),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_has(
        &late.text(),
        &["账单已变化", "本次未收款", "重新查询账单", "¥31.05"],
    );
    let day = app.get_as(&clerk, "/api/v1/billing/payments").await.json();
    assert_eq!(day["count"], 1);
}

fn extract(html: &str, after: &str) -> String {
    let i = html
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {html}"))
        + after.len();
    html[i..i + html[i..].find('"').unwrap()].to_owned()
}

async fn a_dropped_answer_is_sent_again_and_paid_once(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app_by_hand(backend, &sim).await;
    let clerk = app.signed_in("clerk.d", &["clerk:zd-jtdd"]).await;
    let b = bill(W2, "2026-10");
    let p = pay_ok(&app, &clerk, W2, &[&b], 45_600).await;
    let id = p["id"].as_str().unwrap();

    // The utility records it, then the connection breaks without an answer.
    sim.faults(Faults {
        drop_next: 1,
        ..Faults::default()
    });
    assert_eq!(send(&app).await.retrying, 1);
    assert_eq!(
        sim.payments(WATER, Some(id)).await.len(),
        1,
        "recorded at the utility"
    );
    let p = payment(&app, &clerk, id).await;
    assert_eq!(p["status"], "pending");
    let (attempts, next, error) = job(&app, id).await;
    assert_eq!(attempts, 1);
    assert_eq!(
        next,
        app.state.now_ms() + 5_000,
        "the first wait is the base"
    );
    assert!(error.unwrap().contains("连接中断"));
    // Not before the wait is over.
    assert_eq!(send(&app).await, Report::default());
    app.state.time.advance_ms(5_000);
    assert_eq!(send(&app).await.paid, 1);
    let p = payment(&app, &clerk, id).await;
    assert_eq!(p["status"], "paid");
    assert_eq!(p["attempts"], 2);
    // Once at the utility; its receipt is the first one.
    let at_sim = sim.payments(WATER, Some(id)).await;
    assert_eq!(at_sim.len(), 1);
    assert_eq!(p["receipt"]["receipt_no"], at_sim[0]["receipt_no"]);
    assert_eq!(sim.payments(WATER, None).await.len(), 1);
}

async fn time_limits_and_retries_back_off_until_the_utility_answers(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app_by_hand(backend, &sim).await;
    let clerk = app.signed_in("clerk.t", &["clerk:zd-jtdd"]).await;
    let b = bill(W2, "2026-10");
    let p = pay_ok(&app, &clerk, W2, &[&b], 45_600).await;
    let id = p["id"].as_str().unwrap();

    // Recorded, then answered after the time limit (2 s): a time-out.
    sim.faults(Faults {
        delay_next: 1,
        delay_ms: 3_500,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(send(&app).await.retrying, 1);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(3_400),
        "waited past the limit"
    );
    let (_, next, error) = job(&app, id).await;
    assert!(error.unwrap().contains("时限内没有应答"));
    assert_eq!(next - app.state.now_ms(), 5_000);

    // Then the utility is busy twice (503, nothing recorded): the wait
    // doubles each time.
    sim.faults(Faults {
        fail_next: 2,
        ..Faults::default()
    });
    for (attempt, wait) in [(2, 10_000), (3, 20_000)] {
        app.state.time.advance_ms(60_000);
        assert_eq!(send(&app).await.retrying, 1);
        let (attempts, next, error) = job(&app, id).await;
        assert_eq!(attempts, attempt);
        assert_eq!(next - app.state.now_ms(), wait);
        assert!(error.unwrap().contains("503"));
    }
    assert_eq!(payment(&app, &clerk, id).await["status"], "pending");
    // Then it answers: the first receipt, paid once.
    app.state.time.advance_ms(20_000);
    assert_eq!(send(&app).await.paid, 1);
    let p = payment(&app, &clerk, id).await;
    assert_eq!(p["status"], "paid");
    assert_eq!(p["attempts"], 4);
    assert_eq!(sim.payments(WATER, Some(id)).await.len(), 1);
    // The clerk's page says it took several attempts while it was pending;
    // now it shows the receipt.
    let page = app
        .ok_page_as(&clerk, &format!("/counter/billing/payments/{id}"))
        .await;
    assert_has(&page, &["已缴费", "¥456.00"]);
}

async fn a_refusal_fails_the_payment_and_a_dead_system_takes_nothing(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let clerk = app.signed_in("clerk.r", &["clerk:zd-jtdd"]).await;
    let b = bill(W1, "2026-09");
    let p = pay_ok(&app, &clerk, W1, &[&b], 12_345).await;
    let id = p["id"].as_str().unwrap();
    // Paid at another channel before the worker sends it: the utility
    // refuses for good (the bill is not open), the payment fails.
    assert_eq!(sim.pay_elsewhere(WATER, W1, &[&b], 12_345).await, 201);
    assert_eq!(send(&app).await.failed, 1);
    let p = payment(&app, &clerk, id).await;
    assert_eq!(p["status"], "failed");
    assert_eq!(p["failure"]["code"], "bill_not_open");
    assert!(p["failure"]["message"].as_str().unwrap().contains("已缴清"));
    assert_eq!(sim.payments(WATER, Some(id)).await.len(), 0);
    assert_eq!(send(&app).await, Report::default(), "given up for good");
    let page = app
        .ok_page_as(&clerk, &format!("/counter/billing/payments/{id}"))
        .await;
    assert_has(&page, &["缴费未成功", "请将款项退还客户"]);
    assert_eq!(app.audit_records("payment_failed").await.len(), 1);
    // The bills already checked: a sum that differs is refused before
    // anything is taken.
    let changed = pay(&app, &clerk, W1, &[&bill(W1, "2026-10")], 8_000).await;
    assert_eq!(changed.status, StatusCode::CONFLICT);
    assert_eq!(changed.json()["error"]["code"], "bills_changed");

    // A utility that cannot be reached: listed as unavailable in a lookup;
    // a payment is refused (502) and nothing is recorded.
    let dead = free_port_url();
    let app = app_at(backend, &sim.base, TimeSource::system(), |c| {
        c.billing[1].base_url = format!("{dead}/{POWER}");
    })
    .await;
    let clerk = app.signed_in("clerk.r2", &["clerk:zd-jtdd"]).await;
    let found = app
        .as_session(&clerk)
        .get(&format!("/api/v1/billing/accounts?uscc={ENTERPRISE}"))
        .await
        .json();
    assert_eq!(found["items"].as_array().unwrap().len(), 2);
    assert_eq!(found["unavailable"][0]["code"], POWER);
    let page = app
        .ok_page_as(&clerk, &format!("/counter/billing?q={ENTERPRISE}"))
        .await;
    assert_has(&page, &["暂时无法连接", "国网随州供电公司"]);
    let res = app
        .as_session(&clerk)
        .post(
            "/api/v1/billing/payments",
            json!({"unit": POWER, "account_no": "20000001", "bill_ids": [bill("20000001", "2026-09")],
                   "amount_fen": 12_345, "method": "card"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_GATEWAY, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "billing_unavailable");
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("本次未收款")
    );
    let day = app
        .as_session(&clerk)
        .get("/api/v1/billing/payments")
        .await
        .json();
    assert_eq!(day["items"], json!([]));
}

/// An address nothing listens on.
fn free_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

async fn reconciliation_names_each_difference(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let clerk = app.signed_in("clerk.c", &["clerk:zd-jtdd"]).await;
    let admin = app.signed_in("admin.c", &["admin"]).await;
    let a = pay_ok(&app, &clerk, W1, &[&bill(W1, "2026-09")], 12_345).await;
    let b = pay_ok(&app, &clerk, W2, &[&bill(W2, "2026-10")], 45_600).await;
    let c = pay_ok(&app, &clerk, W3, &[&bill(W3, "2026-08")], 3_210).await;
    assert_eq!(send(&app).await.paid, 3);
    let (a, b, c) = (id_of(&a), id_of(&b), id_of(&c));
    // A pending one (not yet sent) too.
    let d = id_of(&pay_ok(&app, &clerk, W3, &[&bill(W3, "2026-09")], 2_980).await);
    // The utility loses A, books B for another amount, and has one the
    // platform never sent.
    assert_eq!(
        sim.post(&format!("/_sim/{WATER}/payments/{a}/forget"), json!({}))
            .await,
        204
    );
    assert_eq!(
        sim.post(
            &format!("/_sim/{WATER}/payments/{b}/amount"),
            json!({"amount_fen": 45_000})
        )
        .await,
        204
    );
    assert_eq!(
        sim.post(
            &format!("/_sim/{WATER}/payments"),
            json!({"reference": "not-ours-1", "account_no": W2, "amount_fen": 700})
        )
        .await,
        201
    );
    // A payment at the utility's own counter is not the platform's business.
    assert_eq!(
        sim.pay_elsewhere(WATER, W1, &[&bill(W1, "2026-10")], 8_760)
            .await,
        201
    );
    let today = app.state.now().date().to_string();
    let res = app
        .as_session(&admin)
        .post(
            "/api/v1/billing/reconciliations",
            json!({"unit": WATER, "date": today}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let run = res.json();
    assert_eq!(run["status"], "differences");
    assert_eq!(run["matched"], 1, "C alone is alike");
    assert_eq!(
        run["ours"],
        json!({"count": 4, "amount_fen": 12_345 + 45_600 + 3_210 + 2_980})
    );
    assert_eq!(
        run["theirs"],
        json!({"count": 3, "amount_fen": 45_000 + 3_210 + 700})
    );
    let kinds: Vec<(String, String)> = run["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["reference"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut missing = [a.clone(), d.clone()];
    missing.sort();
    let expected = vec![
        ("missing_at_utility".to_owned(), missing[0].clone()),
        ("missing_at_utility".to_owned(), missing[1].clone()),
        ("amount_mismatch".to_owned(), b.clone()),
        ("unknown_here".to_owned(), "not-ours-1".to_owned()),
    ];
    assert_eq!(kinds, expected);
    let mismatch = &run["differences"][2];
    assert_eq!(
        (mismatch["our_fen"].as_i64(), mismatch["their_fen"].as_i64()),
        (Some(45_600), Some(45_000))
    );
    assert!(!kinds.iter().any(|(_, r)| *r == c));
    assert_eq!(app.audit_records("reconciliation_run").await.len(), 1);

    // The administrators' pages say it in words.
    let run_id = run["id"].as_str().unwrap();
    let page = app
        .ok_page_as(&admin, &format!("/admin/reconciliation/{run_id}"))
        .await;
    assert_has(
        &page,
        &[
            "存在差异 4 处",
            "公用事业单位无此笔缴费",
            "金额不一致",
            "平台无此笔缴费",
            "¥456.00",
            "¥450.00",
            "¥7.00",
            "仍在向公用事业单位提交",
            "随州市水务集团",
        ],
    );
    assert!(
        !page.contains("missing_at_utility")
            || page.contains("billing-difference-missing_at_utility")
    );
    let list = app
        .ok_page_as(&admin, &format!("/admin/reconciliation?date={today}"))
        .await;
    assert_has(
        &list,
        &[
            "存在差异 4 处",
            &format!("/admin/reconciliation/{run_id}"),
            "仍在提交公用事业单位",
        ],
    );
    let listed = app
        .as_session(&admin)
        .get(&format!("/api/v1/billing/reconciliations?date={today}"))
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // The page's form runs one too (POST-redirect-GET).
    let res = app
        .post_form_as(
            &admin,
            "/admin/reconciliation",
            &[("unit", GAS), ("date", &today)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let balanced = app
        .ok_page_as(&admin, res.header("location").unwrap())
        .await;
    assert_has(&balanced, &["账目一致", "逐笔一致"]);
    // A day to come is refused, the choice kept.
    let future = app
        .post_form_as(
            &admin,
            "/admin/reconciliation",
            &[("unit", GAS), ("date", "2099-01-01")],
        )
        .await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(&future.text(), &["不能晚于今天", "value=\"2099-01-01\""]);

    // The daily run of yesterday: once per unit, however often asked.
    let made = daily_once(&app.state).await.unwrap();
    let hour = app.state.now().hour();
    if hour >= 1 {
        assert_eq!(made, 3);
        assert_eq!(daily_once(&app.state).await.unwrap(), 0);
    }
}

async fn who_may_do_what(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let clerk = app.signed_in("clerk.w1", &["clerk:zd-jtdd"]).await;
    let other = app.signed_in("clerk.w2", &["clerk:zd-zwzx"]).await;
    let admin = app.signed_in("admin.w", &["admin"]).await;
    let operator = app.signed_in("op.w", &["operator:sz-water"]).await;
    let p = pay_ok(&app, &clerk, W1, &[&bill(W1, "2026-09")], 12_345).await;
    let id = id_of(&p);
    let path = format!("/api/v1/billing/payments/{id}");
    // Another hall's clerk does not see it; an administrator does.
    assert_eq!(
        app.as_session(&other).get(&path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.as_session(&admin).get(&path).await.status,
        StatusCode::OK
    );
    let page = app
        .get_as(&other, &format!("/counter/billing/payments/{id}"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.as_session(&other)
            .get("/api/v1/billing/payments")
            .await
            .json()["items"],
        json!([])
    );
    assert_eq!(
        app.as_session(&admin)
            .get("/api/v1/billing/payments")
            .await
            .json()["count"],
        1
    );
    // Only clerks take payments and look up accounts; only administrators
    // reconcile; integration keys do neither.
    for s in [&admin, &operator] {
        assert_eq!(
            pay(&app, s, W1, &[&bill(W1, "2026-10")], 8_760)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.as_session(s)
                .get(&format!("/api/v1/billing/accounts?number={W1}"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.get_as(s, "/counter/billing").await.status,
            StatusCode::FORBIDDEN
        );
    }
    let today = app.state.now().date().to_string();
    let res = app
        .as_session(&clerk)
        .post(
            "/api/v1/billing/reconciliations",
            json!({"unit": WATER, "date": today}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_as(&clerk, "/admin/reconciliation").await.status,
        StatusCode::FORBIDDEN
    );
    let key = app.api_key.clone();
    assert_eq!(
        app.as_key(&key)
            .get(&format!("/api/v1/billing/accounts?number={W1}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.as_nobody().get("/api/v1/billing/payments").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A clerk of two halls names the hall.
    let both = app
        .signed_in("clerk.w3", &["clerk:zd-jtdd", "clerk:sx-lishan"])
        .await;
    let res = pay(&app, &both, W1, &[&bill(W1, "2026-10")], 8_760).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_fields_include(&res, &[("hall", "required")]);
    let res = app
        .as_session(&both)
        .post(
            "/api/v1/billing/payments",
            json!({"hall": "zd-zwzx", "unit": WATER, "account_no": W1,
                   "bill_ids": [bill(W1, "2026-10")], "amount_fen": 8_760, "method": "card"}),
        )
        .await;
    assert_fields_include(&res, &[("hall", "unknown_value")]);
    // The menus.
    assert!(
        app.ok_page_as(&clerk, "/counter/billing")
            .await
            .contains(">缴费</a>")
    );
    assert!(
        app.ok_page_as(&admin, "/admin/reconciliation")
            .await
            .contains(">缴费对账</a>")
    );
}

async fn inputs_are_bounded(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let clerk = app.signed_in("clerk.b", &["clerk:zd-jtdd"]).await;
    let api = app.as_session(&clerk);
    let many: Vec<String> = (0..25).map(|i| format!("B{i}")).collect();
    let res = api
        .post(
            "/api/v1/billing/payments",
            json!({"unit": "sz-zrzy", "account_no": "a b", "bill_ids": many,
                   "amount_fen": 0, "method": "cheque", "received_fen": "100"}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_fields_include(
        &res,
        &[
            ("bill_ids", "out_of_range"),
            ("amount_fen", "out_of_range"),
            ("method", "unknown_value"),
            ("received_fen", "invalid_format"),
        ],
    );
    let res = api
        .post(
            "/api/v1/billing/payments",
            json!({"unit": "sz-zrzy", "account_no": "a b", "bill_ids": ["x/y", "x/y"],
                   "amount_fen": 2_000_000_000, "method": "card", "received_fen": 100}),
        )
        .await;
    assert_fields_include(
        &res,
        &[
            ("unit", "unknown_value"),
            ("account_no", "invalid_format"),
            ("bill_ids.0", "invalid_format"),
            ("bill_ids.1", "invalid_format"),
            ("amount_fen", "out_of_range"),
            ("received_fen", "not_allowed"),
        ],
    );
    // Cash handed over below the sum.
    let res = api
        .post(
            "/api/v1/billing/payments",
            json!({"unit": WATER, "account_no": W1, "bill_ids": [bill(W1, "2026-09")],
                   "amount_fen": 12_345, "method": "cash", "received_fen": 10_000}),
        )
        .await;
    assert_fields_include(&res, &[("received_fen", "out_of_range")]);
    // Lookups: neither, both, or malformed.
    for q in [
        "",
        "?number=1&uscc=91421300MA49ABCD17",
        "?number=a%2Fb",
        "?uscc=91421300MA49ABCD18",
    ] {
        let res = api.get(&format!("/api/v1/billing/accounts{q}")).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            res.text()
        );
    }
    let long = "9".repeat(40);
    assert_eq!(
        api.get(&format!("/api/v1/billing/accounts/{WATER}/{long}/bills"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v1/billing/payments?date=2026-13-01")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A form with fields it does not declare is refused whole.
    let res = app
        .post_form_as(
            &clerk,
            &format!("/counter/billing/accounts/{WATER}/{W1}/payments"),
            &[
                ("key", "abc"),
                ("amount_fen", "1"),
                ("method", "cash"),
                ("admin", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    // An answer larger than the limit is not read.
    let huge = huge_answers().await;
    let app = app_at(backend, &sim.base, TimeSource::system(), |c| {
        c.billing[0].base_url = format!("{huge}/{WATER}");
    })
    .await;
    let clerk = app.signed_in("clerk.b2", &["clerk:zd-jtdd"]).await;
    let found = app
        .as_session(&clerk)
        .get(&format!("/api/v1/billing/accounts?number={W1}"))
        .await
        .json();
    assert_eq!(found["unavailable"][0]["code"], WATER);
}

/// A server whose every answer is a 200 of 2 MiB.
async fn huge_answers() -> String {
    let app = axum::Router::new().fallback(|| async {
        let body = format!(
            "{{\"accounts\": [], \"pad\": \"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        );
        ([("content-type", "application/json")], body)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn payments_per_hall_and_day_reach_the_board(backend: Backend) {
    let sim = Simulator::start().await;
    let app = app(backend, &sim).await;
    let one = app.signed_in("clerk.h1", &["clerk:zd-jtdd"]).await;
    let two = app.signed_in("clerk.h2", &["clerk:zd-zwzx"]).await;
    pay_ok(&app, &one, W1, &[&bill(W1, "2026-09")], 12_345).await;
    pay_ok(&app, &one, W2, &[&bill(W2, "2026-10")], 45_600).await;
    pay_ok(&app, &two, W3, &[&bill(W3, "2026-08")], 3_210).await;
    send(&app).await;
    let (from, to) = onestop_server::app::billing::day_bounds(&app.state, app.state.now().date());
    let offset = i64::from(app.state.offset.whole_seconds()) * 1000;
    let rows = app
        .read(move |c| onestop_store::payments::per_hall_day(c, from, to, offset))
        .await;
    let day = (from + offset) / 86_400_000;
    let got: Vec<(String, String, i64, i64, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.hall_code.clone(),
                r.unit_code.clone(),
                r.day,
                r.payments,
                r.amount_fen,
                r.paid,
                r.paid_fen,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("zd-jtdd".into(), WATER.into(), day, 2, 57_945, 2, 57_945),
            ("zd-zwzx".into(), WATER.into(), day, 1, 3_210, 1, 3_210),
        ]
    );

    // A clerk of another district pays one more; the first hall files an
    // application for water. The board counts both per hall, and its
    // district and service filters narrow them.
    let three = app.signed_in("clerk.h3", &["clerk:sx-lishan"]).await;
    pay_ok(&app, &three, W3, &[&bill(W3, "2026-09")], 2_980).await;
    send(&app).await;
    let fields = [
        ("submission_token", "hall-board-1"),
        ("mode", "a_la_carte"),
        ("services", "water"),
        ("applicant.name", "随州市某某水产有限公司"),
        ("applicant.uscc", ENTERPRISE),
        ("address.district_code", "421303"),
        ("address.detail", "交通大道2号"),
        ("contact.name", "李四"),
        ("contact.phone", "13912345678"),
        ("services.water.business_type", "new_account"),
        ("services.water.demand_tons_per_day", "3"),
    ];
    let res = app.post_form_as(&one, "/apply", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let sup = app.signed_in("lead.sup", &["supervisor"]).await;
    let today = app.state.now().date();
    let q = format!("from={today}&to={today}");
    let halls = |board: Value| -> Vec<(String, Option<String>, i64, i64, i64)> {
        board["window"]["halls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["hall"].as_str().unwrap().to_owned(),
                    h["district"].as_str().map(str::to_owned),
                    h["payments"].as_i64().unwrap(),
                    h["payment_amount_fen"].as_i64().unwrap(),
                    h["applications"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let board = app.get_as(&sup, &format!("/api/v1/board?{q}")).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    let board = board.json();
    let zd = Some("421303".to_owned());
    assert_eq!(
        halls(board.clone()),
        vec![
            ("sx-lishan".into(), Some("421321".into()), 1, 2_980, 0),
            ("zd-jtdd".into(), zd.clone(), 2, 57_945, 1),
            ("zd-zwzx".into(), zd.clone(), 1, 3_210, 0),
        ]
    );
    let today_text = today.to_string();
    let days: Vec<(&str, &str, i64)> = board["window"]["hall_days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap(),
                d["hall"].as_str().unwrap(),
                d["payments"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            (today_text.as_str(), "sx-lishan", 1),
            (today_text.as_str(), "zd-jtdd", 2),
            (today_text.as_str(), "zd-zwzx", 1),
        ]
    );
    let board = app
        .get_as(&sup, &format!("/api/v1/board?{q}&district=421321"))
        .await
        .json();
    assert_eq!(
        halls(board),
        vec![("sx-lishan".into(), Some("421321".into()), 1, 2_980, 0)]
    );
    // Gas: neither the water payments nor the water application count.
    let board = app
        .get_as(&sup, &format!("/api/v1/board?{q}&service=gas"))
        .await
        .json();
    assert_eq!(halls(board), vec![]);
    let board = app
        .get_as(
            &sup,
            &format!("/api/v1/board?{q}&service=water&district=421303"),
        )
        .await
        .json();
    assert_eq!(
        halls(board),
        vec![
            ("zd-jtdd".into(), zd.clone(), 2, 57_945, 1),
            ("zd-zwzx".into(), zd, 1, 3_210, 0),
        ]
    );
    // The page and the export show them with the money in yuan.
    let page = app.ok_page_as(&sup, &format!("/board?{q}")).await;
    assert_has(&page, &["缴费金额", "¥579.45", "受理申请", "随县"]);
    let export = app.get_as(&sup, &format!("/board/export.xlsx?{q}")).await;
    assert_eq!(export.status, StatusCode::OK);
}

async fn over_https_with_a_private_ca(backend: Backend) {
    let cert = common::tls::TestCert::new();
    let sim = Simulator::start_https(&cert).await;
    let https = |c: &mut CityConfig, ca: Option<String>| {
        for b in c.billing.iter_mut() {
            b.allow_plain_http = false;
            b.ca_file = ca.clone();
        }
    };
    // Trusted through ca_file: found and paid over TLS.
    let app = app_at(backend, &sim.base, TimeSource::system(), |c| {
        https(c, cert.ca_file())
    })
    .await;
    let clerk = app.signed_in("clerk.s", &["clerk:zd-jtdd"]).await;
    let found = app
        .as_session(&clerk)
        .get(&format!("/api/v1/billing/accounts?number={W1}"))
        .await
        .json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let p = pay_ok(&app, &clerk, W1, &[&bill(W1, "2026-09")], 12_345).await;
    assert_eq!(send(&app).await.paid, 1);
    assert_eq!(payment(&app, &clerk, &id_of(&p)).await["status"], "paid");
    // Without it the certificate is not trusted: nothing is read.
    let app = app_at(backend, &sim.base, TimeSource::system(), |c| https(c, None)).await;
    let clerk = app.signed_in("clerk.s2", &["clerk:zd-jtdd"]).await;
    let found = app
        .as_session(&clerk)
        .get(&format!("/api/v1/billing/accounts?number={W1}"))
        .await
        .json();
    assert_eq!(found["items"], json!([]));
    assert_eq!(found["unavailable"].as_array().unwrap().len(), 3);
    // And a plain http:// base is refused by the configuration check.
    let mut c = CityConfig::default_city();
    c.billing = vec![billing_config(WATER, "http://billing.example.cn")];
    c.billing[0].allow_plain_http = true;
    let problems = c.validate().unwrap_err().to_string();
    assert!(problems.contains("unencrypted"), "{problems}");
}
