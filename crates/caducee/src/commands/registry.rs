//! `registry get | stats | contact`.

use crate::commands::open_store;
use crate::config::Config;
use caducee_core::clock::system_clock;
use caducee_registry::queries::{self, CivilStatusUpdate, ContactUpdate, RegistryError};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// One professional as JSON (RPPS with or without the 8, idNat, or ADELI).
    Get { id: String },
    /// Counts as JSON.
    Stats,
    /// Sets a professional's contact coordinates on their behalf (audited agency action, REG-11).
    Contact {
        id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        mobile: String,
        /// Correspondence address (where the CPS card is mailed).
        #[arg(long)]
        address: Option<String>,
        /// Who acts (recorded in the audit trail); default: the system user.
        #[arg(long)]
        operator: Option<String>,
        /// The evidence seen (e.g. "copie de la pièce d'identité").
        #[arg(long)]
        evidence: Option<String>,
    },
    /// An agency operator sets a professional's civil status (the public extract has no
    /// birth dates; the portals' account creation checks them). Audited.
    Identity {
        id: String,
        /// Birth date, YYYY-MM-DD.
        #[arg(long)]
        birth_date: String,
        /// INSEE code of the commune of birth (e.g. 75056).
        #[arg(long)]
        birth_place: Option<String>,
        /// INSEE code of the country of birth (e.g. 99100 for France).
        #[arg(long)]
        birth_country: Option<String>,
        /// M or F.
        #[arg(long)]
        sex: Option<String>,
        /// Who acts (recorded in the audit trail); default: the system user.
        #[arg(long)]
        operator: Option<String>,
        /// The evidence seen (e.g. "copie de la pièce d'identité").
        #[arg(long)]
        evidence: Option<String>,
    },
}

pub async fn run(config: Config, command: RegistryCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let code = match command {
        RegistryCommand::Get { id } => {
            let id = queries::parse_id(&id)?;
            match queries::get_professional(&store, &id).await? {
                Some(p) => {
                    println!("{}", serde_json::to_string_pretty(&p)?);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!(
                        "erreur : {}",
                        RegistryError::NotFound(id.as_str().to_string())
                    );
                    ExitCode::from(3)
                }
            }
        }
        RegistryCommand::Stats => {
            println!(
                "{}",
                serde_json::to_string_pretty(&queries::stats(&store).await?)?
            );
            ExitCode::SUCCESS
        }
        RegistryCommand::Contact {
            id,
            email,
            mobile,
            address,
            operator,
            evidence,
        } => {
            let id = queries::parse_id(&id)?;
            let actor = operator_actor(operator);
            let update = ContactUpdate {
                email,
                mobile,
                address,
                actor,
                evidence,
            };
            match queries::set_contact(&store, system_clock().as_ref(), &id, &update).await {
                Ok(contact) => {
                    println!("{}", serde_json::to_string_pretty(&contact)?);
                    ExitCode::SUCCESS
                }
                Err(e @ (RegistryError::BadContact(_) | RegistryError::NotFound(_))) => {
                    eprintln!("erreur : {e}");
                    ExitCode::from(2)
                }
                Err(e) => return Err(e.into()),
            }
        }
        RegistryCommand::Identity {
            id,
            birth_date,
            birth_place,
            birth_country,
            sex,
            operator,
            evidence,
        } => {
            let id = queries::parse_id(&id)?;
            let update = CivilStatusUpdate {
                birth_date,
                birth_place,
                birth_country,
                sex,
                actor: operator_actor(operator),
                evidence,
            };
            match queries::set_civil_status(&store, system_clock().as_ref(), &id, &update).await {
                Ok(identity) => {
                    println!("{}", serde_json::to_string_pretty(&identity)?);
                    ExitCode::SUCCESS
                }
                Err(e @ RegistryError::BadIdentity(_)) => {
                    eprintln!("erreur : {e}");
                    ExitCode::from(2)
                }
                Err(e @ RegistryError::NotFound(_)) => {
                    eprintln!("erreur : {e}");
                    ExitCode::from(3)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    store.close().await;
    Ok(code)
}

/// `operator:NAME` for the audit trail: the `--operator` given, else the system user.
fn operator_actor(operator: Option<String>) -> String {
    format!(
        "operator:{}",
        operator
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "inconnu".to_string())
    )
}
