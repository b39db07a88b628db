//! Validation that needs the plugins: each job's plugin loads (in a worker process) and accepts
//! the job's settings under the schema it describes.
//!
//! `ferry check` reports it, `ferry serve` refuses to start without it, and `ferry run` checks
//! the one job it runs.

use crate::config::{Config, Diagnostic, check_settings};
use crate::worker::{PluginInfo, describe_plugin};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a plugin may take to load and describe itself.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(20);

/// What checking the plugins found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Every problem, each pointing at the configuration line it is about.
    pub diagnostics: Vec<Diagnostic>,
    /// Each distinct plugin library: what it said about itself, or why it did not load.
    pub plugins: BTreeMap<PathBuf, Result<PluginInfo, String>>,
}

/// Checks every job's plugin and settings.
pub async fn check_all(config: &Config, exe: &Path) -> CheckReport {
    check(config, config.jobs.keys().map(String::as_str), exe).await
}

/// Checks one job's settings against its plugin's schema. A plugin that does not load is not
/// reported here: the run itself fails and records why, so the failure is in history.
pub async fn check_job_settings(config: &Config, job: &str, exe: &Path) -> Vec<Diagnostic> {
    let report = check(config, std::iter::once(job), exe).await;
    let loaded = config
        .jobs
        .get(job)
        .and_then(|spec| report.plugins.get(&spec.plugin_path))
        .is_some_and(Result::is_ok);
    if loaded {
        report.diagnostics
    } else {
        Vec::new()
    }
}

async fn check<'a>(
    config: &'a Config,
    jobs: impl Iterator<Item = &'a str>,
    exe: &Path,
) -> CheckReport {
    let jobs: Vec<&str> = jobs.collect();
    let mut report = CheckReport::default();
    let mut paths: Vec<PathBuf> = jobs
        .iter()
        .filter_map(|name| config.jobs.get(*name))
        .map(|job| job.plugin_path.clone())
        .collect();
    paths.sort();
    paths.dedup();
    // Describe each distinct library once, all at the same time: each is its own process.
    let described = futures_join(paths.iter().map(|path| {
        let (exe, path) = (exe.to_path_buf(), path.clone());
        async move {
            let result = describe_plugin(&exe, &path, DESCRIBE_TIMEOUT)
                .await
                .map_err(|error| error.to_string());
            (path, result)
        }
    }))
    .await;
    report.plugins = described.into_iter().collect();
    for name in jobs {
        let Some(job) = config.jobs.get(name) else {
            continue;
        };
        match report.plugins.get(&job.plugin_path) {
            Some(Ok(info)) => {
                report
                    .diagnostics
                    .extend(check_settings(config, name, &info.description))
            }
            Some(Err(error)) => report.diagnostics.push(Diagnostic::at(
                config,
                &format!("jobs.{name}.plugin"),
                format!(
                    "plugin {:?} ({}) did not load: {error}",
                    job.plugin,
                    job.plugin_path.display()
                ),
            )),
            None => {}
        }
    }
    report
}

/// Awaits all futures concurrently, keeping their order.
async fn futures_join<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(value) = handle.await {
            out.push(value);
        }
    }
    out
}
