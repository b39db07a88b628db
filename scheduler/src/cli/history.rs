//! `ferry history [JOB] [--limit N] [--status S] [--json]`.

use super::context::Context;
use super::output;
use crate::error::Exit;
use crate::store::model::{HistoryFilter, Status};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only this job's executions.
    job: Option<String>,
    /// How many executions, newest first.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Only executions with this status (queued, running, succeeded, warning, failed,
    /// timed_out, cancelled, abandoned, missed).
    #[arg(long, value_parser = clap::builder::ValueParser::new(str::parse::<Status>))]
    status: Option<Status>,
    /// Print JSON (see docs/cli-json.md).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let filter = HistoryFilter {
        job: args.job,
        status: args.status,
        limit: args.limit.max(1),
    };
    let executions = ctx.store.history(&filter).await?;
    output::history(&executions, ctx.tz(), args.json);
    Ok(Exit::Ok)
}
