//! The agents' login: e-mail + password, then the TOTP code of their app. Each step's
//! failures are throttled in the database per agent and per source (every node counts
//! the same); a TOTP code is accepted once (its time step must be later than the last one
//! used, set by a conditional UPDATE, so two nodes cannot both accept it). A login for an
//! e-mail without an agent costs the same argon2 work. Every outcome is audited.

use super::agents::{self, AgentState};
use super::pages::{Block, FormPart, Page, Section};
use super::session::{self, Stage};
use super::{totp, ArsState, Visit, BASE};
use crate::local::Form;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use caducee_core::mask::mask_email;
use caducee_core::source::ClientSource;
use caducee_pages::{Alert, AlertKind, Arg, Button, ButtonKind, Field, PasswordInput};
use caducee_store::throttle::{Limit, Verdict};

/// Wrong passwords for one agent's e-mail per 15 minutes.
const PASSWORD_PER_AGENT: Limit = Limit::new("ars.login.agent", 5, 900);
/// Wrong passwords from one source per 15 minutes.
const PASSWORD_PER_SOURCE: Limit = Limit::new("ars.login.source", 30, 900);
/// Wrong TOTP codes for one agent per 15 minutes.
const TOTP_PER_AGENT: Limit = Limit::new("ars.totp.agent", 5, 900);
/// Wrong TOTP codes from one source per 15 minutes.
const TOTP_PER_SOURCE: Limit = Limit::new("ars.totp.source", 30, 900);

fn source_of(source: Option<Extension<ClientSource>>) -> ClientSource {
    source.map_or_else(ClientSource::unknown, |Extension(s)| s)
}

/// The login form, with what was typed and the error, if any.
pub(crate) fn login_form(
    st: &ArsState,
    v: &Visit,
    email: &str,
    error: Option<String>,
    notice: Option<Alert>,
    status: StatusCode,
) -> Response {
    let mut page = Page::new(&v.ctx, v.t("ars-login-title"));
    page.intro.push(v.t("ars-login-intro"));
    if let Some(n) = notice {
        page = page.alert(n);
    }
    if let Some(e) = &error {
        page = page.alert(Alert::new(AlertKind::Error, e.clone()));
    }
    let form = FormPart::new("/ars/connexion", v.csrf())
        .block(Block::Field(
            Field::new("email", v.t("ars-login-email"))
                .kind("email")
                .autocomplete("username")
                .value(email)
                .required(),
        ))
        .block(Block::Password(PasswordInput::new(
            &v.ctx.tr,
            "mot_de_passe",
            v.t("ars-login-password"),
            false,
        )))
        .button(Button::new(v.t("ars-login-submit"), ButtonKind::Primary));
    page = page.section(Section::untitled().form(form));
    v.page(st, status, page.render())
}

fn wait_text(v: &Visit, secs: i64) -> String {
    v.ctx.tr.t_with(
        "ars-login-throttled",
        &[("minutes", Arg::Num((secs + 59) / 60))],
    )
}

async fn wait(
    st: &ArsState,
    limits: &[(Limit, String)],
    now: i64,
) -> Result<Option<i64>, PortalError> {
    let mut conn = st.portals.store().pool().acquire().await?;
    for (limit, key) in limits {
        if let Verdict::Refused { retry_after_secs } = limit
            .peek(&mut conn, key, now)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?
        {
            return Ok(Some(retry_after_secs));
        }
    }
    Ok(None)
}

async fn hit(
    conn: &mut sqlx::AnyConnection,
    limits: &[(Limit, String)],
    now: i64,
) -> Result<(), PortalError> {
    for (limit, key) in limits {
        limit
            .hit(&mut *conn, key, now)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
    }
    Ok(())
}

/// `POST /ars/connexion`: e-mail + password. Right: a session waiting for the TOTP code.
pub(crate) async fn password(
    State(st): State<ArsState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, BASE);
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    match password_step(&st, &v, &form, &source_of(source)).await {
        Ok(r) => r,
        Err(e) => st.fail(&headers, &e),
    }
}

async fn password_step(
    st: &ArsState,
    v: &Visit,
    form: &Form,
    source: &ClientSource,
) -> Result<Response, PortalError> {
    let email = form.trimmed("email");
    let typed = form.get("mot_de_passe");
    if email.is_empty() || typed.is_empty() {
        return Ok(login_form(
            st,
            v,
            email,
            Some(v.t("ars-login-missing")),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let now = st.now();
    let limits = [
        (PASSWORD_PER_AGENT, agents::folded(email)),
        (PASSWORD_PER_SOURCE, source.throttle_key()),
    ];
    if let Some(secs) = wait(st, &limits, now).await? {
        return Ok(login_form(
            st,
            v,
            email,
            Some(wait_text(v, secs)),
            None,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let found = {
        let mut conn = st.portals.store().pool().acquire().await?;
        agents::by_email(&mut conn, email).await?
    };
    let hasher = st.portals.passwords();
    let hash = match found.as_ref().and_then(|(_, s)| s.password_hash.clone()) {
        Some(h) => h,
        // The same argon2 work without an agent or a password: the time tells nothing.
        None => crate::accounts::dummy_hash(hasher).await?,
    };
    let verified = hasher
        .verify(typed, &hash)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = st.portals.store().begin().await?;
    match found {
        Some((agent, secrets))
            if verified && agent.state == AgentState::Active && secrets.totp_sealed.is_some() =>
        {
            PASSWORD_PER_AGENT
                .reset(&mut tx, &limits[0].1)
                .await
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            let secret = session::open(&mut tx, &agent.id, Stage::Password, now).await?;
            agents::audit_event(
                &mut tx,
                now,
                &agent.actor(),
                "ars.login.password_ok",
                None,
                serde_json::json!({ "agent": agent.id, "source": source.throttle_key() }),
            )
            .await?;
            tx.commit().await?;
            Ok(v.redirect(st, "/ars/code", vec![st.session_cookie(&secret)]))
        }
        found => {
            hit(&mut tx, &limits, now).await?;
            agents::audit_event(
                &mut tx,
                now,
                "anonymous",
                "ars.login.failed",
                None,
                serde_json::json!({
                    "email": mask_email(email),
                    "agent": found.as_ref().map(|(a, _)| a.id.clone()),
                    "source": source.throttle_key(),
                }),
            )
            .await?;
            tx.commit().await?;
            Ok(login_form(
                st,
                v,
                email,
                Some(v.t("ars-login-refused")),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

fn code_form(st: &ArsState, v: &Visit, error: Option<String>, status: StatusCode) -> Response {
    let mut page = Page::new(&v.ctx, v.t("ars-code-title"));
    page.intro.push(v.t("ars-code-intro"));
    let field = Field::code("code", v.t("ars-code-label"))
        .hint(v.t("ars-code-hint"))
        .error(error);
    let form = FormPart::new("/ars/code", v.csrf())
        .block(Block::Field(field))
        .button(Button::new(v.t("ars-code-submit"), ButtonKind::Primary));
    page = page.section(Section::untitled().form(form)).summarize();
    page.links
        .push(caducee_pages::Link::new(BASE, v.t("ars-code-restart")));
    v.page(st, status, page.render())
}

/// `GET /ars/code`: the TOTP code after a right password.
pub(crate) async fn code_page(State(st): State<ArsState>, headers: HeaderMap) -> Response {
    let v = Visit::new(&st, &headers, "/ars/code");
    match st.session_at(&headers, Stage::Password).await {
        Ok(Some(_)) => code_form(&st, &v, None, StatusCode::OK),
        Ok(None) => v.redirect(&st, BASE, Vec::new()),
        Err(e) => st.fail(&headers, &e),
    }
}

/// What a typed TOTP code does for `agent_id`, whose sealed secret is `sealed`: the step
/// it is the code of, when later than the last step used, is recorded as used.
pub(crate) async fn use_code(
    st: &ArsState,
    conn: &mut sqlx::AnyConnection,
    agent_id: &str,
    sealed: &str,
    last_step: Option<i64>,
    typed: &str,
    now: i64,
) -> Result<bool, PortalError> {
    let secret = st.portals.ars_sealer().open(agent_id, sealed)?;
    let Some(step) = totp::matching_step(&secret, typed, now)? else {
        return Ok(false);
    };
    if last_step.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    // Conditional: the same code typed on two nodes at once is used once.
    let used = sqlx::query(
        "UPDATE ars_agent SET totp_last_step = $1, updated_at = $2
         WHERE id = $3 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(now)
    .bind(agent_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(used == 1)
}

/// `POST /ars/code`.
pub(crate) async fn code_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, "/ars/code");
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        let Some(s) = st.session_at(&headers, Stage::Password).await? else {
            return Ok(v.redirect(&st, BASE, Vec::new()));
        };
        let source = source_of(source);
        let now = st.now();
        let limits = [
            (TOTP_PER_AGENT, s.agent.id.clone()),
            (TOTP_PER_SOURCE, source.throttle_key()),
        ];
        if let Some(secs) = wait(&st, &limits, now).await? {
            return Ok(code_form(
                &st,
                &v,
                Some(wait_text(&v, secs)),
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        let mut tx = st.portals.store().begin().await?;
        let Some((agent, secrets)) = agents::by_id(&mut tx, &s.agent.id).await? else {
            return Ok(v.redirect(&st, BASE, Vec::new()));
        };
        let Some(sealed) = secrets.totp_sealed.as_deref() else {
            return Ok(v.redirect(&st, BASE, Vec::new()));
        };
        let typed = form.trimmed("code");
        let ok = use_code(
            &st,
            &mut tx,
            &agent.id,
            sealed,
            secrets.totp_last_step,
            typed,
            now,
        )
        .await?;
        if ok {
            TOTP_PER_AGENT
                .reset(&mut tx, &agent.id)
                .await
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            let secret = session::promote(&mut tx, &s, Stage::Full, now).await?;
            agents::audit_event(
                &mut tx,
                now,
                &agent.actor(),
                "ars.login.ok",
                None,
                serde_json::json!({ "agent": agent.id, "source": source.throttle_key() }),
            )
            .await?;
            tx.commit().await?;
            return Ok(v.redirect(&st, BASE, vec![st.session_cookie(&secret)]));
        }
        hit(&mut tx, &limits, now).await?;
        agents::audit_event(
            &mut tx,
            now,
            &agent.actor(),
            "ars.login.second_factor_failed",
            None,
            serde_json::json!({ "agent": agent.id, "source": source.throttle_key() }),
        )
        .await?;
        tx.commit().await?;
        let error = if typed.is_empty() {
            v.t("ars-code-empty")
        } else {
            v.t("ars-code-wrong")
        };
        Ok::<_, PortalError>(code_form(
            &st,
            &v,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `POST /ars/deconnexion`: ends the session, back to the login form.
pub(crate) async fn logout(
    State(st): State<ArsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, BASE);
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        if let Some(s) = st.session(&headers).await? {
            let now = st.now();
            let mut tx = st.portals.store().begin().await?;
            session::end(&mut tx, &s.id_hash, now).await?;
            agents::audit_event(
                &mut tx,
                now,
                &s.agent.actor(),
                "ars.logout",
                None,
                serde_json::json!({ "agent": s.agent.id }),
            )
            .await?;
            tx.commit().await?;
        }
        Ok::<_, PortalError>(())
    }
    .await;
    match result {
        Ok(()) => v.redirect(&st, "/ars?deconnecte=1", vec![st.clear_session_cookie()]),
        Err(e) => st.fail(&headers, &e),
    }
}
