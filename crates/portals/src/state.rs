//! What every route of a portal holds: the portals of the node and the portal's
//! configuration; its cookies (scoped to the portal, `__Host-` over https), and the
//! responses every page uses (no-store HTML, 303 redirects, French failure pages).

use crate::{pages, PortalConfig, PortalError, Portals};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use caducee_pages::PageCtx;
use std::sync::Arc;

/// The state of one portal's routes.
#[derive(Clone)]
pub(crate) struct PortalState {
    pub portals: Portals,
    pub portal: Arc<PortalConfig>,
}

// ---------------------------------------------------------------------------------------
// Cookies and responses.
// ---------------------------------------------------------------------------------------

/// The cookies of a portal, scoped to it.
pub(crate) enum Cookie {
    /// Binds the self-service flows and the forms' CSRF tokens to this browser (local
    /// accounts).
    Browser,
    /// The session of a local account.
    Local,
    /// Binds the login attempts in flight to this browser (10 minutes).
    Login,
    /// The portal session (browser session; the server decides when it ends).
    Session,
    /// The `state` of an RP-initiated logout, to greet the visitor who comes back.
    Logout,
}

impl PortalState {
    pub(crate) fn base(&self) -> String {
        self.portal.base()
    }

    pub(crate) fn cookie_name(&self, c: &Cookie) -> String {
        let kind = match c {
            Cookie::Browser => "browser",
            Cookie::Local => "local",
            Cookie::Login => "login",
            Cookie::Session => "session",
            Cookie::Logout => "logout",
        };
        // Over https, `__Host-` (Secure, path `/`, no domain): a sibling subdomain cannot
        // plant it. The portal's slug in the name keeps portals apart on the one path.
        if self.portals.secure_cookies() {
            format!("__Host-caducee_{}_{kind}", self.portal.slug)
        } else {
            format!("caducee_{}_{kind}", self.portal.slug)
        }
    }

    /// The path of our cookies: the portal's own over http, `/` as `__Host-` requires.
    pub(crate) fn cookie_path(&self) -> String {
        if self.portals.secure_cookies() {
            "/".to_string()
        } else {
            self.base()
        }
    }

    /// The value of one of our cookies in the request, when well-formed.
    pub(crate) fn cookie(&self, headers: &HeaderMap, c: &Cookie) -> Option<String> {
        let name = self.cookie_name(c);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            // Our values are base64url; anything else was not set by us.
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax (sent on the provider's top-level
    /// redirect back to us, not on cross-site POSTs), Secure over HTTPS. `max_age`
    /// `Some(0)` deletes the cookie; `None` makes a browser-session cookie.
    pub(crate) fn set_cookie(&self, c: &Cookie, value: &str, max_age: Option<i64>) -> HeaderValue {
        let mut s = format!(
            "{}={value}; Path={}; HttpOnly; SameSite=Lax",
            self.cookie_name(c),
            self.cookie_path()
        );
        if self.portals.secure_cookies() {
            s.push_str("; Secure");
        }
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        // Only base64url, digits and fixed ASCII: always a valid header value.
        HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub(crate) fn clear_cookie(&self, c: &Cookie) -> HeaderValue {
        self.set_cookie(c, "", Some(0))
    }

    /// A failure: logged with the request id (louder when it may be an attack or a fault),
    /// shown as a French page with "Réessayer".
    /// The page's language is read from `headers`; its language switch leads to the
    /// portal's home (a failed callback cannot be replayed).
    pub(crate) fn fail(
        &self,
        headers: &HeaderMap,
        e: &PortalError,
        request_id: Option<&str>,
    ) -> Response {
        let ctx = &PageCtx::from_headers(headers, self.base());
        let rid = request_id.unwrap_or("-");
        match e {
            PortalError::Store(_) | PortalError::Internal(_) => {
                tracing::error!(request_id = rid, portal = %self.portal.slug, error = %e, "portail : échec")
            }
            _ if e.is_ordinary() => {
                tracing::info!(request_id = rid, portal = %self.portal.slug, error = %e, "portail : connexion interrompue")
            }
            _ => {
                tracing::warn!(request_id = rid, portal = %self.portal.slug, error = %e, "portail : connexion refusée")
            }
        }
        let (status, title, message) = e.explain(&ctx.tr);
        html(
            status,
            pages::error(ctx, &self.portal, &title, &message, request_id),
            Vec::new(),
        )
    }
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An HTML page that must never be cached (it shows a person, or a login state).
pub(crate) fn html(
    status: StatusCode,
    body: String,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (k, v) in headers {
        r.headers_mut().append(k, v);
    }
    r
}

/// A 303 (after a POST the browser must GET the target) with cookies to set.
pub(crate) fn redirect(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    r
}
