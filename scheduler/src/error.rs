//! The crate error type.
