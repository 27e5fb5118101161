//! The onboarding steps of a portal (DESIGN.md "Portals"; issue 12), evaluated at every
//! login before the home page: each configured step that this professional has not
//! satisfied is shown, in the configuration's order, at `{base}/accueil`.
//!
//! - `contact-email` (ONB-03): an e-mail for the portal's messages, not in a forbidden
//!   domain (ROR: no MSSanté address), confirmed by a code sent to it; it is also where
//!   "Mot de passe oublié ?" sends the link that creates a password (ONB-02).
//! - `terms` (ONB-04): the version in force, read to the end before "Accepter" (the button
//!   is enabled by `assets/terms.js` once the text was scrolled through; the server accepts
//!   only the POST of that page's form, naming the version it showed).
//! - `confirm-registry` (ONB-05): the registry's data validated, or an anomaly reported to
//!   the registry (REG-09), in `onboarding_registry.rs`.
//!
//! What a portal knows of a professional lives in `portal_member`, keyed by idNat: the same
//! for a Pro Santé Connect login and a local one.

use super::code_sender::{self, refusal};
use super::coordinates::Channel;
use super::pages::{self, Block};
use super::{failure, flow_param, session, Form, Visit};
use crate::config::OnboardingStep;
use crate::flows::{self, NewFlow};
use crate::one_time::{self, CodeCheck};
use crate::state::{Cookie, PortalState};
use crate::terms::{self, Terms};
use crate::{LoginMeans, PortalError};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use caducee_pages::{Alert, AlertKind, Arg, Button, ButtonKind, Field, TermsBox, TermsPart};
use serde::{Deserialize, Serialize};
use sqlx::Row;

const FLOW_KIND: &str = "onboarding";
const FLOW_TTL_SECS: i64 = 1200;

/// The first step this professional must go through, if any.
pub(crate) enum Due {
    ContactEmail,
    Terms(Terms),
    /// ACC-10 (coordinates.rs).
    VerifyEmail,
    /// ACC-09 step 4, ACC-10 (coordinates.rs).
    VerifyPhone,
    /// ACC-09 step 5 (structure.rs).
    Structure,
    /// ONB-05 (onboarding_registry.rs).
    ConfirmRegistry,
}

/// Who accepts terms on this portal: the professional, whatever the login means.
pub(crate) fn member_key(idnat: &str) -> String {
    format!("ps:{idnat}")
}

/// The verified contact e-mail of `idnat` on `portal`.
pub(crate) async fn contact_email(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    idnat: &str,
) -> Result<Option<String>, PortalError> {
    let row = sqlx::query(
        "SELECT contact_email FROM portal_member
         WHERE portal = $1 AND idnat = $2 AND contact_verified_at IS NOT NULL",
    )
    .bind(portal)
    .bind(idnat)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => None,
    })
}

/// The professional whose verified contact e-mail on `portal` is `email` (without case),
/// and that address as they gave it (ONB-02: where "Mot de passe oublié ?" creates the first
/// password).
pub(crate) async fn member_by_contact(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    email: &str,
) -> Result<Option<(String, String)>, PortalError> {
    let row = sqlx::query(
        "SELECT idnat, contact_email FROM portal_member
         WHERE portal = $1 AND contact_email_folded = $2 AND contact_verified_at IS NOT NULL",
    )
    .bind(portal)
    .bind(email.trim().to_lowercase())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

async fn set_contact(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    idnat: &str,
    email: &str,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query(
        "INSERT INTO portal_member (portal, idnat, contact_email, contact_email_folded,
            contact_verified_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5, $5)
         ON CONFLICT (portal, idnat) DO UPDATE SET contact_email = $3,
            contact_email_folded = $4, contact_verified_at = $5, updated_at = $5",
    )
    .bind(portal)
    .bind(idnat)
    .bind(email.trim())
    .bind(email.trim().to_lowercase())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The first configured step `idnat` has not satisfied on this portal.
pub(crate) async fn due(st: &PortalState, idnat: &str) -> Result<Option<Due>, PortalError> {
    for step in &st.portal.onboarding {
        match step {
            OnboardingStep::ContactEmail => {
                let mut conn = st.portals.store().pool().acquire().await?;
                if contact_email(&mut conn, &st.portal.slug, idnat)
                    .await?
                    .is_none()
                {
                    return Ok(Some(Due::ContactEmail));
                }
            }
            OnboardingStep::Terms => {
                let must =
                    terms::must_accept(st.portals.store(), &st.portal.slug, &member_key(idnat))
                        .await?;
                if let Some(t) = must {
                    return Ok(Some(Due::Terms(t)));
                }
            }
            OnboardingStep::VerifyEmail => {
                if super::coordinates::due(st, idnat, Channel::Email).await? {
                    return Ok(Some(Due::VerifyEmail));
                }
            }
            OnboardingStep::VerifyPhone => {
                if super::coordinates::due(st, idnat, Channel::Phone).await? {
                    return Ok(Some(Due::VerifyPhone));
                }
            }
            OnboardingStep::StructureDetails => {
                if super::structure::due(st, idnat).await? {
                    return Ok(Some(Due::Structure));
                }
            }
            OnboardingStep::ConfirmRegistry => {
                if super::onboarding_registry::due(st, idnat).await? {
                    return Ok(Some(Due::ConfirmRegistry));
                }
            }
        }
    }
    Ok(None)
}

/// The idNat of the professional logged in on this portal (a local session, or a Pro Santé
/// Connect one).
pub(crate) async fn logged_in(
    st: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<String>, PortalError> {
    let now = st.portals.now();
    if let Some(secret) = st.cookie(headers, &Cookie::Local) {
        let mut conn = st.portals.store().pool().acquire().await?;
        if let Some(s) = session::find(&mut conn, &st.portal.slug, &secret, now).await? {
            return Ok(Some(s.account.idnat));
        }
    }
    if st.portal.offers(LoginMeans::Psc) {
        if let Some(secret) = st.cookie(headers, &Cookie::Session) {
            if let Some(s) = crate::sessions::find_session(&st.portals, &st.portal, &secret).await?
            {
                return Ok(s.idnat);
            }
        }
    }
    Ok(None)
}

/// The e-mail waiting for its code.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingContact {
    idnat: String,
    email: String,
}

fn path(st: &PortalState) -> String {
    format!("{}/accueil", st.base())
}

pub(crate) async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, path(&st));
    let result = async {
        let Some(idnat) = logged_in(&st, &headers).await? else {
            return Ok(visit.redirect(&st, &st.base(), Vec::new()));
        };
        if let Some(id) = flow_param(query.as_deref()) {
            if let Some(r) = super::coordinates::page_for_flow(&st, &visit, &id, &idnat).await? {
                return Ok(r);
            }
            if let Some(flow) = load(&st, &visit, &id, &idnat).await? {
                return Ok(render_code(
                    &st,
                    &visit,
                    &flow.id,
                    &flow.data.email,
                    None,
                    None,
                ));
            }
        }
        Ok(match due(&st, &idnat).await? {
            None => visit.redirect(&st, &st.base(), Vec::new()),
            Some(Due::ContactEmail) => render_contact(&st, &visit, "", None, None, StatusCode::OK),
            Some(Due::Terms(t)) => render_terms(&st, &visit, &t, None),
            Some(Due::VerifyEmail) => {
                super::coordinates::entry(&st, &visit, &idnat, Channel::Email).await?
            }
            Some(Due::VerifyPhone) => {
                super::coordinates::entry(&st, &visit, &idnat, Channel::Phone).await?
            }
            Some(Due::Structure) => super::structure::render(&st, &visit, &idnat).await?,
            Some(Due::ConfirmRegistry) => {
                let sent = super::onboarding_registry::just_sent(query.as_deref());
                super::onboarding_registry::render(&st, &visit, &idnat, sent).await?
            }
        })
    }
    .await;
    result.unwrap_or_else(|e| failure(&st, &headers, &e))
}

pub(crate) async fn submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, path(&st));
    let result = async {
        let Some(idnat) = logged_in(&st, &headers).await? else {
            return Ok(visit.redirect(&st, &st.base(), Vec::new()));
        };
        if !visit.csrf_ok(&st, &form) {
            return Ok(visit.redirect(&st, &path(&st), Vec::new()));
        }
        match form.get("etape") {
            "contact" => contact_submit(&st, &visit, &idnat, &form).await,
            "code" => code_submit(&st, &visit, &idnat, &form).await,
            "cgu" => terms_submit(&st, &visit, &idnat, &form).await,
            "coordonnee-email" | "coordonnee-portable" | "coordonnee-code" => {
                super::coordinates::submit(&st, &visit, &idnat, &form).await
            }
            "structure" => super::structure::submit(&st, &visit, &idnat, &form).await,
            "registre" | "anomalie" => {
                super::onboarding_registry::submit(&st, &visit, &idnat, &form).await
            }
            _ => Ok(visit.redirect(&st, &path(&st), Vec::new())),
        }
    }
    .await;
    result.unwrap_or_else(|e| failure(&st, &headers, &e))
}

// ---------------------------------------------------------------------------------------
// The contact e-mail (ONB-03).
// ---------------------------------------------------------------------------------------

fn render_contact(
    st: &PortalState,
    visit: &Visit,
    email: &str,
    error: Option<String>,
    alert: Option<Alert>,
    status: StatusCode,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("onboarding-contact-title");
    let mut page = visit
        .form_page(st, title, path(st))
        .hidden("etape", "contact");
    page.alerts.extend(alert);
    page.intro.push(tr.t("onboarding-contact-intro"));
    if !st.portal.forbidden_email_domains.is_empty() {
        page.intro.push(tr.t_with(
            "onboarding-contact-forbidden-domains",
            &[(
                "domains",
                Arg::from(st.portal.forbidden_email_domains.join(", ").as_str()),
            )],
        ));
    }
    page.blocks = vec![Block::Field(
        Field::new("email", tr.t("onboarding-contact-email"))
            .kind("email")
            .autocomplete("email")
            .value(email)
            .required()
            .error(error),
    )];
    page.buttons =
        vec![Button::new(tr.t("onboarding-contact-send"), ButtonKind::Primary).id("envoyer-code")];
    let page = page.summarize();
    visit.page(st, status, pages::render(&page))
}

async fn contact_submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let email = form.trimmed("email");
    let error = match super::check_email(email) {
        Err(key) => Some(tr.t(key)),
        Ok(()) if st.portal.forbids_email(email) => Some(tr.t("onboarding-contact-forbidden")),
        Ok(()) => None,
    };
    if let Some(e) = error {
        return Ok(render_contact(
            st,
            visit,
            email,
            Some(e),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let now = st.portals.now();
    let mut tx = st.portals.store().begin().await?;
    let flow = flows::create(
        &mut tx,
        &NewFlow {
            portal: &st.portal.slug,
            kind: FLOW_KIND,
            step: "code",
            browser_secret: &visit.browser,
            data: &PendingContact {
                idnat: idnat.to_string(),
                email: email.to_string(),
            },
            ttl_secs: FLOW_TTL_SECS,
        },
        now,
    )
    .await?;
    let sent = send_code(st, &mut tx, &flow.id, idnat, email, visit).await?;
    tx.commit().await?;
    if let Err(refused) = sent {
        let alert = Some(refusal(tr, refused));
        return Ok(render_contact(
            st,
            visit,
            email,
            None,
            alert,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    Ok(visit.redirect(st, &format!("{}?flow={}", path(st), flow.id), Vec::new()))
}

async fn send_code(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    flow_id: &str,
    idnat: &str,
    email: &str,
    visit: &Visit,
) -> Result<Result<(), one_time::SendRefused>, PortalError> {
    code_sender::send_email_verification(
        st,
        tx,
        flow_id,
        FLOW_KIND,
        idnat,
        email,
        visit.ctx.locale(),
    )
    .await
}

async fn load(
    st: &PortalState,
    visit: &Visit,
    id: &str,
    idnat: &str,
) -> Result<Option<flows::Flow<PendingContact>>, PortalError> {
    let flow = visit.flow::<PendingContact>(st, FLOW_KIND, id).await?;
    Ok(flow.filter(|f| f.data.idnat == idnat))
}

fn render_code(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    to: &str,
    error: Option<String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("account-code-title");
    let mut page = visit
        .form_page(st, title, path(st))
        .hidden("etape", "code")
        .hidden("flow", flow_id);
    let failed = error.is_some();
    page.alerts.extend(alert);
    code_sender::code_step(tr, &mut page, &caducee_core::mask::mask_email(to), error);
    page.buttons.push(
        Button::new(tr.t("onboarding-contact-change"), ButtonKind::Tertiary)
            .id("modifier")
            .action("action", "modifier"),
    );
    let page = page.summarize();
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    visit.page(st, status, pages::render(&page))
}

async fn code_submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let id = flow_param(Some(&format!("flow={}", form.get("flow")))).unwrap_or_default();
    let Some(flow) = load(st, visit, &id, idnat).await? else {
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    let now = st.portals.now();
    match form.get("action") {
        "modifier" => {
            let mut conn = st.portals.store().pool().acquire().await?;
            flows::delete(&mut conn, &flow.id).await?;
            return Ok(render_contact(
                st,
                visit,
                &flow.data.email,
                None,
                None,
                StatusCode::OK,
            ));
        }
        "renvoyer" => {
            let mut tx = st.portals.store().begin().await?;
            let sent = send_code(st, &mut tx, &flow.id, idnat, &flow.data.email, visit).await?;
            tx.commit().await?;
            let alert = match sent {
                Ok(()) => {
                    Alert::new(AlertKind::Info, tr.t("account-code-resent")).id("code-renvoye")
                }
                Err(r) => refusal(tr, r),
            };
            return Ok(render_code(
                st,
                visit,
                &flow.id,
                &flow.data.email,
                None,
                Some(alert),
            ));
        }
        _ => {}
    }
    let typed = match code_sender::typed_code(form) {
        Ok(t) => t,
        Err(key) => {
            let e = Some(tr.t(key));
            return Ok(render_code(st, visit, &flow.id, &flow.data.email, e, None));
        }
    };
    let mut tx = st.portals.store().begin().await?;
    let check = one_time::check_code(
        &mut tx,
        st.portals.one_time(),
        st.portals.code_policy(),
        &flow.id,
        &typed,
        now,
    )
    .await?;
    let error = match check {
        CodeCheck::Dead => {
            flows::delete(&mut tx, &flow.id).await?;
            tx.commit().await?;
            return Ok(render_contact(
                st,
                visit,
                &flow.data.email,
                Some(tr.t("onboarding-contact-code-dead")),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        other => code_sender::check_error(tr, other),
    };
    if let Some(e) = error {
        tx.commit().await?;
        return Ok(render_code(
            st,
            visit,
            &flow.id,
            &flow.data.email,
            Some(e),
            None,
        ));
    }
    set_contact(&mut tx, &st.portal.slug, idnat, &flow.data.email, now).await?;
    caducee_store::audit::record(
        &mut *tx,
        now,
        &caducee_store::audit::AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "portals.contact.verified",
            subject: Some(idnat),
            details: serde_json::json!({
                "portal": st.portal.slug,
                "email": caducee_core::mask::mask_email(&flow.data.email),
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    flows::delete(&mut tx, &flow.id).await?;
    tx.commit().await?;
    Ok(visit.redirect(st, &path(st), Vec::new()))
}

// ---------------------------------------------------------------------------------------
// The terms (ONB-04).
// ---------------------------------------------------------------------------------------

fn render_terms(st: &PortalState, visit: &Visit, t: &Terms, alert: Option<Alert>) -> Response {
    let tr = visit.tr();
    let title = tr.t("onboarding-terms-title");
    let mut page = visit
        .form_page(st, title, path(st))
        .hidden("etape", "cgu")
        .hidden("version", t.version.clone());
    page.alerts.extend(alert);
    page.intro.push(tr.t("onboarding-terms-intro"));
    let paragraphs: Vec<String> = t
        .body
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let mut terms_box = TermsBox::new(
        "accepte",
        vec![TermsPart::Text(tr.t_with(
            "onboarding-terms-accept",
            &[("version", Arg::from(t.version.as_str()))],
        ))],
        false,
    )
    .with_text(tr.t("onboarding-terms-title"), paragraphs)
    .read_to_the_end(tr);
    terms_box.field = terms_box.field.id("accepte");
    page.blocks = vec![Block::Terms(terms_box)];
    page.buttons = vec![
        Button::new(tr.t("onboarding-terms-accept-button"), ButtonKind::Primary).id("accepter"),
    ];
    page.layout = page.layout.with_script(caducee_pages::terms_script_href());
    visit.page(st, StatusCode::OK, pages::render(&page))
}

async fn terms_submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let Some(current) = terms::current(st.portals.store(), &st.portal.slug).await? else {
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    // Only the version the page showed, and only ticked.
    if form.get("version") != current.version || !form.checked("accepte") {
        let alert = Alert::new(AlertKind::Error, tr.t("onboarding-terms-not-accepted"));
        return Ok(render_terms(st, visit, &current, Some(alert)));
    }
    terms::accept(
        st.portals.store(),
        &st.portal.slug,
        &current.version,
        &member_key(idnat),
        st.portals.now(),
    )
    .await?;
    Ok(visit.redirect(st, &path(st), Vec::new()))
}
