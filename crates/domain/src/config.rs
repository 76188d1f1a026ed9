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
    /// External identity providers (`[identity]`).
    #[serde(default)]
    pub identity: IdentityConfig,
    /// The connection process: stages, actions, roles, limits (附1).
    pub process: crate::workflow::ProcessConfig,
    /// Shared service halls seeded into the registry (`[[halls]]`, each as
    /// the API's hall body; see [`crate::hall::parse_hall`]). Administrators
    /// edit the registry afterwards; a seed never overwrites an edit.
    #[serde(default)]
    pub halls: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The 15-minute service circle's estimate (`[service_circle]`).
    #[serde(default)]
    pub service_circle: crate::hall::CircleConfig,
    /// The one window: follow-up limits of consultations and bad ratings (`[counter]`).
    #[serde(default)]
    pub counter: CounterConfig,
    /// Utilities' billing systems for window payments (`[[billing]]`).
    #[serde(default)]
    pub billing: Vec<crate::billing::BillingConfig>,
    /// Uploaded materials: limits and the virus-scan hook (`[materials]`).
    #[serde(default)]
    pub materials: MaterialsConfig,
    /// The official PDFs (`[documents]`).
    #[serde(default)]
    pub documents: DocumentsConfig,
    /// Where materials' contents are kept (`[blobs]`).
    #[serde(default)]
    pub blobs: BlobsConfig,
}

/// Uploaded materials (`[materials]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialsConfig {
    /// Most megabytes (MiB) in one file.
    #[serde(default = "default_file_mb")]
    pub max_file_mb: u64,
    /// Most megabytes (MiB) in all the files of one application.
    #[serde(default = "default_application_mb")]
    pub max_application_mb: u64,
    /// Most files per application.
    #[serde(default = "default_application_files")]
    pub max_application_files: u64,
    /// A virus scanner run on every upload before it is kept: the program
    /// and its arguments; the file's path is added last. Exit 0 = clean,
    /// 1 = infected (refused), anything else = the upload fails and may be
    /// retried. Empty: no scan. E.g. `["clamdscan", "--no-summary"]`.
    #[serde(default)]
    pub scan_command: Vec<String>,
}

fn default_file_mb() -> u64 {
    20
}
fn default_application_mb() -> u64 {
    200
}
fn default_application_files() -> u64 {
    50
}

impl Default for MaterialsConfig {
    fn default() -> Self {
        Self {
            max_file_mb: default_file_mb(),
            max_application_mb: default_application_mb(),
            max_application_files: default_application_files(),
            scan_command: Vec::new(),
        }
    }
}

impl MaterialsConfig {
    pub fn limits(&self) -> crate::materials::Limits {
        crate::materials::Limits {
            file_bytes: self.max_file_mb.saturating_mul(1 << 20),
            application_bytes: self.max_application_mb.saturating_mul(1 << 20),
            application_files: self.max_application_files,
        }
    }
}

/// The official PDFs (`[documents]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentsConfig {
    /// Font files (OpenType/TrueType, collections too) for characters the
    /// embedded fonts (GB 2312) lack, e.g.
    /// `/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc`.
    #[serde(default)]
    pub extra_fonts: Vec<String>,
}

/// Where materials' contents are kept (`[blobs]`): the data folder
/// (`<data dir>/blobs`, the default) or an S3-compatible object store. The
/// object store's keys come from the environment
/// (`ONESTOP_S3_ACCESS_KEY_ID`, `ONESTOP_S3_SECRET_ACCESS_KEY`, and
/// `ONESTOP_S3_SESSION_TOKEN` for a temporary credential), never from this
/// file. Uploads are spooled in `<data dir>/blobs/spool` either way.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobsConfig {
    #[serde(default)]
    pub backend: BlobBackend,
    /// `https://host[:port]` of the object store.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The bucket's region (`us-east-1` when not given; most S3-compatible
    /// stores accept any).
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    /// A folder inside the bucket (`onestop/materials`); objects are
    /// `<prefix>/ab/cd/<sha256>`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Allows an `http://` endpoint (a local store on this machine or its
    /// private network); `https://` otherwise.
    #[serde(default)]
    pub allow_http: bool,
    /// The bucket is named in the host (`https://bucket.host`) rather than
    /// the path, as some providers require; the endpoint then includes it.
    #[serde(default)]
    pub virtual_hosted_style: bool,
    /// A PEM file of certificates to trust besides the public roots.
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// The kinds of content stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobBackend {
    /// Files under `<data dir>/blobs`.
    #[default]
    Filesystem,
    /// An S3-compatible object store.
    S3,
}

impl BlobsConfig {
    /// The region to sign requests for.
    pub fn region(&self) -> &str {
        self.region
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
    }

    /// Problems with the section, each a sentence naming its setting.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.backend == BlobBackend::Filesystem {
            let set = [
                ("endpoint", self.endpoint.is_some()),
                ("region", self.region.is_some()),
                ("bucket", self.bucket.is_some()),
                ("prefix", self.prefix.is_some()),
                ("ca_file", self.ca_file.is_some()),
                ("allow_http", self.allow_http),
                ("virtual_hosted_style", self.virtual_hosted_style),
            ];
            for (name, _) in set.iter().filter(|(_, set)| *set) {
                problems.push(format!(
                    "blobs.{name} is set but blobs.backend is \"filesystem\"; set backend = \"s3\" or remove it"
                ));
            }
            return problems;
        }
        match self.endpoint.as_deref().map(str::trim) {
            None | Some("") => problems.push(
                "blobs.endpoint is required with backend = \"s3\" (https://host[:port])".into(),
            ),
            Some(e) => {
                let rest = e
                    .strip_prefix("https://")
                    .or_else(|| e.strip_prefix("http://").filter(|_| self.allow_http));
                match rest {
                    None if e.starts_with("http://") => problems.push(format!(
                        "blobs.endpoint {e} is plain http; use https:// or set blobs.allow_http = true for a local store"
                    )),
                    None => problems.push(format!(
                        "blobs.endpoint {e} must start with https:// (or http:// with allow_http)"
                    )),
                    Some(rest) => {
                        let host = rest.trim_end_matches('/');
                        if host.is_empty() || host.contains(['/', '?', '#', ' ', '@']) {
                            problems.push(format!(
                                "blobs.endpoint {e} must be a scheme and a host[:port], no path"
                            ));
                        }
                    }
                }
            }
        }
        match self.bucket.as_deref() {
            None | Some("") => {
                problems.push("blobs.bucket is required with backend = \"s3\"".into())
            }
            Some(b) => {
                let ok = (3..=63).contains(&b.len())
                    && b.bytes().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'
                    })
                    && b.as_bytes()[0].is_ascii_alphanumeric()
                    && b.as_bytes()[b.len() - 1].is_ascii_alphanumeric();
                if !ok {
                    problems.push(format!(
                        "blobs.bucket {b:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' or '.')"
                    ));
                }
            }
        }
        if let Some(r) = &self.region
            && (r.is_empty() || !r.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        {
            problems.push(format!("blobs.region {r:?} is not a region name"));
        }
        if let Some(p) = &self.prefix {
            let p = p.trim_matches('/');
            let ok = p.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            });
            if !p.is_empty() && !ok {
                problems.push(format!(
                    "blobs.prefix {p:?} must be folder names of letters, digits, '-', '_' or '.' separated by '/'"
                ));
            }
        }
        if self.ca_file.as_deref() == Some("") {
            problems.push("blobs.ca_file is empty; remove it or name a PEM file".into());
        }
        problems
    }
}

/// The one window (一窗受理, `[counter]`): how long the unit concerned has
/// to answer a consultation's follow-up and a bad rating (好差评), in
/// working days on the official calendar (warning at `limits.warning_share`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterConfig {
    /// A consultation the window could not answer on the spot (咨询回复).
    #[serde(default = "default_consultation_follow_up_days")]
    pub consultation_follow_up_days: f64,
    /// A rating of 不满意 or 非常不满意 (差评整改).
    #[serde(default = "default_rating_follow_up_days")]
    pub rating_follow_up_days: f64,
}

fn default_consultation_follow_up_days() -> f64 {
    1.0
}

fn default_rating_follow_up_days() -> f64 {
    2.0
}

impl Default for CounterConfig {
    fn default() -> Self {
        CounterConfig {
            consultation_follow_up_days: default_consultation_follow_up_days(),
            rating_follow_up_days: default_rating_follow_up_days(),
        }
    }
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
    /// Failed public status lookups per application number, per hour; beyond
    /// it the number answers no lookup by phone digits until the hour is over
    /// (its query code still works).
    pub lookup_failures_per_hour: u32,
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
    /// Default: 587 with `starttls`, 465 with `implicit`, 25 with `none`.
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// How the connection is encrypted (default `starttls`, required: a
    /// relay that does not offer it gets nothing).
    #[serde(default)]
    pub tls: SmtpTls,
    /// The account to log in with (`AUTH`, only ever over TLS).
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding that account's password (never the
    /// password itself in this file).
    #[serde(default)]
    pub password_env: Option<String>,
    /// A PEM file of certificates to trust besides the public roots: the
    /// city's own CA, or the relay's self-signed certificate.
    #[serde(default)]
    pub ca_file: Option<String>,
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

/// Encryption of the connection to the mail relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with `STARTTLS`, which the relay must offer.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Implicit,
    /// No encryption: only to a relay on this machine (a loopback address).
    None,
}

impl EmailConfig {
    /// The relay's port: as configured, or the usual one for `tls`.
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        })
    }
}

/// SMS through a gateway's HTTP API (`[notify.sms]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The adapter: `http_json` posts `{"to", "text", "id"}` to `endpoint`.
    #[serde(default = "default_gateway")]
    pub gateway: String,
    /// `https://host[:port]/path` of the gateway.
    pub endpoint: String,
    /// Allows an `http://` endpoint on this machine (a loopback address),
    /// e.g. a local relay that forwards to the gateway over TLS.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// A PEM file of certificates to trust besides the public roots.
    #[serde(default)]
    pub ca_file: Option<String>,
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
            problems.extend(e.check());
        }
        if let Some(s) = &self.sms {
            if !SMS_GATEWAYS.contains(&s.gateway.as_str()) {
                problems.push(format!(
                    "notify.sms.gateway {:?} is unknown; this build has {}",
                    s.gateway,
                    SMS_GATEWAYS.join(", ")
                ));
            }
            match url_host(&s.endpoint) {
                Some(("https", _)) => {}
                Some(("http", host)) if is_loopback_host(host) => {
                    if !s.allow_plain_http {
                        problems.push(format!(
                            "notify.sms.endpoint {:?} is plain http://: set notify.sms.allow_plain_http = true to allow it to a relay on this machine, or use https://",
                            s.endpoint
                        ));
                    }
                }
                Some(("http", _)) => problems.push(format!(
                    "notify.sms.endpoint {:?} is plain http:// to another machine: phone numbers and texts would cross the network unencrypted; use https:// (plain http:// is allowed only to a loopback address, with allow_plain_http = true)",
                    s.endpoint
                )),
                _ => problems.push(format!(
                    "notify.sms.endpoint {:?} must be an https://host[:port]/path address",
                    s.endpoint
                )),
            }
            if s.token_env.as_deref().is_some_and(|v| v.trim().is_empty()) {
                problems.push(
                    "notify.sms.token_env is empty (leave it out if the gateway needs no token)"
                        .into(),
                );
            }
            if s.ca_file.as_deref().is_some_and(|v| v.trim().is_empty()) {
                problems.push("notify.sms.ca_file is empty".into());
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

impl EmailConfig {
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let host = self.smtp_host.trim();
        if host.is_empty() {
            problems.push("notify.email.smtp_host is empty".into());
        }
        if self.tls == SmtpTls::None && !host.is_empty() && !is_loopback_host(host) {
            problems.push(format!(
                "notify.email.tls = \"none\" would send mail, addresses and passwords unencrypted to {host}; \
                 it is allowed only for a relay on this machine (localhost, 127.0.0.1, ::1): use tls = \"starttls\" or \"implicit\""
            ));
        }
        match (&self.username, &self.password_env) {
            (Some(u), _) if u.trim().is_empty() => {
                problems.push("notify.email.username is empty".into());
            }
            (Some(_), None) => problems.push(
                "notify.email.username needs password_env: the environment variable holding the password".into(),
            ),
            (None, Some(_)) => {
                problems.push("notify.email.password_env is set but username is not".into());
            }
            _ => {}
        }
        if self
            .password_env
            .as_deref()
            .is_some_and(|v| v.trim().is_empty())
        {
            problems.push("notify.email.password_env is empty".into());
        }
        if self.username.is_some() && self.tls == SmtpTls::None {
            problems.push(
                "notify.email.username: the relay is logged in to only over TLS (tls = \"starttls\" or \"implicit\"), never with tls = \"none\"".into(),
            );
        }
        if self.ca_file.as_deref().is_some_and(|v| v.trim().is_empty()) {
            problems.push("notify.email.ca_file is empty".into());
        }
        if self.smtp_port == Some(0) {
            problems.push("notify.email.smtp_port must not be 0".into());
        }
        if !crate::contact::is_email(&self.from) {
            problems.push(format!(
                "notify.email.from {:?} is not an email address",
                self.from
            ));
        }
        if self.timeout_seconds == 0 {
            problems.push("notify.email.timeout_seconds must be at least 1".into());
        }
        problems
    }
}

/// Whether `host` (a name or an address, IPv6 with or without brackets)
/// is this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The scheme and host of an `http(s)://` URL, for other modules' checks.
pub(crate) fn url_scheme_host(url: &str) -> Option<(&str, &str)> {
    url_host(url)
}

/// The scheme and host of an `http(s)://` URL (`None` for anything else).
fn url_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme {
        "https" => "https",
        "http" => "http",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        &v6[..v6.find(']')?]
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    (!host.is_empty()).then_some((scheme, host))
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

/// External identity providers (`[identity]`); each is off until its table
/// is present.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The provincial portal's legal-person login (法人登录) over OpenID
    /// Connect, which verifies an enterprise claim.
    pub oidc: Option<OidcConfig>,
}

/// An OpenID Connect provider (`[identity.oidc]`): authorization-code flow
/// with PKCE; the enterprise's USCC comes from a claim of the ID token or
/// of the userinfo answer. The client secret itself is never in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The label of the login button, e.g. 湖北政务服务网法人登录.
    pub name: String,
    /// The provider's issuer (`https://…`; `http://` only on a loopback
    /// host); its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Environment variable holding the client secret (none for a public
    /// client).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Our callback, as registered with the provider (absolute URL).
    pub redirect_url: String,
    /// Scopes asked for; must include `openid`.
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// The claim holding the enterprise's unified social credit code.
    #[serde(default = "default_uscc_claim")]
    pub uscc_claim: String,
    /// The claim holding the enterprise's (or legal person's) name, if any.
    #[serde(default)]
    pub name_claim: Option<String>,
    /// A PEM file of certificates to trust besides the public roots (a
    /// private CA); relative to the configuration file's folder.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Longest wait for the provider, per request.
    #[serde(default = "default_oidc_timeout")]
    pub timeout_seconds: u32,
}

fn default_oidc_scopes() -> Vec<String> {
    vec!["openid".into()]
}
fn default_uscc_claim() -> String {
    "uscc".into()
}
fn default_oidc_timeout() -> u32 {
    10
}

impl IdentityConfig {
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(o) = &self.oidc else {
            return problems;
        };
        let p = "identity.oidc";
        let name = o.name.trim();
        if name.is_empty()
            || name.chars().count() > 40
            || name.chars().any(|c| {
                c.is_control() || crate::text::is_forbidden(c) || crate::text::is_invisible(c)
            })
        {
            problems.push(format!("{p}.name must be a label of 1 to 40 characters"));
        }
        for (key, value) in [("issuer", &o.issuer), ("redirect_url", &o.redirect_url)] {
            match web_url(value) {
                None => problems.push(format!(
                    "{p}.{key} {value:?} is not an absolute http(s) URL without a fragment"
                )),
                Some(u) if !u.https && !u.loopback => problems.push(format!(
                    "{p}.{key} {value:?} must use https:// (http:// only on a loopback host)"
                )),
                Some(u) if key == "issuer" && u.query => {
                    problems.push(format!("{p}.issuer {value:?} must not have a query"))
                }
                Some(_) => {}
            }
        }
        if !is_token(&o.client_id) {
            problems.push(format!(
                "{p}.client_id must be non-empty, without spaces or control characters"
            ));
        }
        if let Some(v) = &o.client_secret_env
            && !is_env_name(v)
        {
            problems.push(format!(
                "{p}.client_secret_env {v:?} is not an environment variable name"
            ));
        }
        if !o.scopes.iter().any(|s| s == "openid") {
            problems.push(format!("{p}.scopes must include \"openid\""));
        }
        for s in &o.scopes {
            if !is_token(s) {
                problems.push(format!("{p}.scopes: {s:?} is not a scope name"));
            }
        }
        if !is_token(&o.uscc_claim) {
            problems.push(format!("{p}.uscc_claim must be a claim name"));
        }
        if let Some(c) = &o.name_claim
            && !is_token(c)
        {
            problems.push(format!("{p}.name_claim must be a claim name"));
        }
        if o.ca_file.as_ref().is_some_and(|f| f.trim().is_empty()) {
            problems.push(format!("{p}.ca_file is empty"));
        }
        if !(1..=120).contains(&o.timeout_seconds) {
            problems.push(format!("{p}.timeout_seconds must be between 1 and 120"));
        }
        problems
    }
}

/// What [`web_url`] found in a URL.
struct WebUrl {
    https: bool,
    loopback: bool,
    query: bool,
}

/// An absolute `http(s)://host[:port][/path][?query]` URL without user info
/// or fragment.
fn web_url(u: &str) -> Option<WebUrl> {
    let (https, rest) = if let Some(r) = u.strip_prefix("https://") {
        (true, r)
    } else {
        (false, u.strip_prefix("http://")?)
    };
    if u.contains('#') || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return None;
    }
    let host = if let Some(r) = authority.strip_prefix('[') {
        let (h, port) = r.split_once(']')?;
        if !(port.is_empty() || port.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        h.parse::<std::net::Ipv6Addr>().ok()?;
        h
    } else {
        match authority.split_once(':') {
            Some((h, port)) if is_port(port) => h,
            Some(_) => return None,
            None => authority,
        }
    };
    if host.is_empty() {
        return None;
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Some(WebUrl {
        https,
        loopback,
        query: rest[end..].contains('?'),
    })
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Printable ASCII without spaces (client ids, scopes, claim names).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

fn is_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
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
            lookup_failures_per_hour: 10,
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
    /// The district's rough extent, sampled by the service-circle coverage
    /// (the city's bounds when absent).
    #[serde(default)]
    pub extent: Option<Bounds>,
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
    /// Departments only: its approvers register projects at land transfer
    /// (一口登记; the planning department).
    #[serde(default)]
    pub registers_projects: bool,
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
        let mut hall_codes = HashSet::new();
        for (i, h) in self.halls.iter().enumerate() {
            match crate::hall::parse_hall(h, self) {
                Ok(hall) => {
                    if !hall_codes.insert(hall.code.clone()) {
                        problems.push(format!("hall {} is listed twice", hall.code));
                    }
                }
                Err(errors) => {
                    for e in errors {
                        problems.push(format!("halls[{i}].{}: {}", e.field, e.message));
                    }
                }
            }
        }
        if self.halls.len() > crate::hall::MAX_HALLS {
            problems.push(format!("at most {} halls", crate::hall::MAX_HALLS));
        }
        problems.extend(self.service_circle.check());
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
        if sec.login_per_minute == 0
            || sec.register_per_hour == 0
            || sec.lookup_per_minute == 0
            || sec.lookup_failures_per_hour == 0
        {
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
        for (name, v) in [
            (
                "consultation_follow_up_days",
                self.counter.consultation_follow_up_days,
            ),
            ("rating_follow_up_days", self.counter.rating_follow_up_days),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 365.0) {
                problems.push(format!(
                    "counter.{name} must be a number of working days in (0, 365]"
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
        problems.extend(self.identity.check());
        problems.extend(self.blobs.check());
        let utilities: Vec<&str> = self
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Utility)
            .map(|u| u.code.as_str())
            .collect();
        problems.extend(crate::billing::check(&self.billing, &utilities));
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

    /// The halls of `[[halls]]`, validated (the file was checked on load).
    pub fn seed_halls(&self) -> Vec<crate::hall::Hall> {
        self.halls
            .iter()
            .filter_map(|h| crate::hall::parse_hall(h, self).ok())
            .collect()
    }

    /// A district's extent for coverage sampling (the city's bounds when
    /// the district names none).
    pub fn district_extent(&self, code: &str) -> Bounds {
        self.district(code)
            .and_then(|d| d.extent)
            .unwrap_or(self.city.bounds)
    }

    pub fn district(&self, code: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.code == code)
    }

    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }

    /// The billing system of a utility unit, if it has one configured.
    pub fn billing_of(&self, unit: &str) -> Option<&crate::billing::BillingConfig> {
        self.billing.iter().find(|b| b.unit == unit)
    }

    /// Whether `unit` takes orders of `service` (as its provider or one of
    /// its carriers).
    pub fn serves(&self, service: &str, unit: &str) -> bool {
        self.service(service).is_some_and(|s| {
            s.provider.as_deref() == Some(unit) || s.carriers.iter().any(|c| c.unit == unit)
        })
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

    fn with_blobs(section: &str) -> Vec<String> {
        let text = DEFAULT_CONFIG_TOML.replace("[blobs]\nbackend = \"filesystem\"\n", section);
        assert_ne!(text, DEFAULT_CONFIG_TOML);
        match CityConfig::from_toml(&text) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(p)) => p,
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn materials_default_to_the_data_folder_and_an_object_store_is_checked() {
        let c = CityConfig::default_city();
        assert_eq!(c.blobs.backend, BlobBackend::Filesystem);
        assert!(with_blobs("").is_empty(), "the section may be left out");
        let ok = "[blobs]\nbackend = \"s3\"\nendpoint = \"https://oss.example.gov.cn\"\nbucket = \"onestop-materials\"\nprefix = \"city/materials/\"\n";
        assert_eq!(with_blobs(ok), Vec::<String>::new());
        let local = "[blobs]\nbackend = \"s3\"\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\nbucket = \"m1\"\n";
        assert!(with_blobs(local).iter().any(|p| p.contains("blobs.bucket")));
        let local = local.replace("\"m1\"", "\"materials\"");
        assert_eq!(with_blobs(&local), Vec::<String>::new());

        let p = with_blobs("[blobs]\nbackend = \"s3\"\n");
        assert!(
            p.iter().any(|p| p.contains("blobs.endpoint is required")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.contains("blobs.bucket is required")),
            "{p:?}"
        );
        let p = with_blobs(&local.replace("allow_http = true\n", ""));
        assert!(p.iter().any(|p| p.contains("plain http")), "{p:?}");
        let p = with_blobs(&ok.replace("oss.example.gov.cn", "oss.example.gov.cn/materials"));
        assert!(p.iter().any(|p| p.contains("no path")), "{p:?}");
        let p = with_blobs(&ok.replace("city/materials/", "../up"));
        assert!(p.iter().any(|p| p.contains("blobs.prefix")), "{p:?}");
        let p = with_blobs("[blobs]\nbucket = \"onestop-materials\"\n");
        assert!(
            p.iter().any(|p| p.contains("backend is \"filesystem\"")),
            "{p:?}"
        );
        let p = with_blobs("[blobs]\nbackend = \"ftp\"\n");
        assert!(p.iter().any(|p| p.contains("ftp")), "{p:?}");
        let p = with_blobs(&format!("{ok}access_key_id = \"AKIA\"\n"));
        assert!(
            p.iter().any(|p| p.contains("access_key_id")),
            "keys are not read from the file: {p:?}"
        );
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

    fn with_notify(extra: &str) -> Result<CityConfig, ConfigError> {
        CityConfig::from_toml(&format!("{DEFAULT_CONFIG_TOML}\n{extra}"))
    }

    fn problems(extra: &str) -> Vec<String> {
        match with_notify(extra) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(p)) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn email_defaults_to_required_starttls_on_the_submission_port() {
        let c = with_notify(
            "[notify.email]\nsmtp_host = \"mail.example.gov.cn\"\nfrom = \"noreply@example.gov.cn\"\n",
        )
        .unwrap();
        let e = c.notify.email.unwrap();
        assert_eq!((e.tls, e.port()), (SmtpTls::Starttls, 587));
        let c = with_notify(
            "[notify.email]\nsmtp_host = \"mail.example.gov.cn\"\ntls = \"implicit\"\nfrom = \"noreply@example.gov.cn\"\n",
        )
        .unwrap();
        assert_eq!(c.notify.email.unwrap().port(), 465);
    }

    #[test]
    fn plain_smtp_only_to_this_machine_and_never_with_a_password() {
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.53"] {
            let p = problems(&format!(
                "[notify.email]\nsmtp_host = \"{host}\"\ntls = \"none\"\nfrom = \"noreply@example.gov.cn\"\n"
            ));
            assert!(p.is_empty(), "{host}: {p:?}");
        }
        for host in [
            "10.0.0.25",
            "mail.example.gov.cn",
            "128.0.0.1",
            "localhost.example.cn",
        ] {
            let p = problems(&format!(
                "[notify.email]\nsmtp_host = \"{host}\"\ntls = \"none\"\nfrom = \"noreply@example.gov.cn\"\n"
            ));
            assert_eq!(p.len(), 1, "{host}: {p:?}");
            assert!(
                p[0].contains("tls = \"none\"") && p[0].contains(host),
                "{p:?}"
            );
        }
        let p = problems(
            "[notify.email]\nsmtp_host = \"127.0.0.1\"\ntls = \"none\"\nusername = \"onestop\"\n\
             password_env = \"SMTP_PASSWORD\"\nfrom = \"noreply@example.gov.cn\"\n",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("only over TLS"), "{p:?}");
        assert!(matches!(
            with_notify(
                "[notify.email]\nsmtp_host = \"127.0.0.1\"\ntls = \"plain\"\nfrom = \"a@b.cn\"\n"
            ),
            Err(ConfigError::Parse(_))
        ));
    }

    #[test]
    fn every_transport_problem_is_named_at_once() {
        let p = problems(
            "[notify.email]\nsmtp_host = \"mail.example.gov.cn\"\ntls = \"none\"\nusername = \"onestop\"\n\
             from = \"noreply@example.gov.cn\"\nca_file = \"\"\n\
             [notify.sms]\nendpoint = \"http://sms.example.cn/send\"\ntoken_env = \"\"\n",
        );
        let text = p.join("\n");
        for want in [
            "tls = \"none\" would send",
            "needs password_env",
            "only over TLS",
            "ca_file is empty",
            "plain http:// to another machine",
            "token_env is empty",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        assert_eq!(p.len(), 6, "{text}");
    }

    #[test]
    fn sms_needs_https_except_to_this_machine_when_allowed() {
        let sms = |endpoint: &str, allow: bool| {
            problems(&format!(
                "[notify.sms]\nendpoint = \"{endpoint}\"\nallow_plain_http = {allow}\n"
            ))
        };
        assert!(sms("https://sms.example.cn/send", false).is_empty());
        assert!(sms("https://[2001:db8::1]:8443/send", false).is_empty());
        assert!(sms("http://127.0.0.1:9090/sms", true).is_empty());
        assert!(sms("http://[::1]:9090/sms", true).is_empty());
        assert!(sms("http://localhost/sms", true).is_empty());
        let p = sms("http://127.0.0.1:9090/sms", false);
        assert!(
            p.len() == 1 && p[0].contains("allow_plain_http = true"),
            "{p:?}"
        );
        for far in [
            "http://sms.example.cn/send",
            "http://10.1.2.3:9090/sms",
            "http://127.0.0.1.example.cn/sms",
            "http://user@sms.example.cn/sms",
        ] {
            let p = sms(far, true);
            assert!(
                p.len() == 1 && p[0].contains("another machine"),
                "{far}: {p:?}"
            );
        }
        for bad in [
            "ftp://sms.example.cn/",
            "sms.example.cn/send",
            "https:///send",
        ] {
            let p = sms(bad, false);
            assert!(
                p.len() == 1 && p[0].contains("must be an https://"),
                "{bad}: {p:?}"
            );
        }
    }

    const OIDC: &str = r#"
[identity.oidc]
name = "湖北政务服务网法人登录"
issuer = "https://auth.example.gov.cn/oidc"
client_id = "onestop-suizhou"
client_secret_env = "ONESTOP_OIDC_SECRET"
redirect_url = "https://onestop.example.gov.cn/identity/oidc/callback"
"#;

    #[test]
    fn oidc_is_off_by_default_and_defaults_fill_in() {
        assert!(CityConfig::default_city().identity.oidc.is_none());
        let c = CityConfig::from_toml(&format!("{DEFAULT_CONFIG_TOML}{OIDC}")).unwrap();
        let o = c.identity.oidc.unwrap();
        assert_eq!(o.scopes, ["openid"]);
        assert_eq!(o.uscc_claim, "uscc");
        assert_eq!(o.name_claim, None);
        assert_eq!(o.timeout_seconds, 10);
    }

    #[test]
    fn oidc_problems_are_all_named() {
        let oidc = OIDC
            .replace(
                "https://auth.example.gov.cn/oidc",
                "http://auth.example.gov.cn",
            )
            .replace(
                "https://onestop.example.gov.cn/identity/oidc/callback",
                "/identity/oidc/callback",
            )
            .replace("\"ONESTOP_OIDC_SECRET\"", "\"ONESTOP OIDC\"")
            .replace(
                "name = \"湖北政务服务网法人登录\"",
                "name = \" \"\nscopes = [\"profile\"]\ntimeout_seconds = 0",
            );
        let text = format!("{DEFAULT_CONFIG_TOML}{oidc}");
        let err = CityConfig::from_toml(&text).unwrap_err().to_string();
        for needle in [
            "identity.oidc.name",
            "identity.oidc.issuer \"http://auth.example.gov.cn\" must use https://",
            "identity.oidc.redirect_url \"/identity/oidc/callback\" is not an absolute",
            "identity.oidc.client_secret_env",
            "identity.oidc.scopes must include \"openid\"",
            "identity.oidc.timeout_seconds",
        ] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for (url, https, loopback) in [
            ("https://auth.example.gov.cn", true, false),
            ("http://127.0.0.1:8443/oidc", false, true),
            ("http://localhost", false, true),
            ("http://[::1]:80/", false, true),
            ("http://10.0.0.1", false, false),
            ("http://127.0.0.1.example.com", false, false),
        ] {
            let u = web_url(url).unwrap_or_else(|| panic!("{url}"));
            assert_eq!((u.https, u.loopback), (https, loopback), "{url}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "https://user@host",
            "https://host#f",
            "https://host:port",
            "https://[::1",
            "https://ho st",
        ] {
            assert!(web_url(bad).is_none(), "{bad}");
        }
        let text = format!(
            "{DEFAULT_CONFIG_TOML}{}",
            OIDC.replace("https://auth.example.gov.cn/oidc", "http://127.0.0.1:9000")
        );
        assert!(CityConfig::from_toml(&text).is_ok());
    }
}
