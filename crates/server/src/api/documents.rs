//! Official PDFs, their verification, and materials (一次上传、多方共享)
//! over the API.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::documents::{self, Pdf, VerifiedDocument};
use crate::app::materials::{self, LicenceView, MaterialView, NewMaterial, Spooler};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::documents::DocumentKind;
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::materials::{MaterialKind, RawLicence, parse_licence};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        application_document,
        case_document,
        verification,
        post_material,
        list_materials,
        get_material,
        post_licence,
        list_licences
    ),
    components(schemas(
        VerifiedDocument,
        MaterialView,
        LicenceView,
        MaterialList,
        LicenceList,
        MaterialUpload,
        LicenceRequest,
        MaterialKind,
        onestop_domain::materials::LicenceLevel
    ))
)]
pub struct DocumentsDoc;

/// Adds [`DocumentsDoc`] to the document it modifies.
pub struct Paths;

impl utoipa::Modify for Paths {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.merge(DocumentsDoc::openapi());
    }
}

/// The routes of documents and materials.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/api/v1/applications/{id}/documents/{file}",
            get(application_document),
        )
        .route(
            "/api/v1/approval-cases/{id}/documents/{file}",
            get(case_document),
        )
        .route("/api/v1/documents/{number}/verification", get(verification))
        .route(
            "/api/v1/applications/{id}/materials",
            post(post_material)
                .get(list_materials)
                // The upload bounds itself as it arrives (`[materials]`).
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/applications/{id}/materials/{sha256}",
            get(get_material),
        )
        .route(
            "/api/v1/applications/{id}/licences",
            post(post_licence).get(list_licences),
        )
}

/// `form.pdf` → the kind, when it is one of `allowed`.
fn kind_of(file: &str, allowed: &[DocumentKind]) -> Option<DocumentKind> {
    let code = file.strip_suffix(".pdf")?;
    DocumentKind::parse(code).filter(|k| allowed.contains(k))
}

/// `attachment; filename*=UTF-8''…` (the name percent-encoded).
pub fn disposition(kind: &str, file_name: &str) -> HeaderValue {
    let encoded: String = form_urlencoded::byte_serialize(file_name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    HeaderValue::from_str(&format!("{kind}; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A file answer: private, never cached by others, never sniffed.
pub fn file_response(media_type: &str, inline: bool, file_name: &str, bytes: Vec<u8>) -> Response {
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        disposition(if inline { "inline" } else { "attachment" }, file_name),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn pdf_response(pdf: Pdf) -> Response {
    let mut res = file_response("application/pdf", true, &pdf.file_name, pdf.bytes);
    if let Ok(v) = HeaderValue::from_str(&pdf.number) {
        res.headers_mut().insert("x-document-number", v);
    }
    res
}

/// An application's document as an A4 PDF: `form.pdf` (附表2 as filed),
/// `receipt.pdf` (受理回执) or `completion.pdf` (办结通知书, once every
/// order is finished). Each carries its number and check code on every
/// page (see `/api/v1/documents/{number}/verification`).
#[utoipa::path(
    get, path = "/api/v1/applications/{id}/documents/{file}",
    params(("id" = String, Path), ("file" = String, Path, description = "form.pdf, receipt.pdf or completion.pdf")),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>, headers(("X-Document-Number" = String))),
        (status = 404, body = ErrorBody, description = "not_found: no such application or document, or one the caller may not see"),
        (status = 409, body = ErrorBody, description = "not_completed: the completion notice before every order is finished"),
    )
)]
pub async fn application_document(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = kind_of(
        &file,
        &[
            DocumentKind::Form,
            DocumentKind::Receipt,
            DocumentKind::Completion,
        ],
    )
    .ok_or_else(ApiError::not_found)?;
    documents::application_document(&state, &caller, id, kind)
        .await?
        .map(pdf_response)
        .ok_or_else(ApiError::not_found)
}

/// An approval case's document as an A4 PDF: `commitment.pdf` (附表3, when
/// the case has a signed commitment) or `sheet.pdf` (附表4, every
/// department's opinion and signed time in every round).
#[utoipa::path(
    get, path = "/api/v1/approval-cases/{id}/documents/{file}",
    params(("id" = String, Path), ("file" = String, Path, description = "commitment.pdf or sheet.pdf")),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>, headers(("X-Document-Number" = String))),
        (status = 404, body = ErrorBody, description = "not_found: no such case or document, or one the caller may not see"),
    )
)]
pub async fn case_document(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = kind_of(&file, &[DocumentKind::Commitment, DocumentKind::Sheet])
        .ok_or_else(ApiError::not_found)?;
    documents::case_document(&state, &caller, id, kind)
        .await?
        .map(pdf_response)
        .ok_or_else(ApiError::not_found)
}

/// What the register says of a printed document's number (public: no
/// personal data). Compare the check code with the one on the paper;
/// `superseded` means the record changed after it was printed.
#[utoipa::path(
    get, path = "/api/v1/documents/{number}/verification",
    params(("number" = String, Path)),
    responses(
        (status = 200, body = VerifiedDocument),
        (status = 404, body = ErrorBody, description = "not_found: no document of this number"),
    )
)]
pub async fn verification(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Json<VerifiedDocument>, ApiError> {
    documents::verify(&state, number)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

// ── Materials ────────────────────────────────────────────────────────────

/// The multipart upload: `file` (PDF, PNG or JPEG by content), `kind`,
/// `work_order_id`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct MaterialUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `site_plan`, `business_licence`, `property_certificate`, `design`,
    /// `approval_document` or `other` (the default).
    #[schema(value_type = Option<MaterialKind>)]
    pub kind: Option<String>,
    /// The work order it belongs to, one of the application's.
    #[schema(max_length = 64)]
    pub work_order_id: Option<String>,
    /// The approval case it belongs to.
    #[schema(max_length = 64)]
    pub case_id: Option<String>,
}

/// Most parts in one upload.
const MAX_PARTS: usize = 8;
/// Most bytes of a text part.
const MAX_TEXT_PART: usize = 256;

async fn text_part(
    mut field: axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| ApiError::malformed(crate::texts::errors::MALFORMED_MULTIPART))?
    {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_TEXT_PART {
            return Err(ApiError::validation(vec![FieldError::new(
                name,
                FieldCode::TooLong,
                crate::texts::errors::PART_TOO_LONG,
            )]));
        }
    }
    String::from_utf8(out).map_err(|_| {
        ApiError::validation(vec![FieldError::new(
            name,
            FieldCode::InvalidFormat,
            crate::texts::errors::PART_NOT_TEXT,
        )])
    })
}

/// What a multipart upload carried.
pub struct Received {
    pub spooled: materials::Spooled,
    pub input: NewMaterial,
    /// A page form's CSRF token (`csrf_token`), checked by the page.
    pub csrf: Option<String>,
}

/// Reads an upload, bounded in parts, text sizes and file size as it
/// arrives.
pub async fn receive(state: &AppState, mut multipart: Multipart) -> Result<Received, ApiError> {
    let mut spooled = None;
    let mut file_name = String::new();
    let (mut kind, mut order, mut case, mut csrf) = (None, None, None, None);
    let mut parts = 0;
    let malformed = || ApiError::malformed(crate::texts::errors::MALFORMED_MULTIPART);
    while let Some(mut field) = multipart.next_field().await.map_err(|_| malformed())? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(malformed());
        }
        match field.name().unwrap_or("") {
            "file" if spooled.is_none() => {
                file_name = field.file_name().unwrap_or("").chars().take(200).collect();
                let mut s = Spooler::start(state)?;
                while let Some(chunk) = field.chunk().await.map_err(|_| malformed())? {
                    s.push(&chunk)?;
                }
                spooled = Some(s.finish()?);
            }
            "kind" => kind = Some(text_part(field, "kind").await?),
            "work_order_id" => order = Some(text_part(field, "work_order_id").await?),
            "case_id" => case = Some(text_part(field, "case_id").await?),
            "csrf_token" => csrf = Some(text_part(field, "csrf_token").await?),
            _ => {
                // Read and dropped, bounded like a text.
                text_part(field, "file").await?;
            }
        }
    }
    let mut errors = Vec::new();
    let kind = match kind.as_deref().map(str::trim) {
        None | Some("") => MaterialKind::Other,
        Some(k) => MaterialKind::parse(k).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "kind",
                FieldCode::UnknownValue,
                crate::texts::errors::MATERIAL_KIND,
            ));
            MaterialKind::Other
        }),
    };
    let Some(spooled) = spooled else {
        errors.push(FieldError::new(
            "file",
            FieldCode::Required,
            crate::texts::materials::EMPTY,
        ));
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Received {
        spooled,
        input: NewMaterial {
            kind,
            file_name,
            work_order_id: id(order),
            case_id: id(case),
        },
        csrf,
    })
}

/// Add a material to an application (multipart, field `file`): stored once
/// by its SHA-256 and seen by every party of the application. The same
/// content again answers the material already there (`200`).
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/materials",
    params(("id" = String, Path)),
    request_body(content = MaterialUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = MaterialView, headers(("Location" = String))),
        (status = 200, body = MaterialView, description = "the application already has this content"),
        (status = 400, body = ErrorBody, description = "malformed_body: not a multipart upload"),
        (status = 403, body = ErrorBody, description = "forbidden: the caller reads the application but is no party to it"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 422, body = ErrorBody, description = "validation_failed (file too large, empty or of a type not accepted), too_many_materials, materials_too_large"),
        (status = 503, body = ErrorBody, description = "scan_unavailable: the virus scan could not run"),
    )
)]
pub async fn post_material(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let received = receive(&state, multipart).await?;
    let (view, new) = materials::add(&state, &caller, &id, received.input, received.spooled)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = (status, Json(&view)).into_response();
    if let Some(l) = view
        .download
        .as_deref()
        .and_then(|d| HeaderValue::from_str(d).ok())
    {
        res.headers_mut().insert(header::LOCATION, l);
    }
    Ok(res)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialList {
    pub items: Vec<MaterialView>,
}

/// An application's materials (files and licence references), oldest first.
#[utoipa::path(
    get, path = "/api/v1/applications/{id}/materials",
    params(("id" = String, Path)),
    responses((status = 200, body = MaterialList), (status = 404, body = ErrorBody))
)]
pub async fn list_materials(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<MaterialList>, ApiError> {
    let items = materials::list(&state, &caller, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(MaterialList { items }))
}

/// Download one material by its SHA-256 (audited).
#[utoipa::path(
    get, path = "/api/v1/applications/{id}/materials/{sha256}",
    params(("id" = String, Path), ("sha256" = String, Path)),
    responses(
        (status = 200, description = "the file, as its content was told to be",
            content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"))),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_material(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let d = materials::download(&state, &caller, &id, &sha)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(file_response(&d.media_type, false, &d.file_name, d.bytes))
}

/// An electronic licence (电子证照) referred to instead of a file: an
/// enterprise's licence on file (`licence_id`), or one entered now (kept
/// for the enterprise's later applications).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LicenceRequest {
    #[schema(max_length = 64)]
    pub licence_id: Option<String>,
    /// `business_licence` (the default), `property_certificate` or
    /// `approval_document`.
    pub kind: Option<MaterialKind>,
    /// 发证机关.
    #[schema(min_length = 1, max_length = 100)]
    pub issuer: Option<String>,
    /// 证照编号.
    #[schema(min_length = 1, max_length = 60)]
    pub number: Option<String>,
    /// 持证主体.
    #[schema(min_length = 2, max_length = 100)]
    pub holder: Option<String>,
    /// The trust level, A (highest) to D.
    pub level: Option<onestop_domain::materials::LicenceLevel>,
}

/// Refer the application to an electronic licence.
#[utoipa::path(
    post, path = "/api/v1/applications/{id}/licences",
    params(("id" = String, Path)),
    request_body = LicenceRequest,
    responses(
        (status = 201, body = MaterialView),
        (status = 200, body = MaterialView, description = "the application already refers to this licence"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn post_licence(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let licence = match body.text("licence_id", &mut errors) {
        Some(l) => Err(l.chars().take(64).collect::<String>()),
        None => {
            let raw = RawLicence {
                kind: body.text("kind", &mut errors),
                issuer: body.text("issuer", &mut errors),
                number: body.text("number", &mut errors),
                holder: body.text("holder", &mut errors),
                level: body.text("level", &mut errors),
            };
            match parse_licence(&raw) {
                Ok(l) => Ok(l),
                Err(more) => {
                    errors.extend(more);
                    return Err(ApiError::validation(errors));
                }
            }
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (view, new) = materials::add_licence(&state, &caller, &id, licence)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceList {
    pub items: Vec<LicenceView>,
}

/// The electronic licences on file for the application's enterprise (to
/// refer to again).
#[utoipa::path(
    get, path = "/api/v1/applications/{id}/licences",
    params(("id" = String, Path)),
    responses((status = 200, body = LicenceList), (status = 404, body = ErrorBody))
)]
pub async fn list_licences(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<LicenceList>, ApiError> {
    let items = materials::licences_for(&state, &caller, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(LicenceList { items }))
}
