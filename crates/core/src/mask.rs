//! Masking of contact coordinates shown to someone who must recognise them without reading
//! them in full ("we sent a code to tu***01@cn.medecin.fr").
//!
//! A masked value must never reveal more than the rules below, whatever the input; these
//! functions never fail and never panic (they work on characters, not bytes, so accented or
//! odd input cannot split a UTF-8 sequence).

const STARS: &str = "***";

/// `"tudor.x01@cn.medecin.fr"` → `"tu***01@cn.medecin.fr"`: the first 2 and last 2 characters
/// of the local part, the domain in full (people recognise their provider). A local part of
/// 4 characters or fewer shows only its first character, so that at least half is hidden.
pub fn mask_email(email: &str) -> String {
    let email = email.trim();
    let (local, domain) = match email.rsplit_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (email, None),
    };
    let chars: Vec<char> = local.chars().collect();
    let mut out = String::with_capacity(email.len() + STARS.len());
    if chars.len() <= 4 {
        out.extend(chars.first());
        out.push_str(STARS);
    } else {
        out.extend(&chars[..2]);
        out.push_str(STARS);
        out.extend(&chars[chars.len() - 2..]);
    }
    if let Some(d) = domain {
        out.push('@');
        out.push_str(d);
    }
    out
}

/// `"+33781234522"` → `"+3378***22"`: the first 5 characters (country code and operator
/// prefix) and the last 2. Input shorter than 10 characters keeps at most a third of its
/// characters visible.
pub fn mask_phone(e164: &str) -> String {
    let chars: Vec<char> = e164.trim().chars().collect();
    let n = chars.len();
    let (head, tail) = if n >= 10 {
        (5, 2)
    } else {
        let visible = n / 3;
        (visible.div_ceil(2), visible / 2)
    };
    let mut out = String::with_capacity(head + tail + STARS.len());
    out.extend(&chars[..head]);
    out.push_str(STARS);
    out.extend(&chars[n - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reg_05_mask_email_examples() {
        assert_eq!(
            mask_email("tudor.x01@cn.medecin.fr"),
            "tu***01@cn.medecin.fr"
        );
        assert_eq!(mask_email("jean@example.test"), "j***@example.test");
        assert_eq!(mask_email("ab@x.fr"), "a***@x.fr");
        assert_eq!(mask_email("hélène.lefèvre@x.fr"), "hé***re@x.fr");
        assert_eq!(mask_email("@x.fr"), "***@x.fr");
        assert_eq!(mask_email("no-at-sign"), "no***gn");
        assert_eq!(mask_email(""), "***");
    }

    #[test]
    fn reg_05_mask_phone_examples() {
        assert_eq!(mask_phone("+33781234522"), "+3378***22");
        assert_eq!(mask_phone("+590690123456"), "+5906***56");
        assert_eq!(mask_phone("0612345678"), "06123***78");
        assert_eq!(mask_phone("123456"), "1***6");
        assert_eq!(mask_phone("12"), "***");
        assert_eq!(mask_phone(""), "***");
    }

    proptest! {
        #[test]
        fn reg_05_masks_never_panic_and_hide(s in "\\PC*") {
            let m = mask_phone(&s);
            let visible = m.chars().count() - 3;
            let n = s.trim().chars().count();
            prop_assert!(visible <= 7);
            if n < 10 {
                prop_assert!(visible * 3 <= n);
            }
            let _ = mask_email(&s);
        }
    }
}
