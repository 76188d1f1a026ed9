//! Work orders as a utility sees them: listed per unit, read one by one.

use crate::StoreError;
use crate::applications::{ORDER_COLUMNS, decode_order};
use crate::db::{Conn, Row, Value};
use crate::params;
use onestop_domain::access::{OrderFacts, Visibility};
use onestop_domain::application::{Level, OrderStatus, Stage, WorkOrderItem};
use onestop_domain::config::CityConfig;
use time::UtcOffset;

/// A work order and what access checks need about its application.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub item: WorkOrderItem,
    pub uscc: String,
    pub hall_id: Option<String>,
}

impl OrderRow {
    pub fn facts(&self) -> OrderFacts<'_> {
        OrderFacts {
            unit: &self.item.order.unit.code,
            uscc: &self.uscc,
            hall_id: self.hall_id.as_deref(),
        }
    }
}

fn columns() -> String {
    let orders = ORDER_COLUMNS
        .split(", ")
        .map(|c| format!("w.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{orders}, a.number, a.applicant_name, a.district_code, a.uscc, a.hall_id")
}

fn decode(r: &Row, config: &CityConfig, offset: UtcOffset) -> Result<OrderRow, StoreError> {
    let order = decode_order(r, config, offset)?;
    Ok(OrderRow {
        item: WorkOrderItem {
            order,
            application_id: r.text(0)?.to_owned(),
            application_number: r.text(10)?.to_owned(),
            applicant_name: r.text(11)?.to_owned(),
            district_code: r.text(12)?.to_owned(),
        },
        uscc: r.text(13)?.to_owned(),
        hall_id: r.opt_text(14)?.map(str::to_owned),
    })
}

pub fn get(
    conn: &mut dyn Conn,
    id: &str,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<Option<OrderRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM work_orders w JOIN applications a ON a.id = w.application_id WHERE w.id = $1",
        columns()
    );
    conn.query_opt(&sql, params![id])?
        .map(|r| decode(&r, config, offset))
        .transpose()
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub unit: Option<String>,
    pub stage: Option<Stage>,
    pub status: Option<OrderStatus>,
    pub level: Option<Level>,
    pub page: u32,
    pub per_page: u32,
    pub visibility: Visibility,
}

/// Open orders first, then by due instant (the most urgent first).
pub fn list(
    conn: &mut dyn Conn,
    f: &OrderFilter,
    config: &CityConfig,
    offset: UtcOffset,
) -> Result<(Vec<OrderRow>, Option<u32>), StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let v = &f.visibility;
    if !v.all {
        let mut any = Vec::new();
        let mut list = |col: &str, values: &[String], args: &mut Vec<Value>| {
            if values.is_empty() {
                return;
            }
            let marks = values
                .iter()
                .map(|x| {
                    args.push(x.into());
                    format!("${}", args.len())
                })
                .collect::<Vec<_>>()
                .join(", ");
            any.push(format!("{col} IN ({marks})"));
        };
        list("w.unit_code", &v.units, &mut args);
        list("a.uscc", &v.usccs, &mut args);
        list("a.hall_id", &v.halls, &mut args);
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
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let per_page = f.per_page.clamp(1, 100);
    let page = f.page.max(1);
    let n = args.len();
    args.push(Value::Int(i64::from(per_page) + 1));
    args.push(Value::Int((i64::from(page) - 1) * i64::from(per_page)));
    let sql = format!(
        "SELECT {} FROM work_orders w JOIN applications a ON a.id = w.application_id {where_sql}
         ORDER BY CASE WHEN w.status = 'open' THEN 0 ELSE 1 END, w.due_at, w.id
         LIMIT ${} OFFSET ${}",
        columns(),
        n + 1,
        n + 2
    );
    let rows = conn.query(&sql, &args)?;
    let more = rows.len() > per_page as usize;
    let items = rows
        .iter()
        .take(per_page as usize)
        .map(|r| decode(r, config, offset))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, more.then_some(page + 1)))
}
