//! The registry's tables. Text columns hold values exactly as the extraction files give them
//! (empty string when absent) so that an export reproduces the import; `row_hash` lets an
//! import skip rows that did not change, which keeps `updated_at` meaningful for the
//! directory's `_lastUpdated` searches.
//!
//! Indexes are few on purpose: each one is written by every import line. Search indexes
//! (names, structure identifiers) belong to the directory that needs them.

use caducee_store::Migration;

pub const MIGRATIONS: &[Migration] = &[Migration {
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
}];
