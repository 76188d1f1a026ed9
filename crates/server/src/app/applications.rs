//! Use cases shared by the API and the pages: submit, read, list.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::auth::Caller;
use crate::texts::applications as t;
use onestop_domain::access::{ApplicationFacts, Role, Subject, Visibility};
use onestop_domain::application::{Application, fan_out};
use onestop_domain::form::FieldCode;
use onestop_domain::form::{ApplicationForm, FieldError, validate_application};
use onestop_domain::timefmt;
use onestop_store::applications::{self, ListFilter, NewApplication, NewWorkOrder, Page};
use onestop_store::idempotency::{self, IdempotencyKey, SavedResponse};
use sm3::{Digest, Sm3};

/// A fresh opaque id (time-ordered UUIDv7, 32 hex digits).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A new receipt query code (查询码) from the operating system's random source.
pub fn new_query_code() -> String {
    use onestop_domain::application::query_code::{QUERY_CODE_LEN, from_random};
    let mut bytes = [0u8; QUERY_CODE_LEN];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    from_random(bytes)
}

/// SM3 digest of a request, for comparing repeats of an idempotency key.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sm3::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

pub fn location_of(id: &str) -> String {
    format!("/api/v1/applications/{id}")
}

/// What a submission came to.
pub enum Submitted {
    /// Created now: the resource and its JSON (as stored for the key).
    Created {
        application: Box<Application>,
        body: String,
    },
    /// The key was used before: the original response.
    Replayed(SavedResponse),
}

impl Submitted {
    /// The application's id, whichever way it came.
    pub fn id(&self) -> Option<String> {
        match self {
            Submitted::Created { application, .. } => Some(application.id.clone()),
            Submitted::Replayed(saved) => saved
                .location
                .as_deref()
                .and_then(|l| l.rsplit('/').next())
                .map(str::to_owned),
        }
    }
}

/// Looks up an idempotency key before any other work, so that a repeat is
/// answered with the original response even when re-validating it would now
/// fail (e.g. its appointment time has passed).
pub async fn replay(
    state: &AppState,
    key: &IdempotencyKey,
) -> Result<Option<SavedResponse>, Error> {
    let (scope, k) = (key.scope.clone(), key.key.clone());
    let saved = state
        .store
        .read(move |c| idempotency::find(c, &scope, &k))
        .await?;
    match saved {
        // status 0: claimed by a request still being written; fall through
        // to the writer, which waits for it and answers consistently.
        Some(s) if s.status_code == 0 => Ok(None),
        Some(s) if s.request_hash == key.request_hash => Ok(Some(s)),
        Some(_) => Err(idempotency_conflict()),
        None => Ok(None),
    }
}

pub fn idempotency_conflict() -> Error {
    Error::refused(
        Refusal::Conflict,
        "idempotency_conflict",
        t::IDEMPOTENCY_CONFLICT,
    )
}

/// Validates a body against the city's rules.
pub fn validate(
    state: &AppState,
    body: &serde_json::Value,
) -> Result<ApplicationForm, Vec<FieldError>> {
    validate_application(body, &state.config, state.now())
}

/// Creates the application, its work orders (each with its acceptance
/// deadline on the working-time clock) and their history in one transaction.
pub async fn submit(
    state: &AppState,
    form: ApplicationForm,
    caller: &Caller,
    key: Option<IdempotencyKey>,
) -> Result<Submitted, Error> {
    // A window filing names a registered hall that is in service.
    if let Some(h) = form.hall_id.as_deref()
        && !crate::app::halls::registry(state)
            .await?
            .get(h)
            .is_some_and(|e| e.active)
    {
        return Err(Error::Invalid(vec![FieldError::new(
            "hall_id",
            FieldCode::UnknownValue,
            t::HALL_UNKNOWN,
        )]));
    }
    let (kind, account_id, _) = caller.subject.audit_identity();
    let actor = caller.subject.actor();
    let submitted_by = (kind == "account").then(|| account_id.to_owned());
    let identity_verified = caller.subject.submission_verified(&form.applicant.uscc);
    let now = state.now();
    let now_ms = timefmt::to_ms(now);
    let clock = state.clock.get();
    let budget = clock.budget_for_days(state.config.limits.acceptance_days)?;
    // Every order's acceptance stage starts now.
    let acceptance = onestop_domain::clock::StageClock::start(
        &clock,
        now_ms,
        budget,
        state.config.limits.warning_share,
    )?;
    let orders = fan_out(&form, &state.config)
        .into_iter()
        .map(|planned| NewWorkOrder {
            id: new_id(),
            planned,
            budget_seconds: acceptance.budget_seconds,
            due_at_ms: acceptance.instants.due_at_ms,
            warn_at_ms: acceptance.instants.warn_at_ms,
        })
        .collect();
    let new = NewApplication {
        id: new_id(),
        submitted_at_ms: now_ms,
        local_date: now.date(),
        form,
        orders,
        actor,
        submitted_by,
        identity_verified,
        query_code: Some(new_query_code()),
    };
    let config = state.config.clone();
    let offset = state.offset;
    let hash = key.as_ref().map(|k| k.request_hash.clone());
    let outcome = state
        .store
        .write(move |conn| {
            if let Some(key) = &key
                && let Some(saved) = idempotency::claim(conn, key, now_ms)?
            {
                return Ok(Err(saved));
            }
            let mut app = applications::insert(conn, &new, &config, offset)?;
            // A project registered at land transfer: the application is
            // linked to its pre-registration (一口登记).
            let linked = crate::app::pre_registrations::link_on_submission(
                conn,
                &app.id,
                app.form.project_code.as_deref(),
                &app.form.applicant.uscc,
                now_ms,
                &new.actor,
            )?;
            // Each order's unit hears of it with the submission.
            crate::app::announce::new_orders(conn, &config, offset, &app)?;
            crate::app::calendar::mark_provisional(&clock, &mut app.work_orders);
            // The response is stored with the key, in the same transaction.
            let body = match &key {
                Some(key) => {
                    let body = serde_json::to_string(&app)
                        .map_err(|e| onestop_store::StoreError::Decode(e.to_string()))?;
                    idempotency::complete(conn, key, 201, Some(&location_of(&app.id)), &body)?;
                    Some(body)
                }
                None => None,
            };
            Ok(Ok((app, body, linked)))
        })
        .await?;
    match outcome {
        Ok((app, body, linked)) => {
            // The registration's files the application was given, audited
            // (the application is filed whatever comes of it).
            if let Some(l) = linked
                && let Err(e) = crate::app::materials::record_shared(
                    state,
                    caller,
                    &l.registration_id,
                    &l.shared,
                )
                .await
            {
                tracing::error!(error = %e, "shared materials were not audited");
            }
            let body = match body {
                Some(b) => b,
                None => serde_json::to_string(&app)
                    .map_err(|_| Error::Internal("an application could not be serialised"))?,
            };
            Ok(Submitted::Created {
                application: Box::new(app),
                body,
            })
        }
        Err(saved) if Some(&saved.request_hash) == hash.as_ref() => Ok(Submitted::Replayed(saved)),
        Err(_) => Err(idempotency_conflict()),
    }
}

/// Does this visibility admit this application (whose approval items are
/// held by `departments`)?
pub fn admits(v: &Visibility, app: &Application, departments: &[String]) -> bool {
    let units: Vec<String> = app
        .work_orders
        .iter()
        .map(|o| o.unit.code.clone())
        .collect();
    v.admits_application(&facts(app, &units, departments))
}

/// What access decisions need to know about one application.
pub fn facts<'a>(
    app: &'a Application,
    units: &'a [String],
    departments: &'a [String],
) -> ApplicationFacts<'a> {
    ApplicationFacts {
        uscc: &app.form.applicant.uscc,
        hall_id: app.form.hall_id.as_deref(),
        verified: app.identity_verified,
        submitted_by: app.submitted_by.as_deref(),
        units,
        departments,
    }
}

/// Whom a signed-in applicant or clerk may submit for: an applicant only for
/// their own enterprise, a clerk only at their own hall. API keys with
/// `applications:write`, and administrators, are not limited.
pub fn check_submitter(subject: &Subject, form: &ApplicationForm) -> Result<(), Vec<FieldError>> {
    let Some(account) = subject.account() else {
        return Ok(());
    };
    let has = |r: Role| account.grants.iter().any(|g| g.role == r);
    if has(Role::Admin) || has(Role::Supervisor) {
        return Ok(());
    }
    let mut usccs = subject.scopes_of(Role::Applicant);
    usccs.extend(subject.scopes_of(Role::Claimant));
    let halls = subject.scopes_of(Role::Clerk);
    let mut errors = Vec::new();
    if !halls.is_empty() {
        if let Some(h) = form.hall_id.as_deref()
            && !halls.contains(&h)
        {
            errors.push(FieldError::new(
                "hall_id",
                FieldCode::NotAllowed,
                t::HALL_ONLY,
            ));
        }
    } else if !usccs.is_empty() && !usccs.contains(&form.applicant.uscc.as_str()) {
        errors.push(FieldError::new(
            "applicant.uscc",
            FieldCode::NotAllowed,
            t::ENTERPRISE_ONLY,
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One application, if the caller may see it (else `None`, as if absent);
/// a successful read is audited.
pub async fn read_application(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<Option<Application>, Error> {
    let visibility = caller.subject.applications();
    if visibility.is_nothing() {
        return Ok(None);
    }
    let config = state.config.clone();
    let offset = state.offset;
    let wants_departments = !visibility.departments.is_empty();
    let app = state
        .store
        .read(move |c| {
            let Some(app) = applications::get(c, &id, &config, offset)? else {
                return Ok(None);
            };
            let departments = if wants_departments {
                onestop_store::approvals::departments_of(c, &id)?
            } else {
                Vec::new()
            };
            Ok(Some((app, departments)))
        })
        .await?
        .and_then(|(mut a, d)| {
            if admits(&visibility, &a, &d) {
                crate::app::calendar::mark_provisional(&state.clock.get(), &mut a.work_orders);
                Some(a)
            } else {
                caller.hidden("application", &a.id);
                None
            }
        });
    if let Some(a) = &app {
        state
            .audit
            .record(caller.audit(
                state.now_ms(),
                "application_read",
                "success",
                "application",
                &a.id,
                serde_json::json!({"number": a.number}),
            ))
            .await?;
    }
    Ok(app)
}

/// An application by number, without access checks: for the public status
/// lookup, which shows no personal data and checks the phone itself.
pub async fn get_by_number(state: &AppState, number: String) -> Result<Option<Application>, Error> {
    let config = state.config.clone();
    let offset = state.offset;
    let mut app = state
        .store
        .read(move |c| match applications::id_by_number(c, &number)? {
            Some(id) => applications::get(c, &id, &config, offset),
            None => Ok(None),
        })
        .await?;
    if let Some(a) = &mut app {
        crate::app::calendar::mark_provisional(&state.clock.get(), &mut a.work_orders);
    }
    Ok(app)
}

/// An application by id, without access checks: for the public receipt,
/// which shows no personal data.
pub async fn get_unchecked(state: &AppState, id: String) -> Result<Option<Application>, Error> {
    let config = state.config.clone();
    let offset = state.offset;
    let mut app = state
        .store
        .read(move |c| applications::get(c, &id, &config, offset))
        .await?;
    if let Some(a) = &mut app {
        crate::app::calendar::mark_provisional(&state.clock.get(), &mut a.work_orders);
    }
    Ok(app)
}

/// The applications the caller may see, filtered and paged; audited with
/// the ids shown.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    mut filter: ListFilter,
) -> Result<Page, Error> {
    filter.visibility = caller.subject.applications();
    let config = state.config.clone();
    let offset = state.offset;
    let mut page = state
        .store
        .read(move |c| applications::list(c, &filter, &config, offset))
        .await?;
    let clock = state.clock.get();
    for a in &mut page.items {
        crate::app::calendar::mark_provisional(&clock, &mut a.work_orders);
    }
    if !page.items.is_empty() {
        let ids: Vec<&str> = page.items.iter().map(|a| a.id.as_str()).collect();
        state
            .audit
            .record(caller.audit(
                state.now_ms(),
                "application_list",
                "success",
                "application",
                "",
                serde_json::json!({"ids": ids}),
            ))
            .await?;
    }
    Ok(page)
}

/// An enterprise as its latest application names it, for a window clerk
/// filing on its behalf.
#[derive(Debug, Clone)]
pub struct EnterpriseOnFile {
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
}

/// The enterprise with this USCC as its latest application (any channel)
/// names it, for a window clerk filing on its behalf; `None` for anyone
/// else or an enterprise not on file. A lookup that finds one is audited.
pub async fn enterprise_on_file(
    state: &AppState,
    caller: &Caller,
    uscc: String,
) -> Result<Option<EnterpriseOnFile>, Error> {
    if caller.subject.scopes_of(Role::Clerk).is_empty() || uscc.len() > 18 {
        return Ok(None);
    }
    let filter = ListFilter {
        uscc: Some(uscc),
        per_page: 1,
        visibility: Visibility::everything(),
        ..ListFilter::default()
    };
    let config = state.config.clone();
    let offset = state.offset;
    let page = state
        .store
        .read(move |c| applications::list(c, &filter, &config, offset))
        .await?;
    let Some(a) = page.items.into_iter().next() else {
        return Ok(None);
    };
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "enterprise_lookup",
            "success",
            "application",
            &a.id,
            serde_json::json!({"number": a.number}),
        ))
        .await?;
    Ok(Some(EnterpriseOnFile {
        name: a.form.applicant.name,
        contact_name: a.form.contact.name,
        contact_phone: a.form.contact.phone,
    }))
}

/// Narrows a list to one search term.
pub fn narrow(filter: &mut ListFilter, lookup: &onestop_domain::form::Lookup) {
    use onestop_domain::form::Lookup;
    match lookup {
        Lookup::Number(n) => filter.number = Some(n.clone()),
        Lookup::Uscc(u) => filter.uscc = Some(u.clone()),
        Lookup::Phone(p) => filter.contact_phone = Some(p.clone()),
    }
}

/// A status query at a window (一窗受理): the applications of any channel
/// that match the term exactly, for a window clerk (no one else), newest
/// first, at most 20. They are shown without personal data (as the public
/// receipt shows them); the lookup is audited with the ids found.
pub async fn counter_lookup(
    state: &AppState,
    caller: &Caller,
    lookup: &onestop_domain::form::Lookup,
) -> Result<Vec<Application>, Error> {
    if caller.subject.scopes_of(Role::Clerk).is_empty() {
        return Ok(Vec::new());
    }
    let mut filter = ListFilter {
        per_page: 20,
        visibility: Visibility::everything(),
        ..ListFilter::default()
    };
    narrow(&mut filter, lookup);
    let config = state.config.clone();
    let offset = state.offset;
    let page = state
        .store
        .read(move |c| applications::list(c, &filter, &config, offset))
        .await?;
    let ids: Vec<&str> = page.items.iter().map(|a| a.id.as_str()).collect();
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "counter_lookup",
            "success",
            "application",
            "",
            serde_json::json!({"ids": ids}),
        ))
        .await?;
    Ok(page.items)
}
