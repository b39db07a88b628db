//! `ises-dropbox`: runs the ISES drop-box emulator over a folder, for trying the `ises-upload`
//! job by hand or from a test script. A thin shell over the `ferry_ises_emulator` library.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ferry_ises_emulator::{Answer, Config, DropBox, FileStatus};

/// Watches a drop-box folder and answers each ISES Discipline Load File in it.
#[derive(Debug, Parser)]
#[command(name = "ises-dropbox")]
struct Args {
    /// The folder Load Files arrive in.
    #[arg(long)]
    watch: PathBuf,
    /// The folder answers are written to (default: the watched folder).
    #[arg(long)]
    answer: Option<PathBuf>,
    /// DPI's school codes for the district, comma separated (e.g. 0020,0030).
    #[arg(long, value_delimiter = ',')]
    schools: Option<Vec<String>>,
    /// A file of known WSNs (WSLS), one per line; `#` starts a comment.
    #[arg(long)]
    wsns: Option<PathBuf>,
    /// Answer what is there now and exit.
    #[arg(long)]
    once: bool,
    /// Milliseconds between polls.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
}

fn line(answer: &Answer) -> String {
    let status = match answer.status {
        FileStatus::Success => "Success",
        FileStatus::Failure => "Failure",
    };
    let mut text = format!(
        "{} {status}{} errors={} warnings={} report={}",
        answer.load_file,
        if answer.csv_error { " (CSV error)" } else { "" },
        answer.errors,
        answer.warnings,
        answer.report.display()
    );
    if let Some(dlf) = &answer.failure_file {
        text.push_str(&format!(" failure_file={}", dlf.display()));
    }
    if !answer.reasons.is_empty() {
        text.push_str(&format!(" reasons={}", answer.reasons.join(";")));
    }
    text
}

fn read_wsns(path: &PathBuf) -> Result<BTreeSet<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
        })
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let known_wsns = match args.wsns.as_ref().map(read_wsns).transpose() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ises-dropbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config {
        answer_dir: args.answer.clone().unwrap_or_else(|| args.watch.clone()),
        watch_dir: args.watch,
        valid_schools: args
            .schools
            .map(|s| s.into_iter().map(|c| c.trim().to_owned()).collect()),
        known_wsns,
    };
    let mut dropbox = DropBox::new(config);
    loop {
        match dropbox.process_pending() {
            Ok(answers) => {
                for a in &answers {
                    println!("{}", line(a));
                }
            }
            Err(e) => {
                eprintln!("ises-dropbox: {e}");
                if args.once {
                    return ExitCode::FAILURE;
                }
            }
        }
        if args.once {
            return ExitCode::SUCCESS;
        }
        // A plain polling loop: this binary has no async runtime to block.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(args.poll_ms));
    }
}
