//! The upstream login: `GET …/broker/{id}/login?flow=F` (the tab's link; `kc_idp_hint`
//! comes here without the page) sends the browser to the provider with a fresh `state`,
//! nonce and PKCE challenge; `GET …/broker/{id}/endpoint` (the callback, Keycloak's layout)
//! takes the `state` once, checks that its login flow is this browser's, exchanges the
//! code, verifies the ID token (signature with the provider's JWKS, issuer, audience,
//! expiry at the injected clock, nonce), derives the level from its `amr`, then ends the
//! flow for the paired professional or asks for the pairing login.

use super::{level, store, DelegationProvider, AUTH_MODE};
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use caducee_pages::{Arg, PageCtx};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, JsonWebKey, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How long discovery and keys are trusted before being fetched again.
const DISCOVERY_TTL_SECS: i64 = 300;
/// An ID token naming an unknown key triggers a new discovery, at most this often.
const MIN_REFRESH_SECS: i64 = 10;
/// Only asymmetric signatures; never `none`, never HMAC.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 3] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
];

/// One configured provider and its discovery cache.
pub(crate) struct Broker {
    pub settings: DelegationProvider,
    issuer: IssuerUrl,
    http: openidconnect::reqwest::Client,
    cache: tokio::sync::Mutex<Option<(Arc<CoreProviderMetadata>, i64)>>,
}

impl Broker {
    pub fn new(settings: DelegationProvider) -> Result<Broker, IdpError> {
        let issuer =
            IssuerUrl::new(settings.issuer.trim_end_matches('/').to_string()).map_err(|e| {
                IdpError::Internal(format!("issuer {} invalide : {e}", settings.issuer))
            })?;
        let http = openidconnect::reqwest::Client::builder()
            // Redirects would let a discovery document point the back channel anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| IdpError::Internal(format!("client HTTP : {e}")))?;
        Ok(Broker {
            settings,
            issuer,
            http,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    /// The provider's metadata and keys; fetched again when stale, or when `kid` is not in
    /// the cached set (a key rotation), not more than every [`MIN_REFRESH_SECS`].
    async fn metadata(
        &self,
        now: i64,
        kid: Option<&str>,
    ) -> Result<Arc<CoreProviderMetadata>, String> {
        let mut cache = self.cache.lock().await;
        if let Some((m, at)) = cache.as_ref() {
            let fresh = now >= *at && now - at < DISCOVERY_TTL_SECS;
            let knows = kid.is_none_or(|kid| {
                m.jwks()
                    .keys()
                    .iter()
                    .any(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
            });
            if fresh && (knows || now - at < MIN_REFRESH_SECS) {
                return Ok(m.clone());
            }
        }
        let m = Arc::new(
            CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
                .await
                .map_err(|e| error_chain(&e))?,
        );
        *cache = Some((m.clone(), now));
        Ok(m)
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
        public_url: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let redirect = RedirectUrl::new(self.settings.callback_url(public_url))
            .map_err(|e| format!("redirect_uri : {e}"))?;
        // client_secret_basic unless the provider offers only client_secret_post.
        let methods = metadata.token_endpoint_auth_methods_supported();
        let post_only = methods.is_some_and(|m| {
            m.contains(&CoreClientAuthMethod::ClientSecretPost)
                && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
        });
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        Ok(if post_only {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(" : ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The provider's authorization URL for the login flow `flow_id` (an attempt row holds the
/// state's hash, the nonce and the PKCE verifier).
pub(super) async fn upstream_url(idp: &Idp, b: &Broker, flow_id: &str) -> Result<String, IdpError> {
    let metadata = b
        .metadata(idp.now(), None)
        .await
        .map_err(|e| IdpError::Internal(format!("découverte de {} : {e}", b.settings.id)))?;
    let client = b
        .client(&metadata, idp.public_url())
        .map_err(IdpError::Internal)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = crate::random_secret();
    let nonce = crate::random_secret();
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            {
                let state = state.clone();
                move || CsrfToken::new(state)
            },
            {
                let nonce = nonce.clone();
                move || Nonce::new(nonce)
            },
        )
        .add_scope(Scope::new("openid".to_string()))
        .set_pkce_challenge(challenge)
        .url();
    store::create_attempt(
        idp,
        &state,
        flow_id,
        &b.settings.id,
        &nonce,
        verifier.secret(),
    )
    .await?;
    Ok(url.to_string())
}

#[derive(Deserialize)]
pub(super) struct StartQuery {
    #[serde(default)]
    flow: String,
}

/// The tab's link to a provider.
pub(super) async fn start(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(q): Query<StartQuery>,
) -> Response {
    let result = async {
        let Some(b) = idp.delegations().get(&id) else {
            return Ok(not_found(&ctx));
        };
        if !crate::browser::flow_is_open(&idp, &jar, &q.flow).await? {
            return Ok(flow_expired(&ctx));
        }
        let url = upstream_url(&idp, &b, &q.flow).await?;
        Ok::<_, IdpError>(crate::browser::see_other(&url))
    }
    .await;
    result.unwrap_or_else(|e| unavailable(&ctx, &e))
}

pub(super) async fn callback(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match callback_inner(&idp, &ctx, jar, &id, query.as_deref().unwrap_or("")).await {
        Ok(r) => r,
        Err(e) => unavailable(&ctx, &e),
    }
}

async fn callback_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    id: &str,
    raw: &str,
) -> Result<Response, IdpError> {
    let mut params = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Ok(bad_callback(ctx));
        }
    }
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let Some(b) = idp.delegations().get(id) else {
        return Ok(not_found(ctx));
    };
    // The state: taken once, of this provider, of a login flow of this very browser.
    let attempt = match get("state") {
        Some(state) => store::take_attempt(idp, state).await?,
        None => None,
    };
    let Some(attempt) = attempt.filter(|a| a.provider_id == id) else {
        refused_audit(idp, id, "state").await;
        return Ok(bad_callback(ctx));
    };
    if !crate::browser::flow_is_open(idp, &jar, &attempt.flow_id).await? {
        refused_audit(idp, id, "flow").await;
        return Ok(flow_expired(ctx));
    }
    let login_page = format!("{}{REALM_PATH}/login/{}", idp.public_url(), attempt.flow_id);
    let name = b.settings.name.as_str();
    let failed = |status: StatusCode| {
        crate::browser::message_page(
            ctx,
            status,
            &ctx.t("delegation-failed-title"),
            &ctx.tr
                .t_with("delegation-failed-text", &[("provider", Arg::from(name))]),
            Some((&login_page, &ctx.t("delegation-retry"))),
        )
    };
    if let Some(iss) = get("iss") {
        if iss.trim_end_matches('/') != b.issuer.as_str().trim_end_matches('/') {
            refused_audit(idp, id, "iss").await;
            return Ok(failed(StatusCode::BAD_REQUEST));
        }
    }
    if let Some(error) = get("error") {
        tracing::info!(
            provider = id,
            error,
            "délégation : le fournisseur a refusé la connexion"
        );
        return Ok(failed(StatusCode::OK));
    }
    let Some(code) = get("code") else {
        return Ok(bad_callback(ctx));
    };

    // The code for tokens, then the ID token verified.
    let verified = verify(idp, &b, code, &attempt).await;
    let (sub, upstream_amr, auth_time) = match verified {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(provider = id, error = %e, "délégation : réponse du fournisseur refusée");
            refused_audit(idp, id, "id_token").await;
            return Ok(failed(StatusCode::BAD_GATEWAY));
        }
    };

    // The level: below eidas1, refused (page, and access_denied to the client).
    let lvl = level::derive(&upstream_amr);
    if lvl.acr.is_none() {
        refused_audit(idp, id, "level").await;
        let back = crate::browser::refuse_flow(
            idp,
            &attempt.flow_id,
            "access_denied",
            "niveau d'authentification insuffisant : le fournisseur de délégation n'atteste pas une authentification à plusieurs facteurs (eidas1)",
        )
        .await?;
        let label = ctx.t("delegation-back-to-service");
        return Ok(crate::browser::message_page(
            ctx,
            StatusCode::FORBIDDEN,
            &ctx.t("delegation-too-weak-title"),
            &ctx.tr
                .t_with("delegation-too-weak-text", &[("provider", Arg::from(name))]),
            back.as_deref().map(|u| (u, label.as_str())),
        ));
    }
    let amr: Vec<&str> = lvl.amr.iter().map(String::as_str).collect();
    match store::paired_idnat(idp, id, &sub).await? {
        Some(idnat) => {
            crate::browser::complete_login(
                idp,
                ctx,
                jar,
                &attempt.flow_id,
                &idnat,
                auth_time.unwrap_or_else(|| idp.now()),
                &amr,
                AUTH_MODE,
            )
            .await
        }
        None => {
            store::set_pending(idp, &attempt.flow_id, id, &sub, &lvl.amr).await?;
            Ok(crate::browser::see_other(&format!(
                "{login_page}?tab=delegation"
            )))
        }
    }
}

/// Exchanges the code (PKCE verifier) and verifies the ID token: (sub, amr, auth_time).
async fn verify(
    idp: &Idp,
    b: &Broker,
    code: &str,
    attempt: &store::Attempt,
) -> Result<(String, Vec<String>, Option<i64>), String> {
    let now = idp.now();
    let metadata = b.metadata(now, None).await?;
    let client = b.client(&metadata, idp.public_url())?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| error_chain(&e))?
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
        .request_async(&b.http)
        .await
        .map_err(|e| format!("jeton : {}", error_chain(&e)))?;
    let id_token = tokens.id_token().ok_or("pas d'ID token")?;
    let raw = id_token.to_string();
    let kid = unverified_kid(&raw);
    let metadata = b.metadata(now, kid.as_deref()).await?;
    let client = b.client(&metadata, idp.public_url())?;
    let clock = idp.clock().clone();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || chrono::DateTime::from_timestamp(clock.unix(), 0).unwrap_or_default());
    let claims = id_token
        .claims(&verifier, &Nonce::new(attempt.nonce.clone()))
        .map_err(|e| format!("ID token : {}", error_chain(&e)))?;
    let amr = claims
        .auth_method_refs()
        .map(|v| v.iter().map(|a| a.as_str().to_string()).collect())
        .unwrap_or_default();
    Ok((
        claims.subject().as_str().to_string(),
        amr,
        claims.auth_time().map(|t| t.timestamp()),
    ))
}

/// The `kid` of a compact JWS header, unverified (only to pick the key set).
fn unverified_kid(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("kid")?.as_str().map(str::to_string)
}

async fn refused_audit(idp: &Idp, provider: &str, why: &str) {
    let event = caducee_store::audit::AuditEvent {
        actor: &format!("delegation:{provider}"),
        action: "idp.delegation.refused",
        subject: None,
        details: serde_json::json!({ "provider": provider, "reason": why }),
        request_id: None,
    };
    if let Err(e) = caducee_store::audit::record(idp.store().pool(), idp.now(), &event).await {
        tracing::error!(error = %e, "délégation : journal d'audit");
    }
}

fn bad_callback(ctx: &PageCtx) -> Response {
    crate::browser::message_page(
        ctx,
        StatusCode::BAD_REQUEST,
        &ctx.t("delegation-bad-callback-title"),
        &ctx.t("delegation-bad-callback-text"),
        None,
    )
}

fn not_found(ctx: &PageCtx) -> Response {
    crate::browser::message_page(
        ctx,
        StatusCode::NOT_FOUND,
        &ctx.t("delegation-unknown-title"),
        &ctx.t("delegation-unknown-text"),
        None,
    )
}

fn flow_expired(ctx: &PageCtx) -> Response {
    crate::browser::message_page(
        ctx,
        StatusCode::NOT_FOUND,
        &ctx.t("idp-flow-expired-title"),
        &ctx.t("idp-flow-expired-text"),
        None,
    )
}

fn unavailable(ctx: &PageCtx, e: &IdpError) -> Response {
    tracing::error!(error = %e, "délégation");
    crate::browser::message_page(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        &ctx.t("idp-unavailable-title"),
        &ctx.t("idp-unavailable-text"),
        None,
    )
    .into_response()
}
