//! `caducee ecps …`: the e-CPS authenticator on the command line (DESIGN.md "e-CPS
//! protocol"): two-step activation (`activate start`, `activate finish`), `approve` for
//! scripts and tests, and `status`. The device state and its encrypted key live in the
//! `caducee_ecps` store; this module only reads arguments and prints French messages.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use caducee_ecps::{
    AuthenticatorError, DeviceState, DeviceStore, EcpsClient, EncryptedKey, PendingActivation,
};
use clap::{Args, Subcommand};

/// Where the device state lives.
#[derive(Args, Debug, Clone)]
pub struct StoreArg {
    /// Directory of the device state (default: ~/.config/caducee-ecps).
    #[arg(long, env = "CADUCEE_ECPS_STORE")]
    store: Option<PathBuf>,
}

impl StoreArg {
    fn open(&self) -> Result<DeviceStore, AuthenticatorError> {
        DeviceStore::locate(self.store.as_deref())
    }
}

#[derive(Subcommand)]
pub enum EcpsCommand {
    /// Activates the e-CPS of this device, in two steps.
    Activate {
        #[command(subcommand)]
        step: ActivateStep,
    },
    /// Answers the next pending request whose choices contain CODE.
    Approve {
        /// The 2-digit code shown by the service.
        #[arg(long)]
        code: String,
        /// File holding the e-CPS password (first line).
        #[arg(long)]
        password_file: PathBuf,
        /// Seconds to wait for a matching request.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Shows the device state kept on this device (no password needed, nothing sent).
    Status {
        #[command(flatten)]
        store: StoreArg,
    },
}

#[derive(Subcommand)]
pub enum ActivateStep {
    /// Asks the server to send the two activation codes (e-mail and SMS).
    Start {
        /// Public URL of the caducee server.
        #[arg(long)]
        server: String,
        /// RPPS (with or without the leading 8), ADELI or idNat_PS.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Confirms with the two codes and the new e-CPS password; registers this device.
    Finish {
        #[arg(long)]
        email_code: String,
        #[arg(long)]
        sms_code: String,
        /// File holding the new e-CPS password (first line).
        #[arg(long)]
        password_file: PathBuf,
        #[command(flatten)]
        store: StoreArg,
    },
}

/// The password: the file's first line, without its line ending.
fn read_password(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("lecture du fichier de mot de passe {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        anyhow::bail!("le fichier de mot de passe {} est vide", path.display());
    }
    Ok(line)
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[day]/[month]/[year] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

pub async fn run(command: EcpsCommand) -> anyhow::Result<ExitCode> {
    match command {
        EcpsCommand::Activate {
            step: ActivateStep::Start { server, id, store },
        } => {
            let store = store.open()?;
            let client = EcpsClient::new(&server)?;
            let started = client.start_activation(&id).await?;
            store.save_activation(&PendingActivation {
                server: client.server().to_string(),
                id,
                activation_id: started.activation_id,
                email_hint: started.email_hint.clone(),
                sms_hint: started.sms_hint.clone(),
                expires_at: started.expires_at,
            })?;
            println!("Un code a été envoyé par e-mail à {}", started.email_hint);
            println!("Un code a été envoyé par SMS au {}", started.sms_hint);
            println!(
                "Codes valables jusqu'au {} : terminez avec `caducee ecps activate finish --email-code … --sms-code … --password-file …`",
                date(started.expires_at)
            );
            Ok(ExitCode::SUCCESS)
        }
        EcpsCommand::Activate {
            step:
                ActivateStep::Finish {
                    email_code,
                    sms_code,
                    password_file,
                    store,
                },
        } => {
            let store = store.open()?;
            let pending = store.load_activation()?;
            let password = read_password(&password_file)?;
            let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
            // Sealed before the call, so a registered device always has its key on disk.
            let sealed = EncryptedKey::seal(&key, &password)?;
            let client = EcpsClient::new(&pending.server)?;
            let created = client
                .confirm_activation(
                    &pending.activation_id,
                    email_code.trim(),
                    sms_code.trim(),
                    &password,
                    &key.public_key(),
                )
                .await?;
            // The server's idNat (the user may have typed an RPPS without its 8): read with
            // a first signed call, which also checks the registration end to end.
            let idnat = match client.device(&created.device_id, &key).status().await {
                Ok(status) => status.idnat,
                Err(_) => pending.id.clone(),
            };
            store.save_device(&DeviceState {
                server: pending.server.clone(),
                idnat,
                device_id: created.device_id,
                expires_at: created.expires_at,
                key: sealed,
            })?;
            store.clear_activation()?;
            println!(
                "e-CPS activée sur cet appareil, valable jusqu'au {}.",
                date(created.expires_at)
            );
            Ok(ExitCode::SUCCESS)
        }
        EcpsCommand::Approve {
            code,
            password_file,
            wait,
            store,
        } => approve(&store.open()?, code.trim(), &password_file, wait).await,
        EcpsCommand::Status { store } => {
            let store = store.open()?;
            let device = store.load_device()?;
            println!("Serveur : {}", device.server);
            println!("Identifiant : {}", device.idnat);
            println!("Appareil : {}", device.device_id);
            println!("Valable jusqu'au : {}", date(device.expires_at));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn approve(
    store: &DeviceStore,
    code: &str,
    password_file: &Path,
    wait: u64,
) -> anyhow::Result<ExitCode> {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
        anyhow::bail!("code invalide : deux chiffres attendus (celui affiché par le service)");
    }
    let device = store.load_device()?;
    let password = read_password(password_file)?;
    // A wrong password stops here: nothing is sent to the server.
    let key = device.key.open(&password)?;
    let client = EcpsClient::new(&device.server)?.device(&device.device_id, &key);
    let deadline = Instant::now() + Duration::from_secs(wait);
    let request = loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        let pending = client.pending(left).await?;
        if let Some(r) = pending
            .into_iter()
            .find(|r| r.choices.iter().any(|c| c == code))
        {
            break r;
        }
        if Instant::now() >= deadline {
            eprintln!("Aucune demande en attente ne propose le code {code}.");
            return Ok(ExitCode::from(3));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let outcome = client.answer(&request.id, code, &password).await?;
    match outcome.outcome.as_str() {
        "approved" => {
            println!("Demande de « {} » approuvée.", request.service);
            Ok(ExitCode::SUCCESS)
        }
        "denied" => {
            eprintln!(
                "Demande de « {} » refusée : le code {code} n'est pas celui affiché par le service.",
                request.service
            );
            Ok(ExitCode::from(4))
        }
        "wrong_password" => {
            eprintln!(
                "Mot de passe e-CPS refusé par le serveur ({} essai(s) restant(s) avant blocage).",
                outcome.remaining.unwrap_or(0)
            );
            Ok(ExitCode::from(5))
        }
        other => anyhow::bail!("réponse inattendue du serveur e-CPS : {other}"),
    }
}
