//! Contact details an account is told through: mobile numbers and email
//! addresses.

/// Whether `s` is a mainland mobile number: `1[3-9]` and nine more digits.
/// The one rule for every mobile number (the form's contact phone, an
/// account's phone, a registration).
pub fn is_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[0] == b'1' && matches!(b[1], b'3'..=b'9') && b.iter().all(u8::is_ascii_digit)
}

/// Whether `s` is a plain email address `local@domain.tld`: ASCII, no spaces,
/// quotes, angle brackets or line breaks (it goes into SMTP commands and
/// headers as it is), at most 254 characters.
pub fn is_email(s: &str) -> bool {
    if s.len() > 254 || !s.is_ascii() {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::is_email;

    #[test]
    fn plain_addresses_only() {
        for ok in ["a@b.cn", "wang.li+gas@sz-gas.example.com.cn", "x_1@a-b.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.cn",
            "a@.cn",
            "a..b@c.cn",
            "a b@c.cn",
            "a@b.cn\r\nRCPT TO:<x@y.cn>",
            "<a@b.cn>",
            "王@b.cn",
            "a@-b.cn",
            "a@b..cn",
        ] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod mobile_tests {
    use super::is_mobile;

    #[test]
    fn mobiles_are_1_3_to_9_and_eleven_digits() {
        for ok in ["13800000000", "19912345678", "15000000001"] {
            assert!(is_mobile(ok), "{ok}");
        }
        for bad in [
            "12800000000",
            "1380000000",
            "138000000000",
            "23800000000",
            "1380000000a",
            "",
            "１３８００００００００",
        ] {
            assert!(!is_mobile(bad), "{bad}");
        }
    }
}
