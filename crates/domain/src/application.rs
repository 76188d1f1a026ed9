//! The application resource and its fan-out into work orders (一网流转).

use crate::config::CityConfig;
use crate::form::ApplicationForm;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal, $zh:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code used in the API and in storage.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese label shown to people.
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// Status of an application, derived from its work orders.
    ApplicationStatus {
        Submitted => "submitted", "已提交";
        InProgress => "in_progress", "办理中";
        Returned => "returned", "待补正";
        Completed => "completed", "已办结";
        Cancelled => "cancelled", "已撤销";
    }
}

code_enum! {
    /// Where a work order stands in the connection flow.
    Stage {
        Acceptance => "acceptance", "受理";
        Survey => "survey", "联合踏勘";
        Design => "design", "方案设计";
        Approval => "approval", "并联审批";
        Construction => "construction", "外线施工";
        Connection => "connection", "接入";
        Closed => "closed", "已完成";
    }
}

code_enum! {
    OrderStatus {
        Open => "open", "办理中";
        Returned => "returned", "待补正";
        Done => "done", "已办结";
        Cancelled => "cancelled", "已撤销";
        Rejected => "rejected", "不予受理";
    }
}

code_enum! {
    /// Early-warning level of an open item (全过程监控和预警).
    Level {
        Normal => "normal", "正常";
        Warning => "warning", "预警";
        Overdue => "overdue", "超期";
    }
}

impl Stage {
    /// The stage as a state for people: what the order waits for
    /// (待受理, 待踏勘, …, 已办结).
    pub fn waiting_zh(self) -> &'static str {
        match self {
            Stage::Acceptance => "待受理",
            Stage::Survey => "待踏勘",
            Stage::Design => "待设计",
            Stage::Approval => "待审批",
            Stage::Construction => "待施工",
            Stage::Connection => "待接入",
            Stage::Closed => "已办结",
        }
    }
}

/// Where an order stands, for people, in one word: what it waits for while
/// open (待受理, 待踏勘, …), 待补正 while returned to the applicant, else
/// how it ended (已办结, 已撤销, 不予受理).
pub fn order_state_zh(stage: Stage, status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Open => stage.waiting_zh(),
        OrderStatus::Returned => "待补正",
        OrderStatus::Done | OrderStatus::Cancelled | OrderStatus::Rejected => status.label_zh(),
    }
}

impl Level {
    /// The most urgent of `levels` (normal when there are none): a case's
    /// level is the worst of its pending items'.
    pub fn worst(levels: impl IntoIterator<Item = Level>) -> Level {
        levels.into_iter().fold(Level::Normal, |a, b| match (a, b) {
            (Level::Overdue, _) | (_, Level::Overdue) => Level::Overdue,
            (Level::Warning, _) | (_, Level::Warning) => Level::Warning,
            _ => Level::Normal,
        })
    }

    /// The level at `now` of a clock that warns at `warn_at` and is due at
    /// `due_at` (instants in any one unit).
    pub fn at(now: i64, warn_at: i64, due_at: i64) -> Level {
        if now >= due_at {
            Level::Overdue
        } else if now >= warn_at {
            Level::Warning
        } else {
            Level::Normal
        }
    }

    /// When a clock at this level changes level next: the warning instant,
    /// the deadline, or never (overdue is the last).
    pub fn next_change(self, warn_at: i64, due_at: i64) -> Option<i64> {
        match self {
            Level::Normal => Some(warn_at),
            Level::Warning => Some(due_at),
            Level::Overdue => None,
        }
    }
}

impl ApplicationStatus {
    /// An application's status follows from its orders: all cancelled →
    /// cancelled; any waiting for the applicant → returned; all finished →
    /// completed; any past acceptance → in progress; otherwise submitted.
    pub fn derive(orders: &[(Stage, OrderStatus)]) -> ApplicationStatus {
        if orders.is_empty() || orders.iter().all(|o| o.1 == OrderStatus::Cancelled) {
            return ApplicationStatus::Cancelled;
        }
        if orders.iter().any(|o| o.1 == OrderStatus::Returned) {
            return ApplicationStatus::Returned;
        }
        let finished = |s: OrderStatus| {
            matches!(
                s,
                OrderStatus::Done | OrderStatus::Rejected | OrderStatus::Cancelled
            )
        };
        if orders.iter().all(|o| finished(o.1)) {
            return ApplicationStatus::Completed;
        }
        if orders
            .iter()
            .any(|o| o.0 != Stage::Acceptance || o.1 != OrderStatus::Open)
        {
            return ApplicationStatus::InProgress;
        }
        ApplicationStatus::Submitted
    }

    /// Whether an order moving from `a` to `b` leaves its application's
    /// status as it was, whatever the other orders are: true when the order
    /// counts the same way in every rule of [`derive`](Self::derive).
    pub fn unchanged_by(a: (Stage, OrderStatus), b: (Stage, OrderStatus)) -> bool {
        let class = |(stage, status): (Stage, OrderStatus)| {
            (
                status == OrderStatus::Cancelled,
                status == OrderStatus::Returned,
                matches!(
                    status,
                    OrderStatus::Done | OrderStatus::Rejected | OrderStatus::Cancelled
                ),
                stage != Stage::Acceptance || status != OrderStatus::Open,
            )
        };
        class(a) == class(b)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitRef {
    pub code: String,
    pub name: String,
}

/// One utility's work order (工单) for one service (and carrier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkOrder {
    pub id: String,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    pub unit: UnitRef,
    pub stage: Stage,
    pub status: OrderStatus,
    #[serde(with = "crate::timefmt::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: OffsetDateTime,
    /// Present (`true`) while the deadline falls on a day the official
    /// holiday notice does not cover yet: counted on the statutory rules,
    /// and recounted when the notice is imported.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
    /// Present (`true`) on an order in construction after parallel
    /// approval whose clock could not start at the approved works' start
    /// date (the period unreadable or beyond the calendar, or approved
    /// before this rule): its budget runs from the approval instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub works_start_unknown: bool,
    pub level: Level,
    pub version: i64,
}

/// The application resource as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    pub id: String,
    /// Human-facing number, `LB` + date + sequence (e.g. `LB202611270001`).
    pub number: String,
    pub status: ApplicationStatus,
    #[serde(with = "crate::timefmt::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub submitted_at: OffsetDateTime,
    #[serde(flatten)]
    pub form: ApplicationForm,
    /// Filed through a verified channel: a hall window, an account verified
    /// for the enterprise (企业认证), an integration key. Staff see the
    /// others marked 未认证.
    #[serde(default)]
    pub identity_verified: bool,
    /// The account that submitted it, if one did (not part of the API).
    #[serde(skip)]
    pub submitted_by: Option<String>,
    pub work_orders: Vec<WorkOrder>,
    /// The joint survey appointment, once a utility has proposed it (on the
    /// single resource; lists leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<Survey>,
    /// The 8-character query code printed on the receipt (works instead of
    /// the phone digits in the public status lookup). Shown only to those who
    /// may read the application in full; applications from before query
    /// codes have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "7KQ2M9XA"))]
    pub query_code: Option<String>,
}

/// The one joint survey appointment of an application (联合踏勘).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Survey {
    #[serde(with = "crate::timefmt::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// The utility that proposed (or last moved) it.
    pub proposed_by: UnitRef,
    pub version: i64,
}

/// A work order with its application's identity, as the work-order API
/// lists it (no personal data: the enterprise's name and the district only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkOrderItem {
    #[serde(flatten)]
    pub order: WorkOrder,
    pub application_id: String,
    pub application_number: String,
    pub applicant_name: String,
    pub district_code: String,
}

/// A work order to create: which service, which carrier, which unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrder {
    pub service: String,
    pub carrier: Option<String>,
    pub unit_code: String,
}

/// One work order per chosen service, and per chosen carrier for services
/// routed per carrier, each to the provider unit named in configuration, in
/// the configuration's service order.
pub fn fan_out(form: &ApplicationForm, config: &CityConfig) -> Vec<PlannedOrder> {
    let chosen = form.services.chosen();
    let carriers: &[String] = form
        .services
        .network
        .as_ref()
        .map(|n| n.carriers.as_slice())
        .unwrap_or(&[]);
    let mut out = Vec::new();
    for service in &config.services {
        if !chosen.contains(&service.code.as_str()) {
            continue;
        }
        if let Some(provider) = &service.provider {
            out.push(PlannedOrder {
                service: service.code.clone(),
                carrier: None,
                unit_code: provider.clone(),
            });
        }
        for carrier in &service.carriers {
            if carriers.iter().any(|c| c == &carrier.code) {
                out.push(PlannedOrder {
                    service: service.code.clone(),
                    carrier: Some(carrier.code.clone()),
                    unit_code: carrier.unit.clone(),
                });
            }
        }
    }
    out
}

/// `LB` + local date + a daily sequence of at least four digits.
pub fn application_number(local_date: Date, seq: i64) -> String {
    format!(
        "LB{:04}{:02}{:02}{:04}",
        local_date.year(),
        local_date.month() as u8,
        local_date.day(),
        seq
    )
}

/// The counter name for the sequence of `local_date`'s numbers.
pub fn number_counter(local_date: Date) -> String {
    format!(
        "application_number:{:04}{:02}{:02}",
        local_date.year(),
        local_date.month() as u8,
        local_date.day()
    )
}

/// The receipt's query code (查询码): [`QUERY_CODE_LEN`] characters of
/// [`QUERY_CODE_ALPHABET`], which leaves out the look-alikes 0/O and 1/I.
pub mod query_code {
    /// 32 characters: digits 2–9 and the capital letters but I and O.
    pub const QUERY_CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    pub const QUERY_CODE_LEN: usize = 8;

    /// The code for eight random bytes (each picks one of 32 characters
    /// uniformly: 40 bits in all).
    pub fn from_random(bytes: [u8; QUERY_CODE_LEN]) -> String {
        bytes
            .iter()
            .map(|b| char::from(QUERY_CODE_ALPHABET[usize::from(b & 31)]))
            .collect()
    }

    /// What someone typed, as a code: spaces and hyphens dropped, letters
    /// upper-cased; `None` unless it is [`QUERY_CODE_LEN`] characters of the
    /// alphabet.
    pub fn normalise(typed: &str) -> Option<String> {
        let mut out = String::with_capacity(QUERY_CODE_LEN);
        for c in typed.chars() {
            if c == ' ' || c == '-' || c == '\u{3000}' {
                continue;
            }
            let c = c.to_ascii_uppercase();
            if out.len() == QUERY_CODE_LEN
                || !c.is_ascii()
                || !QUERY_CODE_ALPHABET.contains(&(c as u8))
            {
                return None;
            }
            out.push(c);
        }
        (out.len() == QUERY_CODE_LEN).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn orders_read_as_what_they_wait_for() {
        let open = |s| order_state_zh(s, OrderStatus::Open);
        assert_eq!(
            Stage::ALL.iter().map(|s| open(*s)).collect::<Vec<_>>(),
            [
                "待受理",
                "待踏勘",
                "待设计",
                "待审批",
                "待施工",
                "待接入",
                "已办结"
            ]
        );
        assert_eq!(
            order_state_zh(Stage::Acceptance, OrderStatus::Returned),
            "待补正"
        );
        assert_eq!(order_state_zh(Stage::Closed, OrderStatus::Done), "已办结");
        assert_eq!(
            order_state_zh(Stage::Survey, OrderStatus::Cancelled),
            "已撤销"
        );
        assert_eq!(
            order_state_zh(Stage::Acceptance, OrderStatus::Rejected),
            "不予受理"
        );
    }

    #[test]
    fn query_codes_use_the_alphabet_and_normalise_what_was_typed() {
        use query_code::*;
        let code = from_random([0, 31, 32, 255, 7, 8, 100, 200]);
        assert_eq!(code, "2Z2Z9A6A");
        assert_eq!(code.len(), QUERY_CODE_LEN);
        assert!(code.bytes().all(|b| QUERY_CODE_ALPHABET.contains(&b)));
        for look_alike in [b'0', b'1', b'I', b'O'] {
            assert!(!QUERY_CODE_ALPHABET.contains(&look_alike));
        }
        assert_eq!(normalise("2z2z-9an8"), Some("2Z2Z9AN8".into()));
        assert_eq!(normalise(" 2Z2Z 9AN8 "), Some("2Z2Z9AN8".into()));
        assert_eq!(normalise("2Z2Z9AN"), None);
        assert_eq!(normalise("2Z2Z9AN88"), None);
        assert_eq!(normalise("2Z2Z9AO8"), None);
        assert_eq!(normalise("5678"), None);
        assert_eq!(normalise("２Z2Z9AN8"), None);
    }

    #[test]
    fn numbers_have_the_date_and_four_digits_at_least() {
        assert_eq!(
            application_number(date!(2026 - 11 - 27), 1),
            "LB202611270001"
        );
        assert_eq!(
            application_number(date!(2026 - 11 - 27), 12345),
            "LB2026112712345"
        );
    }

    #[test]
    fn status_is_derived_from_orders() {
        use OrderStatus::*;
        use Stage::*;
        assert_eq!(
            ApplicationStatus::derive(&[(Acceptance, Open), (Acceptance, Open)]),
            ApplicationStatus::Submitted
        );
        assert_eq!(
            ApplicationStatus::derive(&[(Acceptance, Open), (Survey, Open)]),
            ApplicationStatus::InProgress
        );
        assert_eq!(
            ApplicationStatus::derive(&[(Acceptance, Returned), (Survey, Open)]),
            ApplicationStatus::Returned
        );
        assert_eq!(
            ApplicationStatus::derive(&[(Closed, Done), (Acceptance, Cancelled)]),
            ApplicationStatus::Completed
        );
        assert_eq!(
            ApplicationStatus::derive(&[(Acceptance, Cancelled)]),
            ApplicationStatus::Cancelled
        );
    }

    #[test]
    fn codes_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            serde_json::to_string(&ApplicationStatus::InProgress).unwrap(),
            "\"in_progress\""
        );
    }

    /// `unchanged_by` may skip recomputing only where `derive` agrees, for
    /// every order state and every set of up to two other orders.
    #[test]
    fn unchanged_by_never_hides_a_change() {
        let all: Vec<(Stage, OrderStatus)> = Stage::ALL
            .iter()
            .flat_map(|s| OrderStatus::ALL.iter().map(move |t| (*s, *t)))
            .collect();
        let mut others: Vec<Vec<(Stage, OrderStatus)>> = vec![Vec::new()];
        for x in &all {
            others.push(vec![*x]);
            for y in &all {
                others.push(vec![*x, *y]);
            }
        }
        let mut skipped = 0;
        for a in &all {
            for b in &all {
                if !ApplicationStatus::unchanged_by(*a, *b) {
                    continue;
                }
                skipped += 1;
                for o in &others {
                    let mut before = o.clone();
                    before.push(*a);
                    let mut after = o.clone();
                    after.push(*b);
                    assert_eq!(
                        ApplicationStatus::derive(&before),
                        ApplicationStatus::derive(&after),
                        "{a:?} → {b:?} beside {o:?}"
                    );
                }
            }
        }
        assert!(skipped > all.len(), "some moves are skipped");
        assert!(ApplicationStatus::unchanged_by(
            (Stage::Survey, OrderStatus::Open),
            (Stage::Design, OrderStatus::Open)
        ));
        assert!(!ApplicationStatus::unchanged_by(
            (Stage::Acceptance, OrderStatus::Open),
            (Stage::Survey, OrderStatus::Open)
        ));
    }
}
