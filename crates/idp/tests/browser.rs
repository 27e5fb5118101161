//! The browser side of the identity provider, through real HTTP on an in-process server:
//! a browser (reqwest with a cookie store, redirects not followed so each step is seen),
//! a relying party's authorization request, the login page, the e-CPS waiting page, the
//! phone played with the e-CPS server's API, the code, SSO and logout. On SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
const LOGOUT_TARGET: &str = "https://rp.example/au-revoir";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Env {
    db: TestDb,
    clock: ManualClock,
    idp: Idp,
    ecps: Arc<EcpsServer>,
    base: String,
    idnat: IdNatPs,
}

impl Env {
    fn issuer(&self) -> String {
        assert_eq!(
            self.idp.issuer(),
            format!("{}/auth/realms/esante-wallet", self.base)
        );
        self.idp.issuer().to_string()
    }

    fn auth_url(&self, client: &str, extra: &str) -> String {
        format!(
            "{}/protocol/openid-connect/auth?response_type=code&client_id={client}\
             &redirect_uri={}&scope=openid%20scope_all&state=etat-1&nonce=n-1\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&acr_values=eidas1{extra}",
            self.issuer(),
            urlencode(REDIRECT)
        )
    }
}

#[path = "browser/abuse.rs"]
mod abuse;

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn env(dialect: Dialect) -> Env {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&caducee_idp::migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        &base,
    ));
    let idp = Idp::start(
        db.store.clone(),
        clock.shared(),
        &base,
        IdpConfig::default(),
        ecps.clone(),
        b"secret d'instance des tests du navigateur",
    )
    .await
    .unwrap();
    for (id, secret) in [
        (
            "rp",
            Some("un secret de client de test assez long, 48 octets"),
        ),
        ("spa", None),
    ] {
        idp.upsert_client(
            caducee_idp::ClientSpec {
                client_id: id.into(),
                name: format!("Application {id}"),
                secret: secret.map(str::to_string),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![LOGOUT_TARGET.into()],
                grants: vec!["authorization_code".into(), "refresh_token".into()],
                ..caducee_idp::ClientSpec::default()
            },
            "operator:test",
        )
        .await
        .unwrap();
    }
    let router = caducee_idp::router(idp.clone()).layer(axum::middleware::from_fn(
        caducee_ecps_server::testkit::claimed_source,
    ));
    tokio::spawn(async move { axum::serve(listener, router).await });
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
        idp,
        ecps,
        base,
        idnat,
    }
}

/// The phone: an activated e-CPS device.
async fn activate(env: &Env) -> String {
    let started = env.ecps.start_activation(&env.idnat).await.unwrap();
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&env.db.store).await;
    let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let jwk = sk.public_key().to_jwk_string();
    env.ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, &jwk)
        .await
        .unwrap()
        .id
}

/// The phone answers its pending request with `code`.
async fn phone_answers(env: &Env, device: &str, code: &str) {
    let pending = env.ecps.pending_for_device(device).await.unwrap();
    let req = pending.first().expect("a pending request on the phone");
    env.ecps
        .answer(device, &req.id, code, PASSWORD)
        .await
        .unwrap();
}

/// The body of the page at `url`.
async fn page_at(b: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    b.get(url).send().await.unwrap().text().await.unwrap()
}

async fn json_at(b: &reqwest::Client, url: impl reqwest::IntoUrl) -> serde_json::Value {
    b.get(url).send().await.unwrap().json().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// The value of `attr="…"` after `marker` in a page.
fn html_value(page: &str, marker: &str) -> String {
    let rest = &page[page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"))
        + marker.len()..];
    rest.split('"').next().unwrap().to_string()
}

fn code_on(page: &str) -> String {
    let start = page.find("id=\"code-ecps\">").expect("the code") + "id=\"code-ecps\">".len();
    page[start..start + 2].to_string()
}

/// Up to the waiting page: returns (flow URL, code shown).
async fn start_login(env: &Env, b: &reqwest::Client, client: &str) -> (String, String) {
    let r = b.get(env.auth_url(client, "")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login = location(&r);
    assert!(
        login.starts_with(&format!("{}/login/", env.issuer())),
        "{login}"
    );
    let page = page_at(b, &login).await;
    assert!(page.contains("Application e-CPS"));
    assert!(page.contains("Mémoriser mon identifiant sur ce poste"));
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let r = b
        .post(&login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier_type", "rpps"),
            ("identifier", env.idnat.as_str()),
            ("remember", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let waiting = location(&r);
    assert_eq!(waiting, format!("{login}/ecps"));
    let page = page_at(b, &waiting).await;
    assert!(page.contains("Il vous reste <span id=\"secondes\" role=\"timer\">120</span> secondes pour valider votre demande d'authentification"), "{page}");
    assert!(page.contains("Quitter l'authentification"));
    (login, code_on(&page))
}

async fn psc_03_login_code_sso_and_logout(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;
    let b = browser();
    let (login, code) = start_login(&env, &b, "rp").await;

    let status: serde_json::Value = json_at(&b, format!("{login}/status")).await;
    assert_eq!(status["status"], "pending");

    // Before the phone answers, "continue" sends back to the waiting page.
    let r = b.get(format!("{login}/continue")).send().await.unwrap();
    assert_eq!(location(&r), format!("{login}/ecps"));

    phone_answers(&env, &device, &code).await;
    let r = b.get(format!("{login}/continue")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = url::Url::parse(&location(&r)).unwrap();
    assert!(back.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "etat-1");
    assert_eq!(q["iss"], env.issuer());
    assert!(q["code"].len() >= 20);

    // A flow gives one code.
    let again = b.get(format!("{login}/continue")).send().await.unwrap();
    assert_eq!(again.status(), 410);

    // SSO: the second application gets a code without a second approval.
    let r = b.get(env.auth_url("spa", "")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        location(&r).starts_with(&format!("{REDIRECT}?code=")),
        "{}",
        location(&r)
    );
    // … unless it asks for a fresh login.
    let r = b
        .get(env.auth_url("spa", "&prompt=login"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&format!("{}/login/", env.issuer())));
    // max_age=0 too, even within the second of the login.
    let r = b
        .get(env.auth_url("spa", "&max_age=0"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&format!("{}/login/", env.issuer())));
    // max_age: the authentication is too old ten minutes later.
    env.clock.advance(Duration::seconds(600));
    let r = b
        .get(env.auth_url("spa", "&max_age=300"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&format!("{}/login/", env.issuer())));

    // The remembered identifier fills the next login form.
    let page = page_at(&b, location(&r)).await;
    assert!(page.contains(&format!("value=\"{}\"", env.idnat.as_str())));

    // Logout without id_token_hint asks for confirmation (CSRF-protected), then ends the
    // session: the next authorization asks the login page again.
    let logout = format!(
        "{}/protocol/openid-connect/logout?client_id=rp&post_logout_redirect_uri={}&state=s2",
        env.issuer(),
        urlencode(LOGOUT_TARGET)
    );
    let page = page_at(&b, &logout).await;
    assert!(page.contains("Voulez-vous vous déconnecter"));
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let forged = b
        .post(format!("{}/protocol/openid-connect/logout", env.issuer()))
        .form(&[("confirm", "1"), ("csrf", "faux")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        200,
        "a forged confirmation only shows the question again"
    );
    let r = b
        .post(format!("{}/protocol/openid-connect/logout", env.issuer()))
        .form(&[
            ("confirm", "1"),
            ("csrf", csrf.as_str()),
            ("client_id", "rp"),
            ("post_logout_redirect_uri", LOGOUT_TARGET),
            ("state", "s2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("{LOGOUT_TARGET}?state=s2"));
    let r = b.get(env.auth_url("spa", "")).send().await.unwrap();
    assert!(location(&r).starts_with(&format!("{}/login/", env.issuer())));
    let r = b
        .get(env.auth_url("spa", "&prompt=none"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).contains("error=login_required"));
    env.db.cleanup().await;
}

async fn psc_03_wrong_code_expiry_and_cancel(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;

    // Wrong pick on the phone: denied, the page says so and offers to start again.
    let b = browser();
    let (login, code) = start_login(&env, &b, "rp").await;
    let wrong = if code == "00" { "01" } else { "00" };
    let pending = env.ecps.pending_for_device(&device).await.unwrap();
    let choice = pending[0]
        .choices
        .iter()
        .find(|c| **c != code)
        .cloned()
        .unwrap_or(wrong.to_string());
    env.ecps
        .answer(&device, &pending[0].id, &choice, PASSWORD)
        .await
        .unwrap();
    let page = page_at(&b, format!("{login}/continue")).await;
    assert!(page.contains("Authentification refusée"), "{page}");
    assert!(page.contains("Recommencer la connexion"));

    // Expiry: 120 s pass on the clock.
    let (login, _) = start_login(&env, &b, "rp").await;
    env.clock.advance(Duration::seconds(121));
    let status: serde_json::Value = json_at(&b, format!("{login}/status")).await;
    assert_eq!(status["status"], "expired");
    let page = page_at(&b, format!("{login}/continue")).await;
    assert!(page.contains("Délai dépassé"), "{page}");

    // "Quitter l'authentification": back to the client with access_denied; the phone no
    // longer shows the request.
    let (login, _) = start_login(&env, &b, "rp").await;
    let page = page_at(&b, format!("{login}/ecps")).await;
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let r = b
        .post(format!("{login}/cancel"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let back = location(&r);
    assert!(
        back.starts_with(&format!("{REDIRECT}?error=access_denied")),
        "{back}"
    );
    assert!(back.contains("state=etat-1"));
    assert!(env
        .ecps
        .pending_for_device(&device)
        .await
        .unwrap()
        .is_empty());
    env.db.cleanup().await;
}

async fn psc_02_bad_requests_and_foreign_browsers(dialect: Dialect) {
    let env = env(dialect).await;
    let b = browser();
    let auth = format!("{}/protocol/openid-connect/auth", env.issuer());

    // Unknown client or unregistered redirect URI: a page, never a redirect.
    for query in [
        format!(
            "client_id=inconnu&redirect_uri={}&response_type=code&scope=openid",
            urlencode(REDIRECT)
        ),
        "client_id=rp&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid"
            .to_string(),
    ] {
        let r = b.get(format!("{auth}?{query}")).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
    }
    // Once the redirect URI is trusted, errors go back to the client.
    let cases = [
        ("spa", "response_type=code&scope=openid", "PKCE"),
        (
            "rp",
            "response_type=token&scope=openid",
            "unsupported_response_type",
        ),
        ("rp", "response_type=code&scope=profile", "invalid_scope"),
        (
            "rp",
            "response_type=code&scope=openid&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
        ),
    ];
    for (client, query, expected) in cases {
        let r = b
            .get(format!(
                "{auth}?client_id={client}&redirect_uri={}&state=z&{query}",
                urlencode(REDIRECT)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let to = location(&r);
        assert!(to.starts_with(REDIRECT), "{to}");
        assert!(to.contains("state=z") && to.contains("iss="), "{to}");
        assert!(
            to.contains(expected) || to.contains(&urlencode(expected)),
            "{expected} in {to}"
        );
    }
    // A parameter given twice.
    let r = b
        .get(format!("{auth}?client_id=rp&client_id=spa"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The login page: bad identifiers get a French message; unknown professionals and
    // e-CPS not activated say what to do.
    let r = b.get(env.auth_url("rp", "")).send().await.unwrap();
    let login = location(&r);
    let page = page_at(&b, &login).await;
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let post = |identifier: &str, csrf: &str| {
        b.post(&login)
            .form(&[
                ("csrf", csrf),
                ("identifier_type", "rpps"),
                ("identifier", identifier),
            ])
            .send()
    };
    let r = post("123", &csrf).await.unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("11 chiffres"),
        "{page}"
    );
    let other = IdNatPs::from(Rpps::from_payload("1999990009").unwrap());
    let page = post(other.number(), &csrf)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Aucun professionnel de santé ne correspond"),
        "{page}"
    );
    let page = post(env.idnat.number(), &csrf)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("pas encore activé votre e-CPS"), "{page}");
    assert!(page.contains("caducee ecps activate"));
    // Without the CSRF token: refused.
    let r = post(env.idnat.number(), "faux").await.unwrap();
    assert_eq!(r.status(), 403);

    // Another browser cannot use this flow (a stolen link is worthless).
    let thief = browser();
    let r = thief.get(&login).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = thief.get(format!("{login}/continue")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Locked e-CPS: the login page says to reactivate.
    let device = activate(&env).await;
    sqlx::query("UPDATE ecps_device SET locked = 1 WHERE id = $1")
        .bind(&device)
        .execute(env.db.store.pool())
        .await
        .unwrap();
    let page = post(env.idnat.number(), &csrf)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("verrouillée"), "{page}");
    env.db.cleanup().await;
}

on_both_engines! {
    psc_03_login_code_sso_and_logout => psc_03_login_code_sso_and_logout;
    psc_03_wrong_code_expiry_and_cancel => psc_03_wrong_code_expiry_and_cancel;
    psc_02_bad_requests_and_foreign_browsers => psc_02_bad_requests_and_foreign_browsers;
}

#[path = "browser/requests.rs"]
mod requests;
