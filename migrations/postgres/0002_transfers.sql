-- Files moved to or from file servers, PostgreSQL flavour. The twin of
-- migrations/sqlite/0002_transfers.sql: same table, columns and constraints; only the types differ.
-- Never edit this file once released: add a new numbered migration to both folders instead.

-- One row per file a run fetched (`download`) or uploaded (`upload`), in the order they finished.
CREATE TABLE transfers (
    execution_id BIGINT  NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    direction    TEXT    NOT NULL CHECK (direction IN ('download', 'upload')),
    -- The [connections.NAME] used.
    connection   TEXT    NOT NULL,
    remote_path  TEXT    NOT NULL,
    local_path   TEXT    NOT NULL,
    bytes        BIGINT  NOT NULL CHECK (bytes >= 0),
    seconds      DOUBLE PRECISION NOT NULL CHECK (seconds >= 0),
    -- Lowercase hex SHA-256 of the file's contents.
    sha256       TEXT    NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (execution_id, position)
);
