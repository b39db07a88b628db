//! `ferry run JOB [--no-fetch] [--set key=value]…`: run a job now, through the same claim and
//! worker path as the schedule, showing progress and the final table summary.

use super::context::Context;
use super::output;
use crate::error::Exit;
use crate::notice::outbox::Outbox;
use crate::run::{RunSpec, Runner};
use crate::store::model::{Claim, Execution, Status, Trigger};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a queued run checks whether the job is free.
const QUEUE_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The job to run (a `[jobs.NAME]` of the configuration).
    job: String,
    /// Don't fetch remote files; use what is already in the job's inbox.
    #[arg(long)]
    no_fetch: bool,
    /// A parameter for this run, handed to the plugin (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    set: Vec<(String, String)>,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let runner = ctx.runner()?;
    runner.job(&args.job)?;
    let exe = std::env::current_exe()?;
    let problems = crate::check::check_job_settings(&ctx.config, &args.job, &exe).await;
    if !problems.is_empty() {
        for problem in &problems {
            output::note(&problem.to_string());
        }
        return Ok(Exit::Usage);
    }
    let spec = RunSpec {
        job: args.job.clone(),
        trigger: Trigger::Manual,
        requested_by: crate::run::user_name(),
        scheduled_for: None,
        params: args.set.into_iter().collect::<BTreeMap<_, _>>(),
        no_fetch: args.no_fetch,
    };
    let tz = ctx.tz();
    let execution = match runner.claim(&spec, true).await? {
        Claim::Started(execution) => execution,
        Claim::Busy { running, .. } => {
            output::note(&format!(
                "Job {} is already running: run #{} started {} on {} (requested by {}). \
                 Not started; set overlap = \"queue\" on the job to queue runs instead.",
                running.job,
                running.id,
                crate::display::local_opt(running.started_at, tz),
                running.host,
                running.requested_by,
            ));
            return Ok(Exit::Refused);
        }
        Claim::Queued(queued) => match wait_for_turn(&runner, &queued).await? {
            Turn::Ours(execution) => *execution,
            Turn::TakenElsewhere => return follow_elsewhere(&ctx, queued.id).await,
        },
        Claim::Duplicate => anyhow::bail!("run of {} was already claimed", args.job),
    };
    output::note(&format!(
        "Run #{} of {} started on {}.",
        execution.id, execution.job, execution.host
    ));
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            output::note("Interrupted: stopping the run…");
            on_interrupt.cancel();
        }
    });
    let (updates, mut received) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut view = super::progress::RunView::new(tz);
        while let Some(update) = received.recv().await {
            view.show(&update);
        }
        view.finish();
    });
    let finished = runner.execute(execution, cancel, Some(updates)).await?;
    let _ = printer.await;
    let exit = summarize(&ctx, &finished).await?;
    deliver_notices(&ctx, finished.id).await?;
    Ok(exit)
}

/// Tries the run's result notice once, now, so the operator learns at once whether it went out;
/// if it did not, it stays in the outbox for `ferry serve`. The run's exit status never depends
/// on mail.
pub(crate) async fn deliver_notices(ctx: &Context, run: i64) -> anyhow::Result<()> {
    let pending: Vec<_> = ctx
        .store
        .notices_for_execution(run)
        .await?
        .into_iter()
        .filter(|n| n.delivery == "pending")
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let outbox = match Outbox::from_config(&ctx.config, ctx.store.clone()) {
        Ok(Some(outbox)) => outbox,
        Ok(None) => return Ok(()),
        Err(error) => {
            for notice in &pending {
                output::notice_not_tried(notice, &error.to_string());
            }
            return Ok(());
        }
    };
    for notice in &pending {
        match outbox.attempt(notice.id).await? {
            Some((stored, delivery)) => output::notice_delivery(&stored, &delivery, ctx.tz()),
            None => output::notice_not_tried(notice, "another sender is delivering it"),
        }
    }
    Ok(())
}

enum Turn {
    Ours(Box<Execution>),
    TakenElsewhere,
}

/// Waits until a queued run can take the job's lease, or another runner (a `ferry serve`)
/// starts it.
async fn wait_for_turn(runner: &Runner, queued: &Execution) -> anyhow::Result<Turn> {
    output::note(&format!(
        "Job {} is running; queued as run #{} (overlap = \"queue\").",
        queued.job, queued.id
    ));
    loop {
        if let Some(execution) = runner.dispatch(queued.id).await? {
            return Ok(Turn::Ours(Box::new(execution)));
        }
        let now = runner.store().execution(queued.id).await?;
        if now.is_some_and(|e| e.status != Status::Queued) {
            return Ok(Turn::TakenElsewhere);
        }
        tokio::time::sleep(QUEUE_POLL).await;
    }
}

/// Follows a run another process started until it ends.
async fn follow_elsewhere(ctx: &Context, run: i64) -> anyhow::Result<Exit> {
    output::note(&format!(
        "Run #{run} was started by another scheduler; following it."
    ));
    let mut after = 0;
    loop {
        let execution = ctx.store.execution(run).await?;
        let lines = ctx.store.logs(run, Some(after), 10_000).await?;
        if let Some(last) = lines.last() {
            after = last.seq;
        }
        for line in &lines {
            output::note(&output::log_line(line, ctx.tz()));
        }
        match execution {
            Some(e) if e.status.is_terminal() && lines.is_empty() => {
                return summarize(ctx, &e).await;
            }
            None => anyhow::bail!("run #{run} disappeared from history"),
            _ => tokio::time::sleep(QUEUE_POLL).await,
        }
    }
}

/// Prints the summary and picks the exit code from the run's status.
async fn summarize(ctx: &Context, finished: &Execution) -> anyhow::Result<Exit> {
    let detail = super::show::detail(&ctx.store, finished.id).await?;
    output::run_summary(&detail, ctx.tz());
    Ok(match finished.status {
        Status::Succeeded | Status::Warning => Exit::Ok,
        _ => Exit::RunFailed,
    })
}
