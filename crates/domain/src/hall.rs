//! Shared service halls (共享水电气网暖营业厅): what a hall is, when it is
//! open, and how far it is from someone (the 15-minute service circle).
//!
//! A hall is an outlet where a person can consult, pay, apply and query for
//! several utilities at one window ("一个网点一个窗口一次办"): a utility's own
//! outlet, the government service centre's window, a community point or a
//! self-service kiosk, each with the channels it offers (机/网/人).
//!
//! - [`parse_hall`] validates a hall given as JSON (the API's body, a page
//!   form turned into the same object, or a `[[halls]]` entry of the city's
//!   configuration) and reports every field problem at once.
//! - [`Hall::open_state`] says whether a hall is open at an instant and when
//!   it next opens, on the official calendar (holidays, make-up working days).
//! - [`HallIndex`] answers "which halls are within 15 minutes of here, and
//!   which is the nearest per service" and the coverage of a district.
//!
//! Travel time is an estimate: the straight-line (great-circle) distance
//! times a detour factor, at a configured walking or driving speed.

use crate::calendar::{Calendar, DayKind};
use crate::config::{Bounds, CityConfig, UnitKind};
use crate::form::{FieldCode, FieldError};
use crate::text::{TextKind, check_field};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime, Weekday};

/// Most halls a city may register (bounds every scan and every page).
pub const MAX_HALLS: usize = 20_000;
/// Most services listed on one hall, and most units per service.
pub const MAX_HALL_SERVICES: usize = 16;
pub const MAX_SERVICE_UNITS: usize = 8;
/// Most opening periods in one day.
pub const MAX_PERIODS: usize = 4;

/// What kind of place a hall is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HallKind {
    /// A utility's own outlet made shared (公用事业单位营业厅).
    UtilityOutlet,
    /// The shared window of a government service centre (政务服务中心).
    ServiceCentre,
    /// A community or village service point (社区便民服务点).
    CommunityPoint,
    /// A self-service machine (自助服务终端).
    Kiosk,
}

impl HallKind {
    pub const ALL: [HallKind; 4] = [
        HallKind::UtilityOutlet,
        HallKind::ServiceCentre,
        HallKind::CommunityPoint,
        HallKind::Kiosk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HallKind::UtilityOutlet => "utility_outlet",
            HallKind::ServiceCentre => "service_centre",
            HallKind::CommunityPoint => "community_point",
            HallKind::Kiosk => "kiosk",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            HallKind::UtilityOutlet => "公用事业营业厅",
            HallKind::ServiceCentre => "政务服务中心窗口",
            HallKind::CommunityPoint => "社区便民服务点",
            HallKind::Kiosk => "自助服务终端",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a hall serves (宜机则机、宜网则网、宜人则人).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HallChannel {
    /// Self-service machines (自助设备).
    Machine,
    /// Online, with help on site (网上办理).
    Online,
    /// Staffed windows (人工窗口).
    Staffed,
}

impl HallChannel {
    pub const ALL: [HallChannel; 3] = [
        HallChannel::Machine,
        HallChannel::Online,
        HallChannel::Staffed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HallChannel::Machine => "machine",
            HallChannel::Online => "online",
            HallChannel::Staffed => "staffed",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            HallChannel::Machine => "自助设备",
            HallChannel::Online => "网上办理",
            HallChannel::Staffed => "人工窗口",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A kind of counter business (业务).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Business {
    /// 咨询
    Consult,
    /// 缴费
    Pay,
    /// 报装
    Apply,
    /// 查询
    Query,
    /// 过户
    Transfer,
    /// 变更（更名、增减容等）
    Change,
    /// 发票
    Invoice,
}

impl Business {
    pub const ALL: [Business; 7] = [
        Business::Consult,
        Business::Pay,
        Business::Apply,
        Business::Query,
        Business::Transfer,
        Business::Change,
        Business::Invoice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Business::Consult => "consult",
            Business::Pay => "pay",
            Business::Apply => "apply",
            Business::Query => "query",
            Business::Transfer => "transfer",
            Business::Change => "change",
            Business::Invoice => "invoice",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Business::Consult => "咨询",
            Business::Pay => "缴费",
            Business::Apply => "报装",
            Business::Query => "查询",
            Business::Transfer => "过户",
            Business::Change => "变更",
            Business::Invoice => "发票",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One service offered at a hall: which business, on behalf of which units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HallService {
    /// A configured service (`water`, `power`, `gas`, `heat`, `network`).
    #[cfg_attr(feature = "openapi", schema(example = "water"))]
    pub service: String,
    /// The units the hall acts for (unit codes; utilities providing the service).
    #[cfg_attr(feature = "openapi", schema(example = json!(["sz-water"])))]
    pub units: Vec<String>,
    pub business: Vec<Business>,
}

/// An opening period of a day, in minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub open: u16,
    pub close: u16,
}

impl Period {
    fn fmt(self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.open / 60,
            self.open % 60,
            self.close / 60,
            self.close % 60
        )
    }
}

/// Weekday keys of [`WeekHours`], Monday first.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Chinese names of the weekdays, Monday first.
pub const DAY_NAMES: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// Opening periods per weekday (Monday first); an empty day is closed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WeekHours(pub [Vec<Period>; 7]);

impl WeekHours {
    /// The periods of a weekday.
    pub fn on(&self, day: Weekday) -> &[Period] {
        &self.0[day.number_days_from_monday() as usize]
    }

    /// One day's periods as text: `08:30-12:00,14:30-17:30`, empty when closed.
    pub fn day_text(&self, index: usize) -> String {
        self.0[index]
            .iter()
            .map(|p| p.fmt())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Lines for a sign: consecutive days with the same hours grouped
    /// ("周一至周五 08:30-12:00，14:30-17:30", "周日 休息").
    pub fn sign_lines(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < 7 {
            let mut j = i;
            while j + 1 < 7 && self.0[j + 1] == self.0[i] {
                j += 1;
            }
            let days = if i == j {
                DAY_NAMES[i].to_owned()
            } else {
                format!("{}至{}", DAY_NAMES[i], DAY_NAMES[j])
            };
            let hours = if self.0[i].is_empty() {
                "休息".to_owned()
            } else {
                self.0[i]
                    .iter()
                    .map(|p| p.fmt().replace('-', "–"))
                    .collect::<Vec<_>>()
                    .join("，")
            };
            out.push((days, hours));
            i = j + 1;
        }
        out
    }
}

impl Serialize for WeekHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(7))?;
        for (i, key) in DAY_KEYS.iter().enumerate() {
            m.serialize_entry(key, &self.day_text(i))?;
        }
        m.end()
    }
}

/// A hall as registered: everything a sign, the directory and the
/// 15-minute circle need.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hall {
    /// Stable key (lower-case letters, digits and `-`), used in clerk roles
    /// (`clerk:<code>`) and applications' `hall_id`.
    #[cfg_attr(feature = "openapi", schema(example = "zd-jtdd"))]
    pub code: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "水电气网暖共享营业厅（交通大道）")
    )]
    pub name: String,
    pub kind: HallKind,
    #[cfg_attr(feature = "openapi", schema(example = "421303"))]
    pub district_code: String,
    pub address: String,
    /// The address is an example (the default city's demonstration data),
    /// not a real place.
    pub example: bool,
    pub lng: f64,
    pub lat: f64,
    /// The hall's telephone (landline or mobile).
    pub phone: String,
    /// Opening periods per weekday: `{"mon": "08:30-12:00,14:30-17:30", …,
    /// "sun": ""}` (empty = closed).
    #[cfg_attr(feature = "openapi", schema(value_type = Object, example = json!({"mon": "08:30-12:00,14:30-17:30", "sat": "", "sun": ""})))]
    pub hours: WeekHours,
    /// Closed on the official holidays; on make-up working days (调休上班)
    /// open as on a Monday.
    pub closed_on_holidays: bool,
    pub channels: Vec<HallChannel>,
    pub services: Vec<HallService>,
}

/// Whether a hall is open, and when that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    /// Open now, until this instant (Unix seconds).
    Open { until: i64 },
    /// Closed now; opens next at this instant, if within the next 30 days.
    Closed { next: Option<i64> },
}

impl Hall {
    /// Whether the hall offers `business` (any, when `None`) for `service`
    /// (any, when `None`).
    pub fn offers(&self, service: Option<&str>, business: Option<Business>) -> bool {
        self.services.iter().any(|s| {
            service.is_none_or(|x| s.service == x)
                && business.is_none_or(|b| s.business.contains(&b))
        })
    }

    /// The opening periods on `date` of kind `kind` (holidays, make-up days).
    pub fn periods_on(&self, date: Date, kind: Option<DayKind>) -> &[Period] {
        match kind {
            Some(DayKind::Holiday) if self.closed_on_holidays => &[],
            Some(DayKind::MakeupWorkday) if self.closed_on_holidays => {
                self.hours.on(Weekday::Monday)
            }
            _ => self.hours.on(date.weekday()),
        }
    }

    /// Open or closed at `now` (local time at the city's offset), on the
    /// official calendar; a date the calendar does not cover is taken by its
    /// weekday alone.
    pub fn open_state(&self, calendar: &Calendar, now: OffsetDateTime) -> OpenState {
        let offset = now.offset();
        let minute = (now.hour() as u16) * 60 + now.minute() as u16;
        let mut date = now.date();
        for day in 0..31 {
            let kind = calendar.day(date).ok().map(|d| d.kind);
            for p in self.periods_on(date, kind) {
                let at = |m: u16| {
                    date.midnight().assume_offset(offset).unix_timestamp() + i64::from(m) * 60
                };
                if day == 0 && p.open <= minute && minute < p.close {
                    return OpenState::Open { until: at(p.close) };
                }
                if day > 0 || p.open > minute {
                    return OpenState::Closed {
                        next: Some(at(p.open)),
                    };
                }
            }
            match date.next_day() {
                Some(d) => date = d,
                None => break,
            }
        }
        OpenState::Closed { next: None }
    }
}

// ── Validation ──────────────────────────────────────────────────────────

fn err(field: &str, code: FieldCode, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message)
}

/// Whether `code` is a hall code: 2–40 of `a-z`, `0-9`, `-`, not starting
/// or ending with `-`.
pub fn code_is_valid(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
        && !code.ends_with('-')
}

fn parse_time(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

/// One day's periods from text: `08:30-12:00,14:30-17:30` (also `，`, `、`,
/// `;` or spaces between periods, `～`/`至`/`–` between times, full-width
/// colons); empty, `休息` or `closed` is closed. Periods must be in order
/// and not overlap.
pub fn parse_day(text: &str) -> Result<Vec<Period>, &'static str> {
    if text.len() > 200 {
        return Err("营业时间太长");
    }
    let t = text
        .trim()
        .replace('：', ":")
        .replace(['～', '~', '至', '–', '—', '－'], "-");
    if t.is_empty() || t == "休息" || t == "closed" {
        return Ok(Vec::new());
    }
    let mut out: Vec<Period> = Vec::new();
    for part in t
        .split([',', '，', '、', ';', '；', ' '])
        .filter(|p| !p.is_empty())
    {
        if out.len() == MAX_PERIODS {
            return Err("每天最多填写4个营业时段");
        }
        let (a, b) = part.split_once('-').ok_or("营业时段应写成“08:30-12:00”")?;
        let (open, close) = match (parse_time(a.trim()), parse_time(b.trim())) {
            (Some(o), Some(c)) => (o, c),
            _ => return Err("营业时段应写成“08:30-12:00”"),
        };
        if open >= close {
            return Err("营业时段的结束时间应晚于开始时间");
        }
        if out.last().is_some_and(|p| p.close > open) {
            return Err("营业时段应按时间先后填写，且不能重叠");
        }
        out.push(Period { open, close });
    }
    Ok(out)
}

fn str_of<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            errors.push(err(path, FieldCode::InvalidFormat, "应为文字"));
            None
        }
    }
}

fn number_of(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    match obj.get(key) {
        None | Some(Value::Null) => {
            errors.push(err(key, FieldCode::Required, format!("请填写{label}")));
            None
        }
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if !s.trim().is_empty() => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                errors.push(err(
                    key,
                    FieldCode::InvalidFormat,
                    format!("{label}请填写数字，例如 113.38"),
                ));
                None
            }
        },
        Some(Value::String(_)) => {
            errors.push(err(key, FieldCode::Required, format!("请填写{label}")));
            None
        }
        Some(_) => {
            errors.push(err(
                key,
                FieldCode::InvalidFormat,
                format!("{label}请填写数字"),
            ));
            None
        }
    }
}

fn bool_of(
    obj: &Map<String, Value>,
    key: &str,
    default: bool,
    errors: &mut Vec<FieldError>,
) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(err(key, FieldCode::InvalidFormat, "应为 true 或 false"));
            default
        }
    }
}

/// The array at `key` (absent = empty), bounded to `max` entries.
fn array_of<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> &'a [Value] {
    match obj.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) if a.len() <= max => a.as_slice(),
        Some(Value::Array(_)) => {
            errors.push(err(key, FieldCode::OutOfRange, format!("最多{max}项")));
            &[]
        }
        Some(_) => {
            errors.push(err(key, FieldCode::InvalidFormat, "应为列表"));
            &[]
        }
    }
}

const HALL_KEYS: [&str; 13] = [
    "code",
    "name",
    "kind",
    "district_code",
    "address",
    "example",
    "lng",
    "lat",
    "phone",
    "hours",
    "closed_on_holidays",
    "channels",
    "services",
];

/// Validates a hall given as a JSON object (the API's body, a page form
/// turned into the same shape, or a configuration entry); every problem is
/// reported at once, each at its dotted field path.
///
/// `hours` is an object of day keys `mon`…`sun` (and the shortcuts
/// `workdays` for Monday–Friday and `weekend` for Saturday and Sunday, which
/// a day key overrides), each a text for [`parse_day`]. A service's `units`
/// default to the service's providers (every carrier for `network`).
pub fn parse_hall(obj: &Map<String, Value>, config: &CityConfig) -> Result<Hall, Vec<FieldError>> {
    let mut errors = Vec::new();
    for key in obj.keys() {
        if !HALL_KEYS.contains(&key.as_str()) {
            errors.push(err(key.as_str(), FieldCode::UnknownField, "没有这一项"));
        }
    }
    let code = str_of(obj, "code", "code", &mut errors)
        .map(str::trim)
        .unwrap_or("");
    if code.is_empty() {
        errors.push(err("code", FieldCode::Required, "请填写营业厅编号"));
    } else if !code_is_valid(code) {
        errors.push(err(
            "code",
            FieldCode::InvalidFormat,
            "营业厅编号由2至40个小写字母、数字或“-”组成，例如 zd-jtdd",
        ));
    }
    let text = |key: &str, label: &str, kind: TextKind, errors: &mut Vec<FieldError>| {
        let raw = str_of(obj, key, key, errors);
        match check_field(key, label, kind, raw, true) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                errors.push(e);
                String::new()
            }
        }
    };
    let name = text("name", "营业厅名称", TextKind::HallName, &mut errors);
    let address = text("address", "地址", TextKind::Address, &mut errors);
    let kind = match str_of(obj, "kind", "kind", &mut errors) {
        None | Some("") => {
            errors.push(err("kind", FieldCode::Required, "请选择营业厅类型"));
            None
        }
        Some(k) => HallKind::parse(k).or_else(|| {
            errors.push(err("kind", FieldCode::UnknownValue, "没有这种营业厅类型"));
            None
        }),
    };
    let district = str_of(obj, "district_code", "district_code", &mut errors).unwrap_or("");
    if district.is_empty() {
        errors.push(err("district_code", FieldCode::Required, "请选择所在区县"));
    } else if config.district(district).is_none() {
        errors.push(err(
            "district_code",
            FieldCode::UnknownValue,
            "没有这个区县",
        ));
    }
    let example = bool_of(obj, "example", false, &mut errors);
    let lng = number_of(obj, "lng", "经度", &mut errors);
    let lat = number_of(obj, "lat", "纬度", &mut errors);
    if let (Some(x), Some(y)) = (lng, lat)
        && !config.city.bounds.contains(x, y)
    {
        let b = &config.city.bounds;
        errors.push(err(
            "lng",
            FieldCode::OutOfRange,
            format!(
                "位置不在{}范围内（经度 {}–{}，纬度 {}–{}）",
                config.city.name, b.min_lng, b.max_lng, b.min_lat, b.max_lat
            ),
        ));
    }
    let phone = str_of(obj, "phone", "phone", &mut errors)
        .map(|p| p.trim().replace([' ', '（', '）', '(', ')'], ""))
        .unwrap_or_default();
    if phone.is_empty() {
        errors.push(err("phone", FieldCode::Required, "请填写咨询电话"));
    } else if phone.len() > 20 || !crate::form::phone_is_valid(&phone) {
        errors.push(err(
            "phone",
            FieldCode::InvalidFormat,
            "咨询电话应为手机号或带区号的固定电话，例如 0722-3200000",
        ));
    }
    let hours = parse_hours(obj.get("hours"), &mut errors);
    let closed_on_holidays = bool_of(obj, "closed_on_holidays", true, &mut errors);

    let mut channels = Vec::new();
    for (i, c) in array_of(obj, "channels", 3, &mut errors).iter().enumerate() {
        match c.as_str().and_then(HallChannel::parse) {
            Some(c) if !channels.contains(&c) => channels.push(c),
            Some(_) => {}
            None => errors.push(err(
                format!("channels.{i}").as_str(),
                FieldCode::UnknownValue,
                "没有这种服务方式",
            )),
        }
    }
    channels.sort();
    if channels.is_empty() && !errors.iter().any(|e| e.field.starts_with("channels")) {
        errors.push(err(
            "channels",
            FieldCode::Required,
            "请至少选择一种服务方式",
        ));
    }

    let services = parse_services(obj, config, &mut errors);

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Hall {
        code: code.to_owned(),
        name,
        kind: kind.expect("checked"),
        district_code: district.to_owned(),
        address,
        example,
        lng: lng.expect("checked"),
        lat: lat.expect("checked"),
        phone,
        hours,
        closed_on_holidays,
        channels,
        services,
    })
}

fn parse_hours(value: Option<&Value>, errors: &mut Vec<FieldError>) -> WeekHours {
    let mut week = WeekHours::default();
    let obj = match value {
        None | Some(Value::Null) => {
            errors.push(err("hours", FieldCode::Required, "请填写营业时间"));
            return week;
        }
        Some(Value::Object(o)) => o,
        Some(_) => {
            errors.push(err(
                "hours",
                FieldCode::InvalidFormat,
                "营业时间应按星期填写",
            ));
            return week;
        }
    };
    let mut set = [false; 7];
    let mut apply =
        |key: &str, days: &[usize], override_set: bool, errors: &mut Vec<FieldError>| {
            let Some(v) = obj.get(key) else { return };
            let text = match v {
                Value::String(s) => s.as_str(),
                Value::Null => "",
                _ => {
                    errors.push(err(
                        format!("hours.{key}").as_str(),
                        FieldCode::InvalidFormat,
                        "营业时间应为文字，例如 08:30-12:00,14:30-17:30",
                    ));
                    return;
                }
            };
            match parse_day(text) {
                Ok(p) => {
                    for &d in days {
                        if override_set || !set[d] {
                            week.0[d] = p.clone();
                            set[d] = override_set || set[d];
                        }
                    }
                }
                Err(m) => errors.push(err(
                    format!("hours.{key}").as_str(),
                    FieldCode::InvalidFormat,
                    m,
                )),
            }
        };
    for (i, key) in DAY_KEYS.iter().enumerate() {
        apply(key, &[i], true, errors);
    }
    apply("workdays", &[0, 1, 2, 3, 4], false, errors);
    apply("weekend", &[5, 6], false, errors);
    for key in obj.keys() {
        if !DAY_KEYS.contains(&key.as_str()) && key != "workdays" && key != "weekend" {
            errors.push(err(
                format!("hours.{key}").as_str(),
                FieldCode::UnknownField,
                "营业时间按 mon、tue、wed、thu、fri、sat、sun 填写",
            ));
        }
    }
    if week.0.iter().all(Vec::is_empty) && !errors.iter().any(|e| e.field.starts_with("hours")) {
        errors.push(err(
            "hours",
            FieldCode::Required,
            "请至少填写一天的营业时间",
        ));
    }
    week
}

fn parse_services(
    obj: &Map<String, Value>,
    config: &CityConfig,
    errors: &mut Vec<FieldError>,
) -> Vec<HallService> {
    let list = array_of(obj, "services", MAX_HALL_SERVICES, errors);
    let mut out: Vec<HallService> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let path = format!("services.{i}");
        let Some(s) = v.as_object() else {
            errors.push(err(&path, FieldCode::InvalidFormat, "应为对象"));
            continue;
        };
        for key in s.keys() {
            if !["service", "units", "business"].contains(&key.as_str()) {
                errors.push(err(
                    format!("{path}.{key}").as_str(),
                    FieldCode::UnknownField,
                    "没有这一项",
                ));
            }
        }
        let Some(code) = s.get("service").and_then(Value::as_str) else {
            errors.push(err(
                format!("{path}.service").as_str(),
                FieldCode::Required,
                "请选择业务",
            ));
            continue;
        };
        let Some(service) = config.service(code) else {
            errors.push(err(
                format!("{path}.service").as_str(),
                FieldCode::UnknownValue,
                "没有这项业务",
            ));
            continue;
        };
        if out.iter().any(|x| x.service == code) {
            errors.push(err(
                format!("{path}.service").as_str(),
                FieldCode::InvalidFormat,
                "同一业务只能列一次",
            ));
            continue;
        }
        let providers: Vec<String> = match &service.provider {
            Some(p) => vec![p.clone()],
            None => service.carriers.iter().map(|c| c.unit.clone()).collect(),
        };
        let mut units = Vec::new();
        match s.get("units") {
            None | Some(Value::Null) => units = providers.clone(),
            Some(Value::Array(a)) if a.len() <= MAX_SERVICE_UNITS => {
                for (j, u) in a.iter().enumerate() {
                    let upath = format!("{path}.units.{j}");
                    match u.as_str().and_then(|u| config.unit(u)) {
                        Some(unit)
                            if unit.kind == UnitKind::Utility && providers.contains(&unit.code) =>
                        {
                            if !units.contains(&unit.code) {
                                units.push(unit.code.clone());
                            }
                        }
                        Some(_) => errors.push(err(
                            &upath,
                            FieldCode::NotAllowed,
                            format!("这个单位不提供{}业务", service.name),
                        )),
                        None => errors.push(err(&upath, FieldCode::UnknownValue, "没有这个单位")),
                    }
                }
                if a.is_empty() {
                    errors.push(err(
                        format!("{path}.units").as_str(),
                        FieldCode::Required,
                        "请至少选择一个承办单位",
                    ));
                }
            }
            Some(_) => errors.push(err(
                format!("{path}.units").as_str(),
                FieldCode::InvalidFormat,
                format!("最多{MAX_SERVICE_UNITS}个单位"),
            )),
        }
        let mut business = Vec::new();
        match s.get("business") {
            Some(Value::Array(a)) if a.len() <= Business::ALL.len() * 2 => {
                for (j, b) in a.iter().enumerate() {
                    match b.as_str().and_then(Business::parse) {
                        Some(b) if !business.contains(&b) => business.push(b),
                        Some(_) => {}
                        None => errors.push(err(
                            format!("{path}.business.{j}").as_str(),
                            FieldCode::UnknownValue,
                            "没有这种业务类型",
                        )),
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => errors.push(err(
                format!("{path}.business").as_str(),
                FieldCode::InvalidFormat,
                "应为列表",
            )),
        }
        business.sort();
        if business.is_empty()
            && !errors
                .iter()
                .any(|e| e.field.starts_with(&format!("{path}.business")))
        {
            errors.push(err(
                format!("{path}.business").as_str(),
                FieldCode::Required,
                format!("请选择可办理的{}业务（咨询、缴费、报装……）", service.name),
            ));
        }
        out.push(HallService {
            service: code.to_owned(),
            units,
            business,
        });
    }
    if out.is_empty() && !errors.iter().any(|e| e.field.starts_with("services")) {
        errors.push(err(
            "services",
            FieldCode::Required,
            "请至少选择一项可办理的业务",
        ));
    }
    // Services in the configuration's order.
    out.sort_by_key(|s| config.services.iter().position(|c| c.code == s.service));
    out
}

/// The JSON form of a hall, as [`parse_hall`] reads it.
pub fn to_json(hall: &Hall) -> Map<String, Value> {
    match serde_json::to_value(hall) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

// ── Distance and the 15-minute circle ──────────────────────────────────

/// How travel is estimated (`[service_circle]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircleConfig {
    /// The circle's size in minutes (15 in the reform: "15分钟办事圈").
    pub minutes: f64,
    /// Walking speed, km/h.
    pub walk_kmh: f64,
    /// Driving speed in town, km/h.
    pub drive_kmh: f64,
    /// Road distance over straight-line distance.
    pub detour_factor: f64,
    /// Spacing of the coverage grid's sample points, metres.
    pub grid_step_m: f64,
}

impl Default for CircleConfig {
    fn default() -> Self {
        CircleConfig {
            minutes: 15.0,
            walk_kmh: 4.5,
            drive_kmh: 30.0,
            detour_factor: 1.3,
            grid_step_m: 2000.0,
        }
    }
}

impl CircleConfig {
    pub fn check(&self) -> Option<String> {
        let ok = |x: f64, lo: f64, hi: f64| x.is_finite() && x >= lo && x <= hi;
        (!(ok(self.minutes, 1.0, 120.0)
            && ok(self.walk_kmh, 1.0, 10.0)
            && ok(self.drive_kmh, 5.0, 120.0)
            && ok(self.detour_factor, 1.0, 3.0)
            && ok(self.grid_step_m, 200.0, 20_000.0)))
        .then(|| {
            "service_circle: minutes 1–120, walk_kmh 1–10, drive_kmh 5–120, detour_factor 1–3, grid_step_m 200–20000".into()
        })
    }

    /// Estimated minutes to cover a straight-line distance.
    pub fn minutes_for(&self, distance_m: f64, mode: Mode) -> f64 {
        let kmh = match mode {
            Mode::Walk => self.walk_kmh,
            Mode::Drive => self.drive_kmh,
        };
        distance_m * self.detour_factor / (kmh * 1000.0 / 60.0)
    }

    /// The straight-line distance reachable within the circle's minutes.
    pub fn reach_m(&self, mode: Mode) -> f64 {
        let kmh = match mode {
            Mode::Walk => self.walk_kmh,
            Mode::Drive => self.drive_kmh,
        };
        self.minutes * kmh * 1000.0 / 60.0 / self.detour_factor
    }
}

/// How someone travels to a hall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = TravelMode))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Walk,
    Drive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Walk => "walk",
            Mode::Drive => "drive",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Mode::Walk => "步行",
            Mode::Drive => "驾车",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "walk" => Some(Mode::Walk),
            "drive" => Some(Mode::Drive),
            _ => None,
        }
    }
}

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two WGS-84 points (degrees).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// A hall reached from a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    /// Index of the hall in the [`HallIndex`].
    pub hall: usize,
    pub distance_m: f64,
    pub minutes: f64,
}

/// What the circle is asked: from where, for what, how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seek<'a> {
    pub lat: f64,
    pub lng: f64,
    /// A service (any, when `None`).
    pub service: Option<&'a str>,
    /// A business (any, when `None`).
    pub business: Option<Business>,
    pub mode: Mode,
}

/// The halls within the circle and the nearest hall per service.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearby {
    /// Halls within the circle offering what was asked, nearest first.
    pub within: Vec<Reach>,
    /// Per configured service (in the configuration's order), the nearest
    /// hall offering it (any distance), if any hall does.
    pub nearest: Vec<(String, Option<Reach>)>,
}

/// The registered halls prepared for distance questions: one pass over
/// flat arrays, each hall's services as a bit set.
#[derive(Debug, Clone)]
pub struct HallIndex {
    halls: Vec<Hall>,
    lat_rad: Vec<f64>,
    lng_rad: Vec<f64>,
    cos_lat: Vec<f64>,
    /// Bit `s * 8 + b`: service index `s` offers business `b`; bit 63 of
    /// `any`: offers anything for service `s` is in `services_any`.
    offers: Vec<u64>,
    services_any: Vec<u32>,
    service_codes: Vec<String>,
}

impl HallIndex {
    /// An index over `halls`; services are numbered in `service_codes`' order
    /// (at most 8 services are indexed; others are matched by scanning).
    pub fn new(halls: Vec<Hall>, service_codes: &[String]) -> Self {
        let n = halls.len();
        let mut idx = HallIndex {
            lat_rad: Vec::with_capacity(n),
            lng_rad: Vec::with_capacity(n),
            cos_lat: Vec::with_capacity(n),
            offers: Vec::with_capacity(n),
            services_any: Vec::with_capacity(n),
            service_codes: service_codes.iter().take(8).cloned().collect(),
            halls: Vec::new(),
        };
        for h in &halls {
            idx.lat_rad.push(h.lat.to_radians());
            idx.lng_rad.push(h.lng.to_radians());
            idx.cos_lat.push(h.lat.to_radians().cos());
            let (mut bits, mut any) = (0u64, 0u32);
            for s in &h.services {
                if let Some(si) = idx.service_codes.iter().position(|c| *c == s.service) {
                    any |= 1 << si;
                    for b in &s.business {
                        bits |= 1 << (si * 8 + *b as usize);
                    }
                }
            }
            idx.offers.push(bits);
            idx.services_any.push(any);
        }
        idx.halls = halls;
        idx
    }

    pub fn halls(&self) -> &[Hall] {
        &self.halls
    }

    pub fn get(&self, i: usize) -> &Hall {
        &self.halls[i]
    }

    pub fn len(&self) -> usize {
        self.halls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.halls.is_empty()
    }

    fn service_index(&self, service: &str) -> Option<usize> {
        self.service_codes.iter().position(|c| c == service)
    }

    /// Whether hall `i` offers `business` (any) for service index `si`.
    fn offers(&self, i: usize, si: usize, business: Option<Business>) -> bool {
        match business {
            None => self.services_any[i] & (1 << si) != 0,
            Some(b) => self.offers[i] & (1 << (si * 8 + b as usize)) != 0,
        }
    }

    fn distance_to(&self, i: usize, lat: f64, cos_lat: f64, lng: f64) -> f64 {
        let dp = self.lat_rad[i] - lat;
        let dl = self.lng_rad[i] - lng;
        let a = (dp / 2.0).sin().powi(2) + cos_lat * self.cos_lat[i] * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// The halls within the circle of (`lat`, `lng`) offering `business`
    /// (any) for `service` (any), nearest first (at most `limit`), and the
    /// nearest hall per indexed service offering `business` (any).
    pub fn nearby(&self, seek: &Seek<'_>, circle: &CircleConfig, limit: usize) -> Nearby {
        let Seek {
            lat,
            lng,
            service,
            business,
            mode,
        } = *seek;
        let (plat, plng) = (lat.to_radians(), lng.to_radians());
        let pcos = plat.cos();
        let reach = circle.reach_m(mode);
        let wanted = service.map(|s| self.service_index(s));
        let ns = self.service_codes.len();
        // One pass with the equirectangular approximation (a few
        // multiplications per hall, well within 1 % of the great circle
        // across a city); the exact distance only for the halls kept.
        let reach_rad = reach / EARTH_RADIUS_M * 1.02;
        let near_enough = reach_rad * reach_rad;
        let mut best: Vec<(f64, usize)> = vec![(f64::INFINITY, usize::MAX); ns];
        let mut within = Vec::new();
        for i in 0..self.halls.len() {
            let dx = (self.lng_rad[i] - plng) * pcos;
            let dy = self.lat_rad[i] - plat;
            let d2 = dx * dx + dy * dy;
            for (si, slot) in best.iter_mut().enumerate() {
                if d2 < slot.0 && self.offers(i, si, business) {
                    *slot = (d2, i);
                }
            }
            if d2 <= near_enough {
                let ok = match wanted {
                    None => business.is_none_or(|b| (0..ns).any(|si| self.offers(i, si, Some(b)))),
                    Some(Some(si)) => self.offers(i, si, business),
                    Some(None) => false,
                };
                let d = self.distance_to(i, plat, pcos, plng);
                if ok && d <= reach {
                    within.push(Reach {
                        hall: i,
                        distance_m: d,
                        minutes: circle.minutes_for(d, mode),
                    });
                }
            }
        }
        let best: Vec<Option<Reach>> = best
            .into_iter()
            .map(|(_, i)| {
                (i != usize::MAX).then(|| {
                    let d = self.distance_to(i, plat, pcos, plng);
                    Reach {
                        hall: i,
                        distance_m: d,
                        minutes: circle.minutes_for(d, mode),
                    }
                })
            })
            .collect();
        within.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then(a.hall.cmp(&b.hall))
        });
        within.truncate(limit);
        Nearby {
            within,
            nearest: self.service_codes.iter().cloned().zip(best).collect(),
        }
    }

    /// The coverage of `extent` by the circle: sample points on a grid of
    /// `circle.grid_step_m`, and per service the points with a hall offering
    /// `business` (any) for it within the circle. Gaps are the points with
    /// no such hall, with the minutes to the nearest one (if any).
    pub fn coverage(
        &self,
        extent: &Bounds,
        business: Option<Business>,
        mode: Mode,
        circle: &CircleConfig,
        max_points: usize,
    ) -> Coverage {
        let points = grid(extent, circle.grid_step_m, max_points);
        let reach = circle.reach_m(mode);
        let ns = self.service_codes.len();
        let mut covered = vec![0usize; ns];
        let mut gaps: Vec<Vec<Gap>> = vec![Vec::new(); ns];
        for &(lat, lng) in &points {
            let (plat, plng) = (lat.to_radians(), lng.to_radians());
            let pcos = plat.cos();
            let mut nearest = vec![f64::INFINITY; ns];
            for i in 0..self.halls.len() {
                let d = self.distance_to(i, plat, pcos, plng);
                for (si, n) in nearest.iter_mut().enumerate() {
                    if d < *n && self.offers(i, si, business) {
                        *n = d;
                    }
                }
            }
            for si in 0..ns {
                if nearest[si] <= reach {
                    covered[si] += 1;
                } else {
                    gaps[si].push(Gap {
                        lat,
                        lng,
                        minutes: nearest[si]
                            .is_finite()
                            .then(|| circle.minutes_for(nearest[si], mode)),
                    });
                }
            }
        }
        Coverage {
            points: points.len(),
            services: self
                .service_codes
                .iter()
                .cloned()
                .zip(covered.into_iter().zip(gaps))
                .map(|(service, (covered, gaps))| ServiceCoverage {
                    service,
                    covered,
                    gaps,
                })
                .collect(),
        }
    }
}

/// Grid points (lat, lng) over `extent`, `step_m` apart (the step grows so
/// that at most `max_points` are made), at the centres of the cells.
pub fn grid(extent: &Bounds, step_m: f64, max_points: usize) -> Vec<(f64, f64)> {
    let mid_lat = (extent.min_lat + extent.max_lat) / 2.0;
    let m_per_deg_lat = EARTH_RADIUS_M.to_radians();
    let m_per_deg_lng = m_per_deg_lat * mid_lat.to_radians().cos();
    let h = (extent.max_lat - extent.min_lat).max(0.0) * m_per_deg_lat;
    let w = (extent.max_lng - extent.min_lng).max(0.0) * m_per_deg_lng;
    let mut step = step_m.max(1.0);
    let count = |s: f64| ((h / s).ceil().max(1.0) * (w / s).ceil().max(1.0)) as usize;
    while count(step) > max_points.max(1) {
        step *= 1.25;
    }
    let rows = (h / step).ceil().max(1.0) as usize;
    let cols = (w / step).ceil().max(1.0) as usize;
    let (dlat, dlng) = (
        (extent.max_lat - extent.min_lat) / rows as f64,
        (extent.max_lng - extent.min_lng) / cols as f64,
    );
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            out.push((
                extent.min_lat + dlat * (r as f64 + 0.5),
                extent.min_lng + dlng * (c as f64 + 0.5),
            ));
        }
    }
    out
}

/// A sample point with no hall within the circle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    pub lat: f64,
    pub lng: f64,
    /// Minutes to the nearest hall offering the service, if any does.
    pub minutes: Option<f64>,
}

/// One service's coverage of an extent.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCoverage {
    pub service: String,
    pub covered: usize,
    pub gaps: Vec<Gap>,
}

/// The coverage of an extent by the circle, per service.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub points: usize,
    pub services: Vec<ServiceCoverage>,
}

impl ServiceCoverage {
    /// The covered share in per mille (0–1000), so that it reads exactly.
    pub fn permille(&self, points: usize) -> u32 {
        permille(self.covered, points)
    }
}

/// `part` of `whole` in per mille (0–1000), rounded; 0 of nothing.
pub fn permille(part: usize, whole: usize) -> u32 {
    (part as u64 * 1000 + whole as u64 / 2)
        .checked_div(whole as u64)
        .unwrap_or(0) as u32
}

/// The next instant after `now` at which the hall opens, as a local time,
/// for a sign ("明天 08:30 开门").
pub fn local(instant: i64, offset: time::UtcOffset) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(instant)
        .ok()
        .map(|t| t.to_offset(offset))
}

/// Days between two local dates (0 = same day), for "今天/明天" wording.
pub fn days_between(a: Date, b: Date) -> i64 {
    (b - a).whole_days()
}

#[cfg(test)]
mod tests;
