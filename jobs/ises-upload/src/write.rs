//! Turning [`record`](crate::record)s into the Load File's exact bytes and name.
//!
//! ISES rejects a whole file over one malformed byte, so nothing here is lenient: every field
//! is in ASCII double quotes (never the curly quotes of the spec's examples), NULL is `""`,
//! dates are `MM/DD/YYYY`, days removed have one decimal, codes with a FORMAT of digits are
//! zero-padded to their width, and a value that cannot be written exactly is an error naming
//! the field and value rather than something quietly truncated, rounded or transcoded.

use chrono::NaiveDate;

use crate::error::IsesError;
use crate::record::{
    COLLECTION, Dtg, Header, Incident, LoadFile, RECORD_TYPE, Record, Removal, School,
};

/// Every line of the Load File ends with CR LF.
pub const LINE_END: &str = "\r\n";

/// The file-type tag of a Discipline Load File name (`IDL`, "ISES Discipline Load").
pub const FILE_TYPE: &str = "IDL";

/// `value` as a numeric code of exactly `width` digits with leading zeroes (FORMAT `0009`).
///
/// Anything but ASCII digits, an empty value, or more digits than `width` is an error: a
/// longer code cannot be shortened without naming another school or student.
pub fn zero_pad(field: &'static str, value: &str, width: usize) -> Result<String, IsesError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IsesError::NotNumeric {
            field,
            value: value.to_owned(),
            width,
        });
    }
    if value.len() > width {
        return Err(IsesError::TooLong {
            field,
            value: value.to_owned(),
            width,
        });
    }
    Ok(format!("{value:0>width$}"))
}

/// A year as FORMAT `YYYY`.
pub fn format_year(field: &'static str, year: i32) -> Result<String, IsesError> {
    if (1000..=9999).contains(&year) {
        Ok(year.to_string())
    } else {
        Err(IsesError::Year { field, value: year })
    }
}

/// A date as `MM/DD/YYYY` (A.1.1).
pub fn format_date(field: &'static str, date: NaiveDate) -> Result<String, IsesError> {
    use chrono::Datelike;
    format_year(field, date.year())?;
    Ok(date.format("%m/%d/%Y").to_string())
}

/// The header's date-time group as `MM-DD-YYYY HH:MM:SS CST` (A.1.2, Table B-1).
pub fn format_dtg(dtg: &Dtg) -> Result<String, IsesError> {
    format_date("DTG", dtg.date())?;
    Ok(dtg.cst().format("%m-%d-%Y %H:%M:%S CST").to_string())
}

/// Days removed with exactly one decimal (`4.0`, `45.0`, `2.5`).
///
/// A value that one decimal cannot hold exactly (`4.25`), a negative or non-finite value, or
/// one with more than the spec's three digits before the point is an error, never rounded.
pub fn format_days_removed(days: f64) -> Result<String, IsesError> {
    let tenths = days * 10.0;
    let whole_tenths = tenths.round();
    if !days.is_finite()
        || days < 0.0
        || (tenths - whole_tenths).abs() > 1e-6
        || whole_tenths >= 10_000.0
    {
        return Err(IsesError::DaysRemoved { value: days });
    }
    // In range 0..10_000 and integral, so the conversion is exact.
    let tenths = whole_tenths as u32;
    Ok(format!("{}.{}", tenths / 10, tenths % 10))
}

/// The Load File's name, `S_DDDD_SSSS_MMDDYYYY_IDL_NNNNN.csv` (2.3.1.1): the district, the
/// file's scope (`0000` for a district file, else the one school), the DTG's CST date and the
/// header's sequence number, so name and header can never disagree.
pub fn file_name(header: &Header, school_scope: &str) -> Result<String, IsesError> {
    let district = zero_pad("DISTRICT", &header.district_code, 4)?;
    let school = zero_pad("SCHOOL", school_scope, 4)?;
    let date = header.dtg.date();
    format_date("DTG", date)?;
    let seq = zero_pad("SEQ_NUM", &header.seq_num.to_string(), 5)?;
    Ok(format!(
        "S_{district}_{school}_{}_{FILE_TYPE}_{seq}.csv",
        date.format("%m%d%Y")
    ))
}

/// One record as a line of the Load File, without its line end.
pub fn record_line(record: &Record<'_>) -> Result<String, IsesError> {
    let fields = match record {
        Record::Header(header) => header_fields(header)?,
        Record::School(school) => school_fields(school)?,
        Record::Incident(incident) => incident_fields(incident)?,
        Record::Removal(removal) => removal_fields(removal)?,
        Record::Trailer => vec![Field::new("HEADER", "05"), Field::new("EOF", "EOF")],
    };
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        quote_into(&mut line, field)?;
    }
    Ok(line)
}

/// The whole Load File: every record in order, each line ending in CR LF.
pub fn load_file_bytes(file: &LoadFile) -> Result<Vec<u8>, IsesError> {
    let mut out = String::new();
    for record in file.records() {
        out.push_str(&record_line(&record)?);
        out.push_str(LINE_END);
    }
    Ok(out.into_bytes())
}

/// A field's spec name and the text to write (empty for NULL).
struct Field {
    name: &'static str,
    value: String,
}

impl Field {
    fn new(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
        }
    }

    fn text(name: &'static str, value: &Option<String>) -> Self {
        Self::new(name, value.as_deref().unwrap_or(""))
    }

    fn date(name: &'static str, value: Option<NaiveDate>) -> Result<Self, IsesError> {
        let text = match value {
            Some(date) => format_date(name, date)?,
            None => String::new(),
        };
        Ok(Self::new(name, text))
    }
}

fn quote_into(line: &mut String, field: &Field) -> Result<(), IsesError> {
    if !field.value.is_ascii() {
        return Err(IsesError::NonAscii {
            field: field.name,
            value: field.value.clone(),
        });
    }
    if field
        .value
        .bytes()
        .any(|b| b == b'"' || b.is_ascii_control())
    {
        return Err(IsesError::Unquotable {
            field: field.name,
            value: field.value.clone(),
        });
    }
    line.push('"');
    line.push_str(&field.value);
    line.push('"');
    Ok(())
}

fn header_fields(header: &Header) -> Result<Vec<Field>, IsesError> {
    Ok(vec![
        Field::new("HEADER", "01"),
        Field::new("DTG", format_dtg(&header.dtg)?),
        Field::new(
            "SEQ_NUM",
            zero_pad("SEQ_NUM", &header.seq_num.to_string(), 5)?,
        ),
        Field::new("COLLECTION", COLLECTION),
        Field::new("DISTRICT", zero_pad("DISTRICT", &header.district_code, 4)?),
    ])
}

fn school_fields(school: &School) -> Result<Vec<Field>, IsesError> {
    Ok(vec![
        Field::new("HEADER", "02"),
        Field::new("SCHOOL", zero_pad("SCHOOL", &school.school_code, 4)?),
        Field::new("RECORD_TYPE", RECORD_TYPE),
        Field::new("YEAR", format_year("YEAR", school.year)?),
    ])
}

fn incident_fields(incident: &Incident) -> Result<Vec<Field>, IsesError> {
    Ok(vec![
        Field::new("HEADER", "03"),
        Field::text("INCIDENT_ID", &incident.incident_id),
        Field::new(
            "YEAR_INCIDENT",
            format_year("YEAR_INCIDENT", incident.year_incident)?,
        ),
        Field::new("WSN_ID", zero_pad("WSN_ID", &incident.wsn_id, 10)?),
        Field::date("ENROLL_DATE", incident.enroll_date)?,
        Field::date("INCIDENT_DATE", incident.incident_date)?,
        Field::text("INCIDENT_TYPE_PRIMARY", &incident.incident_type_primary),
        Field::text("INCIDENT_TYPE_SECONDARY", &incident.incident_type_secondary),
    ])
}

fn removal_fields(removal: &Removal) -> Result<Vec<Field>, IsesError> {
    let return_year = match removal.expulsion_return_year {
        Some(year) => format_year("EXPULSION_RETURN_YEAR", year)?,
        None => String::new(),
    };
    Ok(vec![
        Field::new("HEADER", "04"),
        Field::text("REMOVAL_ID", &removal.removal_id),
        Field::new(
            "YEAR_REMOVAL_TYPE",
            format_year("YEAR_REMOVAL_TYPE", removal.year_removal_type)?,
        ),
        Field::text("REMOVAL_TYPE", &removal.removal_type),
        Field::date("REMOVAL_START_DATE", Some(removal.removal_start_date))?,
        Field::text("SERIOUS_BODILY_INJURY", &removal.serious_bodily_injury),
        Field::text(
            "EARLY_REINSTATE_CONDITIONS",
            &removal.early_reinstate_conditions,
        ),
        Field::new("EXPULSION_RETURN_YEAR", return_year),
        Field::text("MODIFIED_TERM", &removal.modified_term),
        Field::text("PRIM_DISAB", &removal.prim_disab),
        Field::text("ENG_PROF_CODE", &removal.eng_prof_code),
        Field::new(
            "DAYS_REMOVED_CURRENT_TERM",
            format_days_removed(removal.days_removed_current_term)?,
        ),
        Field::text("SERVICES_PROVIDED", &removal.services_provided),
        Field::text("RETURN_TO_SCHOOL", &removal.return_to_school),
    ])
}

#[cfg(test)]
mod tests;
