//! Fetch and upload steps around a run, through a `local` connection (a drop folder): files
//! land in the inbox, outputs are uploaded, every file moved is recorded, `--no-fetch` reuses
//! the inbox, and missing required files fail the run by name.

use ferry_tests::Sandbox;

fn drop_box(sb: &Sandbox, steps: &str) -> std::path::PathBuf {
    let drop = sb.path().join("drop");
    std::fs::create_dir_all(drop.join("in")).unwrap();
    sb.config(&format!(
        "[connections.drop]\nkind = \"local\"\npath = \"{}\"\n\n[jobs.move]\nplugin = \"example\"\n{steps}\n",
        drop.display()
    ));
    drop
}

#[test]
fn fetch_then_upload_records_every_file_moved() {
    let sb = Sandbox::sqlite();
    let drop = drop_box(
        &sb,
        "fetch = [{ connection = \"drop\", remote_dir = \"in\", pattern = \"*.csv\", after = \"archive:done\" }]\n\
         upload = [{ connection = \"drop\", remote_dir = \"out\", pattern = \"*.csv\" }]",
    );
    std::fs::write(drop.join("in/students.csv"), "id,name\n1,Ada\n").unwrap();
    std::fs::write(drop.join("in/readme.txt"), "not for us").unwrap();
    sb.ferry(&["run", "move"]).assert_code(0);

    let inbox = sb.path().join("work/jobs/move/inbox");
    assert_eq!(
        std::fs::read_to_string(inbox.join("students.csv")).unwrap(),
        "id,name\n1,Ada\n"
    );
    assert!(!inbox.join("readme.txt").exists());
    assert!(
        drop.join("done/students.csv").exists(),
        "archived after fetch"
    );
    assert!(!drop.join("in/students.csv").exists());
    assert!(
        drop.join("in/readme.txt").exists(),
        "files not matching are left alone"
    );
    assert!(
        drop.join("out/greetings-1.csv").exists(),
        "the output was uploaded"
    );

    let show = sb.show(1);
    let transfers = show["transfers"].as_array().expect("transfers");
    assert_eq!(transfers.len(), 2, "{show}");
    let download = &transfers[0];
    assert_eq!(download["direction"], "download");
    assert_eq!(download["connection"], "drop");
    assert_eq!(download["bytes"], 14);
    assert_eq!(download["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(transfers[1]["direction"], "upload");
    let table = sb.ferry(&["show", "1"]).stdout();
    assert!(table.contains("students.csv"), "{table}");
}

#[test]
fn no_fetch_reuses_the_inbox_and_says_so() {
    let sb = Sandbox::sqlite();
    let drop = drop_box(
        &sb,
        "fetch = [{ connection = \"drop\", remote_dir = \"in\", pattern = \"*.csv\" }]",
    );
    std::fs::write(drop.join("in/a.csv"), "x\n").unwrap();
    sb.ferry(&["run", "move"]).assert_code(0);
    std::fs::write(drop.join("in/b.csv"), "y\n").unwrap();
    sb.ferry(&["run", "move", "--no-fetch"]).assert_code(0);
    let inbox = sb.path().join("work/jobs/move/inbox");
    assert!(!inbox.join("b.csv").exists(), "--no-fetch must not fetch");
    let logs = sb.ferry(&["logs", "2"]).stdout();
    assert!(
        logs.contains("fetch skipped (--no-fetch): reusing 1 file(s)"),
        "{logs}"
    );
    assert!(sb.show(2)["transfers"].as_array().unwrap().is_empty());
}

#[test]
fn a_missing_required_file_fails_the_run_by_name() {
    let sb = Sandbox::sqlite();
    drop_box(
        &sb,
        "fetch = [{ connection = \"drop\", remote_dir = \"in\", pattern = \"*.csv\", required = [\"students.csv\"] }]",
    );
    sb.ferry(&["run", "move"]).assert_code(1);
    let e = &sb.history()[0];
    assert_eq!(e["status"], "failed");
    assert!(
        e["error"].as_str().unwrap_or("").contains("students.csv"),
        "{e}"
    );
    assert!(
        e["entered_at"].is_null(),
        "the plugin must not run without its files: {e}"
    );
}
