//! What keeps the audit chain honest outside the database: the key file,
//! the signed checkpoints (a background job), and the use cases behind
//! `onestop audit verify|prune` and the audit page's check.
//!
//! - The key (32 random bytes, hex) lives in a file beside the data, made
//!   at first start with mode 0600 (`create_new` semantics: two servers
//!   starting together end up with one key); a key file readable by others
//!   is refused. Servers sharing a PostgreSQL must read the same key file.
//! - Every minute the log has grown, the server signs a checkpoint (seq,
//!   hash, time, keyed boundary) and writes it to `audit_checkpoints`, to an
//!   append-only file (fsynced) and to its log as one structured line
//!   (target `onestop::audit::checkpoint`), which an external collector
//!   keeps. Once more at shutdown, after the audit sink is flushed.
//! - Verification reads the checkpoints of the file (and of any log files
//!   given) before the database, so none can be newer than the head it sees.

use crate::AppState;
use crate::app::error::Error;
use crate::auth::Caller;
use onestop_store::StoreError;
use onestop_store::audit::{
    self, AuditKey, Checkpoint, Pruned, SourcedCheckpoint, VerifyOptions, VerifyReport,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The log target of checkpoint lines.
pub const CHECKPOINT_TARGET: &str = "onestop::audit::checkpoint";
/// How often the job looks whether the log has grown.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);
/// Bytes of a new key.
const KEY_BYTES: usize = 32;

// ───────────────────────────── the key file ─────────────────────────────

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("audit key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "audit key file {path} may be read by others (mode {mode:o}); allow its owner only \
         (chmod 600) — the key must stay secret"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("audit key file {path} does not hold a key (64 hexadecimal digits expected)")]
    Malformed { path: PathBuf },
}

/// The audit key from `path`, made there first when there is none (32
/// random bytes as hex, mode 0600). Returns the key and whether it was made
/// now. Two processes racing to make it end up with the same key: the file
/// appears whole, by a hard link that fails when it exists.
pub fn load_or_create_key(path: &Path) -> Result<(AuditKey, bool), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("new-{}", crate::auth::random_hex(8)));
        let text = format!("{}\n", crate::auth::random_hex(KEY_BYTES));
        let written = (|| -> std::io::Result<()> {
            let mut f = owner_only().open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
                }
                return Ok((read_key(path)?, true));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok((read_key(path)?, false))
}

fn owner_only() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Reads an existing key file, refusing one that others may read.
pub fn read_key(path: &Path) -> Result<AuditKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let malformed = || KeyFileError::Malformed {
        path: path.to_owned(),
    };
    let bytes = hex::decode(text.trim()).map_err(|_| malformed())?;
    if bytes.len() < KEY_BYTES {
        return Err(malformed());
    }
    AuditKey::from_bytes(&bytes).map_err(|_| malformed())
}

// ───────────────────────────── checkpoint files ─────────────────────────────

/// One line of the checkpoint file: the checkpoint as JSON
/// (`{"seq","hash","at","keyed_from","mac"}`).
pub fn checkpoint_line(c: &Checkpoint) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// Appends one checkpoint to the file and makes it durable.
pub fn append_checkpoint(path: &Path, c: &Checkpoint) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(format!("{}\n", checkpoint_line(c)).as_bytes())?;
    f.sync_data()
}

/// The checkpoints in a file, each with its source ("FILE line N"), and the
/// lines that should have been one but cannot be read.
///
/// `strict`: every non-empty line must be a checkpoint (the checkpoint
/// file). Otherwise lines without one are skipped: a server's log, in text
/// or JSON format, from which the checkpoint lines are taken.
pub fn read_checkpoints(
    path: &Path,
    strict: bool,
) -> std::io::Result<(Vec<SourcedCheckpoint>, Vec<String>)> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && strict => {
            return Ok((Vec::new(), Vec::new()));
        }
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let source = format!("{} line {}", path.display(), i + 1);
        if line.trim().is_empty() {
            continue;
        }
        match parse_checkpoint(line) {
            Some(c) => found.push(SourcedCheckpoint {
                checkpoint: c,
                source,
            }),
            None if strict || line.contains(CHECKPOINT_TARGET) => bad.push(source),
            None => {}
        }
    }
    Ok((found, bad))
}

/// A checkpoint from one line: the file's JSON, a JSON log line (fields at
/// the top or under "fields"), or a text log line (`seq=… hash=… at=…
/// keyed_from=… mac=…`, colours and all).
pub fn parse_checkpoint(line: &str) -> Option<Checkpoint> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) {
        let fields = if v.get("mac").is_some() {
            &v
        } else {
            v.get("fields")?
        };
        let int = |k: &str| fields.get(k).and_then(serde_json::Value::as_i64);
        let text = |k: &str| fields.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        return Some(Checkpoint {
            seq: int("seq")?,
            hash: text("hash")?,
            at_ms: int("at")?,
            keyed_from: int("keyed_from")?,
            mac: text("mac")?,
        });
    }
    if !line.contains(CHECKPOINT_TARGET) {
        return None;
    }
    let plain = strip_ansi(line);
    let value = |k: &str| {
        plain
            .split_whitespace()
            .find_map(|t| t.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_owned())
    };
    Some(Checkpoint {
        seq: value("seq")?.parse().ok()?,
        hash: value("hash")?,
        at_ms: value("at")?.parse().ok()?,
        keyed_from: value("keyed_from")?.parse().ok()?,
        mac: value("mac")?,
    })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … final byte in @–~
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) && d != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ───────────────────────────── the checkpoint job ─────────────────────────────

/// Signs and writes checkpoints; remembers the last one so that an idle
/// log gets no new ones.
pub struct Checkpointer {
    file: Option<PathBuf>,
    last: Mutex<Option<(i64, String)>>,
}

impl Checkpointer {
    /// `file`: the append-only checkpoint file (None: database and log only).
    pub fn new(file: Option<PathBuf>) -> Arc<Checkpointer> {
        Arc::new(Checkpointer {
            file,
            last: Mutex::new(None),
        })
    }

    /// Writes a checkpoint of the current head if it moved since the last
    /// one (or `force`): to the file (fsynced), to the log, then to the
    /// database. Returns it.
    pub async fn run_once(
        &self,
        state: &AppState,
        force: bool,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let key = state.audit_key.clone();
        let now_ms = state.now_ms();
        let c = state
            .store
            .read(move |conn| audit::checkpoint(conn, &key, now_ms))
            .await?;
        {
            let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if !force && last.as_ref() == Some(&(c.seq, c.hash.clone())) {
                return Ok(None);
            }
        }
        if let Some(path) = &self.file {
            let (path, cp) = (path.clone(), c.clone());
            let written = tokio::task::spawn_blocking(move || append_checkpoint(&path, &cp))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r);
            if let Err(e) = written {
                tracing::error!(
                    error = %e,
                    file = %self.file.as_deref().unwrap_or(Path::new("")).display(),
                    "audit checkpoint not written to its file"
                );
            }
        }
        log_checkpoint(&c);
        let cp = c.clone();
        state
            .store
            .write(move |conn| audit::save_checkpoint(conn, &cp))
            .await?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((c.seq, c.hash.clone()));
        Ok(Some(c))
    }
}

/// The checkpoint as one structured log line (target
/// [`CHECKPOINT_TARGET`]) for an external collector to keep;
/// [`parse_checkpoint`] reads it back, in text or JSON format.
pub fn log_checkpoint(c: &Checkpoint) {
    tracing::info!(
        target: CHECKPOINT_TARGET,
        seq = c.seq,
        hash = %c.hash,
        at = c.at_ms,
        keyed_from = c.keyed_from,
        mac = %c.mac,
        "audit checkpoint"
    );
}

/// The background job: a checkpoint every [`CHECKPOINT_EVERY`] when the log
/// has grown (the first at start-up).
pub fn start_checkpoints(
    state: AppState,
    checkpointer: Arc<Checkpointer>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = checkpointer.run_once(&state, false).await {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
    })
}

// ───────────────────────────── verify and prune ─────────────────────────────

/// Runs [`audit::verify`] in one read-only snapshot, so that appends made
/// meanwhile are not mistaken for breaks. `outside`: checkpoints read from
/// files before this is called.
pub async fn verify(
    state: &AppState,
    outside: Vec<SourcedCheckpoint>,
) -> Result<VerifyReport, StoreError> {
    let key = state.audit_key.clone();
    let now_ms = state.now_ms();
    state
        .store
        .read(move |c| {
            onestop_store::db::in_snapshot(c, |c| {
                audit::verify(
                    c,
                    VerifyOptions {
                        key: &key,
                        checkpoints: &outside,
                        now_ms,
                    },
                )
            })
        })
        .await
}

/// Retention: removes the records older than
/// `security.audit_retention_days` (never fewer than 180) and records that
/// it did — or that it refused, or found nothing — in the same transaction
/// (`audit_pruned`, with the range removed).
pub async fn prune(state: &AppState, caller: &Caller) -> Result<Pruned, Error> {
    let days = state
        .config
        .security
        .audit_retention_days
        .max(audit::MIN_RETENTION_DAYS);
    let now = state.now_ms();
    let key = state.audit_key.clone();
    let base = caller.audit(
        now,
        "audit_pruned",
        "success",
        "audit_log",
        "",
        serde_json::json!({}),
    );
    Ok(state
        .store
        .write(move |c| {
            let done = audit::prune(c, &key, now, days)?;
            let mut detail = serde_json::json!({
                "retention_days": days,
                "before_ms": now - i64::from(days) * 86_400_000,
            });
            let mut rec = base.clone();
            match &done {
                Pruned::Removed {
                    count,
                    first_seq,
                    last_seq,
                    anchor_at,
                } => {
                    detail["removed"] = (*count).into();
                    detail["first_seq"] = (*first_seq).into();
                    detail["last_seq"] = (*last_seq).into();
                    detail["anchor_at"] = (*anchor_at).into();
                }
                Pruned::Nothing => detail["removed"] = 0.into(),
                Pruned::Refused(reason) => {
                    rec.outcome = "failure".into();
                    detail["removed"] = 0.into();
                    detail["refused"] = reason.clone().into();
                }
            }
            rec.detail = detail.to_string();
            audit::append(c, &key, std::slice::from_ref(&rec))?;
            Ok(done)
        })
        .await?)
}
