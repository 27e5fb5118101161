//! The `$export` jobs of this node (FHIR Bulk Data): each writes its NDJSON files into a
//! folder of its own, in a task, and answers the status polls from memory.
//!
//! Kept in memory on purpose: a job is a few files on this node's disk, fetched from this
//! node; a restart forgets them (the client starts again, as Bulk Data allows). The folder
//! of a job goes with its `DELETE`; those of an earlier process stay in the system's
//! temporary folder until it is cleaned.

use crate::error::DirectoryError;
use crate::params::Kind;
use caducee_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Jobs running at once, at most (each walks the whole directory).
const MAX_RUNNING: usize = 2;

#[derive(Debug, Clone)]
pub enum State {
    Running,
    Done(Manifest),
    Failed(String),
}

/// The Bulk Data completion manifest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub transaction_time: String,
    pub request: String,
    pub requires_access_token: bool,
    pub output: Vec<ManifestOutput>,
    pub error: Vec<ManifestOutput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestOutput {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub count: u64,
}

struct Job {
    state: State,
    folder: PathBuf,
    task: Option<tokio::task::AbortHandle>,
}

#[derive(Clone)]
pub struct Jobs {
    root: PathBuf,
    jobs: Arc<Mutex<HashMap<String, Job>>>,
}

impl Jobs {
    /// Jobs writing under `root`.
    pub fn new(root: PathBuf) -> Jobs {
        Jobs {
            root,
            jobs: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        // A panic while holding the lock leaves plain data: still usable.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a job; `base` is the API's base URL (for the files' URLs), `now` the
    /// transaction time.
    pub fn start(
        &self,
        store: Store,
        base: String,
        now: String,
        types: Vec<Kind>,
    ) -> Result<String, DirectoryError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let folder = self.root.join(&id);
        {
            let mut jobs = self.lock();
            let running = jobs
                .values()
                .filter(|j| matches!(j.state, State::Running))
                .count();
            if running >= MAX_RUNNING {
                return Err(DirectoryError::TooCostly(format!(
                    "{running} exports sont déjà en cours sur ce serveur ; réessayez quand l'un d'eux est terminé."
                )));
            }
            jobs.insert(
                id.clone(),
                Job {
                    state: State::Running,
                    folder: folder.clone(),
                    task: None,
                },
            );
        }
        let this = self.clone();
        let job = id.clone();
        let task = tokio::spawn(async move {
            let request = format!("{base}/$export");
            let state = match crate::export::write_all(&store, &folder, &types).await {
                Ok(outputs) => State::Done(Manifest {
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
                }),
                Err(e) => {
                    tracing::error!(error = %e, job = %job, "export FHIR");
                    State::Failed(e.to_string())
                }
            };
            if let Some(j) = this.lock().get_mut(&job) {
                j.state = state;
            }
        });
        if let Some(j) = self.lock().get_mut(&id) {
            j.task = Some(task.abort_handle());
        }
        Ok(id)
    }

    fn unknown(id: &str) -> DirectoryError {
        DirectoryError::NotFound(format!(
            "Aucun export « {id} » sur ce serveur (terminé et supprimé, ou serveur redémarré) : relancez $export."
        ))
    }

    pub fn state(&self, id: &str) -> Result<State, DirectoryError> {
        self.lock()
            .get(id)
            .map(|j| j.state.clone())
            .ok_or_else(|| Jobs::unknown(id))
    }

    /// Stops a job (if running) and removes its files.
    pub fn cancel(&self, id: &str) -> Result<(), DirectoryError> {
        let job = self.lock().remove(id).ok_or_else(|| Jobs::unknown(id))?;
        if let Some(t) = job.task {
            t.abort();
        }
        let _ = std::fs::remove_dir_all(&job.folder);
        Ok(())
    }

    /// The path of one file of a finished job; `file` must be `<Type>.ndjson` of a type
    /// exported (never a path of the client's making).
    pub fn file(&self, id: &str, file: &str) -> Result<PathBuf, DirectoryError> {
        let jobs = self.lock();
        let job = jobs.get(id).ok_or_else(|| Jobs::unknown(id))?;
        let State::Done(manifest) = &job.state else {
            return Err(DirectoryError::NotFound(
                "Cet export n'est pas terminé : suivez son statut.".into(),
            ));
        };
        manifest
            .output
            .iter()
            .find(|o| format!("{}.ndjson", o.kind) == file)
            .map(|o| job.folder.join(format!("{}.ndjson", o.kind)))
            .ok_or_else(|| {
                DirectoryError::NotFound(format!("Aucun fichier « {file} » dans cet export."))
            })
    }
}
