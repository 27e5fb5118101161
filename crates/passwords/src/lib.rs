//! Passwords of caducee, for every component that keeps one (the e-CPS server, the portals'
//! local accounts):
//! - [`PasswordHasher`]: argon2id (OWASP parameters) on a few dedicated threads, so a burst
//!   of logins queues instead of exhausting memory;
//! - [`strength`]: how guessable a password is, from a real estimator (zxcvbn) fed with
//!   what an attacker knows of the person (names, RPPS, birth date, e-mail), so that those
//!   count as weak;
//! - [`common`]: the common passwords (French and English) that are refused outright.
//!
//! Must never log a password or a hash, and never let configuration choose the argon2
//! cost.

pub mod common;
mod hasher;
pub mod legacy;
pub mod strength;

pub use hasher::{Argon2Policy, PasswordHasher};

/// What can go wrong while hashing.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("le calcul du mot de passe a échoué : {0}")]
    Hashing(String),
    /// A stored hash that cannot be read: a fault of the data, not of the password.
    #[error("empreinte de mot de passe illisible : {0}")]
    Corrupt(String),
}
