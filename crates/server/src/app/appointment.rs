//! Moving the connection appointment (预约接入时间) an application carries:
//! the enterprise (or the clerk of the hall it was filed at) asks for
//! another time; the move is checked (in the future, on working time), the
//! form keeps the new time with the move in the history, and every order
//! already in the connection stage has its deadline recomputed — the later
//! of the new appointment and the stage's limit — in the same transaction.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::auth::Caller;
use crate::texts::appointment as t;
use onestop_domain::application::{Application, OrderStatus, Stage};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::plausible::{APPOINTMENT_AT, check_appointment};
use onestop_domain::timefmt;
use onestop_store::StoreError;
use onestop_store::work_orders::{self, OrderUpdate};
use time::OffsetDateTime;

/// A new connection appointment as asked for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentInput {
    /// At the city's offset.
    pub at: OffsetDateTime,
}

impl AppointmentInput {
    /// Reads `{"appointment_at": RFC 3339}`: later than `now`, on a
    /// working day of the calendar in use, within its working hours.
    pub fn from_json(
        state: &AppState,
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, Error> {
        let field = |code, message: &str| {
            Error::Invalid(vec![FieldError::new(APPOINTMENT_AT, code, message)])
        };
        let at = match body.get(APPOINTMENT_AT) {
            None | Some(serde_json::Value::Null) => {
                return Err(field(FieldCode::Required, t::MISSING));
            }
            Some(v) => match v.as_str().map(str::trim).and_then(timefmt::parse) {
                Some(at) => at,
                None => return Err(field(FieldCode::InvalidFormat, t::FORMAT)),
            },
        };
        check_appointment(at, state.now(), &state.clock.get())
            .map(|at| Self { at })
            .map_err(|e| Error::Invalid(vec![e]))
    }

    /// The appointment typed on a page as a local date-time (blank: none).
    pub fn from_form(state: &AppState, local: &str) -> Result<Self, Error> {
        let mut body = serde_json::Map::new();
        let local = local.trim();
        if !local.is_empty() {
            body.insert(
                APPOINTMENT_AT.into(),
                crate::app::workorders::with_offset(local, state.offset).into(),
            );
        }
        Self::from_json(state, &body)
    }
}

/// Whether the caller may move this application's appointment now (for
/// the pages): it acts for the enterprise or at the hall, and an order is
/// still open.
pub fn may_move(caller: &Caller, app: &Application) -> bool {
    let facts = crate::app::applications::facts(app, &[], &[]);
    caller.subject.may_move_appointment(&facts) && still_open(app)
}

fn still_open(app: &Application) -> bool {
    app.work_orders
        .iter()
        .any(|o| matches!(o.status, OrderStatus::Open | OrderStatus::Returned))
}

/// Moves the application's connection appointment to `input.at`, and
/// recomputes the deadline of its orders in the connection stage.
pub async fn move_appointment(
    state: &AppState,
    caller: &Caller,
    id: String,
    input: AppointmentInput,
) -> Result<Application, Error> {
    let Some(app) = crate::app::applications::read_application(state, caller, id.clone()).await?
    else {
        return Err(Error::NotFound);
    };
    let facts = crate::app::applications::facts(&app, &[], &[]);
    if !caller.subject.may_move_appointment(&facts) {
        return Err(Error::forbidden());
    }
    if !still_open(&app) {
        let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::FINISHED);
        e.set_allowed(Vec::new());
        return Err(e);
    }
    let at_ms = timefmt::to_ms(input.at);
    let now_ms = state.now_ms();
    let actor = caller.subject.actor();
    let (clock, share) = (state.clock.get(), state.config.limits.warning_share);
    let in_connection: Vec<String> = app
        .work_orders
        .iter()
        .filter(|o| o.stage == Stage::Connection && o.status == OrderStatus::Open)
        .map(|o| o.id.clone())
        .collect();
    let app_id = app.id.clone();
    state
        .store
        .write(move |c| {
            if onestop_store::applications::move_appointment(c, &app_id, input.at, &actor, now_ms)?
                .is_none()
            {
                return Err(StoreError::Conflict(app_id.clone()));
            }
            for order in &in_connection {
                let Some(oc) = work_orders::clock(c, order)? else {
                    continue;
                };
                // Moved on meanwhile: its connection stage is over.
                if oc.stage != Stage::Connection || oc.status != OrderStatus::Open {
                    continue;
                }
                let before = oc.stage_clock();
                let after = before
                    .not_before(&clock, Some(at_ms), share)
                    .map_err(StoreError::Calendar)?;
                let level = after.level_at(now_ms);
                let mut u = OrderUpdate {
                    id: order.clone(),
                    expected_version: oc.version,
                    from_stage: oc.stage,
                    from_status: oc.status,
                    stage: oc.stage,
                    status: oc.status,
                    stage_started_at_ms: 0,
                    budget_seconds: 0,
                    suspended_seconds: 0,
                    suspended_at_ms: None,
                    not_before_ms: None,
                    works_start_unknown: oc.works_start_unknown,
                    due_at_ms: 0,
                    level,
                    warn_at_ms: None,
                    next_level_at_ms: after.next_change(level),
                    at_ms: now_ms,
                    actor: actor.clone(),
                    kind: "deadline_recomputed".into(),
                    data: serde_json::json!({
                        "reason": "appointment_moved",
                        "from_due_at_ms": before.instants.due_at_ms,
                        "due_at_ms": after.instants.due_at_ms,
                        "from_level": oc.level.as_str(),
                        "level": level.as_str(),
                    })
                    .to_string(),
                    ended: None,
                };
                u.set_clock(&after);
                if !work_orders::apply(c, &u, &oc.application_id)? {
                    return Err(StoreError::Conflict(order.clone()));
                }
            }
            Ok(())
        })
        .await?;
    crate::app::applications::read_application(state, caller, id)
        .await?
        .ok_or(Error::Internal(
            "a record written in this transaction is missing",
        ))
}
