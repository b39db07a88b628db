//! `ferry connections list | test NAME | trust NAME [--yes]`: the file servers jobs use.

use super::context::load_config;
use super::output;
use crate::config::{Config, ConnectionKind};
use crate::error::Exit;
use crate::transfer::{Endpoint, Timeouts, hostkey};
use anyhow::Context as _;
use std::io::BufRead as _;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List connections: kind, target, the jobs that use them.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connect, authenticate and list each directory jobs use on the connection, with timings.
    Test {
        /// The connection (a `[connections.NAME]` of the configuration).
        name: String,
    },
    /// Show an SFTP server's host key fingerprint and add it to the connection's known_hosts.
    Trust {
        /// The connection.
        name: String,
        /// Add the key without asking.
        #[arg(long)]
        yes: bool,
    },
}

pub(crate) async fn exec(args: Args, config_path: &Path) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    match args.command {
        Command::List { json } => {
            list(&config, json);
            Ok(Exit::Ok)
        }
        Command::Test { name } => test(&config, &name).await,
        Command::Trust { name, yes } => trust(&config, &name, yes).await,
    }
}

/// The directories jobs use on a connection (fetch, upload, arrival), or its root.
fn directories(config: &Config, name: &str) -> Vec<String> {
    let mut dirs: Vec<String> = config
        .jobs
        .values()
        .flat_map(|job| {
            let fetch = job
                .fetch
                .iter()
                .filter(|f| f.connection == name)
                .map(|f| f.remote_dir.clone());
            let upload = job
                .upload
                .iter()
                .filter(|u| u.connection == name)
                .map(|u| u.remote_dir.clone());
            let arrival = job
                .arrival
                .iter()
                .filter(|a| a.connection == name)
                .map(|a| a.remote_dir.clone());
            fetch.chain(upload).chain(arrival).collect::<Vec<_>>()
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    if dirs.is_empty() {
        dirs.push(".".to_owned());
    }
    dirs
}

fn users(config: &Config, name: &str) -> Vec<String> {
    config
        .jobs
        .values()
        .filter(|job| {
            job.fetch.iter().any(|f| f.connection == name)
                || job.upload.iter().any(|u| u.connection == name)
                || job.arrival.iter().any(|a| a.connection == name)
        })
        .map(|job| job.name.clone())
        .collect()
}

fn list(config: &Config, json: bool) {
    let rows: Vec<output::ConnectionRow> = config
        .connections
        .values()
        .map(|c| output::ConnectionRow {
            name: c.name.clone(),
            kind: c.kind.as_str().to_owned(),
            target: c.kind.target(),
            jobs: users(config, &c.name),
        })
        .collect();
    output::connections(&rows, json);
}

async fn test(config: &Config, name: &str) -> anyhow::Result<Exit> {
    let spec = config
        .connections
        .get(name)
        .with_context(|| format!("no connection named {name:?} in {}", config.path.display()))?;
    let (order, _secrets) =
        crate::run::connection_order(spec).map_err(|message| anyhow::anyhow!(message))?;
    let endpoint = Endpoint::from(&order.endpoint);
    let timeouts = Timeouts {
        connect: spec.connect_timeout,
        io: spec.io_timeout,
    };
    let dirs = directories(config, name);
    let label = endpoint.label();
    let outcome = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut session = crate::transfer::connect(&endpoint, timeouts)?;
        let connected = started.elapsed();
        let mut listed = Vec::new();
        for dir in dirs {
            let t = Instant::now();
            let files = session.list(&dir)?;
            listed.push((dir, files.len(), t.elapsed()));
        }
        Ok::<_, crate::transfer::TransferError>((connected, listed))
    })
    .await?;
    match outcome {
        Ok((connected, listed)) => {
            output::line(&format!(
                "{name} ({label}): connected and authenticated in {}",
                ms(connected)
            ));
            for (dir, count, took) in listed {
                output::line(&format!("  {dir}: {count} file(s), listed in {}", ms(took)));
            }
            Ok(Exit::Ok)
        }
        Err(error) => {
            output::note(&format!("{name} ({label}): {error}"));
            Ok(Exit::RunFailed)
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

async fn trust(config: &Config, name: &str, yes: bool) -> anyhow::Result<Exit> {
    let spec = config
        .connections
        .get(name)
        .with_context(|| format!("no connection named {name:?} in {}", config.path.display()))?;
    let ConnectionKind::Sftp {
        host,
        port,
        known_hosts,
        ..
    } = &spec.kind
    else {
        anyhow::bail!(
            "connection {name} is {}, not sftp: it has no host key",
            spec.kind.as_str()
        );
    };
    let (host, port) = (host.clone(), *port);
    let timeouts = Timeouts {
        connect: spec.connect_timeout,
        io: spec.io_timeout,
    };
    let key = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || hostkey::fetch_host_key(&host, port, timeouts))
            .await??
    };
    output::line(&format!(
        "{host}:{port} offers {} key {}",
        key.key_type, key.fingerprint
    ));
    let present = std::fs::read_to_string(known_hosts)
        .unwrap_or_default()
        .contains(&key.key_base64);
    if present {
        output::line(&format!("Already trusted in {}.", known_hosts.display()));
        return Ok(Exit::Ok);
    }
    if !yes {
        output::note(&format!(
            "Add this key to {}? Check the fingerprint with the server's administrator first. [y/N] ",
            known_hosts.display()
        ));
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            output::line("Not added.");
            return Ok(Exit::Refused);
        }
    }
    hostkey::append_known_host(known_hosts, &host, port, &key.key_type, &key.key_base64)?;
    output::line(&format!("Added to {}.", known_hosts.display()));
    Ok(Exit::Ok)
}
