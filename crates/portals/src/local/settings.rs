//! "Paramètres" (ACC-07): the login e-mail and the password change only with the current
//! password ("Saisissez votre mot de passe actuel pour changer votre Adresse de courriel ou
//! votre Mot de passe"), except in the minutes after a reset link, which proved the
//! mailbox. A new password ends the account's other sessions. A new e-mail is confirmed by
//! a code sent to it (a settings flow, 10 minutes), then the old address is told.

use super::code_sender::{self, minutes, refusal};
use super::journey::JOURNEY_TTL_SECS;
use super::pages::{self, Block};
use super::session::{self, LocalSession};
use super::{failure, flow_param, Form, Visit};
use crate::accounts;
use crate::flows::{self, NewFlow};
use crate::one_time::{self, CodeCheck, SendRefused};
use crate::state::{Cookie, PortalState};
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use caducee_pages::{Alert, AlertKind, Arg, Button, ButtonKind, Field, Link, PasswordInput};
use caducee_store::throttle::{Limit, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Wrong current passwords per account and 15 minutes before the form must wait.
const WRONG_CURRENT: Limit = Limit::new("portals.settings.current", 5, 900);
const FLOW_KIND: &str = "settings";

/// The e-mail change waiting for its code.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EmailChange {
    account_id: String,
    new_email: String,
}

/// The live session of this request, or None.
async fn current(
    st: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<LocalSession>, PortalError> {
    let Some(secret) = st.cookie(headers, &Cookie::Local) else {
        return Ok(None);
    };
    let mut conn = st.portals.store().pool().acquire().await?;
    session::find(&mut conn, &st.portal.slug, &secret, st.portals.now()).await
}

fn path(st: &PortalState) -> String {
    format!("{}/parametres", st.base())
}

#[allow(clippy::too_many_arguments)]
fn render(
    st: &PortalState,
    visit: &Visit,
    s: &LocalSession,
    email: &str,
    errors: &BTreeMap<&str, String>,
    alert: Option<Alert>,
    status: StatusCode,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("account-settings");
    let mut page = visit.form_page(st, title, path(st));
    page.alerts.extend(alert);
    page.blocks
        .push(Block::Heading(tr.t("account-settings-section")));
    let err = |n: &str| errors.get(n).cloned();
    if !s.may_reset(st.portals.now()) {
        let mut current = PasswordInput::new(
            tr,
            "mot_de_passe_actuel",
            tr.t("account-current-password"),
            false,
        );
        current.field = current
            .field
            .clone()
            .hint(tr.t("account-current-password-hint"))
            .error(err("mot_de_passe_actuel"));
        page.blocks.push(Block::Password(current));
        page.blocks.push(Block::Link(
            Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-ask-new-password"),
            )
            .id("demander-mot-de-passe"),
        ));
    }
    let mut new = super::strength::new_password_input(
        st,
        tr,
        "nouveau_mot_de_passe",
        tr.t("account-new-password"),
    );
    new.field = new.field.clone().error(err("nouveau_mot_de_passe"));
    new.field.required = false;
    page.blocks.push(Block::Password(new));
    let mut confirm = PasswordInput::new(
        tr,
        "confirmation",
        tr.t("account-new-password-confirm"),
        false,
    );
    confirm.field.autocomplete = Some("new-password");
    confirm.field.required = false;
    confirm.field = confirm.field.clone().error(err("confirmation"));
    page.blocks.push(Block::Password(confirm));
    page.blocks.push(Block::Field(
        Field::new("email", tr.t("account-settings-email"))
            .kind("email")
            .autocomplete("email")
            .hint(tr.t("account-settings-email-hint"))
            .value(email)
            .required()
            .error(err("email")),
    ));
    page.buttons = vec![Button::new(tr.t("account-save"), ButtonKind::Primary).id("enregistrer")];
    page.links = vec![Link::new(st.base(), tr.t("account-home-title")).id("mon-espace")];
    let page = page.summarize();
    visit.page(st, status, pages::render(&page))
}

/// The session of this request, or the answer to give without one (the login page, or the
/// failure page).
async fn logged_in(
    st: &PortalState,
    headers: &HeaderMap,
    visit: &Visit,
) -> Result<LocalSession, Response> {
    match current(st, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(visit.redirect(st, &st.base(), Vec::new())),
        Err(e) => Err(failure(st, headers, &e)),
    }
}

pub(crate) async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, path(&st));
    let s = match logged_in(&st, &headers, &visit).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let tr = visit.tr();
    let alert = match query.as_deref() {
        Some("lien=1") if s.may_reset(st.portals.now()) => {
            Some(Alert::new(AlertKind::Success, tr.t("account-link-used")).id("lien-utilise"))
        }
        Some("mot-de-passe=1") => {
            Some(Alert::new(AlertKind::Success, tr.t("account-password-changed")).id("enregistre"))
        }
        Some("email=1") => {
            Some(Alert::new(AlertKind::Success, tr.t("account-email-changed")).id("enregistre"))
        }
        _ => None,
    };
    let email = s.account.email.clone();
    render(
        &st,
        &visit,
        &s,
        &email,
        &BTreeMap::new(),
        alert,
        StatusCode::OK,
    )
}

pub(crate) async fn submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, path(&st));
    let s = match logged_in(&st, &headers, &visit).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    submit_inner(&st, &visit, &s, &form)
        .await
        .unwrap_or_else(|e| failure(&st, &headers, &e))
}

async fn submit_inner(
    st: &PortalState,
    visit: &Visit,
    s: &LocalSession,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let email = form.trimmed("email");
    let mut errors: BTreeMap<&str, String> = BTreeMap::new();
    if !visit.csrf_ok(st, form) {
        let alert = Alert::new(AlertKind::Warning, tr.t("account-form-stale"));
        return Ok(render(
            st,
            visit,
            s,
            email,
            &errors,
            Some(alert),
            StatusCode::FORBIDDEN,
        ));
    }
    let now = st.portals.now();
    let new_password = form.get("nouveau_mot_de_passe");
    let email_changes = !email.eq_ignore_ascii_case(&s.account.email);
    if new_password.is_empty() && !email_changes {
        let alert = Alert::new(AlertKind::Info, tr.t("account-settings-nothing"));
        return Ok(render(
            st,
            visit,
            s,
            email,
            &errors,
            Some(alert),
            StatusCode::OK,
        ));
    }
    // ACC-07: the current password first (unless a reset link just proved the mailbox).
    if !s.may_reset(now) {
        let key = format!("{}:{}", st.portal.slug, s.account.id);
        let mut conn = st.portals.store().pool().acquire().await?;
        let waiting = WRONG_CURRENT
            .peek(&mut conn, &key, now)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        drop(conn);
        if let Verdict::Refused { retry_after_secs } = waiting {
            errors.insert(
                "mot_de_passe_actuel",
                tr.t_with(
                    "account-error-current-throttled",
                    &[("minutes", Arg::Num(minutes(retry_after_secs)))],
                ),
            );
            return Ok(render(
                st,
                visit,
                s,
                email,
                &errors,
                None,
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        let current = form.get("mot_de_passe_actuel");
        let ok = !current.is_empty()
            && accounts::password_ok(
                st.portals.store(),
                st.portals.passwords(),
                &s.account,
                current,
            )
            .await?;
        if !ok {
            let mut conn = st.portals.store().pool().acquire().await?;
            WRONG_CURRENT
                .hit(&mut conn, &key, now)
                .await
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            errors.insert(
                "mot_de_passe_actuel",
                tr.t(if current.is_empty() {
                    "account-error-current-empty"
                } else {
                    "account-error-current-wrong"
                }),
            );
            return Ok(render(
                st,
                visit,
                s,
                email,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    }
    if email_changes {
        if let Err(key) = super::check_email(email) {
            errors.insert("email", tr.t(key));
        }
    }
    let person =
        super::identity::lookup_idnat(st.portals.store(), &st.portal, &s.account.idnat).await?;
    if !new_password.is_empty() {
        if let Err(key) =
            super::strength::acceptable_for(st, tr, new_password, person.as_ref(), email)
        {
            errors.insert("nouveau_mot_de_passe", key);
        } else if new_password != form.get("confirmation") {
            errors.insert("confirmation", tr.t("account-error-password-confirm"));
        }
    }
    if email_changes && errors.is_empty() {
        let mut conn = st.portals.store().pool().acquire().await?;
        if let Some(other) = accounts::by_email(&mut conn, &st.portal.slug, email).await? {
            if other.id != s.account.id {
                errors.insert("email", tr.t("account-error-email-taken"));
            }
        }
    }
    if !errors.is_empty() {
        return Ok(render(
            st,
            visit,
            s,
            email,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if !new_password.is_empty() {
        let hash = st
            .portals
            .passwords()
            .hash(new_password)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        let mut tx = st.portals.store().begin().await?;
        accounts::set_password(&mut tx, &s.account, &hash, "settings", now).await?;
        session::end_others(&mut tx, &s.account.id, Some(&s.id_hash), now).await?;
        tx.commit().await?;
    }
    if !email_changes {
        return Ok(visit.redirect(st, &format!("{}?mot-de-passe=1", path(st)), Vec::new()));
    }
    // The new address must be the professional's: a code goes there first.
    let change = EmailChange {
        account_id: s.account.id.clone(),
        new_email: email.to_string(),
    };
    let mut tx = st.portals.store().begin().await?;
    let flow = flows::create(
        &mut tx,
        &NewFlow {
            portal: &st.portal.slug,
            kind: FLOW_KIND,
            step: "code",
            browser_secret: &visit.browser,
            data: &change,
            ttl_secs: JOURNEY_TTL_SECS,
        },
        now,
    )
    .await?;
    let sent = send_code(
        st,
        &mut tx,
        &flow.id,
        &s.account.idnat,
        email,
        visit.ctx.locale(),
    )
    .await?;
    tx.commit().await?;
    if let Err(refused) = sent {
        let alert = refusal(visit.tr(), refused);
        return Ok(render(
            st,
            visit,
            s,
            email,
            &errors,
            Some(alert),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    Ok(visit.redirect(
        st,
        &format!("{}/code?flow={}", path(st), flow.id),
        Vec::new(),
    ))
}

/// The code that proves the new address is the professional's.
async fn send_code(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    flow_id: &str,
    idnat: &str,
    email: &str,
    locale: caducee_pages::Locale,
) -> Result<Result<(), SendRefused>, PortalError> {
    code_sender::send_email_verification(st, tx, flow_id, FLOW_KIND, idnat, email, locale).await
}

fn render_code(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    to: &str,
    error: Option<String>,
    alert: Option<Alert>,
    status: StatusCode,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("account-code-title");
    let mut page = visit
        .form_page(st, title, format!("{}/code", path(st)))
        .hidden("flow", flow_id);
    page.alerts.extend(alert);
    code_sender::code_step(tr, &mut page, &caducee_core::mask::mask_email(to), error);
    page.links = vec![Link::new(path(st), tr.t("account-back")).id("retour")];
    let page = page.summarize();
    visit.page(st, status, pages::render(&page))
}

async fn load_change(
    st: &PortalState,
    visit: &Visit,
    id: &str,
    s: &LocalSession,
) -> Result<Option<flows::Flow<EmailChange>>, PortalError> {
    let flow = visit.flow::<EmailChange>(st, FLOW_KIND, id).await?;
    Ok(flow.filter(|f| f.data.account_id == s.account.id))
}

pub(crate) async fn code_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let id = flow_param(query.as_deref()).unwrap_or_default();
    let visit = Visit::new(&st, &headers, format!("{}/code?flow={id}", path(&st)));
    let s = match logged_in(&st, &headers, &visit).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    match load_change(&st, &visit, &id, &s).await {
        Ok(Some(flow)) => render_code(
            &st,
            &visit,
            &flow.id,
            &flow.data.new_email,
            None,
            None,
            StatusCode::OK,
        ),
        Ok(None) => visit.redirect(&st, &path(&st), Vec::new()),
        Err(e) => failure(&st, &headers, &e),
    }
}

pub(crate) async fn code_submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let id = flow_param(Some(&format!("flow={}", form.get("flow")))).unwrap_or_default();
    let visit = Visit::new(&st, &headers, format!("{}/code?flow={id}", path(&st)));
    let s = match logged_in(&st, &headers, &visit).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    code_inner(&st, &visit, &s, &id, &form)
        .await
        .unwrap_or_else(|e| failure(&st, &headers, &e))
}

async fn code_inner(
    st: &PortalState,
    visit: &Visit,
    s: &LocalSession,
    id: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let Some(flow) = load_change(st, visit, id, s).await? else {
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    let to = flow.data.new_email.clone();
    if !visit.csrf_ok(st, form) {
        let alert = Alert::new(AlertKind::Warning, tr.t("account-form-stale"));
        return Ok(render_code(
            st,
            visit,
            &flow.id,
            &to,
            None,
            Some(alert),
            StatusCode::FORBIDDEN,
        ));
    }
    let now = st.portals.now();
    if form.get("action") == "renvoyer" {
        let mut tx = st.portals.store().begin().await?;
        let sent = send_code(
            st,
            &mut tx,
            &flow.id,
            &s.account.idnat,
            &to,
            visit.ctx.locale(),
        )
        .await?;
        tx.commit().await?;
        let alert = match sent {
            Ok(()) => Alert::new(AlertKind::Info, tr.t("account-code-resent")).id("code-renvoye"),
            Err(r) => refusal(visit.tr(), r),
        };
        return Ok(render_code(
            st,
            visit,
            &flow.id,
            &to,
            None,
            Some(alert),
            StatusCode::OK,
        ));
    }
    let typed = match code_sender::typed_code(form) {
        Ok(t) => t,
        Err(key) => {
            let e = Some(tr.t(key));
            return Ok(render_code(
                st,
                visit,
                &flow.id,
                &to,
                e,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
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
            let alert = Alert::new(AlertKind::Error, tr.t("account-code-dead-settings"));
            let email = s.account.email.clone();
            return Ok(render(
                st,
                visit,
                s,
                &email,
                &BTreeMap::new(),
                Some(alert),
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
            &to,
            Some(e),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    match accounts::set_email(&mut tx, &s.account, &to, now).await? {
        Ok(()) => {
            super::notify_email_changed(
                st,
                &mut tx,
                &s.account.email,
                &to,
                now,
                visit.ctx.locale(),
            )
            .await?;
            flows::delete(&mut tx, &flow.id).await?;
            tx.commit().await?;
            Ok(visit.redirect(st, &format!("{}?email=1", path(st)), Vec::new()))
        }
        Err(_) => {
            drop(tx);
            let mut errors = BTreeMap::new();
            errors.insert("email", tr.t("account-error-email-taken"));
            Ok(render(
                st,
                visit,
                s,
                &to,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}
