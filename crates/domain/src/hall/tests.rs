use super::*;
use crate::calendar::Calendar;
use proptest::prelude::*;
use serde_json::json;
use time::macros::{datetime, offset};

fn config() -> CityConfig {
    CityConfig::default_city()
}

fn body() -> Map<String, Value> {
    json!({
        "code": "zd-test",
        "name": "测试共享营业厅",
        "kind": "utility_outlet",
        "district_code": "421303",
        "address": "曾都区测试路1号",
        "lng": 113.38, "lat": 31.71,
        "phone": "0722-3200000",
        "hours": {"workdays": "08:30-12:00,14:30-17:30", "sat": "09:00-12:00"},
        "channels": ["staffed", "machine"],
        "services": [
            {"service": "network", "business": ["consult"]},
            {"service": "water", "business": ["pay", "consult", "pay"]}
        ]
    })
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn the_default_city_seeds_its_halls() {
    let c = config();
    let halls = c.seed_halls();
    assert_eq!(halls.len(), c.halls.len());
    assert!(halls.len() >= 5);
    // Every district has a hall.
    for d in &c.districts {
        assert!(
            halls.iter().any(|h| h.district_code == d.code),
            "{}",
            d.name
        );
    }
    assert!(halls.iter().all(|h| h.example));
}

#[test]
fn a_hall_is_normalised() {
    let h = parse_hall(&body(), &config()).unwrap();
    assert_eq!(h.channels, vec![HallChannel::Machine, HallChannel::Staffed]);
    // Services in the configuration's order, business sorted, duplicates gone,
    // units defaulting to the providers.
    assert_eq!(h.services[0].service, "water");
    assert_eq!(
        h.services[0].business,
        vec![Business::Consult, Business::Pay]
    );
    assert_eq!(h.services[0].units, vec!["sz-water"]);
    assert_eq!(h.services[1].units, vec!["sz-telecom", "sz-mobile"]);
    assert_eq!(h.hours.day_text(0), "08:30-12:00,14:30-17:30");
    assert_eq!(h.hours.day_text(5), "09:00-12:00");
    assert_eq!(h.hours.day_text(6), "");
    assert!(h.closed_on_holidays);
    assert_eq!(
        h.hours.sign_lines(),
        vec![
            ("周一至周五".into(), "08:30–12:00，14:30–17:30".into()),
            ("周六".into(), "09:00–12:00".into()),
            ("周日".into(), "休息".into()),
        ]
    );
    // The JSON form reads back to the same hall.
    assert_eq!(parse_hall(&to_json(&h), &config()).unwrap(), h);
}

#[test]
fn every_problem_is_named_at_its_field() {
    let mut b = body();
    b.insert("code".into(), json!("Bad Code"));
    b.insert("kind".into(), json!("shop"));
    b.insert("lng".into(), json!("六百"));
    b.insert("lat".into(), json!(40.0));
    b.insert("phone".into(), json!("12345"));
    b.insert(
        "hours".into(),
        json!({"mon": "12:00-08:00", "xyz": "08:00-09:00"}),
    );
    b.insert("channels".into(), json!(["fax"]));
    b.insert(
        "services".into(),
        json!([{"service": "water", "units": ["sz-power"], "business": []}, {"service": "oil"}]),
    );
    b.insert("extra".into(), json!(1));
    let errors = parse_hall(&b, &config()).unwrap_err();
    let fields: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    for want in [
        ("extra", "unknown_field"),
        ("code", "invalid_format"),
        ("kind", "unknown_value"),
        ("lng", "invalid_format"),
        ("phone", "invalid_format"),
        ("hours.mon", "invalid_format"),
        ("hours.xyz", "unknown_field"),
        ("channels.0", "unknown_value"),
        ("services.0.units.0", "not_allowed"),
        ("services.0.business", "required"),
        ("services.1.service", "unknown_value"),
    ] {
        assert!(fields.contains(&want), "{want:?} not in {fields:?}");
    }
    assert!(errors.iter().all(|e| !e.message.is_empty()));
}

#[test]
fn a_place_outside_the_city_is_refused() {
    let mut b = body();
    b.insert("lat".into(), json!(40.0));
    let errors = parse_hall(&b, &config()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].field.as_str(), errors[0].code.as_str()),
        ("lng", "out_of_range")
    );
}

#[test]
fn opening_periods_read_as_people_write_them() {
    assert_eq!(
        parse_day("8:30～12:00，14：30-17:30").unwrap(),
        vec![
            Period {
                open: 510,
                close: 720
            },
            Period {
                open: 870,
                close: 1050
            }
        ]
    );
    assert_eq!(parse_day("休息").unwrap(), vec![]);
    assert_eq!(
        parse_day("00:00-24:00").unwrap(),
        vec![Period {
            open: 0,
            close: 1440
        }]
    );
    assert!(parse_day("08:30-12:00,11:00-13:00").is_err());
    assert!(parse_day("25:00-26:00").is_err());
    assert!(parse_day("8-12").is_err());
    assert!(parse_day("1:00-2:00,3:00-4:00,5:00-6:00,7:00-8:00,9:00-10:00").is_err());
}

fn at(t: time::PrimitiveDateTime) -> OffsetDateTime {
    t.assume_offset(offset!(+8))
}

fn ts(t: time::PrimitiveDateTime) -> i64 {
    at(t).unix_timestamp()
}

#[test]
fn open_now_and_next_opening_follow_the_official_calendar() {
    let h = parse_hall(&body(), &config()).unwrap();
    let cal = Calendar::builtin();
    // Tuesday 2026-12-01 10:00: open until 12:00.
    assert_eq!(
        h.open_state(&cal, at(datetime!(2026-12-01 10:00))),
        OpenState::Open {
            until: ts(datetime!(2026-12-01 12:00))
        }
    );
    // Lunch: opens at 14:30.
    assert_eq!(
        h.open_state(&cal, at(datetime!(2026-12-01 12:00))),
        OpenState::Closed {
            next: Some(ts(datetime!(2026-12-01 14:30)))
        }
    );
    // Saturday after 12:00: next is Monday 08:30.
    assert_eq!(
        h.open_state(&cal, at(datetime!(2026-12-05 12:30))),
        OpenState::Closed {
            next: Some(ts(datetime!(2026-12-07 08:30)))
        }
    );
    // National Day 2026-10-01 (Thursday) is a holiday: closed through 10-07,
    // open on Saturday 10-10 (a make-up working day) at Monday's hours.
    assert_eq!(
        h.open_state(&cal, at(datetime!(2026-10-01 09:00))),
        OpenState::Closed {
            next: Some(ts(datetime!(2026-10-08 08:30)))
        }
    );
    let mut no_sat = body();
    no_sat.insert("hours".into(), json!({"workdays": "08:30-17:30"}));
    let h2 = parse_hall(&no_sat, &config()).unwrap();
    // 2026-02-14 (Saturday) is a make-up working day.
    assert_eq!(
        h2.open_state(&cal, at(datetime!(2026-02-14 09:00))),
        OpenState::Open {
            until: ts(datetime!(2026-02-14 17:30))
        }
    );
    // A kiosk open through holidays.
    let mut kiosk = body();
    kiosk.insert(
        "hours".into(),
        json!({"workdays": "00:00-24:00", "weekend": "00:00-24:00"}),
    );
    kiosk.insert("closed_on_holidays".into(), json!(false));
    let k = parse_hall(&kiosk, &config()).unwrap();
    assert_eq!(
        k.open_state(&cal, at(datetime!(2026-10-01 03:00))),
        OpenState::Open {
            until: ts(datetime!(2026-10-02 00:00))
        }
    );
}

#[test]
fn distances_are_great_circle() {
    // One degree of latitude is about 111.2 km.
    let d = distance_m(31.0, 113.0, 32.0, 113.0);
    assert!((d - 111_195.0).abs() < 20.0, "{d}");
    assert_eq!(distance_m(31.7, 113.4, 31.7, 113.4), 0.0);
}

fn index(halls: Vec<Hall>) -> HallIndex {
    let c = config();
    let codes: Vec<String> = c.services.iter().map(|s| s.code.clone()).collect();
    HallIndex::new(halls, &codes)
}

fn hall_at(code: &str, lat: f64, lng: f64, services: Value) -> Hall {
    let mut b = body();
    b.insert("code".into(), json!(code));
    b.insert("lat".into(), json!(lat));
    b.insert("lng".into(), json!(lng));
    b.insert("services".into(), services);
    parse_hall(&b, &config()).unwrap()
}

#[test]
fn the_circle_finds_the_halls_within_fifteen_minutes_and_the_nearest_per_service() {
    let circle = CircleConfig::default();
    // Walking: 4.5 km/h, detour 1.3 → 15 minutes reach 865.4 m in a straight line.
    assert!((circle.reach_m(Mode::Walk) - 865.38).abs() < 0.1);
    let near = hall_at(
        "near",
        31.7000,
        113.3800,
        json!([{"service": "water", "business": ["pay"]}]),
    );
    // 0.0060° north ≈ 667 m: about 11.6 walking minutes.
    let mid = hall_at(
        "mid",
        31.7060,
        113.3800,
        json!([{"service": "gas", "business": ["pay", "consult"]}]),
    );
    // ≈ 2.2 km: outside the walking circle, inside the driving one.
    let far = hall_at(
        "far",
        31.7200,
        113.3800,
        json!([{"service": "gas", "business": ["consult"]}]),
    );
    let idx = index(vec![far, near, mid]);
    let n = idx.nearby(
        &Seek {
            lat: 31.7000,
            lng: 113.3800,
            service: None,
            business: None,
            mode: Mode::Walk,
        },
        &circle,
        10,
    );
    let codes: Vec<&str> = n
        .within
        .iter()
        .map(|r| idx.get(r.hall).code.as_str())
        .collect();
    assert_eq!(codes, vec!["near", "mid"]);
    assert!(
        (n.within[1].minutes - 11.57).abs() < 0.05,
        "{}",
        n.within[1].minutes
    );
    // Gas payment: only "mid" within; nearest gas hall is mid.
    let g = idx.nearby(
        &Seek {
            lat: 31.7000,
            lng: 113.3800,
            service: Some("gas"),
            business: Some(Business::Pay),
            mode: Mode::Walk,
        },
        &circle,
        10,
    );
    assert_eq!(g.within.len(), 1);
    assert_eq!(idx.get(g.within[0].hall).code, "mid");
    let nearest: Vec<(&str, Option<&str>)> = g
        .nearest
        .iter()
        .map(|(s, r)| (s.as_str(), r.map(|r| idx.get(r.hall).code.as_str())))
        .collect();
    assert_eq!(
        nearest,
        vec![
            ("water", Some("near")),
            ("power", None),
            ("gas", Some("mid")),
            ("heat", None),
            ("network", None)
        ]
    );
    // Consulting on gas by car reaches the far hall too.
    let d = idx.nearby(
        &Seek {
            lat: 31.7000,
            lng: 113.3800,
            service: Some("gas"),
            business: Some(Business::Consult),
            mode: Mode::Drive,
        },
        &circle,
        10,
    );
    assert_eq!(d.within.len(), 2);
    // An unknown service finds nothing.
    assert!(
        idx.nearby(
            &Seek {
                lat: 31.7,
                lng: 113.38,
                service: Some("oil"),
                business: None,
                mode: Mode::Walk
            },
            &circle,
            10
        )
        .within
        .is_empty()
    );
}

#[test]
fn coverage_counts_the_grid_points_within_reach() {
    let circle = CircleConfig {
        grid_step_m: 500.0,
        ..CircleConfig::default()
    };
    let extent = Bounds {
        min_lng: 113.37,
        max_lng: 113.39,
        min_lat: 31.69,
        max_lat: 31.71,
    };
    let h = hall_at(
        "cc",
        31.70,
        113.38,
        json!([{"service": "water", "business": ["pay"]}]),
    );
    let idx = index(vec![h]);
    let cov = idx.coverage(&extent, None, Mode::Walk, &circle, 10_000);
    // 2.22 km × 1.90 km at 500 m: 5 rows × 4 columns.
    assert_eq!(cov.points, 20);
    let water = &cov.services[0];
    assert_eq!(water.service, "water");
    assert!(water.covered > 0 && water.covered < 20, "{}", water.covered);
    assert_eq!(water.covered + water.gaps.len(), 20);
    assert!(water.gaps.iter().all(|g| g.minutes.unwrap() > 15.0));
    // No hall offers power: nothing covered, no nearest.
    assert_eq!(cov.services[1].covered, 0);
    assert!(cov.services[1].gaps.iter().all(|g| g.minutes.is_none()));
    assert_eq!(cov.services[1].permille(cov.points), 0);
    // The grid never exceeds its bound.
    assert!(grid(&config().city.bounds, 10.0, 500).len() <= 500);
}

proptest! {
    #[test]
    fn opening_text_never_panics_and_stays_ordered(s in ".{0,300}") {
        if let Ok(periods) = parse_day(&s) {
            prop_assert!(periods.len() <= MAX_PERIODS);
            for w in periods.windows(2) {
                prop_assert!(w[0].close <= w[1].open);
            }
            for p in &periods {
                prop_assert!(p.open < p.close && p.close <= 1440);
            }
        }
    }

    #[test]
    fn any_json_hall_is_judged_without_panic(
        code in "[a-z0-9-]{0,50}",
        lat in -90.0f64..90.0,
        lng in -180.0f64..180.0,
        hours in "[0-9:,-]{0,40}",
    ) {
        let mut b = body();
        b.insert("code".into(), json!(code));
        b.insert("lat".into(), json!(lat));
        b.insert("lng".into(), json!(lng));
        b.insert("hours".into(), json!({"mon": hours}));
        let _ = parse_hall(&b, &config());
    }

    #[test]
    fn the_open_state_is_consistent(minutes in 0i64..(60 * 24 * 60)) {
        let h = parse_hall(&body(), &config()).unwrap();
        let cal = Calendar::builtin();
        let now = at(datetime!(2026-11-01 00:00)) + time::Duration::minutes(minutes);
        match h.open_state(&cal, now) {
            OpenState::Open { until } => prop_assert!(until > now.unix_timestamp()),
            OpenState::Closed { next } => {
                let next = next.unwrap();
                prop_assert!(next > now.unix_timestamp());
                // Just after the next opening it is open.
                let later = OffsetDateTime::from_unix_timestamp(next).unwrap().to_offset(offset!(+8));
                let open = matches!(h.open_state(&cal, later), OpenState::Open { .. });
                prop_assert!(open);
            }
        }
    }
}
