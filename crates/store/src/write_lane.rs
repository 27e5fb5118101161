//! The write lane: short write transactions that must not wait on each other in SQLite's
//! busy handler, run one after the other, on one connection, on a thread of their own.
//!
//! SQLite has one writer at a time. Two pool connections writing at once make one of them
//! sleep in SQLite's busy handler (1, 2, 5, 10… ms), which is what a burst of grants does.
//! Queueing the writers in memory avoids those sleeps, but a queue on the server's own
//! runtime has a cost of its own: each statement of the transaction holding the turn is a
//! hop to sqlx's SQLite thread and back, and coming back means waiting for a runtime worker,
//! which under load is busy signing tokens (measured with `bench/oidc/run`: 0.3 ms of
//! statements per refresh grant but 0.9 ms of turn held, 1,100 grants/s on 2 cores with the
//! cores half idle). On a single-threaded runtime of their own, the transactions come back
//! at once: the lane's thread does nothing but wait for the database (2,300 grants/s, the
//! cores busy signing). The lane keeps one connection: its page cache stays warm, where pool
//! connections taken in turn each find their cache outdated by the others' writes.
//!
//! On PostgreSQL, rows are locked by the server and writers need no lane: the work runs
//! where it is called, on a pool connection.

use crate::{Dialect, StoreError};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool};
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

/// A piece of work given the lane's connection.
pub type LaneWork<T> = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, T> + Send>;

type Job = LaneWork<()>;

/// The lane of one [`crate::Store`] (and its clones): started at the first write, stopped
/// when the last clone of the store is dropped (its channel closes).
#[derive(Default)]
pub(crate) struct WriteLane {
    jobs: OnceLock<Result<mpsc::UnboundedSender<Job>, String>>,
}

impl std::fmt::Debug for WriteLane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteLane")
    }
}

impl WriteLane {
    fn sender(&self, pool: &AnyPool) -> Result<&mpsc::UnboundedSender<Job>, StoreError> {
        self.jobs
            .get_or_init(|| {
                let (tx, rx) = mpsc::unbounded_channel::<Job>();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let pool = pool.clone();
                std::thread::Builder::new()
                    .name("store-write-lane".into())
                    .spawn(move || runtime.block_on(serve_lane(pool, rx)))
                    .map_err(|e| e.to_string())?;
                Ok(tx)
            })
            .as_ref()
            .map_err(|e| StoreError::Io(format!("file d'écriture SQLite : {e}")))
    }

    /// Runs `work` in the lane (SQLite) or here on a pool connection (PostgreSQL) and
    /// returns its output.
    pub(crate) async fn run<T>(
        &self,
        pool: &AnyPool,
        dialect: Dialect,
        work: LaneWork<T>,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
    {
        if dialect == Dialect::Postgres {
            let mut conn = pool.acquire().await?;
            return Ok(work(&mut conn).await);
        }
        let (done, output) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                // The caller may have gone (request dropped): the work still ends, as a
                // transaction begun must, and its output is dropped.
                let _ = done.send(work(conn).await);
            })
        });
        self.sender(pool)?
            .send(job)
            .map_err(|_| StoreError::Io("file d'écriture SQLite arrêtée".into()))?;
        output.await.map_err(|_| {
            StoreError::Io("file d'écriture SQLite : travail interrompu (voir le journal)".into())
        })
    }
}

/// The lane's loop: one job at a time, to its end (that is the whole point), on a
/// connection taken out of the pool and kept.
async fn serve_lane(pool: AnyPool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut kept: Option<AnyConnection> = None;
    while let Some(job) = jobs.recv().await {
        let mut conn = match kept.take() {
            Some(conn) => conn,
            None => match pool.acquire().await {
                Ok(conn) => conn.detach(),
                Err(e) => {
                    // Dropping the job tells its caller; the next job tries again.
                    tracing::error!(error = %e, "file d'écriture SQLite : pas de connexion");
                    continue;
                }
            },
        };
        // A job that panics ends alone; its connection, in an unknown state, is closed.
        if AssertUnwindSafe(job(&mut conn))
            .catch_unwind()
            .await
            .is_ok()
        {
            kept = Some(conn);
        } else {
            tracing::error!("file d'écriture SQLite : un travail a paniqué");
        }
    }
}
