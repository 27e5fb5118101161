//! Compact JWS (RFC 7515) for the tokens this provider signs and the client assertions it
//! verifies, written by hand over aws-lc-rs.
//!
//! Why by hand: the JWT crates re-parse the private key (PKCS#8 → RSA structure) at every
//! signature, which costs most of a grant's time; here the parsed `RsaKeyPair` /
//! `EcdsaKeyPair` lives in memory for the life of the key (see `keys.rs`), and verification
//! uses pre-parsed public keys. A compact JWS is three base64url segments; the rules that
//! matter are few and all enforced here: the algorithm comes from our key, never from the
//! token's header (no `none`, no RS/HS confusion); the signature is checked before any
//! claim is trusted. This module must never log a token or accept an algorithm the key was
//! not made for.

use aws_lc_rs::signature::ParsedPublicKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::IdpError;

/// The two signature algorithms of this provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Rs256,
    Es256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Result<Vec<u8>, IdpError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| IdpError::InvalidToken("jeton mal formé (base64url)".into()))
}

/// The parts of a compact JWS, not yet verified.
pub struct Compact<'a> {
    pub header_b64: &'a str,
    pub payload_b64: &'a str,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// Splits a compact JWS into its parts (no JWE, no unsigned tokens).
pub fn split(token: &str) -> Result<Compact<'_>, IdpError> {
    let bad = || IdpError::InvalidToken("jeton mal formé".into());
    let (signing_input, sig) = token.rsplit_once('.').ok_or_else(bad)?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or_else(bad)?;
    if payload_b64.contains('.') || sig.is_empty() {
        return Err(bad());
    }
    Ok(Compact {
        header_b64,
        payload_b64,
        signing_input,
        signature: unb64(sig)?,
    })
}

impl Compact<'_> {
    pub fn header(&self) -> Result<Header, IdpError> {
        serde_json::from_slice(&unb64(self.header_b64)?)
            .map_err(|_| IdpError::InvalidToken("en-tête de jeton illisible".into()))
    }

    /// The claims, to be read only after the signature was verified.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, IdpError> {
        serde_json::from_slice(&unb64(self.payload_b64)?)
            .map_err(|_| IdpError::InvalidToken("revendications du jeton illisibles".into()))
    }
}

/// A verification key: the algorithm it is for and the parsed public key.
#[derive(Clone)]
pub struct VerifyKey {
    pub alg: Alg,
    pub kid: Option<String>,
    pub key: ParsedPublicKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish()
    }
}

impl VerifyKey {
    /// Checks the signature of `jws` with this key; the header must name this key's
    /// algorithm.
    pub fn verify(&self, jws: &Compact<'_>, header_alg: &str) -> Result<(), IdpError> {
        if header_alg != self.alg.as_str() {
            return Err(IdpError::InvalidToken(
                "algorithme de signature inattendu".into(),
            ));
        }
        self.key
            .verify_sig(jws.signing_input.as_bytes(), &jws.signature)
            .map_err(|_| IdpError::InvalidToken("signature du jeton invalide".into()))
    }

    /// A key from a JWK (RSA `n`/`e` or EC P-256 `x`/`y`), for client assertions. Keys of
    /// other types or curves are refused (None).
    pub fn from_jwk(jwk: &serde_json::Value) -> Option<VerifyKey> {
        use aws_lc_rs::signature::{
            RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
        };
        let s = |k: &str| jwk.get(k).and_then(|v| v.as_str());
        if let Some(u) = s("use") {
            if u != "sig" {
                return None;
            }
        }
        let kid = s("kid").map(str::to_string);
        match s("kty")? {
            "RSA" => {
                if s("alg").is_some_and(|a| a != "RS256") {
                    return None;
                }
                let n = URL_SAFE_NO_PAD.decode(s("n")?).ok()?;
                let e = URL_SAFE_NO_PAD.decode(s("e")?).ok()?;
                let key = RsaPublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .ok()?;
                Some(VerifyKey {
                    alg: Alg::Rs256,
                    kid,
                    key,
                })
            }
            "EC" => {
                if s("crv")? != "P-256" || s("alg").is_some_and(|a| a != "ES256") {
                    return None;
                }
                let x = URL_SAFE_NO_PAD.decode(s("x")?).ok()?;
                let y = URL_SAFE_NO_PAD.decode(s("y")?).ok()?;
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).ok()?;
                Some(VerifyKey {
                    alg: Alg::Es256,
                    kid,
                    key,
                })
            }
            _ => None,
        }
    }
}

/// The verification keys of a JWK Set document (`{"keys":[…]}`); unusable keys are skipped.
pub fn keys_of_jwks(jwks: &serde_json::Value) -> Vec<VerifyKey> {
    jwks.get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| keys.iter().filter_map(VerifyKey::from_jwk).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn split_refuses_what_is_not_a_compact_jws() {
        assert!(split("a.b").is_err());
        assert!(split("a.b.").is_err());
        assert!(split("a.b.c.d").is_err());
        assert!(split("e30.e30.AAAA").is_ok());
    }

    #[test]
    fn jwk_of_an_unknown_type_or_curve_is_refused() {
        let v = serde_json::json!({"kty": "oct", "k": "AAAA"});
        assert!(VerifyKey::from_jwk(&v).is_none());
        let v = serde_json::json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"});
        assert!(VerifyKey::from_jwk(&v).is_none());
    }
}
