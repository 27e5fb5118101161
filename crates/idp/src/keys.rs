//! Signing keys: RS256 (RSA-2048, what PSC relying parties expect) and ES256 (P-256, per
//! client on request), generated at first start, stored in the database sealed with
//! AES-256-GCM under a key derived by HKDF-SHA256 from the instance secret, rotated with
//! overlap, published as the JWKS.
//!
//! - **Parsed once**: every node keeps the parsed `RsaKeyPair` / `EcdsaKeyPair` in memory;
//!   parsing a key at each signature would cost most of a grant (see `jwt.rs`).
//! - **Rotation with overlap**: a successor is inserted with `active_from` in the future
//!   (`key_publish_delay_secs`): it is in the JWKS at once but signs only from then on; the
//!   predecessor stays in the JWKS until every token it signed has expired. A unique index
//!   on (alg, generation) makes concurrent rotations on several nodes create one successor.
//! - **Every node** reloads the keys from the database every `key_reload_secs`, so a key
//!   rotated on one node (or by `caducee keys rotate`) is published and used by all.
//!
//! This module must never write a private key in clear anywhere (database, log, error),
//! and never let the algorithm of a token's header choose how it is verified.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use caducee_store::audit::{self, AuditEvent};
use serde::Serialize;
use sha2::Digest;
use sqlx::Row;

use crate::jwt::{self, b64, Alg, Compact, VerifyKey};
use crate::IdpError;

/// Shortest instance secret accepted (characters): it derives the key that seals every
/// signing key, so it must carry at least 256 bits when random.
pub const MIN_INSTANCE_SECRET_LEN: usize = 32;

/// Keys retired longer than this are deleted (kept meanwhile to recognise old
/// `id_token_hint`s at logout).
const KEEP_RETIRED_SECS: i64 = 30 * 86_400;

/// Grace added to token lifetimes before a retired key leaves the JWKS (clock skew between
/// nodes and relying parties).
const JWKS_GRACE_SECS: i64 = 60;

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// One signing key, parsed.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub generation: i64,
    pub created_at: i64,
    pub active_from: i64,
    pair: Pair,
    verify: VerifyKey,
    /// The public JWK.
    pub jwk: serde_json::Value,
    /// base64url of `{"alg","typ":"JWT","kid"}`: the header of every token we sign, built
    /// once; a token whose first segment equals it names this key without parsing JSON.
    header_jwt: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("generation", &self.generation)
            .field("active_from", &self.active_from)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_pkcs8(
        kid: String,
        alg: Alg,
        generation: i64,
        created_at: i64,
        active_from: i64,
        pkcs8: &[u8],
    ) -> Result<SigningKey, IdpError> {
        let crypto = |what: &str| IdpError::Crypto(format!("clé {kid} : {what}"));
        let (pair, verify, jwk) = match alg {
            Alg::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| crypto("RSA illisible"))?;
                let public = pair.public_key();
                let n = b64(public.modulus().big_endian_without_leading_zero());
                let e = b64(public.exponent().big_endian_without_leading_zero());
                let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public.as_ref())
                    .map_err(|_| crypto("clé publique RSA"))?;
                let jwk = serde_json::json!({
                    "kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e,
                });
                (Pair::Rsa(pair), parsed, jwk)
            }
            Alg::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| crypto("P-256 illisible"))?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(crypto("point P-256 inattendu"));
                }
                let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|_| crypto("clé publique P-256"))?;
                let jwk = serde_json::json!({
                    "kid": kid, "kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                });
                (Pair::Ec(pair), parsed, jwk)
            }
        };
        let header_jwt = b64(
            serde_json::json!({"alg": alg.as_str(), "typ": "JWT", "kid": kid})
                .to_string()
                .as_bytes(),
        );
        Ok(SigningKey {
            verify: VerifyKey {
                alg,
                kid: Some(kid.clone()),
                key: verify,
            },
            kid,
            alg,
            generation,
            created_at,
            active_from,
            pair,
            jwk,
            header_jwt,
        })
    }

    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, IdpError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| IdpError::Crypto("signature RSA".into()))?;
                Ok(sig)
            }
            Pair::Ec(pair) => pair
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| IdpError::Crypto("signature ECDSA".into())),
        }
    }

    /// Signs `claims` as a compact JWS with header `typ` (`JWT` for tokens, `logout+jwt`
    /// for logout tokens).
    pub fn sign<T: Serialize + ?Sized>(&self, typ: &str, claims: &T) -> Result<String, IdpError> {
        let payload = serde_json::to_vec(claims).map_err(|e| IdpError::Internal(e.to_string()))?;
        let header = if typ == "JWT" {
            std::borrow::Cow::Borrowed(self.header_jwt.as_str())
        } else {
            std::borrow::Cow::Owned(b64(serde_json::json!({
                "alg": self.alg.as_str(), "typ": typ, "kid": self.kid,
            })
            .to_string()
            .as_bytes()))
        };
        let mut out = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        out.push_str(&header);
        out.push('.');
        out.push_str(&b64(&payload));
        let sig = self.sign_bytes(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64(&sig));
        Ok(out)
    }
}

/// The keys of the realm at one moment.
#[derive(Default)]
pub struct KeySet {
    /// Sorted by algorithm then generation.
    keys: Vec<Arc<SigningKey>>,
}

impl KeySet {
    /// The key that signs now for `alg`: the newest generation already active.
    pub fn signer(&self, alg: Alg, now: i64) -> Option<&Arc<SigningKey>> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg && k.active_from <= now)
            .max_by_key(|k| k.generation)
    }

    /// The keys published in the JWKS at `now`: each key until its successor has been
    /// signing for longer than any token lives.
    pub fn published(&self, now: i64, max_ttl: i64) -> Vec<&Arc<SigningKey>> {
        self.keys
            .iter()
            .filter(|k| {
                self.successor(k)
                    .is_none_or(|s| now < s.active_from + max_ttl + JWKS_GRACE_SECS)
            })
            .collect()
    }

    fn successor(&self, key: &SigningKey) -> Option<&Arc<SigningKey>> {
        self.keys
            .iter()
            .filter(|k| k.alg == key.alg && k.generation > key.generation)
            .min_by_key(|k| k.generation)
    }

    pub fn by_kid(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Verifies a token signed by one of our keys (published or not); returns its parts.
    pub fn verify<'t>(&self, token: &'t str) -> Result<(Compact<'t>, Arc<SigningKey>), IdpError> {
        let jws = jwt::split(token)?;
        // Fast path: our own header, byte for byte.
        if let Some(k) = self.keys.iter().find(|k| k.header_jwt == jws.header_b64) {
            k.verify.verify(&jws, k.alg.as_str())?;
            return Ok((jws, k.clone()));
        }
        let header = jws.header()?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.by_kid(kid))
            .ok_or_else(|| IdpError::InvalidToken("jeton signé par une clé inconnue".into()))?;
        key.verify.verify(&jws, &header.alg)?;
        Ok((jws, key.clone()))
    }

    pub fn all(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }
}

/// The keys of this node: the sealing key, the current set, and when it was loaded.
pub struct KeyRing {
    sealer: LessSafeKey,
    set: RwLock<Arc<KeySet>>,
    loaded_at: Mutex<Instant>,
    reloading: AtomicBool,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing")
    }
}

/// Derives the AES-256-GCM key that seals the signing keys from the instance secret.
fn sealing_key(instance_secret: &[u8]) -> Result<LessSafeKey, IdpError> {
    use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
    if instance_secret.len() < MIN_INSTANCE_SECRET_LEN {
        return Err(IdpError::Config(format!(
            "le secret d'instance (instance_secret) doit compter au moins {MIN_INSTANCE_SECRET_LEN} caractères"
        )));
    }
    let prk = Salt::new(HKDF_SHA256, b"caducee idp signing keys v1").extract(instance_secret);
    let okm = prk
        .expand(&[b"seal"], &AES_256_GCM)
        .map_err(|_| IdpError::Crypto("dérivation de clé".into()))?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

impl KeyRing {
    pub fn new(instance_secret: &[u8]) -> Result<KeyRing, IdpError> {
        Ok(KeyRing {
            sealer: sealing_key(instance_secret)?,
            set: RwLock::new(Arc::new(KeySet::default())),
            loaded_at: Mutex::new(Instant::now()),
            reloading: AtomicBool::new(false),
        })
    }

    /// The current set (cheap: one `Arc` clone).
    pub fn current(&self) -> Arc<KeySet> {
        match self.set.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, set: KeySet) {
        let set = Arc::new(set);
        match self.set.write() {
            Ok(mut s) => *s = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
        match self.loaded_at.lock() {
            Ok(mut t) => *t = Instant::now(),
            Err(poisoned) => *poisoned.into_inner() = Instant::now(),
        }
    }

    /// True when the set is older than `max_age_secs` and nobody is reloading it: the
    /// caller then reloads (and must call [`KeyRing::reload_done`]).
    pub fn claim_reload(&self, max_age_secs: u64) -> bool {
        let age = match self.loaded_at.lock() {
            Ok(t) => t.elapsed(),
            Err(poisoned) => poisoned.into_inner().elapsed(),
        };
        age.as_secs() >= max_age_secs
            && self
                .reloading
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    pub fn reload_done(&self) {
        self.reloading.store(false, Ordering::Release);
    }

    fn aad(kid: &str, alg: Alg) -> String {
        format!("{kid}|{}", alg.as_str())
    }

    fn seal(&self, kid: &str, alg: Alg, pkcs8: &[u8]) -> Result<String, IdpError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| IdpError::Crypto("aléa".into()))?;
        let mut buf = pkcs8.to_vec();
        self.sealer
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(kid, alg).as_bytes()),
                &mut buf,
            )
            .map_err(|_| IdpError::Crypto("chiffrement de la clé".into()))?;
        Ok(format!("v1.{}.{}", b64(&nonce), b64(&buf)))
    }

    fn open(&self, kid: &str, alg: Alg, sealed: &str) -> Result<Vec<u8>, IdpError> {
        let unusable = || {
            IdpError::Config(format!(
                "la clé de signature {kid} ne peut pas être déchiffrée avec ce secret d'instance : \
                 utilisez le secret d'instance avec lequel elle a été créée (instance_secret, \
                 CADUCEE_INSTANCE_SECRET ou CADUCEE_INSTANCE_SECRET_FILE)"
            ))
        };
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(nonce), Some(ct), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unusable());
        };
        let nonce: [u8; NONCE_LEN] = jwt::unb64(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(unusable)?;
        let mut buf = jwt::unb64(ct).map_err(|_| unusable())?;
        let plain = self
            .sealer
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(kid, alg).as_bytes()),
                &mut buf,
            )
            .map_err(|_| unusable())?;
        Ok(plain.to_vec())
    }

    /// Reads every key from the database; keys already parsed are reused as they are.
    pub async fn reload(&self, store: &caducee_store::Store) -> Result<(), IdpError> {
        let rows = sqlx::query(
            "SELECT kid, alg, generation, sealed_private, created_at, active_from FROM idp_key
             ORDER BY alg, generation",
        )
        .fetch_all(store.pool())
        .await?;
        let old = self.current();
        let known: HashMap<&str, &Arc<SigningKey>> =
            old.keys.iter().map(|k| (k.kid.as_str(), k)).collect();
        let mut keys = Vec::with_capacity(rows.len());
        for r in &rows {
            let kid: String = r.try_get(0)?;
            if let Some(k) = known.get(kid.as_str()) {
                keys.push((*k).clone());
                continue;
            }
            let alg: String = r.try_get(1)?;
            let alg = Alg::parse(&alg)
                .ok_or_else(|| IdpError::Internal(format!("algorithme de clé « {alg} »")))?;
            let sealed: String = r.try_get(3)?;
            let pkcs8 = self.open(&kid, alg, &sealed)?;
            keys.push(Arc::new(SigningKey::from_pkcs8(
                kid,
                alg,
                r.try_get(2)?,
                r.try_get(4)?,
                r.try_get(5)?,
                &pkcs8,
            )?));
        }
        self.replace(KeySet { keys });
        Ok(())
    }

    /// Creates generation `max + 1` of `alg`, signing from `active_from`. When another node
    /// created that generation at the same moment, keeps theirs. Returns the kid of the key
    /// now holding that generation.
    pub async fn create(
        &self,
        store: &caducee_store::Store,
        alg: Alg,
        now: i64,
        active_from: i64,
        actor: &str,
    ) -> Result<String, IdpError> {
        let pkcs8 = generate_pkcs8(alg)?;
        let probe = SigningKey::from_pkcs8(String::new(), alg, 0, now, active_from, &pkcs8)?;
        let kid = thumbprint(&probe.jwk);
        let sealed = self.seal(&kid, alg, &pkcs8)?;
        let mut tx = store.begin().await?;
        let generation: i64 =
            sqlx::query("SELECT COALESCE(MAX(generation), 0) + 1 FROM idp_key WHERE alg = $1")
                .bind(alg.as_str())
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        // The first key of an algorithm has no predecessor to overlap with: it signs at once.
        let active_from = if generation == 1 { now } else { active_from };
        let inserted = sqlx::query(
            "INSERT INTO idp_key (kid, alg, generation, sealed_private, created_at, active_from)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (alg, generation) DO NOTHING",
        )
        .bind(&kid)
        .bind(alg.as_str())
        .bind(generation)
        .bind(&sealed)
        .bind(now)
        .bind(active_from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let kid = if inserted == 1 {
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor,
                    action: "idp.key.created",
                    subject: Some(&kid),
                    details: serde_json::json!({
                        "alg": alg.as_str(), "generation": generation, "activeFrom": active_from,
                    }),
                    request_id: None,
                },
            )
            .await?;
            kid
        } else {
            sqlx::query("SELECT kid FROM idp_key WHERE alg = $1 AND generation = $2")
                .bind(alg.as_str())
                .bind(generation)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?
        };
        tx.commit().await?;
        self.reload(store).await?;
        Ok(kid)
    }

    /// At start: one key of each algorithm must exist (created active at once: no token
    /// exists yet that a relying party could fail to verify).
    pub async fn ensure(&self, store: &caducee_store::Store, now: i64) -> Result<(), IdpError> {
        self.reload(store).await?;
        for alg in [Alg::Rs256, Alg::Es256] {
            if !self.current().keys.iter().any(|k| k.alg == alg) {
                self.create(store, alg, now, now, "system:idp").await?;
                tracing::info!(alg = alg.as_str(), "clé de signature créée");
            }
        }
        Ok(())
    }

    /// Keys retired long ago are deleted. Returns how many.
    pub async fn purge(
        &self,
        store: &caducee_store::Store,
        now: i64,
        max_ttl: i64,
    ) -> Result<u64, IdpError> {
        let set = self.current();
        let mut purged = 0;
        for k in set.keys.iter() {
            if let Some(s) = set.successor(k) {
                if now > s.active_from + max_ttl + KEEP_RETIRED_SECS {
                    purged += sqlx::query("DELETE FROM idp_key WHERE kid = $1")
                        .bind(&k.kid)
                        .execute(store.pool())
                        .await?
                        .rows_affected();
                }
            }
        }
        if purged > 0 {
            self.reload(store).await?;
        }
        Ok(purged)
    }
}

/// A signing key as an operator sees it (no key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub generation: i64,
    pub created_at: i64,
    /// Signs from this time on (until a successor takes over).
    pub active_from: i64,
    /// The key that signs now for its algorithm.
    pub signing: bool,
    /// In the JWKS now.
    pub published: bool,
}

pub(crate) fn infos(set: &KeySet, now: i64, max_ttl: i64) -> Vec<KeyInfo> {
    let published = set.published(now, max_ttl);
    set.keys
        .iter()
        .map(|k| KeyInfo {
            kid: k.kid.clone(),
            alg: k.alg.as_str().to_string(),
            generation: k.generation,
            created_at: k.created_at,
            active_from: k.active_from,
            signing: set.signer(k.alg, now).is_some_and(|s| s.kid == k.kid),
            published: published.iter().any(|p| p.kid == k.kid),
        })
        .collect()
}

/// `caducee keys rotate`: creates the successor of the `alg` key, published at once and
/// signing from `config.key_publish_delay_secs` later (at once with `immediately`). The
/// instance secret must open the existing keys (a wrong secret is refused before anything
/// is written). Running servers pick the new key up at their next reload.
pub async fn rotate_key(
    store: &caducee_store::Store,
    clock: &dyn caducee_core::clock::Clock,
    config: &crate::IdpConfig,
    instance_secret: &[u8],
    alg: Alg,
    immediately: bool,
    actor: &str,
) -> Result<String, IdpError> {
    let ring = KeyRing::new(instance_secret)?;
    let now = clock.unix();
    ring.reload(store).await?;
    let from = if immediately {
        now
    } else {
        now + config.key_publish_delay_secs
    };
    ring.create(store, alg, now, from, actor).await
}

/// The keys in the database, as [`KeyInfo`]s.
pub async fn list_keys(
    store: &caducee_store::Store,
    clock: &dyn caducee_core::clock::Clock,
    config: &crate::IdpConfig,
    instance_secret: &[u8],
) -> Result<Vec<KeyInfo>, IdpError> {
    let ring = KeyRing::new(instance_secret)?;
    ring.reload(store).await?;
    Ok(infos(
        &ring.current(),
        clock.unix(),
        config.max_signed_token_ttl(),
    ))
}

fn generate_pkcs8(alg: Alg) -> Result<Vec<u8>, IdpError> {
    let err = || IdpError::Crypto("génération de clé".into());
    match alg {
        Alg::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| err())?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = pair.as_der().map_err(|_| err())?;
            Ok(der.as_ref().to_vec())
        }
        Alg::Es256 => {
            let pair =
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| err())?;
            Ok(pair.to_pkcs8v1().map_err(|_| err())?.as_ref().to_vec())
        }
    }
}

/// RFC 7638 thumbprint of a public JWK: a kid that names the key itself.
fn thumbprint(jwk: &serde_json::Value) -> String {
    let s = |k: &str| jwk.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let canonical = match s("kty") {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
        _ => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        ),
    };
    b64(&sha2::Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_secret_and_row() {
        let ring = KeyRing::new(&[7u8; 32]).unwrap();
        let sealed = ring.seal("kid1", Alg::Es256, b"private bytes").unwrap();
        assert!(!sealed.contains("private"));
        assert_eq!(
            ring.open("kid1", Alg::Es256, &sealed).unwrap(),
            b"private bytes"
        );
        assert!(ring.open("kid2", Alg::Es256, &sealed).is_err());
        let other = KeyRing::new(&[8u8; 32]).unwrap();
        assert!(matches!(
            other.open("kid1", Alg::Es256, &sealed),
            Err(IdpError::Config(_))
        ));
        assert!(KeyRing::new(b"short").is_err());
    }

    #[test]
    fn signed_tokens_verify_and_tampering_is_refused() {
        for alg in [Alg::Rs256, Alg::Es256] {
            let pkcs8 = generate_pkcs8(alg).unwrap();
            let k = SigningKey::from_pkcs8("k".into(), alg, 1, 0, 0, &pkcs8).unwrap();
            let set = KeySet {
                keys: vec![Arc::new(k)],
            };
            let t = set.keys[0]
                .sign("JWT", &serde_json::json!({"sub": "x"}))
                .unwrap();
            assert!(set.verify(&t).is_ok());
            let mut bad = t.clone();
            bad.insert(bad.find('.').unwrap() + 2, 'A');
            assert!(set.verify(&bad).is_err());
            let logout = set.keys[0]
                .sign("logout+jwt", &serde_json::json!({"sub": "x"}))
                .unwrap();
            assert!(set.verify(&logout).is_ok());
        }
    }
}
