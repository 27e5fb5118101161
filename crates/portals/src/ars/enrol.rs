//! Enrolment of an agent by the link `caducee ars agent add` printed: the link's page only
//! shows a button (a mail scanner following the link does not use it); its POST uses the
//! link once and opens an enrolment session; the agent chooses a password (the kit's
//! password component, rules and strength of `caducee_passwords`), then scans the QR code
//! (or types the secret) into an authenticator app and confirms with a first code. Then
//! the agent is active and logged in.

use super::agents::{self, AgentState};
use super::login::use_code;
use super::pages::{Block, FormPart, Page, Section};
use super::session::{self, Stage};
use super::{totp, ArsState, Visit, BASE};
use crate::local::Form;
use crate::one_time;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use caducee_pages::{Arg, Button, ButtonKind, Field, PasswordInput};
use caducee_passwords::strength::{Personal, Rules};

/// The agents' password rules: RPLUS's (12 characters, upper, lower, digit or special).
const RULES: Rules = Rules::RPLUS;

fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn invalid_link(st: &ArsState, v: &Visit) -> Response {
    let body = super::pages::message(
        &v.ctx,
        &v.t("ars-enrol-invalid-title"),
        &v.t("ars-enrol-invalid-text"),
        None,
    );
    v.page(st, StatusCode::NOT_FOUND, body)
}

/// `GET /ars/enrolement/{token}`: what the link does, and the button that does it.
pub(crate) async fn link_page(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let path = format!("/ars/enrolement/{token}");
    let v = Visit::new(&st, &headers, path.clone());
    if !valid_token(&token) {
        return invalid_link(&st, &v);
    }
    let info = async {
        let mut conn = st.portals.store().pool().acquire().await?;
        one_time::peek_link(&mut conn, st.portals.one_time(), &token, st.now()).await
    }
    .await;
    match info {
        Ok(Some(i)) if i.portal == agents::LINK_PORTAL && i.purpose == agents::LINK_PURPOSE => {
            let mut page = Page::new(&v.ctx, v.t("ars-enrol-title"));
            page.intro.push(v.t("ars-enrol-intro"));
            page.intro.push(v.t("ars-enrol-needs"));
            page = page.section(
                Section::untitled().form(
                    FormPart::new(path, v.csrf())
                        .button(Button::new(v.t("ars-enrol-start"), ButtonKind::Primary)),
                ),
            );
            v.page(&st, StatusCode::OK, page.render())
        }
        Ok(_) => invalid_link(&st, &v),
        Err(e) => st.fail(&headers, &e),
    }
}

/// `POST /ars/enrolement/{token}`: uses the link; an enrolment session.
pub(crate) async fn use_link(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/enrolement/{token}"));
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    if !valid_token(&token) {
        return invalid_link(&st, &v);
    }
    let result = async {
        let now = st.now();
        let mut tx = st.portals.store().begin().await?;
        let info = one_time::consume_link(&mut tx, st.portals.one_time(), &token, now).await?;
        let Some(info) =
            info.filter(|i| i.portal == agents::LINK_PORTAL && i.purpose == agents::LINK_PURPOSE)
        else {
            return Ok(None);
        };
        let Some((agent, _)) = agents::by_id(&mut tx, &info.account_id).await? else {
            return Ok(None);
        };
        if agent.state == AgentState::Removed {
            return Ok(None);
        }
        let secret = session::open(&mut tx, &agent.id, Stage::Enrol, now).await?;
        agents::audit_event(
            &mut tx,
            now,
            &agent.actor(),
            "ars.agent.enrolment_link_used",
            None,
            serde_json::json!({ "agent": agent.id }),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, PortalError>(Some(secret))
    }
    .await;
    match result {
        Ok(Some(secret)) => v.redirect(
            &st,
            "/ars/activation/mot-de-passe",
            vec![st.session_cookie(&secret)],
        ),
        Ok(None) => invalid_link(&st, &v),
        Err(e) => st.fail(&headers, &e),
    }
}

fn rule_text(v: &Visit, key: &str) -> String {
    v.ctx
        .tr
        .t_with(key, &[("n", Arg::Num(RULES.min_chars as i64))])
}

fn password_form(
    st: &ArsState,
    v: &Visit,
    errors: [Option<String>; 2],
    status: StatusCode,
) -> Response {
    let [e1, e2] = errors;
    let mut page = Page::new(&v.ctx, v.t("ars-enrol-password-title"));
    page.intro.push(v.t("ars-enrol-password-intro"));
    let mut p = PasswordInput::new(
        &v.ctx.tr,
        "mot_de_passe",
        v.t("ars-enrol-password-label"),
        true,
    );
    for (key, _) in RULES.check("") {
        p = p.rule(rule_text(v, key), false);
    }
    p.field = p.field.clone().error(e1);
    let mut confirm = PasswordInput::new(
        &v.ctx.tr,
        "mot_de_passe_confirmation",
        v.t("ars-enrol-password-confirm"),
        false,
    );
    confirm.field.autocomplete = Some("new-password");
    confirm.field = confirm.field.clone().error(e2);
    let form = FormPart::new("/ars/activation/mot-de-passe", v.csrf())
        .block(Block::Password(p))
        .block(Block::Password(confirm))
        .button(Button::new(v.t("ars-enrol-continue"), ButtonKind::Primary));
    page = page.section(Section::untitled().form(form)).summarize();
    v.page(st, status, page.render())
}

/// `GET /ars/activation/mot-de-passe`.
pub(crate) async fn password_page(State(st): State<ArsState>, headers: HeaderMap) -> Response {
    let v = Visit::new(&st, &headers, "/ars/activation/mot-de-passe");
    match st.session_at(&headers, Stage::Enrol).await {
        Ok(Some(_)) => password_form(&st, &v, [None, None], StatusCode::OK),
        Ok(None) => v.redirect(&st, BASE, Vec::new()),
        Err(e) => st.fail(&headers, &e),
    }
}

/// `POST /ars/activation/mot-de-passe`: the password is kept (argon2id) and a TOTP secret
/// drawn, waiting for its first code.
pub(crate) async fn password_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, "/ars/activation/mot-de-passe");
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        let Some(s) = st.session_at(&headers, Stage::Enrol).await? else {
            return Ok(v.redirect(&st, BASE, Vec::new()));
        };
        let password = form.get("mot_de_passe");
        let confirm = form.get("mot_de_passe_confirmation");
        let names: Vec<&str> = s.agent.name.split_whitespace().collect();
        let personal = Personal {
            names: &names,
            rpps: None,
            birth_date: None,
            email: Some(&s.agent.email),
        };
        if let Err(key) = crate::local::strength::acceptable(&RULES, password, &personal) {
            return Ok(password_form(
                &st,
                &v,
                [Some(rule_text(&v, key)), None],
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        if password != confirm {
            return Ok(password_form(
                &st,
                &v,
                [None, Some(v.t("account-error-password-confirm"))],
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        let hash = st
            .portals
            .passwords()
            .hash(password)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        let secret = totp::new_secret()?;
        let sealed = st.portals.ars_sealer().seal(&s.agent.id, &secret)?;
        let now = st.now();
        let mut tx = st.portals.store().begin().await?;
        sqlx::query(
            "UPDATE ars_agent SET password_hash = $1, totp_pending = $2, updated_at = $3
             WHERE id = $4",
        )
        .bind(&hash)
        .bind(&sealed)
        .bind(now)
        .bind(&s.agent.id)
        .execute(&mut *tx)
        .await?;
        agents::audit_event(
            &mut tx,
            now,
            &s.agent.actor(),
            "ars.agent.password_set",
            None,
            serde_json::json!({ "agent": s.agent.id }),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, PortalError>(v.redirect(&st, "/ars/activation/double-authentification", Vec::new()))
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// The pending secret of an enrolling agent, opened.
async fn pending_secret(
    st: &ArsState,
    headers: &HeaderMap,
) -> Result<Option<(session::ArsSession, Vec<u8>)>, PortalError> {
    let Some(s) = st.session_at(headers, Stage::Enrol).await? else {
        return Ok(None);
    };
    let mut conn = st.portals.store().pool().acquire().await?;
    let Some((_, secrets)) = agents::by_id(&mut conn, &s.agent.id).await? else {
        return Ok(None);
    };
    match (secrets.password_hash, secrets.totp_pending) {
        (Some(_), Some(sealed)) => {
            let secret = st.portals.ars_sealer().open(&s.agent.id, &sealed)?;
            Ok(Some((s, secret)))
        }
        _ => Ok(None),
    }
}

fn totp_form(
    st: &ArsState,
    v: &Visit,
    email: &str,
    secret: &[u8],
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let mut page = Page::new(&v.ctx, v.t("ars-enrol-totp-title"));
    page.intro.push(v.t("ars-enrol-totp-intro"));
    let base32 = totp::base32(secret)?;
    // Groups of four, as apps show them; typed with or without the spaces.
    let grouped = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let form = FormPart::new("/ars/activation/double-authentification", v.csrf())
        .block(Block::Image {
            src: "/ars/activation/qr.svg".to_string(),
            alt: v.t("ars-enrol-totp-qr-alt"),
        })
        .block(Block::Shown {
            label: v.t("ars-enrol-totp-secret"),
            value: grouped,
        })
        .block(Block::Shown {
            label: v.t("ars-enrol-totp-account"),
            value: format!("{} ({email})", totp::ISSUER),
        })
        .block(Block::Field(
            Field::code("code", v.t("ars-code-label"))
                .hint(v.t("ars-code-hint"))
                .error(error),
        ))
        .button(Button::new(v.t("ars-enrol-finish"), ButtonKind::Primary));
    page = page.section(Section::untitled().form(form)).summarize();
    Ok(v.page(st, status, page.render()))
}

/// `GET /ars/activation/double-authentification`: the QR code, the secret, the first code.
pub(crate) async fn totp_page(State(st): State<ArsState>, headers: HeaderMap) -> Response {
    let v = Visit::new(&st, &headers, "/ars/activation/double-authentification");
    let result = async {
        match pending_secret(&st, &headers).await? {
            Some((s, secret)) => totp_form(&st, &v, &s.agent.email, &secret, None, StatusCode::OK),
            None => Ok(v.redirect(&st, BASE, Vec::new())),
        }
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `GET /ars/activation/qr.svg`: the `otpauth://` URI as a QR code, to this session only.
pub(crate) async fn qr(State(st): State<ArsState>, headers: HeaderMap) -> Response {
    let result = async {
        let Some((s, secret)) = pending_secret(&st, &headers).await? else {
            return Ok(StatusCode::NOT_FOUND.into_response());
        };
        let svg = totp::qr_svg(&totp::uri(&secret, &s.agent.email)?)?;
        Ok::<_, PortalError>(
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("image/svg+xml"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                svg,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `POST /ars/activation/double-authentification`: the first code confirms the secret;
/// the agent is active and logged in.
pub(crate) async fn totp_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, "/ars/activation/double-authentification");
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        let Some((s, secret)) = pending_secret(&st, &headers).await? else {
            return Ok(v.redirect(&st, BASE, Vec::new()));
        };
        let now = st.now();
        let typed = form.trimmed("code");
        let mut tx = st.portals.store().begin().await?;
        let sealed = st.portals.ars_sealer().seal(&s.agent.id, &secret)?;
        // Checked as a login checks it, against the pending secret.
        let ok = use_code(&st, &mut tx, &s.agent.id, &sealed, None, typed, now).await?;
        if !ok {
            agents::audit_event(
                &mut tx,
                now,
                &s.agent.actor(),
                "ars.agent.enrolment_code_failed",
                None,
                serde_json::json!({ "agent": s.agent.id }),
            )
            .await?;
            tx.commit().await?;
            let error = if typed.is_empty() {
                v.t("ars-code-empty")
            } else {
                v.t("ars-code-wrong")
            };
            return totp_form(
                &st,
                &v,
                &s.agent.email,
                &secret,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        sqlx::query(
            "UPDATE ars_agent SET totp_sealed = $1, totp_pending = NULL, state = 'active',
                updated_at = $2 WHERE id = $3",
        )
        .bind(&sealed)
        .bind(now)
        .bind(&s.agent.id)
        .execute(&mut *tx)
        .await?;
        let cookie = session::promote(&mut tx, &s, Stage::Full, now).await?;
        agents::audit_event(
            &mut tx,
            now,
            &s.agent.actor(),
            "ars.agent.enrolled",
            None,
            serde_json::json!({ "agent": s.agent.id, "second_factor": "totp" }),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, PortalError>(v.redirect(&st, "/ars?bienvenue=1", vec![st.session_cookie(&cookie)]))
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}
