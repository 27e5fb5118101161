//! The common passwords refused outright (issue 11 item 7): a list shipped with the binary
//! (`common-passwords.txt`, French and English), compared without case or accents, and once
//! the digits and symbols that end a password are stripped: "Soleil2024!" is as common as
//! "soleil".

use std::collections::HashSet;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

const LIST: &str = include_str!("common-passwords.txt");

fn list() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// `s` lower-cased, accents removed (NFD, combining marks dropped).
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `password` is on the list (see the module's rules).
pub fn is_common(password: &str) -> bool {
    let folded = fold(password.trim());
    if list().contains(folded.as_str()) {
        return true;
    }
    let stem = folded.trim_end_matches(|c: char| !c.is_alphabetic());
    stem.chars().count() >= 4 && list().contains(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc_04_common_passwords_are_recognised_in_any_dress() {
        for p in [
            "azerty",
            "AZERTY",
            "Soleil2024!",
            "motdepasse123",
            "MédeCin",
            "password1",
            "iloveyou",
        ] {
            assert!(is_common(p), "{p}");
        }
        for p in ["Vachette-Orageuse-17", "x7#Lm!q2", "psg1"] {
            assert!(!is_common(p), "{p}");
        }
        assert_eq!(fold("Hélène Dubois"), "helene dubois");
    }
}
