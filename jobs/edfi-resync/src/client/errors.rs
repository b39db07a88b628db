//! What can go wrong talking to the Ed-Fi host, and how the host's error bodies become one
//! message for the per-record report.
//!
//! Ed-Fi hosts answer errors in three shapes: RFC 9457 problem details (ODS/API ≥ 7.2: `type`,
//! `title`, `detail`, `validationErrors`, `errors`), the legacy `{"message": …, "modelState": …}`
//! body (ODS/API ≤ 7.1 and 2.x), and OAuth's `{"error": …}` on the token routes; proxies in front
//! of them answer with plain text or HTML. [`describe`] reads all of them, so an operator sees
//! the host's own words (which field, which missing parent) without the job knowing every
//! message. Nothing here ever holds the client secret or a bearer token: error texts are built
//! from statuses, URLs and response bodies only.

use serde_json::Value;

/// Longest piece of a non-JSON (or unrecognised JSON) error body kept in a message, in
/// characters: enough for a proxy's one-line explanation, not a whole HTML page.
pub const MAX_RAW_BODY_CHARS: usize = 300;

/// Why a request to the Ed-Fi host failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The host answered with an error status that retrying cannot fix (400, 403, 404, 409,
    /// 412, …), or the last 429/5xx inside [`ApiError::Exhausted`]. `problem_type` is the
    /// problem-details `type` URN when the host sent one (e.g.
    /// `urn:ed-fi:api:data-conflict:unresolved-reference`); `message` is the host's message.
    #[error("HTTP {status}: {message}")]
    Rejected {
        status: u16,
        problem_type: Option<String>,
        message: String,
    },
    /// The token endpoint refused the client (wrong key or secret, grant not allowed), or the
    /// host still answered 401 after a fresh token.
    #[error("not authorized: {0}")]
    Unauthorized(String),
    /// No answer: connection refused or reset, DNS, TLS, or the request timeout.
    #[error("transport: {0}")]
    Transport(String),
    /// A successful answer the client cannot read (a page that is not a JSON array, a token
    /// response without `access_token`).
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// The client's configuration cannot work (bad base URL, page size out of range).
    #[error("API client configuration: {0}")]
    Config(String),
    /// Every attempt failed with a retryable error; `last` is the final one.
    #[error("gave up after {attempts} attempts; last: {last}")]
    Exhausted { attempts: u32, last: Box<ApiError> },
    /// The job was cancelled before or while waiting to retry.
    #[error("cancelled")]
    Cancelled,
}

impl ApiError {
    /// The HTTP status the host answered, if it answered (looking through
    /// [`ApiError::Exhausted`] to the last answer).
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Rejected { status, .. } => Some(*status),
            ApiError::Unauthorized(_) => Some(401),
            ApiError::Exhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// A 409: an unresolved reference (the parent is not on the host yet), a dependent item
    /// blocking a delete, or a natural-key collision.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Rejected { status: 409, .. })
    }

    /// A 400: the host refused the body (missing or too long field, unknown descriptor, and on
    /// ODS/API ≤ 5.x and 2.x an unresolved student or staff reference).
    #[must_use]
    pub fn is_validation(&self) -> bool {
        matches!(self, ApiError::Rejected { status: 400, .. })
    }

    /// The problem-details `type` URN, if the host sent one.
    #[must_use]
    pub fn problem_type(&self) -> Option<&str> {
        match self {
            ApiError::Rejected { problem_type, .. } => problem_type.as_deref(),
            ApiError::Exhausted { last, .. } => last.problem_type(),
            _ => None,
        }
    }
}

/// The `type` URN (if any) and a one-line message out of an error response body, whatever its
/// shape; `status_text` stands in for an empty body.
#[must_use]
pub fn describe(body: &[u8], status_text: &str) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return (None, status_text.to_owned());
    }
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        let field = |name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let problem_type = field("type").map(str::to_owned);
        // Problem details: detail (else title), then the field errors and the error list.
        // Legacy: message, then modelState. OAuth: error (+ error_description).
        let head = field("detail")
            .or_else(|| field("title"))
            .or_else(|| field("message"))
            .or_else(|| field("Message"));
        let oauth = field("error").map(|e| match field("error_description") {
            Some(d) => format!("{e}: {d}"),
            None => e.to_owned(),
        });
        let mut parts: Vec<String> = head.map(str::to_owned).into_iter().collect();
        if parts.is_empty()
            && let Some(oauth) = oauth
        {
            parts.push(oauth);
        }
        for key in ["validationErrors", "modelState", "ModelState"] {
            if let Some(Value::Object(fields)) = map.get(key) {
                for (path, problems) in fields {
                    let problems = match problems {
                        Value::Array(list) => list
                            .iter()
                            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(" "),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    parts.push(format!("{path}: {problems}"));
                }
            }
        }
        if let Some(Value::Array(errors)) = map.get("errors") {
            for error in errors {
                let error = error
                    .as_str()
                    .map_or_else(|| error.to_string(), str::to_owned);
                if !parts.contains(&error) {
                    parts.push(error);
                }
            }
        }
        if !parts.is_empty() {
            return (problem_type, parts.join("; "));
        }
    }
    (None, bounded(text, MAX_RAW_BODY_CHARS))
}

/// `text` cut to at most `max` characters (on a character boundary), marked when cut.
#[must_use]
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

/// A transport error as one line: reqwest's message and its causes (timeout, connection
/// refused, TLS), which name the URL but never a header.
#[must_use]
pub fn transport(error: &reqwest::Error) -> String {
    let mut message = if error.is_timeout() {
        format!("timed out: {error}")
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_details_keep_type_detail_and_field_errors() {
        let body = br#"{"type":"urn:ed-fi:api:bad-request:data-validation-failed","title":"Data Validation Failed","status":400,
            "detail":"Data validation failed. See 'validationErrors' for details.",
            "validationErrors":{"$.classroomIdentificationCode":["ClassroomIdentificationCode is required and should not be left empty."]},
            "correlationId":"x"}"#;
        let (kind, message) = describe(body, "Bad Request");
        assert_eq!(
            kind.as_deref(),
            Some("urn:ed-fi:api:bad-request:data-validation-failed")
        );
        assert_eq!(
            message,
            "Data validation failed. See 'validationErrors' for details.; \
             $.classroomIdentificationCode: ClassroomIdentificationCode is required and should \
             not be left empty."
        );
    }

    #[test]
    fn legacy_message_and_model_state() {
        let body = br#"{"message":"The request is invalid.","modelState":{"$.name":["Name is required."]}}"#;
        assert_eq!(
            describe(body, "Bad Request"),
            (
                None,
                "The request is invalid.; $.name: Name is required.".to_owned()
            )
        );
        let (_, m) = describe(br#"{"error":"invalid_client"}"#, "Unauthorized");
        assert_eq!(m, "invalid_client");
        let (_, m) = describe(
            br#"{"type":"urn:x","detail":"d","errors":["Invalid token"]}"#,
            "",
        );
        assert_eq!(m, "d; Invalid token");
    }

    #[test]
    fn raw_bodies_are_bounded_and_empty_ones_named_by_status() {
        assert_eq!(
            describe(b"", "Service Unavailable").1,
            "Service Unavailable"
        );
        assert_eq!(
            describe(b"<h1>bad gateway</h1>", "").1,
            "<h1>bad gateway</h1>"
        );
        let long = "é".repeat(1000);
        let (_, m) = describe(long.as_bytes(), "");
        assert!(m.starts_with(&"é".repeat(MAX_RAW_BODY_CHARS)));
        assert!(m.ends_with("(2000 bytes in all)"), "{m}");
        assert!(m.chars().count() < MAX_RAW_BODY_CHARS + 30);
    }

    #[test]
    fn classification() {
        let conflict = ApiError::Rejected {
            status: 409,
            problem_type: None,
            message: "x".into(),
        };
        assert!(conflict.is_conflict() && !conflict.is_validation());
        let exhausted = ApiError::Exhausted {
            attempts: 6,
            last: Box::new(ApiError::Rejected {
                status: 503,
                problem_type: Some("urn:a".into()),
                message: "down".into(),
            }),
        };
        assert_eq!(exhausted.status(), Some(503));
        assert_eq!(exhausted.problem_type(), Some("urn:a"));
        assert_eq!(
            exhausted.to_string(),
            "gave up after 6 attempts; last: HTTP 503: down"
        );
    }
}
