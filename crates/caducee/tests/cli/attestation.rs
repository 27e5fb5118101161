//! REG-08: `caducee attestation verify FILE`, the real binary on an attestation issued by the
//! library on a real database (both engines): genuine and current, a tampered payload
//! refused, the offline check with the published keys, and input that is no attestation.

use super::*;
use base64::Engine;
use caducee_attestation::{pdf, Attestations};
use caducee_core::clock::ManualClock;
use time::macros::datetime;

const SECRET: &str = "cli attestation tests: the instance secret";

fn verify(db_url: &str, args: &[&str]) -> Output {
    run(caducee(db_url)
        .env("CADUCEE_INSTANCE_SECRET", SECRET)
        .args(["attestation", "verify"])
        .args(args))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The PDF with one byte string of its embedded JWS payload replaced by another of the
/// same length (so that the file's cross-reference offsets stay right).
fn tampered(pdf_bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jws = pdf::extract(pdf_bytes).unwrap();
    let payload = jws.split('.').nth(1).unwrap();
    let json = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
    assert!(json.contains(from), "{json}");
    let forged = b64.encode(json.replace(from, to));
    assert_eq!(forged.len(), payload.len());
    let at = pdf_bytes
        .windows(payload.len())
        .position(|w| w == payload.as_bytes())
        .unwrap();
    let mut out = pdf_bytes.to_vec();
    out[at..at + payload.len()].copy_from_slice(forged.as_bytes());
    out
}

async fn reg_08_attestation_verify_genuine_tampered_and_offline(dialect: Dialect) {
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
    let att = Attestations::new(
        db.store.clone(),
        clock.shared(),
        "http://127.0.0.1:8080",
        SECRET.as_bytes(),
    )
    .unwrap();
    let issued = att
        .issue(&julie.idnat, "ps:test", caducee_attestation::Locale::Fr)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(issued.file_name());
    std::fs::write(&file, &issued.pdf).unwrap();
    let file_arg = file.to_str().unwrap();

    // Genuine, and current in the instance's database.
    let out = verify(&db.url, &[file_arg]);
    assert!(out.status.success(), "{dialect:?}: {out:?}");
    let text = stdout(&out);
    assert!(text.contains("AUTHENTIQUE"), "{text}");
    assert!(!text.contains("NON AUTHENTIQUE"), "{text}");
    assert!(text.contains(&julie.rpps), "{text}");
    assert!(text.contains("toujours en cours"), "{text}");

    // The payload changed (another name), the signature kept: forged, exit 1.
    let forged = dir.path().join("falsifiee.pdf");
    std::fs::write(&forged, tampered(&issued.pdf, "Martin", "Marten")).unwrap();
    let out = verify(&db.url, &[forged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{dialect:?}: {out:?}");
    assert!(stdout(&out).contains("NON AUTHENTIQUE"), "{out:?}");

    // JSON for scripts.
    let out = verify(&db.url, &[file_arg, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["genuine"], true);
    assert_eq!(v["current"], true);
    assert_eq!(v["attested"]["identifier"], julie.rpps.as_str());

    // Offline with the keys the instance publishes at /verifier/cles: no database read.
    let keys = dir.path().join("cles.json");
    std::fs::write(&keys, serde_json::to_vec(&att.jwks()).unwrap()).unwrap();
    let out = verify(
        "sqlite:///nonexistent/caducee.db",
        &[file_arg, "--jwks", keys.to_str().unwrap()],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("non vérifié"), "{out:?}");
    // Another instance's keys do not recognise it.
    let other =
        caducee_attestation::Signer::from_instance_secret(b"another instance secret here").unwrap();
    std::fs::write(&keys, serde_json::to_vec(&other.jwks()).unwrap()).unwrap();
    let out = verify(
        "sqlite:///nonexistent/caducee.db",
        &[file_arg, "--jwks", keys.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // Not an attestation; no instance there.
    let junk = dir.path().join("autre.pdf");
    std::fs::write(&junk, b"%PDF-1.7\nnot really\n").unwrap();
    let out = verify(&db.url, &[junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = verify("sqlite:///nonexistent/caducee.db", &[file_arg]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jwks"));

    // An operator issues one with the binary (the RPPS typed without the 8).
    let by_cli = dir.path().join("operateur.pdf");
    let out = run(caducee(&db.url)
        .env("CADUCEE_INSTANCE_SECRET", SECRET)
        .args(["attestation", "issue", &julie.rpps, "--out"])
        .arg(&by_cli));
    assert!(out.status.success(), "{dialect:?}: {out:?}");
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = printed["code"].as_str().unwrap();
    assert!(printed["verifyUrl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/verifier/{code}")));
    let out = verify(&db.url, &[by_cli.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let events = caducee_store::audit::events_for(&db.store, &julie.idnat)
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.action == "attestation.issued" && e.actor.starts_with("operator:")));
    let out = run(caducee(&db.url)
        .env("CADUCEE_INSTANCE_SECRET", SECRET)
        .args(["attestation", "issue", "19999900996", "--out"])
        .arg(dir.path().join("x.pdf")));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reg_08_attestation_verify_sqlite() {
    reg_08_attestation_verify_genuine_tampered_and_offline(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reg_08_attestation_verify_postgres() {
    reg_08_attestation_verify_genuine_tampered_and_offline(Dialect::Postgres).await;
}
