//! Every rule the seed sets for an FS163 file, checked before anything is rendered or
//! delivered.
//!
//! The ESS rejects a file for one bad record; checking here turns a rejected submission into a
//! list of rows to fix. [`validate`] returns every [`Finding`], each naming the unit
//! (`LEA 00606EUPHORIA`, `school EU000001 of LEA 00606EUPHORIA`, or `file` for the header and
//! the file name), the seed's field name and the value found. Any finding fails the run.
//!
//! # Rules
//!
//! File (header and name):
//! - USPS State Abbreviation: two ASCII letters (Table 3.0-1, `ss`).
//! - Submission id (`vvvvvvv`): 1–7 ASCII letters or digits (Table 3.0-1).
//! - File Name: at most 25 characters with its extension (section 3.0).
//! - File Identifier: present (Pop M), at most 32 characters.
//! - File Reporting Period: `CCYY-CCYY` or `CCYY CCYY` (hyphen or space), the second year the
//!   first plus one, since the period is a school year (Table 4.1-1, example `2019-2020`). The
//!   seed's prose prints an en dash (`CCYY–CCYY`) but its example and permitted values use the
//!   ASCII hyphen; only the hyphen and the space are accepted.
//! - At least one data record: "Data records are required" (section 4.2).
//!
//! Each unit (Table 4.2-1):
//! - State Code: exactly two digits (the two-digit ANSI code; the seed's example is `80`).
//! - State Agency Number: `01` (State Education Agency), its only permitted value.
//! - LEA Identifier: present, at most 14 characters.
//! - School Identifier: present and at most 20 characters at school level; blank at LEA level.
//! - GFSA Reporting Status: exactly one of `YESWITHREP`, `YESWOREP`, `NO`, `NA` (section 2.4).
//!   A missing status is already `NO` when it gets here (section 2.5); empty is an error.
//! - Explanation: optional, at most 200 characters.
//! - No duplicate unit: one record per LEA (LEA level) or per LEA and school (school level).
//!
//! Characters (every field): printable ASCII only (space to `~`). The seed defines positions of
//! a fixed record, which count bytes, and asks for "standard characters"; a multi-byte
//! character would shift every later field. This also keeps CR and LF (which would end the
//! record) and the tab (the `.tab` delimiter, which cannot be quoted) out of every format. A
//! comma is allowed even in `.csv`: [`file`](mod@file) quotes such a value as RFC 4180
//! says; see that module for the choice.

use std::collections::HashMap;
use std::fmt;

use crate::file::{
    self, EXPLANATION, FILE_IDENTIFIER, FILE_NAME, FILE_REPORTING_PERIOD, Field,
    GFSA_REPORTING_STATUS, LEA_IDENTIFIER, SCHOOL_IDENTIFIER, STATE_AGENCY_NUMBER, STATE_CODE,
    TOTAL_RECORDS,
};
use crate::model::{FileSpec, Level, Status, Unit};

/// The unit name of file-level findings.
pub const FILE_UNIT: &str = "file";

/// The field name of findings about the USPS state abbreviation setting.
pub const STATE_ABBREVIATION: &str = "USPS State Abbreviation";

/// The field name of findings about the submission id setting.
pub const SUBMISSION_ID: &str = "vvvvvvv (submission id)";

/// The longest submission id (Table 3.0-1).
pub const SUBMISSION_ID_MAX: usize = 7;

/// One broken rule, located by unit and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `LEA …`, `school … of LEA …`, or `file`.
    pub unit: String,
    /// The seed's field name.
    pub field: &'static str,
    /// The value found (empty when missing).
    pub value: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {:?}: {}",
            self.unit, self.field, self.value, self.message
        )
    }
}

/// Whether `c` may appear in any field: printable ASCII, space to `~`.
pub fn is_permitted_char(c: char) -> bool {
    c == ' ' || c.is_ascii_graphic()
}

/// Every finding for the file `spec` describes with `units` as its data records, in order:
/// file-level findings first, then each unit's in record order.
pub fn validate(spec: &FileSpec, units: &[Unit]) -> Vec<Finding> {
    let mut out = Findings(Vec::new());
    check_file(&mut out, spec, units.len());
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for (index, unit) in units.iter().enumerate() {
        check_unit(&mut out, spec.level, unit);
        let key = (unit.lea_id.as_str(), unit.school());
        if let Some(first) = seen.get(&key) {
            let field = match spec.level {
                Level::Lea => LEA_IDENTIFIER.name,
                Level::Sch => SCHOOL_IDENTIFIER.name,
            };
            let value = match spec.level {
                Level::Lea => unit.lea_id.clone(),
                Level::Sch => unit.school().to_owned(),
            };
            out.push(
                unit.label(),
                field,
                value,
                format!("duplicate unit: data record {first} reports the same unit"),
            );
        } else {
            seen.insert(key, index + 1);
        }
    }
    out.0
}

/// The findings collected so far.
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, unit: String, field: &'static str, value: String, message: String) {
        self.0.push(Finding {
            unit,
            field,
            value,
            message,
        });
    }

    /// Characters and length of one text field; `required` reports an empty value.
    fn text(&mut self, unit: &str, field: &Field, value: &str, required: bool) {
        if required && value.is_empty() {
            self.push(
                unit.to_owned(),
                field.name,
                String::new(),
                "missing; the field is mandatory".into(),
            );
            return;
        }
        self.characters(unit, field.name, value);
        let length = value.chars().count();
        if length > field.length {
            self.push(
                unit.to_owned(),
                field.name,
                value.to_owned(),
                format!(
                    "{length} characters; the field holds at most {}",
                    field.length
                ),
            );
        }
    }

    /// The first character outside printable ASCII, if any.
    fn characters(&mut self, unit: &str, field: &'static str, value: &str) {
        if let Some(bad) = value.chars().find(|c| !is_permitted_char(*c)) {
            self.push(
                unit.to_owned(),
                field,
                value.to_owned(),
                format!("{bad:?} is not a printable ASCII character (space to '~')"),
            );
        }
    }
}

fn check_file(out: &mut Findings, spec: &FileSpec, records: usize) {
    let file = || FILE_UNIT.to_owned();
    if !(spec.state.len() == 2 && spec.state.chars().all(|c| c.is_ascii_alphabetic())) {
        out.push(
            file(),
            STATE_ABBREVIATION,
            spec.state.clone(),
            "not a two-letter USPS state abbreviation".into(),
        );
    }
    let version = &spec.version;
    if version.is_empty()
        || version.chars().count() > SUBMISSION_ID_MAX
        || !version.chars().all(|c| c.is_ascii_alphanumeric())
    {
        out.push(
            file(),
            SUBMISSION_ID,
            version.clone(),
            format!("not an alphanumeric string of 1 to {SUBMISSION_ID_MAX} characters"),
        );
    }
    if let Err(error) = file::file_name(spec) {
        let name = match error {
            crate::Fs163Error::FileNameTooLong { name, .. } => name,
            other => other.to_string(),
        };
        out.push(
            file(),
            FILE_NAME.name,
            name,
            format!("longer than {} characters", file::FILE_NAME_MAX),
        );
    }
    out.text(FILE_UNIT, &FILE_IDENTIFIER, &spec.file_identifier, true);
    if let Some(message) = period_problem(&spec.reporting_period) {
        out.push(
            file(),
            FILE_REPORTING_PERIOD.name,
            spec.reporting_period.clone(),
            message,
        );
    }
    if records == 0 {
        out.push(
            file(),
            TOTAL_RECORDS.name,
            "0".into(),
            "the file has no data records; section 4.2 requires them".into(),
        );
    }
}

/// Why `period` is not `CCYY-CCYY` / `CCYY CCYY` of one school year, if it is not.
fn period_problem(period: &str) -> Option<String> {
    let bytes = period.as_bytes();
    let shape = bytes.len() == 9
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && matches!(bytes[4], b'-' | b' ')
        && bytes[5..].iter().all(u8::is_ascii_digit);
    if !shape {
        return Some(r#"the format is "CCYY-CCYY" or "CCYY CCYY""#.into());
    }
    let start: u32 = period[..4].parse().ok()?;
    let end: u32 = period[5..].parse().ok()?;
    (end != start + 1)
        .then(|| format!("{end} does not follow {start}: the period is one school year"))
}

fn check_unit(out: &mut Findings, level: Level, unit: &Unit) {
    let label = unit.label();
    let code = &unit.state_code;
    if !(code.len() == 2 && code.chars().all(|c| c.is_ascii_digit())) {
        out.push(
            label.clone(),
            STATE_CODE.name,
            code.clone(),
            "not a two-digit ANSI state code".into(),
        );
    }
    if unit.state_agency_number != "01" {
        out.push(
            label.clone(),
            STATE_AGENCY_NUMBER.name,
            unit.state_agency_number.clone(),
            "the only permitted value is 01 (State Education Agency)".into(),
        );
    }
    out.text(&label, &LEA_IDENTIFIER, &unit.lea_id, true);
    match level {
        Level::Sch => out.text(&label, &SCHOOL_IDENTIFIER, unit.school(), true),
        Level::Lea => {
            if !unit.school().is_empty() {
                out.push(
                    label.clone(),
                    SCHOOL_IDENTIFIER.name,
                    unit.school().to_owned(),
                    "must be blank at LEA level".into(),
                );
            }
        }
    }
    if Status::parse(&unit.status).is_none() {
        let permitted: Vec<&str> = Status::ALL.iter().map(|s| s.code()).collect();
        out.push(
            label.clone(),
            GFSA_REPORTING_STATUS.name,
            unit.status.clone(),
            format!("not a permitted value ({})", permitted.join(", ")),
        );
    }
    if let Some(explanation) = &unit.explanation {
        out.text(&label, &EXPLANATION, explanation, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;

    fn spec() -> FileSpec {
        FileSpec {
            level: Level::Sch,
            format: Format::Csv,
            state: "EU".into(),
            version: "v000001".into(),
            file_identifier: "characters to identify file".into(),
            reporting_period: "2019-2020".into(),
        }
    }

    fn unit() -> Unit {
        Unit {
            state_code: "80".into(),
            state_agency_number: "01".into(),
            lea_id: "00606EUPHORIA".into(),
            school_id: Some("EU000001".into()),
            status: "YESWOREP".into(),
            explanation: Some("text for state use".into()),
        }
    }

    /// The single finding of `spec` with `units`, which must be exactly one.
    fn only(spec: &FileSpec, units: &[Unit]) -> Finding {
        let findings = validate(spec, units);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        findings.into_iter().next().unwrap()
    }

    #[test]
    fn the_seed_example_is_valid_at_both_levels_and_all_statuses() {
        assert_eq!(validate(&spec(), &[unit()]), []);
        let lea = FileSpec {
            level: Level::Lea,
            ..spec()
        };
        assert_eq!(
            validate(
                &lea,
                &[Unit {
                    school_id: None,
                    explanation: None,
                    ..unit()
                }]
            ),
            []
        );
        for status in Status::ALL {
            assert_eq!(
                validate(
                    &spec(),
                    &[Unit {
                        status: status.code().into(),
                        ..unit()
                    }]
                ),
                []
            );
        }
        let space = FileSpec {
            reporting_period: "2019 2020".into(),
            ..spec()
        };
        assert_eq!(validate(&space, &[unit()]), []);
    }

    #[test]
    fn a_status_outside_the_permitted_values() {
        for bad in ["MAYBE", "yeswithrep", "", "NO ", "MISSING"] {
            let finding = only(
                &spec(),
                &[Unit {
                    status: bad.into(),
                    ..unit()
                }],
            );
            assert_eq!(finding.field, "GFSA Reporting Status");
            assert_eq!(finding.value, bad);
            assert_eq!(finding.unit, "school EU000001 of LEA 00606EUPHORIA");
        }
    }

    #[test]
    fn every_unit_field_within_its_length() {
        let cases = [
            (
                Unit {
                    lea_id: "L".repeat(15),
                    ..unit()
                },
                "LEA Identifier (State)",
            ),
            (
                Unit {
                    school_id: Some("S".repeat(21)),
                    ..unit()
                },
                "School Identifier (State)",
            ),
            (
                Unit {
                    explanation: Some("e".repeat(201)),
                    ..unit()
                },
                "Explanation",
            ),
        ];
        for (unit, field) in cases {
            let finding = only(&spec(), &[unit]);
            assert_eq!(finding.field, field);
            assert!(finding.message.contains("at most"), "{finding}");
        }
        // At the limit is fine.
        let full = Unit {
            lea_id: "L".repeat(14),
            school_id: Some("S".repeat(20)),
            explanation: Some("e".repeat(200)),
            ..unit()
        };
        assert_eq!(validate(&spec(), &[full]), []);
    }

    #[test]
    fn state_code_and_state_agency_number() {
        for bad in ["8", "800", "EU", ""] {
            let finding = only(
                &spec(),
                &[Unit {
                    state_code: bad.into(),
                    ..unit()
                }],
            );
            assert_eq!((finding.field, finding.value.as_str()), ("State Code", bad));
        }
        for bad in ["1", "02", ""] {
            let finding = only(
                &spec(),
                &[Unit {
                    state_agency_number: bad.into(),
                    ..unit()
                }],
            );
            assert_eq!(
                (finding.field, finding.value.as_str()),
                ("State Agency Number", bad)
            );
        }
    }

    #[test]
    fn identifiers_as_the_level_requires() {
        let finding = only(
            &spec(),
            &[Unit {
                lea_id: String::new(),
                ..unit()
            }],
        );
        assert_eq!(finding.field, "LEA Identifier (State)");
        assert!(finding.message.contains("missing"));

        for missing in [None, Some(String::new())] {
            let finding = only(
                &spec(),
                &[Unit {
                    school_id: missing,
                    ..unit()
                }],
            );
            assert_eq!(finding.field, "School Identifier (State)");
            assert_eq!(finding.unit, "LEA 00606EUPHORIA");
        }

        let lea = FileSpec {
            level: Level::Lea,
            ..spec()
        };
        let finding = only(&lea, &[unit()]);
        assert_eq!(finding.field, "School Identifier (State)");
        assert_eq!(finding.value, "EU000001");
        assert!(finding.message.contains("blank at LEA level"));
    }

    #[test]
    fn no_duplicate_unit() {
        let other_school = Unit {
            school_id: Some("EU000002".into()),
            ..unit()
        };
        assert_eq!(validate(&spec(), &[unit(), other_school.clone()]), []);
        // The same school id under another LEA is another unit.
        let other_lea = Unit {
            lea_id: "00607OTHER".into(),
            ..unit()
        };
        assert_eq!(validate(&spec(), &[unit(), other_lea]), []);

        let finding = only(&spec(), &[unit(), other_school, unit()]);
        assert_eq!(finding.unit, "school EU000001 of LEA 00606EUPHORIA");
        assert_eq!(finding.field, "School Identifier (State)");
        assert!(finding.message.contains("data record 1"), "{finding}");

        let lea = FileSpec {
            level: Level::Lea,
            ..spec()
        };
        let lea_unit = Unit {
            school_id: None,
            ..unit()
        };
        let finding = only(&lea, &[lea_unit.clone(), lea_unit]);
        assert_eq!(
            (finding.unit.as_str(), finding.field),
            ("LEA 00606EUPHORIA", "LEA Identifier (State)")
        );
    }

    #[test]
    fn the_reporting_period_format() {
        for bad in [
            "2019-2021",
            "2019-2019",
            "2019/2020",
            "2019–2020",
            "19-20",
            "2019-20",
            "",
            "2019-2020 ",
        ] {
            let finding = only(
                &FileSpec {
                    reporting_period: bad.into(),
                    ..spec()
                },
                &[unit()],
            );
            assert_eq!(
                (finding.unit.as_str(), finding.field),
                ("file", "File Reporting Period")
            );
            assert_eq!(finding.value, bad);
        }
    }

    #[test]
    fn file_identifier_state_version_and_file_name() {
        let finding = only(
            &FileSpec {
                file_identifier: "x".repeat(33),
                ..spec()
            },
            &[unit()],
        );
        assert_eq!(finding.field, "File Identifier");
        let finding = only(
            &FileSpec {
                file_identifier: String::new(),
                ..spec()
            },
            &[unit()],
        );
        assert_eq!(finding.field, "File Identifier");
        assert_eq!(
            validate(
                &FileSpec {
                    file_identifier: "x".repeat(32),
                    ..spec()
                },
                &[unit()]
            ),
            []
        );

        for bad in ["E", "EUR", "E1", ""] {
            let finding = only(
                &FileSpec {
                    state: bad.into(),
                    ..spec()
                },
                &[unit()],
            );
            assert_eq!(finding.field, STATE_ABBREVIATION);
        }
        for bad in ["", "v-00001", "v 0001"] {
            let finding = only(
                &FileSpec {
                    version: bad.into(),
                    ..spec()
                },
                &[unit()],
            );
            assert_eq!(finding.field, SUBMISSION_ID);
        }
        // Eight characters: too long an id, though the name (25) still fits.
        let finding = only(
            &FileSpec {
                version: "v0000001".into(),
                ..spec()
            },
            &[unit()],
        );
        assert_eq!(finding.field, SUBMISSION_ID);
        // Nine: the id and the 26-character name.
        let findings = validate(
            &FileSpec {
                version: "v00000001".into(),
                ..spec()
            },
            &[unit()],
        );
        let fields: Vec<&str> = findings.iter().map(|f| f.field).collect();
        assert_eq!(fields, [SUBMISSION_ID, "File Name"]);
        assert_eq!(findings[1].value, "euschDISCDATAv00000001.csv");
    }

    #[test]
    fn characters_no_format_can_carry() {
        for (text, format) in [
            ("a\tb", Format::Tab),
            ("a\r\nb", Format::Csv),
            ("é", Format::Fixed),
            ("a\nb", Format::Fixed),
        ] {
            let spec = FileSpec { format, ..spec() };
            let finding = only(
                &spec,
                &[Unit {
                    explanation: Some(text.into()),
                    ..unit()
                }],
            );
            assert_eq!(finding.field, "Explanation");
            assert!(finding.message.contains("printable ASCII"), "{finding}");
        }
        let finding = only(
            &spec(),
            &[Unit {
                lea_id: "006\t06".into(),
                ..unit()
            }],
        );
        assert_eq!(finding.field, "LEA Identifier (State)");
        let finding = only(
            &FileSpec {
                file_identifier: "id\r\n".into(),
                ..spec()
            },
            &[unit()],
        );
        assert_eq!(finding.field, "File Identifier");
        // A comma is carried (quoted) by csv, and as-is by tab and fixed.
        for format in [Format::Csv, Format::Tab, Format::Fixed] {
            let spec = FileSpec { format, ..spec() };
            assert_eq!(
                validate(
                    &spec,
                    &[Unit {
                        explanation: Some("a, b".into()),
                        ..unit()
                    }]
                ),
                []
            );
        }
    }

    #[test]
    fn a_file_without_data_records() {
        let finding = only(&spec(), &[]);
        assert_eq!(
            (finding.unit.as_str(), finding.field),
            ("file", "Total Records in File")
        );
    }

    #[test]
    fn findings_name_unit_field_and_value() {
        let findings = validate(
            &FileSpec {
                reporting_period: "2019".into(),
                ..spec()
            },
            &[Unit {
                status: "X".into(),
                state_agency_number: "02".into(),
                ..unit()
            }],
        );
        let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3);
        assert!(
            shown[0].starts_with("file: File Reporting Period \"2019\": "),
            "{shown:?}"
        );
        assert!(
            shown[1]
                .starts_with("school EU000001 of LEA 00606EUPHORIA: State Agency Number \"02\"")
        );
        assert!(shown[2].contains("GFSA Reporting Status \"X\""));
    }
}
