//! Applications and their work orders.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row, Value, insert_rows};
use crate::paging::{KeyKind, Order, PageAt, Paged};
use crate::params;
use onestop_domain::access::Visibility;
use onestop_domain::application::{
    Application, ApplicationStatus, Level, OrderStatus, PlannedOrder, Stage, UnitRef, WorkOrder,
    application_number, number_counter,
};
use onestop_domain::config::CityConfig;
use onestop_domain::form::ApplicationForm;
use onestop_domain::timefmt;
use time::{Date, UtcOffset};

/// A new, validated application with its fanned-out work orders.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub id: String,
    pub submitted_at_ms: i64,
    /// The local (city) date of submission, for the application number.
    pub local_date: Date,
    pub form: ApplicationForm,
    pub orders: Vec<NewWorkOrder>,
    /// Who submitted it (`anonymous`, a client name, an account).
    pub actor: String,
    /// The account that submitted it, if any.
    pub submitted_by: Option<String>,
    /// Filed through a verified channel (`Subject::submission_verified`).
    pub identity_verified: bool,
    /// The receipt's query code (see `onestop_domain::application::query_code`).
    pub query_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewWorkOrder {
    pub id: String,
    pub planned: PlannedOrder,
    /// Working-time budget of the acceptance stage, in seconds.
    pub budget_seconds: i64,
    pub due_at_ms: i64,
    /// When the acceptance stage's early warning begins.
    pub warn_at_ms: i64,
}

/// Allocates the next number of `local_date` (inside the caller's transaction).
fn next_number(conn: &mut dyn Conn, local_date: Date) -> Result<String, StoreError> {
    let row = conn
        .query_opt(
            "INSERT INTO counters (name, value) VALUES ($1, 1)
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
             RETURNING value",
            params![number_counter(local_date)],
        )?
        .ok_or_else(|| StoreError::Internal("counter returned nothing".into()))?;
    Ok(application_number(local_date, row.int(0)?))
}

/// Writes the application, its work orders and their first history events
/// (inside the caller's transaction); returns the resource.
pub fn insert(
    conn: &mut dyn Conn,
    app: &NewApplication,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Application, StoreError> {
    let number = next_number(conn, app.local_date)?;
    let form_json =
        serde_json::to_string(&app.form).map_err(|e| StoreError::Decode(e.to_string()))?;
    let f = &app.form;
    let status = ApplicationStatus::Submitted;
    conn.execute(
        "INSERT INTO applications (id, number, status, uscc, applicant_name, district_code, channel,
             mode, hall_id, project_code, contact_phone, submitted_at, updated_at, form, version,
             submitted_by, identity_verified, query_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, 1, $14, $15, $16)",
        params![
            &app.id,
            &number,
            status.as_str(),
            &f.applicant.uscc,
            &f.applicant.name,
            &f.address.district_code,
            f.channel.as_str(),
            f.mode.as_str(),
            f.hall_id.as_deref(),
            f.project_code.as_deref(),
            &f.contact.phone,
            app.submitted_at_ms,
            form_json,
            app.submitted_by.as_deref(),
            app.identity_verified,
            app.query_code.as_deref(),
        ],
    )?;
    let submitted = serde_json::json!({
        "number": number,
        "channel": f.channel.as_str(),
        "services": f.services.chosen(),
        "work_orders": app.orders.iter().map(|o| &o.id).collect::<Vec<_>>(),
    });
    // All orders in one statement, all first events in another: a batch of
    // applications costs few round trips on PostgreSQL.
    let mut order_rows = Vec::with_capacity(app.orders.len() * 17);
    let mut event_rows = Vec::with_capacity((app.orders.len() + 1) * 6);
    event_rows.extend([
        Value::from(&app.id),
        Value::Null,
        app.submitted_at_ms.into(),
        Value::from(&app.actor),
        "submitted".into(),
        submitted.to_string().into(),
    ]);
    let mut orders = Vec::with_capacity(app.orders.len());
    for (seq, o) in app.orders.iter().enumerate() {
        order_rows.extend([
            Value::from(&o.id),
            Value::from(&app.id),
            Value::from(seq as i64),
            Value::from(&o.planned.service),
            Value::from(o.planned.carrier.as_deref()),
            Value::from(&o.planned.unit_code),
            Stage::Acceptance.as_str().into(),
            OrderStatus::Open.as_str().into(),
            Level::Normal.as_str().into(),
            app.submitted_at_ms.into(),
            o.budget_seconds.into(),
            o.due_at_ms.into(),
            app.submitted_at_ms.into(),
            app.submitted_at_ms.into(),
            o.warn_at_ms.into(),
            o.warn_at_ms.into(),
            Value::from(&f.address.district_code),
        ]);
        let created = serde_json::json!({
            "service": o.planned.service,
            "carrier": o.planned.carrier,
            "unit": o.planned.unit_code,
            "stage": Stage::Acceptance.as_str(),
            "due_at": o.due_at_ms,
        });
        event_rows.extend([
            Value::from(&app.id),
            Value::from(&o.id),
            app.submitted_at_ms.into(),
            Value::from(&app.actor),
            "work_order_created".into(),
            created.to_string().into(),
        ]);
        orders.push(WorkOrder {
            id: o.id.clone(),
            service: o.planned.service.clone(),
            carrier: o.planned.carrier.clone(),
            unit: unit_ref(config, &o.planned.unit_code),
            stage: Stage::Acceptance,
            status: OrderStatus::Open,
            due_at: timefmt::from_ms(o.due_at_ms, offset),
            provisional: false,
            works_start_unknown: false,
            level: Level::Normal,
            version: 1,
        });
    }
    if !orders.is_empty() {
        insert_rows(
            conn,
            "INSERT INTO work_orders (id, application_id, seq, service, carrier, unit_code, stage,
                 status, level, stage_started_at, budget_seconds, due_at, created_at,
                 updated_at, warn_at, next_level_at, district_code, suspended_seconds, version)",
            17,
            "0, 1",
            &order_rows,
        )?;
    }
    insert_rows(
        conn,
        "INSERT INTO history_events (application_id, work_order_id, at, actor, kind, data)",
        6,
        "",
        &event_rows,
    )?;
    Ok(Application {
        id: app.id.clone(),
        number,
        status,
        submitted_at: timefmt::from_ms(app.submitted_at_ms, offset),
        form: app.form.clone(),
        identity_verified: app.identity_verified,
        submitted_by: app.submitted_by.clone(),
        work_orders: orders,
        survey: None,
        query_code: app.query_code.clone(),
    })
}

/// Appends one history event. History is never updated or deleted.
pub fn history(
    conn: &mut dyn Conn,
    application_id: &str,
    work_order_id: Option<&str>,
    at_ms: i64,
    actor: &str,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO history_events (application_id, work_order_id, at, actor, kind, data)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            application_id,
            work_order_id,
            at_ms,
            actor,
            kind,
            data.to_string()
        ],
    )?;
    Ok(())
}

/// The connection appointment (预约接入时间) an application's form carries,
/// in Unix milliseconds (`None`: none asked for, or no such application).
pub fn appointment_ms(conn: &mut dyn Conn, id: &str) -> Result<Option<i64>, StoreError> {
    let Some(r) = conn.query_opt("SELECT form FROM applications WHERE id = $1", params![id])?
    else {
        return Ok(None);
    };
    let form: ApplicationForm =
        serde_json::from_str(r.text(0)?).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(form.appointment_at.map(timefmt::to_ms))
}

/// Moves the connection appointment an application's form carries to
/// `at`, with its history event (`appointment_moved`, from and to in
/// Unix milliseconds), inside the caller's transaction. Returns the
/// appointment it replaced (itself `None` when none was asked for), or
/// `None` when there is no such application.
pub fn move_appointment(
    conn: &mut dyn Conn,
    id: &str,
    at: time::OffsetDateTime,
    actor: &str,
    now_ms: i64,
) -> Result<Option<Option<i64>>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT form, version FROM applications WHERE id = $1",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let mut form: ApplicationForm =
        serde_json::from_str(r.text(0)?).map_err(|e| StoreError::Decode(e.to_string()))?;
    let version = r.int(1)?;
    let before = form.appointment_at.map(timefmt::to_ms);
    form.appointment_at = Some(at);
    let text = serde_json::to_string(&form).map_err(|e| StoreError::Decode(e.to_string()))?;
    let n = conn.execute(
        "UPDATE applications SET form = $2, updated_at = $3, version = version + 1
         WHERE id = $1 AND version = $4",
        params![id, text, now_ms, version],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(id.to_owned()));
    }
    history(
        conn,
        id,
        None,
        now_ms,
        actor,
        "appointment_moved",
        &serde_json::json!({"from": before, "to": timefmt::to_ms(at)}),
    )?;
    Ok(Some(before))
}

pub(crate) fn unit_ref(config: &CityConfig, code: &str) -> UnitRef {
    UnitRef {
        code: code.to_owned(),
        name: config
            .unit(code)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| code.to_owned()),
    }
}

pub(crate) const APP_COLUMNS: &str =
    "id, number, status, submitted_at, form, identity_verified, submitted_by, query_code";
pub(crate) const ORDER_COLUMNS: &str = "application_id, id, service, carrier, unit_code, stage, status, due_at, level, version, \
     works_start_unknown";

fn decode_app(r: &Row, offset: UtcOffset) -> Result<Application, StoreError> {
    let form: ApplicationForm =
        serde_json::from_str(r.text(4)?).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(Application {
        id: r.text(0)?.to_owned(),
        number: r.text(1)?.to_owned(),
        status: decode_enum(r.text(2)?, ApplicationStatus::parse)?,
        submitted_at: timefmt::from_ms(r.int(3)?, offset),
        form,
        identity_verified: r.int(5)? != 0,
        submitted_by: r.opt_text(6)?.filter(|s| !s.is_empty()).map(str::to_owned),
        work_orders: Vec::new(),
        survey: None,
        query_code: r.opt_text(7)?.map(str::to_owned),
    })
}

pub(crate) fn decode_order(
    r: &Row,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<WorkOrder, StoreError> {
    Ok(WorkOrder {
        id: r.text(1)?.to_owned(),
        service: r.text(2)?.to_owned(),
        carrier: r.opt_text(3)?.map(str::to_owned),
        unit: unit_ref(config, r.text(4)?),
        stage: decode_enum(r.text(5)?, Stage::parse)?,
        status: decode_enum(r.text(6)?, OrderStatus::parse)?,
        due_at: timefmt::from_ms(r.int(7)?, offset),
        provisional: false,
        works_start_unknown: r.int(10)? != 0,
        level: decode_enum(r.text(8)?, Level::parse)?,
        version: r.int(9)?,
    })
}

fn decode_enum<T>(code: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(code).ok_or_else(|| StoreError::Decode(format!("unknown code {code:?}")))
}

pub fn get(
    conn: &mut dyn Conn,
    id: &str,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Option<Application>, StoreError> {
    let sql = format!("SELECT {APP_COLUMNS} FROM applications WHERE id = $1");
    let Some(row) = conn.query_opt(&sql, params![id])? else {
        return Ok(None);
    };
    let mut app = decode_app(&row, offset)?;
    let sql =
        format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE application_id = $1 ORDER BY seq");
    for r in conn.query(&sql, params![id])? {
        app.work_orders.push(decode_order(&r, config, offset)?);
    }
    app.survey = crate::surveys::get(conn, id, config, offset)?;
    Ok(Some(app))
}

/// The id of the application with this number.
pub fn id_by_number(conn: &mut dyn Conn, number: &str) -> Result<Option<String>, StoreError> {
    conn.query_opt(
        "SELECT id FROM applications WHERE number = $1",
        params![number],
    )?
    .map(|r| r.text(0).map(str::to_owned))
    .transpose()
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub uscc: Option<String>,
    /// Exactly this application number.
    pub number: Option<String>,
    /// Exactly this contact phone.
    pub contact_phone: Option<String>,
    pub status: Option<ApplicationStatus>,
    pub district_code: Option<String>,
    pub project_code: Option<String>,
    /// Submitted at or after (Unix ms).
    pub submitted_from_ms: Option<i64>,
    /// Submitted before (Unix ms).
    pub submitted_to_ms: Option<i64>,
    /// Where the page starts.
    pub at: PageAt,
    pub per_page: u32,
    /// Only what the caller may see (`onestop_domain::access`).
    pub visibility: Visibility,
}

/// One page of applications.
pub type Page = crate::paging::Page<Application>;

/// The order of [`list`]: newest first.
pub const ORDER: Order = Order {
    name: "applications",
    keys: &[("submitted_at", KeyKind::Int), ("id", KeyKind::Text)],
    descending: true,
};

/// `$n, $n+1, …` for `values`, bound in `args`.
pub(crate) fn marks(values: &[String], args: &mut Vec<Value>) -> String {
    values
        .iter()
        .map(|v| {
            args.push(v.into());
            format!("${}", args.len())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL form of a [`Visibility`] over `applications` (aliased `a.` when
/// `prefix` is `"a."`): one OR-ed condition (or `1 = 0`).
pub(crate) fn visibility_clause(v: &Visibility, clauses: &mut Vec<String>, args: &mut Vec<Value>) {
    visibility_clause_on(v, "", clauses, args)
}

pub(crate) fn visibility_clause_on(
    v: &Visibility,
    prefix: &str,
    clauses: &mut Vec<String>,
    args: &mut Vec<Value>,
) {
    if v.all {
        return;
    }
    let mut any = Vec::new();
    // An enterprise sees what was filed in its name through a verified channel.
    if !v.usccs.is_empty() {
        let m = marks(&v.usccs, args);
        any.push(format!(
            "({prefix}uscc IN ({m}) AND {prefix}identity_verified = 1)"
        ));
    }
    if !v.submitters.is_empty() {
        any.push(format!(
            "{prefix}submitted_by IN ({})",
            marks(&v.submitters, args)
        ));
    }
    if !v.halls.is_empty() {
        any.push(format!("{prefix}hall_id IN ({})", marks(&v.halls, args)));
    }
    if !v.units.is_empty() {
        any.push(format!(
            "{prefix}id IN (SELECT application_id FROM work_orders WHERE unit_code IN ({}))",
            marks(&v.units, args)
        ));
    }
    // A department sees the applications with an approval item of its own.
    if !v.departments.is_empty() {
        any.push(format!(
            "{prefix}id IN (SELECT c.application_id FROM approval_cases c \
             JOIN approval_items i ON i.case_id = c.id WHERE i.department_code IN ({}))",
            marks(&v.departments, args)
        ));
    }
    if any.is_empty() {
        clauses.push("1 = 0".into());
    } else {
        clauses.push(format!("({})", any.join(" OR ")));
    }
}

/// Newest first.
pub fn list(
    conn: &mut dyn Conn,
    filter: &ListFilter,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Page, StoreError> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut add = |clause: &str, v: Value| {
        args.push(v);
        clauses.push(clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(v) = &filter.uscc {
        add("uscc = ?", v.into());
    }
    if let Some(v) = &filter.number {
        add("number = ?", v.into());
    }
    if let Some(v) = &filter.contact_phone {
        add("contact_phone = ?", v.into());
    }
    if let Some(v) = filter.status {
        add("status = ?", v.as_str().into());
    }
    if let Some(v) = &filter.district_code {
        add("district_code = ?", v.into());
    }
    if let Some(v) = &filter.project_code {
        add("project_code = ?", v.into());
    }
    if let Some(v) = filter.submitted_from_ms {
        add("submitted_at >= ?", v.into());
    }
    if let Some(v) = filter.submitted_to_ms {
        add("submitted_at < ?", v.into());
    }
    visibility_clause(&filter.visibility, &mut clauses, &mut args);
    let paged = Paged::new(&ORDER, &filter.at, filter.per_page);
    paged.filter(&mut clauses, &mut args)?;
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {APP_COLUMNS}{} FROM applications {where_sql}{}",
        ORDER.select(),
        paged.tail(&mut args)
    );
    let rows = conn.query(&sql, &args)?;
    let mut page = paged.page(&rows, |r| decode_app(r, offset))?;
    let items = &mut page.items;
    if !items.is_empty() {
        let placeholders = (1..=items.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM work_orders WHERE application_id IN ({placeholders})
             ORDER BY application_id, seq"
        );
        let ids: Vec<Value> = items.iter().map(|a| Value::from(&a.id)).collect();
        for r in conn.query(&sql, &ids)? {
            let app_id = r.text(0)?;
            if let Some(app) = items.iter_mut().find(|a| a.id == app_id) {
                app.work_orders.push(decode_order(&r, config, offset)?);
            }
        }
    }
    Ok(page)
}

/// Number of history events of an application (for tests and checks).
pub fn history_count(conn: &mut dyn Conn, application_id: &str) -> Result<i64, StoreError> {
    conn.query_opt(
        "SELECT COUNT(*) FROM history_events WHERE application_id = $1",
        params![application_id],
    )?
    .map_or(Ok(0), |r| r.int(0))
}

/// Who hears about an order's progress, and what for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAudience {
    pub application_id: String,
    pub number: String,
    pub status: String,
    pub service: String,
    pub unit_code: String,
    /// The accounts told: the one that submitted the application, and, when
    /// it was filed through a verified channel, the enterprise's verified
    /// members (`applicant:<USCC>`) — those who may see it.
    pub accounts: Vec<String>,
}

/// The audience of one work order's progress (`None`: no such order).
pub fn order_audience(
    conn: &mut dyn Conn,
    work_order_id: &str,
) -> Result<Option<OrderAudience>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT a.uscc, a.number, a.status, a.id, w.service, w.unit_code, a.identity_verified,
                a.submitted_by
         FROM work_orders w JOIN applications a ON a.id = w.application_id WHERE w.id = $1",
        params![work_order_id],
    )?
    else {
        return Ok(None);
    };
    let accounts = accounts_of(conn, r.opt_text(7)?, r.text(0)?, r.int(6)? != 0)?;
    Ok(Some(OrderAudience {
        application_id: r.text(3)?.to_owned(),
        number: r.text(1)?.to_owned(),
        status: r.text(2)?.to_owned(),
        service: r.text(4)?.to_owned(),
        unit_code: r.text(5)?.to_owned(),
        accounts,
    }))
}

/// The enterprise's accounts told of an application: the enabled account
/// that submitted it, and, when it was filed through a verified channel,
/// the enterprise's verified members (`applicant:<USCC>`) — those who may
/// see it.
pub fn enterprise_accounts(
    conn: &mut dyn Conn,
    app: &Application,
) -> Result<Vec<String>, StoreError> {
    accounts_of(
        conn,
        app.submitted_by.as_deref(),
        &app.form.applicant.uscc,
        app.identity_verified,
    )
}

fn accounts_of(
    conn: &mut dyn Conn,
    submitted_by: Option<&str>,
    uscc: &str,
    verified: bool,
) -> Result<Vec<String>, StoreError> {
    let mut accounts: Vec<String> = Vec::new();
    if let Some(by) = submitted_by.filter(|s| !s.is_empty()) {
        // Only if the account is still enabled.
        if conn
            .query_opt(
                "SELECT 1 FROM accounts WHERE id = $1 AND disabled = 0",
                params![by],
            )?
            .is_some()
        {
            accounts.push(by.to_owned());
        }
    }
    if verified {
        for a in crate::notifications::holders(conn, "applicant", Some(uscc))? {
            if !accounts.contains(&a) {
                accounts.push(a);
            }
        }
    }
    Ok(accounts)
}

/// One history event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub work_order_id: Option<String>,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub data: serde_json::Value,
}

/// An application's history, oldest first.
pub fn events(conn: &mut dyn Conn, application_id: &str) -> Result<Vec<Event>, StoreError> {
    conn.query(
        "SELECT work_order_id, at, actor, kind, data FROM history_events
         WHERE application_id = $1 ORDER BY id",
        params![application_id],
    )?
    .iter()
    .map(|r| {
        Ok(Event {
            work_order_id: r.opt_text(0)?.map(str::to_owned),
            at_ms: r.int(1)?,
            actor: r.text(2)?.to_owned(),
            kind: r.text(3)?.to_owned(),
            data: serde_json::from_str(r.text(4)?).unwrap_or(serde_json::Value::Null),
        })
    })
    .collect()
}

/// The form of an application as it stands, with its revision number.
pub fn current_form(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Option<(ApplicationForm, i64)>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT form, revision FROM applications WHERE id = $1",
        params![application_id],
    )?
    else {
        return Ok(None);
    };
    let form: ApplicationForm =
        serde_json::from_str(r.text(0)?).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(Some((form, r.int(1)?)))
}

/// A correction: the application's form becomes `form` at revision
/// `revision`; the form it replaces is kept in `application_revisions`.
/// `false` (nothing written) when the application is no longer at
/// `revision - 1`.
pub fn revise(
    conn: &mut dyn Conn,
    application_id: &str,
    form: &ApplicationForm,
    revision: i64,
    work_order_id: &str,
    actor: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO application_revisions (application_id, revision, form, replaced_at, actor, work_order_id)
         SELECT id, revision, form, $3, $4, $5 FROM applications WHERE id = $1 AND revision = $2",
        params![application_id, revision - 1, at_ms, actor, work_order_id],
    )?;
    if n != 1 {
        return Ok(false);
    }
    let json = serde_json::to_string(form).map_err(|e| StoreError::Decode(e.to_string()))?;
    conn.execute(
        "UPDATE applications SET form = $2, contact_phone = $3, revision = $4, updated_at = $5,
             version = version + 1
         WHERE id = $1",
        params![application_id, json, &form.contact.phone, revision, at_ms],
    )?;
    Ok(true)
}

/// The forms an application had before its corrections, oldest first:
/// (revision, form, replaced at).
pub fn revisions(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<(i64, ApplicationForm, i64)>, StoreError> {
    conn.query(
        "SELECT revision, form, replaced_at FROM application_revisions
         WHERE application_id = $1 ORDER BY revision",
        params![application_id],
    )?
    .iter()
    .map(|r| {
        let form: ApplicationForm =
            serde_json::from_str(r.text(1)?).map_err(|e| StoreError::Decode(e.to_string()))?;
        Ok((r.int(0)?, form, r.int(2)?))
    })
    .collect()
}
