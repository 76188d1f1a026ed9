//! The window's payment pages (缴费) for clerks, and reconciliation (缴费对账)
//! for administrators. Thin: the use cases are in `crate::app::billing`.
//!
//! - `/counter/billing`: find a customer's accounts at every utility by
//!   account number or USCC;
//! - `/counter/billing/accounts/{unit}/{no}`: the open bills, chosen with
//!   the way of paying; `…/confirm` shows the sum to collect (¥, two
//!   decimals) before anything is taken; `…/payments` (POST) takes it and
//!   sends the browser to the payment's page (POST-redirect-GET), whose
//!   state goes from 缴费处理中 to 已缴费 (with the printable receipt);
//! - `/counter/billing/payments`: a day's payments of the clerk's halls;
//! - `/admin/reconciliation`: reconcile a utility's day, and each run's
//!   differences in words.
//!
//! A refused form comes back with what was chosen or typed kept.

use crate::AppState;
use crate::app::billing::{self as uc, AccountBills, PaymentInput, PaymentView, RunView, Taken};
use crate::app::error::Error;
use crate::auth::Caller;
use crate::texts::{self, billing as t};
use crate::web::Failure;
use crate::web::form::{PageFields, PageForm, Spec};
use crate::web::{Nav, error_page, failure_page, not_found_page, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::billing::{
    DifferenceKind, Lookup, MAX_BILLS_PER_PAYMENT, PaymentMethod, PaymentStatus, RunStatus,
};
use onestop_domain::money::{self, yuan};
use onestop_domain::timefmt;
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/counter/billing", get(counter))
        .route("/counter/billing/payments", get(day_page))
        .route("/counter/billing/payments/{id}", get(payment_page))
        .route(
            "/counter/billing/accounts/{unit}/{account_no}",
            get(bills_page),
        )
        .route(
            "/counter/billing/accounts/{unit}/{account_no}/confirm",
            get(confirm_page),
        )
        .route(
            "/counter/billing/accounts/{unit}/{account_no}/payments",
            axum::routing::post(pay),
        )
        .route(
            "/admin/reconciliation",
            get(reconciliation_page).post(reconciliation_run),
        )
        .route("/admin/reconciliation/{id}", get(run_page))
}

const COUNTER: &str = "/counter/billing";
const RECONCILIATION: &str = "/admin/reconciliation";

fn gate(caller: &Caller, cap: Capability, back: &str) -> Option<Response> {
    crate::web::gate(caller, cap, back)
}

/// The query's pairs (at most 64, each value at most 256 bytes; the rest
/// is not looked at).
fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    pairs
        .into_iter()
        .take(64)
        .filter(|(k, v)| k.len() <= 32 && v.len() <= 256)
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

fn when(state: &AppState, rfc3339: &str) -> String {
    timefmt::parse(rfc3339)
        .map(|t| timefmt::when_zh(t, state.offset))
        .unwrap_or_default()
}

fn account_href(unit: &str, no: &str) -> String {
    format!("{COUNTER}/accounts/{unit}/{no}")
}

fn sandbox_note(state: &AppState) -> bool {
    uc::any_sandbox(state)
}

// ───────────────────────────── the lookup ─────────────────────────────

/// An account as the lookup lists it.
pub struct AccountRow {
    pub unit: String,
    pub account_no: String,
    pub name: String,
    pub address: String,
    pub inactive: bool,
    pub href: String,
}

/// The clerk's halls for the choice, by name; `chosen` (or the only one)
/// selected.
fn hall_choices(state: &AppState, halls: &[String], chosen: Option<&String>) -> Vec<HallChoice> {
    halls
        .iter()
        .map(|h| HallChoice {
            name: crate::app::halls::name_of(state, h),
            code: h.clone(),
            selected: Some(h) == chosen || halls.len() == 1,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "billing_counter.html")]
struct CounterPage {
    nav: Nav,
    sandbox: bool,
    configured: bool,
    q: String,
    q_error: Option<String>,
    searched: bool,
    accounts: Vec<AccountRow>,
    unavailable: String,
}

async fn counter(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, Capability::TakePayments, COUNTER) {
        return r;
    }
    let pairs = pairs(raw.as_deref());
    let q: String = first(&pairs, "q").unwrap_or("").chars().take(40).collect();
    let configured = !state.billing.is_empty();
    let mut page = CounterPage {
        nav: Nav::default(),
        sandbox: sandbox_note(&state),
        configured,
        q: q.clone(),
        q_error: None,
        searched: false,
        accounts: Vec::new(),
        unavailable: String::new(),
    };
    let mut status = StatusCode::OK;
    if !q.is_empty() && configured {
        match Lookup::parse(&q) {
            None => {
                page.q_error = Some(t::LOOKUP_INVALID.to_owned());
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Some(by) => match uc::lookup(&state, &caller, &by, None).await {
                Ok(found) => {
                    page.searched = true;
                    page.accounts = found
                        .items
                        .into_iter()
                        .map(|a| AccountRow {
                            href: account_href(&a.unit.code, &a.account_no),
                            unit: a.unit.name,
                            inactive: a.status != "active",
                            account_no: a.account_no,
                            name: a.name,
                            address: a.address,
                        })
                        .collect();
                    page.unavailable =
                        crate::web::list(found.unavailable.iter().map(|u| u.name.as_str()));
                }
                Err(e) => return failure_page(e),
            },
        }
    }
    let csrf = caller.csrf_token();
    page.nav = Nav::for_caller(&caller, &csrf);
    respond(&caller, &csrf, status, &page)
}

// ───────────────────────────── bills and the confirmation ─────────────────────────────

/// A bill as the pages show it.
pub struct BillRow {
    pub id: String,
    pub period: String,
    pub description: String,
    pub amount: String,
    pub due: String,
    pub checked: bool,
}

/// A way of paying, for the radio buttons.
pub struct MethodChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

fn methods(chosen: Option<PaymentMethod>) -> Vec<MethodChoice> {
    PaymentMethod::ALL
        .iter()
        .map(|m| MethodChoice {
            code: m.as_str(),
            label: m.label_zh(),
            checked: chosen.unwrap_or(PaymentMethod::Cash) == *m,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "billing_bills.html")]
struct BillsPage {
    nav: Nav,
    sandbox: bool,
    unit_name: String,
    account_no: String,
    name: String,
    address: String,
    bills: Vec<BillRow>,
    total: String,
    methods: Vec<MethodChoice>,
    received: String,
    errors: BTreeMap<String, String>,
    confirm_href: String,
}

/// What the clerk chose on the bills page (or sent back from the
/// confirmation).
struct Choice {
    bills: Vec<String>,
    method: Option<PaymentMethod>,
    received: String,
}

impl Choice {
    fn of(pairs: &[(String, String)]) -> Choice {
        let mut bills: Vec<String> = Vec::new();
        for (k, v) in pairs {
            if k == "bill" && !bills.contains(v) && bills.len() < MAX_BILLS_PER_PAYMENT + 1 {
                bills.push(v.clone());
            }
        }
        Choice {
            bills,
            method: first(pairs, "method").and_then(PaymentMethod::parse),
            received: first(pairs, "received")
                .unwrap_or("")
                .chars()
                .take(20)
                .collect(),
        }
    }
}

fn render_bills(
    state: &AppState,
    caller: &Caller,
    ab: AccountBills,
    choice: Option<&Choice>,
    errors: BTreeMap<String, String>,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let bills = ab
        .bills
        .iter()
        .map(|b| BillRow {
            id: b.bill_id.clone(),
            period: b.period.clone(),
            description: b.description.clone(),
            amount: yuan(b.amount_fen),
            due: b
                .due_date
                .as_deref()
                .and_then(timefmt::parse_date)
                .map(crate::web::date_zh)
                .unwrap_or_default(),
            // Every open bill is ticked until the clerk chooses otherwise.
            checked: choice.is_none_or(|c| c.bills.contains(&b.bill_id)),
        })
        .collect();
    let unit = ab.account.unit.code.clone();
    let csrf = caller.csrf_token();
    let page = BillsPage {
        nav: Nav::for_caller(caller, &csrf),
        sandbox: ab.account.sandbox,
        confirm_href: format!("{}/confirm", account_href(&unit, &ab.account.account_no)),
        unit_name: ab.account.unit.name.clone(),
        account_no: ab.account.account_no.clone(),
        name: ab.account.name.clone(),
        address: ab.account.address.clone(),
        bills,
        total: yuan(ab.total_fen),
        methods: methods(choice.and_then(|c| c.method)),
        received: choice.map(|c| c.received.clone()).unwrap_or_default(),
        errors,
    };
    let _ = state;
    respond(caller, &csrf, status, &page)
}

async fn bills_page(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit, account_no)): Path<(String, String)>,
) -> Response {
    let back = account_href(&unit, &account_no);
    if let Some(r) = gate(&caller, Capability::TakePayments, &back) {
        return r;
    }
    match uc::account_bills(&state, &caller, &unit, &account_no).await {
        Ok(ab) => render_bills(&state, &caller, ab, None, BTreeMap::new()),
        Err(Error::NotFound) => not_found_page(),
        Err(e) => failure_page(e),
    }
}

/// A hall, for the choice on the confirmation.
pub struct HallChoice {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "billing_confirm.html")]
struct ConfirmPage {
    nav: Nav,
    csrf: String,
    sandbox: bool,
    unit_name: String,
    account_no: String,
    name: String,
    bills: Vec<BillRow>,
    amount: String,
    amount_fen: i64,
    method: &'static str,
    method_code: &'static str,
    received: Option<String>,
    received_fen: Option<i64>,
    change: Option<String>,
    halls: Vec<HallChoice>,
    key: String,
    action: String,
    back: String,
    message: Option<String>,
    bills_changed: bool,
    /// The bills' periods and amounts are known (not after a refusal).
    bills_known: bool,
}

/// The confirmation: the chosen bills (read from the utility again), the
/// sum to collect, the way of paying, the cash handed over and the change.
async fn confirm_page(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit, account_no)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let back = account_href(&unit, &account_no);
    if let Some(r) = gate(&caller, Capability::TakePayments, &back) {
        return r;
    }
    let pairs = pairs(raw.as_deref());
    let choice = Choice::of(&pairs);
    let ab = match uc::account_bills(&state, &caller, &unit, &account_no).await {
        Ok(ab) => ab,
        Err(Error::NotFound) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let mut errors = BTreeMap::new();
    let chosen: Vec<_> = ab
        .bills
        .iter()
        .filter(|b| choice.bills.contains(&b.bill_id))
        .cloned()
        .collect();
    if choice.bills.is_empty() {
        errors.insert("bill".to_owned(), t::BILLS_REQUIRED.to_owned());
    } else if chosen.len() != choice.bills.len() {
        // A bill chosen is no longer open (paid elsewhere meanwhile).
        errors.insert("bill".to_owned(), t::BILLS_CHANGED.to_owned());
    }
    if choice.bills.len() > MAX_BILLS_PER_PAYMENT {
        errors.insert(
            "bill".to_owned(),
            texts::fill(t::BILLS_TOO_MANY, &[("n", &MAX_BILLS_PER_PAYMENT)]),
        );
    }
    let Some(method) = choice.method else {
        errors.insert("method".to_owned(), t::METHOD_UNKNOWN.to_owned());
        return render_bills(&state, &caller, ab, Some(&choice), errors);
    };
    let amount_fen: i64 = chosen.iter().map(|b| b.amount_fen).sum();
    let received_fen = if choice.received.trim().is_empty() {
        None
    } else if method != PaymentMethod::Cash {
        errors.insert("received".to_owned(), t::RECEIVED_CASH_ONLY.to_owned());
        None
    } else {
        match money::parse_yuan(&choice.received) {
            Ok(r) if r >= amount_fen => Some(r),
            Ok(_) => {
                errors.insert("received".to_owned(), t::RECEIVED_TOO_LITTLE.to_owned());
                None
            }
            Err(e) => {
                errors.insert(
                    "received".to_owned(),
                    texts::fill(t::RECEIVED_FORMAT, &[("reason", &e.message_zh())]),
                );
                None
            }
        }
    };
    if !errors.is_empty() {
        return render_bills(&state, &caller, ab, Some(&choice), errors);
    }
    let halls = uc::halls_of(&caller);
    let key = crate::auth::random_hex(16);
    let csrf = caller.csrf_token();
    let page = ConfirmPage {
        nav: Nav::for_caller(&caller, &csrf),
        csrf: csrf.clone(),
        sandbox: ab.account.sandbox,
        unit_name: ab.account.unit.name.clone(),
        account_no: ab.account.account_no.clone(),
        name: ab.account.name.clone(),
        bills: chosen
            .iter()
            .map(|b| BillRow {
                id: b.bill_id.clone(),
                period: b.period.clone(),
                description: b.description.clone(),
                amount: yuan(b.amount_fen),
                due: String::new(),
                checked: true,
            })
            .collect(),
        amount: yuan(amount_fen),
        amount_fen,
        method: method.label_zh(),
        method_code: method.as_str(),
        received: received_fen.map(yuan),
        received_fen,
        change: received_fen.map(|r| yuan(r - amount_fen)),
        halls: hall_choices(&state, &halls, None),
        key,
        action: format!("{back}/payments"),
        back,
        message: None,
        bills_changed: false,
        bills_known: true,
    };
    respond(&caller, &csrf, StatusCode::OK, &page)
}

/// The confirmation form.
struct PayFields;

impl PageFields for PayFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new()
            .fields(&["amount_fen", "method", "received_fen", "key", "hall"])
            .many("bill", MAX_BILLS_PER_PAYMENT)
    }

    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        gate(caller, Capability::TakePayments, COUNTER)
    }
}

/// Takes the payment, then shows its page (POST-redirect-GET). A refusal
/// shows the confirmation again, as it was, with the reason.
async fn pay(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit, account_no)): Path<(String, String)>,
    form: PageForm<PayFields>,
) -> Response {
    let bills = form.all("bill");
    let amount_fen = form
        .get("amount_fen")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let method = form.get("method").and_then(PaymentMethod::parse);
    let received_fen = form
        .get("received_fen")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse::<i64>().ok());
    let hall = form
        .get("hall")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    let key = form.text("key");
    let Some(method) = method else {
        return error_page(StatusCode::BAD_REQUEST, t::METHOD_UNKNOWN);
    };
    let input = PaymentInput {
        hall: hall.clone(),
        unit: unit.clone(),
        account_no: account_no.clone(),
        bill_ids: bills.clone(),
        amount_fen,
        method,
        received_fen,
        form_key: Some(key.clone()),
    };
    match uc::take_payment(&state, &caller, input, None).await {
        Ok(Taken::New { payment, .. }) | Ok(Taken::Again(payment)) => {
            Redirect::to(&format!("{COUNTER}/payments/{}", payment.id)).into_response()
        }
        Ok(Taken::Replayed(_)) => Redirect::to(COUNTER).into_response(),
        Err(e) => {
            // The confirmation again, as it was, with the reason; the bills
            // as confirmed (the utility may no longer have them open).
            let back = account_href(&unit, &account_no);
            let halls = uc::halls_of(&caller);
            let csrf = caller.csrf_token();
            let message = match &e {
                Error::Invalid(fields) => Some(
                    fields
                        .iter()
                        .map(|f| f.message.as_str())
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
                _ => Some(e.message()),
            };
            let page = ConfirmPage {
                nav: Nav::for_caller(&caller, &csrf),
                csrf: csrf.clone(),
                sandbox: state.config.billing_of(&unit).is_some_and(|b| b.sandbox),
                unit_name: uc::unit_name(&state, &unit),
                account_no: account_no.clone(),
                name: String::new(),
                bills: bills
                    .iter()
                    .map(|b| BillRow {
                        id: b.clone(),
                        period: String::new(),
                        description: String::new(),
                        amount: String::new(),
                        due: String::new(),
                        checked: true,
                    })
                    .collect(),
                amount: yuan(amount_fen),
                amount_fen,
                method: method.label_zh(),
                method_code: method.as_str(),
                received: received_fen.map(yuan),
                received_fen,
                change: received_fen.map(|r| yuan(r - amount_fen)),
                halls: hall_choices(&state, &halls, hall.as_ref()),
                key,
                action: format!("{back}/payments"),
                back,
                message,
                bills_changed: e.code() == "bills_changed",
                bills_known: false,
            };
            respond(&caller, &csrf, e.status(), &page)
        }
    }
}

// ───────────────────────────── a payment ─────────────────────────────

/// A payment as its page and the day's list show it.
pub struct PaymentRow {
    pub id: String,
    pub status_code: &'static str,
    pub status: &'static str,
    pub unit: String,
    pub account_no: String,
    pub account_name: String,
    pub bills: Vec<(String, String)>,
    pub amount: String,
    pub method: &'static str,
    pub received: Option<String>,
    pub change: Option<String>,
    pub taken: String,
    pub taken_clock: String,
    pub hall: String,
    pub clerk: String,
    pub receipt_no: String,
    pub paid_at: String,
    pub failure: String,
    pub attempts: i64,
    pub sandbox: bool,
}

fn payment_row(state: &AppState, p: &PaymentView) -> PaymentRow {
    let taken_at = timefmt::parse(&p.taken_at);
    PaymentRow {
        id: p.id.clone(),
        status_code: p.status.as_str(),
        status: p.status.label_zh(),
        unit: p.unit.name.clone(),
        account_no: p.account_no.clone(),
        account_name: p.account_name.clone(),
        bills: p
            .bills
            .iter()
            .map(|b| (b.period.clone(), yuan(b.amount_fen)))
            .collect(),
        amount: yuan(p.amount_fen),
        method: p.method.label_zh(),
        received: p.received_fen.map(yuan),
        change: p.change_fen.map(yuan),
        taken: when(state, &p.taken_at),
        taken_clock: taken_at
            .map(|t| {
                let t = t.to_offset(state.offset);
                format!("{:02}:{:02}", t.hour(), t.minute())
            })
            .unwrap_or_default(),
        hall: crate::app::halls::name_of(state, &p.hall),
        clerk: p.clerk_name.clone(),
        receipt_no: p
            .receipt
            .as_ref()
            .map(|r| r.receipt_no.clone())
            .unwrap_or_default(),
        paid_at: p
            .receipt
            .as_ref()
            .map(|r| when(state, &r.paid_at))
            .unwrap_or_default(),
        failure: p
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default(),
        attempts: p.attempts,
        sandbox: p.sandbox,
    }
}

#[derive(Template)]
#[template(path = "billing_payment.html")]
struct PaymentPage {
    nav: Nav,
    p: PaymentRow,
    pending: bool,
    paid: bool,
    failed: bool,
    may_take: bool,
}

async fn payment_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let back = format!("{COUNTER}/payments/{id}");
    if let Some(r) = gate(&caller, Capability::ReadPayments, &back) {
        return r;
    }
    match uc::payment(&state, &caller, &id).await {
        Ok(Some(p)) => {
            let csrf = caller.csrf_token();
            let page = PaymentPage {
                nav: Nav::for_caller(&caller, &csrf),
                pending: p.status == PaymentStatus::Pending,
                paid: p.status == PaymentStatus::Paid,
                failed: p.status == PaymentStatus::Failed,
                may_take: caller.subject.may(Capability::TakePayments),
                p: payment_row(&state, &p),
            };
            respond(&caller, &csrf, StatusCode::OK, &page)
        }
        Ok(None) => not_found_page(),
        Err(e) => failure_page(e),
    }
}

#[derive(Template)]
#[template(path = "billing_payments.html")]
struct DayPage {
    nav: Nav,
    date: String,
    date_text: String,
    date_error: Option<String>,
    rows: Vec<PaymentRow>,
    count: i64,
    amount: String,
    paid_count: i64,
    paid_amount: String,
    may_take: bool,
}

async fn day_page(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    let back = format!("{COUNTER}/payments");
    if let Some(r) = gate(&caller, Capability::ReadPayments, &back) {
        return r;
    }
    let pairs = pairs(raw.as_deref());
    let typed = first(&pairs, "date").unwrap_or("").to_owned();
    let (day, date_error) = match typed.as_str() {
        "" => (uc::today(&state), None),
        d => match timefmt::parse_date(d) {
            Some(d) => (d, None),
            None => (uc::today(&state), Some(t::DATE_FORMAT.to_owned())),
        },
    };
    let list = match uc::payments_of_day(&state, &caller, day, None).await {
        Ok(l) => l,
        Err(e) => return failure_page(e),
    };
    let csrf = caller.csrf_token();
    let page = DayPage {
        nav: Nav::for_caller(&caller, &csrf),
        date: if date_error.is_some() {
            typed
        } else {
            day.to_string()
        },
        date_text: crate::web::date_zh(day),
        date_error: date_error.clone(),
        rows: list.items.iter().map(|p| payment_row(&state, p)).collect(),
        count: list.count,
        amount: yuan(list.amount_fen),
        paid_count: list.paid_count,
        paid_amount: yuan(list.paid_fen),
        may_take: caller.subject.may(Capability::TakePayments),
    };
    let status = if date_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(&caller, &csrf, status, &page)
}

// ───────────────────────────── reconciliation ─────────────────────────────

/// A run as the pages list it.
pub struct RunRow {
    pub id: String,
    pub unit: String,
    pub date: String,
    pub run_at: String,
    pub daily: bool,
    pub balanced: bool,
    pub result: String,
    pub ours: String,
    pub theirs: String,
    pub matched: i64,
}

fn run_row(state: &AppState, r: &RunView) -> RunRow {
    RunRow {
        id: r.id.clone(),
        unit: r.unit.name.clone(),
        date: timefmt::parse_date(&r.date)
            .map(crate::web::date_zh)
            .unwrap_or_default(),
        run_at: when(state, &r.run_at),
        daily: r.kind == "daily",
        balanced: r.status == RunStatus::Balanced,
        result: if r.status == RunStatus::Balanced {
            r.status.label_zh().to_owned()
        } else {
            texts::fill(t::RUN_DIFFERENCES, &[("n", &r.difference_count)])
        },
        ours: texts::fill(
            t::TALLY,
            &[("n", &r.ours.count), ("amount", &yuan(r.ours.amount_fen))],
        ),
        theirs: texts::fill(
            t::TALLY,
            &[
                ("n", &r.theirs.count),
                ("amount", &yuan(r.theirs.amount_fen)),
            ],
        ),
        matched: r.matched,
    }
}

#[derive(Template)]
#[template(path = "billing_reconciliation.html")]
struct ReconciliationPage {
    nav: Nav,
    csrf: String,
    sandbox: bool,
    units: Vec<(String, String, bool)>,
    date: String,
    date_text: String,
    errors: BTreeMap<String, String>,
    message: Option<String>,
    runs: Vec<RunRow>,
    pending: Option<String>,
}

async fn render_reconciliation(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    unit: &str,
    date: &str,
    errors: BTreeMap<String, String>,
    message: Option<String>,
) -> Response {
    let day = timefmt::parse_date(date);
    let runs = match uc::runs(state, caller, day, None).await {
        Ok(r) => r,
        Err(e) => return failure_page(e),
    };
    let pending = match uc::pending(state).await {
        Ok((0, _)) => None,
        Ok((n, since)) => Some(texts::fill(
            t::PENDING_NOTE,
            &[
                ("n", &n),
                (
                    "since",
                    &since
                        .map(|ms| crate::web::staff::when_ms(state, ms))
                        .unwrap_or_default(),
                ),
            ],
        )),
        Err(e) => return failure_page(e),
    };
    let units = uc::billing_units(state)
        .into_iter()
        .map(|u| {
            let selected = u.code == unit;
            (u.code, u.name, selected)
        })
        .collect();
    let csrf = caller.csrf_token();
    let page = ReconciliationPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        sandbox: sandbox_note(state),
        units,
        date: date.to_owned(),
        date_text: day.map(crate::web::date_zh).unwrap_or_default(),
        errors,
        message,
        runs: runs.iter().map(|r| run_row(state, r)).collect(),
        pending,
    };
    respond(caller, &csrf, status, &page)
}

async fn reconciliation_page(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ReconcilePayments, RECONCILIATION) {
        return r;
    }
    let pairs = pairs(raw.as_deref());
    let yesterday = uc::today(&state)
        .previous_day()
        .unwrap_or_else(|| uc::today(&state));
    let date = match first(&pairs, "date").and_then(timefmt::parse_date) {
        Some(d) => d,
        None => yesterday,
    };
    let unit = first(&pairs, "unit").unwrap_or("").to_owned();
    render_reconciliation(
        &state,
        &caller,
        StatusCode::OK,
        &unit,
        &date.to_string(),
        BTreeMap::new(),
        None,
    )
    .await
}

/// The reconciliation form.
struct ReconcileFields;

impl PageFields for ReconcileFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["unit", "date"])
    }

    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        gate(caller, Capability::ReconcilePayments, RECONCILIATION)
    }
}

async fn reconciliation_run(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<ReconcileFields>,
) -> Response {
    let unit: String = form.text("unit").chars().take(32).collect();
    let date: String = form.text("date").trim().chars().take(10).collect();
    let Some(day) = timefmt::parse_date(&date) else {
        let errors = BTreeMap::from([("date".to_owned(), t::DATE_FORMAT.to_owned())]);
        return render_reconciliation(
            &state,
            &caller,
            StatusCode::UNPROCESSABLE_ENTITY,
            &unit,
            &date,
            errors,
            None,
        )
        .await;
    };
    match uc::reconcile(&state, &caller, &unit, day, false).await {
        Ok(Some(run)) => Redirect::to(&format!("{RECONCILIATION}/{}", run.id)).into_response(),
        Ok(None) => Redirect::to(RECONCILIATION).into_response(),
        Err(e) => {
            let errors = crate::web::form::errors_of(&e);
            let message = errors.is_empty().then(|| e.message());
            render_reconciliation(&state, &caller, e.status(), &unit, &date, errors, message).await
        }
    }
}

/// A difference in words.
pub struct DifferenceRow {
    pub kind: &'static str,
    pub kind_code: &'static str,
    pub account_no: String,
    pub ours: String,
    pub theirs: String,
    pub note: String,
    pub payment_href: Option<String>,
    pub utility_payment_id: String,
}

#[derive(Template)]
#[template(path = "billing_run.html")]
struct RunPage {
    nav: Nav,
    run: RunRow,
    differences: Vec<DifferenceRow>,
}

async fn run_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let back = format!("{RECONCILIATION}/{id}");
    if let Some(r) = gate(&caller, Capability::ReconcilePayments, &back) {
        return r;
    }
    let run = match uc::run(&state, &caller, &id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let differences = run
        .differences
        .iter()
        .map(|d| {
            let note = match (d.kind, d.our_status) {
                (DifferenceKind::MissingAtUtility, Some(PaymentStatus::Pending)) => {
                    t::NOTE_STILL_SENDING
                }
                (DifferenceKind::MissingAtUtility, _) => t::NOTE_MISSING,
                (DifferenceKind::AmountMismatch, _) => t::NOTE_AMOUNT,
                (DifferenceKind::UnknownHere, _) => t::NOTE_UNKNOWN,
                (DifferenceKind::StatusMismatch, Some(PaymentStatus::Failed)) => {
                    t::NOTE_FAILED_HERE
                }
                (DifferenceKind::StatusMismatch, _) => t::NOTE_PENDING_HERE,
            };
            DifferenceRow {
                kind: d.kind.label_zh(),
                kind_code: d.kind.as_str(),
                account_no: d.account_no.clone(),
                ours: d.our_fen.map(yuan).unwrap_or_else(|| "—".into()),
                theirs: d.their_fen.map(yuan).unwrap_or_else(|| "—".into()),
                note: note.to_owned(),
                payment_href: d
                    .payment_id
                    .as_ref()
                    .map(|p| format!("{COUNTER}/payments/{p}")),
                utility_payment_id: d.utility_payment_id.clone().unwrap_or_default(),
            }
        })
        .collect();
    let csrf = caller.csrf_token();
    let page = RunPage {
        nav: Nav::for_caller(&caller, &csrf),
        run: run_row(&state, &run),
        differences,
    };
    respond(&caller, &csrf, StatusCode::OK, &page)
}
