//! The fifteen PEER files: which table each one loads into and which columns it carries.
//!
//! This is the seed's "PEER Mapping" written down once, so the reader, the loader, the
//! migrations and the tests all agree on it. Each table also has `id`, `district_id` and
//! `syear`, which the import sets and which are therefore not file columns here. Columns are
//! listed in the seed's order (alphabetical there), which is also the order of the table's
//! columns in the migrations and of the values in a read row.

/// One PEER file and its background table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec {
    /// The file's name as FLDOE writes it in `PEER/OUT`.
    pub file: &'static str,
    /// The background table the file is loaded into.
    pub table: &'static str,
    /// The file columns stored in the table, in table order. Every one must be in the file.
    pub columns: &'static [&'static str],
    /// Columns the file carries that the seed reads but does not store. They are recognized
    /// (never reported as extra) but not required, since nothing depends on their values.
    pub read_only: &'static [&'static str],
}

impl FileSpec {
    /// The position of a stored column in [`FileSpec::columns`] (and so in a read row).
    pub fn column_index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == column)
    }

    /// Every column the file carries, stored and read-only, in the seed's order (which is how
    /// FLDOE writes the header): each read-only column stands where the seed's alphabetical
    /// listing puts it, before the first stored column that sorts after it.
    pub fn header(&self) -> Vec<&'static str> {
        let mut header = self.columns.to_vec();
        for column in self.read_only {
            let at = header
                .iter()
                .position(|c| c > column)
                .unwrap_or(header.len());
            header.insert(at, column);
        }
        header
    }
}

/// Every PEER file, in the seed's (and the issue's) order, which is also the load order.
pub const FILES: [FileSpec; 15] = [
    FileSpec {
        file: "ActiveEPs.csv",
        table: "fl_peer_active_eps",
        // `ammendment_date` is the seed's spelling, and so the column's name.
        columns: &[
            "ammendment_date",
            "ep_end_date",
            "ep_start_date",
            "initiation_date",
            "local_id",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "ActiveIEPs.csv",
        table: "fl_peer_active_ieps",
        columns: &[
            "aice",
            "ammendment_date",
            "assessment_type",
            "diploma_designation",
            "esy_services",
            "graduation_option",
            "ib",
            "iep_end_date",
            "iep_start_date",
            "initiation_date",
            "local_id",
            "other_exceptionalities",
            "primary_exceptionality",
            "reeval_due_date",
            "review_due_date",
            "special_diploma_type",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "ActiveSPs.csv",
        table: "fl_peer_active_service_plans",
        columns: &[
            "ammendment_date",
            "duration_date",
            "initiation_date",
            "local_id",
            "meeting_date",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "ActiveSec504Plans.csv",
        table: "fl_peer_active_504_plans",
        // The seed lists temp_plan_start_date before temp_plan_end_date (not alphabetical);
        // its order is kept.
        columns: &[
            "local_id",
            "meeting_date",
            "original_meeting_date",
            "temp_plan_start_date",
            "temp_plan_end_date",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPAssessmentAccommodations.csv",
        table: "fl_peer_assessment_accommodations",
        columns: &[
            "accommodation",
            "accommodation_type",
            "iep_end_date",
            "initiation_date",
            "local_id",
            "primary_exceptionality",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPClassroomAccommodations.csv",
        table: "fl_peer_classroom_accommodations",
        columns: &[
            "accommodation",
            "accommodation_type",
            "duration_date",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPLRE.csv",
        table: "fl_peer_iep_lre",
        columns: &[
            "duration_date",
            "early_childhood_program",
            "initiation_date",
            "local_id",
            "setting",
            "time_non_disabled_peers",
            "total_time",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "MatrixOfServices.csv",
        table: "fl_peer_matrix_services",
        // `review_dates` is text (a list of dates as FLDOE writes it), not a date column.
        columns: &[
            "cost_factor",
            "date_completed",
            "domain_a",
            "domain_b",
            "domain_c",
            "domain_d",
            "domain_e",
            "fefp_number",
            "local_id",
            "other_exceptionalities",
            "primary_exceptionality",
            "review_dates",
            "special_considerations",
            "total_ratings",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "Sec504AssessmentAccommodations.csv",
        table: "fl_peer_504_assessment_accommodations",
        columns: &[
            "accommodation",
            "accommodation_type",
            "local_id",
            "start_date",
            "temp_plan_end_date",
        ],
        // The seed: primary_exceptionality is "Only used in TEMP table, not imported into
        // actual table". The file has it; the table does not.
        read_only: &["primary_exceptionality"],
    },
    FileSpec {
        file: "Sec504PlansGeneralClassroomAcc-Services.csv",
        table: "fl_peer_504_classroom_accommodations",
        columns: &[
            "accommodation",
            "area_of_concern",
            "local_id",
            "persons_responsible",
            "start_date",
            "temp_plan_end_date",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPESYService.csv",
        table: "fl_peer_iep_esy_service",
        // The seed's FL_PEER_IEP_ESY_SERVICE listing omits `id` and `district_id` (it lists
        // `syear` only). The issue says every table gets id, district_id and syear, and the
        // import replaces rows per district, so this table has them like every other.
        columns: &[
            "duration_date",
            "esy_service",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPTransportationFTE.csv",
        table: "fl_peer_iep_transportation_fte",
        columns: &[
            "description",
            "end_date",
            "local_id",
            "start_date",
            "transportation_code",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPSuppAidsServices.csv",
        table: "fl_peer_iep_supp_aids_services",
        columns: &[
            "duration_date",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
            "service",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "IEPESEService.csv",
        table: "fl_peer_iep_ese_service",
        columns: &[
            "duration_date",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
            "service",
        ],
        read_only: &[],
    },
    FileSpec {
        file: "PEERStudentInfo.csv",
        table: "fl_peer_student_info",
        columns: &["grade", "local_id", "school_num", "school_title", "url"],
        read_only: &[],
    },
];

/// Whether a column holds a date (read as M/D/YYYY or YYYY-MM-DD, stored ISO): every column
/// ending in `_date`, and `date_completed`. `review_dates` is text.
pub fn is_date_column(column: &str) -> bool {
    column.ends_with("_date") || column == "date_completed"
}

/// The spec of a PEER file by its name. Case is ignored, since a file server or an operator
/// copying files by hand may change it; FLDOE's names differ by more than case.
pub fn spec_for_file(name: &str) -> Option<&'static FileSpec> {
    FILES
        .iter()
        .find(|spec| spec.file.eq_ignore_ascii_case(name))
}

/// The spec of a background table by its name.
pub fn spec_for_table(table: &str) -> Option<&'static FileSpec> {
    FILES.iter().find(|spec| spec.table == table)
}

/// The job's own migrations for a SQLite SIS, as (version, name, SQL); they create the
/// fifteen background tables. Twins of [`MIGRATIONS_POSTGRES`], same versions.
pub const MIGRATIONS_SQLITE: &[(i64, &str, &str)] = &[(
    1,
    "background_tables",
    include_str!("../migrations/sqlite/0001_background_tables.sql"),
)];

/// The job's own migrations for a PostgreSQL SIS, as (version, name, SQL).
pub const MIGRATIONS_POSTGRES: &[(i64, &str, &str)] = &[(
    1,
    "background_tables",
    include_str!("../migrations/postgres/0001_background_tables.sql"),
)];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The seed's "PEER Mapping" section, verbatim.
    const SEED_MAPPING: &str = include_str!("../testdata/seed-peer-mapping.txt");

    /// One table of the seed's mapping: its PEER file and its fields with their UI text.
    #[derive(Debug)]
    struct SeedTable {
        table: String,
        file: String,
        fields: Vec<(String, String)>,
    }

    /// Parses the seed text: a table starts at "Expand or collapse content FL_PEER_…"; a
    /// field is a line starting with a lowercase letter (its name is the leading
    /// `[a-z0-9_]` run, since the seed sometimes glues the UI text to it, as in
    /// "idNo UI Field"); the line after a field holds its UI text; the file ends in `.csv`.
    fn seed_tables() -> Vec<SeedTable> {
        let mut tables: Vec<SeedTable> = Vec::new();
        let lines: Vec<&str> = SEED_MAPPING.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(name) = line.strip_prefix("Expand or collapse content FL_PEER_") {
                tables.push(SeedTable {
                    table: format!("fl_peer_{}", name.to_ascii_lowercase()),
                    file: String::new(),
                    fields: Vec::new(),
                });
                continue;
            }
            let Some(table) = tables.last_mut() else {
                continue;
            };
            if line.ends_with(".csv") {
                table.file = (*line).to_owned();
            } else if line.starts_with(|c: char| c.is_ascii_lowercase()) {
                let name: String = line
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let rest = &line[name.len()..];
                let ui = if rest.is_empty() {
                    lines.get(i + 1).copied().unwrap_or_default()
                } else {
                    rest
                };
                table.fields.push((name, ui.to_owned()));
            }
        }
        tables
    }

    #[test]
    fn every_file_spec_has_exactly_the_seeds_columns_in_the_seeds_order() {
        let seed = seed_tables();
        assert_eq!(seed.len(), 15, "the seed maps fifteen tables");
        for (spec, seed) in FILES.iter().zip(&seed) {
            assert_eq!(spec.table, seed.table);
            assert_eq!(spec.file, seed.file, "file of {}", spec.table);
            let data: Vec<&(String, String)> = seed
                .fields
                .iter()
                .filter(|(name, _)| !["id", "district_id", "syear"].contains(&name.as_str()))
                .collect();
            let stored: Vec<&str> = data
                .iter()
                .filter(|(name, _)| !spec.read_only.contains(&name.as_str()))
                .map(|(name, _)| name.as_str())
                .collect();
            assert_eq!(spec.columns, stored.as_slice(), "columns of {}", spec.table);
            let header: Vec<&str> = data.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(spec.header(), header, "header of {}", spec.file);
            for (name, ui) in data
                .iter()
                .filter(|(n, _)| spec.read_only.contains(&n.as_str()))
            {
                assert!(
                    ui.contains("not imported into actual table"),
                    "{}.{name} is read-only only where the seed says so: {ui}",
                    spec.table
                );
            }
            assert_eq!(
                data.len(),
                spec.columns.len() + spec.read_only.len(),
                "every read-only column of {} is in the seed",
                spec.table
            );
            // id, district_id and syear are set during import wherever the seed lists them.
            for (name, ui) in &seed.fields {
                if ["id", "district_id", "syear"].contains(&name.as_str()) {
                    assert!(ui.contains("value is set during import"), "{name}: {ui}");
                }
            }
        }
    }

    #[test]
    fn the_seed_parser_sees_the_tables_as_written() {
        // Guards the parser above against reading the seed wrongly and agreeing with a
        // wrong spec: these are typed from the seed by hand.
        let seed = seed_tables();
        let fields = |table: &str| -> Vec<String> {
            seed.iter()
                .find(|t| t.table == table)
                .map(|t| t.fields.iter().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            fields("fl_peer_active_eps"),
            [
                "id",
                "ammendment_date",
                "district_id",
                "ep_end_date",
                "ep_start_date",
                "initiation_date",
                "local_id",
                "syear"
            ]
        );
        assert_eq!(
            fields("fl_peer_classroom_accommodations"),
            [
                "id",
                "accommodation",
                "accommodation_type",
                "district_id",
                "duration_date",
                "frequency",
                "initiation_date",
                "local_id",
                "location",
                "primary_exceptionality",
                "syear"
            ]
        );
        assert_eq!(
            fields("fl_peer_504_assessment_accommodations"),
            [
                "id",
                "accommodation",
                "accommodation_type",
                "district_id",
                "local_id",
                "primary_exceptionality",
                "start_date",
                "syear",
                "temp_plan_end_date"
            ]
        );
        // The seed's ESY listing lacks id and district_id (the spec keeps them; see FILES).
        assert_eq!(
            fields("fl_peer_iep_esy_service"),
            [
                "duration_date",
                "esy_service",
                "frequency",
                "initiation_date",
                "local_id",
                "location",
                "primary_exceptionality",
                "syear"
            ]
        );
    }

    #[test]
    fn spot_checks_of_whole_tables() {
        let spec = |file: &str| spec_for_file(file).expect("known file");
        assert_eq!(
            spec("MatrixOfServices.csv").columns,
            [
                "cost_factor",
                "date_completed",
                "domain_a",
                "domain_b",
                "domain_c",
                "domain_d",
                "domain_e",
                "fefp_number",
                "local_id",
                "other_exceptionalities",
                "primary_exceptionality",
                "review_dates",
                "special_considerations",
                "total_ratings"
            ]
        );
        assert_eq!(
            spec("IEPLRE.csv").columns,
            [
                "duration_date",
                "early_childhood_program",
                "initiation_date",
                "local_id",
                "setting",
                "time_non_disabled_peers",
                "total_time"
            ]
        );
        let s504 = spec("Sec504AssessmentAccommodations.csv");
        assert_eq!(
            s504.columns,
            [
                "accommodation",
                "accommodation_type",
                "local_id",
                "start_date",
                "temp_plan_end_date"
            ]
        );
        assert_eq!(s504.read_only, ["primary_exceptionality"]);
        assert_eq!(
            spec("ActiveSec504Plans.csv").columns,
            [
                "local_id",
                "meeting_date",
                "original_meeting_date",
                "temp_plan_start_date",
                "temp_plan_end_date"
            ]
        );
    }

    #[test]
    fn files_tables_and_lookups_are_the_issues() {
        let pairs: Vec<(&str, &str)> = FILES.iter().map(|s| (s.file, s.table)).collect();
        assert_eq!(
            pairs,
            [
                ("ActiveEPs.csv", "fl_peer_active_eps"),
                ("ActiveIEPs.csv", "fl_peer_active_ieps"),
                ("ActiveSPs.csv", "fl_peer_active_service_plans"),
                ("ActiveSec504Plans.csv", "fl_peer_active_504_plans"),
                (
                    "IEPAssessmentAccommodations.csv",
                    "fl_peer_assessment_accommodations"
                ),
                (
                    "IEPClassroomAccommodations.csv",
                    "fl_peer_classroom_accommodations"
                ),
                ("IEPLRE.csv", "fl_peer_iep_lre"),
                ("MatrixOfServices.csv", "fl_peer_matrix_services"),
                (
                    "Sec504AssessmentAccommodations.csv",
                    "fl_peer_504_assessment_accommodations"
                ),
                (
                    "Sec504PlansGeneralClassroomAcc-Services.csv",
                    "fl_peer_504_classroom_accommodations"
                ),
                ("IEPESYService.csv", "fl_peer_iep_esy_service"),
                ("IEPTransportationFTE.csv", "fl_peer_iep_transportation_fte"),
                ("IEPSuppAidsServices.csv", "fl_peer_iep_supp_aids_services"),
                ("IEPESEService.csv", "fl_peer_iep_ese_service"),
                ("PEERStudentInfo.csv", "fl_peer_student_info"),
            ]
        );
        assert_eq!(
            spec_for_file("ieplre.CSV").map(|s| s.table),
            Some("fl_peer_iep_lre")
        );
        assert_eq!(spec_for_file("IEPLRE.txt"), None);
        assert_eq!(
            spec_for_table("fl_peer_student_info").map(|s| s.file),
            Some("PEERStudentInfo.csv")
        );
        assert_eq!(spec_for_table("students"), None);
        assert_eq!(spec("ActiveIEPs.csv").column_index("esy_services"), Some(4));
        assert_eq!(spec("ActiveIEPs.csv").column_index("id"), None);
        // Every file has a local id, and no name is used twice.
        let files: BTreeSet<&str> = FILES.iter().map(|s| s.file).collect();
        let tables: BTreeSet<&str> = FILES.iter().map(|s| s.table).collect();
        assert_eq!((files.len(), tables.len()), (15, 15));
        for spec in &FILES {
            assert!(spec.column_index("local_id").is_some(), "{}", spec.file);
            let columns: BTreeSet<&str> = spec.columns.iter().copied().collect();
            assert_eq!(columns.len(), spec.columns.len(), "{}", spec.file);
        }
    }

    fn spec(file: &str) -> &'static FileSpec {
        spec_for_file(file).expect("known file")
    }

    #[test]
    fn date_columns_are_the_ones_ending_in_date_and_date_completed() {
        assert!(is_date_column("ammendment_date"));
        assert!(is_date_column("temp_plan_end_date"));
        assert!(is_date_column("date_completed"));
        assert!(!is_date_column("review_dates"));
        assert!(!is_date_column("local_id"));
        assert!(!is_date_column("date"));
        let dates: Vec<&str> = spec("MatrixOfServices.csv")
            .columns
            .iter()
            .copied()
            .filter(|c| is_date_column(c))
            .collect();
        assert_eq!(dates, ["date_completed"]);
        let all: BTreeSet<&str> = FILES
            .iter()
            .flat_map(|s| s.columns.iter().copied())
            .filter(|c| is_date_column(c))
            .collect();
        assert_eq!(
            all.into_iter().collect::<Vec<_>>(),
            [
                "ammendment_date",
                "date_completed",
                "duration_date",
                "end_date",
                "ep_end_date",
                "ep_start_date",
                "iep_end_date",
                "iep_start_date",
                "initiation_date",
                "meeting_date",
                "original_meeting_date",
                "reeval_due_date",
                "review_due_date",
                "start_date",
                "temp_plan_end_date",
                "temp_plan_start_date"
            ]
        );
    }

    /// The tables a migration creates, as (table, [(column, declared type)]), read from its
    /// SQL: every `CREATE TABLE name (` up to the closing `);`, one column per line.
    fn created_tables(sql: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut tables = Vec::new();
        let mut current: Option<(String, Vec<(String, String)>)> = None;
        for line in sql.lines() {
            let line = line.split("--").next().unwrap_or_default().trim();
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let name = rest.trim_end_matches('(').trim().to_owned();
                current = Some((name, Vec::new()));
            } else if line.starts_with(");") {
                tables.extend(current.take());
            } else if let Some((_, columns)) = current.as_mut() {
                if line.is_empty() {
                    continue;
                }
                let mut words = line.trim_end_matches(',').split_whitespace();
                let name = words.next().unwrap_or_default().to_owned();
                let declared = words.collect::<Vec<_>>().join(" ");
                columns.push((name, declared));
            }
        }
        assert!(current.is_none(), "a CREATE TABLE is not closed");
        tables
    }

    fn check_migration(sql: &str, id: &str, date: &str) {
        let tables = created_tables(sql);
        let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
        let expected: Vec<&str> = FILES.iter().map(|s| s.table).collect();
        assert_eq!(names, expected);
        for ((table, columns), spec) in tables.iter().zip(FILES.iter()) {
            let mut want = vec![
                ("id".to_owned(), id.to_owned()),
                ("district_id".to_owned(), "TEXT NOT NULL".to_owned()),
                ("syear".to_owned(), "INTEGER NOT NULL".to_owned()),
            ];
            for column in spec.columns {
                let ty = if is_date_column(column) { date } else { "TEXT" };
                want.push(((*column).to_owned(), ty.to_owned()));
            }
            assert_eq!(columns, &want, "columns of {table}");
            for index in [
                format!("CREATE INDEX {table}_district_syear ON {table} (district_id, syear);"),
                format!("CREATE INDEX {table}_local_id ON {table} (local_id);"),
            ] {
                assert!(sql.contains(&index), "{index}");
            }
        }
    }

    #[test]
    fn the_migrations_create_exactly_the_specs_tables_and_columns() {
        assert_eq!(MIGRATIONS_SQLITE.len(), MIGRATIONS_POSTGRES.len());
        for (sqlite, postgres) in MIGRATIONS_SQLITE.iter().zip(MIGRATIONS_POSTGRES) {
            assert_eq!((sqlite.0, sqlite.1), (postgres.0, postgres.1));
        }
        assert_eq!(
            (MIGRATIONS_SQLITE[0].0, MIGRATIONS_SQLITE[0].1),
            (1, "background_tables")
        );
        check_migration(MIGRATIONS_SQLITE[0].2, "INTEGER PRIMARY KEY", "DATE");
        check_migration(
            MIGRATIONS_POSTGRES[0].2,
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "DATE",
        );
    }
}
