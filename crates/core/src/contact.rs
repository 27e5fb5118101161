//! Validation of contact coordinates (REG-05): personal e-mail, mobile number, and telling
//! MSSanté secure-mail addresses apart from personal ones.
//!
//! Like identifiers, [`Email`] and [`Mobile`] can only hold a checked value; a mobile is
//! stored in E.164 form whatever way it was typed. Messages are in French and say what is
//! expected. This module must never contact anything (no DNS or SMS check here: that belongs
//! to the flows that send a code) and never panic on input.

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ContactError {
    #[error("L'adresse e-mail est vide.")]
    EmailEmpty,
    #[error("L'adresse e-mail ne doit pas dépasser 254 caractères.")]
    EmailTooLong,
    #[error("L'adresse e-mail ne doit contenir ni espace ni caractère spécial comme < > ( ) , ; : \" [ ].")]
    EmailCharacters,
    #[error("L'adresse e-mail doit contenir un seul « @ », par exemple prenom.nom@exemple.fr.")]
    EmailAt,
    #[error("L'adresse e-mail doit comporter un nom avant le « @ » (64 caractères au plus).")]
    EmailLocalPart,
    #[error("Le domaine de l'adresse e-mail (après le « @ ») doit être de la forme exemple.fr.")]
    EmailDomain,
    #[error("Le numéro de mobile doit être au format 06 12 34 56 78 ou +33 6 12 34 56 78.")]
    Mobile,
}

/// An e-mail address: trimmed, domain lower-cased (domains are case-insensitive; the local
/// part is kept as typed because, strictly, it is not).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Characters that cannot appear unquoted in an address; quoted local parts are not
/// accepted (nobody in the registry has one, and they defeat simple display and masking).
const EMAIL_SPECIALS: &[char] = &['<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\\', '|'];

impl Email {
    pub fn parse(s: &str) -> Result<Email, ContactError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ContactError::EmailEmpty);
        }
        if s.chars().count() > 254 {
            return Err(ContactError::EmailTooLong);
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || EMAIL_SPECIALS.contains(&c))
        {
            return Err(ContactError::EmailCharacters);
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ContactError::EmailAt);
        };
        if local.is_empty() || local.chars().count() > 64 {
            return Err(ContactError::EmailLocalPart);
        }
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(ContactError::EmailDomain);
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }

    /// The lower-cased domain.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// True for MSSanté secure-mail addresses (domain `mssante.fr` or one of its subdomains,
/// e.g. `x@medecin.mssante.fr`, `x@ch-foo.mssante.fr`): they are kept apart from personal
/// e-mail and never used to activate an e-CPS.
pub fn is_mssante(email: &Email) -> bool {
    let d = email.domain();
    d == "mssante.fr" || d.ends_with(".mssante.fr")
}

/// A mobile number in E.164 form (`+33612345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mobile(String);

/// National prefixes of overseas mobiles and the country code they dial under; checked
/// before the generic 06/07 rule. Sources: ARCEP numbering plan.
const OVERSEAS_MOBILES: &[(&str, &str)] = &[
    ("0690", "590"), // Guadeloupe, Saint-Martin, Saint-Barthélemy
    ("0691", "590"),
    ("0694", "594"), // Guyane
    ("0696", "596"), // Martinique
    ("0697", "596"),
    ("0692", "262"), // La Réunion
    ("0693", "262"),
    ("0639", "262"), // Mayotte
];

impl Mobile {
    /// Accepts `06 12 34 56 78`, `0612345678`, `+33 6 12 34 56 78`, `0033612345678`,
    /// `+33612345678` (→ `+33612345678`), overseas mobiles (`0690…` → `+590690…`), and other
    /// international numbers `+<country><number>` of 8 to 15 digits as given. Spaces, dots
    /// and dashes are ignored.
    pub fn parse(s: &str) -> Result<Mobile, ContactError> {
        let compact: String = s
            .chars()
            .filter(|c| !(c.is_whitespace() || *c == '.' || *c == '-'))
            .collect();
        let international = if let Some(rest) = compact.strip_prefix('+') {
            Some(rest)
        } else {
            compact.strip_prefix("00")
        };
        let e164 = match international {
            Some(digits) => Self::international(digits),
            None => Self::national(&compact),
        };
        e164.map(Mobile).ok_or(ContactError::Mobile)
    }

    /// `digits` follows `+` or `00`.
    fn international(digits: &str) -> Option<String> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if let Some(national) = digits.strip_prefix("33") {
            // "+33 (0)6…" is often written without the parentheses: drop that 0.
            let national = match national.strip_prefix('0') {
                Some(n) if n.len() == 9 => n,
                _ => national,
            };
            let french_mobile =
                national.len() == 9 && (national.starts_with('6') || national.starts_with('7'));
            return french_mobile.then(|| format!("+33{national}"));
        }
        // E.164 country codes never start with 0.
        let plausible = (8..=15).contains(&digits.len()) && !digits.starts_with('0');
        plausible.then(|| format!("+{digits}"))
    }

    fn national(digits: &str) -> Option<String> {
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let without_zero = digits.get(1..)?;
        if let Some((_, cc)) = OVERSEAS_MOBILES.iter().find(|(p, _)| digits.starts_with(p)) {
            return Some(format!("+{cc}{without_zero}"));
        }
        (digits.starts_with("06") || digits.starts_with("07")).then(|| format!("+33{without_zero}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(Email, ContactError);
string_conversions!(Mobile, ContactError);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reg_05_email_accepts_and_normalises() {
        let e = Email::parse("  Julie.Martin@Example.TEST ").unwrap();
        assert_eq!(e.as_str(), "Julie.Martin@example.test");
        assert_eq!(e.local_part(), "Julie.Martin");
        assert_eq!(e.domain(), "example.test");
        assert!(Email::parse("tudor.x01@cn.medecin.fr").is_ok());
        assert!(Email::parse("a+tag@sub.domaine-santé.fr").is_ok());
    }

    #[test]
    fn reg_05_email_refusals_say_why() {
        assert_eq!(Email::parse(""), Err(ContactError::EmailEmpty));
        assert_eq!(Email::parse("a b@x.fr"), Err(ContactError::EmailCharacters));
        assert_eq!(Email::parse("ax.fr"), Err(ContactError::EmailAt));
        assert_eq!(Email::parse("a@b@x.fr"), Err(ContactError::EmailAt));
        assert_eq!(Email::parse("@x.fr"), Err(ContactError::EmailLocalPart));
        assert_eq!(Email::parse("a@localhost"), Err(ContactError::EmailDomain));
        assert_eq!(Email::parse("a@x..fr"), Err(ContactError::EmailDomain));
        assert_eq!(Email::parse("a@.fr"), Err(ContactError::EmailDomain));
        let long = format!("{}@x.fr", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(ContactError::EmailTooLong));
        assert!(Email::parse("a@x.fr.").is_err());
        assert!(ContactError::EmailAt.to_string().contains('@'));
    }

    #[test]
    fn reg_05_mssante_kept_apart() {
        assert!(is_mssante(&Email::parse("x@medecin.mssante.fr").unwrap()));
        assert!(is_mssante(&Email::parse("x@ch-foo.mssante.fr").unwrap()));
        assert!(is_mssante(&Email::parse("x@MSSANTE.FR").unwrap()));
        assert!(!is_mssante(&Email::parse("x@fakemssante.fr").unwrap()));
        assert!(!is_mssante(&Email::parse("x@example.test").unwrap()));
    }

    #[test]
    fn reg_05_mobile_forms() {
        for input in [
            "06 12 34 56 78",
            "0612345678",
            "+33 6 12 34 56 78",
            "0033612345678",
            "+33612345678",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "+33 0612345678",
        ] {
            assert_eq!(
                Mobile::parse(input).unwrap().as_str(),
                "+33612345678",
                "{input}"
            );
        }
        assert_eq!(
            Mobile::parse("07 81 23 45 22").unwrap().as_str(),
            "+33781234522"
        );
        assert_eq!(
            Mobile::parse("0690 12 34 56").unwrap().as_str(),
            "+590690123456"
        );
        assert_eq!(
            Mobile::parse("0694123456").unwrap().as_str(),
            "+594694123456"
        );
        assert_eq!(
            Mobile::parse("0696123456").unwrap().as_str(),
            "+596696123456"
        );
        assert_eq!(
            Mobile::parse("0692123456").unwrap().as_str(),
            "+262692123456"
        );
        assert_eq!(
            Mobile::parse("0639123456").unwrap().as_str(),
            "+262639123456"
        );
        assert_eq!(
            Mobile::parse("+44 7700 900123").unwrap().as_str(),
            "+447700900123"
        );
        assert_eq!(
            Mobile::parse("+32 470 12 34 56").unwrap().as_str(),
            "+32470123456"
        );
    }

    #[test]
    fn reg_05_mobile_refusals() {
        for input in [
            "",
            "01 45 67 89 01",
            "+33145678901",
            "612345678",
            "06123456",
            "061234567890",
            "06 12 34 56 7a",
            "+4412",
            "+0123456789",
            "(06) 12 34 56 78",
        ] {
            assert_eq!(Mobile::parse(input), Err(ContactError::Mobile), "{input}");
        }
        assert_eq!(
            ContactError::Mobile.to_string(),
            "Le numéro de mobile doit être au format 06 12 34 56 78 ou +33 6 12 34 56 78."
        );
    }

    #[test]
    fn reg_05_serde_round_trip() {
        let m = Mobile::parse("0612345678").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"+33612345678\"");
        assert_eq!(
            serde_json::from_str::<Mobile>("\"06 12 34 56 78\"").unwrap(),
            m
        );
        assert!(serde_json::from_str::<Mobile>("\"0145678901\"").is_err());
        let e = Email::parse("a@b.fr").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"a@b.fr\"");
        assert!(serde_json::from_str::<Email>("\"a@b\"").is_err());
    }

    proptest! {
        #[test]
        fn reg_05_contact_parsers_never_panic(s in "\\PC*") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            }
            if let Ok(m) = Mobile::parse(&s) {
                prop_assert_eq!(Mobile::parse(m.as_str()).unwrap(), m);
            }
        }

        #[test]
        fn reg_05_french_mobiles_normalise(rest in "[0-9]{8}", seven in any::<bool>()) {
            let national = format!("0{}{rest}", if seven { 7 } else { 6 });
            let m = Mobile::parse(&national).unwrap();
            prop_assert!(m.as_str().starts_with('+'));
            prop_assert_eq!(Mobile::parse(m.as_str()).unwrap(), m);
        }
    }
}
