//! Time against a limit, as the pages say it beside a deadline: "剩余 1.5
//! 工作小时", "已超期 0.6 个工作日", with a small bar of the share of the
//! budget used; and for a finished order when it finished, the working time
//! it took and whether it kept its limits. The figures come from
//! `app::deadlines` (the one stage clock); this only words them.

use crate::AppState;
use crate::app::deadlines::OrderTime;
use crate::texts;
use crate::texts::deadline as t;
use onestop_domain::clock::Standing;

/// One order's or item's time, for a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeView {
    /// The sentence: what is left, how long overdue, or how it finished.
    pub text: String,
    /// The share of the budget used, in tenths (0–10), for the bar; none
    /// once finished.
    pub bar: Option<u8>,
    /// `normal`, `warning`, `overdue` while running; `waiting` while the
    /// clock stands still; `done`, `late` or `ended` once finished.
    pub class: &'static str,
    /// Still running (the deadline and the warning level mean something).
    pub running: bool,
}

/// `n` tenths as people read them: `15` → `1.5`, `20` → `2`.
fn tenths(n: i64) -> String {
    if n % 10 == 0 {
        (n / 10).to_string()
    } else {
        format!("{}.{}", n / 10, n % 10)
    }
}

/// How to round a duration to a tenth: never overstate the time left,
/// never understate how late, otherwise the nearest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    Down,
    Up,
    Nearest,
}

/// Working seconds for people: in working hours under half a working day
/// (`1.5 工作小时`), else in working days (`0.6 个工作日`), to a tenth.
pub fn amount(seconds: i64, day_seconds: i64, round: Round) -> String {
    let seconds = seconds.max(0);
    let (unit, text) = if seconds * 2 < day_seconds || day_seconds <= 0 {
        (3_600, t::HOURS)
    } else {
        (day_seconds, t::DAYS)
    };
    let scaled = seconds * 10;
    let n = match round {
        Round::Down => scaled / unit,
        Round::Up => (scaled + unit - 1) / unit,
        Round::Nearest => (scaled + unit / 2) / unit,
    };
    texts::fill(text, &[("n", &tenths(n))])
}

/// Where a running clock stands, in words: `剩余 1.5 工作小时` or
/// `已超期 0.6 个工作日`.
pub fn standing_text(s: Standing, day_seconds: i64) -> String {
    match s {
        Standing::Left { seconds, .. } if seconds * 10 < 3_600 => t::LEFT_LITTLE.to_owned(),
        Standing::Left { seconds, .. } => texts::fill(
            t::LEFT,
            &[("amount", &amount(seconds, day_seconds, Round::Down))],
        ),
        Standing::Overdue { seconds } => texts::fill(
            t::OVERDUE,
            &[("amount", &amount(seconds, day_seconds, Round::Up))],
        ),
    }
}

/// The bar's filling, in tenths of the budget used.
fn bar(s: Standing) -> u8 {
    (s.used() * 10.0).round().clamp(0.0, 10.0) as u8
}

/// A running clock's time; `level` is its warning level's code.
pub fn running(s: Standing, level: &'static str, day_seconds: i64) -> TimeView {
    TimeView {
        text: standing_text(s, day_seconds),
        bar: Some(bar(s)),
        class: if matches!(s, Standing::Overdue { .. }) {
            "overdue"
        } else {
            level
        },
        running: true,
    }
}

/// An order's time for people, at `level` (its warning level's code).
pub fn order(state: &AppState, time: Option<&OrderTime>, level: &'static str) -> TimeView {
    let day = crate::app::deadlines::day_seconds(state);
    let at = |ms: i64| crate::web::staff::when_ms(state, ms);
    match time {
        Some(OrderTime::Running {
            standing: Some(s),
            waiting: false,
        }) => running(*s, level, day),
        Some(OrderTime::Running {
            standing: Some(s),
            waiting: true,
        }) => TimeView {
            text: texts::fill(t::WAITING, &[("standing", &standing_text(*s, day))]),
            bar: Some(bar(*s)),
            class: "waiting",
            running: true,
        },
        Some(OrderTime::Running { standing: None, .. }) | None => TimeView {
            text: String::new(),
            bar: None,
            class: level,
            running: true,
        },
        Some(OrderTime::Finished {
            at_ms,
            stages,
            rejected,
        }) => {
            let result = if *rejected { t::REJECTED } else { t::DONE };
            let text = match stages {
                Some(d) => {
                    let verdict = if d.late == 0 {
                        t::ON_TIME.to_owned()
                    } else {
                        texts::fill(t::LATE, &[("n", &d.late)])
                    };
                    texts::fill(
                        t::FINISHED,
                        &[
                            ("at", &at(*at_ms)),
                            ("result", &result),
                            ("amount", &amount(d.working_seconds, day, Round::Nearest)),
                            ("verdict", &verdict),
                        ],
                    )
                }
                None => texts::fill(t::FINISHED_AT, &[("at", &at(*at_ms)), ("result", &result)]),
            };
            TimeView {
                text,
                bar: None,
                class: if stages.is_some_and(|d| d.late > 0) {
                    "late"
                } else {
                    "done"
                },
                running: false,
            }
        }
        Some(OrderTime::Cancelled { at_ms }) => TimeView {
            text: texts::fill(t::CANCELLED, &[("at", &at(*at_ms))]),
            bar: None,
            class: "ended",
            running: false,
        },
    }
}

/// A pending approval item's (or case's) time, due at `due_at_ms`.
pub fn approval(state: &AppState, due_at_ms: i64) -> Option<TimeView> {
    let s = crate::app::deadlines::of_approval(state, due_at_ms)?;
    let level = match s {
        Standing::Overdue { .. } => "overdue",
        Standing::Left { used, .. } if used >= state.config.limits.warning_share => "warning",
        Standing::Left { .. } => "normal",
    };
    Some(running(s, level, crate::app::deadlines::day_seconds(state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One working day of 08:30–12:00 and 14:30–17:30.
    const DAY: i64 = 23_400;

    #[test]
    fn short_times_read_in_hours_long_ones_in_days() {
        assert_eq!(amount(5_400, DAY, Round::Down), "1.5 工作小时");
        assert_eq!(amount(3_600, DAY, Round::Down), "1 工作小时");
        // Half a working day (3.25 h) and more read in days.
        assert_eq!(amount(DAY / 2, DAY, Round::Nearest), "0.5 个工作日");
        assert_eq!(amount(14_040, DAY, Round::Up), "0.6 个工作日");
        assert_eq!(amount(2 * DAY, DAY, Round::Down), "2 个工作日");
        // Rounding: down for what is left, up for how late.
        assert_eq!(amount(5_759, DAY, Round::Down), "1.5 工作小时");
        assert_eq!(amount(5_401, DAY, Round::Up), "1.6 工作小时");
        assert_eq!(amount(5_580, DAY, Round::Nearest), "1.6 工作小时");
    }

    #[test]
    fn standings_read_as_left_or_overdue() {
        assert_eq!(
            standing_text(
                Standing::Left {
                    seconds: 5_400,
                    used: 0.5
                },
                DAY
            ),
            "剩余 1.5 工作小时"
        );
        assert_eq!(
            standing_text(Standing::Overdue { seconds: 14_040 }, DAY),
            "已超期 0.6 个工作日"
        );
        assert_eq!(
            standing_text(Standing::Overdue { seconds: 1 }, DAY),
            "已超期 0.1 工作小时"
        );
        assert_eq!(
            standing_text(
                Standing::Left {
                    seconds: 359,
                    used: 0.99
                },
                DAY
            ),
            "剩余不足 0.1 工作小时"
        );
        let v = running(
            Standing::Left {
                seconds: 5_400,
                used: 0.77,
            },
            "warning",
            DAY,
        );
        assert_eq!((v.bar, v.class), (Some(8), "warning"));
        let v = running(Standing::Overdue { seconds: 60 }, "warning", DAY);
        assert_eq!((v.bar, v.class), (Some(10), "overdue"));
    }
}
