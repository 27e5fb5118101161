//! The public directory (Annuaire Santé, REG-10, issue 15): the registry's public data as
//! the FHIR R4 resources of the ANS guide (`https://interop.esante.gouv.fr/ig/fhir/annuaire`,
//! public-data profiles `as-dp-*`), served at `/fhir/v2` ([`router`]), exported in bulk
//! ([`export`]).
//!
//! Reads the registry through `caducee_registry::{queries, search}` only.
//! [`fhir`]: typed FHIR structs; [`resources`]: the registry's rows as resources;
//! [`params`]: a search's query string; [`searchset`]: running it into a Bundle;
//! [`cursor`]: the paging links; [`capability`]: `metadata`; [`api`]: the HTTP face;
//! [`jobs`]: the `$export` jobs; [`page`]: the `/annuaire` pages; [`fragments`]: the
//! Practitioners already serialised.
//!
//! Owns one table, `dir_export_job` ([`MIGRATIONS`], component `directory`): the state of
//! the `$export` jobs, so that any node answers their status.

pub mod api;
pub mod capability;
pub mod cursor;
pub mod error;
pub mod export;
pub mod fhir;
pub mod fragments;
pub mod jobs;
pub mod page;
pub mod params;
pub mod resources;
pub mod searchset;

pub use error::DirectoryError;
pub use jobs::MIGRATIONS;

/// Every route of the directory: the FHIR API at `/fhir/v2` and the `/annuaire` pages.
pub fn router(dir: Directory) -> axum::Router {
    api::router(dir.clone()).merge(page::routes(dir))
}

use caducee_core::clock::SharedClock;
use caducee_store::Store;
use std::sync::Arc;

/// What the directory's handlers need. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: SharedClock,
    /// `<public URL>/fhir/v2`.
    base: String,
    jobs: jobs::Jobs,
    fragments: fragments::Fragments,
}

impl Directory {
    /// The directory of `store`, whose API answers at `<public_url>/fhir/v2`. `$export`
    /// jobs write under the system's temporary folder (`caducee-fhir-export/<job>`, the
    /// same for every process of the machine, so a restart finds a finished job's files);
    /// [`Directory::with_export_root`] chooses another (a volume the nodes share).
    pub fn new(store: Store, clock: SharedClock, public_url: &str) -> Directory {
        let root = std::env::temp_dir().join("caducee-fhir-export");
        Directory::with_export_root(store, clock, public_url, root)
    }

    /// [`Directory::new`] with the folder the `$export` jobs write under.
    pub fn with_export_root(
        store: Store,
        clock: SharedClock,
        public_url: &str,
        export_root: std::path::PathBuf,
    ) -> Directory {
        Directory {
            inner: Arc::new(Inner {
                jobs: jobs::Jobs::new(store.clone(), clock.clone(), export_root),
                store,
                clock,
                base: format!("{}/fhir/v2", public_url.trim_end_matches('/')),
                fragments: fragments::Fragments::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The Practitioners already serialised ([`fragments`]).
    pub fn fragments(&self) -> &fragments::Fragments {
        &self.inner.fragments
    }

    /// The API's base URL, without trailing slash.
    pub fn base(&self) -> &str {
        &self.inner.base
    }

    pub async fn start_export(&self, types: Vec<params::Kind>) -> Result<String, DirectoryError> {
        let now = resources::instant(self.inner.clock.unix());
        self.inner
            .jobs
            .start(self.inner.base.clone(), now, types)
            .await
    }

    pub async fn export_state(&self, job: &str) -> Result<jobs::State, DirectoryError> {
        self.inner.jobs.state(job).await
    }

    pub async fn cancel_export(&self, job: &str) -> Result<(), DirectoryError> {
        self.inner.jobs.cancel(job).await
    }

    pub async fn export_file(
        &self,
        job: &str,
        file: &str,
    ) -> Result<std::path::PathBuf, DirectoryError> {
        self.inner.jobs.file(job, file).await
    }
}

#[cfg(test)]
mod tests;
