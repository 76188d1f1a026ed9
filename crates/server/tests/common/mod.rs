//! The real router over a fresh database of each kind, driven in process.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use onestop_domain::config::CityConfig;
use onestop_server::AppState;
use onestop_store::StoreError;
use onestop_store::db::Conn;
use onestop_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use std::borrow::Borrow;
use std::sync::Arc;
use tower::ServiceExt;

/// Runs an async test body once per database (the store's one rule).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        onestop_store::on_both_databases!($($name),*);
    };
}

pub use onestop_store::testing::test_clock;

pub mod idp;
pub mod listener;
pub mod sms_gateway;
pub mod smtp;
pub mod tls;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: TestDb,
    /// A key with `applications:read,applications:write`, sent by `get` and
    /// `post_json` to `/api/` paths (`request` sends only what it is given).
    pub api_key: String,
}

/// The password every account made by [`TestApp::account`] has.
pub const PASSWORD: &str = "Passw0rd!23";

/// A signed-in browser: its session cookie and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    pub fn cookie_header(&self) -> String {
        format!("onestop_session={}", self.cookie)
    }
}

/// The first `name="csrf_token" value="…"` in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[i + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The value of a `Set-Cookie` named `name` in an answer.
pub fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The whole `Set-Cookie` line (attributes too) of the cookie `name`.
pub fn set_cookie_line(a: &Answer, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    a.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&prefix))
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The codes of the field errors of an error body.
    pub fn field_codes(&self) -> Vec<(String, String)> {
        self.json()["error"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        (
                            f["field"].as_str().unwrap_or("").to_owned(),
                            f["code"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// Requests as the holder of an API key.
    pub fn as_key<'a>(&'a self, key: &'a str) -> As<'a> {
        As {
            app: self,
            who: Who::Key(key),
            idempotency_key: None,
        }
    }

    /// Requests as a signed-in browser.
    pub fn as_session<'a>(&'a self, s: &'a Session) -> As<'a> {
        As {
            app: self,
            who: Who::Browser(s),
            idempotency_key: None,
        }
    }

    /// Requests without credentials.
    pub fn as_nobody(&self) -> As<'_> {
        As {
            app: self,
            who: Who::Nobody,
            idempotency_key: None,
        }
    }

    /// Moves the hand-set clock to `at` (RFC 3339).
    pub fn set_time(&self, at: &str) {
        self.state.time.set_ms(ms(at));
    }

    /// The app's clock now, to the minute, at the city's offset, as a page
    /// types it (`YYYY-MM-DDTHH:MM`): a connection time that is neither
    /// before the stage started nor in the future.
    pub fn now_typed(&self) -> String {
        let t = self.state.now().to_offset(self.state.offset);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute()
        )
    }

    /// [`TestApp::now_typed`] as an RFC 3339 instant.
    pub fn now_minute(&self) -> String {
        onestop_server::app::workorders::with_offset(&self.now_typed(), self.state.offset)
    }

    /// One run of the level sweeper.
    pub async fn sweep(&self) {
        onestop_server::jobs::sweeper::sweep_once(&self.state)
            .await
            .expect("sweep");
    }

    /// A work order as the test client reads it.
    pub async fn work_order(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/work-orders/{id}")).await.json()
    }

    /// An application as the test client reads it.
    pub async fn application(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/applications/{id}")).await.json()
    }

    /// `POST /api/v1/applications` with the test client's key; the body answered.
    pub async fn submit(&self, body: &Value) -> Value {
        self.post_json("/api/v1/applications", body, None)
            .await
            .json()
    }

    /// `POST /api/v1/applications` that must answer 201; the application.
    pub async fn submit_created(&self, body: &Value) -> Value {
        let res = self.post_json("/api/v1/applications", body, None).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()
    }

    /// An account with these grants (see [`TestApp::account`]), signed in.
    pub async fn signed_in(&self, username: &str, grants: &[&str]) -> Session {
        self.account(username, grants).await;
        self.login(username, PASSWORD).await
    }

    /// The text of a page as a signed-in browser gets it.
    pub async fn page_as(&self, s: &Session, uri: &str) -> String {
        self.get_as(s, uri).await.text()
    }

    /// A read of the store that must succeed.
    pub async fn read<T, F>(&self, work: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.state.store.read(work).await.unwrap()
    }

    /// A write to the store that must succeed.
    pub async fn write<T, F>(&self, work: F) -> T
    where
        T: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.state.store.write(work).await.unwrap()
    }

    /// A page as a signed-in browser gets it, which must answer 200; its text.
    pub async fn ok_page_as(&self, s: &Session, uri: &str) -> String {
        let res = self.get_as(s, uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        res.text()
    }

    /// One run of the level sweeper: what it moved.
    pub async fn sweep_moved(&self) -> Vec<onestop_store::levels::Moved> {
        onestop_server::jobs::sweeper::sweep_once(&self.state)
            .await
            .unwrap()
    }

    /// The history events of an application, oldest first.
    pub async fn events(&self, application: &str) -> Vec<onestop_store::applications::Event> {
        let id = application.to_owned();
        self.read(move |c| onestop_store::applications::events(c, &id))
            .await
    }

    /// The outbox's rows, newest first (at most 100).
    pub async fn outbox(&self) -> Vec<onestop_store::outbox::Delivery> {
        self.read(|c| onestop_store::outbox::list(c, None, 100))
            .await
    }

    /// The stored account of `username`.
    pub async fn stored_account(&self, username: &str) -> onestop_store::accounts::Account {
        let u = username.to_owned();
        self.read(move |c| onestop_store::accounts::by_username(c, &u))
            .await
            .unwrap_or_else(|| panic!("no account {username}"))
    }

    pub async fn new(backend: Backend) -> TestApp {
        Self::with_config(backend, |_| {}).await
    }

    /// A test app whose clock stands at `at` (RFC 3339) until the test moves
    /// it (`app.state.time`).
    pub async fn at_time(backend: Backend, at: &str) -> TestApp {
        Self::build(backend, |_| {}, onestop_server::TimeSource::manual(ms(at))).await
    }

    /// A changed configuration and a clock standing at `at`.
    pub async fn with_config_at(
        backend: Backend,
        at: &str,
        change: impl FnOnce(&mut CityConfig),
    ) -> TestApp {
        Self::build(backend, change, onestop_server::TimeSource::manual(ms(at))).await
    }

    /// A test app over a changed copy of the default city's configuration.
    pub async fn with_config(backend: Backend, change: impl FnOnce(&mut CityConfig)) -> TestApp {
        Self::build(backend, change, onestop_server::TimeSource::system()).await
    }

    async fn build(
        backend: Backend,
        change: impl FnOnce(&mut CityConfig),
        time: onestop_server::TimeSource,
    ) -> TestApp {
        let db = TestDb::new(backend);
        let mut config = CityConfig::default_city();
        change(&mut config);
        let config = Arc::new(config);
        let clock = Arc::new(test_clock(&config));
        let store = db.open_store().await;
        // Argon2 at a labelled test-only cost keeps the suites fast; the
        // production cost is exercised by the benchmark.
        let mut state = AppState::with_password_cost(
            config,
            clock,
            store,
            onestop_server::auth::PasswordCost::TEST_ONLY,
        );
        state.time = time;
        let system = onestop_server::app::accounts::system_caller("test");
        let (_, api_key) = onestop_server::app::accounts::create_api_key(
            &state,
            &system,
            "test client",
            "applications:read,applications:write",
        )
        .await
        .expect("test API key");
        TestApp {
            router: onestop_server::router(state.clone()),
            state,
            db,
            api_key,
        }
    }

    /// An account with these roles (`role` or `role:scope`) and
    /// [`PASSWORD`], its first-login password change already done.
    pub async fn account(&self, username: &str, grants: &[&str]) -> String {
        let system = onestop_server::app::accounts::system_caller("test");
        let created = onestop_server::app::accounts::create_account(
            &self.state,
            &system,
            onestop_server::app::accounts::NewAccountInput {
                username: username.into(),
                display_name: format!("测试{username}"),
                phone: None,
                grants: grants.iter().map(|g| g.to_string()).collect(),
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create {username}: {e:?}"));
        let id = created.account.id.clone();
        let hash = created.account.password_hash.clone();
        let i = id.clone();
        self.state
            .store
            .write(move |c| {
                onestop_store::accounts::set_password(c, &i, &hash, false, onestop_store::now_ms())
            })
            .await
            .unwrap();
        id
    }

    /// An API key with these scopes.
    pub async fn key(&self, scopes: &str) -> String {
        let system = onestop_server::app::accounts::system_caller("test");
        onestop_server::app::accounts::create_api_key(&self.state, &system, "test", scopes)
            .await
            .unwrap_or_else(|e| panic!("key {scopes}: {e:?}"))
            .1
    }

    /// A decision with an opinion on an approval item at `version`, as a
    /// signed-in browser (see [`As::decide_item`]).
    pub async fn decide_as(
        &self,
        s: &Session,
        item: &Value,
        decision: &str,
        opinion: &str,
        version: impl Into<Value>,
    ) -> Answer {
        self.as_session(s)
            .decide_item(item, decision, opinion, version)
            .await
    }

    /// The audit records of `action`, newest first (after the sink's queue
    /// is written).
    pub async fn audit_records(&self, action: &str) -> Vec<onestop_store::audit::AuditRecord> {
        self.state.audit.flush().await;
        let action = action.to_owned();
        self.state
            .store
            .read(move |c| {
                onestop_store::audit::list(
                    c,
                    &onestop_store::audit::AuditFilter {
                        action: Some(action),
                        limit: 1000,
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap()
    }

    /// The stored audit records as they stand (the sink's queue not
    /// flushed), newest first, at most 1000.
    pub async fn stored_audit(&self) -> Vec<onestop_store::audit::AuditRecord> {
        let all = onestop_store::audit::AuditFilter {
            limit: 1000,
            ..Default::default()
        };
        self.read(move |c| onestop_store::audit::list(c, &all))
            .await
    }

    /// The anonymous CSRF pair a browser gets from any form page.
    pub fn anon_csrf() -> (String, String) {
        let token = onestop_server::auth::random_hex(16);
        (format!("onestop_csrf={token}"), token)
    }

    /// Signs in through the login page; panics when that fails.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let res = self.try_login(username, password).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "login {username}: {}",
            res.text()
        );
        let cookie = set_cookie(&res, "onestop_session").expect("session cookie");
        let page = self
            .request(
                Method::GET,
                "/account/password",
                &[("cookie", &format!("onestop_session={cookie}"))],
                Body::empty(),
            )
            .await;
        let csrf = csrf_in(&page.text()).expect("csrf token on a signed-in page");
        Session { cookie, csrf }
    }

    /// Posts the login form; returns the raw answer.
    pub async fn try_login(&self, username: &str, password: &str) -> Answer {
        self.try_login_with(username, password, &[]).await
    }

    /// Posts the login form with these headers besides the anonymous CSRF
    /// cookie (`x-test-peer`, `x-forwarded-for`, …); returns the raw answer.
    pub async fn try_login_with(
        &self,
        username: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let (cookie, token) = Self::anon_csrf();
        let form = [
            ("username", username),
            ("password", password),
            ("csrf_token", token.as_str()),
        ];
        let mut all = vec![("cookie", cookie.as_str())];
        all.extend_from_slice(headers);
        self.post_urlencoded("/login", &all, serde_urlencoded::to_string(form).unwrap())
            .await
    }

    /// POST of a form body as it stands (no CSRF token added), with these
    /// headers besides the form's content type.
    pub async fn post_urlencoded(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Answer {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.request(Method::POST, uri, &all, body).await
    }

    /// POST of a form body as it stands as a signed-in browser (its cookie,
    /// no CSRF token added).
    pub async fn post_raw_as(&self, s: &Session, uri: &str, body: impl Into<Body>) -> Answer {
        let cookie = s.cookie_header();
        self.post_urlencoded(uri, &[("cookie", &cookie)], body)
            .await
    }

    /// GET as a signed-in browser.
    pub async fn get_as(&self, s: &Session, uri: &str) -> Answer {
        self.as_session(s).get(uri).await
    }

    /// POST a form as a signed-in browser (the session's CSRF token added).
    pub async fn post_form_as(&self, s: &Session, uri: &str, pairs: &[(&str, &str)]) -> Answer {
        let mut pairs = pairs.to_vec();
        pairs.push(("csrf_token", &s.csrf));
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        self.post_raw_as(s, uri, body).await
    }

    /// A form post as a signed-in browser that must be refused as invalid
    /// (422); the page it answers.
    pub async fn refused_form_as(&self, s: &Session, uri: &str, pairs: &[(&str, &str)]) -> String {
        let res = self.post_form_as(s, uri, pairs).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            res.text()
        );
        res.text()
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        // `x-test-peer: 10.0.0.7` sets the client address (as a socket would).
        let mut peer: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        for (k, v) in headers {
            if *k == "x-test-peer" {
                peer = format!("{v}:40000").parse().unwrap();
                continue;
            }
            req = req.header(*k, *v);
        }
        let mut req = req.body(body.into()).unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// GET; `/api/` paths carry the test client's API key.
    pub async fn get(&self, uri: &str) -> Answer {
        if uri.starts_with("/api/") {
            self.as_key(&self.api_key).get(uri).await
        } else {
            self.as_nobody().get(uri).await
        }
    }

    /// POST JSON with the test client's API key.
    pub async fn post_json(&self, uri: &str, body: &Value, key: Option<&str>) -> Answer {
        let client = self.as_key(&self.api_key);
        match key {
            Some(k) => client.idempotency_key(k).post(uri, body).await,
            None => client.post(uri, body).await,
        }
    }

    /// POST a form as an anonymous browser (with a valid anonymous CSRF pair).
    pub async fn post_form(&self, uri: &str, pairs: &[(&str, &str)]) -> Answer {
        let (cookie, token) = Self::anon_csrf();
        let mut pairs = pairs.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "csrf_token") {
            pairs.push(("csrf_token", &token));
        }
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        self.post_urlencoded(uri, &[("cookie", &cookie)], body)
            .await
    }
}

/// Who a request is sent as.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// No credentials.
    Nobody,
    /// `Authorization: Bearer <key>`.
    Key(&'a str),
    /// A signed-in browser: its cookie, and its CSRF token on unsafe methods.
    Browser(&'a Session),
}

/// Requests to the app as one caller: `app.as_key(&key).post(path, &body)`,
/// `app.as_session(&s).get(path)`. JSON bodies; an `Idempotency-Key` when
/// [`As::idempotency_key`] gave one.
#[derive(Clone, Copy)]
pub struct As<'a> {
    app: &'a TestApp,
    who: Who<'a>,
    idempotency_key: Option<&'a str>,
}

impl<'a> As<'a> {
    /// The same caller, sending `Idempotency-Key: key`.
    pub fn idempotency_key(self, key: &'a str) -> Self {
        As {
            idempotency_key: Some(key),
            ..self
        }
    }

    /// A request with a JSON body (`None`: no body, no content type).
    pub async fn send(self, method: Method, uri: &str, body: Option<&Value>) -> Answer {
        let auth;
        let cookie;
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        match self.who {
            Who::Nobody => {}
            Who::Key(key) => {
                auth = format!("Bearer {key}");
                headers.push(("authorization", &auth));
            }
            Who::Browser(s) => {
                cookie = s.cookie_header();
                headers.push(("cookie", &cookie));
                if unsafe_method {
                    headers.push(("x-csrf-token", &s.csrf));
                }
            }
        }
        if let Some(k) = self.idempotency_key {
            headers.push(("idempotency-key", k));
        }
        let body = body
            .map(Value::to_string)
            .map(Body::from)
            .unwrap_or_else(Body::empty);
        self.app.request(method, uri, &headers, body).await
    }

    pub async fn get(self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None).await
    }

    pub async fn post(self, uri: &str, body: impl Borrow<Value>) -> Answer {
        self.send(Method::POST, uri, Some(body.borrow())).await
    }

    pub async fn put(self, uri: &str, body: impl Borrow<Value>) -> Answer {
        self.send(Method::PUT, uri, Some(body.borrow())).await
    }

    pub async fn delete(self, uri: &str) -> Answer {
        self.send(Method::DELETE, uri, None).await
    }

    /// `POST /api/v1/work-orders/{order}/actions`.
    pub async fn act(self, order: &str, body: impl Borrow<Value>) -> Answer {
        self.post(&format!("/api/v1/work-orders/{order}/actions"), body)
            .await
    }

    /// An action that must succeed; the order as it answers.
    pub async fn act_ok(self, order: &str, body: impl Borrow<Value>) -> Value {
        let body = body.borrow();
        let res = self.act(order, body).await;
        assert_eq!(res.status, StatusCode::OK, "{body}: {}", res.text());
        res.json()
    }

    /// An action that must succeed, at `version` (moved on to the answer's).
    pub async fn step(self, order: &str, version: &mut i64, body: Value) -> Value {
        let mut body = body;
        body["version"] = json!(*version);
        let v = self.act_ok(order, &body).await;
        *version = v["version"].as_i64().unwrap();
        v
    }

    /// Accepts an order at its current version; must succeed.
    pub async fn accept(self, order: &str) -> Value {
        let mut version = self.app.work_order(order).await["version"]
            .as_i64()
            .expect("a work order");
        self.step(order, &mut version, json!({"action": "accept"}))
            .await
    }

    /// `POST /api/v1/applications/{application}/cancel` with a reason.
    pub async fn cancel(self, application: &str, reason: &str) -> Answer {
        self.post(
            &format!("/api/v1/applications/{application}/cancel"),
            json!({ "reason": reason }),
        )
        .await
    }

    /// `POST /api/v1/applications/{application}/approval-case`.
    pub async fn raise_case(self, application: &str, body: impl Borrow<Value>) -> Answer {
        self.post(
            &format!("/api/v1/applications/{application}/approval-case"),
            body,
        )
        .await
    }

    /// A decision with an opinion on an approval item (`item["id"]`) at `version`.
    pub async fn decide_item(
        self,
        item: &Value,
        decision: &str,
        opinion: &str,
        version: impl Into<Value>,
    ) -> Answer {
        let body = json!({"decision": decision, "opinion": opinion, "version": version.into()});
        self.decide(item["id"].as_str().expect("an item id"), body)
            .await
    }

    /// `POST /api/v1/approval-items/{item}/decision`.
    pub async fn decide(self, item: &str, body: impl Borrow<Value>) -> Answer {
        self.post(&format!("/api/v1/approval-items/{item}/decision"), body)
            .await
    }
}

/// The instant `at` (RFC 3339) in Unix milliseconds.
pub fn ms(at: &str) -> i64 {
    onestop_domain::timefmt::to_ms(onestop_domain::timefmt::parse(at).expect("an instant"))
}

/// The id and version of an application's work order for `unit`.
pub fn order_of(app: &Value, unit: &str) -> (String, i64) {
    let o = app["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["unit"]["code"] == unit)
        .unwrap_or_else(|| panic!("no order for {unit}"));
    (
        o["id"].as_str().unwrap().to_owned(),
        o["version"].as_i64().unwrap(),
    )
}

/// A valid USCC (GB 32100 check character computed).
pub const USCC: &str = "91421300MA49ABCD17";
pub const OTHER_USCC: &str = "91350100M000100Y43";

/// An appointment three days from now, on the hour.
pub fn appointment() -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8))
        + time::Duration::days(3);
    format!(
        "{:04}-{:02}-{:02}T09:00:00+08:00",
        t.year(),
        t.month() as u8,
        t.day()
    )
}

/// The API.md example: all five services, two carriers, an appointment.
pub fn five_services() -> Value {
    let mut body = onestop_store::testing::example_application("随州市示例商贸有限公司");
    body["appointment_at"] = json!(appointment());
    body
}

/// An à-la-carte application of `applicant` (name, USCC) at `address`
/// (district code, detail), with `contact` (name, phone), through
/// `channel`, for `services`.
pub fn a_la_carte(
    applicant: [&str; 2],
    address: [&str; 2],
    contact: [&str; 2],
    channel: &str,
    services: Value,
) -> Value {
    let ([name, uscc], [district_code, detail]) = (applicant, address);
    let [contact_name, phone] = contact;
    json!({
        "applicant": {"name": name, "uscc": uscc},
        "address": {"district_code": district_code, "detail": detail},
        "contact": {"name": contact_name, "phone": phone},
        "mode": "a_la_carte",
        "channel": channel,
        "services": services,
    })
}

/// A minimal one-service application.
pub fn water_only(uscc: &str) -> Value {
    a_la_carte(
        ["随州市某某水产有限公司", uscc],
        ["421321", "厉山镇工业园1号"],
        ["李四", "0722-3334444"],
        "api",
        json!({"water": {"business_type": "temporary", "demand_tons_per_day": 2.5}}),
    )
}

/// Field errors as [`Answer::field_codes`] lists them.
pub fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect()
}

/// The approval item of department `dept` in a case.
pub fn item(case: &Value, dept: &str) -> Value {
    case["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["department"]["code"] == dept)
        .unwrap_or_else(|| panic!("no item of {dept}: {case}"))
        .clone()
}

/// The `id`s of a list's `items`, in order.
pub fn item_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `v["id"]` as a string.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The id of an application's first work order.
pub fn first_order(application: &Value) -> String {
    id_of(&application["work_orders"][0])
}

/// Asserts that a page has every one of `needles`, showing the page when not.
#[track_caller]
pub fn assert_has(html: &str, needles: &[&str]) {
    for needle in needles {
        assert!(html.contains(needle), "{needle:?} missing from: {html}");
    }
}

/// Asserts that an error body names each of these `(field, code)` pairs
/// (among any others).
#[track_caller]
pub fn assert_fields_include(a: &Answer, expected: &[(&str, &str)]) {
    let codes = a.field_codes();
    for (field, code) in expected {
        let pair = (field.to_string(), code.to_string());
        assert!(codes.contains(&pair), "{field} {code}: {codes:?}");
    }
}

/// One part of a `multipart/form-data` body: a text field, or a file
/// (field name, file name, bytes).
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

impl TestApp {
    /// POSTs a `multipart/form-data` body of these parts to `uri` as a
    /// signed-in browser (its cookie, and its CSRF token in the header).
    pub async fn post_multipart_as(&self, s: &Session, uri: &str, parts: &[Part<'_>]) -> Answer {
        let (content_type, body) = multipart_body(parts);
        let cookie = s.cookie_header();
        self.request(
            Method::POST,
            uri,
            &[
                ("content-type", &content_type),
                ("cookie", &cookie),
                ("x-csrf-token", &s.csrf),
            ],
            body,
        )
        .await
    }
}

/// A `multipart/form-data` body of these parts, in order, and its
/// content type.
pub fn multipart_body(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "----onestop-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for part in parts {
        match part {
            Part::Text(name, value) => body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            ),
            Part::File(name, file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
