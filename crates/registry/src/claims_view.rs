//! The registry as the identity provider's userinfo sees it (PSC-09): a person with their
//! active activities and, for each, every column of its structure, as plain strings.
//!
//! This is not [`crate::queries::get_professional`]: that shape merges the address into
//! lines, carries labels rather than codes, and leaves out columns PSC's userinfo exposes
//! one by one (street number, repeat index, street type code, distribution, cedex, commune
//! code, second phone, fax, former structure id, registration authority, know-how type).
//! It also takes six queries; userinfo is the hottest endpoint, so this view is read in a
//! single round trip: one query joining the person, their active activities and the
//! activities' structures.
//!
//! Read only: nothing here writes to the registry.

use caducee_store::Store;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::queries::RegistryError;

/// One query for the whole view: the person row repeated once per active activity (or
/// once with NULL activity columns when there is none), in order of start then id.
const QUERY: &str =
    "SELECT p.idnat, p.civility_code, p.ex_civility_code, p.last_name, p.first_name,
        a.id AS a_id, a.profession_code, a.category_code, a.sf_type_code, a.sf_code, a.mode_code,
        a.pharma_section_code, a.role_code, a.genre_code,
        s.id AS s_id, s.siret, s.siren, s.finess, s.finess_ej, s.name, s.trade_name,
        s.addr_recipient, s.addr_point, s.street_number, s.street_repeat, s.street_type_code,
        s.street_name, s.distribution, s.cedex, s.postcode, s.commune_code, s.country_code,
        s.phone, s.phone2, s.fax, s.email, s.dept_code, s.old_id, s.registration_authority,
        s.sector_code
     FROM reg_person p
     LEFT JOIN reg_activity a ON a.idnat = p.idnat AND a.ended_at IS NULL
     LEFT JOIN reg_structure s ON s.id = a.structure_id
     WHERE p.idnat = $1
     ORDER BY a.started_at, a.id";

/// A person with their active activities, in order of start (then id).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonActivities {
    pub person: PersonRow,
    /// Empty when the person has no active activity.
    pub activities: Vec<ActivityRow>,
}

/// The person's identity columns; an unknown value is an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonRow {
    pub idnat: String,
    pub civility_code: String,
    pub ex_civility_code: String,
    pub last_name: String,
    pub first_name: String,
}

/// One active activity with its codes; an unknown value is an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityRow {
    pub id: String,
    pub profession_code: String,
    pub category_code: String,
    pub sf_type_code: String,
    pub sf_code: String,
    pub mode_code: String,
    pub pharma_section_code: String,
    pub role_code: String,
    pub genre_code: String,
    /// The activity's structure; every field empty when the activity has none.
    pub structure: StructureRow,
}

/// The columns of an activity's structure; an unknown value is an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StructureRow {
    pub id: String,
    pub siret: String,
    pub siren: String,
    pub finess: String,
    pub finess_ej: String,
    pub name: String,
    pub trade_name: String,
    pub addr_recipient: String,
    pub addr_point: String,
    pub street_number: String,
    pub street_repeat: String,
    pub street_type_code: String,
    pub street_name: String,
    pub distribution: String,
    pub cedex: String,
    pub postcode: String,
    pub commune_code: String,
    pub country_code: String,
    pub phone: String,
    pub phone2: String,
    pub fax: String,
    pub email: String,
    pub dept_code: String,
    pub old_id: String,
    pub registration_authority: String,
    pub sector_code: String,
}

/// A text column, NULL (an outer join that found nothing) read as the empty string.
fn text(r: &AnyRow, col: &str) -> Result<String, sqlx::Error> {
    Ok(r.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

/// The person `idnat` with their active activities and structures, for the identity
/// provider's userinfo; None when the registry does not know `idnat`. One query, one round
/// trip (see the module documentation).
pub async fn person_with_active_activities(
    store: &Store,
    idnat: &str,
) -> Result<Option<PersonActivities>, RegistryError> {
    let rows = sqlx::query(QUERY)
        .bind(idnat)
        .fetch_all(store.pool())
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let person = PersonRow {
        idnat: text(first, "idnat")?,
        civility_code: text(first, "civility_code")?,
        ex_civility_code: text(first, "ex_civility_code")?,
        last_name: text(first, "last_name")?,
        first_name: text(first, "first_name")?,
    };
    let mut activities = Vec::with_capacity(rows.len());
    for r in &rows {
        // A NULL activity id: the single row of a person without active activity.
        let Some(id) = r.try_get::<Option<String>, _>("a_id")? else {
            continue;
        };
        activities.push(ActivityRow {
            id,
            profession_code: text(r, "profession_code")?,
            category_code: text(r, "category_code")?,
            sf_type_code: text(r, "sf_type_code")?,
            sf_code: text(r, "sf_code")?,
            mode_code: text(r, "mode_code")?,
            pharma_section_code: text(r, "pharma_section_code")?,
            role_code: text(r, "role_code")?,
            genre_code: text(r, "genre_code")?,
            structure: StructureRow {
                id: text(r, "s_id")?,
                siret: text(r, "siret")?,
                siren: text(r, "siren")?,
                finess: text(r, "finess")?,
                finess_ej: text(r, "finess_ej")?,
                name: text(r, "name")?,
                trade_name: text(r, "trade_name")?,
                addr_recipient: text(r, "addr_recipient")?,
                addr_point: text(r, "addr_point")?,
                street_number: text(r, "street_number")?,
                street_repeat: text(r, "street_repeat")?,
                street_type_code: text(r, "street_type_code")?,
                street_name: text(r, "street_name")?,
                distribution: text(r, "distribution")?,
                cedex: text(r, "cedex")?,
                postcode: text(r, "postcode")?,
                commune_code: text(r, "commune_code")?,
                country_code: text(r, "country_code")?,
                phone: text(r, "phone")?,
                phone2: text(r, "phone2")?,
                fax: text(r, "fax")?,
                email: text(r, "email")?,
                dept_code: text(r, "dept_code")?,
                old_id: text(r, "old_id")?,
                registration_authority: text(r, "registration_authority")?,
                sector_code: text(r, "sector_code")?,
            },
        });
    }
    Ok(Some(PersonActivities { person, activities }))
}
