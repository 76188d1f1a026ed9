//! Work orders over the API, scoped to the caller (`spec/API.md`): an
//! operator or a `workorders:*:<unit>` key sees its unit's orders only.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::messages;
use crate::auth::Caller;
use crate::texts::{self, work_orders as t};
use onestop_domain::access::Subject;
use onestop_domain::application::{Level, OrderStatus, Stage, WorkOrderItem};
use onestop_domain::clock::StageClock;
use onestop_domain::form::FieldCode;
use onestop_domain::form::FieldError;
use onestop_domain::form::{Correction, validate_correction};
use onestop_domain::workflow::PlanError;
use onestop_store::work_orders::{self, OrderRow};
use serde::Serialize;
use utoipa::ToSchema;

/// One work order the caller may see; others are `404`, as if absent.
pub async fn visible_order(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: String,
) -> Result<Option<OrderRow>, Error> {
    let visibility = caller.subject.work_orders();
    if visibility.is_nothing() || id.len() > 64 {
        return Ok(None);
    }
    let config = state.config.clone();
    let offset = state.offset;
    Ok(state
        .store
        .read(move |c| work_orders::get(c, &id, &config, offset))
        .await?
        .filter(|r| {
            let seen = visibility.admits_order(&r.facts());
            if !seen {
                caller.hidden("work_order", &r.item.order.id);
            }
            seen
        })
        .map(|mut r| {
            crate::app::calendar::mark_provisional(
                &state.clock.get(),
                std::iter::once(&mut r.item.order),
            );
            r
        }))
}

/// The process roles a caller holds for one order: `operator` for its own
/// unit's orders (or a `workorders:write:<unit>` key), `applicant` for its
/// enterprise's (or an `applications:write` key acting for applicants),
/// `clerk` at the order's hall, `admin`, and `system` for the command line.
pub fn order_roles(subject: &Subject, row: &OrderRow) -> Vec<&'static str> {
    subject.roles_on_order(&row.facts())
}

pub fn stale_version() -> Error {
    Error::stale_version()
}

/// Takes one action on one order, as the process definition allows: the
/// order, its history event and its application's status change together,
/// only if the order is still at the version the caller saw.
///
/// The whole action — reading the order, checking access, version and
/// process, computing the new clock, writing — is one job on the writer, so
/// nothing can change between the check and the write, and the read is
/// served from the writer's warm cache.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    id: String,
    request: ActionInput,
) -> Result<WorkOrderItem, Error> {
    match act_once(state, caller, id, request, None).await? {
        Acted::Done(item) => Ok(item),
        Acted::Replayed(_) => Err(Error::Internal("an action without a key was replayed")),
    }
}

/// Whether a refusal is the lasting answer to a request (kept for its
/// `Idempotency-Key`), rather than a passing failure a retry may get past:
/// a server error, or a calendar year not loaded yet.
fn replayable(e: &Error) -> bool {
    e.is_lasting()
}

/// What an action with an `Idempotency-Key` came to.
pub enum Acted {
    Done(WorkOrderItem),
    /// The key's first answer, replayed.
    Replayed(onestop_store::idempotency::SavedResponse),
}

/// [`act`], with an `Idempotency-Key`: the first answer to the key (a
/// success or a refusal) is stored in the action's own transaction and
/// replayed for every repeat; the same key with another request is
/// `409 idempotency_conflict`.
pub async fn act_once(
    state: &AppState,
    caller: &Caller,
    id: String,
    request: ActionInput,
    key: Option<onestop_store::idempotency::IdempotencyKey>,
) -> Result<Acted, Error> {
    let visibility = caller.subject.work_orders();
    if visibility.is_nothing() || id.len() > 64 {
        return Err(Error::NotFound);
    }
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let job = ActJob {
        config: state.config.clone(),
        clock: state.clock.get(),
        offset: state.offset,
        subject: caller.subject.clone(),
        visibility,
        id,
        request,
        actor: caller.subject.actor(),
        now_ms: state.now_ms(),
        mark: caller.mark.clone(),
    };
    let job = std::sync::Arc::new(job);
    let outcome = state
        .store
        .write(move |c| {
            if let Some(k) = &key
                && let Some(saved) = onestop_store::idempotency::claim(c, k, job.now_ms)?
            {
                return Ok(Err(saved));
            }
            let outcome = job.run(c)?;
            if let Some(k) = &key {
                let (status, body) = match &outcome {
                    Ok(item) => (200, serde_json::to_string(item)),
                    Err(e) if replayable(e) => {
                        let (status, body) = crate::error::answer_of(e);
                        (status.as_u16(), serde_json::to_string(&body))
                    }
                    Err(_) => {
                        onestop_store::idempotency::release(c, k)?;
                        return Ok(Ok(outcome));
                    }
                };
                let body = body.map_err(|e| onestop_store::StoreError::Internal(e.to_string()))?;
                onestop_store::idempotency::complete(c, k, status, None, &body)?;
            }
            Ok(Ok(outcome))
        })
        .await?;
    match outcome {
        Ok(done) => done.map(Acted::Done),
        Err(saved) if Some(&saved.request_hash) == hash.as_ref() => Ok(Acted::Replayed(saved)),
        Err(_) => Err(crate::app::applications::idempotency_conflict()),
    }
}

/// Most actions in one batch request.
pub const MAX_BATCH_ACTIONS: usize = 100;

/// One item's outcome in a batch of actions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResult {
    pub work_order_id: String,
    /// The HTTP status this action alone would have had.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_order: Option<WorkOrderItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorDetail>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResults {
    /// One per action, in the order sent.
    pub results: Vec<BatchResult>,
}

/// An action on a work order as the caller asked for it: the action's
/// code, the order's version the caller saw, and the action's data. The
/// data is checked against the action's fields in the process definition
/// when the action is planned: which fields count depends on the action,
/// and whether the action may be taken now is said first.
#[derive(Debug, Clone)]
pub struct ActionInput {
    pub action: String,
    pub version: i64,
    pub data: ActionData,
}

/// An action's data fields as sent, by name (always a JSON object).
#[derive(Debug, Clone)]
pub struct ActionData(serde_json::Value);

impl Default for ActionData {
    fn default() -> Self {
        Self(serde_json::Value::Object(serde_json::Map::new()))
    }
}

impl ActionData {
    /// The fields of a JSON body.
    pub fn from_json(body: &serde_json::Map<String, serde_json::Value>) -> Self {
        Self(serde_json::Value::Object(body.clone()))
    }

    /// An action's fields typed on a page form, as the API carries them:
    /// numbers as numbers, local date-times (`YYYY-MM-DDTHH:MM[:SS]`) with
    /// the city's offset, objects as a note, everything else as text; blank
    /// fields are left out.
    pub fn from_form(
        def: Option<&onestop_domain::workflow::ActionDef>,
        form: &std::collections::HashMap<String, String>,
        offset: time::UtcOffset,
    ) -> Self {
        use onestop_domain::workflow::FieldKind;
        use serde_json::Value;
        let mut data = serde_json::Map::new();
        for f in def.map(|d| d.fields.as_slice()).unwrap_or_default() {
            let Some(v) = form
                .get(&f.name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let value = match f.kind {
                FieldKind::Number => typed_number(v).map_or_else(|| Value::from(v), Value::from),
                FieldKind::Datetime => Value::from(with_offset(v, offset)),
                FieldKind::Object => serde_json::json!({ "note": v }),
                FieldKind::Text => Value::from(v),
            };
            data.insert(f.name.clone(), value);
        }
        Self(Value::Object(data))
    }

    pub fn as_json(&self) -> &serde_json::Value {
        &self.0
    }
}

/// A number typed on a page (ASCII or full-width digits, e.g. "６００"),
/// when it is a finite one. Anything else ("六百", "600米", "NaN") is
/// passed on as the text typed, for the process to refuse with a field
/// error — never dropped.
fn typed_number(v: &str) -> Option<f64> {
    let ascii: String = v
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (u32::from(c) - u32::from('０')) as u8),
            '．' => '.',
            c => c,
        })
        .collect();
    ascii.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A local date-time typed on a page (`YYYY-MM-DDTHH:MM`, seconds optional)
/// as an RFC 3339 instant at the city's offset.
pub fn with_offset(local: &str, offset: time::UtcOffset) -> String {
    let secs = if local.len() == 16 { ":00" } else { "" };
    format!(
        "{local}{secs}{:+03}:{:02}",
        offset.whole_hours(),
        offset.minutes_past_hour().abs()
    )
}

impl ActionInput {
    /// Reads `action` and `version` from a JSON body (field errors named
    /// under `prefix`); the other fields are the action's data.
    pub fn from_json(
        body: &serde_json::Map<String, serde_json::Value>,
        prefix: &str,
    ) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let action = match body.get("action").and_then(|v| v.as_str()).map(str::trim) {
            Some(a) if !a.is_empty() => Some(a.to_owned()),
            _ => {
                errors.push(FieldError::new(
                    format!("{prefix}action"),
                    FieldCode::Required,
                    t::ACTION_MISSING,
                ));
                None
            }
        };
        let version = match body.get("version") {
            Some(v) if v.as_i64().is_some_and(|n| n >= 1) => v.as_i64(),
            Some(_) => {
                errors.push(FieldError::new(
                    format!("{prefix}version"),
                    FieldCode::InvalidFormat,
                    t::VERSION_INVALID,
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    format!("{prefix}version"),
                    FieldCode::Required,
                    t::VERSION_MISSING,
                ));
                None
            }
        };
        match (action, version) {
            (Some(action), Some(version)) => Ok(Self {
                action,
                version,
                data: ActionData::from_json(body),
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// One action of a batch, read before the batch is run: the order it names
/// and the action, or why it cannot be read (answered in its own result).
pub struct BatchItem {
    pub work_order_id: String,
    pub request: Result<ActionInput, Error>,
}

impl BatchItem {
    /// The `i`-th item of a batch body.
    pub fn from_json(i: usize, item: &serde_json::Value) -> Self {
        let work_order_id = item
            .get("work_order_id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .trim()
            .to_owned();
        let request = match item.as_object() {
            None => Err(Error::Invalid(vec![FieldError::new(
                format!("actions.{i}"),
                FieldCode::InvalidFormat,
                t::BATCH_ITEM_NOT_OBJECT,
            )])),
            Some(_) if work_order_id.is_empty() => Err(Error::Invalid(vec![FieldError::new(
                format!("actions.{i}.work_order_id"),
                FieldCode::Required,
                t::BATCH_ORDER_MISSING,
            )])),
            Some(_) if work_order_id.len() > 64 => Err(Error::NotFound),
            Some(body) => ActionInput::from_json(body, &format!("actions.{i}.")),
        };
        Self {
            work_order_id,
            request,
        }
    }
}

/// Several actions, each on its own order, in one request and one
/// transaction: each is checked and applied on its own (a refused one
/// writes nothing and does not stop the others), in the order sent.
pub async fn act_many(
    state: &AppState,
    caller: &Caller,
    items: Vec<BatchItem>,
    key: Option<onestop_store::idempotency::IdempotencyKey>,
) -> Result<Batch, Error> {
    let visibility = caller.subject.work_orders();
    let actor = caller.subject.actor();
    let now_ms = state.now_ms();
    // Items that cannot even be read are answered without a job.
    let mut early: Vec<Option<BatchResult>> = Vec::with_capacity(items.len());
    let mut jobs = Vec::new();
    for BatchItem {
        work_order_id: id,
        request,
    } in items
    {
        let request = match request {
            Ok(_) if visibility.is_nothing() => Err(Error::NotFound),
            r => r,
        };
        match request {
            Err(e) => {
                let (status, body) = crate::error::answer_of(&e);
                early.push(Some(BatchResult {
                    work_order_id: id,
                    status: status.as_u16(),
                    work_order: None,
                    error: Some(body.error),
                }));
            }
            Ok(request) => {
                early.push(None);
                jobs.push(ActJob {
                    config: state.config.clone(),
                    clock: state.clock.get(),
                    offset: state.offset,
                    subject: caller.subject.clone(),
                    visibility: visibility.clone(),
                    id,
                    request,
                    actor: actor.clone(),
                    now_ms,
                    mark: caller.mark.clone(),
                });
            }
        }
    }
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let shared = std::sync::Arc::new((jobs, early));
    let outcome = state
        .store
        .write(move |c| {
            let (jobs, early) = &*shared;
            if let Some(k) = &key
                && let Some(saved) = onestop_store::idempotency::claim(c, k, now_ms)?
            {
                return Ok(Err(saved));
            }
            let mut outcomes = Vec::with_capacity(jobs.len());
            for j in jobs {
                outcomes.push(j.run(c)?);
            }
            let passing = outcomes
                .iter()
                .any(|o| o.as_ref().is_err_and(|e| !replayable(e)));
            let results = merge(early, jobs, outcomes);
            if let Some(k) = &key
                && passing
            {
                onestop_store::idempotency::release(c, k)?;
            } else if let Some(k) = &key {
                let body = serde_json::to_string(&BatchResults {
                    results: results.clone(),
                })
                .map_err(|e| onestop_store::StoreError::Internal(e.to_string()))?;
                onestop_store::idempotency::complete(c, k, 200, None, &body)?;
            }
            Ok(Ok(results))
        })
        .await?;
    match outcome {
        Ok(results) => Ok(Batch::Done(results)),
        Err(saved) if Some(&saved.request_hash) == hash.as_ref() => Ok(Batch::Replayed(saved)),
        Err(_) => Err(crate::app::applications::idempotency_conflict()),
    }
}

/// What a batch of actions came to.
pub enum Batch {
    Done(Vec<BatchResult>),
    /// The key's first answer, replayed.
    Replayed(onestop_store::idempotency::SavedResponse),
}

/// The answers in the order sent: those refused before any work, and the
/// outcomes of the jobs in between.
fn merge(
    early: &[Option<BatchResult>],
    jobs: &[ActJob],
    outcomes: Vec<Result<WorkOrderItem, Error>>,
) -> Vec<BatchResult> {
    let mut done = outcomes.into_iter().zip(jobs.iter());
    early
        .iter()
        .filter_map(|e| match e {
            Some(r) => Some(r.clone()),
            None => done.next().map(|(outcome, job)| match outcome {
                Ok(item) => BatchResult {
                    work_order_id: job.id.clone(),
                    status: 200,
                    work_order: Some(item),
                    error: None,
                },
                Err(e) => {
                    let (status, body) = crate::error::answer_of(&e);
                    BatchResult {
                        work_order_id: job.id.clone(),
                        status: status.as_u16(),
                        work_order: None,
                        error: Some(body.error),
                    }
                }
            }),
        })
        .collect()
}

/// The actions an applicant is told of (besides the application's completion).
pub const TOLD_TO_APPLICANT: [&str; 5] = [
    "accept",
    "return_for_correction",
    "reject",
    "approval_granted",
    "connect",
];

/// Tells the applicant's accounts of an action on one of its orders (those
/// in [`TOLD_TO_APPLICANT`]), and of the application's completion, inside
/// the action's transaction.
pub(crate) fn tell_applicant(
    c: &mut dyn onestop_store::db::Conn,
    config: &onestop_domain::config::CityConfig,
    u: &work_orders::OrderUpdate,
    new_version: i64,
) -> Result<(), onestop_store::StoreError> {
    use onestop_store::notifications::{self, Message};
    if !TOLD_TO_APPLICANT.contains(&u.kind.as_str()) {
        return Ok(());
    }
    let Some(aud) = onestop_store::applications::order_audience(c, &u.id)? else {
        return Ok(());
    };
    let (number, status, to) = (aud.number.as_str(), aud.status.as_str(), &aud.accounts);
    let (application_id, service_code, unit_code) = (
        aud.application_id.as_str(),
        aud.service.as_str(),
        aud.unit_code.as_str(),
    );
    if to.is_empty() {
        return Ok(());
    }
    let service = config
        .service(service_code)
        .map_or_else(|| service_code.to_owned(), |s| s.name.clone());
    let unit = config
        .unit(unit_code)
        .map_or_else(|| unit_code.to_owned(), |x| x.name.clone());
    let label = config
        .process
        .action(&u.kind)
        .map_or_else(|| u.kind.clone(), |a| a.label.clone());
    let reason = serde_json::from_str::<serde_json::Value>(&u.data)
        .ok()
        .and_then(|d| d["data"]["reason"].as_str().map(str::to_owned));
    let progress = messages::fill(&messages::OrderProgress {
        number,
        service: &service,
        unit: &unit,
        label: &label,
        reason: reason.as_deref(),
        status: u.status.as_str(),
        stage: u.stage.label_zh(),
        result: u.status.label_zh(),
    });
    let link = Some(format!("/applications/{application_id}"));
    notifications::send(
        c,
        to,
        &Message {
            event_key: format!("order:{}:v{new_version}", u.id),
            kind: "order_progress".into(),
            title: progress.title,
            body: progress.body,
            link: link.clone(),
            at_ms: u.at_ms,
        },
        crate::jobs::delivery::outward(config),
    )?;
    if status == onestop_domain::application::ApplicationStatus::Completed.as_str() {
        let done = messages::fill(&messages::ApplicationCompleted { number });
        notifications::send(
            c,
            to,
            &Message {
                event_key: format!("application:{application_id}:completed"),
                kind: "application_completed".into(),
                title: done.title,
                body: done.body,
                link,
                at_ms: u.at_ms,
            },
            crate::jobs::delivery::outward(config),
        )?;
    }
    Ok(())
}

/// The process's action by which the applicant resubmits a returned order.
pub const RESUBMIT: &str = "resubmit";

/// A resubmission's history data with the correction it carries: the new
/// revision and the changed parts before and after.
fn with_revision(data: &str, revision: i64, corrected: &Correction) -> String {
    let mut v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "revision".into(),
            serde_json::json!({
                "number": revision,
                "before": corrected.before,
                "after": corrected.after,
            }),
        );
    }
    v.to_string()
}

/// Everything one action needs, owned, for the writer thread.
struct ActJob {
    config: std::sync::Arc<onestop_domain::config::CityConfig>,
    clock: std::sync::Arc<onestop_domain::calendar::Clock>,
    offset: time::UtcOffset,
    subject: Subject,
    visibility: onestop_domain::access::Visibility,
    id: String,
    request: ActionInput,
    actor: String,
    now_ms: i64,
    /// The request's refusal slot: an order that exists but is hidden from
    /// the caller is audited as a refusal.
    mark: crate::refusals::Mark,
}

impl ActJob {
    /// The outcome for the caller; `Err` only for a database failure (which
    /// rolls the job back). Refusals write nothing and commit nothing.
    fn run(
        &self,
        c: &mut dyn onestop_store::db::Conn,
    ) -> Result<Result<WorkOrderItem, Error>, onestop_store::StoreError> {
        let Some((row, clock)) =
            work_orders::get_with_clock(c, &self.id, &self.config, self.offset)?
        else {
            return Ok(Err(Error::NotFound));
        };
        if !self.visibility.admits_order(&row.facts()) {
            self.mark.hidden("work_order", &self.id);
            return Ok(Err(Error::NotFound));
        }
        // Someone acted since the caller looked: that comes first, whatever
        // the action (the caller must look again).
        if clock.version != self.request.version {
            return Ok(Err(stale_version()));
        }
        let plan = match self.plan(&row) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        // What is recorded must fit the time: a survey's findings after
        // its appointment, a connection between the stage's start and now.
        let facts = onestop_domain::plausible::ActionFacts {
            now_ms: self.now_ms,
            stage_started_at_ms: clock.stage_started_at_ms,
            survey_at_ms: if plan.action == onestop_domain::plausible::RECORD_SURVEY {
                onestop_store::surveys::at_ms(c, &clock.application_id)?
            } else {
                None
            },
            offset: self.offset,
        };
        let problems = onestop_domain::plausible::check_action(&plan.action, &plan.data, &facts);
        if !problems.is_empty() {
            return Ok(Err(Error::Invalid(problems)));
        }
        // Connection honours the appointment the enterprise asked for.
        let appointment_ms = if plan.to == Stage::Connection && plan.from != Stage::Connection {
            onestop_store::applications::appointment_ms(c, &clock.application_id)?
        } else {
            None
        };
        let mut next = match self.next(&row, &clock, &plan, appointment_ms) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        let correction = match self.correction(c, &row, &clock.application_id)? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        if let Some((corrected, revision)) = &correction {
            next.data = with_revision(&next.data, *revision, corrected);
        }
        if !work_orders::apply(c, &next, &clock.application_id)? {
            return Ok(Err(stale_version()));
        }
        if let Some((corrected, revision)) = &correction
            && !onestop_store::applications::revise(
                c,
                &clock.application_id,
                &corrected.form,
                *revision,
                &self.id,
                &self.actor,
                self.now_ms,
            )?
        {
            // Another correction of the same application came first: undo
            // this action with the transaction.
            return Err(onestop_store::StoreError::Internal(
                "the application was corrected concurrently".into(),
            ));
        }
        tell_applicant(c, &self.config, &next, self.request.version + 1)?;
        crate::app::announce::order_back(
            c,
            &self.config,
            self.offset,
            &clock.application_id,
            &next,
            self.request.version + 1,
        )?;
        // The order as it now stands (what `apply` wrote), without reading it back.
        let mut item = row.item;
        item.order.stage = next.stage;
        item.order.status = next.status;
        item.order.due_at = onestop_domain::timefmt::from_ms(next.due_at_ms, self.offset);
        item.order.level = next.level;
        item.order.works_start_unknown = next.works_start_unknown;
        item.order.version = self.request.version + 1;
        crate::app::calendar::mark_provisional(&self.clock, std::iter::once(&mut item.order));
        Ok(Ok(item))
    }

    /// A resubmission that corrects the application (补正): the corrected
    /// form, read like the form's own sections (only the order's service
    /// and the contact may change), and its new revision number; `None`
    /// for any other action or a plain resubmission.
    fn correction(
        &self,
        c: &mut dyn onestop_store::db::Conn,
        row: &OrderRow,
        application_id: &str,
    ) -> Result<Result<Option<(Correction, i64)>, Error>, onestop_store::StoreError> {
        if self.request.action != RESUBMIT {
            return Ok(Ok(None));
        }
        let Some((form, revision)) = onestop_store::applications::current_form(c, application_id)?
        else {
            return Ok(Err(Error::NotFound));
        };
        let service = row.item.order.service.as_str();
        Ok(
            match validate_correction(self.request.data.as_json(), &form, &[service], &self.config)
            {
                Ok(Some(corrected)) if corrected.changed() => Ok(Some((corrected, revision + 1))),
                Ok(_) => Ok(None),
                Err(fields) => Err(Error::Invalid(fields)),
            },
        )
    }

    /// The action by the process definition: where it leads, with its data
    /// checked (or why it may not be taken).
    fn plan(&self, row: &OrderRow) -> Result<onestop_domain::workflow::Transition, Error> {
        let roles = order_roles(&self.subject, row);
        let order = &row.item.order;
        self.config
            .process
            .plan_with(
                order.stage,
                order.status,
                &self.request.action,
                self.request.data.as_json(),
                &roles,
                &row.process_facts(),
                &self.config.limits,
            )
            .map_err(|e| match e {
                PlanError::InvalidTransition { allowed } => {
                    let mut err = Error::refused(
                        Refusal::Conflict,
                        "invalid_transition",
                        texts::fill(
                            t::WRONG_STATE,
                            &[
                                ("stage", &order.stage.label_zh()),
                                ("status", &order.status.label_zh()),
                            ],
                        ),
                    );
                    err.set_allowed(allowed);
                    err
                }
                PlanError::Forbidden => Error::forbidden(),
                PlanError::Validation(fields) => Error::Invalid(fields),
            })
    }

    /// The order's next state after `plan`, with its new clock: a new
    /// stage starts a new one (a connection stage due no earlier than the
    /// appointment `appointment_ms`, if any).
    fn next(
        &self,
        row: &OrderRow,
        clock: &work_orders::OrderClock,
        plan: &onestop_domain::workflow::Transition,
        appointment_ms: Option<i64>,
    ) -> Result<work_orders::OrderUpdate, Error> {
        let order = &row.item.order;
        let now_ms = self.now_ms;
        let c = &self.clock;
        let mut next = work_orders::OrderUpdate {
            id: self.id.clone(),
            expected_version: self.request.version,
            from_stage: order.stage,
            from_status: order.status,
            stage: plan.to,
            status: plan.status,
            stage_started_at_ms: clock.stage_started_at_ms,
            budget_seconds: clock.budget_seconds,
            suspended_seconds: clock.suspended_seconds,
            suspended_at_ms: clock.suspended_at_ms,
            not_before_ms: clock.not_before_ms,
            works_start_unknown: clock.works_start_unknown,
            due_at_ms: clock.due_at_ms,
            level: clock.level,
            warn_at_ms: clock.warn_at_ms,
            next_level_at_ms: None,
            at_ms: now_ms,
            actor: self.actor.clone(),
            kind: plan.action.clone(),
            data: String::new(),
            ended: None,
        };
        let stage = clock.stage_clock();
        if work_orders::finishes_stage((order.stage, order.status), (plan.to, plan.status)) {
            next.ended = Some(stage.end(c, now_ms)?);
        }
        let share = self.config.limits.warning_share;
        if plan.to != plan.from {
            // A new stage: a new clock.
            let budget = onestop_domain::clock::budget(c, plan.limit_days)?;
            let fresh = StageClock::start(c, now_ms, budget, share)?.not_before(
                c,
                appointment_ms.filter(|_| plan.to == Stage::Connection),
                share,
            )?;
            next.set_clock(&fresh);
            next.works_start_unknown = false;
            next.level = fresh.level_at(now_ms);
        } else if plan.suspends {
            // Waiting for the applicant: the clock and its level stand still.
            next.suspended_at_ms = stage.suspend(now_ms).suspended_at_ms;
        } else if plan.resumes && !stage.is_running() {
            // The suspension's working time is added to the stage's budget.
            let resumed = stage.resume(c, now_ms, share)?;
            next.set_clock(&resumed);
            next.level = resumed.level_at(now_ms);
        }
        // A running clock of an open order changes level next at its
        // warning instant or deadline; a finished or waiting one does not.
        let running = next.status == OrderStatus::Open && next.suspended_at_ms.is_none();
        if !matches!(next.status, OrderStatus::Open | OrderStatus::Returned) {
            next.level = Level::Normal;
            next.warn_at_ms = None;
        }
        next.next_level_at_ms = match (running, next.warn_at_ms) {
            (true, Some(w)) => next.level.next_change(w, next.due_at_ms),
            _ => None,
        };
        next.data = work_orders::transition_data(
            (order.stage, order.status),
            (plan.to, plan.status),
            &plan.data,
            next.due_at_ms,
        );
        Ok(next)
    }
}

/// The process roles a caller holds for a whole application (cancelling).
fn application_roles(
    subject: &Subject,
    app: &onestop_domain::application::Application,
) -> Vec<&'static str> {
    subject.roles_on_application(&crate::app::applications::facts(app, &[], &[]))
}

/// Cancels an application: every order still open or returned takes the
/// process's `cancel` action, all in one transaction with the history.
pub async fn cancel_application(
    state: &AppState,
    caller: &Caller,
    id: String,
    data: &ActionData,
) -> Result<onestop_domain::application::Application, Error> {
    let Some(app) = crate::app::applications::read_application(state, caller, id.clone()).await?
    else {
        return Err(Error::NotFound);
    };
    let roles = application_roles(&caller.subject, &app);
    let process = &state.config.process;
    let limits = &state.config.limits;
    let now_ms = state.now_ms();
    let actor = caller.subject.actor();
    let mut updates = Vec::new();
    let mut last_err = None;
    for o in &app.work_orders {
        match process.plan(o.stage, o.status, "cancel", data.as_json(), &roles, limits) {
            Ok(t) => updates.push(work_orders::OrderUpdate {
                id: o.id.clone(),
                expected_version: o.version,
                from_stage: o.stage,
                from_status: o.status,
                stage: t.to,
                status: t.status,
                stage_started_at_ms: now_ms,
                budget_seconds: 0,
                suspended_seconds: 0,
                suspended_at_ms: None,
                not_before_ms: None,
                works_start_unknown: false,
                due_at_ms: now_ms,
                level: Level::Normal,
                warn_at_ms: None,
                next_level_at_ms: None,
                at_ms: now_ms,
                actor: actor.clone(),
                kind: t.action.clone(),
                data: work_orders::transition_data(
                    (o.stage, o.status),
                    (t.to, t.status),
                    &t.data,
                    now_ms,
                ),
                // A cancelled order's stage is neither done nor late: the
                // board's figures leave it out.
                ended: None,
            }),
            Err(PlanError::InvalidTransition { .. }) => {}
            Err(e) => last_err = Some(e),
        }
    }
    if let Some(e) = last_err {
        return Err(match e {
            PlanError::Forbidden => Error::forbidden(),
            PlanError::Validation(f) => Error::Invalid(f),
            PlanError::InvalidTransition { .. } => {
                Error::Internal("a planned transition was refused")
            }
        });
    }
    if updates.is_empty() {
        let mut err = Error::refused(Refusal::Conflict, "invalid_transition", t::ALREADY_CLOSED);
        err.set_allowed(Vec::new());
        return Err(err);
    }
    let app_id = app.id.clone();
    let (config, offset) = (state.config.clone(), state.offset);
    let reason = data.as_json()["reason"].as_str().map(str::to_owned);
    state
        .store
        .write(move |c| {
            for u in &updates {
                if !work_orders::apply(c, u, &app_id)? {
                    return Err(onestop_store::StoreError::Conflict(u.id.clone()));
                }
            }
            // Its pending approval items are withdrawn, and their departments told.
            crate::app::announce::cancelled(
                c,
                &config,
                offset,
                &app_id,
                reason.as_deref(),
                &actor,
                now_ms,
            )
        })
        .await?;
    crate::app::applications::read_application(state, caller, id)
        .await?
        .ok_or(Error::Internal(
            "a record written in this transaction is missing",
        ))
}

/// Proposes (or, with the version seen, moves) the one joint survey
/// appointment of an application. Only a utility with an order in the
/// application may; everyone on the application sees it.
pub async fn propose_survey(
    state: &AppState,
    caller: &Caller,
    id: String,
    input: SurveyInput,
) -> Result<(bool, onestop_domain::application::Survey), Error> {
    let Some(app) = crate::app::applications::read_application(state, caller, id.clone()).await?
    else {
        return Err(Error::NotFound);
    };
    // The caller's unit among the application's orders.
    let unit = app
        .work_orders
        .iter()
        .find(|o| caller.subject.operates(&o.unit.code))
        .map(|o| o.unit.code.clone());
    let Some(unit) = unit else {
        return Err(Error::forbidden());
    };
    let (at, version) = (input.at, input.version);
    let at_ms = onestop_domain::timefmt::to_ms(at);
    let now_ms = state.now_ms();
    let actor = caller.subject.actor();
    let app_id = app.id.clone();
    let (config, offset) = (state.config.clone(), state.offset);
    let outcome = state
        .store
        .write(move |c| {
            // Set or moved, the enterprise is told.
            crate::app::announce::survey(
                c, &config, offset, &app_id, at_ms, &unit, &actor, version, now_ms,
            )
        })
        .await?;
    use onestop_store::surveys::Outcome;
    match outcome {
        Outcome::Exists => {
            return Err(Error::refused(
                Refusal::Conflict,
                "survey_exists",
                t::SURVEY_EXISTS,
            ));
        }
        Outcome::Stale => return Err(stale_version()),
        Outcome::Created | Outcome::Moved => {}
    }
    let config = state.config.clone();
    let offset = state.offset;
    let survey = state
        .store
        .read(move |c| onestop_store::surveys::get(c, &id, &config, offset))
        .await?
        .ok_or(Error::Internal(
            "a record written in this transaction is missing",
        ))?;
    Ok((outcome == Outcome::Created, survey))
}

/// A joint survey appointment as asked for: an instant later than now, and
/// the survey's version the caller saw when moving it (absent: proposing).
#[derive(Debug, Clone)]
pub struct SurveyInput {
    pub at: time::OffsetDateTime,
    pub version: Option<i64>,
}

impl SurveyInput {
    /// Reads `{"at", "version"?}`; `now` is the instant `at` must follow.
    pub fn from_json(
        body: &serde_json::Map<String, serde_json::Value>,
        now: time::OffsetDateTime,
    ) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let at = match body.get("at").and_then(|v| v.as_str()) {
            None => {
                errors.push(FieldError::new(
                    "at",
                    FieldCode::Required,
                    t::SURVEY_AT_MISSING,
                ));
                None
            }
            Some(s) => match onestop_domain::timefmt::parse(s) {
                None => {
                    errors.push(FieldError::new(
                        "at",
                        FieldCode::InvalidFormat,
                        t::SURVEY_AT_FORMAT,
                    ));
                    None
                }
                Some(t) if t <= now => {
                    errors.push(FieldError::new(
                        "at",
                        FieldCode::NotInFuture,
                        t::SURVEY_AT_PAST,
                    ));
                    None
                }
                Some(t) => Some(t),
            },
        };
        let version = match body.get("version") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_i64().filter(|n| *n >= 1) {
                Some(n) => Some(n),
                None => {
                    errors.push(FieldError::new(
                        "version",
                        FieldCode::InvalidFormat,
                        t::SURVEY_VERSION_INVALID,
                    ));
                    None
                }
            },
        };
        match at {
            Some(at) if errors.is_empty() => Ok(Self { at, version }),
            _ => Err(Error::Invalid(errors)),
        }
    }

    /// The appointment typed on a page as a local date-time (blank: none).
    pub fn from_form(
        local: &str,
        offset: time::UtcOffset,
        now: time::OffsetDateTime,
    ) -> Result<Self, Error> {
        let mut body = serde_json::Map::new();
        if !local.is_empty() {
            body.insert("at".into(), with_offset(local, offset).into());
        }
        Self::from_json(&body, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn page_fields_become_the_actions_data() {
        let config = onestop_domain::config::CityConfig::default_city();
        let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap();
        let connect = config.process.action("connect");
        let data = ActionData::from_form(
            connect,
            &form(&[
                ("connected_at", "2026-12-03T10:30"),
                ("details", " 电表 1 块 "),
                ("unknown", "ignored"),
                ("csrf_token", "t"),
            ]),
            offset,
        );
        assert_eq!(
            data.as_json(),
            &serde_json::json!({
                "connected_at": "2026-12-03T10:30:00+08:00",
                "details": {"note": "电表 1 块"},
            })
        );
        let design = config.process.action("record_design");
        let data = ActionData::from_form(
            design,
            &form(&[
                ("external_works_m", "600"),
                ("route", " "),
                ("design", "六百"),
            ]),
            offset,
        );
        assert_eq!(
            data.as_json(),
            &serde_json::json!({"external_works_m": 600.0, "design": "六百"})
        );
        // A number that is not one is passed on as typed, for the process
        // to refuse with its field error: text, a unit, or what parses as
        // a number but is none (which JSON would turn into null, dropping it).
        for typed in ["六百", "600米", "NaN", "inf", "-infinity", "1e999"] {
            let data = ActionData::from_form(design, &form(&[("external_works_m", typed)]), offset);
            assert_eq!(
                data.as_json(),
                &serde_json::json!({"external_works_m": typed}),
                "{typed}"
            );
        }
        // Full-width digits are digits.
        let data =
            ActionData::from_form(design, &form(&[("external_works_m", "６００．５")]), offset);
        assert_eq!(
            data.as_json(),
            &serde_json::json!({"external_works_m": 600.5})
        );
        assert_eq!(
            ActionData::from_form(None, &form(&[("x", "1")]), offset).as_json(),
            &serde_json::json!({})
        );
    }

    #[test]
    fn local_times_take_the_city_offset() {
        let east = time::UtcOffset::from_hms(8, 0, 0).unwrap();
        let west = time::UtcOffset::from_hms(-3, -30, 0).unwrap();
        assert_eq!(
            with_offset("2026-12-03T09:00", east),
            "2026-12-03T09:00:00+08:00"
        );
        assert_eq!(
            with_offset("2026-12-03T09:00:15", east),
            "2026-12-03T09:00:15+08:00"
        );
        assert_eq!(
            with_offset("2026-12-03T09:00", west),
            "2026-12-03T09:00:00-03:30"
        );
    }

    #[test]
    fn actions_need_a_code_and_the_version_seen() {
        let body = |v: serde_json::Value| v.as_object().unwrap().clone();
        let ok = ActionInput::from_json(
            &body(serde_json::json!({"action": " accept ", "version": 3, "note": "x"})),
            "",
        )
        .unwrap();
        assert_eq!((ok.action.as_str(), ok.version), ("accept", 3));
        assert_eq!(ok.data.as_json()["note"], "x");
        let fields = |r: Result<ActionInput, Error>| match r {
            Err(Error::Invalid(f)) => f.into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(ActionInput::from_json(
                &body(serde_json::json!({})),
                "actions.2."
            )),
            [
                ("actions.2.action".to_owned(), FieldCode::Required),
                ("actions.2.version".to_owned(), FieldCode::Required),
            ]
        );
        assert_eq!(
            fields(ActionInput::from_json(
                &body(serde_json::json!({"action": "", "version": 0})),
                ""
            )),
            [
                ("action".to_owned(), FieldCode::Required),
                ("version".to_owned(), FieldCode::InvalidFormat),
            ]
        );
    }

    #[test]
    fn a_survey_is_later_than_now() {
        let now = onestop_domain::timefmt::parse("2026-12-01T09:00:00+08:00").unwrap();
        let offset = now.offset();
        let at = SurveyInput::from_form("2026-12-02T10:00", offset, now).unwrap();
        assert_eq!(
            at.at,
            onestop_domain::timefmt::parse("2026-12-02T10:00:00+08:00").unwrap()
        );
        assert_eq!(at.version, None);
        for (typed, code) in [
            ("", FieldCode::Required),
            ("2026-12-01T09:00", FieldCode::NotInFuture),
            ("明天上午", FieldCode::InvalidFormat),
        ] {
            match SurveyInput::from_form(typed, offset, now) {
                Err(Error::Invalid(f)) => assert_eq!(f[0].code, code, "{typed}"),
                other => panic!("{typed}: {other:?}"),
            }
        }
    }
}
