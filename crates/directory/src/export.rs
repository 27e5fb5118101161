//! The whole directory as NDJSON, one file per resource type (FHIR Bulk Data): written by
//! `caducee export fhir --out DIR` and by the `$export` jobs of the API ([`crate::api`]).
//!
//! Walks the search index in key order, a range of keys at a time, and loads each range's
//! professionals or structures in one statement of JSON (`search::*_in_key_range`); a few chunks
//! are built at once in tasks of their own and written in key order, so memory stays at a
//! few chunks whatever the directory's size, and every core works.

use crate::error::DirectoryError;
use crate::params::Kind;
use crate::resources::{organization, practitioner, practitioner_role};
use caducee_registry::search;
use caducee_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Index keys per chunk (persons or structures).
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
    // The Organizations in a walk of their own, beside the persons': the two share nothing.
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
    if let Some(task) = organizations {
        let written = task
            .await
            .map_err(|e| DirectoryError::Io(std::io::Error::other(e)))??;
        outputs.push(written);
    }
    Ok(outputs)
}

/// A spawned task, stopped when dropped (an export cancelled, or failed on the other
/// side); awaiting it gives the task's result.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

/// Chunks of one walk built at once, each in a task of its own. A chunk is a range of the
/// index's keys; its lines are built apart (the database's JSON read, the resources
/// serialised) and written in key order, so the files come out as a sequential walk would
/// write them while every core works.
const CHUNKS_AT_ONCE: usize = 3;

/// The NDJSON lines of one chunk, per file.
#[derive(Default)]
struct Lines {
    files: [Vec<u8>; 2],
    counts: [u64; 2],
}

impl Lines {
    fn push(&mut self, file: usize, value: &impl serde::Serialize) -> Result<(), DirectoryError> {
        line(&mut self.files[file], value)?;
        self.counts[file] += 1;
        Ok(())
    }
}

/// Walks the keys `1..=max_key` a chunk at a time: `build(store, after, upto)` makes the
/// lines of the keys in `(after, upto]`, up to [`CHUNKS_AT_ONCE`] chunks at once, and
/// `outs` receive them in key order. Returns the lines written per file.
async fn walk<F, Fut>(
    store: &Store,
    max_key: i64,
    outs: &mut [Option<(PathBuf, std::io::BufWriter<std::fs::File>)>; 2],
    build: F,
) -> Result<[u64; 2], DirectoryError>
where
    F: Fn(Store, i64, i64) -> Fut,
    Fut: std::future::Future<Output = Result<Lines, DirectoryError>> + Send + 'static,
{
    let span = i64::from(CHUNK);
    let mut next = 0i64;
    let mut running = std::collections::VecDeque::with_capacity(CHUNKS_AT_ONCE);
    let mut counts = [0u64; 2];
    loop {
        while running.len() < CHUNKS_AT_ONCE && next < max_key {
            let upto = (next + span).min(max_key);
            running.push_back(AbortOnDrop(tokio::spawn(build(store.clone(), next, upto))));
            next = upto;
        }
        let Some(task) = running.pop_front() else {
            break;
        };
        let lines = task
            .await
            .map_err(|e| DirectoryError::Io(std::io::Error::other(e)))??;
        for (i, out) in outs.iter_mut().enumerate() {
            if let Some((_, w)) = out {
                w.write_all(&lines.files[i])?;
                counts[i] += lines.counts[i];
            }
        }
    }
    Ok(counts)
}

/// Practitioner.ndjson and PractitionerRole.ndjson, as asked.
async fn write_persons(
    store: &Store,
    dir: &Path,
    want_practitioners: bool,
    want_roles: bool,
) -> Result<Vec<Output>, DirectoryError> {
    if !want_practitioners && !want_roles {
        return Ok(Vec::new());
    }
    let mut outs = [
        want_practitioners
            .then(|| create(dir, Kind::Practitioner))
            .transpose()?,
        want_roles
            .then(|| create(dir, Kind::PractitionerRole))
            .transpose()?,
    ];
    let max_key = search::max_person_key(store).await?;
    let counts = walk(
        store,
        max_key,
        &mut outs,
        move |store, after, upto| async move {
            persons_chunk(&store, after, upto, want_practitioners, want_roles).await
        },
    )
    .await?;
    let mut outputs = Vec::new();
    for ((out, kind), count) in outs
        .into_iter()
        .zip(["Practitioner", "PractitionerRole"])
        .zip(counts)
    {
        if let Some((path, mut w)) = out {
            w.flush()?;
            outputs.push(Output { kind, path, count });
        }
    }
    Ok(outputs)
}

/// The Practitioners (file 0) and PractitionerRoles (file 1) of the persons of keys in
/// `(after, upto]`: one statement, which hands over one JSON text (the driver's cost is per
/// row and value, and a walk of the index then of its ids would hand over a row per person
/// and per activity).
async fn persons_chunk(
    store: &Store,
    after: i64,
    upto: i64,
    want_practitioners: bool,
    want_roles: bool,
) -> Result<Lines, DirectoryError> {
    let mut lines = Lines::default();
    // PractitionerRoles show their activities' codes and organization.
    let detail = if want_roles {
        search::Detail::Codes
    } else {
        search::Detail::Professions
    };
    for indexed in search::professionals_in_key_range(store, after, upto, detail).await? {
        let p = &indexed.professional;
        if want_practitioners {
            lines.push(
                0,
                &crate::fhir::Resource::Practitioner(practitioner(p, indexed.last_updated)),
            )?;
        }
        if want_roles {
            for (a, t) in p.activities.iter().zip(&indexed.activity_updated) {
                lines.push(
                    1,
                    &crate::fhir::Resource::PractitionerRole(practitioner_role(p, a, *t)),
                )?;
            }
        }
    }
    Ok(lines)
}

/// Organization.ndjson.
async fn write_organizations(store: &Store, dir: &Path) -> Result<Output, DirectoryError> {
    let mut outs = [Some(create(dir, Kind::Organization)?), None];
    let max_key = search::max_structure_key(store).await?;
    let [count, _] = walk(store, max_key, &mut outs, |store, after, upto| async move {
        organizations_chunk(&store, after, upto).await
    })
    .await?;
    let [Some((path, mut w)), _] = outs else {
        return Err(DirectoryError::Io(std::io::Error::other(
            "Organization.ndjson : fichier perdu",
        )));
    };
    w.flush()?;
    Ok(Output {
        kind: "Organization",
        path,
        count,
    })
}

/// The Organizations (file 0) of the structures of keys in `(after, upto]` (one
/// statement, as [`persons_chunk`]).
async fn organizations_chunk(
    store: &Store,
    after: i64,
    upto: i64,
) -> Result<Lines, DirectoryError> {
    let mut lines = Lines::default();
    for (s, t) in search::structures_in_key_range(store, after, upto).await? {
        lines.push(0, &crate::fhir::Resource::Organization(organization(&s, t)))?;
    }
    Ok(lines)
}
