//! Browser sessions (SSO): after an e-CPS login, the browser holds a session cookie; while
//! the session lives, another application's authorization request is answered without a
//! second approval. A session ends at logout (everywhere: the protocol side revokes its
//! refresh tokens and notifies the clients), after `session_idle_secs` without use, or
//! after `session_max_secs`.

use crate::{Authentication, Idp, IdpError};
use caducee_store::audit::{self, AuditEvent};
use sqlx::Row;

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub id: String,
    pub idnat: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub auth_mode: String,
}

impl Session {
    pub fn authentication(&self) -> Authentication {
        Authentication {
            idnat: self.idnat.clone(),
            auth_time: self.auth_time,
            acr: self.acr.clone(),
            amr: self.amr.clone(),
            auth_mode: self.auth_mode.clone(),
            session_id: Some(self.id.clone()),
        }
    }
}

/// Opens a session for a fresh authentication. Returns (session id, cookie secret).
pub(super) async fn open(
    idp: &Idp,
    idnat: &str,
    auth_time: i64,
    amr: &[String],
    auth_mode: &str,
) -> Result<(Session, String), IdpError> {
    let id = crate::random_secret();
    let secret = crate::random_secret();
    let now = idp.now();
    let amr_json = serde_json::to_string(amr).map_err(|e| IdpError::Internal(e.to_string()))?;
    let mut tx = idp.store().begin().await?;
    sqlx::query(
        "INSERT INTO idp_session (id, secret_hash, idnat, auth_time, acr, amr, auth_mode,
            created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, 'eidas1', $5, $6, $7, $7, $8)",
    )
    .bind(&id)
    .bind(crate::secret_hash(&secret))
    .bind(idnat)
    .bind(auth_time)
    .bind(&amr_json)
    .bind(auth_mode)
    .bind(now)
    .bind(now + idp.config().session_max_secs)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "idp.session.opened",
            subject: Some(idnat),
            details: serde_json::json!({ "sid": id, "authMode": auth_mode }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    let session = Session {
        id,
        idnat: idnat.to_string(),
        auth_time,
        acr: "eidas1".to_string(),
        amr: amr.to_vec(),
        auth_mode: auth_mode.to_string(),
    };
    Ok((session, secret))
}

/// The live session named by a cookie, touched (its idle timer restarts); None when the
/// cookie is unknown, forged, ended, idle too long or past its maximum life.
pub(super) async fn find(
    idp: &Idp,
    cookie: Option<(String, String)>,
) -> Result<Option<Session>, IdpError> {
    let Some((id, secret)) = cookie else {
        return Ok(None);
    };
    let now = idp.now();
    let row = sqlx::query(
        "SELECT secret_hash, idnat, auth_time, acr, amr, auth_mode, last_seen_at
         FROM idp_session WHERE id = $1 AND ended_at IS NULL AND expires_at > $2",
    )
    .bind(&id)
    .bind(now)
    .fetch_optional(idp.store().pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let stored: String = r.try_get("secret_hash")?;
    let last_seen: i64 = r.try_get("last_seen_at")?;
    if !crate::same_hash(&crate::secret_hash(&secret), &stored)
        || now - last_seen > idp.config().session_idle_secs
    {
        return Ok(None);
    }
    sqlx::query("UPDATE idp_session SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&id)
        .execute(idp.store().pool())
        .await?;
    let amr: String = r.try_get("amr")?;
    Ok(Some(Session {
        id,
        idnat: r.try_get("idnat")?,
        auth_time: r.try_get("auth_time")?,
        acr: r.try_get("acr")?,
        amr: serde_json::from_str(&amr).unwrap_or_default(),
        auth_mode: r.try_get("auth_mode")?,
    }))
}

/// Ends a session everywhere: the row (no node accepts the cookie any more), then the
/// protocol side (refresh tokens of the session revoked, back-channel logout sent).
pub(super) async fn end(idp: &Idp, id: &str, actor: &str) -> Result<(), IdpError> {
    let now = idp.now();
    let mut tx = idp.store().begin().await?;
    let ended =
        sqlx::query("UPDATE idp_session SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if ended == 1 {
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor,
                action: "idp.session.ended",
                subject: None,
                details: serde_json::json!({ "sid": id }),
                request_id: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    idp.end_session(id).await
}
