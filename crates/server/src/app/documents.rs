//! Official documents as A4 PDFs, from the stored data: the one form as
//! filed (附表2), the acceptance receipt (受理回执), the completion notice
//! (办结通知书), the signed commitment (附表3) and the consolidated opinion
//! sheet (附表4). Each is served to those who may see its record (the same
//! access decision as the record; others get nothing, as if it did not
//! exist), every download audited.
//!
//! A document is registered when first produced: its number names its
//! kind, its subject and the revision of its content, and the check code
//! printed on every page is a digest of that content. The same content
//! printed again keeps its number (so a reprint verifies); changed content
//! is the next revision. `/verify/{number}` answers, for anyone holding a
//! printed copy, what the number is and whether it is still current.

use crate::AppState;
use crate::app::actors::Actors;
use crate::app::error::{Error, Refusal};
use crate::app::facts::{self, date_zh, service_facts};
use crate::auth::Caller;
use onestop_documents::{Block, Cell, Document, Renderer, Signature, Verification, Ymd};
use onestop_domain::application::{Application, ApplicationStatus, OrderStatus, order_state_zh};
use onestop_domain::approval::{COMMITMENTS, Commitment};
use onestop_domain::documents::{self as doc, DocumentKind};
use onestop_domain::timefmt;
use onestop_store::documents::{self as register, Issue, Issued};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

/// The typesetter, loaded on first use (the embedded fonts, then the
/// configuration's `[documents] extra_fonts`).
#[derive(Clone, Default)]
pub struct Typesetter {
    inner: Arc<OnceLock<Renderer>>,
}

impl Typesetter {
    pub fn get(&self, state: &AppState) -> &Renderer {
        self.inner.get_or_init(|| {
            let extra = state
                .config
                .documents
                .extra_fonts
                .iter()
                .filter_map(|path| match std::fs::read(path) {
                    Ok(data) => Some(data),
                    Err(e) => {
                        tracing::warn!(%path, error = %e, "an extra font for the documents could not be read");
                        None
                    }
                })
                .collect();
            Renderer::with_extra_fonts(extra)
        })
    }
}

/// A PDF ready to send.
#[derive(Debug, Clone)]
pub struct Pdf {
    pub number: String,
    /// `受理回执-LB202612010001.pdf`.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What `/verify/{number}` shows: nothing personal, only what lets the
/// holder of a printed copy compare it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VerifiedDocument {
    pub number: String,
    /// `form`, `receipt`, `completion`, `commitment` or `sheet`.
    pub kind: String,
    /// What the document is, in Chinese.
    pub title: String,
    /// The application it belongs to.
    pub application_number: String,
    /// The check code printed on it.
    pub check_code: String,
    #[serde(with = "timefmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: time::OffsetDateTime,
    /// A later revision of this document exists (the record changed
    /// since this one was printed).
    pub superseded: bool,
    /// The number of the current revision.
    pub current_number: String,
}

/// A document of an application (`form`, `receipt`, `completion`) for the
/// caller, or `None` when the caller may not see the application.
pub async fn application_document(
    state: &AppState,
    caller: &Caller,
    id: String,
    kind: DocumentKind,
) -> Result<Option<Pdf>, Error> {
    if kind.of_case() || id.len() > 64 {
        return Ok(None);
    }
    let Some(app) = crate::app::applications::read_application(state, caller, id).await? else {
        return Ok(None);
    };
    if kind == DocumentKind::Completion && app.status != ApplicationStatus::Completed {
        return Err(Error::refused(
            Refusal::Conflict,
            "not_completed",
            crate::texts::documents::NOT_COMPLETED,
        ));
    }
    let (events, costs) = if kind == DocumentKind::Completion {
        let id = app.id.clone();
        let events = state
            .store
            .read(move |c| onestop_store::applications::events(c, &id))
            .await?;
        (
            events,
            crate::app::fees::costs_of_application(state, app.id.clone()).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let full_phone = owns(caller, &app);
    let content = |shown: bool| match kind {
        DocumentKind::Form => form(state, &app, shown),
        DocumentKind::Receipt => receipt(state, &app, shown),
        _ => completion(state, &app, &events, &costs),
    };
    let subject = app.number.clone();
    let pdf = issue_and_render(
        state,
        caller,
        kind,
        (&app.id, &subject, &app.id),
        content(true),
        content(full_phone),
    )
    .await?;
    Ok(Some(pdf))
}

/// A document of an approval case (`commitment`, `sheet`) for the caller,
/// or `None` when the caller may not see the case (or, for the
/// commitment, when the case has none).
pub async fn case_document(
    state: &AppState,
    caller: &Caller,
    id: String,
    kind: DocumentKind,
) -> Result<Option<Pdf>, Error> {
    if !kind.of_case() {
        return Ok(None);
    }
    let Some((app, full)) = crate::app::approvals::read_case(state, caller, id).await? else {
        return Ok(None);
    };
    let case = &full.case;
    let commitment = case
        .commitment
        .as_deref()
        .and_then(|c| serde_json::from_str::<Commitment>(c).ok());
    let named: Vec<String> = full
        .decisions
        .iter()
        .map(|d| d.decided_by.clone())
        .chain(case.items.iter().filter_map(|i| i.decided_by.clone()))
        .collect();
    let actors = Actors::read(state, named).await?;
    let blocks = match kind {
        DocumentKind::Commitment => match &commitment {
            Some(c) => commitment_blocks(state, &app, case, c),
            None => return Ok(None),
        },
        _ => sheet_blocks(state, &app, &full, commitment.as_ref(), &actors),
    };
    let subject = format!("{}-{}", app.number, case_suffix(&case.id));
    let pdf = issue_and_render(
        state,
        caller,
        kind,
        (&case.id, &subject, &app.id),
        blocks.clone(),
        blocks,
    )
    .await?;
    Ok(Some(pdf))
}

/// The last six letters and digits of a case's id, upper case: tells the
/// cases of one application apart in document numbers.
fn case_suffix(id: &str) -> String {
    let kept: Vec<char> = id.chars().filter(char::is_ascii_alphanumeric).collect();
    kept[kept.len().saturating_sub(6)..]
        .iter()
        .collect::<String>()
        .to_uppercase()
}

/// Whether the caller files for the application's enterprise (its own
/// accounts and keys, the hall's clerk: they see its contact phone in
/// full; staff see it masked, as on the pages).
fn owns(caller: &Caller, app: &Application) -> bool {
    let units: Vec<String> = app
        .work_orders
        .iter()
        .map(|o| o.unit.code.clone())
        .collect();
    let facts = crate::app::applications::facts(app, &units, &[]);
    caller
        .subject
        .roles_on_application(&facts)
        .iter()
        .any(|r| matches!(*r, "applicant" | "clerk"))
}

/// The title, subtitle and blocks of a document: what its number and
/// check code stand for.
#[derive(Debug, Clone, serde::Serialize)]
struct Content {
    title: String,
    subtitle: Option<String>,
    blocks: Vec<Block>,
}

/// Registers the document (the content as stored: `canonical`), then
/// typesets `shown` (the same, perhaps with the phone masked) with the
/// number and check code, and audits the download.
async fn issue_and_render(
    state: &AppState,
    caller: &Caller,
    kind: DocumentKind,
    (subject_id, subject_number, application_id): (&str, &str, &str),
    canonical: Content,
    shown: Content,
) -> Result<Pdf, Error> {
    let json = serde_json::to_vec(&(kind.code(), &canonical))
        .map_err(|_| Error::Internal("a document's content could not be serialised"))?;
    let hash = hex::encode(Sha256::digest(&json));
    let (subject_id, subject_number, application_id) = (
        subject_id.to_owned(),
        subject_number.to_owned(),
        application_id.to_owned(),
    );
    let now_ms = state.now_ms();
    let issued: Issued = state
        .store
        .write(move |c| {
            register::issue(
                c,
                &Issue {
                    kind: kind.code(),
                    subject_id: &subject_id,
                    application_id: &application_id,
                    content_hash: &hash,
                    now_ms,
                },
                &|revision| doc::number(kind, &subject_number, revision),
            )
        })
        .await?;
    let issued_at = timefmt::from_ms(issued.issued_at_ms, state.offset);
    let document = Document {
        title: shown.title,
        subtitle: shown.subtitle,
        issuer: platform_name(state),
        issued: Ymd {
            year: issued_at.year(),
            month: issued_at.month() as u8,
            day: issued_at.day(),
        },
        verification: Verification {
            number: issued.number.clone(),
            hash: doc::check_code(&issued.content_hash),
            url: verify_url(state, &issued.number),
        },
        blocks: shown.blocks,
    };
    let renderer = state.documents.get(state).clone();
    let missing = renderer.uncovered(&serde_json::to_string(&document).unwrap_or_default());
    if !missing.is_empty() {
        tracing::warn!(number = %issued.number, missing = %missing.iter().collect::<String>(),
            "characters no font of the documents can draw (add one under [documents] extra_fonts)");
    }
    let bytes = tokio::task::spawn_blocking(move || renderer.render(&document))
        .await
        .map_err(|_| Error::Internal("the typesetter stopped"))?
        .map_err(|e| {
            tracing::error!(error = %e, "a document could not be typeset");
            Error::Internal("a document could not be typeset")
        })?;
    state
        .audit
        .record(caller.audit(
            state.now_ms(),
            "document_read",
            "success",
            "document",
            &issued.number,
            serde_json::json!({"kind": kind.code(), "application": issued.application_id}),
        ))
        .await?;
    Ok(Pdf {
        file_name: format!(
            "{}-{}.pdf",
            short_title(kind),
            issued
                .number
                .trim_start_matches(kind.prefix())
                .trim_start_matches('-')
        ),
        number: issued.number,
        bytes,
    })
}

fn short_title(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Form => "需求信息采集单",
        DocumentKind::Receipt => "受理回执",
        DocumentKind::Completion => "办结通知书",
        DocumentKind::Commitment => "告知承诺书",
        DocumentKind::Sheet => "综合审批意见单",
    }
}

/// Where a printed copy is checked: the public address when configured
/// (`[notify] public_url`), else the path.
fn verify_url(state: &AppState, number: &str) -> String {
    let base = state.config.notify.public_url.as_deref().unwrap_or("");
    format!("{base}/verify/{number}")
}

fn platform_name(state: &AppState) -> String {
    crate::texts::fill(
        crate::texts::documents::PLATFORM,
        &[("city", &state.config.city.name)],
    )
}

/// What the register says of a number, for anyone.
pub async fn verify(state: &AppState, number: String) -> Result<Option<VerifiedDocument>, Error> {
    if !doc::is_number(&number) {
        return Ok(None);
    }
    let found = state
        .store
        .read(move |c| {
            let Some(d) = register::get(c, &number)? else {
                return Ok(None);
            };
            let latest = register::latest(c, &d.subject_id, &d.kind)?;
            let app = register::application_number(c, &d.application_id)?;
            Ok(Some((d, latest, app)))
        })
        .await?;
    let Some((d, latest, app_number)) = found else {
        return Ok(None);
    };
    let kind = DocumentKind::parse(&d.kind).ok_or(Error::Internal("a document of no kind"))?;
    let current = latest.map_or_else(|| d.number.clone(), |l| l.number);
    Ok(Some(VerifiedDocument {
        kind: kind.code().to_owned(),
        title: kind.label().to_owned(),
        application_number: app_number.unwrap_or_default(),
        check_code: doc::check_code(&d.content_hash),
        issued_at: timefmt::from_ms(d.issued_at_ms, state.offset),
        superseded: current != d.number,
        current_number: current,
        number: d.number,
    }))
}

// ── The documents' contents ──────────────────────────────────────────────

use crate::texts::documents as t;

fn when(state: &AppState, t: time::OffsetDateTime) -> String {
    timefmt::when_zh(t, state.offset)
}

fn address(state: &AppState, app: &Application) -> String {
    let district = state
        .config
        .district(&app.form.address.district_code)
        .map_or_else(String::new, |d| d.name.clone());
    format!(
        "{}{}{}",
        state.config.city.name, district, app.form.address.detail
    )
}

fn phone(app: &Application, full: bool) -> String {
    if full {
        app.form.contact.phone.clone()
    } else {
        onestop_domain::access::mask_phone(&app.form.contact.phone)
    }
}

fn channel(state: &AppState, app: &Application) -> String {
    match app.form.hall_id.as_deref() {
        Some(h) => crate::texts::fill(
            t::AT_HALL,
            &[("hall", &crate::app::halls::name_of(state, h))],
        ),
        None => app.form.channel.label_zh().to_owned(),
    }
}

fn title(state: &AppState, template: &str) -> String {
    crate::texts::fill(template, &[("city", &state.config.city.name)])
}

fn applicant_rows(state: &AppState, app: &Application, full_phone: bool) -> Vec<Vec<Cell>> {
    vec![
        vec![
            Cell::label(t::APPLICANT),
            Cell::value(&app.form.applicant.name),
            Cell::label(t::USCC),
            Cell::value(&app.form.applicant.uscc),
        ],
        vec![
            Cell::label(t::ADDRESS),
            Cell::value(address(state, app)).span(3),
        ],
        vec![
            Cell::label(t::CONTACT),
            Cell::value(&app.form.contact.name),
            Cell::label(t::PHONE),
            Cell::value(phone(app, full_phone)),
        ],
    ]
}

/// 附表2: the one form as filed, every chosen service's section.
fn form(state: &AppState, app: &Application, full_phone: bool) -> Content {
    let mut rows = applicant_rows(state, app, full_phone);
    rows.insert(
        2,
        vec![
            Cell::label(t::APPOINTMENT),
            Cell::value(app.form.appointment_at.map_or_else(
                || crate::texts::common::SOONEST.to_owned(),
                |a| when(state, a),
            ))
            .span(3),
        ],
    );
    rows.push(vec![
        Cell::label(t::PROJECT_CODE),
        Cell::value(
            app.form
                .project_code
                .clone()
                .unwrap_or_else(|| t::NONE.to_owned()),
        )
        .span(3),
    ]);
    let chosen = app.form.services.chosen();
    let boxes = state
        .config
        .services
        .iter()
        .map(|s| {
            let mark = if chosen.contains(&s.code.as_str()) {
                t::CHECKED
            } else {
                t::UNCHECKED
            };
            format!("{mark} {}{}", s.name, t::APPLY_SUFFIX)
        })
        .collect::<Vec<_>>()
        .join("　");
    rows.push(vec![Cell::label(t::CONTENTS), Cell::value(boxes).span(3)]);
    let mut blocks = vec![Block::Grid { rows }];
    for s in service_facts(state, &app.form.services) {
        blocks.push(Block::Heading {
            text: crate::texts::fill(t::SERVICE_SECTION, &[("service", &s.name)]),
        });
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for pair in s.facts.chunks(2) {
            let mut row = vec![Cell::label(&pair[0].0), Cell::value(&pair[0].1)];
            match pair.get(1) {
                Some((k, v)) => row.extend([Cell::label(k), Cell::value(v)]),
                None => row[1] = Cell::value(&pair[0].1).span(3),
            }
            rows.push(row);
        }
        if !rows.is_empty() {
            blocks.push(Block::Grid { rows });
        }
        if !s.equipment.is_empty() {
            blocks.push(Block::Table {
                header: t::EQUIPMENT_HEADERS
                    .iter()
                    .map(|h| (*h).to_owned())
                    .collect(),
                widths: Some(vec![3.0, 1.0, 2.0]),
                rows: s
                    .equipment
                    .iter()
                    .map(|(n, q, p)| vec![n.clone(), q.clone(), p.clone()])
                    .collect(),
            });
        }
    }
    blocks.push(Block::Note {
        text: crate::texts::fill(
            t::FILED,
            &[
                ("number", &app.number),
                ("at", &when(state, app.submitted_at)),
                ("channel", &channel(state, app)),
            ],
        ),
    });
    blocks.push(Block::Signatures {
        signatures: vec![Signature {
            label: t::APPLICANT_SEAL.to_owned(),
            name: Some(app.form.applicant.name.clone()),
            seal: Some(t::SEAL.to_owned()),
            date: Some(crate::texts::fill(
                t::DATED,
                &[(
                    "date",
                    &date_zh(app.submitted_at.to_offset(state.offset).date()),
                )],
            )),
        }],
    });
    Content {
        title: title(state, t::FORM_TITLE),
        subtitle: Some(crate::texts::fill(
            t::FORM_SUBTITLE,
            &[("number", &app.number)],
        )),
        blocks,
    }
}

/// 受理回执: the application number, each utility's order and deadline,
/// the query code.
fn receipt(state: &AppState, app: &Application, full_phone: bool) -> Content {
    let mut rows = vec![vec![
        Cell::label(t::NUMBER),
        Cell::value(&app.number),
        Cell::label(t::SUBMITTED),
        Cell::value(when(state, app.submitted_at)),
    ]];
    rows.extend(applicant_rows(state, app, full_phone));
    rows.push(vec![
        Cell::label(t::QUERY_CODE),
        Cell::value(app.query_code.clone().unwrap_or_else(|| t::NONE.to_owned())),
        Cell::label(t::CHANNEL),
        Cell::value(channel(state, app)),
    ]);
    let orders = app
        .work_orders
        .iter()
        .map(|o| {
            let due = if o.status == OrderStatus::Open || o.status == OrderStatus::Returned {
                let d = when(state, o.due_at);
                if o.provisional {
                    format!("{d}{}", t::PROVISIONAL)
                } else {
                    d
                }
            } else {
                t::NONE.to_owned()
            };
            vec![
                order_name(state, &o.service, o.carrier.as_deref()),
                o.unit.name.clone(),
                order_state_zh(o.stage, o.status).to_owned(),
                due,
            ]
        })
        .collect();
    Content {
        title: title(state, t::RECEIPT_TITLE),
        subtitle: None,
        blocks: vec![
            Block::Paragraph {
                text: crate::texts::fill(
                    t::RECEIPT_INTRO,
                    &[
                        ("applicant", &app.form.applicant.name),
                        ("at", &when(state, app.submitted_at)),
                    ],
                ),
            },
            Block::Grid { rows },
            Block::Heading {
                text: t::ORDERS.to_owned(),
            },
            Block::Table {
                header: t::ORDER_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
                widths: Some(vec![1.4, 2.4, 1.2, 2.4]),
                rows: orders,
            },
            Block::List {
                items: t::RECEIPT_NOTES.iter().map(|n| (*n).to_owned()).collect(),
            },
            Block::Signatures {
                signatures: vec![Signature {
                    label: t::RECEIVER_SEAL.to_owned(),
                    name: Some(platform_name(state)),
                    seal: Some(t::SEAL.to_owned()),
                    date: Some(crate::texts::fill(
                        t::DATED,
                        &[(
                            "date",
                            &date_zh(app.submitted_at.to_offset(state.offset).date()),
                        )],
                    )),
                }],
            },
        ],
    }
}

fn order_name(state: &AppState, service: &str, carrier: Option<&str>) -> String {
    let name = facts::service_name(state, service);
    match carrier {
        Some(c) => format!("{name}（{}）", facts::carrier_name(state, c)),
        None => name,
    }
}

/// When an order was connected, from its history (`connected_at` of its
/// last connection).
fn connected_at(
    state: &AppState,
    events: &[onestop_store::applications::Event],
    order: &str,
) -> Option<String> {
    events
        .iter()
        .rev()
        .filter(|e| e.work_order_id.as_deref() == Some(order))
        .find_map(|e| {
            let d = e.data.get("data").unwrap_or(&e.data);
            d.get("connected_at")
                .or_else(|| e.data.get("connected_at"))
                .and_then(serde_json::Value::as_str)
                .and_then(timefmt::parse)
        })
        .map(|t| when(state, t))
}

/// 办结通知书: each order's outcome and connection time.
fn completion(
    state: &AppState,
    app: &Application,
    events: &[onestop_store::applications::Event],
    costs: &[crate::app::fees::OrderCosts],
) -> Content {
    let finished = events.last().map_or(app.submitted_at, |e| {
        timefmt::from_ms(e.at_ms, state.offset)
    });
    let orders = app
        .work_orders
        .iter()
        .map(|o| {
            vec![
                order_name(state, &o.service, o.carrier.as_deref()),
                o.unit.name.clone(),
                order_state_zh(o.stage, o.status).to_owned(),
                connected_at(state, events, &o.id).unwrap_or_else(|| t::NONE.to_owned()),
            ]
        })
        .collect();
    Content {
        title: title(state, t::COMPLETION_TITLE),
        subtitle: Some(crate::texts::fill(
            t::FORM_SUBTITLE,
            &[("number", &app.number)],
        )),
        blocks: vec![
            Block::Paragraph {
                text: crate::texts::fill(
                    t::COMPLETION_INTRO,
                    &[
                        ("applicant", &app.form.applicant.name),
                        ("at", &when(state, app.submitted_at)),
                        ("number", &app.number),
                        ("address", &address(state, app)),
                    ],
                ),
            },
            Block::Table {
                header: t::COMPLETION_HEADERS
                    .iter()
                    .map(|h| (*h).to_owned())
                    .collect(),
                widths: Some(vec![1.4, 2.4, 1.2, 2.4]),
                rows: orders,
            },
            Block::Heading {
                text: t::COSTS.to_owned(),
            },
            cost_table(state, app, costs),
            Block::Paragraph {
                text: t::ZERO_COST.to_owned(),
            },
            Block::Signatures {
                signatures: vec![Signature {
                    label: t::RECEIVER_SEAL.to_owned(),
                    name: Some(platform_name(state)),
                    seal: Some(t::SEAL.to_owned()),
                    date: Some(crate::texts::fill(
                        t::DATED,
                        &[("date", &date_zh(finished.date()))],
                    )),
                }],
            },
        ],
    }
}

/// Each order's itemised costs (who bears each, inside or outside the red
/// line); a line saying there were none when no order has any.
fn cost_table(
    state: &AppState,
    app: &Application,
    costs: &[crate::app::fees::OrderCosts],
) -> Block {
    let mut rows = Vec::new();
    for c in costs {
        let order = app.work_orders.iter().find(|o| o.id == c.work_order_id);
        let name = order.map_or_else(
            || facts::service_name(state, &c.service),
            |o| order_name(state, &o.service, o.carrier.as_deref()),
        );
        for i in &c.items {
            rows.push(vec![
                format!("{name}（{}）", c.unit.name),
                i.item.clone(),
                onestop_domain::money::yuan(i.amount_fen),
                i.payer.label_zh().to_owned(),
                if i.outside_red_line {
                    t::OUTSIDE
                } else {
                    t::INSIDE
                }
                .to_owned(),
            ]);
        }
    }
    if rows.is_empty() {
        return Block::Paragraph {
            text: t::NO_COSTS.to_owned(),
        };
    }
    Block::Table {
        header: t::COST_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        widths: Some(vec![2.6, 2.4, 1.4, 1.4, 1.0]),
        rows,
    }
}

fn works_dates(from: &str, to: &str) -> String {
    let d = |s: &str| timefmt::parse_date(s).map_or_else(|| s.to_owned(), date_zh);
    crate::texts::fill(t::WORKS_DATES, &[("from", &d(from)), ("to", &d(to))])
}

/// 附表3: the commitment as signed.
fn commitment_blocks(
    state: &AppState,
    app: &Application,
    case: &onestop_store::approvals::Case,
    c: &Commitment,
) -> Content {
    let signed = timefmt::parse_date(&c.signed_at).map_or_else(|| c.signed_at.clone(), date_zh);
    Content {
        title: title(state, t::COMMITMENT_TITLE),
        subtitle: Some(crate::texts::fill(
            t::FORM_SUBTITLE,
            &[("number", &app.number)],
        )),
        blocks: vec![
            Block::Grid {
                rows: vec![
                    vec![
                        Cell::label(t::COMMITTING_UNIT),
                        Cell::value(&c.unit),
                        Cell::label(t::SIGNER),
                        Cell::value(&c.signed_by),
                    ],
                    vec![
                        Cell::label(t::PROJECT_FOR),
                        Cell::value(format!("{}（{}）", app.form.applicant.name, app.number))
                            .span(3),
                    ],
                    vec![
                        Cell::label(t::WORKS_TIME),
                        Cell::value(works_dates(&case.from_date, &case.to_date)).span(3),
                    ],
                    vec![
                        Cell::label(t::WORKS_PLACE),
                        Cell::value(&case.place).span(3),
                    ],
                ],
            },
            Block::Heading {
                text: t::PROMISES.to_owned(),
            },
            Block::List {
                items: COMMITMENTS.iter().map(|p| (*p).to_owned()).collect(),
            },
            Block::Signatures {
                signatures: vec![Signature {
                    label: t::COMMITTER_SEAL.to_owned(),
                    name: Some(crate::texts::fill(
                        t::SIGNED_AS,
                        &[("name", &c.signed_by), ("unit", &c.unit)],
                    )),
                    seal: Some(t::SEAL.to_owned()),
                    date: Some(crate::texts::fill(t::COMMITTED_ON, &[("date", &signed)])),
                }],
            },
        ],
    }
}

/// 附表4: every department's opinion and signed time, each round.
fn sheet_blocks(
    state: &AppState,
    app: &Application,
    full: &crate::app::approvals::FullCase,
    commitment: Option<&Commitment>,
    actors: &Actors,
) -> Content {
    let case = &full.case;
    let unit = |code: &str| {
        state
            .config
            .unit(code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone())
    };
    let signer = |by: &str| match (by, commitment) {
        ("system:commitment", Some(c)) => {
            crate::texts::fill(t::SIGNED_AS, &[("name", &c.signed_by), ("unit", &c.unit)])
        }
        _ => actors.who(&state.config, by, None).name,
    };
    let at = |ms: i64| when(state, timefmt::from_ms(ms, state.offset));
    let current = case
        .items
        .iter()
        .map(|i| {
            vec![
                unit(&i.department),
                if i.required {
                    i.status.label_zh().to_owned()
                } else {
                    t::NOT_INVOLVED.to_owned()
                },
                i.opinion.clone().unwrap_or_default(),
                i.decided_by.as_deref().map(signer).unwrap_or_default(),
                i.decided_at_ms.map(at).unwrap_or_default(),
            ]
        })
        .collect();
    let mut blocks = vec![
        Block::Grid {
            rows: vec![
                vec![
                    Cell::label(t::PROJECT_CODE),
                    Cell::value(
                        app.form
                            .project_code
                            .clone()
                            .unwrap_or_else(|| t::NONE.to_owned()),
                    ),
                    Cell::label(t::NUMBER),
                    Cell::value(&app.number),
                ],
                vec![
                    Cell::label(t::APPLICANT),
                    Cell::value(&app.form.applicant.name),
                    Cell::label(t::RAISED_BY),
                    Cell::value(unit(&case.raised_by_unit)),
                ],
                vec![
                    Cell::label(t::ADDRESS),
                    Cell::value(address(state, app)).span(3),
                ],
                vec![
                    Cell::label(t::WORKS_TIME),
                    Cell::value(works_dates(&case.from_date, &case.to_date)).span(3),
                ],
                vec![
                    Cell::label(t::CONNECTION_PLACE),
                    Cell::value(&case.place).span(3),
                ],
                vec![
                    Cell::label(t::CASE_STATUS),
                    Cell::value(case.status.label_zh()),
                    Cell::label(t::ROUND),
                    Cell::value(case.round.to_string()),
                ],
            ],
        },
        Block::Heading {
            text: t::OPINIONS.to_owned(),
        },
        Block::Table {
            header: t::SHEET_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            widths: Some(vec![2.4, 0.9, 3.0, 2.0, 1.7]),
            rows: current,
        },
    ];
    if case.round > 1 {
        blocks.push(Block::Heading {
            text: t::EARLIER_ROUNDS.to_owned(),
        });
        blocks.push(Block::Table {
            header: t::ROUND_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            widths: Some(vec![0.8, 2.2, 1.0, 3.0, 2.0]),
            rows: full
                .decisions
                .iter()
                .map(|d| {
                    vec![
                        d.round.to_string(),
                        unit(&d.department),
                        d.status.label_zh().to_owned(),
                        d.opinion.clone(),
                        at(d.decided_at_ms),
                    ]
                })
                .collect(),
        });
    }
    Content {
        title: title(state, t::SHEET_TITLE),
        subtitle: Some(crate::texts::fill(
            t::FORM_SUBTITLE,
            &[("number", &app.number)],
        )),
        blocks,
    }
}
