//! eRPPS (ERPPS-01, ERPPS-02, REG-02, REG-06) through HTTP on both engines: the portals'
//! real router beside the real identity provider and the e-CPS device API on an ephemeral
//! port, the demo personas, a cookie-keeping browser (reqwest), the phone played by the
//! e-CPS authenticator library. Login is Pro Santé Connect through the real provider (the
//! portal is an `openidconnect` client over HTTP); the agency's decision is taken through
//! `caducee_registry::requests::decide`, as the back office does.
//!
//! The clock is a `ManualClock` at the system time: the authenticator signs its device
//! proofs with the system clock, as a real phone does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use caducee_core::clock::{Clock, ManualClock, SystemClock};
use caducee_ecps::EcpsClient;
use caducee_idp::{ClientSpec, Idp, IdpConfig};
use caducee_registry::requests::{self, Decision, RequestKind, RequestState};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};

const INSTANCE_SECRET: &[u8] = b"instance secret of the eRPPS tests, 32+ bytes long";
const PASSWORD: &str = "mot de passe e-CPS";
const JULIE_RPPS: &str = "19999900012";
const JULIE_IDNAT: &str = "819999900012";
const REALM: &str = "/auth/realms/esante-wallet";

/// One node of the application: idp, e-CPS device API, portals (eRPPS) on a port.
struct Node {
    base: String,
    browser: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

async fn prepare(dialect: Dialect) -> (TestDb, ManualClock) {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&caducee_idp::migrations()).await.unwrap();
    db.store.migrate(caducee_portals::MIGRATIONS).await.unwrap();
    let clock = ManualClock::new(SystemClock.now());
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    (db, clock)
}

/// A node on `store`, as `serve` assembles it (eRPPS's client registered at the provider).
async fn node(store: &Store, clock: &ManualClock) -> Node {
    node_with_delay(store, clock, requests::DEFAULT_PROPAGATION_DELAY_SECS).await
}

/// A node whose `[registry] propagation_delay_secs` is `delay_secs`.
async fn node_with_delay(store: &Store, clock: &ManualClock, delay_secs: i64) -> Node {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let waker = caducee_notify::Waker::new();
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        store.clone(),
        clock.shared(),
        waker,
        &base,
    ));
    let idp = Idp::start(
        store.clone(),
        clock.shared(),
        &base,
        IdpConfig::default(),
        ecps.clone(),
        INSTANCE_SECRET,
    )
    .await
    .unwrap();
    let portals = caducee_portals::Portals::with_options(
        store.clone(),
        clock.shared(),
        &base,
        INSTANCE_SECRET,
        caducee_portals::PortalsOptions {
            configs: Vec::new(),
            propagation_delay_secs: delay_secs,
            ..caducee_portals::PortalsOptions::default()
        },
    )
    .unwrap();
    for portal in portals.configs() {
        let r = portals.client_registration(portal);
        idp.upsert_client(
            ClientSpec {
                client_id: r.client_id,
                name: r.name,
                secret: Some(r.secret),
                redirect_uris: r.redirect_uris,
                post_logout_redirect_uris: r.post_logout_redirect_uris,
                grants: r.grants,
                backchannel_logout_uri: r.backchannel_logout_uri,
                ..ClientSpec::default()
            },
            "system:test",
        )
        .await
        .unwrap();
    }
    let app = caducee_portals::routes(portals)
        .merge(caducee_idp::router(idp))
        .merge(caducee_ecps_server::router(ecps, &base))
        .merge(caducee_pages::routes(false));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Node {
        base,
        browser: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .unwrap(),
        task,
    }
}

/// Julie Martin's e-CPS, activated on `node`: (device id, key).
async fn activate(store: &Store, node: &Node) -> (String, p256::SecretKey) {
    let client = EcpsClient::new(&node.base).unwrap();
    let started = client.start_activation(JULIE_RPPS).await.unwrap();
    let (email_code, sms_code) = caducee_ecps_server::testkit::activation_codes(store).await;
    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let device = client
        .confirm_activation(
            &started.activation_id,
            &email_code,
            &sms_code,
            PASSWORD,
            &key.public_key(),
        )
        .await
        .unwrap();
    (device.device_id, key)
}

fn between(s: &str, start: &str, end: &str) -> String {
    let a = s.find(start).unwrap_or_else(|| panic!("{start} in {s}")) + start.len();
    let b = s[a..].find(end).unwrap_or_else(|| panic!("{end} in {s}")) + a;
    s[a..b].to_string()
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\"")
        .unwrap_or_else(|| panic!("csrf in {page}"));
    between(&page[at..], "value=\"", "\"")
}

impl Node {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&self, path: &str) -> (u16, String, String) {
        let r = self.browser.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let url = r.url().to_string();
        (status, url, r.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let r = self
            .browser
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let url = r.url().to_string();
        (status, url, r.text().await.unwrap())
    }

    /// "S'identifier avec PRO SANTÉ CONNECT" → the provider's login page → RPPS → the phone
    /// approves → back on eRPPS. Returns (final URL, page).
    async fn login(&self, device: &(String, p256::SecretKey)) -> (String, String) {
        let (status, login_url, page) = self.get("/erpps/login").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            login_url.starts_with(&format!("{}{REALM}/login/", self.base)),
            "{login_url}"
        );
        let csrf = csrf_of(&page);
        let r = self
            .browser
            .post(&login_url)
            .form(&[
                ("csrf", csrf.as_str()),
                ("identifier_type", "rpps"),
                ("identifier", JULIE_RPPS),
            ])
            .send()
            .await
            .unwrap();
        let waiting_url = r.url().to_string();
        let waiting = r.text().await.unwrap();
        let code = between(&waiting, "<strong id=\"code-ecps\">", "</strong>");
        let phone = EcpsClient::new(&self.base)
            .unwrap()
            .device(&device.0, &device.1);
        let pending = phone.pending(10).await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        let outcome = phone.answer(&pending[0].id, &code, PASSWORD).await.unwrap();
        assert_eq!(outcome.outcome, "approved");
        let flow = waiting_url.trim_end_matches("/ecps");
        let (status, url, page) = self.get(&format!("{flow}/continue")).await;
        assert_eq!(status, 200, "{page}");
        (url, page)
    }
}

on_both_engines! {
    erpps_01_the_landing_offers_pro_sante_connect_and_the_franceconnect_entries => landing;
    erpps_02_first_login_checks_the_coordinates_then_the_home_offers_every_action => first_login;
    erpps_02_a_new_activity_draft_survives_a_restart_then_is_submitted_and_followed => new_activity;
    reg_02_the_exercise_name_defaults_to_the_birth_name_and_a_change_is_a_request => exercise_name;
    reg_06_the_landing_says_the_configured_propagation_delay => configured_delay;
}

async fn configured_delay(dialect: Dialect) {
    let (db, clock) = prepare(dialect).await;
    // The default: the seeds' words.
    let n = node(&db.store, &clock).await;
    let (status, _, page) = n.get("/erpps").await;
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("un délai de 48 heures est nécessaire").count(),
        2,
        "{page}"
    );
    n.task.abort();
    // 24 hours configured: both delays of the landing say so, in both languages.
    let n = node_with_delay(&db.store, &clock, 86_400).await;
    let (status, _, page) = n.get("/erpps").await;
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("un délai de 24 heures est nécessaire").count(),
        2,
        "{page}"
    );
    assert!(
        !page.contains("48 heures") && !page.contains("48 h"),
        "{page}"
    );
    let english = n
        .browser
        .get(n.url("/erpps"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        english.matches("it takes 24 hours before").count(),
        2,
        "{english}"
    );
    assert!(!english.contains("48 hours"), "{english}");
    n.task.abort();
    db.cleanup().await;
}

async fn landing(dialect: Dialect) {
    let (db, clock) = prepare(dialect).await;
    let n = node(&db.store, &clock).await;
    let (status, _, page) = n.get("/erpps").await;
    assert_eq!(status, 200);
    for expected in [
        "Bienvenue sur le portail d&#39;enregistrement eRPPS",
        "Vous avez déjà un numéro RPPS",
        "href=\"/erpps/login\"",
        "Vous n&#39;avez pas de numéro RPPS",
        "href=\"/erpps/inscription\"",
        "href=\"/erpps/coordonnees-franceconnect\"",
        "Mes coordonnées ne sont pas renseignées, je peux mettre à jour via France Connect",
        "uniquement pour un primo-enregistrement",
    ] {
        assert!(
            page.contains(expected) || page.contains(&expected.replace("&#39;", "'")),
            "{expected} missing in {page}"
        );
    }
    // Anonymous: every page of the portal leads to the landing.
    for path in [
        "/erpps/activites",
        "/erpps/demandes",
        "/erpps/nouvelle-activite",
    ] {
        let (status, url, _) = n.get(path).await;
        assert_eq!(status, 200);
        assert_eq!(url, format!("{}/erpps", n.base), "{path}");
    }
    // English is a second locale.
    let r = n
        .browser
        .get(n.url("/erpps"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Welcome to the eRPPS"));
    n.task.abort();
    db.cleanup().await;
}

async fn first_login(dialect: Dialect) {
    let (db, clock) = prepare(dialect).await;
    let n = node(&db.store, &clock).await;
    let device = activate(&db.store, &n).await;
    let (url, page) = n.login(&device).await;
    assert_eq!(
        url,
        format!("{}/erpps/coordonnees-a-verifier", n.base),
        "{page}"
    );
    assert!(page.contains("julie.martin@example.test"), "{page}");
    assert!(page.contains("envoi de la carte CPS"), "{page}");
    // A form not filled in this browser is refused.
    let (status, _, refused) = n
        .post("/erpps/coordonnees-a-verifier", &[("csrf", "forged")])
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("Formulaire expiré"));
    let (_, url, _) = n.get("/erpps").await;
    assert!(
        url.ends_with("/erpps/coordonnees-a-verifier"),
        "still to check"
    );
    let (status, url, home) = n
        .post(
            "/erpps/coordonnees-a-verifier",
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(url, format!("{}/erpps", n.base));
    assert!(home.contains("Que souhaitez-vous faire ?"), "{home}");
    for href in [
        "/erpps/activites",
        "/erpps/nouvelle-activite",
        "/erpps/cesser-activite",
        "/erpps/demandes",
        "/erpps/attestation",
        "/erpps/nouvelle-profession",
        "/erpps/coordonnees",
        "/erpps/nom-exercice",
    ] {
        assert!(
            home.contains(&format!("href=\"{href}\"")),
            "{href} in {home}"
        );
    }
    assert!(home.contains("pour tout changement de département"));
    // My activities, from the registry.
    let (_, _, activities) = n.get("/erpps/activites").await;
    assert!(activities.contains("Médecin"), "{activities}");
    assert!(
        activities.contains("Lyon") || activities.contains("LYON"),
        "{activities}"
    );
    // Logout: back on the landing, the session is over.
    let (_, url, page) = n.post("/erpps/logout", &[]).await;
    assert!(url.starts_with(&format!("{}/erpps", n.base)), "{url}");
    assert!(page.contains("Bienvenue sur le portail"), "{page}");
    assert!(
        page.contains("Vous êtes déconnecté du portail eRPPS"),
        "{page}"
    );
    let (_, url, _) = n.get("/erpps/demandes").await;
    assert_eq!(url, format!("{}/erpps", n.base));
    n.task.abort();
    db.cleanup().await;
}

async fn new_activity(dialect: Dialect) {
    let (db, clock) = prepare(dialect).await;
    let n = node(&db.store, &clock).await;
    let device = activate(&db.store, &n).await;
    let (_, page) = n.login(&device).await;
    n.post(
        "/erpps/coordonnees-a-verifier",
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    let (status, _, form) = n.get("/erpps/nouvelle-activite").await;
    assert_eq!(status, 200);
    assert!(form.contains("Étape 1 sur 2"), "{form}");
    let csrf = csrf_of(&form);
    // Step 1 with a wrong SIRET: the French message, the summary, the value kept.
    let step1 = [
        ("csrf", csrf.as_str()),
        ("etape", "1"),
        ("siret", "73282932000075"),
        ("name", "Cabinet des Brotteaux"),
        ("address", "3 place Jules Ferry"),
        ("postcode", "69006"),
        ("city", "Lyon"),
        ("action", "suivant"),
    ];
    let (status, _, page) = n.post("/erpps/nouvelle-activite", &step1).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("resume-erreurs"), "{page}");
    assert!(page.contains("Vérifiez le numéro SIRET"), "{page}");
    assert!(page.contains("value=\"73282932000075\""), "{page}");
    // Without the CSRF token: refused, nothing saved.
    let (status, _, _) = n
        .post(
            "/erpps/nouvelle-activite",
            &[("siret", "1"), ("action", "enregistrer")],
        )
        .await;
    assert_eq!(status, 403);
    let draft = requests::draft_for(&db.store, JULIE_IDNAT, RequestKind::NewActivity)
        .await
        .unwrap()
        .unwrap();
    let caducee_registry::requests::Change::NewActivity(a) = &draft.change else {
        panic!()
    };
    assert_eq!(
        a.siret, "73282932000075",
        "the typed draft, not the forged post"
    );

    // A restart (another node on the same database): the draft is there.
    n.task.abort();
    let n = node(&db.store, &clock).await;
    n.login(&device).await;
    let (_, _, form) = n.get("/erpps/nouvelle-activite").await;
    assert!(form.contains("value=\"73282932000075\""), "{form}");
    assert!(form.contains("value=\"Cabinet des Brotteaux\""), "{form}");
    let (_, _, requests_page) = n.get("/erpps/demandes").await;
    assert!(
        requests_page.contains("Brouillon, non transmise"),
        "{requests_page}"
    );
    assert!(requests_page.contains("href=\"/erpps/nouvelle-activite\""));
    let csrf = csrf_of(&form);
    let mut step1 = step1.to_vec();
    step1[0] = ("csrf", csrf.as_str());
    step1[2] = ("siret", "73282932000074");
    let (status, url, page) = n.post("/erpps/nouvelle-activite", &step1).await;
    assert_eq!(status, 200, "{page}");
    assert!(url.ends_with("/erpps/nouvelle-activite?etape=2"), "{url}");
    assert!(page.contains("Étape 2 sur 2"), "{page}");
    assert!(page.contains("Cabinet des Brotteaux, 69006 Lyon"), "{page}");
    // Step 2 incomplete: errors; then complete and sent.
    let (status, _, page) = n
        .post(
            "/erpps/nouvelle-activite",
            &[("csrf", &csrf), ("etape", "2"), ("action", "envoyer")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Choisissez la profession dans la liste"),
        "{page}"
    );
    let (status, url, page) = n
        .post(
            "/erpps/nouvelle-activite",
            &[
                ("csrf", &csrf),
                ("etape", "2"),
                ("profession_code", "10"),
                ("mode_code", "L"),
                ("role_code", "FON-01"),
                ("start_date", "01/12/2026"),
                ("action", "envoyer"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(url.contains("/erpps/demandes?envoyee="), "{url}");
    assert!(
        page.contains("Transmise à l&#39;ARS") || page.contains("Transmise à l'ARS"),
        "{page}"
    );
    assert!(page.contains("Cabinet des Brotteaux"), "{page}");
    // The agency approves: the page tells when the change becomes visible.
    let queue = requests::queue(&db.store, &["69".to_string()])
        .await
        .unwrap();
    assert_eq!(queue.len(), 1);
    let decided = requests::decide(
        &db.store,
        &clock,
        &queue[0].id,
        "agent:test",
        Decision::Approve,
        172_800,
    )
    .await
    .unwrap();
    assert_eq!(decided.state, RequestState::Approved);
    let (_, _, page) = n.get("/erpps/demandes").await;
    assert!(page.contains("visible à partir du"), "{page}");
    let when = caducee_core::date_fr::date_time(clock.unix() + 172_800);
    assert!(page.contains(&when), "{when} in {page}");
    n.task.abort();
    db.cleanup().await;
}

async fn exercise_name(dialect: Dialect) {
    let (db, clock) = prepare(dialect).await;
    let n = node(&db.store, &clock).await;
    let device = activate(&db.store, &n).await;
    let (_, page) = n.login(&device).await;
    n.post(
        "/erpps/coordonnees-a-verifier",
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    let (_, _, form) = n.get("/erpps/nom-exercice").await;
    assert!(
        form.contains("Par défaut, il s&#39;agit de votre nom de naissance")
            || form.contains("Par défaut, il s'agit de votre nom de naissance"),
        "{form}"
    );
    let birth = between(&form, "name=\"last_name\" type=\"text\" value=\"", "\"");
    assert_eq!(birth.to_lowercase(), "martin", "{form}");
    let csrf = csrf_of(&form);
    let (status, _, page) = n
        .post(
            "/erpps/nom-exercice",
            &[
                ("csrf", &csrf),
                ("last_name", "  "),
                ("first_name", "Julie"),
                ("action", "envoyer"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("Indiquez le nom d&#39;exercice")
            || page.contains("Indiquez le nom d'exercice"),
        "{page}"
    );
    // In English, the catalogue's words.
    let r = n
        .browser
        .post(n.url("/erpps/nom-exercice"))
        .header("accept-language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("last_name", ""),
            ("first_name", "Julie"),
            ("action", "envoyer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let english = r.text().await.unwrap();
    assert!(
        english.contains("Give the practice family name and first name"),
        "{english}"
    );
    let (status, _, page) = n
        .post(
            "/erpps/nom-exercice",
            &[
                ("csrf", &csrf),
                ("last_name", "Martin-Dupré"),
                ("first_name", "Julie"),
                ("action", "envoyer"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Martin-Dupré"), "{page}");
    let history = requests::history_for(&db.store, JULIE_IDNAT).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, RequestState::Submitted);
    assert_eq!(history[0].kind, RequestKind::ExerciseName);
    // Rejected with a reason: the professional reads it.
    requests::decide(
        &db.store,
        &clock,
        &history[0].id,
        "agent:test",
        Decision::Reject {
            reason: "Joignez le justificatif de votre nom d'usage.".into(),
        },
        172_800,
    )
    .await
    .unwrap();
    let (_, _, page) = n.get("/erpps/demandes").await;
    assert!(page.contains("Refusée"), "{page}");
    assert!(page.contains("Joignez le justificatif"), "{page}");
    // A SIRET the registry knows names its structure: step 2 shows the registry's.
    sqlx::query(
        "INSERT INTO reg_structure (id, siret, siren, name, postcode, commune, updated_at)
         VALUES ('C44306184100047', '44306184100047', '443061841', 'CENTRE DE SANTE DU PORT',
                 '13002', 'Marseille', 0)",
    )
    .execute(db.store.pool())
    .await
    .unwrap();
    let (status, url, page) = n
        .post(
            "/erpps/nouvelle-activite",
            &[
                ("csrf", &csrf),
                ("etape", "1"),
                ("siret", "443 061 841 00047"),
                ("name", "un autre nom"),
                ("action", "suivant"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(url.ends_with("etape=2"), "{url}");
    assert!(
        page.contains("CENTRE DE SANTE DU PORT, 13002 Marseille"),
        "{page}"
    );
    n.task.abort();
    db.cleanup().await;
}
