//! The correction page (补正): a returned order's service section and the
//! contact, as filed, on the application form's own fields; resubmitting
//! sends what was changed and returns to the application.

use super::{
    ApplyFields, ApplyPage, EQUIPMENT, Failure, MIN_EQUIPMENT_ROWS, compact_rows, failure_page,
    form_to_json, not_found_page, remap_equipment_row, respond, split_pairs,
};
use crate::AppState;
use crate::app::corrections::{self, Returned};
use crate::auth::Caller;
use crate::texts;
use crate::web::form::PageForm;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use serde_json::Value;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/work-orders/{id}/correction",
            get(correction_form).post(correction_submit),
        )
        .merge(cancel_routes())
}

/// What the form shows while correcting.
#[derive(Debug, Clone)]
pub(super) struct CorrectionView {
    pub order_id: String,
    pub application_id: String,
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub unit: String,
    pub reason: Option<String>,
}

fn view(state: &AppState, r: &Returned) -> CorrectionView {
    let o = &r.order.item.order;
    CorrectionView {
        order_id: o.id.clone(),
        application_id: r.order.item.application_id.clone(),
        number: r.order.item.application_number.clone(),
        service: o.service.clone(),
        service_name: state
            .config
            .service(&o.service)
            .map_or_else(|| o.service.clone(), |s| s.name.clone()),
        unit: o.unit.name.clone(),
        reason: r.reason.clone(),
    }
}

/// A page for correcting `r`, with `values` as the fields show them.
fn page(
    state: &AppState,
    caller: &Caller,
    r: &Returned,
    values: HashMap<String, String>,
    mut multi: HashMap<String, Vec<String>>,
    rows: usize,
) -> ApplyPage {
    let mut p = ApplyPage::new(state, caller);
    let v = view(state, r);
    multi.insert("services".into(), vec![v.service.clone()]);
    p.window = None;
    p.values = values;
    p.multi = multi;
    p.chosen = true;
    p.equipment_rows = rows.max(MIN_EQUIPMENT_ROWS);
    p.token = String::new();
    p.correction = Some(v);
    p
}

/// The form's values of one service section and the contact, as filed.
fn filed_values(r: &Returned) -> (HashMap<String, String>, HashMap<String, Vec<String>>, usize) {
    let mut values = HashMap::new();
    let mut multi = HashMap::new();
    let mut rows = 0;
    let form = serde_json::to_value(&r.form).unwrap_or_default();
    let service = &r.order.item.order.service;
    let prefix = format!("services.{service}");
    if let Some(section) = form["services"][service.as_str()].as_object() {
        for (k, v) in section {
            let path = format!("{prefix}.{k}");
            match v {
                Value::Array(items) if path == EQUIPMENT => {
                    rows = items.len();
                    for (i, item) in items.iter().enumerate() {
                        for (leaf, x) in item.as_object().into_iter().flatten() {
                            values.insert(format!("{EQUIPMENT}.{i}.{leaf}"), plain(x));
                        }
                    }
                }
                Value::Array(items) => {
                    multi.insert(path, items.iter().map(plain).collect());
                }
                other => {
                    values.insert(path, plain(other));
                }
            }
        }
    }
    values.insert("contact.name".into(), r.form.contact.name.clone());
    values.insert("contact.phone".into(), r.form.contact.phone.clone());
    (values, multi, rows)
}

/// A JSON value as a form field shows it.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        // Whole numbers as typed: `3`, not `3.0`.
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

async fn correction_form(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = super::staff::gate(&caller, &uri, Capability::ReadApplications) {
        return r;
    }
    let r = match corrections::returned(&state, &caller, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let (values, multi, rows) = filed_values(&r);
    let p = page(&state, &caller, &r, values, multi, rows);
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::OK, &p)
}

async fn correction_submit(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm<ApplyFields>,
) -> Response {
    if let Some(r) = super::staff::gate(&caller, &uri, Capability::ReadApplications) {
        return r;
    }
    let r = match corrections::returned(&state, &caller, id.clone()).await {
        Ok(Some(r)) => r,
        // No longer returned (resubmitted meanwhile) or not the caller's.
        Ok(None) => return not_found_page(),
        Err(e) => return failure_page(e),
    };
    let (mut values, mut multi) = split_pairs(form.form.into_pairs());
    let rows = compact_rows(&mut values);
    let service = r.order.item.order.service.clone();
    multi.insert("services".into(), vec![service.clone()]);
    let (json, row_map) = form_to_json(&state, &values, &multi, rows, "web");
    let section = json["services"][service.as_str()].clone();
    let contact = json
        .get("contact")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let version = r.order.item.order.version;
    let app_id = r.order.item.application_id.clone();
    match corrections::resubmit(&state, &caller, id, version, &service, section, contact).await {
        Ok(_) => Redirect::to(&format!("/applications/{app_id}?done=corrected")).into_response(),
        Err(e) => {
            let mut p = page(&state, &caller, &r, values, multi, rows);
            let status = if e.code() == "validation_failed" {
                for f in e.fields() {
                    let field = remap_equipment_row(&f.field, &row_map);
                    p.errors.entry(field).or_insert(f.message);
                }
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                let reason = crate::error::message_of(&e);
                let reason = reason.trim_end_matches(['。', '.']);
                p.failure = Some(texts::fill(
                    texts::apply::NOT_RESUBMITTED,
                    &[("reason", &reason)],
                ));
                e.status()
            };
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, status, &p)
        }
    }
}

// ───────────────────────────── cancelling ─────────────────────────────

/// Cancelling an application (撤销申请): a page of its own, so that the
/// applicant confirms with a reason before anything is withdrawn.
#[derive(askama::Template)]
#[template(path = "cancel.html")]
struct CancelPage {
    nav: super::Nav,
    csrf: String,
    id: String,
    number: String,
    reason: String,
    errors: std::collections::BTreeMap<&'static str, String>,
    failure: Option<String>,
}

pub struct CancelFields;

impl crate::web::form::PageFields for CancelFields {
    fn spec(_state: &AppState) -> crate::web::form::Spec {
        crate::web::form::Spec::new().fields(&["reason", "confirm"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        super::staff::gate(caller, uri, Capability::ReadApplications)
    }
}

pub(super) fn cancel_routes() -> Router<AppState> {
    Router::new().route(
        "/applications/{id}/cancel",
        get(cancel_form).post(cancel_submit),
    )
}

/// The application `id` if the caller may cancel it now.
async fn cancellable(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<Option<onestop_domain::application::Application>, Response> {
    let app = match crate::app::applications::read_application(state, caller, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Err(not_found_page()),
        Err(e) => return Err(failure_page(e)),
    };
    let follow = corrections::follow_up(state, caller, &app, &[]);
    Ok(follow.may_cancel.then_some(app))
}

fn cancel_page(caller: &Caller, app: &onestop_domain::application::Application) -> CancelPage {
    let csrf = caller.csrf_token();
    CancelPage {
        nav: super::Nav::for_caller(caller, &csrf),
        csrf,
        id: app.id.clone(),
        number: app.number.clone(),
        reason: String::new(),
        errors: Default::default(),
        failure: None,
    }
}

async fn cancel_form(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = super::staff::gate(&caller, &uri, Capability::ReadApplications) {
        return r;
    }
    match cancellable(&state, &caller, id.clone()).await {
        Ok(Some(app)) => {
            let p = cancel_page(&caller, &app);
            let csrf = p.csrf.clone();
            respond(&caller, &csrf, StatusCode::OK, &p)
        }
        Ok(None) => Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(r) => r,
    }
}

async fn cancel_submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<CancelFields>,
) -> Response {
    let form = form.map();
    let app = match cancellable(&state, &caller, id.clone()).await {
        Ok(Some(app)) => app,
        Ok(None) => return Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(r) => return r,
    };
    let reason = form.get("reason").map(|r| r.trim()).unwrap_or_default();
    let mut p = cancel_page(&caller, &app);
    p.reason = reason.to_owned();
    if reason.is_empty() {
        p.errors
            .insert("reason", texts::follow_up::CANCEL_REASON.to_owned());
    }
    if form.get("confirm").is_none_or(|c| c != "yes") {
        p.errors
            .insert("confirm", texts::follow_up::CANCEL_CONFIRM.to_owned());
    }
    if p.errors.is_empty() {
        let mut data = serde_json::Map::new();
        data.insert("reason".into(), Value::from(reason));
        let data = crate::app::workorders::ActionData::from_json(&data);
        match crate::app::workorders::cancel_application(&state, &caller, id.clone(), &data).await {
            Ok(_) => {
                return Redirect::to(&format!("/applications/{id}?done=cancelled")).into_response();
            }
            Err(e) if e.code() == "validation_failed" => {
                for f in e.fields() {
                    if f.field == "reason" {
                        p.errors.insert("reason", f.message);
                    }
                }
                if p.errors.is_empty() {
                    p.failure = Some(e.message());
                }
            }
            Err(e) => p.failure = Some(e.message()),
        }
    }
    let csrf = p.csrf.clone();
    respond(&caller, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &p)
}
