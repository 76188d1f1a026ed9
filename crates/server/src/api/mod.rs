//! The partner-facing JSON API, v1 (`spec/API.md`).

pub mod application_form;
pub mod appointment;
pub mod body;
pub mod doc;
pub mod query;

pub mod notifications;
pub mod settings;

pub mod approvals;
pub mod board;
pub mod halls;
pub mod reminders;

pub mod counter;
pub mod ratings;

pub mod work_orders;

pub mod billing;
pub mod pre_registrations;

pub mod documents;
pub mod fees;

use crate::AppState;
use crate::app::applications::{self, Submitted};
use crate::auth::{ApiCaller, forbidden};
use crate::error::{ApiError, ErrorBody};
use crate::texts;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use billing::Paths as BillingPaths;
use body::JsonObject;
use doc::{Conventions, Security};
use documents::Paths as DocumentsPaths;
use fees::Paths as FeesPaths;
use onestop_domain::access::{Capability, Visibility};
use onestop_domain::application::{Application, ApplicationStatus};
use onestop_domain::calendar::DayInfo;
use onestop_domain::form::{ApplicationForm, FieldCode, FieldError};
use onestop_domain::timefmt;
use onestop_store::applications::ListFilter;
use onestop_store::idempotency::SavedResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onestop API",
        version = "1",
        description = "水电气网暖联动报装 — joint utility connection. Errors are always \
                       `{\"error\": {\"code\", \"message\", \"fields\"?}}`; writes accept \
                       `Idempotency-Key`."
    ),
    paths(
        healthz,
        readyz,
        create_application,
        get_application,
        list_applications,
        work_orders::list_work_orders,
        work_orders::get_work_order,
        work_orders::post_action,
        work_orders::post_actions,
        work_orders::post_cancel,
        work_orders::post_survey,
        appointment::post_appointment,
        approvals::post_case,
        approvals::post_decision,
        approvals::get_case,
        approvals::post_resubmission,
        approvals::list_items,
        notifications::list_api,
        reminders::post_reminder,
        reminders::get_reminders,
        reminders::post_acknowledgement,
        notifications::read_api,
        settings::get_api,
        settings::put_api,
        board::get_board,
        halls::list,
        halls::get_one,
        halls::nearby,
        halls::coverage,
        halls::create,
        halls::update,
        counter::post_consultation,
        counter::list_consultations,
        counter::get_consultation,
        counter::post_ticket,
        counter::get_queue,
        counter::post_call,
        counter::post_finish,
        ratings::post_rating,
        ratings::get_rating,
        ratings::list_follow_ups,
        ratings::get_follow_up,
        ratings::post_response,
        pre_registrations::create,
        pre_registrations::list,
        pre_registrations::get_one,
        pre_registrations::post_visit,
        pre_registrations::post_plan,
        pre_registrations::post_material,
        pre_registrations::get_material,
        calendar_day,
        calendar_deadline
    ),
    modifiers(&BillingPaths, &DocumentsPaths, &FeesPaths, &Security, &Conventions),
    components(schemas(
        ErrorBody,
        Application,
        ApplicationForm,
        ApplicationList,
        work_orders::WorkOrderList,
        crate::app::workorders::BatchResult,
        crate::app::workorders::BatchResults,
        onestop_domain::application::WorkOrderItem,
        onestop_domain::application::Survey,
        crate::app::approvals::CaseView,
        crate::app::approvals::ItemView,
        crate::app::approvals::DecisionView,
        crate::app::approvals::RevisionView,
        crate::app::approvals::InboxItem,
        approvals::InboxList,
        crate::app::notifications::NotificationView,
        crate::app::reminders::ReminderView,
        crate::app::notifications::NotificationList,
        crate::app::settings::NotificationSettings,
        crate::app::board::Board,
        crate::app::board::LevelCounts,
        crate::app::board::StageOpen,
        crate::app::board::UnitOpen,
        crate::app::board::OpenFigures,
        crate::app::board::OverdueOrder,
        crate::app::board::StageFigures,
        crate::app::board::UnitFigures,
        crate::app::board::UnitFees,
        crate::app::board::TrendPoint,
        crate::app::board::PeriodView,
        crate::app::board::FilterView,
        crate::app::board::PreRegistrationFigures,
        halls::HallResource,
        halls::HallList,
        halls::ReachedHall,
        halls::NearestHall,
        halls::NearbyAnswer,
        halls::GapView,
        halls::ServiceCoverageView,
        halls::DistrictCoverageView,
        halls::CoverageView,
        halls::HallRequest,
        onestop_domain::hall::Hall,
        onestop_domain::hall::HallKind,
        onestop_domain::hall::HallChannel,
        onestop_domain::hall::HallService,
        onestop_domain::hall::Business,
        onestop_domain::hall::Mode,
        DayInfo,
        Deadline,
        crate::app::counter::ConsultationView,
        crate::app::counter::CustomerView,
        crate::app::counter::TicketView,
        crate::app::counter::QueueView,
        crate::app::counter::CallView,
        crate::app::counter::WindowFigures,
        crate::app::counter::HallFigures,
        crate::app::counter::HallDayFigures,
        crate::app::counter::UnitWindowFigures,
        crate::app::counter::ServiceConsultations,
        crate::app::counter::Satisfaction,
        counter::ConsultationList,
        crate::app::follow_ups::FollowUpView,
        crate::app::ratings::RatingView,
        ratings::FollowUpList,
        pre_registrations::PreRegistrationRequest,
        pre_registrations::PreRegistrationList,
        pre_registrations::RegistrationMaterialUpload,
        crate::app::pre_registrations::PreRegistrationView,
        crate::app::pre_registrations::UnitRef,
        crate::app::pre_registrations::VisitView,
        crate::app::pre_registrations::PlanView,
        crate::app::pre_registrations::LinkedApplication
    ))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(documents::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/notifications", get(notifications::list_api))
        .route(
            "/api/v1/notifications/read",
            axum::routing::post(notifications::read_api),
        )
        .route(
            "/api/v1/account/notification-settings",
            get(settings::get_api).put(settings::put_api),
        )
        .route(
            "/api/v1/applications",
            get(list_applications).post(create_application),
        )
        .route("/api/v1/applications/{id}", get(get_application))
        .route(
            "/api/v1/applications/{id}/cancel",
            axum::routing::post(work_orders::post_cancel),
        )
        .route(
            "/api/v1/applications/{id}/survey",
            axum::routing::post(work_orders::post_survey),
        )
        .route(
            "/api/v1/applications/{id}/appointment",
            axum::routing::post(appointment::post_appointment),
        )
        .route(
            "/api/v1/applications/{id}/approval-case",
            axum::routing::post(approvals::post_case),
        )
        .route("/api/v1/approval-cases/{id}", get(approvals::get_case))
        .route(
            "/api/v1/approval-cases/{id}/resubmission",
            axum::routing::post(approvals::post_resubmission),
        )
        .route("/api/v1/approval-items", get(approvals::list_items))
        .route(
            "/api/v1/approval-items/{id}/decision",
            axum::routing::post(approvals::post_decision),
        )
        .route("/api/v1/work-orders", get(work_orders::list_work_orders))
        .route(
            "/api/v1/work-orders/actions",
            axum::routing::post(work_orders::post_actions),
        )
        .route("/api/v1/work-orders/{id}", get(work_orders::get_work_order))
        .route(
            "/api/v1/work-orders/{id}/reminders",
            get(reminders::get_reminders).post(reminders::post_reminder),
        )
        .route(
            "/api/v1/reminders/{id}/acknowledgement",
            axum::routing::post(reminders::post_acknowledgement),
        )
        .route(
            "/api/v1/work-orders/{id}/actions",
            axum::routing::post(work_orders::post_action),
        )
        .route("/api/v1/board", get(board::get_board))
        .route("/api/v1/halls", get(halls::list).post(halls::create))
        .route("/api/v1/halls/nearby", get(halls::nearby))
        .route("/api/v1/halls/coverage", get(halls::coverage))
        .route(
            "/api/v1/halls/{hall}",
            get(halls::get_one).put(halls::update),
        )
        .route(
            "/api/v1/consultations",
            get(counter::list_consultations).post(counter::post_consultation),
        )
        .route("/api/v1/consultations/{id}", get(counter::get_consultation))
        .route(
            "/api/v1/halls/{hall}/tickets",
            axum::routing::post(counter::post_ticket),
        )
        .route("/api/v1/halls/{hall}/queue", get(counter::get_queue))
        .route(
            "/api/v1/halls/{hall}/queue/call",
            axum::routing::post(counter::post_call),
        )
        .route(
            "/api/v1/tickets/{id}/finish",
            axum::routing::post(counter::post_finish),
        )
        .route("/api/v1/ratings", axum::routing::post(ratings::post_rating))
        .route("/api/v1/ratings/{id}", get(ratings::get_rating))
        .route("/api/v1/follow-ups", get(ratings::list_follow_ups))
        .route("/api/v1/follow-ups/{id}", get(ratings::get_follow_up))
        .route(
            "/api/v1/follow-ups/{id}/response",
            axum::routing::post(ratings::post_response),
        )
        .route(
            "/api/v1/pre-registrations",
            get(pre_registrations::list).post(pre_registrations::create),
        )
        .route(
            "/api/v1/pre-registrations/{id}",
            get(pre_registrations::get_one),
        )
        .route(
            "/api/v1/pre-registrations/{id}/visits",
            axum::routing::post(pre_registrations::post_visit),
        )
        .route(
            "/api/v1/pre-registrations/{id}/plans",
            axum::routing::post(pre_registrations::post_plan),
        )
        .route(
            "/api/v1/pre-registrations/{id}/materials",
            axum::routing::post(pre_registrations::post_material)
                // The upload bounds itself as it arrives (`[materials]`).
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/pre-registrations/{id}/materials/{sha256}",
            get(pre_registrations::get_material),
        )
        .route("/api/v1/calendar/days/{date}", get(calendar_day))
        .route("/api/v1/calendar/deadline", get(calendar_deadline))
        .route("/api/v1/billing/accounts", get(billing::get_accounts))
        .route(
            "/api/v1/billing/accounts/{unit}/{account_no}/bills",
            get(billing::get_bills),
        )
        .route(
            "/api/v1/billing/payments",
            get(billing::get_payments).post(billing::post_payment),
        )
        .route("/api/v1/billing/payments/{id}", get(billing::get_payment))
        .route(
            "/api/v1/billing/reconciliations",
            get(billing::get_reconciliations).post(billing::post_reconciliation),
        )
        .route(
            "/api/v1/billing/reconciliations/{id}",
            get(billing::get_reconciliation),
        )
        .route(
            "/api/v1/work-orders/{id}/costs",
            get(fees::get_costs).post(fees::post_cost),
        )
        .route(
            "/api/v1/work-orders/{id}/costs/{cost_id}",
            axum::routing::delete(fees::delete_cost),
        )
        .route(
            "/api/v1/work-orders/{id}/fee-exceptions",
            axum::routing::post(fees::post_exception),
        )
        .route("/api/v1/fee-exceptions", get(fees::list_exceptions))
}

/// The answer to an API path that does not exist.
pub fn no_such_path() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", texts::api::NO_SUCH_PATH).into_response()
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
}

/// The process is running.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(Health { status: "ok" }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                texts::api::NOT_READY,
            )
            .into_response()
        }
    }
}

/// The OpenAPI document, with the city's process definition (action codes
/// and their data fields) filled in.
async fn openapi(State(state): State<AppState>) -> Response {
    let mut doc = ApiDoc::openapi();
    doc::for_city(&mut doc, &state.config);
    Json(doc).into_response()
}

pub(crate) fn saved_response(saved: SavedResponse) -> Response {
    let status = StatusCode::from_u16(saved.status_code).unwrap_or(StatusCode::OK);
    let mut res = (status, saved.body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(loc) = saved.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc);
    }
    res
}

fn created(id: &str, body: String) -> Response {
    let mut res = (StatusCode::CREATED, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(loc) = HeaderValue::from_str(&applications::location_of(id)) {
        h.insert(header::LOCATION, loc);
    }
    res
}

/// Submit a joint application (附表2): one work order per chosen service and carrier.
#[utoipa::path(
    post, path = "/api/v1/applications",
    request_body = application_form::ApplicationRequest,
    params(doc::IdempotencyHeader),
    responses(
        (status = 201, body = Application, headers(("Location" = String))),
        (status = 400, body = ErrorBody, description = "malformed_body"),
        (status = 409, body = ErrorBody, description = "idempotency_conflict, calendar_year_missing"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 422, body = ErrorBody, description = "validation_failed, with fields"),
    )
)]
async fn create_application(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if !caller.subject.may(Capability::SubmitApplication) {
        return Err(forbidden());
    }
    let key = body.idempotency_key()?;
    if let Some(key) = &key
        && let Some(saved) = applications::replay(&state, key).await?
    {
        return Ok(saved_response(saved));
    }
    let value = body.into_value();
    let form = applications::validate(&state, &value).map_err(ApiError::validation)?;
    applications::check_submitter(&caller.subject, &form).map_err(ApiError::validation)?;
    match applications::submit(&state, form, &caller, key).await? {
        Submitted::Created { application, body } => Ok(created(&application.id, body)),
        Submitted::Replayed(saved) => Ok(saved_response(saved)),
    }
}

/// One application with its work orders.
#[utoipa::path(
    get, path = "/api/v1/applications/{id}",
    params(("id" = String, Path)),
    responses((status = 200, body = Application))
)]
async fn get_application(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Application>, ApiError> {
    if !caller.subject.may(Capability::ReadApplications) {
        return Err(forbidden());
    }
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    applications::read_application(&state, &caller, id)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Unified social credit code of the applicant (any case).
    #[param(max_length = 64)]
    uscc: Option<String>,
    #[param(value_type = Option<ApplicationStatus>)]
    status: Option<String>,
    #[param(max_length = 64)]
    district_code: Option<String>,
    #[param(max_length = 64)]
    project_code: Option<String>,
    /// Submitted on or after this date (city time).
    #[param(format = Date)]
    submitted_from: Option<String>,
    /// Submitted on or before this date (city time).
    #[param(format = Date)]
    submitted_to: Option<String>,
    /// 1-based page number, at most 100; deeper pages are read by `cursor`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page: Option<String>,
    /// Items per page, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
    /// The `next_cursor` of the previous page (instead of `page`).
    #[param(max_length = 1024, pattern = r"^[0-9A-Fa-f]+$")]
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    items: Vec<Application>,
    /// The next page's number while it is at most 100, else null.
    next_page: Option<u32>,
    /// Where the next page starts (pass it as `cursor`); null on the last page.
    next_cursor: Option<String>,
}

/// A `YYYY-MM-DD` value, or a field error naming `name`.
pub(crate) fn parse_ymd(
    name: &str,
    value: &str,
    errors: &mut Vec<FieldError>,
) -> Option<time::Date> {
    let d = onestop_domain::timefmt::parse_date(value);
    if d.is_none() {
        errors.push(FieldError::new(
            name,
            FieldCode::InvalidFormat,
            texts::common::DATE_FORMAT,
        ));
    }
    d
}

fn parse_date_param(
    state: &AppState,
    name: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<time::OffsetDateTime> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    parse_ymd(name, value, errors).map(|d| d.midnight().assume_offset(state.offset))
}

/// Applications, newest first, filtered and paged.
#[utoipa::path(
    get, path = "/api/v1/applications", params(ListQuery),
    responses((status = 200, body = ApplicationList))
)]
async fn list_applications(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<ApplicationList>, ApiError> {
    if !caller.subject.may(Capability::ReadApplications) {
        return Err(forbidden());
    }
    let mut errors = Vec::new();
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match ApplicationStatus::parse(s) {
            Some(v) => Some(v),
            None => {
                errors.push(FieldError::new(
                    "status",
                    FieldCode::UnknownValue,
                    texts::api::STATUS_UNKNOWN,
                ));
                None
            }
        },
    };
    let per_page = query::parse_page("per_page", q.per_page.as_deref(), 20, 100, &mut errors);
    let at = query::page_at(
        q.page.as_deref(),
        q.cursor.as_deref(),
        &onestop_store::applications::ORDER,
        &mut errors,
    );
    let from = parse_date_param(
        &state,
        "submitted_from",
        q.submitted_from.as_deref(),
        &mut errors,
    );
    let to = parse_date_param(
        &state,
        "submitted_to",
        q.submitted_to.as_deref(),
        &mut errors,
    );
    let mut clean = |name: &str, v: Option<String>| {
        let v = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())?;
        if v.chars().count() > 64 {
            errors.push(FieldError::new(
                name,
                FieldCode::TooLong,
                texts::api::FILTER_TOO_LONG,
            ));
            return None;
        }
        Some(v)
    };
    let uscc = clean("uscc", q.uscc).map(|s| s.to_uppercase());
    let district_code = clean("district_code", q.district_code);
    let project_code = clean("project_code", q.project_code);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let filter = ListFilter {
        uscc,
        number: None,
        contact_phone: None,
        status,
        district_code,
        project_code,
        submitted_from_ms: from.map(timefmt::to_ms),
        submitted_to_ms: to.map(|t| timefmt::to_ms(t + time::Duration::days(1))),
        at,
        per_page,
        visibility: Visibility::nothing(),
    };
    let result = applications::list(&state, &caller, filter).await?;
    Ok(Json(ApplicationList {
        items: result.items,
        next_page: result.next_page,
        next_cursor: result.next_cursor.map(|c| c.encode()),
    }))
}

/// Is this date a working day on the official calendar?
#[utoipa::path(
    get, path = "/api/v1/calendar/days/{date}",
    params(("date" = String, Path, format = Date, description = "YYYY-MM-DD")),
    responses(
        (status = 200, body = DayInfo),
        (status = 409, body = ErrorBody, description = "calendar_year_missing"),
        (status = 422, body = ErrorBody, description = "the date is not YYYY-MM-DD"),
    )
)]
async fn calendar_day(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(date): Path<String>,
) -> Result<Json<DayInfo>, ApiError> {
    if !caller.subject.may(Capability::ReadCalendar) {
        return Err(forbidden());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(date.trim(), &fmt).map_err(|_| {
        ApiError::validation(vec![FieldError::new(
            "date",
            FieldCode::InvalidFormat,
            texts::api::CALENDAR_DATE_FORMAT,
        )])
    })?;
    Ok(Json(state.clock.get().calendar().day(date)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    /// RFC 3339 instant, e.g. `2026-11-27T16:00:00+08:00`.
    #[param(value_type = String, format = DateTime, required = true)]
    from: Option<String>,
    /// Working days to add (may be fractional, e.g. 0.5).
    #[param(value_type = f64, minimum = 0, maximum = 365, required = true)]
    working_days: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Deadline {
    from: String,
    working_days: f64,
    due_at: String,
}

/// N working days from an instant, on the official calendar and working hours.
#[utoipa::path(
    get, path = "/api/v1/calendar/deadline", params(DeadlineQuery),
    responses(
        (status = 200, body = Deadline),
        (status = 409, body = ErrorBody, description = "calendar_year_missing"),
    )
)]
async fn calendar_deadline(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<DeadlineQuery>,
) -> Result<Json<Deadline>, ApiError> {
    if !caller.subject.may(Capability::ReadCalendar) {
        return Err(forbidden());
    }
    let mut errors = Vec::new();
    let from = match q.from.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push(FieldError::new(
                "from",
                FieldCode::Required,
                texts::api::DEADLINE_FROM_MISSING,
            ));
            None
        }
        Some(s) => match timefmt::parse(s) {
            Some(t) => Some(t),
            None => {
                errors.push(FieldError::new(
                    "from",
                    FieldCode::InvalidFormat,
                    texts::api::DEADLINE_FROM_FORMAT,
                ));
                None
            }
        },
    };
    let days = match q
        .working_days
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => {
            errors.push(FieldError::new(
                "working_days",
                FieldCode::Required,
                texts::api::WORKING_DAYS_MISSING,
            ));
            None
        }
        Some(s) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() && (0.0..=365.0).contains(&n) => Some(n),
            Ok(_) => {
                errors.push(FieldError::new(
                    "working_days",
                    FieldCode::OutOfRange,
                    texts::api::WORKING_DAYS_RANGE,
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "working_days",
                    FieldCode::InvalidFormat,
                    texts::api::WORKING_DAYS_FORMAT,
                ));
                None
            }
        },
    };
    let (Some(from), Some(days)) = (from, days) else {
        return Err(ApiError::validation(errors));
    };
    let due = state.clock.get().add_working_days(from, days)?;
    Ok(Json(Deadline {
        from: timefmt::format(from.to_offset(state.offset)),
        working_days: days,
        due_at: timefmt::format(due.to_offset(state.offset)),
    }))
}
