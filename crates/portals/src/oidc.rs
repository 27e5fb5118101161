//! The identity provider as a relying party sees it: discovery (with the JWKS) fetched over
//! HTTP on first use and cached a few minutes, the `openidconnect` client built from it,
//! and the verification of the JWTs that library does not cover (access token, logout
//! token) with the same JWKS and the same signature code.
//!
//! Lazy on purpose: the provider is usually this very process, which is not listening yet
//! when the router is built. Short TTL on purpose: a key rotation or a changed endpoint is
//! seen within minutes, and a JWT signed by a key the cache does not know triggers one
//! early refresh.

use crate::PortalError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use caducee_core::clock::SharedClock;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJsonWebKeyUse, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{
    reqwest, AdditionalProviderMetadata, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    JsonWebKey, JsonWebKeySet, LogoutProviderMetadata, ProviderMetadata,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// How long discovery and keys are trusted before being fetched again.
const DISCOVERY_TTL_SECS: i64 = 300;
/// A JWT naming an unknown key triggers a refresh, but not more often than this: a stream of
/// forged tokens must not become a stream of requests to the provider.
const MIN_REFRESH_SECS: i64 = 10;

/// Discovery fields of PSC beyond OIDC Core that a portal reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct PscMetadata {
    /// RFC 9207: when true, the callback must carry `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_supported: Option<bool>,
}
impl AdditionalProviderMetadata for PscMetadata {}

/// The discovery document as the portals read it (Core, RP-initiated logout, PSC extras).
pub(crate) type Metadata = ProviderMetadata<
    LogoutProviderMetadata<PscMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client `CoreClient::from_provider_metadata` gives: authorization endpoint set, token
/// and userinfo endpoints as discovery says.
pub(crate) type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The only signature algorithms accepted, whatever a token's header says: what the
/// provider signs with (RS256 by default, ES256 on request). Never `none`, never HMAC.
pub(crate) const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 2] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
];

pub(crate) struct Provider {
    issuer: IssuerUrl,
    http: reqwest::Client,
    clock: SharedClock,
    /// Held across the fetch, so concurrent first requests make one fetch, not many.
    cache: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    metadata: Arc<Metadata>,
    fetched_at: i64,
}

impl Provider {
    pub fn new(issuer: &str, clock: SharedClock) -> Result<Provider, PortalError> {
        let issuer = IssuerUrl::new(issuer.to_string())
            .map_err(|e| PortalError::Internal(format!("issuer {issuer} invalide : {e}")))?;
        let http = reqwest::Client::builder()
            // Following redirects would let a compromised discovery document point the
            // back channel anywhere (SSRF); the provider never needs them there.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| PortalError::Internal(format!("client HTTP : {e}")))?;
        Ok(Provider {
            issuer,
            http,
            clock,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    pub fn issuer(&self) -> &IssuerUrl {
        &self.issuer
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The provider's metadata and keys, fetched when the cache is empty or stale.
    pub async fn metadata(&self) -> Result<Arc<Metadata>, PortalError> {
        self.metadata_for_kid(None).await
    }

    /// The metadata whose JWKS can check a JWT signed with key `kid`: when the cached set
    /// does not know it, the provider has probably rotated its keys, so fetch again (at most
    /// once per [`MIN_REFRESH_SECS`]).
    pub async fn metadata_for_kid(&self, kid: Option<&str>) -> Result<Arc<Metadata>, PortalError> {
        let now = self.clock.unix();
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            let fresh = now - c.fetched_at < DISCOVERY_TTL_SECS && now >= c.fetched_at;
            let knows_kid = kid.is_none_or(|kid| has_kid(&c.metadata, kid));
            let may_refresh = now - c.fetched_at >= MIN_REFRESH_SECS || now < c.fetched_at;
            if fresh && (knows_kid || !may_refresh) {
                return Ok(c.metadata.clone());
            }
        }
        let metadata = Arc::new(
            Metadata::discover_async(self.issuer.clone(), &self.http)
                .await
                .map_err(|e| PortalError::Discovery(error_chain(&e)))?,
        );
        tracing::debug!(issuer = %self.issuer.as_str(), keys = metadata.jwks().keys().len(), "découverte du fournisseur d'identité");
        *cache = Some(Cached {
            metadata: metadata.clone(),
            fetched_at: now,
        });
        Ok(metadata)
    }
}

fn has_kid(metadata: &Metadata, kid: &str) -> bool {
    metadata
        .jwks()
        .keys()
        .iter()
        .any(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
}

/// An error and its causes on one line (the library's errors nest the useful part).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(" : ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The `kid` of a compact JWS header, unverified (only to pick the key set).
pub(crate) fn unverified_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let header: Value = decode_json(header).ok()?;
    header.get("kid")?.as_str().map(str::to_string)
}

fn decode_json(segment: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| format!("base64url invalide : {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("JSON invalide : {e}"))
}

/// The claims of a JWT whose signature is checked, unverified: only for showing a token
/// already verified by `openidconnect` exactly as it was received.
pub(crate) fn payload(token: &str) -> Result<Map<String, Value>, String> {
    let segment = token.split('.').nth(1).ok_or("JWT sans charge utile")?;
    match decode_json(segment)? {
        Value::Object(m) => Ok(m),
        _ => Err("la charge utile du JWT n'est pas un objet".into()),
    }
}

/// Verifies the signature of a compact JWS with the provider's keys and returns its claims.
/// The algorithm must be one of [`ALLOWED_ALGS`]; the key is the one named by `kid` (any
/// signing key when the header names none). The claims themselves are the caller's to check.
pub(crate) fn verify_jws(
    jwks: &JsonWebKeySet<CoreJsonWebKey>,
    token: &str,
) -> Result<Map<String, Value>, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("pas un JWS compact".into());
    };
    let header = decode_json(h)?;
    let alg: CoreJwsSigningAlgorithm = header
        .get("alg")
        .cloned()
        .and_then(|a| serde_json::from_value(a).ok())
        .ok_or("en-tête sans algorithme reconnu")?;
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(format!("algorithme refusé : {}", header["alg"]));
    }
    // RFC 7515 §4.1.11: an extension we do not understand must make us reject the token.
    if header.get("crit").is_some() {
        return Err("en-tête « crit » non pris en charge".into());
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| format!("signature base64url invalide : {e}"))?;
    let message = format!("{h}.{p}");
    let mut candidates = jwks
        .keys()
        .iter()
        .filter(|k| kid.is_none() || k.key_id().map(|id| id.as_str()) == kid)
        .filter(|k| matches!(k.key_use(), None | Some(CoreJsonWebKeyUse::Signature)))
        .peekable();
    if candidates.peek().is_none() {
        return Err(format!("aucune clé du JWKS pour kid {kid:?}"));
    }
    if !candidates.any(|k| {
        k.verify_signature(&alg, message.as_bytes(), &signature)
            .is_ok()
    }) {
        return Err("signature invalide".into());
    }
    match decode_json(p)? {
        Value::Object(m) => Ok(m),
        _ => Err("la charge utile du JWT n'est pas un objet".into()),
    }
}

/// True when the `aud` claim (a string or an array of strings) names `client_id`.
pub(crate) fn audience_contains(claims: &Map<String, Value>, client_id: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn refuses_unsigned_and_hmac_tokens() {
        let jwks = JsonWebKeySet::<CoreJsonWebKey>::new(vec![]);
        let claims = b64(&serde_json::json!({"iss": "x"}));
        for alg in ["none", "HS256", "RS512"] {
            let token = format!("{}.{claims}.", b64(&serde_json::json!({"alg": alg})));
            let err = verify_jws(&jwks, &token).unwrap_err();
            assert!(err.contains("algorithme"), "{alg}: {err}");
        }
        assert!(verify_jws(&jwks, "a.b").is_err());
        assert!(verify_jws(&jwks, "a.b.c.d").is_err());
    }

    #[test]
    fn audience_is_a_string_or_a_list() {
        let m = |v: Value| v.as_object().cloned().unwrap();
        assert!(audience_contains(
            &m(serde_json::json!({"aud": "demo"})),
            "demo"
        ));
        assert!(audience_contains(
            &m(serde_json::json!({"aud": ["x", "demo"]})),
            "demo"
        ));
        assert!(!audience_contains(
            &m(serde_json::json!({"aud": "x"})),
            "demo"
        ));
        assert!(!audience_contains(&m(serde_json::json!({})), "demo"));
    }

    #[test]
    fn kid_is_read_from_the_header() {
        let token = format!(
            "{}.{}.sig",
            b64(&serde_json::json!({"alg": "RS256", "kid": "k1"})),
            b64(&serde_json::json!({}))
        );
        assert_eq!(unverified_kid(&token).as_deref(), Some("k1"));
        assert_eq!(unverified_kid("garbage"), None);
    }
}
