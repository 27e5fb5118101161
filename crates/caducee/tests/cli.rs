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

#[tokio::test]
async fn reg_11_cli_contact_validates_in_french_and_normalises() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 50);
    let url = format!("sqlite://{}/c.db", dir.path().display());
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

/// Starts `caducee serve`, returns the child and its base URL (read from stdout).
fn serve(url: &str, extra: &[&str]) -> (std::process::Child, String) {
    serve_full(url, extra, &[])
}

fn serve_with(url: &str, env: &[(&str, &str)]) -> (std::process::Child, String) {
    serve_full(url, &[], env)
}

fn serve_full(url: &str, extra: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut child = caducee(url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line}"
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
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../notify/tests/smtp_sink.py");
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
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
