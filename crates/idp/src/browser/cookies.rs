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
//! top-level GET, which must carry them; a cross-site POST must not). When the public URL
//! is https they are Secure and named with the `__Host-` prefix (path `/`, no domain), so
//! that a sibling subdomain cannot plant them; over plain http (development) they are
//! scoped to the realm path.

use super::binding;
use crate::{Idp, IdpError, REALM_PATH};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

const BROWSER: &str = "caducee_navigateur";
const SESSION: &str = "caducee_session";
const REMEMBER: &str = "caducee_identifiant";

/// The name and path of a cookie on this deployment.
fn named(idp: &Idp, name: &'static str) -> (String, &'static str) {
    if idp.is_https() {
        (format!("__Host-{name}"), "/")
    } else {
        (name.to_string(), REALM_PATH)
    }
}

fn build(idp: &Idp, name: &'static str, value: String) -> Cookie<'static> {
    let (name, path) = named(idp, name);
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(idp.is_https())
        .build()
}

fn value(idp: &Idp, jar: &CookieJar, name: &'static str) -> Option<String> {
    jar.get(&named(idp, name).0).map(|c| c.value().to_string())
}

fn removal(idp: &Idp, name: &'static str) -> Cookie<'static> {
    let (name, path) = named(idp, name);
    Cookie::build(name).path(path).build()
}

fn binding_cookie(idp: &Idp, value: String) -> Cookie<'static> {
    let mut cookie = build(idp, BROWSER, value);
    cookie.set_max_age(time::Duration::seconds(binding::BINDING_TTL_SECS));
    cookie
}

/// The browser secret: the cookie's value when this server minted it, else a new one
/// (set in the returned jar). A value the server did not mint is never bound to a flow.
pub(super) async fn browser_secret(
    idp: &Idp,
    jar: CookieJar,
) -> Result<(CookieJar, String), IdpError> {
    if let Some(v) = value(idp, &jar, BROWSER) {
        if binding::is_minted(idp, &v).await? {
            return Ok((jar, v));
        }
    }
    let secret = binding::mint(idp, None, None).await?;
    Ok((jar.add(binding_cookie(idp, secret.clone())), secret))
}

/// After a completed login of `idnat`: a new browser secret replaces the old one, and the
/// browser is known for `idnat`.
pub(super) async fn renew_browser_secret(
    idp: &Idp,
    jar: CookieJar,
    idnat: &str,
) -> Result<CookieJar, IdpError> {
    let old = value(idp, &jar, BROWSER);
    let secret = binding::mint(idp, old.as_deref(), Some(idnat)).await?;
    Ok(jar.add(binding_cookie(idp, secret)))
}

/// The browser secret if the browser has one (pages reached from a link need it).
pub(super) fn existing_browser_secret(idp: &Idp, jar: &CookieJar) -> Option<String> {
    value(idp, jar, BROWSER)
}

/// The CSRF token of a form: bound to the browser secret and to what the form acts on.
pub(super) fn csrf_token(browser_secret: &str, purpose: &str) -> String {
    crate::secret_hash(&format!("csrf\n{browser_secret}\n{purpose}"))
}

/// Whether `given` is the CSRF token of this browser for `purpose`.
pub(super) fn csrf_ok(idp: &Idp, jar: &CookieJar, purpose: &str, given: &str) -> bool {
    match existing_browser_secret(idp, jar) {
        Some(secret) => crate::same_hash(&csrf_token(&secret, purpose), given),
        None => false,
    }
}

/// The SSO session cookie's (id, secret).
pub(super) fn session(idp: &Idp, jar: &CookieJar) -> Option<(String, String)> {
    let value = value(idp, jar, SESSION)?;
    let (id, secret) = value.split_once('.')?;
    Some((id.to_string(), secret.to_string()))
}

pub(super) fn set_session(idp: &Idp, jar: CookieJar, id: &str, secret: &str) -> CookieJar {
    jar.add(build(idp, SESSION, format!("{id}.{secret}")))
}

pub(super) fn clear_session(idp: &Idp, jar: CookieJar) -> CookieJar {
    jar.remove(removal(idp, SESSION))
}

/// The remembered (identifier type, identifier).
pub(super) fn remembered(idp: &Idp, jar: &CookieJar) -> Option<(String, String)> {
    let value = value(idp, jar, REMEMBER)?;
    let (kind, id) = value.split_once(':')?;
    Some((kind.to_string(), id.to_string()))
}

pub(super) fn remember(idp: &Idp, jar: CookieJar, kind: &str, identifier: &str) -> CookieJar {
    let mut cookie = build(idp, REMEMBER, format!("{kind}:{identifier}"));
    cookie.set_max_age(time::Duration::days(365));
    jar.add(cookie)
}

pub(super) fn forget(idp: &Idp, jar: CookieJar) -> CookieJar {
    jar.remove(removal(idp, REMEMBER))
}
