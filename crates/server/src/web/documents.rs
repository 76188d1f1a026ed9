//! Pages of the official PDFs, their verification, and materials: the
//! documents and materials section of the application and case pages
//! (`_papers.html`), the upload form's target, downloads, and the public
//! `/verify/{number}`.

use crate::AppState;
use crate::api::documents::{file_response, receive};
use crate::app::documents as docs;
use crate::app::materials::{self, MaterialView};
use crate::auth::Caller;
use crate::texts;
use crate::web::{Nav, failure_page, not_found_page, render};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onestop_domain::application::{Application, ApplicationStatus};
use onestop_domain::documents::DocumentKind;
use onestop_domain::materials::MaterialKind;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications/{id}/documents/{file}", get(application_pdf))
        .route("/approval-cases/{id}/documents/{file}", get(case_pdf))
        .route(
            "/applications/{id}/materials",
            post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/applications/{id}/materials/{sha256}", get(download))
        .route("/verify", get(verify_form))
        .route("/verify/{number}", get(verify_page))
}

/// A link to a document.
pub struct DocLink {
    pub label: &'static str,
    pub href: String,
}

/// One material as the pages list it.
pub struct MaterialRow {
    pub kind: String,
    pub name: String,
    pub size: String,
    pub by: String,
    pub at: String,
    pub href: Option<String>,
    pub licence: Option<String>,
}

/// The documents and materials section of a page.
pub struct PapersView {
    pub application_id: String,
    pub documents: Vec<DocLink>,
    pub materials: Vec<MaterialRow>,
    /// The caller may add materials (the upload form is shown).
    pub may_upload: bool,
    pub kinds: Vec<(&'static str, &'static str)>,
    /// A work order or case the upload belongs to.
    pub work_order_id: Option<String>,
    pub case_id: Option<String>,
    pub max_mb: u64,
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// A material as the pages list it, downloaded at `href` (its page's own
/// address).
pub fn material_row(state: &AppState, m: MaterialView, href: Option<String>) -> MaterialRow {
    MaterialRow {
        kind: m.kind_label,
        size: if m.licence.is_some() {
            String::new()
        } else {
            size_text(m.size)
        },
        by: m.uploaded_by,
        at: crate::web::staff::when(state, m.created_at),
        href,
        licence: m.licence.map(|l| {
            texts::fill(
                texts::papers::LICENCE,
                &[
                    ("issuer", &l.issuer),
                    ("number", &l.number),
                    ("holder", &l.holder),
                    ("level", &l.level),
                ],
            )
        }),
        name: m.file_name,
    }
}

/// The section for an application the caller sees (documents of the
/// application, and of the case when `case` is given).
pub async fn papers(
    state: &AppState,
    caller: &Caller,
    app: &Application,
    case: Option<(&str, bool)>,
) -> PapersView {
    let mut documents = vec![
        DocLink {
            label: texts::papers::FORM,
            href: format!("/applications/{}/documents/form.pdf", app.id),
        },
        DocLink {
            label: texts::papers::RECEIPT,
            href: format!("/applications/{}/documents/receipt.pdf", app.id),
        },
    ];
    if app.status == ApplicationStatus::Completed {
        documents.push(DocLink {
            label: texts::papers::COMPLETION,
            href: format!("/applications/{}/documents/completion.pdf", app.id),
        });
    }
    if let Some((case_id, has_commitment)) = case {
        if has_commitment {
            documents.push(DocLink {
                label: texts::papers::COMMITMENT,
                href: format!("/approval-cases/{case_id}/documents/commitment.pdf"),
            });
        }
        documents.push(DocLink {
            label: texts::papers::SHEET,
            href: format!("/approval-cases/{case_id}/documents/sheet.pdf"),
        });
    }
    let listed = materials::of_read_application(state, app).await.ok();
    let materials = listed
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let href = m
                .sha256
                .as_ref()
                .map(|s| format!("/applications/{}/materials/{s}", app.id));
            material_row(state, m, href)
        })
        .collect();
    let units: Vec<String> = app
        .work_orders
        .iter()
        .map(|o| o.unit.code.clone())
        .collect();
    let departments = if case.is_some() {
        crate::app::approvals::departments(&caller.subject)
    } else {
        Vec::new()
    };
    let facts = crate::app::applications::facts(app, &units, &departments);
    PapersView {
        application_id: app.id.clone(),
        documents,
        materials,
        may_upload: caller.subject.may_add_material(&facts, &departments),
        kinds: MaterialKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        work_order_id: None,
        case_id: case.map(|(c, _)| c.to_owned()),
        max_mb: state.config.materials.max_file_mb,
    }
}

fn pdf(result: Result<Option<docs::Pdf>, crate::app::error::Error>) -> Response {
    match result {
        Ok(Some(p)) => file_response("application/pdf", true, &p.file_name, p.bytes),
        Ok(None) => not_found_page(),
        Err(e) => failure_page(e),
    }
}

fn kind_of(file: &str, case: bool) -> Option<DocumentKind> {
    DocumentKind::parse(file.strip_suffix(".pdf")?).filter(|k| k.of_case() == case)
}

async fn application_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(kind) = kind_of(&file, false) else {
        return not_found_page();
    };
    pdf(docs::application_document(&state, &caller, id, kind).await)
}

async fn case_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(kind) = kind_of(&file, true) else {
        return not_found_page();
    };
    pdf(docs::case_document(&state, &caller, id, kind).await)
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sha)): Path<(String, String)>,
) -> Response {
    match materials::download(&state, &caller, &id, &sha).await {
        Ok(Some(d)) => file_response(&d.media_type, false, &d.file_name, d.bytes),
        Ok(None) => not_found_page(),
        Err(e) => failure_page(e),
    }
}

/// The upload form's target: back to the page it came from, with the
/// outcome (or the reason it was refused) in the address.
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    if !plain_id(&id) {
        return not_found_page();
    }
    let received = match receive(&state, multipart).await {
        Ok(r) => r,
        Err(e) => return back(&format!("/applications/{id}"), Err(first_message(&e))),
    };
    if !Caller::origin_ok(&headers) || !caller.csrf_ok(received.csrf.as_deref()) {
        return crate::web::csrf_failed_page();
    }
    let plain = |v: &Option<String>| v.clone().filter(|v| plain_id(v));
    let page = match (
        plain(&received.input.case_id),
        plain(&received.input.work_order_id),
    ) {
        (Some(c), _) => format!("/approval-cases/{c}"),
        (None, Some(o)) => format!("/work-orders/{o}"),
        (None, None) => format!("/applications/{id}"),
    };
    let outcome = materials::add(&state, &caller, &id, received.input, received.spooled).await;
    match outcome {
        Ok(Some((_, new))) => back(&page, Ok(new)),
        Ok(None) => not_found_page(),
        Err(e) => back(&page, Err(first_message(&e.into()))),
    }
}

pub(crate) fn first_message(e: &crate::error::ApiError) -> String {
    e.fields
        .first()
        .map_or_else(|| e.message.clone(), |f| f.message.clone())
}

/// Whether a record id may go into an address as it is (ids are letters,
/// digits and `-`; anything else is no id of ours).
pub(crate) fn plain_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Back to the page the upload came from (`page`, a path of ours).
pub(crate) fn back(page: &str, outcome: Result<bool, String>) -> Response {
    let query = match outcome {
        Ok(true) => "done=material_added".to_owned(),
        Ok(false) => "done=material_known".to_owned(),
        Err(m) => format!(
            "material_error={}",
            form_urlencoded::byte_serialize(m.as_bytes()).collect::<String>()
        ),
    };
    Redirect::to(&format!("{page}?{query}#papers")).into_response()
}

/// The refused upload named in a page's address (`material_error`).
pub fn refused_upload(error: Option<&str>) -> crate::web::form::Refused {
    crate::web::form::Refused {
        form: "material".to_owned(),
        message: error.map(|e| e.chars().take(200).collect()),
        ..Default::default()
    }
}

/// The notes an upload's outcome shows (for `done_note`).
pub const DONE: [(&str, &str); 2] = [
    ("material_added", texts::papers::ADDED),
    ("material_known", texts::papers::KNOWN),
];

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    nav: Nav,
    number: String,
    found: Option<VerifiedView>,
    asked: bool,
}

struct VerifiedView {
    title: String,
    number: String,
    check_code: String,
    application_number: String,
    issued: String,
    superseded: bool,
    current_number: String,
}

#[derive(Deserialize)]
struct VerifyQuery {
    number: Option<String>,
}

async fn verify_form(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<VerifyQuery>,
) -> Response {
    match q
        .number
        .map(|n| n.trim().to_uppercase())
        .filter(|n| !n.is_empty())
    {
        Some(n) if n.len() <= 64 => show(&state, &caller, n).await,
        _ => render(&caller, StatusCode::OK, |nav, _| VerifyPage {
            nav,
            number: String::new(),
            found: None,
            asked: false,
        }),
    }
}

async fn verify_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Response {
    if number.len() > 64 {
        return not_found_page();
    }
    show(&state, &caller, number).await
}

async fn show(state: &AppState, caller: &Caller, number: String) -> Response {
    let found = match docs::verify(state, number.clone()).await {
        Ok(f) => f,
        Err(e) => return failure_page(e),
    };
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render(caller, status, |nav, _| VerifyPage {
        nav,
        found: found.map(|d| VerifiedView {
            title: d.title,
            check_code: d.check_code,
            application_number: d.application_number,
            issued: crate::web::staff::when(state, d.issued_at),
            superseded: d.superseded,
            current_number: d.current_number,
            number: d.number,
        }),
        number,
        asked: true,
    })
}
