//! The opaque `_cursor` of a `next` link: where the previous page ended and the bound of
//! the first page (see `caducee_registry::search`: keyset paging bounded by the first
//! page, so that rows an import adds while a client pages never shift or join a page).
//!
//! Hex of a short text: not a secret (it only moves within public data), just not a
//! contract a client should build by hand; a changed format fails with a diagnostic.

use crate::error::DirectoryError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Persons or structures: after this key, up to the first page's largest key.
    Keyed { after: i64, max_key: i64 },
    /// Activities: after this key, started at or before the first page's time.
    Roles { after: String, as_of: i64 },
}

impl Cursor {
    pub fn encode(&self) -> String {
        let text = match self {
            Cursor::Keyed { after, max_key } => format!("k1:{after}:{max_key}"),
            Cursor::Roles { after, as_of } => format!("r1:{as_of}:{after}"),
        };
        hex::encode(text)
    }

    pub fn decode(token: &str) -> Result<Cursor, DirectoryError> {
        let bad = || {
            DirectoryError::Invalid(
                "Lien de page (« _cursor ») invalide ou d'une version précédente : relancez la recherche sans « _cursor ».".into(),
            )
        };
        let bytes = hex::decode(token).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("k1"), Some(a), Some(m)) => Ok(Cursor::Keyed {
                after: a.parse().map_err(|_| bad())?,
                max_key: m.parse().map_err(|_| bad())?,
            }),
            (Some("r1"), Some(t), Some(a)) => Ok(Cursor::Roles {
                after: a.to_string(),
                as_of: t.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reg_10_cursor_round_trips_and_refuses_garbage() {
        for c in [
            Cursor::Keyed {
                after: 12,
                max_key: 99,
            },
            Cursor::Roles {
                after: "810001:ab:cd".into(),
                as_of: 1_700_000_000,
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }
        assert!(Cursor::decode("zz").is_err());
        assert!(Cursor::decode(&hex::encode("k1:x:1")).is_err());
    }
}
