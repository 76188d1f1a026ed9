//! Follow-ups (咨询回复、差评整改): what a unit owes in writing after a
//! consultation the window passed on to it, or after a bad rating. Each
//! runs on the one stage clock with the configured limit
//! (`[counter]`), warns and falls overdue through the sweeper like a work
//! order, sits in the unit's inbox (`/follow-ups`) and is closed by the
//! unit's written answer, which goes back to whoever logged the
//! consultation or gave the rating.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::messages;
use crate::auth::Caller;
use crate::texts::counter as t;
use onestop_domain::access::{Capability, Role, Visibility};
use onestop_domain::application::{Level, UnitRef};
use onestop_domain::calendar::Clock;
use onestop_domain::clock::StageClock;
use onestop_domain::config::CityConfig;
use onestop_domain::counter::{FollowUpKind, FollowUpStatus};
use onestop_domain::timefmt;
use onestop_store::StoreError;
use onestop_store::db::Conn;
use onestop_store::follow_ups::{self, FollowUp, FollowUpFilter};
use onestop_store::notifications::{self, Message};
use serde::Serialize;
use time::UtcOffset;
use utoipa::ToSchema;

/// A follow-up as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUpView {
    pub id: String,
    pub kind: FollowUpKind,
    pub status: FollowUpStatus,
    /// `normal`, `warning` or `overdue` while open; as it stood when answered.
    pub level: Level,
    /// The unit that owes the answer.
    pub unit: UnitRef,
    /// The hall it arose at, if any.
    pub hall: Option<String>,
    /// The consultation's or the rating's id.
    pub subject_id: String,
    /// The application a rating was about, if any.
    pub application_id: Option<String>,
    /// What is to be answered: the consultation's topic, the rating's comment.
    pub summary: String,
    pub created_at: String,
    pub warn_at: String,
    pub due_at: String,
    pub response: Option<String>,
    pub answered_at: Option<String>,
    pub answered_by: Option<String>,
    /// Answered after its deadline.
    pub late: Option<bool>,
    /// Named by an answer (`409 stale_version` when someone answered first).
    pub version: i64,
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

pub fn view(state: &AppState, f: &FollowUp) -> FollowUpView {
    FollowUpView {
        id: f.id.clone(),
        kind: f.kind,
        status: f.status,
        level: f.level,
        unit: unit_ref(&state.config, &f.unit_code),
        hall: f.hall.clone(),
        subject_id: f.subject_id.clone(),
        application_id: f.application_id.clone(),
        summary: f.summary.clone(),
        created_at: at(state, f.created_at_ms),
        warn_at: at(state, f.warn_at_ms),
        due_at: at(state, f.due_at_ms),
        response: f.response.clone(),
        answered_at: f.answered_at_ms.map(|ms| at(state, ms)),
        answered_by: f
            .answered_by
            .as_deref()
            .map(onestop_domain::access::actor_label),
        late: f.late,
        version: f.version,
    }
}

/// What opens a follow-up: its kind and subject, the unit that owes the
/// answer, where it arose and what it is about.
pub(crate) struct Opening<'a> {
    pub kind: FollowUpKind,
    pub subject_id: &'a str,
    pub unit: &'a str,
    pub hall: Option<&'a str>,
    pub application_id: Option<&'a str>,
    pub summary: &'a str,
    /// For the unit's message: where it came from, and (a rating) the
    /// level given and its comment.
    pub origin: &'a str,
    pub level: &'a str,
    pub comment: Option<&'a str>,
}

/// Everything a write needs to open a follow-up without reading the
/// server's state.
#[derive(Clone)]
pub(crate) struct Opener {
    pub config: std::sync::Arc<CityConfig>,
    pub clock: std::sync::Arc<Clock>,
    pub offset: UtcOffset,
    pub actor: String,
    pub account: Option<String>,
    pub now_ms: i64,
}

impl Opener {
    pub fn new(state: &AppState, caller: &Caller) -> Opener {
        Opener {
            config: state.config.clone(),
            clock: state.clock.get(),
            offset: state.offset,
            actor: caller.subject.actor(),
            account: caller.account().map(|a| a.id.clone()),
            now_ms: state.now_ms(),
        }
    }

    /// Working days the unit has for a follow-up of `kind`.
    fn days(&self, kind: FollowUpKind) -> f64 {
        match kind {
            FollowUpKind::Consultation => self.config.counter.consultation_follow_up_days,
            FollowUpKind::Rating => self.config.counter.rating_follow_up_days,
        }
    }

    /// Opens the follow-up (inside the caller's transaction): its clock
    /// starts now with the configured limit, warning at the configured
    /// share; its history starts; the unit's operators are told.
    pub fn open(
        &self,
        c: &mut dyn Conn,
        id: &str,
        o: &Opening<'_>,
    ) -> Result<FollowUp, StoreError> {
        let cal = StoreError::Calendar;
        let share = self.config.limits.warning_share;
        let budget = self.clock.budget_for_days(self.days(o.kind)).map_err(cal)?;
        let stage = StageClock::start(&self.clock, self.now_ms, budget, share).map_err(cal)?;
        let level = stage.level_at(self.now_ms);
        let f = FollowUp {
            id: id.to_owned(),
            kind: o.kind,
            subject_id: o.subject_id.to_owned(),
            unit_code: o.unit.to_owned(),
            hall: o.hall.map(str::to_owned),
            application_id: o.application_id.map(str::to_owned),
            summary: o.summary.to_owned(),
            status: FollowUpStatus::Open,
            created_at_ms: self.now_ms,
            created_by: self.actor.clone(),
            created_by_account: self.account.clone(),
            started_at_ms: stage.started_at_ms,
            budget_seconds: stage.budget_seconds,
            suspended_seconds: 0,
            due_not_before_ms: None,
            warn_at_ms: stage.instants.warn_at_ms,
            due_at_ms: stage.instants.due_at_ms,
            level,
            next_level_at_ms: stage.next_change(level),
            response: None,
            answered_at_ms: None,
            answered_by: None,
            answered_by_account: None,
            late: None,
            version: 1,
        };
        follow_ups::insert(c, &f)?;
        follow_ups::event(
            c,
            "follow_up",
            &f.id,
            f.hall.as_deref(),
            Some(&f.unit_code),
            self.now_ms,
            &self.actor,
            "follow_up_opened",
            &serde_json::json!({
                "kind": f.kind.as_str(),
                "subject": f.subject_id,
                "due_at": f.due_at_ms,
                "budget_seconds": f.budget_seconds,
            }),
        )?;
        let unit = unit_ref(&self.config, o.unit).name;
        let text = messages::fill(&messages::FollowUpArrived {
            rating: o.kind == FollowUpKind::Rating,
            unit: &unit,
            origin: o.origin,
            topic: messages::clause(o.summary),
            level: o.level,
            comment: o.comment.map(messages::clause),
            due: &timefmt::when_zh(timefmt::from_ms(f.due_at_ms, self.offset), self.offset),
        });
        let to = notifications::holders(c, "operator", Some(o.unit))?;
        if !to.is_empty() {
            notifications::send(
                c,
                &to,
                &Message {
                    event_key: format!("follow_up_new:{}", f.id),
                    kind: "follow_up_new".into(),
                    title: text.title,
                    body: text.body,
                    link: Some(format!("/follow-ups/{}", f.id)),
                    at_ms: self.now_ms,
                },
                crate::jobs::delivery::outward(&self.config),
            )?;
        }
        Ok(f)
    }
}

/// Whether `v` (the caller's application visibility) opens this follow-up:
/// everything, its unit's, or its hall's.
pub fn admits(v: &Visibility, f: &FollowUp) -> bool {
    v.all || v.units.contains(&f.unit_code) || f.hall.as_ref().is_some_and(|h| v.halls.contains(h))
}

/// One follow-up, if the caller may see it (else `None`, as if absent).
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<Option<FollowUp>, Error> {
    if id.len() > 64 || !caller.subject.may(Capability::FollowUps) {
        return Ok(None);
    }
    let v = caller.subject.applications();
    let found = state.store.read(move |c| follow_ups::get(c, &id)).await?;
    Ok(found.and_then(|f| {
        if admits(&v, &f) {
            Some(f)
        } else {
            caller.hidden("follow_up", &f.id);
            None
        }
    }))
}

/// A page of the follow-ups the caller may see: open ones first, the
/// earliest deadline first, then answered ones.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    status: Option<FollowUpStatus>,
    kind: Option<FollowUpKind>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<FollowUp>, bool), Error> {
    if !caller.subject.may(Capability::FollowUps) {
        return Err(Error::forbidden());
    }
    let v = caller.subject.applications();
    let filter = FollowUpFilter {
        units: (!v.all).then(|| v.units.clone()),
        halls: v.halls.clone(),
        status,
        kind,
        page,
        per_page,
    };
    Ok(state
        .store
        .read(move |c| follow_ups::list(c, &filter))
        .await?)
}

/// How many follow-ups wait for an answer from the caller's units.
pub async fn open_for_units(state: &AppState, caller: &Caller) -> Result<i64, Error> {
    let units: Vec<String> = caller
        .subject
        .scopes_of(Role::Operator)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if units.is_empty() {
        return Ok(0);
    }
    Ok(state
        .store
        .read(move |c| follow_ups::open_count(c, Some(&units)))
        .await?)
}

/// The unit's written answer, as asked for.
#[derive(Debug, Clone)]
pub struct AnswerInput {
    pub response: String,
    pub version: i64,
}

impl AnswerInput {
    /// The answer's text (the one text rule) and the version it answers.
    pub fn parse(response: Option<&str>, version: Option<i64>) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let response = onestop_domain::counter::validate_response(response)
            .map_err(|e| errors.extend(e))
            .unwrap_or_default();
        if version.is_none() {
            errors.push(onestop_domain::form::FieldError::new(
                "version",
                onestop_domain::form::FieldCode::Required,
                t::VERSION_MISSING,
            ));
        }
        match version {
            Some(version) if errors.is_empty() => Ok(AnswerInput { response, version }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// The unit answers a follow-up in writing: it closes (its clock stops,
/// whether it was late is kept), its history records the answer, an
/// application's history too for a rating of one, and whoever logged the
/// consultation or gave the rating is told.
pub async fn answer(
    state: &AppState,
    caller: &Caller,
    id: String,
    input: AnswerInput,
) -> Result<FollowUp, Error> {
    let Some(f) = visible(state, caller, id).await? else {
        return Err(Error::NotFound);
    };
    if !caller.subject.operates(&f.unit_code) {
        return Err(Error::forbidden());
    }
    if f.status != FollowUpStatus::Open {
        let mut e = Error::refused(Refusal::Conflict, "invalid_transition", t::ANSWERED_ALREADY);
        e.set_allowed(Vec::new());
        return Err(e);
    }
    let (by, account) = (
        caller.subject.actor(),
        caller.account().map(|a| a.id.clone()),
    );
    let now_ms = state.now_ms();
    let config = state.config.clone();
    let (fid, response, version) = (f.id.clone(), input.response, input.version);
    let answered = state
        .store
        .write(move |c| {
            if !follow_ups::answer(c, &fid, version, &response, &by, account.as_deref(), now_ms)? {
                return Ok(None);
            }
            let Some(f) = follow_ups::get(c, &fid)? else {
                return Ok(None);
            };
            follow_ups::event(
                c,
                "follow_up",
                &f.id,
                f.hall.as_deref(),
                Some(&f.unit_code),
                now_ms,
                &by,
                "follow_up_answered",
                &serde_json::json!({"response": response, "late": f.late}),
            )?;
            tell_answered(c, &config, &f)?;
            Ok(Some(f))
        })
        .await?;
    match answered {
        Some(f) => Ok(f),
        None => {
            let fid = f.id.clone();
            let now = state.store.read(move |c| follow_ups::get(c, &fid)).await?;
            Err(match now {
                Some(n) if n.status != FollowUpStatus::Open => {
                    let mut e = Error::refused(
                        Refusal::Conflict,
                        "invalid_transition",
                        t::ANSWERED_ALREADY,
                    );
                    e.set_allowed(Vec::new());
                    e
                }
                _ => Error::stale_version(),
            })
        }
    }
}

/// Tells whoever logged the consultation or gave the rating of the unit's
/// answer, and records it in the rated application's history.
fn tell_answered(c: &mut dyn Conn, config: &CityConfig, f: &FollowUp) -> Result<(), StoreError> {
    let unit = unit_ref(config, &f.unit_code).name;
    let response = f.response.as_deref().unwrap_or_default();
    let (rating, level, to) = match f.kind {
        FollowUpKind::Consultation => {
            let clerk =
                onestop_store::consultations::get(c, &f.subject_id)?.and_then(|k| k.clerk_account);
            (false, String::new(), clerk)
        }
        FollowUpKind::Rating => {
            let r = onestop_store::ratings::get(c, &f.subject_id)?;
            if let (Some(r), Some(app)) = (&r, &f.application_id) {
                onestop_store::applications::history(
                    c,
                    app,
                    None,
                    f.answered_at_ms.unwrap_or_default(),
                    f.answered_by.as_deref().unwrap_or_default(),
                    "rating_answered",
                    &serde_json::json!({
                        "rating": r.id,
                        "unit": f.unit_code,
                        "response": response,
                        "late": f.late,
                    }),
                )?;
            }
            let level = r
                .as_ref()
                .map(|r| r.level.label_zh().to_owned())
                .unwrap_or_default();
            (true, level, r.and_then(|r| r.rater_account))
        }
    };
    let Some(to) = to else {
        return Ok(());
    };
    let text = messages::fill(&messages::FollowUpAnswered {
        rating,
        unit: &unit,
        topic: messages::clause(&f.summary),
        level: &level,
        response: messages::clause(response),
    });
    let link = match (&f.application_id, f.kind) {
        (Some(app), FollowUpKind::Rating) => format!("/applications/{app}#ratings"),
        _ => "/counter#consultations".to_owned(),
    };
    notifications::send(
        c,
        &[to],
        &Message {
            event_key: format!("follow_up_answered:{}", f.id),
            kind: "follow_up_answered".into(),
            title: text.title,
            body: text.body,
            link: Some(link),
            at_ms: f.answered_at_ms.unwrap_or_default(),
        },
        crate::jobs::delivery::outward(config),
    )?;
    Ok(())
}

/// Tells the unit's operators of a follow-up's warning, and them and the
/// supervisors of an overdue one (the sweeper, in the move's transaction).
pub(crate) fn tell_level(
    c: &mut dyn Conn,
    m: &onestop_store::levels::MovedFollowUp,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<(), StoreError> {
    if m.to == Level::Normal {
        return Ok(());
    }
    let mut to = notifications::holders(c, "operator", Some(&m.unit_code))?;
    if m.to == Level::Overdue {
        for s in notifications::holders(c, "supervisor", None)? {
            if !to.contains(&s) {
                to.push(s);
            }
        }
    }
    if to.is_empty() {
        return Ok(());
    }
    let what = FollowUpKind::parse(&m.kind).map_or("", FollowUpKind::label_zh);
    let unit = unit_ref(config, &m.unit_code).name;
    let text = messages::fill(&messages::FollowUpLevel {
        overdue: m.to == Level::Overdue,
        what,
        unit: &unit,
        summary: messages::clause(&m.summary),
        due: &timefmt::when_zh(timefmt::from_ms(m.due_at_ms, offset), offset),
    });
    let kind = format!("follow_up_{}", onestop_store::levels::event_kind(m.to));
    notifications::send(
        c,
        &to,
        &Message {
            event_key: format!("{kind}:{}:{}", m.follow_up_id, m.at_ms),
            kind,
            title: text.title,
            body: text.body,
            link: Some(format!("/follow-ups/{}", m.follow_up_id)),
            at_ms: m.at_ms,
        },
        crate::jobs::delivery::outward(config),
    )?;
    Ok(())
}

/// Where an open follow-up stands now (working time left or overdue), on
/// the calendar in use; `None` once answered or when the calendar cannot
/// count it.
pub fn standing(state: &AppState, f: &FollowUp) -> Option<onestop_domain::clock::Standing> {
    if f.status != FollowUpStatus::Open {
        return None;
    }
    f.clock().standing(&state.clock.get(), state.now_ms()).ok()
}
