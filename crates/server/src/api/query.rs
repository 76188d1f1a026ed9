//! Reading query parameters for the JSON API: each list declares its
//! parameters as a struct (`axum::extract::Query`), and these turn the
//! texts into typed values, naming each bad one as a field error (`422`).

use crate::texts::{self, api as t};
use onestop_domain::form::{FieldCode, FieldError};
use onestop_store::paging::{self, PageAt};
use serde::Deserialize;
use utoipa::IntoParams;

/// The parameters of a list that only pages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number, at most 100; deeper pages are read by `cursor`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub page: Option<String>,
    /// The `next_cursor` of the previous page (instead of `page`).
    #[param(max_length = 1024, pattern = r"^[0-9A-Fa-f]+$")]
    pub cursor: Option<String>,
}

/// Where a listed page starts: `page` (1 to [`paging::MAX_PAGE`]), or
/// `cursor`, the `next_cursor` a page of the list in `order` gave; not both.
pub fn page_at(
    page: Option<&str>,
    cursor: Option<&str>,
    order: &paging::Order,
    errors: &mut Vec<FieldError>,
) -> PageAt {
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|s| !s.is_empty())
    }
    match (given(page), given(cursor)) {
        (None, None) => PageAt::default(),
        (Some(p), None) => match p.parse::<u32>() {
            Ok(n) if (1..=paging::MAX_PAGE).contains(&n) => PageAt::Number(n),
            _ => {
                errors.push(FieldError::new(
                    "page",
                    FieldCode::OutOfRange,
                    texts::fill(t::PAGE_RANGE, &[("max", &paging::MAX_PAGE)]),
                ));
                PageAt::default()
            }
        },
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "cursor",
                FieldCode::InvalidFormat,
                t::PAGE_AND_CURSOR,
            ));
            PageAt::default()
        }
        (None, Some(c)) => match paging::Cursor::decode(c, order) {
            Some(c) => PageAt::After(c),
            None => {
                errors.push(FieldError::new(
                    "cursor",
                    FieldCode::InvalidFormat,
                    t::CURSOR_INVALID,
                ));
                PageAt::default()
            }
        },
    }
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
        errors.push(FieldError::new(
            name,
            FieldCode::UnknownValue,
            t::UNKNOWN_VALUE,
        ));
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
                    texts::fill(t::NUMBER_RANGE, &[("max", &max)]),
                ));
                default
            }
        },
    }
}
