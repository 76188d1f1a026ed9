//! Request id, one log line per request, security headers, and body reading
//! with a limit.

use crate::error::ApiError;
use crate::texts::requests as r;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request an id (kept from the client when sane), logs one line
/// when it is answered, and sets the security headers.
pub async fn request_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "{:x}-{:x}",
                std::process::id(),
                REQUEST_SEQ.fetch_add(1, Ordering::Relaxed)
            )
        });
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The position only where the 15-minute circle asks for it.
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(if path == "/halls/nearby" {
            "camera=(), microphone=(), geolocation=(self), payment=()"
        } else {
            "camera=(), microphone=(), geolocation=(), payment=()"
        }),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    // API answers carry personal data: never kept by a cache.
    if path.starts_with("/api/") {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ));
    tracing::info!(
        request_id = %id,
        %method,
        path = %path,
        status = res.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    res
}

/// Reads a request body up to `limit` bytes; a larger one is a clean `413`.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // The only failures are the limit and a broken connection.
        let mut too_large = false;
        let mut cause: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = cause {
            too_large |= c.to_string().contains("length limit");
            cause = c.source();
        }
        if too_large {
            ApiError::too_large(limit)
        } else {
            ApiError::malformed(r::BODY_UNREADABLE)
        }
    })
}

/// How the pages answer a failure: given by the router, so that the layers
/// shared by the API and the pages need not know the pages.
#[derive(Clone, Copy)]
pub struct ErrorPages {
    pub error: fn(axum::http::StatusCode, &str) -> Response,
    pub not_found: fn() -> Response,
}

/// Paths answered as API (JSON errors) rather than as pages.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/readyz"
}

/// The framework's own rejections in the house style. A path or query that
/// does not parse into its extractor, a method the route does not take, an
/// unsupported content type or a body an extractor refuses come out of axum
/// as plain text (or nothing); here, in one place, they become the API error
/// body under `/api/` (stable codes: `malformed_path`, `malformed_query`,
/// `malformed_body`, `method_not_allowed`, `unsupported_media_type`,
/// `payload_too_large`, `not_found`, `bad_request`) and the Chinese error
/// page elsewhere. Answers of our own are never plain text, so they pass.
pub async fn framework_rejections(pages: ErrorPages, req: Request, next: Next) -> Response {
    let api = is_api_path(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    // The framework's texts are one line; nothing longer is looked at.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let (code, message) = classify_rejection(status, &String::from_utf8_lossy(&text));
    let mut out = if api {
        ApiError::new(status, code, message).into_response()
    } else if status == axum::http::StatusCode::NOT_FOUND {
        (pages.not_found)()
    } else {
        (pages.error)(status, message)
    };
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// A rejection's stable code and Chinese message, from its status and the
/// framework's text.
fn classify_rejection(status: axum::http::StatusCode, text: &str) -> (&'static str, &'static str) {
    use axum::http::StatusCode as S;
    match status {
        S::METHOD_NOT_ALLOWED => ("method_not_allowed", r::METHOD_NOT_ALLOWED),
        S::NOT_FOUND => ("not_found", r::NOT_FOUND),
        S::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", r::UNSUPPORTED_MEDIA_TYPE),
        S::PAYLOAD_TOO_LARGE => ("payload_too_large", r::PAYLOAD_TOO_LARGE),
        s if s.is_server_error() => ("internal_error", r::INTERNAL_ERROR),
        _ if text.starts_with("Invalid URL")
            || text.contains("path argument")
            || text.starts_with("Invalid UTF-8 in `") =>
        {
            ("malformed_path", r::MALFORMED_PATH)
        }
        _ if text.starts_with("Failed to deserialize query string") => {
            ("malformed_query", r::MALFORMED_QUERY)
        }
        _ if text.starts_with("Failed to parse the request body as JSON")
            || text.starts_with("Failed to deserialize the JSON body")
            || text.starts_with("Failed to deserialize form")
            || text.starts_with("Failed to buffer the request body")
            || text.starts_with("Request body didn't contain valid UTF-8") =>
        {
            ("malformed_body", r::MALFORMED_BODY)
        }
        _ => ("bad_request", r::BAD_REQUEST),
    }
}
