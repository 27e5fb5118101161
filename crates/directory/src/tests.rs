//! Exact JSON of the three resources for one professional (REG-10, issue 15).

#![allow(clippy::unwrap_used)]

use crate::fhir::Resource;
use crate::resources::{organization, practitioner, practitioner_role};
use caducee_registry::queries::{
    Activity, CivilIdentity, Coded, Contact, KnowHow, Profession, Professional, Structure,
};
use serde_json::json;

fn c(code: &str, label: &str) -> Coded {
    Coded {
        code: code.into(),
        label: label.into(),
    }
}

fn julie() -> Professional {
    let structure = Structure {
        id: "C73282932000074".into(),
        siret: "73282932000074".into(),
        siren: "732829320".into(),
        finess: String::new(),
        finess_legal_entity: String::new(),
        name: "CABINET DU DR MARTIN".into(),
        trade_name: String::new(),
        address: vec!["12 RUE DE LA PAIX".into()],
        postcode: "75002".into(),
        city: "Paris".into(),
        country: String::new(),
        phone: "0142000000".into(),
        email: String::new(),
        sector: c("SA07", "Cabinet individuel"),
        department: c("75", "Paris"),
    };
    let activity = |id: &str, active: bool| Activity {
        id: id.into(),
        profession: c("10", "Médecin"),
        mode: c("L", "Libéral, indépendant, artisan, commerçant"),
        role: c("FON-01", "Titulaire de cabinet"),
        genre: c("GENR01", "Activité de soin et de pharmacie"),
        know_how: c("SM54", "Médecine générale"),
        pharmacist_section: Coded::default(),
        active,
        structure: Some(structure.clone()),
    };
    Professional {
        id_nat: "819999900012".into(),
        id_type: "8".into(),
        identifier: "19999900012".into(),
        civility: c("MME", "Madame"),
        exercise_civility: c("DR", "Docteur"),
        last_name: "Martin".into(),
        first_name: "Julie".into(),
        // Never published: birth date and contact coordinates are not public data.
        civil_identity: Some(CivilIdentity {
            birth_name: "Martin".into(),
            first_names: "Julie".into(),
            birth_date: "1980-04-12".into(),
            birth_place: "Paris".into(),
            birth_country: "99100".into(),
            sex: "F".into(),
        }),
        professions: vec![Profession {
            profession: c("10", "Médecin"),
            category: c("C", "Civil"),
            know_how: vec![KnowHow {
                kind: c("S", "Spécialité ordinale"),
                value: c("SM54", "Médecine générale"),
            }],
        }],
        activities: vec![
            activity("819999900012:aaaa", true),
            activity("819999900012:bbbb", false),
        ],
        diplomas: Vec::new(),
        contact: Some(Contact {
            email: "julie.martin@example.test".into(),
            mobile: "+33612345601".into(),
            address: String::new(),
        }),
        mssante: Vec::new(),
    }
}

const T: i64 = 1_795_428_000; // 2026-11-23T10:00:00Z

#[test]
fn reg_10_practitioner_json_is_the_guides() {
    let p = julie();
    let json = serde_json::to_value(Resource::Practitioner(practitioner(&p, T))).unwrap();
    assert_eq!(
        json,
        json!({
            "resourceType": "Practitioner",
            "id": "819999900012",
            "meta": {
                "lastUpdated": "2026-11-23T10:00:00Z",
                "profile": ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner"]
            },
            "identifier": [
                {
                    "use": "official",
                    "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "IDNPS"}]},
                    "system": "urn:oid:1.2.250.1.71.4.2.1",
                    "value": "819999900012"
                },
                {
                    "use": "official",
                    "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "RPPS"}]},
                    "system": "https://rpps.esante.gouv.fr",
                    "value": "19999900012"
                }
            ],
            "active": true,
            "name": [{"use": "usual", "family": "Martin", "given": ["Julie"], "prefix": ["MME"], "suffix": ["DR"]}],
            "qualification": [
                {"code": {"coding": [
                    {"system": "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante", "code": "10", "display": "Médecin"},
                    {"system": "https://mos.esante.gouv.fr/NOS/TRE_R09-CategorieProfessionnelle/FHIR/TRE-R09-CategorieProfessionnelle", "code": "C", "display": "Civil"}
                ]}},
                {"code": {"coding": [
                    {"system": "https://mos.esante.gouv.fr/NOS/TRE_R04-TypeSavoirFaire/FHIR/TRE-R04-TypeSavoirFaire", "code": "S", "display": "Spécialité ordinale"},
                    {"system": "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale", "code": "SM54", "display": "Médecine générale"}
                ]}}
            ]
        })
    );
    // Public data only.
    let text = json.to_string();
    assert!(
        !text.contains("1980-04-12") && !text.contains("example.test") && !text.contains("+336")
    );
    // No activity left: inactive.
    let mut gone = julie();
    gone.activities.iter_mut().for_each(|a| a.active = false);
    assert!(!practitioner(&gone, T).active);
}

#[test]
fn reg_10_practitioner_role_and_organization_json_are_the_guides() {
    let p = julie();
    let role = serde_json::to_value(Resource::PractitionerRole(practitioner_role(
        &p,
        &p.activities[1],
        T,
    )))
    .unwrap();
    assert_eq!(
        role,
        json!({
            "resourceType": "PractitionerRole",
            "id": "819999900012-bbbb",
            "meta": {
                "lastUpdated": "2026-11-23T10:00:00Z",
                "profile": ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitionerrole"]
            },
            "active": false,
            "practitioner": {"reference": "Practitioner/819999900012"},
            "organization": {"reference": "Organization/C73282932000074"},
            "code": [
                {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite", "code": "GENR01", "display": "Activité de soin et de pharmacie"}]},
                {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice", "code": "L", "display": "Libéral, indépendant, artisan, commerçant"}]},
                {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R21-Fonction/FHIR/TRE-R21-Fonction", "code": "FON-01", "display": "Titulaire de cabinet"}]}
            ]
        })
    );
    let s = p.activities[0].structure.clone().unwrap();
    let org = serde_json::to_value(Resource::Organization(organization(&s, T))).unwrap();
    assert_eq!(
        org,
        json!({
            "resourceType": "Organization",
            "id": "C73282932000074",
            "meta": {
                "lastUpdated": "2026-11-23T10:00:00Z",
                "profile": ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-organization"]
            },
            "identifier": [
                {
                    "use": "official",
                    "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "IDNST"}]},
                    "system": "urn:oid:1.2.250.1.71.4.2.2",
                    "value": "373282932000074"
                },
                {
                    "use": "official",
                    "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "SIRET"}]},
                    "system": "https://sirene.fr",
                    "value": "73282932000074"
                }
            ],
            "active": true,
            "type": [{
                "extension": [{"url": "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-types", "valueCode": "secteurActiviteRASS"}],
                "coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite", "code": "SA07", "display": "Cabinet individuel"}]
            }],
            "name": "CABINET DU DR MARTIN",
            "telecom": [{"system": "phone", "value": "0142000000"}],
            "address": [{"use": "work", "type": "both", "line": ["12 RUE DE LA PAIX"], "city": "Paris", "postalCode": "75002"}]
        })
    );
}
