//! Schema migrations, applied in order at start-up and by `onestop migrate`.
//!
//! Each migration runs in its own transaction together with its entry in
//! `schema_migrations`. On PostgreSQL an advisory lock makes concurrent
//! start-ups of several servers apply each migration exactly once.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Dialect};
use crate::params;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "applications",
        sql: include_str!("../migrations/0001_applications.sql"),
    },
    Migration {
        version: 2,
        name: "accounts",
        sql: include_str!("../migrations/0002_accounts.sql"),
    },
    Migration {
        version: 3,
        name: "audit",
        sql: include_str!("../migrations/0003_audit.sql"),
    },
    Migration {
        version: 4,
        name: "order_actions",
        sql: include_str!("../migrations/0004_order_actions.sql"),
    },
    Migration {
        version: 5,
        name: "surveys",
        sql: include_str!("../migrations/0005_surveys.sql"),
    },
    Migration {
        version: 6,
        name: "approvals",
        sql: include_str!("../migrations/0006_approvals.sql"),
    },
    Migration {
        version: 7,
        name: "approval_rounds",
        sql: include_str!("../migrations/0007_approval_rounds.sql"),
    },
    Migration {
        version: 8,
        name: "levels",
        sql: include_str!("../migrations/0008_levels.sql"),
    },
    Migration {
        version: 9,
        name: "notifications",
        sql: include_str!("../migrations/0009_notifications.sql"),
    },
    Migration {
        version: 10,
        name: "reminders",
        sql: include_str!("../migrations/0010_reminders.sql"),
    },
    Migration {
        version: 11,
        name: "approval_levels",
        sql: include_str!("../migrations/0011_approval_levels.sql"),
    },
    Migration {
        version: 12,
        name: "outbox",
        sql: include_str!("../migrations/0012_outbox.sql"),
    },
    Migration {
        version: 13,
        name: "board",
        sql: include_str!("../migrations/0013_board.sql"),
    },
    Migration {
        version: 14,
        name: "calendar_imports",
        sql: include_str!("../migrations/0014_calendar_imports.sql"),
    },
    Migration {
        version: 15,
        name: "audit_keyed",
        sql: include_str!("../migrations/0015_audit_keyed.sql"),
    },
    Migration {
        version: 16,
        name: "query_codes",
        sql: include_str!("../migrations/0016_query_codes.sql"),
    },
    Migration {
        version: 17,
        name: "login_failures",
        sql: include_str!("../migrations/0017_login_failures.sql"),
    },
    Migration {
        version: 18,
        name: "enterprise_identity",
        sql: include_str!("../migrations/0018_enterprise_identity.sql"),
    },
    Migration {
        version: 19,
        name: "application_revisions",
        sql: include_str!("../migrations/0019_application_revisions.sql"),
    },
    Migration {
        version: 20,
        name: "plausible_clocks",
        sql: include_str!("../migrations/0020_plausible_clocks.sql"),
    },
    Migration {
        version: 21,
        name: "halls",
        sql: include_str!("../migrations/0021_halls.sql"),
    },
    Migration {
        version: 22,
        name: "billing",
        sql: include_str!("../migrations/0022_billing.sql"),
    },
    Migration {
        version: 23,
        name: "counter",
        sql: include_str!("../migrations/0023_counter.sql"),
    },
    Migration {
        version: 24,
        name: "documents",
        sql: include_str!("../migrations/0024_documents.sql"),
    },
    Migration {
        version: 25,
        name: "fees",
        sql: include_str!("../migrations/0025_fees.sql"),
    },
    Migration {
        version: 26,
        name: "pre_registrations",
        sql: include_str!("../migrations/0026_pre_registrations.sql"),
    },
    Migration {
        version: 27,
        name: "staged_materials",
        sql: include_str!("../migrations/0027_staged_materials.sql"),
    },
    Migration {
        version: 28,
        name: "pre_registration_materials",
        sql: include_str!("../migrations/0028_pre_registration_materials.sql"),
    },
];

/// Lock key for `pg_advisory_xact_lock` ("onestop" in ASCII, as an integer).
const PG_MIGRATION_LOCK: i64 = 0x006f_6e65_7374_6f70;

/// Applies every pending migration; returns the versions applied now.
pub fn migrate(conn: &mut dyn Conn) -> Result<Vec<i64>, StoreError> {
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let dialect = conn.dialect();
        conn.batch(dialect.begin_write())?;
        let result = (|| -> Result<bool, StoreError> {
            if dialect == Dialect::Postgres {
                conn.execute(
                    "SELECT pg_advisory_xact_lock($1)",
                    params![PG_MIGRATION_LOCK],
                )?;
            }
            let done = conn
                .query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    params![m.version],
                )?
                .is_some();
            if done {
                return Ok(false);
            }
            conn.batch(&dialect.expand(m.sql))?;
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                params![m.version, m.name, crate::now_ms()],
            )?;
            Ok(true)
        })();
        match result {
            Ok(did) => {
                conn.batch("COMMIT")?;
                if did {
                    applied.push(m.version);
                }
            }
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) failed: {e}",
                    m.version, m.name
                )));
            }
        }
    }
    Ok(applied)
}

/// The newest migration applied, or 0 for an empty database.
pub fn current_version(conn: &mut dyn Conn) -> Result<i64, StoreError> {
    match conn.query_opt("SELECT MAX(version) FROM schema_migrations", &[]) {
        Ok(Some(row)) => Ok(row.opt_int(0)?.unwrap_or(0)),
        Ok(None) => Ok(0),
        Err(_) => Ok(0),
    }
}
