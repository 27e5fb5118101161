//! `caducee export fhir --out DIR`: the whole public directory as FHIR NDJSON, one file per
//! resource type, as the API's `$export` writes it (issue 15, REG-10).

use crate::commands::open_store;
use crate::config::Config;
use anyhow::Context;
use caducee_directory::params::Kind;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct FhirArgs {
    /// Folder to write Practitioner.ndjson, PractitionerRole.ndjson, Organization.ndjson in
    /// (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Only these types (comma-separated: Practitioner,PractitionerRole,Organization).
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
}

pub async fn run(config: Config, args: FhirArgs) -> anyhow::Result<ExitCode> {
    let types = args
        .types
        .iter()
        .map(|t| {
            Kind::parse(t.trim()).with_context(|| {
                format!("type « {t} » inconnu (Practitioner, PractitionerRole, Organization)")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = open_store(&config).await?;
    caducee_registry::search::index_missing(&store).await?;
    let started = std::time::Instant::now();
    let outputs = caducee_directory::export::write_all(&store, &args.out, &types)
        .await
        .with_context(|| args.out.display().to_string())?;
    for o in &outputs {
        println!("{} : {} ressources → {}", o.kind, o.count, o.path.display());
    }
    println!(
        "export FHIR terminé en {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
