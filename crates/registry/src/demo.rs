//! The demo registry of `caducee serve --demo`: a few thousand synthetic professionals plus
//! the named personas the README lists (known birth dates, e-mails and mobiles), loaded
//! through the real import path, and one persona with an RPPS number and a civil status but
//! no contact coordinates (REG-12: `generate::persona_without_contact`). Seeding is idempotent: a restart adds nothing. On a
//! registry that holds an imported extract, only the missing personas are added, and
//! nothing imported is ended or rewritten.

use crate::format::{pa, FileKind};
use crate::generate::{
    demo_personas, generate_personne_activite, persona_without_contact,
    persona_without_contact_row, personas_rows, GenerateOptions, Persona,
};
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

/// Loads the demo registry when the registry is empty. On a registry that already holds
/// data (an imported extract, an earlier demo), adds only the personas it lacks (a persona
/// is lacking when no active activity carries its identifier: never seeded, or ended by the
/// import of an extract that does not list it), without ending or rewriting anything else.
/// Then (re)asserts the personas' contact coordinates and civil identity when missing.
/// Returns the import summary when data was loaded.
pub async fn seed(store: &Store, clock: &dyn Clock) -> Result<Option<ImportSummary>, DemoError> {
    let empty = queries::stats(store).await?.persons == 0;
    if !empty {
        return seed_personas(store, clock).await;
    }
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
    data.extend_from_slice(persona_without_contact_row().as_bytes());
    load(store, clock, data, ImportOptions::default()).await
}

/// Adds only the personas the registry lacks (all of them on an empty registry), without
/// ending or rewriting anything else, then (re)asserts their contacts and civil identity.
/// What tests of other components use: the personas in a second, not 5,000 rows.
pub async fn seed_personas(
    store: &Store,
    clock: &dyn Clock,
) -> Result<Option<ImportSummary>, DemoError> {
    let lacking = lacking_personas(store).await?;
    let mut data = Vec::new();
    if !lacking.is_empty() {
        data.extend_from_slice(FileKind::PersonneActivite.header_line().as_bytes());
        data.push(b'\n');
        let rows = personas_rows() + &persona_without_contact_row();
        for line in rows.lines() {
            if line
                .split('|')
                .nth(pa::IDNAT)
                .is_some_and(|idnat| lacking.iter().any(|l| l == idnat))
            {
                data.extend_from_slice(line.as_bytes());
                data.push(b'\n');
            }
        }
    }
    // The registry's other rows are not the demo's: they are not the personas' file's to
    // end.
    let options = ImportOptions {
        keep_unseen: true,
        ..ImportOptions::default()
    };
    load(store, clock, data, options).await
}

/// Imports `data` (when any), then asserts the personas' contacts and civil identity.
async fn load(
    store: &Store,
    clock: &dyn Clock,
    data: Vec<u8>,
    options: ImportOptions,
) -> Result<Option<ImportSummary>, DemoError> {
    let mut summary = None;
    if !data.is_empty() {
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
                &options,
                Arc::new(NoProgress),
            )
            .await?,
        );
    }
    // The persona without contact coordinates gets its civil status only.
    let without_contact = persona_without_contact();
    for persona in demo_personas().into_iter().chain(without_contact.clone()) {
        let id = IdNatPs::parse(&persona.idnat).map_err(|e| DemoError::Persona(e.to_string()))?;
        let known = queries::get_professional(store, &id).await?;
        if Some(&persona) != without_contact.as_ref()
            && known.as_ref().and_then(|p| p.contact.as_ref()).is_none()
        {
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
                    birth_country: String::new(),
                    sex: if persona.civility == "MME" { "F" } else { "M" }.to_string(),
                },
            )
            .await?;
        }
    }
    Ok(summary)
}

/// The idNat of the personas without an active activity in the registry.
async fn lacking_personas(store: &Store) -> Result<Vec<String>, RegistryError> {
    let mut lacking = Vec::new();
    let all: Vec<Persona> = demo_personas()
        .into_iter()
        .chain(persona_without_contact())
        .collect();
    for persona in all {
        let active =
            sqlx::query("SELECT 1 FROM reg_activity WHERE idnat = $1 AND ended_at IS NULL")
                .bind(&persona.idnat)
                .fetch_optional(store.pool())
                .await?;
        if active.is_none() {
            lacking.push(persona.idnat);
        }
    }
    Ok(lacking)
}
