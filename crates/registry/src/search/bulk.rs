//! Bulk loading of the search index (issue 15): a large import into an index it will at
//! least double sets aside what costs per row — the FTS5 triggers on SQLite, the `pg_trgm`
//! GIN indexes on PostgreSQL, and the `reg_activity (structure_id)` B-tree on both — and
//! builds them once at the end ([`end`]), which is several times cheaper than keeping them
//! row by row (the FTS5 tables filled in key order, a `CREATE INDEX` sorts once).
//!
//! A first import into an empty index, on a SQLite file, leaves the index's rows to the end
//! as well: the batches write none, and [`end`] fills the index from the tables
//! ([`super::fill_natively`], one `INSERT … SELECT` a table) before it builds the rest.
//!
//! An import killed during a bulk load leaves them missing: [`repair`] (called before each
//! import and when the server starts) notices and builds them, so the index never stays
//! half-made. The SQL here must stay that of migrations 2 and 4 (`schema.rs`), which
//! created them.

use crate::import::phase;
use caducee_store::{Dialect, Store, StoreError};
use std::time::Instant;

/// A file under this size (≈ 50,000 lines of Personne_activite) is imported with the
/// per-row upkeep: setting the indexes aside and rebuilding them would cost more.
const MIN_BYTES: u64 = 16 << 20;
/// Bytes per line of the extract, roughly (the generator's and the real file's).
const BYTES_PER_LINE: u64 = 300;

/// A trigger or an index: its name and the statement that creates it.
type Named = (&'static str, &'static str);

const SQLITE_TRIGGERS: &[Named] = &[
    (
        "reg_search_person_ai",
        "CREATE TRIGGER IF NOT EXISTS reg_search_person_ai AFTER INSERT ON reg_search_person BEGIN
    INSERT INTO reg_search_person_fts (rowid, txt) VALUES (new.person_key, new.txt);
END",
    ),
    (
        "reg_search_person_ad",
        "CREATE TRIGGER IF NOT EXISTS reg_search_person_ad AFTER DELETE ON reg_search_person BEGIN
    INSERT INTO reg_search_person_fts (reg_search_person_fts, rowid, txt) VALUES ('delete', old.person_key, old.txt);
END",
    ),
    (
        "reg_search_person_au",
        "CREATE TRIGGER IF NOT EXISTS reg_search_person_au AFTER UPDATE OF txt ON reg_search_person WHEN old.txt <> new.txt BEGIN
    INSERT INTO reg_search_person_fts (reg_search_person_fts, rowid, txt) VALUES ('delete', old.person_key, old.txt);
    INSERT INTO reg_search_person_fts (rowid, txt) VALUES (new.person_key, new.txt);
END",
    ),
    (
        "reg_search_structure_ai",
        "CREATE TRIGGER IF NOT EXISTS reg_search_structure_ai AFTER INSERT ON reg_search_structure BEGIN
    INSERT INTO reg_search_structure_fts (rowid, txt) VALUES (new.structure_key, new.txt);
END",
    ),
    (
        "reg_search_structure_ad",
        "CREATE TRIGGER IF NOT EXISTS reg_search_structure_ad AFTER DELETE ON reg_search_structure BEGIN
    INSERT INTO reg_search_structure_fts (reg_search_structure_fts, rowid, txt) VALUES ('delete', old.structure_key, old.txt);
END",
    ),
    (
        "reg_search_structure_au",
        "CREATE TRIGGER IF NOT EXISTS reg_search_structure_au AFTER UPDATE OF txt ON reg_search_structure WHEN old.txt <> new.txt BEGIN
    INSERT INTO reg_search_structure_fts (reg_search_structure_fts, rowid, txt) VALUES ('delete', old.structure_key, old.txt);
    INSERT INTO reg_search_structure_fts (rowid, txt) VALUES (new.structure_key, new.txt);
END",
    ),
];

/// Indexes set aside on both engines (name, creation): B-trees built by one sort at the
/// end instead of one random insertion per row.
const BOTH_INDEXES: &[Named] = &[
    (
        "reg_activity_structure",
        "CREATE INDEX IF NOT EXISTS reg_activity_structure ON reg_activity (structure_id)",
    ),
    (
        "reg_search_person_family",
        "CREATE INDEX IF NOT EXISTS reg_search_person_family ON reg_search_person (family)",
    ),
    (
        "reg_search_person_given",
        "CREATE INDEX IF NOT EXISTS reg_search_person_given ON reg_search_person (given)",
    ),
    (
        "reg_search_person_updated",
        "CREATE INDEX IF NOT EXISTS reg_search_person_updated ON reg_search_person (last_updated)",
    ),
    (
        "reg_search_structure_city",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_city ON reg_search_structure (city)",
    ),
    (
        "reg_search_structure_postcode",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_postcode ON reg_search_structure (postcode)",
    ),
    (
        "reg_search_structure_dept",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_dept ON reg_search_structure (dept)",
    ),
    (
        "reg_search_structure_finess",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_finess ON reg_search_structure (finess)",
    ),
    (
        "reg_search_structure_siret",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_siret ON reg_search_structure (siret)",
    ),
    (
        "reg_search_structure_updated",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_updated ON reg_search_structure (last_updated)",
    ),
];

/// Rows per transaction when the FTS5 tables are filled at the end: FTS5 holds a
/// transaction's new terms in memory until it commits.
const FTS_CHUNK: i64 = 100_000;

const POSTGRES_INDEXES: &[Named] = &[
    (
        "reg_search_person_txt",
        "CREATE INDEX IF NOT EXISTS reg_search_person_txt ON reg_search_person USING gin (txt gin_trgm_ops)",
    ),
    (
        "reg_search_structure_txt",
        "CREATE INDEX IF NOT EXISTS reg_search_structure_txt ON reg_search_structure USING gin (txt gin_trgm_ops)",
    ),
];

/// Whether an import of `total_bytes` should load in bulk: large, and at least doubling
/// the index (a first import; a re-import writes few index rows and keeps the upkeep).
/// [`end`] reindexes the whole FTS5 table, so the cost stays in proportion.
pub async fn wanted(store: &Store, total_bytes: u64) -> Result<bool, StoreError> {
    if total_bytes < MIN_BYTES {
        return Ok(false);
    }
    let indexed = store
        .count("SELECT COUNT(*) FROM reg_search_person")
        .await?;
    Ok(total_bytes / BYTES_PER_LINE / 2 > indexed.max(0) as u64)
}

/// Whether the index holds no row at all: a bulk load into it may leave the rows to
/// [`end`] too (on a SQLite file, where [`super::fill_natively`] writes them from the
/// tables), as no existing row needs the per-batch upkeep.
pub async fn empty(store: &Store) -> Result<bool, StoreError> {
    let rows = store
        .count(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM reg_search_person LIMIT 1))
                  + (SELECT COUNT(*) FROM (SELECT 1 FROM reg_search_structure LIMIT 1))",
        )
        .await?;
    Ok(rows == 0)
}

/// Sets the per-row upkeep aside (one transaction).
pub async fn begin(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let (triggers, indexes): (&[Named], &[Named]) = match store.dialect() {
        Dialect::Sqlite => (SQLITE_TRIGGERS, &[]),
        Dialect::Postgres => (&[], POSTGRES_INDEXES),
    };
    for (name, _) in triggers {
        sqlx::query(&format!("DROP TRIGGER IF EXISTS {name}"))
            .execute(&mut *tx)
            .await?;
    }
    for (name, _) in indexes.iter().chain(BOTH_INDEXES) {
        sqlx::query(&format!("DROP INDEX IF EXISTS {name}"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Builds what [`begin`] set aside, from the tables as they are. On SQLite the FTS5 tables
/// are emptied and filled again in key order, a chunk per transaction (a single `rebuild`
/// would hold every term of the directory in memory until its commit); the triggers come
/// back last, so that an interruption anywhere leaves one missing and [`repair`] starts
/// over.
pub async fn end(store: &Store) -> Result<(), StoreError> {
    if store.dialect() == Dialect::Sqlite {
        // The rows a first import left to the end (see `empty`), before the FTS5 tables
        // and the B-trees are built from them.
        let at = Instant::now();
        super::fill_natively(store).await?;
        phase("index de recherche : lignes, depuis les tables", &at);
        let at = Instant::now();
        for (fts, table, key) in [
            ("reg_search_person_fts", "reg_search_person", "person_key"),
            (
                "reg_search_structure_fts",
                "reg_search_structure",
                "structure_key",
            ),
        ] {
            sqlx::query(&format!("INSERT INTO {fts} ({fts}) VALUES ('delete-all')"))
                .execute(store.pool())
                .await?;
            let max = store
                .count(&format!("SELECT COALESCE(MAX({key}), 0) FROM {table}"))
                .await?;
            let mut from = 0;
            while from < max {
                sqlx::query(&format!(
                    "INSERT INTO {fts} (rowid, txt) SELECT {key}, txt FROM {table}
                     WHERE {key} > $1 AND {key} <= $2 ORDER BY {key}"
                ))
                .bind(from)
                .bind(from + FTS_CHUNK)
                .execute(store.pool())
                .await?;
                from += FTS_CHUNK;
            }
        }
        phase("index de recherche : FTS5", &at);
    }
    let mut tx = store.begin().await?;
    let mut at = Instant::now();
    // Timed apart: the registry's own index, then the search index's (what the index
    // adds to an import, bench/import).
    let trigrams = match store.dialect() {
        Dialect::Postgres => POSTGRES_INDEXES,
        Dialect::Sqlite => &[],
    };
    let (registry, search): (Vec<&Named>, Vec<&Named>) = trigrams
        .iter()
        .chain(BOTH_INDEXES)
        .partition(|(name, _)| !name.starts_with("reg_search_"));
    for (part, indexes) in [
        ("index B-tree du registre", registry),
        ("index de recherche : B-tree et trigrammes", search),
    ] {
        for (_, create) in indexes {
            sqlx::query(create).execute(&mut *tx).await?;
        }
        phase(part, &at);
        at = Instant::now();
    }
    if store.dialect() == Dialect::Sqlite {
        for (_, create) in SQLITE_TRIGGERS {
            sqlx::query(create).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    if store.dialect() == Dialect::Postgres {
        // Fresh tables have no statistics until autovacuum comes by: the planner then
        // scans reg_activity whole for a page's 50 persons (153 ms instead of 0.6 ms).
        sqlx::query(
            "ANALYZE reg_person, reg_structure, reg_activity, reg_search_person, reg_search_structure",
        )
        .execute(store.pool())
        .await?;
    }
    Ok(())
}

/// Whether a bulk load was left unfinished (a trigger or an index missing); if so, ends
/// it. One catalogue query when all is well. Returns whether it repaired.
pub async fn repair(store: &Store) -> Result<bool, StoreError> {
    let (catalogue, names): (&str, Vec<&str>) = match store.dialect() {
        Dialect::Sqlite => (
            "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('trigger', 'index') AND name IN",
            SQLITE_TRIGGERS
                .iter()
                .chain(BOTH_INDEXES)
                .map(|(n, _)| *n)
                .collect(),
        ),
        Dialect::Postgres => (
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN",
            POSTGRES_INDEXES
                .iter()
                .chain(BOTH_INDEXES)
                .map(|(n, _)| *n)
                .collect(),
        ),
    };
    // Names are constants of this module, not input.
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let present = store
        .count(&format!("{catalogue} ({})", list.join(", ")))
        .await?;
    if present == names.len() as i64 {
        return Ok(false);
    }
    tracing::warn!(
        "index de recherche de l'annuaire incomplet (import interrompu ?) : reconstruction"
    );
    end(store).await?;
    Ok(true)
}
