//! The job's settings and per-run parameters, read and checked before anything is touched.
//!
//! Settings (in `[jobs.NAME.settings]`): `district_id`, `school_year`, `target_database` and the
//! optional `target_database_password_env|_file`, `column_aliases`, `excluded_schools`,
//! `allow_zero_or_null_updates`, `exclude_expired_accommodations`, `elements`. Parameters
//! (`ferry run … --set`): `run_date=YYYY-MM-DD` (default: today in the job's zone) and
//! `dry_run=true`.

use crate::fields::{DEFAULT_EXCLUDED_SCHOOLS, element_names};
use crate::populate::Options;
use crate::spec::spec_for_file;
use chrono::NaiveDate;
use ferry_plugin::{Context, Description, JobError, SettingKind, SettingSpec};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The settings as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    district_id: String,
    school_year: i32,
    target_database: String,
    #[serde(default)]
    column_aliases: BTreeMap<String, BTreeMap<String, String>>,
    excluded_schools: Option<Vec<String>>,
    #[serde(default)]
    allow_zero_or_null_updates: bool,
    #[serde(default)]
    exclude_expired_accommodations: bool,
    #[serde(default)]
    elements: Vec<String>,
}

/// Everything a run needs to know, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub district_id: String,
    pub school_year: i32,
    pub target_database: String,
    pub target_password: Option<String>,
    /// File name → (header name → column).
    pub column_aliases: BTreeMap<String, BTreeMap<String, String>>,
    pub options: Options,
    pub dry_run: bool,
}

/// The schema `ferry check` checks the job's settings against.
pub fn describe() -> Description {
    Description::new(
        "Florida PEER nightly import: loads FLDOE's fifteen PEER files into the fl_peer_* \
         background tables of the SIS and updates the students' PEER fields, in one transaction.",
    )
    .setting(SettingSpec::required(
        "district_id",
        SettingKind::String,
        "the FLDOE district number, e.g. \"13\"",
    ))
    .setting(SettingSpec::required(
        "school_year",
        SettingKind::Integer,
        "the calendar year the school year starts in (Focus's syear), e.g. 2025",
    ))
    .setting(SettingSpec::required(
        "target_database",
        SettingKind::String,
        "the SIS database: sqlite://PATH or postgres://USER@HOST/DB (no password here)",
    ))
    .setting(SettingSpec::optional(
        "target_database_password",
        SettingKind::Secret,
        "the SIS database password",
    ))
    .setting(SettingSpec::optional(
        "column_aliases",
        SettingKind::Table,
        "other header names per file: { \"ActiveIEPs.csv\" = { \"Amendment Date\" = \"ammendment_date\" } }",
    ))
    .setting(SettingSpec::optional(
        "excluded_schools",
        SettingKind::StringList,
        "students primarily enrolled here are not touched (default 3518, 3900, 9997, ZZZZ, YYYY, WWWW, 9995, TRAN)",
    ))
    .setting(SettingSpec::optional(
        "allow_zero_or_null_updates",
        SettingKind::Boolean,
        "write zero or blank values from the files (never to date fields); default false",
    ))
    .setting(SettingSpec::optional(
        "exclude_expired_accommodations",
        SettingKind::Boolean,
        "treat accommodation rows that ended before the run date as absent; default false",
    ))
    .setting(
        SettingSpec::optional(
            "elements",
            SettingKind::StringList,
            "the student fields and log fields to import (default: all)",
        )
        .one_of(element_names()),
    )
}

impl Settings {
    /// Reads the settings and the run's parameters.
    ///
    /// # Errors
    /// A setting or parameter that is missing or invalid, named with its value.
    pub fn from_context(ctx: &Context) -> Result<Settings, JobError> {
        let raw: Raw = ctx.settings_as()?;
        if raw.district_id.trim().is_empty() {
            return Err(JobError::settings("district_id must not be empty"));
        }
        if !(1990..=2200).contains(&raw.school_year) {
            return Err(JobError::settings(format!(
                "school_year = {} is not a school year (e.g. 2025)",
                raw.school_year
            )));
        }
        let known = element_names();
        if let Some(unknown) = raw.elements.iter().find(|e| !known.contains(e)) {
            return Err(JobError::settings(format!(
                "elements: unknown element {unknown:?} (accepted: {})",
                known.join(", ")
            )));
        }
        for (file, aliases) in &raw.column_aliases {
            let Some(spec) = spec_for_file(file) else {
                return Err(JobError::settings(format!(
                    "column_aliases: {file:?} is not a PEER file (e.g. \"ActiveIEPs.csv\")"
                )));
            };
            if let Some((header, column)) = aliases
                .iter()
                .find(|(_, column)| spec.column_index(column).is_none())
            {
                return Err(JobError::settings(format!(
                    "column_aliases.{file:?}: {header:?} = {column:?} names no column of {} \
                     (its columns: {})",
                    spec.table,
                    spec.columns.join(", ")
                )));
            }
        }
        let run_date = match ctx.param("run_date") {
            Some(text) => parse_run_date(text, "--set run_date")?,
            None => parse_run_date(ctx.today(), "the run's date")?,
        };
        let dry_run = match ctx.param("dry_run") {
            None => false,
            Some(text) => text.parse().map_err(|_| {
                JobError::settings(format!("--set dry_run={text:?}: expected true or false"))
            })?,
        };
        let excluded_schools = raw.excluded_schools.unwrap_or_else(|| {
            DEFAULT_EXCLUDED_SCHOOLS
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        });
        Ok(Settings {
            district_id: raw.district_id.trim().to_owned(),
            school_year: raw.school_year,
            target_database: raw.target_database,
            target_password: ctx.secret("target_database_password").map(str::to_owned),
            column_aliases: raw.column_aliases,
            options: Options {
                run_date,
                excluded_schools: excluded_schools
                    .into_iter()
                    .map(|s| s.trim().to_owned())
                    .collect(),
                allow_zero_or_null_updates: raw.allow_zero_or_null_updates,
                exclude_expired_accommodations: raw.exclude_expired_accommodations,
                elements: raw.elements.into_iter().collect::<BTreeSet<_>>(),
            },
            dry_run,
        })
    }
}

fn parse_run_date(text: &str, what: &str) -> Result<NaiveDate, JobError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| JobError::settings(format!("{what} = {text:?}: expected YYYY-MM-DD")))
}
