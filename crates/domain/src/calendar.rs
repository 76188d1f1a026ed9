//! The official working-day calendar and the working-time clock.
//!
//! Pure code: nothing here reads files or the system clock.
//!
//! - [`WorkingHours`]: the working periods of a working day (default 08:30–12:00 and
//!   14:30–17:30, UTC+8).
//! - [`Calendar`]: which days are working days. The built-in data comes from the
//!   `chinese_holiday` crate (which tracks the State Council's yearly notices) and covers
//!   [`BUILTIN_FIRST_DATE`]`..=`[`BUILTIN_LAST_DATE`]; an administrator's
//!   [`CalendarOverrides`] file adds later years and corrects days. A date outside the
//!   coverage is an error ([`CalendarError::YearMissing`]), never a guess.
//! - [`Clock`]: deadline arithmetic in working time ("N working days from T"), backed by
//!   a dense per-day table and prefix sums of working seconds so that one computation is a
//!   few array look-ups.
//!
//! Instants are Unix seconds (`i64`, UTC); local dates and working periods are taken at
//! the configured UTC offset.

mod clock;
mod data;
mod hours;
pub mod provisional;

pub use clock::Clock;
pub use data::{
    BUILTIN_FIRST_DATE, BUILTIN_LAST_DATE, Calendar, CalendarOverrides, CoverageSource, DayInfo,
    DayKind, OverrideDay, YearCoverage,
};
pub use hours::WorkingHours;

use time::Date;

/// Errors of the calendar and the clock. `Display` is Chinese (shown to users);
/// [`CalendarError::code`] gives the stable API error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalendarError {
    /// The calendar has no data for `date`; `year` is the year whose official
    /// arrangement has to be imported (for the last days of December not yet covered,
    /// that is the next year, whose notice decides them).
    #[error("{year}年节假日安排尚未导入（日期 {date} 无法计算工作时间）")]
    YearMissing { year: i32, date: Date },
    /// The administrator's overrides file is not valid.
    #[error("节假日调整文件有误：{}", .problems.join("；"))]
    InvalidOverrides { problems: Vec<String> },
    /// A negative, non-finite or absurdly large duration.
    #[error("工作时长无效：{0}")]
    InvalidDuration(String),
}

impl CalendarError {
    /// Stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::YearMissing { .. } => "calendar_year_missing",
            CalendarError::InvalidOverrides { .. } => "calendar_overrides_invalid",
            CalendarError::InvalidDuration(_) => "invalid_duration",
        }
    }
}

/// Days since 1970-01-01 of a date.
#[inline]
pub(crate) fn epoch_day(date: Date) -> i64 {
    date.to_julian_day() as i64 - UNIX_EPOCH_JULIAN_DAY
}

/// The date `days` days after 1970-01-01, if `time` can represent it.
#[inline]
pub(crate) fn date_from_epoch_day(days: i64) -> Option<Date> {
    let jd = days.checked_add(UNIX_EPOCH_JULIAN_DAY)?;
    let jd = i32::try_from(jd).ok()?;
    Date::from_julian_day(jd).ok()
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn calendar_epoch_day_round_trip() {
        assert_eq!(epoch_day(date!(1970 - 01 - 01)), 0);
        assert_eq!(epoch_day(date!(2026 - 01 - 01)), 20454);
        for d in [-1_000_000, -1, 0, 1, 20454, 2_000_000] {
            assert_eq!(epoch_day(date_from_epoch_day(d).unwrap()), d);
        }
        assert_eq!(date_from_epoch_day(i64::MAX), None);
    }

    #[test]
    fn calendar_error_display_and_code() {
        let e = CalendarError::YearMissing {
            year: 2027,
            date: date!(2027 - 01 - 04),
        };
        assert_eq!(
            e.to_string(),
            "2027年节假日安排尚未导入（日期 2027-01-04 无法计算工作时间）"
        );
        assert_eq!(e.code(), "calendar_year_missing");
        assert_eq!(
            CalendarError::InvalidDuration("x".into()).code(),
            "invalid_duration"
        );
        assert_eq!(
            CalendarError::InvalidOverrides { problems: vec![] }.code(),
            "calendar_overrides_invalid"
        );
    }
}
