//! Materials on the application form itself (一次上传、多方共享): a few file
//! rows, each with its kind, sent with the form as `multipart/form-data`.
//!
//! A file is kept as soon as it arrives ([`materials::stage`]), for whoever
//! fills the form in, so that a form sent back for a correction, saved as a
//! draft or reopened later still has its files (listed, each removable),
//! and it becomes a material of the application when that is filed.

use crate::AppState;
use crate::app::materials::{self, StagedView};
use crate::auth::Caller;
use crate::web::Failure as _;
use crate::web::form::{FormFile, Spec, split_row};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::materials::MaterialKind;

/// File rows on the form.
pub const ROWS: usize = 3;
/// The rows' prefix: `material.{i}.file`, `material.{i}.kind`.
const PREFIX: &str = "material";
/// Files kept earlier that the sender asks to remove (their ids).
const REMOVE: &str = "material_remove";

/// The form's material fields, added to its declared fields.
pub fn declare(spec: Spec, state: &AppState) -> Spec {
    let kept = state.config.materials.limits().application_files as usize;
    spec.rows(PREFIX, ROWS, &["kind"])
        .files(PREFIX, ROWS, "file")
        .many(REMOVE, kept.clamp(1, 1000))
}

/// What the form shows of its materials.
#[derive(Debug, Clone, Default)]
pub struct FormMaterials {
    /// Files kept for this form, to be attached when it is filed.
    pub kept: Vec<StagedView>,
    /// The kinds to choose from (code, label).
    pub kinds: Vec<(&'static str, &'static str)>,
    pub rows: usize,
    /// Largest file, in MB.
    pub max_file_mb: u64,
}

impl FormMaterials {
    /// The kind a row starts with: a site plan first, then other papers.
    pub fn row_kind(&self, row: &usize) -> &'static str {
        match *row {
            0 => MaterialKind::SitePlan.code(),
            1 => MaterialKind::PropertyCertificate.code(),
            _ => MaterialKind::Other.code(),
        }
    }

    /// A kept file's size for people (`2.1 MB`, `36 KB`).
    pub fn size(&self, bytes: &i64) -> String {
        let bytes = *bytes;
        if bytes >= 1 << 20 {
            format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
        } else {
            format!("{} KB", (bytes + 1023) / 1024)
        }
    }
}

/// The form's materials for whoever fills it in (`holder`).
pub async fn for_form(state: &AppState, holder: Option<&str>) -> FormMaterials {
    let kept = match holder {
        Some(h) => materials::staged(state, h).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the form's kept files could not be read");
            Vec::new()
        }),
        None => Vec::new(),
    };
    FormMaterials {
        kept,
        kinds: MaterialKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        rows: ROWS,
        max_file_mb: state.config.materials.limits().file_bytes >> 20,
    }
}

/// Takes the form's material fields out of `pairs`: removes the kept files
/// the sender unticked, keeps each file that arrived (with its row's
/// kind). The problems, as field errors on the rows' file fields.
pub async fn take(
    state: &AppState,
    holder: Option<&str>,
    pairs: &mut Vec<(String, String)>,
    files: Vec<FormFile>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let remove: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == REMOVE)
        .map(|(_, v)| v.clone())
        .collect();
    let kind_of = |row: usize| {
        pairs
            .iter()
            .find(|(k, _)| split_row(k, PREFIX) == Some((row, "kind")))
            .and_then(|(_, v)| MaterialKind::parse(v))
            .unwrap_or(MaterialKind::Other)
    };
    let kinds: Vec<MaterialKind> = (0..ROWS).map(kind_of).collect();
    pairs.retain(|(k, _)| k != REMOVE && split_row(k, PREFIX).is_none());
    if let Some(h) = holder
        && let Err(e) = materials::unstage(state, h, remove).await
    {
        tracing::warn!(error = %e, "kept files could not be removed");
    }
    for f in files {
        let Some((row, _)) = split_row(&f.field, PREFIX) else {
            continue;
        };
        let kind = kinds.get(row).copied().unwrap_or(MaterialKind::Other);
        let outcome = match (f.received, holder) {
            (Ok(spooled), Some(h)) => materials::stage(state, h, kind, &f.file_name, spooled)
                .await
                .map(|_| ()),
            (Ok(_), None) => Err(crate::app::error::Error::Invalid(vec![FieldError::new(
                "file",
                FieldCode::Required,
                crate::texts::apply::UPLOAD_AGAIN,
            )])),
            (Err(e), _) => Err(e),
        };
        if let Err(e) = outcome {
            let message = e
                .fields()
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| crate::error::message_of(&e));
            let named = if f.file_name.is_empty() {
                message
            } else {
                format!("{}：{message}", f.file_name)
            };
            errors.push(FieldError::new(f.field, FieldCode::InvalidFormat, named));
        }
    }
    errors
}

/// Who keeps the files of this form (see [`materials::form_holder`]).
pub fn holder(caller: &Caller, pairs: &[(String, String)]) -> Option<String> {
    let token = pairs
        .iter()
        .find(|(k, _)| k == "submission_token")
        .map(|(_, v)| v.trim());
    materials::form_holder(caller, token)
}
