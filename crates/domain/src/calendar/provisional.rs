//! A provisional calendar for a year the official notice does not cover yet,
//! derived from the statutory rules alone (《全国年节及纪念日放假办法》 as
//! revised in 2024, in force from 2025):
//!
//! - 元旦 1 January; 春节 the lunar New Year's Eve and the first three days
//!   of the first lunar month; 清明节 the day of the Qingming solar term;
//!   劳动节 1–2 May; 端午节 the fifth day of the fifth lunar month; 中秋节 the
//!   fifteenth day of the eighth lunar month; 国庆节 1–3 October;
//! - a holiday day that falls on a Saturday or Sunday, or on another
//!   festival's day, is made good by the next working day after its festival
//!   (第六条, 补假);
//! - no make-up working weekends (调休上班): those come only with the State
//!   Council's yearly notice, which the official import brings.
//!
//! The result is an estimate a deadline may rest on until the notice is
//! imported, and is marked as such wherever it is used.

use std::collections::BTreeMap;

use time::{Date, Duration, Month, Weekday};

/// Years the rules are applied to: from the revision's first year, within
/// the range of the Qingming formula.
pub const YEARS: std::ops::RangeInclusive<i32> = 2025..=2099;

/// One festival's statutory days in `year`, in order.
fn festivals(year: i32) -> Option<Vec<(&'static str, Vec<Date>)>> {
    let ymd = |m: Month, d: u8| Date::from_calendar_date(year, m, d).ok();
    let lunar = |month: u8, day: u8| -> Option<Date> {
        let s = lunar_lite::lunar_to_solar(lunar_lite::LunarDate {
            year,
            month,
            day,
            is_leap_month: false,
        })
        .ok()?;
        Date::from_calendar_date(s.year, Month::try_from(s.month).ok()?, s.day).ok()
    };
    let new_year = lunar(1, 1)?;
    Some(vec![
        ("元旦", vec![ymd(Month::January, 1)?]),
        (
            "春节",
            vec![
                new_year.previous_day()?,
                new_year,
                new_year + Duration::days(1),
                new_year + Duration::days(2),
            ],
        ),
        ("清明节", vec![qingming(year)?]),
        ("劳动节", vec![ymd(Month::May, 1)?, ymd(Month::May, 2)?]),
        ("端午节", vec![lunar(5, 5)?]),
        ("中秋节", vec![lunar(8, 15)?]),
        (
            "国庆节",
            vec![
                ymd(Month::October, 1)?,
                ymd(Month::October, 2)?,
                ymd(Month::October, 3)?,
            ],
        ),
    ])
}

/// The day of the Qingming solar term (4 or 5 April in this century): the
/// classical approximation `⌊Y·0.2422 + 4.81⌋ − ⌊Y/4⌋` for Y the year's last
/// two digits, exact for 2001–2099.
pub fn qingming(year: i32) -> Option<Date> {
    if !(2001..=2099).contains(&year) {
        return None;
    }
    let y = f64::from(year % 100);
    let day = (y * 0.2422 + 4.81).floor() as i32 - (year % 100) / 4;
    Date::from_calendar_date(year, Month::April, u8::try_from(day).ok()?).ok()
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The holidays of `year` by the statutory rules, with their festival's
/// name, substitute days included; `None` for a year outside [`YEARS`].
pub fn holidays(year: i32) -> Option<BTreeMap<Date, &'static str>> {
    if !YEARS.contains(&year) {
        return None;
    }
    let mut days = BTreeMap::new();
    let mut festivals = festivals(year)?;
    festivals.sort_by_key(|(_, d)| d.first().copied());
    for (name, dates) in festivals {
        let mut owed = 0;
        for d in &dates {
            if is_weekend(*d) || days.contains_key(d) {
                owed += 1;
            }
            days.entry(*d).or_insert(name);
        }
        let mut next = *dates.last()?;
        while owed > 0 {
            next = next.next_day()?;
            if !is_weekend(next) && !days.contains_key(&next) {
                days.insert(next, name);
                owed -= 1;
            }
        }
    }
    Some(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, DayKind};
    use time::macros::date;

    #[test]
    fn qingming_follows_the_solar_term() {
        assert_eq!(qingming(2008), Some(date!(2008 - 04 - 04)));
        assert_eq!(qingming(2025), Some(date!(2025 - 04 - 04)));
        assert_eq!(qingming(2026), Some(date!(2026 - 04 - 05)));
        assert_eq!(qingming(2027), Some(date!(2027 - 04 - 05)));
        assert_eq!(qingming(2028), Some(date!(2028 - 04 - 04)));
        assert_eq!(qingming(2000), None);
        assert_eq!(qingming(2100), None);
    }

    /// Every festival's own day, as the rules find it, is an official holiday
    /// of that festival in every year the official notices cover since the
    /// lunar festivals became holidays.
    #[test]
    fn the_rules_find_the_official_festival_days() {
        let official = Calendar::builtin();
        for year in 2008..=2026 {
            for (name, dates) in festivals(year).unwrap() {
                // Before 2025 the Eve was no statutory day and May Day was
                // one day; the rest is as it is now.
                let core: Vec<Date> = match name {
                    "春节" => dates[1..].to_vec(),
                    "劳动节" => dates[..1].to_vec(),
                    _ => dates,
                };
                for d in core {
                    let day = official.day(d).unwrap();
                    assert_eq!(day.kind, DayKind::Holiday, "{name} {d}");
                    // Mid-Autumn within National Day (2009, 2017, 2020)
                    // carries one of the two names.
                    if d.month() != Month::October {
                        assert_eq!(day.name.as_deref(), Some(name), "{d}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_statutory_days_of_2025_and_2026_are_official_holidays() {
        let official = Calendar::builtin();
        for year in [2025, 2026] {
            for (name, dates) in festivals(year).unwrap() {
                for d in dates {
                    let day = official.day(d).unwrap();
                    assert_eq!(day.kind, DayKind::Holiday, "{name} {d}");
                }
            }
        }
    }

    #[test]
    fn twenty_twenty_seven_by_the_rules() {
        let days = holidays(2027).unwrap();
        let listed: Vec<(Date, &str)> = days.into_iter().collect();
        assert_eq!(
            listed,
            vec![
                (date!(2027 - 01 - 01), "元旦"),
                // New Year's Day is Saturday 6 February: the Eve (Friday)
                // and three days, two of them on the weekend, made good on
                // Tuesday and Wednesday.
                (date!(2027 - 02 - 05), "春节"),
                (date!(2027 - 02 - 06), "春节"),
                (date!(2027 - 02 - 07), "春节"),
                (date!(2027 - 02 - 08), "春节"),
                (date!(2027 - 02 - 09), "春节"),
                (date!(2027 - 02 - 10), "春节"),
                (date!(2027 - 04 - 05), "清明节"),
                // 1 May is a Saturday and 2 May a Sunday.
                (date!(2027 - 05 - 01), "劳动节"),
                (date!(2027 - 05 - 02), "劳动节"),
                (date!(2027 - 05 - 03), "劳动节"),
                (date!(2027 - 05 - 04), "劳动节"),
                (date!(2027 - 06 - 09), "端午节"),
                (date!(2027 - 09 - 15), "中秋节"),
                // 2–3 October fall on the weekend.
                (date!(2027 - 10 - 01), "国庆节"),
                (date!(2027 - 10 - 02), "国庆节"),
                (date!(2027 - 10 - 03), "国庆节"),
                (date!(2027 - 10 - 04), "国庆节"),
                (date!(2027 - 10 - 05), "国庆节"),
            ]
        );
    }

    #[test]
    fn a_festival_on_another_festivals_day_is_made_good() {
        // 2028: 1 October is a Sunday and Mid-Autumn falls on 3 October;
        // each lost day has its own working day after.
        let days = holidays(2028).unwrap();
        let october: Vec<(Date, &str)> = days
            .range(date!(2028 - 10 - 01)..date!(2028 - 11 - 01))
            .map(|(d, n)| (*d, *n))
            .collect();
        assert_eq!(
            october,
            vec![
                (date!(2028 - 10 - 01), "国庆节"),
                (date!(2028 - 10 - 02), "国庆节"),
                (date!(2028 - 10 - 03), "国庆节"),
                (date!(2028 - 10 - 04), "国庆节"),
                (date!(2028 - 10 - 05), "中秋节"),
            ]
        );
    }

    #[test]
    fn years_outside_the_rules_have_none() {
        assert_eq!(holidays(2024), None);
        assert_eq!(holidays(2100), None);
        assert!(holidays(2099).is_some());
    }

    #[test]
    fn the_calendar_fills_what_the_notices_leave_and_marks_it() {
        use crate::calendar::{CalendarOverrides, Clock, WorkingHours};
        let official = Calendar::builtin();
        let cal = official.clone().with_provisional();
        // Official days are as they were, and not marked.
        for d in [
            date!(2026 - 02 - 14),
            date!(2026 - 10 - 01),
            date!(2026 - 12 - 25),
        ] {
            assert_eq!(cal.day(d), official.day(d), "{d}");
            assert!(!cal.is_provisional(d));
        }
        // After the last official day: the rules, marked.
        assert_eq!(
            cal.provisional_range(),
            Some((date!(2026 - 12 - 26), date!(2028 - 12 - 31)))
        );
        let day = |d: Date| {
            let i = cal.day(d).unwrap();
            (i.kind, i.name, i.provisional)
        };
        assert_eq!(day(date!(2026 - 12 - 28)), (DayKind::Workday, None, true));
        assert_eq!(day(date!(2027 - 01 - 02)), (DayKind::Weekend, None, true));
        assert_eq!(
            day(date!(2027 - 02 - 09)),
            (DayKind::Holiday, Some("春节".into()), true)
        );
        assert_eq!(
            serde_json::to_value(cal.day(date!(2027 - 01 - 01)).unwrap()).unwrap(),
            serde_json::json!({"date": "2027-01-01", "working": false, "kind": "holiday",
                               "name": "元旦", "provisional": true})
        );
        // Beyond the second year after the last notice: still missing.
        assert!(cal.day(date!(2029 - 01 - 01)).is_err());
        assert_eq!(official.provisional_range(), None);

        // A deadline counted across the gap, and marked by the clock.
        let hours =
            WorkingHours::parse(&["08:30-12:00".into(), "14:30-17:30".into()], 480).unwrap();
        let clock = Clock::new(cal, hours.clone());
        let from = time::macros::datetime!(2026-12-24 16:00 +8);
        let due = clock.add_working_days(from, 3.0).unwrap();
        // Thu 24, Fri 25 (official), then Mon 28, Tue 29 (provisional).
        assert_eq!(due, time::macros::datetime!(2026-12-29 16:00 +8));
        assert!(clock.is_provisional(due.unix_timestamp()));
        assert!(!clock.is_provisional(from.unix_timestamp()));

        // The official 2027 notice, imported: nothing of 2027 is provisional
        // any more, and its own make-up day counts.
        let overrides = CalendarOverrides::from_toml(
            "[[years]]\nyear = 2027\n[[days]]\ndate = \"2027-02-20\"\nkind = \"makeup_workday\"\nname = \"春节\"\n",
        )
        .unwrap();
        let imported = Calendar::new(Some(&overrides)).unwrap().with_provisional();
        assert!(!imported.is_provisional(date!(2026 - 12 - 28)));
        assert!(!imported.is_provisional(date!(2027 - 12 - 31)));
        assert!(imported.is_provisional(date!(2028 - 01 - 03)));
        assert_eq!(
            imported.provisional_range(),
            Some((date!(2028 - 01 - 01), date!(2029 - 12 - 31)))
        );
        let clock = Clock::new(imported, hours);
        let due = clock.add_working_days(from, 3.0).unwrap();
        assert!(!clock.is_provisional(due.unix_timestamp()));
    }
}
