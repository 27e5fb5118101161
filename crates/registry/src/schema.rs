//! The registry's tables. Text columns hold values exactly as the extraction files give them
//! (empty string when absent) so that an export reproduces the import; `row_hash` lets an
//! import skip rows that did not change, which keeps `updated_at` meaningful for the
//! directory's `_lastUpdated` searches.
//!
//! Indexes are few on purpose: each one is written by every import line. The directory's
//! search index (names, structure identifiers) has tables of its own (`reg_search_*`,
//! migration 2, see `search.rs`).

use caducee_store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    REGISTRY_MODEL,
    SEARCH_INDEX,
    BIRTH_COUNTRY,
    FTS_WHEN_RENAMED,
    ANOMALY_QUEUE,
    CHANGE_REQUESTS,
    crate::registration::MIGRATION,
    TRIGRAM_STATISTICS,
];

/// Finer statistics of the indexed texts on PostgreSQL (issue 15), so that the planner
/// weighs a `txt LIKE '%andre%'` right. With the default target (100) the column kept 20
/// common values and a histogram too coarse for a pattern: `pg_trgm` then guessed 170 rows
/// where 17,712 matched (2.2 M generated rows), and chose the GIN bitmap, a heap visit of
/// every match and a sort for a page of 21 — 28 to 80 ms — instead of walking the key
/// order until the page is full (under a millisecond). With 1,000 the estimates came within
/// 10 % on the words measured and every plan was the walk. SQLite has no such statistics:
/// its FTS5 query needs none.
const TRIGRAM_STATISTICS: Migration = Migration {
    component: "registry",
    version: 8,
    name: "search_text_statistics",
    sql: "
--@postgres
ALTER TABLE reg_search_person ALTER COLUMN txt SET STATISTICS 1000;
ALTER TABLE reg_search_structure ALTER COLUMN txt SET STATISTICS 1000;
ANALYZE reg_search_person, reg_search_structure;
",
};

/// The change requests (REG-06, issue 13): what a professional asks to change of their
/// registry data (a new activity, the end of one, a new profession, contact coordinates,
/// the exercise name), reviewed by the agencies. `change_json` holds the change as typed
/// (a draft) or as checked (submitted and after); `department` decides which agents see it;
/// `reg_request_event` every transition (from, to, actor, note, time). Written only through
/// `requests.rs`.
const CHANGE_REQUESTS: Migration = Migration {
    component: "registry",
    version: 6,
    name: "change_requests",
    sql: "
CREATE TABLE reg_request (
    id TEXT PRIMARY KEY,
    idnat TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    change_json TEXT NOT NULL,
    department TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    decided_at BIGINT,
    decided_by TEXT,
    applied_at BIGINT
);
CREATE INDEX reg_request_person ON reg_request (idnat, created_at);
CREATE INDEX reg_request_queue ON reg_request (state, department, submitted_at);
CREATE INDEX reg_request_due ON reg_request (state, decided_at);
CREATE TABLE reg_request_event (
    request_id TEXT NOT NULL REFERENCES reg_request (id),
    seq BIGINT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL,
    PRIMARY KEY (request_id, seq)
);
",
};

/// The anomaly reports (REG-09, issue 12): what a professional says is wrong in their
/// registry data, filed by a portal (ONB-05) and processed by the agencies' back office
/// (issue 13). `reg_anomaly` holds the report and its current state; `reg_anomaly_event`
/// every transition (from, to, actor, time), so a decision can always be traced. No
/// foreign key to `reg_person`: a report is the agency's record and must outlive a person
/// row an operator removes. Written only through `anomaly.rs`.
const ANOMALY_QUEUE: Migration = Migration {
    component: "registry",
    version: 5,
    name: "anomaly_queue",
    sql: "
CREATE TABLE reg_anomaly (
    id TEXT PRIMARY KEY,
    idnat TEXT NOT NULL,
    portal TEXT NOT NULL,
    field TEXT NOT NULL,
    wrong TEXT NOT NULL,
    correct TEXT NOT NULL,
    state TEXT NOT NULL,
    assignee TEXT,
    decision_note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reg_anomaly_person ON reg_anomaly (idnat, created_at);
CREATE INDEX reg_anomaly_queue ON reg_anomaly (state, created_at);
CREATE TABLE reg_anomaly_event (
    anomaly_id TEXT NOT NULL REFERENCES reg_anomaly (id),
    seq BIGINT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL,
    PRIMARY KEY (anomaly_id, seq)
);
",
};

/// The country of birth (INSEE code, `99…`) of the civil status an operator sets
/// (`caducee registry identity`, issue 11 item 8).
const BIRTH_COUNTRY: Migration = Migration {
    component: "registry",
    version: 3,
    name: "civil_identity_birth_country",
    sql: "ALTER TABLE reg_civil_identity ADD COLUMN birth_country TEXT NOT NULL DEFAULT '';",
};

/// The FTS5 triggers of the search index fire on a real rename only (issue 15): an
/// `UPDATE` that names `txt` fires `AFTER UPDATE OF txt` even for the same value, and the
/// import rewrites a person's or structure's index row whenever the registry row changed
/// (a civility, an address), which cost a delete and an insert of every trigram each time.
/// SQLite only: PostgreSQL's `pg_trgm` index has no trigger.
const FTS_WHEN_RENAMED: Migration = Migration {
    component: "registry",
    version: 4,
    name: "search_fts_on_rename_only",
    sql: "
--@sqlite
DROP TRIGGER reg_search_person_au;
CREATE TRIGGER reg_search_person_au AFTER UPDATE OF txt ON reg_search_person WHEN old.txt <> new.txt BEGIN
    INSERT INTO reg_search_person_fts (reg_search_person_fts, rowid, txt) VALUES ('delete', old.person_key, old.txt);
    INSERT INTO reg_search_person_fts (rowid, txt) VALUES (new.person_key, new.txt);
END;
DROP TRIGGER reg_search_structure_au;
CREATE TRIGGER reg_search_structure_au AFTER UPDATE OF txt ON reg_search_structure WHEN old.txt <> new.txt BEGIN
    INSERT INTO reg_search_structure_fts (reg_search_structure_fts, rowid, txt) VALUES ('delete', old.structure_key, old.txt);
    INSERT INTO reg_search_structure_fts (rowid, txt) VALUES (new.structure_key, new.txt);
END;
",
};

const REGISTRY_MODEL: Migration = Migration {
    component: "registry",
    version: 1,
    name: "registry_model",
    sql: "
CREATE TABLE reg_person (
    idnat TEXT PRIMARY KEY,
    id_type TEXT NOT NULL,
    id_pp TEXT NOT NULL,
    ex_civility_code TEXT NOT NULL DEFAULT '',
    ex_civility_label TEXT NOT NULL DEFAULT '',
    civility_code TEXT NOT NULL DEFAULT '',
    civility_label TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    row_hash TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- Civil identity (REG-02): not in the public extract; set by registration and the demo.
CREATE TABLE reg_civil_identity (
    idnat TEXT PRIMARY KEY REFERENCES reg_person (idnat),
    birth_name TEXT NOT NULL DEFAULT '',
    first_names TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    birth_place TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

CREATE TABLE reg_structure (
    id TEXT PRIMARY KEY,
    siret TEXT NOT NULL DEFAULT '',
    siren TEXT NOT NULL DEFAULT '',
    finess TEXT NOT NULL DEFAULT '',
    finess_ej TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    trade_name TEXT NOT NULL DEFAULT '',
    addr_recipient TEXT NOT NULL DEFAULT '',
    addr_point TEXT NOT NULL DEFAULT '',
    street_number TEXT NOT NULL DEFAULT '',
    street_repeat TEXT NOT NULL DEFAULT '',
    street_type_code TEXT NOT NULL DEFAULT '',
    street_type_label TEXT NOT NULL DEFAULT '',
    street_name TEXT NOT NULL DEFAULT '',
    distribution TEXT NOT NULL DEFAULT '',
    cedex TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    commune_code TEXT NOT NULL DEFAULT '',
    commune TEXT NOT NULL DEFAULT '',
    country_code TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    phone2 TEXT NOT NULL DEFAULT '',
    fax TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    dept_code TEXT NOT NULL DEFAULT '',
    dept_label TEXT NOT NULL DEFAULT '',
    old_id TEXT NOT NULL DEFAULT '',
    registration_authority TEXT NOT NULL DEFAULT '',
    sector_code TEXT NOT NULL DEFAULT '',
    sector_label TEXT NOT NULL DEFAULT '',
    row_hash TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- A profession practised at a structure (REG-04). structure_id = '' is a profession held
-- without any situation of practice (the extract has such rows). An activity that vanishes
-- from a newer extract is ended, not deleted.
CREATE TABLE reg_activity (
    -- idNat + ':' + hash of the activity's codes: rows of one person sit together.
    id TEXT PRIMARY KEY,
    idnat TEXT NOT NULL REFERENCES reg_person (idnat),
    structure_id TEXT NOT NULL DEFAULT '',
    profession_code TEXT NOT NULL DEFAULT '',
    profession_label TEXT NOT NULL DEFAULT '',
    category_code TEXT NOT NULL DEFAULT '',
    category_label TEXT NOT NULL DEFAULT '',
    sf_type_code TEXT NOT NULL DEFAULT '',
    sf_type_label TEXT NOT NULL DEFAULT '',
    sf_code TEXT NOT NULL DEFAULT '',
    sf_label TEXT NOT NULL DEFAULT '',
    mode_code TEXT NOT NULL DEFAULT '',
    mode_label TEXT NOT NULL DEFAULT '',
    pharma_section_code TEXT NOT NULL DEFAULT '',
    pharma_section_label TEXT NOT NULL DEFAULT '',
    role_code TEXT NOT NULL DEFAULT '',
    role_label TEXT NOT NULL DEFAULT '',
    genre_code TEXT NOT NULL DEFAULT '',
    genre_label TEXT NOT NULL DEFAULT '',
    row_hash TEXT NOT NULL DEFAULT '',
    seen_run TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reg_activity_person ON reg_activity (idnat);

-- Know-how (savoir-faire) of a profession (REG-03), from PS_LibreAcces_SavoirFaire.
CREATE TABLE reg_know_how (
    id TEXT PRIMARY KEY,
    idnat TEXT NOT NULL REFERENCES reg_person (idnat),
    profession_code TEXT NOT NULL DEFAULT '',
    profession_label TEXT NOT NULL DEFAULT '',
    category_code TEXT NOT NULL DEFAULT '',
    category_label TEXT NOT NULL DEFAULT '',
    type_code TEXT NOT NULL DEFAULT '',
    type_label TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    seen_run TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reg_know_how_person ON reg_know_how (idnat);

-- Diplomas and exercise authorisations, from PS_LibreAcces_Dipl_AutExerc.
CREATE TABLE reg_diploma (
    id TEXT PRIMARY KEY,
    idnat TEXT NOT NULL REFERENCES reg_person (idnat),
    diploma_type_code TEXT NOT NULL DEFAULT '',
    diploma_type_label TEXT NOT NULL DEFAULT '',
    diploma_code TEXT NOT NULL DEFAULT '',
    diploma_label TEXT NOT NULL DEFAULT '',
    auth_type_code TEXT NOT NULL DEFAULT '',
    auth_type_label TEXT NOT NULL DEFAULT '',
    auth_discipline_code TEXT NOT NULL DEFAULT '',
    auth_discipline_label TEXT NOT NULL DEFAULT '',
    seen_run TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reg_diploma_person ON reg_diploma (idnat);

-- Contact coordinates (REG-05): not public, never exported in PS_LibreAcces.
CREATE TABLE reg_contact (
    idnat TEXT PRIMARY KEY REFERENCES reg_person (idnat),
    email TEXT NOT NULL DEFAULT '',
    mobile TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE reg_mssante (
    idnat TEXT NOT NULL REFERENCES reg_person (idnat),
    address TEXT NOT NULL,
    PRIMARY KEY (idnat, address)
);

CREATE TABLE reg_import_run (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    warnings BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL
);
",
};

/// The public directory's search index (REG-10, issue 15): one row per person and per
/// structure with normalised names (accents, case, hyphens, apostrophes: see
/// [`crate::search::words`]), written by the import in the transaction of each batch.
///
/// Substring search: on SQLite an FTS5 table with the trigram tokenizer over `txt`
/// (`detail=none`: a third of the size; the adjacency it drops is rechecked with `instr`),
/// kept by triggers; on PostgreSQL a `pg_trgm` GIN index. Keys (`person_key`,
/// `structure_key`) are given in insertion order and never reused: they order the keyset
/// paging, and a cursor bounded by the largest key of its first page sees no row added
/// after it.
const SEARCH_INDEX: Migration = Migration {
    component: "registry",
    version: 2,
    name: "directory_search_index",
    sql: r#"
--@sqlite
CREATE TABLE reg_search_person (
    person_key INTEGER PRIMARY KEY,
    idnat TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL,
    given TEXT NOT NULL,
    txt TEXT NOT NULL,
    last_updated BIGINT NOT NULL
);
CREATE VIRTUAL TABLE reg_search_person_fts USING fts5(
    txt, content='reg_search_person', content_rowid='person_key', tokenize='trigram', detail='none');
CREATE TRIGGER reg_search_person_ai AFTER INSERT ON reg_search_person BEGIN
    INSERT INTO reg_search_person_fts (rowid, txt) VALUES (new.person_key, new.txt);
END;
CREATE TRIGGER reg_search_person_ad AFTER DELETE ON reg_search_person BEGIN
    INSERT INTO reg_search_person_fts (reg_search_person_fts, rowid, txt) VALUES ('delete', old.person_key, old.txt);
END;
CREATE TRIGGER reg_search_person_au AFTER UPDATE OF txt ON reg_search_person BEGIN
    INSERT INTO reg_search_person_fts (reg_search_person_fts, rowid, txt) VALUES ('delete', old.person_key, old.txt);
    INSERT INTO reg_search_person_fts (rowid, txt) VALUES (new.person_key, new.txt);
END;
CREATE TABLE reg_search_structure (
    structure_key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    txt TEXT NOT NULL,
    city TEXT NOT NULL,
    postcode TEXT NOT NULL,
    dept TEXT NOT NULL,
    sector TEXT NOT NULL,
    finess TEXT NOT NULL,
    siret TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    last_updated BIGINT NOT NULL
);
CREATE VIRTUAL TABLE reg_search_structure_fts USING fts5(
    txt, content='reg_search_structure', content_rowid='structure_key', tokenize='trigram', detail='none');
CREATE TRIGGER reg_search_structure_ai AFTER INSERT ON reg_search_structure BEGIN
    INSERT INTO reg_search_structure_fts (rowid, txt) VALUES (new.structure_key, new.txt);
END;
CREATE TRIGGER reg_search_structure_ad AFTER DELETE ON reg_search_structure BEGIN
    INSERT INTO reg_search_structure_fts (reg_search_structure_fts, rowid, txt) VALUES ('delete', old.structure_key, old.txt);
END;
CREATE TRIGGER reg_search_structure_au AFTER UPDATE OF txt ON reg_search_structure BEGIN
    INSERT INTO reg_search_structure_fts (reg_search_structure_fts, rowid, txt) VALUES ('delete', old.structure_key, old.txt);
    INSERT INTO reg_search_structure_fts (rowid, txt) VALUES (new.structure_key, new.txt);
END;
--@postgres
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE reg_search_person (
    person_key BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    idnat TEXT NOT NULL UNIQUE,
    family TEXT COLLATE "C" NOT NULL,
    given TEXT COLLATE "C" NOT NULL,
    txt TEXT COLLATE "C" NOT NULL,
    last_updated BIGINT NOT NULL
);
CREATE INDEX reg_search_person_txt ON reg_search_person USING gin (txt gin_trgm_ops);
CREATE TABLE reg_search_structure (
    structure_key BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    txt TEXT COLLATE "C" NOT NULL,
    city TEXT COLLATE "C" NOT NULL,
    postcode TEXT COLLATE "C" NOT NULL,
    dept TEXT COLLATE "C" NOT NULL,
    sector TEXT COLLATE "C" NOT NULL,
    finess TEXT COLLATE "C" NOT NULL,
    siret TEXT COLLATE "C" NOT NULL,
    row_hash TEXT NOT NULL,
    last_updated BIGINT NOT NULL
);
CREATE INDEX reg_search_structure_txt ON reg_search_structure USING gin (txt gin_trgm_ops);
--@both
CREATE INDEX reg_search_person_family ON reg_search_person (family);
CREATE INDEX reg_search_person_given ON reg_search_person (given);
CREATE INDEX reg_search_person_updated ON reg_search_person (last_updated);
CREATE INDEX reg_search_structure_city ON reg_search_structure (city);
CREATE INDEX reg_search_structure_postcode ON reg_search_structure (postcode);
CREATE INDEX reg_search_structure_dept ON reg_search_structure (dept);
CREATE INDEX reg_search_structure_finess ON reg_search_structure (finess);
CREATE INDEX reg_search_structure_siret ON reg_search_structure (siret);
CREATE INDEX reg_search_structure_updated ON reg_search_structure (last_updated);
-- PractitionerRole?organization= and Organization?_revinclude=PractitionerRole:organization.
CREATE INDEX reg_activity_structure ON reg_activity (structure_id);
"#,
};
