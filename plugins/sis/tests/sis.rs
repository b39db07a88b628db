//! The `ferry-sis` suite. Every `both!` test runs twice, on a fresh SQLite file and in a fresh
//! PostgreSQL schema, so the two backends are held to the same behaviour.
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test creates its own schema `ferry_sis_t_*`,
//! reaches it through the URL's `options=-c search_path=...`, and drops it when done, passed or
//! failed: [`ferry_sis::testing::TestDb`], which the jobs' tests use too.

use chrono::NaiveDate;
use ferry_sis::testing::{TestDb, postgres_base_url};
use ferry_sis::{Backend, Migration, Sis, SisError, Value, ValueRef, migrate};

/// The prefix of this suite's PostgreSQL schemas.
const SCHEMA_PREFIX: &str = "ferry_sis_t";

/// Declares `mod $name { sqlite(), postgres() }`, each running the body on its own database.
macro_rules! both {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            use super::*;

            fn body($db: &TestDb) $body

            #[test]
            fn sqlite() {
                body(&TestDb::sqlite());
            }

            #[test]
            fn postgres() {
                body(&TestDb::postgres(SCHEMA_PREFIX));
            }
        }
    };
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// A table with one column of each kind; the types read the same on both backends.
const KINDS_TABLE: &str = "(id INTEGER NOT NULL, i BIGINT, r DOUBLE PRECISION, s TEXT, d DATE)";

/// Rows with every kind of value, NULL next to empty text, and text that trips up CSV/COPY.
fn awkward_rows() -> Vec<Vec<Value>> {
    let texts = [
        "",
        "plain",
        "a,b,c",
        "\"quoted\"",
        "it's",
        "line one\nline two",
        "crlf\r\nend",
        "back\\slash",
        "tab\there",
        "\\N",
        "NULL",
        "\\.",
        " padded ",
        "ünïcødé 日本語 🎉",
        "mixed ,\"'\\\t\n everything",
    ];
    let mut rows: Vec<Vec<Value>> = texts
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let n = n as i64;
            vec![
                Value::Int(n),
                Value::Int(n * 1_000_003 - 7),
                Value::Real(n as f64 / 3.0),
                text(s),
                Value::Date(date(2000 + n as i32, 1 + (n % 12) as u32, 28)),
            ]
        })
        .collect();
    let next = rows.len() as i64;
    rows.push(vec![
        Value::Int(next),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ]);
    rows.push(vec![
        Value::Int(next + 1),
        Value::Int(i64::MIN),
        Value::Real(-1.5e300),
        text(&"long text ".repeat(2000)),
        Value::Date(date(1, 1, 1)),
    ]);
    rows.push(vec![
        Value::Int(next + 2),
        Value::Int(i64::MAX),
        Value::Real(1e-300),
        text("0.1"),
        Value::Date(date(9999, 12, 31)),
    ]);
    rows.push(vec![
        Value::Int(next + 3),
        Value::Int(0),
        Value::Real(0.1),
        text("2024-02-29"),
        Value::Date(date(2024, 2, 29)),
    ]);
    rows
}

fn all_rows(sis: &mut Sis, table: &str) -> Vec<Vec<Value>> {
    let mut tx = sis.transaction().unwrap();
    let rows = tx
        .query(
            &format!("SELECT id, i, r, s, d FROM {table} ORDER BY id"),
            &[],
        )
        .unwrap();
    tx.commit().unwrap();
    rows
}

both!(
    every_kind_round_trips_through_bulk_insert_and_execute,
    |db| {
        let mut sis = db.connect();
        let rows = awkward_rows();
        let mut tx = sis.transaction().unwrap();
        tx.batch(&format!(
            "CREATE TABLE bulk {KINDS_TABLE}; CREATE TABLE single {KINDS_TABLE};"
        ))
        .unwrap();
        let loaded = tx
            .bulk_insert("bulk", &["id", "i", "r", "s", "d"], rows.iter())
            .unwrap();
        assert_eq!(loaded, rows.len() as u64);
        for row in &rows {
            let changed = tx
                .execute(
                    "INSERT INTO single (id, i, r, s, d) VALUES (?, ?, ?, ?, ?)",
                    row,
                )
                .unwrap();
            assert_eq!(changed, 1);
        }
        tx.commit().unwrap();

        assert_eq!(all_rows(&mut sis, "bulk"), rows);
        assert_eq!(all_rows(&mut sis, "single"), rows);

        // NULL and "" stay apart, and bind apart in WHERE clauses.
        let mut tx = sis.transaction().unwrap();
        for table in ["bulk", "single"] {
            let empty = tx
                .query(&format!("SELECT id FROM {table} WHERE s = ?"), &[text("")])
                .unwrap();
            assert_eq!(empty, vec![vec![Value::Int(0)]], "{table}: empty text");
            let null = tx
                .query(&format!("SELECT id FROM {table} WHERE s IS NULL"), &[])
                .unwrap();
            assert_eq!(null, vec![vec![Value::Int(15)]], "{table}: null");
            let by_date = tx
                .query(
                    &format!("SELECT id FROM {table} WHERE d = ?"),
                    &[Value::Date(date(2024, 2, 29))],
                )
                .unwrap();
            assert_eq!(
                by_date,
                vec![vec![Value::Int(18)]],
                "{table}: date parameter"
            );
        }
    }
);

both!(borrowed_rows_load_like_owned_ones, |db| {
    let mut sis = db.connect();
    let rows = awkward_rows();
    let borrowed: Vec<Vec<ValueRef<'_>>> = rows
        .iter()
        .map(|row| row.iter().map(ValueRef::from).collect())
        .collect();
    let mut tx = sis.transaction().unwrap();
    tx.batch(&format!("CREATE TABLE borrowed {KINDS_TABLE}"))
        .unwrap();
    let loaded = tx
        .bulk_insert("borrowed", &["id", "i", "r", "s", "d"], &borrowed)
        .unwrap();
    assert_eq!(loaded, rows.len() as u64);
    // ISO text goes into a DATE column as the date it spells, on both backends.
    tx.bulk_insert(
        "borrowed",
        &["id", "s", "d"],
        [[
            ValueRef::Int(100),
            ValueRef::from(Some("iso")),
            ValueRef::Text("2025-04-22"),
        ]],
    )
    .unwrap();
    tx.commit().unwrap();
    let mut expected = rows.clone();
    expected.push(vec![
        Value::Int(100),
        Value::Null,
        Value::Null,
        text("iso"),
        Value::Date(date(2025, 4, 22)),
    ]);
    assert_eq!(all_rows(&mut sis, "borrowed"), expected);
});

both!(placeholders_inside_literals_are_left_alone, |db| {
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    let rows = tx
        .query(
            "SELECT 'why?' AS q, ? + 1 AS n, 'it''s?' AS r",
            &[Value::Int(41)],
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![text("why?"), Value::Int(42), text("it's?")]]
    );
});

both!(one_statement_binds_different_kinds_over_time, |db| {
    // PostgreSQL fixes a prepared statement's parameter types; the same SQL bound first with
    // NULL (type inferred as the column's) and then with values must still work.
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    tx.batch("CREATE TABLE k (id INTEGER, n INTEGER, s TEXT, d DATE)")
        .unwrap();
    let insert = "INSERT INTO k (id, n, s, d) VALUES (?, ?, ?, ?)";
    tx.execute(
        insert,
        &[Value::Int(1), Value::Null, Value::Null, Value::Null],
    )
    .unwrap();
    tx.execute(
        insert,
        &[
            Value::Int(2),
            Value::Int(7),
            text("x"),
            Value::Date(date(2020, 5, 1)),
        ],
    )
    .unwrap();
    tx.execute(insert, &[Value::Int(3), Value::Null, text(""), Value::Null])
        .unwrap();
    let rows = tx
        .query("SELECT id, n, s, d FROM k ORDER BY id", &[])
        .unwrap();
    assert_eq!(
        rows,
        vec![
            vec![Value::Int(1), Value::Null, Value::Null, Value::Null],
            vec![
                Value::Int(2),
                Value::Int(7),
                text("x"),
                Value::Date(date(2020, 5, 1))
            ],
            vec![Value::Int(3), Value::Null, text(""), Value::Null],
        ]
    );
});

both!(bulk_insert_loads_200000_rows, |db| {
    const N: i64 = 200_000;
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    tx.batch("CREATE TABLE big (id INTEGER, name TEXT, born DATE, score DOUBLE PRECISION)")
        .unwrap();
    let start = std::time::Instant::now();
    let rows = (0..N).map(|n| {
        vec![
            Value::Int(n),
            Value::Text(format!("student {n}, \"the\" {}", n % 7)),
            Value::Date(date(
                2005 + (n % 10) as i32,
                1 + (n % 12) as u32,
                1 + (n % 28) as u32,
            )),
            if n % 5 == 0 {
                Value::Null
            } else {
                Value::Real(n as f64 / 4.0)
            },
        ]
    });
    let loaded = tx
        .bulk_insert("big", &["id", "name", "born", "score"], rows)
        .unwrap();
    println!("{}: {N} rows in {:?}", db.backend(), start.elapsed());
    assert_eq!(loaded, N as u64);
    tx.commit().unwrap();

    let mut tx = sis.transaction().unwrap();
    let stats = tx
        .query(
            "SELECT COUNT(*), SUM(id), COUNT(score), MAX(name) FROM big",
            &[],
        )
        .unwrap();
    assert_eq!(stats[0][0], Value::Int(N));
    assert_eq!(stats[0][1].as_f64(), Some((N * (N - 1) / 2) as f64));
    assert_eq!(stats[0][2], Value::Int(N - N / 5));
    assert_eq!(stats[0][3], text("student 99999, \"the\" 4"));
});

both!(dropping_a_transaction_rolls_it_back, |db| {
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    tx.batch("CREATE TABLE t (id INTEGER, s TEXT)").unwrap();
    tx.commit().unwrap();

    {
        let mut tx = sis.transaction().unwrap();
        tx.bulk_insert("t", &["id", "s"], [vec![Value::Int(1), text("a")]])
            .unwrap();
        tx.execute(
            "INSERT INTO t (id, s) VALUES (?, ?)",
            &[Value::Int(2), text("b")],
        )
        .unwrap();
        tx.batch("CREATE TABLE never (x INTEGER)").unwrap();
        // dropped without commit
    }
    let mut tx = sis.transaction().unwrap();
    tx.execute(
        "INSERT INTO t (id, s) VALUES (?, ?)",
        &[Value::Int(3), text("c")],
    )
    .unwrap();
    tx.rollback().unwrap();

    // A failed statement spoils the transaction on both backends: later calls and the commit
    // fail, nothing is kept, and the connection is still usable afterwards.
    let mut tx = sis.transaction().unwrap();
    tx.execute(
        "INSERT INTO t (id, s) VALUES (?, ?)",
        &[Value::Int(4), text("d")],
    )
    .unwrap();
    let error = tx
        .execute("INSERT INTO nowhere (x) VALUES (1)", &[])
        .unwrap_err();
    assert!(matches!(error, SisError::Sql { .. }), "{error}");
    assert!(error.to_string().contains("nowhere"), "{error}");
    let error = tx
        .execute(
            "INSERT INTO t (id, s) VALUES (?, ?)",
            &[Value::Int(5), text("e")],
        )
        .unwrap_err();
    assert!(matches!(error, SisError::Aborted), "{error}");
    assert!(matches!(tx.commit(), Err(SisError::Aborted)));

    // A bulk load failing half-way (on SQLite after the first row went in) keeps nothing.
    let mut tx = sis.transaction().unwrap();
    let error = tx
        .bulk_insert(
            "t",
            &["id", "s"],
            vec![vec![Value::Int(6), text("f")], vec![Value::Int(7)]],
        )
        .unwrap_err();
    assert!(
        matches!(error, SisError::RowWidth { row: 2, .. }),
        "{error}"
    );
    assert!(matches!(tx.commit(), Err(SisError::Aborted)));

    let mut tx = sis.transaction().unwrap();
    assert_eq!(
        tx.query("SELECT COUNT(*) FROM t", &[]).unwrap(),
        vec![vec![Value::Int(0)]]
    );
    assert!(tx.query("SELECT COUNT(*) FROM never", &[]).is_err());
});

both!(temp_tables_update_from_within_a_transaction, |db| {
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    tx.batch(
        "CREATE TABLE students (id TEXT PRIMARY KEY, grade TEXT, entered DATE);
         INSERT INTO students (id, grade) VALUES ('1', '03'), ('2', '04'), ('3', '05');",
    )
    .unwrap();
    tx.commit().unwrap();

    let mut tx = sis.transaction().unwrap();
    tx.batch("CREATE TEMP TABLE peer_in (id TEXT, grade TEXT, entered DATE)")
        .unwrap();
    let loaded = tx
        .bulk_insert(
            "peer_in",
            &["id", "grade", "entered"],
            vec![
                vec![text("1"), text("KG"), Value::Date(date(2024, 8, 12))],
                vec![text("3"), Value::Null, Value::Null],
                vec![text("9"), text("12"), Value::Date(date(2024, 8, 13))],
            ],
        )
        .unwrap();
    assert_eq!(loaded, 3);
    let changed = tx
        .execute(
            "UPDATE students SET grade = p.grade, entered = p.entered
             FROM peer_in AS p WHERE students.id = p.id AND p.grade IS NOT NULL",
            &[],
        )
        .unwrap();
    assert_eq!(changed, 1);
    tx.commit().unwrap();

    let mut tx = sis.transaction().unwrap();
    assert_eq!(
        tx.query("SELECT id, grade, entered FROM students ORDER BY id", &[])
            .unwrap(),
        vec![
            vec![text("1"), text("KG"), Value::Date(date(2024, 8, 12))],
            vec![text("2"), text("04"), Value::Null],
            vec![text("3"), text("05"), Value::Null],
        ]
    );
});

const V1: Migration = Migration::new(1, "students", "CREATE TABLE m_students (id TEXT)");
const V2: Migration = Migration::new(
    2,
    "courses",
    "CREATE TABLE m_courses (id TEXT); INSERT INTO m_courses (id) VALUES ('a');",
);
const V3: Migration = Migration::new(3, "grades", "ALTER TABLE m_students ADD COLUMN grade TEXT");

fn migrate_once(sis: &mut Sis, owner: &str, list: &[Migration]) -> Result<Vec<i64>, SisError> {
    let mut tx = sis.transaction()?;
    let applied = migrate(&mut tx, owner, list)?;
    tx.commit()?;
    Ok(applied)
}

both!(migrate_applies_once_and_refuses_unknown_versions, |db| {
    let mut sis = db.connect();

    // Not committed: nothing stays, not even the bookkeeping table.
    {
        let mut tx = sis.transaction().unwrap();
        assert_eq!(migrate(&mut tx, "peer", &[V1, V2]).unwrap(), vec![1, 2]);
    }
    assert_eq!(
        migrate_once(&mut sis, "peer", &[V1, V2]).unwrap(),
        vec![1, 2]
    );
    assert_eq!(
        migrate_once(&mut sis, "peer", &[V1, V2]).unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(
        migrate_once(&mut sis, "peer", &[V1, V2, V3]).unwrap(),
        vec![3]
    );

    let error = migrate_once(&mut sis, "peer", &[V1, V2]).unwrap_err();
    assert!(
        matches!(&error, SisError::UnknownMigration { owner, version: 3 } if owner == "peer"),
        "{error}"
    );
    assert!(error.to_string().contains("newer"), "{error}");

    // Owners are independent; a bad list is refused before anything runs.
    let other = Migration::new(1, "other", "CREATE TABLE m_other (x INTEGER)");
    assert_eq!(migrate_once(&mut sis, "edfi", &[other]).unwrap(), vec![1]);
    let error = migrate_once(&mut sis, "edfi", &[V2, V1]).unwrap_err();
    assert!(matches!(error, SisError::Migration { .. }), "{error}");

    // A failing migration names itself and leaves nothing behind.
    let broken = Migration::new(
        2,
        "broken",
        "CREATE TABLE m_x (a INTEGER); SELECT * FROM nowhere;",
    );
    let error = migrate_once(&mut sis, "edfi", &[other, broken]).unwrap_err();
    assert!(
        error.to_string().contains("migration 2 (broken)"),
        "{error}"
    );

    let mut tx = sis.transaction().unwrap();
    let rows = tx
        .query(
            "SELECT owner, version, name FROM ferry_job_migrations ORDER BY owner, version",
            &[],
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![
            vec![text("edfi"), Value::Int(1), text("other")],
            vec![text("peer"), Value::Int(1), text("students")],
            vec![text("peer"), Value::Int(2), text("courses")],
            vec![text("peer"), Value::Int(3), text("grades")],
        ]
    );
    let stamped = tx
        .query("SELECT applied_at FROM ferry_job_migrations", &[])
        .unwrap();
    assert!(
        stamped
            .iter()
            .all(|r| r[0].as_str().is_some_and(|s| s.ends_with('Z')))
    );
    assert_eq!(
        tx.query("SELECT id, grade FROM m_students", &[]).unwrap(),
        Vec::<Vec<Value>>::new()
    );
    assert_eq!(
        tx.query("SELECT id FROM m_courses", &[]).unwrap(),
        vec![vec![text("a")]]
    );
    assert!(tx.query("SELECT a FROM m_x", &[]).is_err());
});

both!(bulk_insert_refuses_bad_rows_and_names, |db| {
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    tx.batch("CREATE TABLE t (id INTEGER, s TEXT)").unwrap();
    tx.commit().unwrap();

    let mut tx = sis.transaction().unwrap();
    let error = tx
        .bulk_insert(
            "t",
            &["id", "s"],
            vec![vec![Value::Int(1), text("a")], vec![Value::Int(2)]],
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            SisError::RowWidth {
                row: 2,
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{error}"
    );
    drop(tx);

    let bad_loads: [(&str, &str); 3] = [
        ("t; DROP TABLE t", "id"),
        ("t", "id) --"),
        ("missing_table", "id"),
    ];
    for (table, column) in bad_loads {
        let mut tx = sis.transaction().unwrap();
        let error = tx
            .bulk_insert(table, &[column], [vec![Value::Int(1)]])
            .unwrap_err();
        if table == "missing_table" {
            assert!(matches!(error, SisError::BulkLoad { .. }), "{error}");
            assert!(error.to_string().contains("missing_table"), "{error}");
        } else {
            assert!(matches!(error, SisError::Identifier(_)), "{error}");
        }
    }

    // Nothing of the failed loads stayed; the connection is still usable.
    let mut tx = sis.transaction().unwrap();
    assert_eq!(
        tx.query("SELECT COUNT(*) FROM t", &[]).unwrap(),
        vec![vec![Value::Int(0)]]
    );
});

both!(unreadable_column_types_are_named, |db| {
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    let sql = match tx.backend() {
        Backend::Sqlite => "SELECT x'00ff' AS payload",
        Backend::Postgres => "SELECT '\\x00ff'::bytea AS payload",
    };
    let error = tx.query(sql, &[]).unwrap_err();
    assert!(
        matches!(&error, SisError::UnsupportedColumn { column, .. } if column == "payload"),
        "{error}"
    );
});

#[test]
fn postgres_column_types_read_as_values() {
    let db = TestDb::postgres(SCHEMA_PREFIX);
    let mut sis = db.connect();
    let mut tx = sis.transaction().unwrap();
    let rows = tx
        .query(
            "SELECT 1::int2, 2::int4, 3::int8, true, 1.5::float4, 2.25::float8, 'v'::varchar,
                    'ab'::char(3), '2024-01-31'::date, '2024-01-31 10:20:30.5'::timestamp",
            &[],
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Value::Int(1),
            Value::Int(2),
            Value::Int(3),
            Value::Int(1),
            Value::Real(1.5),
            Value::Real(2.25),
            text("v"),
            text("ab "),
            Value::Date(date(2024, 1, 31)),
            text("2024-01-31 10:20:30.500"),
        ]]
    );
    // numeric reads as exactly the text PostgreSQL itself prints.
    let rows = tx
        .query(
            "SELECT v, v::text FROM (VALUES (12.50::numeric), (-0.001), (123456789.000000001),
                (0), (0.000), (1e20), ('NaN'), (10000), (0.00001), (-99999999.99)) AS t(v)",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 10);
    for row in rows {
        assert_eq!(row[0], row[1]);
    }
}

#[test]
fn sqlite_database_must_exist_unless_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let error = Sis::connect(&format!("sqlite://{}", path.display()), None).unwrap_err();
    assert!(matches!(error, SisError::Missing { .. }), "{error}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(!path.exists());

    let sis = Sis::connect(&format!("sqlite://{}?mode=rwc", path.display()), None).unwrap();
    assert_eq!(sis.backend(), Backend::Sqlite);
    drop(sis);
    assert!(path.exists());
    Sis::connect(&format!("sqlite:{}", path.display()), None).unwrap();

    let error =
        Sis::connect(&format!("sqlite://{}?cache=shared", path.display()), None).unwrap_err();
    assert!(matches!(error, SisError::Url { .. }), "{error}");
    let error = Sis::connect("mysql://db/sis", None).unwrap_err();
    assert!(matches!(error, SisError::Url { .. }), "{error}");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "this is not a database, not at all, not even close").unwrap();
    let error = Sis::connect(&format!("sqlite://{}", junk.display()), None).unwrap_err();
    assert!(matches!(error, SisError::Connect { .. }), "{error}");
}

#[test]
fn sqlite_read_only_mode_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sis.db");
    let mut sis = Sis::connect(&format!("sqlite://{}?mode=rwc", path.display()), None).unwrap();
    let mut tx = sis.transaction().unwrap();
    tx.batch("CREATE TABLE t (x INTEGER)").unwrap();
    tx.commit().unwrap();
    drop(sis);
    let mut sis = Sis::connect(&format!("sqlite://{}?mode=ro", path.display()), None).unwrap();
    let mut tx = sis.transaction().unwrap();
    assert_eq!(
        tx.query("SELECT COUNT(*) FROM t", &[]).unwrap(),
        vec![vec![Value::Int(0)]]
    );
    let error = tx.execute("INSERT INTO t (x) VALUES (1)", &[]).unwrap_err();
    assert!(error.to_string().contains("readonly"), "{error}");
}

#[test]
fn passwords_never_appear_in_errors() {
    const SECRET: &str = "Pa55-w0rd-SECRET";
    // A closed port.
    let error = Sis::connect("postgres://bogus_user@127.0.0.1:1/test", Some(SECRET)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, SisError::Connect { .. }), "{message}");
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
    assert!(!format!("{error:?}").contains(SECRET));

    // A password put in the URL anyway is masked too.
    let error =
        Sis::connect("postgres://bogus_user:UrlSecret99@127.0.0.1:1/test", None).unwrap_err();
    assert!(!error.to_string().contains("UrlSecret99"), "{error}");
    assert!(error.to_string().contains("bogus_user:***@"), "{error}");

    // A live server refusing an unknown user.
    let base = postgres_base_url();
    let rest = base.split_once("://").unwrap().1;
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let url = format!("postgres://bogus_user_{}@{host}", std::process::id());
    let error = Sis::connect(&url, Some(SECRET)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, SisError::Connect { .. }), "{message}");
    assert!(message.contains("bogus_user"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
}

#[test]
fn connect_creating_makes_a_missing_sqlite_database_and_its_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/folder/sis.db");
    let url = format!("sqlite://{}", path.display());
    assert!(Sis::connect(&url, None).is_err(), "connect never creates");
    let mut sis = Sis::connect_creating(&url, None).expect("created");
    let mut tx = sis.transaction().expect("tx");
    tx.batch("CREATE TABLE t (x INTEGER)").expect("create");
    tx.commit().expect("commit");
    drop(sis);
    assert!(path.is_file());
    // A second call opens the same database.
    let mut again = Sis::connect_creating(&url, None).expect("reopened");
    let mut tx = again.transaction().expect("tx");
    assert_eq!(
        tx.query("SELECT COUNT(*) FROM t", &[])
            .expect("t exists")
            .len(),
        1
    );
}
