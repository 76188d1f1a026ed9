//! Fees of work orders (费用明细) and the zero-investment rule
//! (外线接入工程企业零投资): a utility's operators itemise an order's
//! costs; an item the user would pay for works outside the building's red
//! line is refused unless an administrator recorded a documented exception
//! for the order (audited), and then it is accepted, linked to the
//! exception and flagged. Every party that may see the order sees its
//! costs; the enterprise sees its orders' costs on its application.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::auth::Caller;
use crate::texts::fees as t;
use onestop_domain::access::Capability;
use onestop_domain::application::{OrderStatus, UnitRef};
use onestop_domain::config::CityConfig;
use onestop_domain::fees::{self, CostDraft, CostItem, CostTotals, ExceptionDraft, Payer, Verdict};
use onestop_domain::form::FieldError;
use onestop_domain::timefmt;
use onestop_store::StoreError;
use onestop_store::audit;
use onestop_store::db::Conn;
use onestop_store::fees::{self as store, FeeException, OrderCost};
use onestop_store::idempotency::{self, IdempotencyKey, SavedResponse};
use onestop_store::work_orders;
use serde::Serialize;
use utoipa::ToSchema;

/// One cost item as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CostView {
    pub id: String,
    pub work_order_id: String,
    /// What it is (费用项目).
    pub item: String,
    /// Integer fen.
    pub amount_fen: i64,
    pub payer: Payer,
    /// The works lie outside the building's red line (建筑红线外).
    pub outside_red_line: bool,
    /// The exception that allowed a user-paid item outside the red line.
    pub exception_id: Option<String>,
    /// Paid by the user outside the red line under an exception.
    pub flagged: bool,
    pub created_at: String,
    pub created_by: String,
}

/// Sums of an order's standing items, integer fen.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CostTotalsView {
    /// Borne by the utility outside the red line (its zero investment).
    pub utility_outside_red_line_fen: i64,
    pub utility_inside_red_line_fen: i64,
    /// What the user pays in all (inside the red line, and outside only
    /// under an exception).
    pub user_fen: i64,
    /// Paid by the user outside the red line (exception only).
    pub user_outside_red_line_fen: i64,
}

impl From<CostTotals> for CostTotalsView {
    fn from(t: CostTotals) -> Self {
        CostTotalsView {
            utility_outside_red_line_fen: t.utility_outside_fen,
            utility_inside_red_line_fen: t.utility_inside_fen,
            user_fen: t.user_fen(),
            user_outside_red_line_fen: t.user_outside_fen,
        }
    }
}

/// The costs of one work order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderCosts {
    pub work_order_id: String,
    pub service: String,
    pub unit: UnitRef,
    /// Items standing (not withdrawn), oldest first.
    pub items: Vec<CostView>,
    pub totals: CostTotalsView,
    /// The order's documented exception, if an administrator recorded one.
    pub exception: Option<ExceptionView>,
}

/// A documented exception to the zero-investment rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExceptionView {
    pub id: String,
    pub work_order_id: String,
    pub application_id: String,
    pub unit: UnitRef,
    pub reason: String,
    /// The document that allows it (文号).
    pub document: String,
    pub recorded_at: String,
    pub recorded_by: String,
}

fn at(state: &AppState, ms: i64) -> String {
    timefmt::format(timefmt::from_ms(ms, state.offset))
}

fn unit_ref(config: &CityConfig, code: &str) -> UnitRef {
    UnitRef {
        code: code.to_owned(),
        name: config
            .unit(code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone()),
    }
}

fn item_of(c: &OrderCost) -> CostItem {
    CostItem {
        item: c.item.clone(),
        amount_fen: c.amount_fen,
        payer: c.payer,
        outside_red_line: c.outside_red_line,
    }
}

pub fn cost_view(state: &AppState, c: &OrderCost) -> CostView {
    CostView {
        id: c.id.clone(),
        work_order_id: c.work_order_id.clone(),
        item: c.item.clone(),
        amount_fen: c.amount_fen,
        payer: c.payer,
        outside_red_line: c.outside_red_line,
        exception_id: c.exception_id.clone(),
        flagged: c.exception_id.is_some(),
        created_at: at(state, c.created_at_ms),
        created_by: onestop_domain::access::actor_label(&c.created_by),
    }
}

pub fn exception_view(state: &AppState, x: &FeeException) -> ExceptionView {
    ExceptionView {
        id: x.id.clone(),
        work_order_id: x.work_order_id.clone(),
        application_id: x.application_id.clone(),
        unit: unit_ref(&state.config, &x.unit_code),
        reason: x.reason.clone(),
        document: x.document.clone(),
        recorded_at: at(state, x.recorded_at_ms),
        recorded_by: onestop_domain::access::actor_label(&x.recorded_by),
    }
}

fn order_costs(
    state: &AppState,
    order_id: &str,
    service: &str,
    unit: &UnitRef,
    items: &[OrderCost],
    exception: Option<&FeeException>,
) -> OrderCosts {
    let mut totals = CostTotals::default();
    let mine: Vec<&OrderCost> = items
        .iter()
        .filter(|c| c.work_order_id == order_id)
        .collect();
    for c in &mine {
        totals.add(&item_of(c));
    }
    OrderCosts {
        work_order_id: order_id.to_owned(),
        service: service.to_owned(),
        unit: unit.clone(),
        items: mine.iter().map(|c| cost_view(state, c)).collect(),
        totals: totals.into(),
        exception: exception.map(|x| exception_view(state, x)),
    }
}

/// The costs of one order the caller may see (`404` otherwise).
pub async fn of_order(state: &AppState, caller: &Caller, id: String) -> Result<OrderCosts, Error> {
    let Some(row) = crate::app::workorders::visible_order(state, caller, id).await? else {
        return Err(Error::NotFound);
    };
    let oid = row.item.order.id.clone();
    let (items, exception) = state
        .store
        .read(move |c| {
            Ok((
                store::costs_of_order(c, &oid)?,
                store::exception_of_order(c, &oid)?,
            ))
        })
        .await?;
    let o = &row.item.order;
    Ok(order_costs(
        state,
        &o.id,
        &o.service,
        &o.unit,
        &items,
        exception.as_ref(),
    ))
}

/// The costs of every order of an application, in the orders' order
/// (orders without items too). No access check: the caller checks.
pub async fn costs_of_application(
    state: &AppState,
    application_id: String,
) -> Result<Vec<OrderCosts>, Error> {
    let config = state.config.clone();
    let offset = state.offset;
    let (app, items, exceptions) = state
        .store
        .read(move |c| {
            let app = onestop_store::applications::get(c, &application_id, &config, offset)?;
            let items = store::costs_of_application(c, &application_id)?;
            let exceptions = store::exceptions_of_application(c, &application_id)?;
            Ok((app, items, exceptions))
        })
        .await?;
    let Some(app) = app else {
        return Err(Error::NotFound);
    };
    Ok(app
        .work_orders
        .iter()
        .map(|o| {
            let exception = exceptions.iter().rev().find(|x| x.work_order_id == o.id);
            order_costs(state, &o.id, &o.service, &o.unit, &items, exception)
        })
        .collect())
}

/// A cost item to add, checked (but not yet against the rule, which needs
/// the order's exception).
#[derive(Debug, Clone)]
pub struct CostInput(pub CostItem);

impl CostInput {
    pub fn parse(d: &CostDraft<'_>) -> Result<Self, Error> {
        fees::parse_cost(d).map(CostInput).map_err(Error::Invalid)
    }
}

fn order_closed() -> Error {
    Error::refused(Refusal::Conflict, "order_closed", t::ORDER_CLOSED)
}

/// Whether an order still takes cost changes.
fn open(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Open | OrderStatus::Returned)
}

/// Adds a cost item to an order, by the order's own utility (its operators
/// or a key writing its orders): `404` for an order the caller may not
/// see, `403` for one it sees but does not handle, `409 order_closed` once
/// the order is finished. A user-paid item outside the red line is refused
/// (`422`, field `payer` code `policy_violation`, the policy named) unless
/// the order has a documented exception; then it is linked to it.
pub async fn add(
    state: &AppState,
    caller: &Caller,
    order_id: String,
    input: CostInput,
    key: Option<IdempotencyKey>,
) -> Result<Added, Error> {
    let visibility = caller.subject.work_orders();
    if visibility.is_nothing() || order_id.len() > 64 {
        return Err(Error::NotFound);
    }
    let config = state.config.clone();
    let offset = state.offset;
    let subject = caller.subject.clone();
    let mark = caller.mark.clone();
    let actor = caller.subject.actor();
    let account = caller.account().map(|a| a.id.clone());
    let now_ms = state.now_ms();
    let id = crate::app::applications::new_id();
    let item = input.0;
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let s = state.clone();
    let outcome = state
        .store
        .write(move |c| {
            if let Some(k) = &key
                && let Some(saved) = idempotency::claim(c, k, now_ms)?
            {
                return Ok(Err(saved));
            }
            let outcome = add_in(
                c,
                &AddJob {
                    order_id: &order_id,
                    config: &config,
                    offset,
                    visibility: &visibility,
                    subject: &subject,
                    mark: &mark,
                    actor: &actor,
                    account: account.as_deref(),
                    now_ms,
                    id: &id,
                    item: &item,
                },
            )?
            .map(|cost| cost_view(&s, &cost));
            if let Some(k) = &key {
                let (status, body) = match &outcome {
                    Ok(v) => (201, serde_json::to_string(v)),
                    Err(e) if e.is_lasting() => {
                        let (status, body) = crate::error::answer_of(e);
                        (status.as_u16(), serde_json::to_string(&body))
                    }
                    Err(_) => {
                        idempotency::release(c, k)?;
                        return Ok(Ok(outcome));
                    }
                };
                let body = body.map_err(|e| StoreError::Internal(e.to_string()))?;
                idempotency::complete(c, k, status, None, &body)?;
            }
            Ok(Ok(outcome))
        })
        .await?;
    match outcome {
        Ok(done) => done.map(Added::Created),
        Err(saved) if Some(&saved.request_hash) == hash.as_ref() => Ok(Added::Replayed(saved)),
        Err(_) => Err(crate::app::applications::idempotency_conflict()),
    }
}

/// What adding an item came to.
pub enum Added {
    Created(CostView),
    /// The `Idempotency-Key`'s first answer, replayed.
    Replayed(SavedResponse),
}

/// What [`add_in`] needs.
struct AddJob<'a> {
    order_id: &'a str,
    config: &'a CityConfig,
    offset: time::UtcOffset,
    visibility: &'a onestop_domain::access::Visibility,
    subject: &'a onestop_domain::access::Subject,
    mark: &'a crate::refusals::Mark,
    actor: &'a str,
    account: Option<&'a str>,
    now_ms: i64,
    id: &'a str,
    item: &'a CostItem,
}

/// Adds the item inside the writer's transaction, with its history event.
fn add_in(c: &mut dyn Conn, j: &AddJob<'_>) -> Result<Result<OrderCost, Error>, StoreError> {
    let (config, offset, item) = (j.config, j.offset, j.item);
    let order_id = j.order_id;
    let Some(row) = work_orders::get(c, order_id, config, offset)? else {
        return Ok(Err(Error::NotFound));
    };
    if !j.visibility.admits_order(&row.facts()) {
        j.mark.hidden("work_order", order_id);
        return Ok(Err(Error::NotFound));
    }
    let o = &row.item.order;
    if !j.subject.operates(&o.unit.code) {
        return Ok(Err(Error::forbidden()));
    }
    if !open(o.status) {
        return Ok(Err(order_closed()));
    }
    if store::count_of_order(c, &o.id)? >= fees::MAX_ITEMS_PER_ORDER as i64 {
        return Ok(Err(Error::refused(
            Refusal::Conflict,
            "too_many_items",
            t::TOO_MANY_ITEMS,
        )));
    }
    let exception = store::exception_of_order(c, &o.id)?;
    let exception_id = match fees::check_policy(item, exception.is_some()) {
        Verdict::Allowed => None,
        Verdict::ByException => exception.map(|x| x.id),
        Verdict::Refused => {
            return Ok(Err(refused_by_policy()));
        }
    };
    let cost = OrderCost {
        id: j.id.to_owned(),
        work_order_id: o.id.clone(),
        application_id: row.item.application_id.clone(),
        unit_code: o.unit.code.clone(),
        item: item.item.clone(),
        amount_fen: item.amount_fen,
        payer: item.payer,
        outside_red_line: item.outside_red_line,
        exception_id,
        created_at_ms: j.now_ms,
        created_by: j.actor.to_owned(),
        created_by_account: j.account.map(str::to_owned),
        withdrawn_at_ms: None,
        withdrawn_by: None,
    };
    store::insert_cost(c, &cost)?;
    onestop_store::applications::history(
        c,
        &cost.application_id,
        Some(&cost.work_order_id),
        j.now_ms,
        j.actor,
        "cost_added",
        &serde_json::json!({
            "cost": cost.id,
            "item": cost.item,
            "amount_fen": cost.amount_fen,
            "payer": cost.payer.as_str(),
            "outside_red_line": cost.outside_red_line,
            "exception": cost.exception_id,
        }),
    )?;
    Ok(Ok(cost))
}

/// The refusal of a user-paid item outside the red line: field `payer`,
/// code `policy_violation`, the policy named.
pub fn refused_by_policy() -> Error {
    Error::InvalidAs(fees::POLICY_ZH, vec![fees::policy_error("payer")])
}

/// Withdraws a standing item of an order, by the order's own utility while
/// the order is open.
pub async fn withdraw(
    state: &AppState,
    caller: &Caller,
    order_id: String,
    cost_id: String,
) -> Result<(), Error> {
    let visibility = caller.subject.work_orders();
    if visibility.is_nothing() || order_id.len() > 64 || cost_id.len() > 64 {
        return Err(Error::NotFound);
    }
    let config = state.config.clone();
    let offset = state.offset;
    let subject = caller.subject.clone();
    let mark = caller.mark.clone();
    let actor = caller.subject.actor();
    let now_ms = state.now_ms();
    state
        .store
        .write(move |c| {
            let Some(row) = work_orders::get(c, &order_id, &config, offset)? else {
                return Ok(Err(Error::NotFound));
            };
            if !visibility.admits_order(&row.facts()) {
                mark.hidden("work_order", &order_id);
                return Ok(Err(Error::NotFound));
            }
            let o = &row.item.order;
            if !subject.operates(&o.unit.code) {
                return Ok(Err(Error::forbidden()));
            }
            if !open(o.status) {
                return Ok(Err(order_closed()));
            }
            if !store::withdraw_cost(c, &o.id, &cost_id, &actor, now_ms)? {
                return Ok(Err(Error::NotFound));
            }
            onestop_store::applications::history(
                c,
                &row.item.application_id,
                Some(&o.id),
                now_ms,
                &actor,
                "cost_withdrawn",
                &serde_json::json!({"cost": cost_id}),
            )?;
            Ok(Ok(()))
        })
        .await?
}

/// An exception to record, checked.
#[derive(Debug, Clone)]
pub struct ExceptionInput(pub ExceptionDraft);

impl ExceptionInput {
    pub fn parse(reason: Option<&str>, document: Option<&str>) -> Result<Self, Error> {
        fees::parse_exception(reason, document)
            .map(ExceptionInput)
            .map_err(Error::Invalid)
    }
}

/// Records a documented exception for an order (administrators only),
/// audited in the same transaction. `403` for others, `404` for an
/// unknown order.
pub async fn record_exception(
    state: &AppState,
    caller: &Caller,
    order_id: String,
    input: ExceptionInput,
) -> Result<ExceptionView, Error> {
    if !caller.subject.may(Capability::ManageFeeExceptions) {
        return Err(Error::forbidden());
    }
    if order_id.len() > 64 {
        return Err(Error::NotFound);
    }
    let config = state.config.clone();
    let offset = state.offset;
    let now_ms = state.now_ms();
    let id = crate::app::applications::new_id();
    let rec = caller.audit(
        now_ms,
        "fee_exception_recorded",
        "success",
        "work_order",
        &order_id,
        serde_json::json!({
            "fee_exception": id,
            "document": input.0.document,
            "note": input.0.reason,
        }),
    );
    let key = state.audit_key.clone();
    let actor = caller.subject.actor();
    let account = caller.account().map(|a| a.id.clone());
    let draft = input.0;
    let x = state
        .store
        .write(move |c| {
            let Some(row) = work_orders::get(c, &order_id, &config, offset)? else {
                return Ok(None);
            };
            let x = FeeException {
                id: id.clone(),
                work_order_id: row.item.order.id.clone(),
                application_id: row.item.application_id.clone(),
                unit_code: row.item.order.unit.code.clone(),
                reason: draft.reason.clone(),
                document: draft.document.clone(),
                recorded_at_ms: now_ms,
                recorded_by: actor.clone(),
                recorded_by_account: account.clone(),
            };
            store::insert_exception(c, &x)?;
            onestop_store::applications::history(
                c,
                &x.application_id,
                Some(&x.work_order_id),
                now_ms,
                &actor,
                "fee_exception_recorded",
                &serde_json::json!({
                    "exception": x.id,
                    "document": x.document,
                    "reason": x.reason,
                }),
            )?;
            audit::append(c, &key, std::slice::from_ref(&rec))?;
            Ok(Some(x))
        })
        .await?
        .ok_or(Error::NotFound)?;
    Ok(exception_view(state, &x))
}

/// The exceptions recorded, the latest first (administrators and supervisors).
pub async fn list_exceptions(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<ExceptionView>, Error> {
    if !caller.subject.may(Capability::ReadFeeExceptions) {
        return Err(Error::forbidden());
    }
    let rows = state
        .store
        .read(|c| store::list_exceptions(c, store::MAX_LIST))
        .await?;
    Ok(rows.iter().map(|x| exception_view(state, x)).collect())
}

/// Field errors of a body's JSON types (a text that is not a string, …),
/// for the API handler to merge with the rule's.
pub fn merge(mut errors: Vec<FieldError>, e: Error) -> Error {
    match e {
        Error::Invalid(more) => {
            errors.extend(more);
            Error::Invalid(errors)
        }
        other if errors.is_empty() => other,
        _ => Error::Invalid(errors),
    }
}
