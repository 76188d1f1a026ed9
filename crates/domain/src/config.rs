//! The city's configuration: districts, units, services, limits and working time.
//!
//! Everything a city may differ in lives here and is read from a TOML file
//! (`config/onestop.toml` ships the default city). [`CityConfig::validate`]
//! refuses an inconsistent file with every problem named at once.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The default city's configuration, compiled into the binary so that a fresh
/// checkout runs with no file at all.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/onestop.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityConfig {
    pub city: City,
    pub districts: Vec<District>,
    pub units: Vec<Unit>,
    pub services: Vec<Service>,
    pub limits: Limits,
    pub working_time: WorkingTimeConfig,
    #[serde(default)]
    pub security: SecurityConfig,
    /// Outward notifications: email, SMS, retries (`[notify]`).
    #[serde(default)]
    pub notify: NotifyConfig,
    /// The connection process: stages, actions, roles, limits (附1).
    pub process: crate::workflow::ProcessConfig,
}

/// Accounts, sessions, rate limits and audit retention (`[security]`; every
/// key has a default).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Failed logins in a row that lock an account.
    pub lockout_failures: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u32,
    /// A session ends after this long without a request.
    pub idle_timeout_minutes: u32,
    /// A session ends this long after login, however active.
    pub session_max_hours: u32,
    /// Audit records are kept at least this long (never below 180).
    pub audit_retention_days: u32,
    /// The key the audit chain is MAC'd with (a file of 64 hex digits,
    /// mode 0600; made at first start). Relative to the configuration file;
    /// default `<data dir>/audit.key`. Servers sharing a database must use
    /// the same key.
    pub audit_key_file: Option<String>,
    /// The append-only file of signed audit checkpoints. Relative to the
    /// configuration file; default `<data dir>/audit-checkpoints.log`.
    pub audit_checkpoint_file: Option<String>,
    /// `auto`: the session cookie is `Secure` when the request arrived over
    /// TLS (`X-Forwarded-Proto: https` from the proxy); `always`; `never`.
    pub cookie_secure: CookieSecure,
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy).
    pub trust_forwarded_for: bool,
    /// Per client address, per minute.
    pub login_per_minute: u32,
    /// Per client address, per hour.
    pub register_per_hour: u32,
    /// Public status lookups per client address, per minute.
    pub lookup_per_minute: u32,
}

/// How messages leave the platform (`[notify]`). In-app messages need no
/// settings; email and SMS are off until their table is present.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Attempts per message before it is given up and recorded as failed.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one.
    pub retry_base_seconds: u32,
    /// Longest wait between attempts.
    pub retry_max_seconds: u32,
    /// Address of the pages, for links in email (`https://…`, no trailing `/`).
    pub public_url: Option<String>,
    pub email: Option<EmailConfig>,
    pub sms: Option<SmsConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            max_attempts: 8,
            retry_base_seconds: 30,
            retry_max_seconds: 3_600,
            public_url: None,
            email: None,
            sms: None,
        }
    }
}

impl NotifyConfig {
    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let base = i64::from(self.retry_base_seconds.max(1)) * 1_000;
        let max = i64::from(self.retry_max_seconds.max(self.retry_base_seconds).max(1)) * 1_000;
        let doublings = attempts.saturating_sub(1).min(30);
        base.saturating_mul(1_i64 << doublings).min(max)
    }
}

/// Email through an SMTP relay (`[notify.email]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub smtp_host: String,
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// The sender address, e.g. `noreply@onestop.example.gov.cn`.
    pub from: String,
    /// The sender's display name.
    #[serde(default = "default_from_name")]
    pub from_name: String,
    /// The name this server gives in `EHLO` (default: the sender's domain).
    #[serde(default)]
    pub helo: Option<String>,
    /// Longest wait for the relay at each step.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

/// SMS through a gateway's HTTP API (`[notify.sms]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The adapter: `http_json` posts `{"to", "text", "id"}` to `endpoint`.
    #[serde(default = "default_gateway")]
    pub gateway: String,
    /// `http://host:port/path` of the gateway (or of the local relay to it).
    pub endpoint: String,
    /// Environment variable holding the gateway's bearer token, if it needs one.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The signature the carrier shows, e.g. 【一站式接入】.
    #[serde(default = "default_sms_sign")]
    pub sign: String,
    /// The text, with `{sign}`, `{title}` and `{body}` filled in.
    #[serde(default = "default_sms_template")]
    pub template: String,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

/// The SMS gateway adapters this build has.
pub const SMS_GATEWAYS: [&str; 1] = ["http_json"];

fn default_smtp_port() -> u16 {
    25
}
fn default_from_name() -> String {
    "水电气暖网联合报装".into()
}
fn default_timeout() -> u32 {
    20
}
fn default_gateway() -> String {
    "http_json".into()
}
fn default_sms_sign() -> String {
    "联合报装".into()
}
fn default_sms_template() -> String {
    "【{sign}】{title}。{body}".into()
}

impl NotifyConfig {
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_attempts == 0 || self.retry_base_seconds == 0 {
            problems.push("notify.max_attempts and retry_base_seconds must be at least 1".into());
        }
        if let Some(u) = &self.public_url
            && (!(u.starts_with("https://") || u.starts_with("http://")) || u.ends_with('/'))
        {
            problems.push(
                "notify.public_url must be http(s)://host[/path] without a trailing /".into(),
            );
        }
        if let Some(e) = &self.email {
            if e.smtp_host.trim().is_empty() {
                problems.push("notify.email.smtp_host is empty".into());
            }
            if !crate::contact::is_email(&e.from) {
                problems.push(format!(
                    "notify.email.from {:?} is not an email address",
                    e.from
                ));
            }
            if e.timeout_seconds == 0 {
                problems.push("notify.email.timeout_seconds must be at least 1".into());
            }
        }
        if let Some(s) = &self.sms {
            if !SMS_GATEWAYS.contains(&s.gateway.as_str()) {
                problems.push(format!(
                    "notify.sms.gateway {:?} is unknown; this build has {}",
                    s.gateway,
                    SMS_GATEWAYS.join(", ")
                ));
            }
            if !s.endpoint.starts_with("http://") {
                problems.push(
                    "notify.sms.endpoint must be an http:// address (a TLS gateway is reached through the local relay)"
                        .into(),
                );
            }
            if !s.template.contains("{title}") && !s.template.contains("{body}") {
                problems.push("notify.sms.template must contain {title} or {body}".into());
            }
            if s.timeout_seconds == 0 {
                problems.push("notify.sms.timeout_seconds must be at least 1".into());
            }
        }
        problems
    }
}

impl SmsConfig {
    /// The message text for one notification.
    pub fn render(&self, title: &str, body: &str) -> String {
        self.template
            .replace("{sign}", &self.sign)
            .replace("{title}", title)
            .replace("{body}", body)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieSecure {
    Auto,
    Always,
    Never,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            lockout_failures: 5,
            lockout_minutes: 15,
            idle_timeout_minutes: 30,
            session_max_hours: 12,
            audit_retention_days: 180,
            audit_key_file: None,
            audit_checkpoint_file: None,
            cookie_secure: CookieSecure::Auto,
            trust_forwarded_for: false,
            login_per_minute: 20,
            register_per_hour: 10,
            lookup_per_minute: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    pub code: String,
    pub name: String,
    pub bounds: Bounds,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min_lng: f64,
    pub max_lng: f64,
    pub min_lat: f64,
    pub max_lat: f64,
}

impl Bounds {
    pub fn contains(&self, lng: f64, lat: f64) -> bool {
        lng >= self.min_lng && lng <= self.max_lng && lat >= self.min_lat && lat <= self.max_lat
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct District {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Utility,
    Department,
    Supervisor,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// Departments only: approves at once when the works unit signs the commitment (告知承诺).
    #[serde(default)]
    pub accepts_commitment: bool,
    /// Supervisors only: the lead supervising unit.
    #[serde(default)]
    pub lead: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub code: String,
    pub name: String,
    /// The word for this service's connection (通水, 送电, …).
    pub connect_label: String,
    /// The unit that receives this service's work order (absent when routed per carrier).
    #[serde(default)]
    pub provider: Option<String>,
    /// Carriers: the applicant chooses some, and each gets its own work order.
    #[serde(default)]
    pub carriers: Vec<Carrier>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    pub code: String,
    pub name: String,
    pub unit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub acceptance_days: f64,
    pub survey_days: f64,
    /// Design after the joint survey (方案设计).
    #[serde(default = "default_design_days")]
    pub design_days: f64,
    pub construction_short_days: f64,
    pub approval_days: f64,
    pub connection_days: f64,
    pub warning_share: f64,
    pub external_works_threshold_m: f64,
}

fn default_design_days() -> f64 {
    1.0
}

impl Limits {
    /// A stage limit in working days, by its name in `[limits]`.
    pub fn days(&self, name: &str) -> Option<f64> {
        Some(match name {
            "acceptance_days" => self.acceptance_days,
            "survey_days" => self.survey_days,
            "design_days" => self.design_days,
            "construction_short_days" => self.construction_short_days,
            "approval_days" => self.approval_days,
            "connection_days" => self.connection_days,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingTimeConfig {
    /// Offset of local civil time from UTC, in minutes (Beijing: 480).
    pub utc_offset_minutes: i32,
    /// Working periods of a working day, `HH:MM-HH:MM`, in order, not overlapping.
    pub periods: Vec<String>,
    /// Administrator's calendar file for years the built-in data lacks.
    #[serde(default)]
    pub overrides_file: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is not valid TOML: {0}")]
    Parse(String),
    #[error("configuration is inconsistent:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// The five services whose form sections the platform knows (form 附表2).
pub const KNOWN_SERVICES: [&str; 5] = ["water", "power", "gas", "heat", "network"];

impl CityConfig {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: CityConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn default_city() -> Self {
        Self::from_toml(DEFAULT_CONFIG_TOML).expect("the built-in default configuration is valid")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        for d in &self.districts {
            if !seen.insert(d.code.as_str()) {
                problems.push(format!("district {} is listed twice", d.code));
            }
        }
        if self.districts.is_empty() {
            problems.push("at least one district is needed".into());
        }
        problems.extend(self.process.check(&self.limits));
        let sec = &self.security;
        if sec.lockout_failures == 0 || sec.lockout_minutes == 0 {
            problems
                .push("security.lockout_failures and lockout_minutes must be at least 1".into());
        }
        if sec.idle_timeout_minutes == 0 || sec.session_max_hours == 0 {
            problems.push(
                "security.idle_timeout_minutes and session_max_hours must be at least 1".into(),
            );
        }
        if sec.audit_retention_days < 180 {
            problems.push(format!(
                "security.audit_retention_days is {}; audit records must be kept at least 180 days",
                sec.audit_retention_days
            ));
        }
        if sec.login_per_minute == 0 || sec.register_per_hour == 0 || sec.lookup_per_minute == 0 {
            problems.push("security rate limits must be at least 1".into());
        }
        let mut unit_codes = HashSet::new();
        for u in &self.units {
            if !unit_codes.insert(u.code.as_str()) {
                problems.push(format!("unit {} is listed twice", u.code));
            }
        }
        let utility = |code: &str| {
            self.units
                .iter()
                .any(|u| u.code == code && u.kind == UnitKind::Utility)
        };
        let mut service_codes = HashSet::new();
        for s in &self.services {
            if !service_codes.insert(s.code.as_str()) {
                problems.push(format!("service {} is listed twice", s.code));
            }
            if !KNOWN_SERVICES.contains(&s.code.as_str()) {
                problems.push(format!(
                    "service {} has no form section; known services are {}",
                    s.code,
                    KNOWN_SERVICES.join(", ")
                ));
            }
            match (&s.provider, s.carriers.is_empty()) {
                (Some(p), true) if !utility(p) => problems.push(format!(
                    "service {}: provider {p} is not a configured utility unit",
                    s.code
                )),
                (Some(_), true) => {}
                (None, false) => {
                    let mut carrier_codes = HashSet::new();
                    for c in &s.carriers {
                        if !carrier_codes.insert(c.code.as_str()) {
                            problems.push(format!("service {}: carrier {} twice", s.code, c.code));
                        }
                        if !utility(&c.unit) {
                            problems.push(format!(
                                "service {}: carrier {} routes to {}, which is not a configured utility unit",
                                s.code, c.code, c.unit
                            ));
                        }
                    }
                }
                (Some(_), false) => problems.push(format!(
                    "service {} names both a provider and carriers; choose one",
                    s.code
                )),
                (None, true) => {
                    problems.push(format!("service {} needs a provider or carriers", s.code))
                }
            }
        }
        if self.services.is_empty() {
            problems.push("at least one service is needed".into());
        }
        let l = &self.limits;
        for (name, v) in [
            ("acceptance_days", l.acceptance_days),
            ("survey_days", l.survey_days),
            ("construction_short_days", l.construction_short_days),
            ("approval_days", l.approval_days),
            ("connection_days", l.connection_days),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 365.0) {
                problems.push(format!(
                    "limits.{name} must be a number of working days in (0, 365]"
                ));
            }
        }
        if !(l.warning_share > 0.0 && l.warning_share < 1.0) {
            problems.push("limits.warning_share must be between 0 and 1".into());
        }
        if !(l.external_works_threshold_m.is_finite() && l.external_works_threshold_m > 0.0) {
            problems.push("limits.external_works_threshold_m must be positive".into());
        }
        problems.extend(self.notify.check());
        let b = &self.city.bounds;
        if !(b.min_lng < b.max_lng && b.min_lat < b.max_lat) {
            problems.push("city.bounds: min must be below max".into());
        }
        if let Err(e) = crate::calendar::WorkingHours::parse(
            &self.working_time.periods,
            self.working_time.utc_offset_minutes,
        ) {
            problems.push(format!("working_time: {e}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    pub fn district(&self, code: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.code == code)
    }

    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }

    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// The carriers of the service that routes per carrier (network), if any.
    pub fn carriers(&self) -> impl Iterator<Item = &Carrier> {
        self.services.iter().flat_map(|s| s.carriers.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_city_loads() {
        let c = CityConfig::default_city();
        assert_eq!(c.city.code, "421300");
        assert_eq!(c.districts.len(), 3);
        assert_eq!(c.service("network").unwrap().carriers.len(), 2);
        assert!(!c.unit("sz-jj").unwrap().accepts_commitment);
        assert!(c.unit("sz-zrzy").unwrap().accepts_commitment);
    }

    #[test]
    fn inconsistencies_are_all_reported() {
        let text = DEFAULT_CONFIG_TOML
            .replace("provider = \"sz-gas\"", "provider = \"sz-nowhere\"")
            .replace("warning_share = 0.75", "warning_share = 1.5");
        let err = CityConfig::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("sz-nowhere"), "{err}");
        assert!(err.contains("warning_share"), "{err}");
    }
}
