//! The `/annuaire` pages ("Annuaire Santé"): one form (name, profession, place, RPPS/ADELI
//! number) and its results, paged like the API (keyset, bounded by the first page), and a
//! professional's public page. Only public data, as the API's profiles: no birth date, no
//! personal coordinates. Templates of the page kit; words from `directory.ftl`.

use crate::cursor::Cursor;
use crate::Directory;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use caducee_core::ids::IdNatPs;
use caducee_core::nomenclature::Nomenclature;
use caducee_pages::{
    html, Alert, AlertKind, Arg, Button, ButtonKind, Choice, Field, Layout, PageCtx, Select,
};
use caducee_registry::queries::{get_professional, Professional};
use caducee_registry::search::{self, NameField, Page, PersonFilter, TextMatch};

/// Results per page.
const PER_PAGE: u32 = 20;
/// The count of results stops here (« Plus de 100 résultats », `dir-results-many`, which
/// says this number and asks for a narrower search): counting every match of a frequent
/// name was most of the page's time (each match rechecked), and nobody reads five pages of
/// results. At 2.2 M rows a count of 1,001 matches took 20–30 ms of PostgreSQL's time, four
/// fifths of the page's database work, against 1.7–7.4 ms for 101 (bench/README.md); the FHIR
/// API still counts exactly with `_total=accurate`. Paging does not depend on the count
/// (keyset, the next link when a 21st row exists). The first page asks for `COUNT_CAP + 1`
/// rows and counts them: one scan of the matches gives both the page and the count; later
/// pages count apart, with the first page's `max_key`.
const COUNT_CAP: u32 = 100;
const _: () = assert!(COUNT_CAP >= PER_PAGE);
const SCRIPT: &str = include_str!("../assets/annuaire.js");

/// What a result shows of a professional.
pub struct Card {
    pub href: String,
    pub name: String,
    pub professions: String,
    pub know_how: String,
    pub places: Vec<String>,
    pub active: bool,
    pub number_label: String,
    pub number: String,
}

#[derive(Template)]
#[template(path = "directory/search.html")]
struct SearchPage {
    layout: Layout,
    name: Field,
    profession: Select,
    place: Field,
    number: Field,
    submit: Button,
    error: Option<Alert>,
    searched: bool,
    heading: String,
    results: Vec<Card>,
    next: Option<String>,
    api_href: String,
}

#[derive(Template)]
#[template(path = "directory/professional.html")]
struct ProfessionalPage {
    layout: Layout,
    card: Card,
    api_href: String,
}

/// The form as typed.
#[derive(Default)]
struct Form {
    q: String,
    profession: String,
    place: String,
    number: String,
    page: Option<String>,
    submitted: bool,
}

impl Form {
    fn read(raw: Option<String>) -> Form {
        let mut f = Form::default();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "q" => f.q = v,
                "profession" => f.profession = v,
                "lieu" => f.place = v,
                "numero" => f.number = v,
                "page" => f.page = Some(v),
                _ => continue,
            }
            f.submitted = true;
        }
        f
    }

    /// The query string of this search (without the page).
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.q),
            ("profession", &self.profession),
            ("lieu", &self.place),
            ("numero", &self.number),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// Why a form cannot be searched (a key of the catalogue).
fn filters(f: &Form) -> Result<Vec<PersonFilter>, &'static str> {
    let mut out = Vec::new();
    if !search::words(&f.q).is_empty() {
        out.push(PersonFilter::Name {
            field: NameField::Any,
            mode: TextMatch::Contains,
            any_of: vec![f.q.clone()],
        });
    }
    if !f.profession.is_empty() {
        out.push(PersonFilter::Profession(vec![f.profession.clone()]));
    }
    let place = f.place.to_uppercase();
    if !place.is_empty() {
        let digits = place.bytes().all(|b| b.is_ascii_digit());
        out.push(match place.len() {
            2 | 3 if digits || place == "2A" || place == "2B" => {
                PersonFilter::Dept(vec![place.clone()])
            }
            4 | 5 if digits => PersonFilter::Postcode(vec![place.clone()]),
            _ => PersonFilter::City(vec![f.place.clone()]),
        });
    }
    let number: String = f.number.chars().filter(|c| !c.is_whitespace()).collect();
    if !number.is_empty() {
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err("dir-bad-number");
        }
        out.push(PersonFilter::Idnat(match number.len() {
            11 => vec![format!("8{number}")],
            9 => vec![format!("0{number}")],
            10 | 12 => vec![number],
            _ => return Err("dir-bad-number"),
        }));
    }
    if out.is_empty() {
        return Err("dir-empty");
    }
    Ok(out)
}

fn card(ctx: &PageCtx, p: &Professional) -> Card {
    let name = [
        p.exercise_civility.label.as_str(),
        p.first_name.as_str(),
        p.last_name.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let label = |table: Nomenclature, code: &str, fallback: &str| {
        table
            .display(code)
            .map(str::to_string)
            .unwrap_or_else(|| fallback.to_string())
    };
    let professions = p
        .professions
        .iter()
        .filter(|x| !x.profession.code.is_empty())
        .map(|x| {
            label(
                Nomenclature::G15Profession,
                &x.profession.code,
                &x.profession.label,
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let know_how = p
        .professions
        .iter()
        .flat_map(|x| x.know_how.iter())
        .map(|k| k.value.label.clone())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let mut places = Vec::new();
    for a in p.activities.iter().filter(|a| a.active) {
        if let Some(s) = &a.structure {
            let town = [s.postcode.as_str(), s.city.as_str()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let place = [s.name.as_str(), town.as_str()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" — ");
            if !place.is_empty() && !places.contains(&place) {
                places.push(place);
            }
        }
    }
    let (number_label, number) = if p.id_type == "8" {
        (ctx.t("dir-rpps"), p.identifier.clone())
    } else {
        (ctx.t("dir-adeli"), p.identifier.clone())
    };
    Card {
        href: format!("/annuaire/{}", p.id_nat),
        name,
        professions,
        know_how,
        places,
        active: p.activities.iter().any(|a| a.active),
        number_label,
        number,
    }
}

fn form_fields(ctx: &PageCtx, f: &Form) -> (Field, Select, Field, Field, Button) {
    let name = Field::new("q", ctx.t("dir-name"))
        .id("q")
        .value(f.q.clone())
        .hint(ctx.t("dir-name-hint"))
        .autocomplete("off");
    let mut options = vec![Choice::new(
        "",
        ctx.t("dir-profession-any"),
        f.profession.is_empty(),
    )];
    for e in Nomenclature::G15Profession.entries() {
        if e.status.is_empty() || e.status == "active" {
            options.push(Choice::new(e.code, e.display, f.profession == e.code));
        }
    }
    let profession = Select {
        field: Field::new("profession", ctx.t("dir-profession")).id("profession"),
        options,
    };
    let place = Field::new("lieu", ctx.t("dir-place"))
        .id("lieu")
        .value(f.place.clone())
        .hint(ctx.t("dir-place-hint"));
    let number = Field::new("numero", ctx.t("dir-number"))
        .id("numero")
        .value(f.number.clone())
        .hint(ctx.t("dir-number-hint"))
        .inputmode("numeric")
        .autocomplete("off");
    (
        name,
        profession,
        place,
        number,
        Button::new(ctx.t("dir-search"), ButtonKind::Primary),
    )
}

/// The FHIR search the page's form stands for (near enough: the place is left out).
fn api_href(f: &Form) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if !f.q.is_empty() {
        q.append_pair("name:contains", &f.q);
    }
    if !f.profession.is_empty() {
        q.append_pair("qualification-code", &f.profession);
    }
    if !f.number.is_empty() {
        q.append_pair("identifier", &f.number);
    }
    format!("/fhir/v2/Practitioner?{}", q.finish())
}

async fn search_page(
    State(dir): State<Directory>,
    ctx: PageCtx,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = Form::read(raw);
    let (name, profession, place, number, submit) = form_fields(&ctx, &form);
    let mut page = SearchPage {
        layout: Layout::new(&ctx, ctx.t("dir-title")).with_script("/annuaire/annuaire.js"),
        name,
        profession,
        place,
        number,
        submit,
        error: None,
        searched: false,
        heading: String::new(),
        results: Vec::new(),
        next: None,
        api_href: api_href(&form),
    };
    if !form.submitted {
        return html(StatusCode::OK, &page);
    }
    let filters = match filters(&form) {
        Ok(f) => f,
        Err(key) => {
            page.error = Some(Alert::new(AlertKind::Error, ctx.t(key)));
            return html(StatusCode::BAD_REQUEST, &page);
        }
    };
    match results(&dir, &ctx, &form, &filters).await {
        Ok((count, cards, next)) => {
            page.searched = true;
            page.heading = if count > i64::from(COUNT_CAP) {
                ctx.t("dir-results-many")
            } else {
                ctx.tr.t_with("dir-results", &[("count", Arg::from(count))])
            };
            page.results = cards;
            page.next = next;
            html(StatusCode::OK, &page)
        }
        Err(e) => {
            tracing::error!(error = %e, "annuaire : recherche");
            page.error = Some(Alert::new(AlertKind::Error, ctx.t("dir-unavailable")));
            html(StatusCode::SERVICE_UNAVAILABLE, &page)
        }
    }
}

async fn results(
    dir: &Directory,
    ctx: &PageCtx,
    form: &Form,
    filters: &[PersonFilter],
) -> Result<(i64, Vec<Card>, Option<String>), crate::DirectoryError> {
    let store = dir.store();
    let (after, max_key) = match form.page.as_deref().map(Cursor::decode) {
        Some(Ok(Cursor::Keyed { after, max_key })) => (Some(after), max_key),
        _ => (None, search::max_person_key(store).await?),
    };
    let first_page = after.is_none();
    let limit = if first_page { COUNT_CAP } else { PER_PAGE } + 1;
    let mut hits = search::search_persons(
        store,
        filters,
        Page {
            after,
            max_key: Some(max_key),
            limit,
        },
    )
    .await?;
    let count = if first_page {
        hits.len() as i64
    } else {
        search::count_persons_capped(store, filters, Some(max_key), COUNT_CAP).await?
    };
    let next = (hits.len() > PER_PAGE as usize).then(|| {
        hits.truncate(PER_PAGE as usize);
        let cursor = Cursor::Keyed {
            after: hits.last().map(|h| h.key).unwrap_or(0),
            max_key,
        };
        format!("/annuaire?{}&page={}", form.query(), cursor.encode())
    });
    let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
    let cards = search::public_professionals(store, &ids, search::Detail::Cards)
        .await?
        .iter()
        .map(|p| card(ctx, p))
        .collect();
    Ok((count, cards, next))
}

async fn professional_page(
    State(dir): State<Directory>,
    ctx: PageCtx,
    Path(idnat): Path<String>,
) -> Response {
    let found = match IdNatPs::parse(&idnat) {
        Ok(id) => get_professional(dir.store(), &id).await,
        Err(_) => Ok(None),
    };
    match found {
        Ok(Some(p)) => {
            let card = card(&ctx, &p);
            let page = ProfessionalPage {
                layout: Layout::new(&ctx, card.name.clone()).with_script("/annuaire/annuaire.js"),
                api_href: format!("/fhir/v2/Practitioner/{}", p.id_nat),
                card,
            };
            html(StatusCode::OK, &page)
        }
        other => {
            let (status, key) = match other {
                Err(e) => {
                    tracing::error!(error = %e, "annuaire : fiche");
                    (StatusCode::SERVICE_UNAVAILABLE, "dir-unavailable")
                }
                _ => (StatusCode::NOT_FOUND, "dir-not-found"),
            };
            let form = Form::default();
            let (name, profession, place, number, submit) = form_fields(&ctx, &form);
            let page = SearchPage {
                layout: Layout::new(&ctx, ctx.t("dir-title")).with_script("/annuaire/annuaire.js"),
                name,
                profession,
                place,
                number,
                submit,
                error: Some(Alert::new(AlertKind::Error, ctx.t(key))),
                searched: false,
                heading: String::new(),
                results: Vec::new(),
                next: None,
                api_href: api_href(&form),
            };
            html(status, &page)
        }
    }
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The routes of the pages.
pub fn routes(dir: Directory) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/annuaire", get(search_page))
        .route("/annuaire/annuaire.js", get(script))
        .route("/annuaire/{idnat}", get(professional_page))
        .with_state(dir)
}
