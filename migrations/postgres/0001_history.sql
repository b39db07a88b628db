-- Ferry's history store, PostgreSQL flavour. The twin of migrations/sqlite/0001_history.sql:
-- same tables, columns, constraints and indexes; only the types differ.
-- Never edit this file once released: add a new numbered migration to both folders instead.

CREATE TABLE executions (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job            TEXT    NOT NULL,
    trigger        TEXT    NOT NULL
                   CHECK (trigger IN ('schedule', 'catch_up', 'retry', 'manual', 'arrival')),
    requested_by   TEXT    NOT NULL,
    host           TEXT    NOT NULL,
    scheduled_for  TIMESTAMPTZ,
    queued_at      TIMESTAMPTZ NOT NULL,
    started_at     TIMESTAMPTZ,
    entered_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    status         TEXT    NOT NULL
                   CHECK (status IN ('queued', 'running', 'succeeded', 'warning', 'failed',
                                     'timed_out', 'cancelled', 'abandoned', 'missed')),
    attempt        INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    -- No foreign key: a retry outlives the pruning of the run it retried.
    retry_of       BIGINT  UNIQUE,
    not_before     TIMESTAMPTZ,
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
    execution_id BIGINT  NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          BIGINT  NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    level        TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

CREATE TABLE table_stats (
    execution_id BIGINT  NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    table_name   TEXT    NOT NULL,
    rows         BIGINT  NOT NULL,
    seconds      DOUBLE PRECISION NOT NULL,
    action       TEXT    NOT NULL
                 CHECK (action IN ('imported', 'inserted', 'updated', 'deleted', 'sent', 'failed')),
    PRIMARY KEY (execution_id, position)
);

CREATE TABLE execution_files (
    execution_id BIGINT  NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    path         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (execution_id, position)
);

-- At most one running execution per job: the holder of the job's lease.
CREATE TABLE job_leases (
    job          TEXT    PRIMARY KEY,
    execution_id BIGINT  NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
    holder       TEXT    NOT NULL,
    acquired_at  TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

-- What a job keeps between runs (sequence numbers, sync hashes), through the host service.
CREATE TABLE job_state (
    job        TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job, key)
);
