//! Ferry: a job scheduler for school-district data integrations.
//!
//! See `ARCHITECTURE.md` at the repository root for the map. In short: `config` turns the TOML
//! file into validated [`config::Config`]; `schedule` computes fires; `run` claims an execution
//! in the `store`, starts a `worker` process that loads the plugin (`plugin`), records what it
//! reports and decides the end; `service` drives fires, retries and retention for `ferry serve`;
//! `cli` holds one thin module per command.

pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod display;
pub mod error;
pub mod notice;
pub mod plugin;
pub mod run;
pub mod schedule;
pub mod service;
pub mod store;
pub mod transfer;
pub mod worker;
