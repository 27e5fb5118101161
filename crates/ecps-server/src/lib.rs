//! Server side of the e-CPS (PSC-03, PSC-04, PSC-05): a plain async Rust API that the
//! identity provider calls, and the device API over HTTP ([`router`], `/ecps/api/v1/…`),
//! which `web` mounts as it mounts the identity provider's router.
//!
//! - **Activation** ([`EcpsServer::start_activation`], [`EcpsServer::confirm_activation`]):
//!   one 6-digit code by e-mail and one by SMS to the coordinates of the RPPS registry, sent
//!   through the notify outbox in the same transaction; both codes, a password (argon2id)
//!   and a P-256 public key (JWK) register the device for 3 years; a new activation
//!   replaces the previous device.
//! - **Device proofs** ([`EcpsServer::authenticate_device`]): every device call carries a
//!   compact JWS (ES256) signed by the device key, bound to the method and URL, fresh
//!   (`iat`) and single-use (`jti`).
//! - **Authentication requests** ([`EcpsServer::create_request`],
//!   [`EcpsServer::pending_for_device`], [`EcpsServer::answer`],
//!   [`EcpsServer::request_state`]): a 2-digit code shown on the login page, three shuffled
//!   choices on the device, the password checked by the server; devices long-poll them
//!   with [`EcpsServer::wait_for_pending`] (one database poller per node, not per device).
//! - **Housekeeping** ([`EcpsServer::housekeeping`], every minute on any node): spent proof
//!   identifiers purged, overdue requests closed, expiry reminders e-mailed 30 and 7 days
//!   before a device expires (PSC-05).
//!
//! All state lives in the database (so any node answers), every expiry reads the injected
//! clock, and every security event is audited in the same transaction as the change. This
//! crate must never store a code or a password in clear, never put one in a log, an error
//! or an audit event, and never read the system clock.

mod activation;
mod card_activation;
mod config;
mod error;
mod http;
pub mod password;
mod proof;
mod reminders;
mod requests;
mod schema;
pub mod secrets;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
#[cfg(test)]
mod tests;
mod watch;
mod web;

use caducee_core::clock::SharedClock;
use caducee_store::Store;

pub use activation::{ActivationStarted, Device};
pub use card_activation::{s256 as card_challenge, CardActivation};
pub use config::EcpsConfig;
pub use error::EcpsError;
pub use http::router;
pub use password::{Argon2Policy, PasswordHasher};
pub use proof::DeviceRef;
pub use requests::{
    AuthRequest, Outcome, PendingRequest, RequestBudget, RequestState, RequestStatus,
    QUICK_CANCEL_SECS,
};
pub use schema::{migrations, MIGRATIONS};
pub use watch::{LongPoll, POLL_EVERY};
pub use web::{
    CARD_ACTIVATION_PATH as WEB_CARD_ACTIVATION_PATH, PAGE_PATH as WEB_PAGE_PATH,
    REQUEST_PATH as WEB_REQUEST_PATH,
};

/// The e-CPS server of one node. Cheap to clone; clones share the password hasher (and so
/// its bound on concurrent argon2 computations).
#[derive(Debug, Clone)]
pub struct EcpsServer {
    store: Store,
    clock: SharedClock,
    notify: caducee_notify::Waker,
    config: EcpsConfig,
    hasher: PasswordHasher,
    /// The devices long-polling on this node (shared by the clones).
    watch: std::sync::Arc<watch::Watch>,
}

/// What one housekeeping round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekeeping {
    /// Spent device-proof identifiers deleted.
    pub proofs_purged: u64,
    /// Pending requests past their validity, marked expired.
    pub requests_expired: u64,
    /// Devices given an expiry reminder (PSC-05).
    pub reminders: u64,
}

impl EcpsServer {
    /// A server with the OWASP argon2 parameters.
    pub fn new(
        store: Store,
        clock: SharedClock,
        notify: caducee_notify::Waker,
        config: EcpsConfig,
    ) -> EcpsServer {
        EcpsServer {
            store,
            clock,
            notify,
            config,
            hasher: PasswordHasher::new(Argon2Policy::owasp()),
            watch: Default::default(),
        }
    }

    /// Replaces the password hasher (tests pass `Argon2Policy::for_tests()`; a benchmark may
    /// choose its number of threads).
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> EcpsServer {
        self.hasher = hasher;
        self
    }

    pub fn config(&self) -> &EcpsConfig {
        &self.config
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> i64 {
        self.clock.unix()
    }

    /// Deletes the expired device-proof identifiers, marks the overdue pending requests
    /// expired and sends the expiry reminders that are due. Safe on any node at any time,
    /// and on several at once.
    pub async fn housekeeping(&self) -> Result<Housekeeping, EcpsError> {
        let now = self.now();
        let proofs_purged = sqlx::query("DELETE FROM ecps_jti WHERE expires_at < $1")
            .bind(now)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        let requests_expired = sqlx::query(
            "UPDATE ecps_request SET status = 'expired', decided_at = expires_at
             WHERE status = 'pending' AND expires_at <= $1",
        )
        .bind(now)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        let reminders = self.send_expiry_reminders().await?;
        Ok(Housekeeping {
            proofs_purged,
            requests_expired,
            reminders,
        })
    }
}

/// The audit actor of a professional.
fn ps_actor(idnat: &str) -> String {
    format!("ps:{idnat}")
}
