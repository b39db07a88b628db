-- Ferry's history store, SQLite flavour. The twin of migrations/postgres/0001_history.sql:
-- same tables, columns, constraints and indexes; only the types differ.
-- Timestamps are TEXT in one RFC 3339 encoding (`YYYY-MM-DDTHH:MM:SS[.fff]+00:00`, written by
-- sqlx from chrono::DateTime<Utc>), which sorts and compares correctly as text.
-- Never edit this file once released: add a new numbered migration to both folders instead.

CREATE TABLE executions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job            TEXT    NOT NULL,
    trigger        TEXT    NOT NULL
                   CHECK (trigger IN ('schedule', 'catch_up', 'retry', 'manual', 'arrival')),
    requested_by   TEXT    NOT NULL,
    host           TEXT    NOT NULL,
    scheduled_for  TEXT,
    queued_at      TEXT    NOT NULL,
    started_at     TEXT,
    entered_at     TEXT,
    finished_at    TEXT,
    status         TEXT    NOT NULL
                   CHECK (status IN ('queued', 'running', 'succeeded', 'warning', 'failed',
                                     'timed_out', 'cancelled', 'abandoned', 'missed')),
    attempt        INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    -- No foreign key: a retry outlives the pruning of the run it retried.
    retry_of       INTEGER UNIQUE,
    not_before     TEXT,
    error          TEXT,
    params         TEXT    NOT NULL DEFAULT '{}',
    plugin         TEXT    NOT NULL,
    plugin_version TEXT,
    -- A live execution has no end; a finished one always has one (retention relies on it).
    CHECK ((status IN ('queued', 'running')) = (finished_at IS NULL))
);

-- One execution per scheduled fire and attempt, across every scheduler sharing the store.
CREATE UNIQUE INDEX executions_fire ON executions (job, scheduled_for, attempt)
    WHERE scheduled_for IS NOT NULL;
-- `ferry history JOB`, last status per job, the schedule cursor per job.
CREATE INDEX executions_job ON executions (job, id);
-- `ferry history --status`, queued and running runs (dispatch, reaping).
CREATE INDEX executions_status ON executions (status, id);
-- Retention: terminal executions by end time.
CREATE INDEX executions_finished ON executions (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE execution_logs (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    ts           TEXT    NOT NULL,
    level        TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;

CREATE TABLE table_stats (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    table_name   TEXT    NOT NULL,
    rows         INTEGER NOT NULL,
    seconds      REAL    NOT NULL,
    action       TEXT    NOT NULL
                 CHECK (action IN ('imported', 'inserted', 'updated', 'deleted', 'sent', 'failed')),
    PRIMARY KEY (execution_id, position)
);

CREATE TABLE execution_files (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    path         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    PRIMARY KEY (execution_id, position)
);

-- At most one running execution per job: the holder of the job's lease.
CREATE TABLE job_leases (
    job          TEXT    PRIMARY KEY,
    execution_id INTEGER NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
    holder       TEXT    NOT NULL,
    acquired_at  TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL
);

-- What a job keeps between runs (sequence numbers, sync hashes), through the host service.
CREATE TABLE job_state (
    job        TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job, key)
) WITHOUT ROWID;
