//! `caducee ecps …`: the e-CPS authenticator on the command line (DESIGN.md "e-CPS
//! protocol"): two-step activation (`activate start`, `activate finish`), `approve` for
//! scripts and tests, and `status`. The device state and its encrypted key live in the
//! `caducee_ecps` store; this module only reads arguments and prints French messages.

use std::collections::HashSet;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use caducee_ecps::{
    AuthenticatorError, DeviceClient, DeviceState, DeviceStore, EcpsClient, EncryptedKey,
    PendingActivation, RequestItem,
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
    /// Activates the e-CPS of this device: interactive without a step, or in two steps.
    Activate {
        #[command(subcommand)]
        step: Option<ActivateStep>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Waits for authentication requests and answers them interactively.
    Watch {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Answers the pending request whose choices contain CODE; refuses when several do,
    /// unless --service or --request says which.
    Approve {
        /// The 2-digit code shown by the service.
        #[arg(long)]
        code: String,
        /// Only a request of this service (its name as the device shows it, any case).
        #[arg(long)]
        service: Option<String>,
        /// Only this request (its id).
        #[arg(long)]
        request: Option<String>,
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

/// What the professional reads: Paris time.
fn date(unix: i64) -> String {
    caducee_core::date_fr::date_time(unix)
}

pub async fn run(command: EcpsCommand) -> anyhow::Result<ExitCode> {
    match command {
        EcpsCommand::Activate { step: None, store } => activate_interactive(&store.open()?).await,
        EcpsCommand::Activate {
            step: Some(ActivateStep::Start { server, id, store }),
            ..
        } => {
            let started = activate_start(&store.open()?, &server, id).await?;
            println!(
                "Codes valables jusqu'au {} : terminez avec `caducee ecps activate finish --email-code … --sms-code … --password-file …`",
                date(started.expires_at)
            );
            Ok(ExitCode::SUCCESS)
        }
        EcpsCommand::Activate {
            step:
                Some(ActivateStep::Finish {
                    email_code,
                    sms_code,
                    password_file,
                    store,
                }),
            ..
        } => {
            let password = read_password(&password_file)?;
            activate_finish(&store.open()?, &email_code, &sms_code, &password).await?;
            Ok(ExitCode::SUCCESS)
        }
        EcpsCommand::Watch { store } => watch(&store.open()?).await,
        EcpsCommand::Approve {
            code,
            service,
            request,
            password_file,
            wait,
            store,
        } => {
            let wanted = Wanted {
                code: code.trim().to_string(),
                service: service.map(|s| s.trim().to_string()),
                request: request.map(|r| r.trim().to_string()),
            };
            approve(&store.open()?, &wanted, &password_file, wait).await
        }
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

/// First activation step: asks for the codes, keeps the pending activation, prints the hints.
async fn activate_start(
    store: &DeviceStore,
    server: &str,
    id: String,
) -> anyhow::Result<PendingActivation> {
    let client = EcpsClient::new(server)?;
    let started = client.start_activation(&id).await?;
    let pending = PendingActivation {
        server: client.server().to_string(),
        id,
        activation_id: started.activation_id,
        email_hint: started.email_hint,
        sms_hint: started.sms_hint,
        expires_at: started.expires_at,
    };
    store.save_activation(&pending)?;
    println!("Un code a été envoyé par e-mail à {}", pending.email_hint);
    println!("Un code a été envoyé par SMS au {}", pending.sms_hint);
    Ok(pending)
}

/// Second activation step: a new key sealed with `password`, registered with both codes.
async fn activate_finish(
    store: &DeviceStore,
    email_code: &str,
    sms_code: &str,
    password: &str,
) -> anyhow::Result<()> {
    let pending = store.load_activation()?;
    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    // Sealed before the call, so a registered device always has its key on disk.
    let sealed = EncryptedKey::seal(&key, password)?;
    let client = EcpsClient::new(&pending.server)?;
    let created = client
        .confirm_activation(
            &pending.activation_id,
            email_code.trim(),
            sms_code.trim(),
            password,
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
    Ok(())
}

/// Shortest e-CPS password accepted at activation.
const MIN_PASSWORD_CHARS: usize = 8;

/// `caducee ecps activate` without a step: the same two steps, asked on the terminal.
async fn activate_interactive(store: &DeviceStore) -> anyhow::Result<ExitCode> {
    let mut input = Input::new();
    let server = input
        .ask("Adresse du serveur caducee [http://127.0.0.1:8080] : ")
        .await?;
    let server = if server.is_empty() {
        "http://127.0.0.1:8080".to_string()
    } else {
        server
    };
    let id = input
        .ask_non_empty("Identifiant (RPPS, ADELI ou idNat_PS) : ")
        .await?;
    let pending = activate_start(store, &server, id).await?;
    println!("Codes valables jusqu'au {}.", date(pending.expires_at));
    let email_code = input.ask_non_empty("Code reçu par e-mail : ").await?;
    let sms_code = input.ask_non_empty("Code reçu par SMS : ").await?;
    let password = loop {
        let first = input.secret("Nouveau mot de passe e-CPS : ").await?;
        if first.chars().count() < MIN_PASSWORD_CHARS {
            eprintln!("Mot de passe trop court : au moins {MIN_PASSWORD_CHARS} caractères.");
            continue;
        }
        let second = input.secret("Confirmez le mot de passe : ").await?;
        if first != second {
            eprintln!("Les deux mots de passe ne correspondent pas, recommencez.");
            continue;
        }
        break first;
    };
    activate_finish(store, &email_code, &sms_code, &password).await?;
    Ok(ExitCode::SUCCESS)
}

/// Line input for the interactive commands. Lines are read by one helper thread, one line
/// per request, so a read abandoned at a timeout is picked up by the next `line()` and no
/// read competes with a hidden password prompt on the terminal.
struct Input {
    tty: bool,
    want: std::sync::mpsc::Sender<()>,
    lines: tokio::sync::mpsc::UnboundedReceiver<Option<String>>,
    outstanding: bool,
}

impl Input {
    fn new() -> Input {
        let (want, want_rx) = std::sync::mpsc::channel::<()>();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            while want_rx.recv().is_ok() {
                let mut line = String::new();
                let got = match std::io::stdin().read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
                };
                let eof = got.is_none();
                if tx.send(got).is_err() || eof {
                    break;
                }
            }
        });
        Input {
            tty: std::io::stdin().is_terminal(),
            want,
            lines,
            outstanding: false,
        }
    }

    /// The next line of stdin, `None` at its end. Cancel-safe: an abandoned read is kept.
    async fn line(&mut self) -> Option<String> {
        if !self.outstanding {
            if self.want.send(()).is_err() {
                return None;
            }
            self.outstanding = true;
        }
        let got = self.lines.recv().await.flatten();
        self.outstanding = false;
        got
    }

    async fn ask(&mut self, prompt: &str) -> anyhow::Result<String> {
        print!("{prompt}");
        std::io::stdout().flush().ok();
        match self.line().await {
            Some(l) => Ok(l.trim().to_string()),
            None => anyhow::bail!("entrée terminée : abandon"),
        }
    }

    async fn ask_non_empty(&mut self, prompt: &str) -> anyhow::Result<String> {
        loop {
            let l = self.ask(prompt).await?;
            if !l.is_empty() {
                return Ok(l);
            }
            eprintln!("Réponse vide, recommencez.");
        }
    }

    /// A password: hidden on a terminal, a plain line otherwise (pipes, tests).
    async fn secret(&mut self, prompt: &str) -> anyhow::Result<String> {
        if self.tty && !self.outstanding {
            // Blocking on purpose: nothing else runs while the user types a password.
            return rpassword::prompt_password(prompt)
                .context("lecture du mot de passe sur le terminal");
        }
        print!("{prompt}");
        std::io::stdout().flush().ok();
        match self.line().await {
            Some(l) => Ok(l),
            None => anyhow::bail!("entrée terminée : abandon"),
        }
    }
}

/// A device sealed before the current cost (version 1, 19 MiB) is sealed again once its
/// password has opened it (issue 10, item 18). A failure only leaves the old seal in place.
fn upgrade_seal(
    store: &DeviceStore,
    device: &mut DeviceState,
    key: &p256::SecretKey,
    password: &str,
) {
    match store.upgrade_seal(device, key, password) {
        Ok(true) => eprintln!(
            "Clé de l'appareil protégée à nouveau, avec un coût plus élevé contre les essais de mots de passe hors ligne."
        ),
        Ok(false) => {}
        Err(e) => eprintln!(
            "Avertissement : la protection de la clé de l'appareil n'a pas pu être renforcée ({e})."
        ),
    }
}

/// Wrong passwords tolerated by `watch` before giving up (checked on the device only).
const WATCH_PASSWORD_TRIES: u32 = 3;

/// `caducee ecps watch`: asks the password once, then shows each request and its codes.
async fn watch(store: &DeviceStore) -> anyhow::Result<ExitCode> {
    let mut device = store.load_device()?;
    let mut input = Input::new();
    let mut tries = 0;
    let (password, key) = loop {
        let password = input.secret("Mot de passe e-CPS : ").await?;
        match device.key.open(&password) {
            Ok(key) => {
                upgrade_seal(store, &mut device, &key, &password);
                break (password, key);
            }
            Err(AuthenticatorError::WrongPassword) => {
                tries += 1;
                eprintln!("Mot de passe e-CPS incorrect.");
                if tries >= WATCH_PASSWORD_TRIES {
                    anyhow::bail!(
                        "mot de passe e-CPS incorrect {WATCH_PASSWORD_TRIES} fois : abandon"
                    );
                }
            }
            Err(e) => return Err(e.into()),
        }
    };
    let client = EcpsClient::new(&device.server)?.device(&device.device_id, &key);
    println!("En attente de demandes d'authentification (Ctrl-C pour quitter)…");
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut done: HashSet<String> = HashSet::new();
    loop {
        let pending = tokio::select! {
            _ = &mut ctrl_c => break,
            p = client.pending(caducee_ecps::client::MAX_WAIT_SECS) => p?,
        };
        let fresh: Vec<RequestItem> = pending
            .into_iter()
            .filter(|r| !done.contains(&r.id))
            .collect();
        if fresh.is_empty() {
            // The server answered before the wait (e.g. only already-handled requests).
            tokio::select! {
                _ = &mut ctrl_c => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        for request in fresh {
            done.insert(request.id.clone());
            let choice = tokio::select! {
                _ = &mut ctrl_c => None,
                c = choose(&mut input, &request) => Some(c),
            };
            match choice {
                None => {
                    println!();
                    return Ok(ExitCode::SUCCESS);
                }
                Some(Choice::Eof) => return Ok(ExitCode::SUCCESS),
                Some(Choice::Timeout) => println!("Délai dépassé."),
                Some(Choice::Code(code)) => answer(&client, &request, &code, &password).await,
            }
        }
    }
    println!();
    Ok(ExitCode::SUCCESS)
}

enum Choice {
    Code(String),
    Timeout,
    Eof,
}

fn seconds_left(request: &RequestItem) -> i64 {
    (request.expires_at - time::OffsetDateTime::now_utc().unix_timestamp()).max(0)
}

/// Shows one request and waits for the user's pick, with a countdown to its expiry.
async fn choose(input: &mut Input, request: &RequestItem) -> Choice {
    let menu = request
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| format!("[{}] {c}", i + 1))
        .collect::<Vec<_>>()
        .join("  ");
    println!();
    println!("Demande de connexion à « {} »", request.service);
    println!("Choisissez le code affiché par le service : {menu}");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        if !input.tty {
            print!(
                "Votre choix (1-{}, {} s) : ",
                request.choices.len(),
                seconds_left(request)
            );
            std::io::stdout().flush().ok();
        }
        let line = loop {
            tokio::select! {
                l = input.line() => break l,
                _ = tick.tick() => {
                    let left = seconds_left(request);
                    if left == 0 {
                        if input.tty {
                            println!();
                        }
                        return Choice::Timeout;
                    }
                    if input.tty {
                        print!("\r\x1b[2K{left:>3} s restantes — votre choix (1-{}) : ", request.choices.len());
                        std::io::stdout().flush().ok();
                    }
                }
            }
        };
        let Some(line) = line else {
            return Choice::Eof;
        };
        let picked = line.trim();
        let code = picked
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=request.choices.len()).contains(n))
            .map(|n| request.choices[n - 1].clone())
            .or_else(|| request.choices.iter().find(|c| *c == picked).cloned());
        match code {
            Some(code) if seconds_left(request) > 0 => return Choice::Code(code),
            Some(_) => return Choice::Timeout,
            None => eprintln!("Choix invalide : tapez 1, 2 ou 3."),
        }
    }
}

/// Sends the chosen code and tells the user what the server made of it.
async fn answer(client: &DeviceClient, request: &RequestItem, code: &str, password: &str) {
    match client.answer(&request.id, code, password).await {
        Ok(o) => match o.outcome.as_str() {
            "approved" => println!("Demande approuvée."),
            "denied" => println!("Demande refusée : mauvais code."),
            "wrong_password" => println!(
                "Mot de passe incorrect ({} essai(s) restant(s) avant blocage).",
                o.remaining.unwrap_or(0)
            ),
            other => println!("Réponse inattendue du serveur e-CPS : {other}"),
        },
        Err(AuthenticatorError::Api { code, .. }) if code == "request_expired" => {
            println!("Délai dépassé.")
        }
        Err(e) => println!("Erreur : {e}"),
    }
}

/// Which request `approve` answers: one offering `code`, of `service` and with id `request`
/// when given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    code: String,
    service: Option<String>,
    request: Option<String>,
}

impl Wanted {
    fn matches(&self, r: &RequestItem) -> bool {
        r.choices.contains(&self.code)
            && self
                .service
                .as_ref()
                .is_none_or(|s| r.service.trim().to_lowercase() == s.to_lowercase())
            && self.request.as_ref().is_none_or(|id| r.id == *id)
    }

    /// What the user asked for, to tell them nothing matched.
    fn describe(&self) -> String {
        let mut out = format!("le code {}", self.code);
        if let Some(s) = &self.service {
            out.push_str(&format!(" pour le service « {s} »"));
        }
        if let Some(id) = &self.request {
            out.push_str(&format!(" avec l'identifiant {id}"));
        }
        out
    }
}

/// What `approve` makes of the pending requests.
#[derive(Debug, PartialEq, Eq)]
enum Pick {
    /// Exactly one matches: it is answered.
    One(RequestItem),
    /// None (yet).
    None,
    /// Several offer the code: answering one would be a guess (issue 10, item 11).
    Several(Vec<RequestItem>),
}

fn pick(pending: Vec<RequestItem>, wanted: &Wanted) -> Pick {
    let mut matching: Vec<RequestItem> =
        pending.into_iter().filter(|r| wanted.matches(r)).collect();
    match matching.len() {
        0 => Pick::None,
        1 => matching.pop().map_or(Pick::None, Pick::One),
        _ => Pick::Several(matching),
    }
}

/// The French refusal when several pending requests offer the code.
fn several_message(wanted: &Wanted, several: &[RequestItem]) -> String {
    let list = several
        .iter()
        .map(|r| format!("  - « {} » (--request {})", r.service, r.id))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "Plusieurs demandes en attente proposent {} :\n{list}\n\
Aucune n'a été approuvée : précisez laquelle avec --service NOM ou --request ID.",
        wanted.describe()
    )
}

async fn approve(
    store: &DeviceStore,
    wanted: &Wanted,
    password_file: &Path,
    wait: u64,
) -> anyhow::Result<ExitCode> {
    let code = wanted.code.as_str();
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
        anyhow::bail!("code invalide : deux chiffres attendus (celui affiché par le service)");
    }
    let mut device = store.load_device()?;
    let password = read_password(password_file)?;
    // A wrong password stops here: nothing is sent to the server.
    let key = device.key.open(&password)?;
    upgrade_seal(store, &mut device, &key, &password);
    let client = EcpsClient::new(&device.server)?.device(&device.device_id, &key);
    let deadline = Instant::now() + Duration::from_secs(wait);
    let request = loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        match pick(client.pending(left).await?, wanted) {
            Pick::One(r) => break r,
            Pick::Several(several) => {
                eprintln!("{}", several_message(wanted, &several));
                return Ok(ExitCode::from(2));
            }
            Pick::None => {}
        }
        if Instant::now() >= deadline {
            eprintln!(
                "Aucune demande en attente ne propose {}.",
                wanted.describe()
            );
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

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn item(id: &str, service: &str, choices: [&str; 3]) -> RequestItem {
        RequestItem {
            id: id.into(),
            service: service.into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            expires_at: 0,
        }
    }

    fn wanted(code: &str, service: Option<&str>, request: Option<&str>) -> Wanted {
        Wanted {
            code: code.into(),
            service: service.map(str::to_string),
            request: request.map(str::to_string),
        }
    }

    /// Issue 10 item 11: a code offered by two pending requests (as the right code of one
    /// and a decoy of the other, say) is not answered unless the service or the request is
    /// named.
    #[test]
    fn sec_11_a_code_two_requests_offer_needs_the_service_or_the_request() {
        let pending = vec![
            item("r1", "ROR National", ["12", "42", "77"]),
            item("r2", "Ordre", ["42", "05", "63"]),
            item("r3", "RPLUS", ["11", "22", "33"]),
        ];
        match pick(pending.clone(), &wanted("42", None, None)) {
            Pick::Several(s) => {
                assert_eq!(s.len(), 2);
                let msg = several_message(&wanted("42", None, None), &s);
                assert!(msg.contains("« ROR National » (--request r1)"), "{msg}");
                assert!(msg.contains("« Ordre » (--request r2)"), "{msg}");
                assert!(msg.contains("Aucune n'a été approuvée"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            pick(pending.clone(), &wanted("42", Some("ordre"), None)),
            Pick::One(pending[1].clone())
        );
        assert_eq!(
            pick(pending.clone(), &wanted("42", None, Some("r1"))),
            Pick::One(pending[0].clone())
        );
        assert_eq!(
            pick(pending.clone(), &wanted("22", None, None)),
            Pick::One(pending[2].clone())
        );
        assert_eq!(
            pick(pending.clone(), &wanted("42", Some("RPLUS"), None)),
            Pick::None
        );
        assert_eq!(pick(pending, &wanted("99", None, None)), Pick::None);
    }
}
