//! The registration wizard of a portal whose accounts come from a form (`accounts =
//! "registration-form"`; RPLUS, seed `rplus-sante-activation-portail.txt`; ACC-08, ACC-09).
//!
//! It starts from a **legacy login**: the identifier and password of the old system,
//! imported with `caducee portal import-accounts` (legacy.rs); the first success replaces
//! the old hash by argon2id. "Bienvenue sur votre Portail …" (`{base}/bienvenue`), then
//! three steps at `{base}/inscription`:
//!
//! 1. `details.rs` — personal details (civility, names, type of health professional, RPPS
//!    checked against the registry, login e-mail, mobile with its country code, terms);
//! 2. `email_code.rs` — the code sent to that e-mail ("Demander un nouveau code");
//! 3. `password.rs` — the password, the portal's rules ticked live; the account is made,
//!    the legacy identifier ends, a session opens.
//!
//! The mobile's verification and the structure's details follow as onboarding steps of the
//! portal (`coordinates.rs`, `structure.rs`), evaluated at every login like any other.
//!
//! What is typed lives in `portal_registration`, keyed by the legacy identifier, not in the
//! browser's flow: leaving halfway and logging in again (on any node, after a restart)
//! resumes at the step left. The browser's flow (`?flow=`, bound to its cookie) only says
//! which registration this browser is filling in.

mod details;
mod email_code;
mod password;

pub(crate) use details::{dial_choices, mobile_e164, DIALS};

use super::pages::{self, FormPage, MessagePage};
use super::{failure, flow_param, Form, Visit};
use crate::flows::{self, NewFlow};
use crate::legacy::LegacyLogin;
use crate::state::PortalState;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use caducee_pages::{Alert, AlertKind, Arg, ButtonKind, Link, Steps, Tr};
use serde::{Deserialize, Serialize};

const FLOW_KIND: &str = "registration";
/// A browser's hold on a registration; the registration itself stays until finished.
const FLOW_TTL_SECS: i64 = 2 * 3600;
/// The wizard's five steps: three here, the mobile and the structure as onboarding steps.
pub(crate) const WIZARD_STEPS: u32 = 5;

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Details,
    EmailCode,
    Password,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Details => "coordonnees",
            Step::EmailCode => "code-email",
            Step::Password => "mot-de-passe",
        }
    }

    fn parse(s: &str) -> Step {
        match s {
            "code-email" => Step::EmailCode,
            "mot-de-passe" => Step::Password,
            _ => Step::Details,
        }
    }
}

/// The personal details as typed (step 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Details {
    pub civility: String,
    pub last_name: String,
    pub first_name: String,
    /// TRE_G15 code.
    pub profession: String,
    pub rpps: String,
    pub email: String,
    /// `+33`, `+262`…
    pub dial: String,
    pub mobile: String,
    pub terms: bool,
}

/// What a registration holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Data {
    details: Details,
    /// Once the details matched the registry.
    #[serde(default)]
    idnat: Option<String>,
    /// The mobile in E.164, once checked.
    #[serde(default)]
    mobile_e164: Option<String>,
}

/// A registration under way.
struct Registration {
    identifier_folded: String,
    step: Step,
    data: Data,
}

/// What the browser's flow holds: which registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Hold {
    identifier_folded: String,
}

async fn load(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    identifier_folded: &str,
) -> Result<Option<Registration>, PortalError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT step, data FROM portal_registration WHERE portal = $1 AND identifier_folded = $2",
    )
    .bind(portal)
    .bind(identifier_folded)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((step, data)) = row else {
        return Ok(None);
    };
    Ok(Some(Registration {
        identifier_folded: identifier_folded.to_string(),
        step: Step::parse(&step),
        // A row this build cannot read starts again from the details, never a failure.
        data: serde_json::from_str(&data).unwrap_or_default(),
    }))
}

async fn save(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    reg: &Registration,
    now: i64,
) -> Result<(), PortalError> {
    let data =
        serde_json::to_string(&reg.data).map_err(|e| PortalError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO portal_registration (portal, identifier_folded, step, data, created_at,
            updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (portal, identifier_folded) DO UPDATE SET step = $3, data = $4,
            updated_at = $5",
    )
    .bind(portal)
    .bind(&reg.identifier_folded)
    .bind(reg.step.as_str())
    .bind(data)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn forget(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    identifier_folded: &str,
) -> Result<(), PortalError> {
    sqlx::query("DELETE FROM portal_registration WHERE portal = $1 AND identifier_folded = $2")
        .bind(portal)
        .bind(identifier_folded)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A registration untouched this long is forgotten (what was typed is personal data; the
/// legacy login starts a new one).
pub(crate) const ABANDONED_AFTER_SECS: i64 = 30 * 24 * 3600;

/// Forgets the registrations abandoned for [`ABANDONED_AFTER_SECS`].
pub(crate) async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    Ok(
        sqlx::query("DELETE FROM portal_registration WHERE updated_at < $1")
            .bind(now - ABANDONED_AFTER_SECS)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// After a legacy login: the registration of this identifier (made now, the old system's
/// e-mail suggested, or resumed), held by a new flow of this browser. A registration left
/// at its e-mail code gets a fresh code for this flow (the previous one was bound to the
/// previous flow).
pub(crate) async fn start(
    st: &PortalState,
    visit: &Visit,
    legacy: &LegacyLogin,
) -> Result<Response, PortalError> {
    let now = st.portals.now();
    let portal = &st.portal.slug;
    let mut tx = st.portals.store().begin().await?;
    let (reg, fresh) = match load(&mut tx, portal, &legacy.identifier_folded).await? {
        Some(r) => (r, false),
        None => {
            let reg = Registration {
                identifier_folded: legacy.identifier_folded.clone(),
                step: Step::Details,
                data: Data {
                    details: Details {
                        email: legacy.email.clone(),
                        dial: "+33".into(),
                        ..Details::default()
                    },
                    ..Data::default()
                },
            };
            save(&mut tx, portal, &reg, now).await?;
            (reg, true)
        }
    };
    let flow = flows::create(
        &mut tx,
        &NewFlow {
            portal,
            kind: FLOW_KIND,
            step: "wizard",
            browser_secret: &visit.browser,
            data: &Hold {
                identifier_folded: reg.identifier_folded.clone(),
            },
            ttl_secs: FLOW_TTL_SECS,
        },
        now,
    )
    .await?;
    if reg.step == Step::EmailCode {
        // A refusal (too many codes) shows on the step, where "Demander un nouveau code" is.
        let _ = email_code::send(st, &mut tx, &flow.id, &reg, visit).await?;
    }
    tx.commit().await?;
    let page = if fresh { "bienvenue" } else { "inscription" };
    Ok(visit.redirect(
        st,
        &format!("{}/{page}?flow={}", st.base(), flow.id),
        Vec::new(),
    ))
}

/// The registration this browser's `?flow=` holds.
async fn held(
    st: &PortalState,
    visit: &Visit,
    flow_id: Option<String>,
) -> Result<Option<(String, Registration)>, PortalError> {
    let Some(id) = flow_id else { return Ok(None) };
    let Some(flow) = visit.flow::<Hold>(st, FLOW_KIND, &id).await? else {
        return Ok(None);
    };
    let mut conn = st.portals.store().pool().acquire().await?;
    let reg = load(&mut conn, &st.portal.slug, &flow.data.identifier_folded).await?;
    Ok(reg.map(|r| (flow.id, r)))
}

/// The idNat a registration held by this browser's flow `flow_id` has matched, if any
/// (the live password meter weighs the password against that professional's data).
pub(crate) async fn idnat_of_flow(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
) -> Result<Option<String>, PortalError> {
    Ok(held(st, visit, Some(flow_id.to_string()))
        .await?
        .and_then(|(_, reg)| reg.data.idnat))
}

fn path(st: &PortalState) -> String {
    format!("{}/inscription", st.base())
}

/// A flow that ended (or another browser's): back to the login, which resumes.
fn lost(st: &PortalState, visit: &Visit) -> Response {
    visit.redirect(st, &format!("{}?inscription=1", st.base()), Vec::new())
}

/// `GET {base}/bienvenue?flow=`: "INFORMATION — Bienvenue sur votre Portail …".
pub(crate) async fn welcome(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let flow = flow_param(query.as_deref());
    let visit = Visit::new(&st, &headers, format!("{}/bienvenue", st.base()));
    match held(&st, &visit, flow).await {
        Ok(Some((flow_id, _))) => {
            let tr = visit.tr();
            let name = Arg::from(st.portal.name.as_str());
            let page = MessagePage {
                layout: pages::layout(&visit.ctx, &st.portal, &tr.t("registration-welcome-title")),
                heading: tr.t("registration-welcome-title"),
                alert: Alert::new(AlertKind::Info, tr.t("registration-welcome-text"))
                    .title(tr.t_with("registration-welcome-hello", &[("portal", name)])),
                links: vec![
                    Link::new(
                        format!("{}?flow={flow_id}", path(&st)),
                        tr.t("registration-welcome-start"),
                    )
                    .button(ButtonKind::Primary)
                    .id("configurer"),
                    Link::new(st.base(), tr.t("registration-back")).id("retour"),
                ],
            };
            visit.page(&st, StatusCode::OK, pages::render(&page))
        }
        Ok(None) => lost(&st, &visit),
        Err(e) => failure(&st, &headers, &e),
    }
}

/// `GET {base}/inscription?flow=`: the step the registration is at.
pub(crate) async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let flow = flow_param(query.as_deref());
    let visit = Visit::new(&st, &headers, path(&st));
    let result = async {
        let Some((flow_id, reg)) = held(&st, &visit, flow).await? else {
            return Ok(lost(&st, &visit));
        };
        Ok(match reg.step {
            Step::Details => details::render(
                &st,
                &visit,
                &flow_id,
                &reg.data.details,
                &Default::default(),
                None,
            ),
            Step::EmailCode => email_code::render(&st, &visit, &flow_id, &reg, None, None),
            Step::Password => password::render(&st, &visit, &flow_id, &Default::default(), None),
        })
    }
    .await;
    result.unwrap_or_else(|e| failure(&st, &headers, &e))
}

/// `POST {base}/inscription`: the step's form.
pub(crate) async fn submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<axum::Extension<caducee_core::source::ClientSource>>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, path(&st));
    let source = source.map_or_else(caducee_core::source::ClientSource::unknown, |s| s.0);
    let result = async {
        let flow = flow_param(Some(&format!("flow={}", form.get("flow"))));
        let Some((flow_id, reg)) = held(&st, &visit, flow).await? else {
            return Ok(lost(&st, &visit));
        };
        if !visit.csrf_ok(&st, &form) {
            return Ok(visit.redirect(&st, &format!("{}?flow={flow_id}", path(&st)), Vec::new()));
        }
        match reg.step {
            Step::Details => details::submit(&st, &visit, &flow_id, reg, &form, &source).await,
            Step::EmailCode => email_code::submit(&st, &visit, &flow_id, reg, &form).await,
            Step::Password => password::submit(&st, &visit, &flow_id, reg, &form).await,
        }
    }
    .await;
    result.unwrap_or_else(|e| failure(&st, &headers, &e))
}

/// A page of the wizard: its form, its place among the five steps.
fn wizard_page(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    heading: String,
    steps: Steps,
) -> FormPage {
    let mut page = visit
        .form_page(st, heading, path(st))
        .hidden("flow", flow_id);
    page.steps = Some(steps);
    page
}

/// "Étape n sur 5": the wizard's titles, in order (the last two are onboarding steps).
pub(crate) fn wizard_steps(tr: &Tr, current: u32) -> Steps {
    const TITLES: [&str; 5] = [
        "registration-step-details",
        "registration-step-email",
        "registration-step-password",
        "registration-step-phone",
        "registration-step-structure",
    ];
    let at = |i: u32| tr.t(TITLES[(i.clamp(1, WIZARD_STEPS) - 1) as usize]);
    let steps = Steps::new(tr, current, WIZARD_STEPS, at(current));
    if current < WIZARD_STEPS {
        steps.next(tr, &at(current + 1))
    } else {
        steps
    }
}

/// Back to the details (kept as typed), then their page: "Retour", or a registration whose
/// details no longer hold.
async fn back_to_details(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    mut reg: Registration,
) -> Result<Response, PortalError> {
    reg.step = Step::Details;
    let mut conn = st.portals.store().pool().acquire().await?;
    save(&mut conn, &st.portal.slug, &reg, st.portals.now()).await?;
    Ok(to_step(st, visit, flow_id))
}

/// A redirect to the wizard's page of this flow.
fn to_step(st: &PortalState, visit: &Visit, flow_id: &str) -> Response {
    visit.redirect(st, &format!("{}?flow={flow_id}", path(st)), Vec::new())
}
