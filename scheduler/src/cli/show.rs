//! `ferry show RUN [--json]`: one execution, as the seed's Import Peer Data screen shows it.

use super::context::Context;
use super::output::{self, Detail};
use crate::error::Exit;
use crate::store::Store;
use anyhow::Context as _;
use std::path::Path;

/// Input problems listed one by one (all are counted); as many as a result notice lists.
const SHOWN_PROBLEMS: i64 = crate::notice::render::FIRST_ERRORS as i64;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The run (execution id).
    run: i64,
    /// Print JSON (see docs/cli-json.md).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let detail = detail(&ctx.store, args.run).await?;
    output::show(&detail, ctx.tz(), args.json);
    Ok(Exit::Ok)
}

/// Reads everything `show` prints about a run.
pub(crate) async fn detail(store: &Store, run: i64) -> anyhow::Result<Detail> {
    let execution = store
        .execution(run)
        .await?
        .with_context(|| format!("no run #{run} in history"))?;
    let tables = store.tables(run).await?;
    let transfers = store.transfers(run).await?;
    let files = store.files(run).await?;
    let problems = store
        .logs(run, None, i64::MAX)
        .await?
        .into_iter()
        .filter(|l| l.level == "warn" || l.level == "error")
        .collect();
    let notices = store.notices_for_execution(run).await?;
    let reported = store.problems(run, SHOWN_PROBLEMS).await?;
    let reported_counts = store.problem_counts(run).await?;
    Ok(Detail {
        execution,
        tables,
        transfers,
        files,
        problems,
        notices,
        reported,
        reported_counts,
    })
}
