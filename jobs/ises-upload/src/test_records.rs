//! Records the unit tests of several modules build alike: a date, and a removal with the
//! spec's example defaults (not a disability, English proficient, no expulsion fields).

use chrono::NaiveDate;

use crate::record::Removal;

/// A date the test knows is valid.
pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

/// A removal of incident `key`, of type `kind`, from `start`, for `days`, without a REMOVAL_ID.
pub(crate) fn removal(key: &str, kind: &str, start: NaiveDate, days: f64) -> Removal {
    Removal {
        incident_key: key.to_owned(),
        removal_id: None,
        year_removal_type: 2008,
        removal_type: Some(kind.to_owned()),
        removal_start_date: start,
        serious_bodily_injury: None,
        early_reinstate_conditions: None,
        expulsion_return_year: None,
        modified_term: None,
        prim_disab: Some("N".to_owned()),
        eng_prof_code: Some("7".to_owned()),
        days_removed_current_term: days,
        services_provided: None,
        return_to_school: None,
    }
}
