//! The readable validation report written next to the failure file, so the person who fixes
//! the SIS sees at a glance how big the file was, which rules broke and how often, and then
//! every finding with the keys to look it up.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::record::LoadFile;
use crate::validate::{Finding, Severity};

/// The plain-text report of `findings` for the Load File `file` named `file_name`.
///
/// Sections: the file name; counts of schools, incidents, removals, errors and warnings; the
/// findings grouped by rule (errors first, then by code) with counts; then every finding, one
/// per line, in the order given:
/// `ERROR   incident K, removal R: FIELD "value": message [RULE]` (an incident-level finding
/// names no removal; a file-level one reads `file:`).
pub fn report_text(file_name: &str, file: &LoadFile, findings: &[Finding]) -> String {
    let schools = file.schools().len();
    let incidents: usize = file.schools().iter().map(|s| s.incidents.len()).sum();
    let removals: usize = file
        .schools()
        .iter()
        .flat_map(|s| &s.incidents)
        .map(|g| g.removals.len())
        .sum();
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let warnings = findings.len() - errors;

    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on that ground.
    let _ = writeln!(out, "ISES Discipline Load File validation report");
    let _ = writeln!(out, "File: {file_name}");
    let _ = writeln!(out);
    let _ = writeln!(out, "Schools:   {schools}");
    let _ = writeln!(out, "Incidents: {incidents}");
    let _ = writeln!(out, "Removals:  {removals}");
    let _ = writeln!(out, "Errors:    {errors}");
    let _ = writeln!(out, "Warnings:  {warnings}");
    let _ = writeln!(out);
    if findings.is_empty() {
        let _ = writeln!(out, "No findings.");
        return out;
    }

    // (errors first, rule) → (category, count)
    let mut by_rule: BTreeMap<(std::cmp::Reverse<Severity>, &str), (&str, usize)> = BTreeMap::new();
    for finding in findings {
        by_rule
            .entry((std::cmp::Reverse(finding.severity), finding.rule))
            .or_insert((finding.category(), 0))
            .1 += 1;
    }
    let _ = writeln!(out, "Findings by rule:");
    for ((severity, rule), (category, count)) in &by_rule {
        let _ = writeln!(
            out,
            "  {:<7} {rule} ({category}): {count}",
            severity_word(severity.0)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Findings:");
    for finding in findings {
        let _ = writeln!(out, "  {}", finding_line(finding));
    }
    out
}

/// One finding as a report line.
pub fn finding_line(finding: &Finding) -> String {
    let place = match (finding.incident_key.as_str(), &finding.removal_id) {
        ("", _) => "file".to_owned(),
        (key, None) => format!("incident {key}"),
        (key, Some(removal)) => format!("incident {key}, removal {removal}"),
    };
    format!(
        "{:<7} {place}: {} {:?}: {} [{}]",
        severity_word(finding.severity),
        finding.field,
        finding.value,
        finding.message,
        finding.rule
    )
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::record::{Dtg, Header, Incident, Removal};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn incident(key: &str, school: &str) -> Incident {
        Incident {
            incident_key: key.to_owned(),
            school_code: school.to_owned(),
            incident_id: None,
            year_incident: 2008,
            wsn_id: "1".to_owned(),
            enroll_date: Some(date(2007, 8, 1)),
            incident_date: Some(date(2007, 9, 10)),
            incident_type_primary: Some("SR".to_owned()),
            incident_type_secondary: None,
        }
    }

    fn removal(key: &str, id: &str) -> Removal {
        Removal {
            incident_key: key.to_owned(),
            removal_id: Some(id.to_owned()),
            year_removal_type: 2008,
            removal_type: Some("OS".to_owned()),
            removal_start_date: date(2007, 9, 10),
            serious_bodily_injury: None,
            early_reinstate_conditions: None,
            expulsion_return_year: None,
            modified_term: None,
            prim_disab: Some("N".to_owned()),
            eng_prof_code: Some("7".to_owned()),
            days_removed_current_term: 1.0,
            services_provided: None,
            return_to_school: None,
        }
    }

    fn finding(
        severity: Severity,
        rule: &'static str,
        key: &str,
        removal: Option<&str>,
        field: &'static str,
        value: &str,
    ) -> Finding {
        Finding {
            severity,
            rule,
            incident_key: key.to_owned(),
            removal_id: removal.map(str::to_owned),
            field,
            value: value.to_owned(),
            message: "is wrong".to_owned(),
        }
    }

    fn file() -> LoadFile {
        LoadFile::build(
            Header {
                dtg: Dtg::from_cst(date(2008, 9, 1).and_hms_opt(7, 0, 5).expect("time")),
                seq_num: 1,
                district_code: "1".to_owned(),
            },
            2008,
            &["9".to_owned()],
            vec![incident("K1", "2"), incident("K2", "3")],
            vec![
                removal("K1", "R1"),
                removal("K1", "R2"),
                removal("K2", "R3"),
            ],
        )
        .expect("builds")
    }

    #[test]
    fn counts_groups_and_lists_every_finding() {
        let findings = [
            finding(
                Severity::Warning,
                "EX-ONLY-FIELD",
                "K1",
                Some("R1"),
                "MODIFIED_TERM",
                "N",
            ),
            finding(
                Severity::Error,
                "D8-REMOVAL-TYPE",
                "K1",
                Some("R2"),
                "REMOVAL_TYPE",
                "XX",
            ),
            finding(
                Severity::Error,
                "D8-REMOVAL-TYPE",
                "K2",
                Some("R3"),
                "REMOVAL_TYPE",
                "YY",
            ),
            finding(
                Severity::Error,
                "B2-WSN-ID",
                "K2",
                None,
                "WSN_ID",
                "12345678901",
            ),
            finding(Severity::Error, "B2-YEAR", "", None, "YEAR", "2007"),
        ];
        let text = report_text("S_0001_0000_09012008_IDL_00001.csv", &file(), &findings);
        let expected = "\
ISES Discipline Load File validation report
File: S_0001_0000_09012008_IDL_00001.csv

Schools:   3
Incidents: 2
Removals:  3
Errors:    4
Warnings:  1

Findings by rule:
  ERROR   B2-WSN-ID (Invalid format): 1
  ERROR   B2-YEAR (Out of range): 1
  ERROR   D8-REMOVAL-TYPE (Invalid code): 2
  WARNING EX-ONLY-FIELD (Expulsion-only field): 1

Findings:
  WARNING incident K1, removal R1: MODIFIED_TERM \"N\": is wrong [EX-ONLY-FIELD]
  ERROR   incident K1, removal R2: REMOVAL_TYPE \"XX\": is wrong [D8-REMOVAL-TYPE]
  ERROR   incident K2, removal R3: REMOVAL_TYPE \"YY\": is wrong [D8-REMOVAL-TYPE]
  ERROR   incident K2: WSN_ID \"12345678901\": is wrong [B2-WSN-ID]
  ERROR   file: YEAR \"2007\": is wrong [B2-YEAR]
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_clean_file_says_so() {
        let text = report_text("x.csv", &file(), &[]);
        assert!(text.contains("Errors:    0\nWarnings:  0\n"), "{text}");
        assert!(text.ends_with("No findings.\n"), "{text}");
    }
}
