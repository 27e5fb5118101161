//! The portals of caducee (DESIGN.md "Portals"): partner spaces under `/espaces/{portal}`.
//! For now the demo relying party at `/espaces/demo`, the seed of the partner portals.
//!
//! A portal is a **real OpenID Connect client** of the identity provider, over HTTP, through
//! the certified-style `openidconnect` crate: discovery, authorization code flow with PKCE,
//! ID token verification through JWKS, userinfo, RP-initiated and back-channel logout. It
//! never calls the idp's Rust API to log someone in, so every login through a portal
//! exercises the same protocol a vendor's application uses, and a portal could run in
//! another process (or against another provider) by changing only the issuer.
//!
//! All state is in the database (login attempts, sessions): a login started on one node
//! finishes on another, and survives a restart. The client secret is derived from the
//! instance secret, the same on every node, and stored nowhere.

pub mod accounts;
mod demo;
mod error;
pub mod flows;
mod oidc;
pub mod one_time;
mod pages;
mod schema;
mod sessions;

pub use error::PortalError;
pub use schema::{migrations, MIGRATIONS};

use axum::Router;
use caducee_core::clock::SharedClock;
use caducee_store::Store;
use std::sync::Arc;

/// Path of the identity provider's realm under the public URL (reference/psc.md).
pub const REALM_PATH: &str = "/auth/realms/esante-wallet";

/// One configured portal. The demo is the only one for now; the partner portals (`ror`,
/// `ordre`, `rplus`) will be more values of this, not more code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalConfig {
    /// Path segment under `/espaces/`, also the key of its rows.
    pub slug: &'static str,
    /// Shown in the pages (and registered as the client's name at the provider).
    pub name: &'static str,
    /// Its client id at the identity provider.
    pub client_id: &'static str,
}

/// The demo portal.
pub const DEMO: PortalConfig = PortalConfig {
    slug: "demo",
    name: "Espace de démonstration",
    client_id: "demo",
};

/// What the identity provider must know of a portal's OIDC client: handed to the idp's
/// client registration at `serve --demo` start. The secret is sensitive: never log this.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_id: String,
    pub name: String,
    /// Confidential client, `client_secret_basic`.
    pub secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// `authorization_code`, `refresh_token`.
    pub grants: Vec<String>,
}

impl std::fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("secret", &"***")
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .field("grants", &self.grants)
            .finish()
    }
}

/// The portals of one node. Cheap to clone.
#[derive(Clone)]
pub struct Portals {
    inner: Arc<PortalsInner>,
}

struct PortalsInner {
    store: Store,
    clock: SharedClock,
    /// External base URL, without trailing slash.
    public_url: String,
    /// The identity provider as seen from the portals: discovery and keys, fetched lazily.
    provider: oidc::Provider,
    /// Derives the portals' client secrets (see [`Portals::client_secret`]).
    secret_key: aws_lc_rs::hmac::Key,
}

impl Portals {
    /// `public_url` is the external base URL; the provider's issuer is
    /// `{public_url}/auth/realms/esante-wallet`. Nothing is fetched here: the provider is
    /// usually this very process, not yet listening when the router is built.
    /// `instance_secret` is the deployment's secret (the one that seals the provider's
    /// keys): the portals' client secrets are derived from it, never stored.
    pub fn new(
        store: Store,
        clock: SharedClock,
        public_url: &str,
        instance_secret: &[u8],
    ) -> Result<Portals, PortalError> {
        let public_url = public_url.trim_end_matches('/').to_string();
        let issuer = format!("{public_url}{REALM_PATH}");
        let provider = oidc::Provider::new(&issuer, clock.clone())?;
        Ok(Portals {
            inner: Arc::new(PortalsInner {
                store,
                clock,
                public_url,
                provider,
                secret_key: aws_lc_rs::hmac::Key::new(
                    aws_lc_rs::hmac::HMAC_SHA256,
                    instance_secret,
                ),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    fn now(&self) -> i64 {
        self.inner.clock.unix()
    }

    fn provider(&self) -> &oidc::Provider {
        &self.inner.provider
    }

    /// Cookies carry `Secure` when the portal is served over HTTPS (a plain-HTTP demo on
    /// 127.0.0.1 would otherwise never get its cookies back).
    /// Whether the public URL is https (scheme compared without regard to case).
    fn secure_cookies(&self) -> bool {
        caducee_core::public_url::is_https(&self.inner.public_url)
    }

    /// `{public_url}/espaces/{slug}`.
    fn home_url(&self, portal: &PortalConfig) -> String {
        format!("{}/espaces/{}", self.inner.public_url, portal.slug)
    }

    /// The portal's OIDC client secret: HMAC-SHA256 of its client id under the instance
    /// secret, base64url (characters that client_secret_basic carries unchanged). Nothing
    /// to store, so nothing to leak with a copy of the database; the same on every node and
    /// after a restart (logins in flight survive); another instance secret, another secret.
    pub(crate) fn client_secret(&self, portal: &PortalConfig) -> String {
        use base64::Engine as _;
        let tag = aws_lc_rs::hmac::sign(
            &self.inner.secret_key,
            format!("caducee/portals/client-secret/v1/{}", portal.client_id).as_bytes(),
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The client registration of a portal, with its secret.
    pub fn client_registration(&self, portal: &PortalConfig) -> ClientRegistration {
        let secret = self.client_secret(portal);
        let home = self.home_url(portal);
        ClientRegistration {
            client_id: portal.client_id.to_string(),
            name: portal.name.to_string(),
            secret,
            redirect_uris: vec![format!("{home}/callback")],
            post_logout_redirect_uris: vec![home.clone()],
            backchannel_logout_uri: Some(format!("{home}/backchannel-logout")),
            grants: vec!["authorization_code".into(), "refresh_token".into()],
        }
    }
}

/// The routes of every portal, state applied: merge into the application router.
pub fn routes(portals: Portals) -> Router {
    demo::routes(DEMO).with_state(demo::PortalState {
        portals,
        portal: DEMO,
    })
}
