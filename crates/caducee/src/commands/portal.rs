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
    /// Imports accounts of an older system: one line `identifier;email;password_hash[;rpps]`
    /// each (bcrypt, Django PBKDF2, PHC PBKDF2 or {SSHA}; the RPPS number, when known, binds
    /// the account to that professional); on a registration-form portal each logs in with its
    /// old password, at once replaced by argon2id, and goes through the registration.
    ImportAccounts {
        /// The portal (a `[[portals]]` slug or a demo portal) with local accounts.
        slug: String,
        file: std::path::PathBuf,
        /// Who imports, for the audit trail.
        #[arg(long, default_value = "cli")]
        operator: String,
    },
    /// A portal's terms of use.
    Terms {
        #[command(subcommand)]
        what: TermsCommand,
    },
}

#[derive(Subcommand)]
pub enum TermsCommand {
    /// Publishes a new version, which every professional must accept at their next login.
    /// A published version never changes.
    Publish {
        slug: String,
        #[arg(long)]
        version: String,
        /// The text (UTF-8).
        #[arg(long)]
        file: std::path::PathBuf,
        /// Who publishes, for the audit trail.
        #[arg(long, default_value = "cli")]
        operator: String,
    },
}

pub async fn run(mut config: Config, what: PortalCommand) -> anyhow::Result<ExitCode> {
    match what {
        PortalCommand::ImportAccounts {
            slug,
            file,
            operator,
        } => import_accounts(config, &slug, &file, &operator).await,
        PortalCommand::Terms {
            what:
                TermsCommand::Publish {
                    slug,
                    version,
                    file,
                    operator,
                },
        } => publish_terms(config, &slug, &version, &file, &operator).await,
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

async fn import_accounts(
    mut config: Config,
    slug: &str,
    file: &std::path::Path,
    operator: &str,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let portal = match known_portal(&mut config, slug) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    if !portal.offers(LoginMeans::Local) {
        eprintln!("erreur : le portail « {slug} » n'a pas de comptes locaux (login = [\"local\"])");
        return Ok(ExitCode::from(2));
    }
    let reader =
        std::fs::File::open(file).with_context(|| format!("lecture de {}", file.display()))?;
    let store = crate::commands::open_store(&config).await?;
    let now = caducee_core::clock::Clock::unix(&caducee_core::clock::SystemClock);
    let report = caducee_portals::legacy::import(
        &store,
        slug,
        std::io::BufReader::new(reader),
        &format!("operator:{operator}"),
        now,
    )
    .await?;
    store.close().await;
    for (line, reason) in &report.refused {
        eprintln!("{}:{line} : {reason}", file.display());
    }
    println!(
        "{} compte(s) importé(s), {} mis à jour, {} déjà migré(s) laissé(s) tel(s) quel(s), {} ligne(s) refusée(s)",
        report.imported,
        report.updated,
        report.kept,
        report.refused.len()
    );
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The portal `slug` among those configured (demo ones included), or the exit code 2 with
/// the reason printed.
fn known_portal(
    config: &mut Config,
    slug: &str,
) -> Result<caducee_portals::PortalConfig, ExitCode> {
    // The demo portals are known names even when this command runs without `--demo`.
    config.demo = true;
    config
        .portals_served()
        .into_iter()
        .find(|p| p.slug == slug)
        .ok_or_else(|| {
            eprintln!("erreur : aucun portail « {slug} » (voir caducee portal list --demo)");
            ExitCode::from(2)
        })
}

async fn publish_terms(
    mut config: Config,
    slug: &str,
    version: &str,
    file: &std::path::Path,
    operator: &str,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    if let Err(code) = known_portal(&mut config, slug) {
        return Ok(code);
    }
    let body = std::fs::read_to_string(file)
        .with_context(|| format!("lecture de {} (texte UTF-8 attendu)", file.display()))?;
    let store = crate::commands::open_store(&config).await?;
    let now = caducee_core::clock::Clock::unix(&caducee_core::clock::SystemClock);
    let published = caducee_portals::terms::publish(
        &store,
        slug,
        version,
        &body,
        &format!("operator:{operator}"),
        now,
    )
    .await?;
    store.close().await;
    match published {
        Ok(caducee_portals::terms::Published::New(t)) => {
            println!(
                "conditions « {} » publiées pour {slug} (sha256 {}) : à accepter à la prochaine connexion",
                t.version, t.sha256
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(caducee_portals::terms::Published::Unchanged(t)) => {
            println!(
                "conditions « {} » déjà publiées à l'identique pour {slug}",
                t.version
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("erreur : {e}");
            Ok(ExitCode::from(2))
        }
    }
}
