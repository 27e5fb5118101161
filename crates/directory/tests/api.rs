//! The FHIR API at `/fhir/v2` (REG-10, issue 15) on both engines, through the router as
//! the server mounts it: metadata, read, every search parameter and modifier, includes,
//! paging while an import runs, errors as French OperationOutcomes, `$export`.
//!
//! With `CADUCEE_FHIR_SAMPLES=DIR`, every resource received is also written to
//! `DIR/<test>-<n>.json`, for the independent validator (`tests/js/test/directory.test.js`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caducee_core::clock::ManualClock;
use caducee_core::ids::Rpps;
use caducee_directory::Directory;
use caducee_registry::format::{pa, FileKind};
use caducee_registry::import::{import_file, ImportOptions, NoProgress};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use time::macros::datetime;
use tower::ServiceExt;

fn rpps(n: u64) -> String {
    Rpps::from_payload(&format!("1{:09}", n))
        .unwrap()
        .as_str()
        .to_string()
}

fn idnat(n: u64) -> String {
    format!("8{}", rpps(n))
}

const SIRET_A: &str = "73282932000074";
const SIRET_B: &str = "44306184100047";

/// (n, last, first, profession, role, place A or B or none)
type Row = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u8,
);

fn rows() -> Vec<Row> {
    vec![
        (1, "MARTIN", "Julie", "10", "FON-01", b'A'),
        (2, "DE LA FONTAINE", "Jean-Pierre", "10", "FON-02", b'A'),
        (3, "N'GUYEN", "Hélène", "21", "FON-01", b'B'),
        (4, "Müller", "Éric", "60", "", 0),
        (5, "MARTINEZ", "Jérôme", "70", "FON-02", b'B'),
        (6, "Frasle", "Anne-Sophie", "10", "FON-01", b'B'),
    ]
}

fn line(r: &Row) -> String {
    let mut f = vec![String::new(); pa::COUNT];
    let id = rpps(r.0);
    f[pa::ID_TYPE] = "8".into();
    f[pa::ID_PP] = id.clone();
    f[pa::IDNAT] = format!("8{id}");
    f[5] = "MME".into();
    f[7] = r.1.into();
    f[pa::FIRST_NAME] = r.2.into();
    f[pa::PROFESSION_CODE] = r.3.into();
    f[11] = "C".into();
    f[pa::ROLE_CODE] = r.4.into();
    let place = match r.5 {
        b'A' => Some((SIRET_A, "CABINET DU DR MARTIN", "75014", "PARIS", "75")),
        b'B' => Some((SIRET_B, "Pharmacie de l'Église", "69003", "LYON", "69")),
        _ => None,
    };
    if let Some((siret, name, postcode, commune, dept)) = place {
        f[17] = "L".into();
        f[pa::SIRET] = siret.into();
        f[pa::STRUCTURE_ID] = format!("C{siret}");
        f[24] = name.into();
        f[35] = postcode.into();
        f[37] = commune.into();
        f[44] = dept.into();
        f[48] = "SA07".into();
    }
    format!("{}|", f.join("|"))
}

fn write(dir: &Path, name: &str, rows: &[Row]) -> std::path::PathBuf {
    let mut s = String::from(FileKind::PersonneActivite.header_line());
    s.push('\n');
    for r in rows {
        s.push_str(&line(r));
        s.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, s).unwrap();
    path
}

async fn import(store: &Store, clock: &ManualClock, path: &Path) {
    import_file(
        store,
        clock,
        path,
        &ImportOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
}

struct Api {
    router: axum::Router,
    name: &'static str,
    n: AtomicUsize,
}

impl Api {
    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, headers, bytes) = self.raw(req).await;
        let ct = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        if bytes.is_empty() {
            return (status, Value::Null);
        }
        assert!(
            ct.starts_with("application/fhir+json") || ct.starts_with("application/json"),
            "{ct}"
        );
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        self.sample(&v);
        (status, v)
    }

    async fn raw(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let r = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 30).await.unwrap();
        (status, headers, bytes.to_vec())
    }

    /// Keeps what was received for the independent validator.
    fn sample(&self, v: &Value) {
        if let Ok(dir) = std::env::var("CADUCEE_FHIR_SAMPLES") {
            let n = self.n.fetch_add(1, Ordering::Relaxed);
            let path = Path::new(&dir).join(format!("{}-{n}.json", self.name));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        }
    }
}

/// The ids of the matches of a searchset, sorted.
fn matches(bundle: &Value) -> Vec<String> {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    assert_eq!(bundle["type"], "searchset");
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn included(bundle: &Value, kind: &str) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .filter(|e| e["search"]["mode"] == "include" && e["resource"]["resourceType"] == kind)
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn of(ns: &[u64]) -> Vec<String> {
    let mut v: Vec<String> = ns.iter().map(|n| idnat(*n)).collect();
    v.sort();
    v
}

fn diagnostics(v: &Value) -> String {
    assert_eq!(v["resourceType"], "OperationOutcome", "{v}");
    v["issue"][0]["diagnostics"].as_str().unwrap().to_string()
}

async fn setup(
    dialect: Dialect,
    name: &'static str,
) -> (TestDb, Api, ManualClock, tempfile::TempDir) {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
    import(&db.store, &clock, &write(dir.path(), "a.txt", &rows())).await;
    let directory = Directory::new(db.store.clone(), clock.shared(), "https://annuaire.test");
    let api = Api {
        router: caducee_directory::router(directory),
        name,
        n: AtomicUsize::new(0),
    };
    (db, api, clock, dir)
}

async fn reg_10_fhir_metadata_read_and_errors(dialect: Dialect) {
    let (db, api, _clock, _dir) = setup(dialect, "read").await;
    let (s, cs) = api.get("/fhir/v2/metadata").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    let practitioner = &cs["rest"][0]["resource"][0];
    assert_eq!(practitioner["type"], "Practitioner");
    assert!(practitioner["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "qualification-code"));

    let (s, p) = api
        .get(&format!("/fhir/v2/Practitioner/{}", idnat(1)))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["resourceType"], "Practitioner");
    assert_eq!(p["active"], true);
    assert_eq!(p["meta"]["lastUpdated"], "2026-11-23T10:00:00Z");
    assert_eq!(p["identifier"][0]["system"], "urn:oid:1.2.250.1.71.4.2.1");
    assert_eq!(p["identifier"][0]["value"], idnat(1));
    assert_eq!(p["identifier"][1]["system"], "https://rpps.esante.gouv.fr");
    assert_eq!(p["identifier"][1]["value"], rpps(1));
    assert_eq!(p["name"][0]["family"], "MARTIN");
    assert!(p.get("birthDate").is_none() && p.get("telecom").is_none());

    let (s, r) = api.get("/fhir/v2/Organization/C73282932000074").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["identifier"][0]["value"], "373282932000074");
    assert_eq!(r["address"][0]["postalCode"], "75014");

    let (_, bundle) = api
        .get(&format!(
            "/fhir/v2/PractitionerRole?practitioner={}",
            idnat(1)
        ))
        .await;
    let role = matches(&bundle)[0].clone();
    let (s, r) = api.get(&format!("/fhir/v2/PractitionerRole/{role}")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r["practitioner"]["reference"],
        format!("Practitioner/{}", idnat(1))
    );
    assert_eq!(
        r["organization"]["reference"],
        "Organization/C73282932000074"
    );

    for (uri, status, part) in [
        (
            "/fhir/v2/Practitioner/810000000000",
            StatusCode::NOT_FOUND,
            "Aucune ressource",
        ),
        ("/fhir/v2/Patient?name=x", StatusCode::NOT_FOUND, "inconnu"),
        (
            "/fhir/v2/Practitioner?famly=x",
            StatusCode::BAD_REQUEST,
            "n'est pas pris en charge",
        ),
        (
            "/fhir/v2/Practitioner?_count=100000",
            StatusCode::BAD_REQUEST,
            "au plus",
        ),
        (
            "/fhir/v2/Practitioner?family:sounds=x",
            StatusCode::BAD_REQUEST,
            "modificateur",
        ),
        (
            "/fhir/v2/Practitioner?active=peut-etre",
            StatusCode::BAD_REQUEST,
            "true ou false",
        ),
        (
            "/fhir/v2/Practitioner?_cursor=zz",
            StatusCode::BAD_REQUEST,
            "invalide",
        ),
        (
            "/fhir/v2/Organization?_include=x",
            StatusCode::BAD_REQUEST,
            "n'est pas pris en charge",
        ),
        (
            "/fhir/v2/nothing/here/at/all",
            StatusCode::NOT_FOUND,
            "n'existe pas",
        ),
    ] {
        let (s, v) = api.get(uri).await;
        assert_eq!(s, status, "{uri}: {v}");
        let d = diagnostics(&v);
        assert!(d.contains(part), "{uri}: {d}");
    }
    db.cleanup().await;
}

async fn reg_10_fhir_search_parameters_and_modifiers(dialect: Dialect) {
    let (db, api, clock, dir) = setup(dialect, "search").await;
    let t0 = "2026-11-23T10:00:00Z";
    let p = |q: &str| format!("/fhir/v2/Practitioner?{q}");
    for (query, want) in [
        ("family=mart", of(&[1, 5])),
        ("family=MARTIN", of(&[1, 5])),
        ("family:exact=MARTIN", of(&[1])),
        ("family:exact=Martin", of(&[])),
        ("family:contains=artin", of(&[1, 5])),
        ("family:contains=fontaine", of(&[2])),
        ("given=jean-p", of(&[2])),
        ("given:contains=sophie", of(&[6])),
        ("name=helene", of(&[3])),
        ("name:contains=%C3%A9l%C3%A8n", of(&[3])),
        ("name:contains=frasl", of(&[6])),
        ("name:contains=ez", of(&[5])),
        ("name=helene,muller", of(&[3, 4])),
        ("name:contains=mart&name:contains=jer", of(&[5])),
        ("qualification-code=10", of(&[1, 2, 6])),
        (
            "qualification-code=https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante|21,60",
            of(&[3, 4]),
        ),
        ("active=true", of(&[1, 2, 3, 4, 5, 6])),
        ("active=false", of(&[])),
        ("_lastUpdated=ge2026-11-23", of(&[1, 2, 3, 4, 5, 6])),
        ("_lastUpdated=lt2026-11-23", of(&[])),
        ("_lastUpdated=gt2026-11-23T10:00:00Z&_lastUpdated=le2026-12", of(&[])),
        ("_lastUpdated=eq2026-11", of(&[1, 2, 3, 4, 5, 6])),
    ] {
        let (s, b) = api.get(&p(query)).await;
        assert_eq!(s, StatusCode::OK, "{query}: {b}");
        assert_eq!(matches(&b), want, "{query}");
    }
    for (query, want) in [
        (format!("identifier={}", rpps(3)), of(&[3])),
        (format!("identifier={}", idnat(3)), of(&[3])),
        (
            format!("identifier=https://rpps.esante.gouv.fr|{}", rpps(4)),
            of(&[4]),
        ),
        (
            format!(
                "identifier=urn:oid:1.2.250.1.71.4.2.1|{},{}",
                idnat(1),
                idnat(2)
            ),
            of(&[1, 2]),
        ),
        (format!("_id={}", idnat(6)), of(&[6])),
    ] {
        let (_, b) = api.get(&p(&query)).await;
        assert_eq!(matches(&b), want, "{query}");
    }
    // _revinclude, _total, _elements.
    let (_, b) = api
        .get(&p(
            "family=martin&_revinclude=PractitionerRole:practitioner&_total=accurate",
        ))
        .await;
    assert_eq!(b["total"], 2);
    assert_eq!(included(&b, "PractitionerRole").len(), 2);
    let (_, b) = api.get(&p("family=martin&_elements=name")).await;
    let r = &b["entry"][0]["resource"];
    assert!(
        r.get("name").is_some() && r.get("identifier").is_none(),
        "{r}"
    );
    assert_eq!(r["meta"]["tag"][0]["code"], "SUBSETTED");
    let (_, b) = api.get(&p("_count=0&_total=accurate")).await;
    assert_eq!(b["total"], 6);
    assert!(b.get("entry").is_none());

    // PractitionerRole.
    let roles = |b: &Value| matches(b).len();
    let (_, b) = api
        .get(&format!(
            "/fhir/v2/PractitionerRole?organization=Organization/C{SIRET_B}&_include=PractitionerRole:practitioner"
        ))
        .await;
    assert_eq!(roles(&b), 3);
    assert_eq!(included(&b, "Practitioner"), of(&[3, 5, 6]));
    let (_, b) = api
        .get(&format!(
            "/fhir/v2/PractitionerRole?practitioner={}&_include=*",
            idnat(2)
        ))
        .await;
    assert_eq!(roles(&b), 1);
    assert_eq!(included(&b, "Practitioner"), of(&[2]));
    assert_eq!(included(&b, "Organization"), [format!("C{SIRET_A}")]);
    let (_, b) = api
        .get("/fhir/v2/PractitionerRole?role=FON-02&active=true")
        .await;
    assert_eq!(roles(&b), 2);
    let (_, b) = api
        .get("/fhir/v2/PractitionerRole?role=https://mos.esante.gouv.fr/NOS/TRE_R21-Fonction/FHIR/TRE-R21-Fonction|FON-01")
        .await;
    assert_eq!(roles(&b), 3);
    let (_, b) = api.get("/fhir/v2/PractitionerRole?active=false").await;
    assert_eq!(roles(&b), 0);

    // Organization.
    let a = format!("C{SIRET_A}");
    let bb = format!("C{SIRET_B}");
    for (query, want) in [
        (format!("identifier={SIRET_B}"), vec![bb.clone()]),
        (
            format!("identifier=https://sirene.fr|{SIRET_A}"),
            vec![a.clone()],
        ),
        (
            format!("identifier=urn:oid:1.2.250.1.71.4.2.2|3{SIRET_A}"),
            vec![a.clone()],
        ),
        ("name:contains=eglise".into(), vec![bb.clone()]),
        ("name=cabinet".into(), vec![a.clone()]),
        ("address-city=paris".into(), vec![a.clone()]),
        ("address-postalcode=69".into(), vec![bb.clone()]),
        ("type=SA07".into(), {
            let mut v = vec![a.clone(), bb.clone()];
            v.sort();
            v
        }),
        (format!("_id={a}"), vec![a.clone()]),
    ] {
        let (s, b) = api.get(&format!("/fhir/v2/Organization?{query}")).await;
        assert_eq!(s, StatusCode::OK, "{query}: {b}");
        assert_eq!(matches(&b), want, "{query}");
    }
    let (_, b) = api
        .get(&format!(
            "/fhir/v2/Organization?_id={a}&_revinclude=PractitionerRole:organization"
        ))
        .await;
    assert_eq!(included(&b, "PractitionerRole").len(), 2);

    // A newer extract without Müller and with N'Guyen gone from Lyon: ended activities and
    // absent persons stay, inactive, with a newer lastUpdated.
    clock.advance(time::Duration::hours(1));
    let mut newer = rows();
    newer.retain(|r| r.0 != 4 && r.0 != 3);
    import(&db.store, &clock, &write(dir.path(), "b.txt", &newer)).await;
    let (_, b) = api.get(&p("active=false")).await;
    assert_eq!(matches(&b), of(&[3, 4]));
    let (_, r) = api
        .get(&format!("/fhir/v2/Practitioner/{}", idnat(3)))
        .await;
    assert_eq!(r["active"], false);
    assert_ne!(r["meta"]["lastUpdated"], t0);
    let (_, b) = api
        .get(&format!(
            "/fhir/v2/PractitionerRole?practitioner={}",
            idnat(3)
        ))
        .await;
    assert_eq!(b["entry"][0]["resource"]["active"], false);
    let (_, b) = api.get(&p("_lastUpdated=gt2026-11-23T10:00:00Z")).await;
    assert_eq!(matches(&b), of(&[3, 4]));
    db.cleanup().await;
}

/// Paging through a result set while an import runs: no page changes, no row added after
/// the first page appears, and the `next` links are opaque.
async fn reg_10_fhir_paging_sees_the_first_page_data(dialect: Dialect) {
    let (db, api, clock, dir) = setup(dialect, "paging").await;
    let (_, first) = api
        .get("/fhir/v2/Practitioner?_count=2&_total=accurate")
        .await;
    assert_eq!(first["total"], 6);
    let self_link = first["link"][0]["url"].as_str().unwrap();
    assert_eq!(
        self_link,
        "https://annuaire.test/fhir/v2/Practitioner?_count=2&_total=accurate"
    );
    // An import adds two persons (keys after the first page's bound) while the client pages.
    clock.advance(time::Duration::minutes(5));
    let mut more = rows();
    more.push((7, "AAA", "Nouveau", "10", "", 0));
    more.push((8, "MARTINOT", "Paul", "10", "", 0));
    import(&db.store, &clock, &write(dir.path(), "b.txt", &more)).await;
    let mut seen = matches(&first);
    let mut page = first;
    let mut pages = 1;
    while let Some(next) = page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
    {
        assert!(
            next.contains("_cursor=") && next.contains("_count=2"),
            "{next}"
        );
        let path = next.trim_start_matches("https://annuaire.test");
        let (s, p) = api.get(path).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(p["total"], 6, "total as of the first page");
        seen.extend(matches(&p));
        page = p;
        pages += 1;
    }
    seen.sort();
    assert_eq!(seen, of(&[1, 2, 3, 4, 5, 6]));
    assert_eq!(pages, 3);
    // A new search sees them.
    let (_, b) = api.get("/fhir/v2/Practitioner?_total=accurate").await;
    assert_eq!(b["total"], 8);
    // Roles page the same way.
    let (_, b) = api.get("/fhir/v2/PractitionerRole?_count=4").await;
    assert_eq!(matches(&b).len(), 4);
    assert!(b["link"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["relation"] == "next"));
    db.cleanup().await;
}

async fn reg_10_fhir_bulk_export(dialect: Dialect) {
    let (db, api, clock, _dir) = setup(dialect, "export").await;
    let (s, v) = api.get("/fhir/v2/$export").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(diagnostics(&v).contains("Prefer: respond-async"));
    let (s, headers, _) = api
        .raw(
            Request::get("/fhir/v2/$export")
                .header("prefer", "respond-async")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let status = headers["content-location"].to_str().unwrap().to_string();
    let status = status
        .trim_start_matches("https://annuaire.test")
        .to_string();
    // The job runs on the runtime's other thread; poll until it is done (no sleep: yield).
    let manifest = loop {
        let (s, _, body) = api
            .raw(Request::get(&status).body(Body::empty()).unwrap())
            .await;
        if s == StatusCode::OK {
            break serde_json::from_slice::<Value>(&body).unwrap();
        }
        assert_eq!(s, StatusCode::ACCEPTED);
        tokio::task::yield_now().await;
    };
    let outputs = manifest["output"].as_array().unwrap();
    let count = |t: &str| {
        outputs
            .iter()
            .find(|o| o["type"] == t)
            .map(|o| {
                (
                    o["count"].as_u64().unwrap(),
                    o["url"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };
    assert_eq!(count("Practitioner").0, 6);
    assert_eq!(count("PractitionerRole").0, 6);
    assert_eq!(count("Organization").0, 2);
    let url = count("Practitioner").1;
    let (s, headers, body) = api
        .raw(
            Request::get(url.trim_start_matches("https://annuaire.test"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/fhir+ndjson");
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for l in &lines {
        assert_eq!(l["resourceType"], "Practitioner");
        api.sample(l);
    }
    // Another node (or this one restarted) on the same database answers the poll with the
    // same manifest, and serves the files it can see.
    let other = Api {
        router: caducee_directory::router(Directory::new(
            db.store.clone(),
            clock.shared(),
            "https://annuaire.test",
        )),
        name: "export-other-node",
        n: AtomicUsize::new(0),
    };
    let (s, again) = other.get(&status).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, manifest);
    let (s, _, body) = other
        .raw(
            Request::get(url.trim_start_matches("https://annuaire.test"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 6);
    let (s, _) = api.get(&format!("{status}/../x")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = api
        .raw(Request::delete(&status).body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = api.get(&status).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other.get(&status).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A job whose node stopped (no heartbeat for a minute) is reported failed, not running
    // for ever.
    let (_, headers, _) = api
        .raw(
            Request::get("/fhir/v2/$export?_type=Organization")
                .header("prefer", "respond-async")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = headers["content-location"]
        .to_str()
        .unwrap()
        .trim_start_matches("https://annuaire.test")
        .to_string();
    let job = status.rsplit('/').next().unwrap().to_string();
    while api.get(&status).await.0 != StatusCode::OK {
        tokio::task::yield_now().await;
    }
    caducee_store::sqlx::query(
        "UPDATE dir_export_job SET state = 'running', heartbeat_at = heartbeat_at - 120 WHERE id = $1",
    )
    .bind(&job)
    .execute(db.store.pool())
    .await
    .unwrap();
    let (s, v) = other.get(&status).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    // Its files go with it.
    let (s, _, _) = other
        .raw(Request::delete(&status).body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    db.cleanup().await;
}

/// The /annuaire page: one form, results with the RPPS number and a copy button, a
/// professional's page; only public data.
async fn reg_10_annuaire_page_searches_the_directory(dialect: Dialect) {
    let (db, api, _clock, _dir) = setup(dialect, "page").await;
    let page = |uri: String| {
        let api = &api;
        async move {
            let (s, h, body) = api
                .raw(Request::get(uri.as_str()).body(Body::empty()).unwrap())
                .await;
            assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
            (s, String::from_utf8(body).unwrap())
        }
    };
    let (s, html) = page("/annuaire".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<h1>Annuaire Santé</h1>"), "{html}");
    assert!(html.contains(r#"name="q""#) && html.contains(r#"name="numero""#));
    assert!(html.contains(r#"<script src="/annuaire/annuaire.js">"#));
    let (s, html) = page("/annuaire?q=h%C3%A9l%C3%A8ne".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("1 résultat"), "{html}");
    assert!(html.contains("N'GUYEN") && html.contains(&rpps(3)));
    assert!(html.contains("data-copie=\"numero-1\""));
    assert!(
        html.contains("Pharmacie de l'Église — 69003 LYON"),
        "{html}"
    );
    let (_, html) = page("/annuaire?lieu=75&profession=10".into()).await;
    assert!(html.contains("2 résultats"), "{html}");
    let (_, html) = page(format!("/annuaire?numero={}", rpps(4))).await;
    assert!(html.contains("1 résultat") && html.contains("Müller"));
    let (s, html) = page("/annuaire?q=".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("Indiquez au moins"));
    let (s, html) = page("/annuaire?numero=12".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("11 chiffres"));
    let (s, html) = page(format!("/annuaire/{}", idnat(1))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("MARTIN") && html.contains(&rpps(1)) && html.contains("CABINET DU DR MARTIN")
    );
    let (s, _) = page("/annuaire/810000000000".into()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, h, js) = api
        .raw(
            Request::get("/annuaire/annuaire.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(String::from_utf8(js).unwrap().contains("clipboard"));
    db.cleanup().await;
}

/// The page counts matches up to 100 (`COUNT_CAP`), then says there are more and asks for
/// a narrower search; paging goes on past the count.
async fn reg_10_annuaire_page_counts_up_to_a_hundred(dialect: Dialect) {
    let (db, api, clock, dir) = setup(dialect, "count").await;
    let dupont = |n: u64| -> Row { (100 + n, "DUPONT", "Paul", "10", "FON-01", 0) };
    let page = |uri: &'static str| {
        let api = &api;
        async move {
            let (s, _, body) = api
                .raw(Request::get(uri).body(Body::empty()).unwrap())
                .await;
            assert_eq!(s, StatusCode::OK);
            String::from_utf8(body).unwrap()
        }
    };
    let hundred: Vec<Row> = (1..=100).map(dupont).collect();
    import(&db.store, &clock, &write(dir.path(), "b.txt", &hundred)).await;
    let html = page("/annuaire?q=dupont").await;
    assert!(html.contains("100 résultats"), "{html}");
    assert!(!html.contains("Plus de 100"), "{html}");
    let more: Vec<Row> = (1..=101).map(dupont).collect();
    import(&db.store, &clock, &write(dir.path(), "c.txt", &more)).await;
    let html = page("/annuaire?q=dupont").await;
    assert!(
        html.contains("Plus de 100 résultats : précisez la recherche"),
        "{html}"
    );
    assert!(html.contains("page="), "a next link: {html}");
    db.cleanup().await;
}

/// The exact Practitioner, PractitionerRole and Organization JSON of every demo persona,
/// against `tests/golden/personas.json`, the same file for both engines. With
/// `CADUCEE_GOLDEN_WRITE=1` the SQLite run rewrites the file (to be read and committed
/// with the change that explains it).
async fn reg_10_fhir_golden_demo_personas(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
    caducee_registry::demo::seed_personas(&db.store, &clock)
        .await
        .unwrap();
    let directory = Directory::new(db.store.clone(), clock.shared(), "https://annuaire.test");
    let api = Api {
        router: caducee_directory::router(directory),
        name: "golden",
        n: AtomicUsize::new(0),
    };
    let mut got = serde_json::Map::new();
    for persona in caducee_registry::generate::demo_personas() {
        let id = &persona.idnat;
        let (s, practitioner) = api.get(&format!("/fhir/v2/Practitioner/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{practitioner}");
        let (s, bundle) = api
            .get(&format!(
                "/fhir/v2/PractitionerRole?practitioner=Practitioner/{id}&_include=PractitionerRole:organization"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{bundle}");
        let of_kind = |kind: &str| -> Vec<Value> {
            bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["resource"]["resourceType"] == kind)
                .map(|e| e["resource"].clone())
                .collect()
        };
        // A read answers what the search gave.
        for role in of_kind("PractitionerRole") {
            let (_, read) = api
                .get(&format!(
                    "/fhir/v2/PractitionerRole/{}",
                    role["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(read, role);
        }
        for org in of_kind("Organization") {
            let (_, read) = api
                .get(&format!(
                    "/fhir/v2/Organization/{}",
                    org["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(read, org);
        }
        got.insert(
            format!("{} {}", persona.first_name, persona.last_name),
            serde_json::json!({
                "Practitioner": practitioner,
                "PractitionerRole": of_kind("PractitionerRole"),
                "Organization": of_kind("Organization"),
            }),
        );
    }
    let got = Value::Object(got);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/personas.json");
    if std::env::var("CADUCEE_GOLDEN_WRITE").as_deref() == Ok("1") && dialect == Dialect::Sqlite {
        let mut text = serde_json::to_string_pretty(&got).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        got,
        want,
        "{} differs from what the API answers:\n{}",
        path.display(),
        serde_json::to_string_pretty(&got).unwrap()
    );
    db.cleanup().await;
}

/// A Practitioner served again comes from its fragment (`fragments.rs`) only while the
/// index's `last_updated` is the same: a change of the person is seen at once.
async fn reg_10_fhir_practitioners_served_again_are_current(dialect: Dialect) {
    let (db, api, clock, dir) = setup(dialect, "fragments").await;
    // Settled: the fragments are kept from now on.
    clock.advance(time::Duration::minutes(5));
    let family = |b: &Value| -> Vec<String> {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["resource"]["name"][0]["family"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let first = api
        .get("/fhir/v2/Practitioner?name:contains=fontaine")
        .await
        .1;
    assert_eq!(family(&first), ["DE LA FONTAINE"]);
    let again = api
        .get("/fhir/v2/Practitioner?name:contains=fontaine")
        .await
        .1;
    assert_eq!(again["entry"], first["entry"]);
    // Renamed at the very second its fragment was kept.
    let mut changed = rows();
    changed[1].1 = "DE LA FONTAINE-MARTIN";
    import(&db.store, &clock, &write(dir.path(), "b.txt", &changed)).await;
    let after = api
        .get("/fhir/v2/Practitioner?name:contains=fontaine")
        .await
        .1;
    assert_eq!(family(&after), ["DE LA FONTAINE-MARTIN"]);
    assert_ne!(
        after["entry"][0]["resource"]["meta"]["lastUpdated"],
        first["entry"][0]["resource"]["meta"]["lastUpdated"]
    );
    db.cleanup().await;
}

on_both_engines! {
    reg_10_fhir_practitioners_served_again_are_current => reg_10_fhir_practitioners_served_again_are_current;
    reg_10_fhir_golden_demo_personas => reg_10_fhir_golden_demo_personas;
    reg_10_annuaire_page_searches_the_directory => reg_10_annuaire_page_searches_the_directory;
    reg_10_annuaire_page_counts_up_to_a_hundred => reg_10_annuaire_page_counts_up_to_a_hundred;
    reg_10_fhir_metadata_read_and_errors => reg_10_fhir_metadata_read_and_errors;
    reg_10_fhir_search_parameters_and_modifiers => reg_10_fhir_search_parameters_and_modifiers;
    reg_10_fhir_paging_sees_the_first_page_data => reg_10_fhir_paging_sees_the_first_page_data;
    reg_10_fhir_bulk_export => reg_10_fhir_bulk_export;
}
