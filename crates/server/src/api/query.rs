//! Reading query parameters for the JSON API: each list declares its
//! parameters as a struct (`axum::extract::Query`), and these turn the
//! texts into typed values, naming each bad one as a field error (`422`).

use onestop_domain::form::{FieldCode, FieldError};
use serde::Deserialize;
use utoipa::IntoParams;

/// Highest page number a list accepts.
pub const MAX_PAGE: u32 = 1_000_000;

/// The parameters of a list that only pages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    pub page: Option<String>,
}

pub fn parse_code<T>(
    name: &str,
    v: Option<&str>,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = v.map(str::trim).filter(|s| !s.is_empty())?;
    let parsed = parse(v);
    if parsed.is_none() {
        errors.push(FieldError::new(name, FieldCode::UnknownValue, "取值无效"));
    }
    parsed
}

pub fn parse_page(
    name: &str,
    v: Option<&str>,
    default: u32,
    max: u32,
    errors: &mut Vec<FieldError>,
) -> u32 {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => default,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::OutOfRange,
                    format!("须为 1 到 {max} 之间的整数"),
                ));
                default
            }
        },
    }
}
