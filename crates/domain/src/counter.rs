//! The one window (一窗受理) of a shared service hall: consultations and
//! the follow-ups they pass on to a unit, queue tickets, and ratings
//! (好差评) with the follow-up a bad one opens.
//!
//! Pure rules: the codes and their Chinese labels, what a consultation, a
//! rating, a follow-up's answer and a call of the queue may hold (every
//! free text through the one text rule, [`crate::text`]), and how a ticket
//! reads (`C003`). A hall is its code (the scope of a `clerk:<hall>`
//! grant); the hall registry names it.

use crate::application::code_enum;
use crate::config::{CityConfig, UnitKind};
use crate::form::{FieldCode, FieldError, uscc_is_valid};
use crate::text::{TextKind, check_field};
use serde::{Deserialize, Serialize};

code_enum! {
    /// The five levels of a rating (政务服务“好差评”): from 非常满意 down
    /// to 非常不满意.
    RatingLevel {
        VerySatisfied => "very_satisfied", "非常满意";
        Satisfied => "satisfied", "满意";
        BasicallySatisfied => "basically_satisfied", "基本满意";
        Dissatisfied => "dissatisfied", "不满意";
        VeryDissatisfied => "very_dissatisfied", "非常不满意";
    }
}

impl RatingLevel {
    /// 5 (非常满意) down to 1 (非常不满意).
    pub fn score(self) -> i64 {
        match self {
            RatingLevel::VerySatisfied => 5,
            RatingLevel::Satisfied => 4,
            RatingLevel::BasicallySatisfied => 3,
            RatingLevel::Dissatisfied => 2,
            RatingLevel::VeryDissatisfied => 1,
        }
    }

    pub fn from_score(score: i64) -> Option<RatingLevel> {
        RatingLevel::ALL
            .iter()
            .copied()
            .find(|l| l.score() == score)
    }

    /// 不满意 or worse: the unit concerned owes a written answer (差评整改).
    pub fn is_bad(self) -> bool {
        self.score() <= 2
    }

    /// Counted as satisfied in the satisfaction rate (基本满意 and better).
    pub fn is_satisfied(self) -> bool {
        self.score() >= 3
    }
}

code_enum! {
    /// What a rating is about.
    RatingSubject {
        Application => "application", "联合报装申请";
        WorkOrder => "work_order", "工单";
        Consultation => "consultation", "窗口咨询";
        WindowVisit => "window_visit", "窗口办事";
    }
}

code_enum! {
    /// What a follow-up answers.
    FollowUpKind {
        Consultation => "consultation", "咨询回复";
        Rating => "rating", "差评整改";
    }
}

code_enum! {
    FollowUpStatus {
        Open => "open", "待回复";
        Answered => "answered", "已回复";
    }
}

code_enum! {
    /// The business a queue ticket is taken for (咨询、缴费、报装、查询、过户).
    BusinessKind {
        Apply => "apply", "报装";
        Pay => "pay", "缴费";
        Consult => "consult", "咨询";
        Query => "query", "查询";
        Transfer => "transfer", "过户";
    }
}

impl BusinessKind {
    /// The letter its tickets start with: `A012` is the twelfth ticket of
    /// the day, for an application.
    pub fn letter(self) -> char {
        match self {
            BusinessKind::Apply => 'A',
            BusinessKind::Pay => 'B',
            BusinessKind::Consult => 'C',
            BusinessKind::Query => 'D',
            BusinessKind::Transfer => 'E',
        }
    }
}

code_enum! {
    /// Where a queue ticket stands.
    TicketStatus {
        Waiting => "waiting", "等候中";
        Called => "called", "办理中";
        Served => "served", "已办结";
        Missed => "missed", "已过号";
    }
}

/// A ticket as the hall reads it out: the kind's letter and the day's
/// number, three digits at least (`C003`, `A1024`).
pub fn ticket_label(kind: BusinessKind, number: i64) -> String {
    format!("{}{:03}", kind.letter(), number)
}

/// Counters (窗口) of a hall are numbered 1 to this.
pub const MAX_COUNTER: i64 = 99;

/// Most services one consultation names.
pub const MAX_SERVICES: usize = 10;

/// Longest utility account number (户号) looked up or recorded.
pub const MAX_ACCOUNT_NUMBER: usize = 32;

/// Longest application number recorded with a consultation.
pub const MAX_APPLICATION_NUMBER: usize = 20;

/// A utility account number (户号) as typed: spaces dropped, letters
/// upper-cased; 1–32 of letters, digits and `-`.
pub fn account_number(raw: &str) -> Option<String> {
    if raw.len() > MAX_ACCOUNT_NUMBER * 4 {
        return None;
    }
    let n: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = !n.is_empty()
        && n.chars().count() <= MAX_ACCOUNT_NUMBER
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(n)
}

/// An application number as typed (`lb202612010001` → `LB202612010001`):
/// `LB` and 8 to 18 digits.
pub fn application_number(raw: &str) -> Option<String> {
    if raw.len() > MAX_APPLICATION_NUMBER * 4 {
        return None;
    }
    let n: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let digits = n.strip_prefix("LB")?;
    ((8..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// Who came to the window, as far as they said: every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// A person's or an enterprise's name.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub uscc: Option<String>,
    pub application_number: Option<String>,
    /// A utility account number (户号).
    pub account_number: Option<String>,
}

impl Customer {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.phone.is_none()
            && self.uscc.is_none()
            && self.application_number.is_none()
            && self.account_number.is_none()
    }
}

/// A consultation as a clerk typed it: raw values by field, before the
/// rules. `follow_up_unit` is `Some` when a follow-up is asked for (the
/// text may be empty: then it is missing).
#[derive(Debug, Clone, Default)]
pub struct ConsultationDraft<'a> {
    pub services: Vec<&'a str>,
    pub topic: Option<&'a str>,
    pub answer: Option<&'a str>,
    pub customer_name: Option<&'a str>,
    pub customer_phone: Option<&'a str>,
    pub customer_uscc: Option<&'a str>,
    pub application_number: Option<&'a str>,
    pub account_number: Option<&'a str>,
    pub follow_up_unit: Option<&'a str>,
}

/// A consultation that keeps the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationInput {
    /// Configured service codes, each once, in configuration order.
    pub services: Vec<String>,
    pub topic: String,
    pub answer: String,
    pub customer: Customer,
    /// The utility that owes a follow-up, if one is needed.
    pub follow_up_unit: Option<String>,
}

/// A utility unit of the city, or the field's error.
fn utility_unit(
    config: &CityConfig,
    field: &str,
    code: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let code = code.trim();
    if code.is_empty() {
        errors.push(FieldError::new(
            field,
            FieldCode::Required,
            "请选择负责回复的单位",
        ));
        return None;
    }
    if config
        .units
        .iter()
        .any(|u| u.code == code && u.kind == UnitKind::Utility)
    {
        Some(code.to_owned())
    } else {
        errors.push(FieldError::new(
            field,
            FieldCode::UnknownValue,
            "请从列表中选择公用事业单位",
        ));
        None
    }
}

/// One optional text field through the one text rule.
fn optional_text(
    field: &str,
    label: &str,
    kind: TextKind,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match check_field(field, label, kind, raw, false) {
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn required_text(
    field: &str,
    label: &str,
    kind: TextKind,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match check_field(field, label, kind, raw, true) {
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// A field given but blank is absent.
fn given(raw: Option<&str>) -> Option<&str> {
    raw.filter(|v| !crate::text::is_blank(v))
}

/// Checks a consultation: services known (at least one), topic and answer
/// through the one text rule, the customer's phone, USCC, application and
/// account numbers in their forms, and the follow-up's unit a utility.
/// Every problem is reported at once, by the field's JSON path.
pub fn validate_consultation(
    d: &ConsultationDraft<'_>,
    config: &CityConfig,
) -> Result<ConsultationInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut services: Vec<String> = Vec::new();
    if d.services.len() > MAX_SERVICES {
        errors.push(FieldError::new(
            "services",
            FieldCode::OutOfRange,
            format!("所涉业务至多选择{MAX_SERVICES}项"),
        ));
    } else {
        let mut unknown = false;
        for code in &d.services {
            let code = code.trim();
            if config.service(code).is_none() {
                unknown = true;
            }
        }
        if unknown {
            errors.push(FieldError::new(
                "services",
                FieldCode::UnknownValue,
                "所涉业务请从列表中选择",
            ));
        } else {
            // Configuration order, each once.
            for s in &config.services {
                if d.services.iter().any(|c| c.trim() == s.code) {
                    services.push(s.code.clone());
                }
            }
            if services.is_empty() {
                errors.push(FieldError::new(
                    "services",
                    FieldCode::Required,
                    "请至少选择一项所涉业务",
                ));
            }
        }
    }
    let topic = required_text("topic", "咨询事项", TextKind::Topic, d.topic, &mut errors);
    let answer = required_text("answer", "答复内容", TextKind::Note, d.answer, &mut errors);
    let name = optional_text(
        "customer.name",
        "客户名称",
        TextKind::UnitName,
        d.customer_name,
        &mut errors,
    );
    let phone = given(d.customer_phone).and_then(|p| {
        let p: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        if p.len() <= 20 && crate::form::phone_is_valid(&p) {
            Some(p)
        } else {
            errors.push(FieldError::new(
                "customer.phone",
                FieldCode::InvalidFormat,
                "联系电话应为11位手机号或带区号的固定电话",
            ));
            None
        }
    });
    let uscc = given(d.customer_uscc).and_then(|u| {
        let u = u.trim().to_ascii_uppercase();
        if u.chars().count() != crate::form::USCC_LEN {
            errors.push(FieldError::new(
                "customer.uscc",
                FieldCode::InvalidFormat,
                "统一社会信用代码应为18位",
            ));
            None
        } else if !uscc_is_valid(&u) {
            errors.push(FieldError::new(
                "customer.uscc",
                FieldCode::UsccChecksum,
                "统一社会信用代码校验位错误，请核对后重新填写",
            ));
            None
        } else {
            Some(u)
        }
    });
    let number = given(d.application_number).and_then(|n| {
        let parsed = application_number(n);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "customer.application_number",
                FieldCode::InvalidFormat,
                "申请编号应为 LB 加数字，如 LB202612010001",
            ));
        }
        parsed
    });
    let account = given(d.account_number).and_then(|n| {
        let parsed = account_number(n);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "customer.account_number",
                FieldCode::InvalidFormat,
                format!("户号应为{MAX_ACCOUNT_NUMBER}位以内的字母、数字或“-”"),
            ));
        }
        parsed
    });
    let follow_up_unit = d
        .follow_up_unit
        .and_then(|u| utility_unit(config, "follow_up.unit", u, &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ConsultationInput {
        services,
        topic: topic.unwrap_or_default(),
        answer: answer.unwrap_or_default(),
        customer: Customer {
            name,
            phone,
            uscc,
            application_number: number,
            account_number: account,
        },
        follow_up_unit,
    })
}

/// A rating as given: its level's code, an optional comment and the unit
/// it concerns.
#[derive(Debug, Clone, Default)]
pub struct RatingDraft<'a> {
    pub level: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub unit: Option<&'a str>,
}

/// A rating that keeps the rules. Which unit it concerns is settled by the
/// use case against its subject ([`RatingInput::unit`] is what was named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingInput {
    pub level: RatingLevel,
    pub comment: Option<String>,
    pub unit: Option<String>,
}

/// Checks a rating: one of the five levels, an optional comment (the one
/// text rule), a named unit that is a utility of the city.
pub fn validate_rating(
    d: &RatingDraft<'_>,
    config: &CityConfig,
) -> Result<RatingInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let level = match given(d.level).map(str::trim) {
        None => {
            errors.push(FieldError::new(
                "level",
                FieldCode::Required,
                "请选择评价等级",
            ));
            None
        }
        Some(code) => {
            let l = RatingLevel::parse(code);
            if l.is_none() {
                errors.push(FieldError::new(
                    "level",
                    FieldCode::UnknownValue,
                    "评价等级应为非常满意、满意、基本满意、不满意或非常不满意",
                ));
            }
            l
        }
    };
    let comment = optional_text(
        "comment",
        "评价意见",
        TextKind::ShortNote,
        d.comment,
        &mut errors,
    );
    let unit = given(d.unit).and_then(|u| utility_unit(config, "unit", u, &mut errors));
    match (level, errors.is_empty()) {
        (Some(level), true) => Ok(RatingInput {
            level,
            comment,
            unit,
        }),
        _ => Err(errors),
    }
}

/// The unit's written answer to a follow-up (required, multi-line).
pub fn validate_response(raw: Option<&str>) -> Result<String, Vec<FieldError>> {
    check_field("response", "回复内容", TextKind::Note, raw, true)
        .map(Option::unwrap_or_default)
        .map_err(|e| vec![e])
}

/// The counter that calls the next ticket: 1 to [`MAX_COUNTER`].
pub fn validate_counter(raw: Option<&str>) -> Result<i64, Vec<FieldError>> {
    let Some(raw) = given(raw) else {
        return Err(vec![FieldError::new(
            "counter",
            FieldCode::Required,
            "请填写窗口号",
        )]);
    };
    let digits: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    match digits.parse::<i64>() {
        Ok(n) if (1..=MAX_COUNTER).contains(&n) => Ok(n),
        Ok(_) => Err(vec![FieldError::new(
            "counter",
            FieldCode::OutOfRange,
            format!("窗口号应为1到{MAX_COUNTER}"),
        )]),
        Err(_) => Err(vec![FieldError::new(
            "counter",
            FieldCode::InvalidFormat,
            "窗口号请填写数字",
        )]),
    }
}

/// The local date (`YYYY-MM-DD`) of an instant at `offset`: the day a
/// ticket is numbered in and a record is counted on.
pub fn local_day(ms: i64, offset: time::UtcOffset) -> String {
    let d = crate::timefmt::from_ms(ms, offset).date();
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config() -> CityConfig {
        CityConfig::default_city()
    }

    fn draft() -> ConsultationDraft<'static> {
        ConsultationDraft {
            services: vec!["power", "water", "water"],
            topic: Some(" 新装用电需要哪些材料 "),
            answer: Some("只需一份申请表。\r\n其余材料由平台共享。"),
            customer_name: Some("随州市示例商贸有限公司"),
            customer_phone: Some("138 0000 0000"),
            customer_uscc: Some("91421300ma49abcd17"),
            application_number: Some("lb202612010001"),
            account_number: Some(" 0722-001 "),
            follow_up_unit: Some("sz-power"),
        }
    }

    #[test]
    fn a_consultation_is_cleaned_and_ordered() {
        let c = validate_consultation(&draft(), &config()).unwrap();
        assert_eq!(c.services, ["water", "power"]);
        assert_eq!(c.topic, "新装用电需要哪些材料");
        assert_eq!(c.answer, "只需一份申请表。\n其余材料由平台共享。");
        assert_eq!(c.customer.phone.as_deref(), Some("13800000000"));
        assert_eq!(c.customer.uscc.as_deref(), Some("91421300MA49ABCD17"));
        assert_eq!(
            c.customer.application_number.as_deref(),
            Some("LB202612010001")
        );
        assert_eq!(c.customer.account_number.as_deref(), Some("0722-001"));
        assert_eq!(c.follow_up_unit.as_deref(), Some("sz-power"));
        let none = ConsultationDraft {
            follow_up_unit: None,
            customer_name: Some("  "),
            customer_phone: None,
            customer_uscc: Some(""),
            application_number: None,
            account_number: None,
            ..draft()
        };
        let c = validate_consultation(&none, &config()).unwrap();
        assert!(c.customer.is_empty() || c.customer.name.is_none());
        assert!(c.customer.is_empty());
        assert_eq!(c.follow_up_unit, None);
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let bad = ConsultationDraft {
            services: vec!["electricity"],
            topic: Some("问"),
            answer: None,
            customer_name: Some("张\u{202e}三"),
            customer_phone: Some("12345"),
            customer_uscc: Some("91421300MA49ABCD18"),
            application_number: Some("AB1"),
            account_number: Some("户号一"),
            follow_up_unit: Some("sz-zrzy"),
        };
        let errors = validate_consultation(&bad, &config()).unwrap_err();
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("services", "unknown_value"),
                ("topic", "out_of_range"),
                ("answer", "required"),
                ("customer.name", "invalid_format"),
                ("customer.phone", "invalid_format"),
                ("customer.uscc", "uscc_checksum"),
                ("customer.application_number", "invalid_format"),
                ("customer.account_number", "invalid_format"),
                ("follow_up.unit", "unknown_value"),
            ]
        );
        let empty = ConsultationDraft {
            services: vec![],
            follow_up_unit: Some(""),
            ..draft()
        };
        let errors = validate_consultation(&empty, &config()).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("services", FieldCode::Required)
        );
        assert_eq!(
            (errors[1].field.as_str(), errors[1].code),
            ("follow_up.unit", FieldCode::Required)
        );
        let many = ConsultationDraft {
            services: vec!["water"; MAX_SERVICES + 1],
            ..draft()
        };
        let errors = validate_consultation(&many, &config()).unwrap_err();
        assert_eq!(errors[0].code, FieldCode::OutOfRange);
    }

    #[test]
    fn ratings_have_five_levels_and_bad_ones_are_two() {
        assert_eq!(RatingLevel::ALL.len(), 5);
        let labels: Vec<&str> = RatingLevel::ALL.iter().map(|l| l.label_zh()).collect();
        assert_eq!(
            labels,
            ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
        );
        for l in RatingLevel::ALL {
            assert_eq!(RatingLevel::from_score(l.score()), Some(*l));
            assert_eq!(l.is_bad(), !l.is_satisfied());
        }
        let bad: Vec<_> = RatingLevel::ALL.iter().filter(|l| l.is_bad()).collect();
        assert_eq!(
            bad,
            [&RatingLevel::Dissatisfied, &RatingLevel::VeryDissatisfied]
        );
        assert_eq!(RatingLevel::from_score(0), None);
        let r = validate_rating(
            &RatingDraft {
                level: Some("dissatisfied"),
                comment: Some(" 等了很久。 "),
                unit: Some("sz-water"),
            },
            &config(),
        )
        .unwrap();
        assert_eq!(r.level, RatingLevel::Dissatisfied);
        assert_eq!(r.comment.as_deref(), Some("等了很久。"));
        assert_eq!(r.unit.as_deref(), Some("sz-water"));
        let e = validate_rating(
            &RatingDraft {
                level: Some("good"),
                comment: Some(&"好".repeat(501)),
                unit: Some("nowhere"),
            },
            &config(),
        )
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("level", FieldCode::UnknownValue),
                ("comment", FieldCode::TooLong),
                ("unit", FieldCode::UnknownValue),
            ]
        );
        let e = validate_rating(&RatingDraft::default(), &config()).unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].code),
            ("level", FieldCode::Required)
        );
    }

    #[test]
    fn tickets_counters_and_numbers() {
        assert_eq!(ticket_label(BusinessKind::Consult, 3), "C003");
        assert_eq!(ticket_label(BusinessKind::Apply, 1024), "A1024");
        assert_eq!(validate_counter(Some(" 3 ")), Ok(3));
        assert_eq!(validate_counter(Some("１２")), Ok(12));
        assert_eq!(
            validate_counter(Some("0")).unwrap_err()[0].code,
            FieldCode::OutOfRange
        );
        assert_eq!(
            validate_counter(Some("三")).unwrap_err()[0].code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            validate_counter(None).unwrap_err()[0].code,
            FieldCode::Required
        );
        assert_eq!(account_number("ab 12-3"), Some("AB12-3".into()));
        assert_eq!(account_number(""), None);
        assert_eq!(account_number(&"1".repeat(33)), None);
        assert_eq!(
            application_number(" lb2026120100011 "),
            Some("LB2026120100011".into())
        );
        assert_eq!(application_number("LB12"), None);
        assert!(crate::hall::code_is_valid("zd-zwzx"));
        assert!(!crate::hall::code_is_valid("大厅"));
        assert_eq!(
            local_day(
                crate::timefmt::to_ms(crate::timefmt::parse("2026-12-01T23:30:00+08:00").unwrap()),
                time::macros::offset!(+8)
            ),
            "2026-12-01"
        );
        assert_eq!(
            validate_response(Some("  ")).unwrap_err()[0].code,
            FieldCode::Required
        );
    }

    proptest! {
        /// Whatever is typed, the rules answer (never panic), and what they
        /// accept is clean and within its limits.
        #[test]
        fn consultations_accept_only_clean_bounded_text(
            topic in "\\PC{0,120}",
            answer in "\\PC{0,40}|[\\u{0}-\\u{3000}\\u{200b}-\\u{206f}]{0,40}",
            name in proptest::option::of("\\PC{0,120}"),
            phone in proptest::option::of("[0-9 -]{0,16}"),
            account in proptest::option::of("[0-9A-Za-z -]{0,40}|\\PC{0,10}"),
        ) {
            let d = ConsultationDraft {
                services: vec!["water"],
                topic: Some(&topic),
                answer: Some(&answer),
                customer_name: name.as_deref(),
                customer_phone: phone.as_deref(),
                customer_uscc: None,
                application_number: None,
                account_number: account.as_deref(),
                follow_up_unit: None,
            };
            if let Ok(c) = validate_consultation(&d, &config()) {
                let n = c.topic.chars().count();
                prop_assert!((2..=100).contains(&n));
                prop_assert!(!c.topic.contains('\n'));
                prop_assert!(c.answer.chars().count() <= 1000);
                prop_assert!(!c.answer.chars().any(crate::text::is_forbidden));
                if let Some(a) = &c.customer.account_number {
                    prop_assert!(a.len() <= MAX_ACCOUNT_NUMBER);
                    prop_assert_eq!(account_number(a), Some(a.clone()));
                }
                if let Some(p) = &c.customer.phone {
                    prop_assert!(!p.contains(' '));
                }
            }
        }

        #[test]
        fn counters_are_one_to_ninety_nine(raw in "\\PC{0,6}") {
            if let Ok(n) = validate_counter(Some(&raw)) {
                prop_assert!((1..=MAX_COUNTER).contains(&n));
            }
        }

        #[test]
        fn account_numbers_are_normalised_once(raw in "\\PC{0,50}") {
            if let Some(n) = account_number(&raw) {
                prop_assert_eq!(account_number(&n), Some(n.clone()));
                prop_assert!(n.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'));
            }
        }
    }
}
