//! Départements: the codes an agent is given (01–95 without 20, 2A, 2B, 971–976) and the
//! département of a postcode (issue 13: 2 characters, `2A`/`2B` for Corsica, 3 when the
//! postcode starts with 97 or 98).

/// Whether `code` names a département an agent may be given.
pub fn is_valid(code: &str) -> bool {
    match code {
        "2A" | "2B" => true,
        _ if code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) => {
            matches!(code.parse::<u8>(), Ok(n) if (1..=95).contains(&n) && n != 20)
        }
        _ if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            matches!(code.parse::<u16>(), Ok(n) if (971..=976).contains(&n))
        }
        _ => false,
    }
}

/// The départements of a comma-separated list (`39,25, 2a`), upper-cased, each once, in
/// the order given; or the French message naming the first code refused.
pub fn parse_list(list: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',') {
        let code = part.trim().to_uppercase();
        if code.is_empty() {
            continue;
        }
        // "1" for "01": a leading zero forgotten.
        let code = if code.len() == 1 && code.bytes().all(|b| b.is_ascii_digit()) {
            format!("0{code}")
        } else {
            code
        };
        if !is_valid(&code) {
            return Err(format!(
                "« {} » n'est pas un code de département : 01 à 95, 2A, 2B ou 971 à 976",
                part.trim()
            ));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(
            "donnez au moins un département (--departments 39,25 : 01 à 95, 2A, 2B ou 971 à 976)"
                .to_string(),
        );
    }
    Ok(out)
}

/// The département of a French postcode, when it is one.
pub fn of_postcode(postcode: &str) -> Option<String> {
    let pc = postcode.trim();
    if pc.len() != 5 || !pc.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code = if pc.starts_with("97") || pc.starts_with("98") {
        pc[..3].to_string()
    } else if let Some(rest) = pc.strip_prefix("20") {
        // Corse-du-Sud 200xx–201xx, Haute-Corse 202xx–206xx.
        if rest.starts_with('0') || rest.starts_with('1') {
            "2A".to_string()
        } else {
            "2B".to_string()
        }
    } else {
        pc[..2].to_string()
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn reg_11_department_codes_and_postcodes() {
        for ok in ["01", "39", "25", "95", "2A", "2B", "971", "976"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["00", "20", "96", "99", "970", "977", "2C", "A1", "", "123"] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert_eq!(
            parse_list("39, 25,2a,39,1").unwrap(),
            vec!["39", "25", "2A", "01"]
        );
        assert!(parse_list("39,20").unwrap_err().contains("« 20 »"));
        assert!(parse_list(" , ").is_err());
        assert_eq!(of_postcode("39100").as_deref(), Some("39"));
        assert_eq!(of_postcode("20000").as_deref(), Some("2A"));
        assert_eq!(of_postcode("20200").as_deref(), Some("2B"));
        assert_eq!(of_postcode("97400").as_deref(), Some("974"));
        assert_eq!(of_postcode("7500"), None);
    }
}
