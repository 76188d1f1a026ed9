//! Pre-registrations (一口登记): a project's expected needs registered at
//! land transfer, the utility units it concerns, their joint visits and
//! network plans, and the applications linked to it.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::materials::Material;
use crate::params;
use onestop_domain::pre_registration::{PlanCover, PreRegistrationForm};

/// A registration's status: open until an application is linked to it.
pub const OPEN: &str = "open";
pub const APPLIED: &str = "applied";

/// One registration as stored (with what was recorded on it).
#[derive(Debug, Clone, PartialEq)]
pub struct PreRegistration {
    pub id: String,
    pub status: String,
    pub form: PreRegistrationForm,
    pub registered_at_ms: i64,
    /// Who registered it (`account:…`, `api_key:…`).
    pub registered_by: String,
    pub version: i64,
    /// Units concerned, in configuration order as written.
    pub units: Vec<String>,
    pub visits: Vec<Visit>,
    pub plans: Vec<Plan>,
    /// Applications linked to it: (id, number), oldest first.
    pub applications: Vec<(String, String)>,
    /// Files added to it, oldest first.
    pub materials: Vec<RegistrationMaterial>,
}

/// A joint visit a unit recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub id: String,
    pub unit_code: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub notes: String,
    pub recorded_at_ms: i64,
    pub recorded_by: String,
}

/// A network plan a unit recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: String,
    pub unit_code: String,
    /// `YYYY-MM-DD`.
    pub planned_date: String,
    pub notes: String,
    pub covers_survey: bool,
    pub covers_design: bool,
    pub recorded_at_ms: i64,
    pub recorded_by: String,
}

/// A file added to a registration (migration 0028), its content in the
/// blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationMaterial {
    pub id: String,
    pub pre_registration_id: String,
    /// The concerned unit it was added for (`None`: the registering department).
    pub unit_code: Option<String>,
    pub sha256: String,
    pub kind: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    /// The account that added it.
    pub uploaded_by: Option<String>,
    pub uploader_name: String,
    pub uploader_unit: Option<String>,
    pub created_at_ms: i64,
}

/// A registration to write.
#[derive(Debug, Clone)]
pub struct NewPreRegistration {
    pub id: String,
    pub form: PreRegistrationForm,
    pub registered_at_ms: i64,
    /// Local date `YYYY-MM-DD`.
    pub day: String,
    pub registered_by: String,
    pub units: Vec<String>,
}

const COLUMNS: &str = "id, status, form, registered_at, registered_by, version";

fn decode(r: &Row) -> Result<PreRegistration, StoreError> {
    let form: PreRegistrationForm =
        serde_json::from_str(r.text(2)?).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(PreRegistration {
        id: r.text(0)?.to_owned(),
        status: r.text(1)?.to_owned(),
        form,
        registered_at_ms: r.int(3)?,
        registered_by: r.text(4)?.to_owned(),
        version: r.int(5)?,
        units: Vec::new(),
        visits: Vec::new(),
        plans: Vec::new(),
        applications: Vec::new(),
        materials: Vec::new(),
    })
}

/// Is there an open registration of this project code?
pub fn open_with_code(conn: &mut dyn Conn, code: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_opt(
            "SELECT id FROM pre_registrations WHERE project_code = $1 AND status = $2",
            params![code, OPEN],
        )?
        .is_some())
}

/// Writes a new registration and its units (inside the caller's transaction).
pub fn insert(conn: &mut dyn Conn, n: &NewPreRegistration) -> Result<(), StoreError> {
    let form = serde_json::to_string(&n.form).map_err(|e| StoreError::Decode(e.to_string()))?;
    let f = &n.form;
    conn.execute(
        "INSERT INTO pre_registrations (id, project_code, status, land_parcel, enterprise_uscc,
             district_code, expected_date, form, registered_at, day, registered_by, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)",
        params![
            &n.id,
            &f.project_code,
            OPEN,
            &f.land_parcel,
            f.enterprise.uscc.as_deref(),
            &f.location.district_code,
            onestop_domain::timefmt::format_date(f.expected_date),
            form,
            n.registered_at_ms,
            &n.day,
            &n.registered_by
        ],
    )?;
    for u in &n.units {
        conn.execute(
            "INSERT INTO pre_registration_units (pre_registration_id, unit_code) VALUES ($1, $2)",
            params![&n.id, u],
        )?;
    }
    Ok(())
}

fn complete(conn: &mut dyn Conn, p: &mut PreRegistration) -> Result<(), StoreError> {
    p.units = conn
        .query(
            "SELECT unit_code FROM pre_registration_units WHERE pre_registration_id = $1",
            params![&p.id],
        )?
        .iter()
        .map(|r| r.text(0).map(str::to_owned))
        .collect::<Result<_, _>>()?;
    p.visits = conn
        .query(
            "SELECT id, unit_code, visit_date, notes, recorded_at, recorded_by
             FROM pre_registration_visits WHERE pre_registration_id = $1
             ORDER BY recorded_at, id",
            params![&p.id],
        )?
        .iter()
        .map(|r| {
            Ok(Visit {
                id: r.text(0)?.to_owned(),
                unit_code: r.text(1)?.to_owned(),
                date: r.text(2)?.to_owned(),
                notes: r.text(3)?.to_owned(),
                recorded_at_ms: r.int(4)?,
                recorded_by: r.text(5)?.to_owned(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    p.plans = conn
        .query(
            "SELECT id, unit_code, planned_date, notes, covers_survey, covers_design,
                    recorded_at, recorded_by
             FROM pre_registration_plans WHERE pre_registration_id = $1
             ORDER BY recorded_at, id",
            params![&p.id],
        )?
        .iter()
        .map(|r| {
            Ok(Plan {
                id: r.text(0)?.to_owned(),
                unit_code: r.text(1)?.to_owned(),
                planned_date: r.text(2)?.to_owned(),
                notes: r.text(3)?.to_owned(),
                covers_survey: r.int(4)? != 0,
                covers_design: r.int(5)? != 0,
                recorded_at_ms: r.int(6)?,
                recorded_by: r.text(7)?.to_owned(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    p.applications = conn
        .query(
            "SELECT id, number FROM applications WHERE pre_registration_id = $1
             ORDER BY submitted_at, id",
            params![&p.id],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?.to_owned(), r.text(1)?.to_owned())))
        .collect::<Result<_, StoreError>>()?;
    p.materials = materials_of(conn, &p.id)?;
    Ok(())
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<PreRegistration>, StoreError> {
    let Some(r) = conn.query_opt(
        &format!("SELECT {COLUMNS} FROM pre_registrations WHERE id = $1"),
        params![id],
    )?
    else {
        return Ok(None);
    };
    let mut p = decode(&r)?;
    complete(conn, &mut p)?;
    Ok(Some(p))
}

/// The registration a new application of this project code is linked to:
/// the open one, else the latest.
pub fn for_project_code(
    conn: &mut dyn Conn,
    code: &str,
) -> Result<Option<PreRegistration>, StoreError> {
    let Some(r) = conn.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM pre_registrations WHERE project_code = $1
             ORDER BY CASE WHEN status = $2 THEN 0 ELSE 1 END, registered_at DESC, id DESC
             LIMIT 1"
        ),
        params![code, OPEN],
    )?
    else {
        return Ok(None);
    };
    let mut p = decode(&r)?;
    complete(conn, &mut p)?;
    Ok(Some(p))
}

/// Which registrations a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub project_code: Option<String>,
    /// Only those concerning one of these units (`None`: every one).
    pub units: Option<Vec<String>>,
    pub limit: u32,
}

/// Registrations, newest first.
pub fn list(conn: &mut dyn Conn, f: &ListFilter) -> Result<Vec<PreRegistration>, StoreError> {
    let mut sql =
        format!("SELECT {COLUMNS} FROM pre_registrations p WHERE ($1 = '' OR project_code = $1)");
    let mut args: Vec<crate::db::Value> = vec![f.project_code.clone().unwrap_or_default().into()];
    if let Some(units) = &f.units {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..units.len()).map(|i| format!("${}", i + 2)).collect();
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM pre_registration_units u
                 WHERE u.pre_registration_id = p.id AND u.unit_code IN ({}))",
            marks.join(", ")
        ));
        args.extend(units.iter().map(|u| crate::db::Value::from(u.as_str())));
    }
    sql.push_str(&format!(
        " ORDER BY registered_at DESC, id DESC LIMIT {}",
        f.limit.clamp(1, 500)
    ));
    let rows = conn.query(&sql, &args)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut p = decode(r)?;
        complete(conn, &mut p)?;
        out.push(p);
    }
    Ok(out)
}

pub fn add_visit(conn: &mut dyn Conn, registration: &str, v: &Visit) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO pre_registration_visits (id, pre_registration_id, unit_code, visit_date,
             notes, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            &v.id,
            registration,
            &v.unit_code,
            &v.date,
            &v.notes,
            v.recorded_at_ms,
            &v.recorded_by
        ],
    )?;
    Ok(())
}

pub fn add_plan(conn: &mut dyn Conn, registration: &str, p: &Plan) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO pre_registration_plans (id, pre_registration_id, unit_code, planned_date,
             notes, covers_survey, covers_design, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            &p.id,
            registration,
            &p.unit_code,
            &p.planned_date,
            &p.notes,
            i64::from(p.covers_survey),
            i64::from(p.covers_design),
            p.recorded_at_ms,
            &p.recorded_by
        ],
    )?;
    Ok(())
}

/// Links an application to a registration (inside the submission's
/// transaction), with the application's history event; the registration
/// is no longer open.
pub fn link(
    conn: &mut dyn Conn,
    application_id: &str,
    registration_id: &str,
    at_ms: i64,
    actor: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE applications SET pre_registration_id = $2 WHERE id = $1",
        params![application_id, registration_id],
    )?;
    conn.execute(
        "UPDATE pre_registrations SET status = $2, version = version + 1
         WHERE id = $1 AND status = $3",
        params![registration_id, APPLIED, OPEN],
    )?;
    crate::applications::history(
        conn,
        application_id,
        None,
        at_ms,
        actor,
        "pre_registration_linked",
        &serde_json::json!({"pre_registration_id": registration_id}),
    )
}

/// The latest plan of `unit` on the registration `application_id` is
/// linked to, if any.
pub fn plan_cover(
    conn: &mut dyn Conn,
    application_id: &str,
    unit: &str,
) -> Result<Option<PlanCover>, StoreError> {
    let row = conn.query_opt(
        "SELECT p.covers_survey, p.covers_design FROM pre_registration_plans p
         JOIN applications a ON a.pre_registration_id = p.pre_registration_id
         WHERE a.id = $1 AND p.unit_code = $2
         ORDER BY p.recorded_at DESC, p.id DESC LIMIT 1",
        params![application_id, unit],
    )?;
    row.map(|r| {
        Ok(PlanCover {
            survey: r.int(0)? != 0,
            design: r.int(1)? != 0,
        })
    })
    .transpose()
}

/// A period's registrations: how many, how many became applications, and
/// of those how many had a stage skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub registered: i64,
    pub applied: i64,
    pub skipped: i64,
}

/// [`Figures`] of registrations made from `from_day` to `to_day`
/// (inclusive, `YYYY-MM-DD`), in one district or all.
pub fn figures(
    conn: &mut dyn Conn,
    from_day: &str,
    to_day: &str,
    district: Option<&str>,
) -> Result<Figures, StoreError> {
    let Some(r) = conn.query_opt(
        "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM applications a
                     WHERE a.pre_registration_id = p.id) THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM applications a
                     JOIN history_events h ON h.application_id = a.id
                     WHERE a.pre_registration_id = p.id AND h.kind IN ('skip_survey', 'skip_design'))
                     THEN 1 ELSE 0 END), 0)
         FROM pre_registrations p WHERE p.day >= $1 AND p.day <= $2
              AND ($3 = '' OR p.district_code = $3)",
        params![from_day, to_day, district.unwrap_or("")],
    )?
    else {
        return Ok(Figures::default());
    };
    Ok(Figures {
        registered: r.int(0)?,
        applied: r.int(1)?,
        skipped: r.int(2)?,
    })
}

// ───────────────────────────── materials ─────────────────────────────

const MATERIALS: &str = "SELECT id, pre_registration_id, unit_code, sha256, kind, file_name, \
     media_type, size, uploaded_by, uploader_name, uploader_unit, created_at \
     FROM pre_registration_materials";

fn material_row(r: &Row) -> Result<RegistrationMaterial, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    Ok(RegistrationMaterial {
        id: r.text(0)?.to_owned(),
        pre_registration_id: r.text(1)?.to_owned(),
        unit_code: owned(2)?,
        sha256: r.text(3)?.to_owned(),
        kind: r.text(4)?.to_owned(),
        file_name: r.text(5)?.to_owned(),
        media_type: r.text(6)?.to_owned(),
        size: r.int(7)?,
        uploaded_by: owned(8)?,
        uploader_name: r.text(9)?.to_owned(),
        uploader_unit: owned(10)?,
        created_at_ms: r.int(11)?,
    })
}

/// A registration's files, oldest first.
pub fn materials_of(
    conn: &mut dyn Conn,
    registration: &str,
) -> Result<Vec<RegistrationMaterial>, StoreError> {
    let sql = format!("{MATERIALS} WHERE pre_registration_id = $1 ORDER BY created_at, id");
    conn.query(&sql, params![registration])?
        .iter()
        .map(material_row)
        .collect()
}

/// A registration's file of this content.
pub fn material(
    conn: &mut dyn Conn,
    registration: &str,
    sha256: &str,
) -> Result<Option<RegistrationMaterial>, StoreError> {
    let sql = format!("{MATERIALS} WHERE pre_registration_id = $1 AND sha256 = $2");
    conn.query_opt(&sql, params![registration, sha256])?
        .map(|r| material_row(&r))
        .transpose()
}

/// The files and bytes a registration holds.
pub fn material_usage(conn: &mut dyn Conn, registration: &str) -> Result<(i64, i64), StoreError> {
    let r = conn
        .query_opt(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT)
             FROM pre_registration_materials WHERE pre_registration_id = $1",
            params![registration],
        )?
        .ok_or_else(|| StoreError::Decode("no row".into()))?;
    Ok((r.int(0)?, r.int(1)?))
}

/// Adds a file to a registration (its content recorded first, see
/// [`crate::materials::record_blob`]); when the registration already has
/// this content the one it has is answered instead, with `false`.
pub fn add_material(
    conn: &mut dyn Conn,
    m: &RegistrationMaterial,
) -> Result<(RegistrationMaterial, bool), StoreError> {
    if let Some(known) = material(conn, &m.pre_registration_id, &m.sha256)? {
        return Ok((known, false));
    }
    conn.execute(
        "INSERT INTO pre_registration_materials (id, pre_registration_id, unit_code, sha256,
             kind, file_name, media_type, size, uploaded_by, uploader_name, uploader_unit,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        params![
            &m.id,
            &m.pre_registration_id,
            m.unit_code.as_deref(),
            &m.sha256,
            &m.kind,
            &m.file_name,
            &m.media_type,
            m.size,
            m.uploaded_by.as_deref(),
            &m.uploader_name,
            m.uploader_unit.as_deref(),
            m.created_at_ms
        ],
    )?;
    Ok((m.clone(), true))
}

/// Makes a registration's file a material of an application linked to it
/// (kind, file name, uploader and time kept; the id `id`), in the caller's
/// transaction. `None` when the application has this content already.
pub fn share_material(
    conn: &mut dyn Conn,
    m: &RegistrationMaterial,
    application_id: &str,
    id: String,
) -> Result<Option<Material>, StoreError> {
    let material = Material {
        id,
        application_id: application_id.to_owned(),
        work_order_id: None,
        case_id: None,
        sha256: Some(m.sha256.clone()),
        licence: None,
        kind: m.kind.clone(),
        file_name: m.file_name.clone(),
        media_type: m.media_type.clone(),
        size: m.size,
        uploaded_by: m.uploaded_by.clone(),
        uploader_name: m.uploader_name.clone(),
        uploader_unit: m.uploader_unit.clone(),
        created_at_ms: m.created_at_ms,
    };
    let (added, new) = crate::materials::add(conn, &material)?;
    Ok(new.then_some(added))
}

/// The applications linked to a registration, oldest first.
pub fn linked_applications(
    conn: &mut dyn Conn,
    registration: &str,
) -> Result<Vec<String>, StoreError> {
    conn.query(
        "SELECT id FROM applications WHERE pre_registration_id = $1 ORDER BY submitted_at, id",
        params![registration],
    )?
    .iter()
    .map(|r| r.text(0).map(str::to_owned))
    .collect()
}

/// Makes every file of a registration a material of an application just
/// linked to it ([`share_material`]), in the caller's transaction; the
/// materials added, oldest first.
pub fn share_materials(
    conn: &mut dyn Conn,
    registration: &str,
    application_id: &str,
    mut new_id: impl FnMut() -> String,
) -> Result<Vec<Material>, StoreError> {
    let mut added = Vec::new();
    for m in materials_of(conn, registration)? {
        if let Some(a) = share_material(conn, &m, application_id, new_id())? {
            added.push(a);
        }
    }
    Ok(added)
}
