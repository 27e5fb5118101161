//! Where the statements of a write transaction run ([`Writes`]): a connection of the pool
//! (either engine, through sqlx's `Any` driver), or, for the bulk writes of an import on
//! SQLite, a connection of SQLite's own C API ([`NativeSqlite`]). The code that builds the
//! statements is written once, over [`Writes`].
//!
//! Why a second way into SQLite: sqlx runs each SQLite statement on a worker thread of its
//! own, copies every bound value twice on the way (`Any` to SQLite arguments, then into
//! owned values for the thread) and waits for the answer before it binds the next
//! statement, so the worker sits idle while the caller binds. An import writes millions of
//! rows: measured on 600,000 lines (bench/README.md, 2026-12-03), sqlx's worker thread was
//! busy two thirds of the writing time and the binding and the hand-over took a fifth of
//! its work. `rusqlite` binds the borrowed text straight into a prepared statement on the
//! caller's thread; it links the same SQLite library as sqlx (`libsqlite3-sys`). With it an
//! import of 2.2 M rows wrote its lines in 47 s instead of 86 s.

use crate::StoreError;
use sqlx::Row;
use std::future::Future;
use std::path::{Path, PathBuf};

/// A value bound to a statement.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Text(&'a str),
    /// A text computed for the statement (a normalised name).
    Owned(String),
    Int(i64),
}

/// Runs the statements of a write transaction already begun. `reuse` says the statement
/// comes back often (keep it prepared); a one-off is run unprepared, so that the caches of
/// prepared statements never fill with them. Placeholders are positional, in order:
/// `$1`, `$2`… on PostgreSQL, `?` or `$n` on SQLite. A pool transaction passes its
/// connection (`&mut *tx`).
pub trait Writes: Send {
    /// Runs a statement; returns the number of rows it changed.
    fn run<'a>(
        &'a mut self,
        sql: &'a str,
        reuse: bool,
        values: &'a [Value<'a>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send + 'a;

    /// Runs a statement that returns one text column (a `SELECT`, a `RETURNING`).
    fn texts<'a>(
        &'a mut self,
        sql: &'a str,
        reuse: bool,
        values: &'a [Value<'a>],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send + 'a;
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q>(sql: &'q str, reuse: bool, values: &'q [Value<'q>]) -> AnyQuery<'q> {
    let mut query = sqlx::query(sql).persistent(reuse);
    for v in values {
        query = match v {
            Value::Text(s) => query.bind(*s),
            Value::Owned(s) => query.bind(s.as_str()),
            Value::Int(i) => query.bind(*i),
        };
    }
    query
}

impl Writes for sqlx::AnyConnection {
    async fn run<'a>(
        &'a mut self,
        sql: &'a str,
        reuse: bool,
        values: &'a [Value<'a>],
    ) -> Result<u64, StoreError> {
        Ok(bind_all(sql, reuse, values)
            .execute(&mut *self)
            .await?
            .rows_affected())
    }

    async fn texts<'a>(
        &'a mut self,
        sql: &'a str,
        reuse: bool,
        values: &'a [Value<'a>],
    ) -> Result<Vec<String>, StoreError> {
        let rows = bind_all(sql, reuse, values).fetch_all(&mut *self).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(row.try_get::<String, _>(0)?);
        }
        Ok(out)
    }
}

/// A connection of SQLite's own API to the store's database file, for an import's
/// batches ([`crate::Store::native_sqlite`]), with the pool's PRAGMAs.
///
/// Its [`Writes`] run **at once, blocking the calling thread**, and return a future that
/// is already complete: drive it from a blocking thread (`spawn_blocking`), never from a
/// task of the async runtime.
pub struct NativeSqlite {
    conn: rusqlite::Connection,
    path: PathBuf,
}

/// Statements kept prepared: an import uses about ten of a fixed size.
const PREPARED_CAPACITY: usize = 32;

impl NativeSqlite {
    pub(crate) fn open(path: &Path, pragmas: &str) -> Result<NativeSqlite, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(|e| native(path, e))?;
        conn.execute_batch(pragmas).map_err(|e| native(path, e))?;
        conn.set_prepared_statement_cache_capacity(PREPARED_CAPACITY);
        Ok(NativeSqlite {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`, as the pool's: see `begin_on`).
    pub fn begin(&mut self) -> Result<(), StoreError> {
        self.batch(crate::SQLITE_BEGIN_WRITE)
    }

    pub fn commit(&mut self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }

    /// Rolls back the open transaction, if any (after a failed statement).
    pub fn rollback(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.batch("ROLLBACK")
    }

    /// Makes `f` callable from this connection's SQL as `name(text)`: a deterministic
    /// function of one text (NULL gives NULL). So that a statement can compute, for every
    /// row it reads, what Rust computes (the search index's normalised names, filled by
    /// one `INSERT … SELECT` instead of a round trip per row).
    pub fn define_text_function(
        &mut self,
        name: &str,
        f: fn(&str) -> String,
    ) -> Result<(), StoreError> {
        use rusqlite::functions::FunctionFlags;
        self.conn
            .create_scalar_function(
                name,
                1,
                FunctionFlags::SQLITE_UTF8
                    | FunctionFlags::SQLITE_DETERMINISTIC
                    | FunctionFlags::SQLITE_INNOCUOUS,
                move |ctx| {
                    Ok(match ctx.get_raw(0) {
                        rusqlite::types::ValueRef::Null => None,
                        value => Some(f(value
                            .as_str()
                            .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?)),
                    })
                },
            )
            .map_err(|e| native(&self.path, e))
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| native(&self.path, e))
    }

    /// [`Writes::run`], on the calling thread, for code that is not async.
    pub fn execute(
        &mut self,
        sql: &str,
        reuse: bool,
        values: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        self.with_statement(sql, reuse, values, |stmt| stmt.raw_execute())
            .map(|n| n as u64)
    }

    /// Prepares (or takes from the cache), binds and hands the statement to `run`.
    fn with_statement<T>(
        &mut self,
        sql: &str,
        reuse: bool,
        values: &[Value<'_>],
        run: impl FnOnce(&mut rusqlite::Statement<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let bound = |stmt: &mut rusqlite::Statement<'_>| -> rusqlite::Result<T> {
            for (i, v) in values.iter().enumerate() {
                match v {
                    Value::Text(s) => stmt.raw_bind_parameter(i + 1, s)?,
                    Value::Owned(s) => stmt.raw_bind_parameter(i + 1, s)?,
                    Value::Int(n) => stmt.raw_bind_parameter(i + 1, n)?,
                }
            }
            run(stmt)
        };
        let result = if reuse {
            self.conn
                .prepare_cached(sql)
                .and_then(|mut stmt| bound(&mut stmt))
        } else {
            self.conn.prepare(sql).and_then(|mut stmt| bound(&mut stmt))
        };
        result.map_err(|e| native(&self.path, e))
    }
}

impl Writes for NativeSqlite {
    fn run<'a>(
        &'a mut self,
        sql: &'a str,
        reuse: bool,
        values: &'a [Value<'a>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send + 'a {
        std::future::ready(self.execute(sql, reuse, values))
    }

    fn texts<'a>(
        &'a mut self,
        sql: &'a str,
        reuse: bool,
        values: &'a [Value<'a>],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send + 'a {
        let done = self.with_statement(sql, reuse, values, |stmt| {
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(row.get::<_, String>(0)?);
            }
            Ok(out)
        });
        std::future::ready(done)
    }
}

fn native(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Native(format!("{} : {e}", path.display()))
}
