//! Validation of a pre-registration (一口登记): the project code, the land
//! parcel, the enterprise if known, the location, the expected needs per
//! service (the sections of 附表2, every field optional) and the date.

use super::*;
use crate::pre_registration::{
    Enterprise, ExpectedGas, ExpectedHeat, ExpectedNetwork, ExpectedPower, ExpectedServices,
    ExpectedWater, PreRegistrationForm,
};

const FIELDS: &[&str] = &[
    "project_code",
    "land_parcel",
    "enterprise",
    "location",
    "services",
    "expected_date",
];

/// Validate and normalise a pre-registration body at instant `now`; every
/// problem is reported at once, with the application form's field codes.
pub fn validate_pre_registration(
    body: &Value,
    config: &CityConfig,
    now: OffsetDateTime,
) -> Result<PreRegistrationForm, Vec<FieldError>> {
    let Some(root) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            FieldCode::InvalidFormat,
            "预登记内容应为 JSON 对象，如 {\"project_code\": …, \"services\": {…}}",
        )]);
    };
    let mut cx = Ctx {
        errors: Vec::new(),
        config,
    };
    cx.unknown_keys(root, "", FIELDS);
    let project_code = match cx.project_code(root.get("project_code")) {
        Got::Absent => {
            cx.missing("project_code", "项目代码", true);
            None
        }
        g => g.value(),
    };
    let land_parcel = cx
        .text(
            root.get("land_parcel"),
            "land_parcel",
            "地块",
            true,
            TextKind::Place,
        )
        .value();
    let enterprise = cx.enterprise(root.get("enterprise"));
    let location = cx.address_at(root.get("location"), "location", "项目位置");
    let services = cx.expected_services(root.get("services"));
    let expected_date = cx.expected_date(root.get("expected_date"), now);
    let built = (|| {
        Some(PreRegistrationForm {
            project_code: project_code?,
            land_parcel: land_parcel?,
            enterprise: enterprise?,
            location: location?,
            services: services?,
            expected_date: expected_date?,
        })
    })();
    match built {
        Some(f) if cx.errors.is_empty() => Ok(f),
        _ => {
            if cx.errors.is_empty() {
                cx.errors.push(FieldError::new(
                    "",
                    FieldCode::InvalidFormat,
                    "预登记内容有误，请检查后重新提交",
                ));
            }
            Err(cx.errors)
        }
    }
}

impl Ctx<'_> {
    fn enterprise(&mut self, v: Option<&Value>) -> Option<Enterprise> {
        let map = match self.object(v, "enterprise", "企业信息", &["name", "uscc"], false) {
            Got::Val(m) => m,
            Got::Absent => return Some(Enterprise::default()),
            Got::Bad => return None,
        };
        let name = self
            .text(
                map.get("name"),
                "enterprise.name",
                "企业名称",
                false,
                TextKind::EnterpriseName,
            )
            .optional();
        let uscc = self
            .uscc(map.get("uscc"), "enterprise.uscc", false)
            .optional();
        Some(Enterprise {
            name: name?,
            uscc: uscc?,
        })
    }

    fn expected_date(&mut self, v: Option<&Value>, now: OffsetDateTime) -> Option<time::Date> {
        const FIELD: &str = "expected_date";
        const HINT: &str = "应为 YYYY-MM-DD 格式的有效日期，如 2027-06-30";
        let s = self
            .code_str(v, FIELD, "预计用能日期", true, 10, HINT)
            .value()?;
        let Some(d) = date_ymd::parse_date(&s) else {
            self.push(
                FIELD,
                FieldCode::InvalidFormat,
                format!("预计用能日期格式不正确：{HINT}"),
            );
            return None;
        };
        let offset =
            UtcOffset::from_whole_seconds(self.config.working_time.utc_offset_minutes * 60)
                .unwrap_or(UtcOffset::UTC);
        let today = now.to_offset(offset).date();
        if d < today {
            self.push(
                FIELD,
                FieldCode::NotInFuture,
                "预计用能日期不能早于今天，请重新选择",
            );
            return None;
        }
        if !DELIVERY_YEARS.contains(&d.year()) {
            self.push(
                FIELD,
                FieldCode::OutOfRange,
                format!(
                    "预计用能日期应在{}年至{}年之间，请核对",
                    DELIVERY_YEARS.start(),
                    DELIVERY_YEARS.end()
                ),
            );
            return None;
        }
        Some(d)
    }

    /// A number that may be left out.
    #[allow(clippy::too_many_arguments)]
    fn opt_number(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        label: &str,
        unit: &str,
        min_exclusive: bool,
        max: f64,
    ) -> Option<Option<f64>> {
        if given(map.get(key)).is_none() {
            return Some(None);
        }
        self.number(
            map.get(key),
            &path(prefix, key),
            label,
            unit,
            0.0,
            min_exclusive,
            max,
        )
        .optional()
    }

    fn opt_choice<E: FormEnum>(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        label: &str,
    ) -> Option<Option<E>> {
        self.choice::<E>(map.get(key), &path(prefix, key), label, false)
            .optional()
    }

    fn opt_bool(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        label: &str,
    ) -> Option<Option<bool>> {
        if given(map.get(key)).is_none() {
            return Some(None);
        }
        self.boolean(map.get(key), &path(prefix, key), label)
            .optional()
    }

    fn expected_services(&mut self, v: Option<&Value>) -> Option<ExpectedServices> {
        const FIELD: &str = "services";
        let mut out = ExpectedServices::default();
        let Some(v) = given(v) else {
            return Some(out);
        };
        let Some(map) = v.as_object() else {
            self.push(
                FIELD,
                FieldCode::InvalidFormat,
                "业务应为 JSON 对象，以业务代码为键，如 {\"water\": {…}}",
            );
            return None;
        };
        let config = self.config;
        let configured = || {
            config
                .services
                .iter()
                .map(|s| format!("{}（{}）", s.code, s.name))
                .collect::<Vec<_>>()
                .join("、")
        };
        let mut ok = true;
        for key in map.keys() {
            if !KNOWN_SERVICES.contains(&key.as_str()) || config.service(key).is_none() {
                self.push(
                    path(FIELD, &key_segment(key)),
                    FieldCode::UnknownValue,
                    format!("未知的业务“{}”，可选：{}", echo(key), configured()),
                );
                ok = false;
            }
        }
        let empty = Map::new();
        for code in KNOWN_SERVICES {
            let Some(section) = map.get(code) else {
                continue;
            };
            if config.service(code).is_none() {
                continue;
            }
            let prefix = path(FIELD, code);
            let details = match section {
                Value::Null => &empty,
                Value::Object(m) => m,
                _ => {
                    self.push(
                        &prefix,
                        FieldCode::InvalidFormat,
                        "业务需求应为 JSON 对象（可为空对象 {}）",
                    );
                    ok = false;
                    continue;
                }
            };
            let parsed = match code {
                "water" => self
                    .expected_water(details, &prefix)
                    .map(|d| out.water = Some(d)),
                "power" => self
                    .expected_power(details, &prefix)
                    .map(|d| out.power = Some(d)),
                "gas" => self
                    .expected_gas(details, &prefix)
                    .map(|d| out.gas = Some(d)),
                "heat" => self
                    .expected_heat(details, &prefix)
                    .map(|d| out.heat = Some(d)),
                "network" => self
                    .expected_network(details, &prefix)
                    .map(|d| out.network = Some(d)),
                _ => None,
            };
            ok &= parsed.is_some();
        }
        ok.then_some(out)
    }

    fn expected_water(&mut self, m: &Map<String, Value>, p: &str) -> Option<ExpectedWater> {
        self.unknown_keys(m, p, &["business_type", "demand_tons_per_day"]);
        let business_type =
            self.opt_choice::<WaterBusinessType>(m, p, "business_type", "用水业务类型");
        let demand = self.opt_number(
            m,
            p,
            "demand_tons_per_day",
            "用水量",
            "吨/日",
            true,
            MAX_WATER_DEMAND_TONS_PER_DAY,
        );
        Some(ExpectedWater {
            business_type: business_type?,
            demand_tons_per_day: demand?,
        })
    }

    fn expected_power(&mut self, m: &Map<String, Value>, p: &str) -> Option<ExpectedPower> {
        self.unknown_keys(
            m,
            p,
            &["business_type", "main_capacity_kva", "backup_capacity_kva"],
        );
        let business_type =
            self.opt_choice::<PowerBusinessType>(m, p, "business_type", "用电业务类型");
        let main = self.opt_number(
            m,
            p,
            "main_capacity_kva",
            "主供容量",
            "kVA",
            true,
            MAX_CAPACITY_KVA,
        );
        let backup = self.opt_number(
            m,
            p,
            "backup_capacity_kva",
            "备用容量",
            "kVA",
            false,
            MAX_CAPACITY_KVA,
        );
        Some(ExpectedPower {
            business_type: business_type?,
            main_capacity_kva: main?,
            backup_capacity_kva: backup?,
        })
    }

    fn expected_gas(&mut self, m: &Map<String, Value>, p: &str) -> Option<ExpectedGas> {
        self.unknown_keys(m, p, &["category", "equipment"]);
        let category = self.opt_choice::<GasCategory>(m, p, "category", "用气类别");
        let equipment = match given(m.get("equipment")) {
            None => Some(Vec::new()),
            Some(Value::Array(a)) if a.is_empty() => Some(Vec::new()),
            Some(_) => self.gas_equipment(m.get("equipment"), &path(p, "equipment")),
        };
        Some(ExpectedGas {
            category: category?,
            equipment: equipment?,
        })
    }

    fn expected_heat(&mut self, m: &Map<String, Value>, p: &str) -> Option<ExpectedHeat> {
        self.unknown_keys(m, p, &["category", "heating_area_m2"]);
        let category = self.opt_choice::<HeatCategory>(m, p, "category", "供暖类别");
        let area = self.opt_number(
            m,
            p,
            "heating_area_m2",
            "供暖面积",
            "平方米",
            true,
            MAX_AREA_M2,
        );
        Some(ExpectedHeat {
            category: category?,
            heating_area_m2: area?,
        })
    }

    fn expected_network(&mut self, m: &Map<String, Value>, p: &str) -> Option<ExpectedNetwork> {
        self.unknown_keys(
            m,
            p,
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
        let area = self.opt_number(
            m,
            p,
            "building_area_m2",
            "建筑面积",
            "平方米",
            true,
            MAX_AREA_M2,
        );
        let height = self.opt_number(
            m,
            p,
            "building_height_m",
            "建筑高度",
            "米",
            true,
            MAX_BUILDING_HEIGHT_M,
        );
        let delivery = if given(m.get("delivery_date")).is_none() {
            Some(None)
        } else {
            self.delivery_date(m.get("delivery_date"), &path(p, "delivery_date"))
                .optional()
        };
        let basement = self.opt_bool(m, p, "basement_coverage", "是否需要地下室覆盖");
        let buildings = if given(m.get("buildings")).is_none() {
            Some(None)
        } else {
            self.integer(
                m.get("buildings"),
                &path(p, "buildings"),
                "覆盖楼栋数",
                "栋",
                NETWORK_BUILDINGS,
            )
            .optional()
        };
        let elevator = self.opt_bool(m, p, "elevator_coverage", "是否需要电梯覆盖");
        let carriers = match given(m.get("carriers")) {
            None => Some(Vec::new()),
            Some(Value::Array(a)) if a.is_empty() => Some(Vec::new()),
            Some(_) => self.carriers(m.get("carriers"), &path(p, "carriers")),
        };
        Some(ExpectedNetwork {
            building_area_m2: area?,
            building_height_m: height?,
            delivery_date: delivery?,
            basement_coverage: basement?,
            buildings: buildings?,
            elevator_coverage: elevator?,
            carriers: carriers?,
        })
    }
}
