//! Registry tests against both engines: every scenario runs on SQLite and on a real
//! PostgreSQL (`CADUCEE_TEST_POSTGRES_URL`), and the two must end with the same content.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::ManualClock;
use caducee_core::ids::Rpps;
use caducee_registry::format::{pa, FileKind};
use caducee_registry::import::{import_file, ImportError, ImportOptions, NoProgress};
use caducee_registry::queries::{self, ContactUpdate};
use caducee_store::testkit::TestDb;
use caducee_store::Dialect;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::macros::datetime;

const BOTH: [Dialect; 2] = [Dialect::Sqlite, Dialect::Postgres];

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-11-23 10:00 UTC))
}

async fn fresh(dialect: Dialect) -> TestDb {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    db
}

fn rpps(n: u64) -> String {
    Rpps::from_payload(&format!("1{:09}", n))
        .unwrap()
        .as_str()
        .to_string()
}

/// A Personne_activite line with the given canonical fields set, the others empty.
fn pa_line(set: &[(usize, &str)]) -> String {
    let mut f = vec![String::new(); pa::COUNT];
    for (i, v) in set {
        f[*i] = v.to_string();
    }
    format!("{}|", f.join("|"))
}

/// A person `n` with an activity at a liberal practice `siret` (or none).
fn activity(n: u64, name: &str, profession: &str, structure: Option<&str>) -> String {
    let id = rpps(n);
    let idnat = format!("8{id}");
    let mut set: Vec<(usize, &str)> = vec![
        (pa::ID_TYPE, "8"),
        (pa::ID_PP, &id),
        (pa::IDNAT, &idnat),
        (5, "M"),
        (6, "Monsieur"),
        (7, name),
        (8, "Jean"),
        (pa::PROFESSION_CODE, profession),
        (11, "C"),
    ];
    let tech;
    if let Some(siret) = structure {
        tech = format!("C{siret}");
        set.extend([
            (17, "L"),
            (pa::SIRET, siret),
            (pa::STRUCTURE_ID, tech.as_str()),
            (24, "CABINET"),
            (35, "75014"),
            (37, "PARIS"),
        ]);
        set.push((pa::ROLE_CODE, "FON-01"));
        return pa_line(&set);
    }
    pa_line(&set)
}

fn write_file(dir: &Path, name: &str, header: &str, lines: &[String], eol: &str) -> PathBuf {
    let path = dir.join(name);
    let mut s = String::new();
    s.push_str(header);
    s.push_str(eol);
    for l in lines {
        s.push_str(l);
        s.push_str(eol);
    }
    std::fs::write(&path, s).unwrap();
    path
}

fn pa_header() -> &'static str {
    FileKind::PersonneActivite.header_line()
}

const SIRET_A: &str = "73282932000074";
const SIRET_B: &str = "44306184100047";

async fn import(
    db: &TestDb,
    clock: &ManualClock,
    path: &Path,
) -> Result<caducee_registry::import::ImportSummary, ImportError> {
    import_file(
        &db.store,
        clock,
        path,
        &ImportOptions {
            batch_lines: Some(2),
            ..Default::default()
        },
        Arc::new(NoProgress),
    )
    .await
}

#[tokio::test]
async fn reg_10_import_validates_reports_and_is_the_same_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![
        activity(1, "DUPONT", "10", Some(SIRET_A)),
        activity(1, "DUPONT", "10", Some(SIRET_B)),
        activity(2, "LEFÈVRE", "60", None),
    ];
    // Invalid check digit → rejected.
    let mut bad = rpps(3);
    bad.replace_range(10..11, if bad.ends_with('0') { "1" } else { "0" });
    lines.push(pa_line(&[
        (pa::ID_TYPE, "8"),
        (pa::ID_PP, &bad),
        (pa::IDNAT, &format!("8{bad}")),
    ]));
    // Wrong number of fields → rejected.
    lines.push("8|123|".to_string());
    // A SIRET that fails its check → kept, warned.
    lines.push(activity(4, "MARTIN", "10", Some("12345678901234")));
    let path = write_file(
        dir.path(),
        "PS_LibreAcces_Personne_activite_202611230000.txt",
        pa_header(),
        &lines,
        "\r\n",
    );

    let mut digests = Vec::new();
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        let summary = import(&db, &c, &path).await.unwrap();
        assert_eq!(summary.lines, 6, "{dialect:?}");
        assert_eq!(summary.rejected, 2);
        assert_eq!(summary.warnings, 1);
        let stats = queries::stats(&db.store).await.unwrap();
        assert_eq!(
            (stats.persons, stats.activities, stats.structures),
            (3, 4, 3),
            "{dialect:?}"
        );
        let report = std::fs::read_to_string(summary.report.as_ref().unwrap()).unwrap();
        assert!(report.contains("5\trejet\tIdentifiant PP"), "{report}");
        assert!(
            report.contains("6\trejet\t2 champs au lieu de 56"),
            "{report}"
        );
        assert!(
            report.contains("7\tavertissement\tSIRET « 12345678901234 »"),
            "{report}"
        );
        let one = queries::get_professional(&db.store, &queries::parse_id(&rpps(1)).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one.last_name, "DUPONT");
        assert_eq!(one.activities.len(), 2);
        assert_eq!(one.professions.len(), 1);
        // REG-01: with or without the 8.
        let same = queries::get_professional(
            &db.store,
            &queries::parse_id(&format!("8{}", rpps(1))).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(same.as_ref(), Some(&one));
        digests.push(queries::content_digest(&db.store).await.unwrap());
        db.cleanup().await;
    }
    assert_eq!(
        digests[0], digests[1],
        "SQLite and PostgreSQL must hold the same registry"
    );
}

#[tokio::test]
async fn reg_10_reimport_changes_nothing_and_newer_file_ends_vanished_activities() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = write_file(
        dir.path(),
        "v1.txt",
        pa_header(),
        &[
            activity(1, "DUPONT", "10", Some(SIRET_A)),
            activity(1, "DUPONT", "10", Some(SIRET_B)),
            activity(2, "DURAND", "60", None),
        ],
        "\n",
    );
    let v2 = write_file(
        dir.path(),
        "v2.txt",
        pa_header(),
        &[
            activity(1, "DUPONT-MOREAU", "10", Some(SIRET_A)),
            activity(2, "DURAND", "60", None),
        ],
        "\n",
    );
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        import(&db, &c, &v1).await.unwrap();
        let before = queries::content_digest(&db.store).await.unwrap();
        let updated_before = db
            .store
            .count("SELECT MAX(updated_at) FROM reg_activity")
            .await
            .unwrap();
        c.advance(time::Duration::days(1));
        let again = import(&db, &c, &v1).await.unwrap();
        assert_eq!(again.retired, 0);
        assert_eq!(
            queries::content_digest(&db.store).await.unwrap(),
            before,
            "{dialect:?}: re-import changed the registry"
        );
        assert_eq!(
            db.store
                .count("SELECT MAX(updated_at) FROM reg_activity")
                .await
                .unwrap(),
            updated_before
        );
        assert_eq!(
            db.store
                .count("SELECT MAX(updated_at) FROM reg_person")
                .await
                .unwrap(),
            updated_before
        );

        c.advance(time::Duration::days(1));
        let newer = import(&db, &c, &v2).await.unwrap();
        assert_eq!(newer.retired, 1, "{dialect:?}");
        let one = queries::get_professional(&db.store, &queries::parse_id(&rpps(1)).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one.last_name, "DUPONT-MOREAU");
        assert_eq!(one.activities.iter().filter(|a| a.active).count(), 1);
        assert_eq!(one.activities.iter().filter(|a| !a.active).count(), 1);
        let stats = queries::stats(&db.store).await.unwrap();
        assert_eq!((stats.activities, stats.ended_activities), (2, 1));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn reg_10_unknown_header_and_non_utf8_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = write_file(dir.path(), "x.txt", "Nom|Prénom|Ville|", &[], "\n");
    let latin1 = dir.path().join("latin1.txt");
    let mut bytes = pa_header().as_bytes().to_vec();
    bytes.extend_from_slice(b"\n");
    let line = activity(1, "LEF\u{0}VRE", "10", None);
    let mut raw = line.into_bytes();
    for b in raw.iter_mut() {
        if *b == 0 {
            *b = 0xC8; // 'È' in Latin-1, invalid alone in UTF-8
        }
    }
    bytes.extend_from_slice(&raw);
    std::fs::write(&latin1, bytes).unwrap();
    let db = fresh(Dialect::Sqlite).await;
    let c = clock();
    match import(&db, &c, &unknown).await {
        Err(e @ ImportError::Header { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("en-tête non reconnu") && msg.contains("Identifiant PP"),
                "{msg}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    match import(&db, &c, &latin1).await {
        Err(e @ ImportError::NotUtf8 { line: 2, .. }) => assert!(e.to_string().contains("UTF-8")),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn reg_10_52_column_layout_savoirfaire_and_diplomas() {
    let dir = tempfile::tempdir().unwrap();
    let h52 =
        include_str!("../headers/PS_LibreAcces_Personne_activite.header-52col.txt").trim_end();
    let line56 = activity(1, "DUPONT", "10", Some(SIRET_A));
    let fields: Vec<&str> = line56.trim_end_matches('|').split('|').take(52).collect();
    let p52 = write_file(
        dir.path(),
        "p52.txt",
        h52,
        &[format!("{}|", fields.join("|"))],
        "\n",
    );
    let id = rpps(1);
    let sf_line = format!(
        "8|{id}|8{id}|DUPONT|Jean|10|Médecin|C|Civil|S|Spécialité ordinale|SM54|Médecine générale|"
    );
    let sf = write_file(
        dir.path(),
        "sf.txt",
        FileKind::SavoirFaire.header_line(),
        &[sf_line],
        "\n",
    );
    let dl = format!(
        "8|{id}|8{id}|DUPONT|Jean|DE|Diplôme d'Etat français|DE09|DE Docteur en médecine|||||"
    );
    let dipl = write_file(
        dir.path(),
        "dipl.txt",
        FileKind::DiplAutExerc.header_line(),
        &[dl],
        "\n",
    );
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        assert_eq!(import(&db, &c, &p52).await.unwrap().rejected, 0);
        assert_eq!(import(&db, &c, &sf).await.unwrap().rejected, 0);
        let d = import(&db, &c, &dipl).await.unwrap();
        assert_eq!(d.rejected, 0, "{:?}", d.report.map(std::fs::read_to_string));
        let p = queries::get_professional(&db.store, &queries::parse_id(&id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.professions[0].know_how[0].value.code, "SM54");
        assert_eq!(p.diplomas[0].diploma.code, "DE09");
        assert_eq!(p.activities[0].role.code, "");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn reg_10_export_then_import_gives_the_same_registry() {
    let dir = tempfile::tempdir().unwrap();
    let id = rpps(1);
    let p = write_file(
        dir.path(),
        "p.txt",
        pa_header(),
        &[
            activity(1, "DUPONT", "10", Some(SIRET_A)),
            activity(2, "DURAND", "60", None),
            activity(3, "PETIT", "40", Some(SIRET_B)),
        ],
        "\n",
    );
    let sf = write_file(
        dir.path(),
        "sf.txt",
        FileKind::SavoirFaire.header_line(),
        &[format!("8|{id}|8{id}|DUPONT|Jean|10|Médecin|C|Civil|S|Spécialité ordinale|SM54|Médecine générale|")],
        "\n",
    );
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        import(&db, &c, &p).await.unwrap();
        import(&db, &c, &sf).await.unwrap();
        let original = queries::content_digest(&db.store).await.unwrap();
        let out = dir.path().join(format!("export-{dialect:?}"));
        let files = caducee_registry::export::export_all(&db.store, &c, &out)
            .await
            .unwrap();
        assert_eq!(files.len(), 3);
        assert!(
            files[0]
                .path
                .ends_with("PS_LibreAcces_Personne_activite_202611231000.txt"),
            "{}",
            files[0].path
        );
        assert_eq!(files[0].rows, 3);
        let header = std::fs::read_to_string(&files[0].path).unwrap();
        assert_eq!(header.lines().next().unwrap().split('|').count(), 57);
        let copy = fresh(dialect).await;
        for f in &files {
            import(&copy, &c, Path::new(&f.path)).await.unwrap();
        }
        assert_eq!(
            queries::content_digest(&copy.store).await.unwrap(),
            original,
            "{dialect:?}"
        );
        db.cleanup().await;
        copy.cleanup().await;
    }
}

#[tokio::test]
async fn reg_05_operator_sets_contact_validated_normalised_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(
        dir.path(),
        "p.txt",
        pa_header(),
        &[activity(1, "DUPONT", "10", None)],
        "\n",
    );
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        import(&db, &c, &p).await.unwrap();
        let id = queries::parse_id(&rpps(1)).unwrap();
        let bad = ContactUpdate {
            email: "pas-un-mail".into(),
            mobile: "06 12 34 56 78".into(),
            actor: "operator:test".into(),
            ..Default::default()
        };
        assert!(matches!(
            queries::set_contact(&db.store, &c, &id, &bad).await,
            Err(queries::RegistryError::BadContact(_))
        ));
        let ok = ContactUpdate {
            email: "jean.dupont@example.test".into(),
            mobile: "06 12 34 56 78".into(),
            address: Some("12 rue de la Paix 75002 Paris".into()),
            actor: "operator:test".into(),
            evidence: Some("pièce d'identité vue".into()),
        };
        let stored = queries::set_contact(&db.store, &c, &id, &ok).await.unwrap();
        assert_eq!(stored.mobile, "+33612345678");
        let p = queries::get_professional(&db.store, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.contact.unwrap().email, "jean.dupont@example.test");
        let events = caducee_store::audit::events_for(&db.store, id.as_str())
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert!(
            !events[0].details.contains("jean.dupont@"),
            "audit must hold masked values: {}",
            events[0].details
        );
        assert!(!events[0].details.contains("612345678"));
        let unknown = queries::parse_id(&rpps(99)).unwrap();
        assert!(matches!(
            queries::set_contact(&db.store, &c, &unknown, &ok).await,
            Err(queries::RegistryError::NotFound(_))
        ));
        db.cleanup().await;
    }
}

/// Issue 11 item 8 (REG-02, for ACC-01's checks): an operator sets a professional's civil
/// status; bad values get French messages that say what to type; names come from the
/// registry; absent fields keep their value; the audit names the fields, never the values.
#[tokio::test]
async fn reg_02_operator_sets_civil_status_validated_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(
        dir.path(),
        "p.txt",
        pa_header(),
        &[activity(1, "DUPONT", "10", None)],
        "\n",
    );
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        import(&db, &c, &p).await.unwrap();
        let id = queries::parse_id(&rpps(1)).unwrap();
        let update = |date: &str, place: Option<&str>, country: Option<&str>, sex: Option<&str>| {
            queries::CivilStatusUpdate {
                birth_date: date.into(),
                birth_place: place.map(str::to_string),
                birth_country: country.map(str::to_string),
                sex: sex.map(str::to_string),
                actor: "operator:test".into(),
                evidence: Some("pièce d'identité vue".into()),
            }
        };
        for (bad, says) in [
            (update("12/04/1980", None, None, None), "AAAA-MM-JJ"),
            (update("1980-02-30", None, None, None), "AAAA-MM-JJ"),
            (update("2099-01-01", None, None, None), "futur"),
            (
                update("1980-04-12", Some("Paris"), None, None),
                "code INSEE de la commune",
            ),
            (update("1980-04-12", None, Some("100"), None), "99100"),
            (update("1980-04-12", None, None, Some("X")), "M ou F"),
        ] {
            match queries::set_civil_status(&db.store, &c, &id, &bad).await {
                Err(e @ queries::RegistryError::BadIdentity(_)) => {
                    assert!(e.to_string().contains(says), "{e}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let set = queries::set_civil_status(
            &db.store,
            &c,
            &id,
            &update("1980-04-12", Some("2a004"), Some("99100"), Some("f")),
        )
        .await
        .unwrap();
        assert_eq!(
            (
                set.birth_date.as_str(),
                set.birth_place.as_str(),
                set.birth_country.as_str(),
                set.sex.as_str()
            ),
            ("1980-04-12", "2A004", "99100", "F")
        );
        assert_eq!(set.birth_name, "DUPONT");
        // A second call with the date only keeps the rest.
        queries::set_civil_status(&db.store, &c, &id, &update("1980-04-13", None, None, None))
            .await
            .unwrap();
        let p = queries::get_professional(&db.store, &id)
            .await
            .unwrap()
            .unwrap();
        let civil = p.civil_identity.unwrap();
        assert_eq!(
            (civil.birth_date.as_str(), civil.birth_place.as_str()),
            ("1980-04-13", "2A004")
        );
        let events = caducee_store::audit::events_for(&db.store, id.as_str())
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert!(events
            .iter()
            .all(|e| e.action == "registry.identity.updated"));
        assert!(!events[0].details.contains("1980"), "{}", events[0].details);
        let unknown = queries::parse_id(&rpps(99)).unwrap();
        assert!(matches!(
            queries::set_civil_status(
                &db.store,
                &c,
                &unknown,
                &update("1980-04-12", None, None, None)
            )
            .await,
            Err(queries::RegistryError::NotFound(_))
        ));
        db.cleanup().await;
    }
}

/// Issue 10 item 1: `serve --demo` on a registry that already holds an imported extract
/// (without the personas) seeds the missing personas and leaves the imported rows as they
/// were: no synthetic rows added, no imported activity ended or rewritten.
#[tokio::test]
async fn nfr_03_demo_seeds_missing_personas_beside_an_imported_registry() {
    let dir = tempfile::tempdir().unwrap();
    let real = write_file(
        dir.path(),
        "PS_LibreAcces_Personne_activite_202611230000.txt",
        pa_header(),
        &[
            activity(1, "DUPONT", "10", Some(SIRET_A)),
            activity(2, "DURAND", "60", None),
        ],
        "\n",
    );
    let personas = caducee_registry::generate::demo_personas();
    // And the persona registered without contact coordinates (REG-12).
    let uncontacted = caducee_registry::generate::persona_without_contact().unwrap();
    let seeded = personas.len() + 1;
    for dialect in BOTH {
        let db = fresh(dialect).await;
        let c = clock();
        import(&db, &c, &real).await.unwrap();
        let imported: Vec<_> = [1, 2]
            .iter()
            .map(|n| queries::parse_id(&rpps(*n)).unwrap())
            .collect();
        let mut before = Vec::new();
        for id in &imported {
            before.push(queries::get_professional(&db.store, id).await.unwrap());
        }
        c.advance(time::Duration::days(1));
        caducee_registry::demo::seed(&db.store, &c)
            .await
            .unwrap_or_else(|e| panic!("{dialect:?}: demo seeding failed: {e}"));
        for persona in &personas {
            let p =
                queries::get_professional(&db.store, &queries::parse_id(&persona.rpps).unwrap())
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("{dialect:?}: persona {} missing", persona.rpps));
            assert_eq!(p.contact.unwrap().email, persona.email);
            assert_eq!(p.civil_identity.unwrap().birth_date, persona.birth_date);
            assert_eq!(p.activities.iter().filter(|a| a.active).count(), 1);
        }
        let p =
            queries::get_professional(&db.store, &queries::parse_id(&uncontacted.rpps).unwrap())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{dialect:?}: persona without contact missing"));
        assert_eq!(p.contact, None, "{dialect:?}: no contact coordinates");
        let civil = p.civil_identity.unwrap();
        assert_eq!(
            (civil.birth_name.as_str(), civil.birth_date.as_str()),
            ("Girard", "1968-09-03")
        );
        assert_eq!(p.activities.iter().filter(|a| a.active).count(), 1);
        for (id, was) in imported.iter().zip(&before) {
            assert_eq!(
                &queries::get_professional(&db.store, id).await.unwrap(),
                was,
                "{dialect:?}: an imported professional was touched"
            );
        }
        let stats = queries::stats(&db.store).await.unwrap();
        assert_eq!(
            (stats.persons, stats.ended_activities),
            (2 + seeded as i64, 0),
            "{dialect:?}: only the personas are added, nothing is ended"
        );
        // A restart adds nothing.
        let digest = queries::content_digest(&db.store).await.unwrap();
        caducee_registry::demo::seed(&db.store, &c).await.unwrap();
        assert_eq!(queries::content_digest(&db.store).await.unwrap(), digest);
        // A newer extract, which does not list the personas, ends their activities; the
        // next demo start brings them back, still without touching the imported rows.
        c.advance(time::Duration::days(1));
        assert_eq!(import(&db, &c, &real).await.unwrap().retired, seeded as u64);
        caducee_registry::demo::seed(&db.store, &c).await.unwrap();
        assert_eq!(
            queries::content_digest(&db.store).await.unwrap(),
            digest,
            "{dialect:?}"
        );
        for (id, was) in imported.iter().zip(&before) {
            assert_eq!(
                &queries::get_professional(&db.store, id).await.unwrap(),
                was
            );
        }
        db.cleanup().await;
    }
}

/// Issue 10 item 2: the files of one kind in one session are parts of one extract, even with
/// a file of another kind between them; nothing is retired before `finish`, so a session
/// that stops after its first part (killed) and is run again ends as an uninterrupted one.
#[tokio::test]
async fn reg_10_parts_of_one_extract_retire_once_and_survive_an_interrupted_session() {
    use caducee_registry::import::ImportSession;
    let dir = tempfile::tempdir().unwrap();
    let sf_line = |n: u64, name: &str, code: &str| {
        let id = rpps(n);
        format!(
            "8|{id}|8{id}|{name}|Jean|10|Médecin|C|Civil|S|Spécialité ordinale|{code}|Spécialité|"
        )
    };
    let sf_header = FileKind::SavoirFaire.header_line();
    let old = write_file(
        dir.path(),
        "old.txt",
        pa_header(),
        &[
            activity(1, "DUPONT", "10", Some(SIRET_A)),
            activity(1, "DUPONT", "10", Some(SIRET_B)),
            activity(2, "DURAND", "60", None),
        ],
        "\n",
    );
    let old_sf = write_file(
        dir.path(),
        "old_sf.txt",
        sf_header,
        &[sf_line(2, "DURAND", "SM26")],
        "\n",
    );
    let part1 = write_file(
        dir.path(),
        "part1.txt",
        pa_header(),
        &[
            activity(1, "DUPONT", "10", Some(SIRET_A)),
            activity(3, "PETIT", "40", None),
        ],
        "\n",
    );
    let part2 = write_file(
        dir.path(),
        "part2.txt",
        pa_header(),
        &[
            activity(2, "DURAND", "60", None),
            activity(4, "MARTIN", "10", None),
        ],
        "\n",
    );
    let sf = write_file(
        dir.path(),
        "sf.txt",
        sf_header,
        &[sf_line(1, "DUPONT", "SM54")],
        "\n",
    );
    let options = ImportOptions {
        batch_lines: Some(2),
        ..Default::default()
    };
    let session = |db: &TestDb, c: &ManualClock, files: Vec<PathBuf>| {
        let store = db.store.clone();
        let c = c.clone();
        let options = options.clone();
        async move {
            let mut session = ImportSession::new(&store, &c);
            for f in &files {
                let summary = session
                    .import_file(f, &options, Arc::new(NoProgress))
                    .await
                    .unwrap();
                assert_eq!(summary.retired, 0, "nothing is retired before finish");
            }
            session.finish().await.unwrap()
        }
    };
    for dialect in BOTH {
        let reference = fresh(dialect).await;
        let db = fresh(dialect).await;
        let c = clock();
        for d in [&reference, &db] {
            import(d, &c, &old).await.unwrap();
            import(d, &c, &old_sf).await.unwrap();
        }
        c.advance(time::Duration::days(1));
        let done = session(
            &reference,
            &c,
            vec![part1.clone(), sf.clone(), part2.clone()],
        )
        .await;
        let done: Vec<_> = done
            .iter()
            .map(|r| (r.kind.as_str(), r.files, r.retired))
            .collect();
        assert_eq!(
            done,
            [
                ("PS_LibreAcces_Personne_activite", 2, 1),
                ("PS_LibreAcces_SavoirFaire", 1, 1)
            ],
            "{dialect:?}: only DUPONT's activity at B and DURAND's SM26 are listed by no file"
        );
        let stats = queries::stats(&reference.store).await.unwrap();
        assert_eq!(
            (stats.activities, stats.ended_activities, stats.know_how),
            (4, 1, 1)
        );

        // Killed after its first part: nothing is ended yet; run again, it ends the same.
        {
            let mut first = ImportSession::new(&db.store, &c);
            first
                .import_file(&part1, &options, Arc::new(NoProgress))
                .await
                .unwrap();
        }
        assert_eq!(queries::stats(&db.store).await.unwrap().ended_activities, 0);
        session(&db, &c, vec![part1.clone(), sf.clone(), part2.clone()]).await;
        assert_eq!(
            queries::content_digest(&db.store).await.unwrap(),
            queries::content_digest(&reference.store).await.unwrap(),
            "{dialect:?}"
        );
        reference.cleanup().await;
        db.cleanup().await;
    }
}

// ---------------------------------------------------------------------------------------
// REG-09: the anomaly reports' queue.
// ---------------------------------------------------------------------------------------

use caducee_core::clock::Clock;
use caducee_registry::anomaly::{self, AnomalyError, AnomalyState, Decision, NewAnomaly};

/// A registry with the demo personas only, and Jérôme Petit's idNat.
async fn with_personas(dialect: Dialect, c: &ManualClock) -> (TestDb, String) {
    let db = fresh(dialect).await;
    caducee_registry::demo::seed_personas(&db.store, c)
        .await
        .unwrap();
    let petit = caducee_registry::generate::demo_personas()
        .into_iter()
        .find(|p| p.last_name == "Petit")
        .unwrap();
    (db, petit.idnat)
}

fn report<'a>(idnat: &'a str, portal: &'a str, field: &'a str) -> NewAnomaly<'a> {
    NewAnomaly {
        idnat,
        portal,
        field,
        wrong: "  Rue de la Paix  ",
        correct: "12 rue de la Paix, 75002 Paris",
    }
}

#[tokio::test]
async fn reg_09_a_report_is_filed_received_audited_and_listed_for_its_professional() {
    for dialect in BOTH {
        let c = clock();
        let (db, idnat) = with_personas(dialect, &c).await;
        let actor = format!("ps:{idnat}");
        let filed = anomaly::file(&db.store, &c, &report(&idnat, "ror", "Adresse"), &actor)
            .await
            .unwrap();
        assert_eq!(filed.state, AnomalyState::Received);
        assert_eq!(filed.wrong, "Rue de la Paix", "{dialect:?}: trimmed");
        assert_eq!(filed.created_at, c.now().unix_timestamp());
        c.advance(time::Duration::minutes(5));
        anomaly::file(&db.store, &c, &report(&idnat, "rplus", "Nom"), &actor)
            .await
            .unwrap();

        // The professional's own, newest first; one portal's only when asked.
        let all = anomaly::for_person(&db.store, &idnat, None).await.unwrap();
        assert_eq!(
            all.iter().map(|a| a.portal.as_str()).collect::<Vec<_>>(),
            ["rplus", "ror"],
            "{dialect:?}"
        );
        let ror = anomaly::for_person(&db.store, &idnat, Some("ror"))
            .await
            .unwrap();
        assert_eq!(ror, vec![filed.clone()], "{dialect:?}");
        assert!(anomaly::for_person(&db.store, "810000000000", None)
            .await
            .unwrap()
            .is_empty());

        // Its history starts with the filing, by the professional, at the clock's time.
        let (stored, events) = anomaly::get(&db.store, &filed.id).await.unwrap().unwrap();
        assert_eq!(stored, filed);
        assert_eq!(events.len(), 1);
        assert_eq!(
            (
                events[0].from,
                events[0].to,
                events[0].actor.as_str(),
                events[0].at
            ),
            (
                None,
                AnomalyState::Received,
                actor.as_str(),
                filed.created_at
            )
        );
        let audited = db
            .store
            .count(&format!(
                "SELECT COUNT(*) FROM audit_event WHERE action = 'registry.anomaly.filed'
                 AND subject = '{idnat}' AND details NOT LIKE '%Paix%'"
            ))
            .await
            .unwrap();
        assert_eq!(audited, 2, "{dialect:?}: audited without the texts");

        // Refused: an empty or too long text, a control character, an unknown professional.
        let empty = NewAnomaly {
            wrong: "   ",
            ..report(&idnat, "ror", "Nom")
        };
        let long = "x".repeat(anomaly::TEXT_MAX + 1);
        let too_long = NewAnomaly {
            correct: &long,
            ..report(&idnat, "ror", "Nom")
        };
        let control = report(&idnat, "ror", "Nom\u{7}");
        for bad in [empty, too_long, control] {
            let e = anomaly::file(&db.store, &c, &bad, &actor)
                .await
                .unwrap_err();
            assert!(matches!(e, AnomalyError::BadInput(_)), "{dialect:?}: {e}");
        }
        let e = anomaly::file(
            &db.store,
            &c,
            &report("810000000000", "ror", "Nom"),
            "ps:810000000000",
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AnomalyError::UnknownPerson(_)), "{e}");
        // One professional cannot flood the queue: beyond the open reports allowed, refused
        // until the agency processed some.
        let other = caducee_registry::generate::demo_personas()
            .into_iter()
            .find(|p| p.last_name == "Martin")
            .unwrap()
            .idnat;
        let martin = format!("ps:{other}");
        let mut first = None;
        for _ in 0..anomaly::OPEN_MAX_PER_PERSON {
            let a = anomaly::file(&db.store, &c, &report(&other, "ror", "Nom"), &martin)
                .await
                .unwrap();
            first.get_or_insert(a.id);
        }
        let e = anomaly::file(&db.store, &c, &report(&other, "ror", "Nom"), &martin)
            .await
            .unwrap_err();
        assert!(
            matches!(e, AnomalyError::TooManyOpen(_)),
            "{dialect:?}: {e}"
        );
        let first = first.unwrap();
        anomaly::claim(&db.store, &c, &first, "agent:ars")
            .await
            .unwrap();
        anomaly::decide(&db.store, &c, &first, "agent:ars", Decision::Rejected, "")
            .await
            .unwrap();
        anomaly::file(&db.store, &c, &report(&other, "ror", "Nom"), &martin)
            .await
            .unwrap();
        assert_eq!(
            anomaly::for_person(&db.store, &idnat, None)
                .await
                .unwrap()
                .len(),
            2
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn reg_09_the_queue_moves_received_in_review_then_corrected_or_rejected_only() {
    for dialect in BOTH {
        let c = clock();
        let (db, idnat) = with_personas(dialect, &c).await;
        let actor = format!("ps:{idnat}");
        let mut ids = Vec::new();
        for field in ["Nom", "Prénom", "Adresse"] {
            let a = anomaly::file(&db.store, &c, &report(&idnat, "ror", field), &actor)
                .await
                .unwrap();
            ids.push(a.id);
        }
        let t0 = c.now().unix_timestamp();

        // The queue: oldest first (three of one second keep their filing order), paged.
        let received = anomaly::queue(&db.store, &[AnomalyState::Received], None, 10)
            .await
            .unwrap();
        assert_eq!(
            received.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
            ids,
            "{dialect:?}"
        );
        let page = anomaly::queue(
            &db.store,
            &[AnomalyState::Received],
            Some(ids[0].as_str()),
            1,
        )
        .await
        .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, ids[1], "{dialect:?}: after the first, one");

        // A decision needs a claim first.
        let e = anomaly::decide(
            &db.store,
            &c,
            &ids[0],
            "agent:ars-idf-1",
            Decision::Corrected,
            "",
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                e,
                AnomalyError::Transition {
                    from: AnomalyState::Received,
                    to: AnomalyState::Corrected
                }
            ),
            "{dialect:?}: {e}"
        );

        c.advance(time::Duration::hours(1));
        let claimed = anomaly::claim(&db.store, &c, &ids[0], "agent:ars-idf-1")
            .await
            .unwrap();
        assert_eq!(claimed.state, AnomalyState::InReview);
        assert_eq!(claimed.assignee.as_deref(), Some("agent:ars-idf-1"));
        assert_eq!(claimed.updated_at, t0 + 3600);
        // Taken once: a second agent cannot take it again.
        let e = anomaly::claim(&db.store, &c, &ids[0], "agent:ars-idf-2")
            .await
            .unwrap_err();
        assert!(matches!(e, AnomalyError::Transition { .. }), "{e}");
        // Only the agent who took it decides.
        let e = anomaly::decide(
            &db.store,
            &c,
            &ids[0],
            "agent:ars-idf-2",
            Decision::Rejected,
            "",
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AnomalyError::NotAssignee(_)), "{e}");

        c.advance(time::Duration::hours(1));
        let done = anomaly::decide(
            &db.store,
            &c,
            &ids[0],
            "agent:ars-idf-1",
            Decision::Corrected,
            "  Nom corrigé dans le RPPS  ",
        )
        .await
        .unwrap();
        assert_eq!(done.state, AnomalyState::Corrected);
        assert_eq!(
            done.decision_note.as_deref(),
            Some("Nom corrigé dans le RPPS")
        );
        // Closed: nothing moves it again.
        for decision in [Decision::Corrected, Decision::Rejected] {
            let e = anomaly::decide(&db.store, &c, &ids[0], "agent:ars-idf-1", decision, "")
                .await
                .unwrap_err();
            assert!(matches!(e, AnomalyError::Transition { .. }), "{e}");
        }
        let e = anomaly::claim(&db.store, &c, &ids[0], "agent:ars-idf-1")
            .await
            .unwrap_err();
        assert!(matches!(e, AnomalyError::Transition { .. }), "{e}");

        // The other path: taken, then rejected.
        anomaly::claim(&db.store, &c, &ids[1], "agent:ars-idf-2")
            .await
            .unwrap();
        anomaly::decide(
            &db.store,
            &c,
            &ids[1],
            "agent:ars-idf-2",
            Decision::Rejected,
            "Exact",
        )
        .await
        .unwrap();

        // Each transition kept with its time and actor.
        let (stored, events) = anomaly::get(&db.store, &ids[0]).await.unwrap().unwrap();
        assert_eq!(stored, done);
        let trail: Vec<_> = events
            .iter()
            .map(|e| (e.from, e.to, e.actor.as_str(), e.at))
            .collect();
        assert_eq!(
            trail,
            [
                (None, AnomalyState::Received, actor.as_str(), t0),
                (
                    Some(AnomalyState::Received),
                    AnomalyState::InReview,
                    "agent:ars-idf-1",
                    t0 + 3600
                ),
                (
                    Some(AnomalyState::InReview),
                    AnomalyState::Corrected,
                    "agent:ars-idf-1",
                    t0 + 7200
                ),
            ],
            "{dialect:?}"
        );
        assert_eq!(events[2].note, "Nom corrigé dans le RPPS");

        // The queue by state; the professional sees where each report is.
        let open = anomaly::queue(
            &db.store,
            &[AnomalyState::Received, AnomalyState::InReview],
            None,
            10,
        )
        .await
        .unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, ids[2]);
        let closed = anomaly::queue(
            &db.store,
            &[AnomalyState::Corrected, AnomalyState::Rejected],
            None,
            10,
        )
        .await
        .unwrap();
        assert_eq!(closed.len(), 2);
        let states: Vec<_> = anomaly::for_person(&db.store, &idnat, Some("ror"))
            .await
            .unwrap()
            .iter()
            .map(|a| a.state)
            .collect();
        assert_eq!(
            states,
            [
                AnomalyState::Received,
                AnomalyState::Rejected,
                AnomalyState::Corrected
            ],
            "{dialect:?}: newest first"
        );
        assert!(anomaly::get(&db.store, "inconnu").await.unwrap().is_none());
        let e = anomaly::claim(&db.store, &c, "inconnu", "agent:x")
            .await
            .unwrap_err();
        assert!(matches!(e, AnomalyError::NotFound(_)), "{e}");
        db.cleanup().await;
    }
}
