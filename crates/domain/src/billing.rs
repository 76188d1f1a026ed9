//! Window payments (缴费) of utilities' bills and their daily reconciliation
//! (对账): the connector's configuration per utility (`[[billing]]`), the
//! limits of every input, the codes of payments and of reconciliation
//! differences, and the matching of the platform's payments against a
//! utility's list. Pure rules; the HTTP adapter is in the server
//! (`connectors::billing`), the contract in `docs/billing-connector.md`.

use crate::application::code_enum;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The largest single payment taken at a window: ¥10,000,000.00.
pub const MAX_PAYMENT_FEN: i64 = 1_000_000_000;
/// The most bills paid with one payment.
pub const MAX_BILLS_PER_PAYMENT: usize = 24;
/// The most accounts one utility may answer to one lookup (more are cut).
pub const MAX_ACCOUNTS_PER_LOOKUP: usize = 20;
/// The most open bills read of one account (more are cut).
pub const MAX_OPEN_BILLS: usize = 100;
/// The longest account number (户号).
pub const MAX_ACCOUNT_NO: usize = 32;
/// The longest bill id.
pub const MAX_BILL_ID: usize = 64;
/// The longest idempotency key taken from a client (the API's rule).
pub const MAX_IDEMPOTENCY_KEY: usize = 200;
/// The most payments read from one utility's reconciliation list of a day.
pub const MAX_RECONCILIATION_ITEMS: usize = 50_000;
/// Largest answer read from a utility's billing system.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// The longest text kept from a utility's answer (names, messages).
pub const MAX_TEXT_CHARS: usize = 200;

code_enum! {
    /// How the customer paid at the window.
    PaymentMethod {
        Cash => "cash", "现金";
        Card => "card", "银行卡";
        Mobile => "mobile", "扫码支付";
    }
}

code_enum! {
    /// Where a window payment stands.
    PaymentStatus {
        Pending => "pending", "缴费处理中";
        Paid => "paid", "已缴费";
        Failed => "failed", "缴费未成功";
    }
}

code_enum! {
    /// A difference between the platform's payments of a day and the
    /// utility's list of them.
    DifferenceKind {
        MissingAtUtility => "missing_at_utility", "公用事业单位无此笔缴费";
        AmountMismatch => "amount_mismatch", "金额不一致";
        UnknownHere => "unknown_here", "平台无此笔缴费";
        StatusMismatch => "status_mismatch", "平台未记为已缴费";
    }
}

code_enum! {
    /// The outcome of a reconciliation run.
    RunStatus {
        Balanced => "balanced", "账目一致";
        Differences => "differences", "存在差异";
    }
}

/// One utility's billing system (`[[billing]]`): where its adapter is and
/// how long to wait. The bearer token is read from the environment
/// variable `token_env`, never from the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    /// The utility unit (`units.code`) whose bills these are.
    pub unit: String,
    /// The adapter: `http_json` speaks `docs/billing-connector.md`.
    #[serde(default = "default_adapter")]
    pub adapter: String,
    /// `https://host[:port]/path` of the utility's adapter (no trailing `/`).
    pub base_url: String,
    /// Allows an `http://` base URL on this machine (a loopback address):
    /// the reference simulator, or a local relay that speaks TLS onwards.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// A PEM file of certificates to trust besides the public roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Longest wait for one answer (connecting included).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    /// Wait after a payment's first failed attempt, doubled each time.
    #[serde(default = "default_retry_base")]
    pub retry_base_seconds: u32,
    /// Longest wait between a payment's attempts.
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: u32,
    /// The endpoint is the reference simulator (`onestop billing-sim`), not
    /// the utility's real system: the pages say so.
    #[serde(default)]
    pub sandbox: bool,
}

/// The billing adapters this build has.
pub const BILLING_ADAPTERS: [&str; 1] = ["http_json"];

fn default_adapter() -> String {
    "http_json".into()
}
fn default_timeout() -> u32 {
    10
}
fn default_retry_base() -> u32 {
    5
}
fn default_retry_max() -> u32 {
    300
}

impl BillingConfig {
    /// The base URL without a trailing `/`.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// Milliseconds to wait before the attempt after `attempts` failed ones
    /// (1 → the base), doubling up to the maximum.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let base = i64::from(self.retry_base_seconds.max(1)) * 1000;
        let max = i64::from(self.retry_max_seconds.max(self.retry_base_seconds).max(1)) * 1000;
        let shift = attempts.saturating_sub(1).min(20);
        base.saturating_mul(1_i64 << shift).min(max)
    }

    /// How long a claimed payment attempt is held by its worker: longer
    /// than an attempt can take, so two workers never send it at once
    /// (they could; the idempotency key makes it harmless).
    pub fn lease_ms(&self) -> i64 {
        i64::from(self.timeout_seconds.max(1)) * 1000 + 5_000
    }
}

/// Problems of the `[[billing]]` tables, each named.
pub fn check(list: &[BillingConfig], utilities: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (i, b) in list.iter().enumerate() {
        let p = format!("billing[{i}] ({})", b.unit);
        if !seen.insert(b.unit.as_str()) {
            problems.push(format!("{p}: unit {} has two billing tables", b.unit));
        }
        if !utilities.contains(&b.unit.as_str()) {
            problems.push(format!(
                "{p}: unit {} is not a configured utility unit",
                b.unit
            ));
        }
        if !BILLING_ADAPTERS.contains(&b.adapter.as_str()) {
            problems.push(format!(
                "{p}: adapter {:?} is unknown; this build has {}",
                b.adapter,
                BILLING_ADAPTERS.join(", ")
            ));
        }
        match crate::config::url_scheme_host(&b.base_url) {
            Some(("https", _)) => {}
            Some(("http", host)) if crate::config::is_loopback_host(host) => {
                if !b.allow_plain_http {
                    problems.push(format!(
                        "{p}: base_url {:?} is plain http://: set allow_plain_http = true to allow it on this machine, or use https://",
                        b.base_url
                    ));
                }
            }
            Some(("http", _)) => problems.push(format!(
                "{p}: base_url {:?} is plain http:// to another machine: accounts and payments would cross the network unencrypted; use https:// (plain http:// only to a loopback address, with allow_plain_http = true)",
                b.base_url
            )),
            _ => problems.push(format!(
                "{p}: base_url {:?} must be an https://host[:port]/path address",
                b.base_url
            )),
        }
        if b.base_url.contains(['?', '#']) {
            problems.push(format!("{p}: base_url must have no query or fragment"));
        }
        if b.token_env.as_deref().is_some_and(|v| v.trim().is_empty()) {
            problems.push(format!(
                "{p}: token_env is empty (leave it out if the system needs no token)"
            ));
        }
        if b.ca_file.as_deref().is_some_and(|v| v.trim().is_empty()) {
            problems.push(format!("{p}: ca_file is empty"));
        }
        if !(1..=120).contains(&b.timeout_seconds) {
            problems.push(format!("{p}: timeout_seconds must be 1 to 120"));
        }
        if b.retry_base_seconds == 0
            || b.retry_max_seconds < b.retry_base_seconds
            || b.retry_max_seconds > 86_400
        {
            problems.push(format!(
                "{p}: retry_base_seconds must be at least 1 and at most retry_max_seconds (at most 86400)"
            ));
        }
    }
    problems
}

/// A customer's account number as typed: blanks and full-width forms
/// removed. `None` when it is not 1–32 letters, digits, `-` or `_`.
pub fn clean_account_no(text: &str) -> Option<String> {
    let s: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            'Ａ'..='Ｚ' => char::from(b'A' + (c as u32 - 'Ａ' as u32) as u8),
            'ａ'..='ｚ' => char::from(b'a' + (c as u32 - 'ａ' as u32) as u8),
            '－' => '-',
            c => c,
        })
        .collect();
    let ok = !s.is_empty()
        && s.len() <= MAX_ACCOUNT_NO
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some(s)
}

/// A bill id as a utility names it: 1–64 visible ASCII characters without
/// `/`, `?`, `#`, `%` or `\` (it goes into paths and JSON).
pub fn bill_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_BILL_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/?#%\\\"".contains(&b))
}

/// What was typed into the window's search box: a USCC (18 characters with
/// a valid check character) or an account number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Uscc(String),
    Number(String),
}

impl Lookup {
    /// Reads the search box; `None` when it is neither.
    pub fn parse(text: &str) -> Option<Lookup> {
        let upper: String = text
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        if upper.chars().count() == 18 && crate::form::uscc_is_valid(&upper) {
            return Some(Lookup::Uscc(upper));
        }
        clean_account_no(text).map(Lookup::Number)
    }
}

/// One of the platform's payments, as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ours {
    /// The reference sent to the utility (its idempotency key).
    pub reference: String,
    pub payment_id: String,
    pub account_no: String,
    pub amount_fen: i64,
    pub status: PaymentStatus,
}

/// One payment of the utility's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theirs {
    pub reference: String,
    pub utility_payment_id: String,
    pub account_no: String,
    pub amount_fen: i64,
}

/// One difference found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub reference: String,
    /// The platform's payment, when it has one.
    pub payment_id: Option<String>,
    pub account_no: String,
    pub our_fen: Option<i64>,
    pub their_fen: Option<i64>,
    pub our_status: Option<PaymentStatus>,
    pub utility_payment_id: Option<String>,
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matched {
    /// Payments found alike on both sides.
    pub matched: usize,
    pub differences: Vec<Difference>,
}

/// Matches the platform's payments of a day (`day`: those paid that day,
/// and those still pending or failed that were taken that day) against the
/// utility's list of that day (`theirs`), by reference. A utility payment
/// whose reference is not among `day` is looked up in `elsewhere` (the
/// platform's payments of those references, whatever their day).
///
/// - paid here, absent there: [`DifferenceKind::MissingAtUtility`];
///   pending here and absent there too (the platform still submits it);
///   failed here and absent there is consistent;
/// - on both, another amount: [`DifferenceKind::AmountMismatch`];
/// - there, but pending or failed here: [`DifferenceKind::StatusMismatch`];
/// - there, unknown here: [`DifferenceKind::UnknownHere`].
///
/// Differences come out in a stable order: by kind, then reference.
pub fn reconcile(day: &[Ours], theirs: &[Theirs], elsewhere: &HashMap<String, Ours>) -> Matched {
    let ours: HashMap<&str, &Ours> = day.iter().map(|o| (o.reference.as_str(), o)).collect();
    let mut seen_theirs = HashSet::new();
    let mut out = Matched::default();
    for t in theirs {
        if !seen_theirs.insert(t.reference.as_str()) {
            // The same reference twice in their list: a double entry there.
            out.differences.push(Difference {
                kind: DifferenceKind::UnknownHere,
                reference: t.reference.clone(),
                payment_id: None,
                account_no: t.account_no.clone(),
                our_fen: None,
                their_fen: Some(t.amount_fen),
                our_status: None,
                utility_payment_id: Some(t.utility_payment_id.clone()),
            });
            continue;
        }
        let found = ours
            .get(t.reference.as_str())
            .copied()
            .or_else(|| elsewhere.get(&t.reference));
        let Some(o) = found else {
            out.differences.push(Difference {
                kind: DifferenceKind::UnknownHere,
                reference: t.reference.clone(),
                payment_id: None,
                account_no: t.account_no.clone(),
                our_fen: None,
                their_fen: Some(t.amount_fen),
                our_status: None,
                utility_payment_id: Some(t.utility_payment_id.clone()),
            });
            continue;
        };
        let kind = if o.status != PaymentStatus::Paid {
            Some(DifferenceKind::StatusMismatch)
        } else if o.amount_fen != t.amount_fen {
            Some(DifferenceKind::AmountMismatch)
        } else {
            None
        };
        match kind {
            None => out.matched += 1,
            Some(kind) => out.differences.push(Difference {
                kind,
                reference: t.reference.clone(),
                payment_id: Some(o.payment_id.clone()),
                account_no: o.account_no.clone(),
                our_fen: Some(o.amount_fen),
                their_fen: Some(t.amount_fen),
                our_status: Some(o.status),
                utility_payment_id: Some(t.utility_payment_id.clone()),
            }),
        }
    }
    for o in day {
        if seen_theirs.contains(o.reference.as_str()) || o.status == PaymentStatus::Failed {
            continue;
        }
        out.differences.push(Difference {
            kind: DifferenceKind::MissingAtUtility,
            reference: o.reference.clone(),
            payment_id: Some(o.payment_id.clone()),
            account_no: o.account_no.clone(),
            our_fen: Some(o.amount_fen),
            their_fen: None,
            our_status: Some(o.status),
            utility_payment_id: None,
        });
    }
    out.differences
        .sort_by(|a, b| (a.kind, &a.reference).cmp(&(b.kind, &b.reference)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(r: &str, fen: i64, status: PaymentStatus) -> Ours {
        Ours {
            reference: r.into(),
            payment_id: format!("p-{r}"),
            account_no: "10000001".into(),
            amount_fen: fen,
            status,
        }
    }

    fn theirs(r: &str, fen: i64) -> Theirs {
        Theirs {
            reference: r.into(),
            utility_payment_id: format!("u-{r}"),
            account_no: "10000001".into(),
            amount_fen: fen,
        }
    }

    #[test]
    fn finds_each_kind_of_difference() {
        use PaymentStatus::*;
        let day = vec![
            ours("a", 100, Paid),
            ours("b", 200, Paid),
            ours("c", 300, Paid),
            ours("d", 400, Pending),
            ours("e", 500, Failed),
        ];
        let list = vec![theirs("a", 100), theirs("b", 250), theirs("x", 70)];
        let elsewhere = HashMap::from([("y".to_owned(), ours("y", 80, Pending))]);
        let mut list2 = list.clone();
        list2.push(theirs("y", 80));
        let m = reconcile(&day, &list2, &elsewhere);
        assert_eq!(m.matched, 1);
        let kinds: Vec<(DifferenceKind, &str)> = m
            .differences
            .iter()
            .map(|d| (d.kind, d.reference.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (DifferenceKind::MissingAtUtility, "c"),
                (DifferenceKind::MissingAtUtility, "d"),
                (DifferenceKind::AmountMismatch, "b"),
                (DifferenceKind::UnknownHere, "x"),
                (DifferenceKind::StatusMismatch, "y"),
            ]
        );
        let b = &m.differences[2];
        assert_eq!((b.our_fen, b.their_fen), (Some(200), Some(250)));
        assert_eq!(
            reconcile(&day[..1], &list[..1], &HashMap::new()).differences,
            vec![]
        );
    }

    #[test]
    fn a_double_entry_at_the_utility_is_a_difference() {
        let day = vec![ours("a", 100, PaymentStatus::Paid)];
        let m = reconcile(&day, &[theirs("a", 100), theirs("a", 100)], &HashMap::new());
        assert_eq!(m.matched, 1);
        assert_eq!(m.differences.len(), 1);
        assert_eq!(m.differences[0].kind, DifferenceKind::UnknownHere);
    }

    #[test]
    fn backoff_doubles_to_the_limit() {
        let c: BillingConfig = toml::from_str(
            "unit = \"sz-water\"\nbase_url = \"https://b.example.cn\"\nretry_base_seconds = 5\nretry_max_seconds = 60",
        )
        .unwrap();
        assert_eq!(
            (1..=6).map(|a| c.backoff_ms(a)).collect::<Vec<_>>(),
            vec![5_000, 10_000, 20_000, 40_000, 60_000, 60_000]
        );
        assert_eq!(c.backoff_ms(u32::MAX), 60_000);
        assert_eq!(c.lease_ms(), 15_000);
    }

    #[test]
    fn checks_each_table() {
        let parse = |t: &str| -> BillingConfig { toml::from_str(t).unwrap() };
        let ok = parse("unit = \"sz-water\"\nbase_url = \"https://billing.example.cn/v1\"");
        assert!(check(std::slice::from_ref(&ok), &["sz-water"]).is_empty());
        let local = parse(
            "unit = \"sz-water\"\nbase_url = \"http://127.0.0.1:8090/sz-water\"\nallow_plain_http = true",
        );
        assert!(check(&[local], &["sz-water"]).is_empty());
        let problems = check(
            &[
                ok.clone(),
                ok,
                parse(
                    "unit = \"sz-jj\"\nbase_url = \"http://billing.example.cn\"\ntoken_env = \" \"\ntimeout_seconds = 0",
                ),
                parse("unit = \"sz-gas\"\nbase_url = \"http://localhost:1/x\""),
            ],
            &["sz-water", "sz-gas"],
        );
        let text = problems.join("\n");
        for needle in [
            "two billing tables",
            "not a configured utility unit",
            "plain http:// to another machine",
            "token_env is empty",
            "timeout_seconds",
            "allow_plain_http = true",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    /// The sandbox tables the default file carries (commented out) make a
    /// valid city once uncommented, as the README says.
    #[test]
    fn the_default_files_sandbox_tables_are_valid() {
        let text = crate::config::DEFAULT_CONFIG_TOML;
        let at = text
            .find("SANDBOX / DEMO ONLY")
            .expect("the sandbox tables");
        let (head, tail) = text.split_at(at);
        let uncommented: String = tail
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with("[[billing]]") || rest.contains(" = ") => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let config = crate::config::CityConfig::from_toml(&format!("{head}{uncommented}"))
            .expect("a valid city");
        let units: Vec<&str> = config.billing.iter().map(|b| b.unit.as_str()).collect();
        assert_eq!(units, ["sz-water", "sz-power", "sz-gas"]);
        assert!(
            config
                .billing
                .iter()
                .all(|b| b.sandbox && b.allow_plain_http)
        );
        assert!(crate::config::CityConfig::default_city().billing.is_empty());
    }

    #[test]
    fn reads_the_search_box() {
        assert_eq!(
            Lookup::parse(" 91421300ma49abcd17 "),
            Some(Lookup::Uscc("91421300MA49ABCD17".into()))
        );
        assert_eq!(
            Lookup::parse("１０００ 0001"),
            Some(Lookup::Number("10000001".into()))
        );
        assert_eq!(
            Lookup::parse("SW-2024_01"),
            Some(Lookup::Number("SW-2024_01".into()))
        );
        assert_eq!(Lookup::parse(""), None);
        assert_eq!(Lookup::parse("张三"), None);
        assert_eq!(Lookup::parse(&"1".repeat(33)), None);
        assert!(bill_id_ok("B10000001-202609"));
        assert!(!bill_id_ok("a/b"));
        assert!(!bill_id_ok(""));
        assert!(!bill_id_ok(&"x".repeat(65)));
    }
}
