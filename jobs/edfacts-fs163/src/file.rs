//! The FS163 file's bytes: its external name (section 3.0) and its header and data records
//! (section 4, Tables 4.1-1 and 4.2-1) in the fixed, comma- or tab-delimited format.
//!
//! # What the seed fixes
//!
//! - **Name** `sslevDISCDATAvvvvvvv.ext`: the USPS state abbreviation and the level (`lea` or
//!   `sch`) in lower case, as in the seed's example `euschDISCDATAv000001.csv`, then
//!   `DISCDATA`, the SEA's submission id as given, and `.txt`, `.csv` or `.tab`. At most 25
//!   characters including the extension; a longer name is an error, never shortened.
//! - **Header record** first: File Type (`LEA DISCIPLINE DATA` / `SCHOOL DISCIPLINE DATA`),
//!   Total Records in File (the number of data records; the header is not counted), File Name
//!   (the external name), File Identifier, File Reporting Period, Filler (blank).
//! - **Data records**, one per unit: File Record Number (sequential from 1), State Code, State
//!   Agency Number, LEA Identifier, School Identifier (blank at LEA level), Filler (blank), GFSA
//!   Reporting Status, Explanation (optional; a missing one is an empty field).
//! - Every record ends with CRLF, the last one included.
//!
//! # Fixed format
//!
//! Every field stands at its start position with its length ([`HEADER_FIELDS`],
//! [`DATA_FIELDS`]), left-aligned and padded with spaces, numbers too: the seed gives no
//! alignment and no zero-padding for its two Number fields, and the job's issue asks for
//! left-aligned, space-padded fields throughout. Both record types fill positions 1–269
//! ([`RECORD_LENGTH`]); the CRLF stands at position 270 as both tables show. Positions count
//! bytes, which is why [`validate`](mod@validate) admits printable ASCII only: a multi-byte
//! character would shift every later field.
//!
//! # Delimited formats
//!
//! The same fields in the same order, separated by commas (`.csv`) or tabs (`.tab`), with no
//! padding and the Filler present as an empty field, exactly as Tables 4.1-2 and 4.2-2 show:
//! the header example ends in `2019-2020,` (the empty Filler after the last comma) and the data
//! example has `,,` between School Identifier and status.
//!
//! The seed is silent on a value that contains the delimiter. Choice made here: in `.csv` a
//! value containing a comma or a double quote is quoted as RFC 4180 says (enclosed in double
//! quotes, inner quotes doubled), so an explanation such as `late, refiled` survives intact;
//! every other value is written bare, so the seed's examples come out unchanged. Field lengths
//! apply to the value, not to the added quotes. A `.tab` file cannot quote, but a tab can never
//! reach it: tabs, CR and LF are outside printable ASCII and are refused for every format.

use crate::error::Fs163Error;
use crate::model::{FileSpec, Format, Unit};
use crate::validate::{self, Finding};

/// One field of a record layout: the seed's name, 1-based start position and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The data element name as the seed's table gives it.
    pub name: &'static str,
    /// The 1-based start position in a fixed-format record.
    pub start: usize,
    /// The length in characters (the largest value the field holds in any format).
    pub length: usize,
}

impl Field {
    /// The 1-based position of the field's last character.
    pub const fn end(&self) -> usize {
        self.start + self.length - 1
    }

    /// The field's raw text (padding included) in a fixed-format record, without its line end.
    pub fn slice<'a>(&self, record: &'a str) -> Option<&'a str> {
        record.get(self.start - 1..self.end())
    }
}

/// Positions 1–269 of both record types; the CRLF stands at 270.
pub const RECORD_LENGTH: usize = 269;

/// Every record's line end.
pub const LINE_END: &str = "\r\n";

/// The longest external file name, extension included (section 3.0).
pub const FILE_NAME_MAX: usize = 25;

/// Table 4.1-1: File Type.
pub const FILE_TYPE: Field = Field {
    name: "File Type",
    start: 1,
    length: 50,
};
/// Table 4.1-1: Total Records in File (data records only).
pub const TOTAL_RECORDS: Field = Field {
    name: "Total Records in File",
    start: 51,
    length: 10,
};
/// Table 4.1-1: File Name.
pub const FILE_NAME: Field = Field {
    name: "File Name",
    start: 61,
    length: 25,
};
/// Table 4.1-1: File Identifier.
pub const FILE_IDENTIFIER: Field = Field {
    name: "File Identifier",
    start: 86,
    length: 32,
};
/// Table 4.1-1: File Reporting Period.
pub const FILE_REPORTING_PERIOD: Field = Field {
    name: "File Reporting Period",
    start: 118,
    length: 9,
};
/// Table 4.1-1: Filler (blank).
pub const HEADER_FILLER: Field = Field {
    name: "Filler",
    start: 127,
    length: 143,
};

/// Table 4.2-1: File Record Number.
pub const FILE_RECORD_NUMBER: Field = Field {
    name: "File Record Number",
    start: 1,
    length: 10,
};
/// Table 4.2-1: State Code.
pub const STATE_CODE: Field = Field {
    name: "State Code",
    start: 11,
    length: 2,
};
/// Table 4.2-1: State Agency Number.
pub const STATE_AGENCY_NUMBER: Field = Field {
    name: "State Agency Number",
    start: 13,
    length: 2,
};
/// Table 4.2-1: LEA Identifier (State).
pub const LEA_IDENTIFIER: Field = Field {
    name: "LEA Identifier (State)",
    start: 15,
    length: 14,
};
/// Table 4.2-1: School Identifier (State); blank at LEA level.
pub const SCHOOL_IDENTIFIER: Field = Field {
    name: "School Identifier (State)",
    start: 29,
    length: 20,
};
/// Table 4.2-1: Filler (blank).
pub const DATA_FILLER: Field = Field {
    name: "Filler",
    start: 49,
    length: 6,
};
/// Table 4.2-1: GFSA Reporting Status.
pub const GFSA_REPORTING_STATUS: Field = Field {
    name: "GFSA Reporting Status",
    start: 55,
    length: 15,
};
/// Table 4.2-1: Explanation (optional).
pub const EXPLANATION: Field = Field {
    name: "Explanation",
    start: 70,
    length: 200,
};

/// The header record's fields in order (Table 4.1-1).
pub const HEADER_FIELDS: [Field; 6] = [
    FILE_TYPE,
    TOTAL_RECORDS,
    FILE_NAME,
    FILE_IDENTIFIER,
    FILE_REPORTING_PERIOD,
    HEADER_FILLER,
];

/// The data record's fields in order (Table 4.2-1).
pub const DATA_FIELDS: [Field; 8] = [
    FILE_RECORD_NUMBER,
    STATE_CODE,
    STATE_AGENCY_NUMBER,
    LEA_IDENTIFIER,
    SCHOOL_IDENTIFIER,
    DATA_FILLER,
    GFSA_REPORTING_STATUS,
    EXPLANATION,
];

/// The external file name `sslevDISCDATAvvvvvvv.ext` (section 3.0, Table 3.0-1).
///
/// # Errors
/// [`Fs163Error::FileNameTooLong`] when the name exceeds [`FILE_NAME_MAX`] characters.
pub fn file_name(spec: &FileSpec) -> Result<String, Fs163Error> {
    let name = format!(
        "{}{}DISCDATA{}.{}",
        spec.state.to_ascii_lowercase(),
        spec.level.code().to_ascii_lowercase(),
        spec.version,
        spec.format.extension()
    );
    let length = name.chars().count();
    if length > FILE_NAME_MAX {
        return Err(Fs163Error::FileNameTooLong { name, length });
    }
    Ok(name)
}

/// The header record for a file of `total_records` data records, without its line end.
///
/// # Errors
/// The file name's error, or a value that does not fit or cannot be written in the format.
pub fn header_record(spec: &FileSpec, total_records: usize) -> Result<String, Fs163Error> {
    let values = [
        spec.level.file_type().to_owned(),
        total_records.to_string(),
        file_name(spec)?,
        spec.file_identifier.clone(),
        spec.reporting_period.clone(),
        String::new(),
    ];
    record(spec.format, "file", &HEADER_FIELDS, &values)
}

/// Data record number `number` (from 1) for `unit`, without its line end.
///
/// # Errors
/// A value that does not fit its field or cannot be written in the format, naming the unit.
pub fn data_record(format: Format, number: usize, unit: &Unit) -> Result<String, Fs163Error> {
    let values = [
        number.to_string(),
        unit.state_code.clone(),
        unit.state_agency_number.clone(),
        unit.lea_id.clone(),
        unit.school().to_owned(),
        String::new(),
        unit.status.clone(),
        unit.explanation.clone().unwrap_or_default(),
    ];
    record(format, &unit.label(), &DATA_FIELDS, &values)
}

/// The whole file: the header, then one data record per unit in the given order, each ending
/// in CRLF. Validates first; nothing is rendered from a file that breaks a rule.
///
/// # Errors
/// [`Fs163Error::Invalid`] with every finding of [`validate::validate`].
pub fn render(spec: &FileSpec, units: &[Unit]) -> Result<Vec<u8>, Fs163Error> {
    let findings: Vec<Finding> = validate::validate(spec, units);
    if !findings.is_empty() {
        return Err(Fs163Error::Invalid { findings });
    }
    let mut out = String::with_capacity((units.len() + 1) * (RECORD_LENGTH + LINE_END.len()));
    out.push_str(&header_record(spec, units.len())?);
    out.push_str(LINE_END);
    for (index, unit) in units.iter().enumerate() {
        out.push_str(&data_record(spec.format, index + 1, unit)?);
        out.push_str(LINE_END);
    }
    Ok(out.into_bytes())
}

/// One record from its values, checked field by field.
fn record(
    format: Format,
    unit: &str,
    fields: &[Field],
    values: &[String],
) -> Result<String, Fs163Error> {
    let mut out = String::with_capacity(RECORD_LENGTH);
    for (index, (field, value)) in fields.iter().zip(values).enumerate() {
        if let Some(bad) = value.chars().find(|c| !validate::is_permitted_char(*c)) {
            return Err(Fs163Error::Unrepresentable {
                unit: unit.to_owned(),
                field: field.name,
                value: value.clone(),
                message: format!("{bad:?} is not a printable ASCII character"),
            });
        }
        if value.len() > field.length {
            return Err(Fs163Error::FieldTooLong {
                unit: unit.to_owned(),
                field: field.name,
                value: value.clone(),
                length: field.length,
            });
        }
        match format.delimiter() {
            None => out.push_str(&format!("{value:<width$}", width = field.length)),
            Some(delimiter) => {
                if index > 0 {
                    out.push(delimiter);
                }
                if format == Format::Csv && value.contains([',', '"']) {
                    out.push('"');
                    out.push_str(&value.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(value);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn spec(level: Level, format: Format) -> FileSpec {
        FileSpec {
            level,
            format,
            state: "EU".into(),
            version: "v000001".into(),
            file_identifier: "characters to identify file".into(),
            reporting_period: "2019-2020".into(),
        }
    }

    /// The unit of Table 4.2-2.
    fn seed_unit() -> Unit {
        Unit {
            state_code: "80".into(),
            state_agency_number: "01".into(),
            lea_id: "00606EUPHORIA".into(),
            school_id: Some("EU000001".into()),
            status: "YESWOREP".into(),
            explanation: Some("text for state use".into()),
        }
    }

    /// Table 4.1-2 counts 15 data records: the seed's unit and 14 more schools of its LEA.
    fn fifteen_units() -> Vec<Unit> {
        (1..=15)
            .map(|n| Unit {
                school_id: Some(format!("EU{n:06}")),
                ..seed_unit()
            })
            .collect()
    }

    fn lines(bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.ends_with(LINE_END), "the last record ends in CRLF");
        let lines: Vec<String> = text.split_terminator(LINE_END).map(str::to_owned).collect();
        for line in &lines {
            assert!(
                !line.contains(['\r', '\n']),
                "no bare CR or LF inside {line:?}"
            );
        }
        lines
    }

    #[test]
    fn the_field_tables_are_contiguous_from_1_to_269() {
        for table in [&HEADER_FIELDS[..], &DATA_FIELDS[..]] {
            let mut next = 1;
            for field in table {
                assert_eq!(
                    field.start, next,
                    "{} starts where the previous field ends",
                    field.name
                );
                next = field.end() + 1;
            }
            assert_eq!(next - 1, RECORD_LENGTH);
            assert_eq!(next, 270, "the CRLF stands at position 270");
        }
        // The seed's start positions and lengths, verbatim.
        let header: Vec<(usize, usize)> =
            HEADER_FIELDS.iter().map(|f| (f.start, f.length)).collect();
        assert_eq!(
            header,
            [(1, 50), (51, 10), (61, 25), (86, 32), (118, 9), (127, 143)]
        );
        let data: Vec<(usize, usize)> = DATA_FIELDS.iter().map(|f| (f.start, f.length)).collect();
        assert_eq!(
            data,
            [
                (1, 10),
                (11, 2),
                (13, 2),
                (15, 14),
                (29, 20),
                (49, 6),
                (55, 15),
                (70, 200)
            ]
        );
    }

    #[test]
    fn the_seed_file_name_example() {
        assert_eq!(
            file_name(&spec(Level::Sch, Format::Csv)).unwrap(),
            "euschDISCDATAv000001.csv"
        );
        assert_eq!(
            file_name(&spec(Level::Lea, Format::Fixed)).unwrap(),
            "euleaDISCDATAv000001.txt"
        );
        assert_eq!(
            file_name(&spec(Level::Sch, Format::Tab)).unwrap(),
            "euschDISCDATAv000001.tab"
        );
        // A 7-character id gives 24 characters; an 8-character one exactly 25, still allowed.
        let mut eight = spec(Level::Sch, Format::Csv);
        eight.version = "v0000001".into();
        assert_eq!(file_name(&eight).unwrap().len(), 25);
    }

    #[test]
    fn a_file_name_over_25_characters_is_an_error() {
        let mut long = spec(Level::Sch, Format::Csv);
        long.version = "v00000001".into();
        let error = file_name(&long).unwrap_err();
        assert_eq!(
            error,
            Fs163Error::FileNameTooLong {
                name: "euschDISCDATAv00000001.csv".into(),
                length: 26
            }
        );
        assert!(error.to_string().contains("at most 25"));
        assert!(
            header_record(&long, 1).is_err(),
            "the header carries the name and fails too"
        );
    }

    #[test]
    fn the_seed_header_example_table_4_1_2_csv() {
        let header = header_record(&spec(Level::Sch, Format::Csv), 15).unwrap();
        assert_eq!(
            header,
            "SCHOOL DISCIPLINE DATA,15,euschDISCDATAv000001.csv,characters to identify file,2019-2020,"
        );
    }

    #[test]
    fn the_seed_data_example_table_4_2_2_csv() {
        assert_eq!(
            data_record(Format::Csv, 1, &seed_unit()).unwrap(),
            "1,80,01,00606EUPHORIA,EU000001,,YESWOREP,text for state use"
        );
    }

    #[test]
    fn the_seed_examples_as_a_whole_csv_file() {
        let bytes = render(&spec(Level::Sch, Format::Csv), &fifteen_units()).unwrap();
        let lines = lines(&bytes);
        assert_eq!(lines.len(), 16, "header + 15 data records");
        assert_eq!(
            lines[0],
            "SCHOOL DISCIPLINE DATA,15,euschDISCDATAv000001.csv,characters to identify file,2019-2020,"
        );
        assert_eq!(
            lines[1],
            "1,80,01,00606EUPHORIA,EU000001,,YESWOREP,text for state use"
        );
        assert_eq!(
            lines[15],
            "15,80,01,00606EUPHORIA,EU000015,,YESWOREP,text for state use"
        );
        assert!(bytes.starts_with(b"SCHOOL DISCIPLINE DATA,15,"));
        assert!(bytes.windows(2).filter(|w| w == b"\r\n").count() == 16);
    }

    #[test]
    fn the_seed_examples_tab_delimited() {
        let bytes = render(&spec(Level::Sch, Format::Tab), &fifteen_units()).unwrap();
        let lines = lines(&bytes);
        assert_eq!(
            lines[0],
            "SCHOOL DISCIPLINE DATA\t15\teuschDISCDATAv000001.tab\tcharacters to identify file\t2019-2020\t"
        );
        assert_eq!(
            lines[1],
            "1\t80\t01\t00606EUPHORIA\tEU000001\t\tYESWOREP\ttext for state use"
        );
        assert_eq!(lines[1].split('\t').count(), DATA_FIELDS.len());
        assert_eq!(lines[0].split('\t').count(), HEADER_FIELDS.len());
    }

    #[test]
    fn fixed_header_every_field_at_its_position() {
        let bytes = render(&spec(Level::Sch, Format::Fixed), &fifteen_units()).unwrap();
        let lines = lines(&bytes);
        let header = &lines[0];
        assert_eq!(header.len(), RECORD_LENGTH);
        assert_eq!(
            &bytes[RECORD_LENGTH..RECORD_LENGTH + 2],
            b"\r\n",
            "CRLF at 270"
        );
        let expected = [
            "SCHOOL DISCIPLINE DATA",
            "15",
            "euschDISCDATAv000001.txt",
            "characters to identify file",
            "2019-2020",
            "",
        ];
        for (field, value) in HEADER_FIELDS.iter().zip(expected) {
            let raw = field.slice(header).unwrap();
            assert_eq!(raw.len(), field.length, "{}", field.name);
            assert_eq!(
                raw,
                format!("{value:<w$}", w = field.length),
                "{} left-aligned",
                field.name
            );
            assert_eq!(raw.trim_end(), value, "{}", field.name);
        }
        assert_eq!(
            &header[50..60],
            "15        ",
            "numbers are left-aligned, space-padded"
        );
    }

    #[test]
    fn fixed_data_every_field_at_its_position() {
        let bytes = render(&spec(Level::Sch, Format::Fixed), &fifteen_units()).unwrap();
        let lines = lines(&bytes);
        for (number, line) in lines.iter().enumerate().skip(1) {
            assert_eq!(line.len(), RECORD_LENGTH, "record {number}");
            let expected = [
                number.to_string(),
                "80".into(),
                "01".into(),
                "00606EUPHORIA".into(),
                format!("EU{number:06}"),
                String::new(),
                "YESWOREP".into(),
                "text for state use".into(),
            ];
            for (field, value) in DATA_FIELDS.iter().zip(&expected) {
                let raw = field.slice(line).unwrap();
                assert_eq!(
                    raw,
                    format!("{value:<w$}", w = field.length),
                    "{}",
                    field.name
                );
            }
        }
        // Every line of the file is 269 characters + CRLF.
        assert_eq!(bytes.len(), 16 * (RECORD_LENGTH + 2));
        for chunk in bytes.chunks(RECORD_LENGTH + 2) {
            assert_eq!(&chunk[RECORD_LENGTH..], b"\r\n");
        }
        assert_eq!(
            &lines[1][..28],
            "1         800100606EUPHORIA ",
            "positions 1-28 verbatim"
        );
    }

    #[test]
    fn fixed_lea_level_leaves_the_school_blank_and_a_missing_explanation_empty() {
        let unit = Unit {
            school_id: None,
            explanation: None,
            status: "NO".into(),
            ..seed_unit()
        };
        let bytes = render(&spec(Level::Lea, Format::Fixed), &[unit]).unwrap();
        let lines = lines(&bytes);
        assert_eq!(
            FILE_TYPE.slice(&lines[0]).unwrap().trim_end(),
            "LEA DISCIPLINE DATA"
        );
        assert_eq!(TOTAL_RECORDS.slice(&lines[0]).unwrap(), "1         ");
        assert_eq!(
            FILE_NAME.slice(&lines[0]).unwrap().trim_end(),
            "euleaDISCDATAv000001.txt"
        );
        let data = &lines[1];
        assert_eq!(data.len(), RECORD_LENGTH);
        assert_eq!(SCHOOL_IDENTIFIER.slice(data).unwrap(), " ".repeat(20));
        assert_eq!(DATA_FILLER.slice(data).unwrap(), " ".repeat(6));
        assert_eq!(GFSA_REPORTING_STATUS.slice(data).unwrap().trim_end(), "NO");
        assert_eq!(EXPLANATION.slice(data).unwrap(), " ".repeat(200));
    }

    #[test]
    fn a_missing_explanation_is_an_empty_delimited_field() {
        let unit = Unit {
            explanation: None,
            ..seed_unit()
        };
        assert_eq!(
            data_record(Format::Csv, 1, &unit).unwrap(),
            "1,80,01,00606EUPHORIA,EU000001,,YESWOREP,"
        );
        assert_eq!(
            data_record(Format::Tab, 1, &unit).unwrap(),
            "1\t80\t01\t00606EUPHORIA\tEU000001\t\tYESWOREP\t"
        );
        let lea = Unit {
            school_id: None,
            explanation: None,
            ..seed_unit()
        };
        assert_eq!(
            data_record(Format::Csv, 2, &lea).unwrap(),
            "2,80,01,00606EUPHORIA,,,YESWOREP,"
        );
    }

    #[test]
    fn csv_quotes_a_comma_or_quote_per_rfc_4180_and_tab_does_not() {
        let unit = Unit {
            explanation: Some("late, \"refiled\"".into()),
            ..seed_unit()
        };
        assert_eq!(
            data_record(Format::Csv, 1, &unit).unwrap(),
            "1,80,01,00606EUPHORIA,EU000001,,YESWOREP,\"late, \"\"refiled\"\"\""
        );
        assert_eq!(
            data_record(Format::Tab, 1, &unit).unwrap(),
            "1\t80\t01\t00606EUPHORIA\tEU000001\t\tYESWOREP\tlate, \"refiled\""
        );
        // The fixed format carries both characters at their positions.
        let fixed = data_record(Format::Fixed, 1, &unit).unwrap();
        assert_eq!(
            EXPLANATION.slice(&fixed).unwrap().trim_end(),
            "late, \"refiled\""
        );
        // The 200-character limit is on the value, not on the quotes added around it.
        let full = Unit {
            explanation: Some(format!("a,{}", "b".repeat(198))),
            ..seed_unit()
        };
        assert!(
            data_record(Format::Csv, 1, &full)
                .unwrap()
                .ends_with(&format!("\"a,{}\"", "b".repeat(198)))
        );
    }

    #[test]
    fn records_refuse_what_does_not_fit_or_cannot_be_written() {
        let long = Unit {
            explanation: Some("x".repeat(201)),
            ..seed_unit()
        };
        assert!(matches!(
            data_record(Format::Fixed, 1, &long),
            Err(Fs163Error::FieldTooLong {
                field: "Explanation",
                length: 200,
                ..
            })
        ));
        let tab = Unit {
            explanation: Some("a\tb".into()),
            ..seed_unit()
        };
        let error = data_record(Format::Tab, 1, &tab).unwrap_err();
        assert!(matches!(
            &error,
            Fs163Error::Unrepresentable {
                field: "Explanation",
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .contains("school EU000001 of LEA 00606EUPHORIA")
        );
    }

    #[test]
    fn render_refuses_an_invalid_file_and_names_unit_and_field() {
        let bad = Unit {
            status: "MAYBE".into(),
            ..seed_unit()
        };
        let error = render(&spec(Level::Sch, Format::Csv), &[bad]).unwrap_err();
        let Fs163Error::Invalid { findings } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].field, "GFSA Reporting Status");
        assert_eq!(findings[0].unit, "school EU000001 of LEA 00606EUPHORIA");
        assert!(error.to_string().contains("MAYBE"), "{error}");
    }
}
