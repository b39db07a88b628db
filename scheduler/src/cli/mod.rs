//! The command-line interface: argument types and dispatch only.
//!
//! Each command lives in its own module with an `Args` struct and an `exec` function that loads
//! the configuration, opens the store, calls the operation and hands the result to [`output`].
//! Only [`output`] prints results (and `progress`, the live view of `ferry run`); only
//! `main.rs` turns an [`Exit`] into the process status.

mod check;
mod connections;
mod context;
mod history;
mod jobs;
mod logs;
mod notices;
mod output;
mod plugins;
mod progress;
mod run;
mod serve;
mod show;

use crate::error::Exit;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Ferry runs school-district data integration jobs on schedules and on demand, and keeps
/// their history.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, propagate_version = true)]
pub struct Cli {
    /// The configuration file [default: $FERRY_CONFIG, else config/ferry.toml].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format for the service's own logs.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How `tracing` output is written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Lines for people.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the scheduler service: fires, retries, retention.
    Serve(serve::Args),
    /// Run a job now, through the same claim and worker path as the schedule.
    Run(run::Args),
    /// List jobs with their schedules, next fire and last status.
    Jobs(jobs::Args),
    /// List executions, newest first.
    History(history::Args),
    /// Show one execution: header, tables (rows and seconds), files, errors.
    Show(show::Args),
    /// Print an execution's log, optionally following it live.
    Logs(logs::Args),
    /// Validate the configuration and plugins; list each job's next fires.
    Check(check::Args),
    /// List plugin libraries with their versions and settings.
    Plugins(plugins::Args),
    /// File-server connections: list, test, trust a host key.
    Connections(connections::Args),
    /// Result notices: list, show the message as sent, resend.
    Notices(notices::Args),
    /// Internal: run one job in a worker process (started by Ferry itself).
    #[command(hide = true)]
    Worker,
}

/// Runs the parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    if let Command::Worker = cli.command {
        return crate::worker::child::main();
    }
    // The service logs what it does; other commands speak through their output and keep
    // tracing to warnings unless RUST_LOG asks for more.
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    init_tracing(cli.log_format, default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&anyhow::Error::from(error)),
    };
    let config_path = crate::config::config_path(cli.config, env_config());
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::exec(args, &config_path).await,
            Command::Run(args) => run::exec(args, &config_path).await,
            Command::Jobs(args) => jobs::exec(args, &config_path).await,
            Command::History(args) => history::exec(args, &config_path).await,
            Command::Show(args) => show::exec(args, &config_path).await,
            Command::Logs(args) => logs::exec(args, &config_path).await,
            Command::Check(args) => check::exec(args, &config_path).await,
            Command::Plugins(args) => plugins::exec(args, &config_path).await,
            Command::Connections(args) => connections::exec(args, &config_path).await,
            Command::Notices(args) => notices::exec(args, &config_path).await,
            Command::Worker => Ok(Exit::Usage),
        }
    });
    // Worker processes and store connections are done; don't wait on idle blocking threads.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(exit) => exit.into(),
        Err(error) => report(&error),
    }
}

/// `FERRY_CONFIG`, the one environment variable the CLI reads.
fn env_config() -> Option<String> {
    std::env::var("FERRY_CONFIG").ok().filter(|v| !v.is_empty())
}

fn report(error: &anyhow::Error) -> ExitCode {
    output::error(error);
    Exit::Usage.into()
}

fn init_tracing(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colours only for a person at a terminal, never in files or journald.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
