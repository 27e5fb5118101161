//! The rows of a portal: the login attempts in flight and the portal sessions. Every expiry reads the injected clock. Browser secrets are random 128-bit
//! values; only their SHA-256 is stored (a fast hash is enough for random secrets, a
//! password hash would only slow every page down).

use crate::{PortalConfig, PortalError, Portals};
use sqlx::Row;

/// A login attempt lives 10 minutes: the e-CPS wait is 2, the rest is the time to type.
pub(crate) const LOGIN_TTL_SECS: i64 = 600;
/// A portal session lives a working day at most; the provider's logout ends it sooner.
pub(crate) const SESSION_TTL_SECS: i64 = 8 * 3600;

/// A random secret of `n` bytes, base64url without padding.
pub(crate) fn random_token(n: usize) -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex.
pub(crate) fn hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// What the callback needs from the authorization request it answers.
pub(crate) struct LoginAttempt {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Records an authorization request about to be sent, and forgets the expired ones (an
/// indexed delete: cheaper than a periodic task to wire).
pub(crate) async fn start_login(
    portals: &Portals,
    portal: &PortalConfig,
    state: &str,
    browser_secret: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Result<(), PortalError> {
    let now = portals.now();
    let pool = portals.store().pool();
    sqlx::query("DELETE FROM portal_login WHERE expires_at < $1")
        .bind(now - LOGIN_TTL_SECS)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO portal_login (state, portal, browser_hash, nonce, pkce_verifier, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(state)
    .bind(&portal.slug)
    .bind(hash(browser_secret))
    .bind(nonce)
    .bind(pkce_verifier)
    .bind(now)
    .bind(now + LOGIN_TTL_SECS)
    .execute(pool)
    .await?;
    Ok(())
}

/// Consumes the login attempt answered by a callback: it must exist for this portal, belong
/// to this browser, and not be spent or expired. Single use even under a race (the delete
/// decides).
pub(crate) async fn take_login(
    portals: &Portals,
    portal: &PortalConfig,
    state: &str,
    browser_secret: &str,
) -> Result<LoginAttempt, PortalError> {
    let pool = portals.store().pool();
    let Some(row) = sqlx::query(
        "SELECT browser_hash, nonce, pkce_verifier, expires_at FROM portal_login
         WHERE state = $1 AND portal = $2",
    )
    .bind(state)
    .bind(&portal.slug)
    .fetch_optional(pool)
    .await?
    else {
        return Err(PortalError::UnknownState);
    };
    let stored: String = row.try_get("browser_hash")?;
    if !same_hash(&stored, &hash(browser_secret)) {
        return Err(PortalError::UnknownState);
    }
    let deleted = sqlx::query("DELETE FROM portal_login WHERE state = $1 AND portal = $2")
        .bind(state)
        .bind(&portal.slug)
        .execute(pool)
        .await?
        .rows_affected();
    if deleted != 1 {
        return Err(PortalError::UnknownState);
    }
    if row.try_get::<i64, _>("expires_at")? < portals.now() {
        return Err(PortalError::LoginExpired);
    }
    Ok(LoginAttempt {
        nonce: row.try_get("nonce")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
    })
}

/// Constant-time comparison of two hex digests.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    caducee_core::secret::same_secret(a, b)
}

/// A logged-in professional, as the portal keeps them.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub sid: Option<String>,
    pub sub: String,
    pub idnat: Option<String>,
    pub id_token: String,
    pub id_token_claims: serde_json::Value,
    pub access_token_claims: serde_json::Value,
    pub userinfo: serde_json::Value,
}

/// Stores a new portal session and returns the secret for its cookie.
pub(crate) async fn create_session(
    portals: &Portals,
    portal: &PortalConfig,
    s: &Session,
) -> Result<String, PortalError> {
    let secret = random_token(16);
    let now = portals.now();
    // Spent sessions are kept a day (who was logged in, for support), then forgotten here
    // rather than by a periodic task.
    sqlx::query(
        "DELETE FROM portal_session WHERE expires_at < $1 OR (ended_at IS NOT NULL AND ended_at < $1)",
    )
    .bind(now - 86_400)
    .execute(portals.store().pool())
    .await?;
    sqlx::query(
        "INSERT INTO portal_session (id_hash, portal, sid, sub, idnat, id_token, id_token_claims,
           access_token_claims, userinfo, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(hash(&secret))
    .bind(&portal.slug)
    .bind(s.sid.as_deref())
    .bind(&s.sub)
    .bind(s.idnat.as_deref())
    .bind(&s.id_token)
    .bind(s.id_token_claims.to_string())
    .bind(s.access_token_claims.to_string())
    .bind(s.userinfo.to_string())
    .bind(now)
    .bind(now + SESSION_TTL_SECS)
    .execute(portals.store().pool())
    .await?;
    Ok(secret)
}

/// The live session a cookie names, if any.
pub(crate) async fn find_session(
    portals: &Portals,
    portal: &PortalConfig,
    secret: &str,
) -> Result<Option<Session>, PortalError> {
    let row = sqlx::query(
        "SELECT sid, sub, idnat, id_token, id_token_claims, access_token_claims, userinfo
         FROM portal_session
         WHERE id_hash = $1 AND portal = $2 AND ended_at IS NULL AND expires_at > $3",
    )
    .bind(hash(secret))
    .bind(&portal.slug)
    .bind(portals.now())
    .fetch_optional(portals.store().pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let json = |col: &str| -> Result<serde_json::Value, PortalError> {
        let text: String = row.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| PortalError::Internal(format!("{col} : {e}")))
    };
    Ok(Some(Session {
        sid: row.try_get("sid")?,
        sub: row.try_get("sub")?,
        idnat: row.try_get("idnat")?,
        id_token: row.try_get("id_token")?,
        id_token_claims: json("id_token_claims")?,
        access_token_claims: json("access_token_claims")?,
        userinfo: json("userinfo")?,
    }))
}

/// Ends the session a cookie names (RP-initiated logout) and returns it, for the
/// `id_token_hint` of the provider's logout.
pub(crate) async fn end_session(
    portals: &Portals,
    portal: &PortalConfig,
    secret: &str,
) -> Result<Option<Session>, PortalError> {
    let session = find_session(portals, portal, secret).await?;
    if session.is_some() {
        sqlx::query(
            "UPDATE portal_session SET ended_at = $1
             WHERE id_hash = $2 AND portal = $3 AND ended_at IS NULL",
        )
        .bind(portals.now())
        .bind(hash(secret))
        .bind(&portal.slug)
        .execute(portals.store().pool())
        .await?;
    }
    Ok(session)
}

/// Back-channel logout: ends the live sessions of provider session `sid` (and of `sub` when
/// both are given), or of subject `sub` when the provider names no session. Returns how
/// many ended, with their idNat for the audit trail.
pub(crate) async fn end_provider_sessions(
    portals: &Portals,
    portal: &PortalConfig,
    sid: Option<&str>,
    sub: Option<&str>,
) -> Result<(u64, Vec<String>), PortalError> {
    let now = portals.now();
    let pool = portals.store().pool();
    let (filter, a, b) = match (sid, sub) {
        (Some(sid), Some(sub)) => ("sid = $3 AND sub = $4", sid, Some(sub)),
        (Some(sid), None) => ("sid = $3", sid, None),
        (None, Some(sub)) => ("sub = $3", sub, None),
        (None, None) => return Ok((0, Vec::new())),
    };
    let select = format!(
        "SELECT idnat FROM portal_session
         WHERE portal = $1 AND ended_at IS NULL AND expires_at > $2 AND {filter}"
    );
    let mut q = sqlx::query(&select).bind(&portal.slug).bind(now).bind(a);
    if let Some(b) = b {
        q = q.bind(b);
    }
    let idnats = q
        .fetch_all(pool)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten())
        .collect();
    let update = format!(
        "UPDATE portal_session SET ended_at = $2
         WHERE portal = $1 AND ended_at IS NULL AND {filter}"
    );
    let mut q = sqlx::query(&update).bind(&portal.slug).bind(now).bind(a);
    if let Some(b) = b {
        q = q.bind(b);
    }
    let ended = q.execute(pool).await?.rows_affected();
    Ok((ended, idnats))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_compare_in_constant_time_and_exactly() {
        let a = super::hash("x");
        assert!(super::same_hash(&a, &super::hash("x")));
        assert!(!super::same_hash(&a, &super::hash("y")));
        assert!(!super::same_hash(&a, "ab"));
        assert_eq!(super::random_token(16).len(), 22);
    }
}
