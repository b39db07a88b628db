//! The store suite. Every `store_test!` runs twice, on a fresh SQLite file and in a fresh
//! PostgreSQL schema, so both backends are held to the same behaviour.
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`). Without it the PostgreSQL half fails with a message
//! saying so: it is never skipped silently. Each test creates its own schema `ferry_t_*` and drops
//! it when the test ends, passed or failed.

use super::model::{
    Claim, Execution, FileRecord, HistoryFilter, LeaseHolder, LogLine, NewExecution, NewNotice,
    NoticeFilter, Status, TableStat, TransferRecord, Trigger, WhenBusy,
};
use super::{Store, StoreError};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sqlx::Connection;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The environment variable naming the PostgreSQL database the suite may create schemas in.
const DATABASE_URL_VAR: &str = "FERRY_TEST_DATABASE_URL";

/// One test's empty store, plus what it takes to open more handles on the same database.
#[derive(Debug, Clone)]
struct TestDb {
    store: Store,
    target: Target,
}

#[derive(Debug, Clone)]
enum Target {
    Sqlite {
        url: String,
        _dir: Arc<tempfile::TempDir>,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

impl Deref for TestDb {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
        let store = Store::open(&url).await.expect("open sqlite store");
        TestDb {
            store,
            target: Target::Sqlite {
                url,
                _dir: Arc::new(dir),
            },
        }
    }

    async fn postgres() -> TestDb {
        let url = std::env::var(DATABASE_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{DATABASE_URL_VAR} is not set: the PostgreSQL half of the store suite needs a \
                 database it may create schemas in, e.g. \
                 {DATABASE_URL_VAR}=postgres://postgres@127.0.0.1:5432/test"
            )
        });
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let schema = format!(
            "ferry_t_{}_{nanos}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let store = Store::open_postgres_in_schema(&url, &schema)
            .await
            .expect("open postgres store");
        TestDb {
            store,
            target: Target::Postgres { url, schema },
        }
    }

    /// A second, independent handle (its own pool) on the same database, like a second
    /// scheduler sharing the store.
    async fn open_another(&self) -> Store {
        match &self.target {
            Target::Sqlite { url, .. } => Store::open(url).await.expect("reopen sqlite"),
            Target::Postgres { url, schema } => Store::open_postgres_in_schema(url, schema)
                .await
                .expect("reopen postgres"),
        }
    }

    async fn cleanup(&self) {
        self.store.close().await;
        if let Target::Postgres { url, schema } = &self.target {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .expect("connect to drop the test schema");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&mut conn)
            .await
            .expect("drop the test schema");
            let _ = conn.close().await;
        }
    }
}

/// Runs one test body against `db`, then cleans up whether the body passed or panicked.
async fn run<F, Fut>(db: TestDb, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(test(db.clone())).await;
    db.cleanup().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("test task failed: {error}"),
        }
    }
}

/// `store_test!(name, |db| async move { ... })` defines `name::sqlite` and `name::postgres`;
/// `db` is a [`TestDb`] that dereferences to a fresh [`Store`].
macro_rules! store_test {
    ($name:ident, |$db:ident| $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(TestDb::sqlite().await, |$db| $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(TestDb::postgres().await, |$db| $body).await;
            }
        }
    };
}

// ----- Helpers -----

/// 2026-03-01 08:00:00 UTC plus `seconds`.
fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

/// `t(0)` plus `ms` milliseconds.
fn t_ms(ms: i64) -> DateTime<Utc> {
    t(0) + TimeDelta::milliseconds(ms)
}

fn fire(job: &str, at: DateTime<Utc>) -> NewExecution {
    NewExecution {
        job: job.to_owned(),
        trigger: Trigger::Schedule,
        requested_by: "scheduler".to_owned(),
        host: "host-a".to_owned(),
        scheduled_for: Some(at),
        attempt: 1,
        retry_of: None,
        not_before: None,
        params: r#"{"set":{"term":"fall"}}"#.to_owned(),
        plugin: "florida-peer".to_owned(),
    }
}

fn manual(job: &str) -> NewExecution {
    NewExecution {
        trigger: Trigger::Manual,
        requested_by: "alice".to_owned(),
        scheduled_for: None,
        ..fire(job, t(0))
    }
}

fn lease(holder: &str) -> LeaseHolder {
    LeaseHolder {
        holder: holder.to_owned(),
        ttl: Duration::from_secs(30),
    }
}

fn started(claim: Claim) -> Execution {
    match claim {
        Claim::Started(execution) => execution,
        other => panic!("expected Started, got {other:?}"),
    }
}

async fn start(store: &Store, new: &NewExecution, holder: &str, now: DateTime<Utc>) -> Execution {
    started(
        store
            .claim(new, WhenBusy::Refuse, &lease(holder), now)
            .await
            .unwrap(),
    )
}

async fn count_executions(store: &Store) -> i64 {
    with_pool!(store, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM executions")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

fn all() -> HistoryFilter {
    HistoryFilter {
        limit: 0,
        ..HistoryFilter::default()
    }
}

// ----- Schema -----

#[test]
fn migration_folders_list_the_same_versions() {
    let sqlite: Vec<(i64, String)> = super::SQLITE_MIGRATOR
        .iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    let postgres: Vec<(i64, String)> = super::POSTGRES_MIGRATOR
        .iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    assert!(!sqlite.is_empty(), "no sqlite migrations embedded");
    assert_eq!(sqlite, postgres);
}

#[tokio::test]
async fn open_rejects_unknown_scheme_without_echoing_the_url() {
    let error = Store::open("mysql://root:hunter2@db/ferry")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::UnsupportedUrl { ref scheme } if scheme == "mysql"));
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[tokio::test]
async fn open_sqlite_creates_missing_folders_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/history.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend_name(), "sqlite");
    let run = start(&store, &manual("peer"), "h:1", t(0)).await;
    store.close().await;
    assert!(path.is_file());
    // Reopening applies no migration twice and keeps the history.
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.execution(run.id).await.unwrap(), Some(run));
    let journal: String = with_pool!(store, pool => {
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap()
    });
    assert_eq!(journal, "wal");
    let foreign_keys: i64 = with_pool!(store, pool => {
        sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap()
    });
    assert_eq!(foreign_keys, 1);
    store.close().await;
}

#[tokio::test]
async fn open_sqlite_in_memory_shares_one_database_across_the_pool() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let run = start(&store, &manual("peer"), "h:1", t(0)).await;
    // Several pooled connections at once still see the same in-memory database.
    let filter = all();
    let (a, b, c) = tokio::join!(
        store.execution(run.id),
        store.running("peer"),
        store.history(&filter)
    );
    assert_eq!(a.unwrap(), Some(run.clone()));
    assert_eq!(b.unwrap(), Some(run.clone()));
    assert_eq!(c.unwrap(), vec![run]);
    store.close().await;
}

#[tokio::test]
async fn open_postgres_in_schema_rejects_unsafe_names() {
    let error = Store::open_postgres_in_schema("postgres://nobody@127.0.0.1:1/x", "a; DROP")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidSchema { .. }), "{error}");
}

store_test!(backend_name_matches_the_url, |db| async move {
    let expected = match db.target {
        Target::Sqlite { .. } => "sqlite",
        Target::Postgres { .. } => "postgres",
    };
    assert_eq!(db.backend_name(), expected);
});

// ----- Claims -----

store_test!(claim_starts_a_run_when_the_job_is_free, |db| async move {
    let new = fire("peer", t(0));
    let run = started(
        db.claim(&new, WhenBusy::Queue, &lease("host-a:1"), t(1))
            .await
            .unwrap(),
    );
    assert_eq!(run.status, Status::Running);
    assert_eq!(run.job, "peer");
    assert_eq!(run.trigger, Trigger::Schedule);
    assert_eq!(run.requested_by, "scheduler");
    assert_eq!(run.host, "host-a");
    assert_eq!(run.scheduled_for, Some(t(0)));
    assert_eq!(run.queued_at, t(1));
    assert_eq!(run.started_at, Some(t(1)));
    assert_eq!(run.finished_at, None);
    assert_eq!(run.attempt, 1);
    assert_eq!(run.params, new.params);
    assert_eq!(run.plugin, "florida-peer");
    assert_eq!(db.execution(run.id).await.unwrap(), Some(run.clone()));
    assert_eq!(db.running("peer").await.unwrap(), Some(run));
    assert_eq!(db.running("other").await.unwrap(), None);
});

store_test!(claim_queues_behind_a_running_run, |db| async move {
    let first = start(&db, &fire("peer", t(0)), "host-a:1", t(0)).await;
    let claim = db
        .claim(
            &fire("peer", t(60)),
            WhenBusy::Queue,
            &lease("host-b:2"),
            t(20),
        )
        .await
        .unwrap();
    let Claim::Queued(queued) = claim else {
        panic!("expected Queued, got {claim:?}");
    };
    assert_eq!(queued.status, Status::Queued);
    assert_eq!(queued.started_at, None);
    assert_eq!(
        db.running("peer").await.unwrap().map(|r| r.id),
        Some(first.id)
    );
});

store_test!(claim_records_a_missed_fire_while_busy, |db| async move {
    let first = start(&db, &fire("peer", t(0)), "host-a:1", t_ms(250)).await;
    let claim = db
        .claim(
            &fire("peer", t(60)),
            WhenBusy::RecordMissed,
            &lease("host-b:2"),
            t(20),
        )
        .await
        .unwrap();
    let Claim::Busy {
        running,
        recorded: Some(missed),
    } = claim
    else {
        panic!("expected Busy with a recorded miss, got {claim:?}");
    };
    assert_eq!(running, first);
    assert_eq!(missed.status, Status::Missed);
    assert_eq!(missed.finished_at, Some(t(20)));
    assert_eq!(missed.started_at, None);
    assert_eq!(
        missed.error.as_deref(),
        Some(
            format!(
                "skipped: run #{} (started 2026-03-01T08:00:00.250Z on host-a) was still running",
                first.id
            )
            .as_str()
        )
    );
    // The missed fire is recorded: claiming it again is a duplicate.
    let again = db
        .claim(
            &fire("peer", t(60)),
            WhenBusy::Queue,
            &lease("host-b:2"),
            t(21),
        )
        .await
        .unwrap();
    assert_eq!(again, Claim::Duplicate);
});

store_test!(claim_refused_while_busy_inserts_nothing, |db| async move {
    let first = start(&db, &manual("peer"), "host-a:1", t(0)).await;
    let claim = db
        .claim(&manual("peer"), WhenBusy::Refuse, &lease("host-b:2"), t(5))
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::Busy {
            running: first,
            recorded: None
        }
    );
    assert_eq!(count_executions(&db).await, 1);
});

store_test!(
    claim_of_an_already_claimed_fire_is_a_duplicate,
    |db| async move {
        let first = start(&db, &fire("peer", t(0)), "host-a:1", t(0)).await;
        db.finish(first.id, Status::Succeeded, None, t(10))
            .await
            .unwrap();
        let again = db
            .claim(
                &fire("peer", t(0)),
                WhenBusy::Queue,
                &lease("host-b:2"),
                t(20),
            )
            .await
            .unwrap();
        assert_eq!(again, Claim::Duplicate);
        // The same instant for another job, and manual runs, are distinct executions.
        start(&db, &fire("other", t(0)), "host-a:1", t(20)).await;
        start(&db, &manual("peer"), "host-a:1", t(21)).await;
        assert_eq!(count_executions(&db).await, 3);
    }
);

store_test!(
    concurrent_claims_of_one_fire_have_exactly_one_winner,
    |db| async move {
        let other = db.open_another().await;
        for round in 0..12 {
            let new = fire("peer", t(round * 60));
            let now = t(round * 60);
            let (lease_a, lease_b) = (lease("host-a:1"), lease("host-b:2"));
            let (a, b) = tokio::join!(
                db.claim(&new, WhenBusy::RecordMissed, &lease_a, now),
                other.claim(&new, WhenBusy::RecordMissed, &lease_b, now),
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            let winner = match (&a, &b) {
                (Claim::Started(run), Claim::Duplicate)
                | (Claim::Duplicate, Claim::Started(run)) => run.clone(),
                _ => panic!(
                    "round {round}: expected one Started and one Duplicate, got {a:?} / {b:?}"
                ),
            };
            db.finish(
                winner.id,
                Status::Succeeded,
                None,
                now + TimeDelta::seconds(1),
            )
            .await
            .unwrap();
        }
        assert_eq!(count_executions(&db).await, 12);
        other.close().await;
    }
);

store_test!(
    concurrent_claims_of_one_job_never_share_the_lease,
    |db| async move {
        let other = db.open_another().await;
        for round in 0..12 {
            let now = t(round * 60);
            let (lease_a, lease_b) = (lease("host-a:1"), lease("host-b:2"));
            let new = manual("peer");
            let (a, b) = tokio::join!(
                db.claim(&new, WhenBusy::Refuse, &lease_a, now),
                other.claim(&new, WhenBusy::Refuse, &lease_b, now),
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            let winner = match (&a, &b) {
                (
                    Claim::Started(run),
                    Claim::Busy {
                        running,
                        recorded: None,
                    },
                )
                | (
                    Claim::Busy {
                        running,
                        recorded: None,
                    },
                    Claim::Started(run),
                ) => {
                    assert_eq!(running.id, run.id, "round {round}: busy names another run");
                    run.clone()
                }
                _ => panic!("round {round}: expected one Started and one Busy, got {a:?} / {b:?}"),
            };
            db.finish(
                winner.id,
                Status::Succeeded,
                None,
                now + TimeDelta::seconds(1),
            )
            .await
            .unwrap();
        }
        assert_eq!(count_executions(&db).await, 12);
        other.close().await;
    }
);

store_test!(an_expired_lease_is_taken_over, |db| async move {
    let first = start(&db, &manual("peer"), "host-a:1", t(0)).await;
    // Still valid at 29 s.
    let claim = db
        .claim(&manual("peer"), WhenBusy::Refuse, &lease("host-b:2"), t(29))
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Busy { .. }), "{claim:?}");
    // Expired at 30 s: the new claim takes the job.
    let second = start(&db, &manual("peer"), "host-b:2", t(30)).await;
    assert_eq!(
        db.running("peer").await.unwrap().map(|r| r.id),
        Some(second.id)
    );
    // The old holder can no longer renew, and is reaped as abandoned.
    assert!(
        !db.heartbeat(first.id, &lease("host-a:1"), t(31))
            .await
            .unwrap()
    );
    let reaped = db.reap_abandoned(t(31)).await.unwrap();
    assert_eq!(
        reaped.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert_eq!(
        db.running("peer").await.unwrap().map(|r| r.id),
        Some(second.id)
    );
});

// ----- Dispatch -----

store_test!(
    dispatch_starts_a_queued_run_once_the_job_is_free,
    |db| async move {
        let first = start(&db, &fire("peer", t(0)), "host-a:1", t(0)).await;
        let Claim::Queued(queued) = db
            .claim(
                &fire("peer", t(60)),
                WhenBusy::Queue,
                &lease("host-a:1"),
                t(10),
            )
            .await
            .unwrap()
        else {
            panic!("expected Queued");
        };
        assert_eq!(db.due_queued(t(11)).await.unwrap(), vec![queued.clone()]);
        // The job is busy: nothing starts, the run stays queued.
        assert_eq!(
            db.dispatch(queued.id, &lease("host-a:1"), t(11))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            db.execution(queued.id).await.unwrap().map(|r| r.status),
            Some(Status::Queued)
        );
        db.finish(first.id, Status::Succeeded, None, t(20))
            .await
            .unwrap();
        // Two dispatchers race for it: exactly one starts it.
        let other = db.open_another().await;
        let (lease_a, lease_b) = (lease("host-a:1"), lease("host-b:2"));
        let (a, b) = tokio::join!(
            db.dispatch(queued.id, &lease_a, t(71)),
            other.dispatch(queued.id, &lease_b, t(71)),
        );
        let winners: Vec<Execution> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(winners.len(), 1, "{winners:?}");
        let running = &winners[0];
        assert_eq!(running.id, queued.id);
        assert_eq!(running.status, Status::Running);
        assert_eq!(running.started_at, Some(t(71)));
        assert_eq!(db.running("peer").await.unwrap().as_ref(), Some(running));
        assert!(db.due_queued(t(72)).await.unwrap().is_empty());
        assert_eq!(
            db.dispatch(queued.id, &lease("host-a:1"), t(72))
                .await
                .unwrap(),
            None
        );
        other.close().await;
    }
);

store_test!(dispatch_waits_for_not_before, |db| async move {
    let first = start(&db, &fire("peer", t(0)), "host-a:1", t(0)).await;
    let failed = db
        .finish(first.id, Status::Failed, Some("boom"), t(10))
        .await
        .unwrap();
    let retry = db
        .schedule_retry(&failed, t_ms(70_500), t(10))
        .await
        .unwrap()
        .expect("retry queued");
    assert!(db.due_queued(t(70)).await.unwrap().is_empty());
    assert_eq!(
        db.dispatch(retry.id, &lease("host-a:1"), t(70))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.due_queued(t_ms(70_500)).await.unwrap(),
        vec![retry.clone()]
    );
    let running = db
        .dispatch(retry.id, &lease("host-a:1"), t(71))
        .await
        .unwrap()
        .expect("due retry starts");
    assert_eq!(running.status, Status::Running);
    assert_eq!(running.trigger, Trigger::Retry);
});

store_test!(due_queued_lists_oldest_first_across_jobs, |db| async move {
    start(&db, &manual("a"), "h:1", t(0)).await;
    start(&db, &manual("b"), "h:1", t(0)).await;
    let mut queued = Vec::new();
    for (job, at) in [("b", 1), ("a", 2), ("b", 3)] {
        match db
            .claim(&fire(job, t(at)), WhenBusy::Queue, &lease("h:1"), t(at))
            .await
            .unwrap()
        {
            Claim::Queued(run) => queued.push(run.id),
            other => panic!("expected Queued, got {other:?}"),
        }
    }
    let due: Vec<i64> = db
        .due_queued(t(10))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(due, queued);
});

// ----- Leases -----

store_test!(heartbeat_extends_only_its_own_lease, |db| async move {
    let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
    assert!(
        !db.heartbeat(run.id, &lease("host-b:9"), t(20))
            .await
            .unwrap()
    );
    assert!(
        db.heartbeat(run.id, &lease("host-a:1"), t(20))
            .await
            .unwrap()
    );
    // Renewed at 20 s for 30 s: still held at 45 s, free at 50 s.
    let claim = db
        .claim(&manual("peer"), WhenBusy::Refuse, &lease("host-b:2"), t(45))
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Busy { .. }), "{claim:?}");
    assert!(db.reap_abandoned(t(49)).await.unwrap().is_empty());
    db.finish(run.id, Status::Succeeded, None, t(46))
        .await
        .unwrap();
    assert!(
        !db.heartbeat(run.id, &lease("host-a:1"), t(47))
            .await
            .unwrap()
    );
});

store_test!(
    finish_releases_the_lease_and_keeps_the_outcome,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let done = db
            .finish(
                run.id,
                Status::Warning,
                Some("2 rows skipped"),
                t_ms(12_345),
            )
            .await
            .unwrap();
        assert_eq!(done.status, Status::Warning);
        assert_eq!(done.error.as_deref(), Some("2 rows skipped"));
        assert_eq!(done.finished_at, Some(t_ms(12_345)));
        assert_eq!(done.started_at, run.started_at);
        assert_eq!(db.running("peer").await.unwrap(), None);
        // The lease is free at once, long before it would have expired.
        start(&db, &manual("peer"), "host-b:2", t(13)).await;
        // A finished execution is never overwritten.
        let again = db
            .finish(run.id, Status::Failed, None, t(14))
            .await
            .unwrap_err();
        let kept = matches!(
            again,
            StoreError::AlreadyFinished { id, status: Status::Warning } if id == run.id
        );
        assert!(kept, "{again:?}");
        assert_eq!(db.execution(run.id).await.unwrap(), Some(done));
        let missing = db
            .finish(999_999, Status::Failed, None, t(14))
            .await
            .unwrap_err();
        assert!(
            matches!(missing, StoreError::NotFound { id: 999_999 }),
            "{missing:?}"
        );
        let live = db
            .finish(run.id, Status::Running, None, t(14))
            .await
            .unwrap_err();
        assert!(matches!(live, StoreError::NotFinal { .. }), "{live:?}");
    }
);

store_test!(
    finish_ends_a_queued_run_without_touching_the_lease,
    |db| async move {
        let first = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let Claim::Queued(queued) = db
            .claim(&manual("peer"), WhenBusy::Queue, &lease("host-a:1"), t(1))
            .await
            .unwrap()
        else {
            panic!("expected Queued");
        };
        let cancelled = db
            .finish(
                queued.id,
                Status::Cancelled,
                Some("cancelled by alice"),
                t(2),
            )
            .await
            .unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert_eq!(
            db.running("peer").await.unwrap().map(|r| r.id),
            Some(first.id)
        );
    }
);

store_test!(
    reap_abandoned_waits_for_the_lease_to_expire,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        assert!(
            db.heartbeat(run.id, &lease("host-a:1"), t(10))
                .await
                .unwrap()
        );
        // Renewed at 10 s: valid until 40 s.
        assert!(db.reap_abandoned(t(39)).await.unwrap().is_empty());
        let reaped = db.reap_abandoned(t(40)).await.unwrap();
        assert_eq!(reaped.len(), 1);
        let abandoned = &reaped[0];
        assert_eq!(abandoned.id, run.id);
        assert_eq!(abandoned.status, Status::Abandoned);
        assert_eq!(abandoned.finished_at, Some(t(40)));
        assert_eq!(
            abandoned.error.as_deref(),
            Some("heartbeat lost: host-a:1 stopped renewing the lease at 2026-03-01T08:00:10Z")
        );
        assert_eq!(db.running("peer").await.unwrap(), None);
        assert!(
            !db.heartbeat(run.id, &lease("host-a:1"), t(41))
                .await
                .unwrap()
        );
        assert!(db.reap_abandoned(t(100)).await.unwrap().is_empty());
        // Reaped runs keep their outcome.
        let late = db
            .finish(run.id, Status::Succeeded, None, t(101))
            .await
            .unwrap_err();
        assert!(
            matches!(late, StoreError::AlreadyFinished { .. }),
            "{late:?}"
        );
        // The job is free again.
        start(&db, &manual("peer"), "host-b:2", t(102)).await;
    }
);

store_test!(
    reap_abandoned_leaves_queued_and_healthy_runs,
    |db| async move {
        let healthy = start(&db, &manual("a"), "host-a:1", t(0)).await;
        let stale = start(&db, &manual("b"), "host-b:1", t(0)).await;
        let Claim::Queued(queued) = db
            .claim(&manual("a"), WhenBusy::Queue, &lease("host-a:1"), t(1))
            .await
            .unwrap()
        else {
            panic!("expected Queued");
        };
        assert!(
            db.heartbeat(healthy.id, &lease("host-a:1"), t(25))
                .await
                .unwrap()
        );
        let reaped: Vec<i64> = db
            .reap_abandoned(t(31))
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(reaped, vec![stale.id]);
        assert_eq!(
            db.execution(queued.id).await.unwrap().map(|r| r.status),
            Some(Status::Queued)
        );
        assert_eq!(
            db.execution(healthy.id).await.unwrap().map(|r| r.status),
            Some(Status::Running)
        );
    }
);

// ----- Retries and missed fires -----

store_test!(a_failed_run_is_retried_at_most_once, |db| async move {
    let run = start(&db, &fire("peer", t(0)), "host-a:1", t(0)).await;
    assert!(matches!(
        db.schedule_retry(&run, t(60), t(1)).await.unwrap_err(),
        StoreError::NotFinal { .. }
    ));
    let failed = db
        .finish(run.id, Status::Failed, Some("sftp refused"), t(5))
        .await
        .unwrap();
    let retry = db
        .schedule_retry(&failed, t(65), t(5))
        .await
        .unwrap()
        .expect("first retry is queued");
    assert_eq!(retry.status, Status::Queued);
    assert_eq!(retry.trigger, Trigger::Retry);
    assert_eq!(retry.attempt, 2);
    assert_eq!(retry.retry_of, Some(failed.id));
    assert_eq!(retry.not_before, Some(t(65)));
    assert_eq!(retry.queued_at, t(5));
    assert_eq!(retry.job, failed.job);
    assert_eq!(retry.params, failed.params);
    assert_eq!(retry.plugin, failed.plugin);
    assert_eq!(retry.scheduled_for, failed.scheduled_for);
    // A second scheduler reacting to the same failure queues nothing.
    let other = db.open_another().await;
    assert_eq!(
        other.schedule_retry(&failed, t(65), t(6)).await.unwrap(),
        None
    );
    other.close().await;
    // The retry of the retry is attempt 3.
    let running = db
        .dispatch(retry.id, &lease("host-a:1"), t(65))
        .await
        .unwrap()
        .unwrap();
    let failed_again = db
        .finish(running.id, Status::TimedOut, None, t(70))
        .await
        .unwrap();
    let third = db
        .schedule_retry(&failed_again, t(80), t(70))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.attempt, 3);
    assert_eq!(third.retry_of, Some(retry.id));
});

store_test!(record_missed_records_each_fire_once, |db| async move {
    let missed = db
        .record_missed(&fire("peer", t(0)), "missed during downtime", t(600))
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(missed.status, Status::Missed);
    assert_eq!(missed.error.as_deref(), Some("missed during downtime"));
    assert_eq!(missed.finished_at, Some(t(600)));
    assert_eq!(missed.queued_at, t(600));
    assert_eq!(
        db.record_missed(&fire("peer", t(0)), "again", t(601))
            .await
            .unwrap(),
        None
    );
    let claim = db
        .claim(&fire("peer", t(0)), WhenBusy::Queue, &lease("h:1"), t(602))
        .await
        .unwrap();
    assert_eq!(claim, Claim::Duplicate);
});

// ----- Time -----

store_test!(last_fire_is_the_newest_scheduled_for, |db| async move {
    assert_eq!(db.last_fire("peer").await.unwrap(), None);
    db.record_missed(&fire("peer", t(120)), "m", t(0))
        .await
        .unwrap();
    db.record_missed(&fire("peer", t(60)), "m", t(0))
        .await
        .unwrap();
    db.record_missed(&fire("other", t(900)), "m", t(0))
        .await
        .unwrap();
    start(&db, &manual("peer"), "h:1", t(1000)).await;
    assert_eq!(db.last_fire("peer").await.unwrap(), Some(t(120)));
    assert_eq!(db.last_fire("other").await.unwrap(), Some(t(900)));
});

store_test!(
    millisecond_and_whole_second_times_order_correctly,
    |db| async move {
        // Whole seconds and millisecond fractions encode with different lengths on SQLite
        // (`08:00:00+00:00` vs `08:00:00.500+00:00`); they must still sort by instant.
        let instants = [
            t_ms(1_000),
            t_ms(500),
            t_ms(0),
            t_ms(-1),
            t_ms(999),
            t_ms(1),
        ];
        for at in instants {
            db.record_missed(&fire("peer", at), "m", at).await.unwrap();
        }
        assert_eq!(db.last_fire("peer").await.unwrap(), Some(t_ms(1_000)));
        let ordered: Vec<DateTime<Utc>> = with_pool!(db.store, pool => {
            sqlx::query_scalar("SELECT scheduled_for FROM executions ORDER BY scheduled_for")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        let mut expected = instants.to_vec();
        expected.sort();
        assert_eq!(ordered, expected);
        // Comparisons against bound values agree too.
        let later: i64 = with_pool!(db.store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM executions WHERE scheduled_for > $1")
                .bind(t(0))
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(later, 4);
        // A retry due at a whole second is due at that instant, not a millisecond before.
        let failed = db
            .finish(
                start(&db, &manual("job"), "h:1", t(0)).await.id,
                Status::Failed,
                None,
                t(1),
            )
            .await
            .unwrap();
        let retry = db
            .schedule_retry(&failed, t(2), t(1))
            .await
            .unwrap()
            .unwrap();
        assert!(db.due_queued(t_ms(1_999)).await.unwrap().is_empty());
        assert_eq!(db.due_queued(t(2)).await.unwrap(), vec![retry]);
    }
);

// ----- Plugin, logs, tables, files -----

store_test!(set_plugin_and_set_entered_update_the_run, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    db.set_plugin(run.id, "florida-peer", "1.4.2")
        .await
        .unwrap();
    db.set_entered(run.id, t_ms(1_250)).await.unwrap();
    let read = db.execution(run.id).await.unwrap().unwrap();
    assert_eq!(read.plugin, "florida-peer");
    assert_eq!(read.plugin_version.as_deref(), Some("1.4.2"));
    assert_eq!(read.entered_at, Some(t_ms(1_250)));
    assert!(matches!(
        db.set_plugin(404, "x", "1").await.unwrap_err(),
        StoreError::NotFound { id: 404 }
    ));
    assert!(matches!(
        db.set_entered(404, t(0)).await.unwrap_err(),
        StoreError::NotFound { id: 404 }
    ));
});

store_test!(logs_page_by_sequence_number, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    let lines: Vec<LogLine> = (1..=1_234)
        .map(|seq| LogLine {
            seq,
            ts: t_ms(seq),
            level: if seq % 100 == 0 { "warn" } else { "info" }.to_owned(),
            message: format!("line {seq} 'quoted' $1 ; --"),
        })
        .collect();
    db.append_logs(run.id, &lines[..1_000]).await.unwrap();
    db.append_logs(run.id, &lines[1_000..]).await.unwrap();
    db.append_logs(run.id, &[]).await.unwrap();
    let first = db.logs(run.id, None, 100).await.unwrap();
    assert_eq!(first, lines[..100].to_vec());
    let next = db.logs(run.id, Some(100), 100).await.unwrap();
    assert_eq!(next, lines[100..200].to_vec());
    let rest = db.logs(run.id, Some(200), 0).await.unwrap();
    assert_eq!(rest, lines[200..].to_vec());
    assert!(db.logs(run.id, Some(1_234), 10).await.unwrap().is_empty());
    let duplicate = db.append_logs(run.id, &lines[5..6]).await.unwrap_err();
    assert!(
        matches!(duplicate, StoreError::UniqueViolation(_)),
        "{duplicate:?}"
    );
    let orphan = db.append_logs(777_777, &lines[..1]).await.unwrap_err();
    assert!(
        matches!(orphan, StoreError::ForeignKeyViolation(_)),
        "{orphan:?}"
    );
});

store_test!(tables_keep_insertion_order, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    let stats = [
        ("students", 1_200, 3.25, "imported"),
        ("enrollments", 0, 0.0, "updated"),
        ("attendance", 88_000, 41.5, "inserted"),
    ]
    .map(|(table, rows, seconds, action)| TableStat {
        table: table.to_owned(),
        rows,
        seconds,
        action: action.to_owned(),
    });
    for stat in &stats {
        db.add_table_stat(run.id, stat).await.unwrap();
    }
    assert_eq!(db.tables(run.id).await.unwrap(), stats.to_vec());
    let bad = TableStat {
        action: "exploded".to_owned(),
        ..stats[0].clone()
    };
    let error = db.add_table_stat(run.id, &bad).await.unwrap_err();
    assert!(
        matches!(error, StoreError::ConstraintViolation(_)),
        "{error:?}"
    );
    assert!(db.tables(404).await.unwrap().is_empty());
});

store_test!(files_keep_insertion_order, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    let files =
        [("out/z.csv", "output"), ("out/a-errors.csv", "report")].map(|(path, kind)| FileRecord {
            path: path.to_owned(),
            kind: kind.to_owned(),
            recorded_at: t_ms(2_500),
        });
    for file in &files {
        db.add_file(run.id, file).await.unwrap();
    }
    assert_eq!(db.files(run.id).await.unwrap(), files.to_vec());
});

store_test!(transfers_keep_insertion_order, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    let other = start(&db, &manual("ises"), "h:2", t(0)).await;
    let transfers = [
        (
            "download",
            "sis",
            "/outgoing/students.csv",
            "/var/work/peer/inbox/students.csv",
            1_048_576,
            0.75,
        ),
        (
            "download",
            "sis",
            "/outgoing/enroll 'q'.csv",
            "/var/work/peer/inbox/enroll 'q'.csv",
            0,
            0.0,
        ),
        (
            "upload",
            "state",
            "in/PEER_01.txt",
            "/var/work/peer/outbox/PEER_01.txt",
            5_000_000_000,
            61.5,
        ),
    ]
    .map(
        |(direction, connection, remote_path, local_path, bytes, seconds)| TransferRecord {
            direction: direction.to_owned(),
            connection: connection.to_owned(),
            remote_path: remote_path.to_owned(),
            local_path: local_path.to_owned(),
            bytes,
            seconds,
            sha256: format!("{bytes:064x}"),
            recorded_at: t_ms(bytes % 997),
        },
    );
    for transfer in &transfers {
        db.add_transfer(run.id, transfer).await.unwrap();
    }
    db.add_transfer(other.id, &transfers[0]).await.unwrap();
    assert_eq!(db.transfers(run.id).await.unwrap(), transfers.to_vec());
    assert_eq!(
        db.transfers(other.id).await.unwrap(),
        vec![transfers[0].clone()]
    );
    assert!(db.transfers(404).await.unwrap().is_empty());
});

store_test!(transfers_refuse_bad_rows, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    let good = TransferRecord {
        direction: "download".to_owned(),
        connection: "sis".to_owned(),
        remote_path: "a.csv".to_owned(),
        local_path: "/in/a.csv".to_owned(),
        bytes: 1,
        seconds: 0.1,
        sha256: "00".repeat(32),
        recorded_at: t(1),
    };
    for bad in [
        TransferRecord {
            direction: "sideways".to_owned(),
            ..good.clone()
        },
        TransferRecord {
            bytes: -1,
            ..good.clone()
        },
        TransferRecord {
            seconds: -0.5,
            ..good.clone()
        },
    ] {
        let error = db.add_transfer(run.id, &bad).await.unwrap_err();
        assert!(
            matches!(error, StoreError::ConstraintViolation(_)),
            "{bad:?}: {error:?}"
        );
    }
    let orphan = db.add_transfer(777_777, &good).await.unwrap_err();
    assert!(
        matches!(orphan, StoreError::ForeignKeyViolation(_)),
        "{orphan:?}"
    );
    assert!(db.transfers(run.id).await.unwrap().is_empty());
});

// ----- Job state -----

store_test!(job_state_gets_sets_and_deletes, |db| async move {
    assert_eq!(db.state_get("ises", "sequence").await.unwrap(), None);
    db.state_set("ises", "sequence", Some("41"), t(0))
        .await
        .unwrap();
    db.state_set("ises", "sequence", Some("42"), t(1))
        .await
        .unwrap();
    db.state_set("edfi", "sequence", Some("7"), t(1))
        .await
        .unwrap();
    assert_eq!(
        db.state_get("ises", "sequence").await.unwrap().as_deref(),
        Some("42")
    );
    assert_eq!(
        db.state_get("edfi", "sequence").await.unwrap().as_deref(),
        Some("7")
    );
    db.state_set("ises", "sequence", None, t(2)).await.unwrap();
    assert_eq!(db.state_get("ises", "sequence").await.unwrap(), None);
    assert_eq!(
        db.state_get("edfi", "sequence").await.unwrap().as_deref(),
        Some("7")
    );
    // Deleting a missing key is not an error.
    db.state_set("ises", "sequence", None, t(3)).await.unwrap();
});

// ----- Retention -----

store_test!(prune_deletes_old_finished_runs_only, |db| async move {
    let mut old = Vec::new();
    for i in 0..5 {
        let run = start(&db, &manual(&format!("old{i}")), "h:1", t(0)).await;
        db.append_logs(
            run.id,
            &[LogLine {
                seq: 1,
                ts: t(1),
                level: "info".to_owned(),
                message: "hello".to_owned(),
            }],
        )
        .await
        .unwrap();
        db.add_table_stat(
            run.id,
            &TableStat {
                table: "students".to_owned(),
                rows: 1,
                seconds: 0.5,
                action: "imported".to_owned(),
            },
        )
        .await
        .unwrap();
        db.add_file(
            run.id,
            &FileRecord {
                path: "out.csv".to_owned(),
                kind: "output".to_owned(),
                recorded_at: t(1),
            },
        )
        .await
        .unwrap();
        db.add_transfer(
            run.id,
            &TransferRecord {
                direction: "download".to_owned(),
                connection: "sis".to_owned(),
                remote_path: "in.csv".to_owned(),
                local_path: "/inbox/in.csv".to_owned(),
                bytes: 10,
                seconds: 0.5,
                sha256: "ab".repeat(32),
                recorded_at: t(1),
            },
        )
        .await
        .unwrap();
        db.finish(run.id, Status::Succeeded, None, t(10))
            .await
            .unwrap();
        old.push(run.id);
    }
    let old_running = start(&db, &manual("live"), "h:1", t(0)).await;
    let Claim::Queued(old_queued) = db
        .claim(&manual("live"), WhenBusy::Queue, &lease("h:1"), t(0))
        .await
        .unwrap()
    else {
        panic!("expected Queued");
    };
    let recent = start(&db, &manual("recent"), "h:1", t(0)).await;
    db.finish(recent.id, Status::Failed, None, t(1_000))
        .await
        .unwrap();

    let pruned = db.prune(t(500), 2).await.unwrap();
    assert_eq!(pruned, 5);
    for id in &old {
        assert_eq!(db.execution(*id).await.unwrap(), None);
        assert!(db.logs(*id, None, 0).await.unwrap().is_empty());
        assert!(db.tables(*id).await.unwrap().is_empty());
        assert!(db.files(*id).await.unwrap().is_empty());
        assert!(db.transfers(*id).await.unwrap().is_empty());
    }
    let left: Vec<i64> = db
        .history(&all())
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, vec![recent.id, old_queued.id, old_running.id]);
    assert_eq!(db.prune(t(500), 2).await.unwrap(), 0);
    // No orphaned child rows remain.
    let orphans: i64 = with_pool!(db.store, pool => {
        sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM execution_logs) + (SELECT COUNT(*) FROM table_stats) \
             + (SELECT COUNT(*) FROM execution_files) + (SELECT COUNT(*) FROM transfers)",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(orphans, 0);
});

// ----- History -----

store_test!(history_filters_and_orders_newest_first, |db| async move {
    let mut ids = Vec::new();
    for (i, (job, status)) in [
        ("peer", Status::Succeeded),
        ("ises", Status::Failed),
        ("peer", Status::Failed),
        ("peer", Status::Succeeded),
        ("ises", Status::Succeeded),
    ]
    .into_iter()
    .enumerate()
    {
        let run = start(&db, &manual(job), "h:1", t(i as i64)).await;
        db.finish(run.id, status, None, t(i as i64)).await.unwrap();
        ids.push(run.id);
    }
    let live = start(&db, &manual("peer"), "h:1", t(10)).await;
    let ids_of = |runs: Vec<Execution>| runs.iter().map(|r| r.id).collect::<Vec<_>>();

    let everything = ids_of(db.history(&all()).await.unwrap());
    assert_eq!(
        everything,
        vec![live.id, ids[4], ids[3], ids[2], ids[1], ids[0]]
    );
    let page = HistoryFilter {
        limit: 2,
        ..HistoryFilter::default()
    };
    assert_eq!(
        ids_of(db.history(&page).await.unwrap()),
        vec![live.id, ids[4]]
    );
    let peer = HistoryFilter {
        job: Some("peer".to_owned()),
        limit: 50,
        ..HistoryFilter::default()
    };
    assert_eq!(
        ids_of(db.history(&peer).await.unwrap()),
        vec![live.id, ids[3], ids[2], ids[0]]
    );
    let failed = HistoryFilter {
        status: Some(Status::Failed),
        limit: 50,
        ..HistoryFilter::default()
    };
    assert_eq!(
        ids_of(db.history(&failed).await.unwrap()),
        vec![ids[2], ids[1]]
    );
    let peer_succeeded = HistoryFilter {
        job: Some("peer".to_owned()),
        status: Some(Status::Succeeded),
        limit: 1,
    };
    assert_eq!(
        ids_of(db.history(&peer_succeeded).await.unwrap()),
        vec![ids[3]]
    );
    let nobody = HistoryFilter {
        job: Some("nobody".to_owned()),
        limit: 50,
        ..HistoryFilter::default()
    };
    assert!(db.history(&nobody).await.unwrap().is_empty());
});

store_test!(last_finished_is_the_newest_ended_run, |db| async move {
    assert_eq!(db.last_finished("peer").await.unwrap(), None);
    let first = start(&db, &manual("peer"), "h:1", t(0)).await;
    db.finish(first.id, Status::Failed, Some("x"), t(1))
        .await
        .unwrap();
    let second = start(&db, &manual("peer"), "h:1", t(2)).await;
    db.finish(second.id, Status::Succeeded, None, t(3))
        .await
        .unwrap();
    start(&db, &manual("peer"), "h:1", t(4)).await;
    let last = db.last_finished("peer").await.unwrap().unwrap();
    assert_eq!(last.id, second.id);
    assert_eq!(last.status, Status::Succeeded);
});

store_test!(synthetic_history_inserts_n_finished_runs, |db| async move {
    let now = t(86_400 * 30);
    db.generate_synthetic_history("bench", 2_500, now)
        .await
        .unwrap();
    assert_eq!(count_executions(&db).await, 2_500);
    let runs = db.history(&all()).await.unwrap();
    assert_eq!(runs.len(), 2_500);
    assert!(
        runs.iter()
            .all(|r| r.status.is_terminal() && r.finished_at.is_some())
    );
    assert!(runs.iter().any(|r| r.status == Status::Failed));
    // Newest id is the newest fire, one minute before `now`, on whole-second text like any
    // other stored time.
    assert_eq!(runs[0].scheduled_for, Some(now - TimeDelta::minutes(1)));
    assert_eq!(
        runs[2_499].scheduled_for,
        Some(now - TimeDelta::minutes(2_500))
    );
    assert_eq!(
        db.last_fire("bench").await.unwrap(),
        Some(now - TimeDelta::minutes(1))
    );
    assert_eq!(
        db.last_finished("bench").await.unwrap().map(|r| r.id),
        Some(runs[0].id)
    );
    // Regenerating the same fires adds nothing; a later `now` adds only the new minutes.
    db.generate_synthetic_history("bench", 2_500, now)
        .await
        .unwrap();
    assert_eq!(count_executions(&db).await, 2_500);
    db.generate_synthetic_history("bench", 10, now + TimeDelta::minutes(10))
        .await
        .unwrap();
    assert_eq!(count_executions(&db).await, 2_510);
    // A claim after the synthetic fires still works as usual.
    let later = now + TimeDelta::hours(1);
    start(&db, &fire("bench", later), "h:1", later).await;
});

// ----- Notices -----

/// A notice for `job` with Message-ID `mid`.
fn new_notice(job: &str, mid: &str) -> NewNotice {
    NewNotice {
        job: job.to_owned(),
        subject: format!("[OK] {job} run"),
        recipients: vec!["ops@example.org".to_owned(), "dba@example.org".to_owned()],
        message_id: mid.to_owned(),
        raw: format!("Message-ID: <{mid}>\r\nSubject: [OK] {job} run\r\n\r\nbody\r\n"),
    }
}

store_test!(
    finish_with_notice_stores_the_notice_with_the_final_status,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let notice = new_notice("peer", "n1@ferry");
        let (ended, stored) = db
            .finish_with_notice(run.id, Status::Succeeded, None, t(5), Some(&notice))
            .await
            .unwrap();
        assert_eq!(ended.status, Status::Succeeded);
        let stored = stored.unwrap();
        assert_eq!(stored.execution_id, run.id);
        assert_eq!(stored.job, "peer");
        assert_eq!(stored.recipients, notice.recipients);
        assert_eq!(stored.raw, notice.raw);
        assert_eq!(stored.delivery, "pending");
        assert_eq!(stored.attempts, 0);
        assert_eq!(stored.created_at, t(5));
        assert_eq!(stored.next_attempt_at, Some(t(5)));
        assert_eq!(db.notice(stored.id).await.unwrap(), stored);
        assert_eq!(
            db.notices_for_execution(run.id).await.unwrap(),
            vec![stored]
        );
    }
);

store_test!(
    finish_with_notice_records_neither_when_the_message_id_is_taken,
    |db| async move {
        let first = start(&db, &manual("a"), "host-a:1", t(0)).await;
        db.finish_with_notice(
            first.id,
            Status::Failed,
            Some("x"),
            t(1),
            Some(&new_notice("a", "dup@ferry")),
        )
        .await
        .unwrap();
        let second = start(&db, &manual("b"), "host-a:1", t(2)).await;
        let err = db
            .finish_with_notice(
                second.id,
                Status::Succeeded,
                None,
                t(3),
                Some(&new_notice("b", "dup@ferry")),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UniqueViolation(_)), "{err:?}");
        assert_eq!(
            db.execution(second.id).await.unwrap().unwrap().status,
            Status::Running
        );
        assert!(
            db.notices_for_execution(second.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

store_test!(
    finish_without_a_notice_stores_none_and_finish_is_unchanged,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let ended = db
            .finish(run.id, Status::Failed, Some("boom"), t(1))
            .await
            .unwrap();
        assert_eq!(ended.error.as_deref(), Some("boom"));
        assert!(db.notices_for_execution(run.id).await.unwrap().is_empty());
        let again = db
            .finish_with_notice(
                run.id,
                Status::Succeeded,
                None,
                t(2),
                Some(&new_notice("peer", "m@f")),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                again,
                StoreError::AlreadyFinished {
                    status: Status::Failed,
                    ..
                }
            ),
            "{again:?}"
        );
        assert!(db.notices_for_execution(run.id).await.unwrap().is_empty());
    }
);

store_test!(
    record_attempt_moves_delivery_and_keeps_every_attempt,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let (_, n) = db
            .finish_with_notice(
                run.id,
                Status::Succeeded,
                None,
                t(1),
                Some(&new_notice("peer", "r@f")),
            )
            .await
            .unwrap();
        let n = n.unwrap();
        assert_eq!(db.due_notices(t(0), 10).await.unwrap(), vec![]);
        assert_eq!(db.due_notices(t(1), 10).await.unwrap(), vec![n.clone()]);

        let retried = db
            .record_attempt(n.id, false, "connection refused", false, Some(t(61)), t(1))
            .await
            .unwrap();
        assert_eq!(retried.delivery, "pending");
        assert_eq!(retried.attempts, 1);
        assert_eq!(retried.next_attempt_at, Some(t(61)));
        assert_eq!(retried.last_error.as_deref(), Some("connection refused"));
        assert!(db.due_notices(t(60), 10).await.unwrap().is_empty());
        assert_eq!(db.due_notices(t(61), 10).await.unwrap().len(), 1);

        let sent = db
            .record_attempt(n.id, true, "250 2.0.0 Ok", false, None, t(61))
            .await
            .unwrap();
        assert_eq!(sent.delivery, "sent");
        assert_eq!(sent.attempts, 2);
        assert_eq!(sent.sent_at, Some(t(61)));
        assert_eq!(sent.next_attempt_at, None);
        assert!(db.due_notices(t(1000), 10).await.unwrap().is_empty());

        let attempts = db.notice_attempts(n.id).await.unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(
            (attempts[0].attempt, attempts[0].ok, attempts[0].at),
            (1, false, t(1))
        );
        assert_eq!(attempts[0].response, "connection refused");
        assert_eq!((attempts[1].attempt, attempts[1].ok), (2, true));
        assert_eq!(attempts[1].response, "250 2.0.0 Ok");
    }
);

store_test!(
    a_permanent_failure_marks_the_notice_failed_and_resend_requeues_it,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let (_, n) = db
            .finish_with_notice(
                run.id,
                Status::Failed,
                Some("x"),
                t(1),
                Some(&new_notice("peer", "p@f")),
            )
            .await
            .unwrap();
        let n = n.unwrap();
        let failed = db
            .record_attempt(
                n.id,
                false,
                "550 5.1.1 no such user",
                true,
                Some(t(99)),
                t(2),
            )
            .await
            .unwrap();
        assert_eq!(failed.delivery, "failed");
        assert_eq!(failed.next_attempt_at, None);
        assert_eq!(failed.last_error.as_deref(), Some("550 5.1.1 no such user"));
        assert!(db.due_notices(t(1000), 10).await.unwrap().is_empty());

        let requeued = db.requeue_notice(n.id, t(500)).await.unwrap();
        assert_eq!(requeued.delivery, "pending");
        assert_eq!(requeued.next_attempt_at, Some(t(500)));
        assert_eq!(requeued.message_id, "p@f");
        assert_eq!(requeued.attempts, 1);
        assert_eq!(db.due_notices(t(500), 10).await.unwrap(), vec![requeued]);
        assert_eq!(db.notice_attempts(n.id).await.unwrap().len(), 1);
    }
);

store_test!(unknown_notices_are_reported_as_such, |db| async move {
    assert!(matches!(
        db.notice(42).await,
        Err(StoreError::NoticeNotFound { id: 42 })
    ));
    assert!(matches!(
        db.record_attempt(42, true, "250", false, None, t(0)).await,
        Err(StoreError::NoticeNotFound { id: 42 })
    ));
    assert!(matches!(
        db.requeue_notice(42, t(0)).await,
        Err(StoreError::NoticeNotFound { id: 42 })
    ));
    assert!(db.notice_attempts(42).await.unwrap().is_empty());
});

store_test!(
    notices_are_listed_newest_first_filtered_and_paged,
    |db| async move {
        let mut ids = Vec::new();
        for i in 0..5_i64 {
            let job = if i % 2 == 0 { "even" } else { "odd" };
            let status = if i == 4 {
                Status::Failed
            } else {
                Status::Succeeded
            };
            let run = start(&db, &manual(job), "host-a:1", t(i * 10)).await;
            let (_, n) = db
                .finish_with_notice(
                    run.id,
                    status,
                    None,
                    t(i * 10 + 1),
                    Some(&new_notice(job, &format!("l{i}@f"))),
                )
                .await
                .unwrap();
            ids.push(n.unwrap().id);
        }
        db.record_attempt(ids[0], true, "250", false, None, t(100))
            .await
            .unwrap();

        let all = |page: i64, page_size: i64| NoticeFilter {
            page,
            page_size,
            ..NoticeFilter::default()
        };
        let (page1, total) = db.notices(&all(1, 2)).await.unwrap();
        assert_eq!(total, 5);
        assert_eq!(
            page1.iter().map(|n| n.id).collect::<Vec<_>>(),
            vec![ids[4], ids[3]]
        );
        let (page3, _) = db.notices(&all(3, 2)).await.unwrap();
        assert_eq!(page3.iter().map(|n| n.id).collect::<Vec<_>>(), vec![ids[0]]);
        let (default_page, _) = db.notices(&all(0, 0)).await.unwrap();
        assert_eq!(default_page.len(), 5);

        let by_job = NoticeFilter {
            job: Some("even".into()),
            ..all(1, 10)
        };
        let (even, total) = db.notices(&by_job).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            even.iter().map(|n| n.id).collect::<Vec<_>>(),
            vec![ids[4], ids[2], ids[0]]
        );

        let by_status = NoticeFilter {
            status: Some(Status::Failed),
            ..all(1, 10)
        };
        let (failed, total) = db.notices(&by_status).await.unwrap();
        assert_eq!((total, failed[0].id), (1, ids[4]));

        let by_delivery = NoticeFilter {
            delivery: Some("sent".into()),
            job: Some("even".into()),
            ..all(1, 10)
        };
        let (sent, total) = db.notices(&by_delivery).await.unwrap();
        assert_eq!((total, sent[0].id), (1, ids[0]));
    }
);

store_test!(
    a_notice_is_claimed_by_one_sender_at_a_time,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        let (_, stored) = db
            .finish_with_notice(
                run.id,
                Status::Failed,
                Some("x"),
                t(1),
                Some(&new_notice("peer", "claim@ferry")),
            )
            .await
            .unwrap();
        let id = stored.unwrap().id;
        // Not due yet: nobody takes it.
        assert!(db.claim_notice(id, t(0), t(60)).await.unwrap().is_none());
        // Two schedulers on one database: the first takes it, the second does not.
        let other = db.open_another().await;
        let taken = db.claim_notice(id, t(2), t(62)).await.unwrap().unwrap();
        assert_eq!(taken.next_attempt_at, Some(t(62)));
        assert!(other.claim_notice(id, t(2), t(62)).await.unwrap().is_none());
        assert!(db.due_notices(t(30), 0).await.unwrap().is_empty());
        // A sender that died mid-attempt: the claim expires and the notice is due again.
        assert!(
            other
                .claim_notice(id, t(62), t(122))
                .await
                .unwrap()
                .is_some()
        );
        other.close().await;
        // Sent: never claimed again.
        db.record_attempt(id, true, "250 OK", false, None, t(63))
            .await
            .unwrap();
        assert!(db.claim_notice(id, t(500), t(560)).await.unwrap().is_none());
    }
);

store_test!(
    add_notice_stores_a_pending_notice_of_a_finished_run,
    |db| async move {
        let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        db.finish(run.id, Status::Abandoned, Some("scheduler died"), t(1))
            .await
            .unwrap();
        let stored = db
            .add_notice(run.id, &new_notice("peer", "late@ferry"), t(2))
            .await
            .unwrap();
        assert_eq!(
            (stored.delivery.as_str(), stored.next_attempt_at),
            ("pending", Some(t(2)))
        );
        assert_eq!(db.due_notices(t(2), 0).await.unwrap(), vec![stored]);
        let dup = db
            .add_notice(run.id, &new_notice("peer", "late@ferry"), t(3))
            .await
            .unwrap_err();
        assert!(matches!(dup, StoreError::UniqueViolation(_)), "{dup:?}");
    }
);

store_test!(
    previous_outcome_skips_missed_and_live_runs,
    |db| async move {
        assert_eq!(db.previous_outcome("peer", 1000).await.unwrap(), None);
        let a = start(&db, &manual("peer"), "host-a:1", t(0)).await;
        db.finish(a.id, Status::TimedOut, Some("slow"), t(1))
            .await
            .unwrap();
        db.record_missed(&fire("peer", t(10)), "overlap", t(10))
            .await
            .unwrap();
        let other_job = start(&db, &manual("roster"), "host-a:1", t(11)).await;
        db.finish(other_job.id, Status::Succeeded, None, t(12))
            .await
            .unwrap();
        let b = start(&db, &manual("peer"), "host-a:1", t(20)).await;
        assert_eq!(
            db.previous_outcome("peer", b.id).await.unwrap(),
            Some(Status::TimedOut)
        );
        db.finish(b.id, Status::Succeeded, None, t(21))
            .await
            .unwrap();
        assert_eq!(
            db.previous_outcome("peer", b.id + 1).await.unwrap(),
            Some(Status::Succeeded)
        );
        assert_eq!(db.previous_outcome("peer", a.id).await.unwrap(), None);
    }
);

store_test!(notices_are_deleted_with_their_execution, |db| async move {
    let run = start(&db, &manual("peer"), "host-a:1", t(0)).await;
    let (_, n) = db
        .finish_with_notice(
            run.id,
            Status::Succeeded,
            None,
            t(1),
            Some(&new_notice("peer", "c@f")),
        )
        .await
        .unwrap();
    let n = n.unwrap();
    db.record_attempt(n.id, true, "250", false, None, t(2))
        .await
        .unwrap();
    with_pool!(db.store, pool => {
        sqlx::query("DELETE FROM executions WHERE id = $1").bind(run.id).execute(pool).await.unwrap();
    });
    assert!(matches!(
        db.notice(n.id).await,
        Err(StoreError::NoticeNotFound { .. })
    ));
    assert!(db.notice_attempts(n.id).await.unwrap().is_empty());
});

// ----- Problems -----

use super::model::{ProblemCount, ProblemRecord};

/// Problem `seq` of a synthetic import: alternately errors and warnings in three categories, with
/// file, line, field and value each left out on a different rhythm, and text SQL must not mangle.
fn problem(seq: i64) -> ProblemRecord {
    let (severity, category) = match seq % 3 {
        0 => ("error", "Invalid value"),
        1 => ("error", "Unknown school"),
        _ => ("warning", "Missing grade"),
    };
    ProblemRecord {
        seq,
        at: t_ms(seq),
        severity: severity.to_owned(),
        category: category.to_owned(),
        file: (seq % 4 != 0).then(|| format!("PEER_STUDENT_{}.txt", seq % 2)),
        line: (seq % 5 != 0).then_some(seq + 1),
        field: (seq % 7 != 0).then(|| "BirthDate".to_owned()),
        value: (seq % 7 != 0 && seq % 11 != 0).then(|| format!("2019-13-{seq} 'x' $1 ; --")),
        message: format!("must be a date (YYYY-MM-DD), row {seq}"),
    }
}

store_test!(
    problems_are_stored_in_order_with_every_field,
    |db| async move {
        let run = start(&db, &manual("peer"), "h:1", t(0)).await;
        let other = start(&db, &manual("ises"), "h:1", t(0)).await;
        let problems: Vec<ProblemRecord> = (1..=5_000).map(problem).collect();
        // One call spanning several statements, then a second call, then nothing.
        db.append_problems(run.id, &problems[..3_500])
            .await
            .unwrap();
        db.append_problems(run.id, &problems[3_500..])
            .await
            .unwrap();
        db.append_problems(run.id, &[]).await.unwrap();
        db.append_problems(other.id, &problems[..2]).await.unwrap();

        let all = db.problems(run.id, 0).await.unwrap();
        assert_eq!(all.len(), 5_000);
        assert_eq!(all, problems);
        assert!(all.iter().any(|p| p.file.is_none() && p.line.is_none()));
        assert!(all.iter().any(|p| p.field.is_some() && p.value.is_none()));
        assert_eq!(
            db.problems(run.id, 25).await.unwrap(),
            problems[..25].to_vec()
        );
        assert_eq!(
            db.problems(other.id, -1).await.unwrap(),
            problems[..2].to_vec()
        );
        assert!(db.problems(404, 0).await.unwrap().is_empty());
    }
);

store_test!(a_failed_problem_batch_stores_none_of_it, |db| async move {
    let run = start(&db, &manual("peer"), "h:1", t(0)).await;
    db.append_problems(run.id, &[problem(1)]).await.unwrap();
    // 1,500 new problems whose last one repeats seq 1: the statement holding the first 1,000
    // succeeds, the second fails, and the transaction takes both back.
    let mut batch: Vec<ProblemRecord> = (2..=1_500).map(problem).collect();
    batch.push(problem(1));
    let duplicate = db.append_problems(run.id, &batch).await.unwrap_err();
    assert!(
        matches!(duplicate, StoreError::UniqueViolation(_)),
        "{duplicate:?}"
    );
    assert_eq!(db.problems(run.id, 0).await.unwrap(), vec![problem(1)]);

    let fatal = ProblemRecord {
        severity: "fatal".to_owned(),
        ..problem(2)
    };
    let rejected = db.append_problems(run.id, &[fatal]).await.unwrap_err();
    assert!(
        matches!(rejected, StoreError::ConstraintViolation(_)),
        "{rejected:?}"
    );
    let orphan = db
        .append_problems(777_777, &[problem(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(orphan, StoreError::ForeignKeyViolation(_)),
        "{orphan:?}"
    );
    assert_eq!(db.problems(run.id, 0).await.unwrap().len(), 1);
});

store_test!(
    problem_counts_group_by_severity_and_category,
    |db| async move {
        let run = start(&db, &manual("peer"), "h:1", t(0)).await;
        let other = start(&db, &manual("ises"), "h:1", t(0)).await;
        assert!(db.problem_counts(run.id).await.unwrap().is_empty());
        let with = |seq: i64, severity: &str, category: &str| ProblemRecord {
            severity: severity.to_owned(),
            category: category.to_owned(),
            ..problem(seq)
        };
        let mut problems = Vec::new();
        let mut seq = 0;
        for (severity, category, n) in [
            ("warning", "Missing grade", 2),
            ("error", "Invalid value", 40),
            ("error", "Unknown school", 2),
            ("warning", "Invalid value", 7),
            ("error", "Duplicate student", 7),
        ] {
            for _ in 0..n {
                seq += 1;
                problems.push(with(seq, severity, category));
            }
        }
        db.append_problems(run.id, &problems).await.unwrap();
        db.append_problems(other.id, &[with(1, "error", "Unknown school")])
            .await
            .unwrap();
        let count = |severity: &str, category: &str, count| ProblemCount {
            severity: severity.to_owned(),
            category: category.to_owned(),
            count,
        };
        assert_eq!(
            db.problem_counts(run.id).await.unwrap(),
            vec![
                count("error", "Invalid value", 40),
                count("error", "Duplicate student", 7),
                count("warning", "Invalid value", 7),
                count("warning", "Missing grade", 2),
                count("error", "Unknown school", 2),
            ]
        );
        assert_eq!(
            db.problem_counts(other.id).await.unwrap(),
            vec![count("error", "Unknown school", 1)]
        );
    }
);

store_test!(
    prune_deletes_problems_with_their_execution,
    |db| async move {
        let old = start(&db, &manual("peer"), "h:1", t(0)).await;
        let recent = start(&db, &manual("ises"), "h:1", t(0)).await;
        let problems: Vec<ProblemRecord> = (1..=1_200).map(problem).collect();
        db.append_problems(old.id, &problems).await.unwrap();
        db.append_problems(recent.id, &problems[..3]).await.unwrap();
        db.finish(old.id, Status::Warning, None, t(10))
            .await
            .unwrap();
        db.finish(recent.id, Status::Warning, None, t(1_000))
            .await
            .unwrap();

        assert_eq!(db.prune(t(500), 10).await.unwrap(), 1);
        assert!(db.problems(old.id, 0).await.unwrap().is_empty());
        assert!(db.problem_counts(old.id).await.unwrap().is_empty());
        assert_eq!(db.problems(recent.id, 0).await.unwrap().len(), 3);
        let left: i64 = with_pool!(db.store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM run_problems")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(left, 3);
    }
);
