//! `ferry jobs [--json]`: each job, its schedule and zone, next fire and last status.

use super::context::Context;
use super::output::{self, JobRow};
use crate::error::Exit;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print JSON (see docs/cli-json.md).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let now = crate::clock::now();
    let mut rows = Vec::new();
    for job in ctx.config.jobs.values() {
        let last = ctx.store.last_finished(&job.name).await?;
        let running = ctx.store.running(&job.name).await?;
        rows.push(JobRow {
            name: job.name.clone(),
            plugin: job.plugin.clone(),
            enabled: job.enabled,
            schedule: job.schedule_text.clone(),
            timezone: job.timezone,
            next_fire: job
                .schedule
                .as_ref()
                .filter(|_| job.enabled)
                .and_then(|s| s.next_after(now, job.timezone)),
            last_status: last.map(|e| e.status.to_string()),
            running: running.map(|e| e.id),
        });
    }
    output::jobs(&rows, args.json);
    Ok(Exit::Ok)
}
