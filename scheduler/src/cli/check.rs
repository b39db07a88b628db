//! `ferry check`: validate the configuration and every plugin; list each job's next fires.

use super::output;
use crate::error::Exit;
use chrono::{DateTime, Utc};
use std::path::Path;

/// How many upcoming fires are listed per job.
const NEXT_FIRES: usize = 3;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print JSON (see docs/cli-json.md).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn exec(args: Args, config_path: &Path) -> anyhow::Result<Exit> {
    let config = match crate::config::load(config_path) {
        Ok(config) => config,
        Err(diagnostics) if args.json => {
            output::check_json(config_path, diagnostics.iter(), &[]);
            return Ok(Exit::Usage);
        }
        Err(diagnostics) => return Err(anyhow::anyhow!("{diagnostics}")),
    };
    let exe = std::env::current_exe()?;
    let report = crate::check::check_all(&config, &exe).await;
    let now = crate::clock::now();
    if args.json {
        let jobs: Vec<output::CheckedJob> = config
            .jobs
            .values()
            .map(|job| output::CheckedJob {
                name: job.name.clone(),
                plugin: job.plugin.clone(),
                enabled: job.enabled,
                schedule: job.schedule_text.clone(),
                timezone: job.timezone,
                next_fires: next_fires(job, now),
            })
            .collect();
        output::check_json(config_path, report.diagnostics.iter(), &jobs);
        return Ok(if report.diagnostics.is_empty() {
            Exit::Ok
        } else {
            Exit::Usage
        });
    }
    if !report.diagnostics.is_empty() {
        for problem in &report.diagnostics {
            output::note(&problem.to_string());
        }
        output::note(&format!(
            "{} problem(s) in {}",
            report.diagnostics.len(),
            config.path.display()
        ));
        return Ok(Exit::Usage);
    }
    output::line(&format!(
        "{}: OK ({} job(s))",
        config.path.display(),
        config.jobs.len()
    ));
    for job in config.jobs.values() {
        let plugin = match report.plugins.get(&job.plugin_path) {
            Some(Ok(info)) => format!("{} {}", info.name, info.version),
            _ => job.plugin.clone(),
        };
        let state = if job.enabled { "" } else { " (disabled)" };
        output::line(&format!("{}{state}: plugin {plugin}", job.name));
        match &job.schedule_text {
            Some(text) => {
                output::line(&format!("  schedule {text} ({})", job.timezone.name()));
                for next in next_fires(job, now) {
                    output::line(&format!(
                        "  next {}",
                        crate::display::local(next, job.timezone)
                    ));
                }
            }
            None => output::line("  on demand only (no schedule)"),
        }
    }
    Ok(Exit::Ok)
}

/// The job's next [`NEXT_FIRES`] fires after `now`, in order.
fn next_fires(job: &crate::config::JobSpec, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let Some(schedule) = &job.schedule else {
        return Vec::new();
    };
    std::iter::successors(schedule.next_after(now, job.timezone), |&at| {
        schedule.next_after(at, job.timezone)
    })
    .take(NEXT_FIRES)
    .collect()
}
