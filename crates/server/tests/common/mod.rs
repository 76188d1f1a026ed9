//! The real router over a fresh database of each kind, driven in process.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use onestop_domain::config::CityConfig;
use onestop_server::AppState;
use onestop_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

/// Runs an async test body once per database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(onestop_store::testing::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(onestop_store::testing::Backend::Postgres).await
            }
        }
    )*};
}

pub use onestop_store::testing::test_clock;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: TestDb,
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
    pub async fn new(backend: Backend) -> TestApp {
        let db = TestDb::new(backend);
        let config = Arc::new(CityConfig::default_city());
        let clock = Arc::new(test_clock(&config));
        let store = db.open_store().await;
        let state = AppState::new(config, clock, store);
        TestApp {
            router: onestop_server::router(state.clone()),
            state,
            db,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
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

    pub async fn get(&self, uri: &str) -> Answer {
        self.request(Method::GET, uri, &[], Body::empty()).await
    }

    pub async fn post_json(&self, uri: &str, body: &Value, key: Option<&str>) -> Answer {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(k) = key {
            headers.push(("idempotency-key", k));
        }
        self.request(Method::POST, uri, &headers, body.to_string())
            .await
    }

    pub async fn post_form(&self, uri: &str, pairs: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        self.request(
            Method::POST,
            uri,
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await
    }
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

/// A minimal one-service application.
pub fn water_only(uscc: &str) -> Value {
    json!({
        "applicant": {"name": "随州市某某水产有限公司", "uscc": uscc},
        "address": {"district_code": "421321", "detail": "厉山镇工业园1号"},
        "contact": {"name": "李四", "phone": "0722-3334444"},
        "mode": "a_la_carte",
        "channel": "api",
        "services": {"water": {"business_type": "temporary", "demand_tons_per_day": 2.5}}
    })
}
