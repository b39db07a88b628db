//! Keeps resolved secrets out of everything Ferry records or shows.

/// Replaces every occurrence of a resolved secret with `***`.
///
/// # Invariants
/// Every text a run writes to the store (log lines, errors, file paths, table names) passes
/// through [`Redactor::redact`] first, so a plugin that logs a password cannot leak it.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for these secret values (empty values are ignored).
    pub fn new<I: IntoIterator<Item = String>>(secrets: I) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_of_every_secret_is_masked() {
        let r = Redactor::new([
            "hunter2".to_owned(),
            "s3cr3t-token".to_owned(),
            String::new(),
        ]);
        assert_eq!(
            r.redact("login hunter2 then s3cr3t-token and hunter2"),
            "login *** then *** and ***"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let r = Redactor::new(["abc".to_owned(), "abcdef".to_owned()]);
        assert_eq!(r.redact("x abcdef y abc"), "x *** y ***");
    }
}
