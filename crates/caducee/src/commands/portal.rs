//! `caducee portal list`: the portals the configuration serves (with `--demo`, the demo
//! ones too), checked as `serve` checks them.

use crate::config::Config;
use caducee_portals::config::validate_all;
use caducee_portals::{AccountPolicy, LoginMeans};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PortalCommand {
    /// Lists the configured portals: slug, name, login means, accounts, address.
    List {
        /// Include the demo portals, as `serve --demo` does.
        #[arg(long)]
        demo: bool,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(mut config: Config, what: PortalCommand) -> anyhow::Result<ExitCode> {
    match what {
        PortalCommand::List { demo, json } => {
            config.demo |= demo;
            let portals = config.portals_served();
            if let Err(e) = validate_all(&portals) {
                eprintln!("erreur : configuration des portails : {e}");
                return Ok(ExitCode::from(2));
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&portals)?);
                return Ok(ExitCode::SUCCESS);
            }
            if portals.is_empty() {
                println!(
                    "Aucun portail configuré ([[portals]] du fichier de configuration, ou --demo)."
                );
                return Ok(ExitCode::SUCCESS);
            }
            let base = config.public_url();
            println!(
                "{:<10} {:<28} {:<12} {:<16} adresse",
                "slug", "nom", "connexion", "comptes"
            );
            for p in &portals {
                let login = p
                    .login
                    .iter()
                    .map(|m| match m {
                        LoginMeans::Psc => "psc",
                        LoginMeans::Local => "local",
                    })
                    .collect::<Vec<_>>()
                    .join("+");
                let accounts = match p.accounts {
                    AccountPolicy::None => "-",
                    AccountPolicy::RegistryCode => "registry-code",
                    AccountPolicy::RegistrationForm => "registration-form",
                    AccountPolicy::AfterPsc => "after-psc",
                };
                println!(
                    "{:<10} {:<28} {:<12} {:<16} {base}{}",
                    p.slug,
                    p.name,
                    login,
                    accounts,
                    p.base()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
