//! The portals of caducee (DESIGN.md "Portals"): partner spaces under `/espaces/{portal}`,
//! each a [`PortalConfig`] (`[[portals]]` of the configuration file; the demo ones in
//! [`config`]). A portal offers Pro Santé Connect (the OIDC routes of `demo.rs`), local
//! accounts (the self-service screens of `local/`: creation, recovery, reset, settings,
//! ACC-01..07), or both.
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
pub mod ars;
pub mod config;
mod demo;
pub mod erpps;
mod error;
pub mod flows;
pub mod franceconnect;
pub mod legacy;
mod local;
mod oidc;
pub mod one_time;
mod pages;
mod schema;
mod sessions;
mod state;
pub mod terms;

pub use config::{AccountPolicy, LoginMeans, PortalConfig, Service};
pub use error::PortalError;
pub use schema::{migrations, MIGRATIONS};

use axum::Router;
use caducee_core::clock::SharedClock;
use caducee_store::Store;
use std::sync::Arc;

/// Path of the identity provider's realm under the public URL (reference/psc.md).
pub const REALM_PATH: &str = "/auth/realms/esante-wallet";

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
    /// FranceConnect, the upstream provider of eRPPS's first registrations (REG-07, REG-12).
    franceconnect: Option<Arc<franceconnect::FranceConnect>>,
    franceconnect_standin: Option<Arc<franceconnect::standin::StandIn>>,
    configs: Vec<Arc<PortalConfig>>,
    store: Store,
    clock: SharedClock,
    /// External base URL, without trailing slash.
    public_url: String,
    /// The identity provider as seen from the portals: discovery and keys, fetched lazily.
    provider: oidc::Provider,
    /// Derives the portals' client secrets (see [`Portals::client_secret`]).
    secret_key: aws_lc_rs::hmac::Key,
    /// Hashes the one-time codes and links.
    one_time: one_time::SecretHasher,
    code_policy: one_time::CodePolicy,
    /// Argon2id of the local accounts' passwords (OWASP cost, bounded threads).
    passwords: caducee_passwords::PasswordHasher,
    /// Seals the TOTP secrets of the agencies' agents (ars/).
    ars_sealer: ars::totp::Sealer,
    /// The registry's propagation delay (eRPPS shows when an approved change is visible).
    propagation_delay_secs: i64,
}

/// What a node's portals are made of, beyond the store and the clock.
pub struct PortalsOptions {
    /// `[franceconnect]`: FranceConnect for eRPPS (none: its pages say it is not configured).
    pub franceconnect: Option<franceconnect::FranceConnectSettings>,
    /// Demo mode without `[franceconnect]`: the stand-in served at `/dev/franceconnect`
    /// (whose settings `franceconnect` then holds).
    pub franceconnect_standin: Option<Arc<franceconnect::standin::StandIn>>,
    /// The portals served (validated by [`config::validate_all`]).
    pub configs: Vec<PortalConfig>,
    pub code_policy: one_time::CodePolicy,
    pub passwords: caducee_passwords::PasswordHasher,
    /// Whether this node serves eRPPS (`/erpps`, the registry's own portal).
    pub erpps: bool,
    /// The registry's propagation delay, what eRPPS tells of an approved change.
    pub propagation_delay_secs: i64,
}

impl Default for PortalsOptions {
    /// The demo portal alone, the default limits, OWASP argon2id.
    fn default() -> Self {
        PortalsOptions {
            franceconnect: None,
            franceconnect_standin: None,
            configs: vec![config::demo()],
            code_policy: one_time::CodePolicy::default(),
            passwords: caducee_passwords::PasswordHasher::new(
                caducee_passwords::Argon2Policy::owasp(),
            ),
            erpps: true,
            propagation_delay_secs: caducee_registry::requests::DEFAULT_PROPAGATION_DELAY_SECS,
        }
    }
}

/// The old system's password of the demo's legacy accounts (README).
pub const DEMO_LEGACY_PASSWORD: &str = "Resoflux-2026";

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
        Portals::with_options(
            store,
            clock,
            public_url,
            instance_secret,
            PortalsOptions::default(),
        )
    }

    /// [`Portals::new`] with the portals and limits given; refuses an invalid configuration.
    pub fn with_options(
        store: Store,
        clock: SharedClock,
        public_url: &str,
        instance_secret: &[u8],
        options: PortalsOptions,
    ) -> Result<Portals, PortalError> {
        config::validate_all(&options.configs).map_err(PortalError::Config)?;
        let mut configs = options.configs.clone();
        erpps::add_to(&mut configs, &options);
        let public_url = public_url.trim_end_matches('/').to_string();
        let issuer = format!("{public_url}{REALM_PATH}");
        let provider = oidc::Provider::new(&issuer, clock.clone())?;
        Ok(Portals {
            inner: Arc::new(PortalsInner {
                franceconnect: franceconnect::build(options.franceconnect.clone(), clock.clone())?,
                franceconnect_standin: options.franceconnect_standin.clone(),
                configs: configs.into_iter().map(Arc::new).collect(),
                propagation_delay_secs: options.propagation_delay_secs,
                one_time: one_time::SecretHasher::new(instance_secret),
                ars_sealer: ars::totp::Sealer::new(instance_secret)?,
                code_policy: options.code_policy,
                passwords: options.passwords,
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

    /// The portals served, in configuration order.
    pub fn configs(&self) -> impl Iterator<Item = &PortalConfig> {
        self.inner.configs.iter().map(|c| c.as_ref())
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub(crate) fn one_time(&self) -> &one_time::SecretHasher {
        &self.inner.one_time
    }

    pub(crate) fn code_policy(&self) -> &one_time::CodePolicy {
        &self.inner.code_policy
    }

    pub(crate) fn passwords(&self) -> &caducee_passwords::PasswordHasher {
        &self.inner.passwords
    }

    pub(crate) fn ars_sealer(&self) -> &ars::totp::Sealer {
        &self.inner.ars_sealer
    }

    /// Demo mode: the portals whose onboarding asks for terms get a demo version when they
    /// have none (an operator publishes its own with `caducee portal terms publish`).
    pub async fn seed_demo_terms(&self) -> Result<(), PortalError> {
        const DEMO_TERMS: &str = include_str!("demo_terms.txt");
        for portal in self.configs() {
            let wants = portal.onboarding.contains(&config::OnboardingStep::Terms);
            if wants && terms::current(self.store(), &portal.slug).await?.is_none() {
                let published = terms::publish(
                    self.store(),
                    &portal.slug,
                    "demo-1",
                    DEMO_TERMS,
                    "system:demo",
                    self.now(),
                )
                .await?;
                if let Err(e) = published {
                    tracing::warn!(portal = %portal.slug, error = %e, "conditions de démonstration");
                }
            }
        }
        Ok(())
    }

    /// Demo mode: the registration portals (RPLUS) get the old system's accounts of the
    /// demo when they have none: `CPAM0001` / `Resoflux-2026` (bcrypt, as the old system
    /// kept them) and `CPAM0002` / `Resoflux-2026` (LDAP `{SSHA}`), whose registration
    /// the personas Julie Martin and Karim Benali can go through (README).
    pub async fn seed_demo_legacy_accounts(&self) -> Result<(), PortalError> {
        for portal in self.configs() {
            if portal.accounts != config::AccountPolicy::RegistrationForm {
                continue;
            }
            let any: Option<String> = sqlx::query_scalar(
                "SELECT identifier FROM portal_legacy_account WHERE portal = $1 LIMIT 1",
            )
            .bind(&portal.slug)
            .fetch_optional(self.store().pool())
            .await?;
            if any.is_some() {
                continue;
            }
            let bcrypt = tokio::task::spawn_blocking(|| {
                caducee_passwords::legacy::demo_bcrypt(DEMO_LEGACY_PASSWORD)
            })
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?
            .map_err(PortalError::Internal)?;
            let ssha = caducee_passwords::legacy::demo_ssha(DEMO_LEGACY_PASSWORD, b"caducee!");
            let file = format!(
                "CPAM0001;julie.martin@example.test;{bcrypt};19999900012\nCPAM0002;karim.benali@example.test;{ssha};19999900061\n"
            );
            let report = legacy::import(
                self.store(),
                &portal.slug,
                file.as_bytes(),
                "system:demo",
                self.now(),
            )
            .await?;
            if !report.refused.is_empty() {
                tracing::warn!(portal = %portal.slug, refused = ?report.refused, "comptes de démonstration");
            }
        }
        Ok(())
    }

    /// Deletes expired flows (ACC-02), spent codes and links, ended local sessions. Any
    /// node may run it; `serve` does every minute.
    pub async fn housekeeping(&self) -> Result<u64, PortalError> {
        let now = self.now();
        let pool = self.store().pool();
        Ok(flows::housekeeping(pool, now).await?
            + one_time::housekeeping(pool, now).await?
            + local::housekeeping(pool, now).await?
            + ars::housekeeping(pool, now).await?)
    }

    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// `[registry] propagation_delay_secs`: what the texts say ("un délai de 48 heures").
    pub fn propagation_delay_secs(&self) -> i64 {
        self.inner.propagation_delay_secs
    }

    pub(crate) fn franceconnect(&self) -> Option<&franceconnect::FranceConnect> {
        self.inner.franceconnect.as_deref()
    }

    pub(crate) fn now(&self) -> i64 {
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
        format!("{}{}", self.inner.public_url, portal.base())
    }

    /// The portal's OIDC client secret: HMAC-SHA256 of its client id under the instance
    /// secret, base64url (characters that client_secret_basic carries unchanged). Nothing
    /// to store, so nothing to leak with a copy of the database; the same on every node and
    /// after a restart (logins in flight survive); another instance secret, another secret.
    pub(crate) fn client_secret(&self, portal: &PortalConfig) -> String {
        use base64::Engine as _;
        let tag = aws_lc_rs::hmac::sign(
            &self.inner.secret_key,
            format!("caducee/portals/client-secret/v1/{}", portal.client_id()).as_bytes(),
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// The client registration of a portal, with its secret.
    pub fn client_registration(&self, portal: &PortalConfig) -> ClientRegistration {
        let secret = self.client_secret(portal);
        let home = self.home_url(portal);
        ClientRegistration {
            client_id: portal.client_id().to_string(),
            name: portal.name.to_string(),
            secret,
            redirect_uris: vec![format!("{home}/callback")],
            post_logout_redirect_uris: vec![home.clone()],
            backchannel_logout_uri: Some(format!("{home}/backchannel-logout")),
            grants: vec!["authorization_code".into(), "refresh_token".into()],
        }
    }
}

/// The routes of every configured portal, state applied: merge into the application router.
/// A portal offering Pro Santé Connect gets the OIDC routes (`demo.rs`); one with local
/// accounts gets the self-service screens (`local/`), whose home page then offers both.
pub fn routes(portals: Portals) -> Router {
    let mut router = Router::new();
    for portal in &portals.inner.configs {
        let state = state::PortalState {
            portals: portals.clone(),
            portal: portal.clone(),
        };
        let mut r = local::common_routes(portal);
        if portal.slug == erpps::SLUG {
            // eRPPS: Pro Santé Connect only, its own home and pages (erpps/).
            r = r.merge(demo::routes(portal, false)).merge(erpps::routes());
            router = router.merge(r.with_state(state));
            continue;
        }
        if portal.offers(LoginMeans::Psc) {
            r = r.merge(demo::routes(portal, !portal.offers(LoginMeans::Local)));
        }
        if portal.offers(LoginMeans::Local) {
            r = r.merge(local::routes(portal));
        }
        router = router.merge(r.with_state(state));
    }
    // FranceConnect for eRPPS (REG-07, REG-12), on eRPPS's state.
    if let Some(erpps) = portals.inner.configs.iter().find(|c| c.slug == "erpps") {
        let state = state::PortalState {
            portals: portals.clone(),
            portal: erpps.clone(),
        };
        let mut fc = franceconnect::routes();
        if let Some(standin) = &portals.inner.franceconnect_standin {
            fc = fc.merge(franceconnect::standin::routes(standin.clone()));
        }
        router = router.merge(fc.with_state(state));
    }
    // The agencies' back office (REG-11).
    router.merge(ars::routes(portals))
}
