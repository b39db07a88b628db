//! Reading the source database: the one relation a state maps its directory of education units
//! onto, turned into the [`Unit`]s the file reports.
//!
//! The job never knows a vendor's schema. It reads a contract relation, a table or a view with
//! this name and these columns (shipped as `fixtures/source-sqlite.sql` and
//! `fixtures/source-postgres.sql`, documented in `docs/README.md`):
//!
//! `edfacts_units(level TEXT /* LEA | SCH */, state_code TEXT, state_agency_number TEXT,
//! lea_id TEXT, school_id TEXT, operational BOOLEAN, had_students BOOLEAN,
//! gfsa_status TEXT NULL, explanation TEXT)`
//!
//! Section 2.2 and the guidance decide what is reported: only rows of the job's level, and of
//! those only operational units that had students during the year; the rest are counted, not
//! reported. A missing status (NULL or blank) is reported as `NO` ("If the status is missing,
//! the assumption will be that the LEA or school did not submit the report"), and remembered as
//! missing so [`derive`](crate::derive) may replace it. Units come out ordered by LEA
//! identifier, then school identifier, compared byte by byte in Rust so both backends (whose
//! collations differ) give the same order.
//!
//! Text is trimmed, blank read as missing. Values are otherwise passed on as the database holds
//! them (a status in lower case, a 15-character LEA id, a state code of three digits) so that
//! validation reports them exactly with unit and field, instead of the reader fixing them
//! silently. What the reader itself cannot interpret fails the read naming the row: a level
//! other than `LEA`/`SCH`, a flag that is not a boolean, a number or date where text belongs.

use ferry_sis::{Tx, Value};

use crate::error::Fs163Error;
use crate::model::{Level, Status, Unit};

/// The relation's name.
pub const UNITS: &str = "edfacts_units";

/// The columns the job reads, in the order it reads them.
pub const UNIT_COLUMNS: [&str; 9] = [
    "level",
    "state_code",
    "state_agency_number",
    "lea_id",
    "school_id",
    "operational",
    "had_students",
    "gfsa_status",
    "explanation",
];

/// One reported unit, and whether its status was missing in the source (reported `NO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUnit {
    /// The unit as the file reports it.
    pub unit: Unit,
    /// The source had no status: [`Unit::status`] is `NO` by the guidance.
    pub status_missing: bool,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// The units to report, ordered by LEA identifier, then school identifier.
    pub units: Vec<SourceUnit>,
    /// Rows of the level left out because the unit was not operational (closed, inactive,
    /// future).
    pub not_operational: usize,
    /// Rows of the level left out because the unit had no students during the year.
    pub no_students: usize,
    /// Rows of the other level, not part of this file.
    pub other_level: usize,
}

/// Reads the units of `level` from [`UNITS`].
///
/// # Errors
/// [`Fs163Error::Source`] when the relation cannot be read or a row cannot be interpreted,
/// naming the row and column.
pub fn read(tx: &mut Tx<'_>, level: Level) -> Result<Source, Fs163Error> {
    let sql = format!("SELECT {} FROM {UNITS}", UNIT_COLUMNS.join(", "));
    let rows = tx.query(&sql, &[]).map_err(|e| Fs163Error::Source {
        message: format!("{UNITS}: {e}"),
    })?;
    let mut source = Source::default();
    for (index, values) in rows.into_iter().enumerate() {
        let row = Row { index, values };
        let Some(row_level) = row.text(0)? else {
            return Err(row.malformed(0, "LEA or SCH"));
        };
        let row_level = Level::parse(&row_level.to_ascii_uppercase())
            .ok_or_else(|| row.malformed(0, "LEA or SCH"))?;
        if row_level != level {
            source.other_level += 1;
            continue;
        }
        if !row.flag(5)? {
            source.not_operational += 1;
            continue;
        }
        if !row.flag(6)? {
            source.no_students += 1;
            continue;
        }
        let status = row.text(7)?;
        let status_missing = status.is_none();
        source.units.push(SourceUnit {
            unit: Unit {
                state_code: row.text(1)?.unwrap_or_default(),
                state_agency_number: row.text(2)?.unwrap_or_default(),
                lea_id: row.text(3)?.unwrap_or_default(),
                school_id: row.text(4)?,
                status: status.unwrap_or_else(|| Status::No.code().to_owned()),
                explanation: row.text(8)?,
            },
            status_missing,
        });
    }
    source.units.sort_by(|a, b| {
        (
            a.unit.lea_id.as_bytes(),
            a.unit.school_id.as_deref().map(str::as_bytes),
        )
            .cmp(&(
                b.unit.lea_id.as_bytes(),
                b.unit.school_id.as_deref().map(str::as_bytes),
            ))
    });
    Ok(source)
}

/// One row read, with what error messages need to name it.
struct Row {
    /// 0-based position in the result.
    index: usize,
    values: Vec<Value>,
}

impl Row {
    fn value(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    /// The row as a message names it: its LEA and school ids when readable, else its position.
    fn name(&self) -> String {
        let id = |i: usize| match self.value(i) {
            Value::Text(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Int(n) => Some(n.to_string()),
            _ => None,
        };
        match (id(3), id(4)) {
            (Some(lea), Some(school)) => format!("school {school} of LEA {lea}"),
            (Some(lea), None) => format!("LEA {lea}"),
            _ => format!("row {} (no lea_id)", self.index + 1),
        }
    }

    fn malformed(&self, i: usize, expected: &str) -> Fs163Error {
        Fs163Error::Source {
            message: format!(
                "{UNITS}, {}: {} = {} is not {expected}",
                self.name(),
                UNIT_COLUMNS.get(i).copied().unwrap_or("?"),
                self.value(i).for_message(),
            ),
        }
    }

    /// Text, trimmed; blank is missing. An integer column is taken as its digits.
    fn text(&self, i: usize) -> Result<Option<String>, Fs163Error> {
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

    /// A boolean: `BOOLEAN` (PostgreSQL reads it as 0/1), an integer 0/1 (SQLite), or the text
    /// `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0`. NULL is refused: whether a unit is
    /// reported must not be guessed.
    fn flag(&self, i: usize) -> Result<bool, Fs163Error> {
        match self.value(i) {
            Value::Int(1) => Ok(true),
            Value::Int(0) => Ok(false),
            Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "1" => Ok(true),
                "false" | "f" | "no" | "n" | "0" => Ok(false),
                _ => Err(self.malformed(i, "a boolean")),
            },
            _ => Err(self.malformed(i, "a boolean")),
        }
    }
}

#[cfg(test)]
mod tests;
