//! `caducee pki init | issue-card | revoke | crl`: the test certificate authority of the CPS
//! cards (PSC-06). `init --out DIR` writes `DIR/ca.pem` (what the server trusts through
//! `card_ca_file`) and `DIR/ca-key.pem` (0600) and records the authority in the database;
//! `issue-card` signs a card for a registry person as a PKCS#12 file; `revoke` is seen by
//! the card login at once (the state is a row); `crl` prints the revocation list in PEM.
//! Every action is audited as `operator:$USER`.

use crate::commands::open_store;
use crate::config::Config;
use caducee_core::clock::system_clock;
use caducee_idp::card::{pki, Authority};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Creates the test authority: DIR/ca.pem and DIR/ca-key.pem (0600).
    Init {
        #[arg(long)]
        out: PathBuf,
    },
    /// Issues a card certificate (subject CN = the idNat) as a PKCS#12 file, valid 3 years.
    IssueCard {
        /// RPPS, ADELI or idNat of a professional of the registry.
        id: String,
        #[arg(long)]
        out: PathBuf,
        /// File holding the .p12 password; without it, one is generated and printed.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Revokes a card (its serial) or every card of a professional (RPPS, ADELI, idNat).
    Revoke {
        /// A card serial (32 hex digits) or an identifier.
        id: String,
    },
    /// Prints the certificate revocation list (PEM).
    Crl {
        /// Writes it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn actor() -> String {
    format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "inconnu".to_string())
    )
}

/// A password for a .p12 handed to a person: 4 groups of 5 letters and digits.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub async fn run(config: Config, command: PkiCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let now = system_clock().unix();
    let code = match command {
        PkiCommand::Init { out } => match pki::init(&store, now, &out, &actor()).await {
            Ok(ca) => {
                println!(
                        "Autorité créée : {} (clé : {}). Faites-la reconnaître par le serveur : card_ca_file = \"{}\" (CADUCEE_CARD_CA_FILE).",
                        ca.display(),
                        out.join("ca-key.pem").display(),
                        ca.display()
                    );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("erreur : {e}");
                ExitCode::from(2)
            }
        },
        PkiCommand::IssueCard {
            id,
            out,
            password_file,
        } => issue(&config, &store, now, &id, &out, password_file.as_deref()).await?,
        PkiCommand::Revoke { id } => {
            match pki::revoke(&store, now, &id, "operator", &actor()).await {
                Ok(serials) if serials.is_empty() => {
                    println!("Aucune carte active à révoquer pour {id}.");
                    ExitCode::SUCCESS
                }
                Ok(serials) => {
                    for s in serials {
                        println!("Carte révoquée : {s}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("erreur : {e}");
                    ExitCode::from(3)
                }
            }
        }
        PkiCommand::Crl { out } => {
            let authority = match Authority::load(&store, config.card_ca_file.as_deref()).await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("erreur : {e}");
                    store.close().await;
                    return Ok(ExitCode::from(2));
                }
            };
            let crl = authority.crl(&store, now).await?;
            match out {
                Some(path) => std::fs::write(&path, crl.as_bytes())?,
                None => print!("{crl}"),
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

async fn issue(
    config: &Config,
    store: &caducee_store::Store,
    now: i64,
    id: &str,
    out: &Path,
    password_file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let idnat = match caducee_registry::queries::parse_id(id) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("erreur : {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let (password, printed) = match password_file {
        Some(f) => (std::fs::read_to_string(f)?.trim().to_string(), false),
        None => (generate_password(), true),
    };
    if password.is_empty() {
        eprintln!("erreur : le fichier de mot de passe est vide");
        return Ok(ExitCode::from(2));
    }
    let authority = match Authority::load(store, config.card_ca_file.as_deref()).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("erreur : {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let issued = match authority
        .issue_card(
            store,
            now,
            &idnat,
            (now, now + pki::CARD_VALIDITY_SECS),
            &password,
            &actor(),
        )
        .await
    {
        Ok(c) => c,
        Err(e @ caducee_idp::card::CardError::UnknownPerson(_)) => {
            eprintln!("erreur : {e}");
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    };
    pki::write_private(out, &issued.p12)?;
    println!(
        "Carte émise pour {} : numéro de série {}, valable jusqu'au {} — {}",
        issued.idnat,
        issued.serial,
        time::OffsetDateTime::from_unix_timestamp(issued.not_after)
            .map(|d| d.date().to_string())
            .unwrap_or_default(),
        out.display()
    );
    if printed {
        println!("Mot de passe du fichier .p12 : {password}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The card host of `serve` (PSC-06), bound before the identity provider starts so that
/// the login page knows its URL (`config.idp.card_url`). With `--demo`: a test authority in
/// the data directory (`pki/`), a card for the first persona (`pki/demo-card.p12`, its
/// password added to `notices`, printed after the listen line, and kept in
/// `pki/demo-card.password`), the listener on the main
/// port plus 363 unless `card_listen` says otherwise. Without `card_listen` (and outside
/// demo mode): no card host.
pub async fn prepare_card_host(
    config: &mut Config,
    store: &caducee_store::Store,
    main: std::net::SocketAddr,
    notices: &mut Vec<String>,
) -> anyhow::Result<
    Option<(
        caducee_idp::card::CardListener,
        caducee_idp::card::listener::Trust,
    )>,
> {
    use anyhow::Context;
    let now = system_clock().unix();
    if config.demo && config.card_ca_file.is_none() {
        let dir = config.data_dir().join("pki");
        let ca = dir.join("ca.pem");
        if !ca.exists() {
            pki::init(store, now, &dir, "system:demo")
                .await
                .context("autorité de démonstration des cartes CPS")?;
        }
        let authority = Authority::load(store, Some(&ca)).await?;
        let card = dir.join("demo-card.p12");
        if !card.exists() {
            if let Some(persona) = caducee_registry::generate::demo_personas().first() {
                let idnat = caducee_core::ids::IdNatPs::parse(&persona.idnat)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let password = generate_password();
                let issued = authority
                    .issue_card(
                        store,
                        now,
                        &idnat,
                        (now, now + pki::CARD_VALIDITY_SECS),
                        &password,
                        "system:demo",
                    )
                    .await?;
                pki::write_private(&card, &issued.p12)?;
                pki::write_private(&dir.join("demo-card.password"), password.as_bytes())?;
            }
        }
        if let Ok(password) = std::fs::read_to_string(dir.join("demo-card.password")) {
            notices.push(format!(
                "carte CPS de démonstration : {} (mot de passe : {}) ; autorité : {}",
                card.display(),
                password.trim(),
                ca.display()
            ));
        }
        config.card_ca_file = Some(ca.clone());
        config.idp.card_demo_authority = Some(ca);
        if config.card_listen.is_none() {
            config.card_listen = Some(format!("{}:{}", main.ip(), main.port().saturating_add(363)));
        }
    }
    let Some(listen) = config.card_listen.clone() else {
        return Ok(None);
    };
    let ca_file = config.card_ca_file.clone().context(
        "card_listen demande card_ca_file (CADUCEE_CARD_CA_FILE) : le ca.pem de « caducee pki init »",
    )?;
    let (cert_pem, key_pem) = match (&config.card_cert_file, &config.card_key_file) {
        (Some(c), Some(k)) => (
            std::fs::read_to_string(c).with_context(|| format!("lecture de {}", c.display()))?,
            std::fs::read_to_string(k).with_context(|| format!("lecture de {}", k.display()))?,
        ),
        _ => {
            let authority = Authority::load(store, Some(&ca_file)).await.context(
                "certificat du serveur des cartes : donnez card_cert_file et card_key_file, \
                 ou placez ca-key.pem à côté de card_ca_file",
            )?;
            let public = url::Url::parse(&config.public_url()).ok();
            let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string()];
            if let Some(h) = public.as_ref().and_then(|u| u.host_str()) {
                if !hosts.iter().any(|x| x == h) {
                    hosts.insert(0, h.to_string());
                }
            }
            authority.server_cert(now, &hosts)?
        }
    };
    let (listener, trust) =
        caducee_idp::card::CardListener::bind(&caducee_idp::card::CardListenerConfig {
            listen,
            ca_file,
            cert_pem,
            key_pem,
        })
        .await?;
    if config.idp.card_url.is_none() {
        let host = url::Url::parse(&config.public_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| listener.local().ip().to_string());
        config.idp.card_url = Some(format!("https://{host}:{}", listener.local().port()));
    }
    Ok(Some((listener, trust)))
}
