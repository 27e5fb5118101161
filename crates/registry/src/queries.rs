//! Reading the registry and the few direct writes an operator makes (contact coordinates,
//! REG-05/REG-11). The JSON shapes here are what `caducee registry get` prints.

use caducee_core::clock::Clock;
use caducee_core::contact::{Email, Mobile};
use caducee_core::ids::IdNatPs;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_store::audit::{self, AuditEvent};
use caducee_store::{Store, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("identifiant invalide : {0}")]
    BadId(String),
    #[error("aucun professionnel {0} dans le répertoire")]
    NotFound(String),
    #[error("{0}")]
    BadContact(String),
    #[error("{0}")]
    BadIdentity(String),
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        RegistryError::Store(StoreError::Sql(e))
    }
}

/// Accepts what an operator or a login form types: RPPS with or without the 8, idNat,
/// ADELI with or without the 0.
pub fn parse_id(input: &str) -> Result<IdNatPs, RegistryError> {
    IdNatPs::from_login(input)
        .or_else(|_| IdNatPs::parse(input))
        .map_err(|e| RegistryError::BadId(e.to_string()))
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Professional {
    pub id_nat: String,
    pub id_type: String,
    pub identifier: String,
    pub civility: Coded,
    pub exercise_civility: Coded,
    pub last_name: String,
    pub first_name: String,
    pub civil_identity: Option<CivilIdentity>,
    pub professions: Vec<Profession>,
    pub activities: Vec<Activity>,
    pub diplomas: Vec<Diploma>,
    pub contact: Option<Contact>,
    pub mssante: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Coded {
    pub code: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CivilIdentity {
    pub birth_name: String,
    pub first_names: String,
    pub birth_date: String,
    pub birth_place: String,
    /// INSEE code of the country of birth (`99…`), empty when unknown.
    pub birth_country: String,
    pub sex: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Profession {
    pub profession: Coded,
    pub category: Coded,
    pub know_how: Vec<KnowHow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KnowHow {
    #[serde(rename = "type")]
    pub kind: Coded,
    pub value: Coded,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: String,
    pub profession: Coded,
    pub mode: Coded,
    pub role: Coded,
    pub genre: Coded,
    pub know_how: Coded,
    pub pharmacist_section: Coded,
    pub active: bool,
    pub structure: Option<Structure>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Structure {
    pub id: String,
    pub siret: String,
    pub siren: String,
    pub finess: String,
    pub finess_legal_entity: String,
    pub name: String,
    pub trade_name: String,
    pub address: Vec<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub sector: Coded,
    pub department: Coded,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Diploma {
    pub diploma_type: Coded,
    pub diploma: Coded,
    pub authorisation_type: Coded,
    pub authorisation_discipline: Coded,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contact {
    pub email: String,
    pub mobile: String,
    pub address: String,
}

fn coded(row: &AnyRow, code: &str, label: &str) -> Result<Coded, sqlx::Error> {
    Ok(Coded {
        code: row.try_get(code)?,
        label: row.try_get(label)?,
    })
}

/// Whether the registry knows the professional `id` (one indexed lookup).
pub async fn person_exists(store: &Store, id: &IdNatPs) -> Result<bool, RegistryError> {
    Ok(sqlx::query("SELECT 1 FROM reg_person WHERE idnat = $1")
        .bind(id.as_str())
        .fetch_optional(store.pool())
        .await?
        .is_some())
}

/// One professional with everything the registry knows, or None.
pub async fn get_professional(
    store: &Store,
    id: &IdNatPs,
) -> Result<Option<Professional>, RegistryError> {
    let pool = store.pool();
    let idnat = id.as_str();
    let Some(p) = sqlx::query("SELECT * FROM reg_person WHERE idnat = $1")
        .bind(idnat)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let civil = sqlx::query("SELECT * FROM reg_civil_identity WHERE idnat = $1")
        .bind(idnat)
        .fetch_optional(pool)
        .await?
        .map(|r| -> Result<CivilIdentity, sqlx::Error> {
            Ok(CivilIdentity {
                birth_name: r.try_get("birth_name")?,
                first_names: r.try_get("first_names")?,
                birth_date: r.try_get("birth_date")?,
                birth_place: r.try_get("birth_place")?,
                birth_country: r.try_get("birth_country")?,
                sex: r.try_get("sex")?,
            })
        })
        .transpose()?;
    let activity_rows = sqlx::query(&format!(
        "{ACTIVITIES_SELECT} WHERE a.idnat = $1 {ACTIVITIES_ORDER}"
    ))
    .bind(idnat)
    .fetch_all(pool)
    .await?;
    let know_how_rows = sqlx::query(&format!(
        "SELECT * FROM reg_know_how WHERE idnat = $1 {KNOW_HOW_ORDER}"
    ))
    .bind(idnat)
    .fetch_all(pool)
    .await?;
    let (professions, activities) = professions_and_activities(&activity_rows, &know_how_rows)?;
    let diplomas = sqlx::query(
        "SELECT * FROM reg_diploma WHERE idnat = $1 ORDER BY diploma_code, auth_type_code",
    )
    .bind(idnat)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| -> Result<Diploma, sqlx::Error> {
        Ok(Diploma {
            diploma_type: coded(r, "diploma_type_code", "diploma_type_label")?,
            diploma: coded(r, "diploma_code", "diploma_label")?,
            authorisation_type: coded(r, "auth_type_code", "auth_type_label")?,
            authorisation_discipline: coded(r, "auth_discipline_code", "auth_discipline_label")?,
        })
    })
    .collect::<Result<Vec<_>, _>>()?;
    let contact = sqlx::query("SELECT email, mobile, address FROM reg_contact WHERE idnat = $1")
        .bind(idnat)
        .fetch_optional(pool)
        .await?
        .map(|r| -> Result<Contact, sqlx::Error> {
            Ok(Contact {
                email: r.try_get(0)?,
                mobile: r.try_get(1)?,
                address: r.try_get(2)?,
            })
        })
        .transpose()?;
    let mssante = sqlx::query("SELECT address FROM reg_mssante WHERE idnat = $1 ORDER BY address")
        .bind(idnat)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Professional {
        civil_identity: civil,
        diplomas,
        contact,
        mssante,
        ..public_professional(&p, professions, activities)?
    }))
}

/// The activities of persons with their structures; `a.idnat` first in the order so that a
/// batch of persons reads as runs of one person (see [`ACTIVITIES_ORDER`]).
pub(crate) const ACTIVITIES_SELECT: &str =
    "SELECT a.*, s.id AS s_id, s.siret, s.siren, s.finess, s.finess_ej, s.name, s.trade_name,
            s.addr_recipient, s.addr_point, s.street_number, s.street_repeat, s.street_type_label,
            s.street_name, s.distribution, s.cedex, s.postcode, s.commune, s.country, s.phone,
            s.email, s.sector_code, s.sector_label, s.dept_code, s.dept_label
     FROM reg_activity a LEFT JOIN reg_structure s ON s.id = a.structure_id";
pub(crate) const ACTIVITIES_ORDER: &str =
    "ORDER BY a.idnat, a.ended_at IS NOT NULL, a.started_at, a.id";
pub(crate) const KNOW_HOW_ORDER: &str = "ORDER BY idnat, profession_code, type_code, code";

/// A person's professions (from the active activities, then the know-how) and activities,
/// from the rows of [`ACTIVITIES_SELECT`] and of `reg_know_how` of that person.
pub(crate) fn professions_and_activities(
    activity_rows: &[AnyRow],
    know_how_rows: &[AnyRow],
) -> Result<(Vec<Profession>, Vec<Activity>), sqlx::Error> {
    let mut activities = Vec::new();
    let mut professions: Vec<Profession> = Vec::new();
    for r in activity_rows {
        let profession = coded(r, "profession_code", "profession_label")?;
        let active = r.try_get::<Option<i64>, _>("ended_at")?.is_none();
        if active
            && !profession.code.is_empty()
            && !professions
                .iter()
                .any(|p| p.profession.code == profession.code)
        {
            professions.push(Profession {
                profession: profession.clone(),
                category: coded(r, "category_code", "category_label")?,
                know_how: Vec::new(),
            });
        }
        let structure = match r.try_get::<Option<String>, _>("s_id")? {
            Some(sid) => Some(structure_of(r, sid)?),
            None => None,
        };
        activities.push(Activity {
            id: r.try_get("id")?,
            profession,
            mode: coded(r, "mode_code", "mode_label")?,
            role: coded(r, "role_code", "role_label")?,
            genre: coded(r, "genre_code", "genre_label")?,
            know_how: coded(r, "sf_code", "sf_label")?,
            pharmacist_section: coded(r, "pharma_section_code", "pharma_section_label")?,
            active,
            structure,
        });
    }
    for r in know_how_rows {
        let profession = coded(r, "profession_code", "profession_label")?;
        let know_how = KnowHow {
            kind: coded(r, "type_code", "type_label")?,
            value: coded(r, "code", "label")?,
        };
        match professions
            .iter_mut()
            .find(|p| p.profession.code == profession.code)
        {
            Some(p) => p.know_how.push(know_how),
            None => professions.push(Profession {
                profession,
                category: coded(r, "category_code", "category_label")?,
                know_how: vec![know_how],
            }),
        }
    }
    Ok((professions, activities))
}

/// A professional's public part (identity fields of `reg_person`, professions,
/// activities): what the public directory shows. Civil identity, contact coordinates,
/// MSSanté addresses and diplomas are left empty.
pub(crate) fn public_professional(
    p: &AnyRow,
    professions: Vec<Profession>,
    activities: Vec<Activity>,
) -> Result<Professional, sqlx::Error> {
    Ok(Professional {
        id_nat: p.try_get("idnat")?,
        id_type: p.try_get("id_type")?,
        identifier: p.try_get("id_pp")?,
        civility: coded(p, "civility_code", "civility_label")?,
        exercise_civility: coded(p, "ex_civility_code", "ex_civility_label")?,
        last_name: p.try_get("last_name")?,
        first_name: p.try_get("first_name")?,
        civil_identity: None,
        professions,
        activities,
        diplomas: Vec::new(),
        contact: None,
        mssante: Vec::new(),
    })
}

pub(crate) fn structure_of(r: &AnyRow, id: String) -> Result<Structure, sqlx::Error> {
    let street = [
        r.try_get::<String, _>("street_number")?,
        r.try_get::<String, _>("street_repeat")?,
        r.try_get::<String, _>("street_type_label")?,
        r.try_get::<String, _>("street_name")?,
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let address = [
        r.try_get::<String, _>("addr_recipient")?,
        r.try_get::<String, _>("addr_point")?,
        street,
        r.try_get::<String, _>("distribution")?,
        r.try_get::<String, _>("cedex")?,
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    Ok(Structure {
        id,
        siret: r.try_get("siret")?,
        siren: r.try_get("siren")?,
        finess: r.try_get("finess")?,
        finess_legal_entity: r.try_get("finess_ej")?,
        name: r.try_get("name")?,
        trade_name: r.try_get("trade_name")?,
        address,
        postcode: r.try_get("postcode")?,
        city: r.try_get("commune")?,
        country: r.try_get("country")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        sector: coded(r, "sector_code", "sector_label")?,
        department: coded(r, "dept_code", "dept_label")?,
    })
}

/// Counts for `caducee registry stats` and the home page. The first three keys are the
/// contract.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub persons: i64,
    pub activities: i64,
    pub structures: i64,
    pub ended_activities: i64,
    pub know_how: i64,
    pub diplomas: i64,
    pub contacts: i64,
    pub rpps: i64,
    pub adeli: i64,
}

pub async fn stats(store: &Store) -> Result<Stats, RegistryError> {
    Ok(Stats {
        persons: store.count("SELECT COUNT(*) FROM reg_person").await?,
        activities: store
            .count("SELECT COUNT(*) FROM reg_activity WHERE ended_at IS NULL")
            .await?,
        structures: store.count("SELECT COUNT(*) FROM reg_structure").await?,
        ended_activities: store
            .count("SELECT COUNT(*) FROM reg_activity WHERE ended_at IS NOT NULL")
            .await?,
        know_how: store.count("SELECT COUNT(*) FROM reg_know_how").await?,
        diplomas: store.count("SELECT COUNT(*) FROM reg_diploma").await?,
        contacts: store.count("SELECT COUNT(*) FROM reg_contact").await?,
        rpps: store
            .count("SELECT COUNT(*) FROM reg_person WHERE id_type = '8'")
            .await?,
        adeli: store
            .count("SELECT COUNT(*) FROM reg_person WHERE id_type = '0'")
            .await?,
    })
}

/// What an agency operator sets for a professional who cannot log in (REG-05, REG-11).
#[derive(Debug, Clone, Default)]
pub struct ContactUpdate {
    pub email: String,
    pub mobile: String,
    pub address: Option<String>,
    /// Who acts (`operator:alice`).
    pub actor: String,
    /// The evidence the operator saw (e.g. "copie de la pièce d'identité vérifiée").
    pub evidence: Option<String>,
}

/// Validates and stores contact coordinates, with an audit event in the same transaction.
/// Returns the stored (normalised) values.
pub async fn set_contact(
    store: &Store,
    clock: &dyn Clock,
    id: &IdNatPs,
    update: &ContactUpdate,
) -> Result<Contact, RegistryError> {
    let email =
        Email::parse(&update.email).map_err(|e| RegistryError::BadContact(e.to_string()))?;
    let mobile =
        Mobile::parse(&update.mobile).map_err(|e| RegistryError::BadContact(e.to_string()))?;
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let known = sqlx::query("SELECT COUNT(*) FROM reg_person WHERE idnat = $1")
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>(0)?;
    if known == 0 {
        return Err(RegistryError::NotFound(id.as_str().to_string()));
    }
    let previous: Option<String> = sqlx::query("SELECT address FROM reg_contact WHERE idnat = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let address = update.address.clone().or(previous).unwrap_or_default();
    sqlx::query(
        "INSERT INTO reg_contact (idnat, email, mobile, address, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (idnat) DO UPDATE SET email = excluded.email, mobile = excluded.mobile,
           address = excluded.address, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(id.as_str())
    .bind(email.as_str())
    .bind(mobile.as_str())
    .bind(&address)
    .bind(now)
    .bind(&update.actor)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &update.actor,
            action: "registry.contact.updated",
            subject: Some(id.as_str()),
            details: serde_json::json!({
                "email": mask_email(email.as_str()),
                "mobile": mask_phone(mobile.as_str()),
                "addressChanged": update.address.is_some(),
                "evidence": update.evidence,
            }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Contact {
        email: email.as_str().to_string(),
        mobile: mobile.as_str().to_string(),
        address,
    })
}

/// Civil identity (REG-02), set by registration flows and the demo personas.
pub async fn set_civil_identity(
    store: &Store,
    clock: &dyn Clock,
    id: &IdNatPs,
    identity: &CivilIdentity,
) -> Result<(), RegistryError> {
    upsert_civil_identity(store.pool(), id, identity, clock.unix()).await
}

/// The one statement that writes a civil identity (every field of `identity`).
async fn upsert_civil_identity<'e, E>(
    executor: E,
    id: &IdNatPs,
    identity: &CivilIdentity,
    now: i64,
) -> Result<(), RegistryError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO reg_civil_identity (idnat, birth_name, first_names, birth_date, birth_place,
            birth_country, sex, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (idnat) DO UPDATE SET birth_name = excluded.birth_name, first_names = excluded.first_names,
           birth_date = excluded.birth_date, birth_place = excluded.birth_place,
           birth_country = excluded.birth_country, sex = excluded.sex,
           updated_at = excluded.updated_at",
    )
    .bind(id.as_str())
    .bind(&identity.birth_name)
    .bind(&identity.first_names)
    .bind(&identity.birth_date)
    .bind(&identity.birth_place)
    .bind(&identity.birth_country)
    .bind(&identity.sex)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// What an agency operator sets of a professional's civil status (`caducee registry
/// identity`): the public extract has no birth dates, and the account flows of the portals
/// check them (ACC-01). Absent fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct CivilStatusUpdate {
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// INSEE code of the commune of birth (`75056`, `2A004`).
    pub birth_place: Option<String>,
    /// INSEE code of the country of birth (`99100` for France, `99…`).
    pub birth_country: Option<String>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// Who acts (`operator:alice`).
    pub actor: String,
    /// The evidence the operator saw.
    pub evidence: Option<String>,
}

/// Checks and stores a civil status, with an audit event in the same transaction (naming
/// the fields set, never their values: a birth date is personal data). Returns the stored
/// civil identity.
pub async fn set_civil_status(
    store: &Store,
    clock: &dyn Clock,
    id: &IdNatPs,
    update: &CivilStatusUpdate,
) -> Result<CivilIdentity, RegistryError> {
    let birth_date = check_birth_date(&update.birth_date, clock)?;
    let place = update
        .birth_place
        .as_deref()
        .map(str::trim)
        .map(str::to_uppercase);
    if let Some(p) = place.as_deref().filter(|p| !is_insee_commune(p)) {
        return Err(RegistryError::BadIdentity(format!(
            "lieu de naissance « {p} » : attendu le code INSEE de la commune, 5 caractères (ex. 75056, 2A004)"
        )));
    }
    let country = update
        .birth_country
        .as_deref()
        .map(str::trim)
        .map(str::to_string);
    if let Some(c) = country.as_deref().filter(|c| !is_insee_country(c)) {
        return Err(RegistryError::BadIdentity(format!(
            "pays de naissance « {c} » : attendu le code INSEE du pays, 5 chiffres commençant par 99 (ex. 99100 pour la France)"
        )));
    }
    let sex = update.sex.as_deref().map(|s| s.trim().to_uppercase());
    if let Some(s) = sex.as_deref().filter(|s| *s != "M" && *s != "F") {
        return Err(RegistryError::BadIdentity(format!(
            "sexe « {s} » : attendu M ou F"
        )));
    }
    let known = get_professional(store, id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(id.as_str().to_string()))?;
    let before = known.civil_identity.clone();
    let identity = CivilIdentity {
        birth_name: before
            .as_ref()
            .map(|c| c.birth_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| known.last_name.clone()),
        first_names: before
            .as_ref()
            .map(|c| c.first_names.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| known.first_name.clone()),
        birth_date,
        birth_place: place
            .or_else(|| before.as_ref().map(|c| c.birth_place.clone()))
            .unwrap_or_default(),
        birth_country: country
            .or_else(|| before.as_ref().map(|c| c.birth_country.clone()))
            .unwrap_or_default(),
        sex: sex
            .or_else(|| before.as_ref().map(|c| c.sex.clone()))
            .unwrap_or_default(),
    };
    let now = clock.unix();
    let mut tx = store.begin().await?;
    upsert_civil_identity(&mut *tx, id, &identity, now).await?;
    let mut fields = vec!["birthDate"];
    if update.birth_place.is_some() {
        fields.push("birthPlace");
    }
    if update.birth_country.is_some() {
        fields.push("birthCountry");
    }
    if update.sex.is_some() {
        fields.push("sex");
    }
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &update.actor,
            action: "registry.identity.updated",
            subject: Some(id.as_str()),
            details: serde_json::json!({
                "fields": fields,
                "changed": before.as_ref() != Some(&identity),
                "evidence": update.evidence,
            }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(identity)
}

/// A birth date as typed by an operator: `YYYY-MM-DD`, a real day, after 1900, not after
/// today.
fn check_birth_date(typed: &str, clock: &dyn Clock) -> Result<String, RegistryError> {
    let bad = || {
        RegistryError::BadIdentity(format!(
            "date de naissance « {typed} » : attendu AAAA-MM-JJ, un jour qui existe (ex. 1980-04-12)"
        ))
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(typed.trim(), &format).map_err(|_| bad())?;
    if date.year() < 1900 {
        return Err(bad());
    }
    if date > clock.now().date() {
        return Err(RegistryError::BadIdentity(format!(
            "date de naissance « {typed} » : elle est dans le futur"
        )));
    }
    date.format(&format).map_err(|_| bad())
}

/// INSEE commune code: department (2 digits, 2A or 2B, or 97x overseas) and 3 digits.
fn is_insee_commune(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5
        && (b[..2].iter().all(u8::is_ascii_digit)
            || code.starts_with("2A")
            || code.starts_with("2B"))
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// INSEE country code: `99` and 3 digits.
fn is_insee_country(code: &str) -> bool {
    code.len() == 5 && code.starts_with("99") && code.bytes().all(|b| b.is_ascii_digit())
}

/// A digest of the registry's content (every table, sorted, without timestamps or run ids):
/// two registries with the same digest hold the same data. Used to prove that SQLite and
/// PostgreSQL, an interrupted and an uninterrupted import, an import and the import of its
/// export, all end the same.
pub async fn content_digest(store: &Store) -> Result<String, RegistryError> {
    use futures_util::TryStreamExt;
    use sha2::{Digest, Sha256};
    let queries = [
        "SELECT idnat, id_type, id_pp, ex_civility_code, ex_civility_label, civility_code, civility_label, last_name, first_name FROM reg_person ORDER BY idnat",
        "SELECT id, siret, siren, finess, finess_ej, name, trade_name, addr_recipient, addr_point, street_number, street_repeat, street_type_code, street_type_label, street_name, distribution, cedex, postcode, commune_code, commune, country_code, country, phone, phone2, fax, email, dept_code, dept_label, old_id, registration_authority, sector_code, sector_label FROM reg_structure ORDER BY id",
        "SELECT id, idnat, structure_id, profession_code, profession_label, category_code, category_label, sf_type_code, sf_type_label, sf_code, sf_label, mode_code, mode_label, pharma_section_code, pharma_section_label, role_code, role_label, genre_code, genre_label, CASE WHEN ended_at IS NULL THEN 'active' ELSE 'ended' END FROM reg_activity ORDER BY id",
        "SELECT id, idnat, profession_code, profession_label, category_code, category_label, type_code, type_label, code, label FROM reg_know_how ORDER BY id",
        "SELECT id, idnat, diploma_type_code, diploma_type_label, diploma_code, diploma_label, auth_type_code, auth_type_label, auth_discipline_code, auth_discipline_label FROM reg_diploma ORDER BY id",
    ];
    let mut h = Sha256::new();
    for q in queries {
        h.update(q.as_bytes());
        let mut rows = sqlx::query(q).fetch(store.pool());
        while let Some(row) = rows.try_next().await? {
            for i in 0..row.len() {
                let v: String = row.try_get(i)?;
                h.update(v.as_bytes());
                h.update([0x1f]);
            }
            h.update([0x1e]);
        }
    }
    Ok(hex::encode(h.finalize()))
}
