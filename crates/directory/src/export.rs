//! The whole directory as NDJSON, one file per resource type (FHIR Bulk Data): written by
//! `caducee export fhir --out DIR` and by the `$export` jobs of the API ([`crate::api`]).
//!
//! Walks the search index in key order, a chunk at a time, and loads each chunk's
//! professionals in three statements (`search::public_professionals`); memory stays at one
//! chunk whatever the directory's size.

use crate::error::DirectoryError;
use crate::params::Kind;
use crate::resources::{organization, practitioner, practitioner_role};
use caducee_registry::search::{self, Page, RoleFilter, RolePage};
use caducee_store::Store;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Persons or structures per chunk.
const CHUNK: u32 = 500;

/// One file written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Output {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub path: PathBuf,
    pub count: u64,
}

/// The types exported, in order.
pub const TYPES: [Kind; 3] = [
    Kind::Practitioner,
    Kind::PractitionerRole,
    Kind::Organization,
];

fn create(
    dir: &Path,
    kind: Kind,
) -> Result<(PathBuf, std::io::BufWriter<std::fs::File>), DirectoryError> {
    let path = dir.join(format!("{}.ndjson", kind.name()));
    let f = std::fs::File::create(&path)?;
    Ok((path, std::io::BufWriter::with_capacity(1 << 20, f)))
}

fn line(out: &mut impl Write, value: &impl serde::Serialize) -> Result<(), DirectoryError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Writes `types` (all when empty) into `dir` (created if missing); returns the files.
pub async fn write_all(
    store: &Store,
    dir: &Path,
    types: &[Kind],
) -> Result<Vec<Output>, DirectoryError> {
    std::fs::create_dir_all(dir)?;
    let wanted = |k: Kind| types.is_empty() || types.contains(&k);
    // The Organizations in a task of their own, beside the persons: the two walks share
    // nothing, and each keeps a core busy.
    let organizations = wanted(Kind::Organization).then(|| {
        let store = store.clone();
        let dir = dir.to_path_buf();
        AbortOnDrop(tokio::spawn(async move {
            write_organizations(&store, &dir).await
        }))
    });
    let mut outputs = write_persons(
        store,
        dir,
        wanted(Kind::Practitioner),
        wanted(Kind::PractitionerRole),
    )
    .await?;
    if let Some(mut task) = organizations {
        let written = (&mut task.0)
            .await
            .map_err(|e| DirectoryError::Io(std::io::Error::other(e)))??;
        outputs.push(written);
    }
    Ok(outputs)
}

/// Stops the task when dropped (an export cancelled, or failed on the other side).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Practitioner.ndjson and PractitionerRole.ndjson, as asked.
async fn write_persons(
    store: &Store,
    dir: &Path,
    want_practitioners: bool,
    want_roles: bool,
) -> Result<Vec<Output>, DirectoryError> {
    let mut outputs = Vec::new();
    if want_practitioners || want_roles {
        let mut practitioners = want_practitioners
            .then(|| create(dir, Kind::Practitioner))
            .transpose()?;
        let mut roles = want_roles
            .then(|| create(dir, Kind::PractitionerRole))
            .transpose()?;
        let (mut n_p, mut n_r) = (0u64, 0u64);
        let max_key = search::max_person_key(store).await?;
        let mut after = None;
        loop {
            let hits = search::search_persons(
                store,
                &[],
                Page {
                    after,
                    max_key: Some(max_key),
                    limit: CHUNK,
                },
            )
            .await?;
            let Some(last) = hits.last() else { break };
            after = Some(last.key);
            let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
            let updated: HashMap<&str, i64> = hits
                .iter()
                .map(|h| (h.id.as_str(), h.last_updated))
                .collect();
            let role_updated: HashMap<String, i64> = if roles.is_some() {
                search::search_roles(
                    store,
                    &[RoleFilter::Person(ids.clone())],
                    &RolePage {
                        after: None,
                        as_of: None,
                        limit: u32::MAX / 2,
                    },
                )
                .await?
                .into_iter()
                .map(|h| (h.id, h.updated_at))
                .collect()
            } else {
                HashMap::new()
            };
            // PractitionerRoles show their activities' codes and organization.
            let detail = if roles.is_some() {
                search::Detail::Codes
            } else {
                search::Detail::Professions
            };
            let people = search::public_professionals(store, &ids, detail).await?;
            for p in people {
                if let Some((_, out)) = practitioners.as_mut() {
                    let t = updated.get(p.id_nat.as_str()).copied().unwrap_or(0);
                    line(
                        out,
                        &crate::fhir::Resource::Practitioner(practitioner(&p, t)),
                    )?;
                    n_p += 1;
                }
                if let Some((_, out)) = roles.as_mut() {
                    for a in &p.activities {
                        let t = role_updated.get(&a.id).copied().unwrap_or(0);
                        line(
                            out,
                            &crate::fhir::Resource::PractitionerRole(practitioner_role(&p, a, t)),
                        )?;
                        n_r += 1;
                    }
                }
            }
        }
        if let Some((path, mut out)) = practitioners {
            out.flush()?;
            outputs.push(Output {
                kind: "Practitioner",
                path,
                count: n_p,
            });
        }
        if let Some((path, mut out)) = roles {
            out.flush()?;
            outputs.push(Output {
                kind: "PractitionerRole",
                path,
                count: n_r,
            });
        }
    }
    Ok(outputs)
}

/// Organization.ndjson.
async fn write_organizations(store: &Store, dir: &Path) -> Result<Output, DirectoryError> {
    {
        let (path, mut out) = create(dir, Kind::Organization)?;
        let mut n = 0u64;
        let max_key = search::max_structure_key(store).await?;
        let mut after = None;
        loop {
            let hits = search::search_structures(
                store,
                &[],
                Page {
                    after,
                    max_key: Some(max_key),
                    limit: CHUNK,
                },
            )
            .await?;
            let Some(last) = hits.last() else { break };
            after = Some(last.key);
            let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
            for (s, t) in search::structures(store, &ids).await? {
                line(
                    &mut out,
                    &crate::fhir::Resource::Organization(organization(&s, t)),
                )?;
                n += 1;
            }
        }
        out.flush()?;
        Ok(Output {
            kind: "Organization",
            path,
            count: n,
        })
    }
}
