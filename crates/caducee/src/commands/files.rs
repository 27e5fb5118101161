//! `import rpps`, `export rpps`, `generate rpps`.

use crate::commands::{open_store, open_store_for};
use crate::config::Config;
use anyhow::Context;
use caducee_core::clock::system_clock;
use caducee_registry::generate::{generate_personne_activite, GenerateOptions};
use caducee_registry::import::{ImportOptions, ImportSession};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum ImportWhat {
    /// PS_LibreAcces files (Personne_activite, SavoirFaire, Dipl_AutExerc; kind read from the header).
    /// Files of one kind are parts of one extract: what none of them lists is retired once,
    /// after the last file.
    Rpps {
        /// Files to import, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Report of rejected lines and warnings (default: <FILE>.report.tsv beside each file).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Print the summaries as JSON lines.
        #[arg(long)]
        json: bool,
        /// Lines per transaction (tuning and tests).
        #[arg(long, hide = true)]
        batch_lines: Option<usize>,
    },
}

#[derive(Subcommand)]
pub enum ExportWhat {
    /// Writes PS_LibreAcces_{Personne_activite,SavoirFaire,Dipl_AutExerc}_<YYYYMMDDHHMM>.txt.
    Rpps {
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes the public directory as FHIR NDJSON (Practitioner, PractitionerRole,
    /// Organization), as the API's $export.
    Fhir(crate::commands::export_fhir::FhirArgs),
}

#[derive(Subcommand)]
pub enum GenerateWhat {
    /// A synthetic PS_LibreAcces_Personne_activite file (56 columns, valid check digits).
    Rpps {
        #[arg(long)]
        rows: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// CRLF line endings, as some releases have.
        #[arg(long)]
        crlf: bool,
    },
}

pub async fn import(config: Config, what: ImportWhat) -> anyhow::Result<ExitCode> {
    let ImportWhat::Rpps {
        files,
        report,
        json,
        batch_lines,
    } = what;
    let store = open_store_for(&config, caducee_store::Workload::Bulk).await?;
    let clock = system_clock();
    let progress: Arc<dyn caducee_registry::import::Progress> =
        Arc::from(crate::progress::for_terminal());
    // The files of one kind are parts of one extract: retired together, once all are in.
    let mut session = ImportSession::new(&store, clock.as_ref());
    for (i, file) in files.iter().enumerate() {
        let report = report.as_ref().map(|r| {
            if files.len() > 1 {
                r.with_extension(format!("{i}.tsv"))
            } else {
                r.clone()
            }
        });
        let summary = session
            .import_file(
                file,
                &ImportOptions {
                    report,
                    batch_lines,
                    ..ImportOptions::default()
                },
                progress.clone(),
            )
            .await?;
        if json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            println!(
                "{} ({}) : {} lignes lues, {} importées, {} rejetées, {} avertissements, {} doublons fusionnés en {:.1} s ({:.0} lignes/s){}",
                summary.kind,
                summary.file,
                summary.lines,
                summary.imported,
                summary.rejected,
                summary.warnings,
                summary.duplicates,
                summary.seconds,
                summary.rows_per_second(),
                summary.report.as_ref().map(|r| format!(" ; rapport : {r}")).unwrap_or_default()
            );
        }
    }
    for retirement in session.finish().await? {
        if json {
            println!("{}", serde_json::to_string(&retirement)?);
        } else {
            println!(
                "{} : {} retirées (absentes {})",
                retirement.kind,
                retirement.retired,
                if retirement.files == 1 {
                    "du fichier".to_string()
                } else {
                    format!("des {} fichiers", retirement.files)
                }
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn export(config: Config, what: ExportWhat) -> anyhow::Result<ExitCode> {
    let out = match what {
        ExportWhat::Rpps { out } => out,
        ExportWhat::Fhir(args) => return crate::commands::export_fhir::run(config, args).await,
    };
    let store = open_store(&config).await?;
    let files = caducee_registry::export::export_all(&store, system_clock().as_ref(), &out).await?;
    for f in files {
        println!("{} : {} lignes → {}", f.kind, f.rows, f.path);
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub fn generate(what: GenerateWhat) -> anyhow::Result<ExitCode> {
    let GenerateWhat::Rpps {
        rows,
        seed,
        out,
        crlf,
    } = what;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let file = std::fs::File::create(&out).with_context(|| out.display().to_string())?;
    let summary = generate_personne_activite(
        &GenerateOptions { rows, seed, crlf },
        std::io::BufWriter::with_capacity(1 << 20, file),
    )
    .with_context(|| out.display().to_string())?;
    println!(
        "{} lignes ({} professionnels) → {}",
        summary.rows,
        summary.persons,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
