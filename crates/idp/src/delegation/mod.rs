//! Délégation (PSC-08): the login brokered to an organisation's own identity provider
//! (`[[delegations]]` of the configuration: `id`, `name`, `issuer`, `client_id`,
//! `client_secret_file`), as Pro Santé Connect's "Délégation à un fournisseur d'identité
//! local" does (reference/psc.md).
//!
//! - Each provider is a real upstream OpenID Connect provider used through the
//!   `openidconnect` crate: discovery, code flow with PKCE, a `state` that names a row bound
//!   to the login flow of this browser (single use), a nonce, the ID token verified with the
//!   provider's JWKS at the injected clock (broker.rs).
//! - The professional picks a provider on the "Délégation" tab, or a relying party names it
//!   with `kc_idp_hint=<id>` (Keycloak's parameter) and the authorization request goes
//!   straight to it. The callback is `…/broker/{id}/endpoint` (Keycloak's layout).
//! - The upstream `sub` is paired with a professional at its first use: the professional then
//!   logs in once by e-CPS or card in the same login flow, and the pairing (provider, sub →
//!   idNat) is stored; later logins go through the provider alone (store.rs). Pairings are
//!   listed and removed on the account page (account.rs).
//! - The assurance level is derived from the upstream `amr` (RFC 8176 values): a login that
//!   does not reach `eidas1` (substantial: multi-factor) is refused with a French page and
//!   `access_denied` back to the relying party (level.rs). Every token this provider signs
//!   says `acr` `eidas1` (reference/psc.md: relying parties reject any other), so a weaker
//!   login is never turned into tokens, whether or not the client sent `acr_values`.
//!   Tokens of a délégation login carry the upstream-derived `amr` and `authMode`
//!   [`AUTH_MODE`].

pub mod account;
mod broker;
pub mod level;
mod store;
pub mod tab;

use crate::{Idp, IdpError, REALM_PATH};
use caducee_store::Migration;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use tab::DelegationTab;

/// `authMode` of a login through a délégation provider.
pub const AUTH_MODE: &str = "DELEGATION";
/// How long an upstream login may take (the `state` row lives this long).
pub const ATTEMPT_TTL_SECS: i64 = 600;
/// How long a first upstream login waits for the e-CPS or card login that pairs it.
pub const PENDING_TTL_SECS: i64 = 900;

/// One `[[delegations]]` entry, its secret read from `client_secret_file`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationProvider {
    /// The name in URLs and in `kc_idp_hint` (letters, digits, `-`, `_`).
    pub id: String,
    /// The name shown on the login page ("Hôpital de …").
    pub name: String,
    /// The provider's issuer (its discovery is `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for DelegationProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegationProvider")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

impl DelegationProvider {
    /// The redirect URI to register at the provider.
    pub fn callback_url(&self, public_url: &str) -> String {
        format!(
            "{}{REALM_PATH}/broker/{}/endpoint",
            public_url.trim_end_matches('/'),
            self.id
        )
    }
}

/// Checks a list of providers (at start): ids well formed and unique, names, client ids
/// and secrets present, issuers URLs (https, or http on a loopback address for tests and
/// local trials).
pub fn validate(providers: &[DelegationProvider]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for p in providers {
        let id = p.id.as_str();
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "[[delegations]] id {id:?} : lettres, chiffres, « - » ou « _ » (64 au plus)"
            ));
        }
        if !seen.insert(id) {
            return Err(format!("[[delegations]] id {id:?} est déclaré deux fois"));
        }
        if p.name.trim().is_empty() {
            return Err(format!("[[delegations]] {id} : name est obligatoire"));
        }
        if p.client_id.trim().is_empty() {
            return Err(format!("[[delegations]] {id} : client_id est obligatoire"));
        }
        if p.client_secret.trim().is_empty() {
            return Err(format!(
                "[[delegations]] {id} : le secret (client_secret_file) est vide"
            ));
        }
        let url = url::Url::parse(&p.issuer).map_err(|e| {
            format!(
                "[[delegations]] {id} : issuer {:?} invalide : {e}",
                p.issuer
            )
        })?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(format!(
                "[[delegations]] {id} : issuer {:?} doit être en https",
                p.issuer
            ));
        }
    }
    Ok(())
}

/// The providers of this node and their discovery caches.
#[derive(Default)]
pub(crate) struct Brokers {
    list: Vec<Arc<broker::Broker>>,
}

impl Brokers {
    pub fn new(providers: &[DelegationProvider]) -> Result<Brokers, IdpError> {
        validate(providers).map_err(IdpError::Internal)?;
        let list = providers
            .iter()
            .map(|p| broker::Broker::new(p.clone()).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Brokers { list })
    }

    pub fn get(&self, id: &str) -> Option<Arc<broker::Broker>> {
        self.list.iter().find(|b| b.settings.id == id).cloned()
    }

    pub fn all(&self) -> &[Arc<broker::Broker>] {
        &self.list
    }
}

pub const MIGRATIONS: &[Migration] = &[Migration {
    component: "idp_delegation",
    version: 1,
    name: "idp_delegation_attempt_pending_pairing",
    // idp_delegation_attempt: an upstream login under way; `state_hash` is the SHA-256 of
    //   the `state` sent upstream (single use), bound to one login flow (itself bound to a
    //   browser); the nonce and the PKCE verifier are random secrets of this attempt.
    // idp_delegation_pending: an upstream login done whose `sub` is not paired yet: the
    //   login flow's e-CPS or card login pairs it.
    // idp_delegation_pairing: (provider, upstream sub) → the professional's idNat.
    sql: "CREATE TABLE idp_delegation_attempt (
        state_hash TEXT PRIMARY KEY,
        flow_id TEXT NOT NULL,
        provider_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        pkce_verifier TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX idp_delegation_attempt_expiry ON idp_delegation_attempt (expires_at);
      CREATE TABLE idp_delegation_pending (
        flow_id TEXT PRIMARY KEY,
        provider_id TEXT NOT NULL,
        upstream_sub TEXT NOT NULL,
        amr TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX idp_delegation_pending_expiry ON idp_delegation_pending (expires_at);
      CREATE TABLE idp_delegation_pairing (
        id TEXT PRIMARY KEY,
        provider_id TEXT NOT NULL,
        upstream_sub TEXT NOT NULL,
        idnat TEXT NOT NULL,
        paired_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        UNIQUE (provider_id, upstream_sub)
      );
      CREATE INDEX idp_delegation_pairing_idnat ON idp_delegation_pairing (idnat);",
}];

/// The délégation routes, under the realm path.
pub fn routes() -> axum::Router<Idp> {
    use axum::routing::{get, post};
    let p = |suffix: &str| format!("{REALM_PATH}{suffix}");
    axum::Router::new()
        .route(&p("/broker/{id}/login"), get(broker::start))
        .route(&p("/broker/{id}/endpoint"), get(broker::callback))
        .route(&p("/account/delegations/remove"), post(account::remove))
}

/// `kc_idp_hint` on an authorization request: the URL of the upstream login for the flow
/// `flow_id` when `hint` names a configured provider (otherwise the login page is shown,
/// as Keycloak does for an unknown hint).
pub(crate) async fn start_for_hint(
    idp: &Idp,
    flow_id: &str,
    hint: &str,
) -> Result<Option<String>, IdpError> {
    let Some(b) = idp.delegations().get(hint) else {
        return Ok(None);
    };
    broker::upstream_url(idp, &b, flow_id).await.map(Some)
}

/// Called where a login flow ends by e-CPS or card ([`crate::browser::complete_login`] and
/// the e-CPS page): when the flow holds an unpaired upstream login, the pairing is stored
/// (and audited). Other means (a security key, a délégation itself) never pair.
pub(crate) async fn pair_pending(
    idp: &Idp,
    flow_id: &str,
    idnat: &str,
    auth_mode: &str,
) -> Result<(), IdpError> {
    if auth_mode != "MOBILE" && auth_mode != crate::card::CARD_AUTH_MODE {
        return Ok(());
    }
    store::pair_pending(idp, flow_id, idnat, auth_mode).await
}

/// Deletes the attempts and pending pairings past their expiry. Returns the rows deleted.
pub async fn housekeeping(idp: &Idp) -> Result<u64, IdpError> {
    store::purge(idp).await
}

/// The pairings of a professional (for the account page and the tests).
pub use store::{pairings_of, Pairing};
