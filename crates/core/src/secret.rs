//! Comparison of secrets (digests, tokens) in a time that depends on their lengths only, so
//! that the time of an answer does not tell how much of a guess was right.

/// Whether `a` and `b` are equal, compared in constant time for equal lengths.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn nfr_02_secrets_compare_exactly() {
        assert!(super::same_secret("abc", "abc"));
        assert!(!super::same_secret("abc", "abd"));
        assert!(!super::same_secret("abc", "ab"));
    }
}
