//! Ratings (好差评) on the application page: the enterprise rates its
//! completed application, naming the unit a rating concerns, and reads
//! each unit's written answer to a bad one (`#ratings`).

use crate::AppState;
use crate::app::ratings::{Given, RatingRequest};
use crate::auth::Caller;
use crate::web::counter::{FollowUpLine, follow_up_line};
use crate::web::form::{PageFields, PageForm, Refused, Spec};
use crate::web::not_found_page;
use crate::web::staff::{Opt, unit_name, when_ms};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use onestop_domain::access::Capability;
use onestop_domain::application::{Application, ApplicationStatus, OrderStatus};
use onestop_domain::counter::{RatingDraft, RatingLevel};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/applications/{id}/rating",
        axum::routing::post(rating_posted),
    )
}

/// One rating of the application, with the unit's answer to a bad one.
pub(crate) struct RatingLine {
    pub(crate) level: &'static str,
    pub bad: bool,
    pub unit: Option<String>,
    pub comment: Option<String>,
    pub at: String,
    pub follow_up: Option<FollowUpLine>,
}

/// The ratings part of the application page.
#[derive(Default)]
pub(crate) struct RatingsBlock {
    pub lines: Vec<RatingLine>,
    /// The caller may rate now (the enterprise, once every order is
    /// finished): the units not yet rated by them, and the levels.
    pub units: Vec<Opt>,
    pub levels: Vec<Opt>,
    pub may_rate: bool,
    /// Several units: the form asks which one a rating concerns.
    pub ask_unit: bool,
}

/// The ratings part of `app`'s page for this caller.
pub(crate) async fn block(
    state: &AppState,
    caller: &Caller,
    app: &Application,
    refused: &Refused,
) -> Result<RatingsBlock, crate::app::error::Error> {
    let found = crate::app::ratings::of_application(state, app.id.clone()).await?;
    let me = caller.account().map(|a| a.id.clone());
    let lines = found
        .iter()
        .map(|(r, f)| RatingLine {
            level: r.level.label_zh(),
            bad: r.level.is_bad(),
            unit: r.unit_code.as_deref().map(|u| unit_name(state, u)),
            comment: r.comment.clone(),
            at: when_ms(state, r.at_ms),
            follow_up: f.as_ref().map(|f| follow_up_line(state, f)),
        })
        .collect();
    let units: Vec<String> = {
        let mut u: Vec<String> = Vec::new();
        for o in app
            .work_orders
            .iter()
            .filter(|o| o.status != OrderStatus::Cancelled)
        {
            if !u.contains(&o.unit.code) {
                u.push(o.unit.code.clone());
            }
        }
        u
    };
    let units_open: Vec<&String> = units
        .iter()
        .filter(|u| {
            !found.iter().any(|(r, _)| {
                r.unit_code.as_ref() == Some(*u)
                    && r.rater_account.is_some()
                    && r.rater_account == me
            })
        })
        .collect();
    let units_all: Vec<String> = units.clone();
    let facts = crate::app::applications::facts(app, &units_all, &[]);
    let applicant = caller
        .subject
        .roles_on_application(&facts)
        .contains(&"applicant");
    let typed_unit = refused.typed("rating", "unit");
    let typed_level = refused.typed("rating", "level");
    Ok(RatingsBlock {
        lines,
        may_rate: applicant
            && app.status == ApplicationStatus::Completed
            && !units_open.is_empty()
            && caller.subject.may(Capability::ReadApplications),
        ask_unit: units.len() > 1,
        units: units_open
            .iter()
            .map(|u| Opt {
                code: (*u).clone(),
                label: unit_name(state, u),
                selected: typed_unit == u.as_str(),
            })
            .collect(),
        levels: RatingLevel::ALL
            .iter()
            .map(|l| Opt {
                code: l.as_str().to_owned(),
                label: l.label_zh().to_owned(),
                selected: typed_level == l.as_str(),
            })
            .collect(),
    })
}

/// The rating form of the application page.
pub(crate) struct RatingFields;

impl PageFields for RatingFields {
    fn spec(_state: &AppState) -> Spec {
        Spec::new().fields(&["level", "comment", "unit"])
    }
    fn gate(caller: &Caller, uri: &Uri) -> Option<Response> {
        crate::web::staff::gate(caller, uri, Capability::ReadApplications)
    }
}

async fn rating_posted(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<RatingFields>,
) -> Response {
    if id.len() > 64 {
        return not_found_page();
    }
    let outcome = match RatingRequest::parse(
        &state,
        Some("application"),
        Some(&id),
        RatingDraft {
            level: form.get("level"),
            comment: form.get("comment"),
            unit: form.get("unit"),
        },
    ) {
        Ok(r) => crate::app::ratings::rate(&state, &caller, r, None).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Given::Created(v)) => {
            let done = if v.follow_up.is_some() {
                "rated_follow_up"
            } else {
                "rated"
            };
            Redirect::to(&format!("/applications/{id}?done={done}#ratings")).into_response()
        }
        Ok(Given::Replayed(_)) => {
            Redirect::to(&format!("/applications/{id}?done=rated#ratings")).into_response()
        }
        Err(crate::app::error::Error::NotFound) => not_found_page(),
        Err(e) => {
            let typed: HashMap<String, String> = ["level", "comment", "unit"]
                .iter()
                .map(|k| {
                    (
                        (*k).to_owned(),
                        form.get(k).unwrap_or("").chars().take(500).collect(),
                    )
                })
                .collect();
            let refused =
                Refused::of_action("rating", crate::texts::counter_page::FORM_RATE, typed, &e);
            crate::web::staff::application_page(&state, &caller, id, refused, None).await
        }
    }
}
