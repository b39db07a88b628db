-- Result notices (outbox), SQLite flavour. The twin of migrations/postgres/0003_notices.sql:
-- same tables, columns, constraints and indexes; only the types differ.
-- Never edit this file once released: add a new numbered migration to both folders instead.

-- One row per result notice: the full message exactly as it is (or was) sent, and where its
-- delivery stands. Written in the same transaction as the run's final status.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id    INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    job             TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    -- JSON array of addresses.
    recipients      TEXT    NOT NULL,
    -- Stable across retries, so a retry never duplicates a delivered message.
    message_id      TEXT    NOT NULL UNIQUE,
    -- The RFC 5322 message, byte for byte as sent.
    raw             TEXT    NOT NULL,
    delivery        TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (delivery IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    sent_at         TEXT
);
CREATE INDEX notices_due ON notices (delivery, next_attempt_at);
CREATE INDEX notices_execution ON notices (execution_id);
CREATE INDEX notices_job ON notices (job, id);

-- One row per delivery attempt of a notice, with the server's answer.
CREATE TABLE notice_attempts (
    notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    attempt   INTEGER NOT NULL CHECK (attempt >= 1),
    at        TEXT    NOT NULL,
    ok        INTEGER NOT NULL CHECK (ok IN (0, 1)),
    response  TEXT    NOT NULL,
    PRIMARY KEY (notice_id, attempt)
);
