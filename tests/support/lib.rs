//! Test support: real peers as RAII helpers.
