//! The registry's public data as the ANS guide's public-data profiles (`as-dp-practitioner`,
//! `as-dp-practitionerrole`, `as-dp-organization`): identifier systems and types, NOS code
//! systems with their displays, `active=false` for ended activities and for persons with no
//! activity left. Only public data: never the civil identity (birth date…) nor the personal
//! contact coordinates the registry also holds.

use crate::fhir::{
    Address, CodeableConcept, Coding, ContactPoint, Extension, HumanName, Identifier, Meta,
    Organization, Practitioner, PractitionerRole, Qualification, Reference,
};
use caducee_core::nomenclature::Nomenclature;
use caducee_registry::queries::{Activity, Coded, Professional, Structure};

const IG: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition";
pub const PROFILE_PRACTITIONER: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner";
pub const PROFILE_PRACTITIONER_ROLE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitionerrole";
pub const PROFILE_ORGANIZATION: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-organization";

/// Identifier systems of the guide.
pub const SYSTEM_IDNAT_PS: &str = "urn:oid:1.2.250.1.71.4.2.1";
pub const SYSTEM_RPPS: &str = "https://rpps.esante.gouv.fr";
pub const SYSTEM_IDNAT_STRUCT: &str = "urn:oid:1.2.250.1.71.4.2.2";
pub const SYSTEM_FINESS: &str = "https://finess.esante.gouv.fr";
pub const SYSTEM_SIRENE: &str = "https://sirene.fr";
/// FR Core identifier types (IDNPS, RPPS, ADELI, IDNST, FINEG, FINEJ, SIRET, SIREN).
pub const SYSTEM_ID_TYPE: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203";
/// Savoir-faire "spécialité ordinale" (type S), the one know-how table the extract fills
/// most; the other types keep their own table.
const SYSTEM_R38: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale";

/// A Unix time as a FHIR instant (UTC, seconds).
pub fn instant(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

fn typed(system: &str, value: &str, kind: &str) -> Identifier {
    Identifier {
        use_: Some("official".into()),
        kind: Some(CodeableConcept {
            extension: Vec::new(),
            coding: vec![Coding {
                system: SYSTEM_ID_TYPE.into(),
                code: kind.into(),
                display: None,
            }],
        }),
        system: system.into(),
        value: value.into(),
    }
}

/// A NOS coding; the display comes from the embedded table, else from the extract's label.
fn nos(table: Nomenclature, coded: &Coded) -> Option<Coding> {
    if coded.code.is_empty() {
        return None;
    }
    let display = table
        .display(&coded.code)
        .map(str::to_string)
        .or_else(|| (!coded.label.is_empty()).then(|| coded.label.clone()));
    Some(Coding {
        system: table.fhir_system(),
        code: coded.code.clone(),
        display,
    })
}

fn concept(codings: impl IntoIterator<Item = Option<Coding>>) -> Option<CodeableConcept> {
    let coding: Vec<Coding> = codings.into_iter().flatten().collect();
    (!coding.is_empty()).then_some(CodeableConcept {
        extension: Vec::new(),
        coding,
    })
}

/// The FHIR id of a PractitionerRole: the activity key with `-` for `:` (FHIR ids allow
/// letters, digits, `-` and `.` only).
pub fn role_id(activity_id: &str) -> String {
    activity_id.replace(':', "-")
}

/// The activity key of a PractitionerRole id.
pub fn activity_id(role_id: &str) -> String {
    role_id.replacen('-', ":", 1)
}

/// The Practitioner of a professional; `last_updated`: the search index's (the newest
/// change of the person, activities, know-how, diplomas).
pub fn practitioner(p: &Professional, last_updated: i64) -> Practitioner {
    let mut identifier = vec![typed(SYSTEM_IDNAT_PS, &p.id_nat, "IDNPS")];
    if p.id_type == "8" {
        identifier.push(typed(SYSTEM_RPPS, &p.identifier, "RPPS"));
    }
    let name = HumanName {
        use_: Some("usual".into()),
        family: (!p.last_name.is_empty()).then(|| p.last_name.clone()),
        given: [p.first_name.clone()]
            .into_iter()
            .filter(|g| !g.is_empty())
            .collect(),
        prefix: [p.civility.code.clone()]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
        suffix: [p.exercise_civility.code.clone()]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
    };
    let mut qualification = Vec::new();
    for prof in &p.professions {
        if let Some(code) = concept([
            nos(Nomenclature::G15Profession, &prof.profession),
            nos(Nomenclature::R09CategorieProfessionnelle, &prof.category),
        ]) {
            qualification.push(Qualification { code });
        }
        for k in &prof.know_how {
            // The value's table depends on the type; only the spécialités ordinales (S)
            // have theirs here so far, the others carry their type alone.
            let value = (k.kind.code == "S" && !k.value.code.is_empty()).then(|| Coding {
                system: SYSTEM_R38.to_string(),
                code: k.value.code.clone(),
                display: (!k.value.label.is_empty()).then(|| k.value.label.clone()),
            });
            if let Some(code) = concept([nos(Nomenclature::R04TypeSavoirFaire, &k.kind), value]) {
                qualification.push(Qualification { code });
            }
        }
    }
    Practitioner {
        id: p.id_nat.clone(),
        meta: Meta {
            last_updated: Some(instant(last_updated)),
            profile: vec![PROFILE_PRACTITIONER.into()],
        },
        identifier,
        active: p.activities.iter().any(|a| a.active),
        name: vec![name],
        qualification,
    }
}

/// The PractitionerRole of one activity of `p`.
pub fn practitioner_role(p: &Professional, a: &Activity, last_updated: i64) -> PractitionerRole {
    let code = [
        concept([nos(Nomenclature::R22GenreActivite, &a.genre)]),
        concept([nos(Nomenclature::R23ModeExercice, &a.mode)]),
        concept([nos(Nomenclature::R21Fonction, &a.role)]),
    ]
    .into_iter()
    .flatten()
    .collect();
    PractitionerRole {
        id: role_id(&a.id),
        meta: Meta {
            last_updated: Some(instant(last_updated)),
            profile: vec![PROFILE_PRACTITIONER_ROLE.into()],
        },
        active: a.active,
        practitioner: Reference {
            reference: format!("Practitioner/{}", p.id_nat),
        },
        organization: a.structure.as_ref().map(|s| Reference {
            reference: format!("Organization/{}", s.id),
        }),
        code,
    }
}

/// The national structure identifier (idNat_Struct) of a structure, from the extract's
/// technical id: `F`+FINESS → `1`+FINESS, `C`+SIRET → `3`+SIRET, `C`+ADELI practice →
/// `0`+number, `R`+RPPS practice → `4`+number.
pub fn idnat_struct(s: &Structure) -> Option<String> {
    let (head, rest) = s.id.split_at_checked(1)?;
    match head {
        "F" => Some(format!("1{rest}")),
        "C" if rest.len() == 14 => Some(format!("3{rest}")),
        "C" => Some(format!("0{rest}")),
        "R" => Some(format!("4{rest}")),
        _ => None,
    }
}

/// The Organization of a structure.
pub fn organization(s: &Structure, last_updated: i64) -> Organization {
    let mut identifier = Vec::new();
    if let Some(id) = idnat_struct(s) {
        identifier.push(typed(SYSTEM_IDNAT_STRUCT, &id, "IDNST"));
    }
    if !s.finess.is_empty() {
        identifier.push(typed(SYSTEM_FINESS, &s.finess, "FINEG"));
    }
    if !s.finess_legal_entity.is_empty() {
        identifier.push(typed(SYSTEM_FINESS, &s.finess_legal_entity, "FINEJ"));
    }
    if !s.siret.is_empty() {
        identifier.push(typed(SYSTEM_SIRENE, &s.siret, "SIRET"));
    }
    let kind = nos(Nomenclature::R02SecteurActivite, &s.sector)
        .map(|c| CodeableConcept {
            extension: vec![Extension {
                url: format!("{IG}/as-ext-organization-types"),
                value_code: Some("secteurActiviteRASS".into()),
            }],
            coding: vec![c],
        })
        .into_iter()
        .collect();
    let address = if s.address.is_empty() && s.city.is_empty() && s.postcode.is_empty() {
        Vec::new()
    } else {
        vec![Address {
            use_: Some("work".into()),
            kind: Some("both".into()),
            line: s.address.clone(),
            city: (!s.city.is_empty()).then(|| s.city.clone()),
            postal_code: (!s.postcode.is_empty()).then(|| s.postcode.clone()),
            country: (!s.country.is_empty()).then(|| s.country.clone()),
        }]
    };
    let mut telecom = Vec::new();
    if !s.phone.is_empty() {
        telecom.push(ContactPoint {
            system: "phone".into(),
            value: s.phone.clone(),
        });
    }
    if !s.email.is_empty() {
        telecom.push(ContactPoint {
            system: "email".into(),
            value: s.email.clone(),
        });
    }
    Organization {
        id: s.id.clone(),
        meta: Meta {
            last_updated: Some(instant(last_updated)),
            profile: vec![PROFILE_ORGANIZATION.into()],
        },
        identifier,
        // Structures are never ended by the extract; one no activity points to any more
        // still answers (issue 15: to be decided with the HTTP face).
        active: true,
        kind,
        name: (!s.name.is_empty()).then(|| s.name.clone()),
        alias: [s.trade_name.clone()]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
        telecom,
        address,
    }
}
