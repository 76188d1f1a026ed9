//! The sweeper: moves work orders, approval items and the window's
//! follow-ups to early warning and overdue when their instant passes, with
//! the history event (see `onestop_store::levels`).
//! Runs every second in the server; any number of servers may share one
//! PostgreSQL — each change happens once.

use crate::AppState;
use crate::app::error::Error;
use onestop_store::levels::{self, Moved};
use std::time::Duration;

/// How often the server sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Most orders moved in one transaction.
pub const SWEEP_BATCH: u32 = 10_000;

/// Moves everything due now; returns what moved.
pub async fn sweep_once(state: &AppState) -> Result<Vec<Moved>, Error> {
    let mut all = Vec::new();
    loop {
        let now_ms = state.now_ms();
        let (config, offset) = (state.config.clone(), state.offset);
        let moved = state
            .store
            .write(move |c| {
                let moved = levels::sweep(c, now_ms, SWEEP_BATCH)?;
                for m in &moved {
                    tell(c, m, &config, offset)?;
                }
                for m in levels::sweep_items(c, now_ms, SWEEP_BATCH)? {
                    tell_item(c, &m, &config, offset)?;
                }
                for m in levels::sweep_follow_ups(c, now_ms, SWEEP_BATCH)? {
                    crate::app::follow_ups::tell_level(c, &m, &config, offset)?;
                }
                Ok(moved)
            })
            .await?;
        let more = moved.len() as u32 >= SWEEP_BATCH;
        all.extend(moved);
        if !more {
            return Ok(all);
        }
    }
}

/// Who hears of a level change: the holders of `role` for `scope`, and the
/// supervisors too when it fell overdue.
fn audience(
    c: &mut dyn onestop_store::db::Conn,
    role: &str,
    scope: &str,
    to: onestop_domain::application::Level,
) -> Result<Vec<String>, onestop_store::StoreError> {
    use onestop_store::notifications;
    let mut who = notifications::holders(c, role, Some(scope))?;
    if to == onestop_domain::application::Level::Overdue {
        for s in notifications::holders(c, "supervisor", None)? {
            if !who.contains(&s) {
                who.push(s);
            }
        }
    }
    Ok(who)
}

/// When a moved order or item is due, for people.
fn due_text(due_at_ms: i64, offset: time::UtcOffset) -> String {
    onestop_domain::timefmt::when_zh(onestop_domain::timefmt::from_ms(due_at_ms, offset), offset)
}

/// Tells the handling unit's operators of a warning, and them and the
/// supervisors of an overdue order, in the move's own transaction.
fn tell(
    c: &mut dyn onestop_store::db::Conn,
    m: &Moved,
    config: &onestop_domain::config::CityConfig,
    offset: time::UtcOffset,
) -> Result<(), onestop_store::StoreError> {
    use onestop_domain::application::Level;
    use onestop_store::notifications::{self, Message};
    if m.to == Level::Normal {
        return Ok(());
    }
    let to = audience(c, "operator", &m.unit_code, m.to)?;
    let service = config
        .service(&m.service)
        .map_or_else(|| m.service.clone(), |s| s.name.clone());
    let unit = config
        .unit(&m.unit_code)
        .map_or_else(|| m.unit_code.clone(), |u| u.name.clone());
    let text = crate::app::messages::fill(&crate::app::messages::OrderLevel {
        overdue: m.to == Level::Overdue,
        number: &m.application_number,
        service: &service,
        unit: &unit,
        stage: m.stage.label_zh(),
        due: &due_text(m.due_at_ms, offset),
    });
    let kind = levels::event_kind(m.to);
    let message = Message {
        event_key: format!("{kind}:{}:{}", m.order_id, m.at_ms),
        kind: kind.to_owned(),
        title: text.title,
        body: text.body,
        link: Some(format!("/work-orders/{}", m.order_id)),
        at_ms: m.at_ms,
    };
    notifications::send(c, &to, &message, crate::jobs::delivery::outward(config))?;
    Ok(())
}

/// Tells the department's approvers of a warning on their item, and them
/// and the supervisors of an overdue one.
fn tell_item(
    c: &mut dyn onestop_store::db::Conn,
    m: &levels::MovedItem,
    config: &onestop_domain::config::CityConfig,
    offset: time::UtcOffset,
) -> Result<(), onestop_store::StoreError> {
    use onestop_domain::application::Level;
    use onestop_store::notifications::{self, Message};
    if m.to == Level::Normal {
        return Ok(());
    }
    let to = audience(c, "approver", &m.department, m.to)?;
    let dept = config
        .unit(&m.department)
        .map_or_else(|| m.department.clone(), |u| u.name.clone());
    let text = crate::app::messages::fill(&crate::app::messages::ApprovalLevel {
        overdue: m.to == Level::Overdue,
        number: &m.application_number,
        department: &dept,
        due: &due_text(m.due_at_ms, offset),
    });
    let kind = format!("approval_{}", levels::event_kind(m.to));
    let message = Message {
        event_key: format!("{kind}:{}:{}", m.item_id, m.at_ms),
        kind,
        title: text.title,
        body: text.body,
        link: Some(format!("/approval-cases/{}", m.case_id)),
        at_ms: m.at_ms,
    };
    notifications::send(c, &to, &message, crate::jobs::delivery::outward(config))?;
    Ok(())
}

/// Gives orders and pending approval items from before levels existed
/// their warning instant and level.
pub async fn backfill(state: &AppState) -> Result<usize, Error> {
    let (clock, share, now_ms) = (
        state.clock.get(),
        state.config.limits.warning_share,
        state.now_ms(),
    );
    let budget = clock.budget_for_days(state.config.limits.approval_days)?;
    let mut total = state
        .store
        .write(move |c| {
            onestop_store::calendar::recompute_items(c, &clock, budget, share, now_ms, true)
        })
        .await?;
    loop {
        let (clock, share, now_ms) = (
            state.clock.get(),
            state.config.limits.warning_share,
            state.now_ms(),
        );
        let n = state
            .store
            .write(move |c| levels::backfill(c, &clock, share, now_ms, 1_000))
            .await?;
        total += n;
        if n < 1_000 {
            return Ok(total);
        }
    }
}

/// Sweeps every [`SWEEP_EVERY`] until the runtime stops.
pub fn start(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match backfill(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "levels given to earlier open orders"),
            Err(e) => tracing::warn!(error = %e, "levels not given to earlier orders"),
        }
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::app::calendar::reload_if_changed(&state).await {
                tracing::warn!(error = %e, "calendar not reloaded");
            }
            match sweep_once(&state).await {
                Ok(moved) if !moved.is_empty() => {
                    tracing::info!(orders = moved.len(), "levels moved");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
        }
    })
}
