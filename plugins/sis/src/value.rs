//! The one value type that crosses the API, in both directions: parameters, rows read and rows
//! bulk-loaded. Five kinds are enough for SIS tables and map the same way on both backends, so
//! job code never sees a driver type.

use chrono::NaiveDate;

/// A value bound to a statement, loaded by `bulk_insert`, or read back by `query`.
///
/// `Null` and `Text(String::new())` are different values on both backends.
/// On SQLite a `Date` is stored as ISO text (`YYYY-MM-DD`), and reads back as a `Date` from a
/// column declared `DATE` (as `Text` from an expression).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer column (`INTEGER`, `smallint`, `int`, `bigint`).
    Int(i64),
    /// A floating-point column (`REAL`, `real`, `double precision`).
    Real(f64),
    /// Text (`TEXT`, `varchar`, `char`); PostgreSQL `numeric` also reads as text, exactly.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
}

impl Value {
    /// The value as an error message names it: `NULL`, a number, quoted text, an ISO date, so
    /// an operator can tell an empty string from NULL and `"12"` from `12`.
    pub fn for_message(&self) -> String {
        match self {
            Value::Null => "NULL".to_owned(),
            Value::Int(n) => n.to_string(),
            Value::Real(r) => r.to_string(),
            Value::Text(s) => format!("{s:?}"),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The integer, if this is an `Int`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, if this is a `Real` or an `Int`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Real(r) => Some(*r),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The text, if this is `Text`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The date, if this is a `Date` or ISO `YYYY-MM-DD` text (how SQLite returns a date computed
    /// by an expression).
    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            Value::Text(s) => parse_iso_date(s),
            _ => None,
        }
    }
}

/// A value borrowed, for [`Tx::bulk_insert`](crate::Tx::bulk_insert): rows built from text
/// already in memory (a file just read) are loaded from where the text is, instead of each field
/// being copied into a `String` of a [`Value`] first; on a million-row load that copying and
/// freeing cost about as much as the inserts themselves. Same kinds, same meaning as [`Value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text, borrowed.
    Text(&'a str),
    /// A calendar date.
    Date(NaiveDate),
}

/// What a bulk load takes as a value: a [`Value`] or a [`ValueRef`].
pub trait AsValueRef {
    /// The value, borrowed.
    fn as_value_ref(&self) -> ValueRef<'_>;
}

impl AsValueRef for Value {
    fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Int(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(s) => ValueRef::Text(s),
            Value::Date(d) => ValueRef::Date(*d),
        }
    }
}

impl AsValueRef for ValueRef<'_> {
    fn as_value_ref(&self) -> ValueRef<'_> {
        *self
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> ValueRef<'a> {
        v.as_value_ref()
    }
}

impl<'a> From<&'a str> for ValueRef<'a> {
    fn from(v: &'a str) -> ValueRef<'a> {
        ValueRef::Text(v)
    }
}

impl From<i64> for ValueRef<'_> {
    fn from(v: i64) -> Self {
        ValueRef::Int(v)
    }
}

impl From<NaiveDate> for ValueRef<'_> {
    fn from(v: NaiveDate) -> Self {
        ValueRef::Date(v)
    }
}

impl<'a, T: Into<ValueRef<'a>>> From<Option<T>> for ValueRef<'a> {
    fn from(v: Option<T>) -> ValueRef<'a> {
        v.map_or(ValueRef::Null, Into::into)
    }
}

/// Parses exactly `YYYY-MM-DD`.
pub(crate) fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Writes a date as ISO `YYYY-MM-DD`, the text both backends store and parse.
pub(crate) fn iso_date(d: &NaiveDate) -> String {
    let mut buf = [0u8; 10];
    match iso_date_bytes(d, &mut buf) {
        Some(text) => text.to_owned(),
        None => d.format("%Y-%m-%d").to_string(),
    }
}

/// `YYYY-MM-DD` written into `buf` without the formatting machinery (a bulk load writes
/// millions); `None` for a year outside 0..=9999, which needs more than four digits or a sign.
pub(crate) fn iso_date_bytes<'b>(d: &NaiveDate, buf: &'b mut [u8; 10]) -> Option<&'b str> {
    use chrono::Datelike;
    let year = u32::try_from(d.year()).ok().filter(|y| *y <= 9999)?;
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, d.month());
    put(8, 2, d.day());
    buf[4] = b'-';
    buf[7] = b'-';
    std::str::from_utf8(buf).ok()
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Value {
        Value::Date(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_accessors() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(Value::from(Some(5_i32)), Value::Int(5));
        assert_eq!(Value::from(None::<&str>), Value::Null);
        assert_eq!(Value::from(""), Value::Text(String::new()));
        assert_ne!(Value::from(""), Value::Null);
        assert_eq!(Value::Text("2024-02-29".into()).as_date(), Some(d));
        assert_eq!(Value::Text("2024-2-29".into()).as_date(), None);
        assert_eq!(Value::Date(d).as_date(), Some(d));
        assert_eq!(iso_date(&d), "2024-02-29");
        let early = NaiveDate::from_ymd_opt(7, 1, 9).unwrap();
        assert_eq!(iso_date(&early), "0007-01-09");
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap();
        assert_eq!(iso_date(&far), far.format("%Y-%m-%d").to_string());
        assert_eq!(Value::Text("x".into()).as_value_ref(), ValueRef::Text("x"));
        assert_eq!(ValueRef::from(None::<&str>), ValueRef::Null);
        assert_eq!(ValueRef::from(Some("a")), ValueRef::Text("a"));
        assert_eq!(Value::Date(d).as_value_ref(), ValueRef::Date(d));
        assert_eq!(Value::Int(3).as_f64(), Some(3.0));
        assert_eq!(Value::Real(3.5).as_i64(), None);
        assert!(Value::Null.is_null());
    }
}
