//! Deriving a missing GFSA reporting status from the discipline incidents the ises-upload job
//! reads (`derive_from_incidents = true`).
//!
//! A unit whose status is missing in `edfacts_units` would be reported `NO` by the guidance. When
//! the same database holds a firearm incident for it, the unit evidently reported an offense,
//! so it is reported `YESWITHREP` instead, and the run names every unit it changed. A firearm
//! incident is a row of `ises_incidents` whose primary or secondary incident type is `HG`
//! (handgun), `SG` (shotgun/rifle) or `OF` (other firearm), whose `year_incident` is the end
//! year of the reporting period (`2020` for `2019-2020`), and whose `district_code` is the
//! unit's LEA identifier; at school level its `school_code` must also be the unit's school
//! identifier.
//!
//! Codes compare as text after trimming; when both sides are all digits they compare as
//! numbers, since ISES pads codes (`0130`) that a state directory may not (`130`). Incident
//! types compare without regard to case. Only missing statuses are ever derived: a status the
//! source gives is reported as given.

use std::collections::HashSet;

use ferry_sis::{Tx, Value};

use crate::error::Fs163Error;
use crate::model::{Level, Status};
use crate::source::SourceUnit;

/// The incidents relation of the ises-upload job.
pub const INCIDENTS: &str = "ises_incidents";

/// The incident types that are firearm offenses (ISES Appendix D.2).
pub const FIREARM_TYPES: [&str; 3] = ["HG", "SG", "OF"];

/// The end year of a reporting period `CCYY-CCYY` or `CCYY CCYY`; `None` when it is not of that
/// shape (validation reports it).
pub fn end_year(reporting_period: &str) -> Option<u32> {
    let period = reporting_period.trim();
    let (start, end) = period.split_once('-').or_else(|| period.split_once(' '))?;
    let year = |s: &str| -> Option<u32> {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    year(start)?;
    year(end)
}

/// A code as it is compared: trimmed, and for an all-digit code without its leading zeros, so
/// `0130` and `130` are one code while `A130` stays itself.
pub fn code_key(code: &str) -> String {
    let code = code.trim();
    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
        let stripped = code.trim_start_matches('0');
        if stripped.is_empty() {
            "0".to_owned()
        } else {
            stripped.to_owned()
        }
    } else {
        code.to_owned()
    }
}

/// Whether two codes are the same code (see [`code_key`]).
pub fn codes_match(a: &str, b: &str) -> bool {
    code_key(a) == code_key(b)
}

/// The firearm incidents of one year: (district key, school key) pairs, keys per [`code_key`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirearmIncidents {
    /// Every (district, school) with at least one firearm incident.
    schools: HashSet<(String, String)>,
    /// Every district with at least one firearm incident.
    districts: HashSet<String>,
}

impl FirearmIncidents {
    /// Records a firearm incident of `district` and `school`.
    pub fn insert(&mut self, district: &str, school: &str) {
        self.districts.insert(code_key(district));
        self.schools.insert((code_key(district), code_key(school)));
    }

    /// Whether the unit (an LEA, or a school of an LEA) had a firearm incident.
    pub fn has(&self, level: Level, lea_id: &str, school_id: Option<&str>) -> bool {
        match level {
            Level::Lea => self.districts.contains(&code_key(lea_id)),
            Level::Sch => school_id
                .is_some_and(|school| self.schools.contains(&(code_key(lea_id), code_key(school)))),
        }
    }

    /// How many distinct schools had one.
    pub fn len(&self) -> usize {
        self.schools.len()
    }

    /// Whether there were none.
    pub fn is_empty(&self) -> bool {
        self.schools.is_empty()
    }
}

/// Reads the firearm incidents of `year` from [`INCIDENTS`].
///
/// # Errors
/// [`Fs163Error::Source`] when the relation cannot be read (e.g. it does not exist).
pub fn read_firearm_incidents(tx: &mut Tx<'_>, year: u32) -> Result<FirearmIncidents, Fs163Error> {
    let types = FIREARM_TYPES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    // The types are narrowed in SQL (TRIM and UPPER mean the same on both backends); years and
    // codes are compared in Rust, where "numeric when all digits" is one rule for both.
    let sql = format!(
        "SELECT district_code, school_code, year_incident FROM {INCIDENTS} \
         WHERE UPPER(TRIM(incident_type_primary)) IN ({types}) \
         OR UPPER(TRIM(incident_type_secondary)) IN ({types})"
    );
    let rows = tx.query(&sql, &[]).map_err(|e| Fs163Error::Source {
        message: format!("{INCIDENTS} (read for derive_from_incidents): {e}"),
    })?;
    let year = year.to_string();
    let mut found = FirearmIncidents::default();
    for row in rows {
        let text = |i: usize| match row.get(i) {
            Some(Value::Text(s)) => s.trim().to_owned(),
            Some(Value::Int(n)) => n.to_string(),
            _ => String::new(),
        };
        let (district, school, row_year) = (text(0), text(1), text(2));
        if district.is_empty() || !codes_match(&row_year, &year) {
            continue;
        }
        found.insert(&district, &school);
    }
    Ok(found)
}

/// Reports as `YESWITHREP` each unit whose status is missing and which had a firearm incident.
/// Returns the indexes into `units` of the units changed, in order.
pub fn derive(units: &mut [SourceUnit], level: Level, incidents: &FirearmIncidents) -> Vec<usize> {
    let mut derived = Vec::new();
    for (i, unit) in units.iter_mut().enumerate() {
        if unit.status_missing
            && incidents.has(level, &unit.unit.lea_id, unit.unit.school_id.as_deref())
        {
            unit.unit.status = Status::YesWithRep.code().to_owned();
            derived.push(i);
        }
    }
    derived
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unit;

    fn unit(lea: &str, school: Option<&str>, status: Option<&str>) -> SourceUnit {
        SourceUnit {
            unit: Unit {
                state_code: "80".to_owned(),
                state_agency_number: "01".to_owned(),
                lea_id: lea.to_owned(),
                school_id: school.map(str::to_owned),
                status: status.unwrap_or("NO").to_owned(),
                explanation: None,
            },
            status_missing: status.is_none(),
        }
    }

    #[test]
    fn end_year_of_both_period_shapes() {
        assert_eq!(end_year("2019-2020"), Some(2020));
        assert_eq!(end_year("2019 2020"), Some(2020));
        assert_eq!(end_year(" 2007-2008 "), Some(2008));
        assert_eq!(end_year("2019-20"), None);
        assert_eq!(end_year("2019/2020"), None);
        assert_eq!(end_year("SY2019-2020"), None);
    }

    #[test]
    fn codes_compare_numerically_only_when_both_are_digits() {
        assert!(codes_match("0130", "130"));
        assert!(codes_match(" 0130 ", "0130"));
        assert!(codes_match("0000", "0"));
        assert!(!codes_match("0130", "1300"));
        assert!(!codes_match("A130", "130"));
        assert!(codes_match("00606EUPHORIA", "00606EUPHORIA"));
        assert!(!codes_match("00606EUPHORIA", "606EUPHORIA"));
    }

    #[test]
    fn derives_only_missing_statuses_with_a_matching_incident() {
        let mut incidents = FirearmIncidents::default();
        incidents.insert("0130", "0002");
        let mut units = vec![
            unit("130", Some("2"), None),       // missing, incident: derived
            unit("130", Some("3"), None),       // missing, other school: NO
            unit("130", Some("2"), Some("NA")), // given: kept
            unit("0131", Some("0002"), None),   // other LEA: NO
        ];
        assert_eq!(derive(&mut units, Level::Sch, &incidents), vec![0]);
        assert_eq!(units[0].unit.status, "YESWITHREP");
        assert_eq!(units[1].unit.status, "NO");
        assert_eq!(units[2].unit.status, "NA");
        assert_eq!(units[3].unit.status, "NO");

        // At LEA level any school of the district counts.
        let mut leas = vec![unit("0130", None, None), unit("0131", None, None)];
        assert_eq!(derive(&mut leas, Level::Lea, &incidents), vec![0]);
        assert_eq!(leas[0].unit.status, "YESWITHREP");
        assert_eq!(leas[1].unit.status, "NO");
        assert_eq!(incidents.len(), 1);
        assert!(!incidents.is_empty());
    }
}
