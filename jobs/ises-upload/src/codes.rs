//! The code tables of the ISES Discipline specification, Appendix D (D.1–D.9), exactly as the
//! spec lists them, so validation checks a code against the same list the state does.
//!
//! Codes are compared exactly (case-sensitive, no trimming): ISES does the same, and a SIS that
//! sends `os` for `OS` must hear about it before the upload rather than after.

/// One code table of Appendix D: its section, its title and its (code, description) rows in
/// the spec's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeTable {
    /// The spec's section number, e.g. `"D.8"`.
    pub section: &'static str,
    /// The spec's title for the table.
    pub title: &'static str,
    /// `(code, description)` in the spec's order.
    pub entries: &'static [(&'static str, &'static str)],
}

impl CodeTable {
    /// Whether `code` is one of the table's codes.
    pub fn is_valid(&self, code: &str) -> bool {
        self.description(code).is_some()
    }

    /// The spec's description of `code`, if it is in the table.
    pub fn description(&self, code: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, description)| *description)
    }

    /// The table's codes in the spec's order.
    pub fn codes(&self) -> impl Iterator<Item = &'static str> {
        self.entries.iter().map(|(code, _)| *code)
    }
}

/// Whether `code` is one of `table`'s codes.
pub fn is_valid(table: &CodeTable, code: &str) -> bool {
    table.is_valid(code)
}

/// D.1 English Language Proficiency Code (`ENG_PROF_CODE`).
pub const ENGLISH_PROFICIENCY: CodeTable = CodeTable {
    section: "D.1",
    title: "English Language Proficiency Code",
    entries: &[
        (
            "1",
            "ELL/LEP Beginning Preproduction. (WIDA label: Entering)",
        ),
        ("2", "ELL/LEP Beginning Production. (WIDA label: Beginning)"),
        ("3", "ELL/LEP Intermediate. (WIDA label: Developing)"),
        (
            "4",
            "ELL/LEP Advanced Intermediate. (WIDA label: Expanding)",
        ),
        ("5", "ELL/LEP Advanced. (WIDA label: Bridging)"),
        ("6", "Formerly ELL/LEP, now fully English proficient"),
        ("7", "Fully English proficient, never ELL/LEP"),
    ],
};

/// D.2 Discipline Incident Type (`INCIDENT_TYPE_PRIMARY`, `INCIDENT_TYPE_SECONDARY`).
pub const INCIDENT_TYPE: CodeTable = CodeTable {
    section: "D.2",
    title: "Discipline Incident Type",
    entries: &[
        ("HG", "Handgun"),
        ("SG", "Shotgun or Rifle"),
        ("OF", "Other Firearm"),
        ("DW", "Dangerous Weapon - Not Firearm"),
        ("AS", "Assault"),
        (
            "AE",
            "Endangering Behavior (definition modified for 2007-08)",
        ),
        ("DG", "Drug-Related"),
        ("AL", "Alcohol-Related"),
        ("SR", "Other Violation of School Rules"),
    ],
};

/// D.3 Gender Code (Status File only; not part of the Load File).
pub const GENDER: CodeTable = CodeTable {
    section: "D.3",
    title: "Gender Code",
    entries: &[("F", "Female"), ("M", "Male")],
};

/// D.4 Grade Level Placement (Status File only; not part of the Load File).
pub const GRADE_LEVEL: CodeTable = CodeTable {
    section: "D.4",
    title: "Grade Level Placement",
    entries: &[
        ("K3", "3 Year Old Kindergarten"),
        ("K4", "4 Year Old Kindergarten"),
        ("PK", "Pre-Kindergarten"),
        ("KG", "Kindergarten"),
        ("01", "First Grade"),
        ("02", "Second Grade"),
        ("03", "Third Grade"),
        ("04", "Fourth Grade"),
        ("05", "Fifth Grade"),
        ("06", "Sixth Grade"),
        ("07", "Seventh Grade"),
        ("08", "Eighth Grade"),
        ("09", "Ninth Grade"),
        ("10", "Tenth Grade"),
        ("11", "Eleventh Grade"),
        ("12", "Twelfth Grade"),
    ],
};

/// D.5 Primary Disability (`PRIM_DISAB`).
pub const PRIMARY_DISABILITY: CodeTable = CodeTable {
    section: "D.5",
    title: "Primary Disability",
    entries: &[
        ("A", "Autism"),
        ("CD", "Cognitive Disability"),
        ("DB", "Deaf-Blind"),
        ("EBD", "Emotional Behavioral Disability"),
        ("H", "Hearing Impairment"),
        ("LD", "Specific Learning Disability"),
        ("OHI", "Other Health Impairment"),
        ("OI", "Orthopedic Impairment"),
        ("SDD", "Significant Developmental Delay"),
        ("SL", "Speech or Language Impairment"),
        ("TBI", "Traumatic Brain Injury"),
        ("V", "Visual Impairment"),
        ("N", "Not IDEA Eligible or No Disability"),
    ],
};

/// D.6 Race Code, the WSLS race/ethnicity codes (replaced by the Race Key for fall 2010;
/// Status File only).
pub const RACE_CODE: CodeTable = CodeTable {
    section: "D.6",
    title: "Race Code",
    entries: &[
        ("A", "Asian or Pacific Islander"),
        ("B", "Black, Non-Hispanic"),
        ("I", "American Indian or Alaskan Native"),
        ("H", "Hispanic"),
        ("W", "White, Non-Hispanic"),
    ],
};

/// D.7 Race Key. The spec lists no codes here: it refers to DPI's Race/Ethnicity Crosswalk
/// document instead, so the table is empty and no key is valid against it. It appears only in
/// the Status File, never in the Load File.
pub const RACE_KEY: CodeTable = CodeTable {
    section: "D.7",
    title: "Race Key",
    entries: &[],
};

/// D.8 Discipline Removal Type (`REMOVAL_TYPE`).
pub const REMOVAL_TYPE: CodeTable = CodeTable {
    section: "D.8",
    title: "Discipline Removal Type",
    entries: &[
        ("EX", "Expulsion"),
        ("OS", "Out-of-School Suspension"),
        ("IS", "In-School Suspension"),
        ("SP", "Placement in IAES - School Personnel"),
        ("HO", "Placement in IAES - Hearing Officer"),
    ],
};

/// D.9 Modified Term (`MODIFIED_TERM`).
pub const MODIFIED_TERM: CodeTable = CodeTable {
    section: "D.9",
    title: "Modified Term",
    entries: &[
        ("N", "Not Modified"),
        ("Y", "Modified (not valid after 2006-07)"),
        ("I", "Modified because of IDEA"),
        ("M", "Modified for reasons other than IDEA"),
    ],
};

/// Every table of Appendix D, in section order.
pub const ALL: [&CodeTable; 9] = [
    &ENGLISH_PROFICIENCY,
    &INCIDENT_TYPE,
    &GENDER,
    &GRADE_LEVEL,
    &PRIMARY_DISABILITY,
    &RACE_CODE,
    &RACE_KEY,
    &REMOVAL_TYPE,
    &MODIFIED_TERM,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_section_order_with_the_specs_sizes() {
        let sections: Vec<_> = ALL.iter().map(|t| t.section).collect();
        assert_eq!(
            sections,
            [
                "D.1", "D.2", "D.3", "D.4", "D.5", "D.6", "D.7", "D.8", "D.9"
            ]
        );
        let sizes: Vec<_> = ALL.iter().map(|t| t.entries.len()).collect();
        assert_eq!(sizes, [7, 9, 2, 16, 13, 5, 0, 5, 4]);
    }

    #[test]
    fn no_table_repeats_a_code() {
        for table in ALL {
            let mut codes: Vec<_> = table.codes().collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), table.entries.len(), "{}", table.section);
        }
    }

    #[test]
    fn codes_are_checked_exactly() {
        assert!(is_valid(&REMOVAL_TYPE, "EX"));
        assert!(!is_valid(&REMOVAL_TYPE, "ex"));
        assert!(!is_valid(&REMOVAL_TYPE, " EX"));
        assert!(!is_valid(&REMOVAL_TYPE, ""));
        assert!(is_valid(&PRIMARY_DISABILITY, "EBD"));
        assert!(!is_valid(&PRIMARY_DISABILITY, "E"));
        assert!(is_valid(&INCIDENT_TYPE, "SR"));
        assert!(is_valid(&ENGLISH_PROFICIENCY, "7"));
        assert!(!is_valid(&ENGLISH_PROFICIENCY, "8"));
        assert!(!is_valid(&RACE_KEY, "W"));
        assert_eq!(
            MODIFIED_TERM.description("Y"),
            Some("Modified (not valid after 2006-07)")
        );
        assert_eq!(
            GRADE_LEVEL.description("K4"),
            Some("4 Year Old Kindergarten")
        );
        assert_eq!(GENDER.description("X"), None);
    }
}
