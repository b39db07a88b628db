//! The vocabulary of the EDFacts FS163 file (GFSA reporting status, data group 603): the
//! reporting level, the file format, the permitted status values, one education unit as the
//! file reports it, and the settings that shape the file as a whole.
//!
//! These are plain values: the source reader and the derivation build [`Unit`]s,
//! [`validate`](crate::validate) checks them against the seed's rules, and
//! [`file`](crate::file) renders them. A unit's status is kept as the text it was given (not
//! as a [`Status`]) so that a value outside the permitted list reaches validation and is
//! reported with its unit, instead of being lost while reading.

use std::fmt;

/// The level a file reports (Table 3.0-1 `lev`; Table 4.1-1 File Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Local education agencies: `LEA`, file type `LEA DISCIPLINE DATA`.
    Lea,
    /// Schools: `SCH`, file type `SCHOOL DISCIPLINE DATA`.
    Sch,
}

impl Level {
    /// `LEA` or `SCH`, in any letter case (a job setting).
    pub fn parse(text: &str) -> Option<Level> {
        if text.eq_ignore_ascii_case("LEA") {
            Some(Level::Lea)
        } else if text.eq_ignore_ascii_case("SCH") {
            Some(Level::Sch)
        } else {
            None
        }
    }

    /// The level's abbreviation, `LEA` or `SCH` (lower-cased in the file name).
    pub fn code(self) -> &'static str {
        match self {
            Level::Lea => "LEA",
            Level::Sch => "SCH",
        }
    }

    /// The header's File Type permitted value for this level (Table 4.1-1).
    pub fn file_type(self) -> &'static str {
        match self {
            Level::Lea => "LEA DISCIPLINE DATA",
            Level::Sch => "SCHOOL DISCIPLINE DATA",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The file format (Table 3.0-1 `.ext`): fixed positions or comma/tab delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Every field at its start position and length; `.txt`.
    Fixed,
    /// Comma delimited; `.csv`.
    Csv,
    /// Tab delimited; `.tab`.
    Tab,
}

impl Format {
    /// `fixed`, `csv` or `tab`, in any letter case (a job setting).
    pub fn parse(text: &str) -> Option<Format> {
        [Format::Fixed, Format::Csv, Format::Tab]
            .into_iter()
            .find(|format| text.eq_ignore_ascii_case(format.setting()))
    }

    /// The setting's spelling: `fixed`, `csv` or `tab`.
    pub fn setting(self) -> &'static str {
        match self {
            Format::Fixed => "fixed",
            Format::Csv => "csv",
            Format::Tab => "tab",
        }
    }

    /// The file name's extension without the dot: `txt`, `csv` or `tab`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Fixed => "txt",
            Format::Csv => "csv",
            Format::Tab => "tab",
        }
    }

    /// The field separator of a delimited format; `None` for the fixed format.
    pub fn delimiter(self) -> Option<char> {
        match self {
            Format::Fixed => None,
            Format::Csv => Some(','),
            Format::Tab => Some('\t'),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.setting())
    }
}

/// A GFSA Reporting Status permitted value (section 2.4, Table 4.2-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `YESWITHREP`: a report indicating one or more students had an offense.
    YesWithRep,
    /// `YESWOREP`: a report indicating no students had offenses.
    YesWoRep,
    /// `NO`: no report filed; also what a missing status is reported as (section 2.5).
    No,
    /// `NA`: not required to submit a report (to be used very rarely).
    Na,
}

impl Status {
    /// Every permitted value, in the seed's order.
    pub const ALL: [Status; 4] = [Status::YesWithRep, Status::YesWoRep, Status::No, Status::Na];

    /// The permitted value abbreviation, exactly (upper case, no surrounding spaces).
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.code() == text)
    }

    /// The permitted value abbreviation as the file carries it.
    pub fn code(self) -> &'static str {
        match self {
            Status::YesWithRep => "YESWITHREP",
            Status::YesWoRep => "YESWOREP",
            Status::No => "NO",
            Status::Na => "NA",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One education unit as the file reports it (after filtering and derivation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The two-digit ANSI state code (Table 4.2-1 State Code), e.g. `80`.
    pub state_code: String,
    /// The State Agency Number; always `01` (State Education Agency).
    pub state_agency_number: String,
    /// The state's LEA identifier, at most 14 characters.
    pub lea_id: String,
    /// The state's school identifier, at most 20 characters; `None` (or empty) at LEA level.
    pub school_id: Option<String>,
    /// The GFSA Reporting Status as given; [`validate`](crate::validate) checks it is permitted.
    pub status: String,
    /// The optional Explanation, at most 200 characters; `None` renders as an empty field.
    pub explanation: Option<String>,
}

impl Unit {
    /// The school identifier, or `""` when there is none.
    pub fn school(&self) -> &str {
        self.school_id.as_deref().unwrap_or("")
    }

    /// How reports name the unit: `LEA 00606EUPHORIA` or `school EU000001 of LEA 00606EUPHORIA`.
    pub fn label(&self) -> String {
        match self.school() {
            "" => format!("LEA {}", self.lea_id),
            school => format!("school {school} of LEA {}", self.lea_id),
        }
    }
}

/// What shapes the file as a whole (the job's settings, already parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The reporting level.
    pub level: Level,
    /// The file format.
    pub format: Format,
    /// The USPS state abbreviation, e.g. `EU`; lower-cased in the file name.
    pub state: String,
    /// The SEA's submission id, at most 7 alphanumeric characters, e.g. `v000001`.
    pub version: String,
    /// The header's File Identifier, at most 32 characters.
    pub file_identifier: String,
    /// The header's File Reporting Period, `CCYY-CCYY` or `CCYY CCYY`, e.g. `2019-2020`.
    pub reporting_period: String,
}
