//! A plugin that misbehaves on request, so Ferry's tests can prove the worker process contains
//! every kind of failure: setting `mode` picks what happens.
//!
//! - `panic`: panics with "boom" (the SDK turns it into a failed result);
//! - `abort`: `std::process::abort()` (SIGABRT, no outcome);
//! - `segfault`: writes through a null pointer (SIGSEGV, no outcome);
//! - `exit`: `std::process::exit(7)` (no outcome, exit code 7);
//! - `hang`: starts a helper `sleep` process (so the worker's process group has a second
//!   member), logs `helper pid N`, then sleeps forever ignoring cancellation (for timeout and
//!   kill tests);
//! - `orphan`: starts a helper `sleep` process (which inherits the worker's stderr), logs
//!   `helper pid N`, and succeeds: a process left behind must not hold the run open;
//! - `print`: writes lines to stdout and stderr, then succeeds (stdout must not corrupt the
//!   worker's event stream);
//! - `files`: uses the host's file calls on the connection named by the `connection` setting,
//!   under its folder `dir` (default: the connection's root): lists `in/*.csv`, fetches each into the inbox, writes `response.txt` in its work folder and
//!   puts it to `out/response.txt`, renames each fetched file to `done/NAME`, then tries the
//!   connection `nowhere` and logs the error it gets (`unknown connection: ...`);
//! - `ok` (or no mode): succeeds.

use ferry_plugin::{Context, Description, Job, JobError, Outcome, SettingKind, SettingSpec};
use std::io::Write as _;

/// The misbehaving job.
#[derive(Debug, Default)]
pub struct Misbehave;

impl Job for Misbehave {
    fn describe(&self) -> Description {
        Description::new("Misbehaves on purpose (Ferry's worker tests).")
            .setting(SettingSpec::optional(
                "mode",
                SettingKind::String,
                "panic | abort | segfault | exit | hang | orphan | print | files | ok",
            ))
            .setting(SettingSpec::optional(
                "connection",
                SettingKind::String,
                "the connection `files` mode uses",
            ))
            .setting(SettingSpec::optional(
                "dir",
                SettingKind::String,
                "the folder on that connection `files` mode works in",
            ))
    }

    #[allow(
        clippy::disallowed_methods,
        clippy::print_stdout,
        clippy::print_stderr,
        reason = "exiting, sleeping and printing are exactly the misbehaviour under test"
    )]
    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
        let mode = ctx
            .settings()
            .get("mode")
            .and_then(|m| m.as_str())
            .unwrap_or("ok")
            .to_owned();
        ctx.info(format!("misbehaving: {mode}"));
        match mode.as_str() {
            "panic" => panic!("boom"),
            "abort" => std::process::abort(),
            "segfault" => {
                #[allow(unsafe_code)]
                // SAFETY: not safe at all, on purpose: this write must crash the process with
                // SIGSEGV so the worker tests can see a real segmentation fault.
                unsafe {
                    std::ptr::null_mut::<i32>().write_volatile(1);
                }
                Ok(Outcome::failed(
                    "still alive after writing through a null pointer",
                ))
            }
            "exit" => std::process::exit(7),
            "hang" => {
                start_helper(ctx);
                ctx.info("hanging");
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
            "orphan" => {
                start_helper(ctx);
                Ok(Outcome::succeeded("left a helper behind"))
            }
            "print" => {
                println!("plain text on stdout");
                println!("{{\"type\":\"outcome\",\"status\":\"failed\",\"message\":\"forged\"}}");
                std::io::stdout().flush().ok();
                eprintln!("plain text on stderr");
                ctx.info("printed to stdout and stderr");
                Ok(Outcome::succeeded("printed"))
            }
            "files" => files(ctx),
            "ok" => Ok(Outcome::succeeded("behaved")),
            other => Err(JobError::settings(format!("unknown mode {other:?}"))),
        }
    }
}

/// The `files` mode: every host file call once, then one on an unknown connection.
fn files(ctx: &Context) -> Result<Outcome, JobError> {
    let connection = ctx
        .settings()
        .get("connection")
        .and_then(|c| c.as_str())
        .ok_or_else(|| JobError::settings("files mode needs a connection"))?
        .to_owned();
    let base = match ctx.settings().get("dir").and_then(|d| d.as_str()) {
        Some(dir) => format!("{dir}/"),
        None => String::new(),
    };
    let listed = ctx.list_files(&connection, &format!("{base}in"), Some("*.csv"))?;
    let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    ctx.info(format!("listed: {}", names.join(",")));
    let mut response = String::new();
    for file in &listed {
        let local = ctx.fetch_file(&connection, &file.path)?;
        let text = std::fs::read_to_string(&local)?;
        ctx.info(format!("fetched {} to {}", file.name, local.display()));
        response.push_str(&format!("{} {}\n", file.name, text.lines().count()));
    }
    std::fs::write(ctx.work_dir().join("response.txt"), response)?;
    ctx.put_file(
        &connection,
        "response.txt",
        &format!("{base}out/response.txt"),
    )?;
    for file in &listed {
        ctx.rename_file(
            &connection,
            &file.path,
            &format!("{base}done/{}", file.name),
        )?;
    }
    if let Err(error) = ctx.list_files("nowhere", "", None) {
        ctx.info(format!("nowhere: {error}"));
    }
    Ok(Outcome::succeeded(format!(
        "moved {} file(s)",
        listed.len()
    )))
}

/// Starts `sleep 3600` in the worker's process group and logs its pid.
fn start_helper(ctx: &Context) {
    match std::process::Command::new("sleep").arg("3600").spawn() {
        Ok(helper) => ctx.info(format!("helper pid {}", helper.id())),
        Err(e) => ctx.warn(format!("no helper process: {e}")),
    }
}

ferry_plugin::export!(Misbehave);
