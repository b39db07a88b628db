-- Table stats may say rows were left `unchanged` (a sync that found them already current at the
-- destination), SQLite flavour. The twin of migrations/postgres/0005_unchanged_rows.sql.
-- Never edit this file once released: add a new numbered migration to both folders instead.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt with the same
-- columns and primary key and its rows copied over.

CREATE TABLE table_stats_new (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    table_name   TEXT    NOT NULL,
    rows         INTEGER NOT NULL,
    seconds      REAL    NOT NULL,
    action       TEXT    NOT NULL
                 CHECK (action IN ('imported', 'inserted', 'updated', 'deleted', 'sent', 'failed',
                                   'unchanged')),
    PRIMARY KEY (execution_id, position)
);

INSERT INTO table_stats_new (execution_id, position, table_name, rows, seconds, action)
SELECT execution_id, position, table_name, rows, seconds, action FROM table_stats;

DROP TABLE table_stats;

ALTER TABLE table_stats_new RENAME TO table_stats;
