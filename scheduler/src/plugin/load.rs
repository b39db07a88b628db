//! `dlopen`, the ABI check, and the calls across the C ABI: the only `unsafe` in the `ferry` crate.
//!
//! Order matters: after `dlopen` and `dlsym`, the entry function is called and only the
//! declaration's `magic` and `abi_version` are read (every ABI keeps them first, fixed-width).
//! Only a declaration that passes both checks is treated as a [`PluginDecl`] of this ABI.
//! The library is leaked on purpose: it is never closed, so every pointer the plugin hands out
//! (its static declaration, its functions) stays valid for the rest of the process.
#![allow(unsafe_code)]

use super::PluginError;
use super::host::Host;
use ferry_plugin::abi::{self, EntryFn, HostVTable, PluginDecl};
use ferry_plugin::wire::{Description, RunRequest, RunResult};
use libloading::Library;
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// A plugin library that is open, speaks this ABI, and stays loaded for the process's life.
#[derive(Debug)]
pub struct LoadedPlugin {
    path: PathBuf,
    name: String,
    version: String,
    decl: &'static PluginDecl,
}

/// Opens the plugin at `path` and checks that it is a Ferry plugin of this ABI.
///
/// Loading runs the library's initialisers, so this belongs in a worker process only.
///
/// # Errors
/// [`PluginError::Open`] if the library cannot be opened, [`PluginError::NoEntry`] if it does
/// not export the entry symbol, [`PluginError::NotAPlugin`] for a null declaration or wrong
/// magic, [`PluginError::AbiMismatch`] naming both versions, [`PluginError::BadDeclaration`] for
/// an unreadable name or version.
pub fn load(path: &Path) -> Result<LoadedPlugin, PluginError> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    // SAFETY: opening a library runs its initialisers. Ferry only does this inside the worker
    // child process, whose whole purpose is to run this plugin and whose crash cannot harm the
    // scheduler.
    let library = unsafe { Library::new(path) }.map_err(|source| PluginError::Open {
        path: path.to_owned(),
        source,
    })?;
    // Never unloaded: see the module documentation.
    let library: &'static Library = Box::leak(Box::new(library));
    // SAFETY: ENTRY_SYMBOL is NUL-terminated; EntryFn is the type every Ferry ABI gives the
    // symbol (`extern "C" fn() -> *const PluginDecl`); a library exporting that name with another
    // type is not a Ferry plugin and is outside what the check below can catch.
    let entry: EntryFn = *unsafe { library.get::<EntryFn>(abi::ENTRY_SYMBOL) }
        .map_err(|_| PluginError::NoEntry { file: file.clone() })?;
    // SAFETY: the entry function takes no arguments and returns a pointer to static data.
    let decl_ptr = unsafe { entry() };
    if decl_ptr.is_null() {
        return Err(PluginError::NotAPlugin { file });
    }
    // SAFETY: the pointer is non-null and points into the (never unloaded) library's static
    // data; `magic` is the first field of every ABI's declaration. Nothing else is read yet.
    let magic = unsafe { std::ptr::addr_of!((*decl_ptr).magic).read_unaligned() };
    if magic != abi::MAGIC {
        return Err(PluginError::NotAPlugin { file });
    }
    // SAFETY: as above; `abi_version` directly follows `magic` in every ABI.
    let found = unsafe { std::ptr::addr_of!((*decl_ptr).abi_version).read_unaligned() };
    if found != abi::CURRENT {
        return Err(PluginError::AbiMismatch {
            file,
            found,
            expected: abi::CURRENT,
        });
    }
    // SAFETY: magic and version match, so this is a `PluginDecl` of this ABI, a static of the
    // leaked library: valid, aligned and immutable for 'static.
    let decl: &'static PluginDecl = unsafe { &*decl_ptr };
    let name = static_str(decl.name).ok_or_else(|| PluginError::BadDeclaration {
        file: file.clone(),
        what: "name",
    })?;
    let version = static_str(decl.version).ok_or_else(|| PluginError::BadDeclaration {
        file: file.clone(),
        what: "version",
    })?;
    Ok(LoadedPlugin {
        path: path.to_owned(),
        name,
        version,
        decl,
    })
}

/// Reads a NUL-terminated UTF-8 string from the plugin's static data.
fn static_str(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null; the ABI says name and version point to static NUL-terminated strings
    // in the never-unloaded library.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().ok().map(str::to_owned)
}

impl LoadedPlugin {
    /// The plugin's name (its crate name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version (its crate version).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The ABI version the plugin speaks (always [`abi::CURRENT`] once loaded).
    pub fn abi(&self) -> u32 {
        self.decl.abi_version
    }

    /// The library's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Asks the plugin what it does and which settings it takes.
    ///
    /// # Errors
    /// [`PluginError::NoAnswer`] or [`PluginError::BadAnswer`].
    pub fn describe(&self) -> Result<Description, PluginError> {
        // SAFETY: `describe` takes no arguments; a plugin of this ABI never unwinds out of it.
        let answer = unsafe { (self.decl.describe)() };
        let json = self.take_string(answer, "describe")?;
        serde_json::from_str(&json).map_err(|e| self.bad_answer("describe", &e))
    }

    /// Runs the plugin's job with `request`, serving its host calls from `host`. Blocks until
    /// the plugin returns; the plugin reaches `host` only during this call.
    ///
    /// # Errors
    /// [`PluginError::Encode`], [`PluginError::NoAnswer`] or [`PluginError::BadAnswer`].
    pub fn run(&self, request: &RunRequest, host: &Host<'_>) -> Result<RunResult, PluginError> {
        // serde_json escapes NUL, so the JSON text has no interior NUL byte.
        let request =
            CString::new(serde_json::to_string(request)?).map_err(|_| PluginError::BadAnswer {
                plugin: self.name.clone(),
                call: "run",
                reason: "the request contains a NUL byte".to_owned(),
            })?;
        let vtable = HostVTable {
            abi_version: abi::CURRENT,
            ctx: std::ptr::from_ref(host).cast_mut().cast::<c_void>(),
            emit: host_emit,
            call: host_call,
            free_string: host_free_string,
            cancelled: host_cancelled,
        };
        // SAFETY: `vtable` and `request` outlive the call; `vtable.ctx` points at `host`, which
        // outlives the call and is only read through the trampolines below (Host is Sync). A
        // plugin of this ABI never unwinds out of `run`.
        let answer = unsafe { (self.decl.run)(&vtable, request.as_ptr()) };
        let json = self.take_string(answer, "run")?;
        serde_json::from_str(&json).map_err(|e| self.bad_answer("run", &e))
    }

    /// Copies a string the plugin returned and hands it back to the plugin to free.
    fn take_string(&self, ptr: *mut c_char, call: &'static str) -> Result<String, PluginError> {
        if ptr.is_null() {
            return Err(PluginError::NoAnswer {
                plugin: self.name.clone(),
                call,
            });
        }
        // SAFETY: non-null, NUL-terminated, owned by the plugin until `free_string` below.
        let text = unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `ptr` came from this plugin's `describe`/`run` and is freed exactly once.
        unsafe { (self.decl.free_string)(ptr) };
        Ok(text)
    }

    fn bad_answer(&self, call: &'static str, error: &serde_json::Error) -> PluginError {
        PluginError::BadAnswer {
            plugin: self.name.clone(),
            call,
            reason: error.to_string(),
        }
    }
}

/// Reads a plugin's C string argument.
///
/// # Safety
/// `ptr` must be null or NUL-terminated and valid for the duration of the enclosing call.
unsafe fn arg_str(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: forwarded from this function's contract.
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Recovers the [`Host`] behind the vtable's `ctx`.
///
/// # Safety
/// `ctx` must be the `ctx` of a vtable built by [`LoadedPlugin::run`] whose call has not returned.
unsafe fn host_of<'a>(ctx: *mut c_void) -> Option<&'a Host<'a>> {
    // SAFETY: forwarded from this function's contract: `ctx` is null or a live `&Host`.
    unsafe { ctx.cast::<Host<'a>>().as_ref() }
}

/// `HostVTable::emit`. Never unwinds into the plugin.
///
/// # Safety
/// Called by the plugin during `run` with the vtable's `ctx` and a NUL-terminated string.
unsafe extern "C" fn host_emit(ctx: *mut c_void, event: *const c_char) {
    // SAFETY: the plugin passes back our `ctx` during `run`, and a valid C string (ABI contract).
    let (Some(host), Some(json)) = (unsafe { host_of(ctx) }, unsafe { arg_str(event) }) else {
        return;
    };
    // A panic in Ferry's own handler must not unwind through the plugin's frames.
    let _ = catch_unwind(AssertUnwindSafe(|| host.emit_json(&json)));
}

/// `HostVTable::call`. Never unwinds; never returns null.
///
/// # Safety
/// As [`host_emit`].
unsafe extern "C" fn host_call(ctx: *mut c_void, request: *const c_char) -> *mut c_char {
    // SAFETY: as in `host_emit`.
    let (host, request) = (unsafe { host_of(ctx) }, unsafe { arg_str(request) });
    let reply = match (host, request) {
        (Some(host), Some(request)) => catch_unwind(AssertUnwindSafe(|| host.call_json(&request)))
            .unwrap_or_else(|_| {
                r#"{"result":"error","message":"the host failed while serving this call"}"#
                    .to_owned()
            }),
        _ => r#"{"result":"error","message":"null host call"}"#.to_owned(),
    };
    CString::new(reply).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// `HostVTable::free_string`: frees a reply returned by [`host_call`].
///
/// # Safety
/// `s` must be null or a pointer returned by [`host_call`], freed once.
unsafe extern "C" fn host_free_string(_ctx: *mut c_void, s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` in `host_call` and is freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// `HostVTable::cancelled`.
///
/// # Safety
/// As [`host_emit`].
unsafe extern "C" fn host_cancelled(ctx: *mut c_void) -> bool {
    // SAFETY: as in `host_emit`.
    match unsafe { host_of(ctx) } {
        Some(host) => host.is_cancelled(),
        // Without a host there is nothing to run for.
        None => true,
    }
}
