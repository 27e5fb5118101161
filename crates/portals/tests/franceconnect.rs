//! FranceConnect as eRPPS's upstream provider, against the real test provider
//! (`tests/js/lib/franceconnect-provider.mjs`: panva's oidc-provider, started here as a child
//! process on a free port): its own login and consent pages are driven over HTTP as a browser
//! would, by a cookie-keeping client that follows redirects. On both engines:
//!
//! - ERPPS-01 / REG-07: a first registration from `/erpps/inscription` up to "transmise à
//!   l'ARS" (identity shown from FranceConnect, codes to the e-mail and the mobile, uploads
//!   typed by content), then the agency's decision, and 48 h later (by the clock) the person
//!   is in the registry and the e-CPS activation finds their coordinates;
//! - the callback refuses a replayed state, a state of another browser, a tampered userinfo;
//! - REG-12: coordinates through FranceConnect, the civil status matched (case, accents) or
//!   refused with the way forward, then effective after the delay.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::ManualClock;
use caducee_portals::franceconnect::FranceConnectSettings;
use caducee_portals::{Portals, PortalsOptions};
use caducee_registry::registration::{self as reg, Decision, RegistrationState};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};
use sqlx::Row;
use std::collections::HashMap;
use std::io::BufRead;

const SECRET: &[u8] = b"instance secret of the franceconnect tests, 32+ bytes";
const CLIENT_ID: &str = "caducee-erpps-test";
const CLIENT_SECRET: &str = "secret-du-fournisseur-de-service-franceconnect";
const DELAY: i64 = 172_800;

/// The test provider, killed when dropped.
struct FcProvider {
    child: std::process::Child,
    issuer: String,
}

impl Drop for FcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the provider for the eRPPS callback of `base`, with `accounts`, and waits for its
/// discovery document.
async fn fc_provider(base: &str, accounts: serde_json::Value, tamper: bool) -> FcProvider {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/js/lib/franceconnect-provider.mjs"
    );
    let modules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/js/node_modules/oidc-provider"
    );
    assert!(
        std::path::Path::new(modules).is_dir(),
        "tests/js/node_modules is missing: run `cd tests/js && npm ci` (scripts/test does it on a full run)"
    );
    let port = free_port();
    let mut cmd = std::process::Command::new("node");
    cmd.arg(script)
        .args(["--port", &port.to_string()])
        .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
        .args([
            "--redirect-uri",
            &format!("{base}/erpps/franceconnect/callback"),
        ])
        .args(["--post-logout-redirect-uri", &format!("{base}/erpps")])
        .args(["--accounts", &accounts.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if tamper {
        cmd.arg("--tamper-userinfo");
    }
    let mut child = cmd
        .spawn()
        .expect("node must be installed (Node.js >= 20) for the FranceConnect test provider");
    let stdout = child.stdout.take().unwrap();
    let issuer = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            if let Some(i) = line.strip_prefix("ISSUER=") {
                return Some(i.to_string());
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("the provider printed its issuer");
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    for _ in 0..50 {
        if reqwest::get(&discovery)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    FcProvider { child, issuer }
}

struct World {
    db: TestDb,
    base: String,
    clock: ManualClock,
    #[allow(dead_code)]
    portals: Portals,
    _fc: FcProvider,
}

async fn world(dialect: Dialect, accounts: serde_json::Value, tamper: bool) -> World {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    db.store.migrate(caducee_notify::MIGRATIONS).await.unwrap();
    db.store
        .migrate(&caducee_portals::migrations())
        .await
        .unwrap();
    db.store
        .migrate(caducee_ecps_server::MIGRATIONS)
        .await
        .unwrap();
    // The provider checks tokens against the real time: the clock starts now.
    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fc = fc_provider(&base, accounts, tamper).await;
    let portals = Portals::with_options(
        db.store.clone(),
        clock.shared(),
        &base,
        SECRET,
        PortalsOptions {
            configs: vec![],
            franceconnect: Some(FranceConnectSettings {
                issuer: fc.issuer.clone(),
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
            }),
            ..PortalsOptions::default()
        },
    )
    .unwrap();
    let app = caducee_portals::routes(portals.clone()).merge(caducee_pages::routes(false));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    World {
        db,
        base,
        clock,
        portals,
        _fc: fc,
    }
}

/// A browser: cookies kept, redirects followed (also to and from the provider).
struct Browser {
    http: reqwest::Client,
    /// The same cookies, redirects not followed.
    no_follow: reqwest::Client,
    base: String,
    page: String,
    status: u16,
    url: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_static("fr-FR,fr;q=0.9"),
        );
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            http: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .default_headers(headers.clone())
                .build()
                .unwrap(),
            no_follow: reqwest::Client::builder()
                .cookie_provider(jar)
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            page: String::new(),
            status: 0,
            url: String::new(),
        }
    }

    async fn take(&mut self, r: reqwest::Response) {
        self.status = r.status().as_u16();
        self.url = r.url().to_string();
        self.page = r.text().await.unwrap();
    }

    async fn get(&mut self, path_or_url: &str) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let r = self.http.get(url).send().await.unwrap();
        self.take(r).await;
    }

    /// Submits the page's first form (its hidden fields) with `fields`, to its own origin.
    async fn submit(&mut self, fields: &[(&str, &str)]) {
        let action = attr_after(&self.page, "<form method=\"post\" action=\"", "\"")
            .unwrap_or_else(|| panic!("no form on {}: {}", self.url, self.page));
        let origin = origin(&self.url);
        let mut form: Vec<(String, String)> = hidden(&self.page).into_iter().collect();
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let r = self
            .http
            .post(format!("{origin}{action}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        self.take(r).await;
    }

    /// Through FranceConnect's own pages: pick the identity `sub`, then consent.
    async fn franceconnect_login(&mut self, sub: &str) {
        assert!(self.page.contains("choisir une identité"), "{}", self.page);
        self.submit(&[("login", sub)]).await;
        if self.page.contains("id=\"fc-consent\"") {
            self.submit(&[]).await;
        }
    }

    #[track_caller]
    fn shows(&self, text: &str) {
        assert!(
            self.page.contains(text),
            "{} ({}) does not show {text:?}:\n{}",
            self.url,
            self.status,
            main_of(&self.page)
        );
    }
}

fn origin(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    u.origin().ascii_serialization()
}

fn attr_after(html: &str, before: &str, end: &str) -> Option<String> {
    let at = html.find(before)? + before.len();
    let rest = &html[at..];
    Some(rest[..rest.find(end)?].replace("&amp;", "&"))
}

fn hidden(html: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for chunk in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = &chunk[..chunk.find('"').unwrap()];
        let value = attr_after(chunk, "value=\"", "\"").unwrap_or_default();
        out.insert(name.to_string(), value);
    }
    out
}

fn main_of(html: &str) -> &str {
    let start = html.find("<main").unwrap_or(0);
    let end = html.find("</main>").unwrap_or(html.len());
    &html[start..end]
}

async fn last_code(store: &Store, to: &str) -> String {
    let rows = sqlx::query(
        "SELECT body_text FROM notify_outbox WHERE recipient = $1 ORDER BY created_at, message_id",
    )
    .bind(to)
    .fetch_all(store.pool())
    .await
    .unwrap();
    let body: String = rows
        .last()
        .unwrap_or_else(|| panic!("no message to {to}"))
        .get(0);
    let b = body.as_bytes();
    (0..b.len().saturating_sub(5))
        .find_map(|i| {
            let run = &b[i..i + 6];
            let before = i.checked_sub(1).map(|j| b[j].is_ascii_digit());
            let after = b.get(i + 6).map(u8::is_ascii_digit);
            (run.iter().all(u8::is_ascii_digit) && before != Some(true) && after != Some(true))
                .then(|| String::from_utf8_lossy(run).to_string())
        })
        .unwrap_or_else(|| panic!("no code in {body}"))
}

fn amelie() -> serde_json::Value {
    serde_json::json!({
        "sub": "fc-amelie",
        "given_name": "Amélie Jeanne",
        "family_name": "Lefèvre-Dubois",
        "birthdate": "1990-04-12",
        "gender": "female",
        "birthplace": "69123",
        "birthcountry": "99100",
        "email": "amelie@fc.example.test"
    })
}

/// Julie Martin, the demo persona (born 1980-04-12), as FranceConnect spells her.
fn julie(birthdate: &str) -> serde_json::Value {
    serde_json::json!({
        "sub": format!("fc-julie-{birthdate}"),
        "given_name": "JULIE Anne",
        "family_name": "MARTIN",
        "birthdate": birthdate,
        "gender": "female",
        "birthplace": "75056",
        "birthcountry": "99100",
        "email": "julie@fc.example.test"
    })
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
];
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];

on_both_engines! {
    erpps_01_reg_07_a_first_registration_through_franceconnect_reaches_the_registry_48_h_after_approval => first_registration;
    reg_07_the_callback_refuses_a_replayed_state_or_one_of_another_browser => states;
    reg_07_a_tampered_signed_userinfo_is_refused => tampered;
    reg_12_coordinates_through_franceconnect_when_the_civil_status_matches_refused_otherwise => coordinates;
    erpps_01_the_demo_stand_in_is_a_provider_erpps_talks_to_over_http => standin;
}

/// `serve --demo` without `[franceconnect]`: the stand-in at /dev/franceconnect.
async fn standin(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    for m in [
        caducee_registry::migrations(),
        caducee_notify::MIGRATIONS.to_vec(),
        caducee_portals::migrations(),
    ] {
        db.store.migrate(&m).await.unwrap();
    }
    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let standin =
        std::sync::Arc::new(caducee_portals::franceconnect::standin::StandIn::new(SECRET).unwrap());
    let portals = Portals::with_options(
        db.store.clone(),
        clock.shared(),
        &base,
        SECRET,
        PortalsOptions {
            configs: vec![],
            franceconnect: Some(standin.settings(&base)),
            franceconnect_standin: Some(standin),
            ..PortalsOptions::default()
        },
    )
    .unwrap();
    let app = caducee_portals::routes(portals.clone()).merge(caducee_pages::routes(false));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut b = Browser::new(&base);
    b.get("/erpps/coordonnees-franceconnect").await;
    b.submit(&[]).await;
    assert!(b.url.contains("/dev/franceconnect/authorize"), "{}", b.url);
    b.shows("Ceci n'est pas FranceConnect");
    b.submit(&[("identite", "demo-fc-helene-dubois")]).await;
    assert!(
        b.url.contains("/erpps/coordonnees-franceconnect/rpps"),
        "{}: {}",
        b.url,
        main_of(&b.page)
    );
    b.shows("HELENE Marie DUBOIS");
    b.submit(&[("rpps", "19999900038")]).await;
    assert!(
        b.url.contains("/coordonnees-franceconnect/coordonnees"),
        "{}: {}",
        b.url,
        main_of(&b.page)
    );
    // Nathalie Girard, registered without contact coordinates (REG-12's case): her civil
    // status matched, then her new coordinates asked.
    let girard = caducee_registry::queries::get_professional(
        &db.store,
        &caducee_registry::queries::parse_id("19999900087").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(girard.contact, None);
    let mut b = Browser::new(&base);
    b.get("/erpps/coordonnees-franceconnect").await;
    b.submit(&[]).await;
    b.submit(&[("identite", "demo-fc-nathalie-girard")]).await;
    b.shows("NATHALIE Claire GIRARD");
    b.submit(&[("rpps", "19999900087")]).await;
    assert!(
        b.url.contains("/coordonnees-franceconnect/coordonnees"),
        "{}: {}",
        b.url,
        main_of(&b.page)
    );
    // The first registration's identity.
    let mut b = Browser::new(&base);
    b.get("/erpps/inscription").await;
    b.submit(&[]).await;
    b.submit(&[("identite", "demo-fc-amelie-lefevre")]).await;
    assert!(b.url.contains("/erpps/inscription/demande"), "{}", b.url);
    b.shows("Lefèvre-Dubois");
    db.cleanup().await;
}

async fn first_registration(dialect: Dialect) {
    let w = world(dialect, serde_json::json!([amelie()]), false).await;
    let mut b = Browser::new(&w.base);
    b.get("/erpps/inscription").await;
    b.shows("Vous n'avez pas de numéro RPPS et devez vous enregistrer");
    b.submit(&[]).await;
    b.franceconnect_login("fc-amelie").await;
    // Back on eRPPS: the form, the identity shown (not editable).
    assert!(
        b.url.contains("/erpps/inscription/demande?flow="),
        "{}",
        b.url
    );
    b.shows("Lefèvre-Dubois");
    b.shows("Amélie Jeanne");
    b.shows("1990-04-12");
    assert!(!b.page.contains("name=\"family_name\""));
    // A wrong postcode: refused in French, what was typed kept.
    b.submit(&[
        ("profession", "60"),
        ("mode", "L"),
        ("structure", "Cabinet des Pentes"),
        ("rue", "12 rue des Capucins"),
        ("code_postal", "690"),
        ("commune", "Lyon"),
        ("email", "amelie.lefevre@example.test"),
        ("mobile", "06 12 34 56 78"),
    ])
    .await;
    assert_eq!(b.status, 422, "{}", main_of(&b.page));
    b.shows("Indiquez le code postal en 5 chiffres");
    b.shows("value=\"Cabinet des Pentes\"");
    b.submit(&[
        ("profession", "60"),
        ("mode", "L"),
        ("structure", "Cabinet des Pentes"),
        ("rue", "12 rue des Capucins"),
        ("code_postal", "69001"),
        ("commune", "Lyon"),
        ("email", "amelie.lefevre@example.test"),
        ("mobile", "06 12 34 56 78"),
    ])
    .await;
    // The e-mail's code, then the mobile's.
    assert!(b.url.contains("canal=email"), "{}", b.url);
    let code = last_code(&w.db.store, "amelie.lefevre@example.test").await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    assert!(b.url.contains("canal=sms"), "{}", b.url);
    let code = last_code(&w.db.store, "+33612345678").await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    assert!(b.url.contains("/erpps/inscription/documents"), "{}", b.url);

    // Uploads: a PNG named .pdf is a PNG; an executable is refused.
    let action = attr_after(&b.page, "action=\"", "\"").unwrap();
    let csrf = hidden(&b.page)["csrf"].clone();
    let part = |bytes: &[u8], name: &str| {
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string())
    };
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("action", "deposer")
        .part("piece_identite", part(PNG, "cni.pdf"))
        .part("diplome", part(PDF, "diplome.pdf"))
        .part(
            "justificatif_activite",
            part(b"MZ\x90\x00\x03\x00\x00\x00", "contrat.pdf"),
        );
    let r = b
        .http
        .post(format!("{}{action}", w.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    b.take(r).await;
    assert_eq!(b.status, 422, "{}", main_of(&b.page));
    b.shows("seuls les fichiers PDF, JPEG ou PNG sont acceptés");
    b.shows("Déposé : cni.pdf");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("action", "transmettre")
        .part("justificatif_activite", part(JPEG, "contrat.jpg"));
    let r = b
        .http
        .post(format!("{}{action}", w.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    b.take(r).await;
    b.shows("Votre demande a été transmise à l'ARS");
    b.shows("Se déconnecter de FranceConnect");

    // The registry holds it, submitted, in Rhône's queue.
    let queue = reg::queue(&w.db.store, &["69".to_string()]).await.unwrap();
    assert_eq!(queue.len(), 1);
    let r = reg::get(&w.db.store, &queue[0].id).await.unwrap().unwrap();
    assert_eq!(r.state, RegistrationState::Submitted);
    let types: Vec<_> = r
        .documents
        .iter()
        .map(|d| d.content_type.as_str())
        .collect();
    assert!(
        types.contains(&"image/png") && types.contains(&"image/jpeg"),
        "{types:?}"
    );

    // A new FranceConnect login shows where the request is, not a new form.
    let mut again = Browser::new(&w.base);
    again.get("/erpps/inscription").await;
    again.submit(&[]).await;
    again.franceconnect_login("fc-amelie").await;
    again.shows("Votre demande a été transmise à l'ARS");

    // The agent's validation: the registry call /ars makes (its pages are tested in
    // tests/ars.rs, and the whole journey through them in tests/js/test/franceconnect.test.js).
    let decided = reg::decide(
        &w.db.store,
        &w.clock,
        &r.id,
        "ars:test-69",
        Decision::Approve,
        DELAY,
    )
    .await
    .unwrap();
    let rpps = decided.rpps.unwrap();
    w.clock.advance(time::Duration::seconds(DELAY));
    assert_eq!(
        reg::apply_due(&w.db.store, &w.clock, DELAY).await.unwrap(),
        1
    );
    // 48 h later: the e-CPS activation finds the coordinates.
    let ecps = caducee_ecps_server::EcpsServer::new(
        w.db.store.clone(),
        w.clock.shared(),
        caducee_notify::Waker::new(),
        caducee_ecps_server::EcpsConfig::default(),
    );
    let idnat = caducee_core::ids::IdNatPs::parse(&format!("8{rpps}")).unwrap();
    let started = ecps
        .start_activation(&idnat)
        .await
        .expect("coordinates found");
    let _ = started;
    w.db.cleanup().await;
}

async fn states(dialect: Dialect) {
    let w = world(dialect, serde_json::json!([amelie()]), false).await;
    let mut b = Browser::new(&w.base);
    b.get("/erpps/inscription").await;
    b.submit(&[]).await;
    // Pick the identity, then stop at the provider's answer: the callback URL, not followed.
    assert!(b.page.contains("choisir une identité"), "{}", b.page);
    b.submit(&[("login", "fc-amelie")]).await;
    let action = attr_after(&b.page, "<form method=\"post\" action=\"", "\"").unwrap();
    let mut next = b
        .no_follow
        .post(format!("{}{action}", origin(&b.url)))
        .send()
        .await
        .unwrap();
    let callback = loop {
        let location = next
            .headers()
            .get(reqwest::header::LOCATION)
            .unwrap_or_else(|| panic!("no redirect: {}", next.status()))
            .to_str()
            .unwrap()
            .to_string();
        let location = if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", origin(next.url().as_str()))
        };
        if location.starts_with(&format!("{}/erpps/franceconnect/callback", w.base)) {
            break location;
        }
        next = b.no_follow.get(&location).send().await.unwrap();
    };
    assert!(
        callback.contains("state=") && callback.contains("code="),
        "{callback}"
    );
    // Another browser (none of our cookies) answering with that state: refused.
    let mut other = Browser::new(&w.base);
    other.get(&callback).await;
    assert_eq!(other.status, 400, "{}", main_of(&other.page));
    // A forged state: refused.
    b.get("/erpps/franceconnect/callback?state=forged&code=x")
        .await;
    assert_eq!(b.status, 400);
    // The browser that started the login: identified, once.
    b.get(&callback).await;
    assert!(
        b.url.contains("/erpps/inscription/demande?flow="),
        "{}",
        b.url
    );
    b.shows("Lefèvre-Dubois");
    b.get(&callback).await;
    assert_eq!(b.status, 400, "a state is used once: {}", main_of(&b.page));
    w.db.cleanup().await;
}

async fn tampered(dialect: Dialect) {
    let w = world(dialect, serde_json::json!([amelie()]), true).await;
    let mut b = Browser::new(&w.base);
    b.get("/erpps/inscription").await;
    b.submit(&[]).await;
    b.franceconnect_login("fc-amelie").await;
    assert!(b.url.contains("/erpps/franceconnect/callback"), "{}", b.url);
    assert!(b.status >= 400, "{}: {}", b.status, main_of(&b.page));
    assert!(!b.page.contains("FAUSSAIRE"));
    let drafts =
        w.db.store
            .count("SELECT COUNT(*) FROM reg_registration")
            .await
            .unwrap();
    assert_eq!(drafts, 0, "no registration from a refused identity");
    let refused = w
        .db
        .store
        .count("SELECT COUNT(*) FROM audit_event WHERE action = 'portals.franceconnect.refused'")
        .await
        .unwrap();
    assert_eq!(refused, 1);
    w.db.cleanup().await;
}

async fn coordinates(dialect: Dialect) {
    let w = world(
        dialect,
        serde_json::json!([julie("1980-04-12"), julie("1980-04-13")]),
        false,
    )
    .await;
    let persona = caducee_registry::generate::demo_personas()
        .into_iter()
        .find(|p| p.last_name == "Martin")
        .unwrap();
    assert_eq!(persona.birth_date, "1980-04-12");
    // Another birth date: refused, with the way forward, audited.
    let mut b = Browser::new(&w.base);
    b.get("/erpps/coordonnees-franceconnect").await;
    b.shows("Vous avez un numéro RPPS, mais vos coordonnées");
    b.submit(&[]).await;
    b.franceconnect_login("fc-julie-1980-04-13").await;
    assert!(
        b.url.contains("/erpps/coordonnees-franceconnect/rpps"),
        "{}",
        b.url
    );
    b.submit(&[("rpps", &format!("8{}", persona.rpps))]).await;
    assert_eq!(b.status, 422);
    b.shows("ne correspond pas à celle enregistrée au RPPS");
    b.shows("contactez votre ARS");
    let mismatches = w
        .db
        .store
        .count("SELECT COUNT(*) FROM audit_event WHERE action = 'portals.fc_coordinates.mismatch'")
        .await
        .unwrap();
    assert_eq!(mismatches, 1);

    // The right person (names in capitals, a second first name): matched.
    let mut b = Browser::new(&w.base);
    b.get("/erpps/coordonnees-franceconnect").await;
    b.submit(&[]).await;
    b.franceconnect_login("fc-julie-1980-04-12").await;
    b.submit(&[("rpps", &persona.rpps)]).await;
    assert!(
        b.url.contains("/coordonnees-franceconnect/coordonnees"),
        "{}: {}",
        b.url,
        main_of(&b.page)
    );
    b.submit(&[
        ("email", "julie.nouvelle@example.test"),
        ("mobile", "07 11 22 33 44"),
        ("adresse", "3 rue des Lilas, 75020 Paris"),
    ])
    .await;
    let code = last_code(&w.db.store, "julie.nouvelle@example.test").await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    let code = last_code(&w.db.store, "+33711223344").await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    b.shows("Un délai de 48 heures est nécessaire");
    // Effective after the delay, by the clock (H1's applier).
    let id = caducee_core::ids::IdNatPs::parse(&persona.idnat).unwrap();
    let before = caducee_registry::queries::get_professional(&w.db.store, &id)
        .await
        .unwrap()
        .unwrap()
        .contact
        .unwrap();
    assert_ne!(before.email, "julie.nouvelle@example.test");
    w.clock.advance(time::Duration::seconds(DELAY));
    caducee_registry::requests::apply_due(&w.db.store, &w.clock, DELAY)
        .await
        .unwrap();
    let after = caducee_registry::queries::get_professional(&w.db.store, &id)
        .await
        .unwrap()
        .unwrap()
        .contact
        .unwrap();
    assert_eq!(after.email, "julie.nouvelle@example.test");
    assert_eq!(after.mobile, "+33711223344");
    assert_eq!(after.address, "3 rue des Lilas, 75020 Paris");
    w.db.cleanup().await;
}
