//! Facts about the deployment's public URL that several components act on.

/// Whether `url` is https, the scheme compared without regard to case as URLs define it
/// (`HTTPS://` is https too): cookies are then Secure and `__Host-` prefixed, and responses
/// carry `Strict-Transport-Security`.
pub fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sec_16_scheme_is_compared_without_case() {
        assert!(super::is_https("https://sante.example"));
        assert!(super::is_https("HTTPS://sante.example"));
        assert!(!super::is_https("http://sante.example"));
        assert!(!super::is_https("https:/"));
    }
}
