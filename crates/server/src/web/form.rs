//! The one page-form extractor: every page POST is read through [`PageForm`].
//!
//! Bounded decoding, in this order:
//!
//! 1. the form's gate (sign-in, capability), before anything is read;
//! 2. the body, up to the server's body limit (`413` page beyond);
//! 3. the `application/x-www-form-urlencoded` pairs, at most the form's
//!    capacity of them (every declared field once, every repeated field to
//!    its limit, every numbered row filled, and the CSRF token), each key at
//!    most [`MAX_KEY_BYTES`], each value at most its field's limit;
//! 4. each key against the form's declared fields ([`Spec`]): an exact name,
//!    a repeated name (check boxes), or a numbered row
//!    `prefix.{i}.leaf` with `i` below the validator's own limit;
//! 5. the `Origin` and the CSRF token (the CSRF failure page otherwise).
//!
//! A key the form does not declare is never used for anything: handlers
//! see only the declared fields. When something was not recognised (an
//! unknown key, a row beyond the limit, an over-long key or value, too many
//! fields), a small form answers a Chinese `400` page; a form that
//! re-renders what was typed (`/apply`, [`PageFields::KEEPS_PARTIAL`]) is
//! handed the recognised fields with [`Decoded::unrecognised`] set, and says
//! so at the top of the page.

use crate::AppState;
use crate::app::materials::Spooled;
use crate::auth::Caller;
use crate::middleware::read_body;
use crate::web::{Failure, csrf_failed_page, error_page, failure_page};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::marker::PhantomData;

/// Longest key looked at (the longest real one, a gas equipment row's
/// quantity, is 35 bytes).
pub const MAX_KEY_BYTES: usize = 128;
/// Longest value of a field unless the form says otherwise.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;
/// Longest value of a repeated field (codes and ids).
pub const MAX_MANY_VALUE_BYTES: usize = 256;
/// The field every state-changing form carries.
pub const CSRF_FIELD: &str = "csrf_token";

#[derive(Debug, Clone)]
enum Rule {
    /// One value (a repeat is ignored: the first counts).
    One {
        name: Cow<'static, str>,
        max_bytes: usize,
    },
    /// Up to `max_values` values (check boxes, multiple choice).
    Many {
        name: Cow<'static, str>,
        max_values: usize,
    },
    /// `prefix.{i}.leaf` for `i` in `0..rows` (decimal, no leading zeros).
    Rows {
        prefix: &'static str,
        rows: usize,
        leaves: &'static [&'static str],
    },
    /// A file per row, `prefix.{i}.leaf` for `i` in `0..rows`: only in a
    /// `multipart/form-data` body, each bounded by the materials' limits.
    Files {
        prefix: &'static str,
        rows: usize,
        leaf: &'static str,
    },
}

/// A refused form, shown again on its page: which of the page's forms
/// (`decide:<item>`, an action's code, …), the answer's status, its field
/// errors, what was typed and the refusal's message. The default is
/// "nothing refused" (and `200`).
#[derive(Default)]
pub struct Refused {
    pub form: String,
    pub status: StatusCode,
    /// Field → the first message about it.
    pub errors: BTreeMap<String, String>,
    pub typed: HashMap<String, String>,
    pub message: Option<String>,
}

impl Refused {
    /// `form` refused with `e`, `typed` kept to show again.
    pub fn new(form: impl Into<String>, typed: HashMap<String, String>, e: &impl Failure) -> Self {
        Refused {
            form: form.into(),
            status: e.status(),
            errors: errors_of(e),
            typed,
            message: Some(e.message()),
        }
    }

    /// The error beside `field`, when `form` is the one refused.
    pub fn err(&self, form: &str, field: &str) -> Option<&str> {
        (self.form == form)
            .then(|| self.errors.get(field).map(String::as_str))
            .flatten()
    }

    /// What was typed into `field`, when `form` is the one refused (else empty).
    pub fn typed(&self, form: &str, field: &str) -> &str {
        if self.form == form {
            self.typed.get(field).map(String::as_str).unwrap_or("")
        } else {
            ""
        }
    }
}

impl Refused {
    /// `form` refused with `e`, its message naming the action that was not
    /// taken (“退回补正”未办理：请填写退回原因。).
    pub fn of_action(
        form: impl Into<String>,
        action: &str,
        typed: HashMap<String, String>,
        e: &impl Failure,
    ) -> Self {
        let mut r = Refused::new(form, typed, e);
        r.message = Some(action_message(action, e));
        r
    }
}

/// Why `action` was not taken, for people: the one field's problem, or to
/// fix what is marked, or the refusal's own message.
pub fn action_message(action: &str, e: &impl Failure) -> String {
    let fields = e.fields();
    let reason = match fields.as_slice() {
        [] => e.message(),
        [one] => one.message.clone(),
        _ => crate::texts::page::FIX_MARKED.to_owned(),
    };
    crate::texts::fill(
        crate::texts::page::ACTION_REFUSED,
        &[
            ("action", &action),
            ("reason", &reason.trim_end_matches(['。', '.', ' '])),
        ],
    )
}

/// A refused request's field errors, the first message per field (for the
/// forms that show each beside its field).
pub fn errors_of(e: &impl Failure) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for f in &e.fields() {
        errors.entry(f.field.clone()).or_insert(f.message.clone());
    }
    errors
}

/// What was typed into a refused form, to show it again: every field but
/// the CSRF token, each value cut to `max_chars` characters.
pub fn typed_back<'a>(
    fields: impl IntoIterator<Item = (&'a String, &'a String)>,
    max_chars: usize,
) -> HashMap<String, String> {
    fields
        .into_iter()
        .filter(|(k, _)| k.as_str() != CSRF_FIELD)
        .map(|(k, v)| (k.clone(), v.chars().take(max_chars).collect()))
        .collect()
}

/// The fields a form declares.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    rules: Vec<Rule>,
}

impl Spec {
    pub fn new() -> Spec {
        Spec::default()
    }

    /// Single-valued fields, each up to [`MAX_VALUE_BYTES`].
    pub fn fields(mut self, names: &[&'static str]) -> Spec {
        for n in names {
            self.rules.push(Rule::One {
                name: Cow::Borrowed(n),
                max_bytes: MAX_VALUE_BYTES,
            });
        }
        self
    }

    /// One single-valued field whose name comes from configuration.
    pub fn field(mut self, name: impl Into<Cow<'static, str>>) -> Spec {
        self.rules.push(Rule::One {
            name: name.into(),
            max_bytes: MAX_VALUE_BYTES,
        });
        self
    }

    /// One single-valued field of up to `max_bytes` (a pasted file).
    pub fn long(mut self, name: &'static str, max_bytes: usize) -> Spec {
        self.rules.push(Rule::One {
            name: Cow::Borrowed(name),
            max_bytes,
        });
        self
    }

    /// A repeated field (check boxes): up to `max_values` values of up to
    /// [`MAX_MANY_VALUE_BYTES`] each.
    pub fn many(mut self, name: &'static str, max_values: usize) -> Spec {
        self.rules.push(Rule::Many {
            name: Cow::Borrowed(name),
            max_values,
        });
        self
    }

    /// Numbered rows `prefix.{i}.leaf`, `i` in `0..rows`.
    pub fn rows(
        mut self,
        prefix: &'static str,
        rows: usize,
        leaves: &'static [&'static str],
    ) -> Spec {
        self.rules.push(Rule::Rows {
            prefix,
            rows,
            leaves,
        });
        self
    }

    /// A file per row, `prefix.{i}.leaf`, `i` in `0..rows` (a form sent as
    /// `multipart/form-data`).
    pub fn files(mut self, prefix: &'static str, rows: usize, leaf: &'static str) -> Spec {
        self.rules.push(Rule::Files { prefix, rows, leaf });
        self
    }

    /// The most pairs (or parts) a browser sends for this form: every field
    /// once, every repeated field to its limit, every row filled, every file
    /// row, and the token.
    pub fn capacity(&self) -> usize {
        1 + self
            .rules
            .iter()
            .map(|r| match r {
                Rule::One { .. } => 1,
                Rule::Many { max_values, .. } => *max_values,
                Rule::Rows { rows, leaves, .. } => rows * leaves.len(),
                Rule::Files { rows, .. } => *rows,
            })
            .sum::<usize>()
    }

    /// The most file parts the form takes.
    pub fn file_capacity(&self) -> usize {
        self.rules
            .iter()
            .map(|r| match r {
                Rule::Files { rows, .. } => *rows,
                _ => 0,
            })
            .sum()
    }

    /// The rule a text key falls under, with the longest value it takes.
    fn rule_of(&self, key: &str) -> Option<(usize, usize)> {
        self.rules.iter().enumerate().find_map(|(i, r)| match r {
            Rule::One { name, max_bytes } => (name == key).then_some((i, *max_bytes)),
            Rule::Many { name, .. } => (name == key).then_some((i, MAX_MANY_VALUE_BYTES)),
            Rule::Rows {
                prefix,
                rows,
                leaves,
            } => {
                let (row, leaf) = split_row(key, prefix)?;
                (row < *rows && leaves.contains(&leaf)).then_some((i, MAX_VALUE_BYTES))
            }
            Rule::Files { .. } => None,
        })
    }

    /// Whether `key` is one of the form's file rows.
    fn is_file(&self, key: &str) -> bool {
        self.rules.iter().any(|r| match r {
            Rule::Files { prefix, rows, leaf } => {
                split_row(key, prefix).is_some_and(|(row, l)| row < *rows && l == *leaf)
            }
            _ => false,
        })
    }

    /// Decodes a urlencoded body against the declared fields.
    pub fn decode(&self, body: &[u8]) -> Decoded {
        let mut d = Decoder::new(self);
        for (k, v) in form_urlencoded::parse(body) {
            if !d.count() {
                break;
            }
            d.text(&k, &v);
        }
        d.out
    }
}

/// Decoding one form, pair by pair: the bounds and declared fields of
/// [`Spec::decode`], for urlencoded and multipart bodies alike.
struct Decoder<'s> {
    spec: &'s Spec,
    capacity: usize,
    counts: Vec<usize>,
    rows_seen: HashSet<String>,
    seen: usize,
    out: Decoded,
}

impl<'s> Decoder<'s> {
    fn new(spec: &'s Spec) -> Self {
        Decoder {
            spec,
            capacity: spec.capacity(),
            counts: vec![0; spec.rules.len()],
            rows_seen: HashSet::new(),
            seen: 0,
            out: Decoded::default(),
        }
    }

    /// Counts one more pair; `false` once there are more than the form can
    /// send (the rest is not looked at).
    fn count(&mut self) -> bool {
        self.seen += 1;
        if self.seen > self.capacity {
            self.out.unrecognised = true;
            return false;
        }
        true
    }

    /// The longest value `key` takes, `None` when it is not one of the
    /// form's text fields (then flagged).
    fn limit_of(&mut self, key: &str) -> Option<usize> {
        if key.len() > MAX_KEY_BYTES {
            self.out.unrecognised = true;
            return None;
        }
        if key == CSRF_FIELD {
            return Some(MAX_MANY_VALUE_BYTES);
        }
        let found = self.spec.rule_of(key).map(|(_, max)| max);
        if found.is_none() {
            self.out.unrecognised = true;
        }
        found
    }

    /// Takes one text pair.
    fn text(&mut self, k: &str, v: &str) {
        if k.len() > MAX_KEY_BYTES {
            self.out.unrecognised = true;
            return;
        }
        if k == CSRF_FIELD {
            if self.out.csrf.is_none() && v.len() <= MAX_MANY_VALUE_BYTES {
                self.out.csrf = Some(v.to_owned());
            }
            return;
        }
        let Some((rule, max_bytes)) = self.spec.rule_of(k) else {
            self.out.unrecognised = true;
            return;
        };
        if v.len() > max_bytes {
            self.out.unrecognised = true;
            return;
        }
        match &self.spec.rules[rule] {
            Rule::One { .. } => {
                if self.counts[rule] > 0 {
                    return;
                }
            }
            Rule::Many { max_values, .. } => {
                if self.counts[rule] >= *max_values {
                    self.out.unrecognised = true;
                    return;
                }
            }
            Rule::Rows { .. } => {
                if !self.rows_seen.insert(k.to_owned()) {
                    return;
                }
            }
            Rule::Files { .. } => return,
        }
        self.counts[rule] += 1;
        self.out.pairs.push((k.to_owned(), v.to_owned()));
    }
}

/// A file sent with a page form, in one of its file rows.
pub struct FormFile {
    /// The row's field (`material.0.file`).
    pub field: String,
    /// As the sender named it.
    pub file_name: String,
    /// The received file, or why it was refused (too large, empty, of a
    /// type not accepted).
    pub received: Result<Spooled, crate::app::error::Error>,
}

impl std::fmt::Debug for FormFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormFile")
            .field("field", &self.field)
            .field("file_name", &self.file_name)
            .field("received", &self.received.as_ref().map(|s| &s.sha256))
            .finish()
    }
}

/// Whether the request says it is `multipart/form-data`.
fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// The most bytes a multipart form's body may have: its files at the
/// per-file limit, its text fields at theirs, and room for the parts'
/// headers.
fn multipart_limit(spec: &Spec, file_bytes: u64) -> u64 {
    let files = spec.file_capacity() as u64 * (file_bytes + 4096);
    let texts = spec.capacity() as u64 * 1024 + 64 * 1024;
    files + texts.min(1 << 20) + MAX_VALUE_BYTES as u64 * 4
}

/// Reads a `multipart/form-data` form: text parts as [`Spec::decode`]
/// reads pairs (the same bounds), file parts only in the form's file rows,
/// each spooled within the per-file limit and checked by content. The
/// whole body is bounded ([`multipart_limit`]); a file is only received
/// after a valid CSRF token (the form sends it first), so nobody spools
/// anything without a page the server gave them.
async fn decode_multipart(
    spec: &Spec,
    state: &AppState,
    req: Request,
    csrf_ok: impl Fn(Option<&str>) -> bool,
) -> Result<Decoded, Response> {
    let limit = multipart_limit(spec, state.config.materials.limits().file_bytes);
    let (parts, body) = req.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, limit as usize));
    let req = Request::from_parts(parts, limited);
    let mut multipart = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|_| unrecognised_page())?;
    let mut d = Decoder::new(spec);
    let mut files_seen: HashSet<String> = HashSet::new();
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                crate::texts::page::UPLOAD_TOO_LARGE,
            )
        } else {
            unrecognised_page()
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        if !d.count() {
            break;
        }
        let key = field.name().unwrap_or("").to_owned();
        if spec.is_file(&key) {
            if !csrf_ok(d.out.csrf_token()) {
                return Err(csrf_failed_page());
            }
            let file_name: String = field.file_name().unwrap_or("").chars().take(200).collect();
            if !files_seen.insert(key.clone()) {
                d.out.unrecognised = true;
                continue;
            }
            let mut spooler = None;
            let mut refused = None;
            while let Some(chunk) = field.chunk().await.map_err(broken)? {
                if refused.is_some() || chunk.is_empty() {
                    continue;
                }
                if spooler.is_none() {
                    match crate::app::materials::Spooler::start(state) {
                        Ok(s) => spooler = Some(s),
                        Err(e) => {
                            refused = Some(e);
                            continue;
                        }
                    }
                }
                if let Some(s) = spooler.as_mut()
                    && let Err(e) = s.push(&chunk)
                {
                    refused = Some(e);
                    spooler = None;
                }
            }
            let received = match (refused, spooler) {
                (Some(e), _) => Err(e),
                (None, Some(s)) => s.finish(),
                // An empty file input: nothing chosen.
                (None, None) if file_name.is_empty() => continue,
                (None, None) => crate::app::materials::Spooler::start(state)
                    .and_then(crate::app::materials::Spooler::finish),
            };
            d.out.files.push(FormFile {
                field: key,
                file_name,
                received,
            });
            continue;
        }
        let Some(max) = d.limit_of(&key) else {
            continue;
        };
        let mut value = Vec::new();
        let mut too_long = false;
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            if value.len() + chunk.len() > max {
                too_long = true;
                break;
            }
            value.extend_from_slice(&chunk);
        }
        match (too_long, String::from_utf8(value)) {
            (false, Ok(v)) => d.text(&key, &v),
            _ => d.out.unrecognised = true,
        }
    }
    Ok(d.out)
}

/// `prefix.{i}.leaf` → `(i, leaf)`: `i` decimal without leading zeros.
pub fn split_row<'k>(key: &'k str, prefix: &str) -> Option<(usize, &'k str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('.')?;
    let (index, leaf) = rest.split_once('.')?;
    let well_formed = !index.is_empty()
        && index.len() <= 6
        && index.bytes().all(|b| b.is_ascii_digit())
        && (index == "0" || !index.starts_with('0'));
    if !well_formed {
        return None;
    }
    Some((index.parse().ok()?, leaf))
}

/// A decoded form: the declared fields that were sent, in order.
#[derive(Debug, Default)]
pub struct Decoded {
    pairs: Vec<(String, String)>,
    csrf: Option<String>,
    /// The files sent in the form's file rows (a multipart form).
    pub files: Vec<FormFile>,
    /// Something was sent that the form does not declare, or beyond its limits
    /// (and was left out).
    pub unrecognised: bool,
}

impl Decoded {
    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a field, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_owned()
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The fields as a map (each field's first value).
    pub fn map(&self) -> HashMap<String, String> {
        let mut m = HashMap::with_capacity(self.pairs.len());
        for (k, v) in &self.pairs {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        m
    }

    /// The fields, in the order sent (the CSRF token is not among them).
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }

    /// The CSRF token sent with the form.
    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// A page form: its declared fields, its gate, and how it answers content
/// it does not recognise.
pub trait PageFields: Send + Sync + 'static {
    /// The declared fields.
    fn spec(state: &AppState) -> Spec;

    /// An answer for callers who may not use the form at all (sign-in,
    /// capability), given before the body is read; `None` lets them on.
    fn gate(_caller: &Caller, _uri: &Uri) -> Option<Response> {
        None
    }

    /// Whether this caller's form must carry a valid CSRF token (always,
    /// unless a form says otherwise).
    fn needs_csrf(_caller: &Caller) -> bool {
        true
    }

    /// The handler re-renders the form from the recognised fields (and says
    /// that something was not recognised) instead of a `400` page.
    const KEEPS_PARTIAL: bool = false;
}

/// The `400` page for a form with content it does not recognise.
pub fn unrecognised_page() -> Response {
    error_page(StatusCode::BAD_REQUEST, crate::texts::page::UNRECOGNISED)
}

/// A page form read through its [`PageFields`]: the recognised fields, the
/// origin and CSRF token checked.
pub struct PageForm<F> {
    pub form: Decoded,
    _fields: PhantomData<fn() -> F>,
}

impl<F> std::ops::Deref for PageForm<F> {
    type Target = Decoded;
    fn deref(&self) -> &Decoded {
        &self.form
    }
}

impl<F: PageFields> FromRequest<AppState> for PageForm<F> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        if let Some(r) = F::gate(&caller, &parts.uri) {
            return Err(r);
        }
        let spec = F::spec(state);
        let needs_csrf = F::needs_csrf(&caller);
        if needs_csrf && !Caller::origin_ok(&parts.headers) {
            return Err(csrf_failed_page());
        }
        let form = if spec.file_capacity() > 0 && is_multipart(&parts.headers) {
            let req = Request::from_parts(parts, body);
            decode_multipart(&spec, state, req, |t| !needs_csrf || caller.csrf_ok(t)).await?
        } else {
            let bytes = read_body(body, state.body_limit)
                .await
                .map_err(failure_page)?;
            spec.decode(&bytes)
        };
        if needs_csrf && !caller.csrf_ok(form.csrf_token()) {
            return Err(csrf_failed_page());
        }
        if form.unrecognised && !F::KEEPS_PARTIAL {
            return Err(unrecognised_page());
        }
        Ok(PageForm {
            form,
            _fields: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAVES: &[&str] = &["name", "quantity"];

    fn spec() -> Spec {
        Spec::new()
            .fields(&["a", "b.c"])
            .many("services", 3)
            .rows("eq", 200, LEAVES)
    }

    #[test]
    fn declared_fields_pass_and_others_are_flagged() {
        let d = spec().decode(b"a=1&b.c=2&csrf_token=t&eq.0.name=x&eq.199.quantity=3");
        assert!(!d.unrecognised);
        assert_eq!(d.get("a"), Some("1"));
        assert_eq!(d.get("b.c"), Some("2"));
        assert_eq!(d.get("eq.199.quantity"), Some("3"));
        assert_eq!(d.csrf_token(), Some("t"));
        assert!(d.pairs().iter().all(|(k, _)| k != "csrf_token"));

        for bad in [
            "eq.200.name=x",
            "eq.1000000.name=x",
            "eq.-1.name=x",
            "eq.01.name=x",
            "eq.x.name=x",
            "eq.1.colour=x",
            "eq.1.name.deeper=x",
            "a.a=1",
            "c=1",
            "services=a&services=b&services=c&services=d",
        ] {
            let d = spec().decode(bad.as_bytes());
            assert!(d.unrecognised, "{bad}");
            assert!(
                d.pairs()
                    .iter()
                    .all(|(k, _)| k != "c" && !k.contains("colour")),
                "{bad}"
            );
        }
    }

    #[test]
    fn deep_keys_many_fields_and_long_values_cost_nothing() {
        let deep = format!("a{}=1&a=2", ".a".repeat(16_000));
        let d = spec().decode(deep.as_bytes());
        assert!(d.unrecognised);
        assert_eq!(d.get("a"), Some("2"));

        let many: String = (0..100_000).map(|i| format!("a=1&x{i}=2&")).collect();
        let d = spec().decode(many.as_bytes());
        assert!(d.unrecognised);
        assert_eq!(d.pairs().len(), 1);

        let long = format!("a={}", "x".repeat(MAX_VALUE_BYTES + 1));
        let d = spec().decode(long.as_bytes());
        assert!(d.unrecognised);
        assert_eq!(d.get("a"), None);
    }

    #[test]
    fn repeats_keep_the_first_value_and_up_to_the_limit_of_a_repeated_field() {
        let d = spec().decode(b"a=1&a=2&services=w&services=g&eq.0.name=x&eq.0.name=y");
        assert!(!d.unrecognised);
        assert_eq!(d.get("a"), Some("1"));
        assert_eq!(d.all("services"), vec!["w", "g"]);
        assert_eq!(d.all("eq.0.name"), vec!["x"]);
        assert_eq!(spec().capacity(), 1 + 2 + 3 + 400);
    }

    #[test]
    fn row_keys_split_strictly() {
        assert_eq!(split_row("eq.7.name", "eq"), Some((7, "name")));
        assert_eq!(split_row("eq.0.name", "eq"), Some((0, "name")));
        assert_eq!(split_row("eq.007.name", "eq"), None);
        assert_eq!(split_row("eq.+7.name", "eq"), None);
        assert_eq!(split_row("eq.9999999.name", "eq"), None);
        assert_eq!(split_row("eqx.7.name", "eq"), None);
        assert_eq!(split_row("eq.7", "eq"), None);
    }
}
