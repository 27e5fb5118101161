//! The browser binding: the secret of the `caducee_navigateur` cookie that ties a login flow
//! (and the CSRF tokens of its forms) to one browser, and what the server remembers of it.
//!
//! Only values this server minted are accepted (their hashes are rows of `idp_browser`):
//! a value planted in a victim's browser that the server never handed out (issue 10, item
//! 9) is replaced by a fresh one before any flow is bound to it. The value is renewed at
//! each completed login, so a value an attacker learnt before stops working then.
//!
//! A browser that completed a login of a professional is *known* for that professional for
//! [`KNOWN_FOR_SECS`]: its next logins spend a budget of its own instead of the
//! professional's push-bombing window, which strangers may have exhausted (item 5).
//!
//! Must never store a binding value in clear.

use crate::{Idp, IdpError};
use caducee_store::throttle::Limit;
use sqlx::Row;

/// How long a minted value lives without a login (the cookie's max-age too).
pub(super) const BINDING_TTL_SECS: i64 = 30 * 86_400;
/// How long a browser stays known for the professional it logged in.
pub(super) const KNOWN_FOR_SECS: i64 = 30 * 86_400;

/// Login flows a source may open per 10 minutes (each is a row until it expires):
/// `[idp] login_flows_per_source`.
pub(super) fn flows_per_source(idp: &Idp) -> Limit {
    Limit::new(
        "idp.authorize.source",
        idp.config().login_flows_per_source,
        600,
    )
}

/// Identifiers a source may submit on the login page per 10 minutes
/// (`[idp] login_attempts_per_source`). Every answer to a submission tells something of the
/// identifier (unknown, no e-CPS, locked…), so this limit is counted before the answer is
/// computed: enumeration costs what guessing costs. Known browsers are not counted (a
/// hospital behind one address keeps its regular users).
pub(super) fn logins_per_source(idp: &Idp) -> Limit {
    Limit::new(
        "idp.login.source",
        idp.config().login_attempts_per_source,
        600,
    )
}
/// e-CPS requests a known browser may send for its professional per 10 minutes.
pub(super) const LOGINS_PER_KNOWN_BROWSER: Limit = Limit::new("idp.login.known_browser", 10, 600);

/// Whether `value` is a binding this server minted and that has not expired.
pub(super) async fn is_minted(idp: &Idp, value: &str) -> Result<bool, IdpError> {
    let found = sqlx::query("SELECT 1 FROM idp_browser WHERE hash = $1 AND expires_at > $2")
        .bind(crate::secret_hash(value))
        .bind(idp.now())
        .fetch_optional(idp.store().pool())
        .await?;
    Ok(found.is_some())
}

/// Mints a new binding value. With `replacing` (the value of a browser that just logged
/// in), the old row is deleted and the browser becomes known for `known_idnat`.
pub(super) async fn mint(
    idp: &Idp,
    replacing: Option<&str>,
    known_idnat: Option<&str>,
) -> Result<String, IdpError> {
    let value = crate::random_secret();
    let now = idp.now();
    let mut tx = idp.store().begin().await?;
    if let Some(old) = replacing {
        sqlx::query("DELETE FROM idp_browser WHERE hash = $1")
            .bind(crate::secret_hash(old))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO idp_browser (hash, created_at, expires_at, known_idnat, known_until)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::secret_hash(&value))
    .bind(now)
    .bind(now + BINDING_TTL_SECS)
    .bind(known_idnat)
    .bind(known_idnat.map(|_| now + KNOWN_FOR_SECS))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(value)
}

/// Whether the browser holding `value` completed a login of `idnat` recently.
pub(super) async fn is_known_for(idp: &Idp, value: &str, idnat: &str) -> Result<bool, IdpError> {
    let row = sqlx::query(
        "SELECT known_until FROM idp_browser
         WHERE hash = $1 AND known_idnat = $2 AND expires_at > $3",
    )
    .bind(crate::secret_hash(value))
    .bind(idnat)
    .bind(idp.now())
    .fetch_optional(idp.store().pool())
    .await?;
    Ok(match row {
        Some(r) => r
            .try_get::<Option<i64>, _>(0)?
            .is_some_and(|t| t > idp.now()),
        None => false,
    })
}

/// Deletes the expired bindings (housekeeping).
pub(super) async fn prune(idp: &Idp) -> Result<u64, IdpError> {
    Ok(sqlx::query("DELETE FROM idp_browser WHERE expires_at < $1")
        .bind(idp.now())
        .execute(idp.store().pool())
        .await?
        .rows_affected())
}
