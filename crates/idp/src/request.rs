//! What a request to the provider carries, shared by the modules that handle it: the parsed
//! form body ([`Form`]) and how the request authenticated its client ([`AuthBy`]).
//!
//! This module sits below `clients.rs`, `tokens.rs`, `ciba.rs`, `http.rs` and the browser
//! side, so that they depend on it and never on each other for these types. It must stay
//! free of I/O and must never log a value it parses (form bodies carry secrets, codes and
//! tokens).

use crate::IdpError;

/// A parsed `application/x-www-form-urlencoded` body (or query string). A parameter sent
/// twice is refused (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Form, IdpError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if pairs.iter().any(|(x, _)| *x == k) {
                return Err(IdpError::InvalidRequest(format!(
                    "paramètre « {k} » répété"
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form { pairs })
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// How a back-channel request authenticated its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthBy {
    Secret,
    Assertion,
    None,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_absent() {
        assert!(Form::parse(b"a=1&a=2").is_err());
        let f = Form::parse(b"a=&b=x+y").unwrap();
        assert_eq!(f.get("a"), None);
        assert_eq!(f.get("b"), Some("x y"));
    }
}
