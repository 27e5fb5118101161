//! The forms of the change requests (ERPPS-02, REG-06): a new activity (two steps: the
//! structure, then the activity), cease an activity, a new profession, contact
//! coordinates, the exercise name.
//!
//! Every POST (CSRF checked) saves what was typed as the professional's draft of that kind
//! (`requests::save_draft`, in the database), then: "Enregistrer le brouillon" comes back to
//! the form, "Suivant" checks the step's fields and moves on, "Envoyer ma demande" checks
//! everything and submits (`requests::submit`). A field in error shows the registry's
//! French message, with the error summary on top; nothing typed is lost, even by a restart
//! between two steps.

use super::{audit_action, layout, registry_failure, session, BASE};
use crate::local::pages::{Block, MessagePage};
use crate::local::{Form, Visit};
use crate::state::{request_id, PortalState};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use caducee_core::nomenclature::Nomenclature;
use caducee_pages::{
    Alert, AlertKind, Button, ButtonKind, Choice, Field, Link, RadioGroup, Select, Steps, Tr,
};
use caducee_registry::requests::{
    self, CeaseActivity, Change, ContactChange, ExerciseName, FieldError, NewActivity,
    NewProfession, RequestError, RequestKind,
};
use std::collections::HashMap;

/// The path of a kind's form under `/erpps`.
pub(crate) fn path_of(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::NewActivity => "/nouvelle-activite",
        RequestKind::CeaseActivity => "/cesser-activite",
        RequestKind::NewProfession => "/nouvelle-profession",
        RequestKind::Contact => "/coordonnees",
        RequestKind::ExerciseName => "/nom-exercice",
    }
}

/// The catalogue key of a kind's name.
pub(crate) fn title_key(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::NewActivity => "erpps-action-new-activity",
        RequestKind::CeaseActivity => "erpps-action-cease",
        RequestKind::NewProfession => "erpps-action-new-profession",
        RequestKind::Contact => "erpps-action-contact",
        RequestKind::ExerciseName => "erpps-action-name",
    }
}

pub(crate) fn routes() -> Router<PortalState> {
    let mut r = Router::new();
    for kind in RequestKind::ALL {
        r = r.route(
            &format!("{BASE}{}", path_of(kind)),
            get(
                move |st: State<PortalState>, headers: HeaderMap, q: RawQuery| {
                    page(kind, st, headers, q)
                },
            )
            .post(
                move |st: State<PortalState>, headers: HeaderMap, body: axum::body::Bytes| {
                    submit(kind, st, headers, body)
                },
            ),
        );
    }
    r
}

/// A form posted without this browser's CSRF token: refused, with a way back.
pub(crate) fn csrf_refused(st: &PortalState, headers: &HeaderMap, visit: &Visit) -> Response {
    tracing::warn!(
        request_id = request_id(headers).as_deref().unwrap_or("-"),
        "eRPPS : formulaire sans jeton CSRF valide"
    );
    let ctx = &visit.ctx;
    let heading = ctx.t("erpps-csrf-title");
    let page = MessagePage {
        layout: layout(ctx, st, &heading),
        heading,
        alert: Alert::new(AlertKind::Error, ctx.t("erpps-csrf-text")),
        links: vec![Link::new(BASE, ctx.t("erpps-back-home")).id("retour")],
    };
    visit.page(
        st,
        StatusCode::FORBIDDEN,
        crate::local::pages::render(&page),
    )
}

fn query_has(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `JJ/MM/AAAA` (typed where the browser has no date picker) as `AAAA-MM-JJ`; anything
/// else as typed.
fn iso_date(typed: &str) -> String {
    let t = typed.trim();
    let parts: Vec<&str> = t.split('/').collect();
    if let [d, m, y] = parts.as_slice() {
        if d.len() <= 2 && m.len() <= 2 && y.len() == 4 {
            return format!("{y}-{:0>2}-{:0>2}", m, d);
        }
    }
    t.to_string()
}

/// The registry's data the forms need: the person's activities, names, contact.
struct Known {
    /// (activity id, label) of the active activities.
    activities: Vec<(String, String)>,
    birth_name: String,
    first_names: String,
    contact: caducee_registry::queries::Contact,
}

async fn known(st: &PortalState, idnat: &str) -> Result<Known, crate::PortalError> {
    let id = caducee_registry::queries::parse_id(idnat)
        .map_err(|e| crate::PortalError::Internal(e.to_string()))?;
    let p = caducee_registry::queries::get_professional(st.portals.store(), &id)
        .await
        .map_err(|e| crate::PortalError::Internal(e.to_string()))?;
    let contact = session::registry_contact(st, idnat).await?;
    let Some(p) = p else {
        return Ok(Known {
            activities: Vec::new(),
            birth_name: String::new(),
            first_names: String::new(),
            contact,
        });
    };
    let activities = p
        .activities
        .iter()
        .filter(|a| a.active)
        .map(|a| (a.id.clone(), super::views::activity_label(a)))
        .collect();
    let (birth_name, first_names) = match &p.civil_identity {
        Some(c) if !c.birth_name.is_empty() => (c.birth_name.clone(), c.first_names.clone()),
        _ => (p.last_name.clone(), p.first_name.clone()),
    };
    Ok(Known {
        activities,
        birth_name,
        first_names,
        contact,
    })
}

/// What one render of a form shows.
struct View {
    change: Change,
    step: u32,
    errors: HashMap<&'static str, String>,
    alert: Option<Alert>,
}

async fn page(
    kind: RequestKind,
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, format!("{BASE}{}", path_of(kind)));
    let user = match session::require(&st, &headers).await {
        Ok(Ok(u)) => u,
        Ok(Err(r)) => return r,
        Err(e) => return st.fail(&headers, &e, request_id(&headers).as_deref()),
    };
    let known = match known(&st, &user.idnat).await {
        Ok(k) => k,
        Err(e) => return st.fail(&headers, &e, request_id(&headers).as_deref()),
    };
    let draft = match requests::draft_for(st.portals.store(), &user.idnat, kind).await {
        Ok(d) => d,
        Err(e) => {
            return st.fail(
                &headers,
                &registry_failure(e),
                request_id(&headers).as_deref(),
            )
        }
    };
    let change = match draft {
        Some(d) => d.change,
        // A new form starts from what the registry holds where that makes sense.
        None => match kind {
            RequestKind::Contact => Change::Contact(ContactChange {
                email: known.contact.email.clone(),
                mobile: known.contact.mobile.clone(),
                address: known.contact.address.clone(),
            }),
            RequestKind::ExerciseName => Change::ExerciseName(ExerciseName {
                last_name: known.birth_name.clone(),
                first_name: known.first_names.clone(),
            }),
            other => Change::empty(other),
        },
    };
    let step = match query_has(query.as_deref(), "etape").as_deref() {
        Some("2") if kind == RequestKind::NewActivity => 2,
        _ => 1,
    };
    let alert = query_has(query.as_deref(), "enregistre")
        .map(|_| Alert::new(AlertKind::Success, visit.ctx.t("erpps-draft-saved")).id("brouillon"));
    let view = View {
        change,
        step,
        errors: HashMap::new(),
        alert,
    };
    render(&st, &visit, kind, &known, view, false).await
}

/// The change typed in `form` over the `base` (the draft: the other step's fields stay).
fn typed(kind: RequestKind, step: u32, form: &Form, base: Option<Change>) -> Change {
    let base = base.unwrap_or_else(|| Change::empty(kind));
    let g = |k: &str| form.get(k).to_string();
    match base {
        Change::NewActivity(mut a) => {
            if step == 1 {
                a.structure_id = String::new();
                a.siret = g("siret");
                a.finess = g("finess");
                a.name = g("name");
                a.address = g("address");
                a.postcode = g("postcode");
                a.city = g("city");
            } else {
                a.profession_code = g("profession_code");
                a.mode_code = g("mode_code");
                a.role_code = g("role_code");
                a.start_date = iso_date(form.get("start_date"));
            }
            Change::NewActivity(a)
        }
        Change::CeaseActivity(_) => Change::CeaseActivity(CeaseActivity {
            activity_id: g("activity_id"),
            end_date: iso_date(form.get("end_date")),
        }),
        Change::NewProfession(_) => Change::NewProfession(NewProfession {
            profession_code: g("profession_code"),
            activity_id: g("activity_id"),
            start_date: iso_date(form.get("start_date")),
        }),
        Change::Contact(_) => Change::Contact(ContactChange {
            email: g("email"),
            mobile: g("mobile"),
            address: g("address"),
        }),
        Change::ExerciseName(_) => Change::ExerciseName(ExerciseName {
            last_name: g("last_name"),
            first_name: g("first_name"),
        }),
    }
}

/// The fields of a new activity's first step.
const STRUCTURE_FIELDS: &[&str] = &[
    "structure_id",
    "siret",
    "finess",
    "name",
    "address",
    "postcode",
    "city",
];

/// The catalogue's message for a field in error, for the pages not in French (the
/// registry's own messages are French).
fn error_key(field: &str) -> &'static str {
    match field {
        "siret" => "erpps-error-siret",
        "finess" => "erpps-error-finess",
        "name" => "erpps-error-name",
        "address" => "erpps-error-address",
        "postcode" => "erpps-error-postcode",
        "city" => "erpps-error-city",
        "profession_code" => "erpps-error-profession",
        "mode_code" => "erpps-error-mode",
        "role_code" => "erpps-error-role",
        "start_date" | "end_date" => "erpps-error-date",
        "activity_id" => "erpps-error-activity",
        "email" => "erpps-error-email",
        "mobile" => "erpps-error-mobile",
        "last_name" | "first_name" => "erpps-error-name-of-exercise",
        _ => "erpps-error-other",
    }
}

fn error_map(tr: &Tr, fields: &[FieldError]) -> HashMap<&'static str, String> {
    let mut out = HashMap::new();
    for f in fields {
        let field = if f.field == "structure_id" {
            "siret"
        } else {
            f.field
        };
        out.entry(field).or_insert_with(|| match tr.locale() {
            caducee_pages::Locale::Fr => f.message.clone(),
            _ => tr.t(error_key(field)),
        });
    }
    out
}

async fn submit(
    kind: RequestKind,
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = Form::parse(&body);
    let path = format!("{BASE}{}", path_of(kind));
    let visit = Visit::new(&st, &headers, path.clone());
    if !visit.csrf_ok(&st, &form) {
        return csrf_refused(&st, &headers, &visit);
    }
    let user = match session::require(&st, &headers).await {
        Ok(Ok(u)) => u,
        Ok(Err(r)) => return r,
        Err(e) => return st.fail(&headers, &e, request_id(&headers).as_deref()),
    };
    let fail = |e: crate::PortalError| st.fail(&headers, &e, request_id(&headers).as_deref());
    let known = match known(&st, &user.idnat).await {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let store = st.portals.store();
    let clock = st.portals.clock().clone();
    let actor = format!("ps:{}", user.idnat);
    let step = if kind == RequestKind::NewActivity && form.get("etape") == "2" {
        2
    } else {
        1
    };
    let draft = match requests::draft_for(store, &user.idnat, kind).await {
        Ok(d) => d,
        Err(e) => return fail(registry_failure(e)),
    };
    let change = typed(kind, step, &form, draft.map(|d| d.change));
    // Saved as typed first: whatever follows, nothing typed is lost.
    let saved =
        match requests::save_draft(store, clock.as_ref(), &user.idnat, &change, &actor).await {
            Ok(d) => d,
            Err(RequestError::TooManyOpen(n)) => {
                let alert = Alert::new(
                    AlertKind::Error,
                    visit
                        .ctx
                        .tr
                        .t_with("erpps-too-many-open", &[("count", n.into())]),
                )
                .id("trop-de-demandes");
                let view = View {
                    change,
                    step,
                    errors: HashMap::new(),
                    alert: Some(alert),
                };
                return render(&st, &visit, kind, &known, view, true).await;
            }
            Err(e) => return fail(registry_failure(e)),
        };
    match form.get("action") {
        "enregistrer" => {
            let step_q = if step == 2 { "etape=2&" } else { "" };
            visit.redirect(&st, &format!("{path}?{step_q}enregistre=1"), Vec::new())
        }
        "precedent" => visit.redirect(&st, &path, Vec::new()),
        "suivant" if kind == RequestKind::NewActivity && step == 1 => {
            // Only the structure's fields are checked now; the activity's come next.
            let errors = match requests::check(store, clock.as_ref(), &user.idnat, &change).await {
                Ok(_) => Vec::new(),
                Err(RequestError::Invalid(f)) => f
                    .into_iter()
                    .filter(|e| STRUCTURE_FIELDS.contains(&e.field))
                    .collect(),
                Err(e) => return fail(registry_failure(e)),
            };
            if errors.is_empty() {
                visit.redirect(&st, &format!("{path}?etape=2"), Vec::new())
            } else {
                let view = View {
                    change,
                    step: 1,
                    errors: error_map(&visit.ctx.tr, &errors),
                    alert: None,
                };
                render(&st, &visit, kind, &known, view, true).await
            }
        }
        _ => match requests::submit(store, clock.as_ref(), &user.idnat, &saved.id, &actor).await {
            Ok(sent) => {
                if kind == RequestKind::Contact {
                    if let Err(e) =
                        session::mark_contact_checked(&st, &user.idnat, "change_requested").await
                    {
                        return fail(e);
                    }
                }
                audit_action(
                    &st,
                    &user.idnat,
                    "erpps.request.submitted",
                    serde_json::json!({ "request": sent.id, "kind": kind.as_str() }),
                )
                .await;
                visit.redirect(
                    &st,
                    &format!("{BASE}/demandes?envoyee={}", sent.id),
                    Vec::new(),
                )
            }
            Err(RequestError::Invalid(fields)) => {
                let errors = error_map(&visit.ctx.tr, &fields);
                // A new activity shows the step that holds the first error.
                let step = if kind == RequestKind::NewActivity
                    && fields.iter().any(|f| STRUCTURE_FIELDS.contains(&f.field))
                {
                    1
                } else if kind == RequestKind::NewActivity {
                    2
                } else {
                    1
                };
                let view = View {
                    change,
                    step,
                    errors,
                    alert: None,
                };
                render(&st, &visit, kind, &known, view, true).await
            }
            Err(e) => fail(registry_failure(e)),
        },
    }
}

/// "Name, postcode city" of the registry's structure with the SIRET or FINESS of `a`.
async fn registered_structure(st: &PortalState, a: &NewActivity) -> Option<String> {
    let digits = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let (column, value) = if !a.finess.trim().is_empty() {
        ("finess", digits(&a.finess))
    } else if !a.siret.trim().is_empty() {
        ("siret", digits(&a.siret))
    } else {
        return None;
    };
    let sql = format!(
        "SELECT name, postcode, commune FROM reg_structure WHERE {column} = $1 ORDER BY id LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(value)
        .fetch_optional(st.portals.store().pool())
        .await
        .ok()??;
    use sqlx::Row;
    let name: String = row.try_get(0).ok()?;
    let postcode: String = row.try_get(1).ok()?;
    let city: String = row.try_get(2).ok()?;
    Some(format!("{name}, {postcode} {city}"))
}

fn options(
    table: Nomenclature,
    selected: &str,
    tr: &Tr,
    placeholder: &str,
    only: Option<&[&str]>,
) -> Vec<Choice> {
    let mut out = vec![Choice::new("", tr.t(placeholder), selected.is_empty())];
    for e in table.entries() {
        if !table.is_active(e.code) {
            continue;
        }
        if let Some(only) = only {
            if !only.contains(&e.code) {
                continue;
            }
        }
        out.push(Choice::new(e.code, e.display, e.code == selected));
    }
    out
}

async fn render(
    st: &PortalState,
    visit: &Visit,
    kind: RequestKind,
    known: &Known,
    view: View,
    failed: bool,
) -> Response {
    let ctx = &visit.ctx;
    let tr = &ctx.tr;
    let t = |k: &str| ctx.t(k);
    let err = |k: &str| view.errors.get(k).cloned();
    let path = format!("{BASE}{}", path_of(kind));
    let mut page = visit.form_page(st, t(title_key(kind)), path);
    page.alerts.extend(view.alert.clone());
    let field = |name: &str, label: &str, value: &str| {
        Field::new(name, t(label)).value(value).error(err(name))
    };
    let save = Button::new(t("erpps-save-draft"), ButtonKind::Secondary)
        .action("action", "enregistrer")
        .id("enregistrer");
    let send = Button::new(t("erpps-send"), ButtonKind::Primary)
        .action("action", "envoyer")
        .id("envoyer");
    match &view.change {
        Change::NewActivity(a) => {
            page.intro.push(t("erpps-new-activity-intro"));
            if view.step == 1 {
                page.steps = Some(
                    Steps::new(tr, 1, 2, t("erpps-step-structure"))
                        .next(tr, &t("erpps-step-activity")),
                );
                page = page.hidden("etape", "1");
                page.blocks = vec![
                    Block::Field(
                        field("siret", "erpps-field-siret", &a.siret)
                            .hint(t("erpps-field-siret-hint"))
                            .inputmode("numeric"),
                    ),
                    Block::Field(
                        field("finess", "erpps-field-finess", &a.finess)
                            .hint(t("erpps-field-finess-hint")),
                    ),
                    Block::Heading(t("erpps-structure-typed")),
                    Block::Field(field("name", "erpps-field-structure-name", &a.name)),
                    Block::Field(
                        field("address", "erpps-field-structure-address", &a.address)
                            .autocomplete("street-address"),
                    ),
                    Block::Field(
                        field("postcode", "erpps-field-postcode", &a.postcode)
                            .inputmode("numeric")
                            .autocomplete("postal-code"),
                    ),
                    Block::Field(field("city", "erpps-field-city", &a.city)),
                ];
                page.buttons = vec![
                    Button::new(t("erpps-next"), ButtonKind::Primary)
                        .action("action", "suivant")
                        .id("suivant"),
                    save,
                ];
            } else {
                page.steps = Some(Steps::new(tr, 2, 2, t("erpps-step-activity")));
                page = page.hidden("etape", "2");
                // A SIRET or FINESS the registry knows names its structure: shown as the
                // registry has it (the typed name is not used then).
                let registered = registered_structure(st, a).await;
                let structure = if let Some(r) = registered {
                    r
                } else if a.name.is_empty() {
                    [a.siret.as_str(), a.finess.as_str()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" / ")
                } else {
                    format!("{}, {} {}", a.name, a.postcode, a.city)
                };
                let mut mode = RadioGroup::new(
                    "mode_code",
                    t("erpps-field-mode"),
                    Nomenclature::R23ModeExercice
                        .entries()
                        .iter()
                        .filter(|e| Nomenclature::R23ModeExercice.is_active(e.code))
                        .map(|e| Choice::new(e.code, e.display, e.code == a.mode_code))
                        .collect(),
                );
                mode.error = err("mode_code");
                page.blocks = vec![
                    Block::Shown {
                        label: t("erpps-step-structure"),
                        value: structure,
                    },
                    Block::Select(Select::new(
                        field("profession_code", "erpps-field-profession", ""),
                        options(
                            Nomenclature::G15Profession,
                            &a.profession_code,
                            tr,
                            "erpps-choose",
                            None,
                        ),
                    )),
                    Block::Radios(mode),
                    Block::Select(Select::new(
                        field("role_code", "erpps-field-role", ""),
                        options(
                            Nomenclature::R21Fonction,
                            &a.role_code,
                            tr,
                            "erpps-choose",
                            None,
                        ),
                    )),
                    Block::Field(
                        field("start_date", "erpps-field-start-date", &a.start_date)
                            .kind("date")
                            .hint(t("erpps-field-date-hint")),
                    ),
                ];
                page.buttons = vec![
                    send,
                    save,
                    Button::new(t("erpps-previous"), ButtonKind::Tertiary)
                        .action("action", "precedent")
                        .id("precedent"),
                ];
            }
        }
        Change::CeaseActivity(c) => {
            page.alerts.push(
                Alert::new(AlertKind::Warning, t("erpps-cease-first")).id("cesser-en-premier"),
            );
            let mut group = RadioGroup::new(
                "activity_id",
                t("erpps-field-activity"),
                known
                    .activities
                    .iter()
                    .map(|(id, label)| Choice::new(id, label.clone(), *id == c.activity_id))
                    .collect(),
            );
            group.error = err("activity_id");
            if known.activities.is_empty() {
                group.hint = Some(t("erpps-no-activity"));
            }
            page.blocks = vec![
                Block::Radios(group),
                Block::Field(
                    field("end_date", "erpps-field-end-date", &c.end_date)
                        .kind("date")
                        .hint(t("erpps-field-date-hint")),
                ),
            ];
            page.buttons = vec![send, save];
        }
        Change::NewProfession(p) => {
            page.intro.push(t("erpps-new-profession-intro"));
            page.alerts.push(Alert::new(
                AlertKind::Info,
                t("erpps-new-profession-not-place"),
            ));
            let mut places: Vec<Choice> = known
                .activities
                .iter()
                .map(|(id, label)| Choice::new(id, label.clone(), *id == p.activity_id))
                .collect();
            places.push(Choice::new(
                "",
                t("erpps-no-place"),
                p.activity_id.is_empty(),
            ));
            let mut group = RadioGroup::new("activity_id", t("erpps-field-place"), places);
            group.error = err("activity_id");
            page.blocks = vec![
                Block::Select(Select::new(
                    field("profession_code", "erpps-field-new-profession", ""),
                    options(
                        Nomenclature::G15Profession,
                        &p.profession_code,
                        tr,
                        "erpps-choose",
                        None,
                    ),
                )),
                Block::Radios(group),
                Block::Field(
                    field("start_date", "erpps-field-start-date", &p.start_date)
                        .kind("date")
                        .hint(t("erpps-field-date-hint")),
                ),
            ];
            page.buttons = vec![send, save];
        }
        Change::Contact(c) => {
            page.intro.push(t("erpps-contact-intro-address"));
            page.intro.push(t("erpps-contact-intro-ecps"));
            page.blocks = vec![
                Block::Field(
                    field("address", "erpps-field-correspondence", &c.address)
                        .hint(t("erpps-field-correspondence-hint"))
                        .autocomplete("street-address"),
                ),
                Block::Field(
                    field("email", "erpps-field-email", &c.email)
                        .kind("email")
                        .autocomplete("email"),
                ),
                Block::Field(
                    field("mobile", "erpps-field-mobile", &c.mobile)
                        .kind("tel")
                        .autocomplete("tel")
                        .hint(t("erpps-field-mobile-hint")),
                ),
            ];
            page.buttons = vec![send, save];
        }
        Change::ExerciseName(n) => {
            page.intro.push(t("erpps-name-intro"));
            page.intro.push(t("erpps-name-default"));
            page.blocks = vec![
                Block::Field(
                    field("last_name", "erpps-field-last-name", &n.last_name)
                        .autocomplete("family-name"),
                ),
                Block::Field(
                    field("first_name", "erpps-field-first-name", &n.first_name)
                        .autocomplete("given-name"),
                ),
            ];
            page.buttons = vec![send, save];
        }
    }
    page.links = vec![Link::new(BASE, t("erpps-back-home")).id("retour-accueil")];
    visit.form(st, page, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erpps_02_a_typed_french_date_is_sent_as_iso() {
        assert_eq!(iso_date("01/12/2026"), "2026-12-01");
        assert_eq!(iso_date("1/2/2026"), "2026-02-01");
        assert_eq!(iso_date("2026-12-01"), "2026-12-01");
        assert_eq!(iso_date(" demain "), "demain");
    }
}
