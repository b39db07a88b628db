//! Every upload business rule of the Discipline Load File, checked before anything leaves the
//! district.
//!
//! ISES fails the whole file over one bad record (Table B-2: "A violation of any of the business
//! rules … will cause the entire file to fail"), and the district only learns why from the
//! state's answer afterwards. Checking the same rules locally turns a failed submission, and a
//! spent sequence number, into a list of rows to fix in the SIS.
//!
//! Each [`Finding`] carries a stable reason code ([`Finding::rule`]) that the failure file and
//! the report use; the job's README (`docs/README.md`, "Validation and reason codes") lists every
//! code with its severity and rule, and `the_readme_lists_every_rule_code` keeps the two in step.
//!
//! Errors fail the file; warnings keep the record in it. An incident-level finding names no
//! removal; a file-level finding (the header) names the empty `incident_key`.
//!
//! Text fields are compared exactly as the SIS holds them, and an empty string counts as NULL,
//! since the writer puts `""` on the line for both.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};

use crate::codes::{self, CodeTable};
use crate::record::{Incident, LoadFile, Removal};
use crate::write::zero_pad;

/// The last collection YEAR in which MODIFIED_TERM `Y` is valid.
///
/// The spec's D.9 describes `Y` as "Modified (not valid after 2006-07)"; the job's issue asks
/// for an error "from 2006-07 on". Where the two disagree the spec wins: `Y` is valid for YEAR
/// ≤ 2007 (the 2006-07 term and earlier) and an error for YEAR > 2007 (2007-08 on).
pub const MODIFIED_TERM_Y_LAST_YEAR: i32 = 2007;

/// The fields Table B-2 marks "Expected only when REMOVAL_TYPE = 'EX'" (RETURN_TO_SCHOOL
/// additionally only when EXPULSION_RETURN_YEAR = YEAR). SERIOUS_BODILY_INJURY is not among
/// them: Appendix A ties it to IAES removals by school personnel, not to expulsions.
pub const EXPULSION_ONLY_FIELDS: [&str; 5] = [
    "EARLY_REINSTATE_CONDITIONS",
    "EXPULSION_RETURN_YEAR",
    "MODIFIED_TERM",
    "SERVICES_PROVIDED",
    "RETURN_TO_SCHOOL",
];

/// Characters that B.4 (CSV Error Report) says fail a file, besides non-ASCII ones.
pub const FORBIDDEN_CHARACTERS: [char; 6] = ['<', '>', '&', '\'', '~', '`'];

/// The largest Appendix A size for INCIDENT_ID and REMOVAL_ID.
pub const ID_MAX_LEN: usize = 16;

/// What validation needs to know beyond the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The collection YEAR, e.g. 2008 for the 2007-08 school term.
    pub year: i32,
    /// The district this job submits for; any other district in the file is an error.
    pub district_code: String,
    /// The start of the term that begins in calendar year YEAR (the "Accountable District Term
    /// Start Date of YEAR"); removals may start at most 10 calendar days after it. Unchecked
    /// when unknown.
    pub next_term_start_date: Option<NaiveDate>,
}

/// Whether a finding fails the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The record is kept and the file may still be uploaded.
    Warning,
    /// The file must not be uploaded.
    Error,
}

/// One broken rule, located by the SIS keys an operator can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The stable reason code (see the module's table).
    pub rule: &'static str,
    /// The SIS `incident_key` of the record; empty for the file's header.
    pub incident_key: String,
    /// The removal's REMOVAL_ID (or its position, `#n`, when it has none); `None` for an
    /// incident-level finding.
    pub removal_id: Option<String>,
    /// The spec's field name.
    pub field: &'static str,
    /// The value found (empty for NULL).
    pub value: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Finding {
    /// Whether the finding fails the file.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The short heading shared by alike findings, for notices and reports.
    pub fn category(&self) -> &'static str {
        match self.rule {
            "DISTRICT-MISMATCH" => "Wrong district",
            "A4-NOT-UNIQUE" => "Duplicate record",
            "E-CHARACTER" | "E-NON-ASCII" | "E-UNQUOTABLE" => "Invalid character",
            "INCIDENT-NO-REMOVAL" => "Incident without removal",
            "EX-ONLY-FIELD" | "EX-RETURN-TO-SCHOOL" => "Expulsion-only field",
            "B2-ENROLL-DATE-REQUIRED" | "B2-INCIDENT-DATE-REQUIRED" => "Missing value",
            "D1-ENG-PROF-CODE" | "D2-INCIDENT-TYPE" | "D5-PRIM-DISAB" | "D8-REMOVAL-TYPE"
            | "D9-MODIFIED-TERM" | "D9-MODIFIED-TERM-Y" | "B2-YES-NO" => "Invalid code",
            "B2-REMOVAL-BEFORE-INCIDENT"
            | "B2-REMOVAL-BEFORE-TERM"
            | "B2-REMOVAL-AFTER-TERM-START"
            | "B2-YEAR-INCIDENT"
            | "B2-YEAR-REMOVAL-TYPE"
            | "B2-YEAR" => "Out of range",
            _ => "Invalid format",
        }
    }

    /// The finding as a run problem, located in `file_name` (the Load File's name, or
    /// "load file" before it has one).
    pub fn problem(&self, file_name: Option<&str>) -> ferry_plugin::Problem {
        let severity = match self.severity {
            Severity::Error => ferry_plugin::Severity::Error,
            Severity::Warning => ferry_plugin::Severity::Warning,
        };
        let mut at = String::new();
        if !self.incident_key.is_empty() {
            at.push_str(&format!("incident {}", self.incident_key));
            if let Some(removal) = &self.removal_id {
                at.push_str(&format!(", removal {removal}"));
            }
            at.push_str(": ");
        }
        ferry_plugin::Problem::new(
            severity,
            self.category(),
            format!("{at}{} [{}]", self.message, self.rule),
        )
        .in_file(file_name.unwrap_or("load file"))
        .field(self.field, self.value.clone())
    }
}

/// Checks `file` against every upload business rule; an empty result (or one with only
/// warnings) means ISES should accept it.
///
/// Findings come in file order: the header, then per school its incidents, each followed by its
/// removals; the A.4 uniqueness findings come last.
pub fn validate(file: &LoadFile, ctx: &Rules) -> Vec<Finding> {
    let mut v = Validator {
        ctx,
        findings: Vec::new(),
    };
    v.header(file);
    // A.4 removal criteria → the first record that used them.
    let mut seen: BTreeMap<UniqueKey, (String, String)> = BTreeMap::new();
    let district = pad_or_raw(&file.header().district_code, 4);
    for school in file.schools() {
        let loc = Loc::file();
        v.numeric(&loc, "SCHOOL", &school.school.school_code, 4, "B2-SCHOOL");
        v.year_format(&loc, "YEAR", school.school.year, "B2-YEAR");
        if school.school.year != ctx.year {
            v.error(
                &loc,
                "B2-YEAR",
                "YEAR",
                school.school.year.to_string(),
                format!("YEAR must be the collection year {}", ctx.year),
            );
        }
        let school_code = pad_or_raw(&school.school.school_code, 4);
        for group in &school.incidents {
            let incident = &group.incident;
            if let Some(row_district) = file.source_district(&incident.incident_key) {
                v.district(&Loc::incident(incident), row_district);
            }
            v.incident(incident);
            if group.removals.is_empty() {
                v.error(
                    &Loc::incident(incident),
                    "INCIDENT-NO-REMOVAL",
                    "04",
                    String::new(),
                    "an incident must be followed by at least one removal".to_owned(),
                );
            }
            for (index, removal) in group.removals.iter().enumerate() {
                let loc = Loc::removal(incident, removal, index);
                v.removal(&loc, incident, removal);
                let key = UniqueKey {
                    district: district.clone(),
                    school: school_code.clone(),
                    wsn: pad_or_raw(&incident.wsn_id, 10),
                    enroll_date: incident.enroll_date,
                    incident_date: incident.incident_date,
                    removal_start_date: removal.removal_start_date,
                    removal_type: text(&removal.removal_type).to_owned(),
                    incident_id: text(&incident.incident_id).to_owned(),
                };
                let here = (
                    incident.incident_key.clone(),
                    loc.removal_id.clone().unwrap_or_default(),
                );
                if let Some((key0, removal0)) = seen.get(&key) {
                    v.error(
                        &loc,
                        "A4-NOT-UNIQUE",
                        "REMOVAL_START_DATE",
                        removal.removal_start_date.format("%m/%d/%Y").to_string(),
                        format!(
                            "same district, school, WSN, enroll date, incident date, removal \
                             start date, removal type and incident id as incident {key0}, \
                             removal {removal0} (Appendix A.4)"
                        ),
                    );
                } else {
                    seen.insert(key, here);
                }
            }
        }
    }
    v.findings
}

/// The A.4 "Uniqueness Criteria for Removal": district, school, WSN, school enroll date,
/// incident date, removal start date and removal type.
///
/// A.4 offers two criteria sets and B-2 asks that a record be unique "based on one of the
/// combinations"; the incident set is the removal set without REMOVAL_TYPE, so a record unique
/// by the incident set is unique by the removal set too, and the removal set is the one that
/// must hold. B-2 also says INCIDENT_ID "may be included to meet uniqueness requirement of
/// Appendix A.4", so two records differing only in INCIDENT_ID are distinct.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct UniqueKey {
    district: String,
    school: String,
    wsn: String,
    enroll_date: Option<NaiveDate>,
    incident_date: Option<NaiveDate>,
    removal_start_date: NaiveDate,
    removal_type: String,
    incident_id: String,
}

/// Where a finding is.
struct Loc {
    incident_key: String,
    removal_id: Option<String>,
}

impl Loc {
    fn file() -> Self {
        Self {
            incident_key: String::new(),
            removal_id: None,
        }
    }

    fn incident(incident: &Incident) -> Self {
        Self {
            incident_key: incident.incident_key.clone(),
            removal_id: None,
        }
    }

    fn removal(incident: &Incident, removal: &Removal, index: usize) -> Self {
        let id = match text(&removal.removal_id) {
            "" => format!("#{}", index + 1),
            id => id.to_owned(),
        };
        Self {
            incident_key: incident.incident_key.clone(),
            removal_id: Some(id),
        }
    }
}

struct Validator<'a> {
    ctx: &'a Rules,
    findings: Vec<Finding>,
}

impl Validator<'_> {
    fn push(
        &mut self,
        severity: Severity,
        loc: &Loc,
        rule: &'static str,
        field: &'static str,
        value: String,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            rule,
            incident_key: loc.incident_key.clone(),
            removal_id: loc.removal_id.clone(),
            field,
            value,
            message,
        });
    }

    fn error(
        &mut self,
        loc: &Loc,
        rule: &'static str,
        field: &'static str,
        value: String,
        message: String,
    ) {
        self.push(Severity::Error, loc, rule, field, value, message);
    }

    fn warning(
        &mut self,
        loc: &Loc,
        rule: &'static str,
        field: &'static str,
        value: String,
        message: String,
    ) {
        self.push(Severity::Warning, loc, rule, field, value, message);
    }

    fn header(&mut self, file: &LoadFile) {
        let loc = Loc::file();
        let district = &file.header().district_code;
        self.numeric(&loc, "DISTRICT", district, 4, "B1-DISTRICT");
        self.district(&loc, district);
    }

    fn district(&mut self, loc: &Loc, district: &str) {
        self.characters(loc, "DISTRICT", district);
        if pad_or_raw(district, 4) != pad_or_raw(&self.ctx.district_code, 4) {
            self.error(
                loc,
                "DISTRICT-MISMATCH",
                "DISTRICT",
                district.to_owned(),
                format!(
                    "the row belongs to another district than {}",
                    self.ctx.district_code
                ),
            );
        }
    }

    fn incident(&mut self, incident: &Incident) {
        let loc = Loc::incident(incident);
        let year = self.ctx.year;
        self.characters(&loc, "SCHOOL", &incident.school_code);
        self.id(&loc, "INCIDENT_ID", &incident.incident_id);
        self.year_format(
            &loc,
            "YEAR_INCIDENT",
            incident.year_incident,
            "B2-YEAR-INCIDENT",
        );
        if incident.year_incident > year {
            self.error(
                &loc,
                "B2-YEAR-INCIDENT",
                "YEAR_INCIDENT",
                incident.year_incident.to_string(),
                format!("YEAR_INCIDENT must be equal to or less than YEAR {year}"),
            );
        }
        self.characters(&loc, "WSN_ID", &incident.wsn_id);
        self.numeric(&loc, "WSN_ID", &incident.wsn_id, 10, "B2-WSN-ID");
        for (field, date, rule) in [
            (
                "ENROLL_DATE",
                incident.enroll_date,
                "B2-ENROLL-DATE-REQUIRED",
            ),
            (
                "INCIDENT_DATE",
                incident.incident_date,
                "B2-INCIDENT-DATE-REQUIRED",
            ),
        ] {
            match date {
                Some(date) => self.date_format(&loc, field, date),
                None if incident.year_incident == year => self.error(
                    &loc,
                    rule,
                    field,
                    String::new(),
                    format!("{field} is required when YEAR_INCIDENT = YEAR ({year})"),
                ),
                None => {}
            }
        }
        for (field, value) in [
            ("INCIDENT_TYPE_PRIMARY", &incident.incident_type_primary),
            ("INCIDENT_TYPE_SECONDARY", &incident.incident_type_secondary),
        ] {
            self.characters(&loc, field, text(value));
            self.code(
                &loc,
                field,
                value,
                &codes::INCIDENT_TYPE,
                "D2-INCIDENT-TYPE",
            );
        }
    }

    fn removal(&mut self, loc: &Loc, incident: &Incident, removal: &Removal) {
        let year = self.ctx.year;
        self.id(loc, "REMOVAL_ID", &removal.removal_id);

        let removal_year = removal.year_removal_type;
        self.year_format(
            loc,
            "YEAR_REMOVAL_TYPE",
            removal_year,
            "B2-YEAR-REMOVAL-TYPE",
        );
        if removal_year < incident.year_incident || removal_year > year + 1 {
            self.error(
                loc,
                "B2-YEAR-REMOVAL-TYPE",
                "YEAR_REMOVAL_TYPE",
                removal_year.to_string(),
                format!(
                    "YEAR_REMOVAL_TYPE must be from YEAR_INCIDENT ({}) to YEAR + 1 ({})",
                    incident.year_incident,
                    year + 1
                ),
            );
        }

        self.characters(loc, "REMOVAL_TYPE", text(&removal.removal_type));
        self.code(
            loc,
            "REMOVAL_TYPE",
            &removal.removal_type,
            &codes::REMOVAL_TYPE,
            "D8-REMOVAL-TYPE",
        );

        self.removal_start(loc, incident, removal.removal_start_date);

        for (field, value) in [
            ("SERIOUS_BODILY_INJURY", &removal.serious_bodily_injury),
            (
                "EARLY_REINSTATE_CONDITIONS",
                &removal.early_reinstate_conditions,
            ),
            ("SERVICES_PROVIDED", &removal.services_provided),
            ("RETURN_TO_SCHOOL", &removal.return_to_school),
        ] {
            self.characters(loc, field, text(value));
            let value = text(value);
            if !value.is_empty() && value != "Y" && value != "N" {
                self.error(
                    loc,
                    "B2-YES-NO",
                    field,
                    value.to_owned(),
                    format!("{field} must be 'Y' or 'N'"),
                );
            }
        }

        if let Some(return_year) = removal.expulsion_return_year {
            self.year_format(
                loc,
                "EXPULSION_RETURN_YEAR",
                return_year,
                "B2-EXPULSION-RETURN-YEAR",
            );
        }

        self.characters(loc, "MODIFIED_TERM", text(&removal.modified_term));
        self.code(
            loc,
            "MODIFIED_TERM",
            &removal.modified_term,
            &codes::MODIFIED_TERM,
            "D9-MODIFIED-TERM",
        );
        if text(&removal.modified_term) == "Y" && year > MODIFIED_TERM_Y_LAST_YEAR {
            self.error(
                loc,
                "D9-MODIFIED-TERM-Y",
                "MODIFIED_TERM",
                "Y".to_owned(),
                "MODIFIED_TERM 'Y' is not valid after 2006-07 (D.9); use 'I' or 'M'".to_owned(),
            );
        }

        for (field, value, table, rule) in [
            (
                "PRIM_DISAB",
                &removal.prim_disab,
                &codes::PRIMARY_DISABILITY,
                "D5-PRIM-DISAB",
            ),
            (
                "ENG_PROF_CODE",
                &removal.eng_prof_code,
                &codes::ENGLISH_PROFICIENCY,
                "D1-ENG-PROF-CODE",
            ),
        ] {
            self.characters(loc, field, text(value));
            self.code(loc, field, value, table, rule);
        }

        self.days_removed(loc, removal.days_removed_current_term);
        self.expulsion_only(loc, removal);
    }

    fn removal_start(&mut self, loc: &Loc, incident: &Incident, start: NaiveDate) {
        const FIELD: &str = "REMOVAL_START_DATE";
        let year = self.ctx.year;
        let shown = start.format("%m/%d/%Y").to_string();
        self.date_format(loc, FIELD, start);
        if let Some(incident_date) = incident.incident_date
            && start < incident_date
        {
            self.error(
                loc,
                "B2-REMOVAL-BEFORE-INCIDENT",
                FIELD,
                shown.clone(),
                format!(
                    "REMOVAL_START_DATE must not be before INCIDENT_DATE {}",
                    incident_date.format("%m/%d/%Y")
                ),
            );
        }
        if let Some(earliest) = NaiveDate::from_ymd_opt(year - 1, 7, 1)
            && start < earliest
        {
            self.error(
                loc,
                "B2-REMOVAL-BEFORE-TERM",
                FIELD,
                shown.clone(),
                format!(
                    "REMOVAL_START_DATE must be on or after {} (7/1 of YEAR - 1)",
                    earliest.format("%m/%d/%Y")
                ),
            );
        }
        if let Some(term_start) = self.ctx.next_term_start_date
            && let Some(latest) = term_start.checked_add_days(Days::new(10))
            && start > latest
        {
            self.error(
                loc,
                "B2-REMOVAL-AFTER-TERM-START",
                FIELD,
                shown,
                format!(
                    "REMOVAL_START_DATE must be on or before {} (10 days after the term start \
                     {})",
                    latest.format("%m/%d/%Y"),
                    term_start.format("%m/%d/%Y")
                ),
            );
        }
    }

    fn days_removed(&mut self, loc: &Loc, days: f64) {
        let halves = days * 2.0;
        if !days.is_finite() || !(0.0..1000.0).contains(&days) || halves.fract() != 0.0 {
            self.error(
                loc,
                "B2-DAYS-REMOVED",
                "DAYS_REMOVED_CURRENT_TERM",
                days.to_string(),
                "DAYS_REMOVED_CURRENT_TERM must be from 0.0 to 999.5 in steps of .5 \
                 (decimal values may be .0 or .5)"
                    .to_owned(),
            );
        }
    }

    fn expulsion_only(&mut self, loc: &Loc, removal: &Removal) {
        let removal_type = text(&removal.removal_type);
        let return_year = removal
            .expulsion_return_year
            .map(|y| y.to_string())
            .unwrap_or_default();
        let values = [
            text(&removal.early_reinstate_conditions).to_owned(),
            return_year.clone(),
            text(&removal.modified_term).to_owned(),
            text(&removal.services_provided).to_owned(),
            text(&removal.return_to_school).to_owned(),
        ];
        if removal_type != "EX" {
            for (field, value) in EXPULSION_ONLY_FIELDS.into_iter().zip(values) {
                if !value.is_empty() {
                    self.warning(
                        loc,
                        "EX-ONLY-FIELD",
                        field,
                        value,
                        format!(
                            "{field} is expected only when REMOVAL_TYPE = 'EX', not \
                             {removal_type:?}; the value is kept in the file"
                        ),
                    );
                }
            }
        } else if !text(&removal.return_to_school).is_empty()
            && removal.expulsion_return_year != Some(self.ctx.year)
        {
            self.warning(
                loc,
                "EX-RETURN-TO-SCHOOL",
                "RETURN_TO_SCHOOL",
                text(&removal.return_to_school).to_owned(),
                format!(
                    "RETURN_TO_SCHOOL is expected only when EXPULSION_RETURN_YEAR = YEAR ({}), \
                     not {:?}; the value is kept in the file",
                    self.ctx.year, return_year
                ),
            );
        }
    }

    /// A FORMAT `0009`-style numeric code of at most `width` digits.
    fn numeric(
        &mut self,
        loc: &Loc,
        field: &'static str,
        value: &str,
        width: usize,
        rule: &'static str,
    ) {
        if let Err(error) = zero_pad(field, value, width) {
            self.error(loc, rule, field, value.to_owned(), error.to_string());
        }
    }

    fn year_format(&mut self, loc: &Loc, field: &'static str, year: i32, rule: &'static str) {
        if !(1000..=9999).contains(&year) {
            self.error(
                loc,
                rule,
                field,
                year.to_string(),
                format!("{field} must be a four-digit year (FORMAT YYYY)"),
            );
        }
    }

    fn date_format(&mut self, loc: &Loc, field: &'static str, date: NaiveDate) {
        if !(1000..=9999).contains(&date.year()) {
            self.error(
                loc,
                "B2-DATE-FORMAT",
                field,
                date.to_string(),
                format!("{field} cannot be written as MM/DD/YYYY"),
            );
        }
    }

    fn id(&mut self, loc: &Loc, field: &'static str, value: &Option<String>) {
        let value = text(value);
        self.characters(loc, field, value);
        let len = value.chars().count();
        if len > ID_MAX_LEN {
            self.error(
                loc,
                "B2-ID-LENGTH",
                field,
                value.to_owned(),
                format!("{field} is {len} characters long; at most {ID_MAX_LEN} are allowed"),
            );
        }
    }

    fn code(
        &mut self,
        loc: &Loc,
        field: &'static str,
        value: &Option<String>,
        table: &CodeTable,
        rule: &'static str,
    ) {
        let value = text(value);
        if !value.is_empty() && !table.is_valid(value) {
            let valid: Vec<_> = table.codes().collect();
            self.error(
                loc,
                rule,
                field,
                value.to_owned(),
                format!(
                    "{field} must be a code of {} {} ({})",
                    table.section,
                    table.title,
                    valid.join(", ")
                ),
            );
        }
    }

    /// B.4 and Appendix E: characters that fail the whole file.
    fn characters(&mut self, loc: &Loc, field: &'static str, value: &str) {
        if let Some(c) = value.chars().find(|c| FORBIDDEN_CHARACTERS.contains(c)) {
            self.error(
                loc,
                "E-CHARACTER",
                field,
                value.to_owned(),
                format!("{c:?} fails the whole file in ISES (B.4, Appendix E)"),
            );
        }
        if let Some(c) = value.chars().find(|c| !c.is_ascii()) {
            self.error(
                loc,
                "E-NON-ASCII",
                field,
                value.to_owned(),
                format!("non-ASCII character {c:?}: the Load File is ASCII (B, Appendix E)"),
            );
        }
        if let Some(c) = value.chars().find(|c| *c == '"' || c.is_ascii_control()) {
            self.error(
                loc,
                "E-UNQUOTABLE",
                field,
                value.to_owned(),
                format!("{c:?} cannot be carried inside a double-quoted field"),
            );
        }
    }
}

/// A nullable text field's value, empty for NULL.
fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

/// A numeric code zero-padded to `width`, or as given when it cannot be (so two spellings of
/// one school compare equal, and a malformed one still compares).
fn pad_or_raw(value: &str, width: usize) -> String {
    zero_pad("", value, width).unwrap_or_else(|_| value.to_owned())
}

#[cfg(test)]
mod tests;
