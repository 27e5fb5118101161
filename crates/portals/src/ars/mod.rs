//! The back office of the regional health agencies at `/ars` (REG-11, issue 13): agents
//! created by `caducee ars agent add` ([`agents`]) enrol through a one-time link (a
//! password, then TOTP: [`totp`]), log in with e-mail + password + a TOTP code
//! ([`login`]), and work the queues of their départements ([`queue`]): anomaly reports
//! from the portals (REG-09), change requests (REG-06) and first registrations (REG-07);
//! a professional's record ([`record`]) shows the registry's data and history, and lets
//! the agent set the contact coordinates on the professional's behalf with the evidence
//! seen (CPS seed: "l'ARS peut intervenir pour me permettre l'accès au portail").
//!
//! An agent sees only their départements: an item of another one answers 404, as an
//! unknown one does (nothing tells it exists). Every form carries a CSRF token derived
//! from the browser's cookie; sessions, throttles and links live in the database.

pub mod agents;
pub mod demo;
pub mod departments;
mod enrol;
mod login;
mod pages;
mod queue;
mod record;
mod requests;
pub(crate) mod session;
pub mod totp;

use crate::local::Form;
use crate::state::{html, redirect};
use crate::{PortalError, Portals};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use caducee_pages::PageCtx;
use session::{ArsSession, Stage};

/// The back office's base path.
pub const BASE: &str = "/ars";

/// The state of the back office's routes.
#[derive(Clone)]
pub(crate) struct ArsState {
    pub portals: Portals,
}

/// The back office's cookies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cookie {
    /// Binds the forms' CSRF tokens to this browser.
    Browser,
    /// The agent's session.
    Session,
}

impl ArsState {
    pub fn now(&self) -> i64 {
        self.portals.now()
    }

    fn cookie_name(&self, c: Cookie) -> String {
        let kind = match c {
            Cookie::Browser => "browser",
            Cookie::Session => "session",
        };
        if self.portals.secure_cookies() {
            format!("__Host-caducee_ars_{kind}")
        } else {
            format!("caducee_ars_{kind}")
        }
    }

    fn cookie(&self, headers: &HeaderMap, c: Cookie) -> Option<String> {
        let name = self.cookie_name(c);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    }

    /// HttpOnly, SameSite=Strict (the back office is never entered from another site's
    /// form), Secure over https, path `/ars` (or `/` as `__Host-` requires).
    fn set_cookie(&self, c: Cookie, value: &str, max_age: Option<i64>) -> HeaderValue {
        let secure = self.portals.secure_cookies();
        let mut s = format!(
            "{}={value}; Path={}; HttpOnly; SameSite=Strict",
            self.cookie_name(c),
            if secure { "/" } else { BASE }
        );
        if secure {
            s.push_str("; Secure");
        }
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn session_cookie(&self, secret: &str) -> HeaderValue {
        self.set_cookie(Cookie::Session, secret, None)
    }

    pub fn clear_session_cookie(&self) -> HeaderValue {
        self.set_cookie(Cookie::Session, "", Some(0))
    }

    /// This browser's live session, if any.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<ArsSession>, PortalError> {
        let Some(secret) = self.cookie(headers, Cookie::Session) else {
            return Ok(None);
        };
        let mut conn = self.portals.store().pool().acquire().await?;
        session::find(&mut conn, &secret, self.now()).await
    }

    /// The session when it is at `stage`.
    pub async fn session_at(
        &self,
        headers: &HeaderMap,
        stage: Stage,
    ) -> Result<Option<ArsSession>, PortalError> {
        Ok(self.session(headers).await?.filter(|s| s.stage == stage))
    }

    /// A failure: logged with the request id, a French page that says to try again.
    pub fn fail(&self, headers: &HeaderMap, e: &PortalError) -> Response {
        let rid = crate::state::request_id(headers);
        tracing::error!(request_id = rid.as_deref().unwrap_or("-"), error = %e, "ARS : échec");
        let ctx = PageCtx::from_headers(headers, BASE);
        let (status, title, message) = e.explain(&ctx.tr);
        html(
            status,
            pages::message(&ctx, &title, &message, rid.as_deref()),
            Vec::new(),
        )
    }
}

/// One visit of a page: its language and the browser's cookie secret (minted on the first
/// visit), which derives the forms' CSRF token.
pub(crate) struct Visit {
    pub ctx: PageCtx,
    browser: String,
    fresh: bool,
}

impl Visit {
    pub fn new(st: &ArsState, headers: &HeaderMap, path: impl Into<String>) -> Visit {
        let ctx = PageCtx::from_headers(headers, path.into());
        match st.cookie(headers, Cookie::Browser) {
            Some(browser) => Visit {
                ctx,
                browser,
                fresh: false,
            },
            None => Visit {
                ctx,
                browser: crate::sessions::random_token(16),
                fresh: true,
            },
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.ctx.t(key)
    }

    pub fn csrf(&self) -> String {
        crate::sessions::hash(&format!("caducee/ars/csrf/v1\n{}", self.browser))
    }

    /// Whether a form came from a page of ours in this browser.
    pub fn csrf_ok(&self, form: &Form) -> bool {
        !self.fresh && crate::sessions::same_hash(&self.csrf(), form.get("csrf"))
    }

    /// Whether a multipart form's token is ours.
    pub fn csrf_matches(&self, token: &str) -> bool {
        !self.fresh && crate::sessions::same_hash(&self.csrf(), token)
    }

    fn cookies(&self, st: &ArsState) -> Vec<HeaderValue> {
        if self.fresh {
            vec![st.set_cookie(Cookie::Browser, &self.browser, None)]
        } else {
            Vec::new()
        }
    }

    pub fn page(&self, st: &ArsState, status: StatusCode, body: String) -> Response {
        let extra = self
            .cookies(st)
            .into_iter()
            .map(|c| (header::SET_COOKIE, c))
            .collect();
        html(status, body, extra)
    }

    pub fn redirect(&self, st: &ArsState, location: &str, more: Vec<HeaderValue>) -> Response {
        let mut cookies = self.cookies(st);
        cookies.extend(more);
        redirect(location, cookies)
    }

    /// The answer to a form that did not come from our page: 403 with a way back.
    pub fn forged(&self, st: &ArsState) -> Response {
        let body = pages::message(
            &self.ctx,
            &self.t("ars-csrf-title"),
            &self.t("ars-csrf-text"),
            None,
        );
        self.page(st, StatusCode::FORBIDDEN, body)
    }

    /// 404 for what does not exist or is not this agent's to see.
    pub fn not_found(&self, st: &ArsState) -> Response {
        let body = pages::message(
            &self.ctx,
            &self.t("ars-not-found-title"),
            &self.t("ars-not-found-text"),
            None,
        );
        self.page(st, StatusCode::NOT_FOUND, body)
    }
}

/// The routes of the back office, state applied.
pub(crate) fn routes(portals: Portals) -> Router {
    use axum::routing::post;
    Router::new()
        .route(BASE, get(queue::home))
        .route("/ars/theme.css", get(theme))
        .route("/ars/connexion", post(login::password))
        .route("/ars/code", get(login::code_page).post(login::code_submit))
        .route("/ars/deconnexion", post(login::logout))
        .route("/ars/recherche", post(queue::search))
        .route(
            "/ars/enrolement/{token}",
            get(enrol::link_page).post(enrol::use_link),
        )
        .route(
            "/ars/activation/mot-de-passe",
            get(enrol::password_page).post(enrol::password_submit),
        )
        .route(
            "/ars/activation/double-authentification",
            get(enrol::totp_page).post(enrol::totp_submit),
        )
        .route("/ars/activation/qr.svg", get(enrol::qr))
        .route(
            "/ars/signalements/{id}",
            get(queue::anomaly_page).post(queue::anomaly_submit),
        )
        .route(
            "/ars/demandes/{id}",
            get(requests::request_page).post(requests::request_submit),
        )
        .route(
            "/ars/enregistrements/{id}",
            get(requests::registration_page).post(requests::registration_submit),
        )
        .route(
            "/ars/enregistrements/{id}/documents/{doc}",
            get(requests::registration_document),
        )
        .route("/ars/professionnels/{id}", get(record::page))
        .route(
            "/ars/professionnels/{id}/coordonnees",
            get(record::coordinates_page)
                .post(record::coordinates_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    record::EVIDENCE_MAX_BYTES + 64 * 1024,
                )),
        )
        .route(
            "/ars/professionnels/{id}/pieces/{evidence}",
            get(record::evidence),
        )
        .with_state(ArsState { portals })
}

/// The back office's accent colour, as a file (the CSP forbids inline styles).
async fn theme() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        ":root{--accent:#5b2a86}\n",
    )
        .into_response()
}

/// Forgets ended sessions; the links are the one-time module's.
pub(crate) async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    session::housekeeping(pool, now).await
}

/// "il y a 3 jours": how long ago `then` was, in the page's words.
pub(crate) fn age(ctx: &PageCtx, then: i64, now: i64) -> String {
    use caducee_pages::Arg;
    let secs = (now - then).max(0);
    let (key, n) = if secs < 3600 {
        ("ars-age-minutes", secs / 60)
    } else if secs < 86_400 {
        ("ars-age-hours", secs / 3600)
    } else {
        ("ars-age-days", secs / 86_400)
    };
    ctx.tr.t_with(key, &[("n", Arg::Num(n))])
}

/// A date and time as a French reader expects it (Paris time).
pub(crate) fn when(ctx: &PageCtx, at: i64) -> String {
    let s = caducee_core::date_fr::date_time(at);
    match ctx.locale() {
        caducee_pages::Locale::Fr => s,
        caducee_pages::Locale::En => s.replace(" à ", " at "),
    }
}
