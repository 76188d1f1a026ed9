//! The normalised joint application form (附表2), as stored and answered.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// An enum of the form with a stable `snake_case` code and a Chinese label.
pub trait FormEnum: Sized + Copy + 'static {
    /// Every value, in display order.
    const ALL: &'static [Self];
    /// The `snake_case` code, as in the API.
    fn as_str(&self) -> &'static str;
    /// The Chinese label, for people.
    fn label_zh(&self) -> &'static str;
    /// The value with this exact code.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == code)
    }
}

macro_rules! form_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $label:literal; )+ }
    ) => {
        $(#[$meta])*
        // Codes are the snake_case variant names (a test checks `as_str` agrees);
        // utoipa does not see per-variant renames made inside a macro.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The `snake_case` code, as in the API.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese label, for people.
            pub fn label_zh(&self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The value with this exact code.
            pub fn from_code(code: &str) -> Option<Self> {
                <Self as FormEnum>::from_code(code)
            }
        }

        impl FormEnum for $name {
            const ALL: &'static [Self] = $name::ALL;
            fn as_str(&self) -> &'static str {
                $name::as_str(self)
            }
            fn label_zh(&self) -> &'static str {
                $name::label_zh(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

form_enum! {
    /// How services are picked: as a bundle (套餐式) or one by one (点单式).
    pub enum Mode {
        Bundle = "bundle", "套餐式";
        ALaCarte = "a_la_carte", "点单式";
    }
}

form_enum! {
    /// Where the application came in.
    pub enum Channel {
        Web = "web", "网站";
        H5 = "h5", "手机H5";
        /// At a service hall's window; the form then names `hall_id`.
        Window = "window", "窗口";
        Api = "api", "接口";
        Kiosk = "kiosk", "自助终端";
    }
}

form_enum! {
    /// Water business type.
    pub enum WaterBusinessType {
        NewAccount = "new_account", "新开户";
        Expansion = "expansion", "扩容";
        Temporary = "temporary", "临时用水";
    }
}

form_enum! {
    /// Power business type.
    pub enum PowerBusinessType {
        New = "new", "新装";
        CapacityIncrease = "capacity_increase", "增容";
        Temporary = "temporary", "临时用电";
    }
}

form_enum! {
    /// Gas customer category.
    pub enum GasCategory {
        ResidentialCollective = "residential_collective", "集体居民用气";
        SmallCommercial = "small_commercial", "小型工商业用气";
        LargeCommercial = "large_commercial", "工商业用气（大中型）";
    }
}

form_enum! {
    /// Heat customer category.
    pub enum HeatCategory {
        ResidentialCollective = "residential_collective", "集体居民供暖";
    }
}

/// The joint application form (附表2), normalised: strings trimmed, the USCC
/// upper-cased, blanks removed, the appointment in local (Beijing) time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct ApplicationForm {
    pub applicant: Applicant,
    pub address: Address,
    /// Requested connection time (预约接入时间); absent means as soon as possible.
    #[serde(
        default,
        with = "rfc3339_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T09:00:00+08:00"))]
    pub appointment_at: Option<OffsetDateTime>,
    pub contact: Contact,
    /// Investment project code (项目代码), `NNNN-NNNNNN-NN-NN-NNNNNN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2611-421303-04-01-123456"))]
    pub project_code: Option<String>,
    pub mode: Mode,
    pub channel: Channel,
    /// The service hall of a window submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall_id: Option<String>,
    pub services: Services,
}

/// The applicant enterprise (申请单位).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct Applicant {
    #[cfg_attr(feature = "openapi", schema(example = "随州市示例商贸有限公司"))]
    pub name: String,
    /// Unified social credit code (统一社会信用代码), 18 characters, upper case.
    #[cfg_attr(feature = "openapi", schema(example = "91421300MA4900000M"))]
    pub uscc: String,
}

/// Installation address (报装地址).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct Address {
    /// One of the configured districts.
    #[cfg_attr(feature = "openapi", schema(example = "421303"))]
    pub district_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "交通大道100号"))]
    pub detail: String,
    /// WGS-84 longitude, inside the city's bounds; given together with `lat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
    /// WGS-84 latitude, inside the city's bounds; given together with `lng`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
}

/// The applicant's contact person (联系人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct Contact {
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub name: String,
    /// Mainland mobile or landline number.
    #[cfg_attr(feature = "openapi", schema(example = "13800000000"))]
    pub phone: String,
}

/// The chosen services and their details; a present section is a chosen service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct Services {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub water: Option<WaterDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<GasDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heat: Option<HeatDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkDetails>,
}

impl Services {
    /// Codes of the chosen services, in the order water, power, gas, heat, network.
    pub fn chosen(&self) -> Vec<&'static str> {
        [
            ("water", self.water.is_some()),
            ("power", self.power.is_some()),
            ("gas", self.gas.is_some()),
            ("heat", self.heat.is_some()),
            ("network", self.network.is_some()),
        ]
        .into_iter()
        .filter_map(|(code, chosen)| chosen.then_some(code))
        .collect()
    }

    /// Whether the service with this code is chosen.
    pub fn is_chosen(&self, code: &str) -> bool {
        self.chosen().contains(&code)
    }
}

/// 用水.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct WaterDetails {
    pub business_type: WaterBusinessType,
    /// Demand in tonnes per day (用水量，吨/日).
    #[cfg_attr(feature = "openapi", schema(example = 50))]
    pub demand_tons_per_day: f64,
}

/// 用电.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct PowerDetails {
    pub business_type: PowerBusinessType,
    /// Main capacity in kVA (主供容量).
    #[cfg_attr(feature = "openapi", schema(example = 630))]
    pub main_capacity_kva: f64,
    /// Backup capacity in kVA (备用容量); may be 0.
    #[cfg_attr(feature = "openapi", schema(example = 0))]
    pub backup_capacity_kva: f64,
}

/// 用气.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct GasDetails {
    pub category: GasCategory,
    /// Gas equipment (用气设备), at least one line.
    pub equipment: Vec<GasEquipment>,
}

/// One line of gas equipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct GasEquipment {
    #[cfg_attr(feature = "openapi", schema(example = "燃气灶"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = 4))]
    pub quantity: u32,
    /// Required pressure, as written by the applicant.
    #[cfg_attr(feature = "openapi", schema(example = "2kPa"))]
    pub pressure: String,
}

/// 用暖.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct HeatDetails {
    pub category: HeatCategory,
    /// Heating area in m² (供暖面积).
    #[cfg_attr(feature = "openapi", schema(example = 12000))]
    pub heating_area_m2: f64,
}

/// 用网.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub struct NetworkDetails {
    /// Building area in m² (建筑面积).
    #[cfg_attr(feature = "openapi", schema(example = 20000))]
    pub building_area_m2: f64,
    /// Building height in m (建筑高度).
    #[cfg_attr(feature = "openapi", schema(example = 45))]
    pub building_height_m: f64,
    /// Delivery date of the building (交付日期).
    #[serde(with = "date_ymd")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2027-06-30"))]
    pub delivery_date: Date,
    /// Basement coverage needed (地下室覆盖).
    pub basement_coverage: bool,
    /// Number of buildings to cover (覆盖楼栋数).
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub buildings: u32,
    /// Elevator coverage needed (电梯覆盖).
    pub elevator_coverage: bool,
    /// Chosen carriers (configured carrier codes), each getting its own work order.
    #[cfg_attr(feature = "openapi", schema(example = json!(["telecom", "mobile"])))]
    pub carriers: Vec<String>,
}

/// `Option<OffsetDateTime>` as an RFC 3339 string, in the offset it is stored with
/// (the validator stores local time, `+08:00` for Beijing).
pub(crate) mod rfc3339_option {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};

    pub fn serialize<S: Serializer>(v: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&t.format(&Rfc3339).map_err(S::Error::custom)?),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| OffsetDateTime::parse(&s, &Rfc3339).map_err(D::Error::custom))
            .transpose()
    }
}

/// `Date` as `YYYY-MM-DD`.
pub(crate) mod date_ymd {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_date(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse_date(&s).ok_or_else(|| D::Error::custom(format!("not a YYYY-MM-DD date: {s}")))
    }

    pub fn format_date(d: Date) -> String {
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// Strict `YYYY-MM-DD` (four-digit year, two-digit month and day), a real calendar date.
    pub fn parse_date(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = time::Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
        let day = u8::try_from(digits(8..10)?).ok()?;
        Date::from_calendar_date(year, month, day).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_enum<
        E: FormEnum + Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    >() {
        for v in E::ALL {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, serde_json::Value::from(v.as_str()));
            assert_eq!(serde_json::from_value::<E>(json).unwrap(), *v);
            assert_eq!(E::from_code(v.as_str()), Some(*v));
            assert!(!v.label_zh().is_empty());
        }
        assert_eq!(E::from_code("nope"), None);
    }

    #[test]
    fn enums_serialise_as_their_codes() {
        check_enum::<Mode>();
        check_enum::<Channel>();
        check_enum::<WaterBusinessType>();
        check_enum::<PowerBusinessType>();
        check_enum::<GasCategory>();
        check_enum::<HeatCategory>();
        assert_eq!(Mode::ALaCarte.as_str(), "a_la_carte");
        assert_eq!(Channel::H5.label_zh(), "手机H5");
        assert_eq!(
            GasCategory::LargeCommercial.label_zh(),
            "工商业用气（大中型）"
        );
    }

    #[test]
    fn chosen_lists_codes_in_fixed_order() {
        let services = Services {
            heat: Some(HeatDetails {
                category: HeatCategory::ResidentialCollective,
                heating_area_m2: 1.0,
            }),
            water: Some(WaterDetails {
                business_type: WaterBusinessType::Temporary,
                demand_tons_per_day: 1.0,
            }),
            ..Services::default()
        };
        assert_eq!(services.chosen(), vec!["water", "heat"]);
        assert!(services.is_chosen("heat"));
        assert!(!services.is_chosen("gas"));
        assert!(Services::default().chosen().is_empty());
    }

    #[test]
    fn dates_parse_strictly() {
        use date_ymd::{format_date, parse_date};
        let d = parse_date("2027-06-30").unwrap();
        assert_eq!(format_date(d), "2027-06-30");
        assert!(parse_date("2028-02-29").is_some());
        for bad in [
            "2027-02-29",
            "2027-6-30",
            "2027-13-01",
            "27-06-30",
            "2027/06/30",
            "+027-06-30",
            "2027-06-3١",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}

#[cfg(all(test, feature = "openapi"))]
mod schema_tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn openapi_schema_describes_times_and_dates_as_strings() {
        let form = serde_json::to_value(ApplicationForm::schema()).unwrap();
        let at = &form["properties"]["appointment_at"];
        assert_eq!(at["format"], "date-time", "{at}");
        assert!(at["type"].to_string().contains("string"), "{at}");
        let required = form["required"].as_array().unwrap();
        assert!(required.contains(&"applicant".into()));
        assert!(!required.contains(&"appointment_at".into()));

        let network = serde_json::to_value(NetworkDetails::schema()).unwrap();
        assert_eq!(network["properties"]["delivery_date"]["format"], "date");
        fn codes<E: FormEnum + PartialSchema>() {
            let schema = serde_json::to_value(E::schema()).unwrap();
            let codes: Vec<&str> = E::ALL.iter().map(|e| e.as_str()).collect();
            assert_eq!(schema["enum"], serde_json::json!(codes));
        }
        codes::<Mode>();
        codes::<Channel>();
        codes::<WaterBusinessType>();
        codes::<PowerBusinessType>();
        codes::<GasCategory>();
        codes::<HeatCategory>();
    }
}
