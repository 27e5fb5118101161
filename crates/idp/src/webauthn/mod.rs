//! Security keys (PSC-07): WebAuthn with webauthn-rs. A professional already logged in (e-CPS
//! or card) registers keys (user verification required; a discoverable credential when the
//! key can keep one, else a plain one that works after typing the identifier)
//! on the account page; the login page's "Clé de sécurité" tab logs in with the key alone
//! ([`login`]) or after typing the identifier ([`identified`]: the professional's keys
//! only, so keys without a resident credential work too; decoys for identifiers without
//! keys, so the answer tells nobody whether an identifier exists).
//!
//! Every ceremony's state is a row (`idp_webauthn_ceremony`, webauthn-rs's state serialised),
//! so a ceremony started on one node finishes on another; a ceremony is single use and
//! expires by the Clock ([`CEREMONY_TTL_SECS`]). A login with a key ends where every login
//! ends ([`crate::browser::complete_login`]) with `amr` `["hwk","mfa"]` and `authMode`
//! [`AUTH_MODE`]: user verification is required by both ceremonies (webauthn-rs refuses an
//! assertion without the UV flag), so a key alone is two factors — possession and PIN or
//! biometrics — as PSC's substantial level asks; a key without UV is refused, not lowered,
//! because PSC has no lower level to give. The sign counter is checked (a counter that does
//! not grow is a possible clone: refused and audited).

pub(crate) mod identified;
pub(crate) mod login;
pub(crate) mod store;

use crate::{Idp, IdpError, REALM_PATH};
use caducee_store::Migration;
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// `amr` of a login with a security key and user verification (RFC 8176).
pub const AMR: &[&str] = &["hwk", "mfa"];
/// `authMode` of a login with a security key.
pub const AUTH_MODE: &str = "SECURITY_KEY";
/// How long a ceremony (registration or login) may take.
pub const CEREMONY_TTL_SECS: i64 = 300;
/// How many ceremonies may be open at once for one login flow or one professional.
pub const MAX_OPEN_CEREMONIES: i64 = 10;

pub const MIGRATIONS: &[Migration] = &[Migration {
    component: "idp_webauthn",
    version: 1,
    name: "idp_webauthn_keys_ceremonies",
    // user: the WebAuthn user handle of a professional (random, never the idNat).
    // key: a registered credential, webauthn-rs's Passkey as JSON, its counter.
    // ceremony: a started registration or login, single use (used_at), expiring.
    sql: "CREATE TABLE idp_webauthn_user (
        idnat TEXT PRIMARY KEY,
        user_handle TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE idp_webauthn_key (
        id TEXT PRIMARY KEY,
        idnat TEXT NOT NULL,
        cred_id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        passkey TEXT NOT NULL,
        counter BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT
      );
      CREATE INDEX idp_webauthn_key_idnat ON idp_webauthn_key (idnat);
      CREATE TABLE idp_webauthn_ceremony (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        idnat TEXT,
        flow_id TEXT,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      );
      CREATE INDEX idp_webauthn_ceremony_expiry ON idp_webauthn_ceremony (expires_at);",
}];

/// The relying party: the idp's public origin, its host as RP ID.
pub(crate) fn relying_party(idp: &Idp) -> Result<Webauthn, IdpError> {
    let origin = Url::parse(idp.public_url())
        .map_err(|e| IdpError::Internal(format!("URL publique invalide : {e}")))?;
    let host = origin
        .host_str()
        .ok_or_else(|| IdpError::Internal("URL publique sans hôte".into()))?
        .to_string();
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("Pro Santé Connect").build())
        .map_err(|e| IdpError::Internal(format!("WebAuthn : {e}")))
}

/// The HMAC key of the decoy credential ids ([`identified`]), derived from the instance
/// secret (HKDF, its own label): stable across restarts and the same on every node.
pub(crate) fn decoy_key(instance_secret: &[u8]) -> Result<aws_lc_rs::hmac::Key, IdpError> {
    use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
    let prk = Salt::new(HKDF_SHA256, b"caducee idp webauthn decoys v1").extract(instance_secret);
    let okm = prk
        .expand(&[b"decoy credential ids"], aws_lc_rs::hmac::HMAC_SHA256)
        .map_err(|_| IdpError::Crypto("dérivation de clé".into()))?;
    Ok(aws_lc_rs::hmac::Key::from(okm))
}

/// The browser script of both ceremonies, served as a file (no inline script).
const SCRIPT: &str = include_str!("../../assets/webauthn.js");
pub(crate) const SCRIPT_PATH: &str = "/webauthn.js";

pub(crate) fn script_url(idp: &Idp) -> String {
    format!("{}{REALM_PATH}{SCRIPT_PATH}", idp.public_url())
}

async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
}

/// The routes of the key login (the account page's are in [`crate::account`]).
pub fn routes() -> axum::Router<Idp> {
    use axum::routing::{get, post};
    let p = |suffix: &str| format!("{REALM_PATH}{suffix}");
    axum::Router::new()
        .route(&p(SCRIPT_PATH), get(script))
        .route(&p("/login/{flow}/key/options"), post(login::options))
        .route(&p("/login/{flow}/key"), post(login::finish))
        .route(
            &p("/login/{flow}/key/identifiant/options"),
            post(identified::options),
        )
        .route(
            &p("/login/{flow}/key/identifiant"),
            post(identified::finish),
        )
}

/// Deletes the ceremonies past their expiry (any node, any time).
pub async fn housekeeping(idp: &Idp) -> Result<u64, IdpError> {
    Ok(
        sqlx::query("DELETE FROM idp_webauthn_ceremony WHERE expires_at < $1")
            .bind(idp.now())
            .execute(idp.store().pool())
            .await?
            .rows_affected(),
    )
}
