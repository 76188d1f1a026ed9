//! The supervisor's live board (监督考核): what is open, what is overdue,
//! and how each unit kept its time limits over a period — one set of
//! figures for the page (`web::board`), its Excel export and the JSON API.
//!
//! Definitions (the page states them too):
//! - open items: work orders in progress or waiting for the applicant's
//!   correction (`open`, `returned`), by stage, unit and level;
//! - a finished stage: an action moved the order out of a stage (accepted,
//!   surveyed, designed, approved, built, connected, or rejected); orders
//!   cancelled by the applicant do not count;
//! - on-time rate: the share of the period's finished stages whose clock did
//!   not pass its deadline;
//! - average working time: the stage's working time on the official
//!   calendar and working hours, waiting for the applicant excluded;
//! - daily overdue: stages whose deadline fell on that day and passed
//!   unfinished (those finished late since, and those still overdue).

use crate::AppState;
use crate::app::error::Error;
use crate::texts::{self, board as t};
use onestop_domain::application::{Level, OrderStatus, Stage, UnitRef};
use onestop_domain::config::{CityConfig, UnitKind};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::timefmt;
use onestop_store::board::{self, BoardFilter, Period};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, Duration};
use utoipa::{IntoParams, ToSchema};

/// Days in the default period (the last 30 days, today included).
pub const DEFAULT_DAYS: i64 = 30;
/// The longest period accepted.
pub const MAX_DAYS: i64 = 366;
/// Rows on the overdue list.
pub const OVERDUE_ROWS: u32 = 50;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The stages a unit works in (every stage but `closed`).
pub fn working_stages() -> impl Iterator<Item = Stage> {
    Stage::ALL.iter().copied().filter(|s| *s != Stage::Closed)
}

/// The board's query: filters and period, all optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// A district code of the city (`421303`); absent: all districts.
    pub district: Option<String>,
    /// A service code (`water`, `power`, `gas`, `heat`, `network`); absent: all.
    pub service: Option<String>,
    /// First day of the period, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day of the period, `YYYY-MM-DD`, included (default: today).
    #[param(format = Date)]
    pub to: Option<String>,
}

/// A checked query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardParams {
    pub filter: BoardFilter,
    pub from: Date,
    pub to: Date,
}

impl BoardParams {
    /// The query string that asks for these figures again.
    pub fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(d) = &self.filter.district {
            pairs.push(("district", d.clone()));
        }
        if let Some(s) = &self.filter.service {
            pairs.push(("service", s.clone()));
        }
        pairs.push(("from", date_text(self.from)));
        pairs.push(("to", date_text(self.to)));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// `YYYY-MM-DD`.
pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn parse_date(name: &str, v: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Date> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    let d = onestop_domain::timefmt::parse_date(v);
    if d.is_none() {
        errors.push(FieldError::new(
            name,
            onestop_domain::form::FieldCode::InvalidFormat,
            texts::common::DATE_FORMAT,
        ));
    }
    d
}

/// A filter code, checked against the configured values.
fn parse_code(
    name: &str,
    v: Option<&str>,
    known: bool,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    if !known {
        errors.push(FieldError::new(name, FieldCode::UnknownValue, message));
        return None;
    }
    Some(v.to_owned())
}

/// Checks a query: every problem at once, each on its field.
pub fn params(
    q: &BoardQuery,
    config: &CityConfig,
    today: Date,
) -> Result<BoardParams, Vec<FieldError>> {
    let mut errors = Vec::new();
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_owned();
    let district = parse_code(
        "district",
        q.district.as_deref(),
        config.district(&trimmed(&q.district)).is_some(),
        t::DISTRICT_UNKNOWN,
        &mut errors,
    );
    let service = parse_code(
        "service",
        q.service.as_deref(),
        config.service(&trimmed(&q.service)).is_some(),
        t::SERVICE_UNKNOWN,
        &mut errors,
    );
    let to = parse_date("to", q.to.as_deref(), &mut errors);
    let from = parse_date("from", q.from.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    if from > to {
        errors.push(FieldError::new(
            "from",
            FieldCode::OutOfRange,
            t::FROM_AFTER_TO,
        ));
    } else if (to - from).whole_days() >= MAX_DAYS {
        errors.push(FieldError::new(
            "from",
            FieldCode::OutOfRange,
            texts::fill(t::TOO_LONG, &[("days", &MAX_DAYS)]),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(BoardParams {
        filter: BoardFilter { district, service },
        from,
        to,
    })
}

/// Open items of one level each.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LevelCounts {
    pub total: i64,
    pub normal: i64,
    pub warning: i64,
    pub overdue: i64,
}

impl LevelCounts {
    fn add(&mut self, level: Level, n: i64) {
        self.total += n;
        match level {
            Level::Normal => self.normal += n,
            Level::Warning => self.warning += n,
            Level::Overdue => self.overdue += n,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageOpen {
    pub stage: Stage,
    #[serde(flatten)]
    pub counts: LevelCounts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitOpen {
    pub unit: UnitRef,
    #[serde(flatten)]
    pub counts: LevelCounts,
}

/// Open items now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenFigures {
    /// All open items, by level.
    pub all: LevelCounts,
    /// By stage, in process order (every working stage, zeros included).
    pub by_stage: Vec<StageOpen>,
    /// By unit, in the configuration's order.
    pub by_unit: Vec<UnitOpen>,
}

/// One overdue order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueOrder {
    pub id: String,
    pub application_id: String,
    pub application_number: String,
    pub applicant_name: String,
    pub district_code: String,
    pub service: String,
    pub unit: UnitRef,
    pub stage: Stage,
    pub status: OrderStatus,
    #[serde(with = "timefmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: time::OffsetDateTime,
    /// Working time since the deadline (seconds, official calendar).
    pub overdue_working_seconds: i64,
}

/// One unit's finished stages of one kind in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageFigures {
    pub stage: Stage,
    pub finished: i64,
    pub on_time: i64,
    /// Mean working time of the finished stages (seconds), absent when none.
    pub average_working_seconds: Option<i64>,
}

/// One unit's figures for the period (the basis of its assessment, 考核).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitFigures {
    pub unit: UnitRef,
    /// Stages finished in the period.
    pub finished: i64,
    /// Of which before their deadline.
    pub on_time: i64,
    /// `on_time / finished`, absent when nothing was finished.
    pub on_time_rate: Option<f64>,
    /// Mean working time over all its finished stages (seconds).
    pub average_working_seconds: Option<i64>,
    /// Every working stage, in process order.
    pub stages: Vec<StageFigures>,
    /// Open items now, and of them overdue.
    pub open: i64,
    pub overdue: i64,
}

/// One day of the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendPoint {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Stages finished that day.
    pub finished: i64,
    /// Stages whose deadline fell that day and passed unfinished.
    pub overdue: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodView {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, included.
    pub to: String,
    pub days: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilterView {
    pub district: Option<String>,
    pub service: Option<String>,
}

/// The board's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Board {
    #[serde(with = "timefmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub generated_at: time::OffsetDateTime,
    /// When the open orders were counted (the server counts them every
    /// minute; at most 2 minutes before `generated_at`).
    #[serde(with = "timefmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub open_counted_at: time::OffsetDateTime,
    pub period: PeriodView,
    pub filters: FilterView,
    pub open: OpenFigures,
    /// Overdue orders, the longest overdue first (at most 50).
    pub overdue: Vec<OverdueOrder>,
    /// Per unit, in the configuration's order.
    pub units: Vec<UnitFigures>,
    /// Every day of the period, in order.
    pub trend: Vec<TrendPoint>,
    /// The one window: consultations, queue times, satisfaction per hall
    /// and unit, follow-ups on time.
    pub window: crate::app::counter::WindowFigures,
    /// Fees outside the red line (用户零投资) per unit: items added and
    /// exceptions recorded in the period, in the board's units' order.
    pub fees: Vec<UnitFees>,
    /// Pre-registration (一口登记早服务) in the period.
    pub pre_registrations: PreRegistrationFigures,
}

/// Projects pre-registered in the period (of the district, if filtered):
/// how many, how many became applications, and of those how many had a
/// stage skipped on the strength of a utility's network plan.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct PreRegistrationFigures {
    pub registered: i64,
    pub applied: i64,
    pub skipped: i64,
}

/// One unit's fees over the period, integer fen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitFees {
    pub unit: UnitRef,
    /// Borne by the utility outside the building's red line: its investment
    /// under the zero-investment rule.
    pub utility_outside_red_line_fen: i64,
    /// Paid by the user outside the red line, under documented exceptions.
    pub user_outside_red_line_fen: i64,
    /// Paid by the user inside the red line.
    pub user_inside_red_line_fen: i64,
    /// Exceptions to the zero-investment rule recorded for the unit's orders.
    pub exceptions: i64,
}

/// What the store answered for one board.
struct Raw {
    open: Vec<board::OpenCount>,
    open_counted_at_ms: i64,
    overdue: Vec<board::OverdueOrder>,
    stages: Vec<board::StageDay>,
    overdue_days: Vec<(i64, i64)>,
}

impl BoardParams {
    fn period(&self, offset: time::UtcOffset) -> Period {
        let ms = |d: Date| timefmt::to_ms(d.midnight().assume_offset(offset));
        Period {
            from_ms: ms(self.from),
            to_ms: ms(self.to + Duration::days(1)),
            offset_ms: i64::from(offset.whole_seconds()) * 1000,
        }
    }
}

/// A count older than this is not used: the board counts itself.
const OPEN_COUNT_MAX_AGE_MS: i64 = 120_000;

/// The latest count of every open order by district, service, unit, stage
/// and level, and when it was taken.
#[derive(Debug, Clone)]
pub struct OpenSnapshot {
    pub taken_at_ms: i64,
    pub rows: Vec<(String, board::OpenCount)>,
}

/// Counts every open order now and keeps the count for the board (the
/// job `jobs::open_counts` does it every minute).
pub async fn refresh_open_counts(state: &AppState) -> Result<(), Error> {
    let taken_at_ms = state.now_ms();
    let rows = state.store.read(board::open_counts_by_district).await?;
    *state.open_counts.write().unwrap_or_else(|e| e.into_inner()) =
        Some(std::sync::Arc::new(OpenSnapshot { taken_at_ms, rows }));
    Ok(())
}

/// The open orders the filter keeps: from the latest background count when
/// it is recent, else counted now. Returns the counts and when they were taken.
async fn open_counts(
    state: &AppState,
    f: board::BoardFilter,
) -> Result<(Vec<board::OpenCount>, i64), onestop_store::StoreError> {
    let now_ms = state.now_ms();
    let snapshot = state
        .open_counts
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(s) =
        snapshot.filter(|s| (0..=OPEN_COUNT_MAX_AGE_MS).contains(&(now_ms - s.taken_at_ms)))
    {
        return Ok((board::merge_counts(&s.rows, &f), s.taken_at_ms));
    }
    let counts = state.store.read(move |c| board::open_counts(c, &f)).await?;
    Ok((counts, now_ms))
}

/// The board's figures now, read in one reader job.
pub async fn load(state: &AppState, p: &BoardParams) -> Result<Board, Error> {
    let period = p.period(state.offset);
    let store = &state.store;
    let (f1, f2, f3, f4) = (
        p.filter.clone(),
        p.filter.clone(),
        p.filter.clone(),
        p.filter.clone(),
    );
    // Four reads at once, each on its own reader connection: the board
    // takes as long as its slowest query, not their sum.
    let ((open, open_counted_at_ms), overdue, stages, overdue_days) = tokio::try_join!(
        open_counts(state, f1),
        store.read(move |c| board::overdue(c, &f2, OVERDUE_ROWS)),
        store.read(move |c| board::finished_stages(c, &f3, period)),
        store.read(move |c| board::overdue_by_day(c, &f4, period)),
    )?;
    let raw = Raw {
        open,
        open_counted_at_ms,
        overdue,
        stages,
        overdue_days,
    };
    let mut b = assemble(state, p, period, raw);
    let units = b.units.iter().map(|u| u.unit.code.clone()).collect();
    let window = crate::app::counter::WindowFilter {
        district: p.filter.district.clone(),
        service: p.filter.service.clone(),
    };
    b.window = crate::app::counter::figures(state, p.from, p.to, window, units).await?;
    let f = p.filter.clone();
    let fees = store
        .read(move |c| onestop_store::fees::by_unit(c, &f, period))
        .await?;
    b.fees = unit_fees(&state.config, &b.units, &fees);
    let (from, to) = (date_text(p.from), date_text(p.to));
    let district = p.filter.district.clone();
    let f = store
        .read(move |c| {
            onestop_store::pre_registrations::figures(c, &from, &to, district.as_deref())
        })
        .await?;
    b.pre_registrations = PreRegistrationFigures {
        registered: f.registered,
        applied: f.applied,
        skipped: f.skipped,
    };
    Ok(b)
}

fn unit_ref(config: &CityConfig, code: &str) -> UnitRef {
    UnitRef {
        code: code.to_owned(),
        name: config
            .unit(code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone()),
    }
}

/// The utilities the board lists: all, or those serving one service, in
/// the configuration's order; then any other unit the figures name.
fn board_units(config: &CityConfig, service: Option<&str>, seen: &[&str]) -> Vec<String> {
    let serves = |unit: &str| match service.filter(|s| config.service(s).is_some()) {
        None => true,
        Some(s) => config.serves(s, unit),
    };
    let mut units: Vec<String> = config
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Utility && serves(&u.code))
        .map(|u| u.code.clone())
        .collect();
    for s in seen {
        if !units.iter().any(|u| u == s) {
            units.push((*s).to_owned());
        }
    }
    units
}

fn assemble(state: &AppState, p: &BoardParams, period: Period, raw: Raw) -> Board {
    let config = &state.config;
    let seen: Vec<&str> = raw
        .open
        .iter()
        .map(|c| c.unit_code.as_str())
        .chain(raw.stages.iter().map(|s| s.unit_code.as_str()))
        .collect();
    let units = board_units(config, p.filter.service.as_deref(), &seen);
    Board {
        generated_at: state.now(),
        open_counted_at: timefmt::from_ms(raw.open_counted_at_ms, state.offset),
        period: PeriodView {
            from: date_text(p.from),
            to: date_text(p.to),
            days: (p.to - p.from).whole_days() + 1,
        },
        filters: FilterView {
            district: p.filter.district.clone(),
            service: p.filter.service.clone(),
        },
        open: open_figures(config, &units, &raw.open),
        overdue: overdue_rows(state, raw.overdue),
        units: unit_figures(config, &units, &raw.open, &raw.stages),
        trend: trend(period, &raw.stages, &raw.overdue_days),
        window: Default::default(),
        fees: Vec::new(),
        pre_registrations: Default::default(),
    }
}

/// The board's units' fees (every unit listed, zero when none), then any
/// other unit with fees.
fn unit_fees(
    config: &CityConfig,
    units: &[UnitFigures],
    rows: &[onestop_store::fees::UnitFees],
) -> Vec<UnitFees> {
    let mut codes: Vec<&str> = units.iter().map(|u| u.unit.code.as_str()).collect();
    for r in rows {
        if !codes.contains(&r.unit_code.as_str()) {
            codes.push(&r.unit_code);
        }
    }
    codes
        .into_iter()
        .map(|code| {
            let r = rows.iter().find(|r| r.unit_code == code);
            UnitFees {
                unit: unit_ref(config, code),
                utility_outside_red_line_fen: r.map_or(0, |r| r.utility_outside_fen),
                user_outside_red_line_fen: r.map_or(0, |r| r.user_outside_fen),
                user_inside_red_line_fen: r.map_or(0, |r| r.user_inside_fen),
                exceptions: r.map_or(0, |r| r.exceptions),
            }
        })
        .collect()
}

fn open_figures(config: &CityConfig, units: &[String], open: &[board::OpenCount]) -> OpenFigures {
    let mut all = LevelCounts::default();
    let mut stages: Vec<StageOpen> = working_stages()
        .map(|stage| StageOpen {
            stage,
            counts: LevelCounts::default(),
        })
        .collect();
    let mut by_unit: Vec<UnitOpen> = units
        .iter()
        .map(|u| UnitOpen {
            unit: unit_ref(config, u),
            counts: LevelCounts::default(),
        })
        .collect();
    for c in open {
        all.add(c.level, c.count);
        if let Some(s) = stages.iter_mut().find(|s| s.stage == c.stage) {
            s.counts.add(c.level, c.count);
        }
        if let Some(u) = by_unit.iter_mut().find(|u| u.unit.code == c.unit_code) {
            u.counts.add(c.level, c.count);
        }
    }
    OpenFigures {
        all,
        by_stage: stages,
        by_unit,
    }
}

fn overdue_rows(state: &AppState, rows: Vec<board::OverdueOrder>) -> Vec<OverdueOrder> {
    let now_s = state.now_ms().div_euclid(1000);
    rows.into_iter()
        .map(|o| OverdueOrder {
            overdue_working_seconds: state
                .clock
                .get()
                .working_seconds_between(o.due_at_ms.div_euclid(1000), now_s)
                .unwrap_or(0),
            unit: unit_ref(&state.config, &o.unit_code),
            due_at: timefmt::from_ms(o.due_at_ms, state.offset),
            id: o.id,
            application_id: o.application_id,
            application_number: o.application_number,
            applicant_name: o.applicant_name,
            district_code: o.district_code,
            service: o.service,
            stage: o.stage,
            status: o.status,
        })
        .collect()
}

fn average(total: i64, n: i64) -> Option<i64> {
    (n > 0).then(|| (total as f64 / n as f64).round() as i64)
}

fn unit_figures(
    config: &CityConfig,
    units: &[String],
    open: &[board::OpenCount],
    stages: &[board::StageDay],
) -> Vec<UnitFigures> {
    units
        .iter()
        .map(|code| {
            let mine = stages.iter().filter(|s| &s.unit_code == code);
            let mut per: HashMap<Stage, (i64, i64, i64)> = HashMap::new();
            for s in mine {
                let e = per.entry(s.stage).or_default();
                e.0 += s.finished;
                e.1 += s.finished - s.late;
                e.2 += s.working_seconds;
            }
            let (finished, on_time, worked) = per
                .values()
                .fold((0, 0, 0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
            let open_here = open.iter().filter(|c| &c.unit_code == code);
            let (open_n, overdue_n) = open_here.fold((0, 0), |a, c| {
                (
                    a.0 + c.count,
                    a.1 + if c.level == Level::Overdue {
                        c.count
                    } else {
                        0
                    },
                )
            });
            UnitFigures {
                unit: unit_ref(config, code),
                finished,
                on_time,
                on_time_rate: (finished > 0).then(|| on_time as f64 / finished as f64),
                average_working_seconds: average(worked, finished),
                stages: working_stages()
                    .map(|stage| {
                        let (n, ok, w) = per.get(&stage).copied().unwrap_or_default();
                        StageFigures {
                            stage,
                            finished: n,
                            on_time: ok,
                            average_working_seconds: average(w, n),
                        }
                    })
                    .collect(),
                open: open_n,
                overdue: overdue_n,
            }
        })
        .collect()
}

/// The local date of a day number.
pub fn date_of_day(day: i64) -> Option<Date> {
    i32::try_from(day + UNIX_EPOCH_JULIAN_DAY)
        .ok()
        .and_then(|j| Date::from_julian_day(j).ok())
}

fn trend(period: Period, stages: &[board::StageDay], overdue: &[(i64, i64)]) -> Vec<TrendPoint> {
    let first = period.day_of(period.from_ms);
    let last = period.day_of(period.to_ms) - 1;
    (first..=last)
        .filter_map(|day| {
            Some(TrendPoint {
                date: date_text(date_of_day(day)?),
                finished: stages
                    .iter()
                    .filter(|s| s.day == day)
                    .map(|s| s.finished)
                    .sum(),
                overdue: overdue
                    .iter()
                    .find(|(d, _)| *d == day)
                    .map_or(0, |(_, n)| *n),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn q(from: &str, to: &str) -> BoardQuery {
        BoardQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_default_period_is_the_last_thirty_days() {
        let config = CityConfig::default_city();
        let p = params(&BoardQuery::default(), &config, date!(2026 - 11 - 30)).unwrap();
        assert_eq!(
            (p.from, p.to),
            (date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        );
        assert_eq!(p.query_string(), "from=2026-11-01&to=2026-11-30");
    }

    #[test]
    fn every_bad_field_is_named() {
        let config = CityConfig::default_city();
        let bad = BoardQuery {
            district: Some("999999".into()),
            service: Some("coal".into()),
            from: Some("2026-13-01".into()),
            to: Some("yesterday".into()),
        };
        let fields: Vec<_> = params(&bad, &config, date!(2026 - 11 - 30))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["district", "service", "to", "from"]);
        let backwards = params(
            &q("2026-11-02", "2026-11-01"),
            &config,
            date!(2026 - 11 - 30),
        );
        assert_eq!(backwards.unwrap_err()[0].field, "from");
        let long = params(
            &q("2025-01-01", "2026-11-01"),
            &config,
            date!(2026 - 11 - 30),
        );
        assert_eq!(long.unwrap_err()[0].code, FieldCode::OutOfRange);
    }

    #[test]
    fn day_numbers_are_local_dates() {
        assert_eq!(date_of_day(0), Some(date!(1970 - 01 - 01)));
        let p = Period {
            from_ms: 0,
            to_ms: 0,
            offset_ms: 8 * 3_600_000,
        };
        // 2026-11-30T16:00:00Z is already 12-01 in Beijing.
        let ms = timefmt::to_ms(timefmt::parse("2026-11-30T16:00:00Z").unwrap());
        assert_eq!(date_of_day(p.day_of(ms)), Some(date!(2026 - 12 - 01)));
    }
}
