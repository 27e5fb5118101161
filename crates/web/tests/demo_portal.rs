//! The demo portal end to end through the real identity provider (PSC-01, PSC-02, PSC-03):
//! the whole application on an ephemeral port (web router, idp, e-CPS device API, portals),
//! the demo registry and personas, a browser with a cookie store (reqwest), and the phone
//! played by the e-CPS authenticator library (`caducee_ecps::EcpsClient`) on the real device
//! API. The portal is a real OIDC client over HTTP (the `openidconnect` crate): this is the
//! issue's "openidconnect does the code flow in Rust tests".
//!
//! The clock is a `ManualClock` set to the system time, because the authenticator signs its
//! device proofs with the system clock, as a real phone does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use caducee_core::clock::{Clock, ManualClock, SystemClock};
use caducee_ecps::{DeviceClient, EcpsClient};
use caducee_idp::{ClientSpec, Idp, IdpConfig};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};

const INSTANCE_SECRET: &[u8] = b"instance secret of the demo portal tests, 32+ bytes";

const PASSWORD: &str = "mot de passe e-CPS";
const JULIE_RPPS: &str = "19999900012";
const JULIE_IDNAT: &str = "819999900012";
const REALM: &str = "/auth/realms/esante-wallet";

struct App {
    db: TestDb,
    base: String,
    idp: Idp,
    browser: reqwest::Client,
}

/// The whole application, as `serve --demo` assembles it, on an ephemeral port.
async fn start(dialect: Dialect) -> App {
    let db = TestDb::new(dialect).await;
    let store = db.store.clone();
    store.migrate(&caducee_idp::migrations()).await.unwrap();
    store.migrate(caducee_portals::MIGRATIONS).await.unwrap();
    let clock = ManualClock::new(SystemClock.now());
    caducee_registry::demo::seed(&store, &clock).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let waker = caducee_notify::Waker::new();
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        store.clone(),
        clock.shared(),
        waker.clone(),
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

    // What `serve --demo` does: register the demo portal's client at the provider.
    let portals =
        caducee_portals::Portals::new(store.clone(), clock.shared(), &base, INSTANCE_SECRET)
            .unwrap();
    let r = portals.client_registration(&caducee_portals::config::demo());
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
        "system:demo",
    )
    .await
    .unwrap();

    let state = caducee_web::AppState::new(store, clock.shared(), base.clone(), true, waker, ecps)
        .with_idp(idp.clone())
        .with_portals(portals);
    let app = caducee_web::router(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    App {
        db,
        base,
        idp,
        browser: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .unwrap(),
    }
}

/// The phone: activates Julie Martin's e-CPS through the device API, codes read from the
/// outbox as the demo's `/dev/outbox` shows them.
async fn phone(app: &App) -> DeviceClient {
    let client = EcpsClient::new(&app.base).unwrap();
    let started = client.start_activation(JULIE_RPPS).await.unwrap();
    let (email_code, sms_code) =
        caducee_ecps_server::testkit::activation_codes(&app.db.store).await;
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
    client.device(&device.device_id, &key)
}

impl App {
    async fn get(&self, url: &str) -> (u16, String, String) {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let r = self.browser.get(url).send().await.unwrap();
        let status = r.status().as_u16();
        let final_url = r.url().to_string();
        (status, final_url, r.text().await.unwrap())
    }

    /// "Se connecter avec Pro Santé Connect" → the provider's login page → RPPS typed →
    /// the waiting page; the phone approves the code shown; the page continues → back on
    /// the portal. Returns the portal's page.
    async fn login_with_ecps(&self, device: &DeviceClient) -> String {
        let (status, login_url, page) = self.get("/espaces/demo/login").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            login_url.starts_with(&format!("{}{REALM}/login/", self.base)),
            "{login_url}"
        );
        assert!(page.contains("Application e-CPS"), "{page}");
        let csrf = attribute_after(&page, "name=\"csrf\"", "value");
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
        assert!(waiting_url.ends_with("/ecps"), "{waiting_url}: {waiting}");
        let code = between(&waiting, "<strong id=\"code-ecps\">", "</strong>");
        assert_eq!(code.len(), 2, "{waiting}");
        assert!(waiting.contains("secondes pour valider votre demande d'authentification"));

        // The phone: the pending request names the portal's service, offers the code.
        let pending = device.pending(10).await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert!(pending[0].choices.contains(&code), "{pending:?} / {code}");
        let outcome = device
            .answer(&pending[0].id, &code, PASSWORD)
            .await
            .unwrap();
        assert_eq!(outcome.outcome, "approved");

        // The waiting page's script would now go to …/continue.
        let flow = waiting_url.trim_end_matches("/ecps");
        let (status, url, page) = self.get(&format!("{flow}/continue")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(url, format!("{}/espaces/demo", self.base));
        page
    }
}

/// The value of attribute `attr` of the first element after `marker`.
fn attribute_after(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[at..];
    between(rest, &format!("{attr}=\""), "\"")
}

fn between(s: &str, start: &str, end: &str) -> String {
    let a = s.find(start).unwrap_or_else(|| panic!("{start} in {s}")) + start.len();
    let b = s[a..].find(end).unwrap_or_else(|| panic!("{end} in {s}")) + a;
    s[a..b].to_string()
}

on_both_engines! {
    psc_01_demo_persona_logs_into_the_demo_portal_with_ecps_through_openidconnect => e2e_login_logout;
    psc_02_provider_logout_reaches_the_portal_by_backchannel => e2e_backchannel;
}

async fn e2e_login_logout(dialect: Dialect) {
    let app = start(dialect).await;
    let device = phone(&app).await;
    let (status, _, page) = app.get("/espaces/demo").await;
    assert_eq!(status, 200);
    assert!(page.contains("Se connecter avec Pro Santé Connect"));

    let page = app.login_with_ecps(&device).await;
    for expected in [
        "Vous êtes connecté(e) avec Pro Santé Connect",
        "Julie",
        "MARTIN",
        JULIE_IDNAT,
        JULIE_RPPS,
        "Médecin (10)",
        "MOBILE (niveau eidas1)",
        // The claims received, pretty-printed and escaped.
        "&quot;acr&quot;: &quot;eidas1&quot;",
        "&quot;SubjectRefPro&quot;",
        "&quot;authMode&quot;: &quot;MOBILE&quot;",
    ] {
        assert!(page.contains(expected), "{expected} missing in {page}");
    }

    // Logout: the portal, then the provider (RP-initiated), then back with the state.
    let r = app
        .browser
        .post(format!("{}/espaces/demo/logout", app.base))
        .send()
        .await
        .unwrap();
    let url = r.url().to_string();
    let page = r.text().await.unwrap();
    assert!(
        url.starts_with(&format!("{}/espaces/demo?state=", app.base)),
        "{url}: {page}"
    );
    assert!(page.contains("Vous êtes déconnecté(e)"), "{page}");
    // The SSO session is over too: logging in again asks for the e-CPS again.
    let (_, url, _) = app.get("/espaces/demo/login").await;
    assert!(url.contains(&format!("{REALM}/login/")), "{url}");
    app.db.cleanup().await;
}

async fn e2e_backchannel(dialect: Dialect) {
    let app = start(dialect).await;
    let device = phone(&app).await;
    let page = app.login_with_ecps(&device).await;
    assert!(page.contains(JULIE_IDNAT));
    let sid = between(&page, "&quot;sid&quot;: &quot;", "&quot;");

    // The provider ends the SSO session (as its end-session endpoint does for another
    // application's logout): it calls the portal's back-channel logout URI.
    app.idp.end_session(&sid).await.unwrap();
    let mut logged_out = false;
    for _ in 0..50 {
        let (_, _, page) = app.get("/espaces/demo").await;
        if page.contains("Se connecter avec Pro Santé Connect") {
            logged_out = true;
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert!(
        logged_out,
        "the back-channel logout did not end the portal session"
    );
    app.db.cleanup().await;
}
