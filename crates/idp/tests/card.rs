//! The CPS card (PSC-06) through real TLS: the test authority of `caducee pki` issues
//! cards as PKCS#12 files, a Rust client (reqwest on rustls, the card's key and
//! certificate read back from the .p12) connects to the real card listener, the login
//! ends on the main origin with a code whose tokens say `authMode: "CARD"`; revoked,
//! expired and foreign cards get their French page. On SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use caducee_core::clock::ManualClock;
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_idp::card::{self, pki, Authority, CardListener, CardListenerConfig};
use caducee_idp::{Idp, IdpConfig};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use reqwest::redirect::Policy;
use std::path::PathBuf;
use time::macros::datetime;

const REDIRECT: &str = "https://rp.example/cb";
const SECRET: &str = "un secret de client de test assez long, 48 octets";
const CHALLENGE: &str = "sOuPaCK5lOby_NZ6QlHdom4ejU4JmpFIdoW4MspLZjs";
const VERIFIER: &str = "verificateur-pkce-des-tests-de-la-carte-cps-0123456789";
const P12_PASSWORD: &str = "mot de passe de la carte";

struct Env {
    db: TestDb,
    clock: ManualClock,
    idp: Idp,
    base: String,
    card_base: String,
    idnat: IdNatPs,
    ca_dir: tempfile::TempDir,
    authority: Authority,
}

impl Env {
    fn now(&self) -> i64 {
        self.clock.shared().unix()
    }

    fn ca_file(&self) -> PathBuf {
        self.ca_dir.path().join("ca.pem")
    }

    fn auth_url(&self) -> String {
        format!(
            "{}/protocol/openid-connect/auth?response_type=code&client_id=rp\
             &redirect_uri={}&scope=openid%20scope_all&state=etat-1&nonce=n-1\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&acr_values=eidas1&prompt=login",
            self.idp.issuer(),
            urlencode(REDIRECT)
        )
    }

    /// A card of the test authority, valid 3 years from now.
    async fn card(&self) -> pki::IssuedCard {
        let now = self.now();
        self.authority
            .issue_card(
                &self.db.store,
                now,
                &self.idnat,
                (now, now + pki::CARD_VALIDITY_SECS),
                P12_PASSWORD,
                "operator:test",
            )
            .await
            .unwrap()
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The browser holding a card: its key and certificate as a browser imports them, from
/// the PKCS#12 file.
fn browser_with_p12(env: &Env, p12: &[u8], password: &str) -> reqwest::Client {
    let store =
        p12_keystore::KeyStore::from_pkcs12(p12, password, Default::default()).expect("the .p12");
    let (_, chain) = store.private_key_chain().expect("a key and its chain");
    let mut identity = pem("PRIVATE KEY", chain.key().as_der());
    for c in chain.certs() {
        identity.push_str(&pem("CERTIFICATE", c.as_der()));
    }
    browser_with_pem(env, &identity)
}

fn browser_with_pem(env: &Env, identity_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .cookie_store(true)
        .redirect(Policy::none())
        .add_root_certificate(
            reqwest::Certificate::from_pem(env.authority.cert_pem().as_bytes()).unwrap(),
        )
        .identity(reqwest::Identity::from_pem(identity_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

async fn env(dialect: Dialect) -> Env {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&caducee_idp::migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let now = clock.shared().unix();
    let ca_dir = tempfile::tempdir().unwrap();
    pki::init(&db.store, now, ca_dir.path(), "operator:test")
        .await
        .unwrap();
    let authority = Authority::load(&db.store, None).await.unwrap();
    let (cert_pem, key_pem) = authority
        .server_cert(now, &["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap();
    let (card_listener, trust) = CardListener::bind(&CardListenerConfig {
        listen: "127.0.0.1:0".into(),
        ca_file: ca_dir.path().join("ca.pem"),
        cert_pem,
        key_pem,
    })
    .await
    .unwrap();
    let card_base = format!("https://{}", card_listener.local());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ecps = std::sync::Arc::new(caducee_ecps_server::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        &base,
    ));
    let idp = Idp::start(
        db.store.clone(),
        clock.shared(),
        &base,
        IdpConfig {
            card_url: Some(card_base.clone()),
            ..IdpConfig::default()
        },
        ecps,
        b"secret d'instance des tests de la carte CPS",
    )
    .await
    .unwrap();
    idp.upsert_client(
        caducee_idp::ClientSpec {
            client_id: "rp".into(),
            name: "Application rp".into(),
            secret: Some(SECRET.into()),
            redirect_uris: vec![REDIRECT.into()],
            grants: vec!["authorization_code".into()],
            ..caducee_idp::ClientSpec::default()
        },
        "operator:test",
    )
    .await
    .unwrap();
    // The e-CPS device API beside the idp, as `web` mounts them: the card activation
    // (PSC-04) is confirmed there.
    let router = caducee_idp::router(idp.clone())
        .merge(caducee_ecps_server::router(
            std::sync::Arc::new(idp.ecps().clone()),
            &base,
        ))
        .layer(axum::middleware::from_fn(
            caducee_ecps_server::testkit::claimed_source,
        ));
    tokio::spawn(async move { axum::serve(listener, router).await });
    tokio::spawn(card::listener::serve(card_listener, idp.clone(), trust));
    let idnat = IdNatPs::from(Rpps::from_payload("1999990001").unwrap());
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, last_name, first_name, updated_at)
         VALUES ($1, '8', $2, 'MARTIN', 'Julie', 0)",
    )
    .bind(idnat.as_str())
    .bind(idnat.number())
    .execute(db.store.pool())
    .await
    .unwrap();
    Env {
        db,
        clock,
        idp,
        base,
        card_base,
        idnat,
        ca_dir,
        authority,
    }
}

/// Up to the card host's answer: the flow's login URL and the card host's response.
async fn card_attempt(env: &Env, b: &reqwest::Client) -> (String, reqwest::Response) {
    let r = b.get(env.auth_url()).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login = location(&r);
    let flow = login.rsplit('/').next().unwrap().to_string();
    let card_url = card::login::card_login_url(&env.idp, &flow).unwrap();
    assert_eq!(
        card_url,
        format!(
            "{}/auth/realms/esante-wallet/login/{flow}/carte",
            env.card_base
        )
    );
    let r = b.get(&card_url).send().await.unwrap();
    (login, r)
}

fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn psc_06_card_login_through_the_listener(dialect: Dialect) {
    let env = env(dialect).await;
    let issued = env.card().await;
    assert!(!issued.p12.is_empty());
    // A wrong password does not open the .p12.
    assert!(p12_keystore::KeyStore::from_pkcs12(&issued.p12, "autre", Default::default()).is_err());
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let (login, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let finish = location(&r);
    assert!(
        finish.starts_with(&format!("{login}/carte/fin?preuve=")),
        "{finish}"
    );
    let r = b.get(&finish).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let back = url::Url::parse(&location(&r)).unwrap();
    assert!(back.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "etat-1");
    // The proof is single use.
    let again = b.get(&finish).send().await.unwrap();
    assert_eq!(again.status(), 403);
    assert!(again.text().await.unwrap().contains("Preuve de carte"));

    let tokens: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/protocol/openid-connect/token",
            env.idp.issuer()
        ))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "rp"),
            ("client_secret", SECRET),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = jwt_claims(
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{tokens}")),
    );
    assert_eq!(access["authMode"], "CARD", "{access}");
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["sc", "pki", "mfa"]), "{id}");
    assert_eq!(id["acr"], "eidas1");
    let userinfo: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/protocol/openid-connect/userinfo",
            env.idp.issuer()
        ))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["SubjectNameID"], env.idnat.as_str(), "{userinfo}");

    // Another browser cannot finish this browser's flow with a proof of its own card.
    let other = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let (_, r) = card_attempt(&env, &other).await;
    let proof_url = location(&r);
    let stranger = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let r = stranger.get(&proof_url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(env.base.starts_with("http://"));
}

async fn psc_06_revoked_expired_and_foreign_cards_refused(dialect: Dialect) {
    let env = env(dialect).await;

    // Revoked by `pki revoke` (by the holder's RPPS): refused at once.
    let issued = env.card().await;
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 303);
    let revoked = pki::revoke(
        &env.db.store,
        env.now(),
        env.idnat.number(),
        "operator",
        "operator:test",
    )
    .await
    .unwrap();
    assert_eq!(revoked, vec![issued.serial.clone()]);
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("Votre carte CPS a été révoquée"), "{page}");
    assert!(page.contains("lang=\"fr\""));
    let crl = env.authority.crl(&env.db.store, env.now()).await.unwrap();
    assert!(crl.starts_with("-----BEGIN X509 CRL-----"), "{crl}");
    let (_, parsed) = x509_parser::pem::parse_x509_pem(crl.as_bytes()).unwrap();
    let (_, list) = x509_parser::parse_x509_crl(&parsed.contents).unwrap();
    let listed: Vec<String> = list
        .iter_revoked_certificates()
        .map(|c| hex::encode(c.raw_serial()))
        .collect();
    assert_eq!(listed, vec![issued.serial]);

    // Expired: a card whose validity ended yesterday; and a valid card once the clock
    // passes its three years.
    let now = env.now();
    let old = env
        .authority
        .issue_card(
            &env.db.store,
            now,
            &env.idnat,
            (now - pki::CARD_VALIDITY_SECS, now - 86_400),
            P12_PASSWORD,
            "operator:test",
        )
        .await
        .unwrap();
    let b = browser_with_pem(&env, &format!("{}{}", old.key_pem, old.cert_pem));
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Votre carte CPS a expiré"));
    let fresh = env.card().await;
    let b = browser_with_p12(&env, &fresh.p12, P12_PASSWORD);
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 303);
    env.clock
        .advance(time::Duration::seconds(pki::CARD_VALIDITY_SECS + 60));
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Votre carte CPS a expiré"));

    // Foreign: a certificate of another authority carrying the same idNat.
    let foreign_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, env.idnat.as_str());
    let foreign = params.self_signed(&foreign_key).unwrap();
    let b = browser_with_pem(
        &env,
        &format!("{}{}", foreign_key.serialize_pem(), foreign.pem()),
    );
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Cette carte n'est pas une carte CPS reconnue"),
        "{page}"
    );
    // Each refusal is audited.
    let refused: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'idp.card.login.refused'",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(refused, 4);
    assert!(env.ca_file().exists());
}

/// Logs the browser in with its card, up to the redirect to the client.
async fn card_login(env: &Env, b: &reqwest::Client) {
    let (_, r) = card_attempt(env, b).await;
    assert_eq!(r.status(), 303);
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(REDIRECT));
}

fn html_value(page: &str, marker: &str) -> String {
    let rest = &page[page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"))
        + marker.len()..];
    rest.split('"').next().unwrap().to_string()
}

async fn psc_06_ma_cps_declaration_revokes_and_the_new_card_works(dialect: Dialect) {
    let env = env(dialect).await;
    caducee_registry::queries::set_contact(
        &env.db.store,
        &env.clock,
        &env.idnat,
        &caducee_registry::queries::ContactUpdate {
            email: "julie.martin@example.test".into(),
            mobile: "+33612345601".into(),
            address: Some("12 rue des Lilas 75011 PARIS".into()),
            actor: "operator:test".into(),
            evidence: None,
        },
    )
    .await
    .unwrap();
    let issued = env.card().await;
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);

    // The login page's "Carte CPS" tab links to the card host.
    let r = b.get(env.auth_url()).send().await.unwrap();
    let login = location(&r);
    let flow = login.rsplit('/').next().unwrap().to_string();
    let tab = b
        .get(format!("{login}?tab=carte"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        tab.contains(&format!(
            "href=\"{}/auth/realms/esante-wallet/login/{flow}/carte\"",
            env.card_base
        )),
        "{tab}"
    );
    assert!(tab.contains("SE CONNECTER AVEC MA CARTE CPS"));

    card_login(&env, &b).await;
    let page_url = format!("{}/account/carte", env.idp.issuer());
    let page = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&issued.serial), "{page}");
    assert!(page.contains("Active"));
    assert!(page.contains("L'adresse de correspondance est utilisée pour l'envoi de la carte CPS"));
    let csrf = html_value(&page, "name=\"csrf\" value=\"");

    // No reason chosen: a French error that says what to do, nothing revoked.
    let r = b
        .post(&page_url)
        .form(&[("csrf", csrf.as_str()), ("serial", issued.serial.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Choisissez ce qui est arrivé à votre carte"));
    // A forged form (no CSRF token) is refused.
    let r = b
        .post(&page_url)
        .form(&[("serial", issued.serial.as_str()), ("motif", "lost")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 303, "still active");

    let r = b
        .post(&page_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("serial", issued.serial.as_str()),
            ("motif", "lost"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{page_url}?declaree=1"));
    // Revoked at once.
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Votre carte CPS a été révoquée"));
    let page = b
        .get(format!("{page_url}?declaree=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Votre déclaration est enregistrée"), "{page}");
    assert!(page.contains("Révoquée (déclarée perdue)"));
    assert!(
        page.contains("<strong>12 r** d** L**** 75011 PARIS</strong>"),
        "{page}"
    );
    assert!(!page.contains("rue des Lilas"));
    assert!(page.contains("en cours de fabrication"));

    // The operator issues the replacement: it works, the old card never again.
    let new = env.card().await;
    let page = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains(&format!("émise (numéro de série {})", new.serial)),
        "{page}"
    );
    let nb = browser_with_p12(&env, &new.p12, P12_PASSWORD);
    card_login(&env, &nb).await;
    let (_, r) = card_attempt(&env, &b).await;
    assert_eq!(r.status(), 403);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'idp.card.replacement.ordered' AND subject = $1",
    )
    .bind(env.idnat.as_str())
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

// ------------------------------------------------------------------ PSC-04 with the card

/// What the card host hands back to `/ecps`: the activation, its token, its expiry.
struct Handed {
    activation: String,
    token: String,
}

/// The browser goes to the card host with the S256 of `verifier`, as /ecps's script does;
/// the card host's answer.
async fn card_activation_attempt(
    env: &Env,
    b: &reqwest::Client,
    verifier: &str,
) -> reqwest::Response {
    let url = format!(
        "{}{}?defi={}",
        env.card_base,
        caducee_ecps_server::WEB_CARD_ACTIVATION_PATH,
        caducee_ecps_server::card_challenge(verifier)
    );
    b.get(url).send().await.unwrap()
}

fn handed(r: &reqwest::Response, env: &Env) -> Handed {
    assert_eq!(r.status(), 303);
    let to = location(r);
    let (page, fragment) = to.split_once('#').expect("the token in the fragment");
    assert_eq!(page, format!("{}/ecps", env.base));
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    Handed {
        activation: q["carte"].clone(),
        token: q["jeton"].clone(),
    }
}

/// `POST /ecps/api/v1/activations/{id}/confirm` with the card's token and `verifier`.
async fn confirm_with_card(env: &Env, h: &Handed, verifier: &str) -> reqwest::Response {
    let jwk = p256::SecretKey::random(&mut rand::rngs::OsRng)
        .public_key()
        .to_jwk_string();
    reqwest::Client::new()
        .post(format!(
            "{}/ecps/api/v1/activations/{}/confirm",
            env.base, h.activation
        ))
        .json(&serde_json::json!({
            "card_token": h.token,
            "card_verifier": verifier,
            "password": "mot de passe e-CPS de Julie",
            "public_jwk": serde_json::from_str::<serde_json::Value>(&jwk).unwrap(),
        }))
        .send()
        .await
        .unwrap()
}

async fn count(env: &Env, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(env.idnat.as_str())
        .fetch_one(env.db.store.pool())
        .await
        .unwrap()
}

const VERIFIER_A: &str = "verificateur-du-navigateur-qui-a-commence-l-activation-0001";

async fn psc_04_a_card_activates_an_ecps_without_codes(dialect: Dialect) {
    let env = env(dialect).await;
    // Julie Martin has no coordinates in the registry: the codes path sends her to her ARS.
    let refused = env.idp.ecps().start_activation(&env.idnat).await;
    assert!(
        matches!(
            refused,
            Err(caducee_ecps_server::EcpsError::MissingContact(_))
        ),
        "{refused:?}"
    );
    let issued = env.card().await;
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let r = card_activation_attempt(&env, &b, VERIFIER_A).await;
    let h = handed(&r, &env);
    // The token is not stored as such.
    let stored: String =
        sqlx::query_scalar("SELECT card_token_hash FROM ecps_activation WHERE id = $1")
            .bind(&h.activation)
            .fetch_one(env.db.store.pool())
            .await
            .unwrap();
    assert_ne!(stored, h.token);
    let r = confirm_with_card(&env, &h, VERIFIER_A).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let body: serde_json::Value = r.json().await.unwrap();
    let device = env
        .idp
        .ecps()
        .active_device(env.idnat.as_str())
        .await
        .unwrap()
        .expect("a device");
    assert_eq!(body["device_id"], device.id);
    // Registered like any other: 3 years.
    assert_eq!(
        device.expires_at,
        datetime!(2029-03-02 09:00 UTC).unix_timestamp()
    );
    // No code was sent, and both steps are audited with the card's serial and the method.
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notify_outbox")
        .fetch_one(env.db.store.pool())
        .await
        .unwrap();
    assert_eq!(sent, 0);
    let started: String = sqlx::query_scalar(
        "SELECT details FROM audit_event WHERE action = 'ecps.activation.card_started' AND subject = $1",
    )
    .bind(env.idnat.as_str())
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert!(started.contains(&issued.serial), "{started}");
    assert!(!started.contains(&h.token));
    let activated: String = sqlx::query_scalar(
        "SELECT details FROM audit_event WHERE action = 'ecps.device.activated' AND subject = $1",
    )
    .bind(env.idnat.as_str())
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert!(activated.contains("\"method\":\"card\""), "{activated}");
    // Codes do not confirm a card activation (it has none), and cost it nothing.
    let h = handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    let jwk = p256::SecretKey::random(&mut rand::rngs::OsRng)
        .public_key()
        .to_jwk_string();
    let r = reqwest::Client::new()
        .post(format!(
            "{}/ecps/api/v1/activations/{}/confirm",
            env.base, h.activation
        ))
        .json(&serde_json::json!({
            "email_code": "000000", "sms_code": "000000",
            "password": "mot de passe e-CPS de Julie",
            "public_jwk": serde_json::from_str::<serde_json::Value>(&jwk).unwrap(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(confirm_with_card(&env, &h, VERIFIER_A).await.status(), 201);
}

async fn psc_04_a_replayed_or_expired_card_token_is_refused(dialect: Dialect) {
    let env = env(dialect).await;
    let issued = env.card().await;
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let h = handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    assert_eq!(confirm_with_card(&env, &h, VERIFIER_A).await.status(), 201);
    // Replayed: single use.
    let r = confirm_with_card(&env, &h, VERIFIER_A).await;
    assert_eq!(r.status(), 410);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "activation_closed");
    // Expired: 5 minutes by the clock (two hours on, so that the source's hourly
    // allowance of 2 activations for one professional is free again).
    env.clock.advance(time::Duration::seconds(7_201));
    let h = handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    env.clock.advance(time::Duration::seconds(299));
    let fresh = handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    // A new card activation supersedes the previous one.
    assert_eq!(confirm_with_card(&env, &h, VERIFIER_A).await.status(), 410);
    env.clock.advance(time::Duration::seconds(301));
    let r = confirm_with_card(&env, &fresh, VERIFIER_A).await;
    assert_eq!(r.status(), 410);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "activation_expired");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("carte CPS a expiré"),
        "{e}"
    );
}

async fn psc_04_a_revoked_expired_or_foreign_card_cannot_activate(dialect: Dialect) {
    let env = env(dialect).await;
    // Revoked.
    let issued = env.card().await;
    pki::revoke(
        &env.db.store,
        env.now(),
        env.idnat.number(),
        "lost",
        "operator:test",
    )
    .await
    .unwrap();
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let r = card_activation_attempt(&env, &b, VERIFIER_A).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("Votre carte CPS a été révoquée"), "{page}");
    assert!(page.contains("Revenir à mon e-CPS"), "{page}");
    // Expired.
    let now = env.now();
    let old = env
        .authority
        .issue_card(
            &env.db.store,
            now,
            &env.idnat,
            (now - pki::CARD_VALIDITY_SECS, now - 86_400),
            P12_PASSWORD,
            "operator:test",
        )
        .await
        .unwrap();
    let b = browser_with_pem(&env, &format!("{}{}", old.key_pem, old.cert_pem));
    let r = card_activation_attempt(&env, &b, VERIFIER_A).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Votre carte CPS a expiré"));
    // Foreign: another authority's certificate carrying the same idNat.
    let foreign_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, env.idnat.as_str());
    let foreign = params.self_signed(&foreign_key).unwrap();
    let b = browser_with_pem(
        &env,
        &format!("{}{}", foreign_key.serialize_pem(), foreign.pem()),
    );
    let r = card_activation_attempt(&env, &b, VERIFIER_A).await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Cette carte n'est pas une carte CPS reconnue"));
    // A valid card with a malformed challenge: refused before anything is created.
    let fresh = env.card().await;
    let b = browser_with_p12(&env, &fresh.p12, P12_PASSWORD);
    let r = b
        .get(format!(
            "{}/ecps/activation-carte?defi=court",
            env.card_base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Nothing was created, and each refused card was audited.
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM ecps_activation WHERE idnat = $1"
        )
        .await,
        0
    );
    let refused: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'ecps.activation.card_refused'",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(refused, 3);
}

async fn psc_04_a_card_token_from_another_browser_is_refused(dialect: Dialect) {
    let env = env(dialect).await;
    let issued = env.card().await;
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    let h = handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    // The token reached a browser that does not hold the verifier of the one that started.
    let r = confirm_with_card(
        &env,
        &h,
        "verificateur-d-un-autre-navigateur-000000000000000",
    )
    .await;
    assert_eq!(r.status(), 403);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "card_token_refused");
    // And the activation is closed: the right browser starts again.
    assert_eq!(confirm_with_card(&env, &h, VERIFIER_A).await.status(), 410);
    // A wrong token with the right verifier is refused too.
    let mut h = handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    h.token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    assert_eq!(confirm_with_card(&env, &h, VERIFIER_A).await.status(), 403);
    assert!(env
        .idp
        .ecps()
        .active_device(env.idnat.as_str())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM audit_event WHERE action = 'ecps.activation.card_refused' AND subject = $1"
        )
        .await,
        2
    );
}

async fn psc_04_card_activations_are_rate_limited_as_the_codes(dialect: Dialect) {
    let env = env(dialect).await;
    let issued = env.card().await;
    let b = browser_with_p12(&env, &issued.p12, P12_PASSWORD);
    // 2 activations an hour for one professional from one source, as the codes path.
    for _ in 0..2 {
        handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
    }
    let r = card_activation_attempt(&env, &b, VERIFIER_A).await;
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("trop de demandes d'activation"));
    env.clock.advance(time::Duration::seconds(7_201));
    handed(&card_activation_attempt(&env, &b, VERIFIER_A).await, &env);
}

on_both_engines! {
    psc_04_a_card_activates_an_ecps_without_codes => psc_04_a_card_activates_an_ecps_without_codes;
    psc_04_a_replayed_or_expired_card_token_is_refused => psc_04_a_replayed_or_expired_card_token_is_refused;
    psc_04_a_revoked_expired_or_foreign_card_cannot_activate => psc_04_a_revoked_expired_or_foreign_card_cannot_activate;
    psc_04_a_card_token_from_another_browser_is_refused => psc_04_a_card_token_from_another_browser_is_refused;
    psc_04_card_activations_are_rate_limited_as_the_codes => psc_04_card_activations_are_rate_limited_as_the_codes;
    psc_06_card_login_through_the_listener => psc_06_card_login_through_the_listener;
    psc_06_revoked_expired_and_foreign_cards_refused => psc_06_revoked_expired_and_foreign_cards_refused;
    psc_06_ma_cps_declaration_revokes_and_the_new_card_works => psc_06_ma_cps_declaration_revokes_and_the_new_card_works;
}
