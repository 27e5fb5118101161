//! `caducee import rpps FILE…`: streaming, idempotent import of the extraction files.
//!
//! A reader thread reads the file line by line, validates and prepares each line (split,
//! identifiers checked, structure id derived, content hashes) and hands batches to the
//! writer through a bounded channel: memory stays flat whatever the file size, and parsing
//! runs on one core while the database writes on the other.
//!
//! The writer runs the same multi-row upserts on both engines ([`write_batch`]): on a
//! SQLite file through SQLite's own API, on a thread of its own, several batches a
//! transaction ([`write_natively`]); on PostgreSQL through the pool, a batch a transaction
//! ([`write_pooled`]). A row whose content hash did not
//! change is not rewritten, so a second import of the same file changes nothing. Every
//! activity, know-how and diploma row read is stamped with the run's stamp; once the whole
//! extract is in, the activities it does not list are ended (know-how and diplomas not
//! listed are removed). The files of one kind given to one command ([`ImportSession`]) are
//! parts of one extract: they share one stamp, and that step runs once, after the last of
//! them. An import killed half-way never reaches that step, and running it again rewrites
//! every line of every file, last line wins: the registry ends exactly as after an
//! uninterrupted import.

use crate::columns;
use crate::format::{dipl, pa, sf, FileKind, HeaderError, Layout};
use caducee_core::clock::Clock;
use caducee_core::ids::{Adeli, Finess, IdNatPs, Rpps, Siren, Siret};
use caducee_store::{values_placeholders, NativeSqlite, Store, StoreError, Value, Writes};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Lines per transaction: large enough that commits are rare (each commit writes every page
/// it touched to the WAL), small enough that a batch stays around 20 MB in memory.
pub const DEFAULT_BATCH_LINES: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path} : {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} : fichier vide, aucun en-tête")]
    Empty { path: String },
    #[error("{path} : {source}")]
    Header { path: String, source: HeaderError },
    #[error("{path} : le fichier n'est pas encodé en UTF-8 (ligne {line}). Convertissez-le, par exemple avec « iconv -f ISO-8859-1 -t UTF-8 », puis relancez l'import : il reprendra tout le fichier.")]
    NotUtf8 { path: String, line: u64 },
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(StoreError::Sql(e))
    }
}

/// Receives progress from the import; the command line draws a bar or prints lines.
pub trait Progress: Send + Sync {
    fn begin(&self, _file: &str, _kind: FileKind, _total_bytes: u64) {}
    fn update(&self, _bytes_done: u64, _lines_done: u64) {}
    fn end(&self) {}
}

/// Progress that goes nowhere (tests, demo seeding).
pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Where rejected lines and warnings go; default: next to the file, `<file>.report.tsv`,
    /// or in the working directory when the file's folder is not writable.
    pub report: Option<PathBuf>,
    /// Lines per transaction (default [`DEFAULT_BATCH_LINES`], on a SQLite file
    /// [`NATIVE_LINES_PER_TRANSACTION`]).
    pub batch_lines: Option<usize>,
    /// Leaves what the file does not list as it is (no activity ended, no know-how or
    /// diploma removed): the file adds to the registry instead of replacing its kind
    /// (the demo personas beside an imported extract), or is one part of an extract whose
    /// retirement runs later ([`ImportSession::finish`]).
    pub keep_unseen: bool,
    /// The stamp written on every row read and that the retirement compares with; default:
    /// this file's run id. The files of one [`ImportSession`] share one.
    pub stamp: Option<String>,
    /// Whether the search index loads in bulk ([`crate::search::bulk`]); default: decided
    /// by the file's size and the index's.
    pub bulk_index: Option<bool>,
}

/// What an import did, for the summary line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub kind: String,
    pub run_id: String,
    pub lines: u64,
    pub imported: u64,
    pub rejected: u64,
    pub warnings: u64,
    /// Lines that repeat an earlier line's key in the same file (merged, last wins).
    pub duplicates: u64,
    /// Activities ended (Personne_activite) or know-how/diplomas removed because the file
    /// no longer contains them (0 in an [`ImportSession`]: its [`Retirement`]s say it).
    pub retired: u64,
    pub report: Option<String>,
    pub seconds: f64,
}

impl ImportSummary {
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.lines as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Imports one extraction file from disk, as the whole extract of its kind: what it does not
/// list is retired at the end (unless `options.keep_unseen`).
pub async fn import_file(
    store: &Store,
    clock: &dyn Clock,
    path: &Path,
    options: &ImportOptions,
    progress: Arc<dyn Progress>,
) -> Result<ImportSummary, ImportError> {
    Ok(read_file(store, clock, path, options, progress).await?.0)
}

async fn read_file(
    store: &Store,
    clock: &dyn Clock,
    path: &Path,
    options: &ImportOptions,
    progress: Arc<dyn Progress>,
) -> Result<(ImportSummary, FileKind), ImportError> {
    let name = path.display().to_string();
    let io = |source| ImportError::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let report = match &options.report {
        Some(chosen) => ReportPlace {
            path: chosen.clone(),
            fallback: None,
        },
        None => default_report_place(path),
    };
    read(
        store,
        clock,
        &name,
        Box::new(file),
        total,
        report,
        options,
        progress,
    )
    .await
}

/// `<file>.report.tsv` beside the file; failing that (a read-only or shared folder), the
/// same name in the working directory.
fn default_report_place(path: &Path) -> ReportPlace {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".report.tsv");
    let beside = path.with_file_name(&name);
    let fallback = std::env::current_dir()
        .ok()
        .map(|cwd| cwd.join(&name))
        .filter(|here| here != &beside);
    ReportPlace {
        path: beside,
        fallback,
    }
}

/// Where the report goes: `path`, or `fallback` when `path` cannot be created.
#[derive(Debug, Clone)]
struct ReportPlace {
    path: PathBuf,
    fallback: Option<PathBuf>,
}

/// Imports from any byte source (used by `serve --demo` to load generated data).
#[allow(clippy::too_many_arguments)]
pub async fn import_reader(
    store: &Store,
    clock: &dyn Clock,
    name: &str,
    input: Box<dyn Read + Send>,
    total_bytes: u64,
    report_path: PathBuf,
    options: &ImportOptions,
    progress: Arc<dyn Progress>,
) -> Result<ImportSummary, ImportError> {
    let report = ReportPlace {
        path: report_path,
        fallback: None,
    };
    Ok(read(
        store,
        clock,
        name,
        input,
        total_bytes,
        report,
        options,
        progress,
    )
    .await?
    .0)
}

#[allow(clippy::too_many_arguments)]
async fn read(
    store: &Store,
    clock: &dyn Clock,
    name: &str,
    input: Box<dyn Read + Send>,
    total_bytes: u64,
    report: ReportPlace,
    options: &ImportOptions,
    progress: Arc<dyn Progress>,
) -> Result<(ImportSummary, FileKind), ImportError> {
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut header = Vec::new();
    let header_bytes = reader
        .read_until(b'\n', &mut header)
        .map_err(|source| ImportError::Io {
            path: name.to_string(),
            source,
        })?;
    if header_bytes == 0 {
        return Err(ImportError::Empty {
            path: name.to_string(),
        });
    }
    let header = String::from_utf8(header).map_err(|_| ImportError::NotUtf8 {
        path: name.to_string(),
        line: 1,
    })?;
    let layout = Layout::detect(&header).map_err(|source| ImportError::Header {
        path: name.to_string(),
        source,
    })?;
    let kind = layout.kind;
    let now = clock.unix();
    let run_id = uuid_like(name, now);
    sqlx::query("INSERT INTO reg_import_run (id, kind, file, started_at, status) VALUES ($1, $2, $3, $4, 'running')")
        .bind(&run_id)
        .bind(kind.to_string())
        .bind(name)
        .bind(now)
        .execute(store.pool())
        .await?;
    progress.begin(name, kind, total_bytes);
    // On a SQLite file the batches go through SQLite's own API on a thread of their own
    // (caducee_store::NativeSqlite: 2.2 M rows in 62 s instead of 101 s, bench/README.md),
    // several of the reader's batches a transaction; elsewhere a batch a transaction
    // through the pool. Opened before the index's upkeep is set aside, so that a failure
    // to open leaves nothing set aside.
    let native = store.native_sqlite()?;
    // The search index (issue 15): a bulk load left unfinished is ended first; a large
    // first import sets the per-row upkeep aside and builds it once at the end.
    crate::search::bulk::repair(store).await?;
    let bulk = match options.bulk_index {
        Some(chosen) => chosen,
        None => crate::search::bulk::wanted(store, total_bytes).await?,
    };
    // A first import (an empty index) on a SQLite file writes no index row with its
    // batches: bulk::end fills the index from the tables at the end, in one statement a
    // table (2.2 M rows, side by side: the lines written in 43 s instead of 65 s, the index's
    // rows filled in 10 s; 80 s in all instead of 89 s, bench/README.md).
    let index_rows = !(bulk && native.is_some() && crate::search::bulk::empty(store).await?);
    if bulk {
        crate::search::bulk::begin(store).await?;
    }

    let transaction_lines = options
        .batch_lines
        .unwrap_or(match native {
            Some(_) => NATIVE_LINES_PER_TRANSACTION,
            None => DEFAULT_BATCH_LINES,
        })
        .max(1);
    let batch_lines = match native {
        Some(_) => transaction_lines.min(DEFAULT_BATCH_LINES),
        None => transaction_lines,
    };
    // One batch queued while one is written and one is read: parsing and writing overlap,
    // memory stays at three batches.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Record>>(1);
    let reader_name = name.to_string();
    let reader_progress = progress.clone();
    let reader_task = tokio::task::spawn_blocking(move || {
        read_lines(
            reader,
            header_bytes as u64,
            layout,
            batch_lines,
            report,
            &reader_name,
            reader_progress.as_ref(),
            tx,
        )
    });

    let ctx = WriteContext {
        stamp: options.stamp.clone().unwrap_or_else(|| run_id.clone()),
        now,
        dialect: store.dialect(),
        index_rows,
    };
    let written = match native {
        Some(native) => {
            let thread_ctx = ctx.clone();
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                write_natively(native, &thread_ctx, kind, rx, transaction_lines, &runtime)
            })
            .await
            .map_err(|e| ImportError::Io {
                path: name.to_string(),
                source: std::io::Error::other(e),
            })?
        }
        None => write_pooled(store, &ctx, kind, rx).await,
    };
    let Written {
        imported,
        duplicates,
        error: write_error,
    } = written;
    let read = reader_task.await.map_err(|e| ImportError::Io {
        path: name.to_string(),
        source: std::io::Error::other(e),
    })?;
    progress.end();
    phase("écriture des lignes", &started);
    if bulk {
        // Also after a failure: what was written is indexed, and nothing stays set aside.
        let at = Instant::now();
        crate::search::bulk::end(store).await?;
        phase("fin du chargement en bloc (total)", &at);
    }
    let outcome = match (write_error, read) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e),
        (None, Ok(stats)) => Ok(stats),
    };
    let stats = match outcome {
        Ok(stats) => stats,
        Err(e) => {
            let _ = sqlx::query(
                "UPDATE reg_import_run SET status = 'failed', finished_at = $1 WHERE id = $2",
            )
            .bind(clock.unix())
            .bind(&run_id)
            .execute(store.pool())
            .await;
            return Err(e);
        }
    };
    let at = Instant::now();
    let retired = if options.keep_unseen {
        0
    } else {
        retire_unseen(store, kind, &ctx.stamp, clock.unix()).await?
    };
    phase("retrait de ce que l'extrait ne liste plus", &at);
    sqlx::query(
        "UPDATE reg_import_run SET status = 'done', finished_at = $1, rows_read = $2, rejected = $3, warnings = $4 WHERE id = $5",
    )
    .bind(clock.unix())
    .bind(stats.lines as i64)
    .bind(stats.rejected as i64)
    .bind(stats.warnings as i64)
    .bind(&run_id)
    .execute(store.pool())
    .await?;
    // Rows written outside the import (or before the index existed) get indexed too.
    let at = Instant::now();
    crate::search::index_missing(store).await?;
    phase("index de recherche : lignes manquantes", &at);
    let summary = ImportSummary {
        file: name.to_string(),
        kind: kind.to_string(),
        run_id,
        lines: stats.lines,
        imported,
        rejected: stats.rejected,
        warnings: stats.warnings,
        duplicates,
        retired,
        report: stats.report.map(|p| p.display().to_string()),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((summary, kind))
}

/// Logs how long a phase of the import took (`CADUCEE_LOG=caducee_registry::import=info`;
/// the benchmark reports the index's phases apart from the import's own).
pub(crate) fn phase(name: &str, since: &Instant) {
    tracing::info!(
        phase = name,
        secondes = format!("{:.2}", since.elapsed().as_secs_f64()),
        "import : phase terminée"
    );
}

/// The files of one `caducee import rpps` command. Files of one kind are parts of one
/// extract (the registry ends as if they were one file): they are stamped alike, and what
/// none of them lists is retired once, by [`ImportSession::finish`], after the last one is
/// in. A session killed or failed before `finish` retires nothing; run again, it stamps
/// every line of every file anew, so it ends as an uninterrupted one. A session of one file
/// is [`import_file`].
pub struct ImportSession<'a> {
    store: &'a Store,
    clock: &'a dyn Clock,
    stamp: String,
    /// The kinds to retire, in the order met, with their number of files.
    kinds: Vec<(FileKind, usize)>,
}

/// What [`ImportSession::finish`] retired for one kind: activities ended (Personne_activite),
/// know-how or diplomas removed, because none of the session's files of that kind lists them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retirement {
    pub kind: String,
    /// How many files of this kind the session imported.
    pub files: usize,
    pub retired: u64,
}

impl<'a> ImportSession<'a> {
    pub fn new(store: &'a Store, clock: &'a dyn Clock) -> ImportSession<'a> {
        ImportSession {
            store,
            clock,
            stamp: uuid_like("session", clock.unix()),
            kinds: Vec::new(),
        }
    }

    /// Imports one file of the session; nothing is retired yet.
    pub async fn import_file(
        &mut self,
        path: &Path,
        options: &ImportOptions,
        progress: Arc<dyn Progress>,
    ) -> Result<ImportSummary, ImportError> {
        let part = ImportOptions {
            keep_unseen: true,
            stamp: Some(self.stamp.clone()),
            ..options.clone()
        };
        let (summary, kind) = read_file(self.store, self.clock, path, &part, progress).await?;
        if !options.keep_unseen {
            match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, files)) => *files += 1,
                None => self.kinds.push((kind, 1)),
            }
        }
        Ok(summary)
    }

    /// Once every file is in: retires, for each kind imported, what none of its files lists.
    pub async fn finish(self) -> Result<Vec<Retirement>, ImportError> {
        let mut done = Vec::with_capacity(self.kinds.len());
        for (kind, files) in self.kinds {
            let retired = retire_unseen(self.store, kind, &self.stamp, self.clock.unix()).await?;
            done.push(Retirement {
                kind: kind.to_string(),
                files,
                retired,
            });
        }
        Ok(done)
    }
}

/// A run id unique enough for bookkeeping (file name, time and randomness mixed).
fn uuid_like(name: &str, now: i64) -> String {
    let nonce: u64 = rand::random();
    short_hash(&[name, &now.to_string(), &nonce.to_string()])
}

/// One accepted line, with what the writer needs already computed.
struct Record {
    text: String,
    /// Canonical columns as byte ranges of `text` (empty range: absent optional column).
    spans: Vec<(u16, u16)>,
    /// Personne_activite: derived structure id ('' for none). Others: unused.
    structure_id: String,
    /// Key of the activity / know-how / diploma row.
    row_id: String,
    /// Content hashes: person, structure, activity.
    hashes: [String; 3],
}

impl Record {
    fn get(&self, i: usize) -> &str {
        let (a, b) = self.spans[i];
        &self.text[a as usize..b as usize]
    }
}

struct ReadStats {
    lines: u64,
    rejected: u64,
    warnings: u64,
    report: Option<PathBuf>,
}

/// Lazily created report of rejected lines and warnings (TSV: line, level, reason).
struct Report {
    place: ReportPlace,
    out: Option<std::io::BufWriter<std::fs::File>>,
    failed: bool,
}

impl Report {
    fn write(&mut self, line: u64, level: &str, reason: &str) {
        if self.out.is_none() && !self.failed {
            self.open();
        }
        if let Some(w) = self.out.as_mut() {
            let _ = writeln!(w, "{line}\t{level}\t{}", reason.replace(['\t', '\n'], " "));
        }
    }

    /// Creates the report at its place, else at its fallback (which then becomes its path).
    fn open(&mut self) {
        let file = match std::fs::File::create(&self.place.path) {
            Ok(f) => Ok(f),
            Err(e) => match self.place.fallback.take() {
                Some(fallback) => match std::fs::File::create(&fallback) {
                    Ok(f) => {
                        tracing::warn!(
                            wanted = %self.place.path.display(),
                            error = %e,
                            path = %fallback.display(),
                            "dossier du fichier non accessible en écriture : rapport d'import écrit dans le dossier courant"
                        );
                        self.place.path = fallback;
                        Ok(f)
                    }
                    Err(e) => Err((fallback, e)),
                },
                None => Err((self.place.path.clone(), e)),
            },
        };
        match file {
            Ok(f) => {
                let mut w = std::io::BufWriter::new(f);
                let _ = writeln!(w, "ligne\tniveau\tmotif");
                self.out = Some(w);
            }
            Err((path, e)) => {
                tracing::warn!(path = %path.display(), error = %e, "rapport d'import impossible à créer");
                self.failed = true;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn read_lines(
    mut reader: BufReader<Box<dyn Read + Send>>,
    header_bytes: u64,
    layout: Layout,
    batch_lines: usize,
    report: ReportPlace,
    name: &str,
    progress: &dyn Progress,
    tx: tokio::sync::mpsc::Sender<Vec<Record>>,
) -> Result<ReadStats, ImportError> {
    let mut report = Report {
        place: report,
        out: None,
        failed: false,
    };
    let mut stats = ReadStats {
        lines: 0,
        rejected: 0,
        warnings: 0,
        report: None,
    };
    let mut bytes_done = header_bytes;
    let mut line_no = 1u64;
    let mut buf = Vec::with_capacity(1024);
    let mut batch = Vec::with_capacity(batch_lines);
    let mut warnings = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| ImportError::Io {
                path: name.to_string(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bytes_done += n as u64;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        stats.lines += 1;
        // A copy of exactly the line's length: the read buffer keeps its capacity for the
        // next line, and a batch holds no slack.
        let text = match String::from_utf8(buf.clone()) {
            Ok(t) => t,
            Err(_) => {
                return Err(ImportError::NotUtf8 {
                    path: name.to_string(),
                    line: line_no,
                })
            }
        };
        warnings.clear();
        match prepare(&layout, text, &mut warnings) {
            Ok(record) => batch.push(record),
            Err(reason) => {
                stats.rejected += 1;
                report.write(line_no, "rejet", &reason);
            }
        }
        for w in &warnings {
            stats.warnings += 1;
            report.write(line_no, "avertissement", w);
        }
        if batch.len() >= batch_lines {
            progress.update(bytes_done, stats.lines);
            if tx
                .blocking_send(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(batch_lines),
                ))
                .is_err()
            {
                break; // the writer failed; its error is reported
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    progress.update(bytes_done, stats.lines);
    if let Some(mut w) = report.out.take() {
        let _ = w.flush();
        stats.report = Some(report.place.path);
    }
    Ok(stats)
}

/// Splits, validates and prepares one line; `Err` is the reason for rejecting it.
fn prepare(layout: &Layout, text: String, warnings: &mut Vec<String>) -> Result<Record, String> {
    if text.len() > usize::from(u16::MAX) {
        return Err(format!(
            "ligne de {} octets, plus longue que les {} admis",
            text.len(),
            u16::MAX
        ));
    }
    let spans = {
        let fields = layout.fields(&text).map_err(|found| {
            format!(
                "{found} champs au lieu de {} attendus par l'en-tête",
                layout.file_columns
            )
        })?;
        let base = text.as_ptr() as usize;
        // Offsets fit in u16: the line length was checked above.
        fields
            .iter()
            .map(|f| {
                if f.is_empty() {
                    (0, 0)
                } else {
                    let start = f.as_ptr() as usize - base;
                    (start as u16, (start + f.len()) as u16)
                }
            })
            .collect::<Vec<_>>()
    };
    let mut record = Record {
        text,
        spans,
        structure_id: String::new(),
        row_id: String::new(),
        hashes: Default::default(),
    };
    // The identity columns sit at the same positions in the three kinds.
    check_person_id(
        record.get(pa::ID_TYPE),
        record.get(pa::ID_PP),
        record.get(pa::IDNAT),
    )?;
    match layout.kind {
        FileKind::PersonneActivite => {
            check_structure_ids(&record, warnings);
            record.structure_id = structure_id(&record);
            let person = hash_columns(&record, columns::PERSON, "");
            let structure = hash_columns(&record, columns::STRUCTURE, &record.structure_id);
            let activity = hash_columns(&record, columns::ACTIVITY, &record.structure_id);
            // The key of an activity: who, where, and every code that tells it apart.
            let key_cols: Vec<&str> = [record.get(pa::IDNAT), record.structure_id.as_str()]
                .into_iter()
                .chain(
                    columns::ACTIVITY
                        .iter()
                        .filter(|(n, _)| n.ends_with("_code"))
                        .map(|(_, i)| record.get(*i)),
                )
                .collect();
            record.row_id = keyed(record.get(pa::IDNAT), &short_hash(&key_cols));
            record.hashes = [person, structure, activity];
        }
        FileKind::SavoirFaire => {
            record.row_id = keyed(
                record.get(pa::IDNAT),
                &hash_columns(&record, columns::KNOW_HOW, ""),
            );
        }
        FileKind::DiplAutExerc => {
            record.row_id = keyed(
                record.get(pa::IDNAT),
                &hash_columns(&record, columns::DIPLOMA, ""),
            );
        }
    }
    Ok(record)
}

/// Rejects a line whose professional identifier is invalid (REG-01).
fn check_person_id(id_type: &str, id_pp: &str, idnat: &str) -> Result<(), String> {
    let parsed = match id_type {
        "8" => Rpps::parse(id_pp).map(|_| ()),
        "0" => Adeli::parse(id_pp).map(|_| ()),
        other => {
            return Err(format!(
                "type d'identifiant PP « {other} » inconnu (attendu 8 RPPS ou 0 ADELI)"
            ))
        }
    };
    parsed.map_err(|e| format!("Identifiant PP « {id_pp} » invalide : {e}"))?;
    let type_code: u8 = id_type.parse().unwrap_or(u8::MAX);
    let expected = IdNatPs::from_parts(type_code, id_pp)
        .map_err(|e| format!("Identifiant PP « {id_pp} » invalide : {e}"))?;
    if expected.as_str() != idnat {
        return Err(format!(
            "Identification nationale PP « {idnat} » incohérente avec le type {id_type} et l'identifiant {id_pp} (attendu {})",
            expected.as_str()
        ));
    }
    Ok(())
}

/// Structure identifiers that fail their check are kept as given (real files contain some)
/// and reported as warnings.
fn check_structure_ids(record: &Record, warnings: &mut Vec<String>) {
    type Check = (&'static str, usize, fn(&str) -> bool);
    let checks: [Check; 4] = [
        ("SIRET", pa::SIRET, |v| Siret::parse(v).is_ok()),
        ("SIREN", pa::SIREN, |v| Siren::parse(v).is_ok()),
        ("FINESS site", pa::FINESS, |v| Finess::parse(v).is_ok()),
        ("FINESS établissement juridique", pa::FINESS_EJ, |v| {
            Finess::parse(v).is_ok()
        }),
    ];
    for (label, col, valid) in checks {
        let value = record.get(col);
        if !value.is_empty() && !valid(value) {
            warnings.push(format!(
                "{label} « {value} » invalide (longueur ou clé de contrôle), conservé tel quel"
            ));
        }
    }
}

/// The structure key: the file's technical id when present; else one derived from the
/// FINESS or SIRET the way the file builds it; else a hash of the address for a structure
/// known only by its address; '' when the line has no structure at all.
fn structure_id(record: &Record) -> String {
    let tech = record.get(pa::STRUCTURE_ID);
    if !tech.is_empty() {
        return tech.to_string();
    }
    if !record.get(pa::FINESS).is_empty() {
        return format!("F{}", record.get(pa::FINESS));
    }
    if !record.get(pa::SIRET).is_empty() {
        return format!("C{}", record.get(pa::SIRET));
    }
    if columns::STRUCTURE
        .iter()
        .any(|(_, i)| !record.get(*i).is_empty())
    {
        return format!("X{}", hash_columns(record, columns::STRUCTURE, ""));
    }
    String::new()
}

/// Content hashes and keys are 64 bits (16 hex digits): enough to tell rows of one person
/// apart and to detect a change, and every byte saved is written 2.2 million times.
fn hash_columns(record: &Record, map: &[(&str, usize)], extra: &str) -> String {
    let mut h = Sha256::new();
    h.update(extra.as_bytes());
    for (_, i) in map {
        h.update([0x1f]);
        h.update(record.get(*i).as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// Row keys start with the idNat so that one person's rows sit together in the index, and
/// a file sorted by identifier (as the extracts are) appends instead of inserting at
/// random places.
fn keyed(idnat: &str, hash: &str) -> String {
    format!("{idnat}:{hash}")
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..8])
}

#[derive(Clone)]
struct WriteContext {
    /// Written on every row as `seen_run`.
    stamp: String,
    now: i64,
    dialect: caducee_store::Dialect,
    /// Whether each batch writes its rows of the search index ([`index_batch`]); when
    /// not, the bulk load's end fills the index from the tables.
    index_rows: bool,
}

/// What the writer of the batches did: lines written, duplicate keys merged, and the error
/// that stopped it, if one did (the reader then stops too: the writer dropped the channel).
#[derive(Default)]
struct Written {
    imported: u64,
    duplicates: u64,
    error: Option<ImportError>,
}

impl Written {
    fn count(&mut self, (lines, duplicates): (u64, u64)) {
        self.imported += lines;
        self.duplicates += duplicates;
    }
}

/// Writes each batch in one transaction of a pool connection.
async fn write_pooled(
    store: &Store,
    ctx: &WriteContext,
    kind: FileKind,
    mut batches: tokio::sync::mpsc::Receiver<Vec<Record>>,
) -> Written {
    let mut written = Written::default();
    let outcome: Result<(), ImportError> = async {
        while let Some(batch) = batches.recv().await {
            let mut tx = store.begin().await?;
            written.count(write_batch(&mut *tx, ctx, kind, &batch).await?);
            tx.commit().await?;
        }
        Ok(())
    }
    .await;
    written.error = outcome.err();
    written
}

/// Lines per transaction of the native writer: several batches of the reader. Measured on
/// 600,000 lines (bench/README.md, 2026-12-03): 100,000 instead of 20,000 lines a
/// transaction wrote them 9 % faster (fewer commits, index pages rewritten less often) at
/// the same peak memory, which follows the batches in flight, not the transaction.
pub const NATIVE_LINES_PER_TRANSACTION: usize = 100_000;

/// Writes the batches in transactions of SQLite's own API of about `transaction_lines`
/// lines ([`NATIVE_LINES_PER_TRANSACTION`] unless the options say), on the calling
/// (blocking) thread. `runtime`
/// only drives [`write_batch`], whose every step is already complete when it is polled
/// ([`NativeSqlite`] works at once). On an error the open transaction is rolled back: an
/// import that failed is run again whole (see the module documentation).
fn write_natively(
    mut native: NativeSqlite,
    ctx: &WriteContext,
    kind: FileKind,
    mut batches: tokio::sync::mpsc::Receiver<Vec<Record>>,
    transaction_lines: usize,
    runtime: &tokio::runtime::Handle,
) -> Written {
    let mut written = Written::default();
    let mut uncommitted = 0;
    let mut outcome = || -> Result<(), ImportError> {
        while let Some(batch) = batches.blocking_recv() {
            if uncommitted == 0 {
                native.begin()?;
            }
            written.count(runtime.block_on(write_batch(&mut native, ctx, kind, &batch))?);
            uncommitted += batch.len();
            if uncommitted >= transaction_lines {
                native.commit()?;
                uncommitted = 0;
            }
        }
        if uncommitted > 0 {
            native.commit()?;
        }
        Ok(())
    };
    if let Err(e) = outcome() {
        let _ = native.rollback();
        written.error = Some(e);
    }
    written
}

/// Writes one batch in the transaction `w` has begun. Returns (rows written, duplicate
/// keys merged).
async fn write_batch(
    w: &mut impl Writes,
    ctx: &WriteContext,
    kind: FileKind,
    batch: &[Record],
) -> Result<(u64, u64), ImportError> {
    Ok(match kind {
        FileKind::PersonneActivite => {
            let persons = last_by_key(batch, |r| r.get(pa::IDNAT));
            let changed_persons = upsert(w, ctx, &persons, &PERSON_TABLE).await?;
            let structures: Vec<&Record> = last_by_key(batch, |r| r.structure_id.as_str())
                .into_iter()
                .filter(|r| !r.structure_id.is_empty())
                .collect();
            let changed_structures = upsert(w, ctx, &structures, &STRUCTURE_TABLE).await?;
            let activities = last_by_key(batch, |r| r.row_id.as_str());
            upsert(w, ctx, &activities, &ACTIVITY_TABLE).await?;
            let changed_activities =
                stamped(w, ctx, &ACTIVITY_TABLE, &activities, &changed_persons).await?;
            let changed = Changes {
                persons: &changed_persons,
                structures: &changed_structures,
                others: &changed_activities,
            };
            if ctx.index_rows {
                index_batch(w, ctx, kind, &persons, &structures, changed).await?;
            }
            (batch.len() as u64, (batch.len() - activities.len()) as u64)
        }
        FileKind::SavoirFaire | FileKind::DiplAutExerc => {
            let persons = last_by_key(batch, |r| r.get(pa::IDNAT));
            let created = upsert(w, ctx, &persons, &IDENTITY_TABLE).await?;
            let rows = last_by_key(batch, |r| r.row_id.as_str());
            let table = if kind == FileKind::SavoirFaire {
                &KNOW_HOW_TABLE
            } else {
                &DIPLOMA_TABLE
            };
            upsert(w, ctx, &rows, table).await?;
            let added = stamped(w, ctx, table, &rows, &created).await?;
            let changed = Changes {
                persons: &created,
                structures: &HashSet::new(),
                others: &added,
            };
            if ctx.index_rows {
                index_batch(w, ctx, kind, &persons, &[], changed).await?;
            }
            (batch.len() as u64, (batch.len() - rows.len()) as u64)
        }
    })
}

/// What the upserts of a batch changed (from their `RETURNING`).
#[derive(Clone, Copy)]
struct Changes<'a> {
    /// Persons inserted or rewritten (their row's hash changed).
    persons: &'a HashSet<String>,
    /// Structures inserted or rewritten.
    structures: &'a HashSet<String>,
    /// Persons whose activities, know-how or diplomas the batch changed.
    others: &'a HashSet<String>,
}

/// The directory's search index follows the batch, in its transaction (issue 15): only
/// what the batch changed is written, so that re-importing an unchanged extract costs the
/// index nothing. Persons and structures whose row changed are (re)indexed with
/// `last_updated = now`; persons whose activities, know-how or diplomas changed get their
/// `last_updated` moved.
async fn index_batch(
    w: &mut impl Writes,
    ctx: &WriteContext,
    kind: FileKind,
    persons: &[&Record],
    structures: &[&Record],
    changed: Changes<'_>,
) -> Result<(), ImportError> {
    use crate::search::{self, PersonEntry, StructureEntry};
    let names = match kind {
        FileKind::PersonneActivite => (7, pa::FIRST_NAME),
        FileKind::SavoirFaire => (sf::LAST_NAME, sf::FIRST_NAME),
        FileKind::DiplAutExerc => (dipl::LAST_NAME, dipl::FIRST_NAME),
    };
    let entries: Vec<PersonEntry> = persons
        .iter()
        .filter(|r| changed.persons.contains(r.get(pa::IDNAT)))
        .map(|r| PersonEntry {
            idnat: r.get(pa::IDNAT),
            last_name: r.get(names.0),
            first_name: r.get(names.1),
        })
        .collect();
    // Personne_activite is the reference for names; the other files only add the persons
    // it does not list.
    let overwrite = kind == FileKind::PersonneActivite;
    search::index_persons(w, ctx.dialect, ctx.now, &entries, overwrite).await?;
    let entries: Vec<StructureEntry> = structures
        .iter()
        .filter(|r| changed.structures.contains(&r.structure_id))
        .map(|r| StructureEntry {
            id: &r.structure_id,
            name: r.get(24),
            trade_name: r.get(25),
            commune: r.get(37),
            cedex: r.get(34),
            postcode: r.get(35),
            dept: r.get(44),
            sector: r.get(48),
            finess: r.get(pa::FINESS),
            siret: r.get(pa::SIRET),
            row_hash: &r.hashes[1],
        })
        .collect();
    search::index_structures(w, ctx.dialect, ctx.now, &entries).await?;
    // Persons whose row changed without a rename, and persons whose activities, know-how
    // or diplomas changed: `last_updated` moves (an UPDATE by key, no FTS5 work).
    let touched: Vec<&str> = changed
        .others
        .iter()
        .chain(changed.persons.iter())
        .map(String::as_str)
        .collect();
    search::touch_persons(w, ctx.now, &touched).await?;
    Ok(())
}

/// Keeps the last record of each key, in first-seen order (a multi-row upsert may not touch
/// the same row twice on PostgreSQL, and the last line of the file must win).
fn last_by_key<'a>(batch: &'a [Record], key: impl Fn(&'a Record) -> &'a str) -> Vec<&'a Record> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    let mut out: Vec<&Record> = Vec::with_capacity(batch.len());
    for r in batch {
        match index.get(key(r)) {
            Some(&i) => out[i] = r,
            None => {
                index.insert(key(r), out.len());
                out.push(r);
            }
        }
    }
    out
}

/// How a record becomes a row of one table.
struct Table {
    name: &'static str,
    key: &'static str,
    map: &'static [(&'static str, usize)],
    /// Derived columns bound after the mapped ones, in this order.
    extra: &'static [Extra],
    on_conflict: &'static str,
    /// What the upsert tells of the rows it changed (for the search index, issue 15).
    changed: Changed,
}

/// Which rows an upsert reports as changed, through `RETURNING` (both engines return only
/// the rows an upsert inserted or updated, not those its `WHERE` or `DO NOTHING` skipped).
#[derive(Clone, Copy)]
enum Changed {
    /// The key column of every row inserted or updated.
    Returned(&'static str),
    /// Nothing returned: upserts that always update (the run stamp) but move `updated_at`
    /// only on a real change. Their `RETURNING` would hand every row of the batch back
    /// (on SQLite one message between threads per row: measured +25 % on a re-import), so
    /// [`stamped`] asks afterwards, for the persons whose own row did not change only.
    Stamped,
}

#[derive(Clone, Copy)]
enum Extra {
    /// The derived structure id (as `id` or `structure_id`).
    StructureId(&'static str),
    RowId,
    Idnat,
    Hash(usize),
    SeenRun,
    Now(&'static str),
}

impl Extra {
    fn column(self) -> &'static str {
        match self {
            Extra::StructureId(c) | Extra::Now(c) => c,
            Extra::RowId => "id",
            Extra::Idnat => "idnat",
            Extra::Hash(_) => "row_hash",
            Extra::SeenRun => "seen_run",
        }
    }
}

const PERSON_TABLE: Table = Table {
    name: "reg_person",
    key: "idnat",
    map: columns::PERSON,
    extra: &[Extra::Hash(0), Extra::Now("updated_at")],
    on_conflict: "DO UPDATE SET id_type = excluded.id_type, id_pp = excluded.id_pp,
        ex_civility_code = excluded.ex_civility_code, ex_civility_label = excluded.ex_civility_label,
        civility_code = excluded.civility_code, civility_label = excluded.civility_label,
        last_name = excluded.last_name, first_name = excluded.first_name,
        row_hash = excluded.row_hash, updated_at = excluded.updated_at
        WHERE reg_person.row_hash <> excluded.row_hash",
    changed: Changed::Returned("idnat"),
};

/// Persons met in SavoirFaire / Dipl_AutExerc only: created when unknown, never overwritten
/// (Personne_activite is the reference for identity).
const IDENTITY_TABLE: Table = Table {
    name: "reg_person",
    key: "idnat",
    map: columns::IDENTITY,
    extra: &[Extra::Now("updated_at")],
    on_conflict: "DO NOTHING",
    changed: Changed::Returned("idnat"),
};

const STRUCTURE_TABLE: Table = Table {
    name: "reg_structure",
    key: "id",
    map: columns::STRUCTURE,
    extra: &[Extra::StructureId("id"), Extra::Hash(1), Extra::Now("updated_at")],
    on_conflict: "DO UPDATE SET siret = excluded.siret, siren = excluded.siren, finess = excluded.finess,
        finess_ej = excluded.finess_ej, name = excluded.name, trade_name = excluded.trade_name,
        addr_recipient = excluded.addr_recipient, addr_point = excluded.addr_point,
        street_number = excluded.street_number, street_repeat = excluded.street_repeat,
        street_type_code = excluded.street_type_code, street_type_label = excluded.street_type_label,
        street_name = excluded.street_name, distribution = excluded.distribution, cedex = excluded.cedex,
        postcode = excluded.postcode, commune_code = excluded.commune_code, commune = excluded.commune,
        country_code = excluded.country_code, country = excluded.country, phone = excluded.phone,
        phone2 = excluded.phone2, fax = excluded.fax, email = excluded.email, dept_code = excluded.dept_code,
        dept_label = excluded.dept_label, old_id = excluded.old_id,
        registration_authority = excluded.registration_authority, sector_code = excluded.sector_code,
        sector_label = excluded.sector_label, row_hash = excluded.row_hash, updated_at = excluded.updated_at
        WHERE reg_structure.row_hash <> excluded.row_hash",
    changed: Changed::Returned("id"),
};

const ACTIVITY_TABLE: Table = Table {
    name: "reg_activity",
    key: "id",
    map: columns::ACTIVITY,
    extra: &[
        Extra::RowId,
        Extra::Idnat,
        Extra::StructureId("structure_id"),
        Extra::Hash(2),
        Extra::SeenRun,
        Extra::Now("started_at"),
        Extra::Now("updated_at"),
    ],
    // Labels may change while the key stays: they are refreshed; `updated_at` moves only
    // when something changed or a vanished activity comes back.
    on_conflict: "DO UPDATE SET profession_label = excluded.profession_label,
        category_label = excluded.category_label, sf_type_label = excluded.sf_type_label,
        sf_label = excluded.sf_label, mode_label = excluded.mode_label,
        pharma_section_label = excluded.pharma_section_label, role_label = excluded.role_label,
        genre_label = excluded.genre_label, row_hash = excluded.row_hash, seen_run = excluded.seen_run,
        started_at = CASE WHEN reg_activity.ended_at IS NULL THEN reg_activity.started_at ELSE excluded.started_at END,
        updated_at = CASE WHEN reg_activity.ended_at IS NULL AND reg_activity.row_hash = excluded.row_hash
                          THEN reg_activity.updated_at ELSE excluded.updated_at END,
        ended_at = NULL",
    changed: Changed::Stamped,
};

const KNOW_HOW_TABLE: Table = Table {
    name: "reg_know_how",
    key: "id",
    map: columns::KNOW_HOW,
    extra: &[
        Extra::RowId,
        Extra::Idnat,
        Extra::SeenRun,
        Extra::Now("updated_at"),
    ],
    on_conflict: "DO UPDATE SET seen_run = excluded.seen_run",
    changed: Changed::Stamped,
};

const DIPLOMA_TABLE: Table = Table {
    name: "reg_diploma",
    key: "id",
    map: columns::DIPLOMA,
    extra: &[
        Extra::RowId,
        Extra::Idnat,
        Extra::SeenRun,
        Extra::Now("updated_at"),
    ],
    on_conflict: "DO UPDATE SET seen_run = excluded.seen_run",
    changed: Changed::Stamped,
};

/// Rows per multi-row statement: beyond a few hundred, bigger statements stop paying off
/// and only cost memory.
const ROWS_PER_STATEMENT: usize = 250;

fn insert_sql(
    table: &Table,
    cols: &[&str],
    dialect: caducee_store::Dialect,
    rows: usize,
) -> String {
    let returning = match table.changed {
        Changed::Returned(col) => format!(" RETURNING {col}"),
        Changed::Stamped => String::new(),
    };
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) {}{returning}",
        table.name,
        cols.join(", "),
        values_placeholders(dialect, rows, cols.len()),
        table.key,
        table.on_conflict
    )
}

/// Multi-row upsert of `rows` into `table`, in statements as large as the bind limit allows.
/// Returns the keys of the rows it changed, as `table.changed` says (empty for `Nothing`).
async fn upsert(
    w: &mut impl Writes,
    ctx: &WriteContext,
    rows: &[&Record],
    table: &Table,
) -> Result<HashSet<String>, ImportError> {
    let mut changed = HashSet::new();
    if rows.is_empty() {
        return Ok(changed);
    }
    let cols: Vec<&str> = table
        .map
        .iter()
        .map(|(n, _)| *n)
        .chain(table.extra.iter().map(|e| e.column()))
        .collect();
    // Statements of a fixed size are prepared once and reused from the driver's cache; the
    // smaller remainder of each batch is run unprepared, so that the cache never fills with
    // one-off statements (each holding copies of its bound values).
    let per_statement = (ctx.dialect.max_binds() / cols.len()).clamp(1, ROWS_PER_STATEMENT);
    let full_sql = insert_sql(table, &cols, ctx.dialect, per_statement);
    let mut values = Vec::with_capacity(per_statement * cols.len());
    for chunk in rows.chunks(per_statement) {
        let full = chunk.len() == per_statement;
        let remainder_sql;
        let sql = if full {
            &full_sql
        } else {
            remainder_sql = insert_sql(table, &cols, ctx.dialect, chunk.len());
            &remainder_sql
        };
        values.clear();
        for r in chunk {
            values.extend(table.map.iter().map(|(_, i)| Value::Text(r.get(*i))));
            values.extend(table.extra.iter().map(|e| match e {
                Extra::StructureId(_) => Value::Text(&r.structure_id),
                Extra::RowId => Value::Text(&r.row_id),
                Extra::Idnat => Value::Text(r.get(pa::IDNAT)),
                Extra::Hash(h) => Value::Text(&r.hashes[*h]),
                Extra::SeenRun => Value::Text(&ctx.stamp),
                Extra::Now(_) => Value::Int(ctx.now),
            }));
        }
        match table.changed {
            Changed::Returned(_) => changed.extend(w.texts(sql, full, &values).await?),
            Changed::Stamped => {
                w.run(sql, full, &values).await?;
            }
        }
    }
    Ok(changed)
}

/// The persons among `rows` whose row of `table` (activity, know-how, diploma) this batch
/// changed (`updated_at` = the import's `now`), leaving out the persons already in
/// `known` (changed or created: indexed anew anyway). One indexed lookup per row asked,
/// and only the changed ones come back: nothing on a re-import of an unchanged extract,
/// no lookup at all on a first import (every person is new).
async fn stamped(
    w: &mut impl Writes,
    ctx: &WriteContext,
    table: &Table,
    rows: &[&Record],
    known: &HashSet<String>,
) -> Result<HashSet<String>, ImportError> {
    let ids: Vec<&str> = rows
        .iter()
        .filter(|r| !known.contains(r.get(pa::IDNAT)))
        .map(|r| r.row_id.as_str())
        .collect();
    let mut out = HashSet::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT DISTINCT idnat FROM {} WHERE updated_at = $1 AND id IN ({})",
            table.name,
            list.join(", ")
        );
        let values: Vec<Value> = std::iter::once(Value::Int(ctx.now))
            .chain(chunk.iter().map(|id| Value::Text(id)))
            .collect();
        out.extend(
            w.texts(&sql, chunk.len() == ROWS_PER_STATEMENT, &values)
                .await?,
        );
    }
    Ok(out)
}

/// After a complete extract: end the activities it no longer lists, remove the know-how and
/// diplomas it no longer lists (the rows not stamped `stamp`).
async fn retire_unseen(
    store: &Store,
    kind: FileKind,
    stamp: &str,
    now: i64,
) -> Result<u64, ImportError> {
    use crate::search::{touch_retired, Written};
    // The search index's `last_updated` moves in the same transaction (issue 15).
    let mut tx = store.begin().await?;
    let result = match kind {
        FileKind::PersonneActivite => {
            touch_retired(&mut tx, now, Written::Activities, stamp).await?;
            sqlx::query("UPDATE reg_activity SET ended_at = $1, updated_at = $1 WHERE ended_at IS NULL AND seen_run <> $2")
                .bind(now)
                .bind(stamp)
                .execute(&mut *tx)
                .await?
        }
        FileKind::SavoirFaire => {
            touch_retired(&mut tx, now, Written::KnowHow, stamp).await?;
            sqlx::query("DELETE FROM reg_know_how WHERE seen_run <> $1")
                .bind(stamp)
                .execute(&mut *tx)
                .await?
        }
        FileKind::DiplAutExerc => {
            touch_retired(&mut tx, now, Written::Diplomas, stamp).await?;
            sqlx::query("DELETE FROM reg_diploma WHERE seen_run <> $1")
                .bind(stamp)
                .execute(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn layout() -> Layout {
        Layout::detect(FileKind::PersonneActivite.header_line()).unwrap()
    }

    #[test]
    fn reg_10_overlong_line_is_rejected_not_truncated() {
        let mut fields = vec!["x".repeat(2_000); pa::COUNT];
        fields[pa::ID_TYPE] = "8".into();
        let line = format!("{}|", fields.join("|"));
        let reason = prepare(&layout(), line, &mut Vec::new()).err().unwrap();
        assert!(reason.contains("plus longue"), "{reason}");
    }

    proptest! {
        /// Whatever a line holds, preparing it answers Ok or a reason, never panics.
        #[test]
        fn reg_10_any_line_is_accepted_or_rejected_with_a_reason(
            fields in proptest::collection::vec("[^|\r\n]{0,12}", 50..60),
            id in "[0-9]{9,12}",
        ) {
            let mut fields = fields;
            if fields.len() > 3 {
                fields[0] = "8".into();
                fields[1] = id.clone();
                fields[2] = format!("8{id}");
            }
            let line = format!("{}|", fields.join("|"));
            let mut warnings = Vec::new();
            match prepare(&layout(), line, &mut warnings) {
                Ok(r) => {
                    prop_assert_eq!(r.spans.len(), pa::COUNT);
                    prop_assert!(r.row_id.starts_with(r.get(pa::IDNAT)));
                }
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
        }
    }
}
