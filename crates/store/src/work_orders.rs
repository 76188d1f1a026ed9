//! Work orders as a utility sees them: listed per unit, read one by one.

use crate::StoreError;
use crate::applications::{ORDER_COLUMNS, decode_order, marks, visibility_clause_on};
use crate::db::Sql as _;
use crate::db::{Conn, Row, Value};
use crate::paging::{KeyKind, Order, Page, PageAt, Paged};
use crate::params;
use onestop_domain::access::{OrderFacts, Visibility};
use onestop_domain::application::{Level, OrderStatus, Stage, WorkOrderItem};
use onestop_domain::clock::{LevelInstants, StageClock};
use onestop_domain::config::CityConfig;
use time::UtcOffset;

/// A work order and what access checks need about its application.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub item: WorkOrderItem,
    pub uscc: String,
    pub hall_id: Option<String>,
    /// The application's project code (investment project approval), if any.
    pub project_code: Option<String>,
    /// The application was filed through a verified channel.
    pub identity_verified: bool,
    /// The account that submitted the application, if one did.
    pub submitted_by: Option<String>,
    /// The order's unit's latest network plan on the pre-registration the
    /// application is linked to (read by [`get`] and [`get_with_clock`]).
    pub plan: Option<onestop_domain::pre_registration::PlanCover>,
}

impl OrderRow {
    /// What the process may require of the order's application
    /// (`requires` in the process definition).
    pub fn process_facts(&self) -> Vec<&'static str> {
        let mut f = onestop_domain::pre_registration::process_facts(self.plan);
        if self.project_code.is_some() {
            f.push(onestop_domain::workflow::FACT_PROJECT_CODE);
        }
        f
    }

    pub fn facts(&self) -> OrderFacts<'_> {
        OrderFacts {
            unit: &self.item.order.unit.code,
            uscc: &self.uscc,
            hall_id: self.hall_id.as_deref(),
            verified: self.identity_verified,
            submitted_by: self.submitted_by.as_deref(),
        }
    }
}

fn columns() -> String {
    let orders = ORDER_COLUMNS
        .split(", ")
        .map(|c| format!("w.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{orders}, a.number, a.applicant_name, a.district_code, a.uscc, a.hall_id, a.project_code, \
         a.identity_verified, a.submitted_by"
    )
}

/// How many columns [`columns`] selects (and [`decode`] reads).
const ROW_WIDTH: usize = 19;

fn decode(r: &Row, config: &CityConfig, offset: UtcOffset) -> Result<OrderRow, StoreError> {
    let order = decode_order(r, config, offset)?;
    Ok(OrderRow {
        item: WorkOrderItem {
            order,
            application_id: r.text(0)?.to_owned(),
            application_number: r.text(11)?.to_owned(),
            applicant_name: r.text(12)?.to_owned(),
            district_code: r.text(13)?.to_owned(),
        },
        uscc: r.text(14)?.to_owned(),
        hall_id: r.opt_text(15)?.map(str::to_owned),
        project_code: r.opt_text(16)?.map(str::to_owned),
        identity_verified: r.int(17)? != 0,
        submitted_by: r.opt_text(18)?.filter(|s| !s.is_empty()).map(str::to_owned),
        plan: None,
    })
}

pub fn get(
    conn: &mut dyn Conn,
    id: &str,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Option<OrderRow>, StoreError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "SELECT {} FROM work_orders w JOIN applications a ON a.id = w.application_id WHERE w.id = $1",
            columns()
        )
    });
    let Some(r) = conn.query_opt(sql, params![id])? else {
        return Ok(None);
    };
    let mut row = decode(&r, config, offset)?;
    with_plan(conn, &mut row)?;
    Ok(Some(row))
}

/// Reads the order's unit's plan on its application's pre-registration.
fn with_plan(conn: &mut dyn Conn, row: &mut OrderRow) -> Result<(), StoreError> {
    row.plan = crate::pre_registrations::plan_cover(
        conn,
        &row.item.application_id,
        &row.item.order.unit.code,
    )?;
    Ok(())
}

/// An order as [`get`] reads it, with its clock, in one query (for acting
/// on it inside a write).
pub fn get_with_clock(
    conn: &mut dyn Conn,
    id: &str,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Option<(OrderRow, OrderClock)>, StoreError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "SELECT {}, w.stage_started_at, w.budget_seconds, w.suspended_seconds, w.suspended_at,
                    w.warn_at, w.due_not_before
             FROM work_orders w JOIN applications a ON a.id = w.application_id WHERE w.id = $1",
            columns()
        )
    });
    let Some(r) = conn.query_opt(sql, params![id])? else {
        return Ok(None);
    };
    let mut row = decode(&r, config, offset)?;
    with_plan(conn, &mut row)?;
    let o = &row.item.order;
    let clock = OrderClock {
        application_id: row.item.application_id.clone(),
        stage: o.stage,
        status: o.status,
        version: o.version,
        stage_started_at_ms: r.int(ROW_WIDTH)?,
        budget_seconds: r.int(ROW_WIDTH + 1)?,
        suspended_seconds: r.int(ROW_WIDTH + 2)?,
        suspended_at_ms: r.opt_int(ROW_WIDTH + 3)?,
        due_at_ms: r.int(7)?,
        level: o.level,
        warn_at_ms: r.opt_int(ROW_WIDTH + 4)?,
        not_before_ms: r.opt_int(ROW_WIDTH + 5)?,
        works_start_unknown: o.works_start_unknown,
    };
    Ok(Some((row, clock)))
}

/// How a list of orders is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrderSort {
    /// Open first, then the nearest deadline first (the default).
    #[default]
    Due,
    /// The most recently submitted first.
    Newest,
    /// The earliest submitted first.
    Oldest,
}

impl OrderSort {
    pub fn parse(s: &str) -> Option<OrderSort> {
        match s {
            "due" => Some(OrderSort::Due),
            "newest" => Some(OrderSort::Newest),
            "oldest" => Some(OrderSort::Oldest),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderSort::Due => "due",
            OrderSort::Newest => "newest",
            OrderSort::Oldest => "oldest",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrderSort::Due => "时限最近",
            OrderSort::Newest => "最新提交",
            OrderSort::Oldest => "最早提交",
        }
    }

    pub const ALL: [OrderSort; 3] = [OrderSort::Due, OrderSort::Newest, OrderSort::Oldest];

    /// The list's order, for its query and its cursors.
    pub fn order(self) -> &'static Order {
        const DUE: Order = Order {
            name: "work_orders.due",
            keys: &[
                (
                    "CASE WHEN w.status = 'open' THEN 0 ELSE 1 END",
                    KeyKind::Int,
                ),
                ("w.due_at", KeyKind::Int),
                ("w.id", KeyKind::Text),
            ],
            descending: false,
        };
        const NEWEST: Order = Order {
            name: "work_orders.newest",
            keys: &[("w.created_at", KeyKind::Int), ("w.id", KeyKind::Text)],
            descending: true,
        };
        const OLDEST: Order = Order {
            name: "work_orders.oldest",
            keys: &[("w.created_at", KeyKind::Int), ("w.id", KeyKind::Text)],
            descending: false,
        };
        match self {
            OrderSort::Due => &DUE,
            OrderSort::Newest => &NEWEST,
            OrderSort::Oldest => &OLDEST,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub unit: Option<String>,
    pub stage: Option<Stage>,
    pub status: Option<OrderStatus>,
    pub level: Option<Level>,
    /// Where the page starts (a cursor of [`OrderSort::order`]).
    pub at: PageAt,
    pub per_page: u32,
    pub visibility: Visibility,
    pub sort: OrderSort,
}

/// Open orders first, then by due instant (the most urgent first).
pub fn list(
    conn: &mut dyn Conn,
    f: &OrderFilter,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Page<OrderRow>, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let v = &f.visibility;
    if !v.all {
        let mut any = Vec::new();
        // A unit sees its own orders (not every order of its applications).
        if !v.units.is_empty() {
            any.push(format!("w.unit_code IN ({})", marks(&v.units, &mut args)));
        }
        let by_application = Visibility {
            units: Vec::new(),
            departments: Vec::new(),
            ..v.clone()
        };
        if !by_application.is_nothing() {
            visibility_clause_on(&by_application, "a.", &mut any, &mut args);
        }
        if any.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            clauses.push(format!("({})", any.join(" OR ")));
        }
    }
    let mut add = |clause: &str, val: Value, args: &mut Vec<Value>| {
        args.push(val);
        clauses.push(format!("{clause} ${}", args.len()));
    };
    if let Some(u) = &f.unit {
        add("w.unit_code =", u.into(), &mut args);
    }
    if let Some(s) = f.stage {
        add("w.stage =", s.as_str().into(), &mut args);
    }
    if let Some(s) = f.status {
        add("w.status =", s.as_str().into(), &mut args);
    }
    if let Some(l) = f.level {
        add("w.level =", l.as_str().into(), &mut args);
    }
    let order = f.sort.order();
    let paged = Paged::new(order, &f.at, f.per_page);
    paged.filter(&mut clauses, &mut args)?;
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {}{} FROM work_orders w JOIN applications a ON a.id = w.application_id {where_sql}{}",
        columns(),
        order.select(),
        paged.tail(&mut args)
    );
    let rows = conn.query(&sql, &args)?;
    paged.page(&rows, |r| decode(r, config, offset))
}

/// The clock of an order's current stage, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderClock {
    pub application_id: String,
    pub stage: Stage,
    pub status: OrderStatus,
    pub version: i64,
    pub stage_started_at_ms: i64,
    pub budget_seconds: i64,
    /// Working seconds spent in closed suspensions of this stage.
    pub suspended_seconds: i64,
    /// Start of the running suspension, if any.
    pub suspended_at_ms: Option<i64>,
    pub due_at_ms: i64,
    pub level: Level,
    /// The stage's warning instant (absent on orders from before levels).
    pub warn_at_ms: Option<i64>,
    /// The deadline is never earlier than this (see [`StageClock`]).
    pub not_before_ms: Option<i64>,
    /// Construction whose budget runs from the approval, not from the
    /// approved works' start date.
    pub works_start_unknown: bool,
}

impl OrderClock {
    /// The stage's clock. An order from before levels warns when it falls due.
    pub fn stage_clock(&self) -> StageClock {
        StageClock {
            started_at_ms: self.stage_started_at_ms,
            budget_seconds: self.budget_seconds,
            suspended_seconds: self.suspended_seconds,
            suspended_at_ms: self.suspended_at_ms,
            not_before_ms: self.not_before_ms,
            instants: LevelInstants {
                warn_at_ms: self.warn_at_ms.unwrap_or(self.due_at_ms),
                due_at_ms: self.due_at_ms,
            },
        }
    }
}

pub fn clock(conn: &mut dyn Conn, id: &str) -> Result<Option<OrderClock>, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT application_id, stage, status, version, stage_started_at, budget_seconds,
                suspended_seconds, suspended_at, due_at, level, warn_at, due_not_before,
                works_start_unknown
         FROM work_orders WHERE id = $1",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let code = |i: usize| r.text(i).map(str::to_owned);
    Ok(Some(OrderClock {
        application_id: code(0)?,
        stage: Stage::parse(r.text(1)?)
            .ok_or_else(|| StoreError::Decode(format!("stage {:?}", r.text(1))))?,
        status: OrderStatus::parse(r.text(2)?)
            .ok_or_else(|| StoreError::Decode(format!("status {:?}", r.text(2))))?,
        version: r.int(3)?,
        stage_started_at_ms: r.int(4)?,
        budget_seconds: r.int(5)?,
        suspended_seconds: r.int(6)?,
        suspended_at_ms: r.opt_int(7)?,
        due_at_ms: r.int(8)?,
        level: Level::parse(r.text(9)?)
            .ok_or_else(|| StoreError::Decode(format!("level {:?}", r.text(9))))?,
        warn_at_ms: r.opt_int(10)?,
        not_before_ms: r.opt_int(11)?,
        works_start_unknown: r.int(12)? != 0,
    }))
}

/// What the pages say beside an order besides its deadline: how much of
/// the current stage's budget is used (or how long it has been overdue) on
/// an open order, and for a finished one when it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageClock {
    pub id: String,
    pub stage_started_at_ms: i64,
    pub budget_seconds: i64,
    /// Start of the running suspension (waiting for the applicant), if any.
    pub suspended_at_ms: Option<i64>,
    pub created_at_ms: i64,
    /// The order's last change: when it finished, for a finished order.
    pub updated_at_ms: i64,
}

/// The [`PageClock`]s of the orders `ids` (unknown ids are left out).
pub fn page_clocks(conn: &mut dyn Conn, ids: &[String]) -> Result<Vec<PageClock>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut args: Vec<Value> = Vec::new();
    let sql = format!(
        "SELECT id, stage_started_at, budget_seconds, suspended_at, created_at, updated_at
         FROM work_orders WHERE id IN ({})",
        marks(ids, &mut args)
    );
    conn.query(&sql, &args)?
        .iter()
        .map(|r| {
            Ok(PageClock {
                id: r.text(0)?.to_owned(),
                stage_started_at_ms: r.int(1)?,
                budget_seconds: r.int(2)?,
                suspended_at_ms: r.opt_int(3)?,
                created_at_ms: r.int(4)?,
                updated_at_ms: r.int(5)?,
            })
        })
        .collect()
}

/// An order's finished stages taken together, as `stage_times` keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagesDone {
    /// When the last of them ended.
    pub last_ended_at_ms: i64,
    /// Their working time, suspensions excluded.
    pub working_seconds: i64,
    /// How many passed their deadline before they ended.
    pub late: i64,
    pub count: i64,
}

/// The stages order `id` finished between `from_ms` and `to_ms` (its
/// creation and its last change: the range keeps the scan of `stage_times`,
/// clustered by the end instant, short); `None` when it finished none.
pub fn stages_done(
    conn: &mut dyn Conn,
    id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<StagesDone>, StoreError> {
    let r = conn.query_opt(
        "SELECT MAX(ended_at), CAST(SUM(working_seconds) AS BIGINT), CAST(SUM(late) AS BIGINT),
                COUNT(*)
         FROM stage_times WHERE ended_at >= $1 AND ended_at <= $2 AND work_order_id = $3",
        params![from_ms, to_ms, id],
    )?;
    let Some(r) = r else {
        return Ok(None);
    };
    let count = r.int(3)?;
    if count == 0 {
        return Ok(None);
    }
    Ok(Some(StagesDone {
        last_ended_at_ms: r.int(0)?,
        working_seconds: r.int(1)?,
        late: r.int(2)?,
        count,
    }))
}

/// An order's new state after an action, with its history event.
#[derive(Debug, Clone)]
pub struct OrderUpdate {
    pub id: String,
    /// The version the actor saw; another version means someone acted first.
    pub expected_version: i64,
    /// Where the order stood before the action.
    pub from_stage: Stage,
    pub from_status: OrderStatus,
    pub stage: Stage,
    pub status: OrderStatus,
    pub stage_started_at_ms: i64,
    pub budget_seconds: i64,
    pub suspended_seconds: i64,
    pub suspended_at_ms: Option<i64>,
    /// The deadline is never earlier than this (see [`StageClock`]).
    pub not_before_ms: Option<i64>,
    /// Construction whose budget runs from the approval (see
    /// [`OrderClock::works_start_unknown`]).
    pub works_start_unknown: bool,
    pub due_at_ms: i64,
    /// The clock's level after the action, its warning instant, and when
    /// its level changes next (`None`: it does not, see [`levels`](crate::levels)).
    pub level: Level,
    pub warn_at_ms: Option<i64>,
    pub next_level_at_ms: Option<i64>,
    pub at_ms: i64,
    pub actor: String,
    /// History event kind (the action's code) and its data (JSON text,
    /// see [`transition_data`]).
    pub kind: String,
    pub data: String,
    /// The stage the action finished, for the board's figures (`None`
    /// when the action does not finish the stage, or cancels the order).
    pub ended: Option<StageEnd>,
}

/// A finished stage's clock, as `stage_times` keeps it.
pub use onestop_domain::clock::StageEnd;

impl OrderUpdate {
    /// The order's stage clock becomes `clock` (its level is the caller's).
    pub fn set_clock(&mut self, clock: &StageClock) {
        self.stage_started_at_ms = clock.started_at_ms;
        self.budget_seconds = clock.budget_seconds;
        self.suspended_seconds = clock.suspended_seconds;
        self.suspended_at_ms = clock.suspended_at_ms;
        self.not_before_ms = clock.not_before_ms;
        self.due_at_ms = clock.instants.due_at_ms;
        self.warn_at_ms = Some(clock.instants.warn_at_ms);
    }
}

/// Whether an action moving an order from `from` to `to` finishes the
/// stage it was in: the order moves to another stage, or is finished.
pub fn finishes_stage(from: (Stage, OrderStatus), to: (Stage, OrderStatus)) -> bool {
    let live = |s: OrderStatus| matches!(s, OrderStatus::Open | OrderStatus::Returned);
    live(from.1) && (from.0 != to.0 || !live(to.1))
}

/// A transition's history data: where the order came from and went, the
/// action's data, and the new deadline.
pub fn transition_data(
    from: (Stage, OrderStatus),
    to: (Stage, OrderStatus),
    data: &serde_json::Value,
    due_at_ms: i64,
) -> String {
    #[derive(serde::Serialize)]
    struct Place {
        stage: &'static str,
        status: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Moved<'a> {
        from: Place,
        to: Place,
        data: &'a serde_json::Value,
        due_at: i64,
    }
    let place = |(stage, status): (Stage, OrderStatus)| Place {
        stage: stage.as_str(),
        status: status.as_str(),
    };
    serde_json::to_string(&Moved {
        from: place(from),
        to: place(to),
        data,
        due_at: due_at_ms,
    })
    .unwrap_or_default()
}

/// Applies an action (inside the caller's transaction): the order, its
/// history event and its application's derived status together. Returns
/// false, writing nothing, when the order's version is not the expected one.
pub fn apply(
    conn: &mut dyn Conn,
    u: &OrderUpdate,
    application_id: &str,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE work_orders SET stage = $3, status = $4, level = $11, stage_started_at = $5,
             budget_seconds = $6, suspended_seconds = $7, suspended_at = $8, due_at = $9,
             updated_at = $10, warn_at = $12, next_level_at = $13, due_not_before = $14,
             works_start_unknown = $15, version = version + 1
         WHERE id = $1 AND version = $2",
        params![
            &u.id,
            u.expected_version,
            u.stage.as_str(),
            u.status.as_str(),
            u.stage_started_at_ms,
            u.budget_seconds,
            u.suspended_seconds,
            u.suspended_at_ms,
            u.due_at_ms,
            u.at_ms,
            u.level.as_str(),
            u.warn_at_ms,
            u.next_level_at_ms,
            u.not_before_ms,
            u.works_start_unknown
        ],
    )?;
    if n != 1 {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO history_events (application_id, work_order_id, at, actor, kind, data)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![application_id, &u.id, u.at_ms, &u.actor, &u.kind, &u.data],
    )?;
    if let Some(e) = &u.ended {
        record_stage(conn, u, e)?;
    }
    // Most actions move an order within the same class (say, survey to
    // design): the application's status cannot change, so it is not read.
    if onestop_domain::application::ApplicationStatus::unchanged_by(
        (u.from_stage, u.from_status),
        (u.stage, u.status),
    ) {
        return Ok(true);
    }
    let orders = conn
        .query(
            "SELECT stage, status FROM work_orders WHERE application_id = $1",
            params![application_id],
        )?
        .iter()
        .map(|r| {
            Ok((
                Stage::parse(r.text(0)?).unwrap_or(Stage::Acceptance),
                OrderStatus::parse(r.text(1)?).unwrap_or(OrderStatus::Open),
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let status = onestop_domain::application::ApplicationStatus::derive(&orders);
    conn.execute(
        "UPDATE applications SET status = $2, updated_at = $3, version = version + 1
         WHERE id = $1 AND status <> $2",
        params![application_id, status.as_str(), u.at_ms],
    )?;
    Ok(true)
}

/// Appends the finished stage to `stage_times` (the order's unit, service
/// and district read from the row just updated).
fn record_stage(conn: &mut dyn Conn, u: &OrderUpdate, e: &StageEnd) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO stage_times (ended_at, work_order_id, stage, unit_code, service,
             district_code, action, started_at, due_at, working_seconds, late)
         SELECT $1, id, $2, unit_code, service, district_code, $3, $4, $5, $6, $7
         FROM work_orders WHERE id = $8",
        params![
            u.at_ms,
            u.from_stage.as_str(),
            &u.kind,
            e.started_at_ms,
            e.due_at_ms,
            e.working_seconds,
            e.late,
            &u.id
        ],
    )?;
    Ok(())
}
