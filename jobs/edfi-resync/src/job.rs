//! The run: read the SIS, apply the seed's rules, build every record, learn what the host holds
//! (the job's state, or with `--set full=true` the host's own collections), and send only the
//! difference, parents before children and deletes before posts.
//!
//! Outcome: `succeeded` when every record is on the host as the SIS has it; `warning` when some
//! records were refused (each a problem with the host's message; the rest went through, and the
//! refused ones are tried again next run); `failed` when the run could not do its work at all
//! (the SIS cannot be read, the host refuses the credentials or stays unreachable).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ferry_plugin::{Context, Description, Job, JobError, Outcome, Problem, TableAction};

use crate::body::{self, BodyOptions};
use crate::client::{Api, ApiConfig, ApiError};
use crate::model::{self, DataStandard, Resource};
use crate::settings::{self, Settings};
use crate::source;
use crate::sync::execute::{self, Driver, Failure, Lookups, Progress, Tally};
use crate::sync::plan::plan;
use crate::sync::state::{Synced, key_hash, state_key, strip_server_fields};
use crate::transform::{self, Rules};

/// The Ed-Fi resync.
#[derive(Debug, Default)]
pub struct EdfiResync;

impl Job for EdfiResync {
    fn describe(&self) -> Description {
        settings::describe()
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
        let settings = Settings::from_context(ctx)?;
        let table = model::table(settings.standard);
        ctx.info(format!(
            "Ed-Fi resync of school year {} to {} (api {}{})",
            settings.school_year,
            settings.base_url,
            settings.standard.api_name(),
            if settings.full {
                ", full: reading the host's collections"
            } else {
                ""
            }
        ));

        let started = Instant::now();
        let source = match source::read_database(
            &settings.source_database,
            settings.source_password.as_deref(),
        ) {
            Ok(source) => source,
            Err(error) => {
                ctx.error(error.to_string());
                return Ok(Outcome::failed(format!("{error}; nothing was sent")));
            }
        };
        let planned = transform::plan(&source, &Rules::from_settings(&settings));
        for skip in &planned.skipped {
            ctx.debug(format!(
                "{} {}: left out ({:?})",
                skip.resource, skip.row, skip.reason
            ));
        }
        for error in &planned.rejected {
            ctx.problem(Problem::error("Invalid SIS data", error.to_string()));
        }
        let records = match body::build(
            &planned,
            &BodyOptions {
                standard: settings.standard,
                descriptor_namespace: settings.descriptor_namespace.clone(),
            },
        ) {
            Ok(records) => records,
            Err(error) => {
                ctx.error(error.to_string());
                return Ok(Outcome::failed(format!("{error}; nothing was sent")));
            }
        };
        ctx.info(format!(
            "{} records built from the SIS in {:.2} s ({} rows left out by the seed's rules, \
             {} refused)",
            records.len(),
            started.elapsed().as_secs_f64(),
            planned.skipped.len(),
            planned.rejected.len()
        ));

        let cancel = Arc::new(AtomicBool::new(false));
        let api = match Api::new(ApiConfig::from_settings(&settings), Arc::clone(&cancel)) {
            Ok(api) => api,
            Err(error) => return Ok(Outcome::failed(format!("the Ed-Fi API: {error}"))),
        };
        match sync(ctx, &settings, table, &api, &records, &cancel) {
            Ok(summary) => Ok(summary.outcome(&api, planned.rejected.len())),
            Err(ApiError::Cancelled) => Err(JobError::Cancelled),
            Err(error) => Ok(Outcome::failed(format!(
                "the Ed-Fi API: {error} (what was sent before is recorded; the next run goes on \
                 from there)"
            ))),
        }
    }
}

/// What a sync did, for the outcome.
#[derive(Debug, Default)]
struct Summary {
    tallies: Vec<(Resource, Tally)>,
    kept: usize,
}

impl Summary {
    fn outcome(&self, api: &Api, invalid_rows: usize) -> Outcome {
        let total = |f: fn(&Tally) -> usize| self.tallies.iter().map(|(_, t)| f(t)).sum::<usize>();
        let (posted, updated, deleted, unchanged, failed) = (
            total(|t| t.posted),
            total(|t| t.updated),
            total(|t| t.deleted),
            total(|t| t.unchanged),
            total(|t| t.failed),
        );
        let stats = api.stats();
        let mut text = format!(
            "{posted} created, {updated} updated, {deleted} deleted, {unchanged} unchanged, \
             {failed} failed ({} requests, {} retried, {} token fetches)",
            stats.gets + stats.posts + stats.puts + stats.deletes,
            stats.retries,
            stats.token_fetches
        );
        if self.kept > 0 {
            text.push_str(&format!(
                "; {} records gone from the SIS were left on the host (never deleted)",
                self.kept
            ));
        }
        if invalid_rows > 0 {
            text.push_str(&format!("; {invalid_rows} SIS rows refused before sending"));
        }
        if failed > 0 || invalid_rows > 0 {
            Outcome::warning(format!(
                "{text}: see the problems; refused records are tried again next run"
            ))
        } else {
            Outcome::succeeded(text)
        }
    }
}

/// Lookups, state, plan, send; table stats and problems as it goes.
fn sync(
    ctx: &Context,
    settings: &Settings,
    table: &'static DataStandard,
    api: &Api,
    records: &[body::Record],
    cancel: &AtomicBool,
) -> Result<Summary, ApiError> {
    let lookups = read_lookups(ctx, settings, table, api)?;
    let mut synced: BTreeMap<Resource, Synced> = BTreeMap::new();
    for spec in table.write {
        let known = if settings.full {
            let items = api.get_all(spec.resource)?;
            ctx.debug(format!(
                "{}: {} held by the host",
                spec.resource,
                items.len()
            ));
            Synced::from_server(settings.standard, spec.resource, items)
                .map_err(|e| ApiError::Transport(e.to_string()))?
        } else {
            let stored = ctx
                .state_get(&state_key(spec.resource))
                .map_err(|e| ApiError::Transport(e.to_string()))?;
            match Synced::from_state(spec.resource, stored.as_deref()) {
                Ok(known) => known,
                Err(error) => {
                    ctx.error(error.to_string());
                    return Err(ApiError::Transport(error.to_string()));
                }
            }
        };
        synced.insert(spec.resource, known);
    }
    let plans = plan(table, records, &synced);
    let kept = plans.iter().map(|p| p.kept.len()).sum();
    let driver = Driver {
        api,
        table,
        max_parallel: usize::try_from(settings.max_parallel).unwrap_or(1),
        cancel,
        cancelled: &|| ctx.cancelled(),
    };
    let mut state_error = None;
    let tallies = execute::execute(
        &driver,
        &plans,
        records,
        &lookups,
        &mut synced,
        &mut |event| match event {
            Progress::Phase {
                resource,
                what,
                requests,
            } => {
                if requests > 0 {
                    ctx.info(format!("{resource}: {what} {requests}"));
                }
            }
            Progress::Failed(failure) => ctx.problem(problem(failure)),
            Progress::Stored { resource, synced } => {
                if let Err(error) = ctx.state_set(&state_key(resource), Some(&synced.to_state())) {
                    state_error.get_or_insert(error.to_string());
                }
            }
        },
    )?;
    if settings.full {
        // The map read back from the host replaces what was stored, idle resources included.
        for (resource, known) in &synced {
            if let Err(error) = ctx.state_set(&state_key(*resource), Some(&known.to_state())) {
                state_error.get_or_insert(error.to_string());
            }
        }
    }
    if let Some(error) = state_error {
        return Err(ApiError::Transport(format!(
            "the job state could not be stored: {error}"
        )));
    }
    for (resource, tally) in &tallies {
        table_stats(ctx, *resource, tally);
    }
    Ok(Summary { tallies, kept })
}

/// The natural keys of the state-owned records the host has (schools, courses, staff, school
/// years), so records referring to one it lacks are refused before sending.
fn read_lookups(
    ctx: &Context,
    settings: &Settings,
    table: &DataStandard,
    api: &Api,
) -> Result<Lookups, ApiError> {
    let mut lookups = Lookups::new();
    for spec in table.lookups {
        let items = api.get_all(spec.resource)?;
        let mut keys = std::collections::BTreeSet::new();
        for mut item in items {
            strip_server_fields(&mut item);
            if let Ok(record) = body::record(settings.standard, spec.resource, item) {
                keys.insert(key_hash(&record));
            }
        }
        ctx.debug(format!("{}: {} on the host", spec.resource, keys.len()));
        lookups.insert(spec.resource, keys);
    }
    Ok(lookups)
}

/// A refused record as a run problem: grouped by what happened, naming the record.
fn problem(failure: &Failure) -> Problem {
    let category = match (failure.action, failure.status) {
        ("SKIP", _) => "Not sent".to_owned(),
        (_, Some(409)) => "Conflict (409)".to_owned(),
        (_, Some(400)) => "Validation (400)".to_owned(),
        (_, Some(status)) if status > 0 => format!("Refused ({status})"),
        _ => "Not sent".to_owned(),
    };
    Problem::error(
        category,
        format!(
            "{} {} {}: {}",
            failure.action, failure.resource, failure.key, failure.message
        ),
    )
    .field(failure.resource.name(), failure.key.clone())
}

/// One row per action that happened, each with the resource's seconds.
fn table_stats(ctx: &Context, resource: Resource, tally: &Tally) {
    let rows = [
        (tally.posted, TableAction::Inserted),
        (tally.updated, TableAction::Updated),
        (tally.deleted, TableAction::Deleted),
        (tally.unchanged, TableAction::Unchanged),
        (tally.failed, TableAction::Failed),
    ];
    let mut any = false;
    for (n, action) in rows {
        if n > 0 {
            any = true;
            ctx.table(
                resource.name(),
                i64::try_from(n).unwrap_or(i64::MAX),
                tally.seconds,
                action,
            );
        }
    }
    if !any {
        ctx.table(resource.name(), 0, tally.seconds, TableAction::Unchanged);
    }
}
