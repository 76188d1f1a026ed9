//! Shared service halls over the API: the public directory, the 15-minute
//! circle, the coverage figure and the administrators' registry edits.

use crate::AppState;
use crate::api::body::JsonObject;
use crate::app::halls::{self, Entry, Listed, Reached};
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::hall::{Business, Hall, Mode, OpenState};
use onestop_domain::timefmt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How long a public answer may be cached.
const PUBLIC_CACHE: &str = "public, max-age=60";

/// A hall as the directory serves it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HallResource {
    #[serde(flatten)]
    pub hall: Hall,
    #[schema(example = "曾都区")]
    pub district_name: String,
    /// Open at the moment of the answer (official calendar, opening hours).
    pub open_now: bool,
    /// While open: when it closes (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_until: Option<String>,
    /// While closed: when it next opens, within 30 days (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_open_at: Option<String>,
    /// `false` once withdrawn from the directory (administrators only see it).
    pub active: bool,
    pub version: i64,
    pub updated_at: String,
}

fn resource(state: &AppState, l: &Listed) -> HallResource {
    let at = |s: i64| timefmt::format(timefmt::from_ms(s * 1000, state.offset));
    let (open_now, open_until, next_open_at) = match l.open {
        OpenState::Open { until } => (true, Some(at(until)), None),
        OpenState::Closed { next } => (false, None, next.map(at)),
    };
    let e: &Entry = &l.entry;
    HallResource {
        district_name: state
            .config
            .district(&e.hall.district_code)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        hall: e.hall.clone(),
        open_now,
        open_until,
        next_open_at,
        active: e.active,
        version: e.version,
        updated_at: timefmt::format(timefmt::from_ms(e.updated_at_ms, state.offset)),
    }
}

fn cached<T: Serialize>(body: T) -> Response {
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PUBLIC_CACHE),
    );
    r
}

/// The directory's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// A configured district code (`421303`).
    #[param(max_length = 20)]
    pub district: Option<String>,
    /// A configured service (`water`, `power`, `gas`, `heat`, `network`).
    #[param(max_length = 20)]
    pub service: Option<String>,
    /// `consult` | `pay` | `apply` | `query` | `transfer` | `change` | `invoice`.
    #[param(max_length = 20)]
    pub business: Option<String>,
}

fn business_of(v: Option<&str>) -> Result<Option<Business>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(b) => Business::parse(b).map(Some).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "business",
                FieldCode::UnknownValue,
                "没有这种业务类型",
            )])
        }),
    }
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The halls listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct HallList {
    pub items: Vec<HallResource>,
}

/// The public directory of shared service halls (no sign-in; cached for a
/// minute): each hall's signage data — name, kind, address, telephone,
/// opening hours, channels, services and the business offered for each —
/// and whether it is open now. Filter by district, service and business.
#[utoipa::path(
    get, path = "/api/v1/halls", params(DirectoryQuery),
    responses(
        (status = 200, body = HallList),
        (status = 400, body = ErrorBody, description = "malformed_query (a parameter given twice, or not text)"),
        (status = 422, body = ErrorBody, description = "unknown district, service or business")
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<DirectoryQuery>,
) -> Result<Response, ApiError> {
    let filter = halls::Filter {
        district: text(&q.district),
        service: text(&q.service),
        business: business_of(q.business.as_deref())?,
    };
    let items = halls::directory(&state, &filter).await?;
    Ok(cached(HallList {
        items: items.iter().map(|l| resource(&state, l)).collect(),
    }))
}

/// One hall of the directory (no sign-in; cached for a minute).
#[utoipa::path(
    get, path = "/api/v1/halls/{hall}", params(("hall" = String, Path, max_length = 40, description = "the hall's code")),
    responses(
        (status = 200, body = HallResource),
        (status = 400, body = ErrorBody, description = "malformed_query"),
        (status = 404, body = ErrorBody, description = "not_found")
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    if !onestop_domain::hall::code_is_valid(&code) {
        return Err(ApiError::not_found());
    }
    let l = halls::one(&state, &caller, &code).await?;
    Ok(cached(resource(&state, &l)))
}

/// Where someone is and what they need.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearbyParams {
    /// Latitude (WGS-84), inside the city; with `lng`.
    #[param(value_type = Option<f64>)]
    pub lat: Option<String>,
    /// Longitude (WGS-84), inside the city; with `lat`.
    #[param(value_type = Option<f64>)]
    pub lng: Option<String>,
    /// Instead of `lat`/`lng`: a district code, whose centre is taken.
    #[param(max_length = 20)]
    pub district: Option<String>,
    /// A configured service.
    #[param(max_length = 20)]
    pub service: Option<String>,
    /// A business (`pay`, `consult`, …).
    #[param(max_length = 20)]
    pub business: Option<String>,
    /// `walk` (default) or `drive`.
    #[param(max_length = 10)]
    pub mode: Option<String>,
}

/// A hall reached from the place asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReachedHall {
    pub hall: HallResource,
    /// Straight-line distance, metres.
    pub distance_m: u64,
    /// Estimated travel minutes (rounded up).
    pub minutes: u32,
}

/// The nearest hall offering a service, wherever it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestHall {
    #[schema(example = "gas")]
    pub service: String,
    /// Absent when no hall offers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest: Option<ReachedHall>,
    /// Whether the nearest is within the circle.
    pub within: bool,
}

/// The 15-minute circle's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyAnswer {
    pub lat: f64,
    pub lng: f64,
    pub mode: Mode,
    /// The circle's size in minutes.
    pub minutes: f64,
    /// Halls within the circle offering what was asked, nearest first.
    pub items: Vec<ReachedHall>,
    /// Per service (only the one asked, when `service` is given), the
    /// nearest hall offering it.
    pub nearest: Vec<NearestHall>,
    /// How the minutes are estimated.
    #[schema(example = "按直线距离×绕行系数1.3、步行4.5公里/小时估算，仅供参考")]
    pub estimate: String,
}

fn reached(state: &AppState, r: &Reached) -> ReachedHall {
    ReachedHall {
        hall: resource(state, &r.listed),
        distance_m: r.distance_m.round() as u64,
        minutes: r.minutes.ceil() as u32,
    }
}

/// The 15-minute service circle (15分钟办事圈), public: the halls reachable
/// within the configured minutes from a place (`lat`/`lng`, or a district's
/// centre) on foot or by car, offering a service and business if asked, and
/// the nearest hall per service. Travel time is an estimate from the
/// straight-line distance times a detour factor at the configured speed.
#[utoipa::path(
    get, path = "/api/v1/halls/nearby", params(NearbyParams),
    responses(
        (status = 200, body = NearbyAnswer),
        (status = 400, body = ErrorBody, description = "malformed_query (a parameter given twice, or not text)"),
        (status = 422, body = ErrorBody, description = "no place given, a place outside the city, unknown service, business or mode")
    )
)]
pub async fn nearby(
    State(state): State<AppState>,
    Query(q): Query<NearbyParams>,
) -> Result<Response, ApiError> {
    let query = halls::nearby_query(
        &state,
        q.lat.as_deref(),
        q.lng.as_deref(),
        q.district.as_deref(),
        q.service.as_deref(),
        q.business.as_deref(),
        q.mode.as_deref(),
    )?;
    let a = halls::nearby(&state, query).await?;
    Ok(cached(NearbyAnswer {
        lat: a.query.lat,
        lng: a.query.lng,
        mode: a.query.mode,
        minutes: a.circle_minutes,
        items: a.within.iter().map(|r| reached(&state, r)).collect(),
        nearest: a
            .nearest
            .iter()
            .map(|(s, r)| NearestHall {
                service: s.clone(),
                within: r.as_ref().is_some_and(|r| r.minutes <= a.circle_minutes),
                nearest: r.as_ref().map(|r| reached(&state, r)),
            })
            .collect(),
        estimate: halls::estimate_text(&state, a.query.mode),
    }))
}

/// The coverage figure's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageParams {
    /// `walk` (default) or `drive`.
    #[param(max_length = 10)]
    pub mode: Option<String>,
    /// Count only halls offering this business (any, when absent).
    #[param(max_length = 20)]
    pub business: Option<String>,
}

/// A sample point with no hall within the circle.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapView {
    pub lat: f64,
    pub lng: f64,
    /// Minutes to the nearest hall offering the service; absent if none does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
}

/// One service's coverage of a district.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceCoverageView {
    pub service: String,
    pub covered_points: usize,
    /// Covered share in per mille (0–1000).
    pub covered_permille: u32,
    /// The worst gaps (farthest first, at most 12).
    pub gaps: Vec<GapView>,
}

/// One district's coverage.
#[derive(Debug, Serialize, ToSchema)]
pub struct DistrictCoverageView {
    pub district_code: String,
    pub district_name: String,
    /// Sample points (a grid over the district's extent).
    pub points: usize,
    pub services: Vec<ServiceCoverageView>,
}

/// The coverage answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageView {
    pub mode: Mode,
    pub minutes: f64,
    /// Grid spacing, metres.
    pub grid_step_m: f64,
    pub districts: Vec<DistrictCoverageView>,
}

/// Planning figure (supervisors and administrators): per district, the share
/// of sample points (a grid over the district's extent) that have a hall
/// offering each service within the circle, and the worst gaps.
#[utoipa::path(
    get, path = "/api/v1/halls/coverage", params(CoverageParams),
    security(("session" = [])),
    responses(
        (status = 200, body = CoverageView),
        (status = 422, body = ErrorBody, description = "unknown mode or business")
    )
)]
pub async fn coverage(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<CoverageParams>,
) -> Result<Json<CoverageView>, ApiError> {
    let mode = match q.mode.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Mode::Walk,
        Some(m) => Mode::parse(m).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "mode",
                FieldCode::UnknownValue,
                "出行方式为步行或驾车",
            )])
        })?,
    };
    let business = business_of(q.business.as_deref())?;
    let list = halls::coverage(&state, &caller, mode, business).await?;
    Ok(Json(CoverageView {
        mode,
        minutes: state.config.service_circle.minutes,
        grid_step_m: state.config.service_circle.grid_step_m,
        districts: list
            .into_iter()
            .map(|d| DistrictCoverageView {
                district_name: state
                    .config
                    .district(&d.district)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                district_code: d.district,
                points: d.points,
                services: d
                    .services
                    .into_iter()
                    .map(|(service, covered, gaps)| ServiceCoverageView {
                        covered_permille: onestop_domain::hall::permille(covered, d.points),
                        service,
                        covered_points: covered,
                        gaps: gaps
                            .into_iter()
                            .map(|g| GapView {
                                lat: g.lat,
                                lng: g.lng,
                                minutes: g.minutes.map(|m| m.ceil() as u32),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// A hall to register or change: the hall's fields as
/// [`HallResource`] shows them (`hours` per weekday `mon`…`sun`, or
/// `workdays`/`weekend`), plus `version` (and optionally `active`) on a change.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "code": "zd-nanguan", "name": "南关社区便民服务点", "kind": "community_point",
    "district_code": "421303", "address": "曾都区南关街道", "lng": 113.37, "lat": 31.70,
    "phone": "0722-3200009", "hours": {"workdays": "08:30-12:00,14:30-17:30"},
    "channels": ["staffed"], "services": [{"service": "water", "business": ["consult", "pay"]}]
}))]
pub struct HallRequest {
    /// 2–40 of `a-z`, `0-9`, `-`.
    #[schema(
        min_length = 2,
        max_length = 40,
        pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
    )]
    pub code: String,
    #[schema(min_length = 2, max_length = 60)]
    pub name: String,
    pub kind: onestop_domain::hall::HallKind,
    #[schema(max_length = 20)]
    pub district_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    pub example: Option<bool>,
    pub lng: f64,
    pub lat: f64,
    pub phone: String,
    #[schema(value_type = Object)]
    pub hours: serde_json::Value,
    pub closed_on_holidays: Option<bool>,
    pub channels: Vec<onestop_domain::hall::HallChannel>,
    pub services: Vec<onestop_domain::hall::HallService>,
    /// On a change: the version read.
    pub version: Option<i64>,
    /// On a change: `false` withdraws the hall from the directory.
    pub active: Option<bool>,
}

fn listed(state: &AppState, e: Entry) -> Listed {
    Listed {
        open: halls::open_state(state, &e.hall, state.now_ms()),
        entry: e,
    }
}

/// Register a hall (administrators). Every change is audited and kept in the
/// hall's change log.
#[utoipa::path(
    post, path = "/api/v1/halls", request_body = HallRequest,
    security(("session" = [])),
    responses(
        (status = 201, body = HallResource, headers(("Location" = String))),
        (status = 400, body = ErrorBody, description = "malformed_body"),
        (status = 422, body = ErrorBody, description = "validation_failed (already_exists at code for a taken code)")
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let e = halls::create(&state, &caller, body.value).await?;
    let mut h = HeaderMap::new();
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/halls/{}", e.hall.code)) {
        h.insert(header::LOCATION, loc);
    }
    let body = resource(&state, &listed(&state, e));
    Ok((StatusCode::CREATED, h, Json(body)).into_response())
}

/// Change a hall (administrators): the whole hall as on registration, with
/// the `version` read; `active: false` withdraws it from the directory (it
/// stays registered), `true` restores it. The code cannot change.
#[utoipa::path(
    put, path = "/api/v1/halls/{hall}", params(("hall" = String, Path, max_length = 40, description = "the hall's code")),
    request_body = HallRequest,
    security(("session" = [])),
    responses(
        (status = 200, body = HallResource),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "stale_version"),
        (status = 422, body = ErrorBody, description = "validation_failed")
    )
)]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(code): Path<String>,
    body: JsonObject,
) -> Result<Json<HallResource>, ApiError> {
    if !caller
        .subject
        .may(onestop_domain::access::Capability::ManageHalls)
    {
        return Err(crate::auth::forbidden());
    }
    if !onestop_domain::hall::code_is_valid(&code) {
        return Err(ApiError::not_found());
    }
    let mut obj = body.value;
    let mut errors = Vec::new();
    let version = match obj.remove("version") {
        Some(serde_json::Value::Number(n)) if n.as_i64().is_some_and(|v| v >= 1) => n.as_i64(),
        None | Some(serde_json::Value::Null) => {
            errors.push(FieldError::new(
                "version",
                FieldCode::Required,
                "请提供读取时的版本号",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "version",
                FieldCode::InvalidFormat,
                "版本号应为正整数",
            ));
            None
        }
    };
    let active = match obj.remove("active") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Bool(b)) => Some(b),
        Some(_) => {
            errors.push(FieldError::new(
                "active",
                FieldCode::InvalidFormat,
                "应为 true 或 false",
            ));
            None
        }
    };
    if let Some(c) = obj.get("code")
        && c.as_str() != Some(code.as_str())
    {
        errors.push(FieldError::new(
            "code",
            FieldCode::NotAllowed,
            "营业厅编号不能修改",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let current = halls::registry(&state)
        .await?
        .get(&code)
        .map(|e| e.active)
        .ok_or_else(ApiError::not_found)?;
    let e = halls::update(
        &state,
        &caller,
        &code,
        version.unwrap_or(0),
        active.unwrap_or(current),
        obj,
    )
    .await?;
    Ok(Json(resource(&state, &listed(&state, e))))
}
