//! The "Clé de sécurité" tab after typing the identifier (PSC-07, PSC-02): the professional
//! types an identifier (RPPS, ADELI or idNat, as on the e-CPS tab), `options` answers a
//! challenge limited to that professional's keys (`allowCredentials`), so a key that keeps
//! no credential of its own (registered without a resident key) logs in too; `finish`
//! verifies the assertion against those keys only and ends the flow like every login.
//!
//! The answer must not tell whether an identifier exists or has keys (user enumeration of
//! a health identity system): an identifier without keys, known or not, gets a challenge
//! of the same shape whose credential ids are decoys, an HMAC of the identifier under a key
//! derived from the instance secret (stable, so asking again looks the same; the same on
//! every node). The registry is not read at all. A decoy ceremony fails the way a key of
//! someone else fails, and so does every assertion that does not carry a valid signature
//! of one of the professional's keys (user verification flag, unknown key, bad signature):
//! only a holder of the key can tell more (a counter that does not grow). Every identifier
//! asked costs the source's login budget and the identifier's own (or, for a browser that
//! logged this professional in recently, that browser's); refusals are audited.

use super::{store, AMR, AUTH_MODE};
use crate::{Idp, IdpError, REALM_PATH};
use aws_lc_rs::hmac;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;
use caducee_core::source::ClientSource;
use caducee_pages::{Arg, PageCtx};
use caducee_store::throttle::{Limit, Verdict};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential, WebauthnError};

/// The ceremony kind of an identifier-bound login (the key-alone one is `login`).
pub(crate) const KIND: &str = "login_id";

/// Challenges one identifier may be given per 10 minutes, whoever asks (counted for every
/// identifier, known or not, so the limit itself tells nothing).
pub(crate) const PER_IDENTIFIER: Limit = Limit::new("idp.webauthn.identifier", 10, 600);
/// Challenges a browser that logged the professional in recently may ask per 10 minutes
/// (its own budget: strangers typing the identifier cannot lock the professional out).
pub(crate) const PER_KNOWN_BROWSER: Limit = Limit::new("idp.webauthn.known_browser", 10, 600);

/// How many bytes a decoy credential id has: the length of the non-resident credential ids
/// of common roaming security keys.
pub(crate) const DECOY_ID_LEN: usize = 64;

pub(crate) fn options_url(idp: &Idp, flow: &str) -> String {
    format!(
        "{}{REALM_PATH}/login/{flow}/key/identifiant/options",
        idp.public_url()
    )
}

pub(crate) fn action_url(idp: &Idp, flow: &str) -> String {
    format!(
        "{}{REALM_PATH}/login/{flow}/key/identifiant",
        idp.public_url()
    )
}

/// The ceremony's state: whose keys were asked for, and webauthn-rs's state when there
/// were keys (none: decoys were given).
#[derive(Serialize, Deserialize)]
struct IdentifiedState {
    idnat: String,
    auth: Option<PasskeyAuthentication>,
}

/// The decoy credential ids of an identifier: one or two (as many professionals have one
/// key or two), each [`DECOY_ID_LEN`] bytes, all from the HMAC of the identifier.
pub(crate) fn decoy_ids(key: &hmac::Key, idnat: &str) -> Vec<Vec<u8>> {
    let mac = |label: &str| hmac::sign(key, format!("{label}\n{idnat}").as_bytes());
    let count = 1 + usize::from(mac("count").as_ref()[0] % 2);
    (0..count)
        .map(|i| {
            let mut id = Vec::with_capacity(DECOY_ID_LEN);
            let mut block = 0;
            while id.len() < DECOY_ID_LEN {
                id.extend_from_slice(mac(&format!("id {i} {block}")).as_ref());
                block += 1;
            }
            id.truncate(DECOY_ID_LEN);
            id
        })
        .collect()
}

/// The `publicKey` options the browser is given, in one shape for real keys and decoys:
/// the challenge and its frame from webauthn-rs, the credentials as bare ids (stored
/// transports would tell real keys from decoys).
fn public_key(
    rcr: &webauthn_rs::prelude::RequestChallengeResponse,
    ids: &[Vec<u8>],
) -> Result<serde_json::Value, IdpError> {
    let pk =
        serde_json::to_value(&rcr.public_key).map_err(|e| IdpError::Internal(e.to_string()))?;
    let allow: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({ "type": "public-key", "id": store::cred_id_text(id) }))
        .collect();
    Ok(serde_json::json!({
        "challenge": pk["challenge"],
        "timeout": pk["timeout"],
        "rpId": pk["rpId"],
        "allowCredentials": allow,
        "userVerification": "required",
    }))
}

#[derive(Deserialize)]
pub(crate) struct OptionsInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifier_type: String,
    #[serde(default)]
    identifier: String,
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

pub(crate) async fn options(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    source: Option<Extension<ClientSource>>,
    Path(flow): Path<String>,
    Json(input): Json<OptionsInput>,
) -> Response {
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    match options_inner(&idp, &ctx, &jar, &source, &flow, &input).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "security key options (identifier) failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ctx.t("webauthn-unavailable"),
            )
        }
    }
}

/// Counts one challenge for `idnat` and says whether it is within the limits.
async fn budget(
    idp: &Idp,
    jar: &CookieJar,
    source: &ClientSource,
    idnat: &str,
) -> Result<Verdict, IdpError> {
    let now = idp.now();
    let known = crate::browser::known_browser_key(idp, jar, idnat).await?;
    let mut conn = idp.store().pool().acquire().await?;
    if let Some(key) = known {
        return Ok(PER_KNOWN_BROWSER.hit(&mut conn, &key, now).await?);
    }
    // Both are counted, whichever refuses: whoever keeps knocking stays out.
    let by_source = crate::browser::logins_per_source(idp)
        .hit(&mut conn, &source.throttle_key(), now)
        .await?;
    let by_identifier = PER_IDENTIFIER.hit(&mut conn, idnat, now).await?;
    Ok(match (by_source, by_identifier) {
        (
            Verdict::Refused {
                retry_after_secs: a,
            },
            Verdict::Refused {
                retry_after_secs: b,
            },
        ) => Verdict::Refused {
            retry_after_secs: a.max(b),
        },
        (r @ Verdict::Refused { .. }, _) | (_, r @ Verdict::Refused { .. }) => r,
        _ => Verdict::Allowed,
    })
}

async fn options_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    source: &ClientSource,
    flow: &str,
    input: &OptionsInput,
) -> Result<Response, IdpError> {
    if !crate::browser::csrf_valid(idp, jar, &super::login::csrf_purpose(flow), &input.csrf)
        || !crate::browser::flow_is_open(idp, jar, flow).await?
    {
        return Ok(json_error(
            StatusCode::FORBIDDEN,
            ctx.t("webauthn-flow-expired"),
        ));
    }
    // The identifier's form only (its digits), never whether it exists.
    let idnat = match crate::browser::parse_identifier(&input.identifier_type, &input.identifier) {
        Ok(i) => i.as_str().to_string(),
        Err(key) => return Ok(json_error(StatusCode::BAD_REQUEST, ctx.t(key))),
    };
    if let Verdict::Refused { retry_after_secs } = budget(idp, jar, source, &idnat).await? {
        tracing::warn!(source = %source, "security key challenges over the limit");
        store::audit(
            idp,
            None,
            "idp.webauthn.login_throttled",
            serde_json::json!({ "identifier": idnat, "flow": flow }),
        )
        .await?;
        let minutes = (retry_after_secs + 59) / 60;
        return Ok(json_error(
            StatusCode::TOO_MANY_REQUESTS,
            ctx.tr.t_with(
                "webauthn-identifier-too-many",
                &[("minutes", Arg::Num(minutes))],
            ),
        ));
    }
    let open = store::open_ceremonies(idp, "login", None, Some(flow)).await?
        + store::open_ceremonies(idp, KIND, None, Some(flow)).await?;
    if open >= super::MAX_OPEN_CEREMONIES {
        return Ok(json_error(
            StatusCode::TOO_MANY_REQUESTS,
            ctx.t("webauthn-too-many"),
        ));
    }
    let rp = super::relying_party(idp)?;
    let passkeys = store::passkeys_of(idp, &idnat).await?;
    let (rcr, ids, auth) = if passkeys.is_empty() {
        // No key (or no such professional): a real challenge with decoy credentials.
        let (rcr, _) = rp
            .start_discoverable_authentication()
            .map_err(|e| IdpError::Internal(format!("WebAuthn : {e}")))?;
        (rcr, decoy_ids(idp.webauthn_decoys(), &idnat), None)
    } else {
        let (rcr, state) = rp
            .start_passkey_authentication(&passkeys)
            .map_err(|e| IdpError::Internal(format!("WebAuthn : {e}")))?;
        let ids = passkeys
            .iter()
            .map(|p| {
                let id: &[u8] = p.cred_id().as_ref();
                id.to_vec()
            })
            .collect();
        (rcr, ids, Some(state))
    };
    let public_key = public_key(&rcr, &ids)?;
    let state = IdentifiedState { idnat, auth };
    let ceremony = store::start_ceremony(idp, KIND, None, Some(flow), &state).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "ceremony": ceremony, "publicKey": public_key })),
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
    #[serde(default)]
    identifier_type: String,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    remember: Option<String>,
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
            tracing::error!(error = %e, "security key login (identifier) failed");
            super::login::refusal(
                &idp,
                &ctx,
                &flow,
                StatusCode::INTERNAL_SERVER_ERROR,
                "webauthn-unavailable",
            )
        }
    }
}

/// The one refusal of everything a stranger can try without the key (403, the same page),
/// audited with the reason.
async fn not_for_identifier(
    idp: &Idp,
    ctx: &PageCtx,
    flow: &str,
    idnat: &str,
    reason: &str,
    key: Option<&str>,
) -> Result<Response, IdpError> {
    store::audit(
        idp,
        None,
        "idp.webauthn.login_refused",
        serde_json::json!({ "reason": reason, "identifier": idnat, "key": key, "flow": flow }),
    )
    .await?;
    Ok(super::login::refusal(
        idp,
        ctx,
        flow,
        StatusCode::FORBIDDEN,
        "webauthn-identified-refused",
    ))
}

async fn finish_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    flow: &str,
    input: FinishInput,
) -> Result<Response, IdpError> {
    use super::login::refusal;
    if !crate::browser::csrf_valid(idp, &jar, &super::login::csrf_purpose(flow), &input.csrf) {
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
    let Some(state) =
        store::take_ceremony::<IdentifiedState>(idp, &input.ceremony, KIND, None, Some(flow))
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
    let idnat = state.idnat;
    let Some(auth) = state.auth else {
        return not_for_identifier(idp, ctx, flow, &idnat, "no_key_for_identifier", None).await;
    };
    let raw_id: &[u8] = credential.raw_id.as_ref();
    let Some((key_id, owner, mut passkey, counter)) = store::key_by_cred(idp, raw_id).await? else {
        return not_for_identifier(idp, ctx, flow, &idnat, "unknown_key", None).await;
    };
    if owner != idnat {
        return not_for_identifier(idp, ctx, flow, &idnat, "key_of_another", Some(&key_id)).await;
    }
    let rp = super::relying_party(idp)?;
    let result = match rp.finish_passkey_authentication(&credential, &auth) {
        Ok(r) => r,
        // Checked after the signature: only the key's holder gets here.
        Err(WebauthnError::CredentialPossibleCompromise) => {
            tracing::warn!(key = %key_id, "security key counter did not grow: possible clone");
            store::audit(
                idp,
                Some(&idnat),
                "idp.webauthn.clone_suspected",
                serde_json::json!({ "key": key_id, "stored": counter }),
            )
            .await?;
            return Ok(refusal(
                idp,
                ctx,
                flow,
                StatusCode::FORBIDDEN,
                "webauthn-counter",
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "security key assertion (identifier) refused");
            return not_for_identifier(idp, ctx, flow, &idnat, &e.to_string(), Some(&key_id)).await;
        }
    };
    if !result.user_verified() {
        return not_for_identifier(
            idp,
            ctx,
            flow,
            &idnat,
            "no_user_verification",
            Some(&key_id),
        )
        .await;
    }
    let new_counter = i64::from(result.counter());
    if (new_counter > 0 || counter > 0) && new_counter <= counter {
        store::audit(
            idp,
            Some(&idnat),
            "idp.webauthn.clone_suspected",
            serde_json::json!({ "key": key_id, "stored": counter, "presented": new_counter }),
        )
        .await?;
        return Ok(refusal(
            idp,
            ctx,
            flow,
            StatusCode::FORBIDDEN,
            "webauthn-counter",
        ));
    }
    passkey.update_credential(&result);
    if !store::used(idp, &key_id, counter, new_counter, &passkey).await? {
        store::audit(
            idp,
            Some(&idnat),
            "idp.webauthn.clone_suspected",
            serde_json::json!({ "key": key_id, "stored": counter, "presented": new_counter, "race": true }),
        )
        .await?;
        return Ok(refusal(
            idp,
            ctx,
            flow,
            StatusCode::FORBIDDEN,
            "webauthn-counter",
        ));
    }
    store::audit(
        idp,
        Some(&idnat),
        "idp.webauthn.login",
        serde_json::json!({ "key": key_id, "flow": flow, "identifier": true }),
    )
    .await?;
    // « Mémoriser mon identifiant »: as typed, when it is the identifier that logged in.
    let typed = input.identifier.trim();
    let kind = match input.identifier_type.as_str() {
        k @ ("rpps" | "adeli" | "idnat") => k,
        _ => "rpps",
    };
    let same = crate::browser::parse_identifier(kind, typed).is_ok_and(|i| i.as_str() == idnat);
    let jar = if same {
        crate::browser::remember_identifier(idp, jar, input.remember.is_some(), kind, typed)
    } else {
        jar
    };
    crate::browser::complete_login(idp, ctx, jar, flow, &idnat, idp.now(), AMR, AUTH_MODE).await
}
