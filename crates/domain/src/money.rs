//! Money as integer fen (分), never floats: what a clerk types (`123.4`,
//! `¥1,234.50`, `１２３元`) read into fen, and fen written out for people
//! (`¥1,234.50`) and for form fields (`1234.50`).
//!
//! Every amount in the platform, its storage, its API and the billing
//! connector's contract is an `i64` of fen. Parsing refuses anything it
//! cannot read exactly: a third decimal, a sign, an exponent, stray
//! characters, more than [`MAX_FEN`].

/// The largest amount read from text: ¥100,000,000.00 (一亿元). Window
/// payments have a lower limit of their own (`billing::MAX_PAYMENT_FEN`).
pub const MAX_FEN: i64 = 10_000_000_000;

/// Why a typed amount could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// Nothing but blanks (and perhaps the currency sign).
    Empty,
    /// Not a plain decimal amount (letters, a sign, two points, misplaced
    /// thousands separators, …).
    InvalidFormat,
    /// More than two decimals: fen are the smallest unit.
    TooPrecise,
    /// More than [`MAX_FEN`].
    TooLarge,
}

impl MoneyError {
    /// What to tell the person who typed it.
    pub fn message_zh(self) -> &'static str {
        match self {
            MoneyError::Empty => "请填写金额",
            MoneyError::InvalidFormat => "金额格式不正确，请填写如 128.50 的数字",
            MoneyError::TooPrecise => "金额最多精确到分（两位小数）",
            MoneyError::TooLarge => "金额过大",
        }
    }
}

/// Reads an amount of yuan into fen. Accepts full-width digits and point,
/// a leading `¥`/`￥`, a trailing `元`, blanks around, and `,` as a
/// thousands separator in groups of three (`1,234.5`); at most two
/// decimals.
pub fn parse_yuan(text: &str) -> Result<i64, MoneyError> {
    let mut s: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' | '。' => '.',
            '，' => ',',
            c => c,
        })
        .collect();
    for sign in ['¥', '￥'] {
        if let Some(rest) = s.strip_prefix(sign) {
            s = rest.trim_start().to_owned();
        }
    }
    if let Some(rest) = s.strip_suffix('元') {
        s = rest.trim_end().to_owned();
    }
    if s.is_empty() {
        return Err(MoneyError::Empty);
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    // The integer part: digits, optionally grouped by commas in threes.
    let digits: String = if int_part.contains(',') {
        let groups: Vec<&str> = int_part.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
        if !first_ok || !rest_ok {
            return Err(MoneyError::InvalidFormat);
        }
        groups.concat()
    } else {
        int_part.to_owned()
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::InvalidFormat);
    }
    let frac = frac_part.unwrap_or("");
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::InvalidFormat);
    }
    if digits.is_empty() && frac.is_empty() {
        return Err(MoneyError::InvalidFormat);
    }
    // "12." and ".5" are read as 12 and 0.5; a third decimal is refused
    // unless it is a trailing zero ("1.250").
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return Err(MoneyError::TooPrecise);
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 12 {
        return Err(MoneyError::TooLarge);
    }
    let yuan: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| MoneyError::InvalidFormat)?
    };
    let fen_of_frac: i64 = match frac.len() {
        0 => 0,
        1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
        _ => frac.parse().map_err(|_| MoneyError::InvalidFormat)?,
    };
    let fen = yuan
        .checked_mul(100)
        .and_then(|f| f.checked_add(fen_of_frac))
        .ok_or(MoneyError::TooLarge)?;
    if fen > MAX_FEN {
        return Err(MoneyError::TooLarge);
    }
    Ok(fen)
}

/// `1234.50`: fen as a plain decimal of yuan, two decimals, no grouping
/// (the value of a form field; [`parse_yuan`] reads it back).
pub fn plain(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// `¥1,234.50`: fen for people, grouped by thousands, two decimals; a
/// negative amount (a difference) as `-¥12.00`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    let int = (a / 100).to_string();
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{:02}", a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_clerks_type() {
        assert_eq!(parse_yuan("123.45"), Ok(12_345));
        assert_eq!(parse_yuan("123.4"), Ok(12_340));
        assert_eq!(parse_yuan("123"), Ok(12_300));
        assert_eq!(parse_yuan("123."), Ok(12_300));
        assert_eq!(parse_yuan(".5"), Ok(50));
        assert_eq!(parse_yuan("0.01"), Ok(1));
        assert_eq!(parse_yuan(" ¥ 1,234.50 "), Ok(123_450));
        assert_eq!(parse_yuan("￥12元"), Ok(1_200));
        assert_eq!(parse_yuan("１２３．４５"), Ok(12_345));
        assert_eq!(parse_yuan("1.250"), Ok(125));
        assert_eq!(parse_yuan("007.10"), Ok(710));
        assert_eq!(parse_yuan("1,000,000"), Ok(100_000_000));
        assert_eq!(parse_yuan("100000000"), Ok(MAX_FEN));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert_eq!(parse_yuan(""), Err(MoneyError::Empty));
        assert_eq!(parse_yuan(" ¥ "), Err(MoneyError::Empty));
        assert_eq!(parse_yuan("1.234"), Err(MoneyError::TooPrecise));
        assert_eq!(parse_yuan("100000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(parse_yuan("9999999999999"), Err(MoneyError::TooLarge));
        for bad in [
            "-1", "+1", "1e3", "1.2.3", "12a", "1,23", "1234,567", ",123", "1,,234", ".", "¥.",
            "一百", "NaN", "1 000", "0x10", "1_000",
        ] {
            assert_eq!(parse_yuan(bad), Err(MoneyError::InvalidFormat), "{bad}");
        }
    }

    #[test]
    fn writes_for_people_and_for_fields() {
        assert_eq!(yuan(0), "¥0.00");
        assert_eq!(yuan(1), "¥0.01");
        assert_eq!(yuan(12_345), "¥123.45");
        assert_eq!(yuan(123_456_789), "¥1,234,567.89");
        assert_eq!(yuan(100_000), "¥1,000.00");
        assert_eq!(yuan(-1_200), "-¥12.00");
        assert_eq!(plain(123_456_789), "1234567.89");
        assert_eq!(plain(5), "0.05");
        assert_eq!(plain(-5), "-0.05");
    }
}
