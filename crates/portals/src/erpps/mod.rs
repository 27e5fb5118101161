//! eRPPS (ERPPS-01, ERPPS-02; seeds `erpps-portail-aide-connexion.txt` and
//! `rpps-coordonnees-carte-cps.txt`): the registry's own portal at `/erpps`, where a
//! professional who has an RPPS number keeps their registry data up to date through
//! change requests (REG-06, `caducee_registry::requests`) that their agency reviews.
//!
//! Its only login is Pro Santé Connect: it is a portal like the partner spaces (a
//! [`PortalConfig`] with the slug `erpps`, a real OpenID Connect client of the idp
//! registered at start), whose login, callback, logout and back-channel logout are those of
//! `demo.rs`, mounted under `/erpps`. FranceConnect is only for a first registration
//! (`/erpps/inscription`) and for coordinates proven through it
//! (`/erpps/coordonnees-franceconnect`), both elsewhere.
//!
//! - `GET /erpps`: the landing ("Bienvenue sur le portail d'enregistrement eRPPS…") with
//!   its entries, or, logged in, the home "Que souhaitez-vous faire ?"; at the first login
//!   the contact coordinates are to be checked first (`/erpps/coordonnees-a-verifier`: the
//!   CPS card is mailed to the correspondence address).
//! - `forms.rs`: the five requests' forms (new activity in two steps, cease an activity,
//!   new profession, contact coordinates, exercise name): each POST saves the draft as
//!   typed in the database, so that a restart or another node loses nothing; "Envoyer"
//!   checks and submits it.
//! - `views.rs`: my activities, my requests (state, history, a rejection's reason, the
//!   date a change becomes visible; drafts to resume).

mod forms;
pub mod session;
mod views;

use crate::local::{Form, Visit};
use crate::state::{html, redirect, request_id, Cookie, PortalState};
use crate::{AccountPolicy, LoginMeans, PortalConfig, PortalError, PortalsOptions};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use caducee_pages::{Alert, AlertKind, Brand, Button, ButtonKind, Layout, Link, PageCtx, Template};
use caducee_store::audit::{self, AuditEvent};

pub use session::{current, ErppsUser};

/// The slug of eRPPS among the portals (its rows, its client id at the idp).
pub const SLUG: &str = "erpps";
/// Where eRPPS is served.
pub const BASE: &str = "/erpps";

/// eRPPS as a portal: Pro Santé Connect only, no local accounts.
pub fn config() -> PortalConfig {
    PortalConfig {
        slug: SLUG.into(),
        name: "eRPPS".into(),
        client_id: None,
        accent: "#000091".into(),
        login: vec![LoginMeans::Psc],
        accounts: AccountPolicy::None,
        professions: Vec::new(),
        exercise_modes: Vec::new(),
        services: Vec::new(),
        onboarding: Vec::new(),
        forbidden_email_domains: Vec::new(),
        terms_url: None,
        privacy_url: None,
        skippable_steps: Vec::new(),
        password_rules: crate::config::PasswordRules::default(),
        psc_button: None,
    }
}

/// Adds eRPPS to the portals a node serves, when the options ask for it.
pub(crate) fn add_to(configs: &mut Vec<PortalConfig>, options: &PortalsOptions) {
    if options.erpps && !configs.iter().any(|c| c.slug == SLUG) {
        configs.push(config());
    }
}

/// The routes of eRPPS beyond the OIDC ones of `demo.rs`.
pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route(BASE, get(home))
        .route(
            &format!("{BASE}/coordonnees-a-verifier"),
            get(contact_check_page).post(contact_check_submit),
        )
        .merge(forms::routes())
        .merge(views::routes())
}

/// The layout of an eRPPS page.
pub(crate) fn layout(ctx: &PageCtx, st: &PortalState, title: &str) -> Layout {
    Layout::new(ctx, format!("{title} — {}", st.portal.name)).brand(Brand {
        name: st.portal.name.clone(),
        theme_href: format!("{BASE}/theme.css"),
        href: BASE.to_string(),
    })
}

/// The page's CSP: the logout form goes to the provider.
fn csp_with_provider(st: &PortalState) -> (header::HeaderName, HeaderValue) {
    let csp = format!(
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' {}",
        crate::demo::origin(st.portals.provider().issuer().as_str())
    );
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp)
            .unwrap_or_else(|_| HeaderValue::from_static("form-action 'self'")),
    )
}

// ---------------------------------------------------------------------------------------
// Landing and home.

#[derive(Template)]
#[template(path = "erpps/landing.html")]
struct LandingPage {
    layout: Layout,
    notice: Option<Alert>,
    /// The texts that say the configured propagation delay.
    fc_delay: String,
    no_contact_delay: String,
}

/// One action of the home page.
pub(crate) struct Action {
    pub id: &'static str,
    pub href: String,
    pub label: String,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "erpps/home.html")]
struct HomePage {
    layout: Layout,
    hello: String,
    actions: Vec<Action>,
    more: Vec<Action>,
    logout_action: String,
}

async fn home(
    State(st): State<PortalState>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let ctx = PageCtx::from_headers(&headers, BASE.to_string());
    let user = match session::current_in(&st, &headers).await {
        Ok(u) => u,
        Err(e) => return st.fail(&headers, &e, request_id(&headers).as_deref()),
    };
    let Some(user) = user else {
        let mut set = Vec::new();
        // A stale session cookie (ended elsewhere): forgotten.
        if st.cookie(&headers, &Cookie::Session).is_some() {
            set.push((header::SET_COOKIE, st.clear_cookie(&Cookie::Session)));
        }
        // Back from the provider's logout: greeted only in the browser that asked for it.
        let expected = st.cookie(&headers, &Cookie::Logout);
        let returned = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned());
        let logged_out = matches!((&returned, &expected), (Some(a), Some(b)) if a == b);
        if expected.is_some() {
            set.push((header::SET_COOKIE, st.clear_cookie(&Cookie::Logout)));
        }
        let page = LandingPage {
            layout: layout(&ctx, &st, &ctx.t("erpps-landing-title")),
            notice: logged_out.then(|| Alert::new(AlertKind::Success, ctx.t("erpps-logged-out"))),
            fc_delay: ctx.t_delay(
                "erpps-landing-fc-delay",
                st.portals.propagation_delay_secs(),
            ),
            no_contact_delay: ctx.t_delay(
                "erpps-landing-no-contact-delay",
                st.portals.propagation_delay_secs(),
            ),
        };
        return html(StatusCode::OK, crate::local::pages::render(&page), set);
    };
    // At the first login, the coordinates are checked first (the CPS card goes there).
    match session::contact_checked(&st, &user.idnat).await {
        Ok(false) => return redirect(&format!("{BASE}/coordonnees-a-verifier"), Vec::new()),
        Ok(true) => {}
        Err(e) => return st.fail(&headers, &e, request_id(&headers).as_deref()),
    }
    let t = |k: &str| ctx.t(k);
    let a = |id: &'static str, path: &str, label: &str, hint: &str| Action {
        id,
        href: format!("{BASE}{path}"),
        label: t(label),
        hint: t(hint),
    };
    let actions = vec![
        a(
            "voir-activites",
            "/activites",
            "erpps-action-activities",
            "erpps-action-activities-hint",
        ),
        a(
            "nouvelle-activite",
            "/nouvelle-activite",
            "erpps-action-new-activity",
            "erpps-action-new-activity-hint",
        ),
        a(
            "cesser-activite",
            "/cesser-activite",
            "erpps-action-cease",
            "erpps-action-cease-hint",
        ),
        a(
            "demande-en-cours",
            "/demandes",
            "erpps-action-requests",
            "erpps-action-requests-hint",
        ),
        a(
            "attestations",
            "/attestation",
            "erpps-action-attestation",
            "erpps-action-attestation-hint",
        ),
    ];
    let more = vec![
        a(
            "nouvelle-profession",
            "/nouvelle-profession",
            "erpps-action-new-profession",
            "erpps-action-new-profession-hint",
        ),
        a(
            "coordonnees",
            "/coordonnees",
            "erpps-action-contact",
            "erpps-action-contact-hint",
        ),
        a(
            "nom-exercice",
            "/nom-exercice",
            "erpps-action-name",
            "erpps-action-name-hint",
        ),
    ];
    let page = HomePage {
        layout: layout(&ctx, &st, &ctx.t("erpps-home-title")),
        hello: ctx
            .tr
            .t_with("erpps-home-hello", &[("name", user.name.clone().into())]),
        actions,
        more,
        logout_action: format!("{BASE}/logout"),
    };
    html(
        StatusCode::OK,
        crate::local::pages::render(&page),
        vec![csp_with_provider(&st)],
    )
}

// ---------------------------------------------------------------------------------------
// The first login: coordinates to check.

#[derive(Template)]
#[template(path = "erpps/contact_check.html")]
struct ContactCheckPage {
    layout: Layout,
    email: String,
    mobile: String,
    address: String,
    missing: bool,
    csrf: String,
    action: String,
    confirm: Button,
    change: Link,
    alert: Option<Alert>,
}

async fn contact_check_page(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    render_contact_check(&st, &headers, None).await
}

async fn render_contact_check(
    st: &PortalState,
    headers: &HeaderMap,
    alert: Option<Alert>,
) -> Response {
    let visit = Visit::new(st, headers, format!("{BASE}/coordonnees-a-verifier"));
    let user = match session::require(st, headers).await {
        Ok(Ok(u)) => u,
        Ok(Err(r)) => return r,
        Err(e) => return st.fail(headers, &e, request_id(headers).as_deref()),
    };
    let contact = match session::registry_contact(st, &user.idnat).await {
        Ok(c) => c,
        Err(e) => return st.fail(headers, &e, request_id(headers).as_deref()),
    };
    let ctx = &visit.ctx;
    let missing =
        contact.email.is_empty() && contact.mobile.is_empty() && contact.address.is_empty();
    let page = ContactCheckPage {
        layout: layout(ctx, st, &ctx.t("erpps-check-title")),
        email: contact.email,
        mobile: contact.mobile,
        address: contact.address,
        missing,
        csrf: visit.csrf(st),
        action: format!("{BASE}/coordonnees-a-verifier"),
        confirm: Button::new(ctx.t("erpps-check-confirm"), ButtonKind::Primary).id("confirmer"),
        change: Link::new(format!("{BASE}/coordonnees"), ctx.t("erpps-check-change"))
            .button(ButtonKind::Secondary)
            .id("modifier"),
        alert,
    };
    visit.page(st, StatusCode::OK, crate::local::pages::render(&page))
}

async fn contact_check_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, format!("{BASE}/coordonnees-a-verifier"));
    if !visit.csrf_ok(&st, &form) {
        return forms::csrf_refused(&st, &headers, &visit);
    }
    let user = match session::require(&st, &headers).await {
        Ok(Ok(u)) => u,
        Ok(Err(r)) => return r,
        Err(e) => return st.fail(&headers, &e, request_id(&headers).as_deref()),
    };
    if let Err(e) = session::mark_contact_checked(&st, &user.idnat, "confirmed").await {
        return st.fail(&headers, &e, request_id(&headers).as_deref());
    }
    visit.redirect(&st, BASE, Vec::new())
}

/// Audits an eRPPS action of the professional (ids only, never typed texts).
pub(crate) async fn audit_action(
    st: &PortalState,
    idnat: &str,
    action: &str,
    details: serde_json::Value,
) {
    let actor = format!("ps:{idnat}");
    let event = AuditEvent {
        actor: &actor,
        action,
        subject: Some(idnat),
        details,
        request_id: None,
    };
    if let Err(e) = audit::record(st.portals.store().pool(), st.portals.now(), &event).await {
        tracing::error!(error = %e, action, "eRPPS : journal d'audit");
    }
}

/// A failure of the registry as a portal failure.
pub(crate) fn registry_failure(e: caducee_registry::requests::RequestError) -> PortalError {
    PortalError::Internal(e.to_string())
}
