//! The cookies of the login pages and the CSRF tokens derived from them.
//!
//! - `caducee_navigateur`: a random secret naming this browser; login flows are bound to
//!   its hash, and the CSRF token of a form is derived from it (so the server stores no
//!   token, and a page of another site can neither read nor forge it).
//! - `caducee_session`: `{session id}.{secret}`, the SSO session.
//! - `caducee_identifiant`: the identifier remembered on this computer ("Mémoriser mon
//!   identifiant sur ce poste"), never a secret.
//!
//! All are HttpOnly, SameSite=Lax (the relying party sends the browser here with a
//! top-level GET, which must carry them; a cross-site POST must not), Secure when the
//! public URL is https, and scoped to the realm path.

use crate::{Idp, REALM_PATH};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

const BROWSER: &str = "caducee_navigateur";
const SESSION: &str = "caducee_session";
const REMEMBER: &str = "caducee_identifiant";

fn build(idp: &Idp, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(REALM_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(idp.public_url().starts_with("https://"))
        .build()
}

/// The browser secret, created (and set in the returned jar) when absent.
pub(super) fn browser_secret(idp: &Idp, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(BROWSER) {
        Some(c) if c.value().len() >= 20 => {
            let value = c.value().to_string();
            (jar, value)
        }
        _ => {
            let secret = crate::random_secret();
            let jar = jar.add(build(idp, BROWSER, secret.clone()));
            (jar, secret)
        }
    }
}

/// The browser secret if the browser has one (pages reached from a link need it).
pub(super) fn existing_browser_secret(jar: &CookieJar) -> Option<String> {
    jar.get(BROWSER).map(|c| c.value().to_string())
}

/// The CSRF token of a form: bound to the browser secret and to what the form acts on.
pub(super) fn csrf_token(browser_secret: &str, purpose: &str) -> String {
    crate::secret_hash(&format!("csrf\n{browser_secret}\n{purpose}"))
}

/// Whether `given` is the CSRF token of this browser for `purpose`.
pub(super) fn csrf_ok(jar: &CookieJar, purpose: &str, given: &str) -> bool {
    match existing_browser_secret(jar) {
        Some(secret) => crate::same_hash(&csrf_token(&secret, purpose), given),
        None => false,
    }
}

/// The SSO session cookie's (id, secret).
pub(super) fn session(jar: &CookieJar) -> Option<(String, String)> {
    let value = jar.get(SESSION)?.value().to_string();
    let (id, secret) = value.split_once('.')?;
    Some((id.to_string(), secret.to_string()))
}

pub(super) fn set_session(idp: &Idp, jar: CookieJar, id: &str, secret: &str) -> CookieJar {
    jar.add(build(idp, SESSION, format!("{id}.{secret}")))
}

pub(super) fn clear_session(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(SESSION).path(REALM_PATH))
}

/// The remembered (identifier type, identifier).
pub(super) fn remembered(jar: &CookieJar) -> Option<(String, String)> {
    let value = jar.get(REMEMBER)?.value().to_string();
    let (kind, id) = value.split_once(':')?;
    Some((kind.to_string(), id.to_string()))
}

pub(super) fn remember(idp: &Idp, jar: CookieJar, kind: &str, identifier: &str) -> CookieJar {
    let mut cookie = build(idp, REMEMBER, format!("{kind}:{identifier}"));
    cookie.set_max_age(time::Duration::days(365));
    jar.add(cookie)
}

pub(super) fn forget(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(REMEMBER).path(REALM_PATH))
}
