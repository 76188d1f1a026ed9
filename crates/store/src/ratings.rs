//! Ratings (好差评) and the satisfaction figures per unit and hall.

use crate::StoreError;
use crate::db::Sql as _;
use crate::db::{Conn, Row};
use crate::params;
use onestop_domain::counter::{RatingLevel, RatingSubject};

/// One rating as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub id: String,
    pub subject_kind: RatingSubject,
    pub subject_id: String,
    pub application_id: Option<String>,
    pub hall: Option<String>,
    /// The unit it concerns (`None`: the whole, no one unit).
    pub unit_code: Option<String>,
    pub level: RatingLevel,
    pub comment: Option<String>,
    /// `online` (the enterprise) or `window` (given at a window, recorded
    /// by the clerk).
    pub channel: String,
    /// Who recorded it (`account:…`, `api_key:…`) and their account.
    pub rater: String,
    pub rater_account: Option<String>,
    /// One rating per subject, unit and this key.
    pub rater_key: String,
    pub at_ms: i64,
    pub day: String,
    pub follow_up_id: Option<String>,
}

const COLUMNS: &str = "id, subject_kind, subject_id, application_id, hall, unit_code, score, \
     comment, channel, rater, rater_account, rater_key, at, day, follow_up_id";

fn from_row(r: &Row) -> Result<Rating, StoreError> {
    let owned = |i: usize| r.opt_text(i).map(|v| v.map(str::to_owned));
    let kind = r.text(1)?;
    Ok(Rating {
        id: r.text(0)?.to_owned(),
        subject_kind: RatingSubject::parse(kind)
            .ok_or_else(|| StoreError::Decode(format!("rating subject {kind:?}")))?,
        subject_id: r.text(2)?.to_owned(),
        application_id: owned(3)?,
        hall: owned(4)?,
        unit_code: owned(5)?.filter(|u| !u.is_empty()),
        level: RatingLevel::from_score(r.int(6)?)
            .ok_or_else(|| StoreError::Decode(format!("rating score {:?}", r.int(6))))?,
        comment: owned(7)?,
        channel: r.text(8)?.to_owned(),
        rater: r.text(9)?.to_owned(),
        rater_account: owned(10)?,
        rater_key: r.text(11)?.to_owned(),
        at_ms: r.int(12)?,
        day: r.text(13)?.to_owned(),
        follow_up_id: owned(14)?,
    })
}

/// A new rating (inside the caller's transaction); `false` when this rater
/// already rated this subject for this unit (nothing written).
pub fn insert(conn: &mut dyn Conn, r: &Rating) -> Result<bool, StoreError> {
    Ok(conn.execute(
        &format!(
            "INSERT INTO ratings ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (subject_kind, subject_id, unit_code, rater_key) DO NOTHING"
        ),
        params![
            &r.id,
            r.subject_kind.as_str(),
            &r.subject_id,
            r.application_id.as_deref(),
            r.hall.as_deref(),
            r.unit_code.as_deref().unwrap_or(""),
            r.level.score(),
            r.comment.as_deref(),
            &r.channel,
            &r.rater,
            r.rater_account.as_deref(),
            &r.rater_key,
            r.at_ms,
            &r.day,
            r.follow_up_id.as_deref()
        ],
    )? == 1)
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Rating>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM ratings WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The ratings of an application (and of its work orders), oldest first.
pub fn of_application(
    conn: &mut dyn Conn,
    application_id: &str,
) -> Result<Vec<Rating>, StoreError> {
    conn.query(
        &format!("SELECT {COLUMNS} FROM ratings WHERE application_id = $1 ORDER BY at, id"),
        params![application_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The ratings of one subject, oldest first.
pub fn of_subject(
    conn: &mut dyn Conn,
    kind: RatingSubject,
    subject_id: &str,
) -> Result<Vec<Rating>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM ratings WHERE subject_kind = $1 AND subject_id = $2
             ORDER BY at, id"
        ),
        params![kind.as_str(), subject_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Ratings given at one hall on one day, the latest first (at most `limit`).
pub fn of_hall_day(
    conn: &mut dyn Conn,
    hall: &str,
    day: &str,
    limit: u32,
) -> Result<Vec<Rating>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM ratings WHERE hall = $1 AND day = $2 AND channel = 'window'
             ORDER BY at DESC, id DESC LIMIT $3"
        ),
        params![hall, day, i64::from(limit)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Satisfaction of one unit or hall over a period: ratings by level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Satisfaction {
    /// The unit's or hall's code (empty: ratings of no one unit).
    pub code: String,
    /// Count of ratings at each score, index 0 for score 1 … 4 for score 5.
    pub by_score: [i64; 5],
}

impl Satisfaction {
    pub fn total(&self) -> i64 {
        self.by_score.iter().sum()
    }

    /// Ratings of 基本满意 or better.
    pub fn satisfied(&self) -> i64 {
        self.by_score[2..].iter().sum()
    }

    /// Ratings of 不满意 or worse.
    pub fn bad(&self) -> i64 {
        self.by_score[..2].iter().sum()
    }

    /// The share satisfied (`None` without ratings).
    pub fn rate(&self) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| self.satisfied() as f64 / t as f64)
    }

    /// The average score, 1 to 5 (`None` without ratings).
    pub fn average(&self) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| {
            self.by_score
                .iter()
                .enumerate()
                .map(|(i, n)| (i as i64 + 1) * n)
                .sum::<i64>() as f64
                / t as f64
        })
    }
}

fn satisfaction(
    conn: &mut dyn Conn,
    column: &str,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<Satisfaction>, StoreError> {
    let rows = conn.query(
        &format!(
            "SELECT COALESCE({column}, ''), score, COUNT(*) FROM ratings
             WHERE day >= $1 AND day <= $2
             GROUP BY COALESCE({column}, ''), score ORDER BY 1"
        ),
        params![from_day, to_day],
    )?;
    let mut out: Vec<Satisfaction> = Vec::new();
    for r in &rows {
        let code = r.text(0)?;
        let score = r.int(1)?;
        if !(1..=5).contains(&score) {
            continue;
        }
        if out.last().is_none_or(|s| s.code != code) {
            out.push(Satisfaction {
                code: code.to_owned(),
                ..Satisfaction::default()
            });
        }
        if let Some(s) = out.last_mut() {
            s.by_score[(score - 1) as usize] += r.int(2)?;
        }
    }
    Ok(out)
}

/// Ratings per unit from `from_day` to `to_day` (inclusive).
pub fn satisfaction_by_unit(
    conn: &mut dyn Conn,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<Satisfaction>, StoreError> {
    satisfaction(conn, "NULLIF(unit_code, '')", from_day, to_day)
}

/// Ratings per hall from `from_day` to `to_day` (inclusive); those of no
/// hall (online) under the empty code.
pub fn satisfaction_by_hall(
    conn: &mut dyn Conn,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<Satisfaction>, StoreError> {
    satisfaction(conn, "hall", from_day, to_day)
}
