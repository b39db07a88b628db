//! Builders for [`Description`] and [`SettingSpec`], so a plugin's `describe` reads like a table.

use crate::wire::{Description, SettingKind, SettingSpec};

impl Description {
    /// A description with this one-line summary and no settings yet.
    pub fn new(summary: impl Into<String>) -> Description {
        Description {
            summary: summary.into(),
            settings: Vec::new(),
        }
    }

    /// Adds an accepted setting.
    #[must_use]
    pub fn setting(mut self, spec: SettingSpec) -> Description {
        self.settings.push(spec);
        self
    }
}

impl SettingSpec {
    /// A setting the admin must give.
    pub fn required(name: impl Into<String>, kind: SettingKind, doc: impl Into<String>) -> Self {
        SettingSpec {
            name: name.into(),
            kind,
            required: true,
            doc: doc.into(),
            choices: Vec::new(),
        }
    }

    /// A setting the admin may leave out.
    pub fn optional(name: impl Into<String>, kind: SettingKind, doc: impl Into<String>) -> Self {
        SettingSpec {
            name: name.into(),
            kind,
            required: false,
            doc: doc.into(),
            choices: Vec::new(),
        }
    }

    /// Accepts only these values (for a string, or each item of a string list).
    #[must_use]
    pub fn one_of<I, S>(mut self, choices: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.choices = choices.into_iter().map(Into::into).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_keeps_settings_in_order_with_their_flags() {
        let d = Description::new("Copies files.")
            .setting(SettingSpec::required("dir", SettingKind::String, "where"))
            .setting(SettingSpec::optional(
                "password",
                SettingKind::Secret,
                "login",
            ));
        assert_eq!(d.summary, "Copies files.");
        assert_eq!(d.settings.len(), 2);
        assert!(d.settings[0].required);
        assert_eq!(d.settings[1].kind, SettingKind::Secret);
        assert!(!d.settings[1].required);
    }
}
