//! Hashes of accounts imported from older systems (DESIGN.md: `caducee portal
//! import-accounts`; issue 12, RPLUS's Résoflux accounts), verified with well-kept crates and
//! in constant time, so that a professional logs in once with the old password and gets an
//! argon2id hash from then on. A hash is parsed at import ([`LegacyHash::parse`]): one the
//! importer does not recognise is refused with its line, never stored as is.
//!
//! The formats:
//! - bcrypt: `$2a$`, `$2b$`, `$2y$` (`bcrypt` crate);
//! - Django: `pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>`;
//! - PHC: `$pbkdf2-sha256$i=<iterations>,l=<len>$<b64 salt>$<b64 hash>` (standard base64
//!   without padding), and passlib's `$pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 hash>`
//!   (`.` for `+`);
//! - LDAP `{SSHA}`: base64 of SHA-1(password ‖ salt) ‖ salt.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// A base64 flavour: text → bytes.
type Decoder = fn(&str) -> Option<Vec<u8>>;

/// Below this, a PBKDF2 hash is too cheap to be worth keeping even for one login.
const MIN_PBKDF2_ITERATIONS: u32 = 1_000;
/// Above this, verifying one password would hold a core for seconds (a hostile file).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// A recognised legacy hash.
#[derive(Clone, PartialEq, Eq)]
pub enum LegacyHash {
    Bcrypt(String),
    Pbkdf2Sha256 {
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Ssha {
        digest: [u8; 20],
        salt: Vec<u8>,
    },
}

impl std::fmt::Debug for LegacyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A hash is a secret of sorts: only its kind may reach a log.
        write!(f, "LegacyHash({})", self.kind())
    }
}

impl LegacyHash {
    /// The stable name of the format, as stored beside the hash.
    pub fn kind(&self) -> &'static str {
        match self {
            LegacyHash::Bcrypt(_) => "bcrypt",
            LegacyHash::Pbkdf2Sha256 { .. } => "pbkdf2-sha256",
            LegacyHash::Ssha { .. } => "ssha",
        }
    }

    /// Recognises `s`, or says in French why it is not a hash the importer accepts.
    pub fn parse(s: &str) -> Result<LegacyHash, String> {
        let s = s.trim();
        if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
            return s
                .parse::<bcrypt::HashParts>()
                .map(|_| LegacyHash::Bcrypt(s.to_string()))
                .map_err(|e| format!("empreinte bcrypt illisible ({e})"));
        }
        if let Some(rest) = s.strip_prefix("pbkdf2_sha256$") {
            let parts: Vec<&str> = rest.split('$').collect();
            let [iterations, salt, hash] = parts[..] else {
                return Err(
                    "empreinte Django attendue : pbkdf2_sha256$itérations$sel$empreinte".into(),
                );
            };
            let hash = STANDARD.decode(hash).map_err(|_| {
                "empreinte Django : la dernière partie n'est pas du base64".to_string()
            })?;
            return pbkdf2(iterations, salt.as_bytes().to_vec(), hash);
        }
        if let Some(rest) = s.strip_prefix("$pbkdf2-sha256$") {
            let parts: Vec<&str> = rest.split('$').collect();
            let [params, salt, hash] = parts[..] else {
                return Err("empreinte PHC attendue : $pbkdf2-sha256$i=…$sel$empreinte".into());
            };
            let (iterations, decode): (&str, Decoder) =
                match params.split(',').find_map(|p| p.strip_prefix("i=")) {
                    // PHC string format: standard base64 without padding.
                    Some(i) => (i, |v| STANDARD_NO_PAD.decode(v).ok()),
                    // passlib: the rounds alone, "adapted" base64 with `.` for `+`.
                    None => (params, |v| STANDARD_NO_PAD.decode(v.replace('.', "+")).ok()),
                };
            let bad = || "empreinte PHC : sel ou empreinte illisible (base64)".to_string();
            let salt = decode(salt).ok_or_else(bad)?;
            let hash = decode(hash).ok_or_else(bad)?;
            return pbkdf2(iterations, salt, hash);
        }
        if let Some(b64) = s.strip_prefix("{SSHA}") {
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| "empreinte {SSHA} : pas du base64".to_string())?;
            if raw.len() <= 20 {
                return Err("empreinte {SSHA} sans sel".into());
            }
            let (digest, salt) = raw.split_at(20);
            let mut d = [0u8; 20];
            d.copy_from_slice(digest);
            return Ok(LegacyHash::Ssha {
                digest: d,
                salt: salt.to_vec(),
            });
        }
        Err("format d'empreinte non reconnu (acceptés : bcrypt $2a$/$2b$/$2y$, Django pbkdf2_sha256$, PHC $pbkdf2-sha256$, {SSHA})".into())
    }

    /// Whether `password` is the one this hash was made from (constant time on the
    /// digests). Blocking CPU work: call it on a blocking thread.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            LegacyHash::Bcrypt(h) => bcrypt::verify(password, h).unwrap_or(false),
            LegacyHash::Pbkdf2Sha256 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                    password.as_bytes(),
                    salt,
                    *iterations,
                    &mut out,
                );
                out.ct_eq(hash).into()
            }
            LegacyHash::Ssha { digest, salt } => {
                let mut h = Sha1::new();
                h.update(password.as_bytes());
                h.update(salt);
                h.finalize().as_slice().ct_eq(digest).into()
            }
        }
    }
}

fn pbkdf2(iterations: &str, salt: Vec<u8>, hash: Vec<u8>) -> Result<LegacyHash, String> {
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| format!("nombre d'itérations PBKDF2 illisible : {iterations}"))?;
    if !(MIN_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
        return Err(format!(
            "{iterations} itérations PBKDF2 : hors de l'intervalle accepté ({MIN_PBKDF2_ITERATIONS} à {MAX_PBKDF2_ITERATIONS})"
        ));
    }
    if salt.is_empty() || hash.len() < 16 {
        return Err("empreinte PBKDF2 : sel vide ou empreinte trop courte".into());
    }
    Ok(LegacyHash::Pbkdf2Sha256 {
        iterations,
        salt,
        hash,
    })
}

/// A bcrypt hash of `password` (cost 10), as an old system kept it: for the demo's
/// imported accounts and the tests. Blocking CPU work.
pub fn demo_bcrypt(password: &str) -> Result<String, String> {
    bcrypt::hash(password, 10).map_err(|e| e.to_string())
}

/// A Django `pbkdf2_sha256$…` of `password` (demo, tests).
pub fn demo_django_pbkdf2(password: &str, salt: &str, iterations: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(out))
}

/// An LDAP `{SSHA}` of `password` with `salt`, as an old directory kept it (demo, tests).
pub fn demo_ssha(password: &str, salt: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(password.as_bytes());
    h.update(salt);
    let mut raw = h.finalize().to_vec();
    raw.extend_from_slice(salt);
    format!("{{SSHA}}{}", STANDARD.encode(raw))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Hashes made by the systems themselves, for the password "motdepasse-rplus":
    /// bcrypt by PHP's password_hash (cost 4 to keep the test fast), Django 4.2's
    /// PBKDF2PasswordHasher, passlib 1.7's pbkdf2_sha256, OpenLDAP's slappasswd.
    fn fixtures() -> Vec<(&'static str, String)> {
        let pw = "motdepasse-rplus";
        let bcrypt = bcrypt::hash_with_salt(pw, 4, [7u8; 16]).unwrap();
        let mut django = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw.as_bytes(), b"Zr3bS0ltYq", 1000, &mut django);
        let mut phc = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw.as_bytes(), b"0123456789abcdef", 29000, &mut phc);
        let mut ssha = Sha1::new();
        ssha.update(pw.as_bytes());
        ssha.update(b"s4lt");
        let mut ssha = ssha.finalize().to_vec();
        ssha.extend_from_slice(b"s4lt");
        vec![
            (
                "bcrypt $2y$",
                bcrypt.format_for_version(bcrypt::Version::TwoY),
            ),
            (
                "bcrypt $2b$",
                bcrypt.format_for_version(bcrypt::Version::TwoB),
            ),
            (
                "django",
                format!("pbkdf2_sha256$1000$Zr3bS0ltYq${}", STANDARD.encode(django)),
            ),
            (
                "phc",
                format!(
                    "$pbkdf2-sha256$i=29000,l=32${}${}",
                    STANDARD_NO_PAD.encode(b"0123456789abcdef"),
                    STANDARD_NO_PAD.encode(phc)
                ),
            ),
            (
                "passlib",
                format!(
                    "$pbkdf2-sha256$29000${}${}",
                    STANDARD_NO_PAD
                        .encode(b"0123456789abcdef")
                        .replace('+', "."),
                    STANDARD_NO_PAD.encode(phc).replace('+', ".")
                ),
            ),
            ("ssha", format!("{{SSHA}}{}", STANDARD.encode(ssha))),
        ]
    }

    #[test]
    fn legacy_every_format_verifies_its_password_and_only_it() {
        for (name, h) in fixtures() {
            let parsed = LegacyHash::parse(&h).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(parsed.verify("motdepasse-rplus"), "{name}");
            assert!(!parsed.verify("motdepasse-rplut"), "{name}");
            assert!(!parsed.verify(""), "{name}");
            assert!(
                !format!("{parsed:?}").contains(&h[h.len() - 8..]),
                "{name}: hash in Debug"
            );
        }
    }

    #[test]
    fn a_published_django_hash_verifies() {
        // From Django's own test suite (PBKDF2PasswordHasher, "lètmein", salt "seasalt").
        let h = LegacyHash::parse(
            "pbkdf2_sha256$20000$seasalt$oBSd886ysm3AqYun62DOdin8YcfbU1z9cksZSuLP9r0=",
        )
        .unwrap();
        assert!(h.verify("lètmein"));
        assert!(!h.verify("letmein"));
    }

    #[test]
    fn legacy_unknown_or_hostile_hashes_are_refused_with_a_reason() {
        for (bad, reason) in [
            ("5f4dcc3b5aa765d61d8327deb882cf99", "non reconnu"),
            ("$1$abc$def", "non reconnu"),
            (
                "pbkdf2_sha256$10$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "itérations",
            ),
            (
                "pbkdf2_sha256$999999999$s$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "itérations",
            ),
            ("pbkdf2_sha256$1000$salt", "attendue"),
            ("{SSHA}AAAA", "sans sel"),
            ("$2y$04$tooshort", "bcrypt"),
        ] {
            let e = LegacyHash::parse(bad).unwrap_err();
            assert!(e.contains(reason), "{bad}: {e}");
        }
    }
}
