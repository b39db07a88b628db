//! The seed spec's code tables (Appendix D) as the emulator reads them, kept apart from the
//! job's own tables so the emulator is a second, independent reading of the spec.

/// D.1 English Language Proficiency Code.
pub const ENGLISH_PROFICIENCY: &[&str] = &["1", "2", "3", "4", "5", "6", "7"];

/// D.2 Discipline Incident Type (primary and secondary alike).
pub const INCIDENT_TYPE: &[&str] = &["HG", "SG", "OF", "DW", "AS", "AE", "DG", "AL", "SR"];

/// D.5 Primary Disability.
pub const PRIMARY_DISABILITY: &[&str] = &[
    "A", "CD", "DB", "EBD", "H", "LD", "OHI", "OI", "SDD", "SL", "TBI", "V", "N",
];

/// D.8 Discipline Removal Type.
pub const REMOVAL_TYPE: &[&str] = &["EX", "OS", "IS", "SP", "HO"];

/// D.9 Modified Term (`Y` is "not valid after 2006-07", checked separately).
pub const MODIFIED_TERM: &[&str] = &["N", "Y", "I", "M"];

/// The removal type whose removals may carry the expulsion-only fields.
pub const EXPULSION: &str = "EX";

/// Whether `value` is in `table` (exact, case-sensitive: the tables are upper case).
pub fn contains(table: &[&str], value: &str) -> bool {
    table.contains(&value)
}
