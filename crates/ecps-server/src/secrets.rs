//! Random codes and their storage: 6-digit activation codes (OS randomness), stored as
//! SHA-256 over a per-row salt, compared in constant time; 2-digit login codes (`00`–`99`)
//! and their three shuffled choices, the decoys drawn from the same space.
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

/// A 2-digit login code, `00` to `99`: the space of the CIBA binding messages too, so that
/// the codes the server draws and those a client chooses share one space with their decoys
/// (see [`choices_for`]).
pub fn two_digits() -> String {
    format!("{:02}", OsRng.gen_range(0..100u32))
}

/// Three distinct 2-digit choices containing `code`, in random order. The two decoys are
/// drawn uniformly from the code's own space, `00`–`99` (issue 10, item 10): decoys drawn
/// from `10`–`99` made a binding message `00`–`09` the only choice with a leading zero, so
/// the right answer could be picked without looking at the login page.
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
    #![allow(clippy::unwrap_used)]
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

    /// Counts over `n` draws of (code, choices): where the code sits, how many decoys have a
    /// leading zero, and how often the code is the only choice with one.
    struct Draws {
        n: u32,
        positions: [u32; 3],
        decoys_with_zero: u32,
        code_alone_with_zero: u32,
    }

    fn draws(n: u32, mut code: impl FnMut(u32) -> String) -> Draws {
        let mut d = Draws {
            n,
            positions: [0; 3],
            decoys_with_zero: 0,
            code_alone_with_zero: 0,
        };
        for i in 0..n {
            let code = code(i);
            let ch = choices_for(&code);
            let pos = ch.iter().position(|c| *c == code).unwrap();
            d.positions[pos] += 1;
            let zero = |c: &String| c.starts_with('0');
            let decoys = ch.iter().filter(|c| **c != code);
            let with_zero = decoys.filter(|c| zero(c)).count();
            d.decoys_with_zero += with_zero as u32;
            if zero(&code) && with_zero == 0 {
                d.code_alone_with_zero += 1;
            }
        }
        d
    }

    fn assert_near(what: &str, got: f64, expected: f64, tolerance: f64) {
        assert!(
            (got - expected).abs() <= tolerance,
            "{what}: {got:.4}, expected {expected:.4} ± {tolerance}"
        );
    }

    fn assert_positions_uniform(d: &Draws) {
        // Each position holds the code a third of the time (σ ≈ 0.0033 for 20,000 draws).
        for (i, &p) in d.positions.iter().enumerate() {
            assert_near(
                &format!("share of the code at position {i}"),
                f64::from(p) / f64::from(d.n),
                1.0 / 3.0,
                0.025,
            );
        }
    }

    /// Issue 10 item 10: a CIBA binding message 00–09 must not be the only choice with a
    /// leading zero. The decoys come from the code's own space, 00–99: each decoy is one of
    /// the 99 other codes, so it has a leading zero 9 or 10 times in 99, and a code 00–09 is
    /// the only leading-zero choice with probability 90/99 × 89/98 ≈ 0.826 (not always).
    #[test]
    fn sec_10_decoys_come_from_the_codes_space_00_to_99() {
        const N: u32 = 20_000;
        // Bindings 00..09, as a CIBA client may send.
        let d = draws(N, |i| format!("{:02}", i % 10));
        assert_positions_uniform(&d);
        assert_near(
            "decoys with a leading zero, for codes 00–09",
            f64::from(d.decoys_with_zero) / f64::from(2 * N),
            9.0 / 99.0,
            0.015,
        );
        assert_near(
            "code 00–09 alone with a leading zero",
            f64::from(d.code_alone_with_zero) / f64::from(N),
            90.0 / 99.0 * 89.0 / 98.0,
            0.025,
        );
        // Bindings anywhere in 00..99.
        let d = draws(N, |i| format!("{:02}", i % 100));
        assert_positions_uniform(&d);
        assert_near(
            "decoys with a leading zero, for codes 00–99",
            f64::from(d.decoys_with_zero) / f64::from(2 * N),
            0.1,
            0.015,
        );
        // Codes the server draws itself are in the same space: a leading zero tells nothing
        // about which choice is right, whoever chose the code.
        let mut drawn_with_zero = 0u32;
        let d = draws(N, |_| {
            let c = two_digits();
            assert!(is_two_digits(&c), "{c}");
            drawn_with_zero += u32::from(c.starts_with('0'));
            c
        });
        assert_near(
            "drawn codes with a leading zero",
            f64::from(drawn_with_zero) / f64::from(N),
            0.1,
            0.015,
        );
        assert_positions_uniform(&d);
        assert_near(
            "decoys with a leading zero, for drawn codes",
            f64::from(d.decoys_with_zero) / f64::from(2 * N),
            0.1,
            0.015,
        );
    }
}
