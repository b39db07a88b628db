//! `ferry notices list | show ID | resend ID`: the result notices in the store's outbox.
//!
//! Operators need to see what was sent about a run, to whom, whether it arrived, and to send it
//! again after fixing a mail problem. Notices are read and re-queued here; delivery itself belongs
//! to the sender in `ferry serve`.

use super::context::Context;
use super::output::{self, NoticeRow};
use crate::error::Exit;
use crate::notice::outbox::Outbox;
use crate::store::model::{Notice, NoticeFilter, Status};
use crate::store::{Store, StoreError};
use clap::ValueEnum;
use std::path::Path;

/// Notices per page of `ferry notices list`.
const PAGE_SIZE: i64 = 25;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List notices, newest first, 25 to a page.
    List {
        /// Only this job's notices.
        #[arg(long)]
        job: Option<String>,
        /// Only notices of runs that ended with this status (succeeded, warning, failed,
        /// timed_out, cancelled, abandoned).
        #[arg(long, value_parser = clap::builder::ValueParser::new(str::parse::<Status>))]
        status: Option<Status>,
        /// Only notices in this delivery state.
        #[arg(long, value_enum)]
        delivery: Option<Delivery>,
        /// The page to show (1 is the newest).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
        page: i64,
        /// Print JSON (see docs/cli-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Show one notice: the message exactly as sent, and every delivery attempt.
    Show {
        /// The notice id (from `ferry notices list`).
        id: i64,
        /// Print JSON (see docs/cli-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Queue a notice for delivery again: the same message and Message-ID, due now.
    Resend {
        /// The notice id (from `ferry notices list`).
        id: i64,
        /// Print JSON (see docs/cli-json.md).
        #[arg(long)]
        json: bool,
    },
}

/// Where a notice's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
enum Delivery {
    Pending,
    Sent,
    Failed,
}

impl Delivery {
    /// The name stored in the `delivery` column.
    fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
        }
    }
}

pub(crate) async fn exec(args: Args, config: &Path) -> anyhow::Result<Exit> {
    let ctx = Context::open(config).await?;
    let tz = ctx.tz();
    match args.command {
        Command::List {
            job,
            status,
            delivery,
            page,
            json,
        } => {
            let filter = NoticeFilter {
                job,
                status,
                delivery: delivery.map(|d| d.as_str().to_owned()),
                page,
                page_size: PAGE_SIZE,
            };
            let (found, total) = ctx.store.notices(&filter).await?;
            let mut rows = Vec::with_capacity(found.len());
            for notice in found {
                rows.push(row(&ctx.store, notice).await?);
            }
            output::notices(&rows, total, page, PAGE_SIZE, tz, json);
        }
        Command::Show { id, json } => {
            let notice = ctx.store.notice(id).await.map_err(|e| not_found(id, e))?;
            let attempts = ctx.store.notice_attempts(id).await?;
            output::notice(&row(&ctx.store, notice).await?, &attempts, tz, json);
        }
        Command::Resend { id, json } => {
            let notice = ctx
                .store
                .requeue_notice(id, crate::clock::now())
                .await
                .map_err(|e| not_found(id, e))?;
            // With `[mail]`, one attempt now, so the operator sees the server's answer; the
            // outbox of `ferry serve` takes over if it is deferred.
            let outbox = match Outbox::from_config(&ctx.config, ctx.store.clone()) {
                Ok(outbox) => outbox,
                Err(error) => {
                    output::note(&format!("Not sent now: {error}."));
                    None
                }
            };
            let attempt = match &outbox {
                Some(outbox) => outbox.attempt(id).await?,
                None => None,
            };
            match attempt {
                Some((stored, delivery)) => {
                    output::notice_resent(&row(&ctx.store, stored).await?, &delivery, tz, json);
                }
                None => output::notice_requeued(&row(&ctx.store, notice).await?, tz, json),
            }
        }
    }
    Ok(Exit::Ok)
}

/// A notice with its run's status, as every notice command shows it.
async fn row(store: &Store, notice: Notice) -> anyhow::Result<NoticeRow> {
    let status = store
        .execution(notice.execution_id)
        .await?
        .map(|e| e.status);
    Ok(NoticeRow { notice, status })
}

/// `no notice #ID` for an unknown id; other store errors as they are.
fn not_found(id: i64, error: StoreError) -> anyhow::Error {
    match error {
        StoreError::NoticeNotFound { .. } => anyhow::anyhow!("no notice #{id}"),
        other => other.into(),
    }
}
