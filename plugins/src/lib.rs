//! The Ferry plugin SDK.

pub mod abi;
pub mod wire;
