//! Reminders (督办): a supervisor's note on an open work order, which the
//! handling unit acknowledges. Both are in the order's history and reach
//! the other side as in-app messages.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::messages;
use crate::app::workorders::visible_order;
use crate::auth::Caller;
use crate::texts::reminders as t;
use onestop_domain::access::{Capability, Subject};
use onestop_domain::application::OrderStatus;
use onestop_domain::text::TextKind;
use onestop_store::notifications::{self, Message};
use onestop_store::reminders::{self, Reminder};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderView {
    pub id: i64,
    pub work_order_id: String,
    pub note: String,
    pub sent_by: String,
    pub sent_at: String,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    pub reply: Option<String>,
}

pub fn view(state: &AppState, r: Reminder) -> ReminderView {
    let t = |ms: i64| {
        onestop_domain::timefmt::format(onestop_domain::timefmt::from_ms(ms, state.offset))
    };
    ReminderView {
        id: r.id,
        work_order_id: r.work_order_id,
        note: r.note,
        sent_by: onestop_domain::access::actor_label(&r.sent_by),
        sent_at: t(r.sent_at_ms),
        acknowledged_by: r
            .acknowledged_by
            .as_deref()
            .map(onestop_domain::access::actor_label),
        acknowledged_at: r.acknowledged_at_ms.map(t),
        reply: r.reply,
    }
}

/// A free-text field (the one cleaning rule); `required` or not.
fn text(
    value: Option<&str>,
    name: &str,
    label: &str,
    required: bool,
) -> Result<Option<String>, Error> {
    onestop_domain::text::check_field(name, label, TextKind::ShortNote, value, required)
        .map_err(|e| Error::Invalid(vec![e]))
}

/// A reminder's note as asked for (required).
#[derive(Debug, Clone)]
pub struct ReminderInput {
    pub note: String,
}

impl ReminderInput {
    pub fn parse(note: Option<&str>) -> Result<Self, Error> {
        Ok(Self {
            note: text(note, "note", t::NOTE, true)?.unwrap_or_default(),
        })
    }
}

/// An acknowledgement as asked for, with an optional reply.
#[derive(Debug, Clone)]
pub struct AcknowledgementInput {
    pub reply: Option<String>,
}

impl AcknowledgementInput {
    pub fn parse(reply: Option<&str>) -> Result<Self, Error> {
        Ok(Self {
            reply: text(reply, "reply", t::REPLY, false)?,
        })
    }
}

/// A supervisor reminds the handling unit of an open order.
pub async fn send(
    state: &AppState,
    caller: &Caller,
    order_id: String,
    input: ReminderInput,
) -> Result<ReminderView, Error> {
    let Some(row) = visible_order(state, caller, order_id).await? else {
        return Err(Error::NotFound);
    };
    if !caller.subject.may(Capability::Supervise) {
        return Err(Error::forbidden());
    }
    let o = &row.item.order;
    if !matches!(o.status, OrderStatus::Open | OrderStatus::Returned) {
        let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::ORDER_CLOSED);
        e.set_allowed(Vec::new());
        return Err(e);
    }
    let note = input.note;
    let now_ms = state.now_ms();
    let by = caller.subject.actor();
    let account = caller.account().map(|a| a.id.clone());
    let (oid, app_id, unit) = (
        o.id.clone(),
        row.item.application_id.clone(),
        o.unit.code.clone(),
    );
    let service = state
        .config
        .service(&o.service)
        .map_or_else(|| o.service.clone(), |s| s.name.clone());
    let number = row.item.application_number.clone();
    // The sender as the unit reads it: name and unit, not the login.
    let by_name = crate::app::actors::Actors::read(state, vec![by.clone()])
        .await?
        .who(&state.config, &by, None)
        .text;
    let outward = crate::jobs::delivery::outward(&state.config);
    let id = state
        .store
        .write(move |c| {
            let id = reminders::insert(
                c,
                &oid,
                &app_id,
                &unit,
                &note,
                &by,
                account.as_deref(),
                now_ms,
            )?;
            onestop_store::applications::history(
                c,
                &app_id,
                Some(&oid),
                now_ms,
                &by,
                "reminder_sent",
                &serde_json::json!({"reminder": id, "note": note}),
            )?;
            let to = notifications::holders(c, "operator", Some(&unit))?;
            let text = messages::fill(&messages::Reminder {
                number: &number,
                service: &service,
                by: &by_name,
                note: &note,
            });
            notifications::send(
                c,
                &to,
                &Message {
                    event_key: format!("reminder:{id}"),
                    kind: "reminder".into(),
                    title: text.title,
                    body: text.body,
                    link: Some(format!("/work-orders/{oid}")),
                    at_ms: now_ms,
                },
                outward,
            )?;
            Ok(id)
        })
        .await?;
    reread(state, id).await
}

/// Whether the caller handles the unit's orders.
pub fn handles(subject: &Subject, unit: &str) -> bool {
    subject.operates(unit)
}

/// The handling unit acknowledges a reminder, optionally with a reply.
pub async fn acknowledge(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: AcknowledgementInput,
) -> Result<ReminderView, Error> {
    let Some(r) = state.store.read(move |c| reminders::get(c, id)).await? else {
        return Err(Error::NotFound);
    };
    if visible_order(state, caller, r.work_order_id.clone())
        .await?
        .is_none()
    {
        caller.hidden("reminder", &id.to_string());
        return Err(Error::NotFound);
    }
    if !handles(&caller.subject, &r.unit_code) {
        return Err(Error::forbidden());
    }
    let reply = input.reply;
    let now_ms = state.now_ms();
    let by = caller.subject.actor();
    let by_name = crate::app::actors::Actors::read(state, vec![by.clone()])
        .await?
        .who(&state.config, &by, Some(&r.unit_code))
        .text;
    let r2 = r.clone();
    let outward = crate::jobs::delivery::outward(&state.config);
    let done = state
        .store
        .write(move |c| {
            if !reminders::acknowledge(c, r2.id, &by, reply.as_deref(), now_ms)? {
                return Ok(false);
            }
            onestop_store::applications::history(
                c,
                &r2.application_id,
                Some(&r2.work_order_id),
                now_ms,
                &by,
                "reminder_acknowledged",
                &serde_json::json!({"reminder": r2.id, "reply": reply}),
            )?;
            if let Some(sender) = &r2.sent_by_account {
                let text = messages::fill(&messages::ReminderAcknowledged {
                    by: &by_name,
                    note: &r2.note,
                    reply: reply.as_deref(),
                });
                notifications::send(
                    c,
                    std::slice::from_ref(sender),
                    &Message {
                        event_key: format!("reminder:{}:acknowledged", r2.id),
                        kind: "reminder_acknowledged".into(),
                        title: text.title,
                        body: text.body,
                        link: Some(format!("/work-orders/{}", r2.work_order_id)),
                        at_ms: now_ms,
                    },
                    outward,
                )?;
            }
            Ok(true)
        })
        .await?;
    if !done {
        let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::ACKNOWLEDGED);
        e.set_allowed(Vec::new());
        return Err(e);
    }
    reread(state, id).await
}

/// A work order's reminders, oldest first.
pub async fn of_order(
    state: &AppState,
    caller: &Caller,
    order_id: String,
) -> Result<Vec<ReminderView>, Error> {
    let Some(row) = visible_order(state, caller, order_id).await? else {
        return Err(Error::NotFound);
    };
    let id = row.item.order.id.clone();
    let found = state
        .store
        .read(move |c| reminders::of_order(c, &id))
        .await?;
    Ok(found.into_iter().map(|r| view(state, r)).collect())
}

/// A reminder just written, as the caller now sees it.
async fn reread(state: &AppState, id: i64) -> Result<ReminderView, Error> {
    let r = state
        .store
        .read(move |c| reminders::get(c, id))
        .await?
        .ok_or(Error::Internal(
            "a record written in this transaction is missing",
        ))?;
    Ok(view(state, r))
}
