//! Ratings (好差评, five levels): an enterprise rates its completed
//! application (naming the unit it concerns) or one of its finished work
//! orders; a clerk records a rating given at the window (a rating pad) of a
//! consultation or of a visit. A rating of 不满意 or 非常不满意 opens a
//! follow-up for the unit concerned (差评整改), on the one clock with the
//! configured limit, closed by the unit's written answer, which the rater
//! reads on the application page.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::follow_ups::{FollowUpView, Opener, Opening};
use crate::auth::Caller;
use crate::texts::counter as t;
use onestop_domain::access::{Capability, Role};
use onestop_domain::application::{ApplicationStatus, OrderStatus, UnitRef};
use onestop_domain::counter::{
    FollowUpKind, RatingDraft, RatingInput, RatingLevel, RatingSubject, local_day, validate_rating,
};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::timefmt;
use onestop_store::follow_ups::FollowUp;
use onestop_store::idempotency::{IdempotencyKey, SavedResponse};
use onestop_store::ratings::{self, Rating};
use serde::Serialize;
use utoipa::ToSchema;

/// A rating as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingView {
    pub id: String,
    pub subject_kind: RatingSubject,
    pub subject_id: String,
    pub application_id: Option<String>,
    pub hall: Option<String>,
    /// The unit it concerns, if one.
    pub unit: Option<UnitRef>,
    pub level: RatingLevel,
    /// 5 (非常满意) to 1 (非常不满意).
    pub score: i64,
    pub comment: Option<String>,
    /// `online` (by the enterprise) or `window` (given at a window).
    pub channel: String,
    pub rated_at: String,
    /// The follow-up a bad rating opened, with the unit's answer once given.
    pub follow_up: Option<FollowUpView>,
}

pub fn view(state: &AppState, r: &Rating, f: Option<&FollowUp>) -> RatingView {
    RatingView {
        id: r.id.clone(),
        subject_kind: r.subject_kind,
        subject_id: r.subject_id.clone(),
        application_id: r.application_id.clone(),
        hall: r.hall.clone(),
        unit: r.unit_code.as_ref().map(|u| UnitRef {
            code: u.clone(),
            name: state
                .config
                .unit(u)
                .map_or_else(|| u.clone(), |x| x.name.clone()),
        }),
        level: r.level,
        score: r.level.score(),
        comment: r.comment.clone(),
        channel: r.channel.clone(),
        rated_at: timefmt::format(timefmt::from_ms(r.at_ms, state.offset)),
        follow_up: f.map(|f| crate::app::follow_ups::view(state, f)),
    }
}

/// A rating as asked for: its subject and the rating itself.
#[derive(Debug, Clone)]
pub struct RatingRequest {
    pub subject_kind: RatingSubject,
    pub subject_id: String,
    pub input: RatingInput,
}

impl RatingRequest {
    /// Reads `subject_kind`, `subject_id`, `level`, `comment` and `unit`
    /// (every problem at once).
    pub fn parse(
        state: &AppState,
        subject_kind: Option<&str>,
        subject_id: Option<&str>,
        draft: RatingDraft<'_>,
    ) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let kind = match subject_kind.map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                errors.push(FieldError::new(
                    "subject_kind",
                    FieldCode::Required,
                    t::SUBJECT_KIND_MISSING,
                ));
                None
            }
            Some(k) => {
                let parsed = RatingSubject::parse(k);
                if parsed.is_none() {
                    errors.push(FieldError::new(
                        "subject_kind",
                        FieldCode::UnknownValue,
                        t::SUBJECT_KIND_UNKNOWN,
                    ));
                }
                parsed
            }
        };
        let id = match subject_id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) if id.len() <= 64 => Some(id.to_owned()),
            Some(_) => {
                errors.push(FieldError::new(
                    "subject_id",
                    FieldCode::TooLong,
                    t::SUBJECT_ID_TOO_LONG,
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "subject_id",
                    FieldCode::Required,
                    t::SUBJECT_ID_MISSING,
                ));
                None
            }
        };
        let input = validate_rating(&draft, &state.config).map_err(|e| errors.extend(e));
        match (kind, id, input) {
            (Some(subject_kind), Some(subject_id), Ok(input)) if errors.is_empty() => {
                Ok(RatingRequest {
                    subject_kind,
                    subject_id,
                    input,
                })
            }
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// What a rating is about, once the caller's right to give it is checked.
struct Rated {
    application_id: Option<String>,
    hall: Option<String>,
    /// The units it may concern (empty: any utility); the one it concerns
    /// when none is named (a single unit, a consultation's follow-up unit).
    units: Vec<String>,
    default_unit: Option<String>,
    channel: &'static str,
    /// Where it came from, for the unit's message.
    origin: String,
    /// One rating per subject, unit and this key (`None`: each its own).
    rater_key: Option<String>,
}

fn conflict(code: &'static str, message: &str) -> Error {
    let mut e = Error::refused(Refusal::Conflict, code, message);
    e.set_allowed(Vec::new());
    e
}

/// The caller's own key as a rater: the account, or the integration key.
fn rater_key(caller: &Caller) -> String {
    let (kind, id, _) = caller.subject.audit_identity();
    format!("{kind}:{id}")
}

/// Checks that the caller may rate the subject now, and what it is about.
async fn subject(state: &AppState, caller: &Caller, r: &RatingRequest) -> Result<Rated, Error> {
    let halls = caller.subject.scopes_of(Role::Clerk);
    match r.subject_kind {
        RatingSubject::Application => {
            let Some(app) =
                crate::app::applications::read_application(state, caller, r.subject_id.clone())
                    .await?
            else {
                return Err(Error::NotFound);
            };
            let units: Vec<String> = app
                .work_orders
                .iter()
                .map(|o| o.unit.code.clone())
                .collect();
            let facts = crate::app::applications::facts(&app, &units, &[]);
            if !caller
                .subject
                .roles_on_application(&facts)
                .contains(&"applicant")
            {
                return Err(Error::forbidden());
            }
            if app.status != ApplicationStatus::Completed {
                return Err(conflict("not_completed", t::NOT_COMPLETED));
            }
            let mut rated: Vec<String> = Vec::new();
            for o in app
                .work_orders
                .iter()
                .filter(|o| o.status != OrderStatus::Cancelled)
            {
                if !rated.contains(&o.unit.code) {
                    rated.push(o.unit.code.clone());
                }
            }
            Ok(Rated {
                default_unit: (rated.len() == 1).then(|| rated[0].clone()),
                units: rated,
                hall: app.form.hall_id.clone(),
                channel: "online",
                origin: crate::texts::fill(
                    t::ORIGIN_APPLICATION,
                    &[
                        ("enterprise", &app.form.applicant.name),
                        ("number", &app.number),
                    ],
                ),
                application_id: Some(app.id),
                rater_key: Some(rater_key(caller)),
            })
        }
        RatingSubject::WorkOrder => {
            let Some(row) =
                crate::app::workorders::visible_order(state, caller, r.subject_id.clone()).await?
            else {
                return Err(Error::NotFound);
            };
            if !crate::app::workorders::order_roles(&caller.subject, &row).contains(&"applicant") {
                return Err(Error::forbidden());
            }
            let o = &row.item.order;
            if o.status != OrderStatus::Done {
                return Err(conflict("not_completed", t::ORDER_NOT_DONE));
            }
            Ok(Rated {
                application_id: Some(row.item.application_id.clone()),
                hall: row.facts().hall_id.map(str::to_owned),
                units: vec![o.unit.code.clone()],
                default_unit: Some(o.unit.code.clone()),
                channel: "online",
                origin: crate::texts::fill(
                    t::ORIGIN_APPLICATION,
                    &[
                        ("enterprise", &row.item.applicant_name),
                        ("number", &row.item.application_number),
                    ],
                ),
                rater_key: Some(rater_key(caller)),
            })
        }
        RatingSubject::Consultation => {
            let id = r.subject_id.clone();
            let Some(k) = state
                .store
                .read(move |c| onestop_store::consultations::get(c, &id))
                .await?
            else {
                return Err(Error::NotFound);
            };
            if !halls.contains(&k.hall.as_str()) {
                caller.hidden("consultation", &k.id);
                return Err(Error::NotFound);
            }
            let follow_up_unit = match &k.follow_up_id {
                Some(fid) => {
                    let fid = fid.clone();
                    state
                        .store
                        .read(move |c| onestop_store::follow_ups::get(c, &fid))
                        .await?
                        .map(|f| f.unit_code)
                }
                None => None,
            };
            Ok(Rated {
                application_id: None,
                origin: crate::texts::fill(
                    t::ORIGIN_HALL,
                    &[("hall", &crate::app::counter::hall_name(state, &k.hall))],
                ),
                hall: Some(k.hall),
                units: Vec::new(),
                default_unit: follow_up_unit,
                channel: "window",
                rater_key: Some("window".into()),
            })
        }
        RatingSubject::WindowVisit => {
            if !halls.contains(&r.subject_id.as_str()) {
                return Err(if caller.subject.may(Capability::WorkCounter) {
                    Error::NotFound
                } else {
                    Error::forbidden()
                });
            }
            Ok(Rated {
                application_id: None,
                hall: Some(r.subject_id.clone()),
                origin: crate::texts::fill(
                    t::ORIGIN_HALL,
                    &[(
                        "hall",
                        &crate::app::counter::hall_name(state, &r.subject_id),
                    )],
                ),
                units: Vec::new(),
                default_unit: None,
                channel: "window",
                rater_key: None,
            })
        }
    }
}

/// What giving a rating came to.
pub enum Given {
    Created(Box<RatingView>),
    /// The key's first answer, replayed.
    Replayed(SavedResponse),
}

/// Gives a rating (see the module's text). A bad one opens the unit's
/// follow-up in the same transaction; with an `Idempotency-Key` the
/// first answer is kept and replayed.
pub async fn rate(
    state: &AppState,
    caller: &Caller,
    r: RatingRequest,
    key: Option<IdempotencyKey>,
) -> Result<Given, Error> {
    let rated = subject(state, caller, &r).await?;
    let unit = match (&r.input.unit, &rated.default_unit) {
        (Some(u), _) if !rated.units.is_empty() && !rated.units.contains(u) => {
            return Err(Error::Invalid(vec![FieldError::new(
                "unit",
                FieldCode::UnknownValue,
                t::UNIT_NOT_OF_SUBJECT,
            )]));
        }
        (Some(u), _) => Some(u.clone()),
        (None, d) => d.clone(),
    };
    if r.input.level.is_bad() && unit.is_none() {
        return Err(Error::Invalid(vec![FieldError::new(
            "unit",
            FieldCode::Required,
            t::UNIT_FOR_BAD_RATING,
        )]));
    }
    let opener = Opener::new(state, caller);
    let id = crate::app::applications::new_id();
    let follow_up_id = r
        .input
        .level
        .is_bad()
        .then(crate::app::applications::new_id);
    let rating = Rating {
        id: id.clone(),
        subject_kind: r.subject_kind,
        subject_id: r.subject_id.clone(),
        application_id: rated.application_id.clone(),
        hall: rated.hall.clone(),
        unit_code: unit.clone(),
        level: r.input.level,
        comment: r.input.comment.clone(),
        channel: rated.channel.to_owned(),
        rater: opener.actor.clone(),
        rater_account: opener.account.clone(),
        rater_key: rated.rater_key.clone().unwrap_or_else(|| id.clone()),
        at_ms: opener.now_ms,
        day: local_day(opener.now_ms, state.offset),
        follow_up_id: follow_up_id.clone(),
    };
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let origin = rated.origin.clone();
    let s = state.clone();
    let outcome = state
        .store
        .write(move |c| {
            if let Some(k) = &key
                && let Some(saved) = onestop_store::idempotency::claim(c, k, opener.now_ms)?
            {
                return Ok(Err(Some(saved)));
            }
            if !ratings::insert(c, &rating)? {
                if let Some(k) = &key {
                    onestop_store::idempotency::release(c, k)?;
                }
                return Ok(Err(None));
            }
            let follow_up = match (&follow_up_id, &rating.unit_code) {
                (Some(fid), Some(unit)) => {
                    let summary = rating
                        .comment
                        .clone()
                        .unwrap_or_else(|| rating.level.label_zh().to_owned());
                    Some(opener.open(
                        c,
                        fid,
                        &Opening {
                            kind: FollowUpKind::Rating,
                            subject_id: &rating.id,
                            unit,
                            hall: rating.hall.as_deref(),
                            application_id: rating.application_id.as_deref(),
                            summary: &summary,
                            origin: &origin,
                            level: rating.level.label_zh(),
                            comment: rating.comment.as_deref(),
                        },
                    )?)
                }
                _ => None,
            };
            let data = serde_json::json!({
                "rating": rating.id,
                "subject_kind": rating.subject_kind.as_str(),
                "subject": rating.subject_id,
                "level": rating.level.as_str(),
                "unit": rating.unit_code,
                "comment": rating.comment,
                "follow_up": follow_up_id,
            });
            onestop_store::follow_ups::event(
                c,
                "rating",
                &rating.id,
                rating.hall.as_deref(),
                rating.unit_code.as_deref(),
                opener.now_ms,
                &opener.actor,
                "rated",
                &data,
            )?;
            if let Some(app) = &rating.application_id {
                onestop_store::applications::history(
                    c,
                    app,
                    None,
                    opener.now_ms,
                    &opener.actor,
                    "rated",
                    &data,
                )?;
            }
            let v = view(&s, &rating, follow_up.as_ref());
            if let Some(k) = &key {
                let body = serde_json::to_string(&v)
                    .map_err(|e| onestop_store::StoreError::Internal(e.to_string()))?;
                onestop_store::idempotency::complete(
                    c,
                    k,
                    201,
                    Some(&format!("/api/v1/ratings/{}", rating.id)),
                    &body,
                )?;
            }
            Ok(Ok(v))
        })
        .await?;
    match outcome {
        Ok(v) => Ok(Given::Created(Box::new(v))),
        Err(Some(saved)) if Some(&saved.request_hash) == hash.as_ref() => {
            Ok(Given::Replayed(saved))
        }
        Err(Some(_)) => Err(crate::app::applications::idempotency_conflict()),
        Err(None) => Err(conflict("already_rated", t::ALREADY_RATED)),
    }
}

/// Whether the caller may read a rating: its rater, the unit it concerns,
/// the hall it was given at, or whoever reads its application.
async fn may_read(state: &AppState, caller: &Caller, r: &Rating) -> Result<bool, Error> {
    let v = caller.subject.applications();
    if v.all
        || r.rater_account.is_some()
            && r.rater_account.as_deref() == caller.account().map(|a| a.id.as_str())
        || r.unit_code.as_ref().is_some_and(|u| v.units.contains(u))
        || r.hall.as_ref().is_some_and(|h| v.halls.contains(h))
    {
        return Ok(true);
    }
    match &r.application_id {
        Some(app) => Ok(
            crate::app::applications::read_application(state, caller, app.clone())
                .await?
                .is_some(),
        ),
        None => Ok(false),
    }
}

/// One rating with its follow-up, if the caller may read it.
pub async fn read(state: &AppState, caller: &Caller, id: String) -> Result<RatingView, Error> {
    if id.len() > 64 || caller.subject.is_anonymous() {
        return Err(Error::NotFound);
    }
    let found = state
        .store
        .read(move |c| {
            let Some(r) = ratings::get(c, &id)? else {
                return Ok(None);
            };
            let f = match &r.follow_up_id {
                Some(fid) => onestop_store::follow_ups::get(c, fid)?,
                None => None,
            };
            Ok(Some((r, f)))
        })
        .await?;
    let Some((r, f)) = found else {
        return Err(Error::NotFound);
    };
    if !may_read(state, caller, &r).await? {
        caller.hidden("rating", &r.id);
        return Err(Error::NotFound);
    }
    Ok(view(state, &r, f.as_ref()))
}

/// The ratings of an application the caller reads, with their follow-ups
/// (the unit's answers).
pub async fn of_application(
    state: &AppState,
    application_id: String,
) -> Result<Vec<(Rating, Option<FollowUp>)>, Error> {
    Ok(state
        .store
        .read(move |c| {
            let rs = ratings::of_application(c, &application_id)?;
            let fs = onestop_store::follow_ups::of_application(c, &application_id)?;
            Ok(rs
                .into_iter()
                .map(|r| {
                    let f = r
                        .follow_up_id
                        .as_ref()
                        .and_then(|id| fs.iter().find(|f| &f.id == id).cloned());
                    (r, f)
                })
                .collect())
        })
        .await?)
}

/// The ratings given at a hall's windows today (city time), the latest first.
pub async fn window_today(state: &AppState, hall: String) -> Result<Vec<Rating>, Error> {
    let day = local_day(state.now_ms(), state.offset);
    Ok(state
        .store
        .read(move |c| ratings::of_hall_day(c, &hall, &day, 500))
        .await?)
}
