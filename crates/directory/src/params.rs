//! A FHIR search's query string, read into the registry's search filters and the result
//! controls (`_count`, `_total`, `_elements`, `_include`, `_revinclude`, the page cursor).
//!
//! The parameters are those of the ANS guide's CapabilityStatement for the public-data
//! resources; anything else is refused with a French diagnostic rather than ignored (a
//! client that misspells `family` must not get the whole directory). A comma separates
//! alternatives (OR), a repeated parameter adds a condition (AND), `\,` `\|` `\$` `\\` are
//! the escapes of FHIR's search syntax.

use crate::error::DirectoryError;
use crate::resources::{
    SYSTEM_FINESS, SYSTEM_IDNAT_PS, SYSTEM_IDNAT_STRUCT, SYSTEM_RPPS, SYSTEM_SIRENE,
};
use caducee_core::nomenclature::Nomenclature;
use caducee_registry::search::{
    Cmp, NameField, PersonFilter, RoleFilter, StructureFilter, TextMatch,
};

/// `_count` when none is given, and its maximum.
pub const DEFAULT_COUNT: u32 = 50;
pub const MAX_COUNT: u32 = 1000;

/// The resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Practitioner,
    PractitionerRole,
    Organization,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "Practitioner" => Some(Kind::Practitioner),
            "PractitionerRole" => Some(Kind::PractitionerRole),
            "Organization" => Some(Kind::Organization),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Practitioner => "Practitioner",
            Kind::PractitionerRole => "PractitionerRole",
            Kind::Organization => "Organization",
        }
    }

    /// The search parameters of this type (besides the common `_id`, `_lastUpdated` and
    /// the result controls), for the CapabilityStatement and the diagnostics.
    pub fn parameters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Practitioner => &[
                ("identifier", "token"),
                ("family", "string"),
                ("given", "string"),
                ("name", "string"),
                ("qualification-code", "token"),
                ("active", "token"),
            ],
            Kind::PractitionerRole => &[
                ("practitioner", "reference"),
                ("organization", "reference"),
                ("role", "token"),
                ("active", "token"),
            ],
            Kind::Organization => &[
                ("identifier", "token"),
                ("name", "string"),
                ("address-city", "string"),
                ("address-postalcode", "string"),
                ("type", "token"),
                ("active", "token"),
            ],
        }
    }

    /// The `_include` (PractitionerRole) or `_revinclude` values accepted.
    pub fn includes(self) -> &'static [&'static str] {
        match self {
            Kind::Practitioner => &["PractitionerRole:practitioner"],
            Kind::PractitionerRole => &[
                "PractitionerRole:practitioner",
                "PractitionerRole:organization",
                "*",
            ],
            Kind::Organization => &["PractitionerRole:organization"],
        }
    }
}

/// The filters of a search, per type.
#[derive(Debug, Clone, PartialEq)]
pub enum Filters {
    Practitioner(Vec<PersonFilter>),
    PractitionerRole(Vec<RoleFilter>),
    Organization(Vec<StructureFilter>),
}

/// `_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    None,
    Estimate,
    Accurate,
}

/// What the answer holds besides the matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    pub count: u32,
    pub total: Total,
    /// `_elements`: the top-level elements kept in the matches (besides id and meta).
    pub elements: Option<Vec<String>>,
    /// PractitionerRole `_include`: the practitioner, the organization.
    pub include_practitioner: bool,
    pub include_organization: bool,
    /// Practitioner / Organization `_revinclude=PractitionerRole:…`.
    pub revinclude: bool,
    /// The `_cursor` of a next page, as received.
    pub cursor: Option<String>,
}

/// One search, read.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub kind: Kind,
    pub filters: Filters,
    pub controls: Controls,
    /// The pairs of the query string without `_cursor`, for the `self` and `next` links.
    pub pairs: Vec<(String, String)>,
}

fn invalid(msg: String) -> DirectoryError {
    DirectoryError::Invalid(msg)
}

/// Splits a value on the commas that are not escaped, and removes the escapes.
pub fn alternatives(value: &str) -> Vec<String> {
    split_unescaped(value, ',')
        .into_iter()
        .map(|v| unescape(&v))
        .collect()
}

fn split_unescaped(value: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A token `system|code` (system `None` when no `|`; `Some("")` for `|code`).
fn token(raw: &str) -> (Option<String>, String) {
    let parts = split_unescaped(raw, '|');
    match parts.as_slice() {
        [code] => (None, unescape(code)),
        [system, rest @ ..] => (Some(unescape(system)), unescape(&rest.join("|"))),
        [] => (None, String::new()),
    }
}

/// The id of a reference value: `Type/id`, an absolute URL ending so, or a bare id.
fn reference_id(raw: &str, kind: &str) -> Option<String> {
    let v = raw.trim_end_matches('/');
    let id = match v.rsplit_once('/') {
        Some((head, id)) => {
            if !(head == kind || head.ends_with(&format!("/{kind}"))) {
                return None;
            }
            id
        }
        None => v,
    };
    (!id.is_empty()).then(|| id.to_string())
}

/// The bounds a `_lastUpdated` value stands for: `[lo, hi)` of its precision (year, month,
/// day, second), in Unix seconds.
fn date_range(v: &str) -> Option<(i64, i64)> {
    use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
    let day = |y: i32, m: u8, d: u8| -> Option<i64> {
        let month = Month::try_from(m).ok()?;
        Some(
            PrimitiveDateTime::new(Date::from_calendar_date(y, month, d).ok()?, Time::MIDNIGHT)
                .assume_utc()
                .unix_timestamp(),
        )
    };
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match v.len() {
        4 => {
            let y = num(v)? as i32;
            Some((day(y, 1, 1)?, day(y + 1, 1, 1)?))
        }
        7 if v.as_bytes()[4] == b'-' => {
            let y = num(&v[..4])? as i32;
            let m = num(&v[5..])? as u8;
            let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((day(y, m, 1)?, day(next.0, next.1, 1)?))
        }
        10 if v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-' => {
            let lo = day(
                num(&v[..4])? as i32,
                num(&v[5..7])? as u8,
                num(&v[8..])? as u8,
            )?;
            Some((lo, lo + 86_400))
        }
        _ => {
            let t = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .ok()?
                .unix_timestamp();
            Some((t, t + 1))
        }
    }
}

/// The conditions of one `_lastUpdated` value (prefix and date).
fn last_updated(value: &str) -> Result<Vec<(Cmp, i64)>, DirectoryError> {
    let (prefix, date) = match value.get(..2) {
        Some(p @ ("eq" | "ne" | "gt" | "ge" | "lt" | "le" | "sa" | "eb" | "ap")) => {
            (p, &value[2..])
        }
        _ => ("eq", value),
    };
    let (lo, hi) = date_range(date).ok_or_else(|| {
        invalid(format!(
            "Valeur invalide pour « _lastUpdated » : « {value} » (attendu : une date AAAA, AAAA-MM, AAAA-MM-JJ ou un instant AAAA-MM-JJThh:mm:ssZ, précédé de eq, gt, ge, lt ou le)."
        ))
    })?;
    Ok(match prefix {
        "eq" => vec![(Cmp::Ge, lo), (Cmp::Lt, hi)],
        "gt" => vec![(Cmp::Ge, hi)],
        "ge" => vec![(Cmp::Ge, lo)],
        "lt" => vec![(Cmp::Lt, lo)],
        "le" => vec![(Cmp::Lt, hi)],
        other => {
            return Err(DirectoryError::NotSupported(format!(
                "Le préfixe « {other} » de « _lastUpdated » n'est pas pris en charge (eq, gt, ge, lt, le)."
            )))
        }
    })
}

fn boolean(name: &str, v: &str) -> Result<bool, DirectoryError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!(
            "Valeur invalide pour « {name} » : « {v} » (attendu : true ou false)."
        ))),
    }
}

/// Reads a query string (already split into decoded pairs) for `kind`.
pub fn parse(kind: Kind, pairs: Vec<(String, String)>) -> Result<SearchRequest, DirectoryError> {
    let mut controls = Controls {
        count: DEFAULT_COUNT,
        total: Total::None,
        elements: None,
        include_practitioner: false,
        include_organization: false,
        revinclude: false,
        cursor: None,
    };
    let mut persons = Vec::new();
    let mut roles = Vec::new();
    let mut structures = Vec::new();
    let mut kept = Vec::new();
    for (key, value) in pairs {
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n.to_string(), Some(m.to_string())),
            None => (key.clone(), None),
        };
        if name == "_cursor" {
            controls.cursor = Some(value);
            continue;
        }
        kept.push((key.clone(), value.clone()));
        let string_mode = |name: &str| -> Result<TextMatch, DirectoryError> {
            match modifier.as_deref() {
                None => Ok(TextMatch::StartsWith),
                Some("contains") => Ok(TextMatch::Contains),
                Some("exact") => Ok(TextMatch::Exact),
                Some(m) => Err(invalid(format!(
                    "Le modificateur « :{m} » n'est pas pris en charge pour « {name} » (:contains, :exact)."
                ))),
            }
        };
        let no_modifier = |name: &str| -> Result<(), DirectoryError> {
            match &modifier {
                None => Ok(()),
                Some(m) => Err(invalid(format!(
                    "Le modificateur « :{m} » n'est pas pris en charge pour « {name} »."
                ))),
            }
        };
        let is_control = matches!(
            name.as_str(),
            "_count" | "_total" | "_elements" | "_include" | "_revinclude" | "_format" | "_pretty"
        );
        if is_control {
            no_modifier(&name)?;
        }
        let values: Vec<String> = if is_control {
            Vec::new()
        } else {
            let v = alternatives(&value);
            if v.iter().any(|x| x.is_empty()) {
                return Err(invalid(format!(
                    "Le paramètre « {key} » a une valeur vide."
                )));
            }
            v
        };
        match (kind, name.as_str()) {
            (_, "_count") => {
                let n: u32 = value.parse().map_err(|_| {
                    invalid(format!(
                        "Valeur invalide pour « _count » : « {value} » (attendu : un entier de 0 à {MAX_COUNT})."
                    ))
                })?;
                if n > MAX_COUNT {
                    return Err(DirectoryError::TooCostly(format!(
                        "« _count » vaut au plus {MAX_COUNT} (demandé : {n}) ; suivez le lien « next » pour les pages suivantes, ou utilisez l'export $export pour tout l'annuaire."
                    )));
                }
                controls.count = n;
            }
            (_, "_total") => {
                controls.total = match value.as_str() {
                    "none" => Total::None,
                    "estimate" => Total::Estimate,
                    "accurate" => Total::Accurate,
                    _ => {
                        return Err(invalid(format!(
                    "Valeur invalide pour « _total » : « {value} » (none, estimate ou accurate)."
                )))
                    }
                }
            }
            (_, "_elements") => {
                controls.elements = Some(
                    value
                        .split(',')
                        .map(|e| e.trim().to_string())
                        .filter(|e| !e.is_empty())
                        .collect(),
                );
            }
            (_, "_format") => {
                if !matches!(
                    value.as_str(),
                    "json" | "application/json" | "application/fhir+json"
                ) {
                    return Err(DirectoryError::NotSupported(format!(
                        "Format « {value} » non pris en charge : seul JSON (application/fhir+json) est servi."
                    )));
                }
            }
            (_, "_pretty") => {}
            (Kind::PractitionerRole, "_include") => match value.as_str() {
                "PractitionerRole:practitioner" => controls.include_practitioner = true,
                "PractitionerRole:organization" => controls.include_organization = true,
                "*" => {
                    controls.include_practitioner = true;
                    controls.include_organization = true;
                }
                _ => return Err(bad_include(kind, "_include", &value)),
            },
            (Kind::Practitioner | Kind::Organization, "_revinclude") => {
                if !kind.includes().contains(&value.as_str()) {
                    return Err(bad_include(kind, "_revinclude", &value));
                }
                controls.revinclude = true;
            }
            (_, "_id") => {
                no_modifier(&name)?;
                match kind {
                    Kind::Practitioner => persons.push(PersonFilter::Idnat(values)),
                    Kind::Organization => structures.push(StructureFilter::Id(values)),
                    Kind::PractitionerRole => roles.push(RoleFilter::Id(
                        values
                            .iter()
                            .map(|v| crate::resources::activity_id(v))
                            .collect(),
                    )),
                }
            }
            (_, "_lastUpdated") => {
                no_modifier(&name)?;
                // Alternatives of dates are rare; each value must hold (one value here).
                if values.len() > 1 {
                    return Err(DirectoryError::NotSupported(
                        "« _lastUpdated » ne prend qu'une date par paramètre ; répétez le paramètre pour un intervalle.".into(),
                    ));
                }
                for (cmp, t) in last_updated(&values[0])? {
                    match kind {
                        Kind::Practitioner => persons.push(PersonFilter::LastUpdated(cmp, t)),
                        Kind::Organization => structures.push(StructureFilter::LastUpdated(cmp, t)),
                        Kind::PractitionerRole => roles.push(RoleFilter::LastUpdated(cmp, t)),
                    }
                }
            }
            (Kind::Practitioner, "identifier") => {
                no_modifier(&name)?;
                let mut ids = Vec::new();
                for v in &values {
                    let (system, code) = token(v);
                    match system.as_deref() {
                        Some(SYSTEM_IDNAT_PS) | Some("") => ids.push(code),
                        Some(SYSTEM_RPPS) => ids.push(format!("8{code}")),
                        None => {
                            ids.push(format!("8{code}"));
                            ids.push(format!("0{code}"));
                            ids.push(code);
                        }
                        Some(other) => return Err(bad_system(&name, other)),
                    }
                }
                persons.push(PersonFilter::Idnat(ids));
            }
            (Kind::Practitioner, "family" | "given" | "name") => {
                let field = match name.as_str() {
                    "family" => NameField::Family,
                    "given" => NameField::Given,
                    _ => NameField::Any,
                };
                let mode = string_mode(&name)?;
                if mode != TextMatch::Exact
                    && values
                        .iter()
                        .all(|v| caducee_registry::search::words(v).is_empty())
                {
                    return Err(invalid(format!(
                        "Valeur invalide pour « {key} » : « {value} » (aucune lettre ni chiffre)."
                    )));
                }
                persons.push(PersonFilter::Name {
                    field,
                    mode,
                    any_of: values,
                });
            }
            (Kind::Practitioner, "qualification-code") => {
                no_modifier(&name)?;
                let g15 = Nomenclature::G15Profession.fhir_system();
                let mut codes = Vec::new();
                for v in &values {
                    let (system, code) = token(v);
                    match system {
                        None => codes.push(code),
                        Some(s) if s == g15 || s.is_empty() => codes.push(code),
                        Some(other) => return Err(bad_system(&name, &other)),
                    }
                }
                persons.push(PersonFilter::Profession(codes));
            }
            (Kind::Practitioner, "active") => {
                no_modifier(&name)?;
                persons.push(PersonFilter::Active(single_bool(&name, &values)?));
            }
            (Kind::PractitionerRole, "practitioner" | "organization") => {
                no_modifier(&name)?;
                let target = if name == "practitioner" {
                    "Practitioner"
                } else {
                    "Organization"
                };
                let ids = values
                    .iter()
                    .map(|v| {
                        reference_id(v, target).ok_or_else(|| {
                            invalid(format!(
                                "Valeur invalide pour « {name} » : « {v} » (attendu : {target}/<id> ou <id>)."
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                roles.push(if name == "practitioner" {
                    RoleFilter::Person(ids)
                } else {
                    RoleFilter::Structure(ids)
                });
            }
            (Kind::PractitionerRole, "role") => {
                no_modifier(&name)?;
                let r21 = Nomenclature::R21Fonction.fhir_system();
                let mut codes = Vec::new();
                for v in &values {
                    let (system, code) = token(v);
                    match system {
                        None => codes.push(code),
                        Some(s) if s == r21 || s.is_empty() => codes.push(code),
                        Some(other) => return Err(bad_system(&name, &other)),
                    }
                }
                roles.push(RoleFilter::Role(codes));
            }
            (Kind::PractitionerRole, "active") => {
                no_modifier(&name)?;
                roles.push(RoleFilter::Active(single_bool(&name, &values)?));
            }
            (Kind::Organization, "identifier") => {
                no_modifier(&name)?;
                let mut by_number = Vec::new();
                let mut by_id = Vec::new();
                for v in &values {
                    let (system, code) = token(v);
                    match system.as_deref() {
                        Some(SYSTEM_FINESS) | Some(SYSTEM_SIRENE) => by_number.push(code),
                        Some(SYSTEM_IDNAT_STRUCT) => by_id.extend(structure_id(&code)),
                        None | Some("") => {
                            if code.len() == 9 || code.len() == 14 {
                                by_number.push(code);
                            } else {
                                by_id.extend(structure_id(&code));
                            }
                        }
                        Some(other) => return Err(bad_system(&name, other)),
                    }
                }
                match (by_number.is_empty(), by_id.is_empty()) {
                    (false, true) => structures.push(StructureFilter::Identifier(by_number)),
                    (true, _) => structures.push(StructureFilter::Id(by_id)),
                    (false, false) => {
                        return Err(DirectoryError::NotSupported(
                            "« identifier » : ne mélangez pas dans une même valeur un idNat_Struct et un FINESS/SIRET ; répétez le paramètre ou faites deux recherches.".into(),
                        ))
                    }
                }
            }
            (Kind::Organization, "name") => {
                let mode = string_mode(&name)?;
                structures.push(StructureFilter::Name {
                    mode,
                    any_of: values,
                });
            }
            (Kind::Organization, "address-city") => {
                if modifier.is_some() {
                    no_modifier(&name)?;
                }
                structures.push(StructureFilter::City(values));
            }
            (Kind::Organization, "address-postalcode") => {
                no_modifier(&name)?;
                structures.push(StructureFilter::Postcode(values));
            }
            (Kind::Organization, "type") => {
                no_modifier(&name)?;
                let r02 = Nomenclature::R02SecteurActivite.fhir_system();
                let mut codes = Vec::new();
                for v in &values {
                    let (system, code) = token(v);
                    match system {
                        None => codes.push(code),
                        Some(s) if s == r02 || s.is_empty() => codes.push(code),
                        Some(other) => return Err(bad_system(&name, &other)),
                    }
                }
                structures.push(StructureFilter::Sector(codes));
            }
            (Kind::Organization, "active") => {
                no_modifier(&name)?;
                // Every structure of the extract is active (see resources::organization).
                if !single_bool(&name, &values)? {
                    structures.push(StructureFilter::Id(Vec::new()));
                }
            }
            _ => {
                let accepted: Vec<&str> = kind
                    .parameters()
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(["_id", "_lastUpdated", "_count", "_total", "_elements"])
                    .chain(match kind {
                        Kind::PractitionerRole => Some("_include"),
                        _ => Some("_revinclude"),
                    })
                    .collect();
                return Err(invalid(format!(
                    "Le paramètre de recherche « {name} » n'est pas pris en charge pour {} ; paramètres acceptés : {}.",
                    kind.name(),
                    accepted.join(", ")
                )));
            }
        }
    }
    let filters = match kind {
        Kind::Practitioner => Filters::Practitioner(persons),
        Kind::PractitionerRole => Filters::PractitionerRole(roles),
        Kind::Organization => Filters::Organization(structures),
    };
    Ok(SearchRequest {
        kind,
        filters,
        controls,
        pairs: kept,
    })
}

fn single_bool(name: &str, values: &[String]) -> Result<bool, DirectoryError> {
    match values {
        [v] => boolean(name, v),
        _ => Err(invalid(format!(
            "« {name} » prend une seule valeur, true ou false."
        ))),
    }
}

fn bad_system(name: &str, system: &str) -> DirectoryError {
    DirectoryError::Invalid(format!(
        "Système d'identifiant ou de codes inconnu pour « {name} » : « {system} »."
    ))
}

fn bad_include(kind: Kind, name: &str, value: &str) -> DirectoryError {
    DirectoryError::Invalid(format!(
        "Valeur non prise en charge pour « {name} » sur {} : « {value} » (accepté : {}).",
        kind.name(),
        kind.includes().join(", ")
    ))
}

/// The extract's technical structure id of an idNat_Struct (the inverse of
/// [`crate::resources::idnat_struct`]); none for an unknown head.
pub fn structure_id(idnat_struct: &str) -> Option<String> {
    let (head, rest) = idnat_struct.split_at_checked(1)?;
    match head {
        "1" => Some(format!("F{rest}")),
        "3" | "0" => Some(format!("C{rest}")),
        "4" => Some(format!("R{rest}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn reg_10_search_syntax_comma_escape_token_reference_dates() {
        assert_eq!(alternatives(r"a,b\,c"), ["a", "b,c"]);
        assert_eq!(token("s|c"), (Some("s".into()), "c".into()));
        assert_eq!(token("c"), (None, "c".into()));
        assert_eq!(
            reference_id("Practitioner/810001", "Practitioner").as_deref(),
            Some("810001")
        );
        assert_eq!(
            reference_id("https://x/fhir/v2/Practitioner/810001", "Practitioner").as_deref(),
            Some("810001")
        );
        assert_eq!(reference_id("Organization/1", "Practitioner"), None);
        assert_eq!(date_range("2026"), Some((1767225600, 1798761600)));
        assert_eq!(date_range("2026-11-23"), Some((1795392000, 1795478400)));
        assert_eq!(
            date_range("2026-11-23T10:00:00Z"),
            Some((1795428000, 1795428001))
        );
        assert_eq!(date_range("2026-13"), None);
        assert_eq!(
            last_updated("gt2026-11-23").unwrap(),
            [(Cmp::Ge, 1795478400)]
        );
    }

    #[test]
    fn reg_10_unknown_parameters_and_bad_values_are_refused_in_french() {
        for (query, part) in [
            ("famly=x", "« famly » n'est pas pris en charge"),
            ("family:near=x", "modificateur « :near »"),
            ("_count=5000", "au plus 1000"),
            ("_count=abc", "_count"),
            ("active=yes", "true ou false"),
            ("_lastUpdated=hier", "_lastUpdated"),
            ("identifier=http://x|1", "Système"),
            ("_revinclude=Foo:bar", "_revinclude"),
            ("family=", "vide"),
        ] {
            let e = parse(Kind::Practitioner, q(query)).unwrap_err();
            assert!(e.to_string().contains(part), "{query}: {e}");
        }
        let r = parse(
            Kind::Practitioner,
            q("family:contains=mart,dur&family=m&_count=10&_cursor=ab"),
        )
        .unwrap();
        assert_eq!(r.controls.count, 10);
        assert_eq!(r.controls.cursor.as_deref(), Some("ab"));
        assert_eq!(r.pairs.len(), 3);
        match r.filters {
            Filters::Practitioner(f) => assert_eq!(f.len(), 2),
            _ => unreachable!(),
        }
    }
}
