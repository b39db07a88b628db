//! What `ferry run` shows while the run executes: log lines as they arrive, and a progress bar
//! for long work (a transfer's bytes, a plugin's counted steps) when stderr is a terminal.
//!
//! Without a terminal (CI logs, cron mail) there are no bars: a progress line is printed when a
//! new piece of work starts and when it completes, never a flood of updates.

use super::output;
use crate::run::RunUpdate;
use crate::store::model::ProblemRecord;
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;

/// The live view of one run.
#[derive(Debug)]
pub(crate) struct RunView {
    tz: Tz,
    terminal: bool,
    /// The bar for the piece of work in progress, and what it is.
    bar: Option<(ProgressBar, String)>,
    /// Input errors shown so far (see [`RunView::shows_problem`]).
    problem_lines: usize,
}

/// Input errors shown one per line; an import can reject thousands of rows, and all of them are
/// stored with the run (the run's log ends with their count).
const PROBLEM_LINES: usize = 10;

impl RunView {
    pub(crate) fn new(tz: Tz) -> RunView {
        RunView {
            tz,
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            problem_lines: 0,
        }
    }

    /// Shows one update.
    pub(crate) fn show(&mut self, update: &RunUpdate) {
        match update {
            RunUpdate::Progress {
                done,
                total,
                message,
            } => self.progress(*done, *total, message.as_deref().unwrap_or("")),
            RunUpdate::Problem(problem) if !self.shows_problem(problem) => {}
            other => {
                let text = describe(other, self.tz);
                match &self.bar {
                    // Printed above the bar, which is redrawn below it.
                    Some((bar, _)) => bar.suspend(|| output::note(&text)),
                    None => output::note(&text),
                }
            }
        }
    }

    fn progress(&mut self, done: u64, total: Option<u64>, what: &str) {
        let complete = total.is_some_and(|t| done >= t);
        if !self.terminal {
            let new = self.bar.as_ref().is_none_or(|(_, current)| current != what);
            if new || complete {
                let of = total.map(|t| format!("/{t}")).unwrap_or_default();
                output::note(&format!("progress {done}{of} {what}"));
            }
            // Remember what is in progress (the bar itself is never drawn here).
            self.bar = (!complete).then(|| (ProgressBar::hidden(), what.to_owned()));
            return;
        }
        if self.bar.as_ref().is_none_or(|(_, current)| current != what) {
            self.finish();
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let bytes = what.starts_with("download ") || what.starts_with("upload ");
            let template = if bytes {
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            } else {
                "{msg} [{bar:30}] {pos}/{len} eta {eta}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what.to_owned());
            self.bar = Some((bar, what.to_owned()));
        }
        if let Some((bar, _)) = &self.bar {
            bar.set_position(done);
            if complete {
                self.finish();
            }
        }
    }

    /// True for the first [`PROBLEM_LINES`] errors; warnings are only stored.
    fn shows_problem(&mut self, problem: &ProblemRecord) -> bool {
        if problem.severity != "error" || self.problem_lines >= PROBLEM_LINES {
            return false;
        }
        self.problem_lines += 1;
        true
    }

    /// Ends the bar in progress, leaving its last state on screen.
    pub(crate) fn finish(&mut self) {
        if let Some((bar, _)) = self.bar.take() {
            bar.finish();
        }
    }
}

/// One update as a line.
fn describe(update: &RunUpdate, tz: Tz) -> String {
    match update {
        RunUpdate::Loaded { plugin, version } => format!("Plugin {plugin} {version} loaded."),
        RunUpdate::Log(line) => output::log_line(line, tz),
        RunUpdate::Table(stat) => format!(
            "{}: {} rows {} in {:.2}s",
            stat.table, stat.rows, stat.action, stat.seconds
        ),
        RunUpdate::File(file) => format!("{} file: {}", file.kind, file.path),
        RunUpdate::Progress { done, .. } => format!("progress {done}"),
        RunUpdate::Problem(p) => {
            // Shown like a log line: `12:00:01.250 error Invalid value: F.txt:17 Birth="x": ...`.
            let message = crate::notice::render::problem_detail(p);
            let line = crate::store::model::LogLine {
                seq: p.seq,
                ts: p.at,
                level: p.severity.clone(),
                message,
            };
            output::log_line(&line, tz)
        }
    }
}
