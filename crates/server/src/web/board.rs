//! The supervisor's board as a page (`/board`), as the fragment the page
//! fetches every 30 s to refresh itself (`/board/live`), and as an Excel
//! file (`/board/export.xlsx`). The figures are `board`'s; this module only
//! lays them out: display texts, the trend chart (SVG drawn here, no
//! script), the workbook.

use crate::AppState;
use crate::app::board::{self, Board, BoardParams, BoardQuery, date_text};
use crate::auth::Caller;
use crate::texts::{self, board as t};
use crate::web::Failure;
use crate::web::staff::{district_name, gate, service_name, when};
use crate::web::{Nav, render};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onestop_domain::access::Capability;
use onestop_domain::form::FieldError;
use onestop_domain::timefmt;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/board", get(board_page))
        .route("/board/live", get(board_live))
        .route("/board/export.xlsx", get(board_export))
}

/// Header marking the refresh fragment (the script swaps in nothing else,
/// say a sign-in page after the session ended).
pub const FRAGMENT_HEADER: &str = "x-board-fragment";
/// Seconds between refreshes.
pub const REFRESH_SECONDS: u32 = 30;

// ───────────────────────────── display ─────────────────────────────

/// Working seconds as working hours, one decimal (`—` for none).
fn hours(seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), |s| format!("{:.1}", s as f64 / 3600.0))
}

/// A share as a percentage, one decimal (`—` for none).
fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// One row of counts by level.
pub struct CountRow {
    pub label: String,
    pub total: i64,
    pub normal: i64,
    pub warning: i64,
    pub overdue: i64,
}

impl CountRow {
    fn of(label: String, c: &board::LevelCounts) -> CountRow {
        CountRow {
            label,
            total: c.total,
            normal: c.normal,
            warning: c.warning,
            overdue: c.overdue,
        }
    }
}

pub struct OverdueRow {
    pub id: String,
    pub number: String,
    pub applicant: String,
    pub district: String,
    pub service: String,
    pub unit: String,
    pub stage: String,
    pub due: String,
    pub due_iso: String,
    pub overdue_hours: String,
}

pub struct UnitRow {
    pub name: String,
    pub finished: i64,
    pub on_time: i64,
    pub rate: String,
    pub average: String,
    /// Average working hours per working stage, in the header's order.
    pub stages: Vec<String>,
    pub open: i64,
    pub overdue: i64,
}

/// Everything the live part of the page shows, as text.
pub struct BoardView {
    pub updated: String,
    /// When the open orders were counted.
    pub counted: String,
    pub period: String,
    pub scope: String,
    pub open_total: i64,
    pub open_warning: i64,
    pub open_overdue: i64,
    pub finished: i64,
    pub rate: String,
    pub by_stage: Vec<CountRow>,
    pub by_unit: Vec<CountRow>,
    pub overdue: Vec<OverdueRow>,
    pub stage_labels: Vec<&'static str>,
    pub units: Vec<UnitRow>,
    pub chart: Chart,
    /// The one window: consultations, queue, satisfaction, follow-ups.
    pub window: WindowView,
    /// Fees outside the red line (用户零投资) per unit.
    pub fees: Vec<FeeRow>,
    /// Pre-registration: registered, became applications, had a stage skipped.
    pub pre: crate::app::board::PreRegistrationFigures,
}

/// One unit's fees as the page shows them (yuan).
pub struct FeeRow {
    pub name: String,
    /// Borne by the utility outside the red line.
    pub utility_outside: String,
    /// Paid by the user outside the red line under exceptions.
    pub user_outside: String,
    pub user_inside: String,
    pub exceptions: i64,
}

/// The one window's figures as the page shows them.
pub struct WindowView {
    pub ratings: i64,
    pub satisfaction: String,
    pub consultations: Vec<(String, i64)>,
    pub halls: Vec<HallRow>,
    pub units: Vec<WindowUnitRow>,
}

pub struct HallRow {
    pub name: String,
    pub district: String,
    pub consultations: i64,
    pub payments: i64,
    pub amount: String,
    pub applications: i64,
    pub tickets: i64,
    pub served: i64,
    pub wait: String,
    pub service: String,
    pub ratings: i64,
    pub satisfaction: String,
}

pub struct WindowUnitRow {
    pub name: String,
    pub ratings: i64,
    pub satisfaction: String,
    pub bad: i64,
    pub answered: i64,
    pub late: i64,
    pub overdue_open: i64,
    pub on_time: String,
}

fn minutes(m: Option<i64>) -> String {
    m.map_or_else(
        || "—".to_owned(),
        |n| texts::fill(texts::counter_page::MINUTES, &[("n", &n)]),
    )
}

/// A hall's district's name, or "—" when there is none.
fn hall_district(state: &AppState, code: Option<&str>) -> String {
    code.map_or_else(|| "—".to_owned(), |c| district_name(state, c))
}

fn window_view(state: &AppState, w: &crate::app::counter::WindowFigures) -> WindowView {
    WindowView {
        ratings: w.satisfaction.ratings,
        satisfaction: percent(w.satisfaction.satisfaction_rate),
        consultations: w
            .consultations
            .iter()
            .map(|c| (service_name(state, &c.service), c.consultations))
            .collect(),
        halls: w
            .halls
            .iter()
            .map(|h| HallRow {
                name: h.name.clone(),
                district: hall_district(state, h.district.as_deref()),
                consultations: h.consultations,
                payments: h.payments,
                amount: onestop_domain::money::yuan(h.payment_amount_fen),
                applications: h.applications,
                tickets: h.tickets,
                served: h.served,
                wait: minutes(h.average_wait_minutes),
                service: minutes(h.average_service_minutes),
                ratings: h.satisfaction.ratings,
                satisfaction: percent(h.satisfaction.satisfaction_rate),
            })
            .collect(),
        units: w
            .units
            .iter()
            .map(|u| WindowUnitRow {
                name: u.unit.name.clone(),
                ratings: u.satisfaction.ratings,
                satisfaction: percent(u.satisfaction.satisfaction_rate),
                bad: u.satisfaction.bad,
                answered: u.follow_ups_answered,
                late: u.follow_ups_late,
                overdue_open: u.follow_ups_overdue_open,
                on_time: percent(u.follow_ups_on_time_rate),
            })
            .collect(),
    }
}

/// "区县：曾都区；业务：全部".
fn scope_text(state: &AppState, p: &BoardParams) -> String {
    let d = p
        .filter
        .district
        .as_deref()
        .map_or_else(|| t::ALL.to_owned(), |c| district_name(state, c));
    let s = p
        .filter
        .service
        .as_deref()
        .map_or_else(|| t::ALL.to_owned(), |c| service_name(state, c));
    texts::fill(t::SCOPE, &[("district", &d), ("service", &s)])
}

fn view(state: &AppState, p: &BoardParams, b: &Board) -> BoardView {
    let fmt = time::macros::format_description!("[hour]:[minute]:[second]");
    let finished: i64 = b.units.iter().map(|u| u.finished).sum();
    let on_time: i64 = b.units.iter().map(|u| u.on_time).sum();
    BoardView {
        updated: b.generated_at.format(&fmt).unwrap_or_default(),
        counted: b.open_counted_at.format(&fmt).unwrap_or_default(),
        period: texts::fill(
            t::PERIOD,
            &[
                ("from", &b.period.from),
                ("to", &b.period.to),
                ("days", &b.period.days),
            ],
        ),
        scope: scope_text(state, p),
        open_total: b.open.all.total,
        open_warning: b.open.all.warning,
        open_overdue: b.open.all.overdue,
        finished,
        rate: percent((finished > 0).then(|| on_time as f64 / finished as f64)),
        by_stage: b
            .open
            .by_stage
            .iter()
            .map(|s| CountRow::of(s.stage.label_zh().to_owned(), &s.counts))
            .collect(),
        by_unit: b
            .open
            .by_unit
            .iter()
            .map(|u| CountRow::of(u.unit.name.clone(), &u.counts))
            .collect(),
        overdue: b
            .overdue
            .iter()
            .map(|o| OverdueRow {
                id: o.id.clone(),
                number: o.application_number.clone(),
                applicant: o.applicant_name.clone(),
                district: district_name(state, &o.district_code),
                service: service_name(state, &o.service),
                unit: o.unit.name.clone(),
                stage: match o.status {
                    onestop_domain::application::OrderStatus::Open => o.stage.label_zh().into(),
                    s => texts::fill(
                        texts::common::STAGE_WITH_STATUS,
                        &[("stage", &o.stage.label_zh()), ("status", &s.label_zh())],
                    ),
                },
                due: when(state, o.due_at),
                due_iso: timefmt::format(o.due_at),
                overdue_hours: hours(Some(o.overdue_working_seconds)),
            })
            .collect(),
        stage_labels: board::working_stages().map(|s| s.label_zh()).collect(),
        units: b
            .units
            .iter()
            .map(|u| UnitRow {
                name: u.unit.name.clone(),
                finished: u.finished,
                on_time: u.on_time,
                rate: percent(u.on_time_rate),
                average: hours(u.average_working_seconds),
                stages: u
                    .stages
                    .iter()
                    .map(|s| hours(s.average_working_seconds))
                    .collect(),
                open: u.open,
                overdue: u.overdue,
            })
            .collect(),
        chart: Chart::of(&b.trend),
        window: window_view(state, &b.window),
        fees: b
            .fees
            .iter()
            .map(|f| FeeRow {
                name: f.unit.name.clone(),
                utility_outside: onestop_domain::money::yuan(f.utility_outside_red_line_fen),
                user_outside: onestop_domain::money::yuan(f.user_outside_red_line_fen),
                user_inside: onestop_domain::money::yuan(f.user_inside_red_line_fen),
                exceptions: f.exceptions,
            })
            .collect(),
        pre: b.pre_registrations,
    }
}

// ───────────────────────────── the chart ─────────────────────────────

/// The trend as SVG shapes: a bar per day for finished stages, a line
/// with dots for overdue ones, on one scale.
pub struct Chart {
    pub width: i64,
    pub height: i64,
    /// Left edge and bottom of the plot.
    pub left: i64,
    pub bottom: i64,
    pub right: i64,
    pub top: i64,
    pub bars: Vec<Bar>,
    /// `x,y x,y …` of the overdue line.
    pub line: String,
    pub dots: Vec<Dot>,
    pub x_labels: Vec<(i64, String)>,
    pub y_ticks: Vec<(i64, i64)>,
    /// A text summary for screen readers.
    pub summary: String,
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub title: String,
}

pub struct Dot {
    pub x: i64,
    pub y: i64,
    pub title: String,
}

/// A round upper bound for the scale: 1, 2, 5 × 10ⁿ.
fn nice_ceiling(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10;
    }
}

impl Chart {
    const WIDTH: i64 = 960;
    const HEIGHT: i64 = 260;
    const LEFT: i64 = 48;
    const RIGHT: i64 = 12;
    const TOP: i64 = 12;
    const BOTTOM: i64 = 32;

    pub fn of(trend: &[board::TrendPoint]) -> Chart {
        let n = trend.len().max(1) as i64;
        let plot_w = Self::WIDTH - Self::LEFT - Self::RIGHT;
        let plot_h = Self::HEIGHT - Self::TOP - Self::BOTTOM;
        let max = trend
            .iter()
            .map(|p| p.finished.max(p.overdue))
            .max()
            .unwrap_or(0);
        let top = nice_ceiling(max.max(1));
        let slot = plot_w as f64 / n as f64;
        let y_of = |v: i64| Self::HEIGHT - Self::BOTTOM - (v * plot_h) / top;
        let x_mid = |i: usize| Self::LEFT + (slot * (i as f64 + 0.5)).round() as i64;
        let bar_w = ((slot * 0.6).round() as i64).max(1);
        let every = (n as usize).div_ceil(10).max(1);
        let mut c = Chart {
            width: Self::WIDTH,
            height: Self::HEIGHT,
            left: Self::LEFT,
            bottom: Self::HEIGHT - Self::BOTTOM,
            right: Self::WIDTH - Self::RIGHT,
            top: Self::TOP,
            bars: Vec::new(),
            line: String::new(),
            dots: Vec::new(),
            x_labels: Vec::new(),
            y_ticks: [0, top / 2, top]
                .into_iter()
                .filter(|v| *v == 0 || *v == top || top % 2 == 0)
                .map(|v| (y_of(v), v))
                .collect(),
            summary: String::new(),
        };
        let mut points = Vec::new();
        for (i, p) in trend.iter().enumerate() {
            let x = x_mid(i);
            let short = p.date.get(5..).unwrap_or(&p.date).to_owned();
            c.bars.push(Bar {
                x: x - bar_w / 2,
                y: y_of(p.finished),
                w: bar_w,
                h: Self::HEIGHT - Self::BOTTOM - y_of(p.finished),
                title: texts::fill(t::BAR, &[("date", &p.date), ("n", &p.finished)]),
            });
            c.dots.push(Dot {
                x,
                y: y_of(p.overdue),
                title: texts::fill(t::DOT, &[("date", &p.date), ("n", &p.overdue)]),
            });
            points.push(format!("{x},{}", y_of(p.overdue)));
            if i % every == 0 {
                c.x_labels.push((x, short));
            }
        }
        c.line = points.join(" ");
        let finished: i64 = trend.iter().map(|p| p.finished).sum();
        let overdue: i64 = trend.iter().map(|p| p.overdue).sum();
        let most = trend.iter().map(|p| p.finished).max().unwrap_or(0);
        c.summary = texts::fill(
            t::SUMMARY,
            &[
                ("finished", &finished),
                ("overdue", &overdue),
                ("most", &most),
            ],
        );
        c
    }
}

// ───────────────────────────── pages ─────────────────────────────

/// A district or service choice of the filter form.
pub struct Choice {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    nav: Nav,
    districts: Vec<Choice>,
    services: Vec<Choice>,
    from: String,
    to: String,
    errors: Vec<FieldError>,
    /// The query of the figures shown (for the refresh, export and API links).
    query: String,
    refresh_seconds: u32,
    v: Option<BoardView>,
}

#[derive(Template)]
#[template(path = "board_live.html")]
struct BoardLive {
    v: BoardView,
}

fn query_of(raw: Option<&str>) -> BoardQuery {
    serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
}

fn choices<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
    chosen: Option<&str>,
) -> Vec<Choice> {
    items
        .map(|(code, name)| Choice {
            code: code.to_owned(),
            name: name.to_owned(),
            selected: chosen == Some(code),
        })
        .collect()
}

/// The checked query, or the page showing what is wrong with it (422).
fn checked(
    state: &AppState,
    caller: &Caller,
    q: &BoardQuery,
) -> Result<BoardParams, Box<Response>> {
    board::params(q, &state.config, state.now().date()).map_err(|errors| {
        Box::new(page_response(
            state,
            caller,
            q,
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    })
}

fn page_response(
    state: &AppState,
    caller: &Caller,
    q: &BoardQuery,
    shown: Option<(BoardParams, BoardView)>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Response {
    let config = &state.config;
    let typed = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
    let (from, to, query, v) = match shown {
        Some((p, v)) => (
            date_text(p.from),
            date_text(p.to),
            p.query_string(),
            Some(v),
        ),
        None => (typed(&q.from), typed(&q.to), String::new(), None),
    };
    render(caller, status, |nav, _| BoardPage {
        nav,
        districts: choices(
            config
                .districts
                .iter()
                .map(|d| (d.code.as_str(), d.name.as_str())),
            q.district.as_deref().map(str::trim),
        ),
        services: choices(
            config
                .services
                .iter()
                .map(|s| (s.code.as_str(), s.name.as_str())),
            q.service.as_deref().map(str::trim),
        ),
        from,
        to,
        errors,
        query,
        refresh_seconds: REFRESH_SECONDS,
        v,
    })
}

/// What a page or export of the board needs: the caller may see it, the
/// filters are valid, and the figures are read — or the page that says why not.
async fn loaded(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    raw: Option<&str>,
) -> Result<(BoardQuery, BoardParams, Board), Response> {
    if let Some(r) = gate(caller, uri, Capability::Supervise) {
        return Err(r);
    }
    let q = query_of(raw);
    let p = checked(state, caller, &q).map_err(|page| *page)?;
    let b = board::load(state, &p)
        .await
        .map_err(crate::web::failure_page)?;
    Ok((q, p, b))
}

/// The board.
async fn board_page(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    let (q, p, b) = match loaded(&state, &caller, &uri, raw.as_deref()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let v = view(&state, &p, &b);
    page_response(
        &state,
        &caller,
        &q,
        Some((p, v)),
        Vec::new(),
        StatusCode::OK,
    )
}

/// The live part of the board alone, for the page's refresh.
async fn board_live(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = gate(&caller, &uri, Capability::Supervise) {
        return r;
    }
    let q = query_of(raw.as_deref());
    let p = match board::params(&q, &state.config, state.now().date()) {
        Ok(p) => p,
        Err(errors) => {
            let e = crate::error::ApiError::validation(errors);
            return (e.status(), e.message()).into_response();
        }
    };
    match board::load(&state, &p).await {
        Ok(b) => {
            let t = BoardLive {
                v: view(&state, &p, &b),
            };
            let mut res = crate::web::page(StatusCode::OK, &t);
            let h = res.headers_mut();
            h.insert(FRAGMENT_HEADER, HeaderValue::from_static("1"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => (e.status(), e.message()).into_response(),
    }
}

// ───────────────────────────── export ─────────────────────────────

/// Percent-encodes UTF-8 for an RFC 5987 `filename*`.
fn rfc5987(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `attachment` with an ASCII name and the Chinese one (RFC 6266 / 5987).
pub fn disposition(p: &BoardParams) -> String {
    let (from, to) = (date_text(p.from), date_text(p.to));
    let ascii = format!("board-{from}_{to}.xlsx");
    let chinese = texts::fill(t::FILE_NAME, &[("from", &from), ("to", &to)]);
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        rfc5987(&chinese)
    )
}

/// The per-unit figures as a workbook: a title row with the period and
/// filters, Chinese headers, numbers as numbers.
pub fn workbook(
    state: &AppState,
    p: &BoardParams,
    b: &Board,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(t::SHEET)?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let pct = Format::new().set_num_format("0.0%");
    let dec = Format::new().set_num_format("0.0");
    ws.write_string_with_format(0, 0, t::TITLE, &title)?;
    ws.write_string(
        1,
        0,
        texts::fill(
            t::SUBTITLE,
            &[
                ("from", &b.period.from),
                ("to", &b.period.to),
                ("scope", &scope_text(state, p)),
                ("generated", &when(state, b.generated_at)),
            ],
        ),
    )?;
    let mut headers: Vec<String> = t::HEADERS.iter().map(|h| (*h).to_owned()).collect();
    headers.extend(
        board::working_stages().map(|s| texts::fill(t::STAGE_AVERAGE, &[("stage", &s.label_zh())])),
    );
    headers.extend(t::OPEN_HEADERS.iter().map(|h| (*h).to_owned()));
    for (col, h) in headers.iter().enumerate() {
        ws.write_string_with_format(3, col as u16, h, &bold)?;
    }
    ws.set_column_width(0, 26)?;
    for col in 1..headers.len() as u16 {
        ws.set_column_width(col, 14)?;
    }
    let hours = |s: i64| s as f64 / 3600.0;
    for (i, u) in b.units.iter().enumerate() {
        let row = 4 + i as u32;
        ws.write_string(row, 0, &u.unit.name)?;
        ws.write_number(row, 1, u.finished as f64)?;
        ws.write_number(row, 2, u.on_time as f64)?;
        if let Some(r) = u.on_time_rate {
            ws.write_number_with_format(row, 3, r, &pct)?;
        }
        if let Some(s) = u.average_working_seconds {
            ws.write_number_with_format(row, 4, hours(s), &dec)?;
        }
        for (j, s) in u.stages.iter().enumerate() {
            if let Some(a) = s.average_working_seconds {
                ws.write_number_with_format(row, 5 + j as u16, hours(a), &dec)?;
            }
        }
        let after = 5 + u.stages.len() as u16;
        ws.write_number(row, after, u.open as f64)?;
        ws.write_number(row, after + 1, u.overdue as f64)?;
    }
    let notes = 5 + b.units.len() as u32;
    for (k, line) in t::DEFINITIONS.iter().enumerate() {
        ws.write_string(notes + k as u32, 0, *line)?;
    }
    window_sheet(&mut wb, state, p, b)?;
    fees_sheet(&mut wb, state, p, b)?;
    pre_registration_sheet(&mut wb, p, b)?;
    wb.save_to_buffer()
}

/// Fees outside the red line per unit (用户零投资), on a sheet of their own.
fn fees_sheet(
    wb: &mut rust_xlsxwriter::Workbook,
    state: &AppState,
    p: &BoardParams,
    b: &Board,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Format;
    let ws = wb.add_worksheet();
    ws.set_name(texts::fees::BOARD_SHEET)?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let money = Format::new().set_num_format("#,##0.00");
    ws.write_string_with_format(0, 0, texts::fees::BOARD_TITLE, &title)?;
    ws.write_string(
        1,
        0,
        texts::fill(
            t::SUBTITLE,
            &[
                ("from", &b.period.from),
                ("to", &b.period.to),
                ("scope", &scope_text(state, p)),
                ("generated", &when(state, b.generated_at)),
            ],
        ),
    )?;
    ws.set_column_width(0, 26)?;
    for col in 1..5 {
        ws.set_column_width(col, 18)?;
    }
    for (col, h) in texts::fees::BOARD_HEADERS.iter().enumerate() {
        ws.write_string_with_format(3, col as u16, *h, &bold)?;
    }
    let mut row = 4;
    for f in &b.fees {
        ws.write_string(row, 0, &f.unit.name)?;
        ws.write_number_with_format(row, 1, fen_as_yuan(f.utility_outside_red_line_fen), &money)?;
        ws.write_number_with_format(row, 2, fen_as_yuan(f.user_outside_red_line_fen), &money)?;
        ws.write_number_with_format(row, 3, fen_as_yuan(f.user_inside_red_line_fen), &money)?;
        ws.write_number(row, 4, f.exceptions as f64)?;
        row += 1;
    }
    row += 1;
    ws.write_string(row, 0, texts::fees::BOARD_NOTE)?;
    Ok(())
}

/// The one window's figures on a sheet of their own: satisfaction and
/// follow-ups per unit, then the halls' consultations, queue and
/// satisfaction.
fn window_sheet(
    wb: &mut rust_xlsxwriter::Workbook,
    state: &AppState,
    p: &BoardParams,
    b: &Board,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Format;
    let tw = texts::board_window::SHEET;
    let ws = wb.add_worksheet();
    ws.set_name(tw)?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let pct = Format::new().set_num_format("0.0%");
    ws.write_string_with_format(0, 0, texts::board_window::TITLE, &title)?;
    ws.write_string(
        1,
        0,
        texts::fill(
            t::SUBTITLE,
            &[
                ("from", &b.period.from),
                ("to", &b.period.to),
                ("scope", &scope_text(state, p)),
                ("generated", &when(state, b.generated_at)),
            ],
        ),
    )?;
    ws.set_column_width(0, 26)?;
    for col in 1..10 {
        ws.set_column_width(col, 14)?;
    }
    for (col, h) in texts::board_window::UNIT_HEADERS.iter().enumerate() {
        ws.write_string_with_format(3, col as u16, *h, &bold)?;
    }
    let mut row = 4;
    for u in &b.window.units {
        let s = &u.satisfaction;
        ws.write_string(row, 0, &u.unit.name)?;
        ws.write_number(row, 1, s.ratings as f64)?;
        ws.write_number(row, 2, s.satisfied as f64)?;
        ws.write_number(row, 3, s.bad as f64)?;
        if let Some(r) = s.satisfaction_rate {
            ws.write_number_with_format(row, 4, r, &pct)?;
        }
        ws.write_number(row, 5, u.follow_ups_answered as f64)?;
        ws.write_number(row, 6, u.follow_ups_late as f64)?;
        ws.write_number(row, 7, u.follow_ups_overdue_open as f64)?;
        if let Some(r) = u.follow_ups_on_time_rate {
            ws.write_number_with_format(row, 8, r, &pct)?;
        }
        row += 1;
    }
    row += 1;
    for (col, h) in texts::board_window::HALL_HEADERS.iter().enumerate() {
        ws.write_string_with_format(row, col as u16, *h, &bold)?;
    }
    row += 1;
    let money = Format::new().set_num_format("#,##0.00");
    for h in &b.window.halls {
        let s = &h.satisfaction;
        ws.write_string(row, 0, &h.name)?;
        ws.write_string(row, 1, hall_district(state, h.district.as_deref()))?;
        ws.write_number(row, 2, h.consultations as f64)?;
        ws.write_number(row, 3, h.tickets as f64)?;
        ws.write_number(row, 4, h.served as f64)?;
        if let Some(m) = h.average_wait_minutes {
            ws.write_number(row, 5, m as f64)?;
        }
        if let Some(m) = h.average_service_minutes {
            ws.write_number(row, 6, m as f64)?;
        }
        ws.write_number(row, 7, h.payments as f64)?;
        ws.write_number_with_format(row, 8, fen_as_yuan(h.payment_amount_fen), &money)?;
        ws.write_number(row, 9, h.applications as f64)?;
        ws.write_number(row, 10, s.ratings as f64)?;
        if let Some(r) = s.satisfaction_rate {
            ws.write_number_with_format(row, 11, r, &pct)?;
        }
        row += 1;
    }
    row += 1;
    for line in texts::board_window::DEFINITIONS {
        ws.write_string(row, 0, *line)?;
        row += 1;
    }
    hall_days_sheet(wb, b, &bold, &title, &money)
}

/// Yuan as a spreadsheet number (exact to the fen: two decimals).
fn fen_as_yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

/// Every hall's activity per day of the period.
fn hall_days_sheet(
    wb: &mut rust_xlsxwriter::Workbook,
    b: &Board,
    bold: &rust_xlsxwriter::Format,
    title: &rust_xlsxwriter::Format,
    money: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let tw = &texts::board_window::DAY_SHEET;
    let ws = wb.add_worksheet();
    ws.set_name(*tw)?;
    ws.write_string_with_format(0, 0, texts::board_window::DAY_TITLE, title)?;
    ws.set_column_width(0, 12)?;
    ws.set_column_width(1, 26)?;
    for col in 2..9 {
        ws.set_column_width(col, 14)?;
    }
    for (col, h) in texts::board_window::DAY_HEADERS.iter().enumerate() {
        ws.write_string_with_format(2, col as u16, *h, bold)?;
    }
    let name = |code: &str| {
        b.window
            .halls
            .iter()
            .find(|h| h.hall == code)
            .map_or_else(|| code.to_owned(), |h| h.name.clone())
    };
    for (i, d) in b.window.hall_days.iter().enumerate() {
        let row = 3 + i as u32;
        ws.write_string(row, 0, &d.day)?;
        ws.write_string(row, 1, name(&d.hall))?;
        ws.write_number(row, 2, d.consultations as f64)?;
        ws.write_number(row, 3, d.tickets as f64)?;
        ws.write_number(row, 4, d.served as f64)?;
        if let Some(m) = d.average_wait_minutes {
            ws.write_number(row, 5, m as f64)?;
        }
        ws.write_number(row, 6, d.payments as f64)?;
        ws.write_number_with_format(row, 7, fen_as_yuan(d.payment_amount_fen), money)?;
        ws.write_number(row, 8, d.applications as f64)?;
    }
    Ok(())
}

/// The per-unit figures as an Excel file.
async fn board_export(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    let (_, p, b) = match loaded(&state, &caller, &uri, raw.as_deref()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let bytes = match workbook(&state, &p, &b) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "workbook failed");
            return crate::web::error_page(StatusCode::INTERNAL_SERVER_ERROR, t::EXPORT_FAILED);
        }
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition(&p)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Pre-registration (一口登记) in the period, on a sheet of its own.
fn pre_registration_sheet(
    wb: &mut rust_xlsxwriter::Workbook,
    p: &BoardParams,
    b: &Board,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use texts::board_pre as tp;
    let ws = wb.add_worksheet();
    ws.set_name(tp::SHEET)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    ws.write_string_with_format(0, 0, tp::TITLE, &bold)?;
    ws.write_string(
        1,
        0,
        texts::fill(
            texts::common::DATE_RANGE,
            &[
                ("from", &crate::app::board::date_text(p.from)),
                ("to", &crate::app::board::date_text(p.to)),
            ],
        ),
    )?;
    let f = &b.pre_registrations;
    for (row, (label, n)) in [
        (tp::REGISTERED, f.registered),
        (tp::APPLIED, f.applied),
        (tp::SKIPPED, f.skipped),
    ]
    .into_iter()
    .enumerate()
    {
        ws.write_string(3 + row as u32, 0, label)?;
        ws.write_number(3 + row as u32, 1, n as f64)?;
    }
    ws.write_string(7, 0, tp::DEFINITION)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(201), 500);
    }

    #[test]
    fn the_chinese_file_name_is_encoded() {
        assert_eq!(rfc5987("考核 1.xlsx"), "%E8%80%83%E6%A0%B8%201.xlsx");
    }

    #[test]
    fn bars_and_line_follow_the_figures() {
        let t = vec![
            board::TrendPoint {
                date: "2026-11-01".into(),
                finished: 4,
                overdue: 0,
            },
            board::TrendPoint {
                date: "2026-11-02".into(),
                finished: 0,
                overdue: 2,
            },
        ];
        let c = Chart::of(&t);
        // Scale 0–5 over 216 px: 4 → 172 px tall; 2 → 86 px above the axis.
        assert_eq!(c.bars[0].h, 172);
        assert_eq!(c.bars[1].h, 0);
        assert_eq!(c.dots[1].y, c.bottom - 86);
        assert_eq!(c.line.split(' ').count(), 2);
    }
}
