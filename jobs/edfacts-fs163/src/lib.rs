//! The EDFacts FS163 discipline file (GFSA reporting status, `plugin = "edfacts-fs163"`).
//!
//! Once a year the state reports, for every operational LEA or school that had students,
//! whether it submitted its Gun-Free Schools Act report. The file's layout is fixed by the FS163
//! file specification: [`model`] holds its vocabulary, [`file`](mod@file) renders the exact bytes and the
//! file name, and [`validate`](mod@validate) checks every rule before anything is delivered.
//! [`error`] is the crate's one error type.
//!
//! [`job`] is the plugin: it reads the source database ([`source`]), derives missing statuses
//! from firearm incidents when asked ([`derive`](mod@derive)), validates, renders and delivers the file
//! through a connection; [`settings`] are its checked settings.

pub mod derive;
pub mod error;
pub mod file;
pub mod job;
pub mod model;
pub mod settings;
pub mod source;
pub mod validate;

pub use error::Fs163Error;
pub use job::Fs163;

ferry_plugin::export!(Fs163, "edfacts-fs163");
