//! Materials uploaded once and shared by every party of an application
//! (一次上传、多方共享): the enterprise, its utilities, the departments with
//! approval items, the hall's clerk. Nobody else learns they exist.
//!
//! An upload is received chunk by chunk into a spooled file ([`Spooler`]),
//! bounded in size as it arrives, its SHA-256 computed on the way and its
//! type told from its first bytes; the virus-scan hook runs on the complete
//! file; then the content is moved into the blob store (once per content,
//! never overwritten) and the material recorded. The same content added to
//! an application twice is one material.

use crate::AppState;
use crate::app::error::{Error, Refusal};
use crate::auth::Caller;
use onestop_domain::application::Application;
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::materials::{self as rules, FileType, LicenceInput, MaterialKind};
use onestop_store::materials::{self as store, Licence, Material};
use onestop_store::pre_registrations::RegistrationMaterial;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::PathBuf;

use crate::texts::materials as t;

/// A file being received.
pub struct Spooler {
    path: PathBuf,
    file: Option<std::fs::File>,
    hasher: Sha256,
    size: u64,
    limit: u64,
    head: Vec<u8>,
}

/// A complete received file, not yet kept.
pub struct Spooled {
    path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub file_type: FileType,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Spooler {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn too_large(limit: u64) -> Error {
    Error::Invalid(vec![FieldError::new(
        "file",
        FieldCode::TooLong,
        crate::texts::fill(t::TOO_LARGE, &[("mb", &(limit >> 20))]),
    )])
}

impl Spooler {
    /// Starts receiving a file of at most `[materials] max_file_mb`.
    pub fn start(state: &AppState) -> Result<Self, Error> {
        let dir = state.blobs.spool_dir().to_owned();
        let name = format!("{}.part", crate::app::applications::new_id());
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| {
            tracing::error!(error = %e, "an upload could not be spooled");
            Error::Internal("an upload could not be spooled")
        })?;
        Ok(Self {
            path,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            limit: state.config.materials.limits().file_bytes,
            head: Vec::new(),
        })
    }

    /// Takes the next chunk; a file past the limit is refused at once.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(too_large(self.limit));
        }
        if self.head.len() < rules::SNIFF_BYTES {
            let take = (rules::SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.file
            .as_mut()
            .ok_or(Error::Internal("an upload after its end"))?
            .write_all(chunk)
            .map_err(|_| Error::Internal("an upload could not be spooled"))
    }

    /// The complete file: refused when empty or of a type not accepted
    /// (the spooled file is then removed).
    pub fn finish(mut self) -> Result<Spooled, Error> {
        if self.size == 0 {
            return Err(Error::Invalid(vec![FieldError::new(
                "file",
                FieldCode::Required,
                t::EMPTY,
            )]));
        }
        let Some(file_type) = FileType::sniff(&self.head) else {
            return Err(Error::Invalid(vec![FieldError::new(
                "file",
                FieldCode::InvalidFormat,
                t::WRONG_TYPE,
            )]));
        };
        // Closed: from here the spooled file belongs to the `Spooled`.
        drop(self.file.take());
        Ok(Spooled {
            path: std::mem::take(&mut self.path),
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
            size: self.size,
            file_type,
        })
    }
}

/// What is being added, besides the file.
#[derive(Debug, Clone)]
pub struct NewMaterial {
    pub kind: MaterialKind,
    /// As the uploader named it.
    pub file_name: String,
    pub work_order_id: Option<String>,
    pub case_id: Option<String>,
}

/// One material as the API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MaterialView {
    /// The content's SHA-256 (hex); absent for a licence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[schema(value_type = String, example = "site_plan")]
    pub kind: String,
    pub kind_label: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    /// Who added it: a person's name and unit, never a login.
    pub uploaded_by: String,
    #[serde(with = "onestop_domain::timefmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    /// The electronic licence it refers to instead of a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence: Option<LicenceView>,
    /// Where to download it (absent for a licence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LicenceView {
    pub id: String,
    #[schema(value_type = String, example = "business_licence")]
    pub kind: String,
    pub issuer: String,
    pub number: String,
    pub holder: String,
    /// A, B, C or D (the national electronic-licence trust levels).
    pub level: String,
}

fn licence_view(l: &Licence) -> LicenceView {
    LicenceView {
        id: l.id.clone(),
        kind: l.kind.clone(),
        issuer: l.issuer.clone(),
        number: l.number.clone(),
        holder: l.holder.clone(),
        level: l.level.clone(),
    }
}

/// Who added a file, in words: the name, and the unit's name when there is one.
fn added_by(state: &AppState, name: &str, unit: Option<&str>) -> String {
    match unit {
        Some(u) => format!(
            "{name}（{}）",
            state.config.unit(u).map_or(u, |x| x.name.as_str())
        ),
        None => name.to_owned(),
    }
}

fn kind_label(kind: &str) -> String {
    MaterialKind::parse(kind).map_or_else(|| kind.to_owned(), |k| k.label().to_owned())
}

pub fn view(state: &AppState, m: &Material) -> MaterialView {
    let by = added_by(state, &m.uploader_name, m.uploader_unit.as_deref());
    MaterialView {
        sha256: m.sha256.clone(),
        kind_label: kind_label(&m.kind),
        kind: m.kind.clone(),
        file_name: m.file_name.clone(),
        media_type: m.media_type.clone(),
        size: m.size,
        work_order_id: m.work_order_id.clone(),
        case_id: m.case_id.clone(),
        uploaded_by: by,
        created_at: onestop_domain::timefmt::from_ms(m.created_at_ms, state.offset),
        licence: m.licence.as_ref().map(licence_view),
        download: m
            .sha256
            .as_ref()
            .map(|s| format!("/api/v1/applications/{}/materials/{s}", m.application_id)),
    }
}

/// A pre-registration's file as the API shows it.
pub fn registration_view(state: &AppState, m: &RegistrationMaterial) -> MaterialView {
    MaterialView {
        sha256: Some(m.sha256.clone()),
        kind_label: kind_label(&m.kind),
        kind: m.kind.clone(),
        file_name: m.file_name.clone(),
        media_type: m.media_type.clone(),
        size: m.size,
        work_order_id: None,
        case_id: None,
        uploaded_by: added_by(state, &m.uploader_name, m.uploader_unit.as_deref()),
        created_at: onestop_domain::timefmt::from_ms(m.created_at_ms, state.offset),
        licence: None,
        download: Some(format!(
            "/api/v1/pre-registrations/{}/materials/{}",
            m.pre_registration_id, m.sha256
        )),
    }
}

/// The application with the facts needed to decide who may add to it,
/// if the caller may see it.
async fn party_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Option<(Application, bool)>, Error> {
    let Some(app) =
        crate::app::applications::read_application(state, caller, id.to_owned()).await?
    else {
        return Ok(None);
    };
    let app_id = app.id.clone();
    let departments = state
        .store
        .read(move |c| onestop_store::approvals::departments_of(c, &app_id))
        .await?;
    let units: Vec<String> = app
        .work_orders
        .iter()
        .map(|o| o.unit.code.clone())
        .collect();
    let facts = crate::app::applications::facts(&app, &units, &departments);
    let mine = crate::app::approvals::departments(&caller.subject);
    let may_add = caller.subject.may_add_material(&facts, &mine);
    Ok(Some((app, may_add)))
}

/// Who the caller is, for the material's record: (account, name, unit).
fn uploader(caller: &Caller, app: &Application) -> (Option<String>, String, Option<String>) {
    let unit = app
        .work_orders
        .iter()
        .map(|o| o.unit.code.as_str())
        .find(|u| caller.subject.operates(u))
        .map(str::to_owned);
    uploader_for(caller, unit)
}

/// Who the caller is, for a file's record: (account, name, the unit it
/// acts for here, if any).
pub(crate) fn uploader_for(
    caller: &Caller,
    unit: Option<String>,
) -> (Option<String>, String, Option<String>) {
    match caller.subject.account() {
        Some(a) => (Some(a.id.clone()), a.display_name.clone(), unit),
        None => match &caller.subject {
            onestop_domain::access::Subject::ApiKey(k) => (
                None,
                crate::texts::fill(t::BY_KEY, &[("name", &k.name)]),
                None,
            ),
            _ => (None, t::BY_SYSTEM.to_owned(), None),
        },
    }
}

/// Adds an uploaded file to an application. `Ok(None)`: no such
/// application for the caller (404). The bool: whether it is new.
pub async fn add(
    state: &AppState,
    caller: &Caller,
    application_id: &str,
    input: NewMaterial,
    spooled: Spooled,
) -> Result<Option<(MaterialView, bool)>, Error> {
    let Some((app, may_add)) = party_of(state, caller, application_id).await? else {
        return Ok(None);
    };
    if !may_add {
        return Err(Error::forbidden());
    }
    if let Some(o) = &input.work_order_id
        && !app.work_orders.iter().any(|w| &w.id == o)
    {
        return Err(Error::Invalid(vec![FieldError::new(
            "work_order_id",
            FieldCode::UnknownValue,
            t::NO_SUCH_ORDER,
        )]));
    }
    let (app_id, sha) = (app.id.clone(), spooled.sha256.clone());
    let (files, bytes, known) = state
        .store
        .read(move |c| {
            let (files, bytes) = store::usage(c, &app_id)?;
            Ok((files, bytes, store::by_content(c, &app_id, &sha)?))
        })
        .await?;
    if let Some(m) = known {
        return Ok(Some((view(state, &m), false)));
    }
    admit(
        state,
        &spooled,
        Held {
            files,
            bytes,
            too_many: t::TOO_MANY,
            full: t::APPLICATION_FULL,
        },
    )
    .await?;
    let (account, name, unit) = uploader(caller, &app);
    let now_ms = state.now_ms();
    let material = Material {
        id: crate::app::applications::new_id(),
        application_id: app.id.clone(),
        work_order_id: input.work_order_id,
        case_id: input.case_id,
        sha256: Some(spooled.sha256.clone()),
        licence: None,
        kind: input.kind.code().to_owned(),
        file_name: rules::file_name(&input.file_name, input.kind, spooled.file_type),
        media_type: spooled.file_type.media_type().to_owned(),
        size: spooled.size as i64,
        uploaded_by: account,
        uploader_name: name,
        uploader_unit: unit,
        created_at_ms: now_ms,
    };
    let (saved, new) = state
        .store
        .write(move |c| {
            store::record_blob(
                c,
                material.sha256.as_deref().unwrap_or_default(),
                material.size,
                &material.media_type,
                material.created_at_ms,
            )?;
            store::add(c, &material)
        })
        .await?;
    record(state, caller, "material_added", &saved).await?;
    Ok(Some((view(state, &saved), new)))
}

/// What a new file is added to already holds (its files and bytes), and
/// how a refusal for want of room is worded (`{n}` files, `{mb}` MB).
pub(crate) struct Held {
    pub files: i64,
    pub bytes: i64,
    pub too_many: &'static str,
    pub full: &'static str,
}

/// Admits a new file to what holds it: bounded by the count and total of
/// `[materials]` (per application), scanned, and its content stored once
/// by its digest. The content is stored before its record is written: a
/// crash in between leaves an unreferenced content, never a record
/// without one.
pub(crate) async fn admit(state: &AppState, spooled: &Spooled, held: Held) -> Result<(), Error> {
    let limits = state.config.materials.limits();
    if held.files as u64 >= limits.application_files {
        return Err(Error::refused(
            Refusal::Unacceptable,
            "too_many_materials",
            crate::texts::fill(held.too_many, &[("n", &limits.application_files)]),
        ));
    }
    if held.bytes as u64 + spooled.size > limits.application_bytes {
        return Err(Error::refused(
            Refusal::Unacceptable,
            "materials_too_large",
            crate::texts::fill(held.full, &[("mb", &(limits.application_bytes >> 20))]),
        ));
    }
    scan(state, spooled).await?;
    put_blob(state, spooled).await
}

/// Audits materials an application was given from the pre-registration
/// it was linked to (`material_added`, naming the registration).
pub(crate) async fn record_shared(
    state: &AppState,
    caller: &Caller,
    registration_id: &str,
    added: &[Material],
) -> Result<(), Error> {
    for m in added {
        state
            .audit
            .record(caller.audit(
                state.now_ms(),
                "material_added",
                "success",
                "application",
                &m.application_id,
                serde_json::json!({
                    "material": m.sha256.as_deref().unwrap_or(&m.id),
                    "kind": m.kind,
                    "size": m.size,
                    "pre_registration": registration_id,
                }),
            ))
            .await?;
    }
    Ok(())
}

async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    m: &Material,
) -> Result<(), Error> {
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            action,
            "success",
            "application",
            &m.application_id,
            serde_json::json!({
                "material": m.sha256.as_deref().unwrap_or(&m.id),
                "kind": m.kind,
                "size": m.size,
            }),
        ))
        .await?;
    Ok(())
}

/// The virus-scan hook (`[materials] scan_command`).
async fn scan(state: &AppState, spooled: &Spooled) -> Result<(), Error> {
    let Some((program, args)) = state.config.materials.scan_command.split_first() else {
        return Ok(());
    };
    let status = tokio::process::Command::new(program)
        .args(args)
        .arg(&spooled.path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), status)
        .await
        .map_err(|_| scan_failed("the virus scan took too long"))?
        .map_err(|_| scan_failed("the virus scanner could not be started"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(Error::Invalid(vec![FieldError::new(
            "file",
            FieldCode::InvalidFormat,
            t::INFECTED,
        )])),
        _ => Err(scan_failed("the virus scanner failed")),
    }
}

fn scan_failed(why: &'static str) -> Error {
    tracing::error!(why, "an upload could not be scanned");
    Error::refused(
        Refusal::Unavailable,
        "scan_unavailable",
        t::SCAN_UNAVAILABLE,
    )
}

/// An application's materials, for a caller who may see it.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    application_id: &str,
) -> Result<Option<Vec<MaterialView>>, Error> {
    let Some((app, _)) = party_of(state, caller, application_id).await? else {
        return Ok(None);
    };
    let id = app.id.clone();
    let all = state
        .store
        .read(move |c| store::of_application(c, &id))
        .await?;
    Ok(Some(all.iter().map(|m| view(state, m)).collect()))
}

/// The materials of an application the caller has just read (its access
/// decided and audited by that read).
pub async fn of_read_application(
    state: &AppState,
    app: &Application,
) -> Result<Vec<MaterialView>, Error> {
    let id = app.id.clone();
    let all = state
        .store
        .read(move |c| store::of_application(c, &id))
        .await?;
    Ok(all.iter().map(|m| view(state, m)).collect())
}

/// A downloaded material.
pub struct Download {
    pub file_name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// One material's content, for a caller who may see the application;
/// audited.
pub async fn download(
    state: &AppState,
    caller: &Caller,
    application_id: &str,
    sha256: &str,
) -> Result<Option<Download>, Error> {
    if !onestop_store::blobs::is_digest(sha256) {
        return Ok(None);
    }
    let Some((app, _)) = party_of(state, caller, application_id).await? else {
        return Ok(None);
    };
    let (id, sha) = (app.id.clone(), sha256.to_owned());
    let Some(m) = state
        .store
        .read(move |c| store::by_content(c, &id, &sha))
        .await?
    else {
        return Ok(None);
    };
    let bytes = read_blob(state, sha256).await?;
    record(state, caller, "material_downloaded", &m).await?;
    Ok(Some(Download {
        file_name: m.file_name,
        media_type: m.media_type,
        bytes,
    }))
}

/// A recorded content, read whole from the blob store.
pub(crate) async fn read_blob(state: &AppState, sha256: &str) -> Result<Vec<u8>, Error> {
    let blobs = state.blobs.clone();
    let sha = sha256.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<Option<Vec<u8>>> {
        let Some(mut r) = blobs.open(&sha)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(Some(out))
    })
    .await
    .map_err(|_| Error::Internal("the blob store stopped"))?
    .map_err(|_| Error::Internal("a material could not be read"))?
    .ok_or(Error::Internal("a recorded material's content is missing"))
}

/// Refers an application to an electronic licence of its enterprise: an
/// existing one (`licence_id`) or one entered now (kept for the
/// enterprise's later applications).
pub async fn add_licence(
    state: &AppState,
    caller: &Caller,
    application_id: &str,
    licence: Result<LicenceInput, String>,
) -> Result<Option<(MaterialView, bool)>, Error> {
    let Some((app, may_add)) = party_of(state, caller, application_id).await? else {
        return Ok(None);
    };
    if !may_add {
        return Err(Error::forbidden());
    }
    let uscc = app.form.applicant.uscc.clone();
    let now_ms = state.now_ms();
    let found = match licence {
        Ok(l) => {
            let entered = Licence {
                id: crate::app::applications::new_id(),
                uscc: uscc.clone(),
                kind: l.kind.code().to_owned(),
                issuer: l.issuer,
                number: l.number,
                holder: l.holder,
                level: l.level.code().to_owned(),
                created_at_ms: now_ms,
            };
            state
                .store
                .write(move |c| store::licence(c, &entered))
                .await?
        }
        Err(id) => {
            let found = state
                .store
                .read(move |c| store::licence_by_id(c, &id))
                .await?
                .filter(|l| l.uscc == uscc);
            found.ok_or_else(|| {
                Error::Invalid(vec![FieldError::new(
                    "licence_id",
                    FieldCode::UnknownValue,
                    t::NO_SUCH_LICENCE,
                )])
            })?
        }
    };
    let (account, name, unit) = uploader(caller, &app);
    let kind = MaterialKind::parse(&found.kind).unwrap_or(MaterialKind::Other);
    let material = Material {
        id: crate::app::applications::new_id(),
        application_id: app.id.clone(),
        work_order_id: None,
        case_id: None,
        sha256: None,
        file_name: format!("{}（{}）", kind.label(), found.number),
        kind: found.kind.clone(),
        licence: Some(found),
        media_type: "application/vnd.onestop.licence-reference".to_owned(),
        size: 0,
        uploaded_by: account,
        uploader_name: name,
        uploader_unit: unit,
        created_at_ms: now_ms,
    };
    let (saved, new) = state.store.write(move |c| store::add(c, &material)).await?;
    record(state, caller, "licence_referenced", &saved).await?;
    Ok(Some((view(state, &saved), new)))
}

/// An enterprise's licences on file, for a caller who may see the
/// application (to reuse them).
pub async fn licences_for(
    state: &AppState,
    caller: &Caller,
    application_id: &str,
) -> Result<Option<Vec<LicenceView>>, Error> {
    let Some((app, _)) = party_of(state, caller, application_id).await? else {
        return Ok(None);
    };
    let uscc = app.form.applicant.uscc.clone();
    let all = state
        .store
        .read(move |c| store::licences_of(c, &uscc))
        .await?;
    Ok(Some(all.iter().map(licence_view).collect()))
}

// ─────────────────────── files added on the application form ───────────────────────

/// Who keeps the files added on the application form until it is filed:
/// the signed-in account, else this browser's form (its submission token
/// with the browser's own CSRF secret, digested: another browser holding
/// the same token sees nothing).
pub fn form_holder(caller: &Caller, submission_token: Option<&str>) -> Option<String> {
    match caller.subject.account() {
        Some(a) => Some(format!("account:{}", a.id)),
        None => submission_token
            .filter(|t| !t.is_empty() && t.len() <= 64)
            .map(|t| {
                let digest = Sha256::digest(format!("{}\n{t}", caller.csrf_token()));
                format!("form:{}", hex::encode(&digest[..16]))
            }),
    }
}

/// A file kept with the form, as the form lists it.
#[derive(Debug, Clone)]
pub struct StagedView {
    pub id: String,
    pub kind_label: String,
    pub file_name: String,
    pub size: i64,
}

fn staged_view(s: &store::Staged) -> StagedView {
    StagedView {
        id: s.id.clone(),
        kind_label: kind_label(&s.kind),
        file_name: s.file_name.clone(),
        size: s.size,
    }
}

/// How long a file added on a form that is never filed is kept.
const STAGED_FOR_MS: i64 = 30 * 24 * 3_600_000;

/// Keeps a file added on the application form for its holder, bounded
/// like an application's materials (per file, count and total), scanned,
/// its content stored once. The same content again is the one kept.
pub async fn stage(
    state: &AppState,
    holder: &str,
    kind: MaterialKind,
    file_name: &str,
    spooled: Spooled,
) -> Result<StagedView, Error> {
    let limits = state.config.materials.limits();
    let (h, sha) = (holder.to_owned(), spooled.sha256.clone());
    let kept = state.store.read(move |c| store::staged_of(c, &h)).await?;
    if let Some(s) = kept.iter().find(|s| s.sha256 == sha) {
        return Ok(staged_view(s));
    }
    if kept.len() as u64 >= limits.application_files {
        return Err(Error::Invalid(vec![FieldError::new(
            "file",
            FieldCode::OutOfRange,
            crate::texts::fill(t::STAGED_TOO_MANY, &[("n", &limits.application_files)]),
        )]));
    }
    let bytes: u64 = kept.iter().map(|s| s.size as u64).sum();
    if bytes + spooled.size > limits.application_bytes {
        return Err(Error::Invalid(vec![FieldError::new(
            "file",
            FieldCode::TooLong,
            crate::texts::fill(t::STAGED_FULL, &[("mb", &(limits.application_bytes >> 20))]),
        )]));
    }
    scan(state, &spooled).await?;
    put_blob(state, &spooled).await?;
    let now_ms = state.now_ms();
    let staged = store::Staged {
        id: crate::app::applications::new_id(),
        holder: holder.to_owned(),
        sha256: spooled.sha256.clone(),
        kind: kind.code().to_owned(),
        file_name: rules::file_name(file_name, kind, spooled.file_type),
        media_type: spooled.file_type.media_type().to_owned(),
        size: spooled.size as i64,
        created_at_ms: now_ms,
    };
    let (saved, _) = state
        .store
        .write(move |c| {
            store::drop_staged_before(c, now_ms - STAGED_FOR_MS)?;
            store::record_blob(
                c,
                &staged.sha256,
                staged.size,
                &staged.media_type,
                staged.created_at_ms,
            )?;
            store::stage(c, &staged)
        })
        .await?;
    Ok(staged_view(&saved))
}

/// The files a holder keeps with the form.
pub async fn staged(state: &AppState, holder: &str) -> Result<Vec<StagedView>, Error> {
    let h = holder.to_owned();
    let kept = state.store.read(move |c| store::staged_of(c, &h)).await?;
    Ok(kept.iter().map(staged_view).collect())
}

/// Removes files the holder kept (ids not theirs are ignored).
pub async fn unstage(state: &AppState, holder: &str, ids: Vec<String>) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let h = holder.to_owned();
    state
        .store
        .write(move |c| {
            for id in ids.iter().take(1000) {
                store::unstage(c, &h, id)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Makes the files the holder kept materials of the application just
/// filed (by the caller, who may not be able to read it back: an
/// anonymous filing), each audited; how many were added.
pub async fn attach_staged(
    state: &AppState,
    caller: &Caller,
    holder: &str,
    app: &Application,
) -> Result<usize, Error> {
    let (account, mut name, unit) = uploader(caller, app);
    if account.is_none() && name == t::BY_SYSTEM {
        // Filed without signing in: the enterprise named on the form.
        name = app.form.applicant.name.clone();
    }
    let template = Material {
        id: String::new(),
        application_id: app.id.clone(),
        work_order_id: None,
        case_id: None,
        sha256: None,
        licence: None,
        kind: String::new(),
        file_name: String::new(),
        media_type: String::new(),
        size: 0,
        uploaded_by: account,
        uploader_name: name,
        uploader_unit: unit,
        created_at_ms: state.now_ms(),
    };
    let h = holder.to_owned();
    let added = state
        .store
        .write(move |c| store::attach_staged(c, &h, &template, crate::app::applications::new_id))
        .await?;
    for m in &added {
        record(state, caller, "material_added", m).await?;
    }
    Ok(added.len())
}

/// Moves a received file into the blob store (the content first, by its
/// digest; the record after).
async fn put_blob(state: &AppState, spooled: &Spooled) -> Result<(), Error> {
    let blobs = state.blobs.clone();
    let (sha, path) = (spooled.sha256.clone(), spooled.path.clone());
    tokio::task::spawn_blocking(move || blobs.put(&sha, &path))
        .await
        .map_err(|_| Error::Internal("the blob store stopped"))?
        .map_err(|e| {
            tracing::error!(error = %e, "a material could not be stored");
            Error::Internal("a material could not be stored")
        })?;
    Ok(())
}
