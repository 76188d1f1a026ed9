//! Pre-registration (一口登记早服务): at the land-transfer stage a project's
//! expected needs per service are registered; the utilities concerned visit
//! jointly and plan their networks ahead (管网预布局), so that a later
//! application with the same project code is prefilled and, where a
//! utility's plan covers it, skips the joint survey.
//!
//! This module holds the normalised registration, who is concerned by it,
//! and what a utility's plan lets its later work order do.

use crate::config::{CityConfig, UnitKind};
use crate::form::{
    Address, GasCategory, GasEquipment, HeatCategory, PowerBusinessType, WaterBusinessType,
};
use crate::form::{FieldCode, FieldError};
use crate::text::TextKind;
use serde::{Deserialize, Serialize};
use time::Date;

pub use crate::form::validate_pre_registration;

/// A project's registration at land transfer, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreRegistrationForm {
    /// Investment project code (项目代码), `NNNN-NNNNNN-NN-NN-NNNNNN`.
    #[cfg_attr(feature = "openapi", schema(example = "2611-421303-04-01-123456"))]
    pub project_code: String,
    /// The land parcel (地块), as the land-transfer documents name it.
    pub land_parcel: String,
    /// The enterprise, as far as it is known at land transfer.
    #[serde(default, skip_serializing_if = "Enterprise::is_empty")]
    pub enterprise: Enterprise,
    /// Where the project lies (district, street address, optional coordinates).
    pub location: Address,
    /// Expected needs per service: a section present is a service needed;
    /// every detail is optional.
    #[serde(default)]
    pub services: ExpectedServices,
    /// When the project expects its connections (预计用能日期).
    #[serde(with = "ymd")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub expected_date: Date,
}

/// The enterprise behind a project, if known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enterprise {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unified social credit code, upper case, check character verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
}

impl Enterprise {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.uscc.is_none()
    }
}

/// Expected needs; a section present is a service the project expects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedServices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub water: Option<ExpectedWater>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<ExpectedPower>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<ExpectedGas>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heat: Option<ExpectedHeat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<ExpectedNetwork>,
}

impl ExpectedServices {
    /// Codes of the services named, in form order.
    pub fn named(&self) -> Vec<&'static str> {
        [
            ("water", self.water.is_some()),
            ("power", self.power.is_some()),
            ("gas", self.gas.is_some()),
            ("heat", self.heat.is_some()),
            ("network", self.network.is_some()),
        ]
        .into_iter()
        .filter_map(|(c, on)| on.then_some(c))
        .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedWater {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_type: Option<WaterBusinessType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand_tons_per_day: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedPower {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_type: Option<PowerBusinessType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_capacity_kva: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_capacity_kva: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedGas {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<GasCategory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equipment: Vec<GasEquipment>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedHeat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<HeatCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heating_area_m2: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedNetwork {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building_area_m2: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building_height_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ymd_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub delivery_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basement_coverage: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildings: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevator_coverage: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carriers: Vec<String>,
}

/// The utility units a registration concerns: the providers of the
/// services it names (for the network, the carriers chosen, or every
/// carrier when none is), or every utility when it names none. In
/// configuration order, each once.
pub fn concerned_units(form: &PreRegistrationForm, config: &CityConfig) -> Vec<String> {
    let named = form.services.named();
    let mut wanted: Vec<String> = Vec::new();
    if named.is_empty() {
        wanted.extend(
            config
                .units
                .iter()
                .filter(|u| u.kind == UnitKind::Utility)
                .map(|u| u.code.clone()),
        );
    }
    for code in named {
        let Some(service) = config.service(code) else {
            continue;
        };
        if let Some(p) = &service.provider {
            wanted.push(p.clone());
        }
        let chosen = form
            .services
            .network
            .as_ref()
            .map(|n| n.carriers.clone())
            .unwrap_or_default();
        for c in &service.carriers {
            if chosen.is_empty() || chosen.contains(&c.code) {
                wanted.push(c.unit.clone());
            }
        }
    }
    config
        .units
        .iter()
        .filter(|u| wanted.contains(&u.code))
        .map(|u| u.code.clone())
        .collect()
}

/// A unit's network plan (管网预布局) as far as its later work order cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanCover {
    /// The plan's visit and routing stand for the joint survey.
    pub survey: bool,
    /// The plan's design stands for the order's design.
    pub design: bool,
}

/// The process facts (see [`crate::workflow::FACTS`]) a work order's
/// application earns from its unit's latest plan, if it is linked to a
/// pre-registration that the unit planned.
pub fn process_facts(plan: Option<PlanCover>) -> Vec<&'static str> {
    let mut facts = Vec::new();
    if let Some(p) = plan {
        if p.survey {
            facts.push(crate::workflow::FACT_SURVEY_PLANNED);
        }
        if p.design {
            facts.push(crate::workflow::FACT_DESIGN_PLANNED);
        }
    }
    facts
}

/// Whether an enterprise (by the USCCs it is verified for) may see the
/// prefill values of a registration: only the enterprise it names. A
/// registration naming no enterprise shows only what is not about a
/// person or an enterprise (the needs, the location, the date).
pub fn prefill_scope(form: &PreRegistrationForm, usccs: &[&str]) -> PrefillScope {
    match form.enterprise.uscc.as_deref() {
        Some(u) if usccs.contains(&u) => PrefillScope::Full,
        Some(_) => PrefillScope::Nothing,
        None if usccs.is_empty() => PrefillScope::Nothing,
        None => PrefillScope::Impersonal,
    }
}

/// Whether an application of enterprise `applicant_uscc` with the
/// registration's project code is linked to it: when the registration
/// names that enterprise or none. Another enterprise's application of the
/// same code is not (it would earn the registration's plans).
pub fn may_link(form: &PreRegistrationForm, applicant_uscc: &str) -> bool {
    form.enterprise
        .uscc
        .as_deref()
        .is_none_or(|u| u == applicant_uscc)
}

/// What a prefill may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillScope {
    /// Nothing: the registration is another enterprise's.
    Nothing,
    /// The needs, the location and the date, not the enterprise.
    Impersonal,
    /// Everything, the enterprise's name included.
    Full,
}

/// A joint visit as recorded by a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitInput {
    pub date: Date,
    pub notes: String,
}

/// A network plan as recorded by a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub planned_date: Date,
    pub notes: String,
    pub covers_survey: bool,
    pub covers_design: bool,
}

fn read_date(
    o: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    label: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Date> {
    use serde_json::Value;
    let text = match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim()),
        Some(_) => Some(""),
    };
    let Some(text) = text else {
        errors.push(FieldError::new(
            key,
            FieldCode::Required,
            format!("请填写{label}"),
        ));
        return None;
    };
    match crate::timefmt::parse_date(text) {
        Some(d) if crate::form::limits::DELIVERY_YEARS.contains(&d.year()) => Some(d),
        _ => {
            errors.push(FieldError::new(
                key,
                FieldCode::InvalidFormat,
                format!("{label}应为 YYYY-MM-DD 格式的有效日期，如 2027-06-30"),
            ));
            None
        }
    }
}

fn read_notes(
    o: &serde_json::Map<String, serde_json::Value>,
    label: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let raw = match o.get("notes") {
        None | Some(serde_json::Value::Null) => "",
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(_) => {
            errors.push(FieldError::new(
                "notes",
                FieldCode::InvalidFormat,
                format!("{label}应为文本"),
            ));
            return None;
        }
    };
    match crate::text::clean(TextKind::Note, raw) {
        Ok(s) => Some(s),
        Err(p) => {
            errors.push(crate::text::field_error("notes", label, p));
            None
        }
    }
}

fn read_bool(
    o: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    label: &str,
    errors: &mut Vec<FieldError>,
) -> bool {
    match o.get(key) {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new(
                key,
                FieldCode::InvalidFormat,
                format!("{label}应为 true（是）或 false（否），不加引号"),
            ));
            false
        }
    }
}

fn unknown(
    o: &serde_json::Map<String, serde_json::Value>,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) {
    for k in o.keys().take(20) {
        if !allowed.contains(&k.as_str()) {
            errors.push(FieldError::new(
                k.chars().take(64).collect::<String>(),
                FieldCode::UnknownField,
                format!("不支持的字段，此处可填写：{}", allowed.join("、")),
            ));
        }
    }
}

/// A joint visit's record: its date (not after `today`) and notes.
pub fn validate_visit(
    o: &serde_json::Map<String, serde_json::Value>,
    today: Date,
) -> Result<VisitInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    unknown(o, &["date", "notes"], &mut errors);
    let date = read_date(o, "date", "上门对接日期", &mut errors);
    if let Some(d) = date
        && d > today
    {
        errors.push(FieldError::new(
            "date",
            FieldCode::InFuture,
            "上门对接日期不能晚于今天",
        ));
    }
    let notes = read_notes(o, "对接情况", &mut errors);
    match (date, notes) {
        (Some(date), Some(notes)) if errors.is_empty() => Ok(VisitInput { date, notes }),
        _ => Err(errors),
    }
}

/// A network plan's record: its planned date, notes and what it covers.
pub fn validate_plan(
    o: &serde_json::Map<String, serde_json::Value>,
) -> Result<PlanInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    unknown(
        o,
        &["planned_date", "notes", "covers_survey", "covers_design"],
        &mut errors,
    );
    let planned_date = read_date(o, "planned_date", "管网布局完成日期", &mut errors);
    let notes = read_notes(o, "预布局方案", &mut errors);
    let covers_survey = read_bool(o, "covers_survey", "是否已完成现场踏勘", &mut errors);
    let covers_design = read_bool(o, "covers_design", "是否已完成方案设计", &mut errors);
    match (planned_date, notes) {
        (Some(planned_date), Some(notes)) if errors.is_empty() => Ok(PlanInput {
            planned_date,
            notes,
            covers_survey,
            covers_design,
        }),
        _ => Err(errors),
    }
}

mod ymd {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::timefmt::format_date(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        crate::timefmt::parse_date(&s).ok_or_else(|| D::Error::custom("YYYY-MM-DD"))
    }
}

mod ymd_opt {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&crate::timefmt::format_date(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| crate::timefmt::parse_date(&s).ok_or_else(|| D::Error::custom("YYYY-MM-DD")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn valid(body: serde_json::Value) -> PreRegistrationForm {
        let c = CityConfig::default_city();
        validate_pre_registration(&body, &c, datetime!(2026-11-27 10:00 +8)).unwrap()
    }

    fn codes(body: serde_json::Value) -> Vec<(String, String)> {
        let c = CityConfig::default_city();
        validate_pre_registration(&body, &c, datetime!(2026-11-27 10:00 +8))
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code.as_str().to_owned()))
            .collect()
    }

    fn base() -> serde_json::Value {
        json!({
            "project_code": "2611-421303-04-01-123456",
            "land_parcel": "曾都区2026-15号地块",
            "location": {"district_code": "421303", "detail": "交通大道100号"},
            "expected_date": "2027-06-30"
        })
    }

    #[test]
    fn every_detail_is_optional() {
        let mut b = base();
        b["services"] = json!({"water": {}, "power": {"main_capacity_kva": 630}});
        let f = valid(b);
        assert_eq!(f.services.named(), vec!["water", "power"]);
        assert_eq!(f.services.power.unwrap().main_capacity_kva, Some(630.0));
        assert!(f.enterprise.is_empty());
    }

    #[test]
    fn problems_are_reported_with_the_apis_codes() {
        let mut b = base();
        b["project_code"] = json!("12-34");
        b["enterprise"] = json!({"uscc": "91421300MA49ABCD18"});
        b["services"] = json!({"water": {"demand_tons_per_day": -1}, "steam": {}});
        b["expected_date"] = json!("2026-01-01");
        b["location"] = json!({"district_code": "999999"});
        let got = codes(b);
        for want in [
            ("project_code", "invalid_format"),
            ("enterprise.uscc", "uscc_checksum"),
            ("services.water.demand_tons_per_day", "out_of_range"),
            ("services.steam", "unknown_value"),
            ("expected_date", "not_in_future"),
            ("location.district_code", "unknown_value"),
            ("location.detail", "required"),
        ] {
            assert!(
                got.contains(&(want.0.to_owned(), want.1.to_owned())),
                "{want:?} in {got:?}"
            );
        }
        let got = codes(json!({}));
        for f in ["project_code", "land_parcel", "location", "expected_date"] {
            assert!(
                got.contains(&(f.to_owned(), "required".to_owned())),
                "{f}: {got:?}"
            );
        }
    }

    #[test]
    fn the_units_concerned_are_the_providers_named_or_all() {
        let c = CityConfig::default_city();
        let mut b = base();
        b["services"] = json!({"water": {}, "network": {"carriers": ["mobile"]}});
        assert_eq!(
            concerned_units(&valid(b), &c),
            vec!["sz-water", "sz-mobile"]
        );
        let all = concerned_units(&valid(base()), &c);
        assert!(all.contains(&"sz-gas".to_owned()) && all.contains(&"sz-telecom".to_owned()));
        assert!(!all.contains(&"sz-zrzy".to_owned()));
    }

    #[test]
    fn only_a_plan_covering_the_survey_earns_the_skip() {
        assert!(process_facts(None).is_empty());
        let no = PlanCover {
            survey: false,
            design: true,
        };
        assert!(!process_facts(Some(no)).contains(&crate::workflow::FACT_SURVEY_PLANNED));
        let yes = PlanCover {
            survey: true,
            design: false,
        };
        assert_eq!(
            process_facts(Some(yes)),
            vec![crate::workflow::FACT_SURVEY_PLANNED]
        );
    }

    #[test]
    fn visits_and_plans_are_checked() {
        let today = time::macros::date!(2026 - 11 - 27);
        let o = |v: serde_json::Value| v.as_object().unwrap().clone();
        let ok = validate_visit(
            &o(json!({"date": "2026-11-20", "notes": "现场对接"})),
            today,
        );
        assert!(ok.is_ok());
        let bad = validate_visit(&o(json!({"date": "2026-12-20"})), today).unwrap_err();
        let codes: Vec<_> = bad
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(codes, vec![("date", "in_future"), ("notes", "required")]);
        let plan = validate_plan(&o(
            json!({"planned_date": "2027-01-10", "notes": "沿路预埋",
            "covers_survey": true}),
        ))
        .unwrap();
        assert!(plan.covers_survey && !plan.covers_design);
        let bad = validate_plan(&o(json!({"planned_date": "明年", "notes": "x",
            "covers_survey": "yes"})))
        .unwrap_err();
        let codes: Vec<_> = bad
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("planned_date", "invalid_format"),
                ("covers_survey", "invalid_format")
            ]
        );
    }

    #[test]
    fn prefill_is_the_named_enterprises_only() {
        let mut b = base();
        b["enterprise"] = json!({"name": "随州市示例商贸有限公司", "uscc": "91421300MA49ABCD17"});
        let named = valid(b);
        assert_eq!(
            prefill_scope(&named, &["91421300MA49ABCD17"]),
            PrefillScope::Full
        );
        assert_eq!(
            prefill_scope(&named, &["91350100M000100Y43"]),
            PrefillScope::Nothing
        );
        assert_eq!(prefill_scope(&named, &[]), PrefillScope::Nothing);
        assert_eq!(prefill_scope(&valid(base()), &[]), PrefillScope::Nothing);
        assert!(may_link(&named, "91421300MA49ABCD17"));
        assert!(!may_link(&named, "91350100M000100Y43"));
        assert!(may_link(&valid(base()), "91350100M000100Y43"));
        let anonymous = valid(base());
        assert_eq!(
            prefill_scope(&anonymous, &["91350100M000100Y43"]),
            PrefillScope::Impersonal
        );
    }
}
