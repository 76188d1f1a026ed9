//! Shared service halls (共享营业厅): the registry, the public directory, the
//! 15-minute circle and its coverage.
//!
//! The registry lives in the database (seeded from the configuration's
//! `[[halls]]` the first time this server reads it; a seed never overwrites
//! an administrator's edit). Reads go through [`registry`], a snapshot kept in
//! memory and reloaded when the registry's stamp changes (checked at most
//! every [`RELOAD_EVERY_MS`], so several servers sharing one PostgreSQL see
//! each other's edits within seconds; a server's own edit is seen at once).

use crate::AppState;
use crate::app::error::Error;
use crate::auth::Caller;
use onestop_domain::access::Capability;
use onestop_domain::form::{FieldCode, FieldError};
use onestop_domain::hall::{self, Business, Hall, HallIndex, Mode, OpenState};
use onestop_store::audit;
use onestop_store::halls::{self as store_halls, HallChange, HallRow, HallWrite};
use serde_json::{Map, Value};
use std::sync::{Arc, RwLock};

/// How often a server looks whether another changed the registry.
pub const RELOAD_EVERY_MS: i64 = 3_000;
/// Most halls answered by the nearby search.
pub const NEARBY_LIMIT: usize = 50;
/// Most grid points sampled per district for the coverage figure.
pub const COVERAGE_POINTS: usize = 5_000;
/// Most gaps listed per district and service.
pub const GAPS_LISTED: usize = 12;

/// One registered hall with its registry state.
#[derive(Debug, Clone)]
pub struct Entry {
    pub hall: Hall,
    pub active: bool,
    pub version: i64,
    pub updated_at_ms: i64,
}

/// The registry as this server holds it: every hall, and the index of the
/// active ones for distance questions.
#[derive(Debug)]
pub struct Registry {
    stamp: (i64, i64),
    checked_at_ms: i64,
    /// Every hall, withdrawn ones too, by code.
    pub entries: Vec<Entry>,
    /// The active halls (the directory's).
    pub index: HallIndex,
}

impl Registry {
    pub fn get(&self, code: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.hall.code.as_str().cmp(code))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The active halls.
    pub fn active(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.active)
    }
}

/// This server's copy of the registry.
#[derive(Clone, Default)]
pub struct HallCache {
    inner: Arc<RwLock<Option<Arc<Registry>>>>,
    seeded: Arc<std::sync::atomic::AtomicBool>,
}

impl HallCache {
    /// The copy as last loaded, if any (for pages that cannot wait; the
    /// use cases read through [`registry`]).
    pub fn snapshot(&self) -> Option<Arc<Registry>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn put(&self, r: Arc<Registry>) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Some(r);
    }

    /// Forgets the copy (after an edit): the next read loads it again.
    pub fn invalidate(&self) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn entry(row: &HallRow, state: &AppState) -> Option<Entry> {
    let obj: Map<String, Value> = serde_json::from_str(&row.detail).ok()?;
    match hall::parse_hall(&obj, &state.config) {
        Ok(hall) => Some(Entry {
            hall,
            active: row.active,
            version: row.version,
            updated_at_ms: row.updated_at_ms,
        }),
        Err(errors) => {
            // A hall stored under an earlier configuration (a service since
            // removed): kept in the database, left out of the registry.
            tracing::warn!(hall = %row.code, problems = errors.len(), "a stored hall no longer fits the configuration");
            None
        }
    }
}

fn write_of(h: &Hall, detail: &str) -> (String, String, String, String, String) {
    (
        h.code.clone(),
        h.name.clone(),
        h.district_code.clone(),
        h.kind.as_str().to_owned(),
        detail.to_owned(),
    )
}

/// Adds the configured halls the registry does not hold yet.
pub async fn seed(state: &AppState) -> Result<Vec<String>, Error> {
    let writes: Vec<_> = state
        .config
        .seed_halls()
        .iter()
        .map(|h| write_of(h, &Value::Object(hall::to_json(h)).to_string()))
        .collect();
    let now = state.now_ms();
    let added = state
        .store
        .write(move |c| {
            let list: Vec<HallWrite<'_>> = writes
                .iter()
                .map(|(code, name, district, kind, detail)| HallWrite {
                    code,
                    name,
                    district_code: district,
                    kind,
                    detail,
                })
                .collect();
            store_halls::seed(c, &list, now)
        })
        .await?;
    if !added.is_empty() {
        tracing::info!(
            halls = added.len(),
            "service halls seeded from the configuration"
        );
    }
    Ok(added)
}

/// The registry: this server's copy, reloaded when it changed.
pub async fn registry(state: &AppState) -> Result<Arc<Registry>, Error> {
    use std::sync::atomic::Ordering;
    if !state.halls.seeded.load(Ordering::Acquire) {
        seed(state).await?;
        state.halls.seeded.store(true, Ordering::Release);
    }
    let now = state.now_ms();
    let current = state.halls.snapshot();
    if let Some(r) = &current
        && (now - r.checked_at_ms).abs() < RELOAD_EVERY_MS
    {
        return Ok(r.clone());
    }
    let stamp = state.store.read(store_halls::stamp).await?;
    if let Some(r) = current
        && r.stamp == stamp
    {
        let fresh = Arc::new(Registry {
            stamp,
            checked_at_ms: now,
            entries: r.entries.clone(),
            index: r.index.clone(),
        });
        state.halls.put(fresh.clone());
        return Ok(fresh);
    }
    let rows = state.store.read(|c| store_halls::list(c, true)).await?;
    let entries: Vec<Entry> = rows.iter().filter_map(|r| entry(r, state)).collect();
    let codes: Vec<String> = state
        .config
        .services
        .iter()
        .map(|s| s.code.clone())
        .collect();
    let index = HallIndex::new(
        entries
            .iter()
            .filter(|e| e.active)
            .map(|e| e.hall.clone())
            .collect(),
        &codes,
    );
    let r = Arc::new(Registry {
        stamp,
        checked_at_ms: now,
        entries,
        index,
    });
    state.halls.put(r.clone());
    Ok(r)
}

/// Whether `code` names a registered hall (for clerks' roles).
pub async fn exists(state: &AppState, code: &str) -> Result<bool, Error> {
    Ok(registry(state).await?.get(code).is_some())
}

/// The halls the caller works at as a clerk (`clerk:<hall>`).
pub fn clerk_halls(caller: &Caller) -> Vec<String> {
    caller
        .subject
        .scopes_of(onestop_domain::access::Role::Clerk)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A hall's name for people, from the registry as this server last loaded
/// it (the configuration's halls before the first load; the code itself
/// only for a hall no longer registered).
pub fn name_of(state: &AppState, code: &str) -> String {
    if let Some(r) = state.halls.snapshot() {
        if let Some(e) = r.get(code) {
            return e.hall.name.clone();
        }
    } else if let Some(h) = state
        .config
        .seed_halls()
        .into_iter()
        .find(|h| h.code == code)
    {
        return h.name;
    }
    code.to_owned()
}

// ── The directory ────────────────────────────────────────────────────────

/// What the directory is filtered on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub district: Option<String>,
    pub service: Option<String>,
    pub business: Option<Business>,
}

impl Filter {
    /// Checks the filter's values against the configuration.
    pub fn check(&self, state: &AppState) -> Result<(), Error> {
        let mut errors = Vec::new();
        if let Some(d) = &self.district
            && state.config.district(d).is_none()
        {
            errors.push(FieldError::new(
                "district",
                FieldCode::UnknownValue,
                "没有这个区县",
            ));
        }
        if let Some(s) = &self.service
            && state.config.service(s).is_none()
        {
            errors.push(FieldError::new(
                "service",
                FieldCode::UnknownValue,
                "没有这项业务",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(errors))
        }
    }

    fn keeps(&self, h: &Hall) -> bool {
        self.district.as_ref().is_none_or(|d| h.district_code == *d)
            && h.offers(self.service.as_deref(), self.business)
    }
}

/// A hall as the directory shows it: with whether it is open now.
#[derive(Debug, Clone)]
pub struct Listed {
    pub entry: Entry,
    pub open: OpenState,
}

/// Whether a hall is open at `now_ms`, on the city's calendar.
pub fn open_state(state: &AppState, h: &Hall, now_ms: i64) -> OpenState {
    let clock = state.clock.get();
    let now = onestop_domain::timefmt::from_ms(now_ms, state.offset);
    h.open_state(clock.calendar(), now)
}

/// The active halls matching `filter`, by district then name, each with
/// whether it is open now.
pub async fn directory(state: &AppState, filter: &Filter) -> Result<Vec<Listed>, Error> {
    filter.check(state)?;
    let r = registry(state).await?;
    let now = state.now_ms();
    let mut out: Vec<Listed> = r
        .active()
        .filter(|e| filter.keeps(&e.hall))
        .map(|e| Listed {
            open: open_state(state, &e.hall, now),
            entry: e.clone(),
        })
        .collect();
    let district_pos = |c: &str| state.config.districts.iter().position(|d| d.code == c);
    out.sort_by(|a, b| {
        district_pos(&a.entry.hall.district_code)
            .cmp(&district_pos(&b.entry.hall.district_code))
            .then(a.entry.hall.code.cmp(&b.entry.hall.code))
    });
    Ok(out)
}

/// One hall of the directory (a withdrawn hall is not found, except for
/// administrators).
pub async fn one(state: &AppState, caller: &Caller, code: &str) -> Result<Listed, Error> {
    let r = registry(state).await?;
    let e = r.get(code).ok_or(Error::NotFound)?;
    if !e.active && !caller.subject.may(Capability::ManageHalls) {
        return Err(Error::NotFound);
    }
    Ok(Listed {
        open: open_state(state, &e.hall, state.now_ms()),
        entry: e.clone(),
    })
}

// ── The 15-minute circle ─────────────────────────────────────────────────

/// Where someone is and what they want.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyQuery {
    pub lat: f64,
    pub lng: f64,
    pub service: Option<String>,
    pub business: Option<Business>,
    pub mode: Mode,
}

/// Reads a nearby query from text (query string or page form): `lat`, `lng`
/// (or `district`, whose centre is taken), `service`, `business`, `mode`.
pub fn nearby_query(
    state: &AppState,
    lat: Option<&str>,
    lng: Option<&str>,
    district: Option<&str>,
    service: Option<&str>,
    business: Option<&str>,
    mode: Option<&str>,
) -> Result<NearbyQuery, Error> {
    let mut errors = Vec::new();
    let num = |v: Option<&str>, field: &str, label: &str, errors: &mut Vec<FieldError>| {
        let v = v.map(str::trim).filter(|v| !v.is_empty())?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && v.len() <= 32 => Some(x),
            _ => {
                errors.push(FieldError::new(
                    field,
                    FieldCode::InvalidFormat,
                    format!("{label}请填写数字，例如 31.72"),
                ));
                None
            }
        }
    };
    let (lat, lng) = (
        num(lat, "lat", "纬度", &mut errors),
        num(lng, "lng", "经度", &mut errors),
    );
    let district = district.map(str::trim).filter(|d| !d.is_empty());
    let point = match (lat, lng, district) {
        (Some(lat), Some(lng), _) => {
            if state.config.city.bounds.contains(lng, lat) {
                Some((lat, lng))
            } else {
                errors.push(FieldError::new(
                    "lat",
                    FieldCode::OutOfRange,
                    format!("这个位置不在{}范围内", state.config.city.name),
                ));
                None
            }
        }
        (None, None, Some(d)) => match state.config.district(d) {
            Some(_) => {
                let e = state.config.district_extent(d);
                Some(((e.min_lat + e.max_lat) / 2.0, (e.min_lng + e.max_lng) / 2.0))
            }
            None => {
                errors.push(FieldError::new(
                    "district",
                    FieldCode::UnknownValue,
                    "没有这个区县",
                ));
                None
            }
        },
        (Some(_), None, _) if errors.is_empty() => {
            errors.push(FieldError::new(
                "lng",
                FieldCode::Required,
                "请同时填写经度",
            ));
            None
        }
        (None, Some(_), _) if errors.is_empty() => {
            errors.push(FieldError::new(
                "lat",
                FieldCode::Required,
                "请同时填写纬度",
            ));
            None
        }
        (None, None, None) if errors.is_empty() => {
            errors.push(FieldError::new(
                "lat",
                FieldCode::Required,
                "请允许使用您的位置，或选择所在区县",
            ));
            None
        }
        _ => None,
    };
    let service = service.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = service
        && state.config.service(s).is_none()
    {
        errors.push(FieldError::new(
            "service",
            FieldCode::UnknownValue,
            "没有这项业务",
        ));
    }
    let business = match business.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(b) => Business::parse(b).or_else(|| {
            errors.push(FieldError::new(
                "business",
                FieldCode::UnknownValue,
                "没有这种业务类型",
            ));
            None
        }),
    };
    let mode = match mode.map(str::trim).filter(|s| !s.is_empty()) {
        None => Mode::Walk,
        Some(m) => Mode::parse(m).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "mode",
                FieldCode::UnknownValue,
                "出行方式为步行或驾车",
            ));
            Mode::Walk
        }),
    };
    match point {
        Some((lat, lng)) if errors.is_empty() => Ok(NearbyQuery {
            lat,
            lng,
            service: service.map(str::to_owned),
            business,
            mode,
        }),
        _ => Err(Error::Invalid(errors)),
    }
}

/// A hall reached, with the estimate.
#[derive(Debug, Clone)]
pub struct Reached {
    pub listed: Listed,
    pub distance_m: f64,
    pub minutes: f64,
}

/// The answer of the 15-minute circle.
#[derive(Debug, Clone)]
pub struct NearbyAnswer {
    pub query: NearbyQuery,
    pub circle_minutes: f64,
    /// Halls within the circle offering what was asked, nearest first.
    pub within: Vec<Reached>,
    /// Per service, the nearest hall offering it (any distance), if any.
    pub nearest: Vec<(String, Option<Reached>)>,
}

/// The halls within the circle of a place, and the nearest per service.
pub async fn nearby(state: &AppState, q: NearbyQuery) -> Result<NearbyAnswer, Error> {
    let r = registry(state).await?;
    let circle = state.config.service_circle;
    let n = r.index.nearby(
        &hall::Seek {
            lat: q.lat,
            lng: q.lng,
            service: q.service.as_deref(),
            business: q.business,
            mode: q.mode,
        },
        &circle,
        NEARBY_LIMIT,
    );
    let now = state.now_ms();
    let reached = |reach: hall::Reach| {
        let h = r.index.get(reach.hall);
        let e = r.get(&h.code).cloned().unwrap_or(Entry {
            hall: h.clone(),
            active: true,
            version: 0,
            updated_at_ms: 0,
        });
        Reached {
            listed: Listed {
                open: open_state(state, h, now),
                entry: e,
            },
            distance_m: reach.distance_m,
            minutes: reach.minutes,
        }
    };
    Ok(NearbyAnswer {
        circle_minutes: circle.minutes,
        within: n.within.into_iter().map(reached).collect(),
        nearest: n
            .nearest
            .into_iter()
            .filter(|(s, _)| q.service.as_ref().is_none_or(|x| x == s))
            .map(|(s, r)| (s, r.map(reached)))
            .collect(),
        query: q,
    })
}

/// How the minutes are estimated, for people.
pub fn estimate_text(state: &AppState, mode: Mode) -> String {
    let c = &state.config.service_circle;
    let speed = match mode {
        Mode::Walk => c.walk_kmh,
        Mode::Drive => c.drive_kmh,
    };
    crate::texts::fill(
        crate::texts::halls::ESTIMATE,
        &[
            ("detour", &c.detour_factor),
            ("mode", &mode.label_zh()),
            ("speed", &speed),
        ],
    )
}

// ── Coverage (for planning) ──────────────────────────────────────────────

/// One district's coverage by the circle, per service.
#[derive(Debug, Clone)]
pub struct DistrictCoverage {
    pub district: String,
    pub points: usize,
    /// Per service: points covered, and the worst gaps (farthest first).
    pub services: Vec<(String, usize, Vec<hall::Gap>)>,
}

/// The share of sample points of each district that have a hall offering
/// each service (for `business`, any when `None`) within the circle, with
/// the gaps (supervisors and administrators).
pub async fn coverage(
    state: &AppState,
    caller: &Caller,
    mode: Mode,
    business: Option<Business>,
) -> Result<Vec<DistrictCoverage>, Error> {
    if !(caller.subject.may(Capability::Supervise) || caller.subject.may(Capability::ManageHalls)) {
        return Err(Error::forbidden());
    }
    let r = registry(state).await?;
    let circle = state.config.service_circle;
    let config = state.config.clone();
    let index = r.index.clone();
    // Sampling is CPU work: off the async threads.
    let out = tokio::task::spawn_blocking(move || {
        config
            .districts
            .iter()
            .map(|d| {
                let extent = config.district_extent(&d.code);
                let cov = index.coverage(&extent, business, mode, &circle, COVERAGE_POINTS);
                DistrictCoverage {
                    district: d.code.clone(),
                    points: cov.points,
                    services: cov
                        .services
                        .into_iter()
                        .map(|mut s| {
                            s.gaps.sort_by(|a, b| {
                                b.minutes
                                    .unwrap_or(f64::INFINITY)
                                    .total_cmp(&a.minutes.unwrap_or(f64::INFINITY))
                            });
                            s.gaps.truncate(GAPS_LISTED);
                            (s.service, s.covered, s.gaps)
                        })
                        .collect(),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|_| Error::Internal("coverage task failed"))?;
    Ok(out)
}

// ── Editing (administrators) ─────────────────────────────────────────────

fn may_manage(caller: &Caller) -> Result<(), Error> {
    if caller.subject.may(Capability::ManageHalls) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Registers a new hall from its JSON (every problem named at once; a
/// taken code is `already_exists` at `code`). Audited.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: Map<String, Value>,
) -> Result<Entry, Error> {
    may_manage(caller)?;
    let h = hall::parse_hall(&body, &state.config).map_err(Error::Invalid)?;
    let detail = Value::Object(hall::to_json(&h)).to_string();
    let (code, name, district, kind, detail) = write_of(&h, &detail);
    let now = state.now_ms();
    let actor = caller.subject.audit_identity().1.to_owned();
    let rec = caller.audit(
        now,
        "hall_created",
        "success",
        "hall",
        &code,
        serde_json::json!({"name": name, "district_code": district}),
    );
    let key = state.audit_key.clone();
    let result = state
        .store
        .write(move |c| {
            let row = store_halls::create(
                c,
                HallWrite {
                    code: &code,
                    name: &name,
                    district_code: &district,
                    kind: &kind,
                    detail: &detail,
                },
                &actor,
                now,
            )?;
            audit::append(c, &key, std::slice::from_ref(&rec))?;
            Ok(row)
        })
        .await;
    state.halls.invalidate();
    match result {
        Ok(row) => entry(&row, state).ok_or(Error::Internal("hall not readable")),
        Err(e) if e.is_unique_violation() => Err(Error::Invalid(vec![FieldError::new(
            "code",
            FieldCode::AlreadyExists,
            "这个营业厅编号已被使用，请换一个",
        )])),
        Err(e) => Err(e.into()),
    }
}

/// Changes a hall seen at `version`: its details from `body` (the code
/// cannot change), and whether it is in the directory. Audited with the
/// fields that changed.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    code: &str,
    version: i64,
    active: bool,
    mut body: Map<String, Value>,
) -> Result<Entry, Error> {
    may_manage(caller)?;
    let r = registry(state).await?;
    let before = r.get(code).ok_or(Error::NotFound)?.clone();
    body.insert("code".into(), Value::String(code.to_owned()));
    let h = hall::parse_hall(&body, &state.config).map_err(Error::Invalid)?;
    let after_json = hall::to_json(&h);
    let before_json = hall::to_json(&before.hall);
    let changed: Vec<&str> = after_json
        .iter()
        .filter(|(k, v)| before_json.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    let detail = Value::Object(after_json.clone()).to_string();
    let (code, name, district, kind, detail) = write_of(&h, &detail);
    let now = state.now_ms();
    let actor = caller.subject.audit_identity().1.to_owned();
    let action = match (before.active, active) {
        (true, false) => "hall_withdrawn",
        (false, true) => "hall_restored",
        _ => "hall_updated",
    };
    let rec = caller.audit(
        now,
        action,
        "success",
        "hall",
        &code,
        serde_json::json!({"changed": changed, "version": version + 1}),
    );
    let key = state.audit_key.clone();
    let row = state
        .store
        .write(move |c| {
            let row = store_halls::update(
                c,
                HallWrite {
                    code: &code,
                    name: &name,
                    district_code: &district,
                    kind: &kind,
                    detail: &detail,
                },
                active,
                version,
                &actor,
                now,
            )?;
            audit::append(c, &key, std::slice::from_ref(&rec))?;
            Ok(row)
        })
        .await;
    state.halls.invalidate();
    match row {
        Ok(row) => entry(&row, state).ok_or(Error::Internal("hall not readable")),
        Err(onestop_store::StoreError::Conflict(_)) => Err(Error::stale_version()),
        Err(onestop_store::StoreError::NotFound(_)) => Err(Error::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// A hall's change log (administrators), newest first.
pub async fn changes(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> Result<Vec<HallChange>, Error> {
    may_manage(caller)?;
    let code = code.to_owned();
    Ok(state
        .store
        .read(move |c| store_halls::changes(c, &code, 50))
        .await?)
}
