//! Who may do what: roles, API-key scopes, and every access decision.
//!
//! The server resolves a request to a [`Subject`] and asks this module; no
//! handler decides access on its own. Two kinds of question:
//! - [`Subject::may`]: may this subject use this capability at all (route level)?
//! - [`Subject::applications`] / [`Subject::work_orders`]: which rows may it see
//!   ([`Visibility`], turned into SQL by the store and checked per row by
//!   [`Visibility::admits_application`] / [`Visibility::admits_order`]).
//!
//! A row the subject may not see is reported as absent (`404`), so ids leak
//! nothing.

use crate::application::code_enum;
use crate::config::{CityConfig, UnitKind};
use crate::form::uscc_is_valid;
use serde::{Deserialize, Serialize};

code_enum! {
    /// A role an account holds (PRODUCT.md §1). Each grant carries a scope.
    Role {
        Applicant => "applicant", "申请单位";
        Claimant => "claimant", "申请单位（待认证）";
        Clerk => "clerk", "窗口人员";
        Operator => "operator", "公用事业单位经办人";
        Approver => "approver", "审批部门";
        Supervisor => "supervisor", "督办";
        Admin => "admin", "系统管理员";
    }
}

impl Role {
    /// What the scope of a grant of this role names.
    pub fn scope_label_zh(self) -> &'static str {
        match self {
            Role::Applicant | Role::Claimant => "统一社会信用代码",
            Role::Clerk => "营业厅编号",
            Role::Operator => "公用事业单位",
            Role::Approver => "审批部门",
            Role::Supervisor => "督办单位（可空）",
            Role::Admin => "（无）",
        }
    }
}

/// One role, held for one scope: the enterprise (USCC) of an applicant, the
/// hall of a clerk, the unit of an operator or approver, the supervising unit
/// of a supervisor (may be empty), nothing for an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    pub role: Role,
    pub scope: String,
}

/// Why a grant is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantError {
    pub message: String,
}

impl Grant {
    /// Parses `role` or `role:scope` (`operator:sz-water`, `applicant:91421300…`).
    pub fn parse(text: &str, config: &CityConfig) -> Result<Grant, GrantError> {
        let (role, scope) = match text.trim().split_once(':') {
            Some((r, s)) => (r.trim(), s.trim()),
            None => (text.trim(), ""),
        };
        let role = Role::parse(role).ok_or_else(|| GrantError {
            message: format!(
                "未知角色 “{role}”，可选：{}",
                Role::ALL
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        })?;
        Grant::new(role, scope, config)
    }

    /// A grant, with its scope checked against the city's configuration.
    pub fn new(role: Role, scope: &str, config: &CityConfig) -> Result<Grant, GrantError> {
        let scope = scope.trim();
        let err = |m: String| Err(GrantError { message: m });
        let unit_of = |kind: UnitKind| {
            config
                .units
                .iter()
                .any(|u| u.code == scope && u.kind == kind)
        };
        match role {
            Role::Applicant | Role::Claimant => {
                let s = scope.to_uppercase();
                if !uscc_is_valid(&s) {
                    return err("申请单位角色须填写有效的统一社会信用代码".into());
                }
                return Ok(Grant { role, scope: s });
            }
            Role::Clerk => {
                let ok = !scope.is_empty()
                    && scope.chars().count() <= 32
                    && scope
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !ok {
                    return err(
                        "窗口人员角色须填写营业厅编号（字母、数字、- 或 _，至多 32 位）".into(),
                    );
                }
            }
            Role::Operator => {
                if !unit_of(UnitKind::Utility) {
                    return err(format!("“{scope}” 不是已配置的公用事业单位"));
                }
            }
            Role::Approver => {
                if !unit_of(UnitKind::Department) {
                    return err(format!("“{scope}” 不是已配置的审批部门"));
                }
            }
            Role::Supervisor => {
                if !scope.is_empty() && !unit_of(UnitKind::Supervisor) {
                    return err(format!("“{scope}” 不是已配置的督办单位"));
                }
            }
            Role::Admin => {
                if !scope.is_empty() {
                    return err("系统管理员角色没有范围".into());
                }
            }
        }
        Ok(Grant {
            role,
            scope: scope.to_owned(),
        })
    }

    /// `role` or `role:scope`, the form [`Grant::parse`] reads.
    pub fn code(&self) -> String {
        if self.scope.is_empty() {
            self.role.as_str().to_owned()
        } else {
            format!("{}:{}", self.role.as_str(), self.scope)
        }
    }
}

/// A permission an API key carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read every application (政务服务网, 工改平台).
    ApplicationsRead,
    /// Submit applications (kiosks, 政务服务网).
    ApplicationsWrite,
    /// Read one unit's work orders and the applications they belong to.
    WorkOrdersRead(String),
    /// Act on one unit's work orders (implies reading them).
    WorkOrdersWrite(String),
    /// Decide one department's approval items.
    ApprovalsWrite(String),
    /// Read every pre-registration (一口登记).
    PreRegistrationsRead,
    /// Register projects at land transfer (工改平台, 政务服务网).
    PreRegistrationsWrite,
}

impl Scope {
    pub fn parse(text: &str, config: &CityConfig) -> Result<Scope, GrantError> {
        let t = text.trim();
        let unit = |code: &str, kind: UnitKind| {
            if config
                .units
                .iter()
                .any(|u| u.code == code && u.kind == kind)
            {
                Ok(code.to_owned())
            } else {
                Err(GrantError {
                    message: format!("权限 “{t}” 中的单位 “{code}” 未配置或类型不符"),
                })
            }
        };
        match t {
            "applications:read" => return Ok(Scope::ApplicationsRead),
            "applications:write" => return Ok(Scope::ApplicationsWrite),
            "pre_registrations:read" => return Ok(Scope::PreRegistrationsRead),
            "pre_registrations:write" => return Ok(Scope::PreRegistrationsWrite),
            _ => {}
        }
        if let Some(u) = t.strip_prefix("workorders:read:") {
            return Ok(Scope::WorkOrdersRead(unit(u, UnitKind::Utility)?));
        }
        if let Some(u) = t.strip_prefix("workorders:write:") {
            return Ok(Scope::WorkOrdersWrite(unit(u, UnitKind::Utility)?));
        }
        if let Some(u) = t.strip_prefix("approvals:write:") {
            return Ok(Scope::ApprovalsWrite(unit(u, UnitKind::Department)?));
        }
        Err(GrantError {
            message: format!(
                "未知权限 “{t}”；可用：applications:read、applications:write、\
                 pre_registrations:read、pre_registrations:write、workorders:read:<单位>、workorders:write:<单位>、approvals:write:<部门>"
            ),
        })
    }

    /// Parses a comma- or space-separated list; empty lists are refused.
    pub fn parse_list(text: &str, config: &CityConfig) -> Result<Vec<Scope>, GrantError> {
        let mut out = Vec::new();
        for part in text
            .split([',', ' ', '\n'])
            .filter(|p| !p.trim().is_empty())
        {
            let s = Scope::parse(part, config)?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if out.is_empty() {
            return Err(GrantError {
                message: "至少需要一项权限".into(),
            });
        }
        out.sort();
        Ok(out)
    }

    pub fn code(&self) -> String {
        match self {
            Scope::ApplicationsRead => "applications:read".into(),
            Scope::ApplicationsWrite => "applications:write".into(),
            Scope::WorkOrdersRead(u) => format!("workorders:read:{u}"),
            Scope::WorkOrdersWrite(u) => format!("workorders:write:{u}"),
            Scope::ApprovalsWrite(u) => format!("approvals:write:{u}"),
            Scope::PreRegistrationsRead => "pre_registrations:read".into(),
            Scope::PreRegistrationsWrite => "pre_registrations:write".into(),
        }
    }
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSubject {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
    /// Created by an administrator (or reset) and not yet changed: only the
    /// password page and logout are open.
    pub must_change_password: bool,
}

/// An integration client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySubject {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Anonymous,
    Account(AccountSubject),
    ApiKey(ApiKeySubject),
    /// The operator at the server's command line (`onestop user create …`):
    /// may do everything; named in the audit log as `system`.
    System(String),
}

/// A capability, checked before any row is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Submit an application through the API.
    SubmitApplication,
    /// Read applications (which ones: [`Subject::applications`]).
    ReadApplications,
    /// Read work orders (which ones: [`Subject::work_orders`]).
    ReadWorkOrders,
    /// Read the calendar and deadline endpoints of the API.
    ReadCalendar,
    /// Create, disable and reset accounts; change roles.
    ManageAccounts,
    /// Create and revoke API keys.
    ManageApiKeys,
    /// Read the audit log.
    ReadAudit,
    /// Import the working-day calendar (which moves open deadlines).
    ManageCalendar,
    /// See outgoing email and SMS, and send given-up ones again.
    ManageDeliveries,
    /// Decide a department's approval items (its inbox).
    DecideApprovals,
    /// See the overdue list and send reminders (督办) on work orders.
    Supervise,
    /// See and verify one's own enterprise claims (企业认证); an enterprise's
    /// owner also decides colleagues' claims.
    ClaimEnterprise,
    /// Verify any enterprise's claims at a hall window (clerks, administrators).
    VerifyEnterprises,
    /// Register and edit shared service halls (administrators).
    ManageHalls,
    /// The one window's workspace (一窗受理) of a hall: consultations, queue
    /// tickets, ratings given at the window (the hall's clerks).
    WorkCounter,
    /// Follow-ups of consultations and bad ratings (咨询回复、差评整改): a
    /// unit's operators answer theirs; a hall's clerks read those arisen at
    /// the hall; supervisors and administrators read them all.
    FollowUps,
    /// Look up customers' utility accounts and bills, and take payments at
    /// a hall window (clerks, for their halls).
    TakePayments,
    /// Read window payments (clerks their halls', administrators and
    /// supervisors every hall's).
    ReadPayments,
    /// Reconcile window payments with the utilities' lists (administrators).
    ReconcilePayments,
    /// Record a documented exception to the zero-investment rule for a
    /// work order (administrators).
    ManageFeeExceptions,
    /// Read the exceptions to the zero-investment rule (administrators and
    /// supervisors).
    ReadFeeExceptions,
}

/// Which rows a subject may see: the union of what each of its grants or
/// scopes opens. `all` opens everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    pub all: bool,
    /// Applications of these enterprises filed through a verified channel
    /// (see [`Subject::submission_verified`]).
    pub usccs: Vec<String>,
    /// Applications these accounts submitted themselves (verified or not).
    pub submitters: Vec<String>,
    /// Applications submitted at these halls.
    pub halls: Vec<String>,
    /// Work orders of these units, and the applications that have one.
    pub units: Vec<String>,
    /// Applications with an approval item of these departments.
    pub departments: Vec<String>,
}

/// What the visibility check needs to know about one application.
#[derive(Debug, Clone, Copy)]
pub struct ApplicationFacts<'a> {
    pub uscc: &'a str,
    pub hall_id: Option<&'a str>,
    /// Filed through a verified channel (a hall window, an account verified
    /// for the enterprise, an integration key).
    pub verified: bool,
    /// The account that submitted it, if one did.
    pub submitted_by: Option<&'a str>,
    /// Units that hold a work order of it.
    pub units: &'a [String],
    /// Departments that hold an approval item of it.
    pub departments: &'a [String],
}

/// What the visibility check needs to know about one work order.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub unit: &'a str,
    pub uscc: &'a str,
    pub hall_id: Option<&'a str>,
    /// The application's, as in [`ApplicationFacts`].
    pub verified: bool,
    pub submitted_by: Option<&'a str>,
}

impl Visibility {
    pub fn nothing() -> Self {
        Visibility::default()
    }

    pub fn everything() -> Self {
        Visibility {
            all: true,
            ..Visibility::default()
        }
    }

    /// Whether work orders of `unit` can be among those admitted: the
    /// caller sees every order, orders of that unit, or orders through the
    /// applications it sees (whichever unit handles them). A unit filter
    /// outside this is refused rather than answered with an empty list.
    pub fn may_see_unit(&self, unit: &str) -> bool {
        self.all
            || self.units.iter().any(|u| u == unit)
            || !self.usccs.is_empty()
            || !self.submitters.is_empty()
            || !self.halls.is_empty()
            || !self.departments.is_empty()
    }

    pub fn is_nothing(&self) -> bool {
        !self.all
            && self.usccs.is_empty()
            && self.submitters.is_empty()
            && self.halls.is_empty()
            && self.units.is_empty()
            && self.departments.is_empty()
    }

    pub fn admits_application(&self, f: &ApplicationFacts<'_>) -> bool {
        self.all
            || (f.verified && self.usccs.iter().any(|u| u == f.uscc))
            || f.submitted_by
                .is_some_and(|a| self.submitters.iter().any(|x| x == a))
            || f.hall_id.is_some_and(|h| self.halls.iter().any(|x| x == h))
            || f.units.iter().any(|u| self.units.contains(u))
            || f.departments.iter().any(|d| self.departments.contains(d))
    }

    /// Work orders: an operator sees their unit's; an applicant their
    /// enterprise's (filed through a verified channel) and their own; a
    /// clerk their hall's; departments see orders through their approval
    /// items, not directly.
    pub fn admits_order(&self, f: &OrderFacts<'_>) -> bool {
        self.all
            || self.units.iter().any(|u| u == f.unit)
            || (f.verified && self.usccs.iter().any(|u| u == f.uscc))
            || f.submitted_by
                .is_some_and(|a| self.submitters.iter().any(|x| x == a))
            || f.hall_id.is_some_and(|h| self.halls.iter().any(|x| x == h))
    }

    fn push(list: &mut Vec<String>, v: &str) {
        if !list.iter().any(|x| x == v) {
            list.push(v.to_owned());
        }
    }
}

impl Subject {
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Subject::Anonymous)
    }

    pub fn account(&self) -> Option<&AccountSubject> {
        match self {
            Subject::Account(a) => Some(a),
            _ => None,
        }
    }

    fn has_role(&self, role: Role) -> bool {
        self.account()
            .is_some_and(|a| a.grants.iter().any(|g| g.role == role))
    }

    fn has_scope(&self, f: impl Fn(&Scope) -> bool) -> bool {
        match self {
            Subject::ApiKey(k) => k.scopes.iter().any(f),
            _ => false,
        }
    }

    /// Grants of one role, by scope.
    pub fn scopes_of(&self, role: Role) -> Vec<&str> {
        self.account()
            .map(|a| {
                a.grants
                    .iter()
                    .filter(|g| g.role == role)
                    .map(|g| g.scope.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// May this subject use `cap` at all? Accounts that must change their
    /// password may do nothing until they have.
    pub fn may(&self, cap: Capability) -> bool {
        if let Subject::Account(a) = self
            && a.must_change_password
        {
            return false;
        }
        if let Subject::System(_) = self {
            return true;
        }
        match cap {
            Capability::SubmitApplication => {
                self.has_role(Role::Applicant)
                    || self.has_role(Role::Claimant)
                    || self.has_role(Role::Clerk)
                    || self.has_scope(|s| *s == Scope::ApplicationsWrite)
            }
            Capability::ReadApplications => {
                !self.is_anonymous() && !self.applications().is_nothing()
            }
            Capability::ReadWorkOrders => !self.is_anonymous() && !self.work_orders().is_nothing(),
            Capability::ReadCalendar => !self.is_anonymous(),
            Capability::ManageAccounts
            | Capability::ManageApiKeys
            | Capability::ManageCalendar
            | Capability::ManageDeliveries
            | Capability::ManageHalls => self.has_role(Role::Admin),
            Capability::ReadAudit => self.has_role(Role::Admin) || self.has_role(Role::Supervisor),
            Capability::Supervise => self.has_role(Role::Supervisor) || self.has_role(Role::Admin),
            Capability::ClaimEnterprise => {
                self.has_role(Role::Applicant) || self.has_role(Role::Claimant)
            }
            Capability::VerifyEnterprises => {
                self.has_role(Role::Clerk) || self.has_role(Role::Admin)
            }
            Capability::DecideApprovals => {
                self.has_role(Role::Approver)
                    || self.has_scope(|s| matches!(s, Scope::ApprovalsWrite(_)))
            }
            Capability::WorkCounter => self.has_role(Role::Clerk),
            Capability::FollowUps => {
                self.has_role(Role::Operator)
                    || self.has_role(Role::Clerk)
                    || self.has_role(Role::Supervisor)
                    || self.has_role(Role::Admin)
                    || self.has_scope(|s| {
                        matches!(s, Scope::WorkOrdersRead(_) | Scope::WorkOrdersWrite(_))
                    })
            }
            Capability::TakePayments => self.has_role(Role::Clerk),
            Capability::ReadPayments => {
                self.has_role(Role::Clerk)
                    || self.has_role(Role::Admin)
                    || self.has_role(Role::Supervisor)
            }
            Capability::ReconcilePayments => self.has_role(Role::Admin),
            Capability::ManageFeeExceptions => self.has_role(Role::Admin),
            Capability::ReadFeeExceptions => {
                self.has_role(Role::Admin) || self.has_role(Role::Supervisor)
            }
        }
    }

    /// The applications this subject may read.
    pub fn applications(&self) -> Visibility {
        let mut v = Visibility::nothing();
        match self {
            Subject::Anonymous => {}
            Subject::System(_) => v.all = true,
            Subject::Account(a) => {
                if a.must_change_password {
                    return v;
                }
                for g in &a.grants {
                    match g.role {
                        Role::Supervisor | Role::Admin => v.all = true,
                        Role::Applicant => {
                            Visibility::push(&mut v.usccs, &g.scope);
                            Visibility::push(&mut v.submitters, &a.id);
                        }
                        // Until its claim is verified, an account sees only
                        // what it submitted itself.
                        Role::Claimant => Visibility::push(&mut v.submitters, &a.id),
                        Role::Clerk => Visibility::push(&mut v.halls, &g.scope),
                        Role::Operator => Visibility::push(&mut v.units, &g.scope),
                        Role::Approver => Visibility::push(&mut v.departments, &g.scope),
                    }
                }
            }
            Subject::ApiKey(k) => {
                for s in &k.scopes {
                    match s {
                        Scope::ApplicationsRead => v.all = true,
                        Scope::WorkOrdersRead(u) | Scope::WorkOrdersWrite(u) => {
                            Visibility::push(&mut v.units, u)
                        }
                        Scope::ApprovalsWrite(d) => Visibility::push(&mut v.departments, d),
                        Scope::ApplicationsWrite
                        | Scope::PreRegistrationsRead
                        | Scope::PreRegistrationsWrite => {}
                    }
                }
            }
        }
        v
    }

    /// The work orders this subject may read.
    pub fn work_orders(&self) -> Visibility {
        let mut v = self.applications();
        // Departments reach orders only through approval items.
        v.departments.clear();
        if let Subject::ApiKey(k) = self
            && k.scopes.contains(&Scope::ApplicationsRead)
        {
            // Reading applications includes their orders.
            v.all = true;
        }
        v
    }

    /// Whether an application for enterprise `uscc` submitted by this
    /// subject comes through a verified channel: an integration key, the
    /// command line, a staff account (a clerk at a window checks the business
    /// licence), or an account verified for that enterprise. Anonymous
    /// submissions and accounts whose claim is not verified are not.
    pub fn submission_verified(&self, uscc: &str) -> bool {
        match self {
            Subject::Anonymous => false,
            Subject::ApiKey(_) | Subject::System(_) => true,
            Subject::Account(a) => a.grants.iter().any(|g| match g.role {
                Role::Applicant => g.scope == uscc,
                Role::Claimant => false,
                Role::Clerk | Role::Operator | Role::Approver | Role::Supervisor | Role::Admin => {
                    true
                }
            }),
        }
    }

    /// The process roles (`[[process.actions]]` `roles`) this subject plays
    /// on one application: `applicant` for an account verified for its
    /// enterprise (on a verified application) or for its own submission, an
    /// integration key that submits applications; `clerk` at its hall;
    /// `admin`; the system.
    pub fn roles_on_application(&self, f: &ApplicationFacts<'_>) -> Vec<&'static str> {
        self.roles_on(f.uscc, f.hall_id, f.verified, f.submitted_by, None)
    }

    /// Whether this subject may add a material to an application
    /// (一次上传、多方共享): a party to it — the enterprise (or a key that
    /// submits for it), the clerk of the hall it was filed at, an operator
    /// of a utility with an order in it, an approver of a department with an
    /// item in it — or an administrator. Supervisors read, and add nothing.
    /// `departments_of_subject` are the departments the subject approves for.
    pub fn may_add_material(
        &self,
        f: &ApplicationFacts<'_>,
        departments_of_subject: &[String],
    ) -> bool {
        if let Subject::Account(a) = self
            && a.must_change_password
        {
            return false;
        }
        !self.roles_on_application(f).is_empty()
            || f.units.iter().any(|u| self.operates(u))
            || f.departments
                .iter()
                .any(|d| departments_of_subject.contains(d))
    }

    /// Whether this subject may move an application's connection
    /// appointment: it acts for the enterprise (`applicant`, an integration
    /// key that submits applications among them) or is a clerk of the hall
    /// it was filed at. Utilities, departments and supervisors may not.
    pub fn may_move_appointment(&self, f: &ApplicationFacts<'_>) -> bool {
        self.roles_on_application(f)
            .iter()
            .any(|r| matches!(*r, "applicant" | "clerk"))
    }

    /// The process roles this subject plays on one work order: those of its
    /// application, and `operator` for the order's unit.
    pub fn roles_on_order(&self, f: &OrderFacts<'_>) -> Vec<&'static str> {
        self.roles_on(f.uscc, f.hall_id, f.verified, f.submitted_by, Some(f.unit))
    }

    fn roles_on(
        &self,
        uscc: &str,
        hall_id: Option<&str>,
        verified: bool,
        submitted_by: Option<&str>,
        unit: Option<&str>,
    ) -> Vec<&'static str> {
        let mut roles = Vec::new();
        let mut add = |r: &'static str| {
            if !roles.contains(&r) {
                roles.push(r);
            }
        };
        match self {
            Subject::Anonymous => {}
            Subject::Account(a) => {
                if a.must_change_password {
                    return roles;
                }
                let own = submitted_by == Some(a.id.as_str());
                for g in &a.grants {
                    match g.role {
                        Role::Operator if Some(g.scope.as_str()) == unit => add("operator"),
                        Role::Applicant if g.scope == uscc && (verified || own) => add("applicant"),
                        Role::Claimant if g.scope == uscc && own => add("applicant"),
                        Role::Clerk if hall_id == Some(g.scope.as_str()) => add("clerk"),
                        Role::Admin => add("admin"),
                        _ => {}
                    }
                }
            }
            Subject::ApiKey(k) => {
                for s in &k.scopes {
                    match s {
                        Scope::WorkOrdersWrite(u) if Some(u.as_str()) == unit => add("operator"),
                        Scope::ApplicationsWrite => add("applicant"),
                        _ => {}
                    }
                }
            }
            Subject::System(_) => {
                add(crate::workflow::SYSTEM_ROLE);
                add("admin");
            }
        }
        roles
    }

    /// Whether this subject registers projects at land transfer (一口登记):
    /// a key with `pre_registrations:write`, an administrator, an approver
    /// of a department that registers projects (the planning department),
    /// the system.
    pub fn may_register_projects(&self, config: &CityConfig) -> bool {
        match self {
            Subject::Anonymous => false,
            Subject::System(_) => true,
            Subject::ApiKey(k) => k.scopes.contains(&Scope::PreRegistrationsWrite),
            Subject::Account(a) => {
                !a.must_change_password
                    && a.grants.iter().any(|g| match g.role {
                        Role::Admin => true,
                        Role::Approver => {
                            config.unit(&g.scope).is_some_and(|u| u.registers_projects)
                        }
                        _ => false,
                    })
            }
        }
    }

    /// The pre-registrations this subject reads: every one (a key with
    /// `pre_registrations:read`, administrators, supervisors, the planning
    /// department's approvers), or those concerning its utility units
    /// (operators, keys of a unit's work orders).
    pub fn pre_registrations(&self, config: &CityConfig) -> Visibility {
        let mut v = Visibility::nothing();
        match self {
            Subject::Anonymous => {}
            Subject::System(_) => v.all = true,
            Subject::ApiKey(k) => {
                for s in &k.scopes {
                    match s {
                        Scope::PreRegistrationsRead => v.all = true,
                        Scope::WorkOrdersRead(u) | Scope::WorkOrdersWrite(u) => {
                            Visibility::push(&mut v.units, u)
                        }
                        _ => {}
                    }
                }
            }
            Subject::Account(a) => {
                if a.must_change_password {
                    return v;
                }
                for g in &a.grants {
                    match g.role {
                        Role::Admin | Role::Supervisor => v.all = true,
                        Role::Approver
                            if config.unit(&g.scope).is_some_and(|u| u.registers_projects) =>
                        {
                            v.all = true
                        }
                        Role::Operator => Visibility::push(&mut v.units, &g.scope),
                        _ => {}
                    }
                }
            }
        }
        v
    }

    /// Whether this subject acts for a utility unit: an operator of the unit
    /// (an account that need not first change its password), a key that
    /// writes the unit's work orders, or the system.
    pub fn operates(&self, unit: &str) -> bool {
        match self {
            Subject::Account(a) => {
                !a.must_change_password
                    && a.grants
                        .iter()
                        .any(|g| g.role == Role::Operator && g.scope == unit)
            }
            Subject::ApiKey(k) => k
                .scopes
                .iter()
                .any(|s| matches!(s, Scope::WorkOrdersWrite(u) if u == unit)),
            Subject::System(_) => true,
            Subject::Anonymous => false,
        }
    }

    /// Who this is, for logs and the audit trail: (kind, id, name).
    pub fn audit_identity(&self) -> (&'static str, &str, &str) {
        match self {
            Subject::Anonymous => ("anonymous", "", ""),
            Subject::Account(a) => ("account", &a.id, &a.username),
            Subject::ApiKey(k) => ("api_key", &k.id, &k.name),
            Subject::System(name) => ("system", "", name),
        }
    }

    /// Who this is in a history event or record: `account:张三`,
    /// `api_key:水务接口`, `system:sweeper`, or `anonymous`.
    pub fn actor(&self) -> String {
        match self.audit_identity() {
            ("anonymous", _, _) => "anonymous".to_owned(),
            (kind, _, name) => format!("{kind}:{name}"),
        }
    }
}

/// The name to show for an actor recorded by [`Subject::actor`]:
/// `account:张三` → `张三`; an automatic approval under the commitment
/// reads as such.
pub fn actor_label(actor: &str) -> String {
    match actor {
        "system:commitment" => "告知承诺制".to_owned(),
        a => a.split_once(':').map_or(a, |(_, n)| n).to_owned(),
    }
}

/// The password rules (等保2.0): 8–128 characters, at least three of the four
/// classes (lower-case, upper-case, digits, symbols), not containing the login
/// name. Returns the Chinese reason when refused.
pub fn check_password(password: &str, username: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 8 {
        return Err("密码至少 8 位");
    }
    if n > 128 {
        return Err("密码至多 128 位");
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password
            .chars()
            .any(|c| !c.is_ascii_alphanumeric() && !c.is_whitespace()),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err("密码须包含大写字母、小写字母、数字、符号中的至少三类");
    }
    let user = username.trim().to_lowercase();
    if user.chars().count() >= 3 && password.to_lowercase().contains(&user) {
        return Err("密码不能包含登录名");
    }
    Ok(())
}

/// Login names: 3–32 characters of letters, digits, `.`, `_`, `-`, `@`;
/// stored lower-case. Mobile numbers qualify.
pub fn normalize_username(name: &str) -> Option<String> {
    let n = name.trim().to_lowercase();
    let len = n.chars().count();
    ((3..=32).contains(&len)
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    .then_some(n)
}

/// `13812341234` → `138****1234`; other numbers keep only their last four.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    let n = chars.len();
    if n == 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[7..].iter().collect();
        format!("{head}****{tail}")
    } else if n > 4 {
        let tail: String = chars[n - 4..].iter().collect();
        format!("{}{tail}", "*".repeat(n - 4))
    } else {
        "*".repeat(n)
    }
}

/// Masks every mobile number (eleven digits starting with 1, not part of a
/// longer number) in a text: for login names that are phone numbers, and
/// audit details shown in lists.
pub fn mask_phones_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let digits: String = chars[i..i + run].iter().collect();
        if run == 11 && digits.starts_with('1') {
            out.push_str(&mask_phone(&digits));
        } else {
            out.push_str(&digits);
        }
        i += run;
    }
    out
}

/// A resident identity number: first four and last four digits kept.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    let n = chars.len();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[n - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

/// A person's name: the first character kept (`张三` → `张*`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CityConfig {
        CityConfig::default_city()
    }

    fn account(grants: &[&str]) -> Subject {
        let c = config();
        Subject::Account(AccountSubject {
            id: "a1".into(),
            username: "u".into(),
            display_name: "U".into(),
            grants: grants
                .iter()
                .map(|g| Grant::parse(g, &c).unwrap())
                .collect(),
            must_change_password: false,
        })
    }

    #[test]
    fn who_operates_a_unit() {
        let operator = account(&["operator:sz-water"]);
        assert!(operator.operates("sz-water"));
        assert!(!operator.operates("sz-power"));
        let Subject::Account(mut waiting) = account(&["operator:sz-water"]) else {
            unreachable!()
        };
        waiting.must_change_password = true;
        assert!(!Subject::Account(waiting).operates("sz-water"));
        assert!(!account(&["admin", "supervisor"]).operates("sz-water"));
        let key = |scopes: Vec<Scope>| {
            Subject::ApiKey(ApiKeySubject {
                id: "k".into(),
                name: "k".into(),
                scopes,
            })
        };
        assert!(key(vec![Scope::WorkOrdersWrite("sz-water".into())]).operates("sz-water"));
        assert!(!key(vec![Scope::WorkOrdersWrite("sz-gas".into())]).operates("sz-water"));
        assert!(!key(vec![Scope::WorkOrdersRead("sz-water".into())]).operates("sz-water"));
        assert!(Subject::System("cli".into()).operates("sz-water"));
        assert!(!Subject::Anonymous.operates("sz-water"));
    }

    #[test]
    fn who_registers_and_reads_pre_registrations() {
        let c = config();
        let key = |scopes: Vec<Scope>| {
            Subject::ApiKey(ApiKeySubject {
                id: "k".into(),
                name: "k".into(),
                scopes,
            })
        };
        // Registering: the scope, administrators, the planning department.
        assert!(key(vec![Scope::PreRegistrationsWrite]).may_register_projects(&c));
        assert!(!key(vec![Scope::PreRegistrationsRead]).may_register_projects(&c));
        assert!(!key(vec![Scope::ApplicationsWrite]).may_register_projects(&c));
        assert!(account(&["admin"]).may_register_projects(&c));
        assert!(account(&["approver:sz-zrzy"]).may_register_projects(&c));
        assert!(!account(&["approver:sz-jj"]).may_register_projects(&c));
        assert!(!account(&["operator:sz-water"]).may_register_projects(&c));
        assert!(!Subject::Anonymous.may_register_projects(&c));
        // Reading: every one, or the units' own.
        assert!(
            key(vec![Scope::PreRegistrationsRead])
                .pre_registrations(&c)
                .all
        );
        assert!(
            key(vec![Scope::PreRegistrationsWrite])
                .pre_registrations(&c)
                .is_nothing()
        );
        assert!(account(&["supervisor"]).pre_registrations(&c).all);
        assert!(account(&["approver:sz-zrzy"]).pre_registrations(&c).all);
        assert!(
            account(&["approver:sz-jj"])
                .pre_registrations(&c)
                .is_nothing()
        );
        let op = account(&["operator:sz-water"]).pre_registrations(&c);
        assert!(!op.all && op.units == vec!["sz-water".to_owned()]);
        let k = key(vec![Scope::WorkOrdersRead("sz-gas".into())]).pre_registrations(&c);
        assert!(!k.all && k.units == vec!["sz-gas".to_owned()]);
        assert!(
            account(&[&format!("applicant:{}", valid_uscc())])
                .pre_registrations(&c)
                .is_nothing()
        );
        assert_eq!(
            Scope::parse_list("pre_registrations:read,pre_registrations:write", &c)
                .unwrap()
                .iter()
                .map(Scope::code)
                .collect::<Vec<_>>(),
            vec!["pre_registrations:read", "pre_registrations:write"]
        );
    }

    const USCC: &str = "91421300MA49ABCD0X";

    fn valid_uscc() -> String {
        // Any valid code will do; find one by fixing the check character.
        let base = "91421300MA49ABCD0";
        for c in "0123456789ABCDEFGHJKLMNPQRTUWXY".chars() {
            let s = format!("{base}{c}");
            if uscc_is_valid(&s) {
                return s;
            }
        }
        unreachable!()
    }

    #[test]
    fn grants_are_checked_against_the_config() {
        let c = config();
        assert!(Grant::parse("operator:sz-water", &c).is_ok());
        assert!(
            Grant::parse("operator:sz-zrzy", &c).is_err(),
            "a department is not a utility"
        );
        assert!(Grant::parse("approver:sz-zrzy", &c).is_ok());
        assert!(Grant::parse("approver:sz-water", &c).is_err());
        assert!(Grant::parse("admin", &c).is_ok());
        assert!(Grant::parse("admin:x", &c).is_err());
        assert!(Grant::parse("supervisor", &c).is_ok());
        assert!(Grant::parse("supervisor:sz-zjj", &c).is_ok());
        assert!(Grant::parse("supervisor:sz-water", &c).is_err());
        assert!(Grant::parse("clerk:hall-01", &c).is_ok());
        assert!(Grant::parse("clerk", &c).is_err());
        assert!(Grant::parse(&format!("applicant:{USCC}"), &c).is_err());
        let g = Grant::parse(&format!("applicant:{}", valid_uscc().to_lowercase()), &c).unwrap();
        assert_eq!(g.scope, valid_uscc(), "USCC is upper-cased");
        assert!(Grant::parse("root", &c).is_err());
        assert_eq!(
            Grant::parse("operator:sz-gas", &c).unwrap().code(),
            "operator:sz-gas"
        );
    }

    #[test]
    fn scopes_parse_and_refuse_unknown_units() {
        let c = config();
        let list = Scope::parse_list("applications:write, workorders:write:sz-gas", &c).unwrap();
        assert_eq!(
            list,
            vec![
                Scope::ApplicationsWrite,
                Scope::WorkOrdersWrite("sz-gas".into())
            ]
        );
        assert!(Scope::parse("workorders:write:sz-nowhere", &c).is_err());
        assert!(Scope::parse("approvals:write:sz-water", &c).is_err());
        assert!(Scope::parse("everything", &c).is_err());
        assert!(Scope::parse_list(" , ", &c).is_err());
    }

    #[test]
    fn unit_filters_within_what_the_caller_sees() {
        let operator = account(&["operator:sz-water"]).work_orders();
        assert!(operator.may_see_unit("sz-water"));
        assert!(!operator.may_see_unit("sz-power"));
        // Applicants see their applications' orders, whichever unit has them.
        let applicant = account(&[&format!("applicant:{}", valid_uscc())]).work_orders();
        assert!(applicant.may_see_unit("sz-power"));
        assert!(
            account(&["supervisor"])
                .work_orders()
                .may_see_unit("sz-power")
        );
        assert!(!Visibility::nothing().may_see_unit("sz-water"));
    }

    #[test]
    fn visibility_follows_grants() {
        let uscc = valid_uscc();
        let facts = |uscc: &str, hall: Option<&'static str>, units: &'static [String]| {
            (uscc.to_owned(), hall, units)
        };
        let water = vec!["sz-water".to_owned()];
        let water: &'static [String] = Box::leak(water.into_boxed_slice());
        let (u, h, units) = facts(&uscc, Some("hall-01"), water);
        let app = ApplicationFacts {
            uscc: &u,
            hall_id: h,
            verified: true,
            submitted_by: None,
            units,
            departments: &[],
        };
        assert!(
            account(&[&format!("applicant:{uscc}")])
                .applications()
                .admits_application(&app)
        );
        assert!(
            account(&["operator:sz-water"])
                .applications()
                .admits_application(&app)
        );
        assert!(
            !account(&["operator:sz-gas"])
                .applications()
                .admits_application(&app)
        );
        assert!(
            account(&["clerk:hall-01"])
                .applications()
                .admits_application(&app)
        );
        assert!(
            !account(&["clerk:hall-02"])
                .applications()
                .admits_application(&app)
        );
        assert!(
            account(&["supervisor"])
                .applications()
                .admits_application(&app)
        );
        assert!(account(&["admin"]).applications().admits_application(&app));
        assert!(
            !account(&["approver:sz-zrzy"])
                .applications()
                .admits_application(&app)
        );
        assert!(!Subject::Anonymous.applications().admits_application(&app));

        let order = OrderFacts {
            unit: "sz-water",
            uscc: &u,
            hall_id: None,
            verified: true,
            submitted_by: None,
        };
        assert!(
            account(&["operator:sz-water"])
                .work_orders()
                .admits_order(&order)
        );
        assert!(
            !account(&["operator:sz-power"])
                .work_orders()
                .admits_order(&order)
        );
        assert!(
            !account(&["approver:sz-zrzy"])
                .work_orders()
                .admits_order(&order)
        );
    }

    #[test]
    fn enterprise_identity() {
        let uscc = valid_uscc();
        let verified = account(&[&format!("applicant:{uscc}")]);
        let claimant = account(&[&format!("claimant:{uscc}")]);
        // Filed through a verified channel by someone else.
        let filed = ApplicationFacts {
            uscc: &uscc,
            hall_id: None,
            verified: true,
            submitted_by: Some("someone-else"),
            units: &[],
            departments: &[],
        };
        assert!(verified.applications().admits_application(&filed));
        assert!(!claimant.applications().admits_application(&filed));
        assert_eq!(verified.roles_on_application(&filed), vec!["applicant"]);
        assert!(claimant.roles_on_application(&filed).is_empty());
        // The claimant's own, unverified submission: its own alone.
        let own = ApplicationFacts {
            verified: false,
            submitted_by: Some("a1"),
            ..filed
        };
        assert!(claimant.applications().admits_application(&own));
        assert_eq!(claimant.roles_on_application(&own), vec!["applicant"]);
        // Another account's unverified submission in the enterprise's name.
        let stranger = ApplicationFacts {
            verified: false,
            submitted_by: Some("stranger"),
            ..filed
        };
        assert!(!verified.applications().admits_application(&stranger));
        assert!(!claimant.applications().admits_application(&stranger));
        assert!(verified.roles_on_application(&stranger).is_empty());
        // Who moves the connection appointment: the enterprise, the hall's clerk.
        assert!(verified.may_move_appointment(&filed));
        assert!(claimant.may_move_appointment(&own));
        assert!(!claimant.may_move_appointment(&filed));
        assert!(!verified.may_move_appointment(&stranger));
        let at_hall = ApplicationFacts {
            hall_id: Some("hall-01"),
            ..filed
        };
        assert!(account(&["clerk:hall-01"]).may_move_appointment(&at_hall));
        assert!(!account(&["clerk:hall-02"]).may_move_appointment(&at_hall));
        for staff in [
            ["operator:sz-water"],
            ["supervisor"],
            ["admin"],
            ["approver:sz-zrzy"],
        ] {
            assert!(!account(&staff).may_move_appointment(&at_hall), "{staff:?}");
        }
        assert!(
            account(&["operator:sz-water"])
                .roles_on_application(&stranger)
                .is_empty()
        );
        // Who submits through a verified channel.
        assert!(verified.submission_verified(&uscc));
        assert!(!verified.submission_verified(OTHER));
        assert!(!claimant.submission_verified(&uscc));
        assert!(account(&["clerk:hall-01"]).submission_verified(&uscc));
        assert!(!Subject::Anonymous.submission_verified(&uscc));
        assert!(claimant.may(Capability::SubmitApplication));
        assert!(claimant.may(Capability::ReadApplications));
        assert!(claimant.may(Capability::ClaimEnterprise));
        assert!(!claimant.may(Capability::VerifyEnterprises));
        assert!(account(&["clerk:hall-01"]).may(Capability::VerifyEnterprises));
    }

    const OTHER: &str = "91350100M000100Y43";

    #[test]
    fn capabilities_by_role() {
        let admin = account(&["admin"]);
        assert!(admin.may(Capability::ManageAccounts));
        assert!(admin.may(Capability::ReadAudit));
        let sup = account(&["supervisor"]);
        assert!(!sup.may(Capability::ManageAccounts));
        assert!(sup.may(Capability::ReadAudit));
        assert!(sup.may(Capability::ReadApplications));
        let op = account(&["operator:sz-water"]);
        assert!(!op.may(Capability::SubmitApplication));
        assert!(op.may(Capability::ReadWorkOrders));
        assert!(!op.may(Capability::ReadAudit));
        let appr = account(&["approver:sz-zrzy"]);
        assert!(!appr.may(Capability::ReadWorkOrders));
        assert!(!Subject::Anonymous.may(Capability::ReadCalendar));
        let key = Subject::ApiKey(ApiKeySubject {
            id: "k".into(),
            name: "kiosk".into(),
            scopes: vec![Scope::ApplicationsWrite],
        });
        assert!(key.may(Capability::SubmitApplication));
        assert!(!key.may(Capability::ReadApplications));
        assert!(!key.may(Capability::ManageApiKeys));

        let mut must = account(&["admin"]);
        if let Subject::Account(a) = &mut must {
            a.must_change_password = true;
        }
        assert!(!must.may(Capability::ManageAccounts));
        assert!(must.applications().is_nothing());
    }

    #[test]
    fn password_rules() {
        assert!(check_password("Abcdef1!", "zhang").is_ok());
        assert!(check_password("abcdef12", "zhang").is_err(), "two classes");
        assert!(check_password("Ab1!", "zhang").is_err(), "short");
        assert!(
            check_password("Zhang2026!", "zhang").is_err(),
            "contains login name"
        );
        assert!(check_password(&"Aa1!".repeat(40), "x").is_err(), "too long");
        assert!(check_password("密码Abc12345", "x").is_ok());
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("0722-3331234"), "********1234");
        assert_eq!(mask_id_number("421302199001011234"), "4213**********1234");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(
            mask_phones_in(r#"{"username":"13812341234","n":"913812341234"}"#),
            r#"{"username":"138****1234","n":"913812341234"}"#
        );
        assert_eq!(mask_phones_in("admin"), "admin");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(normalize_username(" Admin "), Some("admin".into()));
        assert_eq!(normalize_username("ab"), None);
        assert_eq!(normalize_username("a b c"), None);
    }
}
