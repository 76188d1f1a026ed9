//! Instants as the API writes them: RFC 3339, whole seconds, with the offset
//! the value carries (the platform converts to +08:00 before answering).

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `2026-11-27T10:00:00+08:00`.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Unix milliseconds → the instant at `offset`.
/// A `YYYY-MM-DD` date (surrounding blanks ignored).
pub fn parse_date(s: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &fmt).ok()
}

/// `2027-06-30`.
pub fn format_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// `2027年06月30日`: a date for people.
pub fn date_zh(d: time::Date) -> String {
    format!("{:04}年{:02}月{:02}日", d.year(), d.month() as u8, d.day())
}

pub fn from_ms(ms: i64, offset: UtcOffset) -> OffsetDateTime {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.to_offset(offset)
}

/// `2026年11月27日 09:00`: an instant for people, at `offset` (the pages'
/// and messages' one format for an instant).
pub fn when_zh(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!(
        "{:04}年{:02}月{:02}日 {:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute()
    )
}

pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `#[serde(with = "crate::timefmt::rfc3339")]`
pub mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 instant"))
    }
}

/// `#[serde(default, with = "crate::timefmt::rfc3339_opt")]`
pub mod rfc3339_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| parse(&s).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 instant")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_beijing_offset() {
        let bj = UtcOffset::from_whole_seconds(8 * 3600).unwrap();
        let t = from_ms(1_795_744_800_123, bj);
        assert_eq!(format(t), "2026-11-27T10:00:00+08:00");
        assert_eq!(
            to_ms(parse("2026-11-27T10:00:00+08:00").unwrap()),
            1_795_744_800_000
        );
    }
}
