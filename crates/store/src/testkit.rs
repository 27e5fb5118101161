//! Fresh databases for tests: a SQLite file in a temporary folder, or a new database on the
//! PostgreSQL server named by `CADUCEE_TEST_POSTGRES_URL` (default: the local server on
//! 127.0.0.1:5432). A PostgreSQL that cannot be reached makes the test fail, never skip: a
//! run that silently tests one engine only would hide half the bugs.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use crate::{Dialect, Store};
use sqlx::Executor;

pub const POSTGRES_ENV: &str = "CADUCEE_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that lives as long as this value: the SQLite folder is removed on drop; the
/// PostgreSQL database is dropped by [`TestDb::cleanup`] (best effort) or left for the
/// next `scripts/test` run's server to discard.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    admin_url: Option<String>,
    db_name: Option<String>,
}

impl TestDb {
    pub async fn new(dialect: Dialect) -> TestDb {
        match dialect {
            Dialect::Sqlite => Self::sqlite().await,
            Dialect::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}/test.db", dir.path().display());
        let store = Store::connect(&url).await.expect("sqlite opens");
        TestDb {
            store,
            url,
            _dir: Some(dir),
            admin_url: None,
            db_name: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let admin_url =
            std::env::var(POSTGRES_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
        let name = format!("caducee_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Store::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required by the tests and {POSTGRES_ENV} ({admin_url}) does not answer: {e}. Run scripts/test, which sets it up.")
        });
        admin
            .pool()
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE (the test user needs CREATEDB)");
        admin.close().await;
        let url = replace_db_name(&admin_url, &name);
        let store = Store::connect(&url).await.expect("test database opens");
        TestDb {
            store,
            url,
            _dir: None,
            admin_url: Some(admin_url),
            db_name: Some(name),
        }
    }

    /// Drops the PostgreSQL database (no-op for SQLite).
    pub async fn cleanup(self) {
        self.store.close().await;
        if let (Some(admin_url), Some(name)) = (self.admin_url, self.db_name) {
            if let Ok(admin) = Store::connect(&admin_url).await {
                let _ = admin
                    .pool()
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
                admin.close().await;
            }
        }
    }
}

/// Declares, for each `test_name => scenario;`, one test per engine: `sqlite::test_name`
/// and `postgres::test_name`, each calling `scenario(Dialect)` on a multi-threaded runtime.
/// One invocation per module.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$body($crate::Dialect::Sqlite).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$body($crate::Dialect::Postgres).await; })*
        }
    };
}

/// `postgres://u@h:5432/postgres?x=y` → `postgres://u@h:5432/NAME?x=y`
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_db_name("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            replace_db_name("postgres://u@h:1", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            replace_db_name("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
