//! Parallel approval of external works (并联审批, form 附表4) with the
//! notification-commitment fast path (告知承诺, form 附表3): which items a case
//! gets, which are approved at once on a signed commitment, and what a case's
//! status is. Pure rules; the store keeps cases and items.

use crate::application::code_enum;
use crate::config::{CityConfig, UnitKind};
use crate::form::{FieldCode, FieldError};
use crate::text::TextKind;
use serde::{Deserialize, Serialize};
use time::Date;

code_enum! {
    /// Status of an approval case.
    CaseStatus {
        Pending => "pending", "审批中";
        Approved => "approved", "已通过";
        Rejected => "rejected", "未通过";
    }
}

code_enum! {
    /// Status of one department's item of a case: `withdrawn` when the
    /// application was cancelled while the item was pending (no decision is
    /// asked for any more, and its clock has stopped).
    ItemStatus {
        Pending => "pending", "待审批";
        Approved => "approved", "同意";
        Rejected => "rejected", "不同意";
        NotApplicable => "not_applicable", "不涉及";
        Withdrawn => "withdrawn", "已撤回";
    }
}

/// The four standard commitments of 附表3, in order.
pub const COMMITMENTS: [&str; 4] = [
    "严格落实施工安全和工程质量责任",
    "严格按照设计方案施工",
    "自觉接受相关部门监督检查",
    "施工完成后按时恢复原貌",
];

/// The words the signer types to confirm the commitments.
pub const CONFIRMATION: &str = "本单位已阅读并承诺遵守以上事项";

/// Whether `typed` is the commitment sentence ([`CONFIRMATION`]), word for
/// word; spaces and punctuation around it (a closing "。" or "！", quotes,
/// full-width or not, invisible spaces) are not part of it.
pub fn confirms(typed: &str) -> bool {
    typed.trim_matches(|c: char| c.is_whitespace() || around_sentence(c)) == CONFIRMATION
}

/// Punctuation and invisible characters people type around a sentence.
fn around_sentence(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            // Zero-width spaces and joiners, word joiner, byte-order mark.
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
            // General punctuation: dashes, quotes, ellipsis, bullets.
            | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}'
            // CJK punctuation: 。、「」『』【】《》〈〉〔〕.
            | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301F}'
            // Full-width and half-width forms: ！，．：；？（）… ｡｢｣､･.
            | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}'
            | '\u{FF5B}'..='\u{FF65}'
            // Vertical and small forms, the middle dot.
            | '\u{FE10}'..='\u{FE19}' | '\u{FE30}'..='\u{FE6B}' | '\u{00B7}')
}

/// A signed notification-commitment (告知承诺书).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commitment {
    pub signed_by: String,
    pub unit: String,
    /// `YYYY-MM-DD`.
    pub signed_at: String,
    /// Must equal [`CONFIRMATION`].
    pub confirmation: String,
}

/// What a new case's item for one department is.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedItem {
    pub department: String,
    pub required: bool,
    pub status: ItemStatus,
    /// Approved at once on the commitment.
    pub automatic: bool,
    pub opinion: Option<String>,
}

/// The reason written for an approval made on a commitment.
pub const COMMITMENT_OPINION: &str = "申请单位已签署告知承诺书，按告知承诺制即时办结";

/// One item per configured approval department, in configuration order:
/// `not_applicable` for those named so, otherwise required; with a signed
/// commitment, the items of departments that accept commitments are approved
/// at once.
pub fn plan_items(
    config: &CityConfig,
    not_applicable: &[String],
    commitment: Option<&Commitment>,
) -> Vec<PlannedItem> {
    config
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Department)
        .map(|u| {
            if not_applicable.contains(&u.code) {
                return PlannedItem {
                    department: u.code.clone(),
                    required: false,
                    status: ItemStatus::NotApplicable,
                    automatic: false,
                    opinion: None,
                };
            }
            let instant = commitment.is_some() && u.accepts_commitment;
            PlannedItem {
                department: u.code.clone(),
                required: true,
                status: if instant {
                    ItemStatus::Approved
                } else {
                    ItemStatus::Pending
                },
                automatic: instant,
                opinion: instant.then(|| COMMITMENT_OPINION.to_owned()),
            }
        })
        .collect()
}

/// A case is approved when every required item is; rejected as soon as one
/// required item is; pending otherwise.
pub fn case_status(items: &[(bool, ItemStatus)]) -> CaseStatus {
    let required = items.iter().filter(|(r, _)| *r);
    let mut all_approved = true;
    for (_, s) in required {
        match s {
            ItemStatus::Rejected => return CaseStatus::Rejected,
            ItemStatus::Approved => {}
            _ => all_approved = false,
        }
    }
    if all_approved {
        CaseStatus::Approved
    } else {
        CaseStatus::Pending
    }
}

/// A case as raised, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseInput {
    pub works: Vec<String>,
    pub place: String,
    pub from: Date,
    pub to: Date,
    pub not_applicable: Vec<String>,
    pub commitment: Option<Commitment>,
}

/// The most work orders one approval case covers.
pub const MAX_CASE_WORKS: usize = 20;

/// The works' period: it starts today or later and ends on or after its
/// start (field errors on `from` and `to`).
pub fn check_period(
    from: Option<Date>,
    to: Option<Date>,
    today: Date,
    errors: &mut Vec<FieldError>,
) {
    if let (Some(f), Some(t)) = (from, to) {
        if f < today {
            errors.push(FieldError::new(
                "from",
                FieldCode::NotInFuture,
                "开工日期不能早于今天",
            ));
        }
        if t < f {
            errors.push(FieldError::new(
                "to",
                FieldCode::OutOfRange,
                "完工日期不能早于开工日期",
            ));
        }
    }
}

/// Checks a raised case (`{"works", "place", "from", "to", "not_applicable"?,
/// "commitment"?}`), reporting every problem at once.
pub fn check_case(
    v: &serde_json::Value,
    config: &CityConfig,
    today: Date,
) -> Result<CaseInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let works: Vec<String> = match v.get("works").and_then(|w| w.as_array()) {
        Some(a) if !a.is_empty() && a.len() <= MAX_CASE_WORKS => a
            .iter()
            .enumerate()
            .filter_map(|(i, w)| match w.as_str() {
                Some(s) if !s.is_empty() && s.len() <= 64 => Some(s.to_owned()),
                _ => {
                    errors.push(FieldError::new(
                        format!("works.{i}"),
                        FieldCode::InvalidFormat,
                        "须为工单编号",
                    ));
                    None
                }
            })
            .collect(),
        _ => {
            errors.push(FieldError::new(
                "works",
                FieldCode::Required,
                "请列出需要审批的外线工程所属工单（1–20 个）",
            ));
            Vec::new()
        }
    };
    let place = crate::text::check_field(
        "place",
        "施工地点",
        TextKind::Place,
        v.get("place").and_then(|p| p.as_str()),
        true,
    )
    .unwrap_or_else(|e| {
        errors.push(e);
        None
    })
    .unwrap_or_default();
    let mut date = |name: &str| match v.get(name).and_then(|d| d.as_str()) {
        None => {
            errors.push(FieldError::new(name, FieldCode::Required, "请填写施工日期"));
            None
        }
        Some(s) => match Date::parse(s.trim(), &fmt) {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::InvalidFormat,
                    "日期格式应为 YYYY-MM-DD",
                ));
                None
            }
        },
    };
    let from = date("from");
    let to = date("to");
    check_period(from, to, today, &mut errors);
    let departments: Vec<&str> = config
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Department)
        .map(|u| u.code.as_str())
        .collect();
    let not_applicable: Vec<String> = match v.get("not_applicable") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        // One error for a list longer than there are departments, never one per element.
        Some(serde_json::Value::Array(a)) if a.len() > departments.len() => {
            errors.push(FieldError::new(
                "not_applicable",
                FieldCode::OutOfRange,
                format!("至多列出 {} 个审批部门", departments.len()),
            ));
            Vec::new()
        }
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d.as_str() {
                Some(s) if departments.contains(&s) => Some(s.to_owned()),
                _ => {
                    errors.push(FieldError::new(
                        format!("not_applicable.{i}"),
                        FieldCode::UnknownValue,
                        "不是已配置的审批部门",
                    ));
                    None
                }
            })
            .collect(),
        Some(_) => {
            errors.push(FieldError::new(
                "not_applicable",
                FieldCode::InvalidFormat,
                "须为审批部门编码的列表",
            ));
            Vec::new()
        }
    };
    let commitment = match v.get("commitment") {
        None | Some(serde_json::Value::Null) => None,
        Some(c) => {
            let text = |name: &str, label: &str, kind: TextKind, errors: &mut Vec<FieldError>| {
                let field = format!("commitment.{name}");
                let raw = c.get(name).and_then(|x| x.as_str());
                match crate::text::check_field(&field, label, kind, raw, true) {
                    Ok(s) => s,
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            };
            let signed_by = text("signed_by", "签署人", TextKind::PersonName, &mut errors);
            let unit = text("unit", "承诺单位", TextKind::UnitName, &mut errors);
            let signed_at = c
                .get("signed_at")
                .and_then(|x| x.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            if signed_at.is_none() {
                errors.push(FieldError::new(
                    "commitment.signed_at",
                    FieldCode::Required,
                    "请填写签署日期",
                ));
            }
            if let Some(d) = &signed_at
                && Date::parse(d, &fmt).map_or(true, |d| d > today)
            {
                errors.push(FieldError::new(
                    "commitment.signed_at",
                    FieldCode::InvalidFormat,
                    "签署日期格式应为 YYYY-MM-DD，且不晚于今天",
                ));
            }
            let confirmation = c.get("confirmation").and_then(|x| x.as_str()).unwrap_or("");
            if !confirms(confirmation) {
                errors.push(FieldError::new(
                    "commitment.confirmation",
                    FieldCode::Mismatch,
                    format!("请逐字输入“{CONFIRMATION}”以确认承诺"),
                ));
            }
            match (signed_by, unit, signed_at) {
                (Some(signed_by), Some(unit), Some(signed_at)) => Some(Commitment {
                    signed_by,
                    unit,
                    signed_at,
                    confirmation: CONFIRMATION.to_owned(),
                }),
                _ => None,
            }
        }
    };
    match (from, to) {
        (Some(from), Some(to)) if errors.is_empty() => Ok(CaseInput {
            works,
            place,
            from,
            to,
            not_applicable,
            commitment,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> Date {
        time::macros::date!(2026 - 11 - 27)
    }

    fn commitment() -> serde_json::Value {
        json!({"signed_by": "王工", "unit": "随州市某建设有限公司", "signed_at": "2026-11-27",
               "confirmation": CONFIRMATION})
    }

    #[test]
    fn a_long_not_applicable_list_is_one_error() {
        let c = CityConfig::default_city();
        let many = vec![json!("sz-jxj"); 100_000];
        let errors = check_case(
            &json!({"works": ["o1"], "place": "交通大道", "from": "2026-12-01", "to": "2026-12-03",
                    "not_applicable": many}),
            &c,
            today(),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "not_applicable");
    }

    #[test]
    fn commitment_approves_the_accepting_departments_at_once() {
        let c = CityConfig::default_city();
        let without = plan_items(&c, &[], None);
        assert_eq!(without.len(), 6);
        assert!(
            without
                .iter()
                .all(|i| i.required && i.status == ItemStatus::Pending)
        );
        let input = check_case(
            &json!({"works": ["o1"], "place": "交通大道", "from": "2026-12-01", "to": "2026-12-03",
                    "not_applicable": ["sz-jxj"], "commitment": commitment()}),
            &c,
            today(),
        )
        .unwrap();
        let items = plan_items(&c, &input.not_applicable, input.commitment.as_ref());
        let status = |code: &str| items.iter().find(|i| i.department == code).unwrap().status;
        assert_eq!(status("sz-zrzy"), ItemStatus::Approved);
        assert_eq!(
            status("sz-jj"),
            ItemStatus::Pending,
            "traffic police review the plan"
        );
        assert_eq!(status("sz-jxj"), ItemStatus::NotApplicable);
        assert!(
            items
                .iter()
                .filter(|i| i.automatic)
                .all(|i| i.opinion.as_deref() == Some(COMMITMENT_OPINION))
        );
        let pairs: Vec<(bool, ItemStatus)> = items.iter().map(|i| (i.required, i.status)).collect();
        assert_eq!(case_status(&pairs), CaseStatus::Pending);
    }

    #[test]
    fn the_commitment_sentence_may_come_with_punctuation_and_spaces() {
        for typed in [
            CONFIRMATION.to_owned(),
            format!("{CONFIRMATION}。"),
            format!("  {CONFIRMATION}。 "),
            format!("\u{3000}{CONFIRMATION}！\n"),
            format!("“{CONFIRMATION}”"),
            format!("\"{CONFIRMATION}.\""),
            format!("「{CONFIRMATION}」。"),
            format!("{CONFIRMATION}…"),
            format!("\u{200B}{CONFIRMATION}；"),
            format!("{CONFIRMATION}．"),
        ] {
            assert!(confirms(&typed), "{typed:?}");
        }
        for typed in [
            "",
            "。",
            "本单位已阅读并承诺遵守以上事项了",
            "本单位已阅读，并承诺遵守以上事项",
            "本单位 已阅读并承诺遵守以上事项",
            "我单位已阅读并承诺遵守以上事项。",
            "本单位已阅读并承诺遵守以上",
        ] {
            assert!(!confirms(typed), "{typed:?}");
        }
        // Through the case's check: accepted with a closing full stop,
        // and stored as the sentence itself.
        let c = CityConfig::default_city();
        let mut signed = commitment();
        signed["confirmation"] = json!(format!(" {CONFIRMATION}。"));
        let input = check_case(
            &json!({"works": ["o1"], "place": "交通大道", "from": "2026-12-01", "to": "2026-12-03",
                    "commitment": signed}),
            &c,
            today(),
        )
        .unwrap();
        assert_eq!(input.commitment.unwrap().confirmation, CONFIRMATION);
        signed["confirmation"] = json!("本单位已阅读。");
        let err = check_case(
            &json!({"works": ["o1"], "place": "交通大道", "from": "2026-12-01", "to": "2026-12-03",
                    "commitment": signed}),
            &c,
            today(),
        )
        .unwrap_err();
        assert_eq!(err[0].field, "commitment.confirmation");
        assert_eq!(err[0].code, FieldCode::Mismatch);
    }

    #[test]
    fn a_case_is_decided_by_its_required_items() {
        use ItemStatus::*;
        assert_eq!(
            case_status(&[(true, Approved), (false, NotApplicable)]),
            CaseStatus::Approved
        );
        assert_eq!(
            case_status(&[(true, Approved), (true, Pending)]),
            CaseStatus::Pending
        );
        assert_eq!(
            case_status(&[(true, Rejected), (true, Pending)]),
            CaseStatus::Rejected
        );
        assert_eq!(
            case_status(&[(false, Rejected), (true, Approved)]),
            CaseStatus::Approved
        );
    }

    #[test]
    fn every_problem_of_a_raised_case_is_named() {
        let c = CityConfig::default_city();
        let err = check_case(
            &json!({"works": [], "from": "2026-11-01", "to": "2026-10-01", "not_applicable": ["sz-water"],
                    "commitment": {"signed_by": "", "unit": "某公司", "signed_at": "2026-12-31", "confirmation": "同意"}}),
            &c,
            today(),
        )
        .unwrap_err();
        let fields: Vec<(&str, &str)> = err
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        for expected in [
            ("works", "required"),
            ("place", "required"),
            ("from", "not_in_future"),
            ("to", "out_of_range"),
            ("not_applicable.0", "unknown_value"),
            ("commitment.signed_by", "required"),
            ("commitment.signed_at", "invalid_format"),
            ("commitment.confirmation", "mismatch"),
        ] {
            assert!(fields.contains(&expected), "{expected:?} in {fields:?}");
        }
    }
}
