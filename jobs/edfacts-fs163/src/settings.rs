//! The job's settings, read and checked before the source database is touched, so a typo in
//! the configuration fails the run by name instead of producing a wrong FS163 file.
//!
//! Settings (in `[jobs.NAME.settings]`): `level` (`LEA` | `SCH`), `format` (`fixed` | `csv` |
//! `tab`), `state` (the USPS code of the file name, e.g. `EU`), `version` (the SEA's submission
//! id, up to 7 alphanumerics), `file_identifier` (up to 32 characters), `reporting_period`
//! (`2019-2020` or `2019 2020`), `derive_from_incidents` (default `false`), `source_database`
//! (+ the optional secret `source_database_password`), `upload_connection`, `upload_dir`
//! (default `.`).
//!
//! Only what the file cannot be built without is checked here (the level, the format, a state
//! of two letters, the connection). The lengths and formats the seed fixes for the version, the
//! file identifier and the reporting period are the validator's
//! ([`validate`](crate::validate)), so they come out with the rest of the file's findings in the
//! run's report.

use ferry_plugin::{Context, Description, JobError, SettingKind, SettingSpec};
use serde::Deserialize;

use crate::model::{FileSpec, Format, Level};

/// The settings as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    level: String,
    format: String,
    state: String,
    version: String,
    file_identifier: String,
    reporting_period: String,
    #[serde(default)]
    derive_from_incidents: bool,
    source_database: String,
    upload_connection: String,
    upload_dir: Option<String>,
}

/// Everything a run needs to know, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The level reported: LEAs or schools.
    pub level: Level,
    /// Fixed width (`.txt`), comma (`.csv`) or tab (`.tab`) delimited.
    pub format: Format,
    /// The USPS state abbreviation, upper case as given (the file name lowers it).
    pub state: String,
    /// The SEA's submission id (`vvvvvvv` of the file name).
    pub version: String,
    /// The header's File Identifier.
    pub file_identifier: String,
    /// The header's File Reporting Period, e.g. `2019-2020`.
    pub reporting_period: String,
    /// Report a unit with a missing status but a firearm incident as `YESWITHREP`.
    pub derive_from_incidents: bool,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub source_database: String,
    /// The database password (the secret `source_database_password`), if any.
    pub source_password: Option<String>,
    /// The connection the file is delivered through.
    pub upload_connection: String,
    /// The folder on that connection (`.` is its root).
    pub upload_dir: String,
}

/// The schema `ferry check` checks the job's settings against.
pub fn describe() -> Description {
    Description::new(
        "EDFacts FS163 (GFSA reporting status) file: builds the LEA or school file from the \
         source database, checks every rule of the file specification, and delivers it only \
         when it passes.",
    )
    .setting(
        SettingSpec::required(
            "level",
            SettingKind::String,
            "the education units reported: LEA or SCH (schools)",
        )
        .one_of(["LEA", "SCH"]),
    )
    .setting(
        SettingSpec::required(
            "format",
            SettingKind::String,
            "fixed (.txt, fixed positions), csv (.csv, comma delimited) or tab (.tab, tab \
             delimited)",
        )
        .one_of(["fixed", "csv", "tab"]),
    )
    .setting(SettingSpec::required(
        "state",
        SettingKind::String,
        "the USPS state abbreviation that starts the file name, e.g. \"EU\"",
    ))
    .setting(SettingSpec::required(
        "version",
        SettingKind::String,
        "the SEA's id of this submission, up to 7 letters and digits, e.g. \"v000001\"",
    ))
    .setting(SettingSpec::required(
        "file_identifier",
        SettingKind::String,
        "the header's File Identifier: up to 32 characters of the SEA's choosing",
    ))
    .setting(SettingSpec::required(
        "reporting_period",
        SettingKind::String,
        "the school year reported: \"2019-2020\" or \"2019 2020\"",
    ))
    .setting(SettingSpec::optional(
        "derive_from_incidents",
        SettingKind::Boolean,
        "report a unit whose status is missing but which has a firearm incident (HG, SG, OF) \
         in ises_incidents as YESWITHREP (default false: a missing status is NO)",
    ))
    .setting(SettingSpec::required(
        "source_database",
        SettingKind::String,
        "the database holding edfacts_units (and ises_incidents for derive_from_incidents): \
         sqlite://PATH or postgres://USER@HOST/DB (no password here)",
    ))
    .setting(SettingSpec::optional(
        "source_database_password",
        SettingKind::Secret,
        "the source database password",
    ))
    .setting(SettingSpec::required(
        "upload_connection",
        SettingKind::String,
        "the connection the file is delivered through",
    ))
    .setting(SettingSpec::optional(
        "upload_dir",
        SettingKind::String,
        "the folder on the connection to deliver into (default \".\")",
    ))
}

impl Settings {
    /// Reads the settings of the run.
    ///
    /// # Errors
    /// A setting that is missing or invalid, named with its value.
    pub fn from_context(ctx: &Context) -> Result<Settings, JobError> {
        let raw: Raw = ctx.settings_as()?;
        Settings::from_raw(raw, ctx.secret("source_database_password"))
    }

    /// The checked settings of `value` (the job's settings as JSON) and the password secret.
    ///
    /// # Errors
    /// As [`Settings::from_context`].
    pub fn from_json(
        value: serde_json::Value,
        password: Option<&str>,
    ) -> Result<Settings, JobError> {
        let raw: Raw = serde_json::from_value(value)
            .map_err(|e| JobError::settings(format!("invalid settings: {e}")))?;
        Settings::from_raw(raw, password)
    }

    fn from_raw(raw: Raw, password: Option<&str>) -> Result<Settings, JobError> {
        let level = Level::parse(raw.level.trim()).ok_or_else(|| {
            JobError::settings(format!("level = {:?}: expected LEA or SCH", raw.level))
        })?;
        let format = Format::parse(raw.format.trim()).ok_or_else(|| {
            JobError::settings(format!(
                "format = {:?}: expected fixed, csv or tab",
                raw.format
            ))
        })?;
        let state = raw.state.trim().to_ascii_uppercase();
        if state.len() != 2 || !state.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(JobError::settings(format!(
                "state = {:?}: expected the two-letter USPS abbreviation (e.g. \"EU\")",
                raw.state
            )));
        }
        let upload_connection = raw.upload_connection.trim().to_owned();
        if upload_connection.is_empty() {
            return Err(JobError::settings("upload_connection must not be empty"));
        }
        if raw.source_database.trim().is_empty() {
            return Err(JobError::settings("source_database must not be empty"));
        }
        Ok(Settings {
            level,
            format,
            state,
            version: raw.version.trim().to_owned(),
            file_identifier: raw.file_identifier.trim().to_owned(),
            reporting_period: raw.reporting_period.trim().to_owned(),
            derive_from_incidents: raw.derive_from_incidents,
            source_database: raw.source_database.trim().to_owned(),
            source_password: password.map(str::to_owned),
            upload_connection,
            upload_dir: raw
                .upload_dir
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| ".".to_owned()),
        })
    }

    /// The file's parameters as [`file`](crate::file) and [`validate`](crate::validate) take
    /// them.
    pub fn spec(&self) -> FileSpec {
        FileSpec {
            level: self.level,
            format: self.format,
            state: self.state.clone(),
            version: self.version.clone(),
            file_identifier: self.file_identifier.clone(),
            reporting_period: self.reporting_period.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "level": "SCH",
            "format": "csv",
            "state": "eu",
            "version": "v000001",
            "file_identifier": "characters to identify file",
            "reporting_period": "2019-2020",
            "source_database": "sqlite://var/fs163.db",
            "upload_connection": "drop",
        })
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut v = base();
        v[key] = value;
        v
    }

    #[test]
    fn reads_every_setting_with_defaults() {
        let s = Settings::from_json(base(), Some("pw")).expect("valid");
        assert_eq!(s.level, Level::Sch);
        assert_eq!(s.format, Format::Csv);
        assert_eq!(s.state, "EU");
        assert_eq!(s.upload_dir, ".");
        assert!(!s.derive_from_incidents);
        assert_eq!(s.source_password.as_deref(), Some("pw"));
        let spec = s.spec();
        assert_eq!(spec.reporting_period, "2019-2020");
        assert_eq!(spec.version, "v000001");

        let s =
            Settings::from_json(with("derive_from_incidents", json!(true)), None).expect("valid");
        assert!(s.derive_from_incidents);
        let s = Settings::from_json(with("upload_dir", json!(" out/fs163 ")), None).expect("ok");
        assert_eq!(s.upload_dir, "out/fs163");
    }

    #[test]
    fn refuses_bad_values_by_name() {
        for (key, value, needle) in [
            ("level", json!("DISTRICT"), "level"),
            ("format", json!("xlsx"), "format"),
            ("state", json!("EUR"), "state"),
            ("state", json!("8"), "state"),
            ("upload_connection", json!(" "), "upload_connection"),
            ("source_database", json!(""), "source_database"),
        ] {
            let err = Settings::from_json(with(key, value), None)
                .expect_err(key)
                .to_string();
            assert!(err.contains(needle), "{key}: {err}");
        }
        let mut unknown = base();
        unknown["colour"] = json!("blue");
        assert!(Settings::from_json(unknown, None).is_err());
        let mut missing = base();
        missing
            .as_object_mut()
            .expect("object")
            .remove("reporting_period");
        assert!(Settings::from_json(missing, None).is_err());
    }

    #[test]
    fn describe_lists_choices_for_level_and_format() {
        let d = describe();
        let level = d
            .settings
            .iter()
            .find(|s| s.name == "level")
            .expect("level");
        assert_eq!(level.choices, ["LEA", "SCH"]);
        let format = d
            .settings
            .iter()
            .find(|s| s.name == "format")
            .expect("format");
        assert_eq!(format.choices, ["fixed", "csv", "tab"]);
        assert!(
            d.settings
                .iter()
                .any(|s| s.name == "source_database_password" && s.kind == SettingKind::Secret)
        );
    }
}
