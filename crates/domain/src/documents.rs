//! Official documents (附表2/3/4, the acceptance receipt, the completion
//! notice): their kinds, numbers and check codes. A document's number
//! names its kind, its subject and the revision of its content
//! (`HZ-LB202612010001-1`); the check code printed beside it is the first
//! 64 bits of the SHA-256 of the content, so a printed copy can be checked
//! against the register at `/verify/{number}`.

/// A kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// 附表2: the one form as filed.
    Form,
    /// 受理回执: the acceptance receipt.
    Receipt,
    /// 办结通知: the completion notice.
    Completion,
    /// 附表3: the notification-commitment as signed.
    Commitment,
    /// 附表4: the consolidated parallel-approval opinion sheet.
    Sheet,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::Form,
        DocumentKind::Receipt,
        DocumentKind::Completion,
        DocumentKind::Commitment,
        DocumentKind::Sheet,
    ];

    /// The code in URLs and the register (`form`, `receipt`, …).
    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::Form => "form",
            DocumentKind::Receipt => "receipt",
            DocumentKind::Completion => "completion",
            DocumentKind::Commitment => "commitment",
            DocumentKind::Sheet => "sheet",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The number's prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            DocumentKind::Form => "FB2",
            DocumentKind::Receipt => "HZ",
            DocumentKind::Completion => "BJ",
            DocumentKind::Commitment => "FB3",
            DocumentKind::Sheet => "FB4",
        }
    }

    /// Of an approval case (else of an application).
    pub fn of_case(self) -> bool {
        matches!(self, DocumentKind::Commitment | DocumentKind::Sheet)
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::Form => "需求信息采集单（附表2）",
            DocumentKind::Receipt => "受理回执",
            DocumentKind::Completion => "办结通知书",
            DocumentKind::Commitment => "告知承诺书（附表3）",
            DocumentKind::Sheet => "综合审批意见单（附表4）",
        }
    }
}

/// A document's number: prefix, the subject's number (the application's
/// number; a case's documents add the case's round) and the revision.
pub fn number(kind: DocumentKind, subject: &str, revision: i64) -> String {
    format!("{}-{subject}-{revision}", kind.prefix())
}

/// Whether `s` could be a document number (before looking it up).
pub fn is_number(s: &str) -> bool {
    (5..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// The check code printed on a document: the first 16 hex digits of the
/// content's SHA-256, upper case, in groups of four (`3F2A-9C1B-77E0-12D4`).
pub fn check_code(sha256_hex: &str) -> String {
    sha256_hex
        .chars()
        .take(16)
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>().to_uppercase())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_check_codes() {
        assert_eq!(
            number(DocumentKind::Receipt, "LB202612010001", 1),
            "HZ-LB202612010001-1"
        );
        assert_eq!(
            number(DocumentKind::Sheet, "LB202612010001-R2", 3),
            "FB4-LB202612010001-R2-3"
        );
        assert!(is_number("HZ-LB202612010001-1"));
        assert!(!is_number("hz-1"));
        assert!(!is_number("HZ-LB2026/../1"));
        assert_eq!(
            check_code("3f2a9c1b77e012d4aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            "3F2A-9C1B-77E0-12D4"
        );
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.code()), Some(k));
        }
    }
}
