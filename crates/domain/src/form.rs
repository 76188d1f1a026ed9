//! The joint application form (附表2): its normalised types and the validator
//! that turns an untrusted JSON body into one, reporting every problem at once.
//!
//! Normalisation comes before checking: strings are trimmed, the USCC is
//! upper-cased, a blank string counts as missing, and the appointment is
//! converted to the city's local offset. Field paths in errors are dotted paths
//! into the body (`services.gas.equipment.0.quantity`); messages are Chinese.

mod error;
mod types;
mod uscc;
mod validate;

pub use error::{FieldCode, FieldError};
pub use types::{
    Address, Applicant, ApplicationForm, Channel, Contact, FormEnum, GasCategory, GasDetails,
    GasEquipment, HeatCategory, HeatDetails, Mode, NetworkDetails, PowerBusinessType, PowerDetails,
    Services, WaterBusinessType, WaterDetails,
};
pub use uscc::{USCC_ALPHABET, USCC_LEN, uscc_char_value, uscc_check_char, uscc_is_valid};
pub use validate::{
    Correction, MAX_ERRORS, check_selection, phone_is_valid, two_years_after, validate_application,
    validate_correction, validate_pre_registration,
};

/// The form's limits, shared with the web form (e.g. for `maxlength`).
/// Text lengths are in characters, as `(min, max)`.
pub mod limits {
    use std::ops::RangeInclusive;

    use crate::text::TextKind;

    // Free text: the one table is `TextKind::limits`.
    pub const APPLICANT_NAME_CHARS: (usize, usize) = TextKind::EnterpriseName.limits();
    pub const ADDRESS_DETAIL_CHARS: (usize, usize) = TextKind::Address.limits();
    pub const CONTACT_NAME_CHARS: (usize, usize) = TextKind::PersonName.limits();
    pub const GAS_EQUIPMENT_NAME_CHARS: (usize, usize) = TextKind::EquipmentName.limits();
    pub const GAS_PRESSURE_CHARS: (usize, usize) = TextKind::Pressure.limits();
    pub const HALL_ID_CHARS: (usize, usize) = (1, 64);
    /// Whole units per equipment line, `(min, max)`.
    pub const GAS_EQUIPMENT_QUANTITY: (u32, u32) = (1, 100_000);
    pub const MAX_GAS_EQUIPMENT_LINES: usize = 200;
    /// Carriers chosen for network access (each a distinct configured carrier).
    pub const MAX_NETWORK_CARRIERS: usize = 20;
    /// Buildings to cover, `(min, max)`.
    pub const NETWORK_BUILDINGS: (u32, u32) = (1, 10_000);
    pub const MAX_WATER_DEMAND_TONS_PER_DAY: f64 = 1_000_000.0;
    pub const MAX_CAPACITY_KVA: f64 = 10_000_000.0;
    pub const MAX_AREA_M2: f64 = 100_000_000.0;
    pub const MAX_BUILDING_HEIGHT_M: f64 = 1_000.0;
    pub const DELIVERY_YEARS: RangeInclusive<i32> = 2000..=2100;
}

/// What a search box at a window or in a list was given: an application
/// number, an enterprise's USCC or a contact phone, told apart by form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Number(String),
    Uscc(String),
    Phone(String),
}

impl Lookup {
    /// Reads a search term (spaces and case ignored); `None` for one that
    /// is none of the three (over 32 characters, or not letters, digits and dashes).
    pub fn parse(q: &str) -> Option<Lookup> {
        let q: String = q.chars().filter(|c| !c.is_whitespace()).collect();
        if q.is_empty() || q.len() > 32 || !q.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return None;
        }
        let upper = q.to_ascii_uppercase();
        if upper.len() == USCC_LEN && uscc_is_valid(&upper) {
            Some(Lookup::Uscc(upper))
        } else if validate::phone_is_valid(&q) {
            Some(Lookup::Phone(q))
        } else if upper.chars().any(|c| c.is_ascii_alphabetic()) {
            Some(Lookup::Number(upper))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::Lookup;

    #[test]
    fn a_search_term_is_told_apart_by_its_form() {
        assert_eq!(
            Lookup::parse(" lb202612010001 "),
            Some(Lookup::Number("LB202612010001".into()))
        );
        assert_eq!(
            Lookup::parse("13800001111"),
            Some(Lookup::Phone("13800001111".into()))
        );
        assert_eq!(
            Lookup::parse("0722-1234567"),
            Some(Lookup::Phone("0722-1234567".into()))
        );
        assert_eq!(
            Lookup::parse("91421300MA4F000003"),
            Lookup::parse("91421300ma4f000003")
        );
        assert_eq!(Lookup::parse("12345"), None);
        assert_eq!(Lookup::parse("x' OR 1=1"), None);
        assert_eq!(Lookup::parse(&"A".repeat(40)), None);
    }
}
