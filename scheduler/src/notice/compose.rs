//! Turning a rendered notice into the message the outbox stores and sends: recipients, a
//! Message-ID that stays the same across every retry, and the exact RFC 5322 bytes.
//!
//! The stored bytes are what every attempt sends, so a retry after a lost answer is the same
//! message (mail systems drop a second copy with a Message-ID they have seen) and `ferry notices
//! show` prints exactly what recipients got.

use super::render::{NoticeInput, render};
use super::send::{AttachmentPart, SendError, build_message};
use crate::config::{NoticeOutcome, NotifyLists};
use crate::store::model::{NewNotice, Status};
use chrono::{DateTime, Utc};

/// Who gets the notice of a run that ended with `status`: the job's lists (or `[mail]`'s) for
/// its outcome, plus `on_recovery` when a success follows a failure (`previous` is how the
/// job's run before this one ended). Empty when nobody is to be told.
pub fn recipients(lists: &NotifyLists, status: Status, previous: Option<Status>) -> Vec<String> {
    let Some(outcome) = super::outcome(status) else {
        return Vec::new();
    };
    let recovered = outcome == NoticeOutcome::Success
        && previous.and_then(super::outcome) == Some(NoticeOutcome::Failure);
    lists.recipients(outcome, recovered)
}

/// The Message-ID (without angle brackets) of run `run`'s notice created at `created` on
/// `host`: unique per notice even if the store is rebuilt and run ids start over.
pub fn message_id(run: i64, created: DateTime<Utc>, host: &str) -> String {
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let host = if host.is_empty() { "localhost" } else { &host };
    format!(
        "ferry.run-{run}.{}@{host}",
        created.timestamp_nanos_opt().unwrap_or_default()
    )
}

/// The notice of `input`'s run as stored: rendered, addressed from `from` to `recipients`,
/// with `message_id`.
///
/// # Errors
/// A permanent [`SendError`] when an address or attachment type cannot go into a message
/// (addresses are checked when the configuration loads, so this is not expected).
pub fn compose(
    input: &NoticeInput<'_>,
    from: &str,
    recipients: Vec<String>,
    message_id: String,
) -> Result<NewNotice, SendError> {
    let rendered = render(input);
    let attachments: Vec<AttachmentPart> = rendered
        .attachments
        .into_iter()
        .map(|a| (a.filename, a.content_type, a.bytes))
        .collect();
    let bytes = build_message(
        from,
        &recipients,
        &rendered.subject,
        &rendered.text,
        &rendered.html,
        &attachments,
        &format!("<{message_id}>"),
    )?;
    // Every part is 7-bit encoded (quoted-printable or base64), so the bytes are text.
    let raw = String::from_utf8(bytes)
        .map_err(|e| SendError::permanent(format!("the message is not text: {e}")))?;
    Ok(NewNotice {
        job: input.execution.job.clone(),
        subject: rendered.subject,
        recipients,
        message_id,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn lists() -> NotifyLists {
        NotifyLists {
            always: vec!["ops@example.org".into()],
            on_failure: vec!["oncall@example.org".into()],
            on_success: vec![],
            on_recovery: vec!["lead@example.org".into()],
        }
    }

    #[test]
    fn recipients_follow_outcome_and_recovery() {
        let l = lists();
        assert_eq!(
            recipients(&l, Status::Failed, None),
            ["ops@example.org", "oncall@example.org"]
        );
        assert_eq!(
            recipients(&l, Status::TimedOut, Some(Status::Succeeded)),
            ["ops@example.org", "oncall@example.org"]
        );
        assert_eq!(
            recipients(&l, Status::Succeeded, Some(Status::Succeeded)),
            ["ops@example.org"]
        );
        assert_eq!(
            recipients(&l, Status::Warning, Some(Status::Abandoned)),
            ["ops@example.org", "lead@example.org"]
        );
        assert!(recipients(&l, Status::Missed, None).is_empty());
    }

    #[test]
    fn message_ids_are_unique_per_notice_and_safe_for_headers() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let a = message_id(7, t, "sis-01.district.k12");
        assert_eq!(a, "ferry.run-7.1772352000000000000@sis-01.district.k12");
        assert_ne!(
            a,
            message_id(7, t + chrono::TimeDelta::nanoseconds(1), "sis-01")
        );
        assert_eq!(
            message_id(7, t, "bad host<>"),
            "ferry.run-7.1772352000000000000@badhost"
        );
    }
}
