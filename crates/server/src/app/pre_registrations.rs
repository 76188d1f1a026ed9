//! Pre-registration (一口登记早服务): a project is registered at land
//! transfer (by an integration client or the planning department), the
//! utilities concerned hear of it, record their joint visit and their
//! network plan (管网预布局); a later application with the same project
//! code is linked to it (see [`link_on_submission`]), prefilled (see
//! [`prefill`]) and, where its unit's plan covers the survey, may skip it.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::app::materials::MaterialView;
use crate::app::messages;
use crate::auth::Caller;
use crate::texts::pre_registrations as t;
use onestop_domain::access::{Role, Visibility};
use onestop_domain::config::CityConfig;
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::pre_registration::{
    self as domain, PreRegistrationForm, PrefillScope, concerned_units,
};
use onestop_domain::timefmt;
use onestop_store::db::Conn;
use onestop_store::idempotency::{self, IdempotencyKey, SavedResponse};
use onestop_store::notifications::{self, Message};
use onestop_store::pre_registrations::{self as store, NewPreRegistration, PreRegistration};
use serde::Serialize;
use utoipa::ToSchema;

pub fn location_of(id: &str) -> String {
    format!("/api/v1/pre-registrations/{id}")
}

/// A unit, by code and name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitRef {
    pub code: String,
    pub name: String,
}

/// A joint visit (联合上门对接) as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitView {
    pub id: String,
    pub unit: UnitRef,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub notes: String,
    pub recorded_at: String,
}

/// A network plan (管网预布局) as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    pub id: String,
    pub unit: UnitRef,
    /// `YYYY-MM-DD`.
    pub planned_date: String,
    pub notes: String,
    /// The plan stands for the joint survey: the unit's later work order may skip it.
    pub covers_survey: bool,
    /// The plan stands for the design.
    pub covers_design: bool,
    pub recorded_at: String,
}

/// An application linked to the registration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedApplication {
    pub id: String,
    pub number: String,
}

/// A pre-registration (一口登记) as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreRegistrationView {
    pub id: String,
    /// `open` until an application with its project code is submitted, then `applied`.
    pub status: String,
    #[serde(flatten)]
    pub form: PreRegistrationForm,
    pub registered_at: String,
    /// The utility units it concerns.
    pub units: Vec<UnitRef>,
    pub visits: Vec<VisitView>,
    pub plans: Vec<PlanView>,
    pub applications: Vec<LinkedApplication>,
    /// Files the utilities concerned or the registering department added
    /// (network plans, site drawings), oldest first; each becomes a
    /// material of the applications linked to the registration.
    pub materials: Vec<MaterialView>,
    pub version: i64,
}

fn unit_ref(config: &CityConfig, code: &str) -> UnitRef {
    UnitRef {
        code: code.to_owned(),
        name: config
            .unit(code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone()),
    }
}

pub fn view(state: &AppState, p: &PreRegistration) -> PreRegistrationView {
    let at = |ms: i64| timefmt::format(timefmt::from_ms(ms, state.offset));
    let c = &state.config;
    PreRegistrationView {
        id: p.id.clone(),
        status: p.status.clone(),
        form: p.form.clone(),
        registered_at: at(p.registered_at_ms),
        units: {
            // In configuration order.
            let mut units: Vec<&String> = p.units.iter().collect();
            units.sort_by_key(|u| c.units.iter().position(|x| &x.code == *u));
            units.into_iter().map(|u| unit_ref(c, u)).collect()
        },
        visits: p
            .visits
            .iter()
            .map(|v| VisitView {
                id: v.id.clone(),
                unit: unit_ref(c, &v.unit_code),
                date: v.date.clone(),
                notes: v.notes.clone(),
                recorded_at: at(v.recorded_at_ms),
            })
            .collect(),
        plans: p
            .plans
            .iter()
            .map(|v| PlanView {
                id: v.id.clone(),
                unit: unit_ref(c, &v.unit_code),
                planned_date: v.planned_date.clone(),
                notes: v.notes.clone(),
                covers_survey: v.covers_survey,
                covers_design: v.covers_design,
                recorded_at: at(v.recorded_at_ms),
            })
            .collect(),
        applications: p
            .applications
            .iter()
            .map(|(id, number)| LinkedApplication {
                id: id.clone(),
                number: number.clone(),
            })
            .collect(),
        materials: p
            .materials
            .iter()
            .map(|m| crate::app::materials::registration_view(state, m))
            .collect(),
        version: p.version,
    }
}

fn admits(v: &Visibility, p: &PreRegistration) -> bool {
    v.all || p.units.iter().any(|u| v.units.contains(u))
}

/// Validates a registration body against the city's rules.
pub fn validate(
    state: &AppState,
    body: &serde_json::Value,
) -> Result<PreRegistrationForm, Vec<FieldError>> {
    domain::validate_pre_registration(body, &state.config, state.now())
}

fn code_taken() -> Error {
    Error::Invalid(vec![FieldError::new(
        "project_code",
        FieldCode::AlreadyExists,
        t::CODE_TAKEN,
    )])
}

/// What a registration came to.
pub enum Registered {
    Created(Box<PreRegistrationView>),
    Replayed(SavedResponse),
}

/// Registers a project: the registration, its units, and a message to
/// each concerned unit's operators, in one transaction; the response is
/// stored with the idempotency key in the same transaction.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    form: PreRegistrationForm,
    key: Option<IdempotencyKey>,
) -> Result<Registered, Error> {
    if !caller.subject.may_register_projects(&state.config) {
        return Err(Error::forbidden());
    }
    let now = state.now();
    let now_ms = timefmt::to_ms(now);
    let new = NewPreRegistration {
        id: crate::app::applications::new_id(),
        units: concerned_units(&form, &state.config),
        form,
        registered_at_ms: now_ms,
        day: timefmt::format_date(now.to_offset(state.offset).date()),
        registered_by: caller.subject.actor(),
    };
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let s = state.clone();
    let outcome = state
        .store
        .write(move |c| {
            if let Some(key) = &key
                && let Some(saved) = idempotency::claim(c, key, now_ms)?
            {
                return Ok(Err(Some(saved)));
            }
            if store::open_with_code(c, &new.form.project_code)? {
                // Refused: the key stays free for a corrected request.
                if let Some(key) = &key {
                    idempotency::release(c, key)?;
                }
                return Ok(Err(None));
            }
            store::insert(c, &new)?;
            announce(c, &s.config, &new)?;
            let p = store::get(c, &new.id)?
                .ok_or_else(|| onestop_store::StoreError::Internal("just written".into()))?;
            let v = view(&s, &p);
            if let Some(key) = &key {
                let body = serde_json::to_string(&v)
                    .map_err(|e| onestop_store::StoreError::Internal(e.to_string()))?;
                idempotency::complete(c, key, 201, Some(&location_of(&p.id)), &body)?;
            }
            Ok(Ok(v))
        })
        .await;
    match outcome {
        Ok(Ok(v)) => Ok(Registered::Created(Box::new(v))),
        Ok(Err(Some(saved))) if Some(&saved.request_hash) == hash.as_ref() => {
            Ok(Registered::Replayed(saved))
        }
        Ok(Err(Some(_))) => Err(crate::app::applications::idempotency_conflict()),
        Ok(Err(None)) => Err(code_taken()),
        Err(e) if e.is_unique_violation() => Err(code_taken()),
        Err(e) => Err(e.into()),
    }
}

/// Tells each concerned unit's operators of a new registration.
fn announce(
    c: &mut dyn Conn,
    config: &CityConfig,
    n: &NewPreRegistration,
) -> Result<(), onestop_store::StoreError> {
    let f = &n.form;
    let services = f
        .services
        .named()
        .iter()
        .map(|s| {
            config
                .service(s)
                .map_or_else(|| (*s).to_owned(), |x| x.name.clone())
        })
        .collect::<Vec<_>>()
        .join("、");
    let district = config
        .district(&f.location.district_code)
        .map_or_else(String::new, |d| d.name.clone());
    for unit in &n.units {
        let to = notifications::holders(c, Role::Operator.as_str(), Some(unit))?;
        if to.is_empty() {
            continue;
        }
        let text = messages::fill(&messages::PreRegistrationArrived {
            project_code: &f.project_code,
            land_parcel: &f.land_parcel,
            place: &format!("{district}{}", f.location.detail),
            services: &services,
            expected: &timefmt::date_zh(f.expected_date),
        });
        let m = Message {
            event_key: format!("pre_registration:{}:{unit}", n.id),
            kind: "pre_registration".to_owned(),
            title: text.title,
            body: text.body,
            link: Some(format!("/pre-registrations/{}", n.id)),
            at_ms: n.registered_at_ms,
        };
        notifications::send(c, &to, &m, crate::jobs::delivery::outward(config))?;
    }
    Ok(())
}

/// The registrations the caller may see, newest first, optionally of one
/// project code.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    project_code: Option<String>,
) -> Result<Vec<PreRegistrationView>, Error> {
    let v = caller.subject.pre_registrations(&state.config);
    if v.is_nothing() {
        return Err(Error::forbidden());
    }
    let filter = store::ListFilter {
        project_code,
        units: (!v.all).then(|| v.units.clone()),
        limit: 200,
    };
    let items = state.store.read(move |c| store::list(c, &filter)).await?;
    Ok(items.iter().map(|p| view(state, p)).collect())
}

/// One registration, if the caller may see it.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<PreRegistrationView, Error> {
    Ok(view(state, &visible(state, caller, id).await?))
}

/// One registration as stored, if the caller may see it (else
/// `NotFound`; `forbidden` for those who read no registrations at all).
async fn visible(state: &AppState, caller: &Caller, id: String) -> Result<PreRegistration, Error> {
    let v = caller.subject.pre_registrations(&state.config);
    if v.is_nothing() {
        return Err(Error::forbidden());
    }
    if id.len() > 64 {
        return Err(Error::NotFound);
    }
    state
        .store
        .read(move |c| store::get(c, &id))
        .await?
        .filter(|p| admits(&v, p))
        .ok_or(Error::NotFound)
}

/// The concerned unit the caller records for: the first one it operates.
/// Anyone else is told the registration does not exist.
async fn recording_unit(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(PreRegistration, String), Error> {
    if id.len() > 64 {
        return Err(Error::NotFound);
    }
    let id = id.to_owned();
    let p = state
        .store
        .read(move |c| store::get(c, &id))
        .await?
        .ok_or(Error::NotFound)?;
    let unit = p
        .units
        .iter()
        .find(|u| caller.subject.operates(u))
        .cloned()
        .ok_or(Error::NotFound)?;
    Ok((p, unit))
}

/// What recording a visit or plan came to.
pub enum Recorded {
    Created(Box<PreRegistrationView>),
    /// The key's first answer, replayed.
    Replayed(SavedResponse),
}

/// One record (a visit or a plan) written with the idempotency key's
/// answer in the same transaction; the registration as it is after it.
async fn write_record(
    state: &AppState,
    id: String,
    key: Option<IdempotencyKey>,
    write: impl Fn(&mut dyn Conn) -> Result<(), onestop_store::StoreError> + Send + 'static,
) -> Result<Recorded, Error> {
    let now_ms = state.now_ms();
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let s = state.clone();
    let outcome = state
        .store
        .write(move |c| {
            if let Some(key) = &key
                && let Some(saved) = idempotency::claim(c, key, now_ms)?
            {
                return Ok(Err(saved));
            }
            write(c)?;
            let p = store::get(c, &id)?
                .ok_or_else(|| onestop_store::StoreError::Internal("just written".into()))?;
            let v = view(&s, &p);
            if let Some(key) = &key {
                let body = serde_json::to_string(&v)
                    .map_err(|e| onestop_store::StoreError::Internal(e.to_string()))?;
                idempotency::complete(c, key, 201, None, &body)?;
            }
            Ok(Ok(v))
        })
        .await?;
    match outcome {
        Ok(v) => Ok(Recorded::Created(Box::new(v))),
        Err(saved) if Some(&saved.request_hash) == hash.as_ref() => Ok(Recorded::Replayed(saved)),
        Err(_) => Err(crate::app::applications::idempotency_conflict()),
    }
}

/// A unit records its joint visit.
pub async fn record_visit(
    state: &AppState,
    caller: &Caller,
    id: &str,
    body: &serde_json::Map<String, serde_json::Value>,
    key: Option<IdempotencyKey>,
) -> Result<Recorded, Error> {
    let (p, unit) = recording_unit(state, caller, id).await?;
    let today = state.now().to_offset(state.offset).date();
    let input = domain::validate_visit(body, today).map_err(Error::Invalid)?;
    let visit = store::Visit {
        id: crate::app::applications::new_id(),
        unit_code: unit,
        date: timefmt::format_date(input.date),
        notes: input.notes,
        recorded_at_ms: state.now_ms(),
        recorded_by: caller.subject.actor(),
    };
    let pid = p.id.clone();
    write_record(state, p.id, key, move |c| store::add_visit(c, &pid, &visit)).await
}

/// A unit records its network plan.
pub async fn record_plan(
    state: &AppState,
    caller: &Caller,
    id: &str,
    body: &serde_json::Map<String, serde_json::Value>,
    key: Option<IdempotencyKey>,
) -> Result<Recorded, Error> {
    let (p, unit) = recording_unit(state, caller, id).await?;
    let input = domain::validate_plan(body).map_err(Error::Invalid)?;
    let plan = store::Plan {
        id: crate::app::applications::new_id(),
        unit_code: unit,
        planned_date: timefmt::format_date(input.planned_date),
        notes: input.notes,
        covers_survey: input.covers_survey,
        covers_design: input.covers_design,
        recorded_at_ms: state.now_ms(),
        recorded_by: caller.subject.actor(),
    };
    let pid = p.id.clone();
    write_record(state, p.id, key, move |c| store::add_plan(c, &pid, &plan)).await
}

/// Inside a submission's transaction: links the new application to the
/// registration of its project code, if there is one and it names the
/// application's enterprise or none ([`domain::may_link`]); the
/// registration's files become materials of the application.
pub(crate) fn link_on_submission(
    c: &mut dyn Conn,
    application_id: &str,
    project_code: Option<&str>,
    applicant_uscc: &str,
    at_ms: i64,
    actor: &str,
) -> Result<Option<Linked>, onestop_store::StoreError> {
    let Some(code) = project_code else {
        return Ok(None);
    };
    let Some(p) = store::for_project_code(c, code)? else {
        return Ok(None);
    };
    if !domain::may_link(&p.form, applicant_uscc) {
        return Ok(None);
    }
    store::link(c, application_id, &p.id, at_ms, actor)?;
    // Its files are the application's too (一次上传、多方共享).
    let shared =
        store::share_materials(c, &p.id, application_id, crate::app::applications::new_id)?;
    Ok(Some(Linked {
        registration_id: p.id,
        shared,
    }))
}

/// An application's link to its pre-registration, made on submission.
pub(crate) struct Linked {
    pub registration_id: String,
    /// The registration's files that became the application's materials.
    pub shared: Vec<onestop_store::materials::Material>,
}

// ───────────────────────────── materials ─────────────────────────────

/// Whether the caller may add files to a registration it sees: an
/// operator of a concerned unit (the unit it adds for), or the
/// registering department. `Some((unit concerned, uploader's unit))`.
fn adding_for(
    state: &AppState,
    caller: &Caller,
    p: &PreRegistration,
) -> Option<(Option<String>, Option<String>)> {
    if let Some(u) = p.units.iter().find(|u| caller.subject.operates(u)) {
        return Some((Some(u.clone()), Some(u.clone())));
    }
    if !caller.subject.may_register_projects(&state.config) {
        return None;
    }
    let department = caller.subject.account().and_then(|a| {
        a.grants
            .iter()
            .find(|g| {
                g.role == Role::Approver
                    && state
                        .config
                        .unit(&g.scope)
                        .is_some_and(|u| u.registers_projects)
            })
            .map(|g| g.scope.clone())
    });
    Some((None, department))
}

/// Whether the caller may add files to this registration (for pages).
pub fn may_add_material(state: &AppState, caller: &Caller, v: &PreRegistrationView) -> bool {
    !matches!(caller.subject, onestop_domain::access::Subject::System(_))
        && (v.units.iter().any(|u| caller.subject.operates(&u.code))
            || caller.subject.may_register_projects(&state.config))
}

/// Adds an uploaded file (a network plan, a site drawing) to a
/// registration: by a concerned utility or the registering department
/// (others who see it are refused, the rest are told it does not exist),
/// bounded like an application's materials, scanned, its content stored
/// once. The same content again is the file already there (`false`). An
/// application already linked to the registration gets it too.
pub async fn add_material(
    state: &AppState,
    caller: &Caller,
    id: &str,
    input: crate::app::materials::NewMaterial,
    spooled: crate::app::materials::Spooled,
) -> Result<(crate::app::materials::MaterialView, bool), Error> {
    use crate::app::materials as m;
    let p = visible(state, caller, id.to_owned()).await?;
    let Some((unit_code, uploader_unit)) = adding_for(state, caller, &p) else {
        return Err(Error::refused(
            Refusal::Forbidden,
            "forbidden",
            t::MAY_NOT_ADD_MATERIAL,
        ));
    };
    let (pid, sha) = (p.id.clone(), spooled.sha256.clone());
    let (files, bytes, known) = state
        .store
        .read(move |c| {
            let (files, bytes) = store::material_usage(c, &pid)?;
            Ok((files, bytes, store::material(c, &pid, &sha)?))
        })
        .await?;
    if let Some(known) = known {
        return Ok((m::registration_view(state, &known), false));
    }
    m::admit(
        state,
        &spooled,
        m::Held {
            files,
            bytes,
            too_many: t::MATERIALS_TOO_MANY,
            full: t::MATERIALS_FULL,
        },
    )
    .await?;
    let (account, name, uploader_unit) = m::uploader_for(caller, uploader_unit);
    let material = store::RegistrationMaterial {
        id: crate::app::applications::new_id(),
        pre_registration_id: p.id.clone(),
        unit_code,
        sha256: spooled.sha256.clone(),
        kind: input.kind.code().to_owned(),
        file_name: onestop_domain::materials::file_name(
            &input.file_name,
            input.kind,
            spooled.file_type,
        ),
        media_type: spooled.file_type.media_type().to_owned(),
        size: spooled.size as i64,
        uploaded_by: account,
        uploader_name: name,
        uploader_unit,
        created_at_ms: state.now_ms(),
    };
    let (saved, new, shared) = state
        .store
        .write(move |c| {
            onestop_store::materials::record_blob(
                c,
                &material.sha256,
                material.size,
                &material.media_type,
                material.created_at_ms,
            )?;
            let (saved, new) = store::add_material(c, &material)?;
            let mut shared = Vec::new();
            if new {
                // Applications linked already have it too.
                for application in store::linked_applications(c, &saved.pre_registration_id)? {
                    shared.extend(store::share_material(
                        c,
                        &saved,
                        &application,
                        crate::app::applications::new_id(),
                    )?);
                }
            }
            Ok((saved, new, shared))
        })
        .await?;
    if new {
        record(state, caller, "material_added", &saved).await?;
        m::record_shared(state, caller, &saved.pre_registration_id, &shared).await?;
    }
    Ok((m::registration_view(state, &saved), new))
}

async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    m: &store::RegistrationMaterial,
) -> Result<(), Error> {
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            action,
            "success",
            "pre_registration",
            &m.pre_registration_id,
            serde_json::json!({
                "material": m.sha256,
                "kind": m.kind,
                "size": m.size,
            }),
        ))
        .await?;
    Ok(())
}

/// One file of a registration the caller sees, by its content's digest;
/// audited.
pub async fn download_material(
    state: &AppState,
    caller: &Caller,
    id: &str,
    sha256: &str,
) -> Result<crate::app::materials::Download, Error> {
    if !onestop_store::blobs::is_digest(sha256) {
        return Err(Error::NotFound);
    }
    let p = visible(state, caller, id.to_owned()).await?;
    let found = p
        .materials
        .into_iter()
        .find(|m| m.sha256 == sha256)
        .ok_or(Error::NotFound)?;
    let bytes = crate::app::materials::read_blob(state, &found.sha256).await?;
    record(state, caller, "material_downloaded", &found).await?;
    Ok(crate::app::materials::Download {
        file_name: found.file_name,
        media_type: found.media_type,
        bytes,
    })
}

/// What the form may be prefilled with from a registration.
#[derive(Debug, Clone)]
pub struct Prefill {
    pub form: PreRegistrationForm,
    /// Whether the enterprise's own details are included.
    pub scope: PrefillScope,
}

/// The prefill for a project code, for a signed-in enterprise: all of it
/// when the registration names the caller's enterprise, only the
/// impersonal part when it names none, nothing when it names another (or
/// for anyone not signed in as an enterprise).
pub async fn prefill(
    state: &AppState,
    caller: &Caller,
    project_code: &str,
) -> Result<Option<Prefill>, Error> {
    let code = project_code.trim().to_owned();
    if code.len() > 64 || code.is_empty() {
        return Ok(None);
    }
    // Only enterprises verified for a USCC (not claimants, not staff).
    let usccs: Vec<String> = caller
        .subject
        .scopes_of(Role::Applicant)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if usccs.is_empty() {
        return Ok(None);
    }
    let Some(p) = state
        .store
        .read(move |c| store::for_project_code(c, &code))
        .await?
    else {
        return Ok(None);
    };
    let refs: Vec<&str> = usccs.iter().map(String::as_str).collect();
    let scope = domain::prefill_scope(&p.form, &refs);
    let mut form = p.form;
    match scope {
        PrefillScope::Nothing => return Ok(None),
        PrefillScope::Impersonal => form.enterprise = Default::default(),
        PrefillScope::Full => {}
    }
    Ok(Some(Prefill { form, scope }))
}

/// Refused: the caller may not register projects (for pages).
pub fn not_a_registrar() -> Error {
    Error::refused(Refusal::Forbidden, "forbidden", t::NOT_A_REGISTRAR)
}
