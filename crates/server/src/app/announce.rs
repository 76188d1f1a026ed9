//! Messages on arrival and on every change that needs someone, each sent in
//! the transaction of the change that causes it (in the app, and by email
//! and SMS as each account's settings allow — see
//! [`onestop_store::notifications::send`]):
//!
//! - a new work order, or one back from the applicant after a correction,
//!   to its unit's operators;
//! - an approval item put to a department (a new case, or a rejected one
//!   resubmitted) to the department's approvers;
//! - a department's rejection to the operators of the utilities whose works
//!   the case covers;
//! - the joint survey's appointment, set or moved, to the enterprise;
//! - a cancelled application's pending approval items, withdrawn, to their
//!   departments.
//!
//! The texts are the templates under `templates/messages/` (see
//! [`crate::app::messages`]).

use crate::app::messages::{self, clause, date_zh};
use onestop_domain::application::{Application, OrderStatus};
use onestop_domain::approval::ItemStatus;
use onestop_domain::config::CityConfig;
use onestop_domain::timefmt;
use onestop_store::StoreError;
use onestop_store::approvals::{self, Case};
use onestop_store::db::Conn;
use onestop_store::notifications::{self, Message};
use onestop_store::work_orders::OrderUpdate;
use time::UtcOffset;

/// The history event of a cancellation's withdrawn items.
pub const WITHDRAWN_EVENT: &str = "approval_items_withdrawn";

/// An instant for people.
fn when(ms: i64, offset: UtcOffset) -> String {
    timefmt::when_zh(timefmt::from_ms(ms, offset), offset)
}

fn unit_name(config: &CityConfig, code: &str) -> String {
    config
        .unit(code)
        .map_or_else(|| code.to_owned(), |u| u.name.clone())
}

fn service_name(config: &CityConfig, code: &str) -> String {
    config
        .service(code)
        .map_or_else(|| code.to_owned(), |s| s.name.clone())
}

/// The works' dates for people: one day, or from one to another.
fn dates(case: &Case) -> String {
    if case.from_date == case.to_date {
        date_zh(&case.from_date)
    } else {
        format!("{}至{}", date_zh(&case.from_date), date_zh(&case.to_date))
    }
}

/// One message: its text, the event it is for (an account gets it once),
/// its kind, where it leads and when it happened.
fn message(
    text: messages::Text,
    event_key: String,
    kind: &str,
    link: String,
    at_ms: i64,
) -> Message {
    Message {
        event_key,
        kind: kind.to_owned(),
        title: text.title,
        body: text.body,
        link: Some(link),
        at_ms,
    }
}

/// Gives `m` to `to` (nobody: nothing).
fn send(
    c: &mut dyn Conn,
    config: &CityConfig,
    to: &[String],
    m: Message,
) -> Result<(), StoreError> {
    if !to.is_empty() {
        notifications::send(c, to, &m, crate::jobs::delivery::outward(config))?;
    }
    Ok(())
}

/// Tells each new order's unit of its order (the application just written).
pub(crate) fn new_orders(
    c: &mut dyn Conn,
    config: &CityConfig,
    offset: UtcOffset,
    app: &Application,
) -> Result<(), StoreError> {
    let at_ms = timefmt::to_ms(app.submitted_at);
    for o in &app.work_orders {
        let to = notifications::holders(c, "operator", Some(&o.unit.code))?;
        let text = messages::fill(&messages::OrderArrived {
            resubmitted: false,
            number: &app.number,
            applicant: &app.form.applicant.name,
            service: &service_name(config, &o.service),
            unit: &o.unit.name,
            due: &timefmt::when_zh(o.due_at, offset),
        });
        send(
            c,
            config,
            &to,
            message(
                text,
                format!("order_new:{}", o.id),
                "order_new",
                format!("/work-orders/{}", o.id),
                at_ms,
            ),
        )?;
    }
    Ok(())
}

/// Tells an order's unit that it is back in its hands: the applicant
/// corrected a returned order (any action from `returned` to `open`).
pub(crate) fn order_back(
    c: &mut dyn Conn,
    config: &CityConfig,
    offset: UtcOffset,
    application_id: &str,
    u: &OrderUpdate,
    new_version: i64,
) -> Result<(), StoreError> {
    if !(u.from_status == OrderStatus::Returned && u.status == OrderStatus::Open) {
        return Ok(());
    }
    let Some(app) = onestop_store::applications::get(c, application_id, config, offset)? else {
        return Ok(());
    };
    let Some(o) = app.work_orders.iter().find(|o| o.id == u.id) else {
        return Ok(());
    };
    let to = notifications::holders(c, "operator", Some(&o.unit.code))?;
    let text = messages::fill(&messages::OrderArrived {
        resubmitted: true,
        number: &app.number,
        applicant: &app.form.applicant.name,
        service: &service_name(config, &o.service),
        unit: &o.unit.name,
        due: &when(u.due_at_ms, offset),
    });
    send(
        c,
        config,
        &to,
        message(
            text,
            format!("order_back:{}:v{new_version}", u.id),
            "order_resubmitted",
            format!("/work-orders/{}", u.id),
            u.at_ms,
        ),
    )
}

/// Tells each department with a pending item in the case's current round
/// that it has the item: after the case was raised (round 1), or revised
/// and resubmitted (`note`: what was revised).
pub(crate) fn items_put(
    c: &mut dyn Conn,
    config: &CityConfig,
    offset: UtcOffset,
    case_id: &str,
    note: Option<&str>,
    at_ms: i64,
) -> Result<(), StoreError> {
    let Some(case) = approvals::get(c, case_id)? else {
        return Ok(());
    };
    let Some(app) = onestop_store::applications::get(c, &case.application_id, config, offset)?
    else {
        return Ok(());
    };
    let unit = unit_name(config, &case.raised_by_unit);
    let dates = dates(&case);
    for i in case
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Pending && i.round == case.round)
    {
        let to = notifications::holders(c, "approver", Some(&i.department))?;
        let text = messages::fill(&messages::ApprovalItem {
            round: case.round,
            number: &app.number,
            applicant: &app.form.applicant.name,
            unit: &unit,
            department: &unit_name(config, &i.department),
            place: clause(&case.place),
            dates: &dates,
            note: note.map(clause),
            due: &when(i.due_at_ms, offset),
        });
        let kind = if case.round > 1 {
            "approval_item_resubmitted"
        } else {
            "approval_item_new"
        };
        send(
            c,
            config,
            &to,
            message(
                text,
                format!("approval_item:{}:r{}", i.id, case.round),
                kind,
                format!("/approval-cases/{}", case.id),
                at_ms,
            ),
        )?;
    }
    Ok(())
}

/// Tells the utilities with works in the case that `department` rejected
/// it (its item in the case's current round), with the opinion: each
/// utility's operators, about their own order.
pub(crate) fn case_rejected(
    c: &mut dyn Conn,
    config: &CityConfig,
    offset: UtcOffset,
    case_id: &str,
    item_id: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let Some(case) = approvals::get(c, case_id)? else {
        return Ok(());
    };
    let Some(item) = case.items.iter().find(|i| i.id == item_id) else {
        return Ok(());
    };
    let Some(app) = onestop_store::applications::get(c, &case.application_id, config, offset)?
    else {
        return Ok(());
    };
    let department = unit_name(config, &item.department);
    let opinion = item.opinion.as_deref().map(clause).unwrap_or_default();
    let mut told: Vec<String> = Vec::new();
    for o in app
        .work_orders
        .iter()
        .filter(|o| case.works.contains(&o.id))
    {
        // One message per unit, about its first order in the case.
        if told.contains(&o.unit.code) {
            continue;
        }
        told.push(o.unit.code.clone());
        let to = notifications::holders(c, "operator", Some(&o.unit.code))?;
        let text = messages::fill(&messages::ApprovalRejected {
            number: &app.number,
            department: &department,
            place: clause(&case.place),
            opinion,
            unit: &o.unit.name,
            service: &service_name(config, &o.service),
            due: &timefmt::when_zh(o.due_at, offset),
        });
        send(
            c,
            config,
            &to,
            message(
                text,
                format!("approval_rejected:{}:r{}", item.id, item.round),
                "approval_rejected",
                format!("/approval-cases/{}", case.id),
                at_ms,
            ),
        )?;
    }
    Ok(())
}

/// Proposes (or, with the version seen, moves) the joint survey appointment
/// with its history event — [`onestop_store::surveys::propose`] — and tells
/// the enterprise when it is set or moved, all inside the caller's
/// transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn survey(
    c: &mut dyn Conn,
    config: &CityConfig,
    offset: UtcOffset,
    application_id: &str,
    at_ms: i64,
    unit: &str,
    actor: &str,
    expected_version: Option<i64>,
    now_ms: i64,
) -> Result<onestop_store::surveys::Outcome, StoreError> {
    use onestop_store::surveys::{self, Outcome};
    let before = surveys::get(c, application_id, config, offset)?.map(|s| s.at);
    let outcome = surveys::propose(
        c,
        application_id,
        at_ms,
        unit,
        actor,
        expected_version,
        now_ms,
    )?;
    if !matches!(outcome, Outcome::Created | Outcome::Moved) {
        return Ok(outcome);
    }
    let Some(app) = onestop_store::applications::get(c, application_id, config, offset)? else {
        return Ok(outcome);
    };
    let version = app.survey.as_ref().map_or(1, |s| s.version);
    let to = onestop_store::applications::enterprise_accounts(c, &app)?;
    let address = format!(
        "{}{}",
        config
            .district(&app.form.address.district_code)
            .map_or("", |d| d.name.as_str()),
        app.form.address.detail
    );
    let before = before
        .filter(|_| outcome == Outcome::Moved)
        .map(|t| timefmt::when_zh(t, offset));
    let text = messages::fill(&messages::SurveyAppointed {
        number: &app.number,
        unit: &unit_name(config, unit),
        at: &when(at_ms, offset),
        before: before.as_deref(),
        address: &address,
    });
    let kind = if outcome == Outcome::Moved {
        "survey_moved"
    } else {
        "survey_appointed"
    };
    send(
        c,
        config,
        &to,
        message(
            text,
            format!("survey:{application_id}:v{version}"),
            kind,
            format!("/applications/{application_id}"),
            now_ms,
        ),
    )?;
    Ok(outcome)
}

/// After an application was cancelled (inside the same transaction):
/// withdraws its case's pending approval items, with one history event, and
/// tells each of their departments.
pub(crate) fn cancelled(
    c: &mut dyn Conn,
    config: &CityConfig,
    offset: UtcOffset,
    application_id: &str,
    reason: Option<&str>,
    actor: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some((case, withdrawn)) = approvals::withdraw_pending(c, application_id, now_ms)? else {
        return Ok(());
    };
    onestop_store::applications::history(
        c,
        application_id,
        None,
        now_ms,
        actor,
        WITHDRAWN_EVENT,
        &serde_json::json!({
            "case": case.id,
            "items": withdrawn.iter().map(|i| &i.id).collect::<Vec<_>>(),
            "departments": withdrawn.iter().map(|i| &i.department).collect::<Vec<_>>(),
        }),
    )?;
    let Some(app) = onestop_store::applications::get(c, application_id, config, offset)? else {
        return Ok(());
    };
    for i in &withdrawn {
        let to = notifications::holders(c, "approver", Some(&i.department))?;
        let text = messages::fill(&messages::ApprovalWithdrawn {
            number: &app.number,
            applicant: &app.form.applicant.name,
            department: &unit_name(config, &i.department),
            reason: reason.map(clause).filter(|r| !r.is_empty()),
        });
        send(
            c,
            config,
            &to,
            message(
                text,
                format!("approval_withdrawn:{}", i.id),
                "approval_withdrawn",
                format!("/approval-cases/{}", case.id),
                now_ms,
            ),
        )?;
    }
    Ok(())
}
