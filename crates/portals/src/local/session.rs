//! Sessions of local accounts: opened by an e-mail + password login or by a reset link,
//! held by a cookie whose secret the database knows only as SHA-256. A working day at most;
//! a changed password ends every other session of the account.

use crate::accounts::Account;
use crate::sessions::{hash, random_token};
use crate::PortalError;
use sqlx::{AnyConnection, Row};

/// A local session lives a working day at most.
pub(crate) const LOCAL_SESSION_TTL_SECS: i64 = 8 * 3600;
/// After a reset link, a new password may be set without the current one this long.
pub(crate) const RESET_GRANT_SECS: i64 = 15 * 60;

/// A live local session and its account.
#[derive(Debug, Clone)]
pub(crate) struct LocalSession {
    pub id_hash: String,
    pub account: Account,
    /// Until when a new password may be set without the current one (reset link).
    pub reset_until: Option<i64>,
}

impl LocalSession {
    pub fn may_reset(&self, now: i64) -> bool {
        self.reset_until.is_some_and(|t| now < t)
    }
}

/// "Se souvenir de moi" (ACC-08): a session that outlives the browser, a month at most.
pub(crate) const REMEMBERED_SESSION_TTL_SECS: i64 = 30 * 24 * 3600;

/// Opens a session for `account` (`how`: `password`, `link`) and returns its cookie secret.
pub(crate) async fn open(
    conn: &mut AnyConnection,
    account: &Account,
    how: &str,
    now: i64,
) -> Result<String, PortalError> {
    open_for(conn, account, how, LOCAL_SESSION_TTL_SECS, now).await
}

/// [`open`] for `ttl_secs`.
pub(crate) async fn open_for(
    conn: &mut AnyConnection,
    account: &Account,
    how: &str,
    ttl_secs: i64,
    now: i64,
) -> Result<String, PortalError> {
    let secret = random_token(16);
    let reset_until = (how == "link").then_some(now + RESET_GRANT_SECS);
    sqlx::query(
        "INSERT INTO portal_local_session (id_hash, portal, account_id, how, created_at,
            expires_at, ended_at, reset_until)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
    )
    .bind(hash(&secret))
    .bind(&account.portal)
    .bind(&account.id)
    .bind(how)
    .bind(now)
    .bind(now + ttl_secs)
    .bind(reset_until)
    .execute(&mut *conn)
    .await?;
    Ok(secret)
}

/// The live session a cookie secret names on `portal`.
pub(crate) async fn find(
    conn: &mut AnyConnection,
    portal: &str,
    secret: &str,
    now: i64,
) -> Result<Option<LocalSession>, PortalError> {
    let row = sqlx::query(
        "SELECT s.id_hash, s.reset_until, a.id, a.portal, a.idnat, a.email, a.created_at
         FROM portal_local_session s JOIN portal_account a ON a.id = s.account_id
         WHERE s.id_hash = $1 AND s.portal = $2 AND s.ended_at IS NULL AND s.expires_at > $3",
    )
    .bind(hash(secret))
    .bind(portal)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(LocalSession {
        id_hash: r.try_get(0)?,
        reset_until: r.try_get(1)?,
        account: Account {
            id: r.try_get(2)?,
            portal: r.try_get(3)?,
            idnat: r.try_get(4)?,
            email: r.try_get(5)?,
            created_at: r.try_get(6)?,
        },
    }))
}

/// Ends one session (logout).
pub(crate) async fn end(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query(
        "UPDATE portal_local_session SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(id_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// After a password change: ends every session of the account but `keep`, and the reset
/// grant of `keep` (the link did its job).
pub(crate) async fn end_others(
    conn: &mut AnyConnection,
    account_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<u64, PortalError> {
    let ended = sqlx::query(
        "UPDATE portal_local_session SET ended_at = $1
         WHERE account_id = $2 AND ended_at IS NULL AND id_hash <> $3",
    )
    .bind(now)
    .bind(account_id)
    .bind(keep.unwrap_or(""))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if let Some(keep) = keep {
        sqlx::query("UPDATE portal_local_session SET reset_until = NULL WHERE id_hash = $1")
            .bind(keep)
            .execute(&mut *conn)
            .await?;
    }
    Ok(ended)
}

/// Forgets sessions a day after they ended or expired.
pub(crate) async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    Ok(
        sqlx::query("DELETE FROM portal_local_session WHERE expires_at < $1 OR ended_at < $1")
            .bind(now - 86_400)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
