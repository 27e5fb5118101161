//! The protocol side of logout (seam: [`Idp::end_session`]): the refresh tokens issued in a
//! browser session are revoked with their access tokens, and each client that received
//! tokens in it and registered a `backchannel_logout_uri` gets an OIDC Back-Channel Logout
//! token (a signed JWT with `events`, `sid`, `sub`, `iss`, `aud`, `iat`, `jti`), POSTed as
//! `logout_token=…`.
//!
//! Delivery runs in the background with a few retries: a client that is down never blocks
//! or fails the professional's logout; a final failure is logged. Delivery is best effort
//! (not kept across a restart): the revocation, which is what protects the professional,
//! is done before `end_session` returns.
//!
//! This module must never log a logout token.

use std::time::Duration;

use caducee_store::audit::{self, AuditEvent};
use serde::Serialize;

use crate::tokens::subject;
use crate::{Idp, IdpError};

/// Attempts per client, and the pause before each retry.
const RETRIES: [Duration; 3] = [
    Duration::from_millis(0),
    Duration::from_secs(1),
    Duration::from_secs(5),
];

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

impl Idp {
    /// Seam: ends the protocol side of a browser session.
    pub async fn end_session(&self, session_id: &str) -> Result<(), IdpError> {
        let clients = self.revoke_session_tokens(session_id).await?;
        let now = self.now();
        for (client_id, idnat) in clients {
            let Some(client) = self.client(&client_id).await? else {
                continue;
            };
            audit::record(
                self.store().pool(),
                now,
                &AuditEvent {
                    actor: "system:idp",
                    action: "idp.session.tokens_revoked",
                    subject: Some(&idnat),
                    details: serde_json::json!({
                        "client": client_id,
                        "backchannel": client.backchannel_logout_uri.is_some(),
                    }),
                    request_id: None,
                },
            )
            .await?;
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            let keys = self.keys();
            let Some(key) = keys.signer(client.alg(), now) else {
                tracing::error!(client_id, "aucune clé pour signer le jeton de déconnexion");
                continue;
            };
            let token = key.sign(
                "logout+jwt",
                &LogoutClaims {
                    iss: self.issuer(),
                    sub: subject(&idnat),
                    aud: &client_id,
                    iat: now,
                    exp: now + 120,
                    jti: uuid::Uuid::new_v4().to_string(),
                    sid: session_id,
                    events: serde_json::json!({
                        "http://schemas.openid.net/event/backchannel-logout": {}
                    }),
                },
            )?;
            let http = self.inner.http.clone();
            tokio::spawn(async move {
                deliver(http, client_id, uri, token).await;
            });
        }
        Ok(())
    }
}

/// POSTs a logout token, retrying; logs the outcome (never the token).
async fn deliver(http: reqwest::Client, client_id: String, uri: String, token: String) {
    for (attempt, pause) in RETRIES.iter().enumerate() {
        tokio::time::sleep(*pause).await;
        let sent = http
            .post(&uri)
            .timeout(Duration::from_secs(5))
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", token.as_str())])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                tracing::info!(client_id, attempt, "déconnexion back-channel remise");
                return;
            }
            Ok(r) => {
                tracing::warn!(client_id, attempt, status = %r.status(), "déconnexion back-channel refusée")
            }
            Err(e) => {
                tracing::warn!(client_id, attempt, error = %e, "déconnexion back-channel injoignable")
            }
        }
    }
    tracing::error!(
        client_id,
        uri,
        "déconnexion back-channel abandonnée après plusieurs essais"
    );
}
