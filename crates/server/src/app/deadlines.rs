//! Where each order and approval item stands against its time limit, as
//! the pages say it beside the deadline: the working time left and the
//! share of the budget used, or how long it has been overdue, counted by
//! the one stage clock (`domain::clock`) on the calendar in use; and for a
//! finished order, when it finished, the working time its stages took and
//! whether they kept their limits.

use crate::AppState;
use crate::app::error::Error;
use onestop_domain::application::{OrderStatus, WorkOrder};
use onestop_domain::calendar::Clock;
use onestop_domain::clock::{LevelInstants, StageClock, Standing};
use onestop_store::work_orders::{self, PageClock, StagesDone};
use std::collections::HashMap;

/// An order's time, for people.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderTime {
    /// Open, or returned to the applicant (`waiting`: the clock stands
    /// still). `standing` is `None` only when the calendar cannot count
    /// the time (a year it does not cover).
    Running {
        standing: Option<Standing>,
        waiting: bool,
    },
    /// Done or refused (不予受理): when, and its stages' working time and
    /// how many of them passed their limit (`None` for an order finished
    /// before stage times were kept).
    Finished {
        at_ms: i64,
        stages: Option<StagesDone>,
        rejected: bool,
    },
    /// Cancelled by the applicant, at `at_ms`.
    Cancelled { at_ms: i64 },
}

impl OrderTime {
    fn of(
        clock: &Clock,
        now_ms: i64,
        o: &WorkOrder,
        c: &PageClock,
        done: Option<StagesDone>,
    ) -> Self {
        match o.status {
            OrderStatus::Open | OrderStatus::Returned => {
                let due_at_ms = onestop_domain::timefmt::to_ms(o.due_at);
                let stage = StageClock {
                    started_at_ms: c.stage_started_at_ms,
                    budget_seconds: c.budget_seconds,
                    suspended_seconds: 0,
                    suspended_at_ms: c.suspended_at_ms,
                    not_before_ms: None,
                    instants: LevelInstants {
                        warn_at_ms: due_at_ms,
                        due_at_ms,
                    },
                };
                OrderTime::Running {
                    standing: stage.standing(clock, now_ms).ok(),
                    waiting: o.status == OrderStatus::Returned,
                }
            }
            OrderStatus::Done | OrderStatus::Rejected => OrderTime::Finished {
                at_ms: done.map_or(c.updated_at_ms, |d| d.last_ended_at_ms.max(c.updated_at_ms)),
                stages: done,
                rejected: o.status == OrderStatus::Rejected,
            },
            OrderStatus::Cancelled => OrderTime::Cancelled {
                at_ms: c.updated_at_ms,
            },
        }
    }
}

/// The time of each of `orders` at the present instant, by order id (an
/// order the store does not know is left out).
pub async fn of_orders<'a>(
    state: &AppState,
    orders: impl IntoIterator<Item = &'a WorkOrder>,
) -> Result<HashMap<String, OrderTime>, Error> {
    let orders: Vec<WorkOrder> = orders.into_iter().cloned().collect();
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let finished: Vec<String> = orders
        .iter()
        .filter(|o| matches!(o.status, OrderStatus::Done | OrderStatus::Rejected))
        .map(|o| o.id.clone())
        .collect();
    let (clocks, done) = state
        .store
        .read(move |c| {
            let clocks = work_orders::page_clocks(c, &ids)?;
            let mut done = HashMap::new();
            for p in clocks.iter().filter(|p| finished.contains(&p.id)) {
                if let Some(d) =
                    work_orders::stages_done(c, &p.id, p.created_at_ms, p.updated_at_ms)?
                {
                    done.insert(p.id.clone(), d);
                }
            }
            Ok((clocks, done))
        })
        .await?;
    let clock = state.clock.get();
    let now_ms = state.now_ms();
    let by_id: HashMap<&str, &PageClock> = clocks.iter().map(|c| (c.id.as_str(), c)).collect();
    Ok(orders
        .iter()
        .filter_map(|o| {
            let c = by_id.get(o.id.as_str())?;
            let t = OrderTime::of(&clock, now_ms, o, c, done.get(&o.id).copied());
            Some((o.id.clone(), t))
        })
        .collect())
}

/// Where a pending approval item (or a case, by its deadline) stands at
/// the present instant: its budget is the configured approval limit.
pub fn of_approval(state: &AppState, due_at_ms: i64) -> Option<Standing> {
    let clock = state.clock.get();
    let budget = clock
        .budget_for_days(state.config.limits.approval_days)
        .ok()?;
    Standing::at(&clock, budget, due_at_ms, state.now_ms()).ok()
}

/// One working day, in working seconds, on the calendar in use.
pub fn day_seconds(state: &AppState) -> i64 {
    state.clock.get().hours().day_seconds()
}
