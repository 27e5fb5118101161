//! The directory's search index (REG-10, issue 15) on both engines: kept by the import in
//! its transactions, normalised names, substring and prefix search, filters, keyset paging.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::{Clock, ManualClock};
use caducee_core::ids::Rpps;
use caducee_registry::format::{pa, FileKind};
use caducee_registry::import::{import_file, ImportOptions, NoProgress};
use caducee_registry::search::{
    self, Cmp, NameField, Page, PersonFilter, StructureFilter, TextMatch,
};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};
use std::path::Path;
use std::sync::Arc;
use time::macros::datetime;

fn rpps(n: u64) -> String {
    Rpps::from_payload(&format!("1{:09}", n))
        .unwrap()
        .as_str()
        .to_string()
}

fn idnat(n: u64) -> String {
    format!("8{}", rpps(n))
}

struct Person {
    n: u64,
    last: &'static str,
    first: &'static str,
    profession: &'static str,
    /// (siret, name, postcode, commune, dept)
    place: Option<(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    )>,
}

fn line(p: &Person) -> String {
    let mut f = vec![String::new(); pa::COUNT];
    let id = rpps(p.n);
    f[pa::ID_TYPE] = "8".into();
    f[pa::ID_PP] = id.clone();
    f[pa::IDNAT] = format!("8{id}");
    f[7] = p.last.into();
    f[pa::FIRST_NAME] = p.first.into();
    f[pa::PROFESSION_CODE] = p.profession.into();
    f[11] = "C".into();
    if let Some((siret, name, postcode, commune, dept)) = p.place {
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

const SIRET_A: &str = "73282932000074";
const SIRET_B: &str = "44306184100047";

fn people() -> Vec<Person> {
    let paris = Some((SIRET_A, "CABINET DU DR MARTIN", "75014", "PARIS", "75"));
    let lyon = Some((SIRET_B, "Pharmacie de l'Église", "69003", "LYON", "69"));
    vec![
        Person {
            n: 1,
            last: "MARTIN",
            first: "Julie",
            profession: "10",
            place: paris,
        },
        Person {
            n: 2,
            last: "DE LA FONTAINE",
            first: "Jean-Pierre",
            profession: "10",
            place: paris,
        },
        Person {
            n: 3,
            last: "N'GUYEN",
            first: "Hélène",
            profession: "21",
            place: lyon,
        },
        Person {
            n: 4,
            last: "Müller",
            first: "Éric",
            profession: "60",
            place: None,
        },
        Person {
            n: 5,
            last: "MARTINEZ",
            first: "Jérôme",
            profession: "70",
            place: lyon,
        },
        Person {
            n: 6,
            last: "Frasle",
            first: "Anne-Sophie",
            profession: "10",
            place: lyon,
        },
    ]
}

fn write(dir: &Path, name: &str, people: &[Person]) -> std::path::PathBuf {
    let mut s = String::from(FileKind::PersonneActivite.header_line());
    s.push('\n');
    for p in people {
        s.push_str(&line(p));
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
        &ImportOptions {
            batch_lines: Some(2),
            ..Default::default()
        },
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
}

const ALL: Page = Page {
    after: None,
    max_key: None,
    limit: 100,
};

async fn ids(store: &Store, filters: &[PersonFilter]) -> Vec<String> {
    let hits = search::search_persons(store, filters, ALL).await.unwrap();
    let count = search::count_persons(store, filters, None).await.unwrap();
    assert_eq!(count, hits.len() as i64, "{filters:?}");
    // The search page's capped count, on every filter shape: exact up to the cap, the cap
    // plus one beyond it.
    for cap in [0, 1, 2] {
        let capped = search::count_persons_capped(store, filters, None, cap)
            .await
            .unwrap();
        assert_eq!(
            capped,
            count.min(i64::from(cap) + 1),
            "{filters:?} cap {cap}"
        );
    }
    let mut ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
    ids.sort();
    ids
}

fn of(ns: &[u64]) -> Vec<String> {
    let mut v: Vec<String> = ns.iter().map(|n| idnat(*n)).collect();
    v.sort();
    v
}

fn name(field: NameField, mode: TextMatch, values: &[&str]) -> PersonFilter {
    PersonFilter::Name {
        field,
        mode,
        any_of: values.iter().map(|s| s.to_string()).collect(),
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

/// A migrated database of `dialect` with `people()` imported.
async fn imported(dialect: Dialect) -> TestDb {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
    import(&db.store, &clock, &write(dir.path(), "a.txt", &people())).await;
    db
}

async fn reg_10_search_index_follows_the_import(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let store = &db.store;
    store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
    let t0 = clock.unix();
    import(store, &clock, &write(dir.path(), "a.txt", &people())).await;

    use NameField::*;
    use TextMatch::*;
    // Substrings: accents, case, hyphens, apostrophes, words in any order.
    assert_eq!(
        ids(store, &[name(Any, Contains, &["helene"])]).await,
        of(&[3])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["HÉLÈNE"])]).await,
        of(&[3])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["nguyen"])]).await,
        of(&[3])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["n'guyen"])]).await,
        of(&[3])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["la fontaine"])]).await,
        of(&[2])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["pierre jean"])]).await,
        of(&[2])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["artin"])]).await,
        of(&[1, 5])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["frasl"])]).await,
        of(&[6])
    );
    // Two letters, one letter: no trigram, still found.
    assert_eq!(ids(store, &[name(Any, Contains, &["ez"])]).await, of(&[5]));
    assert_eq!(ids(store, &[name(Any, Contains, &["Mü"])]).await, of(&[4]));
    assert_eq!(
        ids(store, &[name(Any, Contains, &["tin ju"])]).await,
        of(&[1])
    );
    // Comma = OR, repetition = AND.
    assert_eq!(
        ids(store, &[name(Any, Contains, &["helene", "muller"])]).await,
        of(&[3, 4])
    );
    assert_eq!(
        ids(
            store,
            &[
                name(Any, Contains, &["mart"]),
                name(Any, Contains, &["jer"])
            ]
        )
        .await,
        of(&[5])
    );
    assert_eq!(
        ids(store, &[name(Family, Contains, &["julie"])]).await,
        of(&[])
    );
    // Starts with (FHIR's default).
    assert_eq!(
        ids(store, &[name(Family, StartsWith, &["mart"])]).await,
        of(&[1, 5])
    );
    assert_eq!(
        ids(store, &[name(Family, StartsWith, &["martin"])]).await,
        of(&[1, 5])
    );
    assert_eq!(
        ids(store, &[name(Family, StartsWith, &["artin"])]).await,
        of(&[])
    );
    assert_eq!(
        ids(store, &[name(Given, StartsWith, &["jean-p"])]).await,
        of(&[2])
    );
    assert_eq!(
        ids(store, &[name(Any, StartsWith, &["eric"])]).await,
        of(&[4])
    );
    // Exact: as stored.
    assert_eq!(
        ids(store, &[name(Family, Exact, &["MARTIN"])]).await,
        of(&[1])
    );
    assert_eq!(
        ids(store, &[name(Family, Exact, &["Martin"])]).await,
        of(&[])
    );
    assert_eq!(ids(store, &[name(Any, Exact, &["Hélène"])]).await, of(&[3]));
    assert_eq!(ids(store, &[name(Any, Exact, &["Helene"])]).await, of(&[]));
    // Identifier, profession, places.
    assert_eq!(
        ids(store, &[PersonFilter::Idnat(of(&[2, 4]))]).await,
        of(&[2, 4])
    );
    assert_eq!(
        ids(store, &[PersonFilter::Profession(strings(&["10"]))]).await,
        of(&[1, 2, 6])
    );
    assert_eq!(
        ids(store, &[PersonFilter::Profession(strings(&["21", "60"]))]).await,
        of(&[3, 4])
    );
    assert_eq!(
        ids(store, &[PersonFilter::Postcode(strings(&["75"]))]).await,
        of(&[1, 2])
    );
    assert_eq!(
        ids(store, &[PersonFilter::City(strings(&["lyo"]))]).await,
        of(&[3, 5, 6])
    );
    assert_eq!(
        ids(
            store,
            &[
                PersonFilter::Dept(strings(&["69"])),
                PersonFilter::Profession(strings(&["10"]))
            ]
        )
        .await,
        of(&[6])
    );
    assert_eq!(
        ids(
            store,
            &[
                name(Any, Contains, &["mart"]),
                PersonFilter::Dept(strings(&["75"]))
            ]
        )
        .await,
        of(&[1])
    );
    assert_eq!(
        ids(store, &[PersonFilter::Active(true)]).await,
        of(&[1, 2, 3, 4, 5, 6])
    );
    assert_eq!(ids(store, &[PersonFilter::Active(false)]).await, of(&[]));

    // Structures.
    let sids = |filters: Vec<StructureFilter>| async move {
        let hits = search::search_structures(store, &filters, ALL)
            .await
            .unwrap();
        let count = search::count_structures(store, &filters, None)
            .await
            .unwrap();
        assert_eq!(count, hits.len() as i64);
        let mut v: Vec<String> = hits.into_iter().map(|h| h.id).collect();
        v.sort();
        v
    };
    let a = format!("C{SIRET_A}");
    let b = format!("C{SIRET_B}");
    assert_eq!(
        sids(vec![StructureFilter::Name {
            mode: Contains,
            any_of: strings(&["eglise"])
        }])
        .await,
        [b.as_str()]
    );
    assert_eq!(
        sids(vec![StructureFilter::Name {
            mode: StartsWith,
            any_of: strings(&["cabinet du"])
        }])
        .await,
        [a.as_str()]
    );
    assert_eq!(
        sids(vec![StructureFilter::Identifier(strings(&[SIRET_B]))]).await,
        [b.as_str()]
    );
    assert_eq!(
        sids(vec![StructureFilter::City(strings(&["Paris"]))]).await,
        [a.as_str()]
    );
    assert_eq!(
        sids(vec![StructureFilter::Postcode(strings(&["69"]))]).await,
        [b.as_str()]
    );
    assert_eq!(
        sids(vec![StructureFilter::Sector(strings(&["SA07"]))]).await,
        [b.as_str(), a.as_str()]
    );

    // A newer extract: Müller is gone, Martin renamed. Their `last_updated` moves; the
    // others' does not.
    clock.advance(time::Duration::hours(1));
    let t1 = clock.unix();
    let mut newer = people();
    newer.retain(|p| p.n != 4);
    newer[0].last = "MARTIN-DURAND";
    import(store, &clock, &write(dir.path(), "b.txt", &newer)).await;
    assert_eq!(ids(store, &[PersonFilter::Active(false)]).await, of(&[4]));
    assert_eq!(
        ids(store, &[PersonFilter::LastUpdated(Cmp::Gt, t0)]).await,
        of(&[1, 4])
    );
    assert_eq!(
        ids(store, &[PersonFilter::LastUpdated(Cmp::Le, t0)]).await,
        of(&[2, 3, 5, 6])
    );
    assert_eq!(
        ids(store, &[PersonFilter::LastUpdated(Cmp::Eq, t1)]).await,
        of(&[1, 4])
    );
    assert_eq!(
        ids(store, &[name(Any, Contains, &["durand"])]).await,
        of(&[1])
    );
    assert_eq!(
        ids(store, &[name(Family, StartsWith, &["martin durand"])]).await,
        of(&[1])
    );
    // The same file again changes nothing.
    clock.advance(time::Duration::hours(1));
    import(store, &clock, &write(dir.path(), "c.txt", &newer)).await;
    assert_eq!(
        ids(store, &[PersonFilter::LastUpdated(Cmp::Gt, t1)]).await,
        of(&[])
    );

    // Keyset paging, bounded by the first page's largest key: a person added while paging
    // does not appear.
    let max = search::max_person_key(store).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            after,
            max_key: Some(max),
            limit: 2,
        };
        let hits = search::search_persons(store, &[], page).await.unwrap();
        if seen.is_empty() {
            let mut more = people();
            more.push(Person {
                n: 7,
                last: "AAA",
                first: "Nouveau",
                profession: "10",
                place: None,
            });
            import(store, &clock, &write(dir.path(), "d.txt", &more)).await;
        }
        if hits.is_empty() {
            break;
        }
        after = hits.last().map(|h| h.key);
        seen.extend(hits.into_iter().map(|h| h.id));
    }
    seen.sort();
    assert_eq!(seen, of(&[1, 2, 3, 4, 5, 6]));
    assert_eq!(
        search::count_persons(store, &[], Some(max)).await.unwrap(),
        6
    );
    assert_eq!(search::count_persons(store, &[], None).await.unwrap(), 7);
    assert_eq!(
        search::count_persons_capped(store, &[], Some(max), 5)
            .await
            .unwrap(),
        6
    );
    db.cleanup().await;
}

/// A database filled before the index existed gets its rows indexed once.
async fn reg_10_search_index_fills_what_it_misses(dialect: Dialect) {
    let db = imported(dialect).await;
    let store = &db.store;
    sqlx::query("DELETE FROM reg_search_person")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM reg_search_structure")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        ids(
            store,
            &[name(NameField::Any, TextMatch::Contains, &["helene"])]
        )
        .await,
        of(&[])
    );
    assert_eq!(search::index_missing(store).await.unwrap(), 6 + 2);
    assert_eq!(search::index_missing(store).await.unwrap(), 0);
    assert_eq!(
        ids(
            store,
            &[name(NameField::Any, TextMatch::Contains, &["helene"])]
        )
        .await,
        of(&[3])
    );
    db.cleanup().await;
}

/// A large first import loads the index in bulk (triggers / trigram indexes set aside, built
/// at the end); one killed half-way leaves them missing, and the next start repairs them.
async fn reg_10_search_index_bulk_load_and_repair(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let store = &db.store;
    store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
    import_file(
        store,
        &clock,
        &write(dir.path(), "a.txt", &people()),
        &ImportOptions {
            batch_lines: Some(2),
            bulk_index: Some(true),
            ..Default::default()
        },
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    let helene = [name(NameField::Any, TextMatch::Contains, &["helene"])];
    assert_eq!(ids(store, &helene).await, of(&[3]));
    assert!(!search::bulk::repair(store).await.unwrap());
    // Killed during a bulk load: the upkeep is set aside, rows come in unindexed.
    search::bulk::begin(store).await.unwrap();
    let mut more = people();
    more.push(Person {
        n: 7,
        last: "HÉLÈNE-BIS",
        first: "Zoé",
        profession: "10",
        place: None,
    });
    import(store, &clock, &write(dir.path(), "b.txt", &more)).await;
    search::bulk::begin(store).await.unwrap();
    assert!(search::bulk::repair(store).await.unwrap());
    assert!(!search::bulk::repair(store).await.unwrap());
    assert_eq!(ids(store, &helene).await, of(&[3, 7]));
    // The per-row upkeep is back: a rename is found at once.
    let mut renamed = more;
    renamed[6].last = "ZYGOMAR";
    import(store, &clock, &write(dir.path(), "c.txt", &renamed)).await;
    assert_eq!(ids(store, &helene).await, of(&[3]));
    assert_eq!(
        ids(
            store,
            &[name(NameField::Any, TextMatch::Contains, &["zygo"])]
        )
        .await,
        of(&[7])
    );
    db.cleanup().await;
}

/// Each `Detail` is the professional of `get_professional` in part: the same identity,
/// professions and know-how, and of the activities what the detail promises.
async fn reg_10_each_detail_is_the_professional_in_part(dialect: Dialect) {
    use caducee_registry::queries::{self, Coded, Professional, Structure};
    use caducee_registry::search::Detail;
    let db = imported(dialect).await;
    let store = &db.store;
    let ids: Vec<String> = people().iter().map(|p| idnat(p.n)).collect();
    let mut whole = Vec::new();
    for id in &ids {
        let p = queries::get_professional(store, &queries::parse_id(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        whole.push(Professional {
            civil_identity: None,
            diplomas: Vec::new(),
            contact: None,
            mssante: Vec::new(),
            ..p
        });
    }
    let keep = |s: &Structure, all: bool| Structure {
        id: s.id.clone(),
        name: if all { s.name.clone() } else { String::new() },
        postcode: if all {
            s.postcode.clone()
        } else {
            String::new()
        },
        city: if all { s.city.clone() } else { String::new() },
        siret: String::new(),
        siren: String::new(),
        finess: String::new(),
        finess_legal_entity: String::new(),
        trade_name: String::new(),
        address: Vec::new(),
        country: String::new(),
        phone: String::new(),
        email: String::new(),
        sector: Coded::default(),
        department: Coded::default(),
    };
    for detail in [Detail::Cards, Detail::Codes, Detail::Professions] {
        let expected: Vec<Professional> = whole
            .iter()
            .cloned()
            .map(|mut p| {
                for a in &mut p.activities {
                    if detail != Detail::Codes {
                        a.mode = Coded::default();
                        a.role = Coded::default();
                        a.genre = Coded::default();
                        a.know_how = Coded::default();
                        a.pharmacist_section = Coded::default();
                    }
                    a.structure = match detail {
                        Detail::Professions => None,
                        _ => a
                            .structure
                            .as_ref()
                            .map(|s| keep(s, detail == Detail::Cards)),
                    };
                }
                p
            })
            .collect();
        let got = search::public_professionals(store, &ids, detail)
            .await
            .unwrap();
        assert_eq!(got, expected, "{detail:?}");
    }
    // What a card shows is there: the structure's name and town.
    let martin = &whole[0].activities[0].structure;
    assert_eq!(
        martin.as_ref().map(|s| (s.name.as_str(), s.city.as_str())),
        Some(("CABINET DU DR MARTIN", "PARIS"))
    );
    db.cleanup().await;
}

on_both_engines! {
    reg_10_search_index_bulk_load_and_repair => reg_10_search_index_bulk_load_and_repair;
    reg_10_search_index_follows_the_import => reg_10_search_index_follows_the_import;
    reg_10_search_index_fills_what_it_misses => reg_10_search_index_fills_what_it_misses;
    reg_10_each_detail_is_the_professional_in_part => reg_10_each_detail_is_the_professional_in_part;
}

/// The index's rows of a store, in a comparable form (keys left out).
async fn index_rows(store: &Store) -> (Vec<String>, Vec<String>) {
    let persons = sqlx::query_scalar(
        "SELECT idnat || ' ' || family || ' ' || given || ' ' || txt || ' ' || CAST(last_updated AS TEXT)
         FROM reg_search_person ORDER BY idnat",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let structures = sqlx::query_scalar(
        "SELECT id || ' ' || txt || ' ' || city || ' ' || postcode || ' ' || dept || ' ' || sector
            || ' ' || finess || ' ' || siret || ' ' || row_hash || ' ' || CAST(last_updated AS TEXT)
         FROM reg_search_structure ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    (persons, structures)
}

/// A first import into an empty index, on a SQLite file, writes no index row with its
/// batches: the bulk load's end fills the index from the tables in one statement a table
/// (`search::fill_natively`, the normalisation as an SQL function). The index it makes is
/// the one the batches make, row for row, and searches find the same; killed before its
/// end, the next start makes it whole.
#[tokio::test]
async fn reg_10_first_import_fills_the_index_from_the_tables_as_the_batches_would() {
    use caducee_registry::generate::{generate_personne_activite, GenerateOptions};
    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join("PS_LibreAcces_Personne_activite_202611230000.txt");
    let opts = GenerateOptions {
        rows: 3000,
        seed: 7,
        crlf: false,
    };
    generate_personne_activite(&opts, std::fs::File::create(&file).unwrap()).unwrap();
    let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
    let mut made = Vec::new();
    for bulk in [false, true] {
        let db = TestDb::sqlite().await;
        db.store
            .migrate(&caducee_registry::migrations())
            .await
            .unwrap();
        let options = ImportOptions {
            batch_lines: Some(500),
            bulk_index: Some(bulk),
            ..Default::default()
        };
        import_file(&db.store, &clock, &file, &options, Arc::new(NoProgress))
            .await
            .unwrap();
        let rows = index_rows(&db.store).await;
        assert!(
            rows.0.len() > 1000 && rows.1.len() > 500,
            "{} persons, {} structures",
            rows.0.len(),
            rows.1.len()
        );
        let found = ids_of(&db.store, "lef").await;
        made.push((rows, found, db));
    }
    let (by_batches, found_by_batches, _) = &made[0];
    let (by_fill, found_by_fill, db) = &made[1];
    assert_eq!(by_fill.0, by_batches.0, "persons");
    assert_eq!(by_fill.1, by_batches.1, "structures");
    assert!(!found_by_fill.is_empty());
    assert_eq!(found_by_fill, found_by_batches);

    // Killed after its lines, before its end: the index is empty, its upkeep set aside;
    // the next start (index_missing) fills it and builds the rest.
    let store = &db.store;
    search::bulk::begin(store).await.unwrap();
    for table in ["reg_search_person", "reg_search_structure"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(store.pool())
            .await
            .unwrap();
    }
    assert!(search::bulk::empty(store).await.unwrap());
    search::index_missing(store).await.unwrap();
    assert!(!search::bulk::repair(store).await.unwrap());
    assert_eq!(&index_rows(store).await, by_batches);
    assert_eq!(&ids_of(store, "lef").await, found_by_batches);
}

/// The persons whose names contain `text` (FTS5 on SQLite), in key order.
async fn ids_of(store: &Store, text: &str) -> Vec<String> {
    ids(store, &[name(NameField::Any, TextMatch::Contains, &[text])]).await
}

/// PostgreSQL keeps finer statistics of the indexed texts (migration 8), so that the
/// planner weighs a substring pattern right and walks the key order for a frequent word
/// instead of sorting all its matches (see `schema.rs`, `TRIGRAM_STATISTICS`).
#[tokio::test]
async fn reg_10_search_text_statistics_are_fine_grained_on_postgres() {
    let db = TestDb::postgres().await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    for table in ["reg_search_person", "reg_search_structure"] {
        let target = db
            .store
            .count(&format!(
                "SELECT attstattarget::BIGINT FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = 'txt'"
            ))
            .await
            .unwrap();
        assert_eq!(target, 1000, "{table}");
    }
    db.cleanup().await;
}
