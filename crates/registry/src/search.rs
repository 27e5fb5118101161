//! The public directory's search index (REG-10, issue 15): normalised names of persons and
//! structures, substring and prefix search, keyset paging.
//!
//! **Normalisation** ([`words`]): lower case, accents and ligatures folded (`É` → `e`,
//! `œ` → `oe`), apostrophes dropped (`N'Guyen` → `nguyen`), every other non-alphanumeric
//! character a word boundary (`Jean-Pierre` → `jean`, `pierre`). A stored name is the
//! concatenation of its words ([`key`]: `De La Fontaine` → `delafontaine`); a person's
//! indexed text is `family|given`. A query is normalised the same way and each of its words
//! must appear in the text, so `la fontaine`, `Lafontaine` and `fontaine` all find
//! `DE LA FONTAINE`, and `jean pierre` finds `Jean-Pierre`.
//!
//! **Substring search** (`name:contains`): on SQLite an FTS5 table with the trigram
//! tokenizer (`detail=none`, every match rechecked with `instr`); on PostgreSQL a `pg_trgm`
//! GIN index under `LIKE '%…%'`. Words of one or two letters have no trigram: they are
//! checked on the rows the other words select, or, alone, by walking the key order until
//! the page is full (fast for the frequent ones, a full scan for a rare pair with no
//! match). Measured on 1.7 million persons (2.2 million generated rows), a page of 51
//! rows: 1–2 ms for 3 to 10 letters on both engines, ~1 ms for a frequent pair of letters,
//! 240 ms (SQLite) / 390 ms (PostgreSQL) for a pair that matches nothing; see issue 15.
//!
//! **Prefix search** (FHIR's default string match, `family=fra`): a range on the stored
//! key (`family >= 'fra' AND family < 'fra~'`; keys hold only `[a-z0-9]`, all below `~`),
//! with a B-tree index (binary collation on both engines).
//!
//! **Paging**: rows are returned in key order (`person_key`, `structure_key`: insertion
//! order, never reused), after the key of the previous page's last row and up to the largest
//! key of the first page ([`Page::max_key`]), so a row inserted while a client pages (an
//! import running) never shifts a page or appears half-way.
//!
//! **Upkeep**: the import calls [`index_persons`], [`index_structures`] and [`touch_persons`]
//! in the transaction of each batch, for the rows its upserts report changed (`RETURNING`:
//! an unchanged extract writes no index row), and [`touch_retired`] in the transaction that
//! ends activities; `last_updated` is the newest change of the person, their activities,
//! know-how or diplomas (what a Practitioner shows). A large first import loads in bulk
//! ([`bulk`]): on a SQLite file it writes no index row with its batches, and
//! [`fill_natively`] fills the index from the tables at the end. [`index_missing`] makes
//! the index whole at start and after an import.

pub mod bulk;
mod professionals;

use caducee_store::{Dialect, Store, StoreError, Value, Writes};
use sqlx::Row;
use unicode_normalization::UnicodeNormalization;

/// The words of `s`, normalised (see the module documentation).
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in s.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            '\'' | '’' | '‘' | 'ʼ' | '`' | '´' => {}
            'œ' | 'Œ' => word.push_str("oe"),
            'æ' | 'Æ' => word.push_str("ae"),
            'ß' => word.push_str("ss"),
            'ø' | 'Ø' => word.push('o'),
            'đ' | 'Đ' => word.push('d'),
            'ł' | 'Ł' => word.push('l'),
            c if c.is_alphanumeric() => {
                for l in c.to_lowercase() {
                    if l.is_ascii_alphanumeric() {
                        word.push(l);
                    }
                }
            }
            _ => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The normalised key of a name: its words, concatenated.
pub fn key(s: &str) -> String {
    words(s).concat()
}

/// The indexed text of a person: `family|given`.
pub fn person_text(last_name: &str, first_name: &str) -> String {
    format!("{}|{}", key(last_name), key(first_name))
}

// ---------------------------------------------------------------------------------------
// Upkeep, called by the import in its transactions.

/// A person as a batch of the import gives it.
#[derive(Debug, Clone, Copy)]
pub struct PersonEntry<'a> {
    pub idnat: &'a str,
    pub last_name: &'a str,
    pub first_name: &'a str,
}

/// A structure as a batch of the import gives it (`row_hash`: the structure row's content
/// hash, so that an unchanged structure is not rewritten).
#[derive(Debug, Clone, Copy)]
pub struct StructureEntry<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub trade_name: &'a str,
    pub commune: &'a str,
    pub cedex: &'a str,
    pub postcode: &'a str,
    pub dept: &'a str,
    pub sector: &'a str,
    pub finess: &'a str,
    pub siret: &'a str,
    pub row_hash: &'a str,
}

/// Rows per statement of the upkeep (fixed size: prepared once, reused).
const ROWS_PER_STATEMENT: usize = 250;

/// Adds or rewrites the persons of a batch whose `reg_person` row the batch changed.
/// `overwrite = false` (SavoirFaire, Dipl_AutExerc) only adds persons the index does not
/// know, as the import does for `reg_person`. New and renamed rows get `last_updated =
/// now`; the caller touches the others ([`touch_persons`]: the person's row changed even
/// when the names did not, and the civility is shown too).
pub async fn index_persons(
    w: &mut impl Writes,
    dialect: Dialect,
    now: i64,
    entries: &[PersonEntry<'_>],
    overwrite: bool,
) -> Result<(), StoreError> {
    let conflict = if overwrite {
        // Only a real rename rewrites the names: an UPDATE naming `txt` fires the FTS5
        // trigger (a delete and an insert of every trigram) even for the same value. The
        // caller moves `last_updated` of the other changed persons (touch_persons).
        "DO UPDATE SET family = excluded.family, given = excluded.given, txt = excluded.txt,
            last_updated = excluded.last_updated WHERE reg_search_person.txt <> excluded.txt"
    } else {
        "DO NOTHING"
    };
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO reg_search_person (idnat, family, given, txt, last_updated) VALUES {}
             ON CONFLICT (idnat) {conflict}",
            caducee_store::values_placeholders(dialect, chunk.len(), 5)
        );
        let mut values = Vec::with_capacity(chunk.len() * 5);
        for e in chunk {
            let family = key(e.last_name);
            let given = key(e.first_name);
            let txt = format!("{family}|{given}");
            values.extend([
                Value::Text(e.idnat),
                Value::Owned(family),
                Value::Owned(given),
                Value::Owned(txt),
                Value::Int(now),
            ]);
        }
        w.run(&sql, chunk.len() == ROWS_PER_STATEMENT, &values)
            .await?;
    }
    Ok(())
}

/// Adds or updates the structures of a batch (`last_updated` moves when the row's hash
/// changed).
pub async fn index_structures(
    w: &mut impl Writes,
    dialect: Dialect,
    now: i64,
    entries: &[StructureEntry<'_>],
) -> Result<(), StoreError> {
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO reg_search_structure (id, txt, city, postcode, dept, sector, finess, siret, row_hash, last_updated)
             VALUES {}
             ON CONFLICT (id) DO UPDATE SET txt = excluded.txt, city = excluded.city,
                postcode = excluded.postcode, dept = excluded.dept, sector = excluded.sector,
                finess = excluded.finess, siret = excluded.siret, row_hash = excluded.row_hash,
                last_updated = excluded.last_updated
             WHERE reg_search_structure.row_hash <> excluded.row_hash",
            caducee_store::values_placeholders(dialect, chunk.len(), 10)
        );
        let mut values = Vec::with_capacity(chunk.len() * 10);
        for e in chunk {
            let city = if e.commune.is_empty() {
                e.cedex
            } else {
                e.commune
            };
            values.extend([
                Value::Text(e.id),
                Value::Owned(format!("{}|{}", key(e.name), key(e.trade_name))),
                Value::Owned(key(city)),
                Value::Text(e.postcode),
                Value::Text(e.dept),
                Value::Text(e.sector),
                Value::Text(e.finess),
                Value::Text(e.siret),
                Value::Text(e.row_hash),
                Value::Int(now),
            ]);
        }
        w.run(&sql, chunk.len() == ROWS_PER_STATEMENT, &values)
            .await?;
    }
    Ok(())
}

/// What a retirement removes or ends, for [`touch_retired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Persons and activities (Personne_activite).
    Activities,
    KnowHow,
    Diplomas,
}

/// Moves `last_updated` to `now` for these persons (the import knows, from its upserts,
/// whose activities, know-how or diplomas a batch changed).
pub async fn touch_persons(
    w: &mut impl Writes,
    now: i64,
    idnats: &[&str],
) -> Result<(), StoreError> {
    for chunk in idnats.chunks(ROWS_PER_STATEMENT) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE reg_search_person SET last_updated = $1
             WHERE last_updated < $1 AND idnat IN ({})",
            list.join(", ")
        );
        let values: Vec<Value> = std::iter::once(Value::Int(now))
            .chain(chunk.iter().map(|id| Value::Text(id)))
            .collect();
        w.run(&sql, chunk.len() == ROWS_PER_STATEMENT, &values)
            .await?;
    }
    Ok(())
}

/// Before the import's retirement step, in its transaction: moves `last_updated` of the
/// persons who are about to lose an activity, know-how or diploma (rows not seen by
/// `run_id`).
pub async fn touch_retired(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now: i64,
    written: Written,
    run_id: &str,
) -> Result<(), StoreError> {
    let rows = match written {
        Written::Activities => {
            "SELECT idnat FROM reg_activity WHERE ended_at IS NULL AND seen_run <> $2"
        }
        Written::KnowHow => "SELECT idnat FROM reg_know_how WHERE seen_run <> $2",
        Written::Diplomas => "SELECT idnat FROM reg_diploma WHERE seen_run <> $2",
    };
    sqlx::query(&format!(
        "UPDATE reg_search_person SET last_updated = $1 WHERE last_updated < $1 AND idnat IN ({rows})"
    ))
    .bind(now)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes the index whole, cheaply when it is (a catalogue query and four counts): ends a
/// bulk load an interrupted import left unfinished ([`bulk::repair`]), then indexes the
/// persons and structures the index does not hold yet (a database filled before the index
/// existed, rows written outside the import): on a SQLite file in one statement a table
/// ([`fill_natively`]), elsewhere in batches of 10,000 rows. Called when the server starts
/// and after each import command; returns how many rows it added. Idempotent.
pub async fn index_missing(store: &Store) -> Result<u64, StoreError> {
    bulk::repair(store).await?;
    if let Some(added) = fill_natively(store).await? {
        return Ok(added);
    }
    let mut added = 0u64;
    let missing =
        "SELECT (SELECT COUNT(*) FROM reg_person) - (SELECT COUNT(*) FROM reg_search_person)";
    // The index never holds a person the registry lacks (persons are never deleted), so
    // equal counts mean nothing is missing.
    while store.count(missing).await? > 0 {
        let rows = sqlx::query(
            "SELECT p.idnat, p.last_name, p.first_name, p.updated_at FROM reg_person p
             WHERE NOT EXISTS (SELECT 1 FROM reg_search_person s WHERE s.idnat = p.idnat)
             ORDER BY p.idnat LIMIT 10000",
        )
        .fetch_all(store.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = store.begin().await?;
        let mut owned = Vec::with_capacity(rows.len());
        for r in &rows {
            owned.push((
                r.try_get::<String, _>("idnat")?,
                r.try_get::<String, _>("last_name")?,
                r.try_get::<String, _>("first_name")?,
                r.try_get::<i64, _>("updated_at")?,
            ));
        }
        // One `now` per statement: rows of the same `updated_at` go together.
        owned.sort_by_key(|o| o.3);
        for same in owned.chunk_by(|a, b| a.3 == b.3) {
            let entries: Vec<PersonEntry> = same
                .iter()
                .map(|(idnat, last, first, _)| PersonEntry {
                    idnat,
                    last_name: last,
                    first_name: first,
                })
                .collect();
            index_persons(&mut *tx, store.dialect(), same[0].3, &entries, false).await?;
        }
        tx.commit().await?;
        added += rows.len() as u64;
    }
    let missing =
        "SELECT (SELECT COUNT(*) FROM reg_structure) - (SELECT COUNT(*) FROM reg_search_structure)";
    while store.count(missing).await? > 0 {
        let rows = sqlx::query(
            "SELECT * FROM reg_structure t
             WHERE NOT EXISTS (SELECT 1 FROM reg_search_structure s WHERE s.id = t.id)
             ORDER BY t.id LIMIT 10000",
        )
        .fetch_all(store.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = store.begin().await?;
        for r in &rows {
            let get = |c: &str| r.try_get::<String, _>(c);
            let (id, name, trade, commune, cedex) = (
                get("id")?,
                get("name")?,
                get("trade_name")?,
                get("commune")?,
                get("cedex")?,
            );
            let (postcode, dept, sector, finess, siret, hash) = (
                get("postcode")?,
                get("dept_code")?,
                get("sector_code")?,
                get("finess")?,
                get("siret")?,
                get("row_hash")?,
            );
            let updated: i64 = r.try_get("updated_at")?;
            let entry = StructureEntry {
                id: &id,
                name: &name,
                trade_name: &trade,
                commune: &commune,
                cedex: &cedex,
                postcode: &postcode,
                dept: &dept,
                sector: &sector,
                finess: &finess,
                siret: &siret,
                row_hash: &hash,
            };
            index_structures(&mut *tx, store.dialect(), updated, &[entry]).await?;
        }
        tx.commit().await?;
        added += rows.len() as u64;
    }
    Ok(added)
}

/// The `INSERT … SELECT` of one table of the index, given its filter on the rows to fill.
type FillSql = fn(&str) -> String;

/// What [`key`] is called in the SQL of [`fill_natively`].
const KEY_FUNCTION: &str = "caducee_key";

/// Indexes the persons and structures the index lacks, on a SQLite file: one `INSERT …
/// SELECT` a table on a connection of SQLite's own API, where [`key`] is an SQL function,
/// instead of reading the rows out and writing them back. A first import leaves the whole
/// index to it (`bulk.rs`): measured at 2.2 million rows, this fills 1.7 million persons
/// and their 1.1 million structures in 10 s, where writing the same rows with each batch
/// cost 22 s (bench/README.md, 2026-12-03). `last_updated` is the row's `updated_at`, as
/// in the loop of [`index_missing`]: the rows it fills were written by one import (a first
/// one, or one killed before its end), whose activities carry the same time; looking up
/// each person's newest activity would add 3.7 s at 2.2 million rows. `None` when the
/// store is not a SQLite file (no native connection).
pub async fn fill_natively(store: &Store) -> Result<Option<u64>, StoreError> {
    let Some(mut native) = store.native_sqlite()? else {
        return Ok(None);
    };
    // `OFFSET 0` keeps SQLite from flattening the subquery into the INSERT, which would
    // call the function once per use of `family` and `given`, not once. `{unindexed}`:
    // the filter on rows the index lacks, below.
    let persons = |unindexed: &str| {
        format!(
            "INSERT INTO reg_search_person (idnat, family, given, txt, last_updated)
             SELECT idnat, family, given, family || '|' || given, updated_at FROM (
                SELECT t.idnat, {KEY_FUNCTION}(t.last_name) AS family,
                    {KEY_FUNCTION}(t.first_name) AS given, t.updated_at
                FROM reg_person t {unindexed} LIMIT -1 OFFSET 0)"
        )
    };
    let structures = |unindexed: &str| {
        format!(
            "INSERT INTO reg_search_structure
                (id, txt, city, postcode, dept, sector, finess, siret, row_hash, last_updated)
             SELECT t.id, {KEY_FUNCTION}(t.name) || '|' || {KEY_FUNCTION}(t.trade_name),
                {KEY_FUNCTION}(CASE WHEN t.commune = '' THEN t.cedex ELSE t.commune END),
                t.postcode, t.dept_code, t.sector_code, t.finess, t.siret, t.row_hash,
                t.updated_at
             FROM reg_structure t {unindexed}"
        )
    };
    let tables: [(&str, &str, &str, FillSql); 2] = [
        ("reg_person", "reg_search_person", "idnat", persons),
        ("reg_structure", "reg_search_structure", "id", structures),
    ];
    let mut wanted = Vec::new();
    for (table, index, column, fill) in tables {
        let indexed = store
            .count(&format!("SELECT COUNT(*) FROM {index}"))
            .await?;
        // The index never holds a row the registry lacks (rows are never deleted): equal
        // counts spare the scan of a table whose rows are all indexed.
        if store
            .count(&format!("SELECT COUNT(*) FROM {table}"))
            .await?
            == indexed
        {
            continue;
        }
        // An empty index is filled without looking into it: an `INSERT … SELECT` that
        // reads the table it writes runs the whole `SELECT` into a temporary table first
        // (1.7 million rows held in memory).
        wanted.push(fill(&if indexed == 0 {
            String::new()
        } else {
            format!("WHERE NOT EXISTS (SELECT 1 FROM {index} i WHERE i.{column} = t.{column})")
        }));
    }
    if wanted.is_empty() {
        return Ok(Some(0));
    }
    let fill = move || -> Result<u64, StoreError> {
        native.define_text_function(KEY_FUNCTION, key)?;
        let mut added = 0;
        for sql in wanted {
            native.begin()?;
            match native.execute(&sql, false, &[]) {
                Ok(n) => added += n,
                Err(e) => {
                    let _ = native.rollback();
                    return Err(e);
                }
            }
            native.commit()?;
        }
        Ok(added)
    };
    tokio::task::spawn_blocking(fill)
        .await
        .map_err(|e| StoreError::Native(e.to_string()))?
        .map(Some)
}

// ---------------------------------------------------------------------------------------
// Queries.

/// How a string parameter matches (FHIR: default, `:contains`, `:exact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMatch {
    /// The value starts with the query, case and accents ignored.
    StartsWith,
    /// Every word of the query appears in the value, case and accents ignored.
    Contains,
    /// The value is exactly the query, as stored (case and accents matter).
    Exact,
}

/// Which name of a person a text filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    Family,
    Given,
    /// Family or given name.
    Any,
}

/// A comparison of `_lastUpdated` (FHIR prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// One condition on persons. Lists are alternatives (FHIR's comma); the filters of one
/// search all apply (FHIR's repetition).
#[derive(Debug, Clone, PartialEq)]
pub enum PersonFilter {
    /// idNat_PS among these.
    Idnat(Vec<String>),
    Name {
        field: NameField,
        mode: TextMatch,
        any_of: Vec<String>,
    },
    /// A profession (TRE_G15 code) among these, in any activity.
    Profession(Vec<String>),
    /// Whether the person has an activity that is not ended.
    Active(bool),
    /// An activity not ended at a structure with one of these postcodes (a postcode
    /// prefix, so `75` is Paris).
    Postcode(Vec<String>),
    /// An activity not ended at a structure in one of these towns (starts with, case and
    /// accents ignored).
    City(Vec<String>),
    /// An activity not ended at a structure of one of these départements (code).
    Dept(Vec<String>),
    LastUpdated(Cmp, i64),
}

/// One condition on structures (see [`PersonFilter`]).
#[derive(Debug, Clone, PartialEq)]
pub enum StructureFilter {
    /// Structure ids (the extract's technical id) among these.
    Id(Vec<String>),
    /// FINESS (site) or SIRET among these.
    Identifier(Vec<String>),
    Name {
        mode: TextMatch,
        any_of: Vec<String>,
    },
    /// Town starts with (case and accents ignored).
    City(Vec<String>),
    /// Postcode starts with.
    Postcode(Vec<String>),
    /// Sector of activity (TRE_R02 code) among these.
    Sector(Vec<String>),
    LastUpdated(Cmp, i64),
}

/// A page of a search: after which key, up to which key, how many rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: Option<i64>,
    pub max_key: Option<i64>,
    pub limit: u32,
}

/// A row found: its key (for the next page), its id (idNat_PS or structure id) and the
/// index's `last_updated` of it (what `meta.lastUpdated` shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub key: i64,
    pub id: String,
    pub last_updated: i64,
}

/// The largest person key now (bound of a new paging).
pub async fn max_person_key(store: &Store) -> Result<i64, StoreError> {
    store
        .count("SELECT COALESCE(MAX(person_key), 0) FROM reg_search_person")
        .await
}

/// The largest structure key now.
pub async fn max_structure_key(store: &Store) -> Result<i64, StoreError> {
    store
        .count("SELECT COALESCE(MAX(structure_key), 0) FROM reg_search_structure")
        .await
}

#[derive(Debug)]
enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause under construction, with its bound values.
struct Sql {
    dialect: Dialect,
    conds: Vec<String>,
    binds: Vec<Bind>,
    /// SQLite: an FTS5 MATCH expression per substring filter (ANDed).
    matches: Vec<String>,
    /// A value is written into the statement (PostgreSQL's `LIKE '%word%'`): the text is
    /// one of a kind, not worth a place in the connection's cache of prepared statements,
    /// which it would take from the statements every request uses (an evicted one is
    /// prepared and planned again). No change of the page's requests/s was measured either
    /// way (bench/README.md, 2026-12-02): this keeps the cache for the statements that repeat.
    inlined: bool,
}

impl Sql {
    fn new(dialect: Dialect) -> Sql {
        Sql {
            dialect,
            conds: Vec::new(),
            binds: Vec::new(),
            matches: Vec::new(),
            inlined: false,
        }
    }

    fn text(&mut self, v: impl Into<String>) -> String {
        self.binds.push(Bind::Text(v.into()));
        format!("${}", self.binds.len())
    }

    fn int(&mut self, v: i64) -> String {
        self.binds.push(Bind::Int(v));
        format!("${}", self.binds.len())
    }

    fn list(&mut self, values: &[String]) -> String {
        let p: Vec<String> = values.iter().map(|v| self.text(v.clone())).collect();
        p.join(", ")
    }

    /// `column` starts with the key of one of `values`.
    fn starts_with(&mut self, column: &str, values: &[String]) -> String {
        let alts: Vec<String> = values
            .iter()
            .map(|v| {
                let k = key(v);
                let lo = self.text(k.clone());
                let hi = self.text(format!("{k}~"));
                format!("({column} >= {lo} AND {column} < {hi})")
            })
            .collect();
        format!("({})", alts.join(" OR "))
    }

    /// Every word of one of `values` appears in `column`. On SQLite, when every value has a
    /// word of three letters or more, also records the FTS5 expression that selects the
    /// candidates.
    fn contains(&mut self, column: &str, values: &[String]) -> String {
        let mut alts = Vec::new();
        let mut fts_alts = Vec::new();
        let mut fts_usable = true;
        for v in values {
            let ws = words(v);
            let mut all = Vec::new();
            let mut grams = Vec::new();
            for w in &ws {
                all.push(match self.dialect {
                    Dialect::Sqlite => {
                        let p = self.text(w.clone());
                        format!("instr({column}, {p}) > 0")
                    }
                    // Written into the statement, so that the planner weighs the trigrams
                    // of this very word; a word holds only [a-z0-9] (see `words`).
                    Dialect::Postgres => {
                        self.inlined = true;
                        format!("{column} LIKE '%{w}%'")
                    }
                });
                let chars: Vec<char> = w.chars().collect();
                for g in chars.windows(3) {
                    grams.push(format!("\"{}\"", g.iter().collect::<String>()));
                }
            }
            if grams.is_empty() {
                fts_usable = false;
            } else {
                grams.dedup();
                fts_alts.push(format!("({})", grams.join(" AND ")));
            }
            alts.push(if all.is_empty() {
                "1 = 1".to_string()
            } else {
                format!("({})", all.join(" AND "))
            });
        }
        if self.dialect == Dialect::Sqlite && fts_usable && !fts_alts.is_empty() {
            self.matches.push(format!("({})", fts_alts.join(" OR ")));
        }
        format!("({})", alts.join(" OR "))
    }

    fn finish<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql).persistent(!self.inlined);
        for b in &self.binds {
            q = match b {
                Bind::Text(s) => q.bind(s.as_str()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// The persons matching every filter, one page in key order.
pub async fn search_persons(
    store: &Store,
    filters: &[PersonFilter],
    page: Page,
) -> Result<Vec<Hit>, StoreError> {
    person_query(store.dialect(), filters)
        .page(store, page)
        .await
}

/// How many persons match every filter (up to `max_key` when given).
pub async fn count_persons(
    store: &Store,
    filters: &[PersonFilter],
    max_key: Option<i64>,
) -> Result<i64, StoreError> {
    person_query(store.dialect(), filters)
        .count(store, max_key, None)
        .await
}

/// How many persons match every filter (up to `max_key` when given), counting no further
/// than `cap + 1`: the exact count when it is at most `cap`, `cap + 1` when there are more.
/// A frequent name matches thousands of rows, each rechecked; a page that says « plus de
/// 100 résultats » need not visit them all.
pub async fn count_persons_capped(
    store: &Store,
    filters: &[PersonFilter],
    max_key: Option<i64>,
    cap: u32,
) -> Result<i64, StoreError> {
    person_query(store.dialect(), filters)
        .count(store, max_key, Some(cap))
        .await
}

/// A search of persons or structures: its conditions, then the table (or the FTS5 join)
/// it reads and the columns of the rows' key and id. Both are paged and counted alike.
struct KeyedQuery {
    sql: Sql,
    from: String,
    key_col: String,
    /// The row's key, id and `last_updated`, as a [`Hit`] reads them.
    hit_cols: String,
}

impl KeyedQuery {
    /// Over `table` (key column `key`, id column `id`), through its FTS5 table
    /// (`{table}_fts`, whose rowid is the key) when a condition matches text.
    fn over(mut sql: Sql, table: &str, key: &str, id: &str) -> KeyedQuery {
        let hit_cols = format!("s.{key}, s.{id}, s.last_updated");
        if sql.matches.is_empty() {
            KeyedQuery {
                sql,
                from: format!("FROM {table} s"),
                key_col: format!("s.{key}"),
                hit_cols,
            }
        } else {
            let expr = sql.matches.join(" AND ");
            let p = sql.text(expr);
            sql.conds.push(format!("{table}_fts MATCH {p}"));
            KeyedQuery {
                sql,
                from: format!("FROM {table}_fts JOIN {table} s ON s.{key} = {table}_fts.rowid"),
                key_col: format!("{table}_fts.rowid"),
                hit_cols,
            }
        }
    }

    /// One page in key order, after `page.after` and up to `page.max_key`.
    async fn page(mut self, store: &Store, page: Page) -> Result<Vec<Hit>, StoreError> {
        let key_col = self.key_col.clone();
        if let Some(after) = page.after {
            let p = self.sql.int(after);
            self.sql.conds.push(format!("{key_col} > {p}"));
        }
        self.limit_keys(page.max_key);
        let limit = self.sql.int(i64::from(page.limit));
        let text = format!(
            "SELECT {} {} WHERE {} ORDER BY {key_col} LIMIT {limit}",
            self.hit_cols,
            self.from,
            where_clause(&self.sql.conds)
        );
        let rows = self.sql.finish(&text).fetch_all(store.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(Hit {
                    key: r.try_get(0)?,
                    id: r.try_get(1)?,
                    last_updated: r.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::Sql)
    }

    /// How many rows match, up to `max_key`; with a `cap`, no further than `cap + 1`.
    async fn count(
        mut self,
        store: &Store,
        max_key: Option<i64>,
        cap: Option<u32>,
    ) -> Result<i64, StoreError> {
        self.limit_keys(max_key);
        let conds = where_clause(&self.sql.conds);
        let text = match cap {
            None => format!("SELECT COUNT(*) {} WHERE {conds}", self.from),
            Some(cap) => {
                let limit = self.sql.int(i64::from(cap) + 1);
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 AS one {} WHERE {conds} LIMIT {limit}) capped",
                    self.from
                )
            }
        };
        let row = self.sql.finish(&text).fetch_one(store.pool()).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    fn limit_keys(&mut self, max_key: Option<i64>) {
        if let Some(max) = max_key {
            let p = self.sql.int(max);
            self.sql.conds.push(format!("{} <= {p}", self.key_col));
        }
    }
}

fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        "1 = 1".to_string()
    } else {
        conds.join(" AND ")
    }
}

/// The FROM clause, the conditions and the key column of a person search.
fn person_query(dialect: Dialect, filters: &[PersonFilter]) -> KeyedQuery {
    let mut sql = Sql::new(dialect);
    for f in filters {
        let cond = match f {
            PersonFilter::Idnat(ids) => format!("s.idnat IN ({})", sql.list(ids)),
            PersonFilter::Name {
                field,
                mode,
                any_of,
            } => name_condition(&mut sql, *field, *mode, any_of),
            PersonFilter::Profession(codes) => format!(
                "EXISTS (SELECT 1 FROM reg_activity a WHERE a.idnat = s.idnat AND a.profession_code IN ({}))",
                sql.list(codes)
            ),
            PersonFilter::Active(true) => {
                "EXISTS (SELECT 1 FROM reg_activity a WHERE a.idnat = s.idnat AND a.ended_at IS NULL)"
                    .to_string()
            }
            PersonFilter::Active(false) => {
                "NOT EXISTS (SELECT 1 FROM reg_activity a WHERE a.idnat = s.idnat AND a.ended_at IS NULL)"
                    .to_string()
            }
            PersonFilter::Postcode(values) => {
                let c = sql.starts_with("t.postcode", values);
                place_condition(&c)
            }
            PersonFilter::City(values) => {
                let c = sql.starts_with("t.city", values);
                place_condition(&c)
            }
            PersonFilter::Dept(values) => {
                let c = format!("t.dept IN ({})", sql.list(values));
                place_condition(&c)
            }
            PersonFilter::LastUpdated(cmp, t) => {
                format!("s.last_updated {} {}", cmp.sql(), sql.int(*t))
            }
        };
        sql.conds.push(cond);
    }
    KeyedQuery::over(sql, "reg_search_person", "person_key", "idnat")
}

fn place_condition(cond: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM reg_activity a JOIN reg_search_structure t ON t.id = a.structure_id
                 WHERE a.idnat = s.idnat AND a.ended_at IS NULL AND {cond})"
    )
}

fn name_condition(sql: &mut Sql, field: NameField, mode: TextMatch, values: &[String]) -> String {
    match mode {
        TextMatch::StartsWith => match field {
            NameField::Family => sql.starts_with("s.family", values),
            NameField::Given => sql.starts_with("s.given", values),
            NameField::Any => {
                let a = sql.starts_with("s.family", values);
                let b = sql.starts_with("s.given", values);
                format!("({a} OR {b})")
            }
        },
        TextMatch::Contains => {
            let column = match field {
                NameField::Family => "s.family",
                NameField::Given => "s.given",
                NameField::Any => "s.txt",
            };
            sql.contains(column, values)
        }
        TextMatch::Exact => {
            // The key narrows by index, the stored name decides.
            let alts: Vec<String> = values
                .iter()
                .map(|v| {
                    let k = sql.text(key(v));
                    let raw = sql.text(v.clone());
                    let family = format!(
                        "(s.family = {k} AND EXISTS (SELECT 1 FROM reg_person p WHERE p.idnat = s.idnat AND p.last_name = {raw}))"
                    );
                    let given = format!(
                        "(s.given = {k} AND EXISTS (SELECT 1 FROM reg_person p WHERE p.idnat = s.idnat AND p.first_name = {raw}))"
                    );
                    match field {
                        NameField::Family => family,
                        NameField::Given => given,
                        NameField::Any => format!("({family} OR {given})"),
                    }
                })
                .collect();
            format!("({})", alts.join(" OR "))
        }
    }
}

/// The structures matching every filter, one page in key order.
pub async fn search_structures(
    store: &Store,
    filters: &[StructureFilter],
    page: Page,
) -> Result<Vec<Hit>, StoreError> {
    structure_query(store.dialect(), filters)
        .page(store, page)
        .await
}

/// How many structures match every filter (up to `max_key` when given).
pub async fn count_structures(
    store: &Store,
    filters: &[StructureFilter],
    max_key: Option<i64>,
) -> Result<i64, StoreError> {
    structure_query(store.dialect(), filters)
        .count(store, max_key, None)
        .await
}

fn structure_query(dialect: Dialect, filters: &[StructureFilter]) -> KeyedQuery {
    let mut sql = Sql::new(dialect);
    for f in filters {
        let cond = match f {
            StructureFilter::Id(ids) => format!("s.id IN ({})", sql.list(ids)),
            StructureFilter::Identifier(ids) => {
                let a = sql.list(ids);
                let b = sql.list(ids);
                format!("(s.finess IN ({a}) OR s.siret IN ({b}))")
            }
            StructureFilter::Name { mode, any_of } => match mode {
                TextMatch::StartsWith => sql.starts_with("s.txt", any_of),
                TextMatch::Contains => sql.contains("s.txt", any_of),
                TextMatch::Exact => format!(
                    "EXISTS (SELECT 1 FROM reg_structure r WHERE r.id = s.id AND r.name IN ({}))",
                    sql.list(any_of)
                ),
            },
            StructureFilter::City(values) => sql.starts_with("s.city", values),
            StructureFilter::Postcode(values) => {
                let alts: Vec<String> = values
                    .iter()
                    .map(|v| {
                        let lo = sql.text(v.clone());
                        let hi = sql.text(format!("{v}~"));
                        format!("(s.postcode >= {lo} AND s.postcode < {hi})")
                    })
                    .collect();
                format!("({})", alts.join(" OR "))
            }
            StructureFilter::Sector(codes) => format!("s.sector IN ({})", sql.list(codes)),
            StructureFilter::LastUpdated(cmp, t) => {
                format!("s.last_updated {} {}", cmp.sql(), sql.int(*t))
            }
        };
        sql.conds.push(cond);
    }
    KeyedQuery::over(sql, "reg_search_structure", "structure_key", "id")
}

// ---------------------------------------------------------------------------------------
// Activities (the directory's PractitionerRole) and the rows a page shows.

/// One condition on activities (see [`PersonFilter`]).
#[derive(Debug, Clone, PartialEq)]
pub enum RoleFilter {
    /// Activity keys among these.
    Id(Vec<String>),
    /// Of one of these persons (idNat_PS).
    Person(Vec<String>),
    /// At one of these structures (the extract's technical id).
    Structure(Vec<String>),
    /// Function (TRE_R21 code) among these.
    Role(Vec<String>),
    /// Not ended (true) or ended (false).
    Active(bool),
    LastUpdated(Cmp, i64),
}

/// An activity found: its key (also the order of the paging) and its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHit {
    pub id: String,
    pub idnat: String,
    pub updated_at: i64,
}

/// A page of an activity search: after which key, how many. `as_of` bounds the paging to
/// the activities started at or before the first page (activities have no insertion key:
/// their key is `idnat:hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePage {
    pub after: Option<String>,
    pub as_of: Option<i64>,
    pub limit: u32,
}

fn role_query(dialect: Dialect, filters: &[RoleFilter]) -> Sql {
    let mut sql = Sql::new(dialect);
    for f in filters {
        let cond = match f {
            RoleFilter::Id(ids) => format!("a.id IN ({})", sql.list(ids)),
            RoleFilter::Person(ids) => format!("a.idnat IN ({})", sql.list(ids)),
            RoleFilter::Structure(ids) => format!("a.structure_id IN ({})", sql.list(ids)),
            RoleFilter::Role(codes) => format!("a.role_code IN ({})", sql.list(codes)),
            RoleFilter::Active(true) => "a.ended_at IS NULL".to_string(),
            RoleFilter::Active(false) => "a.ended_at IS NOT NULL".to_string(),
            RoleFilter::LastUpdated(cmp, t) => {
                format!("a.updated_at {} {}", cmp.sql(), sql.int(*t))
            }
        };
        sql.conds.push(cond);
    }
    sql
}

/// The activities matching every filter, one page in key order.
pub async fn search_roles(
    store: &Store,
    filters: &[RoleFilter],
    page: &RolePage,
) -> Result<Vec<RoleHit>, StoreError> {
    let mut sql = role_query(store.dialect(), filters);
    if let Some(after) = &page.after {
        let p = sql.text(after.clone());
        sql.conds.push(format!("a.id > {p}"));
    }
    if let Some(t) = page.as_of {
        let p = sql.int(t);
        sql.conds.push(format!("a.started_at <= {p}"));
    }
    let limit = sql.int(i64::from(page.limit));
    let text = format!(
        "SELECT a.id, a.idnat, a.updated_at FROM reg_activity a WHERE {} ORDER BY a.id LIMIT {limit}",
        where_clause(&sql.conds)
    );
    let rows = sql.finish(&text).fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(RoleHit {
                id: r.try_get(0)?,
                idnat: r.try_get(1)?,
                updated_at: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::Sql)
}

/// How many activities match every filter (started at or before `as_of` when given).
pub async fn count_roles(
    store: &Store,
    filters: &[RoleFilter],
    as_of: Option<i64>,
) -> Result<i64, StoreError> {
    let mut sql = role_query(store.dialect(), filters);
    if let Some(t) = as_of {
        let p = sql.int(t);
        sql.conds.push(format!("a.started_at <= {p}"));
    }
    let text = format!(
        "SELECT COUNT(*) FROM reg_activity a WHERE {}",
        where_clause(&sql.conds)
    );
    let row = sql.finish(&text).fetch_one(store.pool()).await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// `last_updated` of these persons, as the index holds it.
pub async fn person_last_updated(
    store: &Store,
    idnats: &[String],
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for chunk in idnats.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(store.dialect());
        let list = sql.list(chunk);
        let text =
            format!("SELECT idnat, last_updated FROM reg_search_person WHERE idnat IN ({list})");
        for r in sql.finish(&text).fetch_all(store.pool()).await? {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    Ok(out)
}

/// How much of each professional a caller needs: the less the database builds and hands
/// back, the faster a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// What a card of the search page shows: [`Detail::Professions`], and for each
    /// activity its structure's id, name, postcode and town (`Structure` with every other
    /// field empty).
    Cards,
    /// The activities' codes and their structure's id only (`Structure` with every other
    /// field empty): what a PractitionerRole shows.
    Codes,
    /// What a Practitioner shows: the identity, the professions (profession and category of
    /// the activities, whether each is active) and the know-how. The activities carry their
    /// id, profession and state only (other codes empty, no structure).
    Professions,
}

/// The public part of these professionals (see `queries::public_professional`), in the
/// order asked, unknown ids left out, with the `detail` asked: per chunk of ids, one
/// statement returning one JSON text (see `professionals.rs`: the driver's cost is per
/// value handed over, not per byte).
pub async fn public_professionals(
    store: &Store,
    idnats: &[String],
    detail: Detail,
) -> Result<Vec<crate::queries::Professional>, StoreError> {
    professionals::load(store, idnats, detail).await
}

/// A professional with what the index says of it: its `last_updated` (a Practitioner's
/// `meta.lastUpdated`) and the `updated_at` of each activity, in the order of
/// `professional.activities` (a PractitionerRole's).
#[derive(Debug, Clone)]
pub struct IndexedProfessional {
    pub professional: crate::queries::Professional,
    pub last_updated: i64,
    pub activity_updated: Vec<i64>,
}

/// The professionals of index keys in `(after, upto]`, in key order, with the `detail`
/// asked, in one statement (the bulk export's walk).
pub async fn professionals_in_key_range(
    store: &Store,
    after: i64,
    upto: i64,
    detail: Detail,
) -> Result<Vec<IndexedProfessional>, StoreError> {
    professionals::load_key_range(store, after, upto, detail).await
}

/// The structures of index keys in `(after, upto]`, in key order, with their
/// `last_updated`, in one statement (the bulk export's walk).
pub async fn structures_in_key_range(
    store: &Store,
    after: i64,
    upto: i64,
) -> Result<Vec<(crate::queries::Structure, i64)>, StoreError> {
    professionals::structures_key_range(store, after, upto).await
}

/// A structure known by its id only (see [`Detail::Codes`]).
fn structure_with_id(id: String) -> crate::queries::Structure {
    crate::queries::Structure {
        id,
        siret: String::new(),
        siren: String::new(),
        finess: String::new(),
        finess_legal_entity: String::new(),
        name: String::new(),
        trade_name: String::new(),
        address: Vec::new(),
        postcode: String::new(),
        city: String::new(),
        country: String::new(),
        phone: String::new(),
        email: String::new(),
        sector: crate::queries::Coded::default(),
        department: crate::queries::Coded::default(),
    }
}

/// These structures with their `last_updated`, in the order asked (unknown ids left out).
pub async fn structures(
    store: &Store,
    ids: &[String],
) -> Result<Vec<(crate::queries::Structure, i64)>, StoreError> {
    let mut found = std::collections::HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(store.dialect());
        let list = sql.list(chunk);
        let text = format!(
            "SELECT t.*, COALESCE(s.last_updated, t.updated_at) AS index_updated
             FROM reg_structure t LEFT JOIN reg_search_structure s ON s.id = t.id
             WHERE t.id IN ({list})"
        );
        for r in sql.finish(&text).fetch_all(store.pool()).await? {
            let id: String = r.try_get("id")?;
            let updated: i64 = r.try_get("index_updated")?;
            let s = crate::queries::structure_of(&r, id.clone())?;
            found.insert(id, (s, updated));
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_10_names_are_normalised_for_search() {
        assert_eq!(words("Jean-Pierre"), ["jean", "pierre"]);
        assert_eq!(words("N'GUYEN"), ["nguyen"]);
        assert_eq!(words("d’Almeida"), ["dalmeida"]);
        assert_eq!(words("HÉLÈNE  Çœur"), ["helene", "coeur"]);
        assert_eq!(words("  -- "), Vec::<String>::new());
        assert_eq!(key("De La Fontaine"), "delafontaine");
        assert_eq!(key("Müller-Łukasz"), "mullerlukasz");
        assert_eq!(person_text("Martin", "Jérôme"), "martin|jerome");
    }
}
