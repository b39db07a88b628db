//! The Wisconsin ISES Discipline Collection upload (`plugin = "ises-upload"`).
//!
//! Once a year a district reports every suspension, expulsion and other removal of its students
//! to the state by uploading a Discipline Load File whose layout is fixed by DPI's CSV interface
//! specification. ISES fails the whole file on a single bad byte, so the pieces here are strict:
//! [`codes`] holds the spec's code tables (Appendix D), [`record`] the typed `01`–`05` records
//! and their order (Table B-2), and [`write`](mod@write) turns them into the exact Load File bytes, its file
//! name and its CST date-time group. [`validate`](mod@validate) checks every upload business
//! rule before anything leaves the district.

// The `Job` implementation (reading the SIS, validation, upload, reading the state's answer)
// and the plugin's `export!` come later; this crate holds only its pure building blocks so far.

pub mod codes;
pub mod error;
pub mod failure;
pub mod record;
pub mod report;
pub mod sequence;
pub mod source;
pub mod validate;
pub mod write;

pub use error::IsesError;
