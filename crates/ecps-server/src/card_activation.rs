//! PSC-04 with the CPS card: "A CPS card holder may activate with the card instead" of the
//! two codes. The card host (the idp's TLS listener, which verified the card) calls
//! [`EcpsServer::start_card_activation_from`]; the activation it creates is proven already,
//! so it needs no registry e-mail or mobile (a professional without coordinates activates
//! this way). The browser gets back a single-use token (stored here as a salted hash,
//! [`crate::EcpsConfig::card_activation_ttl_secs`], 5 minutes by the clock) and confirms
//! through the device API with it, its verifier, the new password and the device key
//! ([`EcpsServer::confirm_card_activation`]).
//!
//! Bound to the browser that started it, as PKCE binds a code: that browser keeps a random
//! verifier and sent only its SHA-256 (the `challenge`) to the card host; a token presented
//! without the matching verifier (another browser, a leaked link) closes the activation.
//!
//! The same limits as the codes path: the source's sends and per-professional starts, the
//! professional's daily budget. Must never store or audit the token or the verifier.

use base64::Engine;
use caducee_core::ids::IdNatPs;
use caducee_core::source::ClientSource;
use caducee_store::audit::{self, AuditEvent};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::password::check_password_rules;
use crate::secrets::{code_hash, code_matches};
use crate::{ps_actor, EcpsError, EcpsServer};

const CARD: &str = "card";

/// A card-proven activation, handed by the card host to the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardActivation {
    pub activation_id: String,
    /// The single-use token (only its hash is stored).
    pub token: String,
    /// Unix seconds after which the token is refused.
    pub expires_at: i64,
}

/// `base64url(SHA-256(verifier))`, the S256 transformation of RFC 7636.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A S256 challenge: 43 characters of the base64url alphabet.
fn is_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl EcpsServer {
    /// Creates an activation for the holder of a card the caller verified (chain, validity,
    /// revocation, holder in the registry), asked from `source` by the browser whose
    /// verifier's S256 is `challenge`. Counted as a codes activation is (source first,
    /// then the professional's budget); supersedes any pending activation of the
    /// professional. Sends nothing.
    pub async fn start_card_activation_from(
        &self,
        idnat: &IdNatPs,
        serial: &str,
        challenge: &str,
        source: &ClientSource,
    ) -> Result<CardActivation, EcpsError> {
        if !is_challenge(challenge) {
            return Err(EcpsError::BadCardChallenge);
        }
        self.count_source(source, Some(idnat)).await?;
        let now = self.now();
        self.check_professional_budget(idnat, now).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let token = random_token();
        let expires_at = now + self.config.card_activation_ttl_secs;
        let mut tx = self.store.begin().await?;
        let (limit, key) = self.starts_per_source_and_person(source, idnat);
        limit.hit(&mut tx, &key, now).await?;
        sqlx::query(
            "UPDATE ecps_activation SET status = 'superseded' WHERE idnat = $1 AND status = 'pending'",
        )
        .bind(idnat.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ecps_activation (id, idnat, email_code_hash, sms_code_hash, expires_at,
                tries, resends, created_at, status, method, card_token_hash, card_binding,
                card_serial)
             VALUES ($1, $2, '', '', $3, 0, 0, $4, 'pending', 'card', $5, $6, $7)",
        )
        .bind(&id)
        .bind(idnat.as_str())
        .bind(expires_at)
        .bind(now)
        .bind(code_hash(&id, CARD, &token))
        .bind(challenge)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &ps_actor(idnat.as_str()),
                action: "ecps.activation.card_started",
                subject: Some(idnat.as_str()),
                details: serde_json::json!({
                    "activation": id,
                    "serial": serial,
                    "expiresAt": expires_at,
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CardActivation {
            activation_id: id,
            token,
            expires_at,
        })
    }

    /// Confirms a card-proven activation: `token` from the card host, `verifier` kept by
    /// the browser that went there, the new e-CPS password and the device's P-256 public
    /// key (JWK). Single use; a wrong token or verifier closes the activation (audited);
    /// then the device is registered as after the codes.
    pub async fn confirm_card_activation(
        &self,
        activation_id: &str,
        token: &str,
        verifier: &str,
        password: &str,
        public_jwk: &str,
    ) -> Result<crate::Device, EcpsError> {
        // Input errors first: they must not spend the token.
        check_password_rules(password)?;
        let jwk = crate::proof::canonical_jwk(public_jwk)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        crate::activation::lock_activation(&mut tx, activation_id).await?;
        let row = sqlx::query(
            "SELECT idnat, method, card_token_hash, card_binding, card_serial, expires_at, status
             FROM ecps_activation WHERE id = $1",
        )
        .bind(activation_id)
        .fetch_one(&mut *tx)
        .await?;
        let idnat: String = row.try_get(0)?;
        let method: String = row.try_get(1)?;
        let token_hash: Option<String> = row.try_get(2)?;
        let binding: Option<String> = row.try_get(3)?;
        let serial: Option<String> = row.try_get(4)?;
        let expires_at: i64 = row.try_get(5)?;
        let status: String = row.try_get(6)?;
        let (Some(token_hash), Some(binding), "card") = (token_hash, binding, method.as_str())
        else {
            // An activation by codes: a card token does not confirm it.
            return Err(EcpsError::CardTokenRefused);
        };
        if status != "pending" {
            return Err(EcpsError::ActivationClosed);
        }
        if now >= expires_at {
            return Err(EcpsError::CardActivationExpired);
        }
        let token_ok = code_matches(activation_id, CARD, token, &token_hash);
        let binding_ok = bool::from(s256(verifier).as_bytes().ct_eq(binding.as_bytes()));
        if !(token_ok & binding_ok) {
            sqlx::query(
                "UPDATE ecps_activation SET status = 'refused', tries = tries + 1 WHERE id = $1",
            )
            .bind(activation_id)
            .execute(&mut *tx)
            .await?;
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: &ps_actor(&idnat),
                    action: "ecps.activation.card_refused",
                    subject: Some(&idnat),
                    details: serde_json::json!({
                        "activation": activation_id,
                        "serial": serial,
                        "tokenOk": token_ok,
                        "bindingOk": binding_ok,
                    }),
                    request_id: None,
                },
            )
            .await?;
            tx.commit().await?;
            return Err(EcpsError::CardTokenRefused);
        }
        sqlx::query("UPDATE ecps_activation SET status = 'confirming' WHERE id = $1")
            .bind(activation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.register_device(activation_id, idnat, password, &jwk, CARD)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_04_the_card_challenge_is_the_verifiers_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_challenge(&s256("x")));
        assert!(!is_challenge("court"));
        assert!(!is_challenge(&format!("{}=", &s256("x")[..42])));
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
