//! One module per command family.

pub mod ars;
pub mod attestation;
pub mod client;
pub mod ecps;
pub mod export_fhir;
pub mod files;
pub mod keys;
pub mod pki;
pub mod portal;
pub mod registry;
pub mod serve;

use crate::config::Config;
use anyhow::Context;
use caducee_store::{Store, Workload};

/// Opens the configured database and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    open_store_for(config, Workload::Serve).await
}

/// As [`open_store`], for this kind of work (`caducee import` is a bulk one).
pub async fn open_store_for(config: &Config, workload: Workload) -> anyhow::Result<Store> {
    let store = Store::connect_for(&config.database_url, workload).await?;
    // The identity provider's list already holds the e-CPS', registry's and outbox's
    // migrations, in order.
    store
        .migrate(&caducee_idp::migrations())
        .await
        .context("migrations")?;
    store
        .migrate(caducee_portals::MIGRATIONS)
        .await
        .context("migrations des portails")?;
    // The directory's export jobs (any node answers their polls).
    store
        .migrate(caducee_directory::MIGRATIONS)
        .await
        .context("migrations de l'annuaire")?;
    // The attestations issued (REG-08).
    store
        .migrate(caducee_attestation::MIGRATIONS)
        .await
        .context("migrations des attestations")?;
    Ok(store)
}

/// Logs go to stderr (stdout carries command output: JSON, summaries). `CADUCEE_LOG` sets
/// the filter (default `info` for the server, `warn` for one-shot commands).
pub fn init_logging(config: &Config, server: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if server { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("CADUCEE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder
            .fmt_fields(crate::log_fields::escaped_fields())
            .init();
    }
}
