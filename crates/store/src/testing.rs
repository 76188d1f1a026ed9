//! Fresh databases for tests, of either kind (feature `testing`).
//!
//! SQLite: a file in a new temporary folder. PostgreSQL: a new schema in the
//! database named by `ONESTOP_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), selected through the
//! connection's `search_path`, and dropped afterwards. A PostgreSQL that does
//! not answer fails the test loudly: the suite runs on both databases.

/// Running statements directly, for tests that set up or tamper with rows.
pub use crate::db::sql::Sql;
use crate::db::{DbTarget, Role};
use std::path::PathBuf;

pub mod moto;

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

    /// Opens the store over this database (migrations applied), off the
    /// async runtime's threads.
    pub async fn open_store(&self) -> crate::Store {
        self.open_store_with(crate::StoreOptions::for_target(&self.target))
            .await
    }

    /// Opens the store with these pool sizes (migrations applied), off the
    /// async runtime's threads.
    pub async fn open_store_with(&self, options: crate::StoreOptions) -> crate::Store {
        let target = self.target.clone();
        tokio::task::spawn_blocking(move || crate::Store::open(target, options))
            .await
            .expect("store opening panicked")
            .expect("open store")
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

/// A plain account for storage tests: `id` is its username and display
/// name too; this phone, no enterprise, no roles, made by `test` at `at_ms`.
pub fn insert_account(
    conn: &mut dyn crate::db::Conn,
    id: &str,
    phone: Option<&str>,
    at_ms: i64,
) -> Result<(), crate::StoreError> {
    let account = crate::accounts::NewAccount {
        id: id.into(),
        username: id.into(),
        display_name: id.into(),
        phone: phone.map(Into::into),
        uscc: None,
        enterprise_name: None,
        password_hash: "x".into(),
        must_change_password: false,
        created_by: "test".into(),
        grants: Vec::new(),
        at_ms,
    };
    crate::accounts::insert(conn, &account)
}

/// TEST FIXTURE, not official data: 2027 as plain weekdays, so that tests run
/// in the last days of 2026 do not depend on a schedule not yet published.
pub const TEST_OVERRIDES: &str = "# TEST FIXTURE, not official data\n[[years]]\nyear = 2027\n";

/// The city's clock over the built-in calendar plus [`TEST_OVERRIDES`].
pub fn test_clock(config: &onestop_domain::config::CityConfig) -> onestop_domain::calendar::Clock {
    use onestop_domain::calendar::{Calendar, CalendarOverrides, Clock, WorkingHours};
    let overrides = CalendarOverrides::from_toml(TEST_OVERRIDES).expect("calendar fixture");
    let calendar = Calendar::new(Some(&overrides))
        .expect("calendar")
        .with_provisional();
    let hours = WorkingHours::parse(
        &config.working_time.periods,
        config.working_time.utc_offset_minutes,
    )
    .expect("working hours");
    Clock::new(calendar, hours)
}

/// The `spec/API.md` example body: all five services, two carriers, no
/// appointment, with the given applicant name.
pub fn example_application(applicant_name: &str) -> serde_json::Value {
    serde_json::json!({
        "applicant": {"name": applicant_name, "uscc": "91421300MA49ABCD17"},
        "address": {"district_code": "421303", "detail": "交通大道100号", "lng": 113.37, "lat": 31.70},
        "contact": {"name": "张三", "phone": "13800000000"},
        "project_code": "2611-421303-04-01-123456",
        "mode": "bundle", "channel": "api",
        "services": {
            "water":   {"business_type": "new_account", "demand_tons_per_day": 50},
            "power":   {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0},
            "gas":     {"category": "small_commercial", "equipment": [
                           {"name": "燃气灶", "quantity": 4, "pressure": "2kPa"}]},
            "heat":    {"category": "residential_collective", "heating_area_m2": 12000},
            "network": {"building_area_m2": 20000, "building_height_m": 45, "delivery_date": "2027-06-30",
                        "basement_coverage": true, "buildings": 3, "elevator_coverage": true,
                        "carriers": ["telecom", "mobile"]}
        }
    })
}

/// Runs each async test body once per database, as `name::sqlite` and
/// `name::postgres` (the body takes a [`Backend`]). Every crate's storage
/// tests use it.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::testing::Backend::Postgres).await
            }
        }
    )*};
}

/// Runs each blocking test body (one that drives the server binary, say) once
/// per database, as `name::sqlite` and `name::postgres` (the body takes a
/// [`Backend`]).
#[macro_export]
macro_rules! on_both_databases_blocking {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::testing::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name($crate::testing::Backend::Postgres)
            }
        }
    )*};
}
