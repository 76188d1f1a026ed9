//! Fees of a work order (费用明细) and the zero-investment rule
//! (用水、用气、用电、用网及用暖外线接入工程报装企业零投资).
//!
//! Every work order carries itemised costs: what the item is, its amount in
//! fen, who pays it (the utility or the user) and whether the works lie
//! outside the building's red line (建筑红线外). Works outside the red line
//! are the utility's investment: an item the user would pay there is
//! refused ([`check_policy`]) unless an administrator recorded a documented
//! exception for the order, and then it is accepted, linked to the
//! exception and flagged.

use crate::form::{FieldCode, FieldError};
use crate::money::{self, MoneyError};
use crate::text::{TextKind, check_field};

/// The largest amount of one item: ¥100,000,000.00, as [`money::MAX_FEN`].
pub const MAX_AMOUNT_FEN: i64 = money::MAX_FEN;

/// Items one work order may carry.
pub const MAX_ITEMS_PER_ORDER: usize = 200;

/// The policy an outside-red-line item paid by the user breaks, in the
/// words shown to people.
pub const POLICY_ZH: &str = "建筑红线外的外线接入工程由公用事业单位投资，用户不需缴纳任何费用";

/// Who bears a cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    /// The utility (公用事业单位承担).
    Utility,
    /// The user, i.e. the applicant (用户承担).
    User,
}

impl Payer {
    pub const ALL: [Payer; 2] = [Payer::Utility, Payer::User];

    pub fn as_str(self) -> &'static str {
        match self {
            Payer::Utility => "utility",
            Payer::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Payer> {
        Payer::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Payer::Utility => "公用事业单位",
            Payer::User => "用户",
        }
    }
}

/// Where the works of a cost lie, for people.
pub fn red_line_zh(outside: bool) -> &'static str {
    if outside { "红线外" } else { "红线内" }
}

/// A cost item, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostItem {
    /// What it is, cleaned (1–60 characters, one line).
    pub item: String,
    /// Integer fen, `1..=MAX_AMOUNT_FEN`.
    pub amount_fen: i64,
    pub payer: Payer,
    /// The works lie outside the building's red line.
    pub outside_red_line: bool,
}

/// An amount as the caller gave it: integer fen (the API) or yuan typed on
/// a page (`128.50`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountInput<'a> {
    Missing,
    Fen(i64),
    Yuan(&'a str),
}

/// A cost item as sent, before checking (`None`: absent or null).
#[derive(Debug, Clone, Copy, Default)]
pub struct CostDraft<'a> {
    pub item: Option<&'a str>,
    pub amount: Option<AmountInput<'a>>,
    pub payer: Option<&'a str>,
    pub outside_red_line: Option<bool>,
}

/// Checks a cost item, every field problem at once (field names `item`,
/// `amount_fen` — or `amount` for yuan —, `payer`, `outside_red_line`).
/// The zero-investment rule is not applied here: see [`check_policy`].
pub fn parse_cost(d: &CostDraft<'_>) -> Result<CostItem, Vec<FieldError>> {
    let mut errors = Vec::new();
    let item = match check_field("item", "费用项目", TextKind::CostItem, d.item, true) {
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let amount = match d.amount.unwrap_or(AmountInput::Missing) {
        AmountInput::Missing => {
            errors.push(FieldError::new(
                "amount_fen",
                FieldCode::Required,
                "请填写金额",
            ));
            None
        }
        AmountInput::Fen(fen) => check_amount("amount_fen", fen, &mut errors),
        AmountInput::Yuan(text) => match money::parse_yuan(text) {
            Ok(fen) => check_amount("amount", fen, &mut errors),
            Err(e) => {
                let code = match e {
                    MoneyError::Empty => FieldCode::Required,
                    MoneyError::TooLarge => FieldCode::OutOfRange,
                    MoneyError::InvalidFormat | MoneyError::TooPrecise => FieldCode::InvalidFormat,
                };
                errors.push(FieldError::new("amount", code, e.message_zh()));
                None
            }
        },
    };
    let payer = match d.payer.map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new(
                "payer",
                FieldCode::Required,
                "请选择费用承担方",
            ));
            None
        }
        Some(p) => match Payer::parse(p) {
            Some(p) => Some(p),
            None => {
                errors.push(FieldError::new(
                    "payer",
                    FieldCode::UnknownValue,
                    "费用承担方应为公用事业单位（utility）或用户（user）",
                ));
                None
            }
        },
    };
    let outside = match d.outside_red_line {
        Some(b) => Some(b),
        None => {
            errors.push(FieldError::new(
                "outside_red_line",
                FieldCode::Required,
                "请说明该项费用对应的工程在建筑红线内还是红线外",
            ));
            None
        }
    };
    match (item, amount, payer, outside) {
        (Some(item), Some(amount_fen), Some(payer), Some(outside_red_line))
            if errors.is_empty() =>
        {
            Ok(CostItem {
                item,
                amount_fen,
                payer,
                outside_red_line,
            })
        }
        _ => Err(errors),
    }
}

fn check_amount(field: &str, fen: i64, errors: &mut Vec<FieldError>) -> Option<i64> {
    if fen <= 0 {
        errors.push(FieldError::new(
            field,
            FieldCode::OutOfRange,
            "金额应大于 0",
        ));
        None
    } else if fen > MAX_AMOUNT_FEN {
        errors.push(FieldError::new(
            field,
            FieldCode::OutOfRange,
            MoneyError::TooLarge.message_zh(),
        ));
        None
    } else {
        Some(fen)
    }
}

/// What the zero-investment rule says of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed as it is.
    Allowed,
    /// Paid by the user outside the red line, allowed only by the order's
    /// documented exception (the item is flagged).
    ByException,
    /// Paid by the user outside the red line with no exception: refused.
    Refused,
}

/// The zero-investment rule (企业零投资): works outside the building's red
/// line are the utility's investment; the user pays nothing for them unless
/// an administrator recorded a documented exception for the order.
pub fn check_policy(item: &CostItem, has_exception: bool) -> Verdict {
    match (item.payer, item.outside_red_line) {
        (Payer::User, true) if has_exception => Verdict::ByException,
        (Payer::User, true) => Verdict::Refused,
        _ => Verdict::Allowed,
    }
}

/// The field error of a refused item: at `payer`, naming the policy.
pub fn policy_error(field: &str) -> FieldError {
    FieldError::new(field, FieldCode::PolicyViolation, format!("{POLICY_ZH}。"))
}

/// A documented exception to the zero-investment rule, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionDraft {
    /// Why the user pays for works outside the red line (multi-line note).
    pub reason: String,
    /// The document that allows it (文号, e.g. 随政办发〔2023〕7号).
    pub document: String,
}

/// Checks an exception's reason and document reference.
pub fn parse_exception(
    reason: Option<&str>,
    document: Option<&str>,
) -> Result<ExceptionDraft, Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = check_field("reason", "例外原因", TextKind::Note, reason, true)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let document = check_field(
        "document",
        "依据文件文号",
        TextKind::DocumentRef,
        document,
        true,
    )
    .map_err(|e| errors.push(e))
    .ok()
    .flatten();
    match (reason, document) {
        (Some(reason), Some(document)) if errors.is_empty() => {
            Ok(ExceptionDraft { reason, document })
        }
        _ => Err(errors),
    }
}

/// Sums of costs, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostTotals {
    /// Borne by the utility outside the red line (its zero-investment share).
    pub utility_outside_fen: i64,
    pub utility_inside_fen: i64,
    /// Paid by the user inside the red line.
    pub user_inside_fen: i64,
    /// Paid by the user outside the red line, by exception only.
    pub user_outside_fen: i64,
}

impl CostTotals {
    pub fn add(&mut self, c: &CostItem) {
        let slot = match (c.payer, c.outside_red_line) {
            (Payer::Utility, true) => &mut self.utility_outside_fen,
            (Payer::Utility, false) => &mut self.utility_inside_fen,
            (Payer::User, false) => &mut self.user_inside_fen,
            (Payer::User, true) => &mut self.user_outside_fen,
        };
        *slot = slot.saturating_add(c.amount_fen);
    }

    /// What the user pays in all.
    pub fn user_fen(&self) -> i64 {
        self.user_inside_fen.saturating_add(self.user_outside_fen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft<'a>(item: &'a str, fen: i64, payer: &'a str, outside: bool) -> CostDraft<'a> {
        CostDraft {
            item: Some(item),
            amount: Some(AmountInput::Fen(fen)),
            payer: Some(payer),
            outside_red_line: Some(outside),
        }
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, FieldCode)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn a_valid_item_is_read_and_cleaned() {
        let c = parse_cost(&draft("  外线电缆敷设\u{200B} ", 123_450, "utility", true)).unwrap();
        assert_eq!(c.item, "外线电缆敷设");
        assert_eq!(c.amount_fen, 123_450);
        assert_eq!(c.payer, Payer::Utility);
        assert!(c.outside_red_line);
    }

    #[test]
    fn every_field_problem_is_reported_at_once() {
        let e = parse_cost(&CostDraft::default()).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("item", FieldCode::Required),
                ("amount_fen", FieldCode::Required),
                ("payer", FieldCode::Required),
                ("outside_red_line", FieldCode::Required),
            ]
        );
        let e = parse_cost(&draft(&"费".repeat(61), 0, "both", false)).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("item", FieldCode::TooLong),
                ("amount_fen", FieldCode::OutOfRange),
                ("payer", FieldCode::UnknownValue),
            ]
        );
        let e = parse_cost(&draft("表箱", -5, "user", false)).unwrap_err();
        assert_eq!(codes(&e), vec![("amount_fen", FieldCode::OutOfRange)]);
        let e = parse_cost(&draft("表箱", MAX_AMOUNT_FEN + 1, "user", false)).unwrap_err();
        assert_eq!(codes(&e), vec![("amount_fen", FieldCode::OutOfRange)]);
        let e = parse_cost(&draft("表\u{202E}箱", 100, "user", false)).unwrap_err();
        assert_eq!(codes(&e), vec![("item", FieldCode::InvalidFormat)]);
    }

    #[test]
    fn yuan_typed_on_a_page_is_read_into_fen() {
        let mut d = draft("表箱", 0, "user", false);
        d.amount = Some(AmountInput::Yuan("¥1,280.5"));
        assert_eq!(parse_cost(&d).unwrap().amount_fen, 128_050);
        for (typed, code) in [
            ("", FieldCode::Required),
            ("12.345", FieldCode::InvalidFormat),
            ("-3", FieldCode::InvalidFormat),
            ("0", FieldCode::OutOfRange),
        ] {
            d.amount = Some(AmountInput::Yuan(typed));
            let e = parse_cost(&d).unwrap_err();
            assert_eq!(codes(&e), vec![("amount", code)], "{typed:?}");
        }
    }

    #[test]
    fn the_user_pays_nothing_outside_the_red_line_without_an_exception() {
        let item = |payer, outside| CostItem {
            item: "x".into(),
            amount_fen: 100,
            payer,
            outside_red_line: outside,
        };
        assert_eq!(
            check_policy(&item(Payer::Utility, true), false),
            Verdict::Allowed
        );
        assert_eq!(
            check_policy(&item(Payer::Utility, false), false),
            Verdict::Allowed
        );
        assert_eq!(
            check_policy(&item(Payer::User, false), false),
            Verdict::Allowed
        );
        assert_eq!(
            check_policy(&item(Payer::User, true), false),
            Verdict::Refused
        );
        assert_eq!(
            check_policy(&item(Payer::User, true), true),
            Verdict::ByException
        );
        assert_eq!(
            check_policy(&item(Payer::User, false), true),
            Verdict::Allowed
        );
        let e = policy_error("payer");
        assert_eq!(e.code, FieldCode::PolicyViolation);
        assert!(e.message.contains("用户不需缴纳任何费用"));
    }

    #[test]
    fn totals_split_by_payer_and_red_line() {
        let mut t = CostTotals::default();
        for (payer, outside, fen) in [
            (Payer::Utility, true, 500),
            (Payer::Utility, true, 250),
            (Payer::User, false, 100),
            (Payer::User, true, 40),
            (Payer::Utility, false, 7),
        ] {
            t.add(&CostItem {
                item: "x".into(),
                amount_fen: fen,
                payer,
                outside_red_line: outside,
            });
        }
        assert_eq!(t.utility_outside_fen, 750);
        assert_eq!(t.utility_inside_fen, 7);
        assert_eq!(t.user_fen(), 140);
    }

    #[test]
    fn an_exception_needs_a_reason_and_a_document() {
        let e = parse_exception(None, Some(" ")).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("reason", FieldCode::Required),
                ("document", FieldCode::Required)
            ]
        );
        let x = parse_exception(Some("用户自愿承担专线费用"), Some("随政办发〔2023〕7号")).unwrap();
        assert_eq!(x.document, "随政办发〔2023〕7号");
    }
}
