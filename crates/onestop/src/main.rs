//! `onestop`: the one binary — serve, migrate, calendar check.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use onestop_domain::calendar::{Calendar, CalendarOverrides, Clock, WorkingHours};
use onestop_domain::config::{CityConfig, DEFAULT_CONFIG_TOML};
use onestop_server::AppState;
use onestop_store::db::DbTarget;
use onestop_store::{Store, StoreOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "onestop",
    version,
    about = "水电气网暖联动报装 — joint utility connection platform"
)]
struct Cli {
    /// City configuration file (default: the built-in default city).
    #[arg(long, global = true, env = "ONESTOP_CONFIG")]
    config: Option<PathBuf>,
    /// Folder for the SQLite database (ignored when DATABASE_URL is set).
    #[arg(
        long,
        global = true,
        env = "ONESTOP_DATA_DIR",
        default_value = "./data"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (JSON API, pages, background work).
    Serve {
        #[arg(long, env = "ONESTOP_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// The official working-day calendar.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// List the years covered; warn when next year is missing.
    Check,
}

fn main() {
    let started = Instant::now();
    let cli = Cli::parse();
    init_logging();
    if let Err(e) = run(cli, started) {
        eprintln!("onestop: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli, started: Instant) -> Result<()> {
    match cli.command {
        Command::Serve { listen } => {
            let city = load_city(cli.config.as_deref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(32)
                .thread_name("onestop")
                .build()?;
            runtime.block_on(serve(city, &cli.data_dir, listen, started))
        }
        Command::Migrate => {
            let target = db_target(&cli.data_dir)?;
            let mut conn = target.connect(onestop_store::db::Role::Writer)?;
            let applied = onestop_store::migrate::migrate(conn.as_mut())?;
            let version = onestop_store::migrate::current_version(conn.as_mut())?;
            if applied.is_empty() {
                println!("{target}: up to date (schema version {version})");
            } else {
                println!("{target}: applied {applied:?}; schema version {version}");
            }
            Ok(())
        }
        Command::Calendar {
            command: CalendarCommand::Check,
        } => calendar_check(cli.config.as_deref()),
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("ONESTOP_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A loaded city: its configuration, where it came from, and its clock.
struct City {
    config: CityConfig,
    clock: Clock,
}

fn load_city(path: Option<&Path>) -> Result<City> {
    let (config, base) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read configuration {}", p.display()))?;
            let config = CityConfig::from_toml(&text)
                .with_context(|| format!("configuration {}", p.display()))?;
            (config, p.parent().map(Path::to_path_buf))
        }
        None => (
            CityConfig::from_toml(DEFAULT_CONFIG_TOML).context("built-in configuration")?,
            None,
        ),
    };
    let overrides_path = std::env::var_os("ONESTOP_CALENDAR_OVERRIDES")
        .map(PathBuf::from)
        .or_else(|| {
            config.working_time.overrides_file.as_ref().map(|f| {
                let f = PathBuf::from(f);
                match (&base, f.is_relative()) {
                    (Some(b), true) => b.join(f),
                    _ => f,
                }
            })
        });
    let overrides = match &overrides_path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read calendar overrides {}", p.display()))?;
            Some(
                CalendarOverrides::from_toml(&text)
                    .map_err(|e| anyhow::anyhow!("calendar overrides {}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let calendar =
        Calendar::new(overrides.as_ref()).map_err(|e| anyhow::anyhow!("calendar: {e}"))?;
    let hours = WorkingHours::parse(
        &config.working_time.periods,
        config.working_time.utc_offset_minutes,
    )
    .map_err(|e| anyhow::anyhow!("working_time: {e}"))?;
    Ok(City {
        config,
        clock: Clock::new(calendar, hours),
    })
}

fn db_target(data_dir: &Path) -> Result<DbTarget> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                bail!("DATABASE_URL must be a postgres:// URL (leave it unset for SQLite)");
            }
            Ok(DbTarget::Postgres { url })
        }
        _ => Ok(DbTarget::Sqlite {
            path: data_dir.join("onestop.sqlite3"),
        }),
    }
}

fn calendar_check(config: Option<&Path>) -> Result<()> {
    let city = load_city(config)?;
    let calendar = city.clock.calendar();
    println!("Working-day calendar coverage:");
    for y in calendar.coverage() {
        println!("  {}  {} .. {}  ({})", y.year, y.first, y.last, y.source);
    }
    let this_year = time::OffsetDateTime::now_utc().year();
    let last = calendar.coverage().last().map(|y| y.last);
    if !calendar.coverage().iter().any(|y| y.year == this_year) {
        bail!("the calendar has no data for this year ({this_year}); import its schedule first");
    }
    if calendar.covers_year(this_year + 1) {
        println!("OK: {this_year} and {} are covered.", this_year + 1);
    } else {
        let until = last.map(|d| d.to_string()).unwrap_or_default();
        eprintln!(
            "WARNING: the {next} schedule is missing. Covered until {until}; deadlines that reach \
             later days (the last days of {this_year} depend on the {next} notice) cannot be \
             computed. Add the State Council's {next} schedule to the calendar overrides file \
             (working_time.overrides_file or ONESTOP_CALENDAR_OVERRIDES).",
            next = this_year + 1
        );
    }
    Ok(())
}

async fn serve(city: City, data_dir: &Path, listen: SocketAddr, started: Instant) -> Result<()> {
    let target = db_target(data_dir)?;
    let options = StoreOptions::for_target(&target);
    let store = {
        let target = target.clone();
        tokio::task::spawn_blocking(move || Store::open(target, options)).await??
    };
    let today = time::OffsetDateTime::now_utc().year();
    if !city.clock.calendar().covers_year(today + 1) {
        tracing::warn!(
            year = today + 1,
            "calendar: next year's holiday schedule is missing; run `onestop calendar check`"
        );
    }
    let state = AppState::new(Arc::new(city.config), Arc::new(city.clock), store.clone());
    let app = onestop_server::router(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %target,
        ready_ms = started.elapsed().as_millis() as u64,
        "onestop is serving"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped accepting requests; finishing queued writes");
    drop(store);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
