//! Working hours: the working periods of a working day, in local time.

use time::UtcOffset;

/// The working periods of a working day, as seconds since local midnight, plus the
/// UTC offset of local civil time. Periods are non-empty, ordered and non-overlapping
/// (touching is allowed) and lie within 00:00–24:00.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    periods: Vec<(u32, u32)>,
    utc_offset_seconds: i32,
    day_seconds: i64,
}

/// The largest accepted UTC offset, in minutes (±18 h, what `time` and ISO 8601 allow).
const MAX_OFFSET_MINUTES: i32 = 18 * 60;

impl WorkingHours {
    /// Parses periods such as `["08:30-12:00", "14:30-17:30"]` and a UTC offset in
    /// minutes (Beijing: 480). The error describes the problem (in English, it ends up in
    /// the configuration report).
    pub fn parse(periods: &[String], utc_offset_minutes: i32) -> Result<Self, String> {
        if !(-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&utc_offset_minutes) {
            return Err(format!(
                "UTC offset {utc_offset_minutes} minutes is out of range \
                 (-{MAX_OFFSET_MINUTES}..={MAX_OFFSET_MINUTES})"
            ));
        }
        if periods.is_empty() {
            return Err("at least one working period is required".to_string());
        }
        let mut parsed: Vec<(u32, u32)> = Vec::with_capacity(periods.len());
        for (n, text) in periods.iter().enumerate() {
            let n = n + 1;
            let Some((a, b)) = text.split_once('-') else {
                return Err(format!(
                    "working period {n} {text:?} is not of the form HH:MM-HH:MM"
                ));
            };
            let (Some(start), Some(end)) = (parse_hhmm(a.trim()), parse_hhmm(b.trim())) else {
                return Err(format!(
                    "working period {n} {text:?} is not of the form HH:MM-HH:MM \
                     with times between 00:00 and 24:00"
                ));
            };
            if end <= start {
                return Err(format!(
                    "working period {n} {text:?} does not end after it starts"
                ));
            }
            if let Some(&(_, previous_end)) = parsed.last()
                && start < previous_end
            {
                return Err(format!(
                    "working period {n} {text:?} starts before period {} ends \
                     (periods must be in order and must not overlap)",
                    n - 1
                ));
            }
            parsed.push((start, end));
        }
        let day_seconds = parsed.iter().map(|&(a, b)| i64::from(b - a)).sum();
        Ok(WorkingHours {
            periods: parsed,
            utc_offset_seconds: utc_offset_minutes * 60,
            day_seconds,
        })
    }

    /// Working seconds in one working day (default 6.5 h = 23 400 s).
    pub fn day_seconds(&self) -> i64 {
        self.day_seconds
    }

    /// The working periods as `(start, end)` seconds since local midnight, in order.
    pub fn periods(&self) -> &[(u32, u32)] {
        &self.periods
    }

    /// Offset of local civil time from UTC, in seconds.
    pub fn utc_offset_seconds(&self) -> i32 {
        self.utc_offset_seconds
    }

    /// Offset of local civil time from UTC.
    pub fn utc_offset(&self) -> UtcOffset {
        // Always in range: validated to ±18 h in `parse`.
        UtcOffset::from_whole_seconds(self.utc_offset_seconds).unwrap_or(UtcOffset::UTC)
    }
}

impl Default for WorkingHours {
    /// 08:30–12:00 and 14:30–17:30, Beijing time (UTC+8).
    fn default() -> Self {
        WorkingHours {
            periods: vec![
                (8 * 3600 + 1800, 12 * 3600),
                (14 * 3600 + 1800, 17 * 3600 + 1800),
            ],
            utc_offset_seconds: 8 * 3600,
            day_seconds: 23_400,
        }
    }
}

/// `H:MM` or `HH:MM` between 00:00 and 24:00 inclusive → seconds since midnight.
fn parse_hhmm(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn calendar_hours_default_matches_parse() {
        let parsed = WorkingHours::parse(&p(&["08:30-12:00", "14:30-17:30"]), 480).unwrap();
        assert_eq!(parsed, WorkingHours::default());
        assert_eq!(parsed.day_seconds(), 23_400);
        assert_eq!(parsed.periods(), &[(30_600, 43_200), (52_200, 63_000)]);
        assert_eq!(parsed.utc_offset().whole_hours(), 8);
    }

    #[test]
    fn calendar_hours_accepts_edges() {
        let h = WorkingHours::parse(&p(&["00:00-12:00", "12:00-24:00"]), 0).unwrap();
        assert_eq!(h.day_seconds(), 86_400);
        let h = WorkingHours::parse(&p(&[" 9:00 - 17:00 "]), -300).unwrap();
        assert_eq!(h.day_seconds(), 8 * 3600);
        assert_eq!(h.utc_offset_seconds(), -18_000);
    }

    #[test]
    fn calendar_hours_rejects_bad_input() {
        let cases: &[(&[&str], i32, &str)] = &[
            (&[], 480, "at least one"),
            (&["08:30"], 480, "HH:MM-HH:MM"),
            (&["8h30-12:00"], 480, "HH:MM-HH:MM"),
            (&["08:30-24:01"], 480, "HH:MM-HH:MM"),
            (&["08:60-12:00"], 480, "HH:MM-HH:MM"),
            (&["25:00-26:00"], 480, "HH:MM-HH:MM"),
            (&["-08:00-09:00"], 480, "HH:MM-HH:MM"),
            (&["12:00-08:30"], 480, "does not end after"),
            (&["12:00-12:00"], 480, "does not end after"),
            (&["08:30-12:00", "11:00-17:30"], 480, "overlap"),
            (&["14:30-17:30", "08:30-12:00"], 480, "overlap"),
            (&["08:30-12:00"], 24 * 60, "out of range"),
        ];
        for (periods, offset, needle) in cases {
            let err = WorkingHours::parse(&p(periods), *offset).unwrap_err();
            assert!(err.contains(needle), "{periods:?}: {err}");
        }
    }
}
