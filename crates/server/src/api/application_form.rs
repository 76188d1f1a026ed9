//! The request body of `POST /api/v1/applications` as the OpenAPI document
//! describes it. The body is validated from JSON by the domain's validator
//! (`onestop_domain::form::validate_application`), which reports every
//! problem at once; these types only describe what it accepts: required
//! fields, enums, lengths, patterns and bounds, and that unknown fields are
//! refused (`additionalProperties: false`). The tests below hold the bounds
//! to the validator's own limits (`onestop_domain::form::limits`, the text
//! table `TextKind::limits`), and the example to the validator.
//!
//! What the schema cannot say: the USCC's check character, district and
//! carrier codes from the city's configuration, coordinates inside the
//! city, an appointment later than now (and at most two years ahead), and
//! `hall_id` exactly for `channel: window`.

use onestop_domain::form::{
    Channel, GasCategory, HeatCategory, Mode, PowerBusinessType, WaterBusinessType,
};
use serde::Deserialize;
use utoipa::ToSchema;

/// The joint application form (附表2) as submitted. Strings are trimmed (the
/// USCC also upper-cased) before they are checked; `null` or a blank string
/// counts as absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "applicant": {"name": "随州市示例商贸有限公司", "uscc": "91421300MA49ABCD17"},
    "address": {"district_code": "421303", "detail": "交通大道100号", "lng": 113.37, "lat": 31.70},
    "contact": {"name": "张三", "phone": "13800000000"},
    "project_code": "2611-421303-04-01-123456",
    "mode": "a_la_carte",
    "channel": "api",
    "services": {
        "water": {"business_type": "new_account", "demand_tons_per_day": 50},
        "power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0},
        "gas": {"category": "small_commercial",
                "equipment": [{"name": "燃气灶", "quantity": 4, "pressure": "2kPa"}]},
        "heat": {"category": "residential_collective", "heating_area_m2": 12000},
        "network": {"building_area_m2": 20000, "building_height_m": 45, "delivery_date": "2027-06-30",
                    "basement_coverage": true, "buildings": 3, "elevator_coverage": true,
                    "carriers": ["telecom", "mobile"]}
    }
}))]
pub struct ApplicationRequest {
    pub applicant: ApplicantInput,
    pub address: AddressInput,
    /// Requested connection time (预约接入时间), RFC 3339 with offset: later
    /// than now and at most two years ahead. Absent: as soon as possible.
    #[schema(format = DateTime, max_length = 64)]
    pub appointment_at: Option<String>,
    pub contact: ContactInput,
    /// Investment project code (项目代码).
    #[schema(pattern = r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}$")]
    pub project_code: Option<String>,
    pub mode: Mode,
    pub channel: Channel,
    /// The service hall (窗口受理): required when `channel` is `window`,
    /// refused otherwise.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub hall_id: Option<String>,
    pub services: ServicesInput,
}

/// The applicant enterprise (申请单位).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    #[schema(min_length = 2, max_length = 100)]
    pub name: String,
    /// Unified social credit code (GB 32100): 18 characters with a valid
    /// check character.
    #[schema(pattern = r"^[0-9A-HJ-NP-RTUW-Y]{18}$")]
    pub uscc: String,
}

/// The installation address (报装地址).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// One of the configured districts (e.g. `421303`).
    #[schema(min_length = 1, max_length = 64)]
    pub district_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub detail: String,
    /// WGS-84 longitude inside the city; given together with `lat`.
    #[schema(minimum = -180, maximum = 180)]
    pub lng: Option<f64>,
    /// WGS-84 latitude inside the city; given together with `lng`.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
}

/// The contact person (联系人).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// A mainland mobile number (`1[3-9]` and 9 digits) or a landline (`0`,
    /// 2–3 more digits of area code, an optional `-`, 7–8 digits).
    #[schema(pattern = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")]
    pub phone: String,
}

/// The chosen services: each key present is a chosen service and carries
/// its details; at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct ServicesInput {
    pub water: Option<WaterInput>,
    pub power: Option<PowerInput>,
    pub gas: Option<GasInput>,
    pub heat: Option<HeatInput>,
    pub network: Option<NetworkInput>,
}

/// 用水.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaterInput {
    pub business_type: WaterBusinessType,
    /// Tonnes per day.
    #[schema(exclusive_minimum = 0, maximum = 1000000)]
    pub demand_tons_per_day: f64,
}

/// 用电.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerInput {
    pub business_type: PowerBusinessType,
    /// kVA.
    #[schema(exclusive_minimum = 0, maximum = 10000000)]
    pub main_capacity_kva: f64,
    /// kVA; may be 0.
    #[schema(minimum = 0, maximum = 10000000)]
    pub backup_capacity_kva: f64,
}

/// 用气.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GasInput {
    pub category: GasCategory,
    #[schema(min_items = 1, max_items = 200)]
    pub equipment: Vec<GasEquipmentInput>,
}

/// One line of gas equipment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GasEquipmentInput {
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub quantity: u32,
    /// As written by the applicant, e.g. `2kPa`.
    #[schema(min_length = 1, max_length = 50)]
    pub pressure: String,
}

/// 用暖.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeatInput {
    pub category: HeatCategory,
    /// m².
    #[schema(exclusive_minimum = 0, maximum = 100000000)]
    pub heating_area_m2: f64,
}

/// 用网.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkInput {
    /// m².
    #[schema(exclusive_minimum = 0, maximum = 100000000)]
    pub building_area_m2: f64,
    /// m.
    #[schema(exclusive_minimum = 0, maximum = 1000)]
    pub building_height_m: f64,
    /// `YYYY-MM-DD`, in the years 2000–2100.
    #[schema(format = Date, pattern = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub delivery_date: String,
    pub basement_coverage: bool,
    #[schema(minimum = 1, maximum = 10000)]
    pub buildings: u32,
    pub elevator_coverage: bool,
    /// Configured carrier codes (e.g. `telecom`, `mobile`), each once; each
    /// gets its own work order.
    #[schema(schema_with = carriers)]
    pub carriers: Vec<String>,
}

fn carriers() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64)),
        )
        .min_items(Some(1))
        .max_items(Some(onestop_domain::form::limits::MAX_NETWORK_CARRIERS))
        .unique_items(true)
        .description(Some(
            "Configured carrier codes (e.g. `telecom`, `mobile`), each once; \
             each gets its own work order.",
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onestop_domain::form::limits::*;
    use onestop_domain::text::TextKind;
    use serde_json::{Value, json};
    use utoipa::PartialSchema;

    fn schema<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    fn lengths(s: &Value, field: &str) -> (usize, usize) {
        let p = &s["properties"][field];
        let n = |k: &str| {
            p[k].as_u64()
                .unwrap_or_else(|| panic!("{field}: {k} in {p}")) as usize
        };
        (n("minLength"), n("maxLength"))
    }

    fn bounds(s: &Value, field: &str) -> (f64, bool, f64) {
        let p = &s["properties"][field];
        let (min, exclusive) = match (p.get("minimum"), p.get("exclusiveMinimum")) {
            (Some(m), None) => (m.as_f64().unwrap(), false),
            (None, Some(m)) => (m.as_f64().unwrap(), true),
            _ => panic!("{field}: one lower bound in {p}"),
        };
        (min, exclusive, p["maximum"].as_f64().unwrap())
    }

    /// Every free-text field of the form, with the kind the validator cleans
    /// it as: the schema's lengths are the table's.
    #[test]
    fn text_lengths_are_the_validators() {
        let cases = [
            (schema::<ApplicantInput>(), "name", TextKind::EnterpriseName),
            (schema::<AddressInput>(), "detail", TextKind::Address),
            (schema::<ContactInput>(), "name", TextKind::PersonName),
            (
                schema::<GasEquipmentInput>(),
                "name",
                TextKind::EquipmentName,
            ),
            (
                schema::<GasEquipmentInput>(),
                "pressure",
                TextKind::Pressure,
            ),
        ];
        for (s, field, kind) in &cases {
            assert_eq!(lengths(s, field), kind.limits(), "{field} as {kind:?}");
        }
        let form = schema::<ApplicationRequest>();
        assert_eq!(lengths(&form, "hall_id"), HALL_ID_CHARS);
    }

    #[test]
    fn numeric_bounds_are_the_validators() {
        let water = schema::<WaterInput>();
        assert_eq!(
            bounds(&water, "demand_tons_per_day"),
            (0.0, true, MAX_WATER_DEMAND_TONS_PER_DAY)
        );
        let power = schema::<PowerInput>();
        assert_eq!(
            bounds(&power, "main_capacity_kva"),
            (0.0, true, MAX_CAPACITY_KVA)
        );
        assert_eq!(
            bounds(&power, "backup_capacity_kva"),
            (0.0, false, MAX_CAPACITY_KVA)
        );
        let heat = schema::<HeatInput>();
        assert_eq!(bounds(&heat, "heating_area_m2"), (0.0, true, MAX_AREA_M2));
        let network = schema::<NetworkInput>();
        assert_eq!(
            bounds(&network, "building_area_m2"),
            (0.0, true, MAX_AREA_M2)
        );
        assert_eq!(
            bounds(&network, "building_height_m"),
            (0.0, true, MAX_BUILDING_HEIGHT_M)
        );
        let (lo, hi) = NETWORK_BUILDINGS;
        assert_eq!(
            bounds(&network, "buildings"),
            (f64::from(lo), false, f64::from(hi))
        );
        assert_eq!(
            network["properties"]["carriers"]["maxItems"],
            MAX_NETWORK_CARRIERS
        );
        assert_eq!(network["properties"]["carriers"]["uniqueItems"], true);
        let line = schema::<GasEquipmentInput>();
        let (lo, hi) = GAS_EQUIPMENT_QUANTITY;
        assert_eq!(
            bounds(&line, "quantity"),
            (f64::from(lo), false, f64::from(hi))
        );
        let gas = schema::<GasInput>();
        assert_eq!(
            gas["properties"]["equipment"]["maxItems"],
            MAX_GAS_EQUIPMENT_LINES
        );
        assert_eq!(gas["properties"]["equipment"]["minItems"], 1);
    }

    /// Unknown fields are refused at every level, as the validator does.
    #[test]
    fn unknown_fields_are_refused_everywhere() {
        for s in [
            schema::<ApplicationRequest>(),
            schema::<ApplicantInput>(),
            schema::<AddressInput>(),
            schema::<ContactInput>(),
            schema::<ServicesInput>(),
            schema::<WaterInput>(),
            schema::<PowerInput>(),
            schema::<GasInput>(),
            schema::<GasEquipmentInput>(),
            schema::<HeatInput>(),
            schema::<NetworkInput>(),
        ] {
            assert_eq!(s["additionalProperties"], false, "{s}");
        }
        let config = onestop_domain::config::CityConfig::default_city();
        let now = time::macros::datetime!(2026-11-27 10:00 +8);
        let mut body = example();
        body["services"]["water"]["colour"] = json!("blue");
        let errors = onestop_domain::form::validate_application(&body, &config, now).unwrap_err();
        assert_eq!(errors[0].field, "services.water.colour");
    }

    fn example() -> Value {
        let doc = serde_json::to_value(ApplicationRequest::schema()).unwrap();
        doc["example"].clone()
    }

    /// The document's example is a body the server accepts, and has no
    /// appointment that could be in the past.
    #[test]
    fn the_example_is_accepted() {
        let body = example();
        assert!(body.get("appointment_at").is_none());
        let config = onestop_domain::config::CityConfig::default_city();
        let now = time::macros::datetime!(2026-11-27 10:00 +8);
        onestop_domain::form::validate_application(&body, &config, now)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let typed: ApplicationRequest = serde_json::from_value(body).unwrap();
        assert_eq!(typed.services.network.unwrap().carriers.len(), 2);
    }

    /// The phone pattern accepts exactly the numbers the validator accepts.
    #[test]
    fn phone_pattern_is_the_validators() {
        let pattern = schema::<ContactInput>()["properties"]["phone"]["pattern"]
            .as_str()
            .unwrap()
            .to_owned();
        let re = regex::Regex::new(&pattern).unwrap();
        let config = onestop_domain::config::CityConfig::default_city();
        let now = time::macros::datetime!(2026-11-27 10:00 +8);
        let mut body = example();
        let mut candidates: Vec<String> = vec![
            "13800000000",
            "12800000000",
            "1380000000",
            "138000000000",
            "0722-1234567",
            "0722-12345678",
            "072-1234567",
            "07-1234567",
            "0722-123456",
            "07221234567",
            "0721234567",
            "072212345678",
            "0722123456789",
            "0722--1234567",
            "+8613800000000",
            "1a800000000",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        // Every length up to 14 of a few shapes.
        for n in 1..=14 {
            candidates.push(format!("1{}", "3".repeat(n)));
            candidates.push(format!("0{}", "7".repeat(n)));
            for dash in 1..n {
                let digits = "7".repeat(n);
                candidates.push(format!("0{}-{}", &digits[..dash], &digits[dash..]));
            }
        }
        for phone in candidates {
            body["contact"]["phone"] = json!(phone);
            let accepted = onestop_domain::form::validate_application(&body, &config, now).is_ok();
            assert_eq!(re.is_match(&phone), accepted, "{phone}");
        }
    }

    /// The USCC and project code patterns admit what the validator admits
    /// (the USCC's check character aside).
    #[test]
    fn code_patterns_admit_valid_codes() {
        let uscc = schema::<ApplicantInput>()["properties"]["uscc"]["pattern"]
            .as_str()
            .unwrap()
            .to_owned();
        let re = regex::Regex::new(&uscc).unwrap();
        for c in onestop_domain::form::USCC_ALPHABET.chars() {
            assert!(re.is_match(&format!("{c}{}", "0".repeat(17))), "{c}");
        }
        for c in ['I', 'O', 'S', 'V', 'Z', 'a'] {
            assert!(!re.is_match(&format!("{c}{}", "0".repeat(17))), "{c}");
        }
        let project = schema::<ApplicationRequest>()["properties"]["project_code"].to_string();
        assert!(project.contains("[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}"));
    }
}
