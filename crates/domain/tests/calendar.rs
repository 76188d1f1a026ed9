//! The official calendar and the working-time clock, checked against the State Council's
//! published arrangements, the deadline semantics of the API spec, and a naive reference
//! implementation.

use onestop_domain::calendar::{
    Calendar, CalendarError, CalendarOverrides, Clock, CoverageSource, DayKind, WorkingHours,
};
use proptest::prelude::*;
use std::sync::LazyLock;
use time::macros::{date, datetime, format_description, offset};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

const DAY: i64 = 23_400; // one working day with the default hours (6.5 h)

fn clock() -> Clock {
    Clock::new(Calendar::builtin(), WorkingHours::default())
}

/// The built-in clock, built once (building it takes a few milliseconds in debug builds).
fn shared() -> &'static Clock {
    &clocks()[0]
}

fn clock_with(overrides: &str) -> Clock {
    let ov = CalendarOverrides::from_toml(overrides).expect("valid overrides");
    Clock::new(Calendar::new(Some(&ov)).unwrap(), WorkingHours::default())
}

fn at(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn add_days(c: &Clock, from: OffsetDateTime, days: f64) -> OffsetDateTime {
    c.add_working_days(from, days)
        .unwrap_or_else(|e| panic!("{from} + {days} working days: {e}"))
}

fn add_secs(c: &Clock, from: OffsetDateTime, secs: i64) -> OffsetDateTime {
    let t = c.add_working_seconds(at(from), secs).unwrap();
    c.to_local(t).unwrap()
}

/// An illustrative administrator's file for 2027 (not the official 2027 notice).
const OVERRIDES_2027: &str = r#"
[[years]]
year = 2027

[[days]]
date = "2027-01-01"
kind = "holiday"
name = "元旦"

[[days]]
date = "2027-02-05"
kind = "holiday"
name = "春节"

[[days]]
date = "2027-02-20"
kind = "makeup_workday"
name = "春节"
"#;

/// A Beijing-time instant, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS`.
fn bj(s: &str) -> OffsetDateTime {
    let parsed = if s.len() == 16 {
        PrimitiveDateTime::parse(
            s,
            format_description!("[year]-[month]-[day] [hour]:[minute]"),
        )
    } else {
        let with_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        PrimitiveDateTime::parse(s, with_seconds)
    };
    parsed
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .assume_offset(offset!(+8))
}

/// Each case reads `FROM + BUDGET → DUE`: a budget of working days (`1 d`,
/// `0.5 d`) or of working seconds (`7200 s`) from FROM ends at DUE (both in
/// Beijing time).
fn assert_deadlines(c: &Clock, cases: &[&str]) {
    for case in cases {
        let (sum, due) = case.split_once(" → ").expect("FROM + BUDGET → DUE");
        let (from, budget) = sum.split_once(" + ").expect("FROM + BUDGET");
        let got = match budget.split_once(' ') {
            Some((days, "d")) => add_days(c, bj(from), days.parse().unwrap()),
            Some((secs, "s")) => add_secs(c, bj(from), secs.parse().unwrap()),
            _ => panic!("a budget in d or s: {case}"),
        };
        assert_eq!(got, bj(due), "{case}");
    }
}

/// The kind of each day of the calendar.
fn assert_kinds(cal: &Calendar, days: &[(Date, DayKind)]) {
    for &(d, kind) in days {
        assert_eq!(cal.day(d).unwrap().kind, kind, "{d}");
    }
}

/// Every day from `first` to `last` is a holiday of this name.
fn assert_holiday(cal: &Calendar, first: Date, last: Date, name: &str) {
    let mut d = first;
    while d <= last {
        let info = cal.day(d).unwrap();
        let seen = (info.working, info.kind, info.name.as_deref());
        assert_eq!(seen, (false, DayKind::Holiday, Some(name)), "{d}");
        d = d.next_day().unwrap();
    }
}

/// The calendar has no arrangement yet for `year`, first needed on `date`.
fn year_missing(year: i32, date: Date) -> CalendarError {
    CalendarError::YearMissing { year, date }
}

// ---------------------------------------------------------------------------------------
// Official calendar facts (REFERENCE-DATA.md)

#[test]
fn makeup_workdays_are_working() {
    let cal = Calendar::builtin();
    for (d, name) in [
        (date!(2025 - 09 - 28), "国庆节"),
        (date!(2025 - 10 - 11), "国庆节"),
        (date!(2026 - 01 - 04), "元旦"),
        (date!(2026 - 02 - 14), "春节"),
        (date!(2026 - 02 - 28), "春节"),
    ] {
        let info = cal.day(d).unwrap();
        assert!(info.working, "{d}");
        assert_eq!(info.kind, DayKind::MakeupWorkday, "{d}");
        assert_eq!(info.name.as_deref(), Some(name), "{d}");
    }
    assert_eq!(date!(2025 - 09 - 28).weekday(), time::Weekday::Sunday);
    assert_eq!(date!(2025 - 10 - 11).weekday(), time::Weekday::Saturday);
    assert_eq!(date!(2026 - 01 - 04).weekday(), time::Weekday::Sunday);
}

#[test]
fn holidays_have_names() {
    let cal = Calendar::builtin();
    assert_holiday(&cal, date!(2025 - 10 - 01), date!(2025 - 10 - 08), "国庆节");
    assert_holiday(&cal, date!(2026 - 02 - 15), date!(2026 - 02 - 23), "春节");
    for d in [
        date!(2026 - 01 - 01),
        date!(2026 - 01 - 02),
        date!(2026 - 01 - 03),
    ] {
        let info = cal.day(d).unwrap();
        assert_eq!(
            (info.kind, info.name.as_deref()),
            (DayKind::Holiday, Some("元旦"))
        );
    }
    // Days around the holidays are ordinary.
    let around = [
        (date!(2025 - 10 - 09), DayKind::Workday),
        (date!(2025 - 10 - 12), DayKind::Weekend),
        (date!(2026 - 02 - 24), DayKind::Workday),
        (date!(2026 - 02 - 13), DayKind::Workday),
    ];
    assert_kinds(&cal, &around);
}

#[test]
fn day_info_json() {
    let cal = Calendar::builtin();
    let json = |d: Date| serde_json::to_value(cal.day(d).unwrap()).unwrap();
    assert_eq!(
        json(date!(2026 - 02 - 14)),
        serde_json::json!({"date":"2026-02-14","working":true,"kind":"makeup_workday","name":"春节"})
    );
    assert_eq!(
        json(date!(2026 - 02 - 16)),
        serde_json::json!({"date":"2026-02-16","working":false,"kind":"holiday","name":"春节"})
    );
    assert_eq!(
        json(date!(2026 - 03 - 07)),
        serde_json::json!({"date":"2026-03-07","working":false,"kind":"weekend"})
    );
    assert_eq!(
        json(date!(2026 - 03 - 09)),
        serde_json::json!({"date":"2026-03-09","working":true,"kind":"workday"})
    );
}

// ---------------------------------------------------------------------------------------
// Deadlines

#[test]
fn friday_afternoon_plus_one_day_is_next_working_day_same_time() {
    assert_deadlines(
        &clock(),
        &[
            "2025-11-07 16:00 + 1 d → 2025-11-10 16:00",
            "2025-11-10 08:30 + 0.5 d → 2025-11-10 11:45",
            "2025-11-10 09:00 + 2 d → 2025-11-12 09:00",
            // 20 working days from Monday 09:00: four plain weeks later.
            "2025-11-10 09:00 + 20 d → 2025-12-08 09:00",
        ],
    );
}

#[test]
fn new_year_across_years() {
    assert_deadlines(
        &clock(),
        &[
            // Wed 2025-12-31 16:00: 1.5 h left that day; Jan 1–3 are the New Year holiday
            // and Sunday Jan 4 is a make-up workday, so the remaining 5 h end on Jan 4 at
            // 16:00.
            "2025-12-31 16:00 + 1 d → 2026-01-04 16:00",
            "2025-12-31 16:00 + 2 d → 2026-01-05 16:00",
            // Evening of Dec 31: the full day is Sunday Jan 4.
            "2025-12-31 20:00 + 1 d → 2026-01-04 17:30",
            // 2024 → 2025: Jan 1 2025 (Wed) was the only holiday.
            "2024-12-31 16:00 + 1 d → 2025-01-02 16:00",
        ],
    );
}

#[test]
fn long_holidays() {
    assert_deadlines(
        &clock(),
        &[
            "2025-09-30 16:00 + 1 d → 2025-10-09 16:00",
            // Friday before the make-up Saturday of the Spring Festival.
            "2026-02-13 16:00 + 1 d → 2026-02-14 16:00",
            // From the make-up Saturday across the nine-day Spring Festival.
            "2026-02-14 16:00 + 1 d → 2026-02-24 16:00",
            // Submitted during the holiday: counting starts at the first opening after it.
            "2025-10-03 10:00 + 0.5 d → 2025-10-09 11:45",
            // A make-up Sunday counts: 2025-09-26 (Fri) 16:00 → Sunday 2025-09-28 16:00.
            "2025-09-26 16:00 + 1 d → 2025-09-28 16:00",
        ],
    );
}

#[test]
fn submissions_outside_working_hours() {
    assert_deadlines(
        &clock(),
        &[
            // Evening: counting starts next morning.
            "2025-11-10 19:00 + 1 d → 2025-11-11 17:30",
            "2025-11-10 23:59:59 + 0.5 d → 2025-11-11 11:45",
            // Early morning.
            "2025-11-11 06:00 + 0.5 d → 2025-11-11 11:45",
            "2025-11-11 00:00 + 1 d → 2025-11-11 17:30",
            // Weekend.
            "2025-11-08 10:00 + 1 d → 2025-11-10 17:30",
            "2025-11-09 15:00 + 0.5 d → 2025-11-10 11:45",
            // Friday after closing.
            "2025-11-07 17:31 + 0.5 d → 2025-11-10 11:45",
        ],
    );
}

#[test]
fn lunch_break() {
    assert_deadlines(
        &clock(),
        &[
            // 0.5 day = 3 h 15 min. From 12:30 counting starts at 14:30; 3 h until 17:30,
            // the remaining 15 min on the next working day: 08:45.
            "2025-11-10 12:30 + 0.5 d → 2025-11-11 08:45",
            // Friday lunch → Monday.
            "2025-11-07 12:30 + 0.5 d → 2025-11-10 08:45",
            // 1 day from the lunch break ends at the end of the next morning... plus
            // nothing: 3 h afternoon + 3.5 h next morning = 6.5 h → 12:00.
            "2025-11-10 13:00 + 1 d → 2025-11-11 12:00",
            // A budget running through the lunch break skips it (2 h).
            "2025-11-10 11:00 + 7200 s → 2025-11-10 15:30",
        ],
    );
}

#[test]
fn budget_ending_exactly_at_period_end() {
    assert_deadlines(
        &clock(),
        &[
            // 12:00, not 14:30.
            "2025-11-10 08:30 + 12600 s → 2025-11-10 12:00",
            "2025-11-10 10:00 + 7200 s → 2025-11-10 12:00",
            "2025-11-10 07:00 + 12600 s → 2025-11-10 12:00",
            // 17:30, not the next morning.
            "2025-11-10 14:30 + 10800 s → 2025-11-10 17:30",
            "2025-11-07 08:30 + 1 d → 2025-11-07 17:30",
            // From the lunch break, exactly the afternoon.
            "2025-11-10 12:00 + 10800 s → 2025-11-10 17:30",
            // Last working day before the long holiday, ending at its close.
            "2025-09-30 16:00 + 5400 s → 2025-09-30 17:30",
            // One second more goes to the next working day.
            "2025-09-30 16:00 + 5401 s → 2025-10-09 08:30:01",
        ],
    );
}

#[test]
fn zero_budget_is_next_opening() {
    assert_deadlines(
        &clock(),
        &[
            "2025-11-10 09:15 + 0 s → 2025-11-10 09:15",
            "2025-11-10 12:30 + 0 s → 2025-11-10 14:30",
            "2025-09-30 18:00 + 0 s → 2025-10-09 08:30",
            "2025-11-08 10:00 + 0 d → 2025-11-10 08:30",
        ],
    );
}

#[test]
fn working_seconds_between_examples() {
    let c = clock();
    // Each case: from, to, the working seconds between.
    for (a, b, seconds) in [
        ("2025-11-07 16:00", "2025-11-10 16:00", DAY),
        ("2025-11-10 12:00", "2025-11-10 14:30", 0),
        ("2025-11-10 11:00", "2025-11-10 15:00", 5_400),
        ("2025-09-30 00:00", "2025-10-10 00:00", 2 * DAY),
        ("2025-11-10 16:00", "2025-11-10 09:00", 0),
    ] {
        let between = c.working_seconds_between(at(bj(a)), at(bj(b)));
        assert_eq!(between, Ok(seconds), "{a} → {b}");
    }
    // Touching the uncovered end of 2026 is an error.
    let across = c.working_seconds_between(at(bj("2026-12-24 09:00")), at(bj("2026-12-28 09:00")));
    assert_eq!(across, Err(year_missing(2027, date!(2026 - 12 - 26))));
}

#[test]
fn day_of_instant_uses_local_date() {
    let c = clock();
    // 2026-02-13 16:30 UTC is 2026-02-14 00:30 in Beijing: the make-up Saturday.
    let info = c.day_of(at(datetime!(2026-02-13 16:30 UTC))).unwrap();
    assert_eq!(info.date, date!(2026 - 02 - 14));
    assert_eq!(info.kind, DayKind::MakeupWorkday);
    assert!(c.day_of(at(datetime!(2027-03-01 10:00 +8))).is_err());
}

// ---------------------------------------------------------------------------------------
// Coverage

#[test]
fn year_missing_without_overrides() {
    let c = clock();
    let cal = c.calendar();
    let err = cal.day(date!(2027 - 01 - 04)).unwrap_err();
    assert_eq!(err, year_missing(2027, date!(2027 - 01 - 04)));
    assert_eq!(err.code(), "calendar_year_missing");
    assert_eq!(
        err.to_string(),
        "2027年节假日安排尚未导入（日期 2027-01-04 无法计算工作时间）"
    );
    // The last days of 2026 wait for the 2027 notice.
    let err = cal.day(date!(2026 - 12 - 28)).unwrap_err();
    assert_eq!(err, year_missing(2027, date!(2026 - 12 - 28)));
    assert_eq!(
        err.to_string(),
        "2027年节假日安排尚未导入（日期 2026-12-28 无法计算工作时间）"
    );
    assert!(cal.day(date!(2026 - 12 - 25)).is_ok());

    // Deadlines: starting in, or running into, uncovered days.
    let e = c.add_working_days(bj("2027-01-04 09:00"), 1.0).unwrap_err();
    assert_eq!(e.code(), "calendar_year_missing");
    let e = c.add_working_days(bj("2026-12-28 09:00"), 0.5).unwrap_err();
    assert_eq!(e, year_missing(2027, date!(2026 - 12 - 28)));
    // Thu 2026-12-24 16:00 + 1 day fits before the gap; + 2 days does not.
    assert_deadlines(&c, &["2026-12-24 16:00 + 1 d → 2026-12-25 16:00"]);
    let two = c.add_working_days(bj("2026-12-24 16:00"), 2.0);
    assert_eq!(two, Err(year_missing(2027, date!(2026 - 12 - 26))));
    // Ending exactly at the last covered closing time touches nothing uncovered.
    assert_deadlines(&c, &["2026-12-24 17:30 + 1 d → 2026-12-25 17:30"]);
    // After the last closing, even the next opening is unknown.
    let opening = c.add_working_seconds(at(bj("2026-12-25 18:00")), 0);
    assert!(opening.is_err());
    // Before the built-in data.
    let early = cal.day(date!(2003 - 06 - 01));
    assert_eq!(early, Err(year_missing(2003, date!(2003 - 06 - 01))));
}

#[test]
fn overrides_cover_next_year() {
    let c = clock_with(OVERRIDES_2027);
    let cal = c.calendar();
    let kinds = [
        (date!(2026 - 12 - 28), DayKind::Workday),
        (date!(2026 - 12 - 26), DayKind::Weekend),
    ];
    assert_kinds(cal, &kinds);
    let d = cal.day(date!(2027 - 01 - 01)).unwrap();
    assert_eq!(
        (d.kind, d.name.as_deref()),
        (DayKind::Holiday, Some("元旦"))
    );
    let d = cal.day(date!(2027 - 01 - 04)).unwrap();
    assert_eq!((d.kind, d.working), (DayKind::Workday, true));
    let d = cal.day(date!(2027 - 02 - 20)).unwrap();
    assert_eq!(
        (d.kind, d.working, d.name.as_deref()),
        (DayKind::MakeupWorkday, true, Some("春节"))
    );
    assert!(cal.day(date!(2028 - 01 - 01)).is_err());

    assert_deadlines(
        &c,
        &[
            "2027-01-04 09:00 + 1 d → 2027-01-05 09:00",
            "2026-12-28 09:00 + 0.5 d → 2026-12-28 14:45",
            // Thu 2026-12-31 16:00 + 1 day: Fri Jan 1 is a holiday, Jan 2–3 the weekend.
            "2026-12-31 16:00 + 1 d → 2027-01-04 16:00",
            "2026-12-24 16:00 + 2 d → 2026-12-28 16:00",
        ],
    );

    assert!(cal.covers_year(2026));
    assert!(cal.covers_year(2027));
    assert!(!cal.covers_year(2028));
    let cov = cal.coverage();
    let y2026 = cov.iter().find(|y| y.year == 2026).unwrap();
    assert_eq!(y2026.source, CoverageSource::BuiltinOverride);
    assert_eq!(
        (y2026.first, y2026.last),
        (date!(2026 - 01 - 01), date!(2026 - 12 - 31))
    );
    let y2027 = cov.iter().find(|y| y.year == 2027).unwrap();
    assert_eq!(y2027.source, CoverageSource::Override);
    assert_eq!(y2027.source.as_str(), "override");
    assert_eq!(
        (y2027.first, y2027.last),
        (date!(2027 - 01 - 01), date!(2027 - 12 - 31))
    );
    assert_eq!(cov.last().unwrap().year, 2027);
    assert_eq!(cov.first().unwrap().year, 2004);
    let y2025 = cov.iter().find(|y| y.year == 2025).unwrap();
    assert_eq!(y2025.source, CoverageSource::Builtin);
}

#[test]
fn overrides_correct_builtin_days() {
    let c = clock_with(
        r#"
[[days]]
date = "2025-10-11"
kind = "weekend"

[[days]]
date = "2025-11-10"
kind = "holiday"
name = "临时休假"

[[days]]
date = "2025-11-15"
kind = "makeup_workday"
name = "临时休假"
"#,
    );
    let cal = c.calendar();
    assert_kinds(cal, &[(date!(2025 - 10 - 11), DayKind::Weekend)]);
    assert_eq!(cal.day(date!(2025 - 10 - 11)).unwrap().name, None);
    assert!(!cal.day(date!(2025 - 11 - 10)).unwrap().working);
    assert!(cal.day(date!(2025 - 11 - 15)).unwrap().working);
    // Built-in days not listed stay as they were.
    assert_kinds(cal, &[(date!(2025 - 09 - 28), DayKind::MakeupWorkday)]);
    // Without the correction Fri 2025-10-10 16:00 + 1 day would end on Sat Oct 11.
    assert_deadlines(&clock(), &["2025-10-10 16:00 + 1 d → 2025-10-11 16:00"]);
    assert_deadlines(
        &c,
        &[
            "2025-10-10 16:00 + 1 d → 2025-10-13 16:00",
            // Fri 2025-11-07 16:00: Monday is now a holiday.
            "2025-11-07 16:00 + 1 d → 2025-11-11 16:00",
            // The added Saturday counts.
            "2025-11-14 16:00 + 1 d → 2025-11-15 16:00",
        ],
    );
    let y2025 = cal.coverage().into_iter().find(|y| y.year == 2025).unwrap();
    assert_eq!(y2025.source.as_str(), "builtin+override");
    // Still no 2027.
    assert!(!cal.covers_year(2026));
}

#[test]
fn overrides_file_validation() {
    let err = |text: &str| CalendarOverrides::from_toml(text).unwrap_err();
    // makeup_workday on a weekday
    let e = err(
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-05\"\nkind = \"makeup_workday\"\nname = \"元旦\"\n",
    );
    assert_eq!(e.code(), "calendar_overrides_invalid");
    // holiday without a name
    err("[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holiday\"\n");
    // unknown kind, bad date
    err(
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"vacation\"\nname = \"x\"\n",
    );
    err(
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-1-1\"\nkind = \"holiday\"\nname = \"x\"\n",
    );
    // a day in a year neither built in nor listed (nor the year before a listed one)
    err(
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2028-10-01\"\nkind = \"holiday\"\nname = \"国庆节\"\n",
    );
    // the year before a listed year is fine
    CalendarOverrides::from_toml(
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2026-12-31\"\nkind = \"holiday\"\nname = \"元旦\"\n",
    )
    .unwrap();
    // unknown keys are typos, not silently ignored
    err(
        "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holiday\"\nnmae = \"元旦\"\n",
    );
    // Error text is Chinese.
    let e = err("[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-01-01\"\nkind = \"holiday\"\n");
    assert!(e.to_string().contains("节假日调整文件有误"), "{e}");
}

#[test]
fn other_working_hours_and_offset() {
    // A city working 09:00–17:00 at UTC−05:00.
    let hours = WorkingHours::parse(&["09:00-17:00".to_string()], -300).unwrap();
    assert_eq!(hours.day_seconds(), 8 * 3600);
    let c = Clock::new(Calendar::builtin(), hours);
    let due = c
        .add_working_days(datetime!(2025-11-07 16:00 -5), 1.0)
        .unwrap();
    assert_eq!(due, datetime!(2025-11-10 16:00 -5));
    assert_eq!(due.offset().whole_hours(), -5);
}

// ---------------------------------------------------------------------------------------
// Naive reference implementation: walk day by day, period by period.

const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

fn date_of_epoch_day(day: i64) -> Date {
    Date::from_julian_day((day + UNIX_EPOCH_JULIAN_DAY) as i32).unwrap()
}

fn naive_add(c: &Clock, from: i64, budget: i64) -> Result<i64, CalendarError> {
    let off = i64::from(c.hours().utc_offset_seconds());
    let mut day = (from + off).div_euclid(86_400);
    let mut remaining = budget;
    loop {
        let info = c.calendar().day(date_of_epoch_day(day))?;
        if info.working {
            let midnight = day * 86_400 - off;
            for &(s, e) in c.hours().periods() {
                let (ps, pe) = (midnight + i64::from(s), midnight + i64::from(e));
                if pe < from {
                    continue;
                }
                let start = ps.max(from);
                let available = pe - start;
                if remaining <= available {
                    return Ok(start + remaining);
                }
                remaining -= available;
            }
        }
        day += 1;
    }
}

fn naive_between(c: &Clock, a: i64, b: i64) -> Result<i64, CalendarError> {
    if b <= a {
        return Ok(0);
    }
    let off = i64::from(c.hours().utc_offset_seconds());
    let last = (b + off).div_euclid(86_400);
    let mut day = (a + off).div_euclid(86_400);
    let mut total = 0;
    while day <= last {
        let info = c.calendar().day(date_of_epoch_day(day))?;
        if info.working {
            let midnight = day * 86_400 - off;
            for &(s, e) in c.hours().periods() {
                let (ps, pe) = (midnight + i64::from(s), midnight + i64::from(e));
                total += (pe.min(b) - ps.max(a)).max(0);
            }
        }
        day += 1;
    }
    Ok(total)
}

/// Clocks to compare: the built-in calendar; one with a gap (2028 listed, 2027 not)
/// and corrections; unusual hours at a negative offset.
fn clocks() -> &'static [Clock] {
    static CLOCKS: LazyLock<Vec<Clock>> = LazyLock::new(build_clocks);
    &CLOCKS
}

fn build_clocks() -> Vec<Clock> {
    let with_gap = CalendarOverrides::from_toml(
        "[[years]]\nyear = 2028\n[[days]]\ndate = \"2025-06-03\"\nkind = \"holiday\"\nname = \"测试\"\n[[days]]\ndate = \"2028-01-01\"\nkind = \"holiday\"\nname = \"元旦\"\n",
    )
    .unwrap();
    vec![
        clock(),
        Clock::new(
            Calendar::new(Some(&with_gap)).unwrap(),
            WorkingHours::default(),
        ),
        Clock::new(
            Calendar::builtin(),
            WorkingHours::parse(
                &[
                    "00:00-03:00".to_string(),
                    "03:00-04:00".to_string(),
                    "22:15-24:00".to_string(),
                ],
                -300,
            )
            .unwrap(),
        ),
    ]
}

#[test]
fn fast_equals_naive_on_a_grid() {
    for c in clocks() {
        // Every 10 minutes from late September 2025 to mid-October, and around the end of
        // 2026 (the edge of the built-in data).
        for (start, end) in [
            (
                datetime!(2025-09-25 00:00 +8),
                datetime!(2025-10-15 00:00 +8),
            ),
            (
                datetime!(2025-12-28 00:00 +8),
                datetime!(2026-01-08 00:00 +8),
            ),
            (
                datetime!(2026-12-20 00:00 +8),
                datetime!(2026-12-27 00:00 +8),
            ),
        ] {
            let mut t = at(start);
            while t < at(end) {
                for budget in [0, 1, 900, 12_600, DAY / 2, DAY, DAY + 1, 2 * DAY, 5 * DAY] {
                    assert_eq!(
                        c.add_working_seconds(t, budget),
                        naive_add(c, t, budget),
                        "t={t} budget={budget}"
                    );
                }
                t += 600;
            }
        }
    }
}

/// Instants from 2024-01-01 to 2026-12-31, Beijing time.
fn instants() -> std::ops::Range<i64> {
    at(datetime!(2024-01-01 00:00 +8))..at(datetime!(2027-01-01 00:00 +8))
}

const MAX_BUDGET: i64 = 20 * DAY;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn prop_add_is_additive(t in instants(), a in 0..=MAX_BUDGET, b in 0..=MAX_BUDGET) {
        let c = shared();
        let stepwise = c.add_working_seconds(t, a).and_then(|x| c.add_working_seconds(x, b));
        prop_assert_eq!(stepwise, c.add_working_seconds(t, a + b));
    }

    #[test]
    fn prop_between_inverts_add(t in instants(), a in 0..=MAX_BUDGET) {
        let c = shared();
        // From within working hours (the next opening, if `t` is not).
        if let Ok(start) = c.add_working_seconds(t, 0)
            && let Ok(end) = c.add_working_seconds(start, a)
        {
            prop_assert_eq!(c.working_seconds_between(start, end), Ok(a));
            // From anywhere, too: time before the first opening does not count.
            prop_assert_eq!(c.working_seconds_between(t, end), Ok(a));
            // The answer is the smallest such instant.
            if a > 0 {
                prop_assert_eq!(c.working_seconds_between(start, end - 1), Ok(a - 1));
            }
        }
    }

    #[test]
    fn prop_fast_equals_naive(
        t in instants(),
        budget in prop_oneof![0..=MAX_BUDGET, Just(0i64), Just(DAY), Just(DAY / 2), Just(2 * DAY)],
        later in 0i64..(40 * 86_400),
    ) {
        for c in clocks() {
            prop_assert_eq!(c.add_working_seconds(t, budget), naive_add(c, t, budget));
            prop_assert_eq!(
                c.working_seconds_between(t, t + later),
                naive_between(c, t, t + later)
            );
        }
    }

    #[test]
    fn prop_add_working_days_rounds_budget(
        t in instants(),
        days in prop_oneof![Just(0.5f64), Just(1.0), Just(2.0), Just(20.0), 0.0f64..30.0],
    ) {
        let c = shared();
        let from = c.to_local(t).unwrap();
        let budget = (days * DAY as f64).round() as i64;
        let expected = c.add_working_seconds(t, budget).map(|x| c.to_local(x).unwrap());
        prop_assert_eq!(c.add_working_days(from, days), expected);
    }
}

/// Early warning at 75 % of a two-working-day stage, and its deadline,
/// across a weekend with a make-up working day (Sunday 2026-09-20) and
/// across the National Day holidays (2026-10-01 … 10-07).
#[test]
fn warning_and_deadline_instants_across_weekends_and_holidays() {
    use onestop_domain::application::Level;
    let clock = Clock::new(
        Calendar::builtin(),
        WorkingHours::parse(&["08:30-12:00".into(), "14:30-17:30".into()], 480).unwrap(),
    );
    let at = |s: &str| onestop_domain::timefmt::parse(s).unwrap().unix_timestamp();
    let two_days = clock.budget_for_days(2.0).unwrap();
    assert_eq!(two_days, 2 * 23_400);

    // Friday 16:30: one hour on Friday, none on Saturday, the whole make-up
    // Sunday, then Monday.
    let start = at("2026-09-18T16:30:00+08:00");
    let (warn, due) = clock.level_instants(start, two_days, 0, 0.75).unwrap();
    assert_eq!(warn, at("2026-09-21T10:45:00+08:00"));
    assert_eq!(due, at("2026-09-21T16:30:00+08:00"));
    assert_eq!(Level::at(warn - 1, warn, due), Level::Normal);
    assert_eq!(Level::at(warn, warn, due), Level::Warning);
    assert_eq!(Level::at(due, warn, due), Level::Overdue);
    assert_eq!(Level::Normal.next_change(warn, due), Some(warn));
    assert_eq!(Level::Warning.next_change(warn, due), Some(due));
    assert_eq!(Level::Overdue.next_change(warn, due), None);

    // The day before National Day: the holidays do not count.
    let start = at("2026-09-30T09:00:00+08:00");
    let (warn, due) = clock.level_instants(start, two_days, 0, 0.75).unwrap();
    assert_eq!(warn, at("2026-10-08T14:45:00+08:00"));
    assert_eq!(due, at("2026-10-09T09:00:00+08:00"));

    // Two working hours spent waiting for the applicant move both on.
    let (warn, due) = clock.level_instants(start, two_days, 7_200, 0.75).unwrap();
    assert_eq!(warn, at("2026-10-08T16:45:00+08:00"));
    assert_eq!(due, at("2026-10-09T11:00:00+08:00"));
}
