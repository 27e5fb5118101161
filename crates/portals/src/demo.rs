//! The routes of a portal (the demo one for now, `/espaces/demo`): a relying party of Pro
//! Santé Connect written as vendors write theirs.
//!
//! - `GET  /espaces/{p}`: home; who is logged in and every claim received, or the login
//!   button.
//! - `GET  /espaces/{p}/login`: authorization code flow with PKCE S256, `state`, `nonce`,
//!   `scope=openid scope_all`, `acr_values=eidas1`; the state, nonce and verifier stay in
//!   the database, bound to this browser by a short-lived cookie.
//! - `GET  /espaces/{p}/callback`: checks state (and `iss`, RFC 9207), exchanges the code,
//!   verifies the ID token (JWKS signature, issuer, audience, nonce, expiry, `acr`,
//!   `at_hash`), checks that the access token is a JWT of the provider carrying the same
//!   nonce (as published PSC relying parties do), calls userinfo for that subject, opens a
//!   portal session.
//! - `POST /espaces/{p}/logout`: ends the portal session, then RP-initiated logout at the
//!   provider (`id_token_hint`, `post_logout_redirect_uri`, `state`).
//! - `POST /espaces/{p}/backchannel-logout`: the provider's logout token (OIDC Back-Channel
//!   Logout 1.0) ends the portal sessions of that provider session.
//!
//! Every failure is a French page with "Réessayer", logged with the request id; nothing
//! here panics on input.

use crate::oidc::{self, Metadata, RpClient, ALLOWED_ALGS};
use crate::sessions::{self, Session, LOGIN_TTL_SECS};
use crate::state::{html, redirect, request_id, Cookie, PortalState};
use crate::{pages, PortalConfig, PortalError};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use caducee_pages::PageCtx;
use caducee_store::audit::{self, AuditEvent};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdToken};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, RedirectUrl, Scope, SubjectIdentifier, TokenResponse,
    UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The event type a logout token must carry (OIDC Back-Channel Logout 1.0 §2.4).
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How far a logout token's `iat` may be from now: the provider sends it at once.
const LOGOUT_TOKEN_SKEW_SECS: i64 = 300;
/// Tolerance on `exp` of the access token, for clocks of two nodes that differ a little.
const EXP_LEEWAY_SECS: i64 = 30;

/// Everything PSC's userinfo carries beyond the standard claims (SubjectRefPro, otherIds…),
/// kept as received so the page can show all of it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct PscClaims(Map<String, Value>);
impl AdditionalClaims for PscClaims {}

/// The OIDC routes of `portal`; `with_home`: its home page too (a portal that also has
/// local accounts has theirs, which offers both).
pub(crate) fn routes(portal: &PortalConfig, with_home: bool) -> Router<PortalState> {
    let base = portal.base();
    let router = Router::new();
    let router = if with_home {
        router.route(&base, get(home))
    } else {
        router
    };
    router
        .route(&format!("{base}/login"), get(login))
        .route(&format!("{base}/callback"), get(callback))
        .route(&format!("{base}/logout"), post(logout))
        .route(
            &format!("{base}/backchannel-logout"),
            post(backchannel_logout),
        )
}

/// Query or form parameters; a repeated parameter is refused (RFC 6749 §3.1).
fn params(raw: &str) -> Result<HashMap<String, String>, PortalError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(PortalError::BadCallback(format!("paramètre {k} répété")));
        }
    }
    Ok(out)
}

impl PortalState {
    /// The portal's OIDC client for this metadata.
    fn client(&self, metadata: &Metadata, secret: &str) -> Result<RpClient, PortalError> {
        let redirect =
            RedirectUrl::new(format!("{}/callback", self.portals.home_url(&self.portal)))
                .map_err(|e| PortalError::Internal(format!("redirect_uri : {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.portal.client_id().to_string()),
            Some(ClientSecret::new(secret.to_string())),
        )
        .set_redirect_uri(redirect))
    }
}

// ---------------------------------------------------------------------------------------
// Home.
// ---------------------------------------------------------------------------------------

async fn home(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let rid = request_id(&headers);
    let ctx = PageCtx::from_headers(&headers, st.base());
    let mut set = Vec::new();
    if let Some(secret) = st.cookie(&headers, &Cookie::Session) {
        match sessions::find_session(&st.portals, &st.portal, &secret).await {
            Ok(Some(session)) => {
                // The logout form redirects to the provider: the CSP must let it go there.
                let csp = format!(
                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                     form-action 'self' {}",
                    origin(st.portals.provider().issuer().as_str())
                );
                let csp = HeaderValue::from_str(&csp)
                    .unwrap_or_else(|_| HeaderValue::from_static("form-action 'self'"));
                return html(
                    StatusCode::OK,
                    pages::logged_in(&ctx, &st.portal, &session),
                    vec![(header::CONTENT_SECURITY_POLICY, csp)],
                );
            }
            // Ended (logout elsewhere) or expired: forget the cookie.
            Ok(None) => set.push((header::SET_COOKIE, st.clear_cookie(&Cookie::Session))),
            Err(e) => return st.fail(&headers, &e, rid.as_deref()),
        }
    }
    // Back from the provider's logout: greet only the browser that asked for it.
    let returned = params(query.as_deref().unwrap_or(""))
        .ok()
        .and_then(|p| p.get("state").cloned());
    let expected = st.cookie(&headers, &Cookie::Logout);
    let logged_out = matches!((returned, &expected), (Some(a), Some(b)) if a == *b);
    if expected.is_some() {
        set.push((header::SET_COOKIE, st.clear_cookie(&Cookie::Logout)));
    }
    html(
        StatusCode::OK,
        pages::anonymous(&ctx, &st.portal, logged_out),
        set,
    )
}

/// `scheme://host[:port]` of a URL, for a CSP source.
pub(crate) fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .ok()
        .filter(|o| o != "null")
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Login and callback.
// ---------------------------------------------------------------------------------------

async fn login(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    match login_inner(&st, &headers).await {
        Ok(r) => r,
        Err(e) => st.fail(&headers, &e, request_id(&headers).as_deref()),
    }
}

async fn login_inner(st: &PortalState, headers: &HeaderMap) -> Result<Response, PortalError> {
    if let Some(secret) = st.cookie(headers, &Cookie::Session) {
        if sessions::find_session(&st.portals, &st.portal, &secret)
            .await?
            .is_some()
        {
            return Ok(redirect(&st.base(), Vec::new()));
        }
    }
    let metadata = st.portals.provider().metadata().await?;
    let secret = st.portals.client_secret(&st.portal);
    let client = st.client(&metadata, &secret)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("scope_all".to_string()))
        .add_auth_context_value(AuthenticationContextClass::new("eidas1".to_string()))
        .set_pkce_challenge(challenge)
        .url();
    // One login cookie per browser, reused: logins started in two tabs both finish.
    let browser = st
        .cookie(headers, &Cookie::Login)
        .unwrap_or_else(|| sessions::random_token(16));
    sessions::start_login(
        &st.portals,
        &st.portal,
        state.secret(),
        &browser,
        nonce.secret(),
        verifier.secret(),
    )
    .await?;
    Ok(redirect(
        url.as_str(),
        vec![st.set_cookie(&Cookie::Login, &browser, Some(LOGIN_TTL_SECS))],
    ))
}

async fn callback(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let rid = request_id(&headers);
    match callback_inner(&st, &headers, query.as_deref().unwrap_or("")).await {
        Ok(session) => {
            let secret = match sessions::create_session(&st.portals, &st.portal, &session).await {
                Ok(s) => s,
                Err(e) => return st.fail(&headers, &e, rid.as_deref()),
            };
            record_audit(
                &st,
                "portal.login",
                session.idnat.as_deref(),
                &session,
                rid.as_deref(),
            )
            .await;
            tracing::info!(
                request_id = rid.as_deref().unwrap_or("-"),
                portal = %st.portal.slug,
                idnat = session.idnat.as_deref().unwrap_or("-"),
                "portail : connexion"
            );
            redirect(
                &st.base(),
                vec![st.set_cookie(&Cookie::Session, &secret, None)],
            )
        }
        Err(e) => st.fail(&headers, &e, rid.as_deref()),
    }
}

async fn record_audit(
    st: &PortalState,
    action: &str,
    idnat: Option<&str>,
    session: &Session,
    request_id: Option<&str>,
) {
    let actor = idnat.map_or_else(|| "ps:inconnu".to_string(), |i| format!("ps:{i}"));
    let event = AuditEvent {
        actor: &actor,
        action,
        subject: idnat,
        details: json!({"portal": st.portal.slug, "sid": session.sid}),
        request_id,
    };
    // The login itself is done and valid; a lost audit line is logged, not shown.
    if let Err(e) = audit::record(st.portals.store().pool(), st.portals.now(), &event).await {
        tracing::error!(error = %e, action, "portail : journal d'audit");
    }
}

async fn callback_inner(
    st: &PortalState,
    headers: &HeaderMap,
    query: &str,
) -> Result<Session, PortalError> {
    let p = params(query)?;
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());

    // 1. Which login attempt this answers, consumed whatever follows (single use).
    let state = get("state").ok_or(PortalError::UnknownState)?;
    let browser = st
        .cookie(headers, &Cookie::Login)
        .ok_or(PortalError::NoLoginCookie)?;
    let attempt = sessions::take_login(&st.portals, &st.portal, state, &browser).await?;

    // 2. Who answered (RFC 9207, mix-up defence): checked before trusting even an error.
    let provider = st.portals.provider();
    let metadata = provider.metadata().await?;
    let issuer = provider.issuer().as_str();
    let iss_required = metadata
        .additional_metadata()
        .additional_metadata
        .authorization_response_iss_parameter_supported
        == Some(true);
    match get("iss") {
        Some(iss) if iss != issuer => {
            return Err(PortalError::BadCallback(format!(
                "iss {iss:?} au lieu de {issuer:?}"
            )))
        }
        None if iss_required => {
            return Err(PortalError::BadCallback(
                "iss absent alors que la découverte l'annonce".into(),
            ))
        }
        _ => {}
    }
    if let Some(error) = get("error") {
        return Err(PortalError::Provider {
            error: error.to_string(),
            description: get("error_description").unwrap_or("").to_string(),
        });
    }
    let code = get("code").ok_or_else(|| PortalError::BadCallback("code absent".into()))?;

    // 3. The code for tokens, at the token endpoint (client_secret_basic + PKCE verifier).
    let secret = st.portals.client_secret(&st.portal);
    let client = st.client(&metadata, &secret)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| PortalError::Discovery(oidc::error_chain(&e)))?
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier))
        .request_async(provider.http())
        .await
        .map_err(|e| PortalError::Token(oidc::error_chain(&e)))?;

    // 4. The ID token: signature with the provider's keys (fetched again if it names a key
    //    we do not know: rotation), issuer, audience, expiry, nonce, acr, at_hash.
    let id_token = tokens
        .id_token()
        .ok_or_else(|| PortalError::Verification("pas d'ID token".into()))?;
    let raw_id_token = id_token.to_string();
    let metadata = provider
        .metadata_for_kid(oidc::unverified_kid(&raw_id_token).as_deref())
        .await?;
    let client = st.client(&metadata, &secret)?;
    let nonce = Nonce::new(attempt.nonce.clone());
    let clock = provider.clock().clone();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || chrono::DateTime::from_timestamp(clock.unix(), 0).unwrap_or_default())
        // The published PSC connectors refuse any other level.
        .set_auth_context_verifier_fn(|acr| match acr {
            Some(a) if a.as_str() == "eidas1" => Ok(()),
            other => Err(format!("acr {other:?} au lieu de eidas1")),
        });
    let verification = |what: &str, e: &dyn std::error::Error| {
        PortalError::Verification(format!("{what} : {}", oidc::error_chain(e)))
    };
    let claims = id_token
        .claims(&verifier, &nonce)
        .map_err(|e| verification("ID token", &e))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| verification("ID token", &e))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| verification("ID token", &e))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| verification("at_hash", &e))?;
        if actual != *expected {
            return Err(PortalError::Verification(
                "at_hash ne correspond pas au jeton d'accès".into(),
            ));
        }
    }
    let sub = claims.subject().to_string();
    let id_token_claims = oidc::payload(&raw_id_token)
        .map_err(|e| PortalError::Verification(format!("ID token : {e}")))?;

    // 5. The access token: a JWT of the provider for this login, as PSC's are; published
    //    relying parties refuse a login whose nonce differs between the two tokens.
    let access_token = tokens.access_token().secret();
    let at_metadata = provider
        .metadata_for_kid(oidc::unverified_kid(access_token).as_deref())
        .await?;
    let access_token_claims = oidc::verify_jws(at_metadata.jwks(), access_token)
        .map_err(|e| PortalError::Verification(format!("access token : {e}")))?;
    check_access_token(
        &access_token_claims,
        issuer,
        st.portal.client_id(),
        &attempt.nonce,
        &sub,
        st.portals.now(),
    )
    .map_err(|e| PortalError::Verification(format!("access token : {e}")))?;

    // 6. Userinfo, for that subject only (a response about someone else is refused).
    let userinfo: UserInfoClaims<PscClaims, CoreGenderClaim> = client
        .user_info(
            tokens.access_token().clone(),
            Some(SubjectIdentifier::new(sub.clone())),
        )
        .map_err(|e| PortalError::Discovery(oidc::error_chain(&e)))?
        .request_async(provider.http())
        .await
        .map_err(|e| verification("userinfo", &e))?;
    let userinfo = serde_json::to_value(&userinfo)
        .map_err(|e| PortalError::Internal(format!("userinfo : {e}")))?;

    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let idnat = text(&userinfo, "SubjectNameID")
        .or_else(|| text(&userinfo, "preferred_username"))
        .or_else(|| {
            text(
                &Value::Object(access_token_claims.clone()),
                "preferred_username",
            )
        });
    Ok(Session {
        sid: id_token_claims
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_string),
        sub,
        idnat,
        id_token: raw_id_token,
        id_token_claims: Value::Object(id_token_claims),
        access_token_claims: Value::Object(access_token_claims),
        userinfo,
    })
}

/// The claims of an access token whose signature is verified: this provider's, for this
/// client, alive, for this login (nonce) and this person (sub).
fn check_access_token(
    c: &Map<String, Value>,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    sub: &str,
    now: i64,
) -> Result<(), String> {
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    if text("iss") != Some(issuer) {
        return Err(format!("iss {:?}", c.get("iss")));
    }
    match c.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp + EXP_LEEWAY_SECS > now => {}
        other => return Err(format!("expiré ou sans exp ({other:?})")),
    }
    if text("nonce") != Some(nonce) {
        return Err("nonce différent de celui de la demande".into());
    }
    if let Some(token_sub) = text("sub") {
        if token_sub != sub {
            return Err("sub différent de celui de l'ID token".into());
        }
    }
    if let Some(azp) = text("azp") {
        if azp != client_id {
            return Err(format!("azp {azp:?}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Logout.
// ---------------------------------------------------------------------------------------

async fn logout(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let rid = request_id(&headers);
    let Some(secret) = st.cookie(&headers, &Cookie::Session) else {
        return redirect(&st.base(), Vec::new());
    };
    // Local first: whatever happens at the provider, this portal forgets the person.
    let session = match sessions::end_session(&st.portals, &st.portal, &secret).await {
        Ok(s) => s,
        Err(e) => return st.fail(&headers, &e, rid.as_deref()),
    };
    let clear = st.clear_cookie(&Cookie::Session);
    let Some(session) = session else {
        return redirect(&st.base(), vec![clear]);
    };
    record_audit(
        &st,
        "portal.logout",
        session.idnat.as_deref(),
        &session,
        rid.as_deref(),
    )
    .await;
    match provider_logout_url(&st, &session).await {
        Ok(Some((url, state))) => redirect(
            &url,
            vec![
                clear,
                st.set_cookie(&Cookie::Logout, &state, Some(LOGIN_TTL_SECS)),
            ],
        ),
        Ok(None) => redirect(&st.base(), vec![clear]),
        Err(e) => {
            // The portal session is over; only the provider's session may live on.
            tracing::warn!(request_id = rid.as_deref().unwrap_or("-"), error = %e, "portail : déconnexion du fournisseur impossible");
            redirect(&st.base(), vec![clear])
        }
    }
}

/// The provider's end-session URL for this session, and the `state` it will send back;
/// `None` when the provider offers no RP-initiated logout.
async fn provider_logout_url(
    st: &PortalState,
    session: &Session,
) -> Result<Option<(String, String)>, PortalError> {
    let metadata = st.portals.provider().metadata().await?;
    let Some(endpoint) = metadata.additional_metadata().end_session_endpoint.clone() else {
        return Ok(None);
    };
    let home = PostLogoutRedirectUrl::new(st.portals.home_url(&st.portal))
        .map_err(|e| PortalError::Internal(format!("post_logout_redirect_uri : {e}")))?;
    let state = sessions::random_token(16);
    let mut request = LogoutRequest::from(endpoint)
        .set_client_id(ClientId::new(st.portal.client_id().to_string()))
        .set_post_logout_redirect_uri(home)
        .set_state(CsrfToken::new(state.clone()));
    if let Ok(id_token) = session.id_token.parse::<CoreIdToken>() {
        request = request.set_id_token_hint(&id_token);
    }
    Ok(Some((request.http_get_url().to_string(), state)))
}

// ---------------------------------------------------------------------------------------
// Back-channel logout.
// ---------------------------------------------------------------------------------------

async fn backchannel_logout(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let rid = request_id(&headers);
    let rid = rid.as_deref().unwrap_or("-");
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    match backchannel_inner(&st, &body).await {
        Ok(ended) => {
            tracing::info!(
                request_id = rid,
                portal = %st.portal.slug,
                ended,
                "portail : déconnexion par le fournisseur"
            );
            (StatusCode::OK, no_store).into_response()
        }
        Err(BackchannelError::Invalid(msg)) => {
            tracing::warn!(request_id = rid, portal = %st.portal.slug, error = %msg, "portail : logout token refusé");
            (
                StatusCode::BAD_REQUEST,
                no_store,
                axum::Json(json!({"error": "invalid_request", "error_description": msg})),
            )
                .into_response()
        }
        Err(BackchannelError::Portal(e)) => {
            tracing::error!(request_id = rid, portal = %st.portal.slug, error = %e, "portail : déconnexion par le fournisseur");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                no_store,
                axum::Json(json!({"error": "server_error"})),
            )
                .into_response()
        }
    }
}

enum BackchannelError {
    /// The request or its logout token is not acceptable (400, OIDC BCL §2.8).
    Invalid(String),
    Portal(PortalError),
}

impl From<PortalError> for BackchannelError {
    fn from(e: PortalError) -> Self {
        BackchannelError::Portal(e)
    }
}

/// Validates the logout token (OIDC Back-Channel Logout 1.0 §2.6) and ends the portal
/// sessions it names. Returns how many ended (0 is fine: already logged out here).
async fn backchannel_inner(st: &PortalState, body: &str) -> Result<u64, BackchannelError> {
    let invalid = |m: String| BackchannelError::Invalid(m);
    let p = params(body).map_err(|e| invalid(e.to_string()))?;
    let token = p
        .get("logout_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("logout_token absent".into()))?;
    let provider = st.portals.provider();
    let metadata = provider
        .metadata_for_kid(oidc::unverified_kid(token).as_deref())
        .await?;
    let claims = oidc::verify_jws(metadata.jwks(), token).map_err(invalid)?;
    check_logout_token(
        &claims,
        provider.issuer().as_str(),
        st.portal.client_id(),
        st.portals.now(),
    )
    .map_err(invalid)?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let (ended, idnats) =
        sessions::end_provider_sessions(&st.portals, &st.portal, text("sid"), text("sub")).await?;
    for idnat in &idnats {
        let actor = format!("ps:{idnat}");
        let event = AuditEvent {
            actor: &actor,
            action: "portal.backchannel_logout",
            subject: Some(idnat),
            details: json!({"portal": st.portal.slug, "sid": text("sid")}),
            request_id: None,
        };
        if let Err(e) = audit::record(st.portals.store().pool(), st.portals.now(), &event).await {
            tracing::error!(error = %e, "portail : journal d'audit");
        }
    }
    Ok(ended)
}

/// The claims of a logout token whose signature is verified (OIDC BCL §2.4, §2.6).
fn check_logout_token(
    c: &Map<String, Value>,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<(), String> {
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    if text("iss") != Some(issuer) {
        return Err(format!("iss {:?}", c.get("iss")));
    }
    if !oidc::audience_contains(c, client_id) {
        return Err(format!("aud {:?}", c.get("aud")));
    }
    match c.get("iat").and_then(Value::as_i64) {
        Some(iat) if (iat - now).abs() <= LOGOUT_TOKEN_SKEW_SECS => {}
        other => return Err(format!("iat hors fenêtre ({other:?})")),
    }
    if let Some(exp) = c.get("exp") {
        if exp.as_i64().is_none_or(|exp| exp + EXP_LEEWAY_SECS <= now) {
            return Err("expiré".into());
        }
    }
    let event = c
        .get("events")
        .and_then(Value::as_object)
        .and_then(|e| e.get(BACKCHANNEL_LOGOUT_EVENT));
    if !matches!(event, Some(Value::Object(_))) {
        return Err("events sans l'événement de déconnexion".into());
    }
    if text("sid").is_none() && text("sub").is_none() {
        return Err("ni sid ni sub".into());
    }
    // A nonce would make it an ID token: refused so one can never pass for the other.
    if c.contains_key("nonce") {
        return Err("nonce interdit dans un logout token".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ISS: &str = "http://x/auth/realms/esante-wallet";

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn logout_claims() -> Value {
        json!({
            "iss": ISS, "aud": "demo", "iat": 1000, "jti": "j",
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}}, "sid": "s1"
        })
    }

    #[test]
    fn psc_02_logout_token_claims_are_checked() {
        assert_eq!(
            check_logout_token(&obj(logout_claims()), ISS, "demo", 1000),
            Ok(())
        );
        let with = |k: &str, v: Value| {
            let mut c = logout_claims();
            c[k] = v;
            check_logout_token(&obj(c), ISS, "demo", 1000)
        };
        assert!(with("iss", json!("http://other")).is_err());
        assert!(with("aud", json!("other")).is_err());
        assert!(with("aud", json!(["other", "demo"])).is_ok());
        assert!(with("iat", json!(1000 - 301)).is_err());
        assert!(with("events", json!({})).is_err());
        assert!(with("events", json!({BACKCHANNEL_LOGOUT_EVENT: "x"})).is_err());
        assert!(with("nonce", json!("n")).is_err());
        assert!(with("exp", json!(900)).is_err());
        let mut c = logout_claims();
        c.as_object_mut().unwrap().remove("sid");
        assert!(check_logout_token(&obj(c.clone()), ISS, "demo", 1000).is_err());
        c["sub"] = json!("f:x:8");
        assert!(check_logout_token(&obj(c), ISS, "demo", 1000).is_ok());
    }

    #[test]
    fn psc_01_access_token_must_carry_the_login_nonce() {
        let c = obj(json!({"iss": ISS, "exp": 1100, "nonce": "n1", "sub": "s", "azp": "demo"}));
        assert_eq!(check_access_token(&c, ISS, "demo", "n1", "s", 1000), Ok(()));
        assert!(check_access_token(&c, ISS, "demo", "n2", "s", 1000).is_err());
        assert!(check_access_token(&c, ISS, "demo", "n1", "other", 1000).is_err());
        assert!(check_access_token(&c, ISS, "other", "n1", "s", 1000).is_err());
        assert!(check_access_token(&c, ISS, "demo", "n1", "s", 1200).is_err());
        assert!(check_access_token(&c, "http://y", "demo", "n1", "s", 1000).is_err());
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(params("a=1&a=2").is_err());
        assert_eq!(params("a=1&b=%20").unwrap()["b"], " ");
    }
}
