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
    assert_eq!(slugs, ["partenaire", "ordre", "demo"]);
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
