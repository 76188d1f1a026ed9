//! Pre-registrations (一口登记) for integration clients (工改平台, 政务服务网)
//! and staff: register a project, list and read registrations; the
//! utilities concerned record their joint visits and network plans, and
//! add the files that go with them.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::api::saved_response;
use crate::app::materials::MaterialView;
use crate::app::pre_registrations::{self as app, PreRegistrationView, Registered};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::form::{FieldCode, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The body of `POST /api/v1/pre-registrations`: the project code
/// (required, unique among open registrations), the land parcel, the
/// enterprise if known, the location, the expected needs per service (the
/// sections of 附表2, every field optional; none named concerns every
/// utility) and the expected date.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "project_code": "2611-421303-04-01-123456",
    "land_parcel": "曾都区2026-15号地块",
    "enterprise": {"name": "随州市示例商贸有限公司", "uscc": "91421300MA49ABCD17"},
    "location": {"district_code": "421303", "detail": "交通大道100号", "lng": 113.37, "lat": 31.70},
    "services": {"water": {"demand_tons_per_day": 50}, "power": {"main_capacity_kva": 630}},
    "expected_date": "2027-06-30"
}))]
pub struct PreRegistrationRequest {
    #[schema(pattern = r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}$")]
    pub project_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub land_parcel: String,
    #[schema(value_type = Option<Object>)]
    pub enterprise: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub location: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    pub services: Option<serde_json::Value>,
    #[schema(format = Date)]
    pub expected_date: String,
}

fn created(id: &str, body: String) -> Response {
    let mut res = (StatusCode::CREATED, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(loc) = HeaderValue::from_str(&app::location_of(id)) {
        h.insert(header::LOCATION, loc);
    }
    res
}

/// Register a project at land transfer; the utilities concerned are told.
#[utoipa::path(
    post, path = "/api/v1/pre-registrations",
    request_body = PreRegistrationRequest,
    params(crate::api::doc::IdempotencyHeader),
    responses(
        (status = 201, body = PreRegistrationView, headers(("Location" = String))),
        (status = 403, body = ErrorBody, description = "forbidden: needs `pre_registrations:write`"),
        (status = 409, body = ErrorBody, description = "idempotency_conflict"),
        (status = 422, body = ErrorBody, description = "validation_failed, with fields"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if !caller.subject.may_register_projects(&state.config) {
        return Err(crate::auth::forbidden());
    }
    let key = body.idempotency_key()?;
    if let Some(key) = &key
        && let Some(saved) = crate::app::applications::replay(&state, key).await?
    {
        return Ok(saved_response(saved));
    }
    let value = body.into_value();
    let form = app::validate(&state, &value).map_err(ApiError::validation)?;
    match app::register(&state, &caller, form, key).await? {
        Registered::Created(v) => {
            let body = serde_json::to_string(&*v)
                .map_err(|_| crate::app::error::Error::Internal("serialise"))?;
            Ok(created(&v.id, body))
        }
        Registered::Replayed(saved) => Ok(saved_response(saved)),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the registrations of this project code.
    #[param(max_length = 64)]
    project_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PreRegistrationList {
    items: Vec<PreRegistrationView>,
}

/// Registrations the caller may see, newest first: all of them with
/// `pre_registrations:read` (and for administrators, supervisors, the
/// planning department); a utility's those concerning it.
#[utoipa::path(
    get, path = "/api/v1/pre-registrations", params(ListQuery),
    responses((status = 200, body = PreRegistrationList), (status = 403, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<PreRegistrationList>, ApiError> {
    let code = q
        .project_code
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if code.as_ref().is_some_and(|c| c.chars().count() > 64) {
        return Err(ApiError::validation(vec![FieldError::new(
            "project_code",
            FieldCode::TooLong,
            crate::texts::api::FILTER_TOO_LONG,
        )]));
    }
    let items = app::list(&state, &caller, code).await?;
    Ok(Json(PreRegistrationList { items }))
}

/// One registration with its visits, plans and linked applications.
#[utoipa::path(
    get, path = "/api/v1/pre-registrations/{id}",
    params(("id" = String, Path)),
    responses((status = 200, body = PreRegistrationView), (status = 404, body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PreRegistrationView>, ApiError> {
    Ok(Json(app::get(&state, &caller, id).await?))
}

fn recorded(r: app::Recorded) -> Result<Response, ApiError> {
    match r {
        app::Recorded::Created(v) => Ok((StatusCode::CREATED, Json(*v)).into_response()),
        app::Recorded::Replayed(saved) => Ok(saved_response(saved)),
    }
}

/// A concerned utility records its joint visit `{"date", "notes"}`; other
/// units are answered `404`.
#[utoipa::path(
    post, path = "/api/v1/pre-registrations/{id}/visits",
    params(("id" = String, Path)),
    responses(
        (status = 201, body = PreRegistrationView),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn post_visit(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let key = body.idempotency_key()?;
    if let Some(key) = &key
        && let Some(saved) = crate::app::applications::replay(&state, key).await?
    {
        return Ok(saved_response(saved));
    }
    recorded(app::record_visit(&state, &caller, &id, &body.value, key).await?)
}

/// A concerned utility records its network plan `{"planned_date", "notes",
/// "covers_survey", "covers_design"}`; other units are answered `404`.
#[utoipa::path(
    post, path = "/api/v1/pre-registrations/{id}/plans",
    params(("id" = String, Path)),
    responses(
        (status = 201, body = PreRegistrationView),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn post_plan(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let key = body.idempotency_key()?;
    if let Some(key) = &key
        && let Some(saved) = crate::app::applications::replay(&state, key).await?
    {
        return Ok(saved_response(saved));
    }
    recorded(app::record_plan(&state, &caller, &id, &body.value, key).await?)
}

/// The multipart upload to a registration: `file` (PDF, PNG or JPEG by
/// content) and `kind`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RegistrationMaterialUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `site_plan`, `design` (a network plan), `approval_document`, … or
    /// `other` (the default).
    #[schema(value_type = Option<onestop_domain::materials::MaterialKind>)]
    pub kind: Option<String>,
}

/// Add a file to a registration (multipart, field `file`, optional
/// `kind`): a network plan, a site drawing. By a concerned utility or the
/// registering department; stored once by its SHA-256. The same content
/// again answers the file already there (`200`). Applications linked to
/// the registration, now or later, have it among their materials.
#[utoipa::path(
    post, path = "/api/v1/pre-registrations/{id}/materials",
    params(("id" = String, Path)),
    request_body(content = RegistrationMaterialUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = MaterialView, headers(("Location" = String))),
        (status = 200, body = MaterialView, description = "the registration already has this content"),
        (status = 400, body = ErrorBody, description = "malformed_body: not a multipart upload"),
        (status = 403, body = ErrorBody, description = "forbidden: the caller sees the registration but is neither a concerned utility nor the registering department"),
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
    let received = crate::api::documents::receive(&state, multipart).await?;
    let (view, new) =
        app::add_material(&state, &caller, &id, received.input, received.spooled).await?;
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

/// Download one of a registration's files by its SHA-256 (audited).
#[utoipa::path(
    get, path = "/api/v1/pre-registrations/{id}/materials/{sha256}",
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
    let d = app::download_material(&state, &caller, &id, &sha).await?;
    Ok(crate::api::documents::file_response(
        &d.media_type,
        false,
        &d.file_name,
        d.bytes,
    ))
}
