//! The browser side of the identity provider (PSC-02, PSC-03): the authorization endpoint,
//! the login page, the e-CPS waiting page, the browser session (SSO) and the end-session
//! endpoint. It authenticates a professional, then asks the protocol side for an
//! authorization code through the seam ([`crate::Idp::issue_code`]); it never signs a
//! token.
//!
//! Every piece of state is a row (login flows, sessions), so a login started on one node
//! continues on another and survives a restart. Cookies hold only random secrets whose
//! hashes are stored; a login flow is bound to the browser that started it, so a stolen
//! flow link cannot be finished from another browser.

mod authorize;
mod binding;
mod complete;
mod cookies;
mod flow;
mod login;
mod logout;
mod pages;
mod session;

pub(crate) use complete::{complete_login, message_page};

use crate::{Idp, REALM_PATH};
use axum::routing::{get, post};
use axum::Router;
use caducee_store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        component: "idp_browser",
        version: 1,
        name: "idp_login_flow_session",
        // A login flow: the validated authorization request while the professional logs in.
        // A session: one browser's SSO session; `id` is the public `sid`, the cookie holds a
        // secret whose hash is `secret_hash`.
        sql: "CREATE TABLE idp_login_flow (
            id TEXT PRIMARY KEY,
            browser_hash TEXT NOT NULL,
            client_id TEXT NOT NULL,
            redirect_uri TEXT NOT NULL,
            scope TEXT NOT NULL,
            state TEXT,
            nonce TEXT,
            code_challenge TEXT,
            login_hint TEXT,
            idnat TEXT,
            ecps_request_id TEXT,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX idp_login_flow_expiry ON idp_login_flow (expires_at);
          CREATE TABLE idp_session (
            id TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL,
            idnat TEXT NOT NULL,
            auth_time BIGINT NOT NULL,
            acr TEXT NOT NULL,
            amr TEXT NOT NULL,
            auth_mode TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            ended_at BIGINT
          );
          CREATE INDEX idp_session_idnat ON idp_session (idnat);
          CREATE INDEX idp_session_expiry ON idp_session (expires_at);",
    },
    Migration {
        component: "idp_browser",
        version: 2,
        name: "idp_browser_binding",
        // The browser bindings this server minted (hash of the `caducee_navigateur` value),
        // and the professional a browser completed a login of (binding.rs).
        sql: "CREATE TABLE idp_browser (
            hash TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            known_idnat TEXT,
            known_until BIGINT
          );
          CREATE INDEX idp_browser_expiry ON idp_browser (expires_at);",
    },
];

/// The browser routes, under the realm path.
pub fn routes() -> Router<Idp> {
    let p = |suffix: &str| format!("{REALM_PATH}{suffix}");
    Router::new()
        .route(
            &p("/protocol/openid-connect/auth"),
            get(authorize::get).post(authorize::post),
        )
        .route(
            &p("/protocol/openid-connect/logout"),
            get(logout::get).post(logout::post),
        )
        .route(&p("/login/ecps.js"), get(pages::script))
        .route(&p(pages::TABS_SCRIPT_PATH), get(pages::tabs_script))
        .route(&p("/login/{flow}"), get(login::page).post(login::submit))
        .route(&p("/login/{flow}/ecps"), get(login::waiting))
        .route(&p("/login/{flow}/status"), get(login::status))
        .route(&p("/login/{flow}/cancel"), post(login::cancel))
        .route(&p("/login/{flow}/continue"), get(login::resume))
}

/// Deletes the login flows and sessions that can no longer be used. Safe on any node at any
/// time; `serve` runs it periodically. Returns (flows, sessions) deleted.
pub async fn housekeeping(idp: &Idp) -> Result<(u64, u64), crate::IdpError> {
    let now = idp.now();
    let flows = sqlx::query("DELETE FROM idp_login_flow WHERE expires_at < $1")
        .bind(now)
        .execute(idp.store().pool())
        .await?
        .rows_affected();
    // Ended or expired sessions are kept a day for the audit of "who was logged in".
    let sessions = sqlx::query(
        "DELETE FROM idp_session WHERE expires_at < $1 OR (ended_at IS NOT NULL AND ended_at < $1)",
    )
    .bind(now - 86_400)
    .execute(idp.store().pool())
    .await?
    .rows_affected();
    binding::prune(idp).await?;
    crate::webauthn::housekeeping(idp).await?;
    Ok((flows, sessions))
}

/// The client id of the idp's own pages (the account page): a login flow for it ends on
/// its return page with the SSO session open, no code issued.
pub(crate) const SELF_CLIENT: &str = "caducee-compte";

/// This browser's live SSO session: (idnat, auth_time, auth_mode), for the account page.
pub(crate) async fn current_session(
    idp: &Idp,
    jar: &axum_extra::extract::CookieJar,
) -> Result<Option<(String, i64, String)>, crate::IdpError> {
    Ok(session::find(idp, cookies::session(idp, jar))
        .await?
        .map(|s| (s.idnat, s.auth_time, s.auth_mode)))
}

/// A CSRF token of this browser for `purpose` (empty without a browser binding).
pub(crate) fn csrf_for(idp: &Idp, jar: &axum_extra::extract::CookieJar, purpose: &str) -> String {
    cookies::existing_browser_secret(idp, jar)
        .map(|s| cookies::csrf_token(&s, purpose))
        .unwrap_or_default()
}

/// Whether `given` is this browser's CSRF token for `purpose`.
pub(crate) fn csrf_valid(
    idp: &Idp,
    jar: &axum_extra::extract::CookieJar,
    purpose: &str,
    given: &str,
) -> bool {
    cookies::csrf_ok(idp, jar, purpose, given)
}

/// The idNat of an identifier as typed on a login form (RPPS, ADELI or idNat, PSC-02), or
/// the catalogue key of what to fix.
pub(crate) fn parse_identifier(
    kind: &str,
    typed: &str,
) -> Result<caducee_core::ids::IdNatPs, &'static str> {
    login::parse_identifier(kind, typed)
}

/// « Mémoriser mon identifiant sur ce poste »: the jar that remembers (or forgets) it.
pub(crate) fn remember_identifier(
    idp: &Idp,
    jar: axum_extra::extract::CookieJar,
    remember: bool,
    kind: &str,
    typed: &str,
) -> axum_extra::extract::CookieJar {
    if remember {
        cookies::remember(idp, jar, kind, typed)
    } else {
        cookies::forget(idp, jar)
    }
}

/// The limit of identifiers a source may submit on the login page (shared by every form
/// that takes an identifier).
pub(crate) fn logins_per_source(idp: &Idp) -> caducee_store::throttle::Limit {
    binding::logins_per_source(idp)
}

/// When this browser logged `idnat` in recently: the throttle key of that pair (its own
/// budget, so strangers typing the identifier cannot lock the professional out).
pub(crate) async fn known_browser_key(
    idp: &Idp,
    jar: &axum_extra::extract::CookieJar,
    idnat: &str,
) -> Result<Option<String>, crate::IdpError> {
    let browser = cookies::existing_browser_secret(idp, jar).unwrap_or_default();
    Ok(binding::is_known_for(idp, &browser, idnat)
        .await?
        .then(|| format!("{}:{idnat}", crate::secret_hash(&browser))))
}

/// Whether the login flow `flow_id` exists, is not finished and belongs to this browser.
pub(crate) async fn flow_is_open(
    idp: &Idp,
    jar: &axum_extra::extract::CookieJar,
    flow_id: &str,
) -> Result<bool, crate::IdpError> {
    Ok(flow::load(idp, flow_id).await?.is_some_and(|f| {
        f.status != "done"
            && f.status != "cancelled"
            && f.belongs_to(cookies::existing_browser_secret(idp, jar).as_deref())
    }))
}

/// Starts a login through the idp itself that comes back to `return_to` (one of the idp's
/// own pages): the jar (browser binding) and the login page's URL.
pub(crate) async fn start_self_login(
    idp: &Idp,
    jar: axum_extra::extract::CookieJar,
    return_to: &str,
) -> Result<(axum_extra::extract::CookieJar, String), crate::IdpError> {
    let (jar, browser) = cookies::browser_secret(idp, jar).await?;
    let request = crate::CodeRequest {
        client_id: SELF_CLIENT.to_string(),
        redirect_uri: return_to.to_string(),
        scope: "openid".to_string(),
        nonce: None,
        code_challenge: None,
    };
    let id = flow::create(
        idp,
        flow::NewFlow {
            browser_secret: &browser,
            request: &request,
            state: None,
            login_hint: None,
        },
    )
    .await?;
    Ok((jar, format!("{}{REALM_PATH}/login/{id}", idp.public_url())))
}

/// Ends the open login flow `flow_id` with an error for its client (`login` → `cancelled`):
/// the redirect that tells the client, or `None` when the flow was already finished.
pub(crate) async fn refuse_flow(
    idp: &Idp,
    flow_id: &str,
    error: &str,
    description: &str,
) -> Result<Option<String>, crate::IdpError> {
    let Some(f) = flow::load(idp, flow_id).await? else {
        return Ok(None);
    };
    if !(flow::transition(idp, &f.id, "login", "cancelled").await?
        || flow::transition(idp, &f.id, "ecps", "cancelled").await?)
    {
        return Ok(None);
    }
    Ok(Some(authorize::error_redirect(
        idp,
        &f.redirect_uri,
        error,
        description,
        f.state.as_deref(),
    )))
}

/// A message of an error type (lower case, for logs) as the first sentence of a page.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A page that must never be cached (it carries a CSRF token or a login state).
fn html(status: axum::http::StatusCode, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(body),
    )
        .into_response()
}

/// A 303 for other modules of the crate (the card host's way back to the main origin).
pub(crate) fn see_other(url: &str) -> axum::response::Response {
    redirect(url)
}

/// A 303 (after a POST the browser must GET the target).
fn redirect(url: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::SEE_OTHER,
        [
            (axum::http::header::LOCATION, url.to_string()),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

/// A failure of the server itself: logged with its details (the request id is in the
/// span), shown to the user as a French page without them.
fn internal_error(ctx: &caducee_pages::PageCtx, e: &crate::IdpError) -> axum::response::Response {
    tracing::error!(error = %e, "login page failed");
    html(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        pages::message(
            ctx,
            &ctx.t("idp-unavailable-title"),
            &ctx.t("idp-unavailable-text"),
            None,
        ),
    )
}

/// The content security policy of a page whose form may end in a redirect to `target`
/// (a client's redirect URI): browsers apply `form-action` to the redirects that follow a
/// form submission, so the client's origin must be allowed there, and only it.
fn csp_allowing_form_target(target: &str) -> String {
    let origin = url::Url::parse(target)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .unwrap_or_default();
    format!("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' {origin}")
}
