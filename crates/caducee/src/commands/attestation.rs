//! `caducee attestation verify FILE [--jwks KEYS.json] [--json]`: checks an attestation PDF
//! (REG-08) with the same function as `/verifier/{code}`: the signed content embedded in
//! the PDF against this instance's keys (derived from its instance secret), then whether the
//! registration is still current in its database. With `--jwks` (the keys another instance
//! publishes at `/verifier/cles`), nothing but the file and the keys is read: offline, no
//! database, so "current" is not judged.
//!
//! Exit code: 0 genuine (current or not: both printed), 1 not genuine, 2 not an attestation
//! or unreadable input.
//!
//! `caducee attestation issue ID --out FILE`: an operator issues the attestation of a
//! professional (RPPS with or without the 8, idNat), as eRPPS does for the professional
//! (audited as `operator:$USER`); prints its code and verification URL.

use crate::commands::open_store;
use crate::config::Config;
use caducee_attestation::{check, pdf, AttestationError, Attestations, Jwks, Signer, Verdict};
use caducee_core::clock::system_clock;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AttestationCommand {
    /// Issues the attestation of a professional into a PDF file (prints its code).
    Issue {
        /// RPPS number (with or without the 8), or idNat.
        id: String,
        /// Where to write the PDF.
        #[arg(long)]
        out: PathBuf,
        /// Language of the PDF: fr (default) or en.
        #[arg(long, default_value = "fr")]
        lang: String,
    },
    /// Checks an attestation PDF: genuine or forged, registration current or not.
    Verify {
        /// The attestation (PDF).
        file: PathBuf,
        /// Public keys (JWKS) of the issuing instance, as served at /verifier/cles: checks
        /// offline, without this instance's database.
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// Prints the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: AttestationCommand) -> anyhow::Result<ExitCode> {
    match command {
        AttestationCommand::Verify { file, jwks, json } => verify(config, file, jwks, json).await,
        AttestationCommand::Issue { id, out, lang } => issue(config, &id, &out, &lang).await,
    }
}

async fn issue(config: Config, id: &str, out: &Path, lang: &str) -> anyhow::Result<ExitCode> {
    let Some(locale) = caducee_attestation::Locale::parse(lang) else {
        eprintln!("erreur : langue « {lang} » inconnue : fr ou en");
        return Ok(ExitCode::from(2));
    };
    let idnat = match caducee_registry::queries::parse_id(id) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("erreur : {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let store = open_store(&config).await?;
    let att = Attestations::new(
        store.clone(),
        system_clock(),
        &config.public_url(),
        &config.instance_secret()?,
    )?;
    let actor = format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "inconnu".to_string())
    );
    let issued = att.issue(idnat.as_str(), &actor, locale).await;
    store.close().await;
    let issued = match issued {
        Ok(i) => i,
        Err(AttestationError::UnknownProfessional(_)) => {
            eprintln!("erreur : aucun professionnel {id} dans le répertoire");
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    };
    std::fs::write(out, &issued.pdf)
        .map_err(|e| anyhow::anyhow!("écriture de {} : {e}", out.display()))?;
    println!(
        "{}",
        serde_json::json!({
            "file": out.display().to_string(),
            "code": issued.code,
            "verifyUrl": att.verify_url(&issued.code),
        })
    );
    Ok(ExitCode::SUCCESS)
}

async fn verify(
    config: Config,
    file: PathBuf,
    jwks: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("erreur : {} : {e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let jws = match pdf::extract(&bytes) {
        Ok(j) => j,
        Err(e) => {
            eprintln!(
                "erreur : {} n'est pas une attestation de caducee : {e}",
                file.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let verdict = match jwks {
        Some(path) => {
            let keys: Jwks = match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("erreur : {} : clés illisibles ({e})", path.display());
                    return Ok(ExitCode::from(2));
                }
            };
            check(&jws, &keys, None).await?
        }
        None => {
            if let Some(path) = missing_sqlite_file(&config.database_url) {
                eprintln!(
                    "erreur : aucune base de données à {path} : indiquez celle de l'instance \
                     (--database-url, CADUCEE_DATABASE_URL) ou ses clés publiques (--jwks)"
                );
                return Ok(ExitCode::from(2));
            }
            let store = open_store(&config).await?;
            let keys = Signer::from_instance_secret(&config.instance_secret()?)?.jwks();
            let verdict = check(&jws, &keys, Some(&store)).await;
            store.close().await;
            verdict?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&as_json(&verdict))?);
    } else {
        print_verdict(&verdict);
    }
    Ok(if verdict.genuine() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The SQLite file of `url` when it does not exist (verifying must not create an instance).
fn missing_sqlite_file(url: &str) -> Option<String> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (!std::path::Path::new(path).exists()).then(|| path.to_string())
}

fn as_json(v: &Verdict) -> serde_json::Value {
    serde_json::json!({
        "genuine": v.genuine(),
        "reason": v.forgery.as_ref().map(|f| f.to_string()),
        "current": v.current,
        "attested": v.attested,
    })
}

fn print_verdict(v: &Verdict) {
    let Some(a) = &v.attested else {
        let why = v
            .forgery
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_default();
        println!("NON AUTHENTIQUE : {why}. Ne vous fiez pas à ce document.");
        return;
    };
    println!(
        "AUTHENTIQUE : attestation délivrée par {} le {} (code {}).",
        a.iss,
        caducee_core::date_fr::date_time(a.issued_at),
        caducee_attestation::code::grouped(&a.code)
    );
    let number = if a.is_rpps() { "RPPS" } else { "ADELI" };
    println!(
        "Professionnel : {} — {number} {}",
        a.display_name(),
        a.identifier
    );
    println!("Professions : {}", a.professions.join(", "));
    println!(
        "{}",
        match v.current {
            Some(true) => "Enregistrement : toujours en cours aujourd'hui.",
            Some(false) => "Enregistrement : N'EST PLUS EN COURS aujourd'hui (aucune activité en cours au répertoire).",
            None => "Enregistrement : non vérifié (vérification hors ligne, sans la base de l'instance).",
        }
    );
}
