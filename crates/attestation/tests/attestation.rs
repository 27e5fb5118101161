//! REG-08: attestations of RPPS registration, on both engines: the PDF read back by
//! poppler's `pdftotext`, the signed content read back out of the PDF, the public check at
//! `/verifier/{code}` (genuine and current, then no longer current, unknown code, rate
//! limit) and the JWKS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caducee_attestation::{check, pdf, Attestations};
use caducee_core::clock::{Clock, ManualClock};
use caducee_core::source::ClientSource;
use caducee_pages::Locale;
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use time::macros::datetime;
use tower::ServiceExt;

const SECRET: &[u8] = b"attestation tests instance secret, 32+";
const PUBLIC_URL: &str = "https://caducee.example.test";

struct World {
    db: TestDb,
    clock: ManualClock,
    att: Attestations,
    /// Julie Martin, médecin.
    idnat: String,
    rpps: String,
}

async fn world(dialect: Dialect) -> World {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    db.store
        .migrate(caducee_attestation::MIGRATIONS)
        .await
        .unwrap();
    let clock = ManualClock::new(datetime!(2026-12-01 09:30 UTC));
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let julie = caducee_registry::generate::demo_personas()
        .into_iter()
        .find(|p| p.last_name == "Martin")
        .unwrap();
    let att = Attestations::new(db.store.clone(), clock.shared(), PUBLIC_URL, SECRET).unwrap();
    World {
        db,
        clock,
        att,
        idnat: julie.idnat,
        rpps: julie.rpps,
    }
}

/// The text of a PDF as poppler's `pdftotext` reads it (Debian's poppler-utils).
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attestation.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils) must be installed: scripts/test installs it");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn get(att: &Attestations, path: &str, from: &str) -> (StatusCode, String) {
    let mut req = Request::get(path)
        .header("accept-language", "fr-FR,fr;q=0.9")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ClientSource::new(from.parse().unwrap()));
    let r = caducee_attestation::router(att.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn reg_08_the_pdf_states_the_name_number_professions_and_carries_its_signature(
    dialect: Dialect,
) {
    let w = world(dialect).await;
    let issued = w
        .att
        .issue(&w.idnat, &format!("ps:{}", w.idnat), Locale::Fr)
        .await
        .unwrap();
    assert!(issued.pdf.starts_with(b"%PDF-"));
    if let Ok(keep) = std::env::var("CADUCEE_KEEP_ATTESTATION") {
        std::fs::write(format!("{keep}-{dialect:?}.pdf"), &issued.pdf).unwrap();
    }
    assert_eq!(
        issued.file_name(),
        format!("attestation-rpps-{}.pdf", w.rpps)
    );
    let text = pdftotext(&issued.pdf);
    for expected in [
        "Attestation d'enregistrement au RPPS",
        "Julie",
        "Martin",
        &format!("Numéro RPPS : {}", w.rpps),
        &format!("Identifiant national (idNat_PS) : {}", w.idnat),
        "Médecin",
        "Délivrée le 01/12/2026 à 10:30",
        &caducee_attestation::code::grouped(&issued.code),
    ] {
        assert!(
            text.to_lowercase().contains(&expected.to_lowercase()),
            "{dialect:?}: « {expected} » missing from the PDF's text:\n{text}"
        );
    }
    // The signed content comes back out of the PDF and checks with the instance's keys.
    let jws = pdf::extract(&issued.pdf).unwrap();
    let verdict = check(&jws, &w.att.jwks(), Some(&w.db.store)).await.unwrap();
    assert!(verdict.genuine(), "{dialect:?}: {verdict:?}");
    let a = verdict.attested.unwrap();
    assert_eq!(a, issued.attested);
    assert_eq!(a.identifier, w.rpps);
    assert_eq!(a.professions, vec!["Médecin".to_string()]);
    assert_eq!(a.issued_at, w.clock.unix());
    assert_eq!(verdict.current, Some(true));
    // Another instance's keys do not recognise it.
    let other = Attestations::new(
        w.db.store.clone(),
        w.clock.shared(),
        PUBLIC_URL,
        b"another instance's secret, long enough",
    )
    .unwrap();
    let forged = check(&jws, &other.jwks(), None).await.unwrap();
    assert!(!forged.genuine());
    // Issued once, audited once, for the professional.
    let events = caducee_store::audit::events_for(&w.db.store, &w.idnat)
        .await
        .unwrap();
    let issued_events: Vec<_> = events
        .iter()
        .filter(|e| e.action == "attestation.issued")
        .collect();
    assert_eq!(issued_events.len(), 1, "{dialect:?}");
    assert_eq!(issued_events[0].actor, format!("ps:{}", w.idnat));
    assert!(issued_events[0].details.contains(&issued.code));
    // Not a PDF, or a PDF without the signed content.
    assert!(pdf::extract(b"not a pdf").is_err());
    // An unknown professional gets no attestation.
    assert!(w
        .att
        .issue("810000000000", "ps:x", Locale::Fr)
        .await
        .is_err());
    w.db.cleanup().await;
}

async fn reg_08_verifier_says_genuine_and_current_then_no_longer_current(dialect: Dialect) {
    let w = world(dialect).await;
    let issued = w.att.issue(&w.idnat, "ps:test", Locale::Fr).await.unwrap();
    let path = format!("/verifier/{}", issued.code);
    let (status, body) = get(&w.att, &path, "192.0.2.10").await;
    assert_eq!(status, StatusCode::OK, "{dialect:?}: {body}");
    assert!(body.contains("Attestation authentique"), "{body}");
    assert!(
        body.contains("toujours en cours aujourd&#39;hui")
            || body.contains("toujours en cours aujourd'hui"),
        "{body}"
    );
    assert!(body.contains(&w.rpps));
    assert!(body.contains("Médecin"));
    assert!(body.contains("Julie"));
    assert!(body.contains("01/12/2026 à 10:30"));
    // Nothing the attestation does not show: no birth date, no personal coordinates.
    assert!(!body.contains("1980"), "{dialect:?}: birth date leaked");
    assert!(!body.contains("julie.martin@example.test"));
    assert!(!body.contains("+33612345601"));
    // The code as a person types it from paper: lower case with dashes.
    let typed = caducee_attestation::code::grouped(&issued.code).to_lowercase();
    let (status, _) = get(&w.att, &format!("/verifier/{typed}"), "192.0.2.10").await;
    assert_eq!(status, StatusCode::OK);
    // The person leaves the registry's activities (an extract that ends them).
    w.clock.advance(time::Duration::days(40));
    sqlx::query("UPDATE reg_activity SET ended_at = $1 WHERE idnat = $2")
        .bind(w.clock.unix())
        .bind(&w.idnat)
        .execute(w.db.store.pool())
        .await
        .unwrap();
    let (status, body) = get(&w.att, &path, "192.0.2.10").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Attestation authentique"), "{body}");
    assert!(body.contains("plus en cours"), "{dialect:?}: {body}");
    assert!(!body.contains("toujours en cours"));
    // The same check on the PDF says the same.
    let jws = pdf::extract(&issued.pdf).unwrap();
    let verdict = check(&jws, &w.att.jwks(), Some(&w.db.store)).await.unwrap();
    assert!(verdict.genuine());
    assert_eq!(verdict.current, Some(false));
    w.db.cleanup().await;
}

async fn reg_08_an_unknown_code_gets_a_clear_page_and_sources_are_limited(dialect: Dialect) {
    let w = world(dialect).await;
    let (status, body) = get(&w.att, "/verifier/7K2MQX4R9TDA", "192.0.2.20").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{dialect:?}");
    assert!(
        body.contains("Aucune attestation ne porte ce code"),
        "{body}"
    );
    let (status, body) = get(&w.att, "/verifier/n'importe-quoi", "192.0.2.20").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Aucune attestation ne porte ce code"));
    // The form sends a well-formed code to its page, and says what is wrong with another.
    let (status, _) = get(&w.att, "/verifier?code=7k2m-qx4r-9tda", "192.0.2.20").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body) = get(&w.att, "/verifier?code=abc", "192.0.2.20").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("n&#39;a pas le bon format") || body.contains("n'a pas le bon format"),
        "{body}"
    );
    // 30 code pages per 10 minutes and source (2 used above), counted before the lookup:
    // a genuine code is refused too once the budget is spent, and another source is not.
    let issued = w.att.issue(&w.idnat, "ps:test", Locale::Fr).await.unwrap();
    for _ in 0..28 {
        let (status, _) = get(&w.att, "/verifier/7K2MQX4R9TDB", "192.0.2.20").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let good = format!("/verifier/{}", issued.code);
    let (status, body) = get(&w.att, &good, "192.0.2.20").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{dialect:?}");
    assert!(body.contains("Trop de vérifications"), "{body}");
    let (status, _) = get(&w.att, &good, "192.0.2.21").await;
    assert_eq!(status, StatusCode::OK);
    // The window passes.
    w.clock.advance(time::Duration::minutes(21));
    let (status, _) = get(&w.att, &good, "192.0.2.20").await;
    assert_eq!(status, StatusCode::OK);
    w.db.cleanup().await;
}

async fn reg_08_the_public_keys_check_an_attestation_without_the_database(dialect: Dialect) {
    let w = world(dialect).await;
    let issued = w.att.issue(&w.idnat, "ps:test", Locale::En).await.unwrap();
    let (status, body) = get(&w.att, "/verifier/cles", "192.0.2.30").await;
    assert_eq!(status, StatusCode::OK);
    let jwks: caducee_attestation::Jwks = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks, w.att.jwks());
    assert_eq!(jwks.keys[0].kty, "OKP");
    assert_eq!(jwks.keys[0].crv, "Ed25519");
    let verdict = check(&pdf::extract(&issued.pdf).unwrap(), &jwks, None)
        .await
        .unwrap();
    assert!(verdict.genuine());
    assert_eq!(verdict.current, None, "no database, no opinion on today");
    // The English PDF.
    let text = pdftotext(&issued.pdf);
    assert!(
        text.contains("Certificate of registration in the RPPS"),
        "{text}"
    );
    assert!(text.contains(&format!("RPPS number: {}", w.rpps)), "{text}");
    assert!(text.contains("Issued on 01/12/2026 at 10:30"), "{text}");
    w.db.cleanup().await;
}

on_both_engines! {
    reg_08_the_pdf_states_the_name_number_professions_and_carries_its_signature => reg_08_the_pdf_states_the_name_number_professions_and_carries_its_signature;
    reg_08_verifier_says_genuine_and_current_then_no_longer_current => reg_08_verifier_says_genuine_and_current_then_no_longer_current;
    reg_08_an_unknown_code_gets_a_clear_page_and_sources_are_limited => reg_08_an_unknown_code_gets_a_clear_page_and_sources_are_limited;
    reg_08_the_public_keys_check_an_attestation_without_the_database => reg_08_the_public_keys_check_an_attestation_without_the_database;
}

mod download {
    use super::*;

    /// `/erpps/attestation` without an eRPPS session goes to the eRPPS landing, issuing
    /// nothing (the logged-in download is the browser journey of attestation.test.js).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reg_08_the_download_needs_an_erpps_session() {
        let w = world(Dialect::Sqlite).await;
        w.db.store
            .migrate(caducee_portals::MIGRATIONS)
            .await
            .unwrap();
        let portals =
            caducee_portals::Portals::new(w.db.store.clone(), w.clock.shared(), PUBLIC_URL, SECRET)
                .unwrap();
        let att = w.att.clone().with_portals(portals);
        let (status, _) = get(&att, "/erpps/attestation", "192.0.2.40").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let mut req = Request::get("/erpps/attestation")
            .header("cookie", "caducee_session=forged")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ClientSource::new("192.0.2.40".parse().unwrap()));
        let r = caducee_attestation::router(att.clone())
            .oneshot(req)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/erpps");
        let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM att_attestation")
            .fetch_one(w.db.store.pool())
            .await
            .unwrap();
        assert_eq!(issued, 0);
        // Without the portals, no such route.
        let (status, _) = get(&w.att, "/erpps/attestation", "192.0.2.40").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        w.db.cleanup().await;
    }
}
