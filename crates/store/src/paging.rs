//! Paging of lists: by keyset, on a stable (sort key, id) order.
//!
//! A list is read a page at a time from a [`PageAt`]: the first pages by
//! number (an `OFFSET`, at most [`MAX_PAGE`] deep), any page after a
//! [`Cursor`]: the sort key and id of the last row shown, so that the next
//! page starts where the last one ended (`WHERE (key, id) > (…)`) whatever
//! its depth, and rows written meanwhile neither repeat nor go missing.
//!
//! A cursor is opaque to clients: it names the order it was made for and
//! its values, hex-encoded. [`Cursor::decode`] refuses one made for another
//! list or order, so the store only ever reads cursors that fit.

use crate::StoreError;
use crate::db::{Row, Value};

/// The deepest page read by number; past it, a list is read by cursor.
pub const MAX_PAGE: u32 = 100;
/// The most rows on one page.
pub const MAX_PER_PAGE: u32 = 100;
/// The longest cursor accepted (its text).
pub const MAX_CURSOR_LEN: usize = 1_024;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    /// 1-based; at most [`MAX_PAGE`].
    Number(u32),
    /// Right after the row the cursor was made from.
    After(Cursor),
}

impl Default for PageAt {
    fn default() -> Self {
        PageAt::Number(1)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The next page's number, while it is within [`MAX_PAGE`] and the list
    /// was read by number.
    pub next_page: Option<u32>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_page: self.next_page,
            next_cursor: self.next_cursor,
        }
    }
}

/// A sort key's value in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Key {
    Int(i64),
    Text(String),
}

/// A position in one list's order (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    order: &'static str,
    keys: Vec<Key>,
}

impl Cursor {
    /// The cursor a client was given for `order`, or None when the text is
    /// not one (garbled, too long, or made for another list or order).
    pub fn decode(text: &str, order: &Order) -> Option<Cursor> {
        if text.is_empty() || text.len() > MAX_CURSOR_LEN {
            return None;
        }
        let bytes = hex::decode(text).ok()?;
        let (name, keys): (String, Vec<Key>) = serde_json::from_slice(&bytes).ok()?;
        let fits = name == order.name
            && keys.len() == order.keys.len()
            && keys.iter().zip(order.keys).all(|(k, (_, kind))| {
                matches!(
                    (k, kind),
                    (Key::Int(_), KeyKind::Int) | (Key::Text(_), KeyKind::Text)
                )
            });
        fits.then_some(Cursor {
            order: order.name,
            keys,
        })
    }

    /// The text given to clients.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(&(self.order, &self.keys)).unwrap_or_default();
        hex::encode(json)
    }
}

/// The type of one sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
}

/// A list's order: SQL expressions, all ascending or all descending, the
/// last one unique (the id), so that every row has its own place.
#[derive(Debug)]
pub struct Order {
    /// Names the order in its cursors.
    pub name: &'static str,
    pub keys: &'static [(&'static str, KeyKind)],
    pub descending: bool,
}

impl Order {
    /// `, k1, k2, …`: the keys, selected after a query's own columns so that
    /// the last row of a page gives the next page's cursor.
    pub fn select(&self) -> String {
        self.keys.iter().map(|(k, _)| format!(", {k}")).collect()
    }

    /// `k1 DESC, k2 DESC, …`.
    pub fn order_by(&self) -> String {
        let dir = if self.descending { " DESC" } else { "" };
        self.keys
            .iter()
            .map(|(k, _)| format!("{k}{dir}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The condition for rows after `cursor`, its values bound in `args`:
    /// one row-value comparison, `(k1, k2, …) > ($n, $n+1, …)`.
    fn after(&self, cursor: &Cursor, args: &mut Vec<Value>) -> Result<String, StoreError> {
        if cursor.order != self.name || cursor.keys.len() != self.keys.len() {
            return Err(StoreError::Decode(format!(
                "a cursor of {} read for {}",
                cursor.order, self.name
            )));
        }
        let mut marks = Vec::new();
        for k in &cursor.keys {
            args.push(match k {
                Key::Int(v) => Value::Int(*v),
                Key::Text(v) => Value::Text(v.clone()),
            });
            marks.push(format!("${}", args.len()));
        }
        let keys: Vec<&str> = self.keys.iter().map(|(k, _)| *k).collect();
        let op = if self.descending { "<" } else { ">" };
        Ok(format!("({}) {op} ({})", keys.join(", "), marks.join(", ")))
    }

    /// The cursor after `row`, read from its last columns (see [`Order::select`]).
    fn cursor_of(&self, row: &Row) -> Result<Cursor, StoreError> {
        let first = row
            .0
            .len()
            .checked_sub(self.keys.len())
            .ok_or_else(|| StoreError::Decode("row without its sort keys".into()))?;
        let keys = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| {
                Ok(match kind {
                    KeyKind::Int => Key::Int(row.int(first + i)?),
                    KeyKind::Text => Key::Text(row.text(first + i)?.to_owned()),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Cursor {
            order: self.name,
            keys,
        })
    }
}

/// One page's query, built around a list's own SQL.
pub(crate) struct Paged<'a> {
    order: &'a Order,
    at: &'a PageAt,
    per_page: u32,
}

impl<'a> Paged<'a> {
    pub(crate) fn new(order: &'a Order, at: &'a PageAt, per_page: u32) -> Paged<'a> {
        Paged {
            order,
            at,
            per_page: per_page.clamp(1, MAX_PER_PAGE),
        }
    }

    /// Adds the cursor's condition (if any) to `clauses`.
    pub(crate) fn filter(
        &self,
        clauses: &mut Vec<String>,
        args: &mut Vec<Value>,
    ) -> Result<(), StoreError> {
        if let PageAt::After(c) = self.at {
            clauses.push(self.order.after(c, args)?);
        }
        Ok(())
    }

    /// ` ORDER BY … LIMIT $n [OFFSET $m]`: one row more than a page, to
    /// know whether another follows.
    pub(crate) fn tail(&self, args: &mut Vec<Value>) -> String {
        args.push(Value::Int(i64::from(self.per_page) + 1));
        let mut sql = format!(" ORDER BY {} LIMIT ${}", self.order.order_by(), args.len());
        if let PageAt::Number(n) = self.at {
            let skipped = i64::from((*n).clamp(1, MAX_PAGE) - 1) * i64::from(self.per_page);
            if skipped > 0 {
                args.push(Value::Int(skipped));
                sql.push_str(&format!(" OFFSET ${}", args.len()));
            }
        }
        sql
    }

    /// The page of `rows` (as read with [`Paged::tail`]), decoded.
    pub(crate) fn page<T>(
        &self,
        rows: &[Row],
        decode: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let n = self.per_page as usize;
        let more = rows.len() > n;
        let shown = &rows[..rows.len().min(n)];
        let items = shown.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match shown.last() {
            Some(last) if more => Some(self.order.cursor_of(last)?),
            _ => None,
        };
        let next_page = match self.at {
            PageAt::Number(p) if more && *p < MAX_PAGE => Some(p + 1),
            _ => None,
        };
        Ok(Page {
            items,
            next_page,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BY_ID: Order = Order {
        name: "t",
        keys: &[("at", KeyKind::Int), ("id", KeyKind::Text)],
        descending: true,
    };
    const OTHER: Order = Order {
        name: "u",
        keys: &[("at", KeyKind::Int), ("id", KeyKind::Text)],
        descending: true,
    };

    #[test]
    fn cursors_round_trip_and_fit_only_their_order() {
        let c = Cursor {
            order: "t",
            keys: vec![Key::Int(-5), Key::Text("a\"b,'c".into())],
        };
        let text = c.encode();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
        assert_eq!(Cursor::decode(&text, &BY_ID), Some(c));
        assert_eq!(Cursor::decode(&text, &OTHER), None);
        let swapped = Cursor {
            order: "t",
            keys: vec![Key::Text("x".into()), Key::Int(1)],
        };
        assert_eq!(Cursor::decode(&swapped.encode(), &BY_ID), None);
        for junk in [
            "",
            "zz",
            "00",
            &"a".repeat(2_000),
            &hex::encode("[\"t\",[1]]"),
        ] {
            assert_eq!(Cursor::decode(junk, &BY_ID), None, "{junk}");
        }
    }

    #[test]
    fn a_page_after_a_cursor_compares_row_values() {
        let c = Cursor::decode(
            &Cursor {
                order: "t",
                keys: vec![Key::Int(7), Key::Text("x".into())],
            }
            .encode(),
            &BY_ID,
        )
        .unwrap();
        let at = PageAt::After(c);
        let paged = Paged::new(&BY_ID, &at, 20);
        let (mut clauses, mut args) = (Vec::new(), vec![Value::from("first")]);
        paged.filter(&mut clauses, &mut args).unwrap();
        assert_eq!(clauses, vec!["(at, id) < ($2, $3)".to_owned()]);
        assert_eq!(paged.tail(&mut args), " ORDER BY at DESC, id DESC LIMIT $4");
        assert_eq!(args[1..], [Value::Int(7), Value::from("x"), Value::Int(21)]);
    }

    #[test]
    fn pages_by_number_stop_at_the_deepest() {
        let mut args = Vec::new();
        let third = PageAt::Number(3);
        assert_eq!(
            Paged::new(&BY_ID, &third, 10).tail(&mut args),
            " ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2"
        );
        assert_eq!(args, [Value::Int(11), Value::Int(20)]);
        let row = |i: i64| {
            Row(vec![
                Value::Int(i),
                Value::Int(i),
                Value::from(format!("r{i}")),
            ])
        };
        let rows: Vec<Row> = (0..3).map(row).collect();
        let last = PageAt::Number(MAX_PAGE);
        let page = Paged::new(&BY_ID, &last, 2)
            .page(&rows, |r| r.int(0))
            .unwrap();
        assert_eq!(page.items, vec![0, 1]);
        assert_eq!(page.next_page, None, "no page past the deepest by number");
        let next = page.next_cursor.expect("a cursor still leads on");
        assert_eq!(next.keys, vec![Key::Int(1), Key::Text("r1".into())]);
        let first = PageAt::Number(1);
        let page = Paged::new(&BY_ID, &first, 2)
            .page(&rows, |r| r.int(0))
            .unwrap();
        assert_eq!(page.next_page, Some(2));
        let end = Paged::new(&BY_ID, &first, 3)
            .page(&rows, |r| r.int(0))
            .unwrap();
        assert_eq!((end.next_page, end.next_cursor), (None, None));
    }
}
