//! The web authenticator (`/ecps`, PSC-03, PSC-04) through real HTTP: the component's router
//! (what `web` mounts) on an ephemeral port over a real database (SQLite and PostgreSQL).
//! The page is on the page kit, in French or English, loads its script as a file (no inline
//! script), names the public URL its proofs are bound to, links an installable manifest;
//! the password meter answers without storing anything. The device API the script speaks is
//! tested in `api.rs`, and the whole journey in Chromium in `tests/js/test/ecps-web.test.js`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use caducee_core::clock::ManualClock;
use caducee_ecps_server::migrations;
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use serde_json::Value;
use time::macros::datetime;

/// The router on an ephemeral port; `public` is the URL the device proofs are bound to.
async fn start(dialect: Dialect, public: &str) -> (TestDb, String) {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        public,
    ));
    let app = caducee_ecps_server::router(ecps, public);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (db, base)
}

on_both_engines! {
    psc_04_the_web_authenticator_page_is_served_in_french_with_its_script_as_a_file => page;
    psc_04_the_web_authenticator_is_an_installable_app => installable;
    psc_04_the_password_meter_of_the_web_authenticator => meter;
}

async fn page(dialect: Dialect) {
    let (_db, base) = start(dialect, "https://caducee.example/").await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/ecps"))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("<h1>Mon e-CPS</h1>"), "{html}");
    assert!(html.contains("Activer mon e-CPS"), "{html}");
    assert!(html.contains("Il vous reste"), "the countdown's words");
    // The proofs are bound to the public URL, not to the address the page was reached by.
    assert!(
        html.contains("data-server=\"https://caducee.example\""),
        "{html}"
    );
    // Every script is a file of this origin; none inline.
    assert!(html.contains("<script src=\"/ecps/ecps.js\"></script>"));
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/").count(),
        "no inline script"
    );
    for field in [
        "id=\"identifier\"",
        "id=\"email_code\"",
        "id=\"sms_code\"",
        "id=\"password\"",
        "id=\"password_confirmation\"",
        "id=\"request_password\"",
        "autocomplete=\"one-time-code\"",
        "autocomplete=\"new-password\"",
    ] {
        assert!(html.contains(field), "{field} in the page");
    }

    let js = http
        .get(format!("{base}/ecps/ecps.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let js = js.text().await.unwrap();
    // The same proof as the CLI's, by a key WebCrypto will not let out.
    for needle in [
        "typ: \"ecps-proof+jwt\"",
        "alg: \"ES256\"",
        "namedCurve: \"P-256\" }, false, [\"sign\"]",
        "/ecps/api/v1",
        "indexedDB",
    ] {
        assert!(js.contains(needle), "{needle} in ecps.js");
    }

    let en = http
        .get(format!("{base}/ecps"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<h1>My e-CPS</h1>"), "{en}");
}

async fn installable(dialect: Dialect) {
    let (_db, base) = start(dialect, "http://127.0.0.1:1").await;
    let http = reqwest::Client::new();
    let html = http
        .get(format!("{base}/ecps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<link rel=\"manifest\" href=\"/ecps/manifest.webmanifest\">"));
    let r = http
        .get(format!("{base}/ecps/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["display"], "standalone");
    assert_eq!(m["start_url"], "/ecps");
    assert_eq!(m["lang"], "fr");
    let icon = m["icons"][0]["src"].as_str().unwrap();
    let r = http.get(format!("{base}{icon}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().starts_with("<svg"));
}

async fn meter(dialect: Dialect) {
    let (_db, base) = start(dialect, "http://127.0.0.1:1").await;
    let http = reqwest::Client::new();
    let ask = |pw: &'static str| {
        let http = http.clone();
        let url = format!("{base}/ecps/force-mot-de-passe");
        async move {
            let r = http
                .post(url)
                .header("accept-language", "fr")
                .form(&[("mot_de_passe", pw), ("csrf", ""), ("flow", "")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["cache-control"], "no-store");
            r.json::<Value>().await.unwrap()
        }
    };
    let empty = ask("").await;
    assert_eq!(empty["level"], Value::Null);
    assert_eq!(empty["rules"][0]["met"], false);
    assert_eq!(empty["rules"][0]["text"], "8 caractères ou plus");
    let weak = ask("azerty").await;
    assert_eq!(weak["level"], 0);
    assert_eq!(weak["label"], "Faible");
    assert_eq!(weak["rules"][0]["met"], false);
    let strong = ask("mon e-CPS dans le navigateur").await;
    assert_eq!(strong["level"], 2, "{strong}");
    assert_eq!(strong["label"], "Fort");
    assert_eq!(strong["rules"][0]["met"], true);
}
