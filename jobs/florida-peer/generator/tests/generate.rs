//! The generator's promises, checked on the files it writes: same seed → same bytes, the seed's
//! headers, every listed edge case really present for the listed students, the row target met,
//! and the SIS fixture loading into real SQLite and PostgreSQL databases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ferry_peer_generator::{
    EXCLUDED_SCHOOLS, EdgeCase, FILES, GenOptions, GenSummary, MIN_STUDENTS, SIS_DATA_FILE,
    SIS_SCHEMA_POSTGRES, SIS_SCHEMA_SQLITE, generate,
};
use sqlx::Connection;

/// One parsed CSV record: its physical line, raw text (without line end) and fields.
#[derive(Debug, Clone)]
struct Record {
    raw: String,
    fields: Vec<String>,
}

/// A parsed PEER file.
#[derive(Debug)]
struct Csv {
    bytes: Vec<u8>,
    header: Vec<String>,
    rows: Vec<Record>,
}

impl Csv {
    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    fn rows_of<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        let c = self.col("local_id");
        self.rows.iter().filter(move |r| r.fields[c] == local)
    }

    fn date_columns(&self) -> Vec<usize> {
        (0..self.header.len())
            .filter(|&i| self.header[i].ends_with("_date") || self.header[i] == "date_completed")
            .collect()
    }
}

/// A small RFC 4180 reader (quotes, doubled quotes, CRLF or LF, optional BOM).
fn read_csv(path: &Path) -> Csv {
    let bytes = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut raw = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            raw.push(c);
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    raw.push('"');
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                raw.push(c);
                in_quotes = true;
            }
            ',' => {
                raw.push(c);
                fields.push(std::mem::take(&mut field));
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push(Record {
                    raw: std::mem::take(&mut raw),
                    fields: std::mem::take(&mut fields),
                });
            }
            _ => {
                raw.push(c);
                field.push(c);
            }
        }
    }
    assert!(!in_quotes, "{}: unterminated quote", path.display());
    assert!(
        raw.is_empty() && field.is_empty(),
        "{}: last line has no line end",
        path.display()
    );
    let mut records = records.into_iter();
    let header = records.next().expect("a header").fields;
    Csv {
        bytes,
        header,
        rows: records.collect(),
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%Y"))
        .ok()
}

fn is_iso(s: &str) -> bool {
    s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-'
}

fn is_padded_us(s: &str) -> bool {
    s.len() == 10 && s.as_bytes()[2] == b'/' && s.as_bytes()[5] == b'/'
}

fn iso(s: &str) -> String {
    parse_date(s).unwrap().format("%Y-%m-%d").to_string()
}

fn is_zero(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '0' || c == '.') && s.contains('0')
}

/// All fifteen files of a generated directory, by name.
fn read_all(dir: &Path) -> BTreeMap<&'static str, Csv> {
    FILES
        .iter()
        .map(|f| (f.file, read_csv(&dir.join(f.file))))
        .collect()
}

fn gen_in(opts: &GenOptions) -> (tempfile::TempDir, GenSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path(), opts).unwrap();
    (dir, summary)
}

fn run_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
}

fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let opts = GenOptions::new(300);
    let (a, sa) = gen_in(&opts);
    let (b, sb) = gen_in(&opts);
    let fa = files_in(a.path());
    assert_eq!(fa.len(), 16, "15 CSV files and sis-data.sql");
    assert_eq!(fa, files_in(b.path()));
    assert_eq!(sa, sb);
    let (c, _) = gen_in(&GenOptions {
        seed: 2,
        ..opts.clone()
    });
    let fc = files_in(c.path());
    assert_ne!(
        fa["IEPClassroomAccommodations.csv"],
        fc["IEPClassroomAccommodations.csv"]
    );
    assert_ne!(fa[SIS_DATA_FILE], fc[SIS_DATA_FILE]);
}

#[test]
fn the_committed_sample_is_what_the_documented_command_writes() {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sample");
    let opts = GenOptions::new(40);
    assert_eq!(opts.seed, 1);
    assert_eq!(opts.district_id, "13");
    assert_eq!(opts.school_year, 2025);
    assert_eq!(opts.run_date, run_date());
    let (dir, _) = gen_in(&opts);
    let generated = files_in(dir.path());
    let committed: BTreeMap<String, Vec<u8>> = generated
        .keys()
        .map(|name| {
            (
                name.clone(),
                std::fs::read(sample.join(name)).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        generated, committed,
        "regenerate fixtures/sample with the command in fixtures/README.md"
    );
}

#[test]
fn every_file_has_the_seed_header_and_well_formed_rows() {
    let (dir, summary) = gen_in(&GenOptions::new(500));
    let files = read_all(dir.path());
    for (i, spec) in FILES.iter().enumerate() {
        let csv = &files[spec.file];
        assert_eq!(
            csv.header,
            spec.header(),
            "{}: header is the seed's columns in order",
            spec.file
        );
        assert_eq!(summary.files[i], (spec.file, csv.rows.len()));
        let dates = csv.date_columns();
        let local = csv.col("local_id");
        for row in &csv.rows {
            assert_eq!(
                row.fields.len(),
                csv.header.len(),
                "{}: {}",
                spec.file,
                row.raw
            );
            assert!(!row.fields[local].is_empty(), "{}: {}", spec.file, row.raw);
            for &d in &dates {
                let v = &row.fields[d];
                assert!(
                    v.is_empty() || parse_date(v).is_some(),
                    "{}: {} is not a date in {}",
                    spec.file,
                    csv.header[d],
                    row.raw
                );
            }
        }
    }
    // review_dates is text that holds dates; the 504 assessment file carries the temp-table
    // column too.
    assert_eq!(files["MatrixOfServices.csv"].date_columns().len(), 1);
    assert!(
        files["Sec504AssessmentAccommodations.csv"]
            .header
            .contains(&"primary_exceptionality".to_string())
    );
    assert!(
        files["ActiveIEPs.csv"]
            .header
            .contains(&"ammendment_date".to_string())
    );
    assert_eq!(
        summary.total_rows,
        summary.files.iter().map(|(_, n)| n).sum::<usize>()
    );
}

#[test]
fn too_few_students_or_a_run_date_outside_the_year_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let few = generate(dir.path(), &GenOptions::new(MIN_STUDENTS - 1)).unwrap_err();
    assert_eq!(few.kind(), std::io::ErrorKind::InvalidInput);
    assert!(few.to_string().contains(&MIN_STUDENTS.to_string()), "{few}");
    let late = GenOptions {
        run_date: NaiveDate::from_ymd_opt(2026, 8, 1).unwrap(),
        ..GenOptions::new(50)
    };
    assert_eq!(
        generate(dir.path(), &late).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert!(generate(dir.path(), &GenOptions::new(MIN_STUDENTS)).is_ok());
}

#[test]
fn the_row_target_is_met() {
    for (students, target) in [(2_000usize, 60_000usize), (1_000, 9_000), (400, 8_000)] {
        let opts = GenOptions {
            target_rows: Some(target),
            ..GenOptions::new(students)
        };
        let (_dir, summary) = gen_in(&opts);
        let ratio = summary.total_rows as f64 / target as f64;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{students} students, target {target}: {} rows",
            summary.total_rows
        );
    }
    // Without a target: about 11 rows per student.
    let (_dir, summary) = gen_in(&GenOptions::new(2_000));
    let per = summary.total_rows as f64 / 2_000.0;
    assert!((8.0..15.0).contains(&per), "{per} rows per student");
}

/// The SIS fixture loaded into an in-memory SQLite database.
async fn sqlite_with(dir: &Path) -> sqlx::SqliteConnection {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::raw_sql(SIS_SCHEMA_SQLITE)
        .execute(&mut conn)
        .await
        .unwrap();
    let data = std::fs::read_to_string(dir.join(SIS_DATA_FILE)).unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(data))
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn count(conn: &mut sqlx::SqliteConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

#[tokio::test]
async fn the_sis_fixture_loads_into_sqlite() {
    let opts = GenOptions {
        target_rows: Some(30_000),
        ..GenOptions::new(1_200)
    };
    let (dir, summary) = gen_in(&opts);
    let mut conn = sqlite_with(dir.path()).await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM students").await,
        1_200
    );
    assert_eq!(summary.students, 1_200);
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM student_enrollment").await as usize,
        summary.enrollments
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM custom_field_log_entries").await as usize,
        summary.log_entries
    );
    assert_eq!(
        count(&mut conn, "SELECT count(DISTINCT custom_53) FROM students").await,
        1_200,
        "local ids are unique"
    );
    // More than one INSERT per table: the statements are batched.
    let data = std::fs::read_to_string(dir.path().join(SIS_DATA_FILE)).unwrap();
    assert!(data.matches("INSERT INTO students ").count() >= 3);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn the_sis_fixture_loads_into_postgres() {
    let url = std::env::var("FERRY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let (dir, summary) = gen_in(&GenOptions::new(700));
    let schema = format!(
        "peer_gen_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA {schema}; SET search_path TO {schema}"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let data = std::fs::read_to_string(dir.path().join(SIS_DATA_FILE)).unwrap();
    let loaded = async {
        sqlx::raw_sql(SIS_SCHEMA_POSTGRES)
            .execute(&mut conn)
            .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(data))
            .execute(&mut conn)
            .await?;
        let students: i64 = sqlx::query_scalar("SELECT count(*) FROM students")
            .fetch_one(&mut conn)
            .await?;
        let logs: i64 = sqlx::query_scalar("SELECT count(*) FROM custom_field_log_entries")
            .fetch_one(&mut conn)
            .await?;
        let enrollments: i64 = sqlx::query_scalar("SELECT count(*) FROM student_enrollment")
            .fetch_one(&mut conn)
            .await?;
        // The identity column goes on after the loaded rows: the job's inserts never collide.
        let next: i64 = sqlx::query_scalar(
            "INSERT INTO custom_field_log_entries (student_id, field_id, syear) \
             VALUES (1, 200000261, 2025) RETURNING id",
        )
        .fetch_one(&mut conn)
        .await?;
        let dated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM student_enrollment WHERE start_date >= DATE '2024-08-01'",
        )
        .fetch_one(&mut conn)
        .await?;
        Ok::<_, sqlx::Error>((students, logs, enrollments, next, dated))
    }
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (students, logs, enrollments, next, dated) = loaded.unwrap();
    assert_eq!(students, 700);
    assert_eq!(logs as usize, summary.log_entries);
    assert_eq!(enrollments as usize, summary.enrollments);
    assert_eq!(dated, enrollments, "dates load as DATE values");
    assert!(next > logs, "identity {next} after {logs} loaded rows");
}

/// One student's SIS row, as text.
#[derive(Debug, sqlx::FromRow)]
struct StudentRow {
    student_id: i64,
    last_name: String,
    first_name: String,
    c873: Option<String>,
    c940: Option<String>,
    c256: Option<String>,
    c863: Option<String>,
    c878: Option<String>,
    c879: Option<String>,
    c272: Option<String>,
    c273: Option<String>,
    c274: Option<String>,
    c293: Option<String>,
}

async fn student(conn: &mut sqlx::SqliteConnection, local: &str) -> Option<StudentRow> {
    sqlx::query_as(
        "SELECT student_id, last_name, first_name, CAST(custom_873 AS TEXT) AS c873, \
         CAST(custom_940 AS TEXT) AS c940, custom_256 AS c256, custom_863 AS c863, \
         custom_878 AS c878, custom_879 AS c879, custom_200000272 AS c272, \
         custom_200000273 AS c273, CAST(custom_200000274 AS TEXT) AS c274, \
         custom_200000293 AS c293 FROM students WHERE custom_53 = ?",
    )
    .bind(local)
    .fetch_optional(conn)
    .await
    .unwrap()
}

/// (field_id, syear, log fields) of a student's log entries.
type Log = (i64, i64, Vec<Option<String>>);

/// One custom_field_log_entries row as selected.
#[derive(Debug, sqlx::FromRow)]
struct LogRow {
    field_id: i64,
    syear: i64,
    log_field1: Option<String>,
    log_field2: Option<String>,
    log_field3: Option<String>,
    log_field4: Option<String>,
    log_field5: Option<String>,
    log_field6: Option<String>,
}

async fn logs(conn: &mut sqlx::SqliteConnection, student_id: i64) -> Vec<Log> {
    let rows: Vec<LogRow> = sqlx::query_as(
        "SELECT field_id, syear, log_field1, log_field2, log_field3, log_field4, log_field5, \
             log_field6 FROM custom_field_log_entries WHERE student_id = ? ORDER BY id",
    )
    .bind(student_id)
    .fetch_all(conn)
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| {
            let fields = vec![
                r.log_field1,
                r.log_field2,
                r.log_field3,
                r.log_field4,
                r.log_field5,
                r.log_field6,
            ];
            (r.field_id, r.syear, fields)
        })
        .collect()
}

/// The log entries the files give a student (the seed's LOG_FIELDn mapping), dates as ISO.
fn file_logs(
    files: &BTreeMap<&'static str, Csv>,
    local: &str,
) -> BTreeSet<(i64, Vec<Option<String>>)> {
    let map: [(i64, &str, &[&str]); 7] = [
        (
            200000261,
            "IEPClassroomAccommodations.csv",
            &[
                "accommodation_type",
                "accommodation",
                "duration_date",
                "frequency",
                "location",
                "initiation_date",
            ],
        ),
        (
            200000262,
            "IEPAssessmentAccommodations.csv",
            &["accommodation_type", "iep_end_date", "accommodation"],
        ),
        (
            200000263,
            "Sec504PlansGeneralClassroomAcc-Services.csv",
            &[
                "area_of_concern",
                "persons_responsible",
                "temp_plan_end_date",
                "accommodation",
            ],
        ),
        (
            200000264,
            "Sec504AssessmentAccommodations.csv",
            &["accommodation_type", "temp_plan_end_date", "accommodation"],
        ),
        (
            200000275,
            "IEPESYService.csv",
            &[
                "initiation_date",
                "duration_date",
                "frequency",
                "location",
                "esy_service",
            ],
        ),
        (
            200000305,
            "IEPTransportationFTE.csv",
            &[
                "start_date",
                "end_date",
                "transportation_code",
                "description",
            ],
        ),
        (
            200000311,
            "IEPESEService.csv",
            &[
                "initiation_date",
                "duration_date",
                "frequency",
                "location",
                "service",
            ],
        ),
    ];
    let mut out = BTreeSet::new();
    for (field, file, columns) in map {
        let csv = &files[file];
        for row in csv.rows_of(local) {
            let mut cells: Vec<Option<String>> = columns
                .iter()
                .map(|c| {
                    let v = &row.fields[csv.col(c)];
                    Some(if c.ends_with("_date") && !v.is_empty() {
                        iso(v)
                    } else {
                        v.clone()
                    })
                })
                .collect();
            cells.resize(6, None);
            out.insert((field, cells));
        }
    }
    out
}

fn in_any_file(files: &BTreeMap<&'static str, Csv>, local: &str) -> bool {
    files
        .values()
        .any(|csv| csv.rows_of(local).next().is_some())
}

fn accommodation_ends<'a>(files: &'a BTreeMap<&'static str, Csv>, local: &'a str) -> Vec<String> {
    [
        ("IEPClassroomAccommodations.csv", "duration_date"),
        ("IEPAssessmentAccommodations.csv", "iep_end_date"),
        ("Sec504AssessmentAccommodations.csv", "temp_plan_end_date"),
        (
            "Sec504PlansGeneralClassroomAcc-Services.csv",
            "temp_plan_end_date",
        ),
    ]
    .iter()
    .flat_map(|(file, col)| {
        let csv = &files[file];
        let c = csv.col(col);
        csv.rows_of(local).map(move |r| r.fields[c].clone())
    })
    .collect()
}

/// What the files give the ten single-valued fields under the issue's rules (blank → None):
/// the plan row of ActiveIEPs over ActiveEPs over ActiveSPs with the latest start/meeting date
/// (873, 940, and 256 for an IEP); the IEPLRE row with the latest initiation_date among those
/// with a time_non_disabled_peers (863, 878, 879); the latest MatrixOfServices row (272, 273,
/// 274, 293).
fn winners(files: &BTreeMap<&'static str, Csv>, local: &str) -> [Option<String>; 10] {
    let latest = |file: &str, by: &str, only: Option<&str>| -> Option<Record> {
        let csv = &files[file];
        let c = csv.col(by);
        csv.rows_of(local)
            .filter(|r| only.is_none_or(|o| !r.fields[csv.col(o)].is_empty()))
            .max_by_key(|r| parse_date(&r.fields[c]))
            .cloned()
    };
    let value = |file: &str, row: &Option<Record>, col: &str| -> Option<String> {
        let csv = &files[file];
        let v = row.as_ref()?.fields[csv.col(col)].clone();
        if v.is_empty() {
            None
        } else if col.ends_with("_date") || col == "date_completed" {
            Some(iso(&v))
        } else {
            Some(v)
        }
    };
    let mut w: [Option<String>; 10] = Default::default();
    let plans = [
        ("ActiveIEPs.csv", "iep_start_date", "iep_end_date"),
        ("ActiveEPs.csv", "ep_start_date", "ep_end_date"),
        ("ActiveSPs.csv", "meeting_date", "duration_date"),
    ];
    for (file, start, end) in plans {
        let row = latest(file, start, None);
        if row.is_some() {
            w[0] = value(file, &row, start);
            w[1] = value(file, &row, end);
            if file == "ActiveIEPs.csv" {
                w[2] = value(file, &row, "esy_services");
            }
            break;
        }
    }
    let lre = latest(
        "IEPLRE.csv",
        "initiation_date",
        Some("time_non_disabled_peers"),
    );
    w[3] = value("IEPLRE.csv", &lre, "setting");
    w[4] = value("IEPLRE.csv", &lre, "total_time");
    w[5] = value("IEPLRE.csv", &lre, "time_non_disabled_peers");
    let mx = latest("MatrixOfServices.csv", "date_completed", None);
    for (i, col) in [
        "total_ratings",
        "cost_factor",
        "date_completed",
        "fefp_number",
    ]
    .iter()
    .enumerate()
    {
        w[6 + i] = value("MatrixOfServices.csv", &mx, col);
    }
    w
}

/// The issue's rule for "touched", evaluated in SQL on the loaded fixture.
async fn touched_in_db(conn: &mut sqlx::SqliteConnection) -> BTreeSet<String> {
    let excluded = EXCLUDED_SCHOOLS
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT s.custom_53 FROM students s
         WHERE EXISTS (SELECT 1 FROM student_enrollment e WHERE e.student_id = s.student_id
                       AND e.syear = 2025 AND e.start_date <= '2026-01-15'
                       AND (e.end_date IS NULL OR e.end_date >= '2026-01-15'))
           AND (SELECT e.school_id FROM student_enrollment e WHERE e.student_id = s.student_id
                AND e.syear = 2025 AND e.start_date <= '2026-01-15'
                ORDER BY e.start_date DESC, e.id ASC LIMIT 1) NOT IN ({excluded})"
    );
    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
        .unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn every_listed_edge_case_is_really_there() {
    // The sample's settings, with more students so random ones add to the designated ones.
    let (dir, summary) = gen_in(&GenOptions::new(600));
    let files = read_all(dir.path());
    let mut conn = sqlite_with(dir.path()).await;
    let run = run_date();
    let touched = touched_in_db(&mut conn).await;
    assert_eq!(
        touched,
        summary.touched.iter().cloned().collect::<BTreeSet<_>>(),
        "the summary's touched students follow the issue's rule"
    );

    for case in EdgeCase::ALL {
        let hits = summary.hits(case);
        assert_eq!(hits.case, case);
        if case.is_file_case() {
            assert!(!hits.files.is_empty(), "{case:?}");
        } else {
            assert!(!hits.local_ids.is_empty(), "{case:?} occurs");
        }
        for local in &hits.local_ids {
            let why = format!("{} {local}", case.name());
            let st = student(&mut conn, local).await;
            match case {
                EdgeCase::LeadingZeroLocalId => {
                    assert!(local.starts_with("00"), "{why}");
                    let stripped = local.trim_start_matches('0');
                    assert!(in_any_file(&files, stripped), "{why}");
                    assert!(student(&mut conn, stripped).await.is_none(), "{why}");
                    assert!(
                        summary
                            .hits(EdgeCase::NotInSis)
                            .local_ids
                            .contains(&stripped.to_string())
                    );
                }
                EdgeCase::ExcludedSchool
                | EdgeCase::InactiveEnded
                | EdgeCase::InactiveNotStarted
                | EdgeCase::InactiveOtherYear
                | EdgeCase::TwoEnrollmentsLatestExcluded => {
                    assert!(st.is_some() && !touched.contains(local), "{why}");
                    assert!(in_any_file(&files, local), "{why}");
                }
                EdgeCase::TwoEnrollmentsLatestCounts
                | EdgeCase::TwoEnrollmentsFutureIgnored
                | EdgeCase::EnrollmentTieLowestId => {
                    assert!(touched.contains(local), "{why}");
                    let sid = st.unwrap().student_id;
                    let schools: Vec<String> = sqlx::query_scalar(
                        "SELECT school_id FROM student_enrollment WHERE student_id = ? AND syear = 2025",
                    )
                    .bind(sid)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    assert_eq!(schools.len(), 2, "{why}");
                    assert!(
                        schools
                            .iter()
                            .any(|s| EXCLUDED_SCHOOLS.contains(&s.as_str())),
                        "{why}: one enrollment at an excluded school"
                    );
                }
                EdgeCase::NotInSis => {
                    assert!(st.is_none(), "{why}");
                    assert!(in_any_file(&files, local), "{why}");
                }
                EdgeCase::Blank879Only => {
                    let lre = &files["IEPLRE.csv"];
                    let c = lre.col("time_non_disabled_peers");
                    let rows: Vec<_> = lre.rows_of(local).collect();
                    assert!(
                        !rows.is_empty() && rows.iter().all(|r| r.fields[c].is_empty()),
                        "{why}"
                    );
                }
                EdgeCase::Blank879Latest => {
                    let lre = &files["IEPLRE.csv"];
                    let (c, i) = (
                        lre.col("time_non_disabled_peers"),
                        lre.col("initiation_date"),
                    );
                    let rows: Vec<_> = lre.rows_of(local).collect();
                    let latest = rows
                        .iter()
                        .max_by_key(|r| parse_date(&r.fields[i]))
                        .unwrap();
                    assert!(latest.fields[c].is_empty(), "{why}");
                    assert!(rows.iter().any(|r| !r.fields[c].is_empty()), "{why}");
                }
                EdgeCase::ZeroValues => {
                    let lre = &files["IEPLRE.csv"];
                    let mx = &files["MatrixOfServices.csv"];
                    let zero_lre = lre.rows_of(local).any(|r| {
                        is_zero(&r.fields[lre.col("total_time")])
                            && is_zero(&r.fields[lre.col("time_non_disabled_peers")])
                    });
                    let zero_mx = mx.rows_of(local).any(|r| {
                        ["cost_factor", "fefp_number", "total_ratings"]
                            .iter()
                            .all(|c| is_zero(&r.fields[mx.col(c)]))
                    });
                    assert!(zero_lre || zero_mx, "{why}");
                }
                EdgeCase::BlankSingleValues => {
                    let ieps = &files["ActiveIEPs.csv"];
                    let rows: Vec<_> = ieps.rows_of(local).collect();
                    assert!(rows.len() >= 2, "{why}");
                    let s = ieps.col("iep_start_date");
                    let latest = rows
                        .iter()
                        .max_by_key(|r| parse_date(&r.fields[s]))
                        .unwrap();
                    assert!(latest.fields[ieps.col("iep_end_date")].is_empty(), "{why}");
                    assert!(latest.fields[ieps.col("esy_services")].is_empty(), "{why}");
                    assert!(
                        rows.iter()
                            .any(|r| !r.fields[ieps.col("iep_end_date")].is_empty())
                    );
                }
                EdgeCase::ExpiredAccommodations => {
                    assert!(
                        accommodation_ends(&files, local)
                            .iter()
                            .any(|e| parse_date(e).is_some_and(|d| d < run)),
                        "{why}"
                    );
                }
                EdgeCase::AccommodationEndsOnRunDate => {
                    assert!(
                        accommodation_ends(&files, local)
                            .iter()
                            .any(|e| parse_date(e) == Some(run)),
                        "{why}"
                    );
                }
                EdgeCase::BlankEndDates => {
                    assert!(
                        accommodation_ends(&files, local)
                            .iter()
                            .any(String::is_empty),
                        "{why}"
                    );
                }
                EdgeCase::DuplicateRows => {
                    let twice = files.values().any(|csv| {
                        let rows: Vec<_> = csv.rows_of(local).map(|r| &r.raw).collect();
                        rows.windows(2).any(|w| w[0] == w[1])
                    });
                    assert!(twice, "{why}");
                }
                EdgeCase::QuotedCommas | EdgeCase::EmbeddedQuotes => {
                    let needle = if case == EdgeCase::QuotedCommas {
                        ','
                    } else {
                        '"'
                    };
                    let found = files.values().any(|csv| {
                        csv.rows_of(local).any(|r| {
                            r.raw.contains('"') && r.fields.iter().any(|f| f.contains(needle))
                        })
                    });
                    assert!(found, "{why}");
                }
                EdgeCase::IsoDates | EdgeCase::PaddedDates => {
                    let check = if case == EdgeCase::IsoDates {
                        is_iso
                    } else {
                        is_padded_us
                    };
                    let mut seen = 0;
                    for csv in files.values() {
                        let dates = csv.date_columns();
                        for r in csv.rows_of(local) {
                            for &d in &dates {
                                if !r.fields[d].is_empty() {
                                    assert!(check(&r.fields[d]), "{why}: {}", r.raw);
                                    seen += 1;
                                }
                            }
                        }
                    }
                    assert!(seen > 0, "{why}");
                }
                EdgeCase::MultiplePlans => {
                    let plans = ["ActiveIEPs.csv", "ActiveEPs.csv", "ActiveSPs.csv"]
                        .iter()
                        .filter(|f| files[**f].rows_of(local).next().is_some())
                        .count();
                    assert!(plans >= 2, "{why}");
                }
                EdgeCase::SeveralRowsPerStudent => {
                    let several = [
                        ("ActiveIEPs.csv", "iep_start_date"),
                        ("IEPLRE.csv", "initiation_date"),
                        ("MatrixOfServices.csv", "date_completed"),
                    ]
                    .iter()
                    .any(|(f, c)| {
                        let csv = &files[f];
                        let dates: BTreeSet<_> = csv
                            .rows_of(local)
                            .map(|r| r.fields[csv.col(c)].clone())
                            .collect();
                        dates.len() >= 2
                    });
                    assert!(several, "{why}");
                }
                EdgeCase::ExistingValuesIdentical => {
                    let st = st.unwrap();
                    let w = winners(&files, local);
                    let got = [
                        st.c873, st.c940, st.c256, st.c863, st.c878, st.c879, st.c272, st.c273,
                        st.c274, st.c293,
                    ];
                    assert_eq!(got, w, "{why}");
                }
                EdgeCase::ExistingValuesStale => {
                    let st = st.unwrap();
                    assert!(
                        st.c873.is_some() && st.c878.as_deref() == Some("1500"),
                        "{why}"
                    );
                    let ieps = &files["ActiveIEPs.csv"];
                    let starts: Vec<String> = ieps
                        .rows_of(local)
                        .map(|r| iso(&r.fields[ieps.col("iep_start_date")]))
                        .collect();
                    assert!(!starts.contains(st.c873.as_ref().unwrap()), "{why}");
                }
                EdgeCase::ExistingLogsIdentical => {
                    let sid = st.unwrap().student_id;
                    let wanted = file_logs(&files, local);
                    let identical = logs(&mut conn, sid)
                        .await
                        .into_iter()
                        .filter(|(f, y, cells)| *y == 2025 && wanted.contains(&(*f, cells.clone())))
                        .count();
                    assert!(identical > 0, "{why}");
                }
                EdgeCase::ExistingLogsStale => {
                    let sid = st.unwrap().student_id;
                    let wanted = file_logs(&files, local);
                    let stale = logs(&mut conn, sid)
                        .await
                        .into_iter()
                        .filter(|(f, y, cells)| {
                            *y == 2025 && !wanted.contains(&(*f, cells.clone()))
                        })
                        .count();
                    assert!(stale > 0, "{why}");
                }
                EdgeCase::ExistingLogsOtherYear => {
                    let sid = st.unwrap().student_id;
                    assert!(
                        logs(&mut conn, sid)
                            .await
                            .iter()
                            .any(|(_, y, _)| *y == 2024),
                        "{why}"
                    );
                }
                EdgeCase::AbsentFromFiles => {
                    let sid = st.unwrap().student_id;
                    assert!(!in_any_file(&files, local), "{why}");
                    assert!(touched.contains(local), "{why}");
                    assert!(
                        logs(&mut conn, sid)
                            .await
                            .iter()
                            .any(|(_, y, _)| *y == 2025),
                        "{why}"
                    );
                }
                EdgeCase::KeepsFieldsWithoutRows => {
                    let st = st.unwrap();
                    let no_lre = files["IEPLRE.csv"].rows_of(local).next().is_none();
                    let no_mx = files["MatrixOfServices.csv"]
                        .rows_of(local)
                        .next()
                        .is_none();
                    assert!(no_lre || no_mx, "{why}");
                    assert!(
                        files["ActiveIEPs.csv"].rows_of(local).next().is_some(),
                        "{why}"
                    );
                    assert!(st.c878.is_some() && st.c272.is_some(), "{why}");
                }
                EdgeCase::NonAsciiText => {
                    let st = st.unwrap();
                    let in_files = files
                        .values()
                        .any(|csv| csv.rows_of(local).any(|r| !r.raw.is_ascii()));
                    assert!(
                        !st.first_name.is_ascii() || !st.last_name.is_ascii() || in_files,
                        "{why}"
                    );
                }
                EdgeCase::QuoteInName => {
                    let st = st.unwrap();
                    assert!(
                        st.first_name.contains('\'') || st.last_name.contains('\''),
                        "{why}"
                    );
                }
                EdgeCase::Bom | EdgeCase::Crlf | EdgeCase::QuoteAllFields => {}
            }
        }
        // The designated students come first: every case but the file cases names at least
        // one of the first MIN_STUDENTS students or an unmatched id.
    }

    for spec in FILES {
        let csv = &files[spec.file];
        let bom = summary.hits(EdgeCase::Bom).files.contains(&spec.file);
        assert_eq!(csv.bytes.starts_with(b"\xEF\xBB\xBF"), bom, "{}", spec.file);
        let crlf = summary.hits(EdgeCase::Crlf).files.contains(&spec.file);
        let lines = csv.bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        for line in lines {
            assert_eq!(line.ends_with(b"\r"), crlf, "{}", spec.file);
        }
        let quoted = summary
            .hits(EdgeCase::QuoteAllFields)
            .files
            .contains(&spec.file);
        assert_eq!(
            csv.rows.iter().all(|r| r.raw.starts_with('"')),
            quoted,
            "{}",
            spec.file
        );
    }
    conn.close().await.unwrap();
}

#[test]
fn designated_students_are_the_first_ones_and_listed_in_the_sample() {
    let (_dir, summary) = gen_in(&GenOptions::new(40));
    // Every student case in a 40-student set includes at least one designated student.
    let designated: BTreeSet<String> = (0..MIN_STUDENTS)
        .map(|i| {
            let n = (i as u64 * 387_420_489 + 4_217) % 1_000_000_000;
            format!("{}{n:09}", i % 3)
        })
        .collect();
    for case in EdgeCase::ALL {
        if case.is_file_case() || case == EdgeCase::NotInSis {
            continue;
        }
        assert!(
            summary
                .hits(case)
                .local_ids
                .iter()
                .any(|l| designated.contains(l)),
            "{case:?}"
        );
    }
    assert_eq!(summary.hits(EdgeCase::ExcludedSchool).local_ids.len(), 8);
    assert_eq!(
        summary.hits(EdgeCase::LeadingZeroLocalId).local_ids,
        ["0000004217"]
    );
}
