//! Importing the working-day calendar (for example, next year's holidays
//! once the State Council publishes them), from the administrators' page
//! `/admin/calendar` or `onestop calendar import FILE`. The import is
//! checked whole (every problem named), stored in the database, and in the
//! same transaction every open work order's deadline, warning instant and
//! level is recomputed with a history event. Each server then swaps its
//! clock; the others notice the new import within a second (see
//! [`reload_if_changed`], called by the sweeper).

use crate::AppState;
use crate::app::error::Error;
use onestop_domain::calendar::{Calendar, CalendarError, CalendarOverrides, Clock};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_store::calendar as store_calendar;
use std::sync::Arc;

/// Marks the open orders whose deadline falls on a day the official notice
/// does not cover yet (counted on the statutory rules). The mark is read
/// from the clock in use, so an import of the notice clears it.
pub fn mark_provisional<'a>(
    clock: &Clock,
    orders: impl IntoIterator<Item = &'a mut onestop_domain::application::WorkOrder>,
) {
    for o in orders {
        o.provisional = provisional_due(clock, o);
    }
}

/// Whether an open order's deadline falls on a provisional day.
pub fn provisional_due(clock: &Clock, o: &onestop_domain::application::WorkOrder) -> bool {
    use onestop_domain::application::OrderStatus;
    matches!(o.status, OrderStatus::Open | OrderStatus::Returned)
        && clock.is_provisional(o.due_at.unix_timestamp())
}

/// The year whose official holiday notice an administrator should import
/// now: this year's while today is only provisional, and from 1 November
/// next year's until it is imported (its notice also decides the last days
/// of December).
pub fn notice_due(clock: &Clock, today: time::Date) -> Option<i32> {
    let calendar = clock.calendar();
    let year = today.year();
    if today.month() >= time::Month::November && !calendar.covers_year(year + 1) {
        return Some(year + 1);
    }
    (!calendar.day(today).is_ok_and(|d| !d.provisional)).then_some(year)
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub id: i64,
    pub orders_moved: usize,
}

/// Builds the clock `overrides` describe, with this server's working hours.
fn clock_from(state: &AppState, overrides: &str) -> Result<Clock, Error> {
    let problems = |e: CalendarError| match e {
        CalendarError::InvalidOverrides { problems } => problems,
        other => vec![other.to_string()],
    };
    let parsed = CalendarOverrides::from_toml(overrides).map_err(|e| invalid(problems(e)))?;
    let calendar = Calendar::new(Some(&parsed))
        .map_err(|e| invalid(problems(e)))?
        .with_provisional();
    Ok(Clock::new(calendar, state.clock.get().hours().clone()))
}

fn invalid(problems: Vec<String>) -> Error {
    Error::InvalidAs(
        crate::texts::calendar::IMPORT_INVALID,
        problems
            .into_iter()
            .map(|p| FieldError {
                field: "overrides".into(),
                code: FieldCode::InvalidFormat,
                message: p,
            })
            .collect(),
    )
}

/// Checks, stores and applies a calendar; recomputes open deadlines.
pub async fn import(state: &AppState, actor: &str, overrides: String) -> Result<Imported, Error> {
    let clock = Arc::new(clock_from(state, &overrides)?);
    let now_ms = state.now_ms();
    let share = state.config.limits.warning_share;
    let budget = clock.budget_for_days(state.config.limits.approval_days)?;
    let (c2, actor) = (clock.clone(), actor.to_owned());
    let (id, moved) = state
        .store
        .write(move |c| store_calendar::import(c, &overrides, &c2, share, budget, &actor, now_ms))
        .await?;
    state.clock.set(clock, id);
    Ok(Imported {
        id,
        orders_moved: moved.len(),
    })
}

/// Puts the newest stored calendar in use when another server imported it.
pub async fn reload_if_changed(state: &AppState) -> Result<bool, Error> {
    let id = state.store.read(store_calendar::latest_id).await?;
    if id == 0 || id == state.clock.import_id() {
        return Ok(false);
    }
    let Some((id, text)) = state.store.read(store_calendar::latest).await? else {
        return Ok(false);
    };
    let clock = clock_from(state, &text)?;
    state.clock.set(Arc::new(clock), id);
    tracing::info!(import = id, "calendar changed; the new one is in use");
    Ok(true)
}

#[cfg(test)]
mod notice_tests {
    use super::*;
    use onestop_domain::calendar::WorkingHours;
    use time::macros::date;

    fn clock(overrides: Option<&str>) -> Clock {
        let parsed = overrides.map(|t| CalendarOverrides::from_toml(t).unwrap());
        let calendar = Calendar::new(parsed.as_ref()).unwrap().with_provisional();
        let hours =
            WorkingHours::parse(&["08:30-12:00".into(), "14:30-17:30".into()], 480).unwrap();
        Clock::new(calendar, hours)
    }

    #[test]
    fn the_notice_is_due_from_november_until_imported() {
        let builtin = clock(None);
        assert_eq!(notice_due(&builtin, date!(2026 - 10 - 31)), None);
        assert_eq!(notice_due(&builtin, date!(2026 - 11 - 01)), Some(2027));
        assert_eq!(notice_due(&builtin, date!(2026 - 12 - 28)), Some(2027));
        // A new year begun without its notice.
        assert_eq!(notice_due(&builtin, date!(2027 - 01 - 04)), Some(2027));
        assert_eq!(notice_due(&builtin, date!(2027 - 06 - 01)), Some(2027));
        let imported = clock(Some("[[years]]\nyear = 2027\n"));
        assert_eq!(notice_due(&imported, date!(2026 - 12 - 28)), None);
        assert_eq!(notice_due(&imported, date!(2027 - 06 - 01)), None);
        assert_eq!(notice_due(&imported, date!(2027 - 11 - 01)), Some(2028));
    }
}
