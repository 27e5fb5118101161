//! "Mot de passe oublié ?" of a portal whose accounts come from a registration (RPLUS,
//! ACC-08): the identifier (the login e-mail) → a verification code sent to that e-mail,
//! shown masked ("Nous avons envoyé le code de vérification par e-mail à jd***@exemple.fr")
//! → the code and the new password on one page. The new password ends the account's
//! sessions. The requests count per source, and the codes per flow and per person
//! (code_sender), all in the database.

use super::code_sender::{self, refusal};
use super::pages::{self, Block};
use super::{failure, flow_param, strength, Form, Visit};
use crate::accounts;
use crate::flows::{self, NewFlow};
use crate::one_time::CodeCheck;
use crate::state::PortalState;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use caducee_core::mask::mask_email;
use caducee_core::source::ClientSource;
use caducee_pages::{Alert, AlertKind, Arg, Button, ButtonKind, Field, Link};
use caducee_store::throttle::{Limit, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const FLOW_KIND: &str = "forgot";
const FLOW_TTL_SECS: i64 = 1200;
/// Requests from one source per hour (each may send an e-mail).
const REQUESTS_PER_SOURCE: Limit = Limit::new("portals.forgot.source", 20, 3600);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    account_id: String,
    idnat: String,
    email: String,
}

fn path(st: &PortalState) -> String {
    format!("{}/mot-de-passe-oublie", st.base())
}

fn identifier_page(
    st: &PortalState,
    visit: &Visit,
    typed: &str,
    error: Option<String>,
    alert: Option<Alert>,
    status: StatusCode,
) -> Response {
    let tr = visit.tr();
    let heading = tr.t("forgot-code-title");
    let mut page = visit
        .form_page(st, heading, path(st))
        .hidden("etape", "identifiant");
    page.alerts.extend(alert);
    page.intro.push(tr.t("forgot-code-intro"));
    page.blocks = vec![Block::Field(
        Field::new("identifiant", tr.t("forgot-code-identifier"))
            .autocomplete("username")
            .hint(tr.t("forgot-code-identifier-hint"))
            .value(typed)
            .required()
            .error(error),
    )];
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary).id("valider")];
    page.links = vec![Link::new(st.base(), tr.t("registration-back")).id("retour")];
    visit.page(st, status, pages::render(&page.summarize()))
}

fn code_page(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    pending: &Pending,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let heading = tr.t("forgot-code-change-title");
    let mut page = visit
        .form_page(st, heading, path(st))
        .hidden("etape", "code")
        .hidden("flow", flow_id);
    page.alerts.extend(alert);
    let masked = mask_email(&pending.email);
    code_sender::code_step(tr, &mut page, &masked, errors.get("code").cloned());
    page.intro = vec![tr.t_with("forgot-code-sent", &[("to", Arg::from(masked.as_str()))])];
    page.blocks.extend(strength::new_password_blocks(
        st,
        tr,
        [
            tr.t("account-new-password"),
            tr.t("account-new-password-confirm"),
        ],
        errors,
    ));
    code_sender::rplus_code_buttons(tr, &mut page, "retour");
    visit.form(st, page, !errors.is_empty())
}

async fn load(
    st: &PortalState,
    visit: &Visit,
    id: &str,
) -> Result<Option<flows::Flow<Pending>>, PortalError> {
    visit.flow(st, FLOW_KIND, id).await
}

/// `GET {base}/mot-de-passe-oublie[?flow=]`.
pub(crate) async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, path(&st));
    let result = async {
        if let Some(id) = flow_param(query.as_deref()) {
            if let Some(flow) = load(&st, &visit, &id).await? {
                return Ok(code_page(
                    &st,
                    &visit,
                    &flow.id,
                    &flow.data,
                    &BTreeMap::new(),
                    None,
                ));
            }
        }
        Ok(identifier_page(&st, &visit, "", None, None, StatusCode::OK))
    }
    .await;
    result.unwrap_or_else(|e| failure(&st, &headers, &e))
}

/// `POST {base}/mot-de-passe-oublie`.
pub(crate) async fn submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, path(&st));
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    let result = async {
        if !visit.csrf_ok(&st, &form) {
            return Ok(visit.redirect(&st, &path(&st), Vec::new()));
        }
        if form.get("etape") == "code" {
            return code_submit(&st, &visit, &form).await;
        }
        identifier_submit(&st, &visit, &form, &source).await
    }
    .await;
    result.unwrap_or_else(|e| failure(&st, &headers, &e))
}

async fn identifier_submit(
    st: &PortalState,
    visit: &Visit,
    form: &Form,
    source: &ClientSource,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let typed = form.trimmed("identifiant");
    if typed.is_empty() {
        let e = Some(tr.t("forgot-code-error-empty"));
        return Ok(identifier_page(
            st,
            visit,
            typed,
            e,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let now = st.portals.now();
    let mut tx = st.portals.store().begin().await?;
    let key = format!("{}:{}", st.portal.slug, source.throttle_key());
    let verdict = REQUESTS_PER_SOURCE
        .hit(&mut tx, &key, now)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    if let Verdict::Refused { retry_after_secs } = verdict {
        tx.commit().await?;
        let alert = Alert::new(
            AlertKind::Error,
            tr.t_with(
                "account-identity-throttled",
                &[("minutes", Arg::Num(code_sender::minutes(retry_after_secs)))],
            ),
        )
        .id("erreur");
        return Ok(identifier_page(
            st,
            visit,
            typed,
            None,
            Some(alert),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let Some(account) = accounts::by_email(&mut tx, &st.portal.slug, typed).await? else {
        tx.commit().await?;
        // A legacy identifier or an unknown one: the first login takes the old password;
        // the assistance resets it.
        let alert = Alert::new(AlertKind::Error, tr.t("forgot-code-unknown")).id("erreur");
        return Ok(identifier_page(
            st,
            visit,
            typed,
            None,
            Some(alert),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let pending = Pending {
        account_id: account.id.clone(),
        idnat: account.idnat.clone(),
        email: account.email.clone(),
    };
    let flow = flows::create(
        &mut tx,
        &NewFlow {
            portal: &st.portal.slug,
            kind: FLOW_KIND,
            step: "code",
            browser_secret: &visit.browser,
            data: &pending,
            ttl_secs: FLOW_TTL_SECS,
        },
        now,
    )
    .await?;
    let sent = code_sender::send_email_verification(
        st,
        &mut tx,
        &flow.id,
        FLOW_KIND,
        &pending.idnat,
        &pending.email,
        visit.ctx.locale(),
    )
    .await?;
    tx.commit().await?;
    if let Err(refused) = sent {
        return Ok(identifier_page(
            st,
            visit,
            typed,
            None,
            Some(refusal(tr, refused)),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    Ok(visit.redirect(st, &format!("{}?flow={}", path(st), flow.id), Vec::new()))
}

async fn code_submit(
    st: &PortalState,
    visit: &Visit,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let id = flow_param(Some(&format!("flow={}", form.get("flow")))).unwrap_or_default();
    let Some(flow) = load(st, visit, &id).await? else {
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    let now = st.portals.now();
    if form.get("action") == "retour" {
        let mut conn = st.portals.store().pool().acquire().await?;
        flows::delete(&mut conn, &flow.id).await?;
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    }
    if form.get("action") == "renvoyer" {
        let mut tx = st.portals.store().begin().await?;
        let sent = code_sender::send_email_verification(
            st,
            &mut tx,
            &flow.id,
            FLOW_KIND,
            &flow.data.idnat,
            &flow.data.email,
            visit.ctx.locale(),
        )
        .await?;
        tx.commit().await?;
        let alert = code_sender::resend_alert(tr, sent);
        return Ok(code_page(
            st,
            visit,
            &flow.id,
            &flow.data,
            &BTreeMap::new(),
            Some(alert),
        ));
    }
    let mut errors = BTreeMap::new();
    let typed = match code_sender::typed_code(form) {
        Ok(t) => Some(t),
        Err(key) => {
            errors.insert("code".to_string(), tr.t(key));
            None
        }
    };
    let password = form.get("mot_de_passe");
    let person =
        super::identity::lookup_idnat(st.portals.store(), &st.portal, &flow.data.idnat).await?;
    if let Err(key) = strength::acceptable_for(st, tr, password, person.as_ref(), &flow.data.email)
    {
        errors.insert("mot_de_passe".to_string(), key);
    } else if form.get("mot_de_passe_confirmation") != password {
        errors.insert(
            "mot_de_passe_confirmation".to_string(),
            tr.t("account-error-password-confirm"),
        );
    }
    let (Some(typed), true) = (typed, errors.is_empty()) else {
        return Ok(code_page(st, visit, &flow.id, &flow.data, &errors, None));
    };
    // The password's hash is made before the code is spent: a slow hash never holds the
    // code's row, and a wrong code costs nothing but the try.
    let hash = st
        .portals
        .passwords()
        .hash(password)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = st.portals.store().begin().await?;
    let check = code_sender::check(st, &mut tx, &flow.id, &typed).await?;
    let error = match check {
        CodeCheck::Dead => Some(tr.t("registration-code-dead")),
        other => code_sender::check_error(tr, other),
    };
    if let Some(e) = error {
        tx.commit().await?;
        let errors = BTreeMap::from([("code".to_string(), e)]);
        return Ok(code_page(st, visit, &flow.id, &flow.data, &errors, None));
    }
    let Some(account) = accounts::by_email(&mut tx, &st.portal.slug, &flow.data.email).await?
    else {
        tx.commit().await?;
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    accounts::set_password(&mut tx, &account, &hash, "forgot-code", now).await?;
    super::session::end_others(&mut tx, &account.id, None, now).await?;
    flows::delete(&mut tx, &flow.id).await?;
    tx.commit().await?;
    Ok(visit.redirect(st, &format!("{}?mot-de-passe=1", st.base()), Vec::new()))
}
