//! The instance's attestation signing key and the JWS that carries an attestation's content.
//!
//! The key is Ed25519 (aws-lc-rs), **derived** from the instance secret with HKDF-SHA-256
//! (salt `caducee attestation signing key`, info `v1`) rather than generated and stored
//! sealed like the identity provider's keys: an attestation must stay verifiable for years,
//! and a derived key cannot be lost while the instance secret is kept, is the same on every
//! node without a table, and lets `caducee attestation verify` check a PDF with the
//! configuration alone, without the database. Rotation is a new `vN` info (the public keys
//! of older versions stay published); a leaked instance secret compromises this key as it
//! compromises the sealed ones.
//!
//! The signed content is a compact JWS (RFC 7515, `alg` `EdDSA`, RFC 8037): the bytes signed
//! are exactly the base64url text embedded in the PDF, so no canonical JSON is needed, and
//! any JOSE library can check it against the JWKS published at `/verifier/cles`.

use crate::AttestationError;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The shortest instance secret accepted (the identity provider asks the same).
pub const MIN_SECRET_LEN: usize = 16;

/// The key versions this code knows, oldest first; the last one signs.
const VERSIONS: &[&str] = &["v1"];

/// One published key (JWK, RFC 8037 `OKP`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
}

/// The keys an attestation may be signed with (`/verifier/cles`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Why a JWS is not a genuine attestation of these keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forgery {
    #[error("le contenu signé est illisible")]
    Malformed,
    #[error("signé par une clé inconnue de cette instance ({0})")]
    UnknownKey(String),
    #[error("la signature ne correspond pas au contenu")]
    BadSignature,
}

/// The instance's signing keys. Cheap to clone.
#[derive(Clone)]
pub struct Signer {
    /// Every version's pair, oldest first.
    pairs: std::sync::Arc<Vec<(String, Ed25519KeyPair)>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid()).finish()
    }
}

/// HKDF output length as aws-lc-rs wants it.
struct Len(usize);

impl aws_lc_rs::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn kid_of(public: &[u8]) -> String {
    format!("att-{}", &hex::encode(Sha256::digest(public))[..16])
}

impl Signer {
    /// The keys of the instance whose secret is `instance_secret`.
    pub fn from_instance_secret(instance_secret: &[u8]) -> Result<Signer, AttestationError> {
        use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
        if instance_secret.len() < MIN_SECRET_LEN {
            return Err(AttestationError::Config(format!(
                "le secret d'instance (instance_secret) doit compter au moins {MIN_SECRET_LEN} caractères"
            )));
        }
        let prk =
            Salt::new(HKDF_SHA256, b"caducee attestation signing key").extract(instance_secret);
        let mut pairs = Vec::new();
        for v in VERSIONS {
            let mut seed = [0u8; 32];
            prk.expand(&[v.as_bytes()], Len(32))
                .and_then(|okm| okm.fill(&mut seed))
                .map_err(|_| AttestationError::Crypto("dérivation de la clé".into()))?;
            let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
                .map_err(|_| AttestationError::Crypto("clé Ed25519".into()))?;
            pairs.push((kid_of(pair.public_key().as_ref()), pair));
        }
        Ok(Signer {
            pairs: std::sync::Arc::new(pairs),
        })
    }

    /// The key id of the signing key.
    pub fn kid(&self) -> &str {
        self.pairs.last().map(|(k, _)| k.as_str()).unwrap_or("")
    }

    /// The public keys, for `/verifier/cles` and the offline check.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .pairs
                .iter()
                .map(|(kid, pair)| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: B64.encode(pair.public_key().as_ref()),
                    kid: kid.clone(),
                    use_: Some("sig".into()),
                    alg: Some("EdDSA".into()),
                })
                .collect(),
        }
    }

    /// A compact JWS of `payload` under the current key.
    pub fn sign(&self, payload: &[u8]) -> Result<String, AttestationError> {
        let (kid, pair) = self
            .pairs
            .last()
            .ok_or_else(|| AttestationError::Crypto("aucune clé".into()))?;
        let header =
            serde_json::json!({ "alg": "EdDSA", "kid": kid, "typ": "caducee-attestation+jws" });
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string().as_bytes()),
            B64.encode(payload)
        );
        let sig = pair.sign(signing_input.as_bytes());
        Ok(format!("{signing_input}.{}", B64.encode(sig.as_ref())))
    }
}

/// The payload of `jws` when one of `keys` signed it.
pub fn verify(jws: &str, keys: &Jwks) -> Result<Vec<u8>, Forgery> {
    let mut parts = jws.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Forgery::Malformed);
    };
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: String,
    }
    let header: Header = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Forgery::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(Forgery::Malformed);
    }
    let key = keys
        .keys
        .iter()
        .find(|k| k.kid == header.kid && k.kty == "OKP" && k.crv == "Ed25519")
        .ok_or_else(|| Forgery::UnknownKey(header.kid.clone()))?;
    let public = B64.decode(&key.x).map_err(|_| Forgery::Malformed)?;
    let sig = B64.decode(s).map_err(|_| Forgery::Malformed)?;
    signature::UnparsedPublicKey::new(&signature::ED25519, &public)
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| Forgery::BadSignature)?;
    B64.decode(p).map_err(|_| Forgery::Malformed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_signature_checks_with_the_published_keys_only() {
        let signer = Signer::from_instance_secret(b"0123456789abcdef0123456789abcdef").unwrap();
        let again = Signer::from_instance_secret(b"0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            signer.jwks(),
            again.jwks(),
            "derived: the same on every node"
        );
        let jws = signer.sign(br#"{"a":1}"#).unwrap();
        assert_eq!(verify(&jws, &signer.jwks()).unwrap(), br#"{"a":1}"#);
        let other = Signer::from_instance_secret(b"another instance secret, 32 chars").unwrap();
        assert!(matches!(
            verify(&jws, &other.jwks()),
            Err(Forgery::UnknownKey(_))
        ));
        // The payload changed, the signature kept.
        let mut parts: Vec<&str> = jws.split('.').collect();
        let forged = B64.encode(br#"{"a":2}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &signer.jwks()),
            Err(Forgery::BadSignature)
        );
        assert_eq!(verify("a.b", &signer.jwks()), Err(Forgery::Malformed));
        assert!(Signer::from_instance_secret(b"short").is_err());
    }
}
