//! The florida-peer job through the real binary, on a SQLite SIS and a PostgreSQL SIS: a full
//! import checked row by row against the mapping rules (re-stated here from the seed, not
//! taken from the job), a second run that changes nothing, dry runs, malformed files that fail
//! without touching the SIS, the settings, and a worker killed while its transaction waits.
//!
//! Input comes from `ferry-peer-generator` (the sample's 40 students, seed 1): its summary names
//! the students playing each edge case, so the assertions follow the data, not magic ids.
#![expect(
    clippy::disallowed_methods,
    reason = "the killed-worker test polls PostgreSQL and a child process from a plain thread"
)]

use ferry_peer_generator::{EdgeCase, GenOptions, GenSummary, SIS_DATA_FILE, generate};
use ferry_tests::sis::SisDb;
use ferry_tests::{Backend, Sandbox};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUN_DATE: &str = "2026-01-15";
const SCHOOL_YEAR: i64 = 2025;

/// The single-valued student fields, in the order the job reports them.
const FIELDS: [&str; 10] = [
    "custom_873",
    "custom_940",
    "custom_256",
    "custom_863",
    "custom_878",
    "custom_879",
    "custom_200000272",
    "custom_200000273",
    "custom_200000274",
    "custom_200000293",
];

/// Date fields are never blanked.
const DATE_FIELDS: [&str; 3] = ["custom_873", "custom_940", "custom_200000274"];

/// Plan sources in priority order: file, start (orders rows), end, ESY column.
const PLAN_SOURCES: [(&str, &str, &str, Option<&str>); 3] = [
    (
        "ActiveIEPs.csv",
        "iep_start_date",
        "iep_end_date",
        Some("esy_services"),
    ),
    ("ActiveEPs.csv", "ep_start_date", "ep_end_date", None),
    ("ActiveSPs.csv", "meeting_date", "duration_date", None),
];

const LRE_FIELDS: [(&str, &str); 3] = [
    ("setting", "custom_863"),
    ("total_time", "custom_878"),
    ("time_non_disabled_peers", "custom_879"),
];

const MATRIX_FIELDS: [(&str, &str); 4] = [
    ("total_ratings", "custom_200000272"),
    ("cost_factor", "custom_200000273"),
    ("date_completed", "custom_200000274"),
    ("fefp_number", "custom_200000293"),
];

/// A log field as the seed maps it: id, file, the columns of LOG_FIELD1..6, and the end-date
/// column `exclude_expired_accommodations` looks at.
struct LogMap {
    field_id: i64,
    file: &'static str,
    columns: [Option<&'static str>; 6],
    expires_by: Option<&'static str>,
}

const LOGS: [LogMap; 7] = [
    LogMap {
        field_id: 200000261,
        file: "IEPClassroomAccommodations.csv",
        columns: [
            Some("accommodation_type"),
            Some("accommodation"),
            Some("duration_date"),
            Some("frequency"),
            Some("location"),
            Some("initiation_date"),
        ],
        expires_by: Some("duration_date"),
    },
    LogMap {
        field_id: 200000262,
        file: "IEPAssessmentAccommodations.csv",
        columns: [
            Some("accommodation_type"),
            Some("iep_end_date"),
            Some("accommodation"),
            None,
            None,
            None,
        ],
        expires_by: Some("iep_end_date"),
    },
    LogMap {
        field_id: 200000263,
        file: "Sec504PlansGeneralClassroomAcc-Services.csv",
        columns: [
            Some("area_of_concern"),
            Some("persons_responsible"),
            Some("temp_plan_end_date"),
            Some("accommodation"),
            None,
            None,
        ],
        expires_by: Some("temp_plan_end_date"),
    },
    LogMap {
        field_id: 200000264,
        file: "Sec504AssessmentAccommodations.csv",
        columns: [
            Some("accommodation_type"),
            Some("temp_plan_end_date"),
            Some("accommodation"),
            None,
            None,
            None,
        ],
        expires_by: Some("temp_plan_end_date"),
    },
    LogMap {
        field_id: 200000275,
        file: "IEPESYService.csv",
        columns: [
            Some("initiation_date"),
            Some("duration_date"),
            Some("frequency"),
            Some("location"),
            Some("esy_service"),
            None,
        ],
        expires_by: None,
    },
    LogMap {
        field_id: 200000305,
        file: "IEPTransportationFTE.csv",
        columns: [
            Some("start_date"),
            Some("end_date"),
            Some("transportation_code"),
            Some("description"),
            None,
            None,
        ],
        expires_by: None,
    },
    LogMap {
        field_id: 200000311,
        file: "IEPESEService.csv",
        columns: [
            Some("initiation_date"),
            Some("duration_date"),
            Some("frequency"),
            Some("location"),
            Some("service"),
            None,
        ],
        expires_by: None,
    },
];

// ---------------------------------------------------------------------------------------------
// The PEER files as the test reads them.

/// One data row: its physical line and its values by column (trimmed, blank = `None`, dates ISO).
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    values: HashMap<String, Option<String>>,
}

impl Row {
    fn get(&self, column: &str) -> Option<&str> {
        self.values.get(column).and_then(|v| v.as_deref())
    }
}

/// Every generated file, read.
#[derive(Debug)]
struct Files {
    files: BTreeMap<String, Vec<Row>>,
}

fn is_date_column(column: &str) -> bool {
    column.ends_with("_date") || column == "date_completed"
}

/// M/D/YYYY (or ISO) as ISO.
fn iso(text: &str) -> String {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [m, d, y] => format!(
            "{y}-{:02}-{:02}",
            m.parse::<u32>().expect("month"),
            d.parse::<u32>().expect("day")
        ),
        _ => text.to_owned(),
    }
}

fn read_csv(path: &Path) -> Vec<Row> {
    let bytes = std::fs::read(path).expect("read csv");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    reader
        .records()
        .map(|record| {
            let record = record.expect("record");
            // The physical line, counted here: in a CRLF file the csv crate places a record's
            // start on the previous line's `\n`.
            let mut at =
                usize::try_from(record.position().expect("position").byte()).expect("byte");
            if bytes.get(at) == Some(&b'\n') {
                at += 1;
            }
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
            let values = header
                .iter()
                .zip(record.iter())
                .map(|(column, value)| {
                    let value = value.trim();
                    let value = (!value.is_empty()).then(|| {
                        if is_date_column(column) {
                            iso(value)
                        } else {
                            value.to_owned()
                        }
                    });
                    (column.clone(), value)
                })
                .collect();
            Row { line, values }
        })
        .collect()
}

impl Files {
    fn read(dir: &Path) -> Files {
        let files = ferry_peer_generator::FILES
            .iter()
            .map(|f| (f.file.to_owned(), read_csv(&dir.join(f.file))))
            .collect();
        Files { files }
    }

    fn rows(&self, file: &str) -> &[Row] {
        &self.files[file]
    }

    fn of(&self, file: &str, local_id: &str) -> Vec<&Row> {
        self.rows(file)
            .iter()
            .filter(|r| r.get("local_id") == Some(local_id))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The SIS as the test reads it.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Student {
    local_id: Option<String>,
    fields: BTreeMap<&'static str, Option<String>>,
}

type Students = BTreeMap<i64, Student>;

fn students(sis: &SisDb) -> Students {
    sis.rows(&format!(
        "SELECT student_id, custom_53, {} FROM students",
        FIELDS.join(", ")
    ))
    .into_iter()
    .map(|row| {
        let id = row[0].as_deref().expect("id").parse().expect("int");
        let fields = FIELDS
            .iter()
            .copied()
            .zip(row[2..].iter().cloned())
            .collect();
        (
            id,
            Student {
                local_id: row[1].clone(),
                fields,
            },
        )
    })
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    student_id: i64,
    field_id: i64,
    syear: i64,
    values: [Option<String>; 6],
}

/// What the import may change: students and log entries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    students: Students,
    logs: BTreeMap<i64, Entry>,
}

fn snap(sis: &SisDb) -> Snap {
    Snap {
        students: students(sis),
        logs: log_entries(sis),
    }
}

/// Log entries by id.
fn log_entries(sis: &SisDb) -> BTreeMap<i64, Entry> {
    sis.rows(
        "SELECT id, student_id, field_id, syear, log_field1, log_field2, log_field3, log_field4, \
         log_field5, log_field6 FROM custom_field_log_entries",
    )
    .into_iter()
    .map(|row| {
        let int = |i: usize| -> i64 { row[i].as_deref().expect("int").parse().expect("int") };
        (
            int(0),
            Entry {
                student_id: int(1),
                field_id: int(2),
                syear: int(3),
                values: std::array::from_fn(|i| row[4 + i].clone()),
            },
        )
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// The rules, as an independent model of what the import must leave behind.

#[derive(Debug, Clone, Default)]
struct Rules {
    allow_zero_or_null_updates: bool,
    exclude_expired_accommodations: bool,
    /// Empty = all.
    elements: Vec<&'static str>,
}

impl Rules {
    fn wants(&self, element: &str) -> bool {
        self.elements.is_empty() || self.elements.contains(&element)
    }
}

fn is_zero(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit()) && text.chars().all(|c| c == '0' || c == '.')
}

/// The row with the greatest `order` value (blank lowest), ties to the later line.
fn latest<'r>(rows: impl Iterator<Item = &'r Row>, order: &str) -> Option<&'r Row> {
    rows.max_by(|a, b| a.get(order).cmp(&b.get(order)).then(a.line.cmp(&b.line)))
}

/// What a student's fields must be after the import.
fn expected_fields(student: &Student, files: &Files, rules: &Rules) -> Student {
    let mut out = student.clone();
    let local = student.local_id.as_deref().unwrap_or_default();
    let mut set = |field: &'static str, new: Option<&str>| {
        if !rules.wants(field) {
            return;
        }
        let date = DATE_FIELDS.contains(&field);
        match new {
            None if date || !rules.allow_zero_or_null_updates => {}
            Some(v) if !date && is_zero(v) && !rules.allow_zero_or_null_updates => {}
            other => {
                out.fields.insert(field, other.map(str::to_owned));
            }
        }
    };
    for (file, start, end, esy) in PLAN_SOURCES {
        if let Some(row) = latest(files.of(file, local).into_iter(), start) {
            set("custom_873", row.get(start));
            set("custom_940", row.get(end));
            if let Some(esy) = esy {
                set("custom_256", row.get(esy));
            }
            break;
        }
    }
    let lre = files.of("IEPLRE.csv", local);
    let with_879 = lre
        .into_iter()
        .filter(|r| r.get("time_non_disabled_peers").is_some());
    if let Some(row) = latest(with_879, "initiation_date") {
        for (column, field) in LRE_FIELDS {
            set(field, row.get(column));
        }
    }
    if let Some(row) = latest(
        files.of("MatrixOfServices.csv", local).into_iter(),
        "date_completed",
    ) {
        for (column, field) in MATRIX_FIELDS {
            set(field, row.get(column));
        }
    }
    out
}

/// The distinct log values the files give a student for one log field.
fn expected_log_values(
    log: &LogMap,
    files: &Files,
    local: &str,
    rules: &Rules,
) -> BTreeSet<[Option<String>; 6]> {
    files
        .of(log.file, local)
        .into_iter()
        .filter(|row| {
            let expired = log
                .expires_by
                .filter(|_| rules.exclude_expired_accommodations)
                .and_then(|c| row.get(c))
                .is_some_and(|end| end < RUN_DATE);
            !expired
        })
        .map(|row| {
            std::array::from_fn(|i| log.columns[i].and_then(|c| row.get(c).map(str::to_owned)))
        })
        .collect()
}

/// Checks the whole SIS after an import against the rules, given the SIS before it.
fn assert_follows_rules(
    before: &Snap,
    after: &Snap,
    files: &Files,
    touched: &HashSet<i64>,
    rules: &Rules,
) {
    let (students_before, logs_before) = (&before.students, &before.logs);
    let (students_after, logs_after) = (&after.students, &after.logs);
    assert_eq!(
        students_before.keys().collect::<Vec<_>>(),
        students_after.keys().collect::<Vec<_>>()
    );
    for (id, student) in students_before {
        let expected = if touched.contains(id) {
            expected_fields(student, files, rules)
        } else {
            student.clone()
        };
        assert_eq!(
            students_after[id],
            expected,
            "student {id} (touched: {})",
            touched.contains(id)
        );
    }

    // Log entries: untouched students, other years and other fields keep theirs exactly (ids
    // included); a touched student's PEER entries for the year are the file's distinct rows,
    // identical old entries kept under their lowest id.
    let managed = |e: &Entry| {
        touched.contains(&e.student_id)
            && e.syear == SCHOOL_YEAR
            && LOGS
                .iter()
                .any(|l| l.field_id == e.field_id && rules.wants(&format!("log_{}", l.field_id)))
    };
    let kept_before: BTreeMap<i64, &Entry> = logs_before
        .iter()
        .filter(|(_, e)| !managed(e))
        .map(|(id, e)| (*id, e))
        .collect();
    let kept_after: BTreeMap<i64, &Entry> = logs_after
        .iter()
        .filter(|(_, e)| !managed(e))
        .map(|(id, e)| (*id, e))
        .collect();
    assert_eq!(kept_after, kept_before, "entries the import must not touch");

    let local_of: HashMap<i64, &str> = students_before
        .iter()
        .filter_map(|(id, s)| s.local_id.as_deref().map(|l| (*id, l)))
        .collect();
    for log in LOGS
        .iter()
        .filter(|l| rules.wants(&format!("log_{}", l.field_id)))
    {
        for student in touched {
            let expected = expected_log_values(log, files, local_of[student], rules);
            let mine = |logs: &BTreeMap<i64, Entry>| -> Vec<(i64, [Option<String>; 6])> {
                logs.iter()
                    .filter(|(_, e)| {
                        e.student_id == *student
                            && e.field_id == log.field_id
                            && e.syear == SCHOOL_YEAR
                    })
                    .map(|(id, e)| (*id, e.values.clone()))
                    .collect()
            };
            let after = mine(logs_after);
            let mut values: Vec<&[Option<String>; 6]> = after.iter().map(|(_, v)| v).collect();
            values.sort();
            assert_eq!(
                values,
                expected.iter().collect::<Vec<_>>(),
                "log {} of student {student}: exactly the file's distinct rows",
                log.field_id
            );
            // An old entry identical to a file row stays, under the lowest such id.
            for (id, old) in mine(logs_before) {
                let first_identical = mine(logs_before)
                    .iter()
                    .find(|(_, v)| *v == old)
                    .map(|(i, _)| *i);
                if expected.contains(&old) && first_identical == Some(id) {
                    assert!(
                        after.contains(&(id, old.clone())),
                        "log {} of student {student}: entry {id} {old:?} must be kept as it is",
                        log.field_id
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test world: a sandbox, a SIS loaded with the generated fixture, the generated files.

struct Peer {
    sb: Sandbox,
    sis: SisDb,
    /// Where the generator wrote the files (the `local` connection's folder).
    drop: PathBuf,
    summary: GenSummary,
    files: Files,
}

/// How the job is configured.
#[derive(Default)]
struct Job<'a> {
    /// Fetch the files from the drop folder through a `local` connection (else the test puts
    /// them in the inbox itself and skips the fetch's settle pause).
    fetch: bool,
    /// Lines for `[jobs.peer]` (e.g. `timeout = "4s"`).
    keys: &'a str,
    /// Lines for `[jobs.peer.settings]`.
    settings: &'a str,
}

impl Peer {
    fn new(backend: Backend) -> Peer {
        let sb = Sandbox::sqlite();
        let sis = SisDb::new(backend, &sb);
        let drop = sb.path().join("drop");
        let summary = generate(&drop, &GenOptions::new(40)).expect("generate");
        sis.batch(match backend {
            Backend::Sqlite => ferry_peer_generator::SIS_SCHEMA_SQLITE,
            Backend::Postgres => ferry_peer_generator::SIS_SCHEMA_POSTGRES,
        });
        sis.batch(&std::fs::read_to_string(drop.join(SIS_DATA_FILE)).expect("sis data"));
        let files = Files::read(&drop);
        Peer {
            sb,
            sis,
            drop,
            summary,
            files,
        }
    }

    fn configure(&self, job: &Job<'_>) {
        let mut text = String::new();
        if job.fetch {
            text.push_str(&format!(
                "[connections.peer-samples]\nkind = \"local\"\npath = \"{}\"\n\n",
                self.drop.display()
            ));
        }
        text.push_str("[jobs.peer]\nplugin = \"florida-peer\"\n");
        if job.fetch {
            text.push_str("fetch = [{ connection = \"peer-samples\", pattern = \"*.csv\" }]\n");
        }
        text.push_str(job.keys);
        text.push_str(&format!(
            "\n[jobs.peer.settings]\ndistrict_id = \"13\"\nschool_year = {SCHOOL_YEAR}\n\
             target_database = \"{}\"\n{}\n",
            self.sis.url(),
            job.settings
        ));
        self.sb.config(&text);
    }

    fn inbox(&self) -> PathBuf {
        self.sb.path().join("work/jobs/peer/inbox")
    }

    /// Puts the generated files in the job's inbox (replacing whatever is there).
    fn stage(&self) {
        let inbox = self.inbox();
        let _ = std::fs::remove_dir_all(&inbox);
        std::fs::create_dir_all(&inbox).expect("inbox");
        for f in ferry_peer_generator::FILES {
            std::fs::copy(self.drop.join(f.file), inbox.join(f.file)).expect("copy");
        }
    }

    /// `ferry run peer --set run_date=… EXTRA`: the exit code and `ferry show --json`.
    fn run(&self, extra: &[&str]) -> (Option<i32>, Json) {
        let date = format!("run_date={RUN_DATE}");
        let mut args = vec!["run", "peer", "--set", &date];
        args.extend_from_slice(extra);
        let out = self.sb.ferry(&args);
        let id = self.sb.history()[0]["id"].as_i64().expect("run id");
        let show = self.sb.show(id);
        assert_eq!(show["job"], "peer");
        (
            out.code(),
            serde_json::json!({ "show": show, "stdout": out.stdout(), "stderr": out.stderr() }),
        )
    }

    /// Database ids of the students the generator says the import touches.
    fn touched(&self) -> HashSet<i64> {
        self.ids(&self.summary.touched)
    }

    fn ids(&self, local_ids: &[String]) -> HashSet<i64> {
        students(&self.sis)
            .into_iter()
            .filter(|(_, s)| s.local_id.as_ref().is_some_and(|l| local_ids.contains(l)))
            .map(|(id, _)| id)
            .collect()
    }

    /// The student ids of an edge case's local ids.
    fn hit(&self, case: EdgeCase) -> Vec<i64> {
        let all = students(&self.sis);
        self.summary
            .hits(case)
            .local_ids
            .iter()
            .filter_map(|l| {
                all.iter()
                    .find(|(_, s)| s.local_id.as_deref() == Some(l.as_str()))
                    .map(|(id, _)| *id)
            })
            .collect()
    }

    fn local_id(&self, student: i64) -> String {
        students(&self.sis)[&student]
            .local_id
            .clone()
            .expect("local id")
    }
}

/// The run's table stats as (table, action, rows).
fn stats(show: &Json) -> Vec<(String, String, i64)> {
    show["show"]["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["table"].as_str().expect("table").to_owned(),
                t["action"].as_str().expect("action").to_owned(),
                t["rows"].as_i64().expect("rows"),
            )
        })
        .collect()
}

fn context(show: &Json) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        serde_json::to_string_pretty(&show["show"]).unwrap_or_default(),
        show["stdout"].as_str().unwrap_or_default(),
        show["stderr"].as_str().unwrap_or_default()
    )
}

/// Every table the job writes, with what it reports: the fifteen background tables, ten fields,
/// seven log fields inserted and deleted.
fn expected_stat_names(rules: &Rules) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = ferry_peer_generator::FILES
        .iter()
        .map(|f| (f.table.to_owned(), "imported".to_owned()))
        .collect();
    for field in FIELDS.iter().filter(|f| rules.wants(f)) {
        names.push((format!("students.{field}"), "updated".to_owned()));
    }
    for log in LOGS
        .iter()
        .filter(|l| rules.wants(&format!("log_{}", l.field_id)))
    {
        for action in ["inserted", "deleted"] {
            names.push((
                format!("custom_field_log_entries.{}", log.field_id),
                action.to_owned(),
            ));
        }
    }
    names
}

/// The stats must list exactly the tables the rules say, and say what really changed.
fn assert_stats_are_true(
    show: &Json,
    rules: &Rules,
    summary: &GenSummary,
    before: &Snap,
    after: &Snap,
) {
    let stats = stats(show);
    let names: Vec<(String, String)> = stats
        .iter()
        .map(|(t, a, _)| (t.clone(), a.clone()))
        .collect();
    assert_eq!(names, expected_stat_names(rules), "{}", context(show));
    for (table, action, rows) in &stats {
        let expected = if let Some(file) = ferry_peer_generator::FILES
            .iter()
            .find(|f| f.table == table.as_str())
        {
            summary.rows(file.file).expect("rows") as i64
        } else if let Some(field) = table.strip_prefix("students.") {
            before
                .students
                .iter()
                .filter(|(id, s)| s.fields[field] != after.students[*id].fields[field])
                .count() as i64
        } else {
            let field: i64 = table
                .strip_prefix("custom_field_log_entries.")
                .expect("log stat")
                .parse()
                .expect("field id");
            let (from, to) = if action == "inserted" {
                (&after.logs, &before.logs)
            } else {
                (&before.logs, &after.logs)
            };
            from.iter()
                .filter(|(id, e)| e.field_id == field && !to.contains_key(*id))
                .count() as i64
        };
        assert_eq!(*rows, expected, "{table} {action}\n{}", context(show));
    }
}

fn problems(show: &Json) -> Vec<Json> {
    show["show"]["problems"]["first"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The SIS tables the import changes, as a dump without the background tables (whose ids a
/// re-import renews).
fn sis_state(sis: &SisDb) -> BTreeMap<String, Vec<String>> {
    sis.dump()
        .into_iter()
        .filter(|(t, _)| !t.starts_with("fl_peer_"))
        .collect()
}

/// Every fl_peer_* table holds exactly every row of its file, with district and year set.
fn assert_background_tables_hold_the_files(p: &Peer) {
    for f in ferry_peer_generator::FILES {
        // The stored columns: a read-only one (the 504 assessment file's
        // primary_exceptionality) is in the file but not the table.
        let columns = f.columns;
        let mut stored = p.sis.rows(&format!(
            "SELECT {} FROM {} WHERE district_id = '13' AND syear = 2025",
            columns.join(", "),
            f.table
        ));
        stored.sort();
        let mut expected: Vec<Vec<Option<String>>> = p
            .files
            .rows(f.file)
            .iter()
            .map(|r| {
                columns
                    .iter()
                    .map(|c| r.get(c).map(str::to_owned))
                    .collect()
            })
            .collect();
        expected.sort();
        assert_eq!(stored, expected, "{}", f.table);
        assert_eq!(
            p.sis.count(&format!("SELECT COUNT(*) FROM {}", f.table)),
            expected.len() as i64,
            "{}: nothing but the file's rows",
            f.table
        );
    }
}

/// Local ids that match no student are warnings naming file, line and id.
fn assert_unknown_local_ids_are_warnings(p: &Peer, after: &Snap, show: &Json) {
    let known: HashSet<String> = after
        .students
        .values()
        .filter_map(|s| s.local_id.clone())
        .collect();
    let mut unknown: Vec<(String, u64, String)> = Vec::new();
    for (file, rows) in &p.files.files {
        let mut seen = HashSet::new();
        for r in rows {
            if let Some(l) = r.get("local_id")
                && !known.contains(l)
                && seen.insert(l.to_owned())
            {
                unknown.push((file.clone(), r.line, l.to_owned()));
            }
        }
    }
    for id in &p.summary.hits(EdgeCase::NotInSis).local_ids {
        assert!(unknown.iter().any(|(_, _, l)| l == id), "{id}");
    }
    let counts = &show["show"]["problems"]["counts"];
    assert_eq!(counts.as_array().map(Vec::len), Some(1), "{counts}");
    assert_eq!(counts[0]["category"], "Unknown student");
    assert_eq!(counts[0]["count"], unknown.len() as i64);
    let listed = problems(show);
    assert_eq!(listed.len(), unknown.len().min(20));
    for problem in &listed {
        assert_eq!(problem["severity"], "warning");
        assert_eq!(problem["field"], "local_id");
        let found = (
            problem["file"].as_str().unwrap_or_default().to_owned(),
            problem["line"].as_u64().unwrap_or_default(),
            problem["value"].as_str().unwrap_or_default().to_owned(),
        );
        assert!(unknown.contains(&found), "{found:?} not in {unknown:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. A full import, then a second one that changes nothing.

fn full_import(backend: Backend) {
    let p = Peer::new(backend);
    p.configure(&Job {
        fetch: true,
        ..Job::default()
    });
    let touched = p.touched();
    assert_eq!(touched.len(), p.summary.touched.len());

    // Two identical entries for a row the file has: one is kept, the duplicate goes. An entry of
    // a field the job does not manage stays.
    let identical = p.hit(EdgeCase::ExistingLogsIdentical)[0];
    let identical_local = p.local_id(identical);
    let row = &p.files.of("IEPESEService.csv", &identical_local)[0];
    let values: Vec<String> = LOGS[6]
        .columns
        .iter()
        .map(|c| {
            c.and_then(|c| row.get(c)).map_or("NULL".to_owned(), |v| {
                format!("'{}'", v.replace('\'', "''"))
            })
        })
        .collect();
    p.sis.batch(&format!(
        "INSERT INTO custom_field_log_entries (student_id, field_id, syear, log_field1, \
         log_field2, log_field3, log_field4, log_field5, log_field6) VALUES \
         ({identical}, 200000311, 2025, {v}), ({identical}, 200000311, 2025, {v}), \
         ({identical}, 100, 2025, 'not a PEER field', NULL, NULL, NULL, NULL, NULL)",
        v = values.join(", ")
    ));

    let before = snap(&p.sis);
    let (code, show) = p.run(&[]);
    assert_eq!(code, Some(0), "{}", context(&show));
    assert_eq!(show["show"]["status"], "warning", "{}", context(&show));
    let after = snap(&p.sis);
    let rules = Rules::default();
    assert_follows_rules(&before, &after, &p.files, &touched, &rules);
    assert_stats_are_true(&show, &rules, &p.summary, &before, &after);

    assert_background_tables_hold_the_files(&p);

    // A handful of rules, spelled out.
    let s = |id: i64, field: &str| after.students[&id].fields[field].clone();
    let was = |id: i64, field: &str| before.students[&id].fields[field].clone();
    // ActiveIEPs wins over ActiveEPs: the plan date is the latest IEP's start.
    let iep_and_ep: Vec<i64> = p
        .hit(EdgeCase::MultiplePlans)
        .into_iter()
        .filter(|id| {
            let l = p.local_id(*id);
            !p.files.of("ActiveIEPs.csv", &l).is_empty()
                && !p.files.of("ActiveEPs.csv", &l).is_empty()
        })
        .collect();
    assert!(!iep_and_ep.is_empty());
    for id in iep_and_ep {
        let l = p.local_id(id);
        let iep = p.files.of("ActiveIEPs.csv", &l);
        let newest = iep.iter().filter_map(|r| r.get("iep_start_date")).max();
        assert_eq!(s(id, "custom_873").as_deref(), newest, "student {id}");
        let ep_starts: Vec<&str> = p
            .files
            .of("ActiveEPs.csv", &l)
            .iter()
            .filter_map(|r| r.get("ep_start_date"))
            .collect();
        assert!(
            !ep_starts.contains(&newest.unwrap_or_default()),
            "student {id}: test data"
        );
    }
    // The winning row's blank end date and ESY are not taken from an older row; the old values stay.
    for id in p.hit(EdgeCase::BlankSingleValues) {
        assert_eq!(s(id, "custom_940"), was(id, "custom_940"), "student {id}");
        assert!(s(id, "custom_940").is_some(), "student {id}: test data");
        assert_eq!(s(id, "custom_256"), was(id, "custom_256"), "student {id}");
    }
    // LRE: a blank 879 disqualifies the row; with no other row the old values stay.
    for id in p.hit(EdgeCase::Blank879Only) {
        for field in ["custom_863", "custom_878", "custom_879"] {
            assert_eq!(s(id, field), was(id, field), "student {id} {field}");
        }
    }
    for id in p.hit(EdgeCase::Blank879Latest) {
        let l = p.local_id(id);
        let lre = p.files.of("IEPLRE.csv", &l);
        let newest = latest(lre.iter().copied(), "initiation_date").expect("rows");
        assert_eq!(newest.get("time_non_disabled_peers"), None, "test data");
        let with_879 = lre
            .iter()
            .find(|r| r.get("time_non_disabled_peers").is_some())
            .expect("an older row with 879");
        assert_eq!(
            s(id, "custom_879").as_deref(),
            with_879.get("time_non_disabled_peers")
        );
        assert_eq!(s(id, "custom_863").as_deref(), with_879.get("setting"));
    }
    // The matrix: the latest date_completed.
    for id in p.hit(EdgeCase::SeveralRowsPerStudent) {
        let l = p.local_id(id);
        let matrix = p.files.of("MatrixOfServices.csv", &l);
        if let Some(newest) = latest(matrix.iter().copied(), "date_completed")
            && newest.get("total_ratings").is_some_and(|v| !is_zero(v))
        {
            assert_eq!(
                s(id, "custom_200000274").as_deref(),
                newest.get("date_completed")
            );
            assert_eq!(
                s(id, "custom_200000272").as_deref(),
                newest.get("total_ratings")
            );
        }
    }
    // Zeros are not written by default.
    for id in p.hit(EdgeCase::ZeroValues) {
        for field in [
            "custom_200000272",
            "custom_200000273",
            "custom_200000293",
            "custom_878",
            "custom_879",
        ] {
            if let Some(v) = s(id, field) {
                assert!(
                    !is_zero(&v) || was(id, field) == Some(v.clone()),
                    "student {id} {field} = {v}"
                );
            }
        }
    }
    // Excluded schools and inactive students: nothing of theirs changes.
    for case in [
        EdgeCase::ExcludedSchool,
        EdgeCase::InactiveEnded,
        EdgeCase::InactiveNotStarted,
        EdgeCase::InactiveOtherYear,
        EdgeCase::TwoEnrollmentsLatestExcluded,
    ] {
        let ids = p.hit(case);
        assert!(!ids.is_empty(), "{case:?}");
        for id in ids {
            assert!(!touched.contains(&id));
            assert_eq!(
                after.students[&id], before.students[&id],
                "{case:?} student {id}"
            );
            let theirs = |logs: &BTreeMap<i64, Entry>| -> Vec<(i64, Entry)> {
                logs.iter()
                    .filter(|(_, e)| e.student_id == id)
                    .map(|(i, e)| (*i, e.clone()))
                    .collect()
            };
            assert!(
                !theirs(&before.logs).is_empty(),
                "test data: {case:?} has stale entries"
            );
            assert_eq!(
                theirs(&after.logs),
                theirs(&before.logs),
                "{case:?} student {id}"
            );
            assert!(
                after.students[&id].fields["custom_873"].is_some(),
                "test data: stale values to keep"
            );
        }
    }
    // Log entries: the duplicate collapsed, the stale deleted, other years kept.
    let ese = |logs: &BTreeMap<i64, Entry>| -> Vec<i64> {
        logs.iter()
            .filter(|(_, e)| {
                e.student_id == identical && e.field_id == 200000311 && e.syear == 2025
            })
            .map(|(i, _)| *i)
            .collect()
    };
    let mine_after = ese(&after.logs);
    let dup_ids: Vec<i64> = before
        .logs
        .iter()
        .filter(|(_, e)| e.student_id == identical && e.field_id == 200000311)
        .filter(|(_, e)| {
            e.values[0].as_deref() == row.get("initiation_date")
                && e.values[4].as_deref() == row.get("service")
        })
        .map(|(i, _)| *i)
        .collect();
    assert!(dup_ids.len() >= 2, "test data: {dup_ids:?}");
    assert!(
        mine_after.contains(&dup_ids[0]),
        "the first identical entry is kept"
    );
    for dup in &dup_ids[1..] {
        assert!(!mine_after.contains(dup), "duplicate {dup} deleted");
    }
    assert!(
        after
            .logs
            .values()
            .any(|e| e.student_id == identical && e.field_id == 100),
        "other fields are not the job's"
    );
    for id in p.hit(EdgeCase::ExistingLogsStale) {
        let stale = before
            .logs
            .iter()
            .filter(|(_, e)| {
                e.student_id == id
                    && e.syear == 2025
                    && e.values.iter().flatten().any(|v| v.contains("old plan"))
            })
            .count();
        assert!(stale > 0, "test data: stale entries of {id}");
        assert!(
            !after.logs.values().any(|e| e.student_id == id
                && e.syear == 2025
                && e.values.iter().flatten().any(|v| v.contains("old plan"))),
            "stale entries of {id} deleted"
        );
    }
    for id in p.hit(EdgeCase::DuplicateRows) {
        let l = p.local_id(id);
        let rows = p.files.of("IEPESEService.csv", &l).len();
        let entries = after
            .logs
            .values()
            .filter(|e| e.student_id == id && e.field_id == 200000311 && e.syear == 2025)
            .count();
        assert!(
            entries < rows,
            "student {id}: the repeated row gives one entry"
        );
    }
    let other_years = |logs: &BTreeMap<i64, Entry>| -> Vec<(i64, Entry)> {
        logs.iter()
            .filter(|(_, e)| e.syear != 2025)
            .map(|(i, e)| (*i, e.clone()))
            .collect()
    };
    assert!(!other_years(&before.logs).is_empty());
    assert_eq!(other_years(&after.logs), other_years(&before.logs));
    for id in p.hit(EdgeCase::AbsentFromFiles) {
        assert!(touched.contains(&id));
        assert!(
            !after
                .logs
                .values()
                .any(|e| e.student_id == id && e.syear == 2025 && e.field_id != 100),
            "student {id} is in no file: its entries for the year go"
        );
    }

    assert_unknown_local_ids_are_warnings(&p, &after, &show);

    // Other districts' and years' background rows survive a re-import; ours are replaced.
    for f in ferry_peer_generator::FILES {
        p.sis.batch(&format!(
            "INSERT INTO {} (district_id, syear, local_id) VALUES ('99', 2025, 'other-district'), \
             ('13', 2024, 'other-year')",
            f.table
        ));
    }

    // The second run: nothing changes, every count is zero, every id stays.
    let state = sis_state(&p.sis);
    let (code, show) = p.run(&["--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&show));
    assert_eq!(show["show"]["status"], "warning");
    assert_eq!(sis_state(&p.sis), state, "the second run changed the SIS");
    for (table, action, rows) in stats(&show) {
        if action != "imported" {
            assert_eq!(rows, 0, "{table} {action}");
        }
    }
    for f in ferry_peer_generator::FILES {
        let count = |filter: &str| {
            p.sis
                .count(&format!("SELECT COUNT(*) FROM {} WHERE {filter}", f.table))
        };
        assert_eq!(
            count("district_id = '13' AND syear = 2025"),
            p.summary.rows(f.file).expect("rows") as i64,
            "{}",
            f.table
        );
        assert_eq!(
            count("district_id = '99' AND local_id = 'other-district'"),
            1
        );
        assert_eq!(count("syear = 2024 AND local_id = 'other-year'"), 1);
    }
}

#[test]
fn full_import_follows_the_rules_and_a_second_run_changes_nothing_sqlite() {
    full_import(Backend::Sqlite);
}

#[test]
fn full_import_follows_the_rules_and_a_second_run_changes_nothing_postgres() {
    full_import(Backend::Postgres);
}

// ---------------------------------------------------------------------------------------------
// 2. Dry runs.

fn dry_run(backend: Backend) {
    let p = Peer::new(backend);
    p.configure(&Job::default());
    p.stage();
    let dump = p.sis.dump();
    let (code, dry) = p.run(&["--set", "dry_run=true", "--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&dry));
    assert_eq!(dry["show"]["status"], "warning");
    assert_eq!(p.sis.dump(), dump, "a dry run left the SIS changed");
    assert!(
        dry["show"]["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("dry run: "),
        "{}",
        context(&dry)
    );

    let (code, real) = p.run(&["--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&real));
    assert_ne!(p.sis.dump(), dump);
    assert_eq!(
        stats(&dry),
        stats(&real),
        "a dry run reports what a real one does"
    );
    assert!(
        stats(&real)
            .iter()
            .any(|(t, _, rows)| t.starts_with("students.") && *rows > 0)
    );
    assert_eq!(
        dry["show"]["problems"]["counts"],
        real["show"]["problems"]["counts"]
    );

    // A dry run over an imported SIS: the background tables are rewritten, then rolled back.
    p.sis
        .batch("UPDATE students SET custom_873 = NULL, custom_879 = NULL");
    let dump = p.sis.dump();
    let (code, again) = p.run(&["--set", "dry_run=true", "--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&again));
    assert_eq!(p.sis.dump(), dump, "a dry run left the SIS changed");
    assert!(
        stats(&again)
            .iter()
            .any(|(t, _, rows)| t == "students.custom_873" && *rows > 0)
    );
}

#[test]
fn a_dry_run_reports_everything_and_keeps_nothing_sqlite() {
    dry_run(Backend::Sqlite);
}

#[test]
fn a_dry_run_reports_everything_and_keeps_nothing_postgres() {
    dry_run(Backend::Postgres);
}

// ---------------------------------------------------------------------------------------------
// 3. Malformed input.

/// Rewrites a staged file record by record (LF, minimal quoting) with `delimiter`, letting
/// `edit` change the header or a row (index 0 = first data row).
fn rewrite(path: &Path, delimiter: u8, edit: impl Fn(Option<usize>, &mut Vec<String>)) {
    let bytes = std::fs::read(path).expect("read");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    for (i, record) in reader.records().enumerate() {
        let mut fields: Vec<String> = record.expect("record").iter().map(str::to_owned).collect();
        edit(i.checked_sub(1), &mut fields);
        writer.write_record(&fields).expect("write");
    }
    std::fs::write(path, writer.into_inner().expect("flush")).expect("write file");
}

/// One malformed input: how to break the staged files, and what the problem must say.
struct Broken {
    name: &'static str,
    file: &'static str,
    category: &'static str,
    line: Option<u64>,
    field: Option<&'static str>,
    value: Option<&'static str>,
    message: &'static str,
}

fn malformed(backend: Backend) {
    let p = Peer::new(backend);
    p.configure(&Job::default());
    p.stage();
    let (code, good) = p.run(&["--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&good));
    let dump = p.sis.dump();
    assert!(dump.keys().any(|t| t.starts_with("fl_peer_")));

    let cases = [
        Broken {
            name: "missing file",
            file: "IEPLRE.csv",
            category: "Missing file",
            line: None,
            field: None,
            value: None,
            message: "not in the inbox",
        },
        Broken {
            name: "missing column",
            file: "ActiveEPs.csv",
            category: "Missing column",
            line: Some(1),
            field: Some("ep_end_date"),
            value: None,
            message: "missing column ep_end_date",
        },
        Broken {
            name: "bad date",
            file: "IEPESEService.csv",
            category: "Invalid date",
            line: Some(4),
            field: Some("initiation_date"),
            value: Some("13/45/2025"),
            message: "is not a date",
        },
        Broken {
            name: "truncated file",
            file: "IEPSuppAidsServices.csv",
            category: "Malformed row",
            line: None, // the last row's line, checked below
            field: None,
            value: None,
            message: "fields but the header has",
        },
        Broken {
            name: "wrong delimiter",
            file: "PEERStudentInfo.csv",
            category: "Missing column",
            line: Some(1),
            field: None,
            value: None,
            message: "separated by tabs",
        },
    ];
    for case in cases {
        p.stage();
        let path = p.inbox().join(case.file);
        let mut line = case.line;
        match case.name {
            "missing file" => std::fs::remove_file(&path).expect("remove"),
            "missing column" => rewrite(&path, b',', |row, fields| {
                if row.is_none() {
                    for f in fields.iter_mut().filter(|f| *f == "ep_end_date") {
                        *f = "ep_finish".to_owned();
                    }
                }
            }),
            "bad date" => {
                rewrite(&path, b',', |row, fields| {
                    if row == Some(2) {
                        // initiation_date is the third column of IEPESEService.csv.
                        fields[2] = "13/45/2025".to_owned();
                    }
                });
                let header = std::fs::read_to_string(&path).expect("read");
                assert!(
                    header.starts_with("duration_date,frequency,initiation_date,"),
                    "{header}"
                );
            }
            "truncated file" => {
                let text = std::fs::read_to_string(&path).expect("read");
                let body = text.trim_end_matches(['\r', '\n']);
                let last_start = body.rfind('\n').expect("rows") + 1;
                let first_comma = last_start + body[last_start..].find(',').expect("comma");
                line = Some(body[..last_start].matches('\n').count() as u64 + 1);
                std::fs::write(&path, &body[..=first_comma]).expect("truncate");
            }
            "wrong delimiter" => rewrite(&path, b'\t', |_, _| {}),
            other => unreachable!("{other}"),
        }
        let (code, bad) = p.run(&["--no-fetch"]);
        let ctx = format!("{}: {}", case.name, context(&bad));
        assert_eq!(code, Some(1), "{ctx}");
        assert_eq!(bad["show"]["status"], "failed", "{ctx}");
        let errors: Vec<Json> = problems(&bad)
            .into_iter()
            .filter(|p| p["severity"] == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{ctx}");
        let problem = &errors[0];
        assert_eq!(problem["file"], case.file, "{ctx}");
        assert_eq!(problem["category"], case.category, "{ctx}");
        assert_eq!(problem["line"].as_u64(), line, "{ctx}");
        if let Some(field) = case.field {
            assert_eq!(problem["field"], field, "{ctx}");
        }
        if let Some(value) = case.value {
            assert_eq!(problem["value"], value, "{ctx}");
        }
        assert!(
            problem["message"]
                .as_str()
                .unwrap_or_default()
                .contains(case.message),
            "{ctx}"
        );
        assert!(stats(&bad).is_empty(), "nothing imported: {ctx}");
        assert_eq!(p.sis.dump(), dump, "{}: the SIS changed", case.name);
    }
}

#[test]
fn malformed_files_fail_the_run_by_name_and_change_nothing_sqlite() {
    malformed(Backend::Sqlite);
}

#[test]
fn malformed_files_fail_the_run_by_name_and_change_nothing_postgres() {
    malformed(Backend::Postgres);
}

// ---------------------------------------------------------------------------------------------
// 4. Settings.

/// One run with `settings`, checked against the rules.
fn run_with(backend: Backend, settings: &str, rules: &Rules) -> (Peer, Json, Snap, Snap) {
    let p = Peer::new(backend);
    p.configure(&Job {
        settings,
        ..Job::default()
    });
    p.stage();
    let before = snap(&p.sis);
    let (code, show) = p.run(&["--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&show));
    let after = snap(&p.sis);
    assert_follows_rules(&before, &after, &p.files, &p.touched(), rules);
    assert_stats_are_true(&show, rules, &p.summary, &before, &after);
    (p, show, before, after)
}

fn zero_or_null_updates(backend: Backend) {
    let rules = Rules {
        allow_zero_or_null_updates: true,
        ..Rules::default()
    };
    let (p, _, before, after) = run_with(backend, "allow_zero_or_null_updates = true", &rules);
    let (before, after) = (before.students, after.students);
    // Zeros are written, as the file has them.
    let zeros = p.hit(EdgeCase::ZeroValues);
    assert!(!zeros.is_empty());
    let mut written = 0;
    for id in zeros {
        for field in FIELDS {
            if let Some(v) = &after[&id].fields[field]
                && is_zero(v)
            {
                written += 1;
            }
        }
    }
    assert!(written >= 3, "zeros written: {written}");
    // A blank in the winning row blanks the field, except a date.
    for id in p.hit(EdgeCase::BlankSingleValues) {
        assert!(before[&id].fields["custom_256"].is_some(), "test data");
        assert_eq!(after[&id].fields["custom_256"], None, "student {id}");
        assert_eq!(
            after[&id].fields["custom_940"], before[&id].fields["custom_940"],
            "a date is never blanked"
        );
    }
}

#[test]
fn zero_or_null_updates_write_zeros_and_blanks_but_never_blank_a_date_sqlite() {
    zero_or_null_updates(Backend::Sqlite);
}

#[test]
fn zero_or_null_updates_write_zeros_and_blanks_but_never_blank_a_date_postgres() {
    zero_or_null_updates(Backend::Postgres);
}

fn expired_accommodations(backend: Backend) {
    let rules = Rules {
        exclude_expired_accommodations: true,
        ..Rules::default()
    };
    let (p, _, _, after) = run_with(backend, "exclude_expired_accommodations = true", &rules);
    let logs = after.logs;
    let accommodation_logs = [200000261, 200000262, 200000263, 200000264];
    let mine = |id: i64| -> Vec<&Entry> {
        logs.values()
            .filter(|e| {
                e.student_id == id && e.syear == 2025 && accommodation_logs.contains(&e.field_id)
            })
            .collect()
    };
    for id in p.hit(EdgeCase::ExpiredAccommodations) {
        let l = p.local_id(id);
        let expired_in_files = LOGS[..4]
            .iter()
            .flat_map(|log| {
                p.files
                    .of(log.file, &l)
                    .into_iter()
                    .map(|r| r.get(log.expires_by.unwrap_or_default()))
            })
            .filter(|end| end.is_some_and(|e| e < RUN_DATE))
            .count();
        assert!(expired_in_files > 0, "test data for {id}");
        for e in mine(id) {
            let end = LOGS
                .iter()
                .find(|l| l.field_id == e.field_id)
                .and_then(|log| {
                    let at = log.columns.iter().position(|c| *c == log.expires_by)?;
                    e.values[at].clone()
                });
            assert!(
                end.is_none_or(|end| end.as_str() >= RUN_DATE),
                "student {id}: {e:?}"
            );
        }
    }
    for id in p.hit(EdgeCase::AccommodationEndsOnRunDate) {
        assert!(
            mine(id)
                .iter()
                .any(|e| e.values.iter().flatten().any(|v| v == RUN_DATE)),
            "student {id}: an accommodation ending on the run date is not expired"
        );
    }
    for id in p.hit(EdgeCase::BlankEndDates) {
        assert!(
            !mine(id).is_empty(),
            "student {id}: a blank end date is not expired"
        );
    }
}

#[test]
fn expired_accommodations_are_left_out_when_asked_sqlite() {
    expired_accommodations(Backend::Sqlite);
}

#[test]
fn expired_accommodations_are_left_out_when_asked_postgres() {
    expired_accommodations(Backend::Postgres);
}

fn elements(backend: Backend) {
    let rules = Rules {
        elements: vec!["custom_873", "log_200000261"],
        ..Rules::default()
    };
    let (_, show, before, after) = run_with(
        backend,
        "elements = [\"custom_873\", \"log_200000261\"]",
        &rules,
    );
    let (before, logs_before, after, logs_after) =
        (before.students, before.logs, after.students, after.logs);
    // The model already holds every other field and log at its old value; say it plainly too.
    for (id, s) in &before {
        for field in FIELDS.iter().filter(|f| **f != "custom_873") {
            assert_eq!(
                after[id].fields[field], s.fields[field],
                "student {id} {field}"
            );
        }
    }
    let others = |logs: &BTreeMap<i64, Entry>| -> Vec<(i64, Entry)> {
        logs.iter()
            .filter(|(_, e)| e.field_id != 200000261)
            .map(|(i, e)| (*i, e.clone()))
            .collect()
    };
    assert_eq!(others(&logs_after), others(&logs_before));
    let changed = |name: &str| {
        stats(&show)
            .iter()
            .any(|(t, a, rows)| t == name && a != "deleted" && *rows > 0)
    };
    assert!(changed("students.custom_873"));
    assert!(changed("custom_field_log_entries.200000261"));
}

#[test]
fn elements_limit_the_import_to_the_named_fields_sqlite() {
    elements(Backend::Sqlite);
}

#[test]
fn elements_limit_the_import_to_the_named_fields_postgres() {
    elements(Backend::Postgres);
}

#[test]
fn an_unknown_element_is_refused_by_check_with_file_and_line() {
    let sb = Sandbox::sqlite();
    let sis = SisDb::sqlite(&sb);
    sb.config(&format!(
        "[jobs.peer]\nplugin = \"florida-peer\"\n[jobs.peer.settings]\ndistrict_id = \"13\"\n\
         school_year = 2025\ntarget_database = \"{}\"\nelements = [\"custom_873\", \"custom_9999\"]\n",
        sis.url()
    ));
    let config = std::fs::read_to_string(sb.config_path()).expect("config");
    let line = config
        .lines()
        .position(|l| l.starts_with("elements"))
        .expect("elements line")
        + 1;
    let run = sb.ferry(&["check"]);
    run.assert_code(2);
    let err = run.stderr();
    let file = sb.config_path().display().to_string();
    assert!(err.contains(&format!("{file}:{line}:")), "{err}");
    assert!(err.contains("custom_9999"), "{err}");
    assert!(sis.tables().is_empty(), "check never touches the SIS");
}

fn column_aliases(backend: Backend) {
    let p = Peer::new(backend);
    p.configure(&Job {
        settings: "column_aliases.\"ActiveIEPs.csv\" = { \"Amendment Date\" = \"ammendment_date\" }",
        ..Job::default()
    });
    p.stage();
    let path = p.inbox().join("ActiveIEPs.csv");
    let text = std::fs::read_to_string(&path).expect("read");
    let header_end = text.find('\n').expect("header");
    assert!(
        text[..header_end].contains(",ammendment_date,"),
        "test data"
    );
    let renamed = format!(
        "{}{}",
        text[..header_end].replacen("ammendment_date", "Amendment Date", 1),
        &text[header_end..]
    );
    std::fs::write(&path, renamed).expect("write");
    // An extra column is ignored, with a warning.
    rewrite(&p.inbox().join("IEPLRE.csv"), b',', |row, fields| {
        fields.push(if row.is_none() { "Notes" } else { "see file" }.to_owned());
    });

    let (code, show) = p.run(&["--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&show));
    let extra: Vec<Json> = problems(&show)
        .into_iter()
        .filter(|p| p["category"] != "Unknown student")
        .collect();
    assert_eq!(extra.len(), 1, "{}", context(&show));
    assert_eq!(
        (
            &extra[0]["severity"],
            &extra[0]["category"],
            &extra[0]["file"],
            &extra[0]["line"],
            &extra[0]["field"]
        ),
        (
            &Json::from("warning"),
            &Json::from("Extra column"),
            &Json::from("IEPLRE.csv"),
            &Json::from(1),
            &Json::from("Notes")
        ),
        "{}",
        context(&show)
    );
    assert_eq!(
        p.sis.count("SELECT COUNT(*) FROM fl_peer_iep_lre"),
        p.summary.rows("IEPLRE.csv").expect("rows") as i64
    );
    let mut stored = p
        .sis
        .rows("SELECT local_id, ammendment_date FROM fl_peer_active_ieps");
    stored.sort();
    let mut expected: Vec<Vec<Option<String>>> = p
        .files
        .rows("ActiveIEPs.csv")
        .iter()
        .map(|r| {
            vec![
                r.get("local_id").map(str::to_owned),
                r.get("ammendment_date").map(str::to_owned),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(stored, expected);
    assert!(expected.iter().any(|r| r[1].is_some()), "test data");
}

#[test]
fn column_aliases_map_a_renamed_header_and_extra_columns_warn_sqlite() {
    column_aliases(Backend::Sqlite);
}

#[test]
fn column_aliases_map_a_renamed_header_and_extra_columns_warn_postgres() {
    column_aliases(Backend::Postgres);
}

// ---------------------------------------------------------------------------------------------
// 5. A worker killed mid-apply leaves the SIS as it was.

#[test]
fn a_worker_killed_mid_apply_leaves_the_sis_as_it_was_postgres() {
    let p = Peer::new(Backend::Postgres);
    p.configure(&Job::default());
    p.stage();
    let (code, first) = p.run(&["--no-fetch"]);
    assert_eq!(code, Some(0), "{}", context(&first));

    // The second import has work everywhere: zeros and blanks to write into students, expired
    // accommodations to delete.
    p.configure(&Job {
        keys: "timeout = \"4s\"\n",
        settings: "allow_zero_or_null_updates = true\nexclude_expired_accommodations = true",
        ..Job::default()
    });
    let dump = p.sis.dump();

    // Readers may still read the log entries (the job's snapshot), but nobody may write them: the
    // import blocks at its first write there, after the background tables and the students.
    let mut holder = p.sis.connect();
    let mut lock = holder.transaction().expect("begin");
    lock.batch("LOCK TABLE custom_field_log_entries IN EXCLUSIVE MODE")
        .expect("lock");

    let date = format!("run_date={RUN_DATE}");
    let mut child =
        p.sb.spawn(&["run", "peer", "--set", &date, "--no-fetch"], "killed");
    let started = Instant::now();
    let waiting = loop {
        let rows = p.sis.rows(
            "SELECT CAST(l.pid AS BIGINT), a.query FROM pg_locks l \
             JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND l.relation = CAST('custom_field_log_entries' AS regclass)",
        );
        if let Some(row) = rows.first() {
            break (
                row[0].clone().expect("pid").parse::<i64>().expect("pid"),
                row[1].clone().unwrap_or_default(),
            );
        }
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the run ended before blocking: {}",
            p.sb.background_output()
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the import never blocked"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (pid, query) = waiting;
    assert!(
        query.contains("custom_field_log_entries"),
        "waiting in: {query}"
    );
    // Mid-apply: it already wrote the background tables and the students in its transaction.
    let held: Vec<String> = p
        .sis
        .rows(&format!(
            "SELECT CAST(c.relname AS TEXT) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE l.pid = {pid} AND l.granted AND l.mode = 'RowExclusiveLock'"
        ))
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    assert!(held.contains(&"students".to_owned()), "{held:?}");
    assert!(held.contains(&"fl_peer_active_ieps".to_owned()), "{held:?}");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "still running when caught waiting"
    );

    let code = ferry_tests::wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(code, Some(1), "{}", p.sb.background_output());
    let run = &p.sb.history()[0];
    assert_eq!(run["status"], "timed_out", "{run}");

    // The killed worker's backend notices its client is gone (ferry-sis sets
    // client_connection_check_interval) and rolls back even though the lock is still held, so
    // a killed import never keeps the SIS locked.
    let killed = Instant::now();
    while p.sis.count(&format!(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = {pid}"
    )) > 0
    {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the killed worker's backend lingers while the lock is held"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    lock.rollback().expect("release");
    drop(holder);
    assert_eq!(p.sis.dump(), dump, "the killed import left changes behind");
}
