//! `onestop`: the one binary — serve, migrate, calendar check, accounts,
//! API keys and the audit log.
#![forbid(unsafe_code)]

/// A faster allocator for the many small, short-lived allocations of
/// request handling (JSON values, rows, headers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Accounts of people (administrators, clerks, operators, approvers, supervisors).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys of integration clients.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// The hash-chained security audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// SIMULATOR of the utilities' billing systems (the reference billing
    /// service of docs/billing-connector.md): example accounts and bills of
    /// every utility unit of the city, for tests and sandbox demos. No real
    /// money moves.
    BillingSim {
        #[arg(
            long,
            env = "ONESTOP_BILLING_SIM_LISTEN",
            default_value = "127.0.0.1:8090"
        )]
        listen: SocketAddr,
        /// Its SQLite file (default: billing-sim.sqlite3 in the data folder).
        #[arg(long, env = "ONESTOP_BILLING_SIM_DB")]
        db: Option<PathBuf>,
        /// The environment variable holding the bearer token clients must send.
        #[arg(long, default_value = onestop_billing_sim::DEFAULT_TOKEN_ENV)]
        token_env: String,
        /// Extra generated accounts per unit, one open bill of ¥10.00 each
        /// (for load tests; only when the file is new).
        #[arg(long, default_value_t = 0)]
        extra_accounts: u32,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; prints a temporary password (alone, on the last
    /// line) that must be changed at first login.
    Create {
        /// Login name (3–32 letters, digits, . _ - @).
        #[arg(long)]
        username: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// A role, `role` or `role:scope`; repeat for several (admin,
        /// supervisor[:unit], operator:<unit>, approver:<department>,
        /// clerk:<hall>, applicant:<USCC>).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Where the account's email notifications go.
        #[arg(long)]
        email: Option<String>,
        /// Read the initial password from standard input instead of
        /// generating one (it must still be changed at first login).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account (ends its sessions).
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Set a new temporary password (printed on the last line), end every session.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a key; prints it once, alone on the last line.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: applications:read, applications:write,
        /// pre_registrations:read, pre_registrations:write,
        /// workorders:read:<unit>, workorders:write:<unit>, approvals:write:<department>.
        #[arg(long)]
        scopes: String,
    },
    /// List keys (prefixes only).
    List,
    /// Revoke a key at once.
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every record against the audit key and the signed checkpoints
    /// (the database's, the checkpoint file's, and those of any log files
    /// given); names every problem found (exit code 1).
    Verify {
        /// A server log (text or JSON) or another checkpoint file whose
        /// checkpoint lines are checked too; repeat for several.
        #[arg(long = "checkpoints")]
        checkpoints: Vec<PathBuf>,
    },
    /// Remove records older than `security.audit_retention_days` (at least
    /// 180); never younger ones. Records its own run in the log.
    Prune,
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// List the years covered; warn when next year is missing.
    Check,
    /// Import a calendar file (the overrides format) into the database for
    /// every server; recomputes every open work order's deadline and level.
    Import {
        /// The file; `-` reads standard input.
        file: PathBuf,
    },
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
        Command::Calendar {
            command: CalendarCommand::Import { file },
        } => {
            let text = if file.as_os_str() == "-" {
                let mut t = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)?;
                t
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let city = load_city(cli.config.as_deref())?;
            with_state(city, &cli.data_dir, false, |state| async move {
                let actor = operator_name();
                match onestop_server::app::calendar::import(&state, &actor, text).await {
                    Ok(done) => {
                        println!(
                            "calendar imported (import {}); {} open work orders' deadlines recomputed",
                            done.id, done.orders_moved
                        );
                        Ok(())
                    }
                    Err(e) => {
                        let e = onestop_server::error::ApiError::from(e);
                        for f in &e.fields {
                            eprintln!("  - {}", f.message);
                        }
                        bail!("{}", e.message)
                    }
                }
            })
        }
        Command::User { command } => {
            let city = load_city(cli.config.as_deref())?;
            with_state(city, &cli.data_dir, false, |state| {
                user_command(state, command)
            })
        }
        Command::Apikey { command } => {
            let city = load_city(cli.config.as_deref())?;
            with_state(city, &cli.data_dir, false, |state| {
                apikey_command(state, command)
            })
        }
        Command::Audit { command } => {
            let city = load_city(cli.config.as_deref())?;
            let files = AuditFiles::of(&city, &cli.data_dir);
            with_state(city, &cli.data_dir, true, |state| {
                audit_command(state, files, command)
            })
        }
        Command::BillingSim {
            listen,
            db,
            token_env,
            extra_accounts,
        } => {
            let city = load_city(cli.config.as_deref())?;
            billing_sim(city, &cli.data_dir, listen, db, &token_env, extra_accounts)
        }
    }
}

/// Runs the billing SIMULATOR until SIGTERM or Ctrl-C.
fn billing_sim(
    city: City,
    data_dir: &Path,
    listen: SocketAddr,
    db: Option<PathBuf>,
    token_env: &str,
    extra_accounts: u32,
) -> Result<()> {
    let token = std::env::var(token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .with_context(|| {
            format!(
                "the billing simulator's bearer token: set the environment variable {token_env}"
            )
        })?;
    let db = db.unwrap_or_else(|| onestop_billing_sim::default_db_path(data_dir));
    let mut config = onestop_billing_sim::SimConfig::for_city(&city.config, db, token);
    config.extra_accounts = extra_accounts;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .thread_name("billing-sim")
        .build()?;
    runtime.block_on(async move {
        let sim = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || onestop_billing_sim::Sim::open(&config)).await??
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let units: Vec<String> = config.units.iter().map(|u| u.code.clone()).collect();
        tracing::warn!(
            address = %listener.local_addr()?,
            db = %config.db_path.display(),
            units = %units.join(","),
            "BILLING SIMULATOR serving example data (sandbox: no real money); each unit at /<unit>/"
        );
        onestop_billing_sim::serve(listener, sim, shutdown_signal()).await?;
        Ok(())
    })
}

/// Runs an administrative command against the database with a full
/// application state (the same use cases as the pages), then flushes.
/// The audit key is made when there is none, unless `existing_key`.
fn with_state<F, Fut>(city: City, data_dir: &Path, existing_key: bool, f: F) -> Result<()>
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()?;
    let target = db_target(data_dir)?;
    let files = AuditFiles::of(&city, data_dir);
    runtime.block_on(async move {
        let options = StoreOptions::for_target(&target);
        let store = tokio::task::spawn_blocking(move || Store::open(target, options)).await??;
        let key = if existing_key {
            let path = files.key.clone();
            tokio::task::spawn_blocking(move || onestop_server::app::audit_chain::read_key(&path))
                .await?
                .with_context(|| "the audit key is needed (the server makes it at first start)")?
        } else {
            files.key(&store).await?
        };
        let state =
            AppState::new(Arc::new(city.config), Arc::new(city.clock), store).with_audit_key(key);
        let audit = state.audit.clone();
        let result = f(state).await;
        audit.flush().await;
        result
    })
}

/// Who runs the command, for the audit log: `cli:<login>`, the login name
/// cleaned by the one text rule (anything odd becomes `operator`).
fn operator_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .and_then(|u| {
            onestop_domain::text::clean(onestop_domain::text::TextKind::DisplayName, &u).ok()
        })
        .unwrap_or_else(|| "operator".into());
    format!("cli:{user}")
}

/// A use case's refusal as the command line reports it: its Chinese
/// message, then each field problem.
fn app_error(e: onestop_server::app::error::Error) -> anyhow::Error {
    let e = onestop_server::error::ApiError::from(e);
    let mut text = e.message.clone();
    for f in &e.fields {
        text.push_str(&format!(
            "\n  {}: {} ({})",
            f.field,
            f.message,
            f.code.as_str()
        ));
    }
    anyhow::anyhow!(text)
}

async fn account_id(state: &AppState, username: &str) -> Result<String> {
    let name = onestop_domain::access::normalize_username(username)
        .with_context(|| format!("not a login name: {username}"))?;
    let found = state
        .store
        .read(move |c| onestop_store::accounts::by_username(c, &name))
        .await?;
    Ok(found
        .with_context(|| format!("no account named {username}"))?
        .id)
}

async fn user_command(state: AppState, command: UserCommand) -> Result<()> {
    use onestop_server::app::accounts;
    let me = accounts::system_caller(&operator_name());
    match command {
        UserCommand::Create {
            username,
            name,
            roles,
            phone,
            email,
            password_stdin,
        } => {
            let email = email.map(|e| e.trim().to_ascii_lowercase());
            if let Some(e) = &email
                && !onestop_domain::contact::is_email(e)
            {
                anyhow::bail!("--email {e:?} is not an email address");
            }
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let created = accounts::create_account(
                &state,
                &me,
                accounts::NewAccountInput {
                    username,
                    display_name: name,
                    phone,
                    grants: roles,
                    password,
                },
            )
            .await
            .map_err(app_error)?;
            let a = &created.account;
            if let Some(e) = email {
                let (id, now_ms) = (a.id.clone(), state.now_ms());
                state
                    .store
                    .write(move |c| {
                        onestop_store::accounts::set_contact(
                            c,
                            &id,
                            &onestop_store::accounts::Contact {
                                email: Some(e.clone()),
                                phone: None,
                                in_app: true,
                                email_on: true,
                                sms_on: true,
                            },
                            now_ms,
                        )
                    })
                    .await?;
            }
            let roles: Vec<String> = a
                .grants
                .iter()
                .map(onestop_store::accounts::grant_code)
                .collect();
            println!(
                "created account {} ({}), roles {}",
                a.username,
                a.id,
                roles.join(", ")
            );
            println!("the password must be changed at first login");
            if let Some(p) = created.temporary_password {
                println!("temporary password (shown once):");
                println!("{p}");
            }
        }
        UserCommand::List => {
            let rows = state
                .store
                .read(|c| {
                    onestop_store::accounts::list(
                        c,
                        &onestop_store::accounts::AccountFilter {
                            limit: 10_000,
                            ..Default::default()
                        },
                    )
                })
                .await?;
            for a in rows {
                let roles: Vec<String> = a
                    .grants
                    .iter()
                    .map(onestop_store::accounts::grant_code)
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    a.username,
                    a.id,
                    if a.disabled { "disabled" } else { "active" },
                    roles.join(",")
                );
            }
        }
        UserCommand::Disable { username } => {
            let id = account_id(&state, &username).await?;
            accounts::set_disabled(&state, &me, &id, true)
                .await
                .map_err(app_error)?;
            println!("disabled {username}; its sessions have ended");
        }
        UserCommand::Enable { username } => {
            let id = account_id(&state, &username).await?;
            accounts::set_disabled(&state, &me, &id, false)
                .await
                .map_err(app_error)?;
            println!("enabled {username}");
        }
        UserCommand::ResetPassword { username } => {
            let id = account_id(&state, &username).await?;
            let done = accounts::reset_password(&state, &me, &id)
                .await
                .map_err(app_error)?;
            println!(
                "reset {username}; every session has ended; the password must be changed at next login"
            );
            println!("temporary password (shown once):");
            println!("{}", done.temporary_password.unwrap_or_default());
        }
    }
    Ok(())
}

async fn apikey_command(state: AppState, command: ApikeyCommand) -> Result<()> {
    use onestop_server::app::accounts;
    let me = accounts::system_caller(&operator_name());
    match command {
        ApikeyCommand::Create { name, scopes } => {
            let (row, key) = accounts::create_api_key(&state, &me, &name, &scopes)
                .await
                .map_err(app_error)?;
            println!(
                "created API key {} ({}) with scopes {}",
                row.name, row.id, row.scopes
            );
            println!("store it now: it is shown only once");
            println!("{key}");
        }
        ApikeyCommand::List => {
            let keys = state
                .store
                .read(onestop_store::accounts::list_api_keys)
                .await?;
            for k in keys {
                println!(
                    "{}\t{}…\t{}\t{}\t{}",
                    k.id,
                    k.prefix,
                    k.name,
                    k.scopes,
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        ApikeyCommand::Revoke { id } => {
            if accounts::revoke_api_key(&state, &me, &id)
                .await
                .map_err(app_error)?
            {
                println!("revoked {id}");
            } else {
                bail!("no active API key with id {id}");
            }
        }
    }
    Ok(())
}

async fn audit_command(state: AppState, files: AuditFiles, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { checkpoints } => {
            // The files first: no checkpoint in them can be newer than the
            // head the database shows afterwards.
            let mut outside = Vec::new();
            let mut unreadable = Vec::new();
            let (found, bad) =
                onestop_server::app::audit_chain::read_checkpoints(&files.checkpoints, true)
                    .with_context(|| format!("cannot read {}", files.checkpoints.display()))?;
            let file_missing = !files.checkpoints.exists();
            outside.extend(found);
            unreadable.extend(bad);
            for path in &checkpoints {
                let (found, bad) = onestop_server::app::audit_chain::read_checkpoints(path, false)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if found.is_empty() && bad.is_empty() {
                    eprintln!("warning: {} holds no audit checkpoint", path.display());
                }
                outside.extend(found);
                unreadable.extend(bad);
            }
            let report = onestop_server::app::audit_chain::verify(&state, outside).await?;
            println!(
                "audit log: {} records checked (seq {}..{}), keyed from record {}, {} checkpoints \
                 checked",
                report.checked,
                report.first_seq,
                report.last_seq,
                report.keyed_from,
                report.checkpoints
            );
            if file_missing {
                eprintln!(
                    "warning: no checkpoint file at {}: without it (or the server logs, \
                     --checkpoints), records cut off the end or a wiped log cannot be detected",
                    files.checkpoints.display()
                );
            }
            let problems =
                report.problems.len() as i64 + report.more_problems + unreadable.len() as i64;
            if problems == 0 {
                println!("audit log intact");
                return Ok(());
            }
            println!("audit log NOT intact: {problems} problems");
            for p in &report.problems {
                println!("  - {}", p.message);
            }
            if report.more_problems > 0 {
                println!("  - … and {} more problems", report.more_problems);
            }
            for source in &unreadable {
                println!("  - {source} is not a readable checkpoint: the file was edited");
            }
            std::process::exit(1);
        }
        AuditCommand::Prune => {
            let me = onestop_server::app::accounts::system_caller(&operator_name());
            let done = onestop_server::app::audit_chain::prune(&state, &me)
                .await
                .map_err(app_error)?;
            let days = state
                .config
                .security
                .audit_retention_days
                .max(onestop_store::audit::MIN_RETENTION_DAYS);
            match done {
                onestop_store::audit::Pruned::Removed {
                    count,
                    first_seq,
                    last_seq,
                    ..
                } => println!(
                    "removed {count} audit records (seq {first_seq}..{last_seq}) older than \
                     {days} days"
                ),
                onestop_store::audit::Pruned::Nothing => {
                    println!("no audit record is older than {days} days; nothing removed")
                }
                onestop_store::audit::Pruned::Refused(reason) => bail!("prune refused: {reason}"),
            }
            Ok(())
        }
    }
}

/// Where the audit key and the checkpoint file are: the environment, else
/// the configuration (relative to its file), else beside the data.
struct AuditFiles {
    key: PathBuf,
    checkpoints: PathBuf,
}

impl AuditFiles {
    fn of(city: &City, data_dir: &Path) -> AuditFiles {
        let pick = |env: &str, configured: &Option<String>, default: &str| {
            std::env::var_os(env)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    configured.as_ref().map(|f| {
                        let f = PathBuf::from(f);
                        match (&city.base, f.is_relative()) {
                            (Some(b), true) => b.join(f),
                            _ => f,
                        }
                    })
                })
                .unwrap_or_else(|| data_dir.join(default))
        };
        let sec = &city.config.security;
        AuditFiles {
            key: pick("ONESTOP_AUDIT_KEY_FILE", &sec.audit_key_file, "audit.key"),
            checkpoints: pick(
                "ONESTOP_AUDIT_CHECKPOINT_FILE",
                &sec.audit_checkpoint_file,
                "audit-checkpoints.log",
            ),
        }
    }

    /// The audit key, made at first start; refused when a new key would
    /// meet a database already chained with another one.
    async fn key(&self, store: &Store) -> Result<onestop_store::audit::AuditKey> {
        let path = self.key.clone();
        let (key, created) = tokio::task::spawn_blocking(move || {
            onestop_server::app::audit_chain::load_or_create_key(&path)
        })
        .await??;
        let k = key.clone();
        let matches = store
            .read(move |c| onestop_store::audit::key_matches(c, &k))
            .await?;
        match matches {
            Some(false) if created => bail!(
                "a new audit key was made at {}, but this database's audit chain was made with \
                 another key: point security.audit_key_file (or ONESTOP_AUDIT_KEY_FILE) at the \
                 key the other servers use (the new file can be removed)",
                self.key.display()
            ),
            Some(false) => tracing::error!(
                key_file = %self.key.display(),
                key_id = key.id(),
                "the audit chain's seal does not verify with this key: another key, or the \
                 head was changed; run `onestop audit verify`"
            ),
            _ => {}
        }
        if created {
            tracing::warn!(
                key_file = %self.key.display(),
                key_id = key.id(),
                "made a new audit key; keep a copy safe (without it the audit log cannot be \
                 verified) and give every server sharing this database the same file"
            );
        }
        Ok(key)
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
    /// The configuration file's folder (relative paths in it start there).
    base: Option<PathBuf>,
}

fn load_city(path: Option<&Path>) -> Result<City> {
    let (mut config, base) = match path {
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
    // Certificate files named in the configuration are relative to it.
    let beside = |f: &mut Option<String>| {
        if let (Some(b), Some(path)) = (&base, f.as_mut())
            && Path::new(path.as_str()).is_relative()
        {
            *path = b.join(path.as_str()).to_string_lossy().into_owned();
        }
    };
    if let Some(e) = config.notify.email.as_mut() {
        beside(&mut e.ca_file);
    }
    if let Some(s) = config.notify.sms.as_mut() {
        beside(&mut s.ca_file);
    }
    if let Some(o) = config.identity.oidc.as_mut() {
        beside(&mut o.ca_file);
    }
    for b in config.billing.iter_mut() {
        beside(&mut b.ca_file);
    }
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
    // Past the last official notice, the statutory rules, marked provisional.
    let calendar = Calendar::new(overrides.as_ref())
        .map_err(|e| anyhow::anyhow!("calendar: {e}"))?
        .with_provisional();
    let hours = WorkingHours::parse(
        &config.working_time.periods,
        config.working_time.utc_offset_minutes,
    )
    .map_err(|e| anyhow::anyhow!("working_time: {e}"))?;
    Ok(City {
        config,
        clock: Clock::new(calendar, hours),
        base,
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

/// The store of materials' contents that `[blobs]` names, checked: the data
/// folder's `blobs/` (created), or the object store (its bucket listed once,
/// so a wrong bucket, endpoint or key stops start-up). Uploads are spooled
/// in `dir/spool` either way. Blocking.
fn open_blobs(
    config: &onestop_domain::config::BlobsConfig,
    dir: &Path,
) -> Result<Arc<dyn onestop_store::blobs::BlobStore>> {
    use onestop_domain::config::BlobBackend;
    use onestop_store::blobs::{FsBlobs, S3Blobs, S3Settings};
    match config.backend {
        BlobBackend::Filesystem => {
            Ok(Arc::new(FsBlobs::new(dir).with_context(|| {
                format!("materials folder {}", dir.display())
            })?))
        }
        BlobBackend::S3 => {
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
            let (Some(access_key_id), Some(secret_access_key)) = (
                env("ONESTOP_S3_ACCESS_KEY_ID"),
                env("ONESTOP_S3_SECRET_ACCESS_KEY"),
            ) else {
                bail!(
                    "[blobs] backend = \"s3\" needs the object store's keys in the environment: \
                     ONESTOP_S3_ACCESS_KEY_ID and ONESTOP_S3_SECRET_ACCESS_KEY"
                );
            };
            let ca_pem = match &config.ca_file {
                Some(path) => {
                    Some(std::fs::read(path).with_context(|| format!("blobs.ca_file {path}"))?)
                }
                None => None,
            };
            let settings = S3Settings {
                endpoint: config.endpoint.clone().unwrap_or_default(),
                region: config.region().to_owned(),
                bucket: config.bucket.clone().unwrap_or_default(),
                prefix: config.prefix.clone().unwrap_or_default(),
                allow_http: config.allow_http,
                virtual_hosted_style: config.virtual_hosted_style,
                ca_pem,
                access_key_id,
                secret_access_key,
                session_token: env("ONESTOP_S3_SESSION_TOKEN"),
            };
            let store = S3Blobs::new(&settings, dir.join("spool"))
                .with_context(|| "[blobs] object store")?;
            store
                .check()
                .with_context(|| "[blobs] the object store cannot be used")?;
            tracing::info!(
                endpoint = %settings.endpoint,
                bucket = %settings.bucket,
                prefix = %settings.prefix,
                "materials kept in an object store"
            );
            Ok(Arc::new(store))
        }
    }
}

async fn serve(city: City, data_dir: &Path, listen: SocketAddr, started: Instant) -> Result<()> {
    // The mail relay's and SMS gateway's clients: a password missing from
    // the environment or an unreadable certificate file stops start-up here.
    let deliverer = onestop_server::jobs::delivery::Deliverer::new(&city.config)?;
    // The legal-person login's client: a missing client secret stops start-up too.
    let oidc = match &city.config.identity.oidc {
        Some(c) => Some(Arc::new(
            onestop_server::connectors::oidc::OidcConnector::new(c, None)
                .map_err(|e| anyhow::anyhow!("identity.oidc: {e}"))?,
        )),
        None => None,
    };
    // The utilities' billing systems: a token missing from the environment
    // or an unreadable certificate file stops start-up too.
    let billing = onestop_server::connectors::billing::Billing::new(&city.config)?;
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
    let files = AuditFiles::of(&city, data_dir);
    let key = files.key(&store).await?;
    // A checkpoint file that cannot be written is a mistake to fix now,
    // not a minute-by-minute error later.
    if let Some(dir) = files
        .checkpoints
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("audit checkpoint folder {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&files.checkpoints)
        .with_context(|| format!("audit checkpoint file {}", files.checkpoints.display()))?;
    tracing::info!(
        key_id = key.id(),
        key_file = %files.key.display(),
        checkpoint_file = %files.checkpoints.display(),
        "audit log keyed"
    );
    let blobs = {
        let (config, dir) = (city.config.blobs.clone(), data_dir.join("blobs"));
        tokio::task::spawn_blocking(move || open_blobs(&config, &dir)).await??
    };
    let mut state = AppState::new(Arc::new(city.config), Arc::new(city.clock), store.clone())
        .with_audit_key(key)
        .with_blobs(blobs);
    state.oidc = oidc;
    state.billing = billing;
    let audit = state.audit.clone();
    // A calendar imported by an administrator replaces the file's.
    onestop_server::app::calendar::reload_if_changed(&state)
        .await
        .map_err(|e| anyhow::anyhow!("stored calendar: {e}"))?;
    let sweeper = onestop_server::jobs::sweeper::start(state.clone());
    let deliverer = onestop_server::jobs::delivery::start(state.clone(), deliverer);
    let counter = onestop_server::jobs::open_counts::start(state.clone());
    let payments = onestop_server::jobs::billing::start(
        state.clone(),
        onestop_server::jobs::billing::PaymentWorker::default(),
    );
    let refusals = onestop_server::refusals::start(state.clone());
    let checkpointer =
        onestop_server::app::audit_chain::Checkpointer::new(Some(files.checkpoints.clone()));
    let checkpoints =
        onestop_server::app::audit_chain::start_checkpoints(state.clone(), checkpointer.clone());
    let stopping = state.clone();
    let app = onestop_server::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %target,
        ready_ms = started.elapsed().as_millis() as u64,
        "onestop is serving"
    );
    // Answers go out at once, not held back to be merged with later bytes.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    sweeper.abort();
    deliverer.abort();
    counter.abort();
    payments.abort();
    refusals.abort();
    checkpoints.abort();
    tracing::info!("stopped accepting requests; finishing queued writes");
    stopping.refusals.flush(&audit).await;
    audit.flush().await;
    // The last checkpoint covers everything written before the stop.
    if let Err(e) = checkpointer.run_once(&stopping, false).await {
        tracing::error!(error = %e, "audit checkpoint at shutdown failed");
    }
    drop(stopping);
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
