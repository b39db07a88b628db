//! `ferry check`: validate the configuration and every plugin; list each job's next fires.

use super::context::load_config;
use super::output;
use crate::error::Exit;
use std::path::Path;

/// How many upcoming fires are listed per job.
const NEXT_FIRES: usize = 3;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) async fn exec(_args: Args, config_path: &Path) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    let exe = std::env::current_exe()?;
    let report = crate::check::check_all(&config, &exe).await;
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
    let now = crate::clock::now();
    for job in config.jobs.values() {
        let plugin = match report.plugins.get(&job.plugin_path) {
            Some(Ok(info)) => format!("{} {}", info.name, info.version),
            _ => job.plugin.clone(),
        };
        let state = if job.enabled { "" } else { " (disabled)" };
        output::line(&format!("{}{state}: plugin {plugin}", job.name));
        match (&job.schedule, &job.schedule_text) {
            (Some(schedule), Some(text)) => {
                output::line(&format!("  schedule {text} ({})", job.timezone.name()));
                let mut at = now;
                for _ in 0..NEXT_FIRES {
                    let Some(next) = schedule.next_after(at, job.timezone) else {
                        break;
                    };
                    output::line(&format!(
                        "  next {}",
                        crate::display::local(next, job.timezone)
                    ));
                    at = next;
                }
            }
            _ => output::line("  on demand only (no schedule)"),
        }
    }
    Ok(Exit::Ok)
}
