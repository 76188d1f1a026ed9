//! The joint survey appointment of an application: one per application.

use crate::StoreError;
use crate::applications::unit_ref;
use crate::db::Conn;
use crate::db::Sql as _;
use crate::params;
use onestop_domain::application::Survey;
use onestop_domain::config::CityConfig;
use onestop_domain::timefmt;
use time::UtcOffset;

pub fn get(
    conn: &mut dyn Conn,
    application_id: &str,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Option<Survey>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT at, unit_code, version FROM surveys WHERE application_id = $1",
        params![application_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Survey {
        at: timefmt::from_ms(r.int(0)?, offset),
        proposed_by: unit_ref(config, r.text(1)?),
        version: r.int(2)?,
    }))
}

/// When an application's joint survey is appointed, in Unix milliseconds
/// (`None`: not yet).
pub fn at_ms(conn: &mut dyn Conn, application_id: &str) -> Result<Option<i64>, StoreError> {
    conn.query_opt(
        "SELECT at FROM surveys WHERE application_id = $1",
        params![application_id],
    )?
    .map(|r| r.int(0))
    .transpose()
}

/// What proposing or moving the appointment came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Moved,
    /// There is one already and no version was given.
    Exists,
    /// The version given is not the current one.
    Stale,
}

/// Proposes the appointment (no `expected_version`) or moves it (with the
/// version seen), with its history event, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub fn propose(
    conn: &mut dyn Conn,
    application_id: &str,
    at_ms: i64,
    unit: &str,
    actor: &str,
    expected_version: Option<i64>,
    now_ms: i64,
) -> Result<Outcome, StoreError> {
    let current = conn
        .query_opt(
            "SELECT version FROM surveys WHERE application_id = $1",
            params![application_id],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    let outcome = match (current, expected_version) {
        (None, _) => {
            match conn.execute(
                "INSERT INTO surveys (application_id, at, unit_code, proposed_by, created_at,
                     updated_at, version) VALUES ($1, $2, $3, $4, $5, $5, 1)",
                params![application_id, at_ms, unit, actor, now_ms],
            ) {
                Ok(_) => Outcome::Created,
                // Another utility proposed at the same moment.
                Err(e) if e.is_unique_violation() => return Ok(Outcome::Exists),
                Err(e) => return Err(e),
            }
        }
        (Some(_), None) => return Ok(Outcome::Exists),
        (Some(v), Some(seen)) if v != seen => return Ok(Outcome::Stale),
        (Some(v), Some(_)) => {
            let n = conn.execute(
                "UPDATE surveys SET at = $2, unit_code = $3, proposed_by = $4, updated_at = $5,
                     version = version + 1 WHERE application_id = $1 AND version = $6",
                params![application_id, at_ms, unit, actor, now_ms, v],
            )?;
            if n != 1 {
                return Ok(Outcome::Stale);
            }
            Outcome::Moved
        }
    };
    conn.execute(
        "INSERT INTO history_events (application_id, work_order_id, at, actor, kind, data)
         VALUES ($1, NULL, $2, $3, $4, $5)",
        params![
            application_id,
            now_ms,
            actor,
            if outcome == Outcome::Created {
                "survey_proposed"
            } else {
                "survey_moved"
            },
            serde_json::json!({"at": at_ms, "unit": unit}).to_string()
        ],
    )?;
    Ok(outcome)
}
