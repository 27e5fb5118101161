//! The self-service screens of a portal's local accounts (seed
//! `ordre-medecins-mon-espace.txt`; ACC-01..07), each module one journey:
//!
//! - `login.rs`: the home page (login form, or the services once logged in), login, logout;
//! - `identity.rs` + `secure.rs`: the steps creation and recovery share — birth date + RPPS
//!   checked against the registry, then a code sent to a coordinate the registry knows;
//! - `creation.rs` (ACC-01..04), `recovery.rs` (forgotten login e-mail, ACC-05),
//!   `reset.rs` (password reset by a single-use link, ACC-06), `settings.rs` (ACC-07);
//! - `strength.rs`: the live password meter's answer.
//!
//! Every journey is a flow row (`flows.rs`) bound to the browser's cookie, whose id travels
//! in the URL (`?flow=`) and the forms: a page renders a flow, a form advances it, on any
//! node, after a restart. Every form carries a CSRF token derived from the browser cookie.

pub(crate) mod code_sender;
mod coordinates;
mod forgot_code;
mod identity;
mod journey;
mod login;
mod onboarding;
mod onboarding_registry;
pub(crate) mod pages;
mod registration;
mod reset;
pub(crate) mod session;
mod settings;
pub(crate) mod strength;
mod structure;

use crate::state::{html, redirect, Cookie, PortalState};
use crate::{PortalConfig, PortalError};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use caducee_notify::templates::Template as Message;
use caducee_notify::{self as outbox, OutgoingMessage};
use caducee_pages::{PageCtx, Tr};
use std::collections::HashMap;

/// The routes of a portal with local accounts.
pub(crate) fn routes(portal: &PortalConfig) -> Router<PortalState> {
    let base = portal.base();
    Router::new()
        .route(&base, get(login::home))
        .route(
            &format!("{base}/connexion"),
            axum::routing::post(login::login),
        )
        .route(
            &format!("{base}/deconnexion"),
            axum::routing::post(login::logout),
        )
        .route(&format!("{base}/identifiants-oublies"), get(login::forgot))
        .route(
            &format!("{base}/creer"),
            get(journey::creation_page).post(journey::creation_submit),
        )
        .route(
            &format!("{base}/creer/termine"),
            get(journey::creation_done),
        )
        .route(
            &format!("{base}/recuperer"),
            get(journey::recovery_page).post(journey::recovery_submit),
        )
        .route(
            &format!("{base}/mot-de-passe-oublie"),
            // A registration's account gets a code to its e-mail (ACC-08), the others a
            // single-use link (ACC-06, ONB-02).
            if portal.accounts == crate::AccountPolicy::RegistrationForm {
                get(forgot_code::page).post(forgot_code::submit)
            } else {
                get(reset::page).post(reset::submit)
            },
        )
        .route(&format!("{base}/bienvenue"), get(registration::welcome))
        .route(
            &format!("{base}/inscription"),
            get(registration::page).post(registration::submit),
        )
        .route(
            &format!("{base}/lien/{{token}}"),
            get(reset::link_page).post(reset::use_link),
        )
        .route(
            &format!("{base}/parametres"),
            get(settings::page).post(settings::submit),
        )
        .route(
            &format!("{base}/parametres/code"),
            get(settings::code_page).post(settings::code_submit),
        )
        .route(
            &format!("{base}/force-mot-de-passe"),
            axum::routing::post(strength::answer),
        )
        .route(
            &format!("{base}/accueil"),
            get(onboarding::page).post(onboarding::submit),
        )
        .route(&format!("{base}/conditions"), get(pages::terms))
        .route(&format!("{base}/confidentialite"), get(pages::privacy))
}

/// The routes every portal has: its accent stylesheet.
pub(crate) fn common_routes(portal: &PortalConfig) -> Router<PortalState> {
    Router::new().route(&format!("{}/theme.css", portal.base()), get(theme))
}

/// `:root{--accent:…}`: the portal's colour, as a file (the CSP forbids inline styles).
async fn theme(State(st): State<PortalState>) -> Response {
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
        // Validated as `#rrggbb` at start: nothing else can reach the stylesheet.
        format!(":root{{--accent:{}}}\n", st.portal.accent),
    )
        .into_response()
}

/// Forgets expired local sessions and abandoned registrations (flows, codes and links have
/// their own).
pub(crate) async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    Ok(session::housekeeping(pool, now).await? + registration::housekeeping(pool, now).await?)
}

/// One visit of a page: its language, and the browser's cookie secret (minted on the first
/// visit), which binds the flows and derives the forms' CSRF token.
pub(crate) struct Visit {
    pub ctx: PageCtx,
    pub browser: String,
    /// Minted now: the response sets the cookie.
    fresh: bool,
}

impl Visit {
    /// `path`: where the language switch returns (the page's GET address).
    pub fn new(st: &PortalState, headers: &HeaderMap, path: impl Into<String>) -> Visit {
        let ctx = PageCtx::from_headers(headers, path.into());
        match st.cookie(headers, &Cookie::Browser) {
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

    pub fn tr(&self) -> &Tr {
        &self.ctx.tr
    }

    /// The CSRF token of this browser's forms on this portal.
    pub fn csrf(&self, st: &PortalState) -> String {
        crate::sessions::hash(&format!(
            "caducee/portals/csrf/v1\n{}\n{}",
            self.browser, st.portal.slug
        ))
    }

    /// Whether a form came from a page of ours in this browser (a fresh cookie means the
    /// browser sent none: no form of ours was filled in it).
    pub fn csrf_ok(&self, st: &PortalState, form: &Form) -> bool {
        !self.fresh && crate::sessions::same_hash(&self.csrf(st), form.get("csrf"))
    }

    fn cookies(&self, st: &PortalState) -> Vec<HeaderValue> {
        if self.fresh {
            // A browser-session cookie: flows last minutes, the browser keeps it until closed.
            vec![st.set_cookie(&Cookie::Browser, &self.browser, None)]
        } else {
            Vec::new()
        }
    }

    /// A page, with the browser cookie when new.
    pub fn page(&self, st: &PortalState, status: StatusCode, body: String) -> Response {
        let extra = self
            .cookies(st)
            .into_iter()
            .map(|c| (header::SET_COOKIE, c))
            .collect();
        html(status, body, extra)
    }

    /// This browser's live flow `id` of `kind` on this portal, if there is one.
    pub async fn flow<T: serde::de::DeserializeOwned>(
        &self,
        st: &PortalState,
        kind: &str,
        id: &str,
    ) -> Result<Option<crate::flows::Flow<T>>, PortalError> {
        let mut conn = st.portals.store().pool().acquire().await?;
        crate::flows::load(
            &mut conn,
            &st.portal.slug,
            kind,
            id,
            &self.browser,
            st.portals.now(),
        )
        .await
    }

    /// A form page of this portal titled `heading`, posting to `action`, with this
    /// browser's CSRF token.
    pub fn form_page(&self, st: &PortalState, heading: String, action: String) -> pages::FormPage {
        pages::FormPage::new(
            pages::layout(&self.ctx, &st.portal, &heading),
            heading,
            action,
        )
        .hidden("csrf", self.csrf(st))
    }

    /// A form page rendered with its error summary: 422 when `failed`, else 200.
    pub fn form(&self, st: &PortalState, page: pages::FormPage, failed: bool) -> Response {
        let status = if failed {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        self.page(st, status, pages::render(&page.summarize()))
    }

    /// A 303 to `location`, with the browser cookie when new and `more` cookies.
    pub fn redirect(&self, st: &PortalState, location: &str, more: Vec<HeaderValue>) -> Response {
        let mut cookies = self.cookies(st);
        cookies.extend(more);
        redirect(location, cookies)
    }
}

/// A submitted form. A repeated field keeps its first value.
#[derive(Debug, Default)]
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        let mut out = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Form(out)
    }

    /// The field's value, empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// The field's value without surrounding blanks.
    pub fn trimmed(&self, name: &str) -> &str {
        self.get(name).trim()
    }

    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

/// The `?flow=` of a query string, when well-formed.
pub(crate) fn flow_param(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "flow")
        .map(|(_, v)| v.into_owned())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A store or internal failure: logged with the request id, a French (or English) page
/// that says to try again.
pub(crate) fn failure(st: &PortalState, headers: &HeaderMap, e: &PortalError) -> Response {
    st.fail(headers, e, crate::state::request_id(headers).as_deref())
}

/// The catalogue key of what is wrong with a login e-mail, if anything.
pub(crate) fn check_email(email: &str) -> Result<(), &'static str> {
    use caducee_core::contact::{ContactError, Email};
    match Email::parse(email) {
        Ok(_) => Ok(()),
        Err(ContactError::EmailEmpty) => Err("account-error-email-empty"),
        Err(_) => Err("account-error-email-format"),
    }
}

/// Tells the previous login e-mail that it was replaced (ACC-05, ACC-07), in the
/// transaction of the change.
pub(crate) async fn notify_email_changed(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    old: &str,
    new: &str,
    now: i64,
    locale: caducee_pages::Locale,
) -> Result<(), PortalError> {
    let Ok(to) = caducee_core::contact::Email::parse(old) else {
        return Ok(());
    };
    let msg = OutgoingMessage::email(
        to,
        Message::AccountEmailChanged {
            portal: st.portal.name.clone(),
            new_email_masked: caducee_core::mask::mask_email(new),
            changed_at: match locale {
                caducee_pages::Locale::Fr => caducee_core::date_fr::date_time(now),
                // Paris time still; "at" for the French "à".
                caducee_pages::Locale::En => {
                    caducee_core::date_fr::date_time(now).replace(" à ", " at ")
                }
            },
        },
    )
    .public_url(st.portals.public_url())
    .locale(locale);
    outbox::enqueue(tx, st.portals.clock().as_ref(), &msg)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(())
}
