//! `ferry logs RUN [-f]`: an execution's log, live while it runs.

use super::context::Context;
use super::output;
use crate::error::Exit;
use anyhow::Context as _;
use std::path::Path;
use std::time::Duration;

/// How often `-f` looks for new lines.
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The run (execution id).
    run: i64,
    /// Keep printing new lines until the run ends.
    #[arg(short, long)]
    follow: bool,
    /// Print JSON: an array of lines; with --follow, one JSON object per line as it arrives
    /// (see docs/cli-json.md).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let mut after = 0;
    loop {
        // Read the status before the lines, so the last lines of a run that ends in between
        // are still printed by the next pass.
        let execution = ctx
            .store
            .execution(args.run)
            .await?
            .with_context(|| format!("no run #{} in history", args.run))?;
        let lines = ctx.store.logs(args.run, Some(after), 10_000).await?;
        if let Some(last) = lines.last() {
            after = last.seq;
        }
        match (args.json, args.follow) {
            (false, _) => output::logs(&lines, ctx.tz()),
            (true, false) => output::logs_json(&lines, ctx.tz()),
            (true, true) => output::logs_json_lines(&lines, ctx.tz()),
        }
        if !args.follow || (execution.status.is_terminal() && lines.is_empty()) {
            break;
        }
        if lines.is_empty() {
            tokio::time::sleep(POLL).await;
        }
    }
    Ok(Exit::Ok)
}
