//! Settings of the identity provider, with PSC's values as defaults. Read from the `[idp]`
//! table of the configuration file; every field has a default, so an empty table is valid.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct IdpConfig {
    /// Lifetime of access tokens (PSC: 120 s).
    pub access_token_ttl_secs: i64,
    /// Lifetime of ID tokens.
    pub id_token_ttl_secs: i64,
    /// Lifetime of a refresh token (each use rotates it).
    pub refresh_token_ttl_secs: i64,
    /// Lifetime of an authorization code.
    pub code_ttl_secs: i64,
    /// Lifetime of a browser session (SSO) without activity.
    pub session_idle_secs: i64,
    /// Maximum lifetime of a browser session.
    pub session_max_secs: i64,
    /// Lifetime of a login flow (the login page and the e-CPS wait).
    pub login_flow_ttl_secs: i64,
    /// CIBA: minimum seconds between two polls of one auth_req_id (`slow_down` below).
    pub ciba_interval_secs: i64,
    /// A new signing key is published in the JWKS this long before it starts signing, so
    /// that relying parties which cache the JWKS (and the other nodes, which reload keys
    /// every `key_reload_secs`) know it before they meet a token it signed.
    pub key_publish_delay_secs: i64,
    /// Automatic rotation: a key older than this many days gets a successor (0: only
    /// `caducee keys rotate`).
    pub key_rotation_days: i64,
    /// How often a node reloads the signing keys from the database (keys rotated by another
    /// node or by the CLI).
    pub key_reload_secs: u64,
    /// Userinfo claims are cached per professional for this long on each node (0: no
    /// cache): a registry update shows in userinfo at most this late.
    pub claims_cache_secs: u64,
    /// Clients read from the database are reused for this long on each node (0: no
    /// cache). A client unknown to the cache is always read, so a new client works at once;
    /// a change or removal made elsewhere takes effect at most this late.
    pub client_cache_secs: u64,
    /// How often a node reloads the list of revoked access tokens written by other nodes.
    pub revocation_reload_millis: u64,
    /// Identifiers one source address (IPv6: its /64) may type on the login page per
    /// 10 minutes, browsers that logged the professional in recently apart (30). Raise it
    /// for many professionals behind one address that log in for the first time.
    pub login_attempts_per_source: u32,
    /// Login flows one source address may open per 10 minutes (300).
    pub login_flows_per_source: u32,
    /// External base URL of the CPS card host (the "Carte CPS" tab links to it); `serve`
    /// derives it from `card_listen` when absent (`https://{public host}:{card port}`).
    pub card_url: Option<String>,
    /// Demo only (set by `serve --demo`, never read from the file): the authority
    /// certificate whose key beside it issues at once the replacement card ordered on "Ma
    /// CPS" (otherwise an operator runs `caducee pki issue-card`).
    #[serde(skip)]
    pub card_demo_authority: Option<std::path::PathBuf>,
    /// The délégation providers (PSC-08), set by `serve` from `[[delegations]]` (their
    /// secrets read from their files), never from `[idp]`.
    #[serde(skip)]
    pub delegations: Vec<crate::delegation::DelegationProvider>,
}

impl Default for IdpConfig {
    fn default() -> Self {
        IdpConfig {
            access_token_ttl_secs: 120,
            id_token_ttl_secs: 120,
            refresh_token_ttl_secs: 1800,
            code_ttl_secs: 60,
            session_idle_secs: 1800,
            session_max_secs: 36_000,
            login_flow_ttl_secs: 900,
            ciba_interval_secs: 1,
            key_publish_delay_secs: 600,
            key_rotation_days: 90,
            key_reload_secs: 10,
            claims_cache_secs: 5,
            client_cache_secs: 2,
            revocation_reload_millis: 1000,
            login_attempts_per_source: 30,
            login_flows_per_source: 300,
            card_url: None,
            card_demo_authority: None,
            delegations: Vec::new(),
        }
    }
}

impl IdpConfig {
    /// The longest life of a token we sign: a retired key stays in the JWKS this long.
    pub fn max_signed_token_ttl(&self) -> i64 {
        self.access_token_ttl_secs.max(self.id_token_ttl_secs)
    }
}
