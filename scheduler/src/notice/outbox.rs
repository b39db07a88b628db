//! The outbox sender: delivers stored notices, retrying transient failures with exponential
//! backoff, and records every attempt with the server's answer.
//!
//! # Invariants
//! - A notice is sent only after [`Store::claim_notice`] took it, so two schedulers on one
//!   database never send it at the same time; a sender that dies mid-attempt leaves the
//!   claim to expire and the notice to be tried again.
//! - Every attempt sends the stored bytes, Message-ID included: a retry after a lost answer is
//!   the same message, never a second, different one.
//! - A permanent refusal (5xx), or a transient one after `[mail] retries.max` retries, marks the
//!   notice `failed` with the server's answer. Nothing here touches a run's status.

use super::send::{Mailer, SendError};
use crate::config::{Config, ConfigError, RetryPolicy, resolve_mail_password};
use crate::store::model::Notice;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How often the service looks for due notices when nothing wakes it.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Due notices taken per pass.
const BATCH: i64 = 50;

/// Why the outbox could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The SMTP password could not be read.
    #[error(transparent)]
    Secret(#[from] ConfigError),
    /// The `[mail]` settings cannot make a client (e.g. an unusable CA file).
    #[error("[mail]: {0}")]
    Mail(#[from] SendError),
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The server accepted the message; its answer.
    Sent(String),
    /// Not delivered; tried again later (the notice stays `pending`).
    Deferred(String),
    /// Not delivered and not tried again (the notice is `failed`).
    Failed(String),
}

/// Delivers stored notices through one SMTP server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: Store,
    mailer: Mailer,
    from: String,
    retries: RetryPolicy,
    /// How long an attempt holds its claim: longer than any attempt can take.
    claim_for: Duration,
}

impl Outbox {
    /// The outbox for `config`'s `[mail]`; `None` when there is no `[mail]` (then no notice is
    /// ever stored).
    ///
    /// # Errors
    /// The SMTP password cannot be read, or the settings cannot make a client.
    pub fn from_config(config: &Config, store: Store) -> Result<Option<Outbox>, OutboxError> {
        let Some(mail) = &config.mail else {
            return Ok(None);
        };
        let password = resolve_mail_password(mail)?;
        let mailer = Mailer::new(
            &mail.smtp_url,
            mail.username.clone(),
            password,
            mail.timeout,
            mail.ca_file.as_deref(),
        )?;
        Ok(Some(Outbox {
            store,
            mailer,
            from: mail.from.clone(),
            retries: mail.retries,
            // Connect, greet, TLS, auth and data each get `timeout`; allow all of them and
            // some slack before another sender may take the notice over.
            claim_for: mail.timeout.saturating_mul(6) + Duration::from_secs(60),
        }))
    }

    /// Tries notice `id` once if it is pending and due: sends it and records the attempt.
    /// `None` when it is not pending, not yet due, or another sender has it.
    ///
    /// # Errors
    /// A store failure (the attempt, if made, may then be tried again later).
    pub async fn attempt(&self, id: i64) -> Result<Option<(Notice, Delivery)>, StoreError> {
        let now = crate::clock::now();
        let until = now + chrono::TimeDelta::from_std(self.claim_for).unwrap_or_default();
        let Some(notice) = self.store.claim_notice(id, now, until).await? else {
            return Ok(None);
        };
        let result = self
            .mailer
            .send_raw(&self.from, &notice.recipients, notice.raw.as_bytes())
            .await;
        let now = crate::clock::now();
        let made = u32::try_from(notice.attempts).unwrap_or(0) + 1;
        let (delivery, stored) = match result {
            Ok(answer) => {
                let stored = self
                    .store
                    .record_attempt(id, true, &answer, false, None, now)
                    .await?;
                (Delivery::Sent(answer), stored)
            }
            Err(error) => {
                let give_up = error.permanent || made > self.retries.max;
                let answer = if give_up && !error.permanent {
                    format!("{} (gave up after {made} attempts)", error.message)
                } else {
                    error.message
                };
                let next = now
                    + chrono::TimeDelta::from_std(self.retries.delay_before(made + 1))
                        .unwrap_or_default();
                let stored = self
                    .store
                    .record_attempt(id, false, &answer, give_up, Some(next), now)
                    .await?;
                let delivery = if give_up {
                    Delivery::Failed(answer)
                } else {
                    Delivery::Deferred(answer)
                };
                (delivery, stored)
            }
        };
        log(&stored, &delivery);
        Ok(Some((stored, delivery)))
    }

    /// One pass over the due notices, oldest first; returns how many were tried.
    ///
    /// # Errors
    /// A store failure.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let due = self.store.due_notices(crate::clock::now(), BATCH).await?;
        let mut tried = 0;
        for notice in due {
            if self.attempt(notice.id).await?.is_some() {
                tried += 1;
            }
        }
        Ok(tried)
    }

    /// Delivers due notices until `stop`: every [`POLL_EVERY`], and at once when `wake` is
    /// notified (a run stored a notice).
    pub async fn run(self, stop: CancellationToken, wake: Arc<Notify>) {
        loop {
            // A store or network hiccup must not stop the sender: log it, try next pass.
            if let Err(error) = self.deliver_due().await {
                tracing::error!(%error, "Could not deliver notices.");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = wake.notified() => {}
                _ = stop.cancelled() => break,
            }
        }
    }
}

fn log(notice: &Notice, delivery: &Delivery) {
    let (id, run, to) = (notice.id, notice.execution_id, notice.recipients.len());
    match delivery {
        Delivery::Sent(answer) => {
            tracing::info!(notice = id, run, recipients = to, %answer, "Notice sent.");
        }
        Delivery::Deferred(answer) => tracing::warn!(
            notice = id,
            run,
            attempts = notice.attempts,
            next_attempt_at = ?notice.next_attempt_at,
            %answer,
            "Notice not delivered; will retry."
        ),
        Delivery::Failed(answer) => {
            tracing::error!(notice = id, run, attempts = notice.attempts, %answer, "Notice failed.");
        }
    }
}
