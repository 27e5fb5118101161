//! The identity provider (PSC-01, PSC-02, PSC-03, PSC-09): an OpenID Connect provider that
//! existing Pro Santé Connect relying parties use unchanged, at the Keycloak layout of
//! `reference/psc.md` (`{public_url}/auth/realms/esante-wallet/…`).
//!
//! Two halves meet at a narrow seam (the [`Idp`] methods listed under "seam"):
//! - the **protocol** side (back channel): clients, signing keys and JWKS, discovery, the
//!   token endpoint (authorization code, refresh with rotation, client credentials, CIBA),
//!   userinfo, introspection, revocation, claims built from the registry;
//! - the **browser** side ([`browser`]): the authorization endpoint, the login page, the
//!   browser session (SSO), the e-CPS waiting page and the end-session endpoint.
//!
//! The browser side authenticates a professional, then asks the protocol side for an
//! authorization code ([`Idp::issue_code`]); it never signs a token itself. All state lives
//! in the database (several nodes, restarts), every expiry reads the injected clock, and no
//! secret (code, token, client secret, key) is stored in clear or logged.

pub mod account;
pub mod browser;
pub mod card;
mod ciba;
mod claims;
mod clients;
mod config;
pub mod delegation;
mod error;
mod http;
mod jwt;
mod keys;
mod logout;
mod request;
mod schema;
mod tokens;
pub mod webauthn;

pub use ciba::CibaStarted;
pub use clients::{Client, ClientSpec, GRANTS, MIN_SECRET_LEN};

/// Administration on a bare store, without a running provider (the CLI): clients and key
/// rotation.
pub mod admin {
    pub use crate::clients::{list_clients, remove_client, upsert_client};
    pub use crate::keys::{list_keys, rotate_key, KeyInfo};
}
pub use config::IdpConfig;
pub use error::IdpError;
pub use jwt::Alg;
pub use keys::MIN_INSTANCE_SECRET_LEN;
pub use logout::MAX_ATTEMPTS as MAX_LOGOUT_ATTEMPTS;
pub use schema::{migrations, MIGRATIONS};
pub use tokens::{
    idnat_of_subject, subject, AccessClaims, IdClaims, IdTokenHint, OtherId, TokenResponse, SCOPES,
    SUBJECT_UUID,
};

use caducee_core::clock::SharedClock;
use caducee_ecps_server::EcpsServer;
use caducee_store::Store;
use std::sync::Arc;

/// Path of the realm under the public URL: the issuer is `{public_url}{REALM_PATH}`.
pub const REALM_PATH: &str = "/auth/realms/esante-wallet";

/// The identity provider of one node. Cheap to clone.
#[derive(Clone)]
pub struct Idp {
    inner: Arc<IdpInner>,
}

struct IdpInner {
    store: Store,
    clock: SharedClock,
    public_url: String,
    issuer: String,
    config: IdpConfig,
    ecps: Arc<EcpsServer>,
    keys: keys::KeyRing,
    clients: clients::ClientCache,
    claims: claims::ClaimsCache,
    revoked: tokens::Revocations,
    /// Outgoing calls: back-channel logout, clients' JWKS.
    http: reqwest::Client,
    /// The discovery document, built once.
    discovery: String,
    /// The délégation providers (`[[delegations]]`) and their discovery caches.
    delegations: delegation::Brokers,
    /// The HMAC key of the security keys' decoy credential ids (PSC-07), derived from the
    /// instance secret so that every node gives an identifier the same decoys.
    webauthn_decoys: aws_lc_rs::hmac::Key,
}

impl Idp {
    /// Starts the identity provider of this node: loads the signing keys (creating the
    /// first RS256 and ES256 keys on a new database). The store must be migrated with
    /// [`migrations`]. `instance_secret` (≥ 32 characters) seals the private keys; every
    /// node of one deployment must be given the same.
    pub async fn start(
        store: Store,
        clock: SharedClock,
        public_url: &str,
        config: IdpConfig,
        ecps: Arc<EcpsServer>,
        instance_secret: &[u8],
    ) -> Result<Idp, IdpError> {
        let public_url = public_url.trim_end_matches('/').to_string();
        let issuer = format!("{public_url}{REALM_PATH}");
        let ring = keys::KeyRing::new(instance_secret)?;
        ring.ensure(&store, clock.unix()).await?;
        let delegations = delegation::Brokers::new(&config.delegations)?;
        let webauthn_decoys = webauthn::decoy_key(instance_secret)?;
        let http = reqwest::Client::builder()
            .user_agent("caducee-idp")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdpError::Internal(format!("client HTTP : {e}")))?;
        Ok(Idp {
            inner: Arc::new(IdpInner {
                discovery: http::discovery_document(&issuer),
                store,
                clock,
                public_url,
                issuer,
                config,
                ecps,
                keys: ring,
                clients: Default::default(),
                claims: Default::default(),
                revoked: Default::default(),
                http,
                delegations,
                webauthn_decoys,
            }),
        })
    }

    /// Rotates the signing key of `alg`: the successor is published at once and signs
    /// from `key_publish_delay_secs` later (at once with `immediately`, e.g. after a
    /// compromise — relying parties that cached the JWKS then refetch it on the unknown
    /// kid). Returns the new kid.
    pub async fn rotate_key(
        &self,
        alg: Alg,
        immediately: bool,
        actor: &str,
    ) -> Result<String, IdpError> {
        let now = self.now();
        let from = if immediately {
            now
        } else {
            now + self.config().key_publish_delay_secs
        };
        self.inner
            .keys
            .create(self.store(), alg, now, from, actor)
            .await
    }

    /// Reads the signing keys from the database now (rotations made elsewhere).
    pub async fn reload_keys(&self) -> Result<(), IdpError> {
        self.inner.keys.reload(self.store()).await
    }

    /// The signing keys this node holds, oldest first.
    pub fn key_infos(&self) -> Vec<admin::KeyInfo> {
        keys::infos(
            &self.keys(),
            self.now(),
            self.config().max_signed_token_ttl(),
        )
    }

    /// Reloads the keys in the background when the set is older than `key_reload_secs`.
    fn maybe_reload_keys(&self) {
        if self.inner.keys.claim_reload(self.config().key_reload_secs) {
            let idp = self.clone();
            tokio::spawn(async move {
                if let Err(e) = idp.inner.keys.reload(idp.store()).await {
                    tracing::error!(code = e.code(), error = %e, "rechargement des clés de signature");
                }
                idp.inner.keys.reload_done();
            });
        }
    }

    /// Periodic work, safe on any node at any time: automatic key rotation when due,
    /// deletion of long-retired keys, of expired codes, tokens and CIBA requests, and of
    /// back-channel logouts done a week ago.
    pub async fn housekeeping(&self) -> Result<u64, IdpError> {
        let now = self.now();
        let days = self.config().key_rotation_days;
        if days > 0 {
            let keys = self.keys();
            for alg in [Alg::Rs256, Alg::Es256] {
                let newest = keys
                    .all()
                    .iter()
                    .filter(|k| k.alg == alg)
                    .max_by_key(|k| k.generation);
                if newest.is_some_and(|k| now - k.created_at >= days * 86_400) {
                    let kid = self.rotate_key(alg, false, "system:idp").await?;
                    tracing::info!(
                        alg = alg.as_str(),
                        kid,
                        "rotation automatique de la clé de signature"
                    );
                }
            }
        }
        let purged = self
            .inner
            .keys
            .purge(self.store(), now, self.config().max_signed_token_ttl())
            .await?;
        Ok(purged + self.purge_tokens().await? + self.purge_logout_deliveries().await?)
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// External base URL, without trailing slash.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// Whether the public URL is https (the scheme compared without regard to case, as
    /// URLs define it): cookies are then Secure and `__Host-` prefixed.
    pub fn is_https(&self) -> bool {
        caducee_core::public_url::is_https(&self.inner.public_url)
    }

    /// `{public_url}/auth/realms/esante-wallet`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub fn config(&self) -> &IdpConfig {
        &self.inner.config
    }

    pub fn ecps(&self) -> &EcpsServer {
        &self.inner.ecps
    }

    pub(crate) fn delegations(&self) -> &delegation::Brokers {
        &self.inner.delegations
    }

    pub(crate) fn webauthn_decoys(&self) -> &aws_lc_rs::hmac::Key {
        &self.inner.webauthn_decoys
    }

    fn now(&self) -> i64 {
        self.inner.clock.unix()
    }
}

/// The whole identity provider router: the protocol routes and the browser routes, under
/// [`REALM_PATH`].
pub fn router(idp: Idp) -> axum::Router {
    axum::Router::new()
        .merge(http::routes())
        .merge(browser::routes())
        .merge(webauthn::routes())
        .merge(account::routes())
        .merge(card::routes())
        .merge(delegation::routes())
        .with_state(idp)
}

/// A random 256-bit secret, base64url (codes, refresh tokens, CIBA ids, login-flow and
/// session ids, cookie secrets).
fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    jwt::b64(&bytes)
}

/// How a random secret is stored: SHA-256 in hex. Enough for values of 128 bits or more
/// of entropy (no dictionary to try), and fast enough for every grant.
fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of two digests.
fn same_hash(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// ---------------------------------------------------------------------------------------
// The seam between the browser side and the protocol side.
// ---------------------------------------------------------------------------------------

/// How a professional proved who they are, as the browser side (or CIBA) established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The professional's idNat_PS (e.g. `819999900012`).
    pub idnat: String,
    /// Unix seconds of the authentication (ID token `auth_time`).
    pub auth_time: i64,
    /// `eidas1` for every means this provider offers.
    pub acr: String,
    /// ID token `amr`, e.g. `["mfa", "otp"]` for e-CPS.
    pub amr: Vec<String>,
    /// Access-token/userinfo `authMode`: `"MOBILE"` (e-CPS), `"CARD"` (CPS card).
    pub auth_mode: String,
    /// The browser session (ID token `sid`); `None` for CIBA.
    pub session_id: Option<String>,
}

/// A validated authorization request, as the browser side hands it over once the
/// professional is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest {
    pub client_id: String,
    /// Exactly one of the client's registered redirect URIs.
    pub redirect_uri: String,
    /// Space-separated, includes `openid`.
    pub scope: String,
    pub nonce: Option<String>,
    /// PKCE S256 challenge (required for public clients).
    pub code_challenge: Option<String>,
}
