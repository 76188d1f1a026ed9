//! The pages of enterprise identity (企业认证): an enterprise account's own
//! claims and the ways to verify them (`/account/enterprise`), its owner's
//! list of colleagues to approve or revoke, and the clerks' window page
//! (`/hall/claims`). Thin: the use cases are in `crate::app::identity`.

use crate::AppState;
use crate::app::identity;
use crate::auth::Caller;
use crate::texts::{self, claims as t};
use crate::web::Failure;
use crate::web::admin::gate;
use crate::web::form::{Decoded, PageFields, PageForm, Spec};
use crate::web::staff::when_ms as when;
use crate::web::{Nav, error_page, failure_page, render, respond};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onestop_domain::access::{Capability, mask_phone};
use onestop_domain::identity::{ClaimDecision, ClaimStatus};
use onestop_store::claims::Claim;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/enterprise", get(my_page))
        .route("/account/enterprise/{id}/code", post(send_code))
        .route("/account/enterprise/{id}/confirm", post(confirm_code))
        .route("/account/enterprise/{id}/legal-person", post(legal_person))
        .route("/identity/oidc/callback", get(legal_person_back))
        .route("/enterprise-claims/{id}/decision", post(decide))
        .route("/hall/claims", get(hall_page))
}

const MY_PATH: &str = "/account/enterprise";
const HALL_PATH: &str = "/hall/claims";

/// A claim as the pages show it.
pub struct ClaimView {
    pub id: String,
    pub version: i64,
    pub enterprise_name: String,
    pub uscc: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub pending: bool,
    pub verified: bool,
    pub owner: bool,
    /// How and when it was decided, in words.
    pub decided: String,
    pub note: String,
    pub account_name: String,
    pub account_phone: String,
    pub created: String,
    pub mine: bool,
}

fn view(state: &AppState, c: &Claim, me: &str) -> ClaimView {
    let decided = match (c.via, c.decided_at_ms) {
        (Some(via), Some(at)) => texts::fill(
            t::DECIDED,
            &[("via", &via.label_zh()), ("at", &when(state, at))],
        ),
        _ => String::new(),
    };
    ClaimView {
        id: c.id.clone(),
        version: c.version,
        enterprise_name: if c.enterprise_name.trim().is_empty() {
            texts::fill(t::UNNAMED, &[("uscc", &c.uscc)])
        } else {
            c.enterprise_name.clone()
        },
        uscc: c.uscc.clone(),
        status: if c.owner && c.status == ClaimStatus::Verified {
            t::VERIFIED_OWNER
        } else {
            c.status.label_zh()
        },
        status_class: match c.status {
            ClaimStatus::Verified => "ok",
            ClaimStatus::Pending => "warn",
            _ => "bad",
        },
        pending: c.status == ClaimStatus::Pending,
        verified: c.status == ClaimStatus::Verified,
        owner: c.owner,
        decided,
        note: c.note.clone().unwrap_or_default(),
        account_name: c.account_name.clone(),
        account_phone: c
            .account_phone
            .as_deref()
            .map(mask_phone)
            .unwrap_or_default(),
        created: when(state, c.created_at_ms),
        mine: c.account_id == me,
    }
}

/// One of the caller's claims, with how it may be verified.
pub struct MyClaim {
    pub c: ClaimView,
    /// Where an SMS code would go (masked), when the enterprise has a
    /// verified contact phone and the city has SMS.
    pub code_to: Option<String>,
    /// A code is in flight (the code field is shown).
    pub code_sent: bool,
}

/// An enterprise the caller administers, with its claims.
pub struct OwnedEnterprise {
    pub uscc: String,
    pub name: String,
    pub pending: Vec<ClaimView>,
    pub members: Vec<ClaimView>,
}

#[derive(Template)]
#[template(path = "account_enterprise.html")]
struct MyPage {
    nav: Nav,
    csrf: String,
    claims: Vec<MyClaim>,
    owned: Vec<OwnedEnterprise>,
    sms: bool,
    /// The label of the legal-person login button, when the city has one.
    legal_person: Option<String>,
    /// (good news, text).
    message: Option<(bool, String)>,
    /// The claim whose code field shows an error, and the error.
    code_error: Option<(String, String)>,
}

#[derive(serde::Deserialize)]
struct Notice {
    notice: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<(bool, String)> {
    texts::claim_notices::get(code?).map(|t| (true, t.to_owned()))
}

/// The enterprise page again with a use case's refusal on it (a claim the
/// caller may not know of is not found).
async fn my_refusal(state: &AppState, caller: &Caller, e: crate::app::error::Error) -> Response {
    if e.status() == StatusCode::NOT_FOUND {
        return crate::web::not_found_page();
    }
    render_my(state, caller, e.status(), Some((false, e.message())), None).await
}

async fn render_my(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    message: Option<(bool, String)>,
    code_error: Option<(String, String)>,
) -> Response {
    let me = caller.account().map(|a| a.id.clone()).unwrap_or_default();
    let mine = match identity::my_claims(state, caller).await {
        Ok(c) => c,
        Err(e) => return failure_page(e),
    };
    let sms = state.config.notify.sms.is_some();
    let mut claims = Vec::with_capacity(mine.len());
    for c in &mine {
        let code_to = if sms && c.status == ClaimStatus::Pending {
            match identity::code_destination(state, &c.uscc).await {
                Ok(t) => t,
                Err(e) => return failure_page(e),
            }
        } else {
            None
        };
        let code_sent = c.status == ClaimStatus::Pending
            && c.code_expires_at_ms.is_some_and(|t| t > state.now_ms());
        claims.push(MyClaim {
            c: view(state, c, &me),
            code_to,
            code_sent,
        });
    }
    let mut owned = Vec::new();
    for c in mine
        .iter()
        .filter(|c| c.owner && c.status == ClaimStatus::Verified)
    {
        let list = match identity::enterprise_claims(state, caller, &c.uscc).await {
            Ok(l) => l.unwrap_or_default(),
            Err(e) => return failure_page(e),
        };
        let (pending, members) = list
            .iter()
            .filter(|x| matches!(x.status, ClaimStatus::Pending | ClaimStatus::Verified))
            .map(|x| view(state, x, &me))
            .partition(|v| v.pending);
        owned.push(OwnedEnterprise {
            uscc: c.uscc.clone(),
            name: c.enterprise_name.clone(),
            pending,
            members,
        });
    }
    render(caller, status, |nav, csrf| MyPage {
        nav,
        csrf,
        claims,
        owned,
        sms,
        legal_person: identity::legal_person_login(state).map(str::to_owned),
        message,
        code_error,
    })
}

async fn my_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Notice>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ClaimEnterprise, MY_PATH) {
        return r;
    }
    render_my(
        &state,
        &caller,
        StatusCode::OK,
        notice_text(q.notice.as_deref()),
        None,
    )
    .await
}

/// The forms of an enterprise account's own claims.
struct OwnClaimFields;

impl PageFields for OwnClaimFields {
    fn spec(_: &AppState) -> Spec {
        Spec::new().fields(&["code"])
    }
    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        gate(caller, Capability::ClaimEnterprise, MY_PATH)
    }
}

/// A decision on a claim, from an owner's page or the clerks' window.
struct DecisionFields;

impl PageFields for DecisionFields {
    fn spec(_: &AppState) -> Spec {
        Spec::new().fields(&[
            "decision",
            "version",
            "owner",
            "checked",
            "note",
            "from_hall",
        ])
    }
    fn gate(caller: &Caller, _uri: &Uri) -> Option<Response> {
        // Owners (enterprise accounts) and clerks alike; the handler checks more.
        if caller.subject.may(Capability::ClaimEnterprise)
            || caller.subject.may(Capability::VerifyEnterprises)
        {
            None
        } else {
            gate(caller, Capability::ClaimEnterprise, MY_PATH)
        }
    }
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

async fn send_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _form: PageForm<OwnClaimFields>,
) -> Response {
    match identity::send_code(&state, &caller, &id).await {
        Ok(_) => see_other(&format!("{MY_PATH}?notice=code_sent")),
        Err(e) => my_refusal(&state, &caller, e).await,
    }
}

async fn confirm_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<OwnClaimFields>,
) -> Response {
    let code = form.get("code").unwrap_or("");
    match identity::confirm_code(&state, &caller, &id, code).await {
        Ok(_) => see_other(&format!("{MY_PATH}?notice=verified")),
        Err(e) if e.code() == "validation_failed" => {
            let m = e
                .fields()
                .first()
                .map_or(e.message().clone(), |f| f.message.clone());
            render_my(&state, &caller, e.status(), None, Some((id, m))).await
        }
        Err(e) => my_refusal(&state, &caller, e).await,
    }
}

async fn legal_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _form: PageForm<OwnClaimFields>,
) -> Response {
    match identity::begin_legal_person_login(&state, &caller, &id).await {
        Ok(url) => see_other(&url),
        Err(e) => my_refusal(&state, &caller, e).await,
    }
}

#[derive(serde::Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here (`redirect_url`).
async fn legal_person_back(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Callback>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::ClaimEnterprise, MY_PATH) {
        return r;
    }
    if q.error.is_some() {
        return render_my(
            &state,
            &caller,
            StatusCode::CONFLICT,
            Some((false, t::LEGAL_PERSON_CANCELLED.to_owned())),
            None,
        )
        .await;
    }
    let (login_state, code) = (q.state.unwrap_or_default(), q.code.unwrap_or_default());
    match identity::finish_legal_person_login(&state, &caller, &login_state, &code).await {
        Ok(_) => see_other(&format!("{MY_PATH}?notice=verified")),
        Err(e) => my_refusal(&state, &caller, e).await,
    }
}

fn decision_of(form: &Decoded) -> Option<ClaimDecision> {
    let on = |k: &str| form.get(k).is_some_and(|v| v == "on" || v == "true");
    Some(match form.get("decision")? {
        "verify" => ClaimDecision::Verify { owner: on("owner") },
        "reject" => ClaimDecision::Reject,
        "revoke" => ClaimDecision::Revoke,
        "make_owner" => ClaimDecision::MakeOwner,
        _ => return None,
    })
}

/// Where a decision form came from: the clerks' page for one enterprise, or
/// the owner's own page.
fn back_of(form: &Decoded) -> Option<String> {
    let uscc = form.get("from_hall")?;
    let uscc: String = uscc
        .trim()
        .to_uppercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(18)
        .collect();
    Some(uscc)
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: PageForm<DecisionFields>,
) -> Response {
    let hall = back_of(&form);
    let (cap, path) = match &hall {
        Some(_) => (Capability::VerifyEnterprises, HALL_PATH),
        None => (Capability::ClaimEnterprise, MY_PATH),
    };
    if let Some(r) = gate(&caller, cap, path) {
        return r;
    }
    let again = |e: crate::app::error::Error| {
        let state = state.clone();
        let caller = caller.clone();
        let hall = hall.clone();
        async move {
            match hall {
                Some(uscc) => {
                    render_hall(
                        &state,
                        &caller,
                        &uscc,
                        e.status(),
                        Some((false, e.message())),
                    )
                    .await
                }
                None => {
                    render_my(
                        &state,
                        &caller,
                        e.status(),
                        Some((false, e.message())),
                        None,
                    )
                    .await
                }
            }
        }
    };
    let Some(decision) = decision_of(&form) else {
        return error_page(StatusCode::BAD_REQUEST, t::NO_DECISION);
    };
    let version = form
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(-1);
    // At the window the clerk confirms having checked the papers first.
    if hall.is_some()
        && matches!(decision, ClaimDecision::Verify { .. })
        && form.get("checked").is_none_or(|v| v != "on")
    {
        return again(crate::app::error::Error::refused(
            crate::app::error::Refusal::Unacceptable,
            "validation_failed",
            t::NOT_CHECKED,
        ))
        .await;
    }
    let note = form
        .get("note")
        .map(str::to_owned)
        .filter(|n| !n.trim().is_empty());
    match identity::decide(&state, &caller, &id, version, decision, note).await {
        Ok(c) => match hall {
            Some(_) => see_other(&format!("{HALL_PATH}?uscc={}&notice=decided", c.uscc)),
            None => see_other(&format!("{MY_PATH}?notice=decided")),
        },
        Err(e) if e.status() == StatusCode::NOT_FOUND => crate::web::not_found_page(),
        Err(e) => again(e).await,
    }
}

// ───────────────────────────── the window ─────────────────────────────

#[derive(Template)]
#[template(path = "hall_claims.html")]
struct HallPage {
    nav: Nav,
    csrf: String,
    uscc: String,
    searched: bool,
    claims: Vec<ClaimView>,
    message: Option<(bool, String)>,
    uscc_error: Option<String>,
}

#[derive(serde::Deserialize)]
struct HallQuery {
    uscc: Option<String>,
    notice: Option<String>,
}

fn clean_uscc(v: &str) -> String {
    v.trim()
        .to_uppercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(32)
        .collect()
}

async fn render_hall(
    state: &AppState,
    caller: &Caller,
    uscc: &str,
    status: StatusCode,
    message: Option<(bool, String)>,
) -> Response {
    let me = caller.account().map(|a| a.id.clone()).unwrap_or_default();
    let mut uscc_error = None;
    let mut claims = Vec::new();
    let searched = !uscc.is_empty();
    if searched {
        if onestop_domain::form::uscc_is_valid(uscc) {
            match identity::enterprise_claims(state, caller, uscc).await {
                Ok(Some(list)) => claims = list.iter().map(|c| view(state, c, &me)).collect(),
                Ok(None) => return error_page(StatusCode::FORBIDDEN, t::HALL_FORBIDDEN),
                Err(e) => return failure_page(e),
            }
        } else {
            uscc_error = Some(t::USCC_INVALID.to_owned());
        }
    }
    let csrf = caller.csrf_token();
    let status = if uscc_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    respond(
        caller,
        &csrf,
        status,
        &HallPage {
            nav: Nav::for_caller(caller, &csrf),
            csrf: csrf.clone(),
            uscc: uscc.to_owned(),
            searched,
            claims,
            message,
            uscc_error,
        },
    )
}

async fn hall_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HallQuery>,
) -> Response {
    if let Some(r) = gate(&caller, Capability::VerifyEnterprises, HALL_PATH) {
        return r;
    }
    let uscc = clean_uscc(q.uscc.as_deref().unwrap_or(""));
    render_hall(
        &state,
        &caller,
        &uscc,
        StatusCode::OK,
        notice_text(q.notice.as_deref()),
    )
    .await
}
