//! The one window (一窗受理) of a shared service hall, for its clerks:
//! consultations logged with the follow-up one may pass on to a utility,
//! the hall's queue (取号、叫号), and the window's search for a customer.
//!
//! A hall is its code, the scope of the clerk's `clerk:<hall>` grant; a
//! clerk of another hall finds nothing (`404`), exactly as for an unknown
//! record.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::follow_ups::{FollowUpView, Opener, Opening};
use crate::auth::Caller;
use crate::texts::counter as t;
use onestop_domain::access::{Capability, mask_phone};
use onestop_domain::counter::{
    BusinessKind, ConsultationInput, Customer, FollowUpKind, TicketStatus, local_day, ticket_label,
};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::timefmt;
use onestop_store::consultations::{self, Consultation};
use onestop_store::follow_ups::FollowUp;
use onestop_store::idempotency::{IdempotencyKey, SavedResponse};
use onestop_store::queue::{self, Ticket};
use serde::Serialize;
use utoipa::ToSchema;

/// The name people read for a hall. The hall registry (the `halls` table
/// and its directory) names each hall by its code; until it is wired in
/// here, the code is all there is.
pub fn hall_name(state: &AppState, code: &str) -> String {
    crate::app::halls::name_of(state, code)
}

/// The halls the caller works at as a clerk.
pub fn halls_of(caller: &Caller) -> Vec<String> {
    crate::app::halls::clerk_halls(caller)
}

/// The hall a clerk works at for this request: the one asked for if it is
/// theirs (another hall is `404`), else their only one; a clerk of several
/// halls must say which (`422` on `hall`). Anyone else is `403`.
pub fn clerk_hall(caller: &Caller, asked: Option<&str>) -> Result<String, Error> {
    if !caller.subject.may(Capability::WorkCounter) {
        return Err(Error::forbidden());
    }
    let halls = halls_of(caller);
    match asked.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) if halls.iter().any(|x| x == h) => Ok(h.to_owned()),
        Some(_) => Err(Error::NotFound),
        None if halls.len() == 1 => Ok(halls[0].clone()),
        None => Err(Error::Invalid(vec![FieldError::new(
            "hall",
            FieldCode::Required,
            t::HALL_MISSING,
        )])),
    }
}

/// Who came to the window, as the API answers it to the hall and to the
/// unit that follows the consultation up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub uscc: Option<String>,
    pub application_number: Option<String>,
    /// A utility account number (户号).
    pub account_number: Option<String>,
}

/// A consultation as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationView {
    pub id: String,
    pub hall: String,
    pub logged_at: String,
    /// Service codes, in the city's order.
    pub services: Vec<String>,
    pub topic: String,
    pub answer: String,
    pub customer: CustomerView,
    /// The follow-up passed on to a utility, with its answer once given.
    pub follow_up: Option<FollowUpView>,
}

fn customer_view(c: &Customer) -> CustomerView {
    CustomerView {
        name: c.name.clone(),
        phone: c.phone.clone(),
        uscc: c.uscc.clone(),
        application_number: c.application_number.clone(),
        account_number: c.account_number.clone(),
    }
}

/// Service codes in the city's order.
fn in_city_order(state: &AppState, codes: &[String]) -> Vec<String> {
    state
        .config
        .services
        .iter()
        .filter(|s| codes.contains(&s.code))
        .map(|s| s.code.clone())
        .collect()
}

pub fn view(state: &AppState, k: &Consultation, f: Option<&FollowUp>) -> ConsultationView {
    ConsultationView {
        id: k.id.clone(),
        hall: k.hall.clone(),
        logged_at: timefmt::format(timefmt::from_ms(k.at_ms, state.offset)),
        services: in_city_order(state, &k.services),
        topic: k.topic.clone(),
        answer: k.answer.clone(),
        customer: customer_view(&k.customer),
        follow_up: f.map(|f| crate::app::follow_ups::view(state, f)),
    }
}

/// What logging a consultation came to.
pub enum Logged {
    Created(Box<ConsultationView>),
    /// The key's first answer, replayed.
    Replayed(SavedResponse),
}

/// A clerk logs a consultation at their hall (咨询登记). With a follow-up
/// unit, the unit's follow-up opens in the same transaction (its clock on
/// the configured limit) and its operators are told.
pub async fn log_consultation(
    state: &AppState,
    caller: &Caller,
    hall: Option<&str>,
    input: ConsultationInput,
    key: Option<IdempotencyKey>,
) -> Result<Logged, Error> {
    let hall = clerk_hall(caller, hall)?;
    let opener = Opener::new(state, caller);
    let id = crate::app::applications::new_id();
    let follow_up_id = input
        .follow_up_unit
        .as_ref()
        .map(|_| crate::app::applications::new_id());
    let k = Consultation {
        id: id.clone(),
        hall: hall.clone(),
        at_ms: opener.now_ms,
        day: local_day(opener.now_ms, state.offset),
        clerk: opener.actor.clone(),
        clerk_account: opener.account.clone(),
        services: input.services.clone(),
        topic: input.topic.clone(),
        answer: input.answer.clone(),
        customer: input.customer.clone(),
        follow_up_id: follow_up_id.clone(),
    };
    let origin = crate::texts::fill(t::ORIGIN_HALL, &[("hall", &hall_name(state, &hall))]);
    let unit = input.follow_up_unit.clone();
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let s = state.clone();
    let outcome = state
        .store
        .write(move |c| {
            if let Some(key) = &key
                && let Some(saved) = onestop_store::idempotency::claim(c, key, opener.now_ms)?
            {
                return Ok(Err(saved));
            }
            consultations::insert(c, &k)?;
            let follow_up = match (&follow_up_id, &unit) {
                (Some(fid), Some(unit)) => Some(opener.open(
                    c,
                    fid,
                    &Opening {
                        kind: FollowUpKind::Consultation,
                        subject_id: &k.id,
                        unit,
                        hall: Some(&k.hall),
                        application_id: None,
                        summary: &k.topic,
                        origin: &origin,
                        level: "",
                        comment: None,
                    },
                )?),
                _ => None,
            };
            onestop_store::follow_ups::event(
                c,
                "consultation",
                &k.id,
                Some(&k.hall),
                unit.as_deref(),
                opener.now_ms,
                &opener.actor,
                "consultation_logged",
                &serde_json::json!({
                    "services": k.services,
                    "topic": k.topic,
                    "follow_up": follow_up_id,
                    "unit": unit,
                }),
            )?;
            let v = view(&s, &k, follow_up.as_ref());
            if let Some(key) = &key {
                let body = serde_json::to_string(&v)
                    .map_err(|e| onestop_store::StoreError::Internal(e.to_string()))?;
                onestop_store::idempotency::complete(
                    c,
                    key,
                    201,
                    Some(&format!("/api/v1/consultations/{}", k.id)),
                    &body,
                )?;
            }
            Ok(Ok(v))
        })
        .await?;
    match outcome {
        Ok(v) => Ok(Logged::Created(Box::new(v))),
        Err(saved) if Some(&saved.request_hash) == hash.as_ref() => Ok(Logged::Replayed(saved)),
        Err(_) => Err(crate::app::applications::idempotency_conflict()),
    }
}

/// One consultation with its follow-up, if the caller may read it: a
/// clerk of its hall, the unit it was passed on to, a supervisor or an
/// administrator. The read is audited (it holds the customer's contact).
pub async fn consultation(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<(Consultation, Option<FollowUp>), Error> {
    if id.len() > 64 || caller.subject.is_anonymous() {
        return Err(Error::NotFound);
    }
    let found = state
        .store
        .read(move |c| {
            let Some(k) = consultations::get(c, &id)? else {
                return Ok(None);
            };
            let f = match &k.follow_up_id {
                Some(fid) => onestop_store::follow_ups::get(c, fid)?,
                None => None,
            };
            Ok(Some((k, f)))
        })
        .await?;
    let Some((k, f)) = found else {
        return Err(Error::NotFound);
    };
    let v = caller.subject.applications();
    let seen = v.all
        || v.halls.contains(&k.hall)
        || f.as_ref().is_some_and(|f| v.units.contains(&f.unit_code));
    if !seen {
        caller.hidden("consultation", &k.id);
        return Err(Error::NotFound);
    }
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "consultation_read",
            "success",
            "consultation",
            &k.id,
            serde_json::json!({}),
        ))
        .await?;
    Ok((k, f))
}

/// A hall's consultations of today (city time), the latest first, with
/// their follow-ups.
pub async fn today(
    state: &AppState,
    hall: String,
) -> Result<Vec<(Consultation, Option<FollowUp>)>, Error> {
    let day = local_day(state.now_ms(), state.offset);
    Ok(state
        .store
        .read(move |c| {
            let ks = consultations::of_hall_day(c, &hall, &day, 200)?;
            let mut out = Vec::with_capacity(ks.len());
            for k in ks {
                let f = match &k.follow_up_id {
                    Some(fid) => onestop_store::follow_ups::get(c, fid)?,
                    None => None,
                };
                out.push((k, f));
            }
            Ok(out)
        })
        .await?)
}

/// A consultation as a list shows it: the customer's phone masked.
pub fn masked(c: &Customer) -> Customer {
    Customer {
        phone: c.phone.as_deref().map(mask_phone),
        ..c.clone()
    }
}

// ───────────────────────────── the queue ─────────────────────────────

/// A queue ticket as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: String,
    pub hall: String,
    /// The local date it was taken on (`YYYY-MM-DD`).
    pub day: String,
    /// The day's number at the hall, from 1.
    pub number: i64,
    /// As read out: the kind's letter and the number (`C003`).
    pub label: String,
    pub kind: BusinessKind,
    pub status: TicketStatus,
    pub taken_at: String,
    pub called_at: Option<String>,
    /// The counter (窗口) it was called to.
    pub counter: Option<i64>,
    pub finished_at: Option<String>,
    /// Whole minutes waited: until called, or until now while waiting.
    pub waited_minutes: i64,
    /// Whole minutes at the counter, once served.
    pub service_minutes: Option<i64>,
}

pub fn ticket_view(state: &AppState, tk: &Ticket) -> TicketView {
    let at = |ms: i64| timefmt::format(timefmt::from_ms(ms, state.offset));
    let waited_until = tk
        .called_at_ms
        .or(tk.finished_at_ms)
        .unwrap_or_else(|| state.now_ms());
    TicketView {
        id: tk.id.clone(),
        hall: tk.hall.clone(),
        day: tk.day.clone(),
        number: tk.number,
        label: ticket_label(tk.kind, tk.number),
        kind: tk.kind,
        status: tk.status,
        taken_at: at(tk.taken_at_ms),
        called_at: tk.called_at_ms.map(at),
        counter: tk.counter,
        finished_at: tk.finished_at_ms.map(at),
        waited_minutes: ((waited_until - tk.taken_at_ms).max(0)) / 60_000,
        service_minutes: match (tk.status, tk.called_at_ms, tk.finished_at_ms) {
            (TicketStatus::Served, Some(c), Some(f)) => Some((f - c).max(0) / 60_000),
            _ => None,
        },
    }
}

/// A hall's queue now: who waits (the longest first), who is at a
/// counter, and today's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueView {
    pub hall: String,
    pub day: String,
    pub waiting: Vec<TicketView>,
    pub serving: Vec<TicketView>,
    /// Tickets taken, served and missed today.
    pub taken: i64,
    pub served: i64,
    pub missed: i64,
    /// Average whole minutes waited by those called today, and spent at
    /// the counter by those served (none yet: null).
    pub average_wait_minutes: Option<i64>,
    pub average_service_minutes: Option<i64>,
}

/// Tickets of a hall's day read at once (a busy hall takes a few hundred).
const DAY_TICKETS: u32 = 2_000;

/// The hall's queue of today.
pub async fn queue(
    state: &AppState,
    caller: &Caller,
    hall: Option<&str>,
) -> Result<QueueView, Error> {
    let hall = clerk_hall(caller, hall)?;
    let day = local_day(state.now_ms(), state.offset);
    let (h, d) = (hall.clone(), day.clone());
    let tickets = state
        .store
        .read(move |c| queue::of_day(c, &h, &d, DAY_TICKETS))
        .await?;
    let views: Vec<TicketView> = tickets.iter().map(|tk| ticket_view(state, tk)).collect();
    let called: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| t.called_at_ms.is_some())
        .collect();
    let served: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Served)
        .collect();
    let average = |sum: i64, n: usize| (n > 0).then(|| sum / n as i64 / 60_000);
    Ok(QueueView {
        waiting: views
            .iter()
            .filter(|v| v.status == TicketStatus::Waiting)
            .cloned()
            .collect(),
        serving: views
            .iter()
            .filter(|v| v.status == TicketStatus::Called)
            .cloned()
            .collect(),
        taken: tickets.len() as i64,
        served: served.len() as i64,
        missed: tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Missed)
            .count() as i64,
        average_wait_minutes: average(
            called
                .iter()
                .map(|t| t.called_at_ms.unwrap_or(t.taken_at_ms) - t.taken_at_ms)
                .sum(),
            called.len(),
        ),
        average_service_minutes: average(
            served
                .iter()
                .map(|t| t.finished_at_ms.unwrap_or_default() - t.called_at_ms.unwrap_or_default())
                .sum(),
            served.len(),
        ),
        hall,
        day,
    })
}

/// A ticket is taken at the hall for a kind of business: the day's next
/// number there.
pub async fn take_ticket(
    state: &AppState,
    caller: &Caller,
    hall: Option<&str>,
    kind: BusinessKind,
) -> Result<TicketView, Error> {
    let hall = clerk_hall(caller, hall)?;
    let now_ms = state.now_ms();
    let day = local_day(now_ms, state.offset);
    let by = caller.subject.actor();
    let id = crate::app::applications::new_id();
    let tk = state
        .store
        .write(move |c| {
            let tk = queue::take(c, &id, &hall, &day, kind, &by, now_ms)?;
            onestop_store::follow_ups::event(
                c,
                "ticket",
                &tk.id,
                Some(&tk.hall),
                None,
                now_ms,
                &by,
                "ticket_taken",
                &serde_json::json!({"kind": kind.as_str(), "number": tk.number}),
            )?;
            Ok(tk)
        })
        .await?;
    Ok(ticket_view(state, &tk))
}

/// What calling the next ticket came to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    /// The ticket called to the counter (null: nobody waits).
    pub called: Option<TicketView>,
    /// The ticket the counter was serving, served now.
    pub served: Vec<TicketView>,
}

/// A counter calls the next ticket (of `kind`, or any): the one it was
/// serving is served, the longest waiting is called.
pub async fn call_next(
    state: &AppState,
    caller: &Caller,
    hall: Option<&str>,
    counter: i64,
    kind: Option<BusinessKind>,
) -> Result<CallView, Error> {
    let hall = clerk_hall(caller, hall)?;
    let now_ms = state.now_ms();
    let day = local_day(now_ms, state.offset);
    let by = caller.subject.actor();
    let (served, called) = state
        .store
        .write(move |c| {
            let (served, called) = queue::call_next(c, &hall, &day, counter, kind, &by, now_ms)?;
            for tk in &served {
                onestop_store::follow_ups::event(
                    c,
                    "ticket",
                    &tk.id,
                    Some(&tk.hall),
                    None,
                    now_ms,
                    &by,
                    "ticket_served",
                    &serde_json::json!({"counter": counter}),
                )?;
            }
            if let Some(tk) = &called {
                onestop_store::follow_ups::event(
                    c,
                    "ticket",
                    &tk.id,
                    Some(&tk.hall),
                    None,
                    now_ms,
                    &by,
                    "ticket_called",
                    &serde_json::json!({"counter": counter}),
                )?;
            }
            Ok((served, called))
        })
        .await?;
    Ok(CallView {
        called: called.as_ref().map(|tk| ticket_view(state, tk)),
        served: served.iter().map(|tk| ticket_view(state, tk)).collect(),
    })
}

/// A ticket at the counter is served, or one not there is missed (过号).
pub async fn finish_ticket(
    state: &AppState,
    caller: &Caller,
    id: String,
    outcome: TicketStatus,
) -> Result<TicketView, Error> {
    if !caller.subject.may(Capability::WorkCounter) {
        return Err(Error::forbidden());
    }
    if id.len() > 64 {
        return Err(Error::NotFound);
    }
    let halls = halls_of(caller);
    let i = id.clone();
    let Some(tk) = state.store.read(move |c| queue::get(c, &i)).await? else {
        return Err(Error::NotFound);
    };
    if !halls.contains(&tk.hall) {
        caller.hidden("ticket", &tk.id);
        return Err(Error::NotFound);
    }
    let now_ms = state.now_ms();
    let by = caller.subject.actor();
    let done = state
        .store
        .write(move |c| {
            let Some(tk) = queue::finish(c, &id, outcome, &by, now_ms)? else {
                return Ok(None);
            };
            onestop_store::follow_ups::event(
                c,
                "ticket",
                &tk.id,
                Some(&tk.hall),
                None,
                now_ms,
                &by,
                if outcome == TicketStatus::Served {
                    "ticket_served"
                } else {
                    "ticket_missed"
                },
                &serde_json::json!({"counter": tk.counter}),
            )?;
            Ok(Some(tk))
        })
        .await?;
    match done {
        Some(tk) => Ok(ticket_view(state, &tk)),
        None => {
            let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::TICKET_ENDED);
            e.set_allowed(Vec::new());
            Err(e)
        }
    }
}

// ───────────────────────────── the search ─────────────────────────────

/// What the window's search box was given: an application number, a USCC
/// or a contact phone (as the lists read them), or a utility account
/// number (户号).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterSearch {
    Lookup(onestop_domain::form::Lookup),
    Account(String),
}

impl CounterSearch {
    pub fn parse(q: &str) -> Option<CounterSearch> {
        if let Some(l) = onestop_domain::form::Lookup::parse(q) {
            let account_like = matches!(&l, onestop_domain::form::Lookup::Number(n)
                if onestop_domain::counter::application_number(n).is_none());
            if !account_like {
                return Some(CounterSearch::Lookup(l));
            }
        }
        onestop_domain::counter::account_number(q).map(CounterSearch::Account)
    }
}

/// A utility account (户号) a search found: the billing connector's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHit {
    pub number: String,
    /// The utility that holds it.
    pub unit: String,
    pub holder: String,
}

/// The utility accounts (户号) matching `number`, asked of every utility's
/// billing system at once (`app::billing::lookup`, audited); a utility that
/// does not answer in time is left out.
pub async fn find_accounts(
    state: &AppState,
    caller: &Caller,
    number: &str,
) -> Result<Vec<AccountHit>, Error> {
    let Some(by) = onestop_domain::billing::Lookup::parse(number) else {
        return Ok(Vec::new());
    };
    if !caller.subject.may(Capability::TakePayments) {
        return Ok(Vec::new());
    }
    let found = crate::app::billing::lookup(state, caller, &by, None).await?;
    Ok(found
        .items
        .into_iter()
        .map(|a| AccountHit {
            number: a.account_no,
            unit: a.unit.name,
            holder: a.name,
        })
        .collect())
}

/// What the search found: applications of every channel (as a status),
/// and accounts.
pub struct Found {
    pub applications: Vec<onestop_domain::application::Application>,
    pub accounts: Vec<AccountHit>,
}

/// The window's search for a customer (audited where it reads applications).
pub async fn search(state: &AppState, caller: &Caller, s: &CounterSearch) -> Result<Found, Error> {
    if !caller.subject.may(Capability::WorkCounter) {
        return Err(Error::forbidden());
    }
    Ok(match s {
        CounterSearch::Lookup(l) => Found {
            applications: crate::app::applications::counter_lookup(state, caller, l).await?,
            accounts: Vec::new(),
        },
        CounterSearch::Account(n) => Found {
            applications: Vec::new(),
            accounts: find_accounts(state, caller, n).await?,
        },
    })
}

// ───────────────────────────── the board's figures ─────────────────────────────

/// Consultations about one service over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceConsultations {
    pub service: String,
    pub consultations: i64,
}

/// Ratings over a period: by level, and the share satisfied (基本满意 and
/// better).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Satisfaction {
    pub ratings: i64,
    pub satisfied: i64,
    /// 不满意 or worse.
    pub bad: i64,
    /// `satisfied / ratings`, absent without ratings.
    pub satisfaction_rate: Option<f64>,
    /// Mean score, 5 (非常满意) to 1 (非常不满意), absent without ratings.
    pub average_score: Option<f64>,
}

fn satisfaction(s: Option<&onestop_store::ratings::Satisfaction>) -> Satisfaction {
    match s {
        None => Satisfaction::default(),
        Some(s) => Satisfaction {
            ratings: s.total(),
            satisfied: s.satisfied(),
            bad: s.bad(),
            satisfaction_rate: s.rate(),
            average_score: s.average(),
        },
    }
}

/// One hall's window over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HallFigures {
    pub hall: String,
    /// As the registry names it.
    pub name: String,
    /// The hall's district (absent for a hall no longer registered).
    pub district: Option<String>,
    pub consultations: i64,
    /// Queue tickets taken, called, served and missed.
    pub tickets: i64,
    pub served: i64,
    pub missed: i64,
    /// Mean whole minutes from taking a ticket to being called, and at
    /// the counter (absent when none).
    pub average_wait_minutes: Option<i64>,
    pub average_service_minutes: Option<i64>,
    /// Bills paid at the window that the utility did not refuse (pending
    /// or paid), and their amount in fen.
    pub payments: i64,
    pub payment_amount_fen: i64,
    /// Joint applications filed at the window.
    pub applications: i64,
    #[serde(flatten)]
    pub satisfaction: Satisfaction,
}

/// One hall's window on one day (only days with any activity).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HallDayFigures {
    pub hall: String,
    #[schema(value_type = String, format = Date)]
    pub day: String,
    pub consultations: i64,
    pub tickets: i64,
    pub served: i64,
    pub average_wait_minutes: Option<i64>,
    pub payments: i64,
    pub payment_amount_fen: i64,
    pub applications: i64,
}

/// One unit's ratings and follow-ups over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitWindowFigures {
    pub unit: onestop_domain::application::UnitRef,
    #[serde(flatten)]
    pub satisfaction: Satisfaction,
    /// Follow-ups (consultations and bad ratings) answered in the period,
    /// of them after the deadline, and those due in it still open past it.
    pub follow_ups_answered: i64,
    pub follow_ups_late: i64,
    pub follow_ups_overdue_open: i64,
    /// `(answered − late) / (answered + overdue open)`, absent when none.
    pub follow_ups_on_time_rate: Option<f64>,
}

/// The window's figures for the board and its export (一窗受理与好差评).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WindowFigures {
    /// Consultations by service, in the city's order (the service filter
    /// applies).
    pub consultations: Vec<ServiceConsultations>,
    /// Per hall, by code (the district filter keeps the district's halls).
    pub halls: Vec<HallFigures>,
    /// Per hall and day, by day then hall.
    pub hall_days: Vec<HallDayFigures>,
    /// Per utility the board lists.
    pub units: Vec<UnitWindowFigures>,
    /// Every rating of the period, whoever it concerns.
    pub satisfaction: Satisfaction,
}

/// What the window's figures are narrowed to.
#[derive(Debug, Clone, Default)]
pub struct WindowFilter {
    /// Halls of this district only.
    pub district: Option<String>,
    /// Consultations and applications about this service, payments to
    /// the utilities serving it.
    pub service: Option<String>,
}

/// Queue, consultation, payment and filing counts of one hall (on one day
/// or over the period).
#[derive(Default, Clone, Copy)]
struct Tally {
    consultations: i64,
    tickets: i64,
    called: i64,
    wait_seconds: i64,
    served: i64,
    service_seconds: i64,
    missed: i64,
    payments: i64,
    payment_amount_fen: i64,
    applications: i64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.consultations += o.consultations;
        self.tickets += o.tickets;
        self.called += o.called;
        self.wait_seconds += o.wait_seconds;
        self.served += o.served;
        self.service_seconds += o.service_seconds;
        self.missed += o.missed;
        self.payments += o.payments;
        self.payment_amount_fen += o.payment_amount_fen;
        self.applications += o.applications;
    }

    fn average_wait_minutes(&self) -> Option<i64> {
        (self.called > 0).then(|| self.wait_seconds / self.called / 60)
    }
}

/// `YYYY-MM-DD` of a day number since 1970-01-01.
fn day_text(day: i64) -> String {
    let d = i32::try_from(day + 2_440_588)
        .ok()
        .and_then(|j| time::Date::from_julian_day(j).ok())
        .unwrap_or(time::Date::MIN);
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// The window's figures from `from` to `to` (city dates, inclusive) for
/// `units` (the board's utilities), narrowed by `filter`.
pub async fn figures(
    state: &AppState,
    from: time::Date,
    to: time::Date,
    filter: WindowFilter,
    units: Vec<String>,
) -> Result<WindowFigures, Error> {
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day());
    let (from_day, to_day) = (day(from), day(to));
    let ms = |d: time::Date| timefmt::to_ms(d.midnight().assume_offset(state.offset));
    let period = onestop_store::board::Period {
        from_ms: ms(from),
        to_ms: ms(to + time::Duration::days(1)),
        offset_ms: i64::from(state.offset.whole_seconds()) * 1000,
    };
    let now_ms = state.now_ms();
    let registry = crate::app::halls::registry(state).await?;
    let service = filter.service.clone();
    let (consulted, times, by_unit, by_hall, follow_ups, paid, filed) = state
        .store
        .read(move |c| {
            let s = service.as_deref();
            Ok((
                consultations::daily_by_service(c, &from_day, &to_day, s)?,
                queue::daily_times(c, &from_day, &to_day)?,
                onestop_store::ratings::satisfaction_by_unit(c, &from_day, &to_day)?,
                onestop_store::ratings::satisfaction_by_hall(c, &from_day, &to_day)?,
                onestop_store::follow_ups::on_time_by_unit(
                    c,
                    period.from_ms,
                    period.to_ms,
                    now_ms,
                )?,
                onestop_store::payments::per_hall_day(
                    c,
                    period.from_ms,
                    period.to_ms,
                    period.offset_ms,
                )?,
                onestop_store::board::window_filings(c, s, period)?,
            ))
        })
        .await?;
    let config = &state.config;
    let consultations = config
        .services
        .iter()
        .map(|s| ServiceConsultations {
            service: s.code.clone(),
            consultations: consulted
                .iter()
                .filter(|d| d.service == s.code && in_district(&registry, &filter, &d.hall))
                .map(|d| d.count)
                .sum(),
        })
        .filter(|s| s.consultations > 0)
        .collect();
    // Payments count for the service when their utility serves it.
    let pays_for_service = |unit: &str| match filter.service.as_deref() {
        None => true,
        Some(s) => config.serves(s, unit),
    };
    let mut days: std::collections::BTreeMap<(String, String), Tally> = Default::default();
    fn at<'a>(
        days: &'a mut std::collections::BTreeMap<(String, String), Tally>,
        d: String,
        h: &str,
    ) -> &'a mut Tally {
        days.entry((d, h.to_owned())).or_default()
    }
    for d in &consulted {
        at(&mut days, d.day.clone(), &d.hall).consultations += d.count;
    }
    for t in &times {
        let x = at(&mut days, t.day.clone(), &t.hall);
        x.tickets += t.taken;
        x.called += t.called;
        x.wait_seconds += t.wait_seconds;
        x.served += t.served;
        x.service_seconds += t.service_seconds;
        x.missed += t.missed;
    }
    for p in paid.iter().filter(|p| pays_for_service(&p.unit_code)) {
        let x = at(&mut days, day_text(p.day), &p.hall_code);
        x.payments += p.payments;
        x.payment_amount_fen += p.amount_fen;
    }
    for f in &filed {
        at(&mut days, day_text(f.day), &f.hall_code).applications += f.filed;
    }
    days.retain(|(_, h), _| in_district(&registry, &filter, h));
    let mut totals: std::collections::BTreeMap<String, Tally> = Default::default();
    for ((_, h), t) in &days {
        totals.entry(h.clone()).or_default().add(t);
    }
    for s in by_hall.iter().filter(|s| !s.code.is_empty()) {
        if in_district(&registry, &filter, &s.code) {
            totals.entry(s.code.clone()).or_default();
        }
    }
    let halls = totals
        .into_iter()
        .map(|(h, t)| {
            let entry = registry.get(&h);
            HallFigures {
                name: entry.map_or_else(|| h.clone(), |e| e.hall.name.clone()),
                district: entry.map(|e| e.hall.district_code.clone()),
                consultations: t.consultations,
                tickets: t.tickets,
                served: t.served,
                missed: t.missed,
                average_wait_minutes: t.average_wait_minutes(),
                average_service_minutes: (t.served > 0).then(|| t.service_seconds / t.served / 60),
                payments: t.payments,
                payment_amount_fen: t.payment_amount_fen,
                applications: t.applications,
                satisfaction: satisfaction(by_hall.iter().find(|s| s.code == h)),
                hall: h,
            }
        })
        .collect();
    let mut hall_days: Vec<HallDayFigures> = days
        .into_iter()
        .map(|((d, h), t)| HallDayFigures {
            hall: h,
            day: d,
            consultations: t.consultations,
            tickets: t.tickets,
            served: t.served,
            average_wait_minutes: t.average_wait_minutes(),
            payments: t.payments,
            payment_amount_fen: t.payment_amount_fen,
            applications: t.applications,
        })
        .collect();
    hall_days.sort_by(|a, b| (&a.day, &a.hall).cmp(&(&b.day, &b.hall)));
    let units = units
        .iter()
        .map(|u| {
            let f: Vec<&onestop_store::follow_ups::OnTime> =
                follow_ups.iter().filter(|f| &f.unit_code == u).collect();
            let answered: i64 = f.iter().map(|x| x.answered).sum();
            let late: i64 = f.iter().map(|x| x.late).sum();
            let open: i64 = f.iter().map(|x| x.overdue_open).sum();
            UnitWindowFigures {
                unit: onestop_domain::application::UnitRef {
                    code: u.clone(),
                    name: config.unit(u).map_or_else(|| u.clone(), |x| x.name.clone()),
                },
                satisfaction: satisfaction(by_unit.iter().find(|s| &s.code == u)),
                follow_ups_answered: answered,
                follow_ups_late: late,
                follow_ups_overdue_open: open,
                follow_ups_on_time_rate: (answered + open > 0)
                    .then(|| (answered - late) as f64 / (answered + open) as f64),
            }
        })
        .collect();
    let mut all = onestop_store::ratings::Satisfaction::default();
    for s in &by_unit {
        for (i, n) in s.by_score.iter().enumerate() {
            all.by_score[i] += n;
        }
    }
    Ok(WindowFigures {
        consultations,
        halls,
        hall_days,
        units,
        satisfaction: satisfaction(Some(&all)),
    })
}

/// Whether a hall is kept by the district filter (a hall the registry no
/// longer knows is in no district).
fn in_district(registry: &crate::app::halls::Registry, f: &WindowFilter, hall: &str) -> bool {
    match &f.district {
        None => true,
        Some(d) => registry
            .get(hall)
            .is_some_and(|e| &e.hall.district_code == d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_term_is_an_application_a_customer_or_an_account() {
        use onestop_domain::form::Lookup;
        assert_eq!(
            CounterSearch::parse("lb202612010001"),
            Some(CounterSearch::Lookup(Lookup::Number(
                "LB202612010001".into()
            )))
        );
        assert_eq!(
            CounterSearch::parse("13800001111"),
            Some(CounterSearch::Lookup(Lookup::Phone("13800001111".into())))
        );
        assert_eq!(
            CounterSearch::parse("0722001234567"),
            Some(CounterSearch::Account("0722001234567".into()))
        );
        assert_eq!(
            CounterSearch::parse("sd-00123"),
            Some(CounterSearch::Account("SD-00123".into()))
        );
        assert_eq!(CounterSearch::parse("张三"), None);
    }
}
