//! e-CPS benchmark (run it with `bench/ecps/run`; what it measures is in bench/README.md).
//!
//! 1. Seeds a database with `ECPS_BENCH_DEVICES` professionals whose e-CPS is activated
//!    through the library (`start_activation` / `confirm_activation`, OWASP argon2id), each
//!    device a P-256 key held by this process.
//! 2. Starts the real server (`caducee serve`, the binary named by `ECPS_BENCH_SERVER_BIN`)
//!    on that database, as a separate process, so that its memory and CPU are its own.
//! 3. `ECPS_BENCH_RUNS` times, alternately: the bare argon2id hashes per second of this
//!    machine on all its cores (m = 19 MiB, t = 2, p = 1: the physical limit of the flow),
//!    then the approvals per second through the device API: one pending request per device
//!    (created through the library, as the identity provider does), all answered at once by
//!    `POST /ecps/api/v1/requests/{id}` with a DPoP proof, the code and the password.
//! 4. A burst on a freshly started server: `ECPS_BENCH_BURST` devices long-poll
//!    `GET /ecps/api/v1/requests?wait=…` at once, then as many requests are created, and each
//!    device answers its own as soon as the long-poll returns it. Peak RSS of the server
//!    process (`VmHWM`), its CPU while the long-polls wait, the delivery latency.
//!
//! Prints a markdown table. Exit code 0 unless a step failed, or `ECPS_BENCH_ENFORCE=1` and
//! a target is missed (approvals ≥ 85 % of the bare hashes, peak RSS ≤ 200 MB).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use caducee_core::clock::{system_clock, Clock, SharedClock};
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_ecps_server::{migrations, Argon2Policy, EcpsConfig, EcpsServer};
use caducee_registry::queries::{set_contact, ContactUpdate};
use caducee_store::Store;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sqlx::Row;
use tokio::io::AsyncBufReadExt as _;
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

const PASSWORD: &str = "mot de passe e-CPS du banc d'essai";
const TARGET_RATIO: f64 = 0.85;
const TARGET_PEAK_MB: f64 = 200.0;

fn fail(msg: impl Into<String>) -> BoxError {
    msg.into().into()
}

struct Settings {
    server_bin: PathBuf,
    work: PathBuf,
    database_url: String,
    devices: usize,
    approvals: usize,
    runs: usize,
    argon2_secs: f64,
    burst: usize,
    wait_secs: u64,
    idle_secs: u64,
    enforce: bool,
    instance_secret: String,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| fail(format!("{name}={v}: nombre attendu"))),
        _ => Ok(default),
    }
}

impl Settings {
    fn from_env() -> Result<Settings> {
        let server_bin = std::env::var("ECPS_BENCH_SERVER_BIN")
            .map(PathBuf::from)
            .map_err(|_| fail("ECPS_BENCH_SERVER_BIN : chemin du binaire caducee attendu"))?;
        let work = std::env::var("ECPS_BENCH_DIR")
            .map(PathBuf::from)
            .map_err(|_| fail("ECPS_BENCH_DIR : répertoire de travail attendu"))?;
        let database_url = std::env::var("ECPS_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}/ecps.db", work.display()));
        let devices = env_num("ECPS_BENCH_DEVICES", 1000)?;
        let s = Settings {
            server_bin,
            work,
            database_url,
            devices,
            approvals: env_num("ECPS_BENCH_APPROVALS", devices)?.min(devices),
            runs: env_num("ECPS_BENCH_RUNS", 3)?,
            argon2_secs: env_num("ECPS_BENCH_ARGON2_SECS", 10.0)?,
            burst: env_num("ECPS_BENCH_BURST", devices)?.min(devices),
            wait_secs: env_num("ECPS_BENCH_WAIT", 25)?,
            idle_secs: env_num("ECPS_BENCH_IDLE", 5)?,
            enforce: env_num("ECPS_BENCH_ENFORCE", 0u8)? == 1,
            instance_secret: {
                let mut b = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
                hex::encode(b)
            },
        };
        if s.devices == 0 || s.runs == 0 || s.approvals == 0 {
            return Err(fail(
                "ECPS_BENCH_DEVICES, _RUNS et _APPROVALS doivent être > 0",
            ));
        }
        if s.idle_secs + 5 >= s.wait_secs {
            return Err(fail(
                "ECPS_BENCH_WAIT doit dépasser ECPS_BENCH_IDLE de plus de 5 s",
            ));
        }
        Ok(s)
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("[ecps bench] {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("[ecps bench] ERREUR : {e}");
            ExitCode::FAILURE
        }
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[ecps bench] {}", msg.as_ref());
}

// ------------------------------------------------------------------ machine

fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "processeur inconnu".into())
}

fn mem_total_gb() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0)
}

/// The 1-minute load average, as `/proc/loadavg` gives it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

// ------------------------------------------------------------------ bare argon2id

/// Bare argon2id hashes per second on `threads` threads for about `secs` seconds, with the
/// server's policy: the physical limit of an approval (each one verifies one password).
/// Each thread reuses one block array, as the server's pool does, so neither side pays for
/// allocating 19 MiB per hash and the comparison is of the computations alone.
/// Returns (hashes per second, hashes per CPU-second of this process).
fn bare_argon2(threads: usize, secs: f64) -> Result<(f64, f64)> {
    let policy = Argon2Policy::owasp();
    let params = Params::new(policy.m_kib, policy.t, policy.p, None)
        .map_err(|e| fail(format!("argon2 : {e}")))?;
    let duration = Duration::from_secs_f64(secs);
    let ticks = clock_ticks();
    let cpu0 = cpu_secs("self", ticks)?;
    let start = Instant::now();
    let counts: Vec<Result<(u64, Duration)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || -> Result<(u64, Duration)> {
                    let mut memory = vec![Block::default(); params.block_count()];
                    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                    let mut out = [0u8; 32];
                    let mut n = 0u64;
                    loop {
                        let mut salt = [0u8; 16];
                        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
                        argon2
                            .hash_password_into_with_memory(
                                PASSWORD.as_bytes(),
                                &salt,
                                &mut out,
                                &mut memory,
                            )
                            .map_err(|e| fail(format!("argon2 : {e}")))?;
                        n += 1;
                        if start.elapsed() >= duration {
                            return Ok((n, start.elapsed()));
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(fail("fil argon2 interrompu")))
            })
            .collect()
    });
    let mut total = 0u64;
    let mut longest = Duration::ZERO;
    for c in counts {
        let (n, t) = c?;
        total += n;
        longest = longest.max(t);
    }
    let cpu = cpu_secs("self", ticks)? - cpu0;
    Ok((total as f64 / longest.as_secs_f64(), total as f64 / cpu))
}

// ------------------------------------------------------------------ devices

/// A device seeded for the benchmark: its id, its professional, its key.
struct Dev {
    id: String,
    idnat: String,
    key: SigningKey,
}

fn professional(i: usize) -> Result<IdNatPs> {
    Rpps::from_payload(&format!("3{i:09}"))
        .map(IdNatPs::from)
        .ok_or_else(|| fail("RPPS de banc invalide"))
}

/// The 6-digit code of the newest activation message to `recipient`.
async fn code_sent_to(store: &Store, recipient: &str) -> Result<String> {
    let row = sqlx::query(
        "SELECT body_text FROM notify_outbox
         WHERE recipient = $1 AND template = 'ecps_activation_code'
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(recipient)
    .fetch_one(store.pool())
    .await?;
    let body: String = row.try_get(0)?;
    body.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_string)
        .ok_or_else(|| fail("code d'activation introuvable dans l'outbox"))
}

/// The professional `i` of the bench in the registry, with contact coordinates set by an
/// operator: returns (idNat, e-mail, mobile).
async fn add_professional(
    store: &Store,
    clock: &SharedClock,
    i: usize,
) -> Result<(IdNatPs, String, String)> {
    let idnat = professional(i)?;
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, last_name, first_name, updated_at)
         VALUES ($1, '8', $2, 'BANC', 'Essai', 0)",
    )
    .bind(idnat.as_str())
    .bind(idnat.number())
    .execute(store.pool())
    .await?;
    let contact = set_contact(
        store,
        clock.as_ref(),
        &idnat,
        &ContactUpdate {
            email: format!("pro{i}@banc.example.test"),
            mobile: format!("+336{i:08}"),
            actor: "operator:bench".into(),
            ..Default::default()
        },
    )
    .await?;
    Ok((idnat, contact.email, contact.mobile))
}

async fn activate(
    store: &Store,
    ecps: &EcpsServer,
    (idnat, email, mobile): &(IdNatPs, String, String),
) -> Result<Dev> {
    let started = ecps.start_activation(idnat).await?;
    let email_code = code_sent_to(store, email).await?;
    let sms_code = code_sent_to(store, mobile).await?;
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let jwk = secret.public_key().to_jwk_string();
    let device = ecps
        .confirm_activation(
            &started.activation_id,
            &email_code,
            &sms_code,
            PASSWORD,
            &jwk,
        )
        .await?;
    Ok(Dev {
        id: device.id,
        idnat: device.idnat,
        key: SigningKey::from(secret),
    })
}

/// Activates `n` e-CPS through the library, two per CPU at a time (argon2 is the cost).
async fn seed(store: &Store, clock: &SharedClock, ecps: &EcpsServer, n: usize) -> Result<Vec<Dev>> {
    let existing = store.count("SELECT COUNT(*) FROM ecps_device").await?;
    if existing > 0 {
        return Err(fail(
            "la base contient déjà des appareils e-CPS : donnez une base neuve (les clés des appareils ne sont pas conservées)",
        ));
    }
    // The registry first, one professional after the other: an operator's contact update
    // reads then writes in one transaction, which SQLite refuses to run concurrently.
    let mut people = Vec::with_capacity(n);
    for i in 0..n {
        people.push(add_professional(store, clock, i).await?);
    }
    let people = Arc::new(people);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..cpus() * 2 {
        let (store, ecps, next, people) =
            (store.clone(), ecps.clone(), next.clone(), people.clone());
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = people.get(i) else {
                    return Ok::<_, BoxError>(mine);
                };
                mine.push((i, activate(&store, &ecps, p).await?));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = workers.join_next().await {
        all.extend(r??);
    }
    all.sort_by_key(|(i, _)| *i);
    // The codes were read: nothing for the server's delivery worker to do during the runs.
    sqlx::query("DELETE FROM notify_outbox")
        .execute(store.pool())
        .await?;
    Ok(all.into_iter().map(|(_, d)| d).collect())
}

/// The DPoP-like proof of a device call.
fn proof(dev: &Dev, clock: &dyn Clock, htm: &str, htu: &str) -> Result<String> {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(
        &serde_json::json!({"alg": "ES256", "typ": "ecps-proof+jwt", "kid": dev.id}),
    )?);
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&serde_json::json!({
        "htm": htm,
        "htu": htu,
        "iat": clock.unix(),
        "jti": uuid::Uuid::new_v4().to_string(),
    }))?);
    let input = format!("{h}.{p}");
    let sig: Signature = dev.key.sign(input.as_bytes());
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    ))
}

// ------------------------------------------------------------------ server process

struct ServerProcess {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

impl ServerProcess {
    async fn start(s: &Settings) -> Result<ServerProcess> {
        let mut child = tokio::process::Command::new(&s.server_bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(&s.work)
            .env("CADUCEE_DATABASE_URL", &s.database_url)
            // sqlx warns of every statement slower than 1 s, which a burst on SQLite makes
            // routine (writers queue): the figures say it better.
            .env("CADUCEE_LOG", "warn,sqlx=error")
            .env_remove("CADUCEE_CONFIG")
            .env_remove("CADUCEE_SMTP_URL")
            .env_remove("CADUCEE_SMS_URL")
            .env_remove("CADUCEE_DEMO")
            // On PostgreSQL the server wants the secret its nodes share (it seals the
            // identity provider's keys); the same for both starts of one run.
            .env("CADUCEE_INSTANCE_SECRET", &s.instance_secret)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("{} : {e}", s.server_bin.display())))?;
        let pid = child
            .id()
            .ok_or_else(|| fail("serveur arrêté au démarrage"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail("sortie du serveur indisponible"))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .map_err(|_| fail("le serveur n'a pas démarré en 60 s"))??
            .ok_or_else(|| fail("le serveur s'est arrêté au démarrage"))?;
        let base = line
            .rsplit(' ')
            .next()
            .filter(|b| b.starts_with("http://"))
            .ok_or_else(|| fail(format!("première ligne inattendue du serveur : {line}")))?
            .to_string();
        Ok(ServerProcess { child, pid, base })
    }

    /// (current RSS, peak RSS) in MB, from /proc.
    fn rss_mb(&self) -> Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .ok_or_else(|| fail(format!("{name} absent de /proc/{}/status", self.pid)))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// CPU seconds used so far (user + system).
    fn cpu_secs(&self, ticks_per_sec: f64) -> Result<f64> {
        cpu_secs(&self.pid.to_string(), ticks_per_sec)
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// CPU seconds used so far by process `pid` (`self`: this one), user + system.
fn cpu_secs(pid: &str, ticks_per_sec: f64) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| fail("/proc/PID/stat illisible"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the ')'.
    Ok((num(11) + num(12)) / ticks_per_sec)
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

// ------------------------------------------------------------------ the flows

/// Creates one pending request per device, as the identity provider does.
async fn create_requests(ecps: &EcpsServer, devs: &[Arc<Dev>]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(devs.len());
    for d in devs {
        let r = ecps
            .create_request(&d.idnat, "Banc d'essai e-CPS", None)
            .await?;
        out.push((r.id, r.code));
    }
    Ok(out)
}

/// Answers one request through the device API; true when approved.
async fn answer(
    http: &reqwest::Client,
    base: &str,
    clock: &dyn Clock,
    dev: &Dev,
    request_id: &str,
    code: &str,
) -> Result<bool> {
    let path = format!("/ecps/api/v1/requests/{request_id}");
    let url = format!("{base}{path}");
    let r = http
        .post(&url)
        .header("DPoP", proof(dev, clock, "POST", &url)?)
        .json(&serde_json::json!({"code": code, "password": PASSWORD}))
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(fail(format!("réponse {status} : {body}")));
    }
    Ok(body["outcome"] == "approved")
}

/// What one timed round measured.
struct Round {
    /// Approvals per second.
    rate: f64,
    /// CPU used by the server process and by this program during the round, in cores.
    server_cores: f64,
    client_cores: f64,
}

impl Round {
    /// Approvals per CPU-second of the server process.
    fn per_cpu_sec(&self) -> f64 {
        self.rate / self.server_cores
    }
}

/// One timed round: every device answers its pending request at once.
async fn approvals_round(
    http: &reqwest::Client,
    server: &ServerProcess,
    clock: &SharedClock,
    ecps: &EcpsServer,
    devs: &[Arc<Dev>],
) -> Result<Round> {
    let requests = create_requests(ecps, devs).await?;
    let ticks = clock_ticks();
    let (server0, client0) = (server.cpu_secs(ticks)?, cpu_secs("self", ticks)?);
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for (dev, (id, code)) in devs.iter().cloned().zip(requests) {
        let (http, base, clock) = (http.clone(), server.base.clone(), clock.clone());
        tasks.spawn(async move { answer(&http, &base, clock.as_ref(), &dev, &id, &code).await });
    }
    let mut approved = 0usize;
    while let Some(r) = tasks.join_next().await {
        if r?? {
            approved += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if approved != devs.len() {
        return Err(fail(format!("{approved} approbations sur {}", devs.len())));
    }
    Ok(Round {
        rate: approved as f64 / elapsed,
        server_cores: (server.cpu_secs(ticks)? - server0) / elapsed,
        client_cores: (cpu_secs("self", ticks)? - client0) / elapsed,
    })
}

struct BurstReport {
    rss_idle_mb: f64,
    rss_waiting_mb: f64,
    cpu_waiting_pct: f64,
    latency_ms: (f64, f64, f64),
    approvals_per_sec: f64,
    peak_sampled_mb: f64,
    peak_hwm_mb: f64,
    wall_secs: f64,
}

/// The burst's requests as the identity provider created them: id → (code shown on the
/// login page, instant just before the creation).
type Created = Arc<std::sync::Mutex<std::collections::HashMap<String, (String, Instant)>>>;

/// What one long-polling device did: how long its request took to reach it, and whether its
/// answer approved it.
struct Polled {
    latency_ms: f64,
    approved: bool,
}

async fn long_poll_then_answer(
    http: reqwest::Client,
    base: String,
    clock: SharedClock,
    dev: Arc<Dev>,
    created: Created,
    wait: u64,
    give_up: Instant,
) -> Result<Polled> {
    let url = format!("{base}/ecps/api/v1/requests");
    loop {
        let r = http
            .get(format!("{url}?wait={wait}"))
            .header("DPoP", proof(&dev, clock.as_ref(), "GET", &url)?)
            .send()
            .await?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(fail(format!("long-poll {status} : {body}")));
        }
        let received = Instant::now();
        if let Some(req) = body["requests"].as_array().and_then(|a| a.first()) {
            let id = req["id"].as_str().unwrap_or_default().to_string();
            // The professional reads the code on the login page; here the bench knows it as
            // soon as `create_request` has returned (the long-poll may be a little faster).
            let (code, at) = loop {
                let known = created.lock().ok().and_then(|m| m.get(&id).cloned());
                if let Some(k) = known {
                    break k;
                }
                if Instant::now() > give_up {
                    return Err(fail("demande inconnue du banc"));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            let approved = answer(&http, &base, clock.as_ref(), &dev, &id, &code).await?;
            return Ok(Polled {
                latency_ms: received.saturating_duration_since(at).as_secs_f64() * 1000.0,
                approved,
            });
        }
        if Instant::now() > give_up {
            return Err(fail("aucune demande reçue par le long-poll"));
        }
    }
}

async fn burst(
    s: &Settings,
    http: &reqwest::Client,
    clock: &SharedClock,
    ecps: &EcpsServer,
    devs: &[Arc<Dev>],
) -> Result<BurstReport> {
    let server = ServerProcess::start(s).await?;
    let ticks = clock_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_idle_mb, _) = server.rss_mb()?;
    let peak_sampled = Arc::new(std::sync::Mutex::new(0.0f64));
    let sampler = {
        let pid = server.pid;
        let peak = peak_sampled.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let rss = status
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|kb| kb.parse::<f64>().ok())
                        .unwrap_or(0.0)
                        / 1024.0;
                    if let Ok(mut p) = peak.lock() {
                        *p = p.max(rss);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let start = Instant::now();
    let give_up = start + Duration::from_secs(s.wait_secs * 4);
    let created: Created = Default::default();
    let mut polls = JoinSet::new();
    for dev in devs {
        polls.spawn(long_poll_then_answer(
            http.clone(),
            server.base.clone(),
            clock.clone(),
            dev.clone(),
            created.clone(),
            s.wait_secs,
            give_up,
        ));
    }
    // Let every long-poll reach the server and settle, then measure them waiting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu0 = server.cpu_secs(ticks)?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(s.idle_secs)).await;
    let cpu_waiting_pct = 100.0 * (server.cpu_secs(ticks)? - cpu0) / t0.elapsed().as_secs_f64();
    let (rss_waiting_mb, _) = server.rss_mb()?;
    // The burst: one request per device, created as fast as the database takes them.
    let first_created = Instant::now();
    for d in devs {
        let at = Instant::now();
        let r = ecps
            .create_request(&d.idnat, "Banc d'essai e-CPS", None)
            .await?;
        if let Ok(mut m) = created.lock() {
            m.insert(r.id, (r.code, at));
        }
    }
    let mut latencies = Vec::with_capacity(devs.len());
    let mut approved = 0usize;
    let mut last = Instant::now();
    while let Some(r) = polls.join_next().await {
        let p = r??;
        latencies.push(p.latency_ms);
        if p.approved {
            approved += 1;
        }
        last = Instant::now();
    }
    sampler.abort();
    if approved != devs.len() {
        return Err(fail(format!(
            "rafale : {approved} approbations sur {}",
            devs.len()
        )));
    }
    let (_, peak_hwm_mb) = server.rss_mb()?;
    let peak_sampled_mb = peak_sampled.lock().map(|p| *p).unwrap_or(0.0);
    server.stop().await;
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(BurstReport {
        rss_idle_mb,
        rss_waiting_mb,
        cpu_waiting_pct,
        latency_ms: (pct(0.5), pct(0.99), pct(1.0)),
        approvals_per_sec: approved as f64 / last.duration_since(first_created).as_secs_f64(),
        peak_sampled_mb,
        peak_hwm_mb,
        wall_secs: start.elapsed().as_secs_f64(),
    })
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

async fn run() -> Result<bool> {
    let s = Settings::from_env()?;
    let clock = system_clock();
    let threads = cpus();
    let engine = if s.database_url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let store = Store::connect(&s.database_url).await?;
    store.migrate(&migrations()).await?;
    // The identity provider's side: creates the requests. Its own hasher is never used.
    let ecps = EcpsServer::new(
        store.clone(),
        clock.clone(),
        caducee_notify::Waker::new(),
        EcpsConfig::default(),
    );
    log(format!(
        "activation de {} e-CPS (argon2id OWASP, {} à la fois)…",
        s.devices,
        threads * 2
    ));
    let t = Instant::now();
    let devs: Vec<Arc<Dev>> = seed(&store, &clock, &ecps, s.devices)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    let seed_secs = t.elapsed().as_secs_f64();
    log(format!("{} e-CPS activées en {seed_secs:.1} s", devs.len()));

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(s.wait_secs * 4 + 60))
        .pool_max_idle_per_host(usize::MAX)
        .build()?;

    let server = ServerProcess::start(&s).await?;
    log(format!("serveur {} (PID {})", server.base, server.pid));
    // Bare argon2id before the first round and after every round: each round is compared
    // with the mean of the measures just before and just after it, so that a change of
    // the machine's load (other processes) weighs on both sides.
    let secs = s.argon2_secs;
    let measure_bare = move || async move {
        log(format!("argon2id nu sur {threads} fils, {secs} s…"));
        tokio::task::spawn_blocking(move || bare_argon2(threads, secs)).await?
    };
    let load_before = load_average();
    let mut bare_marks = vec![measure_bare().await?];
    let mut bare = Vec::new();
    let mut approvals = Vec::new();
    for run in 0..s.runs {
        // Devices of this round: a different slice each round when there are enough, so no
        // professional nears the limit of 10 requests per 10 minutes.
        let offset = (run * s.approvals) % devs.len();
        let round: Vec<Arc<Dev>> = devs
            .iter()
            .cycle()
            .skip(offset)
            .take(s.approvals)
            .cloned()
            .collect();
        log(format!(
            "tour {}/{} : {} approbations par l'API des appareils…",
            run + 1,
            s.runs,
            round.len()
        ));
        let r = approvals_round(&http, &server, &clock, &ecps, &round).await?;
        bare_marks.push(measure_bare().await?);
        let (b0, b1) = (bare_marks[run], bare_marks[run + 1]);
        let h = ((b0.0 + b1.0) / 2.0, (b0.1 + b1.1) / 2.0);
        log(format!(
            "tour {}/{} : argon2id nu {:.1}/s, approbations {:.1}/s ({:.1} %), CPU serveur {:.2} cœurs ({:.1} % de l'efficacité du calcul nu), banc {:.2}",
            run + 1,
            s.runs,
            h.0,
            r.rate,
            100.0 * r.rate / h.0,
            r.server_cores,
            100.0 * r.per_cpu_sec() / h.1,
            r.client_cores
        ));
        bare.push(h);
        approvals.push(r);
    }
    let load_after = load_average();
    let (rss_after_runs, hwm_after_runs) = server.rss_mb()?;
    server.stop().await;

    log(format!(
        "rafale : {} long-polls simultanés sur un serveur redémarré…",
        s.burst
    ));
    let burst_devs: Vec<Arc<Dev>> = devs.iter().take(s.burst).cloned().collect();
    let b = burst(&s, &http, &clock, &ecps, &burst_devs).await?;
    store.close().await;

    // ------------------------------------------------------------------ report
    let now = clock.now();
    let when = now
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let policy = Argon2Policy::owasp();
    let med_bare = median(&bare.iter().map(|b| b.0).collect::<Vec<_>>());
    let med_appr = median(&approvals.iter().map(|r| r.rate).collect::<Vec<_>>());
    let ratio = med_appr / med_bare;
    let med_efficiency = median(
        &bare
            .iter()
            .zip(&approvals)
            .map(|(b, r)| r.per_cpu_sec() / b.1)
            .collect::<Vec<_>>(),
    );
    let peak = b.peak_hwm_mb.max(b.peak_sampled_mb);
    println!("## caducee e-CPS benchmark — {when}");
    println!();
    println!(
        "Machine: {threads} cores, {}, {:.1} GB RAM — Linux {}",
        cpu_model(),
        mem_total_gb(),
        kernel()
    );
    println!(
        "Server: `caducee serve` (separate process, {}), {engine}; argon2id m={} KiB, t={}, p={}; {} e-CPS seeded in {seed_secs:.0} s",
        s.server_bin.display(),
        policy.m_kib,
        policy.t,
        policy.p,
        devs.len()
    );
    println!();
    println!(
        "| run | bare argon2id hashes/s ({threads} threads, mean of the measures before and after) | approvals/s (POST /ecps/api/v1/requests/{{id}}, {} at once) | approvals / bare | CPU of the server process | per CPU-second: approvals / bare hashes | CPU of the bench (client) |",
        s.approvals
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, (h, r)) in bare.iter().zip(&approvals).enumerate() {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} % | {:.2} cores | {:.1} % | {:.2} cores |",
            i + 1,
            h.0,
            r.rate,
            100.0 * r.rate / h.0,
            r.server_cores,
            100.0 * r.per_cpu_sec() / h.1,
            r.client_cores
        );
    }
    println!(
        "| **median** | **{med_bare:.1}** | **{med_appr:.1}** | **{:.1} %** | | **{:.1} %** | |",
        100.0 * ratio,
        100.0 * med_efficiency
    );
    println!();
    println!(
        "Load average (1 min) before and after the rounds: {load_before} → {load_after} (other processes share the machine when it exceeds {threads}: the per-CPU-second column is the one they do not bias)."
    );
    println!();
    println!(
        "Server RSS after the approval runs: {rss_after_runs:.0} MB (peak {hwm_after_runs:.0} MB)."
    );
    println!();
    println!(
        "Burst on a freshly started server: {n} devices long-poll `GET /ecps/api/v1/requests?wait={w}` at once, then {n} requests are created (from another process, as by another node), each answered by its device on receipt:",
        n = s.burst,
        w = s.wait_secs
    );
    println!();
    println!("| what | value |");
    println!("|---|---:|");
    println!("| server RSS, idle after start | {:.0} MB |", b.rss_idle_mb);
    println!(
        "| server RSS, {} long-polls waiting | {:.0} MB |",
        s.burst, b.rss_waiting_mb
    );
    println!(
        "| server CPU while {} long-polls wait ({} s) | {:.1} % of one core |",
        s.burst, s.idle_secs, b.cpu_waiting_pct
    );
    println!(
        "| request created → delivered to its long-poll (median / p99 / max) | {:.0} / {:.0} / {:.0} ms |",
        b.latency_ms.0, b.latency_ms.1, b.latency_ms.2
    );
    println!(
        "| approvals/s during the burst (first request created → last approval) | {:.1} |",
        b.approvals_per_sec
    );
    println!("| burst wall time | {:.1} s |", b.wall_secs);
    println!(
        "| **peak RSS of the server process** (VmHWM; sampled every 20 ms: {:.0} MB) | **{:.0} MB** |",
        b.peak_sampled_mb, b.peak_hwm_mb
    );
    println!();
    let ratio_ok = ratio >= TARGET_RATIO;
    let mem_ok = peak <= TARGET_PEAK_MB;
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    println!(
        "Targets: approvals ≥ {:.0} % of bare argon2id: {:.1} % — {}; peak RSS ≤ {TARGET_PEAK_MB:.0} MB under the burst: {peak:.0} MB — {}.",
        100.0 * TARGET_RATIO,
        100.0 * ratio,
        verdict(ratio_ok),
        verdict(mem_ok)
    );
    Ok(!s.enforce || (ratio_ok && mem_ok))
}
