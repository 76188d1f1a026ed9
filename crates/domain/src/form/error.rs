//! Field errors: what the API reports, per field, when a form is refused.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem with one field of a submitted body.
///
/// Serialised as `{"field": "applicant.uscc", "code": "uscc_checksum", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path into the request body (`services.gas.equipment.0.quantity`);
    /// empty when the body itself is wrong.
    #[cfg_attr(feature = "openapi", schema(example = "applicant.uscc"))]
    pub field: String,
    /// Stable, machine-readable reason.
    pub code: FieldCode,
    /// Chinese, for people: what is wrong and how to fix it.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "统一社会信用代码校验位错误，请核对后重新填写")
    )]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}]: {}",
            self.field,
            self.code.as_str(),
            self.message
        )
    }
}

/// Why a field was refused. The codes are part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    /// A required field is missing, `null` or blank.
    Required,
    /// Wrong JSON type, or a text that does not have the expected shape.
    InvalidFormat,
    /// A unified social credit code whose check character is wrong.
    UsccChecksum,
    /// A number, date, length or count outside what is allowed.
    OutOfRange,
    /// A code that is not one of the allowed or configured values.
    UnknownValue,
    /// A time that should be in the future but is not.
    NotInFuture,
    /// A chosen service without its details.
    ServiceDetailsMissing,
    /// Details for a service that was not chosen.
    UnexpectedServiceDetails,
    /// A text longer than allowed.
    TooLong,
    /// A key the form does not know.
    UnknownField,
    /// A field that is not allowed in this combination (e.g. `hall_id` outside window submissions).
    NotAllowed,
    /// A password that does not satisfy the password rules.
    WeakPassword,
    /// A confirmation or current password that does not match.
    Mismatch,
    /// A unique value (a login name) that is already taken.
    AlreadyExists,
    /// Too early for what it follows: a survey's findings recorded before
    /// the survey's appointment, a connection time before the works ended.
    TooEarly,
    /// A time that should have passed already but has not (a connection
    /// recorded ahead of time).
    InFuture,
    /// A value a policy forbids (a user-paid cost outside the building's
    /// red line: 用户零投资), named in the message.
    PolicyViolation,
}

impl FieldCode {
    pub const ALL: [FieldCode; 17] = [
        FieldCode::Required,
        FieldCode::InvalidFormat,
        FieldCode::UsccChecksum,
        FieldCode::OutOfRange,
        FieldCode::UnknownValue,
        FieldCode::NotInFuture,
        FieldCode::ServiceDetailsMissing,
        FieldCode::UnexpectedServiceDetails,
        FieldCode::TooLong,
        FieldCode::UnknownField,
        FieldCode::NotAllowed,
        FieldCode::WeakPassword,
        FieldCode::Mismatch,
        FieldCode::AlreadyExists,
        FieldCode::TooEarly,
        FieldCode::InFuture,
        FieldCode::PolicyViolation,
    ];

    /// The `snake_case` code, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldCode::Required => "required",
            FieldCode::InvalidFormat => "invalid_format",
            FieldCode::UsccChecksum => "uscc_checksum",
            FieldCode::OutOfRange => "out_of_range",
            FieldCode::UnknownValue => "unknown_value",
            FieldCode::NotInFuture => "not_in_future",
            FieldCode::ServiceDetailsMissing => "service_details_missing",
            FieldCode::UnexpectedServiceDetails => "unexpected_service_details",
            FieldCode::TooLong => "too_long",
            FieldCode::UnknownField => "unknown_field",
            FieldCode::NotAllowed => "not_allowed",
            FieldCode::WeakPassword => "weak_password",
            FieldCode::Mismatch => "mismatch",
            FieldCode::AlreadyExists => "already_exists",
            FieldCode::TooEarly => "too_early",
            FieldCode::InFuture => "in_future",
            FieldCode::PolicyViolation => "policy_violation",
        }
    }
}

impl fmt::Display for FieldCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_str() {
        for code in FieldCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::from(code.as_str()));
            let back: FieldCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn field_error_serialises_with_three_keys() {
        let e = FieldError::new("applicant.uscc", FieldCode::UsccChecksum, "校验位错误");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"field": "applicant.uscc", "code": "uscc_checksum", "message": "校验位错误"})
        );
    }
}
