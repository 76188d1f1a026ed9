//! Correcting a returned application (补正): the applicant (or the clerk of
//! the hall it was filed at) opens a returned order's service section and
//! the contact as filed, changes what the utility asked for, and
//! resubmits. The resubmission is the process's `resubmit` action carrying
//! the corrected parts; the use case that takes it is
//! [`crate::app::workorders::act`], which validates them like the form,
//! stores the new revision and keeps the old one.

use crate::AppState;
use crate::app::error::Error;
use crate::app::workorders::{self, ActionData, ActionInput, RESUBMIT};
use crate::auth::Caller;
use onestop_domain::application::{OrderStatus, WorkOrderItem};
use onestop_domain::form::ApplicationForm;
use onestop_store::work_orders::OrderRow;

/// A returned order the caller may correct, with the form as it stands and
/// why it was returned.
pub struct Returned {
    pub order: OrderRow,
    pub form: ApplicationForm,
    /// The utility's reason, from the latest return.
    pub reason: Option<String>,
}

/// Whether this caller may resubmit this order now.
pub fn may_correct(state: &AppState, caller: &Caller, row: &OrderRow) -> bool {
    let order = &row.item.order;
    order.status == OrderStatus::Returned
        && state
            .config
            .process
            .allowed_with(
                order.stage,
                order.status,
                &workorders::order_roles(&caller.subject, row),
                &row.process_facts(),
            )
            .iter()
            .any(|a| a.code == RESUBMIT)
}

/// The returned order `id`, if the caller sees it and may correct it now.
pub async fn returned(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<Option<Returned>, Error> {
    let Some(order) = workorders::visible_order(state, caller, id).await? else {
        return Ok(None);
    };
    if !may_correct(state, caller, &order) {
        return Ok(None);
    }
    let (app_id, order_id) = (
        order.item.application_id.clone(),
        order.item.order.id.clone(),
    );
    let found = state
        .store
        .read(move |c| {
            let form = onestop_store::applications::current_form(c, &app_id)?;
            let events = onestop_store::applications::events(c, &app_id)?;
            Ok((form, events))
        })
        .await?;
    let (Some((form, _)), events) = found else {
        return Ok(None);
    };
    let reason = events
        .iter()
        .rev()
        .find(|e| {
            e.work_order_id.as_deref() == Some(order_id.as_str())
                && e.kind == "return_for_correction"
        })
        .and_then(|e| e.data["data"]["reason"].as_str().map(str::to_owned));
    Ok(Some(Returned {
        order,
        form,
        reason,
    }))
}

/// Resubmits a returned order with its corrected service section (`section`,
/// the form's `services.<service>` object) and contact.
pub async fn resubmit(
    state: &AppState,
    caller: &Caller,
    id: String,
    version: i64,
    service: &str,
    section: serde_json::Value,
    contact: serde_json::Value,
) -> Result<WorkOrderItem, Error> {
    let mut data = serde_json::Map::new();
    data.insert("services".into(), serde_json::json!({ service: section }));
    data.insert("contact".into(), contact);
    workorders::act(
        state,
        caller,
        id,
        ActionInput {
            action: RESUBMIT.into(),
            version,
            data: ActionData::from_json(&data),
        },
    )
    .await
}

/// What the applicant (or the clerk of its hall) can do next on one
/// application: correct its returned orders, or cancel it.
#[derive(Debug, Clone, Default)]
pub struct FollowUp {
    /// Returned orders the caller may correct: (order id, the utility's reason).
    pub returned: Vec<(String, Option<String>)>,
    /// The caller may cancel the application (some order still allows it).
    pub may_cancel: bool,
}

/// [`FollowUp`] for this caller on `app`, with its history `events`.
pub fn follow_up(
    state: &AppState,
    caller: &Caller,
    app: &onestop_domain::application::Application,
    events: &[onestop_store::applications::Event],
) -> FollowUp {
    let roles = caller
        .subject
        .roles_on_application(&crate::app::applications::facts(app, &[], &[]));
    let process = &state.config.process;
    let allows = |o: &onestop_domain::application::WorkOrder, code: &str| {
        process
            .allowed(o.stage, o.status, &roles)
            .iter()
            .any(|a| a.code == code)
    };
    let reason_of = |id: &str| {
        events
            .iter()
            .rev()
            .find(|e| e.work_order_id.as_deref() == Some(id) && e.kind == "return_for_correction")
            .and_then(|e| e.data["data"]["reason"].as_str().map(str::to_owned))
    };
    FollowUp {
        returned: app
            .work_orders
            .iter()
            .filter(|o| o.status == OrderStatus::Returned && allows(o, RESUBMIT))
            .map(|o| (o.id.clone(), reason_of(&o.id)))
            .collect(),
        may_cancel: app.work_orders.iter().any(|o| allows(o, "cancel")),
    }
}
