//! The kit's routes: the one stylesheet, served as a file under a name that carries a hash
//! of its content (cached for a year, `immutable`, with an ETag), and the language switch,
//! which sets the language cookie and goes back to the page it was clicked on.

use crate::locale::Locale;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The language cookie over http.
pub const LANG_COOKIE: &str = "lang";
/// The language cookie over https (`__Host-`: Secure, path `/`, no domain).
pub const LANG_COOKIE_SECURE: &str = "__Host-lang";

const STYLESHEET: &str = include_str!("../assets/caducee.css");
/// The live password meter (`PasswordInput::live`): the one script of the kit.
const PASSWORD_SCRIPT: &str = include_str!("../assets/password.js");

static PASSWORD_SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(PASSWORD_SCRIPT.as_bytes());
    hex::encode(&digest[..8])
});

static PASSWORD_SCRIPT_NAME: LazyLock<String> =
    LazyLock::new(|| format!("caducee-password-{}.js", *PASSWORD_SCRIPT_HASH));

/// The terms box whose "Accepter" waits for the text to be read to its end.
const TERMS_SCRIPT: &str = include_str!("../assets/terms.js");

static TERMS_SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(TERMS_SCRIPT.as_bytes());
    hex::encode(&digest[..8])
});

static TERMS_SCRIPT_NAME: LazyLock<String> =
    LazyLock::new(|| format!("caducee-terms-{}.js", *TERMS_SCRIPT_HASH));

/// Where a page with terms to read to the end loads its script.
pub fn terms_script_href() -> String {
    format!("/assets/{}", *TERMS_SCRIPT_NAME)
}

/// Where a page with a live password meter loads its script.
pub fn password_script_href() -> String {
    format!("/assets/{}", *PASSWORD_SCRIPT_NAME)
}

/// The first 16 hex digits of the stylesheet's SHA-256: its name changes with its content.
static STYLESHEET_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    hex::encode(&digest[..8])
});

static STYLESHEET_NAME: LazyLock<String> =
    LazyLock::new(|| format!("caducee-{}.css", *STYLESHEET_HASH));

/// Where the layout links the stylesheet.
pub fn stylesheet_href() -> String {
    format!("/assets/{}", *STYLESHEET_NAME)
}

/// The kit's routes, merged by `web`: `/assets/{file}` and `/langue/{fr|en}?retour=PATH`.
/// `https` names the language cookie `__Host-lang` (Secure).
pub fn routes<S: Clone + Send + Sync + 'static>(https: bool) -> Router<S> {
    Router::new().route("/assets/{file}", get(asset)).route(
        "/langue/{lang}",
        get(move |path, query| switch(https, path, query)),
    )
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    // The hashed name is cached for ever; the plain name, for tools and old pages, briefly.
    let (cache, hash, content_type, body) = if file == *STYLESHEET_NAME {
        (
            "public, max-age=31536000, immutable",
            &*STYLESHEET_HASH,
            "text/css; charset=utf-8",
            STYLESHEET,
        )
    } else if file == "caducee.css" {
        (
            "public, max-age=300",
            &*STYLESHEET_HASH,
            "text/css; charset=utf-8",
            STYLESHEET,
        )
    } else if file == *PASSWORD_SCRIPT_NAME {
        (
            "public, max-age=31536000, immutable",
            &*PASSWORD_SCRIPT_HASH,
            "text/javascript; charset=utf-8",
            PASSWORD_SCRIPT,
        )
    } else if file == *TERMS_SCRIPT_NAME {
        (
            "public, max-age=31536000, immutable",
            &*TERMS_SCRIPT_HASH,
            "text/javascript; charset=utf-8",
            TERMS_SCRIPT,
        )
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{hash}\"");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag_value =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    if matches {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag_value),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// A path of this site to go back to: absolute path, not `//host` nor `/\host` (which
/// browsers read as another site), no control characters.
pub(crate) fn local_path(p: &str) -> Option<&str> {
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && !p.chars().any(|c| c.is_control());
    ok.then_some(p)
}

async fn switch(
    https: bool,
    Path(lang): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(locale) = Locale::parse(&lang).filter(|l| l.tag() == lang) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let back = query
        .get("retour")
        .and_then(|p| local_path(p))
        .unwrap_or("/");
    let cookie = if https {
        format!(
            "{LANG_COOKIE_SECURE}={}; Path=/; Max-Age=31536000; SameSite=Lax; Secure",
            locale.tag()
        )
    } else {
        format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            locale.tag()
        )
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    if let (Ok(location), Ok(cookie)) =
        (HeaderValue::from_str(back), HeaderValue::from_str(&cookie))
    {
        h.insert(header::LOCATION, location);
        h.insert(header::SET_COOKIE, cookie);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[test]
    fn only_paths_of_this_site_are_returned_to() {
        assert_eq!(local_path("/espaces/demo?x=1"), Some("/espaces/demo?x=1"));
        assert_eq!(local_path("//evil.example/"), None);
        assert_eq!(local_path("/\\evil.example/"), None);
        assert_eq!(local_path("https://evil.example/"), None);
        assert_eq!(local_path("/a\r\nSet-Cookie: x"), None);
    }

    async fn get(router: Router, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        router
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_stylesheet_is_a_cacheable_file_with_an_etag() {
        let r = get(routes(false), &stylesheet_href(), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        let r = get(
            routes(false),
            &stylesheet_href(),
            &[("if-none-match", &etag)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        let r = get(routes(false), "/assets/other.css", &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_switch_sets_the_cookie_and_keeps_the_page() {
        let r = get(
            routes(false),
            "/langue/en?retour=%2Fespaces%2Fdemo%3Fa%3D1",
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/espaces/demo?a=1");
        let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("lang=en; Path=/;"), "{cookie}");
        let r = get(routes(true), "/langue/fr?retour=//evil.example", &[]).await;
        assert_eq!(r.headers()[header::LOCATION], "/");
        let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("__Host-lang=fr; Path=/;") && cookie.ends_with("Secure"));
        let r = get(routes(false), "/langue/de", &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
