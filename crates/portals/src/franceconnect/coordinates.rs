//! REG-12: a professional who has an RPPS number but neither a card nor contact coordinates
//! proves their identity through FranceConnect, `/erpps/coordonnees-franceconnect` ("Mes
//! coordonnées ne sont pas renseignées, je peux mettre à jour via France Connect"):
//!
//! 1. FranceConnect (the identity in a `fc-coordinates` flow bound to the browser);
//! 2. the RPPS number typed; the registry's civil status must match the FranceConnect
//!    identity — family name, first names, birth date, and birthplace when the registry
//!    knows it — compared as the directory's index compares names (accents, case, hyphens
//!    and apostrophes ignored: `caducee_registry::search::key`); a mismatch is refused with
//!    the way forward (contact the ARS) and audited; attempts are limited per source and per
//!    RPPS (`caducee_store::throttle`);
//! 3. a new e-mail and a new mobile, each confirmed by a 6-digit code;
//! 4. recorded as a change validated through FranceConnect
//!    (`caducee_registry::requests::file_approved`), effective after the propagation delay
//!    like any approved change ("un délai de 48 heures est nécessaire…").

use super::registration::{csrf_refused, layout};
use super::{FcLogin, Purpose};
use crate::local::code_sender::{self, CodeSend, Destination};
use crate::local::pages::{Block, FormPage, MessagePage};
use crate::local::{flow_param, Form, Visit};
use crate::one_time::CodeCheck;
use crate::state::{request_id, PortalState};
use crate::PortalError;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use caducee_core::ids::Rpps;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_core::source::ClientSource;
use caducee_notify::templates::Template as Message;
use caducee_pages::{Alert, AlertKind, Button, ButtonKind, Field, Link};
use caducee_registry::queries::Professional;
use caducee_registry::search::key;
use caducee_store::throttle::{Limit, Verdict};
use serde::{Deserialize, Serialize};

pub(crate) const START_PATH: &str = "/erpps/coordonnees-franceconnect";
pub(crate) const FIND_PATH: &str = "/erpps/coordonnees-franceconnect/rpps";
const CONTACT_PATH: &str = "/erpps/coordonnees-franceconnect/coordonnees";
const CODE_PATH: &str = "/erpps/coordonnees-franceconnect/code";

/// Matches tried from one source per hour.
const MATCH_PER_SOURCE: Limit = Limit::new("portals.fc_coordinates.source", 20, 3600);
/// Matches tried on one RPPS number per hour, all sources together.
const MATCH_PER_RPPS: Limit = Limit::new("portals.fc_coordinates.rpps", 5, 3600);

/// Where the journey is, kept in the flow beside the FranceConnect identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Step {
    /// The professional found (idNat), once matched.
    idnat: String,
    email: String,
    mobile: String,
    /// The correspondence address (where the CPS card is mailed).
    address: String,
    email_ok: bool,
    mobile_ok: bool,
}

fn step_of(login: &FcLogin) -> Step {
    serde_json::from_value(login.step.clone()).unwrap_or_default()
}

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route(START_PATH, get(start_page).post(start_submit))
        .route(FIND_PATH, get(find_page).post(find_submit))
        .route(CONTACT_PATH, get(contact_page).post(contact_submit))
        .route(CODE_PATH, get(code_page).post(code_submit))
}

/// Whether the registry's civil status is the FranceConnect identity's: family name (the
/// birth name, else the registry's name), every first name FranceConnect gives (the
/// registry's first names, else its usual first name, must be among them), the birth date,
/// and the birthplace when both know it. Accents, case, hyphens and apostrophes ignored.
pub(crate) fn civil_status_matches(fc: &FcLogin, p: &Professional) -> bool {
    let Some(civil) = p.civil_identity.clone() else {
        return false;
    };
    let family = if civil.birth_name.is_empty() {
        &p.last_name
    } else {
        &civil.birth_name
    };
    if key(family).is_empty() || key(family) != key(&fc.family_name) {
        return false;
    }
    let fc_given: Vec<String> = caducee_registry::search::words(&fc.given_name);
    let registry_given = if civil.first_names.is_empty() {
        &p.first_name
    } else {
        &civil.first_names
    };
    // Compound first names ("Jean-Pierre") are one word on both sides.
    let given = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .map(key)
            .filter(|w| !w.is_empty())
            .collect()
    };
    let fc_names = given(&fc.given_name);
    let ours = given(registry_given);
    if ours.is_empty() || fc_given.is_empty() || !ours.iter().all(|w| fc_names.contains(w)) {
        return false;
    }
    if civil.birth_date.is_empty() || civil.birth_date != fc.birthdate {
        return false;
    }
    if !civil.birth_place.is_empty()
        && !fc.birthplace.is_empty()
        && !civil.birth_place.eq_ignore_ascii_case(&fc.birthplace)
    {
        return false;
    }
    true
}

fn failure(st: &PortalState, headers: &HeaderMap, e: &PortalError) -> Response {
    st.fail(headers, e, request_id(headers).as_deref())
}

fn page_of(visit: &Visit, st: &PortalState, heading: String, action: String) -> FormPage {
    let mut page = visit.form_page(st, heading.clone(), action);
    page.layout = layout(&visit.ctx, st, &heading);
    page
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

fn login_again(visit: &Visit, st: &PortalState) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    message(
        visit,
        st,
        StatusCode::BAD_REQUEST,
        t("fc-expired-title"),
        Alert::new(AlertKind::Warning, t("fc-expired-text")).id("connexion-expiree"),
        vec![Link::new(START_PATH, t("fc-coordinates-restart")).button(ButtonKind::Primary)],
    )
}

async fn load(
    st: &PortalState,
    visit: &Visit,
    query: Option<&str>,
) -> Result<Option<crate::flows::Flow<FcLogin>>, PortalError> {
    let Some(id) = flow_param(query) else {
        return Ok(None);
    };
    visit
        .flow::<FcLogin>(st, Purpose::Coordinates.flow_kind(), &id)
        .await
}

async fn save(
    st: &PortalState,
    flow: &crate::flows::Flow<FcLogin>,
    step: &Step,
) -> Result<(), PortalError> {
    let mut data = flow.data.clone();
    data.step = serde_json::to_value(step).map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut conn = st.portals.store().pool().acquire().await?;
    crate::flows::advance(&mut conn, flow, "step", &data, st.portals.now(), None).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Start.

async fn start_page(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let visit = Visit::new(&st, &headers, START_PATH);
    let t = |k: &str| visit.ctx.t(k);
    let mut page = page_of(&visit, &st, t("fc-coordinates-title"), START_PATH.into());
    page.intro = vec![
        t("fc-coordinates-intro"),
        visit
            .ctx
            .t_delay("fc-coordinates-delay", st.portals.propagation_delay_secs()),
    ];
    super::start_page(&st, &visit, page)
}

async fn start_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    super::start_submit(&st, &headers, &body, START_PATH, Purpose::Coordinates).await
}

// ---------------------------------------------------------------------------------------
// The RPPS number and the match.

fn render_find(
    visit: &Visit,
    st: &PortalState,
    flow: &crate::flows::Flow<FcLogin>,
    typed: &str,
    error: Option<String>,
    alert: Option<Alert>,
) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let mut page = page_of(
        visit,
        st,
        t("fc-coordinates-find-title"),
        format!("{FIND_PATH}?flow={}", flow.id),
    );
    page.intro.push(visit.ctx.tr.t_with(
        "fc-coordinates-find-intro",
        &[(
            "name",
            format!("{} {}", flow.data.given_name, flow.data.family_name).into(),
        )],
    ));
    page.alerts.extend(alert);
    let failed = error.is_some();
    page.blocks = vec![
        Block::Field(
            Field::new("rpps", t("fc-field-rpps"))
                .hint(t("fc-field-rpps-hint"))
                .value(typed)
                .inputmode("numeric")
                .error(error),
        ),
        Block::Link(Link::new("/annuaire", t("fc-find-rpps-directory"))),
    ];
    page.buttons
        .push(Button::new(t("fc-continue"), ButtonKind::Primary).id("continuer"));
    visit.form(st, page, failed)
}

async fn find_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, FIND_PATH);
    match load(&st, &visit, query.as_deref()).await {
        Ok(Some(flow)) => render_find(&visit, &st, &flow, "", None, None),
        Ok(None) => login_again(&visit, &st),
        Err(e) => failure(&st, &headers, &e),
    }
}

async fn find_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let visit = Visit::new(&st, &headers, FIND_PATH);
    let posted = Form::parse(&body);
    if !visit.csrf_ok(&st, &posted) {
        return csrf_refused(&visit, &st);
    }
    let flow = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(f)) => f,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    let t = |k: &str| visit.ctx.t(k);
    let typed: String = posted
        .get("rpps")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    // "8" + RPPS is accepted too (REG-01).
    let digits = match typed.len() {
        12 if typed.starts_with('8') => typed[1..].to_string(),
        _ => typed.clone(),
    };
    let rpps = match Rpps::parse(&digits) {
        Ok(r) if digits.len() == 11 => r,
        _ => return render_find(&visit, &st, &flow, &typed, Some(t("fc-error-rpps")), None),
    };
    // The limits, per source and per RPPS, counted before the registry is read.
    let source = source
        .map(|Extension(s)| s.throttle_key())
        .unwrap_or_else(|| "unknown".into());
    let now = st.portals.now();
    let throttled = async {
        let mut tx = st.portals.store().begin().await?;
        for (limit, k) in [
            (MATCH_PER_SOURCE, source.clone()),
            (MATCH_PER_RPPS, rpps.as_str().to_string()),
        ] {
            let verdict = limit
                .hit(&mut tx, &k, now)
                .await
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            if let Verdict::Refused { retry_after_secs } = verdict {
                tx.commit().await?;
                return Ok::<_, PortalError>(Some(retry_after_secs));
            }
        }
        tx.commit().await?;
        Ok(None)
    }
    .await;
    match throttled {
        Ok(None) => {}
        Ok(Some(secs)) => {
            let alert = Alert::new(
                AlertKind::Error,
                visit.ctx.tr.t_with(
                    "fc-coordinates-throttled",
                    &[(
                        "minutes",
                        caducee_pages::Arg::Num(code_sender::minutes(secs)),
                    )],
                ),
            )
            .id("trop-d-essais");
            return render_find(&visit, &st, &flow, &typed, None, Some(alert));
        }
        Err(e) => return failure(&st, &headers, &e),
    }
    let id = match caducee_core::ids::IdNatPs::parse(rpps.idnat()) {
        Ok(id) => id,
        Err(_) => return render_find(&visit, &st, &flow, &typed, Some(t("fc-error-rpps")), None),
    };
    let person = match caducee_registry::queries::get_professional(st.portals.store(), &id).await {
        Ok(p) => p,
        Err(e) => return failure(&st, &headers, &PortalError::Internal(e.to_string())),
    };
    let matched = person
        .as_ref()
        .is_some_and(|p| civil_status_matches(&flow.data, p));
    let actor = format!("franceconnect:{}", flow.data.sub);
    let rid = request_id(&headers);
    let event = caducee_store::audit::AuditEvent {
        actor: &actor,
        action: if matched {
            "portals.fc_coordinates.matched"
        } else {
            "portals.fc_coordinates.mismatch"
        },
        subject: Some(rpps.idnat()),
        details: serde_json::json!({ "portal": st.portal.slug, "known": person.is_some() }),
        request_id: rid.as_deref(),
    };
    if let Err(e) = caducee_store::audit::record(st.portals.store().pool(), now, &event).await {
        return failure(&st, &headers, &PortalError::Internal(e.to_string()));
    }
    if !matched {
        // The same answer whether the number is unknown or the identity differs.
        return message(
            &visit,
            &st,
            StatusCode::UNPROCESSABLE_ENTITY,
            t("fc-coordinates-mismatch-title"),
            Alert::new(AlertKind::Error, t("fc-coordinates-mismatch")).id("identite-differente"),
            vec![
                Link::new(
                    format!("{FIND_PATH}?flow={}", flow.id),
                    t("fc-coordinates-retry"),
                )
                .id("ressaisir"),
                Link::new("/erpps", t("fc-back-to-erpps")).id("retour-erpps"),
            ],
        );
    }
    let step = Step {
        idnat: rpps.idnat().to_string(),
        ..Step::default()
    };
    if let Err(e) = save(&st, &flow, &step).await {
        return failure(&st, &headers, &e);
    }
    visit.redirect(&st, &format!("{CONTACT_PATH}?flow={}", flow.id), Vec::new())
}

// ---------------------------------------------------------------------------------------
// The new coordinates and their codes.

/// The correspondence address the registry holds, to prefill the form.
async fn registry_address(st: &PortalState, idnat: &str) -> String {
    match caducee_core::ids::IdNatPs::parse(idnat) {
        Ok(id) => caducee_registry::queries::get_professional(st.portals.store(), &id)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.contact)
            .map(|c| c.address)
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn render_contact(
    visit: &Visit,
    st: &PortalState,
    flow: &crate::flows::Flow<FcLogin>,
    step: &Step,
    errors: (Option<String>, Option<String>, Option<String>),
) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let mut page = page_of(
        visit,
        st,
        t("fc-coordinates-contact-title"),
        format!("{CONTACT_PATH}?flow={}", flow.id),
    );
    page.intro.push(t("fc-coordinates-contact-intro"));
    let failed = errors.0.is_some() || errors.1.is_some() || errors.2.is_some();
    page.blocks = vec![
        Block::Field(
            Field::new("email", t("fc-field-email"))
                .kind("email")
                .hint(t("fc-field-email-hint"))
                .value(if step.email.is_empty() {
                    &flow.data.email
                } else {
                    &step.email
                })
                .autocomplete("email")
                .error(errors.0),
        ),
        Block::Field(
            Field::new("mobile", t("fc-field-mobile"))
                .kind("tel")
                .hint(t("fc-field-mobile-hint"))
                .value(&step.mobile)
                .autocomplete("tel")
                .error(errors.1),
        ),
        Block::Field(
            Field::new("adresse", t("fc-field-address"))
                .hint(t("fc-field-address-hint"))
                .value(&step.address)
                .autocomplete("street-address")
                .error(errors.2),
        ),
    ];
    page.buttons
        .push(Button::new(t("fc-continue"), ButtonKind::Primary).id("continuer"));
    visit.form(st, page, failed)
}

async fn contact_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, CONTACT_PATH);
    match load(&st, &visit, query.as_deref()).await {
        Ok(Some(flow)) => {
            let mut step = step_of(&flow.data);
            if step.idnat.is_empty() {
                return visit.redirect(&st, &format!("{FIND_PATH}?flow={}", flow.id), Vec::new());
            }
            if step.address.is_empty() {
                step.address = registry_address(&st, &step.idnat).await;
            }
            render_contact(&visit, &st, &flow, &step, (None, None, None))
        }
        Ok(None) => login_again(&visit, &st),
        Err(e) => failure(&st, &headers, &e),
    }
}

async fn contact_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let visit = Visit::new(&st, &headers, CONTACT_PATH);
    let posted = Form::parse(&body);
    if !visit.csrf_ok(&st, &posted) {
        return csrf_refused(&visit, &st);
    }
    let flow = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(f)) => f,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    let mut step = step_of(&flow.data);
    if step.idnat.is_empty() {
        return visit.redirect(&st, &format!("{FIND_PATH}?flow={}", flow.id), Vec::new());
    }
    let t = |k: &str| visit.ctx.t(k);
    let email = caducee_core::contact::Email::parse(posted.trimmed("email"));
    let mobile = caducee_core::contact::Mobile::parse(posted.trimmed("mobile"));
    step.email = email
        .as_ref()
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|_| posted.trimmed("email").to_string());
    step.mobile = mobile
        .as_ref()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|_| posted.trimmed("mobile").to_string());
    let address = posted.trimmed("adresse");
    step.address = address.to_string();
    step.email_ok = false;
    step.mobile_ok = false;
    if let Err(e) = save(&st, &flow, &step).await {
        return failure(&st, &headers, &e);
    }
    let address_error = if address.is_empty() {
        Some(t("fc-error-address"))
    } else if address.chars().count() > 200 || address.chars().any(char::is_control) {
        Some(t("fc-error-address-long"))
    } else {
        None
    };
    if email.is_err() || mobile.is_err() || address_error.is_some() {
        let errors = (
            email.is_err().then(|| t("fc-error-email")),
            mobile.is_err().then(|| t("fc-error-mobile")),
            address_error,
        );
        return render_contact(&visit, &st, &flow, &step, errors);
    }
    send_and_go(&visit, &st, &headers, &flow, &step, "email").await
}

async fn send_and_go(
    visit: &Visit,
    st: &PortalState,
    headers: &HeaderMap,
    flow: &crate::flows::Flow<FcLogin>,
    step: &Step,
    channel: &str,
) -> Response {
    match send_code(visit, st, flow, step, channel).await {
        Ok(Ok(())) => visit.redirect(
            st,
            &format!("{CODE_PATH}?flow={}&canal={channel}", flow.id),
            Vec::new(),
        ),
        Ok(Err(refused)) => message(
            visit,
            st,
            StatusCode::TOO_MANY_REQUESTS,
            visit.ctx.t("fc-code-title"),
            code_sender::refusal(visit.tr(), refused),
            vec![Link::new("/erpps", visit.ctx.t("fc-back-to-erpps"))],
        ),
        Err(e) => failure(st, headers, &e),
    }
}

async fn send_code(
    visit: &Visit,
    st: &PortalState,
    flow: &crate::flows::Flow<FcLogin>,
    step: &Step,
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
    let mut tx = st.portals.store().begin().await?;
    let (to, template): (Destination<'_>, &(dyn Fn(String, u32) -> Message + Sync)) =
        if channel == "sms" {
            (Destination::Sms(&step.mobile), &sms_template)
        } else {
            (Destination::Email(&step.email), &email_template)
        };
    let sent = code_sender::send(
        st,
        &mut tx,
        &CodeSend {
            flow_id: &flow.id,
            flow_kind: "fc-coordinates",
            idnat: &step.idnat,
            to,
            template,
            locale: visit.ctx.locale(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(sent)
}

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
    flow: &crate::flows::Flow<FcLogin>,
    step: &Step,
    channel: &str,
    error: Option<String>,
    alert: Option<Alert>,
) -> Response {
    let t = |k: &str| visit.ctx.t(k);
    let mut page = page_of(
        visit,
        st,
        t(if channel == "sms" {
            "fc-code-sms-title"
        } else {
            "fc-code-email-title"
        }),
        format!("{CODE_PATH}?flow={}&canal={channel}", flow.id),
    );
    let masked = if channel == "sms" {
        mask_phone(&step.mobile)
    } else {
        mask_email(&step.email)
    };
    let failed = error.is_some();
    code_sender::code_step(visit.tr(), &mut page, &masked, error);
    page.alerts.extend(alert);
    page.links.push(
        Link::new(
            format!("{CONTACT_PATH}?flow={}", flow.id),
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
    match load(&st, &visit, query.as_deref()).await {
        Ok(Some(flow)) => {
            let step = step_of(&flow.data);
            if step.idnat.is_empty() || step.email.is_empty() {
                return login_again(&visit, &st);
            }
            render_code(
                &visit,
                &st,
                &flow,
                &step,
                channel_of(query.as_deref()),
                None,
                None,
            )
        }
        Ok(None) => login_again(&visit, &st),
        Err(e) => failure(&st, &headers, &e),
    }
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
    let flow = match load(&st, &visit, query.as_deref()).await {
        Ok(Some(f)) => f,
        Ok(None) => return login_again(&visit, &st),
        Err(e) => return failure(&st, &headers, &e),
    };
    let mut step = step_of(&flow.data);
    if step.idnat.is_empty() || step.email.is_empty() {
        return login_again(&visit, &st);
    }
    let channel = channel_of(query.as_deref());
    if posted.get("action") == "renvoyer" {
        let sent = match send_code(&visit, &st, &flow, &step, channel).await {
            Ok(s) => s,
            Err(e) => return failure(&st, &headers, &e),
        };
        let alert = code_sender::resend_alert(visit.tr(), sent);
        return render_code(&visit, &st, &flow, &step, channel, None, Some(alert));
    }
    let typed = match code_sender::typed_code(&posted) {
        Ok(c) => c,
        Err(k) => {
            let e = visit.ctx.t(k);
            return render_code(&visit, &st, &flow, &step, channel, Some(e), None);
        }
    };
    let check = {
        let mut conn = match st.portals.store().pool().acquire().await {
            Ok(c) => c,
            Err(e) => return failure(&st, &headers, &e.into()),
        };
        match code_sender::check(&st, &mut conn, &flow.id, &typed).await {
            Ok(c) => c,
            Err(e) => return failure(&st, &headers, &e),
        }
    };
    match check {
        CodeCheck::Valid => {}
        CodeCheck::Dead => {
            let alert = Alert::new(AlertKind::Error, visit.ctx.t("fc-code-dead"));
            return render_code(&visit, &st, &flow, &step, channel, None, Some(alert));
        }
        other => {
            let e = code_sender::check_error(visit.tr(), other);
            return render_code(&visit, &st, &flow, &step, channel, e, None);
        }
    }
    if channel == "sms" {
        step.mobile_ok = true;
    } else {
        step.email_ok = true;
    }
    if let Err(e) = save(&st, &flow, &step).await {
        return failure(&st, &headers, &e);
    }
    if !step.mobile_ok {
        return send_and_go(&visit, &st, &headers, &flow, &step, "sms").await;
    }
    // Both proven: the change, validated through FranceConnect, waits for the delay.
    let change =
        caducee_registry::requests::Change::Contact(caducee_registry::requests::ContactChange {
            email: step.email.clone(),
            mobile: step.mobile.clone(),
            address: step.address.clone(),
        });
    let filed = caducee_registry::requests::file_approved(
        st.portals.store(),
        st.portals.clock().as_ref(),
        &step.idnat,
        &change,
        &format!("franceconnect:{}", flow.data.sub),
    )
    .await;
    if let Err(e) = filed {
        return failure(&st, &headers, &PortalError::Internal(e.to_string()));
    }
    {
        let mut conn = match st.portals.store().pool().acquire().await {
            Ok(c) => c,
            Err(e) => return failure(&st, &headers, &e.into()),
        };
        if let Err(e) = crate::flows::delete(&mut conn, &flow.id).await {
            return failure(&st, &headers, &e);
        }
    }
    let t = |k: &str| visit.ctx.t(k);
    let mut links = Vec::new();
    if let Some(url) = super::logout_url(&st, &flow.data).await {
        links.push(Link::new(url, t("fc-logout")).id("deconnexion-franceconnect"));
    }
    links.push(Link::new("/erpps", t("fc-back-to-erpps")).id("retour-erpps"));
    message(
        &visit,
        &st,
        StatusCode::OK,
        t("fc-coordinates-done-title"),
        Alert::new(
            AlertKind::Success,
            visit
                .ctx
                .t_delay("fc-coordinates-done", st.portals.propagation_delay_secs()),
        )
        .id("coordonnees-enregistrees"),
        links,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use caducee_registry::queries::CivilIdentity;

    fn fc(family: &str, given: &str, birth: &str, place: &str) -> FcLogin {
        FcLogin {
            issuer: "i".into(),
            sub: "s".into(),
            given_name: given.into(),
            family_name: family.into(),
            birthdate: birth.into(),
            gender: "female".into(),
            birthplace: place.into(),
            birthcountry: "99100".into(),
            email: String::new(),
            id_token: String::new(),
            step: serde_json::Value::Null,
        }
    }

    fn person(last: &str, first: &str, civil: Option<CivilIdentity>) -> Professional {
        Professional {
            id_nat: "810000000000".into(),
            id_type: "8".into(),
            identifier: "10000000000".into(),
            civility: Default::default(),
            exercise_civility: Default::default(),
            last_name: last.into(),
            first_name: first.into(),
            civil_identity: civil,
            professions: vec![],
            activities: vec![],
            diplomas: vec![],
            contact: None,
            mssante: vec![],
        }
    }

    fn civil(birth_name: &str, first_names: &str, date: &str, place: &str) -> CivilIdentity {
        CivilIdentity {
            birth_name: birth_name.into(),
            first_names: first_names.into(),
            birth_date: date.into(),
            birth_place: place.into(),
            birth_country: String::new(),
            sex: "F".into(),
        }
    }

    #[test]
    fn reg_12_names_match_without_accents_case_or_hyphens() {
        let p = person(
            "LEFEVRE DUBOIS",
            "Amelie",
            Some(civil("LEFÈVRE-DUBOIS", "Amélie", "1990-04-12", "69123")),
        );
        assert!(civil_status_matches(
            &fc("Lefevre Dubois", "amélie jeanne", "1990-04-12", "69123"),
            &p
        ));
        assert!(civil_status_matches(
            &fc("lefèvre-dubois", "AMELIE", "1990-04-12", ""),
            &p
        ));
        // Another birth date, name, first name or birthplace: refused.
        assert!(!civil_status_matches(
            &fc("Lefevre-Dubois", "Amélie", "1990-04-13", "69123"),
            &p
        ));
        assert!(!civil_status_matches(
            &fc("Lefevre", "Amélie", "1990-04-12", "69123"),
            &p
        ));
        assert!(!civil_status_matches(
            &fc("Lefevre-Dubois", "Amandine", "1990-04-12", "69123"),
            &p
        ));
        assert!(!civil_status_matches(
            &fc("Lefevre-Dubois", "Amélie", "1990-04-12", "75056"),
            &p
        ));
        // No birth date in the registry: nothing to match against.
        let unknown = person("MARTIN", "Julie", None);
        assert!(!civil_status_matches(
            &fc("Martin", "Julie", "1980-01-01", ""),
            &unknown
        ));
    }
}
