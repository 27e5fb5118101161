//! Schema migrations, owned per component.
//!
//! Written by hand rather than with `sqlx::migrate!` because sqlx keeps one linear history
//! per database, while here each component (store, registry, notify, idp…) owns its tables
//! and numbers its migrations independently. The SQL of a migration must be portable
//! between SQLite and PostgreSQL (TEXT, BIGINT, no SERIAL, no BOOLEAN).

use crate::{Dialect, Store, StoreError};
use sqlx::{Executor, Row};

/// One schema change of one component.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub component: &'static str,
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) async fn run(store: &Store, migrations: &[Migration]) -> Result<(), StoreError> {
    let pool = store.pool();
    pool.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration (
            component TEXT NOT NULL,
            version BIGINT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (component, version))",
    )
    .await?;
    for m in migrations {
        let applied = sqlx::query(
            "SELECT COUNT(*) FROM schema_migration WHERE component = $1 AND version = $2",
        )
        .bind(m.component)
        .bind(m.version)
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>(0)?;
        if applied > 0 {
            continue;
        }
        let fail = |source| StoreError::Migration {
            component: m.component.to_string(),
            version: m.version,
            name: m.name.to_string(),
            source,
        };
        let mut tx = pool.begin().await.map_err(fail)?;
        // A bare &str runs through the simple-query protocol: several statements are allowed.
        let sql = for_dialect(m.sql, store.dialect());
        tx.execute(sql.as_str()).await.map_err(fail)?;
        // Two nodes starting together: the primary key makes the loser fail here and roll
        // back its copy of the same DDL.
        sqlx::query("INSERT INTO schema_migration (component, version, name) VALUES ($1, $2, $3)")
            .bind(m.component)
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(
            component = m.component,
            version = m.version,
            name = m.name,
            "migration appliquée"
        );
    }
    Ok(())
}

/// The statements of `sql` meant for `dialect`: everything outside `--@sqlite` /
/// `--@postgres` sections, and the sections of that engine.
pub fn for_dialect(sql: &str, dialect: Dialect) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut keep = true;
    for line in sql.lines() {
        match line.trim() {
            "--@sqlite" => keep = dialect == Dialect::Sqlite,
            "--@postgres" => keep = dialect == Dialect::Postgres,
            "--@both" => keep = true,
            _ if keep => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_sections_are_kept_for_their_engine_only() {
        let sql = "A;\n--@sqlite\nS;\n--@postgres\nP;\n--@both\nB;\n";
        assert_eq!(for_dialect(sql, Dialect::Sqlite), "A;\nS;\nB;\n");
        assert_eq!(for_dialect(sql, Dialect::Postgres), "A;\nP;\nB;\n");
    }
}
