//! The web authenticator (`/ecps`, PSC-03, PSC-04) through real HTTP: the component's router
//! (what `web` mounts) on an ephemeral port over a real database (SQLite and PostgreSQL).
//! The page is on the page kit, in French or English, loads its script as a file (no inline
//! script), names the public URL its proofs are bound to, links an installable manifest;
//! the password meter answers without storing anything. The device API the script speaks is
//! tested in `api.rs`, and the whole journey in Chromium in `tests/js/test/ecps-web.test.js`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use caducee_core::clock::ManualClock;
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_core::source::ClientSource;
use caducee_ecps_server::{migrations, EcpsError};
use caducee_registry::queries::{set_contact, ContactUpdate};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use serde_json::Value;
use time::macros::datetime;

/// A professional of the registry, with an e-mail and a mobile when `contact`.
async fn add_person(db: &TestDb, clock: &ManualClock, n: u32, contact: bool) -> IdNatPs {
    let idnat = IdNatPs::from(Rpps::from_payload(&format!("10002{n:05}")).unwrap());
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, last_name, first_name, updated_at)
         VALUES ($1, '8', $2, 'TEST', 'Alice', 0)",
    )
    .bind(idnat.as_str())
    .bind(idnat.number())
    .execute(db.store.pool())
    .await
    .unwrap();
    if contact {
        set_contact(
            &db.store,
            clock,
            &idnat,
            &ContactUpdate {
                email: "alice.test@example.test".into(),
                mobile: "+33781234522".into(),
                actor: "operator:test".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    idnat
}

/// The router on an ephemeral port; `public` is the URL the device proofs are bound to.
async fn start(dialect: Dialect, public: &str) -> (TestDb, String) {
    let (db, base, _) = start_with(dialect, public).await;
    (db, base)
}

async fn start_with(
    dialect: Dialect,
    public: &str,
) -> (TestDb, String, Arc<caducee_ecps_server::EcpsServer>) {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        public,
    ));
    let app = caducee_ecps_server::router(ecps.clone(), public).layer(axum::middleware::from_fn(
        caducee_ecps_server::testkit::claimed_source,
    ));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (db, base, ecps)
}

on_both_engines! {
    psc_04_the_web_authenticator_page_is_served_in_french_with_its_script_as_a_file => page;
    psc_04_the_web_authenticator_is_an_installable_app => installable;
    psc_04_the_password_meter_of_the_web_authenticator => meter;
    psc_04_sec_17_activation_hints_for_the_login_page_are_counted_per_source => hints;
    psc_04_the_login_page_activation_request_lands_on_ecps_with_the_codes_sent => request;
    psc_05_the_account_page_deactivates_the_e_cps_at_once => deactivate;
}

/// The account page's "Désactiver mon e-CPS": the device is no longer active, its proofs
/// would be refused (`active_device` is what the proofs check), its pending requests are
/// closed, the event audited; a second deactivation finds nothing.
async fn deactivate(dialect: Dialect) {
    let (db, _base, ecps) = start_with(dialect, "http://127.0.0.1:1").await;
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let idnat = add_person(&db, &clock, 1, true).await;
    let started = ecps.start_activation(&idnat).await.unwrap();
    let (email_code, sms_code) = caducee_ecps_server::testkit::activation_codes(&db.store).await;
    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let device = ecps
        .confirm_activation(
            &started.activation_id,
            &email_code,
            &sms_code,
            "mot de passe e-CPS",
            &key.public_key().to_jwk_string(),
        )
        .await
        .unwrap();
    let request = ecps
        .create_request(idnat.as_str(), "Espace de test", None)
        .await
        .unwrap();
    assert!(ecps.active_device(idnat.as_str()).await.unwrap().is_some());
    assert!(ecps
        .deactivate_device(idnat.as_str(), "ps:test")
        .await
        .unwrap());
    assert_eq!(ecps.active_device(idnat.as_str()).await.unwrap(), None);
    assert!(!ecps
        .deactivate_device(idnat.as_str(), "ps:test")
        .await
        .unwrap());
    let state = ecps.request_state(&request.id).await.unwrap();
    assert_ne!(state.status, caducee_ecps_server::RequestStatus::Pending);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'ecps.device.deactivated' AND subject = $1",
    )
    .bind(idnat.as_str())
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1, "device {}", device.id);
}

/// The login page's "Demande d'activation e-CPS" shows masked coordinates: each reading is
/// one of the source's code sends (10 an hour), counted before anything is looked up, so
/// past the budget an unknown identifier, one without coordinates and one with them all get
/// the same refusal. Nothing is sent.
async fn hints(dialect: Dialect) {
    let (db, _base, ecps) = start_with(dialect, "http://127.0.0.1:1").await;
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let reachable = add_person(&db, &clock, 1, true).await;
    let unreachable = add_person(&db, &clock, 2, false).await;
    let unknown = IdNatPs::from(Rpps::from_payload("1000299999").unwrap());
    let source = ClientSource::new("203.0.113.9".parse().unwrap());
    let (email, sms) = ecps
        .activation_hints_from(&reachable, &source)
        .await
        .unwrap();
    assert!(
        email.contains('*') && !email.contains("alice.test"),
        "{email}"
    );
    assert!(email.ends_with("@example.test"), "{email}");
    assert!(sms.contains('*') && !sms.contains("81234522"), "{sms}");
    assert!(matches!(
        ecps.activation_hints_from(&unreachable, &source).await,
        Err(EcpsError::MissingContact(m)) if m.contains("ARS")
    ));
    assert!(matches!(
        ecps.activation_hints_from(&unknown, &source).await,
        Err(EcpsError::UnknownProfessional(_))
    ));
    for _ in 3..10 {
        let _ = ecps.activation_hints_from(&unknown, &source).await;
    }
    for idnat in [&reachable, &unreachable, &unknown] {
        assert!(
            matches!(
                ecps.activation_hints_from(idnat, &source).await,
                Err(EcpsError::TooManyFromSource { .. })
            ),
            "past the budget every identifier gets the same answer"
        );
    }
    // Another source has its own budget; no code was sent by the readings.
    let other = ClientSource::new("198.51.100.4".parse().unwrap());
    assert!(ecps.activation_hints_from(&reachable, &other).await.is_ok());
    let sent = caducee_notify::recent(&db.store, 20).await.unwrap();
    assert!(
        sent.iter().all(|m| m.template != "ecps_activation_code"),
        "hints send nothing"
    );
}

/// "ENVOYER MA DEMANDE D'ACTIVATION" posts the identifier to /ecps/demande: the codes are
/// sent and the browser goes to /ecps with the activation in the fragment; an identifier
/// without coordinates gets the page with the ARS message.
async fn request(dialect: Dialect) {
    let (db, base) = start(dialect, "http://127.0.0.1:1").await;
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let reachable = add_person(&db, &clock, 1, true).await;
    let unreachable = add_person(&db, &clock, 2, false).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/ecps/demande"))
        .header("x-test-source", "203.0.113.20")
        .form(&[("identifier", reachable.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/ecps#activation="), "{to}");
    assert!(to.contains("&email=") && to.contains("&sms=") && to.contains("&expires="));
    let (email_code, sms_code) = caducee_ecps_server::testkit::activation_codes(&db.store).await;
    assert_eq!((email_code.len(), sms_code.len()), (6, 6));
    assert!(!to.contains(&email_code) && !to.contains(&sms_code));

    let r = http
        .post(format!("{base}/ecps/demande"))
        .header("x-test-source", "203.0.113.20")
        .header("accept-language", "fr")
        .form(&[("identifier", unreachable.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("agence régionale de santé"), "{html}");
    let r = http
        .post(format!("{base}/ecps/demande"))
        .header("accept-language", "fr")
        .form(&[("identifier", "12")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Saisissez votre identifiant RPPS ou ADELI."));
}

async fn page(dialect: Dialect) {
    let (_db, base) = start(dialect, "https://caducee.example/").await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/ecps"))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("<h1>Mon e-CPS</h1>"), "{html}");
    assert!(html.contains("Activer mon e-CPS"), "{html}");
    assert!(html.contains("Il vous reste"), "the countdown's words");
    // The proofs are bound to the public URL, not to the address the page was reached by.
    assert!(
        html.contains("data-server=\"https://caducee.example\""),
        "{html}"
    );
    // Every script is a file of this origin; none inline.
    assert!(html.contains("<script src=\"/ecps/ecps.js\"></script>"));
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/").count(),
        "no inline script"
    );
    for field in [
        "id=\"identifier\"",
        "id=\"email_code\"",
        "id=\"sms_code\"",
        "id=\"password\"",
        "id=\"password_confirmation\"",
        "id=\"request_password\"",
        "autocomplete=\"one-time-code\"",
        "autocomplete=\"new-password\"",
    ] {
        assert!(html.contains(field), "{field} in the page");
    }

    let js = http
        .get(format!("{base}/ecps/ecps.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let js = js.text().await.unwrap();
    // The same proof as the CLI's, by a key WebCrypto will not let out.
    for needle in [
        "typ: \"ecps-proof+jwt\"",
        "alg: \"ES256\"",
        "namedCurve: \"P-256\" }, false, [\"sign\"]",
        "/ecps/api/v1",
        "indexedDB",
    ] {
        assert!(js.contains(needle), "{needle} in ecps.js");
    }

    let en = http
        .get(format!("{base}/ecps"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<h1>My e-CPS</h1>"), "{en}");
}

async fn installable(dialect: Dialect) {
    let (_db, base) = start(dialect, "http://127.0.0.1:1").await;
    let http = reqwest::Client::new();
    let html = http
        .get(format!("{base}/ecps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<link rel=\"manifest\" href=\"/ecps/manifest.webmanifest\">"));
    let r = http
        .get(format!("{base}/ecps/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["display"], "standalone");
    assert_eq!(m["start_url"], "/ecps");
    assert_eq!(m["lang"], "fr");
    let icon = m["icons"][0]["src"].as_str().unwrap();
    let r = http.get(format!("{base}{icon}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().starts_with("<svg"));
}

async fn meter(dialect: Dialect) {
    let (_db, base) = start(dialect, "http://127.0.0.1:1").await;
    let http = reqwest::Client::new();
    let ask = |pw: &'static str| {
        let http = http.clone();
        let url = format!("{base}/ecps/force-mot-de-passe");
        async move {
            let r = http
                .post(url)
                .header("accept-language", "fr")
                .form(&[("mot_de_passe", pw), ("csrf", ""), ("flow", "")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["cache-control"], "no-store");
            r.json::<Value>().await.unwrap()
        }
    };
    let empty = ask("").await;
    assert_eq!(empty["level"], Value::Null);
    assert_eq!(empty["rules"][0]["met"], false);
    assert_eq!(empty["rules"][0]["text"], "8 caractères ou plus");
    let weak = ask("azerty").await;
    assert_eq!(weak["level"], 0);
    assert_eq!(weak["label"], "Faible");
    assert_eq!(weak["rules"][0]["met"], false);
    let strong = ask("mon e-CPS dans le navigateur").await;
    assert_eq!(strong["level"], 2, "{strong}");
    assert_eq!(strong["label"], "Fort");
    assert_eq!(strong["rules"][0]["met"], true);
}
