//! A stage's clock (办理时限): the working-time budget of the stage a work
//! order (or an approval item) is in, the time it stood still waiting for the
//! applicant, and the instants it warns and falls due.
//!
//! A [`StageClock`] keeps what it needs to be recomputed exactly: when the
//! stage started, its budget in working seconds, the working seconds of its
//! closed suspensions and the start of the running one. The deadline and the
//! warning instant ([`LevelInstants`]) follow from these and the calendar:
//!
//! - due: `budget + suspended` working seconds after the start;
//! - warning: `⌈budget × share⌉ + suspended` working seconds after the start
//!   (the share of the budget configured as `warning_share`).
//!
//! A stage may also have an instant its deadline is never earlier than
//! ([`StageClock::not_before_ms`]): the appointment the enterprise asked for
//! its connection, or the end of the approved works' period. When that
//! instant is later than the budget's deadline, it is the deadline, and the
//! warning comes at the share of the working time up to it. A stage may
//! start later than the action that opened it (construction after approval
//! starts at the approved works' start date, [`construction_after_approval`]).
//!
//! So a calendar import moves both by exactly what the new calendar changes
//! ([`StageClock::recompute`]). A closed suspension is kept as the working time
//! it lasted on the calendar in use when it closed; a running one is measured
//! on the calendar in use when it ends ([`StageClock::resume`]).
//!
//! Instants are Unix milliseconds, as stored; the calendar counts whole
//! seconds (an instant's milliseconds are dropped when counting). Pure code:
//! nothing here reads the system clock or a database.

use crate::application::Level;
use crate::calendar::{CalendarError, Clock};
use time::{Date, PrimitiveDateTime, Time};

/// The instants a clock changes level: early warning, then overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelInstants {
    pub warn_at_ms: i64,
    pub due_at_ms: i64,
}

impl LevelInstants {
    /// The level at `now_ms` of a running clock.
    pub fn level_at(self, now_ms: i64) -> Level {
        Level::at(now_ms, self.warn_at_ms, self.due_at_ms)
    }

    /// When a running clock at `level` changes level next (never once
    /// overdue).
    pub fn next_change(self, level: Level) -> Option<i64> {
        level.next_change(self.warn_at_ms, self.due_at_ms)
    }
}

/// The clock of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageClock {
    /// When the stage started.
    pub started_at_ms: i64,
    /// The stage's limit, in working seconds.
    pub budget_seconds: i64,
    /// Working seconds of the stage's closed suspensions.
    pub suspended_seconds: i64,
    /// Start of the running suspension (the clock stands still), if any.
    pub suspended_at_ms: Option<i64>,
    /// The deadline is never earlier than this instant (the connection
    /// appointment, the end of the approved works), if there is one.
    pub not_before_ms: Option<i64>,
    /// The deadline and warning instant in force.
    pub instants: LevelInstants,
}

/// A finished stage's clock, as the board's figures keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageEnd {
    pub started_at_ms: i64,
    /// The deadline in force when the stage ended.
    pub due_at_ms: i64,
    /// Working time the stage took on the official calendar, its
    /// suspensions (waiting for the applicant) excluded.
    pub working_seconds: i64,
    /// Whether its clock passed the deadline before it ended (or stopped).
    pub late: bool,
}

/// Where a clock stands at an instant, in working time: how much is left
/// before its deadline and what share of its budget is used, or how long
/// it has been overdue. What the pages say beside every deadline
/// ("剩余 1.5 工作小时", "已超期 0.6 个工作日").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    /// Working seconds left before the deadline; `used` is the share of
    /// the budget used so far (0 to 1).
    Left { seconds: i64, used: f64 },
    /// Working seconds since the deadline passed.
    Overdue { seconds: i64 },
}

impl Standing {
    /// Where a clock with `budget_seconds` of working time, due at
    /// `due_at_ms`, stands at `at_ms`: the working time left is counted on
    /// `clock`'s calendar from `at_ms` to the deadline, and the share used
    /// is the rest of the budget (a budget not begun yet, such as works
    /// starting on a later date, has used nothing; a budget of nothing is
    /// all used).
    pub fn at(
        clock: &Clock,
        budget_seconds: i64,
        due_at_ms: i64,
        at_ms: i64,
    ) -> Result<Standing, CalendarError> {
        if at_ms >= due_at_ms {
            let seconds = clock.working_seconds_between(seconds(due_at_ms), seconds(at_ms))?;
            return Ok(Standing::Overdue { seconds });
        }
        let left = clock.working_seconds_between(seconds(at_ms), seconds(due_at_ms))?;
        let used = if budget_seconds <= 0 {
            1.0
        } else {
            (1.0 - left as f64 / budget_seconds as f64).clamp(0.0, 1.0)
        };
        Ok(Standing::Left {
            seconds: left,
            used,
        })
    }

    /// The share of the budget used, for a bar: all of it once overdue.
    pub fn used(self) -> f64 {
        match self {
            Standing::Left { used, .. } => used,
            Standing::Overdue { .. } => 1.0,
        }
    }
}

/// The budget of a stage whose limit is `limit_days` working days (none: a
/// stage without a limit, such as the terminal one, gets 0).
pub fn budget(clock: &Clock, limit_days: Option<f64>) -> Result<i64, CalendarError> {
    limit_days.map_or(Ok(0), |d| clock.budget_for_days(d))
}

/// Whole seconds of an instant in milliseconds.
fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl StageClock {
    /// A stage starting at `now_ms` with `budget_seconds` of working time,
    /// warning at `warning_share` of it.
    pub fn start(
        clock: &Clock,
        now_ms: i64,
        budget_seconds: i64,
        warning_share: f64,
    ) -> Result<StageClock, CalendarError> {
        StageClock::from_ledger(clock, now_ms, budget_seconds, 0, None, None, warning_share)
    }

    /// The same clock, its deadline never earlier than `at_ms` (none: the
    /// budget alone decides), counted anew.
    pub fn not_before(
        self,
        clock: &Clock,
        at_ms: Option<i64>,
        warning_share: f64,
    ) -> Result<StageClock, CalendarError> {
        StageClock {
            not_before_ms: at_ms,
            ..self
        }
        .recompute(clock, warning_share)
    }

    /// A stage's clock as kept — started at `started_at_ms` with
    /// `budget_seconds`, `suspended_seconds` waited in closed suspensions,
    /// stopped since `suspended_at_ms` if it is, due no earlier than
    /// `not_before_ms` if set — with its instants counted on `clock`'s
    /// calendar.
    pub fn from_ledger(
        clock: &Clock,
        started_at_ms: i64,
        budget_seconds: i64,
        suspended_seconds: i64,
        suspended_at_ms: Option<i64>,
        not_before_ms: Option<i64>,
        warning_share: f64,
    ) -> Result<StageClock, CalendarError> {
        StageClock {
            started_at_ms,
            budget_seconds,
            suspended_seconds,
            suspended_at_ms,
            not_before_ms,
            instants: LevelInstants {
                warn_at_ms: started_at_ms,
                due_at_ms: started_at_ms,
            },
        }
        .recompute(clock, warning_share)
    }

    /// Whether the clock runs (it is not waiting for the applicant).
    pub fn is_running(&self) -> bool {
        self.suspended_at_ms.is_none()
    }

    /// The clock stops at `now_ms` (waiting for the applicant); its instants
    /// and level stand still. A clock already stopped stays stopped from
    /// when it stopped.
    pub fn suspend(self, now_ms: i64) -> StageClock {
        StageClock {
            suspended_at_ms: Some(self.suspended_at_ms.unwrap_or(now_ms)),
            ..self
        }
    }

    /// The clock runs again at `now_ms`: the suspension's working time (on
    /// `clock`'s calendar) is added to the suspended time, which moves both
    /// instants on by it. A running clock is returned as it is.
    pub fn resume(
        self,
        clock: &Clock,
        now_ms: i64,
        warning_share: f64,
    ) -> Result<StageClock, CalendarError> {
        let Some(from) = self.suspended_at_ms else {
            return Ok(self);
        };
        let waited = clock.working_seconds_between(seconds(from), seconds(now_ms))?;
        StageClock {
            suspended_seconds: self.suspended_seconds + waited,
            suspended_at_ms: None,
            ..self
        }
        .recompute(clock, warning_share)
    }

    /// The instants on `clock`'s calendar (after a calendar import or
    /// correction): the same start, budget, suspended time and earliest
    /// deadline, counted anew. A stopped clock stays stopped; its instants
    /// are those it would have if it ran again at the moment it stopped.
    ///
    /// With an earliest deadline later than the budget's, the deadline is
    /// that instant (to the second), and the warning comes at the share of
    /// the working time from the start up to it.
    pub fn recompute(self, clock: &Clock, warning_share: f64) -> Result<StageClock, CalendarError> {
        let start = seconds(self.started_at_ms);
        let (mut warn, mut due) = clock.level_instants(
            start,
            self.budget_seconds,
            self.suspended_seconds,
            warning_share,
        )?;
        if let Some(floor) = self.not_before_ms.map(seconds)
            && floor > due
        {
            let allowed = clock.working_seconds_between(start, floor)? - self.suspended_seconds;
            warn = clock
                .level_instants(
                    start,
                    allowed.max(self.budget_seconds),
                    self.suspended_seconds,
                    warning_share,
                )?
                .0;
            due = floor;
        }
        Ok(StageClock {
            instants: LevelInstants {
                warn_at_ms: warn * 1000,
                due_at_ms: due * 1000,
            },
            ..self
        })
    }

    /// The level at `now_ms`; a stopped clock keeps the level it had when
    /// it stopped.
    pub fn level_at(&self, now_ms: i64) -> Level {
        let until = self.suspended_at_ms.map_or(now_ms, |s| s.min(now_ms));
        self.instants.level_at(until)
    }

    /// When the clock at `level` changes level next: never while stopped.
    pub fn next_change(&self, level: Level) -> Option<i64> {
        if self.is_running() {
            self.instants.next_change(level)
        } else {
            None
        }
    }

    /// Where the clock stands at `now_ms` ([`Standing::at`]); a stopped
    /// clock (waiting for the applicant) stands where it stopped.
    pub fn standing(&self, clock: &Clock, now_ms: i64) -> Result<Standing, CalendarError> {
        let at = self.suspended_at_ms.map_or(now_ms, |s| s.min(now_ms));
        Standing::at(clock, self.budget_seconds, self.instants.due_at_ms, at)
    }

    /// The stage ends at `now_ms`. A stage ending while its clock stands
    /// still counts up to the moment it stopped.
    pub fn end(&self, clock: &Clock, now_ms: i64) -> Result<StageEnd, CalendarError> {
        let until_ms = self.suspended_at_ms.unwrap_or(now_ms).min(now_ms);
        let worked =
            clock.working_seconds_between(seconds(self.started_at_ms), seconds(until_ms))?;
        Ok(StageEnd {
            started_at_ms: self.started_at_ms,
            due_at_ms: self.instants.due_at_ms,
            working_seconds: (worked - self.suspended_seconds).max(0),
            late: until_ms > self.instants.due_at_ms,
        })
    }
}

/// The clock of construction after parallel approval: its budget starts at
/// the approved works' start date (`from`, at the opening of that day, or
/// at the approval when that is later), and its deadline is never earlier
/// than the close of the working hours on the works' last day (`to`).
///
/// When that cannot be known — no period, or a period the calendar cannot
/// count yet — the budget starts at the approval instead and the second
/// value is `true`: the order is marked (`works_start_unknown`) rather
/// than silently running on a clock that ignores the works.
pub fn construction_after_approval(
    clock: &Clock,
    approved_at_ms: i64,
    period: Option<(Date, Date)>,
    budget_seconds: i64,
    warning_share: f64,
) -> Result<(StageClock, bool), CalendarError> {
    if let Some((from, to)) = period {
        let offset = clock.hours().utc_offset();
        let local = |d: Date, second: i64| {
            PrimitiveDateTime::new(d, Time::MIDNIGHT)
                .assume_offset(offset)
                .unix_timestamp()
                * 1000
                + second * 1000
        };
        let close = clock
            .hours()
            .periods()
            .last()
            .map_or(0, |&(_, end)| i64::from(end));
        let start_ms = local(from, 0).max(approved_at_ms);
        let end_ms = local(to, close);
        let planned = StageClock::start(clock, start_ms, budget_seconds, warning_share)
            .and_then(|s| s.not_before(clock, Some(end_ms), warning_share));
        if let Ok(s) = planned {
            return Ok((s, false));
        }
    }
    StageClock::start(clock, approved_at_ms, budget_seconds, warning_share).map(|s| (s, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, CalendarOverrides, WorkingHours};
    use proptest::prelude::*;
    use std::sync::LazyLock;

    /// One working day with the default hours (6.5 h).
    const DAY: i64 = 23_400;
    const SHARE: f64 = 0.75;

    static BUILTIN: LazyLock<Clock> =
        LazyLock::new(|| Clock::new(Calendar::builtin(), WorkingHours::default()));

    fn with(overrides: &str) -> Clock {
        let ov = CalendarOverrides::from_toml(overrides).unwrap();
        Clock::new(Calendar::new(Some(&ov)).unwrap(), WorkingHours::default())
    }

    /// Unix milliseconds of an RFC 3339 instant.
    fn ms(s: &str) -> i64 {
        crate::timefmt::to_ms(crate::timefmt::parse(s).unwrap())
    }

    fn instants(warn: &str, due: &str) -> LevelInstants {
        LevelInstants {
            warn_at_ms: ms(warn),
            due_at_ms: ms(due),
        }
    }

    #[test]
    fn starts_with_the_budget_and_its_warning_share() {
        let c = &*BUILTIN;
        // Thursday 10:00, two working days: 5 h on Thursday, 6.5 h on
        // Friday, nothing on Saturday, 1.5 h on the make-up Sunday 2026-09-20.
        let s = StageClock::start(c, ms("2026-09-17T10:00:00.250+08:00"), 2 * DAY, SHARE).unwrap();
        assert_eq!(s.started_at_ms, ms("2026-09-17T10:00:00.250+08:00"));
        assert_eq!((s.budget_seconds, s.suspended_seconds), (2 * DAY, 0));
        assert_eq!(s.suspended_at_ms, None);
        assert_eq!(
            s.instants,
            instants("2026-09-18T15:45:00+08:00", "2026-09-20T10:00:00+08:00")
        );
        assert_eq!(
            s.level_at(ms("2026-09-18T15:44:59.999+08:00")),
            Level::Normal
        );
        assert_eq!(s.level_at(ms("2026-09-18T15:45:00+08:00")), Level::Warning);
        assert_eq!(s.level_at(ms("2026-09-20T10:00:00+08:00")), Level::Overdue);
        assert_eq!(s.next_change(Level::Normal), Some(s.instants.warn_at_ms));
        assert_eq!(s.next_change(Level::Warning), Some(s.instants.due_at_ms));
        assert_eq!(s.next_change(Level::Overdue), None);
        // A stage without a limit is due at once (at the next opening).
        assert_eq!(budget(c, None), Ok(0));
        assert_eq!(budget(c, Some(2.0)), Ok(2 * DAY));
        let s = StageClock::start(c, ms("2026-09-19T10:00:00+08:00"), 0, SHARE).unwrap();
        assert_eq!(
            s.instants,
            instants("2026-09-20T08:30:00+08:00", "2026-09-20T08:30:00+08:00")
        );
    }

    #[test]
    fn suspend_and_resume_across_a_makeup_sunday() {
        let c = &*BUILTIN;
        let s = StageClock::start(c, ms("2026-09-17T10:00:00+08:00"), 2 * DAY, SHARE).unwrap();
        // Returned to the applicant on Friday 11:00 (7.5 h used, 5.5 h left).
        let stopped = s.suspend(ms("2026-09-18T11:00:00+08:00"));
        assert!(!stopped.is_running());
        assert_eq!(stopped.instants, s.instants);
        assert_eq!(
            stopped.suspended_at_ms,
            Some(ms("2026-09-18T11:00:00+08:00"))
        );
        // While stopped the clock keeps its level and changes it never,
        // although the old deadline passes.
        let sunday_noon = ms("2026-09-20T12:00:00+08:00");
        assert_eq!(stopped.level_at(sunday_noon), Level::Normal);
        assert_eq!(stopped.next_change(Level::Normal), None);
        // Stopping again changes nothing.
        assert_eq!(stopped.suspend(sunday_noon), stopped);
        // Resubmitted on Monday 09:00: Friday 11:00–12:00 and 14:30–17:30,
        // the whole make-up Sunday and Monday 08:30–09:00 were waited (11 h).
        let resumed = stopped
            .resume(c, ms("2026-09-21T09:00:00+08:00"), SHARE)
            .unwrap();
        assert_eq!(resumed.suspended_seconds, 11 * 3600);
        assert_eq!(resumed.suspended_at_ms, None);
        // The 5.5 h left run from Monday 09:00; the warning 2.25 h in.
        assert_eq!(
            resumed.instants,
            instants("2026-09-21T11:15:00+08:00", "2026-09-21T17:00:00+08:00")
        );
        assert_eq!(resumed.started_at_ms, s.started_at_ms);
        assert_eq!(resumed.budget_seconds, s.budget_seconds);
        // Resuming a running clock changes nothing.
        assert_eq!(
            resumed.resume(c, ms("2026-09-22T09:00:00+08:00"), SHARE),
            Ok(resumed)
        );
        // The stage's working time leaves the wait out.
        let end = resumed.end(c, ms("2026-09-21T16:00:00+08:00")).unwrap();
        assert_eq!(
            end,
            StageEnd {
                started_at_ms: s.started_at_ms,
                due_at_ms: ms("2026-09-21T17:00:00+08:00"),
                working_seconds: 2 * DAY - 3600,
                late: false,
            }
        );
    }

    #[test]
    fn standing_counts_working_time_left_and_overdue() {
        let c = &*BUILTIN;
        // Thursday 10:00, two working days: due on the make-up Sunday
        // 2026-09-20 at 10:00.
        let s = StageClock::start(c, ms("2026-09-17T10:00:00+08:00"), 2 * DAY, SHARE).unwrap();
        // Thursday 15:00: 10:00–12:00 and 14:30–15:00 used (2.5 h).
        let at_three = s.standing(c, ms("2026-09-17T15:00:00+08:00")).unwrap();
        assert_eq!(
            at_three,
            Standing::Left {
                seconds: 2 * DAY - 9_000,
                used: 1.0 - (2 * DAY - 9_000) as f64 / (2 * DAY) as f64,
            }
        );
        // Saturday is no working day: at Saturday noon, Thursday's 5 h and
        // Friday's 6.5 h are used; 1.5 h are left on Sunday morning.
        assert_eq!(
            s.standing(c, ms("2026-09-19T12:00:00+08:00")).unwrap(),
            Standing::Left {
                seconds: 5_400,
                used: 1.0 - 5_400.0 / (2 * DAY) as f64,
            }
        );
        // At the deadline it is overdue by nothing, then by working time
        // only: Sunday 10:00–12:00 and 14:30–17:30, Monday 08:30–09:00.
        assert_eq!(
            s.standing(c, ms("2026-09-20T10:00:00+08:00")).unwrap(),
            Standing::Overdue { seconds: 0 }
        );
        let late = s.standing(c, ms("2026-09-21T09:00:00+08:00")).unwrap();
        assert_eq!(late, Standing::Overdue { seconds: 19_800 });
        assert_eq!(late.used(), 1.0);
        // Waiting for the applicant since Friday 11:00 (7.5 h used): it
        // stands there however late it is now.
        let stopped = s.suspend(ms("2026-09-18T11:00:00+08:00"));
        assert_eq!(
            stopped
                .standing(c, ms("2026-09-22T09:00:00+08:00"))
                .unwrap(),
            Standing::Left {
                seconds: 2 * DAY - 27_000,
                used: 1.0 - (2 * DAY - 27_000) as f64 / (2 * DAY) as f64,
            }
        );
        // A budget starting later (works from Monday) has used nothing:
        // Friday 17:00–17:30, the make-up Sunday and Monday are left.
        let later = StageClock::start(c, ms("2026-09-21T08:30:00+08:00"), DAY, SHARE).unwrap();
        assert_eq!(
            later.standing(c, ms("2026-09-18T17:00:00+08:00")).unwrap(),
            Standing::Left {
                seconds: 1_800 + 2 * DAY,
                used: 0.0,
            }
        );
        // A stage without a limit is all used.
        assert_eq!(
            Standing::at(
                c,
                0,
                ms("2026-09-18T09:00:00+08:00"),
                ms("2026-09-18T08:00:00+08:00")
            )
            .unwrap(),
            Standing::Left {
                seconds: 1_800,
                used: 1.0
            }
        );
    }

    #[test]
    fn suspend_and_resume_across_a_public_holiday() {
        let c = &*BUILTIN;
        // Tuesday 2026-09-29 14:30, two working days: due on the first
        // working day after National Day (10-01 … 10-07) at 12:00.
        let s = StageClock::start(c, ms("2026-09-29T14:30:00+08:00"), 2 * DAY, SHARE).unwrap();
        assert_eq!(
            s.instants,
            instants("2026-10-08T08:45:00+08:00", "2026-10-08T12:00:00+08:00")
        );
        // Returned on 09-30 at 15:00 (7 h used), resubmitted on 10-08 at
        // 10:00: 2.5 h on 09-30 and 1.5 h on 10-08 waited; the holidays
        // count for nothing.
        let resumed = s
            .suspend(ms("2026-09-30T15:00:00+08:00"))
            .resume(c, ms("2026-10-08T10:00:00+08:00"), SHARE)
            .unwrap();
        assert_eq!(resumed.suspended_seconds, 4 * 3600);
        assert_eq!(
            resumed.instants,
            instants("2026-10-08T15:15:00+08:00", "2026-10-09T09:30:00+08:00")
        );
        // It ends on 10-09 at 10:00, half an hour late.
        let end = resumed.end(c, ms("2026-10-09T10:00:00+08:00")).unwrap();
        assert_eq!(end.working_seconds, 2 * DAY + 1800);
        assert!(end.late);
        // Ending while stopped counts up to the stop.
        let end = s
            .suspend(ms("2026-09-30T15:00:00+08:00"))
            .end(c, ms("2026-10-09T10:00:00+08:00"))
            .unwrap();
        assert_eq!((end.working_seconds, end.late), (7 * 3600, false));
    }

    #[test]
    fn recompute_after_an_import_that_adds_a_holiday() {
        let c = &*BUILTIN;
        let s = StageClock::start(c, ms("2026-09-29T14:30:00+08:00"), 2 * DAY, SHARE).unwrap();
        // The same calendar: nothing moves.
        assert_eq!(s.recompute(c, SHARE), Ok(s));
        // An import makes 10-08 a holiday too: both instants move on by
        // that working day, to Friday 10-09.
        let longer = with(
            r#"
[[days]]
date = "2026-10-08"
kind = "holiday"
name = "国庆节"
"#,
        );
        let moved = s.recompute(&longer, SHARE).unwrap();
        assert_eq!(
            moved.instants,
            instants("2026-10-09T08:45:00+08:00", "2026-10-09T12:00:00+08:00")
        );
        assert_eq!(
            StageClock {
                instants: s.instants,
                ..moved
            },
            s,
            "only the instants change"
        );
        // With two hours waited (suspended earlier), both move on by them.
        let waited = StageClock {
            suspended_seconds: 7_200,
            ..s
        }
        .recompute(&longer, SHARE)
        .unwrap();
        assert_eq!(
            waited.instants,
            instants("2026-10-09T10:45:00+08:00", "2026-10-09T16:30:00+08:00")
        );
        // A clock stopped across the new holiday: the holiday is not waited
        // time when it resumes on the new calendar (1.5 h on 10-09 only).
        let stopped = s.suspend(ms("2026-09-30T17:30:00+08:00"));
        let recomputed = stopped.recompute(&longer, SHARE).unwrap();
        assert_eq!(recomputed.instants, moved.instants);
        assert!(!recomputed.is_running());
        let resumed = recomputed
            .resume(&longer, ms("2026-10-09T10:00:00+08:00"), SHARE)
            .unwrap();
        assert_eq!(resumed.suspended_seconds, 5_400);
        // 3.5 h were left on 09-30 at 17:30: from 10:00 on 10-09 (the
        // warning a quarter of an hour in).
        assert_eq!(
            resumed.instants,
            instants("2026-10-09T10:15:00+08:00", "2026-10-09T16:00:00+08:00")
        );
        // On the old calendar 10-08 would have been waited too.
        let old = stopped
            .resume(c, ms("2026-10-09T10:00:00+08:00"), SHARE)
            .unwrap();
        assert_eq!(old.suspended_seconds, 5_400 + DAY);
    }

    #[test]
    fn an_appointment_later_than_the_limit_is_the_deadline() {
        let c = &*BUILTIN;
        // Connection opens on Tuesday 12-01 at 10:00 with one working day:
        // due Wednesday 10:00 by the limit.
        let s = StageClock::start(c, ms("2026-12-01T10:00:00+08:00"), DAY, SHARE).unwrap();
        assert_eq!(s.not_before_ms, None);
        assert_eq!(
            s.instants,
            instants("2026-12-01T17:22:30+08:00", "2026-12-02T10:00:00+08:00")
        );
        // The enterprise asked for Friday 09:00: that is the deadline, and
        // the warning comes at 75 % of the 18.5 working hours up to it.
        let friday = ms("2026-12-04T09:00:00+08:00");
        let asked = s.not_before(c, Some(friday), SHARE).unwrap();
        assert_eq!(asked.not_before_ms, Some(friday));
        assert_eq!(
            asked.instants,
            instants("2026-12-03T10:52:30+08:00", "2026-12-04T09:00:00+08:00")
        );
        assert_eq!(
            (asked.started_at_ms, asked.budget_seconds),
            (s.started_at_ms, DAY),
            "the start and the budget stay"
        );
        assert_eq!(
            asked.level_at(ms("2026-12-03T10:52:29+08:00")),
            Level::Normal
        );
        assert_eq!(
            asked.level_at(ms("2026-12-03T10:52:30+08:00")),
            Level::Warning
        );
        assert_eq!(asked.level_at(friday - 1), Level::Warning);
        assert_eq!(asked.level_at(friday), Level::Overdue);
        // As kept and read back, it is the same clock; recomputing on the
        // same calendar changes nothing.
        assert_eq!(
            StageClock::from_ledger(c, s.started_at_ms, DAY, 0, None, Some(friday), SHARE),
            Ok(asked)
        );
        assert_eq!(asked.recompute(c, SHARE), Ok(asked));
        // An appointment earlier than the limit's deadline changes nothing.
        let early = s
            .not_before(c, Some(ms("2026-12-02T09:00:00+08:00")), SHARE)
            .unwrap();
        assert_eq!(early.instants, s.instants);
        // Nor does one already past.
        let past = s
            .not_before(c, Some(ms("2026-11-30T09:00:00+08:00")), SHARE)
            .unwrap();
        assert_eq!(past.instants, s.instants);
        // An appointment on a Saturday morning is the deadline to the
        // minute; the warning counts the working time up to Friday's close.
        let saturday = s
            .not_before(c, Some(ms("2026-12-05T10:00:00+08:00")), SHARE)
            .unwrap();
        assert_eq!(
            saturday.instants,
            instants("2026-12-04T08:52:30+08:00", "2026-12-05T10:00:00+08:00")
        );
        // Removing it brings the limit back.
        assert_eq!(
            asked.not_before(c, None, SHARE).unwrap().instants,
            s.instants
        );
        // The milliseconds of an appointment are dropped, like every instant's.
        let odd = s.not_before(c, Some(friday + 999), SHARE).unwrap();
        assert_eq!(odd.instants.due_at_ms, friday);
    }

    #[test]
    fn construction_after_approval_runs_from_the_approved_start() {
        let c = &*BUILTIN;
        let d = |s: &str| crate::timefmt::parse_date(s).unwrap();
        let works = Some((d("2026-12-07"), d("2026-12-09")));
        // Approved on Tuesday 12-01 at 15:00 for works from Monday 12-07 to
        // Wednesday 12-09: one working day from Monday's opening would end
        // on Monday at 17:30; the works' last day closes on Wednesday at
        // 17:30, which is the deadline.
        let approved = ms("2026-12-01T15:00:00+08:00");
        let (s, unknown) = construction_after_approval(c, approved, works, DAY, SHARE).unwrap();
        assert!(!unknown);
        assert_eq!(s.started_at_ms, ms("2026-12-07T00:00:00+08:00"));
        assert_eq!(s.budget_seconds, DAY);
        assert_eq!(s.not_before_ms, Some(ms("2026-12-09T17:30:00+08:00")));
        assert_eq!(
            s.instants,
            instants("2026-12-09T10:07:30+08:00", "2026-12-09T17:30:00+08:00")
        );
        // Until the works start, nothing is late.
        assert_eq!(s.level_at(approved), Level::Normal);
        assert_eq!(
            s.next_change(Level::Normal),
            Some(ms("2026-12-09T10:07:30+08:00"))
        );
        // Finished early, before the start: no working time, not late.
        let end = s.end(c, ms("2026-12-04T16:00:00+08:00")).unwrap();
        assert_eq!((end.working_seconds, end.late), (0, false));
        // Approved after the planned start: the budget runs from the approval.
        let late = ms("2026-12-08T10:00:00+08:00");
        let (s, unknown) = construction_after_approval(c, late, works, DAY, SHARE).unwrap();
        assert!(!unknown);
        assert_eq!(s.started_at_ms, late);
        assert_eq!(s.instants.due_at_ms, ms("2026-12-09T17:30:00+08:00"));
        // Approved after the works' period: the limit from the approval.
        let after = ms("2026-12-10T10:00:00+08:00");
        let (s, _) = construction_after_approval(c, after, works, DAY, SHARE).unwrap();
        assert_eq!(s.instants.due_at_ms, ms("2026-12-11T10:00:00+08:00"));
        // A one-day period: the limit and the day's close agree.
        let one = Some((d("2026-12-07"), d("2026-12-07")));
        let (s, _) = construction_after_approval(c, approved, one, DAY, SHARE).unwrap();
        assert_eq!(
            s.instants,
            instants("2026-12-07T15:52:30+08:00", "2026-12-07T17:30:00+08:00")
        );
        // Without a period, or with one the calendar cannot count yet, the
        // budget runs from the approval and the clock says so.
        for period in [None, Some((d("2027-03-01"), d("2027-03-03")))] {
            let (s, unknown) =
                construction_after_approval(c, approved, period, DAY, SHARE).unwrap();
            assert!(unknown, "{period:?}");
            assert_eq!(s.started_at_ms, approved);
            assert_eq!(s.not_before_ms, None);
            assert_eq!(s.instants.due_at_ms, ms("2026-12-02T15:00:00+08:00"));
        }
        // The approval itself beyond the calendar is the calendar's error.
        let e = construction_after_approval(c, ms("2027-03-01T10:00:00+08:00"), None, DAY, SHARE)
            .unwrap_err();
        assert_eq!(e.code(), "calendar_year_missing");
    }

    #[test]
    fn a_calendar_without_the_year_is_an_error() {
        let c = &*BUILTIN;
        let e = StageClock::start(c, ms("2027-03-01T10:00:00+08:00"), DAY, SHARE).unwrap_err();
        assert_eq!(e.code(), "calendar_year_missing");
        // A budget running past the calendar's end, too.
        let e = StageClock::start(c, ms("2026-12-24T10:00:00+08:00"), 10 * DAY, SHARE).unwrap_err();
        assert_eq!(e.code(), "calendar_year_missing");
    }

    // ---------------------------------------------------------------------
    // Properties

    /// Instants (ms) from 2025-01-01 to 2026-09-30, Beijing time: the
    /// built-in calendar covers them and the weeks after.
    fn instant() -> impl Strategy<Value = i64> {
        ms("2025-01-01T00:00:00+08:00")..ms("2026-09-30T00:00:00+08:00")
    }

    fn span() -> impl Strategy<Value = i64> {
        prop_oneof![
            0i64..3_600_000,
            0i64..(5 * 86_400_000),
            0i64..(15 * 86_400_000)
        ]
    }

    fn budget_s() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(0i64),
            Just(DAY / 2),
            Just(DAY),
            Just(2 * DAY),
            0..=5 * DAY
        ]
    }

    fn share() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.75f64), Just(0.0), Just(1.0), 0.0f64..=1.0]
    }

    fn ws(a_ms: i64, b_ms: i64) -> i64 {
        BUILTIN
            .working_seconds_between(seconds(a_ms), seconds(b_ms))
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The deadline is the budget after the start, the warning its share.
        #[test]
        fn prop_start_spends_the_budget(t in instant(), b in budget_s(), sh in share()) {
            let c = &*BUILTIN;
            let s = StageClock::start(c, t, b, sh).unwrap();
            let LevelInstants { warn_at_ms: w, due_at_ms: d } = s.instants;
            prop_assert!(t.div_euclid(1000) * 1000 <= w && w <= d);
            prop_assert_eq!(w % 1000, 0);
            prop_assert_eq!(d % 1000, 0);
            prop_assert_eq!(ws(t, d), b);
            prop_assert_eq!(ws(t, w), ((b as f64) * sh).ceil() as i64);
            // The smallest such instants.
            if b > 0 {
                prop_assert_eq!(ws(t, d - 1000), b - 1);
            }
            prop_assert_eq!(s.recompute(c, sh), Ok(s));
        }

        /// A suspension moves both instants on by exactly the working time
        /// it lasted: what was left of the budget when it began is left
        /// when it ends, and the stage's working time leaves it out.
        #[test]
        fn prop_suspension_shifts_by_the_working_time_waited(
            t in instant(), b in budget_s(), sh in share(),
            before in span(), waited in span(), after in span(),
        ) {
            let c = &*BUILTIN;
            let (s_at, r_at, e_at) = (t + before, t + before + waited, t + before + waited + after);
            let s = StageClock::start(c, t, b, sh).unwrap();
            let stopped = s.suspend(s_at);
            prop_assert_eq!(stopped.instants, s.instants);
            // As kept and read back, it is the same clock.
            prop_assert_eq!(StageClock::from_ledger(c, t, b, 0, Some(s_at), None, sh), Ok(stopped));
            prop_assert_eq!(stopped.level_at(e_at), s.level_at(s_at));
            let r = stopped.resume(c, r_at, sh).unwrap();
            prop_assert!(r.is_running());
            prop_assert_eq!(r.suspended_seconds, ws(s_at, r_at));
            prop_assert_eq!(ws(t, r.instants.due_at_ms), b + r.suspended_seconds);
            prop_assert!(r.instants.due_at_ms >= s.instants.due_at_ms);
            prop_assert!(r.instants.warn_at_ms >= s.instants.warn_at_ms);
            let used = ws(t, s_at);
            if used <= b {
                prop_assert_eq!(ws(r_at, r.instants.due_at_ms), b - used);
            }
            let end = r.end(c, e_at).unwrap();
            prop_assert_eq!(end.working_seconds, used + ws(r_at, e_at));
            prop_assert_eq!(end.late, e_at > r.instants.due_at_ms);
            prop_assert_eq!(end.due_at_ms, r.instants.due_at_ms);
            // Ended while stopped: up to the stop.
            let end = stopped.end(c, e_at).unwrap();
            prop_assert_eq!(end.working_seconds, used);
            prop_assert_eq!(end.late, s_at > s.instants.due_at_ms);
            // Recomputing on the same calendar changes nothing.
            prop_assert_eq!(r.recompute(c, sh), Ok(r));
        }

        /// Resuming at once changes nothing; two suspensions add up.
        #[test]
        fn prop_suspensions_add_up(
            t in instant(), b in budget_s(),
            a in span(), w1 in span(), g in span(), w2 in span(),
        ) {
            let c = &*BUILTIN;
            let s = StageClock::start(c, t, b, SHARE).unwrap();
            let same = s.suspend(t + a).resume(c, t + a, SHARE).unwrap();
            prop_assert_eq!(same, s);
            let (s1, r1) = (t + a, t + a + w1);
            let (s2, r2) = (r1 + g, r1 + g + w2);
            let twice = s
                .suspend(s1)
                .resume(c, r1, SHARE)
                .unwrap()
                .suspend(s2)
                .resume(c, r2, SHARE)
                .unwrap();
            prop_assert_eq!(twice.suspended_seconds, ws(s1, r1) + ws(s2, r2));
            let kept = StageClock::from_ledger(c, t, b, twice.suspended_seconds, None, None, SHARE);
            prop_assert_eq!(kept, Ok(twice));
        }

        /// An earliest deadline: the deadline is the later of it and the
        /// budget's, the warning the share of the working time up to it,
        /// never after it; kept and read back, the same clock.
        #[test]
        fn prop_the_deadline_is_never_before_the_floor(
            t in instant(), b in budget_s(), sh in share(), w in 0..=DAY, f in span(),
        ) {
            let c = &*BUILTIN;
            let floor = t + f;
            let plain = StageClock::from_ledger(c, t, b, w, None, None, sh).unwrap();
            let s = plain.not_before(c, Some(floor), sh).unwrap();
            let d = s.instants.due_at_ms;
            let floor_s = floor.div_euclid(1000) * 1000;
            prop_assert_eq!(d, plain.instants.due_at_ms.max(floor_s));
            prop_assert!(s.instants.warn_at_ms <= d);
            prop_assert!(s.instants.warn_at_ms >= plain.instants.warn_at_ms);
            let allowed = (ws(t, d) - w).max(b);
            prop_assert_eq!(
                ws(t, s.instants.warn_at_ms),
                ((allowed as f64) * sh).ceil() as i64 + w
            );
            prop_assert_eq!(
                StageClock::from_ledger(c, t, b, w, None, Some(floor), sh),
                Ok(s)
            );
            prop_assert_eq!(s.recompute(c, sh), Ok(s));
            prop_assert_eq!(s.level_at(d), Level::Overdue);
            if d > t {
                prop_assert!(s.level_at(d - 1) < Level::Overdue);
            }
        }

        /// A running clock's level never goes back as time passes, and is
        /// the level of its instants.
        #[test]
        fn prop_levels_only_rise(t in instant(), b in budget_s(), x in span(), y in span()) {
            let s = StageClock::start(&BUILTIN, t, b, SHARE).unwrap();
            let (l1, l2) = (s.level_at(t + x), s.level_at(t + x + y));
            prop_assert!(l1 <= l2);
            prop_assert_eq!(s.level_at(s.instants.due_at_ms), Level::Overdue);
            match s.next_change(l1) {
                Some(n) => prop_assert!(n > t + x && s.level_at(n) > l1),
                None => prop_assert_eq!(l1, Level::Overdue),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// An import that makes one working day a holiday: recomputed, the
        /// instants spend the same working time on the new calendar, never
        /// earlier, and later exactly when the day held working time before
        /// the old deadline.
        #[test]
        fn prop_recompute_after_an_added_holiday(
            t in instant(), b in budget_s(), day in 0i64..30, waited in 0..=DAY,
        ) {
            let c = &*BUILTIN;
            let beijing = time::UtcOffset::from_hms(8, 0, 0).unwrap();
            let date = crate::timefmt::from_ms(t, beijing).date() + time::Duration::days(day);
            prop_assume!(c.calendar().day(date).map(|d| d.working).unwrap_or(false));
            let new = with(&format!(
                "[[days]]\ndate = \"{date}\"\nkind = \"holiday\"\nname = \"临时休假\"\n"
            ));
            let ws_new = |a: i64, b: i64| {
                new.working_seconds_between(seconds(a), seconds(b)).unwrap()
            };
            let s = StageClock::from_ledger(c, t, b, waited, None, None, SHARE).unwrap();
            let moved = s.recompute(&new, SHARE).unwrap();
            prop_assert_eq!(
                StageClock { instants: s.instants, ..moved },
                s
            );
            let LevelInstants { warn_at_ms: w, due_at_ms: d } = moved.instants;
            prop_assert_eq!(ws_new(t, d), b + waited);
            prop_assert_eq!(
                ws_new(t, w),
                ((b as f64) * SHARE).ceil() as i64 + waited
            );
            if b + waited > 0 {
                prop_assert_eq!(ws_new(t, d - 1000), b + waited - 1);
            }
            let lost = ws(t, s.instants.due_at_ms) - ws_new(t, s.instants.due_at_ms);
            prop_assert!(lost >= 0);
            prop_assert!(d >= s.instants.due_at_ms && w >= s.instants.warn_at_ms);
            // (A zero budget is due at the next opening, which the holiday
            // may move without any working time lost.)
            if b + waited > 0 {
                prop_assert_eq!(d > s.instants.due_at_ms, lost > 0);
            }
        }

    }
}
