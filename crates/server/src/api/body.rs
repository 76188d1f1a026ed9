//! The one reader of JSON request bodies: the media type, the size limit,
//! a JSON object, and the request's `Idempotency-Key` scoped to its caller.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::texts::{self, api as t};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use onestop_store::idempotency::IdempotencyKey;
use serde_json::{Map, Value};

/// A request body that is a JSON object, read within the server's limit.
///
/// A `Content-Type` other than JSON is `415 unsupported_media_type` (none
/// at all is read as JSON); a body over the limit `413 payload_too_large`;
/// one that is not JSON, or not an object, `400 malformed_body`.
pub struct JsonObject {
    pub value: Map<String, Value>,
    bytes: Bytes,
    method: String,
    path: String,
    key: Option<HeaderValue>,
    /// The caller's identity the key is scoped to (two clients may use the
    /// same key text).
    scope: String,
}

/// A text field of a JSON object: absent or `null` is `None`; another type
/// is a field error at `path`.
pub fn text_field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
    errors: &mut Vec<onestop_domain::form::FieldError>,
) -> Option<&'a str> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.push(onestop_domain::form::FieldError::new(
                path,
                onestop_domain::form::FieldCode::InvalidFormat,
                texts::counter::NOT_TEXT,
            ));
            None
        }
    }
}

impl JsonObject {
    /// A top-level text field (see [`text_field`]).
    pub fn text<'a>(
        &'a self,
        name: &str,
        errors: &mut Vec<onestop_domain::form::FieldError>,
    ) -> Option<&'a str> {
        text_field(&self.value, name, name, errors)
    }

    /// A field of the object.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.value.get(name)
    }

    /// The object as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.value)
    }

    /// The request's `Idempotency-Key` (1–200 visible characters), with the
    /// hash of this request to recognise a repeat; `None` without the header.
    pub fn idempotency_key(&self) -> Result<Option<IdempotencyKey>, ApiError> {
        let Some(v) = &self.key else {
            return Ok(None);
        };
        let key = v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.chars().count() <= 200)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    t::IDEMPOTENCY_KEY_INVALID,
                )
            })?;
        Ok(Some(IdempotencyKey {
            scope: self.scope.clone(),
            key: key.to_owned(),
            request_hash: crate::app::applications::request_hash(
                &self.method,
                &self.path,
                &self.bytes,
            ),
        }))
    }
}

/// Whether a `Content-Type` names JSON (`application/json`, or a
/// `+json` type), whatever its parameters.
fn is_json(value: &HeaderValue) -> bool {
    let Ok(v) = value.to_str() else {
        return false;
    };
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|s| s.ends_with("+json"))
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        if let Some(ct) = parts.headers.get(header::CONTENT_TYPE)
            && !is_json(ct)
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                t::NOT_JSON,
            ));
        }
        if declared_length(&parts.headers).is_some_and(|n| n > state.body_limit) {
            return Err(ApiError::too_large(state.body_limit));
        }
        let bytes = crate::middleware::read_body(body, state.body_limit).await?;
        let value = parse_object(&bytes)?;
        let scope = parts
            .extensions
            .get::<Caller>()
            .map(|c| {
                let (kind, who, _) = c.subject.audit_identity();
                format!("api:{kind}:{who}")
            })
            .unwrap_or_else(|| "api:anonymous:".to_owned());
        Ok(Self {
            value,
            bytes,
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            key: parts.headers.get("idempotency-key").cloned(),
            scope,
        })
    }
}

/// Parses a JSON object body; anything else is `400 malformed_body`.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::malformed(texts::fill(
            t::JSON_INVALID,
            &[("line", &e.line()), ("column", &e.column())],
        ))
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::malformed(t::NOT_OBJECT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json(&HeaderValue::from_static(ok)), "{ok}");
        }
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "text/json+xml",
            "",
        ] {
            assert!(!is_json(&HeaderValue::from_static(refused)), "{refused}");
        }
    }

    #[test]
    fn only_objects() {
        assert!(parse_object(br#"{"a": 1}"#).is_ok());
        for bad in [&b"[1]"[..], b"1", b"\"x\"", b"null", b"{", b""] {
            let e = parse_object(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert_eq!(e.code, "malformed_body");
        }
    }
}
