//! Fees on the pages (费用明细): the section of the work-order page (the
//! unit's operators add and withdraw items there), the enterprise's
//! read-only view on its application, and the administrator's page of
//! exceptions to the zero-investment rule (`/admin/fee-exceptions`).

use crate::AppState;
use crate::app::error::Error;
use crate::app::fees::{self, ExceptionInput, OrderCosts};
use crate::auth::Caller;
use crate::texts::fees as t;
use crate::web::form::{PageFields, PageForm, Refused, Spec};
use crate::web::staff::service_name;
use crate::web::{Nav, done_note, failure_page, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::fees::red_line_zh;
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::money;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/admin/fee-exceptions",
        get(exceptions_page).post(exception_posted),
    )
}

/// One cost item as a page shows it.
pub(crate) struct CostRow {
    pub(crate) id: String,
    pub(crate) item: String,
    /// `¥1,234.50`.
    pub(crate) amount: String,
    pub(crate) payer: &'static str,
    pub(crate) red_line: &'static str,
    /// Paid by the user outside the red line under the order's exception.
    pub(crate) flagged: bool,
}

/// The costs of one order as a page shows them.
pub(crate) struct CostSection {
    pub(crate) order_id: String,
    /// The order's service and unit (on the application page).
    pub(crate) title: String,
    pub(crate) rows: Vec<CostRow>,
    pub(crate) utility_outside: String,
    pub(crate) user_total: String,
    /// The order's exception, for people (document and reason).
    pub(crate) exception: Option<String>,
}

pub(crate) fn section(state: &AppState, c: &OrderCosts) -> CostSection {
    CostSection {
        order_id: c.work_order_id.clone(),
        title: format!("{} · {}", service_name(state, &c.service), c.unit.name),
        rows: c
            .items
            .iter()
            .map(|i| CostRow {
                id: i.id.clone(),
                item: i.item.clone(),
                amount: money::yuan(i.amount_fen),
                payer: i.payer.label_zh(),
                red_line: red_line_zh(i.outside_red_line),
                flagged: i.flagged,
            })
            .collect(),
        utility_outside: money::yuan(c.totals.utility_outside_red_line_fen),
        user_total: money::yuan(c.totals.user_fen),
        exception: c.exception.as_ref().map(|x| {
            crate::texts::fill(
                crate::texts::common::NAME_WITH_CODE,
                &[("name", &x.document), ("code", &x.reason)],
            )
        }),
    }
}

/// The costs of one order the caller may see, for its page.
pub(crate) async fn of_order(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<CostSection, Error> {
    Ok(section(state, &fees::of_order(state, caller, id).await?))
}

/// The costs of an application's orders (the caller has read the
/// application), orders without items left out.
pub(crate) async fn of_application(
    state: &AppState,
    application_id: String,
) -> Result<Vec<CostSection>, Error> {
    Ok(fees::costs_of_application(state, application_id)
        .await?
        .iter()
        .filter(|c| !c.items.is_empty())
        .map(|c| section(state, c))
        .collect())
}

// ───────────────────────────── exceptions ─────────────────────────────

struct ExceptionRow {
    order_id: String,
    unit: String,
    document: String,
    reason: String,
    recorded_at: String,
    recorded_by: String,
}

#[derive(Template)]
#[template(path = "admin_fee_exceptions.html")]
struct ExceptionsPage {
    nav: Nav,
    csrf: String,
    rows: Vec<ExceptionRow>,
    /// An administrator may record one.
    may_record: bool,
    refused: Refused,
    done: Option<String>,
}

fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
    crate::web::staff::gate(caller, uri, Capability::ReadFeeExceptions)
}

#[derive(serde::Deserialize)]
struct PageQuery {
    done: Option<String>,
    /// The order to record an exception for (from the order's page).
    order: Option<String>,
}

async fn exceptions_page(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = gate(&caller, &uri) {
        return r;
    }
    let done = done_note(q.done.as_deref(), &[("recorded", t::EXCEPTION_RECORDED)]);
    let mut refused = Refused::default();
    if let Some(order) = q.order.filter(|o| !o.is_empty() && o.len() <= 64) {
        // The form starts with the order named (nothing refused).
        refused.form = "exception".to_owned();
        refused.typed.insert("order".to_owned(), order);
    }
    page(&state, &caller, refused, done).await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    refused: Refused,
    done: Option<String>,
) -> Response {
    let list = match fees::list_exceptions(state, caller).await {
        Ok(l) => l,
        Err(e) => return failure_page(e),
    };
    let csrf = caller.csrf_token();
    let p = ExceptionsPage {
        nav: Nav::for_caller(caller, &csrf),
        csrf: csrf.clone(),
        rows: list
            .into_iter()
            .map(|x| ExceptionRow {
                order_id: x.work_order_id,
                unit: x.unit.name,
                document: x.document,
                reason: x.reason,
                recorded_at: onestop_domain::timefmt::parse(&x.recorded_at)
                    .map_or(x.recorded_at, |at| crate::web::staff::when(state, at)),
                recorded_by: x.recorded_by,
            })
            .collect(),
        may_record: caller.subject.may(Capability::ManageFeeExceptions),
        refused,
        done,
    };
    respond(caller, &csrf, p.refused.status, &p)
}

pub(crate) struct ExceptionFields;

impl PageFields for ExceptionFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["order", "reason", "document"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        crate::web::staff::gate(caller, uri, Capability::ManageFeeExceptions)
    }
}

async fn exception_posted(
    State(state): State<AppState>,
    caller: Caller,
    form: PageForm<ExceptionFields>,
) -> Response {
    let form = form.map();
    let get = |k: &str| form.get(k).map(String::as_str);
    let order = get("order").unwrap_or("").trim().to_owned();
    let missing = order.is_empty().then(|| {
        vec![FieldError::new(
            "order",
            FieldCode::Required,
            t::ORDER_REQUIRED,
        )]
    });
    let outcome = match (
        ExceptionInput::parse(get("reason"), get("document")),
        missing,
    ) {
        (Ok(input), None) => Ok(input),
        (Ok(_), Some(f)) => Err(Error::Invalid(f)),
        (Err(e), Some(f)) => Err(fees::merge(f, e)),
        (Err(e), None) => Err(e),
    };
    let outcome = match outcome {
        Ok(input) => fees::record_exception(&state, &caller, order.clone(), input)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Redirect::to("/admin/fee-exceptions?done=recorded").into_response(),
        Err(e) => {
            let e = match e {
                Error::NotFound => Error::Invalid(vec![FieldError::new(
                    "order",
                    FieldCode::UnknownValue,
                    t::NO_SUCH_ORDER,
                )]),
                e => e,
            };
            let typed: HashMap<String, String> = ["order", "reason", "document"]
                .iter()
                .map(|k| {
                    (
                        (*k).to_owned(),
                        get(k).unwrap_or("").chars().take(1000).collect(),
                    )
                })
                .collect();
            let refused = Refused::of_action("exception", t::EXCEPTION_FORM, typed, &e);
            page(&state, &caller, refused, None).await
        }
    }
}
