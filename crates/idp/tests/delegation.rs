//! Délégation (PSC-08) against a real upstream OpenID Connect provider started here
//! (`tests/js/lib/delegation-provider.mjs`: panva's oidc-provider, a child process on a free
//! port, its own login and consent pages driven over HTTP as a browser would). The browser
//! is reqwest with a cookie store, redirects not followed so each step is seen; the phone is
//! the e-CPS server's API. On SQLite and on PostgreSQL:
//!
//! - the first login through the provider asks for the pairing, an e-CPS login in the same
//!   flow stores it; a later login goes through the provider alone (`kc_idp_hint`), its
//!   tokens say `authMode` DELEGATION, `acr` eidas1 and the upstream-derived `amr`;
//!   the pairing is listed and removed on the account page;
//! - a provider's login by password alone is refused (French page, `access_denied` back
//!   to the relying party), paired or not;
//! - a forged, replayed or foreign `state`, and an ID token of another nonce, are refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use caducee_core::clock::ManualClock;
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_ecps_server::EcpsServer;
use caducee_idp::delegation::DelegationProvider;
use caducee_idp::{Idp, IdpConfig};
use caducee_registry::queries::{set_contact, ContactUpdate};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use reqwest::redirect::Policy;
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;

const PASSWORD: &str = "mot de passe e-CPS";
const REDIRECT: &str = "https://rp.example/cb";
const RP_SECRET: &str = "un secret de client de test assez long, 48 octets";
const CHALLENGE: &str = "sOuPaCK5lOby_NZ6QlHdom4ejU4JmpFIdoW4MspLZjs";
const VERIFIER: &str = "verificateur-pkce-des-tests-de-la-carte-cps-0123456789";
const UPSTREAM_CLIENT: &str = "caducee-test";
const UPSTREAM_SECRET: &str = "secret-du-client-caducee-chez-le-fournisseur-de-l-etablissement";
const PROVIDER: &str = "chu";
const PROVIDER_NAME: &str = "CHU de test";

/// The upstream provider, killed when dropped.
struct Upstream {
    child: std::process::Child,
    issuer: String,
}

impl Drop for Upstream {
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

async fn upstream(callback: &str) -> Upstream {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/js/lib/delegation-provider.mjs"
    );
    let port = free_port();
    let mut child = std::process::Command::new("node")
        .arg(script)
        .args(["--port", &port.to_string()])
        .args(["--client-id", UPSTREAM_CLIENT])
        .args(["--client-secret", UPSTREAM_SECRET])
        .args(["--redirect-uri", callback])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("node (tests/js: npm ci)");
    let stdout = child.stdout.take().unwrap();
    let issuer = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if let Some(i) = line.unwrap_or_default().strip_prefix("ISSUER=") {
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
    Upstream { child, issuer }
}

struct Env {
    db: TestDb,
    idp: Idp,
    ecps: Arc<EcpsServer>,
    base: String,
    idnat: IdNatPs,
    upstream: Upstream,
    clock: ManualClock,
}

impl Env {
    fn auth_url(&self, extra: &str) -> String {
        format!(
            "{}/protocol/openid-connect/auth?response_type=code&client_id=rp\
             &redirect_uri={}&scope=openid%20scope_all&state=etat-1&nonce=n-1\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&acr_values=eidas1{extra}",
            self.idp.issuer(),
            urlencode(REDIRECT)
        )
    }

    fn callback(&self) -> String {
        format!("{}/broker/{PROVIDER}/endpoint", self.idp.issuer())
    }
}

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
    // The provider checks its tokens against the real time: the clock starts now.
    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{base}/auth/realms/esante-wallet/broker/{PROVIDER}/endpoint");
    let upstream = upstream(&callback).await;
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        &base,
    ));
    let provider = DelegationProvider {
        id: PROVIDER.into(),
        name: PROVIDER_NAME.into(),
        issuer: upstream.issuer.clone(),
        client_id: UPSTREAM_CLIENT.into(),
        client_secret: UPSTREAM_SECRET.into(),
    };
    assert_eq!(provider.callback_url(&base), callback);
    let idp = Idp::start(
        db.store.clone(),
        clock.shared(),
        &base,
        IdpConfig {
            delegations: vec![provider],
            ..IdpConfig::default()
        },
        ecps.clone(),
        b"secret d'instance des tests de la delegation",
    )
    .await
    .unwrap();
    idp.upsert_client(
        caducee_idp::ClientSpec {
            client_id: "rp".into(),
            name: "Application rp".into(),
            secret: Some(RP_SECRET.into()),
            redirect_uris: vec![REDIRECT.into()],
            grants: vec!["authorization_code".into()],
            ..caducee_idp::ClientSpec::default()
        },
        "operator:test",
    )
    .await
    .unwrap();
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
        idp,
        ecps,
        base,
        idnat,
        upstream,
        clock,
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

fn location(r: &reqwest::Response) -> String {
    let loc = r
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap();
    r.url().join(loc).unwrap().to_string()
}

/// The value of `attr="…"` after `marker` in a page, HTML entities of URLs undone.
fn html_value(page: &str, marker: &str) -> String {
    let rest = &page[page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"))
        + marker.len()..];
    rest.split('"').next().unwrap().replace("&amp;", "&")
}

/// From `url` (the provider's authorization URL, or our start link) through the provider's
/// login (account `sub`) and consent pages, up to the redirect to our callback.
async fn upstream_login(b: &reqwest::Client, env: &Env, url: &str, sub: &str) -> String {
    let mut url = url.to_string();
    for _ in 0..12 {
        if url.starts_with(&env.callback()) {
            return url;
        }
        let r = b.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            url = location(&r);
            continue;
        }
        let here = r.url().clone();
        let page = r.text().await.unwrap();
        let action = here.join(&html_value(&page, "action=\"")).unwrap();
        let r = if page.contains("id=\"idp-login\"") {
            b.post(action).form(&[("login", sub)]).send().await.unwrap()
        } else {
            assert!(page.contains("id=\"idp-consent\""), "{page}");
            b.post(action).send().await.unwrap()
        };
        assert!(r.status().is_redirection(), "{}", r.text().await.unwrap());
        url = location(&r);
    }
    panic!("no redirect to the callback");
}

/// The login flow up to the tab's link to the provider: (login page URL, link).
async fn start_by_tab(env: &Env, b: &reqwest::Client) -> (String, String) {
    let r = b.get(env.auth_url("")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login = location(&r);
    let page = b
        .get(format!("{login}?tab=delegation"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Se connecter avec {PROVIDER_NAME}")),
        "{page}"
    );
    let link = html_value(&page, "class=\"bouton\" href=\"");
    assert!(
        link.contains(&format!("/broker/{PROVIDER}/login?flow=")),
        "{link}"
    );
    (login, link)
}

fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The query of the redirect to the relying party.
fn back_to_rp(r: &reqwest::Response) -> HashMap<String, String> {
    let back = url::Url::parse(&location(r)).unwrap();
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    back.query_pairs().into_owned().collect()
}

/// The code exchanged: (ID token claims, access token claims).
async fn tokens(env: &Env, code: &str) -> (serde_json::Value, serde_json::Value) {
    let t: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/protocol/openid-connect/token",
            env.idp.issuer()
        ))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", "rp"),
            ("client_secret", RP_SECRET),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = jwt_claims(t["id_token"].as_str().unwrap_or_else(|| panic!("{t}")));
    let access = jwt_claims(t["access_token"].as_str().unwrap());
    (id, access)
}

/// The e-CPS login on the page of `login`, the phone approving: the final response.
async fn ecps_login(
    env: &Env,
    b: &reqwest::Client,
    login: &str,
    device: &str,
) -> reqwest::Response {
    let page = b.get(login).send().await.unwrap().text().await.unwrap();
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let r = b
        .post(login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier_type", "rpps"),
            ("identifier", env.idnat.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let waiting = b
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = waiting.find("id=\"code-ecps\">").expect("the code") + "id=\"code-ecps\">".len();
    let code = &waiting[start..start + 2];
    let pending = env.ecps.pending_for_device(device).await.unwrap();
    let req = pending.first().expect("a pending request on the phone");
    env.ecps
        .answer(device, &req.id, code, PASSWORD)
        .await
        .unwrap();
    b.get(format!("{login}/continue")).send().await.unwrap()
}

async fn psc_08_pairing_then_later_logins_through_the_provider_alone(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;

    // First login: the tab's link, the provider's pages, back on the callback.
    let b = browser();
    let (login, link) = start_by_tab(&env, &b).await;
    let callback = upstream_login(&b, &env, &link, "agent-mfa").await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), format!("{login}?tab=delegation"));
    // Not paired yet: the tab says to log in once by e-CPS or card.
    let page = b
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Première connexion avec {PROVIDER_NAME}")),
        "{page}"
    );
    assert!(page.contains("Confirmer avec l'application e-CPS"));
    assert!(
        caducee_idp::delegation::pairings_of(&env.idp, env.idnat.as_str())
            .await
            .unwrap()
            .is_empty()
    );
    // The e-CPS login of the same flow pairs the account and ends the flow.
    let r = ecps_login(&env, &b, &login, &device).await;
    assert_eq!(r.status(), 303);
    let q = back_to_rp(&r);
    assert_eq!(q["state"], "etat-1");
    let (id, access) = tokens(&env, &q["code"]).await;
    assert_eq!(access["authMode"], "MOBILE", "{access}");
    assert_eq!(id["acr"], "eidas1");
    let pairings = caducee_idp::delegation::pairings_of(&env.idp, env.idnat.as_str())
        .await
        .unwrap();
    assert_eq!(pairings.len(), 1, "{pairings:?}");
    assert_eq!(pairings[0].provider_id, PROVIDER);
    assert_eq!(pairings[0].upstream_sub, "agent-mfa");
    assert_eq!(pairings[0].paired_by, "MOBILE");

    // Later, another browser: kc_idp_hint goes straight to the provider, and the provider
    // alone logs in.
    let b2 = browser();
    let r = b2
        .get(env.auth_url("&kc_idp_hint=chu"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let upstream_auth = location(&r);
    assert!(
        upstream_auth.starts_with(&env.upstream.issuer),
        "{upstream_auth}"
    );
    let u = url::Url::parse(&upstream_auth).unwrap();
    let p: HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(p["code_challenge_method"], "S256");
    assert!(p["nonce"].len() >= 32 && p["state"].len() >= 32);
    assert_eq!(p["redirect_uri"], env.callback());
    let callback = upstream_login(&b2, &env, &upstream_auth, "agent-mfa").await;
    let r = b2.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let q = back_to_rp(&r);
    assert_eq!(q["state"], "etat-1");
    let (id, access) = tokens(&env, &q["code"]).await;
    assert_eq!(access["authMode"], "DELEGATION", "{access}");
    assert_eq!(id["acr"], "eidas1");
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]), "{id}");
    assert_eq!(id["nonce"], "n-1");
    // The callback's state is used once.
    let again = b2.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("Lien de connexion invalide"));

    // The account page lists the pairing; removing it makes the next login a first one.
    let page = b2
        .get(format!("{}/account", env.idp.issuer()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(PROVIDER_NAME), "{page}");
    assert!(page.contains("Retirer l'association"));
    let pairing = html_value(&page, "name=\"pairing\" value=\"");
    let csrf = {
        let at = page.find("name=\"pairing\"").unwrap();
        let before = &page[..at];
        let m = before.rfind("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
        before[m..].split('"').next().unwrap().to_string()
    };
    let forged = b2
        .post(format!("{}/account/delegations/remove", env.idp.issuer()))
        .form(&[("csrf", "faux"), ("pairing", pairing.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let r = b2
        .post(format!("{}/account/delegations/remove", env.idp.issuer()))
        .form(&[("csrf", csrf.as_str()), ("pairing", pairing.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        caducee_idp::delegation::pairings_of(&env.idp, env.idnat.as_str())
            .await
            .unwrap()
            .is_empty()
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action IN ('idp.delegation.paired', 'idp.delegation.unpaired')",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let b3 = browser();
    let r = b3
        .get(env.auth_url("&kc_idp_hint=chu"))
        .send()
        .await
        .unwrap();
    let callback = upstream_login(&b3, &env, &location(&r), "agent-mfa").await;
    let r = b3.get(&callback).send().await.unwrap();
    assert!(
        location(&r).ends_with("?tab=delegation"),
        "{}",
        location(&r)
    );
    assert!(env.base.starts_with("http://"));
}

async fn psc_08_a_password_alone_is_refused(dialect: Dialect) {
    let env = env(dialect).await;
    let b = browser();
    let (_, link) = start_by_tab(&env, &b).await;
    let callback = upstream_login(&b, &env, &link, "agent-pwd").await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Niveau d'authentification insuffisant"),
        "{page}"
    );
    assert!(page.contains("Retourner au service"));
    // The link back tells the relying party, as Keycloak would.
    let back = html_value(&page, &format!("href=\"{REDIRECT}"));
    let back = url::Url::parse(&format!("{REDIRECT}{back}")).unwrap();
    let q: HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "etat-1");
    assert_eq!(q["iss"], env.idp.issuer());
    // Nothing was paired, and the flow is over.
    assert!(
        caducee_idp::delegation::pairings_of(&env.idp, env.idnat.as_str())
            .await
            .unwrap()
            .is_empty()
    );
    // Even paired, a password alone stays too weak: pair agent-pwd by hand…
    sqlx::query(
        "INSERT INTO idp_delegation_pairing (id, provider_id, upstream_sub, idnat, paired_by, created_at)
         VALUES ('p1', 'chu', 'agent-pwd', $1, 'MOBILE', 0)",
    )
    .bind(env.idnat.as_str())
    .execute(env.db.store.pool())
    .await
    .unwrap();
    let b2 = browser();
    let r = b2
        .get(env.auth_url("&kc_idp_hint=chu"))
        .send()
        .await
        .unwrap();
    let callback = upstream_login(&b2, &env, &location(&r), "agent-pwd").await;
    let r = b2.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

async fn psc_08_forged_state_and_nonce_refused(dialect: Dialect) {
    let env = env(dialect).await;
    let b = browser();
    // A state nobody issued.
    let r = b
        .get(format!("{}?code=abc&state=forge", env.callback()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Lien de connexion invalide"));
    // A state of another browser's flow: the flow is not this browser's.
    let (_, link) = start_by_tab(&env, &b).await;
    let callback = upstream_login(&b, &env, &link, "agent-mfa").await;
    let stranger = browser();
    let r = stranger.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 404, "{}", r.text().await.unwrap());
    // … and that state is spent.
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // An ID token for another nonce than the one sent: the provider was asked with a
    // nonce changed on the way.
    let (_, link) = start_by_tab(&env, &b).await;
    let r = b.get(&link).send().await.unwrap();
    let mut upstream_auth = url::Url::parse(&location(&r)).unwrap();
    let pairs: Vec<(String, String)> = upstream_auth
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "nonce" {
                (k, format!("{v}-autre"))
            } else {
                (k, v)
            }
        })
        .collect();
    upstream_auth.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = upstream_login(&b, &env, upstream_auth.as_str(), "agent-mfa").await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("La connexion par délégation n'a pas abouti"));
    // An unknown hint shows the login page, as Keycloak does.
    let r = browser()
        .get(env.auth_url("&kc_idp_hint=inconnu"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&format!("{}/login/", env.idp.issuer())));
    let refused: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'idp.delegation.refused'",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert!(refused >= 3, "{refused}");
    // An upstream login never finished is deleted by the housekeeping after its expiry.
    let (_, link) = start_by_tab(&env, &b).await;
    assert_eq!(b.get(&link).send().await.unwrap().status(), 303);
    assert_eq!(
        caducee_idp::delegation::housekeeping(&env.idp)
            .await
            .unwrap(),
        0
    );
    env.clock.advance(time::Duration::seconds(
        caducee_idp::delegation::ATTEMPT_TTL_SECS + 1,
    ));
    assert_eq!(
        caducee_idp::delegation::housekeeping(&env.idp)
            .await
            .unwrap(),
        1
    );
}

#[test]
fn psc_08_providers_validated_at_start() {
    let ok = DelegationProvider {
        id: "chu-nord".into(),
        name: "CHU Nord".into(),
        issuer: "https://idp.chu-nord.example/realms/pro".into(),
        client_id: "caducee".into(),
        client_secret: "s".into(),
    };
    assert!(caducee_idp::delegation::validate(std::slice::from_ref(&ok)).is_ok());
    let twice = caducee_idp::delegation::validate(&[ok.clone(), ok.clone()]).unwrap_err();
    assert!(twice.contains("deux fois"), "{twice}");
    let bad_id = DelegationProvider {
        id: "chu nord".into(),
        ..ok.clone()
    };
    assert!(caducee_idp::delegation::validate(&[bad_id]).is_err());
    let plain = DelegationProvider {
        issuer: "http://idp.example".into(),
        ..ok.clone()
    };
    assert!(caducee_idp::delegation::validate(&[plain])
        .unwrap_err()
        .contains("https"));
    let local = DelegationProvider {
        issuer: "http://127.0.0.1:4466".into(),
        ..ok.clone()
    };
    assert!(caducee_idp::delegation::validate(&[local]).is_ok());
    let no_secret = DelegationProvider {
        client_secret: " ".into(),
        ..ok
    };
    assert!(caducee_idp::delegation::validate(&[no_secret]).is_err());
}

on_both_engines! {
    psc_08_pairing_then_later_login_through_the_provider_alone => psc_08_pairing_then_later_logins_through_the_provider_alone;
    psc_08_too_weak_amr_refused => psc_08_a_password_alone_is_refused;
    psc_08_state_and_nonce_forgery_refused => psc_08_forged_state_and_nonce_refused;
}
