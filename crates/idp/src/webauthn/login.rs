//! The "Clé de sécurité" tab: a discoverable-credential login. The page's script asks
//! `options` for a challenge (a ceremony bound to the login flow), calls
//! `navigator.credentials.get`, and posts the assertion with the form to `finish`, which
//! verifies it (user verification, counter), and ends the flow like every login.

use super::{store, AMR, AUTH_MODE};
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use caducee_pages::PageCtx;
use serde::Deserialize;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, PublicKeyCredential, WebauthnError,
};

/// The CSRF purpose of a flow's key login.
pub(crate) fn csrf_purpose(flow: &str) -> String {
    format!("key:{flow}")
}

pub(crate) fn action_url(idp: &Idp, flow: &str) -> String {
    format!("{}{REALM_PATH}/login/{flow}/key", idp.public_url())
}

pub(crate) fn options_url(idp: &Idp, flow: &str) -> String {
    format!("{}{REALM_PATH}/login/{flow}/key/options", idp.public_url())
}

#[derive(Deserialize)]
pub(crate) struct OptionsInput {
    #[serde(default)]
    csrf: String,
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

pub(crate) async fn options(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(flow): Path<String>,
    Json(input): Json<OptionsInput>,
) -> Response {
    match options_inner(&idp, &ctx, &jar, &flow, &input).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "security key options failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ctx.t("webauthn-unavailable"),
            )
        }
    }
}

async fn options_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    flow: &str,
    input: &OptionsInput,
) -> Result<Response, IdpError> {
    if !crate::browser::csrf_valid(idp, jar, &csrf_purpose(flow), &input.csrf)
        || !crate::browser::flow_is_open(idp, jar, flow).await?
    {
        return Ok(json_error(
            StatusCode::FORBIDDEN,
            ctx.t("webauthn-flow-expired"),
        ));
    }
    if store::open_ceremonies(idp, "login", None, Some(flow)).await? >= super::MAX_OPEN_CEREMONIES {
        return Ok(json_error(
            StatusCode::TOO_MANY_REQUESTS,
            ctx.t("webauthn-too-many"),
        ));
    }
    let rp = super::relying_party(idp)?;
    let (mut rcr, state) = rp
        .start_discoverable_authentication()
        .map_err(|e| IdpError::Internal(format!("WebAuthn : {e}")))?;
    // The modal "choose a key" dialog of a button, not the autofill of conditional UI.
    rcr.mediation = None;
    let ceremony = store::start_ceremony(idp, "login", None, Some(flow), &state).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "ceremony": ceremony, "publicKey": rcr.public_key })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct FinishInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

pub(crate) async fn finish(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(flow): Path<String>,
    Form(input): Form<FinishInput>,
) -> Response {
    match finish_inner(&idp, &ctx, jar, &flow, input).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "security key login failed");
            refusal(
                &idp,
                &ctx,
                &flow,
                StatusCode::INTERNAL_SERVER_ERROR,
                "webauthn-unavailable",
            )
        }
    }
}

/// The page that says why the key was not accepted, with the way back to the key tab.
pub(super) fn refusal(
    idp: &Idp,
    ctx: &PageCtx,
    flow: &str,
    status: StatusCode,
    key: &str,
) -> Response {
    let back = format!("{}{REALM_PATH}/login/{flow}?tab=cle", idp.public_url());
    crate::browser::message_page(
        ctx,
        status,
        &ctx.t("webauthn-login-refused-title"),
        &ctx.t(key),
        Some((&back, &ctx.t("webauthn-login-retry"))),
    )
}

/// Records why a key login was refused, then says so (403).
async fn refuse(
    idp: &Idp,
    ctx: &PageCtx,
    flow: &str,
    idnat: Option<&str>,
    action: &str,
    details: serde_json::Value,
    key: &str,
) -> Result<Response, IdpError> {
    store::audit(idp, idnat, action, details).await?;
    Ok(refusal(idp, ctx, flow, StatusCode::FORBIDDEN, key))
}

async fn finish_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    flow: &str,
    input: FinishInput,
) -> Result<Response, IdpError> {
    if !crate::browser::csrf_valid(idp, &jar, &csrf_purpose(flow), &input.csrf) {
        return Ok(refusal(
            idp,
            ctx,
            flow,
            StatusCode::FORBIDDEN,
            "webauthn-flow-expired",
        ));
    }
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(&input.credential) else {
        return Ok(refusal(
            idp,
            ctx,
            flow,
            StatusCode::BAD_REQUEST,
            "webauthn-no-answer",
        ));
    };
    let Some(state) = store::take_ceremony::<DiscoverableAuthentication>(
        idp,
        &input.ceremony,
        "login",
        None,
        Some(flow),
    )
    .await?
    else {
        return Ok(refusal(
            idp,
            ctx,
            flow,
            StatusCode::GONE,
            "webauthn-ceremony-expired",
        ));
    };
    let rp = super::relying_party(idp)?;
    let Ok((handle, cred_id)) = rp.identify_discoverable_authentication(&credential) else {
        return Ok(refusal(
            idp,
            ctx,
            flow,
            StatusCode::FORBIDDEN,
            "webauthn-unknown-key",
        ));
    };
    let Some((key_id, idnat, mut passkey, counter)) = store::key_by_cred(idp, cred_id).await?
    else {
        return refuse(
            idp,
            ctx,
            flow,
            None,
            "idp.webauthn.login_refused",
            serde_json::json!({ "reason": "unknown_key" }),
            "webauthn-unknown-key",
        )
        .await;
    };
    if store::idnat_of_handle(idp, &handle).await?.as_deref() != Some(idnat.as_str()) {
        return refuse(
            idp,
            ctx,
            flow,
            Some(&idnat),
            "idp.webauthn.login_refused",
            serde_json::json!({ "reason": "user_handle", "key": key_id }),
            "webauthn-unknown-key",
        )
        .await;
    }
    let result = match rp.finish_discoverable_authentication(
        &credential,
        state,
        &[DiscoverableKey::from(&passkey)],
    ) {
        Ok(r) => r,
        // webauthn-rs checks the counter against the stored one first (clone detection).
        Err(WebauthnError::CredentialPossibleCompromise) => {
            tracing::warn!(key = %key_id, "security key counter did not grow: possible clone");
            return refuse(
                idp,
                ctx,
                flow,
                Some(&idnat),
                "idp.webauthn.clone_suspected",
                serde_json::json!({ "key": key_id, "stored": counter }),
                "webauthn-counter",
            )
            .await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "security key assertion refused");
            return refuse(
                idp,
                ctx,
                flow,
                Some(&idnat),
                "idp.webauthn.login_refused",
                serde_json::json!({ "reason": e.to_string(), "key": key_id }),
                "webauthn-assertion-refused",
            )
            .await;
        }
    };
    if !result.user_verified() {
        return refuse(
            idp,
            ctx,
            flow,
            Some(&idnat),
            "idp.webauthn.login_refused",
            serde_json::json!({ "reason": "no_user_verification", "key": key_id }),
            "webauthn-no-uv",
        )
        .await;
    }
    // Clone detection: a counter that a key reports must grow at every use.
    let new_counter = i64::from(result.counter());
    if (new_counter > 0 || counter > 0) && new_counter <= counter {
        return refuse(
            idp,
            ctx,
            flow,
            Some(&idnat),
            "idp.webauthn.clone_suspected",
            serde_json::json!({ "key": key_id, "stored": counter, "presented": new_counter }),
            "webauthn-counter",
        )
        .await;
    }
    passkey.update_credential(&result);
    if !store::used(idp, &key_id, counter, new_counter, &passkey).await? {
        return refuse(idp, ctx, flow, Some(&idnat), "idp.webauthn.clone_suspected", serde_json::json!({ "key": key_id, "stored": counter, "presented": new_counter, "race": true }), "webauthn-counter").await;
    }
    store::audit(
        idp,
        Some(&idnat),
        "idp.webauthn.login",
        serde_json::json!({ "key": key_id, "flow": flow }),
    )
    .await?;
    crate::browser::complete_login(idp, ctx, jar, flow, &idnat, idp.now(), AMR, AUTH_MODE).await
}
