//! Creation (ACC-01..04) and recovery (forgotten login e-mail, ACC-05) of a local account:
//! one journey of four steps, the two differing only in words, in the rule after the
//! identity check, and in what the last step does.
//!
//! 1. `identity`: birth date + RPPS + terms (identity.rs). Creation: no match → blocking
//!    message; an account already → blocking message linking to password recovery; else on.
//!    Recovery: no match → the same message; no account → a message linking to creation;
//!    else on.
//! 2. `choose`: the registry's coordinates, masked; one is chosen and a code sent there.
//! 3. `code`: Valider / Renvoyer le code / Retour.
//! 4. `finalise`: creation by SMS → a login e-mail and a password; by e-mail → that e-mail
//!    is the login, shown, and a password; recovery → a new e-mail twice and a password
//!    twice, an e-mail already used by an account refused (ACC-05).
//!
//! The flow lives 10 minutes from its start (ACC-02: what was typed and not validated is
//! gone then); a valid code gives it 10 more minutes for the last step. Nothing secret is
//! in the flow: the coordinates are re-read from the registry when a code is sent, codes
//! live hashed in their own table, passwords are hashed before they reach the database.

mod choose;
mod code;
mod finalise;
mod identity_step;

use super::code_sender::{self, minutes, refusal, CodeSend, Destination};
use super::identity::{self, Check, Person, Typed};
use super::pages::{self, Block, FormPage, MessagePage};
use super::{failure, flow_param, Form, Visit};
use crate::accounts::{self, Conflict, NewAccount};
use crate::flows::{self, Flow, NewFlow};
use crate::one_time::{self, CodeCheck, SendRefused};
use crate::state::PortalState;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_core::source::ClientSource;
use caducee_notify::templates::Template as Message;
use caducee_notify::{self as outbox, OutgoingMessage};
use caducee_pages::{
    Alert, AlertKind, Arg, Button, ButtonKind, Choice, Field, Link, PasswordInput, RadioGroup,
    Steps, TermsBox, TermsPart, Tr,
};
use caducee_store::audit::{self, AuditEvent};
use choose::{choose, render_choose};
use code::{code, render_code};
use finalise::{finalise, render_finalise};
use identity_step::{identity_step, render_identity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// ACC-02: a journey's typed data live 10 minutes; each validated step gives it 10 more.
pub(crate) const JOURNEY_TTL_SECS: i64 = 600;
/// Once a code is sent: its 10 minutes, then 10 more to ask for another one.
const CODE_STEP_TTL_SECS: i64 = 1200;

const IDENTITY: &str = "identity";
const CHOOSE: &str = "choose";
const CODE: &str = "code";
const FINALISE: &str = "finalise";

/// Which journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Creation,
    Recovery,
}

impl Kind {
    fn flow_kind(self) -> &'static str {
        match self {
            Kind::Creation => "creation",
            Kind::Recovery => "recovery",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Creation => "creer",
            Kind::Recovery => "recuperer",
        }
    }

    /// The words that differ between the two journeys (catalogue keys).
    fn key(self, what: &str) -> &'static str {
        match (self, what) {
            (Kind::Creation, "title") => "account-creation-title",
            (Kind::Recovery, "title") => "account-recovery-title",
            (Kind::Creation, "secure-title") => "account-creation-secure-title",
            (Kind::Recovery, "secure-title") => "account-recovery-secure-title",
            (Kind::Creation, "secure-intro") => "account-creation-secure-intro",
            (Kind::Recovery, "secure-intro") => "account-recovery-secure-intro",
            (Kind::Creation, "finalise-title") => "account-creation-finalise-title",
            (Kind::Recovery, "finalise-title") => "account-recovery-finalise-title",
            (Kind::Creation, "finalise-intro") => "account-creation-finalise-intro",
            (Kind::Recovery, "finalise-intro") => "account-recovery-finalise-intro",
            (Kind::Creation, _) => "account-creation-step-finalise",
            (Kind::Recovery, _) => "account-recovery-step-finalise",
        }
    }
}

/// A coordinate the registry knows, as shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Coordinate {
    /// `sms` or `email`.
    channel: String,
    masked: String,
}

/// What the flow holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Data {
    typed: Typed,
    /// Once the identity matched: the 11 digits.
    #[serde(default)]
    rpps: Option<String>,
    #[serde(default)]
    idnat: Option<String>,
    #[serde(default)]
    coordinates: Vec<Coordinate>,
    #[serde(default)]
    channel: Option<String>,
    /// The login e-mail: typed at the last step (kept when the form is sent back), or the
    /// registry's e-mail the code was sent to (creation by e-mail: the login, shown).
    #[serde(default)]
    email: String,
    /// Its confirmation as typed (recovery), kept the same way.
    #[serde(default)]
    email_confirmation: String,
}

impl Data {
    fn chosen(&self) -> Option<&Coordinate> {
        let channel = self.channel.as_deref()?;
        self.coordinates.iter().find(|c| c.channel == channel)
    }
}

// ---------------------------------------------------------------------------------------
// Handlers.
// ---------------------------------------------------------------------------------------

pub(crate) async fn creation_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    page(Kind::Creation, &st, &headers, q.as_deref()).await
}

pub(crate) async fn recovery_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    page(Kind::Recovery, &st, &headers, q.as_deref()).await
}

pub(crate) async fn creation_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    submit(Kind::Creation, &st, &headers, source, &body).await
}

pub(crate) async fn recovery_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    submit(Kind::Recovery, &st, &headers, source, &body).await
}

/// The end of a creation: "Votre espace personnel a été créé et activé…".
pub(crate) async fn creation_done(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let visit = Visit::new(&st, &headers, format!("{}/creer/termine", st.base()));
    let tr = visit.tr();
    let page = MessagePage {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-creation-done-title")),
        heading: tr.t("account-creation-done-title"),
        alert: Alert::new(AlertKind::Success, tr.t("account-creation-done")),
        links: vec![Link::new(st.base(), tr.t("account-back-to-login")).id("retour-connexion")],
    };
    visit.page(&st, StatusCode::OK, pages::render(&page))
}

/// The end of a recovery.
async fn recovery_done(st: &PortalState, visit: &Visit) -> Response {
    let tr = visit.tr();
    let page = MessagePage {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-recovery-done-title")),
        heading: tr.t("account-recovery-done-title"),
        alert: Alert::new(AlertKind::Success, tr.t("account-recovery-done")),
        links: vec![Link::new(st.base(), tr.t("account-back-to-login")).id("retour-connexion")],
    };
    visit.page(st, StatusCode::OK, pages::render(&page))
}

async fn page(kind: Kind, st: &PortalState, headers: &HeaderMap, query: Option<&str>) -> Response {
    let flow_id = flow_param(query);
    let visit = Visit::new(st, headers, journey_url(st, kind, flow_id.as_deref()));
    let Some(id) = flow_id else {
        return render_identity(
            st,
            &visit,
            kind,
            None,
            &Typed::default(),
            &Default::default(),
            None,
        );
    };
    match load(st, &visit, kind, &id).await {
        Ok(Some(flow)) => render_step(st, &visit, kind, &flow, &Default::default(), None),
        // ACC-02: gone after 10 minutes (or never ours): start again, and say why.
        Ok(None) => {
            let alert = Alert::new(AlertKind::Warning, visit.tr().t("account-flow-expired"))
                .id("saisie-expiree");
            render_identity(
                st,
                &visit,
                kind,
                None,
                &Typed::default(),
                &Default::default(),
                Some(alert),
            )
        }
        Err(e) => failure(st, headers, &e),
    }
}

async fn submit(
    kind: Kind,
    st: &PortalState,
    headers: &HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: &[u8],
) -> Response {
    let form = Form::parse(body);
    let flow_id = flow_param(Some(&format!("flow={}", form.get("flow"))));
    let visit = Visit::new(st, headers, journey_url(st, kind, flow_id.as_deref()));
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    if !visit.csrf_ok(st, &form) {
        // A form not filled in this browser (or a browser that lost its cookie): shown again
        // with what was typed, and a fresh token.
        let alert = Alert::new(AlertKind::Warning, visit.tr().t("account-form-stale"));
        return render_identity(
            st,
            &visit,
            kind,
            None,
            &Typed::from_form(&form),
            &Default::default(),
            Some(alert),
        );
    }
    let flow = match flow_id {
        Some(id) => match load(st, &visit, kind, &id).await {
            Ok(Some(flow)) => Some(flow),
            Ok(None) => {
                let alert = Alert::new(AlertKind::Warning, visit.tr().t("account-flow-expired"))
                    .id("saisie-expiree");
                return render_identity(
                    st,
                    &visit,
                    kind,
                    None,
                    &Typed::default(),
                    &Default::default(),
                    Some(alert),
                );
            }
            Err(e) => return failure(st, headers, &e),
        },
        None => None,
    };
    let step = flow
        .as_ref()
        .map_or(IDENTITY, |f| f.step.as_str())
        .to_string();
    let result = match step.as_str() {
        CHOOSE => choose(st, &visit, kind, flow, &form).await,
        CODE => code(st, &visit, kind, flow, &form).await,
        FINALISE => finalise(st, &visit, kind, flow, &form).await,
        _ => identity_step(st, &visit, kind, flow, &form, &source).await,
    };
    result.unwrap_or_else(|e| failure(st, headers, &e))
}

fn journey_url(st: &PortalState, kind: Kind, flow: Option<&str>) -> String {
    match flow {
        Some(id) => format!("{}/{}?flow={id}", st.base(), kind.path()),
        None => format!("{}/{}", st.base(), kind.path()),
    }
}

async fn load(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    id: &str,
) -> Result<Option<Flow<Data>>, PortalError> {
    visit.flow(st, kind.flow_kind(), id).await
}

/// Saves `data` at `step`: a new flow when there is none yet. `extend`: the flow lives this
/// many seconds from now (a step was validated).
async fn save(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    step: &str,
    data: Data,
    extend: Option<i64>,
) -> Result<Option<Flow<Data>>, PortalError> {
    let now = st.portals.now();
    let mut conn = st.portals.store().pool().acquire().await?;
    match flow {
        None => Ok(Some(
            flows::create(
                &mut conn,
                &NewFlow {
                    portal: &st.portal.slug,
                    kind: kind.flow_kind(),
                    step,
                    browser_secret: &visit.browser,
                    data: &data,
                    ttl_secs: JOURNEY_TTL_SECS,
                },
                now,
            )
            .await?,
        )),
        Some(mut flow) => {
            let extend_to = extend.map(|secs| now + secs);
            if !flows::advance(&mut conn, &flow, step, &data, now, extend_to).await? {
                return Ok(None);
            }
            flow.step = step.to_string();
            flow.data = data;
            if let Some(t) = extend_to {
                flow.expires_at = t;
            }
            Ok(Some(flow))
        }
    }
}

/// After a step moved the flow: back to its page (a reload then shows, never re-posts).
fn to_flow(st: &PortalState, visit: &Visit, kind: Kind, flow: Option<Flow<Data>>) -> Response {
    match flow {
        Some(f) => visit.redirect(st, &journey_url(st, kind, Some(&f.id)), Vec::new()),
        None => visit.redirect(st, &journey_url(st, kind, None), Vec::new()),
    }
}

// ---------------------------------------------------------------------------------------
// What every step's page shares.
// ---------------------------------------------------------------------------------------

fn steps(tr: &Tr, kind: Kind, current: u32) -> Steps {
    let titles = [
        tr.t("account-step-identity"),
        tr.t("account-step-secure"),
        tr.t("account-step-code"),
        tr.t(kind.key("step-finalise")),
    ];
    let index = (current as usize).clamp(1, titles.len());
    let s = Steps::new(tr, current, 4, titles[index - 1].clone());
    match titles.get(index) {
        Some(next) => s.next(tr, next),
        None => s,
    }
}

/// The page of a flow's current step.
fn render_step(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    match flow.step.as_str() {
        CHOOSE => render_choose(st, visit, kind, flow, errors, alert),
        CODE => render_code(st, visit, kind, flow, errors, alert),
        FINALISE => render_finalise(st, visit, kind, flow, errors, alert),
        _ => render_identity(
            st,
            visit,
            kind,
            Some(&flow.id),
            &flow.data.typed,
            errors,
            alert,
        ),
    }
}

fn flow_form(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    title: String,
) -> FormPage {
    FormPage::new(
        pages::layout(&visit.ctx, &st.portal, &title),
        title,
        format!("{}/{}", st.base(), kind.path()),
    )
    .hidden("csrf", visit.csrf(st))
    .hidden("flow", flow.id.clone())
}

fn respond(st: &PortalState, visit: &Visit, page: FormPage, failed: bool) -> Response {
    let page = page.summarize();
    let status = if failed || page.summary.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    visit.page(st, status, pages::render(&page))
}

/// The day of `unix` (UTC): a birth date must be before it.
fn today_of(unix: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}
