//! The protocol side of logout (seam: [`Idp::end_session`]): the refresh tokens issued in a
//! browser session are revoked with their access tokens, and each client that received
//! tokens in it and registered a `backchannel_logout_uri` gets an OIDC Back-Channel Logout
//! token (a signed JWT with `events`, `sid`, `sub`, `iss`, `aud`, `iat`, `jti`), POSTed as
//! `logout_token=…`.
//!
//! The revocation, which is what protects the professional, is done before `end_session`
//! returns. Each delivery is a row of `idp_logout_delivery` written at the same moment, so
//! that it survives a restart: a first attempt is made at once in the background, failures
//! are retried with growing pauses by [`Idp::deliver_logouts`] (called every few seconds by
//! `serve`, on any node: a row is claimed before it is attempted), and a delivery that
//! still fails after [`MAX_ATTEMPTS`] or a day is given up and audited. A client that is
//! down never blocks or fails the professional's logout.
//!
//! No logout token is stored or logged: each attempt signs a fresh one.

use std::time::Duration;

use caducee_store::audit::{self, AuditEvent};
use futures_util::StreamExt;
use serde::Serialize;
use sqlx::Row;

use crate::tokens::subject;
use crate::{Idp, IdpError};

/// Attempts per delivery before it is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// Pause after the n-th failed attempt (seconds); the last one repeats.
const BACKOFF_SECS: [i64; 6] = [5, 30, 60, 300, 900, 3600];
/// A delivery older than this is given up whatever its attempts: the client's session
/// state has long moved on.
const GIVE_UP_AFTER_SECS: i64 = 86_400;
/// How long a node may hold a delivery it attempts (the POST times out well before).
const CLAIM_SECS: i64 = 30;
/// Deliveries attempted at once by one pass.
const CONCURRENCY: usize = 8;
/// Delivered and given-up rows are kept this long (for the operator), then deleted.
const KEEP_SECS: i64 = 7 * 86_400;

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sid: &'a str,
    events: serde_json::Value,
}

/// One delivery claimed by this node.
struct Delivery {
    id: String,
    client_id: String,
    idnat: String,
    session_id: String,
    created_at: i64,
    attempts: i64,
}

impl Idp {
    /// Seam: ends the protocol side of a browser session.
    pub async fn end_session(&self, session_id: &str) -> Result<(), IdpError> {
        let clients = self.revoke_session_tokens(session_id).await?;
        let now = self.now();
        let mut queued = 0;
        for (client_id, idnat) in clients {
            let Some(client) = self.client(&client_id).await? else {
                continue;
            };
            let backchannel = client.backchannel_logout_uri.is_some();
            let mut tx = self.store().begin().await?;
            if backchannel {
                sqlx::query(
                    "INSERT INTO idp_logout_delivery (id, client_id, idnat, session_id,
                        created_at, attempts, next_attempt_at, claimed_until, delivered_at,
                        failed_at, last_error)
                     VALUES ($1, $2, $3, $4, $5, 0, $5, NULL, NULL, NULL, NULL)",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&client_id)
                .bind(&idnat)
                .bind(session_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                queued += 1;
            }
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: "system:idp",
                    action: "idp.session.tokens_revoked",
                    subject: Some(&idnat),
                    details: serde_json::json!({ "client": client_id, "backchannel": backchannel }),
                    request_id: None,
                },
            )
            .await?;
            tx.commit().await?;
        }
        if queued > 0 {
            let idp = self.clone();
            tokio::spawn(async move {
                if let Err(e) = idp.deliver_logouts().await {
                    tracing::warn!(code = e.code(), error = %e, "déconnexion back-channel");
                }
            });
        }
        Ok(())
    }

    /// Attempts the back-channel logouts that are due (new ones, and failed ones whose
    /// pause is over); returns how many were delivered. Safe on any node at any time.
    pub async fn deliver_logouts(&self) -> Result<u64, IdpError> {
        let now = self.now();
        let due: Vec<String> = sqlx::query(
            "SELECT id FROM idp_logout_delivery
             WHERE next_attempt_at <= $1 AND delivered_at IS NULL AND failed_at IS NULL
               AND (claimed_until IS NULL OR claimed_until <= $1)
             ORDER BY next_attempt_at LIMIT 100",
        )
        .bind(now)
        .fetch_all(self.store().pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut delivered = 0;
        let mut outcomes = futures_util::stream::iter(due)
            .map(|id| async move { self.attempt_logout(&id).await })
            .buffer_unordered(CONCURRENCY);
        while let Some(outcome) = outcomes.next().await {
            match outcome {
                Ok(true) => delivered += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(code = e.code(), error = %e, "déconnexion back-channel"),
            }
        }
        Ok(delivered)
    }

    /// Claims one delivery and attempts it; true when delivered.
    async fn attempt_logout(&self, id: &str) -> Result<bool, IdpError> {
        let now = self.now();
        let Some(row) = sqlx::query(
            "UPDATE idp_logout_delivery SET claimed_until = $1
             WHERE id = $2 AND delivered_at IS NULL AND failed_at IS NULL
               AND (claimed_until IS NULL OR claimed_until <= $3)
             RETURNING client_id, idnat, session_id, created_at, attempts",
        )
        .bind(now + CLAIM_SECS)
        .bind(id)
        .bind(now)
        .fetch_optional(self.store().pool())
        .await?
        else {
            return Ok(false); // another node has it
        };
        let d = Delivery {
            id: id.to_string(),
            client_id: row.try_get("client_id")?,
            idnat: row.try_get("idnat")?,
            session_id: row.try_get("session_id")?,
            created_at: row.try_get("created_at")?,
            attempts: row.try_get("attempts")?,
        };
        let outcome = match self.client(&d.client_id).await? {
            Some(client) => match client.backchannel_logout_uri.clone() {
                Some(uri) => self.post_logout_token(&client, &uri, &d, now).await,
                None => Err("le client n'a plus d'adresse de déconnexion back-channel".into()),
            },
            None => Err("client supprimé".into()),
        };
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE idp_logout_delivery SET delivered_at = $1, attempts = attempts + 1,
                        claimed_until = NULL, last_error = NULL
                     WHERE id = $2",
                )
                .bind(self.now())
                .bind(&d.id)
                .execute(self.store().pool())
                .await?;
                tracing::info!(
                    client_id = d.client_id,
                    attempt = d.attempts + 1,
                    "déconnexion back-channel remise"
                );
                Ok(true)
            }
            Err(error) => {
                self.logout_failed(&d, &error).await?;
                Ok(false)
            }
        }
    }

    /// Signs a fresh logout token and POSTs it; the error says why (never the token).
    async fn post_logout_token(
        &self,
        client: &crate::Client,
        uri: &str,
        d: &Delivery,
        now: i64,
    ) -> Result<(), String> {
        let keys = self.keys();
        let key = keys
            .signer(client.alg(), now)
            .ok_or("aucune clé pour signer le jeton de déconnexion")?;
        let token = key
            .sign(
                "logout+jwt",
                &LogoutClaims {
                    iss: self.issuer(),
                    sub: subject(&d.idnat),
                    aud: &d.client_id,
                    iat: now,
                    exp: now + 120,
                    jti: uuid::Uuid::new_v4().to_string(),
                    sid: &d.session_id,
                    events: serde_json::json!({
                        "http://schemas.openid.net/event/backchannel-logout": {}
                    }),
                },
            )
            .map_err(|e| e.to_string())?;
        let sent = self
            .inner
            .http
            .post(uri)
            .timeout(Duration::from_secs(5))
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", token.as_str())])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("refusée par le client : HTTP {}", r.status())),
            Err(e) => Err(format!("client injoignable : {}", e.without_url())),
        }
    }

    /// Records a failed attempt: the next one after a pause, or the delivery given up.
    async fn logout_failed(&self, d: &Delivery, error: &str) -> Result<(), IdpError> {
        let now = self.now();
        let attempts = d.attempts + 1;
        let give_up = attempts >= MAX_ATTEMPTS || now - d.created_at >= GIVE_UP_AFTER_SECS;
        let pause = BACKOFF_SECS[(attempts as usize - 1).min(BACKOFF_SECS.len() - 1)];
        let mut tx = self.store().begin().await?;
        sqlx::query(
            "UPDATE idp_logout_delivery SET attempts = $1, next_attempt_at = $2,
                claimed_until = NULL, failed_at = $3, last_error = $4
             WHERE id = $5",
        )
        .bind(attempts)
        .bind(now + pause)
        .bind(give_up.then_some(now))
        .bind(error)
        .bind(&d.id)
        .execute(&mut *tx)
        .await?;
        if give_up {
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: "system:idp",
                    action: "idp.logout.backchannel_failed",
                    subject: Some(&d.idnat),
                    details: serde_json::json!({
                        "client": d.client_id, "attempts": attempts, "error": error,
                    }),
                    request_id: None,
                },
            )
            .await?;
            tracing::error!(
                client_id = d.client_id,
                attempts,
                error,
                "déconnexion back-channel abandonnée"
            );
        } else {
            tracing::warn!(
                client_id = d.client_id,
                attempt = attempts,
                retry_in_secs = pause,
                error,
                "déconnexion back-channel en échec, nouvel essai prévu"
            );
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the deliveries done or given up more than a week ago.
    pub(crate) async fn purge_logout_deliveries(&self) -> Result<u64, IdpError> {
        Ok(sqlx::query(
            "DELETE FROM idp_logout_delivery
             WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < $1",
        )
        .bind(self.now() - KEEP_SECS)
        .execute(self.store().pool())
        .await?
        .rows_affected())
    }
}
