//! How guessable a password is ("Sécurité du mot de passe : Faible / Moyen / Fort", ACC-04),
//! and which of a portal's composition rules it meets (ACC-09: "12 caractères ou plus, une
//! majuscule, une minuscule, un chiffre ou un caractère spécial", each shown met or unmet).
//!
//! The estimate is zxcvbn's (a port of Dropbox's estimator: dictionaries, keyboard
//! patterns, dates, l33t…), fed with what an attacker knows of the person: their names,
//! RPPS number, birth date, e-mail. A password built on one of those, or on a common
//! password ([`crate::common`]), is weak whatever its length.
//!
//! What the pages say is a catalogue key (`password-…`), never English text: the messages
//! are in the page kit's French and English catalogues.

use crate::common::{fold, is_common};

/// The meter's three levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Weak,
    Medium,
    Strong,
}

impl Level {
    /// The catalogue key of the level's label ("Faible", "Moyen", "Fort").
    pub fn key(self) -> &'static str {
        match self {
            Level::Weak => "password-strength-weak",
            Level::Medium => "password-strength-medium",
            Level::Strong => "password-strength-strong",
        }
    }
}

/// The estimate of one password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// zxcvbn's score, 0 (guessed in 10³ tries) to 4 (more than 10¹⁰).
    pub score: u8,
    pub level: Level,
    /// On the list of common passwords.
    pub common: bool,
    /// Built on the person's own data (a name, the RPPS, the birth date…).
    pub personal: bool,
    /// Catalogue key of the main reason it is weak, if any.
    pub warning: Option<&'static str>,
}

/// What an attacker knows of the person, to count against the password.
#[derive(Debug, Clone, Default)]
pub struct Personal<'a> {
    pub names: &'a [&'a str],
    pub rpps: Option<&'a str>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<&'a str>,
    pub email: Option<&'a str>,
}

impl Personal<'_> {
    /// The tokens the password must not be built on: each name and its parts (hyphens,
    /// spaces, apostrophes), the RPPS with and without its 8, the birth date in the ways it
    /// is typed (1980, 12041980, 120480, 19800412), the local part of the e-mail. Folded
    /// (lower case, no accents).
    fn tokens(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in self.names {
            let folded = fold(name);
            out.extend(
                folded
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            );
            out.push(folded.chars().filter(|c| c.is_alphanumeric()).collect());
        }
        if let Some(rpps) = self.rpps {
            let digits: String = rpps.chars().filter(char::is_ascii_digit).collect();
            out.push(digits.trim_start_matches('8').to_string());
            out.push(digits);
        }
        if let Some(date) = self.birth_date {
            let parts: Vec<&str> = date.split('-').collect();
            if let [y, m, d] = parts[..] {
                let yy = y.get(2..).unwrap_or(y);
                out.extend([
                    y.to_string(),
                    format!("{d}{m}{y}"),
                    format!("{d}{m}{yy}"),
                    format!("{y}{m}{d}"),
                ]);
            }
        }
        if let Some(email) = self.email {
            if let Some((local, _)) = email.split_once('@') {
                let local = fold(local);
                out.extend(
                    local
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                );
                out.push(local);
            }
        }
        out.retain(|t| t.chars().count() >= 4);
        out.sort();
        out.dedup();
        out
    }
}

/// Estimates `password` for the person described by `personal`.
pub fn estimate(password: &str, personal: &Personal<'_>) -> Strength {
    let tokens = personal.tokens();
    let inputs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    let score = u8::from(entropy.score());
    let folded = fold(password);
    let common = is_common(password);
    let personal = tokens.iter().any(|t| folded.contains(t.as_str()));
    let warning = if common {
        Some("password-warning-common")
    } else if personal {
        Some("password-warning-personal")
    } else {
        entropy
            .feedback()
            .and_then(|f| f.warning())
            .map(warning_key)
    };
    let level = if common || personal || score <= 1 {
        Level::Weak
    } else if score == 2 {
        Level::Medium
    } else {
        Level::Strong
    };
    Strength {
        score,
        level,
        common,
        personal,
        warning,
    }
}

fn warning_key(w: zxcvbn::feedback::Warning) -> &'static str {
    use zxcvbn::feedback::Warning as W;
    match w {
        W::StraightRowsOfKeysAreEasyToGuess | W::ShortKeyboardPatternsAreEasyToGuess => {
            "password-warning-keyboard"
        }
        W::RepeatsLikeAaaAreEasyToGuess | W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "password-warning-repeats"
        }
        W::SequencesLikeAbcAreEasyToGuess => "password-warning-sequence",
        W::RecentYearsAreEasyToGuess | W::DatesAreOftenEasyToGuess => "password-warning-dates",
        W::ThisIsATop10Password
        | W::ThisIsATop100Password
        | W::ThisIsACommonPassword
        | W::ThisIsSimilarToACommonlyUsedPassword => "password-warning-common",
        W::AWordByItselfIsEasyToGuess
        | W::NamesAndSurnamesByThemselvesAreEasyToGuess
        | W::CommonNamesAndSurnamesAreEasyToGuess => "password-warning-word",
    }
}

/// A portal's composition rules (ACC-09). [`Rules::none`] for portals that only use the
/// meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub min_chars: usize,
    pub upper: bool,
    pub lower: bool,
    pub digit_or_special: bool,
}

impl Rules {
    /// RPLUS: 12 characters or more, an upper-case letter, a lower-case letter, and a
    /// digit or a special character.
    pub const RPLUS: Rules = Rules {
        min_chars: 12,
        upper: true,
        lower: true,
        digit_or_special: true,
    };

    /// Length only (12, as ANSSI advises for a password with a meter and a deny list).
    pub const fn none() -> Rules {
        Rules {
            min_chars: 12,
            upper: false,
            lower: false,
            digit_or_special: false,
        }
    }

    /// Each rule that applies, with its catalogue key and whether `password` meets it, in
    /// the order a page lists them.
    pub fn check(&self, password: &str) -> Vec<(&'static str, bool)> {
        let mut out = vec![(
            "password-rule-length",
            password.chars().count() >= self.min_chars,
        )];
        if self.upper {
            out.push((
                "password-rule-upper",
                password.chars().any(char::is_uppercase),
            ));
        }
        if self.lower {
            out.push((
                "password-rule-lower",
                password.chars().any(char::is_lowercase),
            ));
        }
        if self.digit_or_special {
            out.push((
                "password-rule-digit-or-special",
                password
                    .chars()
                    .any(|c| !c.is_alphabetic() && !c.is_whitespace()),
            ));
        }
        out
    }

    /// Whether every rule is met.
    pub fn met(&self, password: &str) -> bool {
        self.check(password).iter().all(|(_, ok)| *ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn julie() -> Personal<'static> {
        Personal {
            names: &["Julie", "MARTIN"],
            rpps: Some("19999900012"),
            birth_date: Some("1980-04-12"),
            email: Some("julie.martin@example.test"),
        }
    }

    #[test]
    fn acc_04_the_persons_own_data_makes_a_password_weak() {
        for p in [
            "JulieMartin1980",
            "martin12041980",
            "19999900012!",
            "Jùlie-du-80-12/04",
            "julie.martin",
        ] {
            let s = estimate(p, &julie());
            assert_eq!(s.level, Level::Weak, "{p}: {s:?}");
        }
        let s = estimate("JulieMartin1980", &julie());
        assert!(s.personal);
        assert_eq!(s.warning, Some("password-warning-personal"));
        // The same password for someone else is not personal (it is still judged by zxcvbn).
        let s = estimate("martin12041980", &Personal::default());
        assert!(!s.personal);
    }

    #[test]
    fn acc_04_common_passwords_are_weak_and_random_ones_strong() {
        let s = estimate("Azerty123", &julie());
        assert_eq!((s.level, s.common), (Level::Weak, true), "{s:?}");
        assert_eq!(s.warning, Some("password-warning-common"));
        let s = estimate("qwertyuiop", &Personal::default());
        assert_eq!(s.level, Level::Weak);
        let s = estimate("Grenouille-Tarte-Violon-Phare", &julie());
        assert_eq!(s.level, Level::Strong, "{s:?}");
        assert_eq!(s.warning, None);
        assert!(Level::Weak < Level::Medium && Level::Medium < Level::Strong);
    }

    #[test]
    fn acc_09_rplus_rules_each_met_or_unmet() {
        let rules = Rules::RPLUS;
        let check = rules.check("motdepasse");
        assert_eq!(
            check,
            vec![
                ("password-rule-length", false),
                ("password-rule-upper", false),
                ("password-rule-lower", true),
                ("password-rule-digit-or-special", false),
            ]
        );
        assert!(rules.met("Ordonnance-2026"));
        assert!(!rules.met("ordonnance-2026"));
        assert!(!rules.met("ORDONNANCE-2026"));
        assert!(!rules.met("OrdonnanceXyz"));
        assert!(!rules.met("Ordo-2026"));
        assert_eq!(Rules::none().check("court").len(), 1);
    }
}
