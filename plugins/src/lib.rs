//! The Ferry plugin SDK: what a job plugin is written against.
//!
//! A Ferry job is a Rust `cdylib` that implements [`Job`] and writes [`export!`] once:
//!
//! ```
//! use ferry_plugin::{Context, Description, Job, JobError, Outcome};
//!
//! #[derive(Default)]
//! struct Hello;
//!
//! impl Job for Hello {
//!     fn describe(&self) -> Description {
//!         Description::new("Says hello.")
//!     }
//!
//!     fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
//!         ctx.info(format!("hello from {}", ctx.job()));
//!         Ok(Outcome::succeeded("said hello"))
//!     }
//! }
//!
//! ferry_plugin::export!(Hello);
//! ```
//!
//! The crate is deliberately small and depends on `serde` and `serde_json` only.
//!
//! - [`abi`] is the C declaration Ferry's worker process loads; [`wire`] the JSON payloads that
//!   cross it. Both are the plugin protocol and change only with an ABI version bump.
//! - [`Job`], [`Context`], [`Outcome`], [`Problem`] and [`JobError`] are what plugin authors use.
//! - `ffi` (behind [`export!`]) is the only code with `unsafe`; plugin authors never write any.
//!
//! # Architecture Invariant
//! The SDK knows nothing about the scheduler: no store, no connections, no tokio. Everything a
//! plugin needs from the host goes through the host vtable as JSON ([`wire::HostCall`]).

pub mod abi;
mod context;
mod describe;
mod error;
#[doc(hidden)]
pub mod ffi;
mod job;
mod problem;
pub mod wire;

pub use context::Context;
pub use error::JobError;
pub use job::{Job, Outcome};
pub use problem::Problem;
pub use wire::{
    Description, Event, Level, OutcomeStatus, RemoteFileInfo, SettingKind, SettingSpec, Severity,
    TableAction,
};
