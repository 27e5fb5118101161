//! The agencies' back office at /ars (REG-11) through HTTP: the portals' real router and
//! the kit's routes on an ephemeral port, a cookie-keeping HTTP client as the browser, the
//! registry's demo personas, a `ManualClock` that drives the links, sessions, throttles
//! and TOTP (codes computed from the enrolment page's secret with `totp-rs` at the clock's
//! time), both database engines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::{Clock, ManualClock};
use caducee_passwords::{Argon2Policy, PasswordHasher};
use caducee_portals::ars::agents;
use caducee_portals::one_time::SecretHasher;
use caducee_portals::{Portals, PortalsOptions};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};
use std::collections::HashMap;
use time::macros::datetime;

const SECRET: &[u8] = b"instance secret of the ARS back office tests, 32+";
const PASSWORD: &str = "Jura-Doubs-Verifie-2026";
/// Julie Martin (Lyon, 69) and Thomas Bernard (Nantes, 44), demo personas.
const JULIE: &str = "819999900012";
const THOMAS: &str = "819999900020";

struct World {
    db: TestDb,
    base: String,
    clock: ManualClock,
    portals: Portals,
}

async fn world(dialect: Dialect) -> World {
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
    let clock = ManualClock::new(datetime!(2026-12-01 09:00:10 UTC));
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let portals = Portals::with_options(
        db.store.clone(),
        clock.shared(),
        &base,
        SECRET,
        PortalsOptions {
            configs: Vec::new(),
            passwords: PasswordHasher::new(Argon2Policy::for_tests()),
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
    }
}

impl World {
    fn advance(&self, secs: i64) {
        self.clock.advance(time::Duration::seconds(secs));
    }

    fn now(&self) -> i64 {
        self.clock.unix()
    }

    /// `caducee ars agent add`: the enrolment link's path.
    async fn add_agent(&self, email: &str, departments: &str) -> String {
        let added = agents::add(
            &self.db.store,
            &SecretHasher::new(SECRET),
            email,
            "Agent de test",
            departments,
            "operator:test",
            self.now(),
        )
        .await
        .unwrap()
        .unwrap();
        let url = agents::enrolment_url(&self.base, &added.token);
        url.strip_prefix(&self.base).unwrap().to_string()
    }

    /// An agent enrolled through the pages: their browser (logged in) and TOTP secret.
    async fn enrolled(&self, email: &str, departments: &str) -> (Browser, Vec<u8>) {
        let link = self.add_agent(email, departments).await;
        let mut b = Browser::new(&self.base);
        b.get(&link).await;
        b.shows("Commencer l'activation");
        b.submit(&[]).await;
        b.shows("Choisissez votre mot de passe");
        b.submit(&[
            ("mot_de_passe", PASSWORD),
            ("mot_de_passe_confirmation", PASSWORD),
        ])
        .await;
        b.shows("Associez votre application d'authentification");
        let secret = secret_of(&b.page);
        let code = code(&secret, self.now());
        b.submit(&[("code", &code)]).await;
        b.shows("Votre accès est activé");
        b.shows("Files de traitement");
        (b, secret)
    }
}

/// The TOTP secret shown on the enrolment page (groups of four base32 characters).
fn secret_of(page: &str) -> Vec<u8> {
    let label = "Clé à saisir dans l'application";
    let at = page.find(label).expect("the secret is shown");
    let shown = attr_after(&page[at..], "<span class=\"identifiant\">", "<").unwrap();
    let base32: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    totp_rs::Secret::Encoded(base32).to_bytes().unwrap()
}

/// What an authenticator app shows at `unix`, computed by totp-rs.
fn code(secret: &[u8], unix: i64) -> String {
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret.to_vec(),
        Some("caducee ARS".into()),
        "agent".into(),
    )
    .unwrap()
    .generate(unix as u64)
}

/// A browser: cookies kept, redirects followed, the last page remembered.
struct Browser {
    http: reqwest::Client,
    base: String,
    page: String,
    status: u16,
    url: String,
    headers: reqwest::header::HeaderMap,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_static("fr-FR,fr;q=0.9"),
        );
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .default_headers(headers)
                .build()
                .unwrap(),
            base: base.to_string(),
            page: String::new(),
            status: 0,
            url: String::new(),
            headers: Default::default(),
        }
    }

    async fn take(&mut self, r: reqwest::Response) -> &str {
        self.status = r.status().as_u16();
        self.url = r.url().path().to_string();
        self.headers = r.headers().clone();
        self.page = r.text().await.unwrap();
        &self.page
    }

    async fn get(&mut self, path: &str) -> &str {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        self.take(r).await
    }

    /// Submits the `n`-th form of the page (its hidden fields) with `fields`.
    async fn submit_nth(&mut self, n: usize, fields: &[(&str, &str)]) -> &str {
        let forms: Vec<&str> = self
            .page
            .split("<form method=\"post\" action=\"")
            .skip(1)
            .collect();
        let chunk = *forms
            .get(n)
            .unwrap_or_else(|| panic!("no form {n} on {}: {}", self.url, main_of(&self.page)));
        let action = chunk[..chunk.find('"').unwrap()].replace("&amp;", "&");
        let form_html = &chunk[..chunk.find("</form>").unwrap_or(chunk.len())];
        let mut form: Vec<(String, String)> = hidden(form_html).into_iter().collect();
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let r = self
            .http
            .post(format!("{}{action}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        self.take(r).await
    }

    /// Submits the main form: the last one of the page (the first is the logout button
    /// once logged in).
    async fn submit(&mut self, fields: &[(&str, &str)]) -> &str {
        let n = self.page.matches("<form method=\"post\" action=\"").count();
        let skip_logout = usize::from(self.page.contains("action=\"/ars/deconnexion\""));
        let n = if n > 1 + skip_logout {
            skip_logout
        } else {
            n - 1
        };
        self.submit_nth(n, fields).await
    }

    async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> &str {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.take(r).await
    }

    /// A multipart POST (the coordinates with their evidence) with this page's token.
    async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> &str {
        let csrf = hidden(&self.page).remove("csrf").unwrap_or_default();
        let boundary = "----caduceeTestBoundary7MA4YWxk";
        let mut body = Vec::new();
        let mut part = |name: &str, value: &[u8], file_name: Option<(&str, &str)>| {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file_name {
                Some((f, ct)) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: {ct}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        part("csrf", csrf.as_bytes(), None);
        for (k, v) in fields {
            part(k, v.as_bytes(), None);
        }
        part("piece", file.2, Some((file.0, file.1)));
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        self.take(r).await
    }

    async fn login(&mut self, email: &str, password: &str) {
        self.get("/ars").await;
        self.submit(&[("email", email), ("mot_de_passe", password)])
            .await;
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

    fn has(&self, text: &str) -> bool {
        self.page.contains(text)
    }
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
        out.entry(name.to_string()).or_insert(value);
    }
    out
}

fn main_of(html: &str) -> &str {
    let start = html.find("<main").unwrap_or(0);
    let end = html.find("</main>").unwrap_or(html.len());
    &html[start..end]
}

async fn audited(store: &Store, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_event WHERE action = $1")
        .bind(action)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn file_anomaly(w: &World, idnat: &str) -> String {
    caducee_registry::anomaly::file(
        &w.db.store,
        &w.clock,
        &caducee_registry::anomaly::NewAnomaly {
            idnat,
            portal: "ror",
            field: "Adresse du cabinet",
            wrong: "12 rue Victor Hugo",
            correct: "14 rue Victor Hugo",
        },
        &format!("ps:{idnat}"),
    )
    .await
    .unwrap()
    .id
}

async fn reg_11_enrolment_link_is_single_use_and_lives_24_hours(dialect: Dialect) {
    let w = world(dialect).await;
    let link = w.add_agent("Alice.Durand@ars-bfc.test", "39,25").await;
    let mut b = Browser::new(&w.base);
    // Looking does not use it (a mail scanner).
    for _ in 0..2 {
        b.get(&link).await;
        assert_eq!(b.status, 200);
        b.shows("Ce lien d'activation est valable 24 heures");
    }
    // A form not filled in this browser is refused.
    let mut other = Browser::new(&w.base);
    other.post_raw(&link, &[("csrf", "x")]).await;
    assert_eq!(other.status, 403);
    b.submit(&[]).await;
    b.shows("Choisissez votre mot de passe");
    // Used once: the link is spent, in this browser and any other.
    let mut again = Browser::new(&w.base);
    again.get(&link).await;
    assert_eq!(again.status, 404);
    again.shows("Lien d'activation invalide");
    // A weak password, then two different ones, are refused in French.
    b.submit(&[
        ("mot_de_passe", "motdepasse"),
        ("mot_de_passe_confirmation", "motdepasse"),
    ])
    .await;
    assert_eq!(b.status, 422);
    b.shows("Le mot de passe doit compter au moins 12 caractères.");
    b.submit(&[
        ("mot_de_passe", PASSWORD),
        ("mot_de_passe_confirmation", "Autre-Chose-Encore-99"),
    ])
    .await;
    b.shows("Les deux mots de passe ne sont pas identiques.");
    // 24 hours by the clock.
    let late = w.add_agent("bob@ars-bfc.test", "39").await;
    w.advance(86_399);
    let mut c = Browser::new(&w.base);
    c.get(&late).await;
    assert_eq!(c.status, 200);
    w.advance(1);
    c.get(&late).await;
    assert_eq!(c.status, 404);
    c.post_raw(&late, &[]).await;
    assert!(c.status == 403 || c.status == 404);
    assert_eq!(audited(&w.db.store, "ars.agent.added").await, 2);
    assert_eq!(
        audited(&w.db.store, "ars.agent.enrolment_link_used").await,
        1
    );
    // The link is stored as an HMAC, never in clear.
    let token = link.rsplit('/').next().unwrap();
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM portal_link WHERE portal = 'ars' AND token_hash = $1",
    )
    .bind(token)
    .fetch_one(w.db.store.pool())
    .await
    .unwrap();
    assert_eq!(stored, 0);
    w.db.cleanup().await;
}

async fn reg_11_login_needs_password_then_totp_and_a_code_is_good_once(dialect: Dialect) {
    let w = world(dialect).await;
    let (mut b, secret) = w.enrolled("alice@ars-ara.test", "69").await;
    // The TOTP secret is sealed at rest: not in the table in any readable form.
    let sealed: String = sqlx::query_scalar("SELECT totp_sealed FROM ars_agent")
        .fetch_one(w.db.store.pool())
        .await
        .unwrap();
    let b32 = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret.clone(),
        None,
        String::new(),
    )
    .get_secret_base32();
    assert!(!sealed.contains(&b32));
    b.submit_nth(0, &[]).await; // logout
    b.shows("Vous êtes déconnecté de l'espace ARS.");
    // A wrong password: refused, without saying which part was wrong.
    b.login("alice@ars-ara.test", "Mauvais-Mot-De-Passe-1")
        .await;
    assert_eq!(b.status, 422);
    b.shows("Adresse e-mail ou mot de passe incorrect.");
    // The right password alone does not open the back office.
    w.advance(30);
    b.login("ALICE@ars-ara.test", PASSWORD).await;
    b.shows("Code de vérification");
    b.get("/ars").await;
    b.shows("Connexion à l'espace ARS");
    assert!(!b.has("Files de traitement"));
    b.get("/ars/code").await;
    let now_code = code(&secret, w.now());
    let wrong = if now_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.submit(&[("code", wrong)]).await;
    assert_eq!(b.status, 422);
    b.shows("Ce code n'est pas valide ou a déjà été utilisé.");
    b.submit(&[("code", &now_code)]).await;
    b.shows("Files de traitement");
    assert_eq!(audited(&w.db.store, "ars.login.ok").await, 1);
    // Logged out, the same code in its window is refused: used once.
    b.submit_nth(0, &[]).await;
    b.login("alice@ars-ara.test", PASSWORD).await;
    b.submit(&[("code", &now_code)]).await;
    assert_eq!(b.status, 422);
    b.shows("a déjà été utilisé");
    assert!(audited(&w.db.store, "ars.login.second_factor_failed").await >= 2);
    // The next step's code is good.
    w.advance(30);
    b.submit(&[("code", &code(&secret, w.now()))]).await;
    b.shows("Files de traitement");
    // 30 minutes without a request: the session is over.
    w.advance(29 * 60);
    b.get("/ars").await;
    b.shows("Files de traitement");
    w.advance(30 * 60);
    b.get("/ars").await;
    b.shows("Connexion à l'espace ARS");
    w.db.cleanup().await;
}

async fn reg_11_password_and_code_failures_are_throttled(dialect: Dialect) {
    let w = world(dialect).await;
    let (mut b, secret) = w.enrolled("carl@ars-pdl.test", "44").await;
    b.submit_nth(0, &[]).await;
    for _ in 0..5 {
        b.login("carl@ars-pdl.test", "Pas-Le-Bon-Mot-2026").await;
        assert_eq!(b.status, 422);
    }
    // Even the right password waits now.
    b.login("carl@ars-pdl.test", PASSWORD).await;
    assert_eq!(b.status, 429);
    b.shows("Trop de tentatives infructueuses. Réessayez dans");
    // Counted in the database: another browser (same source) waits too.
    let mut other = Browser::new(&w.base);
    other.login("carl@ars-pdl.test", PASSWORD).await;
    assert_eq!(other.status, 429);
    w.advance(31 * 60);
    b.login("carl@ars-pdl.test", PASSWORD).await;
    b.shows("Code de vérification");
    for _ in 0..5 {
        b.submit(&[("code", "12345x")]).await;
        assert_eq!(b.status, 422);
    }
    b.submit(&[("code", &code(&secret, w.now()))]).await;
    assert_eq!(b.status, 429);
    assert!(!b.has("Files de traitement"));
    w.db.cleanup().await;
}

async fn reg_11_agents_see_only_their_departments(dialect: Dialect) {
    let w = world(dialect).await;
    let julie = file_anomaly(&w, JULIE).await;
    let thomas = file_anomaly(&w, THOMAS).await;
    w.advance(3 * 86_400 + 60);
    let (mut lyon, _) = w.enrolled("rhone@ars-ara.test", "69,01").await;
    let (mut nantes, _) = w.enrolled("loire@ars-pdl.test", "44").await;
    // Each queue holds its département's report, with its age.
    lyon.get("/ars").await;
    lyon.shows(&format!("/ars/signalements/{julie}"));
    assert!(!lyon.has(&thomas));
    lyon.shows("Reçu il y a 3 jours — département 69");
    nantes.get("/ars").await;
    nantes.shows(&format!("/ars/signalements/{thomas}"));
    assert!(!nantes.has(&julie));
    // Another département's report or record: 404 as an unknown one, nothing leaks.
    let unknown_status = {
        nantes.get("/ars/signalements/inconnu").await;
        nantes.status
    };
    assert_eq!(unknown_status, 404);
    nantes.get(&format!("/ars/signalements/{julie}")).await;
    assert_eq!(nantes.status, 404);
    assert!(!nantes.has("Victor Hugo") && !nantes.has("Martin"));
    nantes.get(&format!("/ars/professionnels/{JULIE}")).await;
    assert_eq!(nantes.status, 404);
    nantes
        .get(&format!("/ars/professionnels/{JULIE}/coordonnees"))
        .await;
    assert_eq!(nantes.status, 404);
    // Not even through a forged form of a page of theirs.
    nantes.get(&format!("/ars/signalements/{thomas}")).await;
    let csrf = hidden(&nantes.page).remove("csrf").unwrap();
    nantes
        .post_raw(
            &format!("/ars/signalements/{julie}"),
            &[("csrf", &csrf), ("action", "claim")],
        )
        .await;
    assert_eq!(nantes.status, 404);
    let (state,): (String,) = sqlx::query_as("SELECT state FROM reg_anomaly WHERE id = $1")
        .bind(&julie)
        .fetch_one(w.db.store.pool())
        .await
        .unwrap();
    assert_eq!(state, "received");
    // Their own: the record opens.
    lyon.get(&format!("/ars/professionnels/{JULIE}")).await;
    assert_eq!(lyon.status, 200);
    lyon.shows("Julie Martin");
    lyon.shows("19999900012");
    w.db.cleanup().await;
}

async fn reg_11_a_rejection_needs_a_reason(dialect: Dialect) {
    let w = world(dialect).await;
    let id = file_anomaly(&w, JULIE).await;
    let (mut b, _) = w.enrolled("rhone@ars-ara.test", "69").await;
    b.get(&format!("/ars/signalements/{id}")).await;
    b.shows("Adresse du cabinet");
    b.submit(&[]).await; // Prendre en charge
    b.shows("Vous avez pris en charge ce signalement.");
    b.submit(&[("decision", "rejected"), ("motif", "   ")])
        .await;
    assert_eq!(b.status, 422);
    b.shows("Indiquez le motif du rejet.");
    b.submit(&[]).await;
    b.shows("Choisissez votre décision.");
    b.submit(&[
        ("decision", "rejected"),
        (
            "motif",
            "L'adresse du répertoire est celle du cabinet principal.",
        ),
    ])
    .await;
    assert_eq!(b.status, 200);
    b.shows("Votre décision est enregistrée.");
    b.shows("Ce signalement est traité.");
    let (a, events) = caducee_registry::anomaly::get(&w.db.store, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state.as_str(), "rejected");
    assert_eq!(
        a.decision_note.as_deref(),
        Some("L'adresse du répertoire est celle du cabinet principal.")
    );
    assert_eq!(events.last().unwrap().actor, "ars:rhone@ars-ara.test");
    // The history of the record shows it.
    b.get(&format!("/ars/professionnels/{JULIE}")).await;
    b.shows("Signalement d'anomalie : changement d'état");
    w.db.cleanup().await;
}

async fn reg_11_coordinates_on_behalf_with_evidence_audited(dialect: Dialect) {
    let w = world(dialect).await;
    let (mut b, _) = w.enrolled("loire@ars-pdl.test", "44").await;
    let path = format!("/ars/professionnels/{THOMAS}/coordonnees");
    b.get(&path).await;
    b.shows("l'ARS peut intervenir pour lui permettre l'accès au portail");
    let fields = [
        ("email", "thomas.bernard@exemple.fr"),
        ("mobile", "06 98 76 54 32"),
        ("adresse", "3 rue des Olivettes, 44000 Nantes"),
    ];
    // Not a PDF, JPEG nor PNG, whatever it says it is.
    b.post_multipart(
        &path,
        &fields,
        (
            "cni.pdf",
            "application/pdf",
            b"<html><script>alert(1)</script>",
        ),
    )
    .await;
    assert_eq!(b.status, 422);
    b.shows("Le fichier doit être un PDF, une image JPEG ou PNG.");
    // What was typed is kept.
    b.shows("thomas.bernard@exemple.fr");
    // A bad mobile, no file.
    b.post_multipart(
        &path,
        &[("email", "x@exemple.fr"), ("mobile", "12")],
        ("", "application/octet-stream", b""),
    )
    .await;
    b.shows("Saisissez un numéro de portable au format");
    b.shows("Joignez la copie de la pièce d'identité");
    // Too large.
    let big = [b"%PDF-1.4\n".as_slice(), &vec![b'0'; 5 * 1024 * 1024]].concat();
    b.post_multipart(&path, &fields, ("cni.pdf", "application/pdf", &big))
        .await;
    assert_eq!(b.status, 422);
    b.shows("Le fichier ne doit pas dépasser 5 Mo.");
    // A forged form (no token of this browser).
    let mut stranger = Browser::new(&w.base);
    stranger
        .post_multipart(
            &path,
            &fields,
            ("cni.pdf", "application/pdf", b"%PDF-1.4\n%%EOF"),
        )
        .await;
    assert_eq!(stranger.status, 403);
    // The identity document seen: saved at once, with its evidence.
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n";
    b.post_multipart(&path, &fields, ("cni-thomas.pdf", "application/pdf", pdf))
        .await;
    assert_eq!(b.status, 200, "{}", main_of(&b.page));
    b.shows("Les coordonnées sont enregistrées");
    b.shows("cni-thomas.pdf");
    let id = caducee_registry::queries::parse_id(THOMAS).unwrap();
    let p = caducee_registry::queries::get_professional(&w.db.store, &id)
        .await
        .unwrap()
        .unwrap();
    let c = p.contact.unwrap();
    assert_eq!(c.email, "thomas.bernard@exemple.fr");
    assert_eq!(c.mobile, "+33698765432");
    assert_eq!(c.address, "3 rue des Olivettes, 44000 Nantes");
    let (evidence, agent): (String, String) =
        sqlx::query_as("SELECT id, agent_id FROM ars_evidence WHERE idnat = $1")
            .bind(THOMAS)
            .fetch_one(w.db.store.pool())
            .await
            .unwrap();
    // Audited with the agent and the evidence, by the back office and by the registry.
    let events = caducee_store::audit::events_for(&w.db.store, THOMAS)
        .await
        .unwrap();
    let on_behalf = events
        .iter()
        .find(|e| e.action == "ars.contact.set_on_behalf")
        .expect("audited");
    assert_eq!(on_behalf.actor, "ars:loire@ars-pdl.test");
    assert!(on_behalf.details.contains(&evidence) && on_behalf.details.contains(&agent));
    assert!(
        !on_behalf.details.contains("thomas.bernard@exemple.fr"),
        "masked"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "registry.contact.updated" && e.details.contains(&evidence)),
        "the registry's own audit names the evidence"
    );
    // The document is the agent's to see, as an attachment that runs nothing.
    b.get(&format!("/ars/professionnels/{THOMAS}/pieces/{evidence}"))
        .await;
    assert_eq!(b.status, 200);
    assert_eq!(b.page.as_bytes(), pdf);
    assert_eq!(b.headers["content-type"], "application/pdf");
    assert!(b.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(b.headers["x-content-type-options"], "nosniff");
    assert!(b.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let mut lyon = w.enrolled("rhone@ars-ara.test", "69").await.0;
    lyon.get(&format!("/ars/professionnels/{THOMAS}/pieces/{evidence}"))
        .await;
    assert_eq!(lyon.status, 404);
    let mut anonymous = Browser::new(&w.base);
    anonymous
        .get(&format!("/ars/professionnels/{THOMAS}/pieces/{evidence}"))
        .await;
    assert!(!anonymous.page.starts_with("%PDF"));
    anonymous.shows("Connexion à l'espace ARS");
    w.db.cleanup().await;
}

async fn reg_11_forms_without_this_browsers_token_are_refused(dialect: Dialect) {
    let w = world(dialect).await;
    let (mut b, secret) = w.enrolled("rhone@ars-ara.test", "69").await;
    let id = file_anomaly(&w, JULIE).await;
    // Logged in, but the form did not come from our page: refused, nothing done.
    b.post_raw(&format!("/ars/signalements/{id}"), &[("action", "claim")])
        .await;
    assert_eq!(b.status, 403);
    b.shows("Formulaire expiré");
    b.post_raw(
        &format!("/ars/signalements/{id}"),
        &[("action", "claim"), ("csrf", "faux")],
    )
    .await;
    assert_eq!(b.status, 403);
    let mut stranger = Browser::new(&w.base);
    stranger
        .post_raw(
            "/ars/connexion",
            &[("email", "rhone@ars-ara.test"), ("mot_de_passe", PASSWORD)],
        )
        .await;
    assert_eq!(stranger.status, 403);
    stranger
        .post_raw("/ars/code", &[("code", &code(&secret, w.now()))])
        .await;
    assert_eq!(stranger.status, 403);
    let (state,): (String,) = sqlx::query_as("SELECT state FROM reg_anomaly WHERE id = $1")
        .bind(&id)
        .fetch_one(w.db.store.pool())
        .await
        .unwrap();
    assert_eq!(state, "received");
    w.db.cleanup().await;
}

async fn reg_11_change_requests_and_registrations_are_decided_in_the_agents_queue(
    dialect: Dialect,
) {
    use caducee_registry::registration::{
        self, Coordinate, DocumentKind, FcIdentity, RegistrationForm,
    };
    use caducee_registry::requests::{self, Change, ExerciseName};
    let w = world(dialect).await;
    let store = &w.db.store;
    // Julie Martin (69) asks to change her exercise name.
    let actor = format!("ps:{JULIE}");
    let draft = requests::save_draft(
        store,
        &w.clock,
        JULIE,
        &Change::ExerciseName(ExerciseName {
            last_name: "Martin-Rey".into(),
            first_name: "Julie".into(),
        }),
        &actor,
    )
    .await
    .unwrap();
    let request = requests::submit(store, &w.clock, JULIE, &draft.id, &actor)
        .await
        .unwrap();
    // A first registration in Lyon, with its three documents.
    let reg = registration::open(
        store,
        &w.clock,
        &FcIdentity {
            issuer: "https://fc.example.test".into(),
            sub: "fc-sub-1".into(),
            given_name: "Amélie".into(),
            family_name: "Lefèvre".into(),
            birthdate: "1990-04-12".into(),
            gender: "female".into(),
            birthplace: "69123".into(),
            birthcountry: "99100".into(),
            email: "amelie@fc.example.test".into(),
        },
    )
    .await
    .unwrap();
    let reg = registration::save_form(
        store,
        &w.clock,
        &reg.id,
        &RegistrationForm {
            profession_code: "60".into(),
            mode_code: "L".into(),
            structure_name: "Cabinet infirmier des Pentes".into(),
            street: "12 rue des Capucins".into(),
            postcode: "69001".into(),
            city: "Lyon".into(),
            email: "amelie.lefevre@example.test".into(),
            mobile: "06 12 34 56 78".into(),
        },
    )
    .await
    .unwrap();
    for c in [Coordinate::Email, Coordinate::Mobile] {
        let value = if c == Coordinate::Email {
            reg.form.email.clone()
        } else {
            reg.form.mobile.clone()
        };
        registration::confirm(store, &w.clock, &reg.id, c, &value)
            .await
            .unwrap();
    }
    let pdf: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
    for (kind, name) in [
        (DocumentKind::Identity, "cni.pdf"),
        (DocumentKind::Diploma, "diplome.pdf"),
        (DocumentKind::Activity, "contrat.pdf"),
    ] {
        registration::add_document(store, &w.clock, &reg.id, kind, name, pdf)
            .await
            .unwrap();
    }
    registration::submit(store, &w.clock, &reg.id)
        .await
        .unwrap();
    w.advance(2 * 3600);
    let (mut lyon, _) = w.enrolled("rhone@ars-ara.test", "69").await;
    let (mut nantes, _) = w.enrolled("loire@ars-pdl.test", "44").await;
    lyon.get("/ars").await;
    lyon.shows(&format!("/ars/demandes/{}", request.id));
    lyon.shows(&format!("/ars/enregistrements/{}", reg.id));
    lyon.shows("Reçu il y a 2 heures — département 69");
    nantes.get("/ars").await;
    assert!(!nantes.has(&request.id) && !nantes.has(&reg.id));
    nantes.get(&format!("/ars/demandes/{}", request.id)).await;
    assert_eq!(nantes.status, 404);
    nantes
        .get(&format!("/ars/enregistrements/{}", reg.id))
        .await;
    assert_eq!(nantes.status, 404);
    // The request, field by field; a rejection without a reason is refused.
    lyon.get(&format!("/ars/demandes/{}", request.id)).await;
    lyon.shows("Martin-Rey");
    lyon.submit(&[("decision", "reject"), ("motif", "")]).await;
    assert_eq!(lyon.status, 422);
    lyon.shows("Indiquez le motif du rejet.");
    lyon.submit(&[("decision", "approve")]).await;
    lyon.shows("Votre décision est enregistrée ; le professionnel la reçoit par e-mail.");
    let decided = requests::get(store, &request.id).await.unwrap().unwrap();
    assert_eq!(decided.state.as_str(), "approved");
    assert_eq!(
        decided.decided_by.as_deref(),
        Some("ars:rhone@ars-ara.test")
    );
    // The registration: its documents are the agent's to see, as attachments.
    lyon.get(&format!("/ars/enregistrements/{}", reg.id)).await;
    lyon.shows("Lefèvre");
    let doc = attr_after(
        &lyon.page,
        &format!("/ars/enregistrements/{}/documents/", reg.id),
        "\"",
    )
    .unwrap();
    lyon.get(&format!("/ars/enregistrements/{}/documents/{doc}", reg.id))
        .await;
    assert_eq!(lyon.status, 200);
    assert!(lyon.page.starts_with("%PDF"));
    assert!(lyon.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    nantes
        .get(&format!("/ars/enregistrements/{}/documents/{doc}", reg.id))
        .await;
    assert_eq!(nantes.status, 404);
    lyon.get(&format!("/ars/enregistrements/{}", reg.id)).await;
    lyon.submit(&[("decision", "approve")]).await;
    lyon.shows("Demande validée : numéro RPPS");
    let approved = registration::get(store, &reg.id).await.unwrap().unwrap();
    let rpps = approved.rpps.unwrap();
    lyon.shows(&rpps);
    w.db.cleanup().await;
}

async fn reg_11_demo_agents_one_per_department_of_the_personas(dialect: Dialect) {
    let w = world(dialect).await;
    let agents = w.portals.seed_demo_agents().await.unwrap();
    let departments: Vec<&str> = agents.iter().map(|a| a.departments[0].as_str()).collect();
    assert_eq!(departments, ["31", "33", "35", "44", "59", "69"]);
    // Again at the next start: the same agents and secrets, nothing added.
    let again = w.portals.seed_demo_agents().await.unwrap();
    assert_eq!(
        again.iter().map(|a| &a.totp_secret).collect::<Vec<_>>(),
        agents.iter().map(|a| &a.totp_secret).collect::<Vec<_>>()
    );
    assert_eq!(audited(&w.db.store, "ars.agent.added").await, 6);
    // What serve --demo prints logs in.
    let lyon = agents.iter().find(|a| a.departments == ["69"]).unwrap();
    assert_eq!(lyon.email, "agent.69@ars.example.test");
    assert!(lyon.otpauth_uri.contains(&lyon.totp_secret));
    let secret = totp_rs::Secret::Encoded(lyon.totp_secret.clone())
        .to_bytes()
        .unwrap();
    let mut b = Browser::new(&w.base);
    b.login(&lyon.email, lyon.password).await;
    b.shows("Code de vérification");
    b.submit(&[("code", &code(&secret, w.now()))]).await;
    b.shows("Files de traitement");
    w.db.cleanup().await;
}

async fn reg_11_a_removed_agent_is_out_and_a_new_link_resets_the_second_factor(dialect: Dialect) {
    let w = world(dialect).await;
    let hasher = SecretHasher::new(SECRET);
    let (mut gone, _) = w.enrolled("parti@ars-ara.test", "69").await;
    assert!(
        agents::remove(&w.db.store, "PARTI@ars-ara.test", "operator:test", w.now())
            .await
            .unwrap()
    );
    // Their session ended at once; their password opens nothing.
    gone.get("/ars").await;
    gone.shows("Connexion à l'espace ARS");
    gone.login("parti@ars-ara.test", PASSWORD).await;
    gone.shows("Adresse e-mail ou mot de passe incorrect.");
    assert!(
        !agents::remove(&w.db.store, "parti@ars-ara.test", "operator:test", w.now())
            .await
            .unwrap()
    );
    // A lost phone: a new link forgets the password and the TOTP secret.
    let (mut b, old_secret) = w.enrolled("perdu@ars-ara.test", "69").await;
    let added = agents::reenrol(
        &w.db.store,
        &hasher,
        "perdu@ars-ara.test",
        "operator:test",
        w.now(),
    )
    .await
    .unwrap()
    .unwrap();
    b.get("/ars").await;
    b.shows("Connexion à l'espace ARS");
    b.login("perdu@ars-ara.test", PASSWORD).await;
    b.shows("Adresse e-mail ou mot de passe incorrect.");
    let link = agents::enrolment_url(&w.base, &added.token);
    b.get(link.strip_prefix(&w.base).unwrap()).await;
    b.submit(&[]).await;
    b.submit(&[
        ("mot_de_passe", "Nouveau-Telephone-2026"),
        ("mot_de_passe_confirmation", "Nouveau-Telephone-2026"),
    ])
    .await;
    let new_secret = secret_of(&b.page);
    assert_ne!(new_secret, old_secret);
    w.advance(30);
    b.submit(&[("code", &code(&old_secret, w.now()))]).await;
    assert_eq!(b.status, 422, "the old phone's code");
    b.submit(&[("code", &code(&new_secret, w.now()))]).await;
    b.shows("Votre accès est activé");
    let listed = agents::list(&w.db.store).await.unwrap();
    let states: Vec<(&str, &str)> = listed
        .iter()
        .map(|a| (a.email.as_str(), a.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("parti@ars-ara.test", "removed"),
            ("perdu@ars-ara.test", "active")
        ]
    );
    assert_eq!(audited(&w.db.store, "ars.agent.removed").await, 1);
    assert_eq!(audited(&w.db.store, "ars.agent.reenrolment").await, 1);
    w.db.cleanup().await;
}

on_both_engines! {
    reg_11_enrolment_link_is_single_use_and_lives_24_hours => reg_11_enrolment_link_is_single_use_and_lives_24_hours;
    reg_11_login_needs_password_then_totp_and_a_code_is_good_once => reg_11_login_needs_password_then_totp_and_a_code_is_good_once;
    reg_11_password_and_code_failures_are_throttled => reg_11_password_and_code_failures_are_throttled;
    reg_11_agents_see_only_their_departments => reg_11_agents_see_only_their_departments;
    reg_11_a_rejection_needs_a_reason => reg_11_a_rejection_needs_a_reason;
    reg_11_coordinates_on_behalf_with_evidence_audited => reg_11_coordinates_on_behalf_with_evidence_audited;
    reg_11_forms_without_this_browsers_token_are_refused => reg_11_forms_without_this_browsers_token_are_refused;
    reg_11_change_requests_and_registrations_are_decided_in_the_agents_queue => reg_11_change_requests_and_registrations_are_decided_in_the_agents_queue;
    reg_11_demo_agents_one_per_department_of_the_personas => reg_11_demo_agents_one_per_department_of_the_personas;
    reg_11_a_removed_agent_is_out_and_a_new_link_resets_the_second_factor => reg_11_a_removed_agent_is_out_and_a_new_link_resets_the_second_factor;
}
