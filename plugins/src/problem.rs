//! [`Problem`]: a builder for the input problems a job reports with [`crate::Context::problem`].
//!
//! The mission's standard is that bad input gets a clear error naming file, line, field and
//! value. A job that rejects rows reports each one as a problem rather than as a free-text log
//! line, so Ferry can store it per run and group alike problems in the run's result notice.

use crate::wire::{Event, Severity};

/// One problem with a run's input, built as
/// `Problem::error("Invalid value", "must be a date (YYYY-MM-DD)").at("PEER_STUDENT.txt", 17)
/// .field("BirthDate", "2019-13-01")`.
///
/// `category` is a short heading shared by alike problems (`Invalid value`, `Unknown school`);
/// `message` says what is wrong with this one. Everything else is optional, but the more a
/// problem names, the faster an operator can fix the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub category: String,
    pub file: Option<String>,
    /// 1-based.
    pub line: Option<u64>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub message: String,
}

impl Problem {
    /// A problem of the given severity, not yet located.
    pub fn new(
        severity: Severity,
        category: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity,
            category: category.into(),
            file: None,
            line: None,
            field: None,
            value: None,
            message: message.into(),
        }
    }

    /// Input that was rejected (a row skipped, a record not sent).
    pub fn error(category: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Error, category, message)
    }

    /// Input that was used anyway but deserves a look.
    pub fn warning(category: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Warning, category, message)
    }

    /// Where: the input file and the 1-based line in it.
    #[must_use]
    pub fn at(mut self, file: impl Into<String>, line: u64) -> Problem {
        self.file = Some(file.into());
        self.line = Some(line);
        self
    }

    /// Where, for a problem with a whole file (a missing column, an empty file).
    #[must_use]
    pub fn in_file(mut self, file: impl Into<String>) -> Problem {
        self.file = Some(file.into());
        self
    }

    /// The field at fault and the value found in it.
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Problem {
        self.field = Some(name.into());
        self.value = Some(value.into());
        self
    }

    /// The field at fault, when there is no value to show (a required field left empty, a
    /// missing column).
    #[must_use]
    pub fn field_name(mut self, name: impl Into<String>) -> Problem {
        self.field = Some(name.into());
        self
    }
}

impl From<Problem> for Event {
    fn from(problem: Problem) -> Event {
        Event::Problem {
            severity: problem.severity,
            category: problem.category,
            file: problem.file,
            line: problem.line,
            field: problem.field,
            value: problem.value,
            message: problem.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_fills_every_part_it_is_given() {
        let problem = Problem::error("Invalid value", "must be a date (YYYY-MM-DD)")
            .at("PEER_STUDENT.txt", 17)
            .field("BirthDate", "2019-13-01");
        assert_eq!(
            Event::from(problem),
            Event::Problem {
                severity: Severity::Error,
                category: "Invalid value".to_owned(),
                file: Some("PEER_STUDENT.txt".to_owned()),
                line: Some(17),
                field: Some("BirthDate".to_owned()),
                value: Some("2019-13-01".to_owned()),
                message: "must be a date (YYYY-MM-DD)".to_owned(),
            }
        );
    }

    #[test]
    fn a_bare_problem_names_nothing_it_was_not_told() {
        let problem = Problem::warning("Missing column", "no Grade column; grades left empty")
            .in_file("roster.csv")
            .field_name("Grade");
        assert_eq!(problem.severity, Severity::Warning);
        assert_eq!(problem.file.as_deref(), Some("roster.csv"));
        assert_eq!(problem.line, None);
        assert_eq!(problem.field.as_deref(), Some("Grade"));
        assert_eq!(problem.value, None);
        let bare = Problem::new(Severity::Error, "Empty file", "no rows");
        assert_eq!(
            (bare.file, bare.line, bare.field, bare.value),
            (None, None, None, None)
        );
    }

    #[test]
    fn a_problem_event_has_the_documented_json_shape_and_round_trips() {
        let event = Event::from(
            Problem::error("Invalid value", "must be a date (YYYY-MM-DD)")
                .at("PEER_STUDENT.txt", 17)
                .field("BirthDate", "2019-13-01"),
        );
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "problem",
                "severity": "error",
                "category": "Invalid value",
                "file": "PEER_STUDENT.txt",
                "line": 17,
                "field": "BirthDate",
                "value": "2019-13-01",
                "message": "must be a date (YYYY-MM-DD)"
            })
        );
        let back: Event = serde_json::from_value(json).expect("event");
        assert_eq!(back, event);
    }

    #[test]
    fn optional_parts_may_be_left_out_of_the_json() {
        let event: Event = serde_json::from_str(
            r#"{"type":"problem","severity":"warning","category":"Late file","message":"arrived after 06:00"}"#,
        )
        .expect("event");
        assert_eq!(
            event,
            Event::from(Problem::warning("Late file", "arrived after 06:00"))
        );
        let unknown = serde_json::from_str::<Event>(
            r#"{"type":"problem","severity":"fatal","category":"c","message":"m"}"#,
        );
        assert!(unknown.is_err(), "only warning and error are severities");
    }
}
