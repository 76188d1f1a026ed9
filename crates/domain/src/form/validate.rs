//! Validation and normalisation of an untrusted application body.
//!
//! The validator walks the JSON body once, collects every problem (up to
//! [`MAX_ERRORS`]) and builds the normalised [`ApplicationForm`] only when
//! there are none. Work per string is bounded by the field's maximum length,
//! never by the size of the input.

use super::error::{FieldCode, FieldError};
use super::limits::*;
use super::types::*;
use super::uscc::{USCC_LEN, uscc_char_value, uscc_is_valid};
use crate::config::{CityConfig, KNOWN_SERVICES};
use crate::text::{TextKind, TextProblem};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

mod pre_registration;
pub use pre_registration::validate_pre_registration;

/// At most this many problems are reported for one body; a body with more is
/// not a form someone filled in, and echoing all would amplify it.
pub const MAX_ERRORS: usize = 500;

const TOP_FIELDS: &[&str] = &[
    "applicant",
    "address",
    "appointment_at",
    "contact",
    "project_code",
    "mode",
    "channel",
    "hall_id",
    "services",
];

/// Validate and normalise an application body (form 附表2) against the city's
/// configuration, at instant `now`. Every problem is reported at once.
pub fn validate_application(
    body: &Value,
    config: &CityConfig,
    now: OffsetDateTime,
) -> Result<ApplicationForm, Vec<FieldError>> {
    let Some(root) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            FieldCode::InvalidFormat,
            "申请内容应为 JSON 对象，如 {\"applicant\": {…}, \"services\": {…}}",
        )]);
    };
    let mut cx = Ctx {
        errors: Vec::new(),
        config,
    };
    cx.unknown_keys(root, "", TOP_FIELDS);

    let applicant = cx.applicant(root.get("applicant"));
    let address = cx.address(root.get("address"));
    let appointment_at = cx.appointment(root.get("appointment_at"), now);
    let contact = cx.contact(root.get("contact"));
    let project_code = cx.project_code(root.get("project_code"));
    let mode = cx.choice::<Mode>(root.get("mode"), "mode", "报装方式", true);
    let channel = cx.choice::<Channel>(root.get("channel"), "channel", "申请渠道", true);
    let hall_id = cx.hall_id(root.get("hall_id"), &channel);
    let services = cx.services(root.get("services"));

    let built = (|| {
        Some(ApplicationForm {
            applicant: applicant?,
            address: address?,
            appointment_at: appointment_at.optional()?,
            contact: contact?,
            project_code: project_code.optional()?,
            mode: mode.value()?,
            channel: channel.value()?,
            hall_id: hall_id?,
            services: services?,
        })
    })();
    match built {
        Some(form) if cx.errors.is_empty() => Ok(form),
        _ => {
            if cx.errors.is_empty() {
                // Every refusal above records its reason; this is a safety net.
                cx.errors.push(FieldError::new(
                    "",
                    FieldCode::InvalidFormat,
                    "申请内容有误，请检查后重新提交",
                ));
            }
            Err(cx.errors)
        }
    }
}

/// A returned application's correction (补正): the new sections of the
/// services it corrects and, if given, the new contact, merged into the
/// form as filed, with what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// The whole form after the correction.
    pub form: ApplicationForm,
    /// The changed parts as they were (`{"services": {"water": {…}}, "contact": {…}}`).
    pub before: Value,
    /// The changed parts as they are now, in the same shape.
    pub after: Value,
}

impl Correction {
    /// Whether anything changed at all.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// Reads a correction of `current` from an action's data: `services` (an
/// object of the sections to replace, each validated like the form's, only
/// for the services in `allowed`) and `contact` (validated like the
/// form's). Other keys of `data` are the action's own and are not read.
/// `Ok(None)` when the data corrects nothing (a plain resubmission).
pub fn validate_correction(
    data: &Value,
    current: &ApplicationForm,
    allowed: &[&str],
    config: &CityConfig,
) -> Result<Option<Correction>, Vec<FieldError>> {
    let services = data.get("services").filter(|v| !v.is_null());
    let contact = data.get("contact").filter(|v| !v.is_null());
    if services.is_none() && contact.is_none() {
        return Ok(None);
    }
    let mut cx = Ctx {
        errors: Vec::new(),
        config,
    };
    if let Some(map) = services.and_then(Value::as_object) {
        for key in map.keys() {
            if KNOWN_SERVICES.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
                let name = service_name_zh(key).unwrap_or(key);
                cx.push(
                    path("services", key),
                    FieldCode::NotAllowed,
                    format!("本次补正只能修改被退回业务的内容，{name}业务未被退回"),
                );
            }
        }
    }
    let new_services = services.map(|v| cx.services(Some(v)));
    let new_contact = contact.map(|v| cx.contact(Some(v)));
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    // The carriers decide which work orders exist: a correction keeps them.
    if let (Some(Some(new)), Some(old)) = (&new_services, &current.services.network)
        && let Some(n) = &new.network
        && n.carriers != old.carriers
    {
        return Err(vec![FieldError::new(
            "services.network.carriers",
            FieldCode::NotAllowed,
            "通信运营商不能在补正中变更；如需更换运营商，请撤销后重新申请",
        )]);
    }
    let mut form = current.clone();
    let section = |s: &Services, code: &str| -> Value {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.get(code).cloned())
            .unwrap_or(Value::Null)
    };
    let (mut before, mut after) = (Map::new(), Map::new());
    if let Some(Some(new)) = new_services {
        let (mut b, mut a) = (Map::new(), Map::new());
        for code in new.chosen() {
            let (old_v, new_v) = (section(&form.services, code), section(&new, code));
            if old_v != new_v {
                b.insert(code.to_owned(), old_v);
                a.insert(code.to_owned(), new_v);
            }
            match code {
                "water" => form.services.water = new.water.clone(),
                "power" => form.services.power = new.power.clone(),
                "gas" => form.services.gas = new.gas.clone(),
                "heat" => form.services.heat = new.heat.clone(),
                "network" => form.services.network = new.network.clone(),
                _ => {}
            }
        }
        if !b.is_empty() {
            before.insert("services".into(), Value::Object(b));
            after.insert("services".into(), Value::Object(a));
        }
    }
    if let Some(Some(new)) = new_contact {
        if new != form.contact {
            let json = |c: &Contact| serde_json::to_value(c).unwrap_or(Value::Null);
            before.insert("contact".into(), json(&form.contact));
            after.insert("contact".into(), json(&new));
        }
        form.contact = new;
    }
    Ok(Some(Correction {
        form,
        before: Value::Object(before),
        after: Value::Object(after),
    }))
}

/// For the web form, where services are ticked and their sections filled
/// separately: reports `service_details_missing` for a selected service whose
/// section in `body.services` is absent or empty, and `unexpected_service_details`
/// for a filled section whose service is not selected. `body` is the whole
/// application body. Codes that are no service of the form are `unknown_value`.
/// (The API needs no selection: there the keys of `services` are the selection.)
pub fn check_selection(selected: &[String], body: &Value) -> Vec<FieldError> {
    let sections = body.get("services").and_then(Value::as_object);
    let filled = |code: &str| sections.and_then(|s| s.get(code)).is_some_and(has_content);
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for code in selected {
        let code = code.trim();
        if seen.contains(&code) {
            continue;
        }
        seen.push(code);
        let field = path("services", code);
        if let Some(name) = service_name_zh(code) {
            if !filled(code) {
                errors.push(FieldError::new(
                    field,
                    FieldCode::ServiceDetailsMissing,
                    format!("已选择{name}业务，请填写{name}业务的详细信息"),
                ));
            }
        } else {
            errors.push(FieldError::new(
                field,
                FieldCode::UnknownValue,
                format!("未知的业务“{}”", echo(code)),
            ));
        }
    }
    if let Some(sections) = sections {
        for (key, value) in sections {
            if !seen.contains(&key.as_str()) && has_content(value) {
                let what =
                    service_name_zh(key).map_or_else(|| format!("“{}”", echo(key)), str::to_owned);
                errors.push(FieldError::new(
                    path("services", key),
                    FieldCode::UnexpectedServiceDetails,
                    format!("未选择{what}业务，却填写了其详细信息：请勾选该业务，或清空这部分内容"),
                ));
            }
        }
    }
    errors
}

/// Whether a value carries anything: not null, not blank text, not an empty
/// list or object, and (for lists and objects) something inside carries anything.
fn has_content(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => a.iter().any(has_content),
        Value::Object(o) => o.values().any(has_content),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The Chinese name of one of the form's services.
fn service_name_zh(code: &str) -> Option<&'static str> {
    match code {
        "water" => Some("用水"),
        "power" => Some("用电"),
        "gas" => Some("用气"),
        "heat" => Some("用暖"),
        "network" => Some("用网"),
        _ => None,
    }
}

/// The outcome of reading one field.
enum Got<T> {
    /// Missing, `null` or blank (already reported if it was required).
    Absent,
    /// Present but refused (already reported).
    Bad,
    Val(T),
}

impl<T> Got<T> {
    /// The value of a required field; `None` when absent or refused.
    fn value(self) -> Option<T> {
        match self {
            Got::Val(v) => Some(v),
            Got::Absent | Got::Bad => None,
        }
    }

    /// The value of an optional field: `Some(None)` when absent, `None` when refused.
    fn optional(self) -> Option<Option<T>> {
        match self {
            Got::Val(v) => Some(Some(v)),
            Got::Absent => Some(None),
            Got::Bad => None,
        }
    }
}

/// A value that counts as given: neither `null` nor a blank string.
fn given(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    })
}

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A path segment for a key the form does not know: long keys are cut.
fn key_segment(key: &str) -> String {
    const MAX: usize = 64;
    match key.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &key[..i]),
        None => key.to_owned(),
    }
}

/// Text of the submitter's, quoted back in a message: short and with control characters escaped.
fn echo(s: &str) -> String {
    const MAX: usize = 20;
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        if is_forbidden_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// What a code-like string may not hold: controls, line breaks, direction
/// controls and invisible characters (free text goes through
/// [`crate::text::clean`] instead).
fn is_forbidden_char(c: char) -> bool {
    c.is_control() || crate::text::is_forbidden(c) || crate::text::is_invisible(c)
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

/// Mainland mobile `1[3-9]` + 9 digits, or landline `0` + 2–3 digits, optional `-`, 7–8 digits.
pub fn phone_is_valid(s: &str) -> bool {
    let b = s.as_bytes();
    let all_digits = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
    match b.first() {
        Some(b'1') => crate::contact::is_mobile(s),
        Some(b'0') => {
            if let Some(dash) = b.iter().position(|&c| c == b'-') {
                let (area, local) = (&b[..dash], &b[dash + 1..]);
                (3..=4).contains(&area.len())
                    && (7..=8).contains(&local.len())
                    && all_digits(area)
                    && all_digits(local)
            } else {
                // Area code 3–4 digits with the 0, local number 7–8 digits.
                (10..=12).contains(&b.len()) && all_digits(b)
            }
        }
        _ => false,
    }
}

/// Project code `NNNN-NNNNNN-NN-NN-NNNNNN`.
pub(crate) fn project_code_is_valid(s: &str) -> bool {
    let groups = [4usize, 6, 2, 2, 6];
    let b = s.as_bytes();
    if b.len() != groups.iter().sum::<usize>() + groups.len() - 1 {
        return false;
    }
    let mut parts = b.split(|&c| c == b'-');
    groups.iter().all(|&n| {
        parts
            .next()
            .is_some_and(|p| p.len() == n && p.iter().all(u8::is_ascii_digit))
    }) && parts.next().is_none()
}

fn hall_id_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

struct Ctx<'c> {
    errors: Vec<FieldError>,
    config: &'c CityConfig,
}

impl Ctx<'_> {
    fn push(&mut self, field: impl Into<String>, code: FieldCode, message: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(FieldError::new(field, code, message));
        }
    }

    fn missing(&mut self, field: &str, label: &str, required: bool) {
        if required {
            self.push(field, FieldCode::Required, format!("请填写{label}"));
        }
    }

    fn unknown_keys(&mut self, map: &Map<String, Value>, prefix: &str, allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.push(
                    path(prefix, &key_segment(key)),
                    FieldCode::UnknownField,
                    format!(
                        "不支持的字段“{}”，请删除；此处可填写的字段为：{}",
                        echo(key),
                        allowed.join("、")
                    ),
                );
            }
        }
    }

    /// A JSON object with only the `allowed` keys (unknown ones are reported, the object is still read).
    fn object<'v>(
        &mut self,
        v: Option<&'v Value>,
        field: &str,
        label: &str,
        allowed: &[&str],
        required: bool,
    ) -> Got<&'v Map<String, Value>> {
        let Some(v) = given(v) else {
            self.missing(field, label, required);
            return Got::Absent;
        };
        match v.as_object() {
            Some(map) => {
                self.unknown_keys(map, field, allowed);
                Got::Val(map)
            }
            None => {
                self.push(
                    field,
                    FieldCode::InvalidFormat,
                    format!("{label}格式不正确：应为 JSON 对象（{{…}}）"),
                );
                Got::Bad
            }
        }
    }

    /// A trimmed, non-blank code-like string without control or invisible
    /// characters, of at most `max` characters (else `too_long_code`) and at least `min` (else `out_of_range`).
    #[allow(clippy::too_many_arguments)]
    fn string_with(
        &mut self,
        v: Option<&Value>,
        field: &str,
        label: &str,
        required: bool,
        min: usize,
        max: usize,
        too_long: Option<String>,
    ) -> Got<String> {
        let s = match self.given_str(v, field, label, required) {
            Got::Val(s) => s,
            Got::Absent => return Got::Absent,
            Got::Bad => return Got::Bad,
        };
        let s = s.trim();
        // Bounded work: never look at more than `max + 1` characters to count.
        let len = s.chars().take(max + 1).count();
        if len > max {
            let (code, message) = match too_long {
                Some(message) => (FieldCode::InvalidFormat, message),
                None => (
                    FieldCode::TooLong,
                    format!("{label}不能超过{max}个字，请精简后重新填写"),
                ),
            };
            self.push(field, code, message);
            return Got::Bad;
        }
        if s.chars().any(is_forbidden_char) {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("{label}含有换行、控制字符或不可见字符，请删除后重新填写"),
            );
            return Got::Bad;
        }
        if len < min {
            self.push(
                field,
                FieldCode::OutOfRange,
                format!("{label}至少需要{min}个字"),
            );
            return Got::Bad;
        }
        Got::Val(s.to_owned())
    }

    /// A given string value (absent or not a string reported as such).
    fn given_str<'v>(
        &mut self,
        v: Option<&'v Value>,
        field: &str,
        label: &str,
        required: bool,
    ) -> Got<&'v str> {
        let Some(v) = given(v) else {
            self.missing(field, label, required);
            return Got::Absent;
        };
        match v.as_str() {
            Some(s) => Got::Val(s),
            None => {
                self.push(
                    field,
                    FieldCode::InvalidFormat,
                    format!("{label}应为文本（加引号的字符串）"),
                );
                Got::Bad
            }
        }
    }

    /// Free text of `kind`, cleaned by the one rule ([`crate::text::clean`]).
    fn text(
        &mut self,
        v: Option<&Value>,
        field: &str,
        label: &str,
        required: bool,
        kind: TextKind,
    ) -> Got<String> {
        let s = match self.given_str(v, field, label, required) {
            Got::Val(s) => s,
            Got::Absent => return Got::Absent,
            Got::Bad => return Got::Bad,
        };
        match crate::text::clean(kind, s) {
            Ok(s) => Got::Val(s),
            Err(TextProblem::Blank) => {
                self.missing(field, label, required);
                Got::Absent
            }
            Err(p) => {
                let e = crate::text::field_error(field, label, p);
                self.push(e.field, e.code, e.message);
                Got::Bad
            }
        }
    }

    /// A code-like string (checked further by the caller); beyond `max` characters it is `invalid_format`.
    fn code_str(
        &mut self,
        v: Option<&Value>,
        field: &str,
        label: &str,
        required: bool,
        max: usize,
        format_hint: &str,
    ) -> Got<String> {
        let too_long = format!("{label}格式不正确：{format_hint}");
        self.string_with(v, field, label, required, 1, max, Some(too_long))
    }

    fn choice<E: FormEnum>(
        &mut self,
        v: Option<&Value>,
        field: &str,
        label: &str,
        required: bool,
    ) -> Got<E> {
        let Some(given_v) = given(v) else {
            if required {
                self.push(field, FieldCode::Required, format!("请选择{label}"));
            }
            return Got::Absent;
        };
        let options = E::ALL
            .iter()
            .map(|e| format!("{}（{}）", e.as_str(), e.label_zh()))
            .collect::<Vec<_>>()
            .join("、");
        let Some(s) = given_v.as_str() else {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("{label}应为文本代码，可选：{options}"),
            );
            return Got::Bad;
        };
        let s = s.trim();
        match E::from_code(s) {
            Some(e) => Got::Val(e),
            None => {
                self.push(
                    field,
                    FieldCode::UnknownValue,
                    format!("{label}“{}”无效，可选：{options}", echo(s)),
                );
                Got::Bad
            }
        }
    }

    /// A JSON number in `[min, max]` (or `(min, max]` when `min_exclusive`).
    #[allow(clippy::too_many_arguments)]
    fn number(
        &mut self,
        v: Option<&Value>,
        field: &str,
        label: &str,
        unit: &str,
        min: f64,
        min_exclusive: bool,
        max: f64,
    ) -> Got<f64> {
        let Some(v) = given(v) else {
            self.missing(field, label, true);
            return Got::Absent;
        };
        let Some(x) = v.as_f64().filter(|x| x.is_finite()) else {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("{label}应为数字（不加引号、不带单位），单位为{unit}"),
            );
            return Got::Bad;
        };
        if x < min || (min_exclusive && x == min) {
            let bound = if min_exclusive { "大于" } else { "不小于" };
            self.push(
                field,
                FieldCode::OutOfRange,
                format!("{label}须{bound}{}{unit}", fmt_num(min)),
            );
            return Got::Bad;
        }
        if x > max {
            self.push(
                field,
                FieldCode::OutOfRange,
                format!("{label}不能超过{}{unit}，请核对数值和单位", fmt_num(max)),
            );
            return Got::Bad;
        }
        // Normalise -0.0 (allowed where 0 is) to 0.
        Got::Val(if x == 0.0 { 0.0 } else { x })
    }

    /// A whole number in `min..=max` (`4.0` counts as whole).
    fn integer(
        &mut self,
        v: Option<&Value>,
        field: &str,
        label: &str,
        unit: &str,
        (min, max): (u32, u32),
    ) -> Got<u32> {
        let Some(v) = given(v) else {
            self.missing(field, label, true);
            return Got::Absent;
        };
        let Some(x) = v.as_f64().filter(|x| x.is_finite() && x.fract() == 0.0) else {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("{label}应为整数（不加引号），如 {min}"),
            );
            return Got::Bad;
        };
        if x < f64::from(min) || x > f64::from(max) {
            self.push(
                field,
                FieldCode::OutOfRange,
                format!("{label}应在{min}到{max}{unit}之间"),
            );
            return Got::Bad;
        }
        // In range of u32 by the check above.
        Got::Val(x as u32)
    }

    fn boolean(&mut self, v: Option<&Value>, field: &str, label: &str) -> Got<bool> {
        let Some(v) = given(v) else {
            self.push(field, FieldCode::Required, format!("请选择{label}"));
            return Got::Absent;
        };
        match v.as_bool() {
            Some(b) => Got::Val(b),
            None => {
                self.push(
                    field,
                    FieldCode::InvalidFormat,
                    format!("{label}应为 true（是）或 false（否），不加引号"),
                );
                Got::Bad
            }
        }
    }

    // ── Sections ─────────────────────────────────────────────────────────

    fn applicant(&mut self, v: Option<&Value>) -> Option<Applicant> {
        let map = self
            .object(v, "applicant", "申请单位信息", &["name", "uscc"], true)
            .value()?;
        let name = self.text(
            map.get("name"),
            "applicant.name",
            "申请单位名称",
            true,
            TextKind::EnterpriseName,
        );
        let uscc = self.uscc(map.get("uscc"), "applicant.uscc", true);
        Some(Applicant {
            name: name.value()?,
            uscc: uscc.value()?,
        })
    }

    fn uscc(&mut self, v: Option<&Value>, field: &str, required: bool) -> Got<String> {
        const LABEL: &str = "统一社会信用代码";
        // Count up to a bound only, so that a huge string costs nothing.
        let s = match self.string_with(
            v,
            field,
            LABEL,
            required,
            0,
            1000,
            Some(format!("{LABEL}应为18位，当前过长")),
        ) {
            Got::Val(s) => s.to_ascii_uppercase(),
            Got::Absent => return Got::Absent,
            Got::Bad => return Got::Bad,
        };
        let len = s.chars().count();
        if len != USCC_LEN {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("{LABEL}应为18位，当前为{len}位，请核对后重新填写"),
            );
            return Got::Bad;
        }
        if let Some((i, c)) = s
            .chars()
            .enumerate()
            .find(|&(_, c)| uscc_char_value(c).is_none())
        {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!(
                    "{LABEL}第{}位“{}”无效：只能由数字和大写字母组成，且不含 I、O、S、V、Z",
                    i + 1,
                    echo(&c.to_string())
                ),
            );
            return Got::Bad;
        }
        if !uscc_is_valid(&s) {
            self.push(
                field,
                FieldCode::UsccChecksum,
                format!("{LABEL}校验位错误，请核对后重新填写"),
            );
            return Got::Bad;
        }
        Got::Val(s)
    }

    fn address(&mut self, v: Option<&Value>) -> Option<Address> {
        self.address_at(v, "address", "报装地址")
    }

    /// An address (district, detail, optional coordinates) at `prefix`.
    fn address_at(&mut self, v: Option<&Value>, prefix: &str, label: &str) -> Option<Address> {
        let map = self
            .object(
                v,
                prefix,
                label,
                &["district_code", "detail", "lng", "lat"],
                true,
            )
            .value()?;
        let f_district = path(prefix, "district_code");
        let f_detail = path(prefix, "detail");
        let config = self.config;
        let options = || {
            config
                .districts
                .iter()
                .map(|d| format!("{}（{}）", d.code, d.name))
                .collect::<Vec<_>>()
                .join("、")
        };
        let district_code = if given(map.get("district_code")).is_none() {
            self.push(
                &f_district,
                FieldCode::Required,
                format!("请选择所在区县，可选：{}", options()),
            );
            Got::Absent
        } else {
            match self.code_str(
                map.get("district_code"),
                &f_district,
                "所在区县",
                true,
                64,
                "应为区县代码",
            ) {
                Got::Val(code) if config.district(&code).is_some() => Got::Val(code),
                Got::Val(code) => {
                    self.push(
                        &f_district,
                        FieldCode::UnknownValue,
                        format!(
                            "区县代码“{}”不在{}范围内，可选：{}",
                            echo(&code),
                            config.city.name,
                            options()
                        ),
                    );
                    Got::Bad
                }
                other => other,
            }
        };
        let detail = self.text(
            map.get("detail"),
            &f_detail,
            "详细地址",
            true,
            TextKind::Address,
        );
        let (lng, lat) = self.coordinates(map.get("lng"), map.get("lat"), prefix);
        Some(Address {
            district_code: district_code.value()?,
            detail: detail.value()?,
            lng: lng?,
            lat: lat?,
        })
    }

    /// `lng`/`lat`: both or neither, inside the city's bounds.
    #[allow(clippy::type_complexity)]
    fn coordinates(
        &mut self,
        lng: Option<&Value>,
        lat: Option<&Value>,
        prefix: &str,
    ) -> (Option<Option<f64>>, Option<Option<f64>>) {
        let mut read = |v: Option<&Value>, field: &str, label: &str| -> Got<f64> {
            let Some(v) = given(v) else {
                return Got::Absent;
            };
            match v.as_f64().filter(|x| x.is_finite()) {
                Some(x) => Got::Val(x),
                None => {
                    self.push(
                        field,
                        FieldCode::InvalidFormat,
                        format!("{label}应为数字（WGS-84 度，不加引号），如 113.37"),
                    );
                    Got::Bad
                }
            }
        };
        let lng = read(lng, &path(prefix, "lng"), "经度");
        let lat = read(lat, &path(prefix, "lat"), "纬度");
        match (lng, lat) {
            (Got::Absent, Got::Absent) => (Some(None), Some(None)),
            (Got::Val(_), Got::Absent) => {
                self.push(
                    path(prefix, "lat"),
                    FieldCode::Required,
                    "填写了经度时须同时填写纬度",
                );
                (None, None)
            }
            (Got::Absent, Got::Val(_)) => {
                self.push(
                    path(prefix, "lng"),
                    FieldCode::Required,
                    "填写了纬度时须同时填写经度",
                );
                (None, None)
            }
            (Got::Val(x), Got::Val(y)) => {
                let b = self.config.city.bounds;
                let swapped = b.contains(y, x);
                let hint = if swapped {
                    "；经度和纬度可能填反了"
                } else {
                    ""
                };
                let lng_ok = (b.min_lng..=b.max_lng).contains(&x);
                let lat_ok = (b.min_lat..=b.max_lat).contains(&y);
                let city = &self.config.city.name;
                if !lng_ok {
                    self.push(
                        path(prefix, "lng"),
                        FieldCode::OutOfRange,
                        format!(
                            "经度不在{city}范围内（{}~{}）{hint}",
                            fmt_num(b.min_lng),
                            fmt_num(b.max_lng)
                        ),
                    );
                }
                if !lat_ok {
                    self.push(
                        path(prefix, "lat"),
                        FieldCode::OutOfRange,
                        format!(
                            "纬度不在{city}范围内（{}~{}）{hint}",
                            fmt_num(b.min_lat),
                            fmt_num(b.max_lat)
                        ),
                    );
                }
                if lng_ok && lat_ok {
                    (Some(Some(x)), Some(Some(y)))
                } else {
                    (None, None)
                }
            }
            _ => (None, None),
        }
    }

    fn appointment(&mut self, v: Option<&Value>, now: OffsetDateTime) -> Got<OffsetDateTime> {
        const FIELD: &str = "appointment_at";
        const LABEL: &str = "预约接入时间";
        const HINT: &str = "应为带时区的时间，如 2026-12-01T09:00:00+08:00";
        let s = match self.code_str(v, FIELD, LABEL, false, 64, HINT) {
            Got::Val(s) => s,
            Got::Absent => return Got::Absent,
            Got::Bad => return Got::Bad,
        };
        let Ok(t) = OffsetDateTime::parse(&s, &Rfc3339) else {
            self.push(
                FIELD,
                FieldCode::InvalidFormat,
                format!("{LABEL}格式不正确：{HINT}"),
            );
            return Got::Bad;
        };
        if t <= now {
            self.push(
                FIELD,
                FieldCode::NotInFuture,
                format!("{LABEL}须晚于当前时间，请重新选择；不填写表示尽快接入"),
            );
            return Got::Bad;
        }
        if two_years_after(now).is_some_and(|limit| t > limit) {
            self.push(
                FIELD,
                FieldCode::OutOfRange,
                format!("{LABEL}不能晚于两年之后，请重新选择"),
            );
            return Got::Bad;
        }
        let offset =
            UtcOffset::from_whole_seconds(self.config.working_time.utc_offset_minutes * 60)
                .unwrap_or(UtcOffset::UTC);
        match t.checked_to_offset(offset) {
            Some(local) => Got::Val(local),
            None => {
                self.push(
                    FIELD,
                    FieldCode::OutOfRange,
                    format!("{LABEL}超出可预约范围"),
                );
                Got::Bad
            }
        }
    }

    fn contact(&mut self, v: Option<&Value>) -> Option<Contact> {
        let map = self
            .object(v, "contact", "联系人信息", &["name", "phone"], true)
            .value()?;
        let name = self.text(
            map.get("name"),
            "contact.name",
            "联系人姓名",
            true,
            TextKind::PersonName,
        );
        const HINT: &str = "手机号为11位，以1开头；固定电话如 0722-1234567";
        let phone = match self.code_str(
            map.get("phone"),
            "contact.phone",
            "联系电话",
            true,
            32,
            HINT,
        ) {
            Got::Val(p) if phone_is_valid(&p) => Got::Val(p),
            Got::Val(_) => {
                self.push(
                    "contact.phone",
                    FieldCode::InvalidFormat,
                    format!("联系电话格式不正确：{HINT}"),
                );
                Got::Bad
            }
            other => other,
        };
        Some(Contact {
            name: name.value()?,
            phone: phone.value()?,
        })
    }

    fn project_code(&mut self, v: Option<&Value>) -> Got<String> {
        const HINT: &str = "应为 NNNN-NNNNNN-NN-NN-NNNNNN（数字），如 2611-421303-04-01-123456";
        match self.code_str(v, "project_code", "项目代码", false, 64, HINT) {
            Got::Val(p) if project_code_is_valid(&p) => Got::Val(p),
            Got::Val(_) => {
                self.push(
                    "project_code",
                    FieldCode::InvalidFormat,
                    format!("项目代码格式不正确：{HINT}"),
                );
                Got::Bad
            }
            other => other,
        }
    }

    /// `hall_id`: required for window submissions, not allowed for others.
    fn hall_id(&mut self, v: Option<&Value>, channel: &Got<Channel>) -> Option<Option<String>> {
        const FIELD: &str = "hall_id";
        match (channel, given(v)) {
            (Got::Val(Channel::Window), None) => {
                self.push(
                    FIELD,
                    FieldCode::Required,
                    "窗口受理的申请须填写服务大厅编号（hall_id）",
                );
                return None;
            }
            (Got::Val(c), Some(_)) if *c != Channel::Window => {
                self.push(
                    FIELD,
                    FieldCode::NotAllowed,
                    format!(
                        "只有窗口受理（channel 为 window）的申请填写服务大厅编号，{}渠道请删除 hall_id",
                        c.label_zh()
                    ),
                );
                return None;
            }
            _ => {}
        }
        let (min, max) = HALL_ID_CHARS;
        match self.string_with(v, FIELD, "服务大厅编号", false, min, max, None) {
            Got::Val(h) if h.chars().all(hall_id_char_ok) => Some(Some(h)),
            Got::Val(_) => {
                self.push(
                    FIELD,
                    FieldCode::InvalidFormat,
                    "服务大厅编号只能包含英文字母、数字、下划线和连字符",
                );
                None
            }
            Got::Absent => Some(None),
            Got::Bad => None,
        }
    }

    fn services(&mut self, v: Option<&Value>) -> Option<Services> {
        const FIELD: &str = "services";
        let config = self.config;
        let configured = || {
            config
                .services
                .iter()
                .map(|s| format!("{}（{}）", s.code, s.name))
                .collect::<Vec<_>>()
                .join("、")
        };
        let Some(v) = given(v) else {
            self.push(
                FIELD,
                FieldCode::Required,
                format!("请至少选择一项业务并填写其详细信息，可选：{}", configured()),
            );
            return None;
        };
        let Some(map) = v.as_object() else {
            self.push(
                FIELD,
                FieldCode::InvalidFormat,
                "业务应为 JSON 对象，以业务代码为键，如 {\"water\": {…}}",
            );
            return None;
        };
        if map.is_empty() {
            self.push(
                FIELD,
                FieldCode::Required,
                format!("请至少选择一项业务并填写其详细信息，可选：{}", configured()),
            );
            return None;
        }
        let mut services = Services::default();
        let mut ok = true;
        for code in KNOWN_SERVICES {
            let Some(section) = map.get(code) else {
                continue;
            };
            let field = path(FIELD, code);
            let Some(service) = config.service(code) else {
                let name = service_name_zh(code).unwrap_or(code);
                self.push(
                    &field,
                    FieldCode::UnknownValue,
                    format!(
                        "{}暂未开通{name}业务，可选：{}",
                        config.city.name,
                        configured()
                    ),
                );
                ok = false;
                continue;
            };
            let Some(details) = section.as_object().filter(|m| !m.is_empty()) else {
                let name = &service.name;
                self.push(
                    &field,
                    FieldCode::ServiceDetailsMissing,
                    format!("已选择{name}业务，请填写{name}业务的详细信息"),
                );
                ok = false;
                continue;
            };
            let parsed = match code {
                "water" => self
                    .water(details, &field)
                    .map(|d| services.water = Some(d)),
                "power" => self
                    .power(details, &field)
                    .map(|d| services.power = Some(d)),
                "gas" => self.gas(details, &field).map(|d| services.gas = Some(d)),
                "heat" => self.heat(details, &field).map(|d| services.heat = Some(d)),
                "network" => self
                    .network(details, &field)
                    .map(|d| services.network = Some(d)),
                _ => None,
            };
            ok &= parsed.is_some();
        }
        for key in map.keys() {
            if !KNOWN_SERVICES.contains(&key.as_str()) {
                self.push(
                    path(FIELD, &key_segment(key)),
                    FieldCode::UnknownValue,
                    format!("未知的业务“{}”，可选：{}", echo(key), configured()),
                );
                ok = false;
            }
        }
        ok.then_some(services)
    }

    fn water(&mut self, map: &Map<String, Value>, prefix: &str) -> Option<WaterDetails> {
        self.unknown_keys(map, prefix, &["business_type", "demand_tons_per_day"]);
        let business_type = self.choice::<WaterBusinessType>(
            map.get("business_type"),
            &path(prefix, "business_type"),
            "用水业务类型",
            true,
        );
        let demand = self.number(
            map.get("demand_tons_per_day"),
            &path(prefix, "demand_tons_per_day"),
            "用水量",
            "吨/日",
            0.0,
            true,
            MAX_WATER_DEMAND_TONS_PER_DAY,
        );
        Some(WaterDetails {
            business_type: business_type.value()?,
            demand_tons_per_day: demand.value()?,
        })
    }

    fn power(&mut self, map: &Map<String, Value>, prefix: &str) -> Option<PowerDetails> {
        self.unknown_keys(
            map,
            prefix,
            &["business_type", "main_capacity_kva", "backup_capacity_kva"],
        );
        let business_type = self.choice::<PowerBusinessType>(
            map.get("business_type"),
            &path(prefix, "business_type"),
            "用电业务类型",
            true,
        );
        let main = self.number(
            map.get("main_capacity_kva"),
            &path(prefix, "main_capacity_kva"),
            "主供容量",
            "kVA",
            0.0,
            true,
            MAX_CAPACITY_KVA,
        );
        let backup = self.number(
            map.get("backup_capacity_kva"),
            &path(prefix, "backup_capacity_kva"),
            "备用容量",
            "kVA",
            0.0,
            false,
            MAX_CAPACITY_KVA,
        );
        Some(PowerDetails {
            business_type: business_type.value()?,
            main_capacity_kva: main.value()?,
            backup_capacity_kva: backup.value()?,
        })
    }

    fn gas(&mut self, map: &Map<String, Value>, prefix: &str) -> Option<GasDetails> {
        self.unknown_keys(map, prefix, &["category", "equipment"]);
        let category = self.choice::<GasCategory>(
            map.get("category"),
            &path(prefix, "category"),
            "用气类别",
            true,
        );
        let equipment = self.gas_equipment(map.get("equipment"), &path(prefix, "equipment"));
        Some(GasDetails {
            category: category.value()?,
            equipment: equipment?,
        })
    }

    fn gas_equipment(&mut self, v: Option<&Value>, field: &str) -> Option<Vec<GasEquipment>> {
        let Some(v) = given(v) else {
            self.push(
                field,
                FieldCode::Required,
                "请至少填写一行用气设备（名称、数量、压力）",
            );
            return None;
        };
        let Some(lines) = v.as_array() else {
            self.push(
                field,
                FieldCode::InvalidFormat,
                "用气设备应为列表，如 [{\"name\": \"燃气灶\", \"quantity\": 4, \"pressure\": \"2kPa\"}]",
            );
            return None;
        };
        if lines.is_empty() {
            self.push(
                field,
                FieldCode::Required,
                "请至少填写一行用气设备（名称、数量、压力）",
            );
            return None;
        }
        if lines.len() > MAX_GAS_EQUIPMENT_LINES {
            self.push(
                field,
                FieldCode::OutOfRange,
                format!(
                    "用气设备最多填写{MAX_GAS_EQUIPMENT_LINES}行，当前为{}行；同类设备请合并为一行并填写数量",
                    lines.len()
                ),
            );
            return None;
        }
        let mut out = Vec::with_capacity(lines.len());
        let mut ok = true;
        for (i, line) in lines.iter().enumerate() {
            let row = i + 1;
            let prefix = path(field, &i.to_string());
            let Got::Val(map) = self.object(
                Some(line),
                &prefix,
                &format!("第{row}行用气设备"),
                &["name", "quantity", "pressure"],
                true,
            ) else {
                ok = false;
                continue;
            };
            let name = self.text(
                map.get("name"),
                &path(&prefix, "name"),
                &format!("第{row}行用气设备的名称"),
                true,
                TextKind::EquipmentName,
            );
            let quantity = self.integer(
                map.get("quantity"),
                &path(&prefix, "quantity"),
                &format!("第{row}行用气设备的数量"),
                "",
                GAS_EQUIPMENT_QUANTITY,
            );
            let pressure = self.text(
                map.get("pressure"),
                &path(&prefix, "pressure"),
                &format!("第{row}行用气设备的使用压力"),
                true,
                TextKind::Pressure,
            );
            match (name, quantity, pressure) {
                (Got::Val(name), Got::Val(quantity), Got::Val(pressure)) => {
                    out.push(GasEquipment {
                        name,
                        quantity,
                        pressure,
                    })
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn heat(&mut self, map: &Map<String, Value>, prefix: &str) -> Option<HeatDetails> {
        self.unknown_keys(map, prefix, &["category", "heating_area_m2"]);
        let category = self.choice::<HeatCategory>(
            map.get("category"),
            &path(prefix, "category"),
            "供暖类别",
            true,
        );
        let area = self.number(
            map.get("heating_area_m2"),
            &path(prefix, "heating_area_m2"),
            "供暖面积",
            "平方米",
            0.0,
            true,
            MAX_AREA_M2,
        );
        Some(HeatDetails {
            category: category.value()?,
            heating_area_m2: area.value()?,
        })
    }

    fn network(&mut self, map: &Map<String, Value>, prefix: &str) -> Option<NetworkDetails> {
        self.unknown_keys(
            map,
            prefix,
            &[
                "building_area_m2",
                "building_height_m",
                "delivery_date",
                "basement_coverage",
                "buildings",
                "elevator_coverage",
                "carriers",
            ],
        );
        let area = self.number(
            map.get("building_area_m2"),
            &path(prefix, "building_area_m2"),
            "建筑面积",
            "平方米",
            0.0,
            true,
            MAX_AREA_M2,
        );
        let height = self.number(
            map.get("building_height_m"),
            &path(prefix, "building_height_m"),
            "建筑高度",
            "米",
            0.0,
            true,
            MAX_BUILDING_HEIGHT_M,
        );
        let delivery_date =
            self.delivery_date(map.get("delivery_date"), &path(prefix, "delivery_date"));
        let basement = self.boolean(
            map.get("basement_coverage"),
            &path(prefix, "basement_coverage"),
            "是否需要地下室覆盖",
        );
        let buildings = self.integer(
            map.get("buildings"),
            &path(prefix, "buildings"),
            "覆盖楼栋数",
            "栋",
            NETWORK_BUILDINGS,
        );
        let elevator = self.boolean(
            map.get("elevator_coverage"),
            &path(prefix, "elevator_coverage"),
            "是否需要电梯覆盖",
        );
        let carriers = self.carriers(map.get("carriers"), &path(prefix, "carriers"));
        Some(NetworkDetails {
            building_area_m2: area.value()?,
            building_height_m: height.value()?,
            delivery_date: delivery_date.value()?,
            basement_coverage: basement.value()?,
            buildings: buildings.value()?,
            elevator_coverage: elevator.value()?,
            carriers: carriers?,
        })
    }

    fn delivery_date(&mut self, v: Option<&Value>, field: &str) -> Got<time::Date> {
        const HINT: &str = "应为 YYYY-MM-DD 格式的有效日期，如 2027-06-30";
        let s = match self.code_str(v, field, "交付日期", true, 10, HINT) {
            Got::Val(s) => s,
            Got::Absent => return Got::Absent,
            Got::Bad => return Got::Bad,
        };
        let Some(date) = date_ymd::parse_date(&s) else {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("交付日期格式不正确：{HINT}"),
            );
            return Got::Bad;
        };
        if !DELIVERY_YEARS.contains(&date.year()) {
            self.push(
                field,
                FieldCode::OutOfRange,
                format!(
                    "交付日期应在{}年至{}年之间，请核对",
                    DELIVERY_YEARS.start(),
                    DELIVERY_YEARS.end()
                ),
            );
            return Got::Bad;
        }
        Got::Val(date)
    }

    fn carriers(&mut self, v: Option<&Value>, field: &str) -> Option<Vec<String>> {
        let config = self.config;
        let options = || {
            config
                .carriers()
                .map(|c| format!("{}（{}）", c.code, c.name))
                .collect::<Vec<_>>()
                .join("、")
        };
        let none_configured = config.carriers().next().is_none();
        let Some(v) = given(v) else {
            if none_configured {
                return Some(Vec::new());
            }
            self.push(
                field,
                FieldCode::Required,
                format!("请至少选择一家运营商，可选：{}", options()),
            );
            return None;
        };
        let Some(items) = v.as_array() else {
            self.push(
                field,
                FieldCode::InvalidFormat,
                format!("运营商应为列表，如 [\"telecom\"]，可选：{}", options()),
            );
            return None;
        };
        if items.is_empty() {
            if none_configured {
                return Some(Vec::new());
            }
            self.push(
                field,
                FieldCode::Required,
                format!("请至少选择一家运营商，可选：{}", options()),
            );
            return None;
        }
        if items.len() > MAX_NETWORK_CARRIERS {
            self.push(
                field,
                FieldCode::OutOfRange,
                format!(
                    "运营商最多选择{MAX_NETWORK_CARRIERS}家，当前为{}项，请删除重复或多余的项",
                    items.len()
                ),
            );
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_field = path(field, &i.to_string());
            let code = match self.code_str(
                Some(item),
                &item_field,
                "运营商",
                true,
                64,
                "应为运营商代码",
            ) {
                Got::Val(code) => code,
                _ => {
                    ok = false;
                    continue;
                }
            };
            if config.carriers().all(|c| c.code != code) {
                self.push(
                    &item_field,
                    FieldCode::UnknownValue,
                    format!("运营商“{}”无效，可选：{}", echo(&code), options()),
                );
                ok = false;
            } else if out.contains(&code) {
                self.push(
                    &item_field,
                    FieldCode::InvalidFormat,
                    format!("运营商“{code}”重复选择，请删除重复项"),
                );
                ok = false;
            } else {
                out.push(code);
            }
        }
        ok.then_some(out)
    }
}

/// The same local time two calendar years later (29 February → 28 February), if
/// representable: the latest appointment taken.
pub fn two_years_after(t: OffsetDateTime) -> Option<OffsetDateTime> {
    let year = t.year().checked_add(2)?;
    t.replace_year(year)
        .or_else(|_| t.replace_day(28).and_then(|t| t.replace_year(year)))
        .ok()
        .or_else(|| t.checked_add(Duration::days(731)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn phones() {
        for ok in [
            "13800000000",
            "19912345678",
            "0722-1234567",
            "0722-12345678",
            "010-12345678",
            "07221234567",
            "01012345678",
            "0101234567",
        ] {
            assert!(phone_is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "12800000000",
            "1380000000",
            "138000000000",
            "0722--1234567",
            "0722-123456",
            "0722-123456789",
            "07-1234567",
            "07222-1234567",
            "0722-12a4567",
            "+8613800000000",
            "138 0000 0000",
            "1３800000000",
            "-1234567",
            "0-",
        ] {
            assert!(!phone_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn project_codes() {
        assert!(project_code_is_valid("2611-421303-04-01-123456"));
        for bad in [
            "",
            "2611-421303-04-01-12345",
            "2611-421303-04-01-1234567",
            "2611421303-04-01-1234567",
            "2611-421303-04-01-12345a",
            "2611-421303-04-011-23456",
            "2611-421303-04-01-123456-",
            "-2611-421303-04-01-12345",
        ] {
            assert!(!project_code_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn two_years() {
        assert_eq!(
            two_years_after(datetime!(2026-11-27 10:00 +08:00)),
            Some(datetime!(2028-11-27 10:00 +08:00))
        );
        assert_eq!(
            two_years_after(datetime!(2028-02-29 10:00 UTC)),
            Some(datetime!(2030-02-28 10:00 UTC))
        );
    }

    #[test]
    fn echo_is_short_and_visible() {
        assert_eq!(echo("abc"), "abc");
        assert_eq!(echo("a\u{0}b"), "a\\u{0}b");
        let long = "长".repeat(1000);
        assert_eq!(echo(&long).chars().count(), 21);
        assert_eq!(key_segment(&"k".repeat(100)).chars().count(), 65);
    }

    #[test]
    fn content_detection() {
        assert!(!has_content(&serde_json::json!(null)));
        assert!(!has_content(&serde_json::json!({})));
        assert!(!has_content(
            &serde_json::json!({"a": " ", "b": [], "c": null})
        ));
        assert!(has_content(&serde_json::json!({"a": 0})));
        assert!(has_content(&serde_json::json!({"a": [false]})));
    }
}
