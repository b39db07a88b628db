//! The edge cases the generated data holds, named so tests can find the students that carry each.

/// One kind of awkward input the import must handle. Cases about a student's data (not its
/// enrollment or formatting) list only students the import touches, so what is expected of
/// them follows from the rules directly; untouched students (excluded, inactive) carry
/// stale values and log entries of their own that must survive unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeCase {
    /// A local id with leading zeros whose zero-stripped form also appears in the files (and
    /// matches no student): matching is on text.
    LeadingZeroLocalId,
    /// Active, primarily enrolled at one of the excluded schools (one student per school among
    /// the designated ones).
    ExcludedSchool,
    /// Enrollment for the year ended before the run date.
    InactiveEnded,
    /// Enrollment for the year starts after the run date.
    InactiveNotStarted,
    /// Enrolled only in another school year (an open enrollment row of the previous syear).
    InactiveOtherYear,
    /// Two enrollments this year: the earlier at an excluded school (ended), the latest at a
    /// regular school: touched.
    TwoEnrollmentsLatestCounts,
    /// Two open enrollments this year: the earlier at a regular school, the latest at an
    /// excluded school: not touched.
    TwoEnrollmentsLatestExcluded,
    /// A second enrollment at an excluded school starting after the run date: the primary
    /// school is the regular one: touched.
    TwoEnrollmentsFutureIgnored,
    /// Two enrollments with the same start date: the lower id (a regular school) is primary, the
    /// higher (ZZZZ) is not: touched.
    EnrollmentTieLowestId,
    /// Local ids in the files that match no student.
    NotInSis,
    /// The student's only IEPLRE row has a blank time_non_disabled_peers: 863/878/879 untouched.
    Blank879Only,
    /// Two IEPLRE rows; the later initiation_date has a blank time_non_disabled_peers, so the
    /// earlier row supplies 863/878/879.
    Blank879Latest,
    /// Zero values ("0", "00", "0.0") in single-valued fields (matrix or LRE).
    ZeroValues,
    /// The winning ActiveIEPs row (latest iep_start_date) has a blank iep_end_date and
    /// esy_services, while an older row has both.
    BlankSingleValues,
    /// Accommodation rows (in the four accommodation files) whose end date is before the run
    /// date (the day before, for the designated students).
    ExpiredAccommodations,
    /// Accommodation rows whose end date is the run date itself: not expired.
    AccommodationEndsOnRunDate,
    /// Accommodation rows with a blank end date: never expired.
    BlankEndDates,
    /// The same row twice in a file (IEPClassroomAccommodations, IEPESEService,
    /// IEPTransportationFTE).
    DuplicateRows,
    /// Quoted values with commas inside.
    QuotedCommas,
    /// Quoted values with doubled quotes inside.
    EmbeddedQuotes,
    /// All the student's dates written YYYY-MM-DD.
    IsoDates,
    /// All the student's dates written zero-padded MM/DD/YYYY.
    PaddedDates,
    /// Rows in more than one of ActiveIEPs, ActiveEPs and ActiveSPs.
    MultiplePlans,
    /// Several rows in one file with different start/initiation/completion dates (ActiveIEPs,
    /// IEPLRE or MatrixOfServices).
    SeveralRowsPerStudent,
    /// The SIS already holds exactly the values the files give.
    ExistingValuesIdentical,
    /// The SIS holds other (stale) values in the single-valued fields.
    ExistingValuesStale,
    /// The SIS holds log entries identical to rows in the files (to be kept, same id).
    ExistingLogsIdentical,
    /// The SIS holds log entries for the school year that no file row gives (to be deleted).
    ExistingLogsStale,
    /// The SIS holds log entries of the previous school year (never changed).
    ExistingLogsOtherYear,
    /// Active students in no file at all, with log entries for the year (to be deleted).
    AbsentFromFiles,
    /// IEP students with no IEPLRE and/or MatrixOfServices row and stale values in the fields
    /// those files feed (to be kept).
    KeepsFieldsWithoutRows,
    /// Names or file text with non-ASCII characters.
    NonAsciiText,
    /// Names with an apostrophe (SQL quoting).
    QuoteInName,
    /// Files starting with a UTF-8 byte order mark.
    Bom,
    /// Files with CRLF line ends.
    Crlf,
    /// Files with every field quoted.
    QuoteAllFields,
}

impl EdgeCase {
    /// Every case, in declaration order (the order of [`crate::GenSummary::edge_cases`]).
    pub const ALL: [EdgeCase; 36] = [
        EdgeCase::LeadingZeroLocalId,
        EdgeCase::ExcludedSchool,
        EdgeCase::InactiveEnded,
        EdgeCase::InactiveNotStarted,
        EdgeCase::InactiveOtherYear,
        EdgeCase::TwoEnrollmentsLatestCounts,
        EdgeCase::TwoEnrollmentsLatestExcluded,
        EdgeCase::TwoEnrollmentsFutureIgnored,
        EdgeCase::EnrollmentTieLowestId,
        EdgeCase::NotInSis,
        EdgeCase::Blank879Only,
        EdgeCase::Blank879Latest,
        EdgeCase::ZeroValues,
        EdgeCase::BlankSingleValues,
        EdgeCase::ExpiredAccommodations,
        EdgeCase::AccommodationEndsOnRunDate,
        EdgeCase::BlankEndDates,
        EdgeCase::DuplicateRows,
        EdgeCase::QuotedCommas,
        EdgeCase::EmbeddedQuotes,
        EdgeCase::IsoDates,
        EdgeCase::PaddedDates,
        EdgeCase::MultiplePlans,
        EdgeCase::SeveralRowsPerStudent,
        EdgeCase::ExistingValuesIdentical,
        EdgeCase::ExistingValuesStale,
        EdgeCase::ExistingLogsIdentical,
        EdgeCase::ExistingLogsStale,
        EdgeCase::ExistingLogsOtherYear,
        EdgeCase::AbsentFromFiles,
        EdgeCase::KeepsFieldsWithoutRows,
        EdgeCase::NonAsciiText,
        EdgeCase::QuoteInName,
        EdgeCase::Bom,
        EdgeCase::Crlf,
        EdgeCase::QuoteAllFields,
    ];

    /// A short snake_case name, as the CLI and the fixtures README print it.
    pub fn name(self) -> &'static str {
        match self {
            EdgeCase::LeadingZeroLocalId => "leading_zero_local_id",
            EdgeCase::ExcludedSchool => "excluded_school",
            EdgeCase::InactiveEnded => "inactive_ended",
            EdgeCase::InactiveNotStarted => "inactive_not_started",
            EdgeCase::InactiveOtherYear => "inactive_other_year",
            EdgeCase::TwoEnrollmentsLatestCounts => "two_enrollments_latest_counts",
            EdgeCase::TwoEnrollmentsLatestExcluded => "two_enrollments_latest_excluded",
            EdgeCase::TwoEnrollmentsFutureIgnored => "two_enrollments_future_ignored",
            EdgeCase::EnrollmentTieLowestId => "enrollment_tie_lowest_id",
            EdgeCase::NotInSis => "not_in_sis",
            EdgeCase::Blank879Only => "blank_879_only",
            EdgeCase::Blank879Latest => "blank_879_latest",
            EdgeCase::ZeroValues => "zero_values",
            EdgeCase::BlankSingleValues => "blank_single_values",
            EdgeCase::ExpiredAccommodations => "expired_accommodations",
            EdgeCase::AccommodationEndsOnRunDate => "accommodation_ends_on_run_date",
            EdgeCase::BlankEndDates => "blank_end_dates",
            EdgeCase::DuplicateRows => "duplicate_rows",
            EdgeCase::QuotedCommas => "quoted_commas",
            EdgeCase::EmbeddedQuotes => "embedded_quotes",
            EdgeCase::IsoDates => "iso_dates",
            EdgeCase::PaddedDates => "padded_dates",
            EdgeCase::MultiplePlans => "multiple_plans",
            EdgeCase::SeveralRowsPerStudent => "several_rows_per_student",
            EdgeCase::ExistingValuesIdentical => "existing_values_identical",
            EdgeCase::ExistingValuesStale => "existing_values_stale",
            EdgeCase::ExistingLogsIdentical => "existing_logs_identical",
            EdgeCase::ExistingLogsStale => "existing_logs_stale",
            EdgeCase::ExistingLogsOtherYear => "existing_logs_other_year",
            EdgeCase::AbsentFromFiles => "absent_from_files",
            EdgeCase::KeepsFieldsWithoutRows => "keeps_fields_without_rows",
            EdgeCase::NonAsciiText => "non_ascii_text",
            EdgeCase::QuoteInName => "quote_in_name",
            EdgeCase::Bom => "bom",
            EdgeCase::Crlf => "crlf",
            EdgeCase::QuoteAllFields => "quote_all_fields",
        }
    }

    /// Whether the case is about whole files (listed in `files`) rather than students.
    pub fn is_file_case(self) -> bool {
        matches!(
            self,
            EdgeCase::Bom | EdgeCase::Crlf | EdgeCase::QuoteAllFields
        )
    }
}

/// Where one edge case occurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeCaseHits {
    pub case: EdgeCase,
    /// Local ids of the students (or, for [`EdgeCase::NotInSis`], the unmatched ids), in the
    /// order they were generated: the designated students first.
    pub local_ids: Vec<String>,
    /// File names, for the file cases.
    pub files: Vec<&'static str>,
}
