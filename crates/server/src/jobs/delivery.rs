//! The delivery worker: takes due rows from the outbox
//! ([`onestop_store::outbox`]) and sends them by email or SMS, each attempt
//! on its own task with a time limit, so an unreachable relay or gateway
//! delays messages and never touches a user's request. A failed attempt
//! waits with doubling backoff (`[notify]`); after `max_attempts` the row is
//! given up and kept with its last error for the administrators.
//!
//! Each row is claimed under a lease longer than any attempt can take, and
//! its outcome is written as soon as the attempt ends. A server killed
//! between a level change and the email therefore sends it after restart,
//! once; a server killed after the relay accepted a message but before the
//! outcome was written sends it again with the same `Message-ID` (the only
//! window left, and one a receiver can recognise).

use crate::AppState;
use crate::app::error::Error;
use crate::notify::SendError;
use crate::notify::mail::{self, Mailer};
use crate::notify::sms::{self, Sms, SmsGateway};
use crate::texts;
use onestop_domain::config::CityConfig;
use onestop_store::notifications::Outward;
use onestop_store::outbox::{self, Delivery};
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for due rows.
pub const DELIVER_EVERY: Duration = Duration::from_secs(1);
/// Rows claimed at once (sent concurrently).
const BATCH: u32 = 32;

/// The outward channels this server's configuration has.
pub fn outward(config: &CityConfig) -> Outward {
    Outward {
        email: config.notify.email.is_some(),
        sms: config.notify.sms.is_some(),
    }
}

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub retrying: usize,
    pub given_up: usize,
}

/// The email and SMS transports of this server could not be set up: every
/// reason (a password or token missing from the environment, an unreadable
/// `ca_file`).
#[derive(Debug, thiserror::Error)]
#[error("notification transport:\n  - {}", .0.join("\n  - "))]
pub struct TransportError(pub Vec<String>);

/// The worker's identity and its transports: one mail relay client and one
/// SMS gateway client per server, shared by every attempt.
#[derive(Clone)]
pub struct Deliverer {
    worker: Arc<str>,
    mail: Option<Arc<Mailer>>,
    sms: Option<Arc<dyn SmsGateway>>,
}

impl Deliverer {
    /// The transports `config` describes, with secrets from the process
    /// environment. Must run inside the Tokio runtime.
    pub fn new(config: &CityConfig) -> Result<Self, TransportError> {
        Self::with_secrets(config, &|var| std::env::var(var).ok())
    }

    /// As [`Deliverer::new`], with secrets (`password_env`, `token_env`)
    /// looked up by `secret`.
    pub fn with_secrets(
        config: &CityConfig,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TransportError> {
        let mut problems = Vec::new();
        let mail = match &config.notify.email {
            Some(cfg) => Mailer::new(cfg, secret)
                .map_err(|p| problems.extend(p))
                .ok()
                .map(Arc::new),
            None => None,
        };
        let sms = match &config.notify.sms {
            Some(cfg) => sms::gateway(cfg, secret)
                .map_err(|p| problems.extend(p))
                .ok()
                .map(Arc::from),
            None => None,
        };
        if !problems.is_empty() {
            return Err(TransportError(problems));
        }
        Ok(Deliverer {
            worker: format!("worker-{}", uuid::Uuid::new_v4().simple()).into(),
            mail,
            sms,
        })
    }

    /// The longest an attempt can take, doubled: a claimed row is not
    /// claimed again by another worker before then.
    fn lease_ms(config: &CityConfig) -> i64 {
        let email = config
            .notify
            .email
            .as_ref()
            .map_or(0, |e| i64::from(e.timeout_seconds) * 8);
        let sms = config
            .notify
            .sms
            .as_ref()
            .map_or(0, |s| i64::from(s.timeout_seconds));
        (email.max(sms) * 2_000).max(60_000)
    }
}

/// Sends everything due now (in rounds of [`BATCH`]); returns what happened.
pub async fn deliver_once(state: &AppState, d: &Deliverer) -> Result<Report, Error> {
    let mut report = Report::default();
    loop {
        let (worker, now_ms) = (d.worker.clone(), state.now_ms());
        let lease = Deliverer::lease_ms(&state.config);
        let claimed = state
            .store
            .write(move |c| outbox::claim(c, &worker, now_ms, lease, BATCH))
            .await?;
        let n = claimed.len();
        let mut tasks = tokio::task::JoinSet::new();
        for row in claimed {
            let (state, d) = (state.clone(), d.clone());
            tasks.spawn(async move { attempt(&state, &d, row).await });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(Outcome::Sent)) => report.sent += 1,
                Ok(Ok(Outcome::Retrying)) => report.retrying += 1,
                Ok(Ok(Outcome::GivenUp)) => report.given_up += 1,
                Ok(Err(e)) => tracing::warn!(error = %e, "delivery outcome not recorded"),
                Err(e) => tracing::warn!(error = %e, "delivery task failed"),
            }
        }
        if n < BATCH as usize {
            return Ok(report);
        }
    }
}

enum Outcome {
    Sent,
    Retrying,
    GivenUp,
}

/// One attempt at one row, and its outcome recorded.
async fn attempt(state: &AppState, d: &Deliverer, row: Delivery) -> Result<Outcome, Error> {
    let result = match row.channel.as_str() {
        "email" => match &d.mail {
            Some(mailer) => {
                let text = email_text(state, &row);
                let message_id = mailer.message_id(row.id, row.created_at_ms);
                mailer
                    .send(&mail::Mail {
                        to: &row.address,
                        subject: &row.title,
                        text: &text,
                        message_id: &message_id,
                        date: state.now(),
                    })
                    .await
            }
            None => Err(SendError::Transient(texts::mail::UNCONFIGURED.into())),
        },
        "sms" => match (&state.config.notify.sms, &d.sms) {
            (Some(cfg), Some(gw)) => {
                let text = cfg.render(&row.title, &row.body);
                let id = format!("onestop-{}-{}", row.id, row.created_at_ms);
                gw.send(&Sms {
                    to: &row.address,
                    text: &text,
                    id: &id,
                })
                .await
            }
            _ => Err(SendError::Transient(texts::sms::UNCONFIGURED.into())),
        },
        other => Err(SendError::Permanent(texts::fill(
            texts::deliveries::UNKNOWN_CHANNEL,
            &[("channel", &other)],
        ))),
    };
    let now_ms = state.now_ms();
    let (worker, id) = (d.worker.clone(), row.id);
    let notify = &state.config.notify;
    let (outcome, retry_at, error) = match result {
        Ok(()) => (Outcome::Sent, None, String::new()),
        Err(SendError::Transient(e)) if row.attempts < i64::from(notify.max_attempts) => {
            let wait = notify.backoff_ms(u32::try_from(row.attempts).unwrap_or(u32::MAX));
            (Outcome::Retrying, Some(now_ms + wait), e)
        }
        Err(SendError::Transient(e)) | Err(SendError::Permanent(e)) => (Outcome::GivenUp, None, e),
    };
    match outcome {
        Outcome::Sent => {
            state
                .store
                .write(move |c| outbox::mark_sent(c, id, &worker, now_ms))
                .await?;
        }
        Outcome::Retrying | Outcome::GivenUp => {
            if matches!(outcome, Outcome::GivenUp) {
                tracing::warn!(delivery = id, channel = %row.channel, attempts = row.attempts, error = %error, "delivery given up");
            }
            state
                .store
                .write(move |c| outbox::mark_failed(c, id, &worker, &error, retry_at))
                .await?;
        }
    }
    Ok(outcome)
}

/// The email's text: the message, its link, and how to stop such mail.
fn email_text(state: &AppState, row: &Delivery) -> String {
    let mut text = format!("{}\n\n{}\n", row.title, row.body);
    if let (Some(base), Some(link)) = (&state.config.notify.public_url, &row.link) {
        let url = format!("{base}{link}");
        let details = texts::fill(texts::email::DETAILS, &[("url", &url)]);
        text.push_str(&format!("\n{details}\n"));
    }
    text.push_str(&format!("\n—\n{}\n", texts::email::FOOTER));
    text
}

/// Delivers with `d` every [`DELIVER_EVERY`] until the runtime stops.
pub fn start(state: AppState, d: Deliverer) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DELIVER_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match deliver_once(&state, &d).await {
                Ok(r) if r != Report::default() => {
                    tracing::info!(
                        sent = r.sent,
                        retrying = r.retrying,
                        given_up = r.given_up,
                        "deliveries"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivery round failed"),
            }
        }
    })
}
