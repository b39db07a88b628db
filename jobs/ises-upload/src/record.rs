//! The typed records of the Discipline Load File (spec Appendix B.1 and B.2, Table B-2) and the
//! one order they are written in, so the file's layout lives in types rather than in strings
//! scattered through the job.
//!
//! Codes, ids and Y/N flags stay text: checking them against Appendix D and the business rules
//! is validation's job, which must be able to report the bad value as the SIS holds it.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

use crate::error::IsesError;
use crate::write::zero_pad;

/// The `COLLECTION` value of every Discipline header (Table B-1).
pub const COLLECTION: &str = "YED";

/// The `RECORD_TYPE` value of every `02` school record (Table B-2).
pub const RECORD_TYPE: &str = "D";

/// Central Standard Time as the spec means it: UTC−6 all year, daylight saving or not
/// (Table B-1: "Time must be in Central Standard Time").
const CST_OFFSET_SECONDS: i32 = -6 * 3600;

/// The date-time group of a header: when the file was generated, in CST (UTC−6, all year).
///
/// The Load File name's date is this date, so both come from one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dtg {
    cst: NaiveDateTime,
}

impl Dtg {
    /// The DTG of the instant `at`, shifted to UTC−6 whatever the season.
    pub fn from_utc(at: DateTime<Utc>) -> Self {
        let cst = FixedOffset::east_opt(CST_OFFSET_SECONDS)
            .map(|offset| at.with_timezone(&offset).naive_local())
            .unwrap_or_else(|| at.naive_utc());
        Self { cst }
    }

    /// A DTG from a wall-clock time already in CST.
    pub fn from_cst(cst: NaiveDateTime) -> Self {
        Self { cst }
    }

    /// The CST wall-clock time.
    pub fn cst(&self) -> NaiveDateTime {
        self.cst
    }

    /// The CST date, used in the file name.
    pub fn date(&self) -> NaiveDate {
        self.cst.date()
    }
}

/// The `01` header record (Table B-1): DTG, SEQ_NUM, COLLECTION (always [`COLLECTION`]),
/// DISTRICT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `DTG`: when the file was generated.
    pub dtg: Dtg,
    /// `SEQ_NUM`: the file's sequence number in the school year (A.2); equals the file name's.
    pub seq_num: u32,
    /// `DISTRICT`: the submitting district's code, zero-padded to four digits when written.
    pub district_code: String,
}

/// The `02` school record (Table B-2): SCHOOL, RECORD_TYPE (always [`RECORD_TYPE`]), YEAR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct School {
    /// `SCHOOL`: zero-padded to four digits when written.
    pub school_code: String,
    /// `YEAR`: the collection year, e.g. 2008 for the 2007-08 school term.
    pub year: i32,
}

/// The `03` incident record (Table B-2), plus the two keys that place it in the file and are
/// not written: the school it belongs under and the SIS's `incident_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The SIS's key for the incident; orders incidents and ties removals to them. Not written.
    pub incident_key: String,
    /// The school whose `02` record the incident is written under. Not written in the `03`.
    pub school_code: String,
    /// `INCIDENT_ID` (nullable).
    pub incident_id: Option<String>,
    /// `YEAR_INCIDENT`.
    pub year_incident: i32,
    /// `WSN_ID`: zero-padded to ten digits when written.
    pub wsn_id: String,
    /// `ENROLL_DATE` (conditionally required).
    pub enroll_date: Option<NaiveDate>,
    /// `INCIDENT_DATE` (conditionally required).
    pub incident_date: Option<NaiveDate>,
    /// `INCIDENT_TYPE_PRIMARY` (D.2, nullable on upload).
    pub incident_type_primary: Option<String>,
    /// `INCIDENT_TYPE_SECONDARY` (D.2, nullable on upload).
    pub incident_type_secondary: Option<String>,
}

/// The `04` removal record (Table B-2), plus the `incident_key` of the incident it follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Removal {
    /// The SIS key of the incident this removal belongs to. Not written.
    pub incident_key: String,
    /// `REMOVAL_ID` (not stored by ISES on upload).
    pub removal_id: Option<String>,
    /// `YEAR_REMOVAL_TYPE`.
    pub year_removal_type: i32,
    /// `REMOVAL_TYPE` (D.8, nullable on upload).
    pub removal_type: Option<String>,
    /// `REMOVAL_START_DATE` (never null).
    pub removal_start_date: NaiveDate,
    /// `SERIOUS_BODILY_INJURY` (`Y`/`N`).
    pub serious_bodily_injury: Option<String>,
    /// `EARLY_REINSTATE_CONDITIONS` (`Y`/`N`, expulsions only).
    pub early_reinstate_conditions: Option<String>,
    /// `EXPULSION_RETURN_YEAR` (YYYY, expulsions only).
    pub expulsion_return_year: Option<i32>,
    /// `MODIFIED_TERM` (D.9, expulsions only).
    pub modified_term: Option<String>,
    /// `PRIM_DISAB` (D.5).
    pub prim_disab: Option<String>,
    /// `ENG_PROF_CODE` (D.1).
    pub eng_prof_code: Option<String>,
    /// `DAYS_REMOVED_CURRENT_TERM`: written with one decimal (`45.0`); never null.
    pub days_removed_current_term: f64,
    /// `SERVICES_PROVIDED` (`Y`/`N`, expulsions only).
    pub services_provided: Option<String>,
    /// `RETURN_TO_SCHOOL` (`Y`/`N`, expulsions only).
    pub return_to_school: Option<String>,
}

/// One line of the Load File, borrowed from a [`LoadFile`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record<'a> {
    /// `01`
    Header(&'a Header),
    /// `02`
    School(&'a School),
    /// `03`
    Incident(&'a Incident),
    /// `04`
    Removal(&'a Removal),
    /// `05`,`EOF`
    Trailer,
}

/// An incident with its removals, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentGroup {
    /// The `03` record.
    pub incident: Incident,
    /// Its `04` records, ordered by start date, then removal type, then removal id.
    pub removals: Vec<Removal>,
}

/// A school with its incidents, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct SchoolGroup {
    /// The `02` record.
    pub school: School,
    /// Its incidents, in `incident_key` order.
    pub incidents: Vec<IncidentGroup>,
}

/// A whole Load File's records, grouped and ordered as the spec's example and the job's
/// contract require: `01`; per school in ascending code a `02` followed by its `03` incidents in
/// `incident_key` order, each followed by its `04` removals (start date, removal type, removal
/// id); then `05`,`EOF`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadFile {
    header: Header,
    schools: Vec<SchoolGroup>,
    /// `incident_key` → the district code the SIS row carried. Not written (the header holds
    /// the one district); kept so validation can fail rows of another district instead of
    /// their being silently filed under this one.
    source_districts: BTreeMap<String, String>,
}

impl LoadFile {
    /// Groups and orders the records of one file.
    ///
    /// `listed_schools` get a `02` record even with no incidents (as in the spec's example);
    /// every incident's school gets one too. School codes are zero-padded here, so `2` and
    /// `0002` are one school. A duplicate `incident_key` or a removal whose incident is not in
    /// `incidents` is an error rather than a silently dropped row.
    pub fn build(
        header: Header,
        year: i32,
        listed_schools: &[String],
        incidents: Vec<Incident>,
        removals: Vec<Removal>,
    ) -> Result<Self, IsesError> {
        let mut by_key: BTreeMap<String, IncidentGroup> = BTreeMap::new();
        for mut incident in incidents {
            incident.school_code = zero_pad("SCHOOL", &incident.school_code, 4)?;
            let key = incident.incident_key.clone();
            if by_key.contains_key(&key) {
                return Err(IsesError::DuplicateIncidentKey { key });
            }
            by_key.insert(
                key,
                IncidentGroup {
                    incident,
                    removals: Vec::new(),
                },
            );
        }
        for removal in removals {
            match by_key.get_mut(&removal.incident_key) {
                Some(group) => group.removals.push(removal),
                None => {
                    return Err(IsesError::UnknownIncident {
                        key: removal.incident_key,
                        removal_id: removal.removal_id,
                    });
                }
            }
        }

        let mut by_school: BTreeMap<String, Vec<IncidentGroup>> = BTreeMap::new();
        for code in listed_schools {
            by_school.entry(zero_pad("SCHOOL", code, 4)?).or_default();
        }
        for (_, mut group) in by_key {
            group.removals.sort_by(|a, b| {
                (
                    a.removal_start_date,
                    a.removal_type.as_deref().unwrap_or(""),
                    a.removal_id.as_deref().unwrap_or(""),
                )
                    .cmp(&(
                        b.removal_start_date,
                        b.removal_type.as_deref().unwrap_or(""),
                        b.removal_id.as_deref().unwrap_or(""),
                    ))
            });
            by_school
                .entry(group.incident.school_code.clone())
                .or_default()
                .push(group);
        }

        let schools = by_school
            .into_iter()
            .map(|(school_code, incidents)| SchoolGroup {
                school: School { school_code, year },
                incidents,
            })
            .collect();
        Ok(Self {
            header,
            schools,
            source_districts: BTreeMap::new(),
        })
    }

    /// Records the district code each SIS incident row carried (`incident_key`, district), so
    /// [`validate`](crate::validate::validate) can report rows of another district.
    #[must_use]
    pub fn with_source_districts(
        mut self,
        districts: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.source_districts.extend(districts);
        self
    }

    /// The district code the SIS row of `incident_key` carried, if it was recorded.
    pub fn source_district(&self, incident_key: &str) -> Option<&str> {
        self.source_districts.get(incident_key).map(String::as_str)
    }

    /// The `01` record.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The schools in ascending code order, each with its incidents and removals.
    pub fn schools(&self) -> &[SchoolGroup] {
        &self.schools
    }

    /// Every record in file order, ending with the trailer.
    pub fn records(&self) -> Vec<Record<'_>> {
        let mut records = vec![Record::Header(&self.header)];
        for school in &self.schools {
            records.push(Record::School(&school.school));
            for group in &school.incidents {
                records.push(Record::Incident(&group.incident));
                records.extend(group.removals.iter().map(Record::Removal));
            }
        }
        records.push(Record::Trailer);
        records
    }
}
