//! The one text-cleaning rule for every free-text field: the form's names
//! and addresses, registration, account and key names, notes, reasons and
//! opinions, and names given on the command line.
//!
//! [`clean`] applies, in order:
//! 1. line breaks: `\r\n` and `\r` become `\n`; multi-line kinds keep them,
//!    single-line kinds refuse them;
//! 2. invisible formatting characters that nobody can see or delete by hand
//!    (zero-width spaces and joiners, the byte-order mark, soft hyphens,
//!    direction *marks*, tag characters) are removed;
//! 3. what can only serve to mislead is refused: control characters (C0, DEL,
//!    C1, tab), direction *overrides, embeddings and isolates* (U+202A–U+202E,
//!    U+2066–U+2069) and the Unicode line and paragraph separators;
//! 4. whitespace is trimmed at both ends (of the whole text; in multi-line
//!    text, trailing blanks of each line go too);
//! 5. the length, counted in characters after cleaning, must lie within the
//!    kind's limits in [`TextKind::limits`] — the one table of text lengths.
//!
//! Work is bounded: a text is never looked at beyond [`SCAN_LIMIT`] bytes past
//! the kind's maximum, whatever its size.

use crate::form::{FieldCode, FieldError};
use std::fmt;

/// Every kind of free text, with its length limits ([`TextKind::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// An enterprise's name (申请单位、企业名称).
    EnterpriseName,
    /// A person's name (联系人、签署人).
    PersonName,
    /// A street address (详细地址).
    Address,
    /// A gas equipment line's name.
    EquipmentName,
    /// A gas equipment line's pressure (e.g. "2kPa").
    Pressure,
    /// An account's display name (staff accounts).
    DisplayName,
    /// An integration key's name.
    KeyName,
    /// A place of works (施工地点), a route.
    Place,
    /// A unit's name given on a commitment (承诺单位).
    UnitName,
    /// A service hall's name (营业厅名称).
    HallName,
    /// A reason, note or action field (multi-line).
    Note,
    /// A reminder (督办意见) or its reply (multi-line).
    ShortNote,
    /// A department's opinion (multi-line).
    Opinion,
    /// What a consultation at a window was about (咨询事项), one line.
    Topic,
    /// An uploaded material's file name, as shown and offered on download.
    FileName,
    /// An electronic licence's number (证照编号) or its issuer's name.
    LicenceNumber,
    /// A cost item of a work order (费用项目), one line.
    CostItem,
    /// A document reference (文号), e.g. 随政办发〔2023〕7号.
    DocumentRef,
}

/// Bytes looked at beyond a kind's maximum (in the worst case four bytes per
/// character): enough to tell "too long" without reading a huge text.
pub const SCAN_LIMIT: usize = 64;

impl TextKind {
    /// `(min, max)` characters after cleaning: the one table of text lengths.
    pub const fn limits(self) -> (usize, usize) {
        match self {
            TextKind::EnterpriseName => (2, 100),
            TextKind::PersonName => (1, 50),
            TextKind::Address => (1, 200),
            TextKind::EquipmentName => (1, 50),
            TextKind::Pressure => (1, 50),
            TextKind::DisplayName => (1, 50),
            TextKind::KeyName => (1, 60),
            TextKind::Place => (1, 200),
            TextKind::UnitName => (1, 100),
            TextKind::HallName => (2, 60),
            TextKind::Note => (1, 1000),
            TextKind::ShortNote => (1, 500),
            TextKind::Opinion => (1, 1000),
            TextKind::Topic => (2, 100),
            TextKind::FileName => (1, 120),
            TextKind::LicenceNumber => (1, 60),
            TextKind::CostItem => (1, 60),
            TextKind::DocumentRef => (1, 100),
        }
    }

    /// Whether line breaks are kept.
    pub const fn multiline(self) -> bool {
        matches!(
            self,
            TextKind::Note | TextKind::ShortNote | TextKind::Opinion
        )
    }

    pub const fn min(self) -> usize {
        self.limits().0
    }

    pub const fn max(self) -> usize {
        self.limits().1
    }
}

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Nothing left after cleaning.
    Blank,
    /// Fewer characters than the kind's minimum.
    TooShort { min: usize },
    /// More characters than the kind's maximum.
    TooLong { max: usize },
    /// A line break in a single-line text.
    LineBreak,
    /// A control character, a direction override or a line separator.
    ForbiddenChar,
}

impl TextProblem {
    /// Chinese, for people: what is wrong with the field called `label`
    /// and how to fix it.
    pub fn message(self, label: &str) -> String {
        match self {
            TextProblem::Blank => format!("请填写{label}"),
            TextProblem::TooShort { min } => format!("{label}至少需要{min}个字"),
            TextProblem::TooLong { max } => {
                format!("{label}不能超过{max}个字，请精简后重新填写")
            }
            TextProblem::LineBreak => format!("{label}请写在一行内，不要换行"),
            TextProblem::ForbiddenChar => {
                format!("{label}含有控制字符或文字方向控制符，请删除后重新填写")
            }
        }
    }
}

impl fmt::Display for TextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("内容"))
    }
}

/// Invisible formatting characters removed by [`clean`].
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                // soft hyphen
        | '\u{034F}'              // combining grapheme joiner
        | '\u{061C}'              // Arabic letter mark
        | '\u{115F}' | '\u{1160}' // Hangul fillers
        | '\u{180E}'              // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner; LRM, RLM
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{FEFF}'              // byte-order mark, zero-width no-break space
        | '\u{E0000}'..='\u{E007F}' // tag characters
    )
}

/// Characters refused by [`clean`] (apart from line breaks, which depend on
/// the kind): controls, direction overrides, embeddings and isolates, and the
/// Unicode line and paragraph separators.
pub fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\r')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Cleans `raw` as text of `kind`: the cleaned text, or why it is refused.
/// An empty result is [`TextProblem::Blank`]; callers with optional fields
/// check for blankness first (see [`clean_optional`]).
pub fn clean(kind: TextKind, raw: &str) -> Result<String, TextProblem> {
    let (min, max) = kind.limits();
    // Bounded work: a text far beyond the maximum is too long whatever it holds.
    let bound = max * 4 + SCAN_LIMIT;
    let (raw, cut) = if raw.len() > bound {
        let mut end = bound;
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        (&raw[..end], true)
    } else {
        (raw, false)
    };
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if !kind.multiline() {
                    // Blank lines at the ends are trimmed, not refused.
                    if out.trim().is_empty() || chars.clone().all(char::is_whitespace) {
                        out.push(' ');
                        continue;
                    }
                    return Err(TextProblem::LineBreak);
                }
                // Trailing blanks of the line end with it.
                let kept = out.trim_end_matches(|c: char| c != '\n' && c.is_whitespace());
                out.truncate(kept.len());
                out.push('\n');
            }
            c if is_invisible(c) => {}
            c if is_forbidden(c) => return Err(TextProblem::ForbiddenChar),
            c => out.push(c),
        }
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        return if cut {
            Err(TextProblem::TooLong { max })
        } else {
            Err(TextProblem::Blank)
        };
    }
    let len = trimmed.chars().count();
    if cut || len > max {
        return Err(TextProblem::TooLong { max });
    }
    if len < min {
        return Err(TextProblem::TooShort { min });
    }
    Ok(trimmed.to_owned())
}

/// Like [`clean`], but a text that is blank after cleaning is `Ok(None)`.
pub fn clean_optional(kind: TextKind, raw: &str) -> Result<Option<String>, TextProblem> {
    match clean(kind, raw) {
        Ok(s) => Ok(Some(s)),
        Err(TextProblem::Blank) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The field error for a problem with the text of `field` (called `label`).
pub fn field_error(field: &str, label: &str, problem: TextProblem) -> FieldError {
    let code = match problem {
        TextProblem::Blank => FieldCode::Required,
        TextProblem::TooShort { .. } => FieldCode::OutOfRange,
        TextProblem::TooLong { .. } => FieldCode::TooLong,
        TextProblem::LineBreak | TextProblem::ForbiddenChar => FieldCode::InvalidFormat,
    };
    FieldError::new(field, code, problem.message(label))
}

/// Cleans the text of one field of a body: `Ok(None)` when it is absent or
/// blank and not `required`; otherwise the cleaned text or the field error
/// (`required`, `out_of_range`, `too_long` or `invalid_format`).
pub fn check_field(
    field: &str,
    label: &str,
    kind: TextKind,
    raw: Option<&str>,
    required: bool,
) -> Result<Option<String>, FieldError> {
    match clean(kind, raw.unwrap_or("")) {
        Ok(s) => Ok(Some(s)),
        Err(TextProblem::Blank) if !required => Ok(None),
        Err(p) => Err(field_error(field, label, p)),
    }
}

/// Whether `raw` is blank once invisible characters and whitespace are gone.
pub fn is_blank(raw: &str) -> bool {
    raw.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// Sentence-ending marks after which a full stop would be one too many.
const STOPS: [char; 6] = ['。', '！', '？', '.', '!', '?'];

/// `text` trimmed and without its final full stops, so that a sentence
/// built around it adds its own (`原因：{text}。` never reads `。。`).
pub fn without_final_stop(text: &str) -> &str {
    text.trim().trim_end_matches(['。', '.', '．']).trim_end()
}

/// `text` with single full stops: a `。` right after another sentence end
/// (`。。`, `！。`, `.。`) is dropped.
pub fn single_stops(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '。' && out.ends_with(STOPS) {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_in_one_full_stop() {
        assert_eq!(without_final_stop(" 门牌号不完整。 "), "门牌号不完整");
        assert_eq!(without_final_stop("材料齐全。。"), "材料齐全");
        assert_eq!(without_final_stop("同意"), "同意");
        assert_eq!(without_final_stop("。"), "");
        assert_eq!(
            single_stops("原因：门牌号不完整。。请修改。"),
            "原因：门牌号不完整。请修改。"
        );
        assert_eq!(single_stops("请尽快！。好的。。。"), "请尽快！好的。");
        assert_eq!(single_stops("一。二。"), "一。二。");
    }

    #[test]
    fn trims_and_keeps_ordinary_text() {
        assert_eq!(
            clean(TextKind::EnterpriseName, "  随州市示例商贸有限公司　"),
            Ok("随州市示例商贸有限公司".to_owned())
        );
        assert_eq!(
            clean(TextKind::PersonName, "O'Brien-张"),
            Ok("O'Brien-张".into())
        );
    }

    #[test]
    fn removes_invisible_characters() {
        assert_eq!(
            clean(
                TextKind::EnterpriseName,
                "\u{feff}随州\u{200b}水务\u{200d}集团\u{00ad}"
            ),
            Ok("随州水务集团".into())
        );
        assert_eq!(
            clean(TextKind::PersonName, "\u{200e}张三\u{200f}"),
            Ok("张三".into())
        );
        assert_eq!(
            clean(TextKind::PersonName, "\u{200b}\u{200b}"),
            Err(TextProblem::Blank)
        );
        assert!(is_blank(" \u{200b}\u{3000}"));
    }

    #[test]
    fn refuses_overrides_and_controls() {
        assert_eq!(
            clean(TextKind::EnterpriseName, "\u{202e}\u{200b}司公限有ABC"),
            Err(TextProblem::ForbiddenChar)
        );
        for c in [
            '\u{0}', '\u{7}', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{202a}', '\u{202d}',
            '\u{2066}', '\u{2069}', '\u{2028}', '\u{2029}',
        ] {
            assert_eq!(
                clean(TextKind::Note, &format!("说明{c}文字")),
                Err(TextProblem::ForbiddenChar),
                "{:?}",
                c
            );
        }
    }

    #[test]
    fn line_breaks_by_kind() {
        assert_eq!(
            clean(TextKind::Note, "第一行  \r\n第二行\r第三行\n"),
            Ok("第一行\n第二行\n第三行".into())
        );
        assert_eq!(
            clean(TextKind::PersonName, "张\r\n三"),
            Err(TextProblem::LineBreak)
        );
        assert_eq!(clean(TextKind::PersonName, "张三\r\n"), Ok("张三".into()));
        assert_eq!(clean(TextKind::PersonName, "\n张三"), Ok("张三".into()));
    }

    #[test]
    fn lengths_come_from_the_table() {
        let (min, max) = TextKind::EnterpriseName.limits();
        assert_eq!(
            clean(TextKind::EnterpriseName, "甲"),
            Err(TextProblem::TooShort { min })
        );
        assert!(clean(TextKind::EnterpriseName, &"甲".repeat(max)).is_ok());
        assert_eq!(
            clean(TextKind::EnterpriseName, &"甲".repeat(max + 1)),
            Err(TextProblem::TooLong { max })
        );
        // Invisible characters do not count.
        let padded = format!("{}{}", "甲".repeat(max), "\u{200b}".repeat(10));
        assert!(clean(TextKind::EnterpriseName, &padded).is_ok());
    }

    #[test]
    fn huge_texts_cost_little() {
        let huge = "甲".repeat(5_000_000);
        assert_eq!(
            clean(TextKind::PersonName, &huge),
            Err(TextProblem::TooLong { max: 50 })
        );
        let spaces = " ".repeat(5_000_000);
        assert_eq!(
            clean(TextKind::PersonName, &spaces),
            Err(TextProblem::TooLong { max: 50 })
        );
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            TextProblem::TooLong { max: 50 }.message("联系人姓名"),
            "联系人姓名不能超过50个字，请精简后重新填写"
        );
    }

    proptest::proptest! {
        #[test]
        fn cleaned_text_is_clean(raw in "\\PC{0,80}|[\\u{0}-\\u{3000}\\u{200b}-\\u{206f}\\u{feff}]{0,80}") {
            for kind in [TextKind::PersonName, TextKind::Note, TextKind::EnterpriseName] {
                if let Ok(s) = clean(kind, &raw) {
                    let (min, max) = kind.limits();
                    let n = s.chars().count();
                    proptest::prop_assert!(n >= min && n <= max);
                    proptest::prop_assert!(!s.chars().any(|c| is_forbidden(c) || is_invisible(c) || c == '\r'));
                    proptest::prop_assert!(kind.multiline() || !s.contains('\n'));
                    proptest::prop_assert_eq!(s.trim(), s.as_str());
                    // Cleaning is idempotent.
                    proptest::prop_assert_eq!(clean(kind, &s), Ok(s.clone()));
                }
            }
        }
    }
}
