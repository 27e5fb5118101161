//! Portals as configuration (issue 11 item 3): `[[portals]]` of the configuration file,
//! `caducee portal list`, and `serve` mounting each portal and registering its OIDC client.

use super::*;

fn config_file(dir: &Path, toml: &str) -> std::path::PathBuf {
    let path = dir.join("caducee.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

const PARTNER: &str = r##"
[[portals]]
slug = "partenaire"
name = "Espace partenaire"
accent = "#1f6f43"
login = ["psc"]
services = [{ label = "Mes dossiers", href = "/espaces/partenaire/dossiers" }]

[[portals]]
slug = "ordre"
name = "Mon espace – Ordre"
login = ["local"]
accounts = "registry-code"
professions = ["10"]
"##;

#[test]
fn portal_list_shows_the_demo_and_the_files_portals() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let out = ok(caducee(&url).args(["portal", "list", "--demo"]));
    assert!(
        out.contains("demo") && out.contains("Espace de démonstration"),
        "{out}"
    );
    assert!(
        out.contains("ordre") && out.contains("registry-code"),
        "{out}"
    );
    let none = ok(caducee(&url).args(["portal", "list"]));
    assert!(none.contains("Aucun portail configuré"), "{none}");
    // The file's portals, defaults filled; with --demo, the file's "ordre" wins.
    let file = config_file(dir.path(), PARTNER);
    let json = ok(caducee(&url)
        .arg("--config")
        .arg(&file)
        .args(["portal", "list", "--demo", "--json"]));
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["partenaire", "ordre", "demo", "ror", "rplus"]);
    assert_eq!(list[0]["accent"], "#1f6f43");
    assert_eq!(list[1]["name"], "Mon espace – Ordre");
    assert_eq!(list[1]["accounts"], "registry-code");
}

#[test]
fn a_bad_portal_stops_with_a_french_message_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    for (toml, key) in [
        (
            "[[portals]]\nslug = \"x\"\nname = \"X\"\naccent = \"blue\"\n",
            "accent",
        ),
        ("[[portals]]\nslug = \"Bad Slug\"\nname = \"X\"\n", "slug"),
        (
            "[[portals]]\nslug = \"x\"\nname = \"X\"\nlogin = [\"local\"]\n",
            "local",
        ),
        (
            "[[portals]]\nslug = \"x\"\nname = \"X\"\ncolour = \"red\"\n",
            "colour",
        ),
    ] {
        let file = config_file(dir.path(), toml);
        let out = run(caducee(&url)
            .arg("--config")
            .arg(&file)
            .args(["portal", "list"]));
        assert_eq!(out.status.code(), Some(2), "{toml}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(key), "{toml}: {said}");
    }
}

#[tokio::test]
async fn serve_mounts_each_configured_portal_and_registers_its_client() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/c.db", dir.path().display());
    let file = config_file(dir.path(), PARTNER);
    let file_arg = file.display().to_string();
    let (mut child, base) = serve(&url, &["--config", &file_arg]);
    let http = reqwest::Client::new();
    let home = http
        .get(format!("{base}/espaces/partenaire"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let theme = http
        .get(format!("{base}/espaces/partenaire/theme.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(theme.trim(), ":root{--accent:#1f6f43}");
    let ordre = http
        .get(format!("{base}/espaces/ordre"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ordre.contains("Connectez-vous à votre espace"), "{ordre}");
    // Not in demo mode: the demo portal is not served.
    let demo = http
        .get(format!("{base}/espaces/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 404);
    child.kill().unwrap();
    let _ = child.wait();
    let clients = ok(caducee(&url).args(["client", "list"]));
    assert!(
        clients.contains("partenaire") && clients.contains("ordre"),
        "{clients}"
    );
}

#[tokio::test]
async fn legacy_import_accounts_takes_known_hashes_and_refuses_the_others_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let file = dir.path().join("resoflux.csv");
    // Hashes made by Django (its own test vector), Python's hashlib (PHC PBKDF2) and
    // slappasswd's {SSHA} layout; then lines the importer must refuse.
    std::fs::write(
        &file,
        "# identifiant;email;empreinte\n\
         CPAM0001;dr.lefevre@example.test;pbkdf2_sha256$20000$seasalt$oBSd886ysm3AqYun62DOdin8YcfbU1z9cksZSuLP9r0=\n\
         CPAM0002;dr.roux@example.test;$pbkdf2-sha256$i=29000,l=32$MDEyMzQ1Njc4OWFiY2RlZg$SCsg2wLry5UjuiLL9xdcpRt4VSgqCRTKiY62X2ZythI\n\
         CPAM0003;dr.blanc@example.test;{SSHA}F68P00eC8b18ERWtnlY21mVEprBzNGx0\n\
         \n\
         CPAM0004;dr.noir@example.test;5f4dcc3b5aa765d61d8327deb882cf99\n\
         CPAM0005;pas-un-email;{SSHA}F68P00eC8b18ERWtnlY21mVEprBzNGx0\n\
         CPAM0006;dr.vert@example.test\n\
         CPAM0007;dr.gris@example.test;{SSHA}F68P00eC8b18ERWtnlY21mVEprBzNGx0;12345678901\n",
    )
    .unwrap();
    let out = run(caducee(&url)
        .args(["portal", "import-accounts", "ordre"])
        .arg(&file));
    assert_eq!(
        out.status.code(),
        Some(2),
        "refused lines make the exit code 2"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("resoflux.csv:6 : format d'empreinte non reconnu"),
        "{said}"
    );
    assert!(said.contains("resoflux.csv:7 : e-mail"), "{said}");
    assert!(said.contains("resoflux.csv:8 : 2 champ(s)"), "{said}");
    assert!(
        said.contains("resoflux.csv:9 : RPPS « 12345678901 » invalide"),
        "{said}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("3 compte(s) importé(s)"), "{summary}");
    let store = Store::connect(&url).await.unwrap();
    for (id, password) in [
        ("cpam0001", "lètmein"),
        ("CPAM0002", "motdepasse-rplus"),
        ("CPAM0003", "motdepasse-rplus"),
    ] {
        assert!(
            caducee_portals::legacy::verify(&store, "ordre", id, password)
                .await
                .unwrap(),
            "{id}"
        );
        assert!(
            !caducee_portals::legacy::verify(&store, "ordre", id, "autre")
                .await
                .unwrap(),
            "{id}"
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM portal_legacy_account")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 3, "a refused hash is never stored");
    store.close().await;
    // A re-import updates, never duplicates; a portal without local accounts is refused.
    let again = run(caducee(&url)
        .args(["portal", "import-accounts", "ordre"])
        .arg(&file));
    let summary = String::from_utf8_lossy(&again.stdout);
    assert!(
        summary.contains("0 compte(s) importé(s), 3 mis à jour"),
        "{summary}"
    );
    let demo = run(caducee(&url)
        .args(["portal", "import-accounts", "demo"])
        .arg(&file));
    assert_eq!(demo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&demo.stderr).contains("pas de comptes locaux"));
}

#[tokio::test]
async fn onb_04_terms_publish_keeps_versions_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let v1 = dir.path().join("cgu-v1.txt");
    std::fs::write(&v1, "Conditions générales, version 1.").unwrap();
    let v1b = dir.path().join("cgu-v1-changed.txt");
    std::fs::write(&v1b, "Conditions générales, version 1 modifiée.").unwrap();
    let publish = |version: &str, file: &Path| {
        run(caducee(&url)
            .args([
                "portal",
                "terms",
                "publish",
                "ordre",
                "--version",
                version,
                "--file",
            ])
            .arg(file))
    };
    let out = publish("2026-12", &v1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("à accepter à la prochaine connexion"));
    let again = publish("2026-12", &v1);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("déjà publiées à l'identique"));
    let changed = publish("2026-12", &v1b);
    assert_eq!(changed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&changed.stderr).contains("une version publiée ne change plus"));
    let unknown = run(caducee(&url)
        .args([
            "portal",
            "terms",
            "publish",
            "nulle-part",
            "--version",
            "1",
            "--file",
        ])
        .arg(&v1));
    assert_eq!(unknown.status.code(), Some(2));
    let store = Store::connect(&url).await.unwrap();
    let current = caducee_portals::terms::current(&store, "ordre")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.body, "Conditions générales, version 1.");
    store.close().await;
}
