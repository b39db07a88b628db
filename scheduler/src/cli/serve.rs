//! `ferry serve`: validate, then run the scheduler service until SIGTERM/SIGINT.

use super::context::Context;
use super::output;
use crate::error::Exit;
use crate::notice::outbox::Outbox;
use crate::service::{ServeOptions, Service, shutdown_signal};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// After a shutdown signal, how long running jobs may take to finish before their workers
    /// are stopped (a second signal stops them at once).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    shutdown_grace: Duration,
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let exe = std::env::current_exe()?;
    let problems = crate::check::check_all(&ctx.config, &exe).await.diagnostics;
    if !problems.is_empty() {
        for problem in &problems {
            output::note(&problem.to_string());
        }
        return Ok(Exit::Usage);
    }
    let stop = CancellationToken::new();
    let force = CancellationToken::new();
    shutdown_signal(stop.clone(), force.clone())?;
    let outbox = Outbox::from_config(&ctx.config, ctx.store.clone())?;
    let service = Service::new(
        ctx.runner()?,
        ServeOptions {
            shutdown_grace: args.shutdown_grace,
            outbox,
        },
    );
    service.run(stop, force).await?;
    Ok(Exit::Ok)
}
