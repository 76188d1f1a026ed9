//! The unified social credit code (统一社会信用代码), GB 32100-2015.
//!
//! 18 characters from `0-9 A-H J-N P-R T U W-Y` (no I, O, S, V, Z); the last
//! one is a check character over the first 17 (weights 3^i mod 31).

/// The 31 characters of the code, in value order (`'0'` = 0 … `'Y'` = 30).
pub const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Length of a unified social credit code.
pub const USCC_LEN: usize = 18;

const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The value of one character of the code, or `None` for a character the code never uses.
/// Only upper-case letters count: the caller upper-cases first.
pub fn uscc_char_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='H' => Some(c as u32 - 'A' as u32 + 10),
        'J'..='N' => Some(c as u32 - 'J' as u32 + 18),
        'P'..='R' => Some(c as u32 - 'P' as u32 + 23),
        'T' => Some(26),
        'U' => Some(27),
        'W'..='Y' => Some(c as u32 - 'W' as u32 + 28),
        _ => None,
    }
}

/// The check character for the first 17 characters of a code, or `None` when
/// `first17` is not exactly 17 valid characters.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0usize;
    for c in first17.chars() {
        if n == WEIGHTS.len() {
            return None;
        }
        sum += uscc_char_value(c)? * WEIGHTS[n];
        n += 1;
    }
    if n != WEIGHTS.len() {
        return None;
    }
    let check = (31 - sum % 31) % 31;
    USCC_ALPHABET.chars().nth(check as usize)
}

/// Whether `code` is a well-formed unified social credit code with a correct
/// check character. Expects an already trimmed, upper-cased code.
pub fn uscc_is_valid(code: &str) -> bool {
    if code.len() != USCC_LEN || !code.is_ascii() {
        return false;
    }
    let (body, check) = code.split_at(USCC_LEN - 1);
    match (uscc_check_char(body), check.chars().next()) {
        (Some(expected), Some(given)) => expected == given,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_values_match_the_standard_table() {
        for (i, c) in USCC_ALPHABET.chars().enumerate() {
            assert_eq!(uscc_char_value(c), Some(i as u32), "{c}");
        }
        for c in ['I', 'O', 'S', 'V', 'Z', 'a', '-', ' ', '０'] {
            assert_eq!(uscc_char_value(c), None, "{c}");
        }
        assert_eq!(uscc_char_value('Y'), Some(30));
    }

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for expected in WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn real_codes_pass() {
        // Published codes of real enterprises.
        assert!(uscc_is_valid("91350100M000100Y43"));
        assert!(uscc_is_valid("91110000802100433B"));
    }

    #[test]
    fn computed_code_passes_and_neighbours_fail() {
        let check = uscc_check_char("91421300MA4900000").unwrap();
        assert_eq!(check, 'M');
        assert!(uscc_is_valid("91421300MA4900000M"));
        for c in USCC_ALPHABET.chars().filter(|&c| c != 'M') {
            assert!(!uscc_is_valid(&format!("91421300MA4900000{c}")), "{c}");
        }
    }

    #[test]
    fn check_value_zero_maps_to_zero() {
        // Find a body whose sum is a multiple of 31: its check character is '0', not 31.
        let body = (0..31u32)
            .map(|d| {
                format!(
                    "9142130000000000{}",
                    USCC_ALPHABET.chars().nth(d as usize).unwrap()
                )
            })
            .find(|b| {
                let sum: u32 = b
                    .chars()
                    .zip(WEIGHTS)
                    .map(|(c, w)| uscc_char_value(c).unwrap() * w)
                    .sum();
                sum.is_multiple_of(31)
            })
            .expect("one of 31 last characters makes the sum divisible by 31");
        assert_eq!(uscc_check_char(&body), Some('0'));
    }

    #[test]
    fn malformed_codes_fail_without_panicking() {
        for code in [
            "",
            "91350100M000100Y4",
            "91350100M000100Y433",
            "91350100m000100Y43",
            "91350100I000100Y43",
            "９1350100M000100Y43",
            "91350100M000100Y4é",
        ] {
            assert!(!uscc_is_valid(code), "{code}");
        }
        assert_eq!(uscc_check_char("123"), None);
        assert_eq!(uscc_check_char("913501000000000000"), None);
    }
}
