//! An application's facts as people read them, for the pages and the
//! official documents alike: each chosen service's details with their
//! Chinese labels and units, names of services, carriers and dates.

use crate::AppState;
use crate::texts;
use onestop_domain::form::Services;

/// One chosen service's details.
#[derive(Debug, Clone)]
pub struct ServiceFacts {
    /// The service's name (用水, 用电, …).
    pub name: String,
    /// (label, value) pairs, in the form's order.
    pub facts: Vec<(String, String)>,
    /// Gas equipment: (name, quantity, pressure).
    pub equipment: Vec<(String, String, String)>,
}

/// A number for people: at most two decimals, no trailing zeros.
pub fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub fn yes_no(b: bool) -> String {
    if b {
        texts::common::YES
    } else {
        texts::common::NO
    }
    .to_owned()
}

/// `2026年11月27日`.
pub fn date_zh(d: time::Date) -> String {
    texts::fill(
        texts::common::DATE,
        &[
            ("year", &format!("{:04}", d.year())),
            ("month", &format!("{:02}", d.month() as u8)),
            ("day", &format!("{:02}", d.day())),
        ],
    )
}

pub fn service_name(state: &AppState, code: &str) -> String {
    state
        .config
        .service(code)
        .map_or_else(|| code.to_owned(), |s| s.name.clone())
}

pub fn carrier_name(state: &AppState, code: &str) -> String {
    state
        .config
        .carriers()
        .find(|c| c.code == code)
        .map_or_else(|| code.to_owned(), |c| c.name.clone())
}

/// Items joined with the list separator (、).
pub fn list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(texts::common::LIST_SEPARATOR);
        }
        out.push_str(item.as_ref());
    }
    out
}

/// Each chosen service's details, in the order water, power, gas, heat,
/// network.
pub fn service_facts(state: &AppState, s: &Services) -> Vec<ServiceFacts> {
    let mut out = Vec::new();
    use texts::facts as t;
    let block = |code: &str, facts: Vec<(&str, String)>| ServiceFacts {
        name: service_name(state, code),
        facts: facts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        equipment: Vec::new(),
    };
    let amount = |unit: &str, v: f64| texts::fill(unit, &[("n", &trim_number(v))]);
    if let Some(w) = &s.water {
        out.push(block(
            "water",
            vec![
                (t::BUSINESS_TYPE, w.business_type.label_zh().to_owned()),
                (
                    t::WATER_DEMAND,
                    amount(t::TONS_PER_DAY, w.demand_tons_per_day),
                ),
            ],
        ));
    }
    if let Some(p) = &s.power {
        out.push(block(
            "power",
            vec![
                (t::BUSINESS_TYPE, p.business_type.label_zh().to_owned()),
                (t::MAIN_CAPACITY, amount(t::KVA, p.main_capacity_kva)),
                (t::BACKUP_CAPACITY, amount(t::KVA, p.backup_capacity_kva)),
            ],
        ));
    }
    if let Some(g) = &s.gas {
        let mut b = block(
            "gas",
            vec![(t::GAS_CATEGORY, g.category.label_zh().to_owned())],
        );
        b.equipment = g
            .equipment
            .iter()
            .map(|e| (e.name.clone(), e.quantity.to_string(), e.pressure.clone()))
            .collect();
        out.push(b);
    }
    if let Some(h) = &s.heat {
        out.push(block(
            "heat",
            vec![
                (t::HEAT_CATEGORY, h.category.label_zh().to_owned()),
                (t::HEATING_AREA, amount(t::SQUARE_METRES, h.heating_area_m2)),
            ],
        ));
    }
    if let Some(n) = &s.network {
        let d = n.delivery_date;
        out.push(block(
            "network",
            vec![
                (
                    t::BUILDING_AREA,
                    amount(t::SQUARE_METRES, n.building_area_m2),
                ),
                (t::BUILDING_HEIGHT, amount(t::METRES, n.building_height_m)),
                (t::DELIVERY_DATE, date_zh(d)),
                (t::BUILDINGS, n.buildings.to_string()),
                (t::BASEMENT, yes_no(n.basement_coverage)),
                (t::ELEVATOR, yes_no(n.elevator_coverage)),
                (
                    t::CARRIERS,
                    list(n.carriers.iter().map(|c| carrier_name(state, c))),
                ),
            ],
        ));
    }
    out
}
