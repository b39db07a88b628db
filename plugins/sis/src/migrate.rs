//! Versioned schema changes a job plugin makes to the SIS database (its background tables), kept
//! per owner in `ferry_job_migrations` so several plugins can share one SIS and each knows what
//! it already applied. A database that has a version the plugin does not know was migrated by a
//! newer plugin; running an older one against it could corrupt data, so that is refused.

use crate::{SisError, Tx};

/// One schema change: applied once, in version order, as a script (see [`Tx::batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Strictly increasing within one owner's list.
    pub version: i64,
    /// A short name, recorded with the version.
    pub name: &'static str,
    /// The script, for the backend at hand (keep a SQLite and a PostgreSQL twin of each).
    pub sql: &'static str,
}

impl Migration {
    /// A migration (usable in `const` lists with `include_str!`).
    pub const fn new(version: i64, name: &'static str, sql: &'static str) -> Migration {
        Migration { version, name, sql }
    }
}

/// The bookkeeping table; the same text works on SQLite and PostgreSQL.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS ferry_job_migrations (
    owner TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (owner, version)
)";

/// Applies, inside `tx`, each migration of `owner` that the database does not have yet, in
/// version order, and returns the versions applied (empty when up to date). Nothing is kept
/// unless the caller commits `tx`.
///
/// Fails when the list's versions are not strictly increasing, and when the database has a
/// version of this owner that the list does not (a newer plugin ran before).
pub fn migrate(
    tx: &mut Tx<'_>,
    owner: &str,
    migrations: &[Migration],
) -> Result<Vec<i64>, SisError> {
    if let Some(pair) = migrations.windows(2).find(|w| w[0].version >= w[1].version) {
        return Err(SisError::Migration {
            owner: owner.to_owned(),
            detail: format!(
                "versions must be strictly increasing, but {} comes after {}",
                pair[1].version, pair[0].version
            ),
        });
    }
    tx.batch(CREATE_TABLE)?;
    let applied: Vec<i64> = tx
        .query(
            "SELECT version FROM ferry_job_migrations WHERE owner = ? ORDER BY version",
            &[owner.into()],
        )?
        .into_iter()
        .filter_map(|row| row.first().and_then(|v| v.as_i64()))
        .collect();
    if let Some(unknown) = applied
        .iter()
        .find(|v| !migrations.iter().any(|m| m.version == **v))
    {
        return Err(SisError::UnknownMigration {
            owner: owner.to_owned(),
            version: *unknown,
        });
    }
    let mut done = Vec::new();
    for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch(migration.sql).map_err(|e| SisError::Migration {
            owner: owner.to_owned(),
            detail: format!(
                "migration {} ({}) failed: {e}",
                migration.version, migration.name
            ),
        })?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        tx.execute(
            "INSERT INTO ferry_job_migrations (owner, version, name, applied_at) VALUES (?, ?, ?, ?)",
            &[
                owner.into(),
                migration.version.into(),
                migration.name.into(),
                now.into(),
            ],
        )?;
        done.push(migration.version);
    }
    Ok(done)
}
