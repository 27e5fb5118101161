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
            ("identifier", env.idnat.as_str()),
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
    // Registration options (node B): a resident key with user verification.
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
        "required"
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

on_both_engines! {
    psc_02_each_tab_is_a_link_that_shows_its_panel => psc_02_each_tab_is_a_link_that_shows_its_panel;
    psc_07_key_ceremonies_are_rows_single_use_and_expiring => psc_07_key_ceremonies_are_rows_single_use_and_expiring;
    psc_07_account_page_keys_and_a_removal_that_needs_a_fresh_login => psc_07_account_page_keys_and_a_removal_that_needs_a_fresh_login;
}
