//! Random codes and their storage: 6-digit activation codes (OS randomness), stored as
//! SHA-256 over a per-row salt, compared in constant time; 2-digit login codes and their
//! three shuffled choices.
//!
//! Must never log or return a stored hash, and never compare secrets with `==`.

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh 6-digit code, `000000` to `999999`, uniformly drawn from the OS.
pub fn six_digits() -> String {
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

/// `hex(SHA-256(salt ‖ 0 ‖ purpose ‖ 0 ‖ code))`. The salt is the activation id (random,
/// unique per row); the purpose tells the e-mail code from the SMS code.
pub fn code_hash(salt: &str, purpose: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(purpose.as_bytes());
    h.update([0u8]);
    h.update(code.trim().as_bytes());
    hex::encode(h.finalize())
}

/// Constant-time check of a typed code against its stored hash.
pub fn code_matches(salt: &str, purpose: &str, typed: &str, stored_hash: &str) -> bool {
    let computed = code_hash(salt, purpose, typed);
    bool::from(computed.as_bytes().ct_eq(stored_hash.as_bytes()))
}

/// A 2-digit login code, `10` to `99` (no leading zero to misread).
pub fn two_digits() -> String {
    OsRng.gen_range(10..100u32).to_string()
}

/// Three distinct 2-digit choices containing `code`, in random order.
pub fn choices_for(code: &str) -> Vec<String> {
    let mut out = vec![code.to_string()];
    while out.len() < 3 {
        let c = two_digits();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.shuffle(&mut OsRng);
    out
}

/// True for exactly two ASCII digits.
pub fn is_two_digits(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_04_codes_are_six_digits_and_hashes_compare() {
        for _ in 0..200 {
            let c = six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        let h = code_hash("salt-1", "email", "123456");
        assert!(code_matches("salt-1", "email", "123456", &h));
        assert!(code_matches("salt-1", "email", " 123456 ", &h));
        assert!(!code_matches("salt-1", "email", "123457", &h));
        assert!(!code_matches("salt-1", "sms", "123456", &h));
        assert!(!code_matches("salt-2", "email", "123456", &h));
        assert_ne!(h, code_hash("salt-2", "email", "123456"));
    }

    #[test]
    fn psc_03_three_distinct_choices_contain_the_code() {
        let mut positions = [0u32; 3];
        for _ in 0..600 {
            let code = two_digits();
            assert!(is_two_digits(&code));
            let ch = choices_for(&code);
            assert_eq!(ch.len(), 3);
            assert!(ch.iter().all(|c| is_two_digits(c)));
            assert!(ch[0] != ch[1] && ch[1] != ch[2] && ch[0] != ch[2]);
            let pos = ch.iter().position(|c| *c == code);
            assert!(pos.is_some());
            positions[pos.unwrap_or(0)] += 1;
        }
        // Shuffled: the code is not always at the same place.
        assert!(positions.iter().all(|&n| n > 100), "{positions:?}");
        assert!(is_two_digits("07"));
        assert!(!is_two_digits("7"));
        assert!(!is_two_digits("123"));
        assert!(!is_two_digits("a1"));
    }
}
