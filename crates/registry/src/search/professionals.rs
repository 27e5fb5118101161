//! The public part of a page of professionals in **one statement and one value** per chunk
//! of ids: the database builds the JSON of the persons with their activities and know-how
//! (SQLite `json_object` / `json_group_array`, PostgreSQL `json_build_object` / `json_agg`,
//! the same statement otherwise) and hands over a single text, which serde reads.
//!
//! Why: measured on pages of 50 Practitioners, most of a request's CPU was the driver
//! handing rows over, per value (sqlx copying each SQLite value, converting every row and
//! column to `Any`, allocating for each, and waking the async side for each row from
//! SQLite's worker thread): about two microseconds a value, a thousand values a page. One
//! text per chunk leaves that to the database's C code and to serde (see bench/README.md).
//!
//! The bulk export asks by range of the index's keys instead of by ids
//! ([`load_key_range`], [`structures_key_range`]): the same JSON, with the index's key and
//! `last_updated`, so that a range needs no page of the index first.

use super::{Detail, Sql, ROWS_PER_STATEMENT};
use crate::queries::{Activity, Coded, KnowHow, Profession, Professional, Structure};
use caducee_store::{Dialect, Store, StoreError};
use serde::Deserialize;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Deserialize)]
struct PersonJson {
    idnat: String,
    id_type: String,
    id_pp: String,
    civility_code: String,
    civility_label: String,
    ex_civility_code: String,
    ex_civility_label: String,
    last_name: String,
    first_name: String,
    acts: Vec<ActivityJson>,
    kh: Vec<KnowHowJson>,
    /// The index's key and `last_updated` (statements by key range only).
    #[serde(default)]
    index_key: i64,
    #[serde(default)]
    index_updated: i64,
}

/// An activity; the codes beyond the profession only with [`Detail::Codes`], the structure
/// (`s`, null when the activity has none the registry knows) only with [`Detail::Cards`].
#[derive(Deserialize)]
struct ActivityJson {
    id: String,
    profession_code: String,
    profession_label: String,
    category_code: String,
    category_label: String,
    ended_at: Option<i64>,
    /// Statements by key range only (the export's PractitionerRoles).
    #[serde(default)]
    updated_at: i64,
    #[serde(default)]
    mode_code: String,
    #[serde(default)]
    mode_label: String,
    #[serde(default)]
    role_code: String,
    #[serde(default)]
    role_label: String,
    #[serde(default)]
    genre_code: String,
    #[serde(default)]
    genre_label: String,
    #[serde(default)]
    sf_code: String,
    #[serde(default)]
    sf_label: String,
    #[serde(default)]
    pharma_section_code: String,
    #[serde(default)]
    pharma_section_label: String,
    #[serde(default)]
    structure_id: String,
    #[serde(default)]
    s: Option<StructureJson>,
}

/// A structure; [`Detail::Cards`] gives only its id, name, postcode and town
/// ([`CARD_STRUCTURE`]).
#[derive(Deserialize, Default)]
#[serde(default)]
struct StructureJson {
    /// The index's key and `last_updated` (statements by key range only).
    index_key: i64,
    index_updated: i64,
    id: String,
    siret: String,
    siren: String,
    finess: String,
    finess_ej: String,
    name: String,
    trade_name: String,
    addr_recipient: String,
    addr_point: String,
    street_number: String,
    street_repeat: String,
    street_type_label: String,
    street_name: String,
    distribution: String,
    cedex: String,
    postcode: String,
    commune: String,
    country: String,
    phone: String,
    email: String,
    sector_code: String,
    sector_label: String,
    dept_code: String,
    dept_label: String,
}

#[derive(Deserialize)]
struct KnowHowJson {
    profession_code: String,
    profession_label: String,
    category_code: String,
    category_label: String,
    type_code: String,
    type_label: String,
    code: String,
    label: String,
}

/// `json_object('k', expr, …)` in the dialect (PostgreSQL takes at most 100 arguments:
/// the structure is an object of its own inside the activity's).
fn object(dialect: Dialect, columns: &[&str], prefix: &str) -> String {
    let function = match dialect {
        Dialect::Sqlite => "json_object",
        Dialect::Postgres => "json_build_object",
    };
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{c}', {prefix}{c}"))
        .collect();
    format!("{function}({})", pairs.join(", "))
}

/// The JSON array of `expr` over the rows, in `order` (`[]` for none).
fn array(dialect: Dialect, expr: &str, order: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_group_array({expr} ORDER BY {order})"),
        Dialect::Postgres => format!("COALESCE(json_agg({expr} ORDER BY {order}), '[]'::json)"),
    }
}

/// A JSON value computed by a subquery or an expression, kept JSON inside the enclosing
/// object (SQLite may drop the JSON subtype across a subquery: `json()` sets it again).
fn nested(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json({expr})"),
        Dialect::Postgres => format!("({expr})"),
    }
}

const PERSON: &[&str] = &[
    "idnat",
    "id_type",
    "id_pp",
    "civility_code",
    "civility_label",
    "ex_civility_code",
    "ex_civility_label",
    "last_name",
    "first_name",
];
const ACTIVITY: &[&str] = &[
    "id",
    "profession_code",
    "profession_label",
    "category_code",
    "category_label",
    "ended_at",
];
const CODES: &[&str] = &[
    "mode_code",
    "mode_label",
    "role_code",
    "role_label",
    "genre_code",
    "genre_label",
    "sf_code",
    "sf_label",
    "pharma_section_code",
    "pharma_section_label",
    "structure_id",
];
const STRUCTURE: &[&str] = &[
    "id",
    "siret",
    "siren",
    "finess",
    "finess_ej",
    "name",
    "trade_name",
    "addr_recipient",
    "addr_point",
    "street_number",
    "street_repeat",
    "street_type_label",
    "street_name",
    "distribution",
    "cedex",
    "postcode",
    "commune",
    "country",
    "phone",
    "email",
    "sector_code",
    "sector_label",
    "dept_code",
    "dept_label",
];
/// What a card shows of a structure.
const CARD_STRUCTURE: &[&str] = &["id", "name", "postcode", "commune"];
const KNOW_HOW: &[&str] = &[
    "profession_code",
    "profession_label",
    "category_code",
    "category_label",
    "type_code",
    "type_label",
    "code",
    "label",
];

/// Which persons a statement returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Select {
    /// Those whose idnat is in `{list}`.
    Ids,
    /// Those whose index key is in `({after}, {upto}]`, with their key and `last_updated`.
    KeyRange,
}

/// The statement: one row, one JSON text, the persons `select` says.
fn statement(dialect: Dialect, detail: Detail, select: Select) -> String {
    let mut activity: Vec<&str> = ACTIVITY.to_vec();
    if select == Select::KeyRange {
        // What a PractitionerRole's `meta.lastUpdated` says; the pages ask it apart.
        activity.push("updated_at");
    }
    if detail == Detail::Codes {
        activity.extend_from_slice(CODES);
    }
    let mut activity_object = object(dialect, &activity, "a.");
    let mut from = "reg_activity a".to_string();
    if detail == Detail::Cards {
        let structure = nested(
            dialect,
            &format!(
                "CASE WHEN s.id IS NULL THEN NULL ELSE {} END",
                object(dialect, CARD_STRUCTURE, "s.")
            ),
        );
        // `object` closes with `)`: the structure goes in as one more pair.
        activity_object.pop();
        activity_object.push_str(&format!(", 's', {structure})"));
        from.push_str(" LEFT JOIN reg_structure s ON s.id = a.structure_id");
    }
    let acts = nested(
        dialect,
        &format!(
            "(SELECT {} FROM {from} WHERE a.idnat = p.idnat)",
            array(
                dialect,
                &activity_object,
                "a.ended_at IS NOT NULL, a.started_at, a.id"
            )
        ),
    );
    let kh = nested(
        dialect,
        &format!(
            "(SELECT {} FROM reg_know_how k WHERE k.idnat = p.idnat)",
            array(
                dialect,
                &object(dialect, KNOW_HOW, "k."),
                "k.profession_code, k.type_code, k.code"
            )
        ),
    );
    let mut person = object(dialect, PERSON, "p.");
    person.pop();
    person.push_str(&format!(", 'acts', {acts}, 'kh', {kh}"));
    let from = match select {
        Select::Ids => "reg_person p WHERE p.idnat IN ({list})",
        Select::KeyRange => {
            person.push_str(", 'index_key', ix.person_key, 'index_updated', ix.last_updated");
            "reg_search_person ix JOIN reg_person p ON p.idnat = ix.idnat \
             WHERE ix.person_key > {after} AND ix.person_key <= {upto}"
        }
    };
    person.push(')');
    aggregate(dialect, &person, from)
}

/// `SELECT` of the JSON array of `object` over the rows of `from`, as one text.
fn aggregate(dialect: Dialect, object: &str, from: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("SELECT json_group_array({object}) FROM {from}"),
        Dialect::Postgres => {
            format!("SELECT COALESCE(json_agg({object}), '[]'::json)::text FROM {from}")
        }
    }
}

/// Runs a statement of [`statement`] or [`aggregate`] and reads its one JSON text.
async fn fetch_json<T: serde::de::DeserializeOwned>(
    store: &Store,
    sql: &Sql,
    text: &str,
) -> Result<Vec<T>, StoreError> {
    let row = sql.finish(text).fetch_one(store.pool()).await?;
    let json: String = row.try_get(0)?;
    serde_json::from_str(&json).map_err(|e| StoreError::Sql(sqlx::Error::Decode(Box::new(e))))
}

/// The public part of these professionals (see `queries::public_professional`), in the
/// order asked, unknown ids left out, with the `detail` asked; one statement per chunk.
pub(super) async fn load(
    store: &Store,
    idnats: &[String],
    detail: Detail,
) -> Result<Vec<Professional>, StoreError> {
    let dialect = store.dialect();
    let template = statement(dialect, detail, Select::Ids);
    let mut found: HashMap<String, Professional> = HashMap::new();
    for chunk in idnats.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(dialect);
        let list = sql.list(chunk);
        let text = template.replace("{list}", &list);
        for p in fetch_json::<PersonJson>(store, &sql, &text).await? {
            let professional = professional(p, detail);
            found.insert(professional.id_nat.clone(), professional);
        }
    }
    Ok(idnats.iter().filter_map(|id| found.remove(id)).collect())
}

/// The professionals of index keys in `(after, upto]`, in key order, each with the index's
/// `last_updated` and the `updated_at` of each of its activities (in the order of
/// `activities`): what the bulk export writes, in one statement and one value per range,
/// where a page asks the index first and then its ids.
pub(super) async fn load_key_range(
    store: &Store,
    after: i64,
    upto: i64,
    detail: Detail,
) -> Result<Vec<super::IndexedProfessional>, StoreError> {
    let mut sql = Sql::new(store.dialect());
    let text = statement(store.dialect(), detail, Select::KeyRange)
        .replace("{after}", &sql.int(after))
        .replace("{upto}", &sql.int(upto));
    let mut persons: Vec<PersonJson> = fetch_json(store, &sql, &text).await?;
    persons.sort_by_key(|p| p.index_key);
    Ok(persons
        .into_iter()
        .map(|p| {
            let last_updated = p.index_updated;
            let activity_updated = p.acts.iter().map(|a| a.updated_at).collect();
            super::IndexedProfessional {
                professional: professional(p, detail),
                last_updated,
                activity_updated,
            }
        })
        .collect())
}

/// The structures of index keys in `(after, upto]`, in key order, with the index's
/// `last_updated` (the structure's own `updated_at` when it has no index row), in one
/// statement and one value (see [`load_key_range`]).
pub(super) async fn structures_key_range(
    store: &Store,
    after: i64,
    upto: i64,
) -> Result<Vec<(Structure, i64)>, StoreError> {
    let dialect = store.dialect();
    let mut sql = Sql::new(dialect);
    let mut fields = object(dialect, STRUCTURE, "t.");
    fields.pop();
    fields.push_str(
        ", 'index_key', ix.structure_key, 'index_updated', COALESCE(ix.last_updated, t.updated_at))",
    );
    let from = format!(
        "reg_search_structure ix JOIN reg_structure t ON t.id = ix.id \
         WHERE ix.structure_key > {} AND ix.structure_key <= {}",
        sql.int(after),
        sql.int(upto)
    );
    let mut found: Vec<StructureJson> =
        fetch_json(store, &sql, &aggregate(dialect, &fields, &from)).await?;
    found.sort_by_key(|s| s.index_key);
    Ok(found
        .into_iter()
        .map(|s| {
            let updated = s.index_updated;
            (structure(s), updated)
        })
        .collect())
}

/// As `queries::professions_and_activities`: the professions of the active activities in
/// their order, then the know-how under its profession (or a profession of its own).
fn professional(p: PersonJson, detail: Detail) -> Professional {
    let mut professions: Vec<Profession> = Vec::new();
    let mut activities = Vec::with_capacity(p.acts.len());
    for a in p.acts {
        let profession = Coded {
            code: a.profession_code,
            label: a.profession_label,
        };
        let active = a.ended_at.is_none();
        if active
            && !profession.code.is_empty()
            && !professions
                .iter()
                .any(|x| x.profession.code == profession.code)
        {
            professions.push(Profession {
                profession: profession.clone(),
                category: Coded {
                    code: a.category_code,
                    label: a.category_label,
                },
                know_how: Vec::new(),
            });
        }
        let coded = |code: String, label: String| Coded { code, label };
        let structure = match detail {
            Detail::Professions => None,
            Detail::Codes => {
                (!a.structure_id.is_empty()).then(|| super::structure_with_id(a.structure_id))
            }
            Detail::Cards => a.s.map(structure),
        };
        activities.push(Activity {
            id: a.id,
            profession,
            mode: coded(a.mode_code, a.mode_label),
            role: coded(a.role_code, a.role_label),
            genre: coded(a.genre_code, a.genre_label),
            know_how: coded(a.sf_code, a.sf_label),
            pharmacist_section: coded(a.pharma_section_code, a.pharma_section_label),
            active,
            structure,
        });
    }
    for k in p.kh {
        let profession = Coded {
            code: k.profession_code,
            label: k.profession_label,
        };
        let know_how = KnowHow {
            kind: Coded {
                code: k.type_code,
                label: k.type_label,
            },
            value: Coded {
                code: k.code,
                label: k.label,
            },
        };
        match professions
            .iter_mut()
            .find(|x| x.profession.code == profession.code)
        {
            Some(x) => x.know_how.push(know_how),
            None => professions.push(Profession {
                profession,
                category: Coded {
                    code: k.category_code,
                    label: k.category_label,
                },
                know_how: vec![know_how],
            }),
        }
    }
    Professional {
        id_nat: p.idnat,
        id_type: p.id_type,
        identifier: p.id_pp,
        civility: Coded {
            code: p.civility_code,
            label: p.civility_label,
        },
        exercise_civility: Coded {
            code: p.ex_civility_code,
            label: p.ex_civility_label,
        },
        last_name: p.last_name,
        first_name: p.first_name,
        civil_identity: None,
        professions,
        activities,
        diplomas: Vec::new(),
        contact: None,
        mssante: Vec::new(),
    }
}

/// As `queries::structure_of`.
fn structure(s: StructureJson) -> Structure {
    let street = [
        s.street_number,
        s.street_repeat,
        s.street_type_label,
        s.street_name,
    ]
    .into_iter()
    .filter(|x| !x.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let address = [
        s.addr_recipient,
        s.addr_point,
        street,
        s.distribution,
        s.cedex,
    ]
    .into_iter()
    .filter(|x| !x.is_empty())
    .collect();
    Structure {
        id: s.id,
        siret: s.siret,
        siren: s.siren,
        finess: s.finess,
        finess_legal_entity: s.finess_ej,
        name: s.name,
        trade_name: s.trade_name,
        address,
        postcode: s.postcode,
        city: s.commune,
        country: s.country,
        phone: s.phone,
        email: s.email,
        sector: Coded {
            code: s.sector_code,
            label: s.sector_label,
        },
        department: Coded {
            code: s.dept_code,
            label: s.dept_label,
        },
    }
}
