//! The edfacts-fs163 job through the real binary: the shipped fixture (state "EU", with the
//! seed's own example unit) read from a SQLite or PostgreSQL source and delivered to a local
//! drop folder byte for byte in all three formats, at LEA and school level; a missing status
//! derived from a firearm incident and named in the run's log; and a validation error that
//! fails the run with nothing delivered and a report naming unit and field.

use ferry_tests::sis::SisDb;
use ferry_tests::{Backend, Sandbox, file_names, run_files};
use serde_json::Value as Json;
use std::path::PathBuf;

const UNITS_SQLITE: &str = include_str!("../../jobs/edfacts-fs163/fixtures/source-sqlite.sql");
const UNITS_POSTGRES: &str = include_str!("../../jobs/edfacts-fs163/fixtures/source-postgres.sql");
const INCIDENTS_SQLITE: &str = include_str!("../../jobs/ises-upload/fixtures/source-sqlite.sql");
const INCIDENTS_POSTGRES: &str =
    include_str!("../../jobs/ises-upload/fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../jobs/edfacts-fs163/fixtures/sample-data.sql");

/// The sample at school level as the csv format writes it, `{derived}` standing for school 2
/// of LEA 130's status (`NO`, or `YESWITHREP` when derived). The header is the seed's Table
/// 4.1-2 with this file's record count; record 1 is the seed's Table 4.2-2 exactly.
const SCHOOLS_CSV: &str = concat!(
    "SCHOOL DISCIPLINE DATA,5,euschDISCDATAv000001.csv,characters to identify file,2019-2020,\r\n",
    "1,80,01,00606EUPHORIA,EU000001,,YESWOREP,text for state use\r\n",
    "2,80,01,00606EUPHORIA,EU000002,,NA,virtual program\r\n",
    "3,80,01,00707UTOPIA,EU000701,,YESWITHREP,\r\n",
    "4,80,01,130,2,,{derived},\r\n",
    "5,80,01,130,3,,NO,\r\n",
);

/// The sample at LEA level as the csv format writes it, `{derived}` standing for LEA 130.
const LEAS_CSV: &str = concat!(
    "LEA DISCIPLINE DATA,4,euleaDISCDATAv000001.csv,characters to identify file,2019-2020,\r\n",
    "1,80,01,00606EUPHORIA,,,YESWOREP,text for state use\r\n",
    "2,80,01,00707UTOPIA,,,NO,\r\n",
    "3,80,01,0200,,,NO,\r\n",
    "4,80,01,130,,,{derived},\r\n",
);

/// Field lengths of the header record (Table 4.1-1), in order; they fill positions 1–269.
const HEADER_LENGTHS: [usize; 6] = [50, 10, 25, 32, 9, 143];
/// Field lengths of the data record (Table 4.2-1), in order; they fill positions 1–269.
const DATA_LENGTHS: [usize; 8] = [10, 2, 2, 14, 20, 6, 15, 200];

struct Fs163 {
    sb: Sandbox,
    sis: SisDb,
}

impl Fs163 {
    fn new(backend: Backend) -> Fs163 {
        let sb = Sandbox::sqlite();
        let sis = SisDb::new(backend, &sb);
        let (units, incidents) = match backend {
            Backend::Sqlite => (UNITS_SQLITE, INCIDENTS_SQLITE),
            Backend::Postgres => (UNITS_POSTGRES, INCIDENTS_POSTGRES),
        };
        sis.batch(units);
        sis.batch(incidents);
        sis.batch(SAMPLE_DATA);
        std::fs::create_dir_all(sb.path().join("dropbox")).expect("drop folder");
        Fs163 { sb, sis }
    }

    /// Writes the job `fs163` with these settings.
    fn configure(&self, level: &str, format: &str, derive: bool) {
        self.sb.config(&format!(
            "[connections.edfacts-drop]\nkind = \"local\"\npath = \"{}\"\n\n\
             [jobs.fs163]\nplugin = \"edfacts-fs163\"\n\n[jobs.fs163.settings]\n\
             level = \"{level}\"\nformat = \"{format}\"\nstate = \"EU\"\nversion = \"v000001\"\n\
             file_identifier = \"characters to identify file\"\n\
             reporting_period = \"2019-2020\"\nderive_from_incidents = {derive}\n\
             source_database = \"{}\"\nupload_connection = \"edfacts-drop\"\n\
             upload_dir = \"fs163\"\n",
            self.sb.path().join("dropbox").display(),
            self.sis.url()
        ));
    }

    fn incoming(&self) -> PathBuf {
        self.sb.path().join("dropbox/fs163")
    }

    /// Every name in the upload folder (temporary ones too), sorted; none when it is missing.
    fn uploaded(&self) -> Vec<String> {
        file_names(&self.incoming())
    }

    /// `ferry run fs163`: exit code, `ferry show --json`, the run's log, and stdout+stderr.
    fn run(&self) -> (Option<i32>, Json, String, String) {
        let out = self.sb.ferry(&["run", "fs163"]);
        let id = self.sb.history()[0]["id"].as_i64().expect("run id");
        let show = self.sb.show(id);
        assert_eq!(show["job"], "fs163");
        let logs = self.sb.ferry(&["logs", &id.to_string()]).stdout();
        let text = format!("--- stdout\n{}\n--- stderr\n{}", out.stdout(), out.stderr());
        (out.code(), show, logs, text)
    }

    /// Runs the job, expects success and exactly `name` delivered; returns the bytes and the
    /// run's show and log.
    fn deliver(&self, name: &str) -> (Vec<u8>, Json, String) {
        let before = self.uploaded();
        let (code, show, logs, out) = self.run();
        assert_eq!(code, Some(0), "{show}\n{logs}\n{out}");
        assert_eq!(show["status"], "succeeded", "{show}\n{logs}");
        let new: Vec<String> = self
            .uploaded()
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        assert!(
            new.is_empty() || new == [name.to_owned()],
            "{new:?} (want only {name})"
        );
        let bytes = std::fs::read(self.incoming().join(name)).expect("delivered file");
        // The run keeps the very bytes it delivered.
        let kept = run_files(&show, "fs163");
        assert_eq!(kept.len(), 1, "{show}");
        assert_eq!(std::fs::read(&kept[0]).expect("run's copy"), bytes);
        (bytes, show, logs)
    }
}

/// The (table, rows) stats of a run, each with its seconds.
fn tables(show: &Json) -> Vec<(String, i64)> {
    show["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            assert!(t["seconds"].as_f64().is_some(), "{t}");
            (
                t["table"].as_str().expect("table").to_owned(),
                t["rows"].as_i64().expect("rows"),
            )
        })
        .collect()
}

/// `csv` with its commas replaced: the same fields, tab separated (no value holds a comma).
fn as_tab(csv: &str) -> String {
    csv.replace(',', "\t")
}

/// The fixed-width file of the same fields as `csv`: every field left-aligned and space-padded
/// to its length, each record 269 characters and CRLF.
fn as_fixed(csv: &str) -> String {
    let mut out = String::new();
    for (i, line) in csv.split_terminator("\r\n").enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let lengths: &[usize] = if i == 0 {
            &HEADER_LENGTHS
        } else {
            &DATA_LENGTHS
        };
        assert_eq!(fields.len(), lengths.len(), "{line}");
        for (field, length) in fields.iter().zip(lengths) {
            assert!(field.len() <= *length, "{field:?} > {length}");
            out.push_str(&format!("{field:<length$}"));
        }
        out.push_str("\r\n");
    }
    out
}

/// Checks what every format shares: CRLF after every record and nowhere else, and a header
/// count equal to the number of data records.
fn assert_records(text: &str, records: usize) {
    assert!(text.ends_with("\r\n"), "{text:?}");
    assert_eq!(text.matches("\r\n").count(), records + 1, "{text:?}");
    assert_eq!(
        text.matches('\n').count(),
        records + 1,
        "bare LF in {text:?}"
    );
    assert_eq!(
        text.matches('\r').count(),
        records + 1,
        "bare CR in {text:?}"
    );
}

/// Checks a fixed-width file field by field: lines of 269 characters then CRLF (position 270),
/// each field at its start position.
fn assert_fixed_positions(text: &str, csv: &str) {
    for (line, expected) in text
        .split_terminator("\r\n")
        .zip(csv.split_terminator("\r\n"))
    {
        assert_eq!(line.len(), 269, "{line:?}");
        let lengths: &[usize] = if expected.starts_with(|c: char| c.is_ascii_digit()) {
            &DATA_LENGTHS
        } else {
            &HEADER_LENGTHS
        };
        let mut start = 0;
        for (value, length) in expected.split(',').zip(lengths) {
            let field = &line[start..start + length];
            assert_eq!(
                field.trim_end(),
                value,
                "field at position {} of {line:?}",
                start + 1
            );
            start += length;
        }
        assert_eq!(start, 269);
    }
}

fn all_formats_at_school_level(backend: Backend) {
    let t = Fs163::new(backend);
    let csv = SCHOOLS_CSV.replace("{derived}", "NO");
    for (format, name, expected) in [
        ("csv", "euschDISCDATAv000001.csv", csv.clone()),
        (
            "tab",
            "euschDISCDATAv000001.tab",
            as_tab(&csv.replace(".csv", ".tab")),
        ),
        (
            "fixed",
            "euschDISCDATAv000001.txt",
            as_fixed(&csv.replace(".csv", ".txt")),
        ),
    ] {
        t.configure("SCH", format, false);
        let (bytes, show, logs) = t.deliver(name);
        let text = String::from_utf8(bytes).expect("ASCII");
        assert_records(&text, 5);
        assert_eq!(text, expected, "{format}");
        let header = text.split("\r\n").next().expect("header");
        match format {
            "csv" => {
                // The seed's Table 4.1-2 and 4.2-2 examples, byte for byte.
                assert_eq!(
                    header,
                    "SCHOOL DISCIPLINE DATA,5,euschDISCDATAv000001.csv,characters to identify \
                     file,2019-2020,"
                );
                assert!(text.contains(
                    "\r\n1,80,01,00606EUPHORIA,EU000001,,YESWOREP,text for state use\r\n"
                ));
            }
            "tab" => assert_eq!(
                header,
                "SCHOOL DISCIPLINE DATA\t5\teuschDISCDATAv000001.tab\tcharacters to identify \
                 file\t2019-2020\t"
            ),
            _ => assert_fixed_positions(&text, &csv.replace(".csv", ".txt")),
        }
        assert_eq!(
            tables(&show),
            vec![("units reported".to_owned(), 5)],
            "{show}"
        );
        // The run's summary (its last log line) names the file and counts by status.
        let summary = logs.lines().last().unwrap_or_default();
        assert!(summary.contains(&format!("{name} delivered")), "{logs}");
        assert!(
            summary.contains("YESWITHREP 1, YESWOREP 1, NO 2, NA 1"),
            "{logs}"
        );
        assert!(!logs.contains("derived YESWITHREP"), "{logs}");
        // Two units of the level left out by the guidance, both named as counts in the log.
        assert!(
            logs.contains("1 not operational, 1 without students"),
            "{logs}"
        );
    }
    assert_eq!(
        t.uploaded(),
        [
            "euschDISCDATAv000001.csv",
            "euschDISCDATAv000001.tab",
            "euschDISCDATAv000001.txt"
        ],
        "no temporary names left behind"
    );
}

#[test]
fn delivers_all_three_formats_at_school_level_sqlite() {
    all_formats_at_school_level(Backend::Sqlite);
}

#[test]
fn delivers_all_three_formats_at_school_level_postgres() {
    all_formats_at_school_level(Backend::Postgres);
}

fn lea_level(backend: Backend) {
    let t = Fs163::new(backend);
    let csv = LEAS_CSV.replace("{derived}", "NO");
    t.configure("LEA", "fixed", false);
    let (bytes, show, _) = t.deliver("euleaDISCDATAv000001.txt");
    let text = String::from_utf8(bytes).expect("ASCII");
    assert_records(&text, 4);
    let header = text.split("\r\n").next().expect("header");
    assert_eq!(
        header,
        format!(
            "{:<50}{:<10}{:<25}{:<32}{:<9}{:<143}",
            "LEA DISCIPLINE DATA",
            "4",
            "euleaDISCDATAv000001.txt",
            "characters to identify file",
            "2019-2020",
            ""
        )
    );
    assert_fixed_positions(&text, &csv.replace(".csv", ".txt"));
    assert_eq!(text, as_fixed(&csv.replace(".csv", ".txt")));
    assert_eq!(tables(&show), vec![("units reported".to_owned(), 4)]);

    t.configure("LEA", "csv", false);
    let (bytes, _, _) = t.deliver("euleaDISCDATAv000001.csv");
    assert_eq!(String::from_utf8(bytes).expect("ASCII"), csv);
}

#[test]
fn delivers_the_lea_level_sqlite() {
    lea_level(Backend::Sqlite);
}

#[test]
fn delivers_the_lea_level_postgres() {
    lea_level(Backend::Postgres);
}

fn derivation(backend: Backend) {
    let t = Fs163::new(backend);

    t.configure("SCH", "csv", true);
    let (bytes, show, logs) = t.deliver("euschDISCDATAv000001.csv");
    assert_eq!(
        String::from_utf8(bytes).expect("ASCII"),
        SCHOOLS_CSV.replace("{derived}", "YESWITHREP")
    );
    assert!(
        logs.contains("derived YESWITHREP for school 2 of LEA 130"),
        "{logs}"
    );
    assert_eq!(logs.matches("derived YESWITHREP for").count(), 1, "{logs}");
    assert_eq!(tables(&show), vec![("units reported".to_owned(), 5)]);
    let summary = logs.lines().last().unwrap_or_default();
    assert!(summary.contains("1 derived from incidents"), "{logs}");
    assert!(
        summary.contains("YESWITHREP 2, YESWOREP 1, NO 1, NA 1"),
        "{logs}"
    );

    t.configure("LEA", "tab", true);
    let (bytes, _, logs) = t.deliver("euleaDISCDATAv000001.tab");
    assert_eq!(
        String::from_utf8(bytes).expect("ASCII"),
        as_tab(&LEAS_CSV.replace("{derived}", "YESWITHREP")).replace(".csv", ".tab")
    );
    assert!(logs.contains("derived YESWITHREP for LEA 130"), "{logs}");
    // LEA 0200 has a missing status too, but no incident: it stays NO.
    assert!(!logs.contains("for LEA 0200"), "{logs}");
}

#[test]
fn derives_a_missing_status_from_a_firearm_incident_sqlite() {
    derivation(Backend::Sqlite);
}

#[test]
fn derives_a_missing_status_from_a_firearm_incident_postgres() {
    derivation(Backend::Postgres);
}

fn validation_failure(backend: Backend) {
    let t = Fs163::new(backend);
    let long = "x".repeat(201);
    t.sis.batch(&format!(
        "UPDATE edfacts_units SET explanation = '{long}' WHERE school_id = 'EU000002'; \
         UPDATE edfacts_units SET gfsa_status = 'MAYBE' WHERE school_id = 'EU000701'"
    ));
    t.configure("SCH", "csv", false);
    let (code, show, logs, out) = t.run();
    assert_ne!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "failed", "{show}");
    assert!(t.uploaded().is_empty(), "{:?}", t.uploaded());
    assert!(run_files(&show, "fs163").is_empty(), "{show}");
    assert!(show.to_string().contains("nothing was delivered"), "{show}");

    let reports = run_files(&show, "report");
    assert_eq!(reports.len(), 1, "{show}");
    let report = std::fs::read_to_string(&reports[0]).expect("report");
    for needle in [
        "school EU000002 of LEA 00606EUPHORIA",
        "Explanation",
        "school EU000701 of LEA 00707UTOPIA",
        "GFSA Reporting Status",
        "MAYBE",
    ] {
        assert!(report.contains(needle), "{needle:?} not in\n{report}");
    }
    let problems = show["problems"]["first"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{show}");
    assert!(
        problems.iter().any(|p| p["field"] == "Explanation"
            && p["message"]
                .as_str()
                .is_some_and(|m| m.contains("school EU000002 of LEA 00606EUPHORIA"))),
        "{show}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["field"] == "GFSA Reporting Status" && p["value"] == "MAYBE"),
        "{show}"
    );
    assert!(!logs.is_empty());

    // Fixed: the next run delivers.
    t.sis.batch(
        "UPDATE edfacts_units SET explanation = 'virtual program' WHERE school_id = 'EU000002'; \
         UPDATE edfacts_units SET gfsa_status = 'YESWITHREP' WHERE school_id = 'EU000701'",
    );
    let (bytes, _, _) = t.deliver("euschDISCDATAv000001.csv");
    assert_eq!(
        String::from_utf8(bytes).expect("ASCII"),
        SCHOOLS_CSV.replace("{derived}", "NO")
    );
}

#[test]
fn a_validation_error_fails_the_run_with_a_report_and_delivers_nothing_sqlite() {
    validation_failure(Backend::Sqlite);
}

#[test]
fn a_validation_error_fails_the_run_with_a_report_and_delivers_nothing_postgres() {
    validation_failure(Backend::Postgres);
}
