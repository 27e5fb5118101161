//! Database access for every component of caducee.
//!
//! One code path for SQLite and PostgreSQL: queries go through sqlx's `Any` driver with
//! portable SQL (`$1` placeholders work on both; `ON CONFLICT … DO UPDATE` on both), so no
//! query is ever written twice. Each component owns its tables and hands its migrations to
//! [`Store::migrate`]. This crate must never hold business rules: it moves rows.

pub mod audit;
mod error;
mod migrate;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod throttle;
mod write_lane;
mod writes;

pub use error::StoreError;
pub use migrate::Migration;
pub use sqlx;
pub use write_lane::LaneWork;
pub use writes::{NativeSqlite, Value, Writes};

/// The store's own tables (the audit trail, the rate-limit windows), which every component's
/// migrations start with.
pub const MIGRATIONS: &[Migration] = &[audit::MIGRATION, throttle::MIGRATION];

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// A pooled connection idle for this long is pinged before it is handed out again.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

/// What a process does with its database, which sizes SQLite's page cache (one per
/// connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Workload {
    /// A server: its readers keep the pages the directory's searches come back to.
    #[default]
    Serve,
    /// A bulk import: it touches most pages about once, so a large cache only holds memory.
    /// Measured at 2.2 M rows (`bench/import`, bench/README.md, 2026-12-03): 16 MB instead
    /// of 64 MB a connection took the import's peak RSS from 429 to 292 MB and the
    /// re-import's from 717 to 287 MB; the wall time stayed within the noise (95.4, 98.2 s).
    Bulk,
}

/// The page cache of [`Store::native_sqlite`]'s connection, which writes every row of an
/// import: it keeps the index pages the next rows go to. Measured on 600,000 lines
/// (bench/README.md, 2026-12-03): 64 MB instead of 16 MB wrote them 9 % faster for 40 MB
/// more peak memory; 128 MB was no faster.
const NATIVE_CACHE_KIB: u32 = 65_536;

impl Workload {
    fn sqlite_cache_kib(self) -> u32 {
        match self {
            Workload::Serve => 65_536,
            Workload::Bulk => 16_384,
        }
    }
}

/// Which database engine is behind the pool: the few places where the engines differ (row
/// locking for job queues, bind limits) ask this instead of guessing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn from_url(url: &str) -> Result<Dialect, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::BadUrl(redact_url(url)))
        }
    }

    /// Most bind parameters one statement may carry (SQLite ≥ 3.32: 32766, PostgreSQL: 65535).
    pub fn max_binds(self) -> usize {
        match self {
            Dialect::Sqlite => 32_766,
            Dialect::Postgres => 65_535,
        }
    }
}

/// On SQLite, write transactions take the write lock when they begin. With SQLite's default
/// (deferred) BEGIN, a transaction that reads before it writes and finds that another
/// connection committed in between cannot upgrade its snapshot and fails at once with
/// "database is locked" (SQLITE_BUSY_SNAPSHOT, code 517), which no busy timeout cures; seen
/// at start-up, where `serve` registers the demo portal's client while the housekeeping
/// writes. IMMEDIATE makes it wait its turn (busy timeout) instead.
const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Begins a write transaction on `conn` (a connection of a store of `dialect`, such as the
/// one [`Store::serialized`] gives): `BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL.
pub async fn begin_on(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    match dialect {
        Dialect::Sqlite => sqlx::Connection::begin_with(conn, SQLITE_BEGIN_WRITE).await,
        Dialect::Postgres => sqlx::Connection::begin(conn).await,
    }
}

/// A connection pool plus the dialect it speaks. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    lane: std::sync::Arc<write_lane::WriteLane>,
    /// SQLite: the database file (none for an in-memory database), for [`Store::native_sqlite`].
    sqlite_file: Option<PathBuf>,
}

impl Store {
    /// Opens `sqlite://PATH` (the file and its folder are created when missing; WAL mode) or
    /// `postgres://…`. Does not run migrations: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_for(url, Workload::Serve).await
    }

    /// As [`Store::connect`], for this kind of work.
    pub async fn connect_for(url: &str, workload: Workload) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)?;
        let (url, sqlite_file) = match dialect {
            Dialect::Sqlite => prepare_sqlite_url(url)?,
            Dialect::Postgres => (url.to_string(), None),
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out by default: one more round trip to
            // the database per statement outside a transaction, a large part of a small query's
            // cost under load. Only a connection that sat idle may have been dropped by the
            // server or the network meanwhile: those are pinged, the busy ones are not (a
            // failed ping closes the connection and the pool takes or opens another). The
            // price: a connection cut within those 5 s fails its next statement, once, and
            // the pool drops it. Measured at 2.2 M rows: `Practitioner?identifier=`, one
            // statement a request, +32 % requests/s on SQLite, +73 % on PostgreSQL
            // (bench/README.md, 2026-12-03).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .max_connections(match dialect {
                // SQLite serialises writers anyway; a few readers beside one writer suffice.
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            });
        let options = match dialect {
            Dialect::Sqlite => options.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; NORMAL sync is durable in WAL
                    // mode except for the last transactions on power loss, the usual trade.
                    // Checkpoints every ~40 MB of WAL instead of 4 MB: a bulk import rewrites
                    // the same index pages in many transactions, and each checkpoint copies
                    // a page once however often it changed; the WAL file is truncated back
                    // to 64 MB afterwards. The page cache's size is the workload's.
                    conn.execute(sqlite_pragmas(workload.sqlite_cache_kib()).as_str())
                        .await?;
                    Ok(())
                })
            }),
            // A transaction left open by a bug or a dropped connection must not hold its
            // locks for ever: the server ends it after a minute of idleness.
            Dialect::Postgres => options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("SET idle_in_transaction_session_timeout = '60s'")
                        .await?;
                    Ok(())
                })
            }),
        };
        let pool = options
            .connect(&url)
            .await
            .map_err(|e| StoreError::Connect(redact_url(&url), e))?;
        Ok(Store {
            pool,
            dialect,
            lane: Default::default(),
            sqlite_file,
        })
    }

    /// On a SQLite database file, a connection of SQLite's own API to it, with the pool's
    /// PRAGMAs, for bulk writes ([`NativeSqlite`]); `None` on PostgreSQL and in memory.
    pub fn native_sqlite(&self) -> Result<Option<NativeSqlite>, StoreError> {
        match &self.sqlite_file {
            Some(path) => Ok(Some(NativeSqlite::open(
                path,
                &sqlite_pragmas(NATIVE_CACHE_KIB),
            )?)),
            None => Ok(None),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Begins a write transaction on a pool connection; see [`begin_on`].
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with(SQLITE_BEGIN_WRITE).await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }

    /// Runs a short write transaction (`work`, given a connection) so that the writers of
    /// this node do not collide in SQLite's busy handler: on SQLite, in this store's write
    /// lane, one at a time, on the lane's own connection and thread (see `write_lane.rs`);
    /// on PostgreSQL, here on a pool connection. Keep slow work (signing, hashing, network)
    /// out of `work`: the lane waits for it.
    pub async fn serialized<T>(&self, work: LaneWork<T>) -> Result<T, StoreError>
    where
        T: Send + 'static,
    {
        self.lane.run(&self.pool, self.dialect, work).await
    }

    /// Applies the migrations not yet applied, in order, each in its own transaction.
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        migrate::run(self, migrations).await
    }

    /// True when the database answers a trivial query (used by `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Counts the rows of a query returning one integer (helper for statistics).
    pub async fn count(&self, sql: &str) -> Result<i64, StoreError> {
        let row: AnyRow = sqlx::query(sql).fetch_one(&self.pool).await?;
        use sqlx::Row;
        Ok(row.try_get::<i64, _>(0)?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Builds the placeholders of a multi-row `VALUES` list: `($1,$2),($3,$4)` for 2×2 on
/// PostgreSQL, `(?,?),(?,?)` on SQLite. Multi-row statements are what makes bulk writes
/// fast through a driver that pays a round trip per statement. SQLite gets anonymous `?`
/// because binding a numbered `$n` makes the driver look each name up in a list
/// (`sqlite3_bind_parameter_name` is a linear scan): quadratic in the statement's size.
pub fn values_placeholders(dialect: Dialect, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match dialect {
                Dialect::Sqlite => s.push('?'),
                Dialect::Postgres => {
                    s.push('$');
                    s.push_str(&n.to_string());
                }
            }
            n += 1;
        }
        s.push(')');
    }
    s
}

/// Hides the password of a database URL before it reaches a log or an error message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The PRAGMAs of every SQLite connection, the pool's and [`NativeSqlite`]'s.
fn sqlite_pragmas(cache_kib: u32) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{cache_kib}; \
         PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;"
    )
}

/// Creates the folder of a SQLite file (0700) and the file itself (0600) when missing, then
/// asks sqlx to open it (`mode=rwc`). The database holds contact coordinates, the audit trail
/// and codes not yet sent: created by SQLite, it would be 0644 under the usual umask. SQLite
/// gives the `-wal` and `-shm` files it makes beside the database the database file's own
/// mode, so they are 0600 too. A folder or file that already exists keeps its mode.
/// Returns the URL for sqlx and the database file (`None` in memory).
fn prepare_sqlite_url(url: &str) -> Result<(String, Option<PathBuf>), StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Ok((url.to_string(), None));
    }
    if let Some(parent) = Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            private_dir_all(parent)
                .map_err(|e| StoreError::Io(format!("{}: {e}", parent.display())))?;
        }
    }
    // Validate early so a typo gives our message, not a driver panic.
    let _ = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
    // Only when SQLite would create it (no mode given, or `rwc`): `mode=ro`/`rw` must keep
    // failing on a missing file.
    let creates =
        query.is_none_or(|q| !q.contains("mode=") || q.split('&').any(|p| p == "mode=rwc"));
    if creates {
        create_private_file(Path::new(path)).map_err(|e| StoreError::Io(format!("{path}: {e}")))?;
    }
    let url = match query {
        Some(q) if q.contains("mode=") => format!("sqlite://{path}?{q}"),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    };
    let in_memory = query.is_some_and(|q| q.split('&').any(|p| p == "mode=memory"));
    Ok((url, (!in_memory).then(|| PathBuf::from(path))))
}

/// `create_dir_all`, with the folders it creates readable by their owner only (Unix).
fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates an empty file readable by its owner only (0600 on Unix), unless it exists.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_cell() {
        assert_eq!(
            values_placeholders(Dialect::Postgres, 2, 2),
            "($1,$2),($3,$4)"
        );
        assert_eq!(values_placeholders(Dialect::Sqlite, 1, 3), "(?,?,?)");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn nfr_03_dialect_follows_the_url() {
        assert_eq!(
            Dialect::from_url("sqlite://a.db").ok(),
            Some(Dialect::Sqlite)
        );
        assert_eq!(
            Dialect::from_url("postgres://h/db").ok(),
            Some(Dialect::Postgres)
        );
        assert!(Dialect::from_url("mysql://h/db").is_err());
    }
}

#[cfg(test)]
mod db_tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::testkit::TestDb;

    async fn migrations_are_idempotent_and_audit_appends(dialect: Dialect) {
        let db = TestDb::new(dialect).await;
        db.store.migrate(MIGRATIONS).await.unwrap();
        db.store.migrate(MIGRATIONS).await.unwrap();
        assert!(db.store.ping().await);
        let event = audit::AuditEvent {
            actor: "operator:test",
            action: "registry.contact.updated",
            subject: Some("810001234567"),
            details: serde_json::json!({"email": "tu***01@example.test"}),
            request_id: None,
        };
        audit::record(db.store.pool(), 1_700_000_000, &event)
            .await
            .unwrap();
        let events = audit::events_for(&db.store, "810001234567").await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "registry.contact.updated");
        assert_eq!(
            db.store
                .count("SELECT COUNT(*) FROM audit_event")
                .await
                .unwrap(),
            1
        );
        db.cleanup().await;
    }

    #[tokio::test]
    async fn nfr_03_store_works_on_sqlite() {
        migrations_are_idempotent_and_audit_appends(Dialect::Sqlite).await;
    }

    #[tokio::test]
    async fn nfr_03_store_works_on_postgres() {
        migrations_are_idempotent_and_audit_appends(Dialect::Postgres).await;
    }

    /// Read-then-write transactions that would race on a pool: in the lane (SQLite) they
    /// run one after the other, so every one sees the previous one's write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serialized_writes_take_turns_on_sqlite_and_a_panic_ends_only_its_job() {
        let db = TestDb::new(Dialect::Sqlite).await;
        sqlx::query("CREATE TABLE lane_test (n INTEGER NOT NULL UNIQUE)")
            .execute(db.store.pool())
            .await
            .unwrap();
        let jobs = (0..40).map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move {
                store
                    .serialized(Box::new(|conn| {
                        Box::pin(async move {
                            let mut tx = sqlx::Connection::begin(conn).await?;
                            let n: i64 =
                                sqlx::query_scalar("SELECT COALESCE(MAX(n), 0) FROM lane_test")
                                    .fetch_one(&mut *tx)
                                    .await?;
                            // Give every other job the chance to run in between, if it could.
                            tokio::task::yield_now().await;
                            sqlx::query("INSERT INTO lane_test (n) VALUES ($1)")
                                .bind(n + 1)
                                .execute(&mut *tx)
                                .await?;
                            tx.commit().await?;
                            Ok::<_, sqlx::Error>(n + 1)
                        })
                    }))
                    .await
            })
        });
        let mut got = Vec::new();
        for job in jobs.collect::<Vec<_>>() {
            got.push(job.await.unwrap().unwrap().unwrap());
        }
        got.sort();
        assert_eq!(got, (1..=40).collect::<Vec<i64>>());

        let panicked = db
            .store
            .serialized::<()>(Box::new(|_conn| Box::pin(async { panic!("job bug") })))
            .await;
        assert!(
            panicked.is_err(),
            "the caller of a panicking job gets an error"
        );
        let after: i64 = db
            .store
            .serialized(Box::new(|conn| {
                Box::pin(async move {
                    sqlx::query_scalar("SELECT COUNT(*) FROM lane_test")
                        .fetch_one(conn)
                        .await
                })
            }))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            after, 40,
            "the lane goes on after a panic, on a new connection"
        );
        db.cleanup().await;
    }

    #[tokio::test]
    async fn serialized_work_runs_on_postgres_too() {
        let db = TestDb::new(Dialect::Postgres).await;
        let one: i64 = db
            .store
            .serialized(Box::new(|conn| {
                Box::pin(
                    async move { sqlx::query_scalar("SELECT 1::BIGINT").fetch_one(conn).await },
                )
            }))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one, 1);
        db.cleanup().await;
    }

    /// Write transactions that read first, on plain pool connections (no lane), at the same
    /// time: with `Store::begin` (IMMEDIATE on SQLite) each waits its turn; with SQLite's
    /// deferred BEGIN some fail with "database is locked" (code 517).
    async fn write_transactions_that_read_first_wait_their_turn(dialect: Dialect) {
        let db = TestDb::new(dialect).await;
        sqlx::query("CREATE TABLE turn_test (n BIGINT NOT NULL)")
            .execute(db.store.pool())
            .await
            .unwrap();
        let jobs: Vec<_> = (0..20)
            .map(|_| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    let mut tx = store.begin().await?;
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM turn_test")
                        .fetch_one(&mut *tx)
                        .await?;
                    tokio::task::yield_now().await;
                    sqlx::query("INSERT INTO turn_test (n) VALUES ($1)")
                        .bind(n)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(
            db.store
                .count("SELECT COUNT(*) FROM turn_test")
                .await
                .unwrap(),
            20
        );
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nfr_01_sqlite_write_transactions_that_read_first_wait_their_turn() {
        write_transactions_that_read_first_wait_their_turn(Dialect::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nfr_01_postgres_write_transactions_that_read_first_wait_their_turn() {
        write_transactions_that_read_first_wait_their_turn(Dialect::Postgres).await;
    }

    /// REG-10: a bulk import keeps a smaller SQLite page cache a connection than a server
    /// (bench/README.md: the import's peak memory), on every connection of its pool.
    #[tokio::test]
    async fn reg_10_a_bulk_import_keeps_a_smaller_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/caducee.db", dir.path().display());
        for (workload, kib) in [(Workload::Serve, -65_536), (Workload::Bulk, -16_384)] {
            let store = Store::connect_for(&url, workload).await.unwrap();
            // Two connections at once: the second is a new one of the pool.
            let mut a = store.pool().acquire().await.unwrap();
            let mut b = store.pool().acquire().await.unwrap();
            for conn in [&mut a, &mut b] {
                let size: i64 = sqlx::query_scalar("PRAGMA cache_size")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!(size, kib, "{workload:?}");
            }
            drop((a, b));
            store.close().await;
        }
    }

    /// REG-10: the import's native SQLite connection writes into the store's own file with
    /// the pool's PRAGMAs (and a cache of its own), binds texts and integers in order,
    /// hands back what a `RETURNING` gives, reuses a prepared statement, and rolls back;
    /// its errors carry SQLite's message. A store in memory has none (nor PostgreSQL).
    #[tokio::test]
    async fn reg_10_native_sqlite_writes_into_the_stores_file() {
        use crate::{Value, Writes};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/caducee.db", dir.path().display());
        let store = Store::connect_for(&url, Workload::Bulk).await.unwrap();
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL, n BIGINT NOT NULL)")
            .execute(store.pool())
            .await
            .unwrap();
        let mut native = store.native_sqlite().unwrap().unwrap(); // a database file: Some
        for (name, column, value) in [
            ("journal_mode", "journal_mode", "wal"),
            ("foreign_keys", "foreign_keys", "1"),
            ("busy_timeout", "timeout", "10000"),
            ("cache_size", "cache_size", "-65536"),
        ] {
            let sql = format!("SELECT CAST({column} AS TEXT) FROM pragma_{name}()");
            let got = native.texts(&sql, false, &[]).await.unwrap();
            assert_eq!(got, [value], "PRAGMA {name}");
        }
        native.begin().unwrap();
        let sql =
            "INSERT INTO t (k, v, n) VALUES (?,?,?),(?,?,?) ON CONFLICT (k) DO NOTHING RETURNING k";
        let values = [
            Value::Text("a"),
            Value::Owned("é".to_string()),
            Value::Int(1),
            Value::Text("b"),
            Value::Text("x"),
            Value::Int(2),
        ];
        assert_eq!(native.texts(sql, true, &values).await.unwrap(), ["a", "b"]);
        assert!(native.texts(sql, true, &values).await.unwrap().is_empty());
        native.commit().unwrap();
        native.begin().unwrap();
        let sql = "UPDATE t SET n = n + $1 WHERE n >= $1";
        assert_eq!(native.run(sql, false, &[Value::Int(2)]).await.unwrap(), 1);
        native.rollback().unwrap();
        let rows: Vec<(String, String, i64)> = sqlx::query_as("SELECT k, v, n FROM t ORDER BY k")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert_eq!(
            rows,
            [
                ("a".to_string(), "é".to_string(), 1),
                ("b".to_string(), "x".to_string(), 2)
            ]
        );
        native.begin().unwrap();
        let sql = "INSERT INTO t (k, v, n) VALUES (?, NULL, 0)";
        let err = native
            .run(sql, false, &[Value::Text("c")])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("NOT NULL"), "{err}");
        native.rollback().unwrap();
        native.rollback().unwrap(); // nothing open: a no-op
        native
            .define_text_function("shout", |s| s.to_uppercase())
            .unwrap();
        let got = native
            .texts("SELECT COALESCE(shout(v), 'null') FROM t UNION ALL SELECT COALESCE(shout(NULL), 'null') ORDER BY 1", false, &[])
            .await
            .unwrap();
        assert_eq!(got, ["X", "null", "É"]); // binary order
        let memory = Store::connect("sqlite::memory:").await.unwrap();
        assert!(memory.native_sqlite().unwrap().is_none());
    }

    /// Issue 10 item 15: the SQLite database holds contacts, the audit trail and codes not
    /// yet sent: the folder caducee creates for it is 0700, the database file 0600, and the
    /// -wal and -shm files SQLite makes beside it follow the database file's mode. A folder
    /// that was already there keeps the mode its owner gave it. (PostgreSQL has no files of
    /// ours: nothing to test there.)
    #[cfg(unix)]
    #[tokio::test]
    async fn sec_15_database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        let url = format!("sqlite://{}/nested/caducee.db", data.display());
        let store = Store::connect(&url).await.unwrap();
        // A write, so that the -wal and -shm files exist.
        sqlx::query("CREATE TABLE private_test (n BIGINT NOT NULL)")
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(mode(dir.path()), 0o755, "an existing folder is left alone");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("nested")), 0o700);
        for f in ["caducee.db", "caducee.db-wal", "caducee.db-shm"] {
            assert_eq!(mode(&data.join("nested").join(f)), 0o600, "{f}");
        }
        store.close().await;
        // Opening it again (existing folder and file) works and changes nothing.
        let store = Store::connect(&url).await.unwrap();
        assert!(store.ping().await);
        assert_eq!(mode(&data.join("nested/caducee.db")), 0o600);
        store.close().await;
    }
}
