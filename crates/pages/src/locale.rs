//! The language of a page: the `lang` cookie the language switch sets, else the browser's
//! `Accept-Language`, else French (the source language and the default).

use crate::catalogue::Tr;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::convert::Infallible;

/// The languages of the catalogues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Fr, Locale::En];

    /// The BCP 47 tag, as in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("fr") {
            Some(Locale::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The cookie first (`__Host-lang` over https, `lang` over http), then
    /// `Accept-Language` by its weights, then French.
    pub fn negotiate(headers: &HeaderMap) -> Locale {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(k, _)| *k == crate::LANG_COOKIE_SECURE || *k == crate::LANG_COOKIE)
            .find_map(|(_, v)| Locale::parse(v));
        if let Some(l) = cookie {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Locale::from_accept_language)
            .unwrap_or_default()
    }

    /// The best of our languages in an `Accept-Language` value (`en-GB,en;q=0.9,fr;q=0.8`).
    fn from_accept_language(value: &str) -> Option<Locale> {
        let mut best: Option<(u16, Locale)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), quality);
            let (Some(q), Some(locale)) = (q, Locale::parse(tag)) else {
                continue;
            };
            // The first of equal weights wins, as the header's order says.
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// A quality value (`0.8`) in thousandths; `None` when malformed.
fn quality(s: &str) -> Option<u16> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    let q = int * 1000 + frac;
    (q <= 1000).then_some(q)
}

/// What a page handler needs of the request: its language (a translator) and its path
/// with query, which the language switch returns to. An extractor that never fails.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub tr: Tr,
    /// Path and query of the request (`/espaces/demo?state=x`).
    pub path: String,
}

impl PageCtx {
    pub fn new(locale: Locale, path: impl Into<String>) -> PageCtx {
        PageCtx {
            tr: Tr::new(locale),
            path: path.into(),
        }
    }

    pub fn from_headers(headers: &HeaderMap, path: impl Into<String>) -> PageCtx {
        PageCtx::new(Locale::negotiate(headers), path)
    }

    pub fn locale(&self) -> Locale {
        self.tr.locale()
    }

    /// Shorthand for `self.tr.t(key)`.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// Shorthand for `self.tr.t_delay(key, secs)`: the message with its `$delay` in words.
    pub fn t_delay(&self, key: &str, secs: i64) -> String {
        self.tr.t_delay(key, secs)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        Ok(PageCtx::from_headers(&parts.headers, path))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn french_by_default_then_accept_language_then_the_cookie() {
        assert_eq!(Locale::negotiate(&HeaderMap::new()), Locale::Fr);
        assert_eq!(
            Locale::negotiate(&with(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,fr;q=0.8")),
            Locale::En
        );
        assert_eq!(
            Locale::negotiate(&with(header::ACCEPT_LANGUAGE, "de-DE,fr;q=0.5,en;q=0.9")),
            Locale::En
        );
        assert_eq!(
            Locale::negotiate(&with(header::ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9,en;q=0.8")),
            Locale::Fr
        );
        assert_eq!(
            Locale::negotiate(&with(header::ACCEPT_LANGUAGE, "de, es;q=0.5")),
            Locale::Fr
        );
        assert_eq!(
            Locale::negotiate(&with(header::ACCEPT_LANGUAGE, "en;q=0, fr;q=bad")),
            Locale::Fr
        );
        let mut h = with(header::ACCEPT_LANGUAGE, "en");
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; lang=fr"));
        assert_eq!(Locale::negotiate(&h), Locale::Fr);
        let h = with(header::COOKIE, "__Host-lang=en");
        assert_eq!(Locale::negotiate(&h), Locale::En);
        let h = with(header::COOKIE, "lang=xx");
        assert_eq!(Locale::negotiate(&h), Locale::Fr);
    }
}
