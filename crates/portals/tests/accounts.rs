//! The local accounts of the Ordre's space (ACC-01..07) through HTTP: the portals' real
//! router and the kit's routes served on an ephemeral port, a cookie-keeping HTTP client as
//! the browser (it follows redirects as a browser does), the registry's demo personas, the
//! outbox where codes and links are enqueued (the browser journeys read them from the real
//! SMTP server and SMS gateway; here the outbox is the boundary), a `ManualClock`, both
//! database engines. Two nodes on one database finish each other's journeys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::ManualClock;
use caducee_passwords::{Argon2Policy, PasswordHasher};
use caducee_portals::{Portals, PortalsOptions};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};
use sqlx::Row;
use std::collections::HashMap;
use time::macros::datetime;

const SECRET: &[u8] = b"instance secret of the accounts tests, 32+ bytes";
const PASSWORD: &str = "péniche-vélo-grenadine-42";

/// Julie Martin, physician (the demo persona).
const RPPS: &str = "19999900012";
const BIRTH: &str = "12/04/1980";
const EMAIL: &str = "julie.martin@example.test";
const MOBILE: &str = "+33612345601";

struct World {
    db: TestDb,
    base: String,
    clock: ManualClock,
    portals: Portals,
}

fn options() -> PortalsOptions {
    options_for(caducee_portals::config::ordre())
}

fn options_for(portal: caducee_portals::PortalConfig) -> PortalsOptions {
    PortalsOptions {
        configs: vec![portal],
        passwords: PasswordHasher::new(Argon2Policy::for_tests()),
        ..PortalsOptions::default()
    }
}

/// A node: the portals of `store` served on an ephemeral port.
async fn node(store: &Store, clock: &ManualClock) -> (String, Portals) {
    node_with(store, clock, options()).await
}

async fn node_with(
    store: &Store,
    clock: &ManualClock,
    options: PortalsOptions,
) -> (String, Portals) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let portals =
        Portals::with_options(store.clone(), clock.shared(), &base, SECRET, options).unwrap();
    let app = caducee_portals::routes(portals.clone()).merge(caducee_pages::routes(false));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, portals)
}

async fn world(dialect: Dialect) -> World {
    world_with(dialect, options()).await
}

async fn world_with(dialect: Dialect, options: PortalsOptions) -> World {
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
    let clock = ManualClock::new(datetime!(2026-12-01 09:00 UTC));
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let (base, portals) = node_with(&db.store, &clock, options).await;
    World {
        db,
        base,
        clock,
        portals,
    }
}

/// A browser: cookies kept, redirects followed, the last page remembered.
struct Browser {
    http: reqwest::Client,
    base: String,
    page: String,
    status: u16,
    url: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser::speaking(base, "fr-FR,fr;q=0.9")
    }

    /// A browser whose every request says `Accept-Language: language`.
    fn speaking(base: &str, language: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_str(language).unwrap(),
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
        }
    }

    /// Another browser sharing this one's cookies (the same person on another node).
    fn on(&self, base: &str) -> Browser {
        Browser {
            http: self.http.clone(),
            base: base.to_string(),
            page: self.page.clone(),
            status: self.status,
            url: self.url.clone(),
        }
    }

    async fn take(&mut self, r: reqwest::Response) -> &str {
        self.status = r.status().as_u16();
        self.url = r.url().path().to_string()
            + &r.url().query().map(|q| format!("?{q}")).unwrap_or_default();
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

    /// Submits the page's form (its hidden fields) with `fields`.
    async fn submit(&mut self, fields: &[(&str, &str)]) -> &str {
        let action = attr_after(&self.page, "<form method=\"post\" action=\"", "\"")
            .unwrap_or_else(|| panic!("no form on {}: {}", self.url, self.page));
        let mut form: Vec<(String, String)> = hidden(&self.page).into_iter().collect();
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

    /// POSTs `fields` alone (no token of ours) to `path`.
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

    fn has(&self, text: &str) -> bool {
        self.page.contains(text)
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

fn attr_after(html: &str, before: &str, end: &str) -> Option<String> {
    let at = html.find(before)? + before.len();
    let rest = &html[at..];
    Some(rest[..rest.find(end)?].replace("&amp;", "&"))
}

/// The hidden inputs of a page.
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

/// The bodies of the messages enqueued for `to`, oldest first.
async fn messages_to(store: &Store, to: &str) -> Vec<String> {
    sqlx::query(
        "SELECT subject, body_text FROM notify_outbox WHERE recipient = $1 ORDER BY created_at, message_id",
    )
    .bind(to)
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| format!("{}\n{}", r.get::<String, _>(0), r.get::<String, _>(1)))
    .collect()
}

/// The 6-digit code of the last message to `to` (the clock moves a second between sends,
/// so "last" is well defined on both engines).
async fn last_code(store: &Store, to: &str) -> String {
    let all = messages_to(store, to).await;
    let body = all.last().unwrap_or_else(|| panic!("no message to {to}"));
    six_digits(body).unwrap_or_else(|| panic!("no code in {body}"))
}

fn six_digits(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let run = &b[i..i + 6];
        let before = i.checked_sub(1).map(|j| b[j].is_ascii_digit());
        let after = b.get(i + 6).map(u8::is_ascii_digit);
        (run.iter().all(u8::is_ascii_digit) && before != Some(true) && after != Some(true))
            .then(|| String::from_utf8_lossy(run).to_string())
    })
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn audited(store: &Store, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_event WHERE action = $1")
        .bind(action)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

impl World {
    fn tick(&self) {
        self.clock.advance(time::Duration::seconds(1));
    }

    fn clock_unix(&self) -> i64 {
        caducee_core::clock::Clock::unix(&self.clock)
    }

    /// Steps 1–3 of a creation (or recovery) up to the code, the code sent by `channel`.
    async fn through_identity(&self, b: &mut Browser, path: &str, channel: &str) {
        b.get(path).await;
        b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
            .await;
        assert_eq!(b.status, 200, "{}", main_of(&b.page));
        b.submit(&[("moyen", channel), ("action", "envoyer")]).await;
        b.shows("Veuillez saisir le code reçu");
        self.tick();
    }

    /// A full creation by SMS with the login `email`.
    async fn create_account(&self, b: &mut Browser, email: &str) {
        self.through_identity(b, "/espaces/ordre/creer", "sms")
            .await;
        let code = last_code(&self.db.store, MOBILE).await;
        b.submit(&[("code", &code), ("action", "valider")]).await;
        b.shows("Finaliser la création de votre espace");
        b.submit(&[
            ("email", email),
            ("mot_de_passe", PASSWORD),
            ("mot_de_passe_confirmation", PASSWORD),
        ])
        .await;
        b.shows("Votre espace personnel a été créé et activé. Un email de confirmation vous a été envoyé");
        self.tick();
    }

    async fn login(&self, b: &mut Browser, email: &str, password: &str) -> u16 {
        b.get("/espaces/ordre").await;
        b.submit(&[("email", email), ("mot_de_passe", password)])
            .await;
        b.status
    }
}

// ---------------------------------------------------------------------------------------

async fn acc_01(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    b.get("/espaces/ordre").await;
    for text in [
        "Connectez-vous à votre espace",
        "E-mail",
        "Mot de passe",
        "Se connecter",
        "Créer votre espace",
        "Identifiants oubliés ?",
        "ORDRE DES MÉDECINS",
    ] {
        if text == "ORDRE DES MÉDECINS" {
            // The banner is the name, upper-cased by the stylesheet.
            b.shows("Ordre des médecins</a></div>");
        } else {
            b.shows(text);
        }
    }
    b.get("/espaces/ordre/creer").await;
    b.shows("Créer votre espace");
    b.shows("Format : 17/06/1980");
    b.shows("Où trouver mon RPPS ?");
    b.shows("href=\"/annuaire\"");
    b.shows("Conditions générales d'utilisation");
    // Format errors: one French message per field, and the summary linking to them.
    b.submit(&[("date_naissance", "1980-04-12"), ("rpps", "1234")])
        .await;
    assert_eq!(b.status, 422);
    b.shows("Le formulaire contient des erreurs");
    b.shows("href=\"#date_naissance\"");
    b.shows("Saisissez votre date de naissance au format JJ/MM/AAAA, par exemple 17/06/1980.");
    b.shows("Le numéro RPPS compte 11 chiffres : vérifiez votre saisie.");
    b.shows("Cochez la case pour accepter les Conditions générales d'utilisation et la Politique de confidentialité.");
    // Nothing typed is lost.
    b.shows("value=\"1980-04-12\"");
    // No match: another birth date, or a professional who is not a physician.
    let no_match = "Les informations que vous avez saisies ne correspondent pas à celles connues de l'Ordre, veuillez les corriger ou vous rapprocher de votre conseil";
    for (birth, rpps) in [("13/04/1980", RPPS), ("03/09/1988", "19999900020")] {
        b.get("/espaces/ordre/creer").await;
        b.submit(&[("date_naissance", birth), ("rpps", rpps), ("cgu", "1")])
            .await;
        assert_eq!(b.status, 422);
        b.shows(no_match);
    }
    assert_eq!(
        count(&w.db.store, "SELECT COUNT(*) FROM portal_code").await,
        0
    );
    // A match with no account: the securing step, coordinates masked.
    b.get("/espaces/ordre/creer").await;
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    assert_eq!(b.status, 200);
    b.shows("Sécuriser la création de votre espace");
    b.shows("+3361***01");
    b.shows("ju***in@example.test");
    assert!(
        !b.has(MOBILE) && !b.has(EMAIL),
        "coordinates shown in clear"
    );
    // Once the account exists, the same pair is blocked with the link to recovery.
    w.create_account(&mut Browser::new(&w.base), "julie@cabinet.example.test")
        .await;
    b.get("/espaces/ordre/creer").await;
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    b.shows("Un compte est déjà associé à ce numéro RPPS, en cas d'oubli de mot de passe, demandez une <a href=\"/espaces/ordre/mot-de-passe-oublie\">récupération de mot de passe.</a>");
    w.db.cleanup().await;
}

async fn acc_02(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    b.get("/espaces/ordre/creer").await;
    // Typed, not validated (the terms box left unticked).
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS)]).await;
    let flow = hidden(&b.page)["flow"].clone();
    b.get(&format!("/espaces/ordre/creer?flow={flow}")).await;
    b.shows(&format!("value=\"{RPPS}\""));
    let stored = count(&w.db.store, "SELECT COUNT(*) FROM portal_flow").await;
    assert_eq!(stored, 1, "the typed data are a row, on every node");
    // Nine minutes later it is still there; at ten, it is gone.
    w.clock.advance(time::Duration::minutes(9));
    b.get(&format!("/espaces/ordre/creer?flow={flow}")).await;
    b.shows(&format!("value=\"{RPPS}\""));
    w.clock.advance(time::Duration::seconds(61));
    b.get(&format!("/espaces/ordre/creer?flow={flow}")).await;
    b.shows("Votre saisie n'a pas été validée dans les 10 minutes : elle a été effacée. Veuillez recommencer.");
    assert!(!b.has(RPPS), "the RPPS is still shown after 10 minutes");
    w.portals.housekeeping().await.unwrap();
    assert_eq!(
        count(&w.db.store, "SELECT COUNT(*) FROM portal_flow").await,
        0,
        "the typed data are deleted from the database"
    );
    w.db.cleanup().await;
}

async fn acc_03(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    b.get("/espaces/ordre/creer").await;
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    // No coordinate ticked.
    b.submit(&[("action", "envoyer")]).await;
    assert_eq!(b.status, 422);
    b.shows("Cochez le numéro de téléphone ou l'adresse e-mail où recevoir le code.");
    b.submit(&[("moyen", "sms"), ("action", "envoyer")]).await;
    b.shows("Veuillez saisir le code reçu");
    b.shows("Un code à 6 chiffres a été envoyé à +3361***01.");
    for label in ["Valider", "Renvoyer le code", "Retour"] {
        b.shows(label);
    }
    b.shows("inputmode=\"numeric\"");
    b.shows("autocomplete=\"one-time-code\"");
    let first = last_code(&w.db.store, MOBILE).await;
    // Stored hashed, never in clear.
    let stored: String = sqlx::query_scalar("SELECT code_hash FROM portal_code")
        .fetch_one(w.db.store.pool())
        .await
        .unwrap();
    assert!(!stored.contains(&first) && stored.len() == 64);
    assert_eq!(audited(&w.db.store, "portals.code.sent").await, 1);
    let sent: String =
        sqlx::query_scalar("SELECT details FROM audit_event WHERE action = 'portals.code.sent'")
            .fetch_one(w.db.store.pool())
            .await
            .unwrap();
    assert!(sent.contains("+3361***01") && !sent.contains(MOBILE) && !sent.contains(&first));
    // A wrong code counts a try.
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.submit(&[("code", wrong), ("action", "valider")]).await;
    b.shows("Ce code est incorrect. Il vous reste 4 essai(s).");
    assert_eq!(audited(&w.db.store, "portals.code.failed").await, 1);
    // Resent: the first code is dead, the second one works… after "Retour" and back.
    w.tick();
    b.submit(&[("action", "renvoyer")]).await;
    b.shows("Un nouveau code vous a été envoyé.");
    let second = last_code(&w.db.store, MOBILE).await;
    b.submit(&[("action", "retour")]).await;
    b.shows("Sécuriser la création de votre espace");
    w.tick();
    b.submit(&[("moyen", "email"), ("action", "envoyer")]).await;
    b.shows("ju***in@example.test");
    let by_email = last_code(&w.db.store, EMAIL).await;
    if first != by_email && second != by_email {
        b.submit(&[("code", &first), ("action", "valider")]).await;
        b.shows("Ce code est incorrect.");
        b.submit(&[("code", &second), ("action", "valider")]).await;
        b.shows("Ce code est incorrect.");
    }
    // Expired after 10 minutes.
    w.clock.advance(time::Duration::minutes(10));
    b.submit(&[("code", &by_email), ("action", "valider")])
        .await;
    b.shows("Ce code a expiré.");
    w.db.cleanup().await;
}

async fn acc_03_five_tries(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.through_identity(&mut b, "/espaces/ordre/creer", "sms")
        .await;
    let code = last_code(&w.db.store, MOBILE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        b.submit(&[("code", wrong), ("action", "valider")]).await;
        b.shows("Ce code est incorrect.");
    }
    b.submit(&[("code", wrong), ("action", "valider")]).await;
    b.shows("Le code a été saisi trop de fois de manière incorrecte.");
    // The right code no longer helps: the journey and its data are gone.
    assert_eq!(
        count(&w.db.store, "SELECT COUNT(*) FROM portal_flow").await,
        0
    );
    w.db.cleanup().await;
}

async fn acc_04_by_sms(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.through_identity(&mut b, "/espaces/ordre/creer", "sms")
        .await;
    let code = last_code(&w.db.store, MOBILE).await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    b.shows("Finaliser la création de votre espace");
    b.shows("Afin de finaliser la création de votre compte et l'activer, veuillez saisir vos paramètres de connexion");
    b.shows("Sécurité du mot de passe :");
    b.shows("Activer");
    b.shows("data-force=\"/espaces/ordre/force-mot-de-passe\"");
    // Weak, personal, mismatched: refused with what to do, the e-mail kept.
    for (password, confirm, message) in [
        (
            "court",
            "court",
            "Le mot de passe doit compter au moins 12 caractères.",
        ),
        (
            "motdepasse123",
            "motdepasse123",
            "Ce mot de passe fait partie des plus utilisés",
        ),
        (
            "JulieMartin1980!",
            "JulieMartin1980!",
            "Ce mot de passe reprend votre nom",
        ),
        (
            PASSWORD,
            "autre chose",
            "Les deux mots de passe ne sont pas identiques.",
        ),
    ] {
        b.submit(&[
            ("email", "julie@cabinet.example.test"),
            ("mot_de_passe", password),
            ("mot_de_passe_confirmation", confirm),
        ])
        .await;
        assert_eq!(b.status, 422);
        b.shows(message);
        b.shows("value=\"julie@cabinet.example.test\"");
        assert!(
            !b.has(password) || password == "court",
            "a password echoed back"
        );
    }
    b.submit(&[
        ("email", "julie@cabinet.example.test"),
        ("mot_de_passe", PASSWORD),
        ("mot_de_passe_confirmation", PASSWORD),
    ])
    .await;
    b.shows(
        "Votre espace personnel a été créé et activé. Un email de confirmation vous a été envoyé",
    );
    b.shows("Retour à la connexion");
    let confirmation = messages_to(&w.db.store, "julie@cabinet.example.test").await;
    assert_eq!(confirmation.len(), 1);
    assert!(
        confirmation[0].contains("a été créé"),
        "{}",
        confirmation[0]
    );
    assert_eq!(audited(&w.db.store, "portals.account.created").await, 1);
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM portal_account")
        .fetch_one(w.db.store.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    // The account works; the journey's data are gone.
    assert_eq!(
        count(&w.db.store, "SELECT COUNT(*) FROM portal_flow").await,
        0
    );
    assert_eq!(
        w.login(&mut b, "julie@cabinet.example.test", PASSWORD)
            .await,
        200
    );
    b.shows("Mes services");
    b.shows("Bonjour Julie Martin");
    for s in ["Abonnements", "Cotisations", "Mes Gardes", "Paramètres"] {
        b.shows(s);
    }
    assert_eq!(audited(&w.db.store, "portals.login.ok").await, 1);
    // Logging out ends the session, audited.
    b.submit(&[]).await;
    b.shows("Vous êtes déconnecté(e) de votre espace.");
    b.get("/espaces/ordre/parametres").await;
    b.shows("Connectez-vous à votre espace");
    assert_eq!(audited(&w.db.store, "portals.logout").await, 1);
    w.db.cleanup().await;
}

async fn acc_04_by_email(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.through_identity(&mut b, "/espaces/ordre/creer", "email")
        .await;
    let code = last_code(&w.db.store, EMAIL).await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    b.shows("Créer mon compte");
    // The login is the registry's e-mail the code proved, shown in full.
    b.shows(&format!("<span class=\"identifiant\">{EMAIL}</span>"));
    assert!(
        !b.has("name=\"email\""),
        "the login is the registry's e-mail, not typed"
    );
    b.submit(&[
        ("email", "attacker@example.test"),
        ("mot_de_passe", PASSWORD),
        ("mot_de_passe_confirmation", PASSWORD),
    ])
    .await;
    b.shows("Votre espace personnel a été créé et activé.");
    assert_eq!(w.login(&mut b, EMAIL, PASSWORD).await, 200);
    b.shows("Mes services");
    let mut other = Browser::new(&w.base);
    assert_eq!(
        w.login(&mut other, "attacker@example.test", PASSWORD).await,
        401
    );
    other.shows("Adresse e-mail ou mot de passe incorrect.");
    w.db.cleanup().await;
}

async fn acc_05(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.create_account(&mut b, "julie@cabinet.example.test").await;
    // A professional without an account is sent to creation.
    let mut nobody = Browser::new(&w.base);
    nobody.get("/espaces/ordre/recuperer").await;
    nobody.shows("Récupérer votre espace");
    nobody
        .submit(&[
            ("date_naissance", "08/02/1983"),
            ("rpps", "19999900061"),
            ("cgu", "1"),
        ])
        .await;
    nobody.shows("Aucun espace n'est encore associé à ce numéro RPPS");
    nobody.shows("href=\"/espaces/ordre/creer\"");
    // The no-match message is the creation's.
    nobody.get("/espaces/ordre/recuperer").await;
    nobody
        .submit(&[
            ("date_naissance", "01/01/1980"),
            ("rpps", RPPS),
            ("cgu", "1"),
        ])
        .await;
    nobody.shows("ne correspondent pas à celles connues de l'Ordre");
    // Julie recovers her space.
    let mut b = Browser::new(&w.base);
    b.get("/espaces/ordre/recuperer").await;
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    b.shows("Sécuriser la récupération de votre espace");
    b.shows("Afin de finaliser la récupération de votre compte");
    b.submit(&[("moyen", "sms"), ("action", "envoyer")]).await;
    w.tick();
    let code = last_code(&w.db.store, MOBILE).await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    b.shows("Finaliser la récupération de votre espace");
    b.shows("Confirmation Email");
    b.shows("Confirmation du mot de passe");
    let new = |email: &'static str, confirm: &'static str| {
        [
            ("email", email),
            ("email_confirmation", confirm),
            ("mot_de_passe", PASSWORD),
            ("mot_de_passe_confirmation", PASSWORD),
        ]
    };
    // The address she used before: refused, as the seed says.
    b.submit(&new(
        "julie@cabinet.example.test",
        "julie@cabinet.example.test",
    ))
    .await;
    b.shows("Un compte est déjà associé à cette adresse mail");
    b.submit(&new("julie.new@example.test", "julie.other@example.test"))
        .await;
    b.shows("Les deux adresses e-mail ne sont pas identiques.");
    b.submit(&new("julie.new@example.test", "julie.new@example.test"))
        .await;
    b.shows("Votre espace a été récupéré");
    assert_eq!(
        w.login(
            &mut Browser::new(&w.base),
            "julie.new@example.test",
            PASSWORD
        )
        .await,
        200
    );
    assert_eq!(
        w.login(
            &mut Browser::new(&w.base),
            "julie@cabinet.example.test",
            PASSWORD
        )
        .await,
        401
    );
    let notice = messages_to(&w.db.store, "julie@cabinet.example.test").await;
    assert!(
        notice.iter().any(|m| m.contains("ju***ew@example.test")),
        "the old address is told: {notice:?}"
    );
    assert_eq!(
        audited(&w.db.store, "portals.account.email_changed").await,
        1
    );
    assert_eq!(
        audited(&w.db.store, "portals.account.password_changed").await,
        1
    );
    w.db.cleanup().await;
}

fn link_in(message: &str) -> String {
    let at = message.find("/espaces/ordre/lien/").expect("a link");
    message[at..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

async fn acc_06(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.create_account(&mut b, "julie@cabinet.example.test").await;
    let mut b = Browser::new(&w.base);
    b.get("/espaces/ordre/mot-de-passe-oublie").await;
    b.shows("Réinitialiser votre mot de passe");
    b.shows(
        "Pour réinitialiser votre mot de passe, veuillez saisir votre adresse email de connexion.",
    );
    b.shows("Je ne connais plus mon adresse email");
    // An unknown address gets the same answer and no message.
    b.submit(&[("email", "nobody@example.test")]).await;
    let unknown_answer = main_of(&b.page).to_string();
    assert!(messages_to(&w.db.store, "nobody@example.test")
        .await
        .is_empty());
    b.get("/espaces/ordre/mot-de-passe-oublie").await;
    b.submit(&[("email", "Julie@Cabinet.example.test")]).await;
    assert_eq!(main_of(&b.page), unknown_answer);
    let mails = messages_to(&w.db.store, "julie@cabinet.example.test").await;
    let link = link_in(mails.last().unwrap());
    assert!(mails.last().unwrap().contains("24 heures"));
    // Stored hashed.
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        count(
            &w.db.store,
            &format!("SELECT COUNT(*) FROM portal_link WHERE token_hash LIKE '%{token}%'")
        )
        .await,
        0
    );
    // Opening it (a mail scanner, or the professional) does not use it.
    let mut scanner = Browser::new(&w.base);
    scanner.get(&link).await;
    scanner.shows("Me connecter et choisir un nouveau mot de passe");
    let mut julie = Browser::new(&w.base);
    julie.get(&link).await;
    assert_eq!(julie.status, 200);
    // Its button uses it, signs her in, and lets her set a password without the old one.
    julie.submit(&[]).await;
    julie.shows("Vous venez d'utiliser votre lien de connexion unique. Il n'est désormais plus nécessaire d'utiliser ce lien pour vous connecter.");
    assert!(!julie.has("mot_de_passe_actuel"));
    let fresh = "gabarre-trottinette-sirop-77";
    julie
        .submit(&[
            ("nouveau_mot_de_passe", fresh),
            ("confirmation", fresh),
            ("email", "julie@cabinet.example.test"),
        ])
        .await;
    julie.shows("Votre mot de passe a été modifié.");
    assert_eq!(audited(&w.db.store, "portals.reset.link_used").await, 1);
    // Single use.
    scanner.submit(&[]).await;
    assert_eq!(scanner.status, 410);
    scanner.shows("Ce lien n'est plus valable");
    assert_eq!(
        w.login(
            &mut Browser::new(&w.base),
            "julie@cabinet.example.test",
            fresh
        )
        .await,
        200
    );
    // A link is dead after 24 hours.
    w.tick();
    b.get("/espaces/ordre/mot-de-passe-oublie").await;
    b.submit(&[("email", "julie@cabinet.example.test")]).await;
    let mails = messages_to(&w.db.store, "julie@cabinet.example.test").await;
    let late = link_in(mails.last().unwrap());
    assert_ne!(late, link);
    w.clock.advance(time::Duration::hours(24));
    let mut b = Browser::new(&w.base);
    b.get(&late).await;
    assert_eq!(b.status, 410);
    w.db.cleanup().await;
}

async fn acc_07(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.create_account(&mut b, "julie@cabinet.example.test").await;
    // Not logged in: back to the login page.
    b.get("/espaces/ordre/parametres").await;
    b.shows("Connectez-vous à votre espace");
    let mut other_session = Browser::new(&w.base);
    assert_eq!(
        w.login(&mut other_session, "julie@cabinet.example.test", PASSWORD)
            .await,
        200
    );
    assert_eq!(
        w.login(&mut b, "julie@cabinet.example.test", PASSWORD)
            .await,
        200
    );
    b.get("/espaces/ordre/parametres").await;
    for text in [
        "Paramètres",
        "INFORMATIONS CONNEXION",
        "Mot de passe actuel",
        "Saisissez votre mot de passe actuel pour changer votre Adresse de courriel ou votre Mot de passe.",
        "Demander un nouveau mot de passe.",
        "Nouveau mot de passe",
        "Confirmer votre nouveau mot de passe",
        "Adresse de courriel *",
        "Ne sera pas rendue publique.",
        "Enregistrer",
    ] {
        b.shows(text);
    }
    let fresh = "gabarre-trottinette-sirop-77";
    let change = |current: &'static str| {
        [
            ("mot_de_passe_actuel", current),
            ("nouveau_mot_de_passe", fresh),
            ("confirmation", fresh),
            ("email", "julie@cabinet.example.test"),
        ]
    };
    b.submit(&change("")).await;
    b.shows("Saisissez votre mot de passe actuel.");
    b.submit(&change("not-the-password")).await;
    b.shows("Le mot de passe actuel est incorrect.");
    b.submit(&change(PASSWORD)).await;
    b.shows("Votre mot de passe a été modifié.");
    // The other session ended with the old password.
    other_session.get("/espaces/ordre").await;
    other_session.shows("Connectez-vous à votre espace");
    // A new e-mail: the current password, then a code at the new address.
    b.get("/espaces/ordre/parametres").await;
    b.submit(&[
        ("mot_de_passe_actuel", PASSWORD),
        ("email", "julie.new@example.test"),
    ])
    .await;
    b.shows("Le mot de passe actuel est incorrect.");
    b.submit(&[
        ("mot_de_passe_actuel", fresh),
        ("email", "julie.new@example.test"),
    ])
    .await;
    b.shows("Veuillez saisir le code reçu");
    b.shows("ju***ew@example.test");
    let code = last_code(&w.db.store, "julie.new@example.test").await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    b.shows("Votre adresse de courriel a été modifiée.");
    let notice = messages_to(&w.db.store, "julie@cabinet.example.test").await;
    assert!(
        notice.last().unwrap().contains("ju***ew@example.test"),
        "{notice:?}"
    );
    assert_eq!(
        w.login(&mut Browser::new(&w.base), "julie.new@example.test", fresh)
            .await,
        200
    );
    assert_eq!(
        audited(&w.db.store, "portals.account.email_changed").await,
        1
    );
    w.db.cleanup().await;
}

async fn nfr_02_forms_need_this_browsers_token(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.create_account(&mut b, "julie@cabinet.example.test").await;
    // A login posted from elsewhere (no token, no cookie): refused, nothing logged in.
    let mut forged = Browser::new(&w.base);
    forged
        .post_raw(
            "/espaces/ordre/connexion",
            &[
                ("email", "julie@cabinet.example.test"),
                ("mot_de_passe", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(audited(&w.db.store, "portals.login.ok").await, 0);
    // A flow id taken to another browser is not its flow.
    let mut a = Browser::new(&w.base);
    a.get("/espaces/ordre/recuperer").await;
    a.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    let url = a.url.clone();
    let mut thief = Browser::new(&w.base);
    thief.get(&url).await;
    thief.shows("elle a été effacée");
    assert!(!thief.has("+3361***01"));
    w.db.cleanup().await;
}

async fn english(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::speaking(&w.base, "en-GB,en;q=0.9,fr;q=0.5");
    b.get("/espaces/ordre/creer").await;
    b.shows("<html lang=\"en\">");
    b.shows("Create your space");
    b.shows("Date of birth *");
    b.submit(&[
        ("date_naissance", "12/04/1981"),
        ("rpps", RPPS),
        ("cgu", "1"),
    ])
    .await;
    b.shows("The information you entered does not match what the Order knows");
    // The messages speak the page's language.
    b.get("/espaces/ordre/creer").await;
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    b.shows("Secure the creation of your space");
    b.submit(&[("moyen", "sms"), ("action", "envoyer")]).await;
    let sms = messages_to(&w.db.store, MOBILE).await;
    assert!(
        sms.last()
            .unwrap()
            .contains("your code to create your account is"),
        "{sms:?}"
    );
    // French stays the default; the switch keeps the page.
    let mut fr = Browser::new(&w.base);
    fr.get("/espaces/ordre/creer").await;
    fr.shows("<html lang=\"fr\">");
    fr.get("/langue/en?retour=%2Fespaces%2Fordre%2Fcreer").await;
    assert_eq!(fr.url, "/espaces/ordre/creer");
    fr.shows("Create your space");
    w.db.cleanup().await;
}

async fn meter(dialect: Dialect) {
    let w = world(dialect).await;
    let mut b = Browser::new(&w.base);
    w.through_identity(&mut b, "/espaces/ordre/creer", "sms")
        .await;
    let code = last_code(&w.db.store, MOBILE).await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    let form = hidden(&b.page);
    let ask = |password: &'static str, csrf: String| {
        let http = b.http.clone();
        let url = format!("{}/espaces/ordre/force-mot-de-passe", w.base);
        let flow = form["flow"].clone();
        async move {
            let r = http
                .post(url)
                .form(&[("mot_de_passe", password), ("csrf", &csrf), ("flow", &flow)])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // The person's own data make a password weak: the server knows who types.
    let (status, weak) = ask("Martin19800412", form["csrf"].clone()).await;
    assert_eq!(status, 200);
    assert_eq!(weak["level"], 0, "{weak}");
    assert_eq!(weak["label"], "Faible");
    assert!(
        weak["warning"]
            .as_str()
            .unwrap()
            .contains("reprend votre nom"),
        "{weak}"
    );
    assert_eq!(weak["rules"][0]["met"], true);
    let (_, strong) = ask("péniche-vélo-grenadine-42", form["csrf"].clone()).await;
    assert!(strong["level"].as_i64().unwrap() >= 1, "{strong}");
    let (_, short) = ask("abc", form["csrf"].clone()).await;
    assert_eq!(short["rules"][0]["met"], false);
    let (forged, _) = ask("x", "0".repeat(64)).await;
    assert_eq!(forged, 403);
    w.db.cleanup().await;
}

async fn terms_versions(dialect: Dialect) {
    use caducee_portals::terms::{self, Published, TermsError};
    let w = world(dialect).await;
    let store = &w.db.store;
    let now = w.clock_unix();
    assert_eq!(terms::current(store, "ordre").await.unwrap(), None);
    assert_eq!(
        terms::must_accept(store, "ordre", "account:a1")
            .await
            .unwrap(),
        None
    );
    let v1 = terms::publish(
        store,
        "ordre",
        "2026-01",
        "Conditions v1",
        "operator:t",
        now,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(v1, Published::New(_)));
    // Immutable: the same text again is nothing, another text under that version is refused.
    let same = terms::publish(
        store,
        "ordre",
        "2026-01",
        "Conditions v1",
        "operator:t",
        now,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(same, Published::Unchanged(_)));
    assert_eq!(
        terms::publish(store, "ordre", "2026-01", "Autre texte", "operator:t", now)
            .await
            .unwrap(),
        Err(TermsError::VersionTaken("2026-01".into()))
    );
    assert_eq!(
        terms::publish(store, "ordre", "v 2", "x", "operator:t", now)
            .await
            .unwrap(),
        Err(TermsError::BadVersion)
    );
    let due = terms::must_accept(store, "ordre", "account:a1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(due.version, "2026-01");
    terms::accept(store, "ordre", "2026-01", "account:a1", now)
        .await
        .unwrap();
    terms::accept(store, "ordre", "2026-01", "account:a1", now)
        .await
        .unwrap();
    assert_eq!(
        terms::must_accept(store, "ordre", "account:a1")
            .await
            .unwrap(),
        None
    );
    // A new version must be accepted again; other portals are not concerned.
    w.tick();
    terms::publish(
        store,
        "ordre",
        "2026-02",
        "Conditions v2",
        "operator:t",
        now + 1,
    )
    .await
    .unwrap()
    .unwrap();
    let due = terms::must_accept(store, "ordre", "account:a1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (due.version.as_str(), due.body.as_str()),
        ("2026-02", "Conditions v2")
    );
    assert_eq!(
        terms::must_accept(store, "demo", "account:a1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(audited(store, "portals.terms.published").await, 2);
    assert_eq!(audited(store, "portals.terms.accepted").await, 1);
    w.db.cleanup().await;
}

async fn modes(dialect: Dialect) {
    let mut portal = caducee_portals::config::ordre();
    portal.exercise_modes = vec!["S".into()];
    let w = world_with(dialect, options_for(portal)).await;
    let mut b = Browser::new(&w.base);
    b.get("/espaces/ordre/creer").await;
    b.submit(&[("date_naissance", BIRTH), ("rpps", RPPS), ("cgu", "1")])
        .await;
    b.shows("ne correspondent pas à celles connues de l'Ordre");
    w.db.cleanup().await;
}

// --------------------------------------------------------------------------- RPLUS

const LEGACY_PASSWORD: &str = "Resoflux-2026";
/// Meets RPLUS's four rules (ACC-09).
const RPLUS_PASSWORD: &str = "Tramway-grenadine-42";

/// The RPLUS portal as the demo declares it, without its Pro Santé Connect means (these
/// tests have no provider; rp_contract.rs has the PSC path).
fn rplus_local() -> caducee_portals::PortalConfig {
    let mut p = caducee_portals::config::rplus();
    p.login = vec![caducee_portals::LoginMeans::Local];
    p
}

/// Imports the old system's accounts of the tests: CPAM0001 (bcrypt, bound to Julie's RPPS),
/// CPAM0002 ({SSHA}),
/// CPAM0003 (Django PBKDF2), all with [`LEGACY_PASSWORD`].
async fn import_legacy(w: &World, portal: &str) {
    let bcrypt = caducee_passwords::legacy::demo_bcrypt(LEGACY_PASSWORD).unwrap();
    let ssha = caducee_passwords::legacy::demo_ssha(LEGACY_PASSWORD, b"sel-ssha");
    let django = caducee_passwords::legacy::demo_django_pbkdf2(LEGACY_PASSWORD, "selDjango", 1000);
    let file = format!(
        "CPAM0001;julie.martin@example.test;{bcrypt};19999900012\nCPAM0002;karim.benali@example.test;{ssha}\nCPAM0003;sophie.durand@example.test;{django}\n"
    );
    let report = caducee_portals::legacy::import(
        &w.db.store,
        portal,
        file.as_bytes(),
        "test",
        w.clock_unix(),
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 3, "{report:?}");
}

/// Julie's personal details on the wizard's first step.
const JULIE_DETAILS: [(&str, &str); 9] = [
    ("civilite", "MME"),
    ("nom", "MARTIN"),
    ("prenom", "Julie"),
    ("profession", "10"),
    ("rpps", RPPS),
    ("email", "julie@cabinet-martin.example.test"),
    ("indicatif", "+33"),
    ("portable", "06 12 34 56 01"),
    ("cgu", "1"),
];

/// The text, e-mail and phone inputs of a page with their values (what a browser would
/// send back as they are).
fn visible_inputs(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in html.split("<input id=\"").skip(1) {
        let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
        let kind = attr_after(tag, "type=\"", "\"").unwrap_or_default();
        if !matches!(kind.as_str(), "text" | "email" | "tel") {
            continue;
        }
        let name = attr_after(tag, "name=\"", "\"").unwrap_or_default();
        let value = attr_after(tag, "value=\"", "\"").unwrap_or_default();
        out.push((name, value.replace("&#x27;", "'").replace("&quot;", "\"")));
    }
    out
}

/// The `href` of the link whose id is `id`.
fn href_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", main_of(html)));
    let tag = &html[html[..at].rfind("<a ").unwrap()..at];
    attr_after(tag, "href=\"", "\"").unwrap()
}

impl World {
    async fn legacy_login(&self, b: &mut Browser, portal: &str, id: &str, password: &str) {
        b.get(&format!("/espaces/{portal}")).await;
        b.submit(&[("email", id), ("mot_de_passe", password)]).await;
    }

    /// Through the wizard's details and e-mail code, up to the password.
    /// CPAM0001's first login, then "Je configure mon compte portail": the first step.
    async fn open_wizard(&self, b: &mut Browser, portal: &str) {
        self.legacy_login(b, portal, "CPAM0001", LEGACY_PASSWORD)
            .await;
        b.shows("Bienvenue sur votre");
        let start = href_of(&b.page, "configurer");
        b.get(&start).await;
    }

    async fn through_details(&self, b: &mut Browser, portal: &str) {
        self.open_wizard(b, portal).await;
        b.shows("Coordonnées personnelles");
        b.submit(&JULIE_DETAILS).await;
        b.shows("Saisissez le code de vérification envoyé à l'adresse e-mail ju***ie@cabinet-martin.example.test");
        self.tick();
        let code = last_code(&self.db.store, "julie@cabinet-martin.example.test").await;
        b.submit(&[("code", &code), ("action", "valider")]).await;
        b.shows("Créer votre mot de passe");
    }
}

/// ACC-08: a legacy account logs in with the old system's identifier and password (each of
/// the recognised hash formats), the old hash is replaced by argon2id at that first login,
/// a wrong password is refused with the same words as an unknown identifier, and the
/// welcome page leads into the wizard.
async fn acc_08_legacy(dialect: Dialect) {
    let w = world_with(dialect, options_for(rplus_local())).await;
    import_legacy(&w, "rplus").await;
    let mut b = Browser::new(&w.base);
    b.get("/espaces/rplus").await;
    for text in [
        "Identifiant",
        "Mot de passe",
        "Se souvenir de moi",
        "Mot de passe oublié ?",
        "Connexion",
        "Pour votre première connexion au portail, indiquez votre identifiant CPAM et votre mot de passe Résoflux",
    ] {
        b.shows(text);
    }
    w.legacy_login(&mut b, "rplus", "CPAM0001", "pas-le-bon")
        .await;
    assert_eq!(b.status, 401);
    b.shows("Identifiant ou mot de passe incorrect.");
    w.legacy_login(&mut b, "rplus", "CPAM9999", LEGACY_PASSWORD)
        .await;
    assert_eq!(b.status, 401);
    b.shows("Identifiant ou mot de passe incorrect.");
    assert_eq!(audited(&w.db.store, "portals.login.failed").await, 2);

    for id in ["CPAM0001", "cpam0002", "CPAM0003"] {
        let mut b = Browser::new(&w.base);
        w.legacy_login(&mut b, "rplus", id, LEGACY_PASSWORD).await;
        assert_eq!(b.status, 200, "{id}: {}", main_of(&b.page));
        b.shows("Bienvenue sur votre Portail RPLUS SANTÉ");
        b.shows("Après avoir configuré votre compte, vous pourrez accéder à vos données d'activités et gérer votre espace client.");
        b.shows("Je configure mon compte portail");
    }
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "SELECT hash_kind, legacy_hash FROM portal_legacy_account WHERE portal = 'rplus' ORDER BY identifier",
    )
    .fetch_all(w.db.store.pool())
    .await
    .unwrap();
    for (kind, hash) in &kinds {
        assert_eq!(kind, "argon2id");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
    }
    assert_eq!(audited(&w.db.store, "portals.legacy.migrated").await, 3);
    // The argon2id hash now answers the same password; a second login resumes.
    let mut b = Browser::new(&w.base);
    w.legacy_login(&mut b, "rplus", "CPAM0001", LEGACY_PASSWORD)
        .await;
    b.shows("Coordonnées personnelles");
    assert_eq!(audited(&w.db.store, "portals.legacy.migrated").await, 3);
    w.db.cleanup().await;
}

/// ACC-09: the wizard's steps — details checked (French messages, the registry's match),
/// the e-mail code, the password's four rules, the mobile's code (its number changeable,
/// the step skippable), the structure prefilled from the registry and checked, the end;
/// then the legacy identifier no longer logs in, the e-mail does, "Se souvenir de moi"
/// keeps the session beyond the browser.
async fn acc_09_wizard(dialect: Dialect) {
    let w = world_with(dialect, options_for(rplus_local())).await;
    import_legacy(&w, "rplus").await;
    let mut b = Browser::new(&w.base);
    w.open_wizard(&mut b, "rplus").await;
    b.shows("Étape 1 sur 5");
    for text in [
        "Civilité",
        "Nom",
        "Prénom",
        "Type de professionnel de santé",
        "Numéro RPPS",
        "Email personnel pour la connexion",
        "Indicatif",
        "+33",
        "Numéro de téléphone portable",
        "conditions générales",
    ] {
        b.shows(text);
    }
    // The old system's e-mail is suggested.
    b.shows("value=\"julie.martin@example.test\"");
    b.submit(&[("email", ""), ("cgu", "")]).await;
    assert_eq!(b.status, 422);
    for text in [
        "Choisissez votre civilité.",
        "Saisissez votre nom.",
        "Saisissez votre prénom.",
        "Choisissez votre type de professionnel de santé dans la liste.",
        "Saisissez votre numéro RPPS.",
        "Cochez la case pour accepter les conditions générales d'utilisation.",
    ] {
        b.shows(text);
    }
    // Someone else's number: the name does not match the registry's.
    let mut wrong = JULIE_DETAILS;
    wrong[1] = ("nom", "Dupont");
    b.submit(&wrong).await;
    b.shows("Les informations saisies ne correspondent pas au répertoire RPPS");
    let mut nurse = JULIE_DETAILS;
    nurse[3] = ("profession", "60");
    b.submit(&nurse).await;
    b.shows("Les informations saisies ne correspondent pas au répertoire RPPS");
    // CPAM0001 is bound to Julie's number: Karim's (a valid one) is refused on its field.
    let mut other_rpps = JULIE_DETAILS;
    other_rpps[4] = ("rpps", "19999900061");
    b.submit(&other_rpps).await;
    b.shows("Ce numéro RPPS n'est pas celui que votre compte RPLUS connaît");
    let mut bad_mobile = JULIE_DETAILS;
    bad_mobile[7] = ("portable", "12 34");
    b.submit(&bad_mobile).await;
    b.shows("Ce numéro de portable n'est pas valide");

    b.submit(&JULIE_DETAILS).await;
    b.shows("Étape 2 sur 5");
    b.shows("Saisissez le code de vérification envoyé à l'adresse e-mail ju***ie@cabinet-martin.example.test");
    b.shows("Demander un nouveau code");
    b.submit(&[("code", "000000"), ("action", "valider")]).await;
    b.shows("Ce code est incorrect.");
    w.tick();
    b.submit(&[("action", "renvoyer")]).await;
    b.shows("Un nouveau code vous a été envoyé.");
    let email = "julie@cabinet-martin.example.test";
    assert_eq!(messages_to(&w.db.store, email).await.len(), 2);
    let code = last_code(&w.db.store, email).await;
    b.submit(&[("code", &code), ("action", "valider")]).await;

    b.shows("Étape 3 sur 5");
    b.shows("Créer votre mot de passe");
    // The live meter knows who registers: Julie's name makes her password weak, and it
    // answers with RPLUS's four rules.
    let form = hidden(&b.page);
    let meter: serde_json::Value = b
        .http
        .post(format!("{}/espaces/rplus/force-mot-de-passe", w.base))
        .form(&[
            ("mot_de_passe", "Martin-Julie-1980"),
            ("csrf", form["csrf"].as_str()),
            ("flow", form["flow"].as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        meter["warning"]
            .as_str()
            .unwrap_or("")
            .contains("reprend votre nom"),
        "{meter}"
    );
    assert_eq!(meter["rules"].as_array().map(Vec::len), Some(4), "{meter}");
    for rule in [
        "12 caractères ou plus",
        "1 lettre majuscule",
        "1 lettre minuscule",
        "1 chiffre ou 1 caractère spécial",
    ] {
        b.shows(rule);
    }
    b.submit(&[
        ("mot_de_passe", "tramway grenadine poivre"),
        ("mot_de_passe_confirmation", "tramway grenadine poivre"),
        ("action", "valider"),
    ])
    .await;
    b.shows("Le mot de passe doit contenir une lettre majuscule");
    b.submit(&[
        ("mot_de_passe", RPLUS_PASSWORD),
        ("mot_de_passe_confirmation", "autre"),
        ("action", "valider"),
    ])
    .await;
    b.shows("Les deux mots de passe ne sont pas identiques.");
    w.tick();
    b.submit(&[
        ("mot_de_passe", RPLUS_PASSWORD),
        ("mot_de_passe_confirmation", RPLUS_PASSWORD),
        ("action", "valider"),
    ])
    .await;
    assert_eq!(
        count(
            &w.db.store,
            "SELECT COUNT(*) FROM portal_account WHERE portal = 'rplus'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&w.db.store, "SELECT COUNT(*) FROM portal_registration").await,
        0,
        "what was typed is gone with the registration's end"
    );
    let (account, hash): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT account_id, legacy_hash FROM portal_legacy_account WHERE identifier = 'CPAM0001'",
    )
    .fetch_one(w.db.store.pool())
    .await
    .unwrap();
    assert!(account.is_some() && hash.is_none());

    // Step 4: the mobile of step 1 got its code with the account.
    b.shows("Étape 4 sur 5");
    b.shows("Validation du numéro de téléphone");
    b.shows("Afin de garantir la sécurité d'accès à vos données, veuillez entrer le code à 6 chiffres envoyé au : +3361***01");
    b.shows("Une erreur ? Modifier mon numéro de téléphone");
    b.shows("Ignorer cette étape");
    let sms = last_code(&w.db.store, MOBILE).await;
    b.submit(&[("action", "modifier")]).await;
    b.shows("Validation des coordonnées");
    b.shows("value=\"0612345601\"");
    w.tick();
    b.submit(&[
        ("indicatif", "+33"),
        ("valeur", "06 12 34 56 01"),
        ("action", "valider"),
    ])
    .await;
    let sms2 = last_code(&w.db.store, MOBILE).await;
    if sms2 != sms {
        b.submit(&[("code", &sms), ("action", "valider")]).await;
        assert_eq!(b.status, 422, "the first flow's code is not this flow's");
    }
    b.submit(&[("code", &sms2), ("action", "valider")]).await;

    // Step 5: the structure, prefilled from the registry's cabinet.
    b.shows("Étape 5 sur 5");
    b.shows("Coordonnées de votre structure");
    for label in [
        "Raison sociale",
        "Dénomination commerciale",
        "Numéro SIRET",
        "Numéro CPAM",
        "Numéro FINESS",
        "Adresse Structure",
        "Complément d'adresse",
        "Code Postal",
        "Ville",
        "Pays",
        "Email de l'établissement",
        "Téléphone Structure",
        "Numéro fax structure",
        "Coordonnées de facturation",
    ] {
        b.shows(label);
    }
    let prefilled = visible_inputs(&b.page);
    let value = |name: &str| {
        prefilled
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let siret = value("siret");
    assert_eq!(siret.len(), 14, "the registry's SIRET is prefilled");
    assert!(!value("raison_sociale").is_empty() && !value("ville").is_empty());
    let with = |over: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = prefilled
            .iter()
            .filter(|(n, _)| !over.iter().any(|(o, _)| o == n))
            .cloned()
            .collect();
        all.extend(over.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        all
    };
    let fields = with(&[
        ("siret", "12345678901234"),
        ("finess", "750712185"),
        ("cpam", "12"),
        ("action", "valider"),
    ]);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.submit(&refs).await;
    assert_eq!(b.status, 422);
    b.shows("Ce numéro SIRET n'est pas valide");
    b.shows("Ce numéro FINESS n'est pas valide");
    b.shows("Le numéro CPAM compte 9 chiffres");
    let fields = with(&[
        ("siret", &siret),
        ("finess", "750712184"),
        ("cpam", "691234567"),
        ("facturation_identique", "1"),
        ("action", "valider"),
    ]);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.submit(&refs).await;
    b.shows("Votre demande d'activation de compte est maintenant finalisée. Vous pouvez dès à présent accéder à votre espace client.");
    b.shows("Accéder à votre espace client");
    b.get("/espaces/rplus").await;
    b.shows("Mes données d'activité");

    // Later logins: the e-mail, never the old identifier again.
    let mut other = Browser::new(&w.base);
    w.legacy_login(&mut other, "rplus", "CPAM0001", LEGACY_PASSWORD)
        .await;
    assert_eq!(other.status, 401);
    // A client that stops at the redirect, to read the login's cookies.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{}/espaces/rplus", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let login = |remember: bool| {
        let mut form = vec![
            ("csrf", hidden(&page)["csrf"].clone()),
            ("email", email.to_string()),
            ("mot_de_passe", RPLUS_PASSWORD.to_string()),
        ];
        if remember {
            form.push(("se_souvenir", "1".to_string()));
        }
        http.post(format!("{}/espaces/rplus/connexion", w.base))
            .form(&form)
            .send()
    };
    let local_cookie = |r: &reqwest::Response| {
        r.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap_or("").to_string())
            .find(|c| c.contains("local"))
            .unwrap_or_else(|| panic!("no local session cookie: {:?}", r.headers()))
    };
    let r = login(true).await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        local_cookie(&r).contains("Max-Age=2592000"),
        "Se souvenir de moi: a cookie of 30 days"
    );
    let r = login(false).await.unwrap();
    assert!(
        !local_cookie(&r).contains("Max-Age"),
        "without it, a cookie of the browser's session"
    );
    let how: Vec<String> = sqlx::query_scalar(
        "SELECT how FROM portal_local_session WHERE how LIKE 'password%' ORDER BY created_at, how",
    )
    .fetch_all(w.db.store.pool())
    .await
    .unwrap();
    assert_eq!(how, ["password", "password-remembered"]);
    other.get("/espaces/rplus").await;
    other
        .submit(&[("email", email), ("mot_de_passe", RPLUS_PASSWORD)])
        .await;
    other.shows("Mes données d'activité");
    w.db.cleanup().await;
}

/// ACC-09: leaving the wizard halfway and logging in again — in another browser, on a new
/// node of the same database (a restart) — resumes at the step left, with a fresh code.
async fn acc_09_resume(dialect: Dialect) {
    let w = world_with(dialect, options_for(rplus_local())).await;
    import_legacy(&w, "rplus").await;
    let mut b = Browser::new(&w.base);
    w.open_wizard(&mut b, "rplus").await;
    b.submit(&JULIE_DETAILS).await;
    b.shows("Vérification de votre email");
    w.tick();

    let (base2, _node2) = node_with(&w.db.store, &w.clock, options_for(rplus_local())).await;
    let mut again = Browser::new(&base2);
    w.legacy_login(&mut again, "rplus", "CPAM0001", LEGACY_PASSWORD)
        .await;
    again.shows("Étape 2 sur 5");
    again.shows("Vérification de votre email");
    let email = "julie@cabinet-martin.example.test";
    let code = last_code(&w.db.store, email).await;
    again
        .submit(&[("code", &code), ("action", "valider")])
        .await;
    again.shows("Créer votre mot de passe");
    // "Retour" keeps what was typed.
    again.submit(&[("action", "retour")]).await;
    again.shows("value=\"MARTIN\"");
    again.shows("value=\"julie@cabinet-martin.example.test\"");
    // Abandoned 30 days, what was typed is forgotten; the legacy login starts afresh.
    let registrations = "SELECT COUNT(*) FROM portal_registration";
    w.clock.advance(time::Duration::days(29));
    w.portals.housekeeping().await.unwrap();
    assert_eq!(count(&w.db.store, registrations).await, 1);
    w.clock.advance(time::Duration::days(2));
    w.portals.housekeeping().await.unwrap();
    assert_eq!(count(&w.db.store, registrations).await, 0);
    let mut fresh = Browser::new(&w.base);
    w.legacy_login(&mut fresh, "rplus", "CPAM0001", LEGACY_PASSWORD)
        .await;
    fresh.shows("Bienvenue sur votre Portail RPLUS SANTÉ");
    w.db.cleanup().await;
}

/// ACC-08: "Mot de passe oublié ?" by the identifier: a code to the account's e-mail,
/// shown masked, then the new password (RPLUS's rules) with the code; the old password no
/// longer logs in.
async fn acc_08_forgot(dialect: Dialect) {
    let w = world_with(dialect, options_for(rplus_local())).await;
    import_legacy(&w, "rplus").await;
    let mut b = Browser::new(&w.base);
    w.through_details(&mut b, "rplus").await;
    b.submit(&[
        ("mot_de_passe", RPLUS_PASSWORD),
        ("mot_de_passe_confirmation", RPLUS_PASSWORD),
        ("action", "valider"),
    ])
    .await;
    w.tick();
    let email = "julie@cabinet-martin.example.test";
    let mut f = Browser::new(&w.base);
    f.get("/espaces/rplus/mot-de-passe-oublie").await;
    f.shows("Saisissez l'identifiant associé à votre compte.");
    f.submit(&[("identifiant", "")]).await;
    f.shows("Saisissez l'identifiant de votre compte");
    f.submit(&[("identifiant", "personne@example.test")]).await;
    f.shows("Aucun compte activé ne correspond à cet identifiant.");
    f.submit(&[("identifiant", email)]).await;
    f.shows("Modifier mon mot de passe");
    f.shows("Nous avons envoyé le code de vérification par e-mail à ju***ie@cabinet-martin.example.test");
    let code = last_code(&w.db.store, email).await;
    let new = "Nouveau-tramway-2027";
    f.submit(&[
        ("code", "000000"),
        ("mot_de_passe", new),
        ("mot_de_passe_confirmation", new),
        ("action", "valider"),
    ])
    .await;
    f.shows("Ce code est incorrect.");
    f.submit(&[
        ("code", &code),
        ("mot_de_passe", new),
        ("mot_de_passe_confirmation", new),
        ("action", "valider"),
    ])
    .await;
    f.shows("Votre mot de passe a été modifié.");
    let mut old = Browser::new(&w.base);
    w.legacy_login(&mut old, "rplus", email, RPLUS_PASSWORD)
        .await;
    assert_eq!(old.status, 401);
    w.legacy_login(&mut old, "rplus", email, new).await;
    assert_ne!(old.status, 401, "{}", main_of(&old.page));
    w.db.cleanup().await;
}

/// A new portal with other rules is a configuration change only: declared here, it lets in
/// physicians only, keeps the length rule alone for passwords, and asks for the structure
/// without a mobile step — no code of its own.
async fn onb_config_only(dialect: Dialect) {
    let portal: caducee_portals::PortalConfig = serde_json::from_value(serde_json::json!({
        "slug": "cabinets",
        "name": "Portail des cabinets",
        "login": ["local"],
        "accounts": "registration-form",
        "professions": ["10"],
        "exercise_modes": ["L"],
        "onboarding": ["structure-details"],
    }))
    .unwrap();
    caducee_portals::config::validate_all(std::slice::from_ref(&portal)).unwrap();
    let w = world_with(dialect, options_for(portal)).await;
    import_legacy(&w, "cabinets").await;
    let mut b = Browser::new(&w.base);
    w.through_details(&mut b, "cabinets").await;
    assert!(
        !b.has("Infirmier"),
        "only the portal's professions are offered"
    );
    assert!(
        !b.has("1 lettre majuscule"),
        "the default rules: length only"
    );
    b.submit(&[
        ("mot_de_passe", "tramway grenadine poivre"),
        ("mot_de_passe_confirmation", "tramway grenadine poivre"),
        ("action", "valider"),
    ])
    .await;
    b.shows("Coordonnées de votre structure");
    assert!(!b.has("Validation du numéro de téléphone"));
    w.db.cleanup().await;
}

on_both_engines! {
    acc_08_legacy_login_replaces_the_old_hash_and_leads_into_the_wizard => acc_08_legacy;
    acc_08_forgotten_password_by_a_code_to_the_masked_email => acc_08_forgot;
    acc_09_registration_wizard_details_code_password_mobile_structure => acc_09_wizard;
    acc_09_registration_resumes_at_its_step_after_a_restart => acc_09_resume;
    onb_01_a_new_portal_with_other_rules_is_configuration_only => onb_config_only;
    onb_01_only_the_professions_and_modes_of_practice_of_the_portal_enter => modes;
    onb_04_terms_versions_are_immutable_and_the_latest_must_be_accepted => terms_versions;
    acc_01_pages_speak_english_when_asked_and_french_by_default => english;
    acc_04_the_live_meter_is_the_servers_estimate_for_this_person => meter;
    acc_01_creation_by_birth_date_and_rpps_with_its_three_outcomes => acc_01;
    acc_02_typed_data_are_deleted_after_ten_minutes => acc_02;
    acc_03_code_sent_to_a_masked_coordinate_with_resend_back_and_expiry => acc_03;
    acc_03_five_wrong_codes_end_the_journey => acc_03_five_tries;
    acc_04_code_by_sms_the_user_chooses_login_and_password => acc_04_by_sms;
    acc_04_code_by_email_the_login_is_that_email => acc_04_by_email;
    acc_05_forgotten_login_email_refuses_an_address_already_used => acc_05;
    acc_06_reset_link_is_single_use_behind_a_button_and_lives_24_hours => acc_06;
    acc_07_settings_change_email_and_password_only_with_the_current_password => acc_07;
    nfr_02_forms_and_flows_belong_to_their_browser => nfr_02_forms_need_this_browsers_token;
}

/// Two nodes sharing one PostgreSQL: a creation started on node A is finished on node B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nfr_03_a_creation_started_on_one_node_finishes_on_another() {
    let w = world(Dialect::Postgres).await;
    let url = std::env::var("CADUCEE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db_name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(w.db.store.pool())
        .await
        .unwrap();
    let other = Store::connect(&caducee_store::testkit::replace_db_name(&url, &db_name))
        .await
        .unwrap();
    let (base_b, _portals_b) = node(&other, &w.clock).await;
    let mut a = Browser::new(&w.base);
    w.through_identity(&mut a, "/espaces/ordre/creer", "sms")
        .await;
    let flow_url = a.url.clone();
    // The same browser (its cookies) on node B.
    let mut b = a.on(&base_b);
    b.get(&flow_url).await;
    b.shows("Veuillez saisir le code reçu");
    let code = last_code(&w.db.store, MOBILE).await;
    b.submit(&[("code", &code), ("action", "valider")]).await;
    b.shows("Finaliser la création de votre espace");
    // …and the last step back on node A.
    let mut a = b.on(&w.base);
    a.submit(&[
        ("email", "julie@cabinet.example.test"),
        ("mot_de_passe", PASSWORD),
        ("mot_de_passe_confirmation", PASSWORD),
    ])
    .await;
    a.shows("Votre espace personnel a été créé et activé.");
    other.close().await;
    w.db.cleanup().await;
}

#[test]
fn six_digit_codes_are_found_alone() {
    assert_eq!(
        six_digits("code 123456. Valable 10 min").as_deref(),
        Some("123456")
    );
    assert_eq!(
        six_digits("+33612345601 puis 654321").as_deref(),
        Some("654321")
    );
}
