//! The Wisconsin ISES Discipline Collection upload (`plugin = "ises-upload"`).
//!
//! Once a year a district reports every suspension, expulsion and other removal of its students
//! to the state by uploading a Discipline Load File whose layout is fixed by DPI's CSV interface
//! specification. ISES fails the whole file on a single bad byte, so the pieces here are strict:
//! [`codes`] holds the spec's code tables (Appendix D), [`record`] the typed `01`–`05` records
//! and their order (Table B-2), and [`write`](mod@write) turns them into the exact Load File bytes, its file
//! name and its CST date-time group. [`validate`](mod@validate) checks every upload business
//! rule before anything leaves the district.
//!
//! [`job`] is the plugin: it reads the SIS ([`source`]), builds, validates and uploads the
//! file, keeping the sequence numbers ([`sequence`]) in the job's state, then waits for and
//! reads the state's answer ([`answer`], parsed by [`response`]).

pub mod answer;
pub mod codes;
pub mod error;
pub mod failure;
pub mod job;
pub mod record;
pub mod report;
pub mod response;
pub mod sequence;
pub mod settings;
pub mod source;
pub mod validate;
pub mod write;

#[cfg(test)]
mod test_records;

pub use error::IsesError;
pub use job::IsesUpload;

ferry_plugin::export!(IsesUpload, "ises-upload");
