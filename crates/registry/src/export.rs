//! `caducee export rpps --out DIR`: writes the registry back as PS_LibreAcces files in the
//! current layout (56 columns), so that importing an export gives the same registry.
//! Rows are streamed from the database: memory does not grow with the registry. Contact
//! coordinates and civil identity are not public and are never exported.

use crate::columns;
use crate::format::{pa, FileKind};
use caducee_core::clock::Clock;
use caducee_store::{Store, StoreError};
use futures_util::TryStreamExt;
use sqlx::Row;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path} : {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ExportError {
    fn from(e: sqlx::Error) -> Self {
        ExportError::Store(StoreError::Sql(e))
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportedFile {
    pub kind: String,
    pub path: String,
    pub rows: u64,
}

/// Writes the three files into `dir` (created if missing), named with the clock's time.
pub async fn export_all(
    store: &Store,
    clock: &dyn Clock,
    dir: &Path,
) -> Result<Vec<ExportedFile>, ExportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ExportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let now = clock.now();
    let stamp = format!(
        "{:04}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    let mut files = Vec::new();
    for kind in FileKind::ALL {
        let path: PathBuf = dir.join(format!("PS_LibreAcces_{}_{stamp}.txt", kind.file_stem()));
        let file = std::fs::File::create(&path).map_err(io(&path))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(out, "{}", kind.header_line()).map_err(io(&path))?;
        let rows = write_rows(store, kind, &mut out, &path).await?;
        out.flush().map_err(io(&path))?;
        files.push(ExportedFile {
            kind: kind.to_string(),
            path: path.display().to_string(),
            rows,
        });
    }
    Ok(files)
}

/// The SELECT that yields, for each exported line, its canonical columns in order.
fn select_for(kind: FileKind) -> String {
    let mut exprs = vec![String::new(); kind.columns().len()];
    let place = |exprs: &mut Vec<String>, alias: &str, map: &[(&str, usize)]| {
        for (col, i) in map {
            exprs[*i] = format!("{alias}.{col}");
        }
    };
    match kind {
        FileKind::PersonneActivite => {
            place(&mut exprs, "p", columns::PERSON);
            place(&mut exprs, "s", columns::STRUCTURE);
            place(&mut exprs, "a", columns::ACTIVITY);
            exprs[pa::STRUCTURE_ID] = "a.structure_id".to_string();
            // A structure-less activity has no structure row: empty columns.
            for (col, i) in columns::STRUCTURE {
                exprs[*i] = format!("COALESCE(s.{col}, '')");
            }
            format!(
                "SELECT {} FROM reg_activity a JOIN reg_person p ON p.idnat = a.idnat
                 LEFT JOIN reg_structure s ON s.id = a.structure_id
                 WHERE a.ended_at IS NULL ORDER BY a.idnat, a.id",
                exprs.join(", ")
            )
        }
        FileKind::SavoirFaire | FileKind::DiplAutExerc => {
            let (table, map) = if kind == FileKind::SavoirFaire {
                ("reg_know_how", columns::KNOW_HOW)
            } else {
                ("reg_diploma", columns::DIPLOMA)
            };
            place(&mut exprs, "p", columns::IDENTITY);
            place(&mut exprs, "k", map);
            format!(
                "SELECT {} FROM {table} k JOIN reg_person p ON p.idnat = k.idnat ORDER BY k.idnat, k.id",
                exprs.join(", ")
            )
        }
    }
}

async fn write_rows(
    store: &Store,
    kind: FileKind,
    out: &mut impl Write,
    path: &Path,
) -> Result<u64, ExportError> {
    let sql = select_for(kind);
    let mut rows = sqlx::query(&sql).fetch(store.pool());
    let mut count = 0u64;
    let mut line = String::with_capacity(1024);
    while let Some(row) = rows.try_next().await? {
        line.clear();
        for i in 0..row.len() {
            let v: String = row.try_get(i)?;
            line.push_str(&v);
            line.push('|');
        }
        line.push('\n');
        out.write_all(line.as_bytes())
            .map_err(|source| ExportError::Io {
                path: path.display().to_string(),
                source,
            })?;
        count += 1;
    }
    Ok(count)
}
