//! Input problems: a job's rejected rows reach the store naming file, line, field and value,
//! counted per category, with secrets redacted.

use ferry::store::Store;
use ferry::store::model::{ProblemCount, ProblemRecord};
use ferry_tests::{Backend, Sandbox};

const SECRET: &str = "tok-77d1-problem-secret";

const REJECTS: &str = r#"
[jobs.rejects]
plugin = "example"
[jobs.rejects.settings]
rows = 2
problems = 30
token_env = "FERRY_TEST_PROBLEM_TOKEN"
"#;

/// The run's problems and their counts, read through the store as the notice renderer will.
fn read_problems(database: &str, id: i64) -> (Vec<ProblemRecord>, Vec<ProblemCount>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = Store::open(database).await.expect("open the store");
        let problems = store.problems(id, 0).await.expect("problems");
        let counts = store.problem_counts(id).await.expect("problem counts");
        store.close().await;
        (problems, counts)
    })
}

fn problems_are_recorded_with_file_line_field_and_value(backend: Backend) {
    let sb = Sandbox::new(backend);
    sb.config(REJECTS);
    let run = sb
        .command(&["run", "rejects"])
        .env("FERRY_TEST_PROBLEM_TOKEN", SECRET)
        .output()
        .expect("run ferry");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(0), "{printed}");
    assert!(!printed.contains(SECRET), "{printed}");
    assert!(
        printed.contains("error Invalid value: STUDENTS.txt:2 BirthDate=\"2019-13-02\": must"),
        "the first errors are shown while the run executes:\n{printed}"
    );
    // Ten errors (lines 2, 4, ..., 20) get a line each; the rest, and every warning, do not.
    // (On stderr; the summary on stdout lists the first 20 problems, warnings included.)
    let live = String::from_utf8_lossy(&run.stderr);
    assert!(live.contains("STUDENTS.txt:20 "), "{live}");
    assert!(!live.contains("STUDENTS.txt:22 "), "{live}");
    assert!(!live.contains("Unknown school"), "{live}");

    let e = &sb.history()[0];
    assert_eq!(e["status"], "warning", "{e}");
    let id = e["id"].as_i64().expect("id");
    let (problems, counts) = read_problems(sb.database(), id);

    assert_eq!(problems.len(), 30, "{problems:#?}");
    for (i, p) in problems.iter().enumerate() {
        let n = i64::try_from(i).expect("index") + 1;
        assert_eq!(p.seq, n);
        assert_eq!(p.file.as_deref(), Some("STUDENTS.txt"), "{p:?}");
        assert_eq!(p.line, Some(n + 1), "{p:?}");
        assert!(p.value.as_ref().is_some_and(|v| !v.is_empty()), "{p:?}");
        assert!(!format!("{p:?}").contains(SECRET), "{p:?}");
        let expected = if n % 2 == 1 {
            ("error", "Invalid value", "BirthDate")
        } else {
            ("warning", "Unknown school", "SchoolCode")
        };
        assert_eq!(
            (p.severity.as_str(), p.category.as_str(), p.field.as_deref()),
            (expected.0, expected.1, Some(expected.2)),
            "{p:?}"
        );
    }
    assert_eq!(problems[0].value.as_deref(), Some("2019-13-02"));
    assert_eq!(problems[0].message, "must be a date (YYYY-MM-DD)");
    // The example job reports its token as the first warning's value: stored redacted.
    assert_eq!(
        problems[1].value.as_deref(),
        Some("***"),
        "{:?}",
        problems[1]
    );
    assert_eq!(problems[3].value.as_deref(), Some("S0004"));

    let count = |severity: &str, category: &str| ProblemCount {
        severity: severity.to_owned(),
        category: category.to_owned(),
        count: 15,
    };
    assert_eq!(
        counts,
        vec![
            count("error", "Invalid value"),
            count("warning", "Unknown school")
        ]
    );

    let logs = sb.ferry(&["logs", &id.to_string()]);
    logs.assert_code(0);
    assert!(
        logs.stdout()
            .contains("the job reported 30 input problems: 15 errors, 15 warnings"),
        "{}",
        logs.stdout()
    );

    // `ferry show` counts them by category and lists the first 20 with file and line.
    let shown = sb.ferry(&["show", &id.to_string()]);
    shown.assert_code(0);
    let text = shown.stdout();
    for needle in [
        "Problems reported by the job:",
        "15  Invalid value (error)",
        "15  Unknown school (warning)",
        "First 20 of 30:",
        "error Invalid value: STUDENTS.txt:2 BirthDate=",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    assert!(!text.contains(SECRET), "{text}");
    let json = sb.show(id);
    assert_eq!(json["problems"]["first"].as_array().map(Vec::len), Some(20));
    assert_eq!(json["problems"]["counts"][0]["count"], 15);
    assert_eq!(json["problems"]["first"][0]["file"], "STUDENTS.txt");
    assert_eq!(json["problems"]["first"][0]["line"], 2);

    if backend == Backend::Sqlite {
        let db = std::fs::read(sb.path().join("ferry.db")).unwrap_or_default();
        let wal = std::fs::read(sb.path().join("ferry.db-wal")).unwrap_or_default();
        let needle = SECRET.as_bytes();
        assert!(
            !db.windows(needle.len()).any(|w| w == needle)
                && !wal.windows(needle.len()).any(|w| w == needle),
            "the secret reached the store file"
        );
    }
}

#[test]
fn problems_are_recorded_with_file_line_field_and_value_sqlite() {
    problems_are_recorded_with_file_line_field_and_value(Backend::Sqlite);
}

#[test]
fn problems_are_recorded_with_file_line_field_and_value_postgres() {
    problems_are_recorded_with_file_line_field_and_value(Backend::Postgres);
}
