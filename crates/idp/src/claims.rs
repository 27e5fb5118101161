//! PSC-09: the userinfo claims, built from the registry with exactly the names and nesting
//! of reference/psc.md (every activity field present, empty string when unknown).
//!
//! The registry data comes from `caducee_registry::claims_view::person_with_active_activities`:
//! the person with their active activities and every column of their structures, read by
//! the registry crate in one query (userinfo is the hottest endpoint). This module knows
//! none of the registry's tables; it only maps that view onto PSC's claim names.
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

use caducee_registry::claims_view::{person_with_active_activities, ActivityRow};
use serde_json::{Map, Value};

use crate::tokens::{other_ids, subject};
use crate::{Idp, IdpError};

/// `SubjectRole` = profession code `^` this OID (reference/psc.md).
const PROFESSION_OID: &str = "1.2.250.1.213.1.1.5.5";
/// `Secteur_Activite` = sector code `^` this OID (TRE_R02).
const SECTOR_OID: &str = "1.2.250.1.71.4.2.4";
/// Constant fields of PSC's userinfo.
const PALIER: &str = "APPPRIP3^1.2.250.1.213.1.5.1.1.1";
const PSI_LOCALE: &str = "1.2.250.1.213.1.3.1.1";

/// Reads one field of an activity (or of its structure) from the registry's view.
type Getter = fn(&ActivityRow) -> &str;

/// The activity fields, in PSC's order, with where each comes from.
const ACTIVITY_FIELDS: [(&str, Getter); 30] = [
    ("codeModeExercice", |a| &a.mode_code),
    ("codeSecteurDactivite", |a| &a.structure.sector_code),
    ("codeSectionPharmacien", |a| &a.pharma_section_code),
    ("codeRole", |a| &a.role_code),
    ("codeGenreActivite", |a| &a.genre_code),
    ("numeroSiretSite", |a| &a.structure.siret),
    ("numeroSirenSite", |a| &a.structure.siren),
    ("numeroFinessSite", |a| &a.structure.finess),
    ("numeroFinessetablissementJuridique", |a| {
        &a.structure.finess_ej
    }),
    ("identifiantTechniqueDeLaStructure", |a| &a.structure.id),
    ("raisonSocialeSite", |a| &a.structure.name),
    ("enseigneCommercialeSite", |a| &a.structure.trade_name),
    ("complementDestinataire", |a| &a.structure.addr_recipient),
    ("complementPointGeographique", |a| &a.structure.addr_point),
    ("numeroVoie", |a| &a.structure.street_number),
    ("indiceRepetitionVoie", |a| &a.structure.street_repeat),
    ("codeTypeDeVoie", |a| &a.structure.street_type_code),
    ("libelleVoie", |a| &a.structure.street_name),
    ("mentionDistribution", |a| &a.structure.distribution),
    ("bureauCedex", |a| &a.structure.cedex),
    ("codePostal", |a| &a.structure.postcode),
    ("codeCommune", |a| &a.structure.commune_code),
    ("codePays", |a| &a.structure.country_code),
    ("telephone", |a| &a.structure.phone),
    ("telephone2", |a| &a.structure.phone2),
    ("telecopie", |a| &a.structure.fax),
    ("adresseEMail", |a| &a.structure.email),
    ("codeDepartement", |a| &a.structure.dept_code),
    ("ancienIdentifiantDeLaStructure", |a| &a.structure.old_id),
    ("autoriteDenregistrement", |a| {
        &a.structure.registration_authority
    }),
];

/// The registry claims of one professional and when they were read.
type CachedClaims = (Arc<Map<String, Value>>, Instant);

/// Per-node cache of registry claims.
#[derive(Default)]
pub(crate) struct ClaimsCache {
    entries: Mutex<HashMap<String, CachedClaims>>,
}

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

/// Builds the registry part of the userinfo of one professional; None when unknown.
pub(crate) async fn registry_claims(
    store: &caducee_store::Store,
    idnat: &str,
) -> Result<Option<Map<String, Value>>, IdpError> {
    let Some(view) = person_with_active_activities(store, idnat).await? else {
        return Ok(None);
    };
    let person = view.person;

    // Exercices: one per profession, in order of first appearance, each with its
    // activities.
    let mut exercices: Vec<Map<String, Value>> = Vec::new();
    let mut roles: Vec<Value> = Vec::new();
    for a in &view.activities {
        let profession = a.profession_code.as_str();
        let mut activity = Map::new();
        for (field, get) in ACTIVITY_FIELDS {
            activity.insert(field.to_string(), string(get(a)));
        }
        let pos = exercices
            .iter()
            .position(|e| e.get("codeProfession").and_then(Value::as_str) == Some(profession));
        let ex = match pos {
            Some(i) => &mut exercices[i],
            None => {
                if !profession.is_empty() {
                    roles.push(Value::String(format!("{profession}^{PROFESSION_OID}")));
                }
                let mut e = Map::new();
                e.insert("codeProfession".into(), string(profession));
                e.insert(
                    "codeCategorieProfessionnelle".into(),
                    string(&a.category_code),
                );
                e.insert(
                    "codeCiviliteDexercice".into(),
                    string(&person.ex_civility_code),
                );
                e.insert("nomDexercice".into(), string(&person.last_name));
                e.insert("prenomDexercice".into(), string(&person.first_name));
                e.insert("codeTypeSavoirFaire".into(), Value::String(String::new()));
                e.insert("codeSavoirFaire".into(), Value::String(String::new()));
                e.insert("activities".into(), Value::Array(Vec::new()));
                exercices.push(e);
                let last = exercices.len() - 1;
                &mut exercices[last]
            }
        };
        // The exercice's know-how: that of its first activity which has one.
        if !a.sf_code.is_empty() && ex.get("codeSavoirFaire").and_then(Value::as_str) == Some("") {
            ex.insert("codeSavoirFaire".into(), string(&a.sf_code));
            ex.insert("codeTypeSavoirFaire".into(), string(&a.sf_type_code));
        }
        if let Some(Value::Array(acts)) = ex.get_mut("activities") {
            acts.push(Value::Object(activity));
        }
    }

    let (org, org_id, sector, genre) = match view.activities.first() {
        Some(a) => {
            let sector = &a.structure.sector_code;
            (
                a.structure.name.clone(),
                a.structure.id.clone(),
                if sector.is_empty() {
                    String::new()
                } else {
                    format!("{sector}^{SECTOR_OID}")
                },
                a.genre_code.clone(),
            )
        }
        None => Default::default(),
    };
    let civility = person.civility_code;
    let first_name = person.first_name;
    let last_name = person.last_name;

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
