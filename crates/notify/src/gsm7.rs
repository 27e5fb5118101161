//! The GSM 03.38 7-bit alphabet, so that an SMS text is known to fit one message (160
//! septets) before it is queued: a single character outside it (ê, ç, ’, «) makes the
//! gateway switch to UCS-2 and split the text into two or three SMS.
//!
//! Pure functions; they must never panic, whatever the input.

/// The basic character set (one septet each), without the escape code 0x1B.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: two septets each (escape + character).
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Longest text of one SMS, in septets.
pub const ONE_SMS: usize = 160;

/// Septets taken by `c`, or `None` when `c` is not in the GSM 7-bit alphabet.
pub fn septets_of(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Septets taken by `s`, or `None` when one of its characters is not GSM 7-bit.
pub fn septets(s: &str) -> Option<usize> {
    s.chars().map(septets_of).sum()
}

/// True when `s` is GSM 7-bit and fits one SMS.
pub fn fits_one_sms(s: &str) -> bool {
    septets(s).is_some_and(|n| n <= ONE_SMS)
}

/// Rewrites `s` into the GSM 7-bit alphabet: French letters outside it lose their accent
/// (ê → e, ç → c, œ → oe), typographic quotes and dashes become plain ones, anything else
/// unknown becomes `?`. Used on the variable parts of SMS texts (portal names, reasons).
pub fn to_gsm7(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if septets_of(c).is_some() && c != '\r' && c != '\u{c}' {
            out.push(c);
            continue;
        }
        let replacement = match c {
            'â' | 'á' | 'ã' | 'å' => "a",
            'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' => "i",
            'ô' | 'ó' | 'õ' => "o",
            'û' | 'ú' => "u",
            'ç' => "c",
            'ÿ' | 'ý' => "y",
            'À' | 'Â' | 'Á' | 'Ã' => "A",
            'È' | 'Ê' | 'Ë' => "E",
            'Î' | 'Ï' | 'Í' | 'Ì' => "I",
            'Ô' | 'Ó' | 'Ò' | 'Õ' => "O",
            'Ù' | 'Û' | 'Ú' => "U",
            'Ÿ' | 'Ý' => "Y",
            'œ' => "oe",
            'Œ' => "OE",
            '’' | '‘' | '´' | '`' => "'",
            '«' | '»' | '“' | '”' | '„' => "\"",
            '–' | '—' | '‐' | '‑' | '−' => "-",
            '…' => "...",
            '\u{a0}' | '\u{202f}' | '\u{2009}' | '\t' => " ",
            '\r' | '\u{c}' => "",
            _ => "?",
        };
        out.push_str(replacement);
    }
    out
}

/// Cuts `s` (already GSM 7-bit) to at most `max` septets, ending with `...` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if septets(s).is_some_and(|n| n <= max) {
        return s.to_string();
    }
    let budget = max.saturating_sub(3);
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let n = septets_of(c).unwrap_or(1);
        if used + n > budget {
            break;
        }
        used += n;
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if max >= 3 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn french_letters_of_the_gsm_alphabet() {
        for c in ['é', 'è', 'ù', 'à', 'É', 'Ç', '€'] {
            assert!(septets_of(c).is_some(), "{c}");
        }
        for c in ['ê', 'ç', 'ô', 'â', 'î', '’', '«', '…'] {
            assert!(septets_of(c).is_none(), "{c}");
        }
        assert_eq!(septets("a€"), Some(3));
    }

    #[test]
    fn transliteration_stays_in_the_alphabet() {
        let s = to_gsm7("Conseil de l’Ordre — Île-de-France « Hôpital » Œuvre\u{a0}ça 日本");
        assert!(septets(&s).is_some(), "{s}");
        assert_eq!(
            s,
            "Conseil de l'Ordre - Ile-de-France \" Hopital \" OEuvre ca ??"
        );
    }

    #[test]
    fn truncation_counts_septets() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefgh", 6), "abc...");
        assert_eq!(truncate("ab €€€€", 7), "ab...");
        assert!(septets(&truncate(&"€".repeat(50), 11)).unwrap() <= 11);
    }
}
