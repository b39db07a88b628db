//! Resync, not re-send: what the host holds is remembered per record ([`state`]), what to send
//! is the difference ([`plan`]), sent parents first with bounded parallelism ([`execute`]).

pub mod execute;
pub mod plan;
pub mod state;
