//! The joint application form (附表2): validation and normalisation of API bodies.

use onestop_domain::config::CityConfig;
use onestop_domain::form::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::{date, datetime};

/// A code with a correct check character (computed, see `valid_uscc_is_computed`).
const USCC: &str = "91421300MA4900000M";
const NOW: OffsetDateTime = datetime!(2026-11-27 10:00 +08:00);

fn config() -> CityConfig {
    CityConfig::default_city()
}

/// The example body of API.md, with a valid USCC.
fn example() -> Value {
    let services = json!({
        "water": {"business_type": "new_account", "demand_tons_per_day": 50},
        "power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0},
        "gas": {"category": "small_commercial", "equipment": [{"name": "燃气灶", "quantity": 4, "pressure": "2kPa"}]},
        "heat": {"category": "residential_collective", "heating_area_m2": 12000},
        "network": {"building_area_m2": 20000, "building_height_m": 45, "delivery_date": "2027-06-30",
                    "basement_coverage": true, "buildings": 3, "elevator_coverage": true,
                    "carriers": ["telecom", "mobile"]}
    });
    json!({
      "applicant": {"name": "随州市示例商贸有限公司", "uscc": USCC},
      "address": {"district_code": "421303", "detail": "交通大道100号", "lng": 113.37, "lat": 31.70},
      "appointment_at": "2026-12-01T09:00:00+08:00",
      "contact": {"name": "张三", "phone": "13800000000"},
      "project_code": "2611-421303-04-01-123456",
      "mode": "a_la_carte", "channel": "api",
      "services": services
    })
}

fn validate(body: &Value) -> Result<ApplicationForm, Vec<FieldError>> {
    validate_application(body, &config(), NOW)
}

fn pointer(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("/{}", path.replace('.', "/"))
    }
}

/// Set the value at a dotted path, creating the last key if needed.
fn set(body: &mut Value, path: &str, value: Value) {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let target = body
        .pointer_mut(&pointer(parent))
        .unwrap_or_else(|| panic!("no parent for {path}"));
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        other => panic!("cannot set {path} inside {other}"),
    }
}

/// Remove the key at a dotted path.
fn remove(body: &mut Value, path: &str) {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    body.pointer_mut(&pointer(parent))
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object for {path}"))
        .remove(key)
        .unwrap_or_else(|| panic!("nothing at {path}"));
}

fn with(path: &str, value: Value) -> Value {
    let mut body = example();
    set(&mut body, path, value);
    body
}

fn without(path: &str) -> Value {
    let mut body = example();
    remove(&mut body, path);
    body
}

fn errors_of(body: &Value) -> Vec<FieldError> {
    match validate(body) {
        Ok(form) => panic!("expected errors, got {form:?}"),
        Err(errors) => errors,
    }
}

/// The body fails with exactly this one problem, and its message is Chinese.
#[track_caller]
fn fails_with(body: &Value, field: &str, code: FieldCode) {
    let errors = errors_of(body);
    assert_eq!(
        errors.len(),
        1,
        "expected only {field} {code}, got {errors:#?}"
    );
    assert_eq!(
        (errors[0].field.as_str(), errors[0].code),
        (field, code),
        "{errors:#?}"
    );
    assert!(
        errors[0]
            .message
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message is not Chinese: {}",
        errors[0].message
    );
}

/// Setting `path` to `value` fails there, and only there, with `code`.
#[track_caller]
fn rejected(path: &str, value: Value, code: FieldCode) {
    fails_with(&with(path, value), path, code);
}

/// Leaving `path` out fails there, and only there, as required.
#[track_caller]
fn missing(path: &str) {
    fails_with(&without(path), path, FieldCode::Required);
}

#[track_caller]
fn passes(body: &Value) -> ApplicationForm {
    validate(body).unwrap_or_else(|e| panic!("expected a valid form, got {e:#?}"))
}

// ── The example ─────────────────────────────────────────────────────────────

#[test]
fn valid_uscc_is_computed() {
    assert_eq!(uscc_check_char("91421300MA4900000"), Some('M'));
    assert!(uscc_is_valid(USCC));
}

#[test]
fn real_codes_pass_the_check() {
    assert!(uscc_is_valid("91350100M000100Y43"));
    assert!(uscc_is_valid("91110000802100433B"));
    assert!(!uscc_is_valid("91110000802100433C"));
}

#[test]
fn example_body_validates_and_normalises() {
    let form = passes(&example());
    assert_eq!(form.applicant.name, "随州市示例商贸有限公司");
    assert_eq!(form.applicant.uscc, USCC);
    assert_eq!(form.address.district_code, "421303");
    assert_eq!(form.address.lng, Some(113.37));
    assert_eq!(form.address.lat, Some(31.70));
    assert_eq!(
        form.appointment_at,
        Some(datetime!(2026-12-01 09:00 +08:00))
    );
    assert_eq!(form.mode, Mode::ALaCarte);
    assert_eq!(form.channel, Channel::Api);
    assert_eq!(form.hall_id, None);
    assert_eq!(
        form.services.chosen(),
        vec!["water", "power", "gas", "heat", "network"]
    );
    let gas = form.services.gas.as_ref().unwrap();
    assert_eq!(gas.category, GasCategory::SmallCommercial);
    assert_eq!(gas.equipment[0].quantity, 4);
    let network = form.services.network.as_ref().unwrap();
    assert_eq!(network.delivery_date, date!(2027 - 06 - 30));
    assert_eq!(network.carriers, vec!["telecom", "mobile"]);
    assert_eq!(
        form.services.power.as_ref().unwrap().backup_capacity_kva,
        0.0
    );

    // Normalised: the example with its measures as decimals.
    let mut expected = example();
    for (path, decimal) in [
        ("services.water.demand_tons_per_day", 50.0),
        ("services.power.main_capacity_kva", 630.0),
        ("services.power.backup_capacity_kva", 0.0),
        ("services.heat.heating_area_m2", 12000.0),
        ("services.network.building_area_m2", 20000.0),
        ("services.network.building_height_m", 45.0),
    ] {
        set(&mut expected, path, json!(decimal));
    }
    assert_eq!(serde_json::to_value(&form).unwrap(), expected);
}

#[test]
fn normalised_form_round_trips() {
    let form = passes(&example());
    let json = serde_json::to_value(&form).unwrap();
    let back: ApplicationForm = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, form);
    // The normalised form is itself a valid body that normalises to itself.
    assert_eq!(passes(&json), form);
}

#[test]
fn minimal_body_omits_optional_fields() {
    let body = json!({
        "applicant": {"name": "示例公司", "uscc": USCC},
        "address": {"district_code": "421381", "detail": "应山街道1号"},
        "contact": {"name": "李", "phone": "0722-1234567"},
        "mode": "bundle", "channel": "kiosk",
        "services": {"water": {"business_type": "temporary", "demand_tons_per_day": 0.5}}
    });
    let form = passes(&body);
    assert_eq!(form.appointment_at, None);
    assert_eq!(form.project_code, None);
    assert_eq!((form.address.lng, form.address.lat), (None, None));
    assert_eq!(form.services.chosen(), vec!["water"]);
    let json = serde_json::to_value(&form).unwrap();
    for absent in ["appointment_at", "project_code", "hall_id"] {
        assert!(json.get(absent).is_none(), "{absent} should be omitted");
    }
    assert!(json["address"].get("lng").is_none());
    assert_eq!(
        json["services"],
        json!({"water": {"business_type": "temporary", "demand_tons_per_day": 0.5}})
    );
}

#[test]
fn nulls_and_blanks_count_as_absent_for_optional_fields() {
    let mut body = example();
    set(&mut body, "appointment_at", json!(null));
    set(&mut body, "project_code", json!("   "));
    set(&mut body, "address.lng", json!(null));
    set(&mut body, "address.lat", json!(""));
    let form = passes(&body);
    assert_eq!(form.appointment_at, None);
    assert_eq!(form.project_code, None);
    assert_eq!(form.address.lng, None);
}

// ── Normalisation ───────────────────────────────────────────────────────────

#[test]
fn strings_are_trimmed_and_uscc_upper_cased() {
    let mut body = example();
    set(
        &mut body,
        "applicant.name",
        json!("  随州市示例商贸有限公司\u{3000}"),
    );
    set(&mut body, "applicant.uscc", json!(" 91421300ma4900000m\t"));
    set(&mut body, "address.detail", json!("\n交通大道100号 "));
    set(&mut body, "contact.name", json!(" 张三 "));
    set(&mut body, "contact.phone", json!(" 13800000000 "));
    set(
        &mut body,
        "project_code",
        json!(" 2611-421303-04-01-123456 "),
    );
    set(&mut body, "mode", json!(" bundle "));
    set(
        &mut body,
        "services.gas.equipment.0.pressure",
        json!(" 2kPa "),
    );
    set(&mut body, "services.network.carriers", json!([" telecom"]));
    let form = passes(&body);
    assert_eq!(form.applicant.name, "随州市示例商贸有限公司");
    assert_eq!(form.applicant.uscc, USCC);
    assert_eq!(form.address.detail, "交通大道100号");
    assert_eq!(form.contact.name, "张三");
    assert_eq!(form.contact.phone, "13800000000");
    assert_eq!(
        form.project_code.as_deref(),
        Some("2611-421303-04-01-123456")
    );
    assert_eq!(form.mode, Mode::Bundle);
    assert_eq!(form.services.gas.unwrap().equipment[0].pressure, "2kPa");
    assert_eq!(form.services.network.unwrap().carriers, vec!["telecom"]);
}

#[test]
fn appointment_is_stored_in_beijing_time() {
    let form = passes(&with("appointment_at", json!("2026-12-01T01:00:00Z")));
    let at = form.appointment_at.unwrap();
    assert_eq!(at, datetime!(2026-12-01 09:00 +08:00));
    assert_eq!(at.offset().whole_minutes(), 480);
    let json = serde_json::to_value(&form).unwrap();
    assert_eq!(json["appointment_at"], "2026-12-01T09:00:00+08:00");
}

#[test]
fn whole_floats_are_accepted_for_integers() {
    let mut body = with("services.gas.equipment.0.quantity", json!(4.0));
    set(&mut body, "services.network.buildings", json!(3.0));
    let form = passes(&body);
    assert_eq!(form.services.gas.unwrap().equipment[0].quantity, 4);
    assert_eq!(form.services.network.unwrap().buildings, 3);
}

#[test]
fn html_and_sql_are_plain_text() {
    let mut body = example();
    let html = "<script>alert('x')</script>&amp;公司";
    let sql = "Robert'); DROP TABLE applications;--";
    set(&mut body, "applicant.name", json!(html));
    set(&mut body, "address.detail", json!(sql));
    set(
        &mut body,
        "services.gas.equipment.0.name",
        json!("\"灶\" OR 1=1"),
    );
    let form = passes(&body);
    assert_eq!(form.applicant.name, html);
    assert_eq!(form.address.detail, sql);
    assert_eq!(
        form.services.gas.unwrap().equipment[0].name,
        "\"灶\" OR 1=1"
    );
}

#[test]
fn lengths_count_characters_not_bytes() {
    // 100 and 200 Chinese characters are 300 and 600 bytes: still allowed.
    passes(&with("applicant.name", json!("字".repeat(100))));
    passes(&with("address.detail", json!("路".repeat(200))));
    passes(&with("contact.name", json!("名".repeat(50))));
    passes(&with(
        "services.gas.equipment.0.name",
        json!("灶".repeat(50)),
    ));
    passes(&with("applicant.name", json!("公司")));
    for (path, one_too_many) in [
        ("applicant.name", "字".repeat(101)),
        ("address.detail", "路".repeat(201)),
        ("contact.name", "名".repeat(51)),
        ("services.gas.equipment.0.name", "灶".repeat(51)),
        ("services.gas.equipment.0.pressure", "a".repeat(51)),
    ] {
        rejected(path, json!(one_too_many), FieldCode::TooLong);
    }
    rejected("applicant.name", json!("公"), FieldCode::OutOfRange);
}

// ── Body shape ──────────────────────────────────────────────────────────────

#[test]
fn non_object_body_is_one_invalid_format_error() {
    for body in [json!([]), json!("x"), json!(null), json!(1), json!(true)] {
        let errors = errors_of(&body);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("", FieldCode::InvalidFormat)
        );
    }
}

#[test]
fn empty_object_reports_every_required_section() {
    let errors = errors_of(&json!({}));
    let got: Vec<(&str, FieldCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    let sections = [
        "applicant",
        "address",
        "contact",
        "mode",
        "channel",
        "services",
    ];
    assert_eq!(got, sections.map(|s| (s, FieldCode::Required)));
}

#[test]
fn unknown_fields_are_reported_everywhere() {
    rejected("remark", json!("x"), FieldCode::UnknownField);
    rejected(
        "applicant.legal_person",
        json!("x"),
        FieldCode::UnknownField,
    );
    rejected("address.city", json!("随州"), FieldCode::UnknownField);
    rejected("contact.email", json!("a@b.c"), FieldCode::UnknownField);
    rejected("services.water.meter", json!(1), FieldCode::UnknownField);
    rejected("services.power.voltage", json!(1), FieldCode::UnknownField);
    rejected("services.heat.x", json!(1), FieldCode::UnknownField);
    rejected("services.network.x", json!(1), FieldCode::UnknownField);
    rejected("services.gas.x", json!(1), FieldCode::UnknownField);
    rejected(
        "services.gas.equipment.0.colour",
        json!("红"),
        FieldCode::UnknownField,
    );
    // The message names the key; the `selected` list is not part of the API.
    let errors = errors_of(&with("selected", json!(["water"])));
    let message = &errors[0].message;
    assert!(message.contains("selected"), "{message}");
}

#[test]
fn wrong_json_types_are_invalid_format() {
    let cases = [
        ("applicant", json!(["随州市示例商贸有限公司", USCC])),
        ("address", json!("交通大道100号")),
        ("contact", json!(13800000000u64)),
        ("applicant.name", json!(123)),
        ("applicant.uscc", json!(91421300)),
        ("contact.phone", json!(13800000000u64)),
        ("address.detail", json!({"road": "交通大道"})),
        ("address.district_code", json!(421303)),
        ("address.lng", json!("113.37")),
        ("appointment_at", json!(1796000000)),
        ("project_code", json!(2611)),
        ("mode", json!(["bundle"])),
        ("channel", json!(1)),
        ("services", json!(["water", "power"])),
        ("services.water.business_type", json!(1)),
        ("services.water.demand_tons_per_day", json!("50")),
        ("services.power.main_capacity_kva", json!("630kVA")),
        ("services.power.backup_capacity_kva", json!(false)),
        ("services.gas.equipment", json!({"name": "燃气灶"})),
        ("services.gas.equipment.0", json!("燃气灶")),
        ("services.gas.equipment.0.quantity", json!("4")),
        ("services.gas.equipment.0.name", json!(["灶"])),
        ("services.heat.heating_area_m2", json!([12000])),
        ("services.network.delivery_date", json!(20270630)),
        ("services.network.basement_coverage", json!("true")),
        ("services.network.elevator_coverage", json!(1)),
        ("services.network.buildings", json!("3")),
        ("services.network.carriers", json!("telecom")),
        ("services.network.carriers.0", json!(1)),
    ];
    for (field, value) in cases {
        rejected(field, value, FieldCode::InvalidFormat);
    }
}

// ── Applicant ───────────────────────────────────────────────────────────────

#[test]
fn applicant_rules() {
    missing("applicant");
    rejected("applicant", json!(null), FieldCode::Required);
    missing("applicant.name");
    rejected("applicant.name", json!(" \t "), FieldCode::Required);
    missing("applicant.uscc");
    rejected("applicant.uscc", json!(""), FieldCode::Required);
}

#[test]
fn uscc_rules() {
    let field = "applicant.uscc";
    // Wrong length.
    rejected(field, json!("91421300MA4900000"), FieldCode::InvalidFormat);
    rejected(
        field,
        json!("91421300MA4900000MM"),
        FieldCode::InvalidFormat,
    );
    // Characters the code never uses: I, O, S, V, Z, punctuation, full-width digits.
    for bad in [
        "91421300IA4900000M",
        "91421300OA4900000M",
        "91421300SA4900000M",
        "91421300VA4900000M",
        "91421300ZA4900000M",
        "91421300-A4900000M",
        "９1421300MA4900000M",
        "91421300 A4900000M",
    ] {
        rejected(field, json!(bad), FieldCode::InvalidFormat);
    }
    // Wrong check character.
    let errors = errors_of(&with(field, json!("91421300MA4900000N")));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, FieldCode::UsccChecksum);
    assert_eq!(
        errors[0].message,
        "统一社会信用代码校验位错误，请核对后重新填写"
    );
    // Real codes pass inside a body too.
    for real in ["91350100M000100Y43", "91110000802100433b"] {
        let form = passes(&with(field, json!(real)));
        assert_eq!(form.applicant.uscc, real.to_uppercase());
    }
}

// ── Address ─────────────────────────────────────────────────────────────────

#[test]
fn address_rules() {
    missing("address");
    rejected(
        "address.district_code",
        json!("420100"),
        FieldCode::UnknownValue,
    );
    missing("address.district_code");
    missing("address.detail");
    passes(&with("address.district_code", json!(" 421321 ")));
    let errors = errors_of(&with("address.district_code", json!("420100")));
    let message = &errors[0].message;
    assert!(message.contains("曾都区"), "lists the choices: {message}");
}

#[test]
fn coordinates_come_in_pairs_inside_the_city() {
    missing("address.lat");
    missing("address.lng");
    rejected("address.lng", json!(116.4), FieldCode::OutOfRange);
    rejected("address.lat", json!(39.9), FieldCode::OutOfRange);
    rejected("address.lat", json!(-91), FieldCode::OutOfRange);
    let mut both = without("address.lng");
    remove(&mut both, "address.lat");
    passes(&both);
    // Bounds are inclusive.
    let mut edge = with("address.lng", json!(112.7));
    set(&mut edge, "address.lat", json!(32.4));
    passes(&edge);
    // Swapped coordinates: both out of range, with a hint.
    let mut swapped = with("address.lng", json!(31.70));
    set(&mut swapped, "address.lat", json!(113.37));
    let errors = errors_of(&swapped);
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e.code == FieldCode::OutOfRange));
    assert!(errors[0].message.contains("填反"), "{}", errors[0].message);
}

#[test]
fn coordinates_use_the_configured_bounds() {
    let mut config = config();
    config.city.bounds.max_lng = 120.0;
    let body = with("address.lng", json!(116.4));
    assert!(validate_application(&body, &config, NOW).is_ok());
    assert!(validate_application(&body, &CityConfig::default_city(), NOW).is_err());
}

// ── Appointment ─────────────────────────────────────────────────────────────

#[test]
fn appointment_rules() {
    let field = "appointment_at";
    for bad in [
        "2026-12-01 09:00",
        "2026-12-01T09:00:00",
        "2026-12-01",
        "明天上午九点",
        "2026-13-01T09:00:00+08:00",
        "2026-12-01T25:00:00+08:00",
    ] {
        rejected(field, json!(bad), FieldCode::InvalidFormat);
    }
    rejected(
        field,
        json!("2026-11-27T09:59:59+08:00"),
        FieldCode::NotInFuture,
    );
    rejected(
        field,
        json!("2026-11-27T10:00:00+08:00"),
        FieldCode::NotInFuture,
    );
    rejected(field, json!("2026-11-27T02:00:00Z"), FieldCode::NotInFuture);
    rejected(
        field,
        json!("2020-01-01T09:00:00+08:00"),
        FieldCode::NotInFuture,
    );
    passes(&with(field, json!("2026-11-27T10:00:01+08:00")));
    passes(&with(field, json!("2028-11-27T10:00:00+08:00")));
    rejected(
        field,
        json!("2028-11-27T10:00:01+08:00"),
        FieldCode::OutOfRange,
    );
    rejected(
        field,
        json!("2099-12-01T09:00:00+08:00"),
        FieldCode::OutOfRange,
    );
}

// ── Contact ─────────────────────────────────────────────────────────────────

#[test]
fn contact_rules() {
    missing("contact");
    missing("contact.name");
    missing("contact.phone");
    let errors = errors_of(&with("contact.phone", json!("")));
    assert_eq!(errors[0].message, "请填写联系电话");
    for ok in [
        "13800000000",
        "19912345678",
        "0722-1234567",
        "010-12345678",
        "07221234567",
    ] {
        passes(&with("contact.phone", json!(ok)));
    }
    for bad in [
        "12800000000",
        "1380000000",
        "138000000000",
        "+8613800000000",
        "0722-123456",
        "7221234567",
        "138-0000-0000",
    ] {
        rejected("contact.phone", json!(bad), FieldCode::InvalidFormat);
    }
    let errors = errors_of(&with("contact.phone", json!("12345")));
    assert_eq!(
        errors[0].message,
        "联系电话格式不正确：手机号为11位，以1开头；固定电话如 0722-1234567"
    );
}

#[test]
fn project_code_rules() {
    for bad in [
        "2611-421303-04-01-12345",
        "2611421303040112345",
        "2611-421303-04-01-12345X",
        "项目代码",
    ] {
        rejected("project_code", json!(bad), FieldCode::InvalidFormat);
    }
    assert_eq!(passes(&without("project_code")).project_code, None);
}

// ── Mode, channel and hall ──────────────────────────────────────────────────

#[test]
fn mode_and_channel_rules() {
    missing("mode");
    rejected("mode", json!("package"), FieldCode::UnknownValue);
    rejected("mode", json!("Bundle"), FieldCode::UnknownValue);
    missing("channel");
    rejected("channel", json!("wechat"), FieldCode::UnknownValue);
    for (code, channel) in [
        ("web", Channel::Web),
        ("h5", Channel::H5),
        ("api", Channel::Api),
        ("kiosk", Channel::Kiosk),
    ] {
        assert_eq!(passes(&with("channel", json!(code))).channel, channel);
    }
    let errors = errors_of(&with("channel", json!("wechat")));
    let message = &errors[0].message;
    assert!(message.contains("kiosk（自助终端）"), "{message}");
}

#[test]
fn window_submissions_name_their_hall() {
    fails_with(
        &with("channel", json!("window")),
        "hall_id",
        FieldCode::Required,
    );
    let mut body = with("channel", json!("window"));
    set(&mut body, "hall_id", json!(" hall-zengdu_01 "));
    let form = passes(&body);
    assert_eq!(form.channel, Channel::Window);
    assert_eq!(form.hall_id.as_deref(), Some("hall-zengdu_01"));
    set(&mut body, "hall_id", json!("曾都大厅"));
    fails_with(&body, "hall_id", FieldCode::InvalidFormat);
    set(&mut body, "hall_id", json!("h".repeat(65)));
    fails_with(&body, "hall_id", FieldCode::TooLong);
    set(&mut body, "hall_id", json!("h".repeat(64)));
    passes(&body);
    set(&mut body, "hall_id", json!(""));
    fails_with(&body, "hall_id", FieldCode::Required);
    // Any other channel: hall_id is not allowed.
    for channel in ["web", "h5", "api", "kiosk"] {
        let mut body = with("channel", json!(channel));
        set(&mut body, "hall_id", json!("hall-1"));
        fails_with(&body, "hall_id", FieldCode::NotAllowed);
    }
    // A blank hall_id with another channel is simply absent.
    passes(&with("hall_id", json!(" ")));
}

// ── Services ────────────────────────────────────────────────────────────────

#[test]
fn services_selection_rules() {
    missing("services");
    rejected("services", json!({}), FieldCode::Required);
    rejected(
        "services.electricity",
        json!({"x": 1}),
        FieldCode::UnknownValue,
    );
    for missing in [json!(null), json!({}), json!(true), json!([]), json!("yes")] {
        rejected("services.water", missing, FieldCode::ServiceDetailsMissing);
    }
    let form = passes(&with(
        "services",
        json!({"heat": {"category": "residential_collective", "heating_area_m2": 1}}),
    ));
    assert_eq!(form.services.chosen(), vec!["heat"]);
}

#[test]
fn services_must_be_configured() {
    let mut config = config();
    config.services.retain(|s| s.code != "heat");
    let errors = validate_application(&example(), &config, NOW).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        (errors[0].field.as_str(), errors[0].code),
        ("services.heat", FieldCode::UnknownValue)
    );
}

#[test]
fn water_rules() {
    let kind = "services.water.business_type";
    rejected(kind, json!("new"), FieldCode::UnknownValue);
    missing(kind);
    let f = "services.water.demand_tons_per_day";
    missing(f);
    rejected(f, json!(0), FieldCode::OutOfRange);
    rejected(f, json!(-5), FieldCode::OutOfRange);
    rejected(f, json!(1_000_001), FieldCode::OutOfRange);
    passes(&with(f, json!(1_000_000)));
    passes(&with(f, json!(0.01)));
    for (code, t) in [
        ("new_account", WaterBusinessType::NewAccount),
        ("expansion", WaterBusinessType::Expansion),
        ("temporary", WaterBusinessType::Temporary),
    ] {
        let form = passes(&with(kind, json!(code)));
        assert_eq!(form.services.water.unwrap().business_type, t);
    }
}

#[test]
fn power_rules() {
    let kind = "services.power.business_type";
    rejected(kind, json!("new_account"), FieldCode::UnknownValue);
    let main = "services.power.main_capacity_kva";
    let backup = "services.power.backup_capacity_kva";
    rejected(main, json!(0), FieldCode::OutOfRange);
    rejected(main, json!(10_000_001), FieldCode::OutOfRange);
    rejected(backup, json!(-1), FieldCode::OutOfRange);
    rejected(backup, json!(10_000_001), FieldCode::OutOfRange);
    missing(backup);
    let form = passes(&with(backup, json!(-0.0)));
    assert_eq!(
        form.services.power.unwrap().backup_capacity_kva.to_bits(),
        0.0f64.to_bits()
    );
    let form = passes(&with(kind, json!("capacity_increase")));
    let power = form.services.power.unwrap();
    assert_eq!(power.business_type, PowerBusinessType::CapacityIncrease);
}

#[test]
fn gas_rules() {
    let kind = "services.gas.category";
    rejected(kind, json!("industrial"), FieldCode::UnknownValue);
    let eq = "services.gas.equipment";
    missing(eq);
    rejected(eq, json!([]), FieldCode::Required);
    let line = json!({"name": "燃气灶", "quantity": 1, "pressure": "2kPa"});
    passes(&with(eq, Value::Array(vec![line.clone(); 200])));
    rejected(eq, Value::Array(vec![line; 201]), FieldCode::OutOfRange);
    let q = format!("{eq}.0.quantity");
    rejected(&q, json!(0), FieldCode::OutOfRange);
    rejected(&q, json!(-1), FieldCode::OutOfRange);
    rejected(&q, json!(100_001), FieldCode::OutOfRange);
    rejected(&q, json!(2.5), FieldCode::InvalidFormat);
    passes(&with(&q, json!(100_000)));
    missing(&format!("{eq}.0.name"));
    missing(&format!("{eq}.0.pressure"));
    rejected(&format!("{eq}.0"), json!(null), FieldCode::Required);
    // The second line's problem is reported at index 1.
    let body = with(
        eq,
        json!([{"name": "燃气灶", "quantity": 1, "pressure": "2kPa"}, {"name": "热水器", "quantity": 0, "pressure": "2kPa"}]),
    );
    fails_with(&body, &format!("{eq}.1.quantity"), FieldCode::OutOfRange);
    let form = passes(&with(kind, json!("large_commercial")));
    assert_eq!(
        form.services.gas.unwrap().category,
        GasCategory::LargeCommercial
    );
}

#[test]
fn heat_rules() {
    let kind = "services.heat.category";
    rejected(kind, json!("small_commercial"), FieldCode::UnknownValue);
    let f = "services.heat.heating_area_m2";
    rejected(f, json!(0), FieldCode::OutOfRange);
    rejected(f, json!(100_000_001), FieldCode::OutOfRange);
    missing(f);
}

#[test]
fn network_rules() {
    let p = "services.network";
    let f = |k: &str| format!("{p}.{k}");
    rejected(&f("building_area_m2"), json!(0), FieldCode::OutOfRange);
    rejected(&f("building_area_m2"), json!(1e9), FieldCode::OutOfRange);
    rejected(&f("building_height_m"), json!(1001), FieldCode::OutOfRange);
    rejected(&f("building_height_m"), json!(-3), FieldCode::OutOfRange);
    for bad in [
        "2027/06/30",
        "2027-6-30",
        "2027-02-30",
        "30-06-2027",
        "2027-06-30T00:00:00+08:00",
    ] {
        rejected(&f("delivery_date"), json!(bad), FieldCode::InvalidFormat);
    }
    rejected(
        &f("delivery_date"),
        json!("1999-12-31"),
        FieldCode::OutOfRange,
    );
    rejected(
        &f("delivery_date"),
        json!("2101-01-01"),
        FieldCode::OutOfRange,
    );
    passes(&with(&f("delivery_date"), json!("2000-01-01")));
    passes(&with(&f("delivery_date"), json!("2100-12-31")));
    missing(&f("basement_coverage"));
    rejected(
        &f("elevator_coverage"),
        json!("否"),
        FieldCode::InvalidFormat,
    );
    rejected(&f("buildings"), json!(0), FieldCode::OutOfRange);
    rejected(&f("buildings"), json!(10_001), FieldCode::OutOfRange);
    rejected(&f("buildings"), json!(1.5), FieldCode::InvalidFormat);
    passes(&with(&f("buildings"), json!(10_000)));
    let c = f("carriers");
    missing(&c);
    rejected(&c, json!([]), FieldCode::Required);
    fails_with(
        &with(&c, json!(["telecom", "unicom"])),
        &format!("{c}.1"),
        FieldCode::UnknownValue,
    );
    fails_with(
        &with(&c, json!(["mobile", "mobile"])),
        &format!("{c}.1"),
        FieldCode::InvalidFormat,
    );
    fails_with(
        &with(&c, json!(["Telecom"])),
        &format!("{c}.0"),
        FieldCode::UnknownValue,
    );
    let form = passes(&with(&c, json!(["mobile"])));
    assert_eq!(form.services.network.unwrap().carriers, vec!["mobile"]);
}

// ── Control characters and huge inputs ──────────────────────────────────────

#[test]
fn control_characters_are_refused() {
    for bad in [
        "张\u{0}三",
        "张\n三",
        "张\r三",
        "张\t三",
        "张\u{1b}[31m三",
        "张\u{7f}三",
        "张\u{2028}三",
        "张\u{2029}三",
        "张\u{85}三",
    ] {
        rejected("contact.name", json!(bad), FieldCode::InvalidFormat);
        rejected("address.detail", json!(bad), FieldCode::InvalidFormat);
    }
    rejected(
        "applicant.name",
        json!("示例\u{0}公司"),
        FieldCode::InvalidFormat,
    );
    rejected(
        "services.gas.equipment.0.pressure",
        json!("2\nkPa"),
        FieldCode::InvalidFormat,
    );
    // Leading and trailing whitespace, newlines included, is trimmed, not refused.
    assert_eq!(
        passes(&with("contact.name", json!("张三\r\n")))
            .contact
            .name,
        "张三"
    );
    // The message quotes nothing invisible.
    let errors = errors_of(&with("mode", json!("bun\u{0}dle")));
    let message = &errors[0].message;
    assert!(!message.contains('\u{0}'), "{message:?}");
}

#[test]
fn huge_strings_fail_fast() {
    let huge = "长".repeat(1 << 20); // 1 Mi characters, 3 MB
    let ascii = "a".repeat(1 << 20);
    let mut body = example();
    // The free-text fields.
    let texts = [
        "applicant.name",
        "address.detail",
        "contact.name",
        "services.gas.equipment.0.name",
        "services.gas.equipment.0.pressure",
    ];
    for field in texts {
        set(&mut body, field, json!(huge));
    }
    set(&mut body, "applicant.uscc", json!(ascii));
    set(&mut body, "contact.phone", json!(ascii));
    set(&mut body, "project_code", json!(ascii));
    set(&mut body, "appointment_at", json!(ascii));
    set(&mut body, "address.district_code", json!(ascii));
    set(&mut body, "mode", json!(ascii));
    set(&mut body, "services.network.delivery_date", json!(ascii));
    set(&mut body, "services.network.carriers", json!([ascii]));
    set(&mut body, &ascii, json!(1));
    let started = Instant::now();
    let errors = errors_of(&body);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
    let code_of = |field: &str| errors.iter().find(|e| e.field == field).map(|e| e.code);
    for field in texts {
        assert_eq!(code_of(field), Some(FieldCode::TooLong), "{field}");
    }
    for field in [
        "applicant.uscc",
        "contact.phone",
        "project_code",
        "appointment_at",
        "address.district_code",
        "services.network.delivery_date",
        "services.network.carriers.0",
    ] {
        assert_eq!(code_of(field), Some(FieldCode::InvalidFormat), "{field}");
    }
    assert_eq!(code_of("mode"), Some(FieldCode::UnknownValue));
    // The unknown 1 MB key is reported with a shortened path and message.
    let unknown = errors
        .iter()
        .find(|e| e.code == FieldCode::UnknownField)
        .unwrap();
    assert!(
        unknown.field.chars().count() <= 65,
        "{}",
        unknown.field.len()
    );
    // No error echoes the input back at length.
    for e in &errors {
        assert!(
            e.message.len() < 1000,
            "{}: {} bytes",
            e.field,
            e.message.len()
        );
    }
}

#[test]
fn floods_of_problems_are_capped() {
    let mut body = example();
    for i in 0..10_000 {
        set(&mut body, &format!("extra_{i}"), json!(i));
    }
    set(
        &mut body,
        "services.network.carriers",
        Value::Array(vec![json!("telecom"); 10_000]),
    );
    let errors = errors_of(&body);
    assert_eq!(errors.len(), MAX_ERRORS);
}

// ── Many problems at once ───────────────────────────────────────────────────

#[test]
fn every_problem_is_reported_at_once() {
    let body = json!({
      "applicant": {"name": "随", "uscc": "91421300MA4900000N"},
      "address": {"district_code": "110101", "detail": "", "lng": 113.37},
      "appointment_at": "2020-01-01T09:00:00+08:00",
      "contact": {"name": "张三", "phone": "12345"},
      "project_code": "abc",
      "mode": "package",
      "channel": "window",
      "services": {
        "water": {"business_type": "new_account", "demand_tons_per_day": "50"},
        "power": null,
        "gas": {"category": "small_commercial", "equipment": [{"name": "燃气灶", "quantity": 0, "pressure": "2kPa"}]},
        "network": {"building_area_m2": 20000, "building_height_m": 45, "delivery_date": "2027-02-30",
                    "basement_coverage": "yes", "buildings": 3, "elevator_coverage": true,
                    "carriers": ["telecom", "unicom"]},
        "electricity": {}
      },
      "remark": "请尽快"
    });
    let errors = errors_of(&body);
    let mut got: Vec<(String, &str)> = errors
        .iter()
        .map(|e| (e.field.clone(), e.code.as_str()))
        .collect();
    got.sort();
    let mut expected: Vec<(String, &str)> = [
        ("remark", "unknown_field"),
        ("applicant.name", "out_of_range"),
        ("applicant.uscc", "uscc_checksum"),
        ("address.district_code", "unknown_value"),
        ("address.detail", "required"),
        ("address.lat", "required"),
        ("appointment_at", "not_in_future"),
        ("contact.phone", "invalid_format"),
        ("project_code", "invalid_format"),
        ("mode", "unknown_value"),
        ("hall_id", "required"),
        ("services.water.demand_tons_per_day", "invalid_format"),
        ("services.power", "service_details_missing"),
        ("services.gas.equipment.0.quantity", "out_of_range"),
        ("services.network.delivery_date", "invalid_format"),
        ("services.network.basement_coverage", "invalid_format"),
        ("services.network.carriers.1", "unknown_value"),
        ("services.electricity", "unknown_value"),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_owned(), c))
    .collect();
    expected.sort();
    assert_eq!(got, expected, "{errors:#?}");
    // Errors serialise in the API's shape.
    let json = serde_json::to_value(&errors[0]).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);
    for key in ["field", "code", "message"] {
        assert!(json.get(key).is_some());
    }
}

#[test]
fn errors_follow_the_form_order() {
    let body = json!({
        "services": {"water": null},
        "channel": "x",
        "mode": "y",
        "contact": {"name": "", "phone": ""},
        "address": {"district_code": "", "detail": ""},
        "applicant": {"name": "", "uscc": ""},
    });
    let fields: Vec<String> = errors_of(&body).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec![
            "applicant.name",
            "applicant.uscc",
            "address.district_code",
            "address.detail",
            "contact.name",
            "contact.phone",
            "mode",
            "channel",
            "services.water"
        ]
    );
}

// ── The web form's selection ────────────────────────────────────────────────

#[test]
fn selection_and_sections_must_agree() {
    let selected = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert!(
        check_selection(
            &selected(&["water", "power", "gas", "heat", "network"]),
            &example()
        )
        .is_empty()
    );

    let errors = check_selection(&selected(&["water", "power"]), &example());
    let got: Vec<(&str, FieldCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(got.len(), 3, "{errors:#?}");
    for s in ["gas", "heat", "network"] {
        assert!(
            got.contains(&(
                &format!("services.{s}"),
                FieldCode::UnexpectedServiceDetails
            )),
            "{s}: {got:?}"
        );
    }

    let body = json!({"services": {"water": {"business_type": "", "demand_tons_per_day": null}, "power": {}}});
    let errors = check_selection(&selected(&["water", "power", "heat"]), &body);
    let got: Vec<(&str, FieldCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    let chosen = ["services.water", "services.power", "services.heat"];
    assert_eq!(got, chosen.map(|s| (s, FieldCode::ServiceDetailsMissing)));
    // Empty sections of services not selected are fine (the web form posts every fieldset).
    assert!(check_selection(&selected(&[]), &body).is_empty());
    let errors = check_selection(&selected(&["sewage"]), &json!({}));
    assert_eq!(errors[0].code, FieldCode::UnknownValue);
}

// ── Properties ──────────────────────────────────────────────────────────────

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::String),
        "[ a-z0-9_\\-\\t\\n\u{0}\u{2028}]{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("water"),
            Just("gas"),
            Just("telecom"),
            Just("window"),
            Just("bundle"),
            Just("421303"),
            Just(USCC),
            Just("2027-06-30"),
            Just("2026-12-01T09:00:00+08:00"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,12}",
                    Just("applicant".to_owned()),
                    Just("services".to_owned()),
                    Just("water".to_owned()),
                    Just("name".to_owned()),
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every dotted path to a value of the example body.
fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = join(k);
                out.push(p.clone());
                paths(child, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = join(&i.to_string());
                out.push(p.clone());
                paths(child, &p, out);
            }
        }
        _ => {}
    }
}

fn uscc_char() -> impl Strategy<Value = char> {
    prop::sample::select(USCC_ALPHABET.chars().collect::<Vec<_>>())
}

/// A list longer than its limit is one error, however long: a body of
/// 100,000 lines cannot make a multi-megabyte answer.
#[test]
fn lists_over_their_limit_are_one_error() {
    let line = json!({"name": "燃气灶", "quantity": 4, "pressure": "2kPa"});
    let errors = errors_of(&with(
        "services.gas.equipment",
        Value::Array(vec![line.clone(); 100_000]),
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "services.gas.equipment");
    assert_eq!(errors[0].code, FieldCode::OutOfRange);
    // At the limit it is accepted.
    let ok = validate(&with(
        "services.gas.equipment",
        Value::Array(vec![line; limits::MAX_GAS_EQUIPMENT_LINES]),
    ))
    .unwrap();
    assert_eq!(
        ok.services.gas.unwrap().equipment.len(),
        limits::MAX_GAS_EQUIPMENT_LINES
    );

    let errors = errors_of(&with(
        "services.network.carriers",
        Value::Array(vec![json!(7); 100_000]),
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "services.network.carriers");
    assert_eq!(errors[0].code, FieldCode::OutOfRange);
    // Just within the limit, each bad item is still named.
    let errors = errors_of(&with(
        "services.network.carriers",
        Value::Array(vec![json!(7); limits::MAX_NETWORK_CARRIERS]),
    ));
    assert_eq!(errors.len(), limits::MAX_NETWORK_CARRIERS);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_json_never_panics(body in arb_json()) {
        let result = validate(&body);
        if !body.is_object() {
            prop_assert_eq!(result.unwrap_err().len(), 1);
        } else if let Err(errors) = result {
            prop_assert!(!errors.is_empty() && errors.len() <= MAX_ERRORS);
        }
        let _ = check_selection(&["water".to_owned(), "x".to_owned()], &body);
    }

    #[test]
    fn replacing_any_field_never_panics_and_normalising_is_idempotent(
        pick in any::<prop::sample::Index>(),
        value in arb_json(),
    ) {
        let mut all = Vec::new();
        paths(&example(), "", &mut all);
        let path = pick.get(&all);
        let body = with(path, value);
        match validate(&body) {
            Ok(form) => {
                let again = passes(&serde_json::to_value(&form).unwrap());
                prop_assert_eq!(again, form);
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert!(!e.message.is_empty());
                }
            }
        }
    }

    #[test]
    fn generated_usccs_pass_and_a_wrong_check_character_fails(
        body17 in prop::collection::vec(uscc_char(), 17),
        other in uscc_char(),
    ) {
        let first: String = body17.into_iter().collect();
        let check = uscc_check_char(&first).unwrap();
        let code = format!("{first}{check}");
        prop_assert!(uscc_is_valid(&code));
        let form = passes(&with("applicant.uscc", json!(code.to_lowercase())));
        prop_assert_eq!(form.applicant.uscc, code);
        prop_assume!(other != check);
        let wrong = format!("{first}{other}");
        prop_assert!(!uscc_is_valid(&wrong));
        let errors = errors_of(&with("applicant.uscc", json!(wrong)));
        prop_assert_eq!(errors.len(), 1);
        prop_assert_eq!(errors[0].code, FieldCode::UsccChecksum);
    }

    #[test]
    fn single_character_changes_are_caught(
        body17 in prop::collection::vec(uscc_char(), 17),
        at in 0usize..18,
        other in uscc_char(),
    ) {
        let first: String = body17.into_iter().collect();
        let code = format!("{first}{}", uscc_check_char(&first).unwrap());
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[at] != other);
        chars[at] = other;
        let changed: String = chars.into_iter().collect();
        // The weights are non-zero mod the prime 31: any single substitution changes the sum.
        prop_assert!(!uscc_is_valid(&changed));
    }

    #[test]
    fn random_strings_in_text_fields_never_panic(s in "\\PC{0,300}") {
        for field in ["applicant.name", "applicant.uscc", "contact.phone", "project_code", "appointment_at", "hall_id"] {
            let _ = validate(&with(field, json!(s)));
        }
    }
}

#[test]
fn free_text_goes_through_the_one_cleaning_rule() {
    // Direction overrides are refused beside their field.
    rejected(
        "applicant.name",
        json!("\u{202e}\u{200b}司公限有ABC"),
        FieldCode::InvalidFormat,
    );
    // Invisible characters are removed, line breaks in one-line fields refused.
    let mut body = example();
    set(&mut body, "contact.name", json!("\u{feff}张\u{200b}三"));
    assert_eq!(passes(&body).contact.name, "张三");
    set(&mut body, "contact.name", json!("张\n三"));
    fails_with(&body, "contact.name", FieldCode::InvalidFormat);
    set(&mut body, "contact.name", json!("张三"));
    set(
        &mut body,
        "address.detail",
        json!("交通大道\u{1b}[31m100号"),
    );
    fails_with(&body, "address.detail", FieldCode::InvalidFormat);
}
