//! Configuration errors as the admin sees them: `file:line:col: key: message`, all of them at
//! once, and the source map that turns a dotted key back into a line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// The dotted key it is about (`jobs.nightly.schedule`); empty when no key applies (a
    /// syntax error before any key, an unreadable file).
    pub key: String,
    /// What is wrong, and where useful how to fix it.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic about `dotted_key` of `config`, located where the key (or its nearest
    /// written parent) is in the file.
    pub fn at(config: &super::Config, dotted_key: &str, message: impl Into<String>) -> Diagnostic {
        config.sources.diagnostic(dotted_key, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// True if there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    /// One diagnostic per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(mut v: Vec<Diagnostic>) -> Self {
        sort(&mut v);
        Diagnostics(v)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Sorts diagnostics by position, keeping the order of those at the same place.
pub(crate) fn sort(v: &mut [Diagnostic]) {
    v.sort_by_key(|d| (d.line, d.col));
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: usize,
    pub col: usize,
}

/// Where each key of the configuration file was written, so that checks made after loading
/// (plugin settings against the plugin's schema) still point at a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    /// The file the keys were read from.
    pub file: PathBuf,
    /// Dotted key → where the key itself is written. A table opened by a header
    /// (`[jobs.nightly]`) is located at its name in the header.
    keys: BTreeMap<String, Location>,
}

impl SourceMap {
    /// An empty map for `file`: every key locates to 1:1.
    pub fn new(file: impl Into<PathBuf>) -> Self {
        SourceMap {
            file: file.into(),
            keys: BTreeMap::new(),
        }
    }

    /// Records where `dotted_key` is written.
    pub(crate) fn insert(&mut self, dotted_key: String, at: Location) {
        self.keys.entry(dotted_key).or_insert(at);
    }

    /// The line and column of `dotted_key`; for a key that is not written (a missing setting),
    /// those of its nearest written parent (`jobs.x.settings`, else `jobs.x`), else 1:1.
    pub fn locate(&self, dotted_key: &str) -> (usize, usize) {
        let mut key = dotted_key;
        loop {
            if let Some(at) = self.keys.get(key) {
                return (at.line, at.col);
            }
            match parent(key) {
                Some(p) => key = p,
                None => return (1, 1),
            }
        }
    }

    /// Whether `dotted_key` is written in the file.
    pub fn contains(&self, dotted_key: &str) -> bool {
        self.keys.contains_key(dotted_key)
    }

    /// A diagnostic about `dotted_key`, located where it (or its nearest parent) is written.
    pub fn diagnostic(&self, dotted_key: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.locate(dotted_key);
        Diagnostic {
            file: self.file.clone(),
            line,
            col,
            key: dotted_key.to_owned(),
            message: message.into(),
        }
    }
}

/// The parent of a dotted key: `a.b[0].c` → `a.b[0]` → `a.b` → `a` → none.
fn parent(key: &str) -> Option<&str> {
    if key.ends_with(']') {
        return key.rfind('[').map(|i| &key[..i]);
    }
    key.rfind('.').map(|i| &key[..i])
}

/// Appends a key segment to a dotted path, quoting segments that are not bare TOML keys.
pub(crate) fn join(path: &str, segment: &str) -> String {
    let bare = !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let seg = if bare {
        segment.to_owned()
    } else {
        format!("{segment:?}")
    };
    if path.is_empty() {
        seg
    } else {
        format!("{path}.{seg}")
    }
}

/// Converts byte offsets of a text into 1-based lines and character columns.
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The location of byte `offset` (clamped to the text).
    pub(crate) fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Location { line, col }
    }
}

/// Whether `span` contains byte `offset`.
pub(crate) fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// A diagnostic at an explicit location.
pub(crate) fn at(file: &Path, loc: Location, key: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_owned(),
        line: loc.line,
        col: loc.col,
        key: key.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_lines_and_characters_from_one() {
        let idx = LineIndex::new("ab\nçd = 1\n");
        assert_eq!(idx.locate(0), Location { line: 1, col: 1 });
        assert_eq!(idx.locate(3), Location { line: 2, col: 1 });
        // `d` follows the two-byte `ç`: byte 5, character column 2.
        assert_eq!(idx.locate(5), Location { line: 2, col: 2 });
        assert_eq!(idx.locate(999), Location { line: 3, col: 1 });
    }

    #[test]
    fn locate_falls_back_to_the_nearest_written_parent() {
        let mut map = SourceMap::new("f.toml");
        map.insert("jobs.a".into(), Location { line: 4, col: 7 });
        map.insert("jobs.a.fetch[0]".into(), Location { line: 9, col: 1 });
        assert_eq!(map.locate("jobs.a.settings.rows"), (4, 7));
        assert_eq!(map.locate("jobs.a.fetch[0].dir"), (9, 1));
        assert_eq!(map.locate("jobs.a.fetch[1].dir"), (4, 7));
        assert_eq!(map.locate("scheduler"), (1, 1));
    }

    #[test]
    fn diagnostics_print_one_per_line_with_key() {
        let d = Diagnostics::from(vec![
            Diagnostic {
                file: "c.toml".into(),
                line: 3,
                col: 1,
                key: "jobs.a.schedule".into(),
                message: "bad".into(),
            },
            Diagnostic {
                file: "c.toml".into(),
                line: 1,
                col: 5,
                key: String::new(),
                message: "syntax".into(),
            },
        ]);
        assert_eq!(
            d.to_string(),
            "c.toml:1:5: syntax\nc.toml:3:1: jobs.a.schedule: bad"
        );
    }

    #[test]
    fn join_quotes_keys_that_are_not_bare() {
        assert_eq!(join("", "jobs"), "jobs");
        assert_eq!(join("jobs", "a-b_1"), "jobs.a-b_1");
        assert_eq!(join("jobs", "a.b"), "jobs.\"a.b\"");
    }
}
