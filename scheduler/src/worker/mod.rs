//! Worker processes: the runner side (spawn) and the child side.

pub mod protocol;
