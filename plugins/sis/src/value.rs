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

/// Parses exactly `YYYY-MM-DD`.
pub(crate) fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Writes a date as ISO `YYYY-MM-DD`, the text both backends store and parse.
pub(crate) fn iso_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
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
        assert_eq!(Value::Int(3).as_f64(), Some(3.0));
        assert_eq!(Value::Real(3.5).as_i64(), None);
        assert!(Value::Null.is_null());
    }
}
