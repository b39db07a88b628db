//! The job's settings and run parameters, read and checked before the SIS or the API is
//! touched, so a typo fails the run by name instead of sending a wrong year or standard.
//!
//! Settings (`[jobs.NAME.settings]`), SIS and rules: `source_database` (+ secret
//! `source_database_password`), `api` (`"v3"` = Data Standard 5 on ODS/API 7.x, `"v2"` = the
//! Wisconsin ODS/API 2.x host), `school_year` (the scope year, as its end year: 2026 for
//! 2025-26), `active_year` (the SIS's Active Year; a later `school_year` is future data and sends
//! nothing; default: the school year, July 1 – June 30, that contains the run's date),
//! `descriptor_namespace` (v3 descriptor URIs, default `uri://ed-fi.org`),
//! `course_education_organization_id` (who owns the courses, default Wisconsin DPI's 48856),
//! `exclude_schools`, `exclude_calendars`.
//! HTTP (read here, used by the sync engine): `base_url`, `client_id`, secret `client_secret`
//! (`client_secret_env` / `client_secret_file`), `max_parallel` (default 4), `page_size`
//! (default and maximum 500). Parameter: `ferry run … --set full=true` resends every record
//! instead of only those whose content changed.

use chrono::{Datelike, NaiveDate};
use ferry_plugin::{Context, Description, JobError, SettingKind, SettingSpec};
use serde_json::{Map, Value};

use crate::error::EdfiError;
use crate::model::Standard;

/// The default descriptor namespace of v3 descriptor URIs.
pub const DEFAULT_DESCRIPTOR_NAMESPACE: &str = "uri://ed-fi.org";
/// Wisconsin DPI's education organization, which owns every course (seed "Courses").
pub const DEFAULT_COURSE_EDUCATION_ORGANIZATION_ID: i64 = 48856;
/// Requests in flight at once, by default.
pub const DEFAULT_MAX_PARALLEL: u32 = 4;
/// The largest page the ODS/API serves (`limit` above 500 is refused with a 400).
pub const MAX_PAGE_SIZE: u32 = 500;

/// The settings of one run, checked. `Debug` is written by hand so the secrets never print.
#[derive(Clone, PartialEq)]
pub struct Settings {
    pub source_database: String,
    pub source_password: Option<String>,
    pub standard: Standard,
    /// The scope year, as its end year (2026 for 2025-26).
    pub school_year: i32,
    /// The SIS's Active Year, as its end year.
    pub active_year: i32,
    /// v3 descriptor URIs are `{descriptor_namespace}/{Name}Descriptor#{code}`.
    pub descriptor_namespace: String,
    pub course_education_organization_id: i64,
    pub exclude_schools: Vec<i64>,
    pub exclude_calendars: Vec<String>,
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub max_parallel: u32,
    pub page_size: u32,
    /// `--set full=true`: send every record, not only changed ones.
    pub full: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("source_database", &self.source_database)
            .field(
                "source_password",
                &self.source_password.as_ref().map(|_| "***"),
            )
            .field("standard", &self.standard)
            .field("school_year", &self.school_year)
            .field("active_year", &self.active_year)
            .field("descriptor_namespace", &self.descriptor_namespace)
            .field(
                "course_education_organization_id",
                &self.course_education_organization_id,
            )
            .field("exclude_schools", &self.exclude_schools)
            .field("exclude_calendars", &self.exclude_calendars)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("max_parallel", &self.max_parallel)
            .field("page_size", &self.page_size)
            .field("full", &self.full)
            .finish()
    }
}

/// Settings with a secret kind (given as `NAME_env` or `NAME_file`).
const SECRETS: [&str; 2] = ["source_database_password", "client_secret"];

/// Plain settings this job knows.
const KNOWN: [&str; 13] = [
    "source_database",
    "api",
    "school_year",
    "active_year",
    "descriptor_namespace",
    "course_education_organization_id",
    "exclude_schools",
    "exclude_calendars",
    "base_url",
    "client_id",
    "max_parallel",
    "page_size",
    "full",
];

/// The schema `ferry check` checks the job's settings against.
pub fn describe() -> Description {
    Description::new(
        "Ed-Fi resync: pushes the district's locations, class periods, grading periods, \
         sessions, course offerings, sections, students, enrollments, rosters and staff \
         assignments from the SIS to the state's Ed-Fi ODS/API (v3 Data Standard 5, or \
         Wisconsin v2), sending only what changed.",
    )
    .setting(SettingSpec::required(
        "source_database",
        SettingKind::String,
        "the SIS database holding the edfi_* relations: sqlite://PATH or postgres://USER@HOST/DB \
         (no password here)",
    ))
    .setting(SettingSpec::optional(
        "source_database_password",
        SettingKind::Secret,
        "the SIS database password",
    ))
    .setting(SettingSpec::required(
        "api",
        SettingKind::String,
        "\"v3\" (ODS/API 7.x, Data Standard 5, /data/v3/ed-fi) or \"v2\" (Wisconsin ODS/API \
         2.x, /api/v2.0/{year})",
    ))
    .setting(SettingSpec::required(
        "school_year",
        SettingKind::Integer,
        "the scope year to sync, as its end year: 2026 for 2025-26",
    ))
    .setting(SettingSpec::optional(
        "active_year",
        SettingKind::Integer,
        "the SIS's Active Year (end year); a later school_year is future data and sends \
         nothing (default: the school year, July 1 to June 30, containing the run's date)",
    ))
    .setting(SettingSpec::optional(
        "descriptor_namespace",
        SettingKind::String,
        "v3 only: the namespace of descriptor URIs (default \"uri://ed-fi.org\")",
    ))
    .setting(SettingSpec::optional(
        "course_education_organization_id",
        SettingKind::Integer,
        "the education organization that owns the state's courses (default 48856, Wisconsin \
         DPI)",
    ))
    .setting(SettingSpec::optional(
        "exclude_schools",
        SettingKind::StringList,
        "school ids (Ed-Fi Entity IDs) never sent: the seed's School Exclude",
    ))
    .setting(SettingSpec::optional(
        "exclude_calendars",
        SettingKind::StringList,
        "calendar names never sent, besides calendars whose calendar_exclude is set",
    ))
    .setting(SettingSpec::required(
        "base_url",
        SettingKind::String,
        "the ODS/API host, e.g. https://ods.example.org/api (the job adds /oauth and /data/v3 \
         or /api/v2.0/{year})",
    ))
    .setting(SettingSpec::required(
        "client_id",
        SettingKind::String,
        "the API client's key",
    ))
    .setting(SettingSpec::required(
        "client_secret",
        SettingKind::Secret,
        "the API client's secret",
    ))
    .setting(SettingSpec::optional(
        "max_parallel",
        SettingKind::Integer,
        "requests in flight at once within one resource (default 4, at most 32)",
    ))
    .setting(SettingSpec::optional(
        "page_size",
        SettingKind::Integer,
        "records per GET page (default and maximum 500)",
    ))
}

impl Settings {
    /// Reads the settings, secrets and the `full` parameter of a run.
    ///
    /// # Errors
    /// A setting or parameter that is missing or invalid, named with its value.
    pub fn from_context(ctx: &Context) -> Result<Settings, JobError> {
        Settings::parse(
            ctx.settings(),
            ctx.param("full"),
            ctx.secret("source_database_password"),
            ctx.secret("client_secret"),
            chrono::Local::now().date_naive(),
        )
        .map_err(|e| JobError::settings(e.to_string()))
    }

    /// Reads settings from their JSON; `today` decides the default Active Year.
    ///
    /// # Errors
    /// [`EdfiError::Setting`] naming the setting and its value.
    pub fn parse(
        settings: &Value,
        full: Option<&str>,
        source_password: Option<&str>,
        client_secret: Option<&str>,
        today: NaiveDate,
    ) -> Result<Settings, EdfiError> {
        let empty = Map::new();
        let map = match settings {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => return Err(bad("settings", other, "expected a table")),
        };
        for key in map.keys() {
            let secret = SECRETS.iter().any(|s| {
                key.strip_prefix(s)
                    .is_some_and(|rest| rest == "_env" || rest == "_file")
            });
            if !secret && !KNOWN.contains(&key.as_str()) {
                return Err(EdfiError::Setting {
                    name: "settings",
                    value: key.clone(),
                    reason: format!("unknown setting (known: {})", KNOWN.join(", ")),
                });
            }
        }
        let standard = match text(map, "api")?.as_deref() {
            Some("v3") => Standard::Ds5,
            Some("v2") => Standard::V2,
            Some(other) => {
                return Err(EdfiError::Setting {
                    name: "api",
                    value: format!("{other:?}"),
                    reason: "expected \"v3\" (Data Standard 5) or \"v2\" (Wisconsin v2)".into(),
                });
            }
            None => return Err(missing("api")),
        };
        let school_year = match year(map, "school_year")? {
            Some(y) => y,
            None => return Err(missing("school_year")),
        };
        let active_year = year(map, "active_year")?.unwrap_or_else(|| school_year_of(today));
        let descriptor_namespace = text(map, "descriptor_namespace")?
            .unwrap_or_else(|| DEFAULT_DESCRIPTOR_NAMESPACE.to_owned());
        let descriptor_namespace = descriptor_namespace.trim_end_matches('/').to_owned();
        if !descriptor_namespace.starts_with("uri://") || descriptor_namespace.contains('#') {
            return Err(EdfiError::Setting {
                name: "descriptor_namespace",
                value: format!("{descriptor_namespace:?}"),
                reason: "expected uri://HOST[/PATH] without '#', e.g. \"uri://ed-fi.org\"".into(),
            });
        }
        let course_education_organization_id = integer(map, "course_education_organization_id")?
            .unwrap_or(DEFAULT_COURSE_EDUCATION_ORGANIZATION_ID);
        let exclude_schools = list(map, "exclude_schools")?
            .into_iter()
            .map(|s| {
                s.parse::<i64>().map_err(|_| EdfiError::Setting {
                    name: "exclude_schools",
                    value: format!("{s:?}"),
                    reason: "expected a school id (a number)".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let exclude_calendars = list(map, "exclude_calendars")?;
        let base_url = text(map, "base_url")?.ok_or_else(|| missing("base_url"))?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(EdfiError::Setting {
                name: "base_url",
                value: format!("{base_url:?}"),
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        let base_url = base_url.trim_end_matches('/').to_owned();
        let client_id = text(map, "client_id")?.ok_or_else(|| missing("client_id"))?;
        let client_secret = client_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| EdfiError::Setting {
                name: "client_secret",
                value: "(not set)".into(),
                reason: "give client_secret_env or client_secret_file".into(),
            })?
            .to_owned();
        let max_parallel = bounded(map, "max_parallel", DEFAULT_MAX_PARALLEL, 32)?;
        let page_size = bounded(map, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let full = match full.map(str::trim) {
            None => match map.get("full") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => return Err(bad("full", other, "expected true or false")),
            },
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(EdfiError::Setting {
                    name: "full",
                    value: format!("{other:?}"),
                    reason: "--set full= expects true or false".into(),
                });
            }
        };
        Ok(Settings {
            source_database: text(map, "source_database")?
                .ok_or_else(|| missing("source_database"))?,
            source_password: source_password.map(str::to_owned),
            standard,
            school_year,
            active_year,
            descriptor_namespace,
            course_education_organization_id,
            exclude_schools,
            exclude_calendars,
            base_url,
            client_id,
            client_secret,
            max_parallel,
            page_size,
            full,
        })
    }
}

/// The school year (as its end year) that contains `date`: July 1 – June 30, the seed's default
/// school-year dates.
pub fn school_year_of(date: NaiveDate) -> i32 {
    if date.month() >= 7 {
        date.year() + 1
    } else {
        date.year()
    }
}

fn missing(name: &'static str) -> EdfiError {
    EdfiError::Setting {
        name,
        value: "(not set)".into(),
        reason: "this setting is required".into(),
    }
}

fn bad(name: &'static str, value: &Value, reason: &str) -> EdfiError {
    EdfiError::Setting {
        name,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

fn text(map: &Map<String, Value>, name: &'static str) -> Result<Option<String>, EdfiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(bad(name, other, "expected a string")),
    }
}

fn integer(map: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, EdfiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(name, &Value::Number(n.clone()), "expected an integer")),
        Some(other) => Err(bad(name, other, "expected an integer")),
    }
}

fn year(map: &Map<String, Value>, name: &'static str) -> Result<Option<i32>, EdfiError> {
    match integer(map, name)? {
        None => Ok(None),
        Some(y) if (1990..=2999).contains(&y) => Ok(i32::try_from(y).ok()),
        Some(y) => Err(EdfiError::Setting {
            name,
            value: y.to_string(),
            reason: "expected a four-digit school end year, e.g. 2026 for 2025-26".into(),
        }),
    }
}

fn bounded(
    map: &Map<String, Value>,
    name: &'static str,
    default: u32,
    max: u32,
) -> Result<u32, EdfiError> {
    match integer(map, name)? {
        None => Ok(default),
        Some(n) if n >= 1 && n <= i64::from(max) => Ok(u32::try_from(n).unwrap_or(default)),
        Some(n) => Err(EdfiError::Setting {
            name,
            value: n.to_string(),
            reason: format!("expected 1 to {max}"),
        }),
    }
}

/// A list of strings; numbers are taken as their digits (school ids written as integers).
fn list(map: &Map<String, Value>, name: &'static str) -> Result<Vec<String>, EdfiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(bad(name, other, "expected a list of strings")),
            })
            .collect(),
        Some(other) => Err(bad(name, other, "expected a list of strings")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn minimal() -> Value {
        json!({
            "source_database": "sqlite:///srv/sis.db",
            "api": "v3",
            "school_year": 2026,
            "base_url": "https://ods.example.org/api/",
            "client_id": "district-key",
            "client_secret_env": "EDFI_SECRET",
        })
    }

    fn parse(v: &Value) -> Result<Settings, EdfiError> {
        Settings::parse(v, None, None, Some("s3cret"), date(2026, 3, 1))
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let s = parse(&minimal()).expect("valid");
        let text = format!("{s:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("client_secret"), "{text}");
    }

    #[test]
    fn minimal_settings_take_the_defaults() {
        let s = parse(&minimal()).expect("valid");
        assert_eq!(s.standard, Standard::Ds5);
        assert_eq!(s.school_year, 2026);
        assert_eq!(s.active_year, 2026, "March 2026 is in 2025-26");
        assert_eq!(s.descriptor_namespace, "uri://ed-fi.org");
        assert_eq!(s.course_education_organization_id, 48856);
        assert_eq!(s.base_url, "https://ods.example.org/api");
        assert_eq!(s.client_secret, "s3cret");
        assert_eq!((s.max_parallel, s.page_size, s.full), (4, 500, false));
        assert!(s.exclude_schools.is_empty() && s.exclude_calendars.is_empty());
    }

    #[test]
    fn everything_set() {
        let mut v = minimal();
        let m = v.as_object_mut().expect("object");
        m.insert("api".into(), json!("v2"));
        m.insert("active_year".into(), json!(2025));
        m.insert("descriptor_namespace".into(), json!("uri://dpi.wi.gov/"));
        m.insert("exclude_schools".into(), json!(["255901044", 255901099]));
        m.insert("exclude_calendars".into(), json!(["HS Summer 2026"]));
        m.insert("max_parallel".into(), json!(8));
        m.insert("page_size".into(), json!(100));
        m.insert("source_database_password_file".into(), json!("/run/pw"));
        let s = Settings::parse(&v, Some("true"), Some("pw"), Some("x"), date(2026, 3, 1))
            .expect("valid");
        assert_eq!(s.standard, Standard::V2);
        assert_eq!(s.active_year, 2025);
        assert_eq!(s.descriptor_namespace, "uri://dpi.wi.gov");
        assert_eq!(s.exclude_schools, [255901044, 255901099]);
        assert_eq!(s.exclude_calendars, ["HS Summer 2026"]);
        assert_eq!((s.max_parallel, s.page_size, s.full), (8, 100, true));
        assert_eq!(s.source_password.as_deref(), Some("pw"));
    }

    #[test]
    fn the_default_active_year_turns_over_on_july_first() {
        assert_eq!(school_year_of(date(2026, 6, 30)), 2026);
        assert_eq!(school_year_of(date(2026, 7, 1)), 2027);
    }

    #[test]
    fn bad_settings_are_named() {
        let cases: [(&str, Value, &str); 8] = [
            ("api", json!("v4"), "api"),
            ("school_year", json!(26), "school_year"),
            ("page_size", json!(501), "page_size"),
            ("max_parallel", json!(0), "max_parallel"),
            (
                "descriptor_namespace",
                json!("ed-fi.org"),
                "descriptor_namespace",
            ),
            ("exclude_schools", json!(["north"]), "exclude_schools"),
            ("base_url", json!("ods.example.org"), "base_url"),
            ("shcool_year", json!(2026), "settings"),
        ];
        for (key, value, named) in cases {
            let mut v = minimal();
            v.as_object_mut()
                .expect("object")
                .insert(key.into(), value.clone());
            match parse(&v) {
                Err(EdfiError::Setting { name, .. }) => assert_eq!(name, named, "{key}={value}"),
                other => panic!("{key}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn required_settings_and_the_secret_are_checked() {
        for key in [
            "source_database",
            "api",
            "school_year",
            "base_url",
            "client_id",
        ] {
            let mut v = minimal();
            v.as_object_mut().expect("object").remove(key);
            let err = parse(&v).expect_err(key);
            assert!(err.to_string().contains(key), "{err}");
        }
        let err =
            Settings::parse(&minimal(), None, None, None, date(2026, 3, 1)).expect_err("no secret");
        assert!(err.to_string().contains("client_secret_env"), "{err}");
        let err = Settings::parse(&minimal(), Some("yes"), None, Some("x"), date(2026, 3, 1))
            .expect_err("bad full");
        assert!(err.to_string().contains("full"), "{err}");
    }

    #[test]
    fn describe_declares_the_http_settings() {
        let d = describe();
        let find = |name: &str| {
            d.settings
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{name} declared"))
        };
        assert_eq!(find("client_secret").kind, SettingKind::Secret);
        assert_eq!(find("source_database_password").kind, SettingKind::Secret);
        for name in ["base_url", "client_id", "max_parallel", "page_size", "api"] {
            find(name);
        }
        for name in KNOWN.iter().filter(|n| **n != "full") {
            find(name);
        }
    }
}
