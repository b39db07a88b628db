//! Configuration: raw TOML to validated [`Config`].

mod model;

pub use model::*;
