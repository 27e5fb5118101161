//! The public directory (Annuaire Santé, REG-10, issue 15): the registry's public data as
//! the FHIR R4 resources of the ANS guide (`https://interop.esante.gouv.fr/ig/fhir/annuaire`,
//! public-data profiles `as-dp-*`).
//!
//! Reads the registry through `caducee_registry::{queries, search}` only; owns no table.
//! Done so far: the typed FHIR structs ([`fhir`]) and the resources built from the registry
//! ([`resources`]). Next (issue 15): the `/fhir/v2` router (metadata, read, search,
//! `$export`), `caducee export fhir`, the `/annuaire` page.

pub mod fhir;
pub mod resources;

#[cfg(test)]
mod tests;
