//! The e-CPS device API (`/ecps/api/v1/…`, DESIGN.md "e-CPS protocol"): activation by the
//! two codes, then device-signed calls (the `DPoP` header carries an ES256 JWS bound to the
//! method and to `public_url` + path) to long-poll the pending authentication requests,
//! answer one, and read the device's status. JSON in and out; an error is
//! `{"error": "<stable code>", "message": "<French>"}`, a server fault a 500 without details.
//!
//! Served by the e-CPS server component itself ([`router`]), which `web` only mounts, as it
//! mounts the identity provider's; the router also carries the web authenticator's page
//! (`/ecps`, [`crate::web`]), a client of this same API.
//!
//! Must never hold an e-CPS rule (everything is decided by [`EcpsServer`]), never log a
//! code, a password or a proof, and never answer a long-poll from memory: the pending
//! requests are read from the database so that any node answers (the e-CPS server only keeps
//! who waits on this node, to wake them).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use caducee_core::ids::IdNatPs;
use caducee_core::source::ClientSource;
use serde::{Deserialize, Serialize};

use crate::{ActivationStarted, DeviceRef, EcpsError, EcpsServer, Outcome, PendingRequest};

/// Default long-poll duration, in seconds.
pub const DEFAULT_WAIT_SECS: u64 = 25;
/// Longest long-poll, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// The header that carries the device proof.
pub const PROOF_HEADER: &str = "dpop";

/// What the handlers share: the e-CPS server of this node and the public URL the device
/// proofs are bound to.
#[derive(Clone)]
struct AppState {
    ecps: Arc<EcpsServer>,
    /// External base URL, without trailing slash (`htu` = this + path).
    public_url: Arc<str>,
}

/// The device API (`/ecps/api/v1/…`) of this node's e-CPS server. `public_url` is the
/// external base URL of the server, the one devices sign in their proofs (the same on every
/// node behind one name).
pub fn router(ecps: Arc<EcpsServer>, public_url: &str) -> Router {
    let web = crate::web::routes(ecps.clone(), public_url.trim_end_matches('/'));
    routes()
        .with_state(AppState {
            ecps,
            public_url: public_url.trim_end_matches('/').into(),
        })
        .merge(web)
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/ecps/api/v1/activations", post(start_activation))
        .route(
            "/ecps/api/v1/activations/{id}/resend",
            post(resend_activation),
        )
        .route(
            "/ecps/api/v1/activations/{id}/confirm",
            post(confirm_activation),
        )
        .route("/ecps/api/v1/requests", get(pending_requests))
        .route("/ecps/api/v1/requests/{id}", post(answer_request))
        .route("/ecps/api/v1/device", get(device_status))
}

// ------------------------------------------------------------------ errors

/// An error answer of the device API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// `Retry-After`, in seconds, for a rate limit's refusal.
    retry_after: Option<i64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: self.code,
            message: &self.message,
        });
        let mut response = (self.status, body).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("DPoP algs=\"ES256\""),
            );
        }
        response
    }
}

/// Status and stable code of each e-CPS error. Exhaustive on purpose: a new error must be
/// given its HTTP meaning here.
fn classify(e: &EcpsError) -> Option<(StatusCode, &'static str)> {
    use EcpsError as E;
    use StatusCode as S;
    Some(match e {
        E::BadId(_) => (S::BAD_REQUEST, "bad_id"),
        E::UnknownProfessional(_) => (S::NOT_FOUND, "unknown_professional"),
        E::MissingContact(_) => (S::CONFLICT, "missing_contact"),
        E::TooManyActivations { .. } => (S::TOO_MANY_REQUESTS, "too_many_activations"),
        E::TooManyFromSource { .. } => (S::TOO_MANY_REQUESTS, "too_many_from_source"),
        E::ActivationNotFound => (S::NOT_FOUND, "activation_not_found"),
        E::ActivationClosed => (S::GONE, "activation_closed"),
        E::ActivationExpired => (S::GONE, "activation_expired"),
        E::WrongCodes { .. } => (S::FORBIDDEN, "wrong_codes"),
        E::ActivationExhausted => (S::GONE, "activation_exhausted"),
        E::TooManyResends => (S::TOO_MANY_REQUESTS, "too_many_resends"),
        E::CardTokenRefused => (S::FORBIDDEN, "card_token_refused"),
        E::CardActivationExpired => (S::GONE, "activation_expired"),
        E::BadCardChallenge => (S::BAD_REQUEST, "bad_card_challenge"),
        E::BadPassword(_) => (S::BAD_REQUEST, "bad_password"),
        E::BadPublicKey => (S::BAD_REQUEST, "bad_public_key"),
        E::NoDevice => (S::NOT_FOUND, "no_device"),
        E::UnknownDevice => (S::UNAUTHORIZED, "unknown_device"),
        E::DeviceExpired => (S::FORBIDDEN, "device_expired"),
        E::DeviceLocked => (S::LOCKED, "device_locked"),
        E::TooManyPending => (S::TOO_MANY_REQUESTS, "too_many_pending"),
        E::TooManyRequests => (S::TOO_MANY_REQUESTS, "too_many_requests"),
        E::BadBinding => (S::BAD_REQUEST, "bad_binding"),
        E::RequestNotFound => (S::NOT_FOUND, "request_not_found"),
        E::RequestExpired => (S::GONE, "request_expired"),
        E::RequestClosed => (S::CONFLICT, "request_closed"),
        E::BadDeviceProof(_) => (S::UNAUTHORIZED, "bad_device_proof"),
        E::Hashing(_) | E::Corrupt(_) | E::Store(_) | E::Notify(_) => return None,
    })
}

impl From<EcpsError> for ApiError {
    fn from(e: EcpsError) -> ApiError {
        match classify(&e) {
            Some((status, code)) if e.is_client_error() => ApiError {
                retry_after: e.retry_after_secs(),
                ..ApiError::new(status, code, e.to_string())
            },
            _ => {
                tracing::error!(error = %e, "e-CPS : erreur du serveur");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "erreur interne du serveur : réessayez dans un instant",
                )
            }
        }
    }
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| {
        ApiError::bad_request(
            "bad_request",
            format!(
                "corps de requête invalide : un objet JSON avec les champs attendus est requis (statut {})",
                e.status().as_u16()
            ),
        )
    })
}

// ------------------------------------------------------------------ activation

#[derive(Deserialize)]
struct StartBody {
    id: String,
}

#[derive(Serialize)]
struct ActivationBody {
    activation_id: String,
    email_hint: String,
    sms_hint: String,
    expires_at: i64,
}

impl From<ActivationStarted> for ActivationBody {
    fn from(a: ActivationStarted) -> Self {
        ActivationBody {
            activation_id: a.activation_id,
            email_hint: a.email_hint,
            sms_hint: a.sms_hint,
            expires_at: a.expires_at,
        }
    }
}

/// What a professional types: an RPPS with or without the leading 8, an ADELI with or
/// without the leading 0, or a full idNat_PS.
fn parse_id(input: &str) -> Result<IdNatPs, ApiError> {
    IdNatPs::from_login(input)
        .or_else(|login_err| IdNatPs::parse(input).map_err(|_| login_err))
        .map_err(|e| ApiError::bad_request("bad_id", format!("identifiant invalide : {e}")))
}

/// Where the request comes from, as the HTTP server (`web::server`) says; unknown sources
/// share one budget.
fn source_of(source: Option<Extension<ClientSource>>) -> ClientSource {
    source.map_or_else(ClientSource::unknown, |Extension(s)| s)
}

/// Every answer past the identifier's syntax (unknown identifier, missing coordinates,
/// codes sent, too many) is counted against the source's limits before it is computed
/// (issue 10, items 6 and 17); a malformed identifier is refused without counting, since
/// that answer reveals nothing a check digit does not.
async fn start_activation(
    State(state): State<AppState>,
    source: Option<Extension<ClientSource>>,
    body: Result<Json<StartBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let idnat = parse_id(&body.id)?;
    let started = state
        .ecps
        .start_activation_from(&idnat, &source_of(source))
        .await?;
    Ok((StatusCode::CREATED, Json(ActivationBody::from(started))).into_response())
}

async fn resend_activation(
    State(state): State<AppState>,
    source: Option<Extension<ClientSource>>,
    Path(id): Path<String>,
) -> Result<Json<ActivationBody>, ApiError> {
    let started = state
        .ecps
        .resend_activation_from(&id, &source_of(source))
        .await?;
    Ok(Json(started.into()))
}

/// The codes (`email_code`, `sms_code`), or for an activation proven by the CPS card
/// (PSC-04) the card host's `card_token` with the `card_verifier` of the browser that went
/// there.
#[derive(Deserialize)]
struct ConfirmBody {
    #[serde(default)]
    email_code: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
    #[serde(default)]
    card_token: Option<String>,
    #[serde(default)]
    card_verifier: Option<String>,
    password: String,
    /// The device's P-256 public key, as a JWK object (or a string holding one).
    public_jwk: serde_json::Value,
}

#[derive(Serialize)]
struct DeviceCreated {
    device_id: String,
    expires_at: i64,
}

async fn confirm_activation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<ConfirmBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let jwk = match body.public_jwk {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let device = match (body.card_token, body.email_code, body.sms_code) {
        (Some(token), None, None) => {
            state
                .ecps
                .confirm_card_activation(
                    &id,
                    token.trim(),
                    body.card_verifier.as_deref().unwrap_or_default().trim(),
                    &body.password,
                    &jwk,
                )
                .await?
        }
        (None, Some(email_code), Some(sms_code)) => {
            state
                .ecps
                .confirm_activation(
                    &id,
                    email_code.trim(),
                    sms_code.trim(),
                    &body.password,
                    &jwk,
                )
                .await?
        }
        _ => {
            return Err(ApiError::bad_request(
                "bad_request",
                "corps de requête invalide : les deux codes (email_code, sms_code), ou le jeton de la carte (card_token, card_verifier), sont attendus",
            ))
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(DeviceCreated {
            device_id: device.id,
            expires_at: device.expires_at,
        }),
    )
        .into_response())
}

// ------------------------------------------------------------------ device calls

/// Checks the device proof of this call: method, and `public_url` + path as the URL.
async fn device(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<DeviceRef, ApiError> {
    let proof = headers
        .get(PROOF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_device_proof",
                "en-tête DPoP absent : chaque appel de l'appareil doit être signé par sa clé",
            )
        })?;
    let url = format!("{}{}", state.public_url, uri.path());
    Ok(state
        .ecps
        .authenticate_device(proof, method.as_str(), &url)
        .await?)
}

#[derive(Deserialize)]
struct WaitQuery {
    wait: Option<u64>,
}

#[derive(Serialize)]
struct RequestsBody {
    requests: Vec<RequestItem>,
    /// Present (true) when a newer long-poll of the same device ended this one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    superseded: bool,
}

#[derive(Serialize)]
struct RequestItem {
    id: String,
    service: String,
    choices: Vec<String>,
    expires_at: i64,
}

impl From<PendingRequest> for RequestItem {
    fn from(p: PendingRequest) -> Self {
        RequestItem {
            id: p.id,
            service: p.service,
            choices: p.choices,
            expires_at: p.expires_at,
        }
    }
}

/// Long-poll: answers as soon as the device's professional has a pending request, for at
/// most `wait` seconds. A request created through this node wakes the poll at once; one
/// created on another node is seen by this node's poller within
/// [`crate::POLL_EVERY`] (the database is shared, see [`EcpsServer::wait_for_pending`]).
/// One long-poll per device: a newer one ends this one, answered at once with an empty list
/// and `"superseded": true` (200, so that every client reads it as "nothing yet").
async fn pending_requests(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<WaitQuery>, QueryRejection>,
) -> Result<Json<RequestsBody>, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::bad_request(
            "bad_wait",
            format!("paramètre wait invalide : un nombre de secondes entre 0 et {MAX_WAIT_SECS} est attendu"),
        )
    })?;
    let wait = query.wait.unwrap_or(DEFAULT_WAIT_SECS).min(MAX_WAIT_SECS);
    let dev = device(&state, &method, &uri, &headers).await?;
    let polled = state
        .ecps
        .long_poll(&dev.id, Duration::from_secs(wait))
        .await?;
    Ok(Json(RequestsBody {
        requests: polled.requests.into_iter().map(RequestItem::from).collect(),
        superseded: polled.superseded,
    }))
}

#[derive(Deserialize)]
struct AnswerBody {
    code: String,
    password: String,
}

#[derive(Serialize)]
struct AnswerResult {
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining: Option<u32>,
}

async fn answer_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Json<AnswerBody>, JsonRejection>,
) -> Result<Json<AnswerResult>, ApiError> {
    let dev = device(&state, &method, &uri, &headers).await?;
    let body = json_body(body)?;
    let outcome = state
        .ecps
        .answer(&dev.id, &id, &body.code, &body.password)
        .await?;
    let (outcome, remaining) = match outcome {
        Outcome::Approved => ("approved", None),
        Outcome::Denied => ("denied", None),
        Outcome::WrongPassword { remaining } => ("wrong_password", Some(remaining)),
        Outcome::Locked => return Err(EcpsError::DeviceLocked.into()),
    };
    Ok(Json(AnswerResult { outcome, remaining }))
}

#[derive(Serialize)]
struct DeviceStatus {
    id: String,
    idnat: String,
    status: &'static str,
    expires_at: i64,
}

async fn device_status(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<DeviceStatus>, ApiError> {
    let dev = device(&state, &method, &uri, &headers).await?;
    Ok(Json(DeviceStatus {
        id: dev.id,
        idnat: dev.idnat,
        status: "active",
        expires_at: dev.expires_at,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn psc_04_every_client_error_has_an_http_meaning() {
        let e = EcpsError::MissingContact("contactez votre ARS".into());
        assert_eq!(
            classify(&e),
            Some((StatusCode::CONFLICT, "missing_contact"))
        );
        assert_eq!(
            classify(&EcpsError::DeviceLocked),
            Some((StatusCode::LOCKED, "device_locked"))
        );
        assert_eq!(classify(&EcpsError::Corrupt("x".into())), None);
    }

    #[test]
    fn psc_04_ids_accept_rpps_with_or_without_8_and_idnat() {
        let idnat = IdNatPs::from(caducee_core::ids::Rpps::from_payload("1000100001").unwrap());
        let full = idnat.as_str().to_string();
        assert_eq!(parse_id(&full).ok(), Some(idnat.clone()));
        assert_eq!(parse_id(&full[1..]).ok(), Some(idnat));
        assert!(parse_id("12").is_err());
    }
}
