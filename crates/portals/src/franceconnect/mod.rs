//! FranceConnect as an upstream OpenID Connect provider of eRPPS (psc.md "FranceConnect"),
//! used only for a first registration (REG-07, [`registration`]) and for contact
//! coordinates proven through it (REG-12, [`coordinates`]): ERPPS-01.
//!
//! A real relying party through the `openidconnect` crate and the portals' provider cache
//! (`oidc.rs`: discovery and JWKS fetched over HTTP, refreshed on an unknown key):
//! authorization code flow with `state`, `nonce` and PKCE S256, `acr_values=eidas1`, the
//! scopes `openid given_name family_name birthdate gender birthplace birthcountry email`;
//! client authentication `client_secret_post` when discovery offers it (FranceConnect's
//! own), else `client_secret_basic`; the ID token verified (signature RS256/ES256 against
//! the JWKS, issuer, audience, expiry, nonce, `acr` eidas1); userinfo accepted signed
//! (`application/jwt`, verified with the same JWKS, issuer and audience checked) or plain
//! JSON, for the ID token's subject only.
//!
//! The login attempt is a `portal_flow` row (kind `fc-login`, 10 minutes) whose id is the
//! `state`, bound to the browser cookie: a callback in another browser, a replayed or forged
//! `state` finds nothing. The identity received is kept in another flow (kind
//! `fc-registration` or `fc-coordinates`, one hour) that the next pages load by `?flow=`
//! and browser, never from memory: any node serves any step, a restart loses nothing.
//! Logout at FranceConnect (end_session, `id_token_hint`) once the person is done.

pub(crate) mod coordinates;
pub(crate) mod registration;
pub mod standin;

use crate::local::Visit;
use crate::oidc::{self, Metadata, RpClient, ALLOWED_ALGS};
use crate::state::{redirect, request_id, PortalState};
use crate::PortalError;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use caducee_core::clock::SharedClock;
use caducee_registry::registration::FcIdentity;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod};
use openidconnect::{
    AuthType, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The callback registered at FranceConnect (DESIGN.md, shared brief).
pub const CALLBACK_PATH: &str = "/erpps/franceconnect/callback";
/// The scopes asked beside `openid` (psc.md: FranceConnect's identity claims).
pub const SCOPES: [&str; 7] = [
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "email",
];
/// How long a login at FranceConnect may take.
const LOGIN_TTL_SECS: i64 = 600;
/// How long the identity received stays usable by the pages (a form with three uploads).
pub(crate) const IDENTITY_TTL_SECS: i64 = 3600;
const LOGIN_KIND: &str = "fc-login";

/// `[franceconnect]` of the configuration: the service provider's registration at
/// FranceConnect. The secret is sensitive: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct FranceConnectSettings {
    /// FranceConnect's issuer (discovery at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for FranceConnectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FranceConnectSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// FranceConnect as the portals of a node see it.
pub(crate) struct FranceConnect {
    settings: FranceConnectSettings,
    provider: oidc::Provider,
}

impl FranceConnect {
    pub fn new(
        settings: FranceConnectSettings,
        clock: SharedClock,
    ) -> Result<FranceConnect, PortalError> {
        let provider = oidc::Provider::new(settings.issuer.trim_end_matches('/'), clock)?;
        Ok(FranceConnect { settings, provider })
    }

    fn client(&self, metadata: &Metadata, public_url: &str) -> Result<RpClient, PortalError> {
        let redirect = RedirectUrl::new(format!("{public_url}{CALLBACK_PATH}"))
            .map_err(|e| PortalError::Internal(format!("redirect_uri : {e}")))?;
        // FranceConnect authenticates its service providers with client_secret_post.
        let post = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|m| m.contains(&CoreClientAuthMethod::ClientSecretPost));
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        Ok(if post {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }
}

/// What the login was for, so the callback knows where to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Purpose {
    Registration,
    Coordinates,
}

impl Purpose {
    pub fn flow_kind(self) -> &'static str {
        match self {
            Purpose::Registration => "fc-registration",
            Purpose::Coordinates => "fc-coordinates",
        }
    }

    fn next(self, flow: &str) -> String {
        match self {
            Purpose::Registration => format!("{}?flow={flow}", registration::FORM_PATH),
            Purpose::Coordinates => format!("{}?flow={flow}", coordinates::FIND_PATH),
        }
    }
}

/// The login attempt, kept in its flow (the flow's id is the `state`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempt {
    purpose: Purpose,
    nonce: String,
    pkce_verifier: String,
}

/// What FranceConnect vouched for, kept in the next pages' flow.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct FcLogin {
    pub issuer: String,
    pub sub: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub gender: String,
    pub birthplace: String,
    pub birthcountry: String,
    pub email: String,
    /// For the logout at FranceConnect.
    pub id_token: String,
    /// The REG-12 steps keep their state here (the RPPS found, coordinates typed).
    #[serde(default)]
    pub step: Value,
}

impl FcLogin {
    pub fn identity(&self) -> FcIdentity {
        FcIdentity {
            issuer: self.issuer.clone(),
            sub: self.sub.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            birthdate: self.birthdate.clone(),
            gender: self.gender.clone(),
            birthplace: self.birthplace.clone(),
            birthcountry: self.birthcountry.clone(),
            email: self.email.clone(),
        }
    }
}

/// The FranceConnect routes: the callback, and the pages of the two journeys.
pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route(CALLBACK_PATH, get(callback))
        .merge(registration::routes())
        .merge(coordinates::routes())
}

/// When no `[franceconnect]` is configured, the pages say so instead of failing later.
pub(crate) fn configured(st: &PortalState) -> Option<&FranceConnect> {
    st.portals.franceconnect()
}

/// Starts a login at FranceConnect for `purpose`: a `fc-login` flow bound to this browser,
/// then the redirect to the authorization endpoint.
pub(crate) async fn start(
    st: &PortalState,
    headers: &HeaderMap,
    visit: &Visit,
    purpose: Purpose,
) -> Response {
    match start_inner(st, visit, purpose).await {
        Ok(url) => visit.redirect(st, &url, Vec::new()),
        Err(e) => st.fail(headers, &e, request_id(headers).as_deref()),
    }
}

async fn start_inner(
    st: &PortalState,
    visit: &Visit,
    purpose: Purpose,
) -> Result<String, PortalError> {
    let fc = configured(st).ok_or_else(not_configured)?;
    let metadata = fc.provider.metadata().await?;
    let client = fc.client(&metadata, st.portals.public_url())?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Nonce::new_random();
    let attempt = Attempt {
        purpose,
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    };
    let mut conn = st.portals.store().pool().acquire().await?;
    let flow = crate::flows::create(
        &mut conn,
        &crate::flows::NewFlow {
            portal: &st.portal.slug,
            kind: LOGIN_KIND,
            step: "authorize",
            browser_secret: &visit.browser,
            data: &attempt,
            ttl_secs: LOGIN_TTL_SECS,
        },
        st.portals.now(),
    )
    .await?;
    let state = flow.id.clone();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || nonce,
        )
        .add_auth_context_value(AuthenticationContextClass::new("eidas1".to_string()))
        .set_pkce_challenge(challenge);
    for s in SCOPES {
        request = request.add_scope(Scope::new(s.to_string()));
    }
    let (url, _, _) = request.url();
    Ok(url.to_string())
}

/// A page whose form leads to FranceConnect: its POST answers with a redirect there, which
/// the CSP's `form-action` must allow (the browser checks redirects of a form too).
/// The start page of a FranceConnect journey, `page` carrying its title and intro: the
/// FranceConnect button (or why there is none) and the way back to eRPPS.
pub(crate) fn start_page(
    st: &PortalState,
    visit: &Visit,
    mut page: crate::local::pages::FormPage,
) -> Response {
    use caducee_pages::{Alert, AlertKind, Button, ButtonKind, Link};
    let t = |k: &str| visit.ctx.t(k);
    if configured(st).is_none() {
        page.alerts
            .push(Alert::new(AlertKind::Error, t("fc-not-configured")));
    } else {
        page.buttons.push(
            Button::new(t("fc-button"), ButtonKind::Primary).id("s-identifier-franceconnect"),
        );
    }
    page.links
        .push(Link::new("/erpps", t("fc-back-to-erpps")).id("retour-erpps"));
    with_csp(st, visit.form(st, page, false))
}

/// The start page's POST (`path`): the browser's token checked, then off to FranceConnect.
pub(crate) async fn start_submit(
    st: &PortalState,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
    purpose: Purpose,
) -> Response {
    let visit = Visit::new(st, headers, path);
    if !visit.csrf_ok(st, &crate::local::Form::parse(body)) {
        return registration::csrf_refused(&visit, st);
    }
    start(st, headers, &visit, purpose).await
}

pub(crate) fn with_csp(st: &PortalState, mut response: Response) -> Response {
    if let Some(fc) = configured(st) {
        let csp = format!(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' {}",
            crate::demo::origin(fc.provider.issuer().as_str())
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&csp) {
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    response
}

pub(crate) fn not_configured() -> PortalError {
    PortalError::Discovery("FranceConnect n'est pas configuré ([franceconnect])".into())
}

async fn callback(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, CALLBACK_PATH);
    let rid = request_id(&headers);
    match callback_inner(&st, &visit, query.as_deref().unwrap_or("")).await {
        Ok((purpose, login)) => {
            let mut conn = match st.portals.store().pool().acquire().await {
                Ok(c) => c,
                Err(e) => return st.fail(&headers, &e.into(), rid.as_deref()),
            };
            let flow = crate::flows::create(
                &mut conn,
                &crate::flows::NewFlow {
                    portal: &st.portal.slug,
                    kind: purpose.flow_kind(),
                    step: "identified",
                    browser_secret: &visit.browser,
                    data: &login,
                    ttl_secs: IDENTITY_TTL_SECS,
                },
                st.portals.now(),
            )
            .await;
            match flow {
                Ok(flow) => {
                    audit(
                        &st,
                        "portals.franceconnect.login",
                        &login.sub,
                        purpose,
                        rid.as_deref(),
                    )
                    .await;
                    redirect(&purpose.next(&flow.id), Vec::new())
                }
                Err(e) => st.fail(&headers, &e, rid.as_deref()),
            }
        }
        Err(e) => {
            audit(
                &st,
                "portals.franceconnect.refused",
                "",
                Purpose::Registration,
                rid.as_deref(),
            )
            .await;
            st.fail(&headers, &e, rid.as_deref())
        }
    }
}

async fn audit(st: &PortalState, action: &str, sub: &str, purpose: Purpose, rid: Option<&str>) {
    let actor = if sub.is_empty() {
        "franceconnect:inconnu".to_string()
    } else {
        format!("franceconnect:{sub}")
    };
    let event = caducee_store::audit::AuditEvent {
        actor: &actor,
        action,
        subject: None,
        details: serde_json::json!({ "portal": st.portal.slug, "purpose": purpose }),
        request_id: rid,
    };
    if let Err(e) =
        caducee_store::audit::record(st.portals.store().pool(), st.portals.now(), &event).await
    {
        tracing::error!(error = %e, action, "FranceConnect : journal d'audit");
    }
}

/// Query parameters; a repeated one is refused (RFC 6749 §3.1).
fn params(raw: &str) -> Result<std::collections::HashMap<String, String>, PortalError> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(PortalError::BadCallback(format!("paramètre {k} répété")));
        }
    }
    Ok(out)
}

async fn callback_inner(
    st: &PortalState,
    visit: &Visit,
    query: &str,
) -> Result<(Purpose, FcLogin), PortalError> {
    let fc = configured(st).ok_or_else(not_configured)?;
    let p = params(query)?;
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());

    // 1. The attempt of this browser named by `state`, consumed whatever follows.
    let state = get("state").ok_or(PortalError::UnknownState)?;
    let attempt: crate::flows::Flow<Attempt> = visit
        .flow(st, LOGIN_KIND, state)
        .await?
        .ok_or(PortalError::UnknownState)?;
    {
        let mut conn = st.portals.store().pool().acquire().await?;
        crate::flows::delete(&mut conn, &attempt.id).await?;
    }
    let attempt = attempt.data;

    // 2. Who answered (RFC 9207), before trusting even an error.
    let provider = &fc.provider;
    let metadata = provider.metadata().await?;
    let issuer = provider.issuer().as_str().to_string();
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

    // 3. The code for tokens (client_secret_post + PKCE verifier).
    let public_url = st.portals.public_url();
    let client = fc.client(&metadata, public_url)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| PortalError::Discovery(oidc::error_chain(&e)))?
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier))
        .request_async(provider.http())
        .await
        .map_err(|e| PortalError::Token(oidc::error_chain(&e)))?;

    // 4. The ID token: signature, issuer, audience, expiry, nonce, acr eidas1.
    let id_token = tokens
        .id_token()
        .ok_or_else(|| PortalError::Verification("pas d'ID token".into()))?;
    let raw_id_token = id_token.to_string();
    let metadata = provider
        .metadata_for_kid(oidc::unverified_kid(&raw_id_token).as_deref())
        .await?;
    let client = fc.client(&metadata, public_url)?;
    let clock = provider.clock().clone();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || chrono::DateTime::from_timestamp(clock.unix(), 0).unwrap_or_default())
        .set_auth_context_verifier_fn(|acr| match acr {
            Some(a) if a.as_str() == "eidas1" => Ok(()),
            other => Err(format!("acr {other:?} au lieu de eidas1")),
        });
    let claims = id_token
        .claims(&verifier, &Nonce::new(attempt.nonce))
        .map_err(|e| PortalError::Verification(format!("ID token : {}", oidc::error_chain(&e))))?;
    let sub = claims.subject().to_string();
    let id_claims = oidc::payload(&raw_id_token)
        .map_err(|e| PortalError::Verification(format!("ID token : {e}")))?;

    // 5. Userinfo, signed (application/jwt) or plain JSON, for that subject only.
    let userinfo = userinfo(fc, &metadata, tokens.access_token().secret(), &issuer, &sub).await?;
    let text = |k: &str| -> String {
        userinfo
            .get(k)
            .or_else(|| id_claims.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let login = FcLogin {
        issuer,
        sub,
        given_name: text("given_name"),
        family_name: text("family_name"),
        birthdate: text("birthdate"),
        gender: text("gender"),
        birthplace: text("birthplace"),
        birthcountry: text("birthcountry"),
        email: text("email"),
        id_token: raw_id_token,
        step: Value::Null,
    };
    if login.given_name.is_empty() || login.family_name.is_empty() || login.birthdate.is_empty() {
        return Err(PortalError::Verification(
            "identité FranceConnect incomplète (noms, date de naissance)".into(),
        ));
    }
    Ok((attempt.purpose, login))
}

/// The userinfo of the access token's subject: a JWT verified with the provider's JWKS
/// (issuer and audience checked), or JSON; refused when it names another subject.
async fn userinfo(
    fc: &FranceConnect,
    metadata: &Metadata,
    access_token: &str,
    issuer: &str,
    sub: &str,
) -> Result<Map<String, Value>, PortalError> {
    let endpoint = metadata
        .userinfo_endpoint()
        .ok_or_else(|| PortalError::Discovery("pas de userinfo_endpoint".into()))?;
    let response = fc
        .provider
        .http()
        .get(endpoint.url().as_str())
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| PortalError::Verification(format!("userinfo : {}", oidc::error_chain(&e))))?;
    if !response.status().is_success() {
        return Err(PortalError::Verification(format!(
            "userinfo : HTTP {}",
            response.status()
        )));
    }
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = response
        .text()
        .await
        .map_err(|e| PortalError::Verification(format!("userinfo : {e}")))?;
    let claims = if content_type.starts_with("application/jwt") {
        let token = body.trim();
        let metadata = fc
            .provider
            .metadata_for_kid(oidc::unverified_kid(token).as_deref())
            .await?;
        let claims = oidc::verify_jws(metadata.jwks(), token)
            .map_err(|e| PortalError::Verification(format!("userinfo signé : {e}")))?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(PortalError::Verification(
                "userinfo signé : émetteur inattendu".into(),
            ));
        }
        if !oidc::audience_contains(&claims, &fc.settings.client_id) {
            return Err(PortalError::Verification(
                "userinfo signé : audience inattendue".into(),
            ));
        }
        claims
    } else {
        match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(PortalError::Verification(
                    "userinfo : ni JWT ni objet JSON".into(),
                ))
            }
        }
    };
    if claims.get("sub").and_then(Value::as_str) != Some(sub) {
        return Err(PortalError::Verification(
            "userinfo d'un autre sujet que l'ID token".into(),
        ));
    }
    Ok(claims)
}

/// The address that ends the FranceConnect session (`id_token_hint`,
/// `post_logout_redirect_uri` = the eRPPS landing), when the provider has one.
pub(crate) async fn logout_url(st: &PortalState, login: &FcLogin) -> Option<String> {
    let fc = configured(st)?;
    let metadata = fc.provider.metadata().await.ok()?;
    let end = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()?;
    // The ID token verified at the callback, kept as received: parsed, not verified again.
    let token: openidconnect::core::CoreIdToken = login.id_token.parse().ok()?;
    let back = PostLogoutRedirectUrl::new(format!("{}/erpps", st.portals.public_url())).ok()?;
    Some(
        LogoutRequest::from(end)
            .set_id_token_hint(&token)
            .set_post_logout_redirect_uri(back)
            .set_client_id(ClientId::new(fc.settings.client_id.clone()))
            .http_get_url()
            .to_string(),
    )
}

/// The FranceConnect of a node, built from its settings (`Portals::with_options`).
pub(crate) fn build(
    settings: Option<FranceConnectSettings>,
    clock: SharedClock,
) -> Result<Option<Arc<FranceConnect>>, PortalError> {
    settings
        .map(|s| FranceConnect::new(s, clock).map(Arc::new))
        .transpose()
}
