//! Plugins that panic, abort, segfault, exit, print to stdout, hang past their timeout or speak
//! another ABI: each fails only its own run, with a reason an operator can act on.

use ferry_tests::{Sandbox, plugin};

/// Runs the misbehaving plugin in `mode`; returns the recorded execution.
fn run_misbehave(mode: &str, extra: &str) -> (Sandbox, serde_json::Value) {
    let sb = Sandbox::sqlite();
    sb.config(&format!(
        "[jobs.broken]\nplugin = \"{}\"\n{extra}\nsettings = {{ mode = \"{mode}\" }}\n",
        plugin("ferry_test_misbehave").display()
    ));
    sb.ferry(&["run", "broken"]).assert_code(1);
    let history = sb.history();
    assert_eq!(history.len(), 1, "{history:?}");
    let e = history[0].clone();
    (sb, e)
}

fn error_of(e: &serde_json::Value) -> String {
    e["error"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_panicking_plugin_fails_its_run_with_the_panic_message() {
    let (_sb, e) = run_misbehave("panic", "");
    assert_eq!(e["status"], "failed");
    assert!(error_of(&e).contains("panicked"), "{e}");
}

#[test]
fn an_aborting_plugin_fails_its_run_naming_the_signal() {
    let (_sb, e) = run_misbehave("abort", "");
    assert_eq!(e["status"], "failed");
    assert!(error_of(&e).contains("SIGABRT"), "{e}");
}

#[test]
fn a_segfaulting_plugin_fails_its_run_naming_the_signal() {
    let (_sb, e) = run_misbehave("segfault", "");
    assert_eq!(e["status"], "failed");
    assert!(error_of(&e).contains("SIGSEGV"), "{e}");
}

#[test]
fn a_plugin_that_exits_fails_its_run_with_the_code() {
    let (_sb, e) = run_misbehave("exit", "");
    assert_eq!(e["status"], "failed");
    assert!(error_of(&e).contains("code 7"), "{e}");
}

#[test]
fn a_plugin_printing_to_stdout_cannot_corrupt_the_event_stream() {
    let sb = Sandbox::sqlite();
    sb.config(&format!(
        "[jobs.chatty]\nplugin = \"{}\"\nsettings = {{ mode = \"print\" }}\n",
        plugin("ferry_test_misbehave").display()
    ));
    sb.ferry(&["run", "chatty"]).assert_code(0);
    let id = sb.history()[0]["id"].as_i64().unwrap();
    let logs = sb.ferry(&["logs", &id.to_string()]).stdout();
    assert!(
        logs.contains("stdout"),
        "plugin stdout should be captured in the log:\n{logs}"
    );
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_with_both_versions() {
    let sb = Sandbox::sqlite();
    sb.config(&format!(
        "[jobs.old]\nplugin = \"{}\"\n",
        plugin("ferry_test_old_abi").display()
    ));
    sb.ferry(&["run", "old"]).assert_code(1);
    let e = &sb.history()[0];
    assert_eq!(e["status"], "failed");
    let error = error_of(e);
    assert!(error.contains("v0") && error.contains("v1"), "{e}");
}

#[test]
fn a_run_past_its_timeout_is_killed_and_recorded_timed_out() {
    let started = std::time::Instant::now();
    let (_sb, e) = run_misbehave("hang", "timeout = \"1s\"");
    assert_eq!(e["status"], "timed_out");
    assert!(error_of(&e).contains("timed out after 1s"), "{e}");
    // The hanging worker ignores SIGTERM; it must have been killed, not waited for.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
