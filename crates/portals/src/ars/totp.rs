//! The agents' second factor: TOTP (RFC 6238) as authenticator apps expect it — SHA-1,
//! 6 digits, 30-second steps — through `totp-rs`, at the injected clock's time. A code is
//! accepted for the step before and after the current one (a phone's clock a little off),
//! and only for a step later than the last one used: a code typed once cannot be typed
//! again, even within its window.
//!
//! The secret (20 random bytes) is sealed at rest with AES-256-GCM under a key derived
//! from the instance secret (HKDF-SHA256), the agent's id as associated data: a copy of
//! the database gives no code, and a sealed secret moved to another agent does not open.

use crate::PortalError;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use totp_rs::{Algorithm, TOTP};

/// Seconds of one code.
pub const STEP_SECS: u64 = 30;
/// Digits of one code.
pub const DIGITS: usize = 6;
/// Who the authenticator app says the code is for.
pub const ISSUER: &str = "caducee ARS";

/// Seals and opens the agents' TOTP secrets.
#[derive(Clone)]
pub struct Sealer {
    key: std::sync::Arc<LessSafeKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Sealer {
    pub fn new(instance_secret: &[u8]) -> Result<Sealer, PortalError> {
        use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
        let prk = Salt::new(HKDF_SHA256, b"caducee ars totp v1").extract(instance_secret);
        let okm = prk
            .expand(&[b"seal"], &AES_256_GCM)
            .map_err(|_| PortalError::Internal("dérivation de la clé TOTP".into()))?;
        Ok(Sealer {
            key: std::sync::Arc::new(LessSafeKey::new(UnboundKey::from(okm))),
        })
    }

    /// `v1.<nonce>.<ciphertext+tag>`, base64url.
    pub fn seal(&self, agent_id: &str, secret: &[u8]) -> Result<String, PortalError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| PortalError::Internal("aléa".into()))?;
        let mut buf = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(agent_id.as_bytes()),
                &mut buf,
            )
            .map_err(|_| PortalError::Internal("chiffrement du secret TOTP".into()))?;
        Ok(format!("v1.{}.{}", b64().encode(nonce), b64().encode(&buf)))
    }

    pub fn open(&self, agent_id: &str, sealed: &str) -> Result<Vec<u8>, PortalError> {
        let unusable = || {
            PortalError::Internal(
                "secret TOTP illisible avec ce secret d'instance (instance_secret)".into(),
            )
        };
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(nonce), Some(ct), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unusable());
        };
        let nonce: [u8; NONCE_LEN] = b64()
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(unusable)?;
        let mut buf = b64().decode(ct).map_err(|_| unusable())?;
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(agent_id.as_bytes()),
                &mut buf,
            )
            .map_err(|_| unusable())?;
        Ok(plain.to_vec())
    }
}

/// A new secret: 20 random bytes (160 bits, RFC 4226's recommendation).
pub fn new_secret() -> Result<Vec<u8>, PortalError> {
    let mut s = vec![0u8; 20];
    SystemRandom::new()
        .fill(&mut s)
        .map_err(|_| PortalError::Internal("aléa".into()))?;
    Ok(s)
}

fn totp(secret: &[u8], account: &str) -> Result<TOTP, PortalError> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        secret.to_vec(),
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .map_err(|e| PortalError::Internal(format!("TOTP : {e}")))
}

/// The secret as an authenticator app takes it typed (base32, no padding).
pub fn base32(secret: &[u8]) -> Result<String, PortalError> {
    Ok(totp(secret, "agent")?.get_secret_base32())
}

/// The `otpauth://totp/…` URI of the QR code.
pub fn uri(secret: &[u8], account: &str) -> Result<String, PortalError> {
    Ok(totp(secret, account)?.get_url())
}

/// The code of the step holding `unix` (what an app shows at that time).
pub fn code_at(secret: &[u8], unix: i64) -> Result<String, PortalError> {
    Ok(totp(secret, "agent")?.generate(u64::try_from(unix).unwrap_or(0)))
}

/// The time step `typed` is the code of, among the current one and its two neighbours, if
/// it is one of them; the caller accepts it only if later than the last step used.
pub fn matching_step(secret: &[u8], typed: &str, unix: i64) -> Result<Option<i64>, PortalError> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret, "agent")?;
    let now = u64::try_from(unix).unwrap_or(0);
    let current = now / STEP_SECS;
    // The current step first: the usual case.
    for step in [current, current.saturating_sub(1), current + 1] {
        let code = t.generate(step * STEP_SECS);
        if crate::sessions::same_hash(&code, &typed) {
            return Ok(i64::try_from(step).ok());
        }
    }
    Ok(None)
}

/// The QR code of `uri` as an SVG image (dark modules on white, a quiet zone).
pub fn qr_svg(uri: &str) -> Result<String, PortalError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| PortalError::Internal(format!("QR code : {e}")))?;
    Ok(code
        .render()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn reg_11_totp_rfc_6238_vectors_and_window() {
        // RFC 6238 appendix B, SHA-1, 8 digits "94287082" at 59 s: the 6 last digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(code_at(secret, 1_111_111_109).unwrap(), "081804");
        let code = code_at(secret, 1_111_111_109).unwrap();
        let step = 1_111_111_109 / 30;
        assert_eq!(
            matching_step(secret, &code, 1_111_111_109).unwrap(),
            Some(step)
        );
        // 30 s later it is the previous step's code: still accepted, same step.
        assert_eq!(
            matching_step(secret, &code, 1_111_111_139).unwrap(),
            Some(step)
        );
        // Two steps later: refused.
        assert_eq!(matching_step(secret, &code, 1_111_111_200).unwrap(), None);
        assert_eq!(matching_step(secret, "12a456", 59).unwrap(), None);
    }

    #[test]
    fn reg_11_totp_secret_sealed_per_agent_and_instance() {
        let sealer = Sealer::new(b"secret d'instance de test, 32 octets au moins").unwrap();
        let secret = new_secret().unwrap();
        let sealed = sealer.seal("agent-1", &secret).unwrap();
        assert!(!sealed.contains(&base32(&secret).unwrap()));
        assert_eq!(sealer.open("agent-1", &sealed).unwrap(), secret);
        assert!(sealer.open("agent-2", &sealed).is_err());
        let other = Sealer::new(b"une autre instance, un autre secret de 32 octets").unwrap();
        assert!(other.open("agent-1", &sealed).is_err());
        let u = uri(&secret, "a@ars.test").unwrap();
        assert!(u.starts_with("otpauth://totp/caducee%20ARS:a%40ars.test?secret="));
        assert!(qr_svg(&u).unwrap().contains("<svg"));
    }
}
