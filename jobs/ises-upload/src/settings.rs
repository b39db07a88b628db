//! The job's settings and per-run parameters, read and checked before the SIS is touched, so a
//! typo in the configuration fails the run by name instead of producing a wrong Load File.
//!
//! Settings (in `[jobs.NAME.settings]`): `source_database` (+ the optional secret
//! `source_database_password`), `district_code`, `school_code` (`0000` for a district file),
//! `year`, `schools`, `next_term_start_date`, `upload_connection`, `upload_dir` (default `.`).
//! With `response_dir` the run waits (at most `response_timeout`, default 30 minutes) for the
//! state's answer on `response_connection` (default: the upload connection).
//! Parameter (`ferry run … --set`): `validate_only=true` builds and validates without uploading.

use std::time::Duration;

use chrono::NaiveDate;
use ferry_plugin::{Context, Description, JobError, SettingKind, SettingSpec};
use serde::Deserialize;

/// The settings as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    source_database: String,
    district_code: String,
    school_code: String,
    year: i32,
    #[serde(default)]
    schools: Vec<String>,
    next_term_start_date: Option<String>,
    upload_connection: String,
    upload_dir: Option<String>,
    response_connection: Option<String>,
    response_dir: Option<String>,
    response_timeout: Option<String>,
}

/// Everything a run needs to know, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source_database: String,
    pub source_password: Option<String>,
    pub district_code: String,
    pub school_code: String,
    pub year: i32,
    pub schools: Vec<String>,
    pub next_term_start_date: Option<NaiveDate>,
    pub upload_connection: String,
    pub upload_dir: String,
    /// Where and how long to wait for the state's answer; `None`: the run ends at the upload.
    pub response: Option<Response>,
    pub validate_only: bool,
}

/// Where the state's answer appears.
#[derive(Debug, Clone)]
pub struct Response {
    pub connection: String,
    pub dir: String,
    pub timeout: Duration,
}

/// How long a run waits for the state's answer when `response_timeout` is not set.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The schema `ferry check` checks the job's settings against.
pub fn describe() -> Description {
    Description::new(
        "Wisconsin ISES Discipline upload: builds the district's Discipline Load File from the \
         SIS, checks every upload business rule, and uploads it only when it passes.",
    )
    .setting(SettingSpec::required(
        "source_database",
        SettingKind::String,
        "the SIS database holding ises_incidents and ises_removals: sqlite://PATH or \
         postgres://USER@HOST/DB (no password here)",
    ))
    .setting(SettingSpec::optional(
        "source_database_password",
        SettingKind::Secret,
        "the SIS database password",
    ))
    .setting(SettingSpec::required(
        "district_code",
        SettingKind::String,
        "the district code, e.g. \"0130\"",
    ))
    .setting(SettingSpec::required(
        "school_code",
        SettingKind::String,
        "\"0000\" for a district file with every school, or one school's code",
    ))
    .setting(SettingSpec::required(
        "year",
        SettingKind::Integer,
        "the collection YEAR, e.g. 2008 for the 2007-08 school term",
    ))
    .setting(SettingSpec::optional(
        "schools",
        SettingKind::StringList,
        "school codes that get a 02 record even with no incidents",
    ))
    .setting(SettingSpec::optional(
        "next_term_start_date",
        SettingKind::String,
        "YYYY-MM-DD: the start of the term beginning in calendar year YEAR (removals may start \
         at most 10 days after it)",
    ))
    .setting(SettingSpec::required(
        "upload_connection",
        SettingKind::String,
        "the connection the Load File is uploaded through",
    ))
    .setting(SettingSpec::optional(
        "upload_dir",
        SettingKind::String,
        "the folder on the connection to upload into (default \".\")",
    ))
    .setting(SettingSpec::optional(
        "response_dir",
        SettingKind::String,
        "the folder where the state's answer (R_….html, …_DLF_NNNNN.csv) appears; unset: the \
         run ends at the upload",
    ))
    .setting(SettingSpec::optional(
        "response_connection",
        SettingKind::String,
        "the connection response_dir is on (default: upload_connection)",
    ))
    .setting(SettingSpec::optional(
        "response_timeout",
        SettingKind::String,
        "how long to wait for the state's answer, e.g. \"30m\" (the default) or \"2h\"",
    ))
}

impl Settings {
    /// Reads the settings and the run's parameters.
    ///
    /// # Errors
    /// A setting or parameter that is missing or invalid, named with its value.
    pub fn from_context(ctx: &Context) -> Result<Settings, JobError> {
        let raw: Raw = ctx.settings_as()?;
        let code = |name: &str, value: &str| -> Result<String, JobError> {
            let value = value.trim();
            if value.is_empty() || value.len() > 4 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(JobError::settings(format!(
                    "{name} = {value:?} is not a numeric code of at most 4 digits"
                )));
            }
            Ok(format!("{value:0>4}"))
        };
        let district_code = code("district_code", &raw.district_code)?;
        let school_code = code("school_code", &raw.school_code)?;
        let schools = raw
            .schools
            .iter()
            .map(|s| code("schools", s))
            .collect::<Result<Vec<_>, _>>()?;
        if !(1000..=9999).contains(&raw.year) {
            return Err(JobError::settings(format!(
                "year = {} is not a four-digit collection year (e.g. 2008)",
                raw.year
            )));
        }
        let next_term_start_date = match raw.next_term_start_date.as_deref() {
            None => None,
            Some(text) => Some(NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(
                |_| {
                    JobError::settings(format!(
                        "next_term_start_date = {text:?}: expected YYYY-MM-DD"
                    ))
                },
            )?),
        };
        if raw.upload_connection.trim().is_empty() {
            return Err(JobError::settings("upload_connection must not be empty"));
        }
        let upload_connection = raw.upload_connection.trim().to_owned();
        let response = match raw.response_dir.as_deref().map(str::trim) {
            None | Some("") => {
                if raw.response_timeout.is_some() || raw.response_connection.is_some() {
                    return Err(JobError::settings(
                        "response_timeout and response_connection need response_dir (the \
                         folder where the state's answer appears)",
                    ));
                }
                None
            }
            Some(dir) => Some(Response {
                connection: raw
                    .response_connection
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .unwrap_or(&upload_connection)
                    .to_owned(),
                dir: dir.to_owned(),
                timeout: match raw.response_timeout.as_deref() {
                    None => DEFAULT_RESPONSE_TIMEOUT,
                    Some(text) => humantime::parse_duration(text.trim()).map_err(|e| {
                        JobError::settings(format!(
                            "response_timeout = {text:?}: {e} (write e.g. \"30m\" or \"2h\")"
                        ))
                    })?,
                },
            }),
        };
        let validate_only = match ctx.param("validate_only") {
            None => false,
            Some(text) => text.trim().parse().map_err(|_| {
                JobError::settings(format!(
                    "--set validate_only={text:?}: expected true or false"
                ))
            })?,
        };
        Ok(Settings {
            source_database: raw.source_database,
            source_password: ctx.secret("source_database_password").map(str::to_owned),
            district_code,
            school_code,
            year: raw.year,
            schools,
            next_term_start_date,
            upload_connection,
            upload_dir: raw
                .upload_dir
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| ".".to_owned()),
            response,
            validate_only,
        })
    }
}
