//! The C ABI between Ferry's worker process and a plugin library.
//!
//! A plugin exports one symbol, [`ENTRY_SYMBOL`], an `extern "C" fn() -> *const PluginDecl`.
//! The host reads `magic` and `abi_version` first, before touching any other field, so a plugin
//! built against another ABI is refused with a message instead of undefined behaviour.
//! Everything else crosses as NUL-terminated UTF-8 JSON ([`crate::wire`]); memory is freed by
//! the side that allocated it.
//!
//! Plugin authors never use this module: they implement [`crate::Job`] and write
//! [`crate::export!`].

use std::ffi::{c_char, c_void};

/// ABI versions, as named constants so a bump is a deliberate, reviewable change.
pub mod version {
    /// The first ABI: JSON over `describe`/`run`, host vtable with `emit`, `call`, `cancelled`.
    ///
    /// Additive changes made within it, which old plugins simply never use: the `problem`
    /// event ([`crate::wire::Event::Problem`]). A host older than such a change records an
    /// event it cannot read as a warning log line quoting it, so nothing is lost.
    pub const V1_INITIAL: u32 = 1;
    /// The ABI this build of Ferry and of the SDK speaks.
    pub const CURRENT: u32 = V1_INITIAL;
}

/// The ABI this build speaks.
pub const CURRENT: u32 = version::CURRENT;

/// The symbol every plugin exports (NUL-terminated for `dlsym`).
pub const ENTRY_SYMBOL: &[u8] = b"ferry_plugin_v1\0";

/// Marks a Ferry plugin declaration; checked before the version.
pub const MAGIC: [u8; 8] = *b"FERRYPLG";

/// The type of the exported entry symbol.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDecl;

/// What a plugin declares about itself. `magic` and `abi_version` are fixed-width and come first
/// so every future ABI can read them.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDecl {
    pub magic: [u8; 8],
    pub abi_version: u32,
    /// The plugin's name (NUL-terminated UTF-8, static).
    pub name: *const c_char,
    /// The plugin's version (NUL-terminated UTF-8, static).
    pub version: *const c_char,
    /// Returns the [`crate::wire::Description`] as JSON; free with `free_string`.
    pub describe: unsafe extern "C" fn() -> *mut c_char,
    /// Runs the job: takes the host vtable and a [`crate::wire::RunRequest`] as JSON, returns a
    /// [`crate::wire::RunResult`] as JSON; free with `free_string`. Never unwinds.
    pub run: unsafe extern "C" fn(host: *const HostVTable, request: *const c_char) -> *mut c_char,
    /// Frees a string this plugin returned.
    pub free_string: unsafe extern "C" fn(*mut c_char),
}

// SAFETY: the declaration is an immutable static whose pointers refer to static data and
// functions; sharing it between threads is sound.
#[allow(unsafe_code)]
unsafe impl Sync for PluginDecl {}

/// The host services a plugin may use during `run`. Passed by the host, valid only for the
/// duration of that call.
#[repr(C)]
#[derive(Debug)]
pub struct HostVTable {
    pub abi_version: u32,
    /// Opaque host state, handed back to every function below.
    pub ctx: *mut c_void,
    /// Reports a [`crate::wire::Event`] (JSON). The host copies it before returning.
    pub emit: unsafe extern "C" fn(ctx: *mut c_void, event: *const c_char),
    /// Performs a [`crate::wire::HostCall`] (JSON) and returns a [`crate::wire::HostReply`]
    /// (JSON) that the plugin frees with `free_string` below.
    pub call: unsafe extern "C" fn(ctx: *mut c_void, request: *const c_char) -> *mut c_char,
    /// Frees a string the host returned.
    pub free_string: unsafe extern "C" fn(ctx: *mut c_void, s: *mut c_char),
    /// True once the host asked the run to stop (timeout, shutdown, cancel).
    pub cancelled: unsafe extern "C" fn(ctx: *mut c_void) -> bool,
}
