//! A plugin that declares plugin ABI v0, so Ferry's tests can check the loader refuses it
//! (with a message naming both versions) before calling any of its functions.
//!
//! The declaration is hand-written instead of using `ferry_plugin::export!`, because the
//! macro always declares the current ABI. Its functions exist only to fill the struct: a loader
//! that calls them has already failed the test, and they say so.
#![allow(unsafe_code)]

use ferry_plugin::abi::{HostVTable, MAGIC, PluginDecl};
use std::ffi::{CString, c_char};

const MESSAGE: &str = r#"{"status":"failed","message":"the loader called an ABI v0 plugin"}"#;

extern "C" fn describe() -> *mut c_char {
    CString::new(r#"{"summary":"the loader called an ABI v0 plugin"}"#)
        .map_or(std::ptr::null_mut(), CString::into_raw)
}

extern "C" fn run(_host: *const HostVTable, _request: *const c_char) -> *mut c_char {
    CString::new(MESSAGE).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// # Safety
/// `s` must come from `describe` or `run` above and not have been freed.
unsafe extern "C" fn free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` above and is freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

static DECL: PluginDecl = PluginDecl {
    magic: MAGIC,
    abi_version: 0,
    name: c"ferry-test-old-abi".as_ptr(),
    version: c"0.0.0".as_ptr(),
    describe,
    run,
    free_string,
};

/// The entry symbol, declaring ABI v0.
#[unsafe(no_mangle)]
pub extern "C" fn ferry_plugin_v1() -> *const PluginDecl {
    &DECL
}
