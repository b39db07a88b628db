//! The Florida PEER nightly import (`plugin = "florida-peer"`).
//!
//! FLDOE drops a district's PEER files in its `PEER/OUT` folder; this job loads each of the
//! fifteen files into its `fl_peer_*` background table in the district's SIS database and then
//! populates the students' PEER fields from them, all in one transaction. The files, their
//! columns and tables are fixed by FLDOE's layout ([`spec`]); reading one file strictly, with
//! errors that name file, line, column and value, is [`read`]'s job.

pub mod apply;
pub mod error;
pub mod fields;
mod job;
pub mod populate;
pub mod read;
pub mod settings;
pub mod spec;

pub use error::PeerError;

pub use job::FloridaPeer;

ferry_plugin::export!(FloridaPeer, "florida-peer");
