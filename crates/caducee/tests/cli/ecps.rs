//! `caducee ecps …` against a real `caducee serve --demo` (issue 10, items 11 and 18): which
//! request `approve --code` answers when several are pending, and the local seal of the
//! device key.

use super::*;

/// A `serve --demo` with Julie Martin's e-CPS activated through `caducee ecps activate
/// start|finish` (codes read from the outbox), and the identity provider's side of the
/// e-CPS on the same database to create requests.
struct DemoPhone {
    dir: tempfile::TempDir,
    url: String,
    server: std::process::Child,
    store: Store,
    idnat: String,
    device_dir: std::path::PathBuf,
    password_file: std::path::PathBuf,
    ecps: caducee_ecps_server::EcpsServer,
}

impl DemoPhone {
    async fn activated() -> DemoPhone {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/c.db", dir.path().display());
        let (server, base) = serve(&url, &["--demo"]);
        let persona = caducee_registry::generate::demo_personas().remove(0);
        let device_dir = dir.path().join("device");
        let password_file = dir.path().join("pw");
        std::fs::write(&password_file, "mot de passe e-CPS\n").unwrap();
        ok(caducee(&url)
            .args(["ecps", "activate", "start", "--server", &base, "--id"])
            .arg(&persona.rpps)
            .arg("--store")
            .arg(&device_dir));
        let store = Store::connect(&url).await.unwrap();
        let (e, s) = caducee_ecps_server::testkit::activation_codes(&store).await;
        ok(caducee(&url)
            .args([
                "ecps",
                "activate",
                "finish",
                "--email-code",
                &e,
                "--sms-code",
                &s,
            ])
            .arg("--store")
            .arg(&device_dir)
            .arg("--password-file")
            .arg(&password_file));
        let ecps = caducee_ecps_server::EcpsServer::new(
            store.clone(),
            caducee_core::clock::system_clock(),
            caducee_notify::Waker::new(),
            caducee_ecps_server::EcpsConfig::default(),
        );
        DemoPhone {
            dir,
            url,
            server,
            store,
            idnat: persona.idnat.to_string(),
            device_dir,
            password_file,
            ecps,
        }
    }

    /// A request of `service` whose code is `code` (as a CIBA binding message sets it).
    async fn request(&self, service: &str, code: &str) -> caducee_ecps_server::AuthRequest {
        self.ecps
            .create_request(&self.idnat, service, Some(code))
            .await
            .unwrap()
    }

    async fn status(&self, id: &str) -> caducee_ecps_server::RequestStatus {
        self.ecps.request_state(id).await.unwrap().status
    }

    /// `caducee ecps approve --code CODE --wait 2 EXTRA…`.
    fn approve(&self, code: &str, extra: &[&str]) -> Output {
        run(caducee(&self.url)
            .args(["ecps", "approve", "--code", code, "--wait", "2"])
            .args(extra)
            .arg("--store")
            .arg(&self.device_dir)
            .arg("--password-file")
            .arg(&self.password_file))
    }
}

impl Drop for DemoPhone {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = &self.dir;
    }
}

/// Issue 10 item 11: with two pending requests offering the code, `approve --code` refuses
/// (in French, non-zero, nothing answered) unless `--service` or `--request` says which, and
/// always names the service it approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_11_approve_refuses_a_code_two_pending_requests_offer() {
    use caducee_ecps_server::RequestStatus::{Approved, Pending};
    let phone = DemoPhone::activated().await;
    let a = phone.request("Portail A", "42").await;
    let b = phone.request("Portail B", "42").await;

    let out = phone.approve("42", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Plusieurs demandes")
            && stderr.contains("« Portail A »")
            && stderr.contains("« Portail B »")
            && stderr.contains("--service")
            && stderr.contains("--request"),
        "{stderr}"
    );
    assert_eq!(
        (phone.status(&a.id).await, phone.status(&b.id).await),
        (Pending, Pending),
        "nothing answered"
    );

    // --service narrows it to one: that one is approved, and named.
    let out = phone.approve("42", &["--service", "portail b"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Demande de « Portail B » approuvée"),
        "{stdout}"
    );
    assert_eq!(
        (phone.status(&a.id).await, phone.status(&b.id).await),
        (Pending, Approved)
    );

    // --request names one among several.
    let c = phone.request("Portail C", "42").await;
    let out = phone.approve("42", &["--request", &a.id]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Demande de « Portail A » approuvée"),
        "{stdout}"
    );
    assert_eq!(phone.status(&c.id).await, Pending);

    // A service with no such request: nothing to approve.
    let out = phone.approve("42", &["--service", "Portail Z"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Aucune demande"));

    // One request left offering the code: approved without flags, its service named.
    let out = phone.approve("42", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Demande de « Portail C » approuvée"),
        "{stdout}"
    );
    phone.store.close().await;
}
