-- Problems with a run's input, SQLite flavour. The twin of migrations/postgres/0004_problems.sql:
-- same table, columns, constraints and indexes; only the types differ.
-- Never edit this file once released: add a new numbered migration to both folders instead.

-- One row per problem a run reported (a rejected row, a bad value), in the order reported, naming
-- where the input is wrong as precisely as the job could: file, line, field and value. Result
-- notices count them per severity and category and quote the first ones.
CREATE TABLE run_problems (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at           TEXT    NOT NULL,
    severity     TEXT    NOT NULL CHECK (severity IN ('warning', 'error')),
    category     TEXT    NOT NULL,
    file         TEXT,
    -- As the job reported it: 1-based by convention.
    line         INTEGER CHECK (line >= 0),
    field        TEXT,
    value        TEXT,
    message      TEXT    NOT NULL,
    PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;
