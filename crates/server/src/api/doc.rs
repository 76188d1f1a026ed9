//! What the OpenAPI document says about every operation alike: how a
//! caller authenticates (an API key, or a session whose writes carry
//! `X-CSRF-Token`), and the refusals every operation of a kind can answer
//! (`401`, `403`, and `400`/`413` where a body, a query or a path is read).
//! Written once here, from what the extractors and the framework layer do,
//! rather than repeated (and forgotten) on each handler.

use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, Required, ResponseBuilder};

/// The `Idempotency-Key` header of the writes that take one.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// Repeat-safe key: the same key with the same body answers the first
    /// answer again (`Idempotent-Replayed: true`); with another body,
    /// `409 idempotency_conflict`. Visible characters, trimmed.
    #[param(
        rename = "Idempotency-Key",
        value_type = String,
        required = false,
        min_length = 1,
        max_length = 200
    )]
    #[serde(rename = "Idempotency-Key")]
    pub idempotency_key: Option<String>,
}

/// The security schemes: `api_key` (`Authorization: Bearer osk_…`),
/// `session` (the browser's cookie) and `csrf` (the session's token, sent
/// with every write made with a session).
pub struct Security;

/// The schemes' names in the document.
pub const API_KEY: &str = "api_key";
pub const SESSION: &str = "session";
pub const CSRF: &str = "csrf";

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key created by an administrator (`onestop apikey create`), \
                         scoped: applications:read, applications:write, \
                         workorders:read:<unit>, workorders:write:<unit>, approvals:write:<department>",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "A signed-in browser session (set by the sign-in page `/login`). \
                 Writes made with a session must also send the session's CSRF token \
                 in `X-CSRF-Token` (the `csrf` scheme); without it they are `403 csrf_failed`.",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (the `csrf_token` of the signed-in pages' forms); \
                 required, together with the session cookie, on every request that is not \
                 GET, HEAD or OPTIONS. Not used with an API key.",
            ))),
        );
    }
}

/// Security and common refusals on every operation (see the module's text).
pub struct Conventions;

/// Operations open to everyone.
const OPEN: [&str; 2] = ["/healthz", "/readyz"];
/// Public reads (no credentials): the shared service halls' directory and
/// the 15-minute circle.
pub const PUBLIC_GET: [&str; 4] = [
    "/api/v1/halls",
    "/api/v1/halls/{hall}",
    "/api/v1/halls/nearby",
    "/api/v1/documents/{number}/verification",
];

impl utoipa::Modify for Conventions {
    fn modify(&self, doc: &mut OpenApi) {
        doc.security = Some(vec![
            SecurityRequirement::new(API_KEY, Vec::<String>::new()),
            SecurityRequirement::new(SESSION, Vec::<String>::new()),
        ]);
        for (path, item) in doc.paths.paths.iter_mut() {
            let open = OPEN.contains(&path.as_str());
            let ops = [
                (false, item.get.as_mut()),
                (true, item.put.as_mut()),
                (true, item.post.as_mut()),
                (true, item.delete.as_mut()),
                (true, item.patch.as_mut()),
            ];
            let public_get = PUBLIC_GET.contains(&path.as_str());
            for (write, op) in ops {
                if let Some(op) = op {
                    if open || (public_get && !write) {
                        op.security = Some(Vec::new());
                    } else {
                        secure(op, write);
                        refusals(op, write);
                    }
                    empty_means_absent(op);
                }
            }
        }
    }
}

fn requirement(names: &[&str]) -> SecurityRequirement {
    let mut names = names.iter();
    let first = names.next().copied().unwrap_or(API_KEY);
    names.fold(
        SecurityRequirement::new(first, Vec::<String>::new()),
        |r, n| r.add(*n, Vec::<String>::new()),
    )
}

/// Who may call: an API key or a session (with the CSRF token on writes);
/// an operation that declares `session` alone is for signed-in accounts only.
fn secure(op: &mut Operation, write: bool) {
    let session_only = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().all(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.keys().all(|k| k == SESSION)))
                .unwrap_or(false)
        })
    });
    let session: &[&str] = if write { &[SESSION, CSRF] } else { &[SESSION] };
    op.security = Some(if session_only {
        vec![requirement(session)]
    } else {
        vec![requirement(&[API_KEY]), requirement(session)]
    });
}

fn has_param(op: &Operation, place: ParameterIn) -> bool {
    op.parameters
        .iter()
        .flatten()
        .any(|p: &Parameter| p.parameter_in == place)
}

fn has_header(op: &Operation, name: &str) -> bool {
    op.parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name))
}

/// Adds the refusals this kind of operation can answer, unless the
/// operation already describes that status.
fn refusals(op: &mut Operation, write: bool) {
    let mut bad_request = Vec::new();
    if op.request_body.is_some() {
        bad_request.push("`malformed_body` (the body is not JSON, or not a JSON object)");
    }
    if has_header(op, "Idempotency-Key") {
        bad_request.push("`invalid_idempotency_key` (blank, or longer than 200 characters)");
    }
    if has_param(op, ParameterIn::Query) {
        bad_request.push("`malformed_query` (a parameter given twice, or not UTF-8)");
    }
    if has_param(op, ParameterIn::Path) {
        bad_request.push("`malformed_path` (a path segment that is not UTF-8)");
    }
    if !bad_request.is_empty() {
        add(op, "400", &bad_request.join("; "));
    }
    add(
        op,
        "401",
        "`unauthenticated`: no credentials, a malformed `Authorization` header, a key \
         revoked or unknown, or a session that has ended",
    );
    add(
        op,
        "403",
        if write {
            "`forbidden` (the caller may not do this), `password_change_required` (an account \
             that must first change its password), `csrf_failed` (a session's write without \
             its `X-CSRF-Token`)"
        } else {
            "`forbidden` (the caller may not do this), `password_change_required` (an account \
             that must first change its password)"
        },
    );
    if has_header(op, "Idempotency-Key") {
        add(
            op,
            "409",
            "`idempotency_conflict`: the key was used before with another request",
        );
    }
    if op.request_body.is_some() {
        add(
            op,
            "413",
            "`payload_too_large`: the body is larger than the server's limit",
        );
        add(
            op,
            "415",
            "`unsupported_media_type`: a `Content-Type` other than JSON (none is read as JSON)",
        );
        add(
            op,
            "422",
            "`validation_failed`: `fields` names each field of the body that is refused",
        );
    }
    if op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Path && p.name == "id")
    {
        add(
            op,
            "404",
            "`not_found`: no such record, or one the caller may not see",
        );
    }
    if has_param(op, ParameterIn::Query) {
        add(
            op,
            "422",
            "`validation_failed`: `fields` names each query parameter that is refused",
        );
    }
    add(
        op,
        "503",
        "`shutting_down`: the server is stopping; retry on another or later",
    );
}

fn add(op: &mut Operation, status: &str, description: &str) {
    if op.responses.responses.contains_key(status) {
        return;
    }
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    op.responses
        .responses
        .insert(status.to_owned(), response.into());
}

/// Every optional query parameter may be sent empty (`?status=`): the
/// server takes an empty value as absent.
fn empty_means_absent(op: &mut Operation) {
    for p in op.parameters.iter_mut().flatten() {
        if p.parameter_in == ParameterIn::Query && p.required == Required::False {
            p.extensions
                .get_or_insert_with(Default::default)
                .insert("allowEmptyValue".to_owned(), serde_json::Value::Bool(true));
        }
    }
}

/// Fills the city's process definition into the action bodies: the action
/// codes `WorkOrderAction` and `BatchAction` take, the data fields each
/// action carries (by the kind the process checks them as), and the fields
/// of `cancel` in `CancelRequest`. The same definition plans every action,
/// so the document cannot promise other fields than the server reads.
pub fn for_city(doc: &mut OpenApi, config: &onestop_domain::config::CityConfig) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let process = &config.process;
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let codes: Vec<&str> = process.actions.iter().map(|a| a.code.as_str()).collect();
    // Each data field once, with the actions that take it.
    let mut fields: Vec<(&onestop_domain::workflow::FieldDef, Vec<&str>)> = Vec::new();
    for a in &process.actions {
        for f in &a.fields {
            match fields.iter_mut().find(|(g, _)| g.name == f.name) {
                Some((_, takers)) => takers.push(&a.code),
                None => fields.push((f, vec![&a.code])),
            }
        }
    }
    for name in ["WorkOrderAction", "BatchAction"] {
        let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(name) else {
            continue;
        };
        if let Some(RefOr::T(Schema::Object(action))) = body.properties.get_mut("action") {
            action.enum_values = Some(codes.iter().map(|c| (*c).into()).collect());
        }
        for (f, takers) in &fields {
            let note = format!(
                "{}: data of {} (required by {}){}",
                f.label,
                takers
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                required_by(process, &f.name),
                clock_rule(&f.name),
            );
            body.properties
                .insert(f.name.clone(), field_schema(f.kind, &note).into());
        }
    }
    if let (Some(RefOr::T(Schema::Object(body))), Some(cancel)) = (
        components.schemas.get_mut("CancelRequest"),
        process.action("cancel"),
    ) {
        for f in &cancel.fields {
            body.properties
                .insert(f.name.clone(), field_schema(f.kind, &f.label).into());
            if f.required {
                body.required.push(f.name.clone());
            }
        }
    }
}

/// What the clock asks of a field (`onestop_domain::plausible`), for its
/// description.
fn clock_rule(name: &str) -> &'static str {
    if name == onestop_domain::plausible::CONNECTED_AT {
        ". Not before the order entered the connection stage (construction \
         completed, or no external works found), not after now, to the minute: \
         `too_early`, `in_future`"
    } else {
        ""
    }
}

/// The actions that require field `name`, for its description.
fn required_by(process: &onestop_domain::workflow::ProcessConfig, name: &str) -> String {
    let codes: Vec<String> = process
        .actions
        .iter()
        .filter(|a| a.fields.iter().any(|f| f.name == name && f.required))
        .map(|a| format!("`{}`", a.code))
        .collect();
    if codes.is_empty() {
        "none".into()
    } else {
        codes.join(", ")
    }
}

/// The schema of one data field of an action, by the kind the process
/// checks it as (`onestop_domain::workflow`).
pub fn field_schema(
    kind: onestop_domain::workflow::FieldKind,
    description: &str,
) -> utoipa::openapi::schema::Object {
    use onestop_domain::workflow::{self as wf, FieldKind};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let b = ObjectBuilder::new().description(Some(description));
    match kind {
        FieldKind::Text => b
            .schema_type(Type::String)
            .min_length(Some(onestop_domain::text::TextKind::Note.min()))
            .max_length(Some(onestop_domain::text::TextKind::Note.max())),
        FieldKind::Number => b
            .schema_type(Type::Number)
            .minimum(Some(0.0))
            .maximum(Some(wf::MAX_FIELD_NUMBER)),
        FieldKind::Datetime => b
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        FieldKind::Object => b
            .schema_type(Type::Object)
            .max_properties(Some(wf::MAX_FIELD_OBJECT_KEYS)),
    }
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiDoc;
    use onestop_domain::text::TextKind;
    use serde_json::Value;
    use utoipa::OpenApi as _;

    fn document() -> Value {
        let mut doc = ApiDoc::openapi();
        for_city(
            &mut doc,
            &onestop_domain::config::CityConfig::default_city(),
        );
        serde_json::to_value(doc).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    /// Every operation but the health checks names who may call it and
    /// the refusals of its kind.
    #[test]
    fn every_operation_declares_security_and_refusals() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            let what = format!("{method} {path}");
            if OPEN.contains(&path.as_str())
                || (method == "get" && PUBLIC_GET.contains(&path.as_str()))
            {
                assert_eq!(op["security"], serde_json::json!([]), "{what}");
                continue;
            }
            let security = op["security"].as_array().expect(&what);
            let write = method != "get";
            for r in security {
                let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
                if keys.contains(&SESSION) {
                    assert_eq!(keys.contains(&CSRF), write, "{what}: {keys:?}");
                } else {
                    assert_eq!(keys, [API_KEY], "{what}");
                }
            }
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "403", "503"] {
                assert!(responses.contains_key(status), "{what}: {status}");
            }
            if path.contains("{id}") {
                assert!(responses.contains_key("404"), "{what}: 404");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{what}: {status}");
                }
                // JSON, or a multipart upload (materials).
                let content = &op["requestBody"]["content"];
                let body = content
                    .get("application/json")
                    .or_else(|| content.get("multipart/form-data"))
                    .map(|c| c["schema"].to_string())
                    .unwrap_or_default();
                assert!(
                    body.contains("$ref"),
                    "{what}: a named body schema, not {body}"
                );
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        r["content"]["application/json"]["schema"]["$ref"]
                            .as_str()
                            .is_some_and(|s| s.ends_with("/ErrorBody")),
                        "{what} {status}: the error body"
                    );
                }
            }
        }
    }

    /// Operations the API keys cannot use are described for sessions only.
    #[test]
    fn session_only_operations() {
        let doc = document();
        let session_only = [
            ("get", "/api/v1/notifications"),
            ("post", "/api/v1/notifications/read"),
            ("get", "/api/v1/account/notification-settings"),
            ("put", "/api/v1/account/notification-settings"),
            ("get", "/api/v1/board"),
            ("post", "/api/v1/work-orders/{id}/reminders"),
            ("get", "/api/v1/halls/coverage"),
            ("post", "/api/v1/halls"),
            ("put", "/api/v1/halls/{hall}"),
            ("post", "/api/v1/consultations"),
            ("get", "/api/v1/consultations"),
            ("get", "/api/v1/consultations/{id}"),
            ("post", "/api/v1/halls/{hall}/tickets"),
            ("get", "/api/v1/halls/{hall}/queue"),
            ("post", "/api/v1/halls/{hall}/queue/call"),
            ("post", "/api/v1/tickets/{id}/finish"),
            ("get", "/api/v1/billing/accounts"),
            ("get", "/api/v1/billing/accounts/{unit}/{account_no}/bills"),
            ("get", "/api/v1/billing/payments"),
            ("post", "/api/v1/billing/payments"),
            ("get", "/api/v1/billing/payments/{id}"),
            ("get", "/api/v1/billing/reconciliations"),
            ("post", "/api/v1/billing/reconciliations"),
            ("get", "/api/v1/billing/reconciliations/{id}"),
        ];
        for (method, path, op) in operations(&doc) {
            let only = session_only.contains(&(method.as_str(), path.as_str()));
            let with_key = op["security"].to_string().contains(API_KEY);
            let public = method == "get" && PUBLIC_GET.contains(&path.as_str());
            if public {
                assert_eq!(
                    op["security"],
                    serde_json::json!([]),
                    "{method} {path} is public"
                );
            } else if !OPEN.contains(&path.as_str()) {
                assert_eq!(with_key, !only, "{method} {path}");
            }
        }
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes[SESSION]["in"], "cookie");
        assert_eq!(schemes[SESSION]["name"], crate::auth::SESSION_COOKIE);
        assert_eq!(schemes[CSRF]["in"], "header");
        assert!(
            schemes[CSRF]["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(crate::auth::CSRF_HEADER)
        );
    }

    /// The text fields of every body have the lengths of the one text
    /// table, for each kind the server cleans them as.
    #[test]
    fn text_lengths_follow_the_table() {
        let doc = document();
        let kinds = [
            TextKind::EnterpriseName,
            TextKind::PersonName,
            TextKind::Address,
            TextKind::EquipmentName,
            TextKind::Pressure,
            TextKind::DisplayName,
            TextKind::KeyName,
            TextKind::Place,
            TextKind::UnitName,
            TextKind::HallName,
            TextKind::Note,
            TextKind::ShortNote,
            TextKind::Opinion,
            TextKind::Topic,
            TextKind::FileName,
            TextKind::LicenceNumber,
            TextKind::CostItem,
            TextKind::DocumentRef,
        ];
        let mut checked = 0;
        for kind in kinds {
            // (schema, property) read as text of this kind.
            let fields: &[(&str, &str)] = match kind {
                TextKind::EnterpriseName => &[("ApplicantInput", "name")],
                TextKind::PersonName => {
                    &[("ContactInput", "name"), ("CommitmentInput", "signed_by")]
                }
                TextKind::Address => &[("AddressInput", "detail"), ("HallRequest", "address")],
                TextKind::HallName => &[("HallRequest", "name")],
                TextKind::EquipmentName => &[("GasEquipmentInput", "name")],
                TextKind::Pressure => &[("GasEquipmentInput", "pressure")],
                // Accounts and keys are named on the pages and the command line only.
                TextKind::DisplayName | TextKind::KeyName => &[],
                TextKind::Place => &[("CaseRequest", "place"), ("ResubmissionRequest", "place")],
                TextKind::UnitName => &[("CommitmentInput", "unit"), ("CustomerInput", "name")],
                TextKind::Note => &[
                    ("ResubmissionRequest", "note"),
                    ("WorkOrderAction", "reason"),
                    ("WorkOrderAction", "route"),
                    ("BatchAction", "reason"),
                    ("CancelRequest", "reason"),
                    ("ConsultationRequest", "answer"),
                    ("ResponseRequest", "response"),
                    ("FeeExceptionRequest", "reason"),
                ],
                TextKind::ShortNote => &[
                    ("ReminderRequest", "note"),
                    ("AcknowledgementRequest", "reply"),
                    ("RatingRequestBody", "comment"),
                ],
                TextKind::Opinion => &[("DecisionRequest", "opinion")],
                TextKind::Topic => &[("ConsultationRequest", "topic")],
                TextKind::CostItem => &[("CostRequest", "item")],
                TextKind::DocumentRef => &[("FeeExceptionRequest", "document")],
                // Taken from the upload's part headers, not a JSON body.
                TextKind::FileName => &[],
                TextKind::LicenceNumber => &[("LicenceRequest", "number")],
            };
            for (name, field) in fields {
                let p = &schema(&doc, name)["properties"][field];
                let (min, max) = kind.limits();
                assert_eq!(p["minLength"], min, "{name}.{field} as {kind:?}: {p}");
                assert_eq!(p["maxLength"], max, "{name}.{field} as {kind:?}: {p}");
                checked += 1;
            }
        }
        assert_eq!(checked, 28);
    }

    /// The window's bodies carry the rules' own bounds: the services a
    /// consultation names, a customer's numbers, a counter's number.
    #[test]
    fn the_windows_bounds_are_the_rules() {
        use onestop_domain::counter as c;
        let doc = document();
        let k = schema(&doc, "ConsultationRequest");
        assert_eq!(k["properties"]["services"]["maxItems"], c::MAX_SERVICES);
        let who = schema(&doc, "CustomerInput");
        assert_eq!(
            who["properties"]["account_number"]["maxLength"],
            c::MAX_ACCOUNT_NUMBER
        );
        assert_eq!(
            who["properties"]["application_number"]["maxLength"],
            c::MAX_APPLICATION_NUMBER
        );
        let call = schema(&doc, "CallRequest");
        assert_eq!(call["properties"]["counter"]["maximum"], c::MAX_COUNTER);
        let level = schema(&doc, "RatingLevel");
        let codes: Vec<&str> = c::RatingLevel::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(level["enum"], serde_json::json!(codes));
    }

    /// Query parameters are typed as their parsers read them.
    #[test]
    fn query_parameters_are_typed_as_parsed() {
        use onestop_domain::application::{ApplicationStatus, Level, OrderStatus, Stage};
        let doc = document();
        let param = |path: &str, name: &str| -> Value {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let p = params.iter().find(|p| p["name"] == name).unwrap().clone();
            let s = &p["schema"];
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => schema(&doc, r.rsplit('/').next().unwrap()).clone(),
                None => s.clone(),
            }
        };
        let codes = |all: Vec<&str>| serde_json::json!(all);
        assert_eq!(
            param("/api/v1/applications", "status")["enum"],
            codes(ApplicationStatus::ALL.iter().map(|s| s.as_str()).collect())
        );
        assert_eq!(
            param("/api/v1/work-orders", "stage")["enum"],
            codes(Stage::ALL.iter().map(|s| s.as_str()).collect())
        );
        assert_eq!(
            param("/api/v1/work-orders", "status")["enum"],
            codes(OrderStatus::ALL.iter().map(|s| s.as_str()).collect())
        );
        assert_eq!(
            param("/api/v1/work-orders", "level")["enum"],
            codes(Level::ALL.iter().map(|s| s.as_str()).collect())
        );
        for sort in param("/api/v1/work-orders", "sort")["enum"]
            .as_array()
            .unwrap()
        {
            let sort = sort.as_str().unwrap();
            assert!(
                onestop_store::work_orders::OrderSort::parse(sort).is_some(),
                "{sort}"
            );
        }
        for path in [
            "/api/v1/applications",
            "/api/v1/work-orders",
            "/api/v1/approval-items",
            "/api/v1/notifications",
        ] {
            let page = param(path, "page");
            assert_eq!(page["type"], "integer", "{path}");
            assert_eq!(page["minimum"], 1, "{path}");
            assert_eq!(page["maximum"], onestop_store::paging::MAX_PAGE, "{path}");
            let cursor = param(path, "cursor");
            assert_eq!(
                cursor["maxLength"],
                onestop_store::paging::MAX_CURSOR_LEN,
                "{path}"
            );
            if path != "/api/v1/notifications" {
                let per_page = param(path, "per_page");
                assert_eq!(
                    per_page["maximum"],
                    onestop_store::paging::MAX_PER_PAGE,
                    "{path}"
                );
            }
        }
        // Required where the handler refuses their absence.
        let deadline = doc["paths"]["/api/v1/calendar/deadline"]["get"]["parameters"]
            .as_array()
            .unwrap();
        for p in deadline {
            assert_eq!(p["required"], true, "{p}");
        }
        // Every optional query parameter may be empty (taken as absent).
        for (_, path, op) in operations(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" && p["required"] == false {
                    assert_eq!(p["allowEmptyValue"], true, "{path} {p}");
                }
            }
        }
    }

    /// The action bodies list the codes and data fields of the process
    /// definition the server plans with.
    #[test]
    fn action_bodies_follow_the_process_definition() {
        let doc = document();
        let config = onestop_domain::config::CityConfig::default_city();
        let action = schema(&doc, "WorkOrderAction");
        let codes: Vec<&str> = config
            .process
            .actions
            .iter()
            .map(|a| a.code.as_str())
            .collect();
        assert_eq!(
            action["properties"]["action"]["enum"],
            serde_json::json!(codes)
        );
        for a in &config.process.actions {
            for f in &a.fields {
                assert!(action["properties"].get(&f.name).is_some(), "{}", f.name);
            }
        }
        assert_eq!(
            action["properties"]["external_works_m"]["maximum"],
            onestop_domain::workflow::MAX_FIELD_NUMBER
        );
        assert_eq!(action["properties"]["connected_at"]["format"], "date-time");
        let rule = action["properties"]["connected_at"]["description"].to_string();
        assert!(rule.contains("`too_early`, `in_future`"), "{rule}");
        // The clock's records and the moved appointment are described.
        assert!(action["description"].to_string().contains("too_early"));
        let order = schema(&doc, "WorkOrder");
        assert!(
            order["properties"]["works_start_unknown"].is_object(),
            "{order}"
        );
        let moved = &doc["paths"]["/api/v1/applications/{id}/appointment"]["post"];
        assert!(moved["requestBody"].is_object(), "{moved}");
        assert!(moved["responses"]["409"].is_object(), "{moved}");
        let codes = schema(&doc, "FieldCode").to_string();
        assert!(
            codes.contains("too_early") && codes.contains("in_future"),
            "{codes}"
        );
        let cancel = schema(&doc, "CancelRequest");
        assert_eq!(cancel["required"], serde_json::json!(["reason"]));
        let batch = schema(&doc, "BatchRequest");
        assert_eq!(
            batch["properties"]["actions"]["maxItems"],
            crate::app::workorders::MAX_BATCH_ACTIONS
        );
    }
}
