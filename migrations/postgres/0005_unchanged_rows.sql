-- Table stats may say rows were left `unchanged` (a sync that found them already current at the
-- destination), PostgreSQL flavour. The twin of migrations/sqlite/0005_unchanged_rows.sql.
-- Never edit this file once released: add a new numbered migration to both folders instead.

ALTER TABLE table_stats DROP CONSTRAINT table_stats_action_check;

ALTER TABLE table_stats ADD CONSTRAINT table_stats_action_check
    CHECK (action IN ('imported', 'inserted', 'updated', 'deleted', 'sent', 'failed',
                      'unchanged'));
