//! `caducee registry identity` (DESIGN.md contract; issue 11 item 8): an operator sets the
//! civil status the public extract lacks, through the real binary.

use super::*;

#[tokio::test]
async fn reg_02_cli_identity_sets_the_civil_status_and_explains_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let (url, id) = imported_registry(dir.path(), 20);

    let bad = run(caducee(&url).args(["registry", "identity", &id, "--birth-date", "12/04/1980"]));
    assert_eq!(bad.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("AAAA-MM-JJ"), "{said}");
    let unknown = run(caducee(&url).args([
        "registry",
        "identity",
        "10000000009",
        "--birth-date",
        "1980-04-12",
    ]));
    assert_eq!(
        unknown.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    let out = ok(caducee(&url).args([
        "registry",
        "identity",
        &id,
        "--birth-date",
        "1980-04-12",
        "--birth-place",
        "75056",
        "--birth-country",
        "99100",
        "--sex",
        "F",
        "--operator",
        "alice",
        "--evidence",
        "pièce d'identité vue au guichet",
    ]));
    let set: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(set["birthDate"], "1980-04-12");
    assert_eq!(set["birthCountry"], "99100");
    let json: serde_json::Value =
        serde_json::from_str(&ok(caducee(&url).args(["registry", "get", &id]))).unwrap();
    assert_eq!(json["civilIdentity"]["birthPlace"], "75056");
    assert_eq!(json["civilIdentity"]["sex"], "F");
    let store = Store::connect(&url).await.unwrap();
    let idnat = caducee_registry::queries::parse_id(&id).unwrap();
    let events = caducee_store::audit::events_for(&store, idnat.as_str())
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.action == "registry.identity.updated")
        .expect("an audit event");
    assert_eq!(event.actor, "operator:alice");
    assert!(event.details.contains("guichet"), "{}", event.details);
    store.close().await;
}
