//! The demo relying party against a stand-in provider (PSC-01, PSC-02): the portal's real
//! router and the stand-in's endpoints served together on an ephemeral port (the portal
//! finds its provider at `{public_url}/auth/realms/esante-wallet`, as in production), a
//! cookie-keeping HTTP client as the browser, a real database on both engines, a
//! `ManualClock`.
//!
//! The stand-in is strict where a relying party can be wrong (PKCE S256, acr_values, scope,
//! client_secret_basic, exact redirect URI, id_token_hint) and can misbehave on demand
//! (error, foreign signature, another nonce in the access token, wrong `iss`), so these
//! tests prove what the portal checks without waiting for the real identity provider; the
//! end-to-end journey through the real provider and e-CPS is in crates/web/tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use caducee_core::clock::{Clock, ManualClock};
use caducee_portals::Portals;
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{json, Value};
use sha2::Digest;
use time::macros::datetime;

const INSTANCE_SECRET: &[u8] = b"instance secret of the portal tests, 32+ bytes";

const REALM: &str = "/auth/realms/esante-wallet";
const SUB: &str = "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:819999900012";
const BCL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How the stand-in answers the next authorization or token request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Normal,
    /// `error=access_denied` back to the portal.
    Deny,
    /// Shows a page instead of redirecting; the test follows the link later.
    Hold,
    /// The ID token is signed by a key that is not in the JWKS (same `kid`).
    ForeignKey,
    /// The access token carries another nonce than the ID token.
    WrongAtNonce,
    /// The callback names another issuer (`iss`, RFC 9207).
    WrongIss,
}

struct Pending {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
struct Seen {
    auth_params: HashMap<String, String>,
    callback_url: String,
    logout_params: HashMap<String, String>,
}

struct Fake {
    issuer: String,
    key: CoreRsaPrivateSigningKey,
    /// Same `kid`, not published: what a forger would sign with.
    foreign: CoreRsaPrivateSigningKey,
    clock: ManualClock,
    secret: String,
    mode: Mutex<Mode>,
    codes: Mutex<HashMap<String, Pending>>,
    tokens: Mutex<Vec<String>>,
    seen: Mutex<Seen>,
}

fn rsa_key(kid: &str) -> CoreRsaPrivateSigningKey {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let pem = key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

impl Fake {
    fn sign_with(&self, key: &CoreRsaPrivateSigningKey, claims: &Value) -> String {
        let h =
            URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{p}");
        let sig = key
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.key, claims)
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap()
    }

    fn set_mode(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let at = text.find(start)? + start.len();
    let rest = &text[at..];
    Some(rest[..rest.find(end)?].replace("&amp;", "&"))
}

fn six_digits(text: &str) -> String {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5))
        .find(|&i| {
            b[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i == 0 || !b[i - 1].is_ascii_digit())
                && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|i| String::from_utf8_lossy(&b[i..i + 6]).to_string())
        .unwrap_or_else(|| panic!("no code in {text}"))
}

fn query_map(raw: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

async fn discovery(State(f): State<Arc<Fake>>) -> Json<Value> {
    let i = &f.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{i}/protocol/openid-connect/token"),
        "userinfo_endpoint": format!("{i}/protocol/openid-connect/userinfo"),
        "jwks_uri": format!("{i}/protocol/openid-connect/certs"),
        "end_session_endpoint": format!("{i}/protocol/openid-connect/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true
    }))
}

async fn certs(State(f): State<Arc<Fake>>) -> Json<Value> {
    Json(json!({"keys": [serde_json::to_value(f.key.as_verification_key()).unwrap()]}))
}

async fn authorize(State(f): State<Arc<Fake>>, RawQuery(q): RawQuery) -> Response {
    let p = query_map(q.as_deref().unwrap_or(""));
    f.seen.lock().unwrap().auth_params = p.clone();
    // What a PSC relying party must send.
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], "demo");
    let scopes: Vec<&str> = p["scope"].split(' ').collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"scope_all"),
        "{scopes:?}"
    );
    assert_eq!(p["acr_values"], "eidas1");
    assert_eq!(p["code_challenge_method"], "S256");
    assert!(p["nonce"].len() >= 22 && p["state"].len() >= 22);
    let redirect_uri = p["redirect_uri"].clone();
    let state = &p["state"];
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let iss = if f.mode() == Mode::WrongIss {
        "http://evil.example/auth/realms/esante-wallet".to_string()
    } else {
        f.issuer.clone()
    };
    let target = if f.mode() == Mode::Deny {
        format!(
            "{redirect_uri}?error=access_denied&error_description=Appelez%20le%200800&state={}&iss={}",
            enc(state),
            enc(&iss)
        )
    } else {
        let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        f.codes.lock().unwrap().insert(
            code.clone(),
            Pending {
                nonce: p["nonce"].clone(),
                challenge: p["code_challenge"].clone(),
                redirect_uri: redirect_uri.clone(),
            },
        );
        format!(
            "{redirect_uri}?code={code}&state={}&iss={}",
            enc(state),
            enc(&iss)
        )
    };
    f.seen.lock().unwrap().callback_url = target.clone();
    if f.mode() == Mode::Hold {
        return (StatusCode::OK, "page de connexion du fournisseur").into_response();
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
}

async fn token(State(f): State<Arc<Fake>>, headers: HeaderMap, body: String) -> Response {
    // client_secret_basic: form-urlencoded id and secret, base64, RFC 6749 §2.3.1.
    let expected = format!("Basic {}", STANDARD.encode(format!("demo:{}", f.secret)));
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != expected {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let p = query_map(&body);
    assert_eq!(p["grant_type"], "authorization_code");
    let Some(pending) = f.codes.lock().unwrap().remove(&p["code"]) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    assert_eq!(p["redirect_uri"], pending.redirect_uri);
    let verifier = p.get("code_verifier").expect("PKCE verifier sent");
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    if challenge != pending.challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let now = f.clock.unix();
    let at_nonce = if f.mode() == Mode::WrongAtNonce {
        "autre-nonce".to_string()
    } else {
        pending.nonce.clone()
    };
    let access_token = f.sign(&json!({
        "iss": f.issuer, "sub": SUB, "typ": "Bearer", "azp": "demo", "nonce": at_nonce,
        "sid": "sid-1", "acr": "eidas1", "scope": "openid scope_all", "authMode": "MOBILE",
        "preferred_username": "819999900012", "iat": now, "exp": now + 120,
        "otherIds": [{"identifiant": "819999900012", "origine": "RPPS", "qualite": 1}]
    }));
    let at_hash = {
        let d = sha2::Sha256::digest(access_token.as_bytes());
        URL_SAFE_NO_PAD.encode(&d[..16])
    };
    let id_claims = json!({
        "iss": f.issuer, "sub": SUB, "aud": "demo", "azp": "demo", "iat": now, "exp": now + 120,
        "auth_time": now, "nonce": pending.nonce, "acr": "eidas1", "amr": ["mfa", "otp"],
        "sid": "sid-1", "at_hash": at_hash
    });
    let id_token = if f.mode() == Mode::ForeignKey {
        f.sign_with(&f.foreign, &id_claims)
    } else {
        f.sign(&id_claims)
    };
    f.tokens.lock().unwrap().push(access_token.clone());
    Json(json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 120,
        "id_token": id_token, "scope": "openid scope_all"
    }))
    .into_response()
}

async fn userinfo(State(f): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let known = f
        .tokens
        .lock()
        .unwrap()
        .iter()
        .any(|t| auth == format!("Bearer {t}"));
    if !known {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({
        "sub": SUB, "preferred_username": "819999900012", "SubjectNameID": "819999900012",
        "given_name": "Julie", "family_name": "MARTIN", "email_verified": false,
        "authMode": "MOBILE",
        "otherIds": [{"identifiant": "819999900012", "origine": "RPPS", "qualite": 1}],
        "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
        "SubjectOrganization": "CABINET DU DR MARTIN", "SubjectOrganizationID": "R10000",
        "SubjectRefPro": {"codeCivilite": "MME", "exercices": [{
            "codeProfession": "10", "codeCategorieProfessionnelle": "C",
            "nomDexercice": "MARTIN", "prenomDexercice": "Julie",
            "codeSavoirFaire": "SM54",
            "activities": [{
                "codeModeExercice": "L", "codeSecteurDactivite": "SA07",
                "raisonSocialeSite": "CABINET DU DR MARTIN", "numeroVoie": "12",
                "codeTypeDeVoie": "R", "libelleVoie": "DES LILAS", "codePostal": "75011",
                "bureauCedex": "PARIS", "identifiantTechniqueDeLaStructure": "R10000"
            }]
        }]}
    }))
    .into_response()
}

async fn end_session(State(f): State<Arc<Fake>>, RawQuery(q): RawQuery) -> Response {
    let p = query_map(q.as_deref().unwrap_or(""));
    f.seen.lock().unwrap().logout_params = p.clone();
    let target = format!(
        "{}?state={}",
        p["post_logout_redirect_uri"],
        url::form_urlencoded::byte_serialize(p["state"].as_bytes()).collect::<String>()
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
}

struct World {
    db: TestDb,
    base: String,
    fake: Arc<Fake>,
    browser: reqwest::Client,
    clock: ManualClock,
}

impl World {
    /// A fresh browser (no cookies).
    fn new_browser() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .unwrap()
    }

    async fn get(&self, path_or_url: &str) -> (u16, String, String) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let r = self.browser.get(url).send().await.unwrap();
        let status = r.status().as_u16();
        let final_url = r.url().to_string();
        (status, final_url, r.text().await.unwrap())
    }

    /// Posts `fields` with the hidden fields of `page`'s form to its action.
    async fn submit(&self, page: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let action = between(page, "<form method=\"post\" action=\"", "\"").unwrap();
        let mut form: Vec<(String, String)> = page
            .split("<input type=\"hidden\" name=\"")
            .skip(1)
            .map(|chunk| {
                let name = chunk[..chunk.find('"').unwrap()].to_string();
                let value = between(chunk, "value=\"", "\"").unwrap_or_default();
                (name, value)
            })
            .collect();
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let r = self
            .browser
            .post(format!("{}{action}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let final_url = r.url().to_string();
        (status, final_url, r.text().await.unwrap())
    }

    /// The last message enqueued for `to`.
    async fn last_message(&self, to: &str) -> String {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body_text FROM notify_outbox WHERE recipient = $1 ORDER BY created_at, message_id",
        )
        .bind(to)
        .fetch_all(self.db.store.pool())
        .await
        .unwrap();
        rows.last()
            .cloned()
            .unwrap_or_else(|| panic!("no message to {to}"))
    }

    async fn post(&self, path: &str) -> (u16, String, String) {
        let r = self
            .browser
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let final_url = r.url().to_string();
        (status, final_url, r.text().await.unwrap())
    }

    async fn login(&self) -> String {
        let (status, url, page) = self.get("/espaces/demo/login").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(url, format!("{}/espaces/demo", self.base));
        page
    }

    fn logout_token(&self, claims: Value) -> String {
        self.fake.sign(&claims)
    }

    async fn backchannel(&self, token: &str) -> u16 {
        // The provider calls from its own HTTP client: no browser cookies.
        reqwest::Client::new()
            .post(format!("{}/espaces/demo/backchannel-logout", self.base))
            .form(&[("logout_token", token)])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

async fn world(dialect: Dialect) -> World {
    world_with(dialect, caducee_portals::config::demo()).await
}

/// The stand-in provider and one portal configured as `portal` (its client id must stay
/// `demo`: the stand-in knows that client only).
async fn world_with(dialect: Dialect, portal: caducee_portals::PortalConfig) -> World {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_portals::migrations())
        .await
        .unwrap();
    // The local journeys' messages go to the outbox; their checks read the registry.
    db.store.migrate(caducee_notify::MIGRATIONS).await.unwrap();
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Built before anything listens, as in `serve`: discovery must be lazy.
    let portals = Portals::with_options(
        db.store.clone(),
        clock.shared(),
        &base,
        INSTANCE_SECRET,
        caducee_portals::PortalsOptions {
            configs: vec![portal.clone()],
            ..caducee_portals::PortalsOptions::default()
        },
    )
    .unwrap();
    let registration = portals.client_registration(&portal);
    assert_eq!(
        registration.redirect_uris,
        vec![format!("{base}/espaces/demo/callback")]
    );
    let fake = Arc::new(Fake {
        issuer: format!("{base}{REALM}"),
        key: rsa_key("k1"),
        foreign: rsa_key("k1"),
        clock: clock.clone(),
        secret: registration.secret,
        mode: Mutex::new(Mode::Normal),
        codes: Mutex::new(HashMap::new()),
        tokens: Mutex::new(Vec::new()),
        seen: Mutex::new(Seen::default()),
    });
    let p = |s: &str| format!("{REALM}{s}");
    let provider = Router::new()
        .route(&p("/.well-known/openid-configuration"), get(discovery))
        .route(&p("/protocol/openid-connect/certs"), get(certs))
        .route(&p("/protocol/openid-connect/auth"), get(authorize))
        .route(&p("/protocol/openid-connect/token"), post(token))
        .route(&p("/protocol/openid-connect/userinfo"), get(userinfo))
        .route(&p("/protocol/openid-connect/logout"), get(end_session))
        .with_state(fake.clone());
    let app = caducee_portals::routes(portals).merge(provider);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    World {
        db,
        base,
        fake,
        browser: World::new_browser(),
        clock,
    }
}

/// A portal offering both means: its home is the local login form with the Pro Santé
/// Connect button, and a Pro Santé Connect login lands on the same services home.
async fn both_means(dialect: Dialect) {
    let mut portal = caducee_portals::config::demo();
    portal.login = vec![
        caducee_portals::LoginMeans::Psc,
        caducee_portals::LoginMeans::Local,
    ];
    portal.accounts = caducee_portals::AccountPolicy::RegistryCode;
    portal.services = vec![caducee_portals::Service {
        label: "Mes dossiers".into(),
        href: "/espaces/demo/dossiers".into(),
    }];
    let w = world_with(dialect, portal).await;
    let (status, _, page) = w.get("/espaces/demo").await;
    assert_eq!(status, 200);
    assert!(page.contains("Connectez-vous à votre espace"), "{page}");
    assert!(page.contains("href=\"/espaces/demo/login\""), "{page}");
    let page = w.login().await;
    assert!(
        page.contains("Vous êtes connecté(e) avec Pro Santé Connect."),
        "{page}"
    );
    assert!(page.contains("Mes dossiers"), "{page}");
    assert!(
        !page.contains("service-parametres"),
        "no local settings for a PSC session"
    );
    assert!(page.contains("action=\"/espaces/demo/logout\""), "{page}");
    w.db.cleanup().await;
}

/// The ROR's rules on a portal (named `demo`: the stand-in knows that client only):
/// first login by Pro Santé Connect (ONB-02), a contact e-mail that is not MSSanté, by code
/// (ONB-03), the terms in force before the home page (ONB-04), then "Mot de passe oublié ?"
/// to the contact e-mail creates the local account and later logins may use it.
async fn ror_rules(dialect: Dialect) {
    let mut portal = caducee_portals::config::ror();
    portal.slug = "demo".into();
    portal.terms_url = None;
    portal.privacy_url = None;
    let w = world_with(dialect, portal).await;
    let store = &w.db.store;
    caducee_portals::terms::publish(store, "demo", "v1", "Article 1.\n\nArticle 2.", "t", 0)
        .await
        .unwrap()
        .unwrap();
    // ONB-02: no password before a first PSC login; the message says so.
    let (_, _, page) = w.get("/espaces/demo").await;
    assert!(page.contains("href=\"/espaces/demo/login\""), "{page}");
    assert!(
        page.contains(">PROSANTECONNECT</a>"),
        "the seed's button: {page}"
    );
    let (status, _, page) = w
        .submit(
            &page,
            &[
                ("email", "julie@cabinet.example.test"),
                ("mot_de_passe", "x"),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        page.contains("vous devez obligatoirement vous identifier via Pro Santé Connect"),
        "{page}"
    );
    // The first PSC login lands on the first step due: the contact e-mail.
    let (status, url, page) = w.get("/espaces/demo/login").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(url, format!("{}/espaces/demo/accueil", w.base));
    assert!(page.contains("Votre adresse e-mail de contact"), "{page}");
    let (_, _, refused) = w
        .submit(&page, &[("email", "julie.martin@medecin.mssante.fr")])
        .await;
    assert!(
        refused.contains("Il n&#39;est pas possible")
            || refused.contains("Il n'est pas possible de renseigner une adresse MSSanté"),
        "{refused}"
    );
    let (_, _, code_page) = w
        .submit(&refused, &[("email", "julie@cabinet.example.test")])
        .await;
    assert!(
        code_page.contains("Veuillez saisir le code reçu"),
        "{code_page}"
    );
    let code = six_digits(&w.last_message("julie@cabinet.example.test").await);
    let (_, url, terms_page) = w
        .submit(&code_page, &[("code", &code), ("action", "valider")])
        .await;
    assert_eq!(url, format!("{}/espaces/demo/accueil", w.base));
    // ONB-04: the terms in force; not ticked, or another version, is refused.
    assert!(
        terms_page.contains("Conditions Générales d&#39;Utilisation")
            || terms_page.contains("Conditions Générales d'Utilisation"),
        "{terms_page}"
    );
    assert!(terms_page.contains("Article 2."), "{terms_page}");
    assert!(
        terms_page.contains("/assets/caducee-terms-"),
        "the reading script is loaded"
    );
    let (_, _, again) = w.submit(&terms_page, &[]).await;
    assert!(
        again.contains("Cochez la case après avoir lu les conditions"),
        "{again}"
    );
    let forged = again.replace(
        "name=\"version\" value=\"v1\"",
        "name=\"version\" value=\"v0\"",
    );
    let (_, _, again) = w.submit(&forged, &[("accepte", "1")]).await;
    assert!(
        again.contains("Cochez la case après avoir lu les conditions"),
        "{again}"
    );
    // ONB-05: the registry's data, validated as it is (the anomaly path: onb_05_…).
    let (_, url, registry) = w.submit(&again, &[("accepte", "1")]).await;
    assert_eq!(url, format!("{}/espaces/demo/accueil", w.base));
    assert!(
        registry.contains("Validation de vos informations personnelles"),
        "{registry}"
    );
    let (_, url, home) = w.submit(&registry, &[("action", "valider")]).await;
    assert_eq!(url, format!("{}/espaces/demo", w.base));
    assert!(
        home.contains("Vous êtes connecté(e) avec Pro Santé Connect."),
        "{home}"
    );
    assert!(home.contains("Mon offre de santé"), "{home}");
    let accepted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM portal_terms_acceptance WHERE portal = 'demo' AND version = 'v1' AND who = 'ps:819999900012'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(accepted, 1);
    // ONB-02: "Mot de passe oublié ?" to the contact e-mail creates the password.
    let other = World::new_browser();
    let page = other
        .get(format!("{}/espaces/demo/mot-de-passe-oublie", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    w.clock.advance(time::Duration::seconds(1));
    let helper = World {
        browser: other,
        ..w
    };
    let (_, _, sent) = helper
        .submit(&page, &[("email", "Julie@cabinet.example.test")])
        .await;
    assert!(sent.contains("lien de connexion unique"), "{sent}");
    let mail = helper.last_message("julie@cabinet.example.test").await;
    let at = mail.find("/espaces/demo/lien/").unwrap();
    let link = mail[at..].split_whitespace().next().unwrap().to_string();
    let (_, _, link_page) = helper.get(&link).await;
    let (_, _, settings) = helper.submit(&link_page, &[]).await;
    assert!(
        settings.contains("Vous venez d&#39;utiliser")
            || settings.contains("Vous venez d'utiliser"),
        "{settings}"
    );
    let password = "gabarre-trottinette-sirop-77";
    helper
        .submit(
            &settings,
            &[
                ("nouveau_mot_de_passe", password),
                ("confirmation", password),
                ("email", "julie@cabinet.example.test"),
            ],
        )
        .await;
    // A later login by e-mail + password goes straight home (the steps are behind her).
    let third = World {
        browser: World::new_browser(),
        ..helper
    };
    let (_, _, page) = third.get("/espaces/demo").await;
    let (status, url, home) = third
        .submit(
            &page,
            &[
                ("email", "julie@cabinet.example.test"),
                ("mot_de_passe", password),
            ],
        )
        .await;
    assert_eq!(status, 200, "{home}");
    assert_eq!(url, format!("{}/espaces/demo", third.base));
    assert!(home.contains("Mes services"), "{home}");
    // A new version of the terms must be accepted again before the home page.
    caducee_portals::terms::publish(&third.db.store, "demo", "v2", "Nouvel article.", "t", 10)
        .await
        .unwrap()
        .unwrap();
    let (_, url, page) = third.get("/espaces/demo").await;
    assert_eq!(url, format!("{}/espaces/demo/accueil", third.base));
    assert!(page.contains("Nouvel article."), "{page}");
    third.db.cleanup().await;
}

/// ACC-10: after a first Pro Santé Connect login on RPLUS (named `demo`: the stand-in knows
/// that client only), "Validation des coordonnées" asks for a personal e-mail, confirmed by a
/// code, then a mobile; each step can be skipped ("Ignorer cette étape") and is not asked
/// again; no structure is asked of a professional without a portal account.
async fn rplus_psc_path(dialect: Dialect) {
    let mut portal = caducee_portals::config::rplus();
    portal.slug = "demo".into();
    portal.terms_url = None;
    portal.privacy_url = None;
    let w = world_with(dialect, portal).await;
    let (_, page) = {
        let (_, _, page) = w.get("/espaces/demo").await;
        assert!(
            page.contains("S'identifier avec PRO SANTE CONNECT"),
            "{page}"
        );
        let (status, url, page) = w.get("/espaces/demo/login").await;
        assert_eq!(status, 200);
        assert_eq!(url, format!("{}/espaces/demo/accueil", w.base));
        (url, page)
    };
    for text in [
        "Validation des coordonnées",
        "Veuillez valider vos coordonnées de contact pour finaliser votre inscription.",
        "Adresse email personnelle",
        "Ignorer cette étape",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    let (status, _, page) = w
        .submit(
            &page,
            &[("valeur", "pas-une-adresse"), ("action", "valider")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    let (_, _, page) = w
        .submit(
            &page,
            &[
                ("valeur", "julie.perso@example.test"),
                ("action", "valider"),
            ],
        )
        .await;
    assert!(page.contains("Identifiant à deux facteurs"), "{page}");
    assert!(
        page.contains(
            "Saisissez le code de vérification envoyé à l'adresse e-mail ju***so@example.test"
        ),
        "{page}"
    );
    assert!(page.contains("Demander un nouveau code"), "{page}");
    let code = six_digits(&w.last_message("julie.perso@example.test").await);
    let (_, url, page) = w
        .submit(&page, &[("code", &code), ("action", "valider")])
        .await;
    assert_eq!(url, format!("{}/espaces/demo/accueil", w.base));
    assert!(page.contains("Numéro de portable"), "{page}");
    assert!(page.contains("Indicatif"), "{page}");
    let (_, url, page) = w.submit(&page, &[("action", "ignorer")]).await;
    assert_eq!(url, format!("{}/espaces/demo", w.base), "{page}");
    assert!(page.contains("Mes données d'activité"), "{page}");
    let store = &w.db.store;
    let (verified, skipped): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT contact_verified_at, mobile_skipped_at FROM portal_member WHERE idnat = '819999900012'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(verified.is_some() && skipped.is_some());
    assert_eq!(
        store
            .count("SELECT COUNT(*) FROM audit_event WHERE action = 'portals.coordinate.skipped'")
            .await
            .unwrap(),
        1
    );
    // Not asked again.
    let (_, url, _) = w.get("/espaces/demo").await;
    assert_eq!(url, format!("{}/espaces/demo", w.base));
    w.db.cleanup().await;
}

on_both_engines! {
    acc_10_psc_path_asks_email_then_mobile_each_by_code_each_skippable => rplus_psc_path;
    onb_02_03_04_ror_rules_first_psc_contact_email_terms_then_password => ror_rules;
    onb_05_registry_data_validated_or_an_anomaly_filed_in_the_registry_queue => registry_validation;
    psc_01_a_portal_with_both_means_gives_a_psc_login_the_services_home => both_means;
    psc_01_demo_portal_code_flow_shows_who_logged_in_and_the_claims => code_flow_and_logout;
    psc_01_provider_refusal_is_a_french_page_with_retry => provider_refusal;
    psc_01_callback_state_is_single_use_and_bound_to_the_browser => state_binding;
    psc_01_login_attempt_expires_after_ten_minutes => login_expiry;
    psc_01_tokens_that_fail_verification_refuse_the_login => bad_tokens;
    psc_02_backchannel_logout_token_ends_the_portal_session => backchannel_logout;
}

/// ONB-05 and REG-09 on a portal that asks only this step (a configuration change, no code):
/// the registry's data with "Valider mes informations" and "Déclarer une anomalie"; the
/// anomaly form in French (errors, CSRF); the report filed in the registry's queue and listed
/// as sent; the home page after the validation; asked again once the registry's data changed
/// (an agency corrected it), the report then listed as corrected.
async fn registry_validation(dialect: Dialect) {
    use caducee_registry::anomaly::{self, AnomalyState, Decision};
    let mut portal = caducee_portals::config::ror();
    portal.slug = "demo".into();
    portal.terms_url = None;
    portal.privacy_url = None;
    portal.onboarding = vec![caducee_portals::config::OnboardingStep::ConfirmRegistry];
    let w = world_with(dialect, portal).await;
    let store = &w.db.store;
    let accueil = format!("{}/espaces/demo/accueil", w.base);
    let (status, url, page) = w.get("/espaces/demo/login").await;
    assert_eq!((status, url.as_str()), (200, accueil.as_str()), "{page}");
    assert!(
        page.contains("<h1>Validation de vos informations personnelles</h1>"),
        "{page}"
    );
    // The registry's data: name, profession, the activity and its structure.
    let julie = caducee_registry::queries::get_professional(
        store,
        &caducee_registry::queries::parse_id("19999900012").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let structure = julie.activities[0].structure.clone().unwrap();
    for shown in [
        "Martin",
        "Julie",
        "Médecin",
        "19999900012",
        structure.city.as_str(),
        "Valider mes informations",
        "Déclarer une anomalie",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    assert!(!page.contains("signalements"), "no report yet");

    // The anomaly form; sent empty, each field says what to do, in French.
    let (_, _, form) = w.submit(&page, &[("action", "anomalie")]).await;
    assert!(form.contains("<h1>Déclarer une anomalie</h1>"), "{form}");
    assert!(form.contains("Donnée concernée *"), "{form}");
    let (status, _, errors) = w.submit(&form, &[("action", "envoyer")]).await;
    assert_eq!(status, 422, "{errors}");
    for message in [
        "Choisissez la donnée concernée par l",
        "Décrivez ce qui est erroné.",
        "Indiquez la bonne information.",
    ] {
        assert!(errors.contains(message), "{message} in {errors}");
    }
    // A value the list does not offer is refused too; what was typed is kept.
    let (status, _, errors) = w
        .submit(
            &form,
            &[
                ("donnee", "mot_de_passe"),
                ("erreur", "Le numéro de rue est faux"),
                ("correction", "14 rue Victor Hugo"),
                ("action", "envoyer"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(errors.contains("value=\"14 rue Victor Hugo\""), "{errors}");
    // Without the form's CSRF token: nothing filed.
    let forged = w
        .browser
        .post(&accueil)
        .form(&[
            ("etape", "anomalie"),
            ("action", "envoyer"),
            ("donnee", "nom"),
            ("erreur", "x"),
            ("correction", "y"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.url().as_str(), accueil);
    assert!(anomaly::for_person(store, "819999900012", None)
        .await
        .unwrap()
        .is_empty());

    // Filed: in the registry's queue, and listed on the page as sent.
    let (status, url, listed) = w
        .submit(
            &form,
            &[
                ("donnee", "activite-1"),
                ("erreur", "Le numéro de rue est faux"),
                ("correction", "14 rue Victor Hugo"),
                ("action", "envoyer"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(url, format!("{accueil}?signalement=envoye"));
    assert!(listed.contains("Votre déclaration d"), "{listed}");
    assert!(listed.contains(">Envoyée</dd>"), "{listed}");
    assert!(listed.contains("14 rue Victor Hugo"), "{listed}");
    let reports = anomaly::for_person(store, "819999900012", Some("demo"))
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.state, AnomalyState::Received);
    assert!(report.field.starts_with("Activité : "), "{}", report.field);
    assert_eq!(
        (report.wrong.as_str(), report.correct.as_str()),
        ("Le numéro de rue est faux", "14 rue Victor Hugo")
    );
    assert_eq!(report.created_at, w.clock.now().unix_timestamp());
    let queue = anomaly::queue(store, &[AnomalyState::Received], None, 10)
        .await
        .unwrap();
    assert_eq!(queue, reports, "in the agencies' queue");
    // A report does not answer the step: the home page still waits for the validation.
    let (_, url, _) = w.get("/espaces/demo").await;
    assert_eq!(url, accueil);

    // Validated: the home page, and it stays so at the next visits.
    let (_, url, home) = w.submit(&listed, &[("action", "valider")]).await;
    assert_eq!(url, format!("{}/espaces/demo", w.base));
    assert!(home.contains("Mon offre de santé"), "{home}");
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT registry_validated_at FROM portal_member WHERE portal = 'demo' AND idnat = '819999900012'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(at, Some(w.clock.now().unix_timestamp()));
    let (_, url, _) = w.get("/espaces/demo").await;
    assert_eq!(url, format!("{}/espaces/demo", w.base));

    // The agency takes the report and corrects the data: asked again, the report corrected
    // (minutes later: the portal session is still open).
    w.clock.advance(time::Duration::minutes(5));
    anomaly::claim(store, &w.clock, &report.id, "agent:ars-ara")
        .await
        .unwrap();
    anomaly::decide(
        store,
        &w.clock,
        &report.id,
        "agent:ars-ara",
        Decision::Corrected,
        "Adresse corrigée",
    )
    .await
    .unwrap();
    sqlx::query("UPDATE reg_person SET first_name = 'Julie-Anne' WHERE idnat = '819999900012'")
        .execute(store.pool())
        .await
        .unwrap();
    let (_, url, again) = w.get("/espaces/demo").await;
    assert_eq!(url, accueil);
    assert!(again.contains("Julie-Anne"), "{again}");
    assert!(again.contains(">Corrigée</dd>"), "{again}");
    let (_, url, _) = w.submit(&again, &[("action", "valider")]).await;
    assert_eq!(url, format!("{}/espaces/demo", w.base));
    w.db.cleanup().await;
}

async fn code_flow_and_logout(dialect: Dialect) {
    let w = world(dialect).await;
    let (status, _, page) = w.get("/espaces/demo").await;
    assert_eq!(status, 200);
    assert!(page.contains("Se connecter avec Pro Santé Connect"));

    let page = w.login().await;
    for expected in [
        "Bonjour Julie MARTIN",
        "819999900012",
        "19999900012",
        "Médecin (10)",
        "CABINET DU DR MARTIN",
        "12 R DES LILAS, 75011 PARIS",
        "MOBILE (niveau eidas1)",
        "SubjectRefPro",
        "&quot;nonce&quot;",
        "Se déconnecter",
    ] {
        assert!(page.contains(expected), "{expected} missing in {page}");
    }
    // The ID token claims shown are the verified ones, with the provider's session id.
    assert!(page.contains("&quot;sid&quot;: &quot;sid-1&quot;"));

    // The portal session survives a reload, and a second login does not go to the provider.
    let (_, _, again) = w.get("/espaces/demo").await;
    assert!(again.contains("Bonjour Julie MARTIN"));
    let codes_before = w.fake.seen.lock().unwrap().callback_url.clone();
    let (_, url, _) = w.get("/espaces/demo/login").await;
    assert_eq!(url, format!("{}/espaces/demo", w.base));
    assert_eq!(w.fake.seen.lock().unwrap().callback_url, codes_before);

    // The login and its audit line.
    let audited = w
        .db
        .store
        .count("SELECT COUNT(*) FROM audit_event WHERE action = 'portal.login' AND subject = '819999900012'")
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // RP-initiated logout: id_token_hint, registered post-logout URI, state echoed back.
    let (status, url, page) = w.post("/espaces/demo/logout").await;
    assert_eq!(status, 200);
    assert!(
        url.starts_with(&format!("{}/espaces/demo?state=", w.base)),
        "{url}"
    );
    assert!(page.contains("Vous êtes déconnecté(e)"), "{page}");
    assert!(page.contains("Se connecter avec Pro Santé Connect"));
    let seen = w.fake.seen.lock().unwrap().logout_params.clone();
    assert_eq!(
        seen["post_logout_redirect_uri"],
        format!("{}/espaces/demo", w.base)
    );
    assert_eq!(seen["client_id"], "demo");
    assert_eq!(seen["id_token_hint"].split('.').count(), 3);
    // A stranger's `state` on the home page greets no one.
    let (_, _, page) = w.get("/espaces/demo?state=x").await;
    assert!(!page.contains("Vous êtes déconnecté(e)"));
    w.db.cleanup().await;
}

async fn provider_refusal(dialect: Dialect) {
    let w = world(dialect).await;
    w.fake.set_mode(Mode::Deny);
    let (status, _, page) = w.get("/espaces/demo/login").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("Connexion annulée"));
    assert!(page.contains("role=\"alert\""));
    assert!(page.contains("href=\"/espaces/demo/login\">Réessayer"));
    // The forged description in the URL is not repeated as ours.
    assert!(!page.contains("0800"));

    // Réessayer works once the provider agrees.
    w.fake.set_mode(Mode::Normal);
    let page = w.login().await;
    assert!(page.contains("Bonjour Julie MARTIN"));
    w.db.cleanup().await;
}

async fn state_binding(dialect: Dialect) {
    let w = world(dialect).await;
    w.fake.set_mode(Mode::Hold);
    let (status, _, _) = w.get("/espaces/demo/login").await;
    assert_eq!(status, 200);
    let callback = w.fake.seen.lock().unwrap().callback_url.clone();
    w.fake.set_mode(Mode::Normal);

    // Another browser (the link stolen or sent by mail) cannot finish this login.
    let other = World::new_browser();
    let r = other.get(&callback).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("Connexion introuvable"));

    // The browser that started it can, once; a replay is refused.
    let (status, url, page) = w.get(&callback).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(url, format!("{}/espaces/demo", w.base));
    assert!(page.contains("Bonjour Julie MARTIN"));
    let (status, _, page) = w.get(&callback).await;
    assert_eq!(status, 400);
    assert!(page.contains("Connexion introuvable"));

    // A forged state, and no state at all.
    let (status, _, _) = w.get("/espaces/demo/callback?code=x&state=forged").await;
    assert_eq!(status, 400);
    let (status, _, page) = w.get("/espaces/demo/callback?error=access_denied").await;
    assert_eq!(status, 400);
    assert!(page.contains("Réessayer"));
    w.db.cleanup().await;
}

async fn login_expiry(dialect: Dialect) {
    let w = world(dialect).await;
    w.fake.set_mode(Mode::Hold);
    w.get("/espaces/demo/login").await;
    let callback = w.fake.seen.lock().unwrap().callback_url.clone();
    w.fake.set_mode(Mode::Normal);
    w.clock.advance(time::Duration::seconds(601));
    let (status, _, page) = w.get(&callback).await;
    assert_eq!(status, 400);
    assert!(page.contains("Connexion expirée"), "{page}");
    assert!(page.contains("Réessayer"));
    w.db.cleanup().await;
}

async fn bad_tokens(dialect: Dialect) {
    let w = world(dialect).await;
    for mode in [Mode::ForeignKey, Mode::WrongAtNonce, Mode::WrongIss] {
        w.fake.set_mode(mode);
        let (status, url, page) = w.get("/espaces/demo/login").await;
        assert_eq!(status, 502, "{mode:?}: {page}");
        assert!(url.contains("/espaces/demo/callback"), "{mode:?}: {url}");
        assert!(page.contains("Connexion refusée"), "{mode:?}: {page}");
        let (_, _, home) = w.get("/espaces/demo").await;
        assert!(!home.contains("Bonjour"), "{mode:?}: logged in anyway");
    }
    let sessions =
        w.db.store
            .count("SELECT COUNT(*) FROM portal_session")
            .await
            .unwrap();
    assert_eq!(sessions, 0);
    w.db.cleanup().await;
}

async fn backchannel_logout(dialect: Dialect) {
    let w = world(dialect).await;
    w.login().await;
    let now = w.clock.unix();
    let good = json!({
        "iss": w.fake.issuer, "aud": "demo", "iat": now, "jti": "j1",
        "events": {BCL_EVENT: {}}, "sid": "sid-1", "sub": SUB
    });
    // Refused: another audience, a nonce, no event, a signature of another key.
    let mut other_aud = good.clone();
    other_aud["aud"] = json!("autre");
    let mut with_nonce = good.clone();
    with_nonce["nonce"] = json!("n");
    let mut no_event = good.clone();
    no_event["events"] = json!({});
    for token in [
        w.logout_token(other_aud),
        w.logout_token(with_nonce),
        w.logout_token(no_event),
        w.fake.sign_with(&w.fake.foreign, &good),
        "pas-un-jwt".to_string(),
    ] {
        assert_eq!(w.backchannel(&token).await, 400);
    }
    let (_, _, page) = w.get("/espaces/demo").await;
    assert!(
        page.contains("Bonjour Julie MARTIN"),
        "a refused token logged out"
    );

    // Accepted: the session of that sid ends at once.
    assert_eq!(w.backchannel(&w.logout_token(good)).await, 200);
    let (_, _, page) = w.get("/espaces/demo").await;
    assert!(page.contains("Se connecter avec Pro Santé Connect"));
    assert!(!page.contains("Bonjour Julie MARTIN"));
    let audited =
        w.db.store
            .count("SELECT COUNT(*) FROM audit_event WHERE action = 'portal.backchannel_logout'")
            .await
            .unwrap();
    assert_eq!(audited, 1);
    // The registration's secret is derived, not stored: a restart (another `Portals` on the
    // same instance secret) registers the same one, another instance secret another one,
    // and the database holds no client secret.
    let restarted = Portals::new(
        w.db.store.clone(),
        w.clock.shared(),
        &w.base,
        INSTANCE_SECRET,
    )
    .unwrap();
    assert_eq!(
        restarted
            .client_registration(&caducee_portals::config::demo())
            .secret,
        w.fake.secret
    );
    let other = Portals::new(
        w.db.store.clone(),
        w.clock.shared(),
        &w.base,
        b"another instance secret, also 32+ bytes",
    )
    .unwrap();
    assert_ne!(
        other
            .client_registration(&caducee_portals::config::demo())
            .secret,
        w.fake.secret
    );
    assert!(w.fake.secret.len() >= 43, "256 bits");
    assert!(
        w.db.store
            .count("SELECT COUNT(*) FROM portal_client")
            .await
            .is_err(),
        "the table that kept client secrets is gone"
    );
    w.db.cleanup().await;
}
