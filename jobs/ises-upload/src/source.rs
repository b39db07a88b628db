//! Reading the district's SIS: the two relations a district maps its student information
//! system onto, turned into the typed [`Incident`]s and [`Removal`]s of [`record`](crate::record).
//!
//! The job never knows a vendor's SIS schema. It reads a contract of two relations, tables or
//! views with these names and columns (shipped as `fixtures/source-sqlite.sql` and
//! `fixtures/source-postgres.sql`, documented in `docs/README.md`):
//!
//! - `ises_incidents(incident_key TEXT PRIMARY KEY, district_code, school_code, incident_id,
//!   year_incident, wsn_id, enroll_date DATE, incident_date DATE, incident_type_primary,
//!   incident_type_secondary)`: one row per `03` incident record.
//! - `ises_removals(incident_key, removal_id, year_removal_type, removal_type,
//!   removal_start_date DATE, serious_bodily_injury, early_reinstate_conditions,
//!   expulsion_return_year, modified_term, prim_disab, eng_prof_code,
//!   days_removed_current_term, services_provided, return_to_school)`: one row per `04`
//!   removal record, tied to its incident by `incident_key`.
//!
//! Codes, ids and years are text, trimmed, with an empty value read as NULL; years are exactly
//! four digits; dates are `DATE` (ISO `YYYY-MM-DD` text in SQLite); days removed is a number
//! (`REAL` in SQLite, `NUMERIC` in PostgreSQL; numeric text is accepted too). `incident_key`,
//! `school_code`, `year_incident`, `wsn_id`, `year_removal_type`, `removal_start_date` and
//! `days_removed_current_term` may not be NULL.
//!
//! Reading is strict where guessing would send the state wrong data, and leaves the rest to
//! validation: a row of another district, a removal whose incident is missing, or a value that
//! does not parse (a year `20x8`, days `abc`) is an error naming the row and value, never a row
//! silently dropped or changed. Codes are passed on as the SIS holds them so validation can
//! report a bad code exactly. With one school selected, only that school's incidents (and their
//! removals) are parsed; the district of every row is still checked.

use std::collections::HashMap;

use chrono::NaiveDate;
use ferry_sis::{Tx, Value};

use crate::error::IsesError;

use crate::record::{Incident, Removal};
use crate::write::zero_pad;

/// The incidents relation's name.
pub const INCIDENTS: &str = "ises_incidents";

/// The removals relation's name.
pub const REMOVALS: &str = "ises_removals";

/// The school code that selects every school of the district (a district file).
pub const ALL_SCHOOLS: &str = "0000";

/// The columns of `ises_incidents` the job reads, in the order it reads them.
pub const INCIDENT_COLUMNS: [&str; 10] = [
    "incident_key",
    "district_code",
    "school_code",
    "incident_id",
    "year_incident",
    "wsn_id",
    "enroll_date",
    "incident_date",
    "incident_type_primary",
    "incident_type_secondary",
];

/// The columns of `ises_removals` the job reads, in the order it reads them.
pub const REMOVAL_COLUMNS: [&str; 14] = [
    "incident_key",
    "removal_id",
    "year_removal_type",
    "removal_type",
    "removal_start_date",
    "serious_bodily_injury",
    "early_reinstate_conditions",
    "expulsion_return_year",
    "modified_term",
    "prim_disab",
    "eng_prof_code",
    "days_removed_current_term",
    "services_provided",
    "return_to_school",
];

/// What was read: the incidents and removals of the selected schools, in no particular order
/// ([`LoadFile::build`](crate::record::LoadFile::build) orders them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    /// One per `ises_incidents` row of the selected schools.
    pub incidents: Vec<Incident>,
    /// One per `ises_removals` row whose incident is among `incidents`.
    pub removals: Vec<Removal>,
}

/// Reads the incidents and removals of `district_code` from the SIS, for one school or, with
/// `school_code` [`ALL_SCHOOLS`] (`0000`), for all of them.
///
/// District and school codes compare as codes: `130` and `0130` are one district.
pub fn read(tx: &mut Tx<'_>, district_code: &str, school_code: &str) -> Result<Source, IsesError> {
    let district = setting_code("district_code", district_code)?;
    let school = setting_code("school_code", school_code)?;
    let school = (school != ALL_SCHOOLS).then_some(school);

    let sql = format!("SELECT {} FROM {INCIDENTS}", INCIDENT_COLUMNS.join(", "));
    // Every incident key of the district, mapped to whether its school is selected.
    let mut selected: HashMap<String, bool> = HashMap::new();
    let mut incidents = Vec::new();
    for row in tx.query(&sql, &[]).map_err(IsesError::sis)? {
        let row = Row::new(INCIDENTS, &INCIDENT_COLUMNS, row);
        let key = row.key()?;
        let row = row.with_key(format!("{key:?}"));
        let row_district = row.text(1)?.unwrap_or_default();
        if code_key(&row_district) != district {
            return Err(IsesError::OtherDistrict {
                incident_key: key,
                district: row_district,
                expected: district,
            });
        }
        let row_school = row.required(2, "a school code", |r, i| r.text(i))?;
        let wanted = school
            .as_deref()
            .is_none_or(|school| code_key(&row_school) == school);
        selected.insert(key.clone(), wanted);
        if !wanted {
            continue;
        }
        incidents.push(Incident {
            incident_id: row.text(3)?,
            year_incident: row.required(4, "a four-digit year", |r, i| r.year(i))?,
            wsn_id: row.required(5, "a WSN", |r, i| r.text(i))?,
            enroll_date: row.date(6)?,
            incident_date: row.date(7)?,
            incident_type_primary: row.text(8)?,
            incident_type_secondary: row.text(9)?,
            incident_key: key,
            school_code: row_school,
        });
    }

    let sql = format!("SELECT {} FROM {REMOVALS}", REMOVAL_COLUMNS.join(", "));
    let mut removals = Vec::new();
    for row in tx.query(&sql, &[]).map_err(IsesError::sis)? {
        let row = Row::new(REMOVALS, &REMOVAL_COLUMNS, row);
        let key = row.key()?;
        let removal_id = row.text(1)?;
        match selected.get(&key) {
            None => {
                return Err(IsesError::OrphanRemoval {
                    incident_key: key,
                    removal_id,
                });
            }
            Some(false) => continue,
            Some(true) => {}
        }
        let row = row.with_key(format!("{key:?} (removal_id {removal_id:?})"));
        removals.push(Removal {
            removal_id,
            year_removal_type: row.required(2, "a four-digit year", |r, i| r.year(i))?,
            removal_type: row.text(3)?,
            removal_start_date: row.required(4, "a date", |r, i| r.date(i))?,
            serious_bodily_injury: row.text(5)?,
            early_reinstate_conditions: row.text(6)?,
            expulsion_return_year: row.year(7)?,
            modified_term: row.text(8)?,
            prim_disab: row.text(9)?,
            eng_prof_code: row.text(10)?,
            days_removed_current_term: row.required(11, "a number of days", |r, i| r.days(i))?,
            services_provided: row.text(12)?,
            return_to_school: row.text(13)?,
            incident_key: key,
        });
    }
    Ok(Source {
        incidents,
        removals,
    })
}

/// A district or school setting as the four-digit code rows are compared with.
fn setting_code(field: &'static str, value: &str) -> Result<String, IsesError> {
    zero_pad(field, value.trim(), 4).map_err(|_| IsesError::Setting {
        field,
        value: value.to_owned(),
    })
}

/// A code from a row as compared with a setting: zero-padded when it is numeric and fits,
/// otherwise as it is (and then it matches no setting).
fn code_key(value: &str) -> String {
    zero_pad("CODE", value, 4).unwrap_or_else(|_| value.to_owned())
}

/// One row read, with what error messages need to name it.
struct Row {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Value>,
    /// How messages name the row (its incident_key, once read).
    key: String,
}

impl Row {
    fn new(table: &'static str, columns: &'static [&'static str], values: Vec<Value>) -> Self {
        Self {
            table,
            columns,
            values,
            key: "(unknown key)".to_owned(),
        }
    }

    fn with_key(mut self, key: String) -> Self {
        self.key = key;
        self
    }

    fn value(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    fn malformed(&self, i: usize, expected: &'static str) -> IsesError {
        IsesError::Malformed {
            table: self.table,
            key: self.key.clone(),
            column: self.columns.get(i).copied().unwrap_or("?"),
            value: self.value(i).for_message(),
            expected,
        }
    }

    /// The `incident_key` (column 0), which every row must have; names the row from then on.
    fn key(&self) -> Result<String, IsesError> {
        self.text(0)?
            .ok_or_else(|| self.malformed(0, "an incident_key"))
    }

    /// A value that may not be NULL (or empty).
    fn required<T>(
        &self,
        i: usize,
        expected: &'static str,
        read: impl Fn(&Self, usize) -> Result<Option<T>, IsesError>,
    ) -> Result<T, IsesError> {
        read(self, i)?.ok_or_else(|| self.malformed(i, expected))
    }

    /// A code, id or flag: trimmed, empty is NULL. An integer column is taken as its digits.
    fn text(&self, i: usize) -> Result<Option<String>, IsesError> {
        match self.value(i) {
            Value::Null => Ok(None),
            Value::Text(s) => {
                let s = s.trim();
                Ok((!s.is_empty()).then(|| s.to_owned()))
            }
            Value::Int(n) => Ok(Some(n.to_string())),
            Value::Real(_) | Value::Date(_) => Err(self.malformed(i, "text")),
        }
    }

    /// A year of exactly four digits.
    fn year(&self, i: usize) -> Result<Option<i32>, IsesError> {
        let Some(text) = self
            .text(i)
            .map_err(|_| self.malformed(i, "a four-digit year"))?
        else {
            return Ok(None);
        };
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse()
                .map(Some)
                .map_err(|_| self.malformed(i, "a four-digit year"))
        } else {
            Err(self.malformed(i, "a four-digit year"))
        }
    }

    /// A date: a `DATE` column, or ISO `YYYY-MM-DD` text.
    fn date(&self, i: usize) -> Result<Option<NaiveDate>, IsesError> {
        match self.value(i) {
            Value::Null => Ok(None),
            Value::Date(d) => Ok(Some(*d)),
            Value::Text(s) if s.trim().is_empty() => Ok(None),
            Value::Text(s) => Value::Text(s.trim().to_owned())
                .as_date()
                .map(Some)
                .ok_or_else(|| self.malformed(i, "a date (YYYY-MM-DD)")),
            Value::Int(_) | Value::Real(_) => Err(self.malformed(i, "a date (YYYY-MM-DD)")),
        }
    }

    /// Days removed: a number, or numeric text (PostgreSQL `numeric` reads as text).
    fn days(&self, i: usize) -> Result<Option<f64>, IsesError> {
        let days = match self.value(i) {
            Value::Null => return Ok(None),
            Value::Real(r) => *r,
            Value::Int(n) => *n as f64,
            Value::Text(s) if s.trim().is_empty() => return Ok(None),
            Value::Text(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| self.malformed(i, "a number of days"))?,
            Value::Date(_) => return Err(self.malformed(i, "a number of days")),
        };
        if days.is_finite() {
            Ok(Some(days))
        } else {
            Err(self.malformed(i, "a number of days"))
        }
    }
}

#[cfg(test)]
mod tests;
