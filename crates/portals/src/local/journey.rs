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

use super::identity::{self, Check, Person, Typed};
use super::pages::{self, Block, FormPage, MessagePage};
use super::{failure, flow_param, Form, Visit};
use crate::accounts::{self, Conflict, NewAccount};
use crate::flows::{self, Flow, NewFlow};
use crate::one_time::{self, CodeCheck, CodeRequest, SendRefused};
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
    /// The login e-mail typed at the last step (kept when the form is sent back).
    #[serde(default)]
    email: String,
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
    let mut conn = st.portals.store().pool().acquire().await?;
    flows::load(
        &mut conn,
        &st.portal.slug,
        kind.flow_kind(),
        id,
        &visit.browser,
        st.portals.now(),
    )
    .await
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
// Step 1: identity.
// ---------------------------------------------------------------------------------------

async fn identity_step(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
    source: &ClientSource,
) -> Result<Response, PortalError> {
    let typed = Typed::from_form(form);
    let today = today_of(st.portals.now());
    let errors = identity::field_errors(&typed, today);
    let data = Data {
        typed: typed.clone(),
        ..Data::default()
    };
    // What was typed is kept 10 minutes, whatever the outcome (ACC-02).
    let flow = save(st, visit, kind, flow, IDENTITY, data.clone(), None).await?;
    let flow_id = flow.as_ref().map(|f| f.id.clone());
    if !errors.is_empty() {
        return Ok(render_identity(
            st,
            visit,
            kind,
            flow_id.as_deref(),
            &typed,
            &errors,
            None,
        ));
    }
    let (Ok(birth), Ok(rpps)) = (
        identity::parse_birth_date(&typed.birth_date, today),
        identity::parse_rpps(&typed.rpps),
    ) else {
        return Ok(render_identity(
            st,
            visit,
            kind,
            flow_id.as_deref(),
            &typed,
            &errors,
            None,
        ));
    };
    let tr = visit.tr();
    let blocking = |text: String, link: Option<Link>| {
        let mut a = Alert::new(AlertKind::Error, text).id("blocage");
        if let Some(l) = link {
            a = a.link(l);
        }
        Some(a)
    };
    let now = st.portals.now();
    let store = st.portals.store();
    let person = match identity::check(store, &st.portal, &source.throttle_key(), &rpps, birth, now)
        .await?
    {
        Check::Found(p) => p,
        Check::NoMatch => {
            let alert = blocking(tr.t("account-no-match"), None);
            return Ok(render_identity(
                st,
                visit,
                kind,
                flow_id.as_deref(),
                &typed,
                &errors,
                alert,
            ));
        }
        Check::Throttled { retry_after_secs } => {
            let text = tr.t_with(
                "account-identity-throttled",
                &[("minutes", Arg::Num(minutes(retry_after_secs)))],
            );
            let alert = blocking(text, None);
            return Ok(render_identity(
                st,
                visit,
                kind,
                flow_id.as_deref(),
                &typed,
                &errors,
                alert,
            ));
        }
    };
    let account = {
        let mut conn = store.pool().acquire().await?;
        accounts::by_idnat(&mut conn, &st.portal.slug, &person.idnat).await?
    };
    match (kind, account.is_some()) {
        (Kind::Creation, true) => {
            let link = Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-exists-link"),
            )
            .id("lien-recuperation");
            let alert = blocking(tr.t("account-exists"), Some(link));
            return Ok(render_identity(
                st,
                visit,
                kind,
                flow_id.as_deref(),
                &typed,
                &errors,
                alert,
            ));
        }
        (Kind::Recovery, false) => {
            let link = Link::new(format!("{}/creer", st.base()), tr.t("account-none-link"))
                .id("lien-creation");
            let alert = blocking(tr.t("account-none"), Some(link));
            return Ok(render_identity(
                st,
                visit,
                kind,
                flow_id.as_deref(),
                &typed,
                &errors,
                alert,
            ));
        }
        _ => {}
    }
    let coordinates = coordinates_of(&person);
    if coordinates.is_empty() {
        let alert = blocking(tr.t("account-no-coordinates"), None);
        return Ok(render_identity(
            st,
            visit,
            kind,
            flow_id.as_deref(),
            &typed,
            &errors,
            alert,
        ));
    }
    let data = Data {
        typed,
        rpps: Some(person.rpps.clone()),
        idnat: Some(person.idnat.clone()),
        coordinates,
        ..Data::default()
    };
    let flow = save(st, visit, kind, flow, CHOOSE, data, Some(JOURNEY_TTL_SECS)).await?;
    Ok(to_flow(st, visit, kind, flow))
}

fn coordinates_of(person: &Person) -> Vec<Coordinate> {
    let mut out = Vec::new();
    if let Some(m) = &person.mobile {
        out.push(Coordinate {
            channel: "sms".into(),
            masked: mask_phone(m),
        });
    }
    if let Some(e) = &person.email {
        out.push(Coordinate {
            channel: "email".into(),
            masked: mask_email(e),
        });
    }
    out
}

fn minutes(secs: i64) -> i64 {
    (secs.max(1) + 59) / 60
}

fn render_identity(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<&str>,
    typed: &Typed,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let err = |name: &str| errors.get(name).map(|k| tr.t(k));
    let title = tr.t(kind.key("title"));
    let terms = st
        .portal
        .terms_url
        .clone()
        .unwrap_or_else(|| format!("{}/conditions", st.base()));
    let privacy = st
        .portal
        .privacy_url
        .clone()
        .unwrap_or_else(|| format!("{}/confidentialite", st.base()));
    let mut terms_box = TermsBox::new(
        "cgu",
        vec![
            TermsPart::Text(tr.t("account-terms-accept-1")),
            TermsPart::Link(Link::new(terms, tr.t("account-terms-accept-terms"))),
            TermsPart::Text(tr.t("account-terms-accept-2")),
            TermsPart::Link(Link::new(privacy, tr.t("account-terms-accept-privacy"))),
            TermsPart::Text(tr.t("account-terms-accept-3")),
        ],
        typed.terms,
    );
    terms_box.field = terms_box.field.id("cgu").error(err("cgu"));
    let mut page = FormPage::new(
        pages::layout(&visit.ctx, &st.portal, &title),
        title,
        format!("{}/{}", st.base(), kind.path()),
    );
    page.steps = Some(steps(tr, kind, 1));
    page.alerts.extend(alert);
    page.intro.push(tr.t("account-required-fields"));
    page = page.hidden("csrf", visit.csrf(st));
    if let Some(id) = flow {
        page = page.hidden("flow", id);
    }
    page.blocks = vec![
        Block::Field(
            Field::new("date_naissance", tr.t("account-birth-date"))
                .hint(tr.t("account-birth-date-hint"))
                .value(typed.birth_date.clone())
                .autocomplete("bday")
                .inputmode("numeric")
                .required()
                .error(err("date_naissance")),
        ),
        Block::Field(
            Field::new("rpps", tr.t("account-rpps"))
                .hint(tr.t("account-rpps-hint"))
                .value(typed.rpps.clone())
                .inputmode("numeric")
                .required()
                .error(err("rpps")),
        ),
        Block::Link(Link::new("/annuaire", tr.t("account-rpps-where")).id("ou-trouver-rpps")),
        Block::Terms(terms_box),
    ];
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary).id("valider")];
    page.links = vec![
        Link::new(st.base(), tr.t("account-login")).id("lien-connexion"),
        Link::new(
            format!("{}/identifiants-oublies", st.base()),
            tr.t("account-forgot"),
        )
        .id("lien-oubli"),
    ];
    let page = page.summarize();
    let status = if errors.is_empty() && page.alerts.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    visit.page(st, status, pages::render(&page))
}

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

// ---------------------------------------------------------------------------------------
// Step 2: the coordinate the code goes to.
// ---------------------------------------------------------------------------------------

fn render_choose(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let mut page = flow_form(st, visit, kind, flow, tr.t(kind.key("secure-title")));
    page.steps = Some(steps(tr, kind, 2));
    let failed = alert.is_some();
    page.alerts.extend(alert);
    page.intro.push(tr.t(kind.key("secure-intro")));
    let choices = flow
        .data
        .coordinates
        .iter()
        .map(|c| {
            let selected = flow.data.channel.as_deref() == Some(c.channel.as_str())
                || flow.data.coordinates.len() == 1;
            Choice::new(&c.channel, c.masked.clone(), selected)
        })
        .collect();
    let mut radios = RadioGroup::new("moyen", tr.t("account-secure-legend"), choices);
    radios.error = errors.get("moyen").map(|k| tr.t(k));
    page.blocks = vec![Block::Radios(radios)];
    page.buttons = vec![
        Button::new(tr.t("account-send-code"), ButtonKind::Primary)
            .id("recevoir-code")
            .action("action", "envoyer"),
        Button::new(tr.t("account-back"), ButtonKind::Tertiary)
            .id("retour")
            .action("action", "retour"),
    ];
    page.links = vec![Link::new(
        format!("{}/identifiants-oublies", st.base()),
        tr.t("account-assistance"),
    )
    .id("assistance")];
    respond(st, visit, page, failed)
}

async fn choose(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
) -> Result<Response, PortalError> {
    let Some(flow) = flow else {
        return Ok(to_flow(st, visit, kind, None));
    };
    let mut data = flow.data.clone();
    if form.get("action") == "retour" {
        let flow = save(
            st,
            visit,
            kind,
            Some(flow),
            IDENTITY,
            Data {
                typed: data.typed,
                ..Data::default()
            },
            None,
        )
        .await?;
        return Ok(to_flow(st, visit, kind, flow));
    }
    let chosen = form.get("moyen");
    if !data.coordinates.iter().any(|c| c.channel == chosen) {
        let mut errors = BTreeMap::new();
        errors.insert("moyen".to_string(), "account-error-choose".to_string());
        return Ok(render_choose(st, visit, kind, &flow, &errors, None));
    }
    data.channel = Some(chosen.to_string());
    match send_code(st, kind, &flow, &data).await? {
        Ok(()) => {
            let flow = save(
                st,
                visit,
                kind,
                Some(flow),
                CODE,
                data,
                Some(CODE_STEP_TTL_SECS),
            )
            .await?;
            Ok(to_flow(st, visit, kind, flow))
        }
        Err(refused) => Ok(render_choose(
            st,
            visit,
            kind,
            &flow,
            &BTreeMap::new(),
            Some(refusal(visit.tr(), refused)),
        )),
    }
}

fn refusal(tr: &Tr, refused: SendRefused) -> Alert {
    let text = match refused {
        SendRefused::FlowExhausted => tr.t("account-code-flow-exhausted"),
        SendRefused::PersonExhausted { retry_after_secs } => tr.t_with(
            "account-code-person-exhausted",
            &[("minutes", Arg::Num(minutes(retry_after_secs)))],
        ),
    };
    Alert::new(AlertKind::Error, text).id("envoi-refuse")
}

/// Issues a code for the flow and enqueues the message carrying it to the chosen
/// coordinate, re-read from the registry, in one transaction with the audit event.
async fn send_code(
    st: &PortalState,
    kind: Kind,
    flow: &Flow<Data>,
    data: &Data,
) -> Result<Result<(), SendRefused>, PortalError> {
    let (Some(rpps), Some(idnat), Some(channel)) = (&data.rpps, &data.idnat, &data.channel) else {
        return Err(PortalError::Internal("parcours sans identité".into()));
    };
    let rpps = identity::parse_rpps(rpps).map_err(|k| PortalError::Internal(k.into()))?;
    let person = identity::lookup(st.portals.store(), &st.portal, &rpps)
        .await?
        .ok_or_else(|| PortalError::Internal("professionnel disparu du répertoire".into()))?;
    let policy = st.portals.code_policy();
    let now = st.portals.now();
    let mut tx = st.portals.store().begin().await?;
    let code = match one_time::issue_code(
        &mut tx,
        st.portals.one_time(),
        policy,
        &CodeRequest {
            portal: &st.portal.slug,
            flow_id: &flow.id,
            channel,
            idnat,
        },
        now,
    )
    .await?
    {
        Ok(code) => code,
        Err(refused) => {
            tx.commit().await?;
            return Ok(Err(refused));
        }
    };
    let validity_minutes = u32::try_from(policy.code_ttl_secs / 60).unwrap_or(10);
    let message = match kind {
        Kind::Creation => Message::AccountCreationCode {
            portal: st.portal.name.clone(),
            code,
            validity_minutes,
        },
        Kind::Recovery => Message::AccountRecoveryCode {
            portal: st.portal.name.clone(),
            code,
            validity_minutes,
        },
    };
    let (outgoing, masked) = outgoing_to(channel, &person, message)?;
    let outgoing = outgoing
        .not_after(now + policy.code_ttl_secs)
        .public_url(st.portals.public_url());
    outbox::enqueue(&mut tx, st.portals.clock().as_ref(), &outgoing)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "portals.code.sent",
            subject: Some(idnat),
            details: serde_json::json!({
                "portal": st.portal.slug,
                "flow": kind.flow_kind(),
                "channel": channel,
                "to": masked,
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The message to the registry's coordinate of `channel`, and that coordinate masked.
fn outgoing_to(
    channel: &str,
    person: &Person,
    message: Message,
) -> Result<(OutgoingMessage, String), PortalError> {
    let gone = || PortalError::Internal("coordonnée disparue du répertoire".into());
    match channel {
        "sms" => {
            let m = person.mobile.as_deref().ok_or_else(gone)?;
            let mobile = caducee_core::contact::Mobile::parse(m)
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            Ok((OutgoingMessage::sms(mobile, message), mask_phone(m)))
        }
        _ => {
            let e = person.email.as_deref().ok_or_else(gone)?;
            let email = caducee_core::contact::Email::parse(e)
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            Ok((OutgoingMessage::email(email, message), mask_email(e)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Step 3: the code.
// ---------------------------------------------------------------------------------------

fn render_code(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let mut page = flow_form(st, visit, kind, flow, tr.t("account-code-title"));
    page.steps = Some(steps(tr, kind, 3));
    let failed = alert.as_ref().is_some_and(|a| a.role() == "alert");
    page.alerts.extend(alert);
    if let Some(c) = flow.data.chosen() {
        page.intro
            .push(tr.t_with("account-code-sent", &[("to", Arg::from(c.masked.as_str()))]));
    }
    page.blocks = vec![Block::Field(
        Field::code("code", tr.t("account-code-label"))
            .hint(tr.t("account-code-hint"))
            .error(errors.get("code").cloned()),
    )];
    page.buttons = vec![
        Button::new(tr.t("account-validate"), ButtonKind::Primary)
            .id("valider")
            .action("action", "valider"),
        Button::new(tr.t("account-resend"), ButtonKind::Secondary)
            .id("renvoyer")
            .action("action", "renvoyer"),
        Button::new(tr.t("account-back"), ButtonKind::Tertiary)
            .id("retour")
            .action("action", "retour"),
    ];
    respond(st, visit, page, failed)
}

async fn code(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
) -> Result<Response, PortalError> {
    let Some(flow) = flow else {
        return Ok(to_flow(st, visit, kind, None));
    };
    let tr = visit.tr();
    match form.get("action") {
        "retour" => {
            let data = flow.data.clone();
            let flow = save(st, visit, kind, Some(flow), CHOOSE, data, None).await?;
            return Ok(to_flow(st, visit, kind, flow));
        }
        "renvoyer" => {
            let alert = match send_code(st, kind, &flow, &flow.data).await? {
                Ok(()) => {
                    Alert::new(AlertKind::Info, tr.t("account-code-resent")).id("code-renvoye")
                }
                Err(refused) => refusal(tr, refused),
            };
            return Ok(render_code(
                st,
                visit,
                kind,
                &flow,
                &BTreeMap::new(),
                Some(alert),
            ));
        }
        _ => {}
    }
    let typed: String = form
        .get("code")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        let mut errors = BTreeMap::new();
        errors.insert("code".to_string(), tr.t("account-error-code-format"));
        return Ok(render_code(st, visit, kind, &flow, &errors, None));
    }
    let now = st.portals.now();
    let check = {
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
        if !matches!(check, CodeCheck::Valid) {
            let idnat = flow.data.idnat.clone().unwrap_or_default();
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: &format!("ps:{idnat}"),
                    action: "portals.code.failed",
                    subject: Some(&idnat),
                    details: serde_json::json!({
                        "portal": st.portal.slug,
                        "flow": kind.flow_kind(),
                        "outcome": format!("{check:?}"),
                    }),
                    request_id: None,
                },
            )
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        }
        tx.commit().await?;
        check
    };
    let mut errors = BTreeMap::new();
    match check {
        CodeCheck::Valid => {
            let data = flow.data.clone();
            let flow = save(
                st,
                visit,
                kind,
                Some(flow),
                FINALISE,
                data,
                Some(JOURNEY_TTL_SECS),
            )
            .await?;
            Ok(to_flow(st, visit, kind, flow))
        }
        CodeCheck::Wrong { tries_left } => {
            errors.insert(
                "code".to_string(),
                tr.t_with(
                    "account-error-code-wrong",
                    &[("tries", Arg::Num(tries_left))],
                ),
            );
            Ok(render_code(st, visit, kind, &flow, &errors, None))
        }
        CodeCheck::Expired => {
            errors.insert("code".to_string(), tr.t("account-error-code-expired"));
            Ok(render_code(st, visit, kind, &flow, &errors, None))
        }
        CodeCheck::Dead => {
            // Five wrong tries: the journey ends; what was typed goes with it.
            let mut conn = st.portals.store().pool().acquire().await?;
            flows::delete(&mut conn, &flow.id).await?;
            let page = MessagePage {
                layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-code-dead-title")),
                heading: tr.t("account-code-dead-title"),
                alert: Alert::new(AlertKind::Error, tr.t("account-code-dead")).id("code-mort"),
                links: vec![Link::new(
                    format!("{}/{}", st.base(), kind.path()),
                    tr.t("account-start-again"),
                )
                .id("recommencer")],
            };
            Ok(visit.page(st, StatusCode::UNPROCESSABLE_ENTITY, pages::render(&page)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Step 4: the login e-mail and the password.
// ---------------------------------------------------------------------------------------

/// Whether the login is the registry e-mail the code went to (creation by e-mail).
fn login_is_registry_email(kind: Kind, data: &Data) -> bool {
    kind == Kind::Creation && data.channel.as_deref() == Some("email")
}

fn render_finalise(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let by_email = login_is_registry_email(kind, &flow.data);
    let title = if by_email {
        tr.t("account-creation-email-title")
    } else {
        tr.t(kind.key("finalise-title"))
    };
    let mut page = flow_form(st, visit, kind, flow, title);
    page.steps = Some(steps(tr, kind, 4));
    let failed = alert.is_some();
    page.alerts.extend(alert);
    let err = |name: &str| errors.get(name).cloned();
    let live = format!("{}/force-mot-de-passe", st.base());
    let password = |name: &str, label: String, with_meter: bool| {
        let mut p = PasswordInput::new(tr, name, label, with_meter);
        if with_meter {
            p = p.live(live.clone());
            for (key, _) in crate::local::strength::RULES.check("") {
                p = p.rule(tr.t(key), false);
            }
        }
        p.field = p.field.clone().error(err(name));
        p
    };
    if by_email {
        page.intro.push(tr.t("account-creation-email-intro"));
        let login = flow
            .data
            .chosen()
            .map(|c| c.masked.clone())
            .unwrap_or_default();
        page.blocks.push(Block::Shown {
            label: tr.t("account-login-email"),
            value: login,
        });
    } else {
        page.intro.push(tr.t(kind.key("finalise-intro")));
        page.blocks.push(Block::Field(
            Field::new("email", tr.t("account-email"))
                .kind("email")
                .autocomplete("email")
                .value(flow.data.email.clone())
                .required()
                .error(err("email")),
        ));
        if kind == Kind::Recovery {
            page.blocks.push(Block::Field(
                Field::new("email_confirmation", tr.t("account-email-confirm"))
                    .kind("email")
                    .autocomplete("email")
                    .required()
                    .error(err("email_confirmation")),
            ));
        }
    }
    page.blocks.push(Block::Password(password(
        "mot_de_passe",
        tr.t("account-password"),
        true,
    )));
    page.blocks.push(Block::Password(password(
        "mot_de_passe_confirmation",
        tr.t("account-password-confirm"),
        false,
    )));
    // The confirmation is a new password too, for password managers.
    if let Some(Block::Password(p)) = page.blocks.last_mut() {
        p.field.autocomplete = Some("new-password");
    }
    let label = if by_email {
        tr.t("account-create")
    } else {
        tr.t("account-activate")
    };
    page.buttons = vec![Button::new(label, ButtonKind::Primary).id("activer")];
    respond(st, visit, page, failed)
}

async fn finalise(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
) -> Result<Response, PortalError> {
    let Some(flow) = flow else {
        return Ok(to_flow(st, visit, kind, None));
    };
    let tr = visit.tr();
    let (Some(rpps), Some(idnat)) = (flow.data.rpps.clone(), flow.data.idnat.clone()) else {
        return Err(PortalError::Internal("parcours sans identité".into()));
    };
    let rpps = identity::parse_rpps(&rpps).map_err(|k| PortalError::Internal(k.into()))?;
    let person = identity::lookup(st.portals.store(), &st.portal, &rpps)
        .await?
        .ok_or_else(|| PortalError::Internal("professionnel disparu du répertoire".into()))?;
    let by_email = login_is_registry_email(kind, &flow.data);
    let email = if by_email {
        person.email.clone().unwrap_or_default()
    } else {
        form.trimmed("email").to_string()
    };
    let mut errors = BTreeMap::new();
    if !by_email {
        if let Err(key) = super::check_email(&email) {
            errors.insert("email".to_string(), tr.t(key));
        } else if kind == Kind::Recovery
            && !email.eq_ignore_ascii_case(form.trimmed("email_confirmation"))
        {
            errors.insert(
                "email_confirmation".to_string(),
                tr.t("account-error-email-confirm"),
            );
        }
    }
    let password = form.get("mot_de_passe");
    let names = [person.first_name.as_str(), person.last_name.as_str()];
    let personal = caducee_passwords::strength::Personal {
        names: &names,
        rpps: Some(&person.rpps),
        birth_date: Some(&person.birth_date),
        email: Some(&email),
    };
    if let Err(key) = super::strength::acceptable(password, &personal) {
        errors.insert("mot_de_passe".to_string(), tr.t(key));
    } else if password != form.get("mot_de_passe_confirmation") {
        errors.insert(
            "mot_de_passe_confirmation".to_string(),
            tr.t("account-error-password-confirm"),
        );
    }
    let mut data = flow.data.clone();
    data.email = if by_email {
        String::new()
    } else {
        email.clone()
    };
    if !errors.is_empty() {
        let flow = save(st, visit, kind, Some(flow), FINALISE, data, None)
            .await?
            .ok_or_else(|| PortalError::Internal("parcours expiré".into()))?;
        return Ok(render_finalise(st, visit, kind, &flow, &errors, None));
    }
    let hash = st
        .portals
        .passwords()
        .hash(password)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let now = st.portals.now();
    let mut tx = st.portals.store().begin().await?;
    let outcome = match kind {
        Kind::Creation => {
            let how = if by_email {
                "creation:email"
            } else {
                "creation:sms"
            };
            match accounts::create(
                &mut tx,
                &NewAccount {
                    portal: &st.portal.slug,
                    idnat: &idnat,
                    email: &email,
                    password_hash: &hash,
                    how,
                },
                now,
            )
            .await?
            {
                Ok(_) => {
                    let to = caducee_core::contact::Email::parse(&email)
                        .map_err(|e| PortalError::Internal(e.to_string()))?;
                    let msg = OutgoingMessage::email(
                        to,
                        Message::AccountCreated {
                            portal: st.portal.name.clone(),
                            login: email.clone(),
                            login_url: format!("{}{}", st.portals.public_url(), st.base()),
                        },
                    )
                    .public_url(st.portals.public_url());
                    outbox::enqueue(&mut tx, st.portals.clock().as_ref(), &msg)
                        .await
                        .map_err(|e| PortalError::Internal(e.to_string()))?;
                    Ok(())
                }
                Err(c) => Err(c),
            }
        }
        Kind::Recovery => {
            let account = accounts::by_idnat(&mut tx, &st.portal.slug, &idnat)
                .await?
                .ok_or_else(|| PortalError::Internal("compte disparu".into()))?;
            // ACC-05: any account's address, the forgotten one included, is refused.
            if accounts::by_email(&mut tx, &st.portal.slug, &email)
                .await?
                .is_some()
            {
                Err(Conflict::EmailTaken)
            } else {
                let changed = accounts::set_email(&mut tx, &account, &email, now).await?;
                if changed.is_ok() {
                    super::notify_email_changed(st, &mut tx, &account.email, &email, now).await?;
                }
                changed
            }
        }
    };
    match outcome {
        Ok(()) => {}
        Err(Conflict::EmailTaken) => {
            drop(tx);
            errors.insert("email".to_string(), tr.t("account-error-email-taken"));
            let flow = save(st, visit, kind, Some(flow), FINALISE, data, None)
                .await?
                .ok_or_else(|| PortalError::Internal("parcours expiré".into()))?;
            return Ok(render_finalise(st, visit, kind, &flow, &errors, None));
        }
        Err(Conflict::IdnatTaken) => {
            drop(tx);
            let link = Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-exists-link"),
            );
            let alert = Alert::new(AlertKind::Error, tr.t("account-exists")).link(link);
            return Ok(render_finalise(
                st,
                visit,
                kind,
                &flow,
                &errors,
                Some(alert),
            ));
        }
    }
    if kind == Kind::Recovery {
        if let Some(account) = accounts::by_idnat(&mut tx, &st.portal.slug, &idnat).await? {
            accounts::set_password(&mut tx, &account, &hash, "recovery", now).await?;
            super::session::end_others(&mut tx, &account.id, None, now).await?;
        }
    }
    flows::delete(&mut tx, &flow.id).await?;
    tx.commit().await?;
    Ok(match kind {
        Kind::Creation => visit.redirect(st, &format!("{}/creer/termine", st.base()), Vec::new()),
        Kind::Recovery => recovery_done(st, visit).await,
    })
}

/// The day of `unix` (UTC): a birth date must be before it.
fn today_of(unix: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}
