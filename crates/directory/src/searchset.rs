//! Runs a search read by [`crate::params`] on the registry's index and builds the
//! `searchset` Bundle: the matches, their includes, `total`, the `self` and `next` links.
//! Also the reads by id, which share the loading of resources.

use crate::cursor::Cursor;
use crate::error::DirectoryError;
use crate::fhir::{Bundle, BundleEntry, BundleLink, BundleSearch, EntryResource, Meta, Resource};
use crate::params::{Filters, Kind, SearchRequest, Total};
use crate::resources::{instant, organization, practitioner, practitioner_role, role_id};
use crate::Directory;
use caducee_core::ids::IdNatPs;
use caducee_registry::queries::{get_professional, Professional};
use caducee_registry::search::{self, Page, RoleFilter, RolePage};
use std::collections::HashMap;

/// Includes per page at most (an Organization's `_revinclude` at a large hospital).
const MAX_INCLUDES: u32 = 1000;

/// One page of matches, before it becomes a Bundle.
struct Found {
    matches: Vec<EntryResource>,
    includes: Vec<Resource>,
    next: Option<Cursor>,
    total: Option<u64>,
}

/// The searchset Bundle of `req`, as JSON bytes (serialised straight from the typed
/// structs; through a `serde_json::Value` only when `_elements` trims the matches).
pub async fn run(dir: &Directory, req: &SearchRequest) -> Result<Vec<u8>, DirectoryError> {
    let cursor = req
        .controls
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()?;
    let found = match &req.filters {
        Filters::Practitioner(f) => practitioners(dir, req, f, cursor).await?,
        Filters::Organization(f) => organizations(dir, req, f, cursor).await?,
        Filters::PractitionerRole(f) => roles(dir, req, f, cursor).await?,
    };
    let mut link = vec![BundleLink {
        relation: "self".into(),
        url: link_url(dir, req.kind, &req.pairs, req.controls.cursor.as_deref()),
    }];
    if let Some(next) = &found.next {
        link.push(BundleLink {
            relation: "next".into(),
            url: link_url(dir, req.kind, &req.pairs, Some(&next.encode())),
        });
    }
    let entry = found
        .matches
        .into_iter()
        .map(|r| entry(dir, r, "match"))
        .chain(
            found
                .includes
                .into_iter()
                .map(|r| entry(dir, EntryResource::Typed(r), "include")),
        )
        .collect();
    let bundle = Bundle {
        id: uuid::Uuid::new_v4().to_string(),
        meta: Meta {
            last_updated: Some(instant(dir.clock().unix())),
            profile: Vec::new(),
        },
        kind: "searchset".into(),
        total: found.total,
        link,
        entry,
    };
    let json_error = |e: serde_json::Error| DirectoryError::Io(std::io::Error::other(e));
    let bundle = Resource::Bundle(bundle);
    match &req.controls.elements {
        None => serde_json::to_vec(&bundle).map_err(json_error),
        Some(elements) => {
            let mut json = serde_json::to_value(bundle).map_err(json_error)?;
            subset(&mut json, elements);
            serde_json::to_vec(&json).map_err(json_error)
        }
    }
}

fn entry(dir: &Directory, resource: EntryResource, mode: &str) -> BundleEntry {
    let (kind, id) = match &resource {
        EntryResource::Typed(Resource::Practitioner(p)) => ("Practitioner", p.id.clone()),
        EntryResource::Typed(Resource::PractitionerRole(r)) => ("PractitionerRole", r.id.clone()),
        EntryResource::Typed(Resource::Organization(o)) => ("Organization", o.id.clone()),
        // Fragments are Practitioners (see `practitioners`).
        EntryResource::Serialised(json) => ("Practitioner", fragment_id(json)),
        EntryResource::Typed(Resource::OperationOutcome(_) | Resource::Bundle(_)) => {
            ("", String::new())
        }
    };
    BundleEntry {
        full_url: format!("{}/{kind}/{id}", dir.base()),
        resource,
        search: BundleSearch { mode: mode.into() },
    }
}

/// The `id` of a serialised resource.
fn fragment_id(json: &serde_json::value::RawValue) -> String {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Id<'_>>(json.get())
        .map(|i| i.id.into_owned())
        .unwrap_or_default()
}

fn link_url(
    dir: &Directory,
    kind: Kind,
    pairs: &[(String, String)],
    cursor: Option<&str>,
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    if let Some(c) = cursor {
        q.append_pair("_cursor", c);
    }
    let q = q.finish();
    if q.is_empty() {
        format!("{}/{}", dir.base(), kind.name())
    } else {
        format!("{}/{}?{q}", dir.base(), kind.name())
    }
}

/// `_elements`: the matches keep only the elements asked (and `resourceType`, `id`,
/// `meta`), tagged SUBSETTED as FHIR requires.
fn subset(bundle: &mut serde_json::Value, elements: &[String]) {
    let Some(entries) = bundle.get_mut("entry").and_then(|e| e.as_array_mut()) else {
        return;
    };
    for e in entries {
        if e.pointer("/search/mode").and_then(|m| m.as_str()) != Some("match") {
            continue;
        }
        let Some(resource) = e.get_mut("resource").and_then(|r| r.as_object_mut()) else {
            continue;
        };
        resource.retain(|k, _| {
            matches!(k.as_str(), "resourceType" | "id" | "meta") || elements.iter().any(|x| x == k)
        });
        if let Some(meta) = resource.get_mut("meta").and_then(|m| m.as_object_mut()) {
            meta.insert(
                "tag".into(),
                serde_json::json!([{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                    "code": "SUBSETTED"
                }]),
            );
        }
    }
}

fn wants_total(req: &SearchRequest) -> bool {
    req.controls.total != Total::None || req.controls.count == 0
}

fn keyed(cursor: Option<Cursor>) -> Result<Option<(i64, i64)>, DirectoryError> {
    match cursor {
        None => Ok(None),
        Some(Cursor::Keyed { after, max_key }) => Ok(Some((after, max_key))),
        Some(Cursor::Roles { .. }) => Err(DirectoryError::Invalid(
            "Ce lien de page (« _cursor ») n'est pas celui de cette recherche.".into(),
        )),
    }
}

/// A professional as the registry holds them, or None (gone between the index and now).
async fn professional(
    dir: &Directory,
    idnat: &str,
) -> Result<Option<Professional>, DirectoryError> {
    let Ok(id) = IdNatPs::parse(idnat) else {
        return Ok(None);
    };
    Ok(get_professional(dir.store(), &id).await?)
}

/// The PractitionerRoles of these professionals' activities (with their activities' own
/// `updated_at`).
async fn roles_of(
    dir: &Directory,
    people: &[&Professional],
) -> Result<Vec<Resource>, DirectoryError> {
    let ids: Vec<String> = people.iter().map(|p| p.id_nat.clone()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hits = search::search_roles(
        dir.store(),
        &[RoleFilter::Person(ids)],
        &RolePage {
            after: None,
            as_of: None,
            limit: MAX_INCLUDES,
        },
    )
    .await?;
    let updated: HashMap<&str, i64> = hits.iter().map(|h| (h.id.as_str(), h.updated_at)).collect();
    let mut out = Vec::new();
    for p in people {
        for a in &p.activities {
            if let Some(t) = updated.get(a.id.as_str()) {
                out.push(Resource::PractitionerRole(practitioner_role(p, a, *t)));
            }
        }
    }
    Ok(out)
}

/// The two searches of the index paged by key: persons and structures.
#[derive(Clone, Copy)]
enum Keyed<'a> {
    Persons(&'a [search::PersonFilter]),
    Structures(&'a [search::StructureFilter]),
}

/// One page of a keyed search: its hits, the cursor of the next page, and the total when
/// asked (as of the first page).
async fn keyed_page(
    dir: &Directory,
    req: &SearchRequest,
    cursor: Option<Cursor>,
    what: Keyed<'_>,
) -> Result<(Vec<search::Hit>, Option<Cursor>, Option<u64>), DirectoryError> {
    let store = dir.store();
    let (after, max_key) = match keyed(cursor)? {
        Some((a, m)) => (Some(a), m),
        None => match what {
            Keyed::Persons(_) => (None, search::max_person_key(store).await?),
            Keyed::Structures(_) => (None, search::max_structure_key(store).await?),
        },
    };
    let limit = req.controls.count;
    let total = if wants_total(req) {
        let n = match what {
            Keyed::Persons(f) => search::count_persons(store, f, Some(max_key)).await?,
            Keyed::Structures(f) => search::count_structures(store, f, Some(max_key)).await?,
        };
        Some(n.max(0) as u64)
    } else {
        None
    };
    if limit == 0 {
        return Ok((Vec::new(), None, total));
    }
    let page = Page {
        after,
        max_key: Some(max_key),
        limit: limit + 1,
    };
    let mut hits = match what {
        Keyed::Persons(f) => search::search_persons(store, f, page).await?,
        Keyed::Structures(f) => search::search_structures(store, f, page).await?,
    };
    let next = (hits.len() > limit as usize).then(|| {
        hits.truncate(limit as usize);
        Cursor::Keyed {
            after: hits.last().map(|h| h.key).unwrap_or(0),
            max_key,
        }
    });
    Ok((hits, next, total))
}

async fn practitioners(
    dir: &Directory,
    req: &SearchRequest,
    filters: &[search::PersonFilter],
    cursor: Option<Cursor>,
) -> Result<Found, DirectoryError> {
    let store = dir.store();
    let (hits, next, total) = keyed_page(dir, req, cursor, Keyed::Persons(filters)).await?;
    if req.controls.revinclude {
        // Their PractitionerRoles need the professionals whole: no fragments.
        let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        let people = search::public_professionals(store, &ids, search::Detail::Codes).await?;
        let updated: HashMap<&str, i64> = hits
            .iter()
            .map(|h| (h.id.as_str(), h.last_updated))
            .collect();
        let matches = people
            .iter()
            .map(|p| {
                let t = updated.get(p.id_nat.as_str()).copied().unwrap_or(0);
                EntryResource::Typed(Resource::Practitioner(practitioner(p, t)))
            })
            .collect();
        let includes = roles_of(dir, &people.iter().collect::<Vec<_>>()).await?;
        return Ok(Found {
            matches,
            includes,
            next,
            total,
        });
    }
    // The Practitioners met before (same last_updated) from their fragments, the others
    // from the registry, kept for the next time.
    let mut json: HashMap<String, std::sync::Arc<serde_json::value::RawValue>> = HashMap::new();
    let mut missing = Vec::new();
    for h in &hits {
        match dir.fragments().get(&h.id, h.last_updated) {
            Some(j) => {
                json.insert(h.id.clone(), j);
            }
            None => missing.push(h.id.clone()),
        }
    }
    if !missing.is_empty() {
        let updated: HashMap<&str, i64> = hits
            .iter()
            .map(|h| (h.id.as_str(), h.last_updated))
            .collect();
        let now = dir.clock().unix();
        for p in search::public_professionals(store, &missing, search::Detail::Professions).await? {
            let t = updated.get(p.id_nat.as_str()).copied().unwrap_or(0);
            let text = serde_json::to_string(&Resource::Practitioner(practitioner(&p, t)))
                .map_err(|e| DirectoryError::Io(std::io::Error::other(e)))?;
            let raw: std::sync::Arc<serde_json::value::RawValue> =
                serde_json::value::RawValue::from_string(text)
                    .map_err(|e| DirectoryError::Io(std::io::Error::other(e)))?
                    .into();
            dir.fragments().put(&p.id_nat, t, now, raw.clone());
            json.insert(p.id_nat.clone(), raw);
        }
    }
    let matches = hits
        .iter()
        .filter_map(|h| json.remove(&h.id))
        .map(EntryResource::Serialised)
        .collect();
    Ok(Found {
        matches,
        includes: Vec::new(),
        next,
        total,
    })
}

async fn organizations(
    dir: &Directory,
    req: &SearchRequest,
    filters: &[search::StructureFilter],
    cursor: Option<Cursor>,
) -> Result<Found, DirectoryError> {
    let store = dir.store();
    let (hits, next, total) = keyed_page(dir, req, cursor, Keyed::Structures(filters)).await?;
    let ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
    let matches = search::structures(store, &ids)
        .await?
        .iter()
        .map(|(s, t)| EntryResource::Typed(Resource::Organization(organization(s, *t))))
        .collect();
    let includes = if req.controls.revinclude && !ids.is_empty() {
        let hits = search::search_roles(
            store,
            &[RoleFilter::Structure(ids)],
            &RolePage {
                after: None,
                as_of: None,
                limit: MAX_INCLUDES,
            },
        )
        .await?;
        role_resources(dir, &hits).await?.0
    } else {
        Vec::new()
    };
    Ok(Found {
        matches,
        includes,
        next,
        total,
    })
}

/// The PractitionerRoles of these activities, and their professionals (by idnat).
async fn role_resources(
    dir: &Directory,
    hits: &[search::RoleHit],
) -> Result<(Vec<Resource>, HashMap<String, Professional>), DirectoryError> {
    let mut ids: Vec<String> = Vec::new();
    for h in hits {
        if !ids.contains(&h.idnat) {
            ids.push(h.idnat.clone());
        }
    }
    let people: HashMap<String, Professional> =
        search::public_professionals(dir.store(), &ids, search::Detail::Codes)
            .await?
            .into_iter()
            .map(|p| (p.id_nat.clone(), p))
            .collect();
    let mut out = Vec::new();
    for h in hits {
        if let Some(p) = people.get(&h.idnat) {
            if let Some(a) = p.activities.iter().find(|a| a.id == h.id) {
                out.push(Resource::PractitionerRole(practitioner_role(
                    p,
                    a,
                    h.updated_at,
                )));
            }
        }
    }
    Ok((out, people))
}

async fn roles(
    dir: &Directory,
    req: &SearchRequest,
    filters: &[RoleFilter],
    cursor: Option<Cursor>,
) -> Result<Found, DirectoryError> {
    let store = dir.store();
    let (after, as_of) = match cursor {
        None => (None, dir.clock().unix()),
        Some(Cursor::Roles { after, as_of }) => (Some(after), as_of),
        Some(Cursor::Keyed { .. }) => {
            return Err(DirectoryError::Invalid(
                "Ce lien de page (« _cursor ») n'est pas celui de cette recherche.".into(),
            ))
        }
    };
    let limit = req.controls.count;
    let total = if wants_total(req) {
        Some(
            search::count_roles(store, filters, Some(as_of))
                .await?
                .max(0) as u64,
        )
    } else {
        None
    };
    if limit == 0 {
        return Ok(Found {
            matches: Vec::new(),
            includes: Vec::new(),
            next: None,
            total,
        });
    }
    let mut hits = search::search_roles(
        store,
        filters,
        &RolePage {
            after,
            as_of: Some(as_of),
            limit: limit + 1,
        },
    )
    .await?;
    let next = (hits.len() > limit as usize).then(|| {
        hits.truncate(limit as usize);
        Cursor::Roles {
            after: hits.last().map(|h| h.id.clone()).unwrap_or_default(),
            as_of,
        }
    });
    let (matches, people) = role_resources(dir, &hits).await?;
    let mut includes = Vec::new();
    if req.controls.include_practitioner {
        let mut ids: Vec<String> = Vec::new();
        for h in &hits {
            if !ids.contains(&h.idnat) && people.contains_key(&h.idnat) {
                ids.push(h.idnat.clone());
            }
        }
        let updated = search::person_last_updated(store, &ids).await?;
        for id in &ids {
            if let Some(p) = people.get(id) {
                let t = updated.get(id).copied().unwrap_or(0);
                includes.push(Resource::Practitioner(practitioner(p, t)));
            }
        }
    }
    if req.controls.include_organization {
        let mut ids: Vec<String> = Vec::new();
        for m in &matches {
            if let Resource::PractitionerRole(r) = m {
                if let Some(o) = &r.organization {
                    let id = o.reference.trim_start_matches("Organization/").to_string();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        for (s, t) in search::structures(store, &ids).await? {
            includes.push(Resource::Organization(organization(&s, t)));
        }
    }
    Ok(Found {
        matches: matches.into_iter().map(EntryResource::Typed).collect(),
        includes,
        next,
        total,
    })
}

/// `GET [base]/{type}/{id}`.
pub async fn read(dir: &Directory, kind: Kind, id: &str) -> Result<Resource, DirectoryError> {
    let store = dir.store();
    let gone = || {
        DirectoryError::NotFound(format!(
            "Aucune ressource {} d'identifiant « {id} » dans l'annuaire.",
            kind.name()
        ))
    };
    match kind {
        Kind::Practitioner => {
            let p = professional(dir, id).await?.ok_or_else(gone)?;
            let t = search::person_last_updated(store, std::slice::from_ref(&p.id_nat))
                .await?
                .get(&p.id_nat)
                .copied()
                .unwrap_or(0);
            Ok(Resource::Practitioner(practitioner(&p, t)))
        }
        Kind::Organization => {
            let (s, t) = search::structures(store, &[id.to_string()])
                .await?
                .into_iter()
                .next()
                .ok_or_else(gone)?;
            Ok(Resource::Organization(organization(&s, t)))
        }
        Kind::PractitionerRole => {
            let activity = crate::resources::activity_id(id);
            let hits = search::search_roles(
                store,
                &[RoleFilter::Id(vec![activity])],
                &RolePage {
                    after: None,
                    as_of: None,
                    limit: 1,
                },
            )
            .await?;
            let (mut found, _) = role_resources(dir, &hits).await?;
            match found.pop() {
                Some(r @ Resource::PractitionerRole(_)) if role_matches(&r, id) => Ok(r),
                _ => Err(gone()),
            }
        }
    }
}

fn role_matches(r: &Resource, id: &str) -> bool {
    matches!(r, Resource::PractitionerRole(role) if role.id == role_id(&crate::resources::activity_id(id)))
}
