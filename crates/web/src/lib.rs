//! The HTTP front of caducee: assembles the routers of the components (and the page kit's
//! stylesheet and language switch), and the middleware every request goes through (request id, tracing, metrics, security
//! headers). Must never hold business rules: a route here only calls a component.

mod dev;
mod middleware;
mod probes;
pub mod server;

pub use server::{serve, IpBlock, ServerLimits};

use axum::Router;
use caducee_core::clock::SharedClock;
use caducee_store::Store;
use std::sync::Arc;

/// What every handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<AppInner>,
}

pub struct AppInner {
    pub store: Store,
    pub clock: SharedClock,
    /// External base URL (issuer, links in messages), without trailing slash.
    pub public_url: String,
    /// Demo/dev mode: demo data and the developer pages.
    pub demo: bool,
    /// Wakes the notification worker after a flow commits a message.
    pub notify: caducee_notify::Waker,
    /// The e-CPS server (activation, devices, authentication requests) behind the device
    /// API.
    pub ecps: Arc<caducee_ecps_server::EcpsServer>,
    /// The identity provider, mounted at `/auth/realms/esante-wallet/…` when present.
    pub idp: Option<caducee_idp::Idp>,
    /// The portals (`/espaces/…`): those the configuration serves (`serve --demo` adds the
    /// demo ones, and registers their OIDC clients).
    pub portals: Option<caducee_portals::Portals>,
    /// Who may read `/metrics` on the main listener (issue 10, item 16).
    pub metrics: MetricsAccess,
    /// The attestations of RPPS registration (REG-08): `/verifier/…` when present.
    pub attestations: Option<caducee_attestation::Attestations>,
}

/// Who may read `/metrics`. Metrics tell an attacker how busy and how broken a node is
/// (failed deliveries, refused logins), so outside demo mode they are not public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Anyone (demo mode, or the separate `metrics_listen` address).
    Open,
    /// Requests bearing `Authorization: Bearer <token>`.
    Token(String),
    /// Nobody on this listener (404).
    Hidden,
}

impl AppState {
    pub fn new(
        store: Store,
        clock: SharedClock,
        public_url: String,
        demo: bool,
        notify: caducee_notify::Waker,
        ecps: Arc<caducee_ecps_server::EcpsServer>,
    ) -> AppState {
        AppState {
            inner: Arc::new(AppInner {
                store,
                clock,
                public_url: public_url.trim_end_matches('/').to_string(),
                demo,
                notify,
                ecps,
                idp: None,
                portals: None,
                attestations: None,
                metrics: if demo {
                    MetricsAccess::Open
                } else {
                    MetricsAccess::Hidden
                },
            }),
        }
    }

    /// The same state with the identity provider mounted.
    pub fn with_idp(self, idp: caducee_idp::Idp) -> AppState {
        self.with(|i| i.idp = Some(idp))
    }

    /// The same state with the portals mounted.
    pub fn with_portals(self, portals: caducee_portals::Portals) -> AppState {
        self.with(|i| i.portals = Some(portals))
    }

    /// The same state with the attestations' public check (`/verifier/…`) mounted.
    pub fn with_attestations(self, attestations: caducee_attestation::Attestations) -> AppState {
        self.with(|i| i.attestations = Some(attestations))
    }

    /// The same state with `/metrics` readable as `access` says.
    pub fn with_metrics(self, access: MetricsAccess) -> AppState {
        self.with(|i| i.metrics = access)
    }

    fn with(self, change: impl FnOnce(&mut AppInner)) -> AppState {
        let i = &self.inner;
        let mut inner = AppInner {
            store: i.store.clone(),
            clock: i.clock.clone(),
            public_url: i.public_url.clone(),
            demo: i.demo,
            notify: i.notify.clone(),
            ecps: i.ecps.clone(),
            idp: i.idp.clone(),
            portals: i.portals.clone(),
            metrics: i.metrics.clone(),
            attestations: i.attestations.clone(),
        };
        change(&mut inner);
        AppState {
            inner: Arc::new(inner),
        }
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    // Install the metrics recorder before the first request is counted.
    let _ = probes::prometheus();
    let portals = state.inner.portals.clone();
    let idp = state.inner.idp.clone();
    let attestations = state.inner.attestations.clone();
    let directory = caducee_directory::Directory::new(
        state.inner.store.clone(),
        state.inner.clock.clone(),
        &state.inner.public_url,
    );
    let ecps = caducee_ecps_server::router(state.inner.ecps.clone(), &state.inner.public_url);
    let state_url = state.inner.public_url.clone();
    let https = caducee_core::public_url::is_https(&state_url);
    let mut routes = Router::new()
        .merge(probes::routes())
        .merge(dev::routes())
        .with_state(state)
        .merge(caducee_pages::routes(https))
        .merge(ecps);
    if let Some(portals) = portals {
        routes = routes.merge(caducee_portals::routes(portals));
    }
    if let Some(idp) = idp {
        routes = routes.merge(caducee_idp::router(idp));
    }
    // The public check of attestations (REG-08): /verifier, /verifier/{code}, /verifier/cles.
    if let Some(attestations) = attestations {
        routes = routes.merge(caducee_attestation::router(attestations));
    }
    // The public directory: FHIR API at /fhir/v2 and the /annuaire page (issue 15).
    routes = routes.merge(caducee_directory::router(directory));
    middleware::wrap(routes.fallback(probes::not_found), https)
}

/// The router of the separate metrics address (`metrics_listen`): `/metrics` only, open
/// unless a token is set.
pub fn metrics_router(state: AppState) -> Router {
    let _ = probes::prometheus();
    let https = caducee_core::public_url::is_https(&state.inner.public_url);
    let access = match &state.inner.metrics {
        MetricsAccess::Token(t) => MetricsAccess::Token(t.clone()),
        _ => MetricsAccess::Open,
    };
    middleware::wrap(
        probes::metrics_only().with_state(state.with_metrics(access)),
        https,
    )
}
