//! The working-time clock: deadline arithmetic on the official calendar.
//!
//! Construction precomputes, over the calendar's dense day table,
//! - `prefix[i]`: working seconds from the table start to the start of day `i`
//!   (uncovered days count as zero), and
//! - `gap_end[i]`: the first uncovered day at or after day `i` (the table length when
//!   there is none),
//!
//! so that the working-time position of an instant is one look-up plus a scan of the (few)
//! working periods, and the end of a budget is a galloping search on `prefix` starting at
//! the start day. Nothing on the hot path allocates.

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::{Calendar, CalendarError, DayInfo, SECONDS_PER_DAY, WorkingHours, date_from_epoch_day};

/// Working-day arithmetic over a [`Calendar`] and [`WorkingHours`].
#[derive(Debug, Clone)]
pub struct Clock {
    calendar: Calendar,
    hours: WorkingHours,
    /// UTC offset in seconds.
    offset: i64,
    /// Days since 1970-01-01 of table index 0.
    first_epoch_day: i64,
    /// Working periods as `(start, end)` seconds since local midnight.
    periods: Box<[(i64, i64)]>,
    /// `cum[k]`: working seconds in the periods before period `k` (length `periods + 1`).
    cum: Box<[i64]>,
    /// `prefix[i]`: working seconds in days `0..i` (length `days + 1`).
    prefix: Box<[i64]>,
    /// `gap_end[i]`: first uncovered day index `>= i` (length `days + 1`).
    gap_end: Box<[u32]>,
    /// `dates[i]`: the date of day `i` (length `days + 1`), to build results cheaply.
    dates: Box<[Date]>,
}

/// Upper bound on `add_working_days`' `days` (far beyond any covered range).
const MAX_WORKING_DAYS: f64 = 1_000_000.0;

impl Clock {
    pub fn new(calendar: Calendar, hours: WorkingHours) -> Clock {
        let periods: Box<[(i64, i64)]> = hours
            .periods()
            .iter()
            .map(|&(a, b)| (i64::from(a), i64::from(b)))
            .collect();
        let mut cum = Vec::with_capacity(periods.len() + 1);
        let mut acc = 0;
        cum.push(0);
        for &(a, b) in periods.iter() {
            acc += b - a;
            cum.push(acc);
        }
        let day_seconds = hours.day_seconds();

        let n = calendar.table_len();
        let mut prefix = Vec::with_capacity(n + 1);
        let mut acc = 0i64;
        prefix.push(0);
        for i in 0..n {
            if calendar.working_at(i) == Some(true) {
                acc += day_seconds;
            }
            prefix.push(acc);
        }
        let mut gap_end = vec![n as u32; n + 1];
        for i in (0..n).rev() {
            gap_end[i] = if calendar.working_at(i).is_none() {
                i as u32
            } else {
                gap_end[i + 1]
            };
        }

        let first = date_from_epoch_day(calendar.first_epoch_day());
        let dates: Box<[Date]> = std::iter::successors(first, |d| d.next_day())
            .take(n + 1)
            .collect();

        Clock {
            dates,
            offset: i64::from(hours.utc_offset_seconds()),
            first_epoch_day: calendar.first_epoch_day(),
            calendar,
            hours,
            periods,
            cum: cum.into_boxed_slice(),
            prefix: prefix.into_boxed_slice(),
            gap_end: gap_end.into_boxed_slice(),
        }
    }

    /// Whether the day of `instant` (at the configured offset) is only
    /// provisional: a deadline falling on it was counted on the statutory
    /// rules, not on an official notice.
    pub fn is_provisional(&self, instant: i64) -> bool {
        self.to_local(instant)
            .is_some_and(|t| self.calendar.is_provisional(t.date()))
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// Unix seconds of `t` (the sub-second part is dropped).
    pub fn instant(t: OffsetDateTime) -> i64 {
        t.unix_timestamp()
    }

    /// `instant` as a date-time at the configured UTC offset (`None` only for instants
    /// beyond what `time` can represent).
    pub fn to_local(&self, instant: i64) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(instant)
            .ok()?
            .checked_to_offset(self.hours.utc_offset())
    }

    /// Working seconds in `days` working days: `round(days × day_seconds)`.
    pub fn budget_for_days(&self, days: f64) -> Result<i64, CalendarError> {
        if !days.is_finite() || !(0.0..=MAX_WORKING_DAYS).contains(&days) {
            return Err(CalendarError::InvalidDuration(format!(
                "工作日数必须是 0 到 {MAX_WORKING_DAYS} 之间的数（收到 {days}）"
            )));
        }
        Ok((days * self.hours.day_seconds() as f64).round() as i64)
    }

    /// "`days` working days from `from`": the instant at which `days` × (one day's working
    /// time) of working time has elapsed, counting from `from` or from the next opening if
    /// `from` is outside working hours. The result is at the configured UTC offset.
    pub fn add_working_days(
        &self,
        from: OffsetDateTime,
        days: f64,
    ) -> Result<OffsetDateTime, CalendarError> {
        let budget = self.budget_for_days(days)?;
        let (t, j, second) = self.add_core(from.unix_timestamp(), budget)?;
        // Build the local date-time from the day index directly (cheaper than converting
        // the Unix time); `j == usize::MAX` means "not known", as for `budget == 0` inside
        // a period.
        if j != usize::MAX {
            let (day, second) = if second == SECONDS_PER_DAY {
                (j + 1, 0)
            } else {
                (j, second)
            };
            if let Some(&date) = self.dates.get(day) {
                let time = Time::from_hms(
                    (second / 3600) as u8,
                    (second / 60 % 60) as u8,
                    (second % 60) as u8,
                );
                if let Ok(time) = time {
                    return Ok(
                        PrimitiveDateTime::new(date, time).assume_offset(self.hours.utc_offset())
                    );
                }
            }
        }
        self.to_local(t).ok_or_else(|| self.missing_at(t))
    }

    /// The smallest instant `t >= from` such that the working time in `[from, t]` equals
    /// `budget` seconds. When the budget runs out exactly at the end of a working period,
    /// the answer is that end (e.g. 17:30), not the next opening.
    ///
    /// `budget == 0` gives `from` itself when `from` lies within a working period, ends
    /// included, and otherwise the next opening. (Counting the period ends as inside keeps
    /// `add(add(t, a), b) == add(t, a + b)` true for all `a, b >= 0`.)
    ///
    /// Errors: a negative budget, or any uncovered day between `from` and the answer.
    #[inline]
    pub fn add_working_seconds(&self, from: i64, budget: i64) -> Result<i64, CalendarError> {
        self.add_core(from, budget).map(|(t, _, _)| t)
    }

    /// [`Clock::add_working_seconds`], also returning the answer's day index and second of
    /// the (local) day, or `usize::MAX` as day index when the answer is `from` itself.
    #[inline]
    fn add_core(&self, from: i64, budget: i64) -> Result<(i64, usize, i64), CalendarError> {
        if budget < 0 {
            return Err(CalendarError::InvalidDuration(format!(
                "工作时长不能为负数（{budget} 秒）"
            )));
        }
        let (i, s) = self.locate(from)?;
        let day_start = self.prefix[i];
        let working = self.prefix[i + 1] > day_start;

        // Working-time position of `from`, relative to the table start.
        let mut within = 0;
        if working {
            for &(a, b) in self.periods.iter() {
                if s < a {
                    break;
                }
                if s <= b && budget == 0 {
                    // Inside a period (ends included): no waiting.
                    return Ok((from, usize::MAX, s));
                }
                within += s.min(b) - a;
            }
        }
        let position = day_start + within;
        let target = position.saturating_add(budget);

        // Budget > 0: the smallest t with pos(t) == target lies in (start, end] of a
        // period, i.e. day j with prefix[j] < target <= prefix[j + 1]. Budget == 0 (and
        // `from` outside every period): the next opening lies at [start, end) of a period,
        // i.e. prefix[j] <= target < prefix[j + 1]. With integers, the second is the first
        // with `target + 1`.
        let strict = i64::from(budget == 0);
        let goal = target.saturating_add(strict);
        let gap = self.gap_end[i] as usize;
        if goal > self.prefix[gap] {
            return Err(self.missing_day_index(gap));
        }
        let j = self.first_reaching(i, gap, goal) - 1;

        let r = target - self.prefix[j];
        let mut k = 0;
        while self.cum[k + 1] < r + strict {
            k += 1;
        }
        let second = self.periods[k].0 + (r - self.cum[k]);
        let local_midnight = (self.first_epoch_day + j as i64) * SECONDS_PER_DAY;
        Ok((local_midnight - self.offset + second, j, second))
    }

    /// The instants a stage's clock reaches its early warning and its
    /// deadline: `share` of the working-time `budget` used (rounded up to
    /// the second), and all of it. `suspended` working seconds (waiting for
    /// the applicant) do not count: both instants move on by them.
    pub fn level_instants(
        &self,
        started: i64,
        budget: i64,
        suspended: i64,
        share: f64,
    ) -> Result<(i64, i64), CalendarError> {
        let warn_budget = ((budget as f64) * share).ceil() as i64;
        let warn = self.add_working_seconds(started, warn_budget.clamp(0, budget) + suspended)?;
        let due = self.add_working_seconds(started, budget + suspended)?;
        Ok((warn, due))
    }

    /// Working seconds in `[a, b]` (0 if `b <= a`). Errors if any day from `a`'s to `b`'s is
    /// uncovered.
    pub fn working_seconds_between(&self, a: i64, b: i64) -> Result<i64, CalendarError> {
        if b <= a {
            return Ok(0);
        }
        let (ia, sa) = self.locate(a)?;
        let (ib, sb) = self.locate_any(b);
        let gap = self.gap_end[ia] as i64;
        if ib >= gap {
            return Err(self.missing_day_index(gap as usize));
        }
        let ib = ib as usize;
        Ok(self.position(ib, sb) - self.position(ia, sa))
    }

    /// The calendar day of `instant` (at the configured UTC offset).
    pub fn day_of(&self, instant: i64) -> Result<DayInfo, CalendarError> {
        let (i, _) = self.locate_any(instant);
        let epoch_day = self.first_epoch_day.saturating_add(i);
        let Some(date) = date_from_epoch_day(epoch_day) else {
            return Err(self.calendar.missing_epoch_day(epoch_day));
        };
        self.calendar.day(date)
    }

    /// Day index (possibly outside the table) and second of day of `t`.
    #[inline]
    fn locate_any(&self, t: i64) -> (i64, i64) {
        let local = t.saturating_add(self.offset);
        (
            local.div_euclid(SECONDS_PER_DAY) - self.first_epoch_day,
            local.rem_euclid(SECONDS_PER_DAY),
        )
    }

    /// Day index and second of day of `t`, which must be on a covered day.
    #[inline]
    fn locate(&self, t: i64) -> Result<(usize, i64), CalendarError> {
        let (i, s) = self.locate_any(t);
        match usize::try_from(i) {
            Ok(i) if i < self.gap_end.len() - 1 && self.gap_end[i] as usize != i => Ok((i, s)),
            _ => Err(self
                .calendar
                .missing_epoch_day(self.first_epoch_day.saturating_add(i))),
        }
    }

    /// Working-time position (from the table start) of second `s` of covered day `i`.
    #[inline]
    fn position(&self, i: usize, s: i64) -> i64 {
        let start = self.prefix[i];
        if self.prefix[i + 1] == start {
            return start;
        }
        let mut within = 0;
        for &(a, b) in self.periods.iter() {
            if s <= a {
                break;
            }
            within += s.min(b) - a;
        }
        start + within
    }

    /// The smallest `m` in `(i, limit]` with `prefix[m] >= goal`, given
    /// `prefix[i] < goal <= prefix[limit]`. Galloping from `i` (deadlines are usually a few
    /// days away), then binary search.
    #[inline]
    fn first_reaching(&self, i: usize, limit: usize, goal: i64) -> usize {
        let prefix = &self.prefix;
        let mut lo = i; // prefix[lo] < goal
        let mut step = 1;
        let mut hi = (i + 1).min(limit);
        while prefix[hi] < goal {
            lo = hi;
            step *= 2;
            hi = (lo + step).min(limit);
        }
        // prefix[lo] < goal <= prefix[hi]
        lo + 1 + prefix[lo + 1..hi].partition_point(|&x| x < goal)
    }

    fn missing_day_index(&self, i: usize) -> CalendarError {
        self.calendar
            .missing_epoch_day(self.first_epoch_day + i as i64)
    }

    fn missing_at(&self, t: i64) -> CalendarError {
        let (i, _) = self.locate_any(t);
        self.calendar
            .missing_epoch_day(self.first_epoch_day.saturating_add(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn clock() -> Clock {
        Clock::new(Calendar::builtin(), WorkingHours::default())
    }

    fn at(t: OffsetDateTime) -> i64 {
        t.unix_timestamp()
    }

    #[test]
    fn calendar_clock_basic_examples() {
        let c = clock();
        // Friday 16:00 + 1 working day → Monday 16:00.
        let due = c
            .add_working_days(datetime!(2025-11-07 16:00 +8), 1.0)
            .unwrap();
        assert_eq!(due, datetime!(2025-11-10 16:00 +8));
        assert_eq!(due.offset().whole_hours(), 8);
        // 0.5 day from 08:30 → 11:45.
        let due = c
            .add_working_days(datetime!(2025-11-10 08:30 +8), 0.5)
            .unwrap();
        assert_eq!(due, datetime!(2025-11-10 11:45 +8));
        // The input offset does not matter.
        let due = c
            .add_working_days(datetime!(2025-11-10 00:30 UTC), 0.5)
            .unwrap();
        assert_eq!(due, datetime!(2025-11-10 11:45 +8));
    }

    #[test]
    fn calendar_clock_budget_zero() {
        let c = clock();
        let t = at(datetime!(2025-11-10 10:00 +8));
        assert_eq!(c.add_working_seconds(t, 0), Ok(t));
        let t = at(datetime!(2025-11-10 12:00 +8));
        assert_eq!(c.add_working_seconds(t, 0), Ok(t));
        let t = at(datetime!(2025-11-10 12:00:01 +8));
        assert_eq!(
            c.add_working_seconds(t, 0),
            Ok(at(datetime!(2025-11-10 14:30 +8)))
        );
        let t = at(datetime!(2025-11-10 07:00 +8));
        assert_eq!(
            c.add_working_seconds(t, 0),
            Ok(at(datetime!(2025-11-10 08:30 +8)))
        );
        let t = at(datetime!(2025-11-07 18:00 +8));
        assert_eq!(
            c.add_working_seconds(t, 0),
            Ok(at(datetime!(2025-11-10 08:30 +8)))
        );
    }

    #[test]
    fn calendar_clock_rejects_bad_durations() {
        let c = clock();
        let t = datetime!(2025-11-10 10:00 +8);
        for days in [-1.0, f64::NAN, f64::INFINITY, 1e9] {
            let e = c.add_working_days(t, days).unwrap_err();
            assert_eq!(e.code(), "invalid_duration");
        }
        assert!(c.add_working_seconds(at(t), -1).is_err());
    }

    #[test]
    fn calendar_clock_extreme_instants() {
        let c = clock();
        for t in [i64::MIN, i64::MAX, -1, 0] {
            assert_eq!(
                c.add_working_seconds(t, 100).unwrap_err().code(),
                "calendar_year_missing"
            );
            assert!(c.day_of(t).is_err());
        }
        let t = at(datetime!(2025-11-10 10:00 +8));
        assert!(c.add_working_seconds(t, i64::MAX).is_err());
        assert!(c.working_seconds_between(t, i64::MAX).is_err());
        assert_eq!(c.working_seconds_between(t, i64::MIN), Ok(0));
        assert!(c.to_local(i64::MAX).is_none());
    }

    #[test]
    fn calendar_clock_prefix_tables() {
        let c = clock();
        assert_eq!(c.prefix.len(), c.calendar.table_len() + 1);
        assert_eq!(*c.gap_end.last().unwrap() as usize, c.calendar.table_len());
        // Built-in data alone has no gap inside the table.
        assert_eq!(c.gap_end[0] as usize, c.calendar.table_len());
    }
}
