//! Loading plugin libraries and calling them: only ever inside a `ferry worker` process.
//!
//! [`load()`] opens a plugin with libloading, finds [`ENTRY_SYMBOL`](ferry_plugin::abi::ENTRY_SYMBOL),
//! and checks the declaration's magic and ABI version before reading anything else, so a plugin
//! built against another ABI is refused with a message naming both versions instead of being
//! called. [`LoadedPlugin::describe`] and [`LoadedPlugin::run`] are safe wrappers over the C
//! functions; [`Host`] is what the plugin reaches through the host vtable during `run`.
//!
//! # Architecture Invariant
//! This module is the only place in Ferry that calls libloading, and `load.rs` the only file in
//! the `ferry` crate with `unsafe`. Nothing in the scheduler process calls [`load()`]: a plugin can
//! panic, abort or segfault, so it is only ever loaded by the worker child process.
//! Libraries are never unloaded (no `dlclose`): the worker exits after one job anyway, and
//! unloading Rust code with thread-locals or live threads is a known source of crashes.

mod host;
mod load;

pub use host::{FileService, Host, HostFailure, NoFiles, StateService};
pub use load::{LoadedPlugin, load};

use std::path::PathBuf;

/// Why a plugin could not be loaded or called.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The library could not be opened (missing file, not a shared object, missing dependency).
    #[error("cannot load plugin {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    /// The library does not export the entry symbol: it is not a Ferry plugin.
    #[error("{file} is not a Ferry plugin: it does not export ferry_plugin_v1")]
    NoEntry { file: String },
    /// The entry symbol returned a null declaration, or one without the Ferry magic bytes.
    #[error(
        "{file} is not a Ferry plugin: its ferry_plugin_v1 does not return a Ferry declaration"
    )]
    NotAPlugin { file: String },
    /// The plugin was built against another plugin ABI.
    #[error(
        "plugin {file} speaks plugin ABI v{found}; this Ferry speaks v{expected}: rebuild it against ferry-plugin"
    )]
    AbiMismatch {
        file: String,
        found: u32,
        expected: u32,
    },
    /// The plugin's name or version is missing or not UTF-8.
    #[error("plugin {file} declares an unreadable {what}")]
    BadDeclaration { file: String, what: &'static str },
    /// `describe` or `run` returned nothing (for example, `describe` panicked).
    #[error("plugin {plugin} returned nothing from {call}")]
    NoAnswer { plugin: String, call: &'static str },
    /// `describe` or `run` returned JSON that does not match the wire types.
    #[error("plugin {plugin} returned an unreadable answer from {call}: {reason}")]
    BadAnswer {
        plugin: String,
        call: &'static str,
        reason: String,
    },
    /// The run request could not be encoded.
    #[error("cannot encode the run request: {0}")]
    Encode(#[from] serde_json::Error),
}
