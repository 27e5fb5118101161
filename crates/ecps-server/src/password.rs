//! The e-CPS password rules. Hashing (argon2id on bounded threads) is the shared
//! `caducee-passwords` crate, re-exported here for the e-CPS server's callers.
//!
//! Must never log a password.

pub use caducee_passwords::{Argon2Policy, PasswordHasher};

use crate::EcpsError;

/// Shortest accepted e-CPS password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted e-CPS password, in bytes (bounds the work of one hash).
pub const MAX_PASSWORD_BYTES: usize = 256;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn psc_04_password_rules_are_french() {
        assert!(check_password_rules("1234567").is_err());
        assert!(check_password_rules("12345678").is_ok());
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let e = check_password_rules(&long).unwrap_err().to_string();
        assert!(e.contains("ne doit pas dépasser"), "{e}");
    }
}
