//! The `peer` section of `ferry-bench`: the Florida PEER import on about a million generated rows.
//!
//! The import's promise is that loading FLDOE's files costs no more than the databases' own CSV
//! importers would, so its load phase is timed beside them, in one process run, interleaved:
//!
//! - SQLite: the job's own load path in-process (`read::read_file`, then `apply::load_table`, for
//!   each of the fifteen files, in one `ferry-sis` transaction) against `sqlite3` running
//!   `.import --csv --skip 1` of each file, also in one transaction. `.import` binds the file's
//!   fields by position and cannot skip `id`, `district_id` and `syear`, so its tables have the
//!   file's columns in the file's order, with the job tables' declared types and the same two
//!   indexes (`local_id`, and a district/year one on constant keys: every row of an import has
//!   the same district and year). A second reference line lets `.import` create untyped tables
//!   from the header, without indexes: the least work SQLite can do with the files.
//! - PostgreSQL: the same in-process path (COPY through `ferry-sis`) against `psql -1` running
//!   `\copy TABLE (columns) FROM FILE CSV HEADER` per file into the very tables the job's
//!   migration creates, `district_id` and `syear` filled by column defaults. A fresh schema per
//!   run, dropped after.
//! - End to end: the whole `ferry run` process of a `florida-peer` job on SQLite (fetch through a
//!   local connection, read, load, plan, update students and log entries, commit), against a SIS
//!   made from the generator's schema and `sis-data.sql`, fresh for every run.
//!
//! Nothing is timed that both sides do not do: databases and schemas are created untimed, and
//! every run starts from an empty one.

use ferry_job_florida_peer::spec::{FILES, FileSpec, MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};
use ferry_job_florida_peer::{apply, read};
use ferry_peer_generator::{GenOptions, MIN_STUDENTS, SIS_DATA_FILE, SIS_SCHEMA_SQLITE};
use ferry_sis::{Migration, Sis, Value};
use ferry_tests::Sandbox;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DISTRICT: &str = "13";
const SCHOOL_YEAR: i32 = 2025;
const RUN_DATE: &str = "2026-01-15";

/// The PostgreSQL server when `FERRY_TEST_DATABASE_URL` is not set.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One generated file: where it is, its spec, and its header as table columns.
struct Header {
    spec: &'static FileSpec,
    path: PathBuf,
    /// Each header column, in file order: the job table's column it matches (normalized as the
    /// job matches them), else the header text made into a plain identifier.
    columns: Vec<String>,
}

/// The job's load path, split: reading the files, inserting the rows, committing.
#[derive(Clone, Copy, Default)]
struct Split {
    total: Duration,
    read: Duration,
    insert: Duration,
    commit: Duration,
}

/// Runs the section on about `rows` generated rows: every part, or only `part` (`sqlite`,
/// `postgres` or `e2e`).
pub fn peer(rows: usize, part: Option<&str>) {
    if let Some(part) = part.filter(|p| !["sqlite", "postgres", "e2e"].contains(p)) {
        panic!("unknown part peer-{part}: expected peer-sqlite, peer-postgres or peer-e2e");
    }
    let wanted = |name: &str| part.is_none_or(|p| p == name);
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("files");
    let students = (rows / 20).max(MIN_STUDENTS);
    eprintln!("peer: generating about {rows} PEER rows for {students} students…");
    let opts = GenOptions {
        target_rows: Some(rows),
        ..GenOptions::new(students)
    };
    let started = Instant::now();
    let summary = ferry_peer_generator::generate(&dir, &opts).expect("generate PEER files");
    let generated = started.elapsed();
    let off = summary.total_rows as f64 / rows.max(1) as f64 - 1.0;
    if off.abs() > 0.1 {
        eprintln!(
            "peer: warning: {} rows generated for a target of {rows} ({:+.0}%)",
            summary.total_rows,
            off * 100.0
        );
    }
    let bytes: u64 = FILES
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(s.file)).ok())
        .map(|m| m.len())
        .sum();
    let headers = headers(&dir);
    let runs = if rows > 2_000_000 { 3 } else { 5 };
    println!(
        "Florida PEER import: {} rows in {} files ({:.0} MiB, {} students; generated in {:.1}s)",
        thousands(summary.total_rows as u64),
        FILES.len(),
        bytes as f64 / f64::from(1 << 20),
        thousands(students as u64),
        generated.as_secs_f64()
    );
    let total = summary.total_rows as u64;
    if wanted("sqlite") {
        sqlite_load(work.path(), &headers, total, runs);
    }
    if wanted("postgres") {
        postgres_load(&headers, total, runs);
    }
    if wanted("e2e") {
        end_to_end(&dir, total, 3);
    }
}

/// The header of every file, matched to its table's columns.
fn headers(dir: &Path) -> Vec<Header> {
    FILES
        .iter()
        .map(|spec| {
            let path = dir.join(spec.file);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_path(&path)
                .expect("open a generated file");
            let mut record = csv::StringRecord::new();
            reader.read_record(&mut record).expect("read a header");
            let columns = record
                .iter()
                .map(|name| {
                    let key = read::normalize(name);
                    spec.columns
                        .iter()
                        .chain(spec.read_only)
                        .find(|c| read::normalize(c) == key)
                        .map_or_else(
                            || {
                                key.chars()
                                    .filter(|c| c.is_ascii_alphanumeric())
                                    .collect::<String>()
                            },
                            |c| (*c).to_owned(),
                        )
                })
                .collect();
            Header {
                spec,
                path,
                columns,
            }
        })
        .collect()
}

fn migrations(list: &[(i64, &'static str, &'static str)]) -> Vec<Migration> {
    list.iter()
        .map(|(version, name, sql)| Migration::new(*version, name, sql))
        .collect()
}

/// Creates the job's background tables (untimed) through its own migrations.
fn migrate(url: &str, list: &[(i64, &'static str, &'static str)]) {
    let mut sis = Sis::connect(url, None).expect("connect to the SIS");
    let mut tx = sis.transaction().expect("begin");
    ferry_sis::migrate(&mut tx, "florida-peer", &migrations(list)).expect("migrate");
    tx.commit().expect("commit");
}

/// Runs a script in one committed transaction.
pub(crate) fn batch(url: &str, script: &str) {
    let mut sis = Sis::connect(url, None).expect("connect");
    let mut tx = sis.transaction().expect("begin");
    tx.batch(script).unwrap_or_else(|e| panic!("{e}"));
    tx.commit().expect("commit");
}

/// Rows in `tables` together.
fn count(url: &str, tables: impl IntoIterator<Item = String>) -> u64 {
    let mut sis = Sis::connect(url, None).expect("connect");
    let mut tx = sis.transaction().expect("begin");
    let mut total = 0;
    for table in tables {
        let rows = tx
            .query(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .unwrap_or_else(|e| panic!("count {table}: {e}"));
        total += rows
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_i64)
            .unwrap_or_default() as u64;
    }
    total
}

/// The job's load path on the SIS at `url`, whose background tables exist and are empty: each
/// file read with `read_file` and loaded with `load_table`, all in one transaction. The rows
/// read are kept until after the commit, as the job keeps them to plan the student updates, so
/// freeing them is not timed.
fn ferry_load(url: &str, headers: &[Header]) -> Split {
    let aliases = BTreeMap::new();
    let mut files = Vec::with_capacity(headers.len());
    let started = Instant::now();
    let mut split = Split::default();
    let mut sis = Sis::connect(url, None).expect("connect to the SIS");
    let mut tx = sis.transaction().expect("begin");
    for header in headers {
        let t = Instant::now();
        let file = read::read_file(header.spec, &header.path, &aliases).expect("read a PEER file");
        split.read += t.elapsed();
        let t = Instant::now();
        apply::load_table(&mut tx, &file, DISTRICT, SCHOOL_YEAR).expect("load a PEER file");
        split.insert += t.elapsed();
        files.push(file);
    }
    let t = Instant::now();
    tx.commit().expect("commit");
    split.commit = t.elapsed();
    split.total = started.elapsed();
    drop(files);
    split
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn median_split(splits: &[Split]) -> Split {
    let pick = |f: fn(&Split) -> Duration| median(splits.iter().map(f).collect());
    Split {
        total: pick(|s| s.total),
        read: pick(|s| s.read),
        insert: pick(|s| s.insert),
        commit: pick(|s| s.commit),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A new, empty SQLite file (any old one removed).
fn fresh_sqlite(path: &Path) -> String {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let url = sqlite_url(path);
    Sis::connect(&format!("{url}?mode=rwc"), None)
        .expect("create a SQLite file")
        .close()
        .expect("close");
    url
}

/// The declared type of every column of the job's tables, from its own migration.
fn sqlite_types(dir: &Path) -> BTreeMap<(String, String), String> {
    let url = fresh_sqlite(&dir.join("template.db"));
    migrate(&url, MIGRATIONS_SQLITE);
    let mut sis = Sis::connect(&url, None).expect("connect");
    let mut tx = sis.transaction().expect("begin");
    let mut types = BTreeMap::new();
    for spec in &FILES {
        let rows = tx
            .query(
                "SELECT name, type FROM pragma_table_info(?)",
                &[Value::from(spec.table)],
            )
            .expect("table info");
        for row in rows {
            if let (Some(name), Some(kind)) = (row[0].as_str(), row[1].as_str()) {
                types.insert((spec.table.to_owned(), name.to_owned()), kind.to_owned());
            }
        }
    }
    types
}

/// `sqlite3 DB < script`, the script importing every file in one transaction (see
/// [`import_script`]).
fn sqlite3_import(db: &Path, script: &Path) -> Duration {
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg("-batch")
        .arg(db)
        .stdin(Stdio::from(std::fs::File::open(script).expect("script")))
        .output()
        .expect("run sqlite3");
    let elapsed = started.elapsed();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// `.import` of every file between `BEGIN` and `COMMIT`. With `typed` the tables exist (the
/// caller made them) and the header is skipped; without, `.import` creates them from it.
fn import_script(headers: &[Header], typed: bool) -> String {
    let mut script = String::from("BEGIN;\n");
    for header in headers {
        script.push_str(&format!(
            ".import --csv{} \"{}\" {}\n",
            if typed { " --skip 1" } else { "" },
            header.path.display(),
            header.spec.table
        ));
    }
    script.push_str("COMMIT;\n");
    script
}

/// The reference's tables: the file's columns in file order, the job tables' types, the same
/// two indexes.
fn reference_tables(headers: &[Header], types: &BTreeMap<(String, String), String>) -> String {
    let mut sql = String::new();
    for header in headers {
        let table = header.spec.table;
        let columns: Vec<String> = header
            .columns
            .iter()
            .map(|c| {
                let kind = types
                    .get(&(table.to_owned(), c.clone()))
                    .map_or("TEXT", String::as_str);
                format!("{c} {kind}")
            })
            .collect();
        sql.push_str(&format!(
            "CREATE TABLE {table} ({});\n\
             CREATE INDEX {table}_district_syear ON {table} \
             (CAST('{DISTRICT}' AS TEXT), CAST({SCHOOL_YEAR} AS INTEGER));\n\
             CREATE INDEX {table}_local_id ON {table} (local_id);\n",
            columns.join(", ")
        ));
    }
    sql
}

fn sqlite_load(work: &Path, headers: &[Header], total: u64, runs: usize) {
    eprintln!("peer: SQLite load phase, {runs} interleaved runs…");
    let types = sqlite_types(work);
    let tables = || FILES.iter().map(|s| s.table.to_owned());
    let typed_script = work.join("import-typed.sql");
    let auto_script = work.join("import-auto.sql");
    std::fs::write(&typed_script, import_script(headers, true)).expect("script");
    std::fs::write(&auto_script, import_script(headers, false)).expect("script");
    let create = reference_tables(headers, &types);
    let (mut ferry, mut reference, mut auto) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let path = work.join("ferry.db");
        let url = fresh_sqlite(&path);
        migrate(&url, MIGRATIONS_SQLITE);
        ferry.push(ferry_load(&url, headers));
        assert_eq!(count(&url, tables()), total, "ferry loaded every row");

        let path = work.join("reference.db");
        let url = fresh_sqlite(&path);
        batch(&url, &create);
        reference.push(sqlite3_import(&path, &typed_script));
        assert_eq!(count(&url, tables()), total, "sqlite3 imported every row");

        let path = work.join("auto.db");
        let url = fresh_sqlite(&path);
        auto.push(sqlite3_import(&path, &auto_script));
        assert_eq!(count(&url, tables()), total, "sqlite3 imported every row");
    }
    let ferry = median_split(&ferry);
    let (reference, auto) = (median(reference), median(auto));
    println!("\n  Load phase, SQLite (median of {runs}, interleaved)");
    println!(
        "    {:<58} {:>8} {:>8} {:>12}",
        "", "wall", "goal", "vs sqlite3"
    );
    println!(
        "    {:<58} {:>7.2}s {:>8} {:>11.2}x",
        "ferry: read_file + load_table x15, one transaction",
        secs(ferry.total),
        "<=1.00x",
        secs(ferry.total) / secs(reference)
    );
    println!(
        "    {:<58} {:>7.2}s {:>8} {:>11.2}x",
        "reference: sqlite3 .import, same types and indexes",
        secs(reference),
        "",
        1.0
    );
    println!(
        "    {:<58} {:>7.2}s {:>8} {:>11.2}x",
        "sqlite3 .import, tables made from the header, no indexes",
        secs(auto),
        "",
        secs(auto) / secs(reference)
    );
    println!(
        "    ferry's split: read {:.2}s, insert {:.2}s, commit {:.2}s",
        secs(ferry.read),
        secs(ferry.insert),
        secs(ferry.commit)
    );
}

/// A PostgreSQL schema of the benchmark's own, dropped with the guard.
pub(crate) struct Schema {
    base: String,
    name: String,
    pub(crate) url: String,
}

impl Schema {
    pub(crate) fn new(base: &str, name: &str) -> Schema {
        let name = format!("ferry_bench_{name}_{}", std::process::id());
        batch(
            base,
            &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
        );
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Schema {
            base: base.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        batch(
            &self.base,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

/// `psql -1` running `\copy` of every file into the job's own tables in `schema`.
fn psql_copy(schema: &Schema, headers: &[Header]) -> Duration {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", &schema.url]);
    for header in headers {
        cmd.arg("-c").arg(format!(
            "\\copy {} ({}) FROM '{}' WITH (FORMAT csv, HEADER true)",
            header.spec.table,
            header.columns.join(", "),
            header.path.display()
        ));
    }
    let started = Instant::now();
    let out = cmd.output().expect("run psql");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// The job's tables, with defaults for the columns the import sets and a column for each header
/// column the job reads but does not store, so `\copy` can name the file's columns.
fn copy_ready(headers: &[Header]) -> String {
    let mut sql = String::new();
    for header in headers {
        let table = header.spec.table;
        sql.push_str(&format!(
            "ALTER TABLE {table} ALTER COLUMN district_id SET DEFAULT '{DISTRICT}', \
             ALTER COLUMN syear SET DEFAULT {SCHOOL_YEAR};\n"
        ));
        for column in &header.columns {
            if !header.spec.columns.contains(&column.as_str()) {
                sql.push_str(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT;\n"));
            }
        }
    }
    sql
}

fn postgres_load(headers: &[Header], total: u64, runs: usize) {
    let base =
        std::env::var("FERRY_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    if let Err(e) = Sis::connect(&base, None) {
        println!("\n  Load phase, PostgreSQL: skipped, {base} is not reachable ({e})");
        return;
    }
    eprintln!("peer: PostgreSQL load phase, {runs} interleaved runs…");
    let tables = || FILES.iter().map(|s| s.table.to_owned());
    let alter = copy_ready(headers);
    let (mut ferry, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let schema = Schema::new(&base, "peer_ferry");
        migrate(&schema.url, MIGRATIONS_POSTGRES);
        ferry.push(ferry_load(&schema.url, headers));
        assert_eq!(
            count(&schema.url, tables()),
            total,
            "ferry loaded every row"
        );
        drop(schema);

        let schema = Schema::new(&base, "peer_psql");
        migrate(&schema.url, MIGRATIONS_POSTGRES);
        batch(&schema.url, &alter);
        reference.push(psql_copy(&schema, headers));
        assert_eq!(count(&schema.url, tables()), total, "psql copied every row");
    }
    let ferry = median_split(&ferry);
    let reference = median(reference);
    println!("\n  Load phase, PostgreSQL (median of {runs}, interleaved; the job's own tables)");
    println!(
        "    {:<58} {:>8} {:>8} {:>12}",
        "", "wall", "goal", "vs psql"
    );
    println!(
        "    {:<58} {:>7.2}s {:>8} {:>11.2}x",
        "ferry: read_file + load_table x15 (COPY), one transaction",
        secs(ferry.total),
        "<=1.10x",
        secs(ferry.total) / secs(reference)
    );
    println!(
        "    {:<58} {:>7.2}s {:>8} {:>11.2}x",
        "reference: psql -1, \\copy ... CSV HEADER per file",
        secs(reference),
        "",
        1.0
    );
    println!(
        "    ferry's split: read {:.2}s, insert {:.2}s, commit {:.2}s",
        secs(ferry.read),
        secs(ferry.insert),
        secs(ferry.commit)
    );
}

/// Sum of the recorded seconds of the tables whose names start with `prefix`.
fn table_seconds(show: &serde_json::Value, prefix: &str) -> f64 {
    show["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["table"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .filter_map(|t| t["seconds"].as_f64())
        .sum()
}

fn end_to_end(dir: &Path, total: u64, runs: usize) {
    eprintln!("peer: end to end, {runs} runs of `ferry run`…");
    let sb = Sandbox::sqlite();
    let template = sb.path().join("sis-template.db");
    let url = fresh_sqlite(&template);
    batch(&url, SIS_SCHEMA_SQLITE);
    batch(
        &url,
        &std::fs::read_to_string(dir.join(SIS_DATA_FILE)).expect("sis-data.sql"),
    );
    let sis = sb.path().join("sis.db");
    sb.config(&format!(
        "[connections.peer-files]\nkind = \"local\"\npath = \"{}\"\n\n\
         [jobs.peer]\nplugin = \"florida-peer\"\ntimeout = \"30m\"\n\
         fetch = [{{ connection = \"peer-files\", pattern = \"*.csv\" }}]\n\n\
         [jobs.peer.settings]\ndistrict_id = \"{DISTRICT}\"\nschool_year = {SCHOOL_YEAR}\n\
         target_database = \"{}\"\n",
        dir.display(),
        sqlite_url(&sis)
    ));
    let run_date = format!("run_date={RUN_DATE}");
    let mut walls = Vec::new();
    let mut shows = Vec::new();
    for _ in 0..runs {
        for suffix in ["-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sis.display()));
        }
        std::fs::copy(&template, &sis).expect("copy the SIS");
        let (wall, show) = crate::timed_run(&sb, "peer", &["--set", &run_date]);
        assert!(
            table_seconds(&show, "fl_peer_") > 0.0,
            "the run recorded its table stats"
        );
        let loaded: i64 = show["tables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["table"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("fl_peer_"))
            })
            .filter_map(|t| t["rows"].as_i64())
            .sum();
        assert_eq!(loaded as u64, total, "the run loaded every row");
        walls.push((wall, shows.len()));
        shows.push(show);
    }
    walls.sort();
    let (wall, index) = walls[walls.len() / 2];
    let show = &shows[index];
    let fetch: f64 = show["transfers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["seconds"].as_f64())
        .sum();
    let recorded = show["duration_seconds"].as_f64().unwrap_or(f64::NAN);
    let before = seconds_between(&show["started_at"], &show["entered_at"]);
    let (loads, students, logs) = (
        table_seconds(show, "fl_peer_"),
        table_seconds(show, "students."),
        table_seconds(show, "custom_field_log_entries."),
    );
    println!("\n  End to end on SQLite: `ferry run` of a florida-peer job (median of {runs})");
    println!(
        "    {:<58} {:>8} {:>8} {:>12}",
        "", "wall", "target", "vs target"
    );
    println!(
        "    {:<58} {:>7.2}s {:>7}s {:>11.2}x",
        "ferry run (whole process: fetch, read, load, populate)",
        secs(wall),
        10,
        secs(wall) / 10.0
    );
    println!(
        "    that run as recorded ({}): {recorded:.2}s from start to finish, of which",
        show["status"].as_str().unwrap_or("?")
    );
    println!(
        "      {before:.2}s before the plugin ran: worker start and fetch ({fetch:.2}s copying), \
         with the fetch's {:.0}s settle pause",
        secs(ferry::transfer::FetchSpec::default().settle)
    );
    println!(
        "      {:.2}s in the plugin: fl_peer_* loads {loads:.2}s, students.* {students:.2}s, \
         log entries {logs:.2}s, the rest (reading, plan, commit) {:.2}s",
        recorded - before,
        recorded - before - loads - students - logs
    );
}

/// Seconds from one RFC 3339 instant of `ferry show --json` to another.
fn seconds_between(from: &serde_json::Value, to: &serde_json::Value) -> f64 {
    let at = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (at(from), at(to)) {
        (Some(from), Some(to)) => (to - from).as_seconds_f64(),
        _ => f64::NAN,
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
