//! Plausibility against the clock: what staff and enterprises record must
//! fit the time it happened in.
//!
//! - A survey's findings are not recorded before the survey's appointment
//!   ([`check_action`], `record_survey`: field `action`, code `too_early`).
//! - A connection time is neither before the order entered the connection
//!   stage (when construction ended, or when the survey or design found no
//!   external works) nor in the future ([`check_action`], field
//!   `connected_at`: `too_early`, `in_future`). Times are compared to the
//!   minute, as people type them.
//! - A moved connection appointment lies in the future (at most two years
//!   ahead, like the form's), on a working day of the calendar, within its
//!   working hours ([`check_appointment`], field `appointment_at`).
//!
//! Pure code: the caller passes the instants (Unix milliseconds) and the
//! clock; messages are Chinese, for people.

use crate::calendar::{Clock, DayKind};
use crate::form::{FieldCode, FieldError};
use crate::timefmt;
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

/// The action that records the joint survey's findings.
pub const RECORD_SURVEY: &str = "record_survey";
/// The field that carries when a service was connected.
pub const CONNECTED_AT: &str = "connected_at";
/// The field a moved connection appointment is read from.
pub const APPOINTMENT_AT: &str = "appointment_at";

/// What an action on an order is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionFacts {
    pub now_ms: i64,
    /// When the order's current stage started.
    pub stage_started_at_ms: i64,
    /// The application's joint survey appointment, if one was made.
    pub survey_at_ms: Option<i64>,
    /// The city's offset, for the times in the messages.
    pub offset: UtcOffset,
}

/// The minute an instant falls in.
fn minute(ms: i64) -> i64 {
    ms.div_euclid(60_000)
}

fn when(ms: i64, offset: UtcOffset) -> String {
    timefmt::when_zh(timefmt::from_ms(ms, offset), offset)
}

/// Every clock problem with an action (already planned, its data checked
/// by the process definition): none when it fits the time.
pub fn check_action(action: &str, data: &Value, f: &ActionFacts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if action == RECORD_SURVEY
        && let Some(at) = f.survey_at_ms
        && f.now_ms < at
    {
        errors.push(FieldError::new(
            "action",
            FieldCode::TooEarly,
            format!(
                "联合踏勘约定在{}，请到场踏勘后再记录踏勘结果",
                when(at, f.offset)
            ),
        ));
    }
    if let Some(at) = data
        .get(CONNECTED_AT)
        .and_then(Value::as_str)
        .and_then(timefmt::parse)
    {
        let at = timefmt::to_ms(at);
        if minute(at) < minute(f.stage_started_at_ms) {
            errors.push(FieldError::new(
                CONNECTED_AT,
                FieldCode::TooEarly,
                format!(
                    "接入时间不能早于本工单进入接入环节的时间（{}，外线施工完成或确认无需外线工程之时）",
                    when(f.stage_started_at_ms, f.offset)
                ),
            ));
        } else if minute(at) > minute(f.now_ms) {
            errors.push(FieldError::new(
                CONNECTED_AT,
                FieldCode::InFuture,
                format!(
                    "接入时间不能晚于当前时间（{}），请在接入完成后记录",
                    when(f.now_ms, f.offset)
                ),
            ));
        }
    }
    errors
}

/// A new connection appointment: later than `now`, at most two years
/// ahead, on a working day of `clock`'s calendar and within its working
/// hours. The appointment at the city's offset, or the field error.
pub fn check_appointment(
    at: OffsetDateTime,
    now: OffsetDateTime,
    clock: &Clock,
) -> Result<OffsetDateTime, FieldError> {
    let out = |code: FieldCode, m: String| Err(FieldError::new(APPOINTMENT_AT, code, m));
    let offset = clock.hours().utc_offset();
    let local = at.to_offset(offset);
    if at <= now {
        return out(
            FieldCode::NotInFuture,
            "预约接入时间须晚于当前时间，请重新选择".into(),
        );
    }
    if crate::form::two_years_after(now).is_some_and(|limit| at > limit) {
        return out(
            FieldCode::OutOfRange,
            "预约接入时间不能晚于两年之后，请重新选择".into(),
        );
    }
    let hours = clock
        .hours()
        .periods()
        .iter()
        .map(|&(a, b)| {
            format!(
                "{:02}:{:02}–{:02}:{:02}",
                a / 3600,
                a / 60 % 60,
                b / 3600,
                b / 60 % 60
            )
        })
        .collect::<Vec<_>>()
        .join("、");
    let date = format!(
        "{}年{}月{}日",
        local.year(),
        local.month() as u8,
        local.day()
    );
    let day = match clock.day_of(at.unix_timestamp()) {
        Ok(d) => d,
        Err(_) => {
            return out(
                FieldCode::OutOfRange,
                format!("{date}的工作日安排尚未公布，请选择更近的日期"),
            );
        }
    };
    if !day.working {
        let what = match (day.kind, day.name.as_deref()) {
            (DayKind::Holiday, Some(name)) => format!("{name}假期"),
            (DayKind::Holiday, None) => "法定节假日".to_owned(),
            _ => "周末".to_owned(),
        };
        return out(
            FieldCode::OutOfRange,
            format!("{date}是{what}，请选择工作日的工作时间（{hours}）"),
        );
    }
    let second =
        i64::from(local.hour()) * 3600 + i64::from(local.minute()) * 60 + i64::from(local.second());
    let open = clock
        .hours()
        .periods()
        .iter()
        .any(|&(a, b)| i64::from(a) <= second && second < i64::from(b));
    if !open {
        return out(
            FieldCode::OutOfRange,
            format!("请选择工作时间内的时刻（{hours}）"),
        );
    }
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, WorkingHours};
    use serde_json::json;
    use std::sync::LazyLock;

    static BUILTIN: LazyLock<Clock> =
        LazyLock::new(|| Clock::new(Calendar::builtin(), WorkingHours::default()));

    fn ms(s: &str) -> i64 {
        timefmt::to_ms(timefmt::parse(s).unwrap())
    }

    fn beijing() -> UtcOffset {
        UtcOffset::from_hms(8, 0, 0).unwrap()
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect()
    }

    #[test]
    fn a_survey_is_recorded_at_its_appointment_or_later() {
        let facts = |now: &str, survey: Option<&str>| ActionFacts {
            now_ms: ms(now),
            stage_started_at_ms: ms("2026-12-01T09:00:00+08:00"),
            survey_at_ms: survey.map(ms),
            offset: beijing(),
        };
        let data = json!({"findings": "具备接入条件", "external_works_m": 0});
        let at = Some("2026-12-03T10:00:00+08:00");
        let e = check_action(
            RECORD_SURVEY,
            &data,
            &facts("2026-12-03T09:59:59+08:00", at),
        );
        assert_eq!(codes(&e), [("action", "too_early")]);
        assert_eq!(
            e[0].message,
            "联合踏勘约定在2026年12月03日 10:00，请到场踏勘后再记录踏勘结果"
        );
        assert!(
            check_action(
                RECORD_SURVEY,
                &data,
                &facts("2026-12-03T10:00:00+08:00", at)
            )
            .is_empty()
        );
        // Without an appointment, the findings are taken as they come.
        assert!(
            check_action(
                RECORD_SURVEY,
                &data,
                &facts("2026-12-01T10:00:00+08:00", None)
            )
            .is_empty()
        );
        // Other actions are not held by the survey.
        assert!(
            check_action(
                "skip_survey",
                &data,
                &facts("2026-12-01T10:00:00+08:00", at)
            )
            .is_empty()
        );
    }

    #[test]
    fn a_connection_time_lies_between_the_stage_start_and_now() {
        // Construction completed on 12-07 at 16:20:40; it is now 12-08 09:15:30.
        let facts = ActionFacts {
            now_ms: ms("2026-12-08T09:15:30+08:00"),
            stage_started_at_ms: ms("2026-12-07T16:20:40+08:00"),
            survey_at_ms: None,
            offset: beijing(),
        };
        let check = |at: &str| {
            codes(&check_action(
                "connect",
                &json!({"connected_at": at}),
                &facts,
            ))
            .into_iter()
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
            .collect::<Vec<_>>()
        };
        let one = |code: &str| vec![("connected_at".to_owned(), code.to_owned())];
        assert_eq!(check("2026-12-07T16:19:59+08:00"), one("too_early"));
        assert_eq!(check("2026-12-01T10:00:00+08:00"), one("too_early"));
        // The same minute as the stage's start or as now: as typed on a page.
        assert_eq!(check("2026-12-07T16:20:00+08:00"), vec![]);
        assert_eq!(check("2026-12-08T09:15:59+08:00"), vec![]);
        assert_eq!(check("2026-12-08T01:15:00Z"), vec![]);
        assert_eq!(check("2026-12-08T09:16:00+08:00"), one("in_future"));
        assert_eq!(check("2026-12-11T09:00:00+08:00"), one("in_future"));
        let e = check_action(
            "connect",
            &json!({"connected_at": "2026-12-07T08:00:00+08:00"}),
            &facts,
        );
        assert_eq!(
            e[0].message,
            "接入时间不能早于本工单进入接入环节的时间（2026年12月07日 16:20，外线施工完成或确认无需外线工程之时）"
        );
        let e = check_action(
            "connect",
            &json!({"connected_at": "2026-12-09T08:00:00+08:00"}),
            &facts,
        );
        assert_eq!(
            e[0].message,
            "接入时间不能晚于当前时间（2026年12月08日 09:15），请在接入完成后记录"
        );
        // Without the field, nothing to check.
        assert!(check_action("complete_construction", &json!({}), &facts).is_empty());
    }

    #[test]
    fn a_moved_appointment_is_in_the_future_on_working_time() {
        let c = &*BUILTIN;
        let now = timefmt::parse("2026-09-28T10:00:00+08:00").unwrap();
        let at = |s: &str| check_appointment(timefmt::parse(s).unwrap(), now, c);
        let code = |s: &str| at(s).unwrap_err().code.as_str();
        // Tuesday 09-29 at 09:00, given in UTC: kept, at the city's offset.
        let ok = at("2026-09-29T01:00:00Z").unwrap();
        assert_eq!(timefmt::format(ok), "2026-09-29T09:00:00+08:00");
        assert_eq!(code("2026-09-28T10:00:00+08:00"), "not_in_future");
        assert_eq!(code("2026-09-27T10:00:00+08:00"), "not_in_future");
        assert_eq!(code("2028-09-29T09:00:00+08:00"), "out_of_range");
        // National Day, a weekend, the lunch break, after closing.
        let e = at("2026-10-02T09:00:00+08:00").unwrap_err();
        assert_eq!(
            e.message,
            "2026年10月2日是国庆节假期，请选择工作日的工作时间（08:30–12:00、14:30–17:30）"
        );
        let e = at("2026-10-17T09:00:00+08:00").unwrap_err();
        assert_eq!(e.code, FieldCode::OutOfRange);
        assert!(e.message.contains("周末"), "{}", e.message);
        for s in [
            "2026-09-29T12:00:00+08:00",
            "2026-09-29T13:00:00+08:00",
            "2026-09-29T17:30:00+08:00",
            "2026-09-29T08:29:00+08:00",
        ] {
            let e = at(s).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.message.as_str()),
                (
                    "appointment_at",
                    "请选择工作时间内的时刻（08:30–12:00、14:30–17:30）"
                ),
                "{s}"
            );
        }
        assert!(at("2026-09-29T17:29:00+08:00").is_ok());
        // The Saturday worked to make up for National Day.
        assert!(at("2026-10-10T09:00:00+08:00").is_ok());
        // A day the calendar does not cover yet.
        let e = at("2027-03-02T09:00:00+08:00").unwrap_err();
        assert_eq!(e.code, FieldCode::OutOfRange);
        assert!(e.message.contains("尚未公布"), "{}", e.message);
    }
}
