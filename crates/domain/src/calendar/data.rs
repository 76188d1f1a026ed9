//! Calendar data: the built-in official calendar, the administrator's overrides and the
//! dense per-day table built from both.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize, Serializer};
use time::macros::date;
use time::{Date, Month, Weekday};

use super::{CalendarError, date_from_epoch_day, epoch_day};

/// First date of the built-in data (the `chinese_holiday` crate's range).
pub const BUILTIN_FIRST_DATE: Date = date!(2004 - 01 - 01);
/// Last date of the built-in data. The last days of December depend on the next year's
/// notice, which the built-in data does not have yet.
pub const BUILTIN_LAST_DATE: Date = date!(2026 - 12 - 25);

/// Years accepted in an overrides file.
const OVERRIDE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Name given to make-up days (and holidays) that belong to no named festival.
const OTHER_NAME: &str = "调休";

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday–Friday without a holiday.
    Workday,
    /// Saturday or Sunday without make-up work.
    Weekend,
    /// Statutory holiday (including the weekend days inside a holiday period).
    Holiday,
    /// Saturday or Sunday worked to make up for a holiday (调休上班).
    MakeupWorkday,
}

impl DayKind {
    /// Whether working hours apply on such a day.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeupWorkday)
    }

    /// The API spelling: `workday`, `weekend`, `holiday`, `makeup_workday`.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Workday => "workday",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "holiday",
            DayKind::MakeupWorkday => "makeup_workday",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "workday" => DayKind::Workday,
            "weekend" => DayKind::Weekend,
            "holiday" => DayKind::Holiday,
            "makeup_workday" => DayKind::MakeupWorkday,
            _ => return None,
        })
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> Self {
        match code & !PROVISIONAL {
            0 => DayKind::Workday,
            1 => DayKind::Weekend,
            2 => DayKind::Holiday,
            _ => DayKind::MakeupWorkday,
        }
    }
}

/// One day of the calendar, as served by `GET /api/v1/calendar/days/{date}`:
/// `{"date":"2026-02-14","working":true,"kind":"makeup_workday","name":"春节"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayInfo {
    #[serde(serialize_with = "serialize_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-02-14"))]
    pub date: Date,
    pub working: bool,
    pub kind: DayKind,
    /// Festival name, for holidays and make-up workdays only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "春节"))]
    pub name: Option<String>,
    /// Present (`true`) for a day the official notice does not cover yet:
    /// derived from the statutory rules, to be replaced by the import.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

/// Where a year's calendar comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CoverageSource {
    #[serde(rename = "builtin")]
    Builtin,
    #[serde(rename = "override")]
    Override,
    #[serde(rename = "builtin+override")]
    BuiltinOverride,
}

impl CoverageSource {
    /// `builtin`, `override` or `builtin+override`.
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageSource::Builtin => "builtin",
            CoverageSource::Override => "override",
            CoverageSource::BuiltinOverride => "builtin+override",
        }
    }
}

impl std::fmt::Display for CoverageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of one year the calendar covers. Coverage within a year is always one
/// contiguous range `first..=last`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YearCoverage {
    pub year: i32,
    pub source: CoverageSource,
    #[serde(serialize_with = "serialize_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first: Date,
    #[serde(serialize_with = "serialize_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub last: Date,
    /// Whether the whole year (January 1 to December 31) is covered.
    pub complete: bool,
}

fn serialize_date<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    // `Display` of `time::Date` is `YYYY-MM-DD` for years 0..=9999.
    serializer.collect_str(date)
}

/// One day set by the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideDay {
    pub date: Date,
    pub kind: DayKind,
    pub name: Option<String>,
}

/// The administrator's calendar file: whole years the built-in data does not have yet,
/// and individual days (new years' holidays and make-up days, or corrections).
///
/// ```toml
/// [[years]]
/// year = 2027           # this whole year is covered by the administrator
/// [[days]]
/// date = "2027-01-01"
/// kind = "holiday"      # or "makeup_workday" (or "workday"/"weekend" to correct a day)
/// name = "元旦"
/// ```
///
/// A listed year is covered from January 1 to December 31; its days not listed in
/// `[[days]]` are workdays Monday–Friday and weekend days Saturday–Sunday. Listing a
/// year also extends the coverage of the previous year (when that year is covered at
/// all) to its December 31, since the next year's notice decides the last days of
/// December. Listed days take precedence over the built-in data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarOverrides {
    years: BTreeSet<i32>,
    days: BTreeMap<Date, OverrideDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverrides {
    #[serde(default)]
    years: Vec<RawYear>,
    #[serde(default)]
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: toml::Value,
    kind: String,
    #[serde(default)]
    name: Option<String>,
}

impl CalendarOverrides {
    /// Parses and validates an overrides file; every problem found is reported.
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let raw: RawOverrides =
            toml::from_str(text).map_err(|e| CalendarError::InvalidOverrides {
                problems: vec![format!("不是有效的 TOML：{}", e.message().trim())],
            })?;
        let mut problems = Vec::new();

        let mut years = BTreeSet::new();
        for (n, y) in raw.years.iter().enumerate() {
            match i32::try_from(y.year) {
                Ok(year) if OVERRIDE_YEARS.contains(&year) => {
                    years.insert(year);
                }
                _ => problems.push(format!(
                    "第 {} 个 [[years]]：年份 {} 超出支持范围（{}–{}）",
                    n + 1,
                    y.year,
                    OVERRIDE_YEARS.start(),
                    OVERRIDE_YEARS.end()
                )),
            }
        }

        let mut days = BTreeMap::new();
        for (n, d) in raw.days.iter().enumerate() {
            let n = n + 1;
            let date_text = match &d.date {
                toml::Value::String(s) => s.trim().to_string(),
                toml::Value::Datetime(dt) => dt.to_string(),
                other => other.to_string(),
            };
            let Some(date) = parse_date(&date_text) else {
                problems.push(format!(
                    "第 {n} 个 [[days]]：日期 {date_text:?} 无效，应为 YYYY-MM-DD"
                ));
                continue;
            };
            let Some(kind) = DayKind::parse(d.kind.trim()) else {
                problems.push(format!(
                    "第 {n} 个 [[days]]（{date}）：类型 {:?} 无效，应为 workday、weekend、holiday 或 makeup_workday",
                    d.kind
                ));
                continue;
            };
            let name = d
                .name
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let weekend = is_weekend(date.weekday());
            let weekday = weekday_zh(date.weekday());
            let name = match kind {
                DayKind::Holiday if name.is_none() => {
                    problems.push(format!(
                        "第 {n} 个 [[days]]（{date}）：节假日（holiday）必须填写名称 name，例如 \"春节\""
                    ));
                    continue;
                }
                DayKind::MakeupWorkday if !weekend => {
                    problems.push(format!(
                        "第 {n} 个 [[days]]（{date}）：调休上班日（makeup_workday）只能是星期六或星期日，该日是{weekday}"
                    ));
                    continue;
                }
                DayKind::Workday if weekend => {
                    problems.push(format!(
                        "第 {n} 个 [[days]]（{date}）：该日是{weekday}，周末上班请使用 makeup_workday"
                    ));
                    continue;
                }
                DayKind::Weekend if !weekend => {
                    problems.push(format!(
                        "第 {n} 个 [[days]]（{date}）：该日是{weekday}，不是周末；放假请使用 holiday"
                    ));
                    continue;
                }
                DayKind::Holiday => name,
                DayKind::MakeupWorkday => name.or_else(|| Some(OTHER_NAME.to_string())),
                DayKind::Workday | DayKind::Weekend => None,
            };
            let year = date.year();
            let allowed_year =
                years.contains(&year) || is_builtin_year(year) || years.contains(&(year + 1));
            if !allowed_year {
                problems.push(format!(
                    "第 {n} 个 [[days]]（{date}）：{year}年既不是内置年份，也未在 [[years]] 中列出"
                ));
                continue;
            }
            if !is_covered(date, &years) {
                problems.push(format!(
                    "第 {n} 个 [[days]]（{date}）：该日不在日历覆盖范围内（内置数据截至 {BUILTIN_LAST_DATE}），请在 [[years]] 中列出 {}年",
                    if date.month() == Month::December && is_builtin_year(year) {
                        year + 1
                    } else {
                        year
                    }
                ));
                continue;
            }
            if days.contains_key(&date) {
                problems.push(format!("第 {n} 个 [[days]]：日期 {date} 重复"));
                continue;
            }
            days.insert(date, OverrideDay { date, kind, name });
        }

        if problems.is_empty() {
            Ok(CalendarOverrides { years, days })
        } else {
            Err(CalendarError::InvalidOverrides { problems })
        }
    }

    /// Years listed in `[[years]]`, ascending.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Days listed in `[[days]]`, by date.
    pub fn days(&self) -> impl Iterator<Item = &OverrideDay> + '_ {
        self.days.values()
    }

    /// Whether the file lists nothing.
    pub fn is_empty(&self) -> bool {
        self.years.is_empty() && self.days.is_empty()
    }
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if text.len() != 10 {
        return None;
    }
    Date::parse(text, &format).ok()
}

fn is_weekend(w: Weekday) -> bool {
    matches!(w, Weekday::Saturday | Weekday::Sunday)
}

fn weekday_zh(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "星期一",
        Weekday::Tuesday => "星期二",
        Weekday::Wednesday => "星期三",
        Weekday::Thursday => "星期四",
        Weekday::Friday => "星期五",
        Weekday::Saturday => "星期六",
        Weekday::Sunday => "星期日",
    }
}

fn is_builtin_year(year: i32) -> bool {
    (BUILTIN_FIRST_DATE.year()..=BUILTIN_LAST_DATE.year()).contains(&year)
}

/// Whether `date` is covered by the built-in data together with the listed years.
fn is_covered(date: Date, listed: &BTreeSet<i32>) -> bool {
    let year = date.year();
    (BUILTIN_FIRST_DATE..=BUILTIN_LAST_DATE).contains(&date)
        || listed.contains(&year)
        || (date.month() == Month::December
            && listed.contains(&(year + 1))
            && is_builtin_year(year))
}

/// The built-in official calendar for `date`, `None` outside the built-in range.
fn builtin_day(date: Date) -> Option<(DayKind, Option<&'static str>)> {
    use chinese_holiday::DayKind as K;
    if !(BUILTIN_FIRST_DATE..=BUILTIN_LAST_DATE).contains(&date) {
        return None;
    }
    // The guard above keeps the year within 2004..=2026, so the casts are exact and the
    // crate's range assertion cannot fire.
    let ymd = chinese_holiday::Ymd::new(date.year() as u16, date.month() as u8, date.day());
    let (kind, name) = match chinese_holiday::chinese_holiday(ymd) {
        K::NormalWorkday => (DayKind::Workday, None),
        K::NormalHoliday => (DayKind::Weekend, None),
        K::NewYearsDayHoliday => (DayKind::Holiday, Some("元旦")),
        K::NewYearsDayWorkday => (DayKind::MakeupWorkday, Some("元旦")),
        K::SpringFestivalHoliday => (DayKind::Holiday, Some("春节")),
        K::SpringFestivalWorkday => (DayKind::MakeupWorkday, Some("春节")),
        K::ChingMingFestivalHoliday => (DayKind::Holiday, Some("清明节")),
        K::ChingMingFestivalWorkday => (DayKind::MakeupWorkday, Some("清明节")),
        K::InternationalWorkersDayHoliday => (DayKind::Holiday, Some("劳动节")),
        K::InternationalWorkersDayWorkday => (DayKind::MakeupWorkday, Some("劳动节")),
        K::DragonBoatFestivalHoliday => (DayKind::Holiday, Some("端午节")),
        K::DragonBoatFestivalWorkday => (DayKind::MakeupWorkday, Some("端午节")),
        K::MidAutumnFestivalHoliday => (DayKind::Holiday, Some("中秋节")),
        K::MidAutumnFestivalWorkday => (DayKind::MakeupWorkday, Some("中秋节")),
        K::NationalDayHoliday => (DayKind::Holiday, Some("国庆节")),
        K::NationalDayWorkday => (DayKind::MakeupWorkday, Some("国庆节")),
        K::OtherHoliday => (DayKind::Holiday, Some(OTHER_NAME)),
        K::OtherWorkday => (DayKind::MakeupWorkday, Some(OTHER_NAME)),
    };
    Some((kind, name))
}

/// Marker for an uncovered day in [`Calendar::kinds`].
const MISSING: u8 = u8::MAX;
/// Bit set on the kind code of a provisional day.
const PROVISIONAL: u8 = 0x40;

/// The official working-day calendar over a dense range of dates.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Days since 1970-01-01 of the table's first day.
    first_epoch_day: i64,
    /// Per day: [`DayKind`] code, or [`MISSING`] for an uncovered day.
    kinds: Vec<u8>,
    /// Per day: index into `names` plus one; 0 for no name.
    name_idx: Vec<u16>,
    names: Vec<String>,
    coverage: Vec<YearCoverage>,
    /// The first and last provisional day, when there are any.
    provisional: Option<(Date, Date)>,
}

impl Calendar {
    /// Builds the calendar from the built-in data and the administrator's overrides.
    pub fn new(overrides: Option<&CalendarOverrides>) -> Result<Calendar, CalendarError> {
        let empty = CalendarOverrides::default();
        let ov = overrides.unwrap_or(&empty);

        // Overrides built by `from_toml` are valid; re-check what the table relies on.
        let mut problems = Vec::new();
        for &y in &ov.years {
            if !OVERRIDE_YEARS.contains(&y) {
                problems.push(format!("年份 {y} 超出支持范围"));
            }
        }
        for d in ov.days.values() {
            if !is_covered(d.date, &ov.years) {
                problems.push(format!("日期 {} 不在日历覆盖范围内", d.date));
            }
        }
        if !problems.is_empty() {
            return Err(CalendarError::InvalidOverrides { problems });
        }

        let mut first = BUILTIN_FIRST_DATE;
        let mut last = BUILTIN_LAST_DATE;
        if let (Some(&lo), Some(&hi)) = (ov.years.first(), ov.years.last()) {
            first = first.min(year_first(lo));
            last = last.max(year_last(hi));
        }
        let first_epoch_day = epoch_day(first);
        let n = (epoch_day(last) - first_epoch_day + 1) as usize;

        let mut kinds = Vec::with_capacity(n);
        let mut name_idx = Vec::with_capacity(n);
        let mut names: Vec<String> = Vec::new();
        // Per year: (first, last, uses builtin data, touched by overrides).
        let mut years: BTreeMap<i32, (Date, Date, bool, bool)> = BTreeMap::new();

        let mut date = first;
        for _ in 0..n {
            if !is_covered(date, &ov.years) {
                kinds.push(MISSING);
                name_idx.push(0);
            } else {
                let (kind, name, from_builtin) = if let Some(d) = ov.days.get(&date) {
                    (d.kind, d.name.as_deref(), false)
                } else if let Some((kind, name)) = builtin_day(date) {
                    (kind, name, true)
                } else if is_weekend(date.weekday()) {
                    (DayKind::Weekend, None, false)
                } else {
                    (DayKind::Workday, None, false)
                };
                kinds.push(kind.code());
                name_idx.push(match name {
                    None => 0,
                    Some(name) => match names.iter().position(|s| s == name) {
                        Some(i) => i as u16 + 1,
                        None => {
                            names.push(name.to_string());
                            names.len() as u16
                        }
                    },
                });
                let touched = !from_builtin || ov.years.contains(&date.year());
                years
                    .entry(date.year())
                    .and_modify(|e| {
                        e.1 = date;
                        e.2 |= from_builtin;
                        e.3 |= touched;
                    })
                    .or_insert((date, date, from_builtin, touched));
            }
            match date.next_day() {
                Some(next) => date = next,
                None => break,
            }
        }

        let coverage = years
            .into_iter()
            .map(|(year, (first, last, builtin, touched))| YearCoverage {
                year,
                source: match (builtin, touched) {
                    (true, false) => CoverageSource::Builtin,
                    (true, true) => CoverageSource::BuiltinOverride,
                    (false, _) => CoverageSource::Override,
                },
                first,
                last,
                complete: first == year_first(year) && last == year_last(year),
            })
            .collect();

        Ok(Calendar {
            first_epoch_day,
            kinds,
            name_idx,
            names,
            coverage,
            provisional: None,
        })
    }

    /// The built-in data alone.
    pub fn builtin() -> Calendar {
        // Without overrides there is nothing to reject.
        match Calendar::new(None) {
            Ok(c) => c,
            Err(e) => unreachable!("built-in calendar: {e}"),
        }
    }

    /// This calendar with the days its official data leaves uncovered, from
    /// its first covered day to the end of the second year after its last
    /// covered year, filled by the statutory rules
    /// ([`provisional`](super::provisional)) and marked provisional: a
    /// deadline past the last official notice can still be counted, as an
    /// estimate, until the next year's notice is imported. Years the rules do
    /// not reach stay uncovered.
    pub fn with_provisional(mut self) -> Calendar {
        let Some(last_year) = self.coverage.last().map(|c| c.year) else {
            return self;
        };
        let end = year_last(last_year.saturating_add(2));
        let len = usize::try_from(epoch_day(end) - self.first_epoch_day + 1).unwrap_or(0);
        if len > self.kinds.len() {
            self.kinds.resize(len, MISSING);
            self.name_idx.resize(len, 0);
        }
        let mut rules: BTreeMap<i32, Option<BTreeMap<Date, &'static str>>> = BTreeMap::new();
        for i in 0..self.kinds.len() {
            if self.kinds[i] != MISSING {
                continue;
            }
            let Some(date) = date_from_epoch_day(self.first_epoch_day + i as i64) else {
                continue;
            };
            let Some(holidays) = rules
                .entry(date.year())
                .or_insert_with(|| super::provisional::holidays(date.year()))
            else {
                continue;
            };
            let (kind, name) = match holidays.get(&date) {
                Some(name) => (DayKind::Holiday, Some(*name)),
                None if is_weekend(date.weekday()) => (DayKind::Weekend, None),
                None => (DayKind::Workday, None),
            };
            self.kinds[i] = kind.code() | PROVISIONAL;
            self.name_idx[i] = match name {
                None => 0,
                Some(name) => match self.names.iter().position(|s| s == name) {
                    Some(k) => k as u16 + 1,
                    None => {
                        self.names.push(name.to_owned());
                        self.names.len() as u16
                    }
                },
            };
            self.provisional = Some(match self.provisional {
                None => (date, date),
                Some((first, _)) => (first, date),
            });
        }
        self
    }

    /// The first and last day filled in provisionally, if any.
    pub fn provisional_range(&self) -> Option<(Date, Date)> {
        self.provisional
    }

    /// Whether `date` is a provisional day.
    pub fn is_provisional(&self, date: Date) -> bool {
        self.day(date).is_ok_and(|d| d.provisional)
    }

    /// The kind of `date`, or [`CalendarError::YearMissing`] outside the coverage.
    pub fn day(&self, date: Date) -> Result<DayInfo, CalendarError> {
        let i = epoch_day(date) - self.first_epoch_day;
        match usize::try_from(i).ok().filter(|&i| i < self.kinds.len()) {
            Some(i) if self.kinds[i] != MISSING => Ok(self.info(i, date)),
            _ => Err(self.missing(date)),
        }
    }

    /// Whether `date` is covered.
    pub fn covers(&self, date: Date) -> bool {
        self.day(date).is_ok()
    }

    /// Whether the whole `year` (January 1 to December 31) is covered.
    pub fn covers_year(&self, year: i32) -> bool {
        self.coverage.iter().any(|c| c.year == year && c.complete)
    }

    /// Per covered year: its source and covered range, ascending by year.
    pub fn coverage(&self) -> Vec<YearCoverage> {
        self.coverage.clone()
    }

    /// Number of days in the dense table.
    pub(crate) fn table_len(&self) -> usize {
        self.kinds.len()
    }

    /// Days since 1970-01-01 of table index 0.
    pub(crate) fn first_epoch_day(&self) -> i64 {
        self.first_epoch_day
    }

    /// Table index `i`: `None` if uncovered, else whether it is a working day.
    pub(crate) fn working_at(&self, i: usize) -> Option<bool> {
        match self.kinds[i] {
            MISSING => None,
            code => Some(DayKind::from_code(code).is_working()),
        }
    }

    /// Day information for table index `i` (which must be covered).
    pub(crate) fn info(&self, i: usize, date: Date) -> DayInfo {
        let kind = DayKind::from_code(self.kinds[i]);
        let name = match self.name_idx[i] {
            0 => None,
            k => Some(self.names[k as usize - 1].clone()),
        };
        DayInfo {
            date,
            working: kind.is_working(),
            kind,
            name,
            provisional: self.kinds[i] & PROVISIONAL != 0 && self.kinds[i] != MISSING,
        }
    }

    /// The error for an uncovered `date`. For the uncovered tail of a year whose earlier
    /// days are covered, the missing arrangement is the next year's notice.
    pub(crate) fn missing(&self, date: Date) -> CalendarError {
        let year = date.year();
        let tail_of_covered_year = self
            .coverage
            .iter()
            .any(|c| c.year == year && date > c.last);
        CalendarError::YearMissing {
            year: if tail_of_covered_year { year + 1 } else { year },
            date,
        }
    }

    /// The error for the uncovered day `days` days after 1970-01-01 (clamped to the
    /// dates `time` can represent).
    pub(crate) fn missing_epoch_day(&self, days: i64) -> CalendarError {
        let date =
            date_from_epoch_day(days).unwrap_or(if days < 0 { Date::MIN } else { Date::MAX });
        self.missing(date)
    }
}

fn year_first(year: i32) -> Date {
    Date::from_calendar_date(year, Month::January, 1).unwrap_or(Date::MIN)
}

fn year_last(year: i32) -> Date {
    Date::from_calendar_date(year, Month::December, 31).unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_builtin_mapping() {
        let cal = Calendar::builtin();
        let d = cal.day(date!(2026 - 02 - 14)).unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"date":"2026-02-14","working":true,"kind":"makeup_workday","name":"春节"}"#
        );
        let d = cal.day(date!(2026 - 03 - 02)).unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"date":"2026-03-02","working":true,"kind":"workday"}"#
        );
        let d = cal.day(date!(2026 - 03 - 01)).unwrap();
        assert_eq!((d.kind, d.working, d.name), (DayKind::Weekend, false, None));
        let d = cal.day(date!(2015 - 09 - 03)).unwrap();
        assert_eq!(
            (d.kind, d.name.as_deref()),
            (DayKind::Holiday, Some("调休"))
        );
        let d = cal.day(date!(2024 - 04 - 04)).unwrap();
        assert_eq!(
            (d.kind, d.name.as_deref()),
            (DayKind::Holiday, Some("清明节"))
        );
    }

    #[test]
    fn calendar_builtin_range_guarded() {
        let cal = Calendar::builtin();
        assert!(cal.day(BUILTIN_FIRST_DATE).is_ok());
        assert!(cal.day(BUILTIN_LAST_DATE).is_ok());
        assert_eq!(
            cal.day(date!(2003 - 12 - 31)),
            Err(CalendarError::YearMissing {
                year: 2003,
                date: date!(2003 - 12 - 31)
            })
        );
        assert_eq!(
            cal.day(date!(2026 - 12 - 26)),
            Err(CalendarError::YearMissing {
                year: 2027,
                date: date!(2026 - 12 - 26)
            })
        );
        assert!(cal.day(Date::MAX).is_err());
        assert!(cal.day(Date::MIN).is_err());
        assert_eq!(builtin_day(date!(2026 - 12 - 26)), None);
        assert_eq!(builtin_day(date!(2003 - 12 - 31)), None);
    }

    #[test]
    fn calendar_coverage_builtin_only() {
        let cal = Calendar::builtin();
        let cov = cal.coverage();
        assert_eq!(cov.len(), 23);
        assert_eq!(cov[0].year, 2004);
        assert!(cov[0].complete);
        let last = cov.last().unwrap();
        assert_eq!(last.year, 2026);
        assert_eq!(last.source, CoverageSource::Builtin);
        assert_eq!(last.last, BUILTIN_LAST_DATE);
        assert!(!last.complete);
        assert!(cal.covers_year(2025));
        assert!(!cal.covers_year(2026));
        assert!(!cal.covers_year(2027));
        assert_eq!(
            serde_json::to_value(last).unwrap(),
            serde_json::json!({"year":2026,"source":"builtin","first":"2026-01-01","last":"2026-12-25","complete":false})
        );
    }

    #[test]
    fn calendar_overrides_validation() {
        let bad = |text: &str, needle: &str| {
            let err = CalendarOverrides::from_toml(text).unwrap_err();
            assert_eq!(err.code(), "calendar_overrides_invalid");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        };
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-02-30\"\nkind = \"holiday\"\nname = \"x\"",
            "无效",
        );
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holyday\"\nname = \"元旦\"",
            "类型",
        );
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holiday\"",
            "名称",
        );
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-04\"\nkind = \"makeup_workday\"\nname = \"元旦\"",
            "星期一",
        );
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-02\"\nkind = \"workday\"",
            "makeup_workday",
        );
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-04\"\nkind = \"weekend\"",
            "holiday",
        );
        bad(
            "[[days]]\ndate = \"2028-05-01\"\nkind = \"holiday\"\nname = \"劳动节\"",
            "2028年",
        );
        bad(
            "[[days]]\ndate = \"2026-12-28\"\nkind = \"workday\"",
            "2027年",
        );
        bad("[[years]]\nyear = 1990", "超出");
        bad(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holiday\"\nname = \"元旦\"\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holiday\"\nname = \"元旦\"",
            "重复",
        );
        bad("[[year]]\nyear = 2027", "TOML");
        bad("[[years]]\nyear = \"2027\"", "TOML");
        // All problems are reported at once.
        let err = CalendarOverrides::from_toml(
            "[[days]]\ndate = \"2030-01-01\"\nkind = \"holiday\"\n[[days]]\ndate = \"x\"\nkind = \"holiday\"",
        )
        .unwrap_err();
        let CalendarError::InvalidOverrides { problems } = err else {
            panic!()
        };
        assert_eq!(problems.len(), 2);
    }

    #[test]
    fn calendar_overrides_accepts_toml_dates_and_defaults() {
        let ov = CalendarOverrides::from_toml(
            "[[years]]\nyear = 2027\n[[days]]\ndate = 2027-02-06\nkind = \"makeup_workday\"\n[[days]]\ndate = \"2026-12-31\"\nkind = \"holiday\"\nname = \" 元旦 \"\n",
        )
        .unwrap();
        assert_eq!(ov.years().collect::<Vec<_>>(), vec![2027]);
        let days: Vec<_> = ov.days().cloned().collect();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].name.as_deref(), Some("元旦"));
        assert_eq!(days[1].name.as_deref(), Some("调休"));
        assert!(CalendarOverrides::from_toml("").unwrap().is_empty());
    }

    #[test]
    fn calendar_coverage_with_overrides() {
        let ov = CalendarOverrides::from_toml(
            "[[years]]\nyear = 2027\n[[years]]\nyear = 2029\n[[days]]\ndate = \"2025-05-06\"\nkind = \"holiday\"\nname = \"劳动节\"",
        )
        .unwrap();
        let cal = Calendar::new(Some(&ov)).unwrap();
        let cov = cal.coverage();
        let get = |y: i32| cov.iter().find(|c| c.year == y).cloned();
        assert_eq!(get(2024).unwrap().source, CoverageSource::Builtin);
        assert_eq!(get(2025).unwrap().source, CoverageSource::BuiltinOverride);
        let c2026 = get(2026).unwrap();
        assert_eq!(c2026.source, CoverageSource::BuiltinOverride);
        assert_eq!(c2026.last, date!(2026 - 12 - 31));
        assert!(c2026.complete);
        assert_eq!(get(2027).unwrap().source, CoverageSource::Override);
        assert!(get(2028).is_none());
        assert!(get(2029).unwrap().complete);
        assert!(cal.covers_year(2026) && cal.covers_year(2027) && cal.covers_year(2029));
        assert!(!cal.covers_year(2028));
        assert_eq!(
            cal.day(date!(2028 - 12 - 31)),
            Err(CalendarError::YearMissing {
                year: 2028,
                date: date!(2028 - 12 - 31)
            })
        );
        assert_eq!(
            cal.day(date!(2029 - 01 - 01)).unwrap().kind,
            DayKind::Workday
        );
        assert_eq!(
            cal.day(date!(2025 - 05 - 06)).unwrap().kind,
            DayKind::Holiday
        );
    }
}
