//! **SIMULATOR** — the reference utility billing service.
//!
//! It stands in for the utilities' own billing systems (水务、供电、燃气…)
//! wherever the real ones are not at hand: the platform's tests, the
//! benchmark, and sandbox demonstrations of the default city. It speaks the
//! billing connector contract (`docs/billing-connector.md`) exactly as a
//! utility's adapter must, over real HTTP, and keeps its state in a SQLite
//! file of its own so that a restart keeps every payment it took.
//!
//! Its data are **example data**: every account name says 示例, every
//! address 示例地址; the accounts, bills and amounts are the same on every
//! start of a fresh file (see [`seed`]). No money moves.
//!
//! Run it with `onestop billing-sim` (README). Each utility unit of the
//! city is served under its own prefix: `{base}/{unit}/accounts…`.
//!
//! Besides the contract it has knobs for tests (`/_sim/…`, same bearer
//! token): make the next payment requests fail before anything is recorded,
//! or record a payment and then answer late or not at all (so that a test
//! can kill the platform mid-payment); forget a payment, change its amount,
//! or add one the platform never sent (so that reconciliation has
//! differences to find).
#![forbid(unsafe_code)]
// Refusals are carried as the answer itself (`Result<T, Response>`), built
// where they are found; the simulator is no hot path.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use time::UtcOffset;

/// The environment variable holding the simulator's bearer token by default.
pub const DEFAULT_TOKEN_ENV: &str = "ONESTOP_BILLING_SIM_TOKEN";
/// Payments per page of the reconciliation list.
pub const RECONCILIATION_PAGE: usize = 500;
/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;
/// The most bills of one payment (the contract's limit).
const MAX_BILLS: usize = 24;
/// The most accounts answered to one lookup.
const MAX_ACCOUNTS: usize = 20;

/// One utility the simulator stands in for.
#[derive(Debug, Clone)]
pub struct SimUnit {
    /// The unit's code, also the path prefix (`/sz-water/…`).
    pub code: String,
    pub name: String,
    /// 1-based; the first digit of its account numbers.
    pub index: u32,
}

/// How to run the simulator.
#[derive(Clone)]
pub struct SimConfig {
    /// The SQLite file of its state (created and seeded when new).
    pub db_path: PathBuf,
    /// The bearer token every request must carry.
    pub token: String,
    pub units: Vec<SimUnit>,
    /// The city's offset from UTC (days of the reconciliation list).
    pub offset: UtcOffset,
    /// Extra generated accounts per unit, each with one open bill of ¥10.00
    /// (for load tests), numbered `{index}9{n:06}`.
    pub extra_accounts: u32,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("db_path", &self.db_path)
            .field("token", &"[redacted]")
            .field("units", &self.units)
            .field("offset", &self.offset)
            .field("extra_accounts", &self.extra_accounts)
            .finish()
    }
}

impl SimConfig {
    /// Every utility unit of a city, in its configuration's order.
    pub fn for_city(
        config: &onestop_domain::config::CityConfig,
        db_path: PathBuf,
        token: String,
    ) -> SimConfig {
        let units = config
            .units
            .iter()
            .filter(|u| u.kind == onestop_domain::config::UnitKind::Utility)
            .enumerate()
            .map(|(i, u)| SimUnit {
                code: u.code.clone(),
                name: u.name.clone(),
                index: i as u32 + 1,
            })
            .collect();
        let offset = UtcOffset::from_whole_seconds(config.working_time.utc_offset_minutes * 60)
            .unwrap_or(UtcOffset::UTC);
        SimConfig {
            db_path,
            token,
            units,
            offset,
            extra_accounts: 0,
        }
    }
}

/// Test knobs, held in memory (a restart clears them).
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next N payment requests are answered `fail_status` before
    /// anything is looked at or recorded.
    pub fail_next: u32,
    /// 503 unless set (429, 500, 502, 504, or a 4xx to test refusals).
    pub fail_status: Option<u16>,
    /// The next N new payments are recorded, then answered after `delay_ms`.
    pub delay_next: u32,
    pub delay_ms: u64,
    /// The next N new payments are recorded, then the connection is broken
    /// without an answer.
    pub drop_next: u32,
    /// The next N account or bill lookups are answered 503.
    pub fail_lookups_next: u32,
}

/// The running simulator's state.
#[derive(Clone)]
pub struct Sim {
    db: Arc<Mutex<Connection>>,
    token: Arc<str>,
    units: Arc<Vec<SimUnit>>,
    offset: UtcOffset,
    faults: Arc<Mutex<Faults>>,
}

#[derive(Debug)]
pub struct SimError(pub String);

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SimError {}

fn db_err(e: rusqlite::Error) -> SimError {
    SimError(format!("billing simulator database: {e}"))
}

impl Sim {
    /// Opens (creating and seeding when new) the simulator's database.
    pub fn open(config: &SimConfig) -> Result<Sim, SimError> {
        if config.token.trim().is_empty() {
            return Err(SimError(
                "the billing simulator needs a bearer token".into(),
            ));
        }
        if let Some(dir) = config
            .db_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| SimError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(&config.db_path).map_err(db_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        seed(&mut conn, config).map_err(db_err)?;
        Ok(Sim {
            db: Arc::new(Mutex::new(conn)),
            token: config.token.clone().into(),
            units: Arc::new(config.units.clone()),
            offset: config.offset,
            faults: Arc::new(Mutex::new(Faults::default())),
        })
    }

    /// Sets the test knobs.
    pub fn set_faults(&self, f: Faults) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// The routes: the contract under `/{unit}/…`, the knobs under `/_sim/…`,
    /// `/healthz` without a token.
    pub fn router(&self) -> Router {
        let guarded = Router::new()
            .route("/_sim/faults", get(get_faults).post(post_faults))
            .route("/_sim/{unit}/payments", get(sim_payments).post(sim_inject))
            .route("/_sim/{unit}/payments/{reference}/forget", post(sim_forget))
            .route("/_sim/{unit}/payments/{reference}/amount", post(sim_amount))
            .route("/{unit}/accounts", get(find_accounts))
            .route("/{unit}/accounts/{account_no}/bills", get(bills))
            .route("/{unit}/payments", post(pay))
            .route("/{unit}/payments/{payment_id}", get(payment))
            .route("/{unit}/reconciliation", get(reconciliation))
            .layer(axum::middleware::from_fn_with_state(self.clone(), bearer));
        Router::new()
            .route(
                "/healthz",
                get(|| async { axum::Json(json!({"status": "ok"})) }),
            )
            .merge(guarded)
            .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "没有这个地址") })
            .with_state(self.clone())
    }

    fn unit(&self, code: &str) -> Option<&SimUnit> {
        self.units.iter().find(|u| u.code == code)
    }

    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Response> + Send + 'static,
    ) -> Result<T, Response> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .unwrap_or_else(|_| Err(internal()))
    }
}

/// Serves the simulator on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sim: Sim,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sim.router())
        .with_graceful_shutdown(shutdown)
        .await
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    unit TEXT NOT NULL, account_no TEXT NOT NULL, name TEXT NOT NULL, uscc TEXT,
    address TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (unit, account_no));
CREATE INDEX IF NOT EXISTS accounts_by_uscc ON accounts (unit, uscc);
CREATE TABLE IF NOT EXISTS bills (
    unit TEXT NOT NULL, bill_id TEXT NOT NULL, account_no TEXT NOT NULL, period TEXT NOT NULL,
    description TEXT NOT NULL, amount_fen INTEGER NOT NULL, due_date TEXT NOT NULL,
    status TEXT NOT NULL, payment_id TEXT, PRIMARY KEY (unit, bill_id));
CREATE INDEX IF NOT EXISTS bills_by_account ON bills (unit, account_no, status);
CREATE TABLE IF NOT EXISTS payments (
    unit TEXT NOT NULL, payment_id TEXT NOT NULL, reference TEXT NOT NULL,
    fingerprint TEXT NOT NULL, account_no TEXT NOT NULL, bill_ids TEXT NOT NULL,
    amount_fen INTEGER NOT NULL, channel TEXT NOT NULL, hall TEXT NOT NULL, method TEXT NOT NULL,
    paid_at INTEGER NOT NULL, day TEXT NOT NULL, receipt_no TEXT NOT NULL,
    PRIMARY KEY (unit, payment_id), UNIQUE (unit, reference));
CREATE INDEX IF NOT EXISTS payments_by_day ON payments (unit, day, paid_at);
CREATE TABLE IF NOT EXISTS counters (unit TEXT PRIMARY KEY, next INTEGER NOT NULL);
";

/// One seeded account: its number within the unit, name, USCC, address and
/// bills (period, amount in fen, paid already).
struct SeedAccount {
    n: u32,
    name: &'static str,
    uscc: Option<String>,
    address: &'static str,
    bills: &'static [(&'static str, i64, bool)],
}

/// The USCC with its check character computed (GB 32100), for example data.
fn with_check(first17: &str) -> String {
    const CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    CHARS
        .chars()
        .map(|c| format!("{first17}{c}"))
        .find(|u| onestop_domain::form::uscc_is_valid(u))
        .unwrap_or_else(|| format!("{first17}0"))
}

fn seed_accounts() -> Vec<SeedAccount> {
    vec![
        SeedAccount {
            n: 1,
            name: "随州市示例商贸有限公司（示例数据）",
            uscc: Some("91421300MA49ABCD17".into()),
            address: "曾都区交通大道100号（示例地址）",
            bills: &[("2026-09", 12_345, false), ("2026-10", 8_760, false)],
        },
        SeedAccount {
            n: 2,
            name: "随州市示例食品有限公司（示例数据）",
            uscc: Some(with_check("91421321MA4EXAMP0")),
            address: "随县厉山镇工业园1号（示例地址）",
            bills: &[("2026-10", 45_600, false)],
        },
        SeedAccount {
            n: 3,
            name: "示例居民用户甲（示例数据）",
            uscc: None,
            address: "广水市应山街道示例小区1栋1单元101（示例地址）",
            bills: &[
                ("2026-08", 3_210, false),
                ("2026-09", 2_980, false),
                ("2026-10", 3_105, false),
            ],
        },
        SeedAccount {
            n: 4,
            name: "示例居民用户乙（示例数据）",
            uscc: None,
            address: "曾都区示例路8号（示例地址）",
            bills: &[("2026-10", 5_000, true)],
        },
    ]
}

/// The account number of seeded account `n` of unit number `index`.
pub fn account_no(index: u32, n: u32) -> String {
    format!("{index}{n:07}")
}

/// The account number of generated (extra) account `n` of unit `index`.
pub fn extra_account_no(index: u32, n: u32) -> String {
    format!("{index}9{n:06}")
}

/// A bill's id: the account and the period (`B10000001-202609`).
pub fn bill_id(account_no: &str, period: &str) -> String {
    format!("B{account_no}-{}", period.replace('-', ""))
}

fn due_date(period: &str) -> String {
    let (y, m) = period.split_once('-').unwrap_or(("2026", "10"));
    let (y, m): (i32, u32) = (y.parse().unwrap_or(2026), m.parse().unwrap_or(10));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    format!("{y:04}-{m:02}-20")
}

/// Fills a new database with the same example accounts and bills for every
/// unit: four accounts each (`{index}0000001` … `{index}0000004`), seven
/// bills of which six are open, and `extra_accounts` more with one open
/// bill each. A database seeded before is left alone.
fn seed(conn: &mut Connection, config: &SimConfig) -> rusqlite::Result<()> {
    let seeded: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'seeded'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if seeded.is_some() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for unit in &config.units {
        for a in seed_accounts() {
            let no = account_no(unit.index, a.n);
            tx.execute(
                "INSERT INTO accounts (unit, account_no, name, uscc, address, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active')",
                params![unit.code, no, a.name, a.uscc, a.address],
            )?;
            for (period, fen, paid) in a.bills {
                tx.execute(
                    "INSERT INTO bills (unit, bill_id, account_no, period, description, amount_fen,
                         due_date, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        unit.code,
                        bill_id(&no, period),
                        no,
                        period,
                        format!("{period} {}费用（示例）", unit.name),
                        fen,
                        due_date(period),
                        if *paid { "paid" } else { "open" }
                    ],
                )?;
            }
        }
        for n in 1..=config.extra_accounts.min(999_999) {
            let no = extra_account_no(unit.index, n);
            tx.execute(
                "INSERT INTO accounts (unit, account_no, name, uscc, address, status)
                 VALUES (?1, ?2, '示例压测用户（示例数据）', NULL, '示例地址', 'active')",
                params![unit.code, no],
            )?;
            tx.execute(
                "INSERT INTO bills (unit, bill_id, account_no, period, description, amount_fen,
                     due_date, status)
                 VALUES (?1, ?2, ?3, '2026-10', '2026-10 费用（示例）', 1000, '2026-11-20', 'open')",
                params![unit.code, bill_id(&no, "2026-10"), no],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('seeded', 'example data v1')",
        [],
    )?;
    tx.commit()
}

// ───────────────────────────── answers ─────────────────────────────

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn internal() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "模拟系统内部错误",
    )
}

fn sql(e: rusqlite::Error) -> Response {
    tracing::error!(error = %e, "billing simulator database");
    internal()
}

fn unknown_unit() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "没有这个公用事业单位")
}

/// Requires `Authorization: Bearer <token>` (compared in constant time).
async fn bearer(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = sim.token.as_bytes();
    let ok = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !ok {
        let mut r = error(StatusCode::UNAUTHORIZED, "unauthenticated", "令牌无效");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"billing-sim\""),
        );
        return r;
    }
    next.run(req).await
}

fn account_json(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "account_no": r.get::<_, String>(0)?,
        "name": r.get::<_, String>(1)?,
        "uscc": r.get::<_, Option<String>>(2)?,
        "address": r.get::<_, String>(3)?,
        "status": r.get::<_, String>(4)?,
    }))
}

fn take_lookup_fault(sim: &Sim) -> bool {
    let mut f = sim.faults.lock().unwrap_or_else(|e| e.into_inner());
    if f.fail_lookups_next > 0 {
        f.fail_lookups_next -= 1;
        return true;
    }
    false
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "系统繁忙，请稍后再试（模拟故障）",
    )
}

#[derive(Deserialize)]
struct AccountQuery {
    number: Option<String>,
    uscc: Option<String>,
}

fn short_param(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn find_accounts(
    State(sim): State<Sim>,
    Path(unit): Path<String>,
    Query(q): Query<AccountQuery>,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    if take_lookup_fault(&sim) {
        return unavailable();
    }
    let (number, uscc) = (short_param(&q.number), short_param(&q.uscc));
    let (column, value) = match (number, uscc) {
        (Some(n), None) if n.len() <= 32 => ("account_no", n),
        (None, Some(u)) if u.len() <= 32 => ("uscc", u.to_uppercase()),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "请只按户号（number）或统一社会信用代码（uscc）之一查询",
            );
        }
    };
    let result = sim
        .with_db(move |c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT account_no, name, uscc, address, status FROM accounts
                     WHERE unit = ?1 AND {column} = ?2 ORDER BY account_no LIMIT ?3"
                ))
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![unit, value, MAX_ACCOUNTS as i64], account_json)
                .map_err(sql)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql)?;
            Ok(rows)
        })
        .await;
    match result {
        Ok(accounts) => axum::Json(json!({ "accounts": accounts })).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct BillsQuery {
    status: Option<String>,
}

async fn bills(
    State(sim): State<Sim>,
    Path((unit, account_no)): Path<(String, String)>,
    Query(q): Query<BillsQuery>,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    if take_lookup_fault(&sim) {
        return unavailable();
    }
    let all = match q.status.as_deref().unwrap_or("open") {
        "open" => false,
        "all" => true,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "status 只能是 open 或 all",
            );
        }
    };
    let result = sim
        .with_db(move |c| {
            let exists: Option<String> = c
                .query_row(
                    "SELECT account_no FROM accounts WHERE unit = ?1 AND account_no = ?2",
                    params![unit, account_no],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            if exists.is_none() {
                return Err(error(
                    StatusCode::NOT_FOUND,
                    "account_not_found",
                    "没有这个户号",
                ));
            }
            let mut stmt = c
                .prepare(
                    "SELECT bill_id, period, description, amount_fen, due_date, status FROM bills
                     WHERE unit = ?1 AND account_no = ?2 AND (?3 OR status = 'open')
                     ORDER BY period, bill_id LIMIT 100",
                )
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![unit, account_no, all], |r| {
                    Ok(json!({
                        "bill_id": r.get::<_, String>(0)?,
                        "period": r.get::<_, String>(1)?,
                        "description": r.get::<_, String>(2)?,
                        "amount_fen": r.get::<_, i64>(3)?,
                        "due_date": r.get::<_, String>(4)?,
                        "status": r.get::<_, String>(5)?,
                    }))
                })
                .map_err(sql)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql)?;
            Ok(json!({"account_no": account_no, "bills": rows}))
        })
        .await;
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

/// What a payment request names.
struct PayRequest {
    account_no: String,
    bill_ids: Vec<String>,
    amount_fen: i64,
    channel: String,
    hall: String,
    method: String,
}

fn read_pay(body: &[u8]) -> Result<PayRequest, Response> {
    let bad = |m: &str| error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", m);
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "请求体不是 JSON 对象",
        )
    })?;
    let Some(o) = v.as_object() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "请求体不是 JSON 对象",
        ));
    };
    let text = |k: &str, required: bool| -> Result<String, Response> {
        match o.get(k) {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => Ok(s.clone()),
            None | Some(Value::Null) if !required => Ok(String::new()),
            _ => Err(bad(&format!("{k} 缺失或格式不正确"))),
        }
    };
    let account_no = text("account_no", true)?;
    let bill_ids = match o.get("bill_ids") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_BILLS => {
            let mut ids = Vec::new();
            for x in a {
                match x.as_str() {
                    Some(s) if onestop_domain::billing::bill_id_ok(s) => ids.push(s.to_owned()),
                    _ => return Err(bad("bill_ids 中有格式不正确的账单号")),
                }
            }
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() != ids.len() {
                return Err(bad("bill_ids 中有重复的账单号"));
            }
            ids
        }
        _ => return Err(bad("bill_ids 须为 1 至 24 个账单号")),
    };
    let amount_fen = match o.get("amount_fen").and_then(Value::as_i64) {
        Some(a) if (1..=onestop_domain::money::MAX_FEN).contains(&a) => a,
        _ => return Err(bad("amount_fen 须为正整数（分）")),
    };
    Ok(PayRequest {
        account_no,
        bill_ids,
        amount_fen,
        channel: text("channel", false)?,
        hall: text("hall", false)?,
        method: text("method", false)?,
    })
}

fn receipt_json(r: &rusqlite::Row<'_>, offset: UtcOffset) -> rusqlite::Result<Value> {
    let bill_ids: String = r.get(4)?;
    let paid_at: i64 = r.get(6)?;
    Ok(json!({
        "payment_id": r.get::<_, String>(0)?,
        "receipt_no": r.get::<_, String>(1)?,
        "reference": r.get::<_, String>(2)?,
        "account_no": r.get::<_, String>(3)?,
        "bill_ids": serde_json::from_str::<Value>(&bill_ids).unwrap_or(json!([])),
        "amount_fen": r.get::<_, i64>(5)?,
        "paid_at": rfc3339(paid_at, offset),
        "status": "paid",
    }))
}

const RECEIPT_COLUMNS: &str =
    "payment_id, receipt_no, reference, account_no, bill_ids, amount_fen, paid_at";

fn rfc3339(ms: i64, offset: UtcOffset) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn day_of(ms: i64, offset: UtcOffset) -> String {
    rfc3339(ms, offset)[..10].to_owned()
}

/// What happened to a payment request.
enum Paid {
    New(Value),
    Replayed(Value),
}

async fn pay(
    State(sim): State<Sim>,
    Path(unit): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(u) = sim.unit(&unit).cloned() else {
        return unknown_unit();
    };
    {
        let mut f = sim.faults.lock().unwrap_or_else(|e| e.into_inner());
        if f.fail_next > 0 {
            f.fail_next -= 1;
            let status = f
                .fail_status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return error(status, "unavailable", "系统繁忙，请稍后再试（模拟故障）");
        }
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "缺少幂等键（Idempotency-Key，1 至 64 个可见字符）",
        );
    }
    if body.len() > MAX_BODY {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "请求体过大",
        );
    }
    let req = match read_pay(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let key = key.to_owned();
    let offset = sim.offset;
    let outcome = sim
        .with_db(move |c| record_payment(c, &u, &key, &req, offset))
        .await;
    match outcome {
        Ok(Paid::Replayed(receipt)) => {
            let mut r = (StatusCode::OK, axum::Json(receipt)).into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Ok(Paid::New(receipt)) => {
            let (drop_it, delay) = {
                let mut f = sim.faults.lock().unwrap_or_else(|e| e.into_inner());
                if f.drop_next > 0 {
                    f.drop_next -= 1;
                    (true, None)
                } else if f.delay_next > 0 {
                    f.delay_next -= 1;
                    (false, Some(Duration::from_millis(f.delay_ms)))
                } else {
                    (false, None)
                }
            };
            if drop_it {
                tracing::info!("billing simulator: payment recorded, answer dropped (fault)");
                return broken_answer();
            }
            if let Some(d) = delay {
                tracing::info!(
                    delay_ms = d.as_millis() as u64,
                    "billing simulator: payment recorded, answer delayed (fault)"
                );
                tokio::time::sleep(d).await;
            }
            (StatusCode::CREATED, axum::Json(receipt)).into_response()
        }
        Err(r) => r,
    }
}

fn record_payment(
    c: &mut Connection,
    unit: &SimUnit,
    key: &str,
    req: &PayRequest,
    offset: UtcOffset,
) -> Result<Paid, Response> {
    let mut sorted = req.bill_ids.clone();
    sorted.sort();
    let fingerprint = format!("{}|{}|{}", req.account_no, sorted.join(","), req.amount_fen);
    let tx = c.transaction().map_err(sql)?;
    let earlier: Option<(String, String)> = tx
        .query_row(
            "SELECT payment_id, fingerprint FROM payments WHERE unit = ?1 AND reference = ?2",
            params![unit.code, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql)?;
    if let Some((payment_id, earlier_fingerprint)) = earlier {
        if earlier_fingerprint != fingerprint {
            return Err(error(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "该幂等键已用于另一笔缴费",
            ));
        }
        let receipt = tx
            .query_row(
                &format!(
                    "SELECT {RECEIPT_COLUMNS} FROM payments WHERE unit = ?1 AND payment_id = ?2"
                ),
                params![unit.code, payment_id],
                |r| receipt_json(r, offset),
            )
            .map_err(sql)?;
        return Ok(Paid::Replayed(receipt));
    }
    let account: Option<String> = tx
        .query_row(
            "SELECT status FROM accounts WHERE unit = ?1 AND account_no = ?2",
            params![unit.code, req.account_no],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    if account.is_none() {
        return Err(error(
            StatusCode::NOT_FOUND,
            "account_not_found",
            "没有这个户号",
        ));
    }
    let mut total = 0i64;
    for id in &req.bill_ids {
        let bill: Option<(String, i64, String)> = tx
            .query_row(
                "SELECT account_no, amount_fen, status FROM bills WHERE unit = ?1 AND bill_id = ?2",
                params![unit.code, id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sql)?;
        match bill {
            Some((acc, fen, status)) if acc == req.account_no && status == "open" => total += fen,
            _ => {
                return Err(error(
                    StatusCode::CONFLICT,
                    "bill_not_open",
                    &format!("账单 {id} 不是该户号的待缴账单（可能已缴清）"),
                ));
            }
        }
    }
    if total != req.amount_fen {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_mismatch",
            &format!(
                "金额与账单合计不符：账单合计 {total} 分，请求 {} 分",
                req.amount_fen
            ),
        ));
    }
    let seq: i64 = tx
        .query_row(
            "INSERT INTO counters (unit, next) VALUES (?1, 1)
             ON CONFLICT (unit) DO UPDATE SET next = next + 1 RETURNING next",
            params![unit.code],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let paid_at = now_ms();
    let day = day_of(paid_at, offset);
    let payment_id = format!("PAY{}{seq:08}", unit.index);
    let receipt_no = format!("SJ{}{}{seq:06}", day.replace('-', ""), unit.index);
    let bill_ids = serde_json::to_string(&req.bill_ids).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO payments (unit, payment_id, reference, fingerprint, account_no, bill_ids,
             amount_fen, channel, hall, method, paid_at, day, receipt_no)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            unit.code,
            payment_id,
            key,
            fingerprint,
            req.account_no,
            bill_ids,
            req.amount_fen,
            if req.channel.is_empty() {
                "onestop"
            } else {
                req.channel.as_str()
            },
            req.hall,
            req.method,
            paid_at,
            day,
            receipt_no
        ],
    )
    .map_err(sql)?;
    for id in &req.bill_ids {
        tx.execute(
            "UPDATE bills SET status = 'paid', payment_id = ?3 WHERE unit = ?1 AND bill_id = ?2",
            params![unit.code, id, payment_id],
        )
        .map_err(sql)?;
    }
    let receipt = tx
        .query_row(
            &format!("SELECT {RECEIPT_COLUMNS} FROM payments WHERE unit = ?1 AND payment_id = ?2"),
            params![unit.code, payment_id],
            |r| receipt_json(r, offset),
        )
        .map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(Paid::New(receipt))
}

/// A body that fails at once: the server breaks the connection, and the
/// client gets no answer (the payment is recorded all the same).
struct Broken;

impl http_body::Body for Broken {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other("simulated lost answer"))))
    }
}

fn broken_answer() -> Response {
    let mut r = Response::new(Body::new(Broken));
    *r.status_mut() = StatusCode::CREATED;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("256"));
    r
}

async fn payment(
    State(sim): State<Sim>,
    Path((unit, payment_id)): Path<(String, String)>,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    let offset = sim.offset;
    let r = sim
        .with_db(move |c| {
            c.query_row(
                &format!(
                    "SELECT {RECEIPT_COLUMNS} FROM payments WHERE unit = ?1 AND payment_id = ?2"
                ),
                params![unit, payment_id],
                |r| receipt_json(r, offset),
            )
            .optional()
            .map_err(sql)
        })
        .await;
    match r {
        Ok(Some(v)) => axum::Json(v).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "payment_not_found", "没有这笔缴费"),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ReconciliationQuery {
    date: Option<String>,
    page: Option<String>,
}

async fn reconciliation(
    State(sim): State<Sim>,
    Path(unit): Path<String>,
    Query(q): Query<ReconciliationQuery>,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    let Some(date) = q
        .date
        .as_deref()
        .filter(|d| onestop_domain::timefmt::parse_date(d).is_some())
        .map(str::to_owned)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "date 须为 YYYY-MM-DD",
        );
    };
    let page = match q.page.as_deref() {
        None | Some("") => 1,
        Some(p) => match p.parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "page 须为 1 至 10000",
                );
            }
        },
    };
    let offset = sim.offset;
    let r = sim
        .with_db(move |c| {
            let (count, total): (i64, i64) = c
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM payments
                     WHERE unit = ?1 AND day = ?2 AND channel = 'onestop'",
                    params![unit, date],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(sql)?;
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {RECEIPT_COLUMNS} FROM payments
                     WHERE unit = ?1 AND day = ?2 AND channel = 'onestop'
                     ORDER BY paid_at, payment_id LIMIT ?3 OFFSET ?4"
                ))
                .map_err(sql)?;
            let size = RECONCILIATION_PAGE as i64;
            let rows = stmt
                .query_map(params![unit, date, size, (page - 1) * size], |r| {
                    receipt_json(r, offset)
                })
                .map_err(sql)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql)?;
            let next = (page * size < count).then_some(page + 1);
            Ok(json!({
                "date": date,
                "count": count,
                "total_fen": total,
                "payments": rows,
                "next_page": next,
            }))
        })
        .await;
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

// ───────────────────────────── test knobs ─────────────────────────────

async fn get_faults(State(sim): State<Sim>) -> Response {
    let f = sim.faults.lock().unwrap_or_else(|e| e.into_inner()).clone();
    axum::Json(f).into_response()
}

async fn post_faults(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            sim.set_faults(f.clone());
            axum::Json(f).into_response()
        }
        Err(e) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            &e.to_string(),
        ),
    }
}

#[derive(Deserialize)]
struct SimPaymentsQuery {
    reference: Option<String>,
    account_no: Option<String>,
}

/// Every payment the simulator holds of a unit (filtered by reference or
/// account): how tests check that a payment was made exactly once.
async fn sim_payments(
    State(sim): State<Sim>,
    Path(unit): Path<String>,
    Query(q): Query<SimPaymentsQuery>,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    let offset = sim.offset;
    let r = sim
        .with_db(move |c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {RECEIPT_COLUMNS} FROM payments WHERE unit = ?1
                     AND (?2 IS NULL OR reference = ?2) AND (?3 IS NULL OR account_no = ?3)
                     ORDER BY paid_at, payment_id LIMIT 1000"
                ))
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![unit, q.reference, q.account_no], |r| {
                    receipt_json(r, offset)
                })
                .map_err(sql)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql)?;
            Ok(json!({ "payments": rows }))
        })
        .await;
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Inject {
    reference: String,
    account_no: String,
    amount_fen: i64,
    /// RFC 3339; now when absent.
    paid_at: Option<String>,
}

/// Adds a payment the platform never sent (an "unknown to us" difference).
async fn sim_inject(
    State(sim): State<Sim>,
    Path(unit): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(u) = sim.unit(&unit).cloned() else {
        return unknown_unit();
    };
    let Ok(i) = serde_json::from_slice::<Inject>(&body) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "须有 reference、account_no、amount_fen",
        );
    };
    let paid_at = match i.paid_at.as_deref() {
        None => now_ms(),
        Some(t) => match onestop_domain::timefmt::parse(t) {
            Some(t) => onestop_domain::timefmt::to_ms(t),
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    "paid_at 须为 RFC 3339 时间",
                );
            }
        },
    };
    let offset = sim.offset;
    let r = sim
        .with_db(move |c| {
            let tx = c.transaction().map_err(sql)?;
            let seq: i64 = tx
                .query_row(
                    "INSERT INTO counters (unit, next) VALUES (?1, 1)
                     ON CONFLICT (unit) DO UPDATE SET next = next + 1 RETURNING next",
                    params![u.code],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            let day = day_of(paid_at, offset);
            let payment_id = format!("PAY{}{seq:08}", u.index);
            let receipt_no = format!("SJ{}{}{seq:06}", day.replace('-', ""), u.index);
            tx.execute(
                "INSERT INTO payments (unit, payment_id, reference, fingerprint, account_no,
                     bill_ids, amount_fen, channel, hall, method, paid_at, day, receipt_no)
                 VALUES (?1, ?2, ?3, 'injected', ?4, '[]', ?5, 'onestop', '', '', ?6, ?7, ?8)",
                params![
                    u.code,
                    payment_id,
                    i.reference,
                    i.account_no,
                    i.amount_fen,
                    paid_at,
                    day,
                    receipt_no
                ],
            )
            .map_err(|_| {
                error(
                    StatusCode::CONFLICT,
                    "idempotency_conflict",
                    "该 reference 已存在",
                )
            })?;
            let receipt = tx
                .query_row(
                    &format!(
                        "SELECT {RECEIPT_COLUMNS} FROM payments WHERE unit = ?1 AND payment_id = ?2"
                    ),
                    params![u.code, payment_id],
                    |r| receipt_json(r, offset),
                )
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(receipt)
        })
        .await;
    match r {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(r) => r,
    }
}

/// Removes a payment (its bills open again): "missing at the utility".
async fn sim_forget(
    State(sim): State<Sim>,
    Path((unit, reference)): Path<(String, String)>,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    let r = sim
        .with_db(move |c| {
            let tx = c.transaction().map_err(sql)?;
            let id: Option<String> = tx
                .query_row(
                    "SELECT payment_id FROM payments WHERE unit = ?1 AND reference = ?2",
                    params![unit, reference],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            let Some(id) = id else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE bills SET status = 'open', payment_id = NULL WHERE unit = ?1 AND payment_id = ?2",
                params![unit, id],
            )
            .map_err(sql)?;
            tx.execute(
                "DELETE FROM payments WHERE unit = ?1 AND payment_id = ?2",
                params![unit, id],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(true)
        })
        .await;
    match r {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "payment_not_found", "没有这笔缴费"),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAmount {
    amount_fen: i64,
}

/// Changes a recorded payment's amount: "an amount that differs".
async fn sim_amount(
    State(sim): State<Sim>,
    Path((unit, reference)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if sim.unit(&unit).is_none() {
        return unknown_unit();
    }
    let Ok(a) = serde_json::from_slice::<NewAmount>(&body) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "须有 amount_fen",
        );
    };
    let r = sim
        .with_db(move |c| {
            c.execute(
                "UPDATE payments SET amount_fen = ?3 WHERE unit = ?1 AND reference = ?2",
                params![unit, reference, a.amount_fen],
            )
            .map_err(sql)
        })
        .await;
    match r {
        Ok(1) => StatusCode::NO_CONTENT.into_response(),
        Ok(_) => error(StatusCode::NOT_FOUND, "payment_not_found", "没有这笔缴费"),
        Err(r) => r,
    }
}

/// The default database file in a data folder.
pub fn default_db_path(data_dir: &FsPath) -> PathBuf {
    data_dir.join("billing-sim.sqlite3")
}

/// The seeded example data, for tests: `(account_no, open bills as
/// (bill_id, amount_fen))` of unit number `index`.
pub fn seeded_open_bills(index: u32) -> HashMap<String, Vec<(String, i64)>> {
    let mut out = HashMap::new();
    for a in seed_accounts() {
        let no = account_no(index, a.n);
        let bills = a
            .bills
            .iter()
            .filter(|(_, _, paid)| !paid)
            .map(|(p, fen, _)| (bill_id(&no, p), *fen))
            .collect();
        out.insert(no, bills);
    }
    out
}
