//! Materials (申请材料) uploaded once and shared by every party of an
//! application (一次上传、多方共享), and electronic licences (电子证照)
//! referenced instead of uploaded: their kinds, the file types accepted
//! (told by content, never by name), the limits and the checks.

use crate::form::{FieldCode, FieldError};
use crate::text::{self, TextKind};
use serde::{Deserialize, Serialize};

/// What a material is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MaterialKind {
    /// 总平面图／用地红线图
    SitePlan,
    /// 营业执照
    BusinessLicence,
    /// 不动产权证书
    PropertyCertificate,
    /// 设计方案
    Design,
    /// 审批文件
    ApprovalDocument,
    /// 其他
    Other,
}

impl MaterialKind {
    pub const ALL: [MaterialKind; 6] = [
        MaterialKind::SitePlan,
        MaterialKind::BusinessLicence,
        MaterialKind::PropertyCertificate,
        MaterialKind::Design,
        MaterialKind::ApprovalDocument,
        MaterialKind::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MaterialKind::SitePlan => "site_plan",
            MaterialKind::BusinessLicence => "business_licence",
            MaterialKind::PropertyCertificate => "property_certificate",
            MaterialKind::Design => "design",
            MaterialKind::ApprovalDocument => "approval_document",
            MaterialKind::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            MaterialKind::SitePlan => "总平面图",
            MaterialKind::BusinessLicence => "营业执照",
            MaterialKind::PropertyCertificate => "不动产权证书",
            MaterialKind::Design => "设计方案",
            MaterialKind::ApprovalDocument => "审批文件",
            MaterialKind::Other => "其他材料",
        }
    }
}

/// A file type accepted, told from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
}

impl FileType {
    pub fn media_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Png => "png",
            FileType::Jpeg => "jpg",
        }
    }

    /// The type of a file from its first bytes (at least [`SNIFF_BYTES`]
    /// when the file is that long), whatever its name says.
    pub fn sniff(head: &[u8]) -> Option<FileType> {
        if head.starts_with(b"%PDF-") {
            Some(FileType::Pdf)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileType::Png)
        } else if head.len() >= 4 && head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileType::Jpeg)
        } else {
            None
        }
    }
}

/// Bytes read before the type is decided.
pub const SNIFF_BYTES: usize = 8;

/// The trust level of an electronic licence (the national scheme's A–D,
/// A the highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LicenceLevel {
    A,
    B,
    C,
    D,
}

impl LicenceLevel {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "A" => Some(LicenceLevel::A),
            "B" => Some(LicenceLevel::B),
            "C" => Some(LicenceLevel::C),
            "D" => Some(LicenceLevel::D),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            LicenceLevel::A => "A",
            LicenceLevel::B => "B",
            LicenceLevel::C => "C",
            LicenceLevel::D => "D",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LicenceLevel::A => "A级",
            LicenceLevel::B => "B级",
            LicenceLevel::C => "C级",
            LicenceLevel::D => "D级",
        }
    }
}

/// An electronic licence as entered (before it is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceInput {
    pub kind: MaterialKind,
    pub issuer: String,
    pub number: String,
    pub holder: String,
    pub level: LicenceLevel,
}

/// The raw fields of a licence reference.
#[derive(Debug, Clone, Default)]
pub struct RawLicence<'a> {
    pub kind: Option<&'a str>,
    pub issuer: Option<&'a str>,
    pub number: Option<&'a str>,
    pub holder: Option<&'a str>,
    pub level: Option<&'a str>,
}

/// Checks a licence reference, every problem at once.
pub fn parse_licence(raw: &RawLicence<'_>) -> Result<LicenceInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = match raw.kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Some(MaterialKind::BusinessLicence),
        Some(k) => {
            let kind = MaterialKind::parse(k).filter(|k| {
                !matches!(
                    k,
                    MaterialKind::SitePlan | MaterialKind::Design | MaterialKind::Other
                )
            });
            if kind.is_none() {
                errors.push(FieldError::new(
                    "kind",
                    FieldCode::UnknownValue,
                    "证照类型应为营业执照、不动产权证书或审批文件",
                ));
            }
            kind
        }
    };
    let mut text_field =
        |field: &str, label: &str, kind: TextKind, value: Option<&str>| match text::clean(
            kind,
            value.unwrap_or(""),
        ) {
            Ok(v) => Some(v),
            Err(p) => {
                errors.push(text::field_error(field, label, p));
                None
            }
        };
    let issuer = text_field("issuer", "发证机关", TextKind::UnitName, raw.issuer);
    let number = text_field("number", "证照编号", TextKind::LicenceNumber, raw.number);
    let holder = text_field("holder", "持证主体", TextKind::EnterpriseName, raw.holder);
    let level = match raw.level.map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new(
                "level",
                FieldCode::Required,
                "请选择证照可信等级",
            ));
            None
        }
        Some(l) => {
            let level = LicenceLevel::parse(l);
            if level.is_none() {
                errors.push(FieldError::new(
                    "level",
                    FieldCode::UnknownValue,
                    "证照可信等级应为 A、B、C 或 D",
                ));
            }
            level
        }
    };
    match (kind, issuer, number, holder, level) {
        (Some(kind), Some(issuer), Some(number), Some(holder), Some(level))
            if errors.is_empty() =>
        {
            Ok(LicenceInput {
                kind,
                issuer,
                number,
                holder,
                level,
            })
        }
        _ => Err(errors),
    }
}

/// A file name as offered back: cleaned like any text, its path parts and
/// characters that do not belong in a name dropped, and the extension set
/// to the type the content is. Never fails: a name with nothing left is
/// called after its kind.
pub fn file_name(raw: &str, kind: MaterialKind, ty: FileType) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let kept: String = stem
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | ':' | '*' | '?'))
        .take(100)
        .collect();
    let stem = match text::clean(TextKind::FileName, &kept) {
        Ok(s) => s,
        Err(_) => kind.label().to_owned(),
    };
    format!("{stem}.{}", ty.extension())
}

/// Limits on uploads (`[materials]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes per file.
    pub file_bytes: u64,
    /// Bytes of all the files of one application.
    pub application_bytes: u64,
    /// Files per application.
    pub application_files: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_told_by_content_not_by_name() {
        assert_eq!(FileType::sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(
            FileType::sniff(b"\x89PNG\r\n\x1a\n\0\0"),
            Some(FileType::Png)
        );
        assert_eq!(
            FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(FileType::Jpeg)
        );
        assert_eq!(FileType::sniff(b"MZ\x90\0"), None);
        assert_eq!(FileType::sniff(b"<html>%PDF-"), None);
        assert_eq!(FileType::sniff(b""), None);
    }

    #[test]
    fn file_names_lose_paths_and_take_the_contents_extension() {
        assert_eq!(
            file_name(
                "C:\\Users\\x\\总平面图.exe",
                MaterialKind::SitePlan,
                FileType::Pdf
            ),
            "总平面图.pdf"
        );
        assert_eq!(
            file_name("../../etc/passwd", MaterialKind::Design, FileType::Png),
            "passwd.png"
        );
        assert_eq!(
            file_name("\u{202e}gpj.exe", MaterialKind::Other, FileType::Jpeg),
            "其他材料.jpg"
        );
        assert_eq!(
            file_name("", MaterialKind::SitePlan, FileType::Pdf),
            "总平面图.pdf"
        );
        assert_eq!(
            file_name("a\"b<c>.pdf", MaterialKind::SitePlan, FileType::Pdf),
            "abc.pdf"
        );
    }

    #[test]
    fn a_licence_is_checked_field_by_field() {
        let ok = parse_licence(&RawLicence {
            kind: Some("business_licence"),
            issuer: Some("随州市市场监督管理局"),
            number: Some("91421300MA49ABCD17"),
            holder: Some("随州市示例商贸有限公司"),
            level: Some("A"),
        })
        .unwrap();
        assert_eq!(ok.level, LicenceLevel::A);
        let errors = parse_licence(&RawLicence {
            kind: Some("design"),
            issuer: Some(""),
            number: Some("x".repeat(61).as_str()),
            holder: None,
            level: Some("E"),
        })
        .unwrap_err();
        let got: Vec<(&str, FieldCode)> =
            errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("kind", FieldCode::UnknownValue),
                ("issuer", FieldCode::Required),
                ("number", FieldCode::TooLong),
                ("holder", FieldCode::Required),
                ("level", FieldCode::UnknownValue),
            ]
        );
    }
}
