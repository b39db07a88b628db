//! Checking a job's `settings` table against the schema its plugin declares in `describe`.
//!
//! Loading cannot do this (it would have to load every plugin); `ferry check` and the runner do
//! it once they have the plugin's [`Description`]. Diagnostics point at the setting's key, or at
//! the job's settings table (else the job) for a missing one, through [`Config::sources`].

use super::diagnostic::{self, Diagnostic};
use super::secret;
use super::{Config, JobSpec};
use ferry_plugin::wire::{Description, SettingKind, SettingSpec};

/// Checks job `job`'s settings against `description`: unknown keys, missing required ones,
/// values of the wrong type, and secret settings written inline instead of `NAME_env` /
/// `NAME_file`. Empty when all is well.
pub fn check_settings(config: &Config, job: &str, description: &Description) -> Vec<Diagnostic> {
    let job_key = diagnostic::join("jobs", job);
    let Some(spec) = config.jobs.get(job) else {
        return vec![
            config
                .sources
                .diagnostic(&job_key, format!("no job named `{job}`")),
        ];
    };
    let settings_key = format!("{job_key}.settings");
    let at = |key: &str, message: String| config.sources.diagnostic(key, message);
    let find = |name: &str| description.settings.iter().find(|s| s.name == name);
    let mut out = Vec::new();

    if let Some(table) = spec.settings.as_object() {
        for (name, value) in table {
            let key = diagnostic::join(&settings_key, name);
            if let Some((base, _)) = secret::split_reference(name) {
                match find(base) {
                    Some(s) if s.kind == SettingKind::Secret => {}
                    Some(_) => out.push(at(
                        &key,
                        format!(
                            "`{base}` is not a secret setting of plugin `{}`: write {base} = VALUE",
                            spec.plugin
                        ),
                    )),
                    None => out.push(at(&key, unknown(spec, name, description))),
                }
                continue;
            }
            match find(name) {
                None => out.push(at(&key, unknown(spec, name, description))),
                Some(s) if s.kind == SettingKind::Secret => {
                    out.push(at(&key, secret::inline_secret_message(name)));
                }
                Some(s) => {
                    if let Some(problem) = type_problem(s, value) {
                        out.push(at(&key, problem));
                    }
                }
            }
        }
    }

    for s in description.settings.iter().filter(|s| s.required) {
        let present = if s.kind == SettingKind::Secret {
            spec.secrets.contains_key(&s.name)
        } else {
            spec.settings.get(&s.name).is_some()
        };
        if !present {
            let how = if s.kind == SettingKind::Secret {
                format!("{0}_env = \"VAR\" or {0}_file = \"/path\"", s.name)
            } else {
                format!("{} = {}", s.name, example(s.kind))
            };
            let doc = if s.doc.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.doc)
            };
            let (line, col) = config.sources.locate(&settings_key);
            out.push(Diagnostic {
                file: config.sources.file.clone(),
                line,
                col,
                key: diagnostic::join(&settings_key, &s.name),
                message: format!("missing required setting `{}`{doc}: add {how}", s.name),
            });
        }
    }
    diagnostic::sort(&mut out);
    out
}

/// The message for a key the plugin does not accept.
fn unknown(job: &JobSpec, name: &str, description: &Description) -> String {
    let accepted: Vec<String> = description
        .settings
        .iter()
        .map(|s| match s.kind {
            SettingKind::Secret => format!("{0}_env/{0}_file", s.name),
            _ => s.name.clone(),
        })
        .collect();
    let list = if accepted.is_empty() {
        "none".to_owned()
    } else {
        accepted.join(", ")
    };
    format!(
        "unknown setting `{name}` for plugin `{}` (it accepts: {list})",
        job.plugin
    )
}

/// Why `value` does not fit `spec`, if it does not.
fn type_problem(spec: &SettingSpec, value: &serde_json::Value) -> Option<String> {
    let ok = match spec.kind {
        SettingKind::String => value.is_string(),
        SettingKind::Integer => value.is_i64() || value.is_u64(),
        SettingKind::Float => value.is_number(),
        SettingKind::Boolean => value.is_boolean(),
        SettingKind::StringList => value
            .as_array()
            .is_some_and(|items| items.iter().all(serde_json::Value::is_string)),
        SettingKind::Table => value.is_object(),
        SettingKind::Secret => false,
    };
    if !ok {
        return Some(format!(
            "expected {}, found {}",
            kind_name(spec.kind),
            json_type(value)
        ));
    }
    if spec.choices.is_empty() {
        return None;
    }
    let given: Vec<&str> = match value {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    let unknown: Vec<&str> = given
        .into_iter()
        .filter(|v| !spec.choices.iter().any(|c| c == v))
        .collect();
    (!unknown.is_empty()).then(|| {
        format!(
            "unknown {} {} (accepted: {})",
            if unknown.len() == 1 {
                "value"
            } else {
                "values"
            },
            unknown
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
            spec.choices.join(", ")
        )
    })
}

fn kind_name(kind: SettingKind) -> &'static str {
    match kind {
        SettingKind::String => "a string",
        SettingKind::Integer => "an integer",
        SettingKind::Float => "a number",
        SettingKind::Boolean => "true or false",
        SettingKind::StringList => "a list of strings",
        SettingKind::Table => "a table",
        SettingKind::Secret => "a secret reference",
    }
}

fn example(kind: SettingKind) -> &'static str {
    match kind {
        SettingKind::String | SettingKind::Secret => "\"…\"",
        SettingKind::Integer => "1",
        SettingKind::Float => "1.0",
        SettingKind::Boolean => "true",
        SettingKind::StringList => "[\"…\"]",
        SettingKind::Table => "{ … }",
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match value {
        J::Null => "nothing",
        J::Bool(_) => "a boolean",
        J::Number(n) if n.is_f64() => "a float",
        J::Number(_) => "an integer",
        J::String(_) => "a string",
        J::Array(items) if items.iter().all(J::is_string) => "a list of strings",
        J::Array(_) => "a list",
        J::Object(_) => "a table",
    }
}
