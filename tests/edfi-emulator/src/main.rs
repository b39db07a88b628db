//! `edfi-emulator`: runs the Ed-Fi ODS/API emulator on loopback for manual runs of the
//! `edfi-resync` job (a thin wrapper over the library; see the crate's README).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ferry_edfi_emulator::{Config, Emulator, ErrorStyle, Fault, Mode};

/// Serve an emulated Ed-Fi ODS/API on 127.0.0.1 until killed.
#[derive(Debug, Parser)]
#[command(name = "edfi-emulator", version)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// API generation: v3 (ODS/API 7.x, DS 5) or v2 (ODS/API 2.x, WI).
    #[arg(long, default_value = "v3")]
    mode: String,
    /// School year (v2 default route year; v3 puts it in the route when given).
    #[arg(long)]
    year: Option<i32>,
    /// Client key.
    #[arg(long, default_value = "ferry-key")]
    client_id: String,
    /// Client secret.
    #[arg(long, default_value = "ferry-secret")]
    client_secret: String,
    /// Token lifetime, e.g. 30m, 90s.
    #[arg(long, value_parser = humantime::parse_duration)]
    token_ttl: Option<Duration>,
    /// Live tokens allowed per client (429 beyond).
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Error body style: problem_details or message.
    #[arg(long)]
    error_style: Option<String>,
    /// Artificial delay inside every data request, e.g. 200ms.
    #[arg(long, value_parser = humantime::parse_duration)]
    delay: Option<Duration>,
    /// Seed the standard test district (schools, courses, staff, descriptors).
    #[arg(long)]
    fixtures: bool,
    /// Seed what the state holds from a file in the layout of the edfi-resync job's
    /// fixtures/lookups.json (its schools, courses, staff, school years and descriptors).
    #[arg(long)]
    state: Option<PathBuf>,
    /// JSON file with a list of fault rules (see README).
    #[arg(long)]
    faults: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match args.mode.as_str() {
        "v3" => {
            let mut c = Config::v3();
            c.year = args.year;
            c
        }
        "v2" => Config::v2(args.year.unwrap_or(2025)),
        other => {
            eprintln!("edfi-emulator: unknown mode {other:?} (v3 or v2)");
            return ExitCode::from(2);
        }
    };
    config.client_id = args.client_id;
    config.client_secret = args.client_secret;
    if let Some(ttl) = args.token_ttl {
        config.token_ttl = ttl;
    }
    config.max_tokens = args.max_tokens;
    if let Some(delay) = args.delay {
        config.request_delay = delay;
    }
    match args.error_style.as_deref() {
        None => {}
        Some("problem_details") => config.error_style = ErrorStyle::ProblemDetails,
        Some("message") => config.error_style = ErrorStyle::Message,
        Some(other) => {
            eprintln!("edfi-emulator: unknown error style {other:?} (problem_details or message)");
            return ExitCode::from(2);
        }
    }
    let faults: Vec<Fault> = match &args.faults {
        None => Vec::new(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(f) => f,
            Err(e) => {
                eprintln!(
                    "edfi-emulator: cannot read faults from {}: {e}",
                    path.display()
                );
                return ExitCode::from(2);
            }
        },
    };
    let mode = config.mode;
    let emulator = match Emulator::start_on(config, args.port) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("edfi-emulator: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    if args.fixtures {
        emulator.seed_fixtures();
    }
    if let Some(path) = &args.state {
        match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(doc) => emulator.seed_state(&doc),
            Err(e) => {
                eprintln!("edfi-emulator: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    emulator.set_faults(faults);
    println!("{}", emulator.base_url());
    println!("data: {}", emulator.data_url());
    println!("mode: {}", if mode == Mode::V3 { "v3" } else { "v2" });
    emulator.wait();
    ExitCode::SUCCESS
}
