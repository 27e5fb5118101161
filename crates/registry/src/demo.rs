//! The demo registry of `caducee serve --demo`: a few thousand synthetic professionals plus
//! the named personas the README lists (known birth dates, e-mails and mobiles), loaded
//! through the real import path. Seeding is idempotent: a restart adds nothing.

use crate::generate::{demo_personas, generate_personne_activite, personas_rows, GenerateOptions};
use crate::import::{import_reader, ImportOptions, ImportSummary, NoProgress};
use crate::queries::{self, CivilIdentity, ContactUpdate, RegistryError};
use caducee_core::clock::Clock;
use caducee_core::ids::IdNatPs;
use caducee_store::Store;
use std::sync::Arc;

/// Synthetic rows generated at first start.
pub const DEMO_ROWS: u64 = 5_000;
const DEMO_SEED: u64 = 2026;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("génération : {0}")]
    Generate(#[from] std::io::Error),
    #[error("persona invalide : {0}")]
    Persona(String),
}

/// Loads the demo registry when the registry is empty; always (re)asserts the personas'
/// contact coordinates and civil identity. Returns the import summary when data was loaded.
pub async fn seed(store: &Store, clock: &dyn Clock) -> Result<Option<ImportSummary>, DemoError> {
    let empty = queries::stats(store).await?.persons == 0;
    let mut summary = None;
    if empty {
        let mut data = Vec::with_capacity(2 << 20);
        generate_personne_activite(
            &GenerateOptions {
                rows: DEMO_ROWS,
                seed: DEMO_SEED,
                crlf: false,
            },
            &mut data,
        )?;
        data.extend_from_slice(personas_rows().as_bytes());
        let total = data.len() as u64;
        let report = std::env::temp_dir().join("caducee-demo-import.report.tsv");
        summary = Some(
            import_reader(
                store,
                clock,
                "demo",
                Box::new(std::io::Cursor::new(data)),
                total,
                report,
                &ImportOptions::default(),
                Arc::new(NoProgress),
            )
            .await?,
        );
    }
    for persona in demo_personas() {
        let id = IdNatPs::parse(&persona.idnat).map_err(|e| DemoError::Persona(e.to_string()))?;
        let known = queries::get_professional(store, &id).await?;
        if known.as_ref().and_then(|p| p.contact.as_ref()).is_none() {
            queries::set_contact(
                store,
                clock,
                &id,
                &ContactUpdate {
                    email: persona.email.to_string(),
                    mobile: persona.mobile.to_string(),
                    address: None,
                    actor: "system:demo".to_string(),
                    evidence: None,
                },
            )
            .await?;
        }
        if known
            .as_ref()
            .and_then(|p| p.civil_identity.as_ref())
            .is_none()
        {
            queries::set_civil_identity(
                store,
                clock,
                &id,
                &CivilIdentity {
                    birth_name: persona.last_name.to_string(),
                    first_names: persona.first_name.to_string(),
                    birth_date: persona.birth_date.to_string(),
                    birth_place: String::new(),
                    sex: if persona.civility == "MME" { "F" } else { "M" }.to_string(),
                },
            )
            .await?;
        }
    }
    Ok(summary)
}
