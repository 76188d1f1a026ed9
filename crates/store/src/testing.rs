//! Fresh databases for tests, of either kind (feature `testing`).
//!
//! SQLite: a file in a new temporary folder. PostgreSQL: a new schema in the
//! database named by `ONESTOP_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), selected through the
//! connection's `search_path`, and dropped afterwards. A PostgreSQL that does
//! not answer fails the test loudly: the suite runs on both databases.

use crate::db::{DbTarget, Role};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const DEFAULT_TEST_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn test_pg_url() -> String {
    std::env::var("ONESTOP_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_PG.to_owned())
}

/// A throw-away database; removed on drop.
pub struct TestDb {
    pub target: DbTarget,
    /// The SQLite folder (also handy as a data dir for a spawned server).
    pub dir: PathBuf,
    schema: Option<String>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("onestop-test-{id}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                target: DbTarget::Sqlite {
                    path: dir.join("onestop.sqlite3"),
                },
                dir,
                schema: None,
            },
            Backend::Postgres => {
                let schema = format!("t_{}", &id[..20]);
                let base = test_pg_url();
                let create = format!("CREATE SCHEMA {schema}");
                off_runtime(move || {
                    let mut c = DbTarget::Postgres { url: base.clone() }
                        .connect(Role::Writer)
                        .unwrap_or_else(|e| {
                            panic!(
                                "PostgreSQL for tests is not reachable at {base} ({e}); start it \
                                 or set ONESTOP_TEST_DATABASE_URL"
                            )
                        });
                    c.batch(&create).expect("create test schema");
                });
                let url = with_search_path(&test_pg_url(), &schema);
                TestDb {
                    target: DbTarget::Postgres { url },
                    dir,
                    schema: Some(schema),
                }
            }
        }
    }

    /// `DATABASE_URL` for a server process using this database (None for SQLite).
    pub fn database_url(&self) -> Option<String> {
        match &self.target {
            DbTarget::Postgres { url } => Some(url.clone()),
            DbTarget::Sqlite { .. } => None,
        }
    }
}

fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Runs blocking database code on a plain thread (the synchronous PostgreSQL
/// client must not run inside an async runtime's thread).
pub fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f)
        .join()
        .expect("database thread panicked")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take() {
            let base = test_pg_url();
            off_runtime(move || {
                if let Ok(mut c) = (DbTarget::Postgres { url: base }).connect(Role::Writer) {
                    let _ = c.batch(&format!("DROP SCHEMA {schema} CASCADE"));
                }
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
