//! Window payments (缴费) use cases: a clerk finds a customer's accounts at
//! every utility by account number or USCC, reads an account's open bills,
//! and takes a payment of some of them; the payment worker
//! (`jobs::billing`) sends it to the utility; administrators reconcile a
//! day's payments with each utility's list.
//!
//! Taking a payment writes it, its sending job and its audit record in one
//! transaction, after checking the bills with the utility: the clerk is told
//! "缴费处理中" only once the payment cannot be lost, and the utility records
//! it once (the payment's id is its idempotency key). The rules (limits,
//! matching) are in `onestop_domain::billing`; the adapter in
//! `connectors::billing`.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::auth::Caller;
use crate::connectors::billing::{self as connector, BillingError, BillingSystem};
use crate::texts::{self, billing as t};
use onestop_domain::access::{Capability, Role, Subject};
use onestop_domain::billing::{
    self as rules, DifferenceKind, Lookup, MAX_BILLS_PER_PAYMENT, MAX_PAYMENT_FEN,
    MAX_RECONCILIATION_ITEMS, PaymentMethod, PaymentStatus, RunStatus,
};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::timefmt;
use onestop_store::StoreError;
use onestop_store::audit;
use onestop_store::idempotency::{self, IdempotencyKey, SavedResponse};
use onestop_store::payments::{self, NewPayment, PaidBill, Payment};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// A utility unit, by code and name.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct UnitRef {
    pub code: String,
    pub name: String,
}

/// A customer's account at a utility.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub unit: UnitRef,
    /// 户号.
    pub account_no: String,
    /// 户名, as the utility names it.
    pub name: String,
    pub uscc: Option<String>,
    pub address: String,
    /// As the utility says: `active`, `suspended`, `closed`.
    pub status: String,
    /// The utility's system is the reference simulator (example data).
    pub sandbox: bool,
}

/// The accounts found, and the utilities that could not be asked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountList {
    pub items: Vec<AccountView>,
    /// Utilities whose billing system did not answer (none found there is
    /// not known).
    pub unavailable: Vec<UnitRef>,
}

/// One open bill.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BillView {
    pub bill_id: String,
    /// The billing period (`2026-09`).
    pub period: String,
    pub description: String,
    /// Integer fen (分).
    pub amount_fen: i64,
    #[schema(format = Date)]
    pub due_date: Option<String>,
}

/// An account with its open bills.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountBills {
    pub account: AccountView,
    pub bills: Vec<BillView>,
    /// The open bills' sum, integer fen.
    pub total_fen: i64,
}

/// A bill paid by a payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaidBillView {
    pub bill_id: String,
    pub period: String,
    pub amount_fen: i64,
}

/// The utility's receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptView {
    pub receipt_no: String,
    pub utility_payment_id: String,
    pub amount_fen: i64,
    #[schema(format = DateTime)]
    pub paid_at: String,
}

/// Why the utility refused a payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FailureView {
    /// The utility's code (`bill_not_open`, `amount_mismatch`, …).
    pub code: String,
    /// Its message, for people.
    pub message: String,
}

/// A payment taken at a window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    /// `pending` until the utility has answered; `paid` with its receipt;
    /// `failed` when it refused for good.
    pub status: PaymentStatus,
    /// The hall it was taken at.
    pub hall: String,
    pub unit: UnitRef,
    pub account_no: String,
    pub account_name: String,
    pub bills: Vec<PaidBillView>,
    /// Integer fen.
    pub amount_fen: i64,
    pub method: PaymentMethod,
    /// Cash handed over, when typed.
    pub received_fen: Option<i64>,
    /// Change given back (`received_fen − amount_fen`).
    pub change_fen: Option<i64>,
    #[schema(format = DateTime)]
    pub taken_at: String,
    /// The clerk who took it.
    pub clerk_name: String,
    pub receipt: Option<ReceiptView>,
    pub failure: Option<FailureView>,
    /// Attempts made at sending it to the utility.
    pub attempts: i64,
    pub sandbox: bool,
}

/// A day's payments of the halls the caller sees.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayPayments {
    #[schema(format = Date)]
    pub date: String,
    pub items: Vec<PaymentView>,
    /// Payments not refused (pending or paid), and their sum.
    pub count: i64,
    pub amount_fen: i64,
    /// Of those, paid, and their sum.
    pub paid_count: i64,
    pub paid_fen: i64,
}

/// A count and a sum of money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tally {
    pub count: i64,
    pub amount_fen: i64,
}

/// One difference a reconciliation found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DifferenceView {
    pub kind: DifferenceKind,
    /// The platform's reference (payment id) as the utility recorded it.
    pub reference: String,
    /// The platform's payment, when it has one.
    pub payment_id: Option<String>,
    pub account_no: String,
    pub our_fen: Option<i64>,
    pub their_fen: Option<i64>,
    pub our_status: Option<PaymentStatus>,
    pub utility_payment_id: Option<String>,
}

/// A reconciliation of one utility's day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    pub unit: UnitRef,
    #[schema(format = Date)]
    pub date: String,
    /// `manual` (an administrator's) or `daily` (the server's own).
    pub kind: String,
    #[schema(format = DateTime)]
    pub run_at: String,
    pub status: RunStatus,
    /// The platform's payments of the day (paid that day, or taken that day
    /// and not paid).
    pub ours: Tally,
    /// The utility's list of the day.
    pub theirs: Tally,
    pub matched: i64,
    pub difference_count: i64,
    /// Empty in lists; every difference in a single run.
    pub differences: Vec<DifferenceView>,
}

/// What a payment request asks.
#[derive(Debug, Clone)]
pub struct PaymentInput {
    /// The hall (needed when the clerk works at several).
    pub hall: Option<String>,
    pub unit: String,
    pub account_no: String,
    pub bill_ids: Vec<String>,
    /// The sum the clerk confirmed (checked against the bills).
    pub amount_fen: i64,
    pub method: PaymentMethod,
    pub received_fen: Option<i64>,
    /// The confirm form's one-time key (pages).
    pub form_key: Option<String>,
}

/// A payment taken, or found again.
pub enum Taken {
    /// Recorded now; `body` is its JSON.
    New { payment: PaymentView, body: String },
    /// The confirm form was sent before: that payment.
    Again(PaymentView),
    /// The API's `Idempotency-Key` was used before with this request.
    Replayed(SavedResponse),
}

fn field(name: &str, code: FieldCode, message: &str) -> FieldError {
    FieldError::new(name, code, message)
}

fn upstream(state: &AppState, unit: &str) -> Error {
    Error::refused(
        Refusal::Upstream,
        "billing_unavailable",
        texts::fill(t::UNAVAILABLE, &[("unit", &unit_name(state, unit))]),
    )
}

/// The unit's name (its code when it has none).
pub fn unit_name(state: &AppState, code: &str) -> String {
    state
        .config
        .unit(code)
        .map_or_else(|| code.to_owned(), |u| u.name.clone())
}

fn unit_ref(state: &AppState, code: &str) -> UnitRef {
    UnitRef {
        code: code.to_owned(),
        name: unit_name(state, code),
    }
}

fn sandbox(state: &AppState, unit: &str) -> bool {
    state.config.billing_of(unit).is_some_and(|b| b.sandbox)
}

/// Whether any configured billing system is the reference simulator.
pub fn any_sandbox(state: &AppState) -> bool {
    state.config.billing.iter().any(|b| b.sandbox)
}

/// The utilities a clerk can take payments for, in configuration order.
pub fn billing_units(state: &AppState) -> Vec<UnitRef> {
    state
        .config
        .units
        .iter()
        .filter(|u| state.billing.system(&u.code).is_some())
        .map(|u| unit_ref(state, &u.code))
        .collect()
}

fn may(caller: &Caller, cap: Capability) -> Result<(), Error> {
    if caller.subject.is_anonymous() {
        return Err(Error::unauthenticated(texts::accounts::SIGN_IN));
    }
    if caller.subject.may(cap) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// The halls the caller works at as a clerk.
pub fn halls_of(caller: &Caller) -> Vec<String> {
    crate::app::halls::clerk_halls(caller)
}

/// Whether the caller sees every hall's payments (administrators,
/// supervisors, the command line).
fn sees_all_halls(caller: &Caller) -> bool {
    match &caller.subject {
        Subject::System(_) => true,
        Subject::Account(a) => a
            .grants
            .iter()
            .any(|g| matches!(g.role, Role::Admin | Role::Supervisor)),
        _ => false,
    }
}

fn account_view(state: &AppState, unit: &str, a: connector::Account) -> AccountView {
    AccountView {
        unit: unit_ref(state, unit),
        account_no: a.account_no,
        name: a.name,
        uscc: a.uscc,
        address: a.address,
        status: a.status,
        sandbox: sandbox(state, unit),
    }
}

/// Finds a customer's accounts at every utility with a billing system (or
/// at `unit` alone), asked at once, each within its time limit. Audited.
pub async fn lookup(
    state: &AppState,
    caller: &Caller,
    by: &Lookup,
    unit: Option<&str>,
) -> Result<AccountList, Error> {
    may(caller, Capability::TakePayments)?;
    let units: Vec<String> = match unit {
        Some(u) => {
            if state.billing.system(u).is_none() {
                return Err(unknown_unit());
            }
            vec![u.to_owned()]
        }
        None => billing_units(state).into_iter().map(|u| u.code).collect(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (i, u) in units.iter().enumerate() {
        let Some(system) = state.billing.system(u) else {
            continue;
        };
        let by = by.clone();
        tasks.spawn(async move { (i, system.find_accounts(&by).await) });
    }
    let mut answers: Vec<(usize, Result<Vec<connector::Account>, BillingError>)> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(a) => answers.push(a),
            Err(e) => tracing::warn!(error = %e, "billing lookup task failed"),
        }
    }
    answers.sort_by_key(|(i, _)| *i);
    let mut out = AccountList {
        items: Vec::new(),
        unavailable: Vec::new(),
    };
    for (i, answer) in answers {
        let u = &units[i];
        match answer {
            Ok(found) => out
                .items
                .extend(found.into_iter().map(|a| account_view(state, u, a))),
            Err(BillingError::NotFound) => {}
            Err(e) => {
                tracing::warn!(unit = %u, error = %e, "billing account lookup failed");
                out.unavailable.push(unit_ref(state, u));
            }
        }
    }
    let by_kind = match by {
        Lookup::Number(_) => t::BY_NUMBER,
        Lookup::Uscc(_) => t::BY_USCC,
    };
    let found: Vec<String> = out
        .items
        .iter()
        .map(|a| format!("{} {}", a.unit.name, a.account_no))
        .collect();
    let target = out
        .items
        .first()
        .map(|a| format!("{}:{}", a.unit.code, a.account_no))
        .unwrap_or_default();
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "billing_lookup",
            "success",
            "billing_account",
            &target,
            serde_json::json!({"lookup_by": by_kind, "accounts_found": found.len(),
                               "billing_accounts": found}),
        ))
        .await?;
    Ok(out)
}

fn unknown_unit() -> Error {
    Error::Invalid(vec![field(
        "unit",
        FieldCode::UnknownValue,
        t::UNIT_UNKNOWN,
    )])
}

fn system_of(state: &AppState, unit: &str) -> Result<Arc<dyn BillingSystem>, Error> {
    state.billing.system(unit).ok_or_else(unknown_unit)
}

/// The account `account_no` at `unit` and its open bills, read from the
/// utility now. `NotFound` for an account it does not have. Audited.
pub async fn account_bills(
    state: &AppState,
    caller: &Caller,
    unit: &str,
    account_no: &str,
) -> Result<AccountBills, Error> {
    may(caller, Capability::TakePayments)?;
    let system = state.billing.system(unit).ok_or(Error::NotFound)?;
    let Some(no) = rules::clean_account_no(account_no) else {
        return Err(Error::NotFound);
    };
    let (account, bills) = fetch_account(state, &*system, unit, &no).await?;
    let total_fen = bills.iter().map(|b| b.amount_fen).sum();
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "billing_bills_read",
            "success",
            "billing_account",
            &format!("{unit}:{no}"),
            serde_json::json!({"bills_open": bills.len()}),
        ))
        .await?;
    Ok(AccountBills {
        account: account_view(state, unit, account),
        bills: bills
            .into_iter()
            .map(|b| BillView {
                bill_id: b.bill_id,
                period: b.period,
                description: b.description,
                amount_fen: b.amount_fen,
                due_date: b.due_date.map(|d| d.to_string()),
            })
            .collect(),
        total_fen,
    })
}

async fn fetch_account(
    state: &AppState,
    system: &dyn BillingSystem,
    unit: &str,
    no: &str,
) -> Result<(connector::Account, Vec<connector::Bill>), Error> {
    let found = system
        .find_accounts(&Lookup::Number(no.to_owned()))
        .await
        .map_err(|e| {
            tracing::warn!(unit, error = %e, "billing account lookup failed");
            upstream(state, unit)
        })?;
    let Some(account) = found.into_iter().find(|a| a.account_no == no) else {
        return Err(Error::NotFound);
    };
    let bills = match system.open_bills(no).await {
        Ok(b) => b,
        Err(BillingError::NotFound) => return Err(Error::NotFound),
        Err(e) => {
            tracing::warn!(unit, error = %e, "billing bills lookup failed");
            return Err(upstream(state, unit));
        }
    };
    Ok((account, bills))
}

/// A payment request's field problems (every one at once), and the hall
/// it is taken at when that is known.
pub fn field_problems(
    state: &AppState,
    caller: &Caller,
    input: &PaymentInput,
) -> (Option<String>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let halls = halls_of(caller);
    let hall = match (&input.hall, halls.as_slice()) {
        (Some(h), _) if halls.contains(h) => Some(h.clone()),
        (Some(_), _) => {
            errors.push(field("hall", FieldCode::UnknownValue, t::HALL_NOT_YOURS));
            None
        }
        (None, [only]) => Some(only.clone()),
        (None, _) => {
            errors.push(field("hall", FieldCode::Required, t::HALL_REQUIRED));
            None
        }
    };
    if state.billing.system(&input.unit).is_none() {
        errors.push(field("unit", FieldCode::UnknownValue, t::UNIT_UNKNOWN));
    }
    if rules::clean_account_no(&input.account_no).as_deref() != Some(input.account_no.as_str()) {
        errors.push(field(
            "account_no",
            FieldCode::InvalidFormat,
            t::ACCOUNT_NO_FORMAT,
        ));
    }
    if input.bill_ids.is_empty() {
        errors.push(field("bill_ids", FieldCode::Required, t::BILLS_REQUIRED));
    } else if input.bill_ids.len() > MAX_BILLS_PER_PAYMENT {
        errors.push(field(
            "bill_ids",
            FieldCode::OutOfRange,
            &texts::fill(t::BILLS_TOO_MANY, &[("n", &MAX_BILLS_PER_PAYMENT)]),
        ));
    } else {
        let mut seen = std::collections::HashSet::new();
        for (i, b) in input.bill_ids.iter().enumerate() {
            if !rules::bill_id_ok(b) || !seen.insert(b) {
                errors.push(field(
                    &format!("bill_ids.{i}"),
                    FieldCode::InvalidFormat,
                    t::BILL_ID_FORMAT,
                ));
            }
        }
    }
    if !(1..=MAX_PAYMENT_FEN).contains(&input.amount_fen) {
        errors.push(field(
            "amount_fen",
            FieldCode::OutOfRange,
            &texts::fill(
                t::AMOUNT_RANGE,
                &[("max", &onestop_domain::money::yuan(MAX_PAYMENT_FEN))],
            ),
        ));
    }
    if let Some(r) = input.received_fen {
        if input.method != PaymentMethod::Cash {
            errors.push(field(
                "received_fen",
                FieldCode::NotAllowed,
                t::RECEIVED_CASH_ONLY,
            ));
        } else if r < input.amount_fen || r > onestop_domain::money::MAX_FEN {
            errors.push(field(
                "received_fen",
                FieldCode::OutOfRange,
                t::RECEIVED_TOO_LITTLE,
            ));
        }
    }
    if let Some(k) = &input.form_key
        && (k.is_empty() || k.len() > 64 || !k.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        errors.push(field("key", FieldCode::InvalidFormat, t::FORM_KEY));
    }
    (hall, errors)
}

fn check_input(state: &AppState, caller: &Caller, input: &PaymentInput) -> Result<String, Error> {
    match field_problems(state, caller, input) {
        (Some(h), errors) if errors.is_empty() => Ok(h),
        (_, errors) => Err(Error::Invalid(errors)),
    }
}

/// Takes a payment at the caller's hall: checks the bills with the utility
/// (open, of that account, summing to the amount confirmed), then records
/// the payment with its sending job and audit record in one transaction and
/// wakes the worker. With the same confirm form (`form_key`) or the same
/// `Idempotency-Key` again, the first payment is the answer.
pub async fn take_payment(
    state: &AppState,
    caller: &Caller,
    input: PaymentInput,
    key: Option<IdempotencyKey>,
) -> Result<Taken, Error> {
    may(caller, Capability::TakePayments)?;
    let me = caller.account().cloned().ok_or_else(Error::forbidden)?;
    if let Some(k) = &key
        && let Some(saved) = crate::app::applications::replay(state, k).await?
    {
        return Ok(Taken::Replayed(saved));
    }
    let hall = check_input(state, caller, &input)?;
    if let Some(form_key) = &input.form_key {
        let (clerk, fk) = (me.id.clone(), form_key.clone());
        if let Some(p) = state
            .store
            .read(move |c| payments::by_form_key(c, &clerk, &fk))
            .await?
        {
            return Ok(Taken::Again(view(state, &p)));
        }
    }
    let system = system_of(state, &input.unit)?;
    let (account, bills) =
        match fetch_account(state, &*system, &input.unit, &input.account_no).await {
            Err(Error::NotFound) => {
                return Err(Error::Invalid(vec![field(
                    "account_no",
                    FieldCode::UnknownValue,
                    t::ACCOUNT_NOT_FOUND,
                )]));
            }
            other => other?,
        };
    let mut paid = Vec::new();
    for id in &input.bill_ids {
        match bills.iter().find(|b| &b.bill_id == id) {
            Some(b) => paid.push(PaidBill {
                id: b.bill_id.clone(),
                period: b.period.clone(),
                amount_fen: b.amount_fen,
            }),
            None => {
                return Err(Error::refused(
                    Refusal::Conflict,
                    "bills_changed",
                    t::BILLS_CHANGED,
                ));
            }
        }
    }
    let sum: i64 = paid.iter().map(|b| b.amount_fen).sum();
    if sum != input.amount_fen {
        return Err(Error::refused(
            Refusal::Conflict,
            "bills_changed",
            texts::fill(
                t::AMOUNT_CHANGED,
                &[
                    ("now", &onestop_domain::money::yuan(sum)),
                    ("confirmed", &onestop_domain::money::yuan(input.amount_fen)),
                ],
            ),
        ));
    }
    let now_ms = state.now_ms();
    let new = NewPayment {
        id: uuid::Uuid::now_v7().to_string(),
        hall_code: hall,
        clerk_id: me.id.clone(),
        clerk_name: me.display_name.clone(),
        unit_code: input.unit.clone(),
        account_no: input.account_no.clone(),
        account_name: account.name.clone(),
        bills: paid,
        amount_fen: input.amount_fen,
        method: input.method.as_str().to_owned(),
        received_fen: input.received_fen,
        form_key: input.form_key.clone(),
        at_ms: now_ms,
    };
    let record = caller.audit(
        now_ms,
        "payment_taken",
        "success",
        "payment",
        &new.id,
        serde_json::json!({
            "unit": unit_name(state, &new.unit_code), "account_no": new.account_no,
            "amount": onestop_domain::money::yuan(new.amount_fen),
            "bills_paid": new.bills.len(), "hall": new.hall_code,
            "method": input.method.label_zh(),
        }),
    );
    let audit_key = state.audit_key.clone();
    let st = state.clone();
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let outcome = state
        .store
        .write(move |c| {
            if let Some(k) = &key
                && let Some(saved) = idempotency::claim(c, k, now_ms)?
            {
                return Ok(Err(Some(saved)));
            }
            // The same confirm form sent twice at once: the database refuses
            // the second (answered below with the first).
            payments::insert(c, &new)?;
            audit::append(c, &audit_key, std::slice::from_ref(&record))?;
            let p = payments::get(c, &new.id)?
                .ok_or_else(|| StoreError::Internal("payment not written".into()))?;
            let v = view(&st, &p);
            let body = serde_json::to_string(&v).map_err(|e| StoreError::Decode(e.to_string()))?;
            if let Some(k) = &key {
                idempotency::complete(c, k, 202, Some(&location_of(&p.id)), &body)?;
            }
            Ok(Ok((v, body)))
        })
        .await;
    let outcome = match outcome {
        Err(e) if e.kind() == onestop_store::ErrorKind::UniqueViolation => Err(None),
        other => other?,
    };
    match outcome {
        Ok((payment, body)) => {
            state.billing.wake();
            Ok(Taken::New { payment, body })
        }
        Err(Some(saved)) if Some(&saved.request_hash) == hash.as_ref() => {
            Ok(Taken::Replayed(saved))
        }
        Err(Some(_)) => Err(crate::app::applications::idempotency_conflict()),
        Err(None) => {
            let (clerk, fk) = (me.id.clone(), input.form_key.clone().unwrap_or_default());
            state
                .store
                .read(move |c| payments::by_form_key(c, &clerk, &fk))
                .await?
                .map(|p| Taken::Again(view(state, &p)))
                .ok_or(Error::Internal("a payment's form key is taken by none"))
        }
    }
}

/// The API's address of a payment.
pub fn location_of(id: &str) -> String {
    format!("/api/v1/billing/payments/{id}")
}

/// A payment as the API and the pages show it.
pub fn view(state: &AppState, p: &Payment) -> PaymentView {
    let at = |ms: i64| timefmt::format(timefmt::from_ms(ms, state.offset));
    PaymentView {
        id: p.id.clone(),
        status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Pending),
        hall: p.hall_code.clone(),
        unit: unit_ref(state, &p.unit_code),
        account_no: p.account_no.clone(),
        account_name: p.account_name.clone(),
        bills: p
            .bills
            .iter()
            .map(|b| PaidBillView {
                bill_id: b.id.clone(),
                period: b.period.clone(),
                amount_fen: b.amount_fen,
            })
            .collect(),
        amount_fen: p.amount_fen,
        method: PaymentMethod::parse(&p.method).unwrap_or(PaymentMethod::Cash),
        received_fen: p.received_fen,
        change_fen: p.received_fen.map(|r| r - p.amount_fen),
        taken_at: at(p.created_at_ms),
        clerk_name: p.clerk_name.clone(),
        receipt: match (&p.receipt_no, &p.utility_payment_id, p.paid_at_ms) {
            (Some(no), Some(id), Some(paid)) => Some(ReceiptView {
                receipt_no: no.clone(),
                utility_payment_id: id.clone(),
                amount_fen: p.receipt_fen.unwrap_or(p.amount_fen),
                paid_at: at(paid),
            }),
            _ => None,
        },
        failure: match (&p.failure_code, &p.failure_message) {
            (Some(code), message) => Some(FailureView {
                code: code.clone(),
                message: message.clone().unwrap_or_default(),
            }),
            _ => None,
        },
        attempts: p.attempts,
        sandbox: sandbox(state, &p.unit_code),
    }
}

/// Whether the caller may see a payment of `hall`.
fn sees_hall(caller: &Caller, hall: &str) -> bool {
    sees_all_halls(caller) || halls_of(caller).iter().any(|h| h == hall)
}

/// One payment, if the caller may see it (a clerk: their halls'; an
/// administrator or supervisor: every one).
pub async fn payment(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Option<PaymentView>, Error> {
    may(caller, Capability::ReadPayments)?;
    if id.len() > 64 {
        return Ok(None);
    }
    let i = id.to_owned();
    let Some(p) = state.store.read(move |c| payments::get(c, &i)).await? else {
        return Ok(None);
    };
    if !sees_hall(caller, &p.hall_code) {
        caller.hidden("payment", id);
        return Ok(None);
    }
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "payment_read",
            "success",
            "payment",
            id,
            serde_json::json!({"account_no": p.account_no}),
        ))
        .await?;
    Ok(Some(view(state, &p)))
}

/// The first and last instant (exclusive) of a day in the city's time.
pub fn day_bounds(state: &AppState, day: time::Date) -> (i64, i64) {
    let start = day.midnight().assume_offset(state.offset);
    let ms = timefmt::to_ms(start);
    (ms, ms + 86_400_000)
}

/// The city's date now.
pub fn today(state: &AppState) -> time::Date {
    state.now().date()
}

/// A day's payments of the halls the caller sees (or of `hall`), newest
/// first, with their totals.
pub async fn payments_of_day(
    state: &AppState,
    caller: &Caller,
    day: time::Date,
    hall: Option<&str>,
) -> Result<DayPayments, Error> {
    may(caller, Capability::ReadPayments)?;
    let halls = match hall {
        Some(h) if sees_hall(caller, h) => Some(vec![h.to_owned()]),
        Some(_) => {
            return Err(Error::Invalid(vec![field(
                "hall",
                FieldCode::UnknownValue,
                t::HALL_NOT_YOURS,
            )]));
        }
        None if sees_all_halls(caller) => None,
        None => Some(halls_of(caller)),
    };
    let (from_ms, to_ms) = day_bounds(state, day);
    let filter = payments::PaymentFilter {
        halls,
        unit: None,
        from_ms,
        to_ms,
        limit: 1000,
    };
    let list = state
        .store
        .read(move |c| payments::list(c, &filter))
        .await?;
    let items: Vec<PaymentView> = list.iter().map(|p| view(state, p)).collect();
    if !items.is_empty() {
        state
            .audit
            .record(caller.audit(
                state.now_ms(),
                "payments_read",
                "success",
                "payment",
                "",
                serde_json::json!({"day": day.to_string(), "payments_listed": items.len()}),
            ))
            .await?;
    }
    let live = items.iter().filter(|p| p.status != PaymentStatus::Failed);
    let paid = items.iter().filter(|p| p.status == PaymentStatus::Paid);
    Ok(DayPayments {
        date: day.to_string(),
        count: live.clone().count() as i64,
        amount_fen: live.map(|p| p.amount_fen).sum(),
        paid_count: paid.clone().count() as i64,
        paid_fen: paid.map(|p| p.amount_fen).sum(),
        items,
    })
}

// ───────────────────────────── the worker's outcomes ─────────────────────────────

/// What one attempt at sending a payment came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Paid,
    Failed,
    Retrying,
    /// Another worker holds it now, or it was settled already.
    NotMine,
}

/// Sends one claimed payment to its utility and records the outcome (with
/// its audit record) if `worker` still holds the job.
pub async fn send_payment(
    state: &AppState,
    worker: &str,
    job: &payments::Job,
) -> Result<Attempt, Error> {
    let id = job.payment_id.clone();
    let Some(p) = state.store.read(move |c| payments::get(c, &id)).await? else {
        return Ok(Attempt::NotMine);
    };
    if p.status != PaymentStatus::Pending.as_str() {
        return Ok(Attempt::NotMine);
    }
    let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
    let backoff = |state: &AppState| {
        state
            .config
            .billing_of(&p.unit_code)
            .map_or(60_000, |b| b.backoff_ms(attempts))
    };
    let result = match state.billing.system(&p.unit_code) {
        Some(system) => {
            let bill_ids: Vec<String> = p.bills.iter().map(|b| b.id.clone()).collect();
            let req = connector::PayRequest {
                reference: &p.id,
                account_no: &p.account_no,
                bill_ids: &bill_ids,
                amount_fen: p.amount_fen,
                hall: &p.hall_code,
                method: &p.method,
                taken_at: timefmt::from_ms(p.created_at_ms, state.offset),
            };
            system.pay(&req).await
        }
        None => Err(BillingError::Unavailable(t::NOT_CONFIGURED.into())),
    };
    let now_ms = state.now_ms();
    let system = crate::app::accounts::system_caller("billing");
    let (worker, id) = (worker.to_owned(), p.id.clone());
    let audit_key = state.audit_key.clone();
    match result {
        Ok(r) => {
            let receipt = payments::Receipt {
                receipt_no: r.receipt_no.clone(),
                utility_payment_id: r.payment_id.clone(),
                amount_fen: r.amount_fen,
                paid_at_ms: timefmt::to_ms(r.paid_at),
            };
            let record = system.audit(
                now_ms,
                "payment_paid",
                "success",
                "payment",
                &id,
                serde_json::json!({"receipt_no": r.receipt_no,
                                   "amount": onestop_domain::money::yuan(r.amount_fen),
                                   "attempts": job.attempts}),
            );
            let mine = state
                .store
                .write(move |c| {
                    let mine = payments::settle_paid(c, &id, &worker, &receipt, now_ms)?;
                    if mine {
                        audit::append(c, &audit_key, std::slice::from_ref(&record))?;
                    }
                    Ok(mine)
                })
                .await?;
            Ok(if mine {
                Attempt::Paid
            } else {
                Attempt::NotMine
            })
        }
        Err(e @ (BillingError::Refused { .. } | BillingError::NotFound)) => {
            let (code, message) = match e {
                BillingError::Refused { code, message, .. } => (
                    if code.is_empty() {
                        "refused".to_owned()
                    } else {
                        code
                    },
                    if message.is_empty() {
                        t::REFUSED.to_owned()
                    } else {
                        message
                    },
                ),
                _ => (
                    "account_not_found".to_owned(),
                    t::ACCOUNT_NOT_FOUND.to_owned(),
                ),
            };
            tracing::warn!(payment = %id, unit = %p.unit_code, code = %code, "payment refused by the utility");
            let record = system.audit(
                now_ms,
                "payment_failed",
                "failure",
                "payment",
                &id,
                serde_json::json!({"failure": message, "failure_code": code,
                                   "attempts": job.attempts}),
            );
            let mine = state
                .store
                .write(move |c| {
                    let mine = payments::settle_failed(c, &id, &worker, &code, &message, now_ms)?;
                    if mine {
                        audit::append(c, &audit_key, std::slice::from_ref(&record))?;
                    }
                    Ok(mine)
                })
                .await?;
            Ok(if mine {
                Attempt::Failed
            } else {
                Attempt::NotMine
            })
        }
        Err(BillingError::Unavailable(error)) => {
            let retry_at = now_ms + backoff(state);
            tracing::info!(payment = %id, unit = %p.unit_code, attempts = job.attempts, error = %error, "payment attempt failed; will retry");
            let mine = state
                .store
                .write(move |c| payments::retry_later(c, &id, &worker, &error, retry_at))
                .await?;
            Ok(if mine {
                Attempt::Retrying
            } else {
                Attempt::NotMine
            })
        }
    }
}

// ───────────────────────────── reconciliation ─────────────────────────────

fn run_view(state: &AppState, r: &payments::Run, diffs: &[payments::DifferenceRow]) -> RunView {
    RunView {
        id: r.id.clone(),
        unit: unit_ref(state, &r.unit_code),
        date: r.day.clone(),
        kind: r.run_kind.clone(),
        run_at: timefmt::format(timefmt::from_ms(r.run_at_ms, state.offset)),
        status: RunStatus::parse(&r.status).unwrap_or(RunStatus::Differences),
        ours: Tally {
            count: r.our_count,
            amount_fen: r.our_fen,
        },
        theirs: Tally {
            count: r.their_count,
            amount_fen: r.their_fen,
        },
        matched: r.matched,
        difference_count: r.differences,
        differences: diffs
            .iter()
            .map(|d| DifferenceView {
                kind: DifferenceKind::parse(&d.kind).unwrap_or(DifferenceKind::UnknownHere),
                reference: d.reference.clone(),
                payment_id: d.payment_id.clone(),
                account_no: d.account_no.clone(),
                our_fen: d.our_fen,
                their_fen: d.their_fen,
                our_status: d.our_status.as_deref().and_then(PaymentStatus::parse),
                utility_payment_id: d.utility_payment_id.clone(),
            })
            .collect(),
    }
}

/// Reconciles one utility's day: the platform's payments of that day
/// against the utility's list, every difference recorded with the run (and
/// the run audited). `daily` runs are the server's own, once per unit and
/// day (`None` when that run exists already).
pub async fn reconcile(
    state: &AppState,
    caller: &Caller,
    unit: &str,
    day: time::Date,
    daily: bool,
) -> Result<Option<RunView>, Error> {
    if !daily {
        may(caller, Capability::ReconcilePayments)?;
    }
    let mut errors = Vec::new();
    let system = state.billing.system(unit);
    if system.is_none() {
        errors.push(field("unit", FieldCode::UnknownValue, t::UNIT_UNKNOWN));
    }
    if day > today(state) {
        errors.push(field("date", FieldCode::OutOfRange, t::DATE_IN_FUTURE));
    }
    let Some(system) = system.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let theirs = system.reconciliation(day).await.map_err(|e| {
        tracing::warn!(unit, %day, error = %e, "reconciliation list not read");
        upstream(state, unit)
    })?;
    let (from_ms, to_ms) = day_bounds(state, day);
    let u = unit.to_owned();
    let limit = MAX_RECONCILIATION_ITEMS as u32;
    let ours = state
        .store
        .read(move |c| payments::of_day(c, &u, from_ms, to_ms, limit))
        .await?;
    let as_ours = |p: &Payment| rules::Ours {
        reference: p.id.clone(),
        payment_id: p.id.clone(),
        account_no: p.account_no.clone(),
        amount_fen: p.amount_fen,
        status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Pending),
    };
    let day_ours: Vec<rules::Ours> = ours.iter().map(as_ours).collect();
    let known: std::collections::HashSet<&str> = ours.iter().map(|p| p.id.as_str()).collect();
    let others: Vec<String> = theirs
        .iter()
        .filter(|r| !known.contains(r.reference.as_str()))
        .map(|r| r.reference.clone())
        .take(500)
        .collect();
    let elsewhere: HashMap<String, rules::Ours> = if others.is_empty() {
        HashMap::new()
    } else {
        state
            .store
            .read(move |c| payments::by_ids(c, &others))
            .await?
            .iter()
            .filter(|p| p.unit_code == unit)
            .map(|p| (p.id.clone(), as_ours(p)))
            .collect()
    };
    let their_list: Vec<rules::Theirs> = theirs
        .iter()
        .map(|r| rules::Theirs {
            reference: r.reference.clone(),
            utility_payment_id: r.payment_id.clone(),
            account_no: r.account_no.clone(),
            amount_fen: r.amount_fen,
        })
        .collect();
    let matched = rules::reconcile(&day_ours, &their_list, &elsewhere);
    let live: Vec<&rules::Ours> = day_ours
        .iter()
        .filter(|o| o.status != PaymentStatus::Failed)
        .collect();
    let now_ms = state.now_ms();
    let run_by = match caller.account() {
        Some(a) if !daily => a.id.clone(),
        _ => "system".to_owned(),
    };
    let run = payments::Run {
        id: uuid::Uuid::now_v7().to_string(),
        unit_code: unit.to_owned(),
        day: day.to_string(),
        run_kind: if daily { "daily" } else { "manual" }.to_owned(),
        run_by,
        run_at_ms: now_ms,
        status: if matched.differences.is_empty() {
            RunStatus::Balanced
        } else {
            RunStatus::Differences
        }
        .as_str()
        .to_owned(),
        our_count: live.len() as i64,
        our_fen: live.iter().map(|o| o.amount_fen).sum(),
        their_count: their_list.len() as i64,
        their_fen: their_list.iter().map(|t| t.amount_fen).sum(),
        matched: matched.matched as i64,
        differences: matched.differences.len() as i64,
    };
    let diffs: Vec<payments::DifferenceRow> = matched
        .differences
        .iter()
        .map(|d| payments::DifferenceRow {
            kind: d.kind.as_str().to_owned(),
            reference: d.reference.clone(),
            payment_id: d.payment_id.clone(),
            account_no: d.account_no.clone(),
            our_fen: d.our_fen,
            their_fen: d.their_fen,
            our_status: d.our_status.map(|s| s.as_str().to_owned()),
            utility_payment_id: d.utility_payment_id.clone(),
        })
        .collect();
    let record = caller.audit(
        now_ms,
        "reconciliation_run",
        "success",
        "reconciliation",
        &run.id,
        serde_json::json!({"unit": unit_name(state, unit), "day": run.day,
                           "differences": run.differences, "matched": run.matched}),
    );
    let audit_key = state.audit_key.clone();
    let (r, d) = (run.clone(), diffs.clone());
    let written = state
        .store
        .write(move |c| {
            let written = payments::insert_run(c, &r, &d)?;
            if written {
                audit::append(c, &audit_key, std::slice::from_ref(&record))?;
            }
            Ok(written)
        })
        .await?;
    Ok(written.then(|| run_view(state, &run, &diffs)))
}

/// Runs of a day (or the latest of every day), newest first, without their
/// differences.
pub async fn runs(
    state: &AppState,
    caller: &Caller,
    day: Option<time::Date>,
    unit: Option<&str>,
) -> Result<Vec<RunView>, Error> {
    may(caller, Capability::ReconcilePayments)?;
    let (d, u) = (day.map(|d| d.to_string()), unit.map(str::to_owned));
    let list = state
        .store
        .read(move |c| payments::runs(c, d.as_deref(), u.as_deref(), 100))
        .await?;
    Ok(list.iter().map(|r| run_view(state, r, &[])).collect())
}

/// One run with its differences.
pub async fn run(state: &AppState, caller: &Caller, id: &str) -> Result<Option<RunView>, Error> {
    may(caller, Capability::ReconcilePayments)?;
    if id.len() > 64 {
        return Ok(None);
    }
    let i = id.to_owned();
    Ok(state
        .store
        .read(move |c| payments::run(c, &i))
        .await?
        .map(|(r, d)| run_view(state, &r, &d)))
}

/// Payments still being sent: how many, and since when the oldest (for the
/// administrators' page).
pub async fn pending(state: &AppState) -> Result<(i64, Option<i64>), Error> {
    Ok(state.store.read(payments::pending).await?)
}
