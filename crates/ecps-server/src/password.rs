//! e-CPS passwords: argon2id hashing and verification, bounded so that a burst of logins
//! queues instead of exhausting memory.
//!
//! Each hash costs `m` KiB of memory and blocks a thread, so it runs in
//! `tokio::task::spawn_blocking` after taking a permit of a semaphore sized to the number of
//! CPUs: at most that many hashes (19 MiB each with the OWASP parameters) exist at once.
//!
//! Must never log a password or a hash, never run argon2 on an async worker thread, and
//! never let configuration choose the cost: production uses [`Argon2Policy::owasp`]; the
//! cheap [`Argon2Policy::for_tests`] exists only in test builds.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

use crate::EcpsError;

/// Shortest accepted e-CPS password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted e-CPS password, in bytes (bounds the work of one hash).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Policy {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism (lanes).
    pub p: u32,
}

impl Argon2Policy {
    /// OWASP's recommended argon2id parameters: m = 19 MiB, t = 2, p = 1.
    pub const fn owasp() -> Argon2Policy {
        Argon2Policy {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }

    /// A cheap cost (64 KiB, t = 1) so tests run fast. Absent from non-test builds.
    #[cfg(any(test, feature = "testkit"))]
    pub const fn for_tests() -> Argon2Policy {
        Argon2Policy {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    fn argon2(&self) -> Result<Argon2<'static>, EcpsError> {
        let params = Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| EcpsError::Hashing(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for Argon2Policy {
    fn default() -> Self {
        Argon2Policy::owasp()
    }
}

/// Checks the e-CPS password rules (length only: strength is advised by the client).
pub fn check_password_rules(password: &str) -> Result<(), EcpsError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(EcpsError::BadPassword(format!(
            "le mot de passe e-CPS doit compter au moins {MIN_PASSWORD_CHARS} caractères"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(EcpsError::BadPassword(format!(
            "le mot de passe e-CPS ne doit pas dépasser {MAX_PASSWORD_BYTES} octets"
        )));
    }
    Ok(())
}

/// Hashes and verifies passwords off the async threads, at most `permits` at a time.
/// Cheap to clone; clones share the semaphore.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    policy: Argon2Policy,
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    /// One permit per CPU.
    pub fn new(policy: Argon2Policy) -> PasswordHasher {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        PasswordHasher::with_permits(policy, cpus)
    }

    pub fn with_permits(policy: Argon2Policy, permits: usize) -> PasswordHasher {
        PasswordHasher {
            policy,
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    pub fn policy(&self) -> Argon2Policy {
        self.policy
    }

    /// Hashes currently allowed to start without waiting.
    pub fn available_permits(&self) -> usize {
        self.permits.available_permits()
    }

    /// The argon2id PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, EcpsError> {
        let argon2 = self.policy.argon2()?;
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| EcpsError::Hashing(e.to_string()))
        })
        .await
    }

    /// True when `password` matches the PHC string `phc` (its own parameters are used, so
    /// hashes made under an older policy still verify).
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, EcpsError> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        self.run(move || {
            let parsed = PasswordHash::new(&phc)
                .map_err(|e| EcpsError::Corrupt(format!("empreinte de mot de passe : {e}")))?;
            match Argon2::default().verify_password(password.as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::Password) => Ok(false),
                Err(e) => Err(EcpsError::Hashing(e.to_string())),
            }
        })
        .await
    }

    async fn run<T, F>(&self, f: F) -> Result<T, EcpsError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EcpsError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| EcpsError::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(|e| EcpsError::Hashing(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn psc_03_argon2id_hash_verifies_and_refuses_wrong_password() {
        let h = PasswordHasher::new(Argon2Policy::for_tests());
        let phc = h.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(h.verify("correct horse", &phc).await.unwrap());
        assert!(!h.verify("correct hors", &phc).await.unwrap());
        assert!(h.verify("x", "not a phc").await.is_err());
    }

    #[test]
    fn psc_03_production_policy_is_owasp() {
        let p = Argon2Policy::default();
        assert_eq!((p.m_kib, p.t, p.p), (19 * 1024, 2, 1));
        assert!(p.argon2().is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn psc_03_hashing_is_bounded_by_the_semaphore() {
        let h = PasswordHasher::with_permits(Argon2Policy::for_tests(), 2);
        let mut tasks = Vec::new();
        for i in 0..16 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                h.hash(&format!("password-{i}")).await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(h.available_permits(), 2);
    }

    #[test]
    fn psc_04_password_rules_are_french() {
        assert!(check_password_rules("1234567").is_err());
        assert!(check_password_rules("12345678").is_ok());
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let e = check_password_rules(&long).unwrap_err().to_string();
        assert!(e.contains("ne doit pas dépasser"), "{e}");
    }
}
