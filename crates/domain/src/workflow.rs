//! The connection process as data (附1): the stages a work order passes, the
//! actions that move it, who may take them, which data they need and which
//! limit each stage runs against. The city's configuration holds it
//! (`[[process.stages]]`, `[[process.actions]]`); [`ProcessConfig::check`]
//! refuses an inconsistent definition at start-up, and [`ProcessConfig::plan`]
//! decides every transition — the API, the pages and the flowchart all read
//! the same definition.

use crate::access::Role;
use crate::application::{OrderStatus, Stage};
use crate::config::Limits;
use crate::form::{FieldCode, FieldError};
use crate::text::TextKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessConfig {
    pub stages: Vec<StageDef>,
    pub actions: Vec<ActionDef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    /// A stage code (`acceptance`, `survey`, …).
    pub code: String,
    /// The name of the limit in `[limits]` this stage runs against
    /// (`acceptance_days`, …); none only for the terminal stage.
    #[serde(default)]
    pub limit: Option<String>,
    /// Orders end here.
    #[serde(default)]
    pub terminal: bool,
}

/// Where an action leaves the order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    /// Stable code (`accept`, `record_survey`, …) used by the API.
    pub code: String,
    /// Chinese label for buttons and the flowchart.
    pub label: String,
    /// The stages it may be taken in.
    pub from: Vec<String>,
    /// The order statuses it may be taken in (default: `open`).
    #[serde(default = "default_when_status")]
    pub when_status: Vec<String>,
    /// The next stage; absent: the order stays in its stage.
    #[serde(default)]
    pub to: Option<String>,
    /// When the action carries the external works' length, the next stage
    /// follows from it (`none`, below the threshold, at or above it);
    /// without a length, `to` applies.
    #[serde(default)]
    pub route_by_external_works: Option<ExternalWorksRoutes>,
    /// The order status after it (default: unchanged).
    #[serde(default)]
    pub status: Option<String>,
    /// Roles that may take it (`operator`, `applicant`, `clerk`, `admin`,
    /// `system` for the platform itself).
    pub roles: Vec<String>,
    /// Data it carries.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Waiting for the applicant: the clock stops.
    #[serde(default)]
    pub suspends: bool,
    /// The applicant answered: the clock runs again.
    #[serde(default)]
    pub resumes: bool,
    /// Facts the order's application must have for the action to be
    /// offered (see [`FACTS`]), e.g. `project_code`.
    #[serde(default)]
    pub requires: Vec<String>,
}

/// The application carries a project code (its project is registered with
/// the investment project approval platform).
pub const FACT_PROJECT_CODE: &str = "project_code";

/// The application is linked to its project's pre-registration (一口登记)
/// and the order's unit recorded a network plan that covers the joint
/// survey (管网预布局): the survey was done ahead.
pub const FACT_SURVEY_PLANNED: &str = "survey_planned";

/// As [`FACT_SURVEY_PLANNED`], for a plan that covers the design.
pub const FACT_DESIGN_PLANNED: &str = "design_planned";

/// Every fact an action may require.
pub const FACTS: [&str; 3] = [FACT_PROJECT_CODE, FACT_SURVEY_PLANNED, FACT_DESIGN_PLANNED];

fn default_when_status() -> Vec<String> {
    vec![OrderStatus::Open.as_str().to_owned()]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalWorksRoutes {
    pub none: String,
    pub below_threshold: String,
    pub at_or_above_threshold: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    /// A number ≥ 0.
    Number,
    /// An RFC 3339 instant.
    Datetime,
    /// A JSON object (e.g. meter and line data).
    Object,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Chinese label.
    pub label: String,
}

/// Roles in the process besides the account roles: the platform itself.
pub const SYSTEM_ROLE: &str = "system";

impl ProcessConfig {
    fn stage(&self, code: &str) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.code == code)
    }

    pub fn action(&self, code: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.code == code)
    }

    /// Every problem with the definition, in English for the operator who
    /// wrote it (the server refuses to start and prints them).
    pub fn check(&self, limits: &Limits) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        for s in &self.stages {
            if Stage::parse(&s.code).is_none() {
                problems.push(format!(
                    "process: stage {} is not one of {}",
                    s.code,
                    Stage::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !seen.insert(s.code.as_str()) {
                problems.push(format!("process: stage {} is listed twice", s.code));
            }
            match (&s.limit, s.terminal) {
                (None, false) => problems.push(format!(
                    "process: stage {} has no limit (name one of [limits], e.g. limit = \"survey_days\")",
                    s.code
                )),
                (Some(l), _) if limits.days(l).is_none() => problems.push(format!(
                    "process: stage {} names limit {l}, which [limits] does not have",
                    s.code
                )),
                _ => {}
            }
        }
        if self.stage(Stage::Acceptance.as_str()).is_none() {
            problems.push("process: the first stage, acceptance, is missing".into());
        }
        if !self.stages.iter().any(|s| s.terminal) {
            problems.push("process: no terminal stage".into());
        }
        let mut codes = HashSet::new();
        for a in &self.actions {
            if !codes.insert(a.code.as_str()) {
                problems.push(format!("process: action {} is listed twice", a.code));
            }
            if a.roles.is_empty() {
                problems.push(format!(
                    "process: action {} has no role that may take it",
                    a.code
                ));
            }
            for r in &a.roles {
                if r != SYSTEM_ROLE && Role::parse(r).is_none() {
                    problems.push(format!("process: action {} names unknown role {r}", a.code));
                }
            }
            for f in &a.requires {
                if !FACTS.contains(&f.as_str()) {
                    problems.push(format!(
                        "process: action {} requires unknown fact {f} (known: {})",
                        a.code,
                        FACTS.join(", ")
                    ));
                }
            }
            if a.from.is_empty() {
                problems.push(format!(
                    "process: action {} has no stage to start from",
                    a.code
                ));
            }
            for f in &a.from {
                match self.stage(f) {
                    None => problems.push(format!(
                        "process: action {} starts from unknown stage {f}",
                        a.code
                    )),
                    Some(s) if s.terminal => problems.push(format!(
                        "process: action {} starts from the terminal stage {f}",
                        a.code
                    )),
                    _ => {}
                }
            }
            for st in &a.when_status {
                if OrderStatus::parse(st).is_none() {
                    problems.push(format!(
                        "process: action {} names unknown status {st}",
                        a.code
                    ));
                }
            }
            if let Some(st) = &a.status
                && OrderStatus::parse(st).is_none()
            {
                problems.push(format!(
                    "process: action {} sets unknown status {st}",
                    a.code
                ));
            }
            for t in a.targets() {
                if self.stage(t).is_none() {
                    problems.push(format!(
                        "process: action {} leads to unknown stage {t}",
                        a.code
                    ));
                }
            }
            if a.route_by_external_works.is_some()
                && !a.fields.iter().any(|f| f.name == "external_works_m")
            {
                problems.push(format!(
                    "process: action {} routes by external works but has no external_works_m field",
                    a.code
                ));
            }
        }
        // Every stage must be reachable from acceptance, and every
        // non-terminal stage must have a way on.
        let mut reached: BTreeSet<&str> = BTreeSet::new();
        let mut todo = vec![Stage::Acceptance.as_str()];
        while let Some(s) = todo.pop() {
            if !reached.insert(s) {
                continue;
            }
            for a in self
                .actions
                .iter()
                .filter(|a| a.from.iter().any(|f| f == s))
            {
                for t in a.targets() {
                    todo.push(t);
                }
            }
        }
        for s in &self.stages {
            if !reached.contains(s.code.as_str()) {
                problems.push(format!(
                    "process: stage {} cannot be reached from acceptance",
                    s.code
                ));
            }
            if !s.terminal
                && !self
                    .actions
                    .iter()
                    .any(|a| a.from.contains(&s.code) && a.targets().any(|t| t != s.code))
            {
                problems.push(format!("process: no action leads out of stage {}", s.code));
            }
        }
        problems
    }

    /// The actions a holder of `roles` may take on an order in this stage and
    /// status (of those that require nothing of the application).
    pub fn allowed(&self, stage: Stage, status: OrderStatus, roles: &[&str]) -> Vec<&ActionDef> {
        self.allowed_with(stage, status, roles, &[])
    }

    /// [`allowed`](Self::allowed), for an order whose application has `facts`.
    pub fn allowed_with(
        &self,
        stage: Stage,
        status: OrderStatus,
        roles: &[&str],
        facts: &[&str],
    ) -> Vec<&ActionDef> {
        self.actions
            .iter()
            .filter(|a| {
                a.from.iter().any(|f| f == stage.as_str())
                    && a.when_status.iter().any(|s| s == status.as_str())
                    && a.roles.iter().any(|r| roles.contains(&r.as_str()))
                    && a.requires.iter().all(|f| facts.contains(&f.as_str()))
            })
            .collect()
    }

    /// Decides one action on one order: where it goes, with which status and
    /// limit, and the validated data. `roles` are the actor's roles for this
    /// order (`operator` when it is their unit's, `system` for the platform).
    pub fn plan(
        &self,
        stage: Stage,
        status: OrderStatus,
        action: &str,
        input: &Value,
        roles: &[&str],
        limits: &Limits,
    ) -> Result<Transition, PlanError> {
        self.plan_with(stage, status, action, input, roles, &[], limits)
    }

    /// [`plan`](Self::plan), for an order whose application has `facts`: an
    /// action requiring a fact it lacks is not allowed.
    #[allow(clippy::too_many_arguments)]
    pub fn plan_with(
        &self,
        stage: Stage,
        status: OrderStatus,
        action: &str,
        input: &Value,
        roles: &[&str],
        facts: &[&str],
        limits: &Limits,
    ) -> Result<Transition, PlanError> {
        let allowed = || {
            self.allowed_with(stage, status, roles, facts)
                .iter()
                .map(|a| a.code.clone())
                .collect::<Vec<_>>()
        };
        let Some(def) = self.action(action) else {
            return Err(PlanError::InvalidTransition { allowed: allowed() });
        };
        let here = def.from.iter().any(|f| f == stage.as_str())
            && def.when_status.iter().any(|s| s == status.as_str())
            && def.requires.iter().all(|f| facts.contains(&f.as_str()));
        if !here {
            return Err(PlanError::InvalidTransition { allowed: allowed() });
        }
        if !def.roles.iter().any(|r| roles.contains(&r.as_str())) {
            return Err(PlanError::Forbidden);
        }
        let mut data = serde_json::Map::new();
        let mut errors = Vec::new();
        for f in &def.fields {
            let v = input.get(&f.name).filter(|v| !v.is_null());
            match (v, f.required) {
                (None, true) => errors.push(FieldError::new(
                    &f.name,
                    FieldCode::Required,
                    format!("请填写{}", f.label),
                )),
                (None, false) => {}
                (Some(v), _) => match check_field(f, v) {
                    Ok(Some(v)) => {
                        data.insert(f.name.clone(), v);
                    }
                    // Blank optional text is left out.
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                },
            }
        }
        let works = data.get("external_works_m").and_then(Value::as_f64);
        if let Some(m) = works
            && m > 0.0
            && data.get("route").is_none()
            && def.fields.iter().any(|f| f.name == "route")
        {
            errors.push(FieldError::new(
                "route",
                FieldCode::Required,
                "有外线工程时请说明路由（起止点、途经道路）",
            ));
        }
        if !errors.is_empty() {
            return Err(PlanError::Validation(errors));
        }
        let to = match (&def.to, &def.route_by_external_works, works) {
            (_, Some(r), Some(m)) => {
                let t = if m <= 0.0 {
                    &r.none
                } else if m < limits.external_works_threshold_m {
                    &r.below_threshold
                } else {
                    &r.at_or_above_threshold
                };
                Stage::parse(t)
            }
            (Some(t), _, _) => Stage::parse(t),
            _ => None,
        }
        .unwrap_or(stage);
        let status_after = def
            .status
            .as_deref()
            .and_then(OrderStatus::parse)
            .unwrap_or(status);
        let limit_days = if to == stage {
            None
        } else {
            self.stage(to.as_str())
                .and_then(|s| s.limit.as_deref())
                .and_then(|l| limits.days(l))
        };
        Ok(Transition {
            action: def.code.clone(),
            from: stage,
            to,
            status: status_after,
            limit_days,
            suspends: def.suspends,
            resumes: def.resumes,
            data: Value::Object(data),
        })
    }
}

impl ActionDef {
    /// Every stage this action may lead to.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        let routes = self.route_by_external_works.iter().flat_map(|r| {
            [
                r.none.as_str(),
                r.below_threshold.as_str(),
                r.at_or_above_threshold.as_str(),
            ]
        });
        self.to.as_deref().into_iter().chain(routes)
    }
}

/// The largest number a `number` field of an action takes (the least is 0).
pub const MAX_FIELD_NUMBER: f64 = 1_000_000.0;
/// The most keys an `object` field of an action holds (and at most
/// [`MAX_FIELD_OBJECT_BYTES`] of JSON).
pub const MAX_FIELD_OBJECT_KEYS: usize = 50;
pub const MAX_FIELD_OBJECT_BYTES: usize = 8_000;

/// One field's value: cleaned text (free text goes through the one rule;
/// blank optional text is `None`), a number in range, or an instant.
fn check_field(f: &FieldDef, v: &Value) -> Result<Option<Value>, FieldError> {
    let bad = |code: FieldCode, m: String| Err(FieldError::new(&f.name, code, m));
    match f.kind {
        FieldKind::Text => match v.as_str() {
            Some(s) => {
                crate::text::check_field(&f.name, &f.label, TextKind::Note, Some(s), f.required)
                    .map(|s| s.map(Value::from))
            }
            None => bad(FieldCode::InvalidFormat, format!("{}应为文字", f.label)),
        },
        FieldKind::Number => match v.as_f64() {
            Some(n) if n.is_finite() && (0.0..=MAX_FIELD_NUMBER).contains(&n) => {
                Ok(Some(v.clone()))
            }
            Some(_) => bad(
                FieldCode::OutOfRange,
                format!("{}须在 0 到 1000000 之间", f.label),
            ),
            // Text in a number field ("六百", "600米") is refused, never dropped.
            None => bad(
                FieldCode::InvalidFormat,
                format!("{}须填写阿拉伯数字，例如 600，不带单位", f.label),
            ),
        },
        FieldKind::Datetime => match v.as_str().and_then(crate::timefmt::parse) {
            Some(_) => Ok(Some(v.clone())),
            None => bad(
                FieldCode::InvalidFormat,
                format!(
                    "{}须为带时区的时间，例如 2026-12-01T10:00:00+08:00",
                    f.label
                ),
            ),
        },
        FieldKind::Object => match v {
            Value::Object(m)
                if v.to_string().len() <= MAX_FIELD_OBJECT_BYTES
                    && m.len() <= MAX_FIELD_OBJECT_KEYS =>
            {
                Ok(Some(v.clone()))
            }
            Value::Object(_) => bad(FieldCode::TooLong, format!("{}内容过多", f.label)),
            _ => bad(FieldCode::InvalidFormat, format!("{}应为对象", f.label)),
        },
    }
}

/// What an action does to an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub action: String,
    pub from: Stage,
    pub to: Stage,
    pub status: OrderStatus,
    /// The new stage's limit, when the stage changes.
    pub limit_days: Option<f64>,
    pub suspends: bool,
    pub resumes: bool,
    /// The validated data the action carried.
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// Not an action of this stage and status; the allowed ones are listed.
    InvalidTransition { allowed: Vec<String> },
    /// An action of this stage, but not for this actor.
    Forbidden,
    /// The data is wrong.
    Validation(Vec<FieldError>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CityConfig;
    use serde_json::json;

    fn city() -> CityConfig {
        CityConfig::default_city()
    }

    #[test]
    fn the_default_process_is_consistent() {
        let c = city();
        assert_eq!(c.process.check(&c.limits), Vec::<String>::new());
    }

    #[test]
    fn broken_definitions_are_named() {
        let c = city();
        let mut p = c.process.clone();
        p.actions
            .retain(|a| a.code != "complete_construction" && a.code != "cancel");
        p.actions.iter_mut().for_each(|a| {
            if a.code == "accept" {
                a.roles.clear();
            }
        });
        p.stages.iter_mut().for_each(|s| {
            if s.code == "survey" {
                s.limit = None;
            }
        });
        let problems = p.check(&c.limits).join("\n");
        assert!(
            problems.contains("no action leads out of stage construction"),
            "{problems}"
        );
        assert!(problems.contains("action accept has no role"), "{problems}");
        assert!(problems.contains("stage survey has no limit"), "{problems}");
        let mut p = c.process.clone();
        p.actions
            .retain(|a| a.code != "accept" && a.code != "reject" && a.code != "cancel");
        let problems = p.check(&c.limits).join("\n");
        assert!(
            problems.contains("cannot be reached from acceptance"),
            "{problems}"
        );
    }

    #[test]
    fn a_configuration_with_a_broken_process_is_refused_with_reasons() {
        let text = crate::config::DEFAULT_CONFIG_TOML
            .replace("limit = \"design_days\"\n", "")
            .replace("roles = [\"system\"]", "roles = [\"nobody\"]");
        let err = CityConfig::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("stage design has no limit"), "{err}");
        assert!(
            err.contains("action approval_granted names unknown role nobody"),
            "{err}"
        );
    }

    #[test]
    fn walks_by_external_works() {
        let c = city();
        let p = &c.process;
        let op = ["operator"];
        let t = p
            .plan(
                Stage::Acceptance,
                OrderStatus::Open,
                "accept",
                &json!({}),
                &op,
                &c.limits,
            )
            .unwrap();
        assert_eq!((t.to, t.status), (Stage::Survey, OrderStatus::Open));
        assert_eq!(t.limit_days, Some(c.limits.survey_days));
        for (m, stage) in [
            (0.0, Stage::Connection),
            (120.0, Stage::Construction),
            (499.9, Stage::Construction),
            (500.0, Stage::Approval),
            (1800.0, Stage::Approval),
        ] {
            let t = p
                .plan(
                    Stage::Survey,
                    OrderStatus::Open,
                    "record_survey",
                    &json!({"external_works_m": m, "route": "交通大道北侧人行道"}),
                    &op,
                    &c.limits,
                )
                .unwrap();
            assert_eq!(t.to, stage, "{m} m");
        }
        // Without a length, the survey leads to design, which routes.
        let t = p
            .plan(
                Stage::Survey,
                OrderStatus::Open,
                "record_survey",
                &json!({"findings": "已踏勘"}),
                &op,
                &c.limits,
            )
            .unwrap();
        assert_eq!(t.to, Stage::Design);
        let err = p
            .plan(
                Stage::Design,
                OrderStatus::Open,
                "record_design",
                &json!({"external_works_m": 80}),
                &op,
                &c.limits,
            )
            .unwrap_err();
        assert_eq!(
            err,
            PlanError::Validation(vec![FieldError::new(
                "route",
                FieldCode::Required,
                "有外线工程时请说明路由（起止点、途经道路）"
            )])
        );
        let t = p
            .plan(
                Stage::Connection,
                OrderStatus::Open,
                "connect",
                &json!({"connected_at": "2026-12-01T10:00:00+08:00", "details": {"meter": "A-1"}}),
                &op,
                &c.limits,
            )
            .unwrap();
        assert_eq!((t.to, t.status), (Stage::Closed, OrderStatus::Done));
    }

    #[test]
    fn text_in_a_number_field_is_refused_not_dropped() {
        let c = city();
        let p = &c.process;
        for (action, stage) in [
            ("record_survey", Stage::Survey),
            ("record_design", Stage::Design),
        ] {
            for typed in [
                json!("六百"),
                json!("600米"),
                json!("600"),
                json!(true),
                json!([600]),
            ] {
                let err = p
                    .plan(
                        stage,
                        OrderStatus::Open,
                        action,
                        &json!({"external_works_m": typed, "route": "沿交通大道"}),
                        &["operator"],
                        &c.limits,
                    )
                    .unwrap_err();
                assert_eq!(
                    err,
                    PlanError::Validation(vec![FieldError::new(
                        "external_works_m",
                        FieldCode::InvalidFormat,
                        "外线工程长度（米）须填写阿拉伯数字，例如 600，不带单位"
                    )]),
                    "{action} {typed}"
                );
            }
        }
    }

    #[test]
    fn refuses_what_the_stage_or_the_actor_does_not_allow() {
        let c = city();
        let p = &c.process;
        let err = p
            .plan(
                Stage::Acceptance,
                OrderStatus::Open,
                "connect",
                &json!({}),
                &["operator"],
                &c.limits,
            )
            .unwrap_err();
        let PlanError::InvalidTransition { allowed } = err else {
            panic!("{err:?}")
        };
        assert!(allowed.contains(&"accept".to_owned()));
        assert!(allowed.contains(&"return_for_correction".to_owned()));
        assert!(!allowed.contains(&"connect".to_owned()));
        assert_eq!(
            p.plan(
                Stage::Acceptance,
                OrderStatus::Open,
                "accept",
                &json!({}),
                &["applicant"],
                &c.limits
            ),
            Err(PlanError::Forbidden)
        );
        // Returned: only the applicant's resubmission, which resumes the clock.
        let t = p
            .plan(
                Stage::Acceptance,
                OrderStatus::Returned,
                "resubmit",
                &json!({}),
                &["applicant"],
                &c.limits,
            )
            .unwrap();
        assert!(t.resumes && t.status == OrderStatus::Open);
        let t = p
            .plan(
                Stage::Acceptance,
                OrderStatus::Open,
                "return_for_correction",
                &json!({"reason": "地址门牌号不完整"}),
                &["operator"],
                &c.limits,
            )
            .unwrap();
        assert!(t.suspends && t.status == OrderStatus::Returned && t.to == Stage::Acceptance);
        let err = p
            .plan(
                Stage::Acceptance,
                OrderStatus::Open,
                "return_for_correction",
                &json!({"reason": "  "}),
                &["operator"],
                &c.limits,
            )
            .unwrap_err();
        assert!(
            matches!(err, PlanError::Validation(ref v) if v[0].field == "reason"),
            "{err:?}"
        );
        assert!(matches!(
            p.plan(Stage::Closed, OrderStatus::Done, "accept", &json!({}), &["operator"], &c.limits),
            Err(PlanError::InvalidTransition { ref allowed }) if allowed.is_empty()
        ));
    }

    #[test]
    fn an_action_that_requires_a_fact_is_offered_only_with_it() {
        let c = crate::config::CityConfig::default_city();
        let p = &c.process;
        let codes = |facts: &[&str]| {
            p.allowed_with(Stage::Survey, OrderStatus::Open, &["operator"], facts)
                .iter()
                .map(|a| a.code.clone())
                .collect::<Vec<_>>()
        };
        assert!(!codes(&[]).contains(&"skip_survey".to_owned()));
        // A project code alone no longer earns it: the survey must have
        // been done ahead, in the unit's network plan.
        assert!(!codes(&[FACT_PROJECT_CODE]).contains(&"skip_survey".to_owned()));
        assert!(!codes(&[FACT_DESIGN_PLANNED]).contains(&"skip_survey".to_owned()));
        assert!(codes(&[FACT_SURVEY_PLANNED]).contains(&"skip_survey".to_owned()));
        let input = json!({"reason": "项目已预登记，前期已完成现场踏勘"});
        match p.plan(
            Stage::Survey,
            OrderStatus::Open,
            "skip_survey",
            &input,
            &["operator"],
            &c.limits,
        ) {
            Err(PlanError::InvalidTransition { allowed }) => {
                assert!(!allowed.contains(&"skip_survey".to_owned()))
            }
            other => panic!("{other:?}"),
        }
        let t = p
            .plan_with(
                Stage::Survey,
                OrderStatus::Open,
                "skip_survey",
                &input,
                &["operator"],
                &[FACT_SURVEY_PLANNED],
                &c.limits,
            )
            .unwrap();
        assert_eq!(t.to, Stage::Design);
        let mut bad = p.clone();
        bad.actions[0].requires = vec!["moon_phase".into()];
        assert!(
            bad.check(&c.limits)
                .iter()
                .any(|m| m.contains("unknown fact moon_phase")),
            "{:?}",
            bad.check(&c.limits)
        );
    }
}
