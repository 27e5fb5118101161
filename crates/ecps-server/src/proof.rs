//! Device-signed requests (DPoP-like): every call of the device API carries a compact JWS
//! signed with ES256 by the device's P-256 key, whose header names the device (`kid`) and
//! whose claims bind it to the call: `htm` (method), `htu` (URL without query), `iat`
//! (within ±60 s of the server clock) and `jti` (single use: stored until the proof can no
//! longer be fresh, so a replay is refused on every node).
//!
//! Must never accept another algorithm than ES256, never trust a key carried by the proof
//! itself (the key is the one registered at activation), and never read the system clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use caducee_store::audit::{self, AuditEvent};
use p256::ecdsa::Signature;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde::Deserialize;
use sqlx::Row;

use crate::{ps_actor, EcpsError, EcpsServer};

/// Longest accepted `jti`.
const MAX_JTI: usize = 128;
/// Longest accepted proof, in bytes.
const MAX_PROOF: usize = 4096;

/// The device a valid proof came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    pub id: String,
    pub idnat: String,
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

#[derive(Deserialize)]
struct Claims {
    htm: String,
    htu: String,
    iat: i64,
    jti: String,
}

/// Parses a P-256 public JWK and returns its canonical form (what is stored).
pub(crate) fn canonical_jwk(jwk: &str) -> Result<String, EcpsError> {
    let key = p256::PublicKey::from_jwk_str(jwk).map_err(|_| EcpsError::BadPublicKey)?;
    Ok(key.to_jwk_string())
}

fn refused(why: &str) -> EcpsError {
    EcpsError::BadDeviceProof(why.to_string())
}

/// `https://h/p?q#f` → `https://h/p`: the URL a proof is bound to.
fn without_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str, what: &str) -> Result<T, EcpsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| refused(&format!("{what} mal encodé")))?;
    serde_json::from_slice(&bytes).map_err(|_| refused(&format!("{what} illisible")))
}

impl EcpsServer {
    /// Verifies the proof `jws` of a call `method url` and returns the device it came from.
    /// Refuses a bad signature, another method or URL, a stale or future `iat`, a replayed
    /// `jti`, an unknown or replaced device, an expired or locked e-CPS.
    pub async fn authenticate_device(
        &self,
        jws: &str,
        method: &str,
        url: &str,
    ) -> Result<DeviceRef, EcpsError> {
        if jws.len() > MAX_PROOF {
            return Err(refused("preuve trop longue"));
        }
        let mut parts = jws.trim().split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused("JWS compact attendu"));
        };
        let header: Header = decode_json(h, "en-tête")?;
        if header.alg != "ES256" {
            return Err(refused("algorithme ES256 attendu"));
        }
        let claims: Claims = decode_json(p, "contenu")?;
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| refused("signature mal encodée"))?;
        let sig = Signature::from_slice(&sig).map_err(|_| refused("signature mal formée"))?;

        let row = sqlx::query(
            "SELECT idnat, public_jwk, status, locked, expires_at FROM ecps_device WHERE id = $1",
        )
        .bind(&header.kid)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(EcpsError::UnknownDevice)?;
        let idnat: String = row.try_get(0)?;
        let jwk: String = row.try_get(1)?;
        let status: String = row.try_get(2)?;
        let locked: i64 = row.try_get(3)?;
        let expires_at: i64 = row.try_get(4)?;
        let key = p256::PublicKey::from_jwk_str(&jwk)
            .map_err(|_| EcpsError::Corrupt(format!("clé de l'appareil {}", header.kid)))?;
        let signed = &jws.trim()[..h.len() + 1 + p.len()];
        // ring's ES256 (P-256, SHA-256, r‖s) on the registered key: every device call pays
        // for one verification, and ring's is several times cheaper than p256's.
        let point = key.to_encoded_point(false);
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point.as_bytes(),
        )
        .verify(signed.as_bytes(), &sig.to_bytes())
        .map_err(|_| refused("signature invalide"))?;
        if status != "active" {
            return Err(EcpsError::UnknownDevice);
        }
        if !claims.htm.eq_ignore_ascii_case(method) {
            return Err(refused("méthode HTTP différente de celle signée"));
        }
        if without_query(&claims.htu) != without_query(url) {
            return Err(refused("adresse différente de celle signée"));
        }
        let now = self.now();
        let skew = self.config.proof_max_skew_secs;
        if (claims.iat - now).abs() > skew {
            return Err(refused(
                "preuve périmée ou datée du futur : vérifiez l'heure de votre appareil",
            ));
        }
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI {
            return Err(refused("identifiant de preuve (jti) invalide"));
        }
        let key = format!("{}/{}", header.kid, claims.jti);
        let inserted = sqlx::query(
            "INSERT INTO ecps_jti (jti, device_id, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(&key)
        .bind(&header.kid)
        .bind(claims.iat + skew)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        if inserted == 0 {
            audit::record(
                self.store.pool(),
                now,
                &AuditEvent {
                    actor: &ps_actor(&idnat),
                    action: "ecps.proof.replayed",
                    subject: Some(&idnat),
                    details: serde_json::json!({ "device": header.kid, "htm": claims.htm }),
                    request_id: None,
                },
            )
            .await?;
            return Err(refused("preuve déjà utilisée (rejeu)"));
        }
        if now >= expires_at {
            return Err(EcpsError::DeviceExpired);
        }
        if locked != 0 {
            return Err(EcpsError::DeviceLocked);
        }
        Ok(DeviceRef {
            id: header.kid,
            idnat,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_url_ignores_query_and_fragment() {
        assert_eq!(without_query("https://h/p?x=1"), "https://h/p");
        assert_eq!(without_query("https://h/p#f"), "https://h/p");
        assert_eq!(without_query("https://h/p"), "https://h/p");
    }

    #[test]
    fn psc_04_public_key_must_be_p256_jwk() {
        assert!(canonical_jwk("{}").is_err());
        assert!(canonical_jwk("not json").is_err());
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let jwk = sk.public_key().to_jwk_string();
        assert_eq!(canonical_jwk(&jwk).ok(), Some(jwk));
    }
}
