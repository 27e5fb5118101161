//! The login page's tabs (PSC-02) and the security keys' server side (PSC-07) through real
//! HTTP on two in-process nodes sharing one database (SQLite and PostgreSQL): the tab a
//! `?tab=` shows without script, the key ceremonies as rows (started on one node, finished
//! on the other, single use, expiring by the Clock), the account page behind the SSO
//! session (a login through the idp itself that comes back), and a key's removal that asks
//! for a recent login. The browser half of the ceremonies (Chromium's virtual
//! authenticator: registration, login with the key alone, a cloned key refused) is
//! tests/js/test/webauthn.test.js: no well-kept Rust crate provides a soft authenticator
//! that builds here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use caducee_core::clock::ManualClock;
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_ecps_server::EcpsServer;
use caducee_idp::{Idp, IdpConfig};
use caducee_registry::queries::{set_contact, ContactUpdate};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use reqwest::redirect::Policy;
use std::sync::Arc;
use time::macros::datetime;
use time::Duration;

const PASSWORD: &str = "mot de passe e-CPS";
const REDIRECT: &str = "https://rp.example/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REALM: &str = "/auth/realms/esante-wallet";

struct Env {
    db: TestDb,
    clock: ManualClock,
    ecps: Arc<EcpsServer>,
    /// The public URL (node A's address); node B answers at `node_b` with the same one.
    base: String,
    node_b: String,
    idnat: IdNatPs,
}

async fn node(
    db: &TestDb,
    clock: &ManualClock,
    base: &str,
    listener: tokio::net::TcpListener,
) -> Arc<EcpsServer> {
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        base,
    ));
    let idp = Idp::start(
        db.store.clone(),
        clock.shared(),
        base,
        IdpConfig::default(),
        ecps.clone(),
        b"secret d'instance des tests des cles de securite",
    )
    .await
    .unwrap();
    let router = caducee_idp::router(idp).layer(axum::middleware::from_fn(
        caducee_ecps_server::testkit::claimed_source,
    ));
    tokio::spawn(async move { axum::serve(listener, router).await });
    ecps
}

async fn env(dialect: Dialect) -> Env {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&caducee_idp::migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // localhost: a WebAuthn relying party id cannot be an IP address.
    let base = format!("http://localhost:{}", a.local_addr().unwrap().port());
    let node_b = format!("http://localhost:{}", b.local_addr().unwrap().port());
    let ecps = node(&db, &clock, &base, a).await;
    node(&db, &clock, &base, b).await;
    let idp_admin = Idp::start(
        db.store.clone(),
        clock.shared(),
        &base,
        IdpConfig::default(),
        ecps.clone(),
        b"secret d'instance des tests des cles de securite",
    )
    .await
    .unwrap();
    idp_admin
        .upsert_client(
            caducee_idp::ClientSpec {
                client_id: "rp".into(),
                name: "Application rp".into(),
                secret: Some("un secret de client de test assez long, 48 octets".into()),
                redirect_uris: vec![REDIRECT.into()],
                grants: vec!["authorization_code".into()],
                ..caducee_idp::ClientSpec::default()
            },
            "operator:test",
        )
        .await
        .unwrap();
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
    set_contact(
        &db.store,
        &clock,
        &idnat,
        &ContactUpdate {
            email: "julie.martin@example.test".into(),
            mobile: "+33612345601".into(),
            actor: "operator:test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Env {
        db,
        clock,
        ecps,
        base,
        node_b,
        idnat,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
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

/// The value of `attr="…"` after `marker` (itself after `after`) in a page.
fn value_after(page: &str, after: &str, marker: &str) -> String {
    let from = page
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {page}"));
    let rest = &page[from..];
    let rest = &rest[rest.find(marker).unwrap_or_else(|| panic!("{marker}")) + marker.len()..];
    rest.split('"').next().unwrap().to_string()
}

/// A relying party's authorization request: the login page's URL.
async fn login_flow(env: &Env, b: &reqwest::Client) -> String {
    let url = format!(
        "{}{REALM}/protocol/openid-connect/auth?response_type=code&client_id=rp\
         &redirect_uri={}&scope=openid&state=s&nonce=n&code_challenge={CHALLENGE}\
         &code_challenge_method=S256",
        env.base,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let r = b.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    location(&r)
}

async fn psc_02_each_tab_is_a_link_that_shows_its_panel(dialect: Dialect) {
    let env = env(dialect).await;
    let b = browser();
    let login = login_flow(&env, &b).await;
    let page = b.get(&login).send().await.unwrap().text().await.unwrap();
    for (slug, label) in [
        ("ecps", "Application e-CPS"),
        ("carte", "Carte CPS"),
        ("delegation", "Délégation"),
        ("cle", "Clé de sécurité"),
    ] {
        assert!(
            page.contains(&format!("href=\"{login}?tab={slug}\"")),
            "{slug}"
        );
        assert!(page.contains(&format!(">{label}</a>")), "{label}");
    }
    assert!(page.contains("id=\"panneau-ecps\" aria-labelledby=\"onglet-ecps\" tabindex=\"0\">"));
    assert!(
        page.contains("id=\"panneau-cle\" aria-labelledby=\"onglet-cle\" tabindex=\"0\" hidden>")
    );
    let page = b
        .get(format!("{login}?tab=cle"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"panneau-cle\" aria-labelledby=\"onglet-cle\" tabindex=\"0\">"));
    assert!(
        page.contains("id=\"panneau-ecps\" aria-labelledby=\"onglet-ecps\" tabindex=\"0\" hidden>")
    );
    assert!(
        page.contains("id=\"onglet-cle\" href=\"")
            && page.contains("aria-controls=\"panneau-cle\" aria-selected=\"true\"")
    );
    assert!(page.contains("Se connecter avec une clé de sécurité"));
    // Anything else: the e-CPS tab.
    let page = b
        .get(format!("{login}?tab=autre"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("aria-controls=\"panneau-ecps\" aria-selected=\"true\""));
    // The tabs' script is a file (the CSP has no inline script).
    let js = b
        .get(format!("{}{REALM}/login/tabs.js", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.text().await.unwrap().contains("ArrowRight"));
}

/// An assertion of the right shape for a key nobody registered.
fn unknown_assertion() -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    serde_json::json!({
        "id": b64(b"cle-inconnue"),
        "rawId": b64(b"cle-inconnue"),
        "type": "public-key",
        "extensions": {},
        "response": {
            "authenticatorData": b64(&[0u8; 37]),
            "clientDataJSON": b64(b"{}"),
            "signature": b64(&[1u8; 64]),
            "userHandle": b64(uuid::Uuid::new_v4().as_bytes()),
        }
    })
    .to_string()
}

async fn psc_07_key_ceremonies_are_rows_single_use_and_expiring(dialect: Dialect) {
    let env = env(dialect).await;
    let b = browser();
    let login = login_flow(&env, &b).await;
    let page = b.get(&login).send().await.unwrap().text().await.unwrap();
    let csrf = value_after(&page, "id=\"connexion-cle\"", "name=\"csrf\" value=\"");
    let flow = login.rsplit('/').next().unwrap().to_string();
    // Started on node B…
    let options = |csrf: String| {
        let b = b.clone();
        let url = format!("{}{REALM}/login/{flow}/key/options", env.node_b);
        async move {
            b.post(url)
                .json(&serde_json::json!({ "csrf": csrf }))
                .send()
                .await
                .unwrap()
        }
    };
    let r = options("faux".into()).await;
    assert_eq!(r.status(), 403, "a foreign page cannot start a ceremony");
    let r = options(csrf.clone()).await;
    assert_eq!(r.status(), 200);
    let o: serde_json::Value = r.json().await.unwrap();
    assert_eq!(o["publicKey"]["userVerification"], "required");
    assert!(o["publicKey"]["challenge"].as_str().unwrap().len() >= 43);
    let ceremony = o["ceremony"].as_str().unwrap().to_string();
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM idp_webauthn_ceremony WHERE kind = 'login' AND flow_id = $1",
    )
    .bind(&flow)
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(stored, 1, "the ceremony is a row");
    let hashed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM idp_webauthn_ceremony WHERE id = $1")
            .bind(&ceremony)
            .fetch_one(env.db.store.pool())
            .await
            .unwrap();
    assert_eq!(hashed, 0, "only its hash is stored");
    // …finished on node A: the ceremony is found (the key is not).
    let finish = |ceremony: String| {
        let b = b.clone();
        let url = format!("{login}/key");
        let csrf = csrf.clone();
        async move {
            b.post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("ceremony", ceremony.as_str()),
                    ("credential", unknown_assertion().as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = finish(ceremony.clone()).await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("n'est enregistrée pour aucun compte"));
    // Single use.
    let r = finish(ceremony).await;
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("a expiré ou a déjà servi"));
    // Expiring by the Clock.
    let o: serde_json::Value = options(csrf.clone()).await.json().await.unwrap();
    env.clock.advance(Duration::seconds(301));
    let r = finish(o["ceremony"].as_str().unwrap().to_string()).await;
    assert_eq!(r.status(), 410);
    let refused: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'idp.webauthn.login_refused'",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(refused, 1, "the unknown key is audited");
    // A page cannot open ceremonies without end: ten at once for a flow.
    for _ in 0..10 {
        assert_eq!(options(csrf.clone()).await.status(), 200);
    }
    let r = options(csrf.clone()).await;
    assert_eq!(r.status(), 429);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(j["error"]
        .as_str()
        .unwrap()
        .contains("Attendez cinq minutes"));
}

/// The account page through the idp's own login, by e-CPS: the browser ends on it.
async fn account_login(env: &Env, b: &reqwest::Client, device: &str, login: Option<String>) {
    account_login_as(env, b, &env.idnat, device, login).await;
}

/// The same for the professional `idnat`.
async fn account_login_as(
    env: &Env,
    b: &reqwest::Client,
    idnat: &IdNatPs,
    device: &str,
    login: Option<String>,
) {
    let account = format!("{}{REALM}/account", env.base);
    let login = match login {
        Some(l) => l,
        None => {
            let r = b.get(&account).send().await.unwrap();
            assert_eq!(r.status(), 303, "no session: a login first");
            location(&r)
        }
    };
    assert!(
        login.starts_with(&format!("{}{REALM}/login/", env.base)),
        "{login}"
    );
    let page = b.get(&login).send().await.unwrap().text().await.unwrap();
    let csrf = value_after(&page, "id=\"panneau-ecps\"", "name=\"csrf\" value=\"");
    let r = b
        .post(&login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier_type", "rpps"),
            ("identifier", idnat.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let waiting = b
        .get(format!("{login}/ecps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = waiting.find("id=\"code-ecps\">").unwrap() + "id=\"code-ecps\">".len();
    let code = &waiting[at..at + 2];
    let pending = env.ecps.pending_for_device(device).await.unwrap();
    env.ecps
        .answer(device, &pending[0].id, code, PASSWORD)
        .await
        .unwrap();
    let r = b.get(format!("{login}/continue")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), account, "back on the account page, no code");
}

async fn psc_07_account_page_keys_and_a_removal_that_needs_a_fresh_login(dialect: Dialect) {
    let env = env(dialect).await;
    let started = env.ecps.start_activation(&env.idnat).await.unwrap();
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&env.db.store).await;
    let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let device = env
        .ecps
        .confirm_activation(
            &started.activation_id,
            &e,
            &s,
            PASSWORD,
            &sk.public_key().to_jwk_string(),
        )
        .await
        .unwrap()
        .id;
    let b = browser();
    // Without a session the registration does not start.
    let r = b
        .post(format!("{}{REALM}/account/keys/options", env.base))
        .json(&serde_json::json!({ "csrf": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    account_login(&env, &b, &device, None).await;
    let account = format!("{}{REALM}/account", env.base);
    let page = b.get(&account).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Aucune clé de sécurité n'est enregistrée."),
        "{page}"
    );
    for section in [
        "titre-cles",
        "titre-carte",
        "titre-delegation",
        "titre-ecps",
    ] {
        assert!(page.contains(&format!("id=\"{section}\"")), "{section}");
    }
    let csrf = value_after(&page, "id=\"ajout-cle\"", "data-csrf=\"");
    // Registration options (node B): a resident key when the key can keep one (a key that
    // cannot still registers, for the login after the identifier), user verification.
    let r = b
        .post(format!("{}{REALM}/account/keys/options", env.node_b))
        .json(&serde_json::json!({ "csrf": csrf }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let o: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        o["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(
        o["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    // An empty name is refused with what to do.
    let r = b
        .post(format!("{}{REALM}/account/keys", env.base))
        .json(&serde_json::json!({ "csrf": csrf, "ceremony": o["ceremony"], "name": "  " }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(j["error"]
        .as_str()
        .unwrap()
        .contains("Donnez un nom à la clé"));
    // A key (its row as a registration leaves it; the ceremony itself is the JS test's).
    sqlx::query(
        "INSERT INTO idp_webauthn_key (id, idnat, cred_id, name, passkey, counter, created_at)
         VALUES ('k1', $1, 'cred-1', 'Clé du cabinet', '{}', 0, 0)",
    )
    .bind(env.idnat.as_str())
    .execute(env.db.store.pool())
    .await
    .unwrap();
    let page = b.get(&account).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Clé du cabinet"));
    let r = b
        .post(format!("{account}/keys/k1/rename"))
        .form(&[("csrf", csrf.as_str()), ("name", "Clé USB")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("La clé a été renommée."));
    // Ten minutes later, a removal asks for a new login first.
    env.clock.advance(Duration::minutes(10));
    let r = b
        .post(format!("{account}/keys/k1/remove"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let relogin = location(&r);
    assert!(relogin.contains("/login/"));
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idp_webauthn_key")
        .fetch_one(env.db.store.pool())
        .await
        .unwrap();
    assert_eq!(left, 1, "not removed without a fresh login");
    account_login(&env, &b, &device, Some(relogin)).await;
    let page = b.get(&account).send().await.unwrap().text().await.unwrap();
    let csrf = value_after(&page, "id=\"ajout-cle\"", "data-csrf=\"");
    let r = b
        .post(format!("{account}/keys/k1/remove"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("La clé a été retirée"));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_event WHERE action LIKE 'idp.webauthn.%' ORDER BY at, action",
    )
    .fetch_all(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "idp.webauthn.renamed",
            "idp.webauthn.remove_needs_login",
            "idp.webauthn.removed"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// The login after typing the identifier (PSC-07, PSC-02), with a software authenticator.
// ---------------------------------------------------------------------------------------

fn b64u(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A CBOR head (major type, length) as RFC 8949 writes it.
fn cbor_head(major: u8, len: usize) -> Vec<u8> {
    let m = major << 5;
    match len {
        0..=23 => vec![m | len as u8],
        24..=255 => vec![m | 24, len as u8],
        _ => {
            let mut v = vec![m | 25];
            v.extend_from_slice(&(len as u16).to_be_bytes());
            v
        }
    }
}

fn cbor_text(t: &str) -> Vec<u8> {
    let mut v = cbor_head(3, t.len());
    v.extend_from_slice(t.as_bytes());
    v
}

fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    let mut v = cbor_head(2, b.len());
    v.extend_from_slice(b);
    v
}

/// A security key in software: a P-256 credential, "none" attestation, user verification
/// and a counter, answering the ceremonies as a FIDO2 key does (WebAuthn §6.1, §6.5). A
/// credential without a resident copy: only an `allowCredentials` list can name it.
struct SoftKey {
    signing: p256::ecdsa::SigningKey,
    cred_id: Vec<u8>,
    counter: u32,
}

impl SoftKey {
    fn new() -> SoftKey {
        use rand::RngCore;
        let mut cred_id = vec![0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut cred_id);
        SoftKey {
            signing: p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng),
            cred_id,
            counter: 0,
        }
    }

    fn rp_id_hash() -> Vec<u8> {
        use sha2::Digest;
        sha2::Sha256::digest(b"localhost").to_vec()
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::json!({ "type": kind, "challenge": challenge, "origin": origin,
            "crossOrigin": false })
        .to_string()
        .into_bytes()
    }

    /// The answer to `navigator.credentials.create` for the registration options `o`.
    fn registration(&self, origin: &str, o: &serde_json::Value) -> serde_json::Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cose.extend(cbor_bytes(point.x().unwrap()));
        cose.push(0x22);
        cose.extend(cbor_bytes(point.y().unwrap()));
        let mut auth_data = Self::rp_id_hash();
        auth_data.push(0x45); // UP, UV, attested credential data
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(self.cred_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.cred_id);
        auth_data.extend(cose);
        let mut att = vec![0xa3];
        att.extend(cbor_text("fmt"));
        att.extend(cbor_text("none"));
        att.extend(cbor_text("attStmt"));
        att.push(0xa0);
        att.extend(cbor_text("authData"));
        att.extend(cbor_bytes(&auth_data));
        let challenge = o["publicKey"]["challenge"].as_str().unwrap();
        serde_json::json!({
            "id": b64u(&self.cred_id), "rawId": b64u(&self.cred_id), "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": b64u(&att),
                "clientDataJSON": b64u(&Self::client_data("webauthn.create", challenge, origin)),
                "transports": ["usb"],
            }
        })
    }

    /// The answer to `navigator.credentials.get` for the options `o`; `sign` false gives a
    /// signature of another message (what someone without the key could send).
    fn assertion(&mut self, origin: &str, o: &serde_json::Value, sign: bool) -> String {
        use p256::ecdsa::signature::Signer;
        use sha2::Digest;
        self.counter += 1;
        let mut auth_data = Self::rp_id_hash();
        auth_data.push(0x05); // UP, UV
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        let client = Self::client_data(
            "webauthn.get",
            o["publicKey"]["challenge"].as_str().unwrap(),
            origin,
        );
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha2::Sha256::digest(&client));
        if !sign {
            signed.push(0);
        }
        let signature: p256::ecdsa::Signature = self.signing.sign(&signed);
        serde_json::json!({
            "id": b64u(&self.cred_id), "rawId": b64u(&self.cred_id), "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": b64u(&auth_data),
                "clientDataJSON": b64u(&client),
                "signature": b64u(signature.to_der().as_bytes()),
                "userHandle": null,
            }
        })
        .to_string()
    }
}

/// A second professional in the registry (with coordinates, for an e-CPS).
async fn professional(env: &Env, payload: &str, last: &str, first: &str) -> IdNatPs {
    let idnat = IdNatPs::from(Rpps::from_payload(payload).unwrap());
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, last_name, first_name, updated_at)
         VALUES ($1, '8', $2, $3, $4, 0)",
    )
    .bind(idnat.as_str())
    .bind(idnat.number())
    .bind(last)
    .bind(first)
    .execute(env.db.store.pool())
    .await
    .unwrap();
    set_contact(
        &env.db.store,
        &env.clock,
        &idnat,
        &ContactUpdate {
            email: format!("{}@example.test", first.to_lowercase()),
            mobile: "+33612345602".into(),
            actor: "operator:test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    idnat
}

/// An activated e-CPS of `idnat`: its device id.
async fn activate(env: &Env, idnat: &IdNatPs) -> String {
    let started = env.ecps.start_activation(idnat).await.unwrap();
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&env.db.store).await;
    let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
    env.ecps
        .confirm_activation(
            &started.activation_id,
            &e,
            &s,
            PASSWORD,
            &sk.public_key().to_jwk_string(),
        )
        .await
        .unwrap()
        .id
}

/// `idnat` logs into the account page (e-CPS) and registers `key` there, then logs out
/// (a browser of its own).
async fn register(env: &Env, idnat: &IdNatPs, key: &SoftKey, name: &str) {
    let device = activate(env, idnat).await;
    let b = browser();
    account_login_as(env, &b, idnat, &device, None).await;
    let page = b
        .get(format!("{}{REALM}/account", env.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = value_after(&page, "id=\"ajout-cle\"", "data-csrf=\"");
    let o: serde_json::Value = b
        .post(format!("{}{REALM}/account/keys/options", env.base))
        .json(&serde_json::json!({ "csrf": csrf }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = b
        .post(format!("{}{REALM}/account/keys", env.node_b))
        .json(
            &serde_json::json!({ "csrf": csrf, "ceremony": o["ceremony"], "name": name,
            "credential": key.registration(&env.base, &o) }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// A login page's key form: (login URL, flow id, CSRF token of the key forms).
async fn key_page(env: &Env, b: &reqwest::Client) -> (String, String, String) {
    let login = login_flow(env, b).await;
    let page = b.get(&login).send().await.unwrap().text().await.unwrap();
    let csrf = value_after(
        &page,
        "id=\"connexion-cle-identifiant\"",
        "name=\"csrf\" value=\"",
    );
    let flow = login.rsplit('/').next().unwrap().to_string();
    (login, flow, csrf)
}

/// The identifier form's options: (status, JSON), from the source `ip`.
async fn ask(
    env: &Env,
    b: &reqwest::Client,
    flow: &str,
    csrf: &str,
    identifier: &str,
    ip: &str,
) -> (u16, serde_json::Value) {
    let r = b
        .post(format!(
            "{}{REALM}/login/{flow}/key/identifiant/options",
            env.node_b
        ))
        .header("x-test-source", ip)
        .json(
            &serde_json::json!({ "csrf": csrf, "identifier_type": "rpps",
            "identifier": identifier }),
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn answer(
    b: &reqwest::Client,
    login: &str,
    csrf: &str,
    o: &serde_json::Value,
    credential: &str,
    identifier: &str,
) -> reqwest::Response {
    b.post(format!("{login}/key/identifiant"))
        .form(&[
            ("csrf", csrf),
            ("ceremony", o["ceremony"].as_str().unwrap()),
            ("credential", credential),
            ("identifier_type", "rpps"),
            ("identifier", identifier),
            ("remember", "1"),
        ])
        .send()
        .await
        .unwrap()
}

fn allowed_ids(o: &serde_json::Value) -> Vec<String> {
    o["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn refused_reasons(env: &Env) -> Vec<String> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT details FROM audit_event WHERE action = 'idp.webauthn.login_refused'",
    )
    .fetch_all(env.db.store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|d| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            v["reason"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn psc_07_a_typed_identifier_logs_in_with_a_key_of_that_professional(dialect: Dialect) {
    let env = env(dialect).await;
    let mut key = SoftKey::new();
    register(&env, &env.idnat, &key, "Clé sans résident").await;
    let b = browser();
    let (login, flow, csrf) = key_page(&env, &b).await;
    let typed = env.idnat.number().to_string();
    let (status, o) = ask(&env, &b, &flow, &csrf, &typed, "192.0.2.10").await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(
        allowed_ids(&o),
        [b64u(&key.cred_id)],
        "that professional's key only"
    );
    assert_eq!(o["publicKey"]["userVerification"], "required");
    // Finished on node A (the ceremony is a row), the typed form remembered.
    let r = answer(
        &b,
        &login,
        &csrf,
        &o,
        &key.assertion(&env.base, &o, true),
        &typed,
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(
        location(&r).starts_with(&format!("{REDIRECT}?code=")),
        "{}",
        location(&r)
    );
    // The session of the key login (the registration's e-CPS session is there too).
    let amr: String = sqlx::query_scalar(
        "SELECT amr FROM idp_session WHERE idnat = $1 AND auth_mode = 'SECURITY_KEY'",
    )
    .bind(env.idnat.as_str())
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert!(amr.contains("hwk") && amr.contains("mfa"), "{amr}");
    let logins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_event WHERE action = 'idp.webauthn.login'")
            .fetch_one(env.db.store.pool())
            .await
            .unwrap();
    assert_eq!(logins, 1);
    // The same answer again (a replay) finds its ceremony used.
    let r = answer(
        &b,
        &login,
        &csrf,
        &o,
        &key.assertion(&env.base, &o, true),
        &typed,
    )
    .await;
    // Refused: the login it belonged to is over (its CSRF token went with it), and its
    // ceremony was used; no second login.
    assert!(matches!(r.status().as_u16(), 403 | 410), "{}", r.status());
    let logins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_event WHERE action = 'idp.webauthn.login'")
            .fetch_one(env.db.store.pool())
            .await
            .unwrap();
    assert_eq!(logins, 1);
    // « Mémoriser mon identifiant sur ce poste »: the next login page has it in both forms
    // (`prompt=login`: this browser's session would otherwise skip the page).
    let url = format!(
        "{}{REALM}/protocol/openid-connect/auth?response_type=code&client_id=rp\
         &redirect_uri={}&scope=openid&state=s&nonce=n&code_challenge={CHALLENGE}\
         &code_challenge_method=S256&prompt=login",
        env.base,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let r = b.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let page = b
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = &page[page.find("id=\"connexion-cle-identifiant\"").unwrap()..];
    assert!(
        form.contains(&format!(
            "id=\"cle-identifier\" name=\"identifier\" type=\"text\" value=\"{typed}\""
        )),
        "{form}"
    );
}

async fn psc_07_a_key_of_another_professional_is_refused_for_that_identifier(dialect: Dialect) {
    let env = env(dialect).await;
    let julie_key = SoftKey::new();
    register(&env, &env.idnat, &julie_key, "Clé de Julie").await;
    let thomas = professional(&env, "1999990002", "PETIT", "Thomas").await;
    let mut thomas_key = SoftKey::new();
    register(&env, &thomas, &thomas_key, "Clé de Thomas").await;
    let b = browser();
    let (login, flow, csrf) = key_page(&env, &b).await;
    let julie = env.idnat.number().to_string();
    let refused = "n'a pas été reconnue pour cet identifiant";
    // Thomas's key, validly signed, on a ceremony for Julie's identifier.
    let (_, o) = ask(&env, &b, &flow, &csrf, &julie, "192.0.2.20").await;
    let r = answer(
        &b,
        &login,
        &csrf,
        &o,
        &thomas_key.assertion(&env.base, &o, true),
        &julie,
    )
    .await;
    assert_eq!(r.status(), 403);
    let refusal_page = r.text().await.unwrap();
    assert!(refusal_page.contains(refused), "{refusal_page}");
    // Julie's own key id with a signature nobody made: the same page (no oracle).
    let mut forged = SoftKey::new();
    forged.cred_id = julie_key.cred_id.clone();
    let (_, o) = ask(&env, &b, &flow, &csrf, &julie, "192.0.2.20").await;
    let r = answer(
        &b,
        &login,
        &csrf,
        &o,
        &forged.assertion(&env.base, &o, true),
        &julie,
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.unwrap(), refusal_page, "the same refusal");
    // Thomas's key on a ceremony for an identifier that has no key: the same page.
    let unknown = Rpps::from_payload("1999990077")
        .unwrap()
        .as_str()
        .to_string();
    let (_, o) = ask(&env, &b, &flow, &csrf, &unknown, "192.0.2.20").await;
    let r = answer(
        &b,
        &login,
        &csrf,
        &o,
        &thomas_key.assertion(&env.base, &o, false),
        &unknown,
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.unwrap(), refusal_page, "the same refusal");
    let sessions: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM idp_session WHERE amr LIKE '%hwk%'")
            .fetch_one(env.db.store.pool())
            .await
            .unwrap();
    assert_eq!(sessions, 0, "nobody logged in");
    // Audited with the reason (one clock second: the rows' order is not asked).
    let mut reasons = refused_reasons(&env).await;
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons.contains(&"key_of_another".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"no_key_for_identifier".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r != "key_of_another" && r != "no_key_for_identifier"),
        "the forged signature has its own reason: {reasons:?}"
    );
}

async fn psc_07_an_unknown_identifier_gets_an_answer_of_the_same_shape(dialect: Dialect) {
    let env = env(dialect).await;
    let key = SoftKey::new();
    register(&env, &env.idnat, &key, "Clé de Julie").await;
    let thomas = professional(&env, "1999990002", "PETIT", "Thomas").await;
    let b = browser();
    let (_, flow, csrf) = key_page(&env, &b).await;
    let unknown = Rpps::from_payload("1999990077")
        .unwrap()
        .as_str()
        .to_string();
    let mut answers = vec![];
    for who in [env.idnat.number(), thomas.number(), unknown.as_str()] {
        let (status, o) = ask(&env, &b, &flow, &csrf, who, "192.0.2.30").await;
        assert_eq!(status, 200, "{who}: {o}");
        answers.push(o);
    }
    // The same fields, the same types, credentials as bare ids of plausible lengths.
    fn shape(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
            }
            serde_json::Value::Array(a) => serde_json::json!([a.first().map(shape)]),
            serde_json::Value::String(_) => serde_json::json!("string"),
            other => other.clone(),
        }
    }
    assert_eq!(shape(&answers[0]), shape(&answers[1]));
    assert_eq!(shape(&answers[0]), shape(&answers[2]));
    for o in &answers[1..] {
        let ids = allowed_ids(o);
        assert!((1..=2).contains(&ids.len()), "{ids:?}");
        for id in ids {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(id)
                .unwrap();
            assert_eq!(raw.len(), 64);
        }
        assert_eq!(o["publicKey"]["rpId"], answers[0]["publicKey"]["rpId"]);
        assert_ne!(
            o["publicKey"]["challenge"],
            answers[0]["publicKey"]["challenge"]
        );
    }
    // Stable: asked again (on the other node), the same decoys; another identifier, others.
    let (_, again) = ask(&env, &b, &flow, &csrf, &unknown, "192.0.2.30").await;
    assert_eq!(allowed_ids(&again), allowed_ids(&answers[2]));
    assert_ne!(allowed_ids(&answers[1]), allowed_ids(&answers[2]));
    // An identifier that is not one says so: its form only, the same for everyone.
    let (status, o) = ask(&env, &b, &flow, &csrf, "123", "192.0.2.30").await;
    assert_eq!(status, 400);
    assert!(o["error"].as_str().unwrap().contains("RPPS"), "{o}");
}

async fn psc_07_identifier_challenges_are_rate_limited(dialect: Dialect) {
    let env = env(dialect).await;
    let b = browser();
    let julie = env.idnat.number().to_string();
    // Per identifier, whoever asks: ten per 10 minutes, from three addresses.
    let (_, flow, csrf) = key_page(&env, &b).await;
    for i in 0..10 {
        let (status, _) = ask(
            &env,
            &b,
            &flow,
            &csrf,
            &julie,
            &format!("192.0.2.{}", 40 + i % 3),
        )
        .await;
        assert_eq!(status, 200, "ask {i}");
    }
    let (status, o) = ask(&env, &b, &flow, &csrf, &julie, "192.0.2.99").await;
    assert_eq!(status, 429);
    assert!(o["error"]
        .as_str()
        .unwrap()
        .contains("Trop de demandes pour cet identifiant"));
    // An identifier nobody has counts the same (the limit tells nothing).
    let unknown = Rpps::from_payload("1999990077")
        .unwrap()
        .as_str()
        .to_string();
    let (_, flow, csrf) = key_page(&env, &b).await;
    for _ in 0..10 {
        assert_eq!(
            ask(&env, &b, &flow, &csrf, &unknown, "192.0.2.50").await.0,
            200
        );
    }
    assert_eq!(
        ask(&env, &b, &flow, &csrf, &unknown, "192.0.2.51").await.0,
        429
    );
    // Per source: the login page's budget (30 identifiers per 10 minutes), whatever the
    // identifiers; 192.0.2.50 spent 10 of it above.
    let mut asked = 10;
    let mut status = 200;
    for n in 0..30 {
        // A flow per ask: a flow's own cap of open ceremonies (ten) is not what is tested.
        let (_, flow, csrf) = key_page(&env, &b).await;
        let who = Rpps::from_payload(&format!("19999901{n:02}"))
            .unwrap()
            .as_str()
            .to_string();
        status = ask(&env, &b, &flow, &csrf, &who, "192.0.2.50").await.0;
        asked += 1;
        if status != 200 {
            break;
        }
    }
    assert_eq!(status, 429);
    assert_eq!(asked, 31, "the 31st identifier of the source is refused");
    // Ten minutes later (the Clock), the window has slid.
    env.clock.advance(Duration::minutes(21));
    let (_, flow, csrf) = key_page(&env, &b).await;
    assert_eq!(
        ask(&env, &b, &flow, &csrf, &julie, "192.0.2.50").await.0,
        200
    );
    let throttled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'idp.webauthn.login_throttled'",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(throttled, 3, "each refusal is audited");
}

on_both_engines! {
    psc_02_each_tab_is_a_link_that_shows_its_panel => psc_02_each_tab_is_a_link_that_shows_its_panel;
    psc_07_key_ceremonies_are_rows_single_use_and_expiring => psc_07_key_ceremonies_are_rows_single_use_and_expiring;
    psc_07_account_page_keys_and_a_removal_that_needs_a_fresh_login => psc_07_account_page_keys_and_a_removal_that_needs_a_fresh_login;
    psc_07_a_typed_identifier_logs_in_with_a_key_of_that_professional => psc_07_a_typed_identifier_logs_in_with_a_key_of_that_professional;
    psc_07_a_key_of_another_professional_is_refused_for_that_identifier => psc_07_a_key_of_another_professional_is_refused_for_that_identifier;
    psc_07_an_unknown_identifier_gets_an_answer_of_the_same_shape => psc_07_an_unknown_identifier_gets_an_answer_of_the_same_shape;
    psc_07_identifier_challenges_are_rate_limited => psc_07_identifier_challenges_are_rate_limited;
}
