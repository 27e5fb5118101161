//! The short verification code printed on an attestation and carried by its QR code
//! (`/verifier/{code}`): 12 characters of Crockford's base32 (no I, L, O, U, so nothing to
//! confuse when typed from paper), 60 random bits from the system's generator. It is a public
//! reference of the document, not a secret: what keeps strangers from listing attestations is
//! its size (2^60 codes) and the verification page's rate limit per source.

use rand::Rng;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of a code (5 bits each: 60 bits).
pub const LEN: usize = 12;

/// A fresh random code.
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// The code as typed or read from a URL, in its canonical form: dashes and spaces dropped,
/// upper case, `O` read as `0` and `I`/`L` as `1` (Crockford's rules). None when it cannot
/// be a code.
pub fn normalise(input: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
        if out.len() > LEN {
            return None;
        }
    }
    (out.len() == LEN).then_some(out)
}

/// `ABCD-EFGH-JKMN`, as printed for a person to read.
pub fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_are_canonical_and_read_back_as_typed() {
        let c = generate();
        assert_eq!(c.len(), LEN);
        assert_eq!(normalise(&c).as_deref(), Some(c.as_str()));
        assert_eq!(normalise(&grouped(&c)).as_deref(), Some(c.as_str()));
        assert_eq!(normalise("abcd-efgh-jkoi").as_deref(), Some("ABCDEFGHJK01"));
        assert_eq!(normalise("ABCDEFGHJK0U"), None);
        assert_eq!(normalise("ABCDEFGHJK0"), None);
        assert_eq!(normalise("ABCDEFGHJK000"), None);
        assert_eq!(normalise("ÉBCDEFGHJK00"), None);
        assert_ne!(generate(), generate());
    }
}
