//! End-to-end tests of the `caducee` binary: the real executable, a real SQLite file or a
//! real PostgreSQL database, a real HTTP server on an ephemeral port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_store::testkit::TestDb;
use caducee_store::{Dialect, Store};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn caducee(db_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caducee"));
    c.env("CADUCEE_DATABASE_URL", db_url)
        .env_remove("CADUCEE_CONFIG")
        .env("CADUCEE_LOG", "warn");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("caducee runs")
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn generate(dir: &Path, rows: u64) -> std::path::PathBuf {
    let file = dir.join("PS_LibreAcces_Personne_activite_202611230000.txt");
    ok(caducee("sqlite://unused.db")
        .args([
            "generate",
            "rpps",
            "--rows",
            &rows.to_string(),
            "--seed",
            "7",
            "--out",
        ])
        .arg(&file));
    file
}

async fn digest(url: &str) -> String {
    let store = Store::connect(url).await.unwrap();
    let d = caducee_registry::queries::content_digest(&store)
        .await
        .unwrap();
    store.close().await;
    d
}

#[tokio::test]
async fn reg_10_cli_import_stats_get_export_round_trip_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 3_000);
    let mut digests = Vec::new();
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let db = TestDb::new(dialect).await;
        let summary = ok(caducee(&db.url).args(["import", "rpps"]).arg(&file));
        assert!(summary.contains("3000 lignes lues"), "{summary}");
        let stats: serde_json::Value =
            serde_json::from_str(&ok(caducee(&db.url).args(["registry", "stats"]))).unwrap();
        for key in ["persons", "activities", "structures"] {
            assert!(stats[key].as_i64().unwrap() > 0, "{key} in {stats}");
        }
        // registry get: the first data line's professional, by RPPS without the 8.
        let text = std::fs::read_to_string(&file).unwrap();
        let first: Vec<&str> = text.lines().nth(1).unwrap().split('|').collect();
        let person: serde_json::Value =
            serde_json::from_str(&ok(caducee(&db.url).args(["registry", "get", first[1]])))
                .unwrap();
        assert_eq!(person["idNat"], first[2]);
        let missing = run(caducee(&db.url).args(["registry", "get", "10000000009"]));
        assert_eq!(missing.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&missing.stderr).contains("aucun professionnel"));

        let original = digest(&db.url).await;
        let out = dir.path().join(format!("export-{dialect:?}"));
        ok(caducee(&db.url).args(["export", "rpps", "--out"]).arg(&out));
        let copy = TestDb::new(dialect).await;
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 3);
        ok(caducee(&copy.url).args(["import", "rpps"]).args(&files));
        assert_eq!(
            digest(&copy.url).await,
            original,
            "{dialect:?}: import of the export differs"
        );
        digests.push(original);
        db.cleanup().await;
        copy.cleanup().await;
    }
    assert_eq!(
        digests[0], digests[1],
        "SQLite and PostgreSQL registries differ"
    );
}

#[tokio::test]
async fn reg_10_import_killed_half_way_then_rerun_ends_like_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 20_000);
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let reference = TestDb::new(dialect).await;
        ok(caducee(&reference.url).args(["import", "rpps"]).arg(&file));
        let expected = digest(&reference.url).await;

        let db = TestDb::new(dialect).await;
        // Load an older state first, so the interrupted run also has rows to end.
        let older = dir.path().join("older.txt");
        ok(caducee("sqlite://unused.db")
            .args(["generate", "rpps", "--rows", "500", "--seed", "99", "--out"])
            .arg(&older));
        ok(caducee(&db.url).args(["import", "rpps"]).arg(&older));
        let before = db
            .store
            .count("SELECT COUNT(*) FROM reg_activity")
            .await
            .unwrap();
        let mut child = caducee(&db.url)
            .args(["import", "rpps", "--batch-lines", "200"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = db
                .store
                .count("SELECT COUNT(*) FROM reg_activity")
                .await
                .unwrap();
            if n > before + 1_000 {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "import finished before it could be killed"
            );
            assert!(Instant::now() < deadline, "import made no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL: no cleanup, no last transaction
        let status = child.wait().unwrap();
        assert!(!status.success());
        let partial = db
            .store
            .count("SELECT COUNT(*) FROM reg_activity WHERE ended_at IS NULL")
            .await
            .unwrap();
        assert!(
            partial < 20_000,
            "the kill came too late to prove anything ({partial})"
        );

        ok(caducee(&db.url).args(["import", "rpps"]).arg(&file));
        // The rerun ends the older rows too; compare the active registry of the file.
        let active = db
            .store
            .count("SELECT COUNT(*) FROM reg_activity WHERE ended_at IS NULL")
            .await
            .unwrap();
        let reference_active = reference
            .store
            .count("SELECT COUNT(*) FROM reg_activity")
            .await
            .unwrap();
        assert_eq!(active, reference_active, "{dialect:?}");
        sqlx_delete_older(&db, &older).await;
        assert_eq!(
            digest(&db.url).await,
            expected,
            "{dialect:?}: interrupted + rerun differs from uninterrupted"
        );
        reference.cleanup().await;
        db.cleanup().await;
    }
}

/// Removes what only the older file brought (ended activities and their persons), so the
/// digest compares the registry of the newer file alone.
async fn sqlx_delete_older(db: &TestDb, _older: &Path) {
    use caducee_store::sqlx;
    let pool = db.store.pool();
    sqlx::query("DELETE FROM reg_activity WHERE ended_at IS NOT NULL")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM reg_person WHERE idnat NOT IN (SELECT idnat FROM reg_activity)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM reg_structure WHERE id NOT IN (SELECT structure_id FROM reg_activity)",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[test]
fn reg_10_unknown_header_stops_at_once_naming_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.txt");
    std::fs::write(&file, "Identifiant PP|Nom|\n1|x|\n").unwrap();
    let out = run(caducee(&format!("sqlite://{}/c.db", dir.path().display()))
        .args(["import", "rpps"])
        .arg(&file));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("en-tête non reconnu") && err.contains("Type d'identifiant PP"),
        "{err}"
    );
}

/// A SQLite registry in `dir` with `rows` generated lines imported: its URL and the
/// identifier of the first professional of the file.
fn imported_registry(dir: &Path, rows: u64) -> (String, String) {
    let file = generate(dir, rows);
    let url = format!("sqlite://{}/c.db", dir.display());
    ok(caducee(&url).args(["import", "rpps"]).arg(&file));
    let text = std::fs::read_to_string(&file).unwrap();
    let id = text
        .lines()
        .nth(1)
        .unwrap()
        .split('|')
        .nth(2)
        .unwrap()
        .to_string();
    (url, id)
}

#[tokio::test]
async fn reg_11_cli_contact_validates_in_french_and_normalises() {
    let dir = tempfile::tempdir().unwrap();
    let (url, id) = imported_registry(dir.path(), 50);
    let bad = run(caducee(&url).args([
        "registry",
        "contact",
        &id,
        "--email",
        "nope",
        "--mobile",
        "0612345678",
    ]));
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("adresse"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let bad = run(caducee(&url).args([
        "registry",
        "contact",
        &id,
        "--email",
        "a@example.test",
        "--mobile",
        "12",
    ]));
    assert_eq!(bad.status.code(), Some(2));
    let good = ok(caducee(&url).args([
        "registry",
        "contact",
        &id,
        "--email",
        "Jean.Dupont@Example.test",
        "--mobile",
        "06 12 34 56 78",
        "--address",
        "1 rue de la Paix 75002 Paris",
        "--operator",
        "alice",
    ]));
    let stored: serde_json::Value = serde_json::from_str(&good).unwrap();
    assert_eq!(stored["mobile"], "+33612345678");
    let store = Store::connect(&url).await.unwrap();
    let events = caducee_store::audit::events_for(&store, &id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "operator:alice");
}

#[path = "cli/attestation.rs"]
mod attestation;
#[path = "cli/hardening.rs"]
mod hardening;
#[path = "cli/identity.rs"]
mod identity;
#[path = "cli/portals.rs"]
mod portals;

#[path = "cli/ecps.rs"]
mod ecps;

/// Starts `caducee serve`, returns the child and its base URL (read from stdout).
fn serve(url: &str, extra: &[&str]) -> (std::process::Child, String) {
    serve_full(url, extra, &[])
}

fn serve_with(url: &str, env: &[(&str, &str)]) -> (std::process::Child, String) {
    serve_full(url, &[], env)
}

fn serve_full(url: &str, extra: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String) {
    // The server's log goes to a file, shown if it does not start.
    let log = tempfile::NamedTempFile::new().unwrap();
    // Its own working directory: on PostgreSQL the data directory (the demo's test
    // authority) is ./data, which must not land in the source tree. Left behind with the
    // other temporary files, as the child may outlive this function's scope.
    let cwd = tempfile::tempdir().unwrap().keep();
    let mut child = caducee(url)
        .current_dir(&cwd)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line}\nserver log:\n{}",
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
    (child, base)
}

#[tokio::test]
async fn nfr_03_serve_demo_answers_probes_and_seeds_personas() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/c.db", dir.path().display());
    let (mut child, base) = serve(&url, &["--demo"]);
    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    let sent = http
        .get(format!("{base}/readyz"))
        .header("x-request-id", "test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(sent.headers()["x-request-id"], "test-42");
    let home = http.get(&base).send().await.unwrap().text().await.unwrap();
    assert!(
        home.contains("lang=\"fr\"") && home.contains("professionnels"),
        "{home}"
    );
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("caducee_http_requests_total"), "{metrics}");
    child.kill().unwrap();
    child.wait().unwrap();

    // The personas have contact coordinates and a birth date; a restart adds nothing.
    let persona = caducee_registry::generate::demo_personas().remove(0);
    let json: serde_json::Value =
        serde_json::from_str(&ok(caducee(&url).args(["registry", "get", &persona.rpps]))).unwrap();
    assert_eq!(json["contact"]["email"], persona.email);
    assert_eq!(json["civilIdentity"]["birthDate"], persona.birth_date);
    let stats = ok(caducee(&url).args(["registry", "stats"]));
    let (mut again, _) = serve(&url, &["--demo"]);
    again.kill().unwrap();
    again.wait().unwrap();
    assert_eq!(ok(caducee(&url).args(["registry", "stats"])), stats);
}

/// Issue 10 item 1: the README's `serve --demo` starts on a database that already holds an
/// imported extract (without the personas): the personas are added, the imported rows are
/// left as they were.
#[tokio::test]
async fn nfr_03_serve_demo_starts_on_an_imported_registry() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 300);
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let db = TestDb::new(dialect).await;
        ok(caducee(&db.url).args(["import", "rpps"]).arg(&file));
        let before: serde_json::Value =
            serde_json::from_str(&ok(caducee(&db.url).args(["registry", "stats"]))).unwrap();
        let secret = "a shared instance secret of 32 characters or more";
        let (mut child, base) =
            serve_full(&db.url, &["--demo"], &[("CADUCEE_INSTANCE_SECRET", secret)]);
        let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
        assert_eq!(ready.status(), 200, "{dialect:?}");
        child.kill().unwrap();
        child.wait().unwrap();
        let personas = caducee_registry::generate::demo_personas();
        for persona in &personas {
            let json: serde_json::Value = serde_json::from_str(&ok(caducee(&db.url).args([
                "registry",
                "get",
                &persona.rpps,
            ])))
            .unwrap();
            assert_eq!(json["contact"]["email"], persona.email, "{dialect:?}");
        }
        let after: serde_json::Value =
            serde_json::from_str(&ok(caducee(&db.url).args(["registry", "stats"]))).unwrap();
        assert_eq!(
            after["persons"].as_i64().unwrap(),
            before["persons"].as_i64().unwrap()
                + personas.len() as i64
                + i64::from(caducee_registry::generate::persona_without_contact().is_some()),
            "{dialect:?}: only the personas are added (and the one without coordinates, REG-12)"
        );
        assert_eq!(
            after["endedActivities"], before["endedActivities"],
            "{after}"
        );
        db.cleanup().await;
    }
}

#[test]
fn nfr_03_database_url_comes_from_a_secret_file_and_bad_urls_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db-url");
    std::fs::write(
        &secret,
        format!("sqlite://{}/from-file.db\n", dir.path().display()),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caducee"));
    cmd.env_remove("CADUCEE_DATABASE_URL")
        .env("CADUCEE_DATABASE_URL_FILE", &secret)
        .current_dir(dir.path());
    ok(cmd.args(["registry", "stats"]));
    assert!(dir.path().join("from-file.db").exists());
    let out = run(caducee("mysql://x/y").args(["registry", "stats"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("URL de base de données non reconnue"));
}

/// A free TCP port on loopback (nothing listens on it once this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The notify tests' real SMTP server (Python aiosmtpd), killed on drop.
struct SmtpSink {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        // Read when the test runs (cargo and nextest set it): the value compiled in names the
        // checkout that built the binary, which a shared build cache may have outlived.
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        let script = manifest.join("../notify/tests/smtp_sink.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink { child, dir }
    }

    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls the outbox row until `done` holds (the server under test runs on the real clock).
async fn wait_for(
    store: &Store,
    id: &str,
    what: &str,
    done: impl Fn(&caducee_notify::StoredMessage) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = caducee_notify::get(store, id).await.unwrap().unwrap();
        if done(&m) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what} ({m:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn nfr_01_message_queued_then_kill_9_is_delivered_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    ok(caducee(&url).args(["registry", "stats"])); // creates the schema
    let store = Store::connect(&url).await.unwrap();
    let clock = caducee_core::clock::system_clock();
    let to = caducee_core::contact::Email::parse("julie.martin@example.test").unwrap();
    let msg = caducee_notify::OutgoingMessage::email(
        to,
        caducee_notify::Template::EmailVerificationCode {
            portal: "caducee".into(),
            code: "482915".into(),
            validity_minutes: 10,
        },
    );
    let id = caducee_notify::enqueue_now(&store, clock.as_ref(), &msg)
        .await
        .unwrap();

    // The SMTP server is down: the first node tries, records the failure, and is killed -9.
    let port = free_port();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let (mut first, _) = serve_with(&url, &[("CADUCEE_SMTP_URL", smtp.as_str())]);
    wait_for(&store, &id, "a failed attempt", |m| {
        m.attempts >= 1 && m.claimed_until.is_none()
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        caducee_notify::get(&store, &id)
            .await
            .unwrap()
            .unwrap()
            .status,
        caducee_notify::Status::Pending
    );

    // The server comes back, so does caducee: the message goes out, once.
    let sink = SmtpSink::start(port);
    let (mut second, _) = serve_with(&url, &[("CADUCEE_SMTP_URL", smtp.as_str())]);
    wait_for(&store, &id, "delivery", |m| {
        m.status == caducee_notify::Status::Sent
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    let received = sink.messages();
    assert_eq!(received.len(), 1, "delivered exactly once");
    let stored = caducee_notify::get(&store, &id).await.unwrap().unwrap();
    assert!(
        received[0].contains(&stored.message_id),
        "stable Message-ID"
    );
    assert!(received[0].contains("482915"));
    assert!(
        !stored.body_text.contains("482915"),
        "the code is scrubbed from the outbox once sent"
    );
}

#[tokio::test]
async fn dev_outbox_page_exists_only_in_demo_mode() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let http = reqwest::Client::new();
    let (mut prod, base) = serve(&url, &[]);
    assert_eq!(
        http.get(format!("{base}/dev/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    prod.kill().unwrap();
    prod.wait().unwrap();

    let store = Store::connect(&url).await.unwrap();
    let to = caducee_core::contact::Mobile::parse("06 12 34 56 01").unwrap();
    let msg = caducee_notify::OutgoingMessage::sms(
        to,
        caducee_notify::Template::EcpsActivationCode {
            code: "731904".into(),
            validity_minutes: 10,
        },
    );
    caducee_notify::enqueue_now(&store, caducee_core::clock::system_clock().as_ref(), &msg)
        .await
        .unwrap();
    let (mut demo, base) = serve(&url, &["--demo"]);
    let page = http.get(format!("{base}/dev/outbox")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("+33612345601") && page.contains("731904"),
        "{page}"
    );
    demo.kill().unwrap();
    demo.wait().unwrap();
}

#[tokio::test]
async fn psc_04_cli_activate_then_approve_through_the_real_api() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let (mut child, base) = serve(&url, &["--demo"]);
    let persona = caducee_registry::generate::demo_personas().remove(0);
    let store_dir = dir.path().join("device");
    let sd = store_dir.to_str().unwrap();
    let password = "mot de passe e-CPS";
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    let bad_pw = dir.path().join("bad");
    std::fs::write(&bad_pw, "pas le bon mot de passe\n").unwrap();

    let started = ok(caducee(&url).args([
        "ecps",
        "activate",
        "start",
        "--server",
        &base,
        "--id",
        &persona.rpps,
        "--store",
        sd,
    ]));
    assert!(
        started.contains("e-mail") && started.contains("SMS"),
        "{started}"
    );
    assert!(
        !started.contains(persona.email),
        "hints are masked: {started}"
    );

    let store = Store::connect(&url).await.unwrap();
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&store).await;
    let finished = ok(caducee(&url)
        .args([
            "ecps",
            "activate",
            "finish",
            "--email-code",
            &e,
            "--sms-code",
            &s,
            "--store",
            sd,
            "--password-file",
        ])
        .arg(&pw));
    assert!(finished.contains("e-CPS activée"), "{finished}");

    // The key file: 0600, and no clear key material in the store directory.
    let device = store_dir.join("device.json");
    let mode = std::fs::metadata(&device).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&device).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(json["key"]["ciphertext"].is_string());
    for f in std::fs::read_dir(&store_dir).unwrap() {
        let t = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!t.contains("\"d\"") && !t.contains("PRIVATE KEY") && !t.contains(password));
    }
    let status = ok(caducee(&url).args(["ecps", "status", "--store", sd]));
    assert!(status.contains(&persona.idnat), "{status}");

    let ecps = caducee_ecps_server::EcpsServer::new(
        store.clone(),
        caducee_core::clock::system_clock(),
        caducee_notify::Waker::new(),
        caducee_ecps_server::EcpsConfig::default(),
    );
    let req = ecps
        .create_request(&persona.idnat, "Portail de test", None)
        .await
        .unwrap();

    // Wrong password: refused locally, in French, nothing sent (the request stays pending).
    let out = run(caducee(&url)
        .args([
            "ecps", "approve", "--code", &req.code, "--wait", "2", "--store", sd,
        ])
        .arg("--password-file")
        .arg(&bad_pw));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mot de passe e-CPS incorrect"), "{err}");
    assert_eq!(
        ecps.request_state(&req.id).await.unwrap().status,
        caducee_ecps_server::RequestStatus::Pending
    );

    let approved = ok(caducee(&url)
        .args([
            "ecps", "approve", "--code", &req.code, "--wait", "10", "--store", sd,
        ])
        .arg("--password-file")
        .arg(&pw));
    assert!(approved.contains("approuvée"), "{approved}");
    assert_eq!(
        ecps.request_state(&req.id).await.unwrap().status,
        caducee_ecps_server::RequestStatus::Approved
    );

    // No request left: a short wait ends with a non-zero status and a French message.
    let out = run(caducee(&url)
        .args([
            "ecps", "approve", "--code", &req.code, "--wait", "1", "--store", sd,
        ])
        .arg("--password-file")
        .arg(&pw));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Aucune demande"));

    // `watch` with piped stdin: a wrong password is re-asked, then the code is chosen.
    let req = ecps
        .create_request(&persona.idnat, "Portail de test", None)
        .await
        .unwrap();
    let mut watch = caducee(&url)
        .args(["ecps", "watch", "--store", sd])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = watch.stdin.take().unwrap();
        write!(stdin, "pas le bon\n{password}\n{}\n", req.code).unwrap();
        // Kept open: the watch goes back to waiting after answering.
        std::mem::forget(stdin);
    }
    // Two argon2id derivations of 256 MiB (the wrong password, then the right one) on a
    // machine that may be running the rest of the suite: a generous bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ecps.request_state(&req.id).await.unwrap().status
        != caducee_ecps_server::RequestStatus::Approved
    {
        assert!(
            std::time::Instant::now() < deadline,
            "watch did not approve"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Mot de passe e-CPS incorrect"), "{stderr}");
    assert!(stdout.contains("Portail de test"), "{stdout}");
    assert!(
        stdout.contains("[1] ") && stdout.contains("[3] "),
        "{stdout}"
    );
    assert!(stdout.contains("Demande approuvée"), "{stdout}");

    store.close().await;
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A real SMS gateway for the end-to-end tests: an HTTP listener on an ephemeral port that
/// records the JSON bodies `caducee serve` posts to it (`{"to", "text"}`) and answers 202.
struct SmsGateway {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl SmsGateway {
    async fn start() -> SmsGateway {
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post({
                let received = received.clone();
                move |axum::Json(body): axum::Json<serde_json::Value>| {
                    let received = received.clone();
                    async move {
                        received.lock().unwrap().push(body);
                        axum::http::StatusCode::ACCEPTED
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SmsGateway { url, received }
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }
}

/// Waits (real time: the server under test runs on the system clock) until `probe` gives
/// something.
async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The code of an e-mail as the SMTP server received it: the line of the plain-text part
/// that holds only six digits (quoted-printable leaves digits and spaces as they are).
fn code_in_email(raw: &str) -> Option<String> {
    raw.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// `caducee serve` (not in demo mode) with its e-mails going to the real SMTP server and
/// its SMS to a real HTTP gateway, a registry of generated professionals, and one of them
/// with contact coordinates set by an operator; the e-CPS of that professional activated
/// with `caducee ecps activate start|finish` and the codes read from the e-mail and the SMS.
struct EcpsRig {
    dir: tempfile::TempDir,
    url: String,
    store: Store,
    server: std::process::Child,
    base: String,
    idnat: String,
    device_dir: std::path::PathBuf,
    password_file: std::path::PathBuf,
    _smtp: SmtpSink,
    _sms: SmsGateway,
}

const ECPS_PASSWORD: &str = "mot de passe e-CPS";
const ECPS_EMAIL: &str = "claire.durand@cabinet.example.test";

impl EcpsRig {
    async fn activated() -> EcpsRig {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/c.db", dir.path().display());
        let file = generate(dir.path(), 30);
        ok(caducee(&url).args(["import", "rpps"]).arg(&file));
        let text = std::fs::read_to_string(&file).unwrap();
        let first: Vec<String> = text
            .lines()
            .nth(1)
            .unwrap()
            .split('|')
            .map(str::to_string)
            .collect();
        let (rpps, idnat) = (first[1].clone(), first[2].clone());
        ok(caducee(&url).args([
            "registry",
            "contact",
            &idnat,
            "--email",
            ECPS_EMAIL,
            "--mobile",
            "06 12 34 56 99",
            "--operator",
            "alice",
        ]));

        let smtp_port = free_port();
        let smtp = SmtpSink::start(smtp_port);
        let sms = SmsGateway::start().await;
        let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
        let (server, base) = serve_with(
            &url,
            &[
                ("CADUCEE_SMTP_URL", smtp_url.as_str()),
                ("CADUCEE_SMS_URL", sms.url.as_str()),
            ],
        );
        let store = Store::connect(&url).await.unwrap();
        let device_dir = dir.path().join("device");
        let password_file = dir.path().join("pw");
        std::fs::write(&password_file, format!("{ECPS_PASSWORD}\n")).unwrap();

        // The RPPS as a professional types it (without the leading 8 of the idNat).
        let started = ok(caducee(&url).args([
            "ecps",
            "activate",
            "start",
            "--server",
            &base,
            "--id",
            &rpps,
            "--store",
            device_dir.to_str().unwrap(),
        ]));
        assert!(
            started.contains("cl***") && started.contains("+3361***99"),
            "masked hints: {started}"
        );
        assert!(!started.contains(ECPS_EMAIL), "{started}");

        // The codes, from what the SMTP server and the SMS gateway received.
        let mail = eventually("the activation e-mail", || smtp.messages().pop()).await;
        assert!(mail.contains(&format!("To: {ECPS_EMAIL}")), "{mail}");
        assert!(
            mail.contains("Subject: Votre code d'activation e-CPS"),
            "{mail}"
        );
        let email_code = code_in_email(&mail).expect("a 6-digit code in the e-mail");
        let sms_msg = eventually("the activation SMS", || sms.messages().pop()).await;
        assert_eq!(sms_msg["to"], "+33612345699");
        let sms_text = sms_msg["text"].as_str().unwrap();
        assert!(sms_text.starts_with("e-CPS : votre code d'activation est"));
        let sms_code =
            caducee_ecps_server::testkit::six_digit_run(sms_text).expect("a code in the SMS");
        // Sent, so scrubbed from the database: the codes could only come from the channels.
        let outbox = caducee_notify::recent(&store, 10).await.unwrap();
        assert_eq!(outbox.len(), 2);
        for m in &outbox {
            assert_eq!(m.status, caducee_notify::Status::Sent, "{m:?}");
            assert_eq!(m.body_text, caducee_notify::SCRUBBED_BODY);
        }

        let finished = ok(caducee(&url)
            .args([
                "ecps",
                "activate",
                "finish",
                "--email-code",
                &email_code,
                "--sms-code",
                &sms_code,
                "--store",
                device_dir.to_str().unwrap(),
                "--password-file",
            ])
            .arg(&password_file));
        assert!(finished.contains("e-CPS activée"), "{finished}");
        EcpsRig {
            dir,
            url,
            store,
            server,
            base,
            idnat,
            device_dir,
            password_file,
            _smtp: smtp,
            _sms: sms,
        }
    }

    /// The identity provider's side: an authentication request for this professional.
    async fn request(&self, service: &str) -> caducee_ecps_server::AuthRequest {
        caducee_ecps_server::EcpsServer::new(
            self.store.clone(),
            caducee_core::clock::system_clock(),
            caducee_notify::Waker::new(),
            caducee_ecps_server::EcpsConfig::default(),
        )
        .create_request(&self.idnat, service, None)
        .await
        .unwrap()
    }

    async fn status(&self, request_id: &str) -> caducee_ecps_server::RequestStatus {
        caducee_ecps_server::EcpsServer::new(
            self.store.clone(),
            caducee_core::clock::system_clock(),
            caducee_notify::Waker::new(),
            caducee_ecps_server::EcpsConfig::default(),
        )
        .request_state(request_id)
        .await
        .unwrap()
        .status
    }

    /// `caducee ecps approve --code CODE` with the e-CPS password.
    fn approve(&self, code: &str) -> Output {
        run(caducee(&self.url)
            .args(["ecps", "approve", "--code", code, "--wait", "10", "--store"])
            .arg(&self.device_dir)
            .arg("--password-file")
            .arg(&self.password_file))
    }

    /// The device's own client (key opened with the password), to send through the real
    /// device API what the CLI refuses to send (a wrong password).
    fn device_client(&self) -> caducee_ecps::DeviceClient {
        let state = caducee_ecps::DeviceStore::new(&self.device_dir)
            .load_device()
            .unwrap();
        assert_eq!(state.server, self.base);
        let key = state.key.open(ECPS_PASSWORD).unwrap();
        caducee_ecps::EcpsClient::new(&state.server)
            .unwrap()
            .device(&state.device_id, &key)
    }
}

impl Drop for EcpsRig {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = &self.dir;
    }
}

/// PSC-04 then PSC-03, end to end: the real binary serving, the codes read from the e-mail
/// received by a real SMTP server and the SMS received by a real HTTP gateway (never from
/// the database, where they are scrubbed once sent), activation with `caducee ecps activate
/// start|finish`, then a login request approved with `caducee ecps approve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psc_04_cli_activation_with_codes_from_real_smtp_and_sms_then_approve() {
    let rig = EcpsRig::activated().await;
    let status = ok(caducee(&rig.url)
        .args(["ecps", "status", "--store"])
        .arg(&rig.device_dir));
    assert!(status.contains(&rig.idnat), "{status}");
    let req = rig.request("ROR National").await;
    let out = rig.approve(&req.code);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Demande de « ROR National » approuvée"),
        "{stdout}"
    );
    assert_eq!(
        rig.status(&req.id).await,
        caducee_ecps_server::RequestStatus::Approved
    );
    let actions: Vec<String> = caducee_store::audit::events_for(&rig.store, &rig.idnat)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "ecps.activation.started",
        "ecps.device.activated",
        "ecps.request.approved",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// PSC-03, end to end on an e-CPS activated through the real channels: picking a wrong
/// code with `caducee ecps approve` denies the request; 5 wrong passwords through the real
/// device API (the CLI refuses a wrong password before sending anything) lock the e-CPS,
/// and the 6th attempt, with the right password, is refused with the locked message, both
/// through the API and through `caducee ecps approve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psc_03_cli_wrong_code_denies_and_five_wrong_passwords_lock() {
    let rig = EcpsRig::activated().await;

    // A wrong code: one of the three choices, not the one the login page shows.
    let req = rig.request("Ordre").await;
    let choices: String =
        caducee_store::sqlx::query("SELECT choices FROM ecps_request WHERE id = $1")
            .bind(&req.id)
            .fetch_one(rig.store.pool())
            .await
            .map(|r| caducee_store::sqlx::Row::try_get(&r, 0).unwrap())
            .unwrap();
    let wrong = choices.split(',').find(|c| *c != req.code).unwrap();
    let out = rig.approve(wrong);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusée") && stderr.contains("n'est pas celui affiché"),
        "{stderr}"
    );
    assert_eq!(
        rig.status(&req.id).await,
        caducee_ecps_server::RequestStatus::Denied
    );

    // Five wrong passwords through the device API: 4 warnings, then the lock (423).
    let device = rig.device_client();
    let req = rig.request("RPLUS").await;
    for remaining in (1..5).rev() {
        let o = device
            .answer(&req.id, &req.code, "pas le bon mot de passe")
            .await
            .unwrap();
        assert_eq!(o.outcome, "wrong_password");
        assert_eq!(o.remaining, Some(remaining));
    }
    let locked_message = |e: caducee_ecps::AuthenticatorError| match e {
        caducee_ecps::AuthenticatorError::Api {
            status,
            code,
            message,
        } => {
            assert_eq!((status, code.as_str()), (423, "device_locked"));
            message
        }
        other => panic!("{other:?}"),
    };
    let fifth = device
        .answer(&req.id, &req.code, "pas le bon mot de passe")
        .await
        .unwrap_err();
    let msg = locked_message(fifth);
    assert!(
        msg.contains("verrouillée") && msg.contains("réactivez-la"),
        "{msg}"
    );
    assert_eq!(
        rig.status(&req.id).await,
        caducee_ecps_server::RequestStatus::Denied
    );
    // The 6th, with the right password: refused, through the API and through the CLI.
    let sixth = device
        .answer(&req.id, &req.code, ECPS_PASSWORD)
        .await
        .unwrap_err();
    locked_message(sixth);
    let out = rig.approve(&req.code);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verrouillée après trop de mots de passe erronés")
            && stderr.contains("réactivez-la"),
        "{stderr}"
    );
    let actions: Vec<String> = caducee_store::audit::events_for(&rig.store, &rig.idnat)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "ecps.request.wrong_password")
            .count(),
        5
    );
    assert!(actions.iter().any(|a| a == "ecps.device.locked"));
    assert!(actions.iter().any(|a| a == "ecps.request.denied"));
}

#[tokio::test]
async fn psc_01_cli_client_add_list_remove_on_both_engines() {
    const CLIENT_SECRET: &str = "0123456789abcdef0123456789abcdef-cli";
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let db = TestDb::new(dialect).await;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
        let out = ok(caducee(&db.url)
            .args([
                "client",
                "add",
                "--id",
                "portail",
                "--name",
                "Portail",
                "--secret-file",
            ])
            .arg(&secret)
            .args([
                "--redirect-uri",
                "https://portail.example/cb",
                "--redirect-uri",
                "https://portail.example/cb2",
                "--post-logout-redirect-uri",
                "https://portail.example/",
                "--grant",
                "authorization_code",
                "--grant",
                "refresh_token",
                "--grant",
                "client_credentials",
                "--backchannel-logout-uri",
                "https://portail.example/bc",
            ]));
        assert!(!out.contains(CLIENT_SECRET));
        let c: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(c["public"], false);
        assert_eq!(c["redirect_uris"].as_array().unwrap().len(), 2);
        assert_eq!(c["grants"].as_array().unwrap().len(), 3);
        // No secret file: a public client.
        let out = ok(caducee(&db.url).args([
            "client",
            "add",
            "--id",
            "spa",
            "--name",
            "Application monopage",
            "--redirect-uri",
            "https://spa.example/cb",
        ]));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out).unwrap()["public"],
            true
        );
        // Refused: a short secret, an unknown grant, a public client with client_credentials.
        let short = dir.path().join("short");
        std::fs::write(&short, "trop court").unwrap();
        let bad = run(caducee(&db.url)
            .args([
                "client",
                "add",
                "--id",
                "x",
                "--name",
                "X",
                "--grant",
                "client_credentials",
            ])
            .arg("--secret-file")
            .arg(&short));
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("32"));
        let bad = run(caducee(&db.url).args([
            "client", "add", "--id", "x", "--name", "X", "--grant", "password",
        ]));
        assert_eq!(bad.status.code(), Some(2));
        let bad = run(caducee(&db.url).args([
            "client",
            "add",
            "--id",
            "x",
            "--name",
            "X",
            "--grant",
            "client_credentials",
        ]));
        assert_eq!(bad.status.code(), Some(2));

        let list: serde_json::Value =
            serde_json::from_str(&ok(caducee(&db.url).args(["client", "list", "--json"]))).unwrap();
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["portail", "spa"]);
        let table = ok(caducee(&db.url).args(["client", "list"]));
        assert!(
            table.contains("portail") && table.contains("public"),
            "{table}"
        );
        assert!(!table.contains(CLIENT_SECRET) && !list.to_string().contains(CLIENT_SECRET));

        ok(caducee(&db.url).args(["client", "remove", "spa"]));
        let again = run(caducee(&db.url).args(["client", "remove", "spa"]));
        assert_eq!(again.status.code(), Some(3));

        let store = Store::connect(&db.url).await.unwrap();
        // Both in the same second: their order in the trail is not defined.
        let mut actions: Vec<String> = caducee_store::audit::events_for(&store, "spa")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        actions.sort();
        assert_eq!(actions, ["idp.client.added", "idp.client.removed"]);
        let stored: String = sqlx::Row::get(
            &sqlx::query("SELECT secret_hash FROM idp_client WHERE client_id = 'portail'")
                .fetch_one(store.pool())
                .await
                .unwrap(),
            0,
        );
        assert!(!stored.contains(CLIENT_SECRET));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn psc_01_serve_registers_config_clients_and_keeps_its_instance_secret() {
    const CLIENT_SECRET: &str = "0123456789abcdef0123456789abcdef-conf";
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/c.db", dir.path().display());
    let secret = dir.path().join("batch.secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let config = dir.path().join("caducee.toml");
    std::fs::write(
        &config,
        format!(
            "[[clients]]\nid = \"batch\"\nname = \"Traitement de nuit\"\nsecret_file = \"{}\"\ngrants = [\"client_credentials\"]\n",
            secret.display()
        ),
    )
    .unwrap();
    let conf = config.to_str().unwrap();
    // A setting of the `[idp]` table from the environment (`__` reaches into tables).
    let (mut child, base) = serve_full(
        &url,
        &["--config", conf],
        &[("CADUCEE_IDP__ACCESS_TOKEN_TTL_SECS", "300")],
    );
    let http = reqwest::Client::new();
    let token_url = format!("{base}/auth/realms/esante-wallet/protocol/openid-connect/token");
    let token = |http: reqwest::Client, url: String| async move {
        let v: serde_json::Value = http
            .post(url)
            .basic_auth("batch", Some(CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v
    };
    let first = token(http.clone(), token_url.clone()).await;
    assert!(first["access_token"].is_string(), "{first}");
    assert_eq!(first["expires_in"], 300);
    let jwks = jwks_of(&http, &base).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // The instance secret was generated once, readable by its owner only.
    let secret_file = dir.path().join("data/instance_secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A restart keeps the keys (same JWKS) and the client.
    let (mut child, base) = serve(&url, &["--config", conf]);
    let again = jwks_of(&http, &base).await;
    assert_eq!(jwks, again);
    let token_url = format!("{base}/auth/realms/esante-wallet/protocol/openid-connect/token");
    assert!(token(http.clone(), token_url).await["access_token"].is_string());
    child.kill().unwrap();
    child.wait().unwrap();
    // `keys rotate` adds a successor that the JWKS lists.
    let rotated: serde_json::Value =
        serde_json::from_str(&ok(caducee(&url).args(["keys", "rotate"]))).unwrap();
    let keys: serde_json::Value =
        serde_json::from_str(&ok(caducee(&url).args(["keys", "list"]))).unwrap();
    let listed = keys.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let new = listed.iter().find(|k| k["kid"] == rotated["kid"]).unwrap();
    assert_eq!(new["published"], true);
    assert_eq!(new["signing"], false);
}

/// The provider's published JWKS.
async fn jwks_of(http: &reqwest::Client, base: &str) -> serde_json::Value {
    http.get(format!(
        "{base}/auth/realms/esante-wallet/protocol/openid-connect/certs"
    ))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn psc_01_postgres_requires_a_shared_instance_secret() {
    let db = TestDb::new(Dialect::Postgres).await;
    let out = run(caducee(&db.url).args(["keys", "list"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CADUCEE_INSTANCE_SECRET") && err.contains("tous les nœuds"),
        "{err}"
    );
    // With one, the first keys are created on first start and listed.
    let secret = "a shared instance secret of 32 characters or more";
    let out = ok(caducee(&db.url)
        .env("CADUCEE_INSTANCE_SECRET", secret)
        .args(["keys", "rotate", "--alg", "ES256"]));
    assert!(out.contains("ES256"), "{out}");
    let listed: serde_json::Value = serde_json::from_str(&ok(caducee(&db.url)
        .env("CADUCEE_INSTANCE_SECRET", secret)
        .args(["keys", "list"])))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Another secret cannot open them.
    let out = run(caducee(&db.url)
        .env(
            "CADUCEE_INSTANCE_SECRET",
            "another secret, also 32 characters long",
        )
        .args(["keys", "list"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ne peut pas être déchiffrée"));
    db.cleanup().await;
}

/// Issue 10 item 2: two Personne_activite files in one command are two parts of one extract:
/// neither ends the other's activities, and what none of them lists is ended once both are
/// in; the registry ends as after importing the two concatenated. One file per command
/// keeps the old behaviour (it is the whole extract).
#[tokio::test]
async fn reg_10_files_of_one_kind_in_one_command_are_parts_of_one_extract() {
    let dir = tempfile::tempdir().unwrap();
    let gen = |name: &str, rows: &str, seed: &str| {
        let out = dir.path().join(name);
        ok(caducee("sqlite://unused.db")
            .args(["generate", "rpps", "--rows", rows, "--seed", seed, "--out"])
            .arg(&out));
        out
    };
    let a = gen("a.txt", "200", "11");
    let b = gen("b.txt", "200", "12");
    let old = gen("old.txt", "50", "13");
    let whole = dir.path().join("whole.txt");
    let b_text = std::fs::read_to_string(&b).unwrap();
    let b_lines = b_text.split_once('\n').unwrap().1;
    std::fs::write(&whole, std::fs::read_to_string(&a).unwrap() + b_lines).unwrap();
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let ended = "SELECT COUNT(*) FROM reg_activity WHERE ended_at IS NOT NULL";
        let active = "SELECT COUNT(*) FROM reg_activity WHERE ended_at IS NULL";
        let reference = TestDb::new(dialect).await;
        ok(caducee(&reference.url).args(["import", "rpps"]).arg(&old));
        ok(caducee(&reference.url).args(["import", "rpps"]).arg(&whole));
        let expected_ended = reference.store.count(ended).await.unwrap();
        assert!(expected_ended > 0, "the older extract has rows to end");

        let db = TestDb::new(dialect).await;
        ok(caducee(&db.url).args(["import", "rpps"]).arg(&old));
        let out = ok(caducee(&db.url)
            .args(["import", "rpps", "--batch-lines", "50"])
            .arg(&a)
            .arg(&b));
        assert_eq!(
            db.store.count(ended).await.unwrap(),
            expected_ended,
            "{dialect:?}: {out}"
        );
        assert_eq!(
            digest(&db.url).await,
            digest(&reference.url).await,
            "{dialect:?}: two parts in one command differ from the whole extract"
        );
        assert!(
            out.contains(&format!(
                "{expected_ended} retirées (absentes des 2 fichiers)"
            )),
            "the retirement is reported once, for both files: {out}"
        );

        // One file alone is the whole extract: b ends what only a listed.
        let b_alone = TestDb::new(dialect).await;
        ok(caducee(&b_alone.url).args(["import", "rpps"]).arg(&b));
        ok(caducee(&db.url).args(["import", "rpps"]).arg(&b));
        assert_eq!(
            db.store.count(active).await.unwrap(),
            b_alone.store.count(active).await.unwrap(),
            "{dialect:?}"
        );
        reference.cleanup().await;
        b_alone.cleanup().await;
        db.cleanup().await;
    }
}

/// Issue 10 item 3: when the report cannot be written beside the input (a read-only
/// folder; here `/proc/self/fd`, where nobody, not even root, may create a file), it goes
/// to the working directory, and the summary says where.
#[tokio::test]
async fn reg_10_report_goes_to_the_working_directory_when_the_input_folder_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let mut text = std::fs::read_to_string(generate(dir.path(), 20)).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("8|123|\n"); // wrong number of fields: rejected into the report
    std::fs::write(&input, text).unwrap();
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let db = TestDb::new(dialect).await;
        let cwd = tempfile::tempdir().unwrap();
        let out = ok(caducee(&db.url)
            .current_dir(cwd.path())
            .args(["import", "rpps", "/proc/self/fd/0"])
            .stdin(std::fs::File::open(&input).unwrap()));
        let report = cwd.path().join("0.report.tsv");
        let written = std::fs::read_to_string(&report).unwrap_or_else(|e| {
            panic!("{dialect:?}: no report in the working directory ({e}): {out}")
        });
        assert!(written.contains("22\trejet\t2 champs"), "{written}");
        assert!(
            out.contains(&format!("rapport : {}", report.display())),
            "the summary names where the report went: {out}"
        );
        db.cleanup().await;
    }
}
