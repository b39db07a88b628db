//! `ferry check`: every configuration error with file, line and key; next fires when valid.

use ferry_tests::Sandbox;

#[test]
fn check_lists_next_fires_for_a_valid_configuration() {
    let sb = Sandbox::sqlite();
    sb.config(
        "[jobs.weekdays]\nplugin = \"example\"\nschedule = \"0 9 * * 1-5\"\ntimezone = \"America/New_York\"\n",
    );
    let run = sb.ferry(&["check"]);
    run.assert_code(0);
    let out = run.stdout();
    assert_eq!(out.matches("  next ").count(), 3, "{out}");
    assert!(out.contains("09:00:00 E"), "{out}");
}

#[test]
fn check_reports_every_error_with_file_line_and_key() {
    let sb = Sandbox::sqlite();
    // The sandbox writes six lines of [scheduler] first; these start on line 7.
    sb.config(
        "[jobs.a]\nplugin = \"example\"\nschedule = \"61 * * * *\"\n\n[jobs.b]\nplugin = \"example\"\ncolour = \"blue\"\n",
    );
    let run = sb.ferry(&["check"]);
    run.assert_code(2);
    let err = run.stderr();
    let file = sb.config_path().display().to_string();
    assert!(
        err.contains(&format!("{file}:9:")) && err.contains("jobs.a.schedule"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:13:")) && err.contains("colour"),
        "{err}"
    );
}

#[test]
fn check_rejects_settings_the_plugin_does_not_accept() {
    let sb = Sandbox::sqlite();
    sb.config("[jobs.a]\nplugin = \"example\"\nsettings = { rows = \"many\", nonsense = 1 }\n");
    let run = sb.ferry(&["check"]);
    run.assert_code(2);
    let err = run.stderr();
    assert!(err.contains("rows") && err.contains("nonsense"), "{err}");
}

#[test]
fn inline_secrets_are_refused() {
    let sb = Sandbox::sqlite();
    sb.config("[jobs.a]\nplugin = \"example\"\nsettings = { password = \"hunter2\" }\n");
    let run = sb.ferry(&["check"]);
    run.assert_code(2);
    let err = run.stderr();
    assert!(err.contains("password_env"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
