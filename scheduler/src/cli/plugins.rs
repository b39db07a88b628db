//! `ferry plugins`: the plugin libraries in `plugin_dir`, what each says about itself, and which
//! jobs use it.

use super::context::load_config;
use super::output;
use crate::error::Exit;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn exec(args: Args, config_path: &Path) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    let exe = std::env::current_exe()?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&config.scheduler.plugin_dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| {
                    p.extension().is_some_and(|e| e == "so")
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("lib"))
                })
                .collect()
        })
        .unwrap_or_default();
    for job in config.jobs.values() {
        if !paths.contains(&job.plugin_path) {
            paths.push(job.plugin_path.clone());
        }
    }
    paths.sort();
    let mut listed = Vec::new();
    for path in paths {
        let used_by: Vec<String> = config
            .jobs
            .values()
            .filter(|j| j.plugin_path == path)
            .map(|j| j.name.clone())
            .collect();
        let info = crate::worker::describe_plugin(&exe, &path, Duration::from_secs(20)).await;
        // Libraries in the folder that are not Ferry plugins are left out unless a job uses them.
        if info.is_err() && used_by.is_empty() {
            continue;
        }
        listed.push((path, info, used_by));
    }
    if args.json {
        let value = listed
            .iter()
            .map(|(path, info, used_by)| match info {
                Ok(info) => serde_json::json!({
                    "path": path, "name": info.name, "version": info.version, "abi": info.abi,
                    "summary": info.description.summary, "settings": info.description.settings,
                    "jobs": used_by, "error": null,
                }),
                Err(error) => serde_json::json!({
                    "path": path, "jobs": used_by, "error": error.to_string(),
                }),
            })
            .collect();
        output::json(&serde_json::Value::Array(value));
        return Ok(Exit::Ok);
    }
    if listed.is_empty() {
        output::line(&format!(
            "No plugins in {}.",
            config.scheduler.plugin_dir.display()
        ));
    }
    for (path, info, used_by) in &listed {
        let jobs = if used_by.is_empty() {
            "no jobs".to_owned()
        } else {
            used_by.join(", ")
        };
        match info {
            Ok(info) => {
                output::line(&format!(
                    "{} {} (ABI v{}) — {}",
                    info.name, info.version, info.abi, info.description.summary
                ));
                output::line(&format!("  file: {}", path.display()));
                output::line(&format!("  jobs: {jobs}"));
                for s in &info.description.settings {
                    let required = if s.required { "required" } else { "optional" };
                    output::line(&format!(
                        "  setting {} ({:?}, {required}): {}",
                        s.name, s.kind, s.doc
                    ));
                }
            }
            Err(error) => {
                output::line(&format!("{}: does not load: {error}", path.display()));
                output::line(&format!("  jobs: {jobs}"));
            }
        }
    }
    Ok(Exit::Ok)
}
