//! Small SQL text helpers shared by both backends: `?` → `$n` placeholder rewriting (so callers
//! write one SQL text for SQLite and PostgreSQL), table/column name checks (names are spliced
//! into `INSERT` and `COPY` statements, so they must not be able to carry SQL), and short SQL
//! excerpts for error messages.

use crate::SisError;
use std::borrow::Cow;

/// Rewrites `?` placeholders to PostgreSQL's `$1, $2, ...`, leaving alone any `?` inside
/// single-quoted strings, double-quoted identifiers, dollar-quoted strings and comments.
/// Returns the text unchanged (borrowed) when it has no placeholder.
pub(crate) fn numbered_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0u32;
    let mut i = 0;
    // Each pass copies one run verbatim; runs end on ASCII delimiters, so on char boundaries.
    while i < bytes.len() {
        let start = i;
        match bytes[i] {
            b'?' => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                let quote = bytes[i];
                i += 1;
                // A doubled quote (`'it''s'`) ends this run and starts the next one at once,
                // which skips the same text as treating it as an escape.
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(bytes.len());
            }
            b'$' => match dollar_tag(&sql[i..]) {
                Some(tag) => {
                    i += tag.len();
                    match sql[i..].find(tag) {
                        Some(end) => i += end + tag.len(),
                        None => i = bytes.len(),
                    }
                }
                None => i += 1,
            },
            _ => {
                i += 1;
                while i < bytes.len()
                    && !matches!(bytes[i], b'?' | b'\'' | b'"' | b'-' | b'/' | b'$')
                {
                    i += 1;
                }
            }
        }
        out.push_str(&sql[start..i]);
    }
    Cow::Owned(out)
}

/// The opening tag of a dollar-quoted string (`$$` or `$name$`) at the start of `s`, if any.
/// `$1` is a positional parameter, not a tag: tags cannot start with a digit.
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = s.get(1..)?;
    let first = rest.chars().next()?;
    if first == '$' {
        return Some(&s[..2]);
    }
    if !(first.is_alphabetic() || first == '_') {
        return None;
    }
    let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    (rest.as_bytes()[len] == b'$').then(|| &s[..len + 2])
}

/// Checks a table or column name before it is spliced into SQL: dot-separated parts, each a
/// plain identifier (`[A-Za-z_][A-Za-z0-9_$]*`) or a double-quoted one (`"Mixed Case"`, with
/// `""` for a quote). Returns it unchanged, so case folding is the database's usual one.
pub(crate) fn checked_name(name: &str) -> Result<&str, SisError> {
    let bad = || SisError::Identifier(name.to_owned());
    let bytes = name.as_bytes();
    let mut i = 0;
    loop {
        match bytes.get(i) {
            Some(b'"') => {
                i += 1;
                let start = i;
                loop {
                    match bytes.get(i) {
                        None => return Err(bad()),
                        Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                if i == start {
                    return Err(bad());
                }
                i += 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                i += 1;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
                {
                    i += 1;
                }
            }
            _ => return Err(bad()),
        }
        match bytes.get(i) {
            None => return Ok(name),
            Some(b'.') => i += 1,
            Some(_) => return Err(bad()),
        }
    }
}

/// The start of a statement, on one line, for error messages (a whole migration script would
/// drown the actual error).
pub(crate) fn excerpt(sql: &str) -> String {
    const MAX: usize = 160;
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        flat
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_placeholders_in_order() {
        assert_eq!(
            numbered_placeholders("INSERT INTO t (a, b, c) VALUES (?, ?, ?)"),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)"
        );
        assert_eq!(numbered_placeholders("SELECT ?+?"), "SELECT $1+$2");
    }

    #[test]
    fn leaves_text_without_placeholders_borrowed() {
        assert!(matches!(
            numbered_placeholders("SELECT 1"),
            Cow::Borrowed("SELECT 1")
        ));
    }

    #[test]
    fn skips_question_marks_in_string_literals() {
        assert_eq!(
            numbered_placeholders("SELECT 'why?', ? WHERE x = 'a''?b' AND y = ?"),
            "SELECT 'why?', $1 WHERE x = 'a''?b' AND y = $2"
        );
        assert_eq!(numbered_placeholders("SELECT '?' || ?"), "SELECT '?' || $1");
    }

    #[test]
    fn skips_identifiers_comments_and_dollar_quotes() {
        assert_eq!(
            numbered_placeholders(
                "SELECT \"odd?name\" FROM t -- what?\nWHERE a = ? /* b? */ AND c = ?"
            ),
            "SELECT \"odd?name\" FROM t -- what?\nWHERE a = $1 /* b? */ AND c = $2"
        );
        assert_eq!(
            numbered_placeholders("SELECT $$a?b$$, $tag$?$tag$, ?"),
            "SELECT $$a?b$$, $tag$?$tag$, $1"
        );
        // `$1` is a parameter, not a dollar quote: what follows is still scanned.
        assert_eq!(
            numbered_placeholders("SELECT $1 || '?' || ?"),
            "SELECT $1 || '?' || $1"
        );
    }

    #[test]
    fn keeps_unicode_and_unterminated_text_intact() {
        assert_eq!(
            numbered_placeholders("SELECT 'ñandú?', ?, 'ü"),
            "SELECT 'ñandú?', $1, 'ü"
        );
        assert_eq!(
            numbered_placeholders("SELECT é, ? /* open"),
            "SELECT é, $1 /* open"
        );
        assert_eq!(
            numbered_placeholders("SELECT a - ?, b / ?"),
            "SELECT a - $1, b / $2"
        );
    }

    #[test]
    fn accepts_plain_qualified_and_quoted_names() {
        for ok in [
            "students",
            "s1.t_2",
            "\"Mixed Case\"",
            "public.\"a\"\"b\"",
            "_x$1",
        ] {
            assert_eq!(checked_name(ok).unwrap(), ok);
        }
    }

    #[test]
    fn refuses_names_that_could_carry_sql() {
        for bad in [
            "",
            "t; DROP TABLE x",
            "t--",
            "1abc",
            "a.",
            ".a",
            "\"open",
            "\"\"",
            "a b",
            "t)",
            "a.\"x\"y",
        ] {
            assert!(
                matches!(checked_name(bad), Err(SisError::Identifier(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("SELECT\n  1\tFROM t"), "SELECT 1 FROM t");
        let long = "x ".repeat(500);
        assert!(excerpt(&long).chars().count() <= 161);
    }
}
