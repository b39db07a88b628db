//! The `ferry` binary: parse arguments, hand them to [`ferry::cli::run`], exit with its code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    ferry::cli::run(ferry::cli::Cli::parse())
}
