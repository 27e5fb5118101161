//! PSC-09: the userinfo claims, built from the registry with exactly the names and nesting
//! of reference/psc.md (every activity field present, empty string when unknown).
//!
//! One query reads the person with their active activities and structures. It reads the
//! registry's tables directly instead of `caducee_registry::queries::get_professional`
//! because that shape merges the address into lines and leaves out columns PSC's userinfo
//! exposes one by one (street number, repeat index, street type code, distribution,
//! cedex, commune code, second phone, fax, former structure id, registration authority,
//! know-how type), and takes six queries where one suffices on the hottest endpoint.
//!
//! Caching: the claims of a professional are kept on each node for `claims_cache_secs`
//! (5 s by default), so a burst of userinfo calls costs one query per professional; a
//! registry update (import, correction) shows in userinfo at most that late, on every
//! node, without any invalidation protocol. Only registry data is cached; the
//! token-dependent claims (`authMode`) are added per request.
//!
//! This module must never write to the registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use sqlx::Row;

use crate::tokens::{other_ids, subject};
use crate::{Idp, IdpError};

/// `SubjectRole` = profession code `^` this OID (reference/psc.md).
const PROFESSION_OID: &str = "1.2.250.1.213.1.1.5.5";
/// `Secteur_Activite` = sector code `^` this OID (TRE_R02).
const SECTOR_OID: &str = "1.2.250.1.71.4.2.4";
/// Constant fields of PSC's userinfo.
const PALIER: &str = "APPPRIP3^1.2.250.1.213.1.5.1.1.1";
const PSI_LOCALE: &str = "1.2.250.1.213.1.3.1.1";

/// The activity fields, in PSC's order, with the column each comes from.
const ACTIVITY_FIELDS: [(&str, &str); 30] = [
    ("codeModeExercice", "mode_code"),
    ("codeSecteurDactivite", "sector_code"),
    ("codeSectionPharmacien", "pharma_section_code"),
    ("codeRole", "role_code"),
    ("codeGenreActivite", "genre_code"),
    ("numeroSiretSite", "siret"),
    ("numeroSirenSite", "siren"),
    ("numeroFinessSite", "finess"),
    ("numeroFinessetablissementJuridique", "finess_ej"),
    ("identifiantTechniqueDeLaStructure", "s_id"),
    ("raisonSocialeSite", "name"),
    ("enseigneCommercialeSite", "trade_name"),
    ("complementDestinataire", "addr_recipient"),
    ("complementPointGeographique", "addr_point"),
    ("numeroVoie", "street_number"),
    ("indiceRepetitionVoie", "street_repeat"),
    ("codeTypeDeVoie", "street_type_code"),
    ("libelleVoie", "street_name"),
    ("mentionDistribution", "distribution"),
    ("bureauCedex", "cedex"),
    ("codePostal", "postcode"),
    ("codeCommune", "commune_code"),
    ("codePays", "country_code"),
    ("telephone", "phone"),
    ("telephone2", "phone2"),
    ("telecopie", "fax"),
    ("adresseEMail", "email"),
    ("codeDepartement", "dept_code"),
    ("ancienIdentifiantDeLaStructure", "old_id"),
    ("autoriteDenregistrement", "registration_authority"),
];

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

/// The registry claims of one professional and when they were read.
type CachedClaims = (Arc<Map<String, Value>>, Instant);

/// Per-node cache of registry claims.
#[derive(Default)]
pub(crate) struct ClaimsCache {
    entries: Mutex<HashMap<String, CachedClaims>>,
}

fn text(r: &sqlx::any::AnyRow, col: &str) -> Result<String, IdpError> {
    Ok(r.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

/// Builds the registry part of the userinfo of one professional; None when unknown.
pub(crate) async fn registry_claims(
    store: &caducee_store::Store,
    idnat: &str,
) -> Result<Option<Map<String, Value>>, IdpError> {
    let rows = sqlx::query(QUERY)
        .bind(idnat)
        .fetch_all(store.pool())
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let last_name = text(first, "last_name")?;
    let first_name = text(first, "first_name")?;
    let civility = text(first, "civility_code")?;
    let ex_civility = text(first, "ex_civility_code")?;

    // Exercices: one per profession, in order of first appearance, each with its
    // activities.
    let mut exercices: Vec<Map<String, Value>> = Vec::new();
    let mut roles: Vec<Value> = Vec::new();
    let mut first_activity: Option<&sqlx::any::AnyRow> = None;
    for r in rows.iter() {
        if r.try_get::<Option<String>, _>("a_id")?.is_none() {
            continue; // the person has no active activity
        }
        first_activity.get_or_insert(r);
        let profession = text(r, "profession_code")?;
        let mut activity = Map::new();
        for (field, col) in ACTIVITY_FIELDS {
            activity.insert(field.to_string(), Value::String(text(r, col)?));
        }
        let pos = exercices
            .iter()
            .position(|e| e.get("codeProfession").and_then(Value::as_str) == Some(&profession));
        let ex = match pos {
            Some(i) => &mut exercices[i],
            None => {
                if !profession.is_empty() {
                    roles.push(Value::String(format!("{profession}^{PROFESSION_OID}")));
                }
                let mut e = Map::new();
                e.insert("codeProfession".into(), Value::String(profession.clone()));
                e.insert(
                    "codeCategorieProfessionnelle".into(),
                    Value::String(text(r, "category_code")?),
                );
                e.insert(
                    "codeCiviliteDexercice".into(),
                    Value::String(ex_civility.clone()),
                );
                e.insert("nomDexercice".into(), Value::String(last_name.clone()));
                e.insert("prenomDexercice".into(), Value::String(first_name.clone()));
                e.insert("codeTypeSavoirFaire".into(), Value::String(String::new()));
                e.insert("codeSavoirFaire".into(), Value::String(String::new()));
                e.insert("activities".into(), Value::Array(Vec::new()));
                exercices.push(e);
                let last = exercices.len() - 1;
                &mut exercices[last]
            }
        };
        // The exercice's know-how: that of its first activity which has one.
        let sf = text(r, "sf_code")?;
        if !sf.is_empty() && ex.get("codeSavoirFaire").and_then(Value::as_str) == Some("") {
            ex.insert("codeSavoirFaire".into(), Value::String(sf));
            ex.insert(
                "codeTypeSavoirFaire".into(),
                Value::String(text(r, "sf_type_code")?),
            );
        }
        if let Some(Value::Array(acts)) = ex.get_mut("activities") {
            acts.push(Value::Object(activity));
        }
    }

    let (org, org_id, sector, genre) = match first_activity {
        Some(r) => {
            let sector = text(r, "sector_code")?;
            (
                text(r, "name")?,
                text(r, "s_id")?,
                if sector.is_empty() {
                    String::new()
                } else {
                    format!("{sector}^{SECTOR_OID}")
                },
                text(r, "genre_code")?,
            )
        }
        None => Default::default(),
    };

    let mut refpro = Map::new();
    refpro.insert("codeCivilite".into(), Value::String(civility.clone()));
    refpro.insert(
        "exercices".into(),
        Value::Array(exercices.into_iter().map(Value::Object).collect()),
    );

    let mut m = Map::new();
    m.insert("sub".into(), Value::String(subject(idnat)));
    m.insert(
        "preferred_username".into(),
        Value::String(idnat.to_string()),
    );
    m.insert("SubjectNameID".into(), Value::String(idnat.to_string()));
    m.insert("given_name".into(), Value::String(first_name));
    m.insert("family_name".into(), Value::String(last_name));
    m.insert("email_verified".into(), Value::Bool(false));
    m.insert(
        "otherIds".into(),
        serde_json::to_value(other_ids(idnat)).map_err(|e| IdpError::Internal(e.to_string()))?,
    );
    m.insert("SubjectRole".into(), Value::Array(roles));
    m.insert("SubjectOrganization".into(), Value::String(org));
    m.insert("SubjectOrganizationID".into(), Value::String(org_id));
    m.insert("Secteur_Activite".into(), Value::String(sector));
    m.insert(
        "Palier_Authentification".into(),
        Value::String(PALIER.into()),
    );
    m.insert("PSI_Locale".into(), Value::String(PSI_LOCALE.into()));
    m.insert("UITVersion".into(), Value::String("1.0".into()));
    m.insert("Mode_Acces_Raison".into(), Value::String(String::new()));
    m.insert(
        "Acces_Regulation_Medicale".into(),
        Value::String("FAUX".into()),
    );
    // One PSC sandbox identity carried these two at the top level: emitted in both places.
    m.insert("codeCivilite".into(), Value::String(civility));
    m.insert("codeGenreActivite".into(), Value::String(genre));
    m.insert("SubjectRefPro".into(), Value::Object(refpro));
    Ok(Some(m))
}

impl Idp {
    /// The userinfo claims of a professional for a token of mode `auth_mode`.
    pub(crate) async fn userinfo_claims(
        &self,
        idnat: &str,
        auth_mode: &str,
    ) -> Result<Option<Map<String, Value>>, IdpError> {
        let ttl = Duration::from_secs(self.config().claims_cache_secs);
        let cache = &self.inner.claims;
        let cached = if ttl.is_zero() {
            None
        } else {
            cache.entries.lock().ok().and_then(|m| {
                m.get(idnat)
                    .filter(|(_, at)| at.elapsed() < ttl)
                    .map(|(c, _)| c.clone())
            })
        };
        let base = match cached {
            Some(c) => c,
            None => {
                let Some(fresh) = registry_claims(self.store(), idnat).await? else {
                    return Ok(None);
                };
                let fresh = Arc::new(fresh);
                if !ttl.is_zero() {
                    if let Ok(mut m) = cache.entries.lock() {
                        if m.len() > 100_000 {
                            m.clear();
                        }
                        m.insert(idnat.to_string(), (fresh.clone(), Instant::now()));
                    }
                }
                fresh
            }
        };
        let mut claims = (*base).clone();
        claims.insert("authMode".into(), Value::String(auth_mode.to_string()));
        Ok(Some(claims))
    }
}
