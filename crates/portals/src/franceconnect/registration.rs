//! The pages of a first registration (REG-07): `/erpps/inscription` → FranceConnect → the
//! form prefilled with the FranceConnect identity (names, birth date, birthplace shown, not
//! editable) → the e-mail and the mobile each confirmed by a 6-digit code → the three
//! documents → "Transmettre ma demande" (the ARS decides in its back office, `/ars`).
//!
//! Everything typed is the registry's draft (`caducee_registry::registration`), saved at
//! each POST: a restart, another node or a new FranceConnect login a week later resumes it.
//! The pages find the draft from the FranceConnect identity of their flow (`?flow=`, bound
//! to the browser), never from a parameter the browser could change.

use super::{FcLogin, Purpose};
use crate::local::code_sender::{self, CodeSend, Destination};
use crate::local::pages::{Block, FormPage, MessagePage};
use crate::local::{flow_param, Form, Visit};
use crate::one_time::CodeCheck;
use crate::state::{request_id, PortalState};
use crate::PortalError;
use axum::extract::{DefaultBodyLimit, Multipart, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_core::nomenclature::Nomenclature;
use caducee_notify::templates::Template as Message;
use caducee_pages::{
    Alert, AlertKind, Brand, Button, ButtonKind, Choice, Field, Layout, Link, PageCtx, RadioGroup,
    Select, Template,
};
use caducee_registry::registration::{
    self as reg, Coordinate, DocumentKind, Registration, RegistrationError, RegistrationForm,
    RegistrationState,
};

pub(crate) const START_PATH: &str = "/erpps/inscription";
pub(crate) const FORM_PATH: &str = "/erpps/inscription/demande";
const CODE_PATH: &str = "/erpps/inscription/code";
const DOCS_PATH: &str = "/erpps/inscription/documents";
/// Three documents of 10 MiB and the form's fields.
const UPLOAD_LIMIT: usize = 3 * reg::DOCUMENT_MAX_BYTES + 64 * 1024;

/// Professions a first registration may declare (TRE_G15 codes of the professions the
/// RPPS registers), in the order of the list.
const PROFESSIONS: [&str; 12] = [
    "10", "21", "26", "28", "40", "50", "60", "69", "70", "80", "81", "86",
];

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route(START_PATH, get(start_page).post(start_submit))
        .route(FORM_PATH, get(form_page).post(form_submit))
        .route(CODE_PATH, get(code_page).post(code_submit))
        .route(
            DOCS_PATH,
            get(docs_page)
                .post(docs_submit)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
}

/// The layout of the eRPPS pages (its banner and theme).
pub(crate) fn layout(ctx: &PageCtx, st: &PortalState, title: &str) -> Layout {
    Layout::new(ctx, format!("{title} — {}", st.portal.name)).brand(Brand {
        name: st.portal.name.clone(),
        theme_href: "/erpps/theme.css".to_string(),
        href: "/erpps".to_string(),
    })
}

fn form_page_of(visit: &Visit, st: &PortalState, heading: String, action: String) -> FormPage {
    let mut page = visit.form_page(st, heading.clone(), action);
    page.layout = layout(&visit.ctx, st, &heading);
    page
}

fn failure(st: &PortalState, headers: &HeaderMap, e: &PortalError) -> Response {
    st.fail(headers, e, request_id(headers).as_deref())
}

fn registry(e: RegistrationError) -> PortalError {
    PortalError::Internal(e.to_string())
}

fn message(
    visit: &Visit,
    st: &PortalState,
    status: StatusCode,
    heading: String,
    alert: Alert,
    links: Vec<Link>,
) -> Response {
    let page = MessagePage {
        layout: layout(&visit.ctx, st, &heading),
        heading,
        alert,
        links,
    };
    visit.page(st, status, crate::local::pages::render(&page))
}

/// The flow's FranceConnect login is gone (expired, another browser): log in again.
fn login_again(visit: &Visit, st: &PortalState) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    message(
        visit,
        st,
        StatusCode::BAD_REQUEST,
        t("fc-expired-title"),
        Alert::new(AlertKind::Warning, t("fc-expired-text")).id("connexion-expiree"),
        vec![Link::new(START_PATH, t("fc-registration-restart")).button(ButtonKind::Primary)],
    )
}

// ---------------------------------------------------------------------------------------
// Start.

async fn start_page(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let visit = Visit::new(&st, &headers, START_PATH);
    let t = |k: &str| visit.ctx.t(k);
    let mut page = form_page_of(&visit, &st, t("fc-registration-title"), START_PATH.into());
    page.intro = vec![
        t("fc-registration-intro"),
        t("fc-registration-documents"),
        visit
            .ctx
            .t_delay("fc-registration-delay", st.portals.propagation_delay_secs()),
    ];
    super::start_page(&st, &visit, page)
}

async fn start_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    super::start_submit(&st, &headers, &body, START_PATH, Purpose::Registration).await
}

pub(crate) fn csrf_refused(visit: &Visit, st: &PortalState) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    message(
        visit,
        st,
        StatusCode::FORBIDDEN,
        t("fc-csrf-title"),
        Alert::new(AlertKind::Error, t("fc-csrf-text")),
        vec![Link::new("/erpps", t("fc-back-to-erpps"))],
    )
}

// ---------------------------------------------------------------------------------------
// The flow and the draft.

struct Loaded {
    flow: crate::flows::Flow<FcLogin>,
    draft: Registration,
}

/// The flow of this browser and the registration of its FranceConnect identity (the open
/// one, created as a draft when there is none).
async fn load(
    st: &PortalState,
    visit: &Visit,
    query: Option<&str>,
) -> Result<Option<Loaded>, PortalError> {
    let Some(id) = flow_param(query) else {
        return Ok(None);
    };
    let Some(flow) = visit
        .flow::<FcLogin>(st, Purpose::Registration.flow_kind(), &id)
        .await?
    else {
        return Ok(None);
    };
    let draft = reg::open(
        st.portals.store(),
        st.portals.clock().as_ref(),
        &flow.data.identity(),
    )
    .await
    .map_err(registry)?;
    Ok(Some(Loaded { flow, draft }))
}

/// What a registration that is no longer a draft shows.
async fn status_page(visit: &Visit, st: &PortalState, loaded: &Loaded) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let r = &loaded.draft;
    let (key, kind) = match r.state {
        RegistrationState::Submitted => ("fc-registration-submitted", AlertKind::Success),
        _ => ("fc-registration-decided", AlertKind::Info),
    };
    let mut links = Vec::new();
    if let Some(url) = super::logout_url(st, &loaded.flow.data).await {
        links.push(Link::new(url, t("fc-logout")).id("deconnexion-franceconnect"));
    }
    links.push(Link::new("/erpps", t("fc-back-to-erpps")).id("retour-erpps"));
    let heading = t("fc-registration-status-title");
    let alert = Alert::new(
        kind,
        visit.ctx.t_delay(key, st.portals.propagation_delay_secs()),
    )
    .id("demande-transmise");
    let page = MessagePage {
        layout: layout(&visit.ctx, st, &heading),
        heading,
        alert,
        links,
    };
    // The logout goes to FranceConnect: a link, not a form, so the CSP's form-action is
    // not concerned.
    visit.page(st, StatusCode::OK, crate::local::pages::render(&page))
}

// ---------------------------------------------------------------------------------------
// The form.

async fn form_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, FORM_PATH);
    let loaded = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(l)) => l,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    if loaded.draft.state != RegistrationState::Draft {
        return status_page(&visit, &st, &loaded).await;
    }
    let form = loaded.draft.form.clone();
    render_form(&visit, &st, &loaded, &form, &Errors::default(), false)
}

#[derive(Default)]
struct Errors {
    profession: Option<String>,
    mode: Option<String>,
    structure: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    email: Option<String>,
    mobile: Option<String>,
    general: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        self.profession.is_some()
            || self.mode.is_some()
            || self.structure.is_some()
            || self.postcode.is_some()
            || self.city.is_some()
            || self.email.is_some()
            || self.mobile.is_some()
            || self.general.is_some()
    }
}

fn render_form(
    visit: &Visit,
    st: &PortalState,
    loaded: &Loaded,
    form: &RegistrationForm,
    errors: &Errors,
    failed: bool,
) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let id = &loaded.draft.identity;
    let mut page = form_page_of(
        visit,
        st,
        t("fc-registration-form-title"),
        format!("{FORM_PATH}?flow={}", loaded.flow.id),
    );
    page.intro.push(t("fc-registration-form-intro"));
    if let Some(g) = &errors.general {
        page.alerts.push(Alert::new(AlertKind::Error, g.clone()));
    }
    let shown = |label: &str, value: &str| Block::Shown {
        label: t(label),
        value: if value.is_empty() {
            "—".to_string()
        } else {
            value.to_string()
        },
    };
    let mut professions = vec![Choice::new(
        "",
        t("fc-choose"),
        form.profession_code.is_empty(),
    )];
    for code in PROFESSIONS {
        if let Some(label) = Nomenclature::G15Profession.display(code) {
            professions.push(Choice::new(code, label, form.profession_code == code));
        }
    }
    let mut mode = RadioGroup::new(
        "mode",
        t("fc-field-mode"),
        vec![
            Choice::new("L", t("fc-mode-liberal"), form.mode_code == "L"),
            Choice::new("S", t("fc-mode-salaried"), form.mode_code == "S"),
            Choice::new("B", t("fc-mode-volunteer"), form.mode_code == "B"),
        ],
    );
    mode.error = errors.mode.clone();
    page.blocks = vec![
        Block::Heading(t("fc-identity-heading")),
        shown("fc-identity-family-name", &id.family_name),
        shown("fc-identity-given-names", &id.given_name),
        shown("fc-identity-birthdate", &id.birthdate),
        shown("fc-identity-birthplace", &id.birthplace),
        Block::Heading(t("fc-activity-heading")),
        Block::Select(Select::new(
            Field::new("profession", t("fc-field-profession")).error(errors.profession.clone()),
            professions,
        )),
        Block::Radios(mode),
        Block::Field(
            Field::new("structure", t("fc-field-structure"))
                .hint(t("fc-field-structure-hint"))
                .value(&form.structure_name)
                .error(errors.structure.clone()),
        ),
        Block::Field(
            Field::new("rue", t("fc-field-street"))
                .value(&form.street)
                .autocomplete("street-address"),
        ),
        Block::Field(
            Field::new("code_postal", t("fc-field-postcode"))
                .value(&form.postcode)
                .inputmode("numeric")
                .autocomplete("postal-code")
                .error(errors.postcode.clone()),
        ),
        Block::Field(
            Field::new("commune", t("fc-field-city"))
                .value(&form.city)
                .autocomplete("address-level2")
                .error(errors.city.clone()),
        ),
        Block::Heading(t("fc-contact-heading")),
        Block::Field(
            Field::new("email", t("fc-field-email"))
                .kind("email")
                .hint(t("fc-field-email-hint"))
                .value(if form.email.is_empty() {
                    &id.email
                } else {
                    &form.email
                })
                .autocomplete("email")
                .error(errors.email.clone()),
        ),
        Block::Field(
            Field::new("mobile", t("fc-field-mobile"))
                .kind("tel")
                .hint(t("fc-field-mobile-hint"))
                .value(&form.mobile)
                .autocomplete("tel")
                .error(errors.mobile.clone()),
        ),
    ];
    page.buttons
        .push(Button::new(t("fc-save-continue"), ButtonKind::Primary).id("enregistrer"));
    visit.form(st, page, failed)
}

fn form_of(f: &Form) -> RegistrationForm {
    RegistrationForm {
        profession_code: f.trimmed("profession").to_string(),
        mode_code: f.trimmed("mode").to_string(),
        structure_name: f.trimmed("structure").to_string(),
        street: f.trimmed("rue").to_string(),
        postcode: f.trimmed("code_postal").to_string(),
        city: f.trimmed("commune").to_string(),
        email: f.trimmed("email").to_string(),
        mobile: f.trimmed("mobile").to_string(),
    }
}

async fn form_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let visit = Visit::new(&st, &headers, FORM_PATH);
    let posted = Form::parse(&body);
    if !visit.csrf_ok(&st, &posted) {
        return csrf_refused(&visit, &st);
    }
    let loaded = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(l)) => l,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    if loaded.draft.state != RegistrationState::Draft {
        return status_page(&visit, &st, &loaded).await;
    }
    let form = form_of(&posted);
    // Every field is required here (a draft may keep any of them empty).
    let t = |k: &str| visit.ctx.t(k);
    let mut errors = Errors::default();
    let empty = |v: &str, key: &str| v.is_empty().then(|| t(key));
    errors.profession = empty(&form.profession_code, "fc-error-profession");
    errors.mode = empty(&form.mode_code, "fc-error-mode");
    errors.structure = empty(&form.structure_name, "fc-error-structure");
    errors.postcode = match form.postcode.as_str() {
        "" => Some(t("fc-error-postcode")),
        p if reg::department_of(p).is_none() => Some(t("fc-error-postcode")),
        _ => None,
    };
    errors.city = empty(&form.city, "fc-error-city");
    errors.email = match caducee_core::contact::Email::parse(&form.email) {
        Ok(_) => None,
        Err(_) => Some(t("fc-error-email")),
    };
    errors.mobile = match caducee_core::contact::Mobile::parse(&form.mobile) {
        Ok(_) => None,
        Err(_) => Some(t("fc-error-mobile")),
    };
    // What was typed is kept even when refused (the valid parts), so nothing is lost.
    if errors.any() {
        let mut keep = form.clone();
        if errors.email.is_some() {
            keep.email = loaded.draft.form.email.clone();
        }
        if errors.mobile.is_some() {
            keep.mobile = loaded.draft.form.mobile.clone();
        }
        if errors.postcode.is_some() {
            keep.postcode = loaded.draft.form.postcode.clone();
        }
        let _ = reg::save_form(
            st.portals.store(),
            st.portals.clock().as_ref(),
            &loaded.draft.id,
            &keep,
        )
        .await;
        return render_form(&visit, &st, &loaded, &form, &errors, true);
    }
    let saved = match reg::save_form(
        st.portals.store(),
        st.portals.clock().as_ref(),
        &loaded.draft.id,
        &form,
    )
    .await
    {
        Ok(r) => r,
        Err(RegistrationError::BadInput(m)) => {
            errors.general = Some(m);
            return render_form(&visit, &st, &loaded, &form, &errors, true);
        }
        Err(e) => return failure(&st, &headers, &registry(e)),
    };
    next_step(&visit, &st, &headers, &loaded.flow, &saved).await
}

/// After the form: the e-mail's code, the mobile's, then the documents.
async fn next_step(
    visit: &Visit,
    st: &PortalState,
    headers: &HeaderMap,
    flow: &crate::flows::Flow<FcLogin>,
    r: &Registration,
) -> Response {
    let channel = if !r.email_verified {
        "email"
    } else if !r.mobile_verified {
        "sms"
    } else {
        return visit.redirect(st, &format!("{DOCS_PATH}?flow={}", flow.id), Vec::new());
    };
    match send_code(visit, st, flow, r, channel).await {
        Ok(Ok(())) => visit.redirect(
            st,
            &format!("{CODE_PATH}?flow={}&canal={channel}", flow.id),
            Vec::new(),
        ),
        Ok(Err(refused)) => {
            let alert = code_sender::refusal(visit.tr(), refused);
            message(
                visit,
                st,
                StatusCode::TOO_MANY_REQUESTS,
                visit.ctx.t("fc-code-title"),
                alert,
                vec![Link::new(
                    format!("{FORM_PATH}?flow={}", flow.id),
                    visit.ctx.t("fc-back-to-form"),
                )],
            )
        }
        Err(e) => failure(st, headers, &e),
    }
}

async fn send_code(
    visit: &Visit,
    st: &PortalState,
    flow: &crate::flows::Flow<FcLogin>,
    r: &Registration,
    channel: &str,
) -> Result<Result<(), crate::one_time::SendRefused>, PortalError> {
    let portal = st.portal.name.clone();
    let email_template = {
        let portal = portal.clone();
        move |code: String, validity_minutes: u32| Message::EmailVerificationCode {
            portal: portal.clone(),
            code,
            validity_minutes,
        }
    };
    let sms_template = move |code: String, validity_minutes: u32| Message::PhoneVerificationCode {
        portal: portal.clone(),
        code,
        validity_minutes,
    };
    let person = format!("fc:{}", flow.data.sub);
    let mut tx = st.portals.store().begin().await?;
    let sent = if channel == "email" {
        code_sender::send(
            st,
            &mut tx,
            &CodeSend {
                flow_id: &flow.id,
                flow_kind: "fc-registration",
                idnat: &person,
                to: Destination::Email(&r.form.email),
                template: &email_template,
                locale: visit.ctx.locale(),
            },
        )
        .await?
    } else {
        code_sender::send(
            st,
            &mut tx,
            &CodeSend {
                flow_id: &flow.id,
                flow_kind: "fc-registration",
                idnat: &person,
                to: Destination::Sms(&r.form.mobile),
                template: &sms_template,
                locale: visit.ctx.locale(),
            },
        )
        .await?
    };
    tx.commit().await?;
    Ok(sent)
}

// ---------------------------------------------------------------------------------------
// Codes.

fn channel_of(query: Option<&str>) -> &'static str {
    let sms = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .any(|(k, v)| k == "canal" && v == "sms");
    if sms {
        "sms"
    } else {
        "email"
    }
}

fn render_code(
    visit: &Visit,
    st: &PortalState,
    loaded: &Loaded,
    channel: &str,
    error: Option<String>,
    alert: Option<Alert>,
) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let mut page = form_page_of(
        visit,
        st,
        t(if channel == "sms" {
            "fc-code-sms-title"
        } else {
            "fc-code-email-title"
        }),
        format!("{CODE_PATH}?flow={}&canal={channel}", loaded.flow.id),
    );
    let masked = if channel == "sms" {
        mask_phone(&loaded.draft.form.mobile)
    } else {
        mask_email(&loaded.draft.form.email)
    };
    let failed = error.is_some();
    code_sender::code_step(visit.tr(), &mut page, &masked, error);
    page.alerts.extend(alert);
    page.links.push(
        Link::new(
            format!("{FORM_PATH}?flow={}", loaded.flow.id),
            t("fc-back-to-form"),
        )
        .id("retour-formulaire"),
    );
    visit.form(st, page, failed)
}

async fn code_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, CODE_PATH);
    let loaded = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(l)) => l,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    if loaded.draft.state != RegistrationState::Draft {
        return status_page(&visit, &st, &loaded).await;
    }
    render_code(
        &visit,
        &st,
        &loaded,
        channel_of(query.as_deref()),
        None,
        None,
    )
}

async fn code_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let visit = Visit::new(&st, &headers, CODE_PATH);
    let posted = Form::parse(&body);
    if !visit.csrf_ok(&st, &posted) {
        return csrf_refused(&visit, &st);
    }
    let loaded = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(l)) => l,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    if loaded.draft.state != RegistrationState::Draft {
        return status_page(&visit, &st, &loaded).await;
    }
    let channel = channel_of(query.as_deref());
    if posted.get("action") == "renvoyer" {
        let sent = match send_code(&visit, &st, &loaded.flow, &loaded.draft, channel).await {
            Ok(s) => s,
            Err(e) => return failure(&st, &headers, &e),
        };
        let alert = code_sender::resend_alert(visit.tr(), sent);
        return render_code(&visit, &st, &loaded, channel, None, Some(alert));
    }
    let typed = match code_sender::typed_code(&posted) {
        Ok(c) => c,
        Err(key) => {
            let e = visit.ctx.t(key);
            return render_code(&visit, &st, &loaded, channel, Some(e), None);
        }
    };
    let check = {
        let mut conn = match st.portals.store().pool().acquire().await {
            Ok(c) => c,
            Err(e) => return failure(&st, &headers, &e.into()),
        };
        match code_sender::check(&st, &mut conn, &loaded.flow.id, &typed).await {
            Ok(c) => c,
            Err(e) => return failure(&st, &headers, &e),
        }
    };
    match check {
        CodeCheck::Valid => {
            let (which, value) = if channel == "sms" {
                (Coordinate::Mobile, &loaded.draft.form.mobile)
            } else {
                (Coordinate::Email, &loaded.draft.form.email)
            };
            if let Err(e) = reg::confirm(
                st.portals.store(),
                st.portals.clock().as_ref(),
                &loaded.draft.id,
                which,
                value,
            )
            .await
            {
                return failure(&st, &headers, &registry(e));
            }
            let r = match reg::get(st.portals.store(), &loaded.draft.id).await {
                Ok(Some(r)) => r,
                Ok(None) => return login_again(&visit, &st),
                Err(e) => return failure(&st, &headers, &registry(e)),
            };
            next_step(&visit, &st, &headers, &loaded.flow, &r).await
        }
        CodeCheck::Dead => {
            let alert = Alert::new(AlertKind::Error, visit.ctx.t("fc-code-dead"));
            render_code(&visit, &st, &loaded, channel, None, Some(alert))
        }
        other => {
            let e = code_sender::check_error(visit.tr(), other);
            render_code(&visit, &st, &loaded, channel, e, None)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Documents and submission.

/// One document's line on the page.
struct DocLine {
    name: &'static str,
    field: Field,
    uploaded: Option<String>,
}

#[derive(Template)]
#[template(path = "erpps/registration_documents.html")]
struct DocumentsPage {
    layout: Layout,
    heading: String,
    alerts: Vec<Alert>,
    intro: Vec<String>,
    action: String,
    csrf: String,
    docs: Vec<DocLine>,
    upload: Button,
    submit: Button,
    back: Link,
}

fn render_docs(
    visit: &Visit,
    st: &PortalState,
    loaded: &Loaded,
    errors: &[(DocumentKind, String)],
    alerts: Vec<Alert>,
) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let heading = t("fc-documents-title");
    let docs = DocumentKind::ALL
        .into_iter()
        .map(|kind| {
            let (name, label) = match kind {
                DocumentKind::Identity => ("piece_identite", "fc-document-identity"),
                DocumentKind::Diploma => ("diplome", "fc-document-diploma"),
                DocumentKind::Activity => ("justificatif_activite", "fc-document-activity"),
            };
            let error = errors
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, m)| m.clone());
            DocLine {
                name,
                field: Field::new(name, t(label))
                    .kind("file")
                    .hint(t("fc-document-hint"))
                    .error(error),
                uploaded: loaded
                    .draft
                    .documents
                    .iter()
                    .find(|d| d.kind == kind)
                    .map(|d| {
                        visit.ctx.tr.t_with(
                            "fc-document-uploaded",
                            &[
                                ("name", d.filename.clone().into()),
                                ("kb", caducee_pages::Arg::Num((d.size + 1023) / 1024)),
                            ],
                        )
                    }),
            }
        })
        .collect();
    let failed = !errors.is_empty();
    let page = DocumentsPage {
        layout: layout(&visit.ctx, st, &heading),
        heading,
        alerts,
        intro: vec![t("fc-documents-intro")],
        action: format!("{DOCS_PATH}?flow={}", loaded.flow.id),
        csrf: visit.csrf(st),
        docs,
        upload: Button::new(t("fc-documents-upload"), ButtonKind::Secondary)
            .id("deposer")
            .action("action", "deposer"),
        submit: Button::new(t("fc-registration-submit"), ButtonKind::Primary)
            .id("transmettre")
            .action("action", "transmettre"),
        back: Link::new(
            format!("{FORM_PATH}?flow={}", loaded.flow.id),
            t("fc-back-to-form"),
        )
        .id("retour-formulaire"),
    };
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    visit.page(st, status, crate::local::pages::render(&page))
}

async fn docs_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, DOCS_PATH);
    let loaded = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(l)) => l,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    if loaded.draft.state != RegistrationState::Draft {
        return status_page(&visit, &st, &loaded).await;
    }
    render_docs(&visit, &st, &loaded, &[], Vec::new())
}

async fn docs_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let visit = Visit::new(&st, &headers, DOCS_PATH);
    let t = |k: &str| visit.ctx.t(k);
    let Ok(mut multipart) = multipart else {
        return csrf_refused(&visit, &st);
    };
    // The parts: csrf, action, and up to three files (read whole, bounded by the layer).
    let mut csrf = String::new();
    let mut action = String::new();
    let mut files: Vec<(DocumentKind, String, Vec<u8>)> = Vec::new();
    let mut too_big = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                let alert = Alert::new(AlertKind::Error, t("fc-documents-too-big"));
                return match load(&st, &visit, query.as_deref()).await {
                    Ok(Some(l)) => render_docs(&visit, &st, &l, &[], vec![alert]),
                    Ok(None) => login_again(&visit, &st),
                    Err(e) => failure(&st, &headers, &e),
                };
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().unwrap_or("").to_string();
        let kind = match name.as_str() {
            "piece_identite" => Some(DocumentKind::Identity),
            "diplome" => Some(DocumentKind::Diploma),
            "justificatif_activite" => Some(DocumentKind::Activity),
            _ => None,
        };
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(_) => {
                if let Some(k) = kind {
                    too_big.push(k);
                }
                continue;
            }
        };
        match (name.as_str(), kind) {
            ("csrf", _) => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            ("action", _) => action = String::from_utf8_lossy(&bytes).into_owned(),
            (_, Some(k)) if !bytes.is_empty() || !filename.is_empty() => {
                if bytes.len() > reg::DOCUMENT_MAX_BYTES {
                    too_big.push(k);
                } else {
                    files.push((k, filename, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    let form = Form::parse(format!("csrf={}", urlencode(&csrf)).as_bytes());
    if !visit.csrf_ok(&st, &form) {
        return csrf_refused(&visit, &st);
    }
    let loaded = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(l)) => l,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    if loaded.draft.state != RegistrationState::Draft {
        return status_page(&visit, &st, &loaded).await;
    }
    let mut errors: Vec<(DocumentKind, String)> = too_big
        .into_iter()
        .map(|k| (k, t("fc-documents-too-big")))
        .collect();
    for (kind, filename, bytes) in files {
        match reg::add_document(
            st.portals.store(),
            st.portals.clock().as_ref(),
            &loaded.draft.id,
            kind,
            &filename,
            &bytes,
        )
        .await
        {
            Ok(_) => {}
            Err(RegistrationError::Document(m)) => errors.push((kind, m)),
            Err(e) => return failure(&st, &headers, &registry(e)),
        }
    }
    let draft = match reg::get(st.portals.store(), &loaded.draft.id).await {
        Ok(Some(r)) => r,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &registry(e)),
    };
    let loaded = Loaded {
        flow: loaded.flow,
        draft,
    };
    if !errors.is_empty() || action != "transmettre" {
        let alerts = if errors.is_empty() {
            vec![Alert::new(AlertKind::Success, t("fc-documents-saved")).id("documents-enregistres")]
        } else {
            Vec::new()
        };
        return render_docs(&visit, &st, &loaded, &errors, alerts);
    }
    match reg::submit(
        st.portals.store(),
        st.portals.clock().as_ref(),
        &loaded.draft.id,
    )
    .await
    {
        Ok(r) => {
            let loaded = Loaded {
                flow: loaded.flow,
                draft: r,
            };
            status_page(&visit, &st, &loaded).await
        }
        Err(RegistrationError::Incomplete(m)) => {
            let alert = Alert::new(
                AlertKind::Error,
                visit
                    .ctx
                    .tr
                    .t_with("fc-registration-incomplete", &[("missing", m.into())]),
            )
            .id("demande-incomplete");
            render_docs(&visit, &st, &loaded, &[], vec![alert])
        }
        Err(e) => failure(&st, &headers, &registry(e)),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
