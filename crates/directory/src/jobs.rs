//! The `$export` jobs (FHIR Bulk Data), kept in the database (`dir_export_job`, the
//! directory's own table): any node answers a job's status poll, and a restart does not
//! lose a finished job's manifest (its files list).
//!
//! A job runs in a task of the node that started it and writes its NDJSON files into a
//! folder of its own under the jobs' root (stable across restarts: by default the system's
//! temporary folder, `caducee-fhir-export/<job>`). While it runs, the task stamps
//! `heartbeat_at` every few seconds; a running job whose stamp is older than [`STALE`] is
//! reported failed (its node stopped), so a poll never waits for ever. A `DELETE` removes the
//! row from any node; the running task sees its row gone at its next stamp and stops.
//!
//! The files themselves are on the disk of the node that wrote them: a node that cannot see
//! that folder (no shared volume) answers their URL with a French 404 saying so. Never keeps
//! a job's state in memory only.

use crate::error::DirectoryError;
use crate::params::Kind;
use caducee_core::clock::SharedClock;
use caducee_store::sqlx::{self, Row};
use caducee_store::{Migration, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The directory's tables (component `directory`), applied by [`Jobs`] before its first
/// use and by whoever migrates at start.
pub const MIGRATIONS: &[Migration] = &[Migration {
    component: "directory",
    version: 1,
    name: "export jobs",
    sql: "CREATE TABLE dir_export_job (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            transaction_time TEXT NOT NULL,
            request TEXT NOT NULL,
            folder TEXT NOT NULL,
            manifest TEXT,
            error TEXT,
            created_at BIGINT NOT NULL,
            heartbeat_at BIGINT NOT NULL
          );
          CREATE INDEX dir_export_job_state ON dir_export_job (state, heartbeat_at);",
}];

/// Jobs running at once, at most, across the nodes (each walks the whole directory).
const MAX_RUNNING: i64 = 2;
/// How often a running job stamps its row.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A running job not stamped for this long (seconds) has lost its node.
pub const STALE: i64 = 60;

#[derive(Debug, Clone)]
pub enum State {
    Running,
    Done(Manifest),
    Failed(String),
}

/// The Bulk Data completion manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub transaction_time: String,
    pub request: String,
    pub requires_access_token: bool,
    pub output: Vec<ManifestOutput>,
    pub error: Vec<ManifestOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestOutput {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub count: u64,
}

#[derive(Clone)]
pub struct Jobs {
    store: Store,
    clock: SharedClock,
    root: PathBuf,
    /// The tasks of this node, to stop at once a job deleted here.
    tasks: Arc<Mutex<HashMap<String, tokio::task::AbortHandle>>>,
    schema: Arc<tokio::sync::OnceCell<()>>,
}

impl Jobs {
    /// Jobs of `store`, writing under `root`.
    pub fn new(store: Store, clock: SharedClock, root: PathBuf) -> Jobs {
        Jobs {
            store,
            clock,
            root,
            tasks: Arc::default(),
            schema: Arc::default(),
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, tokio::task::AbortHandle>> {
        // A panic while holding the lock leaves plain data: still usable.
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The table exists (migrated once per process; a concurrent node's migration of the
    /// same version makes this one fail and the next call try again).
    async fn schema(&self) -> Result<(), DirectoryError> {
        self.schema
            .get_or_try_init(|| async { self.store.migrate(MIGRATIONS).await })
            .await?;
        Ok(())
    }

    /// Starts a job; `base` is the API's base URL (for the files' URLs), `now` the
    /// transaction time.
    pub async fn start(
        &self,
        base: String,
        now: String,
        types: Vec<Kind>,
    ) -> Result<String, DirectoryError> {
        self.schema().await?;
        let t = self.clock.unix();
        let running = sqlx::query(
            "SELECT COUNT(*) FROM dir_export_job WHERE state = 'running' AND heartbeat_at >= $1",
        )
        .bind(t - STALE)
        .fetch_one(self.store.pool())
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(caducee_store::StoreError::from)?;
        if running >= MAX_RUNNING {
            return Err(DirectoryError::TooCostly(format!(
                "{running} exports sont déjà en cours ; réessayez quand l'un d'eux est terminé."
            )));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let folder = self.root.join(&id);
        let request = format!("{base}/$export");
        sqlx::query(
            "INSERT INTO dir_export_job (id, state, transaction_time, request, folder, created_at, heartbeat_at)
             VALUES ($1, 'running', $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(&now)
        .bind(&request)
        .bind(folder.to_string_lossy().into_owned())
        .bind(t)
        .execute(self.store.pool())
        .await
        .map_err(caducee_store::StoreError::from)?;
        let this = self.clone();
        let job = id.clone();
        let task = tokio::spawn(async move {
            let outcome = tokio::select! {
                r = crate::export::write_all(&this.store, &folder, &types) => Some(r),
                () = this.heartbeat(&job) => None,
            };
            let written = match outcome {
                // Deleted meanwhile (from any node): nothing to record, no files to keep.
                None => {
                    let _ = std::fs::remove_dir_all(&folder);
                    this.tasks().remove(&job);
                    return;
                }
                Some(r) => r,
            };
            let (state, manifest, error) = match written {
                Ok(outputs) => {
                    let manifest = Manifest {
                        transaction_time: now,
                        request,
                        requires_access_token: false,
                        output: outputs
                            .into_iter()
                            .map(|o| ManifestOutput {
                                kind: o.kind.to_string(),
                                url: format!("{base}/$export-file/{job}/{}.ndjson", o.kind),
                                count: o.count,
                            })
                            .collect(),
                        error: Vec::new(),
                    };
                    match serde_json::to_string(&manifest) {
                        Ok(m) => ("done", Some(m), None),
                        Err(e) => ("failed", None, Some(e.to_string())),
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, job = %job, "export FHIR");
                    ("failed", None, Some(e.to_string()))
                }
            };
            let saved = sqlx::query(
                "UPDATE dir_export_job SET state = $2, manifest = $3, error = $4, heartbeat_at = $5
                 WHERE id = $1 AND state = 'running'",
            )
            .bind(&job)
            .bind(state)
            .bind(manifest)
            .bind(error)
            .bind(this.clock.unix())
            .execute(this.store.pool())
            .await;
            match saved {
                Ok(r) if r.rows_affected() == 0 => {
                    let _ = std::fs::remove_dir_all(&folder);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, job = %job, "export FHIR : état non enregistré")
                }
            }
            this.tasks().remove(&job);
        });
        self.tasks().insert(id.clone(), task.abort_handle());
        Ok(id)
    }

    /// Stamps the job's row every [`HEARTBEAT`]; returns when the row is gone (deleted).
    async fn heartbeat(&self, job: &str) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let r = sqlx::query(
                "UPDATE dir_export_job SET heartbeat_at = $2 WHERE id = $1 AND state = 'running'",
            )
            .bind(job)
            .bind(self.clock.unix())
            .execute(self.store.pool())
            .await;
            match r {
                Ok(r) if r.rows_affected() == 0 => return,
                Ok(_) => {}
                // The database away for a moment: the next stamp tries again.
                Err(e) => tracing::warn!(error = %e, job = %job, "export FHIR : battement"),
            }
        }
    }

    fn unknown(id: &str) -> DirectoryError {
        DirectoryError::NotFound(format!(
            "Aucun export « {id} » (jamais lancé, ou supprimé) : relancez $export."
        ))
    }

    /// The row of a job: state, manifest, error, folder, heartbeat.
    async fn row(&self, id: &str) -> Result<Option<JobRow>, DirectoryError> {
        self.schema().await?;
        let row = sqlx::query(
            "SELECT state, manifest, error, folder, heartbeat_at FROM dir_export_job WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await
        .map_err(caducee_store::StoreError::from)?;
        row.map(|r| -> Result<JobRow, sqlx::Error> {
            Ok(JobRow {
                state: r.try_get(0)?,
                manifest: r.try_get(1)?,
                error: r.try_get(2)?,
                folder: r.try_get(3)?,
                heartbeat_at: r.try_get(4)?,
            })
        })
        .transpose()
        .map_err(|e| DirectoryError::Store(e.into()))
    }

    pub async fn state(&self, id: &str) -> Result<State, DirectoryError> {
        let row = self.row(id).await?.ok_or_else(|| Jobs::unknown(id))?;
        row.state(self.clock.unix())
    }

    /// Stops a job (if running, wherever it runs) and removes its files (those this node
    /// can see).
    pub async fn cancel(&self, id: &str) -> Result<(), DirectoryError> {
        let row = self.row(id).await?.ok_or_else(|| Jobs::unknown(id))?;
        let deleted = sqlx::query("DELETE FROM dir_export_job WHERE id = $1")
            .bind(id)
            .execute(self.store.pool())
            .await
            .map_err(caducee_store::StoreError::from)?
            .rows_affected();
        if deleted == 0 {
            return Err(Jobs::unknown(id));
        }
        if let Some(t) = self.tasks().remove(id) {
            t.abort();
        }
        let _ = std::fs::remove_dir_all(&row.folder);
        Ok(())
    }

    /// The path of one file of a finished job; `file` must be `<Type>.ndjson` of a type
    /// exported (never a path of the client's making).
    pub async fn file(&self, id: &str, file: &str) -> Result<PathBuf, DirectoryError> {
        let row = self.row(id).await?.ok_or_else(|| Jobs::unknown(id))?;
        let State::Done(manifest) = row.state(self.clock.unix())? else {
            return Err(DirectoryError::NotFound(
                "Cet export n'est pas terminé : suivez son statut.".into(),
            ));
        };
        let path = manifest
            .output
            .iter()
            .find(|o| format!("{}.ndjson", o.kind) == file)
            .map(|o| PathBuf::from(&row.folder).join(format!("{}.ndjson", o.kind)))
            .ok_or_else(|| {
                DirectoryError::NotFound(format!("Aucun fichier « {file} » dans cet export."))
            })?;
        if !path.is_file() {
            return Err(DirectoryError::NotFound(
                "Le fichier de cet export est sur le disque du serveur qui l'a écrit, \
                 que ce serveur-ci ne voit pas ; demandez-le à nouveau (l'équilibreur \
                 vous enverra peut-être ailleurs) ou relancez $export."
                    .into(),
            ));
        }
        Ok(path)
    }
}

struct JobRow {
    state: String,
    manifest: Option<String>,
    error: Option<String>,
    folder: String,
    heartbeat_at: i64,
}

impl JobRow {
    fn state(&self, now: i64) -> Result<State, DirectoryError> {
        match self.state.as_str() {
            "running" if self.heartbeat_at < now - STALE => Ok(State::Failed(
                "l'export a été interrompu (le serveur qui l'écrivait s'est arrêté) ; relancez $export"
                    .into(),
            )),
            "running" => Ok(State::Running),
            "done" => {
                let m = self.manifest.as_deref().unwrap_or("{}");
                serde_json::from_str(m)
                    .map(State::Done)
                    .map_err(|e| DirectoryError::Io(std::io::Error::other(e)))
            }
            _ => Ok(State::Failed(self.error.clone().unwrap_or_default())),
        }
    }
}
