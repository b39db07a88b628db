//! The history store.

pub mod model;
