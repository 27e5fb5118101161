//! `GET [base]/metadata`: the CapabilityStatement of the API, built from the same tables
//! as the parameter reader ([`crate::params::Kind::parameters`]), so that what it says is
//! what the API does. Typed structs, as for the resources.
//!
//! No HealthcareService (decided for issue 15 from the ANS guide): its two public-data
//! profiles describe FINESS data — `as-dp-healthcareservice-healthcare-activity`, the
//! regulated care activities an ARS authorises (ARHGOS authorisation number and dates,
//! activity, modality and form: JDV_J131..J134 of the RASS), and
//! `as-dp-healthcareservice-social-equipment`, an establishment's social equipment
//! (discipline, clientele, type of activity: JDV_J136..J138) — each `providedBy` a FINESS
//! establishment. The RPPS extract (PS_LibreAcces) the registry holds has none of these;
//! serving the type would mean resources with no content. It comes with a FINESS import.

use crate::params::Kind;
use crate::resources::{PROFILE_ORGANIZATION, PROFILE_PRACTITIONER, PROFILE_PRACTITIONER_ROLE};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityStatement {
    resource_type: &'static str,
    status: &'static str,
    date: String,
    publisher: &'static str,
    kind: &'static str,
    software: Software,
    implementation: Implementation,
    fhir_version: &'static str,
    format: Vec<&'static str>,
    rest: Vec<Rest>,
}

#[derive(Debug, Serialize)]
struct Software {
    name: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct Implementation {
    description: &'static str,
    url: String,
}

#[derive(Debug, Serialize)]
struct Rest {
    mode: &'static str,
    resource: Vec<RestResource>,
    operation: Vec<Operation>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RestResource {
    #[serde(rename = "type")]
    kind: &'static str,
    supported_profile: Vec<&'static str>,
    interaction: Vec<Interaction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    search_include: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    search_rev_include: Vec<&'static str>,
    search_param: Vec<SearchParam>,
}

#[derive(Debug, Serialize)]
struct Interaction {
    code: &'static str,
}

#[derive(Debug, Serialize)]
struct SearchParam {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize)]
struct Operation {
    name: &'static str,
    definition: &'static str,
}

/// The statement of the API at `base` (`…/fhir/v2`); `date`: a FHIR dateTime.
pub fn statement(base: &str, date: String) -> CapabilityStatement {
    let resource = [
        (Kind::Practitioner, PROFILE_PRACTITIONER),
        (Kind::PractitionerRole, PROFILE_PRACTITIONER_ROLE),
        (Kind::Organization, PROFILE_ORGANIZATION),
    ]
    .into_iter()
    .map(|(kind, profile)| {
        let mut search_param: Vec<SearchParam> = kind
            .parameters()
            .iter()
            .map(|(name, kind)| SearchParam { name, kind })
            .collect();
        search_param.push(SearchParam {
            name: "_id",
            kind: "token",
        });
        search_param.push(SearchParam {
            name: "_lastUpdated",
            kind: "date",
        });
        let (search_include, search_rev_include) = match kind {
            Kind::PractitionerRole => (kind.includes().to_vec(), Vec::new()),
            _ => (Vec::new(), kind.includes().to_vec()),
        };
        RestResource {
            kind: kind.name(),
            supported_profile: vec![profile],
            interaction: vec![
                Interaction { code: "read" },
                Interaction {
                    code: "search-type",
                },
            ],
            search_include,
            search_rev_include,
            search_param,
        }
    })
    .collect();
    CapabilityStatement {
        resource_type: "CapabilityStatement",
        status: "active",
        date,
        publisher: "caducee",
        kind: "instance",
        software: Software {
            name: "caducee",
            version: env!("CARGO_PKG_VERSION"),
        },
        implementation: Implementation {
            description:
                "Annuaire Santé : API FHIR des données publiques (profils as-dp du guide de l'ANS)",
            url: base.to_string(),
        },
        fhir_version: "4.0.1",
        format: vec!["application/fhir+json", "json"],
        rest: vec![Rest {
            mode: "server",
            resource,
            operation: vec![Operation {
                name: "export",
                definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
            }],
        }],
    }
}
