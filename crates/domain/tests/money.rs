//! Money between fen and what people read and type: every amount written
//! is read back exactly; whatever is typed is either read exactly or
//! refused, never rounded.

use onestop_domain::money::{MAX_FEN, MoneyError, parse_yuan, plain, yuan};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// `¥1,234.50` and `1234.50` read back as the fen they were written from.
    #[test]
    fn written_amounts_read_back(fen in 0i64..=MAX_FEN) {
        prop_assert_eq!(parse_yuan(&yuan(fen)), Ok(fen));
        prop_assert_eq!(parse_yuan(&plain(fen)), Ok(fen));
    }

    /// The written forms have exactly two decimals and groups of three.
    #[test]
    fn written_amounts_have_two_decimals(fen in any::<i64>()) {
        let y = yuan(fen);
        let p = plain(fen);
        prop_assert_eq!(y.split('.').nth(1).map(str::len), Some(2));
        prop_assert_eq!(p.split('.').nth(1).map(str::len), Some(2));
        prop_assert_eq!(y.starts_with('-'), fen < 0);
        let int = y.trim_start_matches('-').trim_start_matches('¥').split('.').next().unwrap().to_owned();
        let groups: Vec<&str> = int.split(',').collect();
        prop_assert!((1..=3).contains(&groups[0].len()));
        prop_assert!(groups[1..].iter().all(|g| g.len() == 3));
    }

    /// Yuan and up to two decimals, however typed, are read exactly.
    #[test]
    fn typed_amounts_are_exact(
        yuan_part in 0i64..=99_999_999,
        fen_part in 0i64..100,
        decimals in 0usize..=2,
        sign in prop::sample::select(vec!["", "¥", "￥", "¥ "]),
        suffix in prop::sample::select(vec!["", "元", " 元"]),
        full_width in any::<bool>(),
    ) {
        let fen_part = match decimals {
            0 => 0,
            1 => fen_part / 10 * 10,
            _ => fen_part,
        };
        let digits = match decimals {
            0 => format!("{yuan_part}"),
            1 => format!("{yuan_part}.{}", fen_part / 10),
            _ => format!("{yuan_part}.{fen_part:02}"),
        };
        let digits = if full_width {
            digits
                .chars()
                .map(|c| match c {
                    '0'..='9' => char::from_u32('０' as u32 + (c as u32 - '0' as u32)).unwrap(),
                    '.' => '．',
                    c => c,
                })
                .collect()
        } else {
            digits
        };
        let text = format!("{sign}{digits}{suffix}");
        prop_assert_eq!(parse_yuan(&text), Ok(yuan_part * 100 + fen_part), "{}", text);
    }

    /// A third decimal that is not zero is refused, never rounded.
    #[test]
    fn a_third_decimal_is_refused(yuan_part in 0i64..1_000_000, thousandths in 1i64..1000) {
        prop_assume!(thousandths % 10 != 0);
        let text = format!("{yuan_part}.{thousandths:03}");
        prop_assert_eq!(parse_yuan(&text), Err(MoneyError::TooPrecise));
    }

    /// Any text at all: read into a bounded, non-negative amount, or refused.
    #[test]
    fn any_text_is_read_or_refused(text in "\\PC{0,24}") {
        if let Ok(fen) = parse_yuan(&text) {
            prop_assert!((0..=MAX_FEN).contains(&fen));
            // Whatever was read is what the digits said.
            prop_assert_eq!(parse_yuan(&plain(fen)), Ok(fen));
        }
    }

    /// Amounts beyond the limit are refused, not wrapped.
    #[test]
    fn large_amounts_are_refused(fen in (MAX_FEN + 1)..i64::MAX) {
        prop_assert_eq!(parse_yuan(&plain(fen)), Err(MoneyError::TooLarge));
    }
}
