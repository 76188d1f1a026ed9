//! Parallel approval over the API (`spec/API.md`): a utility raises one case
//! per application for its works at or above the threshold; each department
//! decides its item; a signed commitment approves the accepting departments'
//! items at once; an approved case moves its works on to construction.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::workorders::stale_version;
use crate::auth::Caller;
use crate::texts::{self, approvals as t};
use onestop_domain::access::{Role, Scope, Subject};
use onestop_domain::application::{OrderStatus, Stage, UnitRef};
use onestop_domain::approval::{self, CaseStatus, ItemStatus};
use onestop_domain::calendar::Clock;
use onestop_domain::clock::StageClock;
use onestop_domain::form::FieldCode;
use onestop_domain::form::FieldError;
use onestop_domain::text::TextKind;
use onestop_domain::workflow::SYSTEM_ROLE;
use onestop_store::StoreError;
use onestop_store::approvals::{self, Case, Item};
use onestop_store::db::Conn;
use onestop_store::paging::{Page, PageAt};
use onestop_store::work_orders::{self, OrderUpdate};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub id: String,
    pub department: UnitRef,
    pub required: bool,
    /// `pending`, `approved`, `rejected`, `not_applicable`, or `withdrawn`
    /// (the application was cancelled while the item was pending: no
    /// decision is asked for, and it has no level).
    pub status: ItemStatus,
    /// Approved at once on the signed commitment.
    pub automatic: bool,
    pub opinion: Option<String>,
    pub decided_at: Option<String>,
    pub due_at: String,
    /// Present (`true`) while the item is pending and its deadline falls on
    /// a day the official holiday notice does not cover yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
    pub version: i64,
    /// The round this item was last put to its department in.
    pub round: i64,
    /// `normal`, `warning` or `overdue` while pending.
    pub level: onestop_domain::application::Level,
}

/// One decision in one round: a line of the consolidated opinion sheet.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub item_id: String,
    pub round: i64,
    pub department: UnitRef,
    pub decision: ItemStatus,
    pub automatic: bool,
    pub opinion: String,
    /// Who signed it (`account:<name>`, `apikey:<name>`, or `system:commitment`).
    pub decided_by: String,
    /// When it was signed.
    pub decided_at: String,
}

/// What the utility revised before a resubmission.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// The round the resubmission opened.
    pub round: i64,
    pub note: String,
    pub revised_by: String,
    pub revised_at: String,
}

/// A case with every department's opinion and signed time: the data of the
/// consolidated opinion sheet (附表4).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub application_id: String,
    pub status: CaseStatus,
    pub place: String,
    pub from: String,
    pub to: String,
    #[schema(value_type = Option<Object>)]
    pub commitment: Option<serde_json::Value>,
    pub raised_by_unit: String,
    pub works: Vec<String>,
    pub due_at: String,
    /// The most urgent level of the items still pending (normal when none is).
    pub level: onestop_domain::application::Level,
    pub version: i64,
    /// 1, then one more for each resubmission after a rejection.
    pub round: i64,
    pub items: Vec<ItemView>,
    /// Every decision in every round, oldest first.
    pub decisions: Vec<DecisionView>,
    pub revisions: Vec<RevisionView>,
}

/// A case as stored, with its opinion sheet and revisions.
pub struct FullCase {
    pub case: Case,
    pub decisions: Vec<approvals::Decision>,
    pub revisions: Vec<approvals::Revision>,
}

fn load(c: &mut dyn Conn, id: &str) -> Result<Option<FullCase>, StoreError> {
    let Some(case) = approvals::get(c, id)? else {
        return Ok(None);
    };
    Ok(Some(FullCase {
        decisions: approvals::decisions(c, &case.id)?,
        revisions: approvals::revisions(c, &case.id)?,
        case,
    }))
}

async fn load_case(state: &AppState, id: String) -> Result<Option<FullCase>, Error> {
    Ok(state.store.read(move |c| load(c, &id)).await?)
}

/// A case just written, as the caller now sees it.
async fn reread(state: &AppState, id: String) -> Result<CaseView, Error> {
    let stored = load_case(state, id).await?.ok_or(Error::Internal(
        "a record written in this transaction is missing",
    ))?;
    Ok(view(state, stored))
}

pub fn view(state: &AppState, full: FullCase) -> CaseView {
    let FullCase {
        case: c,
        decisions,
        revisions,
    } = full;
    let t = |ms: i64| {
        onestop_domain::timefmt::format(onestop_domain::timefmt::from_ms(ms, state.offset))
    };
    let unit = |code: &str| UnitRef {
        code: code.to_owned(),
        name: state
            .config
            .unit(code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone()),
    };
    CaseView {
        id: c.id,
        application_id: c.application_id,
        status: c.status,
        place: c.place,
        from: c.from_date,
        to: c.to_date,
        commitment: c.commitment.and_then(|s| serde_json::from_str(&s).ok()),
        raised_by_unit: c.raised_by_unit,
        works: c.works,
        due_at: t(c.due_at_ms),
        level: case_level(&c.items),
        version: c.version,
        round: c.round,
        decisions: decisions
            .into_iter()
            .map(|d| DecisionView {
                department: unit(&d.department),
                item_id: d.item_id,
                round: d.round,
                decision: d.status,
                automatic: d.automatic,
                opinion: d.opinion,
                decided_by: d.decided_by,
                decided_at: t(d.decided_at_ms),
            })
            .collect(),
        revisions: revisions
            .into_iter()
            .map(|r| RevisionView {
                round: r.round,
                note: r.note,
                revised_by: r.revised_by,
                revised_at: t(r.revised_at_ms),
            })
            .collect(),
        items: c
            .items
            .into_iter()
            .map(|i: Item| ItemView {
                department: unit(&i.department),
                id: i.id,
                required: i.required,
                status: i.status,
                automatic: i.automatic,
                opinion: i.opinion,
                decided_at: i.decided_at_ms.map(t),
                due_at: t(i.due_at_ms),
                provisional: provisional_item(state, i.status, i.due_at_ms),
                version: i.version,
                round: i.round,
                level: i.level,
            })
            .collect(),
    }
}

/// Whether a pending item's deadline was counted on the statutory rules
/// (no official holiday notice covers its day yet).
pub fn provisional_item(state: &AppState, status: ItemStatus, due_at_ms: i64) -> bool {
    status == ItemStatus::Pending && state.clock.get().is_provisional(due_at_ms.div_euclid(1000))
}

/// The most urgent level among a case's pending items.
pub(crate) fn case_level(items: &[Item]) -> onestop_domain::application::Level {
    onestop_domain::application::Level::worst(
        items
            .iter()
            .filter(|i| i.status == onestop_domain::approval::ItemStatus::Pending)
            .map(|i| i.level),
    )
}

/// The clock of an approval round's items starting at `now_ms`: the
/// approval limit, warning at the configured share.
fn approval_clock(state: &AppState, now_ms: i64) -> Result<StageClock, Error> {
    let clock = state.clock.get();
    let budget = clock.budget_for_days(state.config.limits.approval_days)?;
    Ok(StageClock::start(
        &clock,
        now_ms,
        budget,
        state.config.limits.warning_share,
    )?)
}

/// Moves every work of an approved case on, inside the caller's
/// transaction. Construction starts its budget at the approved works'
/// start date and is due no earlier than the close of their last day
/// (`onestop_domain::clock::construction_after_approval`); an order whose
/// clock cannot follow the works runs from now and is marked.
fn grant_works(
    c: &mut dyn Conn,
    case: &Case,
    config: &onestop_domain::config::CityConfig,
    clock: &Clock,
    now_ms: i64,
    actor: &str,
) -> Result<(), StoreError> {
    let works = &case.works;
    let period = onestop_domain::timefmt::parse_date(&case.from_date)
        .zip(onestop_domain::timefmt::parse_date(&case.to_date));
    let cal = StoreError::Calendar;
    let (process, limits) = (&config.process, &config.limits);
    for w in works {
        let Some(oc) = work_orders::clock(c, w)? else {
            continue;
        };
        let Ok(t) = process.plan(
            oc.stage,
            oc.status,
            "approval_granted",
            &serde_json::json!({}),
            &[SYSTEM_ROLE],
            limits,
        ) else {
            continue;
        };
        // A new stage: a new clock (construction's follows the works).
        let budget = onestop_domain::clock::budget(clock, t.limit_days).map_err(cal)?;
        let (fresh, works_start_unknown) = if t.to == Stage::Construction {
            onestop_domain::clock::construction_after_approval(
                clock,
                now_ms,
                period,
                budget,
                limits.warning_share,
            )
            .map_err(cal)?
        } else {
            let s = StageClock::start(clock, now_ms, budget, limits.warning_share).map_err(cal)?;
            (s, false)
        };
        let due = fresh.instants.due_at_ms;
        let level = fresh.level_at(now_ms);
        let u = OrderUpdate {
            id: w.clone(),
            expected_version: oc.version,
            from_stage: oc.stage,
            from_status: oc.status,
            stage: t.to,
            status: t.status,
            stage_started_at_ms: fresh.started_at_ms,
            budget_seconds: fresh.budget_seconds,
            suspended_seconds: fresh.suspended_seconds,
            suspended_at_ms: fresh.suspended_at_ms,
            not_before_ms: fresh.not_before_ms,
            works_start_unknown,
            due_at_ms: due,
            level,
            warn_at_ms: Some(fresh.instants.warn_at_ms),
            next_level_at_ms: fresh.next_change(level),
            at_ms: now_ms,
            actor: actor.to_owned(),
            kind: t.action.clone(),
            data: work_orders::transition_data(
                (oc.stage, oc.status),
                (t.to, t.status),
                &t.data,
                due,
            ),
            ended: work_orders::finishes_stage((oc.stage, oc.status), (t.to, t.status))
                .then(|| oc.stage_clock().end(clock, now_ms))
                .transpose()
                .map_err(cal)?,
        };
        if !work_orders::apply(c, &u, &oc.application_id)? {
            return Err(StoreError::Conflict(w.clone()));
        }
        crate::app::workorders::tell_applicant(c, config, &u, oc.version + 1)?;
    }
    Ok(())
}

fn event(
    c: &mut dyn Conn,
    app_id: &str,
    at: i64,
    actor: &str,
    kind: &str,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    onestop_store::applications::history(c, app_id, None, at, actor, kind, &data)
}

/// What raising a case came to.
enum Raised {
    Created,
    Exists,
    /// A work left the approval stage meanwhile.
    Moved,
}

/// What a decision came to.
enum Decided {
    Done,
    /// Someone decided (or the case was resubmitted) since the caller looked.
    Stale,
    /// None of the case's works waits on it any more (cancelled).
    NoWorks,
}

fn works_moved() -> Error {
    let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::WORKS_MOVED);
    e.set_allowed(Vec::new());
    e
}

/// Whether any of `works` still waits in the approval stage.
fn any_waiting(c: &mut dyn Conn, works: &[String]) -> Result<bool, StoreError> {
    for w in works {
        if work_orders::clock(c, w)?
            .is_some_and(|o| o.stage == Stage::Approval && o.status == OrderStatus::Open)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Raises the application's one approval case.
pub async fn raise(
    state: &AppState,
    caller: &Caller,
    id: String,
    input: approval::CaseInput,
) -> Result<CaseView, Error> {
    let Some(app) = crate::app::applications::read_application(state, caller, id).await? else {
        return Err(Error::NotFound);
    };
    let mut errors = Vec::new();
    let mut units = Vec::new();
    for (i, w) in input.works.iter().enumerate() {
        match app.work_orders.iter().find(|o| &o.id == w) {
            Some(o) if o.stage == Stage::Approval && o.status == OrderStatus::Open => {
                units.push(o.unit.code.clone())
            }
            Some(_) => errors.push(FieldError::new(
                format!("works.{i}"),
                FieldCode::NotAllowed,
                t::WORK_NOT_IN_APPROVAL,
            )),
            None => errors.push(FieldError::new(
                format!("works.{i}"),
                FieldCode::UnknownValue,
                t::WORK_NOT_OF_APPLICATION,
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let Some(raiser) = units.iter().find(|u| caller.subject.operates(u)).cloned() else {
        return Err(Error::forbidden());
    };
    let now_ms = state.now_ms();
    let items_clock = approval_clock(state, now_ms)?;
    let (warn_ms, due_ms) = (
        items_clock.instants.warn_at_ms,
        items_clock.instants.due_at_ms,
    );
    let planned = approval::plan_items(
        &state.config,
        &input.not_applicable,
        input.commitment.as_ref(),
    );
    let pairs: Vec<(bool, ItemStatus)> = planned.iter().map(|p| (p.required, p.status)).collect();
    let status = approval::case_status(&pairs);
    let case = Case {
        id: crate::app::applications::new_id(),
        application_id: app.id.clone(),
        status,
        place: input.place.clone(),
        from_date: input.from.to_string(),
        to_date: input.to.to_string(),
        commitment: input
            .commitment
            .as_ref()
            .map(|c| serde_json::to_string(c).unwrap_or_default()),
        raised_by_unit: raiser,
        created_at_ms: now_ms,
        due_at_ms: due_ms,
        version: 1,
        round: 1,
        works: input.works.clone(),
        items: planned
            .into_iter()
            .map(|p| Item {
                id: crate::app::applications::new_id(),
                case_id: String::new(),
                department: p.department,
                required: p.required,
                status: p.status,
                automatic: p.automatic,
                opinion: p.opinion,
                decided_by: p.automatic.then(|| "system:commitment".to_owned()),
                decided_at_ms: p.automatic.then_some(now_ms),
                due_at_ms: due_ms,
                version: 1,
                round: 1,
                level: onestop_domain::application::Level::Normal,
                warn_at_ms: Some(warn_ms),
            })
            .collect(),
    };
    let actor = caller.subject.actor();
    let (config, clock, offset) = (state.config.clone(), state.clock.get(), state.offset);
    let c2 = case.clone();
    let created = state
        .store
        .write(move |c| {
            if approvals::by_application(c, &c2.application_id)?.is_some() {
                return Ok(Raised::Exists);
            }
            // The works are still waiting on a case (checked again here,
            // where nothing can move them meanwhile).
            for w in &c2.works {
                let waiting = work_orders::clock(c, w)?
                    .is_some_and(|o| o.stage == Stage::Approval && o.status == OrderStatus::Open);
                if !waiting {
                    return Ok(Raised::Moved);
                }
            }
            approvals::insert(c, &c2, &actor)?;
            event(c, &c2.application_id, now_ms, &actor, "approval_case_raised", serde_json::json!({
                "case": c2.id, "works": c2.works, "commitment": c2.commitment.is_some(), "status": c2.status.as_str(),
            }))?;
            if c2.status == CaseStatus::Approved {
                grant_works(c, &c2, &config, &clock, now_ms, &actor)?;
            }
            // Each department with a pending item hears of it.
            crate::app::announce::items_put(c, &config, offset, &c2.id, None, now_ms)?;
            Ok(Raised::Created)
        })
        .await?;
    match created {
        Raised::Created => {}
        Raised::Exists => {
            return Err(Error::refused(
                Refusal::Conflict,
                "case_exists",
                t::CASE_EXISTS,
            ));
        }
        Raised::Moved => return Err(works_moved()),
    }
    reread(state, case.id.clone()).await
}

/// The departments whose items this caller decides.
pub fn departments(subject: &Subject) -> Vec<String> {
    match subject {
        Subject::Account(a) if !a.must_change_password => a
            .grants
            .iter()
            .filter(|g| g.role == Role::Approver)
            .map(|g| g.scope.clone())
            .collect(),
        Subject::ApiKey(k) => k
            .scopes
            .iter()
            .filter_map(|s| match s {
                Scope::ApprovalsWrite(d) => Some(d.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A department decides its item.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    item_id: String,
    input: DecisionInput,
) -> Result<CaseView, Error> {
    let mine = departments(&caller.subject);
    let i = item_id.clone();
    let found = state
        .store
        .read(move |c| {
            let Some(item) = approvals::item(c, &i)? else {
                return Ok(None);
            };
            Ok(approvals::get(c, &item.case_id)?.map(|case| (item, case)))
        })
        .await?;
    let Some((item, case)) = found else {
        return Err(Error::NotFound);
    };
    if !mine.contains(&item.department) {
        caller.hidden("approval_item", &item.id);
        return Err(Error::NotFound);
    }
    let DecisionInput {
        decision,
        opinion,
        version,
    } = input;
    // Withdrawn with its cancelled application: that is the answer, whatever
    // version the caller saw (looking again would not change it).
    if item.status == ItemStatus::Withdrawn {
        let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::ITEM_WITHDRAWN);
        e.set_allowed(Vec::new());
        return Err(e);
    }
    if item.version != version {
        return Err(stale_version());
    }
    if item.status != ItemStatus::Pending {
        let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::ITEM_DECIDED);
        e.set_allowed(Vec::new());
        return Err(e);
    }
    let now_ms = state.now_ms();
    let actor = caller.subject.actor();
    let (config, clock, offset) = (state.config.clone(), state.clock.get(), state.offset);
    let case_id = case.id.clone();
    let outcome = state
        .store
        .write(move |c| {
            let current = approvals::get(c, &case_id)?.ok_or_else(|| StoreError::Decode("case vanished".into()))?;
            if !any_waiting(c, &current.works)? {
                return Ok(Decided::NoWorks);
            }
            // The item as it stands now (a resubmission may have opened a new round).
            let Some(now_item) = current.items.iter().find(|i| i.id == item.id) else {
                return Ok(Decided::Stale);
            };
            if !approvals::decide(c, now_item, version, decision, &opinion, &actor, now_ms)? {
                return Ok(Decided::Stale);
            }
            let current = approvals::get(c, &case_id)?.ok_or_else(|| StoreError::Decode("case vanished".into()))?;
            let pairs: Vec<(bool, ItemStatus)> = current.items.iter().map(|i| (i.required, i.status)).collect();
            let status = approval::case_status(&pairs);
            event(c, &current.application_id, now_ms, &actor, "approval_item_decided", serde_json::json!({
                "case": case_id, "department": item.department, "decision": decision.as_str(), "opinion": opinion,
            }))?;
            if status != current.status {
                approvals::set_status(c, &case_id, status, now_ms)?;
                if status == CaseStatus::Approved {
                    grant_works(c, &current, &config, &clock, now_ms, &actor)?;
                }
            }
            // The utilities with works in the case hear of a rejection.
            if decision == ItemStatus::Rejected {
                crate::app::announce::case_rejected(c, &config, offset, &case_id, &item.id, now_ms)?;
            }
            Ok(Decided::Done)
        })
        .await?;
    match outcome {
        Decided::Done => {}
        Decided::Stale => return Err(stale_version()),
        Decided::NoWorks => return Err(works_moved()),
    }
    reread(state, case.id.clone()).await
}

/// A case the caller may see: one whose application the caller may see
/// (approvers see the applications that carry their items). Others are
/// `None`, as if absent.
pub async fn read_case(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<Option<(onestop_domain::application::Application, FullCase)>, Error> {
    if id.len() > 64 {
        return Ok(None);
    }
    let Some(full) = load_case(state, id).await? else {
        return Ok(None);
    };
    let app_id = full.case.application_id.clone();
    let Some(app) = crate::app::applications::read_application(state, caller, app_id).await? else {
        caller.hidden("approval_case", &full.case.id);
        return Ok(None);
    };
    Ok(Some((app, full)))
}

/// Whether the caller acts for a utility with works in the case.
fn works_unit(
    caller: &Caller,
    app: &onestop_domain::application::Application,
    case: &Case,
) -> bool {
    app.work_orders
        .iter()
        .filter(|o| case.works.contains(&o.id) || o.unit.code == case.raised_by_unit)
        .any(|o| caller.subject.operates(&o.unit.code))
}

/// Whether this caller may resubmit the case now (for the pages).
pub fn may_resubmit(
    caller: &Caller,
    app: &onestop_domain::application::Application,
    case: &Case,
) -> bool {
    case.status == CaseStatus::Rejected && works_unit(caller, app, case)
}

/// A utility revises a rejected case and puts it to the departments again:
/// `{"version", "note", "place"?, "from"?, "to"?}`. The rejected items are
/// pending again with a new deadline; every earlier decision stays on the
/// opinion sheet.
pub async fn resubmit(
    state: &AppState,
    caller: &Caller,
    id: String,
    input: RevisionInput,
) -> Result<CaseView, Error> {
    let Some((app, full)) = read_case(state, caller, id).await? else {
        return Err(Error::NotFound);
    };
    let case = full.case;
    if !works_unit(caller, &app, &case) {
        return Err(Error::forbidden());
    }
    let RevisionInput {
        version,
        note,
        place,
        from,
        to,
    } = input;
    let place = place.unwrap_or_else(|| case.place.clone());
    // The stored dates are the case's own, always well formed.
    let from = from.or_else(|| onestop_domain::timefmt::parse_date(&case.from_date));
    let to = to.or_else(|| onestop_domain::timefmt::parse_date(&case.to_date));
    let mut errors = Vec::new();
    approval::check_period(from, to, state.now().date(), &mut errors);
    if version != case.version {
        return Err(stale_version());
    }
    if case.status != CaseStatus::Rejected {
        let mut e = Error::refused(
            Refusal::Conflict,
            "invalid_transition",
            texts::fill(t::CASE_NOT_REJECTED, &[("status", &case.status.label_zh())]),
        );
        e.set_allowed(Vec::new());
        return Err(e);
    }
    let waiting = app.work_orders.iter().any(|o| {
        case.works.contains(&o.id) && o.stage == Stage::Approval && o.status == OrderStatus::Open
    });
    if !waiting {
        return Err(works_moved());
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(Error::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let now_ms = state.now_ms();
    let items_clock = approval_clock(state, now_ms)?;
    let (warn_at_ms, due_at_ms) = (
        items_clock.instants.warn_at_ms,
        items_clock.instants.due_at_ms,
    );
    let actor = caller.subject.actor();
    let r = approvals::Resubmission {
        case_id: case.id.clone(),
        version,
        place,
        from_date: from.to_string(),
        to_date: to.to_string(),
        note,
        by: actor.clone(),
        at_ms: now_ms,
        due_at_ms,
        warn_at_ms,
    };
    let app_id = case.application_id.clone();
    let works = case.works.clone();
    let (config, offset) = (state.config.clone(), state.offset);
    let done = state
        .store
        .write(move |c| {
            if !any_waiting(c, &works)? || !approvals::resubmit(c, &r)? {
                return Ok(false);
            }
            event(c, &app_id, now_ms, &actor, "approval_case_resubmitted", serde_json::json!({
                "case": r.case_id, "note": r.note, "place": r.place, "from": r.from_date, "to": r.to_date,
            }))?;
            // The departments deciding again hear of the revision.
            crate::app::announce::items_put(c, &config, offset, &r.case_id, Some(&r.note), now_ms)?;
            Ok(true)
        })
        .await?;
    if !done {
        return Err(stale_version());
    }
    reread(state, case.id.clone()).await
}

/// One line of a department's approval inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItem {
    #[serde(flatten)]
    pub item: ItemView,
    pub case_id: String,
    pub case_status: CaseStatus,
    pub application_id: String,
    pub application_number: String,
    pub applicant_name: String,
    pub district_code: String,
    pub place: String,
    pub from: String,
    pub to: String,
    /// The works unit signed the notification-commitment (附表3).
    pub commitment: bool,
}

/// The caller's departments' items, pending first and soonest due first.
pub async fn inbox(
    state: &AppState,
    caller: &Caller,
    status: Option<ItemStatus>,
    at: PageAt,
    per_page: u32,
) -> Result<Page<InboxItem>, Error> {
    let mine = departments(&caller.subject);
    let rows = state
        .store
        .read(move |c| approvals::inbox(c, &mine, status, &at, per_page))
        .await?;
    let t = |ms: i64| {
        onestop_domain::timefmt::format(onestop_domain::timefmt::from_ms(ms, state.offset))
    };
    Ok(rows.map(|r| InboxItem {
        item: ItemView {
            department: UnitRef {
                name: state
                    .config
                    .unit(&r.item.department)
                    .map_or_else(|| r.item.department.clone(), |u| u.name.clone()),
                code: r.item.department.clone(),
            },
            id: r.item.id,
            required: r.item.required,
            status: r.item.status,
            automatic: r.item.automatic,
            opinion: r.item.opinion,
            decided_at: r.item.decided_at_ms.map(t),
            due_at: t(r.item.due_at_ms),
            provisional: provisional_item(state, r.item.status, r.item.due_at_ms),
            version: r.item.version,
            round: r.item.round,
            level: r.item.level,
        },
        case_id: r.item.case_id,
        case_status: r.case_status,
        application_id: r.application_id,
        application_number: r.application_number,
        applicant_name: r.applicant_name,
        district_code: r.district_code,
        place: r.place,
        from: r.from_date,
        to: r.to_date,
        commitment: r.commitment,
    }))
}

/// A department's decision as asked for: approve or reject, the opinion
/// (required either way), and the item's version the approver saw.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub decision: ItemStatus,
    pub opinion: String,
    pub version: i64,
}

impl DecisionInput {
    /// Reads `{"decision": "approve" | "reject", "opinion", "version"}`.
    pub fn from_json(body: &serde_json::Map<String, serde_json::Value>) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let decision = match body.get("decision").and_then(|d| d.as_str()) {
            Some("approve") => Some(ItemStatus::Approved),
            Some("reject") => Some(ItemStatus::Rejected),
            Some(_) => {
                errors.push(FieldError::new(
                    "decision",
                    FieldCode::UnknownValue,
                    t::DECISION_UNKNOWN,
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "decision",
                    FieldCode::Required,
                    t::DECISION_MISSING,
                ));
                None
            }
        };
        let opinion = onestop_domain::text::check_field(
            "opinion",
            t::OPINION,
            TextKind::Opinion,
            body.get("opinion").and_then(|o| o.as_str()),
            true,
        )
        .unwrap_or_else(|e| {
            errors.push(e);
            None
        })
        .unwrap_or_default();
        let version = seen_version(body, t::ITEM, &mut errors);
        match (decision, version) {
            (Some(decision), Some(version)) if errors.is_empty() => Ok(Self {
                decision,
                opinion,
                version,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// A revision of a rejected case as asked for: what was changed (required),
/// the case's version the utility saw, and a new place or dates (absent:
/// kept as they are).
#[derive(Debug, Clone)]
pub struct RevisionInput {
    pub version: i64,
    pub note: String,
    pub place: Option<String>,
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
}

impl RevisionInput {
    /// Reads `{"version", "note", "place"?, "from"?, "to"?}`.
    pub fn from_json(body: &serde_json::Map<String, serde_json::Value>) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let mut text = |name: &str, label: &str, kind: TextKind| match body.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_str() {
                Some(s) => onestop_domain::text::check_field(name, label, kind, Some(s), true)
                    .unwrap_or_else(|e| {
                        errors.push(e);
                        None
                    }),
                None => {
                    errors.push(FieldError::new(name, FieldCode::InvalidFormat, t::NOT_TEXT));
                    None
                }
            },
        };
        let note = text("note", t::NOTE, TextKind::Note);
        let place = text("place", t::PLACE, TextKind::Place);
        if note.is_none() && !errors.iter().any(|e| e.field == "note") {
            errors.push(FieldError::new(
                "note",
                FieldCode::Required,
                t::NOTE_MISSING,
            ));
        }
        let mut date = |name: &str| match body.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => {
                let d = onestop_domain::timefmt::parse_date(v.as_str().unwrap_or(""));
                if d.is_none() {
                    errors.push(FieldError::new(
                        name,
                        FieldCode::InvalidFormat,
                        texts::common::DATE_FORMAT,
                    ));
                }
                d
            }
        };
        let from = date("from");
        let to = date("to");
        let version = seen_version(body, t::CASE, &mut errors);
        match (note, version) {
            (Some(note), Some(version)) if errors.is_empty() => Ok(Self {
                version,
                note,
                place,
                from,
                to,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// The `version` of a record the caller saw (its name for people in the
/// message), or a field error.
fn seen_version(
    body: &serde_json::Map<String, serde_json::Value>,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let version = body.get("version").and_then(|v| v.as_i64());
    if version.is_none() {
        errors.push(FieldError::new(
            "version",
            FieldCode::Required,
            texts::fill(t::VERSION_MISSING, &[("what", &what)]),
        ));
    }
    version
}
